//! The pages a trainee fills in or lands on by mistake, in headless
//! Chromium at 1400 px and 390 px, in Japanese and English: the login
//! form, the first report's form (sent empty, then filled), its receipt,
//! and the error pages of an address that is no page (404) and of a
//! malformed one (400). Each is read as rendered: in the trainee's
//! language, no English in the Japanese ones beyond the scenario
//! author's words, nothing scrolling sideways at 390 px. Screenshots land
//! in `target/screenshots/` (named in `tests/screenshots.txt`).
//! Fails (never skips) when Chromium cannot start.

mod support;

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/page_checks.rs"]
mod page_checks;

use page_checks::{assert_fits, assert_no_english};
use serde_json::{Value, json};
use support::{TestServer, team_token};

/// The words each language's pages must show, from the catalogue.
struct Expected {
    login: &'static str,
    invalid: &'static str,
    required: &'static str,
    received: &'static str,
    what_next: &'static str,
    not_found: &'static str,
    bad_request: &'static str,
    back_to_portal: &'static str,
}

const JAPANESE: Expected = Expected {
    login: "ログイン",
    invalid: "入力内容に誤りがあります",
    required: "入力してください（必須）",
    received: "報告書を受け付けました",
    what_next: "講師が採点します。結果は採点後に目標の表に表示されます。",
    not_found: "ページが見つかりません",
    bad_request: "リクエストを処理できません",
    back_to_portal: "チームのポータルへ戻る",
};

const ENGLISH: Expected = Expected {
    login: "Log in",
    invalid: "Some fields are not valid",
    required: "required",
    received: "Report received",
    what_next: "An instructor grades it; the result appears in the objectives table once graded.",
    not_found: "Page not found",
    bad_request: "The request could not be handled",
    back_to_portal: "Back to your team's portal",
};

/// What every page here is held to, then its screenshot.
async fn check_page(devtools: &mut chromium::DevTools, lang: &str, width: u32, name: &str) {
    let what = format!("{name} in {lang} at {width} px");
    assert_eq!(
        devtools.evaluate("document.documentElement.lang").await,
        json!(lang),
        "{what}: the page's language"
    );
    assert_eq!(
        devtools.evaluate("document.contentType").await,
        json!("text/html"),
        "{what}: a page, not data"
    );
    devtools.assert_no_csp_violations(&what).await;
    if width == 390 {
        assert_fits(devtools, &what).await;
    }
    if lang == "ja" {
        assert_no_english(devtools, &what).await;
    }
    devtools.screenshot(&format!("{name}-{lang}-{width}")).await;
}

async fn text_of(devtools: &mut chromium::DevTools, selector: &str) -> String {
    let text = devtools
        .evaluate(&format!(
            "(document.querySelector({selector:?}) || {{innerText: ''}}).innerText.trim()"
        ))
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

/// Clicks a submit button and waits for the page it leads to.
async fn submit(devtools: &mut chromium::DevTools, button: &str, what: &str) {
    devtools
        .evaluate(&format!(
            "window.__enshuBefore = true; document.querySelector({button:?}).click(); true"
        ))
        .await;
    devtools
        .wait_for(
            "window.__enshuBefore === undefined && document.readyState === 'complete'",
            what,
        )
        .await;
}

/// Fills the first report's fields as a trainee would: a time, a pick in
/// each list, a sentence.
const FILL_FIRST_REPORT: &str = r#"(() => {
  const form = document.querySelector('form.report');
  const set = (name, value) => { form.elements[name].value = value; };
  set('detected_at', '2026-12-01T10:15');
  set('trigger', 'soc_alert');
  set('category', 'malware');
  const hosts = form.elements['affected_hosts'];
  [...hosts.options].find(option => option.value.endsWith('/pc01')).selected = true;
  set('personal_data', 'false');
  set('actions', '外部への通信をファイアウォールで遮断し、端末をネットワークから切り離した');
  set('status', '調査中');
  return form.checkValidity();
})()"#;

