//! When each packet of a replay should be sent, as a pure computation.
//!
//! The sender only sleeps until the offsets this module yields, so the
//! timing rules (speed-up, fixed rate, loops, captures whose clock went
//! backwards) are unit-tested here without a clock or a socket.

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timing {
    /// The gaps recorded in the capture.
    Original,
    /// The recorded gaps divided by this factor (2.0 replays twice as fast).
    Multiplier(f64),
    /// A fixed rate, ignoring the recorded timestamps.
    PacketsPerSecond(u32),
    /// Everything at offset zero: as fast as the sender can go.
    TopSpeed,
}

/// Why a schedule could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimingError {
    #[error("timing multiplier {0} must be a finite number above zero")]
    InvalidMultiplier(f64),
    #[error("packets per second must be above zero")]
    ZeroPacketsPerSecond,
    #[error("loop count must be at least 1")]
    ZeroLoops,
}

/// One send: which packet, in which pass, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledSend {
    pub packet_index: usize,
    pub loop_index: u32,
    /// Nanoseconds after the start of the replay.
    pub offset_ns: u64,
}

/// Iterator over the sends of a replay, in sending order.
///
/// Offsets never decrease: a capture timestamp earlier than its predecessor
/// is sent right after it. With recorded timings, each loop starts one
/// average inter-packet gap after the previous loop's last packet, so loops
/// keep the capture's rhythm instead of sending two packets at once.
#[derive(Debug, Clone)]
pub struct SendSchedule {
    /// Offset of each packet within one pass, already scaled.
    pass_offsets_ns: Vec<u64>,
    /// Time from the start of one pass to the start of the next.
    pass_period_ns: u64,
    /// For `PacketsPerSecond`: the gap between any two sends.
    fixed_interval_ns: Option<f64>,
    loop_count: u32,
    next_packet_index: usize,
    next_loop_index: u32,
}

impl SendSchedule {
    pub fn new(
        timestamps_ns: &[u64],
        timing: Timing,
        loop_count: u32,
    ) -> Result<Self, TimingError> {
        if loop_count == 0 {
            return Err(TimingError::ZeroLoops);
        }
        let divisor = match timing {
            Timing::Original => 1.0,
            Timing::Multiplier(multiplier) if multiplier.is_finite() && multiplier > 0.0 => {
                multiplier
            }
            Timing::Multiplier(multiplier) => {
                return Err(TimingError::InvalidMultiplier(multiplier));
            }
            Timing::PacketsPerSecond(0) => return Err(TimingError::ZeroPacketsPerSecond),
            Timing::PacketsPerSecond(_) | Timing::TopSpeed => 1.0,
        };
        let mut pass_offsets_ns = Vec::with_capacity(timestamps_ns.len());
        let mut fixed_interval_ns = None;
        match timing {
            Timing::Original | Timing::Multiplier(_) => {
                let first = timestamps_ns.first().copied().unwrap_or(0);
                let mut latest = 0u64;
                for &timestamp in timestamps_ns {
                    let recorded = timestamp.saturating_sub(first);
                    let scaled = (recorded as f64 / divisor).round() as u64;
                    latest = latest.max(scaled);
                    pass_offsets_ns.push(latest);
                }
            }
            Timing::PacketsPerSecond(rate) => {
                fixed_interval_ns = Some(1e9 / f64::from(rate));
                pass_offsets_ns.resize(timestamps_ns.len(), 0);
            }
            Timing::TopSpeed => pass_offsets_ns.resize(timestamps_ns.len(), 0),
        }
        let pass_duration = pass_offsets_ns.last().copied().unwrap_or(0);
        let average_gap = if pass_offsets_ns.len() > 1 {
            pass_duration / (pass_offsets_ns.len() as u64 - 1)
        } else {
            0
        };
        Ok(Self {
            pass_offsets_ns,
            pass_period_ns: pass_duration + average_gap,
            fixed_interval_ns,
            loop_count,
            next_packet_index: 0,
            next_loop_index: 0,
        })
    }

    /// Total number of sends over all loops.
    pub fn send_count(&self) -> u64 {
        self.pass_offsets_ns.len() as u64 * u64::from(self.loop_count)
    }
}

impl Iterator for SendSchedule {
    type Item = ScheduledSend;

    fn next(&mut self) -> Option<ScheduledSend> {
        if self.next_packet_index >= self.pass_offsets_ns.len() {
            if self.pass_offsets_ns.is_empty() || self.next_loop_index + 1 >= self.loop_count {
                return None;
            }
            self.next_packet_index = 0;
            self.next_loop_index += 1;
        }
        let packet_index = self.next_packet_index;
        let loop_index = self.next_loop_index;
        let offset_ns = match self.fixed_interval_ns {
            Some(interval) => {
                let send_number =
                    u64::from(loop_index) * self.pass_offsets_ns.len() as u64 + packet_index as u64;
                (send_number as f64 * interval).round() as u64
            }
            None => u64::from(loop_index)
                .saturating_mul(self.pass_period_ns)
                .saturating_add(self.pass_offsets_ns[packet_index]),
        };
        self.next_packet_index += 1;
        Some(ScheduledSend {
            packet_index,
            loop_index,
            offset_ns,
        })
    }
}

