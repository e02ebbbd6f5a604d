//! The event log's vocabulary.
//!
//! Everything that happens in an exercise — injects firing, checks passing,
//! answers, reports, hints, instructor notes and corrections, clock changes
//! — is one [`EventKind`] appended to the session's log. The scoreboard, the
//! timeline and the after-action review are all views of this log, so an
//! event is never edited: a mistake is corrected by appending an
//! [`EventKind::Adjustment`] that says who corrected it and why.
//!
//! Validation here is pure so the rules about what may enter the log are
//! tested without a database.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ground_truth::{CheckResultKind, GroundTruth};
use crate::model::SessionId;

/// What happened. Serialised with serde as an internally tagged object
/// (`{"kind": "inject_fired", "inject": ...}`); the store keeps the tag in
/// the `kind` column and the other fields in `payload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// An inject actually fired. `target` names what it was aimed at (a
    /// host reference such as `inet/pc-net02`); `ground_truth` is what the
    /// injector knows (host, time, IoCs) for checking answers later.
    InjectFired {
        inject: String,
        target: String,
        /// Boxed: the largest payload of the log, and most events are small.
        ground_truth: Box<GroundTruth>,
    },
    /// The engine tried to fire an inject and could not: the `attempt`-th
    /// failure since the team's last reset. The engine holds the inject
    /// after its retry rule's number of failures; counted from the log, so
    /// a restart does not forget them. Instructors see it on the timeline;
    /// a team never does.
    InjectFailed {
        inject: String,
        attempt: u32,
        error: String,
    },
    /// An instructor held an inject back; it fires later or not at all.
    InjectHeld {
        inject: String,
    },
    /// A check ran against the team's range (an automatic check), or a
    /// report's fields were judged (`report:FORM`).
    CheckResult {
        objective: String,
        check: CheckResultKind,
        passed: bool,
        detail: String,
    },
    /// The team answered a question of an objective.
    Submission {
        objective: String,
        answer: String,
        correct: bool,
    },
    /// The team submitted a report form.
    ReportSubmitted {
        form: String,
        fields: Value,
    },
    /// The team took a hint; `penalty` is what the portal announced.
    HintTaken {
        objective: String,
        hint_index: u32,
        penalty: u32,
    },
    InstructorNote {
        text: String,
    },
    /// An instructor asked for an inject to fire now, whatever its time.
    InjectFireRequested {
        inject: String,
    },
    /// The team changed its own firewall (the router's `team_blocks`):
    /// traffic to and from `address` is dropped (`block`) or no longer.
    FirewallChanged {
        block: bool,
        address: String,
    },
    /// The team's range was rebuilt from the images (`enshu reset`). Injects
    /// fired before it are no longer in the range, so the engine fires them
    /// again; what the team scored before stays scored.
    TeamReset {
        containers: u32,
    },
    /// A manual correction of the score; `objective` `None` adjusts the
    /// team's total. Reason and author are required: this is the audit trail.
    Adjustment {
        objective: Option<String>,
        points: i64,
        reason: String,
        author: String,
    },
    /// The exercise clock changed, for every team (`team` `None`) or one.
    /// `speed` (exercise seconds per wall second) holds from this change
    /// on; absent keeps the speed the clock had.
    ClockChanged {
        action: ClockAction,
        team: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        speed: Option<u32>,
    },
    /// An instructor graded a submitted report: report `report_seq`, for
    /// the judged objective `objective` (none when the scenario has no
    /// judged objective and a general rubric was used). A later grade of
    /// the same report for the same objective replaces this one in the
    /// score; both stay in the log.
    ReportGraded {
        /// Absent in logs written before it was recorded here; the rubric
        /// then carries it as `report_seq`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objective: Option<String>,
        form: String,
        points: i64,
        rubric: Value,
        author: String,
    },
    /// A command line the team entered in a web terminal (the portal's
    /// terminal on `host`, recorded as `terminal`), as the server read it
    /// from the keys typed: `edited` when keys whose effect only the shell
    /// knows (Tab, arrows, history) were pressed, so the line may differ
    /// from what ran. Lines typed at a password prompt are never recorded.
    TerminalCommand {
        host: String,
        terminal: String,
        command: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        edited: bool,
    },
    /// The team marked the messages it was sent, up to the one fired by
    /// event `up_to_seq`, as read: the portal's unread marks go by it.
    MessagesRead {
        up_to_seq: u64,
    },
}

pub use enshu_clock::ClockAction;

