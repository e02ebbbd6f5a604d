//! What teams and instructors do, shared by the HTML forms and the JSON
//! API so both paths write exactly the same events.

use std::collections::BTreeMap;

use enshu_store::{ClockAction, EventKind};
use serde_json::Value;

use crate::auth::Caller;
use crate::error::RequestError;
use crate::exercise::{self, RawField};
use crate::fair_share::WriteKind;
use crate::i18n::Msg;
use crate::state::AppState;

/// The answer to an objective's question, as the team is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnswerOutcome {
    pub correct: bool,
    /// Wrong answers the question still takes before it locks.
    pub attempts_left: u32,
}

/// Records an answer; returns whether it is correct and the answers left.
///
/// Refused, with nothing recorded: an answer to a question whose inject
/// has not fired (the portal already shows it as not started, so refusing
/// tells the team nothing new; scoring ignores such an answer anyway), one
/// already answered correctly, and one locked by its wrong answers.
pub(crate) async fn submit_answer(
    state: &AppState,
    caller: &Caller,
    team: u32,
    objective_id: &str,
    answer: &str,
) -> Result<AnswerOutcome, RequestError> {
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    state.admit(caller, team, WriteKind::Answer)?;
    if answer.trim().is_empty() {
        return Err(RequestError::InvalidFields(vec![(
            "answer".to_owned(),
            "required".to_owned(),
        )]));
    }
    if answer.len() > 1000 {
        return Err(RequestError::InvalidFields(vec![(
            "answer".to_owned(),
            "too long".to_owned(),
        )]));
    }
    let correct = exercise::check_answer(team_plan, objective_id, answer).ok_or_else(|| {
        RequestError::BadRequest(format!("objective {objective_id:?} takes no answer"))
    })?;
    let objective =
        exercise::objective(state.scenario(), objective_id).ok_or(RequestError::NotFound)?;
    let attempts = state.scenario().scoring_of(objective).attempts;
    let snapshot = exercise::load_snapshot(state, Some(team)).await?;
    let score = snapshot
        .scoreboard
        .team(team)
        .and_then(|team_score| team_score.objective(objective_id))
        .ok_or(RequestError::NotFound)?;
    if score.anchor_exercise_ms.is_none() {
        return Err(RequestError::Conflict(Msg::QuestionNotOpen));
    }
    if score.status.is_achieved() {
        return Err(RequestError::Conflict(Msg::AlreadyAnswered));
    }
    if score.answers_locked {
        return Err(RequestError::Conflict(Msg::QuestionLocked));
    }
    state
        .append(
            Some(team),
            EventKind::Submission {
                objective: objective_id.to_owned(),
                answer: answer.trim().to_owned(),
                correct,
            },
            &caller.actor(),
        )
        .await?;
    let wrong = score.wrong_answers + u32::from(!correct);
    Ok(AnswerOutcome {
        correct,
        attempts_left: attempts.saturating_sub(wrong),
    })
}

/// Validates and records a report, then the evidence it gives the report
/// objectives of its form. Returns the report's seq.
pub(crate) async fn submit_report(
    state: &AppState,
    caller: &Caller,
    team: u32,
    form_id: &str,
    raw_fields: &BTreeMap<String, RawField>,
) -> Result<u64, RequestError> {
    state.admit(caller, team, WriteKind::Report)?;
    let form = exercise::form(state.scenario(), form_id).ok_or(RequestError::NotFound)?;
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    let fields = exercise::validate_report(form, team_plan, raw_fields)
        .map_err(RequestError::InvalidReport)?;
    let evidence = exercise::report_evidence(state.scenario(), form_id, &fields);
    let report = state
        .append(
            Some(team),
            EventKind::ReportSubmitted {
                form: form_id.to_owned(),
                fields: Value::Object(fields),
            },
            &caller.actor(),
        )
        .await?;
    for (objective, passed, detail) in evidence {
        state
            .append(
                Some(team),
                EventKind::CheckResult {
                    objective,
                    check: enshu_store::CheckResultKind::Report {
                        form: form_id.to_owned(),
                    },
                    passed,
                    detail,
                },
                "scorer",
            )
            .await?;
    }
    Ok(report.seq)
}

