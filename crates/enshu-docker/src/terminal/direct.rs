//! The direct TTY path: a shell with a TTY started by `runc exec` from
//! this process ([`crate::runc`]), its pty master driven here with
//! tokio's `AsyncFd`, so a key typed passes this process, the kernel's pty
//! and the shell, and nothing else (the engine's exec passes it through
//! dockerd, a FIFO and containerd's shim, each way: BENCHMARKS.md, "The
//! way in").
//!
//! **Security:** the process is the one the engine's exec would start
//! (`crate::runc`'s module doc: the container's own spec process with the
//! same user, env and terminal, runc joining the container's namespaces
//! and cgroup); `tests/direct_terminal.rs` holds a direct shell's
//! capabilities, seccomp, no_new_privs, cgroups, ids, groups, HOME and
//! cwd to an engine exec's in the same container. The login user is
//! resolved from the container's files without following its links out
//! of its root ([`crate::host::account`]).
//!
//! **Fallback:** the path is chosen once per backend, at the first
//! terminal: direct when this process is root and finds runc and the
//! engine's runc root ([`crate::runc::Runc::discover`]), the engine's
//! exec otherwise; `ENSHU_TERMINAL=docker|direct` forces either (direct
//! forced and unavailable is an error at every open, naming why). Per
//! container, a container whose runtime is not `runc` or whose state
//! runc's root does not hold gets the engine's exec (or, forced, the
//! error). Pipes (no TTY) always go through the engine's exec.
//!
//! [`TerminalControl::end`] ends the session from the host as the
//! engine's path does ([`crate::host::session::end_session`], the leader
//! being the pid runc wrote), and the shell, this process's child once
//! runc exits, is reaped here by its pid; dropping the terminal without
//! `end` ends its session too.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use enshu_backend::terminal::{
    BoxFuture, OpenTerminal, OutputStream, TerminalControl, TerminalRequest, TerminalSize,
};
use enshu_backend::{BackendError, Result};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;

use crate::DockerBackend;
use crate::host::{account, pty, session};
use crate::runc::{self, Runc};

/// The environment variable that forces a path: `docker` or `direct`.
pub const TERMINAL_PATH_VARIABLE: &str = "ENSHU_TERMINAL";

/// How long `end` and `exit_status` wait for the shell to be reaped.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// How the backend opens TTY terminals, chosen once.
#[derive(Debug)]
pub(crate) enum TerminalPath {
    /// The engine's exec (today's path).
    Docker,
    /// runc from this process; `forced` by the environment variable.
    Direct { direct: Direct, forced: bool },
    /// Forced direct but unavailable, or a value the variable does not take.
    Refused(String),
}

#[derive(Debug)]
pub(crate) struct Direct {
    runc: Runc,
    /// Whether a container (full id) runs with the runtime `runc`.
    runtimes: Mutex<HashMap<String, bool>>,
}

/// A path asked for rather than found ([`DockerBackend::with_terminals`],
/// or `ENSHU_TERMINAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalChoice {
    /// The engine's exec for every terminal.
    Docker,
    /// TTYs straight from runc, an error where that cannot be.
    Direct,
}

impl TerminalPath {
    /// The path the environment variable asks for, or this process can
    /// take (module doc), logged.
    pub(crate) fn choose() -> TerminalPath {
        match std::env::var(TERMINAL_PATH_VARIABLE)
            .unwrap_or_default()
            .as_str()
        {
            "" => TerminalPath::from_choice(None),
            "docker" => TerminalPath::from_choice(Some(TerminalChoice::Docker)),
            "direct" => TerminalPath::from_choice(Some(TerminalChoice::Direct)),
            other => {
                let reason = format!(
                    "{TERMINAL_PATH_VARIABLE}={other:?} is neither \"docker\" nor \"direct\""
                );
                tracing::error!("terminals: {reason}");
                TerminalPath::Refused(reason)
            }
        }
    }

    pub(crate) fn from_choice(choice: Option<TerminalChoice>) -> TerminalPath {
        if choice == Some(TerminalChoice::Docker) {
            tracing::info!("terminals: the engine's exec (asked for)");
            return TerminalPath::Docker;
        }
        let forced = choice == Some(TerminalChoice::Direct);
        match Runc::discover() {
            Ok(runc) => {
                tracing::info!(
                    ?runc,
                    forced,
                    "terminals: TTYs straight from runc, pipes through the engine's exec"
                );
                TerminalPath::Direct {
                    direct: Direct {
                        runc,
                        runtimes: Mutex::new(HashMap::new()),
                    },
                    forced,
                }
            }
            Err(reason) if forced => {
                let reason =
                    format!("the direct TTY path was asked for and is unavailable: {reason}");
                tracing::error!("terminals: {reason}");
                TerminalPath::Refused(reason)
            }
            Err(reason) => {
                tracing::info!(%reason, "terminals: the engine's exec (no direct TTY path)");
                TerminalPath::Docker
            }
        }
    }
}

