//! Enshu's store: sessions, teams and each session's append-only event log.
//!
//! This is the only crate that names sqlx. Everything above it sees
//! [`Store`], plain data types and [`StoreError`].
//!
//! # Two backends, one enum
//!
//! The database URL picks the backend: `sqlite://PATH?mode=rwc` (the
//! default, one file next to the range) or `postgres://...` (a shared
//! server for many instructors' consoles). [`Store`] is an enum over a
//! SQLite backend and a PostgreSQL backend rather than sqlx's `Any` driver,
//! because the two need different concurrency designs, not just different
//! SQL dialects:
//!
//! - SQLite has a single writer. The store keeps exactly one write
//!   connection, queues writes on it and starts them with `BEGIN IMMEDIATE`,
//!   plus a separate read-only pool (see `sqlite.rs`). `Any` hides which
//!   connection is which and has no `BEGIN IMMEDIATE`.
//! - PostgreSQL takes concurrent writers; an append locks its session's row
//!   so sequence numbers stay gapless (see `postgres.rs`).
//!
//! `Any` also maps JSON to text and loses JSONB. Each backend has its own
//! migrations directory (`migrations/sqlite`, `migrations/postgres`),
//! embedded with `sqlx::migrate!` and applied by [`Store::open`].
//!
//! # Invariants
//!
//! - **Append-only:** the API has no way to change or remove an event, and
//!   both databases refuse `UPDATE` and `DELETE` on `events` with a trigger.
//! - **Gapless order:** per session, `seq` is 1, 2, 3, ... in commit order,
//!   also under concurrent appenders.
//! - **No plain tokens:** a team's token is stored only as its SHA-256.
//! - **Refusals are counts, not events:** the `refusals` table holds what
//!   the server refused per (team, kind, reason), added to at most once a
//!   minute, so a flood never grows the log.
//!
//! # Layout
//!
//! - [`event`]: the event vocabulary and its validation (pure).
//! - [`ground_truth`]: the typed values events carry that other crates
//!   read: an inject's ground truth, the kind of a check result.
//! - [`model`]: sessions and teams.
//! - [`token`]: team token generation and hashing.
//! - [`scoring_input`]: turns stored events into `enshu-scoring`'s input,
//!   so the scoring engine stays free of the database.
//! - `sqlite.rs`, `postgres.rs`: the two backends; `rows.rs`: shared
//!   row-to-type conversion.

#![forbid(unsafe_code)]

pub mod event;
pub mod ground_truth;
pub mod model;
pub mod scoring_input;
pub mod token;

mod error;
mod postgres;
mod rows;
mod sqlite;

use std::time::{SystemTime, UNIX_EPOCH};

pub use enshu_clock::MAX_SPEED as MAX_CLOCK_SPEED;
pub use error::StoreError;
pub use event::{ClockAction, Event, EventKind, EventQuery, InvalidEvent, NewEvent, TeamFilter};
pub use ground_truth::{CheckResultKind, GroundTruth};
pub use model::{
    NewSession, NewTeam, RefusalTally, Session, SessionId, SessionState, Team, TeamEventCount,
};
pub use token::{generate_team_token, hash_team_token};

use postgres::PostgresBackend;
use rows::{EventInsert, EventRow};
use sqlite::SqliteBackend;

/// The default database: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://enshu.db?mode=rwc";

/// A handle on the database; cheap to clone (it shares the pools).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqliteBackend),
    Postgres(PostgresBackend),
}

/// Calls the same method on whichever backend is open.
macro_rules! on_backend {
    ($store:expr, $backend:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sqlite($backend) => $call,
            Backend::Postgres($backend) => $call,
        }
    };
}