/// Records a hint as taken (once per hint); returns its text and penalty.
pub(crate) async fn take_hint(
    state: &AppState,
    caller: &Caller,
    team: u32,
    objective_id: &str,
    hint_index: u32,
) -> Result<(enshu_scenario::model::Text, u32), RequestError> {
    state.admit(caller, team, WriteKind::Hint)?;
    let objective =
        exercise::objective(state.scenario(), objective_id).ok_or(RequestError::NotFound)?;
    let hint = objective
        .hints
        .get(hint_index as usize)
        .ok_or(RequestError::NotFound)?;
    state
        .append(
            Some(team),
            EventKind::HintTaken {
                objective: objective_id.to_owned(),
                hint_index,
                penalty: hint.penalty,
            },
            &caller.actor(),
        )
        .await?;
    Ok((hint.text.clone(), hint.penalty))
}

pub(crate) async fn existing_team(state: &AppState, team: u32) -> Result<(), RequestError> {
    let teams = state.store().teams(state.session()).await?;
    if teams.iter().any(|candidate| candidate.team_index == team) {
        Ok(())
    } else {
        Err(RequestError::NotFound)
    }
}

/// The shortest team token the server takes.
pub(crate) const MIN_TEAM_TOKEN_CHARS: usize = 32;

/// Replaces team `team`'s portal token: the old one stops working at once
/// and the team's login sessions end. Notes it in the log (who, not what).
pub(crate) async fn replace_team_token(
    state: &AppState,
    caller: &Caller,
    team: u32,
    token: &str,
) -> Result<u64, RequestError> {
    existing_team(state, team).await?;
    let token = token.trim();
    if token.chars().count() < MIN_TEAM_TOKEN_CHARS {
        return Err(RequestError::InvalidFields(vec![(
            "token".to_owned(),
            format!("at least {MIN_TEAM_TOKEN_CHARS} characters"),
        )]));
    }
    if !state
        .store()
        .set_team_token(state.session(), team, token)
        .await?
    {
        return Err(RequestError::NotFound);
    }
    state.end_team_web_sessions(team);
    let event = state
        .append(
            Some(team),
            EventKind::InstructorNote {
                text: "portal token revoked; the team has a new one".to_owned(),
            },
            &caller.actor(),
        )
        .await?;
    Ok(event.seq)
}

pub(crate) async fn add_note(
    state: &AppState,
    team: u32,
    text: &str,
    author: &str,
) -> Result<u64, RequestError> {
    existing_team(state, team).await?;
    require_fields(&[("text", text), ("author", author)])?;
    let event = state
        .append(
            Some(team),
            EventKind::InstructorNote {
                text: text.trim().to_owned(),
            },
            &format!("instructor:{}", author.trim()),
        )
        .await?;
    Ok(event.seq)
}

pub(crate) async fn add_adjustment(
    state: &AppState,
    team: u32,
    objective: Option<String>,
    points: i64,
    reason: &str,
    author: &str,
) -> Result<u64, RequestError> {
    existing_team(state, team).await?;
    require_fields(&[("reason", reason), ("author", author)])?;
    let objective = objective.filter(|objective| !objective.trim().is_empty());
    if let Some(objective) = &objective
        && exercise::objective(state.scenario(), objective).is_none()
    {
        return Err(RequestError::InvalidFields(vec![(
            "objective".to_owned(),
            "unknown objective".to_owned(),
        )]));
    }
    let event = state
        .append(
            Some(team),
            EventKind::Adjustment {
                objective,
                points,
                reason: reason.trim().to_owned(),
                author: author.trim().to_owned(),
            },
            &format!("instructor:{}", author.trim()),
        )
        .await?;
    Ok(event.seq)
}

