//! `/api/instructor/...`: what the CLI drives (clock, injects) and reads
//! (scoreboard, exports), plus notes, adjustments and grades.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use enshu_store::ClockAction;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions;
use crate::auth::Caller;
use crate::error::RequestError;
use crate::exercise::{self, Snapshot};
use crate::state::AppState;

/// `GET /api/instructor/fair-share`: every team's allowances and what was
/// refused, per team and kind, in this session: since the server started
/// and, from the store's counts, before (never in the log).
pub(crate) async fn fair_share(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, RequestError> {
    caller.require_instructor()?;
    let fair_share = state.fair_share();
    let refused: Vec<Value> = fair_share
        .refusals()
        .into_iter()
        .map(|(team, kind, count)| {
            json!({"team": team, "kind": kind, "rate": count.rate, "quota": count.quota,
                   "concurrent": count.concurrent, "total": count.total()})
        })
        .collect();
    Ok(Json(json!({
        "limits": fair_share.limits(),
        "refused": refused,
        "blocked_logins": fair_share.blocked_logins(),
        "refused_connections": fair_share.refused_connections(),
    })))
}

/// `GET /api/instructor/scoreboard`: the cached board's JSON body, rendered
/// once per board (see `scoreboard_cache` for how fresh it is).
pub(crate) async fn scoreboard(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let board = state.scoreboard().await?;
    let body = board.json_body(|snapshot| {
        Bytes::from(
            serde_json::to_vec(&scoreboard_json(&state, snapshot))
                .expect("a JSON value serialises"),
        )
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

pub(crate) fn scoreboard_json(state: &AppState, snapshot: &Snapshot) -> Value {
    let idle_after_ms = state.options().idle_alert_after.as_millis() as u64;
    let teams: Vec<Value> = snapshot
        .scoreboard
        .teams
        .iter()
        .map(|team_score| {
            json!({
                "team": team_score.team,
                "name": snapshot.team_name(team_score.team),
                "total": team_score.total,
                "now_exercise_ms": team_score.now_exercise_ms,
                "time_to_detect_ms": team_score.time_to_detect_ms(),
                "time_to_contain_ms": team_score.time_to_contain_ms(),
                "time_to_report_ms": team_score.time_to_report_ms(),
                "time_to_recover_ms": team_score.time_to_recover_ms(),
                "alerts": exercise::alerts(snapshot, team_score.team, idle_after_ms),
                "score": team_score,
            })
        })
        .collect();
    json!({"session": state.session(), "scenario": state.scenario().id, "last_seq": snapshot.events.last().map(|event| event.seq), "teams": teams})
}

pub(crate) async fn export_json(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let mut response = Json(export_value(&state).await?).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"enshu-export.json\""),
    );
    Ok(response)
}

/// The session's export: its scoreboard and every event of its log.
pub(crate) async fn export_value(state: &AppState) -> Result<Value, RequestError> {
    let board = state.scoreboard().await?;
    let snapshot = &board.snapshot;
    Ok(json!({
        "scoreboard": scoreboard_json(state, snapshot),
        "events": snapshot.events,
    }))
}

/// `GET /api/instructor/export.xapi.json`: what the trainees did, as xAPI
/// statements (`crate::xapi`), oldest first, for a learning record store.
pub(crate) async fn export_xapi(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let board = state.scoreboard().await?;
    let snapshot = &board.snapshot;
    // The portal's address as the browser reached it: the home page of the
    // teams' accounts (a Host header that is no valid name is left out).
    let home_page = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            host.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte))
        })
        .map_or_else(
            || "https://localhost/".to_owned(),
            |host| format!("https://{host}/"),
        );
    let team_name = |team: u32| snapshot.team_name(team);
    let exercise_ms = |event: &enshu_store::Event, team: u32| snapshot.exercise_ms_of(event, team);
    let statements = crate::xapi::statements(
        &snapshot.events,
        &crate::xapi::Vocabulary {
            session: &state.plan().session,
            scenario: state.scenario(),
            home_page: &home_page,
            team_name: &team_name,
            exercise_ms: &exercise_ms,
        },
    );
    let mut response = Json(statements).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"enshu-xapi.json\""),
    );
    Ok(response)
}

pub(crate) async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let board = state.scoreboard().await?;
    let mut response = scoreboard_csv(&board.snapshot).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"enshu-scoreboard.csv\""),
    );
    Ok(response)
}

/// The UTF-8 byte order mark: without it, Excel on Japanese Windows reads
/// a CSV as Shift_JIS and garbles team names and titles.
pub(crate) const UTF8_BOM: &str = "\u{feff}";

