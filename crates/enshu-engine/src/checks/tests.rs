use std::collections::BTreeMap;

use enshu_backend::ExecOutput;
use enshu_backend::fake::{Call, FakeBackend};
use enshu_injector::shell::{self, RUN_AS_OWNER};
use enshu_scenario::model::{Check, CheckKind, Duration};
use enshu_scenario::plan::{PlannedCheck, ResolvedTarget};
use enshu_store::GroundTruth;

use super::*;

fn target(reference: &str, container: &str, address: &str) -> ResolvedTarget {
    ResolvedTarget {
        reference: reference.into(),
        container: Some(container.into()),
        address: Some(address.parse().unwrap()),
        subnet: None,
    }
}

fn check(kind: CheckKind) -> PlannedCheck {
    PlannedCheck {
        objective: "objective".into(),
        check: Check {
            kind,
            target: "office/pc01".into(),
            from: None,
            to: None,
            port: None,
            path: None,
            status: None,
            sha256: None,
            golden: None,
            name: None,
            group: None,
            window: None,
            command: None,
            expect: None,
        },
        target: target("office/pc01", "t-pc01", "10.64.10.101"),
        from: None,
        to: None,
        since: None,
        router: None,
    }
}

fn output(stdout: &str) -> ExecOutput {
    ExecOutput {
        exit_code: 0,
        stdout: stdout.as_bytes().to_vec(),
        stderr: vec![],
    }
}

#[test]
fn http_from_the_target_itself_or_a_vantage() {
    let mut http = check(CheckKind::Http);
    http.check.path = Some("/".into());
    assert_eq!(
        check_command(&http).unwrap(),
        CheckCommand {
            container: "t-pc01".into(),
            command: shell::bash(
                HTTP_SCRIPT,
                "enshu-check-http",
                &["http://127.0.0.1:80/", "5"]
            )
        }
    );
    http.from = Some(target("office/analyst", "t-analyst", "10.64.10.10"));
    http.check.port = Some("tcp/8080".parse().unwrap());
    assert_eq!(
        check_command(&http).unwrap().command[4],
        "http://10.64.10.101:8080/"
    );
    assert_eq!(check_command(&http).unwrap().container, "t-analyst");
}

#[test]
fn http_judges_status_and_the_golden_hash() {
    let mut http = check(CheckKind::Http);
    http.check.golden = Some("deface".into());
    http.check.status = Some(200);
    let truth = BTreeMap::from([(
        "deface".to_string(),
        GroundTruth {
            golden_sha256: Some("aaa".into()),
            ..GroundTruth::default()
        },
    )]);
    let expected = expected_sha256(&http, &truth).unwrap();
    assert_eq!(expected.as_deref(), Some("aaa"));
    assert!(judge(&http, &output("200 aaa\n"), expected.as_deref(), true).passed);
    let defaced = judge(&http, &output("200 bbb\n"), expected.as_deref(), true);
    assert!(!defaced.passed);
    assert!(defaced.detail.contains("bbb"), "{}", defaced.detail);
    assert!(!judge(&http, &output("000 e3b0\n"), expected.as_deref(), true).passed);
    assert!(
        expected_sha256(&http, &BTreeMap::new())
            .unwrap_err()
            .contains("has not fired")
    );
}

#[test]
fn ports_need_a_port_and_judge_open_or_closed() {
    let mut open = check(CheckKind::PortOpen);
    assert_eq!(
        check_command(&open).unwrap_err(),
        CheckError::Missing {
            objective: "objective".into(),
            kind: "port_open",
            field: "port"
        }
    );
    open.check.port = Some("tcp/22".parse().unwrap());
    open.from = Some(target("office/analyst", "t-analyst", "10.64.10.10"));
    assert_eq!(
        check_command(&open).unwrap().command[4..],
        ["10.64.10.101", "22", "3"]
    );
    assert!(judge(&open, &output("open\n"), None, true).passed);
    let mut closed = open.clone();
    closed.check.kind = CheckKind::PortClosed;
    assert!(judge(&closed, &output("closed\n"), None, true).passed);
    assert!(!judge(&closed, &output("open\n"), None, true).passed);
}

