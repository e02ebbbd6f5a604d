//! Central logging in a real range: what a trainee reads on the team's
//! syslog host and the SIEM. Every host's lines arrive with its name and
//! time, in a per-host file and the merged `all.log`; the router's firewall
//! log says what it accepted and denied; flow records answer "how many
//! bytes went there"; a SIEM restart and a team reset lose nothing.
//!
//! Needs Docker, root (the host guard) and the range images (`make
//! images`); without them it fails, it never skips.

mod support;

use std::time::Duration;

use support::{Session, docker, enshu, fixture, in_container, labelled, wait_for_output};

const WEB: &str = "10.64.20.10";
const PC: &str = "10.64.10.101";
const C2: &str = "10.64.100.23";
/// How long a line may take to arrive: right after `up` a forwarder's first
/// connects fail until its route is set, and rsyslog backs off (seen: 7–19 s).
const ARRIVAL: Duration = Duration::from_secs(45);

#[test]
fn the_teams_logs_reach_both_collectors_and_survive_a_restart_and_a_reset() {
    let session = Session::new("lg");
    let name = session.0.as_str();
    let up = enshu(&["up", &fixture("logging"), "--teams", "1", "--session", name]);
    assert!(up.status.success(), "enshu up failed");
    let (pc, web, c2) = (
        session.container("pc01"),
        session.container("web01"),
        session.container("c2"),
    );
    let (log01, soc) = (session.container("log01"), session.container("sc-soc"));

    // A service's own log (nginx), an artefact's line in the auth log, a
    // connection the firewall accepts and one it denies.
    in_container(
        &pc,
        &format!("curl -s -o /dev/null http://{WEB}/enshu-logging-probe"),
    );
    let marker =
        format!("sshd[4242]: Failed password for invalid user marker-one from {C2} port 4444 ssh2");
    in_container(&web, &format!("echo '{marker}' >> /var/log/auth.log"));
    in_container(
        &c2,
        &format!("timeout 2 bash -c '</dev/tcp/{PC}/22' 2>/dev/null; true"),
    );

    for collector in [&log01, &soc] {
        let (line, took) = wait_for_output(
            collector,
            "grep -h 'nginx/access.log: .*enshu-logging-probe' /var/log/remote/web01.log",
            ARRIVAL,
        )
        .unwrap_or_else(|| panic!("nginx's line never reached {collector}"));
        eprintln!("{collector}: nginx line after {took:?}: {line}");
        // `<time> <sender address> <host> <file>: <line>`, the sender's own
        // name and the file the line came from.
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(fields[0].starts_with("20"), "no time first: {line}");
        assert_eq!(fields[2], "web01", "{line}");
        assert_eq!(fields[3], "nginx/access.log:", "{line}");
        assert!(
            line.contains(PC),
            "the client's address is in nginx's line: {line}"
        );

        let (line, _) = wait_for_output(
            collector,
            "grep -h marker-one /var/log/remote/all.log",
            ARRIVAL,
        )
        .unwrap_or_else(|| panic!("the auth line never reached {collector}'s all.log"));
        assert!(
            line.contains(" web01 auth.log: sshd[4242]: Failed password"),
            "{line}"
        );

        let (denied, _) = wait_for_output(
            collector,
            &format!("grep -h 'deny .*SRC={C2} DST={PC} .*DPT=22 ' /var/log/remote/router.log"),
            ARRIVAL,
        )
        .unwrap_or_else(|| panic!("the denied connection is not in {collector}'s router.log"));
        assert!(denied.contains(" router firewall.log: "), "{denied}");
        wait_for_output(
            collector,
            &format!("grep -h 'accept flows\\[0\\] .*SRC={PC} DST={WEB} .*DPT=80 ' /var/log/remote/router.log"),
            ARRIVAL,
        )
        .unwrap_or_else(|| panic!("the accepted connection is not in {collector}'s router.log"));
    }
    // The attacker's hosts send nothing to the team's collectors.
    assert_eq!(
        in_container(&log01, "ls /var/log/remote/c2.log 2>/dev/null"),
        ""
    );
    // The analyst has the viewer; the collector has the tools.
    assert_eq!(
        in_container(&session.container("analyst"), "command -v lnav"),
        "/usr/bin/lnav"
    );

    // The SIEM stops and is started again: what was logged meanwhile
    // waits in the senders' queues and arrives.
    docker(&["stop", "-t", "2", &soc]);
    in_container(
        &web,
        "echo 'while-the-siem-was-down marker-two' >> /var/log/auth.log",
    );
    std::thread::sleep(Duration::from_secs(3));
    // `up` converges: it starts the stopped SIEM and gives it its route back.
    let again = enshu(&["up", &fixture("logging"), "--teams", "1", "--session", name]);
    assert!(again.status.success(), "enshu up (converging) failed");
    let (_, took) = wait_for_output(
        &soc,
        "grep -h marker-two /var/log/remote/web01.log",
        Duration::from_secs(40),
    )
    .expect("a line logged while the SIEM was down never arrived");
    eprintln!("after the SIEM's restart, the spooled line arrived in {took:?}");
    assert!(
        !in_container(&soc, "grep -h marker-one /var/log/remote/all.log").is_empty(),
        "the SIEM's store lost what it had before its restart"
    );

    // Flow records: when the connection to the web server ended, the router
    // recorded its bytes each way; `flows` on the collector sums them.
    let (record, took) = wait_for_output(
        &log01,
        &format!("grep -h 'flows.log: .*ORIG: SRC={PC} DST={WEB} PROTO=TCP .*DPT=80 ' /var/log/remote/router.log | head -n 1"),
        Duration::from_secs(40),
    )
    .expect("no flow record of the connection to the web server");
    eprintln!("flow record after {took:?}: {record}");
    let summed = in_container(&log01, &format!("flows --dst {WEB} --port 80"));
    let row: Vec<&str> = summed
        .lines()
        .find(|line| line.starts_with(PC))
        .unwrap_or_else(|| panic!("flows does not list {PC}: {summed}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], [PC, WEB, "TCP", "80"], "{summed}");
    let sent: u64 = row[5].parse().unwrap();
    let received: u64 = row[6].parse().unwrap();
    assert!(
        sent > 100 && received > 300,
        "nginx's 404 page came back: {summed}"
    );

    // A team reset rebuilds every container; the collectors keep their logs.
    let reset = enshu(&["reset", "--session", name, "--team", "1"]);
    assert!(reset.status.success(), "reset failed");
    assert!(
        !in_container(&log01, "grep -h marker-one /var/log/remote/all.log").is_empty(),
        "the team's syslog host lost its logs in the reset"
    );

    assert!(enshu(&["down", "--session", name]).status.success());
    assert_eq!(labelled("volume", name), Vec::<String>::new());
}
