//! One entry per check kind: the command it runs and how it judges the
//! output, side by side, so adding a kind is adding one entry.

use std::collections::BTreeMap;

use enshu_backend::ExecOutput;
use enshu_injector::artefact::{ENCRYPTED_EXTENSION, RANSOM_NOTE_FILE};
use enshu_injector::shell;
use enshu_scenario::model::{CheckKind, TrafficKind};
use enshu_scenario::plan::{
    BEACON_SET, BEACON_TABLE, DEFAULT_BEACON_WINDOW_SECONDS, FIREWALL_FAMILY, PlannedCheck,
    ResolvedTarget, beacon_counter,
};
use enshu_store::GroundTruth;

use super::{CheckError, CheckOutcome};

/// Fetches URL `$1` with timeout `$2` s; prints the status and the body's SHA-256.
pub const HTTP_SCRIPT: &str = include_str!("../../scripts/checks/http.sh");
/// Prints `open` or `closed` for a TCP connect to `$1`:`$2` within `$3` s.
pub const PORT_SCRIPT: &str = include_str!("../../scripts/checks/port.sh");
/// Prints what matches path or glob `$1`, looking as the owner of the path
/// (the injector's `run-as-owner.sh` functions joined in front at compile
/// time, as [`shell::RUN_AS_OWNER`] is).
pub const FILES_SCRIPT: &str = concat!(
    include_str!("../../../enshu-injector/scripts/run-as-owner.sh"),
    include_str!("../../scripts/checks/files.sh")
);
/// Prints the SHA-256 of file `$1`, or nothing (read as for [`FILES_SCRIPT`]).
pub const FILE_HASH_SCRIPT: &str = concat!(
    include_str!("../../../enshu-injector/scripts/run-as-owner.sh"),
    include_str!("../../scripts/checks/file_hash.sh")
);
/// Lists processes whose name is exactly `$1`.
pub const PROCESS_SCRIPT: &str = include_str!("../../scripts/checks/process.sh");
/// Judges account `$1` against the image's initial passwords (on a
/// directory host, the domain account's `userAccountControl`); prints
/// `pass|fail <reason>`.
pub const ACCOUNT_SCRIPT: &str = concat!(
    include_str!("../../scripts/checks/directory.sh"),
    include_str!("../../scripts/checks/account.sh")
);
/// Prints the state of domain account `$1` on a directory host: `missing`,
/// `error <why>`, or `uac=<n> pwdlastset=<Unix seconds> groups=<cn,...>`.
pub const DIRECTORY_ACCOUNT_SCRIPT: &str = concat!(
    include_str!("../../scripts/checks/directory.sh"),
    include_str!("../../scripts/checks/directory_account.sh")
);
/// Prints `sha256sum` lines for the files under `$2`, at most `$1` (read
/// as for [`FILES_SCRIPT`]).
pub const RESTORED_SCRIPT: &str = concat!(
    include_str!("../../../enshu-injector/scripts/run-as-owner.sh"),
    include_str!("../../scripts/checks/restored.sh")
);
/// Prints the manifest of the copy of host `$1` on a backup host.
pub const MANIFEST_SCRIPT: &str = include_str!("../../scripts/checks/manifest.sh");

/// Seconds an HTTP check's `curl` may take.
const HTTP_TIMEOUT_SECONDS: &str = "5";
/// Seconds a port check's connect may take.
const PORT_TIMEOUT_SECONDS: &str = "3";
/// The beacon window when the check names none.
pub(crate) const DEFAULT_WINDOW_SECONDS: u64 = DEFAULT_BEACON_WINDOW_SECONDS;

/// One exec a check runs: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckCommand {
    pub container: String,
    pub command: Vec<String>,
}

/// What a judge looks at.
pub struct Judging<'a> {
    pub check: &'a PlannedCheck,
    pub output: &'a ExecOutput,
    /// What the team's range holds: the injects fired since its last reset,
    /// by id (`no_beacon` asks whether the beacon was started).
    pub ground_truth: &'a BTreeMap<String, GroundTruth>,
    /// The check's own hash or its golden copy's, when it has one.
    pub expected_sha256: Option<&'a str>,
    /// Whether the target answered an exec (asked only by kinds with
    /// [`CheckProgram::needs_target_running`]).
    pub target_running: bool,
    /// The output of the kind's [`CheckProgram::reference`] exec, when it
    /// has one (`restored`: the backup's manifest).
    pub reference: Option<&'a ExecOutput>,
}

