//! Charts drawn on the server as SVG: a team's timeline in swimlanes and
//! the comparison of teams' phase times. Colours come from classes in
//! `app.css` (the CSP forbids inline styles).

use std::fmt::Write as _;

use enshu_scenario::model::Scenario;
use enshu_scoring::Phase;
use enshu_store::EventKind;

use crate::exercise::{self, Snapshot};
use crate::html::{escape, phase_name};
use crate::i18n::{Lang, Msg};
use crate::time_format::exercise_offset;

const LANE_HEIGHT: u64 = 34;
const LABEL_WIDTH: u64 = 120;
const PLOT_WIDTH: u64 = 760;

macro_rules! markers {
    ($($name:ident => ($class:literal, $legend:ident),)*) => {
        /// A kind of mark the timelines draw. Each names its colour (a
        /// class in `app.css`) and its legend entry here, so a new kind
        /// cannot be drawn without a line in the legend.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Marker { $($name,)* }

        impl Marker {
            pub const ALL: &'static [Marker] = &[$(Marker::$name,)*];

            /// The colour's class, on the mark and on its swatch.
            pub fn class(self) -> &'static str {
                match self { $(Marker::$name => $class,)* }
            }

            /// What the legend calls it.
            pub fn legend(self) -> Msg {
                match self { $(Marker::$name => Msg::$legend,)* }
            }
        }
    };
}

markers! {
    Inject => ("inject", LegendInject),
    Held => ("held", LegendHeld),
    Met => ("good", LegendMet),
    Late => ("late", LegendLate),
    Wrong => ("bad", LegendWrong),
    Report => ("report", LegendReport),
    Graded => ("graded", LegendGraded),
    Hint => ("hint", LegendHint),
    Firewall => ("firewall", LegendFirewall),
    Terminal => ("terminal", LegendTerminal),
    Note => ("note", LegendNote),
    Adjustment => ("adjustment", LegendAdjustment),
    Deadline => ("deadline", LegendDeadline),
}

/// Lanes: injects, the four phases, hints, instructor notes, the team's
/// terminal commands; then a legend and the same events as a table.
pub(crate) fn team_timeline(
    snapshot: &Snapshot,
    scenario: &Scenario,
    team: u32,
    lang: Lang,
) -> String {
    let lanes = [
        lang.t(Msg::Injects),
        phase_name(lang, Phase::Detection),
        phase_name(lang, Phase::Response),
        phase_name(lang, Phase::Reporting),
        phase_name(lang, Phase::Recovery),
        lang.t(Msg::Hints),
        lang.t(Msg::Notes),
        lang.t(Msg::TerminalCommands),
    ];
    let team_score = snapshot.scoreboard.team(team);
    let now = team_score.map_or(0, |score| score.now_exercise_ms);
    let span_ms = now.max(scenario.duration.seconds * 1000).max(60_000);
    let x = |exercise_ms: u64| LABEL_WIDTH + exercise_ms.min(span_ms) * PLOT_WIDTH / span_ms;
    let lane_y = |lane: usize| 20 + lane as u64 * LANE_HEIGHT + LANE_HEIGHT / 2;
    let items = timeline_items(snapshot, scenario, team, lang);
    let height = 20 + lanes.len() as u64 * LANE_HEIGHT + 24;
    let mut svg = format!(
        r#"<svg class="timeline" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg"><title id="timeline-title">{title}</title>"#,
        w = LABEL_WIDTH + PLOT_WIDTH + 20,
        title = lang.t(Msg::Timeline)
    );
    for (lane, label) in lanes.iter().enumerate() {
        let top = 20 + lane as u64 * LANE_HEIGHT;
        let _ = write!(
            svg,
            r#"<rect class="lane lane-{}" x="{LABEL_WIDTH}" y="{top}" width="{PLOT_WIDTH}" height="{LANE_HEIGHT}"/><text class="lane-label" x="4" y="{}">{}</text>"#,
            lane % 2,
            lane_y(lane) + 4,
            escape(label)
        );
    }
    // Axis every 10 minutes (or 30 for long exercises).
    let tick_ms = if span_ms > 3 * 3_600_000 {
        1_800_000
    } else {
        600_000
    };
    let mut tick = 0;
    while tick <= span_ms {
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{0}" x2="{0}" y1="20" y2="{1}"/><text class="tick-label" x="{0}" y="{2}">{3}</text>"#,
            x(tick),
            height - 24,
            height - 8,
            exercise_offset(tick)
        );
        tick += tick_ms;
    }
    let _ = write!(
        svg,
        r#"<line class="now" x1="{0}" x2="{0}" y1="16" y2="{1}"/>"#,
        x(now),
        height - 24
    );
    for item in &items {
        if item.marker == Marker::Deadline {
            let _ = write!(
                svg,
                r#"<line class="deadline" x1="{0}" x2="{0}" y1="{1}" y2="{2}"><title>{3} {4}</title></line>"#,
                x(item.at),
                lane_y(item.lane) - LANE_HEIGHT / 2 + 2,
                lane_y(item.lane) + LANE_HEIGHT / 2 - 2,
                exercise_offset(item.at),
                escape(&item.text)
            );
        } else {
            draw_mark(&mut svg, item, x(item.at), lane_y(item.lane));
        }
    }
    svg.push_str("</svg>");
    let mut html = format!(r#"<figure class="timeline-figure">{svg}"#);
    html.push_str(&legend(lang));
    html.push_str("</figure>");
    html.push_str(&event_table(&items, &lanes, lang));
    html
}

