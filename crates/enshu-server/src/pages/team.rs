//! The team portal: objectives with deadlines, messages received, answers,
//! reports, hints and the team's own timeline. Every read is scoped to the
//! caller's team.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use enshu_scenario::model::{Evidence, FieldType, Form};
use enshu_store::EventKind;

use super::{FormFields, redirect};
use crate::actions;
use crate::api::team::{received_messages, team_timeline};
use crate::auth::{CSRF_FIELD, Caller};
use crate::error::RequestError;
use crate::exercise::{self, RawField, Snapshot};
use crate::html::{Frame, csrf_field, escape, minutes, page, phase_name, status_label, url_encode};
use crate::i18n::{Lang, Msg};
use crate::state::AppState;

pub(crate) async fn portal(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let body = format!(
        r#"<div id="team-live">{}</div>"#,
        portal_body(&state, &snapshot, team, lang, &csrf)
    );
    let title = format!("{} {}", lang.t(Msg::Team), snapshot.team_name(team));
    Ok(page(
        Frame {
            lang,
            title: &title,
            csrf: Some(&csrf),
            path: "/team",
            live: "team",
        },
        &body,
    ))
}

pub(crate) async fn portal_fragment(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    Ok(Html(portal_body(&state, &snapshot, team, lang, &csrf)))
}

