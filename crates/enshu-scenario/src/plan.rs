//! The planner: one scenario × N teams → concrete, isolated team ranges.
//!
//! The plan is pure data, so that `enshu plan` prints exactly what `enshu up`
//! will create, and the controller executes it without deciding anything
//! itself. The same input always gives byte-identical output: every map is
//! ordered and nothing depends on time or randomness.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::load::LoadedScenario;
use crate::model::*;
use crate::net::{Ipv4Net, RelativeSubnet};
use crate::roles::{self, ContainerRole, Hardening};
use crate::topology::{Target, Topology};

mod directory;

use crate::validate::{self, Context, Files};
pub use directory::{DirectoryPlan, PlannedDirectoryUser, env_names as directory_env_names};

pub mod background;
pub use background::StaffWorkstation;

/// Label keys every object Enshu creates carries.
pub mod labels {
    pub const MANAGED: &str = "enshu.managed";
    pub const SESSION: &str = "enshu.session";
    pub const TEAM: &str = "enshu.team";
    pub const SCENARIO: &str = "enshu.scenario";
    pub const SEGMENT: &str = "enshu.segment";
    pub const HOST: &str = "enshu.host";
    pub const ROLE: &str = "enshu.role";
    /// Hash of the object's spec, to detect drift on re-runs.
    pub const SPEC_HASH: &str = "enshu.spec-hash";
}

/// Host name of each team's router/firewall container.
pub const ROUTER_HOST: &str = "router";

/// The router's own nftables table, `inet enshu` (the rendered ruleset);
/// the rest of the ruleset (Docker's embedded DNS) is left alone.
pub const FIREWALL_FAMILY: &str = "inet";
pub const FIREWALL_TABLE: &str = "enshu";
/// The set of addresses the team blocked itself: the engine adds and
/// deletes its elements (`nft add element inet enshu team_blocked { ADDRESS }`).
pub const TEAM_BLOCKED_SET: &str = "team_blocked";
/// The chain, consulted first, that drops traffic to and from that set.
pub const TEAM_BLOCKS_CHAIN: &str = "team_blocks";
/// The router's table of `no_beacon` evidence, `inet enshu_beacons`: a
/// forward chain after the team's firewall (priority
/// [`BEACON_CHAIN_PRIORITY`]) sees only the packets `inet enshu` let
/// through. A reload keeps its set and counters (it flushes only the
/// chain); a rebuilt router starts it empty.
pub const BEACON_TABLE: &str = "enshu_beacons";
/// In [`BEACON_TABLE`]: `source . destination` of every watched beacon
/// pair that crossed the router within the check's window (each element
/// times out `window` seconds after its last packet).
pub const BEACON_SET: &str = "beacons";
/// The beacon chain's priority: after `inet enshu`'s forward chain (0).
pub const BEACON_CHAIN_PRIORITY: u32 = 10;
/// The quiet window of a `no_beacon` check that names none.
pub const DEFAULT_BEACON_WINDOW_SECONDS: u64 = 300;

/// The named counter in [`BEACON_TABLE`] of the packets from `source` to
/// `destination` the router forwarded (`beacon_10_64_10_101_to_…`).
pub fn beacon_counter(source: Ipv4Addr, destination: Ipv4Addr) -> String {
    let dotted = |address: Ipv4Addr| address.to_string().replace('.', "_");
    format!("beacon_{}_to_{}", dotted(source), dotted(destination))
}
/// Prefix of every bridge interface Enshu creates (host firewall rules match it).
pub const BRIDGE_PREFIX: &str = "esh";

#[derive(Clone)]
pub struct PlanOptions<'a> {
    pub session: String,
    pub teams: u32,
    pub pool: Option<Ipv4Net>,
    pub files: &'a dyn Files,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Plan {
    pub scenario: String,
    pub session: String,
    pub pool: Ipv4Net,
    pub team_prefix: u8,
    /// Every image the plan uses, sorted.
    pub images: Vec<String>,
    pub teams: Vec<TeamPlan>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TeamPlan {
    /// 1-based team number.
    pub index: u32,
    /// `t01`, `t02`, …
    pub name: String,
    pub block: Ipv4Net,
    pub networks: Vec<NetworkSpec>,
    pub containers: Vec<ContainerSpec>,
    /// Where the team's SSH port lands.
    pub way_in: WayIn,
    pub firewall: FirewallPlan,
    pub injects: Vec<PlannedInject>,
    pub checks: Vec<PlannedCheck>,
    pub answers: Vec<PlannedAnswer>,
    /// The team's mail (the scenario's `mail` block), resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailPlan>,
    /// What each backup host keeps a copy of, taken by `up`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<PlannedBackup>,
    /// The team's directory (the scenario's `directory` block), resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectoryPlan>,
    /// The team's network sensor (the scenario's `sensor` block), resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<crate::sensor::SensorPlan>,
    /// The staff workstations acting in the background (the scenario's
    /// `background` level), with what each may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub background: Vec<StaffWorkstation>,
}

/// The team's one way in: the host its SSH port forwards to, and the user
/// trainees log in as there (with the team's password).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WayIn {
    /// The container, e.g. `enshu-s1-t01-analyst`.
    pub container: String,
    /// Host name inside the range, e.g. `analyst`.
    pub hostname: String,
    /// `segment/host` in the scenario.
    pub reference: String,
    /// The login user of the host's role (`analyst` on the analyst workstation).
    pub user: String,
    /// The port sshd listens on in the container.
    pub port: u16,
}

/// One internal network (one segment of one team).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    pub segment: String,
    pub subnet: Ipv4Net,
    /// The bridge's own address on the host side (Docker requires one).
    pub gateway: Ipv4Addr,
    /// The team router's address in this segment: every host's default route.
    pub router: Ipv4Addr,
    /// Host-side bridge interface name (at most 15 characters).
    pub bridge: String,
    /// Never connected to the outside.
    pub internal: bool,
    /// The segment is part of the team's own range; `false` for one that
    /// stands for the outside world (the internet: attacker, C2, partners),
    /// whose hosts the team is never shown.
    pub team_range: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attachment {
    pub network: String,
    pub address: Ipv4Addr,
}

