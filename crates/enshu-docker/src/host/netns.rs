//! Work in a container's network namespace from a thread of the controller.
//!
//! `verify` needs thousands of TCP connection attempts from inside the
//! ranges. Run as a command in each container, every source costs a
//! `docker exec` (≈ 80 ms of machine CPU on 2 cores) plus an interpreter's
//! start. A thread of this process can instead join the container's network
//! namespace with `setns(2)`, which for a network namespace changes only
//! the calling thread, and open the sockets there: same addresses, routes
//! and filter rules as a process inside the container, nothing run in it,
//! no capability given to it. The same threads set default routes, load
//! router rules and open the trainees' way in ([`super::access`]).
//!
//! The thread is created for the work and ends with it, so no thread of the
//! runtime's pools ever carries a range's namespace. As in
//! [`nsenter`](super::nsenter), the namespace is opened
//! first and then the process is checked to belong to the container, so a
//! recycled PID or an engine on another machine is refused.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use super::cgroup_names_container;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("process {pid} is not container {id} on this host (is the engine on another machine?)")]
    NotTheContainer { pid: i64, id: String },
    #[error("cannot open the network namespace of process {pid}: {source}")]
    Open { pid: i64, source: std::io::Error },
    #[error("cannot enter the network namespace of process {pid}: {source}")]
    Enter { pid: i64, source: std::io::Error },
    #[error("the namespace thread failed: {0}")]
    Thread(String),
}

impl NetnsError {
    /// Whether the namespace cannot be reached from this process at all
    /// (another machine's engine, no privilege), as opposed to a failure
    /// while working in it.
    pub fn unreachable_from_here(&self) -> bool {
        match self {
            NetnsError::NotTheContainer { .. } => true,
            NetnsError::Open { source, .. } | NetnsError::Enter { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::EPERM | libc::EACCES | libc::ENOENT)
            ),
            NetnsError::Thread(_) => false,
        }
    }
}

/// Run `work` on a new thread inside the network namespace of container
/// `id`, whose init process is `pid`.
pub async fn in_network_namespace<T, F>(id: &str, pid: i64, work: F) -> Result<T, NetnsError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let namespace = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|source| NetnsError::Open { pid, source })?;
    let listing = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|source| NetnsError::Open { pid, source })?;
    if !cgroup_names_container(&listing, id) {
        return Err(NetnsError::NotTheContainer {
            pid,
            id: id.to_string(),
        });
    }
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("netns-{pid}"))
        .spawn(move || {
            // SAFETY: `setns` is given a valid namespace descriptor that
            // outlives the call; with CLONE_NEWNET it changes only this
            // thread, which ends when `work` returns.
            let entered = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
            let result = if entered == 0 {
                Ok(work())
            } else {
                Err(NetnsError::Enter {
                    pid,
                    source: std::io::Error::last_os_error(),
                })
            };
            let _ = sender.send(result);
        })
        .map_err(|error| NetnsError::Thread(error.to_string()))?;
    receiver
        .await
        .map_err(|_| NetnsError::Thread("it ended without an answer".into()))?
}

/// `ip route replace default via <via>` for the current thread's network
/// namespace, as one rtnetlink request: no process is started, so setting
/// the default route of every range host costs no `nsenter` and no `ip`.
pub fn replace_default_route(via: Ipv4Addr) -> std::io::Result<()> {
    use std::os::fd::{FromRawFd, OwnedFd};
    const HEADER: usize = 16;
    const ROUTE_MESSAGE: usize = 12;
    const GATEWAY_ATTRIBUTE: usize = 8;
    let length = HEADER + ROUTE_MESSAGE + GATEWAY_ATTRIBUTE;
    let flags =
        (libc::NLM_F_REQUEST | libc::NLM_F_ACK | libc::NLM_F_CREATE | libc::NLM_F_REPLACE) as u16;
    let mut request = Vec::with_capacity(length);
    request.extend((length as u32).to_ne_bytes());
    request.extend(libc::RTM_NEWROUTE.to_ne_bytes());
    request.extend(flags.to_ne_bytes());
    request.extend(1u32.to_ne_bytes()); // sequence
    request.extend(0u32.to_ne_bytes()); // port id: the kernel fills it in
    // struct rtmsg: family, dst_len 0 and src_len 0 (the default route),
    // tos, table, protocol, scope, type, flags — as `ip route` sends it.
    request.extend([
        libc::AF_INET as u8,
        0,
        0,
        0,
        libc::RT_TABLE_MAIN,
        libc::RTPROT_BOOT,
        libc::RT_SCOPE_UNIVERSE,
        libc::RTN_UNICAST,
    ]);
    request.extend(0u32.to_ne_bytes());
    request.extend((GATEWAY_ATTRIBUTE as u16).to_ne_bytes());
    request.extend(libc::RTA_GATEWAY.to_ne_bytes());
    request.extend(via.octets());
    let mut answer = [0u8; 1024];
    // SAFETY: plain socket calls on a descriptor this function owns, with
    // buffers and a zeroed sockaddr_nl that live across each call.
    let received = unsafe {
        let raw = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        );
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let socket = OwnedFd::from_raw_fd(raw);
        let mut kernel: libc::sockaddr_nl = std::mem::zeroed();
        kernel.nl_family = libc::AF_NETLINK as u16;
        let sent = libc::sendto(
            socket.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        );
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let received = libc::recv(
            socket.as_raw_fd(),
            answer.as_mut_ptr().cast(),
            answer.len(),
            0,
        );
        if received < 0 {
            return Err(std::io::Error::last_os_error());
        }
        received as usize
    };
    // The answer is an NLMSG_ERROR message whose error field is 0 (an
    // acknowledgement) or a negated errno.
    let message_type = answer
        .get(4..6)
        .map(|bytes| u16::from_ne_bytes([bytes[0], bytes[1]]));
    let error = answer
        .get(HEADER..HEADER + 4)
        .filter(|_| received >= HEADER + 4)
        .map(|bytes| i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
    match (message_type, error) {
        (Some(kind), Some(0)) if kind == libc::NLMSG_ERROR as u16 => Ok(()),
        (Some(kind), Some(error)) if kind == libc::NLMSG_ERROR as u16 => {
            Err(std::io::Error::from_raw_os_error(-error))
        }
        _ => Err(std::io::Error::other(
            "the kernel answered the route request with something other than an acknowledgement",
        )),
    }
}

