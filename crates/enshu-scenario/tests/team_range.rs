//! What is the team's own range: every segment but those that stand for the
//! outside world (role `internet`: the attacker, the C2, partners). The
//! team's portal lists only these hosts; the attacker's are its answers.

use std::path::Path;

use enshu_scenario::NoFiles;
use enshu_scenario::plan::{Plan, PlanOptions};

fn plan_reference(name: &str) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let loaded = enshu_scenario::load(name, &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "own".into(),
            teams: 1,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn own_references(plan: &Plan) -> Vec<&str> {
    plan.teams[0]
        .team_range_containers()
        .map(|container| container.reference.as_str())
        .collect()
}

#[test]
fn the_attackers_infrastructure_is_outside_the_teams_range() {
    let plan = plan_reference("emotet-beta.yaml");
    let own = own_references(&plan);
    for outside in ["internet/c2", "vendor/attacker", "vendor/vendor-pc"] {
        assert!(!own.contains(&outside), "{outside} listed as the team's");
    }
    for inside in [
        "router",
        "lgwan/analyst",
        "lgwan/log01",
        "inet/pc-net02",
        "seccloud/sc-mail",
        "mynumber/juki-app",
    ] {
        assert!(own.contains(&inside), "{inside} missing from {own:?}");
    }
    let outside_segments: Vec<&str> = plan.teams[0]
        .networks
        .iter()
        .filter(|network| !network.team_range)
        .map(|network| network.segment.as_str())
        .collect();
    assert_eq!(outside_segments, ["internet", "vendor"]);
}

#[test]
fn the_internet_connected_dmz_stays_the_teams_own() {
    let plan = plan_reference("quickstart.yaml");
    let own = own_references(&plan);
    assert!(own.contains(&"dmz/www"), "{own:?}");
    assert!(!own.contains(&"internet/c2"), "{own:?}");
}
