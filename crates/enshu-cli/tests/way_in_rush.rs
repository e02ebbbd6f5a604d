//! The way in as an exercise starts: every team logs in at once through
//! the SSH bastion, then `enshu serve` is stopped as systemd and an
//! instructor stop it. A binary of its own: 20 teams and 160 shells at
//! once would slow the other Docker tests if they ran beside it.
//!
//! Needs Docker, root and the range images; fails without them.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{KillOnDrop, Session, enshu, fixture, state_dir};

/// As an exercise starts, every team logs in at once: 20 teams of four
/// trainees, each with two shells, is 160 SSH sessions with a TTY asked of
/// the bastion within a second. Each must reach its shell (the way in may
/// make it wait its turn, never turn it away); before the terminals'
/// opening was bounded, a quarter of 200 failed with "the engine reported
/// no process for the shell". Then the server is stopped as systemd stops
/// it (SIGTERM) and as an instructor does (Ctrl-C, SIGINT).
#[test]
fn every_team_logs_in_at_once_as_the_exercise_starts() {
    const TEAMS: usize = 20;
    const SHELLS: usize = 8;
    let session = Session::new("rush");
    let name = session.0.as_str();
    let teams = TEAMS.to_string();
    let up = enshu(&[
        "up",
        &fixture("terminal"),
        "--teams",
        &teams,
        "--session",
        name,
        "--pool",
        "10.32.0.0/11",
    ]);
    assert!(up.status.success(), "up failed");
    let port = 30_000 + (std::process::id() % 5_000) as u16 * 4;
    let base_port = port + 1;
    let mut server = start_serve(name, port, base_port, base_port + TEAMS as u16 - 1);
    let credentials = enshu(&[
        "credentials",
        "--session",
        name,
        "--base-port",
        &base_port.to_string(),
        "--output",
        "json",
    ]);
    let credentials: serde_json::Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let started = Instant::now();
    let logins: Vec<_> = (0..TEAMS * SHELLS)
        .map(|n| {
            let team = &credentials["teams"][n / SHELLS];
            let user = team["user"].as_str().unwrap().to_owned();
            let password = team["password"].as_str().unwrap().to_owned();
            let port = team["ssh_port"].as_u64().unwrap().to_string();
            std::thread::spawn(move || {
                // A TTY, as a trainee's `ssh` has: the shell's own session.
                Command::new("sshpass")
                    .args(["-p", &password, "ssh", "-tt"])
                    .args(["-o", "StrictHostKeyChecking=no"])
                    .args(["-o", "UserKnownHostsFile=/dev/null"])
                    .args(["-o", "ConnectTimeout=30", "-o", "LogLevel=ERROR"])
                    .args(["-p", &port, &format!("{user}@127.0.0.1")])
                    .arg(format!("echo shell-{n}-is-open"))
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("sshpass and ssh must be installed (make deps)")
            })
        })
        .collect();
    let mut failed = Vec::new();
    for (n, login) in logins.into_iter().enumerate() {
        let output = login.join().unwrap();
        let shown = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !shown.contains(&format!("shell-{n}-is-open")) {
            failed.push(format!(
                "shell {n} (team {}): {}; {shown:?} {:?}",
                n / SHELLS + 1,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    eprintln!(
        "{} shells asked for at once: {} failed, all answered within {:.1} s",
        TEAMS * SHELLS,
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // `systemctl stop` (SIGTERM) and Ctrl-C (SIGINT) both stop the server
    // gracefully: a shell still open is ended, the ways in close, the exit
    // status is 0, and every command typed is in the log.
    let team = &credentials["teams"][0];
    for signal in ["TERM", "INT"] {
        let mut open_shell = Command::new("sshpass")
            .args(["-p", team["password"].as_str().unwrap(), "ssh", "-tt"])
            .args(["-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
            .args(["-p", &team["ssh_port"].to_string()])
            .arg(format!("{}@127.0.0.1", team["user"].as_str().unwrap()))
            .arg(format!("echo before-sig{signal}; sleep 600"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut shown = String::new();
        let mut stdout = open_shell.stdout.take().unwrap();
        while !shown.contains(&format!("before-sig{signal}")) {
            let mut chunk = [0u8; 256];
            let read = std::io::Read::read(&mut stdout, &mut chunk).unwrap();
            assert!(read > 0, "the shell ended before its first line: {shown:?}");
            shown.push_str(&String::from_utf8_lossy(&chunk[..read]));
        }
        let pid = server.0.id().to_string();
        assert!(
            Command::new("kill")
                .args([&format!("-{signal}"), &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "SIG{signal}: serve still runs after 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "SIG{signal}: serve exited with {status}");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", base_port)).is_err(),
            "SIG{signal}: the way in still accepts connections"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while open_shell.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "SIG{signal}: the open shell was not ended"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let commands: Vec<String> = support::export(name)
            .iter()
            .filter(|event| event["kind"]["kind"] == "terminal_command")
            .filter_map(|event| event["kind"]["command"].as_str().map(str::to_owned))
            .collect();
        for n in 0..TEAMS * SHELLS {
            let typed = format!("echo shell-{n}-is-open");
            assert!(
                commands.contains(&typed),
                "SIG{signal}: {typed:?} is not in the log"
            );
        }
        let typed = format!("echo before-sig{signal}; sleep 600");
        assert!(
            commands.contains(&typed),
            "SIG{signal}: {typed:?} is not in the log"
        );
        if signal == "TERM" {
            // Started again, it resumes the session (then stopped by SIGINT).
            server = start_serve(name, port, base_port, base_port);
        }
    }
}

/// `enshu serve` for `session`, the portal on `port` and the ways in from
/// `base_port`, once `wait_for` accepts connections (within 60 s).
fn start_serve(session: &str, port: u16, base_port: u16, wait_for: u16) -> KillOnDrop {
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_enshu"))
            .args(["serve", "--session", session])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--access-bind", "127.0.0.1"])
            .args(["--access-base-port", &base_port.to_string()])
            .env("ENSHU_STATE_DIR", state_dir())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", wait_for)).is_err() {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "enshu serve exited before opening the ways in"
        );
        assert!(
            Instant::now() < deadline,
            "enshu serve did not open {wait_for}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}
