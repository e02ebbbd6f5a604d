//! `/api/team/...`: a team's own view and actions. Every read goes through
//! the caller's team index; ids of other teams' events answer 404.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use enshu_store::EventKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions;
use crate::auth::Caller;
use crate::error::RequestError;
use crate::exercise::{self, RawField};
use crate::i18n::Lang;
use crate::state::AppState;

pub(crate) async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    Ok(Json(team_overview_json(&state, &snapshot, team, lang)))
}

pub(crate) fn team_overview_json(
    state: &AppState,
    snapshot: &exercise::Snapshot,
    team: u32,
    lang: Lang,
) -> Value {
    let team_score = snapshot.scoreboard.team(team);
    let team_plan = state.team_plan(team);
    let awaiting_grading = exercise::awaiting_grading(state.scenario(), snapshot, team);
    let hints_taken: Vec<(String, u32)> = snapshot
        .team_events(team)
        .filter_map(|event| match &event.kind {
            EventKind::HintTaken {
                objective,
                hint_index,
                ..
            } if event.team == Some(team) => Some((objective.clone(), *hint_index)),
            _ => None,
        })
        .collect();
    let objectives: Vec<Value> = state
        .scenario()
        .objectives
        .iter()
        .map(|objective| {
            let score = team_score.and_then(|score| score.objective(&objective.id));
            let question = match &objective.evidence {
                enshu_scenario::model::Evidence::Answer(answer) => Some(lang.pick(&answer.question).to_owned()),
                _ => None,
            };
            let hints: Vec<Value> = objective
                .hints
                .iter()
                .enumerate()
                .map(|(index, hint)| {
                    let taken = hints_taken.contains(&(objective.id.clone(), index as u32));
                    json!({"index": index, "penalty": hint.penalty, "taken": taken, "text": taken.then(|| lang.pick(&hint.text))})
                })
                .collect();
            let limits = state.scenario().scoring_of(objective);
            let answers = question.as_ref().map(|_| {
                let wrong = score.map_or(0, |score| score.wrong_answers);
                json!({
                    "attempts": limits.attempts,
                    "wrong": wrong,
                    "left": limits.attempts.saturating_sub(wrong),
                    "locked": score.is_some_and(|score| score.answers_locked),
                    "wrong_answer_cost": limits.wrong_answer_cost,
                })
            });
            // A report's result waits for the instructor's grade.
            let hidden = awaiting_grading.contains(&objective.id);
            let status = if hidden {
                json!({"status": "awaiting_grading"})
            } else {
                json!(score.map(|score| score.status))
            };
            json!({
                "id": objective.id,
                "phase": objective.phase.as_str(),
                "title": lang.pick(&objective.title),
                "points": objective.points,
                "question": question,
                "answers": answers,
                "status": status,
                "deadline_exercise_ms": score.and_then(|score| score.deadline_exercise_ms),
                "points_awarded": if hidden { None } else { score.map(|score| score.points_awarded) },
                "hints": hints,
            })
        })
        .collect();
    let messages: Vec<Value> = team_plan
        .map(|team_plan| received_messages(snapshot, team, team_plan, lang))
        .unwrap_or_default();
    let unread_messages = messages
        .iter()
        .filter(|message| message["unread"] == json!(true))
        .count();
    // The team's own network map, as handed out at the start of an
    // exercise: every host of its own range with its address, never the
    // attacker's infrastructure (internet segments), which is what its
    // answers name.
    let hosts: Value = team_plan
        .map(|team_plan| {
            team_plan
                .team_range_containers()
                .filter_map(|container| {
                    Some((
                        container.reference.clone(),
                        json!(container.primary_address()?.to_string()),
                    ))
                })
                .collect::<serde_json::Map<String, Value>>()
        })
        .map(Value::Object)
        .unwrap_or_default();
    let forms: Vec<Value> = state
        .scenario()
        .forms
        .iter()
        .map(|form| json!({"id": form.id, "title": lang.pick(&form.title), "fields": form.fields}))
        .collect();
    json!({
        "team": team,
        "name": snapshot.team_name(team),
        "now_exercise_ms": team_score.map(|score| score.now_exercise_ms),
        "total": team_score.map(|score| exercise::team_visible_total(score, &awaiting_grading)),
        "objectives": objectives,
        "messages": messages,
        "unread_messages": unread_messages,
        "messages_read_up_to": exercise::messages_read_up_to(snapshot, team),
        "forms": forms,
        "hosts": hosts,
    })
}

