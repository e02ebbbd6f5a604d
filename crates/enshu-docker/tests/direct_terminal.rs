//! The direct TTY path (`enshu_docker::terminal::direct`) against the
//! real engine: a shell opened straight from runc runs with the security
//! context of one the engine's exec opens in the same container, and its
//! pty behaves as a terminal (UTF-8, sizes), and nothing of it is left
//! after `end` or after its client went.
//!
//! Needs Docker, root, runc and `enshu/analyst:latest` (built by
//! `infra/images.sh`); without them it fails, never skips. Containers are
//! named `enshu-runc15-<pid>-…` and removed when a test ends.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use enshu_backend::terminal::{OpenTerminal, TerminalRequest, TerminalSize, Terminals};
use enshu_docker::{DockerBackend, TerminalChoice};

const IMAGE: &str = "enshu/analyst:latest";
const USER: &str = "analyst";

async fn docker() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("the docker socket")
        .negotiate_version()
        .await
        .expect("the docker engine must answer for these tests")
}

async fn backend(choice: TerminalChoice) -> DockerBackend {
    DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket")
        .with_terminals(choice)
}

/// A running container hardened the way range containers are (every
/// capability dropped but a few, no_new_privileges, a pids limit), removed
/// on drop.
struct Container {
    name: String,
    id: String,
    /// Its own processes (the init and its `sleep`), found at start.
    own: Vec<i32>,
}

impl Container {
    async fn start(suffix: &str) -> Container {
        let docker = docker().await;
        docker.inspect_image(IMAGE).await.unwrap_or_else(|error| {
            panic!("{IMAGE} is missing ({error}): build the images with `bash infra/images.sh`")
        });
        let name = format!("enshu-runc15-{}-{suffix}", std::process::id());
        let _ = docker
            .remove_container(
                &name,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await;
        let body = ContainerCreateBody {
            image: Some(IMAGE.to_string()),
            entrypoint: Some(vec!["sleep".to_string()]),
            cmd: Some(vec!["infinity".to_string()]),
            env: Some(vec!["LANG=C.UTF-8".to_string()]),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                cap_drop: Some(vec!["ALL".to_string()]),
                cap_add: Some(
                    ["CHOWN", "SETUID", "SETGID", "NET_RAW", "DAC_OVERRIDE"]
                        .map(String::from)
                        .to_vec(),
                ),
                security_opt: Some(vec!["no-new-privileges".to_string()]),
                pids_limit: Some(256),
                // As range containers (`convert`): an init that reaps orphans.
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .expect("creating the test container");
        docker
            .start_container(&name, None)
            .await
            .expect("starting the test container");
        let mut container = Container {
            name,
            id: created.id,
            own: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while container.processes_besides_init().len() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        container.own = container.processes_besides_init();
        assert_eq!(container.own.len(), 2, "the init and its sleep");
        container
    }

    /// Host pids of the container's processes other than its own.
    fn processes_besides_init(&self) -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| !self.own.contains(pid))
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                    .is_ok_and(|cgroup| cgroup.contains(&self.id))
            })
            .collect()
    }

    /// Waits up to 5 s for the container to hold only its init.
    async fn only_init_left(&self) -> Vec<i32> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.processes_besides_init();
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn request(container: &Container, command: &[&str], size: TerminalSize) -> TerminalRequest {
    TerminalRequest {
        container: container.name.clone(),
        user: USER.to_string(),
        command: command.iter().map(|word| word.to_string()).collect(),
        env: vec![
            "TERM=xterm-256color".to_string(),
            "LANG=C.UTF-8".to_string(),
        ],
        size,
        tty: true,
    }
}

