//! The scoreboard in a real browser: headless Chromium, driven over the
//! DevTools protocol with a tiny client. Logs in as the instructor, has
//! team 1 answer through the API, and checks that the points change on the
//! open page without a reload. Fails (never skips) when Chromium cannot
//! start: install it with `apt-get install chromium`.

mod support;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use enshu_store::EventKind;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct DevTools {
    socket: Socket,
    next_id: u64,
    session_id: Option<String>,
}

impl DevTools {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session_id) = &self.session_id {
            message["sessionId"] = json!(session_id);
        }
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("devtools answers")
                .unwrap()
                .unwrap();
            if let Message::Text(text) = frame {
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["id"] == json!(id) {
                    assert!(reply.get("error").is_none(), "{method}: {reply}");
                    return reply["result"].clone();
                }
            }
        }
    }

    async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    async fn wait_for(&mut self, expression: &str, what: &str) {
        for _ in 0..100 {
            if self.evaluate(expression).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let html = self
            .evaluate("document.documentElement.outerHTML.slice(0, 3000)")
            .await;
        panic!("timed out waiting for {what}; page: {html}");
    }
}

fn chromium_binary() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if std::process::Command::new("which")
            .arg(candidate)
            .output()
            .is_ok_and(|output| output.status.success())
        {
            return candidate.to_owned();
        }
    }
    panic!(
        "chromium is not installed: run `apt-get install -y chromium` (this test fails rather than skips)"
    );
}

#[tokio::test]
async fn scoreboard_updates_live_in_a_browser() {
    let server = TestServer::start().await;
    let store = &server.store;
    server.start_clock().await;
    server.fire_beacon().await;
    store
        .append(
            server.session,
            Some(2),
            EventKind::InstructorNote {
                text: "team 2 is looking at the proxy".into(),
            },
            "instructor:sato",
        )
        .await
        .unwrap();

    let profile = std::env::temp_dir().join(format!("enshu-chromium-{}", std::process::id()));
    let mut chromium = tokio::process::Command::new(chromium_binary())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--ignore-certificate-errors",
            "--remote-debugging-port=0",
            "--window-size=1280,900",
            "--lang=en-US",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting chromium");
    let mut stderr = BufReader::new(chromium.stderr.take().unwrap()).lines();
    let browser_url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("chromium exited without a DevTools endpoint");
    })
    .await
    .expect("chromium starts within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

    let (socket, _) = tokio_tungstenite::connect_async(&browser_url)
        .await
        .expect("connecting to devtools");
    let mut devtools = DevTools {
        socket,
        next_id: 0,
        session_id: None,
    };
    let target = devtools
        .call("Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let attached = devtools
        .call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )
        .await;
    devtools.session_id = Some(attached["sessionId"].as_str().unwrap().to_owned());
    devtools.call("Page.enable", json!({})).await;
    devtools
        .call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;

    devtools
        .call("Page.navigate", json!({"url": server.url("/login")}))
        .await;
    devtools
        .wait_for(
            "document.readyState === 'complete' && !!document.querySelector('input[name=token]')",
            "the login form",
        )
        .await;
    devtools
        .evaluate(&format!("document.querySelector('input[name=token]').value = '{INSTRUCTOR_TOKEN}'; document.querySelector('form[action=\"/login\"]').submit(); true"))
        .await;
    devtools
        .wait_for(
            "location.pathname === '/' && !!document.getElementById('team-points-1')",
            "the scoreboard",
        )
        .await;
    devtools
        .wait_for(
            "document.getElementById('live-status').classList.contains('connected')",
            "the live connection",
        )
        .await;
    assert_eq!(
        devtools
            .evaluate("document.getElementById('team-points-1').textContent")
            .await,
        json!("0")
    );
    devtools
        .evaluate("window.__enshuNoReload = 'still here'; true")
        .await;

    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .json(&json!({"objective": "find-host", "answer": "pc01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    devtools
        .wait_for(
            "document.getElementById('team-points-1').textContent === '100'",
            "team 1's points to change live",
        )
        .await;
    assert_eq!(
        devtools.evaluate("window.__enshuNoReload").await,
        json!("still here"),
        "the page was reloaded"
    );
    assert!(
        devtools
            .evaluate("Number(document.body.dataset.updates)")
            .await
            .as_u64()
            .unwrap()
            >= 1
    );

    let screenshot = devtools
        .call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        )
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(screenshot["data"].as_str().unwrap())
        .unwrap();
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("scoreboard.png"), png).unwrap();

    let _ = chromium.kill().await;
    let _ = std::fs::remove_dir_all(&profile);
    server.stop().await;
}
