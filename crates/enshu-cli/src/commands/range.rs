//! Shared by the commands that touch running ranges.

use anyhow::Context as _;
use enshu_docker::DockerBackend;

/// How many containers are created or removed at once, where no team count
/// says otherwise (teardown, a team's reset). Measured on 2 cores: the
/// engine serialises much of the work, so more does not help.
pub const CONCURRENCY: usize = 4;

/// How many containers `up` creates and starts at once for `teams` teams,
/// unless `--concurrency` says. Measured on 2 cores with overlay2
/// (BENCHMARKS.md, session 14): 8 Emotet teams came up in 108.5 and
/// 111.5 s at 8 against 116.5 s at 4 (session 13). Larger sessions keep
/// the 4 they were measured at (50 teams of the logging fixture, 315 s in
/// session 13): 8 is not measured there yet, and at 50 teams the ranges'
/// own services starting already load the machine to 200.
pub fn up_concurrency(teams: u32) -> usize {
    if teams <= 8 { 8 } else { CONCURRENCY }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Refuses, with what to do, a command that changes the host's network
/// (the host guard's iptables rules, the ranges' network namespaces, the
/// sensors' taps) when not run as root: without this the first iptables
/// or setns call fails deep inside, half way through.
pub fn require_root(command: &str) -> anyhow::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match effective_uid(&status) {
        Some(0) | None => Ok(()),
        Some(uid) => anyhow::bail!(
            "`enshu {command}` needs root (this is uid {uid}): it installs the host guard \
             (iptables) and enters each range's network namespaces; run it as root, e.g. \
             `sudo enshu {command} ...`"
        ),
    }
}

/// The effective user id from `/proc/self/status` (its `Uid:` line: real,
/// effective, saved, filesystem).
fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
}

pub async fn docker() -> anyhow::Result<DockerBackend> {
    DockerBackend::connect()
        .await
        .context("connecting to the Docker engine (is it running, and may this user use it?)")
}

/// Raise the kernel limits every container shares for `containers` more
/// (`enshu_docker::host::limits`), saying so on stderr. A limit that cannot
/// be read or raised is named, not fatal: the range still comes up, and
/// the note says what will not work.
pub fn ensure_host_limits(containers: usize) {
    let path = std::path::Path::new(enshu_docker::host::limits::INOTIFY_INSTANCES);
    match enshu_docker::host::limits::ensure_inotify_instances(path, containers) {
        Ok(Some(raised)) => eprintln!(
            "note: raised {} from {} to {} (each host's log forwarder holds one; all containers share the host's cap)",
            raised.limit, raised.from, raised.to
        ),
        Ok(None) => {}
        Err(error) => eprintln!(
            "warning: cannot raise fs.inotify.max_user_instances ({error}): past the cap, hosts' log forwarders do not start"
        ),
    }
}

/// What `up` tells the instructor about the engine's storage driver, if
/// anything: on fuse-overlayfs every container keeps its own copy of the
/// image files it reads in the page cache, which costs an Emotet team
/// about twice its memory (BENCHMARKS.md, "Memory per team and the
/// storage driver"); overlay2 shares those pages between containers.
pub fn storage_driver_note(driver: &str) -> Option<String> {
    (driver == "fuse-overlayfs").then(|| {
        "Docker's storage driver is fuse-overlayfs: each container caches its own copy of the \
         image files (about 2x the memory per team of overlay2, and one FUSE daemon per \
         container); where the kernel mounts overlay, `sudo bash infra/docker-storage.sh use \
         overlay2` switches (with no container running)"
            .to_string()
    })
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

#[cfg(test)]
mod tests {
    use super::{effective_uid, storage_driver_note};

    #[test]
    fn the_effective_uid_is_the_second_of_the_uid_line() {
        let status =
            "Name:\tenshu\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t1000\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tx\n"), None);
    }

    #[test]
    fn only_fuse_overlayfs_gets_a_note_naming_the_switch() {
        let note = storage_driver_note("fuse-overlayfs").expect("a note for fuse-overlayfs");
        assert!(
            note.contains("infra/docker-storage.sh use overlay2"),
            "{note}"
        );
        assert_eq!(storage_driver_note("overlay2"), None);
        assert_eq!(storage_driver_note("btrfs"), None);
    }
}
