//! The team portal's web terminal: a shell on the team's way-in host in
//! the browser, over the portal's own HTTPS (a WebSocket), recorded.
//!
//! The runtime is an argument ([`TerminalService`] holds an
//! `Arc<dyn Terminals>`): `enshu serve` passes the Docker backend, tests
//! the echo fake. Every terminal lives in the [`Hub`]:
//!
//! - **Who**: a team opens terminals on its own way-in host only (the
//!   plan's `TeamPlan::way_in`, never a host the client names), and
//!   reattaches only its own; an instructor attaches to any read-only.
//!   Authorised by the session cookie (or a bearer header), never by
//!   anything in the URL; a browser's `Origin` must be the portal's own.
//! - **Bounds**: at most `per_team` open terminals per team; each ends
//!   after `idle_timeout` without input or output; a client that goes
//!   away leaves its shell `reattach_grace` to come back (the same shell,
//!   with the last screen replayed), then the shell's whole session is
//!   ended in the container ([`enshu_backend::terminal::TerminalControl::end`]).
//!   At shutdown every terminal is ended.
//! - **Recording**: every terminal is an asciicast v2 file outside the
//!   range (`recording`, bounded), and the command lines the team enters
//!   are `TerminalCommand` events on its timeline (`commands`, at most
//!   `commands_per_minute` per terminal; a password prompt's line never).
//!
//! # Layout
//! - `socket`: the WebSocket endpoint and its small protocol.
//! - `commands`: command lines from keystrokes (pure).
//! - `recording`: the asciicast writer.
//! - `assets`: xterm.js from Debian's `node-xterm`, bundled at start.
//! - `pages`: the portal's terminal page, the instructor's list, replay
//!   and the recordings API.

pub(crate) mod assets;
pub(crate) mod commands;
pub(crate) mod pages;
mod recording;
pub(crate) mod socket;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enshu_backend::terminal::{
    OutputStream, TerminalControl, TerminalRequest, TerminalSize, Terminals,
};
use enshu_store::EventKind;
use tokio::sync::{broadcast, mpsc, watch};

use crate::state::AppState;

pub use assets::{XtermAssets, XtermAssetsError};

/// Bounds of the web terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalOptions {
    /// Terminals open at once per team (8).
    pub per_team: usize,
    /// A terminal with no input and no output for this long is ended (30 min).
    pub idle_timeout: Duration,
    /// How long a shell waits for its client to come back (60 s).
    pub reattach_grace: Duration,
    /// Largest recording per terminal (16 MiB).
    pub recording_limit_bytes: u64,
    /// Command lines per terminal per minute that reach the log (60).
    pub commands_per_minute: u32,
    /// Last output kept to repaint a reattached screen (64 KiB).
    pub scrollback_bytes: usize,
}

impl Default for TerminalOptions {
    fn default() -> Self {
        TerminalOptions {
            per_team: 8,
            idle_timeout: Duration::from_secs(30 * 60),
            reattach_grace: Duration::from_secs(60),
            recording_limit_bytes: 16 * 1024 * 1024,
            commands_per_minute: 60,
            scrollback_bytes: 64 * 1024,
        }
    }
}

/// What the server needs to open terminals: the runtime, where the
/// recordings go, the bounds and xterm.js.
pub struct TerminalService {
    pub backend: Arc<dyn Terminals>,
    /// The session's recordings directory (made 0700 on first use).
    pub recordings: PathBuf,
    pub options: TerminalOptions,
    pub assets: XtermAssets,
}

/// Why a terminal did not open.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("team {team} has {limit} terminals open already")]
    TooMany { team: u32, limit: usize },
    #[error("team {0} has no way-in host")]
    NoWayIn(u32),
    #[error("the server is stopping")]
    ShuttingDown,
    #[error("{0}")]
    Backend(#[from] enshu_backend::BackendError),
    #[error("recording: {0}")]
    Recording(#[from] std::io::Error),
}

/// Why a terminal ended, shown to its client and recorded as a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// The shell exited.
    Exited,
    Idle,
    /// Its client did not come back within the grace period.
    Abandoned,
    ShuttingDown,
    /// Its SSH client went away (an SSH session cannot come back).
    Disconnected,
}

