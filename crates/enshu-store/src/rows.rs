//! Backend-neutral row shapes and their conversion into the public types.
//!
//! Both backends read rows into these plain structs, so turning columns
//! into `Session`, `Team` and `Event` (and rejecting corrupt rows) is
//! written once.

use serde_json::Value;

use crate::error::StoreError;
use crate::event::{Event, EventKind, TeamFilter};
use crate::model::{Session, SessionId, SessionState, Team};

pub(crate) struct SessionRow {
    pub id: i64,
    pub name: String,
    pub scenario_id: String,
    pub scenario_yaml: String,
    pub teams_count: i64,
    pub created_at_ms: i64,
    pub state: String,
}

impl SessionRow {
    pub fn into_session(self) -> Result<Session, StoreError> {
        let id = SessionId(self.id);
        let state = SessionState::parse(&self.state).ok_or_else(|| StoreError::CorruptSession {
            session: id,
            state: self.state.clone(),
        })?;
        Ok(Session {
            id,
            name: self.name,
            scenario_id: self.scenario_id,
            scenario_yaml: self.scenario_yaml,
            teams_count: u32::try_from(self.teams_count).unwrap_or(0),
            created_at_ms: self.created_at_ms,
            state,
        })
    }
}

pub(crate) struct TeamRow {
    pub session_id: i64,
    pub team_index: i64,
    pub name: String,
    pub token_hash: String,
}

impl TeamRow {
    pub fn into_team(self) -> Team {
        Team {
            session: SessionId(self.session_id),
            team_index: u32::try_from(self.team_index).unwrap_or(0),
            name: self.name,
            token_hash: self.token_hash,
        }
    }
}

pub(crate) struct EventRow {
    pub session_id: i64,
    pub seq: i64,
    pub team_index: Option<i64>,
    pub at_ms: i64,
    pub exercise_ms: Option<i64>,
    pub kind: String,
    pub actor: String,
    pub payload: Value,
}

impl EventRow {
    pub fn into_event(self) -> Result<Event, StoreError> {
        let session = SessionId(self.session_id);
        let kind =
            EventKind::from_kind_and_payload(&self.kind, self.payload).map_err(|source| {
                StoreError::CorruptEvent {
                    session,
                    seq: self.seq,
                    source,
                }
            })?;
        Ok(Event {
            session,
            seq: u64::try_from(self.seq).unwrap_or(0),
            team: self.team_index.and_then(|team| u32::try_from(team).ok()),
            at_ms: self.at_ms,
            exercise_ms: self
                .exercise_ms
                .and_then(|offset| u64::try_from(offset).ok()),
            actor: self.actor,
            kind,
        })
    }
}

/// An event ready to insert, already validated and encoded.
pub(crate) struct EventInsert {
    pub session: SessionId,
    pub team_index: Option<i64>,
    pub at_ms: i64,
    pub exercise_ms: Option<i64>,
    pub kind: &'static str,
    pub actor: String,
    pub payload: Value,
}

impl EventInsert {
    pub fn into_event_row(self, seq: i64) -> EventRow {
        EventRow {
            session_id: self.session.0,
            seq,
            team_index: self.team_index,
            at_ms: self.at_ms,
            exercise_ms: self.exercise_ms,
            kind: self.kind.to_owned(),
            actor: self.actor,
            payload: self.payload,
        }
    }
}

/// A team filter as the two bind parameters the event queries take:
/// a mode name and an optional team index.
pub(crate) fn team_filter_parameters(filter: TeamFilter) -> (&'static str, Option<i64>) {
    match filter {
        TeamFilter::All => ("all", None),
        TeamFilter::Team(team) => ("team", Some(i64::from(team))),
        TeamFilter::SessionWide => ("session", None),
        TeamFilter::TeamAndSessionWide(team) => ("team_and_session", Some(i64::from(team))),
    }
}

pub(crate) fn limit_parameter(limit: Option<u32>) -> i64 {
    limit.map_or(i64::MAX, i64::from)
}
