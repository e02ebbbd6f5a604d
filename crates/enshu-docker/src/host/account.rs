//! The login user of a range container as the engine's exec resolves it:
//! uid, gid, supplementary groups and home from the container's own
//! `/etc/passwd` and `/etc/group`, for the direct TTY path
//! ([`crate::runc`]), which hands runc numeric ids as the engine does.
//!
//! The container is hostile: trainees are root in it and may replace
//! either file by a symlink (`/etc/passwd -> /etc/shadow` of the host, if
//! the host resolved it), a FIFO, a device or a huge file. So the files
//! are opened from the host as follows, never by a path string under
//! `/proc/<pid>/root`:
//!
//! 1. `/proc/<pid>` is opened as a directory; every later step goes
//!    through that descriptor, which stays bound to that one process (a
//!    recycled pid cannot be swapped in under it), and its `cgroup` must
//!    name the container before anything else is read.
//! 2. Its `root` (the container's root directory, a magic link the
//!    kernel resolves to the process's own root) is opened `O_PATH`.
//! 3. `etc/passwd` is opened relative to that with `openat2(2)` and
//!    `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: every symlink, absolute
//!    or with `..`, resolves inside the container's root, as it would for
//!    a process of the container, and no `/proc/*/root`-style link can
//!    lead out. `O_NONBLOCK` so a FIFO cannot hang the open, then
//!    `fstat` must say a regular file, then at most [`MOST_BYTES`] are
//!    read (more is refused, not cut).
//!
//! Parsing follows runc's libcontainer `user` package (what the engine
//! uses): seven colon-separated fields a passwd line, the first matching
//! line wins, a user named by number that no line names is that uid with
//! gid 0 and home `/`, supplementary groups are the groups listing the
//! user's name. A malformed line is skipped, never a reason to guess.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Largest `/etc/passwd` or `/etc/group` read (a real one is a few KiB).
pub const MOST_BYTES: u64 = 1024 * 1024;

/// The ids and home the process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, in the group file's order.
    pub groups: Vec<u32>,
    pub home: String,
}

/// Why the account could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("process {pid} is not in container {container}")]
    NotInContainer { pid: i64, container: String },
    #[error("/proc/{pid}/root/{path}: {message}")]
    File {
        pid: i64,
        path: &'static str,
        message: String,
    },
    #[error("user {user:?} is not in the container's /etc/passwd")]
    NoSuchUser { user: String },
    #[error("group {group:?} is not in the container's /etc/group")]
    NoSuchGroup { group: String },
}

struct PasswdLine<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_lines(text: &str) -> impl Iterator<Item = PasswdLine<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 7 || fields[0].is_empty() {
            return None;
        }
        Some(PasswdLine {
            name: fields[0],
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: fields[5],
        })
    })
}

struct GroupLine<'a> {
    name: &'a str,
    gid: u32,
    members: &'a str,
}

fn group_lines(text: &str) -> impl Iterator<Item = GroupLine<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 4 || fields[0].is_empty() {
            return None;
        }
        Some(GroupLine {
            name: fields[0],
            gid: fields[2].parse().ok()?,
            members: fields[3],
        })
    })
}

