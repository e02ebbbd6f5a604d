//! Interactive terminals: a shell with a TTY in a range container, for the
//! web terminal of the team portal (`enshu-server`'s `terminal` module),
//! and a command on pipes (no TTY) for the SSH bastion's `ssh host COMMAND`
//! without a pty, whose input and output pass byte for byte, whose end of
//! input is the end of the client's, and whose exit status is reported.
//!
//! The trait is object-safe (boxed futures), unlike [`crate::Backend`],
//! so the server holds an `Arc<dyn Terminals>` without naming a runtime:
//! Docker implements it in `enshu-docker`, and [`EchoTerminals`] is the
//! fake the server's tests drive without Docker.
//!
//! **Invariant:** [`TerminalControl::end`] leaves no process of the
//! terminal's session in the container: a client that goes away leaves
//! nothing running behind it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::Result;

/// A boxed, sendable future (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub columns: u16,
    pub rows: u16,
}

impl TerminalSize {
    /// Clamped to what a screen can show (1–500 columns, 1–200 rows), so a
    /// client cannot ask the kernel for an absurd window.
    pub fn clamped(columns: u16, rows: u16) -> TerminalSize {
        TerminalSize {
            columns: columns.clamp(1, 500),
            rows: rows.clamp(1, 200),
        }
    }
}

impl Default for TerminalSize {
    fn default() -> Self {
        TerminalSize {
            columns: 80,
            rows: 24,
        }
    }
}

/// What to run, where, as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRequest {
    pub container: String,
    /// The login user (the way in's, `roles::login_user`).
    pub user: String,
    /// The program and its arguments, e.g. `["bash", "-l"]`.
    pub command: Vec<String>,
    /// `NAME=value` pairs (`TERM`, `LANG`).
    pub env: Vec<String>,
    pub size: TerminalSize,
    /// A TTY (the web terminal, an SSH client's pty), or none: stdin,
    /// stdout and stderr are pipes, output is told apart by stream, and
    /// closing the input sender is end of file for the process.
    pub tty: bool,
}

/// Which of the process's streams wrote a chunk of output (a TTY's
/// output is all [`OutputStream::Stdout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// An open terminal: bytes in, bytes out, and its controls.
pub struct OpenTerminal {
    /// What the user types, passed to the process as is. Dropping the
    /// sender ends the process's input; it does not end the process.
    pub input: mpsc::Sender<Vec<u8>>,
    /// What the process writes to its TTY (or to its stdout and stderr
    /// pipes); closed when the process ended.
    pub output: mpsc::Receiver<(OutputStream, Vec<u8>)>,
    pub control: Box<dyn TerminalControl>,
}

/// Controls of one open terminal.
pub trait TerminalControl: Send + Sync {
    /// Tell the process's TTY its new window size (SIGWINCH follows).
    fn resize(&self, size: TerminalSize) -> BoxFuture<'_, Result<()>>;
    /// End the process and every process of its session in the container
    /// (hang-up first, then killed); returns how many were still there.
    fn end(&self) -> BoxFuture<'_, Result<usize>>;
    /// The process's exit status once its output has closed (`None` when
    /// the runtime does not know it, e.g. the process was killed).
    fn exit_status(&self) -> BoxFuture<'_, Result<Option<i64>>>;
}

/// A runtime that opens terminals.
pub trait Terminals: Send + Sync {
    fn open(&self, request: TerminalRequest) -> BoxFuture<'_, Result<OpenTerminal>>;

    /// A TCP connection to `address`, opened from inside `container`'s own
    /// network (as a program there would open it): the SSH bastion's
    /// `ssh -J` to the hosts the team may log in to. A runtime that cannot
    /// refuses, the default.
    fn connect(
        &self,
        container: &str,
        address: std::net::SocketAddrV4,
    ) -> BoxFuture<'_, Result<tokio::net::TcpStream>> {
        let error = crate::BackendError::Runtime {
            action: "connecting from",
            name: container.to_owned(),
            message: format!("this runtime opens no connection to {address}"),
        };
        Box::pin(async move { Err(error) })
    }
}

/// What [`EchoTerminals`] saw, for assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoRecord {
    pub opened: Vec<TerminalRequest>,
    pub resizes: Vec<TerminalSize>,
    /// Terminals ended through [`TerminalControl::end`].
    pub ended: usize,
}

