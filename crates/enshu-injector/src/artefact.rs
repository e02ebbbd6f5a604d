//! Planting host artefacts: the traces an attack leaves on a team's host.
//!
//! Every artefact is harmless (a marker file, a `sleep` under another name,
//! a cron line that runs a do-nothing script) and reversible, and each
//! returns its ground truth: what was planted, where, and the IoCs a team
//! can be asked about (paths, SHA-256 of planted content, process name,
//! cron line, user, golden copy hash).
//!
//! Range containers run with a read-only root filesystem and a root without
//! DAC_OVERRIDE, so where an artefact can go is decided from the container's
//! hardening (its tmpfs paths), and writes into a user's directory are made
//! as that user (see [`crate::shell::RUN_AS_OWNER`]).

use std::collections::BTreeMap;

use enshu_backend::{Backend, BackendError, ContainerSpec, ExecOutput, ExecPrivilege};
use enshu_scenario::model::{Artefact, ArtefactKind, ImageRole, fill_placeholders};
use enshu_scenario::roles::{ContainerRole, Hardening};
use serde_json::{Value, json};

use crate::shell;

/// Where golden copies of defaced pages are kept (tmpfs on every role).
pub const GOLDEN_DIRECTORY: &str = "/run/enshu/golden";
/// Where the encrypt artefact lists the files it renamed, for `restore`.
pub const ENCRYPT_MANIFEST_DIRECTORY: &str = "/run/enshu/encrypt";
/// Most files one encrypt artefact renames.
pub const ENCRYPT_FILE_LIMIT: u32 = 2000;
/// What the encrypt artefact appends to each file it renames.
pub const ENCRYPTED_EXTENSION: &str = ".locked";
/// The name of the ransom note it drops in the directory.
pub const RANSOM_NOTE_FILE: &str = "README_RESTORE_FILES.txt";
/// How long a planted process lives (seconds): bounded, about 27 hours.
pub const PROCESS_LIFETIME_SECONDS: u32 = 100_000;

const DEFAULT_RANSOM_NOTE: &str = "YOUR FILES HAVE BEEN ENCRYPTED\n\
All documents on this computer are locked with a strong key.\n\
To recover them, contact the address below within 72 hours.\n\
(Enshu exercise: nothing was encrypted; the files were only renamed to *.locked.)\n";