fn portal_body(state: &AppState, snapshot: &Snapshot, team: u32, lang: Lang, csrf: &str) -> String {
    let mut html = String::new();
    let team_score = snapshot.scoreboard.team(team);
    let now = team_score.map_or(0, |score| score.now_exercise_ms);
    let awaiting_grading = exercise::awaiting_grading(state.scenario(), snapshot, team);
    let _ = write!(
        html,
        r#"<section class="summary"><span>{}: <strong id="team-total">{}</strong></span> <span>{}: {}</span></section>"#,
        lang.t(Msg::Points),
        team_score.map_or(0, |score| exercise::team_visible_total(
            score,
            &awaiting_grading
        )),
        lang.t(Msg::ExerciseTime),
        crate::time_format::exercise_offset(now)
    );
    // Objectives.
    let taken: Vec<(String, u32)> = snapshot
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
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><table class="objectives"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        lang.t(Msg::Objectives),
        lang.t(Msg::Objective),
        lang.t(Msg::PhaseProgress),
        lang.t(Msg::Status),
        lang.t(Msg::Deadline),
        lang.t(Msg::Remaining)
    );
    for objective in &state.scenario().objectives {
        let score = team_score.and_then(|score| score.objective(&objective.id));
        let (status_class, status_text) = score
            .map_or(("pending", lang.t(Msg::StatusPending)), |score| {
                status_label(lang, score.status)
            });
        let not_started = score.is_some_and(|score| score.anchor_exercise_ms.is_none());
        let (status_class, status_text) = if awaiting_grading.contains(&objective.id) {
            ("awaiting", lang.t(Msg::AwaitingGrading))
        } else if not_started {
            (status_class, lang.t(Msg::NotYetFired))
        } else {
            (status_class, status_text)
        };
        let deadline = score.and_then(|score| score.deadline_exercise_ms);
        let remaining = match (deadline, score.map(|score| score.status.is_achieved())) {
            (Some(deadline), Some(false)) if deadline > now => {
                crate::time_format::exercise_offset(deadline - now)
            }
            _ => "–".to_owned(),
        };
        let mut actions_html = String::new();
        if let Evidence::Answer(answer) = &objective.evidence {
            let limits = state.scenario().scoring_of(objective);
            let wrong = score.map_or(0, |score| score.wrong_answers);
            let achieved = score.is_some_and(|score| score.status.is_achieved());
            let cost = if limits.wrong_answer_cost > 0 {
                format!(
                    " · {} −{}",
                    lang.t(Msg::WrongAnswerCost),
                    limits.wrong_answer_cost
                )
            } else {
                String::new()
            };
            if score.is_some_and(|score| score.answers_locked) {
                let _ = write!(
                    actions_html,
                    r#"<p class="locked">{}: {}</p><p class="locked">{}</p>"#,
                    escape(lang.pick(&answer.question)),
                    lang.t(Msg::QuestionLocked),
                    lang.t(Msg::AttemptsLeft).to_owned() + ": 0"
                );
            } else if !achieved && !not_started {
                let _ = write!(
                    actions_html,
                    r#"<form method="post" action="/team/answers" class="answer">{}<input type="hidden" name="objective" value="{}"><label>{} <input name="answer" required maxlength="200"></label><button type="submit">{}</button><small class="attempts">{}: {}/{}{cost}</small></form>"#,
                    csrf_field(csrf),
                    escape(&objective.id),
                    escape(lang.pick(&answer.question)),
                    lang.t(Msg::Submit),
                    lang.t(Msg::AttemptsLeft),
                    limits.attempts.saturating_sub(wrong),
                    limits.attempts
                );
            }
        }
        if let Evidence::Report(report) = &objective.evidence {
            let _ = write!(
                actions_html,
                r#"<a href="/team/forms/{}">{}</a>"#,
                url_encode(&report.form),
                lang.t(Msg::FillReport)
            );
        }
        for (index, hint) in objective.hints.iter().enumerate() {
            if taken.contains(&(objective.id.clone(), index as u32)) {
                let _ = write!(
                    actions_html,
                    r#"<p class="hint">💡 {}</p>"#,
                    escape(lang.pick(&hint.text))
                );
            } else {
                let _ = write!(
                    actions_html,
                    r#"<form method="post" action="/team/hints" class="inline">{}<input type="hidden" name="objective" value="{}"><input type="hidden" name="hint_index" value="{index}"><button type="submit" class="secondary">{} (−{})</button></form>"#,
                    csrf_field(csrf),
                    escape(&objective.id),
                    lang.t(Msg::TakeHint),
                    hint.penalty
                );
            }
        }
        let _ = write!(
            html,
            r#"<tr id="objective-{}"><td>{}</td><td>{}</td><td><span class="status {status_class}">{}</span></td><td>{}</td><td>{remaining}</td><td>{actions_html}</td></tr>"#,
            escape(&objective.id),
            escape(lang.pick(&objective.title)),
            phase_name(lang, exercise::scoring_phase(objective.phase)),
            status_text,
            minutes(deadline),
        );
    }
    html.push_str("</tbody></table></section>");
    // Messages.
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2>"#,
        lang.t(Msg::Messages)
    );
    let messages = state
        .team_plan(team)
        .map(|team_plan| received_messages(snapshot, team, team_plan, lang))
        .unwrap_or_default();
    if messages.is_empty() {
        let _ = write!(html, "<p>{}</p>", lang.t(Msg::NoMessages));
    }
    for message in messages.iter().rev() {
        let text = |key: &str| {
            escape(
                message
                    .get(key)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default(),
            )
        };
        let _ = write!(
            html,
            r#"<article class="message"><header><strong>{}</strong> · {}: {} · {}</header><pre>{}</pre></article>"#,
            text("subject"),
            lang.t(Msg::From),
            text("from"),
            minutes(message.get("exercise_ms").and_then(|value| value.as_u64())),
            text("body")
        );
    }
    html.push_str("</section>");
    // Reports.
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><ul>"#,
        lang.t(Msg::Reports)
    );
    for form in &state.scenario().forms {
        let _ = write!(
            html,
            r#"<li><a href="/team/forms/{}">{}</a></li>"#,
            url_encode(&form.id),
            escape(lang.pick(&form.title))
        );
    }
    html.push_str("</ul><ul>");
    for event in snapshot.team_events(team) {
        if let EventKind::ReportSubmitted { form, .. } = &event.kind
            && event.team == Some(team)
        {
            let _ = write!(
                html,
                r#"<li><a href="/team/reports/{}">{} #{}</a> · {}</li>"#,
                event.seq,
                escape(form),
                event.seq,
                minutes(Some(snapshot.exercise_ms_of(event, team)))
            );
        }
    }
    html.push_str("</ul></section>");
    // Timeline.
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><ol class="timeline">"#,
        lang.t(Msg::Timeline)
    );
    if let Some(team_plan) = state.team_plan(team) {
        for item in team_timeline(snapshot, team, team_plan, lang).iter().rev() {
            let _ = write!(
                html,
                "<li><code>{}</code> {}</li>",
                minutes(item.get("exercise_ms").and_then(|value| value.as_u64())),
                escape(&item["event"].to_string())
            );
        }
    }
    html.push_str("</ol></section>");
    html
}

