//! Rewriting captured packets into one team's address plan.
//!
//! A scenario replays the same capture against every team, each in its own
//! ranges, so addresses (and optionally MACs, ports and VLAN IDs) are mapped
//! per team before sending. The rewriter edits frames in place and repairs
//! checksums incrementally (RFC 1624): that is right for IP fragments, whose
//! transport checksum covers bytes in other packets, and it leaves a
//! checksum that was deliberately wrong in the capture wrong by the same
//! amount. It counts every address it met but had no mapping for, so a
//! scenario author learns what the capture really contains.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_base::MacAddr;
use pnet_packet::Packet as _;
use pnet_packet::arp::{ArpHardwareTypes, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::MutableIpv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::MutableTcpPacket;
use pnet_packet::udp::MutableUdpPacket;

use crate::capture::{LinkType, Packet};
use crate::checksum::{adjust_checksum, finish_checksum, internet_checksum, ones_complement_sum};
use crate::frame::{FrameError, NetworkKind, locate_network_layer};
use crate::network::{Ipv4Network, MacAddress};

/// Maps a whole subnet onto another of the same size, keeping host bits:
/// `192.168.1.0/24 → 10.101.30.0/24` sends `192.168.1.7` to `10.101.30.7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetMapping {
    pub from: Ipv4Network,
    pub to: Ipv4Network,
}

/// How Ethernet MAC addresses are rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MacRewrite {
    #[default]
    Keep,
    /// Overwrite the Ethernet source and/or destination of every frame.
    Set {
        source: Option<MacAddress>,
        destination: Option<MacAddress>,
    },
    /// Replace listed MACs wherever they appear in the Ethernet header and
    /// in ARP sender/target hardware addresses.
    Map(BTreeMap<MacAddress, MacAddress>),
}

/// Why a [`RewriteMap`] entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteMapError {
    #[error(
        "subnet mapping {from} -> {to} changes the prefix length; host bits can only be kept between equal-sized networks"
    )]
    PrefixLengthMismatch { from: Ipv4Network, to: Ipv4Network },
    #[error("subnet {from} is mapped twice (to {first} and to {second})")]
    DuplicateSubnet {
        from: Ipv4Network,
        first: Ipv4Network,
        second: Ipv4Network,
    },
}

/// What to replace: IPv4 addresses (exact first, then the longest matching
/// subnet), MACs and TCP/UDP ports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RewriteMap {
    exact_ipv4: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// Kept sorted longest prefix first so the most specific mapping wins.
    subnet_ipv4: Vec<SubnetMapping>,
    mac: MacRewrite,
    ports: BTreeMap<u16, u16>,
}

impl RewriteMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps one address; an exact mapping wins over any subnet mapping.
    pub fn map_address(&mut self, from: Ipv4Addr, to: Ipv4Addr) -> &mut Self {
        self.exact_ipv4.insert(from, to);
        self
    }

    pub fn map_subnet(
        &mut self,
        from: Ipv4Network,
        to: Ipv4Network,
    ) -> Result<&mut Self, RewriteMapError> {
        if from.prefix_length() != to.prefix_length() {
            return Err(RewriteMapError::PrefixLengthMismatch { from, to });
        }
        if let Some(existing) = self.subnet_ipv4.iter().find(|mapping| mapping.from == from) {
            return Err(RewriteMapError::DuplicateSubnet {
                from,
                first: existing.to,
                second: to,
            });
        }
        self.subnet_ipv4.push(SubnetMapping { from, to });
        self.subnet_ipv4
            .sort_by_key(|mapping| std::cmp::Reverse(mapping.from.prefix_length()));
        Ok(self)
    }

    pub fn set_mac_rewrite(&mut self, mac_rewrite: MacRewrite) -> &mut Self {
        self.mac = mac_rewrite;
        self
    }

    /// Maps a TCP/UDP port, in both source and destination fields.
    pub fn map_port(&mut self, from: u16, to: u16) -> &mut Self {
        self.ports.insert(from, to);
        self
    }

    /// Where `address` goes, or `None` if nothing maps it.
    pub fn translate_ipv4(&self, address: Ipv4Addr) -> Option<Ipv4Addr> {
        if let Some(&mapped) = self.exact_ipv4.get(&address) {
            return Some(mapped);
        }
        let mapping = self
            .subnet_ipv4
            .iter()
            .find(|mapping| mapping.from.contains(address))?;
        let host_bits = u32::from(address) & !mapping.from.mask();
        Some(Ipv4Addr::from(
            u32::from(mapping.to.network_address()) | host_bits,
        ))
    }

    pub fn translate_port(&self, port: u16) -> u16 {
        self.ports.get(&port).copied().unwrap_or(port)
    }

    fn translate_mac(&self, mac: MacAddress) -> Option<MacAddress> {
        match &self.mac {
            MacRewrite::Map(table) => table.get(&mac).copied(),
            _ => None,
        }
    }
}

