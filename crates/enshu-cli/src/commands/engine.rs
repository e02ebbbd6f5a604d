//! The exercise engine inside `enshu serve`: every tick it reads the event
//! log, works out each team's clock and schedule from it, fires what is
//! due, applies the teams' firewall changes, and on its own cadence runs
//! the automatic checks. Everything it learns becomes an event.
//!
//! The log is the only state: after a restart the engine reads it again,
//! so an inject is never fired twice and one that came due while the
//! engine was down fires at once.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use enshu_backend::{Backend, ExecPrivilege};
use enshu_injector::clock::ClockState;
use enshu_injector::{ClockAction as InjectorClockAction, ClockChange, ExerciseClock, ScheduleState};
use enshu_scenario::model::{Outcome, Scenario};
use enshu_scenario::plan::{Plan, ROUTER_HOST, TeamPlan};
use enshu_store::{ClockAction, Event, EventKind, EventQuery, NewEvent, SessionId, Store, TeamFilter};
use serde_json::Value;

/// Failures after which an inject is held and an instructor told.
const MAX_FIRE_ATTEMPTS: u32 = 3;

pub struct Engine<B> {
    pub backend: B,
    pub store: Store,
    pub session: SessionId,
    pub scenario: Scenario,
    pub plan: Plan,
    pub check_interval: Duration,
    last_checks: Option<Instant>,
    firewall_applied_seq: u64,
    check_results: HashMap<(u32, String), bool>,
    fire_failures: HashMap<(u32, String), u32>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as u64).unwrap_or(0)
}

impl<B: Backend> Engine<B> {
    pub fn new(backend: B, store: Store, session: SessionId, scenario: Scenario, plan: Plan, check_interval: Duration) -> Engine<B> {
        Engine {
            backend,
            store,
            session,
            scenario,
            plan,
            check_interval,
            last_checks: None,
            firewall_applied_seq: 0,
            check_results: HashMap::new(),
            fire_failures: HashMap::new(),
        }
    }

    /// Run until `shutdown` completes, one tick every `period`.
    pub async fn run(mut self, period: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.tick().await {
                tracing::warn!("exercise engine: {error:#}");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(period) => {}
            }
        }
    }

    async fn append(&self, team: Option<u32>, kind: EventKind, exercise_ms: Option<u64>) -> anyhow::Result<Event> {
        let event = NewEvent { session: self.session, team, kind, actor: "engine".to_string(), at_ms: None, exercise_ms };
        Ok(self.store.append_event(event).await?)
    }

    pub async fn tick(&mut self) -> anyhow::Result<()> {
        let events = self.store.events(self.session, EventQuery { team: TeamFilter::All, after_seq: 0, limit: None }).await?;
        let clock = clock_from(&events);
        let now = now_ms();
        for team in self.plan.teams.clone() {
            if clock.state_at(team.index, now) != ClockState::Running {
                continue;
            }
            let exercise_ms = clock.exercise_ms_at(team.index, now);
            let state = schedule_state(&events, &team, &clock);
            for attempt in enshu_injector::fire_due(&self.backend, &team, &state, exercise_ms).await {
                match attempt.result {
                    Ok(fired) => {
                        tracing::info!(team = %team.name, inject = %fired.inject, "fired");
                        let kind = EventKind::InjectFired { inject: fired.inject, target: fired.target, ground_truth: fired.ground_truth };
                        self.append(Some(team.index), kind, Some(exercise_ms)).await?;
                    }
                    Err(error) => {
                        let key = (team.index, attempt.due.inject.clone());
                        let failures = self.fire_failures.entry(key).or_default();
                        *failures += 1;
                        tracing::warn!(team = %team.name, inject = %attempt.due.inject, "inject failed ({failures}): {error}");
                        if *failures >= MAX_FIRE_ATTEMPTS {
                            self.append(Some(team.index), EventKind::InjectHeld { inject: attempt.due.inject.clone() }, Some(exercise_ms)).await?;
                            let text = format!("inject {} failed {MAX_FIRE_ATTEMPTS} times and was held: {error}", attempt.due.inject);
                            self.append(Some(team.index), EventKind::InstructorNote { text }, Some(exercise_ms)).await?;
                        }
                    }
                }
            }
        }
        self.apply_firewall(&events).await?;
        let checks_due = self.last_checks.is_none_or(|last| last.elapsed() >= self.check_interval);
        if checks_due {
            self.last_checks = Some(Instant::now());
            self.run_checks(&events, &clock).await?;
        }
        Ok(())
    }

    /// The team's blocks go into a set in its router; adding an element
    /// twice is harmless, so the whole history is safe to replay.
    async fn apply_firewall(&mut self, events: &[Event]) -> anyhow::Result<()> {
        let applied = self.firewall_applied_seq;
        for event in events.iter().filter(|event| event.seq > applied) {
            if let (EventKind::FirewallChanged { block, address }, Some(team_index)) = (&event.kind, event.team)
                && let Some(team) = self.plan.teams.iter().find(|team| team.index == team_index)
                && let Some(router) = team.containers.iter().find(|container| container.hostname == ROUTER_HOST)
            {
                let verb = if *block { "add" } else { "delete" };
                let command: Vec<String> =
                    ["nft", verb, "element", "inet", "enshu", "team_blocked", &format!("{{ {address} }}")].iter().map(|part| part.to_string()).collect();
                let output = self.backend.exec(&router.name, &command, ExecPrivilege::Container).await?;
                if output.exit_code != 0 && *block {
                    tracing::warn!(team = %team.name, "firewall {verb} {address}: {}", String::from_utf8_lossy(&output.stderr).trim());
                }
            }
            self.firewall_applied_seq = self.firewall_applied_seq.max(event.seq);
        }
        Ok(())
    }

    async fn run_checks(&mut self, events: &[Event], clock: &ExerciseClock) -> anyhow::Result<()> {
        // What the log already says, so a restart does not repeat results.
        for event in events {
            if let (EventKind::CheckResult { objective, passed, .. }, Some(team)) = (&event.kind, event.team) {
                self.check_results.insert((team, objective.clone()), *passed);
            }
        }
        let now = now_ms();
        for team in self.plan.teams.clone() {
            if clock.state_at(team.index, now) != ClockState::Running {
                continue;
            }
            let ground_truth = ground_truth_of(events, team.index);
            for check in &team.checks {
                let waits_for = self.scenario.objectives.iter().find(|objective| objective.id == check.objective).and_then(|objective| objective.inject.clone());
                if let Some(inject) = waits_for
                    && !ground_truth.contains_key(&inject)
                {
                    continue;
                }
                let outcome = match enshu_injector::checks::run_check(&self.backend, check, &ground_truth).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        tracing::warn!(team = %team.name, objective = %check.objective, "check cannot run: {error}");
                        continue;
                    }
                };
                let key = (team.index, check.objective.clone());
                if self.check_results.get(&key) != Some(&outcome.passed) {
                    self.check_results.insert(key, outcome.passed);
                    let kind_name = serde_json::to_value(check.check.kind).ok().and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default();
                    let kind = EventKind::CheckResult { objective: check.objective.clone(), check: kind_name, passed: outcome.passed, detail: outcome.detail };
                    self.append(Some(team.index), kind, Some(clock.exercise_ms_at(team.index, now))).await?;
                }
            }
        }
        Ok(())
    }
}

