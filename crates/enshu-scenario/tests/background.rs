//! Staff in the background as planned: every staff workstation of the
//! team's range gets its level and the hosts it may use, all of them hosts
//! of the team's range the flows let it reach; nothing outside the team's
//! range networks; the attacker's hosts and the analyst get nothing; the
//! level is off unless the scenario (or its template) says otherwise.

use std::net::Ipv4Addr;
use std::path::Path;

use enshu_scenario::NoFiles;
use enshu_scenario::model::BackgroundLevel;
use enshu_scenario::net::Ipv4Net;
use enshu_scenario::plan::background::{IMAGE_DEFAULT_PASSWORD, apply_passwords, env_names};
use enshu_scenario::plan::{ContainerSpec, Plan, PlanOptions, TeamPlan};

fn plan_text(name: &str, text: &str, teams: u32) -> Plan {
    let loaded = enshu_scenario::load(name, text.as_bytes()).unwrap();
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "bg".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap()
}

fn reference_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn container<'a>(team: &'a TeamPlan, reference: &str) -> &'a ContainerSpec {
    team.containers
        .iter()
        .find(|container| container.reference == reference)
        .unwrap_or_else(|| panic!("{reference} not planned"))
}

fn address(team: &TeamPlan, reference: &str) -> String {
    container(team, reference)
        .primary_address()
        .unwrap()
        .to_string()
}

fn env<'a>(team: &'a TeamPlan, reference: &str, name: &str) -> Option<&'a str> {
    container(team, reference).env.get(name).map(String::as_str)
}

/// emotet-beta with its staff at work at `level`.
fn emotet_at(level: &str) -> String {
    format!(
        "{}\nbackground: {{level: {level}}}\n",
        reference_text("emotet-beta.yaml")
    )
}

#[test]
fn a_municipal_exercise_at_low_puts_every_staff_pc_of_the_team_to_work() {
    let plan = plan_text("emotet-beta.yaml", &emotet_at("low"), 2);
    for team in &plan.teams {
        let range: Vec<Ipv4Net> = team
            .networks
            .iter()
            .filter(|network| network.team_range)
            .map(|network| network.subnet)
            .collect();
        let allow = range
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let mut working = Vec::new();
        for container in &team.containers {
            let level = container.env.get(env_names::LEVEL);
            let staff_pc =
                container.role.as_str() == "workstation" && team.in_team_range(container);
            if !staff_pc {
                assert_eq!(
                    level, None,
                    "{} works in the background",
                    container.reference
                );
                assert!(
                    !container
                        .env
                        .keys()
                        .any(|key| key.starts_with("ENSHU_BACKGROUND")),
                    "{}",
                    container.reference
                );
                continue;
            }
            working.push(container.reference.as_str());
            assert_eq!(level.map(String::as_str), Some("low"));
            assert_eq!(
                container.env.get(env_names::ALLOW),
                Some(&allow),
                "{}",
                container.reference
            );
            // Every address it is given is inside the team's range networks.
            for (key, value) in &container.env {
                if !key.starts_with("ENSHU_BACKGROUND") || key == env_names::ALLOW {
                    continue;
                }
                for word in value.split_whitespace() {
                    let host = word.split(':').next().unwrap();
                    if let Ok(address) = host.parse::<Ipv4Addr>() {
                        assert!(
                            range.iter().any(|network| network.contains(address)),
                            "{}: {key}={value} leaves the team's range",
                            container.reference
                        );
                    }
                }
            }
        }
        assert_eq!(
            working,
            [
                "mynumber/mn-pc01",
                "inet/pc-lg01",
                "inet/pc-lg02",
                "inet/vbrowser",
                "inet/pc-net01",
                "inet/pc-net02",
                "maint/jump01",
                "lgwan/vdi-lg",
            ],
            "the contractor's PC (outside the team's range) does not work for the city"
        );
        // An internet PC browses the security cloud's site through the
        // proxy and sends mail through the internet mail server beside it;
        // it reaches neither a share nor the LGWAN mailbox.
        let proxy = format!("{}:3128", address(team, "seccloud/sc-proxy"));
        assert_eq!(
            env(team, "inet/pc-net02", env_names::PROXY),
            Some(proxy.as_str())
        );
        assert_eq!(
            env(team, "inet/pc-net02", env_names::WEB_PROXIED),
            Some(address(team, "seccloud/sc-web").as_str()),
            "the C2 and the attacker are never browsed"
        );
        assert_eq!(
            env(team, "inet/pc-net02", env_names::SMTP),
            Some(address(team, "inet/imail").as_str())
        );
        for absent in [env_names::SHARES, env_names::IMAP, env_names::WEB] {
            assert_eq!(env(team, "inet/pc-net02", absent), None, "{absent}");
        }
        // The screen-transfer host in LGWAN uses the LGWAN side: the
        // intranet's web servers, the file share, the mailbox.
        assert_eq!(
            env(team, "lgwan/vdi-lg", env_names::WEB),
            Some(
                format!(
                    "{} {}",
                    address(team, "lgwan/gw01"),
                    address(team, "lgwan/fin01")
                )
                .as_str()
            )
        );
        assert_eq!(
            env(team, "lgwan/vdi-lg", env_names::SHARES),
            Some(address(team, "lgwan/fs01").as_str())
        );
        let lgmail = address(team, "lgwan/lgmail");
        assert_eq!(
            env(team, "lgwan/vdi-lg", env_names::SMTP),
            Some(lgmail.as_str())
        );
        assert_eq!(
            env(team, "lgwan/vdi-lg", env_names::IMAP),
            Some(lgmail.as_str())
        );
        assert_eq!(
            env(team, "lgwan/vdi-lg", env_names::MAIL_USER),
            Some("staff")
        );
        // The My Number terminal uses only the resident records system
        // beside it.
        let terminal = &container(team, "mynumber/mn-pc01").env;
        assert_eq!(
            terminal
                .keys()
                .filter(|key| key.starts_with("ENSHU_BACKGROUND"))
                .collect::<Vec<_>>(),
            [env_names::ALLOW, env_names::LEVEL, env_names::WEB]
        );
        assert_eq!(
            env(team, "mynumber/mn-pc01", env_names::WEB),
            Some(address(team, "mynumber/juki-app").as_str())
        );
    }
}