impl EndReason {
    pub fn code(self) -> &'static str {
        match self {
            EndReason::Exited => "exited",
            EndReason::Idle => "idle",
            EndReason::Abandoned => "abandoned",
            EndReason::ShuttingDown => "shutdown",
            EndReason::Disconnected => "disconnected",
        }
    }
}

/// What a terminal runs, and for which way in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Launch {
    /// The portal's web terminal: a login shell.
    WebShell,
    /// An SSH client's login shell on its own pty (`term` from its
    /// pty-req); the shell's exit status is reported to the client.
    SshShell { term: String },
    /// An SSH client's command (`ssh host COMMAND`), on a TTY when the
    /// client asked for a pty (`ssh -t`). Without one it runs on pipes, as
    /// OpenSSH's sshd runs it: input and output pass byte for byte, stderr
    /// apart, the client's end of input is the command's (`python3 - <<EOF`
    /// ends), and the exit status is the runtime's.
    SshExec { command: String, pty: bool },
    /// An SSH client's shell without a pty (`ssh -T host`): a login shell
    /// reading its commands from the client's input, on pipes.
    SshPipedShell,
}

/// The script an SSH command without a pty runs: the command line is an
/// argument, never spliced into it.
const PIPED_EXEC_SCRIPT: &str = r#"cd "$HOME" 2>/dev/null; exec bash -c "$1""#;

/// Printed by an SSH terminal's wrapper when its program exited:
/// `ESC ] enshu;exit;STATUS BEL`, an operating-system command a terminal
/// shows nothing for.
pub(crate) const EXIT_MARKER_START: &[u8] = b"\x1b]enshu;exit;";

impl Launch {
    /// The program and environment of the exec, as the runtime gets them.
    /// Values are arguments of a fixed script, never spliced into it.
    pub(crate) fn command_and_env(&self) -> (Vec<String>, Vec<String>) {
        let locale = ["LANG=C.UTF-8".to_owned(), "LC_ALL=C.UTF-8".to_owned()];
        let script = |text: &str| vec!["sh".to_owned(), "-c".to_owned(), text.to_owned()];
        match self {
            Launch::WebShell => (
                script(r#"cd "$HOME" 2>/dev/null; exec bash -l"#),
                [vec!["TERM=xterm-256color".to_owned()], locale.to_vec()].concat(),
            ),
            Launch::SshShell { term } => {
                let term = if !term.is_empty()
                    && term.len() <= 64
                    && term
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || b"-_.+".contains(&byte))
                {
                    term.as_str()
                } else {
                    "xterm-256color"
                };
                (
                    script(
                        r#"cd "$HOME" 2>/dev/null; bash -l; printf '\033]enshu;exit;%d\007' "$?""#,
                    ),
                    [vec![format!("TERM={term}")], locale.to_vec()].concat(),
                )
            }
            Launch::SshExec { command, pty: true } => {
                let mut argv = script(concat!(
                    r#"cd "$HOME" 2>/dev/null; "#,
                    r#"bash -c "$1"; printf '\033]enshu;exit;%d\007' "$?""#,
                ));
                argv.extend(["enshu-exec".to_owned(), command.clone()]);
                (
                    argv,
                    [vec!["TERM=xterm-256color".to_owned()], locale.to_vec()].concat(),
                )
            }
            Launch::SshExec {
                command,
                pty: false,
            } => {
                let mut argv = script(PIPED_EXEC_SCRIPT);
                argv.extend(["enshu-exec".to_owned(), command.clone()]);
                (argv, locale.to_vec())
            }
            Launch::SshPipedShell => (
                script(r#"cd "$HOME" 2>/dev/null; exec bash -l"#),
                locale.to_vec(),
            ),
        }
    }

    fn way_in(&self) -> &'static str {
        match self {
            Launch::WebShell => "web",
            Launch::SshShell { .. } | Launch::SshExec { .. } | Launch::SshPipedShell => "ssh",
        }
    }

