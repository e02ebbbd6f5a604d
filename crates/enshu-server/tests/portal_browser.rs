//! The portal and the instructor pages in headless Chromium, at 1400 px and
//! 390 px, in Japanese and English: nothing scrolls sideways, the clock
//! and the countdowns tick, the team page updates without a reload.
//! Screenshots land in `target/screenshots/` for a person to look at.
//! Fails (never skips) when Chromium cannot start.

mod support;

#[path = "support/chromium.rs"]
mod chromium;

use std::time::Duration;

use enshu_store::{ClockAction, EventKind, NewEvent};
use serde_json::json;
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

const MINUTE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Started 5 minutes ago; the beacon, the defacement and the SOC's mail
/// have fired, so the portal has open objectives with running deadlines.
async fn under_way(server: &TestServer) {
    let start = now_ms() - 5 * MINUTE_MS;
    let event = |kind: EventKind, at_ms: i64, actor: &str| NewEvent {
        session: server.session,
        team: None,
        kind,
        actor: actor.to_owned(),
        at_ms: Some(at_ms),
        exercise_ms: None,
    };
    let clock = EventKind::ClockChanged {
        action: ClockAction::Start,
        team: None,
        speed: None,
    };
    server
        .store
        .append_event(event(clock, start, "instructor"))
        .await
        .unwrap();
    for (minute, inject, target) in [
        (1, "beacon", "office/pc01"),
        (2, "deface", "dmz/www"),
        (3, "soc-alert", "office"),
    ] {
        let fired = EventKind::InjectFired {
            inject: inject.into(),
            target: target.into(),
            ground_truth: Box::default(),
        };
        server
            .store
            .append_event(event(fired, start + minute * MINUTE_MS, "injector"))
            .await
            .unwrap();
    }
    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .json(&json!({"objective": "find-c2", "answer": "192.0.2.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// No sideways scrolling: the document is no wider than the viewport.
async fn assert_fits(devtools: &mut chromium::DevTools, what: &str) {
    let widths = devtools
        .evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (scroll, viewport) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        scroll <= viewport,
        "{what}: scrolls sideways ({scroll} px wide in a {viewport} px viewport)"
    );
}

#[tokio::test]
async fn portal_and_instructor_pages_read_well_at_both_widths_in_both_languages() {
    let server = TestServer::start().await;
    under_way(&server).await;
    let mut browser = chromium::Browser::start().await;
    for lang in ["ja", "en"] {
        browser
            .log_in(&server.base_url, &team_token(1), lang, "/team")
            .await;
        for width in [1400, 390] {
            let devtools = &mut browser.devtools;
            devtools.set_width(width, 900).await;
            devtools.open(&server.url("/team")).await;
            devtools
                .wait_for(
                    "!!document.getElementById('clock-wall') && Number(document.body.dataset.ticks || 0) >= 1",
                    "the clock to tick",
                )
                .await;
            let before = devtools
                .evaluate("[document.getElementById('clock-wall').textContent, document.querySelector('.countdown').textContent]")
                .await;
            tokio::time::sleep(Duration::from_millis(2200)).await;
            let after = devtools
                .evaluate("[document.getElementById('clock-wall').textContent, document.querySelector('.countdown').textContent]")
                .await;
            assert_ne!(before[0], after[0], "the wall clock ticks");
            assert_ne!(before[1], after[1], "the countdown ticks");
            if width == 390 {
                assert_fits(devtools, &format!("/team in {lang}")).await;
            }
            devtools.screenshot(&format!("portal-{lang}-{width}")).await;
        }
        browser
            .log_in(&server.base_url, INSTRUCTOR_TOKEN, lang, "/")
            .await;
        for width in [1400, 390] {
            let devtools = &mut browser.devtools;
            devtools.set_width(width, 900).await;
            for (path, name) in [
                ("/", "scoreboard"),
                ("/teams/1", "team-page"),
                ("/teams/1/after-action", "after-action"),
            ] {
                devtools.open(&server.url(path)).await;
                if width == 390 && path != "/" {
                    assert_fits(devtools, &format!("{path} in {lang}")).await;
                }
                devtools.screenshot(&format!("{name}-{lang}-{width}")).await;
            }
        }
    }
    // The instructor's team page updates without a reload.
    let devtools = &mut browser.devtools;
    devtools.open(&server.url("/teams/1")).await;
    devtools
        .evaluate("window.__enshuNoReload = 'still here'; true")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hint = server
        .client
        .post(server.url("/api/team/hints"))
        .bearer_auth(team_token(1))
        .json(&json!({"objective": "find-host", "hint_index": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(hint.status(), 200);
    devtools
        .wait_for(
            "Number(document.body.dataset.updates || 0) >= 1 && document.getElementById('team-page-live').textContent.includes('Took a hint')",
            "the team page to show the hint live",
        )
        .await;
    assert_eq!(
        devtools.evaluate("window.__enshuNoReload").await,
        json!("still here"),
        "the page was reloaded"
    );
    browser.stop().await;
    server.stop().await;
}
