//! The fire round: every team's clock and schedule from the log, what is
//! due fired for every team at once, each result recorded as it comes.
//! Injects triggered `on` an objective read the teams' scores, so an
//! objective is met or missed here exactly when the scoreboard says so: a
//! `missed` trigger counts from the objective's deadline.
//!
//! A team's fire is a task of its own that may outlive the round: the
//! round waits for its fires up to [`ROUND_WAIT`], and a team whose fire
//! is still running (a container that is slow, stopped or stalled by the
//! team itself; every exec is bounded by the backend) is left to finish in
//! the background and skipped until its results are recorded, in a later
//! round. So one team's stalled container never delays another team's
//! injects.
//!
//! A fire that was started before the team's range was reset and ends
//! after the reset is not recorded as fired: what it planted went with
//! the old range. It is noted, and the inject fires again into the rebuilt
//! range like every other one fired before the reset.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use enshu_backend::{Backend, ExecPrivilege};
use enshu_clock::ClockState;
use enshu_injector::replay;
use enshu_injector::{FireAttempt, FiredInject, InjectError};
use enshu_scenario::model::{Action, When};
use enshu_scenario::plan::TeamPlan;
use enshu_scoring::Scoreboard;
use enshu_store::scoring_input::{exercise_clocks, scoring_rules};
use enshu_store::{Event, EventKind, EventQuery, GroundTruth, NewEvent, TeamFilter};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinSet};

use crate::firewall::{FirewallState, apply_firewall};
use crate::log_tail::LogTail;
use crate::projection::{fire_failures, last_reset_seq, objective_scores, schedule_state};
use crate::retry::{RetryDecision, RetryRule};
use crate::{ACTOR, EngineError, FIRE_CONCURRENCY, Shared, append, now_ms};

/// How long a round waits for the fires it started before it leaves the
/// slow ones running and goes on (a healthy fire is a few execs: well
/// under a second; a mail inject a few seconds).
pub const ROUND_WAIT: Duration = Duration::from_secs(2);

/// What the fire loop keeps between rounds: the log as far as it read it
/// (each round reads only what was appended since), how far each team's
/// firewall changes are applied and the applies running (replaying them is
/// harmless, so a restart starts from the beginning), the retry rule, and
/// the teams whose fire is still running. Failures are counted from the log.
#[derive(Debug)]
pub struct FireState {
    log: LogTail,
    firewall: FirewallState,
    pub retry: RetryRule,
    /// Team fires still running, and which team each task is.
    in_flight: JoinSet<TeamFire>,
    busy: HashMap<Id, u32>,
    /// At most [`FIRE_CONCURRENCY`] teams' fires run at once.
    permits: Arc<Semaphore>,
}

impl Default for FireState {
    fn default() -> Self {
        FireState {
            log: LogTail::default(),
            firewall: FirewallState::default(),
            retry: RetryRule::default(),
            in_flight: JoinSet::new(),
            busy: HashMap::new(),
            permits: Arc::new(Semaphore::new(FIRE_CONCURRENCY)),
        }
    }
}

impl FireState {
    /// How many teams' fires are still running.
    pub fn in_flight(&self) -> usize {
        self.busy.len()
    }

    /// How many routers' firewall applies are still running.
    pub fn firewall_in_flight(&self) -> usize {
        self.firewall.in_flight()
    }

    /// Wait for every fire still running and record it (at shutdown, so
    /// a planted artefact is always recorded; each exec is bounded).
    pub async fn finish<B: Backend + Clone + Send + Sync + 'static>(
        &mut self,
        shared: &Shared<B>,
    ) -> Result<(), EngineError> {
        while !self.busy.is_empty() {
            let events = self.log.refresh(&shared.store, shared.session).await?;
            let Some(done) = self.in_flight.join_next_with_id().await else {
                break;
            };
            if let Some(fire) = self.landed(done) {
                record(shared, &self.retry, &events, fire).await?;
            }
        }
        Ok(())
    }

    /// A finished task's fire; a task that panicked frees its team (its
    /// injects are still unrecorded, so they are due again).
    fn landed(&mut self, done: Result<(Id, TeamFire), tokio::task::JoinError>) -> Option<TeamFire> {
        match done {
            Ok((id, fire)) => {
                self.busy.remove(&id);
                Some(fire)
            }
            Err(error) => {
                let team = self.busy.remove(&error.id());
                tracing::error!(?team, "a team's fire task failed: {error}");
                None
            }
        }
    }
}

/// One team's fire, as its task returns it.
#[derive(Debug)]
struct TeamFire {
    team: TeamPlan,
    exercise_ms: u64,
    /// The team's last reset when the fire started.
    reset_seq: u64,
    attempts: Vec<FireAttempt>,
}

