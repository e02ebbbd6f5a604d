//! `enshu reset --session NAME --team N`: put one team's range back to its
//! initial state (fresh containers from the images, same addresses and
//! credentials), leaving every other team untouched, prove the session
//! isolated again, and show with the team's own checks that the attack's
//! effects are gone (no dropped file, the page matches its golden copy, no
//! beacon).
//!
//! The protocol is the engine's ([`enshu_engine::reset`]): with a served
//! session's log the team's clock is paused while its range is rebuilt, a
//! `TeamReset` is recorded and the clock resumes (a team an instructor
//! paused or stopped stays so), and the engine then fires the injects whose
//! time has passed again. This command opens the log,
//! supplies the machine's own steps (the host guard, `verify`) and prints.

use std::process::ExitCode;

use enshu_controller::verify::VerifyReport;
use enshu_docker::DockerBackend;
use enshu_engine::reset::{RangeHost, ResetLog, reset_team};
use enshu_scenario::plan::Plan;
use serde_json::json;

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
async fn open_log(session: &str, database: Option<&str>) -> anyhow::Result<Option<ResetLog>> {
    let Some(store) = super::serve::open_existing_store(session, database).await? else {
        return Ok(None);
    };
    Ok(store.session_by_name(session).await?.map(|found| ResetLog {
        store,
        session: found.id,
        actor: "instructor (enshu reset)".into(),
    }))
}

/// This machine's part of a reset: the host guard and kernel limits, and `verify`'s proof
/// (recorded in the session's state like `enshu verify`'s).
struct Machine<'a> {
    backend: &'a DockerBackend,
    session: &'a str,
}

impl RangeHost for Machine<'_> {
    type Verified = VerifyReport;

    async fn before_rebuild(&self) -> anyhow::Result<()> {
        // After a reboot the kernel's caps are back at their defaults.
        range::ensure_host_limits(0);
        range::ensure_host_guard().await
    }

    async fn verify(&self, plan: &Plan) -> anyhow::Result<(VerifyReport, bool)> {
        let verified =
            verify::verify_plan(self.backend, plan, verify::PROBE_SOURCES_AT_ONCE).await?;
        super::session_state::record_verified(self.session, verified.ok())?;
        let ok = verified.ok();
        Ok((verified, ok))
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
    range::require_root("reset")?;
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let log = open_log(&args.session, args.database.as_deref()).await?;
        let machine = Machine {
            backend: &backend,
            session: &args.session,
        };
        let report = reset_team(&backend, &machine, &plan, team, log.as_ref(), CONCURRENCY).await?;
        let provisioned = report.provisioned.as_secs_f64();
        let verified_seconds = report.verified_after.as_secs_f64();
        let seconds = report.elapsed.as_secs_f64();
        match args.output {
            Output::Json => println!(
                "{}",
                json!({
                    "session": args.session, "team": team.name, "containers": report.containers,
                    "provisioned_seconds": provisioned, "verified_seconds": verified_seconds, "seconds": seconds,
                    "verified": report.verified_ok, "checks": report.checks, "clean": report.clean, "log_told": report.log_told,
                })
            ),
            Output::Text => {
                verify::print_report(&report.verified, Output::Text);
                for check in &report.checks {
                    println!("  check {:<22} {:<8} {}", check.objective, check.result.as_str(), check.detail);
                }
                println!(
                    "team {}: {} containers recreated in {provisioned:.1}s, isolation re-proven by {verified_seconds:.1}s, checks {} by {seconds:.1}s",
                    team.name,
                    report.containers,
                    if report.clean { "clean" } else { "NOT clean" }
                );
                if report.log_told {
                    println!("the engine fires team {}'s past injects again into the rebuilt range", team.name);
                }
            }
        }
        Ok(if !report.verified_ok {
            super::refused()
        } else if report.clean {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
