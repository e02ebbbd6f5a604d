//! The instructor's commands against a running `enshu serve`: the clock,
//! injects by hand, the scoreboard and exports. They use the server's
//! authenticated JSON API with the session's instructor token; `export`
//! reads the session's store itself when no server runs.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::Output;
use super::range;
use super::session_state::SessionState;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ClockVerb {
    Start,
    Pause,
    Resume,
    Stop,
}

#[derive(clap::Args)]
pub struct ClockArgs {
    #[arg(value_enum)]
    action: ClockVerb,
    #[arg(long)]
    session: String,
    /// Only this team (default: the whole session).
    #[arg(long)]
    team: Option<u32>,
    /// Exercise seconds per wall second from now on (e.g. 10 plays a
    /// 30-minute scenario in 3 minutes; 1 is real time).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=enshu_store::MAX_CLOCK_SPEED as i64))]
    speed: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum InjectVerb {
    /// Fire now, whatever its time.
    Fire,
    /// Never fire (until fired by hand).
    Hold,
}

#[derive(clap::Args)]
pub struct InjectArgs {
    #[arg(value_enum)]
    action: InjectVerb,
    /// The inject's id in the scenario.
    inject: String,
    #[arg(long)]
    session: String,
    #[arg(long)]
    team: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(clap::Args)]
pub struct ScoreboardArgs {
    #[arg(long)]
    session: String,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum ExportFormat {
    #[default]
    Json,
    Csv,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    session: String,
    #[arg(long, value_enum, default_value_t)]
    format: ExportFormat,
    /// Write here instead of standard output.
    #[arg(long)]
    to: Option<std::path::PathBuf>,
    /// The store to read when no server runs for the session (default:
    /// the SQLite file in the state directory, as `serve` uses it).
    #[arg(long, env = "ENSHU_DATABASE_URL")]
    database: Option<String>,
}

/// An authenticated client for one session's server.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn for_session(session: &str) -> anyhow::Result<Client> {
        let state = SessionState::load(session)?;
        // Pinned: only the certificate whose fingerprint `serve` printed and
        // kept is accepted, whoever signed it.
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(enshu_server::pinned_client_config(&state.fingerprint()?))
            .build()?;
        Ok(Client {
            http,
            base: state.server_url()?,
            token: state.derive("instructor", ""),
        })
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let text = response.text().await?;
        refuse_unless_success(path, status, &text)?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let text = response.text().await?;
        refuse_unless_success(path, status, &text)?;
        Ok(text)
    }
}

/// The server is not running (its port refuses or nothing listens), as
/// after `enshu serve` has stopped: nothing was asked of it.
fn not_answering(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<reqwest::Error>())
        .any(reqwest::Error::is_connect)
}

/// The export `serve` would answer, made from the session's store by the
/// server's own code, for an instructor exporting after the exercise.
async fn export_from_store(args: &ExportArgs) -> anyhow::Result<String> {
    let state = SessionState::load(&args.session)?;
    let plan = state.plan()?;
    let loaded = enshu_scenario::load(&state.scenario_file, state.scenario_text.as_bytes())
        .map_err(|diagnostics| anyhow::anyhow!("{}", diagnostics[0].headline()))?;
    let store = super::serve::open_existing_store(&args.session, args.database.as_deref())
        .await?
        .with_context(|| {
            format!(
                "session {:?} has no store yet: it was never served",
                args.session
            )
        })?;
    let session = store
        .session_by_name(&args.session)
        .await?
        .with_context(|| {
            format!(
                "session {:?} is not in the store: it was never served",
                args.session
            )
        })?;
    let (live_events, _) = tokio::sync::broadcast::channel(1);
    let app = enshu_server::AppState::with_options(
        store,
        session.id,
        loaded.scenario,
        plan,
        enshu_server::hash_instructor_token(&state.derive("instructor", "")),
        live_events,
        enshu_server::ServerOptions::default(),
    );
    let csv = matches!(args.format, ExportFormat::Csv);
    Ok(enshu_server::export_document(&app, csv).await?)
}

