//! The team's mail: the planner turns the scenario's `mail` block into each
//! relay's next hop, the mailbox's domain and the analyst's mail client,
//! and `validate` judges the hops with the same flow resolution as the
//! router's rules.

use std::net::Ipv4Addr;
use std::path::Path;

use enshu_scenario::model::{Action, Protocol};
use enshu_scenario::plan::{Plan, PlanOptions, TeamPlan, mail_env_names};
use enshu_scenario::topology::Topology;
use enshu_scenario::validate::Context;
use enshu_scenario::{NoFiles, templates};

fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/valid")
        .join(name);
    (name.to_string(), std::fs::read(path).expect("fixture"))
}

fn plan(name: &str, bytes: &[u8], teams: u32) -> Plan {
    let loaded = enshu_scenario::load(name, bytes).expect("loads");
    let problems: Vec<String> = enshu_scenario::validate(&loaded, &Context::default())
        .iter()
        .map(|diagnostic| diagnostic.headline())
        .collect();
    assert!(problems.is_empty(), "{name}: {problems:#?}");
    enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: "mail".into(),
            teams,
            pool: None,
            files: &NoFiles,
        },
    )
    .unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn env<'a>(team: &'a TeamPlan, host: &str, key: &str) -> Option<&'a str> {
    team.containers
        .iter()
        .find(|container| container.hostname == host)
        .unwrap_or_else(|| panic!("no host {host}"))
        .env
        .get(key)
        .map(String::as_str)
}

fn address(team: &TeamPlan, host: &str) -> String {
    team.containers
        .iter()
        .find(|container| container.hostname == host)
        .and_then(|container| container.primary_address())
        .unwrap_or_else(|| panic!("no host {host}"))
        .to_string()
}

#[test]
fn each_relay_forwards_the_domain_to_the_next_hop_and_the_last_to_the_mailbox() {
    let (name, bytes) = fixture("mail-alpha.yaml");
    let plan = plan(&name, &bytes, 2);
    for team in &plan.teams {
        let domain = "city.saida.lg.jp";
        for (relay, next) in [
            ("sc-mail", "imail"),
            ("imail", "san01"),
            ("san01", "lgmail"),
        ] {
            assert_eq!(
                env(team, relay, mail_env_names::ROUTES),
                Some(format!("{domain}={}", address(team, next)).as_str()),
                "team {} relay {relay}",
                team.name
            );
            assert_eq!(env(team, relay, mail_env_names::DOMAIN), Some(domain));
        }
        // The mailbox keeps the domain's mail; no route onward.
        assert_eq!(env(team, "lgmail", mail_env_names::DOMAIN), Some(domain));
        assert_eq!(env(team, "lgmail", mail_env_names::ROUTES), None);
        // The analyst's mail client reads the mailbox over IMAP.
        assert_eq!(
            env(team, "analyst", mail_env_names::MAILBOX),
            Some(address(team, "lgmail").as_str())
        );
        assert_eq!(
            env(team, "analyst", mail_env_names::MAILBOX_USER),
            Some("team")
        );
        // A mail host off the path is left as it was.
        assert_eq!(env(team, "sc-proxy", mail_env_names::ROUTES), None);
        // The staff phish's `to` is a mailbox on imail, which keeps that
        // user's mail and passes the rest of the domain on; no other hop
        // keeps any.
        assert_eq!(
            env(team, "imail", mail_env_names::LOCAL_USERS),
            Some("staff")
        );
        for relay in ["sc-mail", "san01", "lgmail"] {
            assert_eq!(env(team, relay, mail_env_names::LOCAL_USERS), None);
        }

        let mail = team.mail.as_ref().expect("the team's mail is planned");
        assert_eq!(mail.recipient, "team@city.saida.lg.jp");
        assert_eq!(mail.soc_address, "soc@city.saida.lg.jp");
        let chain: Vec<&str> = mail
            .chain
            .iter()
            .map(|hop| hop.reference.as_str())
            .collect();
        assert_eq!(
            chain,
            [
                "seccloud/sc-mail",
                "inet/imail",
                "xfer/san01",
                "lgwan/lgmail"
            ]
        );
        assert_eq!(mail.soc_sender.reference, "seccloud/sc-mail");
        assert_eq!(
            mail.mailbox().container.as_deref(),
            Some(format!("enshu-mail-{}-lgmail", team.name).as_str())
        );
        assert_eq!(
            mail.entry().address.map(|address| address.to_string()),
            Some(address(team, "sc-mail"))
        );
        // The way to the staff mailbox stops at imail.
        let staff = mail
            .towards("inet/imail", "staff")
            .expect("imail is on the way");
        assert_eq!(staff.recipient, "staff@city.saida.lg.jp");
        assert_eq!(
            staff
                .chain
                .iter()
                .map(|hop| hop.reference.as_str())
                .collect::<Vec<_>>(),
            ["seccloud/sc-mail", "inet/imail"]
        );
        assert_eq!(staff.mailbox().reference, "inet/imail");
        assert!(mail.towards("lgwan/log01", "staff").is_none());
        // The phishing mail's link carries this team's C2 address.
        let phish = team
            .injects
            .iter()
            .find(|inject| inject.id == "phish")
            .unwrap();
        let Action::Mail(planted) = &phish.action else {
            panic!("phish is a mail inject")
        };
        assert_eq!(
            planted.body.ja.as_deref(),
            Some(
                format!(
                    "添付の請求書をご確認ください。http://{}/invoice",
                    address(team, "c2")
                )
                .as_str()
            )
        );
    }
}