/// Builds the exec a check runs (pure).
pub type CommandFor = fn(&PlannedCheck) -> Result<CheckCommand, CheckError>;

/// What one kind of check runs and how it judges.
pub struct CheckProgram {
    /// The exec the check runs (pure).
    pub command: fn(&PlannedCheck) -> Result<CheckCommand, CheckError>,
    /// The verdict on that exec's output (pure).
    pub judge: fn(&Judging<'_>) -> CheckOutcome,
    /// The verdict on a freshly rebuilt range, when it differs from
    /// `judge`: is the range free of the attack's traces? (`no_beacon`
    /// needs beacons seen before the silence to meet its objective; a
    /// rebuilt range has had none and is clean when none comes.)
    pub judge_clean: Option<fn(&Judging<'_>) -> CheckOutcome>,
    /// Whether the verdict needs to know the target still runs.
    pub needs_target_running: bool,
    /// Whether the kind judges the team's own action rather than traces of
    /// the attack (see [`super::judges_the_teams_action`]).
    pub judges_the_teams_action: bool,
    /// A second exec whose output the verdict compares with (`restored`
    /// reads the backup's manifest on the backup host).
    pub reference: Option<CommandFor>,
}

/// The table: each kind's program.
pub fn program(kind: CheckKind) -> &'static CheckProgram {
    match kind {
        CheckKind::Http => &HTTP,
        CheckKind::PortOpen => &PORT_OPEN,
        CheckKind::PortClosed => &PORT_CLOSED,
        CheckKind::FilePresent => &FILE_PRESENT,
        CheckKind::FileAbsent => &FILE_ABSENT,
        CheckKind::FileHash => &FILE_HASH,
        CheckKind::ProcessAbsent => &PROCESS_ABSENT,
        CheckKind::NoBeacon => &NO_BEACON,
        CheckKind::AccountDisabled => &ACCOUNT_DISABLED,
        CheckKind::PasswordChanged => &PASSWORD_CHANGED,
        CheckKind::NotInGroup => &NOT_IN_GROUP,
        CheckKind::Restored => &RESTORED,
        CheckKind::Command => &COMMAND,
    }
}

const fn attack_trace(
    command: fn(&PlannedCheck) -> Result<CheckCommand, CheckError>,
    judge: fn(&Judging<'_>) -> CheckOutcome,
) -> CheckProgram {
    CheckProgram {
        command,
        judge,
        judge_clean: None,
        needs_target_running: false,
        judges_the_teams_action: false,
        reference: None,
    }
}

const fn team_action(
    command: fn(&PlannedCheck) -> Result<CheckCommand, CheckError>,
    judge: fn(&Judging<'_>) -> CheckOutcome,
) -> CheckProgram {
    CheckProgram {
        judges_the_teams_action: true,
        ..attack_trace(command, judge)
    }
}

static HTTP: CheckProgram = attack_trace(http_command, judge_http);
static PORT_OPEN: CheckProgram = attack_trace(port_command, judge_port);
static PORT_CLOSED: CheckProgram = team_action(port_command, judge_port);
static FILE_PRESENT: CheckProgram = team_action(files_command, judge_files);
static FILE_ABSENT: CheckProgram = attack_trace(files_command, judge_files);
static FILE_HASH: CheckProgram = attack_trace(file_hash_command, judge_file_hash);
static PROCESS_ABSENT: CheckProgram = attack_trace(process_command, judge_process);
static NO_BEACON: CheckProgram = CheckProgram {
    needs_target_running: true,
    judge_clean: Some(judge_beacon_on_a_clean_range),
    ..attack_trace(beacon_command, judge_beacon)
};
static ACCOUNT_DISABLED: CheckProgram = team_action(account_command, judge_account);
static PASSWORD_CHANGED: CheckProgram =
    team_action(directory_account_command, judge_password_changed);
static NOT_IN_GROUP: CheckProgram = team_action(directory_account_command, judge_not_in_group);
static RESTORED: CheckProgram = CheckProgram {
    reference: Some(manifest_command),
    ..attack_trace(restored_command, judge_restored)
};
// What a command shows is the scenario's to say: a rebuilt range need not
// pass it (a version after patching), so the clean-range proof skips it.
static COMMAND: CheckProgram = team_action(command_command, judge_command);

fn host_container(objective: &str, target: &ResolvedTarget) -> Result<String, CheckError> {
    target
        .container
        .clone()
        .ok_or_else(|| CheckError::NotAHost {
            objective: objective.to_string(),
            reference: target.reference.clone(),
        })
}

fn missing(check: &PlannedCheck, field: &'static str) -> CheckError {
    CheckError::Missing {
        objective: check.objective.clone(),
        kind: check.check.kind.as_str(),
        field,
    }
}

fn first_port(check: &PlannedCheck) -> Option<u16> {
    check
        .check
        .port
        .and_then(|port| port.ports)
        .map(|(low, _)| low)
}

fn required_path(check: &PlannedCheck) -> Result<&str, CheckError> {
    check
        .check
        .path
        .as_deref()
        .ok_or_else(|| missing(check, "path"))
}

fn required_name(check: &PlannedCheck) -> Result<&str, CheckError> {
    check
        .check
        .name
        .as_deref()
        .ok_or_else(|| missing(check, "name"))
}

fn window_seconds(check: &PlannedCheck) -> u64 {
    check
        .check
        .window
        .map(|window| window.seconds)
        .unwrap_or(DEFAULT_WINDOW_SECONDS)
}

/// The vantage container and the address to reach the target at: `from`
/// when given, otherwise the target itself over loopback.
fn vantage(check: &PlannedCheck) -> Result<(String, String), CheckError> {
    match &check.from {
        Some(from) => {
            let container = host_container(&check.objective, from)?;
            let address = check
                .target
                .address
                .ok_or_else(|| missing(check, "a target host address"))?;
            Ok((container, address.to_string()))
        }
        None => Ok((
            host_container(&check.objective, &check.target)?,
            "127.0.0.1".to_string(),
        )),
    }
}

/// A command in the check's target container.
fn in_target(check: &PlannedCheck, command: Vec<String>) -> Result<CheckCommand, CheckError> {
    Ok(CheckCommand {
        container: host_container(&check.objective, &check.target)?,
        command,
    })
}

fn http_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let (container, address) = vantage(check)?;
    let port = first_port(check).unwrap_or(80);
    let path = check.check.path.as_deref().unwrap_or("/");
    let url = format!("http://{address}:{port}{path}");
    Ok(CheckCommand {
        container,
        command: shell::bash(
            HTTP_SCRIPT,
            "enshu-check-http",
            &[&url, HTTP_TIMEOUT_SECONDS],
        ),
    })
}

fn judge_http(judging: &Judging<'_>) -> CheckOutcome {
    let text = judging.output.stdout_text();
    let words: Vec<&str> = text.split_whitespace().collect();
    let check = judging.check;
    let path = check.check.path.as_deref().unwrap_or("");
    let status: u16 = words
        .first()
        .and_then(|word| word.parse().ok())
        .unwrap_or(0);
    let body_sha256 = words.get(1).copied().unwrap_or("");
    let expected_status = check.check.status.unwrap_or(200);
    if status != expected_status {
        return CheckOutcome::new(
            false,
            format!("{path} answered {status}, expected {expected_status}"),
        );
    }
    match judging.expected_sha256 {
        Some(expected) if expected != body_sha256 => CheckOutcome::new(
            false,
            format!(
                "{path} answered {status} but its body's sha256 {body_sha256} is not {expected}"
            ),
        ),
        Some(expected) => CheckOutcome::new(
            true,
            format!("{path} answered {status} with the expected body ({expected})"),
        ),
        None => CheckOutcome::new(true, format!("{path} answered {status}")),
    }
}

fn port_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let (container, address) = vantage(check)?;
    let port = first_port(check)
        .ok_or_else(|| missing(check, "port"))?
        .to_string();
    Ok(CheckCommand {
        container,
        command: shell::bash(
            PORT_SCRIPT,
            "enshu-check-port",
            &[&address, &port, PORT_TIMEOUT_SECONDS],
        ),
    })
}

fn judge_port(judging: &Judging<'_>) -> CheckOutcome {
    let check = judging.check;
    let text = judging.output.stdout_text();
    let open = text.split_whitespace().next() == Some("open");
    let port = first_port(check).unwrap_or(0);
    let wanted_open = check.check.kind == CheckKind::PortOpen;
    let state = if open { "open" } else { "closed or filtered" };
    CheckOutcome::new(
        open == wanted_open,
        format!("{} port {port} is {state}", check.target.reference),
    )
}

fn files_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let path = required_path(check)?;
    in_target(
        check,
        shell::bash(FILES_SCRIPT, "enshu-check-files", &[path]),
    )
}

