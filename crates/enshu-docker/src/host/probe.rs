//! Verify's probes, sent from the current thread's network namespace (a
//! thread of the controller that joined a container's, see
//! [`super::netns`]): TCP connections, UDP datagrams, ICMP echoes, DNS
//! queries to the container's resolver, and a look at its IPv6
//! addresses. Every probe of a source runs at once and gets the full
//! timeout, so a source costs one timeout whatever it probes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use enshu_backend::{ConnectOutcome, NetProbe};
use futures_util::stream::{self, StreamExt};

/// At most this many probes are open at once per source.
pub const PROBES_AT_ONCE: usize = 512;

/// Probe sockets open at once in the whole process, across every source
/// verify probes side by side: half the open-file limit (raised first, see
/// [`super::netns::raise_open_file_limit`]), at most 32,768 and at least
/// 256, so that 8 Emotet teams' 224 sources (about 25,000 probes) are all
/// in flight at once and verify costs about one timeout; the namespace handles,
/// the Docker connection and the other half stay available. Seen without
/// it: 50 teams' sources at once ran out of descriptors (EMFILE) at a
/// limit of 20,000 and `up` failed. A probe's timeout starts once it has
/// its socket, so waiting for one never reads as blocked.
fn socket_budget() -> &'static tokio::sync::Semaphore {
    static BUDGET: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    BUDGET.get_or_init(|| {
        let limit = super::netns::raise_open_file_limit();
        tokio::sync::Semaphore::new(budget_for(limit))
    })
}

/// The socket budget for an open-file limit (see [`socket_budget`]).
fn budget_for(limit: u64) -> usize {
    usize::try_from(limit / 2)
        .unwrap_or(usize::MAX)
        .clamp(256, 32_768)
}

/// Send every probe from the current thread's network namespace, all at
/// once, each with the full `timeout`. Outcomes are in target order.
pub fn probe_all(targets: &[NetProbe], timeout: Duration) -> Vec<ConnectOutcome> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        // Without a runtime no probe ran: every target reads as blocked,
        // which the caller retries or reports; it never passes a
        // must-reach probe.
        Err(_) => return vec![ConnectOutcome::Blocked; targets.len()],
    };
    runtime.block_on(async {
        let mut outcomes: Vec<(usize, ConnectOutcome)> = stream::iter(targets.iter().enumerate())
            .map(|(index, target)| async move {
                let Ok(_socket) = socket_budget().acquire().await else {
                    return (index, ConnectOutcome::Blocked);
                };
                let outcome = tokio::time::timeout(timeout, probe(target))
                    .await
                    .unwrap_or(ConnectOutcome::Blocked);
                (index, outcome)
            })
            .buffer_unordered(PROBES_AT_ONCE)
            .collect()
            .await;
        outcomes.sort_by_key(|(index, _)| *index);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    })
}

async fn probe(target: &NetProbe) -> ConnectOutcome {
    match target {
        NetProbe::Tcp(address, port) => {
            match tokio::net::TcpStream::connect(SocketAddr::from((*address, *port))).await {
                Ok(_) => ConnectOutcome::Open,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    ConnectOutcome::Refused
                }
                Err(_) => ConnectOutcome::Blocked,
            }
        }
        NetProbe::Udp(address, port) => {
            match udp_exchange(
                *address,
                *port,
                &dns_query(PROBE_QUERY_ID, "enshu-verify.invalid"),
            )
            .await
            {
                Ok(_) => ConnectOutcome::Open,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    ConnectOutcome::Refused
                }
                Err(_) => ConnectOutcome::Blocked,
            }
        }
        NetProbe::Icmp(address) => echo(*address).await,
        NetProbe::Dns { server, name } => {
            match udp_exchange(*server, 53, &dns_query(PROBE_QUERY_ID, name)).await {
                Ok(answer) => judge_dns_answer(&answer),
                Err(_) => ConnectOutcome::Blocked,
            }
        }
        NetProbe::Ipv6Address => {
            // This thread's namespace, not the process's (`/proc/self`).
            match std::fs::read_to_string("/proc/thread-self/net/if_inet6") {
                Ok(listing) if has_routable_ipv6(&listing) => ConnectOutcome::Open,
                _ => ConnectOutcome::Blocked,
            }
        }
    }
}

const PROBE_QUERY_ID: u16 = 0x4e53;

async fn udp_exchange(address: Ipv4Addr, port: u16, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
    socket.connect((address, port)).await?;
    socket.send(payload).await?;
    let mut buffer = vec![0u8; 1500];
    let length = socket.recv(&mut buffer).await?;
    buffer.truncate(length);
    Ok(buffer)
}

