//! The portal's web terminal in headless Chromium, against the echo
//! runtime (no Docker): team 1 logs in, types `echo 日本語` into xterm.js
//! key by key and sees it on the screen, the instructor finds the command
//! on team 1's timeline and replays the recording to the same screen, and
//! team 2, holding team 1's terminal id, gets a shell of its own and not
//! team 1's recording. Screenshots land in `target/screenshots/`.
//! Fails (never skips) when Chromium cannot start.

mod support;

#[path = "support/chromium.rs"]
mod chromium;

use std::sync::Arc;

use enshu_backend::terminal::EchoTerminals;
use enshu_server::{ServerOptions, TerminalOptions, TerminalService, XtermAssets};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

const COMMAND: &str = "echo 日本語";

/// Types `text` into the focused terminal as key presses (each character
/// one keyDown with its text, as a keyboard or an IME commit gives it),
/// then Enter.
async fn type_line(devtools: &mut chromium::DevTools, text: &str) {
    for character in text.chars() {
        let key = character.to_string();
        devtools
            .call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyDown", "key": key, "text": key, "unmodifiedText": key}),
            )
            .await;
        devtools
            .call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": key}),
            )
            .await;
    }
    let enter = json!({"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13});
    let mut down = enter.clone();
    down["type"] = json!("keyDown");
    down["text"] = json!("\r");
    devtools.call("Input.dispatchKeyEvent", down).await;
    let mut up = enter;
    up["type"] = json!("keyUp");
    devtools.call("Input.dispatchKeyEvent", up).await;
}

/// What the terminal's screen holds as text.
async fn screen(devtools: &mut chromium::DevTools) -> String {
    devtools
        .evaluate("window.enshuTerminalText ? window.enshuTerminalText() : ''")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The HTTP status of a same-origin GET from the page (the browser's own
/// cookie, nothing in the URL).
async fn fetch_status(devtools: &mut chromium::DevTools, path: &str) -> Value {
    let result = devtools
        .call(
            "Runtime.evaluate",
            json!({
                "expression": format!("fetch({path:?}, {{credentials: 'same-origin'}}).then((response) => response.status)"),
                "awaitPromise": true,
                "returnByValue": true,
            }),
        )
        .await;
    result["result"]["value"].clone()
}

#[tokio::test]
async fn a_team_types_japanese_in_the_browser_terminal_and_the_instructor_sees_and_replays_it() {
    let echo = EchoTerminals::default();
    let runtime = echo.clone();
    let server =
        TestServer::start_configured(2, ServerOptions::default(), move |state, directory| {
            state.with_terminals(TerminalService {
                backend: Arc::new(runtime),
                recordings: directory.join("terminals"),
                options: TerminalOptions::default(),
                assets: XtermAssets::from_debian().expect("node-xterm is installed (make deps)"),
            })
        })
        .await;
    let mut browser = chromium::Browser::start().await;

    // Team 1 types into its terminal and sees what it typed, Japanese too.
    browser
        .log_in(&server.base_url, &team_token(1), "ja", "/team/terminal")
        .await;
    let devtools = &mut browser.devtools;
    devtools.set_width(1200, 800).await;
    devtools.open(&server.url("/team/terminal")).await;
    devtools
        .wait_for(
            "document.getElementById('terminal').dataset.state === 'attached' && window.enshuTerminalText().includes('$')",
            "team 1's terminal to attach and show its prompt",
        )
        .await;
    devtools
        .evaluate("document.querySelector('.xterm-helper-textarea').focus(); true")
        .await;
    type_line(devtools, COMMAND).await;
    devtools
        .wait_for(
            &format!("window.enshuTerminalText().includes({COMMAND:?}) && (window.enshuTerminalText().match(/\\$/g) || []).length >= 2"),
            "the typed line and the next prompt on team 1's screen",
        )
        .await;
    let shown = screen(devtools).await;
    assert!(shown.contains("日本語"), "{shown}");
    let terminal_id = devtools
        .evaluate("document.getElementById('terminal').dataset.terminal")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let screenshot = devtools.screenshot("terminal-team1-ja").await;
    eprintln!("screenshot: {}", screenshot.display());
    devtools.assert_no_csp_violations("team 1's terminal").await;
    // What the runtime was sent is what was typed.
    let opened = echo.record().opened;
    assert_eq!(opened.len(), 1);
    assert!(opened[0].tty);

    // Team 2 holds team 1's terminal id (as if copied): it gets a shell of
    // its own, never team 1's screen, and not team 1's recording.
    browser
        .log_in(&server.base_url, &team_token(2), "ja", "/team")
        .await;
    let devtools = &mut browser.devtools;
    devtools
        .evaluate(&format!(
            "sessionStorage.setItem('enshu-terminal', {terminal_id:?}); true"
        ))
        .await;
    devtools.open(&server.url("/team/terminal")).await;
    devtools
        .wait_for(
            "document.getElementById('terminal').dataset.state === 'attached' && window.enshuTerminalText().includes('$')",
            "team 2's terminal to attach",
        )
        .await;
    let other = devtools
        .evaluate("document.getElementById('terminal').dataset.terminal")
        .await;
    assert_ne!(
        other,
        json!(terminal_id),
        "team 2 attached to team 1's terminal"
    );
    let shown = screen(devtools).await;
    assert!(
        !shown.contains("日本語"),
        "team 2 sees team 1's screen: {shown}"
    );
    assert_eq!(echo.record().opened.len(), 2);
    assert_eq!(
        echo.record().opened[1].container,
        server.state.plan().teams[1].way_in.container
    );
    let team_recording = format!("/api/team/terminals/{terminal_id}/recording");
    assert_eq!(fetch_status(devtools, &team_recording).await, json!(404));
    let instructor_recording = format!("/api/instructor/terminals/{terminal_id}/recording");
    assert_eq!(
        fetch_status(devtools, &instructor_recording).await,
        json!(403)
    );

    // The instructor finds the command on team 1's timeline…
    browser
        .log_in(&server.base_url, INSTRUCTOR_TOKEN, "ja", "/teams/1")
        .await;
    let devtools = &mut browser.devtools;
    devtools.open(&server.url("/teams/1")).await;
    devtools
        .wait_for(
            &format!("document.body.innerText.includes({COMMAND:?})"),
            "the command on team 1's timeline",
        )
        .await;
    devtools.screenshot("terminal-timeline-ja").await;
    devtools.open(&server.url("/teams/2")).await;
    let team_2_page = devtools.evaluate("document.body.innerText").await;
    assert!(
        !team_2_page.as_str().unwrap().contains(COMMAND),
        "team 1's command on team 2's page"
    );

    // …and replays the recording to the same screen.
    devtools
        .open(&server.url(&format!("/terminals/{terminal_id}/replay")))
        .await;
    devtools
        .wait_for(
            "Number(document.getElementById('terminal').dataset.events || 0) > 0 && !!window.enshuReplayTo",
            "the recording to load",
        )
        .await;
    devtools.evaluate("window.enshuReplayTo(1e9); true").await;
    devtools
        .wait_for(
            &format!("window.enshuTerminalText().includes({COMMAND:?})"),
            "the replayed screen to show the command",
        )
        .await;
    devtools.screenshot("terminal-replay-ja").await;
    devtools
        .assert_no_csp_violations("the replay of team 1's terminal")
        .await;

    browser.stop().await;
    server.stop().await;
}
