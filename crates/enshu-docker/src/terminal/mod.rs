//! [`Terminals`] for Docker. A TTY goes straight from runc where this
//! process can start it ([`direct`]: runc, the engine's runc root, root;
//! chosen once, `ENSHU_TERMINAL=docker|direct` forces it), and otherwise,
//! like pipes, through the engine's exec, below.
//!
//! On the engine's exec API: an interactive shell with a TTY
//! in a range container, for the portal's web terminal and an SSH client's
//! pty, or a command on pipes for an SSH client's command without one.
//!
//! One exec per terminal, attached (stdin, and the TTY's output, or stdout
//! and stderr demultiplexed), a TTY resized through the engine
//! (`/exec/{id}/resize`). On pipes, closing the attach stream's write half
//! closes the command's stdin (the engine's exec attach closes stdin at
//! its end), and the exit status is the engine's (`/exec/{id}/json`). The engine cannot stop an
//! exec and a TTY keeps the shell alive when the attach stream closes, so
//! [`TerminalControl::end`] ends the shell's whole session from the host
//! ([`crate::host::session`]).
//!
//! These execs are the team's own sessions: they never go through an exec
//! agent and are not bounded by [`crate::backend::EXEC_TIMEOUT`]; the
//! server that opens them bounds them (an idle timeout, a count per team).
//!
//! Opening is bounded here: at most [`OPENS_AT_ONCE`] terminals are being
//! created and started at a time, the others wait their turn in order.
//! The engine starts an exec's process with runc, one at a time in effect;
//! 200 shells asked for at once (every team logging in as the exercise
//! starts) had each waited on the engine for its process, and the
//! engine's answers to their polls slowed it further, until a quarter of
//! them gave up after 5 s (BENCHMARKS.md, "The way in").

use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptions;
use enshu_backend::terminal::{
    BoxFuture, OpenTerminal, OutputStream, TerminalControl, TerminalRequest, TerminalSize,
    Terminals,
};
use enshu_backend::{BackendError, Result};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::DockerBackend;
use crate::error::Verb;

pub mod direct;

/// Terminals created and started at once; the rest wait in order.
pub(crate) const OPENS_AT_ONCE: usize = 8;

/// How long a started exec may take to have its process.
const PROCESS_WITHIN: Duration = Duration::from_secs(30);

/// Chunks of output buffered per terminal before the exec's stream waits
/// for the server to take them.
pub(crate) const OUTPUT_CHUNKS: usize = 64;

fn runtime(name: &str, message: impl Into<String>) -> BackendError {
    BackendError::Runtime {
        action: "open a terminal in",
        name: name.to_string(),
        message: message.into(),
    }
}

struct DockerTerminal {
    docker: bollard::Docker,
    container: String,
    container_id: String,
    exec_id: String,
    /// The shell's host PID: it leads the TTY's session.
    leader: i64,
}

