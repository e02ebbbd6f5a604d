//! The fire round: every team's clock and schedule from the log, what is
//! due fired for every team at once, each result recorded as it comes.
//! Injects triggered `on` an objective read the teams' scores, so an
//! objective is met or missed here exactly when the scoreboard says so: a
//! `missed` trigger counts from the objective's deadline.

use enshu_backend::{Backend, ExecPrivilege};
use enshu_clock::ClockState;
use enshu_injector::replay;
use enshu_injector::{FiredInject, InjectError};
use enshu_scenario::model::{Action, When};
use enshu_scenario::plan::TeamPlan;
use enshu_scoring::Scoreboard;
use enshu_store::scoring_input::{exercise_clocks, scoring_rules};
use enshu_store::{EventKind, GroundTruth, NewEvent};
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::firewall::apply_firewall;
use crate::projection::{fire_failures, objective_scores, schedule_state};
use crate::retry::{RetryDecision, RetryRule};
use crate::{ACTOR, EngineError, FIRE_CONCURRENCY, Shared, all_events, append, now_ms};

/// What the fire loop keeps between rounds: how far the firewall changes
/// are applied (replaying them is harmless, so a restart starts from the
/// beginning) and the retry rule. Failures are counted from the log.
#[derive(Debug, Default)]
pub struct FireState {
    pub(crate) firewall_applied_seq: u64,
    pub retry: RetryRule,
}

/// One round of the fire loop: fire everything due, for every team at once.
pub async fn fire_round<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut FireState,
) -> Result<(), EngineError> {
    let events = all_events(shared).await?;
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
    let mut due_teams = Vec::new();
    for team in running {
        let exercise_ms = clock.exercise_ms_at(Some(team.index), now);
        let speed = clock.speed_at(Some(team.index), now);
        let schedule = schedule_state(&events, team, &clock, scores.team(team.index));
        if !enshu_injector::due(&team.injects, &schedule, exercise_ms).is_empty() {
            // Owned, so the futures are `Send` for any lifetime.
            let (backend, team) = (shared.backend.clone(), team.clone());
            due_teams.push(async move {
                let attempts =
                    enshu_injector::fire_due(&backend, &team, &schedule, exercise_ms, speed).await;
                (team, exercise_ms, attempts)
            });
        }
    }
    let mut fired = stream::iter(due_teams).buffer_unordered(FIRE_CONCURRENCY);
    // Recorded as each team finishes, so a team's event time is its own.
    while let Some((team, exercise_ms, attempts)) = fired.next().await {
        let team = &team;
        let failures = fire_failures(&events, team.index);
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
                    if state.retry.after_failures(attempt) == RetryDecision::Hold {
                        let held = EventKind::InjectHeld {
                            inject: inject.clone(),
                        };
                        append(shared, Some(team.index), held, Some(exercise_ms)).await?;
                        let text = format!(
                            "inject {inject} failed {} times and was held: {error}",
                            state.retry.max_attempts
                        );
                        let note = EventKind::InstructorNote { text };
                        append(shared, Some(team.index), note, Some(exercise_ms)).await?;
                    }
                }
            }
        }
    }
    drop(fired);
    apply_firewall(shared, state, &events).await
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