/// One container, fully specified.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    /// Host name inside the range (the scenario's name).
    pub hostname: String,
    /// `segment/host` in the scenario, or `router`.
    pub reference: String,
    pub role: ContainerRole,
    pub image: String,
    pub networks: Vec<Attachment>,
    /// Route every non-local destination through the team router.
    pub default_route: Option<Ipv4Addr>,
    /// Trainees log in here over SSH with the team's password: the way-in
    /// host and every host with `login: true`.
    pub login: bool,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub hardening: Hardening,
    /// Named volumes: what must outlive the container (a collector's logs
    /// through a team reset). Removed with the session at `down`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeMount>,
}

/// A named volume mounted in a container, created on first use with the
/// session's labels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeMount {
    pub name: String,
    pub path: String,
    pub labels: BTreeMap<String, String>,
}

impl TeamPlan {
    /// Whether a container of this team sits in the team's own range: on a
    /// network of its own, not only on segments that stand for the outside
    /// world (the router, on every network, is the team's).
    pub fn in_team_range(&self, container: &ContainerSpec) -> bool {
        container.networks.iter().any(|attachment| {
            self.networks
                .iter()
                .any(|network| network.name == attachment.network && network.team_range)
        })
    }

    /// The team's own containers (router first), never the attacker's
    /// infrastructure: what the team's portal and API may list.
    pub fn team_range_containers(&self) -> impl Iterator<Item = &ContainerSpec> {
        self.containers
            .iter()
            .filter(|container| self.in_team_range(container))
    }
}

impl ContainerSpec {
    /// The container's address in its first network.
    pub fn primary_address(&self) -> Option<Ipv4Addr> {
        self.networks.first().map(|attachment| attachment.address)
    }
}

/// What the team's router/firewall enforces: the declared flows, resolved
/// to addresses, and the nftables ruleset that says the same.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FirewallPlan {
    pub rules: Vec<FlowRule>,
    pub nftables: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlowRule {
    /// Index of the flow in the merged scenario.
    pub flow: usize,
    pub from: Vec<Ipv4Net>,
    pub to: Vec<Ipv4Net>,
    pub ports: Vec<PortSpec>,
    pub note: Option<String>,
}

/// Where an inject acts, resolved for one team.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ResolvedTarget {
    pub reference: String,
    /// The container for a host target; `None` for a segment.
    pub container: Option<String>,
    pub address: Option<Ipv4Addr>,
    pub subnet: Option<Ipv4Net>,
}

impl ResolvedTarget {
    /// The host's address, or else the segment's subnet, as text (empty
    /// when the reference resolved to nothing).
    pub fn value(&self) -> String {
        self.address
            .map(|address| address.to_string())
            .or(self.subnet.map(|subnet| subnet.to_string()))
            .unwrap_or_default()
    }
}

/// The texts of an inject the team reads, whose `{{segment/host}}`
/// placeholders the planner fills: a message's sender, subject and body, a
/// mail's subject and body.
fn team_texts(action: &Action) -> Vec<&Text> {
    match action {
        Action::Message(message) => vec![&message.from, &message.subject, &message.body],
        Action::Mail(mail) => vec![&mail.subject, &mail.body],
        _ => Vec::new(),
    }
}

fn team_texts_mut(action: &mut Action) -> Vec<&mut Text> {
    match action {
        Action::Message(message) => {
            vec![&mut message.from, &mut message.subject, &mut message.body]
        }
        Action::Mail(mail) => vec![&mut mail.subject, &mut mail.body],
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlannedInject {
    pub id: String,
    pub when: When,
    pub target: ResolvedTarget,
    pub action: Action,
    /// Every reference the action uses (`internet/c2`, a capture's
    /// `192.168.1.5`), resolved to this team's address or subnet.
    pub addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlannedCheck {
    pub objective: String,
    pub check: Check,
    pub target: ResolvedTarget,
    pub from: Option<ResolvedTarget>,
    pub to: Option<ResolvedTarget>,
    /// The inject a `password_changed` check counts from (its objective's):
    /// the password must have been set after it fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// The team's router container, where a `no_beacon` check reads the
    /// beacons that crossed it ([`BEACON_TABLE`]): evidence the team can
    /// neither write nor stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
}

/// A beacon pair the router counts for the `no_beacon` checks: packets
/// from `source` to `destination`, remembered `window_seconds` (the
/// longest window of the checks that watch it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BeaconWatch {
    source: Ipv4Addr,
    destination: Ipv4Addr,
    window_seconds: u64,
}

/// The pairs the team's `no_beacon` checks watch, one per pair.
fn beacon_watches(checks: &[PlannedCheck]) -> Vec<BeaconWatch> {
    let mut windows: BTreeMap<(Ipv4Addr, Ipv4Addr), u64> = BTreeMap::new();
    for check in checks
        .iter()
        .filter(|check| check.check.kind == CheckKind::NoBeacon)
    {
        let (Some(source), Some(destination)) = (
            check.target.address,
            check.to.as_ref().and_then(|to| to.address),
        ) else {
            continue;
        };
        let window = check
            .check
            .window
            .map_or(DEFAULT_BEACON_WINDOW_SECONDS, |window| window.seconds);
        let longest = windows.entry((source, destination)).or_default();
        *longest = (*longest).max(window);
    }
    windows
        .into_iter()
        .map(|((source, destination), window_seconds)| BeaconWatch {
            source,
            destination,
            window_seconds,
        })
        .collect()
}

/// The accepted answers for an answer objective, for this team.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedAnswer {
    pub objective: String,
    pub kind: AnswerKind,
    pub accepted: Vec<String>,
}

/// Why planning stopped.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the scenario has errors")]
    Invalid(Vec<crate::diagnostic::Diagnostic>),
    #[error("session name {0:?} is not valid: use 1-20 lower-case letters, digits and '-'")]
    BadSession(String),
    #[error("at least one team is needed")]
    NoTeams,
}

impl std::fmt::Debug for PlanOptions<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PlanOptions")
            .field("session", &self.session)
            .field("teams", &self.teams)
            .field("pool", &self.pool)
            .finish()
    }
}

fn valid_session(session: &str) -> bool {
    !session.is_empty()
        && session.len() <= 20
        && session.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
        && !session.starts_with('-')
}

