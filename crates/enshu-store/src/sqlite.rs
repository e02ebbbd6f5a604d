//! SQLite backend: one writer connection, a pool of readers.
//!
//! SQLite allows one writer at a time. Letting several pooled connections
//! race for the write lock turns load into `SQLITE_BUSY` errors and retry
//! loops; instead every write goes through a pool of exactly one connection,
//! so writes queue in the pool (in order) and never contend. Each write
//! transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front:
//! if another *process* holds it, we wait `busy_timeout` there, instead of
//! failing half-way through a deferred transaction that tries to upgrade.
//! Readers use a separate read-only pool; with WAL they never block the
//! writer nor are blocked by it.
//!
//! `synchronous = FULL`: in WAL mode NORMAL can lose the last commits on a
//! power cut (never corrupts). The log records team submissions and
//! instructor decisions that were acknowledged on screen; losing one would
//! make the scoreboard disagree with what people saw. Appends are human-
//! paced, so an fsync per commit costs nothing that matters.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use crate::error::{DatabaseContext, StoreError};
use crate::event::EventQuery;
use crate::model::{
    NewSession, RefusalTally, Session, SessionId, SessionState, Team, TeamEventCount,
};
use crate::rows::{
    EventInsert, EventRow, SessionRow, TeamRow, limit_parameter, team_filter_parameters,
};
use crate::token::hash_team_token;

const BACKEND: &str = "sqlite";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Waiting for the writer is queueing, not failure: allow a long queue.
const WRITER_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(120);
const READER_CONNECTIONS: u32 = 4;