/// A mark at (`cx`, `cy`): a terminal command as a thin bar (they come
/// in bursts), anything else as a dot.
fn draw_mark(svg: &mut String, item: &TimelineItem, cx: u64, cy: u64) {
    if item.marker == Marker::Terminal {
        let _ = write!(
            svg,
            r#"<rect class="mark terminal" x="{}" y="{}" width="3" height="16"><title>{} {}</title></rect>"#,
            cx.saturating_sub(1),
            cy - 8,
            exercise_offset(item.at),
            escape(&item.text)
        );
    } else {
        let _ = write!(
            svg,
            r#"<circle class="mark {}" cx="{cx}" cy="{cy}" r="6"><title>{} {}</title></circle>"#,
            item.marker.class(),
            exercise_offset(item.at),
            escape(&item.text)
        );
    }
}

/// What each marker's colour means, under the timeline: every kind it
/// can draw.
fn legend(lang: Lang) -> String {
    let mut html = legend_items(lang, Marker::ALL);
    html.push_str("</figcaption>");
    html
}

/// An open `<figcaption>` with one swatch per marker; the caller may add
/// to it and closes it.
fn legend_items(lang: Lang, markers: &[Marker]) -> String {
    let mut html = format!(
        r#"<figcaption class="legend"><span class="legend-title">{}:</span> "#,
        lang.t(Msg::Legend)
    );
    for marker in markers {
        let _ = write!(
            html,
            r#"<span class="legend-item"><span class="swatch {}" aria-hidden="true"></span>{}</span> "#,
            marker.class(),
            lang.t(marker.legend())
        );
    }
    html
}