/// Validate and plan. Warnings do not stop planning; errors do.
pub fn plan(loaded: &LoadedScenario, options: &PlanOptions) -> Result<Plan, PlanError> {
    if !valid_session(&options.session) {
        return Err(PlanError::BadSession(options.session.clone()));
    }
    if options.teams == 0 {
        return Err(PlanError::NoTeams);
    }
    let context = Context {
        teams: Some(options.teams),
        pool_override: options.pool,
        files: options.files,
    };
    let diagnostics = validate::validate(loaded, &context);
    if diagnostics.iter().any(|diagnostic| diagnostic.is_error()) {
        return Err(PlanError::Invalid(diagnostics));
    }
    let scenario = &loaded.scenario;
    let pool = options
        .pool
        .unwrap_or_else(|| scenario.addressing.pool.parse().expect("validated pool"));
    let team_prefix = scenario.addressing.team_prefix;
    let teams = (1..=options.teams)
        .map(|index| {
            let block = pool
                .subnet(team_prefix, u64::from(index - 1))
                .expect("validated pool size");
            plan_team(scenario, &options.session, index, options.teams, block)
        })
        .collect::<Vec<_>>();
    let mut images: Vec<String> = teams
        .iter()
        .flat_map(|team| {
            team.containers
                .iter()
                .map(|container| container.image.clone())
        })
        .collect();
    images.sort();
    images.dedup();
    Ok(Plan {
        scenario: scenario.id.clone(),
        session: options.session.clone(),
        pool,
        team_prefix,
        images,
        teams,
    })
}

/// `t01`; three digits when there are more than 99 teams.
pub fn team_name(index: u32, team_count: u32) -> String {
    if team_count > 99 {
        format!("t{index:03}")
    } else {
        format!("t{index:02}")
    }
}

fn bridge_name(network_name: &str) -> String {
    let digest = Sha256::digest(network_name.as_bytes());
    format!("{BRIDGE_PREFIX}{}", &hex::encode(digest)[..11])
}

/// Per-team addresses of segments and hosts.
struct TeamAddresses<'a> {
    topology: Topology<'a>,
    subnets: BTreeMap<&'a str, Ipv4Net>,
    relative: BTreeMap<&'a str, RelativeSubnet>,
}

impl<'a> TeamAddresses<'a> {
    fn host_address(&self, host: &Host) -> Ipv4Addr {
        let subnet = self.subnets[host.segment.as_str()];
        subnet
            .nth(u64::from(host.address))
            .expect("validated address")
    }

    fn resolve(&self, reference: &str, container_prefix: &str) -> ResolvedTarget {
        match self.topology.target_ref(reference) {
            Ok(Target::Host(host)) => ResolvedTarget {
                reference: reference.to_string(),
                container: Some(format!("{container_prefix}-{}", host.name)),
                address: Some(self.host_address(host)),
                subnet: None,
            },
            Ok(Target::Segment(segment)) => ResolvedTarget {
                reference: reference.to_string(),
                container: None,
                address: None,
                subnet: Some(self.subnets[segment.name.as_str()]),
            },
            Err(_) => ResolvedTarget {
                reference: reference.to_string(),
                container: None,
                address: None,
                subnet: None,
            },
        }
    }

    /// A selector as networks: whole segments as their subnet, hosts as /32.
    fn selector_networks(&self, selector: &str) -> Vec<Ipv4Net> {
        if selector == "*" {
            return self.subnets.values().copied().collect();
        }
        if let Some(segment) = Topology::selects_whole_segment(selector) {
            return self.subnets.get(segment).copied().into_iter().collect();
        }
        self.topology
            .select(selector)
            .unwrap_or_default()
            .into_iter()
            .map(|host| Ipv4Net {
                address: self.host_address(host),
                prefix: 32,
            })
            .collect()
    }
}

