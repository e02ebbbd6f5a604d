//! A request's body must arrive whole within
//! `ServerOptions::body_read_timeout` of its headers. The header-read
//! timeout (`serve`) bounds a client that is slow to send its headers;
//! this bounds one that sends them and then trickles, or never sends, the
//! body it announced, which would otherwise hold a connection (and a
//! handler) for as long as it likes. The body is read here, at most
//! `body_limit_bytes` of it, and handed on whole; a late one gets 408 in
//! the caller's language, is counted, and its connection is closed.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use crate::i18n::{Lang, Msg};
use crate::state::AppState;

pub(crate) async fn read_body_in_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let options = state.options();
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, options.body_limit_bytes);
    let body = match tokio::time::timeout(options.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "request body could not be read");
            return StatusCode::BAD_REQUEST.into_response();
        }
        Err(_) => {
            state.fair_share().count_slow_body();
            tracing::debug!(path = %parts.uri.path(), "request body not sent in time, connection closed");
            let lang = Lang::of_request(&parts.headers);
            let mut response = (StatusCode::REQUEST_TIMEOUT, lang.t(Msg::SlowBody)).into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}
