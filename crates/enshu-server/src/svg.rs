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

/// Lanes: injects, the four phases, hints, instructor notes.
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
    ];
    let team_score = snapshot.scoreboard.team(team);
    let now = team_score.map_or(0, |score| score.now_exercise_ms);
    let span_ms = now.max(scenario.duration.seconds * 1000).max(60_000);
    let x = |exercise_ms: u64| LABEL_WIDTH + exercise_ms.min(span_ms) * PLOT_WIDTH / span_ms;
    let lane_y = |lane: usize| 20 + lane as u64 * LANE_HEIGHT + LANE_HEIGHT / 2;
    let phase_lane = |phase: Phase| match phase {
        Phase::Detection => 1,
        Phase::Response => 2,
        Phase::Reporting => 3,
        Phase::Recovery => 4,
    };
    let height = 20 + lanes.len() as u64 * LANE_HEIGHT + 24;
    let mut svg = format!(
        r#"<svg class="timeline" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">"#,
        w = LABEL_WIDTH + PLOT_WIDTH + 20
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
    let marker = |svg: &mut String, lane: usize, at: u64, class: &str, title: String| {
        let _ = write!(
            svg,
            r#"<circle class="mark {class}" cx="{}" cy="{}" r="6"><title>{} {}</title></circle>"#,
            x(at),
            lane_y(lane),
            exercise_offset(at),
            escape(&title)
        );
    };
    // Deadlines and achievements per objective.
    if let Some(team_score) = team_score {
        for objective in &team_score.objectives {
            let lane = phase_lane(objective.phase);
            if let Some(deadline) = objective.deadline_exercise_ms {
                let _ = write!(
                    svg,
                    r#"<line class="deadline" x1="{0}" x2="{0}" y1="{1}" y2="{2}"><title>{3} {4}</title></line>"#,
                    x(deadline),
                    lane_y(lane) - LANE_HEIGHT / 2 + 2,
                    lane_y(lane) + LANE_HEIGHT / 2 - 2,
                    lang.t(Msg::Deadline),
                    escape(&objective.objective)
                );
            }
        }
    }
    for event in snapshot.team_events(team) {
        let at = snapshot.exercise_ms_of(event, team);
        let objective_lane = |objective: &str| {
            exercise::objective(scenario, objective).map_or(1, |objective| {
                phase_lane(exercise::scoring_phase(objective.phase))
            })
        };
        match &event.kind {
            EventKind::InjectFired { inject, target, .. } => {
                marker(&mut svg, 0, at, "inject", format!("{inject} → {target}"))
            }
            EventKind::InjectHeld { inject } => {
                marker(&mut svg, 0, at, "held", format!("held {inject}"))
            }
            // An engine failure note: the instructors see why an inject
            // has not fired yet (the team never sees this timeline).
            EventKind::InjectFailed {
                inject,
                attempt,
                error,
            } => marker(
                &mut svg,
                6,
                at,
                "note",
                format!("inject {inject} failed (attempt {attempt}): {error}"),
            ),
            EventKind::Submission {
                objective,
                answer,
                correct,
            } => marker(
                &mut svg,
                objective_lane(objective),
                at,
                if *correct { "good" } else { "bad" },
                format!("{objective}: {answer}"),
            ),
            EventKind::CheckResult {
                objective,
                passed,
                check,
                ..
            } => {
                if *passed {
                    marker(
                        &mut svg,
                        objective_lane(objective),
                        at,
                        "good",
                        format!("{objective}: {check}"),
                    );
                }
            }
            EventKind::ReportSubmitted { form, .. } => {
                marker(&mut svg, 3, at, "report", format!("{form} #{}", event.seq))
            }
            EventKind::ReportGraded { form, points, .. } => {
                marker(&mut svg, 3, at, "graded", format!("{form}: {points}"))
            }
            EventKind::HintTaken {
                objective, penalty, ..
            } => marker(&mut svg, 5, at, "hint", format!("{objective} −{penalty}")),
            EventKind::InstructorNote { text } => marker(&mut svg, 6, at, "note", text.clone()),
            EventKind::Adjustment { points, reason, .. } => marker(
                &mut svg,
                6,
                at,
                "adjustment",
                format!("{points:+} {reason}"),
            ),
            EventKind::FirewallChanged { block, address } => marker(
                &mut svg,
                2,
                at,
                "good",
                format!(
                    "firewall: {} {address}",
                    if *block { "block" } else { "unblock" }
                ),
            ),
            EventKind::TerminalCommand { host, command, .. } => {
                marker(&mut svg, 6, at, "terminal", format!("{host}$ {command}"))
            }
            EventKind::TeamReset { containers } => marker(
                &mut svg,
                6,
                at,
                "note",
                format!("range reset ({containers} containers rebuilt)"),
            ),
            EventKind::ClockChanged { .. } | EventKind::InjectFireRequested { .. } => {}
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars: per team, minutes to detect, contain, report, recover.
pub(crate) fn phase_comparison(snapshot: &Snapshot, lang: Lang) -> String {
    let measures: [(&str, Msg); 4] = [
        ("detect", Msg::TimeToDetect),
        ("contain", Msg::TimeToContain),
        ("report", Msg::TimeToReport),
        ("recover", Msg::TimeToRecover),
    ];
    let bar_height = 8u64;
    let row_height = bar_height * 4 + 10;
    let teams = &snapshot.scoreboard.teams;
    let longest = teams
        .iter()
        .flat_map(|team| {
            [
                team.time_to_detect_ms(),
                team.time_to_contain_ms(),
                team.time_to_report_ms(),
                team.time_to_recover_ms(),
            ]
        })
        .flatten()
        .max()
        .unwrap_or(60_000)
        .max(60_000);
    let height = 30 + teams.len() as u64 * row_height;
    let mut svg = format!(
        r#"<svg class="comparison" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">"#,
        w = LABEL_WIDTH + PLOT_WIDTH + 60
    );
    for (index, (class, message)) in measures.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect class="bar {class}" x="{}" y="4" width="10" height="10"/><text class="legend" x="{}" y="13">{}</text>"#,
            LABEL_WIDTH + index as u64 * 170,
            LABEL_WIDTH + index as u64 * 170 + 14,
            lang.t(*message)
        );
    }
    for (row, team) in teams.iter().enumerate() {
        let top = 24 + row as u64 * row_height;
        let _ = write!(
            svg,
            r#"<text class="lane-label" x="4" y="{}">{}</text>"#,
            top + row_height / 2,
            escape(&snapshot.team_name(team.team))
        );
        let values = [
            team.time_to_detect_ms(),
            team.time_to_contain_ms(),
            team.time_to_report_ms(),
            team.time_to_recover_ms(),
        ];
        for (index, value) in values.iter().enumerate() {
            let y = top + index as u64 * bar_height;
            match value {
                Some(milliseconds) => {
                    let width = (milliseconds * PLOT_WIDTH / longest).max(1);
                    let _ = write!(
                        svg,
                        r#"<rect class="bar {}" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{}"><title>{}</title></rect><text class="bar-label" x="{}" y="{}">{}</text>"#,
                        measures[index].0,
                        bar_height - 1,
                        exercise_offset(*milliseconds),
                        LABEL_WIDTH + width + 4,
                        y + bar_height - 1,
                        milliseconds / 60_000
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<text class="bar-label" x="{}" y="{}">–</text>"#,
                        LABEL_WIDTH + 2,
                        y + bar_height - 1
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}
