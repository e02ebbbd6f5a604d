//! The swarm's nodes as the manager sees them.
//!
//! [`Manager::observe`] asks the manager's Engine API for its own node id
//! (`GET /info`) and the node list (`GET /nodes`), each call bounded by the
//! manager's request timeout, and [`convert_node`] turns each of bollard's
//! nodes into a plain [`Node`]. The conversion is pure so that what a
//! missing field or an unknown state becomes is tested without a swarm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bollard::Docker;
use bollard::models::{NodeSpecAvailabilityEnum, NodeSpecRoleEnum};

/// The label `infra/swarm.sh` gives each node: its name, `<prefix>-<i>`,
/// which is also the directory of its socket on the host.
pub const NODE_LABEL: &str = "enshu.node";

/// What the manager last heard of a node (the swarm's `Status.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    Ready,
    Down,
    Unknown,
    Disconnected,
}

/// Whether the swarm may give a node work (the node's `Spec.Availability`):
/// `Pause` keeps what runs there and takes nothing new, `Drain` should run
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

/// One node of the swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The swarm's node id (stable while the node stays in the swarm).
    pub id: String,
    pub hostname: String,
    pub state: NodeState,
    pub availability: Availability,
    /// CPUs the node reports, in units of 10^-9 CPU (`NanoCPUs`).
    pub nano_cpus: u64,
    /// Memory the node reports (`MemoryBytes`), 0 when it reports none.
    pub memory_bytes: u64,
    pub labels: BTreeMap<String, String>,
    /// A manager of the swarm (role manager).
    pub manager: bool,
    /// The node's own Engine API, where its teams' containers are made; none
    /// when the caller's [`EngineSockets`] does not know the node.
    pub engine_socket: Option<PathBuf>,
}

impl Node {
    /// Ready, and Active: the node may be given a new team.
    pub fn takes_new_teams(&self) -> bool {
        self.state == NodeState::Ready && self.availability == Availability::Active
    }

    /// Ready and not drained: a team already there may stay.
    pub fn keeps_its_teams(&self) -> bool {
        self.state == NodeState::Ready && self.availability != Availability::Drain
    }

    /// The node's name for people and sockets: its `enshu.node` label, else
    /// its hostname.
    pub fn name(&self) -> &str {
        self.labels
            .get(NODE_LABEL)
            .map(String::as_str)
            .unwrap_or(&self.hostname)
    }
}

/// The swarm's nodes at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// When the manager answered.
    pub observed_at: SystemTime,
    /// The node id of the manager that was asked.
    pub manager_id: String,
    /// Every node, sorted by hostname, then id.
    pub nodes: Vec<Node>,
}

impl Inventory {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.id == id)
    }

    pub fn by_hostname(&self, hostname: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.hostname == hostname)
    }
}

/// Where each node's own Engine API is, as the caller knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSockets {
    /// The test swarm's layout: `<root>/<name>/docker.sock`, for a node with
    /// an `enshu.node` label (`/run/enshu/swarm/<prefix>-<i>/docker.sock`).
    UnderRoot(PathBuf),
    /// By node name (its `enshu.node` label, else its hostname).
    ByName(BTreeMap<String, PathBuf>),
}

impl EngineSockets {
    /// The socket of a node with these labels and this hostname, if known.
    pub fn socket_of(&self, hostname: &str, labels: &BTreeMap<String, String>) -> Option<PathBuf> {
        match self {
            EngineSockets::UnderRoot(root) => labels
                .get(NODE_LABEL)
                .filter(|name| is_plain_name(name))
                .map(|name| root.join(name).join("docker.sock")),
            EngineSockets::ByName(map) => {
                let name = labels
                    .get(NODE_LABEL)
                    .map(String::as_str)
                    .unwrap_or(hostname);
                map.get(name).cloned()
            }
        }
    }
}

/// A name that is one path component: no separator, not `.` or `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("manager socket {path}: {message}")]
    Connect { path: PathBuf, message: String },
    #[error("manager {path}: {call} gave no answer within {timeout:?}")]
    Timeout {
        path: PathBuf,
        call: &'static str,
        timeout: Duration,
    },
    #[error("manager {path}: {call}: {message}")]
    Api {
        path: PathBuf,
        call: &'static str,
        message: String,
    },
    #[error(
        "{path} is not a swarm manager (info: Swarm.ControlAvailable is {control_available:?})"
    )]
    NotManager {
        path: PathBuf,
        control_available: Option<bool>,
    },
    #[error("manager {path}: info: Swarm.NodeID is missing")]
    NoNodeId { path: PathBuf },
    #[error("nodes[{index}]: {field} is missing")]
    MissingField { index: usize, field: &'static str },
}

