//! The documented exit codes (README "Exit codes", `enshu --help`): 0 ok,
//! 1 error, 2 usage, 3 refused or not isolated. A script that drives
//! Enshu tells "the range leaks" from "Docker is down" by these alone.
//!
//! `a_range_that_is_not_isolated_exits_3` needs Docker, root (the host
//! guard) and the range images (`make images`); without them it fails, it
//! never skips. Run it under the shared Docker lock.

mod support;

use std::process::Command;

use support::{Session, docker, enshu, fixture};

fn code(output: &std::process::Output) -> Option<i32> {
    output.status.code()
}

#[test]
fn help_documents_the_exit_codes() {
    let help = enshu(&["--help"]);
    assert_eq!(code(&help), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for line in [
        "0  ok",
        "1  error",
        "2  usage",
        "3  refused or not isolated",
    ] {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
}

#[test]
fn a_wrong_command_line_exits_2() {
    assert_eq!(code(&enshu(&["up", "--no-such-option"])), Some(2));
    assert_eq!(code(&enshu(&["no-such-command"])), Some(2));
}

#[test]
fn validate_exits_0_for_a_good_scenario_3_for_a_refused_one_and_1_for_no_file() {
    assert_eq!(code(&enshu(&["validate", &fixture("terminal")])), Some(0));

    let directory = std::env::temp_dir().join(format!("enshu-exit-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let refused = directory.join("refused.yaml");
    // A host on a segment the scenario does not declare.
    std::fs::write(
        &refused,
        std::fs::read_to_string(fixture("terminal"))
            .unwrap()
            .replace("segment: office, address", "segment: nowhere, address"),
    )
    .unwrap();
    let output = enshu(&["validate", refused.to_str().unwrap()]);
    assert_eq!(code(&output), Some(3), "a refused scenario");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nowhere"));
    // `plan` and `up` refuse it the same way, before touching Docker.
    assert_eq!(
        code(&enshu(&[
            "plan",
            refused.to_str().unwrap(),
            "--session",
            "x"
        ])),
        Some(3)
    );
    assert_eq!(
        code(&enshu(&[
            "up",
            refused.to_str().unwrap(),
            "--session",
            "exit-refused"
        ])),
        Some(3)
    );

    let missing = directory.join("missing.yaml");
    let output = enshu(&["validate", missing.to_str().unwrap()]);
    assert_eq!(code(&output), Some(1), "a file that is not there");
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read file"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn docker_unreachable_exits_1_not_3() {
    let output = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(["up", &fixture("terminal"), "--session", "exit-nodocker"])
        .env("ENSHU_STATE_DIR", support::state_dir())
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/enshu-exit-codes/docker.sock",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), Some(1), "{stderr}");
    assert!(
        stderr.contains("connecting to the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn a_range_that_is_not_isolated_exits_3() {
    let session = Session::new("exit");
    let name = session.0.as_str();
    let up = enshu(&[
        "up",
        &fixture("terminal"),
        "--teams",
        "2",
        "--session",
        name,
    ]);
    assert_eq!(code(&up), Some(0), "enshu up failed");
    assert_eq!(code(&enshu(&["verify", "--session", name])), Some(0));

    // Team 1's analyst gets a leg in team 2's segment: verify must see it.
    let team_two_office = docker(&[
        "network",
        "ls",
        "--filter",
        &format!("label=enshu.session={name}"),
        "--filter",
        "label=enshu.team=t02",
        "--format",
        "{{.Name}}",
    ]);
    let team_two_office = team_two_office
        .lines()
        .find(|network| network.contains("office"))
        .unwrap_or_else(|| panic!("no office network of team 2 in {team_two_office:?}"));
    docker(&[
        "network",
        "connect",
        team_two_office,
        &session.container("analyst"),
    ]);
    let broken = enshu(&["verify", "--session", name]);
    assert_eq!(code(&broken), Some(3), "verify of a leaking range");
    assert!(String::from_utf8_lossy(&broken.stdout).contains("NOT isolated"));
    // And the range may not be served.
    let served = enshu(&["serve", "--session", name, "--listen", "127.0.0.1:0"]);
    assert_eq!(code(&served), Some(3));
    assert!(String::from_utf8_lossy(&served.stderr).contains("not proven isolated"));
}

/// Not root: `up`, `down`, `verify` and `reset` say at once that they need
/// root and why (exit 1), before anything is half done; `up --dry-run`
/// does not need it. Run as root, the test drops to `nobody` (setpriv).
#[test]
fn a_command_that_changes_the_host_says_it_needs_root() {
    let directory = std::env::temp_dir().join(format!("enshu-nonroot-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    // Where `nobody` can read and run them, whatever the checkout's path.
    let binary = directory.join("enshu");
    std::fs::copy(env!("CARGO_BIN_EXE_enshu"), &binary).unwrap();
    let scenario = directory.join("terminal.yaml");
    std::fs::copy(fixture("terminal"), &scenario).unwrap();
    let state = directory.join("state");
    std::fs::create_dir_all(&state).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    for (path, mode) in [
        (&directory, 0o755),
        (&binary, 0o755),
        (&scenario, 0o644),
        (&state, 0o777),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let as_nobody = |arguments: &[&str]| {
        let root = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"));
        let mut command = if root {
            let mut command = Command::new("setpriv");
            command
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&binary);
            command
        } else {
            Command::new(&binary)
        };
        let output = command
            .args(arguments)
            .env("ENSHU_STATE_DIR", &state)
            .output()
            .expect("running enshu as nobody (setpriv from util-linux)");
        (
            code(&output),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let file = scenario.to_str().unwrap();
    for (command, arguments) in [
        (
            "up",
            vec!["up", file, "--teams", "1", "--session", "nonroot"],
        ),
        ("down", vec!["down", "--session", "nonroot"]),
    ] {
        let (exit, stderr) = as_nobody(&arguments);
        assert_eq!(exit, Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("`enshu {command}` needs root"))
                && stderr.contains(&format!("sudo enshu {command}")),
            "{command} does not say it needs root: {stderr}"
        );
    }
    let (exit, stderr) = as_nobody(&[
        "up",
        file,
        "--teams",
        "1",
        "--session",
        "nonroot",
        "--dry-run",
    ]);
    assert!(
        !stderr.contains("needs root"),
        "a dry run needs no root: {stderr}"
    );
    assert_ne!(exit, Some(2), "{stderr}");
    let _ = std::fs::remove_dir_all(&directory);
}
