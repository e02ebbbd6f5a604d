//! xterm.js, served by Enshu itself from Debian's `node-xterm` (no CDN).
//!
//! Two layouts of the package are known, and the server takes either:
//!
//! - **xterm.js 3.8 (Debian 12)**: CommonJS modules under
//!   `/usr/share/nodejs/xterm/lib` (its `libjs-xterm` browser file is only a
//!   stub that `require`s them), the fit addon in `lib/addons/fit`;
//! - **xterm.js 5.3 (Debian 13)**: one UMD bundle, `lib/xterm.js`, its
//!   stylesheet in `css/`, the fit and canvas addons in the packages beside
//!   it, `/usr/share/nodejs/xterm-addon-fit` and `xterm-addon-canvas`.
//!
//! At start the server reads the modules (tests left out) and wraps each in
//! a function of its own, into one script with a tiny `require`
//! (`static/xterm-loader.js`), ending with the version's adapter
//! (`static/xterm-3.js` or `static/xterm-5.js`): the browser gets
//! `window.EnshuXterm`, one API over both (`Terminal`, `open`, `fit`,
//! `onData`, `onResize`, `lines`), from `/static/xterm.js`, and the stylesheet from
//! `/static/xterm.css`. Read once, held in memory; a machine without the
//! package fails at start, naming it.

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
    #[error(
        "xterm.js is missing: {package} holds neither xterm.js 3 (lib/public/Terminal.js, Debian 12) nor xterm.js 5 (lib/xterm.js, Debian 13); install Debian's package node-xterm (`make deps`)"
    )]
    Unknown { package: PathBuf },
    #[error("{path}: xterm.js is larger than {MAX_BUNDLE_BYTES} bytes, not the package expected")]
    TooLarge { path: PathBuf },
}

/// The bundled script and the stylesheet.
#[derive(Debug, Clone)]
pub struct XtermAssets {
    pub script: String,
    pub stylesheet: String,
    /// xterm.js's major version: 3 (Debian 12) or 5 (Debian 13).
    pub version: u8,
}

fn read(path: &Path) -> Result<String, XtermAssetsError> {
    std::fs::read_to_string(path).map_err(|source| XtermAssetsError::Missing {
        path: path.to_path_buf(),
        source,
    })
}

/// A module's source without its source map comment, wrapped as the
/// definition `name` of the bundle.
fn define(script: &mut String, name: &str, source: &str) {
    let source: String = source
        .lines()
        .filter(|line| !line.starts_with("//# sourceMappingURL="))
        .map(|line| format!("{line}\n"))
        .collect();
    let _ = write!(
        script,
        "{}: function (require, module, exports) {{\n{source}}},\n",
        serde_json::Value::String(name.to_owned())
    );
}

const BUNDLE_START: &str = "/* xterm.js from Debian's node-xterm, bundled by Enshu */\n(function () {\nvar definitions = {\n";

impl XtermAssets {
    /// From Debian's package at [`DEBIAN_XTERM_DIR`].
    pub fn from_debian() -> Result<XtermAssets, XtermAssetsError> {
        XtermAssets::load(Path::new(DEBIAN_XTERM_DIR))
    }

    /// From a `node-xterm` tree of either layout (see the module's doc).
    pub fn load(package: &Path) -> Result<XtermAssets, XtermAssetsError> {
        let lib = package.join("lib");
        if lib.join("public/Terminal.js").is_file() {
            XtermAssets::load_modules(&lib)
        } else if lib.join("xterm.js").is_file() {
            XtermAssets::load_bundle(package)
        } else {
            Err(XtermAssetsError::Unknown {
                package: package.to_path_buf(),
            })
        }
    }

    /// xterm.js 3: every module under `lib/` and the fit addon.
    fn load_modules(lib: &Path) -> Result<XtermAssets, XtermAssetsError> {
        let stylesheet = read(&lib.join("xterm.css"))?;
        // The entry points must be there; the rest is found by walking.
        read(&lib.join("public/Terminal.js"))?;
        read(&lib.join("addons/fit/fit.js"))?;
        let mut modules = Vec::new();
        collect_modules(lib, lib, &mut modules).map_err(|source| XtermAssetsError::Missing {
            path: lib.to_path_buf(),
            source,
        })?;
        modules.sort();
        let mut script = String::from(BUNDLE_START);
        for relative in &modules {
            define(&mut script, relative, &read(&lib.join(relative))?);
            if script.len() > MAX_BUNDLE_BYTES {
                return Err(XtermAssetsError::TooLarge {
                    path: lib.to_path_buf(),
                });
            }
        }
        script.push_str(include_str!("../../static/xterm-loader.js"));
        script.push_str(include_str!("../../static/xterm-3.js"));
        script.push_str("})();\n");
        Ok(XtermAssets {
            script,
            stylesheet,
            version: 3,
        })
    }