fn plan_team(
    scenario: &Scenario,
    session: &str,
    index: u32,
    team_count: u32,
    block: Ipv4Net,
) -> TeamPlan {
    let team = team_name(index, team_count);
    let prefix = format!("enshu-{session}-{team}");
    let team_prefix = scenario.addressing.team_prefix;
    let mut addresses = TeamAddresses {
        topology: Topology::new(scenario),
        subnets: BTreeMap::new(),
        relative: BTreeMap::new(),
    };
    for segment in &scenario.segments {
        let relative =
            RelativeSubnet::parse(&segment.subnet, team_prefix).expect("validated subnet");
        addresses.relative.insert(segment.name.as_str(), relative);
        addresses
            .subnets
            .insert(segment.name.as_str(), relative.in_block(&block));
    }
    let base_labels = |extra: &[(&str, &str)]| -> BTreeMap<String, String> {
        let mut labels: BTreeMap<String, String> = [
            (labels::MANAGED, "true"),
            (labels::SESSION, session),
            (labels::TEAM, team.as_str()),
            (labels::SCENARIO, scenario.id.as_str()),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
        labels.retain(|_, value| !value.is_empty());
        labels
    };

    let networks: Vec<NetworkSpec> = scenario
        .segments
        .iter()
        .map(|segment| {
            let subnet = addresses.subnets[segment.name.as_str()];
            let relative = addresses.relative[segment.name.as_str()];
            let name = format!("{prefix}-{}", segment.name);
            NetworkSpec {
                bridge: bridge_name(&name),
                name,
                segment: segment.name.clone(),
                subnet,
                gateway: subnet.nth(1).expect("segment has a gateway"),
                router: subnet
                    .nth(relative.router_offset())
                    .expect("segment has a router address"),
                internal: true,
                team_range: !segment.role.is_outside_team_range(),
                labels: base_labels(&[(labels::SEGMENT, segment.name.as_str())]),
            }
        })
        .collect();
    let network_of = |segment: &str| {
        networks
            .iter()
            .find(|network| network.segment == segment)
            .expect("planned network")
    };

    let mut containers = Vec::new();
    // The router first: every other host's default route points at it.
    let router_role = ContainerRole::Router;
    containers.push(ContainerSpec {
        name: format!("{prefix}-{ROUTER_HOST}"),
        hostname: ROUTER_HOST.to_string(),
        reference: ROUTER_HOST.to_string(),
        role: router_role,
        image: roles::image(router_role),
        networks: networks
            .iter()
            .map(|network| Attachment {
                network: network.name.clone(),
                address: network.router,
            })
            .collect(),
        default_route: None,
        login: false,
        env: BTreeMap::new(),
        labels: base_labels(&[
            (labels::HOST, ROUTER_HOST),
            (labels::ROLE, router_role.as_str()),
        ]),
        hardening: router_role.hardening(),
        volumes: Vec::new(),
    });
    let way_in_host = addresses
        .topology
        .way_in_host()
        .expect("validated way-in host");
    let way_in = WayIn {
        container: format!("{prefix}-{}", way_in_host.name),
        hostname: way_in_host.name.clone(),
        reference: format!("{}/{}", way_in_host.segment, way_in_host.name),
        user: roles::login_user(way_in_host.image)
            .expect("validated way-in role")
            .to_string(),
        port: 22,
    };
    for host in &scenario.hosts {
        let network = network_of(&host.segment);
        let address = addresses.host_address(host);
        let mut env = BTreeMap::new();
        env.insert("ENSHU_HOST".to_string(), host.name.clone());
        env.insert("ENSHU_TEAM".to_string(), team.clone());
        mail_env(scenario, &addresses, host, &mut env);
        let role = ContainerRole::Host(host.image);
        containers.push(ContainerSpec {
            name: format!("{prefix}-{}", host.name),
            hostname: host.name.clone(),
            reference: format!("{}/{}", host.segment, host.name),
            role,
            image: roles::image(role),
            networks: vec![Attachment {
                network: network.name.clone(),
                address,
            }],
            default_route: Some(network.router),
            login: host.login || host.name == way_in_host.name,
            env,
            labels: base_labels(&[
                (labels::HOST, host.name.as_str()),
                (labels::SEGMENT, host.segment.as_str()),
                (labels::ROLE, role.as_str()),
            ]),
            hardening: role.hardening(),
            volumes: Vec::new(),
        });
    }
    if let Some(logging) = &scenario.logging {
        plan_logging(logging, &addresses, &mut containers, &base_labels(&[]));
    }
    if let Some(directory) = &scenario.directory {
        directory::directory_env(directory, &addresses, &mut containers);
    }
    let staff = background::plan_background(scenario, &addresses, &prefix);
    background::background_env(&staff, scenario, &networks, &mut containers);

    let rules: Vec<FlowRule> = scenario
        .flows
        .iter()
        .enumerate()
        .map(|(flow_index, flow)| {
            let collect = |selectors: &OneOrMany<String>| {
                let mut networks: Vec<Ipv4Net> = selectors
                    .as_slice()
                    .iter()
                    .flat_map(|selector| addresses.selector_networks(selector))
                    .collect();
                networks.sort();
                networks.dedup();
                networks
            };
            let mut ports: Vec<PortSpec> = flow.ports.as_slice().to_vec();
            ports.sort();
            ports.dedup();
            FlowRule {
                flow: flow_index,
                from: collect(&flow.from),
                to: collect(&flow.to),
                ports,
                note: flow.note.clone(),
            }
        })
        .flat_map(|rule| {
            let flow = &scenario.flows[rule.flow];
            let reverse = flow.bidirectional.then(|| FlowRule {
                flow: rule.flow,
                from: rule.to.clone(),
                to: rule.from.clone(),
                ports: rule.ports.clone(),
                note: rule.note.clone(),
            });
            std::iter::once(rule).chain(reverse)
        })
        .collect();

    let injects = scenario
        .injects
        .iter()
        .map(|inject| {
            let mut resolved = BTreeMap::new();
            match &inject.action {
                Action::Replay(replay) => {
                    for (original, mapped) in &replay.map {
                        let value = addresses.resolve(mapped, &prefix).value();
                        resolved.insert(original.clone(), value);
                    }
                }
                Action::Traffic(traffic) => {
                    let value = addresses.resolve(&traffic.to, &prefix).value();
                    resolved.insert(traffic.to.clone(), value);
                }
                Action::Artefact(_) | Action::Message(_) | Action::Mail(_) => {}
            }
            for text in team_texts(&inject.action) {
                for value in [&text.ja, &text.en].into_iter().flatten() {
                    for reference in crate::model::placeholders(value) {
                        let value = addresses.resolve(reference, &prefix).value();
                        resolved.insert(reference.to_string(), value);
                    }
                }
            }
            let mut action = inject.action.clone();
            for text in team_texts_mut(&mut action) {
                for value in [&mut text.ja, &mut text.en].into_iter().flatten() {
                    *value = crate::model::fill_placeholders(value, &resolved);
                }
            }
            PlannedInject {
                id: inject.id.clone(),
                when: inject.when.clone(),
                target: addresses.resolve(&inject.target, &prefix),
                action,
                addresses: resolved,
            }
        })
        .collect();

    let mut checks = Vec::new();
    let mut answers = Vec::new();
    for objective in &scenario.objectives {
        match &objective.evidence {
            Evidence::Check(check) => checks.push(PlannedCheck {
                objective: objective.id.clone(),
                check: check.clone(),
                target: addresses.resolve(&check.target, &prefix),
                from: check
                    .from
                    .as_deref()
                    .map(|reference| addresses.resolve(reference, &prefix)),
                to: check
                    .to
                    .as_deref()
                    .map(|reference| addresses.resolve(reference, &prefix)),
                since: objective
                    .inject
                    .clone()
                    .filter(|_| check.kind == CheckKind::PasswordChanged),
                router: (check.kind == CheckKind::NoBeacon)
                    .then(|| format!("{prefix}-{ROUTER_HOST}")),
            }),
            Evidence::Answer(answer) => {
                let accepted = match answer.kind {
                    AnswerKind::Host => {
                        let target = addresses.resolve(&answer.expect, &prefix);
                        let host_name = answer
                            .expect
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let mut accepted = vec![host_name, answer.expect.clone()];
                        accepted.extend(target.address.map(|address| address.to_string()));
                        accepted
                    }
                    AnswerKind::Address => addresses
                        .resolve(&answer.expect, &prefix)
                        .address
                        .map(|address| address.to_string())
                        .into_iter()
                        .collect(),
                    AnswerKind::Domain | AnswerKind::Text => {
                        vec![answer.expect.trim().to_lowercase()]
                    }
                    AnswerKind::Sha256 => vec![answer.expect.to_lowercase()],
                };
                answers.push(PlannedAnswer {
                    objective: objective.id.clone(),
                    kind: answer.kind,
                    accepted,
                });
            }
            Evidence::Report(_) | Evidence::Judged(_) => {}
        }
    }

    resolve_restored_peers(scenario, &addresses, &prefix, &mut checks);
    let mut nftables = render_nftables(&team, &rules);
    nftables.push_str(&render_beacon_table(&beacon_watches(&checks)));
    let sensor = scenario
        .sensor
        .as_ref()
        .map(|sensor| crate::sensor::plan_sensor(sensor, &networks, &prefix, session, &team));
    TeamPlan {
        index,
        name: team,
        block,
        networks,
        containers,
        way_in,
        firewall: FirewallPlan { rules, nftables },
        injects,
        checks,
        answers,
        mail: plan_mail(scenario, &addresses, &prefix),
        backups: plan_backups(scenario, &addresses, &prefix),
        directory: scenario
            .directory
            .as_ref()
            .map(|directory| directory::plan_directory(directory, &addresses, &prefix)),
        sensor,
        background: staff,
    }
}

/// The netlink log group the router's ulogd2 reads (its firewall log).
pub const FIREWALL_LOG_GROUP: u16 = 1;
/// Packets per second the firewall logs of accepted new connections, and
/// of denied packets (a scan must not flood the SIEM).
const ACCEPTED_LOG_RATE: u32 = 200;
const DENIED_LOG_RATE: u32 = 20;

fn log_statement(per_second: u32) -> String {
    format!(
        "limit rate {per_second}/second burst {} packets log group {FIREWALL_LOG_GROUP}",
        per_second * 2
    )
}

/// The router's nftables ruleset: default deny between segments, the
/// declared flows, and a `team_blocks` chain the team manages itself, which
/// is consulted first so a block always wins over an allowed flow.
fn render_nftables(team: &str, rules: &[FlowRule]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# enshu router/firewall for team {team}: generated, default deny"
    );
    // Replace only our own table: the container also holds Docker's
    // embedded-DNS NAT rules, which `flush ruleset` would delete.
    let table = format!("{FIREWALL_FAMILY} {FIREWALL_TABLE}");
    let _ = writeln!(out, "table {table}");
    let _ = writeln!(out, "delete table {table}");
    let _ = writeln!(out, "table {table} {{");
    // The team's own blocks (portal → engine → `nft add element`).
    let _ = writeln!(out, "  set {TEAM_BLOCKED_SET} {{");
    let _ = writeln!(out, "    type ipv4_addr;");
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "  chain {TEAM_BLOCKS_CHAIN} {{");
    for side in ["daddr", "saddr"] {
        let _ = writeln!(
            out,
            "    ip {side} @{TEAM_BLOCKED_SET} {} prefix \"blocked \"",
            log_statement(DENIED_LOG_RATE)
        );
        let _ = writeln!(out, "    ip {side} @{TEAM_BLOCKED_SET} drop");
    }
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "  chain forward {{");
    let _ = writeln!(out, "    type filter hook forward priority 0; policy drop;");
    let _ = writeln!(out, "    jump {TEAM_BLOCKS_CHAIN}");
    let _ = writeln!(out, "    ct state established,related accept");
    let _ = writeln!(out, "    ct state invalid drop");
    for rule in rules {
        if rule.from.is_empty() || rule.to.is_empty() {
            let _ = writeln!(out, "    # flows[{}]: matches no host", rule.flow);
            continue;
        }
        if let Some(note) = &rule.note {
            let _ = writeln!(
                out,
                "    # flows[{}]: {}",
                rule.flow,
                note.replace('\n', " ")
            );
        } else {
            let _ = writeln!(out, "    # flows[{}]", rule.flow);
        }
        let set = |networks: &[Ipv4Net]| {
            let items: Vec<String> = networks
                .iter()
                .map(|net| {
                    if net.prefix == 32 {
                        net.address.to_string()
                    } else {
                        net.to_string()
                    }
                })
                .collect();
            format!("{{ {} }}", items.join(", "))
        };
        let (from, to) = (set(&rule.from), set(&rule.to));
        for port in &rule.ports {
            let matcher = match (port.protocol, port.ports) {
                (Protocol::Any, _) => String::new(),
                (Protocol::Icmp, _) => " meta l4proto icmp".to_string(),
                (Protocol::Tcp, Some((low, high))) if low == high => format!(" tcp dport {low}"),
                (Protocol::Tcp, Some((low, high))) => format!(" tcp dport {low}-{high}"),
                (Protocol::Udp, Some((low, high))) if low == high => format!(" udp dport {low}"),
                (Protocol::Udp, Some((low, high))) => format!(" udp dport {low}-{high}"),
                (_, None) => String::new(),
            };
            // Every accepted new connection is logged (up to a rate; over
            // it the connection is still accepted, only not logged).
            let _ = writeln!(
                out,
                "    ip saddr {from} ip daddr {to}{matcher} ct state new {} prefix \"accept flows[{}] \"",
                log_statement(ACCEPTED_LOG_RATE),
                rule.flow
            );
            let _ = writeln!(
                out,
                "    ip saddr {from} ip daddr {to}{matcher} ct state new accept"
            );
        }
    }
    let _ = writeln!(
        out,
        "    {} prefix \"deny \"",
        log_statement(DENIED_LOG_RATE)
    );
    let _ = writeln!(out, "    counter comment \"denied\"");
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "  chain input {{");
    let _ = writeln!(out, "    type filter hook input priority 0; policy drop;");
    let _ = writeln!(out, "    ct state established,related accept");
    let _ = writeln!(out, "    iif lo accept");
    let _ = writeln!(out, "    meta l4proto icmp accept");
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "}}");
    out
}

