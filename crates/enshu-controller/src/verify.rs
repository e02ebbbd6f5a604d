//! `verify`: prove isolation instead of assuming it.
//!
//! From hosts of every team, probe (1) each declared flow, which must pass
//! (TCP, UDP, ICMP as declared), (2) hosts of the same team on TCP ports no
//! flow allows, which must fail, (3) the other teams' hosts, (4) every
//! address of the host machine on a canary port the caller listens on, and
//! (5) an outside address the caller owns; (3)-(5) must all fail, over TCP,
//! UDP and ICMP alike. Besides, (6) the source's resolver must not answer
//! for an outside name (Docker's embedded resolver forwards to upstreams
//! beyond the range unless told otherwise) while it still resolves a host
//! of its own segment, and (7) the source has no IPv6 address beyond
//! link-local (IPv4's rules would not see that way out).
//!
//! A TCP probe counts as reaching its target when it connects or is
//! refused (a refusal is an answer from the target), a UDP probe when a
//! datagram or a port unreachable comes back, an ICMP probe when the echo
//! is answered, a DNS probe when the resolver answers (NOERROR or
//! NXDOMAIN: someone looked the name up); a timeout or an unreachable
//! error counts as blocked.
//!
//! Building the probe list and judging the answers are pure. The probes
//! run from each source container's network namespace, all of a source's
//! at once: on a thread of the controller where the backend can enter the
//! namespace ([`Backend::connect_from`]), else as one exec per source
//! container (see [`probe_command`]). Both see the same addresses, routes
//! and filter rules.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use enshu_backend::{Backend, BackendError, ConnectOutcome, ExecPrivilege, NetProbe};
use enshu_scenario::model::Protocol;
use enshu_scenario::net::Ipv4Net;
use enshu_scenario::plan::{ContainerSpec, Plan, ROUTER_HOST, TeamPlan};
use futures::stream::{self, StreamExt};
use serde::Serialize;

/// What the probe must find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Reachable,
    Blocked,
}

/// What a probe sends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    Tcp,
    Udp,
    Icmp,
    /// An A query for this name to the target (the source's resolver).
    Dns(String),
    /// Whether the source has an IPv6 address beyond link-local.
    Ipv6,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub team: String,
    /// Container the probe runs in.
    pub from: String,
    pub kind: ProbeKind,
    pub target: Ipv4Addr,
    /// 0 where the kind has none (ICMP, IPv6).
    pub port: u16,
    pub expect: Expect,
    /// Why: `flows[3]`, `same team, no flow`, `team t02`, `host machine`,
    /// `outside`, `outside name`, `range name`, `ipv6`.
    pub reason: String,
}

impl Probe {
    /// What the backend sends for it.
    pub fn net_probe(&self) -> NetProbe {
        match &self.kind {
            ProbeKind::Tcp => NetProbe::Tcp(self.target, self.port),
            ProbeKind::Udp => NetProbe::Udp(self.target, self.port),
            ProbeKind::Icmp => NetProbe::Icmp(self.target),
            ProbeKind::Dns(name) => NetProbe::Dns {
                server: self.target,
                name: name.clone(),
            },
            ProbeKind::Ipv6 => NetProbe::Ipv6Address,
        }
    }

    /// `tcp 10.64.10.1:9`, `dns 127.0.0.11 example.invalid`, `ipv6`.
    pub fn describe(&self) -> String {
        match &self.kind {
            ProbeKind::Tcp => format!("tcp {}:{}", self.target, self.port),
            ProbeKind::Udp => format!("udp {}:{}", self.target, self.port),
            ProbeKind::Icmp => format!("icmp {}", self.target),
            ProbeKind::Dns(name) => format!("dns {} {name}", self.target),
            ProbeKind::Ipv6 => "ipv6 address".to_string(),
        }
    }
}

/// The resolver of every range container: Docker's embedded one.
pub const CONTAINER_RESOLVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// A name that exists nowhere (RFC 6761's `invalid.`): a resolver that
/// answers for it at all (even NXDOMAIN) forwarded it beyond the range.
pub const OUTSIDE_NAME: &str = "enshu-verify.invalid";

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    Open,
    Refused,
    Blocked,
    /// The container printed no answer for this probe (the probe could not
    /// run): neither reached nor blocked, so it fails whatever was expected.
    Unanswered,
}

