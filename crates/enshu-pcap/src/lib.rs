//! `enshu-pcap` is the pure packet library of Enshu's traffic injector.
//!
//! It reads captures (classic pcap and pcapng), rewrites them into one
//! team's address plan, checks every frame against the session's allowed
//! ranges and computes when each packet is due. It opens no socket and
//! starts no runtime: the injector does the sending, so that everything
//! here can be tested with plain `cargo test` on bytes.
//!
//! # Layout
//!
//! - [`capture`]: format detection by magic number and a borrowing reader;
//!   every malformed input is an error naming the byte offset and block.
//! - [`writer`]: a classic pcap writer (micro- or nanosecond).
//! - [`rewrite`]: the per-team [`RewriteMap`] and the [`Rewriter`], which
//!   repairs checksums incrementally (RFC 1624) and reports unmapped
//!   addresses.
//! - [`egress`]: the [`EgressGuard`]. **Invariant:** a frame the guard
//!   refuses is never sent; it checks independently of the rewrite map.
//! - [`timing`]: the send schedule as a pure iterator.
//! - [`summary`]: [`capture_summary`] for the scenario validator.
//! - [`network`]: the small address types the API speaks in.

#![forbid(unsafe_code)]

pub mod capture;
mod checksum;
pub mod egress;
mod frame;
#[doc(hidden)]
pub mod fuzz_cases;
pub mod network;
pub mod rewrite;
pub mod summary;
pub mod timing;
pub mod writer;

pub use capture::{
    ByteOrder, CaptureError, CaptureFormat, CaptureReader, Interface, LinkType, Packet,
    TimestampPrecision, TimestampResolution, detect_format, read_all_packets, read_capture_file,
};
pub use egress::{EgressGuard, EgressRefusal};
pub use frame::FrameError;
pub use network::{AddressError, Ipv4Network, MacAddress};
pub use rewrite::{
    ChecksumMode, Ipv6Policy, MacRewrite, RewriteError, RewriteMap, RewriteMapError,
    RewriteOptions, RewriteOutcome, RewriteStatistics, Rewriter, SubnetMapping, VlanPolicy,
    rewrite_packets,
};
pub use summary::{Summary, capture_summary, capture_summary_from_bytes};
pub use timing::{ScheduledSend, SendSchedule, Timing, TimingError, send_offsets};
pub use writer::{PcapWriter, WriteError};
