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

pub fn image(role: &str) -> String {
    format!("enshu/{role}:{IMAGE_TAG}")
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

/// Capabilities nearly every service needs to start as root and drop to its
/// own user.
const SERVICE_CAPS: [&str; 6] = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "NET_BIND_SERVICE"];

fn base(extra_caps: &[&str], tmpfs: &[&str], memory_mib: u64) -> Hardening {
    let mut cap_add: Vec<String> = SERVICE_CAPS.iter().chain(extra_caps).map(|cap| cap.to_string()).collect();
    cap_add.sort();
    cap_add.dedup();
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
        // Trainees capture traffic and manage the workstation's own firewall
        // (both confined to the container's network namespace).
        ImageRole::Analyst => {
            let mut hardening = base(&["KILL", "SYS_CHROOT", "AUDIT_WRITE", "NET_RAW", "NET_ADMIN"], &["/run", "/tmp", "/var/log", "/home"], 256);
            // Trainees install notes and tools in their home; keep it simple.
            hardening.read_only = false;
            hardening
        }
        ImageRole::Workstation => base(&["KILL", "SYS_CHROOT", "AUDIT_WRITE"], &["/run", "/tmp", "/var/log", "/var/spool/cron", "/home"], 96),
        ImageRole::Web => base(&["KILL"], &["/run", "/tmp", "/var/log/nginx", "/var/lib/nginx", "/var/www"], 96),
        ImageRole::Mail => {
            let mut hardening = base(&["KILL", "SYS_CHROOT"], &["/run", "/tmp"], 192);
            // postfix and dovecot keep queues and mailboxes in many places.
            hardening.read_only = false;
            hardening
        }
        ImageRole::File => {
            let mut hardening = base(&["KILL"], &["/run", "/tmp"], 192);
            hardening.read_only = false;
            hardening
        }
        ImageRole::Dns => base(&["KILL", "NET_RAW", "NET_ADMIN"], &["/run", "/tmp", "/var/log"], 64),
        ImageRole::Syslog => base(&["KILL"], &["/run", "/tmp", "/var/log"], 96),
        ImageRole::Proxy => base(&["KILL"], &["/run", "/tmp", "/var/log/squid", "/var/spool/squid"], 192),
        ImageRole::Internet => base(&["KILL"], &["/run", "/tmp", "/var/log"], 96),
    }
}

pub fn hardening_for_router() -> Hardening {
    let mut hardening = base(&["NET_ADMIN", "NET_RAW", "KILL"], &["/run", "/tmp", "/etc/enshu"], 64);
    hardening.sysctls.insert("net.ipv4.ip_forward".to_string(), "1".to_string());
    hardening
}
