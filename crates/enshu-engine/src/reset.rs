//! The reset protocol: put one team's range back to its initial state and
//! give it the attack back.
//!
//! With the log: pause the team's clock (paused time does not count
//! against it, and the engine neither fires nor checks into a half-built
//! range), remove the team's containers, rebuild them from the plan, prove
//! the session isolated again, run the team's checks that prove the range
//! clean, record `TeamReset` and resume. The engine then fires the injects
//! whose time has passed again ([`crate::projection::schedule_state`]).
//!
//! The machine-side steps the engine cannot do without naming Docker (the
//! host guard, the isolation proof) come from the caller as a [`RangeHost`].

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use enshu_backend::{Backend, BackendError};
use enshu_scenario::plan::{Plan, TeamPlan, labels};
use enshu_store::{
    ClockAction, EventKind, EventQuery, GroundTruth, NewEvent, SessionId, Store, TeamFilter,
};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::checks::{self, judges_the_teams_action};
use crate::projection::ground_truth_of;

/// The served session's log, when there is one, and who writes to it.
pub struct ResetLog {
    pub store: Store,
    pub session: SessionId,
    /// The actor of the events the reset records.
    pub actor: String,
}

impl ResetLog {
    async fn append(&self, team: u32, kind: EventKind) -> Result<(), enshu_store::StoreError> {
        let event = NewEvent {
            session: self.session,
            team: Some(team),
            kind,
            actor: self.actor.clone(),
            at_ms: None,
            exercise_ms: None,
        };
        self.store.append_event(event).await?;
        Ok(())
    }

    /// What the team's range held before this reset (golden copies), as
    /// the engine reads it.
    async fn ground_truth(
        &self,
        team: u32,
    ) -> Result<BTreeMap<String, GroundTruth>, enshu_store::StoreError> {
        let query = EventQuery {
            team: TeamFilter::Team(team),
            after_seq: 0,
            limit: None,
        };
        let events = self.store.events(self.session, query).await?;
        Ok(ground_truth_of(&events, team))
    }
}

/// What a reset needs from the machine it runs on.
pub trait RangeHost {
    /// The isolation proof's report, for the caller to print.
    type Verified;
    /// Called before the team's containers are created again (the CLI
    /// installs the host guard).
    fn before_rebuild(&self) -> impl Future<Output = anyhow::Result<()>>;
    /// Prove the session isolated again: the report, and whether it passed.
    fn verify(&self, plan: &Plan) -> impl Future<Output = anyhow::Result<(Self::Verified, bool)>>;
}

/// One check's verdict on the rebuilt range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetCheck {
    pub objective: String,
    pub result: ResetCheckResult,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetCheckResult {
    Passed,
    Failed,
    Skipped,
}

impl ResetCheckResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ResetCheckResult::Passed => "passed",
            ResetCheckResult::Failed => "failed",
            ResetCheckResult::Skipped => "skipped",
        }
    }
}

/// What a reset did.
#[derive(Debug)]
pub struct ResetReport<V> {
    /// Containers of the team removed and created again.
    pub containers: usize,
    /// From the start to the rebuilt range.
    pub provisioned: Duration,
    pub verified: V,
    pub verified_ok: bool,
    /// From the start to the end of the isolation proof.
    pub verified_after: Duration,
    pub checks: Vec<ResetCheck>,
    /// No check found a trace of the attack.
    pub clean: bool,
    /// Whether a log was told (clock paused and resumed, `TeamReset`).
    pub log_told: bool,
    pub elapsed: Duration,
}

/// Reset `team` of `plan` (see the module docs). `concurrency` bounds the
/// containers removed and created at once.
pub async fn reset_team<B: Backend, H: RangeHost>(
    backend: &B,
    host: &H,
    plan: &Plan,
    team: &TeamPlan,
    log: Option<&ResetLog>,
    concurrency: usize,
) -> anyhow::Result<ResetReport<H::Verified>> {
    let started = Instant::now();
    if let Some(log) = log {
        let pause = EventKind::ClockChanged {
            action: ClockAction::Pause,
            team: Some(team.index),
            speed: None,
        };
        log.append(team.index, pause).await?;
    }
    let observed = backend
        .list(&[
            (labels::SESSION, plan.session.as_str()),
            (labels::TEAM, team.name.as_str()),
        ])
        .await?;
    let removals: Vec<_> = stream::iter(observed.containers.iter())
        .map(|container| backend.remove_container(&container.name))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for removal in removals {
        match removal {
            Ok(()) | Err(BackendError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    host.before_rebuild().await?;
    enshu_controller::up(backend, plan, concurrency, &|_| {}).await?;
    let provisioned = started.elapsed();
    let (verified, verified_ok) = host.verify(plan).await?;
    let verified_after = started.elapsed();
    let ground_truth = match log {
        Some(log) => log.ground_truth(team.index).await?,
        None => BTreeMap::new(),
    };
    let checks = clean_range_checks(backend, team, &ground_truth).await;
    let clean = checks
        .iter()
        .all(|check| check.result != ResetCheckResult::Failed);
    let containers = observed.containers.len();
    if let Some(log) = log {
        let reset = EventKind::TeamReset {
            containers: containers as u32,
        };
        log.append(team.index, reset).await?;
        let resume = EventKind::ClockChanged {
            action: ClockAction::Resume,
            team: Some(team.index),
            speed: None,
        };
        log.append(team.index, resume).await?;
    }
    Ok(ResetReport {
        containers,
        provisioned,
        verified,
        verified_ok,
        verified_after,
        checks,
        clean,
        log_told: log.is_some(),
        elapsed: started.elapsed(),
    })
}

/// The team's checks on its rebuilt range: every check that looks for
/// traces of the attack (a dropped file, a process, a beacon, a changed
/// page or file) must pass on a range without the attack. A check that
/// compares with a golden copy is judged only when the log has one (the
/// deface inject fired); checks of the team's own actions are skipped.
pub async fn clean_range_checks<B: Backend>(
    backend: &B,
    team: &TeamPlan,
    ground_truth: &BTreeMap<String, GroundTruth>,
) -> Vec<ResetCheck> {
    let mut results = Vec::new();
    for check in &team.checks {
        let objective = check.objective.clone();
        if judges_the_teams_action(check.check.kind) {
            results.push(ResetCheck {
                objective,
                result: ResetCheckResult::Skipped,
                detail: "judges the team's own action, not traces of the attack".into(),
            });
            continue;
        }
        if let Some(inject) = &check.check.golden
            && !ground_truth.contains_key(inject)
        {
            results.push(ResetCheck {
                objective,
                result: ResetCheckResult::Skipped,
                detail: format!("no golden copy: inject {inject} has not fired"),
            });
            continue;
        }
        let (result, detail) = match checks::run_check(backend, check, ground_truth).await {
            Ok(outcome) if outcome.passed => (ResetCheckResult::Passed, outcome.detail),
            Ok(outcome) => (ResetCheckResult::Failed, outcome.detail),
            Err(error) => (ResetCheckResult::Failed, error.to_string()),
        };
        results.push(ResetCheck {
            objective,
            result,
            detail,
        });
    }
    results
}