#[test]
fn without_a_mail_block_nothing_changes() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/quickstart.yaml"),
    )
    .unwrap();
    let plan = plan("quickstart.yaml", &bytes, 1);
    let team = &plan.teams[0];
    assert!(team.mail.is_none());
    for container in &team.containers {
        for key in [
            mail_env_names::DOMAIN,
            mail_env_names::ROUTES,
            mail_env_names::MAILBOX,
        ] {
            assert!(
                !container.env.contains_key(key),
                "{}: {key}",
                container.name
            );
        }
    }
    let json = serde_json::to_value(team).unwrap();
    assert!(json.get("mail").is_none(), "no `mail` key in the plan");
}

/// Whether the planned router (or one shared segment) lets `source` reach
/// `target` on tcp/`port`: what the range will do.
fn planned_allows(team: &TeamPlan, source: Ipv4Addr, target: Ipv4Addr, port: u16) -> bool {
    let same_segment = team
        .networks
        .iter()
        .any(|network| network.subnet.contains(source) && network.subnet.contains(target));
    same_segment
        || team.firewall.rules.iter().any(|rule| {
            rule.from.iter().any(|net| net.contains(source))
                && rule.to.iter().any(|net| net.contains(target))
                && rule
                    .ports
                    .iter()
                    .any(|spec| match (spec.protocol, spec.ports) {
                        (Protocol::Any, _) => true,
                        (Protocol::Tcp, Some((low, high))) => (low..=high).contains(&port),
                        _ => false,
                    })
        })
}

/// `validate` judges a hop by the scenario's flows; the range enforces the
/// planned rules. For every pair of hosts of every template, on SMTP and
/// IMAP, the two agree.
#[test]
fn validate_judges_a_hop_as_the_planned_router_will() {
    for template in templates::NAMES {
        let text = format!(
            "version: 1\nid: fixture\ntitle: {{en: Fixture}}\nlevel: A\nduration: 1h\nextends: {template}\n"
        );
        let loaded = enshu_scenario::load("fixture.yaml", text.as_bytes()).expect("loads");
        let plan = plan("fixture.yaml", text.as_bytes(), 1);
        let team = &plan.teams[0];
        let topology = Topology::new(&loaded.scenario);
        let mut pairs = 0;
        for source in &loaded.scenario.hosts {
            for target in &loaded.scenario.hosts {
                if source.name == target.name {
                    continue;
                }
                for port in [25, 143] {
                    let (from, to) = (
                        address(team, &source.name).parse().unwrap(),
                        address(team, &target.name).parse().unwrap(),
                    );
                    assert_eq!(
                        topology.allows_tcp(source, target, port),
                        planned_allows(team, from, to, port),
                        "{template}: {} -> {} tcp/{port}",
                        source.name,
                        target.name
                    );
                    pairs += 1;
                }
            }
        }
        assert!(pairs > 100, "{template}: {pairs} pairs");
    }
}