fn judge_files(judging: &Judging<'_>) -> CheckOutcome {
    let check = judging.check;
    let path = check.check.path.as_deref().unwrap_or("");
    let text = judging.output.stdout_text();
    let matches: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    let present = !matches.is_empty();
    let detail = if present {
        format!("{path} matches {}", matches.join(", "))
    } else {
        format!("nothing matches {path}")
    };
    CheckOutcome::new(
        present == (check.check.kind == CheckKind::FilePresent),
        detail,
    )
}

fn file_hash_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let path = required_path(check)?;
    in_target(
        check,
        shell::bash(FILE_HASH_SCRIPT, "enshu-check-hash", &[path]),
    )
}

fn judge_file_hash(judging: &Judging<'_>) -> CheckOutcome {
    let path = judging.check.check.path.as_deref().unwrap_or("");
    let text = judging.output.stdout_text();
    let found = text.split_whitespace().next().unwrap_or("");
    match judging.expected_sha256 {
        _ if found.is_empty() => CheckOutcome::new(false, format!("{path} does not exist")),
        Some(expected) => CheckOutcome::new(
            found == expected,
            format!("{path} has sha256 {found}, expected {expected}"),
        ),
        None => CheckOutcome::new(
            false,
            format!("{path} has sha256 {found}, but the check names no expected hash"),
        ),
    }
}

