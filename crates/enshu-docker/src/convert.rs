//! Neutral specs → Docker Engine API request bodies, as pure functions.
//!
//! Every security-relevant choice the backend makes about a container or a
//! network is made here, in one place that does no I/O, so that it can be
//! read and unit-tested without a Docker daemon: no published ports, no
//! mounts of the host (the Docker socket least of all), no privileged mode,
//! no restart, bridges that are internal and have no address on the host,
//! and a resolver that forwards nothing out of the range.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, HostConfigLogConfig,
    Ipam, IpamConfig, Mount, MountType, MountVolumeOptions, NetworkConnectRequest,
    NetworkCreateRequest, NetworkingConfig, RestartPolicy, RestartPolicyNameEnum,
};
use enshu_backend::{ContainerSpec, NetworkSpec};

/// How often Docker runs an image's health check in a range.
pub const HEALTHCHECK_INTERVAL_NANOSECONDS: i64 = 60 * 1_000_000_000;

/// Docker's driver option naming the host-side bridge interface.
pub const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";
/// Docker's driver option for source NAT of traffic leaving the bridge.
pub const MASQUERADE_OPTION: &str = "com.docker.network.bridge.enable_ip_masquerade";
/// Docker's driver option that leaves the bridge without an IPv4 address.
///
/// Without it the host owns the gateway address on every range segment, and
/// any container can reach every service the host listens on through it
/// (and, by the host's routing, through all of the host's other addresses).
/// With it the host is not on the segment at layer 3 at all; the gateway
/// address stays reserved in Docker's IPAM and is simply never answered.
/// Supported by every Docker version Enshu targets (20.10 onwards).
pub const INHIBIT_IPV4_OPTION: &str = "com.docker.network.bridge.inhibit_ipv4";

/// The upstream of a container's embedded resolver (127.0.0.11): the
/// container's own address, where nothing the range needs answers DNS.
///
/// Docker's embedded resolver answers the names of the containers on the
/// network itself and forwards every other name to its upstreams, by
/// default the host's resolvers: measured on Docker 20.10 with tcpdump on
/// the host, a lookup of `probe.enshu.invalid` in a container of an
/// internal network left its veth for the host's nameserver (and a host
/// whose resolver is on loopback gets it from the host's own namespace,
/// CVE-2024-29018). With the container's own address as the only upstream
/// the forward goes from the container's namespace to itself: nothing is
/// seen on any host interface, the lookup fails as it did (no answer, the
/// client's own timeout), and container names still resolve. A host that
/// runs its own DNS (the `dns` and `directory` roles) asks itself, which
/// answers only the range's records (no upstream). No upstream is on
/// loopback, so none is ever contacted from the host's namespace.
pub fn resolver_upstreams(spec: &ContainerSpec) -> Option<Vec<String>> {
    spec.networks
        .first()
        .map(|attachment| vec![attachment.address.to_string()])
}

/// Seconds Docker waits after the stop signal before it kills a container.
pub const STOP_TIMEOUT_SECONDS: i64 = 2;
/// Size limit of every tmpfs mount (tmpfs pages also count against the
/// container's memory limit).
pub const TMPFS_SIZE: &str = "64m";
/// Rotation of the container log, so a noisy service cannot fill the disk.
pub const LOG_MAX_SIZE: &str = "10m";
pub const LOG_MAX_FILES: &str = "2";

/// Directories every user may write to (sticky bit) when mounted as tmpfs.
const WORLD_WRITABLE_DIRECTORIES: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];

/// A spec the backend refuses to turn into a container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecRefused {
    #[error("container {name:?} asks for privileged mode, which range containers never get")]
    Privileged { name: String },
    #[error("container {name:?} has a tmpfs path {path:?} that is not absolute")]
    RelativeTmpfs { name: String, path: String },
}

