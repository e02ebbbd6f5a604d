//! The controller against the recording fake: ordering, idempotency, drift,
//! partial failure and teardown.

use enshu_backend::NetProbe;
use enshu_backend::fake::{Call, FakeBackend};
use enshu_backend::{Backend, ExecOutput};
use enshu_controller::verify::{Expect, Outside, ProbeKind, parse_probe_output, probes_for};

fn kind_word(kind: &ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Tcp => "tcp",
        ProbeKind::Udp => "udp",
        ProbeKind::Icmp => "icmp",
        ProbeKind::Dns(_) => "dns",
        ProbeKind::Ipv6 => "ipv6",
    }
}
use enshu_controller::{Step, down, up};
use enshu_scenario::NoFiles;
use enshu_scenario::plan::{Plan, PlanOptions};

fn quickstart(teams: u32) -> Plan {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.yaml"
    );
    let loaded = enshu_scenario::load("quickstart.yaml", &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "unit".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn quiet(_: enshu_controller::Progress) {}

#[tokio::test]
async fn up_creates_networks_before_containers_and_configures_every_host() {
    let backend = FakeBackend::new();
    let plan = quickstart(2);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    let calls = backend.calls();
    // Teams run side by side; within a team, its networks come first.
    for team in &plan.teams {
        let ours = |name: &str| name.contains(&format!("-{}-", team.name));
        let first_create = calls
            .iter()
            .position(|call| matches!(call, Call::Create(name) if ours(name)))
            .unwrap();
        let last_network = calls
            .iter()
            .rposition(|call| matches!(call, Call::EnsureNetwork(name) if ours(name)))
            .unwrap();
        assert!(
            last_network < first_create,
            "team {}'s networks must exist before its containers: {calls:#?}",
            team.name
        );
    }
    assert_eq!(backend.network_names().len(), 6);
    assert_eq!(backend.container_names().len(), 10);
    assert!(
        backend
            .container_names()
            .iter()
            .all(|name| backend.running(name))
    );
    // Every non-router host gets its default route through its router.
    let routes = calls
        .iter()
        .filter(|call| matches!(call, Call::Exec(_, command) if command.starts_with(&["ip".to_string(), "route".to_string()])))
        .count();
    assert_eq!(routes, 8);
    // Each router loads its rules.
    let rules = calls.iter().filter(|call| matches!(call, Call::Exec(name, command) if name.ends_with("-router") && command[2].contains("nft -f"))).count();
    assert_eq!(rules, 2);
    // Per container, create comes before start.
    for name in backend.container_names() {
        let create = calls
            .iter()
            .position(|call| *call == Call::Create(name.clone()))
            .unwrap();
        let start = calls
            .iter()
            .position(|call| *call == Call::Start(name.clone()))
            .unwrap();
        assert!(create < start, "{name}");
    }
}

#[tokio::test]
async fn up_twice_converges_without_duplicates() {
    let backend = FakeBackend::new();
    let plan = quickstart(2);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    backend.clear_calls();
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert!(
        report.steps.iter().all(|step| matches!(
            step,
            Step::ConfigureRoute { .. } | Step::ConfigureRouter { .. }
        )),
        "a second run only re-applies configuration: {:#?}",
        report.steps
    );
    assert!(
        !backend
            .calls()
            .iter()
            .any(|call| matches!(call, Call::Create(_) | Call::EnsureNetwork(_)))
    );
    assert_eq!(backend.container_names().len(), 10);
}

#[tokio::test]
async fn a_changed_spec_is_recreated_and_a_stopped_container_restarted() {
    let backend = FakeBackend::new();
    let mut plan = quickstart(1);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    let www = plan.teams[0]
        .containers
        .iter_mut()
        .find(|container| container.hostname == "www")
        .unwrap();
    www.hardening.memory_bytes *= 2;
    let www_name = www.name.clone();
    let pc_name = plan.teams[0]
        .containers
        .iter()
        .find(|container| container.hostname == "pc01")
        .unwrap()
        .name
        .clone();
    backend.stop_container(&pc_name).await.unwrap();
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert!(report.steps.iter().any(|step| matches!(step, Step::RemoveContainer { name, reason, .. } if *name == www_name && reason.starts_with("config drift"))));
    assert!(
        report
            .steps
            .iter()
            .any(|step| matches!(step, Step::CreateContainer { name, .. } if *name == www_name))
    );
    assert!(
        report
            .steps
            .iter()
            .any(|step| matches!(step, Step::StartContainer { name, .. } if *name == pc_name))
    );
    assert!(
        !report
            .steps
            .iter()
            .any(|step| matches!(step, Step::CreateContainer { name, .. } if *name == pc_name))
    );
    assert!(backend.running(&pc_name));
}

#[tokio::test]
async fn a_failure_names_team_and_host_and_a_rerun_converges() {
    let backend = FakeBackend::new();
    let plan = quickstart(2);
    let broken = plan.teams[1]
        .containers
        .iter()
        .find(|container| container.hostname == "www")
        .unwrap()
        .name
        .clone();
    backend.fail_create(&broken);
    let error = up(&backend, &plan, 4, &quiet).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("team t02 host www") && message.contains("injected failure"),
        "{message}"
    );
    // Everything else was still provisioned.
    assert_eq!(backend.container_names().len(), 9);
    backend.heal();
    up(&backend, &plan, 4, &quiet).await.unwrap();
    assert_eq!(backend.container_names().len(), 10);
}

