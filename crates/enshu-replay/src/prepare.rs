//! Turning a capture into the exact frames a replay will send.
//!
//! Every packet is rewritten into the team's plan (addresses from the map,
//! Ethernet source and destination set to the sending interface and the
//! next hop) and then checked by the [`EgressGuard`]. Only frames the guard
//! accepted end up in [`CheckedFrames`], whose constructor is private to
//! this module and whose bytes cannot be changed afterwards: whatever the
//! sender is handed has passed the guard as it will go on the wire. This is
//! all done before the first send, so an aborted replay sends nothing.
//!
//! **Invariant:** a frame reaches a socket only through [`CheckedFrames`].

use std::fmt;
use std::net::Ipv4Addr;

use enshu_pcap::{
    CaptureError, CaptureReader, EgressGuard, EgressRefusal, Ipv6Policy, LinkType, MacAddress,
    MacRewrite, RewriteError, RewriteMap, RewriteOptions, RewriteOutcome, RewriteStatistics,
    Rewriter,
};

/// What to do when a packet may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefusalPolicy {
    /// Stop before sending anything, naming the first refused packet.
    #[default]
    Abort,
    /// Leave refused packets out, count them, send the rest.
    Skip,
}

/// How to prepare a capture for one team.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    pub map: RewriteMap,
    /// The sending interface's MAC, written as every frame's source.
    pub source_mac: MacAddress,
    /// The next hop's MAC, or broadcast, written as every frame's destination.
    pub destination_mac: MacAddress,
    pub refusal_policy: RefusalPolicy,
    /// Largest frame the interface accepts (MTU plus link header), if known.
    pub max_frame_length: Option<usize>,
}

impl PrepareOptions {
    pub const BROADCAST: MacAddress = MacAddress([0xff; 6]);
}

/// Why one packet is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// The egress guard refused the rewritten frame.
    Egress(EgressRefusal),
    /// The rewriter could not process the packet.
    Rewrite(RewriteError),
    /// The capture's link type has no Ethernet header to send.
    NotEthernet(LinkType),
    /// Larger than the interface can send (captures taken with segmentation
    /// offload hold such frames).
    TooLarge { length: usize, maximum: usize },
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefusalReason::Egress(refusal) => write!(formatter, "egress guard: {refusal}"),
            RefusalReason::Rewrite(error) => write!(formatter, "rewrite failed: {error}"),
            RefusalReason::NotEthernet(link_type) => {
                write!(formatter, "link type {link_type} is not ethernet")
            }
            RefusalReason::TooLarge { length, maximum } => write!(
                formatter,
                "frame of {length} bytes exceeds the interface's {maximum}"
            ),
        }
    }
}

/// One packet that is not sent, by its index in the capture (from 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet {packet_index} refused: {reason}")]
pub struct Refusal {
    pub packet_index: usize,
    pub reason: RefusalReason,
}

impl Refusal {
    /// The address that made the guard refuse, when there is one.
    pub fn address(&self) -> Option<std::net::IpAddr> {
        match &self.reason {
            RefusalReason::Egress(EgressRefusal::Ipv4DestinationOutside { destination }) => {
                Some((*destination).into())
            }
            RefusalReason::Egress(EgressRefusal::Ipv4SourceOutside { source_address }) => {
                Some((*source_address).into())
            }
            RefusalReason::Egress(EgressRefusal::ArpAddressOutside { address, .. }) => {
                Some((*address).into())
            }
            RefusalReason::Egress(EgressRefusal::Ipv6NotAllowed { destination, .. }) => {
                Some((*destination).into())
            }
            _ => None,
        }
    }
}

/// Why a capture could not be prepared at all.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("reading capture: {0}")]
    Capture(#[from] CaptureError),
    #[error(
        "{refusal}; nothing was sent (allowed networks: {allowed}; pass --skip-refused to leave refused packets out)"
    )]
    Refused { refusal: Refusal, allowed: String },
}

/// Frames that passed the egress guard, stored back to back, with their
/// capture timestamps. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct CheckedFrames {
    bytes: Vec<u8>,
    /// (start, length) in `bytes` of each frame.
    spans: Vec<(usize, usize)>,
    timestamps_ns: Vec<u64>,
    capture_indexes: Vec<usize>,
}

