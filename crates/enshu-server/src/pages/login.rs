//! Login, logout and the language switch.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{FormFields, redirect};
use crate::auth::{self, Caller, Credential, LOGIN_COOKIE, Principal, SESSION_COOKIE};
use crate::error::RequestError;
use crate::fair_share::WriteKind;
use crate::html::{Frame, escape, page};
use crate::i18n::{LANG_COOKIE, Lang, Msg};
use crate::state::{AppState, random_hex};
use crate::tls::ClientAddress;

pub(crate) async fn login_form(lang: Lang) -> Response {
    render_login(lang, None, StatusCode::OK)
}

fn render_login(lang: Lang, error: Option<Msg>, status: StatusCode) -> Response {
    let login_token = random_hex();
    let error_html = error.map_or(String::new(), |message| {
        format!(
            r#"<p class="error" id="login-error">{}</p>"#,
            lang.t(message)
        )
    });
    let body = format!(
        r#"<section class="card narrow"><h1>{login}</h1>{error_html}
<form method="post" action="/login"><input type="hidden" name="login_csrf" value="{login_token}">
<label>{token_label} <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit" id="login-submit">{login}</button></form></section>"#,
        login = lang.t(Msg::Login),
        token_label = lang.t(Msg::Token),
    );
    let mut response = (
        status,
        page(
            Frame {
                lang,
                title: lang.t(Msg::Login),
                csrf: None,
                path: "/login",
                live: "",
                clock: None,
            },
            &body,
        ),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&auth::set_cookie(LOGIN_COOKIE, &login_token, 3600)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<ClientAddress>,
    lang: Lang,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let address = client.0.ip();
    if state.login_blocked(address) {
        state.fair_share().count_blocked_login();
        return Ok(render_login(
            lang,
            Some(Msg::TooManyAttempts),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let form = FormFields::parse(&body);
    // Double-submit: the hidden field must equal the login cookie.
    let cookie_token = auth::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let form_token = form.value("login_csrf");
    if cookie_token.is_empty()
        || !auth::constant_time_equal(cookie_token.as_bytes(), form_token.as_bytes())
    {
        return Err(RequestError::Csrf);
    }
    let Some(principal) = auth::principal_for_token(&state, &form.value("token")).await? else {
        state.record_login_failure(address);
        return Ok(render_login(
            lang,
            Some(Msg::LoginFailed),
            StatusCode::UNAUTHORIZED,
        ));
    };
    if let Principal::Team { index, .. } = &principal
        && let Err(refusal) = state.fair_share().admit(*index, WriteKind::Login)
    {
        return Err(RequestError::Refused {
            kind: WriteKind::Login,
            refusal,
            lang,
            api: false,
        });
    }
    let destination = match principal {
        Principal::Instructor => "/",
        Principal::Team { .. } => "/team",
    };
    let session_id = state.create_web_session(principal);
    let mut response = redirect(destination);
    let lifetime = state.options().web_session_lifetime.as_secs();
    for cookie in [
        auth::set_cookie(SESSION_COOKIE, &session_id, lifetime),
        auth::set_cookie(LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, RequestError> {
    let form = FormFields::parse(&body);
    caller.check_csrf(&state, &headers, form.get(auth::CSRF_FIELD))?;
    if let Credential::Cookie { session_id } = &caller.credential {
        state.end_web_session(session_id);
    }
    let mut response = redirect("/login");
    if let Ok(value) = HeaderValue::from_str(&auth::set_cookie(SESSION_COOKIE, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct SwitchQuery {
    back: Option<String>,
}

/// Whether `back` is a path on this server, as a browser would read it:
/// browsers drop tabs and newlines from a URL and read `\\` as `/`, so
/// `/\t/elsewhere` or `/\\elsewhere` would leave the site.
fn is_local_path(back: &str) -> bool {
    back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains('\\')
        && !back.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Sets the language cookie and goes back to a local path.
pub(crate) async fn switch_language(
    Path(code): Path<String>,
    Query(query): Query<SwitchQuery>,
) -> Result<Response, RequestError> {
    let lang = Lang::parse(&code).ok_or(RequestError::NotFound)?;
    let back = query
        .back
        .filter(|back| is_local_path(back))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = redirect(&back);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; Secure; SameSite=Strict",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    let _ = escape;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_server_are_gone_back_to() {
        for local in ["/", "/team", "/team/report?kind=first", "/%2F%2Felsewhere"] {
            assert!(is_local_path(local), "{local}");
        }
        for elsewhere in [
            "//elsewhere.example",
            "/\t/elsewhere.example",
            "/\n/elsewhere.example",
            "/\\elsewhere.example",
            "\\/elsewhere.example",
            "https://elsewhere.example",
            "/ /elsewhere.example",
            "",
        ] {
            assert!(!is_local_path(elsewhere), "{elsewhere:?}");
        }
    }
}
