//! The team's directory (the scenario's `directory` block), resolved: what
//! the directory host provisions at start (realm, groups, users and the
//! passwords the scenario sets), the range's names its DNS answers, and
//! which staff PC logs on as which user.
//!
//! Passwords the scenario leaves out are each team's own, derived from the
//! session's secret by the caller (the CLI's `apply_credentials`), never
//! here: the plan is the same for anyone who can read the scenario.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Directory, ImageRole};
use crate::roles::ContainerRole;

use super::{ContainerSpec, ResolvedTarget, TeamAddresses};

/// The environment the directory image and the staff PCs read
/// (`images/directory`, `images/workstation`).
pub mod env_names {
    /// The domain's DNS name (directory host and staff PCs).
    pub const REALM: &str = "ENSHU_DIRECTORY_REALM";
    /// The NetBIOS domain name (directory host).
    pub const DOMAIN: &str = "ENSHU_DIRECTORY_DOMAIN";
    /// `name ...` (directory host).
    pub const GROUPS: &str = "ENSHU_DIRECTORY_GROUPS";
    /// `name:enabled:group,group` lines (directory host; a built-in
    /// group's name holds a space).
    pub const USERS: &str = "ENSHU_DIRECTORY_USERS";
    /// `name:password` lines (directory host).
    pub const PASSWORDS: &str = "ENSHU_DIRECTORY_PASSWORDS";
    /// The directory's address (staff PCs).
    pub const ADDRESS: &str = "ENSHU_DIRECTORY";
    /// The user a staff PC logs on as.
    pub const LOGON_USER: &str = "ENSHU_DIRECTORY_USER";
    /// That user's password.
    pub const LOGON_PASSWORD: &str = "ENSHU_DIRECTORY_PASSWORD";
    /// The range's names the directory's DNS answers (`name=address ...`).
    pub const DNS_RECORDS: &str = "ENSHU_DNS_RECORDS";
}

/// The team's directory, resolved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DirectoryPlan {
    /// The directory host.
    pub host: ResolvedTarget,
    pub realm: String,
    pub domain: String,
    pub users: Vec<PlannedDirectoryUser>,
}

/// One account of the team's directory.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedDirectoryUser {
    pub name: String,
    /// Whether the scenario sets its password (otherwise the team's own
    /// is derived by the caller).
    pub scenario_password: bool,
    /// The staff PC that logs on as this user, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<ResolvedTarget>,
}

impl DirectoryPlan {
    /// The container of the directory host.
    pub fn container(&self) -> Option<&str> {
        self.host.container.as_deref()
    }
}

pub(super) fn plan_directory(
    directory: &Directory,
    addresses: &TeamAddresses,
    prefix: &str,
) -> DirectoryPlan {
    DirectoryPlan {
        host: addresses.resolve(&directory.host, prefix),
        realm: directory.realm.to_lowercase(),
        domain: directory.domain.to_uppercase(),
        users: directory
            .users
            .iter()
            .map(|user| PlannedDirectoryUser {
                name: user.name.clone(),
                scenario_password: user.password.is_some(),
                workstation: user
                    .workstation
                    .as_ref()
                    .map(|workstation| addresses.resolve(workstation, prefix)),
            })
            .collect(),
    }
}

/// The directory host's and the staff PCs' environment.
pub(super) fn directory_env(
    directory: &Directory,
    addresses: &TeamAddresses,
    containers: &mut [ContainerSpec],
) {
    let Ok(host) = addresses.topology.host_ref(&directory.host) else {
        return;
    };
    let reference = format!("{}/{}", host.segment, host.name);
    let directory_address = addresses.host_address(host).to_string();
    let realm = directory.realm.to_lowercase();
    // The range's own names (the team's hosts), as the dns role answered
    // them, in the zone the image serves (`<host>.city.saida.lg.jp`).
    let records: Vec<String> = addresses
        .topology
        .scenario
        .hosts
        .iter()
        .filter(|host| addresses.topology.is_team_host(host))
        .map(|host| format!("{}={}", host.name, addresses.host_address(host)))
        .collect();
    let mut logons: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    for user in &directory.users {
        if let Some(workstation) = &user.workstation
            && let Ok(workstation) = addresses.topology.host_ref(workstation)
        {
            logons.insert(
                format!("{}/{}", workstation.segment, workstation.name),
                (user.name.clone(), user.password.clone()),
            );
        }
    }
    for container in containers.iter_mut() {
        if container.reference == reference
            && container.role == ContainerRole::Host(ImageRole::Directory)
        {
            let env = &mut container.env;
            env.insert(env_names::REALM.to_string(), realm.clone());
            env.insert(
                env_names::DOMAIN.to_string(),
                directory.domain.to_uppercase(),
            );
            env.insert(env_names::GROUPS.to_string(), directory.groups.join(" "));
            let users: Vec<String> = directory
                .users
                .iter()
                .map(|user| {
                    format!(
                        "{}:{}:{}",
                        user.name,
                        u8::from(user.enabled),
                        user.groups.join(",")
                    )
                })
                .collect();
            env.insert(env_names::USERS.to_string(), users.join("\n"));
            let passwords: Vec<String> = directory
                .users
                .iter()
                .filter_map(|user| {
                    user.password
                        .as_ref()
                        .map(|password| format!("{}:{password}", user.name))
                })
                .collect();
            if !passwords.is_empty() {
                env.insert(env_names::PASSWORDS.to_string(), passwords.join("\n"));
            }
            env.insert(env_names::DNS_RECORDS.to_string(), records.join(" "));
        } else if let Some((user, password)) = logons.get(&container.reference) {
            let env = &mut container.env;
            env.insert(env_names::ADDRESS.to_string(), directory_address.clone());
            env.insert(env_names::REALM.to_string(), realm.clone());
            env.insert(env_names::LOGON_USER.to_string(), user.clone());
            if let Some(password) = password {
                env.insert(env_names::LOGON_PASSWORD.to_string(), password.clone());
            }
        }
    }
}
