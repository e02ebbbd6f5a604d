//! Building the commands the injector runs inside containers.
//!
//! Every dynamic value (a path, a log line, a process name) travels as its
//! own argv element and is read by a fixed script as `"$1"`, `"$2"`, …: no
//! value is ever spliced into shell text, so a log line may contain quotes,
//! `$(...)` or newlines and is still written verbatim.

use sha2::{Digest, Sha256};

/// `bash -c SCRIPT NAME ARGS...`: `NAME` becomes `$0` (it shows in `ps`
/// while the script runs), `ARGS` become `$1`….
pub fn bash(script: &str, name: &str, arguments: &[&str]) -> Vec<String> {
    ["bash", "-c", script, name]
        .into_iter()
        .chain(arguments.iter().copied())
        .map(str::to_string)
        .collect()
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Shell functions, defined first in scripts that must act as the owner of
/// a path: root in a range container has no DAC_OVERRIDE or
/// DAC_READ_SEARCH, so it can neither write into nor even look inside
/// `/home/staff` (mode 0700); `setpriv` (util-linux) drops to the owner of
/// the deepest ancestor root can see. `deepest_existing` climbs while a path
/// does not exist *for root*, so an unreadable home counts as the place to
/// switch user.
pub const RUN_AS_OWNER: &str = r#"run_as_owner_of() { local owner; owner=$(stat -c '%u:%g' -- "$(deepest_existing "$1")") || return 1; shift
  if [ "${owner%%:*}" = 0 ]; then "$@"; else setpriv --reuid="${owner%%:*}" --regid="${owner##*:}" --clear-groups -- "$@"; fi; }
deepest_existing() { local path=$1; while [ ! -e "$path" ]; do path=$(dirname -- "$path"); done; printf '%s' "$path"; }
"#;

/// Split the first whitespace-separated word from a command's output.
pub fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_arguments_never_script_text() {
        let command = bash(
            "printf '%s\\n' \"$1\"",
            "enshu-test",
            &["$(reboot); 'quoted'"],
        );
        assert_eq!(
            command,
            [
                "bash",
                "-c",
                "printf '%s\\n' \"$1\"",
                "enshu-test",
                "$(reboot); 'quoted'"
            ]
        );
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