pub(crate) async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    match actions::submit_answer(
        &state,
        &caller,
        team,
        &form.value("objective"),
        &form.value("answer"),
    )
    .await
    {
        Ok(_) => Ok(redirect("/team")),
        Err(RequestError::Conflict(message)) => {
            let csrf = caller.csrf_token(&state);
            let body = format!(
                r#"<section class="card"><p class="error">{}</p><p><a href="/team">{}</a></p></section>"#,
                lang.t(message),
                lang.t(Msg::Back)
            );
            let frame = Frame {
                lang,
                title: lang.t(Msg::Answer),
                csrf: Some(&csrf),
                path: "/team",
                live: "",
            };
            Ok((StatusCode::CONFLICT, page(frame, &body)).into_response())
        }
        Err(other) => Err(other),
    }
}

pub(crate) async fn hint(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    let hint_index = form
        .value("hint_index")
        .parse()
        .map_err(|_| RequestError::BadRequest("hint_index must be a number".to_owned()))?;
    actions::take_hint(&state, &caller, team, &form.value("objective"), hint_index).await?;
    Ok(redirect("/team"))
}

pub(crate) async fn report_form(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(form_id): Path<String>,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let form = exercise::form(state.scenario(), &form_id).ok_or(RequestError::NotFound)?;
    Ok(render_report_form(
        &state,
        &caller,
        lang,
        team,
        form,
        &[],
        &[],
    ))
}

