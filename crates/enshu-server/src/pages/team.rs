//! The team portal: objectives with deadlines, messages received, answers,
//! reports, hints and the team's own timeline. Every read is scoped to the
//! caller's team.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use enshu_scenario::model::{Evidence, FieldType, Form};
use enshu_store::EventKind;

use super::describe;
use super::{FormFields, redirect};
use crate::actions;
use crate::api::team::received_messages;
use crate::auth::{CSRF_FIELD, Caller};
use crate::error::RequestError;
use crate::exercise::{self, RawField, Snapshot};
use crate::html::{
    Clock, Frame, csrf_field, escape, offset, page, phase_name, status_label, url_encode,
};
use crate::i18n::{Lang, Msg};
use crate::state::AppState;

/// What the last action on the portal asks it to say: the query of the
/// redirect after an answer or a firewall change (`?answered=…`), so a
/// wrong answer keeps its text and the feedback survives live reloads.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Feedback {
    #[serde(default)]
    answered: Option<String>,
    #[serde(default)]
    correct: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    answer_error: Option<String>,
    #[serde(default)]
    firewall: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

pub(crate) async fn portal(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Query(feedback): Query<Feedback>,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let body = format!(
        r#"<div id="team-live">{}</div>"#,
        portal_body(&state, &snapshot, team, lang, &csrf, &feedback)
    );
    let title = format!("{} {}", lang.t(Msg::Team), snapshot.team_name(team));
    let zone = &state.options().time_zone;
    Ok(page(
        Frame {
            lang,
            title: &title,
            csrf: Some(&csrf),
            path: "/team",
            live: "team",
            clock: Some(Clock::of(&snapshot, Some(team), zone)),
        },
        &body,
    ))
}

pub(crate) async fn portal_fragment(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Query(feedback): Query<Feedback>,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    Ok(Html(portal_body(
        &state, &snapshot, team, lang, &csrf, &feedback,
    )))
}

/// A countdown app.js ticks while the clock runs.
fn countdown(remaining_ms: u64, lang: Lang) -> String {
    format!(
        r#"<span class="countdown" data-remaining-ms="{remaining_ms}" data-expired="{}">{}</span>"#,
        lang.t(Msg::Expired),
        crate::time_format::exercise_offset(remaining_ms)
    )
}

