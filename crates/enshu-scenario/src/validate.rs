//! Semantic checks: everything serde cannot see.
//!
//! `validate` returns every problem at once, so an author fixes a scenario in
//! one pass instead of one error per run. It does no I/O itself: capture
//! files are checked through the [`Files`] the caller passes in.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::diagnostic::{Diagnostic, Severity};
use crate::load::LoadedScenario;
use crate::model::*;
use crate::net::{Ipv4Net, RelativeSubnet};
use crate::roles;
use crate::topology::{Target, Topology, suggestion};

mod directory;
mod logging;
mod role_support;
mod scoring;
mod sensor;

/// Reading capture files, supplied by the caller so validation stays pure.
pub trait Files {
    /// Check that the capture at `path` (relative to the scenario file)
    /// exists and is a readable pcap or pcapng file.
    fn check_capture(&self, path: &str) -> Result<(), String>;
}

/// For callers that have no files to check (tests, the planner benchmark).
pub struct NoFiles;

impl Files for NoFiles {
    fn check_capture(&self, _path: &str) -> Result<(), String> {
        Ok(())
    }
}

/// What validation needs besides the scenario.
pub struct Context<'a> {
    /// Number of teams that will be planned, to check the pool is large enough.
    pub teams: Option<u32>,
    /// A pool given on the command line instead of the scenario's.
    pub pool_override: Option<Ipv4Net>,
    pub files: &'a dyn Files,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context {
            teams: None,
            pool_override: None,
            files: &NoFiles,
        }
    }
}

/// Every problem in a loaded scenario, sorted by position.
pub fn validate(loaded: &LoadedScenario, context: &Context) -> Vec<Diagnostic> {
    let mut checker = Checker {
        loaded,
        scenario: &loaded.scenario,
        topology: Topology::new(&loaded.scenario),
        found: Vec::new(),
    };
    checker.metadata();
    let subnets = checker.addressing_and_segments(context);
    checker.hosts(&subnets);
    checker.way_in();
    checker.flows();
    checker.logging();
    checker.directory();
    checker.sensor();
    checker.my_number_exposure();
    checker.forms();
    let earliest = checker.injects(context);
    checker.objectives(&earliest);
    checker.scoring();
    checker.mail();
    checker.trigger_cycles();
    checker.role_support();
    checker.backups();
    let mut found = checker.found;
    crate::diagnostic::sort(&mut found);
    found.dedup();
    found
}

struct Checker<'a> {
    loaded: &'a LoadedScenario,
    scenario: &'a Scenario,
    topology: Topology<'a>,
    found: Vec<Diagnostic>,
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
        && !text.starts_with('-')
        && !text.ends_with('-')
}

const NAME_RULE: &str = "use lower-case letters, digits and '-', at most 40 characters";

impl<'a> Checker<'a> {
    fn error(&mut self, path: impl AsRef<str>, message: impl Into<String>) {
        self.found.push(
            self.loaded
                .diagnostic(path.as_ref(), Severity::Error, message),
        );
    }

    fn warning(&mut self, path: impl AsRef<str>, message: impl Into<String>) {
        self.found.push(
            self.loaded
                .diagnostic(path.as_ref(), Severity::Warning, message),
        );
    }

    fn check_name(&mut self, path: &str, what: &str, name: &str) {
        if !is_name(name) {
            self.error(
                path,
                format!("{what} name {name:?} is not valid: {NAME_RULE}"),
            );
        }
    }

