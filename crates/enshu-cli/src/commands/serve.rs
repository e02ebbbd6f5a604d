//! `enshu serve --session NAME`: one long-running process for the whole
//! exercise: the scoring web service (scoreboard and team portal over TLS),
//! every team's way in (the SSH bastion, `enshu_server::bastion`: one port
//! per team, its sessions opened on the way-in host through the web
//! terminal's path and recorded with it), and the exercise engine (clock,
//! injects, checks, firewall). All state is in the store, so a restart
//! resumes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use enshu_engine::{Engine, Shared};
use enshu_store::{NewSession, NewTeam, Store};

use super::access;
use super::range;
use super::session_state::{SessionState, state_dir};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Where the scoreboard and portal listen (HTTPS).
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Database URL (default: an SQLite file in the state directory).
    #[arg(long, env = "ENSHU_DATABASE_URL")]
    database: Option<String>,
    /// Port of team 1's SSH way in (the bastion); team N gets base + N - 1.
    #[arg(long, default_value_t = 2201)]
    access_base_port: u16,
    /// Address the SSH ways in listen on.
    #[arg(long, default_value = "0.0.0.0")]
    access_bind: String,
    /// Seconds between rounds of automatic checks.
    #[arg(long, default_value_t = 15)]
    check_interval: u64,
    /// Seconds a web terminal's shell waits for its dropped client to come back.
    #[arg(long, default_value_t = 60)]
    terminal_reattach_grace: u64,
    /// Minutes without input or output after which a web terminal ends.
    #[arg(long, default_value_t = 30)]
    terminal_idle_minutes: u64,
    /// PEM certificate chain and key (default: a generated self-signed certificate).
    #[arg(long, requires = "key")]
    certificate: Option<std::path::PathBuf>,
    #[arg(long, requires = "certificate")]
    key: Option<std::path::PathBuf>,
    /// The time zone the pages show wall-clock times in: Asia/Tokyo, UTC
    /// (or another zone without daylight saving time) or an offset (+09:00).
    #[arg(long, default_value = "Asia/Tokyo", value_parser = parse_time_zone)]
    time_zone: enshu_server::TimeZone,
    /// An earlier session's after-action export of the same scenario
    /// (`/api/instructor/after-action.json`): the review then shows where
    /// each team stands against those teams. Repeatable.
    #[arg(long = "cohort", value_name = "FILE")]
    cohorts: Vec<std::path::PathBuf>,
}

/// Every `--cohort` file read as an export of `scenario`; the first that
/// cannot be read or is of another scenario stops the start.
fn read_cohorts(
    paths: &[std::path::PathBuf],
    scenario: &str,
) -> anyhow::Result<Vec<enshu_server::Cohort>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading cohort {}", path.display()))?;
            Ok(enshu_server::read_cohort(
                &path.display().to_string(),
                &text,
                scenario,
            )?)
        })
        .collect()
}

fn parse_time_zone(text: &str) -> Result<enshu_server::TimeZone, String> {
    enshu_server::TimeZone::parse(text)
}

pub fn database_url(session: &str, given: Option<&str>) -> String {
    given.map(str::to_string).unwrap_or_else(|| {
        format!(
            "sqlite://{}/sessions/{session}.db?mode=rwc",
            state_dir().display()
        )
    })
}

/// The session's store when it already has one; a SQLite file that does
/// not exist yet is never created just to look into it.
pub async fn open_existing_store(
    session: &str,
    given: Option<&str>,
) -> anyhow::Result<Option<Store>> {
    let url = database_url(session, given);
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
        && !std::path::Path::new(path).exists()
    {
        return Ok(None);
    }
    Ok(Some(Store::open(&url).await?))
}

