//! The `enshu` binary against the real Docker engine: up, verify, services,
//! idempotency, a killed controller, isolation breakage and teardown.
//!
//! These need Docker, root (for the host guard) and the range images
//! (`make images`); without them they fail, they never skip.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{KillOnDrop, Session, docker, enshu, in_container, labelled, state_dir};

fn scenario(name: &str) -> String {
    match name {
        "quickstart" => concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/quickstart.yaml"
        )
        .to_string(),
        other => format!("{}/tests/fixtures/{other}.yaml", env!("CARGO_MANIFEST_DIR")),
    }
}

#[test]
fn quickstart_for_two_teams_comes_up_isolated_converges_and_goes_away() {
    let session = Session::new("qs");
    let name = session.0.as_str();
    let file = scenario("quickstart");

    let first = enshu(&["up", &file, "--teams", "2", "--session", name]);
    assert!(first.status.success(), "enshu up failed");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("isolation proven"), "{stdout}");
    assert_eq!(labelled("container", name).len(), 10);
    assert_eq!(labelled("network", name).len(), 6);

    // Declared flow: the office reaches the web site through the router
    // (`up` proves isolation, not that nginx listens yet: on a loaded
    // machine it may take a few seconds more, as a trainee would wait).
    let pc = format!("enshu-{name}-t01-pc01");
    assert_eq!(
        in_container(
            &pc,
            "curl -s --max-time 3 --retry 5 --retry-all-errors --retry-delay 1 -o /dev/null -w '%{http_code}' http://10.64.20.10/"
        ),
        "200"
    );
    // Undeclared: the internet cannot open connections into the office,
    // and team 1 cannot reach team 2 at all.
    let c2 = format!("enshu-{name}-t01-c2");
    assert_eq!(
        in_container(
            &c2,
            "timeout 2 bash -c '</dev/tcp/10.64.10.101/22' && echo open || echo blocked"
        ),
        "blocked"
    );
    assert_eq!(
        in_container(
            &pc,
            "timeout 2 bash -c '</dev/tcp/10.65.20.10/80' && echo open || echo blocked"
        ),
        "blocked"
    );

    // No outside name resolves from the range: Docker's resolver forwards
    // to the container itself (nothing answers), while the range's own
    // container names still resolve.
    let analyst = format!("enshu-{name}-t01-analyst");
    assert_eq!(
        in_container(
            &analyst,
            "dig +time=2 +tries=1 @127.0.0.11 enshu-range-test.invalid | grep -o 'status: [A-Z]*' || echo 'no answer'"
        ),
        "no answer",
        "an upstream answered for an outside name"
    );
    assert_eq!(
        in_container(&analyst, &format!("getent hosts {pc} | cut -d' ' -f1")),
        "10.64.10.101"
    );
    // Verify probed every source's resolver, IPv6 addresses, and the
    // other team, the host and the outside over UDP and ICMP too.
    let json = enshu(&["verify", "--session", name, "--output", "json"]);
    assert!(json.status.success());
    let text = String::from_utf8_lossy(&json.stdout);
    let verified: serde_json::Value =
        serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
    let results = verified["results"].as_array().unwrap();
    for (kind, reason) in [
        ("udp", "host machine"),
        ("icmp", "host machine"),
        ("udp", "outside"),
        ("icmp", "outside"),
        ("udp", "team t02"),
        ("icmp", "team t02"),
        ("dns", "outside name"),
        ("dns", "range name"),
        ("ipv6", "ipv6"),
    ] {
        assert!(
            results.iter().any(|result| {
                let kind_of = &result["probe"]["kind"];
                (kind_of == kind || kind_of.get(kind).is_some())
                    && result["probe"]["reason"]
                        .as_str()
                        .unwrap()
                        .starts_with(reason)
            }),
            "no {kind} probe for {reason}"
        );
    }
    // An answer from upstream is seen: a resolver on the analyst's own
    // address (where its embedded resolver forwards) that says NXDOMAIN
    // to everything, as any real upstream would for this name.
    docker(&[
        "exec",
        "-d",
        "-u",
        "root",
        &analyst,
        "sh",
        "-c",
        "echo $$ >/run/fake-upstream.pid; exec python3 -c \"$0\"",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('10.64.10.10', 53))\nwhile True:\n    q, a = s.recvfrom(512)\n    s.sendto(q[:2] + bytes([0x81, 0x83]) + q[4:], a)",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let answering = enshu(&["verify", "--session", name]);
    let answering_text = String::from_utf8_lossy(&answering.stdout);
    assert!(!answering.status.success(), "{answering_text}");
    assert!(
        answering_text
            .lines()
            .any(|line| line.contains(&analyst) && line.contains("(outside name)")),
        "{answering_text}"
    );
    docker(&[
        "exec",
        "-u",
        "root",
        &analyst,
        "sh",
        "-c",
        "kill \"$(cat /run/fake-upstream.pid)\"",
    ]);

    // Idempotent: a second run creates nothing.
    let second = enshu(&[
        "up",
        &file,
        "--teams",
        "2",
        "--session",
        name,
        "--output",
        "json",
    ]);
    assert!(second.status.success());
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).expect("json output");
    let created = report["up"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["step"] == "create_container")
        .count();
    assert_eq!(created, 0, "{report:#}");
    assert_eq!(labelled("container", name).len(), 10);

    // Reset team 1: its containers are fresh (a file planted before is
    // gone), team 2's are untouched, and isolation is proven again.
    let team_two_ids = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=enshu.session={name}"),
        "--filter",
        "label=enshu.team=t02",
    ]);
    docker(&["exec", &pc, "bash", "-c", "echo planted > /tmp/planted"]);
    let reset = enshu(&[
        "reset",
        "--session",
        name,
        "--team",
        "1",
        "--output",
        "json",
    ]);
    assert!(reset.status.success());
    let reset_report: serde_json::Value = serde_json::from_slice(&reset.stdout).unwrap();
    assert_eq!(reset_report["verified"], true);
    // The team's own checks judge the rebuilt range: nothing of the attack
    // left (no beacon, no dropped file); the golden-copy check waits for a
    // deface that never fired here.
    assert_eq!(reset_report["clean"], true, "{reset_report}");
    let results: Vec<&str> = reset_report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|result| **result == "passed").count(),
        2,
        "{reset_report}"
    );
    assert_eq!(
        in_container(&pc, "cat /tmp/planted 2>/dev/null || echo gone"),
        "gone"
    );
    assert_eq!(
        docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=enshu.session={name}"),
            "--filter",
            "label=enshu.team=t02"
        ]),
        team_two_ids
    );

    // Break isolation inside a router: verify must notice.
    let router = format!("enshu-{name}-t01-router");
    docker(&[
        "exec", &router, "nft", "insert", "rule", "inet", "enshu", "forward", "accept",
    ]);
    let broken = enshu(&["verify", "--session", name]);
    assert!(
        !broken.status.success(),
        "verify passed with an accept-all router"
    );
    assert!(String::from_utf8_lossy(&broken.stdout).contains("NOT isolated"));
    // Converging again restores the declared rules.
    assert!(
        enshu(&["up", &file, "--teams", "2", "--session", name])
            .status
            .success()
    );

    // Give the analyst a way out: an interface on Docker's default bridge
    // (which NATs to the uplink) and a route through it, as a trainee with
    // NET_ADMIN could add. Verify must see it reach the outside stand-in.
    let analyst = format!("enshu-{name}-t01-analyst");
    // The engine attaches the interface, then complains that it cannot
    // also make it the default gateway; the interface is what matters.
    let _ = Command::new("docker")
        .args(["network", "connect", "bridge", &analyst])
        .output();
    // The new interface is the one after eth0; Docker's gateway is the
    // first address of its subnet (the engine did not record it).
    let gateway = in_container(
        &analyst,
        r#"python3 -c 'import ipaddress, sys; print(next(ipaddress.ip_interface(sys.argv[1]).network.hosts()))' "$(ip -4 -o addr show dev eth1 | awk '{print $4}')""#,
    );
    assert!(
        gateway.parse::<std::net::Ipv4Addr>().is_ok(),
        "the analyst got no default-bridge interface: {gateway:?}"
    );
    let routed = in_container(
        &analyst,
        // The engine may still be rolling back its gateway change: set the
        // route until it stays.
        &format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do ip route replace 198.18.0.0/15 via {gateway} 2>&1; sleep 0.5; ip route | grep -q ^198.18 && break; done; ip -4 -o addr; ip route"
        ),
    );
    let leaking = enshu(&["verify", "--session", name]);
    let leaking_text = String::from_utf8_lossy(&leaking.stdout);
    assert!(!leaking.status.success(), "{leaking_text}");
    assert!(
        leaking_text.lines().any(|line| line.contains(&analyst)
            && line.contains("must not reach tcp 198.18.")
            && line.contains("(outside), got Refused")),
        "the way out was not found: {leaking_text}\nanalyst: {routed}"
    );

    let down = enshu(&["down", "--session", name]);
    assert!(down.status.success());
    for kind in ["container", "network", "volume"] {
        assert!(
            labelled(kind, name).is_empty(),
            "{kind}s left behind: {:?}",
            labelled(kind, name)
        );
    }
}

