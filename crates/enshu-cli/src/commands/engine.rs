//! The exercise engine inside `enshu serve`: two loops over the event log.
//!
//! - The **fire loop** (every 500 ms) works out each team's clock and
//!   schedule from the log, fires what is due for every team at once
//!   (bounded concurrency, so 50 teams fire within one round of execs, not
//!   one after another), starts capture replays, and applies the teams'
//!   firewall changes.
//! - The **check loop** runs the automatic checks on its own cadence, every
//!   team's checks concurrently. It is separate so that a slow round of
//!   checks never delays an inject.
//!
//! Everything either loop learns becomes an event. The log is the only
//! state: after a restart the engine reads it again, so an inject is never
//! fired twice and one that came due while the engine was down fires at
//! once. Shutdown is honoured between rounds, never in the middle of a
//! fire, so a planted artefact is always recorded.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use enshu_backend::{Backend, ExecPrivilege};
use enshu_injector::clock::ClockState;
use enshu_injector::replay::{self, ReplayTool};
use enshu_injector::{ExerciseClock, InjectError, ScheduleState};
use enshu_scenario::model::{Action, Outcome, Scenario};
use enshu_scenario::plan::{Plan, ROUTER_HOST, TeamPlan};
use enshu_store::scoring_input::exercise_clocks;
use enshu_store::{Event, EventKind, EventQuery, NewEvent, SessionId, Store, TeamFilter};
use futures::FutureExt as _;
use futures::stream::{self, StreamExt};
use serde_json::Value;

/// Get the backend ready to run commands in `containers` (see
/// [`Backend::keep_exec_ready`]), `WARM_CONCURRENCY` at a time; how many
/// are ready.
pub async fn keep_exec_ready<B: Backend>(backend: &B, containers: &[String]) -> usize {
    let ready: Vec<bool> = stream::iter(containers.to_vec())
        .map(|name| async move { backend.keep_exec_ready(&name).await })
        .buffer_unordered(WARM_CONCURRENCY)
        .collect()
        .await;
    ready.into_iter().filter(|ready| *ready).count()
}

/// Agents started at once when the engine starts (each is one exec).
const WARM_CONCURRENCY: usize = 8;

/// Every container an inject or a check acts in, in every team.
pub fn exec_targets(scenario: &Scenario, plan: &Plan) -> Vec<String> {
    let mut references: Vec<&str> = scenario
        .injects
        .iter()
        .map(|inject| inject.target.as_str())
        .collect();
    for objective in &scenario.objectives {
        if let enshu_scenario::model::Evidence::Check(check) = &objective.evidence {
            references.push(check.target.as_str());
            references.extend(check.from.as_deref());
        }
    }
    plan.teams
        .iter()
        .flat_map(|team| team.containers.iter())
        .filter(|container| container.hostname != ROUTER_HOST)
        .filter(|container| {
            references.iter().any(|reference| {
                *reference == container.reference
                    || container
                        .reference
                        .split_once('/')
                        .is_some_and(|(segment, _)| segment == *reference)
            })
        })
        .map(|container| container.name.clone())
        .collect()
}

/// Failures after which an inject is held and an instructor told.
const MAX_FIRE_ATTEMPTS: u32 = 3;
/// Teams fired at the same time. With exec agents a fire is a few
/// messages on open streams and mostly waits, so every team of a large
/// exercise (50) fires in the same wave; at 16 teams fired in waves, 1.7 s
/// apart in all (BENCHMARKS.md).
pub const FIRE_CONCURRENCY: usize = 64;
/// Checks run at the same time (each is one exec in a container).
pub const CHECK_CONCURRENCY: usize = 8;

/// What both loops read and never change.
pub struct Shared<B> {
    pub backend: B,
    pub store: Store,
    pub session: SessionId,
    pub scenario: Scenario,
    pub plan: Plan,
    /// Where `enshu-replay` and the captures are; `None`: replay injects fail
    /// with a clear message (and are held after three tries).
    pub replay: Option<ReplayTool>,
}

pub struct Engine<B> {
    shared: Shared<B>,
    check_interval: Duration,
    fire: FireState,
    checks: CheckState,
}

/// What the fire loop remembers between rounds (failures to hold after,
/// firewall changes already applied).
#[derive(Default)]
pub struct FireState {
    firewall_applied_seq: u64,
    fire_failures: HashMap<(u32, String), u32>,
}

#[derive(Default)]
pub struct CheckState {
    results: HashMap<(u32, String), bool>,
}

/// What one round of checks did, for logs and the benchmark.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRound {
    pub checks: usize,
    pub changed: usize,
    pub failed_to_run: usize,
    pub elapsed: Duration,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

