//! Writing a file into a container: where it may go and how it gets there.
//!
//! Docker's archive upload writes into the container's root filesystem from
//! the host side, which is wrong for exactly the paths the controller writes
//! most: tmpfs mounts (the router's `/etc/enshu`, a web root) exist only in
//! the container's own mount namespace, so an upload there would land, unseen,
//! in the layer underneath, and a read-only root filesystem refuses uploads
//! altogether. So the choice is made here, purely, from the container's
//! mounts: tmpfs paths are written by a process inside the running container
//! (`sh`, fed through stdin), everything else by an archive built in memory.

use std::io;

/// How a file reaches the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// `PUT /containers/{name}/archive` with an in-memory tar.
    Archive,
    /// `sh` inside the running container writes stdin to the path.
    ExecStdin,
}

/// A path the backend refuses to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefused {
    #[error("path {0:?} is not absolute")]
    NotAbsolute(String),
    #[error("path {0:?} has an empty, '.' or '..' component")]
    NotNormal(String),
    #[error("path {0:?} names a directory, not a file")]
    NotAFile(String),
}

/// The components of an absolute, normal file path.
pub fn path_components(path: &str) -> Result<Vec<&str>, PathRefused> {
    let Some(relative) = path.strip_prefix('/') else {
        return Err(PathRefused::NotAbsolute(path.to_string()));
    };
    if relative.is_empty() || relative.ends_with('/') {
        return Err(PathRefused::NotAFile(path.to_string()));
    }
    let components: Vec<&str> = relative.split('/').collect();
    if components
        .iter()
        .any(|component| component.is_empty() || *component == "." || *component == "..")
    {
        return Err(PathRefused::NotNormal(path.to_string()));
    }
    Ok(components)
}

/// Whether `path` lies inside the mount point `mount` (component-wise, so
/// `/etc/enshu-old` is not inside `/etc/enshu`).
fn is_inside(path: &str, mount: &str) -> bool {
    let mount = mount.trim_end_matches('/');
    mount.is_empty()
        || path == mount
        || path
            .strip_prefix(mount)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// How to write `path`, given the container's tmpfs mount points.
pub fn copy_method<'a>(path: &str, tmpfs_mounts: impl IntoIterator<Item = &'a str>) -> CopyMethod {
    if tmpfs_mounts.into_iter().any(|mount| is_inside(path, mount)) {
        CopyMethod::ExecStdin
    } else {
        CopyMethod::Archive
    }
}

/// The directories above `path`, outermost first: `/a/b/c` → `/`, `/a`, `/a/b`.
pub fn ancestors(components: &[&str]) -> Vec<String> {
    (0..components.len())
        .map(|depth| format!("/{}", components[..depth].join("/")))
        .collect()
}

/// A tar to extract at `directory` (an existing ancestor of the file) that
/// creates the missing directories (mode 0755, root-owned) and the file.
/// Existing directories are never in the archive, so their owner and mode
/// (`/tmp`'s sticky bit, say) stay as they are.
pub fn file_archive(
    directory: &str,
    path: &str,
    contents: &[u8],
    mode: u32,
    modified_unix_seconds: u64,
) -> io::Result<Vec<u8>> {
    let relative = path
        .strip_prefix(directory.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path:?} is not below {directory:?}"),
            )
        })?;
    let components: Vec<&str> = relative.split('/').collect();
    let mut builder = tar::Builder::new(Vec::new());
    let header_for = |entry_type: tar::EntryType, mode: u32, size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry_type);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(modified_unix_seconds);
        header
    };
    for depth in 1..components.len() {
        let mut header = header_for(tar::EntryType::Directory, 0o755, 0);
        builder.append_data(
            &mut header,
            format!("{}/", components[..depth].join("/")),
            io::empty(),
        )?;
    }
    let mut header = header_for(
        tar::EntryType::Regular,
        mode & 0o7777,
        contents.len() as u64,
    );
    builder.append_data(&mut header, relative, contents)?;
    builder.into_inner()
}

