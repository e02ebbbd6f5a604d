//! A whole exercise against the real engine: `make demo`'s path with its
//! scores and timeline asserted, and a server restart mid-exercise. Needs
//! Docker, root and the images; fails (never skips) without them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn state_dir(name: &str) -> String {
    format!(
        "{}/enshu-exercise-tests-{name}",
        std::env::temp_dir().display()
    )
}

fn enshu(state: &str, arguments: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(arguments)
        .env("ENSHU_STATE_DIR", state)
        .output()
        .unwrap();
    eprintln!(
        "$ enshu {}\n{}{}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn containers(session: &str) -> usize {
    let output = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=enshu.session={session}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[test]
fn the_demo_exercise_scores_team_one_in_all_four_phases_and_cleans_up() {
    let session = format!("dm{}", std::process::id() % 10_000);
    let state = state_dir("demo");
    let port = (30_000 + std::process::id() % 10_000).to_string();
    let output = Command::new("bash")
        .arg(repository().join("infra/demo/run.sh"))
        .current_dir(repository())
        .env("ENSHU_BIN", env!("CARGO_BIN_EXE_enshu"))
        .env("ENSHU_STATE_DIR", &state)
        .env("ENSHU_DEMO_SESSION", &session)
        .env("ENSHU_DEMO_PORT", &port)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "make demo's script failed");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(repository().join("target/demo/results.json")).unwrap(),
    )
    .unwrap();
    let teams = results["scoreboard"]["teams"].as_array().unwrap();
    let phase_points = |team: &Value| -> Vec<i64> {
        team["score"]["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|phase| phase["points"].as_i64().unwrap())
            .collect()
    };
    assert!(
        phase_points(&teams[0]).iter().all(|points| *points > 0),
        "team 1 must score in every phase: {:?}",
        phase_points(&teams[0])
    );
    assert_eq!(teams[1]["total"], 0, "team 2 did nothing");
    // The timeline: each team saw the attack; team 1's answers and report are there.
    let events = results["events"].as_array().unwrap();
    let count = |team: u64, kind: &str, inject: &str| {
        events
            .iter()
            .filter(|event| {
                event["team"] == team
                    && event["kind"]["kind"] == kind
                    && (inject.is_empty() || event["kind"]["inject"] == inject)
            })
            .count()
    };
    for team in [1, 2] {
        for inject in ["beacon", "dropper", "deface", "soc-alert"] {
            assert_eq!(
                count(team, "inject_fired", inject),
                1,
                "team {team} inject {inject} fired exactly once"
            );
        }
    }
    assert!(
        count(1, "submission", "") >= 2
            && count(1, "report_submitted", "") == 1
            && count(1, "firewall_changed", "") == 1
    );
    assert_eq!(count(2, "submission", ""), 0);
    assert_eq!(containers(&session), 0, "the demo tears its ranges down");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(state: &str, session: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args([
            "serve",
            "--session",
            session,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--access-bind",
            "127.0.0.1",
        ])
        .args([
            "--access-base-port",
            &(port + 1).to_string(),
            "--check-interval",
            "2",
        ])
        .env("ENSHU_STATE_DIR", state)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server(child);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("enshu serve did not listen on {port}");
}

fn fired(state: &str, session: &str) -> Vec<(u64, String, u64)> {
    let export = enshu(state, &["export", "--session", session]);
    let results: Value = serde_json::from_slice(&export.stdout).unwrap();
    results["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"]["kind"] == "inject_fired")
        .map(|event| {
            (
                event["team"].as_u64().unwrap(),
                event["kind"]["inject"].as_str().unwrap().to_string(),
                event["exercise_ms"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn restarting_the_server_mid_exercise_neither_repeats_nor_skips_an_inject() {
    let session = format!("rs{}", std::process::id() % 10_000);
    let state = state_dir("restart");
    let scenario = format!("{}/tests/fixtures/restart.yaml", env!("CARGO_MANIFEST_DIR"));
    struct Down<'a>(&'a str, &'a str);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = Command::new(env!("CARGO_BIN_EXE_enshu"))
                .args(["down", "--session", self.1])
                .env("ENSHU_STATE_DIR", self.0)
                .output();
        }
    }
    let _down = Down(&state, &session);
    let _ = std::fs::remove_file(format!("{state}/sessions/{session}.db"));
    assert!(
        enshu(
            &state,
            &[
                "up",
                &scenario,
                "--session",
                &session,
                "--pool",
                "10.176.0.0/12"
            ]
        )
        .status
        .success()
    );
    let port = 40_000 + (std::process::id() % 5_000) as u16 * 2;

    let server = serve(&state, &session, port);
    assert!(
        enshu(&state, &["clock", "start", "--session", &session])
            .status
            .success()
    );
    let started = Instant::now();
    while !fired(&state, &session)
        .iter()
        .any(|(_, inject, _)| inject == "early")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the early inject never fired"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The server dies hard before `late` is due, and stays down past it.
    drop(server);
    while started.elapsed() < Duration::from_secs(28) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let _server = serve(&state, &session, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fired = fired(&state, &session);
        if fired.iter().any(|(_, inject, _)| inject == "chained") || Instant::now() > deadline {
            let names: Vec<&str> = fired.iter().map(|(_, inject, _)| inject.as_str()).collect();
            assert_eq!(
                names,
                ["early", "late", "chained"],
                "each inject exactly once, in order"
            );
            // The clock kept running while the server was down: `late` fired
            // on restart at its due time or later, not from zero.
            let late_ms = fired
                .iter()
                .find(|(_, inject, _)| inject == "late")
                .unwrap()
                .2;
            assert!(late_ms >= 25_000, "late fired at {late_ms} ms");
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