#[tokio::test]
async fn a_container_a_killed_up_created_late_is_replaced_not_a_failure() {
    // `up` killed mid-create and run again at once: the engine finishes
    // the killed run's create after the new run's observe.
    let backend = FakeBackend::new();
    let plan = quickstart(2);
    let late = plan.teams[1].containers[0].name.clone();
    backend.late_create(&late);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    assert_eq!(backend.container_names().len(), 10);
    assert!(backend.calls().contains(&Call::Remove(late.clone())));
    assert!(backend.running(&late), "{late} runs, as the plan says");
    // Converged: a second run changes nothing.
    backend.clear_calls();
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert!(
        !report.steps.iter().any(|step| matches!(
            step,
            Step::CreateContainer { .. } | Step::RemoveContainer { .. }
        )),
        "{:?}",
        report.steps
    );
}

#[tokio::test]
async fn down_removes_the_session_and_nothing_else() {
    let backend = FakeBackend::new();
    up(&backend, &quickstart(2), 4, &quiet).await.unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.yaml"
    );
    let loaded = enshu_scenario::load("quickstart.yaml", &std::fs::read(path).unwrap()).unwrap();
    let other = enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "other".into(),
            teams: 1,
            pool: Some("10.128.0.0/10".parse().unwrap()),
            files: &NoFiles,
        },
    )
    .unwrap();
    up(&backend, &other, 4, &quiet).await.unwrap();
    let report = down(&backend, "unit", 4).await.unwrap();
    assert_eq!((report.containers, report.networks), (10, 6));
    assert!(
        backend
            .container_names()
            .iter()
            .all(|name| name.starts_with("enshu-other-")),
        "{:?}",
        backend.container_names()
    );
    assert_eq!(backend.network_names().len(), 3);
    // Removing again is harmless.
    let again = down(&backend, "unit", 4).await.unwrap();
    assert_eq!((again.containers, again.networks), (0, 0));
}

