//! Instructor pages: the scoreboard (live), a team's timeline and review
//! page, report grading, notes, adjustments and the after-action report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use enshu_scoring::Phase;
use enshu_store::EventKind;

use super::describe;
use super::{FormFields, redirect};
use crate::actions;
use crate::auth::{CSRF_FIELD, Caller};
use crate::error::RequestError;
use crate::exercise::{self, Alert, Snapshot};
use crate::html::{
    Clock, Frame, csrf_field, escape, minutes, offset, page, phase_name, status_label,
};
use crate::i18n::{Lang, Msg};
use crate::pages::team::report_table;
use crate::scoreboard_cache::ScoreboardHtml;
use crate::state::AppState;

pub(crate) async fn scoreboard(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let csrf = caller.csrf_token(&state);
    let board = state.scoreboard().await?;
    let rendered = board.html(lang, |snapshot, lang| {
        render_scoreboard(&state, snapshot, lang)
    });
    let body = format!(
        r#"<section class="card"><h1>{title} <span class="live-badge" id="live-status">{live}</span></h1><div id="scoreboard">{table}</div>
<p class="exports"><a href="/api/instructor/export.json">JSON</a> · <a href="/api/instructor/export.csv">CSV</a></p></section>
<section class="card"><h2>{comparison}</h2><div id="comparison" class="comparison-wrap">{chart}</div></section>"#,
        title = escape(
            state
                .scenario()
                .title
                .ja
                .as_deref()
                .map_or(lang.pick(&state.scenario().title), |_| lang
                    .pick(&state.scenario().title))
        ),
        live = lang.t(Msg::Live),
        table = rendered.table,
        comparison = lang.t(Msg::PhaseComparison),
        chart = rendered.chart,
    );
    Ok(page(
        Frame {
            lang,
            title: lang.t(Msg::Scoreboard),
            csrf: Some(&csrf),
            path: "/",
            live: "scoreboard",
            clock: Some(Clock::of(&board.snapshot, None, &state.options().time_zone)),
        },
        &body,
    ))
}

/// The scoreboard table and comparison chart, reloaded by the live script.
pub(crate) async fn scoreboard_fragment(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let board = state.scoreboard().await?;
    let rendered = board.html(lang, |snapshot, lang| {
        render_scoreboard(&state, snapshot, lang)
    });
    let clock = Clock::of(&board.snapshot, None, &state.options().time_zone);
    Ok(Html(format!(
        r#"{}<div id="scoreboard">{}</div><div id="comparison" class="comparison-wrap">{}</div>"#,
        clock.sync_marker(lang),
        rendered.table,
        rendered.chart
    )))
}

fn render_scoreboard(state: &AppState, snapshot: &Snapshot, lang: Lang) -> ScoreboardHtml {
    ScoreboardHtml {
        table: scoreboard_table(state, snapshot, lang),
        chart: crate::svg::phase_comparison(snapshot, lang),
    }
}