fn process_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let name = required_name(check)?;
    // The kernel keeps 15 bytes of a process name; pgrep -x matches those.
    let comm: String = name.bytes().take(15).map(char::from).collect();
    in_target(
        check,
        shell::bash(PROCESS_SCRIPT, "enshu-check-process", &[&comm]),
    )
}

fn judge_process(judging: &Judging<'_>) -> CheckOutcome {
    let name = judging.check.check.name.as_deref().unwrap_or("");
    let text = judging.output.stdout_text();
    let running: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    if running.is_empty() {
        CheckOutcome::new(true, format!("no process named {name}"))
    } else {
        CheckOutcome::new(false, format!("{name} still runs: {}", running.join("; ")))
    }
}

/// The `nft` commands that list the router's beacon evidence for the
/// check's pair: the set of recent beacons, then the pair's counter (one
/// JSON document each, a line each).
fn beacon_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let destination = check
        .to
        .as_ref()
        .ok_or_else(|| missing(check, "to"))?
        .address
        .ok_or_else(|| missing(check, "a `to` host address"))?;
    let source = check
        .target
        .address
        .ok_or_else(|| missing(check, "a target host address"))?;
    let router = check
        .router
        .clone()
        .ok_or_else(|| missing(check, "the team's router"))?;
    let table = format!("{FIREWALL_FAMILY} {BEACON_TABLE}");
    let counter = beacon_counter(source, destination);
    Ok(CheckCommand {
        container: router,
        command: vec![
            "nft".to_string(),
            "-j".to_string(),
            format!("list set {table} {BEACON_SET}; list counter {table} {counter}"),
        ],
    })
}

/// What the router counted of the check's beacon pair.
#[derive(Debug, PartialEq, Eq)]
struct BeaconEvidence {
    /// Packets from the target to the C2 the router forwarded since it
    /// was built.
    packets: u64,
    /// Seconds since the last of them, while the pair is in the set of
    /// recent beacons (it leaves it the set's timeout after its last one).
    last_seconds_ago: Option<u64>,
}

/// Reads `nft -j` output: the set's element `source . destination` (its
/// `timeout` less what `expires` is left is the time since its last
/// packet) and the counter's packets.
fn beacon_evidence(text: &str, source: &str, destination: &str) -> Result<BeaconEvidence, String> {
    let mut packets = None;
    let mut last_seconds_ago = None;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let document: serde_json::Value =
            serde_json::from_str(line).map_err(|error| format!("not nft JSON ({error})"))?;
        let objects = document
            .get("nftables")
            .and_then(serde_json::Value::as_array)
            .ok_or("no `nftables` list in nft's JSON")?;
        for object in objects {
            if let Some(counter) = object.get("counter") {
                packets = counter.get("packets").and_then(serde_json::Value::as_u64);
            }
            let elements = object
                .get("set")
                .and_then(|set| set.get("elem"))
                .and_then(serde_json::Value::as_array);
            for element in elements.into_iter().flatten() {
                let element = element.get("elem").unwrap_or(element);
                let pair = element
                    .get("val")
                    .and_then(|value| value.get("concat"))
                    .and_then(serde_json::Value::as_array);
                let is_ours = pair.is_some_and(|pair| {
                    pair.len() == 2
                        && pair[0].as_str() == Some(source)
                        && pair[1].as_str() == Some(destination)
                });
                if !is_ours {
                    continue;
                }
                let seconds = |field: &str| element.get(field).and_then(serde_json::Value::as_u64);
                last_seconds_ago = Some(
                    seconds("timeout")
                        .zip(seconds("expires"))
                        .map_or(0, |(timeout, expires)| timeout.saturating_sub(expires)),
                );
            }
        }
    }
    let packets = packets.ok_or("no beacon counter in nft's output")?;
    Ok(BeaconEvidence {
        packets,
        last_seconds_ago,
    })
}