impl Store {
    /// Opens (creating if needed, for SQLite with `mode=rwc`) the database
    /// at `database_url` and applies pending migrations.
    pub async fn open(database_url: &str) -> Result<Store, StoreError> {
        let backend = if database_url.starts_with("sqlite:") {
            Backend::Sqlite(SqliteBackend::open(database_url).await?)
        } else if postgres::is_postgres_url(database_url) {
            Backend::Postgres(PostgresBackend::open(database_url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl {
                url: database_url.to_owned(),
            });
        };
        let store = Store { backend };
        tracing::debug!(backend = store.backend_name(), "store opened");
        Ok(store)
    }

    /// `"sqlite"` or `"postgresql"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }

    /// Closes the pools, waiting for connections in use to come back.
    pub async fn close(&self) {
        on_backend!(self, backend => backend.close().await)
    }

    /// Creates a session and its teams (indices 1, 2, ... in order), storing
    /// only the hashes of the team tokens.
    pub async fn create_session(&self, new_session: &NewSession) -> Result<Session, StoreError> {
        validate_new_session(new_session)?;
        let created_at_ms = now_ms();
        on_backend!(self, backend => backend.create_session(new_session, created_at_ms).await)
    }

    pub async fn session_by_name(&self, name: &str) -> Result<Option<Session>, StoreError> {
        on_backend!(self, backend => backend.session_by_name(name).await)
    }

    pub async fn session_by_id(&self, session: SessionId) -> Result<Option<Session>, StoreError> {
        on_backend!(self, backend => backend.session_by_id(session).await)
    }

    /// Sessions are not events: their lifecycle state may change.
    pub async fn set_session_state(
        &self,
        session: SessionId,
        state: SessionState,
    ) -> Result<(), StoreError> {
        on_backend!(self, backend => backend.set_session_state(session, state).await)
    }

    /// The session's teams in index order.
    pub async fn teams(&self, session: SessionId) -> Result<Vec<Team>, StoreError> {
        on_backend!(self, backend => backend.teams(session).await)
    }

    /// The team of `session` whose token is `presented_token`, if any.
    pub async fn verify_team_token(
        &self,
        session: SessionId,
        presented_token: &str,
    ) -> Result<Option<Team>, StoreError> {
        let token_hash = hash_team_token(presented_token);
        on_backend!(self, backend => backend.team_by_token_hash(session, &token_hash).await)
    }

    /// Replaces team `team_index`'s token with `token` (stored only as its
    /// hash): the old token stops working at once. `false` when the
    /// session has no such team.
    pub async fn set_team_token(
        &self,
        session: SessionId,
        team_index: u32,
        token: &str,
    ) -> Result<bool, StoreError> {
        let token_hash = hash_team_token(token);
        on_backend!(self, backend => backend.set_team_token_hash(session, team_index, &token_hash).await)
    }

    /// Adds `tallies` to the session's refusal counts, in one transaction.
    /// The server calls this at most once a minute with what it refused
    /// since, so the counts survive its restart without an event each.
    pub async fn add_refusals(
        &self,
        session: SessionId,
        tallies: &[RefusalTally],
    ) -> Result<(), StoreError> {
        if tallies.is_empty() {
            return Ok(());
        }
        on_backend!(self, backend => backend.add_refusals(session, tallies).await)
    }

    /// The session's refusal counts, by team (none first), kind and reason.
    pub async fn refusals(&self, session: SessionId) -> Result<Vec<RefusalTally>, StoreError> {
        on_backend!(self, backend => backend.refusals(session).await)
    }

    /// The events each team wrote itself (actor `team:N`), counted by team
    /// and kind; teams and kinds without one are left out.
    pub async fn team_event_counts(
        &self,
        session: SessionId,
    ) -> Result<Vec<TeamEventCount>, StoreError> {
        on_backend!(self, backend => backend.team_event_counts(session).await)
    }

    /// Appends an event stamped with the store's clock; see [`Store::append_event`].
    pub async fn append(
        &self,
        session: SessionId,
        team: Option<u32>,
        kind: EventKind,
        actor: &str,
    ) -> Result<Event, StoreError> {
        self.append_event(NewEvent {
            session,
            team,
            kind,
            actor: actor.to_owned(),
            at_ms: None,
            exercise_ms: None,
        })
        .await
    }

    /// Appends an event in one transaction that allocates the session's next
    /// seq, and returns it as stored. Invalid events (an adjustment without
    /// reason, say), unknown sessions and unknown teams are refused and
    /// leave the log unchanged.
    pub async fn append_event(&self, new_event: NewEvent) -> Result<Event, StoreError> {
        new_event.kind.validate()?;
        if new_event.actor.trim().is_empty() {
            return Err(InvalidEvent::EmptyActor.into());
        }
        let (kind, payload) = new_event.kind.to_kind_and_payload();
        let insert = EventInsert {
            session: new_event.session,
            team_index: new_event.team.map(i64::from),
            at_ms: new_event.at_ms.unwrap_or_else(now_ms),
            exercise_ms: new_event
                .exercise_ms
                .map(|offset| i64::try_from(offset).unwrap_or(i64::MAX)),
            kind,
            actor: new_event.actor,
            payload,
        };
        let row = on_backend!(self, backend => backend.append(insert).await)?;
        row.into_event()
    }

    /// Events of `session` matching `query`, in seq order.
    pub async fn events(
        &self,
        session: SessionId,
        query: EventQuery,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = on_backend!(self, backend => backend.events(session, query).await)?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    /// Every event after `after_seq`: what a live view polls for after the
    /// last event it has shown.
    pub async fn events_after(
        &self,
        session: SessionId,
        after_seq: u64,
    ) -> Result<Vec<Event>, StoreError> {
        self.events(
            session,
            EventQuery {
                after_seq,
                ..EventQuery::default()
            },
        )
        .await
    }

    /// The seq of the session's last event, 0 when it has none.
    pub async fn last_seq(&self, session: SessionId) -> Result<u64, StoreError> {
        on_backend!(self, backend => backend.last_seq(session).await)
    }
}

fn validate_new_session(new_session: &NewSession) -> Result<(), StoreError> {
    let invalid = |reason: String| Err(StoreError::InvalidSession { reason });
    if new_session.name.trim().is_empty() {
        return invalid("the session name must not be empty".to_owned());
    }
    if new_session.teams.is_empty() {
        return invalid(format!(
            "session {:?} needs at least one team",
            new_session.name
        ));
    }
    for (position, team) in new_session.teams.iter().enumerate() {
        if team.name.trim().is_empty() {
            return invalid(format!("team {} has an empty name", position + 1));
        }
        if team.token.len() < 16 {
            return invalid(format!(
                "the token of team {:?} is shorter than 16 characters",
                team.name
            ));
        }
    }
    Ok(())
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
