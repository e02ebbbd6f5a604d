//! Traffic generators: attack traffic made by the target host itself.
//!
//! A generator runs inside the TARGET container with its real network
//! stack, so what the team sees (the router's counters, the C2's log, a
//! tcpdump on the analyst box, the host's own sockets) is real. One exec
//! starts it in the background, in its own session, under `timeout`, with a
//! bounded count; its pid goes to `/run/enshu/traffic/<inject>.pid` so it can
//! be stopped. The launcher and the generators are the shell scripts in
//! `scripts/traffic/`, each generator joined after `pause.sh` at compile
//! time; every value reaches them as an argument.
//!
//! **Safety:** the egress guard refuses any generator whose destination is
//! not a host inside the team's own planned networks. Ranges are internal
//! networks anyway; the guard makes a planning mistake (a wrong pool, a
//! public address in a map) fail loudly instead of sending anything.

use std::net::Ipv4Addr;

use enshu_backend::{Backend, BackendError, ExecPrivilege};
use enshu_scenario::model::{Protocol, Traffic, TrafficKind};
use enshu_scenario::net::Ipv4Net;
use enshu_scenario::plan::PlannedInject;
use serde::Serialize;
use serde_json::{Value, json};

use crate::shell;

/// Where generators keep their pid files (tmpfs on every role).
pub const PID_DIRECTORY: &str = "/run/enshu/traffic";
/// No generator runs longer than this, whatever its count and interval.
pub const MAX_SECONDS: u64 = 24 * 3600;
/// Upper bound of beacons, attempts, probes or queries of one generator.
pub const MAX_COUNT: u32 = 10_000;
/// Upper bound of bytes one exfiltration sends.
pub const MAX_EXFILTRATION_BYTES: u64 = 64 * 1024 * 1024;
/// Exfiltration chunk size.
pub const CHUNK_BYTES: u64 = 64 * 1024;
/// Ports a scan probes when the inject lists none.
pub const DEFAULT_SCAN_PORTS: [u16; 13] =
    [21, 22, 23, 25, 53, 80, 110, 139, 143, 443, 445, 3389, 8080];

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("inject {inject}: target {target} is not a host")]
    TargetNotAHost { inject: String, target: String },
    #[error(
        "inject {inject}: destination {to} is not resolved to a host address (got {resolved:?})"
    )]
    Unresolved {
        inject: String,
        to: String,
        resolved: String,
    },
    #[error(
        "inject {inject}: egress guard: destination {destination} is outside the team's networks {networks}"
    )]
    EgressRefused {
        inject: String,
        destination: Ipv4Addr,
        networks: String,
    },
    #[error("inject {inject}: {kind} needs {field}")]
    Missing {
        inject: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error("inject {inject}: starting the generator in {container}: {source}")]
    Backend {
        inject: String,
        container: String,
        source: BackendError,
    },
    #[error(
        "inject {inject}: the generator in {container} did not start (exit {exit_code}): {stderr}"
    )]
    Failed {
        inject: String,
        container: String,
        exit_code: i64,
        stderr: String,
    },
}

/// How a brute force reaches its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BruteForceMethod {
    /// HTTP basic auth with curl.
    Http,
    /// ssh password attempts with sshpass (plain TCP connects if it is missing).
    Ssh,
    /// TCP connects only (RDP and other services no client here speaks).
    Connect,
    /// SMB session setups with smbclient (NTLM): each a logon the
    /// directory (or a file server) logs.
    Smb,
    /// LDAP binds with ldbsearch (NTLM over SASL): each a logon the
    /// directory logs.
    Ldap,
}

/// Which client guesses passwords on `port`.
fn guessing_method(port: u16) -> BruteForceMethod {
    match port {
        22 => BruteForceMethod::Ssh,
        80 | 443 | 8000..=8999 => BruteForceMethod::Http,
        389 => BruteForceMethod::Ldap,
        445 => BruteForceMethod::Smb,
        _ => BruteForceMethod::Connect,
    }
}