    /// Whether the program gets a TTY (else pipes).
    pub(crate) fn tty(&self) -> bool {
        match self {
            Launch::WebShell | Launch::SshShell { .. } => true,
            Launch::SshExec { pty, .. } => *pty,
            Launch::SshPipedShell => false,
        }
    }
}

/// A chunk of a terminal's output and the stream that wrote it.
pub(crate) type OutputChunk = (OutputStream, Arc<[u8]>);

/// What an SSH client is sent of a terminal: every chunk of output, whole
/// and in order.
pub(crate) type PrimaryOutput = mpsc::Receiver<OutputChunk>;

/// One open terminal.
pub(crate) struct LiveTerminal {
    pub id: String,
    pub team: u32,
    pub host: String,
    pub started_at_ms: i64,
    /// `web` or `ssh`.
    pub way_in: &'static str,
    /// A TTY, or pipes (an SSH command without a pty).
    pub tty: bool,
    /// `None` once the input was closed (end of file for a command on pipes).
    input: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    control: Box<dyn TerminalControl>,
    /// Every chunk of output, to each attached client.
    output: broadcast::Sender<Arc<[u8]>>,
    /// The SSH client's own copy of the output, with backpressure (a
    /// broadcast drops what a slow reader missed; an SSH command's output
    /// must arrive whole).
    primary: Mutex<Option<mpsc::Sender<OutputChunk>>>,
    /// The program's exit status, as the runtime knew it when it ended.
    exit_status: Mutex<Option<i64>>,
    scrollback: Mutex<VecDeque<u8>>,
    scrollback_limit: usize,
    /// Bumped at each attach of a writer, so an older socket knows it was
    /// replaced (a reconnect after a drop the server had not noticed).
    writer: watch::Sender<u64>,
    /// Sockets of writers open now (0 or 1 once the old one noticed).
    writers_attached: AtomicU64,
    last_activity: Mutex<Instant>,
    /// `Some` once ended.
    ended: watch::Sender<Option<EndReason>>,
    /// Asked to end (the pump does it).
    stop: watch::Sender<Option<EndReason>>,
    recording: Mutex<recording::Recording>,
    lines: Mutex<commands::LineTracker>,
    /// Minute-long window for the command rate: (window start, count, skipped).
    command_rate: Mutex<(Instant, u32, u32)>,
}

impl LiveTerminal {
    fn touch(&self) {
        *self.last_activity.lock().expect("activity lock") = Instant::now();
    }

    /// Output from now on, and the output kept so far (the last screen,
    /// oldest first): taken together under the lock the pump sends under,
    /// so no chunk is missed or shown twice.
    pub fn subscribe_with_scrollback(&self) -> (broadcast::Receiver<Arc<[u8]>>, Vec<u8>) {
        let kept = self.scrollback.lock().expect("scrollback lock");
        (self.output.subscribe(), kept.iter().copied().collect())
    }

    /// Keys typed that are no command line (an SSH command's input):
    /// recorded and passed on.
    pub async fn input_only(&self, bytes: Vec<u8>) {
        self.touch();
        self.recording.lock().expect("recording lock").input(&bytes);
        self.send_input(bytes).await;
    }

    async fn send_input(&self, bytes: Vec<u8>) {
        let input = self.input.lock().expect("input lock").clone();
        if let Some(input) = input {
            let _ = input.send(bytes).await;
        }
    }

    /// The client's input ended: a command on pipes reads end of file once
    /// what was sent before has been written.
    pub fn close_input(&self) {
        self.input.lock().expect("input lock").take();
    }

