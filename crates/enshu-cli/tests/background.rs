//! Staff in the background in a real range: with `background: {level:
//! high}` the staff PCs log in, browse through the proxy, open the share
//! and send and read mail, and what they do is in the proxy's, the file
//! server's and the mailbox's logs and at the SIEM; nothing of it leaves
//! the team's range, and the share's documents are untouched. With the
//! level off the same range is quiet.
//!
//! Needs Docker, root (the host guard) and the range images (`make
//! images`); without them it fails, it never skips.

mod support;

use std::time::Duration;

use support::{Session, docker, enshu, fixture, in_container, wait_for_output};

/// A pool of its own, so that a range another test left behind in the
/// default pool does not stop this one.
const POOL: &str = "10.112.0.0/12";
const PCS: [(&str, &str); 2] = [("pc01", "10.112.10.101"), ("pc02", "10.112.10.102")];
const WEB: &str = "10.112.20.10";
const C2: &str = "10.112.100.23";
/// The team's block: every address the background may use is inside it.
const TEAM_BLOCK: &str = "10.112.";
/// A round of every action at level high takes about 25 s; the first
/// forwarded lines take up to 45 s after `up` (see the logging test).
const ARRIVAL: Duration = Duration::from_secs(150);
/// How long the quiet range is watched.
const QUIET: Duration = Duration::from_secs(30);

/// The share's files but the staff's own folder, with their hashes.
const SHARE_DOCUMENTS: &str = "cd /srv/share && find . -path ./staff-work -prune -o -type f -print0 | sort -z | xargs -0 sha256sum";