/// The accounts a spray tries when the scenario names none: common
/// family names, as a spray from a harvested staff list would.
pub const DEFAULT_SPRAY_USERS: &[&str] = &[
    "tanaka",
    "suzuki",
    "takahashi",
    "sato",
    "ito",
    "watanabe",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "admin",
];
/// The most accounts a spray tries.
pub const MAX_SPRAY_USERS: usize = 200;
/// The one password a spray tries when the scenario names none.
pub const DEFAULT_SPRAY_PASSWORD: &str = "Saida2024!";

/// One generator, every default applied and every bound enforced: the
/// pure half of [`start`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generator {
    pub inject: String,
    pub kind: TrafficKind,
    pub container: String,
    pub source: Option<Ipv4Addr>,
    pub destination: Ipv4Addr,
    pub ports: Vec<u16>,
    pub count: u32,
    pub interval_ms: u64,
    pub jitter: f64,
    pub path: String,
    pub user: Option<String>,
    pub bytes: Option<u64>,
    pub domain: Option<String>,
    pub brute_force_method: Option<BruteForceMethod>,
    /// The accounts a password spray tries, in turn.
    pub users: Vec<String>,
    /// The one password a spray tries.
    pub password: Option<String>,
    /// The `timeout` the whole generator runs under.
    pub max_seconds: u64,
}

/// Whether `destination` is inside one of the team's networks.
pub fn egress_allowed(destination: Ipv4Addr, team_networks: &[Ipv4Net]) -> bool {
    team_networks
        .iter()
        .any(|network| network.contains(destination))
}

fn tcp_ports(traffic: &Traffic, limit: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    for spec in &traffic.ports {
        if let (Protocol::Tcp | Protocol::Udp | Protocol::Any, Some((low, high))) =
            (spec.protocol, spec.ports)
        {
            for port in low..=high {
                if ports.len() >= limit {
                    return ports;
                }
                ports.push(port);
            }
        }
    }
    ports
}

/// Resolve, default and bound a traffic inject; the egress guard runs here.
pub fn generator(
    inject: &PlannedInject,
    traffic: &Traffic,
    team_networks: &[Ipv4Net],
) -> Result<Generator, TrafficError> {
    let container =
        inject
            .target
            .container
            .clone()
            .ok_or_else(|| TrafficError::TargetNotAHost {
                inject: inject.id.clone(),
                target: inject.target.reference.clone(),
            })?;
    let resolved = inject
        .addresses
        .get(&traffic.to)
        .cloned()
        .unwrap_or_default();
    let destination: Ipv4Addr = resolved.parse().map_err(|_| TrafficError::Unresolved {
        inject: inject.id.clone(),
        to: traffic.to.clone(),
        resolved: resolved.clone(),
    })?;
    if !egress_allowed(destination, team_networks) {
        let networks = team_networks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(TrafficError::EgressRefused {
            inject: inject.id.clone(),
            destination,
            networks: format!("[{networks}]"),
        });
    }
    let interval_default_ms = match traffic.kind {
        TrafficKind::Beacon => 60_000,
        TrafficKind::Scan => 50,
        _ => 1_000,
    };
    let interval_ms = traffic
        .interval
        .map(|interval| interval.seconds * 1000)
        .unwrap_or(interval_default_ms);
    let jitter = traffic
        .jitter
        .filter(|jitter| jitter.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    let first_port = |default: u16| tcp_ports(traffic, 1).first().copied().unwrap_or(default);
    let mut bytes = None;
    let mut domain = None;
    let mut user = None;
    let mut brute_force_method = None;
    let mut users = Vec::new();
    let mut password = None;
    let (ports, count, path) = match traffic.kind {
        TrafficKind::Beacon => (
            vec![first_port(80)],
            traffic.count.unwrap_or(60),
            traffic.path.clone().unwrap_or_else(|| "/".into()),
        ),
        TrafficKind::BruteForce => {
            let port = first_port(22);
            brute_force_method = Some(guessing_method(port));
            user = Some(traffic.user.clone().unwrap_or_else(|| "admin".into()));
            (
                vec![port],
                traffic.count.unwrap_or(50),
                traffic.path.clone().unwrap_or_else(|| "/admin/".into()),
            )
        }
        TrafficKind::PasswordSpray => {
            let port = first_port(445);
            brute_force_method = Some(guessing_method(port));
            users = if traffic.users.is_empty() {
                DEFAULT_SPRAY_USERS
                    .iter()
                    .map(|user| user.to_string())
                    .collect()
            } else {
                traffic
                    .users
                    .iter()
                    .take(MAX_SPRAY_USERS)
                    .cloned()
                    .collect()
            };
            password = Some(
                traffic
                    .password
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SPRAY_PASSWORD.to_string()),
            );
            (
                vec![port],
                traffic.count.unwrap_or(users.len() as u32),
                String::new(),
            )
        }
        TrafficKind::Scan => {
            let limit = traffic.count.unwrap_or(1024).min(1024) as usize;
            let mut ports = tcp_ports(traffic, limit);
            if ports.is_empty() {
                ports = DEFAULT_SCAN_PORTS.iter().copied().take(limit).collect();
            }
            let count = ports.len() as u32;
            (ports, count, String::new())
        }
        TrafficKind::Exfiltration => {
            let total = traffic
                .bytes
                .unwrap_or(1024 * 1024)
                .clamp(1, MAX_EXFILTRATION_BYTES);
            bytes = Some(total);
            (
                vec![first_port(80)],
                total.div_ceil(CHUNK_BYTES) as u32,
                traffic.path.clone().unwrap_or_else(|| "/upload".into()),
            )
        }
        TrafficKind::DnsTunnel => {
            domain = Some(
                traffic
                    .domain
                    .clone()
                    .filter(|domain| !domain.is_empty())
                    .ok_or_else(|| TrafficError::Missing {
                        inject: inject.id.clone(),
                        kind: TrafficKind::DnsTunnel.as_str(),
                        field: "domain",
                    })?,
            );
            (
                vec![first_port(53)],
                traffic.count.unwrap_or(100),
                String::new(),
            )
        }
    };
    let count = count.clamp(1, MAX_COUNT);
    let max_seconds = time_bound(traffic.kind, count, interval_ms, jitter);
    Ok(Generator {
        inject: inject.id.clone(),
        kind: traffic.kind,
        container,
        source: inject.target.address,
        destination,
        ports,
        count,
        interval_ms,
        jitter,
        path,
        user,
        bytes,
        domain,
        brute_force_method,
        users,
        password,
        max_seconds,
    })
}

