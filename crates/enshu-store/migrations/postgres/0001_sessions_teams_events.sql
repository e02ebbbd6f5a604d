-- Sessions, their teams, and the append-only event log (PostgreSQL).
-- Keep in step with migrations/sqlite/0001_sessions_teams_events.sql.

CREATE TABLE sessions (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT      NOT NULL UNIQUE,
    scenario_id   TEXT      NOT NULL,
    scenario_yaml TEXT      NOT NULL,
    teams_count   INTEGER   NOT NULL CHECK (teams_count >= 1),
    created_at_ms BIGINT    NOT NULL,
    state         TEXT      NOT NULL CHECK (state IN ('created', 'running', 'paused', 'finished'))
);

CREATE TABLE teams (
    session_id BIGINT  NOT NULL REFERENCES sessions (id),
    team_index INTEGER NOT NULL CHECK (team_index >= 1),
    name       TEXT    NOT NULL,
    -- Hex SHA-256 of the team's access token; the token itself is never stored.
    token_hash TEXT    NOT NULL CHECK (length(token_hash) = 64),
    PRIMARY KEY (session_id, team_index),
    UNIQUE (session_id, name)
);

CREATE TABLE events (
    session_id  BIGINT  NOT NULL REFERENCES sessions (id),
    seq         BIGINT  NOT NULL CHECK (seq >= 1),
    team_index  INTEGER,
    at_ms       BIGINT  NOT NULL,
    exercise_ms BIGINT  CHECK (exercise_ms >= 0),
    kind        TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    payload     JSONB   NOT NULL,
    PRIMARY KEY (session_id, seq),
    FOREIGN KEY (session_id, team_index) REFERENCES teams (session_id, team_index)
);

CREATE INDEX events_by_team ON events (session_id, team_index, seq);

-- The log is evidence: rows are never changed or removed, not even by the
-- table's owner (a superuser could still drop the trigger; that is visible).
CREATE FUNCTION enshu_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', lower(TG_OP)
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION enshu_events_refuse_change();

CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION enshu_events_refuse_change();

-- Sequence numbers per session are 1, 2, 3, ... without gaps. Appenders
-- lock the session row first, so MAX here sees every committed append.
CREATE FUNCTION enshu_events_require_next_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq <> (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = NEW.session_id) THEN
        RAISE EXCEPTION 'events seq must be the session''s last seq + 1 (got %)', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER events_require_next_seq BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION enshu_events_require_next_seq();