/// What to do with 802.1Q/802.1ad tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VlanPolicy {
    #[default]
    PassThrough,
    /// Remove every tag, leaving an untagged frame.
    StripAll,
    /// Replace listed VLAN IDs in every tag of the stack (priority and DEI
    /// bits are kept).
    MapIds(BTreeMap<u16, u16>),
}

/// What to do with IPv6 packets, which the IPv4 map cannot translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ipv6Policy {
    /// Fail with [`RewriteError::Ipv6Refused`] naming the packet: the safe
    /// default, since an untranslated address would leak outside the plan.
    #[default]
    Refuse,
    /// Leave the packet untouched (its addresses are reported as unmapped).
    PassThrough,
    /// Leave the packet out of the output.
    Drop,
}

/// How checksums are repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Adjust each checksum by the words that changed (RFC 1624); a checksum
    /// that was wrong in the capture stays wrong by the same amount.
    #[default]
    Incremental,
    /// Recompute the IPv4 header checksum whenever the header is captured
    /// whole, and the TCP/UDP checksum whenever the whole unfragmented
    /// datagram is captured; fall back to the incremental update otherwise.
    RecomputeWhenComplete,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RewriteOptions {
    pub vlan: VlanPolicy,
    pub ipv6: Ipv6Policy,
    pub checksum: ChecksumMode,
}

/// What happened to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteOutcome {
    /// At least one byte changed.
    Rewritten,
    Unchanged,
    /// The packet must be left out of the output (see [`Ipv6Policy::Drop`]).
    Dropped,
}

/// Counts gathered over every packet a [`Rewriter`] saw.
///
/// Address counts are header-field occurrences: a packet from and to the
/// same unmapped address counts it twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RewriteStatistics {
    pub packets_seen: u64,
    pub packets_rewritten: u64,
    pub packets_unchanged: u64,
    pub packets_dropped: u64,
    pub ipv6_packets_passed_through: u64,
    /// Frames that are neither IPv4, IPv6 nor IPv4-over-Ethernet ARP.
    pub non_ip_frames: u64,
    /// TCP/UDP headers cut short by the snap length: ports and the
    /// transport checksum were left as captured.
    pub truncated_transport_headers: u64,
    pub unmapped_ipv4_addresses: BTreeMap<Ipv4Addr, u64>,
    pub unmapped_ipv6_addresses: BTreeMap<Ipv6Addr, u64>,
}

/// Why a packet could not be rewritten. Packet indexes count from 0 in
/// capture order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error(
        "packet {packet_index} is ipv6, which the rewrite map does not translate (set the ipv6 policy to pass-through or drop to allow it)"
    )]
    Ipv6Refused { packet_index: usize },
    #[error("packet {packet_index} has a malformed ipv4 header: {problem}")]
    MalformedIpv4 {
        packet_index: usize,
        problem: String,
    },
    #[error("packet {packet_index}: {source}")]
    Frame {
        packet_index: usize,
        source: FrameError,
    },
}

