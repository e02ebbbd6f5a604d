//! The per-team address map as the operator writes it: `FROM=TO` entries on
//! the command line (`--map 192.168.1.5=10.64.30.102`) or a JSON object in a
//! file (`{"192.168.1.0/24": "10.64.30.0/24"}`), turned into a
//! [`RewriteMap`].
//!
//! Both sides of an entry are either single addresses or networks of equal
//! size, so one syntax covers a host and a whole subnet. Parsing is pure so
//! that the controller can validate a map before it enters a namespace.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use enshu_pcap::{AddressError, Ipv4Network, RewriteMap, RewriteMapError};

/// Why a map entry was refused. Every message names the entry as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressMapError {
    #[error("map entry {entry:?}: expected FROM=TO, each an ipv4 address or network")]
    MissingEquals { entry: String },
    #[error("map entry {entry:?}: {source}")]
    InvalidSide { entry: String, source: AddressError },
    #[error("map entry {entry:?}: {source}")]
    Conflict {
        entry: String,
        source: RewriteMapError,
    },
    #[error("map entry {entry:?}: {from} is already mapped to {earlier}")]
    DuplicateAddress {
        entry: String,
        from: Ipv4Addr,
        earlier: Ipv4Addr,
    },
    #[error("map file is not a json object of \"from\": \"to\" strings: {problem}")]
    InvalidJson { problem: String },
}

/// One parsed `FROM=TO` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapEntry {
    Address { from: Ipv4Addr, to: Ipv4Addr },
    Subnet { from: Ipv4Network, to: Ipv4Network },
}

/// Parses one `FROM=TO` entry; a side without `/len` is a single address.
pub fn parse_map_entry(entry: &str) -> Result<MapEntry, AddressMapError> {
    let Some((from_text, to_text)) = entry.split_once('=') else {
        return Err(AddressMapError::MissingEquals {
            entry: entry.to_owned(),
        });
    };
    let parse = |text: &str| {
        text.trim()
            .parse::<Ipv4Network>()
            .map_err(|source| AddressMapError::InvalidSide {
                entry: entry.to_owned(),
                source,
            })
    };
    let (from, to) = (parse(from_text)?, parse(to_text)?);
    if from.prefix_length() == 32 && to.prefix_length() == 32 {
        Ok(MapEntry::Address {
            from: from.network_address(),
            to: to.network_address(),
        })
    } else {
        Ok(MapEntry::Subnet { from, to })
    }
}

/// Builds a rewrite map from entries; mapping one address or subnet twice
/// is an error rather than a silent override.
pub fn rewrite_map_from_entries<S: AsRef<str>>(
    entries: &[S],
) -> Result<RewriteMap, AddressMapError> {
    let mut map = RewriteMap::new();
    let mut exact: BTreeMap<Ipv4Addr, Ipv4Addr> = BTreeMap::new();
    for entry in entries {
        let entry = entry.as_ref();
        match parse_map_entry(entry)? {
            MapEntry::Address { from, to } => {
                if let Some(&earlier) = exact.get(&from)
                    && earlier != to
                {
                    return Err(AddressMapError::DuplicateAddress {
                        entry: entry.to_owned(),
                        from,
                        earlier,
                    });
                }
                exact.insert(from, to);
                map.map_address(from, to);
            }
            MapEntry::Subnet { from, to } => {
                map.map_subnet(from, to)
                    .map_err(|source| AddressMapError::Conflict {
                        entry: entry.to_owned(),
                        source,
                    })?;
            }
        }
    }
    Ok(map)
}

/// Reads the entries of a JSON map file: one object whose keys are the
/// capture's addresses or networks and whose values are the team's.
pub fn map_entries_from_json(text: &str) -> Result<Vec<String>, AddressMapError> {
    let object: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|error| AddressMapError::InvalidJson {
            problem: error.to_string(),
        })?;
    Ok(object
        .into_iter()
        .map(|(from, to)| format!("{from}={to}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_subnets() {
        assert_eq!(
            parse_map_entry("192.168.1.5=10.64.30.102").unwrap(),
            MapEntry::Address {
                from: Ipv4Addr::new(192, 168, 1, 5),
                to: Ipv4Addr::new(10, 64, 30, 102)
            }
        );
        let map =
            rewrite_map_from_entries(&["192.168.1.0/24=10.64.30.0/24", "192.168.1.5=10.64.99.5"])
                .unwrap();
        assert_eq!(
            map.translate_ipv4(Ipv4Addr::new(192, 168, 1, 7)),
            Some(Ipv4Addr::new(10, 64, 30, 7))
        );
        assert_eq!(
            map.translate_ipv4(Ipv4Addr::new(192, 168, 1, 5)),
            Some(Ipv4Addr::new(10, 64, 99, 5))
        );
        assert_eq!(map.translate_ipv4(Ipv4Addr::new(8, 8, 8, 8)), None);
    }

    #[test]
    fn refuses_malformed_and_conflicting_entries() {
        assert_eq!(
            parse_map_entry("192.168.1.5").unwrap_err().to_string(),
            "map entry \"192.168.1.5\": expected FROM=TO, each an ipv4 address or network"
        );
        assert!(
            parse_map_entry("192.168.1.5=10.64.300.1")
                .unwrap_err()
                .to_string()
                .starts_with("map entry \"192.168.1.5=10.64.300.1\": invalid ipv4 network")
        );
        let duplicate =
            rewrite_map_from_entries(&["1.2.3.4=10.0.0.1", "1.2.3.4=10.0.0.2"]).unwrap_err();
        assert_eq!(
            duplicate.to_string(),
            "map entry \"1.2.3.4=10.0.0.2\": 1.2.3.4 is already mapped to 10.0.0.1"
        );
        let sizes = rewrite_map_from_entries(&["192.168.0.0/16=10.64.30.0/24"]).unwrap_err();
        assert!(
            sizes.to_string().contains("changes the prefix length"),
            "{sizes}"
        );
    }

    #[test]
    fn reads_json_map_files() {
        let entries = map_entries_from_json(
            r#"{"192.168.1.5": "10.64.30.102", "172.16.0.0/12": "10.64.0.0/12"}"#,
        )
        .unwrap();
        assert_eq!(
            entries,
            vec!["172.16.0.0/12=10.64.0.0/12", "192.168.1.5=10.64.30.102"]
        );
        assert!(map_entries_from_json("[1, 2]").is_err());
    }
}
