//! What every handler shares: the store and session, the scenario and its
//! plan, the instructor's token hash, the live-event channel, and the two
//! pieces of in-memory state the service keeps (login sessions and recent
//! login failures), which are deliberately not exercise data.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use enshu_scenario::model::Scenario;
use enshu_scenario::plan::{Plan, TeamPlan};
use enshu_scoring::ObjectiveRule;
use enshu_store::{SessionId, Store};
use tokio::sync::{Notify, broadcast, watch};

use crate::auth::{Principal, WebSession};
use crate::live::LiveEvent;

/// Tunables with defaults that suit a classroom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Largest request body accepted.
    pub body_limit_bytes: usize,
    /// Failed logins per client address within `login_failure_window`
    /// before further attempts get 429.
    pub login_failures_allowed: usize,
    pub login_failure_window: Duration,
    /// A running team that has done nothing for this long gets an alert.
    pub idle_alert_after: Duration,
    /// How long a login lasts.
    pub web_session_lifetime: Duration,
    /// How often the store is polled for events other processes appended
    /// (the injector, the checker, the CLI).
    pub store_poll_interval: Duration,
    /// Every team's allowance per kind of write (`fair_share`).
    pub fair_share: crate::fair_share::FairShareLimits,
    /// How long a portal client may take to finish the TLS handshake (10 s).
    pub handshake_timeout: Duration,
    /// How long a portal connection may take to send a request's headers,
    /// and may sit idle between requests (30 s); then it is closed.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive whole after its
    /// headers (30 s; bodies are at most `body_limit_bytes`): then 408 and
    /// the connection is closed.
    pub body_read_timeout: Duration,
    /// How often what was refused is added to the store's counts (60 s).
    pub refusals_saved_every: Duration,
    /// The zone pages show wall-clock times in (Asia/Tokyo).
    pub time_zone: crate::time_format::TimeZone,
    /// Earlier sessions of the scenario, read from their after-action
    /// exports (`enshu serve --cohort`), that the review compares with.
    pub cohorts: Vec<crate::after_action::Cohort>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            body_limit_bytes: 64 * 1024,
            login_failures_allowed: 5,
            login_failure_window: Duration::from_secs(60),
            idle_alert_after: Duration::from_secs(15 * 60),
            web_session_lifetime: Duration::from_secs(12 * 3600),
            store_poll_interval: Duration::from_millis(500),
            fair_share: crate::fair_share::FairShareLimits::default(),
            handshake_timeout: crate::tls::HANDSHAKE_TIMEOUT,
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            refusals_saved_every: Duration::from_secs(60),
            time_zone: crate::time_format::TimeZone::default(),
            cohorts: Vec::new(),
        }
    }
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<AppStateInner>,
}

pub(crate) struct AppStateInner {
    pub store: Store,
    pub session: SessionId,
    pub scenario: Scenario,
    pub plan: Plan,
    pub rules: Vec<ObjectiveRule>,
    pub instructor_token_hash: String,
    pub live_events: broadcast::Sender<LiveEvent>,
    pub options: ServerOptions,
    /// Signing secret for CSRF tokens, fresh per process.
    pub secret: [u8; 32],
    pub web_sessions: Mutex<HashMap<String, WebSession>>,
    pub login_failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    /// Each team's allowances and refusals (in memory, never the log).
    pub fair_share: Arc<crate::fair_share::FairShare>,
    /// Poked after this server appends, so the store tail publishes at once.
    pub appended: Notify,
    /// The instructor scoreboard, scored once per log change or second.
    pub scoreboard_cache: crate::scoreboard_cache::ScoreboardCache,
    pub shutting_down: watch::Sender<bool>,
    /// The web terminal, when the caller gave it a runtime
    /// ([`AppState::with_terminals`]).
    pub terminals: std::sync::OnceLock<Arc<crate::terminal::Hub>>,
}

/// The hex SHA-256 kept for the instructor token (same scheme as team tokens).
pub fn hash_instructor_token(token: &str) -> String {
    enshu_store::hash_team_token(token)
}

impl AppState {
    /// `instructor_token_hash` is [`hash_instructor_token`] of the token
    /// instructors log in with; the plain token is never kept.
    /// `live_events` is the channel the live views listen on; the server
    /// publishes every event of `session` on it, whoever appended it.
    pub fn new(
        store: Store,
        session: SessionId,
        scenario: Scenario,
        plan: Plan,
        instructor_token_hash: String,
        live_events: broadcast::Sender<LiveEvent>,
    ) -> AppState {
        AppState::with_options(
            store,
            session,
            scenario,
            plan,
            instructor_token_hash,
            live_events,
            ServerOptions::default(),
        )
    }

