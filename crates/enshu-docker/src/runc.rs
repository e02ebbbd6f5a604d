//! The direct TTY path's runtime: `runc exec` into a range container,
//! started by this process, the pty master received over runc's console
//! socket, so a shell's bytes pass this process and the kernel's pty only
//! (not the engine, a FIFO and containerd's shim as the engine's exec
//! does: BENCHMARKS.md, "The way in").
//!
//! This module is the one that speaks runc's protocols: its command line,
//! its state directory and the console socket (one `SCM_RIGHTS` message
//! carrying the master). `crate::terminal::direct` drives the pty it
//! returns.
//!
//! # The same process as the engine's exec
//!
//! The engine's exec (moby `daemon/exec.go`) takes the container's OCI
//! spec `process` (capabilities, seccomp, AppArmor profile,
//! no_new_privileges, rlimits, OOM score), replaces its args, env, user,
//! cwd and terminal, and has containerd's shim run `runc exec --detach
//! --process <that> --console-socket <shim's> --pid-file <f> <id>` with
//! the engine's runc root. This module does the same with the same spec,
//! read from the container's bundle (the `bundle=` label runc keeps in
//! the container's `state.json`), the same root and the same binary: runc
//! then joins the container's namespaces and cgroup from its own state,
//! as for the engine. What it replaces, as the engine does:
//!
//! - args: the request's command;
//! - env: the spec's (the engine's defaults and the container's env),
//!   `TERM=xterm` when the spec has none (the engine's default for a
//!   TTY), then each of the request's `NAME=value` replacing its name;
//!   no `HOME`: runc sets it from the container's `/etc/passwd` as it
//!   does for the engine's exec;
//! - user: the uid, gid and supplementary groups the engine resolves
//!   ([`crate::host::account`]): `additionalGids` is the gid and then the
//!   groups listing the user, replacing the spec's (which are root's:
//!   `runc exec --user/--additional-gids` would append to them and give
//!   the shell root's group, which is why a `--process` file is used);
//! - terminal: true, `consoleSize` the request's size, so the shell's
//!   first prompt already sees it;
//! - cwd: kept (the container's working directory or `/`, as the engine).
//!
//! runc is run detached, as the shim runs it: it exits once the process
//! runs, and the process, runc's child, is handed to the nearest
//! subreaper, this process ([`crate::host::pty::become_subreaper`]), which
//! waits for it by its pid (never `waitpid(-1)`, which would take the
//! exits of other children) and so knows its exit status. (runc 1.1
//! refuses a console socket without `--detach`.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use enshu_backend::terminal::TerminalSize;
use serde_json::Value;

use crate::host::account::Account;

/// The engine's runc root (Docker 20.10: the `moby` namespace of
/// `/run/docker/runtime-runc`).
pub const DOCKER_RUNC_ROOT: &str = "/run/docker/runtime-runc/moby";

/// Largest `config.json` or `state.json` read (a real one is ~30 KiB).
const MOST_STATE_BYTES: u64 = 8 * 1024 * 1024;

/// How long runc may take to start a process.
const START_WITHIN: Duration = Duration::from_secs(30);

/// runc on this machine, found once.
#[derive(Debug)]
pub struct Runc {
    binary: PathBuf,
    root: PathBuf,
    /// A 0700 directory of this process for console sockets, pid files
    /// and process files.
    work: PathBuf,
    next: AtomicU64,
}