#[test]
fn verify_probes_cover_flows_other_teams_the_host_and_the_outside() {
    let plan = quickstart(2);
    let outside = Outside {
        host_addresses: vec!["192.0.2.2".parse().unwrap()],
        canary_port: 40000,
        outside: vec![("100.127.255.1".parse().unwrap(), 80)],
    };
    let probes = probes_for(&plan, &outside);
    let t01 = |reason: &str| {
        probes
            .iter()
            .filter(|probe| probe.team == "t01" && probe.reason.starts_with(reason))
            .count()
    };
    assert!(t01("flows[") >= 4, "{probes:#?}");
    assert!(
        probes
            .iter()
            .filter(|probe| probe.reason.starts_with("flows["))
            .all(|probe| probe.expect == Expect::Reachable)
    );
    assert!(t01("team t02") > 0 && t01("host machine") > 0 && t01("outside") > 0);
    assert!(
        probes
            .iter()
            .filter(|probe| !probe.reason.starts_with("flows[")
                && !probe.reason.starts_with("range name"))
            .all(|probe| probe.expect == Expect::Blocked)
    );
    // The internet may not open connections into the office.
    assert!(probes.iter().any(|probe| probe.team == "t01"
        && probe.from.ends_with("-c2")
        && probe.target.to_string() == "10.64.10.101"
        && probe.expect == Expect::Blocked));
    // Each host probes its own segment gateway (the host machine's bridge address).
    assert!(probes.iter().any(|probe| probe.target.to_string() == "10.64.10.1" && probe.reason == "host machine"));
    // Every source: other teams, the host and the outside over UDP and
    // ICMP as over TCP; its resolver refuses outside names and resolves a
    // neighbour; no IPv6 address.
    let sources: std::collections::BTreeSet<&str> =
        probes.iter().map(|probe| probe.from.as_str()).collect();
    for source in &sources {
        let from = |kind: &ProbeKind, reason: &str, expect: Expect| {
            probes.iter().any(|probe| {
                probe.from == *source
                    && probe.kind == *kind
                    && probe.reason.starts_with(reason)
                    && probe.expect == expect
            })
        };
        for kind in [ProbeKind::Tcp, ProbeKind::Udp, ProbeKind::Icmp] {
            for reason in ["team t0", "host machine", "outside"] {
                assert!(
                    from(&kind, reason, Expect::Blocked),
                    "{source} {kind:?} {reason}"
                );
            }
        }
        let outside_name = ProbeKind::Dns(enshu_controller::verify::OUTSIDE_NAME.into());
        assert!(
            from(&outside_name, "outside name", Expect::Blocked),
            "{source}"
        );
        assert!(from(&ProbeKind::Ipv6, "ipv6", Expect::Blocked), "{source}");
    }
    assert!(
        probes
            .iter()
            .any(|probe| matches!(probe.kind, ProbeKind::Dns(_))
                && probe.reason.starts_with("range name")
                && probe.expect == Expect::Reachable)
    );
}

#[test]
fn probe_output_is_parsed() {
    let parsed = parse_probe_output(
        "tcp 10.64.20.10 80 open\ntcp 10.64.10.1 40000 blocked\nudp 10.65.10.10 9 refused\n\
         dns 127.0.0.11 53 open enshu-verify.invalid\nicmp 10.65.10.10 0 blocked\ngarbage\n\
         10.64.20.10 80 open\n",
    );
    assert_eq!(parsed.len(), 5);
    let address = |text: &str| text.parse::<std::net::Ipv4Addr>().unwrap();
    assert!(parsed[&NetProbe::Udp(address("10.65.10.10"), 9)].reached());
    assert!(!parsed[&NetProbe::Tcp(address("10.64.10.1"), 40000)].reached());
    assert!(!parsed[&NetProbe::Icmp(address("10.65.10.10"))].reached());
    assert!(
        parsed[&NetProbe::Dns {
            server: address("127.0.0.11"),
            name: "enshu-verify.invalid".into()
        }]
            .reached()
    );
}