/// The offsets alone, for callers that do not need the indexes.
pub fn send_offsets(
    timestamps_ns: &[u64],
    timing: Timing,
    loop_count: u32,
) -> Result<Vec<u64>, TimingError> {
    Ok(SendSchedule::new(timestamps_ns, timing, loop_count)?
        .map(|send| send.offset_ns)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;
    const TIMESTAMPS: [u64; 4] = [
        100 * SECOND,
        100 * SECOND + 500_000,
        101 * SECOND,
        103 * SECOND,
    ];

    #[test]
    fn original_timing_keeps_recorded_gaps() {
        let offsets = send_offsets(&TIMESTAMPS, Timing::Original, 1).unwrap();
        assert_eq!(offsets, vec![0, 500_000, SECOND, 3 * SECOND]);
    }

    #[test]
    fn multiplier_divides_gaps() {
        let offsets = send_offsets(&TIMESTAMPS, Timing::Multiplier(2.0), 1).unwrap();
        assert_eq!(offsets, vec![0, 250_000, SECOND / 2, 3 * SECOND / 2]);
        let slower = send_offsets(&TIMESTAMPS, Timing::Multiplier(0.5), 1).unwrap();
        assert_eq!(slower, vec![0, 1_000_000, 2 * SECOND, 6 * SECOND]);
    }

    #[test]
    fn packets_per_second_ignores_timestamps_and_spans_loops() {
        let offsets = send_offsets(&TIMESTAMPS, Timing::PacketsPerSecond(4), 2).unwrap();
        let quarter = SECOND / 4;
        assert_eq!(
            offsets,
            (0..8).map(|send| send * quarter).collect::<Vec<_>>()
        );
        let third = send_offsets(&[0, 0, 0, 0], Timing::PacketsPerSecond(3), 1).unwrap();
        assert_eq!(third, vec![0, 333_333_333, 666_666_667, SECOND]);
    }

    #[test]
    fn top_speed_sends_everything_at_once() {
        let offsets = send_offsets(&TIMESTAMPS, Timing::TopSpeed, 3).unwrap();
        assert_eq!(offsets, vec![0; 12]);
    }

    #[test]
    fn loops_start_one_average_gap_after_the_previous_pass() {
        let schedule: Vec<ScheduledSend> = SendSchedule::new(&TIMESTAMPS, Timing::Original, 2)
            .unwrap()
            .collect();
        assert_eq!(schedule.len(), 8);
        // pass of 3 s over 3 gaps: the period is 3 s + 1 s
        assert_eq!(
            schedule[4],
            ScheduledSend {
                packet_index: 0,
                loop_index: 1,
                offset_ns: 4 * SECOND
            }
        );
        assert_eq!(
            schedule[7],
            ScheduledSend {
                packet_index: 3,
                loop_index: 1,
                offset_ns: 7 * SECOND
            }
        );
        assert_eq!(
            SendSchedule::new(&TIMESTAMPS, Timing::Original, 2)
                .unwrap()
                .send_count(),
            8
        );
    }

    #[test]
    fn timestamps_going_backwards_never_move_a_send_earlier() {
        let offsets = send_offsets(
            &[
                10 * SECOND,
                12 * SECOND,
                11 * SECOND,
                5 * SECOND,
                13 * SECOND,
            ],
            Timing::Original,
            1,
        )
        .unwrap();
        assert_eq!(
            offsets,
            vec![0, 2 * SECOND, 2 * SECOND, 2 * SECOND, 3 * SECOND]
        );
    }

    #[test]
    fn empty_and_single_packet_captures() {
        assert_eq!(
            send_offsets(&[], Timing::Original, 5).unwrap(),
            Vec::<u64>::new()
        );
        assert_eq!(
            send_offsets(&[42], Timing::Original, 3).unwrap(),
            vec![0, 0, 0]
        );
    }

    #[test]
    fn refuses_nonsense_settings() {
        assert_eq!(
            send_offsets(&TIMESTAMPS, Timing::Original, 0),
            Err(TimingError::ZeroLoops)
        );
        assert_eq!(
            send_offsets(&TIMESTAMPS, Timing::PacketsPerSecond(0), 1),
            Err(TimingError::ZeroPacketsPerSecond)
        );
        for multiplier in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(send_offsets(&TIMESTAMPS, Timing::Multiplier(multiplier), 1).is_err());
        }
        assert_eq!(
            TimingError::InvalidMultiplier(0.0).to_string(),
            "timing multiplier 0 must be a finite number above zero"
        );
    }
}