/// The router's evidence for the judging, or why it could not be read.
fn read_beacon_evidence(judging: &Judging<'_>) -> Result<BeaconEvidence, String> {
    let check = judging.check;
    let output = judging.output;
    let router = check.router.as_deref().unwrap_or("the router");
    if output.exit_code != 0 {
        return Err(format!(
            "could not read the beacon counter on {router}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let source = check.target.address.map(|address| address.to_string());
    let destination = check
        .to
        .as_ref()
        .and_then(|to| to.address)
        .map(|address| address.to_string());
    beacon_evidence(
        &output.stdout_text(),
        source.as_deref().unwrap_or(""),
        destination.as_deref().unwrap_or(""),
    )
    .map_err(|why| format!("could not read the beacon counter on {router}: {why}"))
}

/// The last beacon, if it came within the window: seconds ago. `nft -j`
/// rounds `expires` down to the second, so the age it gives may be up to
/// a second more than the true one: an age equal to the window is still
/// within it (a pass never comes early).
fn within_window(evidence: &BeaconEvidence, window: u64) -> Option<u64> {
    evidence
        .last_seconds_ago
        .filter(|seconds_ago| *seconds_ago <= window)
}

/// The fired inject that started beacons from the check's target to its
/// `to` host in the team's current range (its ground truth: a `beacon`
/// generator at the target's address, sending to `to`'s).
pub fn beacon_inject<'a>(
    check: &PlannedCheck,
    ground_truth: &'a BTreeMap<String, GroundTruth>,
) -> Option<&'a str> {
    let source = check.target.address?.to_string();
    let destination = check.to.as_ref().and_then(|to| to.address);
    ground_truth
        .iter()
        .find(|(_, truth)| {
            truth.kind.as_deref() == Some(TrafficKind::Beacon.as_str())
                && truth.address.as_deref() == Some(source.as_str())
                && destination.is_none_or(|destination| {
                    truth.destination.as_deref() == Some(destination.to_string().as_str())
                })
        })
        .map(|(inject, _)| inject.as_str())
}

/// Met when the beacon was cut off while the host kept running: the beacon
/// inject fired, the team's router forwarded beacons from the target to
/// the C2, none within the window, and the target still answers. The
/// evidence is the router's (the team cannot write it, and holding the C2
/// busy does not stop it counting).
fn judge_beacon(judging: &Judging<'_>) -> CheckOutcome {
    let source = judging.check.target.reference.as_str();
    let to = judging
        .check
        .to
        .as_ref()
        .map_or("the C2", |to| to.reference.as_str());
    let window = window_seconds(judging.check);
    let evidence = match read_beacon_evidence(judging) {
        Ok(evidence) => evidence,
        Err(why) => return CheckOutcome::new(false, why),
    };
    if !judging.target_running {
        return CheckOutcome::new(
            false,
            format!("{source} is not running: the beacon must stop while the host stays up"),
        );
    }
    let Some(inject) = beacon_inject(judging.check, judging.ground_truth) else {
        return CheckOutcome::new(
            false,
            format!("no beacon from {source} has been started yet: there is nothing to stop"),
        );
    };
    let packets = evidence.packets;
    if let Some(seconds_ago) = within_window(&evidence, window) {
        return CheckOutcome::new(
            false,
            format!(
                "the router forwarded a beacon from {source} to {to} {seconds_ago}s ago, within the last {window}s ({packets} packets in all)"
            ),
        );
    }
    if packets == 0 {
        return CheckOutcome::new(
            false,
            format!(
                "the router has forwarded no beacon from {source} to {to} since inject {inject} started it: nothing was seen to stop"
            ),
        );
    }
    CheckOutcome::new(
        true,
        format!(
            "no beacon from {source} to {to} crossed the router in the last {window}s ({packets} packets before); {source} is up"
        ),
    )
}

/// A rebuilt range is clean when no beacon from the target crossed the
/// router within the window and the target runs.
fn judge_beacon_on_a_clean_range(judging: &Judging<'_>) -> CheckOutcome {
    let source = judging.check.target.reference.as_str();
    let window = window_seconds(judging.check);
    match read_beacon_evidence(judging) {
        Err(why) => CheckOutcome::new(false, why),
        Ok(_) if !judging.target_running => {
            CheckOutcome::new(false, format!("{source} is not running"))
        }
        Ok(evidence) => match within_window(&evidence, window) {
            Some(seconds_ago) => CheckOutcome::new(
                false,
                format!(
                    "the router forwarded a beacon from {source} {seconds_ago}s ago, within the last {window}s"
                ),
            ),
            None => CheckOutcome::new(
                true,
                format!(
                    "no beacon from {source} crossed the router in the last {window}s; {source} is up"
                ),
            ),
        },
    }
}

fn account_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let name = required_name(check)?;
    in_target(
        check,
        shell::bash(ACCOUNT_SCRIPT, "enshu-check-account", &[name]),
    )
}

