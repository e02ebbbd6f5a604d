//! IPv4 networks: parsing, containment and the per-team address arithmetic.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// An IPv4 network with its host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    pub fn new(address: Ipv4Addr, prefix: u8) -> Result<Ipv4Net, String> {
        if prefix > 32 {
            return Err(format!("prefix /{prefix} is longer than 32"));
        }
        let net = Ipv4Net { address, prefix };
        if u32::from(address) & !net.mask() != 0 {
            return Err(format!(
                "{address}/{prefix} has host bits set (the network is {}/{prefix})",
                Ipv4Addr::from(u32::from(address) & net.mask())
            ));
        }
        Ok(net)
    }

    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// Number of addresses in the network.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    pub fn base(&self) -> u32 {
        u32::from(self.address)
    }

    pub fn last(&self) -> u32 {
        self.base() + (self.size() - 1) as u32
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == self.base()
    }

    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.base() <= other.last() && other.base() <= self.last()
    }

    /// The address at `offset` from the network address.
    pub fn nth(&self, offset: u64) -> Option<Ipv4Addr> {
        (offset < self.size()).then(|| Ipv4Addr::from(self.base() + offset as u32))
    }

    /// The `index`-th subnet of length `prefix` inside this network.
    pub fn subnet(&self, prefix: u8, index: u64) -> Option<Ipv4Net> {
        if prefix < self.prefix || prefix > 32 {
            return None;
        }
        let count = 1u64 << (prefix - self.prefix);
        if index >= count {
            return None;
        }
        let step = 1u64 << (32 - prefix);
        Some(Ipv4Net {
            address: Ipv4Addr::from(self.base() + (index * step) as u32),
            prefix,
        })
    }
}

impl FromStr for Ipv4Net {
    type Err = String;

    fn from_str(text: &str) -> Result<Ipv4Net, String> {
        let (address_text, prefix_text) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR such as 10.64.0.0/10"))?;
        let address: Ipv4Addr = address_text
            .parse()
            .map_err(|_| format!("{address_text:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix_text
            .parse()
            .map_err(|_| format!("{prefix_text:?} is not a prefix length"))?;
        Ipv4Net::new(address, prefix)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.address, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A segment's subnet written relative to the team block, e.g. `0.0.20.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelativeSubnet {
    pub offset: u32,
    pub prefix: u8,
}

impl RelativeSubnet {
    pub fn parse(text: &str, team_prefix: u8) -> Result<RelativeSubnet, String> {
        let net: Ipv4Net = text.parse()?;
        if net.prefix < team_prefix {
            return Err(format!(
                "subnet {text} (/{}) is larger than a team block (/{team_prefix})",
                net.prefix
            ));
        }
        let team_block_size = 1u64 << (32 - team_prefix);
        if u64::from(net.base()) >= team_block_size {
            return Err(format!(
                "subnet {text} lies outside the team block: with /{team_prefix} blocks it must start below {}",
                Ipv4Addr::from(team_block_size.min(u64::from(u32::MAX)) as u32)
            ));
        }
        if net.prefix > 29 {
            return Err(format!(
                "subnet {text} is too small: a segment needs at least a /29 (network, gateway, router, broadcast and hosts)"
            ));
        }
        Ok(RelativeSubnet {
            offset: net.base(),
            prefix: net.prefix,
        })
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    /// Place it in a concrete team block.
    pub fn in_block(&self, block: &Ipv4Net) -> Ipv4Net {
        Ipv4Net {
            address: Ipv4Addr::from(block.base() + self.offset),
            prefix: self.prefix,
        }
    }

    pub fn overlaps(&self, other: &RelativeSubnet) -> bool {
        let (start, end) = (u64::from(self.offset), u64::from(self.offset) + self.size());
        let (other_start, other_end) = (
            u64::from(other.offset),
            u64::from(other.offset) + other.size(),
        );
        start < other_end && other_start < end
    }

    /// Offsets hosts may use: not the network (0), the Docker gateway (1),
    /// the router (size - 2) or broadcast (size - 1).
    pub fn usable_offsets(&self) -> (u64, u64) {
        (2, self.size() - 3)
    }

    /// The router's offset: the last usable address.
    pub fn router_offset(&self) -> u64 {
        self.size() - 2
    }
}
