//! What a capture contains, for the scenario validator.
//!
//! The validator must know, before anything runs, that a scenario's capture
//! is readable and which addresses its rewrite map has to cover; this
//! module answers both with one pass over the file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use pnet_packet::arp::ArpPacket;
use pnet_packet::ipv4::Ipv4Packet;

use crate::capture::{
    CaptureError, CaptureFormat, CaptureReader, Interface, LinkType, read_capture_file,
};
use crate::frame::{NetworkKind, locate_network_layer};

/// Facts about one capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub format: CaptureFormat,
    pub packet_count: u64,
    pub interfaces: Vec<Interface>,
    pub link_types: BTreeSet<LinkType>,
    /// Nanoseconds since the Unix epoch; `None` for an empty capture.
    pub first_timestamp_ns: Option<u64>,
    pub last_timestamp_ns: Option<u64>,
    /// Every IPv4 address in an IPv4 header (source, destination) or an
    /// IPv4 ARP packet (sender, target), with how many header fields held it.
    pub ipv4_addresses: BTreeMap<Ipv4Addr, u64>,
    pub ipv6_packet_count: u64,
    /// Frames that are neither IPv4, IPv6 nor ARP, or that could not be
    /// parsed down to their network header.
    pub other_packet_count: u64,
}

/// Reads and summarises a capture file.
pub fn capture_summary(path: &Path) -> Result<Summary, CaptureError> {
    let bytes = read_capture_file(path)?;
    capture_summary_from_bytes(&bytes)
}

/// Summarises a capture already in memory.
pub fn capture_summary_from_bytes(bytes: &[u8]) -> Result<Summary, CaptureError> {
    let mut reader = CaptureReader::new(bytes)?;
    let mut summary = Summary {
        format: reader.format(),
        packet_count: 0,
        interfaces: Vec::new(),
        link_types: BTreeSet::new(),
        first_timestamp_ns: None,
        last_timestamp_ns: None,
        ipv4_addresses: BTreeMap::new(),
        ipv6_packet_count: 0,
        other_packet_count: 0,
    };
    for packet in &mut reader {
        let packet = packet?;
        summary.packet_count += 1;
        summary.link_types.insert(packet.link_type);
        summary
            .first_timestamp_ns
            .get_or_insert(packet.timestamp_ns);
        summary.last_timestamp_ns = Some(packet.timestamp_ns);
        let mut counted_addresses = false;
        if let Ok(layout) = locate_network_layer(packet.link_type, &packet.data) {
            let network = &packet.data[layout.network_offset..];
            match layout.network_kind {
                NetworkKind::Ipv4 => {
                    if let Some(header) = Ipv4Packet::new(network) {
                        for address in [header.get_source(), header.get_destination()] {
                            *summary.ipv4_addresses.entry(address).or_default() += 1;
                        }
                        counted_addresses = true;
                    }
                }
                NetworkKind::Ipv6 => {
                    summary.ipv6_packet_count += 1;
                    counted_addresses = true;
                }
                NetworkKind::Arp => {
                    if let Some(arp) =
                        ArpPacket::new(network).filter(|arp| arp.get_proto_addr_len() == 4)
                    {
                        for address in [arp.get_sender_proto_addr(), arp.get_target_proto_addr()] {
                            *summary.ipv4_addresses.entry(address).or_default() += 1;
                        }
                        counted_addresses = true;
                    }
                }
                NetworkKind::Other { .. } => {}
            }
        }
        if !counted_addresses {
            summary.other_packet_count += 1;
        }
    }
    summary.interfaces = reader.interfaces().to_vec();
    Ok(summary)
}