fn judge_account(judging: &Judging<'_>) -> CheckOutcome {
    let text = judging.output.stdout_text();
    let passed = text.split_whitespace().next() == Some("pass");
    let reason = text
        .trim()
        .split_once(' ')
        .map(|(_, reason)| reason)
        .unwrap_or(text.trim());
    CheckOutcome::new(passed, reason.to_string())
}

fn directory_account_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let name = required_name(check)?;
    in_target(
        check,
        shell::bash(
            DIRECTORY_ACCOUNT_SCRIPT,
            "enshu-check-directory-account",
            &[name],
        ),
    )
}

/// A domain account's state, as `directory.sh` prints it.
#[derive(Debug, PartialEq, Eq)]
enum DomainAccount {
    Missing,
    Unreadable(String),
    Present {
        password_set_at: i64,
        groups: Vec<String>,
    },
}

fn domain_account(text: &str) -> DomainAccount {
    let line = text.trim();
    if line == "missing" {
        return DomainAccount::Missing;
    }
    if let Some(why) = line.strip_prefix("error") {
        return DomainAccount::Unreadable(why.trim().to_string());
    }
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
    };
    match field("pwdlastset").and_then(|value| value.parse().ok()) {
        Some(password_set_at) => DomainAccount::Present {
            password_set_at,
            // The last field, to the end of the line: a group's name may
            // hold a space (`Domain Admins`).
            groups: line
                .split_once(" groups=")
                .map(|(_, groups)| groups)
                .unwrap_or("")
                .split(',')
                .filter(|group| !group.is_empty())
                .map(str::to_string)
                .collect(),
        },
        None => DomainAccount::Unreadable(format!("unexpected output {line:?}")),
    }
}

/// Met when the account's password was set (`pwdLastSet`) after the
/// objective's inject fired.
fn judge_password_changed(judging: &Judging<'_>) -> CheckOutcome {
    let check = judging.check;
    let name = check.check.name.as_deref().unwrap_or("");
    let fired_at_ms = check
        .since
        .as_ref()
        .and_then(|inject| judging.ground_truth.get(inject))
        .and_then(|truth| truth.fired_at_ms);
    let Some(fired_at_ms) = fired_at_ms else {
        return CheckOutcome::new(
            false,
            format!(
                "inject {} has not fired (or its fire time is unknown): nothing to compare {name}'s password with",
                check.since.as_deref().unwrap_or("(none)")
            ),
        );
    };
    let fired_at = fired_at_ms.div_euclid(1000);
    match domain_account(&judging.output.stdout_text()) {
        DomainAccount::Missing => CheckOutcome::new(false, format!("{name} is not in the domain")),
        DomainAccount::Unreadable(why) => {
            CheckOutcome::new(false, format!("cannot read {name} in the domain: {why}"))
        }
        DomainAccount::Present {
            password_set_at, ..
        } if password_set_at > fired_at => CheckOutcome::new(
            true,
            format!(
                "{name}'s password was set {}s after the inject fired",
                password_set_at - fired_at
            ),
        ),
        DomainAccount::Present { .. } => CheckOutcome::new(
            false,
            format!("{name}'s password has not been set since the inject fired"),
        ),
    }
}

