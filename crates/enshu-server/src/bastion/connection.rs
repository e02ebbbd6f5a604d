//! One SSH client's connection: authentication, its session channels (a
//! shell or a command each, on the way-in host through the terminal hub)
//! and its `ssh -J` channels.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use enshu_backend::terminal::TerminalSize;
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure};
use tokio::sync::mpsc;

use super::Door;
use super::output::OutputFilter;
use crate::fair_share::WayInPermit;
use crate::state::AppState;
use crate::terminal::commands::{CommandLine, MAX_COMMAND_CHARS};
use crate::terminal::{EndReason, Hub, Launch, LiveTerminal, OpenError};

/// Session channels one connection may hold (its terminals count among
/// the team's as well).
const SESSIONS_PER_CONNECTION: usize = 4;
/// `ssh -J` channels one connection may hold.
const FORWARDS_PER_CONNECTION: usize = 8;
/// Input a raw command's client may send before its TTY is set up.
const HELD_INPUT_LIMIT: usize = 1 << 20;

pub(crate) struct Connection {
    state: AppState,
    hub: Arc<Hub>,
    door: Arc<Door>,
    peer: SocketAddr,
    _permit: WayInPermit,
    authenticated: bool,
    sessions: HashMap<ChannelId, SessionChannel>,
    forwards: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Default)]
struct SessionChannel {
    /// From the client's pty-req: its TERM and window.
    pty: Option<(String, TerminalSize)>,
    running: Option<Running>,
}

struct Running {
    terminal: Arc<LiveTerminal>,
    /// A command without a pty: its input passes as it is, not as keys.
    raw: bool,
    /// Input held until the command's TTY is set up; `None` once passed.
    held: Arc<tokio::sync::Mutex<Option<Vec<u8>>>>,
    last_input: Option<u8>,
}