    /// The program's exit status, once ended (`None` if unknown or killed).
    pub fn exit_status(&self) -> Option<i64> {
        *self.exit_status.lock().expect("exit status lock")
    }

    pub fn ended(&self) -> watch::Receiver<Option<EndReason>> {
        self.ended.subscribe()
    }

    pub fn request_end(&self, reason: EndReason) {
        self.stop.send_if_modified(|stop| {
            if stop.is_none() {
                *stop = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub async fn resize(&self, size: TerminalSize) {
        self.recording.lock().expect("recording lock").resize(size);
        if let Err(error) = self.control.resize(size).await {
            tracing::debug!(terminal = %self.id, %error, "terminal resize failed");
        }
    }

    /// Keys typed by the writer: recorded, read for command lines, passed on.
    /// The command lines completed, to be logged by the caller.
    pub async fn typed(&self, bytes: Vec<u8>) -> Vec<commands::CommandLine> {
        self.touch();
        self.recording.lock().expect("recording lock").input(&bytes);
        let lines = self.lines.lock().expect("lines lock").typed(&bytes);
        self.send_input(bytes).await;
        lines
    }

    /// Whether one more command line may reach the log this minute; the
    /// count of those skipped before it when it may.
    fn admit_command(&self, limit: u32) -> Option<u32> {
        let mut rate = self.command_rate.lock().expect("command rate lock");
        if rate.0.elapsed() >= Duration::from_secs(60) {
            *rate = (Instant::now(), 0, rate.2);
        }
        if rate.1 >= limit {
            rate.2 += 1;
            return None;
        }
        rate.1 += 1;
        Some(std::mem::take(&mut rate.2))
    }

    /// Takes the writer's place; the generation it holds.
    pub fn attach_writer(&self) -> u64 {
        self.writers_attached.fetch_add(1, Ordering::SeqCst);
        let mut generation = 0;
        self.writer.send_modify(|current| {
            *current += 1;
            generation = *current;
        });
        generation
    }

    pub fn writer_changes(&self) -> watch::Receiver<u64> {
        self.writer.subscribe()
    }
}

/// Every open terminal of the session.
pub(crate) struct Hub {
    pub(crate) backend: Arc<dyn Terminals>,
    recordings: PathBuf,
    pub options: TerminalOptions,
    pub assets: XtermAssets,
    live: Mutex<HashMap<String, Arc<LiveTerminal>>>,
    /// Terminals being opened per team (their places taken).
    opening: Mutex<HashMap<u32, usize>>,
}

/// A recording on disk, as the instructor's list shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct RecordingEntry {
    pub terminal: String,
    pub team: u32,
    pub bytes: u64,
    pub live: bool,
    pub host: Option<String>,
    /// `web` or `ssh`, while live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub way_in: Option<&'static str>,
}

impl Hub {
    pub fn new(service: TerminalService) -> Hub {
        Hub {
            backend: service.backend,
            recordings: service.recordings,
            options: service.options,
            assets: service.assets,
            live: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
        }
    }

    /// The live terminal `id`, if team `team` (or any team, for `None`) has it.
    pub fn find(&self, id: &str, team: Option<u32>) -> Option<Arc<LiveTerminal>> {
        let live = self.live.lock().expect("terminals lock");
        live.get(id)
            .filter(|terminal| team.is_none_or(|team| terminal.team == team))
            .cloned()
    }

    pub fn team_terminals(&self, team: Option<u32>) -> Vec<Arc<LiveTerminal>> {
        let live = self.live.lock().expect("terminals lock");
        let mut terminals: Vec<_> = live
            .values()
            .filter(|terminal| team.is_none_or(|team| terminal.team == team))
            .cloned()
            .collect();
        terminals.sort_by_key(|terminal| terminal.started_at_ms);
        terminals
    }

    /// A new shell on team `team`'s way-in host.
    pub async fn open(
        self: &Arc<Self>,
        state: &AppState,
        team: u32,
        size: TerminalSize,
    ) -> Result<Arc<LiveTerminal>, OpenError> {
        let (terminal, _) = self
            .open_launch(state, team, size, Launch::WebShell)
            .await?;
        Ok(terminal)
    }

    /// A new terminal running `launch` on team `team`'s way-in host: the
    /// web terminal's and the SSH bastion's, under the same bounds. An SSH
    /// launch also gets every chunk of output, in order and whole, from
    /// the first one on: the pump waits for that reader (a broadcast drops
    /// what a slow reader missed), and closes it when the terminal ended.
    pub async fn open_launch(
        self: &Arc<Self>,
        state: &AppState,
        team: u32,
        size: TerminalSize,
        launch: Launch,
    ) -> Result<(Arc<LiveTerminal>, Option<PrimaryOutput>), OpenError> {
        if *state.shutdown_receiver().borrow() {
            return Err(OpenError::ShuttingDown);
        }
        let way_in = state
            .team_plan(team)
            .map(|plan| plan.way_in.clone())
            .ok_or(OpenError::NoWayIn(team))?;
        // The place is taken before the (slow) open, so a burst of opens
        // cannot pass the bound together.
        let id = crate::state::random_hex()[..24].to_owned();
        let opening = self.reserve(team)?;
        let (command, env) = launch.command_and_env();
        let request = TerminalRequest {
            container: way_in.container.clone(),
            user: way_in.user.clone(),
            command,
            env,
            size,
            tty: launch.tty(),
        };
        let started_at_ms = now_ms();
        let recording_path =
            recording::team_directory(&self.recordings, team).join(format!("{id}.cast"));
        let header = recording::Header {
            size,
            timestamp: started_at_ms / 1000,
            title: format!(
                "team {team} · {} · {} · {id}",
                way_in.hostname,
                launch.way_in()
            ),
        };
        let recording = recording::Recording::create(
            &recording_path,
            &header,
            self.options.recording_limit_bytes,
        )?;
        let opened = match self.backend.open(request).await {
            Ok(opened) => opened,
            Err(error) => {
                let _ = std::fs::remove_file(&recording_path);
                return Err(error.into());
            }
        };
        let (output, _) = broadcast::channel(256);
        let (primary, primary_output) = if launch.way_in() == "ssh" {
            let (sender, receiver) = mpsc::channel(64);
            (Some(sender), Some(receiver))
        } else {
            (None, None)
        };
        let (writer, _) = watch::channel(0);
        let (ended, _) = watch::channel(None);
        let (stop, stop_requested) = watch::channel(None);
        let terminal = Arc::new(LiveTerminal {
            id: id.clone(),
            team,
            host: way_in.hostname.clone(),
            started_at_ms,
            way_in: launch.way_in(),
            tty: launch.tty(),
            input: Mutex::new(Some(opened.input)),
            control: opened.control,
            output,
            primary: Mutex::new(primary),
            exit_status: Mutex::new(None),
            scrollback: Mutex::new(VecDeque::new()),
            scrollback_limit: self.options.scrollback_bytes,
            writer,
            writers_attached: AtomicU64::new(0),
            last_activity: Mutex::new(Instant::now()),
            ended,
            stop,
            recording: Mutex::new(recording),
            lines: Mutex::new(commands::LineTracker::default()),
            command_rate: Mutex::new((Instant::now(), 0, 0)),
        });
        self.live
            .lock()
            .expect("terminals lock")
            .insert(id.clone(), terminal.clone());
        drop(opening);
        tracing::info!(team, terminal = %id, host = %way_in.hostname, way_in = launch.way_in(), "terminal opened");
        tokio::spawn(pump(
            self.clone(),
            terminal.clone(),
            opened.output,
            stop_requested,
        ));
        Ok((terminal, primary_output))
    }

    /// A place among the team's terminals while one opens (counted with
    /// the open ones), given back when the guard drops.
    fn reserve(&self, team: u32) -> Result<Opening<'_>, OpenError> {
        let live = self.live.lock().expect("terminals lock");
        let mut opening = self.opening.lock().expect("opening lock");
        let open = live
            .values()
            .filter(|terminal| terminal.team == team)
            .count();
        let in_flight = opening.get(&team).copied().unwrap_or(0);
        if open + in_flight >= self.options.per_team {
            return Err(OpenError::TooMany {
                team,
                limit: self.options.per_team,
            });
        }
        *opening.entry(team).or_default() += 1;
        Ok(Opening { hub: self, team })
    }

    /// A writer's socket closed: unless another took its place, the shell
    /// waits `reattach_grace` for it, then ends.
    pub fn writer_left(self: &Arc<Self>, terminal: &Arc<LiveTerminal>, generation: u64) {
        terminal.writers_attached.fetch_sub(1, Ordering::SeqCst);
        if *terminal.writer.borrow() != generation {
            return;
        }
        let grace = self.options.reattach_grace;
        let terminal = terminal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if *terminal.writer.borrow() == generation {
                terminal.request_end(EndReason::Abandoned);
            }
        });
    }

