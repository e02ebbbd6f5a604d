//! A running server for tests: SQLite in a temporary directory, the
//! quickstart scenario planned for two teams, TLS with a self-signed
//! certificate on 127.0.0.1:0, and a client that accepts it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use enshu_server::{AppState, ServerOptions, TlsConfig, hash_instructor_token, serve};
use enshu_store::{ClockAction, Event, EventKind, NewSession, NewTeam, SessionId, Store};
use tokio::sync::{broadcast, oneshot};

pub const INSTRUCTOR_TOKEN: &str = "instructor-token-0123456789abcdef";

pub fn team_token(team: u32) -> String {
    format!("team-{team}-token-0123456789abcdef")
}

pub struct TestServer {
    pub base_url: String,
    /// The SQLite file the server uses, for a second store handle that
    /// stands in for another process (the injector, the CLI).
    pub database_url: String,
    pub store: Store,
    pub session: SessionId,
    pub state: AppState,
    pub client: reqwest::Client,
    directory: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn unique_directory() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "enshu-server-test-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

pub fn quickstart_plan(teams: u32) -> (enshu_scenario::Scenario, enshu_scenario::Plan, String) {
    scenario_plan(
        "quickstart.yaml",
        include_str!("../../../../scenarios/quickstart.yaml"),
        teams,
    )
}

/// A scenario planned for `teams` teams (session `test`).
pub fn scenario_plan(
    name: &str,
    text: &str,
    teams: u32,
) -> (enshu_scenario::Scenario, enshu_scenario::Plan, String) {
    let loaded = enshu_scenario::load(name, text.as_bytes()).expect("the scenario loads");
    let plan = enshu_scenario::plan(
        &loaded,
        &enshu_scenario::PlanOptions {
            session: "test".to_owned(),
            teams,
            pool: None,
            files: &enshu_scenario::NoFiles,
        },
    )
    .expect("the scenario plans");
    (loaded.scenario, plan, text.to_owned())
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(2, ServerOptions::default()).await
    }

    pub async fn start_with(teams: u32, options: ServerOptions) -> TestServer {
        TestServer::start_planned(quickstart_plan(teams), teams, options).await
    }

    /// A server for another scenario (`name` is its file name, `text` its YAML).
    pub async fn start_scenario(name: &str, text: &str, teams: u32) -> TestServer {
        TestServer::start_planned(
            scenario_plan(name, text, teams),
            teams,
            ServerOptions::default(),
        )
        .await
    }

    /// A quickstart server for `teams` teams whose state `configure`
    /// completes before it serves (the web terminal's runtime, say).
    pub async fn start_configured(
        teams: u32,
        options: ServerOptions,
        configure: impl FnOnce(AppState, &std::path::Path) -> AppState,
    ) -> TestServer {
        TestServer::start_planned_with(quickstart_plan(teams), teams, options, configure).await
    }

    async fn start_planned(
        planned: (enshu_scenario::Scenario, enshu_scenario::Plan, String),
        teams: u32,
        options: ServerOptions,
    ) -> TestServer {
        TestServer::start_planned_with(planned, teams, options, |state, _| state).await
    }

    async fn start_planned_with(
        (scenario, plan, yaml): (enshu_scenario::Scenario, enshu_scenario::Plan, String),
        teams: u32,
        options: ServerOptions,
        configure: impl FnOnce(AppState, &std::path::Path) -> AppState,
    ) -> TestServer {
        let directory = unique_directory();
        std::fs::create_dir_all(&directory).unwrap();
        let url = format!("sqlite://{}?mode=rwc", directory.join("enshu.db").display());
        let store = Store::open(&url).await.expect("opening the store");
        let session = store
            .create_session(&NewSession {
                name: "test".to_owned(),
                scenario_id: scenario.id.clone(),
                scenario_yaml: yaml,
                teams: (1..=teams)
                    .map(|team| NewTeam {
                        name: format!("Team {team}"),
                        token: team_token(team),
                    })
                    .collect(),
            })
            .await
            .expect("creating the session")
            .id;
        TestServer::serve_stored(
            store, session, scenario, plan, options, directory, url, configure,
        )
        .await
    }