/// One round of the fire loop: record the fires that finished since the
/// last round, then fire everything due for every team whose last fire is
/// done, all at once, and record what finishes within [`ROUND_WAIT`].
pub async fn fire_round<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut FireState,
) -> Result<(), EngineError> {
    let mut finished = Vec::new();
    while let Some(done) = state.in_flight.try_join_next_with_id() {
        finished.extend(state.landed(done));
    }
    if !finished.is_empty() {
        let events = state.log.refresh(&shared.store, shared.session).await?;
        for fire in finished {
            record(shared, &state.retry, &events, fire).await?;
        }
    }
    let events = state.log.refresh(&shared.store, shared.session).await?;
    let clock = exercise_clocks(&events);
    let now = now_ms();
    let running: Vec<&TeamPlan> = shared
        .plan
        .teams
        .iter()
        .filter(|team| clock.state_at(Some(team.index), now) == ClockState::Running)
        .collect();
    // Only the teams with an inject triggered on an objective need scores.
    let triggered: Vec<u32> = running
        .iter()
        .filter(|team| {
            team.injects
                .iter()
                .any(|inject| matches!(inject.when, When::On(_)))
        })
        .map(|team| team.index)
        .collect();
    let scores = if triggered.is_empty() {
        Scoreboard { teams: Vec::new() }
    } else {
        let rules = scoring_rules(&shared.scenario);
        objective_scores(&events, &rules, &clock, &triggered, now)
    };
    let busy: Vec<u32> = state.busy.values().copied().collect();
    for team in running {
        if busy.contains(&team.index) {
            tracing::debug!(team = %team.name, "its last fire is still running");
            continue;
        }
        let exercise_ms = clock.exercise_ms_at(Some(team.index), now);
        let speed = clock.speed_at(Some(team.index), now);
        let schedule = schedule_state(&events, team, &clock, scores.team(team.index));
        let due = enshu_injector::due(&team.injects, &schedule, exercise_ms);
        if !due.is_empty() {
            record_skew(team, &schedule, &due, exercise_ms);
            // Owned, so the task is `'static`.
            let (backend, team, permits) =
                (shared.backend.clone(), team.clone(), state.permits.clone());
            let index = team.index;
            let reset_seq = last_reset_seq(&events, index);
            let task = state.in_flight.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let attempts =
                    enshu_injector::fire_due(&backend, &team, &schedule, exercise_ms, speed).await;
                TeamFire {
                    team,
                    exercise_ms,
                    reset_seq,
                    attempts,
                }
            });
            state.busy.insert(task.id(), index);
        }
    }
    // Recorded as each team finishes, so a team's event time is its own.
    let waited = tokio::time::Instant::now() + ROUND_WAIT;
    while !state.busy.is_empty() {
        let Ok(Some(done)) =
            tokio::time::timeout_at(waited, state.in_flight.join_next_with_id()).await
        else {
            break;
        };
        if let Some(fire) = state.landed(done) {
            record(shared, &state.retry, &events, fire).await?;
        }
    }
    // Started, never waited for: a stalled router delays no inject.
    apply_firewall(shared, &mut state.firewall, &events);
    Ok(())
}

/// How late, in exercise time, each due inject starts firing (`/metrics`).
fn record_skew(
    team: &TeamPlan,
    schedule: &enshu_injector::ScheduleState,
    due: &[enshu_injector::DueInject],
    exercise_ms: u64,
) {
    for due in due {
        let Some(inject) = team.injects.iter().find(|inject| inject.id == due.inject) else {
            continue;
        };
        if let Some(due_ms) = enshu_injector::schedule::due_time(inject, schedule) {
            enshu_backend::metrics::INJECT_FIRE_SKEW.record(std::time::Duration::from_millis(
                exercise_ms.saturating_sub(due_ms),
            ));
        }
    }
}