/// Make sure the store knows the session and its teams (tokens derived
/// from the session secret, so they can be printed again).
pub async fn ensure_store_session(
    store: &Store,
    state: &SessionState,
    scenario_id: &str,
) -> anyhow::Result<enshu_store::Session> {
    let plan = state.plan()?;
    if let Some(session) = store.session_by_name(&state.session).await? {
        // A token revoked while no server ran is replaced now.
        for team in &plan.teams {
            store
                .set_team_token(session.id, team.index, &state.portal_token(&team.name))
                .await?;
        }
        return Ok(session);
    }
    let teams = plan
        .teams
        .iter()
        .map(|team| NewTeam {
            name: team.name.clone(),
            token: state.portal_token(&team.name),
        })
        .collect();
    let new_session = NewSession {
        name: state.session.clone(),
        scenario_id: scenario_id.to_string(),
        scenario_yaml: state.scenario_text.clone(),
        teams,
    };
    Ok(store.create_session(&new_session).await?)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let state = SessionState::load(&args.session)?;
    if !super::session_state::last_verify_passed(&args.session) {
        return Err(super::Refused(format!(
            "session {0:?} has not passed `enshu verify --session {0}`: trainees must not enter a range that is not proven isolated",
            args.session
        ))
        .into());
    }
    let plan = state.plan()?;
    let loaded = enshu_scenario::load(&state.scenario_file, state.scenario_text.as_bytes())
        .map_err(|diagnostics| anyhow::anyhow!("{}", diagnostics[0].headline()))?;
    let scenario = loaded.scenario.clone();
    let cohorts = read_cohorts(&args.cohorts, &scenario.id)?;
    let entries = access::entries(&state, args.access_base_port)?;
    // The portal's web terminal needs xterm.js from Debian's node-xterm.
    let xterm = enshu_server::XtermAssets::from_debian()?;
    range::runtime()?.block_on(async {
        let url = database_url(&args.session, args.database.as_deref());
        let sqlite_path = url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next());
        if let Some(parent) = sqlite_path.and_then(|path| std::path::Path::new(path).parent()) {
            super::session_state::private_dir(parent)?;
        }
        let store = Store::open(&url).await.with_context(|| format!("opening the store at {url}"))?;
        // The event log holds every team's answers and reports: the
        // operator's alone, whatever the umask sqlx created it with.
        if let Some(path) = sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let file = std::path::PathBuf::from(format!("{path}{suffix}"));
                if file.exists() {
                    super::session_state::make_private(&file)?;
                }
            }
        }
        let session = ensure_store_session(&store, &state, &scenario.id).await?;
        // One exec agent per container the engine acts in: firing and
        // checking then cost no `docker exec` each (crates/enshu-docker/src/agent.rs);
        // none where the team may log in (its root could forge or stall it).
        let backend = range::docker()
            .await?
            .with_exec_agents_except(enshu_engine::team_login_containers(&plan));

        let instructor_token = state.derive("instructor", "");
        let (live_events, _) = tokio::sync::broadcast::channel(1024);
        let app = enshu_server::AppState::with_options(
            store.clone(),
            session.id,
            scenario.clone(),
            plan.clone(),
            enshu_server::hash_instructor_token(&instructor_token),
            live_events,
            enshu_server::ServerOptions {
                time_zone: args.time_zone.clone(),
                cohorts,
                ..Default::default()
            },
        )
        .with_terminals(enshu_server::TerminalService {
            backend: std::sync::Arc::new(backend.clone()),
            recordings: super::session_state::terminals_dir(&args.session),
            options: enshu_server::TerminalOptions {
                reattach_grace: Duration::from_secs(args.terminal_reattach_grace),
                idle_timeout: Duration::from_secs(args.terminal_idle_minutes.max(1) * 60),
                ..enshu_server::TerminalOptions::default()
            },
            assets: xterm,
        });
        let (tls, fingerprint) = session_certificate(&state, &args)?;
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr()?;
        let server_url = format!("https://{}", if address.ip().is_unspecified() { format!("127.0.0.1:{}", address.port()) } else { address.to_string() });
        state.save_server(&server_url)?;
        state.save_fingerprint(&fingerprint)?;

        let bastion_key_path = super::session_state::bastion_host_key(&args.session);
        let bastion_key = enshu_server::bastion::kept_host_key(&bastion_key_path)
            .context("keeping the SSH bastion's host key")?;
        let bastion_fingerprint = enshu_server::bastion::host_key_fingerprint(&bastion_key);
        let mut access_listeners = Vec::new();
        for entry in &entries {
            let listener = tokio::net::TcpListener::bind((args.access_bind.as_str(), entry.port))
                .await
                .with_context(|| format!("listening on {}:{} for team {}", args.access_bind, entry.port, entry.team))?;
            let door = enshu_server::bastion::BastionTeam {
                team: entry.index,
                user: entry.user.clone(),
                password: entry.password.clone(),
            };
            access_listeners.push((listener, door));
        }

        println!("session {} · scenario {} · {} team(s)", args.session, scenario.id, plan.teams.len());
        println!("scoreboard  {server_url}/  (instructor token: {instructor_token})");
        println!("team portal {server_url}/team  (web terminal: {server_url}/team/terminal; recordings: {server_url}/terminals)");
        println!("certificate SHA-256 {fingerprint}  (what trainees' browsers should show)");
        println!("ssh host key {bastion_fingerprint}  (what trainees' ssh should show for the way in)");
        println!("team  portal token                      ssh way in                 password");
        for entry in &entries {
            println!("{:<5} {:<33} ssh -p {:<5} {}@<host>   {}", entry.team, state.portal_token(&entry.team), entry.port, entry.user, entry.password);
        }
        println!("the exercise clock is stopped: `enshu clock start --session {}`", args.session);

        let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
        let stopped = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
            let _ = receiver.wait_for(|stop| *stop).await;
        };
        // Captures are read from the copies `up` kept in the session's state
        // (a session brought up before them: beside the scenario's absolute path).
        let replay = enshu_injector::replay::ReplayTool::beside_current_exe(&state.scenario_dir())
            .map(|tool| tool.with_captures(state.capture_copies()));
        if replay.is_none() {
            tracing::warn!("enshu-replay was not found beside enshu (or in ENSHU_REPLAY_BIN): capture replay injects will fail");
        }
        let shared = Shared { backend: backend.clone(), store: store.clone(), session: session.id, scenario, plan, replay };
        let engine = Engine::new(shared, Duration::from_secs(args.check_interval.max(1)))
            .with_guard(std::sync::Arc::new(MachineGuard(enshu_docker::HostGuard::new())));
        let warm_targets = engine.exec_targets();
        let warm_backend = backend.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let ready = enshu_engine::keep_exec_ready(&warm_backend, &warm_targets).await;
            tracing::info!(ready, of = warm_targets.len(), seconds = started.elapsed().as_secs_f64(), "exec agents started");
        });
        let engine_task = tokio::spawn(engine.run(enshu_engine::FIRE_PERIOD, stopped(stop_receiver.clone())));
        let access_task = tokio::spawn(enshu_server::bastion::serve_bastion(app.clone(), access_listeners, bastion_key, stopped(stop_receiver.clone())));
        let server_task = tokio::spawn(enshu_server::serve(listener, app.clone(), tls, stopped(stop_receiver)));
        shutdown_signal().await;
        eprintln!("stopping: the session's state is in the store; `enshu serve` again resumes it");
        let _ = stop_sender.send(true);
        let _ = engine_task.await;
        let _ = access_task.await;
        server_task.await??;
        Ok(ExitCode::SUCCESS)
    })
}

