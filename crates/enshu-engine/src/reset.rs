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
//! The team's clock comes back as it was ([`ClockAroundReset`]): a team an
//! instructor had paused stays paused and a stopped one stays stopped (the
//! reset neither pauses nor resumes them), and a team that was paused or
//! stopped by someone while its range was rebuilt is not resumed either.
//!
//! The machine-side steps the engine cannot do without naming Docker (the
//! host guard, the isolation proof) come from the caller as a [`RangeHost`].

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use enshu_backend::{Backend, BackendError};
use enshu_clock::{ClockState, ExerciseClock};
use enshu_scenario::plan::{Plan, TeamPlan, labels};
use enshu_store::scoring_input::exercise_clocks;
use enshu_store::{
    ClockAction, Event, EventKind, EventQuery, GroundTruth, NewEvent, SessionId, Store, TeamFilter,
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
    async fn append(&self, team: u32, kind: EventKind) -> Result<Event, enshu_store::StoreError> {
        let event = NewEvent {
            session: self.session,
            team: Some(team),
            kind,
            actor: self.actor.clone(),
            at_ms: None,
            exercise_ms: None,
        };
        self.store.append_event(event).await
    }

    async fn events(&self, after_seq: u64) -> Result<Vec<Event>, enshu_store::StoreError> {
        let query = EventQuery {
            team: TeamFilter::All,
            after_seq,
            limit: None,
        };
        self.store.events(self.session, query).await
    }

    /// Pause `team`'s clock for the reset unless it is paused on its own
    /// or stopped; the seq of the pause, when there was one.
    async fn pause_for_reset(&self, team: u32) -> Result<Option<u64>, enshu_store::StoreError> {
        let clock = exercise_clocks(&self.events(0).await?);
        if ClockAroundReset::decide(&clock, team, crate::now_ms()) == ClockAroundReset::LeaveAsItIs
        {
            return Ok(None);
        }
        let pause = EventKind::ClockChanged {
            action: ClockAction::Pause,
            team: Some(team),
            speed: None,
        };
        Ok(Some(self.append(team, pause).await?.seq))
    }

    /// Resume `team` after the reset if the reset paused it and nobody
    /// paused or stopped it since.
    async fn resume_after_reset(
        &self,
        team: u32,
        paused_seq: Option<u64>,
    ) -> Result<(), enshu_store::StoreError> {
        let Some(paused_seq) = paused_seq else {
            return Ok(());
        };
        let since = self.events(paused_seq).await?;
        if since.iter().any(|event| pauses_or_stops(event, team)) {
            return Ok(());
        }
        let resume = EventKind::ClockChanged {
            action: ClockAction::Resume,
            team: Some(team),
            speed: None,
        };
        self.append(team, resume).await?;
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

/// What a reset does with the team's clock, decided from the log before
/// it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockAroundReset {
    /// The clock runs (or has not started, or only the session is paused):
    /// pause the team while its range is rebuilt, then resume it. A
    /// session pause still holds after the team's resume.
    PauseThenResume,
    /// The team is paused on its own, or stopped: leave its clock alone,
    /// so it stays as it was.
    LeaveAsItIs,
}

impl ClockAroundReset {
    /// Decide from the session's clock changes at wall-clock `now_ms`.
    pub fn decide(clock: &ExerciseClock, team: u32, now_ms: i64) -> ClockAroundReset {
        if clock.state_at(Some(team), now_ms) == ClockState::Stopped
            || clock.team_paused_at(team, now_ms)
        {
            ClockAroundReset::LeaveAsItIs
        } else {
            ClockAroundReset::PauseThenResume
        }
    }
}

/// Whether `event` pauses or stops `team`'s clock.
fn pauses_or_stops(event: &Event, team: u32) -> bool {
    matches!(
        &event.kind,
        EventKind::ClockChanged { action: ClockAction::Pause | ClockAction::Stop, team: changed, .. }
            if changed.or(event.team) == Some(team)
    )
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
    let paused_seq = match log {
        Some(log) => log.pause_for_reset(team.index).await?,
        None => None,
    };
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
        log.resume_after_reset(team.index, paused_seq).await?;
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
        let (result, detail) =
            match checks::run_clean_range_check(backend, check, ground_truth).await {
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

#[cfg(test)]
mod tests {
    use enshu_clock::{ClockAction, ClockChange, ExerciseClock};

    use super::*;

    #[test]
    fn a_reset_leaves_a_paused_or_stopped_team_as_it_is_and_pauses_the_others() {
        let clock = ExerciseClock::new([
            ClockChange::session(0, ClockAction::Start),
            ClockChange::team(10, ClockAction::Pause, 2),
            ClockChange::team(10, ClockAction::Stop, 3),
            ClockChange::team(10, ClockAction::Pause, 4),
            ClockChange::team(20, ClockAction::Resume, 4),
            ClockChange::session(30, ClockAction::Pause),
        ]);
        let decide = |team| ClockAroundReset::decide(&clock, team, 40);
        // Team 1 is paused only by the session: its own pause and resume
        // leave the session's pause in force.
        assert_eq!(decide(1), ClockAroundReset::PauseThenResume);
        assert_eq!(decide(2), ClockAroundReset::LeaveAsItIs);
        assert_eq!(decide(3), ClockAroundReset::LeaveAsItIs);
        assert_eq!(decide(4), ClockAroundReset::PauseThenResume);
        // Before the session starts a team is paused and resumed for the
        // reset, and does not start.
        assert_eq!(
            ClockAroundReset::decide(&ExerciseClock::default(), 1, 40),
            ClockAroundReset::PauseThenResume
        );
    }

    #[test]
    fn a_pause_or_stop_of_the_team_during_the_reset_holds_its_resume() {
        let event = |team: Option<u32>, action, changed: Option<u32>| Event {
            session: SessionId(1),
            seq: 1,
            team,
            at_ms: 0,
            exercise_ms: None,
            actor: "instructor".into(),
            kind: EventKind::ClockChanged {
                action,
                team: changed,
                speed: None,
            },
        };
        assert!(pauses_or_stops(
            &event(Some(1), ClockAction::Pause, Some(1)),
            1
        ));
        assert!(pauses_or_stops(&event(None, ClockAction::Stop, Some(1)), 1));
        assert!(!pauses_or_stops(
            &event(Some(2), ClockAction::Pause, Some(2)),
            1
        ));
        // The session's pause is not the team's: the team's resume keeps it.
        assert!(!pauses_or_stops(&event(None, ClockAction::Pause, None), 1));
        assert!(!pauses_or_stops(
            &event(Some(1), ClockAction::Resume, Some(1)),
            1
        ));
    }
}
