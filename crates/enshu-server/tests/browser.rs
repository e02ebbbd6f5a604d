//! The scoreboard in a real browser: headless Chromium, driven over the
//! DevTools protocol with the tests' tiny client (`support/chromium.rs`).
//! Logs in as the instructor, has team 1 answer through the API, and checks
//! that the points change on the open page without a reload. Fails (never
//! skips) when Chromium cannot start: install it with `apt-get install
//! chromium`.

#[path = "support/chromium.rs"]
mod chromium;
mod support;

use enshu_store::EventKind;
use serde_json::json;
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

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

    let mut browser = chromium::Browser::start().await;
    let devtools = &mut browser.devtools;
    devtools.set_width(1280, 900).await;

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

    devtools.screenshot("scoreboard").await;

    browser.stop().await;
    server.stop().await;
}
