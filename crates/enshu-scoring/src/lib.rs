//! Enshu's scoring engine.
//!
//! Scoring is a pure function of the objective rules and the ordered event
//! log: `score(rules, teams, events)` does no I/O, reads no clock and
//! depends on neither tokio nor sqlx. That keeps the scoreboard
//! reproducible — replaying the same log always gives the same points — and
//! lets every rule (deadlines, time bonus, hint penalties, adjustments) be
//! tested with plain `cargo test`.
//!
//! # Layout
//!
//! - [`rules`]: what an objective is worth and by when it must be met.
//! - [`input`]: the engine's own minimal event type. The store converts its
//!   persisted events into these, so this crate never sees a database row.
//! - The exercise clock is `enshu-clock`'s (shared with the exercise
//!   engine): it turns wall-clock instants into exercise-clock offsets,
//!   leaving out paused time. All timing in scoring is on that clock.
//! - [`engine`]: the scoring itself and the scoreboard it returns.
//!
//! # Timing model
//!
//! Every time in the engine is an exercise-clock offset in milliseconds
//! (`exercise_ms`): 0 is the exercise start and the clock does not advance
//! while the exercise is paused. Deadlines relative to an inject count from
//! that inject's *actual* fire time as recorded in the log, not from the
//! time the scenario scheduled it, so an inject an instructor held back does
//! not eat into a team's time. An objective that names an inject is timed
//! from its fire whether or not it has a deadline, and only evidence after
//! the fire counts. A `due` time is absolute (from the start): after it the
//! objective can no longer be met.
//!
//! # Judged objectives
//!
//! An instructor's grade of a report names the judged objective it is for;
//! it meets that objective at the report's *submission* time (so grading
//! late does not make a team late), worth the grade capped at the
//! objective's points. A re-grade of the same report for the same objective
//! replaces the earlier grade; every grade stays on the audit trail. Of
//! several graded reports for one objective, the one that earns most counts.

#![forbid(unsafe_code)]

pub mod engine;
pub mod input;
pub mod rules;

pub use engine::{
    AdjustmentEntry, GradedReportEntry, ObjectiveScore, ObjectiveStatus, PhaseSummary, Scoreboard,
    TeamScore, score,
};
pub use enshu_clock::{ClockAction, ClockChange, ClockState, ExerciseClock};
pub use input::{ScoringEvent, ScoringEventKind, TeamClock};
pub use rules::{DeadlineAnchor, ObjectiveRule, Phase, TimeBonus};