/// This machine's host guard, as the engine watches it: one look at the
/// filter tables (`iptables -S` per program) while a range bridge exists,
/// an `ensure` (the lock, the repair, a look again) when it is not in place.
struct MachineGuard(enshu_docker::HostGuard);

impl enshu_engine::GuardWatch for MachineGuard {
    fn repair(&self) -> futures::future::BoxFuture<'_, Result<Vec<String>, String>> {
        Box::pin(async move { self.0.keep().await.map_err(|error| error.to_string()) })
    }
}

/// The server's certificate and its SHA-256 fingerprint: the files given,
/// or the session's own self-signed one, kept in its state across restarts
/// and made for the names trainees reach it by (the listen address, or
/// every address of this machine when listening on all of them).
fn session_certificate(
    state: &SessionState,
    args: &Args,
) -> anyhow::Result<(enshu_server::TlsConfig, String)> {
    if let (Some(certificate), Some(_)) = (&args.certificate, &args.key) {
        let tls = enshu_server::TlsConfig::from_paths(args.certificate.clone(), args.key.clone())?;
        return Ok((tls, enshu_server::fingerprint_of_file(certificate)?));
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ip = args.listen.ip();
    if ip.is_unspecified() {
        names.extend(
            enshu_docker::host_addresses()
                .iter()
                .map(ToString::to_string),
        );
    } else {
        names.push(ip.to_string());
    }
    names.sort();
    names.dedup();
    let kept =
        enshu_server::kept_self_signed(&super::session_state::tls_dir(&state.session), &names)
            .context("keeping the session's certificate")?;
    Ok((kept.config, kept.sha256))
}

/// Ctrl-C or SIGTERM (what `systemctl stop` sends): either stops the
/// server gracefully, with the engine finishing its round and every
/// event recorded.
async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM ({error}): only Ctrl-C stops the server");
                tokio::signal::ctrl_c().await.ok();
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