/// How long a generator may run: each attempt may take its own timeout
/// (5 s, 30 s for a chunk) on top of the interval; a minute of slack for
/// the start.
fn time_bound(kind: TrafficKind, count: u32, interval_ms: u64, jitter: f64) -> u64 {
    let attempt_seconds: u64 = if kind == TrafficKind::Exfiltration {
        30
    } else {
        5
    };
    let per_attempt_ms = (interval_ms as f64 * (1.0 + jitter)) as u64 + attempt_seconds * 1000;
    (u64::from(count) * per_attempt_ms / 1000 + 60).min(MAX_SECONDS)
}

/// The shortest interval a faster clock may bring a generator down to.
pub const MIN_INTERVAL_MS: u64 = 20;

impl Generator {
    /// The generator as it runs on a clock `speed` times real time: its
    /// interval is exercise time, so it shrinks with the clock (a 60 s
    /// beacon every 3 s at 20×), never below [`MIN_INTERVAL_MS`]; the count
    /// stays.
    pub fn at_speed(mut self, speed: u32) -> Generator {
        if speed > 1 && self.interval_ms > MIN_INTERVAL_MS {
            self.interval_ms = (self.interval_ms / u64::from(speed)).max(MIN_INTERVAL_MS);
            self.max_seconds = time_bound(self.kind, self.count, self.interval_ms, self.jitter);
        }
        self
    }
}

/// Starts generator program `$5` (with `$6…`) in the background, in its own
/// session under `timeout $3`, after checking that program `$4` exists;
/// writes its pid to `$2` and prints it. `$1` names the generator in `ps`.
/// If the generator of that pid file still runs (a fire repeated after a
/// controller crash), prints its pid and starts nothing.
pub const LAUNCH_SCRIPT: &str = include_str!("../scripts/traffic/launch.sh");

/// The `pause` function (sleep `$1` ms ± `$2` ms), joined in front of
/// every generator script.
pub const PAUSE: &str = include_str!("../scripts/traffic/pause.sh");

