//! What `enshu up` remembers about a session so that `verify`, `status`,
//! `serve`, `reset` and `down` need only its name, from any directory: the
//! scenario text and its absolute path, team count and pool, from which the
//! same plan is made again (planning is deterministic), and copies of the
//! captures its replays read, kept in `<state>/sessions/<session>.files/`
//! so that the session plays even if the scenario's checkout moves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use enshu_scenario::model::{Action, Scenario};
use enshu_scenario::plan::{Plan, TeamPlan};
use enshu_scenario::{NoFiles, PlanOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionState {
    pub session: String,
    /// The scenario file's absolute path (as `up` found it).
    pub scenario_file: String,
    pub scenario_text: String,
    pub teams: u32,
    pub pool: Option<String>,
    /// Random per session; team passwords are derived from it, so they stay
    /// the same when `up` runs again.
    #[serde(default)]
    pub secret: String,
    /// The captures `up` copied into [`files_dir`]: the path the scenario
    /// writes → the copy's file name there.
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
    /// How many times the instructor revoked each team's portal token (by
    /// team name; absent: never): the token is derived with this count,
    /// so a revoked one never comes back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_revocations: BTreeMap<String, u32>,
}

/// Where `up` keeps the files a session needs besides its state: the
/// captures its replays read. `down` removes it with the state.
pub fn files_dir(session: &str) -> PathBuf {
    path(session).with_extension("files")
}

/// Copies every capture the scenario's replays read (relative to
/// `scenario_dir`, as the format says) into `files_dir`, replacing what an
/// earlier `up` kept there; returns the path as written → the copy's name.
pub fn keep_captures(
    scenario: &Scenario,
    scenario_dir: &Path,
    files_dir: &Path,
) -> anyhow::Result<BTreeMap<String, String>> {
    if files_dir.exists() {
        std::fs::remove_dir_all(files_dir)
            .with_context(|| format!("removing {}", files_dir.display()))?;
    }
    let mut kept = BTreeMap::new();
    for inject in &scenario.injects {
        let Action::Replay(replay) = &inject.action else {
            continue;
        };
        if kept.contains_key(&replay.pcap) {
            continue;
        }
        let source = scenario_dir.join(&replay.pcap);
        let file_name = source
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "capture".to_string());
        // Numbered: two captures of one name from two directories stay apart.
        let name = format!("{}-{file_name}", kept.len() + 1);
        private_dir(files_dir)?;
        let copied = std::fs::copy(&source, files_dir.join(&name));
        if copied.is_err() {
            // Nothing half-kept: a refused `up` leaves no files behind.
            let _ = std::fs::remove_dir_all(files_dir);
        }
        copied.with_context(|| {
            format!(
                "keeping capture {:?} of inject {} ({}) in the session's state",
                replay.pcap,
                inject.id,
                source.display()
            )
        })?;
        kept.insert(replay.pcap.clone(), name);
    }
    Ok(kept)
}

/// The last isolation proof of a session, kept beside its state: trainees
/// may not enter (the exercise may not be served) until it passed.
pub fn record_verified(session: &str, passed: bool) -> anyhow::Result<()> {
    let path = path(session).with_extension("verified");
    write_private(&path, if passed { b"passed" } else { b"failed" })
}

/// The shortest session secret accepted (hex digits: 128 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// Creates `directory` (and its parents) if needed and makes it 0700:
/// what Enshu keeps there (session secrets, the event log, the host
/// guard's lock) is the operator's alone.
pub fn private_dir(directory: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private (0700)", directory.display()))
}

/// The state directory, created 0700 (and its `sessions/`).
pub fn private_state_dir() -> anyhow::Result<PathBuf> {
    let state = state_dir();
    private_dir(&state)?;
    private_dir(&state.join("sessions"))?;
    Ok(state)
}

/// Writes `bytes` to `path` as a new 0600 file (through a fresh temporary
/// file renamed over it, so a reader never sees half a file and a link
/// planted at the temporary name is refused, not followed).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let temporary = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

/// Makes an existing file 0600 (e.g. the SQLite database sqlx created
/// with the process's umask).
pub fn make_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private (0600)", path.display()))
}

pub fn last_verify_passed(session: &str) -> bool {
    std::fs::read_to_string(path(session).with_extension("verified"))
        .is_ok_and(|text| text.trim() == "passed")
}

/// A new random secret (128 bits from the kernel).
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(hex_string(&bytes))
}

