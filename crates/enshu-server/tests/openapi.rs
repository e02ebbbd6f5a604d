//! The OpenAPI description (`openapi.yaml`, served at `/api/openapi.yaml`)
//! stays true: it names exactly the router's `/api/` routes and methods,
//! and schemathesis (from PyPI, installed by `make deps`) fuzzes a served
//! exercise through it, as a team and as the instructor (its examples,
//! coverage, fuzzing and stateful phases: 619 and 1,039 cases), finding
//! no 5xx and no response outside its schema. Without schemathesis the
//! test fails.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{INSTRUCTOR_TOKEN, TestServer, team_token};

const OPENAPI: &str = include_str!("../openapi.yaml");
const ROUTER: &str = include_str!("../src/router.rs");
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    serde_saphyr::from_str(OPENAPI).expect("openapi.yaml is YAML")
}

/// `METHOD path` for every operation of the document.
fn documented_operations(document: &Value) -> BTreeSet<String> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|key| METHODS.contains(&key.as_str()))
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect()
}

/// `METHOD path` for every `.route("path", get(..).post(..))` of
/// `router.rs` (axum lists no routes, so its source is read).
fn router_operations(source: &str) -> BTreeSet<String> {
    let mut operations = BTreeSet::new();
    for route in source.split(".route(").skip(1) {
        let route = route.split(".layer(").next().unwrap_or(route);
        let path = route
            .split('"')
            .nth(1)
            .expect("a route starts with its path");
        let handlers = &route[route.find(',').expect("a route has handlers")..];
        for method in METHODS {
            let called = handlers
                .match_indices(&format!("{method}("))
                .any(|(at, _)| {
                    at == 0
                        || !handlers.as_bytes()[at - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[at - 1] != b'_'
                });
            if called {
                operations.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    operations
}

#[test]
fn the_router_source_is_read_as_axum_means_it() {
    let source = r#"Router::new()
        .route("/a", get(pages::a).post(pages::post_a))
        .route("/api/x/{id}", post(api::x::forget_it))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn(crate::post(x)))"#;
    assert_eq!(
        router_operations(source),
        BTreeSet::from([
            "GET /a".to_owned(),
            "POST /a".to_owned(),
            "POST /api/x/{id}".to_owned(),
            "GET /healthz".to_owned(),
        ])
    );
}

#[test]
fn the_description_names_every_api_route_and_no_other() {
    let documented = documented_operations(&document());
    let routed: BTreeSet<String> = router_operations(ROUTER)
        .into_iter()
        .filter(|operation| {
            operation
                .split(' ')
                .nth(1)
                .is_some_and(|path| path.starts_with("/api/"))
        })
        .collect();
    assert!(
        routed.len() > 20,
        "the router's API routes were not found: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}; described but not routed: {unrouted:?}"
    );
    // Every operation says who may call it.
    for (path, item) in document()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let tags = &operation["tags"];
            let expected = if path.starts_with("/api/team") {
                json!(["team"])
            } else if path.starts_with("/api/instructor") {
                json!(["instructor"])
            } else {
                assert_eq!(operation["security"], json!([]), "{method} {path}");
                continue;
            };
            assert_eq!(tags, &expected, "{method} {path}'s tag");
        }
    }
}

#[tokio::test]
async fn the_server_serves_its_description_to_anyone() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    assert_eq!(response.text().await.unwrap(), OPENAPI);
    server.stop().await;
}

/// Where `make deps` (infra/deps.sh) installs schemathesis, or
/// `ENSHU_SCHEMATHESIS`.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("ENSHU_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache.join("enshu/schemathesis/bin/schemathesis")
}

/// One schemathesis run over the operations tagged `tag`, as `token`.
fn fuzz(
    base_url: &str,
    schema: &std::path::Path,
    tag: &str,
    token: &str,
    reports: &std::path::Path,
) {
    let binary = schemathesis();
    assert!(
        binary.exists(),
        "schemathesis is not installed at {} (run `make deps`, or set ENSHU_SCHEMATHESIS)",
        binary.display()
    );
    let started = std::time::Instant::now();
    let output = Command::new("timeout")
        .arg("600")
        .arg(&binary)
        .args(["run", &schema.display().to_string(), "--url", base_url])
        .args(["--include-tag", tag])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args([
            "--max-examples",
            "40",
            "--seed",
            "20261203",
            "--workers",
            "1",
        ])
        .args(["--tls-verify", "false", "--request-timeout", "10"])
        .args([
            "--report",
            "junit",
            "--report-dir",
            &reports.display().to_string(),
        ])
        .args(["--warnings", "off"])
        .env("NO_COLOR", "1")
        // Its cache (`.schemathesis/`) beside the schema, not in the checkout.
        .current_dir(schema.parent().expect("the schema is in a directory"))
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "schemathesis as {tag}: {} in {:.1} s\n{}",
        output.status,
        started.elapsed().as_secs_f64(),
        stdout
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        output.status.success(),
        "schemathesis found problems as {tag}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The stateful phase chains calls along the links schemathesis infers
    // (a report sent, then read by its seq); it must have run, not been
    // skipped for want of links.
    assert!(
        stdout.lines().any(|line| line.trim() == "✅ Stateful"),
        "schemathesis as {tag} did not run its stateful phase:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let server = TestServer::start().await;
    // Something for the id routes to find: a running clock, the beacon
    // fired (its question open), a report and an answer of team 1.
    server.start_clock().await;
    server.fire_beacon().await;
    let report = json!({"form": "first-report", "fields": {
        "detected_at": "2025-06-01T10:15", "trigger": "soc_alert", "category": "malware",
        "affected_hosts": ["pc01"], "personal_data": false, "actions": "blocked the C2"}});
    let response = server
        .client
        .post(server.url("/api/team/reports"))
        .bearer_auth(team_token(1))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let directory = std::env::temp_dir().join(format!("enshu-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let schema = directory.join("openapi.yaml");
    std::fs::write(&schema, OPENAPI).unwrap();
    let reports = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    let base_url = server.base_url.clone();
    // The team first: the instructor's run replaces team tokens.
    tokio::task::spawn_blocking(move || {
        fuzz(
            &base_url,
            &schema,
            "team",
            &team_token(1),
            &reports.join("team"),
        );
        fuzz(
            &base_url,
            &schema,
            "instructor",
            INSTRUCTOR_TOKEN,
            &reports.join("instructor"),
        );
    })
    .await
    .unwrap();
    // The server still answers after both runs.
    let healthy = tokio::time::timeout(
        Duration::from_secs(5),
        server.client.get(server.url("/healthz")).send(),
    )
    .await
    .expect("the server answers within 5 s")
    .unwrap();
    assert_eq!(healthy.status(), 200);
    server.stop().await;
    let _ = std::fs::remove_dir_all(&directory);
}