#[tokio::test]
async fn verify_fails_when_a_blocked_probe_gets_through() {
    let backend = FakeBackend::new();
    let plan = quickstart(1);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    let outside = Outside {
        host_addresses: vec!["192.0.2.2".parse().unwrap()],
        canary_port: 40000,
        outside: vec![],
    };
    let probes = probes_for(&plan, &outside);
    // Every container answers that everything is open: isolation is broken.
    for container in &plan.teams[0].containers {
        let lines: String = probes
            .iter()
            .filter(|probe| probe.from == container.name)
            .map(|probe| {
                let argument = match &probe.kind {
                    ProbeKind::Dns(name) => format!(" {name}"),
                    _ => String::new(),
                };
                format!(
                    "{} {} {} open{argument}\n",
                    kind_word(&probe.kind),
                    probe.target,
                    probe.port
                )
            })
            .collect();
        backend.answer_exec(
            &container.name,
            ExecOutput {
                exit_code: 0,
                stdout: lines.into_bytes(),
                stderr: vec![],
            },
        );
    }
    let report = enshu_controller::verify(&backend, probes, 4).await.unwrap();
    assert!(!report.ok());
    assert!(
        report
            .failures()
            .iter()
            .any(|failure| failure.probe.reason == "host machine")
    );
    assert!(
        report
            .failures()
            .iter()
            .all(|failure| failure.probe.expect == Expect::Blocked)
    );
}

#[tokio::test]
async fn a_container_missing_a_network_attachment_is_recreated() {
    let backend = FakeBackend::new();
    let plan = quickstart(1);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    // As if the controller died between creating the router and attaching
    // its last network: same spec hash, fewer networks.
    let router = plan.teams[0]
        .containers
        .iter()
        .find(|container| container.hostname == "router")
        .unwrap();
    let mut partial = enshu_controller::diff::with_hash(router);
    partial.networks.truncate(1);
    backend.remove_container(&router.name).await.unwrap();
    backend.create_container(&partial).await.unwrap();
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert!(report.steps.iter().any(|step| matches!(step, Step::RemoveContainer { name, reason, .. } if *name == router.name && reason.contains("1 of 3"))), "{:#?}", report.steps);
}

