//! What each image role needs from the container runtime, and nothing more.
//!
//! Every container starts from `cap_drop: ALL` and `no-new-privileges`; a
//! role gets back only the capabilities its real services use, and a
//! read-only root filesystem with tmpfs where they write. The figures were
//! found by running each role under these limits (see `images/roles.md`).
//!
//! Beside the hardening, each role declares what its image supports
//! ([`support`]): the artefacts that can be planted there and the writable
//! paths they may touch, the traffic it can originate, the checks it can
//! be the target of, its accounts and the ports it serves. `validate`
//! refuses an inject or a check its target's role cannot carry, so a
//! scenario that validates does not fail at run time for want of a tool,
//! a writable path or an account.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{ArtefactKind, CheckKind, ImageRole, TrafficKind};

/// Tag every role image is built under: `latest`, or the value of
/// `ENSHU_IMAGE_TAG` when Enshu was compiled (so that two checkouts on one
/// machine can each build and test their own images: `infra/images.sh`
/// reads the same variable).
pub const IMAGE_TAG: &str = match option_env!("ENSHU_IMAGE_TAG") {
    Some(tag) => tag,
    None => "latest",
};

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
        ImageRole::Backup => Some(("backup", LoginKind::Ssh)),
        ImageRole::Dns | ImageRole::Directory | ImageRole::Proxy | ImageRole::Internet => None,
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
        // Samba AD DC, provisioned at start on the /var/lib/samba tmpfs;
        // sysvol's NT ACLs go to a tdb (xattr_tdb), not to security.*
        // xattrs, so no SYS_ADMIN. CHOWN, SETUID and SETGID: the provision
        // and smbd fail without them (sysvol ownership, impersonating a
        // user); dnsmasq in front drops to its user. One CPU: the provision is
        // about 9 CPU-seconds of Python.
        ImageRole::Directory => {
            let mut hardening = profile(
                DIRECTORY_CAPABILITIES,
                &[
                    "/run",
                    "/tmp",
                    "/var/log",
                    "/var/lib/samba",
                    "/var/cache/samba",
                ],
                384,
            );
            hardening.nano_cpus = 1_000_000_000;
            hardening
        }
        // rsyslogd, and sshd for `logs`, the team's reader of the collected
        // logs (sshd's capabilities as on the workstation). NET_ADMIN: the
        // init loads the collector's per-sender limits on 514 (nft, in
        // the container's own network namespace).
        ImageRole::Syslog => profile(
            &[
                "CHOWN",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "AUDIT_WRITE",
                "KILL",
                "NET_BIND_SERVICE",
                "NET_ADMIN",
            ],
            &["/run", "/tmp", "/home", "/var/log", "/var/spool/rsyslog"],
            128,
        ),
        ImageRole::Proxy => profile(
            &["CHOWN", "SETUID", "SETGID"],
            &["/run", "/tmp", "/var/log", "/var/spool/squid"],
            192,
        ),
        ImageRole::Internet => profile(&["NET_BIND_SERVICE"], &["/run", "/tmp", "/var/log"], 96),
        // sshd for `backup`, who restores from the copies (sshd's
        // capabilities as on the workstation); the copies are root's, on
        // the /srv/backup tmpfs, written by the controller at `up`.
        ImageRole::Backup => profile(
            &[
                "CHOWN",
                "SETUID",
                "SETGID",
                "SYS_CHROOT",
                "AUDIT_WRITE",
                "KILL",
                "NET_BIND_SERVICE",
            ],
            &["/run", "/tmp", "/home", "/var/log", BACKUP_STORE],
            128,
        ),
    }
}

/// What the directory role's Samba and dnsmasq need (`images/roles.md`).
const DIRECTORY_CAPABILITIES: &[&str] = &["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"];

pub fn hardening_for_router() -> Hardening {
    let mut hardening = profile(
        &["NET_ADMIN"],
        &["/run", "/tmp", "/var/log", "/etc/enshu"],
        128,
    );
    hardening
        .sysctls
        .insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    // The flow records: conntrack counts each connection's packets and
    // bytes, and a closed TCP connection is reported after 10 s instead of
    // TIME_WAIT's two minutes.
    for (key, value) in [
        ("net.netfilter.nf_conntrack_acct", "1"),
        ("net.netfilter.nf_conntrack_tcp_timeout_time_wait", "10"),
    ] {
        hardening.sysctls.insert(key.to_string(), value.to_string());
    }
    hardening
}

