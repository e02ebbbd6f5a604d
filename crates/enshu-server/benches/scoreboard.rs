//! Scoreboard throughput over TLS with 50 teams of data, against a minimal
//! axum handler behind the same TLS listener, and SSE delivery latency to
//! 1,000 clients. Loopback only; bounded in time and count.
//! Run: `cargo bench -p enshu-server --bench scoreboard`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use enshu_server::{ServerOptions, TlsConfig};
use enshu_store::EventKind;
use futures_util::StreamExt;
use support::{INSTRUCTOR_TOKEN, TestServer};

const TEAMS: u32 = 50;
const CONCURRENCY: usize = 16;
const MEASURE: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;
const SSE_CLIENTS: usize = 1000;
const SSE_EVENTS: usize = 20;

async fn requests_per_second(url: &str, bearer: Option<&str>) -> f64 {
    let client = support::client();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + MEASURE;
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, done, bearer) = (
            client.clone(),
            url.to_owned(),
            done.clone(),
            bearer.map(str::to_owned),
        );
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let mut request = client.get(&url);
                if let Some(token) = &bearer {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / MEASURE.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = TestServer::start_with(TEAMS, ServerOptions::default()).await;
    let store = &server.store;
    server.start_clock().await;
    server.fire_beacon().await;
    for team in 1..=TEAMS {
        for (objective, answer) in [
            ("find-host", "www"),
            ("find-host", "pc01"),
            ("find-c2", "1.2.3.4"),
        ] {
            store
                .append(
                    server.session,
                    Some(team),
                    EventKind::Submission {
                        objective: objective.into(),
                        answer: answer.into(),
                        correct: answer == "pc01",
                    },
                    &format!("team:{team}"),
                )
                .await
                .unwrap();
        }
        store
            .append(
                server.session,
                Some(team),
                EventKind::HintTaken {
                    objective: "find-host".into(),
                    hint_index: 0,
                    penalty: 20,
                },
                &format!("team:{team}"),
            )
            .await
            .unwrap();
        store
            .append(
                server.session,
                Some(team),
                EventKind::CheckResult {
                    objective: "block-c2".into(),
                    check: enshu_store::CheckResultKind::Automatic(
                        enshu_scenario::model::CheckKind::NoBeacon,
                    ),
                    passed: team % 2 == 0,
                    detail: String::new(),
                },
                "checker",
            )
            .await
            .unwrap();
        store
            .append(
                server.session,
                Some(team),
                EventKind::InstructorNote {
                    text: "watching".into(),
                },
                "instructor:sato",
            )
            .await
            .unwrap();
    }
    let events = store.last_seq(server.session).await.unwrap();

    // Minimal handler behind the same TLS listener.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let minimal_address = listener.local_addr().unwrap();
    let tls_listener = enshu_server::tls::TlsListener::new(
        listener,
        TlsConfig::self_signed().server_config().unwrap(),
    );
    tokio::spawn(async move {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        axum::serve(tls_listener, app).await.unwrap();
    });

    // Body sizes: TLS and the client's parsing scale with them.
    let body_client = server.client.clone();
    let body_bytes = |url: String, bearer: Option<&'static str>| {
        let client = body_client.clone();
        async move {
            let mut request = client.get(url);
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().bytes().await.unwrap().len()
        }
    };
    let json_bytes = body_bytes(
        server.url("/api/instructor/scoreboard"),
        Some(INSTRUCTOR_TOKEN),
    )
    .await;
    let html_bytes = body_bytes(server.url("/fragments/scoreboard"), Some(INSTRUCTOR_TOKEN)).await;
    println!(
        "scoreboard over TLS, {TEAMS} teams, {events} events, {CONCURRENCY} concurrent keep-alive clients, {}s per endpoint and round, {ROUNDS} interleaved rounds:",
        MEASURE.as_secs()
    );
    // Interleaved rounds, each with its own anchor, so that load from
    // elsewhere on a shared machine hits all three alike.
    let mut json_ratios = Vec::new();
    let mut html_ratios = Vec::new();
    for round in 1..=ROUNDS {
        let scoreboard_rps = requests_per_second(
            &server.url("/api/instructor/scoreboard"),
            Some(INSTRUCTOR_TOKEN),
        )
        .await;
        let minimal_rps = requests_per_second(&format!("https://{minimal_address}/"), None).await;
        let html_rps =
            requests_per_second(&server.url("/fragments/scoreboard"), Some(INSTRUCTOR_TOKEN)).await;
        json_ratios.push(scoreboard_rps / minimal_rps);
        html_ratios.push(html_rps / minimal_rps);
        println!("  round {round}:");
        println!(
            "    GET /api/instructor/scoreboard   {scoreboard_rps:>9.0} req/s  ({:.3} of minimal, {json_bytes} bytes)",
            scoreboard_rps / minimal_rps
        );
        println!(
            "    GET /fragments/scoreboard (HTML) {html_rps:>9.0} req/s  ({:.3} of minimal, {html_bytes} bytes)",
            html_rps / minimal_rps
        );
        println!("    minimal axum handler             {minimal_rps:>9.0} req/s");
    }
    let median = |ratios: &mut Vec<f64>| {
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    println!(
        "  median ratio: JSON {:.3}, HTML {:.3}",
        median(&mut json_ratios),
        median(&mut html_ratios)
    );

    // SSE: 1,000 clients, SSE_EVENTS events, latency append → receipt.
    let client = support::client();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sent_at = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        u64,
        Instant,
    >::new()));
    let mut readers = Vec::new();
    let connected = Arc::new(AtomicU64::new(0));
    for _ in 0..SSE_CLIENTS {
        let (client, url, latencies, sent_at, connected) = (
            client.clone(),
            server.url("/events"),
            latencies.clone(),
            sent_at.clone(),
            connected.clone(),
        );
        readers.push(tokio::spawn(async move {
            let response = client
                .get(url)
                .bearer_auth(INSTRUCTOR_TOKEN)
                .send()
                .await
                .unwrap();
            connected.fetch_add(1, Ordering::Relaxed);
            let mut stream = response.bytes_stream();
            let mut received = 0;
            let mut buffer = String::new();
            while received < SSE_EVENTS {
                let Ok(Some(Ok(chunk))) =
                    tokio::time::timeout(Duration::from_secs(30), stream.next()).await
                else {
                    break;
                };
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    if let Some(id) = frame
                        .lines()
                        .find_map(|line| line.strip_prefix("id: "))
                        .and_then(|id| id.trim().parse::<u64>().ok())
                    {
                        if let Some(sent) = sent_at.lock().unwrap().get(&id) {
                            latencies.lock().unwrap().push(now.duration_since(*sent));
                        }
                        received += 1;
                    }
                }
            }
        }));
    }
    let connect_deadline = Instant::now() + Duration::from_secs(60);
    while (connected.load(Ordering::Relaxed) as usize) < SSE_CLIENTS
        && Instant::now() < connect_deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..SSE_EVENTS {
        let next_seq = store.last_seq(server.session).await.unwrap() + 1;
        sent_at.lock().unwrap().insert(next_seq, Instant::now());
        // Appended by "another process": straight into the store, as the injector would.
        server
            .state
            .store()
            .append(
                server.session,
                Some(1),
                EventKind::InstructorNote {
                    text: "tick".into(),
                },
                "bench",
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    for reader in readers {
        let _ = tokio::time::timeout(Duration::from_secs(30), reader).await;
    }
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "SSE: {} clients connected, {} deliveries of {} expected; p50 {:?}, p99 {:?}, max {:?} (store poll interval {:?})",
        connected.load(Ordering::Relaxed),
        latencies.len(),
        SSE_CLIENTS * SSE_EVENTS,
        percentile(0.50),
        percentile(0.99),
        latencies.last().copied().unwrap_or_default(),
        ServerOptions::default().store_poll_interval
    );
    server.stop().await;
}