/// The command that writes stdin to `path` inside the container.
pub fn exec_stdin_command(path: &str, mode: u32) -> Vec<String> {
    const SCRIPT: &str = include_str!("../scripts/copy-in.sh");
    ["sh", "-c", SCRIPT, "enshu-copy-in", path]
        .into_iter()
        .map(str::to_string)
        .chain([format!("{:o}", mode & 0o7777)])
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn only_absolute_normal_file_paths_are_accepted() {
        assert_eq!(
            path_components("/etc/enshu/rules.nft").unwrap(),
            ["etc", "enshu", "rules.nft"]
        );
        assert_eq!(
            path_components("etc/x"),
            Err(PathRefused::NotAbsolute("etc/x".into()))
        );
        assert_eq!(
            path_components("/etc/../x"),
            Err(PathRefused::NotNormal("/etc/../x".into()))
        );
        assert_eq!(
            path_components("/etc//x"),
            Err(PathRefused::NotNormal("/etc//x".into()))
        );
        assert_eq!(
            path_components("/etc/"),
            Err(PathRefused::NotAFile("/etc/".into()))
        );
        assert_eq!(path_components("/"), Err(PathRefused::NotAFile("/".into())));
    }

    #[test]
    fn tmpfs_paths_are_written_from_inside() {
        let mounts = ["/run", "/tmp", "/etc/enshu"];
        assert_eq!(
            copy_method("/etc/enshu/rules.nft", mounts),
            CopyMethod::ExecStdin
        );
        assert_eq!(copy_method("/tmp/a/b", mounts), CopyMethod::ExecStdin);
        assert_eq!(copy_method("/etc/enshu-old/x", mounts), CopyMethod::Archive);
        assert_eq!(copy_method("/etc/hosts", mounts), CopyMethod::Archive);
        assert_eq!(copy_method("/etc/hosts", []), CopyMethod::Archive);
    }

    #[test]
    fn ancestors_run_from_the_root_down() {
        assert_eq!(
            ancestors(&["var", "tmp", ".svc", "update.sh"]),
            ["/", "/var", "/var/tmp", "/var/tmp/.svc"]
        );
    }

    #[test]
    fn archive_creates_missing_directories_then_the_file() {
        let bytes = file_archive(
            "/var",
            "/var/tmp/.svc/update.sh",
            b"#!/bin/sh\n",
            0o755,
            1_700_000_000,
        )
        .unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut data = String::new();
            entry.read_to_string(&mut data).unwrap();
            seen.push((
                entry.path().unwrap().display().to_string(),
                header.entry_type().is_dir(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                data,
            ));
        }
        assert_eq!(
            seen,
            [
                ("tmp/".to_string(), true, 0o755, 0, String::new()),
                ("tmp/.svc/".to_string(), true, 0o755, 0, String::new()),
                (
                    "tmp/.svc/update.sh".to_string(),
                    false,
                    0o755,
                    0,
                    "#!/bin/sh\n".to_string()
                ),
            ]
        );
    }

    #[test]
    fn archive_into_the_parent_holds_only_the_file() {
        let bytes = file_archive("/", "/motd", b"hi", 0o100644, 0).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.path().unwrap().display().to_string(),
                    entry.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, [("motd".to_string(), 0o644)]);
        assert!(file_archive("/etc", "/var/x", b"", 0o644, 0).is_err());
    }

    #[test]
    fn exec_command_passes_path_and_mode_as_arguments() {
        let command = exec_stdin_command("/etc/enshu/it's here", 0o640);
        assert_eq!(command[..2], ["sh", "-c"]);
        assert_eq!(
            command[3..],
            ["enshu-copy-in", "/etc/enshu/it's here", "640"]
        );
        assert!(
            !command[2].contains("it's"),
            "the path is never spliced into the script"
        );
    }
}