/// The router's beacon evidence ([`BEACON_TABLE`]), empty when no check
/// watches a beacon. Declared without `delete`, so a reload keeps what was
/// counted; only its chain is flushed and written again.
fn render_beacon_table(watches: &[BeaconWatch]) -> String {
    let mut out = String::new();
    if watches.is_empty() {
        return out;
    }
    let table = format!("{FIREWALL_FAMILY} {BEACON_TABLE}");
    let _ = writeln!(
        out,
        "# no_beacon evidence: beacons the team's firewall let through"
    );
    let _ = writeln!(out, "table {table} {{");
    let _ = writeln!(out, "  set {BEACON_SET} {{");
    let _ = writeln!(out, "    type ipv4_addr . ipv4_addr;");
    let _ = writeln!(out, "    flags dynamic, timeout;");
    let _ = writeln!(out, "  }}");
    for watch in watches {
        let _ = writeln!(
            out,
            "  counter {} {{",
            beacon_counter(watch.source, watch.destination)
        );
        let _ = writeln!(out, "  }}");
    }
    let _ = writeln!(out, "  chain forward {{");
    let _ = writeln!(
        out,
        "    type filter hook forward priority {BEACON_CHAIN_PRIORITY}; policy accept;"
    );
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "}}");
    let _ = writeln!(out, "flush chain {table} forward");
    let _ = writeln!(out, "table {table} {{");
    let _ = writeln!(out, "  chain forward {{");
    for watch in watches {
        let _ = writeln!(
            out,
            "    ip saddr {} ip daddr {} counter name \"{}\" update @{BEACON_SET} {{ ip saddr . ip daddr timeout {}s }}",
            watch.source,
            watch.destination,
            beacon_counter(watch.source, watch.destination),
            watch.window_seconds
        );
    }
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "}}");
    out
}

