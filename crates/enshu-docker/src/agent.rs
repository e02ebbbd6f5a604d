//! Exec agents: one long-lived process per range container that runs the
//! engine's short commands, so firing an inject or running a check costs a
//! message on an open stream instead of a `docker exec`.
//!
//! Each `docker exec` costs about 80 ms of machine CPU on 2 cores (runc,
//! the shim, the engine); an exercise of 50 teams fires and checks hundreds
//! of commands at the same instant, and that cost is what put the teams'
//! injects seconds apart. An agent is started with one exec (`python3`,
//! which every Enshu role image has, named `enshu-agent` in `ps`), reads
//! one JSON request per line on its stdin and answers one JSON line per
//! request on stdout, each command in its own thread, so requests to the
//! same container run side by side. The command runs exactly as the exec
//! would have: same user, environment and working directory (the agent's,
//! which are the exec's), its own stdin (empty unless given), stdout and
//! stderr captured apart, the same output limit, a signal's death reported
//! as 128 + signal.
//!
//! Agents are optional and never change a result: where none can be
//! started (no `python3`, the container is gone) or one has ended, the
//! caller gets `None` and runs a plain exec. A request that was written to
//! an agent which then ended without answering is an error, not a retry:
//! the command may have run.
//!
//! An agent is trusted with nothing it could abuse: none is ever started
//! in a container the team can log in to (the caller names them, see
//! [`Agents::never_in`]), where its root could write into the agent's
//! output or stop it. And whatever an agent says is read with bounds: a
//! line longer than any true answer ([`MAX_ANSWER_LINE`]), a line that is
//! not an answer, an answer to no request, or no answer within the
//! caller's timeout drops the agent, fails its waiting requests with the
//! reason, and the container gets plain execs from then on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use enshu_backend::ExecOutput;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, oneshot};

use crate::backend::MAX_EXEC_OUTPUT_BYTES;

/// The agent. Its first line of stdin is this program (as a JSON string);
/// the `-c` bootstrap only reads and runs it, so `ps` shows a short line.
const AGENT_PROGRAM: &str = include_str!("../scripts/agent.py");

/// Starts python3 as `enshu-agent` with the bootstrap (`$1`) and the output
/// limit (`$2`).
const AGENT_START: &str = include_str!("../scripts/agent-start.sh");

/// Reads the program from stdin's first line and runs it: kept a single
/// statement here, not a file with a header, because it is what `ps`
/// shows for the agent.
const BOOTSTRAP: &str = "import json, sys; exec(json.loads(sys.stdin.readline()))";

/// How long a new agent may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest answer line a true agent writes: stdout and stderr at the
/// output limit each, hex-encoded, and the JSON around them.
pub const MAX_ANSWER_LINE: usize = 4 * MAX_EXEC_OUTPUT_BYTES + 1024;

/// What a request to an agent came to.
#[derive(Debug)]
pub enum AgentAnswer {
    /// The command ran; its output.
    Ran(ExecOutput),
    /// No agent could take the request; nothing ran. Use a plain exec.
    Unavailable,
    /// The agent ended after the request was sent: the command may or may
    /// not have run.
    Lost(String),
}

/// What each waiting request will learn: its output, or why the agent
/// was dropped.
type Pending =
    Arc<std::sync::Mutex<Option<HashMap<u64, oneshot::Sender<Result<ExecOutput, String>>>>>>;

/// Containers whose agent misbehaved, with why: they get plain execs.
type Dropped = Arc<std::sync::Mutex<HashMap<String, String>>>;

struct Agent {
    /// The agent's exec, to end its process when it is dropped.
    exec: AgentExec,
    input: Mutex<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>>,
    /// Requests waiting for an answer; `None` once the agent has ended.
    pending: Pending,
    next_id: AtomicU64,
}

impl Agent {
    fn ended(&self) -> bool {
        self.pending.lock().unwrap().is_none()
    }
}

/// A container's agent, started once; `None` when none could start.
type AgentSlot = Arc<tokio::sync::OnceCell<Option<Arc<Agent>>>>;

/// The agents of one backend, by container name.
#[derive(Default)]
pub struct Agents {
    agents: Mutex<HashMap<String, AgentSlot>>,
    /// Containers where no agent is ever started.
    never: HashSet<String>,
    dropped: Dropped,
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Agents")
    }
}