/// A connection to the manager's Engine API.
#[derive(Debug, Clone)]
pub struct Manager {
    docker: Docker,
    socket: PathBuf,
    request_timeout: Duration,
}

impl Manager {
    /// Connect to the manager's unix socket and settle the API version
    /// (1.41 against Docker 20.10), each request bounded by
    /// `request_timeout`.
    pub async fn connect(
        socket: &Path,
        request_timeout: Duration,
    ) -> Result<Manager, InventoryError> {
        let seconds = request_timeout.as_secs().max(1);
        let docker = Docker::connect_with_unix(
            &socket.to_string_lossy(),
            seconds,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|error| InventoryError::Connect {
            path: socket.to_owned(),
            message: error.to_string(),
        })?;
        let docker = bounded(
            socket,
            "version",
            request_timeout,
            docker.negotiate_version(),
        )
        .await?;
        Ok(Manager {
            docker,
            socket: socket.to_owned(),
            request_timeout,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The swarm's nodes now, each with its engine socket from `sockets`.
    pub async fn observe(&self, sockets: &EngineSockets) -> Result<Inventory, InventoryError> {
        let info = bounded(
            &self.socket,
            "info",
            self.request_timeout,
            self.docker.info(),
        )
        .await?;
        let swarm = info.swarm.unwrap_or_default();
        if swarm.control_available != Some(true) {
            return Err(InventoryError::NotManager {
                path: self.socket.clone(),
                control_available: swarm.control_available,
            });
        }
        let manager_id =
            swarm
                .node_id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| InventoryError::NoNodeId {
                    path: self.socket.clone(),
                })?;
        let listed = bounded(
            &self.socket,
            "list nodes",
            self.request_timeout,
            self.docker.list_nodes(None),
        )
        .await?;
        let observed_at = SystemTime::now();
        let inventory = convert_inventory(&listed, manager_id, observed_at, sockets)?;
        tracing::debug!(
            manager = %self.socket.display(),
            nodes = inventory.nodes.len(),
            ready = inventory.nodes.iter().filter(|node| node.state == NodeState::Ready).count(),
            "swarm observed"
        );
        Ok(inventory)
    }
}

async fn bounded<T>(
    socket: &Path,
    call: &'static str,
    timeout: Duration,
    future: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, InventoryError> {
    match tokio::time::timeout(timeout, future).await {
        Err(_) => Err(InventoryError::Timeout {
            path: socket.to_owned(),
            call,
            timeout,
        }),
        Ok(Err(error)) => Err(InventoryError::Api {
            path: socket.to_owned(),
            call,
            message: error.to_string(),
        }),
        Ok(Ok(value)) => Ok(value),
    }
}

/// The nodes the manager listed as an [`Inventory`], sorted by hostname.
pub fn convert_inventory(
    listed: &[bollard::models::Node],
    manager_id: String,
    observed_at: SystemTime,
    sockets: &EngineSockets,
) -> Result<Inventory, InventoryError> {
    let mut nodes = listed
        .iter()
        .enumerate()
        .map(|(index, node)| convert_node(index, node, sockets))
        .collect::<Result<Vec<_>, _>>()?;
    nodes.sort_by(|a, b| (&a.hostname, &a.id).cmp(&(&b.hostname, &b.id)));
    Ok(Inventory {
        observed_at,
        manager_id,
        nodes,
    })
}

/// One of bollard's nodes (the `index`th listed) as a [`Node`].
///
/// A node without an id or a hostname is an error (it cannot be addressed);
/// a missing state is `Unknown`; a missing or empty availability is
/// `Pause`, so no new team goes to a node whose availability is not known;
/// missing resources are 0.
pub fn convert_node(
    index: usize,
    node: &bollard::models::Node,
    sockets: &EngineSockets,
) -> Result<Node, InventoryError> {
    let id = node
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or(InventoryError::MissingField { index, field: "ID" })?;
    let description = node.description.clone().unwrap_or_default();
    let hostname = description
        .hostname
        .filter(|hostname| !hostname.is_empty())
        .ok_or(InventoryError::MissingField {
            index,
            field: "Description.Hostname",
        })?;
    let spec = node.spec.clone().unwrap_or_default();
    let labels: BTreeMap<String, String> = spec.labels.unwrap_or_default().into_iter().collect();
    let state = match node.status.as_ref().and_then(|status| status.state) {
        Some(bollard::models::NodeState::READY) => NodeState::Ready,
        Some(bollard::models::NodeState::DOWN) => NodeState::Down,
        Some(bollard::models::NodeState::DISCONNECTED) => NodeState::Disconnected,
        Some(bollard::models::NodeState::UNKNOWN) | None => NodeState::Unknown,
    };
    let availability = match spec.availability {
        Some(NodeSpecAvailabilityEnum::ACTIVE) => Availability::Active,
        Some(NodeSpecAvailabilityEnum::DRAIN) => Availability::Drain,
        Some(NodeSpecAvailabilityEnum::PAUSE | NodeSpecAvailabilityEnum::EMPTY) | None => {
            Availability::Pause
        }
    };
    let resources = description.resources.unwrap_or_default();
    let manager = spec.role == Some(NodeSpecRoleEnum::MANAGER) || node.manager_status.is_some();
    let engine_socket = sockets.socket_of(&hostname, &labels);
    Ok(Node {
        id,
        hostname,
        state,
        availability,
        nano_cpus: non_negative(resources.nano_cpus),
        memory_bytes: non_negative(resources.memory_bytes),
        labels,
        manager,
        engine_socket,
    })
}

fn non_negative(value: Option<i64>) -> u64 {
    value
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ManagerStatus, NodeDescription, NodeSpec, NodeStatus, ResourceObject};
    use std::collections::HashMap;

    fn listed(
        id: &str,
        hostname: &str,
        state: bollard::models::NodeState,
    ) -> bollard::models::Node {
        bollard::models::Node {
            id: Some(id.into()),
            description: Some(NodeDescription {
                hostname: Some(hostname.into()),
                resources: Some(ResourceObject {
                    nano_cpus: Some(2_000_000_000),
                    memory_bytes: Some(8 << 30),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            spec: Some(NodeSpec {
                labels: Some(HashMap::from([
                    (NODE_LABEL.to_string(), hostname.to_string()),
                    ("enshu.index".to_string(), "2".to_string()),
                ])),
                role: Some(NodeSpecRoleEnum::WORKER),
                availability: Some(NodeSpecAvailabilityEnum::ACTIVE),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                state: Some(state),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn under_root() -> EngineSockets {
        EngineSockets::UnderRoot("/run/enshu/swarm".into())
    }

    #[test]
    fn a_ready_worker_with_its_labels_resources_and_socket() {
        let node = convert_node(
            0,
            &listed("abc", "sw-2", bollard::models::NodeState::READY),
            &under_root(),
        )
        .unwrap();
        assert_eq!(
            node,
            Node {
                id: "abc".into(),
                hostname: "sw-2".into(),
                state: NodeState::Ready,
                availability: Availability::Active,
                nano_cpus: 2_000_000_000,
                memory_bytes: 8 << 30,
                labels: BTreeMap::from([
                    ("enshu.index".into(), "2".into()),
                    (NODE_LABEL.into(), "sw-2".into()),
                ]),
                manager: false,
                engine_socket: Some("/run/enshu/swarm/sw-2/docker.sock".into()),
            }
        );
        assert!(node.takes_new_teams() && node.keeps_its_teams());
    }

    #[test]
    fn states_availability_and_role() {
        use bollard::models::NodeState as S;
        for (state, want) in [
            (S::READY, NodeState::Ready),
            (S::DOWN, NodeState::Down),
            (S::UNKNOWN, NodeState::Unknown),
            (S::DISCONNECTED, NodeState::Disconnected),
        ] {
            let node = convert_node(0, &listed("a", "h", state), &under_root()).unwrap();
            assert_eq!(node.state, want);
            assert_eq!(node.takes_new_teams(), want == NodeState::Ready);
        }
        let mut raw = listed("a", "h", S::READY);
        raw.status = None;
        assert_eq!(
            convert_node(0, &raw, &under_root()).unwrap().state,
            NodeState::Unknown
        );

        for (availability, want) in [
            (Some(NodeSpecAvailabilityEnum::ACTIVE), Availability::Active),
            (Some(NodeSpecAvailabilityEnum::PAUSE), Availability::Pause),
            (Some(NodeSpecAvailabilityEnum::DRAIN), Availability::Drain),
            (Some(NodeSpecAvailabilityEnum::EMPTY), Availability::Pause),
            (None, Availability::Pause),
        ] {
            let mut raw = listed("a", "h", S::READY);
            raw.spec.as_mut().unwrap().availability = availability;
            let node = convert_node(0, &raw, &under_root()).unwrap();
            assert_eq!(node.availability, want);
            assert_eq!(node.takes_new_teams(), want == Availability::Active);
            assert_eq!(node.keeps_its_teams(), want != Availability::Drain);
        }

        let mut raw = listed("a", "h", S::READY);
        raw.spec.as_mut().unwrap().role = Some(NodeSpecRoleEnum::MANAGER);
        assert!(convert_node(0, &raw, &under_root()).unwrap().manager);
        let mut raw = listed("a", "h", S::READY);
        raw.manager_status = Some(ManagerStatus::default());
        assert!(convert_node(0, &raw, &under_root()).unwrap().manager);
    }

    #[test]
    fn missing_id_or_hostname_is_an_error_naming_the_field() {
        let mut raw = listed("a", "h", bollard::models::NodeState::READY);
        raw.id = None;
        assert_eq!(
            convert_node(3, &raw, &under_root())
                .unwrap_err()
                .to_string(),
            "nodes[3]: ID is missing"
        );
        let mut raw = listed("a", "h", bollard::models::NodeState::READY);
        raw.description.as_mut().unwrap().hostname = Some(String::new());
        assert_eq!(
            convert_node(1, &raw, &under_root())
                .unwrap_err()
                .to_string(),
            "nodes[1]: Description.Hostname is missing"
        );
    }

    #[test]
    fn missing_or_negative_resources_are_zero() {
        let mut raw = listed("a", "h", bollard::models::NodeState::READY);
        raw.description.as_mut().unwrap().resources = Some(ResourceObject {
            nano_cpus: Some(-1),
            memory_bytes: None,
            ..Default::default()
        });
        let node = convert_node(0, &raw, &under_root()).unwrap();
        assert_eq!((node.nano_cpus, node.memory_bytes), (0, 0));
    }

    #[test]
    fn sockets_by_label_or_by_name() {
        let labels = BTreeMap::from([(NODE_LABEL.to_string(), "sw-1".to_string())]);
        let none = BTreeMap::new();
        assert_eq!(
            under_root().socket_of("host-a", &labels),
            Some("/run/enshu/swarm/sw-1/docker.sock".into())
        );
        assert_eq!(under_root().socket_of("host-a", &none), None);
        let hostile = BTreeMap::from([(NODE_LABEL.to_string(), "../etc".to_string())]);
        assert_eq!(under_root().socket_of("host-a", &hostile), None);

        let map = EngineSockets::ByName(BTreeMap::from([
            ("sw-1".to_string(), PathBuf::from("/a.sock")),
            ("host-b".to_string(), PathBuf::from("/b.sock")),
        ]));
        assert_eq!(map.socket_of("host-a", &labels), Some("/a.sock".into()));
        assert_eq!(map.socket_of("host-b", &none), Some("/b.sock".into()));
        assert_eq!(map.socket_of("host-c", &none), None);
    }

    #[test]
    fn the_inventory_is_sorted_by_hostname() {
        use bollard::models::NodeState as S;
        let raw = [
            listed("z", "sw-3", S::READY),
            listed("y", "sw-1", S::DOWN),
            listed("x", "sw-2", S::READY),
        ];
        let inventory =
            convert_inventory(&raw, "y".into(), SystemTime::UNIX_EPOCH, &under_root()).unwrap();
        let hostnames: Vec<_> = inventory
            .nodes
            .iter()
            .map(|node| node.hostname.as_str())
            .collect();
        assert_eq!(hostnames, ["sw-1", "sw-2", "sw-3"]);
        assert_eq!(inventory.node("x").unwrap().hostname, "sw-2");
        assert_eq!(
            inventory.by_hostname("sw-1").unwrap().state,
            NodeState::Down
        );
    }
}
