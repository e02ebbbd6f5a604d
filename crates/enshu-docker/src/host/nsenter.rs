//! [`ExecPrivilege::Controller`](enshu_backend::ExecPrivilege::Controller):
//! the host's own tools, run in a container's network namespace through
//! `nsenter`. The container's id and init process come from the engine
//! ([`DockerBackend`](crate::DockerBackend)); this module only checks and
//! runs.
//!
//! The controller has to change what a hardened container may not change
//! itself (its default route, with `cap_drop: ALL` and `no-new-privileges`).
//! The engine's privileged exec would do it by running the container's own
//! binaries with every capability. That is refused outright on hosts whose
//! bounding set lacks a capability (`unable to apply caps: operation not
//! permitted`, seen on this project's Docker 20.10 machines, which lack
//! `CAP_SYS_RESOURCE`), and even where it works it hands full root to
//! whatever `/usr/sbin/ip` a trainee may have replaced inside the range.
//!
//! So the controller's commands run as `nsenter --target <pid> --net`: the
//! host's binaries, from the host's filesystem, with the host's root, in
//! the container's network namespace only. Commands are therefore host
//! commands (`ip route replace default via …`), never paths inside the
//! container. Before entering, the process
//! is checked to belong to the container (its cgroup names the container
//! id), so a recycled PID or an engine running elsewhere (a VM behind the
//! socket) is refused instead of entering the wrong namespace.

use enshu_backend::ExecOutput;

use super::cgroup_names_container;

/// `PATH` for the host command: the host's system directories only.
const HOST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum NsenterError {
    #[error("process {pid} is not container {id} on this host (is the engine on another machine?)")]
    NotTheContainer { pid: i64, id: String },
    #[error("cannot read /proc/{pid}/cgroup: {source}")]
    Cgroup { pid: i64, source: std::io::Error },
    #[error("cannot run nsenter: {0}")]
    Spawn(std::io::Error),
}

/// The `nsenter` argument vector for `command` in `pid`'s network namespace.
pub fn nsenter_arguments(pid: i64, command: &[String]) -> Vec<String> {
    [
        "--target".to_string(),
        pid.to_string(),
        "--net".to_string(),
        "--".to_string(),
    ]
    .into_iter()
    .chain(command.iter().cloned())
    .collect()
}

/// Run a host command in the network namespace of container `id`, whose
/// init process is `pid`.
pub async fn run_in_network_namespace(
    id: &str,
    pid: i64,
    command: &[String],
) -> Result<ExecOutput, NsenterError> {
    let listing = tokio::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .await
        .map_err(|source| NsenterError::Cgroup { pid, source })?;
    if !cgroup_names_container(&listing, id) {
        return Err(NsenterError::NotTheContainer {
            pid,
            id: id.to_string(),
        });
    }
    let output = tokio::process::Command::new("nsenter")
        .args(nsenter_arguments(pid, command))
        .env_clear()
        .env("PATH", HOST_PATH)
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(NsenterError::Spawn)?;
    let exit_code = output.status.code().map(i64::from).unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + i64::from(output.status.signal().unwrap_or(0))
    });
    Ok(ExecOutput {
        exit_code,
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_follows_a_double_dash() {
        let command =
            ["ip", "route", "replace", "default", "via", "10.64.10.254"].map(String::from);
        assert_eq!(
            nsenter_arguments(4242, &command),
            [
                "--target",
                "4242",
                "--net",
                "--",
                "ip",
                "route",
                "replace",
                "default",
                "via",
                "10.64.10.254"
            ]
        );
    }
}
