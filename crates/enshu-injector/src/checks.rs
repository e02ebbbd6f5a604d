//! Automatic checks: is the team's range in the state an objective asks for?
//!
//! A check runs one short, bounded command inside a range container (the
//! target, or the `from` vantage for reachability) and judges its output
//! purely, so the judging is unit-tested without containers. A check that
//! cannot run (the container is gone, the exec timed out) did not pass: it
//! is a failed outcome with the reason, never a silent skip. Only a check
//! the plan left incomplete (no port for a port check) is an error.

use std::collections::BTreeMap;
use std::time::Duration;

use enshu_backend::{Backend, ExecOutput, ExecPrivilege};
use enshu_scenario::model::CheckKind;
use enshu_scenario::plan::{PlannedCheck, ResolvedTarget};
use serde::Serialize;
use serde_json::Value;

use crate::shell::{self, RUN_AS_OWNER};

/// How long one exec of a check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);
/// The C2 role's request log (see `images/internet`).
pub const C2_LOG: &str = "/var/log/c2/beacons.jsonl";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    pub detail: String,
}

impl CheckOutcome {
    fn new(passed: bool, detail: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            passed,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckError {
    #[error("check of objective {objective}: {kind} needs {field}")]
    Missing {
        objective: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("check of objective {objective}: {reference} is not a host of the range")]
    NotAHost {
        objective: String,
        reference: String,
    },
}

fn kind_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Http => "http",
        CheckKind::PortOpen => "port_open",
        CheckKind::PortClosed => "port_closed",
        CheckKind::FilePresent => "file_present",
        CheckKind::FileAbsent => "file_absent",
        CheckKind::FileHash => "file_hash",
        CheckKind::ProcessAbsent => "process_absent",
        CheckKind::NoBeacon => "no_beacon",
        CheckKind::AccountDisabled => "account_disabled",
    }
}

/// Fetches URL `$1` with timeout `$2` s; prints the status and the body's SHA-256.
pub const HTTP_SCRIPT: &str = r#"body=$(mktemp) || exit 1
status=$(curl -s -m "$2" -o "$body" -w '%{http_code}' -- "$1")
echo "${status:-000} $(sha256sum < "$body" | cut -d' ' -f1)"
rm -f -- "$body"
"#;

/// Prints `open` or `closed` for a TCP connect to `$1`:`$2` within `$3` s.
pub const PORT_SCRIPT: &str = r#"if timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; then echo open; else echo closed; fi"#;

/// Prints what matches path or glob `$1` (at most 20), looking as the
/// owner of the deepest ancestor root can see (root cannot look inside
/// `/home/staff`: without this, a file there would always seem absent).
pub const FILES_SCRIPT: &str = r#"matches() { case $1 in
  *[*?[]*) compgen -G "$1" | head -n 20 ;;
  *) if [ -e "$1" ] || [ -L "$1" ]; then printf '%s\n' "$1"; fi ;;
