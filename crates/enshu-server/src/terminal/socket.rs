//! `GET /terminal/socket`: the web terminal's WebSocket.
//!
//! Query: `columns`, `rows` (the client's window) and `terminal` (a
//! terminal to reattach, or for an instructor to watch). The id is a
//! handle, not a credential: the caller is the session cookie's (or a
//! bearer header's), and a team finds only its own terminals.
//!
//! Frames, client to server: binary = keys typed (ignored from a
//! watcher); text = `{"resize": {"columns": C, "rows": R}}`. Server to
//! client: binary = what the terminal shows (the last screen first, on
//! attach); text = `{"attached": {"terminal", "host", "mode", "reattached"}}`,
//! `{"ended": reason}`, `{"replaced": true}` (another socket of the team
//! took this terminal), `{"lagged": n}` or `{"error": message}` (in the
//! caller's language), each followed by a close but `lagged`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use enshu_backend::terminal::TerminalSize;
use serde_json::json;

use super::{EndReason, Hub, LiveTerminal, OpenError};
use crate::auth::{Caller, Principal};
use crate::error::RequestError;
use crate::i18n::Lang;
use crate::state::AppState;

/// Largest frame a client may send (a paste of 64 KiB).
const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;
/// A ping this often; a client silent for three of them is gone.
const PING_EVERY: Duration = Duration::from_secs(20);

#[derive(Debug, serde::Deserialize)]
pub(crate) struct SocketQuery {
    terminal: Option<String>,
    columns: Option<u16>,
    rows: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    /// A team, on its own terminals.
    Team(u32),
    /// An instructor, read-only.
    Watcher,
}

/// A browser's `Origin` must be the portal itself: the cookie is
/// `SameSite=Strict`, and this refuses a cross-site page's socket too.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser (curl, the tests' client): nothing ambient to abuse.
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    origin
        .to_str()
        .is_ok_and(|origin| !host.is_empty() && origin == format!("https://{host}"))
}

pub(crate) async fn socket(
    State(state): State<AppState>,
    caller: Caller,
    lang: Lang,
    headers: HeaderMap,
    Query(query): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, RequestError> {
    let hub = state.terminals().ok_or(RequestError::NotFound)?.clone();
    let role = match &caller.principal {
        Some(Principal::Team { index, .. }) => Role::Team(*index),
        Some(Principal::Instructor) => Role::Watcher,
        None => return Err(RequestError::Unauthenticated { api: true }),
    };
    if !same_origin(&headers) {
        return Err(RequestError::Forbidden);
    }
    let size = TerminalSize::clamped(query.columns.unwrap_or(80), query.rows.unwrap_or(24));
    let wanted = query.terminal.filter(|id| super::valid_id(id));
    Ok(upgrade
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| serve_socket(socket, state, hub, role, wanted, size, lang)))
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

fn refusal(lang: Lang, error: &OpenError) -> String {
    match (lang, error) {
        (Lang::Ja, OpenError::TooMany { limit, .. }) => {
            format!("端末は1チーム{limit}個までです。使っていない端末を閉じてください")
        }
        (Lang::En, OpenError::TooMany { limit, .. }) => {
            format!("a team may have {limit} terminals open; close one you no longer use")
        }
        (Lang::Ja, _) => format!("端末を開けませんでした: {error}"),
        (Lang::En, _) => format!("the terminal could not be opened: {error}"),
    }
}

async fn serve_socket(
    mut socket: WebSocket,
    state: AppState,
    hub: Arc<Hub>,
    role: Role,
    wanted: Option<String>,
    size: TerminalSize,
    lang: Lang,
) {
    let (terminal, reattached) = match role {
        Role::Team(team) => match wanted.as_deref().and_then(|id| hub.find(id, Some(team))) {
            Some(terminal) => (terminal, true),
            None => match hub.open(&state, team, size).await {
                Ok(terminal) => (terminal, false),
                Err(error) => {
                    tracing::info!(team, %error, "web terminal refused");
                    let _ = socket
                        .send(text(json!({"error": refusal(lang, &error)})))
                        .await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
        },
        Role::Watcher => match wanted.as_deref().and_then(|id| hub.find(id, None)) {
            Some(terminal) => (terminal, true),
            None => {
                let message = match lang {
                    Lang::Ja => "その端末は開いていません",
                    Lang::En => "that terminal is not open",
                };
                let _ = socket.send(text(json!({"error": message}))).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        },
    };
    let writer = matches!(role, Role::Team(_));
    let generation = writer.then(|| terminal.attach_writer());
    if writer && reattached {
        // The returning client's window, which may differ.
        terminal.resize(size).await;
    }
    run_attached(&mut socket, &state, &hub, &terminal, generation, reattached).await;
    if let Some(generation) = generation {
        hub.writer_left(&terminal, generation);
    }
}

async fn run_attached(
    socket: &mut WebSocket,
    state: &AppState,
    hub: &Arc<Hub>,
    terminal: &Arc<LiveTerminal>,
    generation: Option<u64>,
    reattached: bool,
) {
    let mode = if generation.is_some() {
        "write"
    } else {
        "watch"
    };
    let (mut output, screen) = terminal.subscribe_with_scrollback();
    let hello = json!({"attached": {
        "terminal": terminal.id,
        "host": terminal.host,
        "mode": mode,
        "reattached": reattached,
    }});
    if socket.send(text(hello)).await.is_err() {
        return;
    }
    if !screen.is_empty() && socket.send(Message::Binary(screen.into())).await.is_err() {
        return;
    }
    let mut ended = terminal.ended();
    let mut writer_changes = terminal.writer_changes();
    let mut shutdown = state.shutdown_receiver();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            message = socket.recv() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(Message::Binary(bytes))) => {
                        if generation.is_some() {
                            for line in terminal.typed(bytes.to_vec()).await {
                                hub.log_command(state, terminal, line).await;
                            }
                        }
                    }
                    Some(Ok(Message::Text(message))) => {
                        if generation.is_some()
                            && let Ok(value) = serde_json::from_str::<serde_json::Value>(message.as_str())
                            && let Some(resize) = value.get("resize")
                        {
                            let dimension = |name: &str| {
                                resize.get(name).and_then(serde_json::Value::as_u64).map(|value| value.min(u64::from(u16::MAX)) as u16)
                            };
                            if let (Some(columns), Some(rows)) = (dimension("columns"), dimension("rows")) {
                                terminal.resize(TerminalSize::clamped(columns, rows)).await;
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
            chunk = output.recv() => match chunk {
                Ok(bytes) => {
                    if socket.send(Message::Binary(bytes.to_vec().into())).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    let _ = socket.send(text(json!({"lagged": missed}))).await;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            reason = async { ended.wait_for(Option::is_some).await.ok().and_then(|reason| *reason) } => {
                let reason = reason.unwrap_or(EndReason::Exited);
                let _ = socket.send(text(json!({"ended": reason.code()}))).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            changed = writer_changes.changed(), if generation.is_some() => {
                if changed.is_err() || Some(*writer_changes.borrow()) != generation {
                    let _ = socket.send(text(json!({"replaced": true}))).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
            () = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > 3 * PING_EVERY {
                    return;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