/// Output until `marker` was seen (or the output closed), within 10 s.
async fn read_until(terminal: &mut OpenTerminal, marker: &str) -> String {
    let mut text = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&text).contains(marker) {
        match tokio::time::timeout_at(deadline, terminal.output.recv()).await {
            Ok(Some((_, bytes))) => text.extend(bytes),
            Ok(None) => break,
            Err(_) => panic!(
                "no {marker:?} within 10 s; output so far: {:?}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Everything a process can be told apart by, printed by a shell.
const IDENTITY: &str = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters|Uid|Gid|Groups):' /proc/self/status; \
    echo cgroup; cat /proc/self/cgroup; echo apparmor; cat /proc/self/attr/current 2>&1; \
    echo env; env | sort; echo cwd; pwd; echo id; id; echo limits; cat /proc/self/limits; echo ==done==";

/// The identity a shell opened by `backend` prints, and its host parent.
async fn identity(backend: &DockerBackend, container: &Container) -> String {
    let mut terminal = backend
        .open(request(
            container,
            &["bash", "-c", IDENTITY],
            TerminalSize::clamped(132, 43),
        ))
        .await
        .expect("opening a terminal");
    let text = read_until(&mut terminal, "==done==").await;
    let _ = terminal.control.end().await;
    text.replace("\r\n", "\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_shell_runs_as_an_exec_of_the_engine_would() {
    let container = Container::start("same").await;
    let engine = backend(TerminalChoice::Docker).await;
    let direct = backend(TerminalChoice::Direct).await;
    let through_engine = identity(&engine, &container).await;
    let straight = identity(&direct, &container).await;
    assert!(
        through_engine.contains("CapBnd:") && through_engine.contains("NoNewPrivs:\t1"),
        "{through_engine}"
    );
    assert!(through_engine.contains("Groups:"), "{through_engine}");
    assert!(
        through_engine.contains("HOME=/home/analyst"),
        "{through_engine}"
    );
    assert_eq!(
        straight, through_engine,
        "the direct shell's identity differs from the engine exec's"
    );
    // The size is the pty's before the command's first instruction.
    let mut first = direct
        .open(request(
            &container,
            &["stty", "size"],
            TerminalSize::clamped(132, 43),
        ))
        .await
        .unwrap();
    let text = read_until(&mut first, "never printed").await;
    assert_eq!(text, "43 132\r\n");
    assert_eq!(first.control.exit_status().await.unwrap(), Some(0));
    drop(first);
    assert_eq!(container.only_init_left().await, Vec::<i32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_shell_is_a_terminal_and_leaves_nothing_behind() {
    let container = Container::start("tty").await;
    let direct = backend(TerminalChoice::Direct).await;
    let mut terminal = direct
        .open(request(
            &container,
            &["bash", "--norc", "--noprofile", "-i"],
            TerminalSize::clamped(100, 30),
        ))
        .await
        .expect("opening a direct terminal");
    // Straight from runc: the shell is this process's child, not a shim's.
    let children: Vec<i32> = container
        .processes_besides_init()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .nth(1)
                    == Some(&std::process::id().to_string())
            })
        })
        .collect();
    assert_eq!(children.len(), 1, "the shell's parent must be this process");

    terminal
        .input
        .send(
            b"echo \xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf-$((6*7))\r"
                .to_vec(),
        )
        .await
        .unwrap();
    let text = read_until(&mut terminal, "こんにちは-42").await;
    assert!(text.contains("こんにちは-42"), "{text:?}");

    terminal
        .input
        .send(b"stty size; echo =$((1))=\r".to_vec())
        .await
        .unwrap();
    let text = read_until(&mut terminal, "=1=\r\n").await;
    assert!(text.contains("30 100"), "the first size: {text:?}");
    terminal
        .control
        .resize(TerminalSize::clamped(150, 50))
        .await
        .unwrap();
    terminal
        .input
        .send(b"stty size; echo =$((2))=\r".to_vec())
        .await
        .unwrap();
    let text = read_until(&mut terminal, "=2=\r\n").await;
    assert!(text.contains("50 150"), "after the resize: {text:?}");

    // A job that ignores the hang-up and one that left the process group.
    terminal
        .input
        .send(
            b"nohup sleep 1001 >/dev/null 2>&1 & (trap '' HUP; sleep 1002) & echo =$((3))=\r"
                .to_vec(),
        )
        .await
        .unwrap();
    read_until(&mut terminal, "=3=\r\n").await;
    assert!(container.processes_besides_init().len() >= 3);
    let found = terminal.control.end().await.unwrap();
    assert!(found >= 3, "end found {found} processes");
    assert_eq!(container.only_init_left().await, Vec::<i32>::new());
    assert_eq!(
        no_zombies_within().await,
        Vec::<i32>::new(),
        "the shell must be reaped"
    );

    // The exit status.
    let mut terminal = direct
        .open(request(
            &container,
            &["bash", "-c", "echo bye; exit 7"],
            TerminalSize::default(),
        ))
        .await
        .unwrap();
    let text = read_until(&mut terminal, "never printed").await;
    assert!(text.contains("bye"), "{text:?}");
    assert_eq!(terminal.control.exit_status().await.unwrap(), Some(7));
    drop(terminal);

    // A client that goes away without `end`.
    let mut terminal = direct
        .open(request(
            &container,
            &["bash", "--norc", "--noprofile", "-i"],
            TerminalSize::default(),
        ))
        .await
        .unwrap();
    terminal
        .input
        .send(b"nohup sleep 1003 >/dev/null 2>&1 & echo =$((4))=\r".to_vec())
        .await
        .unwrap();
    read_until(&mut terminal, "=4=\r\n").await;
    drop(terminal);
    assert_eq!(container.only_init_left().await, Vec::<i32>::new());
    assert_eq!(no_zombies_within().await, Vec::<i32>::new());
}

/// Waits up to 3 s (another test's shell may be between its exit and its
/// reaping) for this process to have no unreaped child.
async fn no_zombies_within() -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let zombies = our_zombies();
        if zombies.is_empty() || Instant::now() >= deadline {
            return zombies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Exited children of this process nobody reaped.
fn our_zombies() -> Vec<i32> {
    let ours = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .collect();
                fields.first() == Some(&"Z") && fields.get(1) == Some(&ours.as_str())
            })
        })
        .collect()
}