#[test]
fn files_present_absent_and_hashed() {
    let mut absent = check(CheckKind::FileAbsent);
    absent.check.path = Some("/var/tmp/.svc/*.sh".into());
    assert_eq!(
        check_command(&absent).unwrap().command,
        shell::bash(FILES_SCRIPT, "enshu-check-files", &["/var/tmp/.svc/*.sh"])
    );
    assert!(!judge(&absent, &output("/var/tmp/.svc/update.sh\n"), None, true).passed);
    assert!(judge(&absent, &output(""), None, true).passed);
    let mut present = absent.clone();
    present.check.kind = CheckKind::FilePresent;
    assert!(judge(&present, &output("/var/tmp/.svc/update.sh\n"), None, true).passed);
    let mut hashed = check(CheckKind::FileHash);
    hashed.check.path = Some("/etc/hosts".into());
    hashed.check.sha256 = Some("ABC".into());
    let expected = expected_sha256(&hashed, &BTreeMap::new()).unwrap();
    assert!(judge(&hashed, &output("abc\n"), expected.as_deref(), true).passed);
    assert!(!judge(&hashed, &output(""), expected.as_deref(), true).passed);
}

#[test]
fn process_names_are_cut_to_the_kernels_fifteen_bytes() {
    let mut process = check(CheckKind::ProcessAbsent);
    process.check.name = Some("regsvr32-Nvtewq-long".into());
    assert_eq!(
        check_command(&process).unwrap().command[4],
        "regsvr32-Nvtewq"
    );
    assert!(
        !judge(
            &process,
            &output("4242 regsvr32-Nvtewq 100000\n"),
            None,
            true
        )
        .passed
    );
    assert!(judge(&process, &output(""), None, true).passed);
}

/// A no_beacon check of pc01 (10.64.10.101) to the C2 (10.64.100.23).
fn no_beacon_check() -> PlannedCheck {
    let mut quiet = check(CheckKind::NoBeacon);
    quiet.to = Some(target("internet/c2", "t-c2", "10.64.100.23"));
    quiet.router = Some("t-router".into());
    quiet.check.window = Some(Duration::from_secs(60));
    quiet
}

#[test]
fn no_beacon_reads_the_teams_router_not_the_c2() {
    assert_eq!(
        check_command(&no_beacon_check()).unwrap(),
        CheckCommand {
            container: "t-router".into(),
            command: [
                "nft",
                "-j",
                "list set inet enshu_beacons beacons; \
                 list counter inet enshu_beacons beacon_10_64_10_101_to_10_64_100_23"
            ]
            .map(str::to_string)
            .to_vec()
        }
    );
    let mut without_router = no_beacon_check();
    without_router.router = None;
    assert!(check_command(&without_router).is_err());
}

/// The ground truth of a beacon inject from `source` to `destination`.
fn beacon_truth(source: &str, destination: &str) -> BTreeMap<String, GroundTruth> {
    BTreeMap::from([(
        "beacon".to_string(),
        GroundTruth::from_json(serde_json::json!({
            "inject": "beacon",
            "kind": "beacon",
            "address": source,
            "source": source,
            "destination": destination,
        })),
    )])
}