/// Where an artefact kind may write on a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The kind names no path (a process, a cron line, a user).
    NoPath,
    /// Anywhere on the role's writable paths (its tmpfs mounts).
    Writable,
    /// Only under these directories (each one of the role's tmpfs mounts).
    Under(&'static [&'static str]),
}

/// What a role's image supports: one row of [`support`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// The artefact kinds that can be planted, each with where it may write.
    pub artefacts: &'static [(ArtefactKind, Reach)],
    /// The traffic kinds the role can originate (the tools they run are in
    /// its image: curl, sshpass, dig, coreutils' timeout).
    pub traffic: &'static [TrafficKind],
    /// The check kinds the role can be the target of.
    pub checks: &'static [CheckKind],
    /// Accounts the image creates with its initial password, which
    /// `account_disabled` can judge and a `user` artefact cannot add again.
    pub accounts: &'static [&'static str],
    /// Ports the role's daemons listen on (`port_open`).
    pub ports: &'static [&'static str],
    /// The TCP ports among them that answer HTTP (`http`).
    pub http_ports: &'static [u16],
}

impl Support {
    /// Where artefact `kind` may write, or `None` when the role does not
    /// take it.
    pub fn artefact(&self, kind: ArtefactKind) -> Option<Reach> {
        self.artefacts
            .iter()
            .find(|(supported, _)| *supported == kind)
            .map(|(_, reach)| *reach)
    }

    pub fn artefact_kinds(&self) -> Vec<ArtefactKind> {
        self.artefacts.iter().map(|(kind, _)| *kind).collect()
    }

    pub fn takes_check(&self, kind: CheckKind) -> bool {
        self.checks.contains(&kind)
    }

    pub fn originates(&self, kind: TrafficKind) -> bool {
        self.traffic.contains(&kind)
    }

    /// Whether the role listens on TCP port `port`.
    pub fn serves_tcp(&self, port: u16) -> bool {
        self.ports.contains(&format!("tcp/{port}").as_str())
    }
}

/// Every traffic kind: one base image carries every generator's tools
/// (`images/base/packages.txt`), and none needs a capability.
const ALL_TRAFFIC: &[TrafficKind] = &[
    TrafficKind::Scan,
    TrafficKind::Beacon,
    TrafficKind::BruteForce,
    TrafficKind::PasswordSpray,
    TrafficKind::Exfiltration,
    TrafficKind::DnsTunnel,
];

/// Checks that run on any role: a connect, a look at files on its writable
/// paths, `pgrep`, and being the source `no_beacon` watches.
const BASIC_CHECKS: &[CheckKind] = &[
    CheckKind::PortOpen,
    CheckKind::PortClosed,
    CheckKind::FilePresent,
    CheckKind::FileAbsent,
    CheckKind::FileHash,
    CheckKind::ProcessAbsent,
    CheckKind::NoBeacon,
    CheckKind::Command,
];

/// [`BASIC_CHECKS`] and `account_disabled`: the image sets its accounts'
/// passwords at start, where the check can read them.
const CHECKS_WITH_ACCOUNTS: &[CheckKind] = &[
    CheckKind::PortOpen,
    CheckKind::PortClosed,
    CheckKind::FilePresent,
    CheckKind::FileAbsent,
    CheckKind::FileHash,
    CheckKind::ProcessAbsent,
    CheckKind::NoBeacon,
    CheckKind::AccountDisabled,
    CheckKind::Command,
];

/// Files, logs, processes and encrypted directories: every role has tmpfs
/// to write them (`images/roles.md`, writable column).
const BASIC_ARTEFACTS: &[(ArtefactKind, Reach)] = &[
    (ArtefactKind::File, Reach::Writable),
    (ArtefactKind::Log, Reach::Writable),
    (ArtefactKind::Process, Reach::NoPath),
    (ArtefactKind::Encrypt, Reach::Writable),
];

/// [`BASIC_ARTEFACTS`] and `user`: the role renders `/etc/shadow` (a
/// symlink into `/run/enshu`) at start, so an account line can be added
/// (`/etc/passwd` stays on the read-only root), and its trainee can see it
/// (`sudo` on the analyst box, a new `/home/<user>` on a staff PC).
const ARTEFACTS_WITH_SHADOW: &[(ArtefactKind, Reach)] = &[
    (ArtefactKind::File, Reach::Writable),
    (ArtefactKind::Log, Reach::Writable),
    (ArtefactKind::Process, Reach::NoPath),
    (ArtefactKind::Encrypt, Reach::Writable),
    (ArtefactKind::User, Reach::NoPath),
];

