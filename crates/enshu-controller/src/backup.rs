//! Backups: each backup host keeps offline copies of its sources' data
//! (their role's data paths), taken when the range is built.
//!
//! Observe → diff → apply, as for the containers: [`observe_held`] asks
//! each running backup host which copies it holds complete (a copy is
//! complete once its manifest is written, last), [`backup_steps`] plans a
//! [`Step::TakeBackup`] for every copy a new (or restarted: its store is a
//! tmpfs) backup host lacks, or a running one does not hold, and
//! [`take_backup`] copies the data through the backend alone: a tar out
//! of the source (an exec), into the backup host (`copy_in`), stored there
//! with its manifest of SHA-256 hashes (an exec). Taking a copy again
//! replaces it whole, so the step is idempotent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use enshu_backend::{Backend, BackendError, ExecOutput, ExecPrivilege, Observed};
use enshu_scenario::plan::{BackupSource, Plan, PlannedBackup};
use enshu_scenario::roles::BACKUP_STORE;

use crate::diff::Step;

/// Prints a gzip'd tar of the data directories (`$1` most bytes, `$2`…
/// the directories); runs in the source.
pub const SOURCE_SCRIPT: &str = include_str!("../scripts/backup/source.sh");
/// Stores a copy and writes its manifest; runs in the backup host.
pub const STORE_SCRIPT: &str = include_str!("../scripts/backup/store.sh");
/// Lists the hosts a backup host holds a complete copy of.
pub const HELD_SCRIPT: &str = include_str!("../scripts/backup/held.sh");
/// Waits for a host's init to be ready (`$1` seconds).
pub const READY_SCRIPT: &str = include_str!("../scripts/backup/ready.sh");

/// The largest copy taken (compressed): a range's data is sample
/// documents and a web site, and one exec's output is bounded anyway.
pub const MAX_BACKUP_BYTES: usize = 6 * 1024 * 1024;
/// How long a source or backup host may take to be ready after its start.
const READY_SECONDS: u64 = 60;
/// How long one exec of a backup may take (the ready wait included).
const EXEC_TIMEOUT: Duration = Duration::from_secs(READY_SECONDS + 30);

/// The copies each running backup host holds complete: backup container →
/// the host names of its sources.
pub type HeldBackups = BTreeMap<String, BTreeSet<String>>;

fn bash(script: &str, name: &str, arguments: &[&str]) -> Vec<String> {
    ["bash", "-c", script, name]
        .into_iter()
        .chain(arguments.iter().copied())
        .map(str::to_string)
        .collect()
}

async fn exec_bounded<B: Backend>(
    backend: &B,
    container: &str,
    command: &[String],
    action: &'static str,
) -> Result<ExecOutput, BackendError> {
    match tokio::time::timeout(
        EXEC_TIMEOUT,
        backend.exec(container, command, ExecPrivilege::Container),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(BackendError::Runtime {
            action,
            name: container.to_string(),
            message: format!("timed out after {}s", EXEC_TIMEOUT.as_secs()),
        }),
    }
}

/// Ask every running backup host of the plan which copies it holds. A
/// host that does not answer holds none (its copies are taken again).
pub async fn observe_held<B: Backend>(
    backend: &B,
    plan: &Plan,
    observed: &Observed,
) -> HeldBackups {
    let running: BTreeSet<&str> = observed
        .containers
        .iter()
        .filter(|container| container.running)
        .map(|container| container.name.as_str())
        .collect();
    let asks = plan
        .teams
        .iter()
        .flat_map(|team| &team.backups)
        .filter(|backup| running.contains(backup.container.as_str()))
        .map(|backup| async move {
            let command = bash(HELD_SCRIPT, "enshu-backup-held", &[]);
            let held =
                match exec_bounded(backend, &backup.container, &command, "list backups").await {
                    Ok(output) if output.exit_code == 0 => {
                        output.stdout_text().lines().map(str::to_string).collect()
                    }
                    _ => BTreeSet::new(),
                };
            (backup.container.clone(), held)
        });
    futures::future::join_all(asks).await.into_iter().collect()
}