/// `nft -j list set …; list counter …` as nftables 1.0.6 in the router
/// prints it (captured from `enshu/router`): the set with the elements
/// given as `(source, destination, timeout, expires)`, then the counter.
fn router_output(elements: &[(&str, &str, u64, u64)], packets: u64) -> String {
    let meta = r#"{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}"#;
    let elements: Vec<String> = elements
        .iter()
        .map(|(source, destination, timeout, expires)| {
            format!(
                r#"{{"elem": {{"val": {{"concat": ["{source}", "{destination}"]}}, "timeout": {timeout}, "expires": {expires}}}}}"#
            )
        })
        .collect();
    let elements = if elements.is_empty() {
        String::new()
    } else {
        format!(r#", "elem": [{}]"#, elements.join(", "))
    };
    format!(
        r#"{{"nftables": [{meta}, {{"set": {{"family": "inet", "name": "beacons", "table": "enshu_beacons", "type": ["ipv4_addr", "ipv4_addr"], "handle": 3, "size": 65535, "flags": ["timeout"]{elements}}}}}]}}
{{"nftables": [{meta}, {{"counter": {{"family": "inet", "name": "beacon_10_64_10_101_to_10_64_100_23", "table": "enshu_beacons", "handle": 1, "packets": {packets}, "bytes": {}}}}}]}}
"#,
        packets * 80
    )
}

fn judge_beacon(
    check: &PlannedCheck,
    stdout: &str,
    ground_truth: &BTreeMap<String, GroundTruth>,
    target_running: bool,
) -> CheckOutcome {
    judge_with(&Judging {
        check,
        output: &output(stdout),
        ground_truth,
        expected_sha256: None,
        target_running,
        reference: None,
    })
}

const PC01: &str = "10.64.10.101";
const C2: &str = "10.64.100.23";

#[test]
fn no_beacon_passes_only_after_beacons_were_seen_and_stopped_with_the_target_up() {
    let quiet = no_beacon_check();
    let started = beacon_truth(PC01, C2);
    // Beacons forwarded, none in the window (the set forgot the pair), the
    // PC up: met.
    let stopped_long_ago = router_output(&[], 40);
    let passed = judge_beacon(&quiet, &stopped_long_ago, &started, true);
    assert!(passed.passed, "{}", passed.detail);
    assert!(
        passed.detail.contains("40 packets before"),
        "{}",
        passed.detail
    );
    // The pair's last packet 70 s ago: past the 60 s window, met too (a
    // longer check of the same pair keeps it in the set).
    let older = router_output(&[(PC01, C2, 300, 230)], 40);
    assert!(judge_beacon(&quiet, &older, &started, true).passed);
    // Still beaconing: the last packet 3 s ago.
    let beaconing = judge_beacon(
        &quiet,
        &router_output(&[(PC01, C2, 60, 57)], 41),
        &started,
        true,
    );
    assert!(!beaconing.passed);
    assert!(beaconing.detail.contains("3s ago"), "{}", beaconing.detail);
    // Another pair in the set is not this beacon.
    let others = router_output(
        &[("10.64.10.102", C2, 60, 59), (PC01, "10.64.100.99", 60, 59)],
        40,
    );
    assert!(judge_beacon(&quiet, &others, &started, true).passed);
    // Silence because the PC was switched off is not cutting it off.
    let switched_off = judge_beacon(&quiet, &stopped_long_ago, &started, false);
    assert!(!switched_off.passed);
    assert!(
        switched_off.detail.contains("not running"),
        "{}",
        switched_off.detail
    );
    // The router never forwarded a beacon from the PC: nothing was seen to stop.
    let never_seen = judge_beacon(&quiet, &router_output(&[], 0), &started, true);
    assert!(!never_seen.passed);
    assert!(
        never_seen.detail.contains("nothing was seen to stop"),
        "{}",
        never_seen.detail
    );
    // The beacon inject has not fired (or fired from another host, or to
    // another server): silence proves nothing.
    for ground_truth in [
        BTreeMap::new(),
        beacon_truth("10.64.10.102", C2),
        beacon_truth(PC01, "10.64.100.99"),
    ] {
        let not_started = judge_beacon(&quiet, &stopped_long_ago, &ground_truth, true);
        assert!(!not_started.passed, "{ground_truth:?}");
        assert!(
            not_started.detail.contains("nothing to stop"),
            "{}",
            not_started.detail
        );
    }
    // And the plain judge knows of no inject: it never passes a no_beacon.
    assert!(!judge(&quiet, &output(&stopped_long_ago), None, true).passed);
}

#[test]
fn no_beacon_fails_when_the_routers_counter_cannot_be_read() {
    let quiet = no_beacon_check();
    let started = beacon_truth(PC01, C2);
    // The router lost its beacon table (nft's error on a missing object).
    let missing = judge_with(&Judging {
        check: &quiet,
        output: &ExecOutput {
            exit_code: 1,
            stdout: vec![],
            stderr: b"Error: No such file or directory\nlist counter inet enshu_beacons beacon_10_64_10_101_to_10_64_100_23\n".to_vec(),
        },
        ground_truth: &started,
        expected_sha256: None,
        target_running: true,
        reference: None,
    });
    assert!(!missing.passed);
    assert!(
        missing
            .detail
            .contains("could not read the beacon counter on t-router: Error: No such file"),
        "{}",
        missing.detail
    );
    // Output that is not nft's JSON, or the set without the counter.
    for stdout in [
        "Traceback\n",
        router_output(&[], 40).lines().next().unwrap(),
    ] {
        let unread = judge_beacon(&quiet, stdout, &started, true);
        assert!(!unread.passed);
        assert!(
            unread.detail.contains("could not read"),
            "{}",
            unread.detail
        );
    }
}

#[test]
fn a_rebuilt_range_is_clean_of_beacons_when_none_comes_and_the_target_runs() {
    let quiet = no_beacon_check();
    let clean = |stdout: &str, target_running: bool| {
        judge_clean(&Judging {
            check: &quiet,
            output: &output(stdout),
            ground_truth: &BTreeMap::new(),
            expected_sha256: None,
            target_running,
            reference: None,
        })
    };
    // A fresh router has counted nothing: clean, though the objective is not met.
    assert!(clean(&router_output(&[], 0), true).passed);
    assert!(!clean(&router_output(&[(PC01, C2, 60, 58)], 2), true).passed);
    assert!(!clean(&router_output(&[], 0), false).passed);
    assert!(!clean("Traceback\n", true).passed);
}

#[test]
fn account_disabled_reports_the_scripts_verdict() {
    let mut account = check(CheckKind::AccountDisabled);
    account.check.name = Some("admin".into());
    assert_eq!(check_command(&account).unwrap().command[4], "admin");
    let kept = judge(
        &account,
        &output("fail admin still has its initial password in /run/enshu/htpasswd\n"),
        None,
        true,
    );
    assert_eq!(
        kept,
        CheckOutcome::new(
            false,
            "admin still has its initial password in /run/enshu/htpasswd"
        )
    );
    assert!(
        judge(
            &account,
            &output("pass admin is locked in /etc/shadow\n"),
            None,
            true
        )
        .passed
    );
}

/// The state line `directory.sh` prints for an account.
fn domain_state(pwdlastset: i64, groups: &str) -> ExecOutput {
    output(&format!(
        "uac=512 pwdlastset={pwdlastset} groups={groups}\n"
    ))
}

#[test]
fn password_changed_needs_a_password_set_after_the_inject_fired() {
    let mut changed = check(CheckKind::PasswordChanged);
    changed.check.name = Some("tanaka".into());
    changed.since = Some("phish".into());
    assert_eq!(check_command(&changed).unwrap().command[4], "tanaka");
    let fired = BTreeMap::from([(
        "phish".to_string(),
        GroundTruth {
            fired_at_ms: Some(1_800_000_000_500),
            ..GroundTruth::default()
        },
    )]);
    let judged = |state: &ExecOutput, ground_truth: &BTreeMap<String, GroundTruth>| {
        judge_with(&Judging {
            check: &changed,
            output: state,
            ground_truth,
            expected_sha256: None,
            target_running: true,
            reference: None,
        })
    };
    // Set at provisioning, or in the second the inject fired: not changed.
    assert!(!judged(&domain_state(1_799_990_000, ""), &fired).passed);
    assert!(!judged(&domain_state(1_800_000_000, ""), &fired).passed);
    let reset = judged(&domain_state(1_800_000_042, "soumu"), &fired);
    assert!(reset.passed, "{reset:?}");
    assert!(reset.detail.contains("42s after"), "{}", reset.detail);
    // Not fired yet, the account gone, or unreadable: not met.
    assert!(!judged(&domain_state(1_800_000_042, ""), &BTreeMap::new()).passed);
    assert!(!judged(&output("missing\n"), &fired).passed);
    assert!(!judged(&output("error ldbsearch: no such file\n"), &fired).passed);
}

#[test]
fn not_in_group_reads_the_accounts_groups() {
    let mut member = check(CheckKind::NotInGroup);
    member.check.name = Some("svc-backup".into());
    member.check.group = Some("Domain Admins".into());
    let judged = |state: &str| judge(&member, &output(state), None, true);
    // A group's name may hold a space; the field is the rest of the line.
    let still = judged("uac=512 pwdlastset=1 groups=Domain Admins,soumu\n");
    assert!(!still.passed, "{still:?}");
    assert!(
        still.detail.contains("still a member of Domain Admins"),
        "{still:?}"
    );
    assert!(!judged("uac=512 pwdlastset=1 groups=soumu,domain admins\n").passed);
    assert!(judged("uac=512 pwdlastset=1 groups=soumu\n").passed);
    assert!(judged("uac=512 pwdlastset=1 groups=\n").passed);
    assert!(judged("missing\n").passed);
    assert!(!judged("error ldbsearch failed\n").passed);
}

#[tokio::test]
async fn a_check_that_cannot_run_fails_with_the_reason() {
    let backend = FakeBackend::new();
    let mut absent = check(CheckKind::FileAbsent);
    absent.check.path = Some("/x".into());
    let outcome = run_check(&backend, &absent, &BTreeMap::new())
        .await
        .unwrap();
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("could not run in t-pc01"),
        "{}",
        outcome.detail
    );
    assert_eq!(
        backend.calls(),
        [Call::Exec(
            "t-pc01".into(),
            shell::bash(FILES_SCRIPT, "enshu-check-files", &["/x"])
        )]
    );
}

