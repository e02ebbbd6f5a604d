//! The replay report: what was prepared, refused and sent, in a form that
//! prints for a person and serialises to JSON for the controller.

use std::fmt;

use serde::Serialize;

use crate::pacing::TimingErrorSummary;
use crate::prepare::PreparedReplay;
use crate::replay::SendStatistics;

/// How many refusals the report lists one by one (all are counted).
pub const LISTED_REFUSALS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    pub interface: String,
    pub source_mac: String,
    pub destination_mac: String,
    pub timing: String,
    pub loops: u32,
    pub packets_in_capture: u64,
    /// Frames per pass that passed the guard.
    pub frames_per_loop: u64,
    /// Packets per pass the guard (or the rewriter) refused.
    pub refused: u64,
    /// The first [`LISTED_REFUSALS`] refusals, as messages.
    pub refusals: Vec<String>,
    pub unmapped_ipv4_addresses: Vec<String>,
    pub sent: u64,
    pub bytes: u64,
    pub elapsed_seconds: f64,
    pub achieved_pps: f64,
    pub achieved_bits_per_second: f64,
    pub system_calls: u64,
    pub full_queue_retries: u64,
    /// `tx-ring` or `sendmmsg`.
    pub send_method: String,
    /// Why the TX ring was not used although asked for, if so.
    pub tx_ring_unavailable: Option<String>,
    /// Sender threads (each with its own socket and share of the flows).
    pub threads: usize,
    pub stopped_at_deadline: bool,
    /// Send-time error against the schedule; absent at top speed.
    pub timing_error: Option<TimingErrorSummary>,
}

/// What the report is built from besides the preparation and the loop.
#[derive(Debug, Clone)]
pub struct ReportContext {
    pub interface: String,
    pub source_mac: String,
    pub destination_mac: String,
    pub timing: String,
    pub loops: u32,
    pub full_queue_retries: u64,
    pub send_method: String,
    pub tx_ring_unavailable: Option<String>,
    pub threads: usize,
}

impl ReplayReport {
    pub fn new(
        context: ReportContext,
        prepared: &PreparedReplay,
        statistics: &SendStatistics,
    ) -> Self {
        Self {
            interface: context.interface,
            source_mac: context.source_mac,
            destination_mac: context.destination_mac,
            timing: context.timing,
            loops: context.loops,
            packets_in_capture: prepared.packets_in_capture,
            frames_per_loop: prepared.frames.len() as u64,
            refused: prepared.refusals.len() as u64,
            refusals: prepared
                .refusals
                .iter()
                .take(LISTED_REFUSALS)
                .map(ToString::to_string)
                .collect(),
            unmapped_ipv4_addresses: prepared
                .unmapped_ipv4_addresses()
                .map(|address| address.to_string())
                .collect(),
            sent: statistics.frames_sent,
            bytes: statistics.bytes_sent,
            elapsed_seconds: statistics.elapsed.as_secs_f64(),
            achieved_pps: statistics.packets_per_second(),
            achieved_bits_per_second: statistics.bits_per_second(),
            system_calls: statistics.system_calls,
            full_queue_retries: context.full_queue_retries,
            send_method: context.send_method,
            tx_ring_unavailable: context.tx_ring_unavailable,
            threads: context.threads,
            stopped_at_deadline: statistics.stopped_at_deadline,
            timing_error: statistics.timing_error,
        }
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            formatter,
            "replayed on {} ({} -> {}), timing {}, {} loop(s)",
            self.interface, self.source_mac, self.destination_mac, self.timing, self.loops
        )?;
        writeln!(
            formatter,
            "capture: {} packets, {} sendable, {} refused",
            self.packets_in_capture, self.frames_per_loop, self.refused
        )?;
        for refusal in &self.refusals {
            writeln!(formatter, "  {refusal}")?;
        }
        if self.refused as usize > self.refusals.len() {
            writeln!(
                formatter,
                "  ... and {} more",
                self.refused as usize - self.refusals.len()
            )?;
        }
        if !self.unmapped_ipv4_addresses.is_empty() {
            writeln!(
                formatter,
                "unmapped addresses (left as captured): {}",
                self.unmapped_ipv4_addresses.join(", ")
            )?;
        }
        writeln!(
            formatter,
            "sent {} frames, {} bytes in {:.6} s: {:.0} packets/s, {:.1} Mbit/s ({}, {} thread(s), {} system calls, {} full-queue retries){}",
            self.sent,
            self.bytes,
            self.elapsed_seconds,
            self.achieved_pps,
            self.achieved_bits_per_second / 1e6,
            self.send_method,
            self.threads,
            self.system_calls,
            self.full_queue_retries,
            if self.stopped_at_deadline {
                ", stopped at --max-duration"
            } else {
                ""
            }
        )?;
        if let Some(reason) = &self.tx_ring_unavailable {
            writeln!(
                formatter,
                "TX ring unavailable, sent with sendmmsg: {reason}"
            )?;
        }
        if let Some(error) = &self.timing_error {
            writeln!(
                formatter,
                "send-time error: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us, mean lateness {:.1} us",
                error.p50_ns as f64 / 1e3,
                error.p90_ns as f64 / 1e3,
                error.p99_ns as f64 / 1e3,
                error.p999_ns as f64 / 1e3,
                error.max_ns as f64 / 1e3,
                error.mean_lateness_ns as f64 / 1e3
            )?;
        }
        Ok(())
    }
}
