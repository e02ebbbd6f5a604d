//! Building the commands the injector runs inside containers.
//!
//! Every dynamic value (a path, a log line, a process name) travels as its
//! own argv element and is read by a fixed script as `"$1"`, `"$2"`, …: no
//! value is ever spliced into shell text, so a log line may contain quotes,
//! `$(...)` or newlines and is still written verbatim.
//!
//! The scripts themselves are files under `scripts/` (linted by `make
//! lint`), built into the binary with `include_str!`; where one needs the
//! helper functions of `scripts/run-as-owner.sh`, the two files are joined
//! at compile time with `concat!`.

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

/// Shell functions (`run_as_owner_of`, `deepest_existing`), joined in front
/// of the scripts that must act as the owner of a path: root in a range
/// container has no DAC_OVERRIDE or DAC_READ_SEARCH, so it can neither
/// write into nor even look inside `/home/staff`. See the file's header.
pub const RUN_AS_OWNER: &str = include_str!("../scripts/run-as-owner.sh");

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
