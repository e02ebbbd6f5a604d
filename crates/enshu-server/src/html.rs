//! HTML helpers: escaping and the page frame. Pages are built with
//! `format!` over escaped values; every dynamic value passes [`escape`].

use axum::response::Html;
use enshu_scoring::{ClockState, ObjectiveStatus, Phase};

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
    /// The exercise clock in the header, ticked by app.js.
    pub clock: Option<Clock<'a>>,
}

/// The exercise clock as a page shows it: what it read when the page was
/// rendered; app.js ticks it on from there (`clock_widget`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock<'a> {
    pub exercise_ms: u64,
    pub state: ClockState,
    pub speed: u32,
    pub wall_ms: i64,
    pub zone: &'a crate::time_format::TimeZone,
}

impl<'a> Clock<'a> {
    /// `team`'s clock (the session's with `None`) now.
    pub fn of(
        snapshot: &crate::exercise::Snapshot,
        team: Option<u32>,
        zone: &'a crate::time_format::TimeZone,
    ) -> Clock<'a> {
        let wall_ms = crate::time_format::now_ms();
        Clock {
            exercise_ms: snapshot.clocks.exercise_ms_at(team, wall_ms),
            state: snapshot.clocks.state_at(team, wall_ms),
            speed: snapshot.clocks.speed_at(team, wall_ms).max(1),
            wall_ms,
            zone,
        }
    }

    fn state_code(self) -> &'static str {
        match self.state {
            ClockState::NotStarted => "not-started",
            ClockState::Running => "running",
            ClockState::Paused => "paused",
            ClockState::Stopped => "stopped",
        }
    }

    /// The data app.js ticks from, as attributes.
    pub fn data_attributes(self) -> String {
        format!(
            r#"data-exercise-ms="{}" data-state="{}" data-speed="{}" data-wall-ms="{}" data-offset-minutes="{}""#,
            self.exercise_ms,
            self.state_code(),
            self.speed,
            self.wall_ms,
            self.zone.offset_minutes()
        )
    }

    /// A hidden copy of the clock's reading inside a live fragment, so a
    /// fragment reload (a pause, a speed change) re-syncs the header.
    pub fn sync_marker(self, lang: Lang) -> String {
        format!(
            r#"<span hidden class="clock-sync" {} data-state-label="{}"></span>"#,
            self.data_attributes(),
            self.state_label(lang)
        )
    }

    fn state_label(self, lang: Lang) -> &'static str {
        lang.t(match self.state {
            ClockState::NotStarted => Msg::ClockNotStarted,
            ClockState::Running => Msg::ClockRunning,
            ClockState::Paused => Msg::ClockPaused,
            ClockState::Stopped => Msg::ClockStopped,
        })
    }
}

fn clock_widget(lang: Lang, clock: Clock<'_>) -> String {
    let state = clock.state_label(lang);
    let speed = if clock.speed > 1 {
        format!(
            r#" <span class="clock-speed">{} ×{}</span>"#,
            lang.t(Msg::ClockSpeed),
            clock.speed
        )
    } else {
        String::new()
    };
    format!(
        r#"<div class="clock" id="clock" role="timer" aria-live="off" {data}><span class="clock-state {code}" id="clock-state">{state}</span>{speed} <span>{elapsed} <strong id="clock-exercise">{exercise}</strong></span> <span>{now} <strong id="clock-wall">{wall}</strong> <small>{zone}</small></span></div>"#,
        data = clock.data_attributes(),
        code = clock.state_code(),
        elapsed = lang.t(Msg::ElapsedLabel),
        exercise = crate::time_format::exercise_offset(clock.exercise_ms),
        now = lang.t(Msg::NowLabel),
        wall = clock.zone.time_of_day(clock.wall_ms),
        zone = escape(clock.zone.name()),
    )
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
<body data-live="{live}"><header><strong>{app}</strong> <span class="title">{title}</span>{clock}
<nav><a href="/lang/{other}?back={back}" id="lang-switch">{switch}</a> {logout}</nav></header>
<main>{body}</main></body></html>"#,
        code = lang.code(),
        title = escape(frame.title),
        live = escape(frame.live),
        clock = frame
            .clock
            .map_or(String::new(), |clock| clock_widget(lang, clock)),
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

/// A duration (time to detect, remaining): `12:05`, or `–`.
pub(crate) fn minutes(milliseconds: Option<u64>) -> String {
    milliseconds.map_or("–".to_owned(), crate::time_format::exercise_offset)
}

/// An exercise-clock offset, labelled as one: `経過 12:05` / `T+12:05`.
pub(crate) fn offset(lang: Lang, milliseconds: Option<u64>) -> String {
    milliseconds.map_or("–".to_owned(), |milliseconds| {
        let time = crate::time_format::exercise_offset(milliseconds);
        match lang {
            Lang::Ja => format!(r#"<span class="offset">経過 {time}</span>"#),
            Lang::En => format!(r#"<span class="offset" title="exercise time">T+{time}</span>"#),
        }
    })
}

pub(crate) fn csrf_field(csrf: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(csrf)
    )
}