/// Message injects fired for the team, oldest first, each `unread` until
/// the team marked the messages read up to it (`messages_read`), as the
/// portal marks them.
pub(crate) fn received_messages(
    snapshot: &exercise::Snapshot,
    team: u32,
    team_plan: &enshu_scenario::plan::TeamPlan,
    lang: Lang,
) -> Vec<Value> {
    let read_up_to = exercise::messages_read_up_to(snapshot, team);
    let mut seen = Vec::new();
    snapshot
        .team_events(team)
        .filter_map(|event| match &event.kind {
            EventKind::InjectFired { inject, .. } => {
                if seen.contains(inject) {
                    return None;
                }
                seen.push(inject.clone());
                let message = exercise::planned_message(team_plan, inject)?;
                Some(json!({
                    "inject": inject,
                    "seq": event.seq,
                    "exercise_ms": snapshot.exercise_ms_of(event, team),
                    "channel": message.channel,
                    "from": lang.pick(&message.from),
                    "subject": lang.pick(&message.subject),
                    "body": lang.pick(&message.body),
                    "unread": event.seq > read_up_to,
                }))
            }
            _ => None,
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct AnswerRequest {
    pub(crate) objective: String,
    pub(crate) answer: String,
}

pub(crate) async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<AnswerRequest>,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    caller.check_csrf(&state, &headers, None)?;
    let outcome =
        actions::submit_answer(&state, &caller, team, &request.objective, &request.answer).await?;
    Ok(Json(
        json!({"objective": request.objective, "correct": outcome.correct, "attempts_left": outcome.attempts_left}),
    ))
}

#[derive(Deserialize)]
pub(crate) struct ReportRequest {
    pub(crate) form: String,
    pub(crate) fields: BTreeMap<String, Value>,
}

/// A report's receipt: its fields in the form's field order, labelled in
/// the caller's language, and what happens next (`receipt`), as the
/// receipt page shows them.
fn receipt_json(
    state: &AppState,
    snapshot: &exercise::Snapshot,
    team: u32,
    lang: Lang,
    report: &enshu_store::Event,
) -> Value {
    let EventKind::ReportSubmitted { form, fields } = &report.kind else {
        return Value::Null;
    };
    let scenario = state.scenario();
    let definition = exercise::form(scenario, form);
    let rows = fields
        .as_object()
        .map(|fields| crate::receipt::rows(lang, definition, fields))
        .unwrap_or_default();
    let next = definition.map(|definition| {
        crate::receipt::next_steps(lang, scenario, definition, |next| {
            crate::receipt::open_report_deadline(scenario, snapshot, team, next)
        })
    });
    json!({"fields": rows, "next": next})
}

pub(crate) async fn submit_report(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    headers: HeaderMap,
    Json(request): Json<ReportRequest>,
) -> Result<impl IntoResponse, RequestError> {
    let team = caller.require_team()?;
    caller.check_csrf(&state, &headers, None)?;
    let raw: BTreeMap<String, RawField> = request
        .fields
        .into_iter()
        .map(|(name, value)| (name, RawField::Json(value)))
        .collect();
    let seq = actions::submit_report(&state, &caller, team, &request.form, &raw).await?;
    let report = actions::team_report(&state, team, seq).await?;
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let receipt = receipt_json(&state, &snapshot, team, lang, &report);
    Ok((
        StatusCode::CREATED,
        Json(json!({"seq": seq, "form": request.form, "receipt": receipt})),
    ))
}

pub(crate) async fn reports(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    let events = own_events(&state, team).await?;
    let reports: Vec<Value> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ReportSubmitted { form, .. } => {
                Some(json!({"seq": event.seq, "form": form, "at_ms": event.at_ms}))
            }
            _ => None,
        })
        .collect();
    Ok(Json(json!({"reports": reports})))
}

pub(crate) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(seq): Path<u64>,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    let report = actions::team_report(&state, team, seq).await?;
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let receipt = receipt_json(&state, &snapshot, team, lang, &report);
    Ok(Json(
        json!({"seq": report.seq, "at_ms": report.at_ms, "report": report.kind, "receipt": receipt}),
    ))
}

