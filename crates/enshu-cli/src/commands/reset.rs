//! `enshu reset --session NAME --team N`: put one team's range back to its
//! initial state (fresh containers from the images, same addresses and
//! credentials), leaving every other team untouched, then prove the
//! session isolated again. The exercise log is kept: what the team did
//! before the reset stays on its timeline.

use std::process::ExitCode;
use std::time::Instant;

use enshu_backend::Backend;
use enshu_scenario::plan::labels;
use futures::stream::{self, StreamExt};

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
    #[arg(long, value_enum, default_value_t)]
    output: Output,
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
        let seconds = started.elapsed().as_secs_f64();
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::json!({"session": args.session, "team": team.name, "containers": observed.containers.len(), "provisioned_seconds": provisioned, "seconds": seconds, "verified": verified.ok()})
            ),
            Output::Text => {
                verify::print_report(&verified, Output::Text);
                println!("team {}: {} containers recreated in {provisioned:.1}s, isolation re-proven in {seconds:.1}s", team.name, observed.containers.len());
            }
        }
        Ok(if verified.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    })
}
