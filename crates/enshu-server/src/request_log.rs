//! One log line a request (target `enshu_server::request`, level info):
//! the caller (`instructor`, `team:N` or `anonymous`), the method, the
//! route's template as matched (`/teams/{team}`, never the raw path), the
//! status and the latency. Never a token, password, cookie or body: the
//! caller is what `Caller` resolved the credentials to, not the credentials.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Where `Caller` notes who it resolved, for the request's log line.
#[derive(Clone, Default)]
pub(crate) struct CallerSlot(Arc<OnceLock<String>>);

impl CallerSlot {
    pub(crate) fn note(parts: &axum::http::request::Parts, actor: impl FnOnce() -> String) {
        if let Some(slot) = parts.extensions.get::<CallerSlot>() {
            let _ = slot.0.set(actor());
        }
    }
}

pub(crate) async fn log_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    tracing::info!(
        target: "enshu_server::request",
        caller = slot.0.get().map(String::as_str).unwrap_or("anonymous"),
        method = %method,
        route = route.as_deref().unwrap_or("(no route)"),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
