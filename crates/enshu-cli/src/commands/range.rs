//! Shared by the commands that touch running ranges.

use anyhow::Context as _;
use enshu_docker::DockerBackend;

/// How many containers are created or removed at once. Measured on 2 cores:
/// the engine serialises much of the work, so more does not help.
pub const CONCURRENCY: usize = 4;

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub async fn docker() -> anyhow::Result<DockerBackend> {
    DockerBackend::connect()
        .await
        .context("connecting to the Docker engine (is it running, and may this user use it?)")
}

/// Install the host guard (serialised across processes, whatever their
/// state directory, by the guard's one lock file in `/run`).
pub async fn ensure_host_guard() -> anyhow::Result<()> {
    enshu_docker::HostGuard::new()
        .ensure()
        .await
        .context("installing the host guard (iptables)")?;
    Ok(())
}
