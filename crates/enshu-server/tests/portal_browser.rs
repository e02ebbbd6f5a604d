//! The portal and the instructor pages in headless Chromium, at 1400 px and
//! 390 px, in Japanese and English: nothing scrolls sideways, no English
//! in the Japanese pages as rendered, the clock and the countdowns tick,
//! the team page updates without a reload.
//! Screenshots land in `target/screenshots/` for a person to look at.
//! Fails (never skips) when Chromium cannot start.

mod support;

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/page_checks.rs"]
mod page_checks;

use std::time::Duration;

use enshu_store::{ClockAction, EventKind, NewEvent};
use page_checks::{assert_fits, assert_no_english};
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

/// The phase comparison chart the scoreboard shows at this width: every
/// text drawn at 12 CSS px or more (its font size times the drawing's
/// scale), at least 11 px high, inside the viewport, none overlapping
/// another. Returns the smallest rendered font size.
async fn assert_comparison_readable(devtools: &mut chromium::DevTools, what: &str) -> f64 {
    let measured = devtools
        .evaluate(
            r#"(() => {
  const svg = [...document.querySelectorAll('#comparison svg')].find(chart => getComputedStyle(chart).display !== 'none');
  if (!svg) return null;
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const texts = [...svg.querySelectorAll('text')].map(text => {
    const box = text.getBoundingClientRect();
    return {text: text.textContent, size: parseFloat(getComputedStyle(text).fontSize) * scale,
            left: box.left, right: box.right, top: box.top, bottom: box.bottom, height: box.height};
  });
  return {chart: svg.getAttribute('class'), scale, viewport: window.innerWidth, texts};
})()"#,
        )
        .await;
    assert!(measured.is_object(), "{what}: no comparison chart shows");
    let viewport = measured["viewport"].as_f64().unwrap();
    let texts = measured["texts"].as_array().unwrap();
    assert!(
        texts.len() >= 8,
        "{what}: {} texts in the chart",
        texts.len()
    );
    let number = |text: &serde_json::Value, key: &str| text[key].as_f64().unwrap();
    let (mut smallest, mut lowest) = (f64::MAX, f64::MAX);
    for text in texts {
        let (size, height) = (number(text, "size"), number(text, "height"));
        smallest = smallest.min(size);
        lowest = lowest.min(height);
        assert!(
            size >= 12.0 && height >= 11.0,
            "{what}: {} drawn at {size:.1} px ({height:.1} px high) in {}",
            text["text"],
            measured["chart"]
        );
        assert!(
            number(text, "left") >= 0.0 && number(text, "right") <= viewport,
            "{what}: {} leaves the screen",
            text["text"]
        );
    }
    for (index, first) in texts.iter().enumerate() {
        for second in &texts[index + 1..] {
            let across = number(first, "right").min(number(second, "right"))
                - number(first, "left").max(number(second, "left"));
            let down = number(first, "bottom").min(number(second, "bottom"))
                - number(first, "top").max(number(second, "top"));
            assert!(
                across <= 0.5 || down <= 0.5,
                "{what}: {} and {} overlap",
                first["text"],
                second["text"]
            );
        }
    }
    eprintln!(
        "{what}: {} at scale {:.2}, {} texts, smallest {smallest:.1} px ({lowest:.1} px high)",
        measured["chart"],
        measured["scale"].as_f64().unwrap(),
        texts.len()
    );
    smallest
}

#[tokio::test]
async fn portal_and_instructor_pages_read_well_at_both_widths_in_both_languages() {
    let server = TestServer::start().await;
    under_way(&server).await;
    // Team 2 found the infected PC: the phase comparison draws a bar.
    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(2))
        .json(&json!({"objective": "find-host", "answer": "office/pc01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
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
            devtools
                .assert_no_csp_violations(&format!("/team in {lang}"))
                .await;
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
                devtools
                    .assert_no_csp_violations(&format!("{path} in {lang}"))
                    .await;
                if width == 390 {
                    assert_fits(devtools, &format!("{path} in {lang}")).await;
                }
                if path == "/" {
                    assert_comparison_readable(
                        devtools,
                        &format!("the phase comparison in {lang} at {width} px"),
                    )
                    .await;
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
            devtools
                .assert_no_csp_violations(&format!("/teams/1/after-action in {lang}"))
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
