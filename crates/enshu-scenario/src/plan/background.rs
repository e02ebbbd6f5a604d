//! Staff in the background, planned: for each staff workstation of the
//! team's range, the hosts its background program
//! (`images/workstation/rootfs/usr/local/bin/enshu-background`) may use,
//! found from the flows, given to it as environment.
//!
//! Only hosts of the team's own range are ever named (never an attacker's,
//! a C2 or a partner on an `internet` segment), and only those the flows
//! let the workstation reach (`Topology::allows_tcp`); the program refuses
//! any address outside `ENSHU_BACKGROUND_ALLOW`, the team's range networks,
//! besides. Passwords are not the planner's: [`apply_passwords`] copies
//! each target's password from the target's own environment once the
//! caller has set the team's (`enshu`'s `apply_credentials`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{ContainerSpec, NetworkSpec, ResolvedTarget, TeamAddresses, TeamPlan};
use crate::model::{Background, BackgroundLevel, Host, ImageRole, Scenario};
use crate::roles;

/// The environment the workstation's init and program read.
pub mod env_names {
    /// `low`, `medium` or `high`; unset when off (the program does not run).
    pub const LEVEL: &str = "ENSHU_BACKGROUND_LEVEL";
    /// The team's range networks (CIDRs, space-separated): the program
    /// connects to no address outside them.
    pub const ALLOW: &str = "ENSHU_BACKGROUND_ALLOW";
    /// `address:port` of the team's proxy.
    pub const PROXY: &str = "ENSHU_BACKGROUND_PROXY";
    /// Web servers browsed through the proxy (addresses, space-separated).
    pub const WEB_PROXIED: &str = "ENSHU_BACKGROUND_WEB_PROXIED";
    /// Web servers browsed directly (the intranet's).
    pub const WEB: &str = "ENSHU_BACKGROUND_WEB";
    /// File servers whose share the staff account opens.
    pub const SHARES: &str = "ENSHU_BACKGROUND_SHARES";
    /// The staff account's password on each share, in the same order.
    pub const SHARE_PASSWORDS: &str = "ENSHU_BACKGROUND_SHARE_PASSWORDS";
    /// The mail host the staff submit to (SMTP, no authentication).
    pub const SMTP: &str = "ENSHU_BACKGROUND_SMTP";
    /// The mailbox host the staff read their mail on (IMAP, read-only).
    pub const IMAP: &str = "ENSHU_BACKGROUND_IMAP";
    /// The mail domain, and the staff's mailbox user there.
    pub const MAIL_DOMAIN: &str = "ENSHU_BACKGROUND_MAIL_DOMAIN";
    pub const MAIL_USER: &str = "ENSHU_BACKGROUND_MAIL_USER";
    /// The staff mailbox's IMAP password.
    pub const MAIL_PASSWORD: &str = "ENSHU_BACKGROUND_MAIL_PASSWORD";
}

/// The staff's mailbox user on a mail host (the mail image's
/// `ENSHU_MAIL_USERS`, by default `team staff`): the account the staff
/// send as and read, never the team's.
pub const STAFF_MAIL_USER: &str = "staff";

/// The password a role's users have when the plan gives the host none (the
/// images' `${ENSHU_PASSWORD:-enshu}`).
pub const IMAGE_DEFAULT_PASSWORD: &str = "enshu";

/// The team's proxy port (`images/proxy/rootfs/etc/squid/squid.conf`).
pub const PROXY_PORT: u16 = 3128;
const SMB_PORT: u16 = 445;
const SMTP_PORT: u16 = 25;
const IMAP_PORT: u16 = 143;

/// One staff workstation's background activity: what it may use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StaffWorkstation {
    pub container: String,
    /// `segment/host`.
    pub reference: String,
    pub level: BackgroundLevel,
    /// The team's proxy, when the workstation reaches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ResolvedTarget>,
    /// Web servers of the team's range the proxy reaches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web_via_proxy: Vec<ResolvedTarget>,
    /// Web servers the workstation reaches itself (and not through the proxy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web: Vec<ResolvedTarget>,
    /// File servers whose share it opens as the staff account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<ResolvedTarget>,
    /// The hop of the team's mail chain nearest the mailbox that it reaches
    /// on tcp/25 (none when the team's mailbox user is the staff's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<ResolvedTarget>,
    /// The mailbox host, when it reaches it on tcp/143.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imap: Option<ResolvedTarget>,
}

