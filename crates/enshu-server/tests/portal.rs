//! The pages as a trainee and an instructor read them: no English in the
//! Japanese views (beyond the identifiers the scenario's author wrote),
//! feedback on every answer, the firewall form, the CSV export.

mod support;

use std::collections::BTreeSet;

use enshu_store::{ClockAction, EventKind, NewEvent};
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, ascii_words, author_words, team_token};

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

/// Team 2 named the infected host 5 minutes after the beacon actually
/// fired; team 1 only 29 minutes after (through the API, now).
async fn both_teams_detected(server: &TestServer) {
    exercise_under_way(server).await;
    let events = server
        .store
        .events(server.session, enshu_store::EventQuery::default())
        .await
        .unwrap();
    let beacon_at = events
        .iter()
        .find(|event| matches!(&event.kind, EventKind::InjectFired { inject, .. } if inject == "beacon"))
        .unwrap()
        .at_ms;
    server
        .store
        .append_event(NewEvent {
            session: server.session,
            team: Some(2),
            kind: EventKind::Submission {
                objective: "find-host".into(),
                answer: "pc01".into(),
                correct: true,
            },
            actor: "team:2".to_owned(),
            at_ms: Some(beacon_at + 5 * MINUTE_MS),
            exercise_ms: None,
        })
        .await
        .unwrap();
    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .json(&json!({"objective": "find-host", "answer": "pc01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// An earlier session's export: two teams that detected in 3 and 10 minutes.
fn past_cohort() -> String {
    let team = |index: u32, detect_minutes: u64| {
        json!({"team": index, "name": format!("Past {index}"), "total": 10, "injects": [
            {"inject": "beacon", "fired_at_ms": 60_000,
             "detect": {"status": "took", "ms": detect_minutes * 60_000},
             "contain": {"status": "not_yet"}, "report": {"status": "not_yet"},
             "recover": {"status": "not_applicable"}}]})
    };
    json!({"format": "enshu-after-action/1", "scenario": "quickstart", "session": "2026-04",
           "teams": [team(1, 3), team(2, 10)]})
    .to_string()
}

#[tokio::test]
async fn the_after_action_review_times_each_inject_from_its_fire_against_the_session_and_past_cohorts()
 {
    let cohort = enshu_server::read_cohort("april.json", &past_cohort(), "quickstart").unwrap();
    let server = TestServer::start_with(
        2,
        enshu_server::ServerOptions {
            cohorts: vec![cohort],
            ..Default::default()
        },
    )
    .await;
    both_teams_detected(&server).await;
    // The export: per team, each inject's actual fire and the times from it.
    let export: Value = server
        .client
        .get(server.url("/api/instructor/after-action.json?team=2"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(export["format"], "enshu-after-action/1");
    assert_eq!(export["scenario"], "quickstart");
    let teams = export["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 1);
    let beacon = teams[0]["injects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|times| times["inject"] == "beacon")
        .unwrap();
    assert_eq!(beacon["fired_at_ms"], 60_000);
    assert_eq!(
        beacon["detect"],
        json!({"status": "took", "ms": 5 * 60_000})
    );
    assert_eq!(beacon["contain"], json!({"status": "not_yet"}));
    // The session's export holds every team, with team 1's report and note;
    // and reads back as a cohort of the same scenario.
    let response = server
        .client
        .get(server.url("/api/instructor/after-action.json"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("content-disposition")
            .is_some_and(|value| value.to_str().unwrap().contains("attachment"))
    );
    let session_export = response.text().await.unwrap();
    let parsed: Value = serde_json::from_str(&session_export).unwrap();
    assert_eq!(parsed["teams"].as_array().unwrap().len(), 2);
    let first = &parsed["teams"][0];
    assert_eq!(first["reports"][0]["form"], "first-report");
    assert_eq!(first["notes"][0]["text"], "プロキシのログを確認中");
    assert_eq!(first["notes"][0]["author"], "佐藤");
    let again = enshu_server::read_cohort("today.json", &session_export, "quickstart").unwrap();
    assert_eq!(again.teams.len(), 2);
    // Teams may not read it.
    let refused = server
        .client
        .get(server.url("/api/instructor/after-action.json"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // The page: team 2 against the session (median of 5 and 29 minutes,
    // best 5) and the past cohort (5 minutes is 2nd of 3).
    let (status, html) = page(&server, INSTRUCTOR_TOKEN, "ja", "/teams/2/after-action").await;
    assert_eq!(status, 200);
    let detect_row = html
        .split(r#"<tr data-measure="detect">"#)
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("a detection row for the beacon");
    let text = visible_text(detect_row);
    for expected in [
        "検知までの時間",
        "05:00",
        "17:",
        "06:30",
        "03:00",
        "3チーム中2位相当",
    ] {
        assert!(text.contains(expected), "{expected} not in {text:?}");
    }
    for expected in [
        "インジェクトごとの対応時間",
        "インジェクトとチームの操作",
        "比較に使った過去の演習: 2026-04（計2チーム）",
        "封じ込めまでの時間",
    ] {
        assert!(html.contains(expected), "{expected} not on the page");
    }
    assert_no_english("/teams/2/after-action", &html, &author_words());
    // Team 1's page: its report with its grade state, and its note.
    let (_, team_one) = page(&server, INSTRUCTOR_TOKEN, "ja", "/teams/1/after-action").await;
    assert!(team_one.contains("報告書と採点") && team_one.contains("未採点"));
    assert!(team_one.contains("プロキシのログを確認中"));
    assert!(team_one.contains(r#"<svg class="swimlane""#));
    let (_, english) = page(&server, INSTRUCTOR_TOKEN, "en", "/teams/2/after-action").await;
    assert!(english.contains("Time to detect") && english.contains("would rank 2 of 3"));
    server.stop().await;
}

#[tokio::test]
async fn messages_come_first_marked_unread_until_the_team_marks_them_read_in_the_page_and_the_api()
{
    let server = TestServer::start().await;
    exercise_under_way(&server).await;
    let (_, html) = page(&server, &team_token(1), "ja", "/team").await;
    let messages_at = html.find(r#"id="messages""#).expect("a messages card");
    let next_at = html.find(r#"id="next-to-do""#).expect("a next-to-do panel");
    assert!(messages_at < next_at, "messages are on top");
    assert!(
        html.contains("（未読 1件）") && html.contains(r#"<span class="unread-mark">未読</span>"#)
    );
    let up_to = html
        .split(r#"name="up_to" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a mark-read form")
        .to_owned();
    let marked = server
        .client
        .post(server.url("/team/messages/read"))
        .bearer_auth(team_token(1))
        .form(&[("up_to", up_to.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), 303);
    // Read for team 1, over a reload; still unread for team 2.
    let (_, html) = page(&server, &team_token(1), "ja", "/team").await;
    assert!(
        !html.contains("unread-mark") && !html.contains("未読"),
        "{html}"
    );
    let (_, other) = page(&server, &team_token(2), "en", "/team").await;
    assert!(other.contains("(1 unread)") && other.contains("Mark as read"));
    // The JSON API says the same, and marks read the same way.
    let overview = |team: u32| {
        let server = &server;
        async move {
            server
                .client
                .get(server.url("/api/team"))
                .bearer_auth(team_token(team))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let unread_flags = |overview: &Value| -> Vec<bool> {
        overview["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["unread"].as_bool().expect("an unread flag"))
            .collect()
    };
    let read = overview(1).await;
    assert_eq!(unread_flags(&read), [false], "{read}");
    assert_eq!(read["unread_messages"], 0);
    let unread = overview(2).await;
    assert_eq!(unread_flags(&unread), [true], "{unread}");
    assert_eq!(unread["unread_messages"], 1);
    let team_2_message = unread["messages"][0]["seq"].as_u64().unwrap();
    let marked = server
        .client
        .post(server.url("/api/team/messages/read"))
        .bearer_auth(team_token(2))
        .json(&json!({"up_to": team_2_message}))
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), 200);
    assert_eq!(
        marked.json::<Value>().await.unwrap()["messages_read_up_to"],
        team_2_message
    );
    let now_read = overview(2).await;
    assert_eq!(unread_flags(&now_read), [false], "{now_read}");
    assert_eq!(now_read["unread_messages"], 0);
    let (_, other) = page(&server, &team_token(2), "en", "/team").await;
    assert!(!other.contains("unread-mark"), "read in the portal too");
    // Marking again, or past the newest message, adds nothing to the log.
    for up_to in [up_to.as_str(), "999999"] {
        server
            .client
            .post(server.url("/team/messages/read"))
            .bearer_auth(team_token(1))
            .form(&[("up_to", up_to)])
            .send()
            .await
            .unwrap();
    }
    let events = server
        .store
        .events(server.session, enshu_store::EventQuery::default())
        .await
        .unwrap();
    let marks: Vec<(Option<u32>, &EventKind)> = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::MessagesRead { .. }))
        .map(|event| (event.team, &event.kind))
        .collect();
    assert_eq!(
        marks,
        [
            (
                Some(1),
                &EventKind::MessagesRead {
                    up_to_seq: up_to.parse().unwrap()
                }
            ),
            (
                Some(2),
                &EventKind::MessagesRead {
                    up_to_seq: team_2_message
                }
            )
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn the_portal_draws_the_teams_own_network_with_its_flows_in_words() {
    let server = TestServer::start().await;
    server.start_clock().await;
    let (_, plan, _) = support::quickstart_plan(2);
    let pc01 = |team: usize| {
        plan.teams[team]
            .containers
            .iter()
            .find(|container| container.reference == "office/pc01")
            .and_then(|container| container.primary_address())
            .unwrap()
            .to_string()
    };
    let network_card = |html: &str| {
        html.split(r#"<section class="card" id="network">"#)
            .nth(1)
            .and_then(|rest| rest.split("</section>").next())
            .expect("a network card")
            .to_owned()
    };
    let (_, html) = page(&server, &team_token(1), "ja", "/team").await;
    let card = network_card(&html);
    assert!(card.contains("自チームのネットワーク"));
    assert!(card.contains(r#"<svg class="network-map""#) && card.contains("<desc"));
    for expected in [
        "庁内LAN",
        "公開セグメント",
        "pc01",
        "ルータ（ファイアウォール）",
        pc01(0).as_str(),
    ] {
        assert!(card.contains(expected), "{expected} not on the map");
    }
    assert_eq!(
        card.matches("<li>").count(),
        4,
        "every declared flow, in words"
    );
    let (_, other) = page(&server, &team_token(2), "ja", "/team").await;
    let other = network_card(&other);
    assert!(other.contains(&pc01(1)), "team 2 sees its own addresses");
    assert!(!other.contains(&pc01(0)), "and not team 1's");
    server.stop().await;
}

/// The `data-field` names of a receipt's rows, in the page's order.
fn receipt_fields(html: &str) -> Vec<String> {
    html.split(r#"<tr data-field=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn report_receipts_list_the_fields_in_the_forms_order_and_say_what_comes_next() {
    let server = TestServer::start_scenario(
        "emotet-beta.yaml",
        include_str!("../../../scenarios/emotet-beta.yaml"),
        1,
    )
    .await;
    server.start_clock().await;
    server.fire("soc-alert", "lgwan").await;
    let form_order = |form: &str| -> Vec<String> {
        server
            .state
            .scenario()
            .forms
            .iter()
            .find(|candidate| candidate.id == form)
            .unwrap()
            .fields
            .iter()
            .map(|field| field.name.clone())
            .collect()
    };
    // Each report sent through the portal's form with its fields in reverse.
    let send = |form: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let server = &server;
        async move {
            let mut reversed = fields;
            reversed.reverse();
            let sent = server
                .client
                .post(server.url(&format!("/team/forms/{form}")))
                .bearer_auth(team_token(1))
                .form(&reversed)
                .send()
                .await
                .unwrap();
            assert_eq!(sent.status(), 303, "{form}: {}", sent.text().await.unwrap());
            sent.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let first = send(
        "first-report",
        vec![
            ("recipients", "ciso"),
            ("recipients", "prefecture"),
            ("reporter", "情報政策課 山田 内線1234"),
            ("noticed_at", "2026-12-01T10:15"),
            ("trigger", "soc_alert"),
            ("category", "malware"),
            ("affected_hosts", "inet/pc-net02"),
            ("affected_segments", "inet"),
            ("personal_data", "false"),
            ("actions", "10:20 端末のC2通信をルータで遮断"),
            ("status", "調査中"),
        ],
    )
    .await;
    let (_, ja) = page(&server, &team_token(1), "ja", &first).await;
    let expected: Vec<String> = form_order("first-report")
        .into_iter()
        .filter(|name| !["occurred_at", "services_down"].contains(&name.as_str()))
        .collect();
    assert_eq!(receipt_fields(&ja), expected, "in the form's order (ja)");
    let labels_at: Vec<usize> = [
        "報告先",
        "報告者・連絡先",
        "覚知日時",
        "検知の契機",
        "事象の分類",
    ]
    .iter()
    .map(|label| ja.find(&format!("<th>{label}</th>")).expect(label))
    .collect();
    assert!(labels_at.is_sorted(), "labels in the form's order");
    for said in [
        "報告書を受け付けました",
        "講師が採点します",
        "次は続報です",
        "「続報」の期限: <span class=\"offset\">経過 1:3",
        r#"<a href="/team/forms/follow-up-report">「続報」を書く</a>"#,
        "マルウェア感染",
        "最高情報セキュリティ責任者, 都道府県",
    ] {
        assert!(ja.contains(said), "the 第一報's receipt says {said}: {ja}");
    }
    let (_, en) = page(&server, &team_token(1), "en", &first).await;
    assert_eq!(receipt_fields(&en), expected, "in the form's order (en)");
    for said in [
        "<th>Recipients</th>",
        "An instructor grades it",
        "Next comes the follow-up",
        "“Follow-up report” is due at",
        "Malware infection",
    ] {
        assert!(
            en.contains(said),
            "the first report's receipt says {said}: {en}"
        );
    }

    let follow_up = send(
        "follow-up-report",
        vec![
            ("category", "malware"),
            ("cause", "添付ファイルのマクロ"),
            ("intrusion_method", "メール"),
            ("iocs", "c2 のアドレス"),
            ("ppc_report_required", "false"),
            ("actions", "端末を隔離"),
        ],
    )
    .await;
    let (_, ja) = page(&server, &team_token(1), "ja", &follow_up).await;
    assert_eq!(
        receipt_fields(&ja),
        [
            "category",
            "cause",
            "intrusion_method",
            "iocs",
            "ppc_report_required",
            "actions"
        ]
    );
    for said in [
        "続報は何度でも提出できます",
        "「確報」で確報を提出してください",
    ] {
        assert!(ja.contains(said), "the 続報's receipt says {said}: {ja}");
    }
    let (_, en) = page(&server, &team_token(1), "en", &follow_up).await;
    assert!(
        en.contains("you may send another follow-up")
            && en.contains("send the final report with “Final report”"),
        "{en}"
    );

    let final_report = send(
        "final-report",
        vec![
            ("summary", "職員PCがマルウェアに感染した"),
            ("secondary_damage", "なし"),
            ("public_notice", "ホームページで公表"),
            ("recurrence_prevention", "マクロの無効化"),
        ],
    )
    .await;
    let (_, ja) = page(&server, &team_token(1), "ja", &final_report).await;
    assert_eq!(
        receipt_fields(&ja),
        [
            "summary",
            "secondary_damage",
            "public_notice",
            "recurrence_prevention"
        ]
    );
    assert!(ja.contains("この事案の報告は完了です"), "{ja}");
    assert!(!ja.contains("/team/forms/"), "nothing more to write: {ja}");
    let (_, en) = page(&server, &team_token(1), "en", &final_report).await;
    assert!(
        en.contains("reporting on this incident is complete"),
        "{en}"
    );

    // The JSON API's receipt: the same rows in the same order, the same steps.
    let sent = server
        .client
        .post(server.url("/api/team/reports"))
        .bearer_auth(team_token(1))
        .header("accept-language", "ja")
        .json(&json!({"form": "follow-up-report", "fields": {
            "actions": "端末を隔離", "category": "malware", "cause": "マクロ",
            "intrusion_method": "メール", "iocs": "なし", "ppc_report_required": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let receipt = sent.json::<Value>().await.unwrap()["receipt"].clone();
    let names: Vec<&str> = receipt["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "category",
            "cause",
            "intrusion_method",
            "iocs",
            "ppc_report_required",
            "actions"
        ]
    );
    assert_eq!(receipt["fields"][0]["label"], "事象の分類");
    assert_eq!(receipt["fields"][4]["value"], "はい");
    assert_eq!(receipt["next"]["next_form"]["id"], "final-report");
    assert!(
        receipt["next"]["sentences"][1]
            .as_str()
            .unwrap()
            .contains("続報は何度でも"),
        "{receipt}"
    );
    server.stop().await;
}

/// A browser that opens an address no route serves, or a malformed one,
/// reads a page in its language with the same status; the API, and a
/// client that does not ask for HTML, keep their JSON.
#[tokio::test]
async fn a_browser_gets_error_pages_in_its_language_and_the_api_keeps_json() {
    let server = TestServer::start().await;
    let allowed = author_words();
    let get = |path: &str, lang: &str, accept: &str| {
        server
            .client
            .get(server.url(path))
            .bearer_auth(team_token(1))
            .header("accept-language", lang)
            .header("accept", accept)
            .send()
    };
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let content_type = |response: &reqwest::Response| {
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    for (path, status, ja, en) in [
        (
            "/no-such-page",
            404,
            "ページが見つかりません",
            "Page not found",
        ),
        (
            "/team/reports/not-a-number",
            400,
            "リクエストを処理できません",
            "The request could not be handled",
        ),
    ] {
        let response = get(path, "ja", browser).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(content_type(&response).starts_with("text/html"), "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(ja), "{path}: {html}");
        assert!(html.contains(&format!("エラーコード {status}")), "{html}");
        assert_no_english(path, &html, &allowed);
        let html = get(path, "en", browser)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(en), "{path}: {html}");
        let response = get(path, "ja", "*/*").await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(!content_type(&response).starts_with("text/html"), "{path}");
    }
    let response = get("/api/team/no-such-thing", "ja", browser).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "not found"})
    );
    server.stop().await;
}
