//! `enshu up FILE --teams N --session NAME`: provision (or converge) every
//! team's range, then prove it isolated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context as _;
use enshu_controller::Progress;
use enshu_scenario::{PlanError, PlanOptions};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::files::{DiskFiles, load_scenario};
use super::range::{self, CONCURRENCY};
use super::session_state::SessionState;
use super::{Output, verify};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario file.
    file: PathBuf,
    #[arg(long, default_value_t = 1)]
    teams: u32,
    /// Session name: every container and network carries it.
    #[arg(long)]
    session: String,
    /// Address pool instead of the scenario's own (CIDR).
    #[arg(long)]
    pool: Option<String>,
    /// Keep what was created when provisioning fails (default: remove it).
    #[arg(long)]
    keep_on_failure: bool,
    /// Skip the isolation proof (not recommended: trainees must not enter
    /// an unverified range).
    #[arg(long)]
    no_verify: bool,
    /// Print the steps without applying them.
    #[arg(long)]
    dry_run: bool,
    /// Containers created and started at once [default: 8 for up to 8
    /// teams, else 4].
    #[arg(long)]
    concurrency: Option<usize>,
    /// Containers probing at once during verify.
    #[arg(long, default_value_t = verify::PROBE_SOURCES_AT_ONCE)]
    verify_concurrency: usize,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = match load_scenario(&args.file) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            diagnostics
                .iter()
                .for_each(|diagnostic| eprint!("{diagnostic}"));
            return Ok(super::scenario_refused(&args.file));
        }
    };
    let pool = args
        .pool
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|message: String| anyhow::anyhow!("--pool: {message}"))?;
    // Stored absolute, so that every later command finds it from anywhere.
    let scenario_file = std::path::absolute(&args.file)
        .with_context(|| format!("finding {}", args.file.display()))?;
    let files = DiskFiles::beside(&scenario_file);
    let mut plan = match enshu_scenario::plan(
        &loaded,
        &PlanOptions {
            session: args.session.clone(),
            teams: args.teams,
            pool,
            files: &files,
        },
    ) {
        Ok(plan) => plan,
        Err(PlanError::Invalid(diagnostics)) => {
            diagnostics
                .iter()
                .for_each(|diagnostic| eprint!("{diagnostic}"));
            return Ok(super::refused());
        }
        Err(other) => return Err(other.into()),
    };
    if !args.dry_run {
        range::require_root("up")?;
    }
    let runtime = range::runtime()?;
    runtime.block_on(async {
        let backend = range::docker().await?;
        if args.dry_run {
            if let Ok(previous) = SessionState::load(&args.session) {
                previous.apply_credentials(&mut plan);
            }
            let observed = enshu_backend::Backend::list(&backend, &[(enshu_scenario::plan::labels::SESSION, args.session.as_str())]).await?;
            let mut steps = enshu_controller::diff(&plan, &observed);
            let held = enshu_controller::observe_held(&backend, &plan, &observed).await;
            steps.extend(enshu_controller::backup_steps(&plan, &held, &steps));
            let sensors = enshu_controller::sensor::observe(&backend, &plan).await?;
            steps.extend(enshu_controller::sensor_steps(&plan, sensors.as_ref(), &steps));
            match args.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&steps)?),
                Output::Text => steps.iter().for_each(|step| println!("{}", serde_json::to_string(step).unwrap_or_default())),
            }
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(note) = backend.storage_driver().await.ok().as_deref().and_then(range::storage_driver_note) {
            eprintln!("note: {note}");
        }
        // The host guard must be in place before any range container runs:
        // it keeps containers off the host and lets the routers forward.
        range::ensure_host_guard().await?;
        range::ensure_host_limits(plan.teams.iter().map(|team| team.containers.len()).sum());
        // Keep the secret of an earlier `up` of this session: passwords stay.
        // Revoked portal tokens stay revoked.
        let (secret, token_revocations) = match SessionState::load(&args.session) {
            Ok(previous) if !previous.secret.is_empty() => (previous.secret, previous.token_revocations),
            _ => (super::session_state::new_secret()?, Default::default()),
        };
        // The captures are copied into the session's state: `serve` replays
        // them from there, whatever its directory and wherever the checkout went.
        let captures = super::session_state::keep_captures(
            &loaded.scenario,
            &files.base,
            &super::session_state::files_dir(&args.session),
        )?;
        let state = SessionState {
            session: args.session.clone(),
            scenario_file: scenario_file.display().to_string(),
            scenario_text: String::from_utf8_lossy(&std::fs::read(&scenario_file)?).into_owned(),
            teams: args.teams,
            pool: args.pool.clone(),
            secret,
            captures,
            token_revocations,
        };
        state.save()?;
        state.apply_credentials(&mut plan);

        let bars = ProgressBars::new(args.output == Output::Text);
        let result = enshu_controller::up(&backend, &plan, args.concurrency.unwrap_or(range::up_concurrency(args.teams)), &|event| bars.update(event)).await;
        bars.finish();
        let report = match result {
            Ok(report) => report,
            Err(error) => {
                if let enshu_controller::UpError::Steps { failures } = &error {
                    for failure in failures {
                        eprintln!("error: team {} host {}: {}", failure.team, failure.host, failure.message);
                    }
                }
                if args.keep_on_failure {
                    eprintln!("kept what was created; re-run `enshu up` to converge or `enshu down --session {}` to remove it", args.session);
                } else {
                    eprintln!("removing the half-provisioned session {:?} (use --keep-on-failure to keep it)", args.session);
                    enshu_controller::down(&backend, &args.session, CONCURRENCY).await?;
                    SessionState::forget(&args.session);
                }
                return Err(anyhow::anyhow!(error));
            }
        };
        let containers: usize = plan.teams.iter().map(|team| team.containers.len()).sum();
        if args.output == Output::Text {
            println!(
                "session {}: {} team(s), {} containers, {} networks ready in {:.1}s ({} steps)",
                args.session,
                plan.teams.len(),
                containers,
                plan.teams.iter().map(|team| team.networks.len()).sum::<usize>(),
                report.seconds,
                report.steps.len()
            );
            let phases: Vec<String> = report
                .phases
                .iter()
                .map(|(kind, phase)| format!("{kind} {}× {:.1}–{:.1}s (busy {:.1}s)", phase.steps, phase.first_started, phase.last_ended, phase.busy_seconds))
                .collect();
            println!("phases: {}", phases.join("; "));
        }
        super::session_state::record_verified(&args.session, false)?;
        if args.no_verify {
            if args.output == Output::Json {
                println!("{}", serde_json::json!({"session": args.session, "up": report, "verify": null}));
            }
            return Ok(ExitCode::SUCCESS);
        }
        let verified = verify::verify_plan(&backend, &plan, args.verify_concurrency).await?;
        super::session_state::record_verified(&args.session, verified.ok())?;
        verify::print_report(&verified, args.output);
        if args.output == Output::Json {
            println!("{}", serde_json::json!({"session": args.session, "up": report, "verify": {"ok": verified.ok(), "probes": verified.results.len(), "failures": verified.failures()}}));
        }
        Ok(if verified.ok() { ExitCode::SUCCESS } else { super::refused() })
    })
}