/// Like `in_container`, as `user` (squid's log is its own).
fn in_container_as(user: &str, container: &str, script: &str) -> String {
    let output = std::process::Command::new("docker")
        .args(["exec", "-u", user, container, "bash", "-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Run `script` as `user` until it prints something, for at most `limit`.
fn wait_as(
    user: &str,
    container: &str,
    script: &str,
    limit: Duration,
) -> Option<(String, Duration)> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        let output = in_container_as(user, container, script);
        if !output.is_empty() {
            return Some((output, start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

fn env_of(container: &str) -> String {
    docker(&["inspect", "-f", "{{json .Config.Env}}", container])
}

/// One range after the other (both take the default pool).
#[test]
fn staff_work_in_the_background_only_when_asked_and_only_inside_the_range() {
    with_the_level_off_the_staff_pcs_are_quiet();
    with_the_level_high_the_servers_and_the_siem_see_the_staff_at_work();
}

fn with_the_level_off_the_staff_pcs_are_quiet() {
    let text = std::fs::read_to_string(fixture("background")).unwrap();
    let quiet = text.replace("background: {level: high}", "background: {level: off}");
    assert_ne!(quiet, text);
    let path =
        std::env::temp_dir().join(format!("enshu-background-off-{}.yaml", std::process::id()));
    std::fs::write(&path, quiet).unwrap();
    let session = Session::new("bgo");
    let name = session.0.as_str();
    let up = enshu(&[
        "up",
        path.to_str().unwrap(),
        "--teams",
        "1",
        "--session",
        name,
        "--pool",
        POOL,
    ]);
    assert!(up.status.success(), "enshu up failed");
    for (pc, _) in PCS {
        assert!(
            !env_of(&session.container(pc)).contains("ENSHU_BACKGROUND"),
            "{pc} was told to work"
        );
    }
    std::thread::sleep(QUIET);
    let (proxy, fs01, mail01) = (
        session.container("proxy"),
        session.container("fs01"),
        session.container("mail01"),
    );
    for (pc, address) in PCS {
        assert_eq!(
            in_container(
                &session.container(pc),
                "ls /var/log/staff-activity.log 2>/dev/null; pgrep -f '^/usr/bin/python3 /usr/local/bin/enshu-background'"
            ),
            "",
            "{pc} works in the background"
        );
        assert_eq!(
            in_container_as(
                "proxy",
                &proxy,
                &format!(
                    "test -r /var/log/squid/access.log && grep -ch ' {address} ' /var/log/squid/access.log"
                )
            ),
            "0"
        );
        assert_eq!(
            in_container(&fs01, &format!("grep -rh 'ipv4:{address}:' /var/log/samba")),
            ""
        );
        assert_eq!(
            in_container(
                &mail01,
                &format!("grep -h '{address}' /var/log/mail.log /var/log/dovecot.log")
            ),
            ""
        );
    }
    assert!(enshu(&["down", "--session", name]).status.success());
    let _ = std::fs::remove_file(path);
}

fn with_the_level_high_the_servers_and_the_siem_see_the_staff_at_work() {
    let session = Session::new("bgh");
    let name = session.0.as_str();
    let up = enshu(&[
        "up",
        &fixture("background"),
        "--teams",
        "1",
        "--session",
        name,
        "--pool",
        POOL,
    ]);
    assert!(up.status.success(), "enshu up failed");
    let (proxy, fs01, mail01, soc, router, c2) = (
        session.container("proxy"),
        session.container("fs01"),
        session.container("mail01"),
        session.container("sc-soc"),
        session.container("router"),
        session.container("c2"),
    );
    let documents = in_container(&fs01, SHARE_DOCUMENTS);
    assert!(documents.contains("README.txt"), "{documents}");
    for (pc, _) in PCS {
        let env = env_of(&session.container(pc));
        assert!(env.contains("ENSHU_BACKGROUND_LEVEL=high"), "{env}");
    }

    for (pc, address) in PCS {
        let container = session.container(pc);
        // On the servers: the proxy's access log (the web server, through
        // the proxy), the file server's logon audit, the mailbox's SMTP
        // and IMAP logs.
        let script = format!(
            "grep -h ' {address} TCP_[A-Z_]*/200 .* http://{WEB}/' /var/log/squid/access.log"
        );
        let (line, took) = wait_as("proxy", &proxy, &script, ARRIVAL)
            .unwrap_or_else(|| panic!("{pc}'s browsing never showed on the proxy: {script}"));
        eprintln!(
            "{pc} on the proxy after {took:?}: {}",
            line.lines().next().unwrap_or_default()
        );
        let served = [
            (
                &fs01,
                format!(
                    "grep -rh 'status \\[NT_STATUS_OK\\] .*remote host \\[ipv4:{address}:' /var/log/samba"
                ),
            ),
            (
                &mail01,
                format!("grep -h 'connect from unknown\\[{address}\\]' /var/log/mail.log"),
            ),
            (
                &mail01,
                format!("grep -h 'Login: user=<staff.*rip={address},' /var/log/dovecot.log"),
            ),
        ];
        for (server, script) in &served {
            let (line, took) = wait_for_output(server, script, ARRIVAL)
                .unwrap_or_else(|| panic!("{pc}'s work never showed on {server}: {script}"));
            eprintln!(
                "{pc} on {server} after {took:?}: {}",
                line.lines().next().unwrap_or_default()
            );
        }
        // On the PC: its own log of what it did, the logins among it.
        let (activity, _) = wait_for_output(
            &container,
            "grep -h 'login staff@localhost exit 0' /var/log/staff-activity.log",
            ARRIVAL,
        )
        .unwrap_or_else(|| panic!("{pc} never logged in"));
        assert!(
            activity.contains(&format!(" {pc} staff-activity[")),
            "{activity}"
        );
        assert!(
            !in_container(
                &container,
                "grep -h 'mail staff on .* messages' /var/log/staff-activity.log"
            )
            .is_empty(),
            "{pc} did not read its mail: {}",
            in_container(&container, "cat /var/log/staff-activity.log")
        );

        // At the SIEM: the same lines, under each server's name.
        let at_siem = [
            format!(
                "grep -h ' proxy squid/access.log: .* {address} .*http://{WEB}/' /var/log/remote/proxy.log"
            ),
            format!(
                "grep -h ' fs01 samba/log\\.[^:]*: .*remote host \\[ipv4:{address}:' /var/log/remote/fs01.log"
            ),
            format!("grep -h ' mail01 dovecot.log: .*rip={address},' /var/log/remote/mail01.log"),
            format!("grep -h ' {pc} staff-activity.log: ' /var/log/remote/{pc}.log"),
        ];
        for script in &at_siem {
            let (_, took) = wait_for_output(&soc, script, ARRIVAL)
                .unwrap_or_else(|| panic!("{pc}'s work never reached the SIEM: {script}"));
            eprintln!("{pc} at the SIEM after {took:?}: {script}");
        }
    }

    // Nothing left the team's range: the router denied nothing the staff
    // sent (on the ports they use; `up`'s verify probes, denied by design,
    // use others), every connection it let through went to an address of
    // the team's block, the proxy fetched nothing from the C2 and the C2
    // heard nothing.
    for (pc, address) in PCS {
        assert_eq!(
            in_container(
                &router,
                &format!(
                    "grep -hE 'deny .*SRC={address} .* DPT=(80|3128|445|25|143|22) ' /var/log/firewall.log"
                )
            ),
            "",
            "the router denied {pc}'s traffic"
        );
        let accepted = in_container(
            &router,
            &format!("grep -h 'accept .*SRC={address} ' /var/log/firewall.log"),
        );
        for line in accepted.lines() {
            let destination = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("DST="))
                .unwrap_or_default();
            assert!(
                destination.starts_with(TEAM_BLOCK),
                "{pc} left the range: {line}"
            );
        }
        assert_eq!(
            in_container(
                &session.container(pc),
                "grep -h 'outside the team' /var/log/staff-activity.log"
            ),
            "",
            "{pc} was given an address outside the team's range"
        );
    }
    assert_eq!(
        in_container_as(
            "proxy",
            &proxy,
            &format!("grep -c 'http://{C2}' /var/log/squid/access.log")
        ),
        "0",
        "the proxy fetched from the C2"
    );
    assert_eq!(in_container(&c2, "cat /var/log/c2/*.jsonl 2>/dev/null"), "");

    // The share: the documents are as they were; the staff wrote only
    // their own notes, in their PC's folder.
    assert_eq!(in_container(&fs01, SHARE_DOCUMENTS), documents);
    let notes = in_container(
        &fs01,
        "cd /srv/share && find staff-work -type f 2>/dev/null | sort",
    );
    for note in notes.lines() {
        let parts: Vec<&str> = note.split('/').collect();
        assert!(
            parts.len() == 3
                && PCS.iter().any(|(pc, _)| *pc == parts[1])
                && parts[2].starts_with("memo-"),
            "a file outside the staff's folders: {note}"
        );
    }

    assert!(enshu(&["down", "--session", name]).status.success());
}
