//! What each image role needs from the container runtime, and nothing more.
//!
//! Every container starts from `cap_drop: ALL` and `no-new-privileges`; a
//! role gets back only the capabilities its real services use, and a
//! read-only root filesystem with tmpfs where they write. The figures were
//! found by running each role under these limits (see `images/roles.md`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::ImageRole;

/// Tag every role image is built under.
pub const IMAGE_TAG: &str = "latest";

/// What a planned container is: the team's router, or a host of the
/// scenario with its image role. Printed, serialised and put in the
/// `enshu.role` label as [`ContainerRole::as_str`] says (`router`,
/// `analyst`, …), which is also the name of its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContainerRole {
    /// The team's router/firewall (not a role a scenario's host may take).
    Router,
    /// A host of the scenario.
    Host(ImageRole),
}

impl ContainerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerRole::Router => "router",
            ContainerRole::Host(image_role) => image_role.as_str(),
        }
    }

    /// What the runtime must give the container, and nothing more.
    pub fn hardening(self) -> Hardening {
        match self {
            ContainerRole::Router => hardening_for_router(),
            ContainerRole::Host(image_role) => hardening_for(image_role),
        }
    }
}

impl std::fmt::Display for ContainerRole {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for ContainerRole {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The user trainees log in as on a host of `role`, with the team's
/// password, and how: over SSH, or (the file server) to its SMB share;
/// `None` for a role that takes no logins (its hosts cannot take
/// `login: true`). Each name is the account the role's image creates
/// (`images/<role>/Dockerfile`, `images/roles.md`).
pub fn login(role: ImageRole) -> Option<(&'static str, LoginKind)> {
    match role {
        ImageRole::Analyst => Some(("analyst", LoginKind::Ssh)),
        ImageRole::Workstation => Some(("staff", LoginKind::Ssh)),
        ImageRole::Web => Some(("webadmin", LoginKind::Ssh)),
        ImageRole::Syslog => Some(("logs", LoginKind::Ssh)),
        ImageRole::Mail => Some(("mailadmin", LoginKind::Ssh)),
        ImageRole::File => Some(("staff", LoginKind::Smb)),
        ImageRole::Dns | ImageRole::Proxy | ImageRole::Internet => None,
    }
}

/// How trainees log in to a host of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// An SSH shell (sshd): such a host can also be a team's way in.
    Ssh,
    /// The SMB share only (`smbclient`), from inside the range.
    Smb,
}

/// The user trainees log in as over SSH on a host of `role`; `None` for a
/// role that runs no sshd (its hosts cannot be a way in).
pub fn login_user(role: ImageRole) -> Option<&'static str> {
    login(role)
        .filter(|(_, kind)| *kind == LoginKind::Ssh)
        .map(|(user, _)| user)
}

/// The roles whose hosts accept SSH logins, for messages.
pub fn login_roles() -> Vec<&'static str> {
    ImageRole::ALL
        .into_iter()
        .filter(|role| login_user(*role).is_some())
        .map(ImageRole::as_str)
        .collect()
}

/// The roles whose hosts accept any login (SSH or the SMB share), for messages.
pub fn any_login_roles() -> Vec<&'static str> {
    ImageRole::ALL
        .into_iter()
        .filter(|role| login(*role).is_some())
        .map(ImageRole::as_str)
        .collect()
}

