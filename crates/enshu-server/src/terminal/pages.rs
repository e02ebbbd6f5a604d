//! The terminal's pages and JSON: the team's terminal page, the
//! instructor's list (live terminals to watch, recordings to replay), the
//! replay page, the recordings API, and the static files (xterm.js from
//! the package, Enshu's `terminal.js`).
//!
//! Labels are this module's own pairs (ja, en), picked by [`Lang`], so the
//! terminal adds nothing to the portal's catalogue.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::auth::Caller;
use crate::error::RequestError;
use crate::html::{Frame, escape, page};
use crate::i18n::Lang;
use crate::state::AppState;

fn say(lang: Lang, (japanese, english): (&'static str, &'static str)) -> &'static str {
    match lang {
        Lang::Ja => japanese,
        Lang::En => english,
    }
}

const TERMINAL: (&str, &str) = ("端末", "Terminal");
const TERMINALS: (&str, &str) = ("端末と記録", "Terminals and recordings");
const CONNECTING: (&str, &str) = ("接続中…", "Connecting…");
const ATTACHED: (&str, &str) = ("接続しました", "Connected");
const RECONNECTING: (&str, &str) = (
    "接続が切れました。再接続しています…",
    "Connection lost; reconnecting…",
);
const ENDED: (&str, &str) = (
    "端末は終了しました。再読み込みで新しい端末を開きます",
    "The terminal ended; reload for a new one",
);
const REPLACED: (&str, &str) = (
    "この端末は別の画面で開かれました",
    "This terminal was opened in another window",
);
const WATCHING: (&str, &str) = ("閲覧のみ", "Watching (read-only)");
const BACK: (&str, &str) = ("ポータルへ戻る", "Back to the portal");
const RECORDED: (&str, &str) = (
    "この端末の操作は記録され、講師が閲覧できます",
    "Everything in this terminal is recorded and visible to the instructors",
);
const LIVE: (&str, &str) = ("接続中の端末", "Live terminals");
const RECORDINGS: (&str, &str) = ("記録", "Recordings");
const WATCH: (&str, &str) = ("閲覧", "Watch");
const REPLAY: (&str, &str) = ("再生", "Replay");
const PLAY: (&str, &str) = ("再生", "Play");
const PAUSE: (&str, &str) = ("一時停止", "Pause");
const SPEED: (&str, &str) = ("速度", "Speed");
const NONE: (&str, &str) = ("なし", "None");