/// What each role's image supports, found from its Dockerfile and init
/// (`images/<role>/`), its hardening above and the injector's and checks'
/// programs. The writable paths are the role's tmpfs mounts
/// ([`hardening_for`]).
pub fn support(role: ImageRole) -> Support {
    match role {
        ImageRole::Analyst => Support {
            artefacts: ARTEFACTS_WITH_SHADOW,
            traffic: ALL_TRAFFIC,
            checks: CHECKS_WITH_ACCOUNTS,
            accounts: &["analyst"],
            ports: &["tcp/22"],
            http_ports: &[],
        },
        // The only role running cron with a writable spool: a cron line
        // there runs, and `crontab -l` shows it.
        ImageRole::Workstation => Support {
            artefacts: &[
                (ArtefactKind::File, Reach::Writable),
                (ArtefactKind::Log, Reach::Writable),
                (ArtefactKind::Process, Reach::NoPath),
                (ArtefactKind::Encrypt, Reach::Writable),
                (ArtefactKind::User, Reach::NoPath),
                (ArtefactKind::Cron, Reach::NoPath),
            ],
            traffic: ALL_TRAFFIC,
            checks: CHECKS_WITH_ACCOUNTS,
            accounts: &["staff"],
            ports: &["tcp/22"],
            http_ports: &[],
        },
        // The only role with a web root to deface; `admin` is the
        // htpasswd user of /admin/, `webadmin` the SSH administrator. No
        // `user`: its line would go into /etc/shadow, which webadmin (no
        // sudo) cannot read, and /home is on the read-only root, so neither
        // a check nor the team would ever see the account.
        ImageRole::Web => Support {
            artefacts: &[
                (ArtefactKind::File, Reach::Writable),
                (ArtefactKind::Log, Reach::Writable),
                (ArtefactKind::Process, Reach::NoPath),
                (ArtefactKind::Encrypt, Reach::Writable),
                (ArtefactKind::Deface, Reach::Under(&["/var/www/html"])),
            ],
            traffic: ALL_TRAFFIC,
            checks: &[
                CheckKind::Http,
                CheckKind::PortOpen,
                CheckKind::PortClosed,
                CheckKind::FilePresent,
                CheckKind::FileAbsent,
                CheckKind::FileHash,
                CheckKind::ProcessAbsent,
                CheckKind::NoBeacon,
                CheckKind::AccountDisabled,
                CheckKind::Restored,
                CheckKind::Command,
            ],
            accounts: &["admin", "webadmin"],
            ports: &["tcp/80", "tcp/22"],
            http_ports: &[80],
        },
        // Mailbox users are dovecot's (ENSHU_MAIL_USERS, default
        // `team staff`); /etc/shadow is not rendered, so no `user`.
        ImageRole::Mail => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: CHECKS_WITH_ACCOUNTS,
            accounts: &["team", "staff"],
            ports: &["tcp/25", "tcp/143"],
            http_ports: &[],
        },
        // `staff` is Samba's (smbpasswd), which account_disabled does not
        // read, and /etc/shadow is not rendered.
        ImageRole::File => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: &[
                CheckKind::PortOpen,
                CheckKind::PortClosed,
                CheckKind::FilePresent,
                CheckKind::FileAbsent,
                CheckKind::FileHash,
                CheckKind::ProcessAbsent,
                CheckKind::NoBeacon,
                CheckKind::Restored,
                CheckKind::Command,
            ],
            accounts: &[],
            ports: &["tcp/445"],
            http_ports: &[],
        },
        ImageRole::Dns => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: BASIC_CHECKS,
            accounts: &[],
            ports: &["udp/53", "tcp/53"],
            http_ports: &[],
        },
        // A `user` artefact creates a domain account; `Administrator` is
        // the team's. `account_disabled` judges the domain's accounts
        // (userAccountControl), which `validate` takes from the
        // scenario's `directory` block and its user artefacts.
        ImageRole::Directory => Support {
            artefacts: &[
                (ArtefactKind::File, Reach::Writable),
                (ArtefactKind::Log, Reach::Writable),
                (ArtefactKind::Process, Reach::NoPath),
                (ArtefactKind::Encrypt, Reach::Writable),
                (ArtefactKind::User, Reach::NoPath),
            ],
            traffic: ALL_TRAFFIC,
            checks: DIRECTORY_CHECKS,
            accounts: &[DIRECTORY_ADMINISTRATOR],
            ports: &[
                "udp/53", "tcp/53", "udp/88", "tcp/88", "tcp/389", "tcp/445", "tcp/464",
            ],
            http_ports: &[],
        },
        ImageRole::Syslog => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: BASIC_CHECKS,
            accounts: &[],
            ports: &["udp/514", "tcp/514"],
            http_ports: &[],
        },
        ImageRole::Proxy => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: BASIC_CHECKS,
            accounts: &[],
            ports: &["tcp/3128"],
            http_ports: &[],
        },
        // The C2: answers HTTP on 80 and 8080 and logs every request;
        // `no_beacon` counts the beacons to it on the team's router.
        ImageRole::Internet => Support {
            artefacts: BASIC_ARTEFACTS,
            traffic: ALL_TRAFFIC,
            checks: &[
                CheckKind::Http,
                CheckKind::PortOpen,
                CheckKind::PortClosed,
                CheckKind::FilePresent,
                CheckKind::FileAbsent,
                CheckKind::FileHash,
                CheckKind::ProcessAbsent,
                CheckKind::NoBeacon,
                CheckKind::Command,
            ],
            accounts: &[],
            ports: &["tcp/80", "tcp/8080"],
            http_ports: &[80, 8080],
        },
        // Offline: no inject reaches it (validate refuses them), so it
        // takes no artefact and originates no traffic; `backup` restores.
        ImageRole::Backup => Support {
            artefacts: &[],
            traffic: &[],
            checks: &[
                CheckKind::PortOpen,
                CheckKind::PortClosed,
                CheckKind::AccountDisabled,
                CheckKind::Command,
            ],
            accounts: &["backup"],
            ports: &["tcp/22"],
            http_ports: &[],
        },
    }
}

