//! [`Backend`] on the Docker Engine API, through bollard.
//!
//! Each verb is a thin sequence of engine calls around the pure pieces in
//! [`crate::convert`], [`crate::copy`] and [`crate::error`]: this file only
//! talks to the engine and decides nothing about a container's shape.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerInspectResponse, ContainerSummaryStateEnum, ExecConfig};
use bollard::query_parameters::{
    ContainerArchiveInfoOptions, CreateContainerOptions, ListContainersOptions,
    ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions, UploadToContainerOptions,
};
use enshu_backend::{
    Backend, BackendError, ConnectOutcome, ContainerSpec, ExecOutput, ExecPrivilege, Fix, NetProbe,
    NetworkSpec, Observed, ObservedContainer, ObservedNetwork, ObservedSensors, Result, SensorPlan,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::convert;
use crate::copy::{self, CopyMethod};
use crate::error::{EngineFailure, Verb, backend_error};
use crate::host::{access, netns, nsenter, probe, sensor};

/// Most bytes of stdout (and of stderr) kept from one exec; the rest is dropped.
pub const MAX_EXEC_OUTPUT_BYTES: usize = 8 * 1024 * 1024;
/// Longest time waited for the engine to record an exec's exit code after
/// its output stream has ended.
const EXEC_EXIT_WAIT: Duration = Duration::from_secs(5);
/// Longest time a command in a container may take, through an agent or a
/// plain exec: the engine's commands take well under a second (checks are
/// bounded at 20 s by the engine, traffic generators run detached), so a
/// command still running after this is stalled, e.g. stopped by a team
/// with root in the container; it fails, naming the container.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the backend could not reach the engine.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot open the docker socket: {0}")]
    Socket(String),
    #[error("the docker engine does not answer: {0}")]
    Negotiate(String),
}

/// The Docker backend: a bollard client whose API version has been
/// negotiated with the engine.
#[derive(Debug, Clone)]
pub struct DockerBackend {
    pub(crate) docker: Docker,
    /// Long-lived exec agents, when asked for ([`DockerBackend::with_exec_agents`]).
    agents: Option<std::sync::Arc<crate::agent::Agents>>,
    /// How long a command in a container may take ([`EXEC_TIMEOUT`]).
    exec_timeout: Duration,
    /// Init processes of running containers an earlier inspect found
    /// ([`DockerBackend::running_pid`]). Clones share them.
    inits: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, KnownInit>>>,
    /// Terminals being opened at once ([`crate::terminal`]); clones share it.
    pub(crate) terminal_opens: std::sync::Arc<tokio::sync::Semaphore>,
    /// How TTY terminals are opened, chosen at the first
    /// ([`crate::terminal::direct`]); clones share it.
    pub(crate) terminal_path:
        std::sync::Arc<std::sync::OnceLock<crate::terminal::direct::TerminalPath>>,
}

/// A container's init process as an inspect found it, with the start time
/// that tells it from a later process given the same pid.
#[derive(Debug, Clone)]
struct KnownInit {
    id: String,
    pid: i64,
    started: u64,
}

/// The start time of process `pid` (clock ticks since boot, field 22 of
/// `/proc/PID/stat`): with the pid it names one process for as long as the
/// machine runs.
fn process_start_time(pid: i64) -> Option<u64> {
    start_time_in_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn start_time_in_stat(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces
    // and parentheses of its own: the fields after it follow the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn failure<'a>(
    verb: Verb<'a>,
    name: &'a str,
) -> impl FnOnce(bollard::errors::Error) -> BackendError + 'a {
    move |error| backend_error(verb, name, EngineFailure::from(error))
}

fn runtime(verb: Verb<'_>, name: &str, message: impl Into<String>) -> BackendError {
    BackendError::Runtime {
        action: verb.action(),
        name: name.to_string(),
        message: message.into(),
    }
}

fn mirroring(name: &str, error: sensor::SensorError) -> BackendError {
    BackendError::Runtime {
        action: "mirror segments",
        name: name.to_string(),
        message: error.to_string(),
    }
}