/// A fake runtime. With a TTY its "shell" echoes every byte typed (as a
/// TTY in cooked mode does, `\r` shown as `\r\n`) and ends on `exit\r`.
/// On pipes it runs the request's last argument as a tiny shell would:
/// `cat` copies its input to its stdout until end of input (status 0),
/// `exit N` ends with status N, anything else says on stderr that the
/// command was not found (status 127). Clones share one record.
#[derive(Debug, Clone, Default)]
pub struct EchoTerminals {
    record: Arc<Mutex<EchoRecord>>,
}

impl EchoTerminals {
    pub fn record(&self) -> EchoRecord {
        self.record.lock().expect("echo record lock").clone()
    }

    /// Terminals opened and not yet ended (by `end` or `exit`).
    pub fn running(&self) -> usize {
        let record = self.record();
        record.opened.len().saturating_sub(record.ended)
    }
}

struct EchoControl {
    record: Arc<Mutex<EchoRecord>>,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    status: Arc<Mutex<Option<i64>>>,
}

impl TerminalControl for EchoControl {
    fn resize(&self, size: TerminalSize) -> BoxFuture<'_, Result<()>> {
        self.record
            .lock()
            .expect("echo record lock")
            .resizes
            .push(size);
        Box::pin(async { Ok(()) })
    }

    fn end(&self) -> BoxFuture<'_, Result<usize>> {
        let stop = self.stop.lock().expect("echo stop lock").take();
        let was_running = stop.is_some_and(|stop| stop.send(()).is_ok());
        Box::pin(async move { Ok(usize::from(was_running)) })
    }

    fn exit_status(&self) -> BoxFuture<'_, Result<Option<i64>>> {
        let status = *self.status.lock().expect("echo status lock");
        Box::pin(async move { Ok(status) })
    }
}

type Shown = mpsc::Sender<(OutputStream, Vec<u8>)>;

/// The TTY fake's shell; its exit status.
async fn echo_shell(
    shown: &Shown,
    mut typed: mpsc::Receiver<Vec<u8>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> Option<i64> {
    let _ = shown.send((OutputStream::Stdout, b"$ ".to_vec())).await;
    let mut line = Vec::new();
    loop {
        let bytes = tokio::select! {
            bytes = typed.recv() => bytes,
            _ = &mut stopped => return None,
        };
        let bytes = bytes?;
        let mut echoed = Vec::with_capacity(bytes.len());
        for byte in bytes {
            if byte == b'\r' {
                echoed.extend_from_slice(b"\r\n");
                if line == b"exit" {
                    let _ = shown.send((OutputStream::Stdout, echoed)).await;
                    return Some(0);
                }
                line.clear();
                echoed.extend_from_slice(b"$ ");
            } else {
                line.push(byte);
                echoed.push(byte);
            }
        }
        if shown.send((OutputStream::Stdout, echoed)).await.is_err() {
            return None;
        }
    }
}

/// The pipe fake's command; its exit status.
async fn echo_command(
    command: String,
    shown: &Shown,
    mut typed: mpsc::Receiver<Vec<u8>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> Option<i64> {
    if let Some(status) = command.strip_prefix("exit ") {
        return status.trim().parse().ok();
    }
    if command != "cat" {
        let message = format!("bash: {command}: command not found\n").into_bytes();
        let _ = shown.send((OutputStream::Stderr, message)).await;
        return Some(127);
    }
    loop {
        let bytes = tokio::select! {
            bytes = typed.recv() => bytes,
            _ = &mut stopped => return None,
        };
        let Some(bytes) = bytes else {
            return Some(0);
        };
        if shown.send((OutputStream::Stdout, bytes)).await.is_err() {
            return None;
        }
    }
}

impl Terminals for EchoTerminals {
    fn open(&self, request: TerminalRequest) -> BoxFuture<'_, Result<OpenTerminal>> {
        let tty = request.tty;
        let command = request.command.last().cloned().unwrap_or_default();
        self.record
            .lock()
            .expect("echo record lock")
            .opened
            .push(request);
        let (input, typed) = mpsc::channel::<Vec<u8>>(64);
        let (shown, output) = mpsc::channel(64);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let record = self.record.clone();
        let status = Arc::new(Mutex::new(None));
        let exit = status.clone();
        tokio::spawn(async move {
            let status = if tty {
                echo_shell(&shown, typed, stopped).await
            } else {
                echo_command(command, &shown, typed, stopped).await
            };
            // Known before the output closes, as a runtime knows it.
            *exit.lock().expect("echo status lock") = status;
            record.lock().expect("echo record lock").ended += 1;
            drop(shown);
        });
        let control = Box::new(EchoControl {
            record: self.record.clone(),
            stop: Mutex::new(Some(stop)),
            status,
        });
        Box::pin(async move {
            Ok(OpenTerminal {
                input,
                output,
                control,
            })
        })
    }
}