/// HTTP POST beacons: `$1` address, `$2` port, `$3` path, `$4` count, `$5` interval ms, `$6` jitter ms.
pub const BEACON_SCRIPT: &str = include_str!("../scripts/traffic/beacon.sh");
/// [`BEACON_SCRIPT`] after [`PAUSE`], joined at compile time: what
/// [`LAUNCH_SCRIPT`] runs.
pub const BEACON_PROGRAM: &str = concat!(
    include_str!("../scripts/traffic/pause.sh"),
    include_str!("../scripts/traffic/beacon.sh")
);

/// Password guessing: `$1` address, `$2` port, `$3` path, `$4` count, `$5`
/// interval ms, `$6` users (space-separated, tried in turn), `$7` method
/// (http, ssh, smb, ldap or connect), `$8` the one password a spray tries
/// (empty: brute force, a list that never holds a range's real password).
pub const BRUTE_FORCE_SCRIPT: &str = include_str!("../scripts/traffic/brute-force.sh");
/// [`BRUTE_FORCE_SCRIPT`] after [`PAUSE`], joined at compile time: what
/// [`LAUNCH_SCRIPT`] runs.
pub const BRUTE_FORCE_PROGRAM: &str = concat!(
    include_str!("../scripts/traffic/pause.sh"),
    include_str!("../scripts/traffic/brute-force.sh")
);

/// TCP connect scan: `$1` address, `$2` interval ms, `$3…` ports.
pub const SCAN_SCRIPT: &str = include_str!("../scripts/traffic/scan.sh");
/// [`SCAN_SCRIPT`] after [`PAUSE`], joined at compile time: what
/// [`LAUNCH_SCRIPT`] runs.
pub const SCAN_PROGRAM: &str = concat!(
    include_str!("../scripts/traffic/pause.sh"),
    include_str!("../scripts/traffic/scan.sh")
);

/// Random bytes POSTed in chunks: `$1` address, `$2` port, `$3` path,
/// `$4` total bytes, `$5` chunk bytes, `$6` interval ms.
pub const EXFILTRATION_SCRIPT: &str = include_str!("../scripts/traffic/exfiltration.sh");
/// [`EXFILTRATION_SCRIPT`] after [`PAUSE`], joined at compile time: what
/// [`LAUNCH_SCRIPT`] runs.
pub const EXFILTRATION_PROGRAM: &str = concat!(
    include_str!("../scripts/traffic/pause.sh"),
    include_str!("../scripts/traffic/exfiltration.sh")
);

/// DNS queries of base32 labels: `$1` server, `$2` port, `$3` domain, `$4` count, `$5` interval ms.
pub const DNS_TUNNEL_SCRIPT: &str = include_str!("../scripts/traffic/dns-tunnel.sh");
/// [`DNS_TUNNEL_SCRIPT`] after [`PAUSE`], joined at compile time: what
/// [`LAUNCH_SCRIPT`] runs.
pub const DNS_TUNNEL_PROGRAM: &str = concat!(
    include_str!("../scripts/traffic/pause.sh"),
    include_str!("../scripts/traffic/dns-tunnel.sh")
);

pub fn pid_file(inject_id: &str) -> String {
    format!("{PID_DIRECTORY}/{inject_id}.pid")
}