#[derive(Debug, thiserror::Error)]
pub enum ArtefactError {
    #[error("artefact {kind} needs {field}")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    #[error("artefact {kind}: {field} {value:?} is not allowed: {reason}")]
    Refused {
        kind: &'static str,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{what} in container {container}: {source}")]
    Backend {
        what: String,
        container: String,
        source: BackendError,
    },
    #[error("{what} in container {container} exited {exit_code}: {stderr}")]
    Failed {
        what: String,
        container: String,
        exit_code: i64,
        stderr: String,
    },
}

/// Run a command; a non-zero exit is an error carrying stderr.
pub(crate) async fn run<B: Backend>(
    backend: &B,
    container: &str,
    what: &str,
    command: Vec<String>,
) -> Result<ExecOutput, ArtefactError> {
    let output = backend
        .exec(container, &command, ExecPrivilege::Container)
        .await
        .map_err(|source| ArtefactError::Backend {
            what: what.to_string(),
            container: container.to_string(),
            source,
        })?;
    if output.exit_code != 0 {
        return Err(ArtefactError::Failed {
            what: what.to_string(),
            container: container.to_string(),
            exit_code: output.exit_code,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output)
}

async fn copy<B: Backend>(
    backend: &B,
    container: &str,
    path: &str,
    contents: &[u8],
    mode: u32,
) -> Result<(), ArtefactError> {
    backend
        .copy_in(container, path, contents, mode)
        .await
        .map_err(|source| ArtefactError::Backend {
            what: format!("writing {path}"),
            container: container.to_string(),
            source,
        })
}

fn require<'a>(
    kind: ArtefactKind,
    field: &'static str,
    value: Option<&'a str>,
) -> Result<&'a str, ArtefactError> {
    value
        .filter(|value| !value.is_empty())
        .ok_or(ArtefactError::Missing {
            kind: kind.as_str(),
            field,
        })
}

fn absolute_path(kind: ArtefactKind, path: &str) -> Result<(), ArtefactError> {
    let normal = path.starts_with('/')
        && !path.ends_with('/')
        && !path
            .split('/')
            .skip(1)
            .any(|part| part.is_empty() || part == "." || part == "..");
    if normal {
        Ok(())
    } else {
        Err(ArtefactError::Refused {
            kind: kind.as_str(),
            field: "path",
            value: path.to_string(),
            reason: "use an absolute path without '.', '..' or '//'",
        })
    }
}

/// Whether `path` lies on one of the container's writable tmpfs mounts.
pub fn on_tmpfs(hardening: &Hardening, path: &str) -> bool {
    hardening.tmpfs.iter().any(|mount| {
        let mount = mount.trim_end_matches('/');
        path == mount
            || path
                .strip_prefix(mount)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Whether the container can write `path` at all (tmpfs, or a writable root).
pub fn writable(hardening: &Hardening, path: &str) -> bool {
    !hardening.read_only || on_tmpfs(hardening, path)
}

/// A plain scratch directory on the container's tmpfs, for staging.
fn scratch_directory(hardening: &Hardening) -> &'static str {
    ["/var/tmp", "/tmp", "/run"]
        .into_iter()
        .find(|path| writable(hardening, path))
        .unwrap_or("/tmp")
}

/// Plant one artefact on `host`; `references` resolves `{{segment/host}}`
/// in content, lines and names (see [`crate::references`]).
pub async fn plant<B: Backend>(
    backend: &B,
    inject_id: &str,
    artefact: &Artefact,
    host: &ContainerSpec,
    references: &BTreeMap<String, String>,
) -> Result<Value, ArtefactError> {
    let fill = |text: &str| fill_placeholders(text, references);
    let kind = artefact.kind;
    let mut truth = match kind {
        ArtefactKind::File => {
            let path = require(kind, "path", artefact.path.as_deref())?;
            absolute_path(kind, path)?;
            let content = fill(artefact.content.as_deref().unwrap_or(""));
            plant_file(backend, inject_id, host, path, content.as_bytes()).await?
        }
        ArtefactKind::Log => {
            let path = require(kind, "path", artefact.path.as_deref())?;
            absolute_path(kind, path)?;
            if artefact.lines.is_empty() {
                return Err(ArtefactError::Missing {
                    kind: kind.as_str(),
                    field: "lines",
                });
            }
            let lines: Vec<String> = artefact.lines.iter().map(|line| fill(line)).collect();
            append_log(backend, host, path, &lines).await?
        }
        ArtefactKind::Process => {
            let name = fill(require(kind, "name", artefact.name.as_deref())?);
            start_process(backend, host, &name).await?
        }
        ArtefactKind::Cron => {
            let command = fill(require(kind, "name", artefact.name.as_deref())?);
            let schedule = artefact.schedule.as_deref().unwrap_or("*/5 * * * *");
            add_cron(backend, host, schedule, &command).await?
        }
        ArtefactKind::User => {
            let name = fill(require(kind, "name", artefact.name.as_deref())?);
            add_user(backend, host, &name).await?
        }
        ArtefactKind::Deface => {
            let path = require(kind, "path", artefact.path.as_deref())?;
            absolute_path(kind, path)?;
            let content = fill(
                artefact
                    .content
                    .as_deref()
                    .unwrap_or("<html><body><h1>Hacked</h1></body></html>\n"),
            );
            deface(backend, host, path, content.as_bytes()).await?
        }
        ArtefactKind::Encrypt => {
            let directory = require(kind, "path", artefact.path.as_deref())?;
            absolute_path(kind, directory)?;
            let note = fill(artefact.content.as_deref().unwrap_or(DEFAULT_RANSOM_NOTE));
            encrypt(backend, inject_id, host, directory, &note).await?
        }
    };
    truth["kind"] = json!(kind.as_str());
    Ok(truth)
}

/// Moves a staged file into place as the owner of its path's deepest
/// existing ancestor: `$1` staged file, `$2` path, `$3` mode. Runs after
/// [`shell::RUN_AS_OWNER`] ([`PLACE_FILE_PROGRAM`]).
pub const PLACE_FILE_SCRIPT: &str = include_str!("../scripts/artefact/place-file.sh");
/// [`PLACE_FILE_SCRIPT`] after [`shell::RUN_AS_OWNER`], joined at compile time.
pub const PLACE_FILE_PROGRAM: &str = concat!(
    include_str!("../scripts/run-as-owner.sh"),
    include_str!("../scripts/artefact/place-file.sh")
);

/// Prints who owns the deepest existing ancestor of `$1`. Runs after
/// [`shell::RUN_AS_OWNER`] ([`OWNER_PROGRAM`]).
pub const OWNER_SCRIPT: &str = include_str!("../scripts/artefact/owner.sh");
/// [`OWNER_SCRIPT`] after [`shell::RUN_AS_OWNER`], joined at compile time.
pub const OWNER_PROGRAM: &str = concat!(
    include_str!("../scripts/run-as-owner.sh"),
    include_str!("../scripts/artefact/owner.sh")
);

async fn plant_file<B: Backend>(
    backend: &B,
    inject_id: &str,
    host: &ContainerSpec,
    path: &str,
    content: &[u8],
) -> Result<Value, ArtefactError> {
    let mode = if content.starts_with(b"#!") {
        0o755
    } else {
        0o644
    };
    let owner = run(
        backend,
        &host.name,
        "finding the owner of the file's directory",
        shell::bash(OWNER_PROGRAM, "enshu-owner", &[path]),
    )
    .await?;
    let owner_uid = shell::first_word(&owner.stdout_text()).to_string();
    let method = {
        // Staged on tmpfs, then moved into place as the owner of the
        // directory (root may not write into a user's directory), with new
        // directories made as a shared tree wants them (place-file.sh): a
        // copy straight in would make them root's only.
        let staged = format!(
            "{}/.enshu-stage-{inject_id}",
            scratch_directory(&host.hardening)
        );
        copy(backend, &host.name, &staged, content, 0o644).await?;
        let mode_text = format!("{mode:o}");
        run(
            backend,
            &host.name,
            &format!("placing {path}"),
            shell::bash(
                PLACE_FILE_PROGRAM,
                "enshu-place",
                &[&staged, path, &mode_text],
            ),
        )
        .await?;
        "copy_in + move as owner"
    };
    Ok(json!({
        "path": path,
        "sha256": shell::sha256_hex(content),
        "size": content.len(),
        "mode": format!("{mode:o}"),
        "owner_uid": owner_uid,
        "method": method,
    }))
}

/// Appends `$2…` to the log `$1`, each with a syslog stamp and host name
/// unless it already starts with a date; prints what it wrote.
pub const APPEND_LOG_SCRIPT: &str = include_str!("../scripts/artefact/append-log.sh");

async fn append_log<B: Backend>(
    backend: &B,
    host: &ContainerSpec,
    path: &str,
    lines: &[String],
) -> Result<Value, ArtefactError> {
    let mut arguments: Vec<&str> = vec![path];
    arguments.extend(lines.iter().map(String::as_str));
    let output = run(
        backend,
        &host.name,
        &format!("appending to {path}"),
        shell::bash(APPEND_LOG_SCRIPT, "enshu-log", &arguments),
    )
    .await?;
    let written: Vec<String> = output.stdout_text().lines().map(str::to_string).collect();
    Ok(json!({ "path": path, "lines": lines, "written": written }))
}

/// Starts a `sleep` named `$1` (comm and argv[0]) from a symlink in `$2`,
/// living `$3` seconds, in its own session; prints its pid.
pub const START_PROCESS_SCRIPT: &str = include_str!("../scripts/artefact/start-process.sh");

fn process_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.contains('/')
        && !name.starts_with('-')
        && name.chars().all(|character| !character.is_control())
}

async fn start_process<B: Backend>(
    backend: &B,
    host: &ContainerSpec,
    name: &str,
) -> Result<Value, ArtefactError> {
    if !process_name_allowed(name) {
        return Err(ArtefactError::Refused {
            kind: ArtefactKind::Process.as_str(),
            field: "name",
            value: name.to_string(),
            reason: "use 1-64 characters without '/' or a leading '-'",
        });
    }
    let user = process_user(host.role);
    let directory = match user {
        Some(user) => format!("/home/{user}/.cache"),
        None => format!("{}/.cache", scratch_directory(&host.hardening)),
    };
    let lifetime = PROCESS_LIFETIME_SECONDS.to_string();
    let output = run(
        backend,
        &host.name,
        &format!("starting process {name}"),
        shell::bash(
            START_PROCESS_SCRIPT,
            "enshu-process",
            &[name, &directory, &lifetime, user.unwrap_or("")],
        ),
    )
    .await?;
    let pid: Option<u64> = shell::first_word(&output.stdout_text()).parse().ok();
    // The kernel keeps 15 bytes of the name as the comm.
    let comm: String = name.bytes().take(15).map(char::from).collect();
    Ok(json!({
        "process_name": name,
        "user": user.unwrap_or("root"),
        "comm": comm,
        "pid": pid,
        "executable": format!("{directory}/{name}"),
        "real_executable": "/usr/bin/sleep",
        "lifetime_seconds": PROCESS_LIFETIME_SECONDS,
    }))
}

/// Whom a process artefact runs as: on a staff PC the clerk who opened the
/// malware (so the team, logged in as that user, can stop it), elsewhere
/// root.
pub fn process_user(role: ContainerRole) -> Option<&'static str> {
    (role == ContainerRole::Host(ImageRole::Workstation)).then_some("staff")
}

/// Where a cron line goes on a container with this hardening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronLocation {
    pub path: String,
    /// `user` crontab (no user column) or `/etc/cron.d` (with one).
    pub per_user: bool,
    /// Whether the host's cron reads this file.
    pub active: bool,
}

