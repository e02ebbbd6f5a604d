//! The send loop: walks the [`SendSchedule`] over [`CheckedFrames`] and
//! hands batches to a [`FrameSink`].
//!
//! The loop knows nothing of sockets, so it runs in plain `cargo test`
//! against a recording sink; the AF_PACKET [`crate::Sender`] is one sink.
//! At top speed it fills whole batches; when paced it waits for each due
//! time and sends with it every later frame that is already due, so falling
//! behind is caught up in batches instead of one system call per frame.

use std::time::Duration;

use enshu_pcap::{SendSchedule, Timing, TimingError};

use crate::pacing::{Pacer, TimingErrorHistogram, TimingErrorSummary};
use crate::prepare::CheckedFrames;

/// Where frames go. Implementations send a prefix of `frames`, in order,
/// and return its length (at least one frame unless `frames` is empty).
pub trait FrameSink {
    fn send_frames(&mut self, frames: &[&[u8]]) -> std::io::Result<usize>;
}

/// How the loop sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendSettings {
    pub timing: Timing,
    /// Passes over the capture (at least 1).
    pub loops: u32,
    /// Most frames per system call.
    pub batch_size: usize,
    /// Stop after this long even if loops remain.
    pub max_duration: Option<Duration>,
    /// See [`Pacer::DEFAULT_SPIN`].
    pub spin: Duration,
}

impl Default for SendSettings {
    fn default() -> Self {
        Self {
            timing: Timing::Original,
            loops: 1,
            batch_size: 64,
            max_duration: None,
            spin: Pacer::DEFAULT_SPIN,
        }
    }
}

/// What the loop did.
#[derive(Debug, Clone, PartialEq)]
pub struct SendStatistics {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub system_calls: u64,
    pub elapsed: Duration,
    /// Whether `max_duration` ended the replay before the schedule did.
    pub stopped_at_deadline: bool,
    /// Present when the replay was paced.
    pub timing_error: Option<TimingErrorSummary>,
}

impl SendStatistics {
    pub fn packets_per_second(&self) -> f64 {
        rate(self.frames_sent, self.elapsed)
    }

    pub fn bits_per_second(&self) -> f64 {
        rate(self.bytes_sent * 8, self.elapsed)
    }
}

fn rate(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// Why the loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Timing(#[from] TimingError),
    #[error("batch size must be at least 1")]
    ZeroBatchSize,
    #[error("sending frame {send_index} of the replay failed after {frames_sent} frames: {source}")]
    Io {
        send_index: u64,
        frames_sent: u64,
        source: std::io::Error,
    },
}

/// Sends `frames` according to `settings` into `sink`.
pub fn send_frames(
    sink: &mut impl FrameSink,
    frames: &CheckedFrames,
    settings: &SendSettings,
) -> Result<SendStatistics, SendError> {
    if settings.batch_size == 0 {
        return Err(SendError::ZeroBatchSize);
    }
    let mut schedule =
        SendSchedule::new(frames.timestamps_ns(), settings.timing, settings.loops)?.peekable();
    let paced = !matches!(settings.timing, Timing::TopSpeed);
    let deadline_ns = settings
        .max_duration
        .map(|duration| duration.as_nanos() as u64);
    let mut histogram = paced.then(TimingErrorHistogram::new);
    let mut batch: Vec<&[u8]> = Vec::with_capacity(settings.batch_size);
    let mut due_offsets: Vec<u64> = Vec::with_capacity(settings.batch_size);
    let mut statistics = SendStatistics {
        frames_sent: 0,
        bytes_sent: 0,
        system_calls: 0,
        elapsed: Duration::ZERO,
        stopped_at_deadline: false,
        timing_error: None,
    };
    let pacer = Pacer::start(settings.spin);
    while let Some(first) = schedule.next() {
        if let Some(deadline) = deadline_ns
            && (first.offset_ns >= deadline || pacer.elapsed_ns() >= deadline)
        {
            statistics.stopped_at_deadline = true;
            break;
        }
        if paced {
            pacer.wait_until(first.offset_ns);
        }
        batch.clear();
        due_offsets.clear();
        batch.push(frames.frame(first.packet_index));
        due_offsets.push(first.offset_ns);
        let now_ns = if paced { pacer.elapsed_ns() } else { 0 };
        while batch.len() < settings.batch_size {
            match schedule.peek() {
                Some(next)
                    if next.offset_ns <= now_ns
                        && deadline_ns.is_none_or(|deadline| next.offset_ns < deadline) =>
                {
                    batch.push(frames.frame(next.packet_index));
                    due_offsets.push(next.offset_ns);
                    schedule.next();
                }
                _ => break,
            }
        }
        let sent_at_ns = if paced { pacer.elapsed_ns() } else { 0 };
        let mut offset = 0;
        while offset < batch.len() {
            let sent = sink
                .send_frames(&batch[offset..])
                .map_err(|source| SendError::Io {
                    send_index: statistics.frames_sent,
                    frames_sent: statistics.frames_sent,
                    source,
                })?;
            statistics.system_calls += 1;
            for frame in &batch[offset..offset + sent] {
                statistics.bytes_sent += frame.len() as u64;
            }
            statistics.frames_sent += sent as u64;
            offset += sent;
        }
        if let Some(histogram) = histogram.as_mut() {
            for &due in &due_offsets {
                histogram.record(sent_at_ns as i64 - due as i64);
            }
        }
    }
    statistics.elapsed = Duration::from_nanos(pacer.elapsed_ns());
    statistics.timing_error = histogram.and_then(|histogram| histogram.summary());
    Ok(statistics)
}
