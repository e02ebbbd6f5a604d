//! The pages as a trainee and an instructor read them: no English in the
//! Japanese views (beyond the identifiers the scenario's author wrote),
//! feedback on every answer, the firewall form, the CSV export.

mod support;

use std::collections::BTreeSet;

use enshu_store::{ClockAction, EventKind, NewEvent};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

const MINUTE_MS: i64 = 60_000;

/// An exercise started 30 minutes ago: the beacon fired at 1 min, the
/// defacement at 2, the SOC's mail at 3, so the 20-minute deadlines of the
/// detection objectives have passed. Team 1 answered wrong, reported,
/// took a hint and blocked an address; an instructor wrote a note.
async fn exercise_under_way(server: &TestServer) -> u64 {
    let start = now_ms() - 30 * MINUTE_MS;
    let append = |kind: EventKind, at_ms: i64, actor: &str| NewEvent {
        session: server.session,
        team: None,
        kind,
        actor: actor.to_owned(),
        at_ms: Some(at_ms),
        exercise_ms: None,
    };
    server
        .store
        .append_event(append(
            EventKind::ClockChanged {
                action: ClockAction::Start,
                team: None,
                speed: None,
            },
            start,
            "instructor",
        ))
        .await
        .unwrap();
    for (minute, inject, target) in [
        (1, "beacon", "office/pc01"),
        (2, "deface", "dmz/www"),
        (3, "soc-alert", "office"),
    ] {
        server
            .store
            .append_event(append(
                EventKind::InjectFired {
                    inject: inject.into(),
                    target: target.into(),
                    ground_truth: Box::default(),
                },
                start + minute * MINUTE_MS,
                "injector",
            ))
            .await
            .unwrap();
    }
    let api = |path: &str, body: Value| {
        server
            .client
            .post(server.url(path))
            .bearer_auth(team_token(1))
            .json(&body)
            .send()
    };
    let answer = api(
        "/api/team/answers",
        json!({"objective": "find-c2", "answer": "192.0.2.1"}),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let report = api("/api/team/reports", json!({"form": "first-report", "fields": {
        "detected_at": "2026-12-01T10:15", "trigger": "soc_alert", "category": "unauthorised_access",
        "affected_hosts": ["pc01"], "personal_data": false, "actions": "外部への通信を遮断した"}}))
    .await
    .unwrap();
    assert_eq!(report.status(), 201);
    let seq = report.json::<Value>().await.unwrap()["seq"]
        .as_u64()
        .unwrap();
    let hint = api(
        "/api/team/hints",
        json!({"objective": "find-host", "hint_index": 0}),
    )
    .await
    .unwrap();
    assert_eq!(hint.status(), 200);
    let address = pc01_address(server);
    let block = api(
        "/api/team/firewall",
        json!({"action": "block", "address": address}),
    )
    .await
    .unwrap();
    assert_eq!(block.status(), 200);
    server
        .store
        .append(
            server.session,
            Some(1),
            EventKind::InstructorNote {
                text: "プロキシのログを確認中".into(),
            },
            "instructor:佐藤",
        )
        .await
        .unwrap();
    seq
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn pc01_address(server: &TestServer) -> String {
    let (_, plan, _) = support::quickstart_plan(2);
    let _ = server;
    plan.teams[0]
        .containers
        .iter()
        .find(|container| container.reference == "office/pc01")
        .and_then(|container| container.primary_address())
        .unwrap()
        .to_string()
}

async fn page(server: &TestServer, token: &str, lang: &str, path: &str) -> (u16, String) {
    let response = server
        .client
        .get(server.url(path))
        .bearer_auth(token)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The text a reader sees: tags (and their attributes), scripts and
/// styles removed, a few entities decoded.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        rest = &rest[open..];
        let lower = rest.get(..7).unwrap_or_default().to_ascii_lowercase();
        let skip_to = if lower.starts_with("<script") {
            rest.find("</script>").map(|end| end + 9)
        } else if lower.starts_with("<style") {
            rest.find("</style>").map(|end| end + 8)
        } else {
            rest.find('>').map(|end| end + 1)
        };
        rest = &rest[skip_to.unwrap_or(rest.len())..];
    }
    text.push_str(rest);
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// ASCII words: runs of letters, digits, `_` and `-` with two letters or more.
fn ascii_words(text: &str) -> BTreeSet<String> {
    text.split(|character: char| {
        !(character.is_ascii_alphanumeric() || character == '_' || character == '-')
    })
    .filter(|word| word.chars().filter(char::is_ascii_alphabetic).count() >= 2)
    .map(str::to_owned)
    .collect()
}

/// What the scenario's author wrote that a Japanese page may show as
/// written: host, segment and inject names, and the ASCII words of its
/// Japanese texts (`C2`, `Web`, `LAN`, `IP`).
fn author_words() -> BTreeSet<String> {
    let (scenario, plan, _) = support::quickstart_plan(2);
    let mut words = BTreeSet::new();
    fn japanese_texts(value: &Value, words: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    if key == "ja"
                        && let Value::String(text) = value
                    {
                        words.extend(ascii_words(text));
                    } else {
                        japanese_texts(value, words);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| japanese_texts(item, words)),
            _ => {}
        }
    }
    japanese_texts(&serde_json::to_value(&scenario).unwrap(), &mut words);
    for container in &plan.teams[0].containers {
        if container.reference.contains('/') {
            words.extend(ascii_words(&container.reference));
        }
    }
    for inject in &scenario.injects {
        words.extend(ascii_words(&inject.id));
    }
    // The product's name, the language switch, the export formats, the
    // acronym in an option label, the configured time zone, team names.
    for word in [
        "Enshu", "English", "CSV", "JSON", "SOC", "Asia", "Tokyo", "Team",
    ] {
        words.insert(word.to_owned());
    }
    words
}

fn assert_no_english(path: &str, html: &str, allowed: &BTreeSet<String>) {
    let leaks: Vec<String> = ascii_words(&visible_text(html))
        .into_iter()
        .filter(|word| !allowed.contains(word))
        .collect();
    assert!(
        leaks.is_empty(),
        "English on the Japanese page {path}: {leaks:?}\n{}",
        visible_text(html)
    );
}

#[tokio::test]
async fn japanese_views_show_no_english_beyond_the_scenarios_identifiers() {
    let server = TestServer::start().await;
    let report_seq = exercise_under_way(&server).await;
    let allowed = author_words();
    let team = team_token(1);
    let invalid_report = server
        .client
        .post(server.url("/team/forms/first-report"))
        .bearer_auth(&team)
        .header("accept-language", "ja")
        .form(&[("trigger", "rumour"), ("detected_at", "soon")])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid_report.status(), 422);
    let invalid_report = invalid_report.text().await.unwrap();
    assert!(
        invalid_report.contains("日時の形式が正しくありません"),
        "{invalid_report}"
    );
    // What the trainee typed is shown back as typed.
    let mut with_input = allowed.clone();
    with_input.extend(["rumour".to_owned(), "soon".to_owned()]);
    assert_no_english(
        "POST /team/forms/first-report",
        &invalid_report,
        &with_input,
    );
    let team_paths = [
        "/team".to_owned(),
        "/team?answered=find-c2&correct=0&answer=192.0.2.1".to_owned(),
        "/team/forms/first-report".to_owned(),
        format!("/team/reports/{report_seq}"),
    ];
    for path in &team_paths {
        let (status, html) = page(&server, &team, "ja", path).await;
        assert_eq!(status, 200, "{path}");
        assert_no_english(path, &html, &allowed);
    }
    let (_, portal) = page(&server, &team, "ja", "/team").await;
    for expected in [
        "第一報（受付番号",
        "メッセージ受信: 不審な通信の検知",
        "「C2サーバを特定する」に回答（不正解）",
        "ファイアウォールで",
        "次にやること",
        "自動判定",
        "経過 ",
    ] {
        assert!(portal.contains(expected), "{expected} not on the portal");
    }
    let instructor_paths = [
        "/".to_owned(),
        "/teams/1".to_owned(),
        "/teams/1/after-action".to_owned(),
        format!("/teams/1/reports/{report_seq}"),
    ];
    for path in &instructor_paths {
        let (status, html) = page(&server, INSTRUCTOR_TOKEN, "ja", path).await;
        assert_eq!(status, 200, "{path}");
        assert_no_english(path, &html, &allowed);
    }
    let (_, scoreboard) = page(&server, INSTRUCTOR_TOKEN, "ja", "/").await;
    assert!(
        scoreboard.contains("<summary>期限超過 ")
            && scoreboard.contains(">感染端末を特定する</li>"),
        "missed deadlines fold into one line naming the objectives by title"
    );
    let (_, after_action) = page(&server, INSTRUCTOR_TOKEN, "ja", "/teams/1/after-action").await;
    assert!(
        after_action.contains("不正アクセス"),
        "choice options by their labels"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_answer_keeps_its_text_and_says_so() {
    let server = TestServer::start().await;
    exercise_under_way(&server).await;
    let team = team_token(1);
    let answer = |text: &'static str| {
        server
            .client
            .post(server.url("/team/answers"))
            .bearer_auth(&team)
            .form(&[("objective", "find-c2"), ("answer", text)])
            .send()
    };
    let wrong = answer("198.51.100.7").await.unwrap();
    assert_eq!(wrong.status(), 303);
    let location = wrong.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = page(&server, &team, "ja", &location).await;
    assert!(html.contains("不正解です"), "{html}");
    assert!(
        html.contains(r#"value="198.51.100.7""#),
        "the answer stays in its field"
    );
    let (_, html) = page(&server, &team, "en", &location).await;
    assert!(html.contains("Not correct"));
    let blank = answer("   ").await.unwrap();
    assert_eq!(
        blank.status(),
        303,
        "a blank answer is said in the page, not as JSON"
    );
    let location = blank.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = page(&server, &team, "ja", &location).await;
    assert!(html.contains("回答を入力してください"));
    server.stop().await;
}

#[tokio::test]
async fn the_firewall_form_blocks_an_address_of_the_range_and_refuses_others() {
    let server = TestServer::start().await;
    server.start_clock().await;
    let team = team_token(1);
    let address = pc01_address(&server);
    let change = |action: &'static str, address: String| {
        server
            .client
            .post(server.url("/team/firewall"))
            .bearer_auth(&team)
            .form(&[("action", action.to_owned()), ("address", address)])
            .send()
    };
    let blocked = change("block", address.clone()).await.unwrap();
    assert_eq!(blocked.status(), 303);
    let location = blocked.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = page(&server, &team, "ja", &location).await;
    assert!(
        html.contains(&format!("{address} を遮断するよう登録しました")),
        "{html}"
    );
    assert!(html.contains("現在遮断中"), "the blocked address is listed");
    let events = server
        .store
        .events(server.session, enshu_store::EventQuery::default())
        .await
        .unwrap();
    assert!(events.iter().any(|event| event.team == Some(1)
        && event.kind
            == EventKind::FirewallChanged {
                block: true,
                address: address.clone()
            }));
    for (text, expected_ja, expected_en) in [
        (
            "10.1.10",
            "はIPv4アドレスではありません",
            "is not an IPv4 address",
        ),
        (
            "8.8.8.8",
            "自チームの範囲のアドレスではありません",
            "is not an address of your range",
        ),
    ] {
        let refused = change("block", text.to_owned()).await.unwrap();
        let location = refused.headers()["location"].to_str().unwrap().to_owned();
        let (_, html) = page(&server, &team, "ja", &location).await;
        assert!(html.contains(expected_ja), "{text}: {html}");
        assert!(
            html.contains(&format!(r#"value="{text}""#)),
            "the field keeps {text}"
        );
        let (_, html) = page(&server, &team, "en", &location).await;
        assert!(html.contains(expected_en), "{text}");
    }
    let unblocked = change("unblock", address.clone()).await.unwrap();
    let location = unblocked.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = page(&server, &team, "en", &location).await;
    assert!(html.contains(&format!("{address} is to be unblocked")));
    assert!(!html.contains("Blocked now"), "nothing is blocked any more");
    server.stop().await;
}

#[tokio::test]
async fn the_csv_export_opens_in_excel_and_defuses_formulas() {
    let server = TestServer::start().await;
    server.start_clock().await;
    let csv = server
        .client
        .get(server.url("/api/instructor/export.csv"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF", "a UTF-8 byte order mark first");
    assert!(
        std::str::from_utf8(&csv[3..])
            .unwrap()
            .starts_with("team,team_name,")
    );
    server.stop().await;
}

#[tokio::test]
async fn wall_clock_times_are_in_the_sessions_time_zone() {
    let server = TestServer::start().await;
    let seq = exercise_under_way(&server).await;
    let (_, html) = page(
        &server,
        &team_token(1),
        "ja",
        &format!("/team/reports/{seq}"),
    )
    .await;
    assert!(html.contains("(Asia/Tokyo)"), "{html}");
    assert!(!html.contains("Z<"), "no UTC timestamps");
    let (_, html) = page(&server, &team_token(1), "ja", "/team").await;
    assert!(html.contains(r#"data-offset-minutes="540""#));
    assert!(html.contains(r#"data-state="running""#));
    assert!(html.contains("進行中"));
    server.stop().await;
}

#[tokio::test]
async fn the_scoreboard_ranks_teams_by_points() {
    let server = TestServer::start().await;
    server.start_clock().await;
    server.fire_beacon().await;
    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(2))
        .json(&json!({"objective": "find-host", "answer": "pc01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let (_, html) = page(&server, INSTRUCTOR_TOKEN, "ja", "/fragments/scoreboard").await;
    let first = html.find(r#"id="team-row-2""#).expect("team 2's row");
    let second = html.find(r#"id="team-row-1""#).expect("team 1's row");
    assert!(first < second, "the leader comes first");
    assert!(html.contains(r#"<td class="rank" data-value="1">1</td><td data-value="Team 2">"#));
    assert!(html.contains(r#"<td class="rank" data-value="2">2</td><td data-value="Team 1">"#));
    for header in ["順位", "次の期限", "最終操作から"] {
        assert!(html.contains(header), "{header}");
    }
    server.stop().await;
}