impl<B: Backend + Clone + Send + Sync + 'static> Engine<B> {
    pub fn new(shared: Shared<B>, check_interval: Duration) -> Engine<B> {
        Engine {
            shared,
            check_interval,
            fire: FireState::default(),
            checks: CheckState::default(),
        }
    }

    /// The containers the engine will run commands in: every host an
    /// inject or a check targets (or checks from), in every team.
    pub fn exec_targets(&self) -> Vec<String> {
        exec_targets(&self.shared.scenario, &self.shared.plan)
    }

    /// Run until `shutdown` completes: the fire loop every `period`, the
    /// check loop every check interval.
    pub async fn run(
        self,
        period: Duration,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) {
        let Engine {
            shared,
            check_interval,
            mut fire,
            mut checks,
        } = self;
        let shutdown = shutdown.boxed().shared();
        let fire_loop = async {
            loop {
                if let Err(error) = fire_round(&shared, &mut fire).await {
                    tracing::warn!("exercise engine: {error:#}");
                }
                tokio::select! {
                    _ = shutdown.clone() => return,
                    _ = tokio::time::sleep(period) => {}
                }
            }
        };
        let check_loop = async {
            loop {
                match check_round(&shared, &mut checks).await {
                    Ok(round) => tracing::debug!(
                        checks = round.checks,
                        changed = round.changed,
                        elapsed_ms = round.elapsed.as_millis() as u64,
                        "check round"
                    ),
                    Err(error) => tracing::warn!("automatic checks: {error:#}"),
                }
                tokio::select! {
                    _ = shutdown.clone() => return,
                    _ = tokio::time::sleep(check_interval) => {}
                }
            }
        };
        tokio::join!(fire_loop, check_loop);
    }
}

async fn all_events<B>(shared: &Shared<B>) -> anyhow::Result<Vec<Event>> {
    Ok(shared
        .store
        .events(
            shared.session,
            EventQuery {
                team: TeamFilter::All,
                after_seq: 0,
                limit: None,
            },
        )
        .await?)
}

async fn append<B>(
    shared: &Shared<B>,
    team: Option<u32>,
    kind: EventKind,
    exercise_ms: Option<u64>,
) -> anyhow::Result<Event> {
    let event = NewEvent {
        session: shared.session,
        team,
        kind,
        actor: "engine".to_string(),
        at_ms: None,
        exercise_ms,
    };
    Ok(shared.store.append_event(event).await?)
}