esac; }
prefix=${1%%[*?[]*}
run_as_owner_of "${prefix:-/}" bash -c "$(declare -f matches); matches \"\$1\"" matches "$1"
exit 0
"#;

/// Prints the SHA-256 of file `$1`, or nothing (read as for [`FILES_SCRIPT`]).
pub const FILE_HASH_SCRIPT: &str =
    r#"run_as_owner_of "$1" sha256sum -- "$1" 2>/dev/null | cut -d' ' -f1; exit 0"#;

/// Lists processes whose name is exactly `$1`.
pub const PROCESS_SCRIPT: &str = r#"pgrep -a -x -- "$1"; exit 0"#;

/// Counts C2 log lines from `$1` within the last `$2` seconds; prints
/// `recent total last_time`.
pub const BEACON_LOG_SCRIPT: &str = r#"exec python3 -c '
import datetime, json, sys
source, window, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
now = datetime.datetime.now(datetime.timezone.utc)
recent = total = 0
last = "-"
try:
    log = open(path, encoding="utf-8", errors="replace")
except FileNotFoundError:
    print(0, 0, "-")
    sys.exit(0)
for line in log:
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("src") != source:
        continue
    total += 1
    last = record.get("time", "-")
    try:
        if (now - datetime.datetime.fromisoformat(last)).total_seconds() <= window:
            recent += 1
    except (TypeError, ValueError):
        continue
print(recent, total, last)
' "$@"
"#;

/// Judges account `$1`: the first of the web role's htpasswd, the mail
/// role's dovecot users and /etc/shadow that lists it decides. Disabled =
/// removed, locked (`!`, `*`), expired, or its password no longer the
/// initial one (the image's, from the role's environment). Prints
/// `pass|fail <reason>`.
pub const ACCOUNT_SCRIPT: &str = r#"user=$1
verdict() { echo "$1 $2"; exit 0; }
judge() { # file initial-password
  local line hash scheme salt computed expires
  line=$(awk -F: -v u="$user" '$1 == u { print; exit }' "$1")
  hash=$(printf '%s' "$line" | cut -d: -f2); hash=${hash#\{SHA512-CRYPT\}}
  case $hash in '!'*|'*'*) verdict pass "$user is locked in $1" ;; '') verdict pass "$user has no password in $1" ;; esac
  if [ "$1" = /etc/shadow ]; then
    expires=$(printf '%s' "$line" | cut -d: -f8)
    [ -n "$expires" ] && [ "$expires" -le $(( $(date +%s) / 86400 )) ] && verdict pass "$user is expired in $1"
  fi
  case $hash in '$apr1$'*) scheme=-apr1 ;; '$6$'*) scheme=-6 ;; '$5$'*) scheme=-5 ;; '$1$'*) scheme=-1 ;; *) verdict pass "$user has a new password in $1" ;; esac
  salt=$(printf '%s' "$hash" | cut -d'$' -f3)
  computed=$(printf '%s\n' "$2" | openssl passwd "$scheme" -salt "$salt" -stdin)
  [ "$computed" = "$hash" ] && verdict fail "$user still has its initial password in $1"
  verdict pass "$user has a new password in $1"
}
for file in /run/enshu/htpasswd /run/enshu/dovecot/users /etc/shadow; do
  [ -r "$file" ] && awk -F: -v u="$user" '$1 == u { found = 1 } END { exit !found }' "$file" || continue
  case $file in /run/enshu/htpasswd) judge "$file" "${ENSHU_WEB_ADMIN_PASSWORD:-saida2024}" ;; *) judge "$file" "${ENSHU_PASSWORD:-enshu}" ;; esac
done
verdict pass "$user is not listed in htpasswd, dovecot users or /etc/shadow (removed)"
"#;

/// One exec a check runs: where, what, and how to judge its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckCommand {
    pub container: String,
    pub command: Vec<String>,
}

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
        kind: kind_name(check.check.kind),
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

/// The vantage container and the address to reach the target at: `from`
/// when given, otherwise the target itself over loopback.
fn vantage(check: &PlannedCheck) -> Result<(String, String, bool), CheckError> {
    match &check.from {
        Some(from) => {
            let container = host_container(&check.objective, from)?;
            let address = check
                .target
                .address
                .ok_or_else(|| missing(check, "a target host address"))?;
            Ok((container, address.to_string(), true))
        }
        None => Ok((
            host_container(&check.objective, &check.target)?,
            "127.0.0.1".to_string(),
            false,
        )),
    }
}

/// The expected SHA-256: the check's own, or the golden copy an inject kept.
pub fn expected_sha256(
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, Value>,
) -> Result<Option<String>, String> {
    if let Some(sha256) = &check.check.sha256 {
        return Ok(Some(sha256.to_lowercase()));
    }
    let Some(inject) = &check.check.golden else {
        return Ok(None);
    };
    ground_truth
        .get(inject)
        .and_then(|truth| truth["golden_sha256"].as_str())
        .map(|hash| Some(hash.to_string()))
        .ok_or_else(|| {
            format!("inject {inject} has not fired: there is no golden copy to compare with")
        })
}