fn into_btree(map: Option<std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

fn push_limited(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_EXEC_OUTPUT_BYTES.saturating_sub(buffer.len());
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

impl DockerBackend {
    /// Connect over the local Unix socket (`$DOCKER_HOST` when it is a
    /// `unix://` address, else `/var/run/docker.sock`) and settle on the
    /// highest API version both sides speak: bollard's own (1.53) against
    /// a current engine, 1.41 against Docker 20.10.
    pub async fn connect() -> std::result::Result<DockerBackend, ConnectError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|error| ConnectError::Socket(error.to_string()))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|error| ConnectError::Negotiate(error.to_string()))?;
        Ok(DockerBackend {
            docker,
            agents: None,
            exec_timeout: EXEC_TIMEOUT,
            inits: Default::default(),
            terminal_opens: std::sync::Arc::new(tokio::sync::Semaphore::new(
                crate::terminal::OPENS_AT_ONCE,
            )),
            terminal_path: std::sync::Arc::default(),
        })
    }

    /// Run the engine's commands in range containers through one
    /// long-lived agent per container ([`crate::agent`]) instead of one
    /// `docker exec` each: for `enshu serve`, which fires and checks
    /// hundreds of commands at once. Clones share the agents.
    pub fn with_exec_agents(self) -> DockerBackend {
        self.with_exec_agents_except(std::iter::empty())
    }

    /// Exec agents everywhere but in `containers`: the hosts a team may
    /// log in to, where the team could forge or stall an agent's answers
    /// (see [`crate::agent`]). Those get a plain, bounded exec each time.
    pub fn with_exec_agents_except(
        mut self,
        containers: impl IntoIterator<Item = String>,
    ) -> DockerBackend {
        self.agents = Some(std::sync::Arc::new(crate::agent::Agents::never_in(
            containers,
        )));
        self
    }

    /// Give up on a command in a container after `timeout` instead of
    /// [`EXEC_TIMEOUT`] (tests of a stalled container).
    pub fn with_exec_timeout(mut self, timeout: Duration) -> DockerBackend {
        self.exec_timeout = timeout;
        self
    }

    /// The containers whose exec agent misbehaved and was dropped, and why.
    pub fn dropped_agents(&self) -> Vec<(String, String)> {
        self.agents
            .as_ref()
            .map(|agents| agents.dropped())
            .unwrap_or_default()
    }

    /// A command as root in the container: through its agent when agents
    /// are on (they run as root, the user of every Enshu image), else a
    /// plain exec as `user`.
    async fn container_exec(
        &self,
        name: &str,
        command: &[String],
        user: Option<&str>,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput> {
        if let Some(agents) = &self.agents {
            match agents
                .run(&self.docker, name, command, stdin, self.exec_timeout)
                .await
            {
                crate::agent::AgentAnswer::Ran(output) => return Ok(output),
                crate::agent::AgentAnswer::Lost(message) => {
                    return Err(runtime(Verb::Exec, name, message));
                }
                crate::agent::AgentAnswer::Unavailable => {}
            }
        }
        let exec = self.engine_exec(name, command, user, stdin);
        match tokio::time::timeout(self.exec_timeout, exec).await {
            Ok(result) => result,
            Err(_) => Err(runtime(
                Verb::Exec,
                name,
                format!(
                    "the command did not finish within {} s; given up",
                    self.exec_timeout.as_secs()
                ),
            )),
        }
    }

    /// The API version in use, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// The engine's own version, e.g. `20.10.24+dfsg1`.
    pub async fn engine_version(&self) -> std::result::Result<String, ConnectError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|error| ConnectError::Negotiate(error.to_string()))?;
        Ok(version.version.unwrap_or_default())
    }

    /// The engine's storage driver, e.g. `overlay2` or `fuse-overlayfs`.
    pub async fn storage_driver(&self) -> std::result::Result<String, ConnectError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|error| ConnectError::Negotiate(error.to_string()))?;
        Ok(info.driver.unwrap_or_default())
    }

    /// A TCP connection to `127.0.0.1:port` inside a running container's
    /// own network namespace (see [`crate::host::access`]).
    pub async fn connect_inside(&self, name: &str, port: u16) -> Result<tokio::net::TcpStream> {
        self.connect_in_namespace(name, move || access::connect_loopback(port))
            .await
    }

    /// A TCP connection to `address` opened inside container `name`'s
    /// network namespace (the bastion's `ssh -J` through the way in).
    pub async fn connect_from_inside(
        &self,
        name: &str,
        address: std::net::SocketAddrV4,
    ) -> Result<tokio::net::TcpStream> {
        self.connect_in_namespace(name, move || access::connect_to(address))
            .await
    }

    async fn connect_in_namespace(
        &self,
        name: &str,
        connect: impl FnOnce() -> std::result::Result<std::net::TcpStream, access::AccessError>
        + Send
        + 'static,
    ) -> Result<tokio::net::TcpStream> {
        let (id, pid) = self.running_pid(Verb::Exec, name).await?;
        let stream = netns::in_network_namespace(&id, pid, connect)
            .await
            .map_err(|error| runtime(Verb::Exec, name, error.to_string()))?
            .map_err(|error| runtime(Verb::Exec, name, error.to_string()))?;
        stream
            .set_nonblocking(true)
            .map_err(|error| runtime(Verb::Exec, name, error.to_string()))?;
        tokio::net::TcpStream::from_std(stream)
            .map_err(|error| runtime(Verb::Exec, name, error.to_string()))
    }

    async fn inspect_container(
        &self,
        verb: Verb<'_>,
        name: &str,
    ) -> Result<ContainerInspectResponse> {
        self.docker
            .inspect_container(name, None)
            .await
            .map_err(|error| match EngineFailure::from(error) {
                EngineFailure::Status { status: 404, .. } => BackendError::NotFound {
                    object: "container",
                    name: name.to_string(),
                },
                other => backend_error(verb, name, other),
            })
    }

    /// The full id and init process of a running container.
    ///
    /// An init process an earlier inspect found is used again while the
    /// same process (pid and start time) still runs: verify's 224 sources
    /// then cost no inspect each of an engine busy with a range that has
    /// just started (median 1.7 s an inspect, seen with 224 at once). A
    /// restarted container's new init has another start time, so it is
    /// inspected again; callers that enter the namespace still check that
    /// the process is in the container's cgroup.
    pub(crate) async fn running_pid(&self, verb: Verb<'_>, name: &str) -> Result<(String, i64)> {
        let known = self
            .inits
            .lock()
            .expect("never poisoned")
            .get(name)
            .cloned();
        if let Some(known) = known
            && process_start_time(known.pid) == Some(known.started)
        {
            return Ok((known.id, known.pid));
        }
        let inspected = self.inspect_container(verb, name).await?;
        let id = inspected.id.unwrap_or_default();
        let state = inspected.state.unwrap_or_default();
        match (state.running, state.pid) {
            (Some(true), Some(pid)) if pid > 0 => {
                if let Some(started) = process_start_time(pid) {
                    self.inits.lock().expect("never poisoned").insert(
                        name.to_string(),
                        KnownInit {
                            id: id.clone(),
                            pid,
                            started,
                        },
                    );
                }
                Ok((id, pid))
            }
            _ => Err(runtime(verb, name, "container is not running")),
        }
    }

    /// Run `command` through the engine's exec API, feeding `stdin` when given.
    async fn engine_exec(
        &self,
        name: &str,
        command: &[String],
        user: Option<&str>,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput> {
        let config = ExecConfig {
            attach_stdin: Some(stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(command.to_vec()),
            user: user.map(str::to_string),
            privileged: Some(false),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(name, config)
            .await
            .map_err(failure(Verb::Exec, name))?;
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(64 * 1024),
        };
        let started = self
            .docker
            .start_exec(&created.id, Some(options))
            .await
            .map_err(failure(Verb::Exec, name))?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(runtime(
                Verb::Exec,
                name,
                "the engine detached an attached exec",
            ));
        };
        let feed = async {
            if let Some(bytes) = stdin {
                input.write_all(bytes).await?;
                input.flush().await?;
            }
            // End of stdin: the process sees EOF.
            input.shutdown().await
        };
        let collect = async {
            let mut result = ExecOutput::default();
            while let Some(item) = output.next().await {
                match item {
                    Ok(bollard::container::LogOutput::StdErr { message }) => {
                        push_limited(&mut result.stderr, &message)
                    }
                    Ok(
                        bollard::container::LogOutput::StdOut { message }
                        | bollard::container::LogOutput::Console { message },
                    ) => push_limited(&mut result.stdout, &message),
                    Ok(bollard::container::LogOutput::StdIn { .. }) => {}
                    Err(error) => return Err(failure(Verb::Exec, name)(error)),
                }
            }
            Ok(result)
        };
        let (fed, collected) = tokio::join!(feed, collect);
        let mut result = collected?;
        if let Err(error) = fed
            && stdin.is_some()
        {
            return Err(runtime(Verb::Exec, name, format!("writing stdin: {error}")));
        }
        let deadline = tokio::time::Instant::now() + EXEC_EXIT_WAIT;
        loop {
            let inspected = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(failure(Verb::Exec, name))?;
            match (inspected.running, inspected.exit_code) {
                (Some(false), Some(code)) => {
                    result.exit_code = code;
                    return Ok(result);
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(runtime(
                        Verb::Exec,
                        name,
                        "the engine reported no exit code",
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// The deepest existing directory above `path` inside the container.
    async fn deepest_existing_ancestor(&self, name: &str, components: &[&str]) -> Result<String> {
        for directory in copy::ancestors(components).into_iter().rev() {
            let options = ContainerArchiveInfoOptions {
                path: directory.clone(),
            };
            match self
                .docker
                .get_container_archive_info(name, Some(options))
                .await
            {
                Ok(_) => return Ok(directory),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => continue,
                Err(error) => return Err(failure(Verb::CopyIn, name)(error)),
            }
        }
        Err(runtime(
            Verb::CopyIn,
            name,
            "the container has no root directory",
        ))
    }
}

impl Backend for DockerBackend {
    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<()> {
        let name = spec.name.as_str();
        let wanted_subnet = spec.subnet.to_string();
        let check_existing = |network: bollard::models::NetworkInspect| -> Result<()> {
            let subnets: Vec<String> = network
                .ipam
                .and_then(|ipam| ipam.config)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|config| config.subnet)
                .collect();
            if subnets.contains(&wanted_subnet) {
                Ok(())
            } else {
                Err(runtime(
                    Verb::CreateNetwork,
                    name,
                    format!(
                        "a network of that name exists with subnet(s) {subnets:?}, not {wanted_subnet}"
                    ),
                ))
            }
        };
        match self.docker.inspect_network(name, None).await {
            Ok(network) if network.name.as_deref() == Some(name) => return check_existing(network),
            Ok(_)
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(error) => return Err(failure(Verb::InspectNetwork, name)(error)),
        }
        match self
            .docker
            .create_network(convert::network_create_request(spec))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => {
                // Another caller may have created it meanwhile, or still be
                // creating it: a controller killed mid-`up` leaves the
                // engine finishing its last network, whose subnet is then
                // taken ("Pool overlaps") before its name can be seen. So
                // look again for a while before calling it a failure.
                let in_flight = error.to_string().contains("overlaps");
                let looks = if in_flight { 15 } else { 1 };
                for look in 0..looks {
                    if look > 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    if let Ok(network) = self.docker.inspect_network(name, None).await
                        && network.name.as_deref() == Some(name)
                    {
                        return check_existing(network);
                    }
                }
                Err(failure(Verb::CreateNetwork, name)(error))
            }
        }
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.docker
            .remove_network(name)
            .await
            .map_err(failure(Verb::RemoveNetwork, name))
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<()> {
        let name = spec.name.as_str();
        let verb = Verb::CreateContainer { image: &spec.image };
        let body = convert::container_create_body(spec)
            .map_err(|refused| runtime(verb, name, refused.to_string()))?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(failure(verb, name))?;
        for (network, request) in convert::network_connect_requests(spec) {
            if let Err(error) = self.docker.connect_network(&network, request).await {
                let error = backend_error(Verb::ConnectNetwork, name, EngineFailure::from(error));
                // Leave nothing half-attached behind: a retry starts clean.
                let _ = self.remove_container(name).await;
                return Err(match error {
                    BackendError::Runtime { message, .. } => runtime(
                        Verb::ConnectNetwork,
                        name,
                        format!("to {network}: {message}"),
                    ),
                    other => other,
                });
            }
        }
        Ok(())
    }

    async fn start_container(&self, name: &str) -> Result<()> {
        self.docker
            .start_container(name, None)
            .await
            .map_err(failure(Verb::StartContainer, name))
    }

    async fn stop_container(&self, name: &str) -> Result<()> {
        let options = StopContainerOptions {
            t: Some(convert::STOP_TIMEOUT_SECONDS as i32),
            signal: None,
        };
        self.docker
            .stop_container(name, Some(options))
            .await
            .map_err(failure(Verb::StopContainer, name))
    }

    async fn remove_container(&self, name: &str) -> Result<()> {
        self.inits.lock().expect("never poisoned").remove(name);
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        self.docker
            .remove_container(name, Some(options))
            .await
            .map_err(failure(Verb::RemoveContainer, name))
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let options = RemoveVolumeOptions { force: true };
        self.docker
            .remove_volume(name, Some(options))
            .await
            .map_err(failure(Verb::RemoveVolume, name))
    }

    async fn list(&self, labels: &[(&str, &str)]) -> Result<Observed> {
        let description: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let description = description.join(",");
        let filters = Some(convert::label_filters(labels));
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filters.clone(),
                ..Default::default()
            }))
            .await
            .map_err(failure(Verb::List, &description))?;
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: filters.clone(),
            }))
            .await
            .map_err(failure(Verb::List, &description))?;
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions { filters }))
            .await
            .map_err(failure(Verb::List, &description))?;
        let mut observed = Observed {
            containers: containers
                .into_iter()
                .map(|container| ObservedContainer {
                    name: container
                        .names
                        .and_then(|names| names.into_iter().next())
                        .map(|name| name.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    labels: into_btree(container.labels),
                    running: container.state == Some(ContainerSummaryStateEnum::RUNNING),
                    networks: {
                        let mut names: Vec<String> = container
                            .network_settings
                            .and_then(|settings| settings.networks)
                            .map(|networks| networks.into_keys().collect())
                            .unwrap_or_default();
                        names.sort();
                        names
                    },
                    image: container.image.unwrap_or_default(),
                })
                .collect(),
            networks: networks
                .into_iter()
                .map(|network| ObservedNetwork {
                    name: network.name.unwrap_or_default(),
                    labels: into_btree(network.labels),
                })
                .collect(),
            volumes: volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|volume| volume.name)
                .collect(),
        };
        observed
            .containers
            .sort_by(|left, right| left.name.cmp(&right.name));
        observed
            .networks
            .sort_by(|left, right| left.name.cmp(&right.name));
        observed.volumes.sort();
        Ok(observed)
    }

    async fn exec(
        &self,
        name: &str,
        command: &[String],
        privilege: ExecPrivilege,
    ) -> Result<ExecOutput> {
        if command.is_empty() {
            return Err(runtime(Verb::Exec, name, "empty command"));
        }
        match privilege {
            ExecPrivilege::Container => self.container_exec(name, command, None, None).await,
            ExecPrivilege::Controller => {
                let (id, pid) = self.running_pid(Verb::Exec, name).await?;
                nsenter::run_in_network_namespace(&id, pid, command)
                    .await
                    .map_err(|error| runtime(Verb::Exec, name, error.to_string()))
            }
        }
    }

    async fn keep_exec_ready(&self, name: &str) -> bool {
        match &self.agents {
            Some(agents) => agents.warm(&self.docker, name).await,
            None => false,
        }
    }

    async fn set_default_route(&self, name: &str, via: Ipv4Addr) -> Result<()> {
        let (id, pid) = self.running_pid(Verb::Exec, name).await?;
        netns::in_network_namespace(&id, pid, move || netns::replace_default_route(via))
            .await
            .map_err(|error| runtime(Verb::Exec, name, error.to_string()))?
            .map_err(|error| {
                runtime(
                    Verb::Exec,
                    name,
                    format!("setting the default route via {via}: {error}"),
                )
            })
    }

    async fn load_nftables(&self, name: &str, ruleset: &str) -> Result<bool> {
        let (id, pid) = self.running_pid(Verb::Exec, name).await?;
        let ruleset = ruleset.to_string();
        let loaded =
            match netns::in_network_namespace(&id, pid, move || netns::load_nftables(&ruleset))
                .await
            {
                Ok(loaded) => loaded,
                Err(error) if error.unreachable_from_here() => return Ok(false),
                Err(error) => return Err(runtime(Verb::Exec, name, error.to_string())),
            };
        match loaded {
            Ok(Some(output)) if output.status.success() => Ok(true),
            Ok(Some(output)) => Err(runtime(
                Verb::Exec,
                name,
                format!(
                    "nft exited {}: {}",
                    output.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            )),
            // No nft on this host: the router's own.
            Ok(None) => Ok(false),
            Err(error) => Err(runtime(Verb::Exec, name, format!("running nft: {error}"))),
        }
    }

    async fn observe_sensors(&self) -> Result<Option<ObservedSensors>> {
        sensor::observe()
            .await
            .map(Some)
            .map_err(|error| mirroring("(the machine's sensors)", error))
    }

    async fn fix_sensor(&self, plan: &SensorPlan, fixes: &[Fix]) -> Result<()> {
        let name = plan.container.as_str();
        let (id, pid) = self.running_pid(Verb::Exec, name).await?;
        sensor::apply(&id, pid, fixes)
            .await
            .map_err(|error| mirroring(name, error))
    }

    async fn remove_sensors(&self, session: &str) -> Result<usize> {
        sensor::remove_session(session)
            .await
            .map_err(|error| mirroring(session, error))
    }

    async fn connect_from(
        &self,
        name: &str,
        targets: &[NetProbe],
        timeout: Duration,
    ) -> Result<Option<Vec<ConnectOutcome>>> {
        let asked = std::time::Instant::now();
        let (id, pid) = self.running_pid(Verb::Exec, name).await?;
        let inspected = asked.elapsed();
        let targets = targets.to_vec();
        match netns::in_network_namespace(&id, pid, move || {
            let began = std::time::Instant::now();
            (probe::probe_all(&targets, timeout), began.elapsed())
        })
        .await
        {
            Ok((outcomes, probed)) => {
                tracing::debug!(
                    container = name,
                    inspect_ms = inspected.as_millis() as u64,
                    probe_ms = probed.as_millis() as u64,
                    total_ms = asked.elapsed().as_millis() as u64,
                    "probes from a container's network namespace"
                );
                Ok(Some(outcomes))
            }
            Err(error) if error.unreachable_from_here() => Ok(None),
            Err(error) => Err(runtime(Verb::Exec, name, error.to_string())),
        }
    }

    async fn copy_in(&self, name: &str, path: &str, contents: &[u8], mode: u32) -> Result<()> {
        let components = copy::path_components(path)
            .map_err(|refused| runtime(Verb::CopyIn, name, refused.to_string()))?;
        let inspected = self.inspect_container(Verb::CopyIn, name).await?;
        let tmpfs = inspected
            .host_config
            .and_then(|host| host.tmpfs)
            .unwrap_or_default();
        match copy::copy_method(path, tmpfs.keys().map(String::as_str)) {
            CopyMethod::ExecStdin => {
                if inspected.state.and_then(|state| state.running) != Some(true) {
                    return Err(runtime(
                        Verb::CopyIn,
                        name,
                        format!("{path} is on a tmpfs, which exists only while the container runs"),
                    ));
                }
                let output = self
                    .container_exec(
                        name,
                        &copy::exec_stdin_command(path, mode),
                        Some("root"),
                        Some(contents),
                    )
                    .await?;
                if output.exit_code != 0 {
                    let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
                    return Err(runtime(
                        Verb::CopyIn,
                        name,
                        format!("writing {path} exited {}: {message}", output.exit_code),
                    ));
                }
                Ok(())
            }
            CopyMethod::Archive => {
                let directory = self.deepest_existing_ancestor(name, &components).await?;
                let modified = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_secs())
                    .unwrap_or(0);
                let archive = copy::file_archive(&directory, path, contents, mode, modified)
                    .map_err(|error| runtime(Verb::CopyIn, name, error.to_string()))?;
                let options = UploadToContainerOptions {
                    path: directory,
                    ..Default::default()
                };
                self.docker
                    .upload_to_container(name, Some(options), bollard::body_full(archive.into()))
                    .await
                    .map_err(failure(Verb::CopyIn, name))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_start_time_is_read_after_a_name_with_spaces_and_parentheses() {
        let stat =
            "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(start_time_in_stat(stat), Some(987_654));
        assert_eq!(start_time_in_stat("4242 (cut"), None);
    }

    #[test]
    fn this_process_keeps_its_start_time_and_a_missing_one_has_none() {
        let me = i64::from(std::process::id());
        let first = process_start_time(me).expect("this process has a /proc entry");
        assert_eq!(process_start_time(me), Some(first));
        assert_eq!(process_start_time(i64::from(i32::MAX)), None);
    }
}