pub(crate) async fn submissions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    let events = own_events(&state, team).await?;
    let submissions: Vec<Value> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Submission { objective, answer, correct } => {
                Some(json!({"seq": event.seq, "objective": objective, "answer": answer, "correct": correct, "at_ms": event.at_ms}))
            }
            _ => None,
        })
        .collect();
    Ok(Json(json!({"submissions": submissions})))
}

#[derive(Deserialize)]
pub(crate) struct HintRequest {
    objective: String,
    hint_index: u32,
}

pub(crate) async fn hint(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    headers: HeaderMap,
    Json(request): Json<HintRequest>,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    caller.check_csrf(&state, &headers, None)?;
    let (text, penalty) = actions::take_hint(
        &state,
        &caller,
        team,
        &request.objective,
        request.hint_index,
    )
    .await?;
    Ok(Json(
        json!({"objective": request.objective, "hint_index": request.hint_index, "text": lang.pick(&text), "penalty": penalty}),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct FirewallRequest {
    /// `block` or `unblock`.
    pub(crate) action: String,
    /// An IPv4 address in the team's own range.
    pub(crate) address: String,
}

/// The team's own firewall: block or unblock an address at its router.
/// The exercise engine applies it to the router's `team_blocks` chain.
pub(crate) async fn firewall(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<FirewallRequest>,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    caller.check_csrf(&state, &headers, None)?;
    state.admit(&caller, team, crate::fair_share::WriteKind::Firewall)?;
    let block = match request.action.as_str() {
        "block" => true,
        "unblock" => false,
        other => {
            return Err(RequestError::BadRequest(format!(
                "action {other:?} is neither block nor unblock"
            )));
        }
    };
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    let address = actions::firewall_address(team_plan, &request.address)
        .map_err(|problem| RequestError::BadRequest(problem.to_string()))?;
    let event = state
        .append(
            Some(team),
            EventKind::FirewallChanged {
                block,
                address: address.to_string(),
            },
            &caller.actor(),
        )
        .await?;
    Ok(Json(
        json!({"seq": event.seq, "action": request.action, "address": address.to_string()}),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct MessagesReadRequest {
    /// The `seq` of the newest message read.
    up_to: u64,
}

/// Marks the team's messages read up to the one of seq `up_to`, as the
/// portal's button does; answers how far they are read now.
pub(crate) async fn messages_read(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<MessagesReadRequest>,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    caller.check_csrf(&state, &headers, None)?;
    let read_up_to = actions::mark_messages_read(&state, &caller, team, request.up_to).await?;
    Ok(Json(json!({"messages_read_up_to": read_up_to})))
}

pub(crate) async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Json<Value>, RequestError> {
    let team = caller.require_team()?;
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    Ok(Json(
        json!({"timeline": team_timeline(&snapshot, team, team_plan, lang)}),
    ))
}

/// The team's own timeline, without anything a team must not see.
pub(crate) fn team_timeline(
    snapshot: &exercise::Snapshot,
    team: u32,
    team_plan: &enshu_scenario::plan::TeamPlan,
    lang: Lang,
) -> Vec<Value> {
    snapshot
        .team_events(team)
        .filter(|event| exercise::visible_to_team(event, team, team_plan))
        .map(|event| {
            let what = match &event.kind {
                EventKind::InjectFired { inject, .. } => {
                    let subject = exercise::planned_message(team_plan, inject).map(|message| lang.pick(&message.subject).to_owned());
                    json!({"kind": "message", "subject": subject})
                }
                EventKind::ReportGraded { form, points, .. } => json!({"kind": "report_graded", "form": form, "points": points}),
                EventKind::Adjustment { objective, points, reason, .. } => {
                    json!({"kind": "adjustment", "objective": objective, "points": points, "reason": reason})
                }
                other => serde_json::to_value(other).unwrap_or(Value::Null),
            };
            json!({"seq": event.seq, "exercise_ms": snapshot.exercise_ms_of(event, team), "event": what})
        })
        .collect()
}

async fn own_events(state: &AppState, team: u32) -> Result<Vec<enshu_store::Event>, RequestError> {
    Ok(state
        .store()
        .events(
            state.session(),
            enshu_store::EventQuery {
                team: enshu_store::TeamFilter::Team(team),
                ..Default::default()
            },
        )
        .await?)
}
