//! Enshu's Docker backend: the neutral [`Backend`](enshu_backend::Backend)
//! trait on the Docker Engine API, and the guard that keeps range
//! containers away from the host.
//!
//! This is the only crate that names bollard (or Docker's API at all), so
//! that the controller stays runtime-neutral and a second backend can be
//! added beside this one.
//!
//! # Layout
//! - [`convert`]: pure functions from [`NetworkSpec`](enshu_backend::NetworkSpec)
//!   and [`ContainerSpec`](enshu_backend::ContainerSpec) to request bodies;
//!   every hardening decision lives there and is unit-tested.
//! - [`error`]: the engine's errors as [`BackendError`](enshu_backend::BackendError)s.
//! - [`copy`]: how a file is written into a container (archive or stdin).
//! - [`controller_exec`]: the controller's privileged commands.
//! - [`agent`]: one long-lived exec per range container that runs the
//!   engine's commands (`DockerBackend::with_exec_agents`).
//! - [`netns`]: connection probes from a container's network namespace,
//!   on a thread of the controller (`verify` without `docker exec`).
//! - [`backend`]: [`DockerBackend`], the engine calls around those.
//! - [`host_guard`]: [`HostGuard`], the host's filter rules for range bridges.
//!
//! **Invariant:** no container this crate creates is privileged, publishes
//! a port or mounts anything of the host, and no range bridge has an IPv4
//! address on the host.
//!
//! Engines from Docker 20.10 (API 1.41) on are supported: the API version
//! is negotiated on connect, and requests use only what 1.41 understands
//! (one network at container creation, further ones connected before
//! start).

pub mod access;
pub mod agent;
pub mod backend;
pub mod controller_exec;
pub mod convert;
pub mod copy;
pub mod error;
pub mod host_guard;
pub mod netns;

pub use backend::{ConnectError, DockerBackend};
pub use host_guard::{GuardReport, HostGuard, HostGuardError};