/// The user whose crontab persistence goes into: a staff PC's user when
/// cron can read that user's crontab, else root. cron runs as root and opens
/// each crontab (mode 0600, owned by its user); without DAC_READ_SEARCH or
/// DAC_OVERRIDE it cannot open anyone's but root's ("CAN'T OPEN
/// (crontabs/staff)", seen on the workstation role), so a line there would
/// never run.
pub fn cron_user(role: ContainerRole, hardening: &Hardening) -> &'static str {
    let cron_reads_user_crontabs = hardening
        .cap_add
        .iter()
        .any(|cap| cap == "DAC_READ_SEARCH" || cap == "DAC_OVERRIDE");
    if role == ContainerRole::Host(ImageRole::Workstation) && cron_reads_user_crontabs {
        "staff"
    } else {
        "root"
    }
}

/// A user crontab when the spool is writable, `/etc/cron.d` on a writable
/// root, otherwise an inactive file on tmpfs (the trace, not the effect).
pub fn cron_location(hardening: &Hardening, user: &str, inject_id: &str) -> CronLocation {
    if writable(hardening, "/var/spool/cron/crontabs") {
        CronLocation {
            path: format!("/var/spool/cron/crontabs/{user}"),
            per_user: true,
            active: true,
        }
    } else if writable(hardening, "/etc/cron.d") {
        CronLocation {
            path: format!("/etc/cron.d/{inject_id}"),
            per_user: false,
            active: true,
        }
    } else {
        CronLocation {
            path: format!("{}/.cron/{user}", scratch_directory(hardening)),
            per_user: true,
            active: false,
        }
    }
}

