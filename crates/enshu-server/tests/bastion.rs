//! The SSH bastion against the echo runtime (no Docker), driven by an SSH
//! client (russh's): a team's door opens only with its way-in user and
//! password, a shell on a pty echoes what is typed (Japanese too) and is
//! resized with the client's window, the command line reaches the team's
//! timeline and the recording the instructor lists, and a client that
//! goes away leaves no terminal behind. `crates/enshu-cli/tests/range.rs`
//! logs in with OpenSSH's `ssh` through the bastion against Docker.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use enshu_backend::terminal::{EchoTerminals, TerminalSize};
use enshu_server::bastion::{BastionTeam, serve_bastion};
use enshu_server::{ServerOptions, TerminalOptions, TerminalService, XtermAssets};
use enshu_store::{EventKind, EventQuery};
use russh::ChannelMsg;
use serde_json::Value;
use support::{INSTRUCTOR_TOKEN, TestServer};

const PASSWORDS: [&str; 2] = ["team-one-password", "team-two-password"];

struct Client;

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

struct Bastion {
    server: TestServer,
    echo: EchoTerminals,
    ports: Vec<u16>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn bastion(options: TerminalOptions) -> Bastion {
    let echo = EchoTerminals::default();
    let runtime = echo.clone();
    let server =
        TestServer::start_configured(2, ServerOptions::default(), move |state, directory| {
            state.with_terminals(TerminalService {
                backend: Arc::new(runtime),
                recordings: directory.join("terminals"),
                options,
                assets: XtermAssets::from_debian().expect("node-xterm is installed (make deps)"),
            })
        })
        .await;
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    for team in [1_u32, 2] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
        let user = server.state.plan().teams[team as usize - 1]
            .way_in
            .user
            .clone();
        listeners.push((
            listener,
            BastionTeam {
                team,
                user,
                password: PASSWORDS[team as usize - 1].to_owned(),
            },
        ));
    }
    let key_path = std::env::temp_dir().join(format!(
        "enshu-bastion-test-{}-{}",
        std::process::id(),
        ports[0]
    ));
    let host_key = enshu_server::bastion::kept_host_key(&key_path.join("host_ed25519")).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = server.state.clone();
    let task = tokio::spawn(async move {
        serve_bastion(state, listeners, host_key, async move {
            let _ = stopped.await;
        })
        .await;
    });
    Bastion {
        server,
        echo,
        ports,
        stop,
        task,
    }
}

async fn connect(port: u16, user: &str, password: &str) -> (russh::client::Handle<Client>, bool) {
    let config = Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, ("127.0.0.1", port), Client)
        .await
        .expect("the bastion answers");
    let accepted = handle
        .authenticate_password(user, password)
        .await
        .unwrap()
        .success();
    (handle, accepted)
}

