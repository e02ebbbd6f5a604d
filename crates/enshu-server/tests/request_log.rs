//! Operating the server: the request log, one line a request with caller,
//! route, status and latency, and no secret. Alone in its test binary:
//! beside another test's thread (the metrics test, once in the same file),
//! tracing's callsite interest was cached as "nobody listens" and the
//! line never reached this test's subscriber (1 run in 3).

mod support;

use serde_json::Value;
use support::{CapturedLog, INSTRUCTOR_TOKEN, TestServer, team_token};

#[tokio::test]
async fn each_request_logs_caller_route_status_and_latency_but_no_secret() {
    let (captured, _guard) = CapturedLog::start(tracing::Level::INFO, true);
    let server = TestServer::start().await;
    let team = server
        .client
        .get(server.url("/api/team"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), 200);
    let page = server
        .client
        .get(server.url("/teams/2"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let (cookie, _csrf) = server.login(&team_token(2)).await;
    let refused = server
        .client
        .get(server.url("/teams/1"))
        .header("cookie", format!("__Host-enshu-session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    server.stop().await;

    let log = captured.text();
    let requests: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "enshu_server::request")
        .collect();
    let find = |caller: &str, route: &str| {
        requests
            .iter()
            .find(|line| line["caller"] == caller && line["route"] == route)
            .unwrap_or_else(|| panic!("no request line of {caller} for {route} in {requests:#?}"))
    };
    let line = find("team:1", "/api/team");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    // The matched template, not the raw path.
    assert_eq!(find("instructor", "/teams/{team}")["status"], 200);
    assert_eq!(find("team:2", "/teams/{team}")["status"], 403);
    for secret in [
        team_token(1),
        team_token(2),
        INSTRUCTOR_TOKEN.to_owned(),
        cookie,
    ] {
        assert!(!log.contains(&secret), "a secret reached the log:\n{log}");
    }
    assert!(
        !log.contains("/teams/2\""),
        "a raw path reached the log:\n{log}"
    );
}