#[test]
fn every_kind_has_one_program_and_the_teams_own_actions_are_marked() {
    let marked: Vec<CheckKind> = CheckKind::ALL
        .into_iter()
        .filter(|kind| judges_the_teams_action(*kind))
        .collect();
    assert_eq!(
        marked,
        [
            CheckKind::PortClosed,
            CheckKind::FilePresent,
            CheckKind::AccountDisabled,
            CheckKind::PasswordChanged,
            CheckKind::NotInGroup,
            CheckKind::Command
        ]
    );
    let waits_for_the_target: Vec<CheckKind> = CheckKind::ALL
        .into_iter()
        .filter(|kind| program(*kind).needs_target_running)
        .collect();
    assert_eq!(waits_for_the_target, [CheckKind::NoBeacon]);
}

#[test]
fn the_account_script_reads_the_images_initial_passwords_and_no_literal() {
    assert!(ACCOUNT_SCRIPT.contains("/run/enshu/initial-passwords"));
    for literal in [
        "saida2024",
        ":-enshu",
        "ENSHU_PASSWORD",
        "ENSHU_WEB_ADMIN_PASSWORD",
    ] {
        assert!(!ACCOUNT_SCRIPT.contains(literal), "{literal}");
    }
}

#[test]
fn the_file_checks_carry_the_run_as_owner_functions() {
    // Without them the file checks would look as root, and a file only
    // its owner can see would be reported the same as a missing one.
    assert!(FILES_SCRIPT.starts_with(RUN_AS_OWNER));
    assert!(FILE_HASH_SCRIPT.starts_with(RUN_AS_OWNER));
}

