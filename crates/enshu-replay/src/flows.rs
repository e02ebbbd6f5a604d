//! Splitting a replay between sender threads without reordering a
//! conversation.
//!
//! One sender thread is bounded by one core's kernel transmit path (on a
//! veth pair the receiving namespace's stack runs on the sending CPU too),
//! so `--threads N` gives each of N threads its own socket and a share of
//! the frames. Frames from different threads interleave arbitrarily on the
//! wire; what must not change is the order inside one conversation (a SYN
//! overtaken by its own SYN-ACK is a different capture). Frames are
//! therefore grouped into *flows* and a whole flow goes to one thread:
//!
//! - TCP, UDP, SCTP and UDP-Lite: protocol plus the unordered pair of
//!   (address, port) endpoints, so both directions are one flow;
//! - if any frame between an address pair with a given protocol is an IPv4
//!   fragment (which carries no ports after the first), every frame of that
//!   address pair and protocol is one flow, so fragments keep their order
//!   relative to the unfragmented datagrams of the same conversation;
//! - other IPv4 protocols: protocol plus the unordered address pair;
//! - ARP: the unordered pair of sender and target addresses;
//! - anything else (the guard refuses it anyway): one flow.
//!
//! Order *between* flows (a DNS answer before the connection it named, an
//! ICMP error after the datagram that caused it) is not kept with more than
//! one thread. Flows are handed out largest first to the least loaded
//! thread, which balances a capture dominated by a few flows better than a
//! hash modulo the thread count. Everything here is pure.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const VLAN_ETHERTYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const PROTOCOLS_WITH_PORTS: [u8; 4] = [6, 17, 132, 136];

/// The flow a frame belongs to; equal keys must go to the same thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowKey {
    /// Protocol and the two (address, port) endpoints, lower first.
    Ports {
        protocol: u8,
        lower: (Ipv4Addr, u16),
        upper: (Ipv4Addr, u16),
    },
    /// Protocol and the two addresses, lower first (also ARP, as protocol 0
    /// with `arp` set).
    Addresses {
        protocol: u8,
        arp: bool,
        lower: Ipv4Addr,
        upper: Ipv4Addr,
    },
    /// Not IPv4 or ARP.
    Other,
}

/// What one frame's headers say, before the fragment rule is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeaders {
    protocol: u8,
    arp: bool,
    lower: Ipv4Addr,
    upper: Ipv4Addr,
    /// Ports in the same order as the addresses, when present and the
    /// frame is not a fragment.
    ports: Option<(u16, u16)>,
    fragment: bool,
}

impl FrameHeaders {
    fn address_key(&self) -> FlowKey {
        FlowKey::Addresses {
            protocol: self.protocol,
            arp: self.arp,
            lower: self.lower,
            upper: self.upper,
        }
    }
}

fn read_u16(frame: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_be_bytes([
        *frame.get(offset)?,
        *frame.get(offset + 1)?,
    ]))
}

fn read_address(frame: &[u8], offset: usize) -> Option<Ipv4Addr> {
    let bytes: [u8; 4] = frame.get(offset..offset + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(bytes))
}

fn frame_headers(frame: &[u8]) -> Option<FrameHeaders> {
    let mut offset = 12;
    let mut ethertype = read_u16(frame, offset)?;
    // At most two VLAN tags (QinQ), like the guard.
    for _ in 0..2 {
        if !VLAN_ETHERTYPES.contains(&ethertype) {
            break;
        }
        offset += 4;
        ethertype = read_u16(frame, offset)?;
    }
    let network = offset + 2;
    match ethertype {
        ETHERTYPE_IPV4 => {
            let header_length = usize::from(*frame.get(network)? & 0x0f) * 4;
            let fragment_field = read_u16(frame, network + 6)?;
            let more_fragments = fragment_field & 0x2000 != 0;
            let fragment = more_fragments || fragment_field & 0x1fff != 0;
            let protocol = *frame.get(network + 9)?;
            let source = read_address(frame, network + 12)?;
            let destination = read_address(frame, network + 16)?;
            let transport = network + header_length;
            let ports = if PROTOCOLS_WITH_PORTS.contains(&protocol) && !fragment {
                read_u16(frame, transport).zip(read_u16(frame, transport + 2))
            } else {
                None
            };
            let swapped = (destination, ports.map_or(0, |(_, port)| port))
                < (source, ports.map_or(0, |(port, _)| port));
            Some(FrameHeaders {
                protocol,
                arp: false,
                lower: if swapped { destination } else { source },
                upper: if swapped { source } else { destination },
                ports: ports.map(|(source_port, destination_port)| {
                    if swapped {
                        (destination_port, source_port)
                    } else {
                        (source_port, destination_port)
                    }
                }),
                fragment,
            })
        }
        ETHERTYPE_ARP => {
            let sender = read_address(frame, network + 14)?;
            let target = read_address(frame, network + 24)?;
            Some(FrameHeaders {
                protocol: 0,
                arp: true,
                lower: sender.min(target),
                upper: sender.max(target),
                ports: None,
                fragment: false,
            })
        }
        _ => None,
    }
}

