//! Rewriting hand-built frames: fragments, VLAN tags, IPv6 policies, ARP,
//! ports, MACs and the statistics a scenario author reads.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{
    addresses_in_frame, checksum_of, ethernet_header, ipv4_header, transport_segment,
    verify_checksums,
};
use enshu_pcap::{
    ChecksumMode, Ipv4Network, Ipv6Policy, LinkType, MacAddress, MacRewrite, Packet, RewriteError,
    RewriteMap, RewriteMapError, RewriteOptions, RewriteOutcome, Rewriter, VlanPolicy,
};

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 7);
const SERVER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);

fn team_map() -> RewriteMap {
    let mut map = RewriteMap::new();
    map.map_subnet(
        "192.168.1.0/24".parse().unwrap(),
        "10.101.30.0/24".parse().unwrap(),
    )
    .unwrap();
    map.map_address(SERVER, Ipv4Addr::new(10, 101, 99, 80));
    map
}

fn packet(data: Vec<u8>) -> Packet<'static> {
    Packet {
        timestamp_ns: 0,
        interface: 0,
        link_type: LinkType::ETHERNET,
        original_len: data.len() as u32,
        data: Cow::Owned(data),
    }
}

fn udp_frame(tags: &[(u16, u16)], payload: &[u8]) -> Vec<u8> {
    let segment = transport_segment(17, CLIENT, SERVER, 5353, 53, payload);
    let mut frame = ethernet_header(tags, 0x0800);
    frame.extend(ipv4_header(CLIENT, SERVER, 17, segment.len(), 0));
    frame.extend(segment);
    frame
}