#[test]
fn a_faster_clock_shrinks_the_quiet_window_it_checks() {
    let mut quiet = no_beacon_check();
    quiet.check.window = Some(Duration::from_secs(300));
    let window = |check: &PlannedCheck| check.check.window.unwrap().seconds;
    assert_eq!(window(&at_speed(&quiet, 1)), 300);
    assert_eq!(window(&at_speed(&quiet, 20)), 15);
    // Never below the floor; a check without a window uses the default's share.
    assert_eq!(window(&at_speed(&quiet, 120)), MIN_WINDOW_SECONDS);
    quiet.check.window = None;
    assert_eq!(window(&at_speed(&quiet, 20)), 15);
    // The router keeps the pair 300 s after its last packet; at 20× a
    // packet 20 s ago is outside the 15 s window.
    let started = beacon_truth(PC01, C2);
    let fast = at_speed(&quiet, 20);
    let twenty_seconds_ago = router_output(&[(PC01, C2, 300, 280)], 40);
    assert!(judge_beacon(&fast, &twenty_seconds_ago, &started, true).passed);
    assert!(!judge_beacon(&at_speed(&quiet, 1), &twenty_seconds_ago, &started, true).passed);
}

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn restored_check() -> PlannedCheck {
    let mut restored = check(CheckKind::Restored);
    restored.check.target = "lgwan/fs01".into();
    restored.target = target("lgwan/fs01", "t-fs01", "10.64.20.11");
    restored.to = Some(target("lgwan/backup01", "t-backup01", "10.64.20.30"));
    restored.check.path = Some("/srv/share".into());
    restored
}

