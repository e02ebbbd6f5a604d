//! Sessions and teams as the store keeps them.

use serde::{Deserialize, Serialize};

/// A session's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub i64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Created,
    Running,
    Paused,
    Finished,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Created => "created",
            SessionState::Running => "running",
            SessionState::Paused => "paused",
            SessionState::Finished => "finished",
        }
    }

    pub fn parse(text: &str) -> Option<SessionState> {
        match text {
            "created" => Some(SessionState::Created),
            "running" => Some(SessionState::Running),
            "paused" => Some(SessionState::Paused),
            "finished" => Some(SessionState::Finished),
            _ => None,
        }
    }
}

/// One run of a scenario, with its teams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub name: String,
    pub scenario_id: String,
    /// The scenario exactly as it was when the session was created, so a
    /// later edit of the file cannot change how this session is scored.
    pub scenario_yaml: String,
    pub teams_count: u32,
    pub created_at_ms: i64,
    pub state: SessionState,
}

/// A team as stored: the token is only kept as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub session: SessionId,
    /// 1-based, the `T` of the team's addresses.
    pub team_index: u32,
    pub name: String,
    pub token_hash: String,
}

/// A team to create. The plain token is hashed before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTeam {
    pub name: String,
    pub token: String,
}

/// A session to create. Teams get indices 1, 2, ... in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub name: String,
    pub scenario_id: String,
    pub scenario_yaml: String,
    pub teams: Vec<NewTeam>,
}

/// Requests of one kind the server refused to one team (`team` `None`:
/// refused before a team was known, such as a portal connection over its
/// cap), and why (`rate`, `quota`, `concurrent`). The store adds these up;
/// the kinds and reasons are the server's (`enshu-server`'s `fair_share`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalTally {
    pub team: Option<u32>,
    pub kind: String,
    pub reason: String,
    pub count: u64,
}

/// How many events of one kind a team wrote itself (actor `team:N`): what
/// the server's per-exercise quotas have used, read again at its start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamEventCount {
    pub team: u32,
    /// The event kind's name (`submission`, `firewall_changed`, …).
    pub kind: String,
    pub count: u64,
}