#[test]
fn a_controller_killed_mid_up_converges_on_the_next_run() {
    let session = Session::new("kill");
    let name = session.0.as_str();
    let file = scenario("quickstart");
    let mut child = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args([
            "up",
            &file,
            "--teams",
            "3",
            "--session",
            name,
            "--no-verify",
            "--pool",
            "10.128.0.0/10",
        ])
        .env("ENSHU_STATE_DIR", state_dir())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has created something but before it finished.
    let started = Instant::now();
    while labelled("container", name).len() < 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "enshu up ended by itself ({status}) before it could be killed"
    );
    let partial = labelled("container", name).len();
    assert!(
        partial >= 3,
        "the controller was killed before creating anything"
    );
    // A range that was never proven isolated may not be served.
    let refused = enshu(&["serve", "--session", name, "--listen", "127.0.0.1:0"]);
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("not proven isolated")
    );

    let rerun = enshu(&[
        "up",
        &file,
        "--teams",
        "3",
        "--session",
        name,
        "--pool",
        "10.128.0.0/10",
    ]);
    assert!(
        rerun.status.success(),
        "re-running up after a kill must converge"
    );
    assert_eq!(
        labelled("container", name).len(),
        15,
        "no duplicates, nothing missing"
    );
    assert!(enshu(&["down", "--session", name]).status.success());
    assert!(labelled("container", name).is_empty() && labelled("network", name).is_empty());
}