/// The network create request for one range segment.
pub fn network_create_request(spec: &NetworkSpec) -> NetworkCreateRequest {
    let options: HashMap<String, String> = [
        (BRIDGE_NAME_OPTION, spec.bridge.as_str()),
        (MASQUERADE_OPTION, "false"),
        (INHIBIT_IPV4_OPTION, "true"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some("bridge".to_string()),
        internal: Some(spec.internal),
        attachable: Some(false),
        enable_ipv6: Some(false),
        ipam: Some(Ipam {
            driver: Some("default".to_string()),
            config: Some(vec![IpamConfig {
                subnet: Some(spec.subnet.to_string()),
                gateway: Some(spec.gateway.to_string()),
                ..Default::default()
            }]),
            options: None,
        }),
        options: Some(options),
        labels: Some(
            spec.labels
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// tmpfs mount options for one path.
pub fn tmpfs_options(path: &str) -> String {
    let mode = if WORLD_WRITABLE_DIRECTORIES.contains(&path.trim_end_matches('/')) {
        "1777"
    } else {
        "755"
    };
    format!("rw,nosuid,nodev,mode={mode},size={TMPFS_SIZE}")
}

fn endpoint_with_address(address: std::net::Ipv4Addr) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(address.to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The container create body: the container joins its first network at
/// creation; [`network_connect_requests`] attach the others before start
/// (Docker before API 1.44 accepts only one network at creation).
/// The spec's named volumes as mounts; Docker creates each on first use
/// with the session's labels (so `down` finds and removes it), and keeps it
/// when the container is removed (a team reset).
fn volume_mounts(spec: &ContainerSpec) -> Option<Vec<Mount>> {
    (!spec.volumes.is_empty()).then(|| {
        spec.volumes
            .iter()
            .map(|volume| Mount {
                target: Some(volume.path.clone()),
                source: Some(volume.name.clone()),
                typ: Some(MountType::VOLUME),
                read_only: Some(false),
                volume_options: Some(MountVolumeOptions {
                    labels: Some(
                        volume
                            .labels
                            .iter()
                            .map(|(key, value)| (key.clone(), value.clone()))
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    })
}

pub fn container_create_body(spec: &ContainerSpec) -> Result<ContainerCreateBody, SpecRefused> {
    let hardening = &spec.hardening;
    if hardening.privileged {
        return Err(SpecRefused::Privileged {
            name: spec.name.clone(),
        });
    }
    let mut tmpfs = HashMap::new();
    for path in &hardening.tmpfs {
        if !path.starts_with('/') {
            return Err(SpecRefused::RelativeTmpfs {
                name: spec.name.clone(),
                path: path.clone(),
            });
        }
        tmpfs.insert(path.clone(), tmpfs_options(path));
    }
    let security_opt = hardening
        .no_new_privileges
        .then(|| vec!["no-new-privileges:true".to_string()]);
    let first_network = spec.networks.first();
    let memory = i64::try_from(hardening.memory_bytes).unwrap_or(i64::MAX);
    let host_config = HostConfig {
        privileged: Some(false),
        cap_drop: Some(hardening.cap_drop.clone()),
        cap_add: Some(hardening.cap_add.clone()),
        security_opt,
        readonly_rootfs: Some(hardening.read_only),
        tmpfs: Some(tmpfs),
        memory: Some(memory),
        // Equal to the memory limit: no swap on top of it.
        memory_swap: Some(memory),
        nano_cpus: Some(i64::try_from(hardening.nano_cpus).unwrap_or(i64::MAX)),
        pids_limit: Some(i64::try_from(hardening.pids_limit).unwrap_or(i64::MAX)),
        sysctls: Some(
            hardening
                .sysctls
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        dns: resolver_upstreams(spec),
        network_mode: Some(first_network.map_or_else(
            || "none".to_string(),
            |attachment| attachment.network.clone(),
        )),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        // docker-init (tini) as PID 1: signals reach the services, zombies are reaped.
        init: Some(true),
        ipc_mode: Some("private".to_string()),
        publish_all_ports: Some(false),
        port_bindings: None,
        binds: None,
        mounts: volume_mounts(spec),
        volumes_from: None,
        devices: None,
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_string()),
            config: Some(
                [("max-size", LOG_MAX_SIZE), ("max-file", LOG_MAX_FILES)]
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value.to_string()))
                    .collect(),
            ),
        }),
        ..Default::default()
    };
    let networking_config = first_network.map(|attachment| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            attachment.network.clone(),
            endpoint_with_address(attachment.address),
        )])),
    });
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: Some(spec.hostname.clone()),
        env: Some(
            spec.env
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
        ),
        labels: Some(
            spec.labels
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        stop_timeout: Some(STOP_TIMEOUT_SECONDS),
        // The images' own health checks every 10 s cost a core at 200
        // containers; Enshu proves health with its own probes, so Docker's
        // runs only once a minute (the image's test is kept).
        healthcheck: Some(bollard::models::HealthConfig {
            interval: Some(HEALTHCHECK_INTERVAL_NANOSECONDS),
            ..Default::default()
        }),
        exposed_ports: None,
        volumes: None,
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    })
}