/// One ICMP echo on a ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP`: the
/// kernel sets the identifier and delivers only this socket's replies;
/// Docker lets every group of a container open one). An error from the
/// path (unreachable) and no reply are both blocked.
async fn echo(address: Ipv4Addr) -> ConnectOutcome {
    let socket = match socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::ICMPV4),
    ) {
        Ok(socket) => socket,
        Err(error) => {
            tracing::warn!("verify: no ICMP probe to {address}: {error}");
            return ConnectOutcome::Blocked;
        }
    };
    if socket.set_nonblocking(true).is_err() {
        return ConnectOutcome::Blocked;
    }
    let Ok(socket) = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket)) else {
        return ConnectOutcome::Blocked;
    };
    if socket.connect((address, 0)).await.is_err() {
        return ConnectOutcome::Blocked;
    }
    // Type 8 (echo request), code 0; the kernel fills checksum and id.
    let request = [8u8, 0, 0, 0, 0, 0, 0, 1, b'e', b'n', b's', b'h', b'u'];
    if socket.send(&request).await.is_err() {
        return ConnectOutcome::Blocked;
    }
    let mut reply = [0u8; 256];
    loop {
        match socket.recv(&mut reply).await {
            // Type 0: echo reply.
            Ok(length) if length >= 8 && reply[0] == 0 => return ConnectOutcome::Open,
            Ok(_) => continue,
            Err(_) => return ConnectOutcome::Blocked,
        }
    }
}

/// A DNS query for `name`'s A record, recursion desired.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut query = Vec::with_capacity(18 + name.len());
    query.extend(id.to_be_bytes());
    query.extend([0x01, 0x00]); // standard query, RD
    query.extend([0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.trim_end_matches('.').split('.') {
        let label = &label.as_bytes()[..label.len().min(63)];
        query.push(label.len() as u8);
        query.extend(label);
    }
    query.push(0);
    query.extend([0, 1, 0, 1]); // A, IN
    query
}

/// A resolver's answer: NOERROR or NXDOMAIN is an answer (someone knew,
/// or looked the name up); SERVFAIL, REFUSED or garbage is no answer.
pub fn judge_dns_answer(answer: &[u8]) -> ConnectOutcome {
    if answer.len() < 12 || answer[2] & 0x80 == 0 {
        return ConnectOutcome::Blocked;
    }
    match answer[3] & 0x0f {
        0 | 3 => ConnectOutcome::Open,
        _ => ConnectOutcome::Blocked,
    }
}

/// Whether `/proc/net/if_inet6` lists an address that is neither loopback
/// nor link-local (scope, the fourth column: 10 host, 20 link).
pub fn has_routable_ipv6(listing: &str) -> bool {
    listing.lines().any(|line| {
        let scope = line.split_whitespace().nth(3).unwrap_or("10");
        !matches!(scope, "10" | "20")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_udp_tell_open_from_refused_in_target_order() {
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let open_port = listening.local_addr().unwrap().port();
        // A UDP server that answers one datagram, and a port where none listens.
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let server_port = server.local_addr().unwrap().port();
        let answering = std::thread::spawn(move || {
            let mut buffer = [0u8; 512];
            let (length, from) = server.recv_from(&mut buffer).unwrap();
            server.send_to(&buffer[..length], from).unwrap();
        });
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let silent_port = silent.local_addr().unwrap().port();
        drop(silent);
        let outcomes = probe_all(
            &[
                NetProbe::Tcp(Ipv4Addr::LOCALHOST, closed_port),
                NetProbe::Tcp(Ipv4Addr::LOCALHOST, open_port),
                NetProbe::Udp(Ipv4Addr::LOCALHOST, server_port),
                NetProbe::Udp(Ipv4Addr::LOCALHOST, silent_port),
            ],
            Duration::from_secs(1),
        );
        answering.join().unwrap();
        assert_eq!(
            outcomes,
            [
                ConnectOutcome::Refused,
                ConnectOutcome::Open,
                ConnectOutcome::Open,
                ConnectOutcome::Refused
            ]
        );
    }

    #[test]
    fn a_resolver_that_answers_is_told_from_one_that_cannot() {
        let mut answer = dns_query(1, "www.example.invalid");
        assert_eq!(&answer[12..16], [3, b'w', b'w', b'w']);
        assert!(answer.ends_with(&[0, 0, 1, 0, 1]));
        assert_eq!(
            judge_dns_answer(&answer),
            ConnectOutcome::Blocked,
            "a query is no answer"
        );
        answer[2] |= 0x80;
        for (rcode, outcome) in [
            (0, ConnectOutcome::Open),
            (3, ConnectOutcome::Open),
            (2, ConnectOutcome::Blocked),
            (5, ConnectOutcome::Blocked),
        ] {
            answer[3] = rcode;
            assert_eq!(judge_dns_answer(&answer), outcome, "rcode {rcode}");
        }
    }

    #[test]
    fn the_socket_budget_leaves_half_the_open_file_limit() {
        assert_eq!(budget_for(65_536), 32_768);
        assert_eq!(budget_for(20_000), 10_000);
        assert_eq!(budget_for(4096), 2048);
        assert_eq!(budget_for(1024), 512);
        assert_eq!(budget_for(0), 256);
    }

    #[test]
    fn only_loopback_and_link_local_ipv6_count_as_none() {
        let loopback = "00000000000000000000000000000001 01 80 10 80       lo\n";
        let link = "fe800000000000000042acfffe110002 2a 40 20 80     eth0\n";
        let global = "20010db8000000000000000000000010 2a 40 00 80     eth0\n";
        assert!(!has_routable_ipv6(""));
        assert!(!has_routable_ipv6(&format!("{loopback}{link}")));
        assert!(has_routable_ipv6(&format!("{loopback}{global}")));
    }
}
