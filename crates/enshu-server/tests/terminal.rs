//! The portal's web terminal against the echo runtime (no Docker): a team
//! types and sees it, the command reaches its timeline and the recording
//! the instructor fetches; a dropped client gets the same shell back and
//! an abandoned one is ended; a team never reaches another team's
//! terminal or recording; an instructor watches read-only; the bounds.
//! `crates/enshu-cli/tests/terminal.rs` runs the same against Docker.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use enshu_backend::terminal::EchoTerminals;
use enshu_server::{ServerOptions, TerminalOptions, TerminalService, XtermAssets};
use enshu_store::{EventKind, EventQuery};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// The test server's certificate is self-signed: accepted as it is.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls_pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls_pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A WebSocket to `path` on the server with `cookie` (or none), and any
/// extra headers; the handshake's error when the server refused.
async fn socket(
    server: &TestServer,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let address = server.base_url.trim_start_matches("https://").to_owned();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let mut request = format!("wss://{address}{path}")
        .into_client_request()
        .unwrap();
    if let Some(cookie) = cookie {
        request.headers_mut().insert(
            "cookie",
            format!("__Host-enshu-session={cookie}").parse().unwrap(),
        );
    }
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(axum_name(name), value.parse().unwrap());
    }
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(socket, _)| socket)
}

fn axum_name(name: &str) -> tokio_tungstenite::tungstenite::http::HeaderName {
    tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap()
}

/// The next JSON text frame (binary frames before it are skipped).
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// Output until it contains `wanted`; all of it.
async fn read_until(socket: &mut Socket, wanted: &str) -> String {
    let mut shown = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&shown).contains(wanted) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => shown.extend_from_slice(&bytes),
            Ok(Some(Ok(_))) => {}
            other => panic!(
                "waiting for {wanted:?}, got {other:?} after {:?}",
                String::from_utf8_lossy(&shown)
            ),
        }
    }
    String::from_utf8_lossy(&shown).into_owned()
}

async fn server_with(options: TerminalOptions) -> (TestServer, EchoTerminals) {
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
    (server, echo)
}