impl ProbeOutcome {
    pub fn reached(self) -> bool {
        matches!(self, ProbeOutcome::Open | ProbeOutcome::Refused)
    }
}

/// Addresses outside the ranges, supplied by the caller.
#[derive(Debug, Clone, Default)]
pub struct Outside {
    /// Every address of the host machine (bridge gateways included).
    pub host_addresses: Vec<Ipv4Addr>,
    /// A port the caller listens on at all host addresses during verify.
    pub canary_port: u16,
    /// An address beyond the host that the caller owns and listens on.
    pub outside: Vec<(Ipv4Addr, u16)>,
}

/// A port no scenario uses, for "is anything getting through" probes.
const QUIET_PORT: u16 = 9;

fn allows(team: &TeamPlan, source: Ipv4Addr, target: Ipv4Addr, port: u16) -> bool {
    let same_segment = team
        .networks
        .iter()
        .any(|network| network.subnet.contains(source) && network.subnet.contains(target));
    if same_segment {
        return true;
    }
    let covers =
        |networks: &[Ipv4Net], address: Ipv4Addr| networks.iter().any(|net| net.contains(address));
    team.firewall.rules.iter().any(|rule| {
        covers(&rule.from, source)
            && covers(&rule.to, target)
            && rule
                .ports
                .iter()
                .any(|spec| match (spec.protocol, spec.ports) {
                    (Protocol::Any, _) => true,
                    (Protocol::Tcp, Some((low, high))) => (low..=high).contains(&port),
                    _ => false,
                })
    })
}

fn hosts(team: &TeamPlan) -> impl Iterator<Item = &ContainerSpec> {
    team.containers
        .iter()
        .filter(|container| container.hostname != ROUTER_HOST)
}

