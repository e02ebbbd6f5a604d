//! The real engine through the CLI: a server restart mid-exercise, and a
//! capture replay with a reset (every reference scenario played whole is
//! in `reference_scenarios.rs`). Needs Docker, root and the images; fails
//! (never skips) without them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn state_dir(name: &str) -> String {
    format!(
        "{}/enshu-exercise-tests-{name}",
        std::env::temp_dir().display()
    )
}

fn enshu(state: &str, arguments: &[&str]) -> std::process::Output {
    enshu_in(&std::env::current_dir().unwrap(), state, arguments)
}

/// `enshu` run from working directory `directory`.
fn enshu_in(directory: &Path, state: &str, arguments: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(arguments)
        .current_dir(directory)
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

fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(state: &str, session: &str, port: u16) -> Server {
    serve_in(&std::env::current_dir().unwrap(), state, session, port)
}

/// `enshu serve` run from working directory `directory`.
fn serve_in(directory: &Path, state: &str, session: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .current_dir(directory)
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
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("enshu serve did not listen on {port}");
}

fn fired(state: &str, session: &str) -> Vec<(u64, String, u64)> {
    export(state, session)
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

fn export(state: &str, session: &str) -> Vec<Value> {
    let export = enshu(state, &["export", "--session", session]);
    let results: Value = serde_json::from_slice(&export.stdout).unwrap();
    results["events"].as_array().unwrap().clone()
}

/// Tears a session down when the test ends, passed or not.
struct Down<'a>(&'a str, &'a str);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_enshu"))
            .args(["down", "--session", self.1])
            .env("ENSHU_STATE_DIR", self.0)
            .output();
    }
}

#[test]
fn restarting_the_server_mid_exercise_neither_repeats_nor_skips_an_inject() {
    let session = format!("rs{}", std::process::id() % 10_000);
    let state = state_dir("restart");
    let scenario = format!("{}/tests/fixtures/restart.yaml", env!("CARGO_MANIFEST_DIR"));
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
    the_way_in_shows_its_host_keys_and_a_revoked_token_stops_at_once(&state, &session, port);
}

