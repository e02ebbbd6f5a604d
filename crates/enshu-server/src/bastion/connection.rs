//! One SSH client's connection: authentication, its session channels (a
//! shell or a command each, on the way-in host through the terminal hub)
//! and its `ssh -J` channels.
//!
//! A channel with a pty-req runs on a TTY (resized with the client's
//! window, exit status from the wrapper's marker); one without runs on
//! pipes, as OpenSSH's sshd does: stdout as channel data, stderr as
//! extended data, the client's EOF closing the command's stdin, and the
//! runtime's exit status as `exit-status`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use enshu_backend::terminal::{OutputStream, TerminalSize};
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure};

use super::Door;
use super::output::OutputFilter;
use crate::fair_share::WayInPermit;
use crate::state::AppState;
use crate::terminal::commands::{CommandLine, MAX_COMMAND_CHARS, PipedLines};
use crate::terminal::{EndReason, Hub, Launch, LiveTerminal, OpenError, PrimaryOutput};

/// Session channels one connection may hold (its terminals count among
/// the team's as well).
const SESSIONS_PER_CONNECTION: usize = 4;
/// `ssh -J` channels one connection may hold.
const FORWARDS_PER_CONNECTION: usize = 8;

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
    input: Input,
}

/// How a session's input is read for command lines.
enum Input {
    /// Keys on a TTY: the line tracker's rules.
    Keys,
    /// A command on pipes: its input is data, its command line was logged.
    Data,
    /// A shell on pipes (`ssh -T`): each line sent is a command.
    Lines(PipedLines),
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
        let tty = launch.tty();
        let input = match &launch {
            _ if tty => Input::Keys,
            Launch::SshPipedShell => Input::Lines(PipedLines::default()),
            _ => Input::Data,
        };
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
        tracing::info!(team = self.door.team, peer = %self.peer, terminal = %terminal.id, tty, "ssh terminal opened");
        tokio::spawn(forward(session.handle(), channel, terminal.clone(), output));
        entry.running = Some(Running { terminal, input });
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

/// Every chunk of the terminal's output to the client's channel (on a
/// TTY without the wrapper's markers; on pipes as it is, stderr as
/// extended data); at the end its exit status, EOF and close.
async fn forward(
    handle: Handle,
    channel: ChannelId,
    terminal: Arc<LiveTerminal>,
    mut output: PrimaryOutput,
) {
    let mut filter = terminal.tty.then(OutputFilter::new);
    while let Some((stream, chunk)) = output.recv().await {
        let sent = match (&mut filter, stream) {
            (Some(filter), _) => {
                let shown = filter.feed(&chunk);
                if shown.is_empty() {
                    continue;
                }
                handle.data(channel, shown).await.map_err(drop)
            }
            (None, OutputStream::Stdout) => {
                handle.data(channel, chunk.to_vec()).await.map_err(drop)
            }
            (None, OutputStream::Stderr) => handle
                .extended_data(channel, 1, chunk.to_vec())
                .await
                .map_err(drop),
        };
        if sent.is_err() {
            terminal.request_end(EndReason::Disconnected);
            return;
        }
    }
    if let Some(filter) = &mut filter {
        let rest = filter.finish();
        if !rest.is_empty() {
            let _ = handle.data(channel, rest).await;
        }
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
    let status = match &filter {
        Some(filter) => filter.exit_status(),
        None => terminal
            .exit_status()
            .and_then(|status| u32::try_from(status).ok()),
    };
    let _ = handle
        .exit_status_request(channel, status.unwrap_or(255))
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
            if let Some(running) = entry
                .running
                .as_ref()
                .filter(|running| running.terminal.tty)
            {
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
            None => Launch::SshPipedShell,
        };
        self.start(channel, launch, session).await
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let pty = self
            .sessions
            .get(&channel)
            .is_some_and(|entry| entry.pty.is_some());
        let command = String::from_utf8_lossy(data).into_owned();
        self.start(channel, Launch::SshExec { command, pty }, session)
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
        let lines = match &mut running.input {
            Input::Keys => running.terminal.typed(data.to_vec()).await,
            Input::Data => {
                running.terminal.input_only(data.to_vec()).await;
                Vec::new()
            }
            Input::Lines(piped) => {
                let lines = piped.sent(data);
                running.terminal.input_only(data.to_vec()).await;
                lines
            }
        };
        for line in lines {
            self.hub
                .log_command(&self.state, &running.terminal, line)
                .await;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The client's input ended: on pipes, so does the command's (a TTY
        // has no end of input but the keys typed, as with OpenSSH).
        let Some(running) = self
            .sessions
            .get_mut(&channel)
            .and_then(|entry| entry.running.as_mut())
            .filter(|running| !running.terminal.tty)
        else {
            return Ok(());
        };
        if let Input::Lines(piped) = &mut running.input
            && let Some(line) = piped.finish()
        {
            self.hub
                .log_command(&self.state, &running.terminal, line)
                .await;
        }
        running.terminal.close_input();
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