    pub fn with_options(
        store: Store,
        session: SessionId,
        scenario: Scenario,
        plan: Plan,
        instructor_token_hash: String,
        live_events: broadcast::Sender<LiveEvent>,
        options: ServerOptions,
    ) -> AppState {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system provides random bytes");
        let rules = crate::exercise::scoring_rules(&scenario);
        let (shutting_down, _) = watch::channel(false);
        let fair_share = Arc::new(crate::fair_share::FairShare::new(
            options.fair_share.clone(),
        ));
        AppState {
            inner: Arc::new(AppStateInner {
                store,
                session,
                scenario,
                plan,
                rules,
                instructor_token_hash: instructor_token_hash.to_ascii_lowercase(),
                live_events,
                options,
                secret,
                web_sessions: Mutex::new(HashMap::new()),
                login_failures: Mutex::new(HashMap::new()),
                fair_share,
                appended: Notify::new(),
                scoreboard_cache: Default::default(),
                shutting_down,
                terminals: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Turns on the portal's web terminal: shells on each team's way-in
    /// host through `service.backend`, recorded under `service.recordings`
    /// (see the `terminal` module). Without it the terminal's routes
    /// answer 404. Set once; a second call is ignored.
    pub fn with_terminals(self, service: crate::terminal::TerminalService) -> AppState {
        let _ = self
            .inner
            .terminals
            .set(Arc::new(crate::terminal::Hub::new(service)));
        self
    }

    pub(crate) fn terminals(&self) -> Option<&Arc<crate::terminal::Hub>> {
        self.inner.terminals.get()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn session(&self) -> SessionId {
        self.inner.session
    }

    pub fn scenario(&self) -> &Scenario {
        &self.inner.scenario
    }

    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// Every team's allowances: the way in (`enshu serve`) admits its
    /// connections here too, so the instructor sees all refusals in one place.
    pub fn fair_share(&self) -> &Arc<crate::fair_share::FairShare> {
        &self.inner.fair_share
    }

    /// Admits a write of `caller`'s team, or the refusal in its language.
    pub(crate) fn admit(
        &self,
        caller: &crate::auth::Caller,
        team: u32,
        kind: crate::fair_share::WriteKind,
    ) -> Result<(), crate::error::RequestError> {
        self.inner.fair_share.admit(team, kind).map_err(|refusal| {
            crate::error::RequestError::Refused {
                kind,
                refusal,
                lang: caller.lang,
                api: caller.api,
            }
        })
    }

    /// A receiver for every event appended to the session from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live_events.subscribe()
    }

    /// The all-teams scoreboard as of now (see `scoreboard_cache`).
    pub(crate) async fn scoreboard(
        &self,
    ) -> Result<std::sync::Arc<crate::scoreboard_cache::ScoredBoard>, crate::error::RequestError>
    {
        self.inner.scoreboard_cache.board(self).await
    }

    pub(crate) fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    pub(crate) fn team_plan(&self, team_index: u32) -> Option<&TeamPlan> {
        self.inner
            .plan
            .teams
            .iter()
            .find(|team| team.index == team_index)
    }

    pub(crate) fn begin_shutdown(&self) {
        self.inner.shutting_down.send_replace(true);
    }

    pub(crate) fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.inner.shutting_down.subscribe()
    }

    /// Appends an event and wakes the store tail so live views see it now.
    pub(crate) async fn append(
        &self,
        team: Option<u32>,
        kind: enshu_store::EventKind,
        actor: &str,
    ) -> Result<enshu_store::Event, enshu_store::StoreError> {
        let event = self
            .inner
            .store
            .append(self.inner.session, team, kind, actor)
            .await?;
        self.inner.appended.notify_one();
        Ok(event)
    }

    // --- login sessions -------------------------------------------------

    pub(crate) fn create_web_session(&self, principal: Principal) -> String {
        let session_id = random_hex();
        let expires_at = Instant::now() + self.inner.options.web_session_lifetime;
        let mut sessions = self.inner.web_sessions.lock().expect("web sessions lock");
        sessions.retain(|_, session| session.expires_at > Instant::now());
        // At most `web_sessions` per principal: a login beyond ends the
        // oldest, so logging in in a loop cannot grow this map.
        let kept = self.inner.options.fair_share.web_sessions.max(1);
        let mut own: Vec<(Instant, String)> = sessions
            .iter()
            .filter(|(_, session)| session.principal == principal)
            .map(|(id, session)| (session.expires_at, id.clone()))
            .collect();
        if own.len() >= kept {
            own.sort();
            for (_, id) in own.iter().take(own.len() + 1 - kept) {
                sessions.remove(id);
            }
        }
        sessions.insert(
            session_id.clone(),
            WebSession {
                principal,
                expires_at,
            },
        );
        session_id
    }

    pub(crate) fn web_session(&self, session_id: &str) -> Option<Principal> {
        let sessions = self.inner.web_sessions.lock().expect("web sessions lock");
        sessions
            .get(session_id)
            .filter(|session| session.expires_at > Instant::now())
            .map(|session| session.principal.clone())
    }

    pub(crate) fn end_web_session(&self, session_id: &str) {
        self.inner
            .web_sessions
            .lock()
            .expect("web sessions lock")
            .remove(session_id);
    }

    /// Ends every login session of team `team` (its token was revoked).
    pub(crate) fn end_team_web_sessions(&self, team: u32) {
        self.inner
            .web_sessions
            .lock()
            .expect("web sessions lock")
            .retain(|_, session| {
                !matches!(session.principal, crate::auth::Principal::Team { index, .. } if index == team)
            });
    }

    // --- login rate limiting ---------------------------------------------

    pub(crate) fn login_blocked(&self, address: IpAddr) -> bool {
        let window = self.inner.options.login_failure_window;
        let mut failures = self
            .inner
            .login_failures
            .lock()
            .expect("login failures lock");
        let Some(recent) = failures.get_mut(&address) else {
            return false;
        };
        while recent.front().is_some_and(|at| at.elapsed() > window) {
            recent.pop_front();
        }
        recent.len() >= self.inner.options.login_failures_allowed
    }

    pub(crate) fn record_login_failure(&self, address: IpAddr) {
        let mut failures = self
            .inner
            .login_failures
            .lock()
            .expect("login failures lock");
        if failures.len() > 10_000 {
            let window = self.inner.options.login_failure_window;
            failures.retain(|_, recent| recent.back().is_some_and(|at| at.elapsed() <= window));
        }
        failures
            .entry(address)
            .or_default()
            .push_back(Instant::now());
    }
}

pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    hex::encode(bytes)
}