/// Why an event may not enter the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    #[error("{kind} needs a non-empty {field}")]
    EmptyField {
        kind: &'static str,
        field: &'static str,
    },
    #[error("the actor of an event must not be empty")]
    EmptyActor,
}

impl EventKind {
    /// The `kind` tag as stored, e.g. `inject_fired`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            EventKind::InjectFired { .. } => "inject_fired",
            EventKind::InjectFailed { .. } => "inject_failed",
            EventKind::InjectHeld { .. } => "inject_held",
            EventKind::CheckResult { .. } => "check_result",
            EventKind::Submission { .. } => "submission",
            EventKind::ReportSubmitted { .. } => "report_submitted",
            EventKind::HintTaken { .. } => "hint_taken",
            EventKind::InstructorNote { .. } => "instructor_note",
            EventKind::InjectFireRequested { .. } => "inject_fire_requested",
            EventKind::FirewallChanged { .. } => "firewall_changed",
            EventKind::TeamReset { .. } => "team_reset",
            EventKind::Adjustment { .. } => "adjustment",
            EventKind::ClockChanged { .. } => "clock_changed",
            EventKind::ReportGraded { .. } => "report_graded",
            EventKind::TerminalCommand { .. } => "terminal_command",
            EventKind::MessagesRead { .. } => "messages_read",
        }
    }

    /// Checks the rules serde cannot express: fields that must not be blank.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        let kind = self.kind_name();
        let require = |field: &'static str, value: &str| {
            if value.trim().is_empty() {
                Err(InvalidEvent::EmptyField { kind, field })
            } else {
                Ok(())
            }
        };
        match self {
            EventKind::InjectFired { inject, .. }
            | EventKind::InjectHeld { inject }
            | EventKind::InjectFireRequested { inject } => require("inject", inject),
            EventKind::FirewallChanged { address, .. } => {
                match address.parse::<std::net::Ipv4Addr>() {
                    Ok(_) => Ok(()),
                    Err(_) => Err(InvalidEvent::EmptyField {
                        kind,
                        field: "address (an IPv4 address)",
                    }),
                }
            }
            EventKind::InjectFailed { inject, error, .. } => {
                require("inject", inject)?;
                require("error", error)
            }
            EventKind::CheckResult {
                objective, check, ..
            } => {
                require("objective", objective)?;
                match check {
                    CheckResultKind::Report { form } => require("check", form),
                    CheckResultKind::Automatic(_) => Ok(()),
                }
            }
            EventKind::Submission { objective, .. } | EventKind::HintTaken { objective, .. } => {
                require("objective", objective)
            }
            EventKind::ReportSubmitted { form, .. } => require("form", form),
            EventKind::InstructorNote { text } => require("text", text),
            EventKind::Adjustment { reason, author, .. } => {
                require("reason", reason)?;
                require("author", author)
            }
            EventKind::ClockChanged { .. }
            | EventKind::TeamReset { .. }
            | EventKind::MessagesRead { .. } => Ok(()),
            EventKind::ReportGraded { form, author, .. } => {
                require("form", form)?;
                require("author", author)
            }
            EventKind::TerminalCommand {
                host,
                terminal,
                command,
                ..
            } => {
                require("host", host)?;
                require("terminal", terminal)?;
                require("command", command)
            }
        }
    }

    /// Splits the serialised event into the `kind` column and the payload.
    pub(crate) fn to_kind_and_payload(&self) -> (&'static str, Value) {
        let mut payload = serde_json::to_value(self).expect("event kinds always serialise to JSON");
        if let Value::Object(fields) = &mut payload {
            fields.remove("kind");
        }
        (self.kind_name(), payload)
    }

    /// The inverse of [`EventKind::to_kind_and_payload`].
    pub(crate) fn from_kind_and_payload(
        kind: &str,
        payload: Value,
    ) -> Result<EventKind, serde_json::Error> {
        let mut fields = match payload {
            Value::Object(fields) => fields,
            other => {
                let mut fields = serde_json::Map::new();
                fields.insert("payload".to_owned(), other);
                fields
            }
        };
        fields.insert("kind".to_owned(), Value::String(kind.to_owned()));
        serde_json::from_value(Value::Object(fields))
    }
}

/// One entry of a session's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub session: SessionId,
    /// 1, 2, 3, ... per session, without gaps, in append order.
    pub seq: u64,
    /// `None` for session-wide events.
    pub team: Option<u32>,
    /// Wall clock, milliseconds since the Unix epoch (UTC).
    pub at_ms: i64,
    /// Exercise-clock offset, when the appender knew it.
    pub exercise_ms: Option<u64>,
    pub actor: String,
    pub kind: EventKind,
}