/// Every staff workstation of the team's range, with its targets; empty
/// when the scenario's level is off.
pub(super) fn plan_background(
    scenario: &Scenario,
    addresses: &TeamAddresses,
    prefix: &str,
) -> Vec<StaffWorkstation> {
    let level = Background::level_of(scenario.background.as_ref());
    if level == BackgroundLevel::Off {
        return Vec::new();
    }
    let topology = &addresses.topology;
    let team_hosts = |image: ImageRole| {
        scenario
            .hosts
            .iter()
            .filter(move |host| host.image == image && topology.is_team_host(host))
    };
    let resolve = |host: &Host| addresses.resolve(&reference(host), prefix);
    let web_port = roles::support(ImageRole::Web).http_ports[0];
    team_hosts(ImageRole::Workstation)
        .map(|workstation| {
            let proxy = team_hosts(ImageRole::Proxy)
                .find(|proxy| topology.allows_tcp(workstation, proxy, PROXY_PORT));
            let web_via_proxy: Vec<&Host> = proxy
                .map(|proxy| {
                    team_hosts(ImageRole::Web)
                        .filter(|web| topology.allows_tcp(proxy, web, web_port))
                        .collect()
                })
                .unwrap_or_default();
            let web = team_hosts(ImageRole::Web)
                .filter(|web| {
                    topology.allows_tcp(workstation, web, web_port)
                        && !web_via_proxy.iter().any(|other| other.name == web.name)
                })
                .map(resolve)
                .collect();
            let shares = team_hosts(ImageRole::File)
                .filter(|file| topology.allows_tcp(workstation, file, SMB_PORT))
                .map(resolve)
                .collect();
            let mail_host = |reference: &str| {
                topology
                    .host_ref(reference)
                    .ok()
                    .filter(|host| topology.is_team_host(host))
            };
            let (smtp, imap) = match &scenario.mail {
                Some(mail) => (
                    (mail.user != STAFF_MAIL_USER)
                        .then(|| {
                            mail.chain().into_iter().rev().find_map(|hop| {
                                mail_host(hop).filter(|host| {
                                    topology.allows_tcp(workstation, host, SMTP_PORT)
                                })
                            })
                        })
                        .flatten()
                        .map(resolve),
                    mail_host(&mail.mailbox)
                        .filter(|mailbox| topology.allows_tcp(workstation, mailbox, IMAP_PORT))
                        .map(resolve),
                ),
                None => (None, None),
            };
            StaffWorkstation {
                container: format!("{prefix}-{}", workstation.name),
                reference: reference(workstation),
                level,
                proxy: proxy.map(resolve),
                web_via_proxy: web_via_proxy.into_iter().map(resolve).collect(),
                web,
                shares,
                smtp,
                imap,
            }
        })
        .collect()
}

fn reference(host: &Host) -> String {
    format!("{}/{}", host.segment, host.name)
}

