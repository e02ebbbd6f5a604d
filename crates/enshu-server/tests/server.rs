//! End-to-end tests over TLS against the real router: authorisation for
//! every route and role, team isolation, CSRF, rate limiting, the body
//! limit, live events, scoring and the language switch.

mod support;

use std::time::Duration;

use enshu_store::EventKind;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{CapturedLog, INSTRUCTOR_TOKEN, TestServer, team_token};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Anonymous,
    Team1,
    Team2,
    Instructor,
}

const ROLES: [Role; 4] = [Role::Anonymous, Role::Team1, Role::Team2, Role::Instructor];

fn token(role: Role) -> Option<String> {
    match role {
        Role::Anonymous => None,
        Role::Team1 => Some(team_token(1)),
        Role::Team2 => Some(team_token(2)),
        Role::Instructor => Some(INSTRUCTOR_TOKEN.to_owned()),
    }
}

async fn request(
    server: &TestServer,
    role: Role,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut builder = match method {
        "GET" => server.client.get(server.url(path)),
        "POST" => server.client.post(server.url(path)),
        _ => unreachable!(),
    };
    if let Some(token) = token(role) {
        builder = builder.bearer_auth(token);
    }
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    builder.send().await.unwrap()
}

/// Starts the clock, fires the beacon (the questions open) and records a
/// team-2 report and answer so the id-based routes have something to find.
async fn seed(server: &TestServer) -> u64 {
    server.start_clock().await;
    server.fire_beacon().await;
    let response = request(
        server,
        Role::Team2,
        "POST",
        "/api/team/reports",
        Some(valid_report()),
    )
    .await;
    assert_eq!(response.status(), 201);
    let seq = response.json::<Value>().await.unwrap()["seq"]
        .as_u64()
        .unwrap();
    let response = request(
        server,
        Role::Team2,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "find-host", "answer": "dc01"})),
    )
    .await;
    assert_eq!(response.status(), 200);
    seq
}

fn valid_report() -> Value {
    json!({"form": "first-report", "fields": {
        "detected_at": "2025-06-01T10:15", "trigger": "soc_alert", "category": "malware",
        "affected_hosts": ["pc01"], "personal_data": false, "actions": "blocked the C2 at the firewall"}})
}