/// A process runc started: its host pid and its pty's master.
#[derive(Debug)]
pub struct Started {
    pub pid: i32,
    pub master: std::os::fd::OwnedFd,
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join("runc"))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|metadata| {
                use std::os::unix::fs::PermissionsExt;
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

impl Runc {
    /// runc and the engine's runc root, when this process can use them
    /// (root, the binary on `PATH`, the root directory present); why not
    /// otherwise. Makes this process a child subreaper.
    pub fn discover() -> Result<Runc, String> {
        if !crate::host::pty::is_root() {
            return Err("not running as root".to_string());
        }
        let binary = find_binary().ok_or("no runc binary on PATH")?;
        let root = PathBuf::from(DOCKER_RUNC_ROOT);
        if !root.is_dir() {
            return Err(format!("{DOCKER_RUNC_ROOT} is not a directory"));
        }
        static BACKENDS: AtomicU64 = AtomicU64::new(0);
        // /run: only root writes there (a world-writable /tmp lets anyone
        // race for a name).
        let base = Path::new("/run");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        remove_stale_work(&base);
        let work = base.join(format!(
            "{WORK_PREFIX}{}-{}",
            std::process::id(),
            BACKENDS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&work);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&work)
                .map_err(|error| format!("{}: {error}", work.display()))?;
        }
        crate::host::pty::become_subreaper()
            .map_err(|error| format!("prctl(PR_SET_CHILD_SUBREAPER): {error}"))?;
        Ok(Runc {
            binary,
            root,
            work,
            next: AtomicU64::new(0),
        })
    }

    /// Whether runc's root holds state for the container (full id): the
    /// engine runs it with this runc.
    pub fn has_state(&self, container_id: &str) -> bool {
        is_full_id(container_id)
            && std::fs::symlink_metadata(self.root.join(container_id).join("state.json"))
                .is_ok_and(|metadata| metadata.is_file())
    }

    /// The container's OCI spec `process`, from its bundle.
    pub fn spec_process(&self, container_id: &str) -> Result<Value, String> {
        if !is_full_id(container_id) {
            return Err(format!("{container_id:?} is not a full container id"));
        }
        let state_path = self.root.join(container_id).join("state.json");
        let state: Value = serde_json::from_slice(&read_bounded(&state_path)?)
            .map_err(|error| format!("{}: {error}", state_path.display()))?;
        let bundle = bundle_of_state(&state)
            .ok_or_else(|| format!("{}: no bundle= label", state_path.display()))?;
        let config_path = Path::new(&bundle).join("config.json");
        let config: Value = serde_json::from_slice(&read_bounded(&config_path)?)
            .map_err(|error| format!("{}: {error}", config_path.display()))?;
        config
            .get("process")
            .filter(|process| process.is_object())
            .cloned()
            .ok_or_else(|| format!("{}: no process object", config_path.display()))
    }

    /// Start `process` (an OCI process object) in the container, detached,
    /// with a TTY; its pid and pty master.
    pub async fn exec(&self, container_id: &str, process: &Value) -> Result<Started, String> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let socket_path = self.work.join(format!("{number}.sock"));
        let pid_path = self.work.join(format!("{number}.pid"));
        let process_path = self.work.join(format!("{number}.json"));
        let cleanup = Cleanup(vec![
            socket_path.clone(),
            pid_path.clone(),
            process_path.clone(),
        ]);
        std::fs::write(&process_path, process.to_string())
            .map_err(|error| format!("{}: {error}", process_path.display()))?;
        let listener = tokio::net::UnixListener::bind(&socket_path)
            .map_err(|error| format!("{}: {error}", socket_path.display()))?;
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("--root")
            .arg(&self.root)
            .args(["exec", "--detach", "--console-socket"])
            .arg(&socket_path)
            .arg("--pid-file")
            .arg(&pid_path)
            .arg("--process")
            .arg(&process_path)
            .arg(container_id)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|error| format!("{}: {error}", self.binary.display()))?;
        let run = async {
            let waited = child.wait_with_output();
            let received = receive_master(&listener);
            tokio::pin!(waited, received);
            // runc sends the master before it exits; a runc that fails
            // exits without connecting.
            let master = tokio::select! {
                master = &mut received => Some(master?),
                output = &mut waited => {
                    let output = output.map_err(|error| format!("waiting for runc: {error}"))?;
                    if !output.status.success() {
                        return Err(runc_failure(&output));
                    }
                    // Exited as it should, its console already sent.
                    return Ok(Some(received.await?));
                }
            };
            let output = waited
                .await
                .map_err(|error| format!("waiting for runc: {error}"))?;
            if !output.status.success() {
                return Err(runc_failure(&output));
            }
            Ok(master)
        };
        let master = tokio::time::timeout(START_WITHIN, run)
            .await
            .map_err(|_| format!("runc did not start the process within {START_WITHIN:?}"))??
            .ok_or("runc sent no console")?;
        let pid_text = std::fs::read_to_string(&pid_path)
            .map_err(|error| format!("{}: {error}", pid_path.display()))?;
        let pid = pid_text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|pid| *pid > 0)
            .ok_or_else(|| format!("{}: not a pid: {pid_text:?}", pid_path.display()))?;
        drop(cleanup);
        Ok(Started { pid, master })
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// The name of a work directory, before `<pid>-<n>`.
const WORK_PREFIX: &str = "enshu-runc-";