fn portal_body(
    state: &AppState,
    snapshot: &Snapshot,
    team: u32,
    lang: Lang,
    csrf: &str,
    feedback: &Feedback,
) -> String {
    let mut html = String::new();
    let scenario = state.scenario();
    let team_score = snapshot.scoreboard.team(team);
    let now = team_score.map_or(0, |score| score.now_exercise_ms);
    let awaiting_grading = exercise::awaiting_grading(scenario, snapshot, team);
    let clock = Clock::of(snapshot, Some(team), &state.options().time_zone);
    let _ = write!(
        html,
        r#"{}<section class="summary"><span>{}: <strong id="team-total">{}</strong></span></section>"#,
        clock.sync_marker(lang),
        lang.t(Msg::Points),
        team_score.map_or(0, |score| exercise::team_visible_total(
            score,
            &awaiting_grading
        )),
    );
    // Messages, on top: the newest first, each marked until the team
    // marks them read (a `messages_read` event, so the mark holds for
    // every member of the team and over a reload).
    let messages = state
        .team_plan(team)
        .map(|team_plan| received_messages(snapshot, team, team_plan, lang))
        .unwrap_or_default();
    let seq_of = |message: &serde_json::Value| {
        message
            .get("seq")
            .and_then(|value| value.as_u64())
            .unwrap_or_default()
    };
    let is_unread = |message: &serde_json::Value| message["unread"] == serde_json::json!(true);
    let unread = messages.iter().filter(|message| is_unread(message)).count();
    let newest = messages.iter().map(seq_of).max().unwrap_or_default();
    let _ = write!(
        html,
        r#"<section class="card messages" id="messages"><h2>{}{}</h2>"#,
        lang.t(Msg::Messages),
        if unread > 0 {
            format!(
                r#" <span class="unread-count">{}</span>"#,
                lang.t(Msg::UnreadCount).replace("{n}", &unread.to_string())
            )
        } else {
            String::new()
        }
    );
    if messages.is_empty() {
        let _ = write!(html, "<p>{}</p>", lang.t(Msg::NoMessages));
    }
    if unread > 0 {
        let _ = write!(
            html,
            r#"<form method="post" action="/team/messages/read" class="mark-read">{}<input type="hidden" name="up_to" value="{newest}"><button type="submit" class="secondary">{}</button></form>"#,
            crate::html::csrf_field(csrf),
            lang.t(Msg::MarkRead)
        );
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
        let is_unread = is_unread(message);
        let _ = write!(
            html,
            r#"<article class="message{}"><header>{}<strong>{}</strong> · {}: {} · {}</header><pre>{}</pre></article>"#,
            if is_unread { " unread" } else { "" },
            if is_unread {
                format!(
                    r#"<span class="unread-mark">{}</span> "#,
                    lang.t(Msg::Unread)
                )
            } else {
                String::new()
            },
            text("subject"),
            lang.t(Msg::From),
            text("from"),
            offset(
                lang,
                message.get("exercise_ms").and_then(|value| value.as_u64())
            ),
            text("body")
        );
    }
    html.push_str("</section>");
    // Next to do: open objectives, the nearest deadline first.
    let mut open: Vec<(&enshu_scenario::model::Objective, Option<u64>)> = scenario
        .objectives
        .iter()
        .filter_map(|objective| {
            let score = team_score?.objective(&objective.id)?;
            let open = score.anchor_exercise_ms.is_some()
                && !score.status.is_achieved()
                && score.status != enshu_scoring::ObjectiveStatus::Missed
                && !awaiting_grading.contains(&objective.id);
            open.then_some((objective, score.deadline_exercise_ms))
        })
        .collect();
    open.sort_by_key(|(_, deadline)| deadline.unwrap_or(u64::MAX));
    let _ = write!(
        html,
        r#"<section class="card next" id="next-to-do"><h2>{}</h2>"#,
        lang.t(Msg::NextToDo)
    );
    if open.is_empty() {
        let _ = write!(html, "<p>{}</p>", lang.t(Msg::NothingToDo));
    } else {
        html.push_str("<ol>");
        for (objective, deadline) in &open {
            let left = match deadline {
                Some(deadline) if *deadline > now => format!(
                    "{} {}",
                    lang.t(Msg::Remaining),
                    countdown(deadline - now, lang)
                ),
                Some(_) => lang.t(Msg::Expired).to_owned(),
                None => String::new(),
            };
            let _ = write!(
                html,
                r##"<li><a href="#objective-{}">{}</a> <span class="left">{left}</span></li>"##,
                escape(&objective.id),
                escape(lang.pick(&objective.title)),
            );
        }
        html.push_str("</ol>");
    }
    html.push_str("</section>");
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
    let headers = [
        lang.t(Msg::Objective),
        lang.t(Msg::PhaseProgress),
        lang.t(Msg::Status),
        lang.t(Msg::DeadlineOffset),
        lang.t(Msg::Remaining),
    ];
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><table class="objectives stack"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        lang.t(Msg::Objectives),
        headers[0],
        headers[1],
        headers[2],
        headers[3],
        headers[4],
    );
    for objective in &scenario.objectives {
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
            (Some(deadline), Some(false)) if deadline > now && !not_started => {
                countdown(deadline - now, lang)
            }
            _ => "–".to_owned(),
        };
        let mut actions_html = format!(
            r#"<p class="how"><small>{}: {}</small></p>"#,
            lang.t(Msg::HowChecked),
            escape(&describe::how_checked(lang, scenario, objective))
        );
        if let Evidence::Answer(answer) = &objective.evidence {
            let limits = scenario.scoring_of(objective);
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
            let this_one = feedback.answered.as_deref() == Some(objective.id.as_str());
            let answer_feedback = if !this_one {
                String::new()
            } else if feedback.answer_error.is_some() {
                format!(
                    r#"<p class="feedback wrong" role="alert">{}</p>"#,
                    lang.t(Msg::AnswerRequired)
                )
            } else if feedback.correct.as_deref() == Some("1") {
                format!(
                    r#"<p class="feedback right" role="status">{}</p>"#,
                    lang.t(Msg::AnswerWasCorrect)
                )
            } else {
                format!(
                    r#"<p class="feedback wrong" role="alert">{}（{}: {}）</p>"#,
                    lang.t(Msg::AnswerWasWrong),
                    lang.t(Msg::YourAnswer),
                    escape(feedback.answer.as_deref().unwrap_or_default())
                )
            };
            actions_html.push_str(&answer_feedback);
            if score.is_some_and(|score| score.answers_locked) {
                let _ = write!(
                    actions_html,
                    r#"<p class="locked">{}: {}</p><p class="locked">{}</p>"#,
                    escape(lang.pick(&answer.question)),
                    lang.t(Msg::QuestionLocked),
                    lang.t(Msg::AttemptsLeft).to_owned() + ": 0"
                );
            } else if !achieved && !not_started {
                let kept = if this_one && feedback.correct.as_deref() != Some("1") {
                    feedback.answer.as_deref().unwrap_or_default()
                } else {
                    ""
                };
                let _ = write!(
                    actions_html,
                    r#"<form method="post" action="/team/answers" class="answer">{}<input type="hidden" name="objective" value="{}"><label>{} <input name="answer" required maxlength="200" value="{}"></label><button type="submit">{}</button><small class="attempts">{}: {}/{}{cost}</small></form>"#,
                    csrf_field(csrf),
                    escape(&objective.id),
                    escape(lang.pick(&answer.question)),
                    escape(kept),
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
                // Spending points asks first: the form is behind a summary.
                let _ = write!(
                    actions_html,
                    r#"<details class="hint-confirm"><summary>{} (−{})</summary><form method="post" action="/team/hints">{}<input type="hidden" name="objective" value="{}"><input type="hidden" name="hint_index" value="{index}"><p>{}</p><button type="submit" class="secondary">{}</button></form></details>"#,
                    lang.t(Msg::TakeHint),
                    hint.penalty,
                    csrf_field(csrf),
                    escape(&objective.id),
                    lang.t(Msg::HintConfirm)
                        .replace("{p}", &hint.penalty.to_string()),
                    lang.t(Msg::HintConfirmYes),
                );
            }
        }
        let _ = write!(
            html,
            r#"<tr id="objective-{}"><td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}"><span class="status {status_class}">{}</span></td><td data-label="{}">{}</td><td data-label="{}">{remaining}</td><td class="actions">{actions_html}</td></tr>"#,
            escape(&objective.id),
            headers[0],
            escape(lang.pick(&objective.title)),
            headers[1],
            phase_name(lang, exercise::scoring_phase(objective.phase)),
            headers[2],
            status_text,
            headers[3],
            offset(lang, deadline),
            headers[4],
        );
    }
    html.push_str("</tbody></table></section>");
    html.push_str(&firewall_card(state, snapshot, team, lang, csrf, feedback));
    if let Some(team_plan) = state.team_plan(team) {
        let _ = write!(
            html,
            r#"<section class="card" id="network"><h2>{}</h2>{}</section>"#,
            lang.t(Msg::MapTitle),
            crate::network_map::network_map(lang, scenario, team_plan)
        );
    }
    // Reports.
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><ul>"#,
        lang.t(Msg::Reports)
    );
    for form in &scenario.forms {
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
                r#"<li><a href="/team/reports/{}">{}</a> · {}</li>"#,
                event.seq,
                escape(&describe::report_name(lang, scenario, form, event.seq)),
                offset(lang, Some(snapshot.exercise_ms_of(event, team)))
            );
        }
    }
    html.push_str("</ul></section>");
    // Timeline: the team's own events as sentences.
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><ol class="timeline">"#,
        lang.t(Msg::Timeline)
    );
    if let Some(team_plan) = state.team_plan(team) {
        let events: Vec<&enshu_store::Event> = snapshot
            .team_events(team)
            .filter(|event| exercise::visible_to_team(event, team, team_plan))
            .collect();
        for event in events.iter().rev() {
            if let Some(sentence) = describe::team_event(lang, scenario, team_plan, event) {
                let _ = write!(
                    html,
                    "<li>{} {}</li>",
                    offset(lang, Some(snapshot.exercise_ms_of(event, team))),
                    escape(&sentence)
                );
            }
        }
    }
    html.push_str("</ol></section>");
    html
}

