//! Operating the server: `/metrics` in the Prometheus text format, for
//! the instructor only (the request log is `tests/request_log.rs`).

mod support;

use std::collections::BTreeSet;

use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

#[tokio::test]
async fn metrics_are_the_instructors_in_the_prometheus_text_format() {
    let server = TestServer::start().await;
    server.start_clock().await;
    server.fire_beacon().await;
    let answer = server
        .client
        .post(server.url("/api/team/answers"))
        .bearer_auth(team_token(1))
        .json(&serde_json::json!({"objective": "find-host", "answer": "www"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let team = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth(team_token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), 403, "a team may not read the metrics");
    let anonymous = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth("not-a-token-of-this-range-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let response = server
        .client
        .get(server.url("/metrics"))
        .bearer_auth(INSTRUCTOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let exposition = parse(&text);
    for (name, kind) in [
        ("enshu_fire_round_lag_seconds", "gauge"),
        ("enshu_inject_fire_skew_seconds", "gauge"),
        ("enshu_check_round_seconds", "gauge"),
        ("enshu_sse_clients", "gauge"),
        ("enshu_agent_fallbacks_total", "counter"),
        ("enshu_team_events_total", "counter"),
        ("enshu_way_in_connections", "gauge"),
        ("enshu_refused_requests_total", "counter"),
    ] {
        assert_eq!(
            exposition.types.get(name).map(String::as_str),
            Some(kind),
            "no `# TYPE {name} {kind}` in:\n{text}"
        );
        assert!(
            exposition
                .samples
                .iter()
                .any(|(sample, _, _)| sample == name),
            "no sample of {name} in:\n{text}"
        );
    }
    // Every sample belongs to a declared family.
    for (sample, _, _) in &exposition.samples {
        assert!(
            exposition.types.contains_key(sample),
            "{sample} has no TYPE line"
        );
    }
    // Team 1 answered, team 2 did nothing: counted by team name.
    let events = |team: &str| {
        exposition
            .samples
            .iter()
            .find(|(name, labels, _)| {
                name == "enshu_team_events_total" && labels == &format!("team=\"{team}\"")
            })
            .map(|(_, _, value)| *value)
            .unwrap_or_else(|| panic!("no event count of {team}:\n{text}"))
    };
    assert!(events("t01") >= 1.0, "{text}");
    assert_eq!(events("t02"), 0.0, "{text}");
    server.stop().await;
}

struct Exposition {
    types: std::collections::BTreeMap<String, String>,
    /// (name, labels without braces, value)
    samples: Vec<(String, String, f64)>,
}

/// The text format, strictly: `# HELP`/`# TYPE` lines, then
/// `name{labels} value` with a metric name of `[a-zA-Z_:][a-zA-Z0-9_:]*`
/// and a value that parses as a float.
fn parse(text: &str) -> Exposition {
    let mut types = std::collections::BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP name text");
            helped.insert(name.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "{line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (
                name,
                labels
                    .strip_suffix('}')
                    .expect("labels end with }")
                    .to_string(),
            ),
            None => (series, String::new()),
        };
        assert!(
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        samples.push((name.to_string(), labels, value));
    }
    assert_eq!(
        helped,
        types.keys().cloned().collect::<BTreeSet<_>>(),
        "every family has HELP and TYPE"
    );
    Exposition { types, samples }
}