/// The flow key of every frame, with the fragment rule applied across the
/// whole set (see the module docs).
pub fn flow_keys<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Vec<FlowKey> {
    let headers: Vec<Option<FrameHeaders>> = frames.into_iter().map(frame_headers).collect();
    let fragmented_pairs: HashSet<FlowKey> = headers
        .iter()
        .flatten()
        .filter(|headers| headers.fragment)
        .map(FrameHeaders::address_key)
        .collect();
    headers
        .iter()
        .map(|headers| match headers {
            None => FlowKey::Other,
            Some(headers) => {
                let address_key = headers.address_key();
                match headers.ports {
                    Some((lower_port, upper_port)) if !fragmented_pairs.contains(&address_key) => {
                        FlowKey::Ports {
                            protocol: headers.protocol,
                            lower: (headers.lower, lower_port),
                            upper: (headers.upper, upper_port),
                        }
                    }
                    _ => address_key,
                }
            }
        })
        .collect()
}

/// Assigns every frame a part in `0..parts` so that equal flow keys share
/// a part and the parts' frame counts are balanced: flows largest first
/// (ties by first appearance) each to the part with the fewest frames so
/// far (ties to the lowest part). Deterministic.
pub fn assign_parts(keys: &[FlowKey], parts: usize) -> Vec<usize> {
    let parts = parts.max(1);
    let mut flows: HashMap<FlowKey, (usize, usize)> = HashMap::new();
    for (index, key) in keys.iter().enumerate() {
        flows.entry(*key).or_insert((0, index)).0 += 1;
    }
    let mut ordered: Vec<(FlowKey, usize, usize)> = flows
        .into_iter()
        .map(|(key, (count, first))| (key, count, first))
        .collect();
    ordered.sort_by(|left, right| right.1.cmp(&left.1).then(left.2.cmp(&right.2)));
    let mut load = vec![0usize; parts];
    let mut part_of_flow: HashMap<FlowKey, usize> = HashMap::with_capacity(ordered.len());
    for (key, count, _) in ordered {
        let (part, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(part, frames)| (**frames, *part))
            .expect("at least one part");
        load[part] += count;
        part_of_flow.insert(key, part);
    }
    keys.iter().map(|key| part_of_flow[key]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp_frame(
        source: [u8; 4],
        destination: [u8; 4],
        ports: (u16, u16),
        fragment: u16,
    ) -> Vec<u8> {
        let mut frame = vec![0u8; 60];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        frame[14] = 0x45;
        frame[20..22].copy_from_slice(&fragment.to_be_bytes());
        frame[23] = 17;
        frame[26..30].copy_from_slice(&source);
        frame[30..34].copy_from_slice(&destination);
        frame[34..36].copy_from_slice(&ports.0.to_be_bytes());
        frame[36..38].copy_from_slice(&ports.1.to_be_bytes());
        frame
    }

    #[test]
    fn both_directions_are_one_flow_and_ports_separate_flows() {
        let forward = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], (1000, 53), 0);
        let reverse = udp_frame([10, 0, 0, 2], [10, 0, 0, 1], (53, 1000), 0);
        let other_port = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], (1001, 53), 0);
        let keys = flow_keys([&forward[..], &reverse[..], &other_port[..]]);
        assert_eq!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
    }

    #[test]
    fn a_fragment_folds_its_address_pair_into_one_flow() {
        let first = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], (1000, 53), 0x2000);
        let rest = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], (0, 0), 0x0010);
        let whole = udp_frame([10, 0, 0, 2], [10, 0, 0, 1], (53, 1001), 0);
        let elsewhere = udp_frame([10, 0, 0, 3], [10, 0, 0, 2], (1000, 53), 0);
        let keys = flow_keys([&first[..], &rest[..], &whole[..], &elsewhere[..]]);
        assert_eq!(keys[0], keys[1]);
        assert_eq!(keys[0], keys[2]);
        assert!(matches!(keys[3], FlowKey::Ports { .. }));
    }

    #[test]
    fn arp_and_other_frames_have_keys() {
        let mut arp = [0u8; 42];
        arp[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        arp[28..32].copy_from_slice(&[10, 0, 0, 2]);
        arp[38..42].copy_from_slice(&[10, 0, 0, 1]);
        let mut other = [0u8; 60];
        other[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        let keys = flow_keys([&arp[..], &other[..], &[0u8; 4][..]]);
        assert_eq!(
            keys[0],
            FlowKey::Addresses {
                protocol: 0,
                arp: true,
                lower: Ipv4Addr::new(10, 0, 0, 1),
                upper: Ipv4Addr::new(10, 0, 0, 2),
            }
        );
        assert_eq!(keys[1], FlowKey::Other);
        assert_eq!(keys[2], FlowKey::Other);
    }

    #[test]
    fn parts_keep_flows_together_and_balance_largest_first() {
        let a = FlowKey::Other;
        let b = FlowKey::Addresses {
            protocol: 1,
            arp: false,
            lower: Ipv4Addr::new(10, 0, 0, 1),
            upper: Ipv4Addr::new(10, 0, 0, 2),
        };
        let c = FlowKey::Addresses {
            protocol: 1,
            arp: false,
            lower: Ipv4Addr::new(10, 0, 0, 1),
            upper: Ipv4Addr::new(10, 0, 0, 3),
        };
        // a: 4 frames, b: 2, c: 2 -> a alone, b and c together.
        let keys = [a, b, a, c, a, b, c, a];
        let parts = assign_parts(&keys, 2);
        assert_eq!(parts, vec![0, 1, 0, 1, 0, 1, 1, 0]);
        assert_eq!(assign_parts(&keys, 1), vec![0; 8]);
    }
}