/// The directory's administrator account, whose password is the team's.
pub const DIRECTORY_ADMINISTRATOR: &str = "Administrator";

/// Whether a check of `kind` on a directory host names one of the
/// domain's accounts (`name`), which must exist there.
pub fn judges_directory_account(kind: CheckKind) -> bool {
    matches!(
        kind,
        CheckKind::AccountDisabled | CheckKind::PasswordChanged | CheckKind::NotInGroup
    )
}

/// The checks only a directory takes: they read the domain's accounts.
const DIRECTORY_CHECKS: &[CheckKind] = &[
    CheckKind::PortOpen,
    CheckKind::PortClosed,
    CheckKind::FilePresent,
    CheckKind::FileAbsent,
    CheckKind::FileHash,
    CheckKind::ProcessAbsent,
    CheckKind::NoBeacon,
    CheckKind::AccountDisabled,
    CheckKind::PasswordChanged,
    CheckKind::NotInGroup,
    CheckKind::Command,
];

/// The roles a `no_beacon` check's `to` (the C2 its beacons go to) may
/// have; the check counts them on the team's router.
pub const C2_ROLES: &[ImageRole] = &[ImageRole::Internet];

/// Whether `path` lies on one of `role`'s writable paths (tmpfs mounts; the
/// root is read-only).
pub fn writable(role: ImageRole, path: &str) -> bool {
    under_any(&hardening_for(role).tmpfs, path)
}

/// Whether `path` is `directory` or lies below it.
pub fn is_under(directory: &str, path: &str) -> bool {
    let directory = directory.trim_end_matches('/');
    path == directory
        || path
            .strip_prefix(directory)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn under_any<S: AsRef<str>>(directories: &[S], path: &str) -> bool {
    directories
        .iter()
        .any(|directory| is_under(directory.as_ref(), path))
}

/// Whether artefact reach `reach` on `role` lets it write `path`.
pub fn reaches(role: ImageRole, reach: Reach, path: &str) -> bool {
    match reach {
        Reach::NoPath => true,
        Reach::Writable => writable(role, path),
        Reach::Under(directories) => under_any(directories, path),
    }
}

/// Whether a host of `role` can send mail (the target of a `mail` inject,
/// the SOC's sender): the injector's SMTP client is a Python program
/// (`crates/enshu-injector/scripts/mail/send.py`), and python3 is in the
/// base image every role is built from (`images/base/packages.txt`).
/// `crates/enshu-injector/tests/docker_role_support.rs` runs it on every role.
pub fn sends_mail(role: ImageRole) -> bool {
    ImageRole::ALL.contains(&role)
}

/// Where a backup host keeps its copies (a tmpfs of the backup role): one
/// tree per host backed up, `<store>/<host>/` mirroring the host's data
/// paths, and its manifest `<store>/<host>.sha256` (`sha256sum` lines,
/// paths relative to the host's `/`, e.g. `./srv/share/a.txt`), written
/// last: a manifest means a complete copy.
pub const BACKUP_STORE: &str = "/srv/backup";

/// The directories a backup of a host of `role` copies: the data its
/// users keep there, which ransomware encrypts and a defacer overwrites.
/// Empty for a role with nothing to back up.
pub fn data_paths(role: ImageRole) -> &'static [&'static str] {
    match role {
        ImageRole::File => &["/srv/share"],
        ImageRole::Web => &["/var/www/html"],
        _ => &[],
    }
}