/// The same events as the drawing, as a table: for the keyboard, print
/// and screen readers.
fn event_table(items: &[TimelineItem], lanes: &[&str], lang: Lang) -> String {
    let mut html = format!(
        r#"<table class="events stack"><caption>{}</caption><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        lang.t(Msg::EventTable),
        lang.t(Msg::ExerciseTime),
        lang.t(Msg::Lane),
        lang.t(Msg::Events),
    );
    for item in items {
        let _ = write!(
            html,
            r#"<tr class="event-{}"><td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td></tr>"#,
            item.marker.class(),
            lang.t(Msg::ExerciseTime),
            crate::html::offset(lang, Some(item.at)),
            lang.t(Msg::Lane),
            escape(lanes.get(item.lane).copied().unwrap_or_default()),
            lang.t(Msg::Events),
            escape(&item.text)
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// One mark of a team's timeline: when, in which lane, its kind (colour)
/// and what it says.
pub(crate) struct TimelineItem {
    pub at: u64,
    pub lane: usize,
    pub marker: Marker,
    pub text: String,
    /// The event's kind (`submission`, `terminal_command`); `None` for a
    /// deadline.
    pub kind: Option<&'static str>,
}

/// A team's timeline for instructors, in time order: the deadlines of its
/// objectives and every event of its log, each as a sentence in `lang`.
pub(crate) fn timeline_items(
    snapshot: &Snapshot,
    scenario: &Scenario,
    team: u32,
    lang: Lang,
) -> Vec<TimelineItem> {
    use crate::pages::describe::{form_title, note, objective_title, report_name};
    let phase_lane = |phase: Phase| match phase {
        Phase::Detection => 1,
        Phase::Response => 2,
        Phase::Reporting => 3,
        Phase::Recovery => 4,
    };
    let team_score = snapshot.scoreboard.team(team);
    let deadline_of = |objective: &str| {
        team_score
            .and_then(|score| score.objective(objective))
            .and_then(|score| score.deadline_exercise_ms)
    };
    let mut items = Vec::new();
    if let Some(team_score) = team_score {
        for objective in &team_score.objectives {
            if let Some(deadline) = objective.deadline_exercise_ms {
                items.push(TimelineItem {
                    at: deadline,
                    lane: phase_lane(objective.phase),
                    marker: Marker::Deadline,
                    text: format!(
                        "{}: {}",
                        lang.t(Msg::Deadline),
                        objective_title(lang, scenario, &objective.objective)
                    ),
                    kind: None,
                });
            }
        }
    }
    let ja = lang == Lang::Ja;
    for event in snapshot.team_events(team) {
        let at = snapshot.exercise_ms_of(event, team);
        let objective_lane = |objective: &str| {
            exercise::objective(scenario, objective).map_or(1, |objective| {
                phase_lane(exercise::scoring_phase(objective.phase))
            })
        };
        let met_marker = |objective: &str| {
            if deadline_of(objective).is_some_and(|deadline| at > deadline) {
                Marker::Late
            } else {
                Marker::Met
            }
        };
        let (lane, marker, text) = match &event.kind {
            EventKind::InjectFired { inject, target, .. } => (
                0,
                Marker::Inject,
                if ja {
                    format!("インジェクト {inject} を実行（対象 {target}）")
                } else {
                    format!("Inject {inject} fired at {target}")
                },
            ),
            EventKind::InjectHeld { inject } => (
                0,
                Marker::Held,
                if ja {
                    format!("インジェクト {inject} を保留")
                } else {
                    format!("Inject {inject} held")
                },
            ),
            // An engine failure: the instructors see why an inject has
            // not fired yet (the team never sees this timeline).
            EventKind::InjectFailed {
                inject,
                attempt,
                error,
            } => (
                6,
                Marker::Note,
                if ja {
                    format!("インジェクト {inject} が失敗（{attempt}回目）: {error}")
                } else {
                    format!("Inject {inject} failed (attempt {attempt}): {error}")
                },
            ),
            EventKind::Submission {
                objective,
                answer,
                correct,
            } => {
                let title = objective_title(lang, scenario, objective);
                (
                    objective_lane(objective),
                    if *correct {
                        met_marker(objective)
                    } else {
                        Marker::Wrong
                    },
                    match (ja, correct) {
                        (true, true) => format!("「{title}」に回答「{answer}」（正解）"),
                        (true, false) => format!("「{title}」に回答「{answer}」（不正解）"),
                        (false, true) => format!("Answered \"{title}\": {answer} (correct)"),
                        (false, false) => {
                            format!("Answered \"{title}\": {answer} (not correct)")
                        }
                    },
                )
            }
            EventKind::CheckResult {
                objective, passed, ..
            } => {
                if !*passed {
                    continue;
                }
                let title = objective_title(lang, scenario, objective);
                (
                    objective_lane(objective),
                    met_marker(objective),
                    if ja {
                        format!("「{title}」の判定に合格")
                    } else {
                        format!("\"{title}\" passed its check")
                    },
                )
            }
            EventKind::ReportSubmitted { form, .. } => (
                3,
                Marker::Report,
                if ja {
                    format!("{}を提出", report_name(lang, scenario, form, event.seq))
                } else {
                    format!("Submitted {}", report_name(lang, scenario, form, event.seq))
                },
            ),
            EventKind::ReportGraded { form, points, .. } => (
                3,
                Marker::Graded,
                lang.t(Msg::EventGraded)
                    .replace("{f}", form_title(lang, scenario, form))
                    .replace("{p}", &points.to_string()),
            ),
            EventKind::HintTaken {
                objective, penalty, ..
            } => (
                5,
                Marker::Hint,
                lang.t(Msg::EventHint)
                    .replace("{o}", objective_title(lang, scenario, objective))
                    .replace("{p}", &penalty.to_string()),
            ),
            EventKind::InstructorNote { text } => (6, Marker::Note, note(lang, text)),
            EventKind::Adjustment { points, reason, .. } => (
                6,
                Marker::Adjustment,
                lang.t(Msg::EventAdjusted)
                    .replace("{p}", &format!("{points:+}"))
                    .replace("{r}", reason),
            ),
            EventKind::FirewallChanged { block, address } => (
                2,
                Marker::Firewall,
                lang.t(if *block {
                    Msg::TeamBlocked
                } else {
                    Msg::TeamUnblocked
                })
                .replace("{a}", address),
            ),
            // Their own lane: they are the team's, not the instructor's.
            EventKind::TerminalCommand { host, command, .. } => {
                (7, Marker::Terminal, format!("{host}$ {command}"))
            }
            EventKind::TeamReset { containers } => (
                6,
                Marker::Note,
                if ja {
                    format!("演習環境をリセット（コンテナ {containers} 台を再構築）")
                } else {
                    format!("Range reset ({containers} containers rebuilt)")
                },
            ),
            EventKind::ClockChanged { .. }
            | EventKind::InjectFireRequested { .. }
            | EventKind::MessagesRead { .. } => continue,
        };
        items.push(TimelineItem {
            at,
            lane,
            marker,
            text,
            kind: Some(event.kind.kind_name()),
        });
    }
    items.sort_by_key(|item| item.at);
    items
}

/// The four phase times the comparison draws, each with its bar's class.
const MEASURES: [(&str, Msg); 4] = [
    ("detect", Msg::TimeToDetect),
    ("contain", Msg::TimeToContain),
    ("report", Msg::TimeToReport),
    ("recover", Msg::TimeToRecover),
];

/// How wide the phone's chart is drawn, in CSS px: it fits a 390 px
/// screen's card unscaled, so its text keeps its size.
const NARROW_WIDTH: u64 = 330;

/// Per team, minutes to detect, contain, report, recover: twice, one
/// chart for a wide screen (a team a row, its four bars beside its name)
/// and one for a phone (a team a block, each bar under its label), which
/// the stylesheet picks between. Scaled down to a phone, the wide one's
/// text would be 4 px high.
pub(crate) fn phase_comparison(snapshot: &Snapshot, lang: Lang) -> String {
    let teams: Vec<(String, [Option<u64>; 4])> = snapshot
        .scoreboard
        .teams
        .iter()
        .map(|team| {
            (
                snapshot.team_name(team.team),
                [
                    team.time_to_detect_ms(),
                    team.time_to_contain_ms(),
                    team.time_to_report_ms(),
                    team.time_to_recover_ms(),
                ],
            )
        })
        .collect();
    let longest = teams
        .iter()
        .flat_map(|(_, values)| values.iter().flatten().copied())
        .max()
        .unwrap_or(60_000)
        .max(60_000);
    let mut html = phase_comparison_wide(&teams, longest, lang);
    html.push_str(&phase_comparison_narrow(&teams, longest, lang));
    html
}

/// A row per team: its name at the left, its four bars beside it, the
/// colours' legend on top.
fn phase_comparison_wide(teams: &[(String, [Option<u64>; 4])], longest: u64, lang: Lang) -> String {
    // 18 apart: a 12 px label's box (ascent and descent) is 17.4 px high.
    let bar_height = 18u64;
    let row_height = bar_height * 4 + 14;
    let height = 30 + teams.len() as u64 * row_height;
    let mut svg = format!(
        r#"<svg class="comparison comparison-wide" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" aria-labelledby="comparison-title" xmlns="http://www.w3.org/2000/svg"><title id="comparison-title">{title}</title>"#,
        w = LABEL_WIDTH + PLOT_WIDTH + 60,
        title = lang.t(Msg::PhaseComparison)
    );
    for (index, (class, message)) in MEASURES.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect class="bar {class}" x="{}" y="4" width="10" height="10"/><text class="legend" x="{}" y="13">{}</text>"#,
            LABEL_WIDTH + index as u64 * 170,
            LABEL_WIDTH + index as u64 * 170 + 14,
            lang.t(*message)
        );
    }
    for (row, (name, values)) in teams.iter().enumerate() {
        let top = 24 + row as u64 * row_height;
        let _ = write!(
            svg,
            r#"<text class="lane-label" x="4" y="{}">{}</text>"#,
            top + row_height / 2,
            escape(name)
        );
        for (index, value) in values.iter().enumerate() {
            let y = top + index as u64 * bar_height;
            match value {
                Some(milliseconds) => {
                    let width = (milliseconds * PLOT_WIDTH / longest).max(1);
                    let _ = write!(
                        svg,
                        r#"<rect class="bar {}" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{}"><title>{}</title></rect><text class="bar-label" x="{}" y="{}">{}</text>"#,
                        MEASURES[index].0,
                        bar_height - 1,
                        exercise_offset(*milliseconds),
                        LABEL_WIDTH + width + 4,
                        y + bar_height - 4,
                        exercise_offset(*milliseconds)
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<text class="bar-label" x="{}" y="{}">{} –</text>"#,
                        LABEL_WIDTH + 2,
                        y + bar_height - 4,
                        lang.t(MEASURES[index].1)
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A block per team for a phone: the team's name, then each measure's
/// label and time on a line of its own above its bar, so nothing needs a
/// legend and the text is drawn at its size (`NARROW_WIDTH`).
fn phase_comparison_narrow(
    teams: &[(String, [Option<u64>; 4])],
    longest: u64,
    lang: Lang,
) -> String {
    // Each text's box (1.45 em high, 1.16 em of it above the baseline)
    // clear of the others: the name at 15 px, the labels at 14 px.
    const NAME_HEIGHT: u64 = 26;
    const LABEL_HEIGHT: u64 = 19;
    const BAR_HEIGHT: u64 = 9;
    const MEASURE_GAP: u64 = 5;
    const TEAM_GAP: u64 = 14;
    let measure_height = LABEL_HEIGHT + BAR_HEIGHT + MEASURE_GAP;
    let block_height = NAME_HEIGHT + 4 * measure_height + TEAM_GAP;
    let height = (teams.len() as u64 * block_height).max(1);
    let plot_width = NARROW_WIDTH - 2;
    let mut svg = format!(
        r#"<svg class="comparison comparison-narrow" viewBox="0 0 {NARROW_WIDTH} {height}" width="{NARROW_WIDTH}" height="{height}" role="img" aria-labelledby="comparison-narrow-title" xmlns="http://www.w3.org/2000/svg"><title id="comparison-narrow-title">{title}</title>"#,
        title = lang.t(Msg::PhaseComparison)
    );
    for (block, (name, values)) in teams.iter().enumerate() {
        let top = block as u64 * block_height;
        let _ = write!(
            svg,
            r#"<text class="team-name" x="0" y="{}">{}</text>"#,
            top + 18,
            escape(name)
        );
        for (index, value) in values.iter().enumerate() {
            let label_top = top + NAME_HEIGHT + index as u64 * measure_height;
            let (class, message) = MEASURES[index];
            let time = value.map_or("–".to_owned(), exercise_offset);
            let _ = write!(
                svg,
                r#"<text class="bar-label" x="0" y="{}">{} {time}</text>"#,
                label_top + 15,
                lang.t(message)
            );
            let bar_top = label_top + LABEL_HEIGHT;
            match value {
                Some(milliseconds) => {
                    let width = (milliseconds * plot_width / longest).max(2);
                    let _ = write!(
                        svg,
                        r#"<rect class="bar {class}" x="0" y="{bar_top}" width="{width}" height="{BAR_HEIGHT}"/>"#
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<rect class="bar-empty" x="0" y="{bar_top}" width="{plot_width}" height="{BAR_HEIGHT}"/>"#
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The marks the after-action swimlane draws: its kinds of event
/// (`action_swimlane`) and a correct answer's two colours.
const SWIMLANE_MARKERS: &[Marker] = &[
    Marker::Inject,
    Marker::Met,
    Marker::Late,
    Marker::Wrong,
    Marker::Report,
    Marker::Graded,
    Marker::Firewall,
    Marker::Hint,
    Marker::Terminal,
];

/// The after-action swimlane: each inject's fire (a line across every
/// lane) against the team's own actions, one lane each: answers, reports,
/// firewall changes, hints, terminal commands. Its text alternative is the
/// drawing's description (how many of each) and the event table beside it.
pub(crate) fn action_swimlane(
    snapshot: &Snapshot,
    scenario: &Scenario,
    team: u32,
    lang: Lang,
) -> String {
    let lanes = [
        lang.t(Msg::Injects),
        lang.t(Msg::Answers),
        lang.t(Msg::Reports),
        lang.t(Msg::LaneFirewall),
        lang.t(Msg::Hints),
        lang.t(Msg::TerminalCommands),
    ];
    let items: Vec<TimelineItem> = timeline_items(snapshot, scenario, team, lang)
        .into_iter()
        .filter_map(|item| {
            let lane = match item.kind? {
                "inject_fired" => 0,
                "submission" => 1,
                "report_submitted" | "report_graded" => 2,
                "firewall_changed" => 3,
                "hint_taken" => 4,
                "terminal_command" => 5,
                _ => return None,
            };
            Some(TimelineItem { lane, ..item })
        })
        .collect();
    let mut counts = [0usize; 6];
    for item in &items {
        counts[item.lane] += 1;
    }
    let now = snapshot
        .scoreboard
        .team(team)
        .map_or(0, |score| score.now_exercise_ms);
    let last = items.iter().map(|item| item.at).max().unwrap_or(0);
    let span_ms = now.max(last).max(60_000);
    let x = |exercise_ms: u64| LABEL_WIDTH + exercise_ms.min(span_ms) * PLOT_WIDTH / span_ms;
    let lane_y = |lane: usize| 20 + lane as u64 * LANE_HEIGHT + LANE_HEIGHT / 2;
    let height = 20 + lanes.len() as u64 * LANE_HEIGHT + 24;
    let summary = lang
        .t(Msg::AarSwimlaneSummary)
        .replace("{i}", &counts[0].to_string())
        .replace("{a}", &counts[1].to_string())
        .replace("{r}", &counts[2].to_string())
        .replace("{f}", &counts[3].to_string())
        .replace("{h}", &counts[4].to_string())
        .replace("{t}", &counts[5].to_string());
    let mut svg = format!(
        r#"<svg class="swimlane" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" aria-labelledby="swimlane-title swimlane-desc" xmlns="http://www.w3.org/2000/svg"><title id="swimlane-title">{title}</title><desc id="swimlane-desc">{desc}</desc>"#,
        w = LABEL_WIDTH + PLOT_WIDTH + 20,
        title = lang.t(Msg::AarSwimlane),
        desc = escape(&summary),
    );
    for (lane, label) in lanes.iter().enumerate() {
        let top = 20 + lane as u64 * LANE_HEIGHT;
        let _ = write!(
            svg,
            r#"<rect class="lane lane-{}" x="{LABEL_WIDTH}" y="{top}" width="{PLOT_WIDTH}" height="{LANE_HEIGHT}"/><text class="lane-label" x="4" y="{}">{}</text>"#,
            lane % 2,
            lane_y(lane) + 4,
            escape(label)
        );
    }
    let tick_ms = if span_ms > 3 * 3_600_000 {
        1_800_000
    } else if span_ms > 3_600_000 {
        600_000
    } else {
        300_000
    };
    let mut tick = 0;
    while tick <= span_ms {
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{0}" x2="{0}" y1="20" y2="{1}"/><text class="tick-label" x="{0}" y="{2}">{3}</text>"#,
            x(tick),
            height - 24,
            height - 8,
            exercise_offset(tick)
        );
        tick += tick_ms;
    }
    // Each fire as a line across the lanes, so what the team did after it
    // reads straight down.
    for item in items.iter().filter(|item| item.lane == 0) {
        let _ = write!(
            svg,
            r#"<line class="fire" x1="{0}" x2="{0}" y1="20" y2="{1}"/>"#,
            x(item.at),
            height - 24,
        );
    }
    for item in &items {
        draw_mark(&mut svg, item, x(item.at), lane_y(item.lane));
    }
    svg.push_str("</svg>");
    let mut legend = legend_items(lang, SWIMLANE_MARKERS);
    let _ = write!(
        legend,
        r#"<br><span class="swimlane-summary">{}</span></figcaption>"#,
        escape(&summary)
    );
    format!(r#"<figure class="timeline-figure swimlane-figure">{svg}{legend}</figure>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of mark the timeline can draw is `Marker::ALL` (a mark
    /// is a `Marker`, so nothing else can be drawn): each has its line in
    /// the legend, in both languages, with a swatch the stylesheet colours.
    #[test]
    fn the_legend_names_every_marker_the_timeline_can_draw() {
        let stylesheet = include_str!("../static/app.css");
        for lang in [Lang::Ja, Lang::En] {
            let html = legend(lang);
            let mut labels = std::collections::BTreeSet::new();
            for marker in Marker::ALL {
                let label = lang.t(marker.legend());
                let entry = format!(
                    r#"<span class="swatch {}" aria-hidden="true"></span>{label}</span>"#,
                    marker.class()
                );
                assert!(html.contains(&entry), "{marker:?} in {lang:?}: {html}");
                assert!(labels.insert(label), "two markers are called {label}");
            }
        }
        for marker in Marker::ALL {
            assert!(
                stylesheet.contains(&format!(".swatch.{} ", marker.class())),
                "app.css colours no swatch for {marker:?}"
            );
        }
    }

    #[test]
    fn a_terminal_command_has_its_legend_entry() {
        let html = legend(Lang::Ja);
        assert!(
            html.contains(
                r#"<span class="swatch terminal" aria-hidden="true"></span>端末コマンド"#
            ),
            "{html}"
        );
        assert!(legend(Lang::En).contains("Terminal command"));
    }
}
