//! `enshu-replay` is the injector's fast packet sender: it replays a
//! capture into one team's range from inside that range's network namespace
//! (a sidecar sharing a target's namespace, or a process the controller
//! entered with `nsenter`).
//!
//! **Invariant:** nothing is sent that the [`EgressGuard`] has not accepted
//! in its final, rewritten form. Every packet is rewritten and checked
//! before the first send ([`prepare_frames`]); only the resulting
//! [`CheckedFrames`], which cannot be modified, reach a socket. A refusal
//! aborts the whole replay before anything is sent unless the caller asked
//! to skip refused packets.
//!
//! # Layout
//!
//! - [`address_map`]: `FROM=TO` entries and JSON map files into a
//!   [`RewriteMap`] (pure).
//! - [`prepare`]: rewrite, set MACs, guard every frame (pure).
//! - [`flows`]: splitting frames between sender threads by flow (pure).
//! - [`replay`]: the send loop over a [`FrameSink`], paced by enshu-pcap's
//!   `SendSchedule` (no socket; tested with a recording sink).
//! - [`pacing`]: the sleep-then-spin [`Pacer`] and timing-error percentiles.
//! - [`report`]: the [`ReplayReport`], human or JSON.
//! - [`synthetic`]: minimal UDP captures for benchmarks and tests.
//! - `sender` (feature `raw-socket`, on by default): the AF_PACKET
//!   [`Sender`], through a PACKET_MMAP TX ring or `sendmmsg` batches, and
//!   [`replay()`] tying it together, on one thread or several.
//!
//! Without the `raw-socket` feature the crate opens no socket and needs no
//! privilege, so everything but the sender is tested with plain
//! `cargo test --no-default-features`.
//!
//! Unsafe code is denied in the workspace and allowed only in `sender` and
//! `tx_ring`, the two modules that call the kernel through libc; every
//! unsafe block there says why it is sound.

pub mod address_map;
pub mod flows;
#[doc(hidden)]
pub mod fuzz_cases;
pub mod pacing;
pub mod prepare;
pub mod replay;
pub mod report;
#[cfg(feature = "raw-socket")]
#[expect(
    unsafe_code,
    reason = "AF_PACKET sockets, ioctls, sendmmsg and scheduling: libc calls with no safe wrapper"
)]
pub mod sender;
pub mod synthetic;
#[cfg(feature = "raw-socket")]
#[expect(
    unsafe_code,
    reason = "the PACKET_MMAP TX ring is memory the kernel shares with this process"
)]
mod tx_ring;

pub use address_map::{AddressMapError, map_entries_from_json, rewrite_map_from_entries};
pub use enshu_pcap::{EgressGuard, MacAddress, RewriteMap, Timing};
pub use pacing::{Pacer, TimingErrorHistogram, TimingErrorSummary};
pub use prepare::{
    CheckedFrames, PrepareError, PrepareOptions, PreparedReplay, Refusal, RefusalPolicy,
    RefusalReason, prepare_frames,
};
pub use replay::{FrameSink, SendError, SendSettings, SendStatistics, send_frames};
pub use report::{ReplayReport, ReportContext};
#[cfg(feature = "raw-socket")]
pub use sender::{
    InterfaceInfo, SendMethod, Sender, SenderError, SenderOptions, enter_realtime_scheduling,
    reduce_timer_slack,
};

/// Everything one replay needs.
#[cfg(feature = "raw-socket")]
#[derive(Debug, Clone)]
pub struct ReplayRequest<'a> {
    /// The capture file's bytes (pcap or pcapng).
    pub capture: &'a [u8],
    pub map: RewriteMap,
    pub timing: Timing,
    pub loops: u32,
    /// Interface in the current network namespace.
    pub interface: &'a str,
    pub guard: &'a EgressGuard,
    /// Destination MAC of every frame; broadcast when `None`.
    pub next_hop_mac: Option<MacAddress>,
    pub refusal_policy: RefusalPolicy,
    pub sender: SenderOptions,
    pub max_duration: Option<std::time::Duration>,
    /// Send from a `SCHED_FIFO` thread with locked memory (paced replays on
    /// a busy host); an error if the privilege is missing.
    pub realtime: bool,
    /// Sender threads, each with its own socket and a share of the flows
    /// (see [`flows`]); more than one only at top speed.
    pub threads: usize,
}

/// Why a replay failed.
#[cfg(feature = "raw-socket")]
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Sender(#[from] SenderError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("entering real-time scheduling (needs CAP_SYS_NICE and CAP_IPC_LOCK): {0}")]
    Realtime(std::io::Error),
    #[error(
        "{threads} sender threads need --topspeed: a paced replay is sent by one thread (its rate needs no second core, and one schedule keeps the order)"
    )]
    ThreadsNeedTopSpeed { threads: usize },
}

