//! The portal's web terminal on a real range: `enshu serve` opens a shell
//! with a TTY in team 1's way-in host (tests/fixtures/terminal.yaml), what
//! is typed comes back (Japanese included) with a measured echo latency,
//! the window size reaches the TTY, a dropped client reattaches the same
//! shell, the recording and the command line are kept outside the range,
//! and once the client is gone for good no process of the terminal is
//! left in the container.
//!
//! Needs Docker, root and the range images; fails without them.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use support::{Session, docker, enshu, fixture, state_dir};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn connect(port: u16, fingerprint: &str, token: &str, query: &str) -> Socket {
    let config = enshu_server::pinned_client_config(fingerprint);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let mut request = format!("wss://127.0.0.1:{port}/terminal/socket?{query}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::client_async(request, tls)
        .await
        .expect("the terminal's socket opens")
        .0
}

async fn hello(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("the server answers within 20 s")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// Output until `wanted` appears in what was shown since `shown.len()` at
/// the call; everything shown.
async fn read_until(socket: &mut Socket, shown: &mut Vec<u8>, wanted: &str) {
    let from = shown.len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&shown[from..]).contains(wanted) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => shown.extend_from_slice(&bytes),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "waiting for {wanted:?}: {other:?}; shown: {:?}",
                String::from_utf8_lossy(&shown[from..])
            ),
        }
    }
}

async fn type_keys(socket: &mut Socket, keys: &str) {
    socket
        .send(Message::Binary(keys.as_bytes().to_vec().into()))
        .await
        .unwrap();
}

/// Processes of the container as `user args`, one a line.
fn processes(container: &str) -> String {
    docker(&["exec", container, "ps", "-eo", "user:16,sid,args"])
}

#[test]
fn a_team_types_into_a_shell_on_its_way_in_and_leaves_nothing_running_when_gone() {
    let session = Session::new("term");
    let name = session.0.as_str();
    let _ = std::fs::remove_file(format!("{}/sessions/{name}.db", state_dir()));
    let _ = std::fs::remove_dir_all(format!("{}/sessions/{name}.terminals", state_dir()));
    let up = enshu(&[
        "up",
        &fixture("terminal"),
        "--teams",
        "1",
        "--session",
        name,
        "--pool",
        "10.204.0.0/14",
    ]);
    assert!(up.status.success(), "up failed");
    let port = 45_000 + (std::process::id() % 2_000) as u16 * 2;
    let server = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(["serve", "--session", name])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--access-bind", "127.0.0.1"])
        .args(["--access-base-port", &(port + 1).to_string()])
        .args(["--terminal-reattach-grace", "3"])
        .env("ENSHU_STATE_DIR", state_dir())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "enshu serve did not listen");
        std::thread::sleep(Duration::from_millis(200));
    }
    let credentials = enshu(&["credentials", "--session", name, "--output", "json"]);
    let credentials: Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let token = credentials["teams"][0]["portal_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let fingerprint =
        std::fs::read_to_string(format!("{}/sessions/{name}.fingerprint", state_dir())).unwrap();
    let analyst = session.container("analyst");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime.block_on(async {
        let mut socket = connect(port, &fingerprint, &token, "columns=100&rows=30").await;
        let attached = hello(&mut socket).await;
        let id = attached["attached"]["terminal"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(attached["attached"]["host"], "analyst");
        let mut shown = Vec::new();
        read_until(&mut socket, &mut shown, "$ ").await;

        // Keystroke echo, one key at a time, as a trainee types.
        let mut latencies = Vec::new();
        for key in "echo 日本語テスト".chars() {
            let started = Instant::now();
            type_keys(&mut socket, &key.to_string()).await;
            read_until(&mut socket, &mut shown, &key.to_string()).await;
            latencies.push(started.elapsed());
        }
        type_keys(&mut socket, "\r").await;
        // The command's own output (bash wraps it in bracketed-paste switches).
        read_until(&mut socket, &mut shown, "日本語テスト\r\n").await;
        latencies.sort();
        let median = latencies[latencies.len() / 2];
        let worst = latencies[latencies.len() - 1];
        eprintln!(
            "keystroke echo through the web terminal: median {:.2} ms, max {:.2} ms over {} keys",
            median.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
            latencies.len()
        );
        assert!(worst < Duration::from_millis(500), "echo took {worst:?}");

        // The window size reaches the TTY.
        socket
            .send(Message::Text(
                r#"{"resize": {"columns": 123, "rows": 45}}"#.into(),
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        type_keys(&mut socket, "stty size\r").await;
        read_until(&mut socket, &mut shown, "45 123").await;

        // Jobs of the shell, one in the background.
        type_keys(&mut socket, "sleep 1001 &\r").await;
        type_keys(&mut socket, "sleep 1002\r").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let running = processes(&analyst);
        assert!(running.contains("sleep 1001"), "{running}");
        assert!(running.contains("sleep 1002"), "{running}");

        // The connection drops; the client comes back to the same shell.
        drop(socket);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut again = connect(port, &fingerprint, &token, &format!("terminal={id}")).await;
        let attached = hello(&mut again).await;
        assert_eq!(attached["attached"]["terminal"], id.as_str());
        assert_eq!(attached["attached"]["reattached"], true);
        let mut repainted = Vec::new();
        read_until(&mut again, &mut repainted, "日本語テスト").await;
        assert!(processes(&analyst).contains("sleep 1002"));

        // Gone for good: after the grace period nothing of it is left.
        drop(again);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let running = processes(&analyst);
            let left: Vec<&str> = running
                .lines()
                .filter(|line| line.contains("sleep 100") || line.contains("bash -l"))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "left in the container 20 s after the client went: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    eprintln!("the terminal's part took {:?}", started.elapsed());

    // Recorded outside the range, the command on the team's timeline.
    let recordings = format!("{}/sessions/{name}.terminals/team-01", state_dir());
    let files: Vec<_> = std::fs::read_dir(&recordings)
        .unwrap_or_else(|error| panic!("{recordings}: {error}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // Its last line is written once the shell's session is gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut recording = std::fs::read_to_string(&files[0]).unwrap();
    while !recording.contains(r#""m","ended: abandoned""#) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        recording = std::fs::read_to_string(&files[0]).unwrap();
    }
    let header: Value = serde_json::from_str(recording.lines().next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert!(recording.contains("日本語テスト"));
    assert!(
        recording.contains(r#""m","ended: abandoned""#),
        "{recording}"
    );
    let export = enshu(&["export", "--session", name]);
    let export: Value = serde_json::from_slice(&export.stdout).unwrap();
    let commands: Vec<&str> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"]["kind"] == "terminal_command")
        .map(|event| event["kind"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "echo 日本語テスト",
            "stty size",
            "sleep 1001 &",
            "sleep 1002"
        ]
    );
}
