//! PostgreSQL backend: one pool; appends serialise per session on a row lock.
//!
//! An append locks its session's row (`SELECT ... FOR NO KEY UPDATE`), then
//! takes `MAX(seq) + 1`. Appenders to the same session therefore queue on
//! that lock, and because each statement in READ COMMITTED sees everything
//! committed before it started, the `MAX` read after the lock is granted
//! includes the previous appender's row: no duplicates, and since the seq is
//! only taken inside the inserting transaction, no gaps either. Appends to
//! different sessions do not wait for each other. The primary key and an
//! insert trigger back this up in the database itself.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Row};

use crate::error::{DatabaseContext, StoreError};
use crate::event::EventQuery;
use crate::model::{
    NewSession, RefusalTally, Session, SessionId, SessionState, Team, TeamEventCount,
};
use crate::rows::{
    EventInsert, EventRow, SessionRow, TeamRow, limit_parameter, team_filter_parameters,
};
use crate::token::hash_team_token;

const BACKEND: &str = "postgresql";
const POOL_CONNECTIONS: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    pub(crate) async fn open(url: &str) -> Result<PostgresBackend, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
            url: url.to_owned(),
            source,
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                backend: BACKEND,
                source,
            })?;
        // sqlx holds an advisory lock while migrating, so several processes
        // opening the same database at once is safe.
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: BACKEND,
                source,
            })?;
        Ok(PostgresBackend { pool })
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn create_session(
        &self,
        new_session: &NewSession,
        created_at_ms: i64,
    ) -> Result<Session, StoreError> {
        let mut transaction = self
            .pool
            .begin()
            .await
            .during("starting session creation")?;
        let inserted = sqlx::query(
            "INSERT INTO sessions (name, scenario_id, scenario_yaml, teams_count, created_at_ms, state) \
             VALUES ($1, $2, $3, $4, $5, 'created') RETURNING id",
        )
        .bind(&new_session.name)
        .bind(&new_session.scenario_id)
        .bind(&new_session.scenario_yaml)
        .bind(new_session.teams.len() as i32)
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
            sqlx::query("INSERT INTO teams (session_id, team_index, name, token_hash) VALUES ($1, $2, $3, $4)")
                .bind(session_id)
                .bind(position as i32 + 1)
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
            "SELECT id, name, scenario_id, scenario_yaml, teams_count, created_at_ms, state FROM sessions WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .during("reading session by name")?;
        row.map(|row| session_row(&row)?.into_session()).transpose()
    }

    pub(crate) async fn session_by_id(
        &self,
        session: SessionId,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scenario_id, scenario_yaml, teams_count, created_at_ms, state FROM sessions WHERE id = $1",
        )
        .bind(session.0)
        .fetch_optional(&self.pool)
        .await
        .during("reading session by id")?;
        row.map(|row| session_row(&row)?.into_session()).transpose()
    }

    pub(crate) async fn set_session_state(
        &self,
        session: SessionId,
        state: SessionState,
    ) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE sessions SET state = $1 WHERE id = $2")
            .bind(state.as_str())
            .bind(session.0)
            .execute(&self.pool)
            .await
            .during("updating session state")?;
        if result.rows_affected() == 0 {
            return Err(StoreError::UnknownSession { session });
        }
        Ok(())
    }

    pub(crate) async fn teams(&self, session: SessionId) -> Result<Vec<Team>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, team_index, name, token_hash FROM teams WHERE session_id = $1 ORDER BY team_index",
        )
        .bind(session.0)
        .fetch_all(&self.pool)
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
        let result = sqlx::query(
            "UPDATE teams SET token_hash = $1 WHERE session_id = $2 AND team_index = $3",
        )
        .bind(token_hash)
        .bind(session.0)
        .bind(i32::try_from(team_index).unwrap_or(i32::MAX))
        .execute(&self.pool)
        .await
        .during("replacing a team token")?;
        Ok(result.rows_affected() == 1)
    }

    pub(crate) async fn add_refusals(
        &self,
        session: SessionId,
        tallies: &[RefusalTally],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.during("adding refusal counts")?;
        for tally in tallies {
            sqlx::query(
                "INSERT INTO refusals (session_id, team_index, kind, reason, count) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (session_id, team_index, kind, reason) DO UPDATE SET count = refusals.count + excluded.count",
            )
            .bind(session.0)
            .bind(i32::try_from(tally.team.unwrap_or(0)).unwrap_or(i32::MAX))
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
            "SELECT team_index, kind, reason, count FROM refusals WHERE session_id = $1 ORDER BY team_index, kind, reason",
        )
        .bind(session.0)
        .fetch_all(&self.pool)
        .await
        .during("reading refusals")?;
        rows.iter()
            .map(|row| {
                let team: i32 = row.try_get("team_index").during("reading refusals")?;
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
            "SELECT team_index, kind, COUNT(*) AS count FROM events WHERE session_id = $1 AND team_index IS NOT NULL AND actor = 'team:' || team_index::text GROUP BY team_index, kind ORDER BY team_index, kind",
        )
        .bind(session.0)
        .fetch_all(&self.pool)
        .await
        .during("counting the teams' own events")?;
        rows.iter()
            .map(|row| {
                let team: i32 = row
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
            "SELECT session_id, team_index, name, token_hash FROM teams WHERE session_id = $1 AND token_hash = $2",
        )
        .bind(session.0)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .during("reading team by token")?;
        row.map(|row| Ok(team_row(&row)?.into_team())).transpose()
    }

    pub(crate) async fn append(&self, insert: EventInsert) -> Result<EventRow, StoreError> {
        let mut transaction = self.pool.begin().await.during("starting append")?;
        lock_session_and_check_team(&mut transaction, insert.session, insert.team_index).await?;
        let next_seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = $1",
        )
        .bind(insert.session.0)
        .fetch_one(&mut *transaction)
        .await
        .during("allocating event seq")?;
        sqlx::query(
            "INSERT INTO events (session_id, seq, team_index, at_ms, exercise_ms, kind, actor, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(insert.session.0)
        .bind(next_seq)
        .bind(insert.team_index.map(|team| team as i32))
        .bind(insert.at_ms)
        .bind(insert.exercise_ms)
        .bind(insert.kind)
        .bind(&insert.actor)
        .bind(&insert.payload)
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
             WHERE session_id = $1 AND seq > $2 \
               AND ($3 = 'all' \
                    OR ($3 = 'team' AND team_index = $4) \
                    OR ($3 = 'session' AND team_index IS NULL) \
                    OR ($3 = 'team_and_session' AND (team_index = $4 OR team_index IS NULL))) \
             ORDER BY seq LIMIT $5",
        )
        .bind(session.0)
        .bind(i64::try_from(query.after_seq).unwrap_or(i64::MAX))
        .bind(filter_mode)
        .bind(filter_team.map(|team| team as i32))
        .bind(limit_parameter(query.limit))
        .fetch_all(&self.pool)
        .await
        .during("reading events")?;
        rows.iter().map(event_row).collect()
    }

    pub(crate) async fn last_seq(&self, session: SessionId) -> Result<u64, StoreError> {
        let last: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events WHERE session_id = $1",
        )
        .bind(session.0)
        .fetch_one(&self.pool)
        .await
        .during("reading last event seq")?;
        Ok(u64::try_from(last).unwrap_or(0))
    }
}