pub fn clock_from(events: &[Event]) -> ExerciseClock {
    let changes = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ClockChanged { action, team } => Some(ClockChange {
                wall_ms: event.at_ms.max(0) as u64,
                action: match action {
                    ClockAction::Start => InjectorClockAction::Start,
                    ClockAction::Pause => InjectorClockAction::Pause,
                    ClockAction::Resume => InjectorClockAction::Resume,
                    ClockAction::Stop => InjectorClockAction::Stop,
                },
                team: *team,
            }),
            _ => None,
        })
        .collect();
    ExerciseClock::new(changes, 1.0)
}

/// One team's schedule as the log tells it.
pub fn schedule_state(events: &[Event], team: &TeamPlan, clock: &ExerciseClock) -> ScheduleState {
    let mut state = ScheduleState::default();
    let concerns = |event: &Event| event.team.is_none() || event.team == Some(team.index);
    let exercise_ms = |event: &Event| event.exercise_ms.unwrap_or_else(|| clock.exercise_ms_at(team.index, event.at_ms.max(0) as u64));
    for event in events.iter().filter(|event| concerns(event)) {
        match &event.kind {
            EventKind::InjectFired { inject, .. } if event.team == Some(team.index) => state.record_fired(inject, exercise_ms(event)),
            EventKind::InjectHeld { inject } => state.hold(inject),
            EventKind::InjectFireRequested { inject } => state.fire_manually(inject),
            EventKind::CheckResult { objective, passed: true, .. } | EventKind::Submission { objective, correct: true, .. } => {
                state.record_objective(objective, Outcome::Met, exercise_ms(event))
            }
            _ => {}
        }
    }
    state
}

fn ground_truth_of(events: &[Event], team: u32) -> BTreeMap<String, Value> {
    events
        .iter()
        .filter(|event| event.team == Some(team))
        .filter_map(|event| match &event.kind {
            EventKind::InjectFired { inject, ground_truth, .. } => Some((inject.clone(), ground_truth.clone())),
            _ => None,
        })
        .collect()
}