#[derive(Debug, Clone)]
pub(crate) struct SqliteBackend {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteBackend {
    pub(crate) async fn open(url: &str) -> Result<SqliteBackend, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            // The reader pool would open a different, empty database.
            return Err(StoreError::UnsupportedUrl {
                url: url.to_owned(),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(WRITER_ACQUIRE_TIMEOUT)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().create_if_missing(true))
            .await
            .map_err(|source| StoreError::Open {
                backend: BACKEND,
                source,
            })?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: BACKEND,
                source,
            })?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .connect_with(options.read_only(true))
            .await
            .map_err(|source| StoreError::Open {
                backend: BACKEND,
                source,
            })?;
        Ok(SqliteBackend { writer, readers })
    }

    pub(crate) async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    pub(crate) async fn create_session(
        &self,
        new_session: &NewSession,
        created_at_ms: i64,
    ) -> Result<Session, StoreError> {
        let mut transaction = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .during("starting session creation")?;
        let inserted = sqlx::query(
            "INSERT INTO sessions (name, scenario_id, scenario_yaml, teams_count, created_at_ms, state) \
             VALUES (?, ?, ?, ?, ?, 'created') RETURNING id",
        )
        .bind(&new_session.name)
        .bind(&new_session.scenario_id)
        .bind(&new_session.scenario_yaml)
        .bind(new_session.teams.len() as i64)
        .bind(created_at_ms)
        .fetch_one(&mut *transaction)
        .await;
        let session_id: i64 = match inserted {
            Ok(row) => row.try_get("id").during("reading new session id")?,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(StoreError::SessionNameTaken {
                    name: new_session.name.clone(),
                });
            }
            Err(source) => {
                return Err(StoreError::Database {
                    operation: "inserting session",
                    source,
                });
            }
        };
        for (position, team) in new_session.teams.iter().enumerate() {
            sqlx::query(
                "INSERT INTO teams (session_id, team_index, name, token_hash) VALUES (?, ?, ?, ?)",
            )
            .bind(session_id)
            .bind(position as i64 + 1)
            .bind(&team.name)
            .bind(hash_team_token(&team.token))
            .execute(&mut *transaction)
            .await
            .during("inserting team")?;
        }
        transaction
            .commit()
            .await
            .during("committing session creation")?;
        self.session_by_id(SessionId(session_id))
            .await?
            .ok_or(StoreError::UnknownSession {
                session: SessionId(session_id),
            })
    }

    pub(crate) async fn session_by_name(&self, name: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scenario_id, scenario_yaml, teams_count, created_at_ms, state FROM sessions WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.readers)
        .await
        .during("reading session by name")?;
        row.map(|row| session_row(&row)?.into_session()).transpose()
    }

    pub(crate) async fn session_by_id(
        &self,
        session: SessionId,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scenario_id, scenario_yaml, teams_count, created_at_ms, state FROM sessions WHERE id = ?",
        )
        .bind(session.0)
        .fetch_optional(&self.readers)
        .await
        .during("reading session by id")?;
        row.map(|row| session_row(&row)?.into_session()).transpose()
    }

    pub(crate) async fn set_session_state(
        &self,
        session: SessionId,
        state: SessionState,
    ) -> Result<(), StoreError> {
        let mut transaction = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .during("starting state change")?;
        let result = sqlx::query("UPDATE sessions SET state = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(session.0)
            .execute(&mut *transaction)
            .await
            .during("updating session state")?;
        if result.rows_affected() == 0 {
            return Err(StoreError::UnknownSession { session });
        }
        transaction.commit().await.during("committing state change")
    }

    pub(crate) async fn teams(&self, session: SessionId) -> Result<Vec<Team>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, team_index, name, token_hash FROM teams WHERE session_id = ? ORDER BY team_index",
        )
        .bind(session.0)
        .fetch_all(&self.readers)
        .await
        .during("reading teams")?;
        rows.iter()
            .map(|row| Ok(team_row(row)?.into_team()))
            .collect()
    }

    pub(crate) async fn set_team_token_hash(
        &self,
        session: SessionId,
        team_index: u32,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE teams SET token_hash = ? WHERE session_id = ? AND team_index = ?")
                .bind(token_hash)
                .bind(session.0)
                .bind(i64::from(team_index))
                .execute(&self.writer)
                .await
                .during("replacing a team token")?;
        Ok(result.rows_affected() == 1)
    }

    pub(crate) async fn add_refusals(
        &self,
        session: SessionId,
        tallies: &[RefusalTally],
    ) -> Result<(), StoreError> {
        let mut transaction = self.writer.begin().await.during("adding refusal counts")?;
        for tally in tallies {
            sqlx::query(
                "INSERT INTO refusals (session_id, team_index, kind, reason, count) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (session_id, team_index, kind, reason) DO UPDATE SET count = count + excluded.count",
            )
            .bind(session.0)
            .bind(i64::from(tally.team.unwrap_or(0)))
            .bind(&tally.kind)
            .bind(&tally.reason)
            .bind(i64::try_from(tally.count).unwrap_or(i64::MAX))
            .execute(&mut *transaction)
            .await
            .during("adding refusal counts")?;
        }
        transaction.commit().await.during("adding refusal counts")?;
        Ok(())
    }

    pub(crate) async fn refusals(
        &self,
        session: SessionId,
    ) -> Result<Vec<RefusalTally>, StoreError> {
        let rows = sqlx::query(
            "SELECT team_index, kind, reason, count FROM refusals WHERE session_id = ? ORDER BY team_index, kind, reason",
        )
        .bind(session.0)
        .fetch_all(&self.readers)
        .await
        .during("reading refusals")?;
        rows.iter()
            .map(|row| {
                let team: i64 = row.try_get("team_index").during("reading refusals")?;
                let count: i64 = row.try_get("count").during("reading refusals")?;
                Ok(RefusalTally {
                    team: u32::try_from(team).ok().filter(|team| *team > 0),
                    kind: row.try_get("kind").during("reading refusals")?,
                    reason: row.try_get("reason").during("reading refusals")?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }

    pub(crate) async fn team_event_counts(
        &self,
        session: SessionId,
    ) -> Result<Vec<TeamEventCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT team_index, kind, COUNT(*) AS count FROM events WHERE session_id = ? AND team_index IS NOT NULL AND actor = 'team:' || team_index GROUP BY team_index, kind ORDER BY team_index, kind",
        )
        .bind(session.0)
        .fetch_all(&self.readers)
        .await
        .during("counting the teams' own events")?;
        rows.iter()
            .map(|row| {
                let team: i64 = row
                    .try_get("team_index")
                    .during("counting the teams' own events")?;
                let count: i64 = row
                    .try_get("count")
                    .during("counting the teams' own events")?;
                Ok(TeamEventCount {
                    team: u32::try_from(team).unwrap_or(0),
                    kind: row
                        .try_get("kind")
                        .during("counting the teams' own events")?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }

    pub(crate) async fn team_by_token_hash(
        &self,
        session: SessionId,
        token_hash: &str,
    ) -> Result<Option<Team>, StoreError> {
        let row = sqlx::query(
            "SELECT session_id, team_index, name, token_hash FROM teams WHERE session_id = ? AND token_hash = ?",
        )
        .bind(session.0)
        .bind(token_hash)
        .fetch_optional(&self.readers)
        .await
        .during("reading team by token")?;
        row.map(|row| Ok(team_row(&row)?.into_team())).transpose()
    }

    pub(crate) async fn append(&self, insert: EventInsert) -> Result<EventRow, StoreError> {
        let mut transaction = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .during("starting append")?;
        check_session_and_team(&mut transaction, insert.session, insert.team_index).await?;
        let next_seq: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = ?")
                .bind(insert.session.0)
                .fetch_one(&mut *transaction)
                .await
                .during("allocating event seq")?;
        sqlx::query(
            "INSERT INTO events (session_id, seq, team_index, at_ms, exercise_ms, kind, actor, payload) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(insert.session.0)
        .bind(next_seq)
        .bind(insert.team_index)
        .bind(insert.at_ms)
        .bind(insert.exercise_ms)
        .bind(insert.kind)
        .bind(&insert.actor)
        .bind(insert.payload.to_string())
        .execute(&mut *transaction)
        .await
        .during("inserting event")?;
        transaction.commit().await.during("committing append")?;
        Ok(insert.into_event_row(next_seq))
    }

    pub(crate) async fn events(
        &self,
        session: SessionId,
        query: EventQuery,
    ) -> Result<Vec<EventRow>, StoreError> {
        let (filter_mode, filter_team) = team_filter_parameters(query.team);
        let rows = sqlx::query(
            "SELECT session_id, seq, team_index, at_ms, exercise_ms, kind, actor, payload FROM events \
             WHERE session_id = ?1 AND seq > ?2 \
               AND (?3 = 'all' \
                    OR (?3 = 'team' AND team_index = ?4) \
                    OR (?3 = 'session' AND team_index IS NULL) \
                    OR (?3 = 'team_and_session' AND (team_index = ?4 OR team_index IS NULL))) \
             ORDER BY seq LIMIT ?5",
        )
        .bind(session.0)
        .bind(i64::try_from(query.after_seq).unwrap_or(i64::MAX))
        .bind(filter_mode)
        .bind(filter_team)
        .bind(limit_parameter(query.limit))
        .fetch_all(&self.readers)
        .await
        .during("reading events")?;
        rows.iter().map(event_row).collect()
    }

    pub(crate) async fn last_seq(&self, session: SessionId) -> Result<u64, StoreError> {
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE session_id = ?")
                .bind(session.0)
                .fetch_one(&self.readers)
                .await
                .during("reading last event seq")?;
        Ok(u64::try_from(last).unwrap_or(0))
    }
}

async fn check_session_and_team(
    connection: &mut SqliteConnection,
    session: SessionId,
    team_index: Option<i64>,
) -> Result<(), StoreError> {
    let session_exists: Option<i64> = sqlx::query_scalar("SELECT id FROM sessions WHERE id = ?")
        .bind(session.0)
        .fetch_optional(&mut *connection)
        .await
        .during("checking session")?;
    if session_exists.is_none() {
        return Err(StoreError::UnknownSession { session });
    }
    if let Some(team_index) = team_index {
        let team_exists: Option<i64> = sqlx::query_scalar(
            "SELECT team_index FROM teams WHERE session_id = ? AND team_index = ?",
        )
        .bind(session.0)
        .bind(team_index)
        .fetch_optional(&mut *connection)
        .await
        .during("checking team")?;
        if team_exists.is_none() {
            return Err(StoreError::UnknownTeam {
                session,
                team: u32::try_from(team_index).unwrap_or(0),
            });
        }
    }
    Ok(())
}

fn session_row(row: &sqlx::sqlite::SqliteRow) -> Result<SessionRow, StoreError> {
    let read = || -> Result<SessionRow, sqlx::Error> {
        Ok(SessionRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            scenario_id: row.try_get("scenario_id")?,
            scenario_yaml: row.try_get("scenario_yaml")?,
            teams_count: row.try_get("teams_count")?,
            created_at_ms: row.try_get("created_at_ms")?,
            state: row.try_get("state")?,
        })
    };
    read().during("decoding session row")
}

fn team_row(row: &sqlx::sqlite::SqliteRow) -> Result<TeamRow, StoreError> {
    let read = || -> Result<TeamRow, sqlx::Error> {
        Ok(TeamRow {
            session_id: row.try_get("session_id")?,
            team_index: row.try_get("team_index")?,
            name: row.try_get("name")?,
            token_hash: row.try_get("token_hash")?,
        })
    };
    read().during("decoding team row")
}

fn event_row(row: &sqlx::sqlite::SqliteRow) -> Result<EventRow, StoreError> {
    let read = || -> Result<(EventRow, String), sqlx::Error> {
        let payload_text: String = row.try_get("payload")?;
        Ok((
            EventRow {
                session_id: row.try_get("session_id")?,
                seq: row.try_get("seq")?,
                team_index: row.try_get("team_index")?,
                at_ms: row.try_get("at_ms")?,
                exercise_ms: row.try_get("exercise_ms")?,
                kind: row.try_get("kind")?,
                actor: row.try_get("actor")?,
                payload: serde_json::Value::Null,
            },
            payload_text,
        ))
    };
    let (mut event_row, payload_text) = read().during("decoding event row")?;
    event_row.payload =
        serde_json::from_str(&payload_text).map_err(|source| StoreError::CorruptEvent {
            session: SessionId(event_row.session_id),
            seq: event_row.seq,
            source,
        })?;
    Ok(event_row)
}
