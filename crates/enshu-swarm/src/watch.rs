//! Nodes lost, back and new, from one inventory to the next.
//!
//! [`changes`] is pure: two inventories in, events out, by node id. A node
//! is lost when it was Ready and is no longer (Down, Unknown, Disconnected)
//! or no longer listed; back when it was not Ready and is Ready again;
//! joined when its id is new. [`poll`] asks the manager every `interval`
//! until something changed or `timeout` passed, each ask bounded by the
//! manager's request timeout.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::inventory::{EngineSockets, Inventory, InventoryError, Manager, NodeState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A node that was Ready is not; `state` is none when it left the list.
    NodeLost {
        id: String,
        hostname: String,
        state: Option<NodeState>,
        /// When the manager was seen reporting it (the later inventory's time).
        since: SystemTime,
    },
    /// A node that was not Ready is Ready again.
    NodeBack {
        id: String,
        hostname: String,
        since: SystemTime,
    },
    /// A node not in the earlier inventory.
    NodeJoined {
        id: String,
        hostname: String,
        state: NodeState,
    },
}

/// What changed from `before` to `after`, in `after`'s node order, then
/// the nodes that left the list in `before`'s.
pub fn changes(before: &Inventory, after: &Inventory) -> Vec<Event> {
    let mut events = Vec::new();
    for node in &after.nodes {
        match before.node(&node.id) {
            None => events.push(Event::NodeJoined {
                id: node.id.clone(),
                hostname: node.hostname.clone(),
                state: node.state,
            }),
            Some(was) if was.state == NodeState::Ready && node.state != NodeState::Ready => events
                .push(Event::NodeLost {
                    id: node.id.clone(),
                    hostname: node.hostname.clone(),
                    state: Some(node.state),
                    since: after.observed_at,
                }),
            Some(was) if was.state != NodeState::Ready && node.state == NodeState::Ready => events
                .push(Event::NodeBack {
                    id: node.id.clone(),
                    hostname: node.hostname.clone(),
                    since: after.observed_at,
                }),
            Some(_) => {}
        }
    }
    for was in &before.nodes {
        if was.state == NodeState::Ready && after.node(&was.id).is_none() {
            events.push(Event::NodeLost {
                id: was.id.clone(),
                hostname: was.hostname.clone(),
                state: None,
                since: after.observed_at,
            });
        }
    }
    events
}

/// The manager asked every `interval` until an inventory differs from
/// `previous` by at least one [`Event`], or `timeout` has passed: the last
/// inventory and its events (none when the time ran out). It returns
/// within `timeout` plus one ask (two calls, each bounded by the manager's
/// request timeout). A failed ask is an error at once: a manager that does
/// not answer is for the caller to report, not to wait out.
pub async fn poll(
    manager: &Manager,
    sockets: &EngineSockets,
    previous: &Inventory,
    interval: Duration,
    timeout: Duration,
) -> Result<(Inventory, Vec<Event>), InventoryError> {
    let deadline = Instant::now() + timeout;
    loop {
        let inventory = manager.observe(sockets).await?;
        let events = changes(previous, &inventory);
        if !events.is_empty() || Instant::now() + interval > deadline {
            for event in &events {
                tracing::info!(?event, manager = %manager.socket().display(), "swarm changed");
            }
            return Ok((inventory, events));
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Availability, Node};
    use std::collections::BTreeMap;

    fn node(id: &str, state: NodeState) -> Node {
        Node {
            id: id.into(),
            hostname: format!("host-{id}"),
            state,
            availability: Availability::Active,
            nano_cpus: 0,
            memory_bytes: 0,
            labels: BTreeMap::new(),
            manager: false,
            engine_socket: None,
        }
    }

    fn at(seconds: u64, nodes: Vec<Node>) -> Inventory {
        Inventory {
            observed_at: SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
            manager_id: "a".into(),
            nodes,
        }
    }

    #[test]
    fn nothing_changed_is_no_event() {
        let one = at(
            1,
            vec![node("a", NodeState::Ready), node("b", NodeState::Down)],
        );
        assert_eq!(changes(&one, &at(2, one.nodes.clone())), []);
    }

    #[test]
    fn lost_back_and_joined() {
        let before = at(
            1,
            vec![
                node("a", NodeState::Ready),
                node("b", NodeState::Ready),
                node("c", NodeState::Down),
                node("d", NodeState::Ready),
                node("f", NodeState::Ready),
            ],
        );
        let after = at(
            7,
            vec![
                node("a", NodeState::Ready),
                node("b", NodeState::Down),
                node("c", NodeState::Ready),
                node("e", NodeState::Ready),
                node("f", NodeState::Disconnected),
            ],
        );
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(7);
        assert_eq!(
            changes(&before, &after),
            [
                Event::NodeLost {
                    id: "b".into(),
                    hostname: "host-b".into(),
                    state: Some(NodeState::Down),
                    since
                },
                Event::NodeBack {
                    id: "c".into(),
                    hostname: "host-c".into(),
                    since
                },
                Event::NodeJoined {
                    id: "e".into(),
                    hostname: "host-e".into(),
                    state: NodeState::Ready
                },
                Event::NodeLost {
                    id: "f".into(),
                    hostname: "host-f".into(),
                    state: Some(NodeState::Disconnected),
                    since
                },
                Event::NodeLost {
                    id: "d".into(),
                    hostname: "host-d".into(),
                    state: None,
                    since
                },
            ]
        );
    }

    #[test]
    fn a_node_down_to_unknown_is_not_lost_again() {
        let before = at(1, vec![node("a", NodeState::Down)]);
        let after = at(2, vec![node("a", NodeState::Unknown)]);
        assert_eq!(changes(&before, &after), []);
        // and one that left while down is not lost again either
        assert_eq!(changes(&before, &at(3, vec![])), []);
    }
}
