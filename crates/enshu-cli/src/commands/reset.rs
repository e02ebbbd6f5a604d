//! `enshu reset --session NAME --team N`: put one team's range back to its
//! initial state (fresh containers from the images, same addresses and
//! credentials), leaving every other team untouched, prove the session
//! isolated again, and show with the team's own checks that the attack's
//! effects are gone (no dropped file, the page matches its golden copy, no
//! beacon).
//!
//! When the session is being served, the log is kept and told: the team's
//! clock is paused while its range is rebuilt (paused time does not count
//! against it, and the engine neither fires nor checks into a half-built
//! range), a `TeamReset` event is recorded, and the clock resumes. The
//! engine then fires the injects whose time has passed again, so the
//! rebuilt range carries the attack as far as the team's clock has got;
//! what the team scored before the reset stays scored.

use std::process::ExitCode;
use std::time::Instant;

use enshu_backend::Backend;
use enshu_scenario::plan::labels;
use enshu_store::{ClockAction, EventKind, EventQuery, NewEvent, Store, TeamFilter};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};

use super::range::{self, CONCURRENCY};
use super::session_state::SessionState;
use super::{Output, verify};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Team number (1-based).
    #[arg(long)]
    team: u32,
    /// Database URL of the served session (default: its SQLite file).
    #[arg(long, env = "ENSHU_DATABASE_URL")]
    database: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// The served session's log, when there is one.
struct Log {
    store: Store,
    session: enshu_store::SessionId,
}

impl Log {
    async fn open(session: &str, database: Option<&str>) -> anyhow::Result<Option<Log>> {
        let url = super::serve::database_url(session, database);
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.split('?').next())
            && !std::path::Path::new(path).exists()
        {
            return Ok(None);
        }
        let store = Store::open(&url).await?;
        Ok(store.session_by_name(session).await?.map(|found| Log {
            store,
            session: found.id,
        }))
    }

    async fn append(&self, team: u32, kind: EventKind) -> anyhow::Result<()> {
        let event = NewEvent {
            session: self.session,
            team: Some(team),
            kind,
            actor: "instructor (enshu reset)".into(),
            at_ms: None,
            exercise_ms: None,
        };
        self.store.append_event(event).await?;
        Ok(())
    }

    /// What the team's range held before this reset (golden copies), as
    /// the engine reads it.
    async fn ground_truth(
        &self,
        team: u32,
    ) -> anyhow::Result<std::collections::BTreeMap<String, Value>> {
        let query = EventQuery {
            team: TeamFilter::Team(team),
            after_seq: 0,
            limit: None,
        };
        let events = self.store.events(self.session, query).await?;
        Ok(super::engine::ground_truth_of(&events, team))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let state = SessionState::load(&args.session)?;
    let plan = state.plan()?;
    let team = plan
        .teams
        .iter()
        .find(|team| team.index == args.team)
        .ok_or_else(|| {
            anyhow::anyhow!("session {} has teams 1-{}", args.session, plan.teams.len())
        })?;
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let started = Instant::now();
        let log = Log::open(&args.session, args.database.as_deref()).await?;
        if let Some(log) = &log {
            log.append(team.index, EventKind::ClockChanged { action: ClockAction::Pause, team: Some(team.index), speed: None }).await?;
        }
        let observed = backend.list(&[(labels::SESSION, args.session.as_str()), (labels::TEAM, team.name.as_str())]).await?;
        let removals: Vec<_> = stream::iter(observed.containers.iter())
            .map(|container| backend.remove_container(&container.name))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for removal in removals {
            match removal {
                Ok(()) | Err(enshu_backend::BackendError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        range::ensure_host_guard().await?;
        enshu_controller::up(&backend, &plan, CONCURRENCY, &|_| {}).await?;
        let provisioned = started.elapsed().as_secs_f64();
        let verified = verify::verify_plan(&backend, &plan, verify::PROBE_SOURCES_AT_ONCE).await?;
        super::session_state::record_verified(&args.session, verified.ok())?;
        let verified_seconds = started.elapsed().as_secs_f64();
        let ground_truth = match &log {
            Some(log) => log.ground_truth(team.index).await?,
            None => Default::default(),
        };
        let checks = run_checks(&backend, team, &ground_truth).await;
        let clean = checks.iter().all(|check| check["result"] != "failed");
        if let Some(log) = &log {
            log.append(team.index, EventKind::TeamReset { containers: observed.containers.len() as u32 }).await?;
            log.append(team.index, EventKind::ClockChanged { action: ClockAction::Resume, team: Some(team.index), speed: None }).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        match args.output {
            Output::Json => println!(
                "{}",
                json!({
                    "session": args.session, "team": team.name, "containers": observed.containers.len(),
                    "provisioned_seconds": provisioned, "verified_seconds": verified_seconds, "seconds": seconds,
                    "verified": verified.ok(), "checks": checks, "clean": clean, "log_told": log.is_some(),
                })
            ),
            Output::Text => {
                verify::print_report(&verified, Output::Text);
                for check in &checks {
                    println!("  check {:<22} {:<8} {}", check["objective"].as_str().unwrap_or(""), check["result"].as_str().unwrap_or(""), check["detail"].as_str().unwrap_or(""));
                }
                println!(
                    "team {}: {} containers recreated in {provisioned:.1}s, isolation re-proven by {verified_seconds:.1}s, checks {} by {seconds:.1}s",
                    team.name,
                    observed.containers.len(),
                    if clean { "clean" } else { "NOT clean" }
                );
                if log.is_some() {
                    println!("the engine fires team {}'s past injects again into the rebuilt range", team.name);
                }
            }
        }
        Ok(if verified.ok() && clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}

/// The team's checks on its rebuilt range: every check that looks for
/// traces of the attack (a dropped file, a process, a beacon, a changed
/// page or file) must pass on a range without the attack. A check that
/// compares with a golden copy is judged only when the log has one (the
/// deface inject fired); checks of the team's own actions are skipped.
async fn run_checks<B: Backend>(
    backend: &B,
    team: &enshu_scenario::plan::TeamPlan,
    ground_truth: &std::collections::BTreeMap<String, Value>,
) -> Vec<Value> {
    use enshu_scenario::model::CheckKind;
    let mut results = Vec::new();
    for check in &team.checks {
        // These pass only after the team acts (closes a port, disables an
        // account, saves evidence): a fresh range fails them by design.
        if matches!(
            check.check.kind,
            CheckKind::PortClosed | CheckKind::AccountDisabled | CheckKind::FilePresent
        ) {
            results.push(json!({"objective": check.objective, "result": "skipped", "detail": "judges the team's own action, not traces of the attack"}));
            continue;
        }
        if let Some(inject) = &check.check.golden
            && !ground_truth.contains_key(inject)
        {
            results.push(json!({"objective": check.objective, "result": "skipped", "detail": format!("no golden copy: inject {inject} has not fired")}));
            continue;
        }
        let (result, detail) =
            match enshu_injector::checks::run_check(backend, check, ground_truth).await {
                Ok(outcome) => (
                    if outcome.passed { "passed" } else { "failed" },
                    outcome.detail,
                ),
                Err(error) => ("failed", error.to_string()),
            };
        results.push(json!({"objective": check.objective, "result": result, "detail": detail}));
    }
    results
}
