//! The egress guard refuses every frame not provably inside the allowed
//! networks.

mod common;

use std::net::Ipv4Addr;

use common::{ethernet_header, ipv4_header, transport_segment};
use enshu_pcap::{EgressGuard, EgressRefusal};

const INSIDE_A: Ipv4Addr = Ipv4Addr::new(10, 101, 30, 7);
const INSIDE_B: Ipv4Addr = Ipv4Addr::new(10, 101, 99, 80);
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

fn guard() -> EgressGuard {
    EgressGuard::new(vec![
        "10.101.30.0/24".parse().unwrap(),
        "10.101.99.0/24".parse().unwrap(),
    ])
}

fn udp_frame(tags: &[(u16, u16)], source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    let segment = transport_segment(17, source, destination, 1000, 53, b"x");
    let mut frame = ethernet_header(tags, 0x0800);
    frame.extend(ipv4_header(source, destination, 17, segment.len(), 0));
    frame.extend(segment);
    frame
}

fn arp_frame(sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = ethernet_header(&[], 0x0806);
    frame.extend([0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend([2, 0, 0, 0, 0, 1]);
    frame.extend(sender.octets());
    frame.extend([0; 6]);
    frame.extend(target.octets());
    frame
}

#[test]
fn allows_ipv4_and_arp_inside_the_planned_ranges() {
    assert_eq!(guard().check(&udp_frame(&[], INSIDE_A, INSIDE_B)), Ok(()));
    assert_eq!(
        guard().check(&udp_frame(&[(0x8100, 10)], INSIDE_B, INSIDE_A)),
        Ok(())
    );
    assert_eq!(guard().check(&arp_frame(INSIDE_A, INSIDE_B)), Ok(()));
}

#[test]
fn refuses_ipv4_with_either_end_outside() {
    assert_eq!(
        guard().check(&udp_frame(&[], INSIDE_A, OUTSIDE)),
        Err(EgressRefusal::Ipv4DestinationOutside {
            destination: OUTSIDE
        })
    );
    assert_eq!(
        guard().check(&udp_frame(&[(0x8100, 10)], OUTSIDE, INSIDE_A)),
        Err(EgressRefusal::Ipv4SourceOutside {
            source_address: OUTSIDE
        })
    );
    let refusal = guard()
        .check(&udp_frame(&[], INSIDE_A, Ipv4Addr::BROADCAST))
        .unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "ipv4 destination 255.255.255.255 is outside the allowed networks"
    );
}

#[test]
fn refuses_arp_outside_and_everything_that_is_not_ipv4_or_arp() {
    assert_eq!(
        guard().check(&arp_frame(INSIDE_A, OUTSIDE)),
        Err(EgressRefusal::ArpAddressOutside {
            role: "target",
            address: OUTSIDE
        })
    );
    let mut ipv6 = ethernet_header(&[], 0x86dd);
    ipv6.extend([0x60, 0, 0, 0, 0, 0, 59, 64]);
    ipv6.extend([0u8; 32]);
    assert!(matches!(
        guard().check(&ipv6),
        Err(EgressRefusal::Ipv6NotAllowed { .. })
    ));
    let mut lldp = ethernet_header(&[], 0x88cc);
    lldp.extend([0; 46]);
    assert_eq!(
        guard().check(&lldp),
        Err(EgressRefusal::NonIpFrame { ethertype: 0x88cc })
    );
    assert_eq!(
        guard().check(&lldp).unwrap_err().to_string(),
        "non-ip frame with ethertype 0x88cc refused"
    );
    let mut mpls = ethernet_header(&[], 0x8847);
    mpls.extend([0, 1, 1, 64]);
    mpls.extend(ipv4_header(INSIDE_A, INSIDE_B, 17, 0, 0));
    assert_eq!(guard().check(&mpls), Err(EgressRefusal::Mpls));
}

#[test]
fn refuses_frames_it_cannot_parse() {
    assert!(matches!(
        guard().check(&[0; 10]),
        Err(EgressRefusal::Malformed { .. })
    ));
    let truncated = &udp_frame(&[], INSIDE_A, INSIDE_B)[..30];
    assert!(matches!(
        guard().check(truncated),
        Err(EgressRefusal::Malformed { .. })
    ));
    let mut wrong_version = udp_frame(&[], INSIDE_A, INSIDE_B);
    wrong_version[14] = 0x65;
    assert!(matches!(
        guard().check(&wrong_version),
        Err(EgressRefusal::Malformed { .. })
    ));
    assert!(
        EgressGuard::new(Vec::new())
            .check(&udp_frame(&[], INSIDE_A, INSIDE_B))
            .is_err()
    );
}
