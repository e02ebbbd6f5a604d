//! The engine's input: a minimal, storage-neutral event type.
//!
//! The store keeps richer events (ground truth, report fields, rubrics); it
//! converts them into [`ScoringEvent`]s so this crate stays free of the
//! database and of payload formats it does not need.

use serde::{Deserialize, Serialize};

/// One event of the log as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoringEvent {
    /// Position in the session's log; used to order and cite events.
    pub seq: u64,
    /// The team the event concerns; `None` for session-wide events (an
    /// inject fired for every team at once).
    pub team: Option<u32>,
    /// Exercise-clock offset of the event.
    pub exercise_ms: u64,
    pub kind: ScoringEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScoringEventKind {
    /// An inject actually fired (for `team`, or for every team).
    InjectFired { inject: String },
    /// Evidence about an objective: a check result or a submitted answer.
    /// The first satisfying evidence after the objective's inject fired
    /// (and by its `due` time) meets the objective; later failing evidence
    /// does not un-meet it.
    ObjectiveEvidence { objective: String, satisfied: bool },
    /// The team answered an objective's question. Only answers after the
    /// objective's inject fired (and by its `due` time) count: the first
    /// correct one meets it unless the question locked first (the rule's
    /// `max_wrong_answers` wrong answers before it), and each counted wrong
    /// one costs the rule's `wrong_answer_cost`. An answer before the fire
    /// counts for nothing, neither as evidence nor as an attempt.
    AnswerSubmitted { objective: String, correct: bool },
    /// The team took a hint. `penalty` is what the portal showed; the
    /// rule's `hint_penalties` win when they list this hint.
    HintTaken {
        objective: String,
        hint_index: u32,
        penalty: u32,
    },
    /// An instructor's manual correction, kept as an audit trail.
    Adjustment {
        objective: Option<String>,
        points: i64,
        reason: String,
        author: String,
    },
    /// The team submitted a report of `form`; the event's `seq` identifies
    /// the report and its `exercise_ms` is when a grade of it counts.
    ReportSubmitted { form: String },
    /// An instructor graded report `report_seq` (of form `form`). A grade
    /// naming a judged `objective` meets that objective at the report's
    /// submission time; one naming none counts towards reporting on its
    /// own. A later grade of the same report for the same objective
    /// replaces this one.
    ReportGraded {
        /// The graded report's seq; `None` when the log did not say, and
        /// then the grade stands alone (nothing replaces it).
        #[serde(default)]
        report_seq: Option<u64>,
        #[serde(default)]
        objective: Option<String>,
        form: String,
        points: i64,
        author: String,
    },
}

/// Where a team's exercise clock stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamClock {
    pub team: u32,
    pub now_exercise_ms: u64,
}