    /// xterm.js 5: the UMD bundle, its stylesheet, and the fit and canvas
    /// addons' packages beside it (the same Debian package installs them).
    fn load_bundle(package: &Path) -> Result<XtermAssets, XtermAssetsError> {
        let stylesheet = read(&package.join("css/xterm.css"))?;
        let beside = package.parent().unwrap_or(package);
        let mut script = String::from(BUNDLE_START);
        for (name, path) in [
            ("xterm.js", package.join("lib/xterm.js")),
            (
                "xterm-addon-fit.js",
                beside.join("xterm-addon-fit/lib/xterm-addon-fit.js"),
            ),
            (
                "xterm-addon-canvas.js",
                beside.join("xterm-addon-canvas/lib/xterm-addon-canvas.js"),
            ),
        ] {
            define(&mut script, name, &read(&path)?);
            if script.len() > MAX_BUNDLE_BYTES {
                return Err(XtermAssetsError::TooLarge { path });
            }
        }
        script.push_str(include_str!("../../static/xterm-loader.js"));
        script.push_str(include_str!("../../static/xterm-5.js"));
        script.push_str("})();\n");
        Ok(XtermAssets {
            script,
            stylesheet,
            version: 5,
        })
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
            message.contains("/nonexistent/xterm holds neither"),
            "{message}"
        );
        assert!(message.contains("node-xterm"), "{message}");
        assert!(message.contains("make deps"), "{message}");
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Debian 13's layout, with stand-ins for its three UMD files.
    #[test]
    fn debian_13s_xterm_5_is_bundled_with_its_fit_addon_and_the_5_adapter() {
        let root = std::env::temp_dir().join(format!("enshu-xterm5-{}", std::process::id()));
        let package = root.join("xterm");
        write(&package.join("css/xterm.css"), ".xterm { cursor: text; }\n");
        write(
            &package.join("lib/xterm.js"),
            "module.exports = { Terminal: function Terminal() {} };\n//# sourceMappingURL=xterm.js.map\n",
        );
        let fit = root.join("xterm-addon-fit/lib/xterm-addon-fit.js");
        // Without the fit addon the error names where it was looked for.
        let error = XtermAssets::load(&package).unwrap_err().to_string();
        assert!(
            error.contains("xterm-addon-fit/lib/xterm-addon-fit.js"),
            "{error}"
        );
        write(
            &fit,
            "module.exports = { FitAddon: function FitAddon() {} };\n",
        );
        let canvas = root.join("xterm-addon-canvas/lib/xterm-addon-canvas.js");
        let error = XtermAssets::load(&package).unwrap_err().to_string();
        assert!(
            error.contains("xterm-addon-canvas/lib/xterm-addon-canvas.js"),
            "{error}"
        );
        write(
            &canvas,
            "module.exports = { CanvasAddon: function CanvasAddon() {} };\n",
        );
        let assets = XtermAssets::load(&package).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(assets.version, 5);
        assert_eq!(assets.stylesheet, ".xterm { cursor: text; }\n");
        assert!(
            assets
                .script
                .contains("\"xterm.js\": function (require, module, exports)")
        );
        assert!(assets.script.contains("FitAddon: function FitAddon"));
        assert!(assets.script.contains("term.loadAddon(new CanvasAddon())"));
        assert!(
            assets.script.contains("term.onData(listener)"),
            "the 5.x adapter"
        );
        assert!(
            !assets.script.contains("term.on(\"data\""),
            "not the 3.x adapter"
        );
        assert!(!assets.script.contains("sourceMappingURL"));
    }

    /// The machine's own package (Debian 12's 3.8 here), as `make deps` installs it.
    #[test]
    fn the_installed_package_is_bundled_with_its_versions_adapter() {
        let assets = XtermAssets::from_debian().expect("node-xterm is installed (make deps)");
        match assets.version {
            3 => assert!(assets.script.contains("term.on(\"data\", listener)")),
            5 => assert!(assets.script.contains("term.onData(listener)")),
            other => panic!("xterm.js {other}"),
        }
        assert!(assets.script.contains("window.EnshuXterm"));
    }
}