/// The exec the check runs (the pure half of [`run_check`]).
pub fn check_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    let timeout_seconds = "5";
    let (container, command) = match check.check.kind {
        CheckKind::Http => {
            let (container, address, _) = vantage(check)?;
            let port = first_port(check).unwrap_or(80);
            let path = check.check.path.clone().unwrap_or_else(|| "/".into());
            let url = format!("http://{address}:{port}{path}");
            (
                container,
                shell::bash(HTTP_SCRIPT, "enshu-check-http", &[&url, timeout_seconds]),
            )
        }
        CheckKind::PortOpen | CheckKind::PortClosed => {
            let (container, address, _) = vantage(check)?;
            let port = first_port(check)
                .ok_or_else(|| missing(check, "port"))?
                .to_string();
            (
                container,
                shell::bash(PORT_SCRIPT, "enshu-check-port", &[&address, &port, "3"]),
            )
        }
        CheckKind::FilePresent | CheckKind::FileAbsent => {
            let path = check
                .check
                .path
                .as_deref()
                .ok_or_else(|| missing(check, "path"))?;
            (
                host_container(&check.objective, &check.target)?,
                shell::bash(
                    &format!("{RUN_AS_OWNER}{FILES_SCRIPT}"),
                    "enshu-check-files",
                    &[path],
                ),
            )
        }
        CheckKind::FileHash => {
            let path = check
                .check
                .path
                .as_deref()
                .ok_or_else(|| missing(check, "path"))?;
            (
                host_container(&check.objective, &check.target)?,
                shell::bash(
                    &format!("{RUN_AS_OWNER}{FILE_HASH_SCRIPT}"),
                    "enshu-check-hash",
                    &[path],
                ),
            )
        }
        CheckKind::ProcessAbsent => {
            let name = check
                .check
                .name
                .as_deref()
                .ok_or_else(|| missing(check, "name"))?;
            // The kernel keeps 15 bytes of a process name; pgrep -x matches those.
            let comm: String = name.bytes().take(15).map(char::from).collect();
            (
                host_container(&check.objective, &check.target)?,
                shell::bash(PROCESS_SCRIPT, "enshu-check-process", &[&comm]),
            )
        }
        CheckKind::NoBeacon => {
            let to = check.to.as_ref().ok_or_else(|| missing(check, "to"))?;
            let source = check
                .target
                .address
                .ok_or_else(|| missing(check, "a target host address"))?
                .to_string();
            let window = check
                .check
                .window
                .map(|window| window.seconds)
                .unwrap_or(300)
                .to_string();
            (
                host_container(&check.objective, to)?,
                shell::bash(
                    BEACON_LOG_SCRIPT,
                    "enshu-check-beacon",
                    &[&source, &window, C2_LOG],
                ),
            )
        }
        CheckKind::AccountDisabled => {
            let name = check
                .check
                .name
                .as_deref()
                .ok_or_else(|| missing(check, "name"))?;
            (
                host_container(&check.objective, &check.target)?,
                shell::bash(ACCOUNT_SCRIPT, "enshu-check-account", &[name]),
            )
        }
    };
    Ok(CheckCommand { container, command })
}