/// The backup's manifest as `store.sh` writes it (names from the copy's
/// root) and the target's listing as `restored.sh` prints it (from /).
const MANIFEST: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  ./srv/share/README.txt\n\
                        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb  ./srv/share/総務課/会議室予約.csv\n";

fn judge_restored(listing: &str, manifest: &ExecOutput) -> CheckOutcome {
    judge_with(&Judging {
        check: &restored_check(),
        output: &output(listing),
        ground_truth: &BTreeMap::new(),
        expected_sha256: None,
        target_running: true,
        reference: Some(manifest),
    })
}

#[test]
fn restored_runs_in_the_target_and_reads_the_manifest_on_the_backup_host() {
    let restored = restored_check();
    assert_eq!(
        check_command(&restored).unwrap(),
        CheckCommand {
            container: "t-fs01".into(),
            command: shell::bash(
                RESTORED_SCRIPT,
                "enshu-check-restored",
                &["20000", "/srv/share"]
            ),
        }
    );
    assert!(RESTORED_SCRIPT.starts_with(RUN_AS_OWNER));
    let manifest = (program(CheckKind::Restored).reference.unwrap())(&restored).unwrap();
    assert_eq!(
        manifest,
        CheckCommand {
            container: "t-backup01".into(),
            command: shell::bash(MANIFEST_SCRIPT, "enshu-check-manifest", &["fs01"]),
        }
    );
}

#[test]
fn restored_passes_when_every_backed_up_file_is_back_with_its_hash() {
    let manifest = output(MANIFEST);
    let listing = format!(
        "{HASH_A}  srv/share/README.txt\n{HASH_B}  srv/share/総務課/会議室予約.csv\n{HASH_A}  srv/share/new-since.txt\n"
    );
    let outcome = judge_restored(&listing, &manifest);
    assert!(outcome.passed, "{outcome:?}");
    assert!(outcome.detail.contains("the 2 files"), "{}", outcome.detail);
    assert!(outcome.detail.contains("1 other"), "{}", outcome.detail);
}

#[test]
fn restored_fails_on_missing_changed_encrypted_files_and_a_ransom_note() {
    let manifest = output(MANIFEST);
    let encrypted = format!(
        "{HASH_A}  srv/share/README.txt.locked\n{HASH_B}  srv/share/総務課/会議室予約.csv.locked\n{HASH_A}  srv/share/README_RESTORE_FILES.txt\n"
    );
    let outcome = judge_restored(&encrypted, &manifest);
    assert!(!outcome.passed);
    for part in ["2 missing", "2 encrypted", "ransom note left"] {
        assert!(outcome.detail.contains(part), "{part}: {}", outcome.detail);
    }
    // Back, but one file has another content.
    let changed =
        format!("{HASH_A}  srv/share/README.txt\n{HASH_A}  srv/share/総務課/会議室予約.csv\n");
    let outcome = judge_restored(&changed, &manifest);
    assert!(!outcome.passed);
    assert!(outcome.detail.contains("1 differ"), "{}", outcome.detail);
    // Everything back, but an encrypted leftover is still there.
    let leftover = format!(
        "{HASH_A}  srv/share/README.txt\n{HASH_B}  srv/share/総務課/会議室予約.csv\n{HASH_B}  srv/share/old.xlsx.locked\n"
    );
    assert!(!judge_restored(&leftover, &manifest).passed);
}

#[test]
fn restored_fails_without_a_copy_or_with_an_empty_one() {
    let none = ExecOutput {
        exit_code: 3,
        stdout: vec![],
        stderr: b"no copy of fs01\n".to_vec(),
    };
    let outcome = judge_restored("", &none);
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("holds no copy"),
        "{}",
        outcome.detail
    );
    let outcome = judge_restored("", &output(""));
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("holds no file"),
        "{}",
        outcome.detail
    );
}

