//! The egress guard: the last check before a frame leaves the injector.
//!
//! **Invariant:** attack traffic only ever goes to the session's planned
//! ranges. Rewriting is supposed to guarantee that already; the guard checks
//! every frame again, independently of the rewrite map, so that a mistake
//! in a map or in a capture cannot send traffic anywhere else. It is
//! deliberately strict: whatever it cannot prove to stay inside the allowed
//! networks it refuses, including IPv6 (the ranges are IPv4), MPLS and any
//! frame it cannot parse.

use std::net::{Ipv4Addr, Ipv6Addr};

use pnet_packet::arp::ArpPacket;
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;

use crate::capture::LinkType;
use crate::frame::{NetworkKind, locate_network_layer};
use crate::network::Ipv4Network;

/// Why a frame may not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressRefusal {
    #[error("ipv4 destination {destination} is outside the allowed networks")]
    Ipv4DestinationOutside { destination: Ipv4Addr },
    #[error("ipv4 source {source_address} is outside the allowed networks")]
    Ipv4SourceOutside { source_address: Ipv4Addr },
    #[error(
        "ipv6 packet from {source_address} to {destination} refused: only ipv4 networks are allowed"
    )]
    Ipv6NotAllowed {
        source_address: Ipv6Addr,
        destination: Ipv6Addr,
    },
    #[error("arp {role} address {address} is outside the allowed networks")]
    ArpAddressOutside {
        role: &'static str,
        address: Ipv4Addr,
    },
    #[error("arp packet is not ipv4 over ethernet")]
    ArpNotIpv4,
    #[error("non-ip frame with ethertype {ethertype:#06x} refused")]
    NonIpFrame { ethertype: u16 },
    #[error("mpls-labelled frame refused")]
    Mpls,
    #[error("frame could not be parsed: {problem}")]
    Malformed { problem: String },
}

/// Checks Ethernet frames against the networks a session may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressGuard {
    allowed: Vec<Ipv4Network>,
}

impl EgressGuard {
    pub fn new(allowed: Vec<Ipv4Network>) -> Self {
        Self { allowed }
    }

    pub fn allowed_networks(&self) -> &[Ipv4Network] {
        &self.allowed
    }

    pub fn allows_address(&self, address: Ipv4Addr) -> bool {
        self.allowed.iter().any(|network| network.contains(address))
    }

    /// Accepts an Ethernet frame (VLAN tags allowed) only if it is IPv4 with
    /// source and destination inside the allowed networks, or IPv4 ARP whose
    /// sender and target addresses are inside them.
    pub fn check(&self, frame: &[u8]) -> Result<(), EgressRefusal> {
        let layout = locate_network_layer(LinkType::ETHERNET, frame).map_err(|error| {
            EgressRefusal::Malformed {
                problem: error.to_string(),
            }
        })?;
        if layout.has_mpls {
            return Err(EgressRefusal::Mpls);
        }
        let network = &frame[layout.network_offset..];
        match layout.network_kind {
            NetworkKind::Ipv4 => {
                let header = Ipv4Packet::new(network).ok_or_else(|| EgressRefusal::Malformed {
                    problem: format!("ipv4 header truncated to {} bytes", network.len()),
                })?;
                if header.get_version() != 4 {
                    return Err(EgressRefusal::Malformed {
                        problem: format!("ipv4 version field is {}", header.get_version()),
                    });
                }
                let destination = header.get_destination();
                if !self.allows_address(destination) {
                    return Err(EgressRefusal::Ipv4DestinationOutside { destination });
                }
                let source_address = header.get_source();
                if !self.allows_address(source_address) {
                    return Err(EgressRefusal::Ipv4SourceOutside { source_address });
                }
                Ok(())
            }
            NetworkKind::Ipv6 => {
                let header = Ipv6Packet::new(network).ok_or_else(|| EgressRefusal::Malformed {
                    problem: format!("ipv6 header truncated to {} bytes", network.len()),
                })?;
                Err(EgressRefusal::Ipv6NotAllowed {
                    source_address: header.get_source(),
                    destination: header.get_destination(),
                })
            }
            NetworkKind::Arp => {
                let arp = ArpPacket::new(network).ok_or_else(|| EgressRefusal::Malformed {
                    problem: format!("arp packet truncated to {} bytes", network.len()),
                })?;
                if arp.get_hw_addr_len() != 6
                    || arp.get_proto_addr_len() != 4
                    || arp.get_protocol_type().0 != 0x0800
                {
                    return Err(EgressRefusal::ArpNotIpv4);
                }
                for (role, address) in [
                    ("sender", arp.get_sender_proto_addr()),
                    ("target", arp.get_target_proto_addr()),
                ] {
                    if !self.allows_address(address) {
                        return Err(EgressRefusal::ArpAddressOutside { role, address });
                    }
                }
                Ok(())
            }
            NetworkKind::Other { ethertype } => Err(EgressRefusal::NonIpFrame { ethertype }),
        }
    }
}
