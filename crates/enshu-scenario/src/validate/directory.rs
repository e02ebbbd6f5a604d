//! The team's directory: its host exists, is a directory host of the
//! team's range; its realm, domain, groups and users are names Samba
//! takes; every user's groups are the directory's; a user's workstation is
//! a staff PC of the team that reaches the directory's Kerberos port; and
//! every account an automatic check on a directory host names exists
//! there (a user of the block, `Administrator`, or one a `user` artefact
//! creates on that host).

use crate::model::*;
use crate::roles::{self, DIRECTORY_ADMINISTRATOR};

use super::Checker;

/// The Kerberos port a staff PC logs on through.
const KERBEROS_PORT: u16 = 88;
/// Accounts every domain has, which the block cannot create again.
const BUILT_IN_ACCOUNTS: &[&str] = &["administrator", "guest", "krbtgt"];
/// Groups every domain has, which users may be in and checks may name.
pub const BUILT_IN_GROUPS: &[&str] = &[
    "Domain Admins",
    "Domain Users",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Account Operators",
    "Backup Operators",
    "Remote Desktop Users",
];

fn is_built_in_group(group: &str) -> bool {
    BUILT_IN_GROUPS
        .iter()
        .any(|built_in| built_in.eq_ignore_ascii_case(group))
}

/// `sAMAccountName`-safe: letters, digits, `.`, `_`, `-`, at most 20,
/// not starting with `-` or `.`.
fn is_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 20
        && !name.starts_with(['-', '.'])
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-')
        })
}

fn is_realm(realm: &str) -> bool {
    let labels: Vec<&str> = realm.split('.').collect();
    realm.len() <= 200
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '-')
        })
}

fn is_netbios_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 15
        && domain
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-')
}

const ACCOUNT_RULE: &str = "use letters, digits, '.', '_' and '-', at most 20 characters";

