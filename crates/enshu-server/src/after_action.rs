//! The after-action review as numbers: for each team and each inject, how
//! long the team took to detect, contain, report and recover, counted from
//! that inject's actual fire for the team (its first `inject_fired` event
//! in the log, not the schedule); the session's median and best; and where
//! a team stands against earlier cohorts of the same scenario, read from
//! their JSON exports.
//!
//! Pure: the times come from the log's events and the scoreboard scored
//! from them, so the review is unit-tested without a server, and an export
//! read back gives the same numbers the page showed.

use std::collections::BTreeMap;

use enshu_scoring::{DeadlineAnchor, ObjectiveRule, Phase, TeamScore};
use enshu_store::EventKind;
use serde::{Deserialize, Serialize};

/// What an export says it is, so a cohort file of another kind is refused.
pub const EXPORT_FORMAT: &str = "enshu-after-action/1";

/// The four times of the review, each from one phase's objectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The first detection objective met.
    Detect,
    /// Every response objective met.
    Contain,
    /// The first reporting objective met.
    Report,
    /// Every recovery objective met.
    Recover,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::Detect,
        Measure::Contain,
        Measure::Report,
        Measure::Recover,
    ];

    pub fn phase(self) -> Phase {
        match self {
            Measure::Detect => Phase::Detection,
            Measure::Contain => Phase::Response,
            Measure::Report => Phase::Reporting,
            Measure::Recover => Phase::Recovery,
        }
    }

    /// Whether the time runs until every objective of the phase is met
    /// (contain, recover) rather than the first (detect, report), as the
    /// scoreboard counts them.
    fn needs_every_objective(self) -> bool {
        matches!(self, Measure::Contain | Measure::Recover)
    }
}

/// One time of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Timing {
    /// No objective of the measure's phase answers this inject.
    NotApplicable,
    /// The inject has not fired, or its objectives are not (all) met.
    NotYet,
    /// Met this long after the inject fired.
    Took { ms: u64 },
}

impl Timing {
    pub fn ms(self) -> Option<u64> {
        match self {
            Timing::Took { ms } => Some(ms),
            Timing::NotApplicable | Timing::NotYet => None,
        }
    }
}

/// A team's four times for one inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectTimes {
    /// `None` for the objectives timed from the exercise start.
    pub inject: Option<String>,
    /// Exercise-clock offset of the inject's first fire for the team.
    pub fired_at_ms: Option<u64>,
    pub detect: Timing,
    pub contain: Timing,
    pub report: Timing,
    pub recover: Timing,
}

impl InjectTimes {
    pub fn timing(&self, measure: Measure) -> Timing {
        match measure {
            Measure::Detect => self.detect,
            Measure::Contain => self.contain,
            Measure::Report => self.report,
            Measure::Recover => self.recover,
        }
    }
}

/// One team's review in numbers: what an export carries and a cohort is
/// read back from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamTimes {
    pub team: u32,
    pub name: String,
    pub total: i64,
    pub injects: Vec<InjectTimes>,
}

/// The exercise-clock offset of each inject's first fire, from a team's
/// events (its own and the session-wide ones) as (offset, kind) in log
/// order.
pub fn first_fires<'a>(
    events: impl IntoIterator<Item = (u64, &'a EventKind)>,
) -> BTreeMap<String, u64> {
    let mut fires = BTreeMap::new();
    for (exercise_ms, kind) in events {
        if let EventKind::InjectFired { inject, .. } = kind {
            fires.entry(inject.clone()).or_insert(exercise_ms);
        }
    }
    fires
}

/// The injects the objectives answer, in the order the rules first name
/// them; `None` (the exercise start) first when an objective has no inject.
fn anchors(rules: &[ObjectiveRule]) -> Vec<Option<&str>> {
    let mut anchors: Vec<Option<&str>> = Vec::new();
    if rules
        .iter()
        .any(|rule| rule.anchor == DeadlineAnchor::Start)
    {
        anchors.push(None);
    }
    for rule in rules {
        if let DeadlineAnchor::Inject(inject) = &rule.anchor
            && !anchors.contains(&Some(inject.as_str()))
        {
            anchors.push(Some(inject.as_str()));
        }
    }
    anchors
}

