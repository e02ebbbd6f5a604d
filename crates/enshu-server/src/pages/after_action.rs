//! The after-action review: one view built from the log
//! ([`AfterActionView`]), rendered as the printable page
//! (`/teams/{team}/after-action`) and served as the JSON export
//! (`/api/instructor/after-action.json`, per team or for the session),
//! which a later session reads back as a cohort (`enshu serve --cohort`).
//! The numbers are `crate::after_action`'s; this module only gathers and
//! renders them.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use enshu_store::EventKind;
use serde::Serialize;
use serde_json::Value;

use super::describe;
use crate::actions;
use crate::after_action::{
    EXPORT_FORMAT, InjectTimes, Measure, Place, Spread, TeamTimes, Timing, first_fires,
    inject_times, times_of,
};
use crate::auth::Caller;
use crate::error::RequestError;
use crate::exercise::{self, Snapshot};
use crate::html::{Clock, Frame, escape, minutes, offset, page};
use crate::i18n::{Lang, Msg};
use crate::pages::team::report_table;
use crate::state::AppState;

/// The review of some teams of the session, as exported.
#[derive(Debug, Serialize)]
pub(crate) struct AfterActionView {
    pub format: &'static str,
    pub scenario: String,
    pub session: String,
    pub exported_at_ms: i64,
    pub teams: Vec<TeamView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TeamView {
    #[serde(flatten)]
    pub times: TeamTimes,
    pub reports: Vec<ReportView>,
    pub notes: Vec<NoteView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ReportView {
    pub seq: u64,
    pub form: String,
    pub submitted_at_ms: i64,
    pub exercise_ms: u64,
    pub fields: Value,
    pub grades: Vec<GradeView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct GradeView {
    pub seq: u64,
    pub objective: Option<String>,
    pub points: i64,
    pub author: String,
    pub rubric: Value,
    /// A later grade of the same report for the same objective replaced it.
    pub replaced: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct NoteView {
    pub exercise_ms: u64,
    pub author: String,
    pub text: String,
}

/// Every team's times (the session's comparison needs them all).
fn session_times(state: &AppState, snapshot: &Snapshot) -> Vec<TeamTimes> {
    snapshot
        .scoreboard
        .teams
        .iter()
        .map(|team_score| {
            let team = team_score.team;
            let fires = first_fires(
                snapshot
                    .team_events(team)
                    .map(|event| (snapshot.exercise_ms_of(event, team), &event.kind)),
            );
            TeamTimes {
                team,
                name: snapshot.team_name(team),
                total: team_score.total,
                injects: inject_times(&state.inner.rules, team_score, &fires),
            }
        })
        .collect()
}

fn team_view(snapshot: &Snapshot, times: TeamTimes) -> TeamView {
    let team = times.team;
    let mut reports: Vec<ReportView> = Vec::new();
    let mut notes = Vec::new();
    let graded = snapshot
        .scoreboard
        .team(team)
        .map(|score| score.graded_reports.as_slice())
        .unwrap_or_default();
    for event in snapshot.team_events(team) {
        if event.team != Some(team) {
            continue;
        }
        match &event.kind {
            EventKind::ReportSubmitted { form, fields } => reports.push(ReportView {
                seq: event.seq,
                form: form.clone(),
                submitted_at_ms: event.at_ms,
                exercise_ms: snapshot.exercise_ms_of(event, team),
                fields: fields.clone(),
                grades: Vec::new(),
            }),
            EventKind::ReportGraded {
                report_seq,
                objective,
                points,
                rubric,
                author,
                ..
            } => {
                let report_seq =
                    report_seq.or_else(|| rubric.get("report_seq").and_then(Value::as_u64));
                if let Some(report) = reports
                    .iter_mut()
                    .find(|report| Some(report.seq) == report_seq)
                {
                    report.grades.push(GradeView {
                        seq: event.seq,
                        objective: objective.clone(),
                        points: *points,
                        author: author.clone(),
                        rubric: rubric.clone(),
                        replaced: graded
                            .iter()
                            .any(|entry| entry.seq == event.seq && entry.replaced_by_seq.is_some()),
                    });
                }
            }
            EventKind::InstructorNote { text } => notes.push(NoteView {
                exercise_ms: snapshot.exercise_ms_of(event, team),
                author: event
                    .actor
                    .strip_prefix("instructor:")
                    .unwrap_or(&event.actor)
                    .to_owned(),
                text: text.clone(),
            }),
            _ => {}
        }
    }
    TeamView {
        times,
        reports,
        notes,
    }
}

async fn view(
    state: &AppState,
    snapshot: &Snapshot,
    only_team: Option<u32>,
) -> Result<(AfterActionView, Vec<TeamTimes>), RequestError> {
    let session = state
        .store()
        .session_by_id(state.session())
        .await?
        .map(|session| session.name)
        .unwrap_or_default();
    let all = session_times(state, snapshot);
    let teams = all
        .iter()
        .filter(|times| only_team.is_none_or(|team| times.team == team))
        .cloned()
        .map(|times| team_view(snapshot, times))
        .collect();
    Ok((
        AfterActionView {
            format: EXPORT_FORMAT,
            scenario: state.scenario().id.clone(),
            session,
            exported_at_ms: crate::time_format::now_ms(),
            teams,
        },
        all,
    ))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ExportQuery {
    team: Option<u32>,
}

/// `GET /api/instructor/after-action.json[?team=N]`: the review as JSON,
/// the file `enshu serve --cohort` reads.
pub(crate) async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ExportQuery>,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    if let Some(team) = query.team {
        actions::existing_team(&state, team).await?;
    }
    let snapshot = exercise::load_snapshot(&state, None).await?;
    let (view, _) = view(&state, &snapshot, query.team).await?;
    let file = match query.team {
        Some(team) => format!("attachment; filename=\"enshu-after-action-team{team}.json\""),
        None => "attachment; filename=\"enshu-after-action.json\"".to_owned(),
    };
    let mut response = Json(view).into_response();
    if let Ok(value) = HeaderValue::from_str(&file) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn measure_label(lang: Lang, measure: Measure) -> &'static str {
    lang.t(match measure {
        Measure::Detect => Msg::AarDetect,
        Measure::Contain => Msg::AarContain,
        Measure::Report => Msg::AarReport,
        Measure::Recover => Msg::AarRecover,
    })
}

fn inject_heading(lang: Lang, state: &AppState, team: u32, times: &InjectTimes) -> String {
    let Some(inject) = &times.inject else {
        return lang.t(Msg::AarFromStart).to_owned();
    };
    let subject = state
        .team_plan(team)
        .and_then(|plan| exercise::planned_message(plan, inject))
        .map(|message| format!("（{}）", lang.pick(&message.subject)))
        .unwrap_or_default();
    let fired = match times.fired_at_ms {
        Some(at) => format!("{} {}", lang.t(Msg::AarFiredAt), offset(lang, Some(at))),
        None => lang.t(Msg::AarNotFired).to_owned(),
    };
    format!(
        "{} {}{} · {fired}",
        lang.t(Msg::LegendInject),
        escape(inject),
        escape(&subject)
    )
}

fn timing_text(lang: Lang, timing: Timing) -> String {
    match timing {
        Timing::Took { ms } => minutes(Some(ms)),
        Timing::NotYet | Timing::NotApplicable => lang.t(Msg::AarNotYet).to_owned(),
    }
}

/// Per inject, the team's four times against the session's median and
/// best, and against the past cohorts when any were loaded.
fn times_section(state: &AppState, lang: Lang, team: &TeamTimes, all: &[TeamTimes]) -> String {
    let cohorts = &state.options().cohorts;
    let past: Vec<&TeamTimes> = cohorts.iter().flat_map(|cohort| &cohort.teams).collect();
    let mut html = format!(
        r#"<section class="card aar-times"><h2>{}</h2><p class="how">{}</p>"#,
        lang.t(Msg::AarResponseTimes),
        lang.t(Msg::AarResponseTimesNote)
    );
    if cohorts.is_empty() {
        let _ = write!(html, r#"<p class="how">{}</p>"#, lang.t(Msg::AarNoCohorts));
    } else {
        let sources: Vec<String> = cohorts
            .iter()
            .map(|cohort| {
                if cohort.session.is_empty() {
                    cohort.file.clone()
                } else {
                    cohort.session.clone()
                }
            })
            .collect();
        let _ = write!(
            html,
            r#"<p class="how">{}</p>"#,
            escape(
                &lang
                    .t(Msg::AarCohorts)
                    .replace("{c}", &sources.join(", "))
                    .replace("{n}", &past.len().to_string())
            )
        );
    }
    let mut headers = vec![
        Msg::AarMeasure,
        Msg::AarThisTeam,
        Msg::AarSessionMedian,
        Msg::AarSessionBest,
    ];
    if !cohorts.is_empty() {
        headers.extend([Msg::AarPastMedian, Msg::AarPastBest, Msg::AarPastPlace]);
    }
    for times in &team.injects {
        let measures: Vec<Measure> = Measure::ALL
            .into_iter()
            .filter(|measure| times.timing(*measure) != Timing::NotApplicable)
            .collect();
        if measures.is_empty() {
            continue;
        }
        let _ = write!(
            html,
            r#"<table class="stack aar-inject"><caption>{}</caption><thead><tr>"#,
            inject_heading(lang, state, team.team, times)
        );
        for header in &headers {
            let _ = write!(html, "<th>{}</th>", lang.t(*header));
        }
        html.push_str("</tr></thead><tbody>");
        for measure in measures {
            let inject = times.inject.as_deref();
            let own = times.timing(measure);
            let session = Spread::of(times_of(all, inject, measure));
            let cell = |message: Msg, value: String| {
                format!(r#"<td data-label="{}">{value}</td>"#, lang.t(message))
            };
            let _ = write!(
                html,
                r#"<tr data-measure="{}"><th scope="row">{}</th>{}{}{}"#,
                serde_json::to_value(measure)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                measure_label(lang, measure),
                cell(
                    Msg::AarThisTeam,
                    format!("<strong>{}</strong>", timing_text(lang, own))
                ),
                cell(Msg::AarSessionMedian, minutes(session.median_ms)),
                cell(Msg::AarSessionBest, minutes(session.best_ms)),
            );
            if !cohorts.is_empty() {
                let past_times = times_of(past.iter().copied(), inject, measure);
                let spread = Spread::of(past_times.iter().copied());
                let place = own.ms().map_or("–".to_owned(), |ms| {
                    let place = Place::among(ms, &past_times);
                    lang.t(Msg::AarPlace)
                        .replace("{n}", &place.of.to_string())
                        .replace("{r}", &place.rank.to_string())
                });
                let _ = write!(
                    html,
                    "{}{}{}",
                    cell(Msg::AarPastMedian, minutes(spread.median_ms)),
                    cell(Msg::AarPastBest, minutes(spread.best_ms)),
                    cell(Msg::AarPastPlace, place),
                );
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</section>");
    html
}

/// Each report as sent, with every grade it got and who gave it.
fn reports_section(state: &AppState, lang: Lang, snapshot: &Snapshot, team: &TeamView) -> String {
    let mut html = format!(
        r#"<section class="card aar-reports"><h2>{}</h2>"#,
        lang.t(Msg::AarReportsAndGrades)
    );
    if team.reports.is_empty() {
        let _ = write!(html, "<p>{}</p>", lang.t(Msg::AarNoReports));
    }
    for report in &team.reports {
        html.push_str(r#"<div class="aar-report">"#);
        if let Some(event) = snapshot.events.iter().find(|event| event.seq == report.seq) {
            html.push_str(&report_table(state, lang, event));
        }
        if report.grades.is_empty() {
            let _ = write!(html, r#"<p class="how">{}</p>"#, lang.t(Msg::AarNotGraded));
        } else {
            html.push_str(r#"<ul class="grades">"#);
            for grade in &report.grades {
                let objective = grade.objective.as_deref().map_or_else(
                    || lang.t(Msg::AarGeneralRubric).to_owned(),
                    |objective| {
                        describe::objective_title(lang, state.scenario(), objective).to_owned()
                    },
                );
                let _ = write!(
                    html,
                    "<li>{}{}</li>",
                    escape(
                        &lang
                            .t(Msg::AarGradeLine)
                            .replace("{o}", &objective)
                            .replace("{p}", &grade.points.to_string())
                            .replace("{a}", &grade.author)
                    ),
                    if grade.replaced {
                        lang.t(Msg::AarGradeReplaced)
                    } else {
                        ""
                    }
                );
            }
            html.push_str("</ul>");
        }
        html.push_str("</div>");
    }
    html.push_str("</section>");
    html
}

/// A printable after-action report for one team.
pub(crate) async fn page_of_team(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(team): Path<u32>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    actions::existing_team(&state, team).await?;
    let snapshot = exercise::load_snapshot(&state, None).await?;
    let (view, all) = view(&state, &snapshot, Some(team)).await?;
    let Some(team_view) = view.teams.first() else {
        return Err(RequestError::NotFound);
    };
    let mut body = format!(
        r#"<article class="after-action"><h1>{} — {}</h1><p>{}</p><p class="no-print actions"><button type="button" id="print-button">{}</button> <a href="/api/instructor/after-action.json?team={team}">{}</a> · <a href="/api/instructor/after-action.json">{}</a></p>"#,
        lang.t(Msg::AfterActionReport),
        escape(lang.pick(&state.scenario().title)),
        escape(lang.pick(&state.scenario().description)),
        lang.t(Msg::Print),
        lang.t(Msg::AarExportTeam),
        lang.t(Msg::AarExportSession),
    );
    body.push_str(&super::instructor::team_summary(
        &state, &snapshot, team, lang,
    ));
    body.push_str(&times_section(&state, lang, &team_view.times, &all));
    let _ = write!(
        body,
        r#"<section class="card aar-swimlane"><h2>{}</h2>{}</section>"#,
        lang.t(Msg::AarSwimlane),
        crate::svg::action_swimlane(&snapshot, state.scenario(), team, lang)
    );
    body.push_str(&reports_section(&state, lang, &snapshot, team_view));
    body.push_str("</article>");
    let title = format!(
        "{} {}",
        lang.t(Msg::AfterActionReport),
        snapshot.team_name(team)
    );
    let path = format!("/teams/{team}/after-action");
    let csrf = caller.csrf_token(&state);
    Ok(page(
        Frame {
            lang,
            title: &title,
            csrf: Some(&csrf),
            path: &path,
            live: "",
            clock: Some(Clock::of(&snapshot, Some(team), &state.options().time_zone)),
        },
        &body,
    ))
}