/// The teams ranked by points (equal points share a rank), each with its
/// phase chips, phase times, next deadline, time since its last action and
/// its alerts folded into one line. Columns sort on click (app.js).
fn scoreboard_table(state: &AppState, snapshot: &Snapshot, lang: Lang) -> String {
    let scenario = state.scenario();
    let headers = [
        (Msg::Rank, "number"),
        (Msg::Team, "text"),
        (Msg::Points, "number"),
        (Msg::PhaseProgress, ""),
        (Msg::TimeToDetect, "number"),
        (Msg::TimeToContain, "number"),
        (Msg::TimeToReport, "number"),
        (Msg::TimeToRecover, "number"),
        (Msg::NextDeadline, "number"),
        (Msg::LastActivity, "number"),
        (Msg::Alerts, "number"),
    ];
    let mut html = String::from(
        r#"<div class="scoreboard-wrap"><table class="scoreboard sortable"><thead><tr>"#,
    );
    for (message, kind) in headers {
        if kind.is_empty() {
            let _ = write!(html, "<th>{}</th>", lang.t(message));
        } else {
            let _ = write!(html, r#"<th data-sort="{kind}">{}</th>"#, lang.t(message));
        }
    }
    html.push_str("</tr></thead><tbody>");
    let idle_after_ms = state.options().idle_alert_after.as_millis() as u64;
    let mut ranked: Vec<&enshu_scoring::TeamScore> = snapshot.scoreboard.teams.iter().collect();
    ranked.sort_by(|a, b| b.total.cmp(&a.total).then(a.team.cmp(&b.team)));
    let mut rank = 0;
    let mut previous_total = None;
    for (position, team_score) in ranked.iter().enumerate() {
        if previous_total != Some(team_score.total) {
            rank = position + 1;
            previous_total = Some(team_score.total);
        }
        let team = team_score.team;
        let now = team_score.now_exercise_ms;
        let mut progress = String::new();
        for phase in Phase::ALL {
            let summary = team_score.phase(phase);
            let _ = write!(
                progress,
                r#"<span class="phase {state}">{name} {done}/{total}</span>"#,
                state = if summary.objectives_total > 0
                    && summary.objectives_achieved == summary.objectives_total
                {
                    "done"
                } else if summary.objectives_achieved > 0 {
                    "partial"
                } else {
                    "todo"
                },
                name = phase_name(lang, phase),
                done = summary.objectives_achieved,
                total = summary.objectives_total
            );
        }
        // The nearest deadline still open.
        let next = team_score
            .objectives
            .iter()
            .filter(|objective| {
                !objective.status.is_achieved()
                    && objective.status != enshu_scoring::ObjectiveStatus::Missed
            })
            .filter_map(|objective| {
                objective
                    .deadline_exercise_ms
                    .filter(|deadline| *deadline > now)
                    .map(|deadline| (deadline, &objective.objective))
            })
            .min();
        let next_html = next.map_or("–".to_owned(), |(deadline, objective)| {
            format!(
                r#"{} <span class="countdown" data-remaining-ms="{}" data-expired="{}">{}</span>"#,
                escape(describe::objective_title(lang, scenario, objective)),
                deadline - now,
                lang.t(Msg::Expired),
                minutes(Some(deadline - now))
            )
        });
        let actor = format!("team:{team}");
        let last_action = snapshot
            .team_events(team)
            .filter(|event| event.actor == actor)
            .map(|event| snapshot.exercise_ms_of(event, team))
            .max();
        let since = last_action.map(|last| now.saturating_sub(last));
        let alerts = exercise::alerts(snapshot, team, idle_after_ms);
        let idle = alerts
            .iter()
            .any(|alert| matches!(alert, Alert::Idle { .. }));
        let since_html = format!(
            r#"<span class="{}">{}</span>"#,
            if idle { "idle" } else { "" },
            since.map_or(
                if idle {
                    lang.t(Msg::IdleFor).to_owned()
                } else {
                    "–".to_owned()
                },
                |since| minutes(Some(since))
            )
        );
        let missed: Vec<String> = alerts
            .iter()
            .filter_map(|alert| match alert {
                Alert::DeadlineMissed { objective } => Some(format!(
                    r#"<li title="{}">{}</li>"#,
                    escape(objective),
                    escape(describe::objective_title(lang, scenario, objective))
                )),
                Alert::Idle { .. } => None,
            })
            .collect();
        let alerts_html = if missed.is_empty() {
            String::new()
        } else {
            format!(
                r#"<details class="alerts"><summary>{} {}</summary><ul>{}</ul></details>"#,
                lang.t(Msg::DeadlineMissed),
                missed.len(),
                missed.concat()
            )
        };
        let sort_ms = |value: Option<u64>| value.map_or(u64::MAX, |value| value);
        let _ = write!(
            html,
            r#"<tr id="team-row-{team}"><td class="rank" data-value="{rank}">{rank}</td><td data-value="{name}"><a href="/teams/{team}">{name}</a></td><td class="points" data-value="{total}" id="team-points-{team}">{total}</td><td>{progress}</td><td data-value="{}">{}</td><td data-value="{}">{}</td><td data-value="{}">{}</td><td data-value="{}">{}</td><td data-value="{}">{next_html}</td><td data-value="{}">{since_html}</td><td data-value="{}">{alerts_html}</td></tr>"#,
            sort_ms(team_score.time_to_detect_ms()),
            minutes(team_score.time_to_detect_ms()),
            sort_ms(team_score.time_to_contain_ms()),
            minutes(team_score.time_to_contain_ms()),
            sort_ms(team_score.time_to_report_ms()),
            minutes(team_score.time_to_report_ms()),
            sort_ms(team_score.time_to_recover_ms()),
            minutes(team_score.time_to_recover_ms()),
            sort_ms(next.map(|(deadline, _)| deadline)),
            since.unwrap_or(u64::MAX),
            missed.len(),
            name = escape(&snapshot.team_name(team)),
            total = team_score.total,
        );
    }
    html.push_str("</tbody></table></div>");
    html
}

pub(crate) async fn team_page(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(team): Path<u32>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    actions::existing_team(&state, team).await?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    let body = format!(
        r#"<div id="team-page-live">{}</div>"#,
        team_page_body(&state, &snapshot, team, lang, &csrf)
    );
    let title = snapshot.team_name(team);
    let path = format!("/teams/{team}");
    Ok(page(
        Frame {
            lang,
            title: &title,
            csrf: Some(&csrf),
            path: &path,
            live: "team-page",
            clock: Some(Clock::of(&snapshot, Some(team), &state.options().time_zone)),
        },
        &body,
    ))
}

/// The team page's body, reloaded by the live script.
pub(crate) async fn team_page_fragment(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(team): Path<u32>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    actions::existing_team(&state, team).await?;
    let csrf = caller.csrf_token(&state);
    let snapshot = exercise::load_snapshot(&state, Some(team)).await?;
    Ok(Html(team_page_body(&state, &snapshot, team, lang, &csrf)))
}

fn team_page_body(
    state: &AppState,
    snapshot: &Snapshot,
    team: u32,
    lang: Lang,
    csrf: &str,
) -> String {
    let clock = Clock::of(snapshot, Some(team), &state.options().time_zone);
    let mut body = clock.sync_marker(lang);
    body.push_str(&team_summary(state, snapshot, team, lang));
    // Reports to review.
    let _ = write!(
        body,
        r#"<section class="card"><h2>{}</h2><ul>"#,
        lang.t(Msg::Reports)
    );
    for event in snapshot.team_events(team) {
        if let EventKind::ReportSubmitted { form, .. } = &event.kind {
            let graded = snapshot.team_events(team).any(|other| {
                matches!(&other.kind, EventKind::ReportGraded { report_seq, rubric, .. } if report_seq.or_else(|| rubric.get("report_seq").and_then(|seq| seq.as_u64())) == Some(event.seq))
            });
            let _ = write!(
                body,
                r#"<li><a href="/teams/{team}/reports/{}">{}</a> {}</li>"#,
                event.seq,
                escape(&describe::report_name(
                    lang,
                    state.scenario(),
                    form,
                    event.seq
                )),
                if graded { lang.t(Msg::Graded) } else { "" }
            );
        }
    }
    body.push_str("</ul></section>");
    let objective_options: String = state
        .scenario()
        .objectives
        .iter()
        .map(|objective| {
            format!(
                r#"<option value="{}">{}</option>"#,
                escape(&objective.id),
                escape(lang.pick(&objective.title))
            )
        })
        .collect();
    let _ = write!(
        body,
        r#"<section class="card two"><form method="post" action="/teams/{team}/notes"><h2>{notes}</h2>{csrf}<label>{author} <input name="author" required></label><textarea name="text" rows="3" required></textarea><button type="submit">{add_note}</button></form>
<form method="post" action="/teams/{team}/adjustments"><h2>{adjustment}</h2>{csrf}<label>{objective} <select name="objective"><option value="">{total}</option>{objective_options}</select></label><label>{points} <input type="number" name="points" required></label><label>{reason} <input name="reason" required></label><label>{author} <input name="author" required></label><button type="submit">{adjust}</button></form></section>
<p><a href="/teams/{team}/after-action">{aar}</a> · <a href="/">{back}</a></p>"#,
        notes = lang.t(Msg::Notes),
        csrf = csrf_field(csrf),
        author = lang.t(Msg::Author),
        add_note = lang.t(Msg::AddNote),
        adjustment = lang.t(Msg::Adjustment),
        objective = lang.t(Msg::Objective),
        total = lang.t(Msg::Total),
        points = lang.t(Msg::Points),
        reason = lang.t(Msg::Reason),
        adjust = lang.t(Msg::Adjust),
        aar = lang.t(Msg::AfterActionReport),
        back = lang.t(Msg::Back),
    );
    body
}

/// Points, timeline SVG, objectives, notes and adjustments of one team.
pub(crate) fn team_summary(state: &AppState, snapshot: &Snapshot, team: u32, lang: Lang) -> String {
    let mut html = String::new();
    let Some(team_score) = snapshot.scoreboard.team(team) else {
        return html;
    };
    let _ = write!(
        html,
        r#"<section class="card"><h1>{} · {}: <span id="team-total">{}</span></h1><p>{}: {} · {}: {} · {}: {} · {}: {}</p><h2>{}</h2>{}</section>"#,
        escape(&snapshot.team_name(team)),
        lang.t(Msg::Points),
        team_score.total,
        lang.t(Msg::TimeToDetect),
        minutes(team_score.time_to_detect_ms()),
        lang.t(Msg::TimeToContain),
        minutes(team_score.time_to_contain_ms()),
        lang.t(Msg::TimeToReport),
        minutes(team_score.time_to_report_ms()),
        lang.t(Msg::TimeToRecover),
        minutes(team_score.time_to_recover_ms()),
        lang.t(Msg::Timeline),
        crate::svg::team_timeline(snapshot, state.scenario(), team, lang)
    );
    let _ = write!(
        html,
        r#"<section class="card"><h2>{}</h2><table class="stack"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t(Msg::Objectives),
        lang.t(Msg::Objective),
        lang.t(Msg::Status),
        lang.t(Msg::DeadlineOffset),
        lang.t(Msg::Points),
        lang.t(Msg::Penalty)
    );
    for objective in &team_score.objectives {
        let (class, label) = status_label(lang, objective.status);
        let title = exercise::objective(state.scenario(), &objective.objective)
            .map_or("", |definition| lang.pick(&definition.title));
        let _ = write!(
            html,
            r#"<tr title="{}"><td data-label="{}">{}</td><td data-label="{}"><span class="status {class}">{label}</span></td><td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td></tr>"#,
            escape(&objective.objective),
            lang.t(Msg::Objective),
            escape(title),
            lang.t(Msg::Status),
            lang.t(Msg::DeadlineOffset),
            offset(lang, objective.deadline_exercise_ms),
            lang.t(Msg::Points),
            objective.points_awarded,
            lang.t(Msg::Penalty),
            objective.hint_penalty_applied
        );
    }
    html.push_str("</tbody></table></section>");
    let _ = write!(
        html,
        r#"<section class="card"><h2>{} / {}</h2><ul>"#,
        lang.t(Msg::Notes),
        lang.t(Msg::Adjustment)
    );
    for event in snapshot.team_events(team) {
        let at = offset(lang, Some(snapshot.exercise_ms_of(event, team)));
        match &event.kind {
            EventKind::InstructorNote { text } => {
                let _ = write!(
                    html,
                    "<li>{at} {} — {}</li>",
                    escape(&describe::note(lang, text)),
                    escape(&describe::actor(lang, &event.actor))
                );
            }
            EventKind::Adjustment {
                objective,
                points,
                reason,
                author,
            } => {
                let _ = write!(
                    html,
                    "<li>{at} {points:+} {} — {} ({})</li>",
                    escape(
                        objective
                            .as_deref()
                            .map_or(lang.t(Msg::Total), |objective| {
                                describe::objective_title(lang, state.scenario(), objective)
                            })
                    ),
                    escape(reason),
                    escape(author)
                );
            }
            _ => {}
        }
    }
    html.push_str("</ul></section>");
    html
}

pub(crate) async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(team): Path<u32>,
    body: Bytes,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    actions::add_note(&state, team, &form.value("text"), &form.value("author")).await?;
    Ok(redirect(&format!("/teams/{team}")))
}

