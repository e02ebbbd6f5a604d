//! The neutral backend trait: the only verbs the controller needs from a
//! container runtime.
//!
//! Docker implements it today (`enshu-docker`), Kubernetes may tomorrow; the
//! controller's ordering, idempotency and teardown are unit-tested against
//! [`fake::FakeBackend`], which records every call.
//!
//! Specs are the planner's own [`NetworkSpec`] and [`ContainerSpec`]: the
//! plan is executed as is.

#![forbid(unsafe_code)]

pub mod fake;
pub mod metrics;
pub mod sensor;
pub mod terminal;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

pub use enshu_scenario::plan::{ContainerSpec, NetworkSpec};
pub use sensor::{Fix, ObservedSensors, SensorPlan};

/// A container as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub running: bool,
    pub image: String,
    /// Names of the networks it is attached to, sorted.
    pub networks: Vec<String>,
}

/// A network as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNetwork {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// Everything carrying a set of labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub containers: Vec<ObservedContainer>,
    pub networks: Vec<ObservedNetwork>,
    /// Names of volumes (anonymous ones included) that carry the labels.
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// What one probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// The target answered: TCP's handshake completed, a UDP datagram or
    /// an echo reply came back, a resolver gave an answer (NOERROR or
    /// NXDOMAIN), the namespace has an IPv6 address beyond link-local.
    Open,
    /// The target's kernel refused (a TCP reset, ICMP port unreachable
    /// for UDP): it was reached.
    Refused,
    /// No answer within the timeout, the network said unreachable, or a
    /// resolver could not answer (no upstream: SERVFAIL, REFUSED).
    Blocked,
}

/// One probe from a container's network, as `verify` sends it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetProbe {
    /// A TCP connection.
    Tcp(Ipv4Addr, u16),
    /// A UDP datagram (a DNS query, so a DNS server answers it); refused
    /// when the target's kernel says port unreachable.
    Udp(Ipv4Addr, u16),
    /// An ICMP echo request.
    Icmp(Ipv4Addr),
    /// A query for `name`'s A record to `server` on udp/53.
    Dns { server: Ipv4Addr, name: String },
    /// Whether the network has any IPv6 address beyond loopback and
    /// link-local (a way to another network that IPv4's rules do not see).
    Ipv6Address,
}

/// How an exec runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecPrivilege {
    /// With the container's own (reduced) capabilities.
    #[default]
    Container,
    /// As the controller, with full capabilities in the container's
    /// namespaces: for setup the container itself must not be able to do
    /// (its default route). Never handed to trainees.
    Controller,
}

/// A failed backend call, with the runtime's own message.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{object} {name:?} not found")]
    NotFound { object: &'static str, name: String },
    #[error("{object} {name:?} already exists")]
    Conflict { object: &'static str, name: String },
    #[error("image {image:?} is missing (run `make images`)")]
    MissingImage { image: String },
    #[error("{action} {name:?}: {message}")]
    Runtime {
        action: &'static str,
        name: String,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, BackendError>;

/// The verbs a container runtime offers the controller.
pub trait Backend: Send + Sync {
    /// Create the network unless one with that name exists.
    fn ensure_network(&self, spec: &NetworkSpec) -> impl Future<Output = Result<()>> + Send;
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Create (not start) a container, attached to all its networks.
    fn create_container(&self, spec: &ContainerSpec) -> impl Future<Output = Result<()>> + Send;
    fn start_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn stop_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Remove a container (forcibly) with its anonymous volumes.
    fn remove_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Everything that carries all of these labels.
    fn list(&self, labels: &[(&str, &str)]) -> impl Future<Output = Result<Observed>> + Send;
    /// Run a command inside a container and wait for it.
    fn exec(
        &self,
        name: &str,
        command: &[String],
        privilege: ExecPrivilege,
    ) -> impl Future<Output = Result<ExecOutput>> + Send;
    /// Write a file into a container.
    fn copy_in(
        &self,
        name: &str,
        path: &str,
        contents: &[u8],
        mode: u32,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Get ready to run commands in the container quickly (a backend may
    /// keep something running there for it); whether it did. By default
    /// nothing to do.
    fn keep_exec_ready(&self, name: &str) -> impl Future<Output = bool> + Send {
        let _ = name;
        async { false }
    }
    /// Make `via` the container's default route. A hardened container may
    /// not change its own routes, so this is done from outside it; by
    /// default with `ip route replace` run with [`ExecPrivilege::Controller`].
    fn set_default_route(
        &self,
        name: &str,
        via: Ipv4Addr,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            let command: Vec<String> = ["ip", "route", "replace", "default", "via"]
                .into_iter()
                .map(str::to_string)
                .chain([via.to_string()])
                .collect();
            let output = self.exec(name, &command, ExecPrivilege::Controller).await?;
            if output.exit_code == 0 {
                Ok(())
            } else {
                Err(BackendError::Runtime {
                    action: "set default route",
                    name: name.to_string(),
                    message: format!(
                        "ip route exited {}: {}",
                        output.exit_code,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                })
            }
        }
    }
    /// Load an nftables ruleset into the container's network namespace from
    /// outside it, with the controller's own `nft`. `Ok(false)`: this
    /// runtime cannot, so the caller runs `nft` inside the container.
    fn load_nftables(
        &self,
        name: &str,
        ruleset: &str,
    ) -> impl Future<Output = Result<bool>> + Send {
        let _ = (name, ruleset);
        async { Ok(false) }
    }
    /// The network sensors on the runtime's machine: every tap and every
    /// range bridge's ports ([`sensor`]), in one look. `Ok(None)`: this
    /// runtime cannot mirror a segment.
    fn observe_sensors(&self) -> impl Future<Output = Result<Option<ObservedSensors>>> + Send {
        async { Ok(None) }
    }
    /// Apply `fixes` (from [`sensor::fixes`]) to the team's sensor, whose
    /// container runs. By default this runtime cannot.
    fn fix_sensor(
        &self,
        sensor: &SensorPlan,
        fixes: &[Fix],
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = fixes;
        let name = sensor.container.clone();
        async move {
            Err(BackendError::Runtime {
                action: "mirror segments",
                name,
                message: "this runtime cannot mirror a segment into a container".into(),
            })
        }
    }
    /// Remove every tap of `session` still on the machine (its containers
    /// are gone); how many there were.
    fn remove_sensors(&self, session: &str) -> impl Future<Output = Result<usize>> + Send {
        let _ = session;
        async { Ok(0) }
    }
    /// Send every probe from the container's network (its addresses,
    /// routes, resolver and firewall) without running anything inside it,
    /// all at once, each given `timeout`. One outcome per target, in
    /// order. `Ok(None)`: this runtime cannot, so the caller runs a probe
    /// command in the container instead.
    fn connect_from(
        &self,
        name: &str,
        targets: &[NetProbe],
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<Vec<ConnectOutcome>>>> + Send {
        let _ = (name, targets, timeout);
        async { Ok(None) }
    }
}