#[tokio::test]
async fn the_login_report_and_error_pages_read_well_at_both_widths_in_both_languages() {
    let started = std::time::Instant::now();
    let server = TestServer::start().await;
    server.start_clock().await;
    server.fire_beacon().await;
    let mut browser = chromium::Browser::start().await;
    for (team, lang, expected) in [(1, "ja", &JAPANESE), (2, "en", &ENGLISH)] {
        for width in [1400, 390] {
            let devtools = &mut browser.devtools;
            devtools.set_width(width, 900).await;
            // The login page, in the language picked before logging in.
            devtools
                .call("Network.clearBrowserCookies", json!({}))
                .await;
            devtools
                .open(&server.url(&format!("/lang/{lang}?back=/login")))
                .await;
            assert_eq!(text_of(devtools, "main h1").await, expected.login);
            check_page(devtools, lang, width, "login").await;
            devtools
                .evaluate(&format!(
                    "document.querySelector('input[name=token]').value = '{}'; true",
                    team_token(team)
                ))
                .await;
            submit(devtools, "#login-submit", "the portal after logging in").await;
            assert_eq!(
                devtools.evaluate("location.pathname").await,
                json!("/team"),
                "logging in as team {team} leads to its portal"
            );

            // The first report's form, sent empty: the browser would stop
            // it (every required field says so), so it is sent as a
            // browser without form validation would, and the server's
            // answer is the form again, each problem beside its field.
            devtools.open(&server.url("/team/forms/first-report")).await;
            check_page(devtools, lang, width, "report-form").await;
            let order = devtools
                .evaluate("[...new Set([...document.querySelector('form.report').elements].map(element => element.name).filter(name => name && name !== 'csrf'))]")
                .await;
            assert_eq!(
                devtools
                    .evaluate("document.querySelector('form.report').checkValidity()")
                    .await,
                json!(false),
                "the empty form is stopped in the browser"
            );
            devtools
                .evaluate("window.__enshuBefore = true; document.querySelector('form.report').submit(); true")
                .await;
            devtools
                .wait_for(
                    "window.__enshuBefore === undefined && document.readyState === 'complete'",
                    "the refused form",
                )
                .await;
            assert_eq!(
                text_of(devtools, "section.card > p.error").await,
                expected.invalid
            );
            let located = devtools
                .evaluate("[...document.querySelectorAll('form.report label')].filter(label => label.querySelector('[required]')).map(label => [label.querySelector('[name]').name, (label.querySelector('.error[role=alert]') || {innerText: ''}).innerText])")
                .await;
            let located = located.as_array().unwrap();
            assert!(located.len() >= 6, "{located:?}");
            for field in located {
                let problem = field[1].as_str().unwrap();
                assert!(
                    problem.contains(expected.required) || problem.contains("はい"),
                    "{lang}: field {} says {problem:?} beside it",
                    field[0]
                );
            }
            check_page(devtools, lang, width, "report-form-errors").await;

            // Filled in and sent: the receipt lists the fields in the
            // form's order and says what comes next.
            assert_eq!(
                devtools.evaluate(FILL_FIRST_REPORT).await,
                json!(true),
                "the filled form passes the browser's checks"
            );
            submit(devtools, "form.report button[type=submit]", "the receipt").await;
            let path = devtools.evaluate("location.pathname").await;
            assert!(
                path.as_str().unwrap().starts_with("/team/reports/"),
                "the receipt's address: {path}"
            );
            assert_eq!(text_of(devtools, "main h1").await, expected.received);
            let fields = devtools
                .evaluate("[...document.querySelectorAll('table.report tr[data-field]')].map(row => row.dataset.field)")
                .await;
            assert_eq!(fields, order, "the receipt's fields in the form's order");
            // The quickstart has one report form: what comes next is
            // the grading.
            let next = text_of(devtools, "#what-next").await;
            assert_eq!(next, expected.what_next, "what the receipt says comes next");
            let values: Value = devtools
                .evaluate("Object.fromEntries([...document.querySelectorAll('table.report tr[data-field]')].map(row => [row.dataset.field, row.querySelector('td').innerText.trim()]))")
                .await;
            assert_eq!(values["status"], json!("調査中"), "{values}");
            check_page(devtools, lang, width, "report-receipt").await;

            // An address that is no page, and one that is malformed: a
            // page in the trainee's language with the way back.
            for (path, title, name, status) in [
                ("/team/no-such-page", expected.not_found, "error-404", 404),
                (
                    "/team/reports/not-a-number",
                    expected.bad_request,
                    "error-400",
                    400,
                ),
            ] {
                devtools.open(&server.url(path)).await;
                assert_eq!(text_of(devtools, "main h1").await, title, "{path}");
                assert!(
                    text_of(devtools, ".error-code")
                        .await
                        .ends_with(&status.to_string()),
                    "{path}: its status shows"
                );
                assert_eq!(
                    text_of(devtools, "#error-back").await,
                    expected.back_to_portal
                );
                assert_eq!(
                    devtools
                        .evaluate("document.getElementById('error-back').getAttribute('href')")
                        .await,
                    json!("/team")
                );
                check_page(devtools, lang, width, name).await;
            }
        }
    }
    browser.stop().await;
    server.stop().await;
    eprintln!(
        "forms and error pages: 2 languages x 2 widths in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
