//! The instructor scoreboard, scored once per change of the log (or of the
//! wall-clock second) instead of once per request.
//!
//! Why: every open instructor console reloads the scoreboard after every
//! event and the JSON API is polled by scripts; reading the whole log and
//! scoring it from scratch per request capped the service at a few hundred
//! requests per second with 50 teams (issue 5). A board depends on exactly
//! two inputs — the session's events and "now" — so it is kept and reused
//! while both are unchanged.
//!
//! # Freshness
//!
//! - **Events:** before answering, a request learns the session's last seq
//!   from the store (`SELECT max(seq)`, an index lookup) through a
//!   single-flight check: a request reuses the answer of a check that
//!   *started after the request arrived*, otherwise it runs one itself.
//!   So every event committed before a request arrived — by this server or
//!   by another process (the injector, the checker, the CLI) writing to the
//!   same database — is on the board it gets, and under load one query
//!   serves a whole batch of waiting requests. Only the new events are read
//!   (`seq > last loaded`); the log is append-only and gapless, so that
//!   misses nothing.
//! - **Time:** scoring depends on "now" (missed deadlines, idle alerts,
//!   `now_exercise_ms`). A board is scored at the time of the request that
//!   builds it and reused only within the same wall-clock second
//!   (`now_ms / 1000`), so clock-dependent fields are never more than 1 s
//!   of wall time behind (at an accelerated exercise speed, that second is
//!   worth `speed` exercise seconds).
//!
//! # Isolation
//!
//! Only the instructor's all-teams board is cached here; team views keep
//! reading the log through their own team filter, so nothing computed for
//! one audience can be served to another. Rendered bodies are kept per
//! board (JSON once, HTML once per language) and carry no per-caller data:
//! the CSRF token of the full page is added by the page handler.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use enshu_store::{Event, Team};

use crate::error::RequestError;
use crate::exercise::{Snapshot, score_snapshot};
use crate::i18n::Lang;
use crate::state::AppState;

/// Wall-clock width of the time bucket a board is reused in.
pub(crate) const BOARD_TIME_BUCKET_MS: i64 = 1000;

/// A scored board and the bodies rendered from it so far.
pub(crate) struct ScoredBoard {
    pub snapshot: Snapshot,
    /// The last seq the board includes.
    covers_seq: u64,
    time_bucket: i64,
    json_body: OnceLock<Bytes>,
    html_japanese: OnceLock<ScoreboardHtml>,
    html_english: OnceLock<ScoreboardHtml>,
}

/// The scoreboard table and the phase comparison chart, as the page and
/// the live fragment both show them.
pub(crate) struct ScoreboardHtml {
    pub table: String,
    pub chart: String,
}

impl ScoredBoard {
    /// The JSON body of `GET /api/instructor/scoreboard`, rendered once.
    pub fn json_body(&self, render: impl FnOnce(&Snapshot) -> Bytes) -> Bytes {
        self.json_body
            .get_or_init(|| render(&self.snapshot))
            .clone()
    }

    /// The table and chart in `lang`, rendered once per language.
    pub fn html(
        &self,
        lang: Lang,
        render: impl FnOnce(&Snapshot, Lang) -> ScoreboardHtml,
    ) -> &ScoreboardHtml {
        let slot = match lang {
            Lang::Ja => &self.html_japanese,
            Lang::En => &self.html_english,
        };
        slot.get_or_init(|| render(&self.snapshot, lang))
    }

    fn is_fresh_for(&self, head_seq: u64, time_bucket: i64) -> bool {
        self.covers_seq >= head_seq && self.time_bucket == time_bucket
    }
}

#[derive(Default)]
pub(crate) struct ScoreboardCache {
    head_check: tokio::sync::Mutex<HeadCheck>,
    loaded_log: tokio::sync::Mutex<LoadedLog>,
    latest_board: Mutex<Option<Arc<ScoredBoard>>>,
}

#[derive(Default)]
struct HeadCheck {
    started_at: Option<Instant>,
    last_seq: u64,
}

#[derive(Default)]
struct LoadedLog {
    loaded: bool,
    events: Vec<Event>,
    teams: Vec<Team>,
}

impl LoadedLog {
    fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |event| event.seq)
    }
}