/// The team's own firewall: block or unblock an address of its range.
fn firewall_card(
    state: &AppState,
    snapshot: &Snapshot,
    team: u32,
    lang: Lang,
    csrf: &str,
    feedback: &Feedback,
) -> String {
    let address = feedback.address.as_deref().unwrap_or_default();
    let result = match feedback.firewall.as_deref() {
        Some("blocked") => format!(
            r#"<p class="feedback right" role="status">{}</p>"#,
            escape(&lang.t(Msg::FirewallBlocked).replace("{a}", address))
        ),
        Some("unblocked") => format!(
            r#"<p class="feedback right" role="status">{}</p>"#,
            escape(&lang.t(Msg::FirewallUnblocked).replace("{a}", address))
        ),
        Some("not-address") => format!(
            r#"<p class="feedback wrong" role="alert">{}</p>"#,
            escape(&actions::FirewallProblem::NotAnAddress(address.to_owned()).text(lang))
        ),
        Some("not-in-range") => match address.parse() {
            Ok(parsed) => format!(
                r#"<p class="feedback wrong" role="alert">{}</p>"#,
                escape(&actions::FirewallProblem::NotInRange(parsed).text(lang))
            ),
            Err(_) => String::new(),
        },
        _ => String::new(),
    };
    let kept = if matches!(
        feedback.firewall.as_deref(),
        Some("not-address" | "not-in-range")
    ) {
        address
    } else {
        ""
    };
    let blocked = actions::blocked_addresses(snapshot, team);
    let mut blocked_html = String::new();
    if !blocked.is_empty() {
        let _ = write!(blocked_html, "<p>{}:</p><ul>", lang.t(Msg::FirewallCurrent));
        for address in &blocked {
            let _ = write!(
                blocked_html,
                r#"<li><code>{0}</code> <form method="post" action="/team/firewall" class="inline">{1}<input type="hidden" name="address" value="{0}"><button type="submit" name="action" value="unblock" class="secondary">{2}</button></form></li>"#,
                escape(address),
                csrf_field(csrf),
                lang.t(Msg::FirewallUnblock)
            );
        }
        blocked_html.push_str("</ul>");
    }
    let _ = state;
    format!(
        r#"<section class="card" id="firewall"><h2>{title}</h2><p><small>{help}</small></p>{result}<form method="post" action="/team/firewall" class="firewall">{csrf}<label>{label} <input name="address" required inputmode="decimal" pattern="[0-9]{{1,3}}(\.[0-9]{{1,3}}){{3}}" placeholder="10.1.10.101" value="{kept}"></label> <button type="submit" name="action" value="block">{block}</button> <button type="submit" name="action" value="unblock" class="secondary">{unblock}</button></form>{blocked_html}</section>"#,
        title = lang.t(Msg::Firewall),
        help = lang.t(Msg::FirewallHelp),
        csrf = csrf_field(csrf),
        label = lang.t(Msg::FirewallAddress),
        kept = escape(kept),
        block = lang.t(Msg::FirewallBlock),
        unblock = lang.t(Msg::FirewallUnblock),
    )
}