impl Agents {
    /// Agents everywhere but in `containers` (the hosts the team may log
    /// in to: there the team's root could forge or stall what an agent
    /// says), which get plain execs.
    pub fn never_in(containers: impl IntoIterator<Item = String>) -> Agents {
        Agents {
            never: containers.into_iter().collect(),
            ..Agents::default()
        }
    }

    /// The containers whose agent was dropped, and why.
    pub fn dropped(&self) -> Vec<(String, String)> {
        let mut dropped: Vec<_> = self.dropped.lock().unwrap().clone().into_iter().collect();
        dropped.sort();
        dropped
    }

    /// Start the container's agent unless it runs; whether one runs now.
    pub async fn warm(&self, docker: &Docker, name: &str) -> bool {
        self.agent(docker, name).await.is_some()
    }

    /// Run `command` (with `stdin`) through the container's agent, waiting
    /// at most `timeout` for its answer.
    pub async fn run(
        &self,
        docker: &Docker,
        name: &str,
        command: &[String],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> AgentAnswer {
        let Some(agent) = self.agent(docker, name).await else {
            return AgentAnswer::Unavailable;
        };
        let id = agent.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = agent.pending.lock().unwrap();
            match pending.as_mut() {
                Some(pending) => pending.insert(id, sender),
                None => return AgentAnswer::Unavailable,
            };
        }
        let mut line = serde_json::to_vec(&serde_json::json!({
            "id": id,
            "argv": command,
            "stdin": stdin.map(hex),
        }))
        .expect("a request is plain JSON");
        line.push(b'\n');
        let written = {
            let mut input = agent.input.lock().await;
            match input.write_all(&line).await {
                Ok(()) => input.flush().await,
                Err(error) => Err(error),
            }
        };
        if written.is_err() {
            // Not delivered, so not run: forget the agent, use an exec.
            if let Some(pending) = agent.pending.lock().unwrap().as_mut() {
                pending.remove(&id);
            }
            self.forget(name, &agent).await;
            return AgentAnswer::Unavailable;
        }
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(Ok(output))) => AgentAnswer::Ran(output),
            Ok(Ok(Err(reason))) => {
                self.forget(name, &agent).await;
                AgentAnswer::Lost(format!("the exec agent in {name} was dropped: {reason}"))
            }
            Ok(Err(_)) => {
                self.forget(name, &agent).await;
                AgentAnswer::Lost(format!("the exec agent in {name} ended before answering"))
            }
            Err(_) => {
                let reason = format!("no answer within {} s", timeout.as_secs());
                drop_agent(&self.dropped, name, &agent.pending, &reason, &agent.exec);
                self.forget(name, &agent).await;
                AgentAnswer::Lost(format!("the exec agent in {name} was dropped: {reason}"))
            }
        }
    }

    async fn forget(&self, name: &str, agent: &Arc<Agent>) {
        let mut agents = self.agents.lock().await;
        let same = agents
            .get(name)
            .and_then(|cell| cell.get().cloned().flatten())
            .is_some_and(|current| Arc::ptr_eq(&current, agent));
        if same {
            agents.remove(name);
        }
    }

    /// The container's running agent, started once when first asked for.
    /// A container where none can start is remembered (until it is asked
    /// for again after the agent map forgets it).
    async fn agent(&self, docker: &Docker, name: &str) -> Option<Arc<Agent>> {
        if self.never.contains(name) || self.dropped.lock().unwrap().contains_key(name) {
            return None;
        }
        let cell = {
            let mut agents = self.agents.lock().await;
            let stale = agents
                .get(name)
                .and_then(|cell| cell.get())
                .is_some_and(|agent| agent.as_ref().is_none_or(|agent| agent.ended()));
            if stale {
                agents.remove(name);
            }
            agents.entry(name.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            match start(docker, name, self.dropped.clone()).await {
                Ok(agent) => Some(agent),
                Err(error) => {
                    tracing::debug!(container = name, "no exec agent: {error}");
                    None
                }
            }
        })
        .await
        .clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

fn unhex(text: &str) -> Vec<u8> {
    let value = |digit: u8| match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => 0,
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| (value(pair[0]) << 4) | value(pair[1]))
        .collect()
}

