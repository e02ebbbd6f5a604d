//! The Docker backend and the host guard against the real engine.
//!
//! These tests need a Docker engine on the local socket and root (for the
//! host guard's iptables rules and the controller's `nsenter`); without
//! them they fail, they never skip. Every object they create carries the
//! label `enshu.session=it<pid><letter>` and is removed by label when a test
//! ends, passed or failed. Probes go only to this machine's own addresses
//! and to the tests' own internal networks.
//!
//! The container image is `enshu-test/base:latest`: `enshu/base:latest`
//! (built by `infra/images.sh`) with `sleep infinity` as its command, made
//! here on first use.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use bollard::query_parameters::{
    CommitContainerOptions, CreateContainerOptions, RemoveContainerOptions,
};
use enshu_backend::{Backend, BackendError, ContainerSpec, ExecPrivilege, NetworkSpec};
use enshu_docker::convert::{self, INHIBIT_IPV4_OPTION};
use enshu_docker::host::guard::{FORWARD_GUARD_CHAIN, HOST_GUARD_CHAIN};
use enshu_docker::{DockerBackend, HostGuard};
use enshu_scenario::plan::{Plan, TeamPlan, labels};
use enshu_scenario::{NoFiles, PlanOptions};

const TEST_IMAGE: &str = "enshu-test/base:latest";

/// Held by tests that depend on, or change, the host guard.
static HOST_GUARD_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const SOURCE_IMAGE: &str = "enshu/base:latest";

async fn connect() -> DockerBackend {
    DockerBackend::connect()
        .await
        .expect("the docker engine must be reachable on the local socket for these tests")
}

async fn raw_docker() -> Docker {
    Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

/// Make `enshu-test/base:latest` from `enshu/base:latest` unless it exists.
async fn ensure_test_image() {
    let docker = raw_docker().await;
    if docker.inspect_image(TEST_IMAGE).await.is_ok() {
        return;
    }
    docker.inspect_image(SOURCE_IMAGE).await.unwrap_or_else(|error| {
        panic!("{SOURCE_IMAGE} is missing ({error}): build the images with `bash infra/images.sh` first")
    });
    let name = format!(
        "enshu-test-image-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )
    .replace(
        |character: char| !character.is_ascii_alphanumeric() && character != '-',
        "",
    );
    let body = ContainerCreateBody {
        image: Some(SOURCE_IMAGE.to_string()),
        entrypoint: Some(vec!["sleep".to_string()]),
        cmd: Some(vec!["infinity".to_string()]),
        healthcheck: Some(HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            body,
        )
        .await
        .unwrap();
    let options = CommitContainerOptions {
        container: Some(name.clone()),
        repo: Some("enshu-test/base".to_string()),
        tag: Some("latest".to_string()),
        comment: Some("enshu-docker integration tests".to_string()),
        ..Default::default()
    };
    let committed = docker
        .commit_container(options, bollard::models::ContainerConfig::default())
        .await;
    let _ = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await;
    committed.unwrap();
}

/// Plan `scenarios/quickstart.yaml` for a test session from its own pool.
fn plan(session: &str, pool: &str, teams: u32) -> Plan {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.yaml"
    );
    let bytes = std::fs::read(path).unwrap();
    let loaded = enshu_scenario::load("quickstart.yaml", &bytes)
        .unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"));
    let options = PlanOptions {
        session: session.to_string(),
        teams,
        pool: Some(pool.parse().unwrap()),
        files: &NoFiles,
    };
    let mut plan = enshu_scenario::plan(&loaded, &options).unwrap();
    for team in &mut plan.teams {
        for container in &mut team.containers {
            container.image = TEST_IMAGE.to_string();
            // The analyst keeps a writable root here so both copy paths
            // (archive into the root, stdin into a tmpfs) are exercised.
            if container.hostname == "analyst" {
                container.hardening.read_only = false;
            }
        }
    }
    plan
}

fn session_name(letter: char) -> String {
    format!("it{}{letter}", std::process::id())
}

/// Removes everything labelled with the session, on drop: also when the
/// test panicked, on a runtime of its own.
struct SessionCleanup {
    session: String,
}

impl SessionCleanup {
    async fn new(session: &str) -> SessionCleanup {
        remove_session(session).await;
        SessionCleanup {
            session: session.to_string(),
        }
    }
}

async fn remove_session(session: &str) {
    let backend = connect().await;
    let observed = backend.list(&[(labels::SESSION, session)]).await.unwrap();
    for container in &observed.containers {
        let _ = backend.remove_container(&container.name).await;
    }
    for network in &observed.networks {
        let _ = backend.remove_network(&network.name).await;
    }
    for volume in &observed.volumes {
        let _ = backend.remove_volume(volume).await;
    }
}

impl Drop for SessionCleanup {
    fn drop(&mut self) {
        let session = self.session.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(remove_session(&session))
        })
        .join()
        .unwrap();
    }
}