impl Connection {
    pub fn new(
        state: AppState,
        hub: Arc<Hub>,
        door: Arc<Door>,
        peer: SocketAddr,
        permit: WayInPermit,
    ) -> Connection {
        Connection {
            state,
            hub,
            door,
            peer,
            _permit: permit,
            authenticated: false,
            sessions: HashMap::new(),
            forwards: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    /// Opens `launch` for the session channel `channel` and starts passing
    /// its output to the client; a refusal is told on stderr, in Japanese
    /// and English.
    async fn start(
        &mut self,
        channel: ChannelId,
        launch: Launch,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        let Some(entry) = self.sessions.get_mut(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        if entry.running.is_some() {
            session.channel_failure(channel)?;
            return Ok(());
        }
        let size = entry
            .pty
            .as_ref()
            .map(|(_, size)| *size)
            .unwrap_or_default();
        let raw = matches!(launch, Launch::SshExec { raw: true, .. });
        let exec_line = match &launch {
            Launch::SshExec { command, .. } => Some(command.clone()),
            _ => None,
        };
        let opened = self
            .hub
            .open_launch(&self.state, self.door.team, size, launch)
            .await;
        let (terminal, output) = match opened {
            Ok((terminal, Some(output))) => (terminal, output),
            Ok((terminal, None)) => {
                terminal.request_end(EndReason::Disconnected);
                session.channel_failure(channel)?;
                return Ok(());
            }
            Err(error) => {
                let message = match &error {
                    OpenError::TooMany { limit, .. } => format!(
                        "enshu: このチームの端末は上限の {limit} 個まで開いています / the team has {limit} terminals open already\r\n"
                    ),
                    OpenError::ShuttingDown => {
                        "enshu: サーバーを停止しています / the server is stopping\r\n".to_owned()
                    }
                    _ => "enshu: 端末を開けませんでした / the terminal did not open\r\n".to_owned(),
                };
                tracing::warn!(team = self.door.team, peer = %self.peer, %error, "ssh terminal did not open");
                session.extended_data(channel, 1, message.into_bytes())?;
                session.channel_failure(channel)?;
                session.exit_status_request(channel, 255)?;
                session.close(channel)?;
                return Ok(());
            }
        };
        session.channel_success(channel)?;
        if let Some(line) = exec_line {
            let text: String = line.chars().take(MAX_COMMAND_CHARS).collect();
            if !text.trim().is_empty() {
                let line = CommandLine {
                    text,
                    edited: false,
                };
                self.hub.log_command(&self.state, &terminal, line).await;
            }
        }
        let held = Arc::new(tokio::sync::Mutex::new(raw.then(Vec::new)));
        tracing::info!(team = self.door.team, peer = %self.peer, terminal = %terminal.id, raw, "ssh terminal opened");
        tokio::spawn(forward(
            session.handle(),
            channel,
            terminal.clone(),
            output,
            raw.then(|| held.clone()),
        ));
        entry.running = Some(Running {
            terminal,
            raw,
            held,
            last_input: None,
        });
        Ok(())
    }
}

impl Drop for Connection {
    /// The client went away: nothing of its terminals stays behind.
    fn drop(&mut self) {
        for entry in self.sessions.values() {
            if let Some(running) = &entry.running {
                running.terminal.request_end(EndReason::Disconnected);
            }
        }
    }
}

/// Passes input to a raw command, or holds it while its TTY is being set up.
async fn pass_input(
    held: &tokio::sync::Mutex<Option<Vec<u8>>>,
    terminal: &LiveTerminal,
    bytes: Vec<u8>,
) {
    let mut held = held.lock().await;
    match held.as_mut() {
        Some(buffer) if buffer.len() + bytes.len() <= HELD_INPUT_LIMIT => buffer.extend(bytes),
        Some(_) => {
            tracing::warn!(terminal = %terminal.id, "ssh input before the terminal was ready was over the limit and dropped")
        }
        None => terminal.input_only(bytes).await,
    }
}

/// Every chunk of the terminal's output to the client's channel, without
/// the wrapper's markers; at the end its exit status, EOF and close.
async fn forward(
    handle: Handle,
    channel: ChannelId,
    terminal: Arc<LiveTerminal>,
    mut output: mpsc::Receiver<Arc<[u8]>>,
    held: Option<Arc<tokio::sync::Mutex<Option<Vec<u8>>>>>,
) {
    let mut filter = OutputFilter::new(held.is_some());
    while let Some(chunk) = output.recv().await {
        let was_ready = filter.ready();
        let shown = filter.feed(&chunk);
        if !was_ready
            && filter.ready()
            && let Some(held) = &held
        {
            let mut held = held.lock().await;
            if let Some(bytes) = held.take()
                && !bytes.is_empty()
            {
                terminal.input_only(bytes).await;
            }
        }
        if !shown.is_empty() && handle.data(channel, shown).await.is_err() {
            terminal.request_end(EndReason::Disconnected);
            return;
        }
    }
    let rest = filter.finish();
    if !rest.is_empty() {
        let _ = handle.data(channel, rest).await;
    }
    // The pump closes the output just before it says why the terminal ended.
    let mut ended = terminal.ended();
    let reason = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ended.wait_for(Option::is_some),
    )
    .await
    {
        Ok(Ok(reason)) => *reason,
        _ => None,
    };
    let notice = match reason {
        Some(EndReason::Idle) => {
            Some("\r\nenshu: 操作のない時間が続いたため終了しました / ended after idle time\r\n")
        }
        Some(EndReason::ShuttingDown) => {
            Some("\r\nenshu: サーバーの停止により終了しました / the server stopped\r\n")
        }
        _ => None,
    };
    if let Some(notice) = notice {
        let _ = handle
            .extended_data(channel, 1, notice.as_bytes().to_vec())
            .await;
    }
    let _ = handle
        .exit_status_request(channel, filter.exit_status().unwrap_or(255))
        .await;
    let _ = handle.eof(channel).await;
    let _ = handle.close(channel).await;
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if self.door.admits(user, password) {
            self.authenticated = true;
            tracing::info!(team = self.door.team, peer = %self.peer, "trainee connected over ssh");
            Ok(Auth::Accept)
        } else {
            tracing::info!(team = self.door.team, peer = %self.peer, "ssh password refused");
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.authenticated || self.sessions.len() >= SESSIONS_PER_CONNECTION {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.sessions
            .insert(channel.id(), SessionChannel::default());
        reply.accept().await;
        // The handler's callbacks read the channel; its own queue is not.
        drop(channel);
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let team = self.door.team;
        let target = super::onward_address(&self.state, team, host_to_connect, port_to_connect);
        let way_in = self
            .state
            .team_plan(team)
            .map(|plan| plan.way_in.container.clone());
        let (Some(target), Some(way_in), true) = (
            target,
            way_in,
            self.authenticated
                && self.forwards.load(std::sync::atomic::Ordering::SeqCst)
                    < FORWARDS_PER_CONNECTION,
        ) else {
            tracing::info!(team, peer = %self.peer, host = host_to_connect, port = port_to_connect, "ssh forwarding refused");
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        let inside = match self.hub.backend.connect(&way_in, target).await {
            Ok(inside) => inside,
            Err(error) => {
                tracing::info!(team, peer = %self.peer, %target, %error, "ssh forwarding could not connect");
                reply.reject(ChannelOpenFailure::ConnectFailed).await;
                return Ok(());
            }
        };
        reply.accept().await;
        tracing::info!(team, peer = %self.peer, %target, "ssh forwarding opened (ssh -J)");
        let forwards = self.forwards.clone();
        forwards.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let mut inside = inside;
            let mut stream = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut inside).await;
            forwards.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.sessions.get_mut(&channel) {
            Some(entry) if entry.running.is_none() => {
                entry.pty = Some((term.to_owned(), window(col_width, row_height)));
                session.channel_success(channel)?;
            }
            _ => session.channel_failure(channel)?,
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let size = window(col_width, row_height);
        if let Some(entry) = self.sessions.get_mut(&channel) {
            if let Some((_, pty_size)) = &mut entry.pty {
                *pty_size = size;
            }
            if let Some(running) = &entry.running {
                running.terminal.resize(size).await;
            }
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let launch = match self
            .sessions
            .get(&channel)
            .and_then(|entry| entry.pty.as_ref())
        {
            Some((term, _)) => Launch::SshShell { term: term.clone() },
            // `ssh -T`: commands read from the client's input, no prompts.
            None => Launch::SshExec {
                command: "cat | bash -l".to_owned(),
                raw: true,
            },
        };
        self.start(channel, launch, session).await
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let raw = self
            .sessions
            .get(&channel)
            .is_some_and(|entry| entry.pty.is_none());
        let command = String::from_utf8_lossy(data).into_owned();
        self.start(channel, Launch::SshExec { command, raw }, session)
            .await
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // No sftp: files reach the range through the recorded terminal only.
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(running) = self
            .sessions
            .get_mut(&channel)
            .and_then(|entry| entry.running.as_mut())
        else {
            return Ok(());
        };
        if let Some(&last) = data.last() {
            running.last_input = Some(last);
        }
        if running.raw {
            pass_input(&running.held, &running.terminal, data.to_vec()).await;
        } else {
            for line in running.terminal.typed(data.to_vec()).await {
                self.hub
                    .log_command(&self.state, &running.terminal, line)
                    .await;
            }
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The client's input ended: a raw command reads end of file (one
        // Ctrl-D at the start of a line; two after a partial one).
        if let Some(running) = self
            .sessions
            .get(&channel)
            .and_then(|entry| entry.running.as_ref())
            .filter(|running| running.raw)
        {
            let end = match running.last_input {
                None | Some(b'\n') => vec![0x04],
                Some(_) => vec![0x04, 0x04],
            };
            pass_input(&running.held, &running.terminal, end).await;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(entry) = self.sessions.remove(&channel)
            && let Some(running) = entry.running
        {
            running.terminal.request_end(EndReason::Disconnected);
        }
        Ok(())
    }
}

fn window(columns: u32, rows: u32) -> TerminalSize {
    let clamp = |value: u32| u16::try_from(value).unwrap_or(u16::MAX);
    // A client that gives no size (0) gets the default.
    if columns == 0 || rows == 0 {
        return TerminalSize::default();
    }
    TerminalSize::clamped(clamp(columns), clamp(rows))
}
