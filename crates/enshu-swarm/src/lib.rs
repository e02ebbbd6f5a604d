//! Enshu on Docker Swarm: which nodes there are, which team goes where,
//! and which node was lost.
//!
//! Each team's whole range runs on one node, on that node's own internal
//! bridge networks, exactly as on one machine (ARCHITECTURE.md, "Ranges on
//! a swarm"). The manager's Engine API is asked only for the inventory of
//! nodes; everything a team's containers need goes to its node's own
//! Engine API, whose socket each [`Node`] carries.
//!
//! # Layout
//!
//! - [`inventory`]: the swarm observed through the manager
//!   ([`inventory::Manager::observe`]) into a plain [`Inventory`]; the
//!   conversion from bollard's models is a pure function
//!   ([`inventory::convert_node`]).
//! - [`placement`]: teams assigned to nodes, pure: same inputs, same
//!   placement.
//! - [`watch`]: two inventories compared into events (pure), and a bounded
//!   poll of the manager.
//!
//! Only this crate and `enshu-docker` name bollard: this one for the
//! swarm's node endpoints, that one for containers.

#![forbid(unsafe_code)]

pub mod inventory;
pub mod placement;
pub mod watch;

pub use inventory::{Availability, EngineSockets, Inventory, Manager, Node, NodeState};
pub use placement::{
    Assignment, Placement, PlacementError, Reason, Shortfall, Strategy, TeamDemand, place,
};
pub use watch::{Event, changes, poll};