/// The one exec that starts the generator.
pub fn launch_command(generator: &Generator) -> Vec<String> {
    let jitter_ms = ((generator.interval_ms as f64) * generator.jitter) as u64;
    let port = generator.ports.first().copied().unwrap_or(80).to_string();
    let (program, needs, arguments): (&str, &str, Vec<String>) = match generator.kind {
        TrafficKind::Beacon => (
            BEACON_PROGRAM,
            "curl",
            vec![
                generator.destination.to_string(),
                port,
                generator.path.clone(),
                generator.count.to_string(),
                generator.interval_ms.to_string(),
                jitter_ms.to_string(),
            ],
        ),
        TrafficKind::BruteForce | TrafficKind::PasswordSpray => {
            let method = match generator
                .brute_force_method
                .unwrap_or(BruteForceMethod::Connect)
            {
                BruteForceMethod::Http => "http",
                BruteForceMethod::Ssh => "ssh",
                BruteForceMethod::Connect => "connect",
                BruteForceMethod::Smb => "smb",
                BruteForceMethod::Ldap => "ldap",
            };
            let users = if generator.kind == TrafficKind::PasswordSpray {
                generator.users.join(" ")
            } else {
                generator.user.clone().unwrap_or_default()
            };
            (
                BRUTE_FORCE_PROGRAM,
                match method {
                    "http" => "curl",
                    "smb" => "smbclient",
                    "ldap" => "ldbsearch",
                    _ => "",
                },
                vec![
                    generator.destination.to_string(),
                    port,
                    generator.path.clone(),
                    generator.count.to_string(),
                    generator.interval_ms.to_string(),
                    users,
                    method.to_string(),
                    generator.password.clone().unwrap_or_default(),
                ],
            )
        }
        TrafficKind::Scan => {
            let mut arguments = vec![
                generator.destination.to_string(),
                generator.interval_ms.to_string(),
            ];
            arguments.extend(generator.ports.iter().map(ToString::to_string));
            (SCAN_PROGRAM, "timeout", arguments)
        }
        TrafficKind::Exfiltration => (
            EXFILTRATION_PROGRAM,
            "curl",
            vec![
                generator.destination.to_string(),
                port,
                generator.path.clone(),
                generator.bytes.unwrap_or(0).to_string(),
                CHUNK_BYTES.to_string(),
                generator.interval_ms.to_string(),
            ],
        ),
        TrafficKind::DnsTunnel => (
            DNS_TUNNEL_PROGRAM,
            "dig",
            vec![
                generator.destination.to_string(),
                port,
                generator.domain.clone().unwrap_or_default(),
                generator.count.to_string(),
                generator.interval_ms.to_string(),
            ],
        ),
    };
    let pid_file = pid_file(&generator.inject);
    let limit = generator.max_seconds.to_string();
    let name = format!("enshu-{}", generator.kind.as_str());
    let mut launch: Vec<&str> = vec![&name, &pid_file, &limit, needs, program];
    launch.extend(arguments.iter().map(String::as_str));
    shell::bash(LAUNCH_SCRIPT, "enshu-launch", &launch)
}

