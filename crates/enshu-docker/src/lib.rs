//! Enshu's Docker backend: the neutral [`Backend`](enshu_backend::Backend)
//! trait on the Docker Engine API, and what the backend does to this
//! machine's own kernel ([`host`]: the guard that keeps range containers
//! away from the host, work in a container's network namespace).
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
//! - [`agent`]: one long-lived exec per range container that runs the
//!   engine's commands (`DockerBackend::with_exec_agents`).
//! - [`backend`]: [`DockerBackend`], the engine calls around those.
//! - [`terminal`]: the web terminal's and the bastion's shells and
//!   commands (`Terminals`): a TTY straight from runc where it can
//!   (`terminal::direct`), else and for pipes the engine's exec.
//! - [`runc`]: `runc exec` of a TTY shell with the container's own spec,
//!   the pty master received over runc's console socket.
//! - [`host`]: this machine, not the engine: [`HostGuard`] (the host's
//!   filter rules for range bridges), threads in a container's network
//!   namespace (`verify` without `docker exec`, default routes, router
//!   rules, the trainees' way in), the controller's commands through
//!   `nsenter`, verify's [`OutsideStandIn`] and [`host_addresses`].
//!
//! **Invariant:** no container this crate creates is privileged, publishes
//! a port or mounts anything of the host, and no range bridge has an IPv4
//! address on the host.
//!
//! Unsafe code is denied in the workspace and allowed only in
//! [`host`]'s modules that call the kernel through
//! libc; every unsafe block there says why it is sound.
//!
//! Engines from Docker 20.10 (API 1.41) on are supported: the API version
//! is negotiated on connect, and requests use only what 1.41 understands
//! (one network at container creation, further ones connected before
//! start).

pub mod agent;
pub mod backend;
pub mod convert;
pub mod copy;
pub mod error;
pub mod host;
pub mod runc;
pub mod terminal;

pub use backend::{ConnectError, DockerBackend};
pub use host::addresses::host_addresses;
pub use host::guard::{GuardReport, HostGuard, HostGuardError};
pub use host::outside::{OutsideError, OutsideStandIn};
pub use terminal::direct::TerminalChoice;
