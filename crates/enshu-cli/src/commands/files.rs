//! Reading scenario files and their captures from disk, for the pure core.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use enshu_scenario::{Diagnostic, LoadedScenario, validate::Files};

/// Read and load a scenario; diagnostics come back as `Err`.
pub fn load_scenario(path: &Path) -> Result<LoadedScenario, Vec<Diagnostic>> {
    let name = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|error| {
        vec![Diagnostic::whole_file(
            &name,
            format!("cannot read file: {error}"),
        )]
    })?;
    if metadata.len() > enshu_scenario::load::MAX_FILE_BYTES as u64 {
        return Err(vec![Diagnostic::whole_file(
            &name,
            format!(
                "file is {} bytes; scenarios are limited to {} bytes",
                metadata.len(),
                enshu_scenario::load::MAX_FILE_BYTES
            ),
        )]);
    }
    let bytes = std::fs::read(path).map_err(|error| {
        vec![Diagnostic::whole_file(
            &name,
            format!("cannot read file: {error}"),
        )]
    })?;
    enshu_scenario::load(&name, &bytes)
}

/// Captures are resolved relative to the scenario file's directory, made
/// absolute: the same file whatever directory the command runs in.
pub struct DiskFiles {
    pub base: PathBuf,
}

impl DiskFiles {
    pub fn beside(scenario: &Path) -> DiskFiles {
        let scenario = std::path::absolute(scenario).unwrap_or_else(|_| scenario.to_path_buf());
        DiskFiles {
            base: scenario.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }
}

impl Files for DiskFiles {
    fn check_capture(&self, path: &str) -> Result<(), String> {
        let full = self.base.join(path);
        let mut magic = [0u8; 4];
        let read = std::fs::File::open(&full)
            .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut magic))
            .with_context(|| format!("{}", full.display()));
        match read {
            Err(error) => Err(format!(
                "cannot read {}: {}",
                full.display(),
                error.root_cause()
            )),
            // The format is known by its magic number, as the injector reads it.
            Ok(()) if enshu_pcap::detect_format(&magic).is_ok() => Ok(()),
            Ok(()) => Err(format!(
                "{} is neither a pcap nor a pcapng file (magic {:02x?})",
                full.display(),
                magic
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_resolve_beside_the_scenario_as_an_absolute_directory() {
        let files = DiskFiles::beside(Path::new("scenarios/emotet-beta.yaml"));
        assert!(files.base.is_absolute(), "{}", files.base.display());
        assert_eq!(
            files.base,
            std::env::current_dir().unwrap().join("scenarios")
        );
        let bare = DiskFiles::beside(Path::new("quickstart.yaml"));
        assert_eq!(bare.base, std::env::current_dir().unwrap());
        assert_eq!(
            DiskFiles::beside(Path::new("/srv/x/s.yaml")).base,
            Path::new("/srv/x")
        );
    }
}
