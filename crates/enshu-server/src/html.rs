//! HTML helpers: escaping and the page frame. Pages are built with
//! `format!` over escaped values; every dynamic value passes [`escape`].

use axum::response::Html;
use enshu_scoring::{ObjectiveStatus, Phase};

use crate::i18n::{Lang, Msg};

pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Percent-encodes a path segment or query value.
pub(crate) fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub(crate) struct Frame<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// Shown in the header with a logout button when logged in.
    pub csrf: Option<&'a str>,
    /// Path to come back to after switching language.
    pub path: &'a str,
    /// `data-live` on the body: which live behaviour app.js enables.
    pub live: &'a str,
}

pub(crate) fn page(frame: Frame<'_>, body: &str) -> Html<String> {
    let lang = frame.lang;
    let other = match lang {
        Lang::Ja => "en",
        Lang::En => "ja",
    };
    let logout = frame.csrf.map_or(String::new(), |csrf| {
        format!(
            r#"<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit">{}</button></form>"#,
            escape(csrf),
            lang.t(Msg::Logout)
        )
    });
    Html(format!(
        r#"<!doctype html>
<html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Enshu</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>
<body data-live="{live}"><header><strong>{app}</strong> <span class="title">{title}</span>
<nav><a href="/lang/{other}?back={back}" id="lang-switch">{switch}</a> {logout}</nav></header>
<main>{body}</main></body></html>"#,
        code = lang.code(),
        title = escape(frame.title),
        live = escape(frame.live),
        app = lang.t(Msg::AppName),
        back = url_encode(frame.path),
        switch = lang.t(Msg::Language),
    ))
}

pub(crate) fn phase_name(lang: Lang, phase: Phase) -> &'static str {
    lang.t(match phase {
        Phase::Detection => Msg::Detection,
        Phase::Response => Msg::Response,
        Phase::Reporting => Msg::Reporting,
        Phase::Recovery => Msg::Recovery,
    })
}

pub(crate) fn status_label(lang: Lang, status: ObjectiveStatus) -> (&'static str, &'static str) {
    match status {
        ObjectiveStatus::Pending => ("pending", lang.t(Msg::StatusPending)),
        ObjectiveStatus::Met { .. } => ("met", lang.t(Msg::StatusMet)),
        ObjectiveStatus::Late { .. } => ("late", lang.t(Msg::StatusLate)),
        ObjectiveStatus::Missed => ("missed", lang.t(Msg::StatusMissed)),
    }
}

pub(crate) fn minutes(milliseconds: Option<u64>) -> String {
    milliseconds.map_or("–".to_owned(), crate::time_format::exercise_offset)
}

pub(crate) fn csrf_field(csrf: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(csrf)
    )
}