/// How a backup host puts a host of `role`'s data back: as which of its
/// users, over which TCP port (SMB to the file server's share as `staff`,
/// rsync over SSH to the web server as `webadmin`). `None` for a role
/// with nothing to back up.
pub fn restore_access(role: ImageRole) -> Option<(&'static str, u16)> {
    if data_paths(role).is_empty() {
        return None;
    }
    login(role).map(|(user, kind)| match kind {
        LoginKind::Ssh => (user, 22),
        LoginKind::Smb => (user, 445),
    })
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
            assert_eq!(
                image(role),
                format!("enshu/{}:{IMAGE_TAG}", image_role.as_str())
            );
            assert_eq!(role.hardening(), hardening_for(image_role));
        }
        assert_eq!(
            image(ContainerRole::Router),
            format!("enshu/router:{IMAGE_TAG}")
        );
        assert_eq!(ContainerRole::Router.hardening(), hardening_for_router());
    }

    /// Every path a role's table names is one of its tmpfs mounts, and
    /// every listed account, port and kind is spelt as the format spells it.
    #[test]
    fn every_role_declares_what_it_supports_within_its_hardening() {
        for image_role in ImageRole::ALL {
            let support = support(image_role);
            for (kind, reach) in support.artefacts {
                if let Reach::Under(directories) = reach {
                    for directory in *directories {
                        assert!(
                            writable(image_role, directory),
                            "{image_role:?}: {kind:?} reaches {directory}, which is not writable"
                        );
                    }
                }
            }
            for port in support.ports {
                assert!(
                    port.parse::<crate::model::PortSpec>().is_ok(),
                    "{image_role:?}: {port}"
                );
            }
            assert!(writable(image_role, "/tmp/x"), "{image_role:?}");
            assert!(!writable(image_role, "/etc/passwd"), "{image_role:?}");
        }
        assert_eq!(
            support(ImageRole::Dns).artefact(ArtefactKind::User),
            None,
            "the dns role renders no /etc/shadow"
        );
        assert!(!writable(ImageRole::Web, "/var/www"));
        assert!(writable(ImageRole::Web, "/var/www/html/index.html"));
        assert!(support(ImageRole::Internet).serves_tcp(8080));
        for image_role in ImageRole::ALL {
            let support = support(image_role);
            assert_eq!(
                support.takes_check(CheckKind::Http),
                !support.http_ports.is_empty(),
                "{image_role:?}: http checks go where something answers HTTP"
            );
            for port in support.http_ports {
                assert!(support.serves_tcp(*port), "{image_role:?}: {port}");
            }
        }
        assert!(!support(ImageRole::Web).serves_tcp(8080));
    }

    /// What a backup copies is where the role's users (and ransomware)
    /// write, the restore reaches a port the role serves as one of its
    /// users, and `restored` goes where there is something to restore.
    #[test]
    fn backed_up_roles_have_writable_data_and_a_way_back() {
        for image_role in ImageRole::ALL {
            let support = support(image_role);
            for path in data_paths(image_role) {
                assert!(writable(image_role, path), "{image_role:?}: {path}");
            }
            assert_eq!(
                support.takes_check(CheckKind::Restored),
                !data_paths(image_role).is_empty(),
                "{image_role:?}"
            );
            match restore_access(image_role) {
                Some((_, port)) => assert!(support.serves_tcp(port), "{image_role:?}: {port}"),
                None => assert!(data_paths(image_role).is_empty(), "{image_role:?}"),
            }
            assert!(support.takes_check(CheckKind::Command), "{image_role:?}");
        }
        assert!(writable(ImageRole::Backup, BACKUP_STORE));
        assert!(support(ImageRole::Backup).artefacts.is_empty());
        assert!(support(ImageRole::Backup).traffic.is_empty());
    }
}