/// `POST /team/messages/read`: the team has read its messages up to the
/// one of event `up_to` (never past the newest it was sent).
pub(crate) async fn messages_read(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    let up_to: u64 = form.value("up_to").trim().parse().map_err(|_| {
        RequestError::InvalidFields(vec![("up_to".to_owned(), "not a whole number".to_owned())])
    })?;
    actions::mark_messages_read(&state, &caller, team, up_to).await?;
    Ok(redirect("/team#messages"))
}

/// The firewall form: the change is recorded as the JSON API records it,
/// then the portal says what happened in the team's language.
pub(crate) async fn firewall(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    state.admit(&caller, team, crate::fair_share::WriteKind::Firewall)?;
    let block = match form.value("action").as_str() {
        "block" => true,
        "unblock" => false,
        other => {
            return Err(RequestError::BadRequest(format!(
                "action {other:?} is neither block nor unblock"
            )));
        }
    };
    let team_plan = state.team_plan(team).ok_or(RequestError::NotFound)?;
    let text = form.value("address");
    let outcome = match actions::firewall_address(team_plan, &text) {
        Ok(address) => {
            state
                .append(
                    Some(team),
                    EventKind::FirewallChanged {
                        block,
                        address: address.to_string(),
                    },
                    &caller.actor(),
                )
                .await?;
            (
                if block { "blocked" } else { "unblocked" },
                address.to_string(),
            )
        }
        Err(actions::FirewallProblem::NotAnAddress(text)) => ("not-address", text),
        Err(actions::FirewallProblem::NotInRange(address)) => ("not-in-range", address.to_string()),
    };
    Ok(redirect(&format!(
        "/team?firewall={}&address={}#firewall",
        outcome.0,
        url_encode(&outcome.1)
    )))
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
    let objective = form.value("objective");
    let answer = form.value("answer");
    match actions::submit_answer(&state, &caller, team, &objective, &answer).await {
        Ok(outcome) => Ok(redirect(&format!(
            "/team?answered={0}&correct={1}&answer={2}#objective-{0}",
            url_encode(&objective),
            u8::from(outcome.correct),
            url_encode(answer.trim())
        ))),
        Err(RequestError::InvalidFields(_)) => Ok(redirect(&format!(
            "/team?answered={0}&answer_error=required#objective-{0}",
            url_encode(&objective)
        ))),
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
                clock: None,
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
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let clock = Clock::of(&snapshot, Some(team), &state.options().time_zone);
    Ok(render_report_form(
        &state,
        &caller,
        lang,
        team,
        form,
        (&[], &[]),
        clock,
    ))
}

/// What a refused report sent (kept in its fields) and what was wrong.
type Submitted<'a> = (
    &'a [(String, String)],
    &'a [(String, exercise::FieldProblem)],
);