/// An event to append, with every field the caller may set.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub session: SessionId,
    pub team: Option<u32>,
    pub kind: EventKind,
    /// Who caused it: `injector`, `checker`, `team:3`, `instructor:sato`.
    pub actor: String,
    /// Defaults to the store's clock at append time.
    pub at_ms: Option<i64>,
    pub exercise_ms: Option<u64>,
}

/// Which events of a session to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeamFilter {
    /// Every event.
    #[default]
    All,
    /// Only events of this team.
    Team(u32),
    /// Only session-wide events (no team).
    SessionWide,
    /// What this team may see: its own events and the session-wide ones.
    TeamAndSessionWide(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventQuery {
    pub team: TeamFilter,
    /// Only events with a larger seq; 0 reads from the beginning.
    pub after_seq: u64,
    /// At most this many events; `None` for all.
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<EventKind> {
        vec![
            EventKind::InjectFired {
                inject: "phish-mail".to_owned(),
                target: "inet/pc-net02".to_owned(),
                ground_truth: Box::new(GroundTruth::from_json(
                    serde_json::json!({"c2": "198.51.100.23"}),
                )),
            },
            EventKind::InjectFailed {
                inject: "beacon".to_owned(),
                attempt: 2,
                error: "could not run in t01-pc01".to_owned(),
            },
            EventKind::InjectHeld {
                inject: "beacon".to_owned(),
            },
            EventKind::CheckResult {
                objective: "block-c2".to_owned(),
                check: CheckResultKind::Automatic(enshu_scenario::model::CheckKind::Http),
                passed: true,
                detail: "403 from sc-proxy".to_owned(),
            },
            EventKind::Submission {
                objective: "identify-c2".to_owned(),
                answer: "198.51.100.23".to_owned(),
                correct: true,
            },
            EventKind::ReportSubmitted {
                form: "first".to_owned(),
                fields: serde_json::json!({"category": "malware"}),
            },
            EventKind::HintTaken {
                objective: "identify-c2".to_owned(),
                hint_index: 0,
                penalty: 10,
            },
            EventKind::InstructorNote {
                text: "good triage".to_owned(),
            },
            EventKind::Adjustment {
                objective: None,
                points: -5,
                reason: "late call".to_owned(),
                author: "sato".to_owned(),
            },
            EventKind::ClockChanged {
                action: ClockAction::Pause,
                team: Some(2),
                speed: None,
            },
            EventKind::ClockChanged {
                action: ClockAction::Resume,
                team: None,
                speed: Some(10),
            },
            EventKind::ReportGraded {
                report_seq: Some(5),
                objective: Some("public-notice".to_owned()),
                form: "first".to_owned(),
                points: 20,
                rubric: serde_json::json!([{"criterion": "timeline", "points": 20}]),
                author: "sato".to_owned(),
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_through_kind_and_payload() {
        for kind in every_kind() {
            let (kind_name, payload) = kind.to_kind_and_payload();
            assert!(payload.get("kind").is_none());
            assert_eq!(
                EventKind::from_kind_and_payload(kind_name, payload).unwrap(),
                kind
            );
            assert!(kind.validate().is_ok(), "{kind:?}");
        }
    }

    #[test]
    fn serialised_form_is_internally_tagged() {
        let json = serde_json::to_value(EventKind::InjectHeld {
            inject: "beacon".to_owned(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "inject_held", "inject": "beacon"})
        );
    }

    #[test]
    fn adjustment_needs_reason_and_author() {
        let without_reason = EventKind::Adjustment {
            objective: None,
            points: 5,
            reason: "  ".to_owned(),
            author: "sato".to_owned(),
        };
        assert_eq!(
            without_reason.validate(),
            Err(InvalidEvent::EmptyField {
                kind: "adjustment",
                field: "reason"
            })
        );
        assert_eq!(
            without_reason.validate().unwrap_err().to_string(),
            "adjustment needs a non-empty reason"
        );
        let without_author = EventKind::Adjustment {
            objective: None,
            points: 5,
            reason: "recheck".to_owned(),
            author: String::new(),
        };
        assert_eq!(
            without_author.validate(),
            Err(InvalidEvent::EmptyField {
                kind: "adjustment",
                field: "author"
            })
        );
    }

    #[test]
    fn adjustment_missing_reason_in_json_does_not_parse() {
        let result = EventKind::from_kind_and_payload(
            "adjustment",
            serde_json::json!({"points": 5, "author": "sato"}),
        );
        assert!(result.is_err());
    }
}