#[test]
fn trainees_services_answer_ssh_http_smtp_and_imap() {
    let session = Session::new("svc");
    let name = session.0.as_str();
    // Its own pool, so it can run beside the other tests' sessions.
    assert!(
        enshu(&[
            "up",
            &scenario("services"),
            "--session",
            name,
            "--pool",
            "10.192.0.0/10"
        ])
        .status
        .success()
    );
    let analyst = format!("enshu-{name}-t01-analyst");
    let banner = |port: u16| {
        // Services take a moment after start; give each up to 30 s.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let line = in_container(
                &analyst,
                &format!(
                    "timeout 3 bash -c 'exec 3<>/dev/tcp/10.192.10.{}/{port}; head -n1 <&3'",
                    if port == 22 { 10 } else { 30 }
                ),
            );
            if !line.is_empty() || Instant::now() > deadline {
                return line;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    assert!(banner(22).starts_with("SSH-2.0-"), "ssh banner");
    assert!(banner(25).starts_with("220 "), "smtp banner");
    assert!(banner(143).starts_with("* OK"), "imap banner");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = String::new();
    while status != "200" && Instant::now() < deadline {
        status = in_container(
            &analyst,
            "curl -s -o /dev/null -w '%{http_code}' http://10.192.10.20/",
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(status, "200");
    assert_eq!(
        in_container(
            &analyst,
            "curl -s -o /dev/null -w '%{http_code}' http://10.192.10.20/admin/"
        ),
        "401"
    );
}

#[test]
fn each_team_gets_one_way_in_landing_on_its_own_analyst_workstation() {
    let session = Session::new("acc");
    let name = session.0.as_str();
    assert!(
        enshu(&[
            "up",
            &scenario("quickstart"),
            "--teams",
            "2",
            "--session",
            name,
            "--pool",
            "10.160.0.0/12"
        ])
        .status
        .success()
    );
    // The ways in are the bastion's doors, opened by `serve`.
    let port = 20_000 + (std::process::id() % 10_000) as u16 * 2;
    let base_port = port + 1;
    let mut server = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(["serve", "--session", name])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--access-bind", "127.0.0.1"])
        .args(["--access-base-port", &base_port.to_string()])
        .env("ENSHU_LOG", "info")
        .env("ENSHU_STATE_DIR", state_dir())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", base_port + 1)).is_err() {
        assert!(
            server.try_wait().unwrap().is_none(),
            "enshu serve exited before opening the ways in"
        );
        assert!(
            Instant::now() < deadline,
            "enshu serve did not open port {}",
            base_port + 1
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _server = KillOnDrop(server);
    let credentials = enshu(&[
        "credentials",
        "--session",
        name,
        "--base-port",
        &base_port.to_string(),
        "--output",
        "json",
    ]);
    assert!(credentials.status.success());
    let credentials: serde_json::Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let entries = credentials["teams"].clone();
    assert_eq!(entries[0]["ssh_port"], base_port);
    assert_eq!(
        entries[0]["host_keys"][0]["host"], "bastion",
        "the way in's first host key is the bastion's"
    );
    let password = |team: usize| entries[team]["password"].as_str().unwrap().to_string();
    // sshd may still be starting right after `up`: retry while the
    // connection itself fails, never on a refused password.
    let ssh = |port: u16, password: &str, command: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = Command::new("sshpass")
                .args([
                    "-p",
                    password,
                    "ssh",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "ConnectTimeout=10",
                ])
                .args(["-p", &port.to_string(), "analyst@127.0.0.1", command])
                .env("ENSHU_LOG", "info")
                .output()
                .expect("sshpass and ssh must be installed (make deps)");
            let stderr = String::from_utf8_lossy(&output.stderr).to_string();
            let not_ready = stderr.contains("Connection reset")
                || stderr.contains("Connection refused")
                || stderr.contains("Connection closed");
            if output.status.success() || !not_ready || Instant::now() > deadline {
                return output;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // Team 1 lands on its analyst workstation, in its own address block.
    let login = ssh(base_port, &password(0), "hostname; ip -4 -o addr show eth0");
    let text = String::from_utf8_lossy(&login.stdout);
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert!(
        text.starts_with("analyst\n") && text.contains("10.160.10.10/24"),
        "{text}"
    );
    // Team 2's door does not open with team 1's password.
    let wrong = ssh(base_port + 1, &password(0), "true");
    assert!(
        !wrong.status.success(),
        "team 1's password opened team 2's workstation"
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let right = ssh(base_port + 1, &password(1), "hostname");
    assert!(
        right.status.success(),
        "team 2 with its own password: {}",
        String::from_utf8_lossy(&right.stderr)
    );

    // A command without a pty reads the client's input to its end, as the
    // reference scenarios' solvers run `ssh … python3 - <<EOF`: stdout and
    // stderr apart, the exit status ssh's own, within a bound.
    let piped = |command: &str, input: &[u8]| {
        let mut child = Command::new("sshpass")
            .args(["-p", &password(0), "ssh", "-o", "StrictHostKeyChecking=no"])
            .args([
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=10",
            ])
            .args(["-p", &base_port.to_string(), "analyst@127.0.0.1", command])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sshpass and ssh must be installed (make deps)");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            use std::io::Write as _;
            let _ = stdin.write_all(&input);
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("`ssh … {command}` with its input did not end within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        writer.join().unwrap();
        child.wait_with_output().unwrap()
    };
    let script =
        "import sys\nprint('python', sys.argv[1])\nsys.stderr.write('to stderr\\n')\nsys.exit(3)\n";
    let python = piped("python3 - 日本語", script.as_bytes());
    assert_eq!(String::from_utf8_lossy(&python.stdout), "python 日本語\n");
    assert!(
        String::from_utf8_lossy(&python.stderr).contains("to stderr"),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert_eq!(python.status.code(), Some(3));
    // Byte for byte, long lines and all (a TTY's line discipline would cut
    // a line at 4,096 bytes and turn a NUL or a Ctrl-D into something else).
    let mut bytes: Vec<u8> = (0..200_000_u32).map(|index| (index % 251) as u8).collect();
    bytes.extend_from_slice(&[0x04, 0x00, b'\r', b'\n']);
    let counted = piped("sha256sum", &bytes);
    assert!(counted.status.success());
    let expected = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    assert!(
        String::from_utf8_lossy(&counted.stdout).starts_with(&expected),
        "{}",
        String::from_utf8_lossy(&counted.stdout)
    );
    // A client that goes away mid-command leaves nothing running.
    let mut dropped = Command::new("sshpass")
        .args(["-p", &password(0), "ssh", "-o", "StrictHostKeyChecking=no"])
        .args([
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
        ])
        .args([
            "-p",
            &base_port.to_string(),
            "analyst@127.0.0.1",
            "sleep 317",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sleeping = || {
        let output = ssh(base_port, &password(0), "pgrep -fx 'sleep 317' | wc -l");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while sleeping() != "1" {
        assert!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    dropped.kill().unwrap();
    dropped.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sleeping() != "0" {
        assert!(
            Instant::now() < deadline,
            "the dropped client's command still runs"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `ssh user@host -p port COMMAND` with `password` answered at every
/// prompt (a jump host's too) by an askpass program; `options` go first.
fn ssh_with_password(
    destination: (&str, &str, u16),
    password: &str,
    options: &[&str],
    command: &str,
) -> Output {
    let (user, host, port) = destination;
    let askpass = std::env::temp_dir().join(format!("enshu-askpass-{}", std::process::id()));
    std::fs::write(
        &askpass,
        "#!/bin/sh\nprintf '%s\\n' \"$ENSHU_TEST_PASSWORD\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    // sshd may still be starting right after `up`: retry while the
    // connection itself fails, never on a refused password.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = Command::new("ssh")
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "NumberOfPasswordPrompts=1",
                "-o",
                "LogLevel=ERROR",
            ])
            .args(options)
            .args(["-p", &port.to_string(), &format!("{user}@{host}"), command])
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("ENSHU_TEST_PASSWORD", password)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("ssh must be installed (make deps)");
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let not_ready = stderr.contains("Connection reset")
            || stderr.contains("Connection refused")
            || stderr.contains("Connection closed")
            || stderr.contains("closed by remote host");
        if output.status.success() || !not_ready || Instant::now() > deadline {
            eprintln!(
                "$ ssh {user}@{host} -p {port} {command}\n{}{stderr}",
                String::from_utf8_lossy(&output.stdout)
            );
            return output;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The municipal exercise is entered as trainees enter it: `serve` opens
/// the team's SSH port, `credentials` says who to log in as, and the login
/// lands on the analyst workstation (not the syslog host the template lists
/// first), from where the team logs in to the syslog host and reads it.
#[test]
fn emotet_beta_is_entered_through_the_analyst_workstation_and_goes_away() {
    let session = Session::new("wayin");
    let name = session.0.as_str();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/emotet-beta.yaml"
    );
    let up = enshu(&[
        "up",
        file,
        "--teams",
        "1",
        "--session",
        name,
        "--pool",
        "10.213.0.0/16",
    ]);
    assert!(up.status.success(), "enshu up failed");

    let port = 42_000 + (std::process::id() % 4_000) as u16 * 2;
    let access_port = port + 1;
    let mut server = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args(["serve", "--session", name])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--access-bind", "127.0.0.1"])
        .args(["--access-base-port", &access_port.to_string()])
        .env("ENSHU_STATE_DIR", state_dir())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", access_port)).is_err() {
        assert!(
            server.try_wait().unwrap().is_none(),
            "enshu serve exited before opening the way in"
        );
        assert!(
            Instant::now() < deadline,
            "enshu serve did not open port {access_port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let server = KillOnDrop(server);

    let credentials = enshu(&[
        "credentials",
        "--session",
        name,
        "--base-port",
        &access_port.to_string(),
        "--output",
        "json",
    ]);
    assert!(credentials.status.success());
    let credentials: serde_json::Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let team = &credentials["teams"][0];
    assert_eq!(team["ssh_port"], access_port);
    let user = team["user"].as_str().unwrap();
    let password = team["password"].as_str().unwrap();
    assert_eq!(
        user, "analyst",
        "the way in is the analyst workstation, not log01"
    );

    let login = ssh_with_password(
        (user, "127.0.0.1", access_port),
        password,
        &[],
        "hostname; id -un",
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&login.stdout), "analyst\nanalyst\n");

    // From the workstation, the team reaches sshd on the `login: true`
    // syslog host (lgwan .20), whose collected logs it reads as `logs`
    // (the login itself: tests/images_smoke.sh).
    let banner = ssh_with_password(
        (user, "127.0.0.1", access_port),
        password,
        &[],
        "exec 3<>/dev/tcp/10.213.20.20/22 && head -c 8 <&3",
    );
    assert_eq!(String::from_utf8_lossy(&banner.stdout), "SSH-2.0-");

    // `ssh -J` through the bastion: the syslog host, as `logs`, with the
    // same password (the bastion opens the connection from the workstation).
    let jump = format!(
        "ProxyCommand=ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
         -o LogLevel=ERROR -p {access_port} -W %h:%p {user}@127.0.0.1"
    );
    let onward = ssh_with_password(
        ("logs", "10.213.20.20", 22),
        password,
        &["-o", &jump],
        "hostname",
    );
    assert!(
        onward.status.success(),
        "{}",
        String::from_utf8_lossy(&onward.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&onward.stdout), "log01\n");

    drop(server);
    assert!(enshu(&["down", "--session", name]).status.success());
    assert!(labelled("container", name).is_empty(), "containers left");
    assert!(labelled("network", name).is_empty(), "networks left");
    assert!(labelled("volume", name).is_empty(), "volumes left");
}
