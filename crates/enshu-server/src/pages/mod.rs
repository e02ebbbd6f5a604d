//! Server-rendered pages. No build step and no framework: `format!` over
//! escaped values, one small script (`static/app.js`) for live updates.

pub(crate) mod after_action;
pub(crate) mod describe;
pub(crate) mod error;
pub(crate) mod instructor;
pub(crate) mod login;
pub(crate) mod team;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub(crate) async fn static_script() -> Response {
    static_file(
        include_str!("../../static/app.js"),
        "text/javascript; charset=utf-8",
    )
}

pub(crate) async fn static_styles() -> Response {
    static_file(
        include_str!("../../static/app.css"),
        "text/css; charset=utf-8",
    )
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An `application/x-www-form-urlencoded` body as ordered pairs, so that
/// repeated names (multi-choice fields) keep every value.
pub(crate) struct FormFields(pub Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &Bytes) -> FormFields {
        FormFields(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn value(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }
}

pub(crate) fn redirect(location: &str) -> Response {
    let mut response = axum::http::StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