/// One row per team and objective, with the team's totals repeated; it
/// starts with [`UTF8_BOM`].
pub(crate) fn scoreboard_csv(snapshot: &Snapshot) -> String {
    let mut csv = String::from(UTF8_BOM);
    csv.push_str(
        "team,team_name,team_total,time_to_detect_s,time_to_contain_s,time_to_report_s,time_to_recover_s,objective,phase,status,points_awarded,time_to_meet_s,deadline_exercise_s\n",
    );
    let seconds = |milliseconds: Option<u64>| {
        milliseconds.map_or(String::new(), |value| (value / 1000).to_string())
    };
    for team_score in &snapshot.scoreboard.teams {
        for objective in &team_score.objectives {
            let status = serde_json::to_value(objective.status)
                .ok()
                .and_then(|value| {
                    value
                        .get("status")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                team_score.team,
                csv_field(&snapshot.team_name(team_score.team)),
                team_score.total,
                seconds(team_score.time_to_detect_ms()),
                seconds(team_score.time_to_contain_ms()),
                seconds(team_score.time_to_report_ms()),
                seconds(team_score.time_to_recover_ms()),
                csv_field(&objective.objective),
                objective.phase.as_str(),
                status,
                objective.points_awarded,
                seconds(objective.time_to_meet_ms),
                seconds(objective.deadline_exercise_ms),
            );
        }
    }
    csv
}

/// Quotes a CSV field, and defuses spreadsheet formulas: a field that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading `'`, which spreadsheets show as text.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r', '\t']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[derive(Deserialize)]
pub(crate) struct ClockRequest {
    action: ClockAction,
    #[serde(default)]
    team: Option<u32>,
    /// Exercise seconds per wall second from now on (demos, rehearsals).
    #[serde(default)]
    speed: Option<u32>,
}

pub(crate) async fn clock(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(request): Json<ClockRequest>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let seq =
        actions::change_clock(&state, &caller, request.action, request.team, request.speed).await?;
    Ok((StatusCode::CREATED, Json(json!({"seq": seq}))))
}

#[derive(Deserialize, Default)]
pub(crate) struct InjectRequest {
    #[serde(default)]
    team: Option<u32>,
}

pub(crate) async fn fire_inject(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(inject): Path<String>,
    body: Option<Json<InjectRequest>>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let team = body.and_then(|Json(request)| request.team);
    let seq = actions::request_fire(&state, &caller, &inject, team).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"seq": seq, "inject": inject, "requested": "fire"})),
    ))
}

pub(crate) async fn hold_inject(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(inject): Path<String>,
    body: Option<Json<InjectRequest>>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let team = body.and_then(|Json(request)| request.team);
    let seq = actions::hold(&state, &caller, &inject, team).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"seq": seq, "inject": inject, "requested": "hold"})),
    ))
}

pub(crate) async fn team_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(team): Path<u32>,
) -> Result<Json<Value>, RequestError> {
    caller.require_instructor()?;
    actions::existing_team(&state, team).await?;
    let events = state
        .store()
        .events(
            state.session(),
            enshu_store::EventQuery {
                team: enshu_store::TeamFilter::TeamAndSessionWide(team),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(json!({"team": team, "events": events})))
}

#[derive(Deserialize)]
pub(crate) struct NoteRequest {
    text: String,
    author: String,
}

pub(crate) async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(team): Path<u32>,
    Json(request): Json<NoteRequest>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let seq = actions::add_note(&state, team, &request.text, &request.author).await?;
    Ok((StatusCode::CREATED, Json(json!({"seq": seq}))))
}

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    /// The team's new portal token (the CLI derives it); at least 32
    /// characters. Only its hash is kept.
    token: String,
}

/// `POST /api/instructor/teams/{team}/token`: the instructor revokes a
/// team's portal token. The new one replaces it in the store, so the old
/// one stops working at the next request, and every login session of the
/// team ends. The log notes the revocation, never the token.
pub(crate) async fn replace_team_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(team): Path<u32>,
    Json(request): Json<TokenRequest>,
) -> Result<Json<Value>, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let seq = actions::replace_team_token(&state, &caller, team, &request.token).await?;
    Ok(Json(json!({"team": team, "seq": seq})))
}

#[derive(Deserialize)]
pub(crate) struct AdjustmentRequest {
    #[serde(default)]
    objective: Option<String>,
    points: i64,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    author: String,
}

pub(crate) async fn add_adjustment(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(team): Path<u32>,
    Json(request): Json<AdjustmentRequest>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let seq = actions::add_adjustment(
        &state,
        team,
        request.objective,
        request.points,
        &request.reason,
        &request.author,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"seq": seq}))))
}

#[derive(Deserialize)]
pub(crate) struct GradeRequest {
    /// The judged objective the grade is for; may be left out when the
    /// scenario has one judged objective (or none).
    #[serde(default)]
    objective: Option<String>,
    scores: BTreeMap<String, i64>,
    #[serde(default)]
    author: String,
}

pub(crate) async fn grade_report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((team, seq)): Path<(u32, u64)>,
    Json(request): Json<GradeRequest>,
) -> Result<impl IntoResponse, RequestError> {
    caller.require_instructor()?;
    caller.check_csrf(&state, &headers, None)?;
    let graded_seq = actions::grade_report(
        &state,
        team,
        seq,
        request.objective.as_deref(),
        &request.scores,
        &request.author,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"seq": graded_seq}))))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_defuse_every_formula_start() {
        for (value, expected) in [
            ("=1+1", "'=1+1"),
            ("+81 3", "'+81 3"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=cmd", "\"'\t=cmd\""),
            ("\r=cmd", "\"'\r=cmd\""),
            ("チーム 1", "チーム 1"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ] {
            assert_eq!(csv_field(value), expected, "{value:?}");
        }
    }
}