/// `SCHED_FIFO` priority of `--realtime`: above ordinary real-time helpers,
/// below the kernel's own threads (which use 50 and up for interrupts).
#[cfg(feature = "raw-socket")]
pub const REALTIME_PRIORITY: i32 = 40;

/// Opens the interface, prepares and checks every frame, then sends them.
#[cfg(feature = "raw-socket")]
pub fn replay(request: ReplayRequest<'_>) -> Result<ReplayReport, ReplayError> {
    let threads = request.threads.max(1);
    if threads > 1 && !matches!(request.timing, Timing::TopSpeed) {
        return Err(ReplayError::ThreadsNeedTopSpeed { threads });
    }
    let mut sender = Sender::open(request.interface, request.sender)?;
    let interface = sender.interface().clone();
    let destination_mac = request.next_hop_mac.unwrap_or(PrepareOptions::BROADCAST);
    let prepared = prepare_frames(
        request.capture,
        &PrepareOptions {
            map: request.map,
            source_mac: interface.mac,
            destination_mac,
            refusal_policy: request.refusal_policy,
            max_frame_length: Some(interface.max_frame_length()),
        },
        request.guard,
    )?;
    if !matches!(request.timing, Timing::TopSpeed) {
        reduce_timer_slack();
    }
    if request.realtime {
        enter_realtime_scheduling(REALTIME_PRIORITY).map_err(ReplayError::Realtime)?;
    }
    let settings = SendSettings {
        timing: request.timing,
        loops: request.loops,
        batch_size: sender.batch_size(),
        max_duration: request.max_duration,
        ..SendSettings::default()
    };
    let send_method = sender.send_method();
    let tx_ring_unavailable = sender.tx_ring_unavailable().map(str::to_owned);
    let (statistics, full_queue_retries) = if threads == 1 {
        let statistics = send_frames(&mut sender, &prepared.frames, &settings)?;
        (statistics, sender.full_queue_retries)
    } else {
        send_on_threads(
            sender,
            request.interface,
            request.sender,
            &prepared.frames,
            &settings,
            threads,
        )?
    };
    Ok(ReplayReport::new(
        ReportContext {
            interface: interface.name.clone(),
            source_mac: interface.mac.to_string(),
            destination_mac: destination_mac.to_string(),
            timing: describe_timing(request.timing),
            loops: request.loops,
            full_queue_retries,
            send_method: send_method.to_string(),
            tx_ring_unavailable,
            threads,
        },
        &prepared,
        &statistics,
    ))
}

/// Splits the frames by flow and sends each share from its own thread and
/// socket (`first_sender` and `threads - 1` more of the same kind); returns
/// the combined statistics, timed from before the first thread starts to
/// after the last ends, and the full-queue retries of all senders.
#[cfg(feature = "raw-socket")]
fn send_on_threads(
    first_sender: Sender,
    interface: &str,
    options: SenderOptions,
    frames: &CheckedFrames,
    settings: &SendSettings,
    threads: usize,
) -> Result<(SendStatistics, u64), ReplayError> {
    let shares: Vec<CheckedFrames> = frames
        .partition_by_flow(threads)
        .into_iter()
        .filter(|share| !share.is_empty())
        .collect();
    let mut senders = vec![first_sender];
    while senders.len() < shares.len() {
        senders.push(Sender::open(interface, options)?);
    }
    senders.truncate(shares.len().max(1));
    let started = std::time::Instant::now();
    let outcomes: Vec<(Result<SendStatistics, SendError>, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = senders
            .into_iter()
            .zip(&shares)
            .map(|(mut sender, share)| {
                scope.spawn(move || {
                    let outcome = send_frames(&mut sender, share, settings);
                    (outcome, sender.full_queue_retries)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("sender thread panicked"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut combined = SendStatistics {
        frames_sent: 0,
        bytes_sent: 0,
        system_calls: 0,
        elapsed,
        stopped_at_deadline: false,
        timing_error: None,
    };
    let mut full_queue_retries = 0;
    for (outcome, retries) in outcomes {
        let statistics = outcome?;
        combined.frames_sent += statistics.frames_sent;
        combined.bytes_sent += statistics.bytes_sent;
        combined.system_calls += statistics.system_calls;
        combined.stopped_at_deadline |= statistics.stopped_at_deadline;
        full_queue_retries += retries;
    }
    Ok((combined, full_queue_retries))
}

/// A short description of a timing, for reports.
pub fn describe_timing(timing: Timing) -> String {
    match timing {
        Timing::Original => "original".to_owned(),
        Timing::Multiplier(multiplier) => format!("x{multiplier}"),
        Timing::PacketsPerSecond(rate) => format!("{rate} pps"),
        Timing::TopSpeed => "top speed".to_owned(),
    }
}
