//! Small address value types shared by the rewriter, the egress guard and the
//! summary.
//!
//! They live here, rather than coming from a CIDR crate, so that the public
//! API of `enshu-pcap` names only its own types and the scenario crate can
//! convert into them without pulling a third-party type through every layer.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network in CIDR notation, always stored in canonical form (host
/// bits cleared), e.g. `192.168.1.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Network {
    network_address: Ipv4Addr,
    prefix_length: u8,
}

/// Why a network or MAC address could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("prefix length {prefix_length} is larger than 32")]
    PrefixTooLong { prefix_length: u8 },
    #[error("network {text:?} has host bits set (did you mean {canonical}?)")]
    HostBitsSet { text: String, canonical: String },
    #[error("invalid ipv4 network {text:?}: expected a.b.c.d/len")]
    InvalidNetwork { text: String },
    #[error("invalid mac address {text:?}: expected six hex octets such as 02:00:00:00:00:01")]
    InvalidMac { text: String },
}

impl Ipv4Network {
    /// Builds a network; refuses host bits so that a typo such as
    /// `192.168.1.7/24` is caught instead of silently widened.
    pub fn new(network_address: Ipv4Addr, prefix_length: u8) -> Result<Self, AddressError> {
        if prefix_length > 32 {
            return Err(AddressError::PrefixTooLong { prefix_length });
        }
        let mask = prefix_mask(prefix_length);
        let canonical = Ipv4Addr::from(u32::from(network_address) & mask);
        if canonical != network_address {
            return Err(AddressError::HostBitsSet {
                text: format!("{network_address}/{prefix_length}"),
                canonical: format!("{canonical}/{prefix_length}"),
            });
        }
        Ok(Self {
            network_address,
            prefix_length,
        })
    }

    /// A /32 network holding exactly one address.
    pub fn single_host(address: Ipv4Addr) -> Self {
        Self {
            network_address: address,
            prefix_length: 32,
        }
    }

    pub fn network_address(&self) -> Ipv4Addr {
        self.network_address
    }

    pub fn prefix_length(&self) -> u8 {
        self.prefix_length
    }

    /// The netmask as a host-order integer (`/24` gives `0xffff_ff00`).
    pub fn mask(&self) -> u32 {
        prefix_mask(self.prefix_length)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == u32::from(self.network_address)
    }
}

fn prefix_mask(prefix_length: u8) -> u32 {
    if prefix_length == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_length))
    }
}

impl fmt::Display for Ipv4Network {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.network_address, self.prefix_length)
    }
}

impl FromStr for Ipv4Network {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || AddressError::InvalidNetwork {
            text: text.to_owned(),
        };
        let (address_text, prefix_text) = match text.split_once('/') {
            Some(parts) => parts,
            None => (text, "32"),
        };
        let address: Ipv4Addr = address_text.parse().map_err(|_| invalid())?;
        let prefix_length: u8 = prefix_text.parse().map_err(|_| invalid())?;
        Self::new(address, prefix_length)
    }
}

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress(pub [u8; 6]);

impl fmt::Display for MacAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, f] = self.0;
        write!(formatter, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
    }
}

impl FromStr for MacAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || AddressError::InvalidMac {
            text: text.to_owned(),
        };
        let mut octets = [0u8; 6];
        let mut parts = text.split([':', '-']);
        for octet in &mut octets {
            let part = parts.next().ok_or_else(invalid)?;
            if part.len() != 2 {
                return Err(invalid());
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(MacAddress(octets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_networks() {
        let network: Ipv4Network = "192.168.1.0/24".parse().unwrap();
        assert_eq!(network.to_string(), "192.168.1.0/24");
        assert!(network.contains(Ipv4Addr::new(192, 168, 1, 77)));
        assert!(!network.contains(Ipv4Addr::new(192, 168, 2, 1)));
        let everything: Ipv4Network = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(Ipv4Addr::new(8, 8, 8, 8)));
        let host: Ipv4Network = "10.0.0.1".parse().unwrap();
        assert_eq!(host.prefix_length(), 32);
    }

    #[test]
    fn refuses_host_bits_and_bad_prefixes() {
        let error = "192.168.1.7/24".parse::<Ipv4Network>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "network \"192.168.1.7/24\" has host bits set (did you mean 192.168.1.0/24?)"
        );
        assert!(matches!(
            "10.0.0.0/33".parse::<Ipv4Network>(),
            Err(AddressError::PrefixTooLong { prefix_length: 33 })
        ));
        assert!("10.0.0/8".parse::<Ipv4Network>().is_err());
    }

    #[test]
    fn parses_mac_addresses() {
        let mac: MacAddress = "02:00:5e:10:00:ff".parse().unwrap();
        assert_eq!(mac.0, [0x02, 0x00, 0x5e, 0x10, 0x00, 0xff]);
        assert_eq!(mac.to_string(), "02:00:5e:10:00:ff");
        assert!("02:00:5e:10:00".parse::<MacAddress>().is_err());
        assert!("02:00:5e:10:00:ff:01".parse::<MacAddress>().is_err());
    }
}
