//! The network sensor as the runtime's machine holds it, and what a team's
//! sensor lacks there (pure).
//!
//! A tap is a veth pair: `cap-<segment>` in the analyst workstation, its
//! host end attached to nothing and sealed (up, no ARP, no IPv6, every
//! frame it receives dropped on ingress). Every port of the segment's
//! bridge feeds one shared filter block on ingress, whose one filter
//! mirrors each frame to the host end: a frame crossing the bridge enters
//! it through exactly one port, so it is copied exactly once.
//!
//! [`ObservedSensors`] is what one look at the machine finds (every tap,
//! every bridge's ports); [`fixes`] compares it with a team's
//! [`SensorPlan`] and says what to do, each fix with its reason, which the
//! controller turns into its `ConfigureSensor` step and the backend
//! applies.

use std::collections::BTreeMap;

pub use enshu_scenario::sensor::{SensorPlan, SensorTap};

/// Every tap and every range bridge's ports, as found on the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedSensors {
    /// Host ends of taps, by name.
    pub taps: BTreeMap<String, ObservedTap>,
    /// Range bridges → their ports.
    pub bridges: BTreeMap<String, Vec<ObservedPort>>,
}

/// A tap's host end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedTap {
    /// Its alias (`enshu-sensor <session> <team> <segment>`).
    pub alias: String,
    /// Up, without ARP and IPv6, and its ingress dropped.
    pub sealed: bool,
    /// A filter mirrors into it (a mirror action bound to it).
    pub mirrored: bool,
}

/// One port of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPort {
    pub name: String,
    /// Whether it has an ingress classifier queue (`clsact`) at all.
    pub clsact: bool,
    /// The shared block its ingress feeds, if any.
    pub ingress_block: Option<u32>,
}

/// One thing a tap lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The tap does not exist: create the pair (its end in the analyst
    /// workstation), seal it, mirror into it, and feed every port.
    Create { tap: SensorTap },
    /// The host end is not sealed.
    Seal { tap: SensorTap },
    /// No filter of the block mirrors into the host end (the block was
    /// freed with its last port, or the end was made anew).
    Mirror { tap: SensorTap },
    /// Ports of the bridge that do not feed the block (new containers):
    /// each with whether it has a `clsact` of its own to replace.
    Feed {
        tap: SensorTap,
        ports: Vec<(String, bool)>,
    },
}

impl Fix {
    pub fn tap(&self) -> &SensorTap {
        match self {
            Fix::Create { tap }
            | Fix::Seal { tap }
            | Fix::Mirror { tap }
            | Fix::Feed { tap, .. } => tap,
        }
    }

    /// Why, for the step's reason.
    pub fn reason(&self) -> String {
        match self {
            Fix::Create { tap } => format!("{} missing", tap.interface),
            Fix::Seal { tap } => format!("{} not sealed", tap.host_end),
            Fix::Mirror { tap } => format!("nothing mirrored into {}", tap.interface),
            Fix::Feed { tap, ports } => {
                format!("{} port(s) of {} not mirrored", ports.len(), tap.segment)
            }
        }
    }
}

/// What `sensor` lacks on the machine, tap by tap (pure): a tap that does
/// not exist is created, then fed by every port and mirrored into.
pub fn fixes(sensor: &SensorPlan, observed: &ObservedSensors) -> Vec<Fix> {
    let mut fixes = Vec::new();
    for tap in &sensor.taps {
        let found = observed.taps.get(&tap.host_end);
        match found {
            None => fixes.push(Fix::Create { tap: tap.clone() }),
            Some(found) if !found.sealed => fixes.push(Fix::Seal { tap: tap.clone() }),
            Some(_) => {}
        }
        let ports: Vec<(String, bool)> = observed
            .bridges
            .get(&tap.bridge)
            .into_iter()
            .flatten()
            .filter(|port| port.ingress_block != Some(tap.block))
            .map(|port| (port.name.clone(), port.clsact))
            .collect();
        if !ports.is_empty() {
            fixes.push(Fix::Feed {
                tap: tap.clone(),
                ports,
            });
        }
        if !found.is_some_and(|found| found.mirrored) {
            fixes.push(Fix::Mirror { tap: tap.clone() });
        }
    }
    fixes
}