fn runtime(name: &str, message: impl Into<String>) -> BackendError {
    BackendError::Runtime {
        action: "open a terminal in",
        name: name.to_string(),
        message: message.into(),
    }
}

impl Direct {
    /// Why container `name` (full id `container_id`) cannot take the
    /// direct path, if it cannot.
    pub(crate) async fn unusable(
        &self,
        backend: &DockerBackend,
        name: &str,
        container_id: &str,
    ) -> Option<String> {
        let known = self
            .runtimes
            .lock()
            .expect("never poisoned")
            .get(container_id)
            .copied();
        let is_runc = match known {
            Some(is_runc) => is_runc,
            None => {
                let inspected = match backend.docker.inspect_container(name, None).await {
                    Ok(inspected) => inspected,
                    Err(error) => return Some(format!("inspecting its runtime: {error}")),
                };
                let runtime = inspected
                    .host_config
                    .and_then(|host| host.runtime)
                    .unwrap_or_default();
                let is_runc = runtime == "runc";
                self.runtimes
                    .lock()
                    .expect("never poisoned")
                    .insert(container_id.to_string(), is_runc);
                if !is_runc {
                    return Some(format!("its runtime is {runtime:?}, not runc"));
                }
                true
            }
        };
        if !is_runc {
            return Some("its runtime is not runc".to_string());
        }
        if !self.runc.has_state(container_id) {
            return Some(format!("{} holds no state for it", runc::DOCKER_RUNC_ROOT));
        }
        None
    }

    /// Open a TTY shell in the container (init process `init_pid`).
    pub(crate) async fn open(
        &self,
        request: &TerminalRequest,
        container_id: &str,
        init_pid: i64,
    ) -> Result<OpenTerminal> {
        let name = request.container.as_str();
        let account = account::resolve_in_container(init_pid, container_id, &request.user)
            .map_err(|error| runtime(name, format!("login user: {error}")))?;
        let spec = self
            .runc
            .spec_process(container_id)
            .map_err(|error| runtime(name, error))?;
        let process = runc::exec_process(
            &spec,
            &account,
            &request.command,
            &request.env,
            request.size,
        );
        let started = self
            .runc
            .exec(container_id, &process)
            .await
            .map_err(|error| runtime(name, error))?;
        let leader = i64::from(started.pid);
        let pidfd = check_started(&started, request.size).and_then(|()| {
            pty::pidfd_open(started.pid)
                .and_then(|pidfd| pty::register(pidfd, tokio::io::Interest::READABLE))
                .map_err(|error| format!("pidfd of {}: {error}", started.pid))
        });
        let pidfd = match pidfd {
            Ok(pidfd) => pidfd,
            Err(message) => {
                // Started but not ours to drive: ended, and reaped if ours.
                session::end_session(container_id, leader).await;
                reap_within(started.pid, REAP_WAIT).await;
                return Err(runtime(name, message));
            }
        };
        let (exit_sender, exited) = watch::channel::<Option<Option<i64>>>(None);
        let pid = started.pid;
        tokio::spawn(async move {
            let status = loop {
                let Ok(mut guard) = pidfd.readable().await else {
                    break None;
                };
                match pty::try_reap(pid) {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) => guard.clear_ready(),
                    Err(_) => break None,
                }
            };
            let _ = exit_sender.send(Some(status));
        });
        let master = std::sync::Arc::new(
            pty::register(
                File::from(started.master),
                tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE,
            )
            .map_err(|error| runtime(name, format!("the pty master: {error}")))?,
        );
        let (shown, output) = tokio::sync::mpsc::channel(super::OUTPUT_CHUNKS);
        tokio::spawn(read_output(master.clone(), shown, exited.clone()));
        let (input, typed) = tokio::sync::mpsc::channel::<Vec<u8>>(super::OUTPUT_CHUNKS);
        tokio::spawn(write_input(master.clone(), typed));
        Ok(OpenTerminal {
            input,
            output,
            control: Box::new(DirectTerminal {
                container: name.to_string(),
                container_id: container_id.to_string(),
                leader,
                master,
                exited,
                ended: AtomicBool::new(false),
            }),
        })
    }
}