#[test]
fn subnet_mapping_keeps_host_bits_and_exact_mappings_win() {
    let mut map = team_map();
    map.map_address(
        Ipv4Addr::new(192, 168, 1, 1),
        Ipv4Addr::new(10, 101, 30, 254),
    );
    map.map_subnet(
        "192.168.0.0/16".parse().unwrap(),
        "172.20.0.0/16".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(
        map.translate_ipv4(CLIENT),
        Some(Ipv4Addr::new(10, 101, 30, 7))
    );
    assert_eq!(
        map.translate_ipv4(Ipv4Addr::new(192, 168, 1, 1)),
        Some(Ipv4Addr::new(10, 101, 30, 254))
    );
    // The /24 is more specific than the /16, whatever the insertion order.
    assert_eq!(
        map.translate_ipv4(Ipv4Addr::new(192, 168, 2, 9)),
        Some(Ipv4Addr::new(172, 20, 2, 9))
    );
    assert_eq!(map.translate_ipv4(Ipv4Addr::new(8, 8, 8, 8)), None);

    let error = RewriteMap::new()
        .map_subnet(
            "192.168.1.0/24".parse().unwrap(),
            "10.0.0.0/16".parse().unwrap(),
        )
        .unwrap_err();
    assert!(matches!(
        error,
        RewriteMapError::PrefixLengthMismatch { .. }
    ));
    assert!(
        error
            .to_string()
            .starts_with("subnet mapping 192.168.1.0/24 -> 10.0.0.0/16 changes the prefix length")
    );
}

#[test]
fn fragmented_udp_datagram_stays_correct_after_reassembly() {
    // One UDP datagram of 8 + 100 bytes split at 56 bytes: only the first
    // fragment carries the UDP header and its checksum over all 108 bytes.
    let payload: Vec<u8> = (0..100u8).collect();
    let datagram = transport_segment(17, CLIENT, SERVER, 40000, 53, &payload);
    let (first_part, second_part) = datagram.split_at(56);
    let more_fragments = 0x2000;
    let mut first = ethernet_header(&[], 0x0800);
    first.extend(ipv4_header(
        CLIENT,
        SERVER,
        17,
        first_part.len(),
        more_fragments,
    ));
    first.extend(first_part);
    let mut second = ethernet_header(&[], 0x0800);
    second.extend(ipv4_header(CLIENT, SERVER, 17, second_part.len(), 56 / 8));
    second.extend(second_part);

    for checksum in [
        ChecksumMode::Incremental,
        ChecksumMode::RecomputeWhenComplete,
    ] {
        let mut map = team_map();
        map.map_port(53, 5300);
        let mut rewriter = Rewriter::new(
            map,
            RewriteOptions {
                checksum,
                ..RewriteOptions::default()
            },
        );
        let mut fragments = [packet(first.clone()), packet(second.clone())];
        for (index, fragment) in fragments.iter_mut().enumerate() {
            assert_eq!(
                rewriter.rewrite_packet(index, fragment).unwrap(),
                RewriteOutcome::Rewritten
            );
            assert_eq!(verify_checksums(&fragment.data).ipv4_header, Some(true));
            assert_eq!(
                addresses_in_frame(&fragment.data),
                vec![
                    Ipv4Addr::new(10, 101, 30, 7),
                    Ipv4Addr::new(10, 101, 99, 80)
                ]
            );
        }
        // Reassemble and check the UDP checksum over the pseudo-header with
        // the new addresses.
        let mut reassembled = fragments[0].data[34..].to_vec();
        reassembled.extend(&fragments[1].data[34..]);
        assert_eq!(u16::from_be_bytes([reassembled[2], reassembled[3]]), 5300);
        let mut pseudo = Vec::new();
        pseudo.extend(Ipv4Addr::new(10, 101, 30, 7).octets());
        pseudo.extend(Ipv4Addr::new(10, 101, 99, 80).octets());
        pseudo.extend([0, 17]);
        pseudo.extend((reassembled.len() as u16).to_be_bytes());
        pseudo.extend(&reassembled);
        assert_eq!(checksum_of(&pseudo), 0, "{checksum:?}");
    }
}

#[test]
fn vlan_tags_pass_through_by_default() {
    let frame = udp_frame(&[(0x8100, 0x600a)], b"query");
    let mut tagged = packet(frame.clone());
    let mut rewriter = Rewriter::new(team_map(), RewriteOptions::default());
    assert_eq!(
        rewriter.rewrite_packet(0, &mut tagged).unwrap(),
        RewriteOutcome::Rewritten
    );
    assert_eq!(&tagged.data[12..16], &[0x81, 0x00, 0x60, 0x0a]);
    assert_eq!(tagged.data.len(), frame.len());
    assert_eq!(
        addresses_in_frame(&tagged.data),
        vec![
            Ipv4Addr::new(10, 101, 30, 7),
            Ipv4Addr::new(10, 101, 99, 80)
        ]
    );
    assert_eq!(
        verify_checksums(&tagged.data),
        common::ChecksumVerdict {
            ipv4_header: Some(true),
            transport: Some(true)
        }
    );
}

#[test]
fn vlan_ids_can_be_rewritten_keeping_priority_bits() {
    let frame = udp_frame(&[(0x88a8, 0x2064), (0x8100, 0x600a)], b"query");
    let options = RewriteOptions {
        vlan: VlanPolicy::MapIds(BTreeMap::from([(10, 30), (100, 200)])),
        ..RewriteOptions::default()
    };
    let mut tagged = packet(frame);
    Rewriter::new(team_map(), options)
        .rewrite_packet(0, &mut tagged)
        .unwrap();
    assert_eq!(
        &tagged.data[12..20],
        &[0x88, 0xa8, 0x20, 0xc8, 0x81, 0x00, 0x60, 0x1e]
    );
    assert_eq!(verify_checksums(&tagged.data).transport, Some(true));
}

#[test]
fn vlan_tags_can_be_stripped() {
    let frame = udp_frame(&[(0x88a8, 0x0064), (0x8100, 0x000a)], b"query");
    let options = RewriteOptions {
        vlan: VlanPolicy::StripAll,
        ..RewriteOptions::default()
    };
    let mut tagged = packet(frame.clone());
    Rewriter::new(RewriteMap::new(), options)
        .rewrite_packet(0, &mut tagged)
        .unwrap();
    assert_eq!(tagged.data.len(), frame.len() - 8);
    assert_eq!(tagged.original_len as usize, frame.len() - 8);
    assert_eq!(&tagged.data[12..14], &[0x08, 0x00]);
    assert_eq!(tagged.data[14..], frame[22..]);
}

fn ipv6_frame() -> Vec<u8> {
    let mut frame = ethernet_header(&[], 0x86dd);
    frame.extend([0x60, 0, 0, 0, 0, 0, 59, 64]);
    frame.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain([0u8; 11].iter())
            .chain([1u8].iter()),
    );
    frame.extend(
        [0x20, 0x01, 0x0d, 0xb8]
            .iter()
            .chain([0u8; 11].iter())
            .chain([2u8].iter()),
    );
    frame
}

#[test]
fn ipv6_is_refused_dropped_or_passed_through_as_asked() {
    let mut refused = Rewriter::new(team_map(), RewriteOptions::default());
    let error = refused
        .rewrite_packet(41, &mut packet(ipv6_frame()))
        .unwrap_err();
    assert_eq!(error, RewriteError::Ipv6Refused { packet_index: 41 });
    assert!(
        error
            .to_string()
            .starts_with("packet 41 is ipv6, which the rewrite map does not translate")
    );

    let mut dropping = Rewriter::new(
        team_map(),
        RewriteOptions {
            ipv6: Ipv6Policy::Drop,
            ..RewriteOptions::default()
        },
    );
    assert_eq!(
        dropping
            .rewrite_packet(0, &mut packet(ipv6_frame()))
            .unwrap(),
        RewriteOutcome::Dropped
    );
    assert_eq!(dropping.statistics().packets_dropped, 1);

    let mut passing = Rewriter::new(
        team_map(),
        RewriteOptions {
            ipv6: Ipv6Policy::PassThrough,
            ..RewriteOptions::default()
        },
    );
    let mut passed = packet(ipv6_frame());
    assert_eq!(
        passing.rewrite_packet(0, &mut passed).unwrap(),
        RewriteOutcome::Unchanged
    );
    assert_eq!(passed.data, ipv6_frame());
    let statistics = passing.statistics();
    assert_eq!(statistics.ipv6_packets_passed_through, 1);
    assert_eq!(statistics.unmapped_ipv6_addresses.len(), 2);
}