impl TerminalControl for DockerTerminal {
    fn resize(&self, size: TerminalSize) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.docker
                .resize_exec(
                    &self.exec_id,
                    ResizeExecOptions {
                        h: i32::from(size.rows),
                        w: i32::from(size.columns),
                    },
                )
                .await
                .map_err(|error| runtime(&self.container, format!("resizing: {error}")))
        })
    }

    fn end(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async move {
            Ok(crate::host::session::end_session(&self.container_id, self.leader).await)
        })
    }

    fn exit_status(&self) -> BoxFuture<'_, Result<Option<i64>>> {
        Box::pin(async move {
            // The attach stream closes as the process exits; the engine
            // marks the exec stopped a moment later.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            loop {
                let inspected = self
                    .docker
                    .inspect_exec(&self.exec_id)
                    .await
                    .map_err(|error| runtime(&self.container, error.to_string()))?;
                if inspected.running != Some(true) {
                    return Ok(inspected.exit_code);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Ok(None);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }
}

impl Terminals for DockerBackend {
    fn connect(
        &self,
        container: &str,
        address: std::net::SocketAddrV4,
    ) -> BoxFuture<'_, Result<tokio::net::TcpStream>> {
        let container = container.to_owned();
        Box::pin(async move { self.connect_from_inside(&container, address).await })
    }

    fn open(&self, request: TerminalRequest) -> BoxFuture<'_, Result<OpenTerminal>> {
        Box::pin(async move {
            let name = request.container.as_str();
            let (container_id, init_pid) = self.running_pid(Verb::Exec, name).await?;
            // Held until the shell's process runs (the semaphore is never
            // closed, so waiting for it cannot fail).
            let turn = self
                .terminal_opens
                .acquire()
                .await
                .map_err(|_| runtime(name, "the backend is closing"))?;
            if request.tty {
                match self.terminal_path() {
                    direct::TerminalPath::Docker => {}
                    direct::TerminalPath::Refused(reason) => return Err(runtime(name, reason)),
                    direct::TerminalPath::Direct { direct, forced } => {
                        match direct.unusable(self, name, &container_id).await {
                            None => return direct.open(&request, &container_id, init_pid).await,
                            Some(reason) if *forced => {
                                return Err(runtime(
                                    name,
                                    format!(
                                        "the direct TTY path (forced) cannot open it: {reason}"
                                    ),
                                ));
                            }
                            Some(reason) => {
                                tracing::debug!(container = name, %reason, "terminal: the engine's exec");
                            }
                        }
                    }
                }
            }
            let config = ExecConfig {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(request.tty),
                cmd: Some(request.command.clone()),
                env: Some(request.env.clone()),
                user: Some(request.user.clone()),
                privileged: Some(false),
                ..Default::default()
            };
            let created = self
                .docker
                .create_exec(name, config)
                .await
                .map_err(|error| runtime(name, error.to_string()))?;
            let options = StartExecOptions {
                detach: false,
                tty: request.tty,
                output_capacity: Some(64 * 1024),
            };
            let started = self
                .docker
                .start_exec(&created.id, Some(options))
                .await
                .map_err(|error| runtime(name, error.to_string()))?;
            let StartExecResults::Attached {
                mut output,
                mut input,
            } = started
            else {
                return Err(runtime(name, "the engine detached an attached exec"));
            };
            let leader = self.exec_pid(name, &created.id).await?;
            drop(turn);
            let terminal = DockerTerminal {
                docker: self.docker.clone(),
                container: name.to_string(),
                container_id,
                exec_id: created.id.clone(),
                leader,
            };
            if request.tty {
                // The first size before the first prompt: a shell reads it at start.
                let _ = terminal.resize(request.size).await;
            }

            let (shown, output_receiver) = tokio::sync::mpsc::channel(OUTPUT_CHUNKS);
            tokio::spawn(async move {
                while let Some(item) = output.next().await {
                    let (stream, bytes) = match item {
                        Ok(
                            bollard::container::LogOutput::Console { message }
                            | bollard::container::LogOutput::StdOut { message },
                        ) => (OutputStream::Stdout, message),
                        Ok(bollard::container::LogOutput::StdErr { message }) => {
                            (OutputStream::Stderr, message)
                        }
                        Ok(bollard::container::LogOutput::StdIn { .. }) => continue,
                        Err(_) => break,
                    };
                    if shown.send((stream, bytes.to_vec())).await.is_err() {
                        break;
                    }
                }
            });
            let (input_sender, mut typed) = tokio::sync::mpsc::channel::<Vec<u8>>(OUTPUT_CHUNKS);
            tokio::spawn(async move {
                while let Some(bytes) = typed.recv().await {
                    if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
                let _ = input.shutdown().await;
            });
            Ok(OpenTerminal {
                input: input_sender,
                output: output_receiver,
                control: Box::new(terminal),
            })
        })
    }
}

impl DockerBackend {
    /// Open terminals by `choice` rather than by what this machine allows
    /// and `ENSHU_TERMINAL` asks for ([`direct`]); decided now, so an
    /// unavailable direct path is logged here and refuses every TTY.
    pub fn with_terminals(mut self, choice: direct::TerminalChoice) -> DockerBackend {
        self.terminal_path = std::sync::Arc::new(std::sync::OnceLock::from(
            direct::TerminalPath::from_choice(Some(choice)),
        ));
        self
    }

    /// How TTYs are opened, chosen at the first ([`direct`]).
    fn terminal_path(&self) -> &direct::TerminalPath {
        self.terminal_path.get_or_init(direct::TerminalPath::choose)
    }

    /// The host PID of a started exec (the engine reports it once the
    /// process runs, within a few milliseconds of the start on a quiet
    /// engine), asked again at a growing interval (5 ms to 100 ms).
    async fn exec_pid(&self, name: &str, exec_id: &str) -> Result<i64> {
        let deadline = tokio::time::Instant::now() + PROCESS_WITHIN;
        let mut interval = Duration::from_millis(5);
        loop {
            let inspected = self
                .docker
                .inspect_exec(exec_id)
                .await
                .map_err(|error| runtime(name, error.to_string()))?;
            if let Some(pid) = inspected.pid.filter(|pid| *pid > 0) {
                return Ok(pid);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(runtime(
                    name,
                    format!(
                        "the engine reported no process for the shell within {} s",
                        PROCESS_WITHIN.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(Duration::from_millis(100));
        }
    }
}