/// Every probe for a plan. Sources are one host per segment plus every host
/// trainees log in to; targets are every host of the team.
pub fn probes_for(plan: &Plan, outside: &Outside) -> Vec<Probe> {
    let mut probes = Vec::new();
    for team in &plan.teams {
        let mut push = |from: &ContainerSpec,
                        kind: ProbeKind,
                        target: Ipv4Addr,
                        port: u16,
                        expect: Expect,
                        reason: String| {
            probes.push(Probe {
                team: team.name.clone(),
                from: from.name.clone(),
                kind,
                target,
                port,
                expect,
                reason,
            });
        };
        let mut sources: Vec<&ContainerSpec> = Vec::new();
        for network in &team.networks {
            if let Some(first) =
                hosts(team).find(|container| container.networks[0].network == network.name)
            {
                sources.push(first);
            }
        }
        for container in hosts(team).filter(|container| container.login) {
            if !sources.iter().any(|source| source.name == container.name) {
                sources.push(container);
            }
        }
        // (1) every declared flow, from a host it covers to one it allows.
        for rule in &team.firewall.rules {
            let from = hosts(team).find(|container| {
                rule.from
                    .iter()
                    .any(|net| net.contains(container.networks[0].address))
            });
            let to = hosts(team).find(|container| {
                rule.to
                    .iter()
                    .any(|net| net.contains(container.networks[0].address))
                    && Some(container.name.as_str()) != from.map(|from| from.name.as_str())
            });
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let target = to.networks[0].address;
            for spec in &rule.ports {
                let reason = format!("flows[{}] {}", rule.flow, spec);
                let (kind, port) = match (spec.protocol, spec.ports) {
                    (Protocol::Tcp, Some((low, _))) => (ProbeKind::Tcp, low),
                    (Protocol::Udp, Some((low, _))) => (ProbeKind::Udp, low),
                    (Protocol::Icmp, _) => (ProbeKind::Icmp, 0),
                    (Protocol::Any, _) => {
                        push(
                            from,
                            ProbeKind::Icmp,
                            target,
                            0,
                            Expect::Reachable,
                            reason.clone(),
                        );
                        (ProbeKind::Tcp, QUIET_PORT)
                    }
                    _ => continue,
                };
                push(from, kind, target, port, Expect::Reachable, reason);
            }
        }
        for source in &sources {
            let source_address = source.networks[0].address;
            // (2) the same team, on the quiet port, wherever no flow allows it.
            for target in hosts(team) {
                let target_address = target.networks[0].address;
                if target.name == source.name
                    || allows(team, source_address, target_address, QUIET_PORT)
                {
                    continue;
                }
                push(
                    source,
                    ProbeKind::Tcp,
                    target_address,
                    QUIET_PORT,
                    Expect::Blocked,
                    format!("same team, no flow to {}", target.reference),
                );
            }
            // Never reached over TCP, UDP or ICMP.
            let mut never = |target: Ipv4Addr, port: u16, reason: String| {
                push(
                    source,
                    ProbeKind::Tcp,
                    target,
                    port,
                    Expect::Blocked,
                    reason.clone(),
                );
                push(
                    source,
                    ProbeKind::Udp,
                    target,
                    port,
                    Expect::Blocked,
                    reason.clone(),
                );
                push(source, ProbeKind::Icmp, target, 0, Expect::Blocked, reason);
            };
            // (3) every other team: one host in each of its networks (its
            // router where a network has none). Isolation between teams
            // is per network, so one address per network proves it.
            for other_team in plan.teams.iter().filter(|other| other.name != team.name) {
                for network in &other_team.networks {
                    let target = other_team
                        .containers
                        .iter()
                        .filter(|container| container.hostname != ROUTER_HOST)
                        .find(|container| container.networks[0].network == network.name)
                        .map(|container| {
                            (container.networks[0].address, container.reference.clone())
                        })
                        .unwrap_or((network.router, format!("router in {}", network.segment)));
                    never(
                        target.0,
                        QUIET_PORT,
                        format!("team {} {}", other_team.name, target.1),
                    );
                }
            }
            // (4) the host machine, on the canary port the caller listens on.
            let own_gateways = team
                .networks
                .iter()
                .filter(|network| network.name == source.networks[0].network)
                .map(|network| network.gateway);
            let mut host_targets: Vec<Ipv4Addr> = outside
                .host_addresses
                .iter()
                .copied()
                .chain(own_gateways)
                .collect();
            host_targets.sort();
            host_targets.dedup();
            for address in host_targets {
                never(address, outside.canary_port, "host machine".into());
            }
            // (5) the outside.
            for (address, port) in &outside.outside {
                never(*address, *port, "outside".into());
            }
            // (6) the resolver: no outside name, but the range's own names.
            push(
                source,
                ProbeKind::Dns(OUTSIDE_NAME.to_string()),
                CONTAINER_RESOLVER,
                53,
                Expect::Blocked,
                "outside name".into(),
            );
            if let Some(neighbour) = hosts(team).find(|container| {
                container.name != source.name
                    && container.networks[0].network == source.networks[0].network
            }) {
                push(
                    source,
                    ProbeKind::Dns(neighbour.name.clone()),
                    CONTAINER_RESOLVER,
                    53,
                    Expect::Reachable,
                    format!("range name {}", neighbour.reference),
                );
            }
            // (7) no IPv6 beyond link-local.
            push(
                source,
                ProbeKind::Ipv6,
                Ipv4Addr::UNSPECIFIED,
                0,
                Expect::Blocked,
                "ipv6".into(),
            );
        }
    }
    probes
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub probe: Probe,
    pub outcome: ProbeOutcome,
}

impl ProbeResult {
    pub fn passed(&self) -> bool {
        match (self.probe.expect, self.outcome) {
            (_, ProbeOutcome::Unanswered) => false,
            (Expect::Reachable, _) if self.silent() => true,
            (Expect::Reachable, outcome) => outcome.reached(),
            (Expect::Blocked, outcome) => !outcome.reached(),
        }
    }

    /// A declared UDP flow that got no answer: its listener may be one
    /// that never replies (syslog on udp/514), so the silence neither
    /// proves nor disproves delivery. It does not fail verify (a router's
    /// drop and a silent listener look alike from the source); it is
    /// counted apart, as not proven.
    pub fn silent(&self) -> bool {
        self.probe.expect == Expect::Reachable
            && self.probe.kind == ProbeKind::Udp
            && self.outcome == ProbeOutcome::Blocked
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub results: Vec<ProbeResult>,
    pub seconds: f64,
}

impl VerifyReport {
    pub fn failures(&self) -> Vec<&ProbeResult> {
        self.results
            .iter()
            .filter(|result| !result.passed())
            .collect()
    }

    pub fn ok(&self) -> bool {
        self.failures().is_empty()
    }

