//! The check round: every running team's automatic checks, run side by
//! side, a result appended only when it differs from the last one in the
//! log. It runs in its own loop, so a slow round never delays an inject.
//!
//! A pass must hold: a check's objective is met only once the check passed
//! in `hold` rounds in a row (the scenario's `scoring.hold`, 2 by default),
//! so a moment's pass (a beacon between two beats) meets nothing; a failing
//! round starts the count again. The count is the loop's own
//! ([`CheckState`]): a restarted engine counts again from zero, which can
//! only delay a pass, never invent one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use enshu_backend::Backend;
use enshu_clock::ClockState;
use enshu_store::scoring_input::exercise_clocks;
use enshu_store::{CheckResultKind, EventKind};
use futures::stream::{self, StreamExt};

use crate::log_tail::LogTail;
use crate::projection::{ground_truth_of, last_check_results};
use crate::{CHECK_CONCURRENCY, EngineError, Shared, append, checks, now_ms};

/// What one round of checks did, for logs and the benchmark.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRound {
    pub checks: usize,
    pub changed: usize,
    /// Checks that passed but have not yet held for their `hold` rounds.
    pub holding: usize,
    pub failed_to_run: usize,
    pub elapsed: Duration,
}

/// What the check loop keeps between rounds: how many rounds in a row each
/// (team, objective) check has passed.
#[derive(Debug, Default)]
pub struct CheckState {
    passed_in_a_row: HashMap<(u32, String), u32>,
}

/// One round of automatic checks for every running team; a result is
/// recorded only when it differs from the last recorded one, and a pass
/// only once it held for the objective's `hold` rounds in a row. Reads the
/// whole log; the check loop uses [`check_round_with`] and its own tail.
pub async fn check_round<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut CheckState,
) -> Result<CheckRound, EngineError> {
    check_round_with(shared, &mut LogTail::default(), state).await
}

/// [`check_round`], reading only what was appended since `log`'s last round.
pub async fn check_round_with<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    log: &mut LogTail,
    state: &mut CheckState,
) -> Result<CheckRound, EngineError> {
    let started = Instant::now();
    let events = log.refresh(&shared.store, shared.session).await?;
    let clock = exercise_clocks(&events);
    // What the log already says, so a restart does not repeat results.
    let mut results = last_check_results(&events);
    let now = now_ms();
    let mut jobs = Vec::new();
    for team in &shared.plan.teams {
        if clock.state_at(Some(team.index), now) != ClockState::Running {
            continue;
        }
        let ground_truth = ground_truth_of(&events, team.index);
        let speed = clock.speed_at(Some(team.index), now);
        for check in &team.checks {
            let waits_for = shared
                .scenario
                .objectives
                .iter()
                .find(|objective| objective.id == check.objective)
                .and_then(|objective| objective.inject.clone());
            if waits_for.is_some_and(|inject| !ground_truth.contains_key(&inject)) {
                continue;
            }
            let (backend, check, ground_truth, team_index) = (
                shared.backend.clone(),
                checks::at_speed(check, speed),
                ground_truth.clone(),
                team.index,
            );
            jobs.push(async move {
                let outcome = checks::run_check(&backend, &check, &ground_truth).await;
                (team_index, check, outcome)
            });
        }
    }
    let mut round = CheckRound {
        checks: jobs.len(),
        ..CheckRound::default()
    };
    let mut outcomes = stream::iter(jobs).buffer_unordered(CHECK_CONCURRENCY);
    while let Some((team_index, check, outcome)) = outcomes.next().await {
        let Some(team) = shared
            .plan
            .teams
            .iter()
            .find(|team| team.index == team_index)
        else {
            continue;
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                round.failed_to_run += 1;
                tracing::warn!(team = %team.name, objective = %check.objective, "check cannot run: {error}");
                continue;
            }
        };
        let key = (team.index, check.objective.clone());
        let in_a_row = state.passed_in_a_row.entry(key.clone()).or_default();
        *in_a_row = if outcome.passed { *in_a_row + 1 } else { 0 };
        let hold = shared
            .scenario
            .objectives
            .iter()
            .find(|objective| objective.id == check.objective)
            .map_or(enshu_scenario::model::DEFAULT_HOLD, |objective| {
                shared.scenario.scoring_of(objective).hold
            });
        if outcome.passed && *in_a_row < hold {
            // Not yet held long enough: the last result stands.
            round.holding += 1;
            continue;
        }
        if results.get(&key) != Some(&outcome.passed) {
            results.insert(key, outcome.passed);
            round.changed += 1;
            let kind = EventKind::CheckResult {
                objective: check.objective.clone(),
                check: CheckResultKind::Automatic(check.check.kind),
                passed: outcome.passed,
                detail: outcome.detail,
            };
            append(
                shared,
                Some(team.index),
                kind,
                Some(clock.exercise_ms_at(Some(team.index), now_ms())),
            )
            .await?;
        }
    }
    round.elapsed = started.elapsed();
    Ok(round)
}
