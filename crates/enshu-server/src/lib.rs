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
//! - [`fair_share`]: per-team token buckets and quotas on every write and
//!   on reads, the portal's connection caps, refusals counted in memory;
//!   `refusal_log` adds them to the store once a minute and loads them at
//!   start.
//! - `exercise`: the pure part: scoring rules from the scenario, answer
//!   and report checking, snapshots of the log, alerts.
//! - `scoreboard_cache`: the instructor scoreboard scored once per log
//!   change (or wall-clock second) and its rendered bodies.
//! - [`i18n`]: the Japanese/English catalogue.
//! - [`terminal`]: the portal's web terminal (a WebSocket to a shell on
//!   the team's way-in host through a runtime given as a trait), its
//!   recordings and command lines on the timeline, xterm.js from Debian.
//! - [`bastion`]: the SSH way in, an SSH server of Enshu's own (russh)
//!   that opens its shells and commands through the same terminal hub,
//!   so they are bounded, recorded and ended the same way.
//! - `xapi`: trainee activity as xAPI statements (pure), for the
//!   instructors' export.
//! - `pages`: server-rendered HTML (with SVG drawn on the server), and
//!   the error pages a browser gets in place of JSON (`pages::error`);
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
//!   and shown to the instructor, never an event (the counts are kept in
//!   the store's `refusals` table, at most once a minute). A team's reads
//!   pass an allowance of their own; a portal connection takes a place
//!   per client address and in all before its TLS handshake.

#![forbid(unsafe_code)]

pub mod bastion;
pub mod fair_share;
pub mod i18n;
pub mod state;
pub mod tls;

mod actions;
mod after_action;
mod api;
mod auth;
mod body_deadline;
mod error;
mod exercise;
#[doc(hidden)]
pub mod fuzz_cases;
mod html;
mod live;
mod metrics;
mod network_map;
mod pages;
mod receipt;
mod refusal_log;
mod request_log;
mod router;
mod scoreboard_cache;
mod security;
mod svg;
pub mod terminal;
mod time_format;
mod xapi;

pub use after_action::{Cohort, CohortError, read_cohort};
pub use error::ServerError;
pub use exercise::scoring_rules;
pub use live::LiveEvent;
pub use state::{AppState, ServerOptions, hash_instructor_token};
pub use terminal::{TerminalOptions, TerminalService, XtermAssets, XtermAssetsError};
pub use time_format::TimeZone;
pub use tls::{
    KeptCertificate, TlsConfig, TlsError, fingerprint_of_file, kept_self_signed,
    pinned_client_config,
};

use std::future::Future;

use axum::serve::Listener as _;

/// What `enshu export` writes when no server runs for the session: the
/// documents `GET /api/instructor/export.json` and `export.csv` answer,
/// made from the store by the same code.
pub async fn export_document(state: &AppState, csv: bool) -> Result<String, ExportError> {
    if csv {
        let board = state.scoreboard().await.map_err(ExportError)?;
        Ok(api::instructor::scoreboard_csv(&board.snapshot))
    } else {
        let value = api::instructor::export_value(state)
            .await
            .map_err(ExportError)?;
        Ok(serde_json::to_string(&value).expect("a JSON value serialises"))
    }
}

/// Why [`export_document`] could not read the session's log.
#[derive(Debug, thiserror::Error)]
#[error("reading the session's log for its export")]
pub struct ExportError(#[source] error::RequestError);

/// Serves the web UI and the JSON API over TLS on `listener` until
/// `shutdown` completes; then stops accepting, ends the live streams and
/// waits for requests in flight.
///
/// Each connection is served by hyper with a header-read timeout
/// (`ServerOptions::header_read_timeout`), which also closes a
/// connection left idle between requests: `axum::serve` sets none.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: TlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let server_config = tls.server_config()?;
    let mut tls_listener = tls::TlsListener::with_limits(
        listener,
        server_config,
        state.fair_share().clone(),
        state.options().handshake_timeout,
    );
    let header_read_timeout = state.options().header_read_timeout;
    refusal_log::load(&state).await;
    let store_tail = tokio::spawn(live::tail_store(state.clone()));
    let refusals_kept = tokio::spawn(refusal_log::keep(
        state.clone(),
        state.options().refusals_saved_every,
    ));
    let app = router::router(state.clone());
    let (stopping, _) = tokio::sync::watch::channel(false);
    // Every connection holds a receiver; all are gone when all closed.
    let (all_closed, connection_open) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer_address) = tokio::select! {
            accepted = tls_listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        tokio::spawn(serve_connection(
            stream,
            peer_address,
            app.clone(),
            header_read_timeout,
            stopping.subscribe(),
            connection_open.clone(),
        ));
    }
    state.begin_shutdown();
    drop(tls_listener);
    stopping.send_replace(true);
    drop(connection_open);
    all_closed.closed().await;
    // No shell of a web terminal outlives the server.
    if let Some(terminals) = state.terminals() {
        terminals.end_all().await;
    }
    store_tail.abort();
    refusals_kept.abort();
    refusal_log::save(&state).await;
    Ok(())
}

async fn serve_connection(
    stream: tls::PortalStream,
    peer_address: std::net::SocketAddr,
    app: axum::Router,
    header_read_timeout: std::time::Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    _open: tokio::sync::watch::Receiver<()>,
) {
    use tower_service::Service as _;
    let service = hyper::service::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(tls::ClientAddress(peer_address)));
            let mut app = app.clone();
            async move { app.call(request.map(axum::body::Body::new)).await }
        },
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer_address, %error, "portal connection ended");
                }
                return;
            }
            _ = stopping.wait_for(|stopping| *stopping), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
