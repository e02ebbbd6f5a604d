//! The SSH host keys of the hosts trainees log in to, as fingerprints a
//! team can compare with what its SSH client shows on first connect
//! (SHA256, as `ssh-keygen -lf` prints them).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use enshu_backend::{Backend, ExecPrivilege};
use enshu_scenario::plan::Plan;
use serde::Serialize;
use sha2::Digest as _;

/// Where sshd keeps its public host keys: Enshu's images make theirs at
/// start in `/run/enshu/ssh` (`images/common/lib.sh`); `/etc/ssh` for an
/// image that keeps the default.
const HOST_KEY_FILES: [&str; 3] = [
    "/run/enshu/ssh/ssh_host_ed25519_key.pub",
    "/etc/ssh/ssh_host_ed25519_key.pub",
    "/etc/ssh/ssh_host_ecdsa_key.pub",
];
/// How long reading one container's keys may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One host key of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostKey {
    /// `segment/host`.
    pub host: String,
    /// The key's algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:` and the unpadded base64 of the key blob's SHA-256.
    pub fingerprint: String,
}

/// The fingerprint of one line of an OpenSSH public key file
/// (`algorithm base64-blob [comment]`); `None` for anything else.
pub fn fingerprint(line: &str) -> Option<(String, String)> {
    let mut fields = line.split_whitespace();
    let algorithm = fields.next()?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(fields.next()?)
        .ok()?;
    let digest = sha2::Sha256::digest(&blob);
    Some((
        algorithm.to_string(),
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        ),
    ))
}

/// Team index → the host keys of its way in and of every host it may log
/// in to (`login: true`), read from each running container. A container
/// that does not answer (stopped, no sshd) has none.
pub async fn team_host_keys<B: Backend>(backend: &B, plan: &Plan) -> BTreeMap<u32, Vec<HostKey>> {
    let mut keys = BTreeMap::new();
    for team in &plan.teams {
        let mut hosts: Vec<(&str, &str)> = vec![(&team.way_in.container, &team.way_in.reference)];
        for container in team.containers.iter().filter(|container| container.login) {
            if !hosts.iter().any(|(name, _)| *name == container.name) {
                hosts.push((&container.name, &container.reference));
            }
        }
        let mut team_keys = Vec::new();
        for (container, reference) in hosts {
            let command: Vec<String> = std::iter::once("cat")
                .chain(HOST_KEY_FILES)
                .map(str::to_string)
                .collect();
            // `cat` fails for a key type the image lacks; the others print.
            let Ok(Ok(output)) = tokio::time::timeout(
                READ_TIMEOUT,
                backend.exec(container, &command, ExecPrivilege::Container),
            )
            .await
            else {
                continue;
            };
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                if let Some((algorithm, fingerprint)) = fingerprint(line) {
                    team_keys.push(HostKey {
                        host: reference.to_string(),
                        algorithm,
                        fingerprint,
                    });
                }
            }
        }
        keys.insert(team.index, team_keys);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_as_ssh_keygen_prints_them() {
        // `ssh-keygen -lf` of this key prints
        // 256 SHA256:Xc+aoOjbG0dKO5w/H6Q/8rTcbH4xnJ6TKOgyqbiilbE test (ED25519)
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM8wWouhCQcLknArSaidV3FK9HiMNFaY3GmxcLkWiLCK test";
        assert_eq!(
            fingerprint(line),
            Some((
                "ssh-ed25519".to_string(),
                "SHA256:Xc+aoOjbG0dKO5w/H6Q/8rTcbH4xnJ6TKOgyqbiilbE".to_string()
            ))
        );
        assert_eq!(
            fingerprint("cat: /etc/ssh/ssh_host_rsa_key.pub: No such file"),
            None
        );
        assert_eq!(fingerprint(""), None);
    }
}