    /// Stops this server and starts another on the same store and session,
    /// as a restarted `enshu serve` would.
    pub async fn restart(mut self, teams: u32, options: ServerOptions) -> TestServer {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .unwrap();
        }
        let directory = std::mem::take(&mut self.directory);
        let (scenario, plan, _) = quickstart_plan(teams);
        TestServer::serve_stored(
            self.store.clone(),
            self.session,
            scenario,
            plan,
            options,
            directory,
            self.database_url.clone(),
            |state, _| state,
        )
        .await
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the server's parts, each from its caller"
    )]
    async fn serve_stored(
        store: Store,
        session: SessionId,
        scenario: enshu_scenario::Scenario,
        plan: enshu_scenario::Plan,
        options: ServerOptions,
        directory: PathBuf,
        url: String,
        configure: impl FnOnce(AppState, &std::path::Path) -> AppState,
    ) -> TestServer {
        let (live_events, _) = broadcast::channel(4096);
        let state = AppState::with_options(
            store.clone(),
            session,
            scenario,
            plan,
            hash_instructor_token(INSTRUCTOR_TOKEN),
            live_events,
            options,
        );
        let state = configure(state, &directory);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                serve(listener, state, TlsConfig::self_signed(), async move {
                    let _ = stopped.await;
                })
                .await
                .expect("serving");
            }
        });
        TestServer {
            base_url: format!("https://{address}"),
            database_url: url,
            store,
            session,
            state,
            client: client(),
            directory,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Start every team's exercise clock, as an instructor would.
    pub async fn start_clock(&self) -> Event {
        let start = EventKind::ClockChanged {
            action: ClockAction::Start,
            team: None,
            speed: None,
        };
        self.store
            .append(self.session, None, start, "instructor")
            .await
            .unwrap()
    }

    /// Record the quickstart's beacon as fired for every team.
    pub async fn fire_beacon(&self) {
        self.fire("beacon", "office/pc01").await;
    }

    /// Record inject `inject` (at `target`) as fired for every team.
    pub async fn fire(&self, inject: &str, target: &str) {
        let fired = EventKind::InjectFired {
            inject: inject.into(),
            target: target.into(),
            ground_truth: Box::default(),
        };
        self.store
            .append(self.session, None, fired, "injector")
            .await
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .expect("server stops within 10 s")
                .unwrap();
        }
    }

    /// Logs in through the form and returns (session cookie, csrf token).
    pub async fn login(&self, token: &str) -> (String, String) {
        let login_page = self.client.get(self.url("/login")).send().await.unwrap();
        let login_cookie =
            set_cookie_value(&login_page, "__Host-enshu-login").expect("login cookie");
        let html = login_page.text().await.unwrap();
        let login_csrf = hidden_value(&html, "login_csrf").expect("login_csrf field");
        let response = self
            .client
            .post(self.url("/login"))
            .header("cookie", format!("__Host-enshu-login={login_cookie}"))
            .form(&[("login_csrf", login_csrf.as_str()), ("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login with a valid token redirects");
        let session_cookie =
            set_cookie_value(&response, "__Host-enshu-session").expect("session cookie");
        let page_path = response.headers()["location"].to_str().unwrap().to_owned();
        let page = self
            .client
            .get(self.url(&page_path))
            .header("cookie", format!("__Host-enshu-session={session_cookie}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_value(&page, "csrf").expect("csrf field on the landing page");
        (session_cookie, csrf)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if !self.directory.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.directory);
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn set_cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            value
                .strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// ASCII words: runs of letters, digits, `_` and `-` with two letters or more.
pub fn ascii_words(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|character: char| {
        !(character.is_ascii_alphanumeric() || character == '_' || character == '-')
    })
    .filter(|word| word.chars().filter(char::is_ascii_alphabetic).count() >= 2)
    .map(str::to_owned)
    .collect()
}

/// What the scenario's author wrote that a Japanese page may show as
/// written: host, segment and inject names, and the ASCII words of its
/// Japanese texts (`C2`, `Web`, `LAN`, `IP`).
pub fn author_words() -> std::collections::BTreeSet<String> {
    let (scenario, plan, _) = quickstart_plan(2);
    let mut words = std::collections::BTreeSet::new();
    fn japanese_texts(value: &serde_json::Value, words: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if key == "ja"
                        && let serde_json::Value::String(text) = value
                    {
                        words.extend(ascii_words(text));
                    } else {
                        japanese_texts(value, words);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| japanese_texts(item, words))
            }
            _ => {}
        }
    }
    japanese_texts(&serde_json::to_value(&scenario).unwrap(), &mut words);
    for container in &plan.teams[0].containers {
        if container.reference.contains('/') {
            words.extend(ascii_words(&container.reference));
        }
    }
    for inject in &scenario.injects {
        words.extend(ascii_words(&inject.id));
    }
    // The protocols of the scenario's flows (`tcp/80`), as written.
    for flow in &scenario.flows {
        for port in flow.ports.as_slice() {
            words.extend(ascii_words(&port.to_string()));
        }
    }
    // The product's name, the language switch, the export formats, the
    // acronym in an option label, the configured time zone, team names.
    for word in [
        "Enshu", "English", "CSV", "JSON", "SOC", "Asia", "Tokyo", "Team",
    ] {
        words.insert(word.to_owned());
    }
    words
}

/// Everything written to a tracing subscriber, for the test to read.
#[derive(Clone, Default)]
pub struct CapturedLog(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    /// Captures this thread's log from `level` up (as JSON lines when
    /// `json`) while the guard lives; a test's one-thread runtime runs the
    /// server's tasks on it. Another test's thread may have met the
    /// server's callsites first, with no subscriber, and cached that
    /// nobody listens: the interest is asked again.
    pub fn start(
        level: tracing::Level,
        json: bool,
    ) -> (CapturedLog, tracing::subscriber::DefaultGuard) {
        let captured = CapturedLog::default();
        let writer = captured.clone();
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(move || writer.clone());
        let guard = if json {
            tracing::subscriber::set_default(builder.json().flatten_event(true).finish())
        } else {
            tracing::subscriber::set_default(builder.finish())
        };
        tracing::callsite::rebuild_interest_cache();
        (captured, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