#[test]
fn restored_looks_only_under_its_path() {
    let mut under = restored_check();
    under.check.path = Some("/srv/share/総務課".into());
    let listing = format!("{HASH_B}  srv/share/総務課/会議室予約.csv\n");
    let outcome = judge_with(&Judging {
        check: &under,
        output: &output(&listing),
        ground_truth: &BTreeMap::new(),
        expected_sha256: None,
        target_running: true,
        reference: Some(&output(MANIFEST)),
    });
    assert!(outcome.passed, "{outcome:?}");
}

#[test]
fn sha256sum_lines_with_escaped_names_are_read() {
    let text = format!("\\{HASH_A}  ./srv/share/a\\nb\\\\c\n{HASH_B} *srv/x\nnot a line\n");
    let files = parse_sha256_lines(&text);
    assert_eq!(
        files,
        BTreeMap::from([
            ("/srv/share/a\nb\\c".to_string(), HASH_A.to_string()),
            ("/srv/x".to_string(), HASH_B.to_string()),
        ])
    );
}

fn command_check(
    command: &str,
    expect: Option<enshu_scenario::model::CommandExpect>,
) -> PlannedCheck {
    let mut planned = check(CheckKind::Command);
    planned.check.command = Some(command.into());
    planned.check.expect = expect.map(Box::new);
    planned
}

fn ran(exit_code: i64, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        exit_code,
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

#[test]
fn a_command_runs_bounded_on_the_target_or_its_vantage_with_the_address_as_argument() {
    let mut planned = command_check("nginx -v", None);
    let expected = |container: &str| CheckCommand {
        container: container.into(),
        command: [
            "timeout",
            "-k",
            "2",
            "15",
            "bash",
            "-c",
            "nginx -v",
            "enshu-check-command",
            "10.64.10.101",
        ]
        .map(str::to_string)
        .to_vec(),
    };
    assert_eq!(check_command(&planned).unwrap(), expected("t-pc01"));
    planned.from = Some(target("lgwan/analyst", "t-analyst", "10.64.20.5"));
    assert_eq!(check_command(&planned).unwrap(), expected("t-analyst"));
}

#[test]
fn a_command_is_judged_by_every_condition_it_gives() {
    use enshu_scenario::model::CommandExpect;
    let judge_it = |expect: Option<CommandExpect>, output: &ExecOutput| {
        judge(&command_check("nginx -v", expect), output, None, true)
    };
    // No expectation: exit 0.
    assert!(judge_it(None, &ran(0, "", "")).passed);
    assert!(!judge_it(None, &ran(1, "", "")).passed);
    // The output is stdout and stderr: `nginx -v` writes to stderr.
    let version = ran(0, "", "nginx version: nginx/1.22.1\n");
    let matches = |pattern: &str| {
        Some(CommandExpect {
            output_matches: Some(pattern.into()),
            ..CommandExpect::default()
        })
    };
    let outcome = judge_it(matches(r"nginx/1\.2[2-9]"), &version);
    assert!(outcome.passed, "{outcome:?}");
    assert!(
        outcome.detail.contains("nginx/1.22.1"),
        "{}",
        outcome.detail
    );
    let outcome = judge_it(matches(r"nginx/1\.2[6-9]"), &version);
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("does not match"),
        "{}",
        outcome.detail
    );
    // An output condition alone does not ask for exit 0; with `exit` it does.
    let contains = |text: &str, exit: Option<i64>| {
        Some(CommandExpect {
            exit,
            output_contains: Some(text.into()),
            ..CommandExpect::default()
        })
    };
    assert!(judge_it(contains("404", None), &ran(22, "404", "")).passed);
    let outcome = judge_it(contains("404", Some(0)), &ran(22, "404", ""));
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("exited 22, expected 0"),
        "{}",
        outcome.detail
    );
    assert!(!judge_it(contains("200", None), &ran(0, "404", "")).passed);
    // Out of time: `timeout` exits 124.
    let outcome = judge_it(None, &ran(124, "", ""));
    assert!(!outcome.passed);
    assert!(
        outcome.detail.contains("ran out of time"),
        "{}",
        outcome.detail
    );
}