/// One round of the fire loop: fire everything due, for every team at once.
/// Public for the engine benchmark (`benches/engine_scale.rs`).
pub async fn fire_round<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut FireState,
) -> anyhow::Result<()> {
    let events = all_events(shared).await?;
    let clock = exercise_clocks(&events);
    let now = now_ms();
    let mut due_teams = Vec::new();
    for team in &shared.plan.teams {
        if clock.state_at(Some(team.index), now) != ClockState::Running {
            continue;
        }
        let exercise_ms = clock.exercise_ms_at(Some(team.index), now);
        let schedule = schedule_state(&events, team, &clock);
        if !enshu_injector::due(&team.injects, &schedule, exercise_ms).is_empty() {
            // Owned, so the futures are `Send` for any lifetime.
            let (backend, team) = (shared.backend.clone(), team.clone());
            due_teams.push(async move {
                let attempts =
                    enshu_injector::fire_due(&backend, &team, &schedule, exercise_ms).await;
                (team, exercise_ms, attempts)
            });
        }
    }
    let mut fired = stream::iter(due_teams).buffer_unordered(FIRE_CONCURRENCY);
    // Recorded as each team finishes, so a team's event time is its own.
    while let Some((team, exercise_ms, attempts)) = fired.next().await {
        let team = &team;
        for attempt in attempts {
            let result = match attempt.result {
                Err(InjectError::ReplayNotHere { inject }) => {
                    start_replay(shared, team, &inject, exercise_ms)
                }
                other => other,
            };
            match result {
                Ok(fired) => {
                    tracing::info!(team = %team.name, inject = %fired.inject, "fired");
                    let kind = EventKind::InjectFired {
                        inject: fired.inject,
                        target: fired.target,
                        ground_truth: fired.ground_truth,
                    };
                    append(shared, Some(team.index), kind, Some(exercise_ms)).await?;
                }
                Err(error) => {
                    let key = (team.index, attempt.due.inject.clone());
                    let failures = state.fire_failures.entry(key).or_default();
                    *failures += 1;
                    tracing::warn!(team = %team.name, inject = %attempt.due.inject, "inject failed ({failures}): {error}");
                    if *failures >= MAX_FIRE_ATTEMPTS {
                        append(
                            shared,
                            Some(team.index),
                            EventKind::InjectHeld {
                                inject: attempt.due.inject.clone(),
                            },
                            Some(exercise_ms),
                        )
                        .await?;
                        let text = format!(
                            "inject {} failed {MAX_FIRE_ATTEMPTS} times and was held: {error}",
                            attempt.due.inject
                        );
                        append(
                            shared,
                            Some(team.index),
                            EventKind::InstructorNote { text },
                            Some(exercise_ms),
                        )
                        .await?;
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
) -> Result<enshu_injector::FiredInject, InjectError> {
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
            actor: "engine".into(),
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

/// The team's blocks go into a set in its router; adding an element twice
/// is harmless, so the whole history is safe to replay.
async fn apply_firewall<B: Backend>(
    shared: &Shared<B>,
    state: &mut FireState,
    events: &[Event],
) -> anyhow::Result<()> {
    let applied = state.firewall_applied_seq;
    for event in events.iter().filter(|event| event.seq > applied) {
        if let (EventKind::FirewallChanged { block, address }, Some(team_index)) =
            (&event.kind, event.team)
            && let Some(team) = shared
                .plan
                .teams
                .iter()
                .find(|team| team.index == team_index)
            && let Some(router) = team
                .containers
                .iter()
                .find(|container| container.hostname == ROUTER_HOST)
        {
            let verb = if *block { "add" } else { "delete" };
            let command: Vec<String> = [
                "nft",
                verb,
                "element",
                "inet",
                "enshu",
                "team_blocked",
                &format!("{{ {address} }}"),
            ]
            .iter()
            .map(|part| part.to_string())
            .collect();
            let output = shared
                .backend
                .exec(&router.name, &command, ExecPrivilege::Container)
                .await?;
            if output.exit_code != 0 && *block {
                tracing::warn!(team = %team.name, "firewall {verb} {address}: {}", String::from_utf8_lossy(&output.stderr).trim());
            }
        }
        state.firewall_applied_seq = state.firewall_applied_seq.max(event.seq);
    }
    Ok(())
}

/// One round of automatic checks for every running team; a result is
/// recorded only when it differs from the last recorded one.
pub async fn check_round<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut CheckState,
) -> anyhow::Result<CheckRound> {
    let started = Instant::now();
    let events = all_events(shared).await?;
    let clock = exercise_clocks(&events);
    // What the log already says, so a restart does not repeat results.
    for event in &events {
        if let (
            EventKind::CheckResult {
                objective, passed, ..
            },
            Some(team),
        ) = (&event.kind, event.team)
        {
            state.results.insert((team, objective.clone()), *passed);
        }
    }
    let now = now_ms();
    let mut jobs = Vec::new();
    for team in &shared.plan.teams {
        if clock.state_at(Some(team.index), now) != ClockState::Running {
            continue;
        }
        let ground_truth = ground_truth_of(&events, team.index);
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
                check.clone(),
                ground_truth.clone(),
                team.index,
            );
            jobs.push(async move {
                let outcome =
                    enshu_injector::checks::run_check(&backend, &check, &ground_truth).await;
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
        if state.results.get(&key) != Some(&outcome.passed) {
            state.results.insert(key, outcome.passed);
            round.changed += 1;
            let kind_name = serde_json::to_value(check.check.kind)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            let kind = EventKind::CheckResult {
                objective: check.objective.clone(),
                check: kind_name,
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

/// The seq of the team's last range reset (0: never reset). Injects fired
/// before it are no longer in the range.
fn last_reset_seq(events: &[Event], team: u32) -> u64 {
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
pub fn schedule_state(events: &[Event], team: &TeamPlan, clock: &ExerciseClock) -> ScheduleState {
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
            EventKind::CheckResult {
                objective,
                passed: true,
                ..
            }
            | EventKind::Submission {
                objective,
                correct: true,
                ..
            } => state.record_objective(objective, Outcome::Met, exercise_ms(event)),
            _ => {}
        }
    }
    state
}

/// What the team's range holds now: injects fired since its last reset.
pub(crate) fn ground_truth_of(events: &[Event], team: u32) -> BTreeMap<String, Value> {
    let reset_seq = last_reset_seq(events, team);
    events
        .iter()
        .filter(|event| event.team == Some(team) && event.seq > reset_seq)
        .filter_map(|event| match &event.kind {
            EventKind::InjectFired {
                inject,
                ground_truth,
                ..
            } => Some((inject.clone(), ground_truth.clone())),
            _ => None,
        })
        .collect()
}