/// Grades report `seq` of `team` for judged `objective` (the scenario's
/// only judged objective when `None`), with points per criterion of that
/// objective's own rubric. A re-grade is a new event: the score uses the
/// latest grade per (report, objective), the log keeps every one.
pub(crate) async fn grade_report(
    state: &AppState,
    team: u32,
    seq: u64,
    objective: Option<&str>,
    scores: &BTreeMap<String, i64>,
    author: &str,
) -> Result<u64, RequestError> {
    require_fields(&[("author", author)])?;
    let report = team_report(state, team, seq).await?;
    let EventKind::ReportSubmitted { form, .. } = &report.kind else {
        return Err(RequestError::NotFound);
    };
    let rubric = exercise::grading_rubric(state.scenario(), objective)
        .map_err(|problem| RequestError::InvalidFields(vec![problem]))?;
    let (total, graded) =
        exercise::apply_rubric(&rubric, scores).map_err(RequestError::InvalidFields)?;
    let objective = rubric.objective.map(|objective| objective.id.clone());
    let event = state
        .append(
            Some(team),
            EventKind::ReportGraded {
                report_seq: Some(seq),
                objective: objective.clone(),
                form: form.clone(),
                points: total,
                rubric: serde_json::json!({"report_seq": seq, "objective": objective, "criteria": graded}),
                author: author.trim().to_owned(),
            },
            &format!("instructor:{}", author.trim()),
        )
        .await?;
    Ok(event.seq)
}

/// Report `seq`, if it is a report of `team`; 404 otherwise, whoever owns it.
pub(crate) async fn team_report(
    state: &AppState,
    team: u32,
    seq: u64,
) -> Result<enshu_store::Event, RequestError> {
    let events = state
        .store()
        .events(
            state.session(),
            enshu_store::EventQuery {
                team: enshu_store::TeamFilter::Team(team),
                after_seq: seq.saturating_sub(1),
                limit: Some(1),
            },
        )
        .await?;
    events
        .into_iter()
        .find(|event| {
            event.seq == seq
                && event.team == Some(team)
                && matches!(event.kind, EventKind::ReportSubmitted { .. })
        })
        .ok_or(RequestError::NotFound)
}

pub(crate) async fn change_clock(
    state: &AppState,
    caller: &Caller,
    action: ClockAction,
    team: Option<u32>,
    speed: Option<u32>,
) -> Result<u64, RequestError> {
    if let Some(team) = team {
        existing_team(state, team).await?;
    }
    if let Some(speed) = speed
        && !(1..=enshu_store::MAX_CLOCK_SPEED).contains(&speed)
    {
        return Err(RequestError::BadRequest(format!(
            "speed must be between 1 and {}, not {speed}",
            enshu_store::MAX_CLOCK_SPEED
        )));
    }
    let event = state
        .append(
            team,
            EventKind::ClockChanged {
                action,
                team,
                speed,
            },
            &caller.actor(),
        )
        .await?;
    Ok(event.seq)
}

/// Asks the scheduler to fire an inject now.
pub(crate) async fn request_fire(
    state: &AppState,
    caller: &Caller,
    inject: &str,
    team: Option<u32>,
) -> Result<u64, RequestError> {
    known_inject(state, inject)?;
    if let Some(team) = team {
        existing_team(state, team).await?;
    }
    let event = state
        .append(
            team,
            EventKind::InjectFireRequested {
                inject: inject.to_string(),
            },
            &caller.actor(),
        )
        .await?;
    Ok(event.seq)
}

pub(crate) async fn hold(
    state: &AppState,
    caller: &Caller,
    inject: &str,
    team: Option<u32>,
) -> Result<u64, RequestError> {
    known_inject(state, inject)?;
    if let Some(team) = team {
        existing_team(state, team).await?;
    }
    let event = state
        .append(
            team,
            EventKind::InjectHeld {
                inject: inject.to_owned(),
            },
            &caller.actor(),
        )
        .await?;
    Ok(event.seq)
}

