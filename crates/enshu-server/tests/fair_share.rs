//! Fair share over the real router and TLS: one team's flood of writes is
//! refused with 429 in its language, counted for the instructor and kept
//! out of the log, while another team's requests go through.

mod support;

use std::time::{Duration, Instant};

use enshu_store::EventKind;
use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

/// What the instructor sees at `/api/instructor/fair-share`.
async fn fair_share_report(server: &TestServer) -> Value {
    server
        .client
        .get(server.url("/api/instructor/fair-share"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn answer(server: &TestServer, team: u32, lang: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(team))
        .header("accept-language", lang)
        .json(&json!({"objective": "find-host", "answer": "pc99"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_team_is_refused_while_another_team_is_served() {
    let server = TestServer::start().await;
    server.start_clock().await;
    // The question opens; its wrong answers lock it after `attempts` (409,
    // not recorded), which the flood's allowance counts all the same.
    server.fire_beacon().await;
    let burst = server.state.fair_share().limits().answer.burst as usize;
    let flood = burst + 50;
    let mut accepted = 0;
    let mut recorded = 0;
    let mut refused = None;
    for _ in 0..flood {
        let response = answer(&server, 1, "ja").await;
        match response.status().as_u16() {
            200 => {
                accepted += 1;
                recorded += 1;
            }
            409 => accepted += 1,
            429 => refused = Some(response),
            other => panic!("team 1's answer got {other}"),
        }
    }
    // The burst, and at most one more refilled while the flood ran.
    assert!(
        (burst..=burst + 1).contains(&accepted),
        "{accepted} of {flood} accepted, burst {burst}"
    );
    let refused = refused.expect("team 1 was refused");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["kind"], "answer");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("回答の送信が速すぎます"), "{message}");
    assert!(message.contains(&retry_after.to_string()), "{message}");
    // In English for an English browser.
    let english: Value = answer(&server, 1, "en").await.json().await.unwrap();
    assert!(
        english["error"]
            .as_str()
            .unwrap()
            .starts_with("Too many answers"),
        "{english}"
    );

    // Team 2 is served at once, every request of its burst.
    let started = Instant::now();
    for _ in 0..burst {
        let status = answer(&server, 2, "ja").await.status().as_u16();
        assert!(
            status == 200 || status == 409,
            "team 2's answer got {status}"
        );
    }
    let overview = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth(team_token(2))
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Another kind of write of team 1's has its own allowance.
    let blocked = server
        .client
        .post(server.url("/api/team/firewall"))
        .bearer_auth(team_token(1))
        .json(&json!({"action": "block", "address": "10.64.100.23"}))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);

    // Refusals are not in the log: only the accepted answers are.
    let events = server
        .store
        .events(server.session, Default::default())
        .await
        .unwrap();
    let team_1_answers = events
        .iter()
        .filter(|event| event.team == Some(1) && matches!(event.kind, EventKind::Submission { .. }))
        .count();
    assert_eq!(team_1_answers, recorded);

    // The instructor sees them, per team and kind.
    let report = fair_share_report(&server).await;
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["team"], 1);
    assert_eq!(refused[0]["kind"], "answer");
    assert_eq!(
        refused[0]["total"].as_u64().unwrap() as usize,
        flood + 1 - accepted
    );
    assert_eq!(report["limits"]["answer"]["burst"], burst);
    server.stop().await;
}

#[tokio::test]
async fn a_refused_form_post_gets_a_page_in_the_users_language() {
    let mut options = enshu_server::ServerOptions::default();
    options.fair_share.hint.burst = 1;
    let server = TestServer::start_with(2, options).await;
    server.start_clock().await;
    let (cookie, csrf) = server.login(&team_token(1)).await;
    let take = || {
        server
            .client
            .post(server.url("/team/hints"))
            .header(
                "cookie",
                format!("__Host-enshu-session={cookie}; enshu-lang=ja"),
            )
            .form(&[
                ("csrf", csrf.as_str()),
                ("objective", "find-host"),
                ("hint_index", "0"),
            ])
            .send()
    };
    assert_eq!(take().await.unwrap().status(), 303);
    let refused = take().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let page = refused.text().await.unwrap();
    assert!(page.contains("ヒントの要求が速すぎます"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn a_team_looping_on_its_pages_is_refused_but_others_and_static_files_are_served() {
    let mut options = enshu_server::ServerOptions::default();
    options.fair_share.read.burst = 5;
    options.fair_share.read.per_minute = 6;
    let server = TestServer::start_with(2, options).await;
    let read = |team: u32, path: &'static str| {
        server
            .client
            .get(server.url(path))
            .bearer_auth(team_token(team))
            .header("accept-language", "ja")
            .send()
    };
    for _ in 0..5 {
        assert_eq!(read(1, "/api/team").await.unwrap().status(), 200);
    }
    let refused = read(1, "/api/team/timeline").await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["kind"], "read");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("ページの読み込みが多すぎます"),
        "{message}"
    );
    // A browser gets the page in its language.
    let page = server
        .client
        .get(server.url("/team"))
        .bearer_auth(team_token(1))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.text().await.unwrap().contains("Too many pages loaded"));
    // Static files are not reads of the team's data, and team 2 has its own allowance.
    assert_eq!(read(1, "/static/app.js").await.unwrap().status(), 200);
    assert_eq!(read(1, "/static/app.css").await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_eq!(read(2, "/api/team").await.unwrap().status(), 200);
    }
    // Writes keep their own allowance.
    let blocked = server
        .client
        .post(server.url("/api/team/firewall"))
        .bearer_auth(team_token(1))
        .json(&json!({"action": "block", "address": "10.64.100.23"}))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);
    // The instructor is not limited and sees the refusals.
    for _ in 0..10 {
        let report = server
            .client
            .get(server.url("/api/instructor/fair-share"))
            .bearer_auth(INSTRUCTOR_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(report.status(), 200);
    }
    let report = fair_share_report(&server).await;
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["team"], 1);
    assert_eq!(refused[0]["kind"], "read");
    assert_eq!(refused[0]["rate"], 2);
    server.stop().await;
}