/// One progress bar per team.
struct ProgressBars {
    multi: Option<MultiProgress>,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl ProgressBars {
    fn new(enabled: bool) -> ProgressBars {
        ProgressBars {
            multi: enabled.then(MultiProgress::new),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn update(&self, event: Progress) {
        let Some(multi) = &self.multi else { return };
        let mut bars = self.bars.lock().unwrap();
        match event {
            Progress::Planned { team, steps } => {
                let bar = multi.add(ProgressBar::new(steps as u64));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} {msg}")
                        .unwrap()
                        .progress_chars("=> "),
                );
                bar.set_prefix(team.clone());
                bars.insert(team, bar);
            }
            Progress::StepDone { team, step } => {
                if let Some(bar) = bars.get(&team) {
                    bar.inc(1);
                    bar.set_message(
                        serde_json::to_value(&step)
                            .ok()
                            .and_then(|value| value["name"].as_str().map(str::to_string))
                            .unwrap_or_default(),
                    );
                }
            }
            Progress::StepFailed { team, message, .. } => {
                if let Some(bar) = bars.get(&team) {
                    bar.set_message(format!("failed: {message}"));
                }
            }
        }
    }

    fn finish(&self) {
        for bar in self.bars.lock().unwrap().values() {
            bar.finish();
        }
    }
}
