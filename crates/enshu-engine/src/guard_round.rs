//! The guard round: the machine's isolation guard (on Docker, the host's
//! iptables chains that keep range bridges off the host) is checked again
//! every [`GUARD_PERIOD`] while the exercise runs, not only at `up`: a
//! firewall reload, another tool or an operator's `iptables -F` can take
//! it away mid-exercise, and nothing else would notice. Where it differs
//! from what it must be it is repaired at once, and the instructors see
//! it on every team's timeline (a session-wide note): for the seconds it
//! was missing, range containers could have reached this machine.
//!
//! The engine does not know what the guard is; the caller supplies a
//! [`GuardWatch`] (`enshu serve`: `enshu_docker::HostGuard`).

use std::time::Duration;

use enshu_store::EventKind;
use futures::future::BoxFuture;

use crate::{EngineError, Shared, append};

/// How often the guard round runs. A check is one look at the host's
/// filter tables (`iptables -S` and `ip6tables -S`: under 10 ms in all,
/// BENCHMARKS.md).
pub const GUARD_PERIOD: Duration = Duration::from_secs(2);

/// The machine's isolation guard, as the engine watches it.
pub trait GuardWatch: Send + Sync {
    /// Bring the guard to what it must be. `Ok` with what was changed
    /// (empty: it was in place), or why it could not be repaired.
    fn repair(&self) -> BoxFuture<'_, Result<Vec<String>, String>>;
}

/// What the guard rounds remember: the last failure, so a guard that
/// cannot be repaired is noted once, not every round.
#[derive(Debug, Default)]
pub struct GuardState {
    last_failure: Option<String>,
    /// Repairs made since the engine started.
    pub repairs: u64,
}

/// What one guard round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardRound {
    InPlace,
    Repaired(Vec<String>),
    Failed(String),
}

/// Check the guard, repair it, and note on the timeline what happened
/// (a repair every time, a failure once until it changes).
pub async fn guard_round<B>(
    shared: &Shared<B>,
    guard: &dyn GuardWatch,
    state: &mut GuardState,
) -> Result<GuardRound, EngineError> {
    match guard.repair().await {
        Ok(changes) if changes.is_empty() => {
            state.last_failure = None;
            Ok(GuardRound::InPlace)
        }
        Ok(changes) => {
            state.last_failure = None;
            state.repairs += 1;
            tracing::error!(changes = ?changes, "the host guard was missing or changed; repaired");
            let text = format!(
                "isolation: the host guard was missing or changed during the exercise and was repaired ({} change(s): {}); until then range containers could have reached this machine",
                changes.len(),
                changes.join("; ")
            );
            append(shared, None, EventKind::InstructorNote { text }, None).await?;
            Ok(GuardRound::Repaired(changes))
        }
        Err(error) => {
            tracing::error!("the host guard could not be repaired: {error}");
            if state.last_failure.as_deref() != Some(error.as_str()) {
                let text = format!(
                    "isolation: the host guard is not in place and could not be repaired: {error}; range containers may reach this machine, stop the exercise"
                );
                append(shared, None, EventKind::InstructorNote { text }, None).await?;
                state.last_failure = Some(error.clone());
            }
            Ok(GuardRound::Failed(error))
        }
    }
}