fn command(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

fn shell(script: &str) -> Vec<String> {
    command(&["bash", "-c", script])
}

fn container<'a>(team: &'a TeamPlan, host: &str) -> &'a ContainerSpec {
    team.containers
        .iter()
        .find(|container| container.hostname == host)
        .unwrap()
}

fn network<'a>(team: &'a TeamPlan, segment: &str) -> &'a NetworkSpec {
    team.networks
        .iter()
        .find(|network| network.segment == segment)
        .unwrap()
}

/// Exit code of a TCP connection attempt from inside `name` (0: connected).
async fn probe(backend: &DockerBackend, name: &str, address: Ipv4Addr, port: u16) -> i64 {
    let script = format!("timeout 2 bash -c '</dev/tcp/{address}/{port}'");
    backend
        .exec(name, &shell(&script), ExecPrivilege::Container)
        .await
        .unwrap()
        .exit_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_range_is_created_used_and_removed() {
    let _guard_lock = HOST_GUARD_LOCK.lock().await;
    ensure_test_image().await;
    let backend = connect().await;
    // The negotiated version is the engine's own when the engine is older than bollard.
    let engine_api = raw_docker()
        .await
        .version()
        .await
        .unwrap()
        .api_version
        .unwrap();
    let engine_minor: u32 = engine_api.trim_start_matches("1.").parse().unwrap();
    eprintln!(
        "engine {} speaks API {engine_api}; the backend uses {}",
        backend.engine_version().await.unwrap(),
        backend.api_version()
    );
    if engine_minor < 53 {
        assert_eq!(backend.api_version(), engine_api);
    }
    // The guard's forward chain is what lets the router forward between segments.
    HostGuard::new().ensure().await.unwrap();
    let session = session_name('a');
    let _cleanup = SessionCleanup::new(&session).await;
    let plan = plan(&session, "10.246.0.0/16", 1);
    let team = &plan.teams[0];

    let started = Instant::now();
    for network in &team.networks {
        backend.ensure_network(network).await.unwrap();
    }
    eprintln!(
        "created {} networks in {:?}",
        team.networks.len(),
        started.elapsed()
    );
    let started = Instant::now();
    for network in &team.networks {
        backend.ensure_network(network).await.unwrap();
    }
    eprintln!(
        "ensured {} existing networks in {:?}",
        team.networks.len(),
        started.elapsed()
    );

    for container in &team.containers {
        backend.create_container(container).await.unwrap();
    }
    let router = container(team, "router");
    let error = backend.create_container(router).await.unwrap_err();
    assert!(
        matches!(
            error,
            BackendError::Conflict {
                object: "container",
                ..
            }
        ),
        "{error:?}"
    );
    let mut missing = container(team, "pc01").clone();
    missing.name = format!("enshu-{session}-missing-image");
    missing.image = "enshu-test/does-not-exist:latest".to_string();
    missing.networks.clear();
    let error = backend.create_container(&missing).await.unwrap_err();
    assert!(
        matches!(error, BackendError::MissingImage { ref image } if image == "enshu-test/does-not-exist:latest"),
        "{error:?}"
    );
    for container in &team.containers {
        backend.start_container(&container.name).await.unwrap();
    }
    backend
        .start_container(&router.name)
        .await
        .expect("starting a running container is not an error");

    let observed = backend
        .list(&[(labels::SESSION, session.as_str()), (labels::TEAM, "t01")])
        .await
        .unwrap();
    let mut names: Vec<&str> = observed
        .containers
        .iter()
        .map(|container| container.name.as_str())
        .collect();
    names.sort();
    let mut expected: Vec<&str> = team
        .containers
        .iter()
        .map(|container| container.name.as_str())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(
        observed
            .containers
            .iter()
            .all(|container| container.running && container.image == TEST_IMAGE),
        "every container running {TEST_IMAGE}: {:#?}",
        observed.containers
    );
    assert_eq!(observed.networks.len(), 3);
    assert_eq!(
        observed.networks[0].labels.get(labels::SESSION),
        Some(&session)
    );

    // The router is on all three segments with its fixed addresses.
    let addresses = backend
        .exec(
            &router.name,
            &command(&["ip", "-4", "-o", "addr"]),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert_eq!(addresses.exit_code, 0);
    for attachment in &router.networks {
        assert!(
            addresses
                .stdout_text()
                .contains(&format!("inet {}/24", attachment.address)),
            "{}",
            addresses.stdout_text()
        );
    }
    // Output streams and exit codes come back apart.
    let output = backend
        .exec(
            &router.name,
            &shell("echo out; echo err >&2; exit 3"),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            output.exit_code,
            output.stdout_text().as_str(),
            output.stderr.as_slice()
        ),
        (3, "out\n", &b"err\n"[..])
    );
    let error = backend
        .exec(
            "enshu-no-such-container",
            &command(&["true"]),
            ExecPrivilege::Container,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            BackendError::NotFound {
                object: "container",
                ..
            }
        ),
        "{error:?}"
    );

    // Hosts cannot change their own route; the controller can.
    let pc01 = container(team, "pc01");
    let www = container(team, "www");
    for host in [pc01, www] {
        let route = command(&[
            "ip",
            "route",
            "replace",
            "default",
            "via",
            &host.default_route.unwrap().to_string(),
        ]);
        let refused = backend
            .exec(&host.name, &route, ExecPrivilege::Container)
            .await
            .unwrap();
        assert_ne!(
            refused.exit_code, 0,
            "cap_drop ALL must forbid changing routes"
        );
        let done = backend
            .exec(&host.name, &route, ExecPrivilege::Controller)
            .await
            .unwrap();
        assert_eq!(
            done.exit_code,
            0,
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let routes = backend
            .exec(
                &host.name,
                &command(&["ip", "route"]),
                ExecPrivilege::Container,
            )
            .await
            .unwrap();
        assert!(
            routes
                .stdout_text()
                .contains(&format!("default via {}", host.default_route.unwrap())),
            "{}",
            routes.stdout_text()
        );
    }
    // … and then office reaches the dmz through the router: "refused" by www's closed port means it got there.
    let www_address = www.primary_address().unwrap();
    let reached = backend
        .exec(
            &pc01.name,
            &shell(&format!(
                "timeout 2 bash -c '</dev/tcp/{www_address}/81' 2>&1; true"
            )),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert!(
        reached.stdout_text().contains("Connection refused"),
        "{}",
        reached.stdout_text()
    );

    // Files: an archive into the root filesystem (missing directories made),
    // stdin into tmpfs mounts (where an archive would land unseen).
    let analyst = container(team, "analyst");
    backend
        .copy_in(
            &analyst.name,
            "/opt/enshu-it/sub/hello.txt",
            b"hello archive\n",
            0o640,
        )
        .await
        .unwrap();
    let read = backend
        .exec(&analyst.name, &shell("cat /opt/enshu-it/sub/hello.txt; stat -c '%a %U' /opt/enshu-it/sub/hello.txt /opt/enshu-it"), ExecPrivilege::Container)
        .await
        .unwrap();
    assert_eq!(read.stdout_text(), "hello archive\n640 root\n755 root\n");
    backend
        .copy_in(&analyst.name, "/tmp/a/b/note.txt", b"into tmpfs\n", 0o600)
        .await
        .unwrap();
    let read = backend
        .exec(
            &analyst.name,
            &shell("cat /tmp/a/b/note.txt; stat -c '%a' /tmp/a/b/note.txt /tmp"),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert_eq!(read.stdout_text(), "into tmpfs\n600\n1777\n");
    backend
        .copy_in(
            &router.name,
            "/etc/enshu/rules.nft",
            team.firewall.nftables.as_bytes(),
            0o644,
        )
        .await
        .unwrap();
    let read = backend
        .exec(
            &router.name,
            &command(&["cat", "/etc/enshu/rules.nft"]),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert_eq!(read.stdout_text(), team.firewall.nftables);
    let error = backend
        .copy_in(&router.name, "/etc/enshu-not-tmpfs/x", b"x", 0o644)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("read-only"), "{error}");
    let error = backend
        .copy_in(&router.name, "relative/x", b"x", 0o644)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not absolute"), "{error}");

    // Stop, remove, and the session is gone.
    backend.stop_container(&www.name).await.unwrap();
    backend
        .stop_container(&www.name)
        .await
        .expect("stopping a stopped container is not an error");
    let observed = backend
        .list(&[(labels::SESSION, session.as_str()), (labels::HOST, "www")])
        .await
        .unwrap();
    assert_eq!(observed.containers.len(), 1);
    assert!(!observed.containers[0].running);
    for container in &team.containers {
        backend.remove_container(&container.name).await.unwrap();
    }
    let error = backend.remove_container(&router.name).await.unwrap_err();
    assert!(matches!(error, BackendError::NotFound { .. }), "{error:?}");
    for network in &team.networks {
        backend.remove_network(&network.name).await.unwrap();
    }
    let observed = backend
        .list(&[(labels::SESSION, session.as_str())])
        .await
        .unwrap();
    assert_eq!(observed, Default::default());
    HostGuard::new().remove_if_unused().await.unwrap();
}

/// This machine's own IPv4 addresses outside range bridges and loopback.
fn host_addresses() -> Vec<Ipv4Addr> {
    let output = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let interface = words.get(1)?;
            let address = words
                .iter()
                .position(|word| *word == "inet")
                .and_then(|index| words.get(index + 1))?;
            (!interface.starts_with("esh"))
                .then(|| address.split('/').next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// A TCP listener on all of the host's addresses that counts connections.
async fn canary() -> (u16, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, accepted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_is_unreachable_from_range_containers() {
    let _guard_lock = HOST_GUARD_LOCK.lock().await;
    ensure_test_image().await;
    let backend = connect().await;
    let session = session_name('b');
    let _cleanup = SessionCleanup::new(&session).await;
    let plan = plan(&session, "10.247.0.0/16", 1);
    let team = &plan.teams[0];
    let guard = HostGuard::new();
    let guard_was_active = guard.is_active().await.unwrap();
    guard.remove().await.unwrap();

    // A segment as Docker makes it by default (the host owns its gateway
    // address), and one as Enshu makes it (no host address on the bridge).
    let stock_segment = network(team, "office");
    let mut request = convert::network_create_request(stock_segment);
    request
        .options
        .as_mut()
        .unwrap()
        .remove(INHIBIT_IPV4_OPTION);
    raw_docker().await.create_network(request).await.unwrap();
    let enshu_segment = network(team, "dmz");
    backend.ensure_network(enshu_segment).await.unwrap();
    let on_stock = container(team, "analyst");
    let on_enshu = container(team, "www");
    for spec in [on_stock, on_enshu] {
        backend.create_container(spec).await.unwrap();
        backend.start_container(&spec.name).await.unwrap();
    }

    let (port, accepted, listener) = canary().await;
    let addresses = host_addresses();
    assert!(!addresses.is_empty());
    eprintln!("host addresses {addresses:?}, canary port {port}");

    // Without the guard: the stock segment reaches the host on its gateway
    // and on every other host address; Enshu's segment reaches none.
    let mut targets = vec![stock_segment.gateway];
    targets.extend(&addresses);
    for address in &targets {
        let code = probe(&backend, &on_stock.name, *address, port).await;
        eprintln!("unguarded, stock segment → {address}:{port}: exit {code}");
        assert_eq!(code, 0, "the stock segment reaches the host at {address}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), targets.len());
    let mut targets = vec![enshu_segment.gateway];
    targets.extend(&addresses);
    for address in &targets {
        let code = probe(&backend, &on_enshu.name, *address, port).await;
        eprintln!("unguarded, enshu segment → {address}:{port}: exit {code}");
        assert_ne!(
            code, 0,
            "a bridge without a host address keeps {address} out of reach"
        );
    }
    let bridge_addresses = std::process::Command::new("ip")
        .args(["-4", "addr", "show", "dev", &enshu_segment.bridge])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&bridge_addresses.stdout).contains("inet "),
        "the bridge has no IPv4 address"
    );

    // With the guard, nothing of the host is reachable from either.
    let report = guard.ensure().await.unwrap();
    eprintln!("guard: {report:?}");
    assert!(
        report
            .versions
            .iter()
            .any(|version| version.starts_with("iptables"))
    );
    assert!(guard.is_active().await.unwrap());
    assert!(
        guard.ensure().await.unwrap().commands.is_empty(),
        "ensure is idempotent"
    );
    // While a range bridge is on the host, `keep` (the engine's guard
    // round) puts back a guard taken off, and changes nothing once it is in
    // place. (With no range bridge it leaves the guard off: not testable
    // here, other tests' ranges come and go beside this one.)
    guard.remove().await.unwrap();
    assert!(!guard.is_active().await.unwrap());
    assert!(
        !guard.keep().await.unwrap().is_empty(),
        "keep did not repair the guard while a range bridge exists"
    );
    assert!(guard.is_active().await.unwrap());
    assert!(guard.keep().await.unwrap().is_empty());
    let before = accepted.load(Ordering::SeqCst);
    for (spec, gateway) in [
        (on_stock, stock_segment.gateway),
        (on_enshu, enshu_segment.gateway),
    ] {
        let mut targets = vec![gateway];
        targets.extend(&addresses);
        for address in targets {
            let code = probe(&backend, &spec.name, address, port).await;
            eprintln!("guarded, {} → {address}:{port}: exit {code}", spec.hostname);
            assert_ne!(
                code, 0,
                "{} reaches the host at {address} despite the guard",
                spec.hostname
            );
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        before,
        "the canary saw no connection"
    );
    // Containers on one segment still reach each other.
    let mut neighbour = container(team, "pc01").clone();
    neighbour.networks[0].address = Ipv4Addr::new(10, 247, 10, 102);
    neighbour.name = format!("enshu-{session}-t01-neighbour");
    backend.create_container(&neighbour).await.unwrap();
    backend.start_container(&neighbour.name).await.unwrap();
    let reached = backend
        .exec(
            &on_stock.name,
            &shell("timeout 2 bash -c '</dev/tcp/10.247.10.102/81' 2>&1; true"),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert!(
        reached.stdout_text().contains("Connection refused"),
        "{}",
        reached.stdout_text()
    );
    let listing = std::process::Command::new("iptables")
        .args(["-S", FORWARD_GUARD_CHAIN])
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&listing.stdout));
    let input = std::process::Command::new("iptables")
        .args(["-S", "INPUT"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&input.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .contains(HOST_GUARD_CHAIN)
    );
    listener.abort();

    remove_session(&session).await;
    if guard_was_active {
        guard.ensure().await.unwrap();
    } else {
        let removed = guard.remove_if_unused().await.unwrap();
        eprintln!("guard removed after the test: {removed}");
    }
}

/// Create (not start) `enshu-<session>-<suffix>` from the test image, with
/// no network, labelled with the session so its cleanup removes it.
async fn networkless_container(docker: &Docker, session: &str, suffix: &str) -> String {
    let name = format!("enshu-{session}-{suffix}");
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            ContainerCreateBody {
                image: Some(TEST_IMAGE.to_string()),
                labels: Some([(labels::SESSION.to_string(), session.to_string())].into()),
                host_config: Some(HostConfig {
                    network_mode: Some("none".to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    name
}

/// With exec agents on, commands run through one long-lived `enshu-agent`
/// per container: same output, exit codes and stderr as an exec, many at
/// once, and a restarted container gets a new agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_agents_run_commands_like_exec_and_survive_a_restart() {
    ensure_test_image().await;
    let session = session_name('x');
    let _cleanup = SessionCleanup::new(&session).await;
    let docker = raw_docker().await;
    let name = networkless_container(&docker, &session, "agent").await;
    let backend = connect().await.with_exec_agents();
    backend.start_container(&name).await.unwrap();
    assert!(backend.keep_exec_ready(&name).await, "no agent started");

    let output = backend
        .exec(
            &name,
            &shell("echo out; echo err >&2; exit 3"),
            ExecPrivilege::Container,
        )
        .await
        .unwrap();
    assert_eq!(
        (output.exit_code, output.stdout_text().as_str()),
        (3, "out\n")
    );
    assert_eq!(output.stderr, b"err\n");
    let processes = backend
        .exec(
            &name,
            &command(&["ps", "-eo", "args"]),
            ExecPrivilege::Container,
        )
        .await
        .unwrap()
        .stdout_text();
    assert!(
        processes
            .lines()
            .filter(|line| line.starts_with("enshu-agent"))
            .count()
            == 1,
        "{processes}"
    );

    // Many at once, each answered with its own output.
    let answers = futures_util::future::join_all((0..20).map(|index| {
        let backend = &backend;
        let name = &name;
        async move {
            backend
                .exec(
                    name,
                    &shell(&format!("sleep 0.2; echo {index}")),
                    ExecPrivilege::Container,
                )
                .await
                .unwrap()
                .stdout_text()
        }
    }))
    .await;
    for (index, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &format!("{index}\n"));
    }

    // A restart ends the agent; the next commands get a new one. A request
    // caught by the restart itself may fail (it may have run), never hang.
    docker
        .restart_container(
            &name,
            Some(bollard::query_parameters::RestartContainerOptions {
                t: Some(0),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let mut answered = None;
    for _ in 0..3 {
        match backend
            .exec(
                &name,
                &command(&["echo", "again"]),
                ExecPrivilege::Container,
            )
            .await
        {
            Ok(output) => {
                answered = Some(output.stdout_text());
                break;
            }
            Err(error) => assert!(error.to_string().contains("agent"), "{error}"),
        }
    }
    assert_eq!(answered.as_deref(), Some("again\n"));
}

/// Run `script` as root in `name` by a plain `docker exec` of its own, as a
/// team with root in the container would (not through the engine's agent).
async fn as_the_team(name: &str, script: &str) -> std::process::Output {
    tokio::process::Command::new("docker")
        .args(["exec", name, "timeout", "60", "bash", "-c", script])
        .output()
        .await
        .expect("the docker CLI runs")
}

/// What a team with root in a container can do to the engine's exec agent
/// there: flood its output with a line that never ends, forge an answer,
/// or stop it. Each drops that agent (the reason kept for the operator),
/// the request waiting on it fails with the reason, never hangs, and the
/// container's later commands run as plain execs. A container named as one
/// the team may log in to never gets an agent at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_with_root_cannot_flood_forge_or_stall_an_exec_agent() {
    ensure_test_image().await;
    let session = session_name('y');
    let _cleanup = SessionCleanup::new(&session).await;
    let name = networkless_container(&raw_docker().await, &session, "hostile").await;
    connect().await.start_container(&name).await.unwrap();
    let agent_pid = "pgrep -o -f '^enshu-agent'";
    let flood = format!("head -c 40000000 /dev/zero | tr '\\0' x > /proc/$({agent_pid})/fd/1");
    // (attack, script, whether a request waits on the agent meanwhile,
    // the reasons the drop may give)
    let attacks = [
        // 40 MB without a newline into the agent's stdout while a request
        // waits: the line is too long, or, when the agent's answer lands
        // inside the flood, the line it ends is no answer.
        (
            "flood",
            flood,
            true,
            &["longer than", "that is no answer"][..],
        ),
        (
            "forge",
            format!(
                "printf '%s\\n' '{{\"id\": 999999, \"code\": 0, \"out\": \"\", \"err\": \"\"}}' > /proc/$({agent_pid})/fd/1"
            ),
            true,
            &["which nobody asked"][..],
        ),
        (
            "stall",
            format!("kill -STOP $({agent_pid})"),
            true,
            &["no answer within 8 s"][..],
        ),
    ];
    for (attack, script, wait, reasons) in attacks {
        let backend = connect()
            .await
            .with_exec_agents()
            .with_exec_timeout(std::time::Duration::from_secs(8));
        assert!(
            backend.keep_exec_ready(&name).await,
            "{attack}: no agent started"
        );
        // A request waiting on the agent while the team attacks it.
        let waiting = wait.then(|| {
            let backend = backend.clone();
            let name = name.clone();
            tokio::spawn(async move {
                backend
                    .exec(
                        &name,
                        &shell("sleep 4; echo late"),
                        ExecPrivilege::Container,
                    )
                    .await
            })
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let started = Instant::now();
        let done = as_the_team(&name, &script).await;
        eprintln!(
            "{attack}: attack done {:?} after {:?}",
            done.status,
            started.elapsed()
        );
        assert!(
            done.status.success(),
            "{attack}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        let outcome = match waiting {
            Some(waiting) => Some(
                tokio::time::timeout(std::time::Duration::from_secs(15), waiting)
                    .await
                    .unwrap_or_else(|_| panic!("{attack}: the waiting request hung"))
                    .unwrap(),
            ),
            None => {
                // Nothing waits: the reader notices the flood by itself.
                let deadline = Instant::now() + std::time::Duration::from_secs(15);
                while backend.dropped_agents().is_empty() && Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                None
            }
        };
        let dropped = backend.dropped_agents();
        assert_eq!(
            dropped.len(),
            1,
            "{attack}: {dropped:?} (request: {outcome:?})"
        );
        let reason = reasons
            .iter()
            .find(|reason| dropped[0].1.contains(**reason))
            .unwrap_or_else(|| panic!("{attack}: {dropped:?}"));
        if let Some(Err(error)) = &outcome {
            assert!(error.to_string().contains(reason), "{attack}: {error}");
        }
        // Later commands run as plain execs and answer truly.
        let output = backend
            .exec(
                &name,
                &command(&["echo", "still", "here"]),
                ExecPrivilege::Container,
            )
            .await
            .unwrap();
        assert_eq!(output.stdout_text(), "still here\n", "{attack}");
        eprintln!(
            "{attack}: agent dropped after {:?}: {}",
            started.elapsed(),
            dropped[0].1
        );
        as_the_team(
            &name,
            "pkill -CONT -f '^enshu-agent'; pkill -KILL -f '^enshu-agent'; true",
        )
        .await;
    }

    let backend = connect().await.with_exec_agents_except([name.clone()]);
    assert!(
        !backend.keep_exec_ready(&name).await,
        "an agent started where the team logs in"
    );
    let processes = backend
        .exec(
            &name,
            &command(&["ps", "-eo", "args"]),
            ExecPrivilege::Container,
        )
        .await
        .unwrap()
        .stdout_text();
    assert!(!processes.contains("enshu-agent"), "{processes}");
}