#[tokio::test]
async fn a_team_types_sees_it_and_the_command_reaches_its_timeline_and_the_recording() {
    let (server, echo) = server_with(TerminalOptions::default()).await;
    let (cookie, _) = server.login(&team_token(1)).await;
    let mut terminal = socket(
        &server,
        "/terminal/socket?columns=100&rows=30",
        Some(&cookie),
        &[],
    )
    .await
    .unwrap();
    let hello = next_json(&mut terminal).await;
    let id = hello["attached"]["terminal"].as_str().unwrap().to_owned();
    assert_eq!(hello["attached"]["mode"], "write");
    assert_eq!(hello["attached"]["host"], "analyst");
    read_until(&mut terminal, "$ ").await;

    let started = Instant::now();
    terminal
        .send(Message::Binary(
            "echo 日本語テスト\r".as_bytes().to_vec().into(),
        ))
        .await
        .unwrap();
    let shown = read_until(&mut terminal, "echo 日本語テスト\r\n$ ").await;
    eprintln!("echo round trip through the fake: {:?}", started.elapsed());
    assert!(shown.contains("日本語テスト"));

    // The shell runs where the plan says, as its login user, at the size asked.
    let opened = echo.record().opened;
    let way_in = &server.state.plan().teams[0].way_in;
    assert_eq!(opened[0].container, way_in.container);
    assert_eq!(opened[0].user, way_in.user);
    assert_eq!((opened[0].size.columns, opened[0].size.rows), (100, 30));

    // The command is on team 1's timeline, not team 2's.
    let mut logged = Vec::new();
    for _ in 0..50 {
        logged = server
            .store
            .events(server.session, EventQuery::default())
            .await
            .unwrap()
            .into_iter()
            .filter(|event| matches!(event.kind, EventKind::TerminalCommand { .. }))
            .collect();
        if !logged.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].team, Some(1));
    assert_eq!(
        logged[0].kind,
        EventKind::TerminalCommand {
            host: "analyst".into(),
            terminal: id.clone(),
            command: "echo 日本語テスト".into(),
            edited: false,
        }
    );
    let timeline = |token: String| {
        let client = server.client.clone();
        let url = server.url("/api/team/timeline");
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(timeline(team_token(1)).await.contains("echo 日本語テスト"));
    assert!(!timeline(team_token(2)).await.contains("echo 日本語テスト"));

    // The recording: asciicast v2, the instructor's, and team 1's own only.
    let recording_path = format!("/api/instructor/terminals/{id}/recording");
    let recording = server
        .client
        .get(server.url(&recording_path))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(recording.status(), 200);
    let recording = recording.text().await.unwrap();
    let lines: Vec<Value> = recording
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["version"], 2);
    assert_eq!(lines[0]["width"], 100);
    assert!(
        lines
            .iter()
            .any(|line| line[1] == "i" && line[2] == "echo 日本語テスト\r")
    );
    let shown: String = lines[1..]
        .iter()
        .filter(|line| line[1] == "o")
        .map(|line| line[2].as_str().unwrap())
        .collect();
    assert!(shown.contains("echo 日本語テスト\r\n"), "{shown}");
    for (token, path, status) in [
        (team_token(2), recording_path.clone(), 403),
        (
            team_token(2),
            format!("/api/team/terminals/{id}/recording"),
            404,
        ),
        (
            team_token(1),
            format!("/api/team/terminals/{id}/recording"),
            200,
        ),
    ] {
        let response = server
            .client
            .get(server.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    let listed = |token: String| {
        let client = server.client.clone();
        let url = server.url("/api/team/terminals");
        async move {
            let listing: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            listing["recordings"].as_array().unwrap().len()
        }
    };
    assert_eq!(listed(team_token(1)).await, 1);
    assert_eq!(listed(team_token(2)).await, 0);

    // The shell exits: the client is told, the terminal is gone.
    terminal
        .send(Message::Binary(b"exit\r".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut terminal).await["ended"], "exited");
    assert_eq!(echo.running(), 0);
}

#[tokio::test]
async fn a_dropped_client_gets_the_same_shell_back_and_an_abandoned_one_is_ended() {
    let (server, echo) = server_with(TerminalOptions {
        reattach_grace: Duration::from_millis(400),
        ..TerminalOptions::default()
    })
    .await;
    let (cookie, _) = server.login(&team_token(1)).await;
    let mut first = socket(&server, "/terminal/socket", Some(&cookie), &[])
        .await
        .unwrap();
    let id = next_json(&mut first).await["attached"]["terminal"]
        .as_str()
        .unwrap()
        .to_owned();
    first
        .send(Message::Binary(b"before the drop".to_vec().into()))
        .await
        .unwrap();
    read_until(&mut first, "before the drop").await;
    drop(first);

    // Back within the grace period: the same shell, its screen repainted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let path = format!("/terminal/socket?terminal={id}&columns=120&rows=40");
    let mut second = socket(&server, &path, Some(&cookie), &[]).await.unwrap();
    let hello = next_json(&mut second).await;
    assert_eq!(hello["attached"]["terminal"], id.as_str());
    assert_eq!(hello["attached"]["reattached"], true);
    read_until(&mut second, "before the drop").await;
    second
        .send(Message::Binary(b" and after".to_vec().into()))
        .await
        .unwrap();
    read_until(&mut second, " and after").await;
    assert_eq!(echo.record().opened.len(), 1, "no second shell was opened");
    assert!(
        echo.record()
            .resizes
            .iter()
            .any(|size| (size.columns, size.rows) == (120, 40)),
        "the returning client's size was applied"
    );

    // A second socket takes the terminal over; the first is told.
    let mut third = socket(&server, &path, Some(&cookie), &[]).await.unwrap();
    assert_eq!(
        next_json(&mut third).await["attached"]["terminal"],
        id.as_str()
    );
    assert_eq!(next_json(&mut second).await["replaced"], true);
    drop(second);
    drop(third);

    // Gone longer than the grace: the shell is ended.
    let deadline = Instant::now() + Duration::from_secs(5);
    while echo.running() > 0 {
        assert!(
            Instant::now() < deadline,
            "the abandoned shell was not ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut fourth = socket(&server, &path, Some(&cookie), &[]).await.unwrap();
    let hello = next_json(&mut fourth).await;
    assert_ne!(hello["attached"]["terminal"], id.as_str(), "a new shell");
    assert_eq!(hello["attached"]["reattached"], false);
}

#[tokio::test]
async fn a_team_never_reaches_another_teams_terminal_and_an_instructor_watches_read_only() {
    let (server, echo) = server_with(TerminalOptions::default()).await;
    let (team_1, _) = server.login(&team_token(1)).await;
    let (team_2, _) = server.login(&team_token(2)).await;
    let (instructor, _) = server.login(INSTRUCTOR_TOKEN).await;
    let mut own = socket(&server, "/terminal/socket", Some(&team_1), &[])
        .await
        .unwrap();
    let id = next_json(&mut own).await["attached"]["terminal"]
        .as_str()
        .unwrap()
        .to_owned();

    // Team 2 naming team 1's terminal gets a shell of its own, in its own range.
    let path = format!("/terminal/socket?terminal={id}");
    let mut other = socket(&server, &path, Some(&team_2), &[]).await.unwrap();
    let hello = next_json(&mut other).await;
    assert_ne!(hello["attached"]["terminal"], id.as_str());
    assert_eq!(
        echo.record().opened[1].container,
        server.state.plan().teams[1].way_in.container
    );

    // The instructor watches team 1's: sees what it types, types nothing.
    let mut watcher = socket(&server, &path, Some(&instructor), &[])
        .await
        .unwrap();
    let hello = next_json(&mut watcher).await;
    assert_eq!(hello["attached"]["mode"], "watch");
    assert_eq!(hello["attached"]["terminal"], id.as_str());
    watcher
        .send(Message::Binary(b"instructor-typed\r".to_vec().into()))
        .await
        .unwrap();
    own.send(Message::Binary(b"team-typed\r".to_vec().into()))
        .await
        .unwrap();
    let seen = read_until(&mut watcher, "team-typed").await;
    assert!(!seen.contains("instructor-typed"));
    let shown = read_until(&mut own, "team-typed").await;
    assert!(!shown.contains("instructor-typed"));

    // Without a login, or from another site's page: no socket.
    assert!(
        socket(&server, "/terminal/socket", None, &[])
            .await
            .is_err()
    );
    let refused = socket(
        &server,
        "/terminal/socket",
        Some(&team_1),
        &[("origin", "https://evil.example")],
    )
    .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("a cross-site socket was not refused: {other:?}"),
    }
    // An instructor cannot open a shell of their own (only watch).
    let mut nothing = socket(&server, "/terminal/socket", Some(&instructor), &[])
        .await
        .unwrap();
    assert!(next_json(&mut nothing).await["error"].is_string());
}

#[tokio::test]
async fn terminals_are_bounded_per_team_and_end_when_idle() {
    let (server, echo) = server_with(TerminalOptions {
        per_team: 2,
        idle_timeout: Duration::from_millis(1500),
        ..TerminalOptions::default()
    })
    .await;
    let (team_1, _) = server.login(&team_token(1)).await;
    let (team_2, _) = server.login(&team_token(2)).await;
    let mut kept = Vec::new();
    for _ in 0..2 {
        let mut terminal = socket(&server, "/terminal/socket", Some(&team_1), &[])
            .await
            .unwrap();
        assert!(next_json(&mut terminal).await["attached"].is_object());
        kept.push(terminal);
    }
    let mut third = socket(&server, "/terminal/socket", Some(&team_1), &[])
        .await
        .unwrap();
    let refused = next_json(&mut third).await;
    assert!(
        refused["error"].as_str().unwrap().contains('2'),
        "{refused}"
    );
    // Team 2's places are its own.
    let mut other = socket(&server, "/terminal/socket", Some(&team_2), &[])
        .await
        .unwrap();
    assert!(next_json(&mut other).await["attached"].is_object());

    // Nothing typed or shown for the idle bound: each is ended.
    for terminal in &mut kept {
        let ended = next_json(terminal).await;
        assert_eq!(ended["ended"], "idle", "{ended}");
    }
    assert_eq!(next_json(&mut other).await["ended"], "idle");
    assert_eq!(echo.running(), 0);
    assert_eq!(echo.record().ended, 3);
}
