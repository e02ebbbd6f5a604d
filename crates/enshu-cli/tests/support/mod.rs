//! What the CLI's Docker tests share: running `enshu` with the tests' state
//! directory, the docker CLI, and a session removed even when a test fails.

#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn state_dir() -> String {
    format!("{}/enshu-range-tests", std::env::temp_dir().display())
}

pub fn enshu(arguments: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(arguments)
        .env("ENSHU_STATE_DIR", state_dir())
        .output()
        .expect("running enshu");
    eprintln!(
        "$ enshu {}\n{}{}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The session's events (`enshu export`, not echoed: it is long).
pub fn export(session: &str) -> Vec<serde_json::Value> {
    let export = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(["export", "--session", session])
        .env("ENSHU_STATE_DIR", state_dir())
        .output()
        .expect("running enshu export");
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let exported: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    exported["events"].as_array().unwrap().clone()
}

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}.yaml", env!("CARGO_MANIFEST_DIR"))
}

/// The docker CLI, which must succeed.
pub fn docker(arguments: &[&str]) -> String {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .expect("the docker CLI must be installed for these tests");
    assert!(
        output.status.success(),
        "docker {}: {}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A bash script in a container: its stdout, trimmed (whatever its status).
pub fn in_container(container: &str, script: &str) -> String {
    let output = Command::new("docker")
        .args(["exec", container, "bash", "-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Run `script` in `container` until it prints something, for at most
/// `limit`; the output and how long it took, or `None`.
pub fn wait_for_output(
    container: &str,
    script: &str,
    limit: Duration,
) -> Option<(String, Duration)> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let output = in_container(container, script);
        if !output.is_empty() {
            return Some((output, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// Names of what carries the session's label: `container`, `network` or `volume`.
pub fn labelled(kind: &str, session: &str) -> Vec<String> {
    let filter = format!("label=enshu.session={session}");
    let listing = match kind {
        "container" => docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]),
        "network" => docker(&[
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}}",
        ]),
        _ => docker(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]),
    };
    listing
        .lines()
        .map(str::to_string)
        .filter(|line| !line.is_empty())
        .collect()
}

/// Removes the session even when an assertion fails.
pub struct Session(pub String);

impl Session {
    pub fn new(prefix: &str) -> Session {
        let name = format!("{prefix}{}", std::process::id() % 100_000);
        let session = Session(name);
        session.remove();
        session
    }

    pub fn remove(&self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_enshu"))
            .args(["down", "--session", &self.0])
            .env("ENSHU_STATE_DIR", state_dir())
            .output();
    }

    /// The container of `host` in team 1.
    pub fn container(&self, host: &str) -> String {
        format!("enshu-{}-t01-{host}", self.0)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A child process (`enshu serve`) killed when the test ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
