//! Headless Chromium driven over the DevTools protocol with a tiny client,
//! for the browser tests. Fails (never skips) when Chromium cannot start:
//! install it with `apt-get install chromium`.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Browser {
    process: tokio::process::Child,
    profile: std::path::PathBuf,
    pub devtools: DevTools,
}

pub struct DevTools {
    socket: Socket,
    next_id: u64,
    session_id: Option<String>,
}

impl DevTools {
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
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

    pub async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    pub async fn wait_for(&mut self, expression: &str, what: &str) {
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

    /// Navigates and waits until the page has loaded.
    pub async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.wait_for("document.readyState === 'complete'", url)
            .await;
    }

    pub async fn set_width(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// A full-page PNG at `target/screenshots/{name}.png`.
    pub async fn screenshot(&mut self, name: &str) -> std::path::PathBuf {
        let screenshot = self
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
        let path = directory.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// Run in every page before its own scripts: each refusal of the page's
/// CSP (an inline style or script a library adds, a foreign origin) is
/// kept in `window.enshuCspViolations`.
const RECORD_CSP_VIOLATIONS: &str = "window.enshuCspViolations = []; \
document.addEventListener('securitypolicyviolation', (event) => \
window.enshuCspViolations.push(event.effectiveDirective + ' refused ' + \
(event.blockedURI || 'inline') + ' from ' + (event.sourceFile || '?') + ':' + event.lineNumber));";

impl DevTools {
    /// Fails naming what the open page's CSP refused since it loaded: a
    /// refused style leaves text unstyled (xterm.js 5's DOM renderer
    /// painted dark grey on black), a refused script does nothing.
    pub async fn assert_no_csp_violations(&mut self, what: &str) {
        let refused = self.evaluate("window.enshuCspViolations").await;
        assert!(
            refused.is_array(),
            "{what}: the CSP recorder did not run in the page ({refused})"
        );
        assert_eq!(
            refused,
            json!([]),
            "{what}: the page's CSP refused something"
        );
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

impl Browser {
    pub async fn start() -> Browser {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let profile = std::env::temp_dir().join(format!(
            "enshu-chromium-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut process = tokio::process::Command::new(chromium_binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--ignore-certificate-errors",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
                "--lang=en-US",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting chromium");
        let mut stderr = BufReader::new(process.stderr.take().unwrap()).lines();
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
        devtools.call("Network.enable", json!({})).await;
        // Every page records what the CSP refused (see `csp_violations`).
        devtools
            .call(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({"source": RECORD_CSP_VIOLATIONS}),
            )
            .await;
        Browser {
            process,
            profile,
            devtools,
        }
    }

    /// Logs in with `token` through the form, picks the language and
    /// opens `path`.
    pub async fn log_in(&mut self, base_url: &str, token: &str, lang: &str, path: &str) {
        self.devtools
            .call("Network.clearBrowserCookies", json!({}))
            .await;
        self.devtools.open(&format!("{base_url}/login")).await;
        self.devtools
            .wait_for(
                "!!document.querySelector('input[name=token]')",
                "the login form",
            )
            .await;
        self.devtools
            .evaluate(&format!("document.querySelector('input[name=token]').value = '{token}'; document.querySelector('form[action=\"/login\"]').submit(); true"))
            .await;
        self.devtools
            .wait_for(
                "location.pathname !== '/login' && document.readyState === 'complete'",
                "the landing page",
            )
            .await;
        self.devtools
            .open(&format!("{base_url}/lang/{lang}?back={path}"))
            .await;
    }

    pub async fn stop(mut self) {
        let _ = self.process.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