/// A team's times for each inject an objective answers: for each measure,
/// from the inject's first fire in `fires` to when the phase's objectives
/// answering it were met (the first for detect and report, the last once
/// all are met for contain and recover), as `team_score` scored them.
pub fn inject_times(
    rules: &[ObjectiveRule],
    team_score: &TeamScore,
    fires: &BTreeMap<String, u64>,
) -> Vec<InjectTimes> {
    anchors(rules)
        .into_iter()
        .map(|anchor| {
            let fired_at_ms = match anchor {
                None => Some(0),
                Some(inject) => fires.get(inject).copied(),
            };
            let timing = |measure: Measure| {
                let answering: Vec<&ObjectiveRule> = rules
                    .iter()
                    .filter(|rule| rule.phase == measure.phase())
                    .filter(|rule| match (&rule.anchor, anchor) {
                        (DeadlineAnchor::Start, None) => true,
                        (DeadlineAnchor::Inject(inject), Some(wanted)) => inject == wanted,
                        _ => false,
                    })
                    .collect();
                if answering.is_empty() {
                    return Timing::NotApplicable;
                }
                let Some(fired) = fired_at_ms else {
                    return Timing::NotYet;
                };
                let met: Vec<Option<u64>> = answering
                    .iter()
                    .map(|rule| {
                        team_score
                            .objective(&rule.id)
                            .and_then(enshu_scoring::ObjectiveScore::met_at_exercise_ms)
                            .map(|met| met.saturating_sub(fired))
                    })
                    .collect();
                let took = if measure.needs_every_objective() {
                    met.iter()
                        .copied()
                        .collect::<Option<Vec<u64>>>()
                        .and_then(|all| all.into_iter().max())
                } else {
                    met.iter().flatten().copied().min()
                };
                took.map_or(Timing::NotYet, |ms| Timing::Took { ms })
            };
            InjectTimes {
                inject: anchor.map(str::to_owned),
                fired_at_ms,
                detect: timing(Measure::Detect),
                contain: timing(Measure::Contain),
                report: timing(Measure::Report),
                recover: timing(Measure::Recover),
            }
        })
        .collect()
}

/// Median and best of some teams' times for one inject and measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    /// The middle time; of an even number, the mean of the middle two.
    pub median_ms: Option<u64>,
    /// The shortest.
    pub best_ms: Option<u64>,
    /// How many teams had a time.
    pub teams_timed: usize,
}

impl Spread {
    pub fn of(times: impl IntoIterator<Item = u64>) -> Spread {
        let mut sorted: Vec<u64> = times.into_iter().collect();
        sorted.sort_unstable();
        let middle = sorted.len() / 2;
        let median_ms = match sorted.len() {
            0 => None,
            length if length % 2 == 1 => Some(sorted[middle]),
            _ => Some((sorted[middle - 1] + sorted[middle]) / 2),
        };
        Spread {
            median_ms,
            best_ms: sorted.first().copied(),
            teams_timed: sorted.len(),
        }
    }
}

/// Where a time stands among others: 1 + how many were faster, of how
/// many (the others and this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub rank: usize,
    pub of: usize,
}

impl Place {
    pub fn among(time_ms: u64, others: &[u64]) -> Place {
        Place {
            rank: 1 + others.iter().filter(|other| **other < time_ms).count(),
            of: others.len() + 1,
        }
    }
}

/// Every team's time for (inject, measure) in `teams`.
pub fn times_of<'a>(
    teams: impl IntoIterator<Item = &'a TeamTimes>,
    inject: Option<&str>,
    measure: Measure,
) -> Vec<u64> {
    teams
        .into_iter()
        .flat_map(|team| &team.injects)
        .filter(|times| times.inject.as_deref() == inject)
        .filter_map(|times| times.timing(measure).ms())
        .collect()
}

/// An earlier session's review of the same scenario, read from its export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    /// Where it came from (the file), for the page and for errors.
    pub file: String,
    pub session: String,
    pub teams: Vec<TeamTimes>,
}

/// What an export holds that a cohort needs; the rest (reports, notes) is
/// ignored when it is read back.
#[derive(Debug, Deserialize)]
struct CohortFile {
    format: String,
    scenario: String,
    #[serde(default)]
    session: String,
    teams: Vec<TeamTimes>,
}

/// Why an export cannot serve as a cohort.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CohortError {
    #[error("{file}:{line}:{column}: not an after-action export: {problem}")]
    Unreadable {
        file: String,
        line: usize,
        column: usize,
        problem: String,
    },
    #[error("{file}: format {found:?} is not {EXPORT_FORMAT:?}")]
    Format { file: String, found: String },
    #[error("{file}: scenario {found:?} is not the scenario served ({expected:?})")]
    OtherScenario {
        file: String,
        found: String,
        expected: String,
    },
}