impl Checker<'_> {
    pub(super) fn directory(&mut self) {
        if let Some(directory) = &self.scenario.directory {
            self.directory_block(directory);
        }
        self.directory_accounts();
    }

    fn directory_block(&mut self, directory: &Directory) {
        match self.topology.host_ref(&directory.host) {
            Err(message) => self.error("directory.host", message),
            Ok(host) if host.image != ImageRole::Directory => self.error(
                "directory.host",
                format!(
                    "{} is a {} host; the directory must be a host of image directory",
                    directory.host,
                    host.image.as_str()
                ),
            ),
            Ok(host) if !self.topology.is_team_host(host) => self.error(
                "directory.host",
                format!(
                    "{} is outside the team's range; the directory must be one of the team's hosts",
                    directory.host
                ),
            ),
            Ok(_) => {}
        }
        if !is_realm(&directory.realm) {
            self.error(
                "directory.realm",
                format!(
                    "realm {:?} is not a DNS name: use two or more labels of letters, digits and '-', e.g. ad.city.saida.lg.jp",
                    directory.realm
                ),
            );
        }
        if !is_netbios_domain(&directory.domain) {
            self.error(
                "directory.domain",
                format!(
                    "domain {:?} is not a NetBIOS name: use letters, digits and '-', at most 15 characters, e.g. SAIDA",
                    directory.domain
                ),
            );
        }
        for (index, group) in directory.groups.iter().enumerate() {
            if !is_account_name(group) {
                self.error(
                    format!("directory.groups[{index}]"),
                    format!("group name {group:?} is not valid: {ACCOUNT_RULE}"),
                );
            } else if is_built_in_group(group) {
                self.error(
                    format!("directory.groups[{index}]"),
                    format!("{group:?} is a group every domain has; a user may be in it without naming it here"),
                );
            }
            if directory.groups[..index]
                .iter()
                .any(|seen| seen.eq_ignore_ascii_case(group))
            {
                self.error(
                    format!("directory.groups[{index}]"),
                    format!("group {group:?} is named twice"),
                );
            }
        }
        let mut workstations: Vec<(String, String)> = Vec::new();
        for (index, user) in directory.users.iter().enumerate() {
            let path = format!("directory.users[{index}]");
            if !is_account_name(&user.name) {
                self.error(
                    format!("{path}.name"),
                    format!("user name {:?} is not valid: {ACCOUNT_RULE}", user.name),
                );
            } else if BUILT_IN_ACCOUNTS.contains(&user.name.to_lowercase().as_str()) {
                self.error(
                    format!("{path}.name"),
                    format!(
                        "{:?} is an account every domain has ({DIRECTORY_ADMINISTRATOR} is the team's); name another user",
                        user.name
                    ),
                );
            }
            if directory.users[..index]
                .iter()
                .any(|seen| seen.name.eq_ignore_ascii_case(&user.name))
            {
                self.error(
                    format!("{path}.name"),
                    format!("user {:?} is named twice", user.name),
                );
            }
            for (group_index, group) in user.groups.iter().enumerate() {
                if !is_built_in_group(group)
                    && !directory
                        .groups
                        .iter()
                        .any(|known| known.eq_ignore_ascii_case(group))
                {
                    let mut groups = directory.groups.clone();
                    groups.dedup_by(|later, earlier| later.eq_ignore_ascii_case(earlier));
                    let known = if groups.is_empty() {
                        "the directory has none (add it to directory.groups)".to_string()
                    } else {
                        format!(
                            "its groups are {} (and the domain's own: {})",
                            groups.join(", "),
                            BUILT_IN_GROUPS.join(", ")
                        )
                    };
                    self.error(
                        format!("{path}.groups[{group_index}]"),
                        format!(
                            "user {:?} is in group {group:?}, which is not a group of the directory; {known}",
                            user.name
                        ),
                    );
                }
            }
            if let Some(password) = &user.password
                && (password.is_empty() || password.contains(['\n', '\r', '\0']))
            {
                self.error(
                    format!("{path}.password"),
                    "a password must be one line of at least one character",
                );
            }
            if let Some(workstation) = &user.workstation {
                self.directory_workstation(directory, &path, user, workstation, &mut workstations);
            }
        }
    }

    fn directory_workstation(
        &mut self,
        directory: &Directory,
        path: &str,
        user: &DirectoryUser,
        workstation: &str,
        seen: &mut Vec<(String, String)>,
    ) {
        let path = format!("{path}.workstation");
        let host = match self.topology.host_ref(workstation) {
            Ok(host) => host,
            Err(message) => {
                self.error(path, message);
                return;
            }
        };
        if host.image != ImageRole::Workstation || !self.topology.is_team_host(host) {
            self.error(
                path,
                format!(
                    "{workstation} is a {} host{}; a user's workstation is a staff PC of the team's range (image workstation)",
                    host.image.as_str(),
                    if self.topology.is_team_host(host) { "" } else { " outside the team's range" }
                ),
            );
            return;
        }
        let reference = format!("{}/{}", host.segment, host.name);
        if let Some((_, other)) = seen.iter().find(|(seen, _)| *seen == reference) {
            self.error(
                path,
                format!(
                    "{workstation} is already {other:?}'s workstation; a staff PC logs on as one user"
                ),
            );
            return;
        }
        seen.push((reference, user.name.clone()));
        if let Ok(directory_host) = self.topology.host_ref(&directory.host)
            && !self
                .topology
                .reaches(host, directory_host, Protocol::Tcp, KERBEROS_PORT)
        {
            self.error(
                path,
                format!(
                    "no flow lets {workstation} reach the directory {} on tcp/{KERBEROS_PORT} (Kerberos), where it logs on; add a flow such as {{from: {workstation}, to: {}, ports: [tcp/88, udp/88]}}",
                    directory.host, directory.host
                ),
            );
        }
    }

    /// Every account a check on a directory host names exists there.
    fn directory_accounts(&mut self) {
        for (index, objective) in self.scenario.objectives.iter().enumerate() {
            let Evidence::Check(check) = &objective.evidence else {
                continue;
            };
            if !roles::judges_directory_account(check.kind) {
                continue;
            }
            let Ok(host) = self.topology.host_ref(&check.target) else {
                continue;
            };
            if host.image != ImageRole::Directory {
                continue;
            }
            if check.kind == CheckKind::PasswordChanged && objective.inject.is_none() {
                self.error(
                    format!("objectives[{index}].evidence.check.kind"),
                    "password_changed judges a password set after the objective's inject fired: give the objective an `inject`",
                );
            }
            if check.kind == CheckKind::NotInGroup
                && let Some(group) = &check.group
            {
                let mut groups = self.directory_groups_of(host);
                groups.extend(BUILT_IN_GROUPS.iter().map(|group| group.to_string()));
                if !groups.iter().any(|known| known.eq_ignore_ascii_case(group)) {
                    self.error(
                        format!("objectives[{index}].evidence.check.group"),
                        format!(
                            "the directory {}/{} has no group {group:?}; its groups are {}",
                            host.segment,
                            host.name,
                            if groups.is_empty() {
                                "none".to_string()
                            } else {
                                groups.join(", ")
                            }
                        ),
                    );
                }
            }
            let Some(name) = &check.name else {
                continue;
            };
            let known = self.directory_account_names(host);
            if !known.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                self.error(
                    format!("objectives[{index}].evidence.check.name"),
                    format!(
                        "the directory {}/{} has no account {name:?}; its accounts are {} (the directory block's users, {DIRECTORY_ADMINISTRATOR} and the users injects create there)",
                        host.segment,
                        host.name,
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// The accounts of directory host `host`: `Administrator`, the block's
    /// users (when the block names this host) and the `user` artefacts
    /// aimed at it.
    fn directory_account_names(&self, host: &Host) -> Vec<String> {
        let mut names = vec![DIRECTORY_ADMINISTRATOR.to_string()];
        if let Some(directory) = &self.scenario.directory
            && self
                .topology
                .host_ref(&directory.host)
                .is_ok_and(|served| served.name == host.name)
        {
            names.extend(directory.users.iter().map(|user| user.name.clone()));
        }
        for inject in &self.scenario.injects {
            if let Action::Artefact(artefact) = &inject.action
                && artefact.kind == ArtefactKind::User
                && let Some(name) = &artefact.name
                && self
                    .topology
                    .host_ref(&inject.target)
                    .is_ok_and(|target| target.name == host.name)
            {
                names.push(name.clone());
            }
        }
        let mut seen = Vec::new();
        names.retain(|name| {
            let new = !seen
                .iter()
                .any(|seen: &String| seen.eq_ignore_ascii_case(name));
            seen.push(name.clone());
            new
        });
        names
    }

    /// The groups of directory host `host` (the block's, when it names it).
    fn directory_groups_of(&self, host: &Host) -> Vec<String> {
        match &self.scenario.directory {
            Some(directory)
                if self
                    .topology
                    .host_ref(&directory.host)
                    .is_ok_and(|served| served.name == host.name) =>
            {
                let mut groups = directory.groups.clone();
                groups.dedup_by(|later, earlier| later.eq_ignore_ascii_case(earlier));
                groups
            }
            _ => Vec::new(),
        }
    }
}

/// The most accounts a password spray tries.
pub const MAX_SPRAY_USERS: usize = 200;

impl Checker<'_> {
    /// A spray's accounts and password are names and a line a logon
    /// takes; brute force and spraying against the directory go to its
    /// LDAP (389) or SMB (445) port, where each guess is a logged logon.
    pub(super) fn guessing_traffic(&mut self, path: &str, traffic: &Traffic) {
        if traffic.kind == TrafficKind::PasswordSpray {
            if traffic.users.len() > MAX_SPRAY_USERS {
                self.error(
                    format!("{path}.users"),
                    format!("a spray tries at most {MAX_SPRAY_USERS} accounts"),
                );
            }
            for (index, user) in traffic.users.iter().enumerate() {
                if !is_account_name(user) {
                    self.error(
                        format!("{path}.users[{index}]"),
                        format!("account name {user:?} is not valid: {ACCOUNT_RULE}"),
                    );
                }
            }
            if let Some(password) = &traffic.password
                && (password.is_empty()
                    || password.len() > 128
                    || password.contains(['\n', '\r', '\0']))
            {
                self.error(
                    format!("{path}.password"),
                    "a password must be one line of 1 to 128 characters",
                );
            }
        }
        if !matches!(
            traffic.kind,
            TrafficKind::BruteForce | TrafficKind::PasswordSpray
        ) {
            return;
        }
        let Ok(destination) = self.topology.host_ref(&traffic.to) else {
            return;
        };
        if destination.image != ImageRole::Directory {
            return;
        }
        if let Some(user) = &traffic.user
            && !is_account_name(user)
        {
            self.error(
                format!("{path}.user"),
                format!("account name {user:?} is not valid: {ACCOUNT_RULE}"),
            );
        }
        if let Some(port) = traffic
            .ports
            .first()
            .and_then(|port| port.ports)
            .map(|(low, _)| low)
            && !DIRECTORY_GUESS_PORTS.contains(&port)
        {
            self.error(
                format!("{path}.ports"),
                format!(
                    "guesses against the directory {} go to tcp/389 (LDAP) or tcp/445 (SMB), where each is a logged logon; not tcp/{port}",
                    traffic.to
                ),
            );
        }
    }
}

/// The directory's ports a guessing generator logs on at.
const DIRECTORY_GUESS_PORTS: &[u16] = &[389, 445];