/// Met when the account is not a member of the group (or is gone).
fn judge_not_in_group(judging: &Judging<'_>) -> CheckOutcome {
    let check = judging.check;
    let name = check.check.name.as_deref().unwrap_or("");
    let group = check.check.group.as_deref().unwrap_or("");
    match domain_account(&judging.output.stdout_text()) {
        DomainAccount::Missing => CheckOutcome::new(
            true,
            format!("{name} is not in the domain (removed), so not in {group}"),
        ),
        DomainAccount::Unreadable(why) => {
            CheckOutcome::new(false, format!("cannot read {name} in the domain: {why}"))
        }
        DomainAccount::Present { groups, .. } => {
            if groups
                .iter()
                .any(|member_of| member_of.eq_ignore_ascii_case(group))
            {
                CheckOutcome::new(false, format!("{name} is still a member of {group}"))
            } else {
                CheckOutcome::new(true, format!("{name} is not a member of {group}"))
            }
        }
    }
}

/// Most files a `restored` check lists on its target.
const RESTORED_FILE_LIMIT: &str = "20000";
/// Seconds a `command` check's command may run (inside the 20 s exec).
const COMMAND_TIMEOUT_SECONDS: &str = "15";
/// Exit status of `timeout` when the command ran out of time.
const TIMED_OUT_EXIT: i64 = 124;

/// The target's host name (the name its copy has on the backup host).
fn host_name(target: &ResolvedTarget) -> &str {
    target
        .reference
        .rsplit('/')
        .next()
        .unwrap_or(&target.reference)
}

fn restored_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let path = required_path(check)?;
    in_target(
        check,
        shell::bash(
            RESTORED_SCRIPT,
            "enshu-check-restored",
            &[RESTORED_FILE_LIMIT, path],
        ),
    )
}

fn manifest_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let backup = check.to.as_ref().ok_or_else(|| missing(check, "to"))?;
    Ok(CheckCommand {
        container: host_container(&check.objective, backup)?,
        command: shell::bash(
            MANIFEST_SCRIPT,
            "enshu-check-manifest",
            &[host_name(&check.target)],
        ),
    })
}

/// `sha256sum` lines as absolute path → hash: names relative to `/`
/// (`./srv/share/a`, `srv/share/a`), a leading `\` marking an escaped
/// name (`\\`, `\n`, `\r`).
pub fn parse_sha256_lines(text: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for line in text.lines() {
        let (escaped, line) = match line.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some((hash, name)) = line.split_at_checked(64) else {
            continue;
        };
        let Some(name) = name.strip_prefix("  ").or_else(|| name.strip_prefix(" *")) else {
            continue;
        };
        if !hash.chars().all(|character| character.is_ascii_hexdigit()) {
            continue;
        }
        let name = if escaped {
            unescape(name)
        } else {
            name.to_string()
        };
        let relative = name.trim_start_matches("./").trim_start_matches('/');
        files.insert(format!("/{relative}"), hash.to_ascii_lowercase());
    }
    files
}

fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut characters = name.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match characters.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// At most a few names, for a detail line.
fn some(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut shown = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        shown.push_str(&format!(", … ({} in all)", names.len()));
    }
    shown
}