/// The status labels `terminal.js` shows, as `data-` attributes.
fn labels(lang: Lang) -> String {
    [
        ("connecting", CONNECTING),
        ("attached", ATTACHED),
        ("reconnecting", RECONNECTING),
        ("ended", ENDED),
        ("replaced", REPLACED),
        ("watching", WATCHING),
        ("play", PLAY),
        ("pause", PAUSE),
    ]
    .iter()
    .map(|(name, label)| format!(r#" data-label-{name}="{}""#, escape(say(lang, *label))))
    .collect()
}

fn terminal_frame(lang: Lang, title: &str, csrf: &str, path: &str, body: &str) -> Html<String> {
    page(
        Frame {
            lang,
            title,
            csrf: Some(csrf),
            path,
            live: "",
            clock: None,
        },
        &format!(
            r#"<link rel="stylesheet" href="/static/xterm.css"><script src="/static/xterm.js" defer></script><script src="/static/terminal.js" defer></script>{body}"#
        ),
    )
}

/// `GET /team/terminal`: a shell on the team's way-in host.
pub(crate) async fn team_terminal(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    let team = caller.require_team()?;
    state.terminals().ok_or(RequestError::NotFound)?;
    let host = state
        .team_plan(team)
        .map(|plan| plan.way_in.hostname.clone())
        .unwrap_or_default();
    let csrf = caller.csrf_token(&state);
    let title = format!("{} · {host}", say(lang, TERMINAL));
    let body = format!(
        r#"<section class="card terminal-card"><p><a href="/team">{back}</a> · <span class="terminal-note">{recorded}</span></p><p id="terminal-status" role="status"></p><div id="terminal" class="terminal-box" data-mode="write"{labels}></div></section>"#,
        back = say(lang, BACK),
        recorded = say(lang, RECORDED),
        labels = labels(lang),
    );
    Ok(terminal_frame(lang, &title, &csrf, "/team/terminal", &body))
}

/// `GET /terminals`: live terminals and recordings of every team.
pub(crate) async fn instructor_list(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    let csrf = caller.csrf_token(&state);
    let mut body = format!(
        r#"<section class="card"><h2>{}</h2><ul id="live-terminals">"#,
        say(lang, LIVE)
    );
    let live = hub.team_terminals(None);
    if live.is_empty() {
        let _ = write!(body, "<li>{}</li>", say(lang, NONE));
    }
    for terminal in &live {
        let _ = write!(
            body,
            r#"<li>team {} · {} · <code>{}</code> <a href="/terminals/{}">{}</a></li>"#,
            terminal.team,
            escape(&terminal.host),
            terminal.id,
            terminal.id,
            say(lang, WATCH)
        );
    }
    let _ = write!(
        body,
        r#"</ul></section><section class="card"><h2>{}</h2><table id="recordings"><tbody>"#,
        say(lang, RECORDINGS)
    );
    for entry in hub.recordings(None) {
        let _ = write!(
            body,
            r#"<tr><td>team {}</td><td><code>{}</code></td><td>{} B</td><td><a href="/terminals/{}/replay">{}</a></td></tr>"#,
            entry.team,
            entry.terminal,
            entry.bytes,
            entry.terminal,
            say(lang, REPLAY)
        );
    }
    body.push_str("</tbody></table></section>");
    Ok(page(
        Frame {
            lang,
            title: say(lang, TERMINALS),
            csrf: Some(&csrf),
            path: "/terminals",
            live: "",
            clock: None,
        },
        &body,
    ))
}

/// `GET /terminals/{id}`: an instructor watches a live terminal.
pub(crate) async fn instructor_watch(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    let terminal = hub.find(&id, None).ok_or(RequestError::NotFound)?;
    let csrf = caller.csrf_token(&state);
    let title = format!(
        "{} · team {} · {}",
        say(lang, WATCH),
        terminal.team,
        terminal.host
    );
    let body = format!(
        r#"<section class="card terminal-card"><p><a href="/terminals">{list}</a></p><p id="terminal-status" role="status"></p><div id="terminal" class="terminal-box" data-mode="watch" data-terminal="{id}"{labels}></div></section>"#,
        list = say(lang, TERMINALS),
        id = terminal.id,
        labels = labels(lang),
    );
    Ok(terminal_frame(lang, &title, &csrf, "/terminals", &body))
}

/// `GET /terminals/{id}/replay`: a recording played in the browser.
pub(crate) async fn instructor_replay(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Html<String>, RequestError> {
    caller.require_instructor()?;
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    let (team, _) = hub
        .recording_path(&id, None)
        .ok_or(RequestError::NotFound)?;
    let csrf = caller.csrf_token(&state);
    let title = format!("{} · team {team} · {id}", say(lang, REPLAY));
    let body = format!(
        r#"<section class="card terminal-card"><p><a href="/terminals">{list}</a></p><p class="replay-controls"><button type="button" id="replay-toggle">{play}</button> <input type="range" id="replay-seek" min="0" max="1000" value="0"> <span id="replay-time">0.0 s</span> <label>{speed} <select id="replay-speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option><option value="16">16×</option></select></label></p><div id="terminal" class="terminal-box" data-mode="replay" data-recording="/api/instructor/terminals/{id}/recording"{labels}></div></section>"#,
        list = say(lang, TERMINALS),
        play = say(lang, PLAY),
        speed = say(lang, SPEED),
        labels = labels(lang),
    );
    Ok(terminal_frame(lang, &title, &csrf, "/terminals", &body))
}

/// `GET /api/instructor/terminals`: every recording, live or not.
pub(crate) async fn instructor_recordings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    Ok(axum::Json(json!({"recordings": hub.recordings(None)})).into_response())
}

/// `GET /api/team/terminals`: the team's own recordings.
pub(crate) async fn team_recordings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    Ok(axum::Json(json!({"recordings": hub.recordings(Some(team))})).into_response())
}

/// `GET /api/instructor/terminals/{id}/recording`: the asciicast file.
pub(crate) async fn instructor_recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    recording_file(&state, &id, None).await
}

/// `GET /api/team/terminals/{id}/recording`: one of the team's own (404
/// for another team's: ids cannot be probed).
pub(crate) async fn team_recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, RequestError> {
    let team = caller.require_team()?;
    recording_file(&state, &id, Some(team)).await
}

async fn recording_file(
    state: &AppState,
    id: &str,
    team: Option<u32>,
) -> Result<Response, RequestError> {
    let hub = state.terminals().ok_or(RequestError::NotFound)?;
    let (_, path) = hub.recording_path(id, team).ok_or(RequestError::NotFound)?;
    let contents = tokio::fs::read(&path)
        .await
        .map_err(|_| RequestError::NotFound)?;
    let mut response = contents.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-asciicast"),
    );
    Ok(response)
}

fn static_response(body: String, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `GET /static/xterm.js`: the package's modules, bundled at start.
pub(crate) async fn xterm_script(State(state): State<AppState>) -> Response {
    match state.terminals() {
        Some(hub) => static_response(hub.assets.script.clone(), "text/javascript; charset=utf-8"),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /static/xterm.css`: the package's stylesheet and the page's own rules.
pub(crate) async fn xterm_styles(State(state): State<AppState>) -> Response {
    match state.terminals() {
        Some(hub) => static_response(
            format!(
                "{}\n{}",
                hub.assets.stylesheet,
                include_str!("../../static/terminal.css")
            ),
            "text/css; charset=utf-8",
        ),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /static/terminal.js`: the client (socket, reconnect, replay).
pub(crate) async fn terminal_script() -> Response {
    static_response(
        include_str!("../../static/terminal.js").to_owned(),
        "text/javascript; charset=utf-8",
    )
}