/// Waits up to `within` for the server to close `stream` (end or reset).
async fn closed_by_server(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buffer = [0u8; 64];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_connections_cannot_starve_another_and_is_cut_off() {
    let mut options = enshu_server::ServerOptions::default();
    options.fair_share.portal_per_address = 8;
    options.handshake_timeout = Duration::from_secs(1);
    options.header_read_timeout = Duration::from_secs(1);
    let server = TestServer::start_with(2, options).await;
    let address: std::net::SocketAddr = server
        .url("")
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    // 127.0.0.1 holds its 8 places with connections that never say hello.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(tokio::net::TcpStream::connect(address).await.unwrap());
    }
    // Wait until the server took all eight.
    let started = Instant::now();
    while server.state.fair_share().portal_connections_open() < 8 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "connections not accepted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A ninth is closed at once, and counted.
    let mut over = tokio::net::TcpStream::connect(address).await.unwrap();
    assert!(
        closed_by_server(&mut over, Duration::from_millis(500)).await,
        "a connection over the cap stayed open"
    );
    // Another address of the same machine is answered at once.
    let other = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let asked = Instant::now();
    let response = other
        .get(server.url("/api/team"))
        .bearer_auth(team_token(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answered_in = asked.elapsed();
    assert!(answered_in < Duration::from_millis(500), "{answered_in:?}");
    let report: Value = other
        .get(server.url("/api/instructor/fair-share"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["refused_connections"]["per_address"], 1, "{report}");
    assert_eq!(report["limits"]["portal_per_address"], 8);
    // The half-open ones are closed once their handshake timed out.
    for stream in &mut held {
        assert!(
            closed_by_server(stream, Duration::from_secs(3)).await,
            "a silent connection outlived the handshake timeout"
        );
    }
    // A connection left idle after its request is closed too, and the
    // address is served normally again.
    drop(other);
    let started = Instant::now();
    while server.state.fair_share().portal_connections_open() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{} connections still open",
            server.state.fair_share().portal_connections_open()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle = support::client();
    let response = idle
        .get(server.url("/api/team"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.state.fair_share().portal_connections_open(), 1);
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert_eq!(
        server.state.fair_share().portal_connections_open(),
        0,
        "an idle keep-alive connection outlived the header-read timeout"
    );
    // The client reconnects transparently.
    let response = idle
        .get(server.url("/api/team"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_counts_are_kept_in_the_store_and_survive_a_restart() {
    let mut options = enshu_server::ServerOptions::default();
    options.fair_share.read.burst = 2;
    options.refusals_saved_every = Duration::from_millis(200);
    let server = TestServer::start_with(2, options.clone()).await;
    let read = |server: &TestServer| {
        server
            .client
            .get(server.url("/api/team"))
            .bearer_auth(team_token(1))
            .send()
    };
    let mut refused = 0;
    for _ in 0..50 {
        if read(&server).await.unwrap().status() == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 47, "{refused}");
    // Saved within the interval, as one count, not one row or event each.
    let started = Instant::now();
    loop {
        let saved = server.store.refusals(server.session).await.unwrap();
        if saved.iter().map(|tally| tally.count).sum::<u64>() == refused {
            assert_eq!(saved.len(), 1, "{saved:?}");
            assert_eq!((saved[0].team, saved[0].kind.as_str()), (Some(1), "read"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{saved:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events_before = server.store.last_seq(server.session).await.unwrap();
    // Refused just before a stop: saved at shutdown.
    options.refusals_saved_every = Duration::from_secs(3600);
    let mut last = 0;
    for _ in 0..3 {
        if read(&server).await.unwrap().status() == 429 {
            last += 1;
        }
    }
    let server = server.restart(2, options).await;
    assert_eq!(
        server.store.last_seq(server.session).await.unwrap(),
        events_before
    );
    let started = Instant::now();
    loop {
        let report = fair_share_report(&server).await;
        let total = report["refused"][0]["total"].as_u64().unwrap_or(0);
        if total == refused + last {
            assert_eq!(report["refused"][0]["kind"], "read");
            assert_eq!(report["refused"][0]["team"], 1);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "{report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_outlives_the_header_read_timeout() {
    use futures_util::StreamExt as _;
    let options = enshu_server::ServerOptions {
        header_read_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let server = TestServer::start_with(2, options).await;
    let response = server
        .client
        .get(server.url("/events"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    // Quiet for four times the timeout: the stream is a response being
    // written, not a connection waiting for headers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server
        .store
        .append(
            server.session,
            Some(1),
            EventKind::InstructorNote {
                text: "still there".into(),
            },
            "instructor:cli",
        )
        .await
        .unwrap();
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !received.contains("event: update") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("an update within 5 s")
            .expect("the stream is still open")
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_cut_off_in_the_callers_language_and_counted() {
    use futures_util::StreamExt as _;
    let options = enshu_server::ServerOptions {
        body_read_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let server = TestServer::start_with(2, options).await;
    server.start_clock().await;
    server.fire_beacon().await;
    // Headers at once, then a piece of the answer, then nothing.
    let trickle = futures_util::stream::iter([Ok::<_, std::io::Error>(
        br#"{"objective": "find-host", "#.to_vec(),
    )])
    .chain(futures_util::stream::pending());
    let sent = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        server
            .client
            .post(server.url("/api/team/answers"))
            .bearer_auth(team_token(1))
            .header("accept-language", "ja")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(trickle))
            .send(),
    )
    .await
    .expect("the server cut the trickling body off")
    .unwrap();
    let answered_in = sent.elapsed();
    assert_eq!(response.status(), 408);
    assert!(
        answered_in >= Duration::from_secs(1) && answered_in < Duration::from_secs(3),
        "{answered_in:?}"
    );
    assert_eq!(
        response.headers()["connection"],
        "close",
        "the connection is not kept for another request"
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("打ち切りました"), "{text}");
    let report = fair_share_report(&server).await;
    assert_eq!(report["refused_connections"]["slow_body"], 1, "{report}");
    // An answer sent whole is taken as before.
    let response = answer(&server, 1, "en").await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_gives_no_team_its_quota_again() {
    let mut options = enshu_server::ServerOptions::default();
    options.fair_share.firewall.quota = Some(3);
    let server = TestServer::start_with(2, options.clone()).await;
    let block = |server: &TestServer, team: u32, address: &str| {
        server
            .client
            .post(server.url("/api/team/firewall"))
            .bearer_auth(team_token(team))
            .json(&json!({"action": "block", "address": address}))
            .send()
    };
    let (_, plan, _) = support::quickstart_plan(2);
    let team_2_host = plan.teams[1].containers[0].networks[0].address.to_string();
    for address in ["10.64.100.21", "10.64.100.22", "10.64.100.23"] {
        assert_eq!(block(&server, 1, address).await.unwrap().status(), 200);
    }
    assert_eq!(
        block(&server, 1, "10.64.100.24").await.unwrap().status(),
        429
    );
    let server = server.restart(2, options).await;
    // The three blocks in the log still count: the first request after the
    // start is refused, in the team's language.
    let refused = server
        .client
        .post(server.url("/api/team/firewall"))
        .bearer_auth(team_token(1))
        .header("accept-language", "ja")
        .json(&json!({"action": "block", "address": "10.64.100.24"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("上限回数"),
        "{body}"
    );
    // Team 2's allowance is its own.
    assert_eq!(block(&server, 2, &team_2_host).await.unwrap().status(), 200);
    server.stop().await;
}