/// Work directories of processes that are gone (killed before their
/// backend dropped), removed (a link planted there is removed, not followed).
fn remove_stale_work(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(WORK_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn runc_failure(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr: String = stderr.trim().chars().take(2000).collect();
    format!("runc exec {}: {stderr}", output.status)
}

fn is_full_id(container_id: &str) -> bool {
    container_id.len() == 64 && container_id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MOST_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    if bytes.len() as u64 > MOST_STATE_BYTES {
        return Err(format!(
            "{}: longer than {MOST_STATE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

/// The bundle directory of a runc `state.json` (its `bundle=` label).
fn bundle_of_state(state: &Value) -> Option<String> {
    state
        .pointer("/config/labels")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|label| label.strip_prefix("bundle="))
        .filter(|bundle| bundle.starts_with('/'))
        .map(str::to_string)
}

/// `env` with each of `overrides`' `NAME=value` replacing the entry of
/// its name or appended (the engine's `ReplaceOrAppendEnvValues`).
fn replace_or_append(env: &mut Vec<String>, overrides: &[String]) {
    for entry in overrides {
        let name = entry.split('=').next().unwrap_or(entry);
        match env
            .iter_mut()
            .find(|existing| existing.split('=').next() == Some(name))
        {
            Some(existing) => existing.clone_from(entry),
            None => env.push(entry.clone()),
        }
    }
}

/// The process the engine's exec would start from the container's spec
/// `process` (module doc): pure.
pub fn exec_process(
    spec_process: &Value,
    account: &Account,
    command: &[String],
    env: &[String],
    size: TerminalSize,
) -> Value {
    let mut process = spec_process.clone();
    let mut full_env: Vec<String> = process
        .get("env")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !full_env.iter().any(|entry| entry.starts_with("TERM=")) {
        full_env.push("TERM=xterm".to_string());
    }
    replace_or_append(&mut full_env, env);
    let mut additional = vec![account.gid];
    additional.extend(&account.groups);
    let object = process
        .as_object_mut()
        .expect("the spec process is an object");
    object.insert("args".into(), serde_json::json!(command));
    object.insert("env".into(), serde_json::json!(full_env));
    object.insert("terminal".into(), Value::Bool(true));
    object.insert(
        "consoleSize".into(),
        serde_json::json!({"height": size.rows, "width": size.columns}),
    );
    object.insert(
        "user".into(),
        serde_json::json!({"uid": account.uid, "gid": account.gid, "additionalGids": additional}),
    );
    if !object.get("cwd").is_some_and(Value::is_string) {
        object.insert("cwd".into(), Value::String("/".into()));
    }
    process
}

/// The master runc sends on the first connection to `listener`.
async fn receive_master(
    listener: &tokio::net::UnixListener,
) -> Result<std::os::fd::OwnedFd, String> {
    let (stream, _) = listener
        .accept()
        .await
        .map_err(|error| format!("console socket: {error}"))?;
    loop {
        stream
            .readable()
            .await
            .map_err(|error| format!("console socket: {error}"))?;
        match stream.try_io(tokio::io::Interest::READABLE, || {
            crate::host::pty::receive_fd(&stream)
        }) {
            Ok(fd) => return Ok(fd),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(format!("console socket: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_is_the_specs_with_what_the_engine_replaces() {
        let spec = serde_json::json!({
            "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
            "args": ["sleep", "infinity"],
            "env": ["PATH=/usr/bin:/bin", "HOSTNAME=abc", "LANG=C.UTF-8"],
            "cwd": "/srv",
            "capabilities": {"bounding": ["CAP_CHOWN"]},
            "noNewPrivileges": true,
            "apparmorProfile": "docker-default",
            "oomScoreAdj": 0
        });
        let account = Account {
            uid: 1000,
            gid: 1000,
            groups: vec![27],
            home: "/home/analyst".into(),
        };
        let process = exec_process(
            &spec,
            &account,
            &["bash".into(), "-l".into()],
            &["LANG=ja_JP.UTF-8".into(), "COLORTERM=truecolor".into()],
            TerminalSize::clamped(120, 40),
        );
        assert_eq!(
            process,
            serde_json::json!({
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [1000, 27]},
                "args": ["bash", "-l"],
                "env": ["PATH=/usr/bin:/bin", "HOSTNAME=abc", "LANG=ja_JP.UTF-8",
                        "TERM=xterm", "COLORTERM=truecolor"],
                "cwd": "/srv",
                "terminal": true,
                "consoleSize": {"height": 40, "width": 120},
                "capabilities": {"bounding": ["CAP_CHOWN"]},
                "noNewPrivileges": true,
                "apparmorProfile": "docker-default",
                "oomScoreAdj": 0
            })
        );
        let with_term = exec_process(
            &spec,
            &account,
            &[],
            &["TERM=vt100".into()],
            TerminalSize::default(),
        );
        let env = with_term["env"].as_array().unwrap();
        assert_eq!(
            env.iter()
                .filter(|entry| entry.as_str().unwrap().starts_with("TERM="))
                .count(),
            1
        );
    }

    #[test]
    fn the_bundle_is_read_from_runcs_label_only_when_absolute() {
        let state = serde_json::json!({"config": {"labels": ["x=y", "bundle=/run/b/1"]}});
        assert_eq!(bundle_of_state(&state).as_deref(), Some("/run/b/1"));
        let relative = serde_json::json!({"config": {"labels": ["bundle=run/b"]}});
        assert_eq!(bundle_of_state(&relative), None);
        assert!(!is_full_id("abc"));
        assert!(!is_full_id(&"../".repeat(22)[..64]));
    }
}
