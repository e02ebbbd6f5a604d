-- What the server refused (fair share), counted per team, kind and reason,
-- so the counts survive a restart. Not events: a flood must not fill the
-- log it is kept out of, so the server adds its counts here at most once
-- a minute. team_index 0: refused before a team was known.
-- Keep in step with migrations/sqlite/0002_refusals.sql.

CREATE TABLE refusals (
    session_id BIGINT  NOT NULL REFERENCES sessions (id),
    team_index INTEGER NOT NULL CHECK (team_index >= 0),
    kind       TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    count      BIGINT  NOT NULL CHECK (count >= 0),
    PRIMARY KEY (session_id, team_index, kind, reason)
);