impl Plan {
    /// A human-readable rendering of the plan.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plan for scenario {} · session {} · {} team(s) from pool {} (/{} per team)",
            self.scenario,
            self.session,
            self.teams.len(),
            self.pool,
            self.team_prefix
        );
        let _ = writeln!(out, "images: {}", self.images.join(", "));
        for team in &self.teams {
            let _ = writeln!(out, "\nteam {} ({})", team.name, team.block);
            let _ = writeln!(
                out,
                "  way in: ssh {}@{} ({})",
                team.way_in.user, team.way_in.hostname, team.way_in.reference
            );
            if let Some(mail) = &team.mail {
                let hops: Vec<&str> = mail
                    .chain
                    .iter()
                    .map(|hop| hop.reference.as_str())
                    .collect();
                let _ = writeln!(
                    out,
                    "  mail: {} via {} (the SOC sends from {})",
                    mail.recipient,
                    hops.join(" -> "),
                    mail.soc_sender.reference
                );
            }
            let _ = writeln!(out, "  networks:");
            for network in &team.networks {
                let _ = writeln!(
                    out,
                    "    {:<36} {:<18} router {:<15} bridge {}",
                    network.name,
                    network.subnet.to_string(),
                    network.router.to_string(),
                    network.bridge
                );
            }
            let _ = writeln!(out, "  containers:");
            for container in &team.containers {
                let addresses: Vec<String> = container
                    .networks
                    .iter()
                    .map(|attachment| attachment.address.to_string())
                    .collect();
                let hardening = &container.hardening;
                let _ = writeln!(
                    out,
                    "    {:<36} {:<22} {:<16} caps [{}]{} mem {}Mi cpu {} pids {}{}",
                    container.name,
                    container.image,
                    addresses.join(","),
                    hardening.cap_add.join(","),
                    if hardening.read_only { " ro" } else { "" },
                    hardening.memory_bytes / (1024 * 1024),
                    hardening.nano_cpus as f64 / 1e9,
                    hardening.pids_limit,
                    if container.login { " login" } else { "" }
                );
            }
            let _ = writeln!(
                out,
                "  firewall ({} rules, default deny):",
                team.firewall.rules.len()
            );
            for rule in &team.firewall.rules {
                let show = |networks: &[Ipv4Net]| {
                    networks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let ports: Vec<String> = rule.ports.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    out,
                    "    [{}] {} -> {} {}",
                    rule.flow,
                    show(&rule.from),
                    show(&rule.to),
                    ports.join(",")
                );
            }
            let _ = writeln!(out, "  injects:");
            for inject in &team.injects {
                let when = match &inject.when {
                    When::At(offset) => format!("at {offset}"),
                    When::After(after) => format!("{} after {}", after.delay, after.inject),
                    When::On(on) => format!("{} after {} {:?}", on.delay, on.objective, on.outcome)
                        .to_lowercase(),
                };
                let target = inject
                    .target
                    .address
                    .map(|address| address.to_string())
                    .or(inject.target.subnet.map(|subnet| subnet.to_string()))
                    .unwrap_or_default();
                let resolved: Vec<String> = inject
                    .addresses
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "    {:<20} {:<22} {} ({}) {}",
                    inject.id,
                    when,
                    inject.target.reference,
                    target,
                    resolved.join(" ")
                );
            }
            let _ = writeln!(out, "  checks:");
            for check in &team.checks {
                let target = check
                    .target
                    .address
                    .map(|address| address.to_string())
                    .unwrap_or_default();
                let kind = serde_json::to_value(check.check.kind)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    {:<24} {:<15} {} ({})",
                    check.objective, kind, check.target.reference, target
                );
            }
            for answer in &team.answers {
                let _ = writeln!(
                    out,
                    "    {:<24} answer          accepts {}",
                    answer.objective,
                    answer.accepted.join(" | ")
                );
            }
            write_backups(&mut out, team);
            background::write_background(&mut out, team);
        }
        out
    }
}