    /// Declared UDP flows whose listener did not answer (see
    /// [`ProbeResult::silent`]).
    pub fn unproven(&self) -> Vec<&ProbeResult> {
        self.results
            .iter()
            .filter(|result| result.silent())
            .collect()
    }
}

/// How many probes one container runs at once when it has no Python and
/// falls back to bash (each is two processes, and containers have a pids
/// limit of 256).
const PROBES_AT_ONCE_WITHOUT_PYTHON: usize = 24;

/// The probe of every image that has Python (all of Enshu's role images):
/// one process opens every connection at once, then waits one timeout for
/// their answers. Arguments: timeout, then `address:port` targets.
const PYTHON_PROBE: &str = include_str!("../scripts/verify/probe.py");

/// The fallback for images without Python: bash's `/dev/tcp`, a bounded
/// number at once. Arguments: probes at once, timeout, then `address:port`
/// targets.
const BASH_PROBE: &str = include_str!("../scripts/verify/probe.sh");

/// Chooses the probe by what the image has: `$0` is the Python probe, `$1`
/// the bash one, `$2` the bash probe's parallelism, the rest their
/// arguments.
const PROBE_DISPATCH: &str = include_str!("../scripts/verify/dispatch.sh");

/// One probe as the probe programs take it: `kind:address:port[:name]`.
fn probe_argument(probe: &NetProbe) -> String {
    match probe {
        NetProbe::Tcp(address, port) => format!("tcp:{address}:{port}"),
        NetProbe::Udp(address, port) => format!("udp:{address}:{port}"),
        NetProbe::Icmp(address) => format!("icmp:{address}:0"),
        NetProbe::Dns { server, name } => format!("dns:{server}:53:{name}"),
        NetProbe::Ipv6Address => "ipv6:0.0.0.0:0".to_string(),
    }
}

/// The command one container runs for its probes: one line of output per
/// probe, `kind address port outcome [name]`.
pub fn probe_command(targets: &[NetProbe], timeout_seconds: u32) -> Vec<String> {
    let mut command = vec![
        "sh".to_string(),
        "-c".to_string(),
        PROBE_DISPATCH.to_string(),
        PYTHON_PROBE.to_string(),
        BASH_PROBE.to_string(),
        PROBES_AT_ONCE_WITHOUT_PYTHON.to_string(),
        timeout_seconds.to_string(),
    ];
    command.extend(targets.iter().map(probe_argument));
    command
}

/// Parse `kind address port outcome [name]` lines.
pub fn parse_probe_output(text: &str) -> BTreeMap<NetProbe, ProbeOutcome> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let kind = parts.next()?;
            let address: Ipv4Addr = parts.next()?.parse().ok()?;
            let port: u16 = parts.next()?.parse().ok()?;
            let outcome = match parts.next()? {
                "open" => ProbeOutcome::Open,
                "refused" => ProbeOutcome::Refused,
                _ => ProbeOutcome::Blocked,
            };
            let probe = match kind {
                "tcp" => NetProbe::Tcp(address, port),
                "udp" => NetProbe::Udp(address, port),
                "icmp" => NetProbe::Icmp(address),
                "dns" => NetProbe::Dns {
                    server: address,
                    name: parts.next()?.to_string(),
                },
                "ipv6" => NetProbe::Ipv6Address,
                _ => return None,
            };
            Some((probe, outcome))
        })
        .collect()
}