/// Append what one team's fire came to: each inject fired or failed, and
/// held after the retry rule's failures. `events` holds every earlier
/// result of the team (it had no other fire running).
async fn record<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    retry: &RetryRule,
    events: &[Event],
    fire: TeamFire,
) -> Result<(), EngineError> {
    let TeamFire {
        team,
        exercise_ms,
        reset_seq,
        attempts,
    } = fire;
    let team = &team;
    // The team's own events now (a reset may have been recorded since the
    // round read the log).
    let own = shared
        .store
        .events(
            shared.session,
            EventQuery {
                team: TeamFilter::Team(team.index),
                after_seq: reset_seq,
                limit: None,
            },
        )
        .await?;
    if last_reset_seq(&own, team.index) > reset_seq {
        let injects: Vec<&str> = attempts
            .iter()
            .map(|attempt| attempt.due.inject.as_str())
            .collect();
        tracing::warn!(team = %team.name, ?injects, "a fire ended after the team's reset: not recorded");
        if injects.is_empty() {
            return Ok(());
        }
        let text = format!(
            "the fire of {} started before the team's reset and ended after it: not counted, it fires again into the rebuilt range",
            injects.join(", ")
        );
        append(
            shared,
            Some(team.index),
            EventKind::InstructorNote { text },
            Some(exercise_ms),
        )
        .await?;
        return Ok(());
    }
    let failures = fire_failures(events, team.index);
    for attempt in attempts {
        let result = match attempt.result {
            Err(InjectError::ReplayNotHere { inject }) => {
                start_replay(shared, team, &inject, exercise_ms)
            }
            other => other,
        };
        let inject = attempt.due.inject;
        match result {
            Ok(fired) => {
                tracing::info!(team = %team.name, inject = %fired.inject, "fired");
                let kind = EventKind::InjectFired {
                    inject: fired.inject,
                    target: fired.target,
                    ground_truth: Box::new(GroundTruth::from_json(fired.ground_truth)),
                };
                append(shared, Some(team.index), kind, Some(exercise_ms)).await?;
            }
            Err(error) => {
                let attempt = failures.get(&inject).copied().unwrap_or(0) + 1;
                tracing::warn!(team = %team.name, inject = %inject, "inject failed ({attempt}): {error}");
                let failed = EventKind::InjectFailed {
                    inject: inject.clone(),
                    attempt,
                    error: error.to_string(),
                };
                append(shared, Some(team.index), failed, Some(exercise_ms)).await?;
                if retry.after_failures(attempt) == RetryDecision::Hold {
                    let held = EventKind::InjectHeld {
                        inject: inject.clone(),
                    };
                    append(shared, Some(team.index), held, Some(exercise_ms)).await?;
                    let text = format!(
                        "inject {inject} failed {} times and was held: {error}",
                        retry.max_attempts
                    );
                    let note = EventKind::InstructorNote { text };
                    append(shared, Some(team.index), note, Some(exercise_ms)).await?;
                }
            }
        }
    }
    Ok(())
}

/// Start a capture replay in the background (a capture plays for minutes)
/// and return what the log records now. When it ends, a note on the team's
/// timeline says how many frames went out, or why it failed.
fn start_replay<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    team: &TeamPlan,
    inject_id: &str,
    exercise_ms: u64,
) -> Result<FiredInject, InjectError> {
    let not_here = || InjectError::ReplayNotHere {
        inject: inject_id.to_string(),
    };
    let tool = shared.replay.as_ref().ok_or_else(not_here)?;
    let inject = team
        .injects
        .iter()
        .find(|inject| inject.id == inject_id)
        .ok_or_else(not_here)?;
    let Action::Replay(replay_action) = &inject.action else {
        return Err(not_here());
    };
    let planned = replay::command(tool, team, inject, replay_action)?;
    let backend = shared.backend.clone();
    let store = shared.store.clone();
    let session = shared.session;
    let team_index = team.index;
    let team_name = team.name.clone();
    let inject_name = inject.id.clone();
    let container = planned.container.clone();
    let command = planned.command.clone();
    tokio::spawn(async move {
        let outcome = backend
            .exec(&container, &command, ExecPrivilege::Controller)
            .await;
        // The instructors see how the replay went on the team's timeline.
        let text = match outcome {
            Ok(output) if output.exit_code == 0 => {
                let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
                tracing::info!(team = %team_name, inject = %inject_name, "replay finished: {report}");
                format!(
                    "replay of inject {inject_name} finished: {} frames sent, {} refused by the egress guard",
                    report["sent"].as_u64().unwrap_or(0),
                    report["refused"].as_u64().unwrap_or(0)
                )
            }
            Ok(output) => format!(
                "replay of inject {inject_name} failed: exit {}: {}",
                output.exit_code,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => format!("replay of inject {inject_name} failed: {error}"),
        };
        let event = NewEvent {
            session,
            team: Some(team_index),
            kind: EventKind::InstructorNote { text },
            actor: ACTOR.into(),
            at_ms: None,
            exercise_ms: None,
        };
        if let Err(error) = store.append_event(event).await {
            tracing::warn!("recording the end of a replay: {error}");
        }
    });
    Ok(enshu_injector::fired(
        team,
        inject,
        exercise_ms,
        planned.ground_truth,
    ))
}
