//! This machine: everything the backend does to the kernel of the host it
//! runs on, rather than through the Docker Engine API.
//!
//! The rest of the crate talks to the engine; this module works beside it,
//! on the host's own filter tables, network namespaces and interfaces. It
//! is what makes the backend need root and the same machine as the engine,
//! so it is kept in one place:
//!
//! - [`guard`]: [`HostGuard`](guard::HostGuard), the iptables chains that
//!   keep range bridges off the host and let the team routers forward.
//! - [`netns`]: work done by a thread of this process that joined a
//!   container's network namespace (verify's connects, default routes over
//!   rtnetlink, router rules with the host's `nft`).
//! - [`probe`]: verify's probes from such a thread (TCP, UDP, ICMP echo,
//!   DNS to the container's resolver, its IPv6 addresses).
//! - [`access`]: the trainees' way in, a connection opened to a container's
//!   loopback from such a thread.
//! - [`nsenter`]: the controller's commands, the host's binaries run in a
//!   container's network namespace.
//! - [`outside`]: [`OutsideStandIn`](outside::OutsideStandIn), verify's
//!   "outside", a namespace of this machine behind a veth.
//! - [`addresses`]: this machine's IPv4 addresses, verify's "host machine"
//!   targets.
//! - [`limits`]: kernel limits every container shares (the inotify
//!   instances the hosts' log forwarders hold), raised before `up`.
//! - [`session`]: a web terminal's processes, hung up and killed from the
//!   host when its client is gone (the engine cannot stop an exec).
//! - [`account`]: a container's login user (uid, gid, groups, home) read
//!   from its `/etc/passwd` and `/etc/group` without following its links
//!   out of its root, for the direct TTY path.
//! - [`pty`]: the direct TTY path's pty master, console descriptor and
//!   waiting for its process.
//! - [`sensor`]: the teams' network sensors, veth taps into the analyst
//!   workstations and tc mirrors of every bridge port, with the host's
//!   `ip` and `tc`.
//!
//! Before any work in a container's namespace, its process is checked to
//! belong to the container ([`cgroup_names_container`]), so a recycled PID
//! or an engine on another machine is refused.
//!
//! Only [`netns`], [`addresses`], [`session`], [`account`] and [`pty`]
//! call the kernel through `libc` directly (`setns`, netlink,
//! `getifaddrs`, `kill`, `openat2`, `ioctl`, `recvmsg`, `waitpid`); they are the
//! modules of the crate that may contain `unsafe` code.

pub mod access;
#[expect(
    unsafe_code,
    reason = "openat2(2) with RESOLVE_IN_ROOT: reading a hostile container's /etc/passwd without following its links out"
)]
pub mod account;
#[expect(
    unsafe_code,
    reason = "getifaddrs(3): reading the kernel's address table without running `ip`"
)]
pub mod addresses;
pub mod guard;
pub mod limits;
#[expect(
    unsafe_code,
    reason = "setns(2), a netlink socket and rlimits: libc calls with no safe wrapper in the dependencies"
)]
pub mod netns;
pub mod nsenter;
pub mod outside;
pub mod probe;
#[expect(
    unsafe_code,
    reason = "ioctl(TIOCSWINSZ), SCM_RIGHTS, prctl, pidfd_open and waitpid: the direct TTY path's kernel calls"
)]
pub mod pty;
pub mod sensor;
#[expect(
    unsafe_code,
    reason = "kill(2): hanging up a terminal's processes, which the engine has no verb for"
)]
pub mod session;

/// Whether a `/proc/<pid>/cgroup` listing places the process in the
/// container with this full id (`/docker/<id>`, `docker-<id>.scope`, …).
pub fn cgroup_names_container(cgroup_listing: &str, container_id: &str) -> bool {
    container_id.len() == 64
        && container_id.bytes().all(|byte| byte.is_ascii_hexdigit())
        && cgroup_listing
            .lines()
            .any(|line| line.contains(container_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "36b495fe98f7deae79a771d179779988063c2389db6740f52a28c384d1ffb4ed";

    #[test]
    fn cgroupfs_and_systemd_layouts_name_the_container() {
        assert!(cgroup_names_container(
            &format!("12:pids:/docker/{ID}\n0::/docker/{ID}\n"),
            ID
        ));
        assert!(cgroup_names_container(
            &format!("0::/system.slice/docker-{ID}.scope\n"),
            ID
        ));
    }

    #[test]
    fn other_processes_and_short_ids_are_refused() {
        assert!(!cgroup_names_container(
            "0::/user.slice/session-1.scope\n",
            ID
        ));
        assert!(
            !cgroup_names_container("0::/docker/36b495fe98f7\n", "36b495fe98f7"),
            "a short id could match by accident"
        );
        assert!(!cgroup_names_container("0::/\n", ""));
    }
}