/// Appends line `$3` to cron file `$1` owned by `$2` (`$4`: `yes` for a user
/// crontab), unless it is there already; prints the file's SHA-256.
pub const ADD_CRON_SCRIPT: &str = include_str!("../scripts/artefact/add-cron.sh");

async fn add_cron<B: Backend>(
    backend: &B,
    host: &ContainerSpec,
    schedule: &str,
    command: &str,
) -> Result<Value, ArtefactError> {
    if schedule.contains('\n') || command.contains('\n') {
        return Err(ArtefactError::Refused {
            kind: ArtefactKind::Cron.as_str(),
            field: "name",
            value: command.to_string(),
            reason: "a cron line cannot contain a newline",
        });
    }
    let user = cron_user(host.role, &host.hardening);
    let location = cron_location(&host.hardening, user, &host.name);
    let line = if location.per_user {
        format!("{schedule} {command}")
    } else {
        format!("{schedule} {user} {command}")
    };
    let per_user = if location.per_user { "yes" } else { "no" };
    let output = run(
        backend,
        &host.name,
        "adding a cron line",
        shell::bash(
            ADD_CRON_SCRIPT,
            "enshu-cron",
            &[&location.path, user, &line, per_user],
        ),
    )
    .await?;
    Ok(json!({
        "user": user,
        "cron_line": line,
        "schedule": schedule,
        "command": command,
        "path": location.path,
        "active": location.active,
        "file_sha256": shell::first_word(&output.stdout_text()),
        "note": if location.active { "" } else { "cron spool and /etc/cron.d are read-only on this host: the line was written to tmpfs, where cron does not read it" },
    }))
}

/// Adds user `$1` with password hash `$2` wherever the container lets it;
/// prints the method used.
pub const ADD_USER_SCRIPT: &str = include_str!("../scripts/artefact/add-user.sh");

/// Adds domain account `$1` with password `$2` on a directory host; prints
/// `exists` or `domain`.
pub const ADD_DOMAIN_USER_SCRIPT: &str = include_str!("../scripts/artefact/add-domain-user.sh");

/// The backdoor's weak password (what [`BACKDOOR_PASSWORD_HASH`] hashes),
/// given to a domain account a `user` artefact creates on a directory.
pub const BACKDOOR_PASSWORD: &str = "P@ssw0rd";

/// SHA-512 crypt of `P@ssw0rd` with a fixed salt: a weak backdoor password,
/// known so an inject or a check can refer to it.
pub const BACKDOOR_PASSWORD_HASH: &str = "$6$enshu$sg45d4gpI2vhxBVkaOuwASVBmzeCEeT7Py5Y1ypTy14m96gAIkB3SoHcckx5DIaq7qB.sfQLixBdhifvVKcNT1";

fn user_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name.chars().all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || matches!(character, '_' | '-' | '.' | '$')
        })
}

async fn add_user<B: Backend>(
    backend: &B,
    host: &ContainerSpec,
    name: &str,
) -> Result<Value, ArtefactError> {
    if !user_name_allowed(name) {
        return Err(ArtefactError::Refused {
            kind: ArtefactKind::User.as_str(),
            field: "name",
            value: name.to_string(),
            reason: "use lower-case letters, digits, '_', '-', '.'",
        });
    }
    if host.role == ContainerRole::Host(ImageRole::Directory) {
        let output = run(
            backend,
            &host.name,
            &format!("adding domain user {name}"),
            shell::bash(
                ADD_DOMAIN_USER_SCRIPT,
                "enshu-domain-user",
                &[name, BACKDOOR_PASSWORD],
            ),
        )
        .await?;
        let method = output.stdout_text().trim().to_string();
        return Ok(json!({ "user": name, "method": method, "domain": true, "limitation": "" }));
    }
    let output = run(
        backend,
        &host.name,
        &format!("adding user {name}"),
        shell::bash(
            ADD_USER_SCRIPT,
            "enshu-user",
            &[name, BACKDOOR_PASSWORD_HASH],
        ),
    )
    .await?;
    let method = output.stdout_text().trim().to_string();
    let limitation = match method.as_str() {
        "useradd" | "passwd+shadow" | "exists" => "",
        "shadow-only" => {
            "/etc/passwd is on the read-only root: the account exists only as a line in /etc/shadow (and /home/<user>), so it cannot log in and getent does not list it"
        }
        _ => "the account could not be written anywhere",
    };
    Ok(
        json!({ "user": name, "method": method, "password_hash": BACKDOOR_PASSWORD_HASH, "limitation": limitation }),
    )
}

