//! Synthetic captures for benchmarks and tests: minimal UDP frames built
//! with pnet and written with enshu-pcap's `PcapWriter`.

use std::net::Ipv4Addr;

use enshu_pcap::{LinkType, PcapWriter, TimestampPrecision};
use pnet_base::MacAddr;
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{self, MutableIpv4Packet};
use pnet_packet::udp::{self, MutableUdpPacket};

/// Length of a minimal frame without the FCS: 64 bytes on the wire.
pub const MINIMAL_FRAME_LENGTH: usize = 60;
const ETHERNET_HEADER: usize = 14;
const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;

/// One minimal UDP frame (60 bytes) carrying `sequence` in its payload,
/// with valid IPv4 and UDP checksums.
pub fn minimal_udp_frame(source: Ipv4Addr, destination: Ipv4Addr, sequence: u32) -> Vec<u8> {
    let mut frame = vec![0u8; MINIMAL_FRAME_LENGTH];
    let payload_length = MINIMAL_FRAME_LENGTH - ETHERNET_HEADER - IPV4_HEADER - UDP_HEADER;
    {
        let mut ethernet = MutableEthernetPacket::new(&mut frame).expect("60-byte buffer");
        ethernet.set_destination(MacAddr::new(0x02, 0, 0, 0, 0, 0x02));
        ethernet.set_source(MacAddr::new(0x02, 0, 0, 0, 0, 0x01));
        ethernet.set_ethertype(EtherTypes::Ipv4);
    }
    {
        let mut ip = MutableIpv4Packet::new(&mut frame[ETHERNET_HEADER..]).expect("ipv4 room");
        ip.set_version(4);
        ip.set_header_length(5);
        ip.set_total_length((IPV4_HEADER + UDP_HEADER + payload_length) as u16);
        ip.set_identification(sequence as u16);
        ip.set_ttl(64);
        ip.set_next_level_protocol(IpNextHeaderProtocols::Udp);
        ip.set_source(source);
        ip.set_destination(destination);
        let checksum = ipv4::checksum(&ip.to_immutable());
        ip.set_checksum(checksum);
    }
    {
        let mut datagram =
            MutableUdpPacket::new(&mut frame[ETHERNET_HEADER + IPV4_HEADER..]).expect("udp room");
        datagram.set_source(10_000 + (sequence % 1000) as u16);
        datagram.set_destination(9);
        datagram.set_length((UDP_HEADER + payload_length) as u16);
        let mut payload = [0u8; MINIMAL_FRAME_LENGTH - ETHERNET_HEADER - IPV4_HEADER - UDP_HEADER];
        payload[..4].copy_from_slice(&sequence.to_be_bytes());
        datagram.set_payload(&payload);
        let checksum = udp::ipv4_checksum(&datagram.to_immutable(), &source, &destination);
        datagram.set_checksum(checksum);
    }
    frame
}

/// A classic pcap of `frame_count` minimal UDP frames, `gap_ns` apart.
pub fn minimal_udp_capture(
    frame_count: u32,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    gap_ns: u64,
) -> Vec<u8> {
    let mut writer = PcapWriter::new(
        Vec::with_capacity(24 + frame_count as usize * (16 + MINIMAL_FRAME_LENGTH)),
        LinkType::ETHERNET,
        TimestampPrecision::Nanoseconds,
        65535,
    )
    .expect("writing to a vector cannot fail");
    let start_ns = 1_700_000_000_000_000_000u64;
    for sequence in 0..frame_count {
        let frame = minimal_udp_frame(source, destination, sequence);
        writer
            .write_packet(
                start_ns + u64::from(sequence) * gap_ns,
                &frame,
                frame.len() as u32,
            )
            .expect("writing to a vector cannot fail");
    }
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use enshu_pcap::{EgressGuard, read_all_packets};

    #[test]
    fn minimal_frames_read_back_and_pass_the_guard() {
        let source = Ipv4Addr::new(10, 250, 1, 1);
        let destination = Ipv4Addr::new(10, 250, 1, 2);
        let capture = minimal_udp_capture(3, source, destination, 1_000);
        let packets = read_all_packets(&capture).unwrap();
        assert_eq!(packets.len(), 3);
        assert!(packets.iter().all(|p| p.data.len() == MINIMAL_FRAME_LENGTH));
        assert_eq!(packets[2].timestamp_ns - packets[0].timestamp_ns, 2_000);
        let guard = EgressGuard::new(vec!["10.250.0.0/16".parse().unwrap()]);
        assert!(packets.iter().all(|p| guard.check(&p.data).is_ok()));
        // the ipv4 header checksum verifies: the one's complement sum is 0xffff
        let header = &packets[1].data[14..34];
        let mut sum: u32 = header
            .chunks(2)
            .map(|word| u32::from(u16::from_be_bytes([word[0], word[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }
}