#[test]
fn arp_protocol_and_hardware_addresses_follow_the_maps() {
    let old_mac = MacAddress([0x00, 0x25, 0xb3, 0xbf, 0x91, 0xee]);
    let new_mac: MacAddress = "02:00:00:1e:00:01".parse().unwrap();
    let mut frame = ethernet_header(&[], 0x0806);
    frame.extend([0, 1, 0x08, 0, 6, 4, 0, 2]);
    frame.extend(old_mac.0);
    frame.extend(CLIENT.octets());
    frame.extend([0xff; 6]);
    frame.extend(Ipv4Addr::new(192, 168, 1, 1).octets());
    let mut map = team_map();
    map.set_mac_rewrite(MacRewrite::Map(BTreeMap::from([(old_mac, new_mac)])));
    let mut arp = packet(frame);
    Rewriter::new(map, RewriteOptions::default())
        .rewrite_packet(0, &mut arp)
        .unwrap();
    assert_eq!(
        addresses_in_frame(&arp.data),
        vec![Ipv4Addr::new(10, 101, 30, 7), Ipv4Addr::new(10, 101, 30, 1)]
    );
    assert_eq!(&arp.data[22..28], &new_mac.0);
    assert_eq!(&arp.data[32..38], &[0xff; 6]);
}

#[test]
fn ports_and_ethernet_macs_are_rewritten_with_valid_tcp_checksums() {
    let segment = transport_segment(6, CLIENT, SERVER, 51000, 80, b"GET / HTTP/1.0\r\n\r\n");
    let mut frame = ethernet_header(&[], 0x0800);
    frame.extend(ipv4_header(CLIENT, SERVER, 6, segment.len(), 0));
    frame.extend(segment);
    let source: MacAddress = "02:00:00:00:00:aa".parse().unwrap();
    let mut map = team_map();
    map.map_port(80, 8080);
    map.set_mac_rewrite(MacRewrite::Set {
        source: Some(source),
        destination: None,
    });
    let mut tcp = packet(frame.clone());
    Rewriter::new(map, RewriteOptions::default())
        .rewrite_packet(0, &mut tcp)
        .unwrap();
    assert_eq!(&tcp.data[6..12], &source.0);
    assert_eq!(&tcp.data[0..6], &frame[0..6]);
    assert_eq!(u16::from_be_bytes([tcp.data[36], tcp.data[37]]), 8080);
    assert_eq!(
        verify_checksums(&tcp.data),
        common::ChecksumVerdict {
            ipv4_header: Some(true),
            transport: Some(true)
        }
    );
}

#[test]
fn statistics_list_unmapped_addresses_with_counts() {
    let mut map = RewriteMap::new();
    map.map_address(CLIENT, Ipv4Addr::new(10, 1, 1, 1));
    let mut rewriter = Rewriter::new(map, RewriteOptions::default());
    for index in 0..3 {
        rewriter
            .rewrite_packet(index, &mut packet(udp_frame(&[], b"x")))
            .unwrap();
    }
    let mut lldp = ethernet_header(&[], 0x88cc);
    lldp.extend([0; 46]);
    assert_eq!(
        rewriter.rewrite_packet(3, &mut packet(lldp)).unwrap(),
        RewriteOutcome::Unchanged
    );
    let statistics = rewriter.statistics();
    assert_eq!(statistics.packets_seen, 4);
    assert_eq!(statistics.packets_rewritten, 3);
    assert_eq!(statistics.non_ip_frames, 1);
    assert_eq!(
        statistics.unmapped_ipv4_addresses,
        BTreeMap::from([(SERVER, 3)])
    );
}

#[test]
fn malformed_ipv4_headers_are_errors_naming_the_packet() {
    let mut frame = udp_frame(&[], b"x");
    frame[14] = 0x43; // header length 12 bytes
    let error = Rewriter::new(team_map(), RewriteOptions::default())
        .rewrite_packet(7, &mut packet(frame))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "packet 7 has a malformed ipv4 header: header length 12 is below 20"
    );

    let short = ethernet_header(&[], 0x0800);
    let error = Rewriter::new(team_map(), RewriteOptions::default())
        .rewrite_packet(8, &mut packet(short))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "packet 8 has a malformed ipv4 header: only 0 bytes captured, 20 needed"
    );

    let _ = Ipv4Network::single_host(CLIENT);
}