/// Judge a check from its command's output (pure). `target_running` is
/// only consulted by `no_beacon`.
pub fn judge(
    check: &PlannedCheck,
    output: &ExecOutput,
    expected_sha256: Option<&str>,
    target_running: bool,
) -> CheckOutcome {
    let text = output.stdout_text();
    let words: Vec<&str> = text.split_whitespace().collect();
    let path = check.check.path.as_deref().unwrap_or("");
    match check.check.kind {
        CheckKind::Http => {
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
            match expected_sha256 {
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
        CheckKind::PortOpen | CheckKind::PortClosed => {
            let open = words.first() == Some(&"open");
            let port = first_port(check).unwrap_or(0);
            let wanted_open = check.check.kind == CheckKind::PortOpen;
            let state = if open { "open" } else { "closed or filtered" };
            CheckOutcome::new(
                open == wanted_open,
                format!("{} port {port} is {state}", check.target.reference),
            )
        }
        CheckKind::FilePresent | CheckKind::FileAbsent => {
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
        CheckKind::FileHash => {
            let found = words.first().copied().unwrap_or("");
            match expected_sha256 {
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
        CheckKind::ProcessAbsent => {
            let name = check.check.name.as_deref().unwrap_or("");
            let running: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
            if running.is_empty() {
                CheckOutcome::new(true, format!("no process named {name}"))
            } else {
                CheckOutcome::new(false, format!("{name} still runs: {}", running.join("; ")))
            }
        }
        CheckKind::NoBeacon => {
            let recent: u64 = words
                .first()
                .and_then(|word| word.parse().ok())
                .unwrap_or(u64::MAX);
            let total = words.get(1).copied().unwrap_or("?");
            let last = words.get(2).copied().unwrap_or("-");
            let window = check
                .check
                .window
                .map(|window| window.seconds)
                .unwrap_or(300);
            let source = check.target.reference.as_str();
            if recent == u64::MAX {
                return CheckOutcome::new(
                    false,
                    format!("could not read the C2 log: {:?}", text.trim()),
                );
            }
            if !target_running {
                return CheckOutcome::new(
                    false,
                    format!(
                        "{source} is not running: the beacon must stop while the host stays up"
                    ),
                );
            }
            if recent > 0 {
                CheckOutcome::new(
                    false,
                    format!(
                        "{recent} beacon(s) from {source} in the last {window}s ({total} in all, last at {last})"
                    ),
                )
            } else {
                CheckOutcome::new(
                    true,
                    format!(
                        "no beacon from {source} in the last {window}s ({total} in all, last at {last}); {source} is up"
                    ),
                )
            }
        }
        CheckKind::AccountDisabled => {
            let passed = words.first() == Some(&"pass");
            let reason = text
                .trim()
                .split_once(' ')
                .map(|(_, reason)| reason)
                .unwrap_or(text.trim());
            CheckOutcome::new(passed, reason.to_string())
        }
    }
}

async fn exec_bounded<B: Backend>(
    backend: &B,
    container: &str,
    command: &[String],
) -> Result<ExecOutput, String> {
    match tokio::time::timeout(
        CHECK_TIMEOUT,
        backend.exec(container, command, ExecPrivilege::Container),
    )
    .await
    {
        Err(_) => Err(format!(
            "timed out after {}s in {container}",
            CHECK_TIMEOUT.as_secs()
        )),
        Ok(Err(error)) => Err(format!("could not run in {container}: {error}")),
        Ok(Ok(output)) => Ok(output),
    }
}

/// Whether the target still runs and answers an exec.
async fn answers<B: Backend>(backend: &B, container: &str) -> bool {
    matches!(exec_bounded(backend, container, &["true".to_string()]).await, Ok(output) if output.exit_code == 0)
}

/// Run one check. `ground_truth` maps inject ids to what they recorded
/// (the deface inject's `golden_sha256`, for `golden:` checks).
pub async fn run_check<B: Backend>(
    backend: &B,
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, Value>,
) -> Result<CheckOutcome, CheckError> {
    let command = check_command(check)?;
    let expected = match expected_sha256(check, ground_truth) {
        Ok(expected) => expected,
        Err(reason) => return Ok(CheckOutcome::new(false, reason)),
    };
    let output = match exec_bounded(backend, &command.container, &command.command).await {
        Ok(output) => output,
        Err(reason) => return Ok(CheckOutcome::new(false, reason)),
    };
    let target_running = match (check.check.kind, &check.target.container) {
        (CheckKind::NoBeacon, Some(target)) => answers(backend, target).await,
        _ => true,
    };
    Ok(judge(check, &output, expected.as_deref(), target_running))
}

#[cfg(test)]
mod tests {
    use enshu_backend::fake::{Call, FakeBackend};
    use enshu_scenario::model::{Check, Duration};

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
                window: None,
            },
            target: target("office/pc01", "t-pc01", "10.64.10.101"),
            from: None,
            to: None,
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
            serde_json::json!({"golden_sha256": "aaa"}),
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
            shell::bash(
                &format!("{RUN_AS_OWNER}{FILES_SCRIPT}"),
                "enshu-check-files",
                &["/var/tmp/.svc/*.sh"]
            )
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
    fn no_beacon_reads_the_c2_log_and_needs_the_target_up() {
        let mut quiet = check(CheckKind::NoBeacon);
        quiet.to = Some(target("internet/c2", "t-c2", "10.64.100.23"));
        quiet.check.window = Some(Duration::from_secs(60));
        assert_eq!(
            check_command(&quiet).unwrap(),
            CheckCommand {
                container: "t-c2".into(),
                command: shell::bash(
                    BEACON_LOG_SCRIPT,
                    "enshu-check-beacon",
                    &["10.64.10.101", "60", C2_LOG]
                )
            }
        );
        assert!(
            !judge(
                &quiet,
                &output("3 40 2026-11-26T11:00:00.000+00:00\n"),
                None,
                true
            )
            .passed
        );
        let passed = judge(
            &quiet,
            &output("0 40 2026-11-26T11:00:00.000+00:00\n"),
            None,
            true,
        );
        assert!(passed.passed, "{}", passed.detail);
        let stopped = judge(&quiet, &output("0 40 -\n"), None, false);
        assert!(!stopped.passed);
        assert!(stopped.detail.contains("not running"));
        assert!(!judge(&quiet, &output("Traceback\n"), None, true).passed);
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
                shell::bash(
                    &format!("{RUN_AS_OWNER}{FILES_SCRIPT}"),
                    "enshu-check-files",
                    &["/x"]
                )
            )]
        );
    }
}