    /// Report names used twice; `names` yields (path, name).
    fn check_unique<'n>(&mut self, what: &str, names: impl Iterator<Item = (String, &'n str)>) {
        let mut first_seen: HashMap<&str, String> = HashMap::new();
        let mut duplicates = Vec::new();
        for (path, name) in names {
            match first_seen.get(name) {
                Some(first_path) => duplicates.push((path, name, first_path.clone())),
                None => {
                    first_seen.insert(name, path);
                }
            }
        }
        for (path, name, first_path) in duplicates {
            let first = self.loaded.diagnostic(&first_path, Severity::Error, "");
            self.error(
                format!("{path}.name"),
                format!(
                    "duplicate {what} {name:?} (first defined at line {})",
                    first.line
                ),
            );
        }
    }

    fn check_text(&mut self, path: &str, what: &str, text: &Text) {
        if text.is_empty() {
            self.error(path, format!("{what} needs text in ja or en"));
        }
    }

    fn metadata(&mut self) {
        let scenario = self.scenario;
        if scenario.version != 1 {
            self.error(
                "version",
                format!(
                    "unsupported version {}; this Enshu reads version 1",
                    scenario.version
                ),
            );
        }
        if !is_name(&scenario.id) {
            self.error(
                "id",
                format!("scenario id {:?} is not valid: {NAME_RULE}", scenario.id),
            );
        }
        self.check_text("title", "title", &scenario.title);
        if scenario.duration.seconds == 0 {
            self.error("duration", "duration must be longer than zero");
        }
        if scenario.hosts.is_empty() {
            self.error(
                "hosts",
                "the scenario has no hosts (add some, or extend a template)",
            );
        }
    }

    /// Checks the pool and segment subnets; returns each valid segment's subnet.
    fn addressing_and_segments(&mut self, context: &Context) -> HashMap<&'a str, RelativeSubnet> {
        let addressing = &self.scenario.addressing;
        let pool = match context.pool_override {
            Some(pool) => Some(pool),
            None => match addressing.pool.parse::<Ipv4Net>() {
                Ok(pool) => Some(pool),
                Err(message) => {
                    self.error("addressing.pool", format!("pool: {message}"));
                    None
                }
            },
        };
        let team_prefix = addressing.team_prefix;
        if !(8..=28).contains(&team_prefix) {
            self.error(
                "addressing.team_prefix",
                format!("team_prefix /{team_prefix} must be between /8 and /28"),
            );
        }
        if let Some(pool) = pool {
            if team_prefix < pool.prefix {
                self.error(
                    "addressing.team_prefix",
                    format!("a team block (/{team_prefix}) cannot be larger than the pool {pool}"),
                );
            } else if let Some(teams) = context.teams {
                let available = 1u64 << (team_prefix - pool.prefix).min(63);
                if u64::from(teams) > available {
                    let path = if context.pool_override.is_some() {
                        "addressing"
                    } else {
                        "addressing.pool"
                    };
                    let origin = if context.pool_override.is_some() {
                        " (--pool)"
                    } else if self.loaded.main_source().has("addressing.pool") {
                        ""
                    } else {
                        " (the default pool)"
                    };
                    self.error(
                        path,
                        format!(
                            "pool {pool}{origin} is too small for {teams} teams: it holds {available} blocks of /{team_prefix}; use a larger pool or a longer team_prefix"
                        ),
                    );
                }
            }
        }

        let segments = &self.scenario.segments;
        self.check_unique(
            "segment",
            segments
                .iter()
                .enumerate()
                .map(|(index, segment)| (format!("segments[{index}]"), segment.name.as_str())),
        );
        let mut subnets: HashMap<&str, RelativeSubnet> = HashMap::new();
        let mut placed: Vec<(usize, RelativeSubnet)> = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            let path = format!("segments[{index}]");
            self.check_name(&format!("{path}.name"), "segment", &segment.name);
            let subnet = match RelativeSubnet::parse(&segment.subnet, team_prefix) {
                Ok(subnet) => subnet,
                Err(message) => {
                    self.error(
                        format!("{path}.subnet"),
                        format!("segment {:?}: {message}", segment.name),
                    );
                    continue;
                }
            };
            for (other_index, other) in &placed {
                if subnet.overlaps(other) {
                    let other_segment = &segments[*other_index];
                    self.error(
                        format!("{path}.subnet"),
                        format!(
                            "segment {:?} ({}) overlaps segment {:?} ({})",
                            segment.name, segment.subnet, other_segment.name, other_segment.subnet
                        ),
                    );
                }
            }
            placed.push((index, subnet));
            subnets.entry(segment.name.as_str()).or_insert(subnet);
        }
        subnets
    }

    fn hosts(&mut self, subnets: &HashMap<&str, RelativeSubnet>) {
        let hosts = &self.scenario.hosts;
        self.check_unique(
            "host",
            hosts
                .iter()
                .enumerate()
                .map(|(index, host)| (format!("hosts[{index}]"), host.name.as_str())),
        );
        let mut taken: HashMap<(&str, u32), &str> = HashMap::new();
        for (index, host) in hosts.iter().enumerate() {
            let path = format!("hosts[{index}]");
            self.check_name(&format!("{path}.name"), "host", &host.name);
            if host.name == "router" {
                self.error(
                    format!("{path}.name"),
                    "host name \"router\" is reserved for the team's router/firewall",
                );
            }
            let Some(segment) = self.topology.segment(&host.segment) else {
                let hint = self.topology.suggest_segment(&host.segment);
                self.error(
                    format!("{path}.segment"),
                    format!(
                        "host {:?} is in unknown segment {:?}{hint}",
                        host.name, host.segment
                    ),
                );
                continue;
            };
            let Some(subnet) = subnets.get(segment.name.as_str()) else {
                continue;
            };
            let (low, high) = subnet.usable_offsets();
            let offset = u64::from(host.address);
            if offset < low || offset > high {
                let reason = match offset {
                    0 => " (the network address)".to_string(),
                    1 => " (the gateway address)".to_string(),
                    value if value == subnet.router_offset() => {
                        " (the router's address)".to_string()
                    }
                    value if value == subnet.size() - 1 => " (the broadcast address)".to_string(),
                    _ => String::new(),
                };
                self.error(
                    format!("{path}.address"),
                    format!(
                        "address .{} of host {:?} is outside the usable range of segment {:?} ({}: offsets {low}-{high}){reason}",
                        host.address, host.name, segment.name, segment.subnet
                    ),
                );
                continue;
            }
            match taken.get(&(segment.name.as_str(), host.address)) {
                Some(other) => {
                    let other = other.to_string();
                    self.error(
                        format!("{path}.address"),
                        format!("address .{} of host {:?} is already used by host {other:?} in segment {:?}", host.address, host.name, segment.name),
                    );
                }
                None => {
                    taken.insert((segment.name.as_str(), host.address), host.name.as_str());
                }
            }
        }
    }

    /// `login: true` only where the role takes logins, and exactly one way-in host the
    /// trainees' SSH port can forward to.
    fn way_in(&mut self) {
        let login_roles = roles::login_roles().join(", ");
        let any_login_roles = roles::any_login_roles().join(", ");
        for (index, host) in self.scenario.hosts.iter().enumerate() {
            if host.login && roles::login(host.image).is_none() {
                self.error(
                    format!("hosts[{index}].login"),
                    format!(
                        "host {:?} has `login: true`, but its image {} takes no logins (trainees can log in to {any_login_roles})",
                        host.name,
                        host.image.as_str()
                    ),
                );
            }
        }
        if let Some(reference) = &self.scenario.way_in {
            let host = match self.topology.host_ref(reference) {
                Ok(host) => host,
                Err(message) => {
                    self.error("way_in", message);
                    return;
                }
            };
            if roles::login_user(host.image).is_none() {
                self.error(
                    "way_in",
                    format!(
                        "way-in host {reference:?} cannot accept logins: its image {} runs no sshd (a way in runs one of {login_roles})",
                        host.image.as_str()
                    ),
                );
            }
            if !self.topology.is_team_host(host) {
                self.error(
                    "way_in",
                    format!(
                        "way-in host {reference:?} is in segment {:?}, which stands for the world outside the team's own range",
                        host.segment
                    ),
                );
            }
            return;
        }
        match self.topology.analyst_workstations().as_slice() {
            [] => self.error(
                "hosts",
                "no way in for the trainees: add an analyst workstation (a host with `image: analyst`) or name the way-in host with `way_in: segment/host`",
            ),
            [_] => {}
            [(_, first), others @ ..] => {
                let first = format!("{}/{}", first.segment, first.name);
                for (index, host) in others {
                    self.error(
                        format!("hosts[{index}].image"),
                        format!(
                            "a second analyst workstation {:?} (the first is {first:?}): name the team's way in with `way_in: segment/host`",
                            host.name
                        ),
                    );
                }
            }
        }
    }

    fn flows(&mut self) {
        for (index, flow) in self.scenario.flows.iter().enumerate() {
            let path = format!("flows[{index}]");
            for (side, selectors) in [("from", &flow.from), ("to", &flow.to)] {
                for (selector_index, selector) in selectors.as_slice().iter().enumerate() {
                    let selector_path = match selectors {
                        OneOrMany::One(_) => format!("{path}.{side}"),
                        OneOrMany::Many(_) => format!("{path}.{side}[{selector_index}]"),
                    };
                    match self.topology.select(selector) {
                        Err(message) => self.error(selector_path, message),
                        Ok(matched) if matched.is_empty() && !self.loaded.from_template(&path) => {
                            self.warning(
                                selector_path,
                                format!("selector {selector:?} matches no host"),
                            )
                        }
                        Ok(_) => {}
                    }
                }
            }
            if flow.ports.as_slice().is_empty() {
                self.error(
                    format!("{path}.ports"),
                    "a flow needs at least one port (or `any`)",
                );
            }
        }
    }

    /// Hosts an attacker on the internet can reach, pivoting through every
    /// host it reaches (hosts in one segment reach each other directly).
    /// A My Number host in that set is an error unless a flow on the way in
    /// says `deliberate: true`.
    fn my_number_exposure(&mut self) {
        let hosts = &self.scenario.hosts;
        let topology = Topology::new(self.scenario);
        let role_of = |host: &Host| topology.segment(&host.segment).map(|segment| segment.role);
        let mut edges: Vec<Vec<(usize, Option<usize>)>> = vec![Vec::new(); hosts.len()];
        for (source_index, source) in hosts.iter().enumerate() {
            for (target_index, target) in hosts.iter().enumerate() {
                if source_index != target_index && source.segment == target.segment {
                    edges[source_index].push((target_index, None));
                }
            }
        }
        let index_of: HashMap<&str, usize> = hosts
            .iter()
            .enumerate()
            .map(|(index, host)| (host.name.as_str(), index))
            .collect();
        for (flow_index, flow) in self.scenario.flows.iter().enumerate() {
            if flow.deliberate {
                continue;
            }
            let resolve = |selectors: &OneOrMany<String>| -> Vec<usize> {
                selectors
                    .as_slice()
                    .iter()
                    .filter_map(|selector| topology.select(selector).ok())
                    .flatten()
                    .filter_map(|host| index_of.get(host.name.as_str()).copied())
                    .collect()
            };
            let (sources, targets) = (resolve(&flow.from), resolve(&flow.to));
            for &source in &sources {
                for &target in &targets {
                    edges[source].push((target, Some(flow_index)));
                    if flow.bidirectional {
                        edges[target].push((source, Some(flow_index)));
                    }
                }
            }
        }
        let mut came_from: Vec<Option<(usize, Option<usize>)>> = vec![None; hosts.len()];
        let mut visited = vec![false; hosts.len()];
        let mut queue = VecDeque::new();
        for (index, host) in hosts.iter().enumerate() {
            if role_of(host) == Some(SegmentRole::Internet) {
                visited[index] = true;
                queue.push_back(index);
            }
        }
        while let Some(current) = queue.pop_front() {
            for &(next, flow) in &edges[current] {
                if !visited[next] {
                    visited[next] = true;
                    came_from[next] = Some((current, flow));
                    queue.push_back(next);
                }
            }
        }
        let mut reported_flows = BTreeSet::new();
        for (index, host) in hosts.iter().enumerate() {
            if !visited[index] || role_of(host) != Some(SegmentRole::Mynumber) {
                continue;
            }
            // Walk back to the flow that crossed into the My Number segment.
            let mut path_names = vec![format!("{}/{}", host.segment, host.name)];
            let mut entry_flow = None;
            let mut cursor = index;
            while let Some((previous, flow)) = came_from[cursor] {
                if entry_flow.is_none() && role_of(&hosts[previous]) != Some(SegmentRole::Mynumber)
                {
                    entry_flow = flow;
                }
                path_names.push(format!(
                    "{}/{}",
                    hosts[previous].segment, hosts[previous].name
                ));
                cursor = previous;
            }
            path_names.reverse();
            if let Some(flow_index) = entry_flow
                && reported_flows.insert(flow_index)
            {
                self.error(
                    format!("flows[{flow_index}]"),
                    format!(
                        "this flow makes the My Number segment reachable from the internet ({}); mark it `deliberate: true` if the scenario means it",
                        path_names.join(" → ")
                    ),
                );
            }
        }
    }

    fn forms(&mut self) {
        let forms = &self.scenario.forms;
        self.check_unique(
            "form",
            forms
                .iter()
                .enumerate()
                .map(|(index, form)| (format!("forms[{index}]"), form.id.as_str())),
        );
        for (index, form) in forms.iter().enumerate() {
            let path = format!("forms[{index}]");
            if !is_name(&form.id) {
                self.error(
                    format!("{path}.id"),
                    format!("form id {:?} is not valid: {NAME_RULE}", form.id),
                );
            }
            self.check_text(&format!("{path}.title"), "a form title", &form.title);
            if form.fields.is_empty() {
                self.error(
                    format!("{path}.fields"),
                    format!("form {:?} has no fields", form.id),
                );
            }
            let mut seen = HashMap::new();
            for (field_index, field) in form.fields.iter().enumerate() {
                let field_path = format!("{path}.fields[{field_index}]");
                if let Some(first) = seen.insert(field.name.as_str(), field_index) {
                    self.error(
                        format!("{field_path}.name"),
                        format!(
                            "duplicate field {:?} in form {:?} (also fields[{first}])",
                            field.name, form.id
                        ),
                    );
                }
                let is_choice =
                    matches!(field.field_type, FieldType::Choice | FieldType::MultiChoice);
                if is_choice && field.options.is_empty() {
                    self.error(
                        format!("{field_path}.options"),
                        format!("field {:?} is a choice and needs `options`", field.name),
                    );
                }
                if !is_choice && !field.options.is_empty() {
                    self.error(
                        format!("{field_path}.options"),
                        format!("field {:?} has `options` but is not a choice", field.name),
                    );
                }
                self.check_text(
                    &format!("{field_path}.label"),
                    "a field label",
                    &field.label,
                );
            }
        }
    }

    /// Checks injects; returns each inject's earliest fire time where known.
    fn injects(&mut self, context: &Context) -> HashMap<&'a str, u64> {
        let injects = &self.scenario.injects;
        self.check_unique(
            "inject",
            injects
                .iter()
                .enumerate()
                .map(|(index, inject)| (format!("injects[{index}]"), inject.id.as_str())),
        );
        let inject_ids: Vec<&str> = injects.iter().map(|inject| inject.id.as_str()).collect();
        let objective_ids: Vec<&str> = self
            .scenario
            .objectives
            .iter()
            .map(|objective| objective.id.as_str())
            .collect();
        for (index, inject) in injects.iter().enumerate() {
            let path = format!("injects[{index}]");
            if !is_name(&inject.id) {
                self.error(
                    format!("{path}.id"),
                    format!("inject id {:?} is not valid: {NAME_RULE}", inject.id),
                );
            }
            match &inject.when {
                When::At(offset) => {
                    if offset > &self.scenario.duration {
                        self.warning(
                            format!("{path}.when.at"),
                            format!(
                                "inject {:?} fires at {offset}, after the exercise ends ({})",
                                inject.id, self.scenario.duration
                            ),
                        );
                    }
                }
                When::After(after) => {
                    if !inject_ids.contains(&after.inject.as_str()) {
                        self.error(
                            format!("{path}.when.after.inject"),
                            format!(
                                "unknown inject {:?}{}",
                                after.inject,
                                suggestion(&after.inject, inject_ids.iter().copied())
                            ),
                        );
                    }
                }
                When::On(on) => {
                    if !objective_ids.contains(&on.objective.as_str()) {
                        self.error(
                            format!("{path}.when.on.objective"),
                            format!(
                                "unknown objective {:?}{}",
                                on.objective,
                                suggestion(&on.objective, objective_ids.iter().copied())
                            ),
                        );
                    }
                }
            }
            let target = match self.topology.target_ref(&inject.target) {
                Ok(target) => Some(target),
                Err(message) => {
                    self.error(format!("{path}.target"), message);
                    None
                }
            };
            self.action(&format!("{path}.action"), inject, target, context);
        }
        earliest_fire_times(injects)
    }

    fn action(&mut self, path: &str, inject: &Inject, target: Option<Target>, context: &Context) {
        let needs_host = |checker: &mut Checker, what: &str| {
            if let Some(Target::Segment(segment)) = target {
                checker.error(
                    format!("{}.target", path.trim_end_matches(".action")),
                    format!(
                        "{what} needs a host as target, not the segment {:?}",
                        segment.name
                    ),
                );
            }
        };
        match &inject.action {
            Action::Replay(replay) => {
                needs_host(self, "a replay");
                let replay_path = format!("{path}.replay");
                if let Err(message) = context.files.check_capture(&replay.pcap) {
                    self.error(
                        format!("{replay_path}.pcap"),
                        format!("capture {:?}: {message}", replay.pcap),
                    );
                }
                for (original, mapped) in &replay.map {
                    let entry_path = format!("{replay_path}.map.{original}");
                    let is_address = original.parse::<Ipv4Addr>().is_ok();
                    let is_network = original.parse::<Ipv4Net>().is_ok();
                    if !is_address && !is_network {
                        self.error(
                            &entry_path,
                            format!("map key {original:?} is neither an IPv4 address nor a CIDR"),
                        );
                        continue;
                    }
                    match self.topology.target_ref(mapped) {
                        Err(message) => self.error(&entry_path, message),
                        Ok(Target::Segment(_)) if is_address => {
                            self.error(&entry_path, format!("address {original} must map to a host (segment/host), not a segment"))
                        }
                        Ok(Target::Host(_)) if is_network => {
                            self.error(&entry_path, format!("subnet {original} must map to a segment, not a host"))
                        }
                        Ok(_) => {}
                    }
                }
                if replay.speed.is_some() && replay.pps.is_some() {
                    self.error(&replay_path, "give either `speed` or `pps`, not both");
                }
                if let Some(speed) = replay.speed
                    && !(speed > 0.0 && speed <= 1000.0)
                {
                    self.error(
                        format!("{replay_path}.speed"),
                        format!("speed {speed} must be above 0 and at most 1000"),
                    );
                }
                if replay.loops == 0 || replay.loops > 1000 {
                    self.error(
                        format!("{replay_path}.loops"),
                        "loops must be between 1 and 1000",
                    );
                }
            }
            Action::Traffic(traffic) => {
                needs_host(self, "generated traffic");
                let traffic_path = format!("{path}.traffic");
                if let Err(message) = self.topology.target_ref(&traffic.to) {
                    self.error(format!("{traffic_path}.to"), message);
                }
                if let Some(jitter) = traffic.jitter
                    && !(0.0..=1.0).contains(&jitter)
                {
                    self.error(
                        format!("{traffic_path}.jitter"),
                        format!("jitter {jitter} must be between 0 and 1"),
                    );
                }
                if traffic
                    .count
                    .is_some_and(|count| count == 0 || count > 100_000)
                {
                    self.error(
                        format!("{traffic_path}.count"),
                        "count must be between 1 and 100000",
                    );
                }
                if traffic
                    .interval
                    .is_some_and(|interval| interval.seconds == 0)
                {
                    self.error(
                        format!("{traffic_path}.interval"),
                        "interval must be longer than zero",
                    );
                }
                let needs_port = matches!(
                    traffic.kind,
                    TrafficKind::Beacon
                        | TrafficKind::BruteForce
                        | TrafficKind::PasswordSpray
                        | TrafficKind::Exfiltration
                );
                if needs_port && traffic.ports.is_empty() {
                    self.error(
                        &traffic_path,
                        format!("{:?} traffic needs `ports`", traffic.kind).to_lowercase(),
                    );
                }
                if traffic.kind == TrafficKind::DnsTunnel && traffic.domain.is_none() {
                    self.error(&traffic_path, "dns_tunnel traffic needs `domain`");
                }
                self.guessing_traffic(&traffic_path, traffic);
            }
            Action::Artefact(artefact) => {
                needs_host(self, "an artefact");
                let artefact_path = format!("{path}.artefact");
                let required: &[(&str, bool)] = match artefact.kind {
                    ArtefactKind::File => &[
                        ("path", artefact.path.is_some()),
                        ("content", artefact.content.is_some()),
                    ],
                    ArtefactKind::Log => &[
                        ("path", artefact.path.is_some()),
                        ("lines", !artefact.lines.is_empty()),
                    ],
                    ArtefactKind::Process => &[("name", artefact.name.is_some())],
                    ArtefactKind::Cron => &[
                        ("name", artefact.name.is_some()),
                        ("schedule", artefact.schedule.is_some()),
                    ],
                    ArtefactKind::User => &[("name", artefact.name.is_some())],
                    ArtefactKind::Deface => &[
                        ("path", artefact.path.is_some()),
                        ("content", artefact.content.is_some()),
                    ],
                    ArtefactKind::Encrypt => &[("path", artefact.path.is_some())],
                };
                for (field, present) in required {
                    if !present {
                        self.error(
                            &artefact_path,
                            format!("a {} artefact needs `{field}`", artefact.kind.as_str()),
                        );
                    }
                }
                if let Some(file_path) = &artefact.path
                    && !file_path.starts_with('/')
                {
                    self.error(
                        format!("{artefact_path}.path"),
                        format!("path {file_path:?} must be absolute"),
                    );
                }
            }
            Action::Mail(mail) => {
                needs_host(self, "a mail");
                self.mail_inject(&format!("{path}.mail"), mail);
            }
            Action::Message(message) => {
                let message_path = format!("{path}.message");
                self.check_text(
                    &format!("{message_path}.subject"),
                    "a message subject",
                    &message.subject,
                );
                self.check_text(
                    &format!("{message_path}.body"),
                    "a message body",
                    &message.body,
                );
                for (field, text) in [
                    ("from", &message.from),
                    ("subject", &message.subject),
                    ("body", &message.body),
                ] {
                    for (language, value) in [("ja", &text.ja), ("en", &text.en)] {
                        for reference in value.iter().flat_map(|value| placeholders(value)) {
                            if let Err(problem) = self.topology.target_ref(reference) {
                                self.error(
                                    format!("{message_path}.{field}.{language}"),
                                    format!("placeholder {{{{{reference}}}}}: {problem}"),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn objectives(&mut self, earliest: &HashMap<&str, u64>) {
        let objectives = &self.scenario.objectives;
        self.check_unique(
            "objective",
            objectives
                .iter()
                .enumerate()
                .map(|(index, objective)| (format!("objectives[{index}]"), objective.id.as_str())),
        );
        let inject_ids: Vec<&str> = self
            .scenario
            .injects
            .iter()
            .map(|inject| inject.id.as_str())
            .collect();
        let duration = self.scenario.duration.seconds;
        for (index, objective) in objectives.iter().enumerate() {
            let path = format!("objectives[{index}]");
            if !is_name(&objective.id) {
                self.error(
                    format!("{path}.id"),
                    format!("objective id {:?} is not valid: {NAME_RULE}", objective.id),
                );
            }
            self.check_text(
                &format!("{path}.title"),
                "an objective title",
                &objective.title,
            );
            if let Some(inject) = &objective.inject
                && !inject_ids.contains(&inject.as_str())
            {
                self.error(
                    format!("{path}.inject"),
                    format!(
                        "unknown inject {inject:?}{}",
                        suggestion(inject, inject_ids.iter().copied())
                    ),
                );
            }
            let inject_time = objective
                .inject
                .as_deref()
                .and_then(|inject| earliest.get(inject).copied());
            if let Some(due) = objective.due {
                if let (Some(inject), Some(fires)) = (&objective.inject, inject_time)
                    && due.seconds <= fires
                {
                    self.error(
                        format!("{path}.due"),
                        format!(
                            "objective {:?} is due at {due}, but inject {inject:?} it depends on fires at {} at the earliest",
                            objective.id,
                            Duration::from_secs(fires)
                        ),
                    );
                }
                if due.seconds > duration {
                    self.warning(
                        format!("{path}.due"),
                        format!(
                            "due time {due} is after the exercise ends ({})",
                            self.scenario.duration
                        ),
                    );
                }
            }
            if let Some(deadline) = objective.deadline {
                let start = inject_time.unwrap_or(0);
                if deadline.seconds == 0 {
                    self.error(
                        format!("{path}.deadline"),
                        "deadline must be longer than zero",
                    );
                } else if start + deadline.seconds > duration {
                    self.warning(
                        format!("{path}.deadline"),
                        format!(
                            "deadline ends at {} at the earliest, after the exercise ends ({})",
                            Duration::from_secs(start + deadline.seconds),
                            self.scenario.duration
                        ),
                    );
                }
            }
            for (hint_index, hint) in objective.hints.iter().enumerate() {
                if hint.penalty > objective.points {
                    self.error(
                        format!("{path}.hints[{hint_index}].penalty"),
                        format!(
                            "hint penalty {} is more than the objective's {} points",
                            hint.penalty, objective.points
                        ),
                    );
                }
                self.check_text(
                    &format!("{path}.hints[{hint_index}].text"),
                    "a hint",
                    &hint.text,
                );
            }
            self.evidence(&format!("{path}.evidence"), objective);
        }
        for phase in Phase::ALL {
            if !objectives.is_empty()
                && !objectives.iter().any(|objective| objective.phase == phase)
            {
                self.warning(
                    "objectives",
                    format!("no objective for the {} phase", phase.as_str()),
                );
            }
        }
    }

    fn evidence(&mut self, path: &str, objective: &Objective) {
        match &objective.evidence {
            Evidence::Answer(answer) => {
                let answer_path = format!("{path}.answer");
                self.check_text(
                    &format!("{answer_path}.question"),
                    "a question",
                    &answer.question,
                );
                match answer.kind {
                    AnswerKind::Host | AnswerKind::Address => {
                        if let Err(message) = self.topology.host_ref(&answer.expect) {
                            self.error(format!("{answer_path}.expect"), message);
                        }
                    }
                    AnswerKind::Sha256 => {
                        if answer.expect.len() != 64
                            || !answer
                                .expect
                                .chars()
                                .all(|character| character.is_ascii_hexdigit())
                        {
                            self.error(
                                format!("{answer_path}.expect"),
                                "expected answer is not a SHA-256 (64 hex digits)",
                            );
                        }
                    }
                    AnswerKind::Domain | AnswerKind::Text => {
                        if answer.expect.trim().is_empty() {
                            self.error(format!("{answer_path}.expect"), "expected answer is empty");
                        }
                    }
                }
            }
            Evidence::Check(check) => self.check(&format!("{path}.check"), check),
            Evidence::Report(report) => {
                let report_path = format!("{path}.report");
                let form_ids: Vec<&str> = self
                    .scenario
                    .forms
                    .iter()
                    .map(|form| form.id.as_str())
                    .collect();
                let Some(form) = self
                    .scenario
                    .forms
                    .iter()
                    .find(|form| form.id == report.form)
                else {
                    self.error(
                        format!("{report_path}.form"),
                        format!(
                            "unknown form {:?}{}",
                            report.form,
                            suggestion(&report.form, form_ids.into_iter())
                        ),
                    );
                    return;
                };
                for (field_name, value) in &report.expect {
                    let entry_path = format!("{report_path}.expect.{field_name}");
                    match form.fields.iter().find(|field| &field.name == field_name) {
                        None => self.error(&entry_path, format!("form {:?} has no field {field_name:?}", form.id)),
                        Some(field) if matches!(field.field_type, FieldType::Choice) && !field.options.contains(value) => {
                            self.error(&entry_path, format!("{value:?} is not one of the options of field {field_name:?}: {}", field.options.join(", ")))
                        }
                        Some(_) => {}
                    }
                }
            }
            Evidence::Judged(judged) => {
                let judged_path = format!("{path}.judged");
                if judged.rubric.is_empty() {
                    self.error(
                        format!("{judged_path}.rubric"),
                        "a rubric needs at least one criterion",
                    );
                }
                let total: u32 = judged.rubric.iter().map(|item| item.points).sum();
                if !judged.rubric.is_empty() && total != objective.points {
                    self.warning(
                        format!("{judged_path}.rubric"),
                        format!(
                            "rubric points add up to {total}, but the objective is worth {}",
                            objective.points
                        ),
                    );
                }
            }
        }
    }

    fn check(&mut self, path: &str, check: &Check) {
        match self.topology.host_ref(&check.target) {
            Ok(_) => {}
            Err(message) => self.error(format!("{path}.target"), message),
        }
        for (field, value) in [("from", &check.from), ("to", &check.to)] {
            if let Some(reference) = value
                && let Err(message) = self.topology.host_ref(reference)
            {
                self.error(format!("{path}.{field}"), message);
            }
        }
        let mut require = |field: &str, present: bool| {
            if !present {
                let kind = serde_json::to_value(check.kind)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_default();
                self.found.push(self.loaded.diagnostic(
                    path,
                    Severity::Error,
                    format!("a {kind} check needs `{field}`"),
                ));
            }
        };
        match check.kind {
            CheckKind::Http => require(
                "status",
                check.status.is_some() || check.sha256.is_some() || check.golden.is_some(),
            ),
            CheckKind::PortOpen | CheckKind::PortClosed => require("port", check.port.is_some()),
            CheckKind::FilePresent | CheckKind::FileAbsent => require("path", check.path.is_some()),
            CheckKind::FileHash => {
                require("path", check.path.is_some());
                require(
                    "sha256` or `golden",
                    check.sha256.is_some() || check.golden.is_some(),
                );
            }
            CheckKind::ProcessAbsent | CheckKind::AccountDisabled | CheckKind::PasswordChanged => {
                require("name", check.name.is_some())
            }
            CheckKind::NotInGroup => {
                require("name", check.name.is_some());
                require("group", check.group.is_some());
            }
            CheckKind::NoBeacon => {
                require("to", check.to.is_some());
                require("window", check.window.is_some());
            }
            CheckKind::Restored => {}
            CheckKind::Command => require("command", check.command.is_some()),
        }
        self.command_check(path, check);
        if let Some(golden) = &check.golden {
            let defaces = self.scenario.injects.iter().find(|inject| {
                &inject.id == golden && matches!(&inject.action, Action::Artefact(artefact) if artefact.kind == ArtefactKind::Deface)
            });
            if defaces.is_none() {
                let inject_ids: Vec<&str> = self
                    .scenario
                    .injects
                    .iter()
                    .map(|inject| inject.id.as_str())
                    .collect();
                self.error(
                    format!("{path}.golden"),
                    format!(
                        "`golden` must name a deface inject; {golden:?} is not one{}",
                        suggestion(golden, inject_ids.into_iter())
                    ),
                );
            }
        }
        if let Some(hash) = &check.sha256
            && (hash.len() != 64 || !hash.chars().all(|character| character.is_ascii_hexdigit()))
        {
            self.error(format!("{path}.sha256"), "not a SHA-256 (64 hex digits)");
        }
    }

    /// Injects wait for injects (`after`) and objectives (`on`); objectives
    /// wait for their inject. A cycle means none of them can ever fire.
    fn trigger_cycles(&mut self) {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        enum Node {
            Inject(usize),
            Objective(usize),
        }
        let injects = &self.scenario.injects;
        let objectives = &self.scenario.objectives;
        let inject_index: HashMap<&str, usize> = injects
            .iter()
            .enumerate()
            .map(|(index, inject)| (inject.id.as_str(), index))
            .collect();
        let objective_index: HashMap<&str, usize> = objectives
            .iter()
            .enumerate()
            .map(|(index, objective)| (objective.id.as_str(), index))
            .collect();
        let mut waits_for: BTreeMap<Node, Vec<Node>> = BTreeMap::new();
        for (index, inject) in injects.iter().enumerate() {
            let dependency = match &inject.when {
                When::After(after) => inject_index
                    .get(after.inject.as_str())
                    .map(|target| Node::Inject(*target)),
                When::On(on) => objective_index
                    .get(on.objective.as_str())
                    .map(|target| Node::Objective(*target)),
                When::At(_) => None,
            };
            waits_for
                .entry(Node::Inject(index))
                .or_default()
                .extend(dependency);
        }
        for (index, objective) in objectives.iter().enumerate() {
            let dependency = objective
                .inject
                .as_deref()
                .and_then(|inject| inject_index.get(inject))
                .map(|target| Node::Inject(*target));
            waits_for
                .entry(Node::Objective(index))
                .or_default()
                .extend(dependency);
        }
        let name = |node: Node| match node {
            Node::Inject(index) => format!("inject {}", injects[index].id),
            Node::Objective(index) => format!("objective {}", objectives[index].id),
        };
        // Each node waits for at most one other, so following the chain from
        // every node finds every cycle; report each cycle once, at its
        // first member in file order.
        let mut reported: BTreeSet<Vec<Node>> = BTreeSet::new();
        for start in waits_for.keys().copied().collect::<Vec<_>>() {
            let mut chain = vec![start];
            let mut current = start;
            while let Some(next) = waits_for
                .get(&current)
                .and_then(|next| next.first())
                .copied()
            {
                if let Some(position) = chain.iter().position(|node| *node == next) {
                    let mut cycle = chain[position..].to_vec();
                    let smallest = cycle
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, node)| **node)
                        .map(|(index, _)| index)
                        .unwrap_or(0);
                    cycle.rotate_left(smallest);
                    if reported.insert(cycle.clone()) {
                        let mut names: Vec<String> = cycle.iter().map(|node| name(*node)).collect();
                        names.push(name(cycle[0]));
                        let path = match cycle[0] {
                            Node::Inject(index) => format!("injects[{index}].when"),
                            Node::Objective(index) => format!("objectives[{index}].inject"),
                        };
                        self.error(
                            path,
                            format!(
                                "trigger cycle: {}; none of them can ever happen",
                                names.join(" waits for ")
                            ),
                        );
                    }
                    break;
                }
                chain.push(next);
                current = next;
            }
        }
    }
}

/// Earliest exercise-clock time each inject can fire, for injects whose
/// time is known before the exercise (`at`, and `after` chains of them).
pub fn earliest_fire_times(injects: &[Inject]) -> HashMap<&str, u64> {
    let mut earliest: HashMap<&str, u64> = HashMap::new();
    // At most `injects.len()` rounds settle every chain; cycles never settle.
    for _ in 0..=injects.len() {
        let mut changed = false;
        for inject in injects {
            if earliest.contains_key(inject.id.as_str()) {
                continue;
            }
            let time = match &inject.when {
                When::At(offset) => Some(offset.seconds),
                When::After(after) => earliest
                    .get(after.inject.as_str())
                    .map(|base| base + after.delay.seconds),
                When::On(_) => None,
            };
            if let Some(time) = time {
                earliest.insert(inject.id.as_str(), time);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    earliest
}

/// A host of image `backup` and what it keeps: `(host index, host, the
/// references it backs up)`.
fn backup_hosts(scenario: &Scenario) -> impl Iterator<Item = (usize, &Host, &[String])> {
    scenario
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, host)| host.image == ImageRole::Backup)
        .map(|(index, host)| {
            let of = host.backup.as_ref().map_or(&[][..], |backup| &backup.of);
            (index, host, of)
        })
}

impl Checker<'_> {
    /// Backup hosts: what they keep must exist and have data, the restore
    /// must be able to reach it, and no inject may touch them (offline
    /// copies are what ransomware cannot encrypt).
    fn backups(&mut self) {
        let scenario = self.scenario;
        for (index, host) in scenario.hosts.iter().enumerate() {
            if host.backup.is_some() && host.image != ImageRole::Backup {
                self.error(
                    format!("hosts[{index}].backup"),
                    format!(
                        "host {:?} has `backup`, but only a host of image backup keeps copies (its image is {})",
                        host.name,
                        host.image.as_str()
                    ),
                );
            }
        }
        let backed_up_roles: Vec<&str> = ImageRole::ALL
            .into_iter()
            .filter(|role| !roles::data_paths(*role).is_empty())
            .map(ImageRole::as_str)
            .collect();
        for (index, host, of) in backup_hosts(scenario) {
            if of.is_empty() {
                self.error(
                    format!("hosts[{index}]"),
                    format!(
                        "backup host {:?} backs up nothing: list the hosts it keeps copies of in `backup: {{of: [segment/host]}}`",
                        host.name
                    ),
                );
            }
            if !host.login {
                self.warning(
                    format!("hosts[{index}].login"),
                    format!(
                        "trainees cannot log in to backup host {:?} to restore from it: give it `login: true`",
                        host.name
                    ),
                );
            }
            let mut seen = BTreeSet::new();
            for (source_index, reference) in of.iter().enumerate() {
                let path = format!("hosts[{index}].backup.of[{source_index}]");
                let source = match self.topology.host_ref(reference) {
                    Ok(source) => source,
                    Err(message) => {
                        self.error(&path, message);
                        continue;
                    }
                };
                if !seen.insert(source.name.as_str()) {
                    self.error(&path, format!("{reference} is listed twice"));
                    continue;
                }
                let Some((user, port)) = roles::restore_access(source.image) else {
                    self.error(
                        &path,
                        format!(
                            "host {reference} (role {}) has no data to back up; backups are of hosts of role {}",
                            source.image.as_str(),
                            backed_up_roles.join(", ")
                        ),
                    );
                    continue;
                };
                if !source.login {
                    self.error(
                        &path,
                        format!(
                            "the restore logs in to {reference} as {user} with the team's password, which only a host with `login: true` has: give {} `login: true`",
                            source.name
                        ),
                    );
                }
                if !self.flow_allows(host, source, port) {
                    self.error(
                        &path,
                        format!(
                            "the restore cannot reach {reference}: no flow lets backup host {}/{} connect to it on tcp/{port} (as {user}); add one",
                            host.segment, host.name
                        ),
                    );
                }
            }
        }
        self.offline_backups();
        self.restored_checks();
    }

    /// No inject acts on a backup host or sends traffic to it.
    fn offline_backups(&mut self) {
        let is_backup = |checker: &Checker<'_>, reference: &str| {
            checker
                .topology
                .host_ref(reference)
                .is_ok_and(|host| host.image == ImageRole::Backup)
        };
        let why = "a backup host is offline: no inject may act on it or send it traffic";
        for (index, inject) in self.scenario.injects.iter().enumerate() {
            let path = format!("injects[{index}]");
            let message = matches!(inject.action, Action::Message(_));
            if !message && is_backup(self, &inject.target) {
                self.error(
                    format!("{path}.target"),
                    format!("{why} ({} is one)", inject.target),
                );
            }
            match &inject.action {
                Action::Traffic(traffic) if is_backup(self, &traffic.to) => self.error(
                    format!("{path}.action.traffic.to"),
                    format!("{why} ({} is one)", traffic.to),
                ),
                Action::Replay(replay) => {
                    for (original, mapped) in &replay.map {
                        if is_backup(self, mapped) {
                            self.error(
                                format!("{path}.action.replay.map.{original}"),
                                format!("{why} ({mapped} is one)"),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A `restored` check judges a backed-up host, under its data paths.
    fn restored_checks(&mut self) {
        for (index, objective) in self.scenario.objectives.iter().enumerate() {
            let Evidence::Check(check) = &objective.evidence else {
                continue;
            };
            if check.kind != CheckKind::Restored {
                continue;
            }
            let path = format!("objectives[{index}].evidence.check");
            let Ok(target) = self.topology.host_ref(&check.target) else {
                continue;
            };
            let backed_up = backup_hosts(self.scenario).any(|(_, _, of)| {
                of.iter().any(|reference| {
                    self.topology
                        .host_ref(reference)
                        .is_ok_and(|host| host.name == target.name)
                })
            });
            if !backed_up {
                self.error(
                    format!("{path}.target"),
                    format!(
                        "no backup host keeps a copy of {}: list it in a backup host's `backup.of`",
                        check.target
                    ),
                );
            }
            if let Some(to) = &check.to
                && let Ok(keeper) = self.topology.host_ref(to)
            {
                let keeps = keeper.image == ImageRole::Backup
                    && keeper
                        .backup
                        .iter()
                        .flat_map(|backup| &backup.of)
                        .any(|reference| {
                            self.topology
                                .host_ref(reference)
                                .is_ok_and(|host| host.name == target.name)
                        });
                if !keeps {
                    self.error(
                        format!("{path}.to"),
                        format!(
                            "{to} keeps no copy of {}: `to` names the backup host the check compares with",
                            check.target
                        ),
                    );
                }
            }
            let data_paths = roles::data_paths(target.image);
            if let Some(file_path) = &check.path
                && !data_paths
                    .iter()
                    .any(|directory| roles::is_under(directory, file_path))
            {
                self.error(
                    format!("{path}.path"),
                    format!(
                        "{file_path:?} is not in what a backup of {} holds ({})",
                        check.target,
                        if data_paths.is_empty() {
                            "nothing".to_string()
                        } else {
                            data_paths.join(", ")
                        }
                    ),
                );
            }
        }
    }

    /// A `command` check's command and expectations.
    fn command_check(&mut self, path: &str, check: &Check) {
        if check.kind != CheckKind::Command {
            return;
        }
        if let Some(command) = &check.command
            && command.trim().is_empty()
        {
            self.error(format!("{path}.command"), "the command is empty");
        }
        let Some(expect) = &check.expect else {
            return;
        };
        if let Some(exit) = expect.exit
            && !(0..=255).contains(&exit)
        {
            self.error(
                format!("{path}.expect.exit"),
                format!("exit status {exit} must be between 0 and 255"),
            );
        }
        if let Some(contains) = &expect.output_contains
            && contains.is_empty()
        {
            self.error(
                format!("{path}.expect.output_contains"),
                "the text to look for is empty (every output contains it)",
            );
        }
        if let Some(pattern) = &expect.output_matches
            && let Err(error) = regex::Regex::new(pattern)
        {
            let reason = error.to_string();
            let reason = reason.lines().last().unwrap_or_default().trim();
            self.error(
                format!("{path}.expect.output_matches"),
                format!("{pattern:?} is not a regular expression: {reason}"),
            );
        }
    }

    /// Whether `from` may open a TCP connection to `to` on `port`: in one
    /// segment always (segments are L2), across segments when a flow
    /// allows it (the router accepts exactly the declared flows).
    fn flow_allows(&self, from: &Host, to: &Host, port: u16) -> bool {
        if from.segment == to.segment {
            return true;
        }
        let selects = |selectors: &OneOrMany<String>, host: &Host| {
            selectors.as_slice().iter().any(|selector| {
                self.topology
                    .select(selector)
                    .is_ok_and(|hosts| hosts.iter().any(|selected| selected.name == host.name))
            })
        };
        let carries = |flow: &Flow| {
            flow.ports
                .as_slice()
                .iter()
                .any(|spec| match spec.protocol {
                    Protocol::Any => true,
                    Protocol::Tcp => spec
                        .ports
                        .is_some_and(|(low, high)| (low..=high).contains(&port)),
                    Protocol::Udp | Protocol::Icmp => false,
                })
        };
        self.scenario.flows.iter().any(|flow| {
            carries(flow)
                && ((selects(&flow.from, from) && selects(&flow.to, to))
                    || (flow.bidirectional && selects(&flow.from, to) && selects(&flow.to, from)))
        })
    }
}

/// What a mail address must look like here: `local@domain`, no spaces,
/// no brackets, quotes or line breaks (it goes into headers and SMTP).
fn is_mail_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && local.chars().all(|character| {
            character.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(character)
        })
        && is_domain(domain)
}

/// A DNS domain: dot-separated labels of letters, digits and `-`.
fn is_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '-')
        })
}

/// The address of a `From` value: `Name <address>` or a bare address.
pub fn mail_address_of(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim(),
        _ => from.trim(),
    }
}

/// Most bytes of a `mail` inject's attachment (it travels as one argument
/// of the exec, which Linux caps at 128 KiB).
pub const MAIL_ATTACHMENT_LIMIT: usize = 64 * 1024;

const MAIL_PORT: u16 = 25;
const IMAP_PORT: u16 = 143;

impl<'a> Checker<'a> {
    /// The `mail` block: the mailbox and every relay are mail hosts, mail
    /// can pass each hop (the SOC's sender to the first relay, relay to
    /// relay, the last relay to the mailbox) on tcp/25, and the analyst
    /// workstation can read the mailbox over IMAP. Then the `mail` injects'
    /// senders against the first relay.
    fn mail(&mut self) {
        let Some(mail) = &self.scenario.mail else {
            return;
        };
        if !is_domain(&mail.domain) {
            self.error(
                "mail.domain",
                format!(
                    "mail domain {:?} is not a domain name (e.g. city.saida.lg.jp)",
                    mail.domain
                ),
            );
        }
        let accounts = roles::support(ImageRole::Mail).accounts;
        if !accounts.contains(&mail.user.as_str()) {
            self.error(
                "mail.user",
                format!(
                    "the mail image has no mailbox {:?}; its mailboxes are {}",
                    mail.user,
                    accounts.join(", ")
                ),
            );
        }
        if let Some(address) = &mail.soc_address
            && !is_mail_address(address)
        {
            self.error(
                "mail.soc_address",
                format!("{address:?} is not a mail address (e.g. soc@pref.example.lg.jp)"),
            );
        }
        let mailbox = self.mail_host("mail.mailbox", &mail.mailbox, "mailbox host");
        if let Some(host) = mailbox
            && !self.topology.is_team_host(host)
        {
            self.error(
                "mail.mailbox",
                format!(
                    "mailbox host {:?} is in segment {:?}, which stands for the world outside the team's own range",
                    mail.mailbox, host.segment
                ),
            );
        }
        let mut hops: Vec<(String, Option<&Host>)> = Vec::new();
        for (index, relay) in mail.relays.iter().enumerate() {
            let path = format!("mail.relays[{index}]");
            let host = self.mail_host(&path, relay, "mail relay");
            if relay == &mail.mailbox {
                self.error(
                    &path,
                    format!("{relay:?} is the mailbox host; a relay forwards to it"),
                );
            } else if mail.relays[..index].contains(relay) {
                self.error(&path, format!("relay {relay:?} is listed twice"));
            }
            hops.push((path, host));
        }
        hops.push(("mail.mailbox".to_string(), mailbox));
        for pair in hops.windows(2) {
            let [(_, Some(from)), (path, Some(to))] = pair else {
                continue;
            };
            if !self.topology.allows_tcp(from, to, MAIL_PORT) {
                self.error(
                    path,
                    format!(
                        "mail cannot pass from {}/{} to {}/{}: no flow allows tcp/{MAIL_PORT} between them",
                        from.segment, from.name, to.segment, to.name
                    ),
                );
            }
        }
        let entry = hops.first().and_then(|(_, host)| *host);
        if let Some(reference) = &mail.soc_sender
            && let Some(sender) = self.mail_sender("mail.soc_sender", reference, "the SOC's sender")
        {
            if sender.image == ImageRole::Analyst {
                self.error(
                    "mail.soc_sender",
                    format!(
                        "the SOC's mail cannot be sent from {reference:?}: it is an analyst workstation, where the team is root (send it from a security-cloud host, by default the first relay)"
                    ),
                );
            }
            self.mail_reaches_entry("mail.soc_sender", sender, entry);
        }
        if let Some(host) = mailbox {
            for (index, analyst) in self.topology.analyst_workstations() {
                if !self.topology.allows_tcp(analyst, host, IMAP_PORT) {
                    self.error(
                        "mail.mailbox",
                        format!(
                            "the analyst workstation {}/{} (hosts[{index}]) cannot read the mailbox on {}: no flow allows tcp/{IMAP_PORT}",
                            analyst.segment, analyst.name, mail.mailbox
                        ),
                    );
                }
            }
        }
        for (index, inject) in self.scenario.injects.iter().enumerate() {
            if !matches!(inject.action, Action::Mail(_)) {
                continue;
            }
            let Ok(sender) = self.topology.host_ref(&inject.target) else {
                continue;
            };
            let path = format!("injects[{index}].target");
            if !roles::sends_mail(sender.image) {
                self.error(
                    &path,
                    format!(
                        "host {}/{} (role {}) cannot send mail",
                        sender.segment,
                        sender.name,
                        sender.image.as_str()
                    ),
                );
            }
            self.mail_reaches_entry(&path, sender, entry);
        }
    }

    /// A relay or the mailbox host: a host of image `mail`.
    fn mail_host(&mut self, path: &str, reference: &str, what: &str) -> Option<&'a Host> {
        let host = match self.topology.host_ref(reference) {
            Ok(host) => host,
            Err(message) => {
                self.error(path, message);
                return None;
            }
        };
        if host.image != ImageRole::Mail {
            self.error(
                path,
                format!(
                    "{what} {reference:?} is not a mail host: its image is {}, not mail (postfix)",
                    host.image.as_str()
                ),
            );
            return None;
        }
        Some(host)
    }

    fn mail_sender(&mut self, path: &str, reference: &str, what: &str) -> Option<&'a Host> {
        match self.topology.host_ref(reference) {
            Ok(host) => Some(host),
            Err(message) => {
                self.error(path, format!("{what}: {message}"));
                None
            }
        }
    }

    /// Whether `sender` can hand mail to the entry host (itself, or over
    /// tcp/25); an error at `path` otherwise.
    fn mail_reaches_entry(&mut self, path: &str, sender: &Host, entry: Option<&Host>) {
        let Some(entry) = entry else { return };
        if sender.name != entry.name && !self.topology.allows_tcp(sender, entry, MAIL_PORT) {
            self.error(
                path,
                format!(
                    "host {}/{} cannot hand mail to the first relay {}/{}: no flow allows tcp/{MAIL_PORT} between them",
                    sender.segment, sender.name, entry.segment, entry.name
                ),
            );
        }
    }

    /// A `mail` inject's own fields (its sender is judged in [`Self::mail`]).
    fn mail_inject(&mut self, path: &str, mail: &Mail) {
        if self.scenario.mail.is_none() {
            self.error(
                path,
                "a mail inject needs the scenario's `mail` block (the team's mailbox and the relays on the way to it)",
            );
        }
        if mail.from.contains(['\r', '\n']) || !is_mail_address(mail_address_of(&mail.from)) {
            self.error(
                format!("{path}.from"),
                format!(
                    "{:?} is not a sender: write an address or `Name <address>`, e.g. \"総務課 <soumu@example.jp>\"",
                    mail.from
                ),
            );
        }
        self.check_text(&format!("{path}.subject"), "a mail subject", &mail.subject);
        self.check_text(&format!("{path}.body"), "a mail body", &mail.body);
        for (field, text) in [("subject", &mail.subject), ("body", &mail.body)] {
            for (language, value) in [("ja", &text.ja), ("en", &text.en)] {
                for reference in value.iter().flat_map(|value| placeholders(value)) {
                    if let Err(problem) = self.topology.target_ref(reference) {
                        self.error(
                            format!("{path}.{field}.{language}"),
                            format!("placeholder {{{{{reference}}}}}: {problem}"),
                        );
                    }
                }
            }
        }
        if let Some(attachment) = &mail.attachment {
            let name = &attachment.name;
            if name.is_empty()
                || name.len() > 200
                || name.contains(['/', '\\', '"'])
                || name.chars().any(char::is_control)
            {
                self.error(
                    format!("{path}.attachment.name"),
                    format!(
                        "attachment name {name:?} must be a file name (1-200 bytes, no /, \\, quotes or control characters)"
                    ),
                );
            }
            if attachment.content.len() > MAIL_ATTACHMENT_LIMIT {
                self.error(
                    format!("{path}.attachment.content"),
                    format!(
                        "the attachment is {} bytes; at most {MAIL_ATTACHMENT_LIMIT}",
                        attachment.content.len()
                    ),
                );
            }
        }
        if let (Some(to), Some(team_mail)) = (&mail.to, &self.scenario.mail) {
            let chain = team_mail.chain();
            match self.topology.host_ref(&to.host) {
                Err(message) => self.error(format!("{path}.to.host"), message),
                Ok(host) => {
                    let reference = format!("{}/{}", host.segment, host.name);
                    if !chain.contains(&reference.as_str()) {
                        self.error(
                            format!("{path}.to.host"),
                            format!(
                                "{} is not on the mail's way: a mail inject can go to a mailbox on a relay of `mail.relays` or on `mail.mailbox` ({})",
                                to.host,
                                chain.join(", ")
                            ),
                        );
                    } else if !roles::support(ImageRole::Mail)
                        .accounts
                        .contains(&to.user.as_str())
                    {
                        self.error(
                            format!("{path}.to.user"),
                            format!(
                                "{:?} has no mailbox on {}: the mail image's mailboxes are {}",
                                to.user,
                                to.host,
                                roles::support(ImageRole::Mail).accounts.join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }
}
