//! The SSH way in: an SSH server of Enshu's own (russh), one port per
//! team, in front of the team's way-in host.
//!
//! A trainee's `ssh -p PORT analyst@range` lands here, not on the
//! container's sshd: the bastion checks the team's way-in user and password
//! (the same ones `enshu credentials` prints and the range's hosts take),
//! then opens the shell or command inside the way-in host through the web
//! terminal's own path (`terminal::Hub::open_launch`), so every byte typed
//! and shown passes through Enshu and is recorded the same way (asciicast,
//! `terminal_command` events), under the same bounds (terminals per team,
//! idle timeout) and ended the same way when the client goes (every process
//! of its TTY session killed from the host).
//!
//! - **Who**: the password is the team's way-in password rather than its
//!   portal token: trainees already type it, the `login: true` hosts take
//!   the same one (`ssh -J`), and the portal token, which submits answers
//!   and reports, stays out of terminals and shell histories. Compared as
//!   SHA-256 digests in constant time; a refusal takes a second (russh's
//!   `auth_rejection_time`), three tries a connection.
//! - **Bounds**: each connection first takes its place in the team's way in
//!   (`FairShare::admit_way_in`: per client address and per team, and a
//!   rate of new ones per address); its terminals count among the team's
//!   (`TerminalOptions::per_team`, shared with the web terminal); a
//!   connection silent for the idle timeout is closed, and a client that
//!   stops answering keep-alives within 90 s.
//! - **Onward** (`ssh -J`): a `direct-tcpip` channel is opened only to port
//!   22 of a host the team may log in to (`login: true`), from inside the
//!   way-in host's network namespace, as its sshd did. That session is
//!   encrypted end to end between the client and the host's sshd: Enshu
//!   passes its bytes on but cannot read them, so it is logged (who, where,
//!   when), not recorded.
//!
//! # Layout
//! - `connection`: one client's SSH connection (the russh handler).
//! - `output`: the wrapper's markers taken out of what the client sees (pure).

mod connection;
mod output;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{HashAlg, PrivateKey};
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// One team's door: its port's listener is handed in beside it.
#[derive(Clone)]
pub struct BastionTeam {
    pub team: u32,
    /// The way-in host's login user (`TeamPlan::way_in.user`).
    pub user: String,
    /// The team's password (the session state's `team_password`).
    pub password: String,
}

/// Why the bastion's host key could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not an OpenSSH private key: {message}")]
    Parse { path: String, message: String },
    #[error("making the bastion's host key: {0}")]
    Generate(String),
}

/// The bastion's Ed25519 host key at `path`, made (0600) on first use and
/// kept across restarts, so trainees' `known_hosts` stay valid.
pub fn kept_host_key(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let io = |source| HostKeyError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(io)?;
        return PrivateKey::from_openssh(text.as_bytes()).map_err(|error| HostKeyError::Parse {
            path: path.display().to_string(),
            message: error.to_string(),
        });
    }
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| HostKeyError::Generate(error.to_string()))?;
    let keypair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::from(keypair);
    let text = key
        .to_openssh(russh::keys::ssh_key::LineEnding::LF)
        .map_err(|error| HostKeyError::Generate(error.to_string()))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    Ok(key)
}

/// `SHA256:…`, as `ssh` shows a host key's fingerprint.
pub fn host_key_fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// What one team's door checks and where it leads.
pub(crate) struct Door {
    pub team: u32,
    pub user: String,
    password_digest: [u8; 32],
}

impl Door {
    fn new(team: &BastionTeam) -> Door {
        Door {
            team: team.team,
            user: team.user.clone(),
            password_digest: Sha256::digest(team.password.as_bytes()).into(),
        }
    }

    /// The way-in user and the team's password, compared so that the time
    /// taken says nothing about how much of it was right.
    pub fn admits(&self, user: &str, password: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let difference = digest
            .iter()
            .zip(&self.password_digest)
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b));
        difference == 0 && user == self.user
    }
}