/// The golden copy of a page: its path under [`GOLDEN_DIRECTORY`].
pub fn golden_path(page: &str) -> String {
    format!("{GOLDEN_DIRECTORY}{page}")
}

/// Keeps the golden copy of page `$1` at `$2` (never overwritten); prints
/// its SHA-256. Exit 4 when the page cannot be written (a read-only root).
pub const KEEP_GOLDEN_SCRIPT: &str = include_str!("../scripts/artefact/keep-golden.sh");

/// Writes staged file `$1` over file `$2` in place (owner, group and mode
/// stay) and removes the staged copy.
pub const OVERWRITE_SCRIPT: &str = include_str!("../scripts/artefact/overwrite.sh");

async fn deface<B: Backend>(
    backend: &B,
    host: &ContainerSpec,
    page: &str,
    content: &[u8],
) -> Result<Value, ArtefactError> {
    let golden = golden_path(page);
    let output = run(
        backend,
        &host.name,
        &format!("keeping the golden copy of {page}"),
        shell::bash(KEEP_GOLDEN_SCRIPT, "enshu-golden", &[page, &golden]),
    )
    .await?;
    let golden_sha256 = shell::first_word(&output.stdout_text()).to_string();
    // Rewritten in place: the page keeps its owner, group and mode, so the
    // site's administrator can put the genuine page back.
    let staged = format!("{}/.enshu-stage-deface", scratch_directory(&host.hardening));
    copy(backend, &host.name, &staged, content, 0o644).await?;
    run(
        backend,
        &host.name,
        &format!("defacing {page}"),
        shell::bash(OVERWRITE_SCRIPT, "enshu-overwrite", &[&staged, page]),
    )
    .await?;
    Ok(json!({
        "path": page,
        "golden_path": golden,
        "golden_sha256": golden_sha256,
        "defaced_sha256": shell::sha256_hex(content),
        "size": content.len(),
    }))
}

/// Copies golden copy `$2` over page `$1`.
pub const RESTORE_DEFACE_SCRIPT: &str = include_str!("../scripts/artefact/restore-deface.sh");

/// Put the golden copy back (the instructor's undo of a deface).
pub async fn restore_deface<B: Backend>(
    backend: &B,
    container: &str,
    ground_truth: &Value,
) -> Result<(), ArtefactError> {
    let page = ground_truth["path"]
        .as_str()
        .ok_or(ArtefactError::Missing {
            kind: ArtefactKind::Deface.as_str(),
            field: "path in the ground truth",
        })?;
    let golden = ground_truth["golden_path"]
        .as_str()
        .ok_or(ArtefactError::Missing {
            kind: ArtefactKind::Deface.as_str(),
            field: "golden_path in the ground truth",
        })?;
    run(
        backend,
        container,
        &format!("restoring {page}"),
        shell::bash(RESTORE_DEFACE_SCRIPT, "enshu-restore", &[page, golden]),
    )
    .await?;
    Ok(())
}

/// Renames up to `$4` files under `$1` to `*.locked` (as the directory's
/// owner), lists them in manifest `$3`, drops ransom note `$5` as `$2`;
/// prints the count and the files. Runs after [`shell::RUN_AS_OWNER`]
/// ([`ENCRYPT_PROGRAM`]).
pub const ENCRYPT_SCRIPT: &str = include_str!("../scripts/artefact/encrypt.sh");
/// [`ENCRYPT_SCRIPT`] after [`shell::RUN_AS_OWNER`], joined at compile time.
pub const ENCRYPT_PROGRAM: &str = concat!(
    include_str!("../scripts/run-as-owner.sh"),
    include_str!("../scripts/artefact/encrypt.sh")
);

/// Renames the files of manifest `$1` back and removes note `$2` (as the
/// owner of directory `$3`). Runs after [`shell::RUN_AS_OWNER`]
/// ([`DECRYPT_PROGRAM`]).
pub const DECRYPT_SCRIPT: &str = include_str!("../scripts/artefact/decrypt.sh");
/// [`DECRYPT_SCRIPT`] after [`shell::RUN_AS_OWNER`], joined at compile time.
pub const DECRYPT_PROGRAM: &str = concat!(
    include_str!("../scripts/run-as-owner.sh"),
    include_str!("../scripts/artefact/decrypt.sh")
);

fn ransom_note_path(directory: &str) -> String {
    format!("{}/{RANSOM_NOTE_FILE}", directory.trim_end_matches('/'))
}

fn manifest_path(inject_id: &str) -> String {
    format!("{ENCRYPT_MANIFEST_DIRECTORY}/{inject_id}.list")
}

