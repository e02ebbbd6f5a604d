//! Every team has one way in: the SSH port trainees are handed lands on
//! the analyst workstation of every reference scenario and built-in
//! template, as its role's login user, and a scenario may name another host
//! that runs sshd.

use std::path::{Path, PathBuf};

use enshu_scenario::model::ImageRole;
use enshu_scenario::plan::{Plan, PlanOptions};
use enshu_scenario::roles::ContainerRole;
use enshu_scenario::validate::Context;
use enshu_scenario::{NoFiles, templates};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plan(name: &str, text: &str, teams: u32) -> Plan {
    let loaded = enshu_scenario::load(name, text.as_bytes()).expect("loads");
    let diagnostics = enshu_scenario::validate(&loaded, &Context::default());
    let problems: Vec<String> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic.headline())
        .collect();
    assert!(problems.is_empty(), "{name}: {problems:#?}");
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "wayin".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Each team's way in is its own analyst workstation, logged in to as
/// `analyst`, and the way-in container gets the team's password.
fn assert_way_in_is_the_analyst_workstation(name: &str, plan: &Plan) {
    for team in &plan.teams {
        let way_in = &team.way_in;
        let container = team
            .containers
            .iter()
            .find(|container| container.name == way_in.container)
            .unwrap_or_else(|| panic!("{name}: way-in container {} not planned", way_in.container));
        assert_eq!(
            container.role,
            ContainerRole::Host(ImageRole::Analyst),
            "{name}: team {} enters {}",
            team.name,
            way_in.reference
        );
        assert_eq!(way_in.user, "analyst", "{name}");
        assert_eq!(way_in.port, 22, "{name}");
        assert_eq!(way_in.hostname, container.hostname, "{name}");
        assert!(
            way_in
                .container
                .starts_with(&format!("enshu-wayin-{}-", team.name)),
            "{name}: {} is another team's",
            way_in.container
        );
        assert!(
            container.login,
            "{name}: the way-in host takes the team's password"
        );
    }
}

#[test]
fn every_reference_scenario_is_entered_through_its_analyst_workstation() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(repository().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "yaml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_way_in_is_the_analyst_workstation(&name, &plan(&name, &text, 2));
        checked.push(name);
    }
    checked.sort();
    assert!(
        [
            "defacement-seccloud.yaml",
            "emotet-beta.yaml",
            "quickstart.yaml"
        ]
        .iter()
        .all(|name| checked.iter().any(|found| found == name)),
        "{checked:?}"
    );
}

#[test]
fn every_template_is_entered_through_its_analyst_workstation() {
    for template in templates::NAMES {
        let text = format!(
            "version: 1\nid: on-{template}\ntitle: {{en: x}}\nlevel: A\nduration: 1h\nextends: {template}\n"
        );
        let plan = plan(&format!("on-{template}.yaml"), &text, 1);
        assert_way_in_is_the_analyst_workstation(template, &plan);
        assert_eq!(
            plan.teams[0].way_in.reference, "lgwan/analyst",
            "{template}"
        );
    }
}

#[test]
fn the_municipal_syslog_host_is_one_the_team_logs_in_to_as_logs() {
    let text =
        "version: 1\nid: x\ntitle: {en: x}\nlevel: A\nduration: 1h\nextends: municipal-alpha\n";
    let plan = plan("x.yaml", text, 1);
    let log01 = plan.teams[0]
        .containers
        .iter()
        .find(|container| container.hostname == "log01")
        .unwrap();
    assert_eq!(log01.role, ContainerRole::Host(ImageRole::Syslog));
    assert!(log01.login);
    assert_eq!(
        enshu_scenario::roles::login_user(ImageRole::Syslog),
        Some("logs")
    );
    // Only the way-in host and `login: true` hosts get the password.
    let logins: Vec<&str> = plan.teams[0]
        .containers
        .iter()
        .filter(|container| container.login)
        .map(|container| container.hostname.as_str())
        .collect();
    assert_eq!(logins, ["log01", "analyst"]);
}

#[test]
fn a_scenario_may_name_a_workstation_as_its_way_in() {
    let path =
        repository().join("crates/enshu-scenario/tests/fixtures/valid/way-in-workstation.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let plan = plan("way-in-workstation.yaml", &text, 2);
    let way_in = &plan.teams[1].way_in;
    assert_eq!(way_in.reference, "office/pc01");
    assert_eq!(way_in.container, "enshu-wayin-t02-pc01");
    assert_eq!(way_in.user, "staff");
    assert!(
        plan.to_text()
            .contains("way in: ssh staff@pc01 (office/pc01)")
    );
}
