//! The pure part of `up`: what must change to turn what exists into the
//! plan. Each step carries its reason, so `enshu up --dry-run` prints the
//! very object the executor runs.

use std::collections::{BTreeMap, BTreeSet};

use enshu_backend::{ContainerSpec, Observed};
use enshu_scenario::plan::{Plan, labels};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    CreateNetwork {
        team: String,
        name: String,
        reason: String,
    },
    /// Remove a container whose spec drifted or that the plan no longer has.
    RemoveContainer {
        team: String,
        name: String,
        reason: String,
    },
    CreateContainer {
        team: String,
        name: String,
        reason: String,
    },
    StartContainer {
        team: String,
        name: String,
        reason: String,
    },
    /// Load the team's firewall rules into its router (always re-applied:
    /// it is cheap and idempotent).
    ConfigureRouter { team: String, name: String },
    /// Point a host's default route at its router.
    ConfigureRoute { team: String, name: String },
    /// Copy host `source`'s data into backup host `name` (see
    /// [`crate::backup`]), once both run.
    TakeBackup {
        team: String,
        name: String,
        source: String,
        reason: String,
    },
    /// Mirror the team's segments into its analyst workstation `name`
    /// (see [`crate::sensor`]), once the team's containers run.
    ConfigureSensor {
        team: String,
        name: String,
        reason: String,
    },
}

impl Step {
    /// The step's kind, as its serialised `step` tag says it.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CreateNetwork { .. } => "create_network",
            Step::RemoveContainer { .. } => "remove_container",
            Step::CreateContainer { .. } => "create_container",
            Step::StartContainer { .. } => "start_container",
            Step::ConfigureRouter { .. } => "configure_router",
            Step::ConfigureRoute { .. } => "configure_route",
            Step::TakeBackup { .. } => "take_backup",
            Step::ConfigureSensor { .. } => "configure_sensor",
        }
    }

    pub fn team(&self) -> &str {
        match self {
            Step::CreateNetwork { team, .. }
            | Step::RemoveContainer { team, .. }
            | Step::CreateContainer { team, .. }
            | Step::StartContainer { team, .. }
            | Step::ConfigureRouter { team, .. }
            | Step::ConfigureRoute { team, .. }
            | Step::TakeBackup { team, .. }
            | Step::ConfigureSensor { team, .. } => team,
        }
    }
}

/// The hash of a spec without its own hash label: equal hashes mean the
/// container was created from exactly this spec.
pub fn spec_hash(spec: &ContainerSpec) -> String {
    let mut unhashed = spec.clone();
    unhashed.labels.remove(labels::SPEC_HASH);
    let json = serde_json::to_vec(&unhashed).expect("a spec serialises");
    hex::encode(&Sha256::digest(&json)[..8])
}

/// The spec as it is created: with its hash label.
pub fn with_hash(spec: &ContainerSpec) -> ContainerSpec {
    let mut hashed = spec.clone();
    hashed
        .labels
        .insert(labels::SPEC_HASH.to_string(), spec_hash(spec));
    hashed
}

/// Steps to go from `observed` (everything with the session's label) to
/// `plan`, team by team, router first in each team.
pub fn diff(plan: &Plan, observed: &Observed) -> Vec<Step> {
    let existing_networks: BTreeSet<&str> = observed
        .networks
        .iter()
        .map(|network| network.name.as_str())
        .collect();
    let existing: BTreeMap<&str, (&str, bool, &[String])> = observed
        .containers
        .iter()
        .map(|container| {
            let hash = container
                .labels
                .get(labels::SPEC_HASH)
                .map(String::as_str)
                .unwrap_or("");
            (
                container.name.as_str(),
                (hash, container.running, container.networks.as_slice()),
            )
        })
        .collect();
    let mut steps = Vec::new();
    let mut planned_names = BTreeSet::new();
    for team in &plan.teams {
        for network in &team.networks {
            if !existing_networks.contains(network.name.as_str()) {
                steps.push(Step::CreateNetwork {
                    team: team.name.clone(),
                    name: network.name.clone(),
                    reason: "missing".into(),
                });
            }
        }
        for container in &team.containers {
            planned_names.insert(container.name.as_str());
            let wanted_hash = spec_hash(container);
            let mut wanted_networks: Vec<&str> = container
                .networks
                .iter()
                .map(|attachment| attachment.network.as_str())
                .collect();
            wanted_networks.sort();
            let (create, start) = match existing.get(container.name.as_str()) {
                None => (Some("missing".to_string()), true),
                // A controller killed while attaching networks leaves a
                // container with the right spec but missing attachments.
                Some((_, _, attached))
                    if attached
                        .iter()
                        .map(String::as_str)
                        .ne(wanted_networks.iter().copied()) =>
                {
                    steps.push(Step::RemoveContainer {
                        team: team.name.clone(),
                        name: container.name.clone(),
                        reason: format!(
                            "attached to {} of {} networks",
                            attached.len(),
                            wanted_networks.len()
                        ),
                    });
                    (Some("network attachments incomplete".to_string()), true)
                }
                Some((hash, _, _)) if *hash != wanted_hash => {
                    steps.push(Step::RemoveContainer {
                        team: team.name.clone(),
                        name: container.name.clone(),
                        reason: format!("config drift: spec {hash} → {wanted_hash}"),
                    });
                    (Some("config drift".to_string()), true)
                }
                Some((_, running, _)) => (None, !running),
            };
            if let Some(reason) = create {
                steps.push(Step::CreateContainer {
                    team: team.name.clone(),
                    name: container.name.clone(),
                    reason,
                });
            }
            if start {
                steps.push(Step::StartContainer {
                    team: team.name.clone(),
                    name: container.name.clone(),
                    reason: "not running".into(),
                });
            }
            if container.hostname == enshu_scenario::plan::ROUTER_HOST {
                steps.push(Step::ConfigureRouter {
                    team: team.name.clone(),
                    name: container.name.clone(),
                });
            } else if container.default_route.is_some() {
                steps.push(Step::ConfigureRoute {
                    team: team.name.clone(),
                    name: container.name.clone(),
                });
            }
        }
    }
    for container in &observed.containers {
        if !planned_names.contains(container.name.as_str()) {
            let team = container
                .labels
                .get(labels::TEAM)
                .cloned()
                .unwrap_or_default();
            steps.push(Step::RemoveContainer {
                team,
                name: container.name.clone(),
                reason: "not in the plan".into(),
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::Step;

    #[test]
    fn a_steps_kind_is_its_serialised_tag() {
        let team = "t01".to_string();
        let name = "n".to_string();
        let reason = "r".to_string();
        for step in [
            Step::CreateNetwork {
                team: team.clone(),
                name: name.clone(),
                reason: reason.clone(),
            },
            Step::RemoveContainer {
                team: team.clone(),
                name: name.clone(),
                reason: reason.clone(),
            },
            Step::CreateContainer {
                team: team.clone(),
                name: name.clone(),
                reason: reason.clone(),
            },
            Step::StartContainer {
                team: team.clone(),
                name: name.clone(),
                reason,
            },
            Step::ConfigureRouter {
                team: team.clone(),
                name: name.clone(),
            },
            Step::ConfigureRoute {
                team: team.clone(),
                name: name.clone(),
            },
            Step::TakeBackup {
                team: team.clone(),
                name: name.clone(),
                source: "fs01".into(),
                reason: "r".into(),
            },
            Step::ConfigureSensor {
                team,
                name,
                reason: "r".into(),
            },
        ] {
            let tag = serde_json::to_value(&step).unwrap()["step"].clone();
            assert_eq!(tag, step.kind());
        }
    }
}