/// The fixes' reasons, joined: `cap-lgwan missing; 2 port(s) of inet not mirrored`.
/// A tap created says it all: what follows from it is not repeated.
pub fn reasons(fixes: &[Fix]) -> String {
    let created: Vec<&str> = fixes
        .iter()
        .filter_map(|fix| match fix {
            Fix::Create { tap } => Some(tap.host_end.as_str()),
            _ => None,
        })
        .collect();
    fixes
        .iter()
        .filter(|fix| {
            matches!(fix, Fix::Create { .. }) || !created.contains(&fix.tap().host_end.as_str())
        })
        .map(Fix::reason)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap(segment: &str, bridge: &str, block: u32) -> SensorTap {
        SensorTap {
            segment: segment.into(),
            bridge: bridge.into(),
            interface: format!("cap-{segment}"),
            host_end: format!("eshc{}", &bridge[3..]),
            block,
            alias: format!("enshu-sensor s1 t01 {segment}"),
        }
    }

    fn port(name: &str, block: Option<u32>) -> ObservedPort {
        ObservedPort {
            name: name.into(),
            clsact: block.is_some(),
            ingress_block: block,
        }
    }

    #[test]
    fn a_missing_tap_is_created_and_a_complete_one_left_alone() {
        let sensor = SensorPlan {
            container: "enshu-s1-t01-analyst".into(),
            reference: "office/analyst".into(),
            taps: vec![
                tap("office", "esh00000000001", 7),
                tap("dmz", "esh00000000002", 9),
            ],
        };
        let mut observed = ObservedSensors::default();
        observed.taps.insert(
            "eshc00000000002".into(),
            ObservedTap {
                alias: "enshu-sensor s1 t01 dmz".into(),
                sealed: true,
                mirrored: true,
            },
        );
        observed.bridges.insert(
            "esh00000000002".into(),
            vec![port("veth1", Some(9)), port("veth2", Some(9))],
        );
        observed.bridges.insert(
            "esh00000000001".into(),
            vec![port("veth3", None), port("veth4", Some(3))],
        );
        let found = fixes(&sensor, &observed);
        assert_eq!(
            found,
            [
                Fix::Create {
                    tap: sensor.taps[0].clone()
                },
                Fix::Feed {
                    tap: sensor.taps[0].clone(),
                    ports: vec![("veth3".into(), false), ("veth4".into(), true)]
                },
                Fix::Mirror {
                    tap: sensor.taps[0].clone()
                },
            ]
        );
        assert_eq!(reasons(&found), "cap-office missing");
    }

    #[test]
    fn new_ports_a_freed_block_and_an_unsealed_end_are_each_fixed() {
        let sensor = SensorPlan {
            container: "c".into(),
            reference: "office/analyst".into(),
            taps: vec![tap("office", "esh00000000001", 7)],
        };
        let mut observed = ObservedSensors::default();
        observed.taps.insert(
            "eshc00000000001".into(),
            ObservedTap {
                alias: String::new(),
                sealed: false,
                mirrored: false,
            },
        );
        observed.bridges.insert(
            "esh00000000001".into(),
            vec![
                port("veth1", Some(7)),
                port("veth2", None),
                port("veth3", Some(8)),
            ],
        );
        let found = fixes(&sensor, &observed);
        assert_eq!(
            found,
            [
                Fix::Seal {
                    tap: sensor.taps[0].clone()
                },
                Fix::Feed {
                    tap: sensor.taps[0].clone(),
                    ports: vec![("veth2".into(), false), ("veth3".into(), true)]
                },
                Fix::Mirror {
                    tap: sensor.taps[0].clone()
                },
            ]
        );
        assert_eq!(
            reasons(&found),
            "eshc00000000001 not sealed; 2 port(s) of office not mirrored; nothing mirrored into cap-office"
        );
    }
}