fn render_report_form(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    team: u32,
    form: &Form,
    previous: &[(String, String)],
    problems: &[(String, String)],
) -> Html<String> {
    let csrf = caller.csrf_token(state);
    let previous_values = |name: &str| -> Vec<&str> {
        previous
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    };
    let mut fields_html = String::new();
    // The pickers list the team's own range only, never the attacker's.
    let hosts: Vec<String> = state
        .team_plan(team)
        .map(|team_plan| {
            exercise::team_range_hosts(team_plan)
                .map(|container| container.reference.clone())
                .collect()
        })
        .unwrap_or_default();
    let segments: Vec<String> = state
        .team_plan(team)
        .map(|team_plan| {
            exercise::team_range_segments(team_plan)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for field in &form.fields {
        let values = previous_values(&field.name);
        let first = values.first().copied().unwrap_or_default();
        let name = escape(&field.name);
        let required = if field.required { " required" } else { "" };
        let options_html = |options: &[String], multiple: bool| -> String {
            let mut html = String::new();
            if !multiple {
                html.push_str(r#"<option value=""></option>"#);
            }
            for option in options {
                let selected = if values.contains(&option.as_str()) {
                    " selected"
                } else {
                    ""
                };
                let _ = write!(
                    html,
                    r#"<option value="{0}"{selected}>{0}</option>"#,
                    escape(option)
                );
            }
            html
        };
        let input = match field.field_type {
            FieldType::Text => format!(
                r#"<input name="{name}" value="{}" maxlength="2000"{required}>"#,
                escape(first)
            ),
            FieldType::LongText => format!(
                r#"<textarea name="{name}" rows="4"{required}>{}</textarea>"#,
                escape(first)
            ),
            FieldType::Choice => format!(
                r#"<select name="{name}"{required}>{}</select>"#,
                options_html(&field.options, false)
            ),
            FieldType::MultiChoice => format!(
                r#"<select name="{name}" multiple{required}>{}</select>"#,
                options_html(&field.options, true)
            ),
            FieldType::Datetime => format!(
                r#"<input type="datetime-local" name="{name}" value="{}"{required}>"#,
                escape(first)
            ),
            FieldType::Bool => {
                let options = [("true", lang.t(Msg::Yes)), ("false", lang.t(Msg::No))];
                let mut html =
                    format!(r#"<select name="{name}"{required}><option value=""></option>"#);
                for (value, label) in options {
                    let selected = if first == value { " selected" } else { "" };
                    let _ = write!(
                        html,
                        r#"<option value="{value}"{selected}>{label}</option>"#
                    );
                }
                html.push_str("</select>");
                html
            }
            FieldType::Number => format!(
                r#"<input type="number" step="any" name="{name}" value="{}"{required}>"#,
                escape(first)
            ),
            FieldType::Host => format!(
                r#"<select name="{name}"{required}>{}</select>"#,
                options_html(&hosts, false)
            ),
            FieldType::Hosts => format!(
                r#"<select name="{name}" multiple{required}>{}</select>"#,
                options_html(&hosts, true)
            ),
            FieldType::Segments => format!(
                r#"<select name="{name}" multiple{required}>{}</select>"#,
                options_html(&segments, true)
            ),
        };
        let problem = problems
            .iter()
            .find(|(problem_field, _)| problem_field == &field.name)
            .map_or(String::new(), |(_, message)| {
                format!(r#"<span class="error">{}</span>"#, escape(message))
            });
        let _ = write!(
            fields_html,
            r#"<label>{}{} {input} {problem}</label>"#,
            escape(lang.pick(&field.label)),
            if field.required {
                format!(" <small>({})</small>", lang.t(Msg::Required))
            } else {
                String::new()
            }
        );
    }
    let error = if problems.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="error">{}</p>"#, lang.t(Msg::InvalidInput))
    };
    let body = format!(
        r#"<section class="card"><h1>{title}</h1>{error}<form method="post" action="/team/forms/{id}" class="report">{csrf}{fields_html}<button type="submit">{submit}</button></form><p><a href="/team">{back}</a></p></section>"#,
        title = escape(lang.pick(&form.title)),
        id = url_encode(&form.id),
        csrf = csrf_field(&csrf),
        submit = lang.t(Msg::Submit),
        back = lang.t(Msg::Back),
    );
    let path = format!("/team/forms/{}", url_encode(&form.id));
    page(
        Frame {
            lang,
            title: lang.pick(&form.title),
            csrf: Some(&csrf),
            path: &path,
            live: "",
        },
        &body,
    )
}

pub(crate) async fn submit_report(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    headers: HeaderMap,
    Path(form_id): Path<String>,
    body: Bytes,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let fields = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, fields.get(CSRF_FIELD))?;
    let form = exercise::form(state.scenario(), &form_id).ok_or(RequestError::NotFound)?;
    let mut raw: BTreeMap<String, RawField> = BTreeMap::new();
    for (name, value) in fields.0.iter().filter(|(name, _)| name != CSRF_FIELD) {
        match raw
            .entry(name.clone())
            .or_insert_with(|| RawField::Texts(Vec::new()))
        {
            RawField::Texts(values) => values.push(value.clone()),
            RawField::Json(_) => {}
        }
    }
    match actions::submit_report(&state, &caller, team, &form_id, &raw).await {
        Ok(seq) => Ok(redirect(&format!("/team/reports/{seq}"))),
        Err(RequestError::InvalidFields(problems)) => {
            let previous: Vec<(String, String)> = fields
                .0
                .into_iter()
                .filter(|(name, _)| name != CSRF_FIELD)
                .collect();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render_report_form(&state, &caller, lang, team, form, &previous, &problems),
            )
                .into_response())
        }
        Err(other) => Err(other),
    }
}

pub(crate) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(seq): Path<u64>,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let report = actions::team_report(&state, team, seq).await?;
    let csrf = caller.csrf_token(&state);
    let body = format!(
        r#"<section class="card"><h1>{}</h1>{}<p><a href="/team">{}</a></p></section>"#,
        lang.t(Msg::ReportReceived),
        report_table(&state, lang, &report),
        lang.t(Msg::Back)
    );
    let path = format!("/team/reports/{seq}");
    Ok(page(
        Frame {
            lang,
            title: lang.t(Msg::Reports),
            csrf: Some(&csrf),
            path: &path,
            live: "",
        },
        &body,
    ))
}

/// A submitted report's fields as a table, labelled from its form.
pub(crate) fn report_table(state: &AppState, lang: Lang, report: &enshu_store::Event) -> String {
    let EventKind::ReportSubmitted { form, fields } = &report.kind else {
        return String::new();
    };
    let form_definition = exercise::form(state.scenario(), form);
    let mut html = format!(
        r#"<h2>{} · #{} · {}</h2><table class="report">"#,
        escape(form_definition.map_or(form.as_str(), |definition| lang.pick(&definition.title))),
        report.seq,
        crate::time_format::utc_timestamp(report.at_ms)
    );
    if let Some(fields) = fields.as_object() {
        for (name, value) in fields {
            let label = form_definition
                .and_then(|definition| definition.fields.iter().find(|field| &field.name == name))
                .map_or(name.as_str(), |field| lang.pick(&field.label));
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Bool(true) => lang.t(Msg::Yes).to_owned(),
                serde_json::Value::Bool(false) => lang.t(Msg::No).to_owned(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map_or(item.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            let _ = write!(
                html,
                "<tr><th>{}</th><td><pre>{}</pre></td></tr>",
                escape(label),
                escape(&text)
            );
        }
    }
    html.push_str("</table>");
    html
}
