//! Walking the link layer down to the network header.
//!
//! The rewriter, the egress guard and the summary must agree on where the
//! IP or ARP header of a frame starts (past VLAN tags and MPLS labels), so
//! they share this one walk instead of each guessing on its own.

use crate::capture::LinkType;

pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
pub(crate) const ETHERTYPE_MPLS_UNICAST: u16 = 0x8847;
pub(crate) const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const VLAN_TAG_LENGTH: usize = 4;
const MPLS_LABEL_LENGTH: usize = 4;

/// Tag protocol identifiers of 802.1Q, 802.1ad and the pre-standard QinQ.
pub(crate) fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(ethertype, 0x8100 | 0x88a8 | 0x9100)
}

/// What sits at [`FrameLayout::network_offset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetworkKind {
    Ipv4,
    Ipv6,
    Arp,
    /// Anything else, with the ethertype that announced it (or the link
    /// type's own protocol number where there is no ethertype).
    Other {
        ethertype: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameLayout {
    /// Whether bytes 0..12 are Ethernet destination and source MACs.
    pub is_ethernet: bool,
    /// Offsets of each 4-byte VLAN tag (TPID then TCI), outermost first.
    pub vlan_tag_offsets: Vec<usize>,
    /// Whether an MPLS label stack sits before the network header.
    pub has_mpls: bool,
    pub network_offset: usize,
    pub network_kind: NetworkKind,
}

/// Why a frame's link layer could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {available} bytes is truncated inside its {layer} header (needs {needed})")]
    Truncated {
        layer: &'static str,
        needed: usize,
        available: usize,
    },
    #[error(
        "link type {0} is not supported (supported: ethernet, null, linux cooked, raw ip, raw ipv4, raw ipv6)"
    )]
    UnsupportedLinkType(LinkType),
}

fn read_u16_be(data: &[u8], offset: usize, layer: &'static str) -> Result<u16, FrameError> {
    match data.get(offset..offset + 2) {
        Some(bytes) => Ok(u16::from_be_bytes([bytes[0], bytes[1]])),
        None => Err(FrameError::Truncated {
            layer,
            needed: offset + 2,
            available: data.len(),
        }),
    }
}

fn kind_from_ip_version(data: &[u8], offset: usize) -> NetworkKind {
    match data.get(offset).map(|byte| byte >> 4) {
        Some(4) => NetworkKind::Ipv4,
        Some(6) => NetworkKind::Ipv6,
        _ => NetworkKind::Other { ethertype: 0 },
    }
}

fn kind_from_ethertype(ethertype: u16) -> NetworkKind {
    match ethertype {
        ETHERTYPE_IPV4 => NetworkKind::Ipv4,
        ETHERTYPE_IPV6 => NetworkKind::Ipv6,
        ETHERTYPE_ARP => NetworkKind::Arp,
        other => NetworkKind::Other { ethertype: other },
    }
}

/// Finds the network header of one frame.
pub(crate) fn locate_network_layer(
    link_type: LinkType,
    data: &[u8],
) -> Result<FrameLayout, FrameError> {
    let simple = |network_offset, network_kind| FrameLayout {
        is_ethernet: false,
        vlan_tag_offsets: Vec::new(),
        has_mpls: false,
        network_offset,
        network_kind,
    };
    match link_type {
        LinkType::ETHERNET => locate_in_ethernet(data),
        LinkType::RAW => Ok(simple(0, kind_from_ip_version(data, 0))),
        LinkType::IPV4 => Ok(simple(0, NetworkKind::Ipv4)),
        LinkType::IPV6 => Ok(simple(0, NetworkKind::Ipv6)),
        LinkType::LINUX_SLL => {
            let protocol = read_u16_be(data, 14, "linux cooked")?;
            Ok(simple(16, kind_from_ethertype(protocol)))
        }
        LinkType::NULL => {
            // The address family is in the capturing host's byte order.
            let Some(family_bytes) = data.get(..4) else {
                return Err(FrameError::Truncated {
                    layer: "null/loopback",
                    needed: 4,
                    available: data.len(),
                });
            };
            let family_bytes: [u8; 4] = family_bytes.try_into().expect("four bytes");
            let family = u32::from_le_bytes(family_bytes).min(u32::from_be_bytes(family_bytes));
            let kind = match family {
                2 => NetworkKind::Ipv4,
                24 | 28 | 30 => NetworkKind::Ipv6,
                other => NetworkKind::Other {
                    ethertype: other as u16,
                },
            };
            Ok(simple(4, kind))
        }
        other => Err(FrameError::UnsupportedLinkType(other)),
    }
}

fn locate_in_ethernet(data: &[u8]) -> Result<FrameLayout, FrameError> {
    let mut offset = 12;
    let mut ethertype = read_u16_be(data, offset, "ethernet")?;
    let mut vlan_tag_offsets = Vec::new();
    while is_vlan_tpid(ethertype) {
        vlan_tag_offsets.push(offset);
        offset += VLAN_TAG_LENGTH;
        ethertype = read_u16_be(data, offset, "802.1q vlan")?;
    }
    offset += 2;
    let mut has_mpls = false;
    let network_kind = if matches!(ethertype, ETHERTYPE_MPLS_UNICAST | ETHERTYPE_MPLS_MULTICAST) {
        has_mpls = true;
        loop {
            let Some(label) = data.get(offset..offset + MPLS_LABEL_LENGTH) else {
                return Err(FrameError::Truncated {
                    layer: "mpls",
                    needed: offset + MPLS_LABEL_LENGTH,
                    available: data.len(),
                });
            };
            let bottom_of_stack = label[2] & 0x01 == 1;
            offset += MPLS_LABEL_LENGTH;
            if bottom_of_stack {
                break;
            }
        }
        // MPLS does not say what it carries; the IP version nibble does.
        match kind_from_ip_version(data, offset) {
            NetworkKind::Other { .. } => NetworkKind::Other { ethertype },
            ip => ip,
        }
    } else {
        kind_from_ethertype(ethertype)
    };
    Ok(FrameLayout {
        is_ethernet: true,
        vlan_tag_offsets,
        has_mpls,
        network_offset: offset,
        network_kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_vlan_tags_and_mpls_labels() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14]);
        frame.extend_from_slice(&[0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]);
        frame.push(0x45);
        let layout = locate_network_layer(LinkType::ETHERNET, &frame).unwrap();
        assert_eq!(layout.vlan_tag_offsets, vec![12, 16]);
        assert!(layout.has_mpls);
        assert_eq!(layout.network_offset, 30);
        assert_eq!(layout.network_kind, NetworkKind::Ipv4);
    }

    #[test]
    fn reports_truncation_instead_of_panicking() {
        let frame = [0u8; 13];
        assert!(matches!(
            locate_network_layer(LinkType::ETHERNET, &frame),
            Err(FrameError::Truncated {
                layer: "ethernet",
                ..
            })
        ));
        let mut tagged = vec![0u8; 12];
        tagged.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert!(locate_network_layer(LinkType::ETHERNET, &tagged).is_err());
        assert!(locate_network_layer(LinkType(147), &tagged).is_err());
    }
}
