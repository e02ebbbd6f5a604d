-- Sessions, their teams, and the append-only event log (SQLite).
-- Keep in step with migrations/postgres/0001_sessions_teams_events.sql.

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    scenario_id   TEXT    NOT NULL,
    scenario_yaml TEXT    NOT NULL,
    teams_count   INTEGER NOT NULL CHECK (teams_count >= 1),
    created_at_ms INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('created', 'running', 'paused', 'finished'))
) STRICT;

CREATE TABLE teams (
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    team_index INTEGER NOT NULL CHECK (team_index >= 1),
    name       TEXT    NOT NULL,
    -- Hex SHA-256 of the team's access token; the token itself is never stored.
    token_hash TEXT    NOT NULL CHECK (length(token_hash) = 64),
    PRIMARY KEY (session_id, team_index),
    UNIQUE (session_id, name)
) STRICT;

CREATE TABLE events (
    session_id  INTEGER NOT NULL REFERENCES sessions (id),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    team_index  INTEGER,
    at_ms       INTEGER NOT NULL,
    exercise_ms INTEGER CHECK (exercise_ms >= 0),
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    payload     TEXT    NOT NULL CHECK (json_valid(payload)),
    PRIMARY KEY (session_id, seq),
    FOREIGN KEY (session_id, team_index) REFERENCES teams (session_id, team_index)
) STRICT;

CREATE INDEX events_by_team ON events (session_id, team_index, seq);

-- The log is evidence: rows are never changed or removed.
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: update refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: delete refused');
END;

-- Sequence numbers per session are 1, 2, 3, ... without gaps.
CREATE TRIGGER events_require_next_seq BEFORE INSERT ON events
WHEN NEW.seq <> (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'events seq must be the session''s last seq + 1');
END;
