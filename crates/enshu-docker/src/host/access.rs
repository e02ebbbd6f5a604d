//! Trainees' way in: a TCP connection opened *inside* a container's own
//! network namespace, to its loopback.
//!
//! The host has no address on any range bridge (`inhibit_ipv4`) and the
//! host guard drops everything between bridges and the host, so there is no
//! network path from the host into a range at all. Instead a fresh thread
//! joins the container's network namespace ([`super::netns`]), connects to
//! `127.0.0.1:port` there and ends; the socket stays in that namespace.
//! Forwarding a host port to it gives each team exactly one way in, landing
//! on its analyst workstation and nowhere else.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("connecting to port {port} inside the container: {source}")]
    Connect { port: u16, source: std::io::Error },
    #[error("connecting to {address} from inside the container: {source}")]
    ConnectTo {
        address: std::net::SocketAddrV4,
        source: std::io::Error,
    },
}

/// Connect to `127.0.0.1:port` of the calling thread's network namespace:
/// run it on a thread that joined the container's namespace
/// ([`super::netns::in_network_namespace`]); the socket stays in that
/// namespace after the thread ends.
pub fn connect_loopback(port: u16) -> Result<TcpStream, AccessError> {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        std::time::Duration::from_secs(5),
    )
    .map_err(|source| AccessError::Connect { port, source })
}

/// Connect to `address` from the calling thread's network namespace (see
/// [`connect_loopback`]): the SSH bastion's forwarding from the way-in host.
pub fn connect_to(address: std::net::SocketAddrV4) -> Result<TcpStream, AccessError> {
    TcpStream::connect_timeout(&SocketAddr::V4(address), std::time::Duration::from_secs(5))
        .map_err(|source| AccessError::ConnectTo { address, source })
}