#[tokio::test]
async fn authorization_matrix() {
    let server = TestServer::start().await;
    let team2_report = seed(&server).await;
    let report_path = format!("/team/reports/{team2_report}");
    let api_report_path = format!("/api/team/reports/{team2_report}");
    let review_path = format!("/teams/2/reports/{team2_report}");
    let grade_api_path = format!("/api/instructor/teams/2/reports/{team2_report}/grade");
    // (method, path, body, [anonymous, team 1, team 2, instructor])
    let answer = json!({"objective": "find-host", "answer": "www"});
    let hint = json!({"objective": "find-host", "hint_index": 0});
    let note = json!({"text": "good triage", "author": "sato"});
    let adjustment = json!({"points": 5, "reason": "clean hand-over", "author": "sato"});
    let grade = json!({"scores": {"completeness": 5}, "author": "sato"});
    let clock = json!({"action": "pause", "team": 1});
    let cases: Vec<(&str, &str, Option<Value>, [u16; 4])> = vec![
        ("GET", "/login", None, [200, 200, 200, 200]),
        ("GET", "/healthz", None, [200, 200, 200, 200]),
        ("GET", "/metrics", None, [303, 403, 403, 200]),
        ("GET", "/static/app.js", None, [200, 200, 200, 200]),
        ("GET", "/lang/ja?back=/", None, [303, 303, 303, 303]),
        ("GET", "/team", None, [303, 200, 200, 403]),
        ("GET", "/team/fragment", None, [303, 200, 200, 403]),
        (
            "GET",
            "/team/forms/first-report",
            None,
            [303, 200, 200, 403],
        ),
        (
            "GET",
            "/team/forms/no-such-form",
            None,
            [303, 404, 404, 403],
        ),
        ("GET", &report_path, None, [303, 404, 200, 403]),
        ("GET", "/api/team", None, [401, 200, 200, 403]),
        (
            "POST",
            "/api/team/answers",
            Some(answer.clone()),
            [401, 200, 200, 403],
        ),
        (
            "POST",
            "/api/team/reports",
            Some(valid_report()),
            [401, 201, 201, 403],
        ),
        ("GET", "/api/team/reports", None, [401, 200, 200, 403]),
        ("GET", &api_report_path, None, [401, 404, 200, 403]),
        (
            "GET",
            "/api/team/reports/999999",
            None,
            [401, 404, 404, 403],
        ),
        ("GET", "/api/team/submissions", None, [401, 200, 200, 403]),
        (
            "POST",
            "/api/team/hints",
            Some(hint.clone()),
            [401, 200, 200, 403],
        ),
        // Team 1's C2 address: team 2 may not block inside another team's range.
        (
            "POST",
            "/api/team/firewall",
            Some(json!({"action": "block", "address": "10.64.100.23"})),
            [401, 200, 400, 403],
        ),
        ("GET", "/api/team/timeline", None, [401, 200, 200, 403]),
        ("GET", "/", None, [303, 403, 403, 200]),
        ("GET", "/fragments/scoreboard", None, [303, 403, 403, 200]),
        ("GET", "/teams/1", None, [303, 403, 403, 200]),
        ("GET", "/teams/1/fragment", None, [303, 403, 403, 200]),
        ("GET", "/teams/9", None, [303, 403, 403, 404]),
        ("GET", &review_path, None, [303, 403, 403, 200]),
        ("GET", "/teams/1/after-action", None, [303, 403, 403, 200]),
        ("GET", "/teams/9/after-action", None, [303, 403, 403, 404]),
        (
            "GET",
            "/api/instructor/after-action.json",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/after-action.json?team=1",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/after-action.json?team=9",
            None,
            [401, 403, 403, 404],
        ),
        (
            "GET",
            "/api/instructor/scoreboard",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/fair-share",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/export.json",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/export.csv",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/export.xapi.json",
            None,
            [401, 403, 403, 200],
        ),
        (
            "GET",
            "/api/instructor/teams/1/events",
            None,
            [401, 403, 403, 200],
        ),
        (
            "POST",
            "/api/instructor/clock",
            Some(clock.clone()),
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/instructor/injects/soc-alert/fire",
            Some(json!({"team": 1})),
            [401, 403, 403, 202],
        ),
        (
            "POST",
            "/api/instructor/injects/deface/hold",
            Some(json!({})),
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/instructor/injects/nope/fire",
            Some(json!({})),
            [401, 403, 403, 404],
        ),
        (
            "POST",
            "/api/instructor/teams/1/notes",
            Some(note.clone()),
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/instructor/teams/1/adjustments",
            Some(adjustment.clone()),
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/instructor/teams/1/adjustments",
            Some(json!({"points": 5, "author": "sato"})),
            [401, 403, 403, 422],
        ),
        (
            "POST",
            &grade_api_path,
            Some(grade.clone()),
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/instructor/teams/1/reports/1/grade",
            Some(grade.clone()),
            [401, 403, 403, 404],
        ),
        ("GET", "/events", None, [401, 200, 200, 200]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &cases {
        for (role, expected_status) in ROLES.iter().zip(expected) {
            let response = request(&server, *role, method, path, body.clone()).await;
            let status = response.status().as_u16();
            if status != *expected_status {
                failures.push(format!(
                    "{method} {path} as {role:?}: got {status}, expected {expected_status}"
                ));
            }
            for header in [
                "content-security-policy",
                "x-frame-options",
                "x-content-type-options",
                "referrer-policy",
                "strict-transport-security",
            ] {
                if !response.headers().contains_key(header) {
                    failures.push(format!("{method} {path} as {role:?}: no {header}"));
                }
            }
        }
    }
    // A wrong bearer token is 401 everywhere.
    let response = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth("not-a-token-at-all-xxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await;
}

#[tokio::test]
async fn the_xapi_export_holds_every_trainee_action_for_instructors_only() {
    let server = TestServer::start().await;
    seed(&server).await;
    let hint = json!({"objective": "find-host", "hint_index": 0});
    let response = request(&server, Role::Team1, "POST", "/api/team/hints", Some(hint)).await;
    assert_eq!(response.status(), 200);
    let block = json!({"action": "block", "address": "10.64.100.23"});
    let response = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/firewall",
        Some(block),
    )
    .await;
    assert_eq!(response.status(), 200);
    let command = EventKind::TerminalCommand {
        host: "office/pc01".to_owned(),
        terminal: "t1-1".to_owned(),
        command: "echo 日本語".to_owned(),
        edited: false,
    };
    server
        .store
        .append(server.session, Some(1), command, "team:1")
        .await
        .unwrap();

    for role in [Role::Anonymous, Role::Team1, Role::Team2] {
        let response = request(
            &server,
            role,
            "GET",
            "/api/instructor/export.xapi.json",
            None,
        )
        .await;
        assert!(
            [401, 403].contains(&response.status().as_u16()),
            "{role:?} got {}",
            response.status()
        );
    }
    let response = request(
        &server,
        Role::Instructor,
        "GET",
        "/api/instructor/export.xapi.json",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let statements: Vec<Value> = response.json().await.unwrap();
    let summary: Vec<(String, String)> = statements
        .iter()
        .map(|statement| {
            (
                statement["actor"]["account"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                statement["verb"]["display"]["en-US"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    let expected = [
        ("team-2", "submitted"),
        ("team-2", "answered"),
        ("team-1", "took a hint"),
        ("team-1", "blocked"),
        ("team-1", "ran"),
    ];
    assert_eq!(
        summary,
        expected.map(|(team, verb)| (team.to_owned(), verb.to_owned()))
    );
    let answer = &statements[1];
    assert_eq!(
        answer["verb"]["id"],
        "http://adlnet.gov/expapi/verbs/answered"
    );
    assert_eq!(answer["result"]["success"], false);
    assert_eq!(answer["result"]["response"], "dc01");
    let ran = &statements[4];
    assert_eq!(ran["result"]["response"], "echo 日本語");
    assert_eq!(
        ran["object"]["id"],
        "urn:enshu:quickstart:host:office%2Fpc01"
    );
    for statement in &statements {
        let timestamp = statement["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
        assert!(
            statement["actor"]["account"]["homePage"]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:")
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn team_one_never_sees_team_two_data() {
    let server = TestServer::start().await;
    let team2_report = seed(&server).await;
    let team1_submissions = request(&server, Role::Team1, "GET", "/api/team/submissions", None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(team1_submissions["submissions"], json!([]));
    let team1_reports = request(&server, Role::Team1, "GET", "/api/team/reports", None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(team1_reports["reports"], json!([]));
    // Guessing ids: every seq in the log.
    let last_seq = server.store.last_seq(server.session).await.unwrap();
    for seq in 0..=last_seq + 2 {
        for path in [
            format!("/api/team/reports/{seq}"),
            format!("/team/reports/{seq}"),
        ] {
            let status = request(&server, Role::Team1, "GET", &path, None)
                .await
                .status();
            assert_eq!(status, 404, "{path}");
        }
    }
    // Team 2 sees its own report.
    assert_eq!(
        request(
            &server,
            Role::Team2,
            "GET",
            &format!("/api/team/reports/{team2_report}"),
            None
        )
        .await
        .status(),
        200
    );
    // Nothing of team 2 appears in team 1's views.
    for path in ["/api/team", "/api/team/timeline", "/team", "/team/fragment"] {
        let body = request(&server, Role::Team1, "GET", path, None)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !body.contains("blocked the C2"),
            "{path} leaks team 2's report"
        );
        assert!(!body.contains("Team 2"), "{path} names team 2");
        assert!(!body.contains("ground_truth"), "{path} leaks ground truth");
    }
    server.stop().await;
}

#[tokio::test]
async fn forms_need_the_csrf_token_of_their_session() {
    let server = TestServer::start().await;
    server.fire_beacon().await;
    // A wrong answer, so each accepted post is one more attempt, not a
    // second answer to a question already answered.
    let (cookie, csrf) = server.login(&team_token(1)).await;
    let cookie_header = format!("__Host-enshu-session={cookie}");
    let post = |fields: Vec<(&'static str, String)>| {
        server
            .client
            .post(server.url("/team/answers"))
            .header("cookie", cookie_header.clone())
            .form(&fields)
            .send()
    };
    let missing = post(vec![
        ("objective", "find-host".into()),
        ("answer", "www".into()),
    ])
    .await
    .unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = post(vec![
        ("objective", "find-host".into()),
        ("answer", "www".into()),
        ("csrf", "0".repeat(40)),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = post(vec![
        ("objective", "find-host".into()),
        ("answer", "www".into()),
        ("csrf", csrf.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(right.status(), 303);
    // A token from another session does not work either.
    let (_, other_csrf) = server.login(&team_token(1)).await;
    let foreign = post(vec![
        ("objective", "find-host".into()),
        ("answer", "www".into()),
        ("csrf", other_csrf),
    ])
    .await
    .unwrap();
    assert_eq!(foreign.status(), 403);
    // The JSON API with the cookie needs the header.
    let api = server
        .client
        .post(server.url("/api/team/answers"))
        .header("cookie", cookie_header.clone())
        .json(&json!({"objective": "find-host", "answer": "www"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    let api = server
        .client
        .post(server.url("/api/team/answers"))
        .header("cookie", cookie_header.clone())
        .header("x-csrf-token", csrf)
        .json(&json!({"objective": "find-host", "answer": "www"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    // Login itself is protected by a double-submit token.
    let login = server
        .client
        .post(server.url("/login"))
        .form(&[("token", team_token(1))])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
    // Session cookies carry the right attributes.
    let page = server
        .client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    server.stop().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    let server = TestServer::start().await;
    let page = server
        .client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap();
    let login_cookie = support::set_cookie_value(&page, "__Host-enshu-login").unwrap();
    let login_csrf = support::hidden_value(&page.text().await.unwrap(), "login_csrf").unwrap();
    let attempt = |token: &'static str| {
        server
            .client
            .post(server.url("/login"))
            .header("cookie", format!("__Host-enshu-login={login_cookie}"))
            .form(&[("login_csrf", login_csrf.as_str()), ("token", token)])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong-token-wrong-token").await.unwrap().status(),
            401
        );
    }
    assert_eq!(
        attempt("wrong-token-wrong-token").await.unwrap().status(),
        429
    );
    // Even the right token is refused while blocked, and bearer auth too.
    let blocked = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 429);
    server.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = TestServer::start().await;
    let huge = "x".repeat(100 * 1024);
    let response = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .json(&json!({"objective": "find-host", "answer": huge}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let response = server
        .client
        .post(server.url("/login"))
        .body(format!("token={huge}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    server.stop().await;
}

#[tokio::test]
async fn server_sent_events_deliver_appended_events() {
    let server = TestServer::start().await;
    // The beacon fired for team 1 alone: its question is open, and team 2's
    // stream has nothing to show.
    server
        .store
        .append(
            server.session,
            Some(1),
            EventKind::InjectFired {
                inject: "beacon".into(),
                target: "office/pc01".into(),
                ground_truth: Box::default(),
            },
            "injector",
        )
        .await
        .unwrap();
    let response = server
        .client
        .get(server.url("/events"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = response.bytes_stream();
    let team2_stream = server
        .client
        .get(server.url("/events"))
        .bearer_auth(team_token(2))
        .send()
        .await
        .unwrap();
    let mut team2_stream = team2_stream.bytes_stream();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "find-c2", "answer": "1.2.3.4"})),
    )
    .await;
    assert_eq!(answer.status(), 200);
    // Also an event appended by another process, straight into the store.
    server
        .store
        .append(
            server.session,
            Some(1),
            EventKind::InstructorNote {
                text: "from the cli".into(),
            },
            "instructor:cli",
        )
        .await
        .unwrap();
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(received.contains("\"kind\":\"submission\"")
        && received.contains("\"kind\":\"instructor_note\""))
    {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events within 10 s")
            .unwrap()
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.contains("event: update"));
    assert!(received.contains("\"team\":1"));
    // Team 2's stream says nothing about team 1's events.
    let quiet = tokio::time::timeout(Duration::from_millis(800), team2_stream.next()).await;
    if let Ok(Some(Ok(chunk))) = quiet {
        let text = String::from_utf8_lossy(&chunk);
        assert!(!text.contains("event: update"), "team 2 saw {text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn scoreboard_shows_what_the_scoring_engine_computes() {
    let server = TestServer::start().await;
    let store = &server.store;
    server.start_clock().await;
    server.fire_beacon().await;
    request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "find-host", "answer": "office/pc01"})),
    )
    .await;
    request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/hints",
        Some(json!({"objective": "find-host", "hint_index": 0})),
    )
    .await;
    request(
        &server,
        Role::Team2,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "find-host", "answer": "www"})),
    )
    .await;
    let report = request(
        &server,
        Role::Team2,
        "POST",
        "/api/team/reports",
        Some(valid_report()),
    )
    .await;
    assert_eq!(report.status(), 201);
    request(
        &server,
        Role::Instructor,
        "POST",
        "/api/instructor/teams/2/adjustments",
        Some(json!({"points": -7, "reason": "late call", "author": "sato"})),
    )
    .await;

    let shown = request(
        &server,
        Role::Instructor,
        "GET",
        "/api/instructor/scoreboard",
        None,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    let events = store
        .events(server.session, Default::default())
        .await
        .unwrap();
    let rules = enshu_server::scoring_rules(server.state.scenario());
    let now_ms = events.last().unwrap().at_ms + 1;
    let clocks = enshu_store::scoring_input::exercise_clocks(&events);
    let team_clocks: Vec<_> = [1, 2]
        .iter()
        .map(|team| enshu_scoring::TeamClock {
            team: *team,
            now_exercise_ms: clocks.exercise_ms_at(Some(*team), now_ms),
        })
        .collect();
    let expected = enshu_scoring::score(
        &rules,
        &team_clocks,
        &enshu_store::scoring_input::scoring_events(&events, &[1, 2]),
    );
    for (shown_team, expected_team) in shown["teams"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&expected.teams)
    {
        assert_eq!(
            shown_team["total"],
            json!(expected_team.total),
            "team {}",
            expected_team.team
        );
        let shown_objectives: Vec<enshu_scoring::ObjectiveScore> =
            serde_json::from_value(shown_team["score"]["objectives"].clone()).unwrap();
        for (shown_objective, expected_objective) in
            shown_objectives.iter().zip(&expected_team.objectives)
        {
            assert_eq!(shown_objective.status, expected_objective.status);
            assert_eq!(
                shown_objective.points_awarded,
                expected_objective.points_awarded
            );
        }
    }
    // Team 1: find-host 100 − 20 hint penalty; team 2: first report 100 − 7.
    assert_eq!(expected.team(1).unwrap().total, 80);
    assert_eq!(expected.team(2).unwrap().total, 93);
    let html = request(&server, Role::Instructor, "GET", "/", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"id="team-points-1">80<"#), "{html}");
    assert!(html.contains(r#"id="team-points-2">93<"#));
    // The CSV export agrees.
    let csv = request(
        &server,
        Role::Instructor,
        "GET",
        "/api/instructor/export.csv",
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        csv.lines().any(|line| line.starts_with("1,Team 1,80,")
            && line.contains(",find-host,detection,met,80,")),
        "{csv}"
    );
    server.stop().await;
}

async fn instructor_total(server: &TestServer, team: u64) -> i64 {
    let shown = request(
        server,
        Role::Instructor,
        "GET",
        "/api/instructor/scoreboard",
        None,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    shown["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|shown_team| shown_team["team"] == json!(team))
        .unwrap()["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_regrade_replaces_the_previous_grade_on_the_scoreboard() {
    let server = TestServer::start().await;
    let report = seed(&server).await;
    let grade_path = format!("/api/instructor/teams/2/reports/{report}/grade");
    let before = instructor_total(&server, 2).await;
    let grade =
        |completeness: i64| json!({"scores": {"completeness": completeness}, "author": "sato"});
    let response = request(
        &server,
        Role::Instructor,
        "POST",
        &grade_path,
        Some(grade(5)),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(instructor_total(&server, 2).await, before + 5);
    let response = request(
        &server,
        Role::Instructor,
        "POST",
        &grade_path,
        Some(grade(8)),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        instructor_total(&server, 2).await,
        before + 8,
        "the re-grade replaces the first grade, it does not add to it"
    );
    // Both grades stay in the log.
    let events = server
        .store
        .events(server.session, Default::default())
        .await
        .unwrap();
    let grades: Vec<(Option<u64>, i64)> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ReportGraded {
                report_seq, points, ..
            } => Some((*report_seq, *points)),
            _ => None,
        })
        .collect();
    assert_eq!(grades, [(Some(report), 5), (Some(report), 8)]);

    // Quickstart has no judged objective: naming one, or a criterion of no
    // rubric, is refused rather than ignored.
    for refused in [
        json!({"objective": "first-report", "scores": {"completeness": 5}, "author": "sato"}),
        json!({"scores": {"first-report-0": 5}, "author": "sato"}),
    ] {
        let response = request(
            &server,
            Role::Instructor,
            "POST",
            &grade_path,
            Some(refused),
        )
        .await;
        assert_eq!(response.status(), 422);
    }
    assert_eq!(instructor_total(&server, 2).await, before + 8);
    server.stop().await;
}

#[tokio::test]
async fn report_forms_are_validated_field_by_field() {
    let server = TestServer::start().await;
    let response = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/reports",
        Some(json!({"form": "first-report", "fields": {"trigger": "rumour", "detected_at": "soon", "affected_hosts": ["mainframe"], "personal_data": "maybe"}})),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    for expected in [
        "detected_at",
        "trigger",
        "category",
        "affected_hosts",
        "personal_data",
        "actions",
    ] {
        assert!(fields.contains(&expected), "{expected} not in {fields:?}");
    }
    assert_eq!(
        server.store.last_seq(server.session).await.unwrap(),
        0,
        "an invalid report writes nothing"
    );
    server.stop().await;
}

#[tokio::test]
async fn language_follows_accept_language_and_the_switch() {
    let server = TestServer::start().await;
    let japanese = server
        .client
        .get(server.url("/login"))
        .header("accept-language", "ja,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(japanese.contains("ログイン") && japanese.contains(r#"lang="ja""#));
    let english = server
        .client
        .get(server.url("/login"))
        .header("accept-language", "en-GB")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Log in") && english.contains(r#"lang="en""#));
    let switch = server
        .client
        .get(server.url("/lang/en?back=/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), 303);
    assert_eq!(switch.headers()["location"], "/login");
    let cookie = support::set_cookie_value(&switch, "enshu-lang").unwrap();
    let switched = server
        .client
        .get(server.url("/login"))
        .header("accept-language", "ja")
        .header("cookie", format!("enshu-lang={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        switched.contains("Log in"),
        "the cookie wins over Accept-Language"
    );
    // Scenario texts follow too.
    let team_page_ja = server
        .client
        .get(server.url("/team"))
        .bearer_auth(team_token(1))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(team_page_ja.contains("感染端末を特定する"));
    let team_page_en = server
        .client
        .get(server.url("/team"))
        .bearer_auth(team_token(1))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(team_page_en.contains("Identify the infected PC"));
    // Open redirects are refused.
    let outside = server
        .client
        .get(server.url("/lang/ja?back=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.headers()["location"], "/");
    server.stop().await;
}

/// Team `team`'s total on the JSON scoreboard, and the board's last seq.
async fn shown_total_and_last_seq(server: &TestServer, team: u64) -> (i64, u64) {
    let board = request(
        server,
        Role::Instructor,
        "GET",
        "/api/instructor/scoreboard",
        None,
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    let total = board["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|shown| shown["team"] == json!(team))
        .unwrap()["total"]
        .as_i64()
        .unwrap();
    (total, board["last_seq"].as_u64().unwrap_or(0))
}

/// The points cell of `team` in the HTML fragment.
async fn fragment_points(server: &TestServer, team: u32) -> String {
    let html = request(
        server,
        Role::Instructor,
        "GET",
        "/fragments/scoreboard",
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    let marker = format!(r#"id="team-points-{team}">"#);
    let start = html.find(&marker).expect("points cell") + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn cached_scoreboard_shows_the_servers_own_append_at_once() {
    let server = TestServer::start().await;
    seed(&server).await;
    let (before, _) = shown_total_and_last_seq(&server, 1).await;
    // Twice, so the second answer comes from the cache.
    assert_eq!(shown_total_and_last_seq(&server, 1).await.0, before);
    assert_eq!(fragment_points(&server, 1).await, before.to_string());
    for round in 1..=3 {
        let response = request(
            &server,
            Role::Instructor,
            "POST",
            "/api/instructor/teams/1/adjustments",
            Some(json!({"points": 5, "reason": "clean hand-over", "author": "sato"})),
        )
        .await;
        assert!(response.status().is_success(), "{}", response.status());
        let expected = before + 5 * round;
        let (shown, last_seq) = shown_total_and_last_seq(&server, 1).await;
        assert_eq!(shown, expected, "round {round}: JSON board is stale");
        assert_eq!(
            last_seq,
            server.store.last_seq(server.session).await.unwrap()
        );
        assert_eq!(
            fragment_points(&server, 1).await,
            expected.to_string(),
            "round {round}: HTML board is stale"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn cached_scoreboard_shows_another_processs_append_at_once() {
    let server = TestServer::start().await;
    seed(&server).await;
    // A separate store handle: its own connections to the same file, and
    // nothing that could tell the server it appended (no notify, no
    // broadcast) — what the injector or the CLI looks like to the server.
    let other_process = enshu_store::Store::open(&server.database_url)
        .await
        .unwrap();
    let (before, _) = shown_total_and_last_seq(&server, 2).await;
    assert_eq!(fragment_points(&server, 2).await, before.to_string());
    for round in 1..=5 {
        let appended = other_process
            .append(
                server.session,
                Some(2),
                EventKind::Adjustment {
                    objective: None,
                    points: -3,
                    reason: "noisy scan".into(),
                    author: "cli".into(),
                },
                "instructor:cli",
            )
            .await
            .unwrap();
        let expected = before - 3 * round;
        let (shown, last_seq) = shown_total_and_last_seq(&server, 2).await;
        assert_eq!(shown, expected, "round {round}: JSON board is stale");
        assert_eq!(last_seq, appended.seq);
        assert_eq!(
            fragment_points(&server, 2).await,
            expected.to_string(),
            "round {round}: HTML board is stale"
        );
    }
    other_process.close().await;
    server.stop().await;
}

#[tokio::test]
async fn cached_scoreboard_clock_fields_lag_by_at_most_a_second() {
    let server = TestServer::start().await;
    let started = server.start_clock().await;
    let now_exercise_ms = |board: &Value| board["teams"][0]["now_exercise_ms"].as_u64().unwrap();
    let mut previous = None;
    for _ in 0..3 {
        let board = request(
            &server,
            Role::Instructor,
            "GET",
            "/api/instructor/scoreboard",
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
        let answered_at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let shown = now_exercise_ms(&board);
        let true_elapsed = answered_at_ms - started.at_ms as u64;
        assert!(
            shown + 1_000 >= true_elapsed,
            "exercise time {shown} ms is more than 1 s behind {true_elapsed} ms"
        );
        if let Some(previous) = previous {
            assert!(
                shown >= previous + 1_000,
                "no event, but 1.2 s later the board still says {shown} (was {previous})"
            );
        }
        previous = Some(shown);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
    server.stop().await;
}

/// The team's map, its report form's pickers and the hosts a report may
/// name are its own range: the attacker's and the C2's names and addresses
/// are the answers it must find, so they appear nowhere the team looks.
#[tokio::test]
async fn a_team_sees_its_own_range_and_never_the_attackers_infrastructure() {
    let server = TestServer::start_scenario(
        "emotet-beta.yaml",
        include_str!("../../../scenarios/emotet-beta.yaml"),
        2,
    )
    .await;
    let team_plan = server.state.plan().teams[0].clone();
    let address_of = |reference: &str| {
        team_plan
            .containers
            .iter()
            .find(|container| container.reference == reference)
            .and_then(|container| container.primary_address())
            .unwrap_or_else(|| panic!("{reference} is planned"))
            .to_string()
    };
    let hidden: Vec<String> = ["internet/c2", "vendor/attacker", "vendor/vendor-pc"]
        .into_iter()
        .flat_map(|reference| [reference.to_owned(), address_of(reference)])
        .collect();

    let overview = request(&server, Role::Team1, "GET", "/api/team", None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let hosts = overview["hosts"].as_object().unwrap();
    for reference in [
        "lgwan/analyst",
        "inet/pc-net02",
        "seccloud/sc-mail",
        "lgwan/log01",
    ] {
        assert_eq!(
            hosts.get(reference),
            Some(&json!(address_of(reference))),
            "the team's map lists its own {reference}"
        );
    }
    let overview_text = overview.to_string();
    for leaked in &hidden {
        assert!(
            !overview_text.contains(leaked.as_str()),
            "/api/team shows {leaked}: {hosts:?}"
        );
    }
    assert!(
        hosts
            .keys()
            .all(|reference| !reference.starts_with("internet/")
                && !reference.starts_with("vendor/")),
        "{hosts:?}"
    );

    let form = request(
        &server,
        Role::Team1,
        "GET",
        "/team/forms/first-report",
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    for reference in ["lgwan/analyst", "inet/pc-net02", "seccloud/sc-web"] {
        assert!(
            form.contains(&format!(r#"<option value="{reference}">"#)),
            "the hosts picker offers {reference}"
        );
    }
    for leaked in &hidden {
        assert!(
            !form.contains(leaked.as_str()),
            "the report form shows {leaked}"
        );
    }
    // The segments picker (the recipients picker offers "vendor" too, as
    // someone to report to).
    let start = form.find(r#"<select name="affected_segments""#).unwrap();
    let segments = &form[start..start + form[start..].find("</select>").unwrap()];
    for segment in ["lgwan", "inet", "seccloud", "mynumber"] {
        assert!(
            segments.contains(&format!(r#"<option value="{segment}">"#)),
            "the segments picker offers {segment}: {segments}"
        );
    }
    for outside in ["internet", "vendor"] {
        assert!(
            !segments.contains(&format!(r#"<option value="{outside}">"#)),
            "the segments picker offers {outside}: {segments}"
        );
    }

    // A report cannot name the attacker's hosts either (the answer to
    // "which address is that?" is not to be had from a validation message).
    let report = |host: String| {
        json!({"form": "first-report", "fields": {
            "recipients": ["ciso"], "reporter": "team", "noticed_at": "2026-11-26T10:00",
            "trigger": "soc_alert", "category": "malware", "affected_hosts": [host],
            "affected_segments": ["inet"], "personal_data": false, "actions": "isolated", "status": "ongoing"}})
    };
    let refused = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/reports",
        Some(report(address_of("internet/c2"))),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let refusal = refused.text().await.unwrap();
    assert!(!refusal.contains("internet/c2"), "{refusal}");
    let accepted = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/reports",
        Some(report(address_of("inet/pc-net02"))),
    )
    .await;
    assert_eq!(accepted.status(), 201, "{}", accepted.text().await.unwrap());

    // Answer checking still knows the C2's real address.
    server.fire("beacon", "inet/pc-net02").await;
    let answer = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "c2-address", "answer": address_of("internet/c2")})),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(answer["correct"], true);
    server.stop().await;
}

/// A team's objective as its own portal shows it (`/api/team`).
async fn own_objective(server: &TestServer, role: Role, objective: &str) -> Value {
    let overview: Value = request(server, role, "GET", "/api/team", None)
        .await
        .json()
        .await
        .unwrap();
    overview["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|candidate| candidate["id"] == objective)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_question_opens_with_its_inject_and_locks_after_its_wrong_answers() {
    let server = TestServer::start().await;
    server.start_clock().await;
    let answer = |value: &str| json!({"objective": "find-host", "answer": value});
    // Before the beacon the question is not open: refused in the caller's
    // language, nothing recorded, no attempt used.
    let early = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .header("accept-language", "ja")
        .json(&answer("office/pc01"))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 409);
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["message"]["ja"], "この設問はまだ始まっていません");
    assert_eq!(body["message"]["en"], "This question has not started yet");
    let submissions: Value = request(&server, Role::Team1, "GET", "/api/team/submissions", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(submissions["submissions"], json!([]));

    server.fire_beacon().await;
    // Five wrong answers (the default attempts), each saying how many are left.
    for left in (0..5).rev() {
        let response = request(
            &server,
            Role::Team1,
            "POST",
            "/api/team/answers",
            Some(answer("www")),
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["correct"].clone(), body["attempts_left"].clone()),
            (json!(false), json!(left))
        );
    }
    // Locked: even the right answer is refused now, and the portal says so.
    let locked = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/answers",
        Some(answer("office/pc01")),
    )
    .await;
    assert_eq!(locked.status(), 409);
    let objective = own_objective(&server, Role::Team1, "find-host").await;
    assert_eq!(objective["answers"]["locked"], true);
    assert_eq!(objective["answers"]["left"], 0);
    assert_eq!(objective["status"]["status"], "pending");
    let (cookie, _) = server.login(&team_token(1)).await;
    let page = server
        .client
        .get(server.url("/team"))
        .header(
            "cookie",
            format!("__Host-enshu-session={cookie}; enshu-lang=ja"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("回答回数の上限に達したため"), "{page}");
    // Team 2's question is its own: still open, answered right once, then
    // no more answers are taken.
    let right = request(
        &server,
        Role::Team2,
        "POST",
        "/api/team/answers",
        Some(answer("office/pc01")),
    )
    .await;
    assert_eq!(right.json::<Value>().await.unwrap()["correct"], true);
    let again = request(
        &server,
        Role::Team2,
        "POST",
        "/api/team/answers",
        Some(answer("www")),
    )
    .await;
    assert_eq!(again.status(), 409);
    server.stop().await;
}

#[tokio::test]
async fn a_report_result_waits_for_the_instructors_grade() {
    let server = TestServer::start().await;
    server.start_clock().await;
    server.fire_beacon().await;
    let response = request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/reports",
        Some(valid_report()),
    )
    .await;
    assert_eq!(response.status(), 201);
    let report = response.json::<Value>().await.unwrap()["seq"]
        .as_u64()
        .unwrap();
    // The instructor's board has it met; the team only sees it submitted.
    let board: Value = request(
        &server,
        Role::Instructor,
        "GET",
        "/api/instructor/scoreboard",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let team1 = &board["teams"][0];
    assert_eq!(team1["total"], 100);
    let objective = own_objective(&server, Role::Team1, "first-report").await;
    assert_eq!(objective["status"]["status"], "awaiting_grading");
    assert_eq!(objective["points_awarded"], Value::Null);
    let overview: Value = request(&server, Role::Team1, "GET", "/api/team", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview["total"], 0);
    // Graded: now the team sees the result and its points.
    let graded = request(
        &server,
        Role::Instructor,
        "POST",
        &format!("/api/instructor/teams/1/reports/{report}/grade"),
        Some(json!({"scores": {"completeness": 5}, "author": "sato"})),
    )
    .await;
    assert!(
        graded.status().is_success(),
        "{}",
        graded.text().await.unwrap()
    );
    let objective = own_objective(&server, Role::Team1, "first-report").await;
    assert_eq!(objective["status"]["status"], "met");
    assert_eq!(objective["points_awarded"], 100);
    server.stop().await;
}

#[tokio::test]
async fn an_instructor_revokes_a_team_token_at_once() {
    let server = TestServer::start().await;
    let (cookie, _) = server.login(&team_token(1)).await;
    let portal = |cookie: String| {
        server
            .client
            .get(server.url("/team"))
            .header("cookie", format!("__Host-enshu-session={cookie}"))
            .send()
    };
    assert_eq!(portal(cookie.clone()).await.unwrap().status(), 200);
    let replacement = "team-1-replacement-token-0123456789abcdef";
    let short = request(
        &server,
        Role::Instructor,
        "POST",
        "/api/instructor/teams/1/token",
        Some(json!({"token": "short"})),
    )
    .await;
    assert_eq!(short.status(), 422);
    let refused = request(
        &server,
        Role::Team1,
        "POST",
        "/api/instructor/teams/1/token",
        Some(json!({"token": replacement})),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let revoked = request(
        &server,
        Role::Instructor,
        "POST",
        "/api/instructor/teams/1/token",
        Some(json!({"token": replacement})),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    // The old token and its login are gone; the new token works; team 2
    // is untouched.
    assert_eq!(
        request(&server, Role::Team1, "GET", "/api/team", None)
            .await
            .status(),
        401
    );
    assert_eq!(portal(cookie).await.unwrap().status(), 303);
    let new = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth(replacement)
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);
    assert_eq!(
        request(&server, Role::Team2, "GET", "/api/team", None)
            .await
            .status(),
        200
    );
    // The log notes it, never the token.
    let events = server
        .store
        .events(server.session, enshu_store::EventQuery::default())
        .await
        .unwrap();
    let text = serde_json::to_string(&events).unwrap();
    assert!(text.contains("portal token revoked"));
    assert!(!text.contains(replacement));
    assert_eq!(
        request(
            &server,
            Role::Instructor,
            "POST",
            "/api/instructor/teams/9/token",
            Some(json!({"token": replacement}))
        )
        .await
        .status(),
        404
    );
    server.stop().await;
}

#[tokio::test]
async fn no_token_reaches_the_log_at_any_level() {
    let (captured, _guard) = CapturedLog::start(tracing::Level::TRACE, false);
    let server = TestServer::start().await;
    server.start_clock().await;
    server.fire_beacon().await;
    let (_cookie, _csrf) = server.login(&team_token(1)).await;
    for role in [Role::Team1, Role::Team2, Role::Instructor] {
        request(&server, role, "GET", "/api/team", None).await;
    }
    request(
        &server,
        Role::Team1,
        "POST",
        "/api/team/answers",
        Some(json!({"objective": "find-host", "answer": "www"})),
    )
    .await;
    let wrong = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth("team-9-token-that-does-not-exist-0123")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let replacement = "team-2-replacement-token-0123456789abcdef";
    request(
        &server,
        Role::Instructor,
        "POST",
        "/api/instructor/teams/2/token",
        Some(json!({"token": replacement})),
    )
    .await;
    server.stop().await;
    let log = captured.text();
    assert!(log.contains("store opened"), "nothing was captured: {log}");
    for secret in [
        team_token(1),
        team_token(2),
        INSTRUCTOR_TOKEN.to_owned(),
        "team-9-token-that-does-not-exist-0123".to_owned(),
        replacement.to_owned(),
    ] {
        assert!(!log.contains(&secret), "the log holds {secret}");
    }
}