/// Reap child `pid` once it exited, waiting at most `within`.
async fn reap_within(pid: i32, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while matches!(pty::try_reap(pid), Ok(None)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The started process is this process's child and its console a
/// character device, sized and non-blocking.
fn check_started(started: &runc::Started, size: TerminalSize) -> std::result::Result<(), String> {
    let ours = i32::try_from(std::process::id()).ok();
    if pty::parent_of(started.pid) != ours {
        return Err(format!(
            "process {} runc started is not this process's child (no subreaper?)",
            started.pid
        ));
    }
    let fd = started.master.as_raw_fd();
    if !pty::is_character_device(fd) {
        return Err("runc's console is not a character device".to_string());
    }
    pty::set_window_size(fd, size).map_err(|error| format!("sizing the pty: {error}"))?;
    pty::set_nonblocking(fd).map_err(|error| format!("the pty master: {error}"))
}

/// The pty's output until the shell exited (then what it left) or the
/// pty closed.
async fn read_output(
    master: std::sync::Arc<AsyncFd<File>>,
    shown: tokio::sync::mpsc::Sender<(OutputStream, Vec<u8>)>,
    mut exited: watch::Receiver<Option<Option<i64>>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            guard = master.readable() => {
                let Ok(mut guard) = guard else { return };
                match guard.try_io(|inner| inner.get_ref().read(&mut buffer)) {
                    Ok(read) => read,
                    Err(_would_block) => continue,
                }
            }
            () = async { let _ = exited.wait_for(Option::is_some).await; } => {
                // The shell is gone: what it wrote is in the pty already.
                while let Ok(read @ 1..) = master.get_ref().read(&mut buffer) {
                    if shown.send((OutputStream::Stdout, buffer[..read].to_vec())).await.is_err() {
                        return;
                    }
                }
                return;
            }
        };
        match read {
            // EIO: every slave descriptor is closed.
            Ok(0) | Err(_) => return,
            Ok(read) => {
                if shown
                    .send((OutputStream::Stdout, buffer[..read].to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

/// What the user types, written to the pty until the sender is dropped.
async fn write_input(
    master: std::sync::Arc<AsyncFd<File>>,
    mut typed: tokio::sync::mpsc::Receiver<Vec<u8>>,
) {
    while let Some(bytes) = typed.recv().await {
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let Ok(mut guard) = master.writable().await else {
                return;
            };
            match guard.try_io(|inner| inner.get_ref().write(rest)) {
                Ok(Ok(written)) => rest = &rest[written..],
                Ok(Err(_)) => return,
                Err(_would_block) => continue,
            }
        }
    }
}

struct DirectTerminal {
    container: String,
    container_id: String,
    /// The shell's host pid (runc's pid file): it leads the TTY's session.
    leader: i64,
    master: std::sync::Arc<AsyncFd<File>>,
    exited: watch::Receiver<Option<Option<i64>>>,
    ended: AtomicBool,
}

impl DirectTerminal {
    async fn reaped(&self) -> Option<Option<i64>> {
        let mut exited = self.exited.clone();
        tokio::time::timeout(REAP_WAIT, exited.wait_for(Option::is_some))
            .await
            .ok()
            .and_then(|value| value.ok().map(|value| *value))
            .flatten()
    }
}

impl TerminalControl for DirectTerminal {
    fn resize(&self, size: TerminalSize) -> BoxFuture<'_, Result<()>> {
        let resized = pty::set_window_size(self.master.as_raw_fd(), size)
            .map_err(|error| runtime(&self.container, format!("resizing: {error}")));
        Box::pin(async move { resized })
    }

    fn end(&self) -> BoxFuture<'_, Result<usize>> {
        self.ended.store(true, Ordering::SeqCst);
        Box::pin(async move {
            let found = session::end_session(&self.container_id, self.leader).await;
            self.reaped().await;
            Ok(found)
        })
    }

    fn exit_status(&self) -> BoxFuture<'_, Result<Option<i64>>> {
        Box::pin(async move { Ok(self.reaped().await.flatten()) })
    }
}

impl Drop for DirectTerminal {
    fn drop(&mut self) {
        if self.ended.load(Ordering::SeqCst) {
            return;
        }
        // A client that went away without `end`: its session ends all the same.
        let container_id = std::mem::take(&mut self.container_id);
        let leader = self.leader;
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                session::end_session(&container_id, leader).await;
            });
        }
    }
}
