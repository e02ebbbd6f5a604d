//! The published schema, the reference scenarios against it, and plan
//! snapshots. `UPDATE_EXPECT=1 cargo test` rewrites the checked-in files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use enshu_scenario::model::ImageRole;
use enshu_scenario::plan::{Plan, PlanOptions};
use enshu_scenario::roles::ContainerRole;
use enshu_scenario::{NoFiles, PlanError};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn update() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

/// Compare with a checked-in file, or rewrite it under UPDATE_EXPECT.
fn check_file(path: &Path, actual: &str) {
    if update() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(left, right)| left != right);
        panic!(
            "{} is stale (first differing line {:?}); run `UPDATE_EXPECT=1 cargo test -p enshu-scenario` and review the diff",
            path.display(),
            first_difference.map(|index| index + 1)
        );
    }
}

#[test]
fn checked_in_schema_is_fresh() {
    check_file(
        &repository().join("scenarios/schema.json"),
        &enshu_scenario::schema::scenario_schema_json(),
    );
}

#[test]
fn reference_scenarios_conform_to_the_published_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&enshu_scenario::schema::scenario_schema_json()).unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles as draft-07");
    let mut names: Vec<String> = std::fs::read_dir(repository().join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "the reference scenarios: {names:?}");
    for name in &names {
        let text = std::fs::read_to_string(repository().join("scenarios").join(name)).unwrap();
        let document: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|error| format!("{} at {}", error, error.instance_path))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    // And the schema rejects a typo the way the parser does.
    let typo: serde_json::Value = serde_json::json!({"version": 1, "id": "x", "title": {"en": "x"}, "level": "A", "duration": "1h", "hostss": []});
    assert!(
        !validator.is_valid(&typo),
        "the schema must reject unknown fields"
    );
}

