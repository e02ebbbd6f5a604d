//! The exercise engine `enshu serve` runs: two loops over the event log.
//!
//! - The **fire loop** (every 500 ms, [`fire::fire_round`]) works out each
//!   team's clock and schedule from the log, fires what is due for every
//!   team at once (bounded concurrency, so 50 teams fire within one round
//!   of execs, not one after another), starts capture replays, and applies
//!   the teams' firewall changes (one batch per router per round, in a task
//!   of its own the round does not wait for). A team's fire still running after the
//!   round's wait (a slow or stalled container) goes on in the background;
//!   that team is skipped until it is recorded, and no other team waits.
//! - The **check loop** ([`check_round::check_round`]) runs the automatic
//!   checks on its own cadence, every team's checks concurrently. It is
//!   separate so that a slow round of checks never delays an inject.
//! - The **guard loop** ([`guard_round::guard_round`], every
//!   [`guard_round::GUARD_PERIOD`]) checks the machine's isolation guard
//!   the caller supplies, repairs it and notes a repair on the timeline.
//!
//! Everything either loop learns becomes an event. The log is the only
//! state: after a restart the engine reads it again, so an inject is never
//! fired twice, one that came due while the engine was down fires at once,
//! and an inject that failed twice before the restart is held after its
//! third failure. Shutdown is honoured between rounds, never in the middle
//! of a fire, so a planted artefact is always recorded (fires still running
//! at shutdown are waited for).
//!
//! # Layout
//! - [`projection`] (pure): what the loops read from the log.
//! - [`retry`] (pure): the retry rule, a value.
//! - [`fire`], [`firewall`], [`check_round`], [`guard_round`]: the rounds.
//! - [`log_tail`]: the log as a loop last read it; each round reads only
//!   the events appended since.
//! - [`checks`]: the automatic checks, one table of kinds, scripts in
//!   `scripts/checks/`.
//! - [`reset`]: the reset protocol, with the machine-side steps supplied by
//!   the caller.
//!
//! The engine takes its I/O as arguments (a [`Backend`], a [`Store`]) and
//! does not name Docker: it is tested against the recording fake and a
//! temporary SQLite store (`tests/engine.rs`).

#![forbid(unsafe_code)]

pub mod check_round;
pub mod checks;
pub mod fire;
pub mod firewall;
pub mod guard_round;
pub mod log_tail;
pub mod projection;
pub mod reset;
pub mod retry;

use std::future::Future;
use std::time::Duration;

use enshu_backend::{Backend, BackendError};
use enshu_injector::replay::ReplayTool;
use enshu_scenario::model::{Evidence, Scenario};
use enshu_scenario::plan::{Plan, ROUTER_HOST};
use enshu_store::{Event, EventKind, NewEvent, SessionId, Store, StoreError};
use futures::FutureExt as _;
use futures::stream::{self, StreamExt};

pub use check_round::{CheckRound, CheckState, check_round, check_round_with};
pub use fire::{FireState, fire_round};
pub use guard_round::{GuardWatch, guard_round};
pub use log_tail::LogTail;
pub use retry::{RetryDecision, RetryRule};

/// Teams fired at the same time. With exec agents a fire is a few
/// messages on open streams and mostly waits, so every team of a large
/// exercise (50) fires in the same wave; at 16 teams fired in waves, 1.7 s
/// apart in all (BENCHMARKS.md).
pub const FIRE_CONCURRENCY: usize = 64;
/// Checks run at the same time (each is one exec in a container).
pub const CHECK_CONCURRENCY: usize = 8;
/// Agents started at once when the engine starts (each is one exec).
pub const WARM_CONCURRENCY: usize = 8;
/// The fire loop's period in `enshu serve`.
pub const FIRE_PERIOD: Duration = Duration::from_millis(500);
/// The check loop's default interval (`enshu serve --check-interval`).
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(15);

/// Who the engine's events are from.
pub const ACTOR: &str = "engine";

/// A round could not read or write the log, or reach a container.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("event log: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

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
    guard: Option<std::sync::Arc<dyn GuardWatch>>,
}

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

/// The containers a team may log in to (its way in and every `login: true`
/// host), in every team: no exec agent may run there (the team could forge
/// or stall its answers), so the engine's commands there are plain,
/// bounded execs. `enshu serve` gives these to the backend.
pub fn team_login_containers(plan: &Plan) -> Vec<String> {
    plan.teams
        .iter()
        .flat_map(|team| team.containers.iter())
        .filter(|container| container.login)
        .map(|container| container.name.clone())
        .collect()
}