fn with_backups() -> Plan {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../enshu-scenario/tests/fixtures/valid/backup.yaml"
    );
    let loaded = enshu_scenario::load("backup.yaml", &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "unit".into(),
            teams: 1,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn taken(steps: &[Step]) -> Vec<(String, String)> {
    steps
        .iter()
        .filter_map(|step| match step {
            Step::TakeBackup { source, reason, .. } => Some((source.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn backups_are_taken_once_both_hosts_run_and_only_once() {
    use enshu_backend::fake::ExecScript;
    let backend = FakeBackend::new();
    let plan = with_backups();
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert_eq!(
        taken(&report.steps),
        [
            (
                "fs01".to_string(),
                "backup host starts: its store is empty".to_string()
            ),
            (
                "sc-web".to_string(),
                "backup host starts: its store is empty".to_string()
            ),
        ]
    );
    // Each copy: a tar out of the source, into the backup host, stored there,
    // after both containers started.
    let calls = backend.calls();
    let backup = "enshu-unit-t01-backup01";
    let position = |wanted: &dyn Fn(&Call) -> bool| calls.iter().position(wanted).unwrap();
    for source in ["fs01", "sc-web"] {
        let container = format!("enshu-unit-t01-{source}");
        let archived = position(
            &|call| matches!(call, Call::Exec(name, command) if *name == container && command.contains(&"enshu-backup-source".to_string())),
        );
        let copied = position(&|call| {
            *call == Call::CopyIn(backup.into(), format!("/srv/backup/.{source}.tar.gz"))
        });
        let stored = position(
            &|call| matches!(call, Call::Exec(name, command) if name == backup && command.contains(&"enshu-backup-store".to_string()) && command.contains(&source.to_string())),
        );
        let started = |name: &str| position(&|call| *call == Call::Start(name.to_string()));
        assert!(
            started(&container) < archived && started(backup) < archived,
            "{calls:#?}"
        );
        assert!(archived < copied && copied < stored, "{calls:#?}");
    }
    // A second run asks the backup host what it holds and takes nothing again…
    backend.script_exec(ExecScript {
        container: backup.into(),
        argument: "enshu-backup-held".into(),
        delay: std::time::Duration::ZERO,
        answer: Ok(ExecOutput {
            exit_code: 0,
            stdout: b"fs01\nsc-web\n".to_vec(),
            stderr: vec![],
        }),
    });
    let again = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert_eq!(taken(&again.steps), []);
    // …unless a copy is missing (a controller killed mid-way).
    backend.clear_exec_scripts();
    backend.script_exec(ExecScript {
        container: backup.into(),
        argument: "enshu-backup-held".into(),
        delay: std::time::Duration::ZERO,
        answer: Ok(ExecOutput {
            exit_code: 0,
            stdout: b"fs01\n".to_vec(),
            stderr: vec![],
        }),
    });
    let repaired = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert_eq!(
        taken(&repaired.steps),
        [("sc-web".to_string(), "no complete copy".to_string())]
    );
}

#[tokio::test]
async fn a_copy_too_large_for_a_backup_fails_up() {
    use enshu_backend::fake::ExecScript;
    let backend = FakeBackend::new();
    let plan = with_backups();
    backend.script_exec(ExecScript {
        container: "enshu-unit-t01-fs01".into(),
        argument: "enshu-backup-source".into(),
        delay: std::time::Duration::ZERO,
        answer: Ok(ExecOutput {
            exit_code: 0,
            stdout: vec![0; enshu_controller::backup::MAX_BACKUP_BYTES + 1],
            stderr: vec![],
        }),
    });
    let error = up(&backend, &plan, 4, &quiet)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("too much for a backup"), "{error}");
}

/// The quickstart's sensor: configured once the team's analyst runs, left
/// alone when complete, planned again (with its reason) when a container
/// comes back, and gone with the session.
#[tokio::test]
async fn the_sensor_is_configured_after_the_containers_repaired_and_removed_with_the_session() {
    let backend = FakeBackend::new();
    let plan = quickstart(2);
    up(&backend, &plan, 4, &quiet).await.unwrap();
    let calls = backend.calls();
    for team in &plan.teams {
        let analyst = &team.sensor.as_ref().unwrap().container;
        let started = calls
            .iter()
            .position(|call| *call == Call::Start(analyst.clone()))
            .unwrap();
        let fixed = calls
            .iter()
            .position(|call| matches!(call, Call::FixSensor(name, reasons) if name == analyst && reasons == "cap-office missing; cap-dmz missing"))
            .unwrap_or_else(|| panic!("{analyst}'s sensor was not fixed: {calls:#?}"));
        assert!(started < fixed, "the analyst runs before its taps are made");
    }
    assert_eq!(backend.tap_names().len(), 4);

    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    assert!(
        !report
            .steps
            .iter()
            .any(|step| matches!(step, Step::ConfigureSensor { .. })),
        "a complete sensor is left alone: {:#?}",
        report.steps
    );

    // The analyst of team 1 is removed (its taps go with it): `up` makes
    // it anew and mirrors again.
    let analyst = plan.teams[0].sensor.as_ref().unwrap().container.clone();
    backend.remove_container(&analyst).await.unwrap();
    assert_eq!(backend.tap_names().len(), 2);
    let report = up(&backend, &plan, 4, &quiet).await.unwrap();
    let reasons: Vec<&str> = report
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::ConfigureSensor { name, reason, .. } if *name == analyst => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["1 container(s) start: their ports are new"]);
    assert_eq!(backend.tap_names().len(), 4);

    let removed = down(&backend, "unit", 4).await.unwrap();
    assert_eq!(removed.containers, 10);
    assert!(backend.tap_names().is_empty());
    assert!(
        backend
            .calls()
            .contains(&Call::RemoveSensors("unit".into()))
    );
}