async fn encrypt<B: Backend>(
    backend: &B,
    inject_id: &str,
    host: &ContainerSpec,
    directory: &str,
    note: &str,
) -> Result<Value, ArtefactError> {
    let note_path = ransom_note_path(directory);
    let manifest = manifest_path(inject_id);
    let limit = ENCRYPT_FILE_LIMIT.to_string();
    let output = run(
        backend,
        &host.name,
        &format!("renaming files under {directory}"),
        shell::bash(
            ENCRYPT_PROGRAM,
            "enshu-encrypt",
            &[directory, &note_path, &manifest, &limit, note],
        ),
    )
    .await?;
    let text = output.stdout_text();
    let mut lines = text.lines();
    let count: u64 = lines
        .next()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or(0);
    let sample: Vec<&str> = lines.collect();
    Ok(json!({
        "path": directory,
        "files_renamed": count,
        "extension": ENCRYPTED_EXTENSION,
        "sample": sample,
        "ransom_note": note_path,
        "ransom_note_sha256": shell::sha256_hex(note.as_bytes()),
        "manifest": manifest,
    }))
}

/// Undo an encrypt artefact from its ground truth.
pub async fn restore_encrypt<B: Backend>(
    backend: &B,
    container: &str,
    ground_truth: &Value,
) -> Result<(), ArtefactError> {
    let field = |name: &'static str| {
        ground_truth[name].as_str().ok_or(ArtefactError::Missing {
            kind: ArtefactKind::Encrypt.as_str(),
            field: name,
        })
    };
    let (manifest, note, directory) = (field("manifest")?, field("ransom_note")?, field("path")?);
    run(
        backend,
        container,
        &format!("restoring files under {directory}"),
        shell::bash(
            DECRYPT_PROGRAM,
            "enshu-decrypt",
            &[manifest, note, directory],
        ),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use enshu_backend::fake::{Call, FakeBackend};
    use enshu_scenario::roles;

    use super::*;
    use crate::shell::RUN_AS_OWNER;

    fn host(image_role: ImageRole, hardening: Hardening) -> ContainerSpec {
        let role = ContainerRole::Host(image_role);
        ContainerSpec {
            name: "enshu-s-t01-pc01".into(),
            hostname: "pc01".into(),
            reference: "office/pc01".into(),
            role,
            image: roles::image(role),
            networks: vec![],
            default_route: None,
            login: false,
            env: BTreeMap::new(),
            labels: BTreeMap::new(),
            hardening,
            volumes: Vec::new(),
        }
    }

    fn workstation() -> ContainerSpec {
        host(
            ImageRole::Workstation,
            roles::hardening_for(enshu_scenario::model::ImageRole::Workstation),
        )
    }

    async fn running(spec: &ContainerSpec) -> FakeBackend {
        let backend = FakeBackend::new();
        backend.create_container(spec).await.unwrap();
        backend.start_container(&spec.name).await.unwrap();
        backend.clear_calls();
        backend
    }

    fn artefact(kind: ArtefactKind) -> Artefact {
        Artefact {
            kind,
            path: None,
            content: None,
            lines: vec![],
            name: None,
            schedule: None,
        }
    }

    fn exec(container: &str, command: Vec<String>) -> Call {
        Call::Exec(container.to_string(), command)
    }

    #[tokio::test]
    async fn a_file_in_a_root_owned_directory_is_staged_then_placed_by_root() {
        // Placed by the script, not copied straight in: the directories it
        // makes must follow the tree they go into (a shared web root).
        let spec = workstation();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"0\n".to_vec(),
                stderr: vec![],
            },
        );
        let content = "#!/bin/sh\n# enshu marker\n";
        let planted = Artefact {
            path: Some("/var/tmp/.svc/update.sh".into()),
            content: Some(content.into()),
            ..artefact(ArtefactKind::File)
        };
        let truth = plant(&backend, "dropper", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        let staged = "/var/tmp/.enshu-stage-dropper";
        assert_eq!(
            backend.calls(),
            [
                exec(
                    &spec.name,
                    shell::bash(
                        &format!("{RUN_AS_OWNER}{OWNER_SCRIPT}"),
                        "enshu-owner",
                        &["/var/tmp/.svc/update.sh"]
                    )
                ),
                Call::CopyIn(spec.name.clone(), staged.into()),
                exec(
                    &spec.name,
                    shell::bash(
                        &format!("{RUN_AS_OWNER}{PLACE_FILE_SCRIPT}"),
                        "enshu-place",
                        &[staged, "/var/tmp/.svc/update.sh", "755"]
                    )
                ),
            ]
        );
        assert_eq!(truth["sha256"], shell::sha256_hex(content.as_bytes()));
        assert_eq!(truth["mode"], "755");
        assert_eq!(truth["kind"], "file");
        assert_eq!(truth["owner_uid"], "0");
    }

    #[tokio::test]
    async fn a_file_in_a_users_directory_is_staged_then_moved_as_the_user() {
        let spec = workstation();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"1000\n".to_vec(),
                stderr: vec![],
            },
        );
        let path = "/home/staff/AppData/Local/Temp/Nvtewq.dll";
        let planted = Artefact {
            path: Some(path.into()),
            content: Some("MARKER\n".into()),
            ..artefact(ArtefactKind::File)
        };
        let truth = plant(&backend, "macro", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        let staged = "/var/tmp/.enshu-stage-macro";
        assert_eq!(
            backend.calls(),
            [
                exec(
                    &spec.name,
                    shell::bash(
                        &format!("{RUN_AS_OWNER}{OWNER_SCRIPT}"),
                        "enshu-owner",
                        &[path]
                    )
                ),
                Call::CopyIn(spec.name.clone(), staged.into()),
                exec(
                    &spec.name,
                    shell::bash(
                        &format!("{RUN_AS_OWNER}{PLACE_FILE_SCRIPT}"),
                        "enshu-place",
                        &[staged, path, "644"]
                    )
                ),
            ]
        );
        assert_eq!(truth["method"], "copy_in + move as owner");
    }

    #[tokio::test]
    async fn log_lines_travel_as_arguments_with_placeholders_filled() {
        let spec = workstation();
        let backend = running(&spec).await;
        let references =
            BTreeMap::from([("vendor/attacker".to_string(), "10.65.50.50".to_string())]);
        let planted = Artefact {
            path: Some("/var/log/mail.log".into()),
            lines: vec![
                "connect from x[{{vendor/attacker}}]".into(),
                "quote ' and $(reboot)".into(),
            ],
            ..artefact(ArtefactKind::Log)
        };
        let truth = plant(&backend, "mail-log", &planted, &spec, &references)
            .await
            .unwrap();
        assert_eq!(
            backend.calls(),
            [exec(
                &spec.name,
                shell::bash(
                    APPEND_LOG_SCRIPT,
                    "enshu-log",
                    &[
                        "/var/log/mail.log",
                        "connect from x[10.65.50.50]",
                        "quote ' and $(reboot)"
                    ]
                )
            )]
        );
        assert_eq!(truth["lines"][0], "connect from x[10.65.50.50]");
    }

    #[tokio::test]
    async fn a_process_runs_from_a_symlink_named_like_it() {
        let spec = workstation();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"4242\n".to_vec(),
                stderr: vec![],
            },
        );
        let planted = Artefact {
            name: Some("regsvr32-Nvtewq".into()),
            ..artefact(ArtefactKind::Process)
        };
        let truth = plant(&backend, "loader", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(
            backend.calls(),
            [exec(
                &spec.name,
                shell::bash(
                    START_PROCESS_SCRIPT,
                    "enshu-process",
                    // On a staff PC it runs as the clerk, from the clerk's profile.
                    &["regsvr32-Nvtewq", "/home/staff/.cache", "100000", "staff"]
                )
            )]
        );
        assert_eq!(truth["user"], "staff");
        assert_eq!(truth["pid"], 4242);
        assert_eq!(truth["comm"], "regsvr32-Nvtewq");
        let bad = Artefact {
            name: Some("../../bin/x".into()),
            ..artefact(ArtefactKind::Process)
        };
        assert!(matches!(
            plant(&backend, "x", &bad, &spec, &BTreeMap::new()).await,
            Err(ArtefactError::Refused { .. })
        ));
    }

    #[test]
    fn cron_goes_to_the_spool_where_writable_else_to_tmpfs_and_says_so() {
        let workstation = roles::hardening_for(enshu_scenario::model::ImageRole::Workstation);
        assert_eq!(
            cron_location(&workstation, "staff", "x"),
            CronLocation {
                path: "/var/spool/cron/crontabs/staff".into(),
                per_user: true,
                active: true
            }
        );
        let web = roles::hardening_for(enshu_scenario::model::ImageRole::Web);
        assert_eq!(
            cron_location(&web, "root", "x"),
            CronLocation {
                path: "/tmp/.cron/root".into(),
                per_user: true,
                active: false
            }
        );
        let mut writable_root = web.clone();
        writable_root.read_only = false;
        assert_eq!(
            cron_location(&writable_root, "root", "x").path,
            "/var/spool/cron/crontabs/root"
        );
    }

    #[tokio::test]
    async fn cron_writes_a_user_crontab_line() {
        let spec = workstation();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"abc123  /var/spool/cron/crontabs/root\n".to_vec(),
                stderr: vec![],
            },
        );
        let planted = Artefact {
            name: Some("/var/tmp/.svc/update.sh".into()),
            schedule: Some("*/5 * * * *".into()),
            ..artefact(ArtefactKind::Cron)
        };
        let truth = plant(&backend, "persistence", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(
            backend.calls(),
            [exec(
                &spec.name,
                shell::bash(
                    ADD_CRON_SCRIPT,
                    "enshu-cron",
                    &[
                        "/var/spool/cron/crontabs/root",
                        "root",
                        "*/5 * * * * /var/tmp/.svc/update.sh",
                        "yes"
                    ]
                )
            )]
        );
        assert_eq!(truth["cron_line"], "*/5 * * * * /var/tmp/.svc/update.sh");
        assert_eq!(truth["file_sha256"], "abc123");
        assert_eq!(truth["active"], true);
        assert_eq!(truth["user"], "root");
        let mut readable = spec.hardening.clone();
        readable.cap_add.push("DAC_READ_SEARCH".into());
        assert_eq!(
            cron_user(ContainerRole::Host(ImageRole::Workstation), &readable),
            "staff"
        );
    }

    #[tokio::test]
    async fn deface_keeps_the_golden_copy_first() {
        let mut spec = host(
            ImageRole::Web,
            roles::hardening_for(enshu_scenario::model::ImageRole::Web),
        );
        spec.name = "enshu-s-t01-www".into();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"feedbeef  /run/enshu/golden/var/www/html/index.html\n".to_vec(),
                stderr: vec![],
            },
        );
        let page = "/var/www/html/index.html";
        let planted = Artefact {
            path: Some(page.into()),
            content: Some("HACKED\n".into()),
            ..artefact(ArtefactKind::Deface)
        };
        let truth = plant(&backend, "deface", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(
            backend.calls(),
            [
                exec(
                    &spec.name,
                    shell::bash(
                        KEEP_GOLDEN_SCRIPT,
                        "enshu-golden",
                        &[page, "/run/enshu/golden/var/www/html/index.html"]
                    )
                ),
                // Written in place, keeping the page's owner, group and mode.
                Call::CopyIn(spec.name.clone(), "/tmp/.enshu-stage-deface".into()),
                exec(
                    &spec.name,
                    shell::bash(
                        OVERWRITE_SCRIPT,
                        "enshu-overwrite",
                        &["/tmp/.enshu-stage-deface", page]
                    )
                ),
            ]
        );
        assert_eq!(truth["golden_sha256"], "feedbeef");
        assert_eq!(truth["defaced_sha256"], shell::sha256_hex(b"HACKED\n"));
        backend.clear_calls();
        restore_deface(&backend, &spec.name, &truth).await.unwrap();
        assert_eq!(backend.calls().len(), 1);
    }

    #[tokio::test]
    async fn a_read_only_page_is_an_error_naming_the_cause() {
        let spec = host(
            ImageRole::Web,
            roles::hardening_for(enshu_scenario::model::ImageRole::Web),
        );
        let backend = running(&spec).await;
        backend.answer_exec(&spec.name, ExecOutput { exit_code: 4, stdout: vec![], stderr: b"page /var/www/html/index.html is not writable (read-only root filesystem: the web root needs a tmpfs or volume)".to_vec() });
        let planted = Artefact {
            path: Some("/var/www/html/index.html".into()),
            content: Some("x".into()),
            ..artefact(ArtefactKind::Deface)
        };
        let error = plant(&backend, "deface", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("read-only root filesystem"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn encrypt_and_restore_use_a_manifest() {
        let spec = workstation();
        let backend = running(&spec).await;
        backend.answer_exec(
            &spec.name,
            ExecOutput {
                exit_code: 0,
                stdout: b"2\n/home/staff/a.docx\n/home/staff/b.xlsx\n".to_vec(),
                stderr: vec![],
            },
        );
        let planted = Artefact {
            path: Some("/home/staff".into()),
            ..artefact(ArtefactKind::Encrypt)
        };
        let truth = plant(&backend, "ransom", &planted, &spec, &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(truth["files_renamed"], 2);
        assert_eq!(truth["manifest"], "/run/enshu/encrypt/ransom.list");
        assert_eq!(truth["ransom_note"], "/home/staff/README_RESTORE_FILES.txt");
        backend.clear_calls();
        restore_encrypt(&backend, &spec.name, &truth).await.unwrap();
        assert_eq!(
            backend.calls(),
            [exec(
                &spec.name,
                shell::bash(
                    &format!("{RUN_AS_OWNER}{DECRYPT_SCRIPT}"),
                    "enshu-decrypt",
                    &[
                        "/run/enshu/encrypt/ransom.list",
                        "/home/staff/README_RESTORE_FILES.txt",
                        "/home/staff"
                    ]
                )
            )]
        );
    }

    #[test]
    fn kind_names_are_the_scenario_spelling() {
        use enshu_scenario::model::TrafficKind;
        for kind in [
            ArtefactKind::File,
            ArtefactKind::Log,
            ArtefactKind::Process,
            ArtefactKind::Cron,
            ArtefactKind::User,
            ArtefactKind::Deface,
            ArtefactKind::Encrypt,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for kind in [
            TrafficKind::Scan,
            TrafficKind::Beacon,
            TrafficKind::BruteForce,
            TrafficKind::PasswordSpray,
            TrafficKind::Exfiltration,
            TrafficKind::DnsTunnel,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[tokio::test]
    async fn missing_fields_and_bad_paths_are_refused_before_any_exec() {
        let spec = workstation();
        let backend = running(&spec).await;
        let no_path = artefact(ArtefactKind::File);
        assert!(matches!(
            plant(&backend, "x", &no_path, &spec, &BTreeMap::new()).await,
            Err(ArtefactError::Missing { field: "path", .. })
        ));
        let relative = Artefact {
            path: Some("../etc/x".into()),
            ..artefact(ArtefactKind::File)
        };
        assert!(matches!(
            plant(&backend, "x", &relative, &spec, &BTreeMap::new()).await,
            Err(ArtefactError::Refused { .. })
        ));
        assert!(backend.calls().is_empty());
    }
}