/// One answer line of the agent.
fn parse_answer(line: &[u8]) -> Option<(u64, ExecOutput)> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    Some((
        value["id"].as_u64()?,
        ExecOutput {
            exit_code: value["code"].as_i64()?,
            stdout: unhex(value["out"].as_str()?),
            stderr: unhex(value["err"].as_str()?),
        },
    ))
}

/// An agent's exec: enough to end its process.
#[derive(Clone)]
struct AgentExec {
    docker: Docker,
    id: String,
}

impl AgentExec {
    /// End the agent's process (SIGKILL from this machine, by the pid the
    /// engine gives for the exec: a stopped or flooding agent cannot
    /// refuse it), in the background, bounded.
    fn kill(&self) {
        let exec = self.clone();
        tokio::spawn(async move {
            let inspected =
                tokio::time::timeout(Duration::from_secs(10), exec.docker.inspect_exec(&exec.id))
                    .await;
            let Ok(Ok(inspected)) = inspected else { return };
            if inspected.running != Some(true) {
                return;
            }
            if let Some(pid) = inspected.pid.filter(|pid| *pid > 1) {
                let killed = tokio::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                if let Ok(Ok(status)) = tokio::time::timeout(Duration::from_secs(5), killed).await
                    && !status.success()
                {
                    tracing::debug!(pid, "kill of a dropped exec agent: {status}");
                }
            }
        });
    }
}

/// Drop a misbehaving agent: remember why (the container gets plain
/// execs from now on), end its process, tell every waiting request, warn
/// the operator.
fn drop_agent(
    dropped: &Dropped,
    container: &str,
    pending: &Pending,
    reason: &str,
    exec: &AgentExec,
) {
    tracing::warn!(
        container,
        "exec agent dropped, plain execs from now on: {reason}"
    );
    exec.kill();
    enshu_backend::metrics::count_agent_fallback();
    dropped
        .lock()
        .unwrap()
        .entry(container.to_string())
        .or_insert_with(|| reason.to_string());
    if let Some(waiting) = pending.lock().unwrap().take() {
        for (_, sender) in waiting {
            let _ = sender.send(Err(reason.to_string()));
        }
    }
}

