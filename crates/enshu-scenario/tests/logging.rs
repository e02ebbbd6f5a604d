//! Central logging as planned: every host of the team's range (and its
//! router) is told where to send its logs, the attacker's hosts are not,
//! the collectors keep what they receive on a volume, and the router's
//! firewall logs what it accepts and denies.

use std::path::Path;

use enshu_scenario::NoFiles;
use enshu_scenario::plan::{COLLECTOR_STORE, FIREWALL_LOG_GROUP, Plan, PlanOptions, TeamPlan};

fn plan_reference(name: &str, teams: u32) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let loaded = enshu_scenario::load(name, &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "logs".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn address_of(team: &TeamPlan, reference: &str) -> String {
    team.containers
        .iter()
        .find(|container| container.reference == reference)
        .and_then(|container| container.primary_address())
        .unwrap_or_else(|| panic!("{reference} not planned"))
        .to_string()
}

#[test]
fn every_host_of_the_municipal_range_forwards_to_both_collectors() {
    let plan = plan_reference("emotet-beta.yaml", 2);
    for team in &plan.teams {
        let collectors = format!(
            "{} {}",
            address_of(team, "lgwan/log01"),
            address_of(team, "seccloud/sc-soc")
        );
        let mut forwarding = 0;
        for container in &team.containers {
            let syslog = container.env.get("ENSHU_SYSLOG");
            let collector =
                ["lgwan/log01", "seccloud/sc-soc"].contains(&container.reference.as_str());
            if collector {
                assert_eq!(syslog, None, "{} forwards to itself", container.reference);
                // The collector knows every sender's name (a file each).
                let senders: Vec<&str> = container.env["ENSHU_LOG_HOSTS"].split(' ').collect();
                for sender in &team.containers {
                    let sends = sender.env.contains_key("ENSHU_SYSLOG");
                    assert_eq!(
                        senders.contains(&sender.hostname.as_str()),
                        sends,
                        "{} in the senders of {}",
                        sender.reference,
                        container.reference
                    );
                }
                assert_eq!(container.volumes.len(), 1, "{}", container.reference);
                assert_eq!(container.volumes[0].path, COLLECTOR_STORE);
                assert_eq!(
                    container.volumes[0]
                        .labels
                        .get("enshu.team")
                        .map(String::as_str),
                    Some(team.name.as_str())
                );
            } else if team.in_team_range(container) {
                assert_eq!(syslog, Some(&collectors), "{}", container.reference);
                forwarding += 1;
            } else {
                assert_eq!(
                    syslog, None,
                    "attacker host {} forwards",
                    container.reference
                );
            }
        }
        assert!(forwarding > 20, "only {forwarding} hosts forward");
        let router = &team.containers[0];
        assert_eq!(router.reference, "router");
        assert_eq!(router.env.get("ENSHU_SYSLOG"), Some(&collectors));
        assert_eq!(
            router
                .hardening
                .sysctls
                .get("net.netfilter.nf_conntrack_acct")
                .map(String::as_str),
            Some("1"),
            "the flow records count bytes"
        );
    }
    // Each team's collectors are its own.
    assert_ne!(
        address_of(&plan.teams[0], "lgwan/log01"),
        address_of(&plan.teams[1], "lgwan/log01")
    );
    let volume = |team: &TeamPlan| {
        team.containers
            .iter()
            .find(|container| container.reference == "lgwan/log01")
            .map(|container| container.volumes[0].name.clone())
            .unwrap()
    };
    assert_ne!(volume(&plan.teams[0]), volume(&plan.teams[1]));
}

#[test]
fn the_firewall_logs_accepted_connections_and_denied_packets() {
    let plan = plan_reference("emotet-beta.yaml", 1);
    let rules = &plan.teams[0].firewall.nftables;
    let group = format!("log group {FIREWALL_LOG_GROUP}");
    let accepts = rules
        .lines()
        .filter(|line| line.ends_with(" accept") && line.contains("ct state new"))
        .count();
    let logged = rules
        .lines()
        .filter(|line| line.contains(&group) && line.contains("prefix \"accept flows["))
        .count();
    assert!(accepts > 10);
    assert_eq!(
        logged, accepts,
        "every accepting rule has its log rule:\n{rules}"
    );
    let deny = rules
        .lines()
        .position(|line| line.contains("prefix \"deny \""))
        .expect("denied packets are logged");
    let counter = rules
        .lines()
        .position(|line| line.contains("comment \"denied\""))
        .unwrap();
    assert_eq!(
        deny + 1,
        counter,
        "the deny log comes last, just before the policy"
    );
    assert!(
        rules.contains("limit rate 20/second"),
        "denied packets are rate-limited"
    );
}

#[test]
fn a_range_without_a_logging_block_forwards_nothing() {
    let plan = plan_reference("quickstart.yaml", 1);
    for container in &plan.teams[0].containers {
        assert!(
            !container.env.contains_key("ENSHU_SYSLOG"),
            "{}",
            container.reference
        );
        assert!(container.volumes.is_empty());
    }
}
