//! The directory as planned: the municipal template's dc01 is a directory
//! host told its realm, groups and users (and the range's names for its
//! DNS); each staff PC a user works at is told where and as whom to log
//! on; passwords the scenario leaves out are not in the plan.

use std::path::Path;

use enshu_scenario::NoFiles;
use enshu_scenario::plan::{Plan, PlanOptions, TeamPlan, directory_env_names as names};
use enshu_scenario::roles::{self, ContainerRole};

fn plan_reference(name: &str, teams: u32) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let loaded = enshu_scenario::load(name, &std::fs::read(path).unwrap()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "dir".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn env<'a>(team: &'a TeamPlan, reference: &str, name: &str) -> Option<&'a str> {
    team.containers
        .iter()
        .find(|container| container.reference == reference)
        .unwrap_or_else(|| panic!("{reference} not planned"))
        .env
        .get(name)
        .map(String::as_str)
}

#[test]
fn the_municipal_directory_is_provisioned_with_the_templates_staff() {
    let plan = plan_reference("usb-lgwan.yaml", 2);
    for team in &plan.teams {
        let dc01 = team
            .containers
            .iter()
            .find(|container| container.reference == "lgwan/dc01")
            .unwrap();
        assert_eq!(
            dc01.role,
            ContainerRole::Host(enshu_scenario::model::ImageRole::Directory)
        );
        assert!(!dc01.hardening.cap_add.contains(&"SYS_ADMIN".to_string()));
        assert_eq!(
            env(team, "lgwan/dc01", names::REALM),
            Some("ad.city.saida.lg.jp")
        );
        assert_eq!(env(team, "lgwan/dc01", names::DOMAIN), Some("SAIDA"));
        assert_eq!(
            env(team, "lgwan/dc01", names::GROUPS),
            Some("soumu joho-seisaku zaimu")
        );
        let users = env(team, "lgwan/dc01", names::USERS).unwrap();
        assert!(
            users.lines().any(|user| user == "tanaka:1:soumu"),
            "{users}"
        );
        // No password of the template's users is in the plan: `up` derives them.
        assert_eq!(env(team, "lgwan/dc01", names::PASSWORDS), None);
        let records = env(team, "lgwan/dc01", names::DNS_RECORDS).unwrap();
        let fs01 = team
            .containers
            .iter()
            .find(|container| container.reference == "lgwan/fs01")
            .and_then(|container| container.primary_address())
            .unwrap();
        assert!(records.contains(&format!("fs01={fs01}")), "{records}");
        assert!(
            !records.contains("c2="),
            "the attacker's hosts are not the range's names"
        );

        let dc01_address = dc01.primary_address().unwrap().to_string();
        assert_eq!(
            env(team, "lgwan/pc-lg01", names::ADDRESS),
            Some(dc01_address.as_str())
        );
        assert_eq!(
            env(team, "lgwan/pc-lg01", names::LOGON_USER),
            Some("tanaka")
        );
        assert_eq!(
            env(team, "lgwan/pc-lg02", names::LOGON_USER),
            Some("suzuki")
        );
        assert_eq!(env(team, "lgwan/fs01", names::ADDRESS), None);

        let directory = team.directory.as_ref().unwrap();
        assert_eq!(directory.container(), Some(dc01.name.as_str()));
        assert!(directory.users.iter().all(|user| !user.scenario_password));
    }
    assert_eq!(
        roles::support(enshu_scenario::model::ImageRole::Directory).accounts,
        [roles::DIRECTORY_ADMINISTRATOR]
    );
}
