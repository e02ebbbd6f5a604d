//! The store's one error type.

use crate::event::InvalidEvent;
use crate::model::SessionId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database url {url:?} is not supported: use sqlite://PATH?mode=rwc or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl { url: String },
    #[error("invalid database url {url:?}")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("opening {backend} database")]
    Open {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating {backend} database")]
    Migrate {
        backend: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("invalid event")]
    InvalidEvent(#[from] InvalidEvent),
    #[error("invalid session: {reason}")]
    InvalidSession { reason: String },
    #[error("a session named {name:?} already exists")]
    SessionNameTaken { name: String },
    #[error("no session with id {session}")]
    UnknownSession { session: SessionId },
    #[error("session {session} has no team {team}")]
    UnknownTeam { session: SessionId, team: u32 },
    #[error("event {seq} of session {session} cannot be read")]
    CorruptEvent {
        session: SessionId,
        seq: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("session {session} has unknown state {state:?}")]
    CorruptSession { session: SessionId, state: String },
    #[error("{operation}")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

/// Adds the operation name to a sqlx error.
pub(crate) trait DatabaseContext<T> {
    fn during(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> DatabaseContext<T> for Result<T, sqlx::Error> {
    fn during(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { operation, source })
    }
}