    /// Logs a command line the team entered.
    pub async fn log_command(
        &self,
        state: &AppState,
        terminal: &LiveTerminal,
        line: commands::CommandLine,
    ) {
        let Some(skipped) = terminal.admit_command(self.options.commands_per_minute) else {
            return;
        };
        if skipped > 0 {
            tracing::info!(team = terminal.team, terminal = %terminal.id, skipped, "terminal command lines over the rate were not logged");
        }
        let kind = EventKind::TerminalCommand {
            host: terminal.host.clone(),
            terminal: terminal.id.clone(),
            command: line.text,
            edited: line.edited,
        };
        if let Err(error) = state
            .append(
                Some(terminal.team),
                kind,
                &format!("team:{}", terminal.team),
            )
            .await
        {
            tracing::warn!(team = terminal.team, %error, "cannot log a terminal command");
        }
    }

    /// Ends every terminal (at shutdown) and waits until each has.
    pub async fn end_all(&self) {
        let terminals: Vec<_> = self
            .live
            .lock()
            .expect("terminals lock")
            .values()
            .cloned()
            .collect();
        for terminal in &terminals {
            terminal.request_end(EndReason::ShuttingDown);
        }
        for terminal in terminals {
            let mut ended = terminal.ended();
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                ended.wait_for(|ended| ended.is_some()),
            )
            .await;
        }
    }

    /// Every recording on disk, for team `team` or all.
    pub fn recordings(&self, team: Option<u32>) -> Vec<RecordingEntry> {
        let live = self.live.lock().expect("terminals lock").clone();
        let mut entries = Vec::new();
        let Ok(directories) = std::fs::read_dir(&self.recordings) else {
            return entries;
        };
        for directory in directories.filter_map(Result::ok) {
            let name = directory.file_name();
            let Some(team_index) = name
                .to_str()
                .and_then(|name| name.strip_prefix("team-"))
                .and_then(|number| number.parse::<u32>().ok())
            else {
                continue;
            };
            if team.is_some_and(|team| team != team_index) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(directory.path()) else {
                continue;
            };
            for file in files.filter_map(Result::ok) {
                let path = file.path();
                let Some(id) = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .and_then(|name| name.strip_suffix(".cast"))
                    .filter(|id| valid_id(id))
                else {
                    continue;
                };
                let live_terminal = live.get(id);
                entries.push(RecordingEntry {
                    terminal: id.to_owned(),
                    team: team_index,
                    bytes: file.metadata().map_or(0, |metadata| metadata.len()),
                    live: live_terminal.is_some(),
                    host: live_terminal.map(|terminal| terminal.host.clone()),
                    way_in: live_terminal.map(|terminal| terminal.way_in),
                });
            }
        }
        entries.sort_by(|a, b| (a.team, &a.terminal).cmp(&(b.team, &b.terminal)));
        entries
    }

    /// The recording of terminal `id`, if team `team` (or any) has it.
    pub fn recording_path(&self, id: &str, team: Option<u32>) -> Option<(u32, PathBuf)> {
        if !valid_id(id) {
            return None;
        }
        self.recordings(team)
            .into_iter()
            .find(|entry| entry.terminal == id)
            .map(|entry| {
                (
                    entry.team,
                    recording::team_directory(&self.recordings, entry.team)
                        .join(format!("{id}.cast")),
                )
            })
    }
}