/// Applies a [`RewriteMap`] to packets one at a time and keeps statistics.
#[derive(Debug, Clone)]
pub struct Rewriter {
    map: RewriteMap,
    options: RewriteOptions,
    statistics: RewriteStatistics,
}

impl Rewriter {
    pub fn new(map: RewriteMap, options: RewriteOptions) -> Self {
        Self {
            map,
            options,
            statistics: RewriteStatistics::default(),
        }
    }

    pub fn statistics(&self) -> &RewriteStatistics {
        &self.statistics
    }

    pub fn into_statistics(self) -> RewriteStatistics {
        self.statistics
    }

    /// Rewrites a packet in place; its data becomes owned. `original_len`
    /// shrinks with the frame when VLAN tags are stripped.
    pub fn rewrite_packet(
        &mut self,
        packet_index: usize,
        packet: &mut Packet<'_>,
    ) -> Result<RewriteOutcome, RewriteError> {
        let mut data = std::mem::take(&mut packet.data).into_owned();
        let length_before = data.len();
        let result = self.rewrite_frame(packet_index, packet.link_type, &mut data);
        let removed = length_before - data.len();
        packet.original_len = packet.original_len.saturating_sub(removed as u32);
        packet.data = data.into();
        result
    }

    /// Rewrites one frame of the given link type in place.
    pub fn rewrite_frame(
        &mut self,
        packet_index: usize,
        link_type: LinkType,
        data: &mut Vec<u8>,
    ) -> Result<RewriteOutcome, RewriteError> {
        self.statistics.packets_seen += 1;
        let outcome = self.rewrite_frame_inner(packet_index, link_type, data)?;
        match outcome {
            RewriteOutcome::Rewritten => self.statistics.packets_rewritten += 1,
            RewriteOutcome::Unchanged => self.statistics.packets_unchanged += 1,
            RewriteOutcome::Dropped => self.statistics.packets_dropped += 1,
        }
        Ok(outcome)
    }

    fn rewrite_frame_inner(
        &mut self,
        packet_index: usize,
        link_type: LinkType,
        data: &mut Vec<u8>,
    ) -> Result<RewriteOutcome, RewriteError> {
        let layout =
            locate_network_layer(link_type, data).map_err(|source| RewriteError::Frame {
                packet_index,
                source,
            })?;
        let mut changed = false;
        if layout.is_ethernet {
            changed |= self.rewrite_ethernet_macs(data);
            if let VlanPolicy::MapIds(table) = &self.options.vlan {
                for &tag_offset in &layout.vlan_tag_offsets {
                    let control = u16::from_be_bytes([data[tag_offset + 2], data[tag_offset + 3]]);
                    if let Some(&new_id) = table.get(&(control & 0x0fff)) {
                        let new_control = (control & 0xf000) | (new_id & 0x0fff);
                        changed |= new_control != control;
                        data[tag_offset + 2..tag_offset + 4]
                            .copy_from_slice(&new_control.to_be_bytes());
                    }
                }
            }
        }
        let network = &mut data[layout.network_offset..];
        match layout.network_kind {
            NetworkKind::Ipv4 => changed |= self.rewrite_ipv4(packet_index, network)?,
            NetworkKind::Ipv6 => match self.options.ipv6 {
                Ipv6Policy::Refuse => return Err(RewriteError::Ipv6Refused { packet_index }),
                Ipv6Policy::Drop => return Ok(RewriteOutcome::Dropped),
                Ipv6Policy::PassThrough => {
                    self.statistics.ipv6_packets_passed_through += 1;
                    if let Some(header) = Ipv6Packet::new(network) {
                        for address in [header.get_source(), header.get_destination()] {
                            *self
                                .statistics
                                .unmapped_ipv6_addresses
                                .entry(address)
                                .or_default() += 1;
                        }
                    }
                }
            },
            NetworkKind::Arp => changed |= self.rewrite_arp(network),
            NetworkKind::Other { .. } => self.statistics.non_ip_frames += 1,
        }
        if self.options.vlan == VlanPolicy::StripAll && !layout.vlan_tag_offsets.is_empty() {
            // Tags are contiguous right after the MACs; the last tag's
            // inner ethertype moves into the Ethernet type field.
            let tags_length = 4 * layout.vlan_tag_offsets.len();
            data.drain(12..12 + tags_length);
            changed = true;
        }
        Ok(if changed {
            RewriteOutcome::Rewritten
        } else {
            RewriteOutcome::Unchanged
        })
    }

