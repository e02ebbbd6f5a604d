//! Errors: [`ServerError`] for starting and running the service, and the
//! request-level `RequestError` every handler returns, which decides the
//! status code (and for HTML pages, redirects anonymous users to login).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fair_share::{Refusal, WriteKind};
use crate::i18n::{Lang, Msg};
use crate::tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("setting up tls")]
    Tls(#[from] TlsError),
    #[error("serving http")]
    Serve(#[source] std::io::Error),
}

/// Why a request was refused. HTML routes and API routes differ only for
/// an anonymous caller: a page redirects to the login form, the API says 401.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("authentication required")]
    Unauthenticated { api: bool },
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("invalid or missing csrf token")]
    Csrf,
    #[error("too many failed logins, try again in a minute")]
    TooManyRequests { lang: Lang },
    /// A team's write beyond its fair share (`fair_share`).
    #[error("{} refused: {refusal:?}", .kind.name())]
    Refused {
        kind: WriteKind,
        refusal: Refusal,
        lang: Lang,
        api: bool,
    },
    #[error("{0}")]
    BadRequest(String),
    /// The request is well formed but refused by a rule of the exercise
    /// (a locked question): 409, with the message in both languages.
    #[error("{}", .0.texts().1)]
    Conflict(crate::i18n::Msg),
    /// Form or report validation failed: one message per field.
    #[error("invalid fields")]
    InvalidFields(Vec<(String, String)>),
    /// A report that does not fit its form: one typed problem per field,
    /// answered as [`RequestError::InvalidFields`] is, and shown in the
    /// form in the trainee's language.
    #[error("invalid fields")]
    InvalidReport(Vec<(String, crate::exercise::FieldProblem)>),
    #[error("store: {0}")]
    Store(#[from] enshu_store::StoreError),
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let status = match &self {
            RequestError::Unauthenticated { api: false } => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                response
                    .headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/login"));
                return response;
            }
            RequestError::Unauthenticated { api: true } => StatusCode::UNAUTHORIZED,
            RequestError::Forbidden => StatusCode::FORBIDDEN,
            RequestError::NotFound => StatusCode::NOT_FOUND,
            RequestError::Csrf => StatusCode::FORBIDDEN,
            RequestError::TooManyRequests { lang } => {
                return refused_response(
                    *lang,
                    lang.t(Msg::TooManyAttempts).to_owned(),
                    Some(60),
                    None,
                    true,
                );
            }
            RequestError::Refused {
                kind,
                refusal,
                lang,
                api,
            } => {
                let message = refusal_message(*lang, *kind, *refusal);
                return refused_response(
                    *lang,
                    message,
                    refusal.retry_after_seconds(),
                    Some(*kind),
                    *api,
                );
            }
            RequestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RequestError::Conflict(_) => StatusCode::CONFLICT,
            RequestError::InvalidFields(_) | RequestError::InvalidReport(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RequestError::Store(error) => {
                tracing::error!(error = %format_chain(error), "store error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = match &self {
            RequestError::InvalidFields(fields) => serde_json::json!({
                "error": self.to_string(),
                "fields": fields.iter().map(|(name, message)| serde_json::json!({"field": name, "error": message})).collect::<Vec<_>>(),
            }),
            RequestError::InvalidReport(fields) => serde_json::json!({
                "error": self.to_string(),
                "fields": fields.iter().map(|(name, problem)| serde_json::json!({
                    "field": name,
                    "error": problem.to_string(),
                    "message": {"ja": problem.text(Lang::Ja), "en": problem.text(Lang::En)},
                })).collect::<Vec<_>>(),
            }),
            RequestError::Store(_) => serde_json::json!({"error": "internal error"}),
            RequestError::Conflict(message) => {
                let (japanese, english) = message.texts();
                serde_json::json!({"error": english, "message": {"ja": japanese, "en": english}})
            }
            other => serde_json::json!({"error": other.to_string()}),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What a refused team reads, in its language.
pub(crate) fn refusal_message(lang: Lang, kind: WriteKind, refusal: Refusal) -> String {
    let Some(seconds) = refusal
        .retry_after_seconds()
        .filter(|_| refusal != Refusal::Quota)
    else {
        return lang.t(Msg::QuotaReached).to_owned();
    };
    let message = match kind {
        WriteKind::Answer => Msg::TooFastAnswer,
        WriteKind::Report => Msg::TooFastReport,
        WriteKind::Hint => Msg::TooFastHint,
        WriteKind::Firewall => Msg::TooFastFirewall,
        WriteKind::Login => Msg::TooFastLogin,
        WriteKind::WayIn => Msg::TooFastWayIn,
        WriteKind::LiveStream => Msg::TooManyStreams,
        WriteKind::Read => Msg::TooFastRead,
    };
    lang.t(message).replace("{s}", &seconds.to_string())
}

/// 429 with `Retry-After`: JSON for the API, a short page for a browser.
fn refused_response(
    lang: Lang,
    message: String,
    retry_after: Option<u64>,
    kind: Option<WriteKind>,
    api: bool,
) -> Response {
    let mut response = if api {
        let body = serde_json::json!({
            "error": message,
            "kind": kind.map(WriteKind::name),
            "retry_after_seconds": retry_after,
        });
        (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
    } else {
        let page = format!(
            "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>429</title><p role=\"alert\">{}</p><p><a href=\"/team\">{}</a></p></html>",
            lang.code(),
            crate::html::escape(&message),
            lang.t(Msg::Back)
        );
        (StatusCode::TOO_MANY_REQUESTS, axum::response::Html(page)).into_response()
    };
    if let Some(seconds) = retry_after
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(crate) fn format_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
