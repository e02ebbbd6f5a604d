//! The properties Enshu's fuzz targets check (`fuzz/`), as ordinary code so
//! that the crate's own tests run them over the seed corpus and the saved
//! regressions with no fuzzer (`tests/fuzz_cases.rs`).
//!
//! Each function takes the fuzzer's bytes and panics only when a property
//! is broken; a capture that cannot be read or a frame that is refused is
//! a pass.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::capture::CaptureReader;
use crate::egress::EgressGuard;
use crate::network::{Ipv4Network, MacAddress};
use crate::rewrite::{
    ChecksumMode, Ipv6Policy, MacRewrite, RewriteMap, RewriteOptions, RewriteOutcome, Rewriter,
    VlanPolicy,
};

/// The team's networks in these cases: its block and one outside segment.
pub fn team_networks() -> Vec<Ipv4Network> {
    vec![
        Ipv4Network::new(Ipv4Addr::new(10, 101, 0, 0), 16).expect("a network"),
        Ipv4Network::new(Ipv4Addr::new(198, 51, 100, 0), 24).expect("a network"),
    ]
}

/// A team's rewrite map as the injector builds one: the capture's private
/// ranges onto the team's, a few single addresses, a port and MACs. Some
/// addresses stay unmapped, so the guard has something to refuse.
pub fn team_rewrite_map() -> RewriteMap {
    let mut map = RewriteMap::new();
    let network = |text: &str| text.parse::<Ipv4Network>().expect("a network");
    map.map_subnet(network("192.168.0.0/16"), network("10.101.0.0/16"))
        .expect("a mapping");
    map.map_subnet(network("172.16.0.0/24"), network("198.51.100.0/24"))
        .expect("a mapping");
    // A more specific mapping that leads outside: the guard must catch it.
    map.map_subnet(network("192.168.66.0/24"), network("203.0.113.0/24"))
        .expect("a mapping");
    map.map_address(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 101, 1, 1));
    map.map_address(Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(198, 51, 100, 53));
    map.map_port(80, 8080);
    map
}

/// The option sets each capture is rewritten under.
fn rewrite_options() -> [(RewriteOptions, MacRewrite); 3] {
    let mac = |last: u8| MacAddress([0x02, 0, 0, 0, 0, last]);
    [
        (RewriteOptions::default(), MacRewrite::Keep),
        (
            RewriteOptions {
                vlan: VlanPolicy::StripAll,
                ipv6: Ipv6Policy::Drop,
                checksum: ChecksumMode::RecomputeWhenComplete,
            },
            MacRewrite::Set {
                source: Some(mac(1)),
                destination: Some(mac(2)),
            },
        ),
        (
            RewriteOptions {
                vlan: VlanPolicy::MapIds(BTreeMap::from([(10, 20), (0, 4095)])),
                ipv6: Ipv6Policy::PassThrough,
                checksum: ChecksumMode::Incremental,
            },
            MacRewrite::Map(BTreeMap::from([(mac(3), mac(4))])),
        ),
    ]
}

/// Capture bytes through the reader, the per-team rewrite and the egress
/// guard, under each of three option sets:
/// - nothing panics (reading, rewriting, checking, the statistics);
/// - every frame the guard accepts, walked again here without the guard's
///   code, is IPv4 or IPv4 ARP over Ethernet whose addresses all lie
///   inside the team's networks.
pub fn pcap_rewrite_guard(data: &[u8]) {
    let networks = team_networks();
    let guard = EgressGuard::new(networks.clone());
    for (options, mac_rewrite) in rewrite_options() {
        let Ok(reader) = CaptureReader::new(data) else {
            return;
        };
        let _ = reader.interfaces().len();
        let mut map = team_rewrite_map();
        map.set_mac_rewrite(mac_rewrite);
        let mut rewriter = Rewriter::new(map, options);
        let mut failed = 0u64;
        for (packet_index, packet) in reader.enumerate() {
            let Ok(mut packet) = packet else {
                break;
            };
            // The frame as captured must not get past the guard either
            // unless it is inside.
            if guard.check(&packet.data).is_ok() {
                assert_frame_inside(&packet.data, &networks);
            }
            let length_before = packet.data.len();
            match rewriter.rewrite_packet(packet_index, &mut packet) {
                Ok(RewriteOutcome::Dropped) => continue,
                Err(_) => {
                    failed += 1;
                    continue;
                }
                Ok(_) => {}
            }
            assert!(
                packet.data.len() <= length_before,
                "packet {packet_index} grew from {length_before} to {} bytes",
                packet.data.len()
            );
            if guard.check(&packet.data).is_ok() {
                assert_frame_inside(&packet.data, &networks);
            }
        }
        let statistics = rewriter.statistics();
        assert_eq!(
            statistics.packets_seen,
            statistics.packets_rewritten
                + statistics.packets_unchanged
                + statistics.packets_dropped
                + failed,
            "the statistics lose packets: {statistics:?}"
        );
    }
}

/// Panics unless `frame` is an Ethernet frame (any number of 802.1Q/802.1ad
/// tags) carrying IPv4 or IPv4 ARP whose addresses lie inside `networks`.
pub fn assert_frame_inside(frame: &[u8], networks: &[Ipv4Network]) {
    let addresses = frame_addresses(frame).unwrap_or_else(|| {
        panic!(
            "an accepted frame is not IPv4 or IPv4 ARP over Ethernet: {:02x?}",
            &frame[..frame.len().min(64)]
        )
    });
    for address in addresses {
        let inside = networks.iter().any(|network| {
            let mask = if network.prefix_length() == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(network.prefix_length()))
            };
            u32::from(address) & mask == u32::from(network.network_address()) & mask
        });
        assert!(
            inside,
            "an accepted frame carries {address}, outside {networks:?}"
        );
    }
}

/// The IPv4 addresses at the network layer of an Ethernet frame, by a walk
/// of its headers that shares no code with the guard or the rewriter:
/// `None` if it is not IPv4 (version 4, 20 bytes of header) or ARP for
/// IPv4 over Ethernet.
pub fn frame_addresses(frame: &[u8]) -> Option<Vec<Ipv4Addr>> {
    let be16 = |offset: usize| -> Option<u16> {
        Some(u16::from_be_bytes([
            *frame.get(offset)?,
            *frame.get(offset + 1)?,
        ]))
    };
    let address = |offset: usize| -> Option<Ipv4Addr> {
        let bytes: [u8; 4] = frame.get(offset..offset + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(bytes))
    };
    let mut offset = 12;
    let mut ethertype = be16(offset)?;
    offset += 2;
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        ethertype = be16(offset + 2)?;
        offset += 4;
    }
    match ethertype {
        0x0800 => {
            frame.get(offset..offset + 20)?;
            if frame[offset] >> 4 != 4 {
                return None;
            }
            Some(vec![address(offset + 12)?, address(offset + 16)?])
        }
        0x0806 => {
            let hardware_length = *frame.get(offset + 4)?;
            let protocol_length = *frame.get(offset + 5)?;
            if be16(offset + 2)? != 0x0800 || hardware_length != 6 || protocol_length != 4 {
                return None;
            }
            Some(vec![address(offset + 14)?, address(offset + 24)?])
        }
        _ => None,
    }
}