/// Where `ssh -J` may go from team `team`'s way in: `host` (an address or
/// a host name of the range) on port 22 of a host the team may log in to.
pub(crate) fn onward_address(
    state: &AppState,
    team: u32,
    host: &str,
    port: u32,
) -> Option<std::net::SocketAddrV4> {
    if port != 22 {
        return None;
    }
    let plan = state.team_plan(team)?;
    let wanted = host.parse::<Ipv4Addr>().ok();
    plan.containers
        .iter()
        .filter(|container| container.login)
        .find_map(|container| {
            let mut addresses = container.networks.iter().map(|network| network.address);
            match wanted {
                Some(address) => addresses.find(|candidate| *candidate == address),
                None if container.hostname == host => addresses.next(),
                None => None,
            }
        })
        .map(|address| std::net::SocketAddrV4::new(address, 22))
}

/// Serves every team's door until `shutdown` completes, then closes every
/// connection (their terminals end with them).
pub async fn serve_bastion(
    state: AppState,
    listeners: Vec<(tokio::net::TcpListener, BastionTeam)>,
    host_key: PrivateKey,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let Some(hub) = state.terminals().cloned() else {
        tracing::error!("the SSH bastion needs the terminal service: no way in is open");
        shutdown.await;
        return;
    };
    let config = Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-enshu-bastion".into()),
        methods: russh::MethodSet::from(&[russh::MethodKind::Password][..]),
        auth_rejection_time: Duration::from_secs(1),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 3,
        keys: vec![host_key],
        inactivity_timeout: Some(hub.options.idle_timeout),
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, team) in listeners {
        let door = Arc::new(Door::new(&team));
        let state = state.clone();
        let hub = hub.clone();
        let config = config.clone();
        tasks.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let (socket, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        // Out of descriptors or the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                while connections.try_join_next().is_some() {}
                let permit = match state.fair_share().admit_way_in(door.team, peer.ip()) {
                    Ok(permit) => permit,
                    Err(refusal) => {
                        tracing::debug!(team = door.team, %peer, ?refusal, "way-in connection refused");
                        drop(socket);
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                let handler = connection::Connection::new(
                    state.clone(),
                    hub.clone(),
                    door.clone(),
                    peer,
                    permit,
                );
                let config = config.clone();
                connections.spawn(async move {
                    run_connection(config, socket, handler, peer).await;
                });
            }
        });
    }
    shutdown.await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

async fn run_connection(
    config: Arc<russh::server::Config>,
    socket: tokio::net::TcpStream,
    handler: connection::Connection,
    peer: SocketAddr,
) {
    match russh::server::run_stream(config, socket, handler).await {
        Ok(running) => {
            if let Err(error) = running.await {
                tracing::debug!(%peer, %error, "ssh connection ended");
            }
        }
        Err(error) => tracing::debug!(%peer, %error, "ssh handshake failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_door_opens_only_for_the_way_in_user_with_the_teams_password() {
        let door = Door::new(&BastionTeam {
            team: 1,
            user: "analyst".to_owned(),
            password: "correct horse".to_owned(),
        });
        assert!(door.admits("analyst", "correct horse"));
        assert!(!door.admits("analyst", "correct hors"));
        assert!(!door.admits("root", "correct horse"));
        assert!(!door.admits("analyst", ""));
    }

    #[test]
    fn the_host_key_is_made_once_and_kept() {
        let directory = std::env::temp_dir().join(format!(
            "enshu-bastion-key-{}-{}",
            std::process::id(),
            crate::state::random_hex()
        ));
        let path = directory.join("host_ed25519");
        let made = kept_host_key(&path).unwrap();
        let again = kept_host_key(&path).unwrap();
        assert_eq!(host_key_fingerprint(&made), host_key_fingerprint(&again));
        assert!(host_key_fingerprint(&made).starts_with("SHA256:"));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(directory).unwrap();
    }
}