    fn rewrite_ethernet_macs(&self, data: &mut [u8]) -> bool {
        let Some(mut ethernet) = MutableEthernetPacket::new(data) else {
            return false;
        };
        let (old_source, old_destination) = (
            from_pnet_mac(ethernet.get_source()),
            from_pnet_mac(ethernet.get_destination()),
        );
        let (new_source, new_destination) = match &self.map.mac {
            MacRewrite::Keep => return false,
            MacRewrite::Set {
                source,
                destination,
            } => (
                source.unwrap_or(old_source),
                destination.unwrap_or(old_destination),
            ),
            MacRewrite::Map(_) => (
                self.map.translate_mac(old_source).unwrap_or(old_source),
                self.map
                    .translate_mac(old_destination)
                    .unwrap_or(old_destination),
            ),
        };
        ethernet.set_source(to_pnet_mac(new_source));
        ethernet.set_destination(to_pnet_mac(new_destination));
        (new_source, new_destination) != (old_source, old_destination)
    }

    /// Translates an address, recording it when nothing maps it.
    fn translate_and_record(&mut self, address: Ipv4Addr) -> Ipv4Addr {
        match self.map.translate_ipv4(address) {
            Some(mapped) => mapped,
            None => {
                *self
                    .statistics
                    .unmapped_ipv4_addresses
                    .entry(address)
                    .or_default() += 1;
                address
            }
        }
    }

    fn rewrite_ipv4(
        &mut self,
        packet_index: usize,
        network: &mut [u8],
    ) -> Result<bool, RewriteError> {
        let malformed = |problem: String| RewriteError::MalformedIpv4 {
            packet_index,
            problem,
        };
        let captured_length = network.len();
        let Some(mut header) = MutableIpv4Packet::new(network) else {
            return Err(malformed(format!(
                "only {captured_length} bytes captured, 20 needed"
            )));
        };
        if header.get_version() != 4 {
            return Err(malformed(format!(
                "version field is {} instead of 4",
                header.get_version()
            )));
        }
        let header_length = usize::from(header.get_header_length()) * 4;
        if header_length < 20 {
            return Err(malformed(format!(
                "header length {header_length} is below 20"
            )));
        }
        let (old_source, old_destination) = (header.get_source(), header.get_destination());
        let new_source = self.translate_and_record(old_source);
        let new_destination = self.translate_and_record(old_destination);
        let old_addresses = address_words(old_source, old_destination);
        let new_addresses = address_words(new_source, new_destination);
        let mut changed = old_addresses != new_addresses;
        header.set_source(new_source);
        header.set_destination(new_destination);

        let recompute = self.options.checksum == ChecksumMode::RecomputeWhenComplete;
        let old_header_checksum = header.get_checksum();
        let header_complete = header_length <= captured_length;
        let new_header_checksum = if recompute && header_complete {
            header.set_checksum(0);
            internet_checksum(&header.packet()[..header_length])
        } else {
            adjust_checksum(old_header_checksum, &old_addresses, &new_addresses)
        };
        header.set_checksum(new_header_checksum);
        changed |= new_header_checksum != old_header_checksum;

        let is_first_fragment = header.get_fragment_offset() == 0;
        let is_unfragmented = is_first_fragment && header.get_flags() & 0b001 == 0;
        let total_length = usize::from(header.get_total_length());
        let protocol = header.get_next_level_protocol();
        drop(header);
        if !is_first_fragment || header_length > captured_length {
            // Later fragments carry no transport header.
            return Ok(changed);
        }
        // Ethernet padding lies past the total length and is not transport data.
        let transport_end = if total_length >= header_length {
            total_length.min(captured_length)
        } else {
            captured_length
        };
        let datagram_complete =
            is_unfragmented && total_length >= header_length && total_length <= captured_length;
        let transport = &mut network[header_length..transport_end];
        let pseudo_header = PseudoHeader {
            old_addresses,
            new_addresses,
            protocol: protocol.0,
            transport_length: total_length.saturating_sub(header_length),
            recompute_checksum: recompute && datagram_complete,
        };
        changed |= match protocol {
            IpNextHeaderProtocols::Tcp => self.rewrite_tcp(transport, &pseudo_header),
            IpNextHeaderProtocols::Udp => self.rewrite_udp(transport, &pseudo_header),
            _ => false,
        };
        Ok(changed)
    }