/// Every container an inject or a check acts in, in every team, where an
/// exec agent may run (not [`team_login_containers`]).
pub fn exec_targets(scenario: &Scenario, plan: &Plan) -> Vec<String> {
    let mut references: Vec<&str> = scenario
        .injects
        .iter()
        .map(|inject| inject.target.as_str())
        .collect();
    for objective in &scenario.objectives {
        if let Evidence::Check(check) = &objective.evidence {
            references.push(check.target.as_str());
            references.extend(check.from.as_deref());
        }
    }
    plan.teams
        .iter()
        .flat_map(|team| team.containers.iter())
        .filter(|container| container.hostname != ROUTER_HOST && !container.login)
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

pub(crate) fn now_ms() -> i64 {
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
            guard: None,
        }
    }

    /// Watch the machine's isolation guard while running: checked every
    /// [`guard_round::GUARD_PERIOD`], repaired, a repair noted.
    pub fn with_guard(mut self, guard: std::sync::Arc<dyn GuardWatch>) -> Engine<B> {
        self.guard = Some(guard);
        self
    }

    /// The containers the engine will run commands in: every host an
    /// inject or a check targets (or checks from), in every team.
    pub fn exec_targets(&self) -> Vec<String> {
        exec_targets(&self.shared.scenario, &self.shared.plan)
    }

    /// Run until `shutdown` completes: the fire loop every `period`, the
    /// check loop every check interval.
    pub async fn run(self, period: Duration, shutdown: impl Future<Output = ()> + Send) {
        let Engine {
            shared,
            check_interval,
            mut fire,
            guard,
        } = self;
        let shutdown = shutdown.boxed().shared();
        let fire_loop = async {
            let mut previous: Option<std::time::Instant> = None;
            loop {
                let started = std::time::Instant::now();
                if let Some(previous) = previous {
                    enshu_backend::metrics::FIRE_ROUND_LAG
                        .record((started - previous).saturating_sub(period));
                }
                previous = Some(started);
                if let Err(error) = fire_round(&shared, &mut fire).await {
                    tracing::warn!("exercise engine: {error}");
                }
                tokio::select! {
                    _ = shutdown.clone() => break,
                    _ = tokio::time::sleep(period) => {}
                }
            }
            // Fires still running finish (each exec is bounded) and are
            // recorded before the engine stops.
            if let Err(error) = fire.finish(&shared).await {
                tracing::warn!("exercise engine, recording the last fires: {error}");
            }
        };
        let check_loop = async {
            let mut log = LogTail::default();
            let mut checks = CheckState::default();
            loop {
                match check_round_with(&shared, &mut log, &mut checks).await {
                    Ok(round) => {
                        enshu_backend::metrics::CHECK_ROUND.record(round.elapsed);
                        tracing::debug!(
                            checks = round.checks,
                            changed = round.changed,
                            elapsed_ms = round.elapsed.as_millis() as u64,
                            "check round"
                        )
                    }
                    Err(error) => tracing::warn!("automatic checks: {error}"),
                }
                tokio::select! {
                    _ = shutdown.clone() => return,
                    _ = tokio::time::sleep(check_interval) => {}
                }
            }
        };
        let guard_loop = async {
            let Some(guard) = guard else { return };
            let mut state = guard_round::GuardState::default();
            loop {
                if let Err(error) = guard_round(&shared, guard.as_ref(), &mut state).await {
                    tracing::warn!("host guard: {error}");
                }
                tokio::select! {
                    _ = shutdown.clone() => return,
                    _ = tokio::time::sleep(guard_round::GUARD_PERIOD) => {}
                }
            }
        };
        tokio::join!(fire_loop, check_loop, guard_loop);
    }
}

async fn append<B>(
    shared: &Shared<B>,
    team: Option<u32>,
    kind: EventKind,
    exercise_ms: Option<u64>,
) -> Result<Event, EngineError> {
    let event = NewEvent {
        session: shared.session,
        team,
        kind,
        actor: ACTOR.to_string(),
        at_ms: None,
        exercise_ms,
    };
    Ok(shared.store.append_event(event).await?)
}
