//! Helpers shared by the integration tests: the fixture list and an
//! independent frame parser and checksum verifier, written apart from the
//! library so that a bug there cannot hide itself here.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Each capture in `tests/fixtures/pcaps/` with its packet count.
///
/// The counts are literal values established independently with tcpdump
/// 4.99.3 (libpcap), not with this crate: the number of lines of
/// `tcpdump -r FILE -nn` that start with a timestamp (some packets print
/// on several lines, so a plain `wc -l` overcounts).
pub const FIXTURES: [(&str, usize); 8] = [
    ("arppoison.pcapng", 165),
    ("cryptowall4_c2.pcapng", 162),
    ("dns.pcap", 7),
    ("dns_axfr.pcapng", 11),
    ("http_dvwa_sqlinjection.pcapng", 35),
    ("mail_sender_attachment.pcapng", 58),
    ("synscan.pcapng", 2011),
    ("tcpreplay_test.pcap", 179),
];

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pcaps")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name))
        .unwrap_or_else(|error| panic!("reading fixture {name}: {error}"))
}

/// Where the IPv4 header of an Ethernet frame starts, walking VLAN tags and
/// MPLS labels, or `None` if the frame carries something else.
pub fn ipv4_offset_in_ethernet(frame: &[u8]) -> Option<usize> {
    let mut offset = 12;
    loop {
        let ethertype = u16::from_be_bytes([*frame.get(offset)?, *frame.get(offset + 1)?]);
        offset += 2;
        match ethertype {
            0x8100 | 0x88a8 | 0x9100 => offset += 2,
            0x0800 => return Some(offset),
            0x8847 | 0x8848 => {
                loop {
                    let bottom = frame.get(offset + 2)? & 1 == 1;
                    offset += 4;
                    if bottom {
                        break;
                    }
                }
                return (frame.get(offset)? >> 4 == 4).then_some(offset);
            }
            _ => return None,
        }
    }
}

/// Where an IPv4 ARP packet starts in an Ethernet frame, if it is one.
pub fn arp_offset_in_ethernet(frame: &[u8]) -> Option<usize> {
    let mut offset = 12;
    loop {
        let ethertype = u16::from_be_bytes([*frame.get(offset)?, *frame.get(offset + 1)?]);
        offset += 2;
        match ethertype {
            0x8100 | 0x88a8 | 0x9100 => offset += 2,
            0x0806 => return (frame.len() >= offset + 28).then_some(offset),
            _ => return None,
        }
    }
}

/// IPv4 addresses found in the IP header or ARP packet of a frame.
pub fn addresses_in_frame(frame: &[u8]) -> Vec<Ipv4Addr> {
    let at = |offset: usize| {
        Ipv4Addr::new(
            frame[offset],
            frame[offset + 1],
            frame[offset + 2],
            frame[offset + 3],
        )
    };
    if let Some(offset) = ipv4_offset_in_ethernet(frame)
        && frame.len() >= offset + 20
    {
        return vec![at(offset + 12), at(offset + 16)];
    }
    if let Some(offset) = arp_offset_in_ethernet(frame) {
        return vec![at(offset + 14), at(offset + 24)];
    }
    Vec::new()
}

fn sum_words(data: &[u8]) -> u64 {
    let mut sum = 0u64;
    for (index, byte) in data.iter().enumerate() {
        sum += if index % 2 == 0 {
            u64::from(*byte) << 8
        } else {
            u64::from(*byte)
        };
    }
    sum
}

fn folds_to_all_ones(mut sum: u64) -> bool {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum == 0xffff
}

/// The verdict on one frame's checksums; `None` where a checksum cannot be
/// judged from the captured bytes (truncated, fragmented, not TCP/UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecksumVerdict {
    pub ipv4_header: Option<bool>,
    pub transport: Option<bool>,
}

/// Verifies the IPv4 header checksum and the TCP/UDP checksum of an
/// Ethernet frame from scratch.
pub fn verify_checksums(frame: &[u8]) -> ChecksumVerdict {
    let mut verdict = ChecksumVerdict {
        ipv4_header: None,
        transport: None,
    };
    let Some(offset) = ipv4_offset_in_ethernet(frame) else {
        return verdict;
    };
    let ip = &frame[offset..];
    if ip.len() < 20 {
        return verdict;
    }
    let header_length = usize::from(ip[0] & 0x0f) * 4;
    if header_length < 20 || ip.len() < header_length {
        return verdict;
    }
    verdict.ipv4_header = Some(folds_to_all_ones(sum_words(&ip[..header_length])));
    let total_length = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let more_fragments = ip[6] & 0x20 != 0;
    let fragment_offset = u16::from_be_bytes([ip[6] & 0x1f, ip[7]]);
    if more_fragments
        || fragment_offset != 0
        || total_length > ip.len()
        || total_length < header_length
    {
        return verdict;
    }
    let protocol = ip[9];
    let segment = &ip[header_length..total_length];
    let minimum = match protocol {
        6 => 20,
        17 => 8,
        _ => return verdict,
    };
    if segment.len() < minimum || (protocol == 17 && segment[6] == 0 && segment[7] == 0) {
        return verdict;
    }
    let pseudo = sum_words(&ip[12..20]) + u64::from(protocol) + segment.len() as u64;
    verdict.transport = Some(folds_to_all_ones(pseudo + sum_words(segment)));
    verdict
}

/// Internet checksum of `data`, computed here independently of the library.
pub fn checksum_of(data: &[u8]) -> u16 {
    let mut sum = sum_words(data);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header (20 bytes, valid checksum) for a payload of
/// `payload_length` bytes.
pub fn ipv4_header(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    protocol: u8,
    payload_length: usize,
    flags_and_offset: u16,
) -> Vec<u8> {
    let mut header = vec![0x45, 0];
    header.extend(((20 + payload_length) as u16).to_be_bytes());
    header.extend([0x12, 0x34]);
    header.extend(flags_and_offset.to_be_bytes());
    header.extend([64, protocol, 0, 0]);
    header.extend(source.octets());
    header.extend(destination.octets());
    let checksum = checksum_of(&header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    header
}

/// A TCP (6) or UDP (17) segment with a valid checksum for the addresses.
pub fn transport_segment(
    protocol: u8,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    source_port: u16,
    destination_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut segment = Vec::new();
    segment.extend(source_port.to_be_bytes());
    segment.extend(destination_port.to_be_bytes());
    let checksum_offset = if protocol == 6 {
        segment.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        16
    } else {
        segment.extend(((8 + payload.len()) as u16).to_be_bytes());
        segment.extend([0, 0]);
        6
    };
    segment.extend(payload);
    let mut pseudo = Vec::new();
    pseudo.extend(source.octets());
    pseudo.extend(destination.octets());
    pseudo.extend([0, protocol]);
    pseudo.extend((segment.len() as u16).to_be_bytes());
    pseudo.extend(&segment);
    let checksum = checksum_of(&pseudo);
    segment[checksum_offset..checksum_offset + 2].copy_from_slice(&checksum.to_be_bytes());
    segment
}

/// Destination and source MACs followed by the given ethertype and tags.
pub fn ethernet_header(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 0xd5, 0x02, 0, 0, 0, 0, 0x5c];
    for (tag_protocol, control) in tags {
        frame.extend(tag_protocol.to_be_bytes());
        frame.extend(control.to_be_bytes());
    }
    frame.extend(ethertype.to_be_bytes());
    frame
}