/// The copies to take (pure): every source of a backup host that this run
/// creates or starts (its store starts empty), and every source a running
/// one does not hold. `container_steps` are the run's other steps.
pub fn backup_steps(plan: &Plan, held: &HeldBackups, container_steps: &[Step]) -> Vec<Step> {
    let starts = |container: &str| {
        container_steps.iter().any(|step| {
            matches!(step, Step::CreateContainer { name, .. } | Step::StartContainer { name, .. } if name == container)
        })
    };
    let mut steps = Vec::new();
    for team in &plan.teams {
        for backup in &team.backups {
            let fresh = starts(&backup.container);
            let holds = held.get(&backup.container);
            for source in &backup.sources {
                let reason = if fresh {
                    "backup host starts: its store is empty"
                } else if holds.is_none_or(|holds| !holds.contains(&source.hostname)) {
                    "no complete copy"
                } else {
                    continue;
                };
                steps.push(Step::TakeBackup {
                    team: team.name.clone(),
                    name: backup.container.clone(),
                    source: source.hostname.clone(),
                    reason: reason.to_string(),
                });
            }
        }
    }
    steps
}

/// The planned backup host `container` and its source `hostname`.
pub fn find_source<'a>(
    plan: &'a Plan,
    container: &str,
    hostname: &str,
) -> Option<(&'a PlannedBackup, &'a BackupSource)> {
    let backup = plan
        .teams
        .iter()
        .flat_map(|team| &team.backups)
        .find(|backup| backup.container == container)?;
    let source = backup
        .sources
        .iter()
        .find(|source| source.hostname == hostname)?;
    Some((backup, source))
}

fn failed(name: &str, what: &str, output: &ExecOutput) -> BackendError {
    BackendError::Runtime {
        action: "take a backup",
        name: name.to_string(),
        message: format!(
            "{what} exited {}: {}",
            output.exit_code,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// Copy `source`'s data into `backup` (see the module docs): once both
/// hosts are ready, so the source's data is seeded.
pub async fn take_backup<B: Backend>(
    backend: &B,
    backup: &PlannedBackup,
    source: &BackupSource,
) -> Result<(), BackendError> {
    let ready = bash(
        READY_SCRIPT,
        "enshu-backup-ready",
        &[&READY_SECONDS.to_string()],
    );
    for container in [&source.container, &backup.container] {
        let output = exec_bounded(backend, container, &ready, "take a backup").await?;
        if output.exit_code != 0 {
            return Err(BackendError::Runtime {
                action: "take a backup",
                name: container.clone(),
                message: format!("not ready after {READY_SECONDS}s"),
            });
        }
    }
    let limit = MAX_BACKUP_BYTES.to_string();
    let mut arguments = vec![limit.as_str()];
    arguments.extend(source.paths.iter().map(String::as_str));
    let archive = exec_bounded(
        backend,
        &source.container,
        &bash(SOURCE_SCRIPT, "enshu-backup-source", &arguments),
        "take a backup",
    )
    .await?;
    if archive.stdout.len() > MAX_BACKUP_BYTES {
        return Err(BackendError::Runtime {
            action: "take a backup",
            name: source.container.clone(),
            message: format!(
                "{} holds more than {} MiB (compressed): too much for a backup",
                source.paths.join(", "),
                MAX_BACKUP_BYTES / (1024 * 1024)
            ),
        });
    }
    if archive.exit_code != 0 {
        return Err(failed(&source.container, "archiving the data", &archive));
    }
    let incoming = format!("{BACKUP_STORE}/.{}.tar.gz", source.hostname);
    backend
        .copy_in(&backup.container, &incoming, &archive.stdout, 0o600)
        .await?;
    let address = source.address.to_string();
    let port = source.restore_port.to_string();
    let mut arguments = vec![
        source.hostname.as_str(),
        incoming.as_str(),
        source.role.as_str(),
        address.as_str(),
        source.restore_user.as_str(),
        port.as_str(),
    ];
    arguments.extend(source.paths.iter().map(String::as_str));
    let stored = exec_bounded(
        backend,
        &backup.container,
        &bash(STORE_SCRIPT, "enshu-backup-store", &arguments),
        "take a backup",
    )
    .await?;
    if stored.exit_code != 0 {
        return Err(failed(&backup.container, "storing the copy", &stored));
    }
    tracing::info!(
        backup = %backup.reference,
        source = %source.reference,
        files = %stored.stdout_text().trim(),
        bytes = archive.stdout.len(),
        "backup taken"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_take_their_values_as_arguments() {
        let command = bash(
            STORE_SCRIPT,
            "enshu-backup-store",
            &["fs01", "/srv/backup/.fs01.tar.gz"],
        );
        assert_eq!(command[..2], ["bash", "-c"]);
        assert_eq!(
            command[3..],
            ["enshu-backup-store", "fs01", "/srv/backup/.fs01.tar.gz"]
        );
        assert!(!STORE_SCRIPT.contains("fs01"));
    }
}