#[test]
fn passwords_are_the_ones_the_shares_and_the_mailbox_were_given() {
    let mut plan = plan_text("emotet-beta.yaml", &emotet_at("low"), 1);
    let team = &mut plan.teams[0];
    // As `enshu up` does: the team's password on the hosts it logs in to
    // and on its mailbox; fs01 keeps the image's default.
    let mailbox = container(team, "lgwan/lgmail").name.clone();
    for container in &mut team.containers {
        if container.login || container.name == mailbox {
            container
                .env
                .insert("ENSHU_PASSWORD".into(), "team-secret".into());
        }
    }
    apply_passwords(team);
    assert_eq!(
        env(team, "lgwan/vdi-lg", env_names::MAIL_PASSWORD),
        Some("team-secret")
    );
    assert_eq!(
        env(team, "lgwan/vdi-lg", env_names::SHARE_PASSWORDS),
        Some(IMAGE_DEFAULT_PASSWORD)
    );
    assert_eq!(env(team, "inet/pc-net02", env_names::MAIL_PASSWORD), None);
}

#[test]
fn the_templates_keep_staff_busy_unless_a_scenario_says_otherwise() {
    let emotet = reference_text("emotet-beta.yaml");
    let off = emotet.replacen("\nhosts:\n", "\nbackground: {level: off}\nhosts:\n", 1);
    assert_ne!(off, emotet);
    let high = emotet.replacen("\nhosts:\n", "\nbackground: {level: high}\nhosts:\n", 1);
    let quickstart = reference_text("quickstart.yaml");
    for (name, text, expected) in [
        // The municipal templates say `low`; a scenario's own block wins.
        (
            "emotet-beta.yaml",
            emotet.as_str(),
            Some(BackgroundLevel::Low),
        ),
        ("off.yaml", off.as_str(), None),
        // Without a block (the quickstart has no template): off.
        ("quickstart.yaml", quickstart.as_str(), None),
        ("high.yaml", high.as_str(), Some(BackgroundLevel::High)),
    ] {
        let plan = plan_text(name, text, 1);
        let team = &plan.teams[0];
        let levels: Vec<&str> = team
            .containers
            .iter()
            .filter_map(|container| container.env.get(env_names::LEVEL))
            .map(String::as_str)
            .collect();
        match expected {
            None => {
                assert!(levels.is_empty(), "{name}: {levels:?}");
                assert!(team.background.is_empty(), "{name}");
            }
            Some(level) => {
                assert!(
                    !levels.is_empty() && levels.iter().all(|found| *found == level.as_str()),
                    "{name}: {levels:?}"
                );
                assert!(
                    !team.background.is_empty()
                        && team.background.iter().all(|staff| staff.level == level),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn each_level_has_a_bounded_rate() {
    let rates: Vec<Option<u32>> = BackgroundLevel::ALL
        .iter()
        .map(|level| level.mean_interval_seconds())
        .collect();
    assert_eq!(rates, [None, Some(60), Some(20), Some(5)]);
    // The workstation's program knows the same levels and rates.
    let program = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../images/workstation/rootfs/usr/local/bin/enshu-background"),
    )
    .unwrap();
    assert!(
        program.contains(r#"LEVELS = {"low": 60.0, "medium": 20.0, "high": 5.0}"#),
        "the program's rates differ from the model's"
    );
}
