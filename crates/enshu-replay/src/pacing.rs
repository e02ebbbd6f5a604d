//! Waiting until a send is due, and measuring how late sends were.
//!
//! At 1k–10k packets per second the gap between sends (1 ms to 100 µs) is
//! close to what a sleep can promise: a sleeping thread wakes tens of
//! microseconds late, and now and then hundreds. The [`Pacer`] therefore
//! sleeps through most of a gap and spins on the monotonic clock for the
//! last stretch, which keeps the error to a few microseconds at the cost of
//! one busy core during that stretch only. The stretch adapts: it starts at
//! [`Pacer::DEFAULT_SPIN`], and whenever a sleep wakes later than half of
//! it, it grows to twice that lateness (at most [`Pacer::MAX_SPIN`]), so
//! after the first late wake-ups the spin covers this machine's wake-up
//! jitter instead of a guess.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Waits for send offsets measured from the moment it was started.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    spin: Cell<Duration>,
}

impl Pacer {
    /// How long before a due time the pacer stops sleeping and starts
    /// spinning, to begin with.
    pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);
    /// The most the spin grows to: two gaps at 1k packets per second.
    pub const MAX_SPIN: Duration = Duration::from_millis(2);

    pub fn start(spin: Duration) -> Self {
        Self {
            start: Instant::now(),
            spin: Cell::new(spin),
        }
    }

    /// The spin in force now (grown by late wake-ups).
    pub fn spin(&self) -> Duration {
        self.spin.get()
    }

    /// Nanoseconds since the pacer started.
    pub fn elapsed_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Returns once `offset_ns` after the start has been reached.
    pub fn wait_until(&self, offset_ns: u64) {
        let due = self.start + Duration::from_nanos(offset_ns);
        let now = Instant::now();
        if due <= now {
            return;
        }
        let remaining = due - now;
        let spin = self.spin.get();
        if remaining > spin {
            let wake = now + (remaining - spin);
            std::thread::sleep(remaining - spin);
            let late = Instant::now().saturating_duration_since(wake);
            if late > spin / 2 {
                self.spin.set((late * 2).min(Self::MAX_SPIN).max(spin));
            }
        }
        while Instant::now() < due {
            std::hint::spin_loop();
        }
    }
}

/// A bounded histogram of absolute timing errors (how far a send was from
/// its due time), in 100 ns buckets up to 10 ms; anything beyond counts in
/// the last bucket and still updates the maximum.
#[derive(Debug, Clone)]
pub struct TimingErrorHistogram {
    buckets: Vec<u64>,
    count: u64,
    maximum_ns: u64,
    /// Sum of signed errors (late positive), for the mean lateness.
    signed_sum_ns: i128,
}

impl Default for TimingErrorHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl TimingErrorHistogram {
    pub const BUCKET_NS: u64 = 100;
    pub const RANGE_NS: u64 = 10_000_000;

    pub fn new() -> Self {
        Self {
            buckets: vec![0; (Self::RANGE_NS / Self::BUCKET_NS) as usize + 1],
            count: 0,
            maximum_ns: 0,
            signed_sum_ns: 0,
        }
    }

    /// Records one error: actual minus due time, late positive.
    pub fn record(&mut self, error_ns: i64) {
        let absolute = error_ns.unsigned_abs();
        let bucket = (absolute / Self::BUCKET_NS).min(self.buckets.len() as u64 - 1);
        self.buckets[bucket as usize] += 1;
        self.count += 1;
        self.maximum_ns = self.maximum_ns.max(absolute);
        self.signed_sum_ns += i128::from(error_ns);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The absolute error at or below which `quantile` (0..=1) of the
    /// samples lie, as the upper edge of its bucket (capped by the maximum).
    pub fn quantile_ns(&self, quantile: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (bucket, &samples) in self.buckets.iter().enumerate() {
            seen += samples;
            if seen >= rank {
                if bucket + 1 == self.buckets.len() {
                    // The overflow bucket has no upper edge.
                    return self.maximum_ns;
                }
                return ((bucket as u64 + 1) * Self::BUCKET_NS).min(self.maximum_ns);
            }
        }
        self.maximum_ns
    }

    pub fn summary(&self) -> Option<TimingErrorSummary> {
        (self.count > 0).then(|| TimingErrorSummary {
            samples: self.count,
            mean_lateness_ns: (self.signed_sum_ns / i128::from(self.count)) as i64,
            p50_ns: self.quantile_ns(0.50),
            p90_ns: self.quantile_ns(0.90),
            p99_ns: self.quantile_ns(0.99),
            p999_ns: self.quantile_ns(0.999),
            max_ns: self.maximum_ns,
        })
    }
}

/// Percentiles of absolute send-time error, measured by the sender just
/// before each send system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TimingErrorSummary {
    pub samples: u64,
    pub mean_lateness_ns: i64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_bucket_edges() {
        let mut histogram = TimingErrorHistogram::new();
        for error in 0..100 {
            histogram.record(error * 1_000);
        }
        histogram.record(-50_000_000);
        let summary = histogram.summary().unwrap();
        assert_eq!(summary.samples, 101);
        assert_eq!(summary.p50_ns, 50_100);
        assert_eq!(summary.p99_ns, 99_100);
        assert_eq!(summary.max_ns, 50_000_000);
        assert_eq!(histogram.quantile_ns(1.0), 50_000_000);
        assert!(TimingErrorHistogram::new().summary().is_none());
    }

    #[test]
    fn a_late_wake_up_widens_the_spin_within_its_bound() {
        // A spin of 1 ns: any sleep wakes later than half of it.
        let pacer = Pacer::start(Duration::from_nanos(1));
        pacer.wait_until(200_000);
        let grown = pacer.spin();
        assert!(grown > Duration::from_nanos(1), "{grown:?}");
        assert!(grown <= Pacer::MAX_SPIN);
        pacer.wait_until(400_000);
        assert!(pacer.spin() >= grown, "the spin never shrinks");
        assert!(pacer.elapsed_ns() >= 400_000);
    }

    #[test]
    fn pacer_never_returns_early() {
        let pacer = Pacer::start(Pacer::DEFAULT_SPIN);
        for offset in [0, 300_000, 1_000_000, 1_050_000] {
            pacer.wait_until(offset);
            assert!(pacer.elapsed_ns() >= offset);
        }
    }
}