/// Start the traffic of `inject` from its target, on a clock running
/// `speed` times real time; returns the ground truth.
pub async fn start<B: Backend>(
    backend: &B,
    inject: &PlannedInject,
    traffic: &Traffic,
    team_networks: &[Ipv4Net],
    speed: u32,
) -> Result<Value, TrafficError> {
    let generator = generator(inject, traffic, team_networks)?.at_speed(speed);
    let command = launch_command(&generator);
    let output = backend
        .exec(&generator.container, &command, ExecPrivilege::Container)
        .await
        .map_err(|source| TrafficError::Backend {
            inject: inject.id.clone(),
            container: generator.container.clone(),
            source,
        })?;
    if output.exit_code != 0 {
        return Err(TrafficError::Failed {
            inject: inject.id.clone(),
            container: generator.container.clone(),
            exit_code: output.exit_code,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let pid: Option<u64> = shell::first_word(&output.stdout_text()).parse().ok();
    tracing::info!(inject = %inject.id, container = %generator.container, destination = %generator.destination, "traffic generator started");
    Ok(json!({
        "kind": generator.kind.as_str(),
        "source": generator.source.map(|address| address.to_string()),
        "destination": generator.destination.to_string(),
        "port": generator.ports.first(),
        "ports": generator.ports,
        "count": generator.count,
        "interval_ms": generator.interval_ms,
        "jitter": generator.jitter,
        "path": if generator.path.is_empty() { None } else { Some(&generator.path) },
        "user": generator.user,
        "bytes": generator.bytes,
        "domain": generator.domain,
        "method": generator.brute_force_method,
        "users": if generator.users.is_empty() { None } else { Some(&generator.users) },
        "password": generator.password,
        "max_seconds": generator.max_seconds,
        "pid": pid,
        "pid_file": pid_file(&inject.id),
    }))
}

/// Kills the generator's process group named by pid file `$1`, if any.
pub const STOP_SCRIPT: &str = include_str!("../scripts/traffic/stop.sh");

/// Stop a generator early (an instructor's "stop the beacon").
pub async fn stop<B: Backend>(
    backend: &B,
    container: &str,
    inject_id: &str,
) -> Result<(), TrafficError> {
    let command = shell::bash(STOP_SCRIPT, "enshu-stop", &[&pid_file(inject_id)]);
    backend
        .exec(container, &command, ExecPrivilege::Container)
        .await
        .map_err(|source| TrafficError::Backend {
            inject: inject_id.to_string(),
            container: container.to_string(),
            source,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use enshu_backend::fake::{Call, FakeBackend};
    use enshu_scenario::model::{Action, Duration, PortSpec, When};
    use enshu_scenario::plan::ResolvedTarget;

    use super::*;

    fn team_networks() -> Vec<Ipv4Net> {
        ["10.64.10.0/24", "10.64.20.0/24", "10.64.100.0/24"]
            .iter()
            .map(|text| text.parse().unwrap())
            .collect()
    }

    fn traffic(kind: TrafficKind) -> Traffic {
        Traffic {
            kind,
            to: "internet/c2".into(),
            ports: vec![],
            interval: None,
            jitter: None,
            count: None,
            path: None,
            user: None,
            users: vec![],
            password: None,
            bytes: None,
            domain: None,
        }
    }

    fn inject(traffic: &Traffic, resolved: &str) -> PlannedInject {
        PlannedInject {
            id: "beacon".into(),
            when: When::At(Duration::from_secs(60)),
            target: ResolvedTarget {
                reference: "office/pc01".into(),
                container: Some("enshu-s-t01-pc01".into()),
                address: Some("10.64.10.101".parse().unwrap()),
                subnet: None,
            },
            action: Action::Traffic(traffic.clone()),
            addresses: BTreeMap::from([(traffic.to.clone(), resolved.to_string())]),
        }
    }

    fn port(text: &str) -> PortSpec {
        text.parse().unwrap()
    }

    #[test]
    fn the_egress_guard_refuses_destinations_outside_the_team() {
        let beacon = Traffic {
            ports: vec![port("tcp/8080")],
            ..traffic(TrafficKind::Beacon)
        };
        for outside in ["8.8.8.8", "10.65.100.23", "192.168.1.1"] {
            let error =
                generator(&inject(&beacon, outside), &beacon, &team_networks()).unwrap_err();
            assert!(
                matches!(error, TrafficError::EgressRefused { .. }),
                "{outside}: {error}"
            );
            assert!(error.to_string().contains("egress guard"), "{error}");
        }
        assert!(generator(&inject(&beacon, "10.64.100.23"), &beacon, &team_networks()).is_ok());
        // A segment (subnet) or nothing is not a destination.
        assert!(matches!(
            generator(
                &inject(&beacon, "10.64.100.0/24"),
                &beacon,
                &team_networks()
            ),
            Err(TrafficError::Unresolved { .. })
        ));
        assert!(matches!(
            generator(&inject(&beacon, ""), &beacon, &[]),
            Err(TrafficError::Unresolved { .. })
        ));
    }

    #[tokio::test]
    async fn a_refused_generator_never_reaches_the_backend() {
        let backend = FakeBackend::new();
        let beacon = traffic(TrafficKind::Beacon);
        let error = start(
            &backend,
            &inject(&beacon, "1.1.1.1"),
            &beacon,
            &team_networks(),
            1,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, TrafficError::EgressRefused { .. }));
        assert!(backend.calls().is_empty());
    }

    #[test]
    fn a_faster_clock_shortens_the_interval_and_keeps_the_count() {
        let beacon = Traffic {
            ports: vec![port("tcp/8080")],
            interval: Some(Duration::from_secs(60)),
            count: Some(180),
            ..traffic(TrafficKind::Beacon)
        };
        let real_time =
            generator(&inject(&beacon, "10.64.100.23"), &beacon, &team_networks()).unwrap();
        let fast = real_time.clone().at_speed(20);
        assert_eq!((fast.interval_ms, fast.count), (3_000, 180));
        assert!(fast.max_seconds < real_time.max_seconds);
        assert_eq!(real_time.clone().at_speed(1).interval_ms, 60_000);
        // Never below the floor, however fast the clock.
        assert_eq!(real_time.at_speed(120).interval_ms, 500);
        let scan = traffic(TrafficKind::Scan);
        let quick = generator(&inject(&scan, "10.64.100.23"), &scan, &team_networks()).unwrap();
        assert_eq!(quick.at_speed(120).interval_ms, MIN_INTERVAL_MS);
    }

    #[test]
    fn defaults_and_bounds() {
        let beacon = Traffic {
            ports: vec![port("tcp/8080")],
            interval: Some(Duration::from_secs(10)),
            jitter: Some(0.2),
            count: Some(360),
            path: Some("/gate.php".into()),
            ..traffic(TrafficKind::Beacon)
        };
        let planned =
            generator(&inject(&beacon, "10.64.100.23"), &beacon, &team_networks()).unwrap();
        assert_eq!(
            (
                planned.ports.as_slice(),
                planned.count,
                planned.interval_ms,
                planned.path.as_str()
            ),
            (&[8080][..], 360, 10_000, "/gate.php")
        );
        assert_eq!(planned.max_seconds, 360 * 17 + 60);
        let huge = Traffic {
            count: Some(10_000_000),
            interval: Some(Duration::from_secs(3600)),
            ..traffic(TrafficKind::Beacon)
        };
        let planned = generator(&inject(&huge, "10.64.100.23"), &huge, &team_networks()).unwrap();
        assert_eq!(
            (planned.count, planned.max_seconds),
            (MAX_COUNT, MAX_SECONDS)
        );
        let scan = Traffic {
            ports: vec![port("tcp/1-65535")],
            ..traffic(TrafficKind::Scan)
        };
        assert_eq!(
            generator(&inject(&scan, "10.64.100.23"), &scan, &team_networks())
                .unwrap()
                .ports
                .len(),
            1024
        );
        let default_scan = traffic(TrafficKind::Scan);
        assert_eq!(
            generator(
                &inject(&default_scan, "10.64.100.23"),
                &default_scan,
                &team_networks()
            )
            .unwrap()
            .ports,
            DEFAULT_SCAN_PORTS
        );
        let exfiltration = Traffic {
            bytes: Some(200 * 1024),
            ..traffic(TrafficKind::Exfiltration)
        };
        assert_eq!(
            generator(
                &inject(&exfiltration, "10.64.100.23"),
                &exfiltration,
                &team_networks()
            )
            .unwrap()
            .count,
            4
        );
        let rdp = Traffic {
            ports: vec![port("tcp/3389")],
            user: Some("administrator".into()),
            ..traffic(TrafficKind::BruteForce)
        };
        assert_eq!(
            generator(&inject(&rdp, "10.64.100.23"), &rdp, &team_networks())
                .unwrap()
                .brute_force_method,
            Some(BruteForceMethod::Connect)
        );
        let dns = traffic(TrafficKind::DnsTunnel);
        assert!(matches!(
            generator(&inject(&dns, "10.64.100.23"), &dns, &team_networks()),
            Err(TrafficError::Missing {
                field: "domain",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_beacon_is_one_exec_with_every_value_as_an_argument() {
        let backend = FakeBackend::new();
        let beacon = Traffic {
            ports: vec![port("tcp/8080")],
            interval: Some(Duration::from_secs(10)),
            jitter: Some(0.2),
            count: Some(3),
            path: Some("/gate.php".into()),
            ..traffic(TrafficKind::Beacon)
        };
        let planned = inject(&beacon, "10.64.100.23");
        // The fake refuses execs into containers it does not run.
        assert!(matches!(
            start(&backend, &planned, &beacon, &team_networks(), 1).await,
            Err(TrafficError::Backend { .. })
        ));
        let expected_body = format!("{PAUSE}{BEACON_SCRIPT}");
        assert_eq!(
            backend.calls(),
            [Call::Exec(
                "enshu-s-t01-pc01".into(),
                shell::bash(
                    LAUNCH_SCRIPT,
                    "enshu-launch",
                    &[
                        "enshu-beacon",
                        "/run/enshu/traffic/beacon.pid",
                        &(3 * 17 + 60).to_string(),
                        "curl",
                        &expected_body,
                        "10.64.100.23",
                        "8080",
                        "/gate.php",
                        "3",
                        "10000",
                        "2000",
                    ]
                )
            )]
        );
    }

    /// Guesses against the directory are real logons: SMB session setups
    /// on 445, LDAP binds on 389; a spray tries its one password against
    /// each account in turn (by default a staff list), inside the team's
    /// networks only.
    #[test]
    fn guessing_against_the_directory_logs_on_over_smb_or_ldap() {
        let spray = Traffic {
            ports: vec![port("tcp/445")],
            users: vec!["tanaka".into(), "suzuki".into()],
            password: Some("Haru2024".into()),
            ..traffic(TrafficKind::PasswordSpray)
        };
        let sprayed = generator(&inject(&spray, "10.64.20.10"), &spray, &team_networks()).unwrap();
        assert_eq!(sprayed.brute_force_method, Some(BruteForceMethod::Smb));
        assert_eq!(sprayed.count, 2);
        let command = launch_command(&sprayed);
        let arguments = &command[command.len() - 8..];
        assert_eq!(
            arguments,
            [
                "10.64.20.10",
                "445",
                "",
                "2",
                "1000",
                "tanaka suzuki",
                "smb",
                "Haru2024"
            ]
        );
        let defaults = Traffic {
            ports: vec![port("tcp/389")],
            ..traffic(TrafficKind::PasswordSpray)
        };
        let defaulted = generator(
            &inject(&defaults, "10.64.20.10"),
            &defaults,
            &team_networks(),
        )
        .unwrap();
        assert_eq!(defaulted.brute_force_method, Some(BruteForceMethod::Ldap));
        assert_eq!(defaulted.users.len(), DEFAULT_SPRAY_USERS.len());
        assert_eq!(defaulted.password.as_deref(), Some(DEFAULT_SPRAY_PASSWORD));
        let brute = Traffic {
            ports: vec![port("tcp/445")],
            user: Some("Administrator".into()),
            count: Some(20),
            ..traffic(TrafficKind::BruteForce)
        };
        let guessed = generator(&inject(&brute, "10.64.20.10"), &brute, &team_networks()).unwrap();
        let command = launch_command(&guessed);
        assert_eq!(&command[command.len() - 3..], ["Administrator", "smb", ""]);
        assert!(matches!(
            generator(&inject(&spray, "192.0.2.10"), &spray, &team_networks()),
            Err(TrafficError::EgressRefused { .. })
        ));
    }

    #[test]
    fn every_kind_builds_its_own_script() {
        let cases = [
            (
                Traffic {
                    ports: vec![port("tcp/22")],
                    user: Some("root".into()),
                    count: Some(5),
                    ..traffic(TrafficKind::BruteForce)
                },
                BRUTE_FORCE_SCRIPT,
                "ssh",
            ),
            (
                Traffic {
                    ports: vec![port("tcp/80")],
                    count: Some(5),
                    ..traffic(TrafficKind::BruteForce)
                },
                BRUTE_FORCE_SCRIPT,
                "http",
            ),
            (
                Traffic {
                    ports: vec![port("tcp/20-25")],
                    ..traffic(TrafficKind::Scan)
                },
                SCAN_SCRIPT,
                "25",
            ),
            (
                Traffic {
                    bytes: Some(1000),
                    ..traffic(TrafficKind::Exfiltration)
                },
                EXFILTRATION_SCRIPT,
                "1000",
            ),
            (
                Traffic {
                    domain: Some("t.example".into()),
                    count: Some(4),
                    ..traffic(TrafficKind::DnsTunnel)
                },
                DNS_TUNNEL_SCRIPT,
                "t.example",
            ),
        ];
        for (traffic, script, expected_argument) in cases {
            let planned = generator(
                &inject(&traffic, "10.64.100.23"),
                &traffic,
                &team_networks(),
            )
            .unwrap();
            let command = launch_command(&planned);
            assert_eq!(command[8], format!("{PAUSE}{script}"));
            assert!(
                command[9..]
                    .iter()
                    .any(|argument| argument == expected_argument),
                "{command:?}"
            );
        }
    }
}