/// The account of `user` (`name`, `uid`, `name:group`, `uid:gid`) in
/// these files' texts, as the engine's exec resolves it (pure).
pub fn resolve(user: &str, passwd: &str, group: &str) -> Result<Account, AccountError> {
    let (user_part, group_part) = match user.split_once(':') {
        Some((user_part, group_part)) => (user_part, Some(group_part)),
        None => (user, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let numeric_uid = user_part.parse::<u32>().ok();
    let matched =
        passwd_lines(passwd).find(|line| line.name == user_part || Some(line.uid) == numeric_uid);
    let (uid, mut gid, home, name) = match (&matched, numeric_uid) {
        (Some(line), _) => (line.uid, line.gid, line.home.to_string(), Some(line.name)),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) => {
            return Err(AccountError::NoSuchUser {
                user: user_part.to_string(),
            });
        }
    };
    let mut groups = Vec::new();
    match group_part {
        Some(group_part) if !group_part.is_empty() => {
            let numeric_gid = group_part.parse::<u32>().ok();
            gid = match group_lines(group).find(|line| line.name == group_part) {
                Some(line) => line.gid,
                None => numeric_gid.ok_or_else(|| AccountError::NoSuchGroup {
                    group: group_part.to_string(),
                })?,
            };
        }
        _ => {
            // Supplementary groups only in the implicit form, as runc's.
            if let Some(name) = name {
                groups = group_lines(group)
                    .filter(|line| line.members.split(',').any(|member| member == name))
                    .map(|line| line.gid)
                    .collect();
            }
        }
    }
    Ok(Account {
        uid,
        gid,
        groups,
        home,
    })
}

/// The account of `user` in the container whose process `pid` runs
/// (host pid), read safely (module doc).
pub fn resolve_in_container(
    pid: i64,
    container_id: &str,
    user: &str,
) -> Result<Account, AccountError> {
    let process = open_process(pid)?;
    let cgroup = read_bounded_at(&process, pid, "cgroup", false)?;
    if !super::cgroup_names_container(&cgroup, container_id) {
        return Err(AccountError::NotInContainer {
            pid,
            container: container_id.to_string(),
        });
    }
    let root = open_at(&process, "root", libc::O_PATH | libc::O_DIRECTORY, 0)
        .map_err(|message| file_error(pid, "", message))?;
    let passwd = read_bounded_at(&root, pid, "etc/passwd", true)?;
    // A container without /etc/group has no supplementary groups.
    let group = match read_bounded_at(&root, pid, "etc/group", true) {
        Ok(text) => text,
        Err(AccountError::File { message, .. }) if message.contains("No such file") => {
            String::new()
        }
        Err(error) => return Err(error),
    };
    resolve(user, &passwd, &group)
}

fn file_error(pid: i64, path: &'static str, message: String) -> AccountError {
    AccountError::File { pid, path, message }
}

fn open_process(pid: i64) -> Result<OwnedFd, AccountError> {
    let path = CString::new(format!("/proc/{pid}")).expect("no NUL in a number");
    // SAFETY: open(2) with a NUL-terminated path this function owns; the
    // returned descriptor is checked and then owned by the OwnedFd alone.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return Err(file_error(
            pid,
            "",
            std::io::Error::last_os_error().to_string(),
        ));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat2(dir, path, flags, resolve)`.
fn open_at(dir: &OwnedFd, path: &str, flags: libc::c_int, resolve: u64) -> Result<OwnedFd, String> {
    let path = CString::new(path).map_err(|error| error.to_string())?;
    // SAFETY: open_how is plain integers; all zero is a valid value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // openat2 refuses O_NOCTTY beside O_PATH (EINVAL).
    let extra = if flags & libc::O_PATH != 0 {
        libc::O_CLOEXEC
    } else {
        libc::O_CLOEXEC | libc::O_NOCTTY
    };
    how.flags = (flags | extra) as u64;
    how.resolve = resolve;
    // SAFETY: openat2(2) reads `how` (a live open_how of the size passed)
    // and the NUL-terminated `path`; both outlive the call. The result is
    // a fresh descriptor, owned by the OwnedFd alone once checked.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let fd = libc::c_int::try_from(fd).map_err(|error| error.to_string())?;
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A regular file under `dir`, at most [`MOST_BYTES`], as text (bytes
/// that are not UTF-8 replaced, so such a line matches no name).
fn read_bounded_at(
    dir: &OwnedFd,
    pid: i64,
    path: &'static str,
    in_root: bool,
) -> Result<String, AccountError> {
    let resolve = if in_root {
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS
    } else {
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS
    };
    let fd = open_at(dir, path, libc::O_RDONLY | libc::O_NONBLOCK, resolve)
        .map_err(|message| file_error(pid, path, message))?;
    let mut file = File::from(fd);
    let metadata = file
        .metadata()
        .map_err(|error| file_error(pid, path, error.to_string()))?;
    if !metadata.file_type().is_file() {
        return Err(file_error(pid, path, "not a regular file".to_string()));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MOST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| file_error(pid, path, error.to_string()))?;
    if bytes.len() as u64 > MOST_BYTES {
        return Err(file_error(
            pid,
            path,
            format!("longer than {MOST_BYTES} bytes"),
        ));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        broken line\n\
        evil:x:notanumber:0::/:/bin/sh\n\
        analyst:x:1000:1000:Analyst,,,:/home/analyst:/bin/bash\n\
        analyst:x:2000:2000::/elsewhere:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nadm:x:4:analyst,other\nwireshark:x:120:analyst\n\
        analyst:x:1000:\nnotmine:x:5:analystx\n";

    #[test]
    fn a_name_gets_its_first_line_and_the_groups_that_list_it() {
        assert_eq!(
            resolve("analyst", PASSWD, GROUP),
            Ok(Account {
                uid: 1000,
                gid: 1000,
                groups: vec![4, 120],
                home: "/home/analyst".to_string()
            })
        );
    }

    #[test]
    fn numbers_and_explicit_groups_resolve_as_runc_does() {
        let by_uid = resolve("1000", PASSWD, GROUP).unwrap();
        assert_eq!((by_uid.uid, by_uid.home.as_str()), (1000, "/home/analyst"));
        let unknown = resolve("4242", PASSWD, GROUP).unwrap();
        assert_eq!(
            (unknown.uid, unknown.gid, unknown.home.as_str()),
            (4242, 0, "/")
        );
        let explicit = resolve("analyst:adm", PASSWD, GROUP).unwrap();
        assert_eq!((explicit.gid, explicit.groups.len()), (4, 0));
        assert_eq!(resolve("analyst:77", PASSWD, GROUP).unwrap().gid, 77);
        assert_eq!(
            resolve("nobody", PASSWD, GROUP),
            Err(AccountError::NoSuchUser {
                user: "nobody".to_string()
            })
        );
        assert!(resolve("analyst:nogroup", PASSWD, GROUP).is_err());
    }

    #[test]
    fn malformed_lines_match_nothing() {
        assert!(resolve("evil", PASSWD, GROUP).is_err());
        assert!(resolve("broken line", PASSWD, GROUP).is_err());
        assert!(resolve("x", "x:x:1:1::::\n", "").is_err(), "eight fields");
    }

    #[test]
    fn a_symlink_out_of_a_root_resolves_inside_it() {
        // A stand-in root whose etc/passwd points at an absolute path of
        // the host: read in the root, it is that root's own file.
        let base = std::env::temp_dir().join(format!("enshu-account-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::create_dir_all(base.join("secret")).unwrap();
        std::fs::write(base.join("secret/file"), "inside:x:7:7::/in:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/secret/file", base.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/../../../../etc/hostname", base.join("etc/group")).unwrap();
        let path = CString::new(base.to_str().unwrap()).unwrap();
        // SAFETY: open(2) of a NUL-terminated path; the descriptor is owned below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_DIRECTORY) };
        assert!(fd >= 0);
        // SAFETY: a fresh descriptor.
        let root = unsafe { OwnedFd::from_raw_fd(fd) };
        let passwd = read_bounded_at(&root, 0, "etc/passwd", true).unwrap();
        assert!(passwd.starts_with("inside:"), "{passwd}");
        assert!(
            read_bounded_at(&root, 0, "etc/group", true).is_err(),
            "the host's /etc/hostname must not be reached through .."
        );
        std::fs::remove_file(base.join("etc/group")).unwrap();
        let fifo = CString::new(base.join("etc/group").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) of a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let error = read_bounded_at(&root, 0, "etc/group", true).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