impl ScoreboardCache {
    /// The all-teams board, including every event committed before this
    /// call and scored within the current wall-clock second.
    pub async fn board(&self, state: &AppState) -> Result<Arc<ScoredBoard>, RequestError> {
        let arrived = Instant::now();
        let head_seq = self.head_seq(state, arrived).await?;
        if let Some(board) = self.fresh_board(head_seq) {
            return Ok(board);
        }
        let mut log = self.loaded_log.lock().await;
        // Another request may have rebuilt it while this one waited.
        if let Some(board) = self.fresh_board(head_seq) {
            return Ok(board);
        }
        if !log.loaded || log.last_seq() < head_seq {
            let new_events = state
                .store()
                .events_after(state.session(), log.last_seq())
                .await?;
            if !log.loaded || !new_events.is_empty() {
                log.teams = state.store().teams(state.session()).await?;
            }
            log.events.extend(new_events);
            log.loaded = true;
        }
        let now_ms = crate::time_format::now_ms();
        let snapshot = score_snapshot(
            &state.inner.rules,
            log.events.clone(),
            log.teams.clone(),
            now_ms,
        );
        let board = Arc::new(ScoredBoard {
            snapshot,
            covers_seq: log.last_seq(),
            time_bucket: time_bucket(now_ms),
            json_body: OnceLock::new(),
            html_japanese: OnceLock::new(),
            html_english: OnceLock::new(),
        });
        *self.latest_board.lock().expect("scoreboard cache lock") = Some(board.clone());
        Ok(board)
    }

    fn fresh_board(&self, head_seq: u64) -> Option<Arc<ScoredBoard>> {
        let bucket = time_bucket(crate::time_format::now_ms());
        self.latest_board
            .lock()
            .expect("scoreboard cache lock")
            .as_ref()
            .filter(|board| board.is_fresh_for(head_seq, bucket))
            .cloned()
    }

    /// The session's last seq as of some moment after `arrived`: from a
    /// check already started after that, or from a new one.
    async fn head_seq(&self, state: &AppState, arrived: Instant) -> Result<u64, RequestError> {
        let mut check = self.head_check.lock().await;
        if check.started_at.is_some_and(|started| started > arrived) {
            return Ok(check.last_seq);
        }
        let started = Instant::now();
        let last_seq = state.store().last_seq(state.session()).await?;
        *check = HeadCheck {
            started_at: Some(started),
            last_seq,
        };
        Ok(last_seq)
    }
}

pub(crate) fn time_bucket(now_ms: i64) -> i64 {
    now_ms.div_euclid(BOARD_TIME_BUCKET_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(covers_seq: u64, time_bucket: i64) -> ScoredBoard {
        ScoredBoard {
            snapshot: score_snapshot(&[], Vec::new(), Vec::new(), 0),
            covers_seq,
            time_bucket,
            json_body: OnceLock::new(),
            html_japanese: OnceLock::new(),
            html_english: OnceLock::new(),
        }
    }

    #[test]
    fn a_board_is_stale_after_a_new_event_or_a_new_second() {
        let scored = board(7, time_bucket(5_400));
        assert!(scored.is_fresh_for(7, time_bucket(5_999)));
        assert!(scored.is_fresh_for(6, time_bucket(5_000)));
        assert!(!scored.is_fresh_for(8, time_bucket(5_400)), "new event");
        assert!(!scored.is_fresh_for(7, time_bucket(6_000)), "next second");
        assert!(
            !scored.is_fresh_for(7, time_bucket(4_999)),
            "clock went back"
        );
    }

    #[test]
    fn bodies_are_rendered_once_per_board_and_language() {
        let scored = board(1, 0);
        let mut renders = 0;
        for _ in 0..3 {
            scored.json_body(|_| {
                renders += 1;
                Bytes::from_static(b"{}")
            });
        }
        assert_eq!(renders, 1);
        let japanese = scored.html(Lang::Ja, |_, lang| ScoreboardHtml {
            table: lang.code().to_owned(),
            chart: String::new(),
        });
        assert_eq!(japanese.table, "ja");
        let english = scored.html(Lang::En, |_, lang| ScoreboardHtml {
            table: lang.code().to_owned(),
            chart: String::new(),
        });
        assert_eq!(english.table, "en", "each language has its own body");
    }
}