struct Opening<'a> {
    hub: &'a Hub,
    team: u32,
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        let mut opening = self.hub.opening.lock().expect("opening lock");
        if let Some(count) = opening.get_mut(&self.team) {
            *count = count.saturating_sub(1);
        }
    }
}

/// A terminal id as the hub makes them (hex), the only names looked up on disk.
pub(crate) fn valid_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Owns a terminal's output: records it, keeps the scrollback, hands it to
/// attached clients, watches the idle bound and ends the terminal.
async fn pump(
    hub: Arc<Hub>,
    terminal: Arc<LiveTerminal>,
    mut output: mpsc::Receiver<(OutputStream, Vec<u8>)>,
    mut stop_requested: watch::Receiver<Option<EndReason>>,
) {
    let idle_timeout = hub.options.idle_timeout;
    let mut idle_check = tokio::time::interval(Duration::from_secs(1).min(idle_timeout));
    let reason = loop {
        tokio::select! {
            chunk = output.recv() => {
                let Some((stream, chunk)) = chunk else { break EndReason::Exited };
                terminal.touch();
                terminal.recording.lock().expect("recording lock").output(&chunk);
                terminal.lines.lock().expect("lines lock").shown(&chunk);
                let chunk: Arc<[u8]> = Arc::from(chunk);
                {
                    let mut kept = terminal.scrollback.lock().expect("scrollback lock");
                    kept.extend(chunk.iter().copied());
                    let excess = kept.len().saturating_sub(terminal.scrollback_limit);
                    kept.drain(..excess);
                    let _ = terminal.output.send(chunk.clone());
                }
                let primary = terminal.primary.lock().expect("primary lock").clone();
                if let Some(primary) = primary
                    && primary.send((stream, chunk)).await.is_err()
                {
                    terminal.primary.lock().expect("primary lock").take();
                }
            }
            _ = idle_check.tick() => {
                let idle = terminal.last_activity.lock().expect("activity lock").elapsed();
                if idle >= idle_timeout {
                    break EndReason::Idle;
                }
            }
            changed = stop_requested.changed() => {
                match (changed, *stop_requested.borrow()) {
                    (Ok(()), Some(reason)) => break reason,
                    (Ok(()), None) => continue,
                    (Err(_), _) => break EndReason::ShuttingDown,
                }
            }
        }
    };
    if reason == EndReason::Exited {
        match terminal.control.exit_status().await {
            Ok(status) => *terminal.exit_status.lock().expect("exit status lock") = status,
            Err(error) => {
                tracing::debug!(terminal = %terminal.id, %error, "cannot read the exit status")
            }
        }
    }
    // Whatever ended it, nothing of the terminal's session stays behind
    // (an exited shell may leave background jobs).
    let left = match terminal.control.end().await {
        Ok(left) => left,
        Err(error) => {
            tracing::warn!(terminal = %terminal.id, %error, "cannot end the terminal's processes");
            0
        }
    };
    terminal
        .recording
        .lock()
        .expect("recording lock")
        .marker(&format!("ended: {}", reason.code()));
    hub.live
        .lock()
        .expect("terminals lock")
        .remove(&terminal.id);
    // Its SSH reader has had every chunk: closed, so it sees the end.
    terminal.primary.lock().expect("primary lock").take();
    terminal.ended.send_replace(Some(reason));
    tracing::info!(team = terminal.team, terminal = %terminal.id, reason = reason.code(), processes_ended = left, "terminal ended");
}
