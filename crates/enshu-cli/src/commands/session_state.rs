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
}

pub fn state_dir() -> PathBuf {
    std::env::var_os("ENSHU_STATE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/lib/enshu"))
}

fn path(session: &str) -> PathBuf {
    state_dir().join("sessions").join(format!("{session}.json"))
}

impl SessionState {
    pub fn save(&self) -> anyhow::Result<()> {
        let path = path(&self.session);
        std::fs::create_dir_all(path.parent().unwrap()).with_context(|| format!("creating {}", path.display()))?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?).with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    pub fn load(session: &str) -> anyhow::Result<SessionState> {
        let path = path(session);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("session {session:?} is unknown here (no {}); was it brought up with `enshu up`?", path.display()))?;
        Ok(serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?)
    }

    pub fn forget(session: &str) {
        let _ = std::fs::remove_file(path(session));
    }

    pub fn plan(&self) -> anyhow::Result<Plan> {
        let loaded = enshu_scenario::load(&self.scenario_file, self.scenario_text.as_bytes())
            .map_err(|diagnostics| anyhow::anyhow!("stored scenario no longer loads: {}", diagnostics[0].headline()))?;
        let pool = self.pool.as_deref().map(str::parse).transpose().map_err(|message: String| anyhow::anyhow!(message))?;
        let options = PlanOptions { session: self.session.clone(), teams: self.teams, pool, files: &NoFiles };
        enshu_scenario::plan(&loaded, &options).map_err(|error| anyhow::anyhow!("re-planning session {:?}: {error}", self.session))
    }
}