    fn rewrite_tcp(&mut self, transport: &mut [u8], pseudo_header: &PseudoHeader) -> bool {
        let Some(mut tcp) = MutableTcpPacket::new(transport) else {
            self.statistics.truncated_transport_headers += 1;
            return false;
        };
        let old_ports = port_words(tcp.get_source(), tcp.get_destination());
        let (new_source_port, new_destination_port) = (
            self.map.translate_port(tcp.get_source()),
            self.map.translate_port(tcp.get_destination()),
        );
        tcp.set_source(new_source_port);
        tcp.set_destination(new_destination_port);
        let new_ports = port_words(new_source_port, new_destination_port);
        let old_checksum = tcp.get_checksum();
        drop(tcp);
        let new_checksum = if pseudo_header.recompute_checksum {
            transport[16..18].copy_from_slice(&[0, 0]);
            pseudo_header.full_checksum(transport)
        } else {
            adjust_checksum(
                old_checksum,
                &[pseudo_header.old_addresses.as_slice(), &old_ports].concat(),
                &[pseudo_header.new_addresses.as_slice(), &new_ports].concat(),
            )
        };
        transport[16..18].copy_from_slice(&new_checksum.to_be_bytes());
        old_ports != new_ports || old_checksum != new_checksum
    }

    fn rewrite_udp(&mut self, transport: &mut [u8], pseudo_header: &PseudoHeader) -> bool {
        let Some(mut udp) = MutableUdpPacket::new(transport) else {
            self.statistics.truncated_transport_headers += 1;
            return false;
        };
        let old_ports = port_words(udp.get_source(), udp.get_destination());
        let (new_source_port, new_destination_port) = (
            self.map.translate_port(udp.get_source()),
            self.map.translate_port(udp.get_destination()),
        );
        udp.set_source(new_source_port);
        udp.set_destination(new_destination_port);
        let new_ports = port_words(new_source_port, new_destination_port);
        let old_checksum = udp.get_checksum();
        if old_checksum == 0 {
            // Zero means the sender computed no checksum; keep it that way.
            return old_ports != new_ports;
        }
        let mut new_checksum = if pseudo_header.recompute_checksum {
            udp.set_checksum(0);
            drop(udp);
            pseudo_header.full_checksum(transport)
        } else {
            adjust_checksum(
                old_checksum,
                &[pseudo_header.old_addresses.as_slice(), &old_ports].concat(),
                &[pseudo_header.new_addresses.as_slice(), &new_ports].concat(),
            )
        };
        if new_checksum == 0 {
            // In UDP a computed zero is sent as all ones (RFC 768).
            new_checksum = 0xffff;
        }
        transport[6..8].copy_from_slice(&new_checksum.to_be_bytes());
        old_ports != new_ports || old_checksum != new_checksum
    }