/// Every token and password of a session derives from its secret: an empty
/// or short one (a hand-edited state file) would make them guessable.
fn check_secret(session: &str, secret: &str) -> anyhow::Result<()> {
    if secret.len() < MIN_SECRET_LEN || !secret.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        anyhow::bail!(
            "session {session:?} has a secret of {} characters; at least {MIN_SECRET_LEN} hex digits are needed \
             (every token and password derives from it): bring the session down and up again",
            secret.len()
        );
    }
    Ok(())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn state_dir() -> PathBuf {
    std::env::var_os("ENSHU_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/enshu"))
}

/// Where `serve` keeps the recordings of the session's web terminals
/// (`team-NN/<terminal>.cast`, asciicast v2).
pub fn terminals_dir(session: &str) -> PathBuf {
    path(session).with_extension("terminals")
}

/// The SSH bastion's host key (`serve` makes it on first use and keeps it,
/// `credentials` prints its fingerprint).
pub fn bastion_host_key(session: &str) -> PathBuf {
    path(session).with_extension("bastion").join("host_ed25519")
}

/// Where `serve` keeps the session's self-signed certificate and key.
pub fn tls_dir(session: &str) -> PathBuf {
    path(session).with_extension("tls")
}

fn path(session: &str) -> PathBuf {
    state_dir().join("sessions").join(format!("{session}.json"))
}

/// 12 characters from an alphabet without look-alikes (no 0/O, 1/l),
/// from the SHA-256 of `input`.
fn derived_password(input: &str) -> String {
    use sha2::Digest;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    sha2::Sha256::digest(input.as_bytes())
        .iter()
        .take(12)
        .map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char)
        .collect()
}

impl SessionState {
    pub fn save(&self) -> anyhow::Result<()> {
        check_secret(&self.session, &self.secret)?;
        private_state_dir()?;
        write_private(&path(&self.session), &serde_json::to_vec_pretty(self)?)
    }