/// Reads an after-action export (per team or for the session) of
/// `scenario` as a cohort; `source` names it in errors.
pub fn read_cohort(source: &str, text: &str, scenario: &str) -> Result<Cohort, CohortError> {
    let file: CohortFile = serde_json::from_str(text).map_err(|error| CohortError::Unreadable {
        file: source.to_owned(),
        line: error.line(),
        column: error.column(),
        problem: error.to_string(),
    })?;
    if file.format != EXPORT_FORMAT {
        return Err(CohortError::Format {
            file: source.to_owned(),
            found: file.format,
        });
    }
    if file.scenario != scenario {
        return Err(CohortError::OtherScenario {
            file: source.to_owned(),
            found: file.scenario,
            expected: scenario.to_owned(),
        });
    }
    Ok(Cohort {
        file: source.to_owned(),
        session: file.session,
        teams: file.teams,
    })
}

#[cfg(test)]
mod tests {
    use enshu_store::{ClockAction, Event, SessionId, Team};

    use super::*;

    const MINUTE: u64 = 60_000;

    fn event(seq: u64, team: Option<u32>, minute: u64, actor: &str, kind: EventKind) -> Event {
        Event {
            session: SessionId(1),
            seq,
            team,
            at_ms: (minute * MINUTE) as i64,
            exercise_ms: Some(minute * MINUTE),
            actor: actor.to_owned(),
            kind,
        }
    }

    fn fired(seq: u64, team: Option<u32>, minute: u64, inject: &str) -> Event {
        event(
            seq,
            team,
            minute,
            "injector",
            EventKind::InjectFired {
                inject: inject.to_owned(),
                target: "office/pc01".to_owned(),
                ground_truth: Box::default(),
            },
        )
    }

    fn passed(seq: u64, team: u32, minute: u64, objective: &str) -> Event {
        event(
            seq,
            Some(team),
            minute,
            "checker",
            EventKind::CheckResult {
                objective: objective.to_owned(),
                check: enshu_store::CheckResultKind::Automatic(
                    enshu_scenario::model::CheckKind::FileAbsent,
                ),
                passed: true,
                detail: String::new(),
            },
        )
    }

    fn answered(seq: u64, team: u32, minute: u64, objective: &str, correct: bool) -> Event {
        event(
            seq,
            Some(team),
            minute,
            &format!("team:{team}"),
            EventKind::Submission {
                objective: objective.to_owned(),
                answer: "x".to_owned(),
                correct,
            },
        )
    }

    fn rule(id: &str, phase: Phase, inject: Option<&str>) -> ObjectiveRule {
        ObjectiveRule {
            id: id.to_owned(),
            phase,
            points: 10,
            anchor: inject.map_or(DeadlineAnchor::Start, |inject| {
                DeadlineAnchor::Inject(inject.to_owned())
            }),
            deadline_ms: None,
            due_ms: None,
            judged: false,
            time_bonus: None,
            hint_penalties: Vec::new(),
            late_credit_percent: 0,
            max_wrong_answers: None,
            wrong_answer_cost: 0,
        }
    }

    fn rules() -> Vec<ObjectiveRule> {
        vec![
            rule("find-host", Phase::Detection, Some("beacon")),
            rule("find-c2", Phase::Detection, Some("beacon")),
            rule("block-c2", Phase::Response, Some("beacon")),
            rule("isolate", Phase::Response, Some("beacon")),
            rule("restore-www", Phase::Recovery, Some("deface")),
        ]
    }

    fn team(index: u32) -> Team {
        Team {
            session: SessionId(1),
            team_index: index,
            name: format!("Team {index}"),
            token_hash: String::new(),
        }
    }

    fn times_of_team(events: Vec<Event>, team_index: u32) -> Vec<InjectTimes> {
        let rules = rules();
        let clock = event(
            0,
            None,
            0,
            "instructor",
            EventKind::ClockChanged {
                action: ClockAction::Start,
                team: None,
                speed: None,
            },
        );
        let mut all = vec![clock];
        all.extend(events);
        let snapshot = crate::exercise::score_snapshot(
            &rules,
            all,
            vec![team(1), team(2)],
            (120 * MINUTE) as i64,
        );
        let team_score = snapshot.scoreboard.team(team_index).unwrap();
        let fires = first_fires(
            snapshot
                .team_events(team_index)
                .map(|event| (snapshot.exercise_ms_of(event, team_index), &event.kind)),
        );
        inject_times(&rules, team_score, &fires)
    }