impl CheckedFrames {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn frame(&self, index: usize) -> &[u8] {
        let (start, length) = self.spans[index];
        &self.bytes[start..start + length]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|index| self.frame(index))
    }

    /// Capture timestamps of the frames, for the send schedule.
    pub fn timestamps_ns(&self) -> &[u64] {
        &self.timestamps_ns
    }

    /// Index in the capture of the frame at `index`.
    pub fn capture_index(&self, index: usize) -> usize {
        self.capture_indexes[index]
    }

    /// Bytes of one pass over all frames.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Splits the frames between `parts` senders, keeping every flow (see
    /// [`crate::flows`]) whole and in order within its part. The parts are
    /// built here, from frames that already passed the guard, so the
    /// invariant carries over. Parts may be empty when there are fewer
    /// flows than parts.
    pub fn partition_by_flow(&self, parts: usize) -> Vec<CheckedFrames> {
        let keys = crate::flows::flow_keys(self.iter());
        let assignment = crate::flows::assign_parts(&keys, parts);
        let mut partitioned = vec![CheckedFrames::default(); parts.max(1)];
        for (index, part) in assignment.into_iter().enumerate() {
            partitioned[part].push(
                self.capture_indexes[index],
                self.timestamps_ns[index],
                self.frame(index),
            );
        }
        partitioned
    }

    fn push(&mut self, capture_index: usize, timestamp_ns: u64, frame: &[u8]) {
        self.spans.push((self.bytes.len(), frame.len()));
        self.bytes.extend_from_slice(frame);
        self.timestamps_ns.push(timestamp_ns);
        self.capture_indexes.push(capture_index);
    }
}

/// The outcome of preparing a capture.
#[derive(Debug, Clone)]
pub struct PreparedReplay {
    pub frames: CheckedFrames,
    /// Every refused packet, in capture order (empty under
    /// [`RefusalPolicy::Abort`], which returns an error instead).
    pub refusals: Vec<Refusal>,
    pub packets_in_capture: u64,
    pub rewrite_statistics: RewriteStatistics,
}

impl PreparedReplay {
    /// Addresses the capture held that the map did not translate.
    pub fn unmapped_ipv4_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.rewrite_statistics
            .unmapped_ipv4_addresses
            .keys()
            .copied()
    }
}

/// Rewrites every packet of `capture` and keeps those the guard accepts.
pub fn prepare_frames(
    capture: &[u8],
    options: &PrepareOptions,
    guard: &EgressGuard,
) -> Result<PreparedReplay, PrepareError> {
    let mut map = options.map.clone();
    map.set_mac_rewrite(MacRewrite::Set {
        source: Some(options.source_mac),
        destination: Some(options.destination_mac),
    });
    // IPv6 passes the rewriter untouched so that the guard, the one place
    // that decides what is sent, refuses it like any other frame.
    let rewrite_options = RewriteOptions {
        ipv6: Ipv6Policy::PassThrough,
        ..RewriteOptions::default()
    };
    let mut rewriter = Rewriter::new(map, rewrite_options);
    let mut frames = CheckedFrames::default();
    let mut refusals = Vec::new();
    let mut packets_in_capture = 0u64;
    for (packet_index, packet) in CaptureReader::new(capture)?.enumerate() {
        let mut packet = packet?;
        packets_in_capture += 1;
        let verdict = check_packet(packet_index, &mut packet, &mut rewriter, options, guard);
        match verdict {
            Ok(true) => frames.push(packet_index, packet.timestamp_ns, &packet.data),
            Ok(false) => {}
            Err(reason) => {
                let refusal = Refusal {
                    packet_index,
                    reason,
                };
                match options.refusal_policy {
                    RefusalPolicy::Abort => {
                        return Err(PrepareError::Refused {
                            refusal,
                            allowed: describe_networks(guard),
                        });
                    }
                    RefusalPolicy::Skip => refusals.push(refusal),
                }
            }
        }
    }
    Ok(PreparedReplay {
        frames,
        refusals,
        packets_in_capture,
        rewrite_statistics: rewriter.into_statistics(),
    })
}

/// `Ok(true)` to send, `Ok(false)` when the rewriter dropped the packet.
fn check_packet(
    packet_index: usize,
    packet: &mut enshu_pcap::Packet<'_>,
    rewriter: &mut Rewriter,
    options: &PrepareOptions,
    guard: &EgressGuard,
) -> Result<bool, RefusalReason> {
    if packet.link_type != LinkType::ETHERNET {
        return Err(RefusalReason::NotEthernet(packet.link_type));
    }
    let outcome = rewriter
        .rewrite_packet(packet_index, packet)
        .map_err(RefusalReason::Rewrite)?;
    if outcome == RewriteOutcome::Dropped {
        return Ok(false);
    }
    guard.check(&packet.data).map_err(RefusalReason::Egress)?;
    if let Some(maximum) = options.max_frame_length
        && packet.data.len() > maximum
    {
        return Err(RefusalReason::TooLarge {
            length: packet.data.len(),
            maximum,
        });
    }
    Ok(true)
}

fn describe_networks(guard: &EgressGuard) -> String {
    let networks: Vec<String> = guard
        .allowed_networks()
        .iter()
        .map(ToString::to_string)
        .collect();
    if networks.is_empty() {
        "none".to_owned()
    } else {
        networks.join(", ")
    }
}