async fn start(docker: &Docker, name: &str, dropped: Dropped) -> Result<Arc<Agent>, String> {
    let config = ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        cmd: Some(
            ["bash", "-c", AGENT_START, "enshu-agent", BOOTSTRAP]
                .into_iter()
                .map(str::to_string)
                .chain([MAX_EXEC_OUTPUT_BYTES.to_string()])
                .collect(),
        ),
        user: Some("root".into()),
        privileged: Some(false),
        ..Default::default()
    };
    let created = docker
        .create_exec(name, config)
        .await
        .map_err(|error| error.to_string())?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: Some(64 * 1024),
            }),
        )
        .await
        .map_err(|error| error.to_string())?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err("the engine detached an attached exec".into());
    };
    let mut program = serde_json::to_vec(AGENT_PROGRAM).expect("a string is JSON");
    program.push(b'\n');
    input
        .write_all(&program)
        .await
        .map_err(|error| error.to_string())?;
    input.flush().await.map_err(|error| error.to_string())?;

    // The agent says it is ready with an answer to request 0, read by the
    // same reader as every later answer.
    let (ready_sender, ready) = oneshot::channel();
    let pending: Pending = Arc::new(std::sync::Mutex::new(Some(HashMap::from([(
        0,
        ready_sender,
    )]))));
    let exec = AgentExec {
        docker: docker.clone(),
        id: created.id.clone(),
    };
    let agent = Arc::new(Agent {
        exec: exec.clone(),
        input: Mutex::new(input),
        pending: pending.clone(),
        next_id: AtomicU64::new(1),
    });
    let container = name.to_string();
    tokio::spawn(async move {
        let mut carry = Vec::new();
        // How much of `carry` is known to hold no newline: each byte is
        // looked at once, however long a line grows.
        let mut scanned = 0;
        let misbehaved = 'read: loop {
            let Some(item) = output.next().await else {
                break 'read None;
            };
            match item {
                Ok(bollard::container::LogOutput::StdOut { message }) => {
                    carry.extend_from_slice(&message);
                    while let Some(end) = carry[scanned..]
                        .iter()
                        .position(|byte| *byte == b'\n')
                        .map(|at| scanned + at)
                    {
                        let line: Vec<u8> = carry.drain(..=end).collect();
                        scanned = 0;
                        if line.len() > MAX_ANSWER_LINE {
                            break 'read Some(format!(
                                "it wrote a line longer than {MAX_ANSWER_LINE} bytes"
                            ));
                        }
                        let Some((id, output)) = parse_answer(&line) else {
                            let start: String =
                                String::from_utf8_lossy(&line).chars().take(80).collect();
                            break 'read Some(format!(
                                "it wrote a line that is no answer: {start:?}"
                            ));
                        };
                        let waiting = pending
                            .lock()
                            .unwrap()
                            .as_mut()
                            .and_then(|pending| pending.remove(&id));
                        match waiting {
                            Some(waiting) => {
                                let _ = waiting.send(Ok(output));
                            }
                            None => {
                                break 'read Some(format!(
                                    "it answered request {id}, which nobody asked"
                                ));
                            }
                        }
                    }
                    scanned = carry.len();
                    if carry.len() > MAX_ANSWER_LINE {
                        break 'read Some(format!(
                            "it wrote a line longer than {MAX_ANSWER_LINE} bytes"
                        ));
                    }
                }
                Ok(bollard::container::LogOutput::StdErr { message }) => tracing::debug!(
                    container,
                    "exec agent: {}",
                    String::from_utf8_lossy(&message[..message.len().min(1024)]).trim()
                ),
                Ok(_) => {}
                Err(_) => break 'read None,
            }
        };
        match misbehaved {
            Some(reason) => drop_agent(&dropped, &container, &pending, &reason, &exec),
            // Ended: every waiting request learns it (its sender is dropped).
            None => {
                pending.lock().unwrap().take();
                tracing::debug!(container, "exec agent ended");
            }
        }
    });
    match tokio::time::timeout(READY_TIMEOUT, ready).await {
        Ok(Ok(Ok(_))) => Ok(agent),
        Ok(Ok(Err(reason))) => Err(reason),
        Ok(Err(_)) => Err("it ended before saying it was ready".into()),
        Err(_) => Err(format!(
            "it did not say it was ready within {} s",
            READY_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_through_hex() {
        let line = format!(
            r#"{{"id": 7, "code": 3, "out": "{}", "err": "{}"}}"#,
            hex("ルール\n".as_bytes()),
            hex(&[0, 255, 16])
        );
        let (id, output) = parse_answer(line.as_bytes()).unwrap();
        assert_eq!(id, 7);
        assert_eq!(output.exit_code, 3);
        assert_eq!(output.stdout, "ルール\n".as_bytes());
        assert_eq!(output.stderr, [0, 255, 16]);
        assert!(parse_answer(b"not json\n").is_none());
    }

    /// The agent program itself, run by this machine's python3 the way the
    /// container runs it: ready line, then answers (possibly out of order)
    /// with exit codes, stdin, stdout and stderr kept apart.
    #[test]
    fn the_agent_program_answers_each_request() {
        use std::io::Write as _;
        let mut child = std::process::Command::new("python3")
            .args(["-u", "-c", BOOTSTRAP, "1024"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is installed");
        let mut stdin = child.stdin.take().unwrap();
        let mut program = serde_json::to_vec(AGENT_PROGRAM).unwrap();
        program.push(b'\n');
        stdin.write_all(&program).unwrap();
        for (id, argv, input) in [
            (
                1,
                vec!["sh", "-c", "cat; echo oops >&2; exit 3"],
                Some("given"),
            ),
            (2, vec!["sh", "-c", "kill -9 $$"], None),
            (3, vec!["/no/such/program"], None),
        ] {
            let request = serde_json::json!({"id": id, "argv": argv, "stdin": input.map(|text| hex(text.as_bytes()))});
            writeln!(stdin, "{request}").unwrap();
        }
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let answers: HashMap<u64, ExecOutput> = output
            .stdout
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| parse_answer(line).unwrap())
            .collect();
        assert_eq!(answers[&0].exit_code, 0, "the ready line");
        assert_eq!(answers[&1].exit_code, 3);
        assert_eq!(answers[&1].stdout, b"given");
        assert_eq!(answers[&1].stderr, b"oops\n");
        assert_eq!(answers[&2].exit_code, 137);
        assert_eq!(answers[&3].exit_code, 127);
        assert!(String::from_utf8_lossy(&answers[&3].stderr).contains("enshu-agent"));
    }
}
