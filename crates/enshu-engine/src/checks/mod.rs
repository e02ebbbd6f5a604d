//! Automatic checks: is the team's range in the state an objective asks for?
//!
//! A check runs one short, bounded command inside a range container (the
//! target, or the `from` vantage for reachability) and judges its output
//! purely, so the judging is unit-tested without containers. What each
//! kind runs and how it judges is one entry of one table ([`program`]);
//! the programs are files under `scripts/checks/`, given their values as
//! arguments. A check that cannot run (the container is gone, the exec
//! timed out) did not pass: it is a failed outcome with the reason, never
//! a silent skip. Only a check the plan left incomplete (no port for a
//! port check) is an error.
//!
//! The checks observe the defence (is the beacon gone, is the page back),
//! which is why they belong to the engine and not to the injector.

mod kinds;

use std::collections::BTreeMap;
use std::time::Duration;

use enshu_backend::{Backend, ExecOutput, ExecPrivilege};
use enshu_scenario::model::CheckKind;
use enshu_scenario::plan::PlannedCheck;
use enshu_store::GroundTruth;
use serde::Serialize;

pub use kinds::{
    ACCOUNT_SCRIPT, CheckCommand, CheckProgram, DIRECTORY_ACCOUNT_SCRIPT, FILE_HASH_SCRIPT,
    FILES_SCRIPT, HTTP_SCRIPT, Judging, MANIFEST_SCRIPT, PORT_SCRIPT, PROCESS_SCRIPT,
    RESTORED_SCRIPT, beacon_inject, parse_sha256_lines, program,
};

/// How long one exec of a check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub passed: bool,
    pub detail: String,
}

impl CheckOutcome {
    pub(crate) fn new(passed: bool, detail: impl Into<String>) -> CheckOutcome {
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

/// The expected SHA-256: the check's own, or the golden copy an inject kept.
pub fn expected_sha256(
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, GroundTruth>,
) -> Result<Option<String>, String> {
    if let Some(sha256) = &check.check.sha256 {
        return Ok(Some(sha256.to_lowercase()));
    }
    let Some(inject) = &check.check.golden else {
        return Ok(None);
    };
    ground_truth
        .get(inject)
        .and_then(|truth| truth.golden_sha256.clone())
        .map(Some)
        .ok_or_else(|| {
            format!("inject {inject} has not fired: there is no golden copy to compare with")
        })
}

/// The exec the check runs (the pure half of [`run_check`]).
pub fn check_command(check: &PlannedCheck) -> Result<CheckCommand, CheckError> {
    (program(check.check.kind).command)(check)
}

/// Judge a check from its command's output (pure), in a range where no
/// inject has fired yet: for the kinds that read only the output (every
/// kind but `no_beacon`, which [`judge_with`] judges). `target_running` is
/// only consulted by the kinds that ask for it.
pub fn judge(
    check: &PlannedCheck,
    output: &ExecOutput,
    expected_sha256: Option<&str>,
    target_running: bool,
) -> CheckOutcome {
    judge_with(&Judging {
        check,
        output,
        ground_truth: &BTreeMap::new(),
        expected_sha256,
        target_running,
        reference: None,
    })
}

/// Judge whether a check's objective is met (pure).
pub fn judge_with(judging: &Judging<'_>) -> CheckOutcome {
    (program(judging.check.check.kind).judge)(judging)
}

/// Judge whether a freshly rebuilt range is clean (pure): the kind's own
/// clean-range verdict, or its objective's where that is the same question.
pub fn judge_clean(judging: &Judging<'_>) -> CheckOutcome {
    let kind = program(judging.check.check.kind);
    kind.judge_clean.unwrap_or(kind.judge)(judging)
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

/// Run one check: is its objective met? `ground_truth` maps the injects
/// fired into the team's range to what they recorded (the deface inject's
/// `golden_sha256`, for `golden:` checks; the beacon, for `no_beacon`).
pub async fn run_check<B: Backend>(
    backend: &B,
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, GroundTruth>,
) -> Result<CheckOutcome, CheckError> {
    run_judged(backend, check, ground_truth, judge_with).await
}

/// Run one check on a freshly rebuilt range: does it find no trace of the
/// attack? (See [`judge_clean`].)
pub async fn run_clean_range_check<B: Backend>(
    backend: &B,
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, GroundTruth>,
) -> Result<CheckOutcome, CheckError> {
    run_judged(backend, check, ground_truth, judge_clean).await
}

async fn run_judged<B: Backend>(
    backend: &B,
    check: &PlannedCheck,
    ground_truth: &BTreeMap<String, GroundTruth>,
    judge: fn(&Judging<'_>) -> CheckOutcome,
) -> Result<CheckOutcome, CheckError> {
    let kind = program(check.check.kind);
    let command = (kind.command)(check)?;
    let expected = match expected_sha256(check, ground_truth) {
        Ok(expected) => expected,
        Err(reason) => return Ok(CheckOutcome::new(false, reason)),
    };
    let output = match exec_bounded(backend, &command.container, &command.command).await {
        Ok(output) => output,
        Err(reason) => return Ok(CheckOutcome::new(false, reason)),
    };
    let target_running = match (kind.needs_target_running, &check.target.container) {
        (true, Some(target)) => answers(backend, target).await,
        _ => true,
    };
    let reference = match kind.reference {
        Some(reference_command) => {
            let command = reference_command(check)?;
            match exec_bounded(backend, &command.container, &command.command).await {
                Ok(output) => Some(output),
                Err(reason) => return Ok(CheckOutcome::new(false, reason)),
            }
        }
        None => None,
    };
    Ok(judge(&Judging {
        check,
        output: &output,
        ground_truth,
        expected_sha256: expected.as_deref(),
        target_running,
        reference: reference.as_ref(),
    }))
}

/// Whether a kind judges what the team did (closed a port, disabled an
/// account, saved evidence) rather than traces of the attack: a fresh range
/// fails those by design.
pub fn judges_the_teams_action(kind: CheckKind) -> bool {
    program(kind).judges_the_teams_action
}

/// The shortest quiet window a faster clock may bring a check down to.
pub const MIN_WINDOW_SECONDS: u64 = 5;

/// The check as it runs on a clock `speed` times real time: its quiet
/// window is exercise time, so it shrinks with the clock (5 min is 15 s at
/// 20×), never below [`MIN_WINDOW_SECONDS`].
pub fn at_speed(check: &PlannedCheck, speed: u32) -> PlannedCheck {
    let mut check = check.clone();
    if speed > 1 {
        let seconds = check
            .check
            .window
            .map(|window| window.seconds)
            .unwrap_or(kinds::DEFAULT_WINDOW_SECONDS);
        check.check.window = Some(enshu_scenario::model::Duration::from_secs(
            (seconds / u64::from(speed)).max(MIN_WINDOW_SECONDS),
        ));
    }
    check
}

#[cfg(test)]
mod tests;
