//! The real captures in `tests/fixtures/pcaps/` (see SOURCES.md there):
//! exact packet counts, summaries, and a full rewrite checked by the
//! independent parser and checksum verifier in `common`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use common::{FIXTURES, addresses_in_frame, fixture_bytes, fixture_path, verify_checksums};
use enshu_pcap::{
    ByteOrder, CaptureFormat, ChecksumMode, Ipv6Policy, LinkType, PcapWriter, RewriteMap,
    RewriteOptions, TimestampPrecision, capture_summary, detect_format, read_all_packets,
    rewrite_packets,
};

#[test]
fn every_fixture_has_the_packet_count_tcpdump_reports() {
    for (name, expected_count) in FIXTURES {
        let bytes = fixture_bytes(name);
        let packets = read_all_packets(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(packets.len(), expected_count, "{name}");
        assert!(
            packets
                .iter()
                .all(|packet| packet.link_type == LinkType::ETHERNET),
            "{name}"
        );
        assert!(
            packets
                .iter()
                .all(|packet| packet.data.len() <= packet.original_len as usize),
            "{name}"
        );
    }
}

#[test]
fn format_comes_from_the_magic_number_not_the_extension() {
    assert_eq!(
        detect_format(&fixture_bytes("dns.pcap")).unwrap(),
        CaptureFormat::Pcapng
    );
    assert_eq!(
        detect_format(&fixture_bytes("tcpreplay_test.pcap")).unwrap(),
        CaptureFormat::Pcap {
            byte_order: ByteOrder::LittleEndian,
            precision: TimestampPrecision::Microseconds
        }
    );
}

#[test]
fn summary_lists_addresses_and_times() {
    let summary = capture_summary(&fixture_path("arppoison.pcapng")).unwrap();
    assert_eq!(summary.packet_count, 165);
    assert_eq!(summary.link_types, BTreeSet::from([LinkType::ETHERNET]));
    assert!(
        summary
            .ipv4_addresses
            .contains_key(&Ipv4Addr::new(172, 16, 0, 107))
    );
    assert!(summary.first_timestamp_ns.unwrap() <= summary.last_timestamp_ns.unwrap());
    assert!(!summary.interfaces.is_empty());

    let tcpreplay = capture_summary(&fixture_path("tcpreplay_test.pcap")).unwrap();
    // tcpdump -e counts 10 IPv6 frames in this capture.
    assert_eq!(tcpreplay.ipv6_packet_count, 10);
    // 10.31.0.1 is only ever inside an MPLS label stack.
    assert!(
        tcpreplay
            .ipv4_addresses
            .contains_key(&Ipv4Addr::new(10, 31, 0, 1))
    );

    let missing = capture_summary(&fixture_path("no-such-file.pcap")).unwrap_err();
    assert!(
        missing.to_string().starts_with("reading capture file "),
        "{missing}"
    );
}

/// A map sending every address of the capture to a distinct address of
/// 198.18.0.0/15, which none of the fixtures uses.
fn map_covering(addresses: &BTreeSet<Ipv4Addr>) -> (RewriteMap, BTreeMap<Ipv4Addr, Ipv4Addr>) {
    let mut map = RewriteMap::new();
    let mut expected = BTreeMap::new();
    for (index, &address) in addresses.iter().enumerate() {
        let replacement =
            Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + index as u32 + 1);
        assert!(!addresses.contains(&replacement));
        map.map_address(address, replacement);
        expected.insert(address, replacement);
    }
    (map, expected)
}

#[test]
fn rewriting_every_fixture_leaves_no_original_address_and_keeps_checksums_valid() {
    for (name, expected_count) in FIXTURES {
        let bytes = fixture_bytes(name);
        let packets = read_all_packets(&bytes).unwrap();
        let original_addresses: BTreeSet<Ipv4Addr> = packets
            .iter()
            .flat_map(|packet| addresses_in_frame(&packet.data))
            .collect();
        assert!(!original_addresses.is_empty(), "{name}");
        let (map, expected) = map_covering(&original_addresses);

        for checksum in [
            ChecksumMode::Incremental,
            ChecksumMode::RecomputeWhenComplete,
        ] {
            let options = RewriteOptions {
                ipv6: Ipv6Policy::PassThrough,
                checksum,
                ..RewriteOptions::default()
            };
            let (rewritten, statistics) =
                rewrite_packets(packets.clone(), map.clone(), options).unwrap();
            assert_eq!(rewritten.len(), expected_count, "{name}");
            assert!(
                statistics.unmapped_ipv4_addresses.is_empty(),
                "{name}: {:?}",
                statistics.unmapped_ipv4_addresses
            );
            assert!(statistics.packets_rewritten > 0, "{name}");

            for (index, (before, after)) in packets.iter().zip(&rewritten).enumerate() {
                let old = addresses_in_frame(&before.data);
                let new = addresses_in_frame(&after.data);
                assert_eq!(
                    new,
                    old.iter()
                        .map(|address| expected[address])
                        .collect::<Vec<_>>(),
                    "{name} packet {index}"
                );
                assert!(
                    new.iter()
                        .all(|address| !original_addresses.contains(address)),
                    "{name} packet {index}"
                );

                let verdict_before = verify_checksums(&before.data);
                let verdict_after = verify_checksums(&after.data);
                match checksum {
                    // The incremental update keeps each checksum exactly as
                    // valid as it was in the capture.
                    ChecksumMode::Incremental => {
                        assert_eq!(verdict_after, verdict_before, "{name} packet {index}")
                    }
                    // Recomputation makes every checksum that can be judged valid.
                    ChecksumMode::RecomputeWhenComplete => {
                        assert_ne!(
                            verdict_after.ipv4_header,
                            Some(false),
                            "{name} packet {index}"
                        );
                        assert_ne!(
                            verdict_after.transport,
                            Some(false),
                            "{name} packet {index}"
                        );
                    }
                }
                if verdict_before.ipv4_header == Some(true) {
                    assert_eq!(
                        verdict_after.ipv4_header,
                        Some(true),
                        "{name} packet {index}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_fixtures_mostly_carry_valid_checksums_to_begin_with() {
    // Guards the test above against a verifier that judges nothing.
    let bytes = fixture_bytes("synscan.pcapng");
    let packets = read_all_packets(&bytes).unwrap();
    let judged_valid = packets
        .iter()
        .filter(|packet| verify_checksums(&packet.data).transport == Some(true))
        .count();
    assert!(
        judged_valid > 1000,
        "only {judged_valid} valid transport checksums"
    );
}

#[test]
fn rewritten_capture_round_trips_through_the_writer() {
    let bytes = fixture_bytes("dns.pcap");
    let packets = read_all_packets(&bytes).unwrap();
    let mut writer = PcapWriter::new(
        Vec::new(),
        LinkType::ETHERNET,
        TimestampPrecision::Nanoseconds,
        262_144,
    )
    .unwrap();
    for packet in &packets {
        writer
            .write_packet(packet.timestamp_ns, &packet.data, packet.original_len)
            .unwrap();
    }
    let written = writer.into_inner();
    let reread = read_all_packets(&written).unwrap();
    assert_eq!(reread.len(), 7);
    for (original, copy) in packets.iter().zip(&reread) {
        assert_eq!(original.timestamp_ns, copy.timestamp_ns);
        assert_eq!(original.data, copy.data);
        assert_eq!(original.original_len, copy.original_len);
    }
}