async fn lock_session_and_check_team(
    connection: &mut PgConnection,
    session: SessionId,
    team_index: Option<i64>,
) -> Result<(), StoreError> {
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT id FROM sessions WHERE id = $1 FOR NO KEY UPDATE")
            .bind(session.0)
            .fetch_optional(&mut *connection)
            .await
            .during("locking session for append")?;
    if locked.is_none() {
        return Err(StoreError::UnknownSession { session });
    }
    if let Some(team_index) = team_index {
        let team_exists: Option<i32> = sqlx::query_scalar(
            "SELECT team_index FROM teams WHERE session_id = $1 AND team_index = $2",
        )
        .bind(session.0)
        .bind(team_index as i32)
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

fn session_row(row: &PgRow) -> Result<SessionRow, StoreError> {
    let read = || -> Result<SessionRow, sqlx::Error> {
        Ok(SessionRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            scenario_id: row.try_get("scenario_id")?,
            scenario_yaml: row.try_get("scenario_yaml")?,
            teams_count: i64::from(row.try_get::<i32, _>("teams_count")?),
            created_at_ms: row.try_get("created_at_ms")?,
            state: row.try_get("state")?,
        })
    };
    read().during("decoding session row")
}

fn team_row(row: &PgRow) -> Result<TeamRow, StoreError> {
    let read = || -> Result<TeamRow, sqlx::Error> {
        Ok(TeamRow {
            session_id: row.try_get("session_id")?,
            team_index: i64::from(row.try_get::<i32, _>("team_index")?),
            name: row.try_get("name")?,
            token_hash: row.try_get("token_hash")?,
        })
    };
    read().during("decoding team row")
}

fn event_row(row: &PgRow) -> Result<EventRow, StoreError> {
    let read = || -> Result<EventRow, sqlx::Error> {
        Ok(EventRow {
            session_id: row.try_get("session_id")?,
            seq: row.try_get("seq")?,
            team_index: row.try_get::<Option<i32>, _>("team_index")?.map(i64::from),
            at_ms: row.try_get("at_ms")?,
            exercise_ms: row.try_get("exercise_ms")?,
            kind: row.try_get("kind")?,
            actor: row.try_get("actor")?,
            payload: row.try_get("payload")?,
        })
    };
    read().during("decoding event row")
}

/// Whether `url` names a PostgreSQL server; used to pick the backend.
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