fn plan_reference(name: &str, teams: u32) -> Plan {
    let path = repository().join("scenarios").join(name);
    let bytes = std::fs::read(&path).unwrap();
    let loaded = enshu_scenario::load(name, &bytes).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "snap".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

#[test]
fn quickstart_plan_for_two_teams_matches_snapshot() {
    let plan = plan_reference("quickstart.yaml", 2);
    let json = serde_json::to_string_pretty(&plan).unwrap() + "\n";
    check_file(
        &repository().join("crates/enshu-scenario/tests/snapshots/quickstart-2-teams.json"),
        &json,
    );
    check_file(
        &repository().join("crates/enshu-scenario/tests/snapshots/quickstart-2-teams.txt"),
        &plan.to_text(),
    );
}

#[test]
fn emotet_plan_for_one_team_matches_snapshot() {
    let plan = plan_reference("emotet-beta.yaml", 1);
    check_file(
        &repository().join("crates/enshu-scenario/tests/snapshots/emotet-beta-1-team.txt"),
        &plan.to_text(),
    );
}

#[test]
fn planning_is_deterministic() {
    let first = serde_json::to_string(&plan_reference("emotet-beta.yaml", 3)).unwrap();
    let second = serde_json::to_string(&plan_reference("emotet-beta.yaml", 3)).unwrap();
    assert_eq!(first, second);
}

#[test]
fn fifty_teams_never_share_an_address_or_a_name() {
    let plan = plan_reference("emotet-beta.yaml", 50);
    let mut subnets = Vec::new();
    let mut names = BTreeSet::new();
    let mut bridges = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for team in &plan.teams {
        for network in &team.networks {
            assert!(
                team.block.contains(network.subnet.address),
                "{} outside team block {}",
                network.subnet,
                team.block
            );
            subnets.push(network.subnet);
            assert!(
                names.insert(network.name.clone()),
                "network name {} twice",
                network.name
            );
            assert!(
                bridges.insert(network.bridge.clone()),
                "bridge {} twice",
                network.bridge
            );
            assert!(
                network.bridge.len() <= 15,
                "bridge name {} longer than an interface name may be",
                network.bridge
            );
        }
        for container in &team.containers {
            assert!(
                names.insert(container.name.clone()),
                "container name {} twice",
                container.name
            );
            for attachment in &container.networks {
                assert!(
                    addresses.insert(attachment.address),
                    "address {} twice",
                    attachment.address
                );
            }
        }
    }
    for (index, subnet) in subnets.iter().enumerate() {
        for other in &subnets[index + 1..] {
            assert!(!subnet.overlaps(other), "{subnet} overlaps {other}");
        }
    }
    assert_eq!(plan.teams.len(), 50);
}

#[test]
fn every_container_is_hardened() {
    let plan = plan_reference("emotet-beta.yaml", 1);
    for container in &plan.teams[0].containers {
        let hardening = &container.hardening;
        assert_eq!(hardening.cap_drop, ["ALL"], "{}", container.name);
        assert!(!hardening.privileged, "{}", container.name);
        // Only the analyst workstation may gain privileges (sudo), for the team's own tools.
        assert!(
            hardening.no_new_privileges
                || container.role == ContainerRole::Host(ImageRole::Analyst),
            "{}",
            container.name
        );
        assert!(
            hardening.memory_bytes > 0 && hardening.pids_limit > 0 && hardening.nano_cpus > 0,
            "{}",
            container.name
        );
        assert!(
            !hardening.cap_add.iter().any(|cap| cap == "SYS_ADMIN"),
            "{} must not get SYS_ADMIN",
            container.name
        );
    }
    let networks = &plan.teams[0].networks;
    assert!(networks.iter().all(|network| network.internal));
}

#[test]
fn the_firewall_denies_by_default_and_allows_declared_flows_only() {
    let plan = plan_reference("quickstart.yaml", 1);
    let nft = &plan.teams[0].firewall.nftables;
    assert!(
        nft.contains("type filter hook forward priority 0; policy drop;"),
        "{nft}"
    );
    assert!(nft.contains("ip saddr { 10.64.10.0/24 } ip daddr { 10.64.100.0/24 } tcp dport 8080 ct state new accept"), "{nft}");
    // No rule lets the internet into the office.
    assert!(
        !nft.contains("ip saddr { 10.64.100.0/24 } ip daddr { 10.64.10.0/24 }"),
        "{nft}"
    );
}

#[test]
fn messages_name_the_teams_own_addresses() {
    let plan = plan_reference("quickstart.yaml", 2);
    for team in &plan.teams {
        let alert = team
            .injects
            .iter()
            .find(|inject| inject.id == "soc-alert")
            .unwrap();
        let c2 = team
            .containers
            .iter()
            .find(|container| container.hostname == "c2")
            .unwrap()
            .primary_address()
            .unwrap();
        let body = serde_json::to_string(&alert.action).unwrap();
        assert!(
            body.contains(&c2.to_string()),
            "team {} alert must name {c2}: {body}",
            team.name
        );
        assert!(!body.contains("{{"), "unresolved placeholder: {body}");
    }
}

#[test]
fn a_pool_too_small_refuses_to_plan_with_a_diagnostic() {
    let bytes = std::fs::read(repository().join("scenarios/quickstart.yaml")).unwrap();
    let loaded = enshu_scenario::load("quickstart.yaml", &bytes).unwrap();
    let options = PlanOptions {
        session: "snap".into(),
        teams: 5,
        pool: Some("10.64.0.0/14".parse().unwrap()),
        files: &NoFiles,
    };
    match enshu_scenario::plan(&loaded, &options) {
        Err(PlanError::Invalid(diagnostics)) => {
            assert!(
                diagnostics
                    .iter()
                    .any(|diagnostic| diagnostic.message.contains("too small for 5 teams")),
                "{diagnostics:#?}"
            )
        }
        other => panic!("expected a diagnostic, got {other:?}"),
    }
}

/// `no_beacon` counts beacons on the team's router, so every watched
/// beacon must cross it: its source and its C2 in two segments the router
/// joins, and a counting rule in the router's beacon table, after the
/// team's firewall, for each pair.
#[test]
fn every_watched_beacon_crosses_the_router_and_is_counted_there() {
    use enshu_scenario::model::CheckKind;
    use enshu_scenario::plan::{BEACON_TABLE, ROUTER_HOST, beacon_counter};
    let mut watched = 0;
    for name in [
        "quickstart.yaml",
        "emotet-beta.yaml",
        "defacement-seccloud.yaml",
        "usb-lgwan.yaml",
    ] {
        let plan = plan_reference(name, 1);
        let team = &plan.teams[0];
        let router = team
            .containers
            .iter()
            .find(|container| container.hostname == ROUTER_HOST)
            .unwrap();
        let nft = &team.firewall.nftables;
        let beacon_table = &nft[nft
            .find(&format!("table inet {BEACON_TABLE} {{"))
            .unwrap_or(nft.len())..];
        for check in team
            .checks
            .iter()
            .filter(|check| check.check.kind == CheckKind::NoBeacon)
        {
            watched += 1;
            let (source, c2) = (
                check.target.address.unwrap(),
                check.to.as_ref().unwrap().address.unwrap(),
            );
            assert_eq!(
                check.router.as_deref(),
                Some(router.name.as_str()),
                "{name}"
            );
            let segment_of = |address| {
                team.networks
                    .iter()
                    .find(|network| network.subnet.contains(address))
                    .map(|network| network.name.clone())
                    .unwrap()
            };
            assert_ne!(
                segment_of(source),
                segment_of(c2),
                "{name}: {source} and {c2} share a segment"
            );
            for segment in [segment_of(source), segment_of(c2)] {
                assert!(
                    router
                        .networks
                        .iter()
                        .any(|attachment| attachment.network == segment),
                    "{name}: the router is not on {segment}"
                );
            }
            assert!(
                beacon_table.contains(&format!(
                    "ip saddr {source} ip daddr {c2} counter name \"{}\" update @beacons",
                    beacon_counter(source, c2)
                )),
                "{name}: {nft}"
            );
        }
    }
    assert!(
        watched >= 2,
        "the reference scenarios watch {watched} beacon(s)"
    );
    let plan = plan_reference("quickstart.yaml", 1);
    let nft = &plan.teams[0].firewall.nftables;
    // Counted after the team's firewall: a dropped beacon is not counted.
    assert!(
        nft.contains("type filter hook forward priority 10; policy accept;"),
        "{nft}"
    );
    // The evidence survives a reload of the ruleset: never deleted, only
    // its chain flushed.
    assert!(
        !nft.contains(&format!("delete table inet {BEACON_TABLE}")),
        "{nft}"
    );
    assert!(
        nft.contains(&format!("flush chain inet {BEACON_TABLE} forward")),
        "{nft}"
    );
}
