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

#[test]
fn no_beacon_reads_the_c2_log_of_the_target() {
    let mut quiet = check(CheckKind::NoBeacon);
    quiet.to = Some(target("internet/c2", "t-c2", "10.64.100.23"));
    quiet.check.window = Some(Duration::from_secs(60));
    assert_eq!(
        check_command(&quiet).unwrap(),
        CheckCommand {
            container: "t-c2".into(),
            command: ["python3", "-c", BEACON_SCRIPT, "10.64.10.101", "60", C2_LOG]
                .map(str::to_string)
                .to_vec()
        }
    );
}

/// A no_beacon check of pc01 (10.64.10.101) to the C2 (10.64.100.23).
fn no_beacon_check() -> PlannedCheck {
    let mut quiet = check(CheckKind::NoBeacon);
    quiet.to = Some(target("internet/c2", "t-c2", "10.64.100.23"));
    quiet.check.window = Some(Duration::from_secs(60));
    quiet
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

#[test]
fn no_beacon_passes_only_after_beacons_were_seen_and_stopped_with_the_target_up() {
    let quiet = no_beacon_check();
    let started = beacon_truth("10.64.10.101", "10.64.100.23");
    let last = "2026-11-26T11:00:00.000+00:00";
    // Beacons seen, none in the window, the PC up: met.
    let passed = judge_beacon(&quiet, &format!("0 40 {last}\n"), &started, true);
    assert!(passed.passed, "{}", passed.detail);
    assert!(passed.detail.contains("40 before"), "{}", passed.detail);
    // Still beaconing.
    let beaconing = judge_beacon(&quiet, &format!("3 40 {last}\n"), &started, true);
    assert!(!beaconing.passed);
    assert!(
        beaconing.detail.contains("3 beacon(s)"),
        "{}",
        beaconing.detail
    );
    // Silence because the PC was switched off is not cutting it off.
    let stopped = judge_beacon(&quiet, &format!("0 40 {last}\n"), &started, false);
    assert!(!stopped.passed);
    assert!(stopped.detail.contains("not running"), "{}", stopped.detail);
    // The C2 never logged a beacon from the PC: nothing was seen to stop.
    let never_seen = judge_beacon(&quiet, "0 0 -\n", &started, true);
    assert!(!never_seen.passed);
    assert!(
        never_seen.detail.contains("no beacon"),
        "{}",
        never_seen.detail
    );
    // The beacon inject has not fired (or fired from another host, or to
    // another server): silence proves nothing.
    for ground_truth in [
        BTreeMap::new(),
        beacon_truth("10.64.10.102", "10.64.100.23"),
        beacon_truth("10.64.10.101", "10.64.100.99"),
    ] {
        let not_started = judge_beacon(&quiet, &format!("0 40 {last}\n"), &ground_truth, true);
        assert!(!not_started.passed, "{ground_truth:?}");
        assert!(
            not_started.detail.contains("nothing to stop"),
            "{}",
            not_started.detail
        );
    }
    // And the plain judge knows of no inject: it never passes a no_beacon.
    assert!(!judge(&quiet, &output(&format!("0 40 {last}\n")), None, true).passed);
    assert!(!judge_beacon(&quiet, "Traceback\n", &started, true).passed);
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
    // A fresh C2 has logged nothing: clean, though the objective is not met.
    assert!(clean("0 0 -\n", true).passed);
    assert!(!clean("2 2 2026-11-26T11:00:00+00:00\n", true).passed);
    assert!(!clean("0 0 -\n", false).passed);
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
    let mut quiet = check(CheckKind::NoBeacon);
    quiet.to = Some(target("internet/c2", "t-c2", "10.64.100.23"));
    quiet.check.window = Some(Duration::from_secs(300));
    let window = |check: &PlannedCheck| check_command(check).unwrap().command[4].clone();
    assert_eq!(window(&at_speed(&quiet, 1)), "300");
    assert_eq!(window(&at_speed(&quiet, 20)), "15");
    // Never below the floor; a check without a window uses the default's share.
    assert_eq!(
        window(&at_speed(&quiet, 120)),
        MIN_WINDOW_SECONDS.to_string()
    );
    quiet.check.window = None;
    assert_eq!(window(&at_speed(&quiet, 20)), "15");
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
