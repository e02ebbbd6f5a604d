//! The portal and the instructor pages in headless Chromium, at 1400 px and
//! 390 px, in Japanese and English: nothing scrolls sideways, no English
//! in the Japanese pages as rendered, the clock and the countdowns tick,
//! the team page updates without a reload.
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

/// No English in a Japanese page as Chromium renders it (after app.js
/// drew the clock and the countdowns), beyond the scenario author's words.
async fn assert_no_english(devtools: &mut chromium::DevTools, what: &str) {
    let allowed = support::author_words();
    let text = devtools.evaluate("document.body.innerText").await;
    let leaks: Vec<String> = support::ascii_words(text.as_str().unwrap_or_default())
        .into_iter()
        .filter(|word| !allowed.contains(word))
        .collect();
    assert!(leaks.is_empty(), "English in {what}: {leaks:?}");
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
            if lang == "ja" {
                assert_no_english(devtools, &format!("/team at {width} px")).await;
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
                if width == 390 {
                    assert_fits(devtools, &format!("{path} in {lang}")).await;
                }
                if lang == "ja" {
                    assert_no_english(devtools, &format!("{path} at {width} px")).await;
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

/// The number of pages of a PDF Chromium printed: its page tree's `/Count`.
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Count ")
        .filter_map(|(at, marker)| {
            text[at + marker.len()..]
                .split(|character: char| !character.is_ascii_digit())
                .next()
                .and_then(|digits| digits.parse().ok())
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn the_after_action_review_prints_to_pdf_and_reads_well_at_both_widths() {
    use base64::Engine as _;
    let server = TestServer::start().await;
    under_way(&server).await;
    let report = server
        .client
        .post(server.url("/api/team/reports"))
        .bearer_auth(team_token(1))
        .json(&json!({"form": "first-report", "fields": {
            "detected_at": "2026-12-01T10:15", "trigger": "soc_alert", "category": "malware",
            "affected_hosts": ["pc01"], "personal_data": false, "actions": "外部への通信を遮断した"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 201);
    let allowed = support::author_words();
    let mut browser = chromium::Browser::start().await;
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    for lang in ["ja", "en"] {
        browser
            .log_in(&server.base_url, INSTRUCTOR_TOKEN, lang, "/")
            .await;
        for width in [1400, 390] {
            let devtools = &mut browser.devtools;
            devtools.set_width(width, 900).await;
            devtools.open(&server.url("/teams/1/after-action")).await;
            devtools
                .wait_for(
                    "!!document.querySelector('svg.swimlane') && !!document.querySelector('table.aar-inject')",
                    "the review's swimlane and times",
                )
                .await;
            if width == 390 {
                assert_fits(devtools, &format!("/teams/1/after-action in {lang}")).await;
            }
            devtools
                .screenshot(&format!("after-action-review-{lang}-{width}"))
                .await;
        }
        let devtools = &mut browser.devtools;
        if lang == "ja" {
            let text = devtools
                .evaluate("document.querySelector('main').innerText")
                .await;
            let leaks: Vec<String> = support::ascii_words(text.as_str().unwrap())
                .into_iter()
                .filter(|word| !allowed.contains(word))
                .collect();
            assert!(
                leaks.is_empty(),
                "English in the Japanese review: {leaks:?}"
            );
        }
        devtools.set_width(1400, 900).await;
        devtools.open(&server.url("/teams/1/after-action")).await;
        let printed = devtools
            .call(
                "Page.printToPDF",
                json!({"printBackground": true, "preferCSSPageSize": true}),
            )
            .await;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(printed["data"].as_str().expect("a PDF came back"))
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        let pages = pdf_pages(&pdf);
        assert!(pages >= 1, "the PDF has {pages} pages");
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join(format!("after-action-{lang}.pdf")), &pdf).unwrap();
        // In print, the page's chrome is gone: no header, buttons or links to export.
        devtools
            .call("Emulation.setEmulatedMedia", json!({"media": "print"}))
            .await;
        let hidden = devtools
            .evaluate("[...document.querySelectorAll('body > header, #print-button, .no-print')].every(element => getComputedStyle(element).display === 'none')")
            .await;
        assert_eq!(hidden, json!(true), "chrome shows in print ({lang})");
        devtools
            .call("Emulation.setEmulatedMedia", json!({"media": ""}))
            .await;
        eprintln!("after-action {lang}: {} bytes, {pages} page(s)", pdf.len());
    }
    browser.stop().await;
    server.stop().await;
}