pub(crate) async fn add_adjustment(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(team): Path<u32>,
    body: Bytes,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    let points: i64 = form.value("points").trim().parse().map_err(|_| {
        RequestError::InvalidFields(vec![("points".to_owned(), "not a whole number".to_owned())])
    })?;
    actions::add_adjustment(
        &state,
        team,
        form.get("objective").map(str::to_owned),
        points,
        &form.value("reason"),
        &form.value("author"),
    )
    .await?;
    Ok(redirect(&format!("/teams/{team}")))
}

pub(crate) async fn review_report(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path((team, seq)): Path<(u32, u64)>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let report = actions::team_report(&state, team, seq).await?;
    let csrf = caller.csrf_token(&state);
    // One form per judged objective the report can be graded for, each
    // with that objective's own rubric (the general rubric without any).
    let judged = exercise::judged_objectives(state.scenario());
    let rubrics: Vec<exercise::GradingRubric<'_>> = if judged.is_empty() {
        exercise::grading_rubric(state.scenario(), None)
            .into_iter()
            .collect()
    } else {
        judged
            .iter()
            .filter_map(|objective| {
                exercise::grading_rubric(state.scenario(), Some(&objective.id)).ok()
            })
            .collect()
    };
    let mut forms_html = String::new();
    for rubric in &rubrics {
        let mut rubric_html = String::new();
        let heading = match rubric.objective {
            Some(objective) => {
                let _ = write!(
                    rubric_html,
                    r#"<input type="hidden" name="objective" value="{}">"#,
                    escape(&objective.id)
                );
                format!(
                    "{}: {} ({})",
                    lang.t(Msg::Rubric),
                    escape(lang.pick(&objective.title)),
                    objective.points
                )
            }
            None => lang.t(Msg::Rubric).to_owned(),
        };
        for criterion in &rubric.criteria {
            let _ = write!(
                rubric_html,
                r#"<label>{} (0–{maximum}) <input type="number" name="score:{}" min="0" max="{maximum}" value="0" required></label>"#,
                escape(lang.pick(&criterion.label)),
                escape(&criterion.key),
                maximum = criterion.max_points,
            );
        }
        let _ = write!(
            forms_html,
            r#"<h2>{heading}</h2><form method="post" action="/teams/{team}/reports/{seq}/grade">{csrf}{rubric_html}<label>{author} <input name="author" required></label><button type="submit">{grade}</button></form>"#,
            csrf = csrf_field(&csrf),
            author = lang.t(Msg::Author),
            grade = lang.t(Msg::Grade),
        );
    }
    let body = format!(
        r#"<section class="card">{report}</section><section class="card">{forms_html}<p><a href="/teams/{team}">{back}</a></p></section>"#,
        report = report_table(&state, lang, &report),
        back = lang.t(Msg::Back),
    );
    let path = format!("/teams/{team}/reports/{seq}");
    Ok(page(
        Frame {
            lang,
            title: lang.t(Msg::Review),
            csrf: Some(&csrf),
            path: &path,
            live: "",
            clock: None,
        },
        &body,
    ))
}

pub(crate) async fn grade_report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((team, seq)): Path<(u32, u64)>,
    body: Bytes,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(CSRF_FIELD))?;
    let mut scores = BTreeMap::new();
    for (name, value) in &form.0 {
        if let Some(key) = name.strip_prefix("score:") {
            let points = value.trim().parse().map_err(|_| {
                RequestError::InvalidFields(vec![(key.to_owned(), "not a whole number".to_owned())])
            })?;
            scores.insert(key.to_owned(), points);
        }
    }
    actions::grade_report(
        &state,
        team,
        seq,
        form.get("objective"),
        &scores,
        &form.value("author"),
    )
    .await?;
    Ok(redirect(&format!("/teams/{team}")))
}