fn render_report_form(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    team: u32,
    form: &Form,
    (previous, problems): Submitted<'_>,
    clock: Clock<'_>,
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
                    r#"<option value="{}"{selected}>{}</option>"#,
                    escape(option),
                    escape(crate::i18n::option_label(lang, option))
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
            .map_or(String::new(), |(_, problem)| {
                format!(
                    r#"<span class="error" role="alert">{}</span>"#,
                    escape(&problem.text(lang))
                )
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
            clock: Some(clock),
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
    let raw = raw_report_fields(&fields);
    match actions::submit_report(&state, &caller, team, &form_id, &raw).await {
        Ok(seq) => Ok(redirect(&format!("/team/reports/{seq}"))),
        Err(RequestError::InvalidReport(problems)) => {
            let previous: Vec<(String, String)> = fields
                .0
                .into_iter()
                .filter(|(name, _)| name != CSRF_FIELD)
                .collect();
            let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
            let clock = Clock::of(&snapshot, Some(team), &state.options().time_zone);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render_report_form(
                    &state,
                    &caller,
                    lang,
                    team,
                    form,
                    (&previous, &problems),
                    clock,
                ),
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
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let csrf = caller.csrf_token(&state);
    let scenario = state.scenario();
    let next = match &report.kind {
        EventKind::ReportSubmitted { form, .. } => exercise::form(scenario, form).map(|form| {
            crate::receipt::next_steps(lang, scenario, form, |next| {
                crate::receipt::open_report_deadline(scenario, &snapshot, team, next)
            })
        }),
        _ => None,
    };
    let mut next_html = String::new();
    if let Some(next) = &next {
        next_html.push_str(r#"<div class="feedback right" role="status" id="what-next">"#);
        for sentence in &next.sentences {
            let _ = write!(next_html, "<p>{}</p>", escape(sentence));
        }
        if let Some(form) = &next.next_form {
            if let Some(deadline) = form.deadline_exercise_ms {
                let _ = write!(
                    next_html,
                    "<p>{}: {}</p>",
                    escape(&lang.t(Msg::NextReportDue).replace("{f}", &form.title)),
                    offset(lang, Some(deadline))
                );
            }
            let _ = write!(
                next_html,
                r#"<p><a href="/team/forms/{}">{}</a></p>"#,
                url_encode(&form.id),
                escape(&lang.t(Msg::WriteNextReport).replace("{f}", &form.title))
            );
        }
        next_html.push_str("</div>");
    }
    let body = format!(
        r#"<section class="card"><h1>{}</h1>{next_html}{}<p><a href="/team">{}</a></p></section>"#,
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
            clock: Some(Clock::of(&snapshot, Some(team), &state.options().time_zone)),
        },
        &body,
    ))
}

/// A submitted report's fields as a table in its form's field order,
/// labelled from the form, choice options by their labels
/// (`receipt::rows`).
pub(crate) fn report_table(state: &AppState, lang: Lang, report: &enshu_store::Event) -> String {
    let EventKind::ReportSubmitted { form, fields } = &report.kind else {
        return String::new();
    };
    let scenario = state.scenario();
    let zone = &state.options().time_zone;
    let mut html = format!(
        r#"<h2>{}</h2><p>{}: {} <small>({})</small></p><table class="report"><caption>{}</caption>"#,
        escape(&describe::report_name(lang, scenario, form, report.seq)),
        lang.t(Msg::SubmittedAt),
        zone.wall_clock(report.at_ms),
        escape(zone.name()),
        lang.t(Msg::SubmittedFields),
    );
    if let Some(fields) = fields.as_object() {
        for row in crate::receipt::rows(lang, exercise::form(scenario, form), fields) {
            let _ = write!(
                html,
                r#"<tr data-field="{}"><th>{}</th><td><pre>{}</pre></td></tr>"#,
                escape(&row.name),
                escape(&row.label),
                escape(&row.value)
            );
        }
    }
    html.push_str("</table>");
    html
}

/// A report form's posted fields as the report check takes them: every
/// value of each name, the CSRF token left out.
pub(crate) fn raw_report_fields(fields: &FormFields) -> BTreeMap<String, RawField> {
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
    raw
}