impl Plan {
    /// The same networks and containers as a Compose file (format 2.4, which
    /// Compose v1 and v2 both read). Enshu itself does not use it: it is the
    /// anchor of the bring-up benchmark and a way to inspect a plan with
    /// familiar tools. It lacks what Compose cannot express: default routes
    /// through the router and the router's rules.
    pub fn to_compose(&self) -> String {
        use serde_json::{Map, Value, json};
        let mut services = Map::new();
        let mut networks = Map::new();
        for team in &self.teams {
            for network in &team.networks {
                networks.insert(
                    network.name.clone(),
                    json!({
                        "name": network.name,
                        "driver": "bridge",
                        "internal": network.internal,
                        "driver_opts": {
                            "com.docker.network.bridge.name": network.bridge,
                            "com.docker.network.bridge.enable_ip_masquerade": "false",
                            "com.docker.network.bridge.inhibit_ipv4": "true",
                        },
                        "ipam": {"config": [{"subnet": network.subnet.to_string(), "gateway": network.gateway.to_string()}]},
                        "labels": network.labels,
                    }),
                );
            }
            for container in &team.containers {
                let hardening = &container.hardening;
                let attached: Map<String, Value> = container
                    .networks
                    .iter()
                    .map(|attachment| {
                        (
                            attachment.network.clone(),
                            json!({"ipv4_address": attachment.address.to_string()}),
                        )
                    })
                    .collect();
                let mut service = json!({
                    "image": container.image,
                    "container_name": container.name,
                    "hostname": container.hostname,
                    "init": true,
                    "cap_drop": hardening.cap_drop,
                    "cap_add": hardening.cap_add,
                    "read_only": hardening.read_only,
                    "tmpfs": hardening.tmpfs,
                    "mem_limit": hardening.memory_bytes,
                    "cpus": hardening.nano_cpus as f64 / 1e9,
                    "pids_limit": hardening.pids_limit,
                    "environment": container.env,
                    "labels": container.labels,
                    "networks": attached,
                    "stop_grace_period": "2s",
                });
                if hardening.no_new_privileges {
                    service["security_opt"] = json!(["no-new-privileges:true"]);
                }
                if !hardening.sysctls.is_empty() {
                    service["sysctls"] = json!(hardening.sysctls);
                }
                services.insert(container.name.clone(), service);
            }
        }
        let document = json!({"version": "2.4", "services": services, "networks": networks});
        serde_saphyr::to_string(&document).expect("a compose document serialises")
    }
}

/// The team's mail, resolved: where mail for the domain enters, the hops
/// it takes and the mailbox it ends in. The injector delivers to it; the
/// relays' postfix and the analyst's mail client are configured from the
/// same scenario block by [`mail_env`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MailPlan {
    pub domain: String,
    /// `user@domain`, where mail to the team goes.
    pub recipient: String,
    /// The mailbox user (dovecot's), e.g. `team`.
    pub user: String,
    /// The SOC's `From` address.
    pub soc_address: String,
    /// The host the SOC's mail is sent from.
    pub soc_sender: ResolvedTarget,
    /// The hops in order: every relay, then the mailbox host (the last).
    pub chain: Vec<ResolvedTarget>,
}

impl MailPlan {
    /// The host mail enters at (the first relay, or the mailbox host).
    pub fn entry(&self) -> &ResolvedTarget {
        &self.chain[0]
    }

    /// The mailbox host.
    pub fn mailbox(&self) -> &ResolvedTarget {
        self.chain.last().expect("the chain ends at the mailbox")
    }

    /// The way to another mailbox than the team's (a `mail` inject's
    /// `to`): `user`'s at `host` (`segment/host`), the chain cut after
    /// that host. `None` when `host` is not on the chain (refused by
    /// `validate`).
    pub fn towards(&self, host: &str, user: &str) -> Option<MailPlan> {
        let end = self.chain.iter().position(|hop| hop.reference == host)?;
        Some(MailPlan {
            recipient: format!("{user}@{}", self.domain),
            user: user.to_string(),
            chain: self.chain[..=end].to_vec(),
            ..self.clone()
        })
    }
}

/// Environment of the mail role and the analyst workstation that the
/// planner sets: every host of the chain learns the domain; each relay its
/// next hop (`ENSHU_MAIL_ROUTES`, `domain=address` pairs, which its init
/// renders as postfix `relay_domains` and `transport_maps`); the analyst's
/// mail client where the mailbox is.
pub mod mail_env_names {
    /// The mail domain of a host of the chain.
    pub const DOMAIN: &str = "ENSHU_MAIL_DOMAIN";
    /// `domain=address` pairs a relay forwards to (space-separated).
    pub const ROUTES: &str = "ENSHU_MAIL_ROUTES";
    /// The mailbox host's address, for the analyst's mail client.
    pub const MAILBOX: &str = "ENSHU_MAILBOX";
    /// The mailbox user the analyst's client logs in as.
    pub const MAILBOX_USER: &str = "ENSHU_MAILBOX_USER";
    /// Users a relay keeps mail for itself (space-separated), though it
    /// passes the rest of the domain on: the `to` of `mail` injects.
    pub const LOCAL_USERS: &str = "ENSHU_MAIL_LOCAL_USERS";
}

fn mail_env(
    scenario: &Scenario,
    addresses: &TeamAddresses,
    host: &Host,
    env: &mut BTreeMap<String, String>,
) {
    let Some(mail) = &scenario.mail else { return };
    let reference = format!("{}/{}", host.segment, host.name);
    let address_of = |reference: &str| {
        addresses
            .topology
            .host_ref(reference)
            .map(|host| addresses.host_address(host).to_string())
            .expect("validated mail host")
    };
    let chain = mail.chain();
    if let Some(position) = chain.iter().position(|hop| *hop == reference) {
        env.insert(mail_env_names::DOMAIN.to_string(), mail.domain.clone());
        if let Some(next) = chain.get(position + 1) {
            env.insert(
                mail_env_names::ROUTES.to_string(),
                format!("{}={}", mail.domain, address_of(next)),
            );
            let local: BTreeSet<&str> = scenario
                .injects
                .iter()
                .filter_map(|inject| match &inject.action {
                    Action::Mail(Mail { to: Some(to), .. }) if to.host == reference => {
                        Some(to.user.as_str())
                    }
                    _ => None,
                })
                .collect();
            if !local.is_empty() {
                env.insert(
                    mail_env_names::LOCAL_USERS.to_string(),
                    local.into_iter().collect::<Vec<_>>().join(" "),
                );
            }
        }
    }
    if host.image == ImageRole::Analyst {
        env.insert(
            mail_env_names::MAILBOX.to_string(),
            address_of(&mail.mailbox),
        );
        env.insert(mail_env_names::MAILBOX_USER.to_string(), mail.user.clone());
    }
}

fn plan_mail(scenario: &Scenario, addresses: &TeamAddresses, prefix: &str) -> Option<MailPlan> {
    let mail = scenario.mail.as_ref()?;
    Some(MailPlan {
        domain: mail.domain.clone(),
        recipient: mail.recipient(),
        user: mail.user.clone(),
        soc_address: mail.soc_address(),
        soc_sender: addresses.resolve(mail.soc_sender(), prefix),
        chain: mail
            .chain()
            .into_iter()
            .map(|hop| addresses.resolve(hop, prefix))
            .collect(),
    })
}