/// The image a container of `role` runs.
pub fn image(role: ContainerRole) -> String {
    format!("enshu/{}:{IMAGE_TAG}", role.as_str())
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hardening {
    pub cap_drop: Vec<String>,
    pub cap_add: Vec<String>,
    pub no_new_privileges: bool,
    pub privileged: bool,
    pub read_only: bool,
    /// Paths mounted as tmpfs (writable, in memory, per container).
    pub tmpfs: Vec<String>,
    pub memory_bytes: u64,
    pub nano_cpus: u64,
    pub pids_limit: u64,
    pub sysctls: BTreeMap<String, String>,
}

const MIB: u64 = 1024 * 1024;

/// One role's measured needs (see `images/roles.md`, found by removing each
/// capability in turn until the role's smoke test failed).
fn profile(cap_add: &[&str], tmpfs: &[&str], memory_mib: u64) -> Hardening {
    let mut cap_add: Vec<String> = cap_add.iter().map(|cap| cap.to_string()).collect();
    cap_add.sort();
    Hardening {
        cap_drop: vec!["ALL".to_string()],
        cap_add,
        no_new_privileges: true,
        privileged: false,
        read_only: true,
        tmpfs: tmpfs.iter().map(|path| path.to_string()).collect(),
        memory_bytes: memory_mib * MIB,
        nano_cpus: 500_000_000,
        pids_limit: 256,
        sysctls: BTreeMap::new(),
    }
}

pub fn hardening_for(role: ImageRole) -> Hardening {
    match role {
        ImageRole::Analyst => {
            let mut hardening = profile(
                &[
                    "CHOWN",
                    "SETUID",
                    "SETGID",
                    "SYS_CHROOT",
                    "AUDIT_WRITE",
                    "KILL",
                    "NET_BIND_SERVICE",
                    "NET_RAW",
                    "NET_ADMIN",
                ],
                &["/run", "/tmp", "/var/tmp", "/home", "/var/log"],
                256,
            );
            // Trainees escalate with sudo (a setuid binary) to run tcpdump and
            // nft; root there still has only the capabilities above.
            hardening.no_new_privileges = false;
            hardening
        }
        ImageRole::Workstation => profile(
            &[
                "CHOWN",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "AUDIT_WRITE",
                "KILL",
                "NET_BIND_SERVICE",
            ],
            &[
                "/run",
                "/tmp",
                "/var/tmp",
                "/home",
                "/var/log",
                "/var/spool/rsyslog",
                "/var/spool/cron",
            ],
            96,
        ),
        // The web root is a tmpfs seeded from the image at start: a deface
        // inject writes it and the team restores it, logged in over SSH as
        // the site's administrator (sshd needs SYS_CHROOT and AUDIT_WRITE).
        ImageRole::Web => profile(
            &[
                "CHOWN",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "AUDIT_WRITE",
                "NET_BIND_SERVICE",
            ],
            &[
                "/run",
                "/tmp",
                "/var/log",
                "/var/lib/nginx",
                "/var/www/html",
            ],
            96,
        ),
        ImageRole::Mail => profile(
            &[
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "SETUID",
                "SETGID",
                "KILL",
                "NET_BIND_SERVICE",
                // sshd, for the mail administrator's login (as on the web role).
                "SYS_CHROOT",
                "AUDIT_WRITE",
            ],
            &[
                "/run",
                "/tmp",
                "/var/log",
                "/var/spool/postfix",
                "/var/lib/postfix",
                "/var/lib/dovecot",
                "/var/mail",
            ],
            192,
        ),
        ImageRole::File => profile(
            &[
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "SETUID",
                "SETGID",
                "NET_BIND_SERVICE",
            ],
            &[
                "/run",
                "/tmp",
                "/var/log",
                "/var/lib/samba",
                "/var/cache/samba",
                "/srv/share",
            ],
            192,
        ),
        ImageRole::Dns => profile(
            &["SETUID", "SETGID", "NET_BIND_SERVICE"],
            &["/run", "/tmp", "/var/log"],
            64,
        ),
        // rsyslogd, and sshd for `logs`, the team's reader of the collected
        // logs (sshd's capabilities as on the workstation).
        ImageRole::Syslog => profile(
            &[
                "CHOWN",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "AUDIT_WRITE",
                "KILL",
                "NET_BIND_SERVICE",
            ],
            &["/run", "/tmp", "/home", "/var/log", "/var/spool/rsyslog"],
            96,
        ),
        ImageRole::Proxy => profile(
            &["CHOWN", "SETUID", "SETGID"],
            &["/run", "/tmp", "/var/log", "/var/spool/squid"],
            192,
        ),
        ImageRole::Internet => profile(&["NET_BIND_SERVICE"], &["/run", "/tmp", "/var/log"], 96),
    }
}

pub fn hardening_for_router() -> Hardening {
    let mut hardening = profile(
        &["NET_ADMIN"],
        &["/run", "/tmp", "/var/log", "/etc/enshu"],
        64,
    );
    hardening
        .sysctls
        .insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    hardening
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role reads in plans, labels and image names as the bare names
    /// the plan used when it was a string.
    #[test]
    fn a_container_role_is_its_name() {
        assert_eq!(
            serde_json::to_string(&ContainerRole::Router).unwrap(),
            r#""router""#
        );
        for image_role in ImageRole::ALL {
            let role = ContainerRole::Host(image_role);
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!(r#""{}""#, image_role.as_str())
            );
            assert_eq!(role.to_string(), image_role.as_str());
            assert_eq!(image(role), format!("enshu/{}:latest", image_role.as_str()));
            assert_eq!(role.hardening(), hardening_for(image_role));
        }
        assert_eq!(image(ContainerRole::Router), "enshu/router:latest");
        assert_eq!(ContainerRole::Router.hardening(), hardening_for_router());
    }
}
