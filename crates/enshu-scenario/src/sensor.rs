//! The team's network sensor: a receive-only copy of its segments' traffic
//! on the analyst workstation.
//!
//! With a `sensor` block, the analyst workstation it names gets one
//! interface `cap-<segment>` per segment of the team's range (or the
//! segments listed), on which every frame crossing that segment's bridge
//! arrives once: replayed captures and generated attack traffic included.
//! Nothing sent into a `cap-` interface goes anywhere. The model is here,
//! beside what the planner makes of it ([`SensorPlan`]), so that the rest
//! of the scenario format does not change shape for it; the validation is
//! `validate::sensor`, the machinery the controller's `ConfigureSensor`
//! step and the backend's `host::sensor`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::NetworkSpec;

/// The team's network sensor: which analyst workstation receives a copy of
/// the traffic of which segments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    /// The analyst workstation (`segment/host`, image `analyst`, in the
    /// team's range) that gets the capture interfaces, e.g. `lgwan/analyst`.
    pub host: String,
    /// The segments mirrored, each to `cap-<segment>` on that host; by
    /// default every segment of the team's range (never one of role
    /// `internet`, which stands for the outside world).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<String>>,
}

/// What a capture interface is called on the analyst workstation.
pub const INTERFACE_PREFIX: &str = "cap-";
/// Longest interface name Linux takes.
pub const MAX_INTERFACE_NAME: usize = 15;
/// What the host-side end of every capture interface is called: `eshc`
/// and the digits of the segment's bridge, so the host guard (`esh+`)
/// matches it and a reader pairs it with its bridge at a glance.
pub const HOST_END_PREFIX: &str = "eshc";
/// First word of the host end's alias (`ip link` shows it): the session,
/// team and segment follow, so `down` finds a session's taps.
pub const ALIAS_PREFIX: &str = "enshu-sensor";

/// The interface a segment is mirrored to: `cap-<segment>`.
pub fn interface_name(segment: &str) -> String {
    format!("{INTERFACE_PREFIX}{segment}")
}

/// The alias every tap of `session` starts with (a space follows the
/// session, so `s1` does not match `s10`'s).
pub fn session_alias_prefix(session: &str) -> String {
    format!("{ALIAS_PREFIX} {session} ")
}

/// The team's sensor, resolved: the container that receives the copies and
/// one tap per mirrored segment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SensorPlan {
    /// The analyst workstation's container, e.g. `enshu-s1-t01-analyst`.
    pub container: String,
    /// `segment/host` in the scenario.
    pub reference: String,
    pub taps: Vec<SensorTap>,
}

/// One segment mirrored into the analyst workstation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SensorTap {
    pub segment: String,
    /// The segment's bridge on the host: every port of it is mirrored.
    pub bridge: String,
    /// The receiving interface in the analyst workstation, `cap-<segment>`.
    pub interface: String,
    /// Its peer on the host, attached to nothing, its ingress dropped.
    pub host_end: String,
    /// The shared filter block every port of the bridge feeds on ingress;
    /// its one filter mirrors to `host_end`.
    pub block: u32,
    /// The host end's alias: `enshu-sensor <session> <team> <segment>`.
    pub alias: String,
}

/// The tap of one planned network (pure: names derive from the bridge's).
pub fn tap_for(network: &NetworkSpec, session: &str, team: &str) -> SensorTap {
    let digits = network
        .bridge
        .strip_prefix(crate::plan::BRIDGE_PREFIX)
        .unwrap_or(&network.bridge);
    let host_end = format!("{HOST_END_PREFIX}{digits}");
    SensorTap {
        segment: network.segment.clone(),
        bridge: network.bridge.clone(),
        interface: interface_name(&network.segment),
        block: block_index(&host_end),
        host_end,
        alias: format!("{ALIAS_PREFIX} {session} {team} {}", network.segment),
    }
}

/// A tc block index for a host end: from its name's hash, never 0 and
/// below 2³¹ (the kernel's own indices for unnamed blocks are not shared).
fn block_index(host_end: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(host_end.as_bytes());
    let value = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff;
    value.max(1)
}

/// Plan the team's sensor from its networks: the segments named (or every
/// one of the team's range), each with its tap.
pub fn plan_sensor(
    sensor: &Sensor,
    networks: &[NetworkSpec],
    container_prefix: &str,
    session: &str,
    team: &str,
) -> SensorPlan {
    let host = sensor.host.rsplit('/').next().unwrap_or_default();
    let taps = networks
        .iter()
        .filter(|network| match &sensor.segments {
            Some(segments) => segments.contains(&network.segment),
            None => network.team_range,
        })
        .map(|network| tap_for(network, session, team))
        .collect();
    SensorPlan {
        container: format!("{container_prefix}-{host}"),
        reference: sensor.host.clone(),
        taps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tap_is_named_after_its_bridge_and_fits_an_interface_name() {
        let network = NetworkSpec {
            name: "enshu-s1-t01-lgwan".into(),
            segment: "lgwan".into(),
            subnet: "10.64.20.0/24".parse().unwrap(),
            gateway: "10.64.20.1".parse().unwrap(),
            router: "10.64.20.254".parse().unwrap(),
            bridge: "esh0123456789a".into(),
            internal: true,
            team_range: true,
            labels: Default::default(),
        };
        let tap = tap_for(&network, "s1", "t01");
        assert_eq!(tap.host_end, "eshc0123456789a");
        assert!(tap.host_end.len() <= MAX_INTERFACE_NAME);
        assert_eq!(tap.interface, "cap-lgwan");
        assert_eq!(tap.alias, "enshu-sensor s1 t01 lgwan");
        assert!(tap.alias.starts_with(&session_alias_prefix("s1")));
        assert!(!tap.alias.starts_with(&session_alias_prefix("s")));
        assert!(tap.block > 0 && tap.block < 1 << 31);
        assert_eq!(tap, tap_for(&network, "s1", "t01"), "deterministic");
    }
}