/// Met when every file the backup holds under the check's path is on the
/// target with the backup's hash, and no encrypted file (`*.locked`) or
/// ransom note is left there. Other files the team or the staff added
/// since do not count against it.
fn judge_restored(judging: &Judging<'_>) -> CheckOutcome {
    let check = judging.check;
    let target = check.target.reference.as_str();
    let path = check.check.path.as_deref().unwrap_or("/");
    let backup = check
        .to
        .as_ref()
        .map_or("the backup host", |to| to.reference.as_str());
    let Some(manifest) = judging.reference else {
        return CheckOutcome::new(false, format!("the backup of {target} was not read"));
    };
    if manifest.exit_code != 0 {
        return CheckOutcome::new(
            false,
            format!(
                "{backup} holds no copy of {target}: {}",
                String::from_utf8_lossy(&manifest.stderr).trim()
            ),
        );
    }
    let expected: BTreeMap<String, String> = parse_sha256_lines(&manifest.stdout_text())
        .into_iter()
        .filter(|(file, _)| enshu_scenario::roles::is_under(path, file))
        .collect();
    if expected.is_empty() {
        return CheckOutcome::new(
            false,
            format!("the backup of {target} on {backup} holds no file under {path}"),
        );
    }
    let found = parse_sha256_lines(&judging.output.stdout_text());
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for (file, hash) in &expected {
        match found.get(file) {
            None => missing.push(file.as_str()),
            Some(found_hash) if found_hash != hash => changed.push(file.as_str()),
            Some(_) => {}
        }
    }
    let is_note = |file: &str| file.rsplit('/').next() == Some(RANSOM_NOTE_FILE);
    let encrypted: Vec<&str> = found
        .keys()
        .filter(|file| file.ends_with(ENCRYPTED_EXTENSION))
        .map(String::as_str)
        .collect();
    let notes: Vec<&str> = found
        .keys()
        .filter(|file| is_note(file) && !expected.contains_key(*file))
        .map(String::as_str)
        .collect();
    if missing.is_empty() && changed.is_empty() && encrypted.is_empty() && notes.is_empty() {
        let others = found.len() - expected.len();
        return CheckOutcome::new(
            true,
            format!(
                "the {} files of the backup under {path} are on {target} with their hashes ({others} other files)",
                expected.len()
            ),
        );
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("{} missing ({})", missing.len(), some(&missing)));
    }
    if !changed.is_empty() {
        problems.push(format!(
            "{} differ from the backup ({})",
            changed.len(),
            some(&changed)
        ));
    }
    if !encrypted.is_empty() {
        problems.push(format!(
            "{} encrypted ({})",
            encrypted.len(),
            some(&encrypted)
        ));
    }
    if !notes.is_empty() {
        problems.push(format!("ransom note left ({})", some(&notes)));
    }
    CheckOutcome::new(
        false,
        format!(
            "{path} on {target} is not restored from {backup}: {}",
            problems.join("; ")
        ),
    )
}

fn command_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let command = check
        .check
        .command
        .as_deref()
        .ok_or_else(|| missing(check, "command"))?;
    let container = match &check.from {
        Some(from) => host_container(&check.objective, from)?,
        None => host_container(&check.objective, &check.target)?,
    };
    let address = check
        .target
        .address
        .map(|address| address.to_string())
        .unwrap_or_default();
    Ok(CheckCommand {
        container,
        command: [
            "timeout",
            "-k",
            "2",
            COMMAND_TIMEOUT_SECONDS,
            "bash",
            "-c",
            command,
            "enshu-check-command",
            &address,
        ]
        .into_iter()
        .map(str::to_string)
        .collect(),
    })
}

/// Met when every condition of `expect` holds (exit 0 when it gives none):
/// the exit status, text in the output, a regular expression matching it.
/// The output is stdout followed by stderr.
fn judge_command(judging: &Judging<'_>) -> CheckOutcome {
    let check = &judging.check.check;
    let expect = check.expect.as_deref().cloned().unwrap_or_default();
    let output = judging.output;
    let mut text = output.stdout_text();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let first_line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let first_line: String = first_line.chars().take(120).collect();
    let code = output.exit_code;
    let checks_output = expect.output_contains.is_some() || expect.output_matches.is_some();
    let mut problems = Vec::new();
    if code == TIMED_OUT_EXIT {
        problems.push(format!(
            "the command ran out of time ({COMMAND_TIMEOUT_SECONDS}s)"
        ));
    }
    if let Some(exit) = expect.exit.or((!checks_output).then_some(0))
        && code != exit
    {
        problems.push(format!("it exited {code}, expected {exit}"));
    }
    if let Some(needle) = &expect.output_contains
        && !text.contains(needle.as_str())
    {
        problems.push(format!("its output does not contain {needle:?}"));
    }
    if let Some(pattern) = &expect.output_matches {
        match regex::Regex::new(pattern) {
            Ok(regex) if regex.is_match(&text) => {}
            Ok(_) => problems.push(format!("its output does not match {pattern:?}")),
            Err(error) => {
                problems.push(format!("{pattern:?} is not a regular expression: {error}"))
            }
        }
    }
    let shown = if first_line.is_empty() {
        "no output".to_string()
    } else {
        format!("output {first_line:?}")
    };
    if problems.is_empty() {
        CheckOutcome::new(true, format!("the command exited {code} ({shown})"))
    } else {
        CheckOutcome::new(false, format!("{} ({shown})", problems.join("; ")))
    }
}
