//! What the engine reads from the log, as pure functions of the events: a
//! team's schedule, what its range holds, how often an inject failed, the
//! last result of each check. The log is the engine's only state; these
//! are the only ways it reads it, so a restart reads the same.
//!
//! Whether an objective was met or missed, and when, is the scoring
//! engine's answer ([`objective_scores`]), the same the scoreboard shows:
//! the engine keeps no second copy of the rule.

use std::collections::{BTreeMap, HashMap};

use enshu_clock::ExerciseClock;
use enshu_injector::ScheduleState;
use enshu_scenario::model::Outcome;
use enshu_scenario::plan::TeamPlan;
use enshu_scoring::{ObjectiveRule, Scoreboard, TeamClock, TeamScore, score};
use enshu_store::scoring_input::scoring_events;
use enshu_store::{Event, EventKind, GroundTruth};

/// The scores of `teams` at wall-clock `now_ms`, each on its own exercise
/// clock: when each objective was met or missed, by the scoring rule.
pub fn objective_scores(
    events: &[Event],
    rules: &[ObjectiveRule],
    clock: &ExerciseClock,
    teams: &[u32],
    now_ms: i64,
) -> Scoreboard {
    let team_clocks: Vec<TeamClock> = teams
        .iter()
        .map(|team| TeamClock {
            team: *team,
            now_exercise_ms: clock.exercise_ms_at(Some(*team), now_ms),
        })
        .collect();
    score(rules, &team_clocks, &scoring_events(events, teams))
}

/// The seq of the team's last range reset (0: never reset). Injects fired
/// before it are no longer in the range.
pub fn last_reset_seq(events: &[Event], team: u32) -> u64 {
    events
        .iter()
        .filter(|event| {
            event.team == Some(team) && matches!(event.kind, EventKind::TeamReset { .. })
        })
        .map(|event| event.seq)
        .max()
        .unwrap_or(0)
}

/// One team's schedule as the log tells it. After a reset the injects fired
/// before it count as not fired, so they fire again (at once, in order,
/// since their time has passed) and the rebuilt range carries the attack
/// as far as the team's clock has got.
///
/// `scores` (the team's, from [`objective_scores`]) says when each
/// objective was met or missed, for the injects triggered `on` an
/// objective; without it no such trigger is known yet.
pub fn schedule_state(
    events: &[Event],
    team: &TeamPlan,
    clock: &ExerciseClock,
    scores: Option<&TeamScore>,
) -> ScheduleState {
    let mut state = ScheduleState::default();
    let reset_seq = last_reset_seq(events, team.index);
    let concerns = |event: &Event| event.team.is_none() || event.team == Some(team.index);
    let exercise_ms = |event: &Event| {
        event
            .exercise_ms
            .unwrap_or_else(|| clock.exercise_ms_at(Some(team.index), event.at_ms))
    };
    for event in events.iter().filter(|event| concerns(event)) {
        match &event.kind {
            EventKind::InjectFired { inject, .. }
                if event.team == Some(team.index) && event.seq > reset_seq =>
            {
                state.record_fired(inject, exercise_ms(event))
            }
            EventKind::InjectHeld { inject } => state.hold(inject),
            EventKind::InjectFireRequested { inject } => state.fire_manually(inject),
            _ => {}
        }
    }
    for objective in scores.iter().flat_map(|scores| &scores.objectives) {
        if let Some(met_ms) = objective.met_at_exercise_ms() {
            state.record_objective(&objective.objective, Outcome::Met, met_ms);
        }
        if let Some(missed_ms) = objective.missed_at_exercise_ms() {
            state.record_objective(&objective.objective, Outcome::Missed, missed_ms);
        }
    }
    state
}

/// What the team's range holds now: injects fired since its last reset.
pub fn ground_truth_of(events: &[Event], team: u32) -> BTreeMap<String, GroundTruth> {
    let reset_seq = last_reset_seq(events, team);
    events
        .iter()
        .filter(|event| event.team == Some(team) && event.seq > reset_seq)
        .filter_map(|event| match &event.kind {
            EventKind::InjectFired {
                inject,
                ground_truth,
                ..
            } => Some((
                inject.clone(),
                GroundTruth {
                    fired_at_ms: Some(event.at_ms),
                    ..GroundTruth::clone(ground_truth)
                },
            )),
            _ => None,
        })
        .collect()
}

/// How often each of the team's injects failed to fire since its last
/// reset (failures before a reset were failures in a range that is gone).
pub fn fire_failures(events: &[Event], team: u32) -> HashMap<String, u32> {
    let reset_seq = last_reset_seq(events, team);
    let mut failures: HashMap<String, u32> = HashMap::new();
    for event in events
        .iter()
        .filter(|event| event.team == Some(team) && event.seq > reset_seq)
    {
        if let EventKind::InjectFailed { inject, .. } = &event.kind {
            *failures.entry(inject.clone()).or_default() += 1;
        }
    }
    failures
}

/// The last recorded result of every (team, objective) check: a result is
/// appended only when it differs from this.
pub fn last_check_results(events: &[Event]) -> HashMap<(u32, String), bool> {
    let mut results = HashMap::new();
    for event in events {
        if let (
            EventKind::CheckResult {
                objective, passed, ..
            },
            Some(team),
        ) = (&event.kind, event.team)
        {
            results.insert((team, objective.clone()), *passed);
        }
    }
    results
}

#[cfg(test)]
mod tests;
