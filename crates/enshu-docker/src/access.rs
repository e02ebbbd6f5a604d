//! Trainees' way in: a TCP connection opened *inside* a container's own
//! network namespace, to its loopback.
//!
//! The host has no address on any range bridge (`inhibit_ipv4`) and the
//! host guard drops everything between bridges and the host, so there is no
//! network path from the host into a range at all. Instead a thread enters
//! the container's network namespace (`setns`), connects to
//! `127.0.0.1:port` there and returns; the socket stays in that namespace.
//! Forwarding a host port to it gives each team exactly one way in, landing
//! on its analyst workstation and nowhere else.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("opening the network namespace of pid {pid}: {source}")]
    Namespace { pid: i64, source: std::io::Error },
    #[error("entering the network namespace of pid {pid}: {source}")]
    Enter { pid: i64, source: std::io::Error },
    #[error("connecting to port {port} inside the container: {source}")]
    Connect { port: u16, source: std::io::Error },
    #[error("returning to the controller's network namespace: {0}")]
    Return(std::io::Error),
}

fn set_network_namespace(file: &File) -> std::io::Result<()> {
    // SAFETY: setns only reads the descriptor; it affects this thread alone.
    let result = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Connect to `127.0.0.1:port` in the network namespace of process `pid`.
/// Blocking: run it on a thread of its own (`spawn_blocking`), because the
/// thread switches namespaces while it connects.
pub fn connect_in_namespace(pid: i64, port: u16) -> Result<TcpStream, AccessError> {
    let own = File::open("/proc/thread-self/ns/net").map_err(AccessError::Return)?;
    let target = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|source| AccessError::Namespace { pid, source })?;
    set_network_namespace(&target).map_err(|source| AccessError::Enter { pid, source })?;
    let connected = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        std::time::Duration::from_secs(5),
    )
    .map_err(|source| AccessError::Connect { port, source });
    // Always go back, even when the connect failed: the thread is reused.
    set_network_namespace(&own).map_err(AccessError::Return)?;
    connected
}