    pub fn load(session: &str) -> anyhow::Result<SessionState> {
        let path = path(session);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "session {session:?} is unknown here (no {}); was it brought up with `enshu up`?",
                path.display()
            )
        })?;
        let state: SessionState = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        check_secret(session, &state.secret)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(state)
    }

    pub fn forget(session: &str) {
        let _ = std::fs::remove_file(path(session).with_extension("fingerprint"));
        let _ = std::fs::remove_dir_all(tls_dir(session));
        let _ = std::fs::remove_file(path(session));
        let _ = std::fs::remove_file(path(session).with_extension("verified"));
        let _ = std::fs::remove_file(path(session).with_extension("server"));
        let _ = std::fs::remove_dir_all(files_dir(session));
    }

    /// The directory the scenario's relative paths resolve against.
    pub fn scenario_dir(&self) -> PathBuf {
        Path::new(&self.scenario_file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The kept copies of the captures, by the path the scenario writes.
    pub fn capture_copies(&self) -> BTreeMap<String, PathBuf> {
        let directory = files_dir(&self.session);
        self.captures
            .iter()
            .map(|(written, name)| (written.clone(), directory.join(name)))
            .collect()
    }

    /// A secret derived from the session's: `purpose` names what it is for.
    pub fn derive(&self, purpose: &str, subject: &str) -> String {
        use sha2::Digest;
        let digest =
            sha2::Sha256::digest(format!("enshu-{purpose}\0{}\0{subject}", self.secret).as_bytes());
        hex_string(&digest[..16])
    }

    /// Where `enshu serve` for this session listens, for the CLI's commands.
    pub fn save_server(&self, url: &str) -> anyhow::Result<()> {
        write_private(
            &path(&self.session).with_extension("server"),
            url.as_bytes(),
        )
    }

    /// The fingerprint of the certificate `serve` presents, which the CLI pins.
    pub fn save_fingerprint(&self, sha256: &str) -> anyhow::Result<()> {
        write_private(
            &path(&self.session).with_extension("fingerprint"),
            sha256.as_bytes(),
        )
    }

    /// The fingerprint of the certificate the session's server presents.
    pub fn fingerprint(&self) -> anyhow::Result<String> {
        self.read_served("fingerprint", "has no server certificate on record")
    }

    pub fn server_url(&self) -> anyhow::Result<String> {
        self.read_served("server", "is not being served")
    }

    /// What `serve` wrote beside the state (`<session>.<extension>`),
    /// trimmed; `missing` says what its absence means.
    fn read_served(&self, extension: &str, missing: &str) -> anyhow::Result<String> {
        let path = path(&self.session).with_extension(extension);
        std::fs::read_to_string(&path)
            .map(|text| text.trim().to_string())
            .with_context(|| {
                format!(
                    "session {:?} {missing} (no {}); run `enshu serve --session {}`",
                    self.session,
                    path.display(),
                    self.session
                )
            })
    }

    /// Team `team_name`'s password for the hosts it logs in to.
    /// Team `team_name`'s current portal token: derived from the secret
    /// and the number of times it was revoked.
    pub fn portal_token(&self, team_name: &str) -> String {
        match self.token_revocations.get(team_name).copied().unwrap_or(0) {
            0 => self.derive("portal", team_name),
            revoked => self.derive("portal", &format!("{team_name}\0revoked {revoked}")),
        }
    }

    pub fn team_password(&self, team_name: &str) -> String {
        derived_password(&format!(
            "enshu-team-password\0{}\0{team_name}",
            self.secret
        ))
    }

    /// The password of directory user `user` in team `team_name`'s range,
    /// where the scenario sets none: the team's own, never told to it (the
    /// staff's; an attack story that needs a known one sets it).
    pub fn directory_user_password(&self, team_name: &str, user: &str) -> String {
        derived_password(&format!(
            "enshu-directory-password\0{}\0{team_name}\0{user}",
            self.secret
        ))
    }

    /// Put each team's password into the environment of the hosts it logs
    /// in to (its way-in host, every `login: true` host, and its mailbox
    /// host, whose IMAP login the analyst's mail client uses), and the
    /// staff's passwords on those hosts into the environment of the staff
    /// workstations acting in the background.
    pub fn apply_credentials(&self, plan: &mut Plan) {
        for team in &mut plan.teams {
            let password = self.team_password(&team.name);
            let mailbox = team
                .mail
                .as_ref()
                .and_then(|mail| mail.mailbox().container.clone());
            let directory = team
                .directory
                .as_ref()
                .and_then(|directory| directory.container().map(str::to_string));
            for container in team.containers.iter_mut().filter(|container| {
                container.login
                    || mailbox.as_deref() == Some(container.name.as_str())
                    || directory.as_deref() == Some(container.name.as_str())
            }) {
                container
                    .env
                    .insert("ENSHU_PASSWORD".to_string(), password.clone());
            }
            self.apply_directory_passwords(team);
            // Staff in the background log in to the shares and the mailbox
            // with the passwords those hosts now have.
            enshu_scenario::plan::background::apply_passwords(team);
        }
    }

    /// The directory's users without a password in the scenario get the
    /// team's own, on the directory host and on the PC that logs on as
    /// the user.
    fn apply_directory_passwords(&self, team: &mut TeamPlan) {
        use enshu_scenario::plan::directory_env_names as names;
        let Some(directory) = team.directory.clone() else {
            return;
        };
        let mut derived = Vec::new();
        for user in directory
            .users
            .iter()
            .filter(|user| !user.scenario_password)
        {
            let password = self.directory_user_password(&team.name, &user.name);
            derived.push(format!("{}:{password}", user.name));
            let workstation = user
                .workstation
                .as_ref()
                .and_then(|workstation| workstation.container.as_deref());
            if let Some(container) = team
                .containers
                .iter_mut()
                .find(|container| Some(container.name.as_str()) == workstation)
            {
                container
                    .env
                    .insert(names::LOGON_PASSWORD.to_string(), password);
            }
        }
        if let Some(container) = team
            .containers
            .iter_mut()
            .find(|container| Some(container.name.as_str()) == directory.container())
            && !derived.is_empty()
        {
            let passwords = container
                .env
                .entry(names::PASSWORDS.to_string())
                .or_default();
            for line in derived {
                if !passwords.is_empty() {
                    passwords.push('\n');
                }
                passwords.push_str(&line);
            }
        }
    }

    pub fn plan(&self) -> anyhow::Result<Plan> {
        let loaded = enshu_scenario::load(&self.scenario_file, self.scenario_text.as_bytes())
            .map_err(|diagnostics| {
                anyhow::anyhow!(
                    "stored scenario no longer loads: {}",
                    diagnostics[0].headline()
                )
            })?;
        let pool = self
            .pool
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|message: String| anyhow::anyhow!(message))?;
        let options = PlanOptions {
            session: self.session.clone(),
            teams: self.teams,
            pool,
            files: &NoFiles,
        };
        let mut plan = enshu_scenario::plan(&loaded, &options)
            .map_err(|error| anyhow::anyhow!("re-planning session {:?}: {error}", self.session))?;
        self.apply_credentials(&mut plan);
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("enshu-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory
    }

    fn scenario_with_replays(captures: &[&str]) -> Scenario {
        let mut text = String::from(
            "version: 1\nid: s\ntitle: {en: S}\nlevel: A\nduration: 1h\n\
             segments: [{name: office, role: office, subnet: 0.0.10.0/24}]\n\
             hosts: [{name: pc01, segment: office, address: 101, image: workstation}]\ninjects:\n",
        );
        for (index, capture) in captures.iter().enumerate() {
            text.push_str(&format!(
                "  - {{id: r{index}, when: {{at: 1m}}, target: office/pc01, action: {{replay: {{pcap: {capture:?}}}}}}}\n"
            ));
        }
        enshu_scenario::load("s.yaml", text.as_bytes())
            .unwrap()
            .scenario
    }

    #[test]
    fn captures_are_copied_once_each_under_numbered_names() {
        let root = temporary("keep");
        let checkout = root.join("checkout/scenarios");
        std::fs::create_dir_all(checkout.join("../pcaps")).unwrap();
        std::fs::write(checkout.join("../pcaps/scan.pcapng"), b"one").unwrap();
        std::fs::write(checkout.join("scan.pcapng"), b"two").unwrap();
        let files = root.join("sessions/s1.files");
        std::fs::create_dir_all(&files).unwrap();
        std::fs::write(files.join("stale"), b"from an earlier up").unwrap();
        let scenario = scenario_with_replays(&[
            "../pcaps/scan.pcapng",
            "scan.pcapng",
            "../pcaps/scan.pcapng",
        ]);
        let kept = keep_captures(&scenario, &checkout, &files).unwrap();
        assert_eq!(
            kept,
            BTreeMap::from([
                (
                    "../pcaps/scan.pcapng".to_string(),
                    "1-scan.pcapng".to_string()
                ),
                ("scan.pcapng".to_string(), "2-scan.pcapng".to_string()),
            ])
        );
        // The checkout moves: the copies stay.
        std::fs::rename(root.join("checkout"), root.join("moved")).unwrap();
        assert_eq!(std::fs::read(files.join("1-scan.pcapng")).unwrap(), b"one");
        assert_eq!(std::fs::read(files.join("2-scan.pcapng")).unwrap(), b"two");
        assert!(!files.join("stale").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_capture_that_cannot_be_copied_is_an_error_naming_it() {
        let root = temporary("missing");
        std::fs::write(root.join("here.pcapng"), b"one").unwrap();
        let scenario = scenario_with_replays(&["here.pcapng", "gone.pcapng"]);
        let error = keep_captures(&scenario, &root, &root.join("s.files")).unwrap_err();
        assert!(!root.join("s.files").exists(), "nothing half-kept");
        let message = format!("{error:#}");
        assert!(
            message.contains("\"gone.pcapng\" of inject r1"),
            "{message}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn state_is_written_private_and_never_through_a_planted_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = temporary("private");
        let sessions = root.join("state/sessions");
        private_dir(&sessions).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sessions), 0o700);
        let file = sessions.join("s1.json");
        let elsewhere = root.join("elsewhere");
        std::fs::write(&elsewhere, b"not enshu's").unwrap();
        // A link at the temporary name is replaced, not written through.
        std::os::unix::fs::symlink(&elsewhere, sessions.join("s1.json.tmp")).unwrap();
        write_private(&file, b"{}").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"not enshu's");
        write_private(&sessions.join("s1.server"), b"https://x").unwrap();
        assert_eq!(mode(&sessions.join("s1.server")), 0o600);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// The analyst's mail client logs in to the team mailbox with the
    /// team's password: the mailbox host gets it, the relays do not.
    #[test]
    fn the_team_mailbox_takes_the_teams_password() {
        let state = SessionState {
            session: "s1".into(),
            scenario_file: "/srv/s.yaml".into(),
            scenario_text: "version: 1\nid: s\ntitle: {en: S}\nlevel: A\nduration: 1h\n\
                segments: [{name: office, role: office, subnet: 0.0.10.0/24}]\n\
                hosts:\n\
                \x20 - {name: analyst, segment: office, address: 10, image: analyst}\n\
                \x20 - {name: relay, segment: office, address: 11, image: mail}\n\
                \x20 - {name: box, segment: office, address: 12, image: mail}\n\
                mail: {mailbox: office/box, relays: [office/relay]}\n"
                .into(),
            teams: 2,
            pool: None,
            secret: new_secret().unwrap(),
            captures: BTreeMap::new(),
            token_revocations: BTreeMap::new(),
        };
        let plan = state.plan().unwrap();
        for team in &plan.teams {
            let password = |host: &str| {
                team.containers
                    .iter()
                    .find(|container| container.hostname == host)
                    .unwrap()
                    .env
                    .get("ENSHU_PASSWORD")
                    .cloned()
            };
            let expected = Some(state.team_password(&team.name));
            assert_eq!(password("box"), expected);
            assert_eq!(password("analyst"), expected);
            assert_eq!(password("relay"), None);
        }
    }

    #[test]
    fn an_empty_or_short_secret_is_refused() {
        for secret in ["", "abc", &"0".repeat(MIN_SECRET_LEN - 1), &"z".repeat(40)] {
            let error = check_secret("s1", secret).unwrap_err().to_string();
            assert!(error.contains("session \"s1\" has a secret of"), "{error}");
        }
        check_secret("s1", &new_secret().unwrap()).unwrap();
    }

    #[test]
    fn a_state_from_before_the_copies_reads_captures_beside_its_scenario() {
        let state: SessionState = serde_json::from_str(
            r#"{"session": "s1", "scenario_file": "/srv/exercises/scenarios/emotet.yaml",
                "scenario_text": "", "teams": 1, "pool": null}"#,
        )
        .unwrap();
        assert!(state.capture_copies().is_empty());
        assert_eq!(state.scenario_dir(), Path::new("/srv/exercises/scenarios"));
    }

    /// The directory gets the team's password for Administrator and one
    /// of each team's own for every user the scenario gives none, the
    /// same on the PC that logs on as the user; a scenario's password
    /// stays as written.
    #[test]
    fn directory_users_get_per_team_passwords_unless_the_scenario_sets_one() {
        let state = SessionState {
            session: "s1".into(),
            scenario_file: "/srv/s.yaml".into(),
            scenario_text: "version: 1\nid: s\ntitle: {en: S}\nlevel: A\nduration: 1h\n\
                segments: [{name: lgwan, role: lgwan, subnet: 0.0.20.0/24}]\n\
                hosts:\n\
                \x20 - {name: analyst, segment: lgwan, address: 200, image: analyst}\n\
                \x20 - {name: dc01, segment: lgwan, address: 10, image: directory}\n\
                \x20 - {name: pc01, segment: lgwan, address: 101, image: workstation}\n\
                directory:\n\
                \x20 host: lgwan/dc01\n\
                \x20 users:\n\
                \x20   - {name: tanaka, workstation: lgwan/pc01}\n\
                \x20   - {name: weak, password: Haru2024}\n"
                .into(),
            teams: 2,
            pool: None,
            secret: new_secret().unwrap(),
            captures: BTreeMap::new(),
            token_revocations: BTreeMap::new(),
        };
        let plan = state.plan().unwrap();
        let mut seen = Vec::new();
        for team in &plan.teams {
            let env = |host: &str, name: &str| {
                team.containers
                    .iter()
                    .find(|container| container.hostname == host)
                    .unwrap()
                    .env
                    .get(name)
                    .cloned()
            };
            let tanaka = state.directory_user_password(&team.name, "tanaka");
            assert_eq!(
                env("dc01", "ENSHU_PASSWORD"),
                Some(state.team_password(&team.name))
            );
            let passwords = env("dc01", "ENSHU_DIRECTORY_PASSWORDS").unwrap();
            let mut lines: Vec<&str> = passwords.lines().collect();
            lines.sort();
            assert_eq!(
                lines,
                [format!("tanaka:{tanaka}").as_str(), "weak:Haru2024"]
            );
            assert_eq!(
                env("pc01", "ENSHU_DIRECTORY_PASSWORD"),
                Some(tanaka.clone())
            );
            assert_ne!(tanaka, state.team_password(&team.name));
            seen.push(tanaka);
        }
        assert_ne!(seen[0], seen[1], "each team has its own");
    }

    #[test]
    fn the_copies_live_beside_the_sessions_state() {
        let state = SessionState {
            session: "s1".into(),
            scenario_file: "/srv/s.yaml".into(),
            scenario_text: String::new(),
            teams: 1,
            pool: None,
            secret: String::new(),
            captures: BTreeMap::from([("../x.pcap".to_string(), "1-x.pcap".to_string())]),
            token_revocations: BTreeMap::new(),
        };
        let copies = state.capture_copies();
        let copy = &copies["../x.pcap"];
        assert_eq!(copy, &state_dir().join("sessions/s1.files/1-x.pcap"));
    }
}
