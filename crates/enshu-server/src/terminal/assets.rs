//! xterm.js, served by Enshu itself from Debian's `node-xterm` (no CDN).
//!
//! Debian ships xterm.js 3.8 as CommonJS modules under
//! `/usr/share/nodejs/xterm/lib` (its `libjs-xterm` browser file is only a
//! stub that `require`s them), so at start the server reads every module
//! (tests left out) and the fit addon and wraps them, each in a function of
//! its own, into one script with a tiny `require`: the browser gets
//! `window.EnshuXterm = {Terminal, fit}` from `/static/xterm.js`, and the
//! stylesheet from `/static/xterm.css`. Read once, held in memory; a
//! machine without the package fails at start, naming it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where Debian's `node-xterm` puts the package.
pub const DEBIAN_XTERM_DIR: &str = "/usr/share/nodejs/xterm";

/// Most bytes read from the package (it is about 400 KiB).
const MAX_BUNDLE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum XtermAssetsError {
    #[error(
        "xterm.js is missing: {path} cannot be read ({source}); install Debian's package node-xterm (`make deps`)"
    )]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: xterm.js is larger than {MAX_BUNDLE_BYTES} bytes, not the package expected")]
    TooLarge { path: PathBuf },
}

/// The bundled script and the stylesheet.
#[derive(Debug, Clone)]
pub struct XtermAssets {
    pub script: String,
    pub stylesheet: String,
}

impl XtermAssets {
    /// From Debian's package at [`DEBIAN_XTERM_DIR`].
    pub fn from_debian() -> Result<XtermAssets, XtermAssetsError> {
        XtermAssets::load(Path::new(DEBIAN_XTERM_DIR))
    }

    /// From a `node-xterm` tree (`lib/` with `public/Terminal.js`,
    /// `addons/fit/fit.js` and `xterm.css`).
    pub fn load(package: &Path) -> Result<XtermAssets, XtermAssetsError> {
        let lib = package.join("lib");
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| XtermAssetsError::Missing {
                path: path.to_path_buf(),
                source,
            })
        };
        let stylesheet = read(&lib.join("xterm.css"))?;
        // The entry points must be there; the rest is found by walking.
        read(&lib.join("public/Terminal.js"))?;
        read(&lib.join("addons/fit/fit.js"))?;
        let mut modules = Vec::new();
        collect_modules(&lib, &lib, &mut modules).map_err(|source| XtermAssetsError::Missing {
            path: lib.clone(),
            source,
        })?;
        modules.sort();
        let mut script = String::from(
            "/* xterm.js from Debian's node-xterm, bundled by Enshu */\n(function () {\nvar definitions = {\n",
        );
        for relative in &modules {
            let source = read(&lib.join(relative))?;
            let source: String = source
                .lines()
                .filter(|line| !line.starts_with("//# sourceMappingURL="))
                .map(|line| format!("{line}\n"))
                .collect();
            let _ = write!(
                script,
                "{}: function (require, module, exports) {{\n{source}}},\n",
                serde_json::Value::String(relative.clone())
            );
            if script.len() > MAX_BUNDLE_BYTES {
                return Err(XtermAssetsError::TooLarge { path: lib });
            }
        }
        script.push_str(include_str!("../../static/xterm-loader.js"));
        script.push_str("})();\n");
        Ok(XtermAssets { script, stylesheet })
    }
}

/// Every `.js` module under `directory` but tests, as paths relative to `lib`.
fn collect_modules(lib: &Path, directory: &Path, found: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let path = entry.path();
        // Followed: Debian links `lib/addons` to libjs-xterm's copy.
        if std::fs::metadata(&path)?.is_dir() {
            if path
                .strip_prefix(lib)
                .map_or(0, |relative| relative.components().count())
                > 8
            {
                continue;
            }
            collect_modules(lib, &path, found)?;
            continue;
        }
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if !name.ends_with(".js") || name.ends_with(".test.js") {
            continue;
        }
        if let Ok(relative) = path.strip_prefix(lib)
            && let Some(relative) = relative.to_str()
        {
            found.push(relative.to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_package_is_named_with_how_to_install_it() {
        let error = XtermAssets::load(Path::new("/nonexistent/xterm")).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("/nonexistent/xterm/lib/xterm.css"),
            "{message}"
        );
        assert!(message.contains("node-xterm"), "{message}");
        assert!(message.contains("make deps"), "{message}");
    }
}