/// Connect requests for every network after the first, each with the
/// container's fixed address there; they are sent before the container
/// starts so its services see all interfaces from the beginning.
pub fn network_connect_requests(spec: &ContainerSpec) -> Vec<(String, NetworkConnectRequest)> {
    spec.networks
        .iter()
        .skip(1)
        .map(|attachment| {
            (
                attachment.network.clone(),
                NetworkConnectRequest {
                    container: spec.name.clone(),
                    endpoint_config: Some(endpoint_with_address(attachment.address)),
                },
            )
        })
        .collect()
}

/// Docker's `filters` for "carries all of these labels" (Docker ANDs them).
pub fn label_filters(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let values: Vec<String> = labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    HashMap::from([("label".to_string(), values)])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    use enshu_scenario::net::Ipv4Net;
    use enshu_scenario::plan::Attachment;
    use enshu_scenario::roles;

    use super::*;

    fn network_spec() -> NetworkSpec {
        NetworkSpec {
            name: "enshu-s1-t01-office".to_string(),
            segment: "office".to_string(),
            subnet: Ipv4Net {
                address: Ipv4Addr::new(10, 64, 10, 0),
                prefix: 24,
            },
            gateway: Ipv4Addr::new(10, 64, 10, 1),
            router: Ipv4Addr::new(10, 64, 10, 254),
            bridge: "esh0123456789a".to_string(),
            internal: true,
            team_range: true,
            labels: BTreeMap::from([("enshu.session".to_string(), "s1".to_string())]),
        }
    }

    fn router_spec() -> ContainerSpec {
        ContainerSpec {
            name: "enshu-s1-t01-router".to_string(),
            hostname: "router".to_string(),
            reference: "router".to_string(),
            role: roles::ContainerRole::Router,
            image: "enshu/router:latest".to_string(),
            networks: vec![
                Attachment {
                    network: "enshu-s1-t01-office".to_string(),
                    address: Ipv4Addr::new(10, 64, 10, 254),
                },
                Attachment {
                    network: "enshu-s1-t01-dmz".to_string(),
                    address: Ipv4Addr::new(10, 64, 20, 254),
                },
                Attachment {
                    network: "enshu-s1-t01-internet".to_string(),
                    address: Ipv4Addr::new(10, 64, 100, 254),
                },
            ],
            default_route: None,
            login: false,
            env: BTreeMap::from([("ENSHU_TEAM".to_string(), "t01".to_string())]),
            labels: BTreeMap::from([("enshu.host".to_string(), "router".to_string())]),
            hardening: roles::hardening_for_router(),
            volumes: Vec::new(),
        }
    }

    #[test]
    fn network_is_an_internal_bridge_without_host_address_or_nat() {
        let request = network_create_request(&network_spec());
        assert_eq!(request.name, "enshu-s1-t01-office");
        assert_eq!(request.driver.as_deref(), Some("bridge"));
        assert_eq!(request.internal, Some(true));
        assert_eq!(request.attachable, Some(false));
        assert_eq!(request.enable_ipv6, Some(false));
        let ipam = request.ipam.unwrap().config.unwrap();
        assert_eq!(ipam.len(), 1);
        assert_eq!(ipam[0].subnet.as_deref(), Some("10.64.10.0/24"));
        assert_eq!(ipam[0].gateway.as_deref(), Some("10.64.10.1"));
        let options = request.options.unwrap();
        assert_eq!(options[BRIDGE_NAME_OPTION], "esh0123456789a");
        assert_eq!(options[MASQUERADE_OPTION], "false");
        assert_eq!(options[INHIBIT_IPV4_OPTION], "true");
        assert_eq!(request.labels.unwrap()["enshu.session"], "s1");
    }

    #[test]
    fn container_body_carries_identity_and_hardening() {
        let spec = router_spec();
        let body = container_create_body(&spec).unwrap();
        assert_eq!(body.image.as_deref(), Some("enshu/router:latest"));
        assert_eq!(body.hostname.as_deref(), Some("router"));
        assert_eq!(body.env, Some(vec!["ENSHU_TEAM=t01".to_string()]));
        assert_eq!(body.labels.as_ref().unwrap()["enshu.host"], "router");
        assert_eq!(body.stop_timeout, Some(2));
        assert_eq!(body.cmd, None, "the image's own command runs");
        let host = body.host_config.unwrap();
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(host.cap_add, Some(spec.hardening.cap_add.clone()));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.memory, Some(128 * 1024 * 1024));
        assert_eq!(host.memory_swap, host.memory);
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.pids_limit, Some(256));
        // The embedded resolver forwards to the container itself, never
        // to the host's resolvers.
        assert_eq!(host.dns, Some(vec![spec.networks[0].address.to_string()]));
        let sysctls = host.sysctls.unwrap();
        assert_eq!(sysctls["net.ipv4.ip_forward"], "1");
        // The flow records count each connection's bytes.
        assert_eq!(sysctls["net.netfilter.nf_conntrack_acct"], "1");
        assert_eq!(host.init, Some(true));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::NO)
        );
        let tmpfs = host.tmpfs.unwrap();
        assert_eq!(tmpfs["/tmp"], "rw,nosuid,nodev,mode=1777,size=64m");
        assert_eq!(tmpfs["/run"], "rw,nosuid,nodev,mode=755,size=64m");
        assert_eq!(tmpfs.len(), spec.hardening.tmpfs.len());
    }

    #[test]
    fn container_joins_its_first_network_with_its_fixed_address() {
        let body = container_create_body(&router_spec()).unwrap();
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("enshu-s1-t01-office")
        );
        let endpoints = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints.len(),
            1,
            "older engines accept one network at creation"
        );
        let address = endpoints["enshu-s1-t01-office"]
            .ipam_config
            .as_ref()
            .unwrap()
            .ipv4_address
            .clone();
        assert_eq!(address.as_deref(), Some("10.64.10.254"));
    }

    #[test]
    fn further_networks_are_connected_with_their_fixed_addresses() {
        let requests = network_connect_requests(&router_spec());
        let summary: Vec<(String, String, String)> = requests
            .iter()
            .map(|(network, request)| {
                let address = request
                    .endpoint_config
                    .as_ref()
                    .unwrap()
                    .ipam_config
                    .as_ref()
                    .unwrap()
                    .ipv4_address
                    .clone()
                    .unwrap();
                (network.clone(), request.container.clone(), address)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "enshu-s1-t01-dmz".to_string(),
                    "enshu-s1-t01-router".to_string(),
                    "10.64.20.254".to_string()
                ),
                (
                    "enshu-s1-t01-internet".to_string(),
                    "enshu-s1-t01-router".to_string(),
                    "10.64.100.254".to_string()
                ),
            ]
        );
    }

    #[test]
    fn nothing_is_published_and_nothing_of_the_host_is_mounted() {
        let body = container_create_body(&router_spec()).unwrap();
        let json = serde_json::to_string(&body).unwrap();
        assert!(!json.contains("docker.sock"), "{json}");
        assert!(!json.contains("/var/run"), "{json}");
        assert_eq!(body.exposed_ports, None);
        assert_eq!(body.volumes, None);
        let host = body.host_config.unwrap();
        assert_eq!(host.binds, None);
        assert_eq!(host.mounts, None);
        assert_eq!(host.volumes_from, None);
        assert_eq!(host.devices, None);
        assert_eq!(host.port_bindings, None);
        assert_eq!(host.publish_all_ports, Some(false));
        assert_eq!(host.pid_mode, None);
        assert_eq!(host.userns_mode, None);
        assert_ne!(host.network_mode.as_deref(), Some("host"));
    }

    #[test]
    fn privileged_specs_are_refused() {
        let mut spec = router_spec();
        spec.hardening.privileged = true;
        assert_eq!(
            container_create_body(&spec).unwrap_err(),
            SpecRefused::Privileged {
                name: spec.name.clone()
            }
        );
    }

    #[test]
    fn a_container_without_networks_has_none() {
        let mut spec = router_spec();
        spec.networks.clear();
        let body = container_create_body(&spec).unwrap();
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("none")
        );
        assert_eq!(body.networking_config, None);
        assert!(network_connect_requests(&spec).is_empty());
    }

    #[test]
    fn label_filters_are_anded_key_value_pairs() {
        let filters = label_filters(&[("enshu.session", "s1"), ("enshu.team", "t01")]);
        assert_eq!(filters["label"], ["enshu.session=s1", "enshu.team=t01"]);
    }
}
