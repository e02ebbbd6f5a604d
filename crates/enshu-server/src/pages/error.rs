//! The error pages a browser gets. Handlers refuse with a `RequestError`,
//! answered as JSON, which is what the API and curl want; a person who
//! opens an address that is not a page, follows a broken link or sends an
//! expired form gets a page in their language instead, with the same
//! status and a way back. Only a request that asks for HTML
//! (`Accept: text/html`, as a browser's navigation does) and is not for
//! `/api/` is answered so; an answer that already is HTML (a page, the
//! refusal page of a 429) passes as it is.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::RequestError;
use crate::html::{Frame, escape, page};
use crate::i18n::{Lang, Msg};
use crate::state::AppState;

/// The largest error body read for its message; any larger is not one of
/// `RequestError`'s.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Every path no route serves: 404, as a page for a browser (below).
pub(crate) async fn no_such_route() -> RequestError {
    RequestError::NotFound
}

/// Answers a browser's failed page request with an error page.
pub(crate) async fn for_browsers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !wants_page(&request) {
        return next.run(request).await;
    }
    let lang = Lang::of_request(request.headers());
    let home = home_of(&state, request.headers());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_html(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let localised = localised_message(&body, lang);
    let mut page = error_page(lang, status, localised.as_deref(), home).into_response();
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

fn wants_page(request: &Request) -> bool {
    let accepts_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    accepts_html && !request.uri().path().starts_with("/api/")
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|content_type| content_type.starts_with("text/html"))
}

/// Where the page's way back leads: the caller's own start page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Home {
    Login,
    Portal,
    Scoreboard,
}

fn home_of(state: &AppState, headers: &HeaderMap) -> Home {
    match auth::cookie(headers, SESSION_COOKIE).and_then(|id| state.web_session(&id)) {
        Some(Principal::Instructor) => Home::Scoreboard,
        Some(Principal::Team { .. }) => Home::Portal,
        None => Home::Login,
    }
}

/// A refusal's own message in `lang`, when it carries one in both
/// languages (a rule of the exercise, 409: `{"message": {"ja", "en"}}`).
fn localised_message(body: &[u8], lang: Lang) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value["message"][lang.code()].as_str().map(str::to_owned)
}

/// The page: what went wrong in words for the status, the refusal's own
/// message when it has one, the status code, and the way back.
pub(crate) fn error_page(
    lang: Lang,
    status: StatusCode,
    message: Option<&str>,
    home: Home,
) -> Response {
    let (title, text) = match status.as_u16() {
        404 => (Msg::ErrorNotFound, Msg::ErrorNotFoundText),
        401 | 403 => (Msg::ErrorForbidden, Msg::ErrorForbiddenText),
        422 => (Msg::ErrorBadRequest, Msg::InvalidInput),
        code if code >= 500 => (Msg::ErrorServer, Msg::ErrorServerText),
        _ => (Msg::ErrorBadRequest, Msg::ErrorBadRequestText),
    };
    let text = message.map_or_else(|| lang.t(text).to_owned(), str::to_owned);
    let (href, back) = match home {
        Home::Login => ("/login", Msg::ErrorGoLogin),
        Home::Portal => ("/team", Msg::ErrorGoPortal),
        Home::Scoreboard => ("/", Msg::ErrorGoScoreboard),
    };
    let body = format!(
        r#"<section class="card narrow error-page" role="alert"><h1>{title}</h1><p id="error-text">{text}</p><p class="error-code">{code}</p><p><a href="{href}" id="error-back">{back}</a></p></section>"#,
        title = lang.t(title),
        text = escape(&text),
        code = lang
            .t(Msg::ErrorCode)
            .replace("{c}", &status.as_u16().to_string()),
        back = lang.t(back),
    );
    let html = page(
        Frame {
            lang,
            title: lang.t(title),
            csrf: None,
            path: href,
            live: "",
            clock: None,
        },
        &body,
    );
    (status, html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text_of(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), ERROR_BODY_LIMIT)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_status_reads_in_the_callers_language_with_a_way_back() {
        for (status, ja, en) in [
            (
                StatusCode::NOT_FOUND,
                "ページが見つかりません",
                "Page not found",
            ),
            (
                StatusCode::BAD_REQUEST,
                "リクエストを処理できません",
                "could not be handled",
            ),
            (
                StatusCode::FORBIDDEN,
                "このページは開けません",
                "cannot open this page",
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "サーバーで問題が発生しました",
                "went wrong on the server",
            ),
        ] {
            let page = error_page(Lang::Ja, status, None, Home::Portal);
            assert_eq!(page.status(), status);
            let html = text_of(page).await;
            assert!(html.contains(ja), "{html}");
            assert!(html.contains(&format!("エラーコード {}", status.as_u16())));
            assert!(
                html.contains(r#"<a href="/team" id="error-back">"#),
                "{html}"
            );
            let html = text_of(error_page(Lang::En, status, None, Home::Login)).await;
            assert!(html.contains(en), "{html}");
            assert!(
                html.contains(r#"<a href="/login" id="error-back">"#),
                "{html}"
            );
        }
    }

    #[test]
    fn a_refusal_with_its_own_message_is_told_in_the_callers_language() {
        let body = serde_json::json!({"error": "locked", "message": {"ja": "回答は締め切られました", "en": "Answers are closed"}});
        let body = serde_json::to_vec(&body).unwrap();
        assert_eq!(
            localised_message(&body, Lang::Ja).as_deref(),
            Some("回答は締め切られました")
        );
        assert_eq!(
            localised_message(&body, Lang::En).as_deref(),
            Some("Answers are closed")
        );
        assert_eq!(
            localised_message(br#"{"error": "not found"}"#, Lang::Ja),
            None
        );
        assert_eq!(localised_message(b"", Lang::Ja), None);
    }
}
