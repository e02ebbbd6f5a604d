//! What `enshu up` remembers about a session so that `verify`, `status` and
//! `down` need only its name: the scenario text, team count and pool, from
//! which the same plan is made again (planning is deterministic).

use std::path::PathBuf;

use anyhow::Context as _;
use enshu_scenario::plan::Plan;
use enshu_scenario::{NoFiles, PlanOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionState {
    pub session: String,
    pub scenario_file: String,
    pub scenario_text: String,
    pub teams: u32,
    pub pool: Option<String>,
    /// Random per session; team passwords are derived from it, so they stay
    /// the same when `up` runs again.
    #[serde(default)]
    pub secret: String,
}

/// The last isolation proof of a session, kept beside its state: trainees
/// may not enter (the exercise may not be served) until it passed.
pub fn record_verified(session: &str, passed: bool) -> anyhow::Result<()> {
    let path = path(session).with_extension("verified");
    std::fs::write(&path, if passed { "passed" } else { "failed" })
        .with_context(|| format!("writing {}", path.display()))
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

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn state_dir() -> PathBuf {
    std::env::var_os("ENSHU_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/enshu"))
}

fn path(session: &str) -> PathBuf {
    state_dir().join("sessions").join(format!("{session}.json"))
}

impl SessionState {
    pub fn save(&self) -> anyhow::Result<()> {
        let path = path(&self.session);
        std::fs::create_dir_all(path.parent().unwrap())
            .with_context(|| format!("creating {}", path.display()))?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    pub fn load(session: &str) -> anyhow::Result<SessionState> {
        let path = path(session);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "session {session:?} is unknown here (no {}); was it brought up with `enshu up`?",
                path.display()
            )
        })?;
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
    }

    pub fn forget(session: &str) {
        let _ = std::fs::remove_file(path(session));
        let _ = std::fs::remove_file(path(session).with_extension("verified"));
        let _ = std::fs::remove_file(path(session).with_extension("server"));
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
        let path = path(&self.session).with_extension("server");
        std::fs::write(&path, url).with_context(|| format!("writing {}", path.display()))
    }

    pub fn server_url(&self) -> anyhow::Result<String> {
        let path = path(&self.session).with_extension("server");
        std::fs::read_to_string(&path)
            .map(|url| url.trim().to_string())
            .with_context(|| {
                format!(
                    "session {:?} is not being served (no {}); run `enshu serve --session {}`",
                    self.session,
                    path.display(),
                    self.session
                )
            })
    }

    /// Team `team_name`'s password for the hosts it logs in to.
    pub fn team_password(&self, team_name: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(
            format!("enshu-team-password\0{}\0{team_name}", self.secret).as_bytes(),
        );
        // 12 characters from an alphabet without look-alikes (no 0/O, 1/l).
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
        digest
            .iter()
            .take(12)
            .map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char)
            .collect()
    }

    /// Put each team's password into the environment of the hosts it logs
    /// in to (its way-in host and every `login: true` host).
    pub fn apply_credentials(&self, plan: &mut Plan) {
        for team in &mut plan.teams {
            let password = self.team_password(&team.name);
            for container in team
                .containers
                .iter_mut()
                .filter(|container| container.login)
            {
                container
                    .env
                    .insert("ENSHU_PASSWORD".to_string(), password.clone());
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