/// Every trainee of a team logging in at once: 24 direct shells asked for
/// together (three times the opens the backend runs at once) each reach
/// a shell that answers, and ending them all leaves nothing, not even a
/// zombie of this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_direct_shells_open_at_once_and_all_end() {
    const SHELLS: usize = 24;
    let container = Container::start("many").await;
    let direct = backend(TerminalChoice::Direct).await;
    let started = Instant::now();
    let opened = futures_util::future::join_all((0..SHELLS).map(|_| {
        direct.open(request(
            &container,
            &["bash", "--norc", "--noprofile", "-i"],
            TerminalSize::default(),
        ))
    }))
    .await;
    let opened_in = started.elapsed();
    let mut terminals = Vec::new();
    for (index, terminal) in opened.into_iter().enumerate() {
        let mut terminal = terminal.unwrap_or_else(|error| panic!("shell {index}: {error}"));
        let command = format!("echo shell-$((1000 + {index}))\r");
        terminal.input.send(command.into_bytes()).await.unwrap();
        let wanted = format!("shell-{}", 1000 + index);
        let text = read_until(&mut terminal, &wanted).await;
        assert!(text.contains(&wanted), "shell {index}: {text:?}");
        terminals.push(terminal);
    }
    assert_eq!(container.processes_besides_init().len(), SHELLS);
    for terminal in &terminals {
        terminal.control.end().await.unwrap();
    }
    drop(terminals);
    assert_eq!(container.only_init_left().await, Vec::<i32>::new());
    assert_eq!(no_zombies_within().await, Vec::<i32>::new());
    eprintln!("{SHELLS} direct shells opened in {opened_in:?}");
}