    fn rewrite_arp(&mut self, network: &mut [u8]) -> bool {
        let Some(mut arp) = MutableArpPacket::new(network) else {
            self.statistics.non_ip_frames += 1;
            return false;
        };
        let is_ipv4_over_ethernet = arp.get_hardware_type() == ArpHardwareTypes::Ethernet
            && arp.get_protocol_type() == EtherTypes::Ipv4
            && arp.get_hw_addr_len() == 6
            && arp.get_proto_addr_len() == 4;
        if !is_ipv4_over_ethernet {
            self.statistics.non_ip_frames += 1;
            return false;
        }
        let (old_sender, old_target) = (arp.get_sender_proto_addr(), arp.get_target_proto_addr());
        let new_sender = self.translate_and_record(old_sender);
        let new_target = self.translate_and_record(old_target);
        arp.set_sender_proto_addr(new_sender);
        arp.set_target_proto_addr(new_target);
        let mut changed = (old_sender, old_target) != (new_sender, new_target);
        if let MacRewrite::Map(_) = &self.map.mac {
            let old_sender_mac = from_pnet_mac(arp.get_sender_hw_addr());
            let old_target_mac = from_pnet_mac(arp.get_target_hw_addr());
            if let Some(new_sender_mac) = self.map.translate_mac(old_sender_mac) {
                arp.set_sender_hw_addr(to_pnet_mac(new_sender_mac));
                changed |= new_sender_mac != old_sender_mac;
            }
            if let Some(new_target_mac) = self.map.translate_mac(old_target_mac) {
                arp.set_target_hw_addr(to_pnet_mac(new_target_mac));
                changed |= new_target_mac != old_target_mac;
            }
        }
        changed
    }
}

/// The parts of the TCP/UDP pseudo-header a rewrite can change.
struct PseudoHeader {
    old_addresses: [u8; 8],
    new_addresses: [u8; 8],
    protocol: u8,
    transport_length: usize,
    /// Whether the whole datagram is at hand to sum from scratch.
    recompute_checksum: bool,
}

impl PseudoHeader {
    /// Full checksum over the pseudo-header and a transport segment whose
    /// checksum field is zeroed.
    fn full_checksum(&self, transport: &[u8]) -> u16 {
        let mut pseudo = [0u8; 12];
        pseudo[..8].copy_from_slice(&self.new_addresses);
        pseudo[9] = self.protocol;
        pseudo[10..12].copy_from_slice(&(self.transport_length as u16).to_be_bytes());
        finish_checksum(ones_complement_sum(&pseudo) + ones_complement_sum(transport))
    }
}

fn address_words(source: Ipv4Addr, destination: Ipv4Addr) -> [u8; 8] {
    let mut words = [0u8; 8];
    words[..4].copy_from_slice(&source.octets());
    words[4..].copy_from_slice(&destination.octets());
    words
}

fn port_words(source: u16, destination: u16) -> [u8; 4] {
    let [a, b] = source.to_be_bytes();
    let [c, d] = destination.to_be_bytes();
    [a, b, c, d]
}

fn from_pnet_mac(mac: MacAddr) -> MacAddress {
    MacAddress(mac.octets())
}

fn to_pnet_mac(mac: MacAddress) -> MacAddr {
    let [a, b, c, d, e, f] = mac.0;
    MacAddr::new(a, b, c, d, e, f)
}

/// Rewrites a whole capture into owned packets, leaving out dropped ones,
/// and returns them with the statistics. Stops at the first error.
pub fn rewrite_packets<'a>(
    packets: impl IntoIterator<Item = Packet<'a>>,
    map: RewriteMap,
    options: RewriteOptions,
) -> Result<(Vec<Packet<'static>>, RewriteStatistics), RewriteError> {
    let mut rewriter = Rewriter::new(map, options);
    let mut output = Vec::new();
    for (packet_index, packet) in packets.into_iter().enumerate() {
        let mut packet = packet.into_owned();
        if rewriter.rewrite_packet(packet_index, &mut packet)? != RewriteOutcome::Dropped {
            output.push(packet);
        }
    }
    Ok((output, rewriter.into_statistics()))
}