fn addresses_of(targets: &[ResolvedTarget]) -> String {
    targets
        .iter()
        .filter_map(|target| target.address)
        .map(|address| address.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each staff workstation's environment: its level, the team's range
/// networks it may connect to, and its targets' addresses.
pub(super) fn background_env(
    staff: &[StaffWorkstation],
    scenario: &Scenario,
    networks: &[NetworkSpec],
    containers: &mut [ContainerSpec],
) {
    let allow = networks
        .iter()
        .filter(|network| network.team_range)
        .map(|network| network.subnet.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    for workstation in staff {
        let Some(container) = containers
            .iter_mut()
            .find(|container| container.name == workstation.container)
        else {
            continue;
        };
        let mut env = BTreeMap::new();
        env.insert(env_names::LEVEL, workstation.level.as_str().to_string());
        env.insert(env_names::ALLOW, allow.clone());
        if let Some(address) = workstation.proxy.as_ref().and_then(|proxy| proxy.address) {
            env.insert(env_names::PROXY, format!("{address}:{PROXY_PORT}"));
        }
        for (name, targets) in [
            (env_names::WEB_PROXIED, &workstation.web_via_proxy),
            (env_names::WEB, &workstation.web),
            (env_names::SHARES, &workstation.shares),
        ] {
            if !targets.is_empty() {
                env.insert(name, addresses_of(targets));
            }
        }
        for (name, target) in [
            (env_names::SMTP, &workstation.smtp),
            (env_names::IMAP, &workstation.imap),
        ] {
            if let Some(address) = target.as_ref().and_then(|target| target.address) {
                env.insert(name, address.to_string());
            }
        }
        if let Some(mail) = &scenario.mail
            && (workstation.smtp.is_some() || workstation.imap.is_some())
        {
            env.insert(env_names::MAIL_DOMAIN, mail.domain.clone());
            env.insert(env_names::MAIL_USER, STAFF_MAIL_USER.to_string());
        }
        container.env.extend(
            env.into_iter()
                .map(|(name, value)| (name.to_string(), value)),
        );
    }
}

/// Give each staff workstation the staff account's password on its
/// shares and its mailbox: the password each of those hosts was given
/// (`ENSHU_PASSWORD`, the team's where the team logs in), or else the
/// images' default. Call it after the team's passwords are set.
pub fn apply_passwords(team: &mut TeamPlan) {
    let password_of = |containers: &[ContainerSpec], target: &ResolvedTarget| {
        containers
            .iter()
            .find(|container| Some(&container.name) == target.container.as_ref())
            .and_then(|container| container.env.get("ENSHU_PASSWORD"))
            .cloned()
            .unwrap_or_else(|| IMAGE_DEFAULT_PASSWORD.to_string())
    };
    let mut passwords: Vec<(String, Vec<(&str, String)>)> = Vec::new();
    for workstation in &team.background {
        let mut env = Vec::new();
        if !workstation.shares.is_empty() {
            let shares: Vec<String> = workstation
                .shares
                .iter()
                .map(|share| password_of(&team.containers, share))
                .collect();
            env.push((env_names::SHARE_PASSWORDS, shares.join(" ")));
        }
        if let Some(mailbox) = &workstation.imap {
            env.push((
                env_names::MAIL_PASSWORD,
                password_of(&team.containers, mailbox),
            ));
        }
        passwords.push((workstation.container.clone(), env));
    }
    for (name, env) in passwords {
        if let Some(container) = team
            .containers
            .iter_mut()
            .find(|container| container.name == name)
        {
            for (key, value) in env {
                container.env.insert(key.to_string(), value);
            }
        }
    }
}

/// The plan's text: what each staff workstation does in the background.
pub(super) fn write_background(out: &mut String, team: &TeamPlan) {
    let Some(first) = team.background.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "  background ({}: one action per staff workstation about every {} s):",
        first.level.as_str(),
        first.level.mean_interval_seconds().unwrap_or_default()
    );
    let names = |targets: &[ResolvedTarget]| {
        targets
            .iter()
            .map(|target| target.reference.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for workstation in &team.background {
        let mut uses = vec!["log in".to_string()];
        if let Some(proxy) = &workstation.proxy {
            uses.push(format!(
                "browse via {} [{}]",
                proxy.reference,
                names(&workstation.web_via_proxy)
            ));
        }
        if !workstation.web.is_empty() {
            uses.push(format!("browse {}", names(&workstation.web)));
        }
        if !workstation.shares.is_empty() {
            uses.push(format!("shares {}", names(&workstation.shares)));
        }
        if let Some(smtp) = &workstation.smtp {
            uses.push(format!("send mail via {}", smtp.reference));
        }
        if let Some(imap) = &workstation.imap {
            uses.push(format!("read mail on {}", imap.reference));
        }
        let _ = writeln!(
            out,
            "    {:<24} {}",
            workstation.reference,
            uses.join(" · ")
        );
    }
}