/// `nft -f -` with the host's `nft` for the current thread's network
/// namespace (the child process inherits it), `ruleset` on its stdin.
/// `Ok(None)`: there is no `nft` on this host.
pub fn load_nftables(ruleset: &str) -> std::io::Result<Option<std::process::Output>> {
    use std::io::Write as _;
    let spawned = std::process::Command::new("nft")
        .args(["-f", "-"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(ruleset.as_bytes())?;
    }
    child.wait_with_output().map(Some)
}

/// Open files a verify wants: every source's probes at once at 50 teams
/// (about 25,000 sockets for 8 Emotet teams, see [`super::probe`]).
pub const WANTED_OPEN_FILES: u64 = 65_536;

/// Raise this process's limit on open files: the hard limit to
/// [`WANTED_OPEN_FILES`] where the process may (root, as `enshu up` runs),
/// then the soft limit to the hard one. A verify has up to
/// [`super::probe::PROBES_AT_ONCE`] sockets open per source and many
/// sources at once. Returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for every call to fill and read.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_max < WANTED_OPEN_FILES {
            let raised = libc::rlimit {
                rlim_cur: WANTED_OPEN_FILES,
                rlim_max: WANTED_OPEN_FILES,
            };
            // Refused without CAP_SYS_RESOURCE: the hard limit stays.
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return WANTED_OPEN_FILES;
            }
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a network namespace of its own (a thread that unshared one, with
    /// a veth pair as its only link), the route request sets the default
    /// route that `ip route` then shows, and a gateway on no link is the
    /// kernel's "network unreachable".
    #[test]
    fn the_default_route_is_replaced_in_the_threads_own_namespace() {
        let routes = std::thread::spawn(|| {
            // SAFETY: CLONE_NEWNET changes only this thread, which ends here.
            let unshared = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(unshared, 0, "unshare needs root");
            let ip = |arguments: &str| {
                let output = std::process::Command::new("ip")
                    .args(arguments.split(' '))
                    .output()
                    .expect("iproute2 is installed");
                assert!(output.status.success(), "ip {arguments}: {output:?}");
                String::from_utf8_lossy(&output.stdout).into_owned()
            };
            ip("link add v0 type veth peer name v1");
            ip("link set v0 up");
            ip("link set v1 up");
            ip("addr add 10.9.9.1/24 dev v0");
            replace_default_route(Ipv4Addr::new(10, 9, 9, 2)).unwrap();
            replace_default_route(Ipv4Addr::new(10, 9, 9, 3)).unwrap();
            let unreachable = replace_default_route(Ipv4Addr::new(10, 8, 8, 8)).unwrap_err();
            assert_eq!(
                unreachable.raw_os_error(),
                Some(libc::ENETUNREACH),
                "{unreachable}"
            );
            ip("route show default")
        })
        .join()
        .unwrap();
        assert_eq!(routes.trim(), "default via 10.9.9.3 dev v0");
    }

    #[tokio::test]
    async fn a_process_outside_any_container_is_refused() {
        let id = "36b495fe98f7deae79a771d179779988063c2389db6740f52a28c384d1ffb4ed";
        let error = in_network_namespace(id, i64::from(std::process::id()), || ())
            .await
            .unwrap_err();
        assert!(
            matches!(error, NetnsError::NotTheContainer { .. }),
            "{error}"
        );
        assert!(error.unreachable_from_here());
    }
}