/// Reads the channel until `wanted` was shown; what was shown.
async fn read_until(channel: &mut russh::Channel<russh::client::Msg>, wanted: &str) -> String {
    let mut shown = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&shown).contains(wanted) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => shown.extend_from_slice(&data),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!(
                "{wanted:?} not shown; got {:?}",
                String::from_utf8_lossy(&shown)
            ),
        }
    }
    String::from_utf8_lossy(&shown).into_owned()
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_team_logs_in_over_ssh_and_its_shell_is_recorded_like_the_web_terminals() {
    let bastion = bastion(TerminalOptions::default()).await;
    let user = bastion.server.state.plan().teams[0].way_in.user.clone();

    // Only the team's own password opens its door; team 2's door does not
    // open with team 1's.
    let (_, accepted) = connect(bastion.ports[0], &user, "wrong-password").await;
    assert!(!accepted, "a wrong password opened team 1's door");
    let (_, accepted) = connect(bastion.ports[1], &user, PASSWORDS[0]).await;
    assert!(!accepted, "team 1's password opened team 2's door");
    let (_, accepted) = connect(bastion.ports[0], "root", PASSWORDS[0]).await;
    assert!(!accepted, "another user than the way in's was let in");

    let (handle, accepted) = connect(bastion.ports[0], &user, PASSWORDS[0]).await;
    assert!(accepted, "team 1's own password was refused");
    let mut channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(true, "xterm-256color", 100, 30, 0, 0, &[])
        .await
        .unwrap();
    channel.request_shell(true).await.unwrap();
    read_until(&mut channel, "$ ").await;
    let opened = bastion.echo.record().opened;
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].container,
        bastion.server.state.plan().teams[0].way_in.container
    );
    assert_eq!(opened[0].user, user);
    assert_eq!(
        opened[0].size,
        TerminalSize {
            columns: 100,
            rows: 30
        }
    );
    assert!(opened[0].env.contains(&"TERM=xterm-256color".to_owned()));

    channel.data("echo 日本語\r".as_bytes()).await.unwrap();
    let shown = read_until(&mut channel, "echo 日本語\r\n$ ").await;
    assert!(shown.contains("日本語"), "{shown}");
    channel.window_change(120, 40, 0, 0).await.unwrap();
    let echo = bastion.echo.clone();
    wait_until("the window change reached the terminal", || {
        echo.record().resizes.contains(&TerminalSize {
            columns: 120,
            rows: 40,
        })
    })
    .await;

    // The command line is on team 1's timeline, from the SSH terminal.
    let deadline = Instant::now() + Duration::from_secs(10);
    let terminal = loop {
        let events = bastion
            .server
            .store
            .events(bastion.server.session, EventQuery::default())
            .await
            .unwrap();
        let found = events.iter().find_map(|event| match &event.kind {
            EventKind::TerminalCommand {
                command, terminal, ..
            } if command == "echo 日本語" => {
                assert_eq!(event.team, Some(1));
                assert_eq!(event.actor, "team:1");
                Some(terminal.clone())
            }
            _ => None,
        });
        if let Some(terminal) = found {
            break terminal;
        }
        assert!(Instant::now() < deadline, "no terminal_command event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The instructor lists its recording, which holds what was shown.
    let recordings: Value = bastion
        .server
        .client
        .get(bastion.server.url("/api/instructor/terminals"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = recordings.to_string();
    assert!(listed.contains(&terminal), "{listed}");
    let recording = bastion
        .server
        .client
        .get(
            bastion
                .server
                .url(&format!("/api/instructor/terminals/{terminal}/recording")),
        )
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(recording.contains("日本語"), "{recording}");
    assert!(
        recording.contains("ssh"),
        "the header names the way in: {recording}"
    );

    // The client goes away: its shell is ended, nothing stays running.
    drop(channel);
    drop(handle);
    let echo = bastion.echo.clone();
    wait_until("the dropped client's terminal was ended", || {
        echo.running() == 0
    })
    .await;
    assert_eq!(bastion.echo.record().ended, 1);

    let _ = bastion.stop.send(());
    bastion.task.await.unwrap();
    bastion.server.stop().await;
}

#[tokio::test]
async fn ssh_terminals_count_among_the_teams_terminals() {
    let bastion = bastion(TerminalOptions {
        per_team: 1,
        ..TerminalOptions::default()
    })
    .await;
    let user = bastion.server.state.plan().teams[0].way_in.user.clone();
    let (handle, accepted) = connect(bastion.ports[0], &user, PASSWORDS[0]).await;
    assert!(accepted);
    let mut first = handle.channel_open_session().await.unwrap();
    first
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    first.request_shell(true).await.unwrap();
    read_until(&mut first, "$ ").await;

    // The second terminal of the team is refused, and said so on stderr.
    let mut second = handle.channel_open_session().await.unwrap();
    second
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    second.request_shell(true).await.unwrap();
    let mut told = String::new();
    let mut refused = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(10), second.wait()).await {
            Ok(Some(ChannelMsg::ExtendedData { data, .. })) => {
                told.push_str(&String::from_utf8_lossy(&data));
            }
            Ok(Some(ChannelMsg::Failure)) => refused = true,
            Ok(Some(ChannelMsg::Close)) | Ok(None) | Err(_) => break,
            Ok(Some(_)) => {}
        }
    }
    assert!(refused, "the second shell was not refused");
    assert!(told.contains("上限"), "{told}");
    assert_eq!(bastion.echo.record().opened.len(), 1);

    let _ = bastion.stop.send(());
    bastion.task.await.unwrap();
    bastion.server.stop().await;
}

/// What a command's channel said until it closed: stdout, stderr, status.
struct Finished {
    stdout: String,
    stderr: String,
    exit_status: Option<u32>,
}

/// Reads `channel` until the bastion closes it, failing after 10 s (a
/// command whose end of input never reached it hangs here).
async fn until_closed(channel: &mut russh::Channel<russh::client::Msg>) -> Finished {
    let (mut stdout, mut stderr, mut exit_status) = (Vec::new(), Vec::new(), None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => stdout.extend_from_slice(&data),
            Ok(Some(ChannelMsg::ExtendedData { data, ext: 1 })) => stderr.extend_from_slice(&data),
            Ok(Some(ChannelMsg::ExitStatus {
                exit_status: status,
            })) => exit_status = Some(status),
            Ok(Some(ChannelMsg::Close)) | Ok(None) => break,
            Ok(Some(_)) => {}
            Err(_) => panic!(
                "the command did not end within 10 s; stdout so far {:?}, stderr {:?}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            ),
        }
    }
    Finished {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        exit_status,
    }
}

#[tokio::test]
async fn a_command_without_a_pty_reads_its_input_to_the_end_and_reports_its_exit_status() {
    let bastion = bastion(TerminalOptions::default()).await;
    let user = bastion.server.state.plan().teams[0].way_in.user.clone();
    let (handle, accepted) = connect(bastion.ports[0], &user, PASSWORDS[0]).await;
    assert!(accepted);

    // `ssh host cat <<EOF`: no pty, the input passes byte for byte (no
    // echo, no CR added), the client's EOF ends the command, status 0.
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, "cat").await.unwrap();
    let input = "print('日本語')\nline two\r\nno newline at the end";
    channel.data(input.as_bytes()).await.unwrap();
    channel.eof().await.unwrap();
    let finished = until_closed(&mut channel).await;
    assert_eq!(finished.stdout, input);
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.exit_status, Some(0));
    let opened = bastion.echo.record().opened;
    assert!(!opened[0].tty, "a command without a pty got a TTY");
    assert!(
        !opened[0].env.iter().any(|pair| pair.starts_with("TERM=")),
        "{:?}",
        opened[0].env
    );

    // A failing command's status and its stderr reach the client apart.
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, "no-such-tool --flag").await.unwrap();
    let _ = channel.eof().await;
    let finished = until_closed(&mut channel).await;
    assert_eq!(finished.stdout, "");
    assert!(
        finished.stderr.contains("command not found"),
        "{}",
        finished.stderr
    );
    assert_eq!(finished.exit_status, Some(127));
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, "exit 3").await.unwrap();
    let finished = until_closed(&mut channel).await;
    assert_eq!(finished.exit_status, Some(3));

    // Each command line is on team 1's timeline, and the first one's
    // recording holds what passed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first_terminal = loop {
        let events = bastion
            .server
            .store
            .events(bastion.server.session, EventQuery::default())
            .await
            .unwrap();
        let commands: Vec<_> = events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::TerminalCommand {
                    command, terminal, ..
                } if event.team == Some(1) => Some((command.as_str(), terminal.clone())),
                _ => None,
            })
            .collect();
        let lines: Vec<_> = commands.iter().map(|(command, _)| *command).collect();
        if lines == ["cat", "no-such-tool --flag", "exit 3"] {
            break commands[0].1.clone();
        }
        assert!(Instant::now() < deadline, "commands logged: {lines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let recording = bastion
        .server
        .client
        .get(bastion.server.url(&format!(
            "/api/instructor/terminals/{first_terminal}/recording"
        )))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(recording.contains("line two"), "{recording}");
    // Nothing of them stays running.
    let echo = bastion.echo.clone();
    wait_until("every command ended", || echo.running() == 0).await;

    let _ = bastion.stop.send(());
    bastion.task.await.unwrap();
    bastion.server.stop().await;
}