/// `credentials` prints the way in's SSH host keys as `ssh-keygen -lf`
/// does; `token revoke` swaps team 1's portal token in the running server.
fn the_way_in_shows_its_host_keys_and_a_revoked_token_stops_at_once(
    state: &str,
    session: &str,
    port: u16,
) {
    let credentials = |state: &str| -> Value {
        let output = enshu(
            state,
            &["credentials", "--session", session, "--output", "json"],
        );
        assert!(output.status.success());
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let before = credentials(state);
    let team = &before["teams"][0];
    let keys = team["host_keys"].as_array().expect("host keys");
    assert!(!keys.is_empty(), "{team}");
    let way_in = format!("enshu-{session}-t01-analyst");
    let keygen = Command::new("bash")
        .args([
            "-c",
            "docker exec \"$1\" cat /run/enshu/ssh/ssh_host_ed25519_key.pub | ssh-keygen -lf -",
            "keygen",
            &way_in,
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&keygen.stdout);
    let expected = printed
        .split_whitespace()
        .nth(1)
        .expect("ssh-keygen's fingerprint");
    assert!(
        keys.iter()
            .any(|key| key["algorithm"] == "ssh-ed25519" && key["fingerprint"] == expected),
        "{keys:?} lacks {expected}"
    );

    let old_token = team["portal_token"].as_str().unwrap().to_string();
    let status = |token: &str| -> String {
        let output = Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .arg(format!("https://127.0.0.1:{port}/api/team"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(status(&old_token), "200");
    let revoked = enshu(
        state,
        &[
            "token",
            "revoke",
            "--session",
            session,
            "--team",
            "1",
            "--output",
            "json",
        ],
    );
    assert!(revoked.status.success());
    let revoked: Value = serde_json::from_slice(&revoked.stdout).unwrap();
    assert_eq!(revoked["server_updated"], true);
    let new_token = revoked["portal_token"].as_str().unwrap();
    assert_ne!(new_token, old_token);
    assert_eq!(status(&old_token), "401");
    assert_eq!(status(new_token), "200");
    // `credentials` hands out the new one from now on.
    assert_eq!(credentials(state)["teams"][0]["portal_token"], new_token);
}

fn note_starting(events: &[Value], prefix: &str) -> Option<String> {
    events.iter().find_map(|event| {
        let text = event["kind"]["text"].as_str()?;
        text.starts_with(prefix).then(|| text.to_string())
    })
}

fn docker_exec(container: &str, script: &str) -> String {
    let output = Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Poll `condition` every 500 ms until it holds or `limit` passes.
fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_capture_replays_into_the_team_range_and_a_reset_brings_the_attack_back() {
    let replay_binary =
        std::path::Path::new(env!("CARGO_BIN_EXE_enshu")).with_file_name("enshu-replay");
    assert!(
        replay_binary.is_file(),
        "{} is missing: `make test` builds it (cargo build -p enshu-replay)",
        replay_binary.display()
    );
    let session = format!("rr{}", std::process::id() % 10_000);
    let state = state_dir("replay-reset");
    let scenario = format!(
        "{}/tests/fixtures/replay-reset.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let _down = Down(&state, &session);
    let _ = std::fs::remove_file(format!("{state}/sessions/{session}.db"));
    let up = enshu(
        &state,
        &[
            "up",
            &scenario,
            "--session",
            &session,
            "--pool",
            "10.184.0.0/13",
        ],
    );
    assert!(up.status.success());
    let analyst = format!("enshu-{session}-t01-analyst");
    let pc = format!("enshu-{session}-t01-pc01");
    let received = || -> u64 {
        docker_exec(&analyst, "cat /sys/class/net/eth0/statistics/rx_packets")
            .parse()
            .unwrap()
    };
    let before = received();
    let port = 45_000 + (std::process::id() % 5_000) as u16 * 2;
    let _server = serve(&state, &session, port);
    assert!(
        enshu(&state, &["clock", "start", "--session", &session])
            .status
            .success()
    );

    // The capture plays from pc01's network namespace onto the office
    // segment: every frame the sender counts reaches the analyst's interface.
    let mut finished = None;
    wait_for(Duration::from_secs(60), "the replay to finish", || {
        finished = note_starting(&export(&state, &session), "replay of inject scan");
        finished.is_some()
    });
    let finished = finished.unwrap();
    assert!(finished.contains("finished: "), "{finished}");
    let sent: u64 = finished
        .split("finished: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        sent, 2011,
        "every frame of synscan.pcapng maps into the team: {finished}"
    );
    assert!(finished.contains(", 0 refused"), "{finished}");
    let arrived = received() - before;
    assert!(
        arrived >= sent,
        "{arrived} frames arrived at the analyst for {sent} sent"
    );
    let events = export(&state, &session);
    let scan = events
        .iter()
        .find(|event| event["kind"]["kind"] == "inject_fired" && event["kind"]["inject"] == "scan")
        .unwrap();
    let pc_address = scan["kind"]["ground_truth"]["map"]["172.16.0.8"]
        .as_str()
        .unwrap();
    assert!(pc_address.starts_with("10.184."), "{scan}");

    // The dropper lands; then the team's range is rebuilt: the checks see a
    // clean range, and the engine plants the dropper again.
    wait_for(Duration::from_secs(30), "the dropper", || {
        docker_exec(&pc, "test -e /tmp/update.sh && echo yes") == "yes"
    });
    let reset = enshu(
        &state,
        &[
            "reset",
            "--session",
            &session,
            "--team",
            "1",
            "--output",
            "json",
        ],
    );
    assert!(reset.status.success());
    let report: Value = serde_json::from_slice(&reset.stdout).unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["log_told"], true, "{report}");
    assert_eq!(
        report["checks"][0]["result"], "passed",
        "file_absent on the rebuilt pc01: {report}"
    );
    // The engine fires it again into the rebuilt range (recorded once the
    // file is planted).
    let dropper_fires = || {
        fired(&state, &session)
            .iter()
            .filter(|(_, inject, _)| inject == "dropper")
            .count()
    };
    wait_for(
        Duration::from_secs(30),
        "the dropper fired again after the reset",
        || dropper_fires() >= 2,
    );
    assert_eq!(
        docker_exec(&pc, "test -e /tmp/update.sh && echo yes"),
        "yes",
        "the rebuilt pc01 has the dropper again"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dropper_fires(),
        2,
        "once before the reset, once after, never more"
    );
}

/// A scenario beside its capture, in a throw-away checkout: replay-reset's
/// network with its capture at `captures/synscan.pcapng`, relative to the
/// scenario file as the format says.
fn checkout_with_a_capture(root: &Path, capture: bool) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(root);
    let checkout = root.join("checkout");
    std::fs::create_dir_all(checkout.join("captures")).unwrap();
    let fixture = std::fs::read_to_string(format!(
        "{}/tests/fixtures/replay-reset.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let scenario = fixture.replace(
        "../../../../tests/fixtures/pcaps/synscan.pcapng",
        "captures/synscan.pcapng",
    );
    assert_ne!(scenario, fixture, "the fixture names its capture");
    std::fs::write(checkout.join("scenario.yaml"), scenario).unwrap();
    if capture {
        std::fs::copy(
            repository().join("tests/fixtures/pcaps/synscan.pcapng"),
            checkout.join("captures/synscan.pcapng"),
        )
        .unwrap();
    }
    checkout
}

#[test]
fn up_refuses_a_missing_capture_with_its_location_before_touching_docker() {
    let root = std::env::temp_dir().join(format!("capab-missing-{}", std::process::id()));
    let checkout = checkout_with_a_capture(&root, false);
    let state = state_dir("missing-capture");
    let session = format!("capabm{}", std::process::id() % 10_000);
    for command in [
        vec!["validate", "scenario.yaml"],
        vec!["up", "scenario.yaml", "--session", &session],
    ] {
        let output = enshu_in(&checkout, &state, &command);
        assert!(!output.status.success(), "{command:?} must refuse");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("scenario.yaml:19:15: capture \"captures/synscan.pcapng\""),
            "{command:?}: {stderr}"
        );
        assert!(stderr.contains("injects[0].action.replay.pcap"), "{stderr}");
    }
    assert!(
        !Path::new(&state)
            .join(format!("sessions/{session}.json"))
            .exists(),
        "a refused up leaves no session behind"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_session_brought_up_in_one_directory_replays_when_served_from_another() {
    let replay_binary =
        std::path::Path::new(env!("CARGO_BIN_EXE_enshu")).with_file_name("enshu-replay");
    assert!(
        replay_binary.is_file(),
        "{} is missing: `make test` builds it (cargo build -p enshu-replay)",
        replay_binary.display()
    );
    let root = std::env::temp_dir().join(format!("capab-cwd-{}", std::process::id()));
    let checkout = checkout_with_a_capture(&root, true);
    let session = format!("capabc{}", std::process::id() % 10_000);
    let state = state_dir("served-elsewhere");
    let _down = Down(&state, &session);
    let _ = std::fs::remove_file(format!("{state}/sessions/{session}.db"));
    // `up` from the checkout, naming the scenario as the instructor types it.
    let up = enshu_in(
        &checkout,
        &state,
        &[
            "up",
            "scenario.yaml",
            "--session",
            &session,
            "--pool",
            "10.188.0.0/14",
        ],
    );
    assert!(up.status.success());
    let kept = Path::new(&state).join(format!("sessions/{session}.files"));
    assert!(
        kept.join("1-synscan.pcapng").is_file(),
        "up keeps the capture"
    );
    // The checkout moves away, and the server runs from elsewhere.
    let moved = root.join("moved");
    std::fs::rename(&checkout, &moved).unwrap();
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let port = 35_000 + (std::process::id() % 2_500) as u16 * 2;
    let _server = serve_in(&elsewhere, &state, &session, port);
    assert!(
        enshu_in(
            &elsewhere,
            &state,
            &["clock", "start", "--session", &session]
        )
        .status
        .success()
    );
    let mut finished = None;
    wait_for(Duration::from_secs(60), "the replay to finish", || {
        finished = note_starting(&export(&state, &session), "replay of inject scan");
        finished.is_some()
    });
    let finished = finished.unwrap();
    assert!(
        finished.contains("finished: 2011 frames sent"),
        "the capture kept in the state replays: {finished}"
    );
    drop(_server);
    let down = enshu_in(&elsewhere, &state, &["down", "--session", &session]);
    assert!(down.status.success());
    assert!(!kept.exists(), "down removes the kept captures");
    assert_eq!(containers(&session), 0);
    let _ = std::fs::remove_dir_all(&root);
}