/// Run the probes, one exec per source container, `concurrency` at a time.
///
/// A probe that must reach its target but timed out is tried once more,
/// with a longer timeout: on a loaded machine a 1 s timeout can lose a real
/// answer, while a probe that gets through when it must not is never a
/// measurement error. A probe that got no answer at all is tried again too.
pub async fn verify<B: Backend>(
    backend: &B,
    probes: Vec<Probe>,
    concurrency: usize,
) -> Result<VerifyReport, BackendError> {
    let started = std::time::Instant::now();
    let count = probes.len();
    let mut results = run_probes(backend, probes, concurrency, 1).await?;
    tracing::info!(
        probes = count,
        seconds = started.elapsed().as_secs_f64(),
        "verify: first round"
    );
    let retry: Vec<Probe> = results
        .iter()
        .filter(|result| {
            !result.passed()
                && (result.probe.expect == Expect::Reachable
                    || result.outcome == ProbeOutcome::Unanswered)
        })
        .map(|result| result.probe.clone())
        .collect();
    if !retry.is_empty() {
        let retried = retry.len();
        let second = run_probes(backend, retry, concurrency, 5).await?;
        tracing::info!(
            probes = retried,
            seconds = started.elapsed().as_secs_f64(),
            "verify: second round"
        );
        for retried in second {
            if let Some(slot) = results
                .iter_mut()
                .find(|result| result.probe == retried.probe)
            {
                *slot = retried;
            }
        }
    }
    results.sort_by(|left, right| {
        (
            &left.probe.team,
            &left.probe.from,
            left.probe.target,
            left.probe.port,
            &left.probe.kind,
        )
            .cmp(&(
                &right.probe.team,
                &right.probe.from,
                right.probe.target,
                right.probe.port,
                &right.probe.kind,
            ))
    });
    Ok(VerifyReport {
        results,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Probe `targets` from `container`: from a thread in its network namespace
/// where the backend can, else with [`probe_command`] run inside it.
async fn probe_from<B: Backend>(
    backend: &B,
    container: &str,
    targets: &[NetProbe],
    timeout_seconds: u32,
) -> Result<BTreeMap<NetProbe, ProbeOutcome>, BackendError> {
    let timeout = std::time::Duration::from_secs(u64::from(timeout_seconds));
    if let Some(outcomes) = backend.connect_from(container, targets, timeout).await? {
        return Ok(targets
            .iter()
            .cloned()
            .zip(outcomes.into_iter().map(|outcome| match outcome {
                ConnectOutcome::Open => ProbeOutcome::Open,
                ConnectOutcome::Refused => ProbeOutcome::Refused,
                ConnectOutcome::Blocked => ProbeOutcome::Blocked,
            }))
            .collect());
    }
    let command = probe_command(targets, timeout_seconds);
    let output = backend
        .exec(container, &command, ExecPrivilege::Container)
        .await?;
    Ok(parse_probe_output(&output.stdout_text()))
}

async fn run_probes<B: Backend>(
    backend: &B,
    probes: Vec<Probe>,
    concurrency: usize,
    timeout_seconds: u32,
) -> Result<Vec<ProbeResult>, BackendError> {
    let mut by_source: BTreeMap<String, Vec<Probe>> = BTreeMap::new();
    for probe in probes {
        by_source.entry(probe.from.clone()).or_default().push(probe);
    }
    let answers: Vec<Result<Vec<ProbeResult>, BackendError>> = stream::iter(by_source)
        .map(|(container, probes)| async move {
            let mut targets: Vec<NetProbe> = probes.iter().map(Probe::net_probe).collect();
            targets.sort();
            targets.dedup();
            let outcomes = probe_from(backend, &container, &targets, timeout_seconds).await?;
            Ok(probes
                .into_iter()
                .map(|probe| {
                    // A missing line means the probe could not run: that
                    // proves nothing either way, so it fails.
                    let outcome = outcomes
                        .get(&probe.net_probe())
                        .copied()
                        .unwrap_or(ProbeOutcome::Unanswered);
                    ProbeResult { probe, outcome }
                })
                .collect())
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut results = Vec::new();
    for answer in answers {
        results.extend(answer?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the probe command on this machine against loopback only.
    fn run_on_host(command: &[String]) -> Option<BTreeMap<NetProbe, ProbeOutcome>> {
        let output = std::process::Command::new(&command[0])
            .args(&command[1..])
            .output()
            .ok()?;
        Some(parse_probe_output(&String::from_utf8_lossy(&output.stdout)))
    }

    fn loopback_ports() -> (std::net::TcpListener, u16, u16) {
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let open_port = listening.local_addr().unwrap().port();
        (listening, open_port, closed_port)
    }

    #[test]
    fn the_probe_tells_open_from_refused_with_python_and_with_bash() {
        let (_listening, open_port, closed_port) = loopback_ports();
        let loopback = Ipv4Addr::LOCALHOST;
        // A resolver on loopback that answers NXDOMAIN to one query.
        let resolver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let resolver_port = resolver.local_addr().unwrap().port();
        let (tcp_open, tcp_closed, udp_answered, udp_closed) = (
            NetProbe::Tcp(loopback, open_port),
            NetProbe::Tcp(loopback, closed_port),
            NetProbe::Udp(loopback, resolver_port),
            NetProbe::Udp(loopback, closed_port),
        );
        let targets = [
            tcp_open.clone(),
            tcp_closed.clone(),
            udp_answered.clone(),
            udp_closed.clone(),
            NetProbe::Ipv6Address,
        ];
        let command = probe_command(&targets, 1);
        let has_python = std::process::Command::new("python3")
            .arg("-V")
            .output()
            .is_ok();
        if has_python {
            let answering = std::thread::spawn(move || {
                let mut buffer = [0u8; 512];
                let (length, from) = resolver.recv_from(&mut buffer).unwrap();
                buffer[2] |= 0x80;
                buffer[3] = 3;
                resolver.send_to(&buffer[..length], from).unwrap();
            });
            let outcomes = run_on_host(&command).unwrap();
            answering.join().unwrap();
            assert_eq!(outcomes[&tcp_open], ProbeOutcome::Open);
            assert_eq!(outcomes[&tcp_closed], ProbeOutcome::Refused);
            assert_eq!(outcomes[&udp_answered], ProbeOutcome::Open);
            assert_eq!(outcomes[&udp_closed], ProbeOutcome::Refused);
            assert!(outcomes.contains_key(&NetProbe::Ipv6Address));
        }
        // The fallback, as an image without Python runs it: TCP only.
        let mut fallback = vec!["bash".to_string(), "-c".to_string(), command[4].clone()];
        fallback.push("bash".to_string());
        fallback.extend(command[5..].iter().cloned());
        if let Some(outcomes) = run_on_host(&fallback) {
            assert_eq!(outcomes[&tcp_open], ProbeOutcome::Open);
            assert_eq!(outcomes[&tcp_closed], ProbeOutcome::Refused);
            assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        }
    }

    #[test]
    fn an_unanswered_probe_fails_whatever_was_expected() {
        for expect in [Expect::Reachable, Expect::Blocked] {
            let result = ProbeResult {
                probe: Probe {
                    team: "t01".into(),
                    from: "a".into(),
                    kind: ProbeKind::Tcp,
                    target: Ipv4Addr::LOCALHOST,
                    port: 9,
                    expect,
                    reason: "test".into(),
                },
                outcome: ProbeOutcome::Unanswered,
            };
            assert!(!result.passed(), "{expect:?}");
        }
    }

    #[test]
    fn a_silent_declared_udp_flow_is_unproven_but_a_silent_tcp_flow_fails() {
        let result = |kind: ProbeKind, expect: Expect, outcome: ProbeOutcome| ProbeResult {
            probe: Probe {
                team: "t01".into(),
                from: "a".into(),
                kind,
                target: Ipv4Addr::LOCALHOST,
                port: 514,
                expect,
                reason: "flows[1] udp/514".into(),
            },
            outcome,
        };
        let silent = result(ProbeKind::Udp, Expect::Reachable, ProbeOutcome::Blocked);
        assert!(silent.passed() && silent.silent());
        let tcp = result(ProbeKind::Tcp, Expect::Reachable, ProbeOutcome::Blocked);
        assert!(!tcp.passed() && !tcp.silent());
        // Reaching what must stay blocked fails over UDP as over TCP.
        let leak = result(ProbeKind::Udp, Expect::Blocked, ProbeOutcome::Refused);
        assert!(!leak.passed() && !leak.silent());
        let report = VerifyReport {
            results: vec![silent, tcp, leak],
            seconds: 0.0,
        };
        assert_eq!(report.unproven().len(), 1);
        assert_eq!(report.failures().len(), 2);
    }

    #[test]
    fn every_probe_is_one_argument_after_the_timeout() {
        let address: Ipv4Addr = "10.64.10.1".parse().unwrap();
        let command = probe_command(
            &[
                NetProbe::Tcp(address, 9),
                NetProbe::Icmp(address),
                NetProbe::Dns {
                    server: CONTAINER_RESOLVER,
                    name: OUTSIDE_NAME.into(),
                },
            ],
            3,
        );
        assert_eq!(command[..2], ["sh", "-c"]);
        assert_eq!(command[5], PROBES_AT_ONCE_WITHOUT_PYTHON.to_string());
        assert_eq!(command[6], "3");
        assert_eq!(
            command[7..],
            [
                "tcp:10.64.10.1:9",
                "icmp:10.64.10.1:0",
                "dns:127.0.0.11:53:enshu-verify.invalid"
            ]
        );
    }
}
