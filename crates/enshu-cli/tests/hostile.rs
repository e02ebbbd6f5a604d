//! The hostile team: on a served two-team quickstart range (with a log
//! collector, `fixtures/hostile.yaml`), every attack
//! script of `scripts/hostile/` runs as root in team 1's analyst
//! workstation (where trainees have sudo), and each must fail. Besides
//! what the scripts see themselves, the runner looks where an attack
//! would land: the marker every attack packet carries must appear on no
//! interface of this machine outside team 1's own segments and not in
//! team 2's workstation, and Docker's log of the workstation stays within
//! its rotation. Afterwards the server still answers team 2 within 200 ms
//! and team 2's log holds every event it should, none twice.
//!
//! To add an attack: a script in `scripts/hostile/` (lib.sh's helpers and
//! arguments are joined in front; print `THROUGH …` for anything that got
//! through), and a line in [`ATTACKS`].
//!
//! Needs Docker, root and the images; fails (never skips) without them.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Session, docker, enshu, export, fixture, in_container, state_dir, wait_for_output};

const LIB: &str = include_str!("../scripts/hostile/lib.sh");

/// Every attack: its name and its script.
const ATTACKS: [(&str, &str); 6] = [
    ("dns", include_str!("../scripts/hostile/dns.sh")),
    ("reach", include_str!("../scripts/hostile/reach.sh")),
    ("spoof", include_str!("../scripts/hostile/spoof.sh")),
    ("fill", include_str!("../scripts/hostile/fill.sh")),
    ("escape", include_str!("../scripts/hostile/escape.sh")),
    ("logs", include_str!("../scripts/hostile/logs.sh")),
];

/// How long the log attack floods the collector.
const FLOOD_SECONDS: u64 = 20;

/// The collector's store cap (`images/syslog/rootfs/usr/local/sbin/enshu-logcap`).
const STORE_CAP: u64 = 256 * 1024 * 1024;

/// What the runner saw of the collector while it was flooded.
struct FloodWatch {
    /// The store's largest size (`du -sb /var/log/remote`).
    largest: u64,
    /// When the real host's line arrived after it was logged.
    arrived: Option<Duration>,
}

