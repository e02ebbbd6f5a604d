//! Live updates: one task tails the store and publishes every new event
//! of the session on the broadcast channel; `/events` streams them to
//! browsers as Server-Sent Events.
//!
//! Tailing the store (rather than publishing from the handlers) means
//! events appended by other processes — the injector, the checker, the
//! CLI — reach the scoreboard the same way as the server's own; the
//! handlers only poke the tail so their events go out without waiting for
//! the next poll.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::auth::{Caller, Principal};
use crate::error::RequestError;
use crate::state::AppState;

/// What the live channel carries: enough to know which fragment to reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveEvent {
    pub seq: u64,
    pub team: Option<u32>,
    pub kind: &'static str,
}

pub(crate) async fn tail_store(state: AppState) {
    let mut last_seq = match state.store().last_seq(state.session()).await {
        Ok(seq) => seq,
        Err(error) => {
            tracing::error!(error = %crate::error::format_chain(&error), "reading the last seq");
            0
        }
    };
    let poll_interval = state.options().store_poll_interval;
    loop {
        tokio::select! {
            () = state.inner.appended.notified() => {}
            () = tokio::time::sleep(poll_interval) => {}
        }
        match state.store().events_after(state.session(), last_seq).await {
            Ok(events) => {
                for event in events {
                    last_seq = event.seq;
                    let _ = state.inner.live_events.send(LiveEvent {
                        seq: event.seq,
                        team: event.team,
                        kind: event.kind.kind_name(),
                    });
                }
            }
            Err(error) => {
                tracing::warn!(error = %crate::error::format_chain(&error), "tailing the store");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// `GET /events`: instructors get every event (seq, team, kind); a team
/// gets only its own and session-wide events, and only their seq, so the
/// stream says nothing about what happens to other teams.
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, RequestError> {
    let visible_team = match &caller.principal {
        Some(Principal::Instructor) => None,
        Some(Principal::Team { index, .. }) => Some(*index),
        None => return Err(RequestError::Unauthenticated { api: true }),
    };
    // A team's streams are capped: each holds a task and a receiver.
    let permit = match visible_team {
        Some(team) => Some(
            state
                .fair_share()
                .admit_live_stream(team)
                .map_err(|refusal| RequestError::Refused {
                    kind: crate::fair_share::WriteKind::LiveStream,
                    refusal,
                    lang: caller.lang,
                    api: true,
                })?,
        ),
        None => None,
    };
    let receiver = state.subscribe();
    let shutdown = state.shutdown_receiver();
    Ok(
        Sse::new(live_stream(receiver, shutdown, visible_team, permit))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
}

fn live_stream(
    receiver: broadcast::Receiver<LiveEvent>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    visible_team: Option<u32>,
    permit: Option<crate::fair_share::LiveStreamPermit>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    // The permit lives as long as the stream (dropped when it ends or the
    // client goes away).
    futures_util::stream::unfold(
        (receiver, shutdown, permit),
        move |(mut receiver, mut shutdown, permit)| async move {
            loop {
                if *shutdown.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    _ = shutdown.changed() => return None,
                };
                let live_event = match received {
                    Ok(live_event) => live_event,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Missed some: tell the page to refresh everything.
                        let event = SseEvent::default().event("resync").data("{}");
                        return Some((Ok(event), (receiver, shutdown, permit)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                let data = match visible_team {
                    None => serde_json::to_string(&live_event).unwrap_or_default(),
                    Some(team) if live_event.team.is_none() || live_event.team == Some(team) => {
                        serde_json::json!({"seq": live_event.seq}).to_string()
                    }
                    Some(_) => continue,
                };
                let event = SseEvent::default()
                    .event("update")
                    .id(live_event.seq.to_string())
                    .data(data);
                return Some((Ok(event), (receiver, shutdown, permit)));
            }
        },
    )
}