fn known_inject(state: &AppState, inject: &str) -> Result<(), RequestError> {
    if state
        .scenario()
        .injects
        .iter()
        .any(|candidate| candidate.id == inject)
    {
        Ok(())
    } else {
        Err(RequestError::NotFound)
    }
}

fn require_fields(fields: &[(&str, &str)]) -> Result<(), RequestError> {
    let missing: Vec<(String, String)> = fields
        .iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| ((*name).to_owned(), "required".to_owned()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RequestError::InvalidFields(missing))
    }
}

/// Why a firewall change names no address the team may block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FirewallProblem {
    NotAnAddress(String),
    NotInRange(std::net::Ipv4Addr),
}

impl FirewallProblem {
    pub(crate) fn text(&self, lang: crate::i18n::Lang) -> String {
        match self {
            FirewallProblem::NotAnAddress(text) => {
                lang.t(Msg::FirewallNotAddress).replace("{a}", text)
            }
            FirewallProblem::NotInRange(address) => lang
                .t(Msg::FirewallNotInRange)
                .replace("{a}", &address.to_string()),
        }
    }
}

impl std::fmt::Display for FirewallProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FirewallProblem::NotAnAddress(text) => {
                write!(formatter, "{text:?} is not an IPv4 address")
            }
            FirewallProblem::NotInRange(address) => {
                write!(formatter, "{address} is not in your range")
            }
        }
    }
}

/// An address of the team's own range, as a firewall change takes it.
pub(crate) fn firewall_address(
    team_plan: &enshu_scenario::plan::TeamPlan,
    text: &str,
) -> Result<std::net::Ipv4Addr, FirewallProblem> {
    let address: std::net::Ipv4Addr = text
        .trim()
        .parse()
        .map_err(|_| FirewallProblem::NotAnAddress(text.trim().to_owned()))?;
    if team_plan
        .networks
        .iter()
        .any(|network| network.subnet.contains(address))
    {
        Ok(address)
    } else {
        Err(FirewallProblem::NotInRange(address))
    }
}

/// The addresses the team's firewall blocks now, in the order first blocked.
pub(crate) fn blocked_addresses(snapshot: &exercise::Snapshot, team: u32) -> Vec<String> {
    let mut blocked: Vec<String> = Vec::new();
    for event in snapshot.team_events(team) {
        if let EventKind::FirewallChanged { block, address } = &event.kind
            && event.team == Some(team)
        {
            blocked.retain(|other| other != address);
            if *block {
                blocked.push(address.clone());
            }
        }
    }
    blocked
}

/// Marks the team's messages read up to the one of seq `up_to` (a
/// `messages_read` event, so the mark holds for every member of the team),
/// never past the newest message it was sent; nothing is recorded when the
/// mark would not move. Returns how far the messages are read now.
pub(crate) async fn mark_messages_read(
    state: &AppState,
    caller: &Caller,
    team: u32,
    up_to: u64,
) -> Result<u64, RequestError> {
    state.admit(caller, team, WriteKind::Read)?;
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    let snapshot = exercise::load_snapshot(state, Some(team)).await?;
    let newest =
        crate::api::team::received_messages(&snapshot, team, team_plan, crate::i18n::Lang::En)
            .iter()
            .filter_map(|message| message.get("seq").and_then(Value::as_u64))
            .max()
            .unwrap_or_default();
    let up_to = up_to.min(newest);
    let read_up_to = exercise::messages_read_up_to(&snapshot, team);
    if up_to <= read_up_to {
        return Ok(read_up_to);
    }
    state
        .append(
            Some(team),
            EventKind::MessagesRead { up_to_seq: up_to },
            &caller.actor(),
        )
        .await?;
    Ok(up_to)
}