/// During the log attack: sample the collector's store every second, and
/// a few seconds in log a line on pc01 and wait (≤ 45 s) for it in the
/// collector's pc01 files.
fn watch_the_flood(
    collector: &str,
    pc: &str,
    running: &std::sync::atomic::AtomicBool,
) -> FloodWatch {
    use std::sync::atomic::Ordering;
    let store_size = || {
        in_container(collector, "du -sb /var/log/remote | cut -f1")
            .parse::<u64>()
            .unwrap_or(0)
    };
    let mut largest = 0;
    let started = Instant::now();
    let line = format!("legitimate-{MARKER}-{}", std::process::id());
    let mut logged_at = None;
    let mut arrived = None;
    while running.load(Ordering::SeqCst)
        || (arrived.is_none()
            && logged_at.is_some_and(|at: Instant| at.elapsed() < Duration::from_secs(45)))
    {
        largest = largest.max(store_size());
        if logged_at.is_none() && started.elapsed() > Duration::from_secs(3) {
            in_container(pc, &format!("logger -t enshu-hostile {line}"));
            logged_at = Some(Instant::now());
        }
        if let (Some(at), None) = (logged_at, arrived)
            && !in_container(
                collector,
                &format!("grep -ls {line} /var/log/remote/pc01.log /var/log/remote/pc01.log.1"),
            )
            .is_empty()
        {
            arrived = Some(at.elapsed());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    FloodWatch {
        largest: largest.max(store_size()),
        arrived,
    }
}

const MARKER: &str = "ENSHUHOSTILE7d1f";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A capture that ends (and is read) when dropped or [`Capture::stop`]ped.
struct Capture {
    child: Child,
    file: std::path::PathBuf,
}

impl Capture {
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.file).unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn addresses_of(container: &str) -> Vec<String> {
    docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        container,
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

fn containers_of(session: &str, team: &str) -> Vec<String> {
    docker(&[
        "ps",
        "--filter",
        &format!("label=enshu.session={session}"),
        "--filter",
        &format!("label=enshu.team={team}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// Team 1's bridges: the only interfaces (with their ports) where the
/// marker may be seen.
fn bridges_of(session: &str, team: &str) -> Vec<String> {
    let networks = docker(&[
        "network",
        "ls",
        "--filter",
        &format!("label=enshu.session={session}"),
        "--filter",
        &format!("label=enshu.team={team}"),
        "--format",
        "{{.Name}}",
    ]);
    networks
        .lines()
        .map(|network| {
            docker(&[
                "network",
                "inspect",
                "-f",
                r#"{{index .Options "com.docker.network.bridge.name"}}"#,
                network,
            ])
            .trim()
            .to_string()
        })
        .collect()
}

/// The interfaces on whose packets tcpdump (`-i any -A`) printed the marker.
fn interfaces_with_marker(capture: &str) -> Vec<String> {
    let mut interface = String::new();
    let mut found = Vec::new();
    for line in capture.lines() {
        if let Some(name) = packet_interface(line) {
            interface = name.to_string();
        }
        if line.contains(MARKER) && !found.contains(&interface) {
            found.push(interface.clone());
        }
    }
    found
}

/// The interface of a packet's first line, `HH:MM:SS.ffffff interface
/// direction …`, or `None` for a line of a packet's bytes. `-A` prints a
/// packet's bytes after each newline byte in it, so a header byte 0x0a
/// followed by `..:` once made a line of bytes pass for a first line (CI,
/// stop 29: "an attack packet was seen on 2"): the time must be exact and
/// the direction one tcpdump prints.
fn packet_interface(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    let (time, name, direction) = (words.next()?, words.next()?, words.next()?);
    let time_is_exact = time.len() == 15
        && time.bytes().enumerate().all(|(at, byte)| match at {
            2 | 5 => byte == b':',
            8 => byte == b'.',
            _ => byte.is_ascii_digit(),
        });
    let direction_is_known = matches!(direction, "In" | "Out" | "B" | "M" | "P");
    (time_is_exact && direction_is_known && line.starts_with(time)).then_some(name)
}

#[test]
fn only_a_packets_first_line_names_an_interface() {
    let capture = "16:34:05.123456 veth1a2b In  IP 10.0.0.1.5 > 10.0.0.2.514: UDP, length 120\n\
                   E....@.@.\n\
                   .R:5..<13>Dec  2 10:00:00 pc01 flood: ENSHUHOSTILE7d1f xx\n\
                   16:34:05.123999 esh0 Out IP 10.0.0.1.5 > 10.0.0.2.514: UDP, length 120\n\
                   ..<13>Dec  2 10:00:00 pc01 flood: ENSHUHOSTILE7d1f xx\n";
    assert_eq!(
        packet_interface("16:34:05.123456 veth1a2b In  IP …"),
        Some("veth1a2b")
    );
    assert_eq!(packet_interface(".R:5..<13>Dec  2 10:00:00 pc01"), None);
    assert_eq!(interfaces_with_marker(capture), ["veth1a2b", "esh0"]);
}

fn master_of(interface: &str) -> Option<String> {
    std::fs::read_link(format!("/sys/class/net/{interface}/master"))
        .ok()
        .and_then(|target| {
            target
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
}

fn host_addresses() -> Vec<String> {
    let output = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(3))
        .filter_map(|cidr| cidr.split('/').next())
        .filter(|address| !address.starts_with("127."))
        .map(str::to_string)
        .collect()
}

fn log_bytes(container: &str) -> u64 {
    let path = docker(&["inspect", "-f", "{{.LogPath}}", container]);
    let path = std::path::Path::new(path.trim());
    let directory = path.parent().unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(directory)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&name))
        .map(|entry| entry.metadata().map(|meta| meta.len()).unwrap_or(0))
        .sum()
}

#[test]
fn a_team_root_in_its_workstation_cannot_reach_spy_on_or_crash_the_exercise() {
    let suite_started = Instant::now();
    let session = Session::new("hs");
    let name = session.0.as_str();
    let _ = std::fs::remove_file(format!("{}/sessions/{name}.db", state_dir()));
    let range = fixture("hostile");
    let up = enshu(&[
        "up",
        &range,
        "--teams",
        "2",
        "--session",
        name,
        "--pool",
        "10.216.0.0/13",
    ]);
    assert!(up.status.success(), "up failed");
    let up_took = suite_started.elapsed();

    let port = 42_000 + (std::process::id() % 3_000) as u16 * 3;
    let server = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .args([
            "serve",
            "--session",
            name,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--access-bind",
            "127.0.0.1",
            "--access-base-port",
            &(port + 1).to_string(),
        ])
        .args(["--check-interval", "2"])
        .env("ENSHU_STATE_DIR", state_dir())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "enshu serve did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // At 10x the attack plays while the team works: team 2's injects fire
    // during the attacks (the beacon at 6 s, the deface at 12 s).
    assert!(
        enshu(&["clock", "start", "--session", name, "--speed", "10"])
            .status
            .success()
    );
    let credentials = enshu(&["credentials", "--session", name, "--output", "json"]);
    let credentials: Value = serde_json::from_slice(&credentials.stdout).unwrap();
    let team_2_token = credentials["teams"][1]["portal_token"]
        .as_str()
        .unwrap()
        .to_string();

    let analyst = session.container("analyst");
    let team_2_analyst = format!("enshu-{name}-t02-analyst");
    let team_2: Vec<String> = containers_of(name, "t02")
        .iter()
        .flat_map(|container| addresses_of(container))
        .collect();
    let host = host_addresses();
    let ports = [port, port + 1, port + 2, 22, 2375, 2376];
    let collector = session.container("log01");
    let pc = session.container("pc01");
    let arguments = [
        format!("team2={}", team_2.join(",")),
        format!("host={}", host.join(",")),
        format!("ports={}", ports.map(|port| port.to_string()).join(",")),
        format!("marker={MARKER}"),
        format!("collector={}", addresses_of(&collector)[0]),
        format!("seconds={FLOOD_SECONDS}"),
    ];

    // Where the attacks must not arrive: every interface of this machine,
    // and team 2's own workstation.
    let directory = std::env::temp_dir().join(format!("enshu-hostile-{name}"));
    std::fs::create_dir_all(&directory).unwrap();
    let host_file = directory.join("host.txt");
    let host_capture = Capture {
        child: Command::new("tcpdump")
            .args([
                "-i",
                "any",
                "-nn",
                "-l",
                "-A",
                "-s",
                "256",
                "not",
                "tcp",
                "port",
                &port.to_string(),
            ])
            .stdout(std::fs::File::create(&host_file).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump must be installed for this test"),
        file: host_file,
    };
    docker(&[
        "exec",
        "-d",
        "-u",
        "root",
        &team_2_analyst,
        "sh",
        "-c",
        "echo $$ >/tmp/hostile-capture.pid; exec tcpdump -i any -nn -l -A -s 256 >/tmp/hostile-capture.txt 2>/dev/null",
    ]);
    std::thread::sleep(Duration::from_secs(1));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let portal = format!("https://127.0.0.1:{port}");
    let team_2_get = |path: &str| -> (u16, Duration) {
        let started = Instant::now();
        let status = runtime.block_on(async {
            client
                .get(format!("{portal}{path}"))
                .bearer_auth(&team_2_token)
                .send()
                .await
                .map(|response| response.status().as_u16())
                .unwrap_or(0)
        });
        (status, started.elapsed())
    };
    let team_2_answer = |objective: &str| -> u16 {
        runtime.block_on(async {
            client
                .post(format!("{portal}/api/team/answers"))
                .bearer_auth(&team_2_token)
                .json(&serde_json::json!({"objective": objective, "answer": "10.0.0.1"}))
                .send()
                .await
                .map(|response| response.status().as_u16())
                .unwrap_or(0)
        })
    };

    let mut failures = Vec::new();
    let mut answers_accepted = 0;
    let mut timings = Vec::new();
    // The log attack floods only once the collector receives pc01's lines
    // (its forwarder connects at start).
    assert!(
        wait_for_output(
            &collector,
            "test -s /var/log/remote/pc01.log && echo yes",
            Duration::from_secs(60)
        )
        .is_some(),
        "pc01's logs never reached the collector"
    );
    for (index, (attack, script)) in ATTACKS.iter().enumerate() {
        let started = Instant::now();
        let mut child = Command::new("docker")
            .args(["exec", "-i", "-u", "root", &analyst, "bash", "-s", "--"])
            .args(&arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(format!("{LIB}\n{script}").as_bytes())
                .unwrap();
        }
        let running = std::sync::atomic::AtomicBool::new(true);
        let (output, watch) = std::thread::scope(|scope| {
            let watcher = (*attack == "logs")
                .then(|| scope.spawn(|| watch_the_flood(&collector, &pc, &running)));
            let output = child.wait_with_output().unwrap();
            running.store(false, std::sync::atomic::Ordering::SeqCst);
            (output, watcher.map(|watcher| watcher.join().unwrap()))
        });
        if let Some(watch) = watch {
            eprintln!(
                "the flooded collector: store at most {} bytes, pc01's line after {:?}",
                watch.largest, watch.arrived
            );
            if watch.largest > STORE_CAP {
                failures.push(format!(
                    "the collector's store grew to {} bytes (cap {STORE_CAP})",
                    watch.largest
                ));
            }
            if watch.arrived.is_none() {
                failures
                    .push("pc01's line did not reach the flooded collector in 45 s".to_string());
            }
            if in_container(&collector, "pgrep -x rsyslogd").is_empty() {
                failures.push("rsyslogd died in the flooded collector".to_string());
            }
            // Invented host names share other.log: no file of their own.
            let files = in_container(&collector, "ls /var/log/remote");
            if files.contains("fake-") {
                failures.push(format!("invented host names got files: {files}"));
            }
        }
        let text = String::from_utf8_lossy(&output.stdout);
        eprintln!(
            "attack {attack}: exit {:?} in {:.1} s\n{text}{}",
            output.status.code(),
            started.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&output.stderr)
        );
        timings.push((attack, started.elapsed()));
        let through: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("THROUGH"))
            .collect();
        if !output.status.success() || !through.is_empty() {
            failures.push(format!(
                "{attack}: exit {:?}: {through:?}",
                output.status.code()
            ));
        }
        // Team 2 keeps working between the attacks.
        let objective = if index % 2 == 0 {
            "find-c2"
        } else {
            "find-host"
        };
        if matches!(team_2_answer(objective), 200 | 201) {
            answers_accepted += 1;
        }
    }

    // Someone flushes the host guard mid-exercise (a firewall reload):
    // the engine puts it back within a round or two and tells the
    // instructors on the timeline.
    let guard_rules = || {
        let output = Command::new("iptables")
            .args(["-w", "-S", "ENSHU-HOST-GUARD"])
            .output()
            .expect("iptables must be installed for this test");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(guard_rules().contains("-j DROP"), "no host guard to flush");
    let flushed = Command::new("iptables")
        .args(["-w", "-F", "ENSHU-HOST-GUARD"])
        .status()
        .unwrap();
    assert!(flushed.success());
    let flushed_at = Instant::now();
    while !guard_rules().contains("-j DROP") {
        assert!(
            flushed_at.elapsed() < Duration::from_secs(10),
            "the flushed host guard was not repaired"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let repaired_after = flushed_at.elapsed();
    eprintln!("the flushed host guard was repaired after {repaired_after:?}");
    // The engine notes the repair just after making it: look for a few
    // seconds.
    let noted = || {
        export(name).iter().any(|event| {
            event["team"].is_null()
                && event["kind"]["text"]
                    .as_str()
                    .is_some_and(|text| text.starts_with("isolation: the host guard was missing"))
        })
    };
    let repaired_at = Instant::now();
    while !noted() {
        assert!(
            repaired_at.elapsed() < Duration::from_secs(5),
            "the repair is not on the timeline"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The server is up and answers team 2 within its goal.
    assert!(server.0.try_wait().unwrap().is_none(), "enshu serve died");
    let mut latencies: Vec<Duration> = (0..20)
        .map(|_| {
            let (status, took) = team_2_get("/api/team");
            assert_eq!(status, 200, "team 2's portal");
            took
        })
        .collect();
    latencies.sort();
    let p99 = latencies[latencies.len() - 1];
    eprintln!(
        "team 2's portal after the attacks: median {:?}, p99 {p99:?}",
        latencies[10]
    );

    // No attack packet arrived anywhere but team 1's own segments.
    std::thread::sleep(Duration::from_secs(1));
    let team_1_bridges = bridges_of(name, "t01");
    assert!(!team_1_bridges.is_empty());
    let host_seen = host_capture.stop();
    assert!(
        host_seen.contains(MARKER),
        "the host capture saw no attack packet at all, so it proves nothing"
    );
    for interface in interfaces_with_marker(&host_seen) {
        // A bridge of team 1, a port of one, or the host end of team 1's
        // sensor tap on one (`eshc` and the bridge's digits).
        let on_team_1 = team_1_bridges.contains(&interface)
            || master_of(&interface).is_some_and(|master| team_1_bridges.contains(&master))
            || team_1_bridges
                .iter()
                .any(|bridge| interface == format!("eshc{}", &bridge[3..]));
        if !on_team_1 {
            failures.push(format!(
                "an attack packet was seen on {interface}, outside team 1's segments"
            ));
        }
    }
    let _ = Command::new("docker")
        .args([
            "exec",
            "-u",
            "root",
            &team_2_analyst,
            "sh",
            "-c",
            "kill -INT \"$(cat /tmp/hostile-capture.pid)\"",
        ])
        .output();
    let team_2_seen = docker(&["exec", &team_2_analyst, "cat", "/tmp/hostile-capture.txt"]);
    if team_2_seen.contains(MARKER) {
        failures.push("an attack packet reached team 2's workstation".to_string());
    }
    // Docker keeps 2 x 10 MiB of a container's log at most.
    let logged = log_bytes(&analyst);
    if logged > 21 * 1024 * 1024 {
        failures.push(format!(
            "the workstation's Docker log grew to {logged} bytes"
        ));
    }

    // Team 2's log: every answer it gave, every inject once, no failure.
    let events = export(name);
    let team_2_events: Vec<&Value> = events.iter().filter(|event| event["team"] == 2).collect();
    let answers = team_2_events
        .iter()
        .filter(|event| event["kind"]["kind"] == "submission")
        .count();
    assert!(answers_accepted > 0, "no answer of team 2 was accepted");
    if answers != answers_accepted {
        failures.push(format!(
            "team 2 gave {answers_accepted} answers, the log holds {answers}"
        ));
    }
    let mut fired: Vec<&str> = team_2_events
        .iter()
        .filter(|event| event["kind"]["kind"] == "inject_fired")
        .filter_map(|event| event["kind"]["inject"].as_str())
        .collect();
    let fired_count = fired.len();
    fired.sort();
    fired.dedup();
    if fired.len() != fired_count || !fired.contains(&"beacon") {
        failures.push(format!("team 2's injects: {fired:?} ({fired_count} fired)"));
    }
    let team_2_failures: Vec<&&Value> = team_2_events
        .iter()
        .filter(|event| event["kind"]["kind"] == "inject_failed")
        .collect();
    if !team_2_failures.is_empty() {
        failures.push(format!("team 2's injects failed: {team_2_failures:?}"));
    }
    drop(server);
    eprintln!(
        "hostile suite: up {:.0} s, attacks {:?}, all {:.0} s",
        up_took.as_secs_f64(),
        timings
            .iter()
            .map(|(attack, took)| format!("{attack} {:.1} s", took.as_secs_f64()))
            .collect::<Vec<_>>(),
        suite_started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        p99 < Duration::from_millis(200),
        "team 2's portal p99 {p99:?}"
    );
}
