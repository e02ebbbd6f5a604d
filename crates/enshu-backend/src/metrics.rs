//! What the engine and the backend measure while `enshu serve` runs, for
//! the server's `/metrics` (Prometheus text format). Process-wide atomics:
//! one served range per process, and recording costs one atomic store or
//! add, nothing on the fire or check path waits for a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One measured duration: the last value, the largest, and how many.
#[derive(Debug)]
pub struct Timing {
    last_micros: AtomicU64,
    max_micros: AtomicU64,
    count: AtomicU64,
}

impl Timing {
    const fn new() -> Timing {
        Timing {
            last_micros: AtomicU64::new(0),
            max_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn record(&self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.last_micros.store(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Seconds of the last value.
    pub fn last_seconds(&self) -> f64 {
        self.last_micros.load(Ordering::Relaxed) as f64 / 1e6
    }

    /// Seconds of the largest value since the process started.
    pub fn max_seconds(&self) -> f64 {
        self.max_micros.load(Ordering::Relaxed) as f64 / 1e6
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// How late a fire round started against its period (the time since the
/// previous round started, less the period): a slow round delays every
/// inject of every team.
pub static FIRE_ROUND_LAG: Timing = Timing::new();
/// How late an inject started firing after it became due, in exercise
/// time (the engine notices due injects once a fire round).
pub static INJECT_FIRE_SKEW: Timing = Timing::new();
/// How long a round of automatic checks took.
pub static CHECK_ROUND: Timing = Timing::new();
/// Exec agents dropped for plain `docker exec` (agent.rs): each one makes
/// that container's commands cost a full exec from then on.
pub static AGENT_FALLBACKS: AtomicU64 = AtomicU64::new(0);

pub fn count_agent_fallback() {
    AGENT_FALLBACKS.fetch_add(1, Ordering::Relaxed);
}

pub fn agent_fallbacks() -> u64 {
    AGENT_FALLBACKS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timing_keeps_the_last_the_largest_and_the_count() {
        let timing = Timing::new();
        timing.record(Duration::from_millis(250));
        timing.record(Duration::from_millis(40));
        assert_eq!(timing.last_seconds(), 0.04);
        assert_eq!(timing.max_seconds(), 0.25);
        assert_eq!(timing.count(), 2);
    }
}