/// One backup host of a team and the copies it keeps.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedBackup {
    /// The backup host's container, e.g. `enshu-s1-t01-backup01`.
    pub container: String,
    /// `segment/host` in the scenario.
    pub reference: String,
    pub sources: Vec<BackupSource>,
}

/// A host whose data a backup host keeps, and how the restore reaches it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupSource {
    pub container: String,
    /// Host name inside the range: the copy's name on the backup host
    /// (`/srv/backup/<hostname>/`).
    pub hostname: String,
    pub reference: String,
    pub role: ImageRole,
    pub address: Ipv4Addr,
    /// The directories copied (the role's data paths).
    pub paths: Vec<String>,
    /// The user the restore connects as, and its TCP port.
    pub restore_user: String,
    pub restore_port: u16,
}

/// The backup hosts of the scenario, resolved for one team.
fn plan_backups(
    scenario: &Scenario,
    addresses: &TeamAddresses,
    container_prefix: &str,
) -> Vec<PlannedBackup> {
    scenario
        .hosts
        .iter()
        .filter(|host| host.image == ImageRole::Backup)
        .map(|host| PlannedBackup {
            container: format!("{container_prefix}-{}", host.name),
            reference: format!("{}/{}", host.segment, host.name),
            sources: host
                .backup
                .iter()
                .flat_map(|backup| &backup.of)
                .filter_map(|reference| addresses.topology.host_ref(reference).ok())
                .filter_map(|source| {
                    let (user, port) = roles::restore_access(source.image)?;
                    Some(BackupSource {
                        container: format!("{container_prefix}-{}", source.name),
                        hostname: source.name.clone(),
                        reference: format!("{}/{}", source.segment, source.name),
                        role: source.image,
                        address: addresses.host_address(source),
                        paths: roles::data_paths(source.image)
                            .iter()
                            .map(|path| path.to_string())
                            .collect(),
                        restore_user: user.to_string(),
                        restore_port: port,
                    })
                })
                .collect(),
        })
        .collect()
}

/// A `restored` check compares with the copy of its target a backup host
/// keeps: its `to` is that backup host (the first one that keeps it, when
/// the check names none), and its `path` the target's data (its role's
/// data path, when the check names none).
fn resolve_restored_peers(
    scenario: &Scenario,
    addresses: &TeamAddresses,
    container_prefix: &str,
    checks: &mut [PlannedCheck],
) {
    for planned in checks
        .iter_mut()
        .filter(|planned| planned.check.kind == CheckKind::Restored)
    {
        let Ok(target) = addresses.topology.host_ref(&planned.check.target) else {
            continue;
        };
        if planned.check.path.is_none()
            && let [path] = roles::data_paths(target.image)
        {
            planned.check.path = Some(path.to_string());
        }
        if planned.to.is_some() {
            continue;
        }
        let keeper = scenario.hosts.iter().find(|host| {
            host.image == ImageRole::Backup
                && host
                    .backup
                    .iter()
                    .flat_map(|backup| &backup.of)
                    .any(|reference| {
                        addresses
                            .topology
                            .host_ref(reference)
                            .is_ok_and(|source| source.name == target.name)
                    })
        });
        if let Some(keeper) = keeper {
            let reference = format!("{}/{}", keeper.segment, keeper.name);
            planned.to = Some(addresses.resolve(&reference, container_prefix));
        }
    }
}

/// The plan's text: what each backup host copies at `up`.
fn write_backups(out: &mut String, team: &TeamPlan) {
    if team.backups.is_empty() {
        return;
    }
    let _ = writeln!(out, "  backups (taken at up):");
    for backup in &team.backups {
        for source in &backup.sources {
            let _ = writeln!(
                out,
                "    {:<24} keeps {} {} (restored as {} on tcp/{})",
                backup.reference,
                source.reference,
                source.paths.join(", "),
                source.restore_user,
                source.restore_port
            );
        }
    }
}

/// The collectors' addresses, where every host of the team's range (and the
/// router, with its firewall log and flow records) sends its logs:
/// `ENSHU_SYSLOG`, and each collector's store on a volume that outlives a
/// team reset. Each collector is told the senders' host names
/// (`ENSHU_LOG_HOSTS`): they get a file each, any other name shares one
/// (`other.log`), so a team cannot make a collector create files without
/// bound by inventing names.
fn plan_logging(
    logging: &Logging,
    addresses: &TeamAddresses,
    containers: &mut [ContainerSpec],
    labels: &BTreeMap<String, String>,
) {
    let collectors: Vec<&Host> = logging
        .collectors
        .iter()
        .filter_map(|reference| addresses.topology.host_ref(reference).ok())
        .collect();
    let collector_addresses = collectors
        .iter()
        .map(|host| addresses.host_address(host).to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if collector_addresses.is_empty() {
        return;
    }
    let is_collector = |container: &ContainerSpec| {
        collectors
            .iter()
            .any(|host| container.reference == format!("{}/{}", host.segment, host.name))
    };
    let is_team_host = |container: &ContainerSpec| match container.role {
        ContainerRole::Router => true,
        ContainerRole::Host(_) => addresses
            .topology
            .host(&container.hostname)
            .is_some_and(|host| addresses.topology.is_team_host(host)),
    };
    let senders = containers
        .iter()
        .filter(|container| !is_collector(container) && is_team_host(container))
        .map(|container| container.hostname.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for container in containers.iter_mut() {
        let collector = is_collector(container);
        let team_host = is_team_host(container);
        if collector {
            container
                .env
                .insert("ENSHU_LOG_HOSTS".to_string(), senders.clone());
            let name = format!("{}-logs", container.name);
            container.volumes.push(VolumeMount {
                name,
                path: COLLECTOR_STORE.to_string(),
                labels: labels.clone(),
            });
        } else if team_host {
            container
                .env
                .insert("ENSHU_SYSLOG".to_string(), collector_addresses.clone());
        }
    }
}

/// Where a collector keeps what it received (per-host files, the merged
/// `all.log`).
pub const COLLECTOR_STORE: &str = "/var/log/remote";