    #[test]
    fn times_count_from_the_injects_actual_fire_for_the_team() {
        // The beacon was scheduled for minute 1 but fired for team 1 at
        // minute 10 (held, then fired by hand); its fire for team 2 is not
        // team 1's.
        let times = times_of_team(
            vec![
                fired(1, Some(2), 1, "beacon"),
                fired(2, Some(1), 10, "beacon"),
                answered(3, 1, 12, "find-c2", false),
                answered(4, 1, 14, "find-c2", true),
                answered(5, 1, 16, "find-host", true),
                passed(6, 1, 20, "block-c2"),
                passed(7, 1, 25, "isolate"),
                // A second fire (after a reset) does not move the clock.
                fired(8, Some(1), 30, "beacon"),
            ],
            1,
        );
        let beacon = times
            .iter()
            .find(|times| times.inject.as_deref() == Some("beacon"))
            .unwrap();
        assert_eq!(beacon.fired_at_ms, Some(10 * MINUTE));
        assert_eq!(
            beacon.detect,
            Timing::Took { ms: 4 * MINUTE },
            "the first detection"
        );
        assert_eq!(
            beacon.contain,
            Timing::Took { ms: 15 * MINUTE },
            "once every response objective is met"
        );
        assert_eq!(beacon.report, Timing::NotApplicable);
        assert_eq!(beacon.recover, Timing::NotApplicable);
        let deface = times
            .iter()
            .find(|times| times.inject.as_deref() == Some("deface"))
            .unwrap();
        assert_eq!(deface.fired_at_ms, None, "never fired");
        assert_eq!(deface.recover, Timing::NotYet);
        assert_eq!(deface.detect, Timing::NotApplicable);
    }

    #[test]
    fn containment_is_not_timed_until_every_response_objective_is_met() {
        let times = times_of_team(
            vec![
                fired(1, None, 2, "beacon"),
                passed(2, 1, 7, "block-c2"),
                fired(3, None, 5, "deface"),
                passed(4, 1, 45, "restore-www"),
            ],
            1,
        );
        let beacon = &times[0];
        assert_eq!(beacon.inject.as_deref(), Some("beacon"));
        assert_eq!(
            beacon.fired_at_ms,
            Some(2 * MINUTE),
            "a session-wide fire counts"
        );
        assert_eq!(beacon.contain, Timing::NotYet);
        assert_eq!(beacon.detect, Timing::NotYet);
        assert_eq!(times[1].recover, Timing::Took { ms: 40 * MINUTE });
    }

    #[test]
    fn objectives_without_an_inject_are_timed_from_the_start() {
        let mut rules = rules();
        rules.push(rule("inventory", Phase::Detection, None));
        let anchors = anchors(&rules);
        assert_eq!(anchors, [None, Some("beacon"), Some("deface")]);
    }

    #[test]
    fn median_and_best_of_the_teams_times() {
        assert_eq!(
            Spread::of([9, 3, 5]),
            Spread {
                median_ms: Some(5),
                best_ms: Some(3),
                teams_timed: 3
            }
        );
        assert_eq!(Spread::of([8, 2, 4, 6]).median_ms, Some(5));
        assert_eq!(
            Spread::of([]),
            Spread {
                median_ms: None,
                best_ms: None,
                teams_timed: 0
            }
        );
        assert_eq!(Place::among(5, &[3, 9, 5, 7]), Place { rank: 2, of: 5 });
        assert_eq!(Place::among(1, &[]), Place { rank: 1, of: 1 });
    }

    #[test]
    fn a_cohort_is_read_back_from_an_export_of_the_same_scenario() {
        let team = TeamTimes {
            team: 1,
            name: "A".to_owned(),
            total: 40,
            injects: vec![InjectTimes {
                inject: Some("beacon".to_owned()),
                fired_at_ms: Some(MINUTE),
                detect: Timing::Took { ms: 3 * MINUTE },
                contain: Timing::NotYet,
                report: Timing::NotApplicable,
                recover: Timing::NotApplicable,
            }],
        };
        let export = serde_json::json!({
            "format": EXPORT_FORMAT, "scenario": "quickstart", "session": "2026-04",
            "teams": [serde_json::to_value(&team).unwrap()],
        })
        .to_string();
        let cohort = read_cohort("april.json", &export, "quickstart").unwrap();
        assert_eq!(cohort.teams, std::slice::from_ref(&team));
        assert_eq!(
            times_of(&cohort.teams, Some("beacon"), Measure::Detect),
            [3 * MINUTE]
        );
        assert_eq!(
            read_cohort("april.json", &export, "emotet-beta")
                .unwrap_err()
                .to_string(),
            "april.json: scenario \"quickstart\" is not the scenario served (\"emotet-beta\")"
        );
        let error = read_cohort("broken.json", "{\n  \"format\": 3", "quickstart").unwrap_err();
        assert!(
            error.to_string().starts_with("broken.json:2:"),
            "names the file and line: {error}"
        );
        let other = serde_json::json!({"format": "csv", "scenario": "quickstart", "teams": []});
        assert_eq!(
            read_cohort("x.json", &other.to_string(), "quickstart")
                .unwrap_err()
                .to_string(),
            "x.json: format \"csv\" is not \"enshu-after-action/1\""
        );
    }
}
