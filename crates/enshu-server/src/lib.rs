//! Enshu's scoring service and web UI.
//!
//! One process serves both audiences of an exercise: the teams (a portal
//! and a JSON API usable with curl from the analyst workstation) and the
//! instructors (a live scoreboard, per-team timelines, report review,
//! exports and the JSON API the CLI drives). Everything a user does becomes
//! one event in the store's append-only log, and every page is a view of
//! that log computed with `enshu-scoring`, so the scoreboard, the timeline
//! and the after-action report cannot disagree.
//!
//! The service takes its I/O as arguments — [`serve`] gets a bound
//! listener, the state (store, scenario, plan, instructor token hash) and a
//! shutdown future — so tests bind `127.0.0.1:0` and drive the real router
//! over real TLS.
//!
//! # Layout
//!
//! - [`tls`]: rustls configuration (files or a self-signed certificate from
//!   rcgen) and a listener that completes handshakes off the accept loop.
//! - [`state`]: [`AppState`] and the live-event channel.
//! - `auth`: instructor and team principals, cookie sessions, bearer
//!   tokens, CSRF, login rate limiting.
//! - [`fair_share`]: per-team token buckets and quotas on every write,
//!   refusals counted in memory.
//! - `exercise`: the pure part: scoring rules from the scenario, answer
//!   and report checking, snapshots of the log, alerts.
//! - `scoreboard_cache`: the instructor scoreboard scored once per log
//!   change (or wall-clock second) and its rendered bodies.
//! - [`i18n`]: the Japanese/English catalogue.
//! - `pages`: server-rendered HTML (with SVG drawn on the server);
//!   `api`: the JSON API; `live`: Server-Sent Events and the store tail.
//!
//! # Invariants
//!
//! - **A team sees only its own data:** every team handler reads the log
//!   through `TeamFilter::TeamAndSessionWide(own index)` and every lookup
//!   by id checks the event's team, answering 404 (not 403) otherwise so
//!   ids cannot be probed.
//! - **Ground truth never reaches a team:** inject events are shown to a
//!   team only as the messages the scenario sends it.
//! - **Every state change is an event** written through the store; the
//!   server keeps no exercise state of its own beyond login sessions.
//!   The scoreboard cache is a copy of the log, never a source: it is
//!   checked against the store's last seq on every request.
//! - **Fair share:** every write a team makes passes its own allowance per
//!   kind (`fair_share`) before anything is parsed further or appended; a
//!   refusal is a 429 in the caller's language with `Retry-After`, counted
//!   in memory and shown to the instructor, never an event.

#![forbid(unsafe_code)]

pub mod fair_share;
pub mod i18n;
pub mod state;
pub mod tls;

mod actions;
mod api;
mod auth;
mod error;
mod exercise;
mod html;
mod live;
mod pages;
mod router;
mod scoreboard_cache;
mod security;
mod svg;
mod time_format;

pub use error::ServerError;
pub use exercise::scoring_rules;
pub use live::LiveEvent;
pub use state::{AppState, ServerOptions, hash_instructor_token};
pub use tls::{
    KeptCertificate, TlsConfig, TlsError, fingerprint_of_file, kept_self_signed,
    pinned_client_config,
};

use std::future::Future;

/// Serves the web UI and the JSON API over TLS on `listener` until
/// `shutdown` completes; then stops accepting, ends the live streams and
/// waits for requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: TlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let server_config = tls.server_config()?;
    let tls_listener = tls::TlsListener::new(listener, server_config);
    let store_tail = tokio::spawn(live::tail_store(state.clone()));
    let app = router::router(state.clone());
    let shutdown_state = state.clone();
    let result = axum::serve(
        tls_listener,
        app.into_make_service_with_connect_info::<tls::ClientAddress>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        shutdown_state.begin_shutdown();
    })
    .await;
    state.begin_shutdown();
    store_tail.abort();
    result.map_err(ServerError::Serve)
}
