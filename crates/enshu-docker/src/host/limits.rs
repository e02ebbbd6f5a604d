//! Kernel limits of this machine that every container shares.
//!
//! Containers run as the host's root user (no user namespace), so a
//! per-user kernel limit is one budget for all containers of all sessions.
//! The one a range reaches first is `fs.inotify.max_user_instances`
//! (128 by default): every host's log forwarder (rsyslog's imfile in
//! inotify mode) holds one inotify instance. Measured at 50 teams of the
//! logging fixture (200 forwarders): 72 forwarders could not get one, never
//! started their inputs, and 19 teams' SIEMs got nothing from web01; an
//! Emotet range (23 forwarders a team) reaches it at the sixth team.

use std::io;
use std::path::Path;

/// The kernel's per-user cap on inotify instances.
pub const INOTIFY_INSTANCES: &str = "/proc/sys/fs/inotify/max_user_instances";

/// What `up` raises the cap to at least: room for many sessions of many
/// teams, one instance per container and as many again for the roles'
/// own (a collector's, a tail), and the host's own users.
pub const INOTIFY_INSTANCES_FLOOR: u64 = 8192;

/// The cap to set for `containers` more containers, if `current` is too
/// low: at least [`INOTIFY_INSTANCES_FLOOR`], and two per container.
pub fn inotify_instances_wanted(current: u64, containers: usize) -> Option<u64> {
    let wanted = INOTIFY_INSTANCES_FLOOR.max(2 * containers as u64);
    (current < wanted).then_some(wanted)
}

/// A limit raised: its name, and its value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub limit: &'static str,
    pub from: u64,
    pub to: u64,
}

/// Raise the host's inotify instance cap for `containers` containers if it
/// is too low (never lowers it). `path` is [`INOTIFY_INSTANCES`] but in tests.
pub fn ensure_inotify_instances(path: &Path, containers: usize) -> io::Result<Option<Raised>> {
    let text = std::fs::read_to_string(path)?;
    let current: u64 = text.trim().parse().map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: {:?} is not a number ({error})",
                path.display(),
                text.trim()
            ),
        )
    })?;
    let Some(to) = inotify_instances_wanted(current, containers) else {
        return Ok(None);
    };
    std::fs::write(path, format!("{to}\n"))?;
    Ok(Some(Raised {
        limit: "fs.inotify.max_user_instances",
        from: current,
        to,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_is_raised_and_a_high_one_kept() {
        assert_eq!(
            inotify_instances_wanted(128, 28),
            Some(INOTIFY_INSTANCES_FLOOR)
        );
        assert_eq!(inotify_instances_wanted(8192, 5000), Some(10_000));
        assert_eq!(inotify_instances_wanted(65_536, 5000), None);
        assert_eq!(inotify_instances_wanted(INOTIFY_INSTANCES_FLOOR, 0), None);
    }

    #[test]
    fn a_file_below_the_floor_is_rewritten_and_a_bad_one_named() {
        let dir = std::env::temp_dir().join(format!("enshu-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("max_user_instances");
        std::fs::write(&path, "128\n").unwrap();
        let raised = ensure_inotify_instances(&path, 350).unwrap();
        assert_eq!(
            raised,
            Some(Raised {
                limit: "fs.inotify.max_user_instances",
                from: 128,
                to: 8192
            })
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "8192\n");
        assert_eq!(ensure_inotify_instances(&path, 350).unwrap(), None);
        std::fs::write(&path, "lots\n").unwrap();
        let error = ensure_inotify_instances(&path, 1).unwrap_err().to_string();
        assert!(
            error.contains("max_user_instances") && error.contains("lots"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