/// A 4xx answer is the served range refusing the request (exit 3); a 5xx
/// is its failure (exit 1).
fn refuse_unless_success(
    path: &str,
    status: reqwest::StatusCode,
    text: &str,
) -> anyhow::Result<()> {
    if status.is_client_error() {
        return Err(super::Refused(format!("{path}: {status}: {text}")).into());
    }
    anyhow::ensure!(status.is_success(), "{path}: {status}: {text}");
    Ok(())
}

pub fn clock(args: ClockArgs) -> anyhow::Result<ExitCode> {
    let action = match args.action {
        ClockVerb::Start => "start",
        ClockVerb::Pause => "pause",
        ClockVerb::Resume => "resume",
        ClockVerb::Stop => "stop",
    };
    range::runtime()?.block_on(async {
        let client = Client::for_session(&args.session)?;
        let answer = client.post("/api/instructor/clock", json!({"action": action, "team": args.team, "speed": args.speed})).await?;
        match args.output {
            Output::Json => println!("{}", json!({"action": action, "team": args.team, "speed": args.speed, "seq": answer.get("seq")})),
            Output::Text => println!(
                "clock {action}{}{}",
                args.team.map(|team| format!(" for team {team}")).unwrap_or_default(),
                args.speed.map(|speed| format!(" at {speed}× speed")).unwrap_or_default()
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn inject(args: InjectArgs) -> anyhow::Result<ExitCode> {
    let verb = match args.action {
        InjectVerb::Fire => "fire",
        InjectVerb::Hold => "hold",
    };
    range::runtime()?.block_on(async {
        let client = Client::for_session(&args.session)?;
        let answer = client.post(&format!("/api/instructor/injects/{}/{verb}", args.inject), json!({"team": args.team})).await?;
        match args.output {
            Output::Json => println!("{}", json!({"inject": args.inject, "action": verb, "team": args.team, "seq": answer.get("seq")})),
            Output::Text => println!("inject {}: {verb}{}", args.inject, args.team.map(|team| format!(" for team {team}")).unwrap_or_default()),
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn scoreboard(args: ScoreboardArgs) -> anyhow::Result<ExitCode> {
    range::runtime()?.block_on(async {
        let client = Client::for_session(&args.session)?;
        let text = client.get("/api/instructor/scoreboard").await?;
        match args.output {
            Output::Json => println!("{text}"),
            Output::Text => print!("{}", render_scoreboard(&serde_json::from_str(&text)?)),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A terminal rendering of the scoreboard JSON.
pub fn render_scoreboard(board: &Value) -> String {
    let mut out = String::from("team   points  detection  response  reporting  recovery\n");
    let teams = board
        .get("teams")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for team in teams {
        let name = team
            .get("name")
            .or_else(|| team.get("team"))
            .map(|value| value.to_string().trim_matches('"').to_string())
            .unwrap_or_default();
        let total = team.get("total").and_then(Value::as_i64).unwrap_or(0);
        let phases = team
            .pointer("/score/phases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let phase = |wanted: &str| {
            phases
                .iter()
                .find(|phase| {
                    phase
                        .get("phase")
                        .and_then(Value::as_str)
                        .is_some_and(|value| value.eq_ignore_ascii_case(wanted))
                })
                .and_then(|phase| phase.get("points").and_then(Value::as_i64))
                .unwrap_or(0)
        };
        out.push_str(&format!(
            "{name:<6} {total:>6}  {:>9}  {:>8}  {:>9}  {:>8}\n",
            phase("detection"),
            phase("response"),
            phase("reporting"),
            phase("recovery")
        ));
    }
    out
}

pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let path = match args.format {
        ExportFormat::Json => "/api/instructor/export.json",
        ExportFormat::Csv => "/api/instructor/export.csv",
    };
    range::runtime()?.block_on(async {
        let served = match Client::for_session(&args.session) {
            Ok(client) => match client.get(path).await {
                Ok(text) => Some(text),
                Err(error) if not_answering(&error) => None,
                Err(error) => return Err(error),
            },
            Err(_) => None,
        };
        let text = match served {
            Some(text) => text,
            None => {
                eprintln!(
                    "note: no server answers for session {:?}: exported from its store",
                    args.session
                );
                export_from_store(&args).await?
            }
        };
        match &args.to {
            Some(file) => {
                std::fs::write(file, &text)
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("{}", file.display());
            }
            None => print!("{text}"),
        }
        Ok(ExitCode::SUCCESS)
    })
}
