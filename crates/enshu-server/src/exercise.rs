//! The exercise as the pages see it: scoring rules derived from the
//! scenario, answer and report checking, and snapshots of the log scored
//! with `enshu-scoring`.
//!
//! Everything here except [`load_snapshot`] is pure, so the rules that
//! decide points (what counts as a correct host answer, which report
//! fields must match) are unit-tested without a server.

use std::collections::BTreeMap;

use enshu_scenario::model::{
    Action, AnswerKind, Evidence, FieldType, Form, Message, Objective, Scenario, Text,
};
use enshu_scenario::plan::{ContainerSpec, TeamPlan};
use enshu_scoring::{ExerciseClock, ObjectiveRule, Scoreboard, TeamClock, score};
use enshu_store::scoring_input::{exercise_clocks, scoring_events};
use enshu_store::{Event, EventKind, EventQuery, Team, TeamFilter};
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::state::AppState;

/// The scoring half of the scenario's objectives: the store's, which the
/// exercise engine reads too (its `on: {objective, outcome}` triggers).
pub use enshu_store::scoring_input::{scoring_phase, scoring_rules};

/// One criterion of the rubric a report is graded with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Criterion {
    /// The score's name in a grade request: `{objective}-{position}`, or
    /// `completeness`, `accuracy`, `clarity` for the general rubric.
    pub key: String,
    pub label: Text,
    pub max_points: u32,
}

/// The rubric one grade uses, and the judged objective it is for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GradingRubric<'a> {
    /// `None` for the general rubric of a scenario without judged objectives.
    pub objective: Option<&'a Objective>,
    pub criteria: Vec<Criterion>,
}

/// The objectives a report can be graded for: every judged objective.
///
/// A judged objective names no form (its evidence is the instructor's
/// judgement of whatever the team sent: a notice may come as its own
/// report or as a field of the 確報), so any report of the team can serve
/// any of them; the grader says which one a grade is for.
pub(crate) fn judged_objectives(scenario: &Scenario) -> Vec<&Objective> {
    scenario
        .objectives
        .iter()
        .filter(|objective| matches!(objective.evidence, Evidence::Judged(_)))
        .collect()
}

/// The rubric for grading a report for `objective`: that judged
/// objective's own criteria. Without `objective`, the scenario's only
/// judged objective, or the general rubric when it has none. An unknown or
/// non-judged objective, or none when several are judged, is a field
/// problem naming the choices.
pub(crate) fn grading_rubric<'a>(
    scenario: &'a Scenario,
    objective: Option<&str>,
) -> Result<GradingRubric<'a>, (String, String)> {
    let candidates = judged_objectives(scenario);
    let choices = || {
        candidates
            .iter()
            .map(|candidate| candidate.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let objective = objective.map(str::trim).filter(|id| !id.is_empty());
    let chosen = match (objective, candidates.as_slice()) {
        (None, []) => return Ok(general_rubric()),
        (None, [only]) => *only,
        (None, _) => {
            return Err((
                "objective".to_owned(),
                format!("required: one of {}", choices()),
            ));
        }
        (Some(id), _) => match candidates.iter().find(|candidate| candidate.id == id) {
            Some(candidate) => *candidate,
            None if candidates.is_empty() => {
                return Err((
                    "objective".to_owned(),
                    "the scenario has no judged objective".to_owned(),
                ));
            }
            None => {
                return Err((
                    "objective".to_owned(),
                    format!("{id:?} is not a judged objective (one of {})", choices()),
                ));
            }
        },
    };
    let Evidence::Judged(judged) = &chosen.evidence else {
        unreachable!("candidates are judged objectives");
    };
    Ok(GradingRubric {
        objective: Some(chosen),
        criteria: judged
            .rubric
            .iter()
            .enumerate()
            .map(|(position, item)| Criterion {
                key: format!("{}-{position}", chosen.id),
                label: item.criterion.clone(),
                max_points: item.points,
            })
            .collect(),
    })
}

fn general_rubric() -> GradingRubric<'static> {
    use crate::i18n::Msg;
    let criteria = [
        ("completeness", Msg::Completeness),
        ("accuracy", Msg::Accuracy),
        ("clarity", Msg::Clarity),
    ]
    .into_iter()
    .map(|(key, message)| {
        let (japanese, english) = message.texts();
        Criterion {
            key: key.to_owned(),
            label: Text {
                ja: Some(japanese.to_owned()),
                en: Some(english.to_owned()),
            },
            max_points: 10,
        }
    })
    .collect();
    GradingRubric {
        objective: None,
        criteria,
    }
}

/// Every problem of a request, as (field, problem).
pub(crate) type FieldProblems = Vec<(String, String)>;

/// Grades with `rubric`: the total, and each criterion as recorded in the
/// log, or every problem (a score out of range, a criterion of another
/// rubric).
pub(crate) fn apply_rubric(
    rubric: &GradingRubric<'_>,
    scores: &BTreeMap<String, i64>,
) -> Result<(i64, Vec<Value>), FieldProblems> {
    let mut problems = Vec::new();
    for key in scores.keys() {
        if !rubric
            .criteria
            .iter()
            .any(|criterion| &criterion.key == key)
        {
            let problem = match rubric.objective {
                Some(objective) => format!("not a criterion of {:?}", objective.id),
                None => "not a criterion of the rubric".to_owned(),
            };
            problems.push((key.clone(), problem));
        }
    }
    let mut total = 0;
    let mut graded = Vec::new();
    for criterion in &rubric.criteria {
        let points = scores.get(&criterion.key).copied().unwrap_or(0);
        let maximum = criterion.max_points;
        if points < 0 || points > i64::from(maximum) {
            problems.push((
                criterion.key.clone(),
                format!("must be between 0 and {maximum}"),
            ));
        }
        total += points;
        graded.push(serde_json::json!({"criterion": criterion.key, "label": criterion.label.english_or_any(), "points": points, "max": maximum}));
    }
    if problems.is_empty() {
        Ok((total, graded))
    } else {
        Err(problems)
    }
}

/// Whether `answer` is one of the accepted answers of the team's plan for
/// `objective`: trimmed and compared case-insensitively. `None` when the
/// objective takes no answer.
pub(crate) fn check_answer(team_plan: &TeamPlan, objective: &str, answer: &str) -> Option<bool> {
    let planned = team_plan
        .answers
        .iter()
        .find(|planned| planned.objective == objective)?;
    let normalised = normalise_answer(planned.kind, answer);
    Some(
        planned
            .accepted
            .iter()
            .any(|accepted| normalise_answer(planned.kind, accepted) == normalised),
    )
}

fn normalise_answer(kind: AnswerKind, answer: &str) -> String {
    let trimmed = answer.trim().to_lowercase();
    match kind {
        AnswerKind::Domain => trimmed.trim_end_matches('.').to_owned(),
        _ => trimmed,
    }
}

/// Every objective of the scenario (in order) with its answer, if any.
pub(crate) fn objective<'a>(scenario: &'a Scenario, objective_id: &str) -> Option<&'a Objective> {
    scenario
        .objectives
        .iter()
        .find(|objective| objective.id == objective_id)
}

pub(crate) fn form<'a>(scenario: &'a Scenario, form_id: &str) -> Option<&'a Form> {
    scenario.forms.iter().find(|form| form.id == form_id)
}

/// A submitted field value before validation: one or more strings (HTML
/// forms) or any JSON value (the API).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawField {
    Texts(Vec<String>),
    Json(Value),
}

impl RawField {
    fn texts(&self) -> Vec<String> {
        match self {
            RawField::Texts(values) => values.clone(),
            RawField::Json(Value::Array(values)) => values.iter().map(json_text).collect(),
            RawField::Json(value) => vec![json_text(value)],
        }
    }
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

const MAX_TEXT_CHARACTERS: usize = 2_000;
const MAX_LONG_TEXT_CHARACTERS: usize = 20_000;

/// Validates a report against its form: unknown fields, required fields,
/// choice options, datetimes, booleans, numbers and hosts or segments of
/// the team's range. Returns the normalised fields, or every problem.
pub(crate) fn validate_report(
    form: &Form,
    team_plan: &TeamPlan,
    raw_fields: &BTreeMap<String, RawField>,
) -> Result<Map<String, Value>, Vec<(String, FieldProblem)>> {
    let mut problems = Vec::new();
    let mut normalised = Map::new();
    for name in raw_fields.keys() {
        if !form.fields.iter().any(|field| &field.name == name) {
            problems.push((name.clone(), FieldProblem::UnknownField));
        }
    }
    for field in &form.fields {
        let values: Vec<String> = raw_fields
            .get(&field.name)
            .map(RawField::texts)
            .unwrap_or_default()
            .into_iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect();
        if values.is_empty() {
            if field.required && field.field_type != FieldType::Bool {
                problems.push((field.name.clone(), FieldProblem::Required));
            } else if field.required {
                problems.push((field.name.clone(), FieldProblem::RequiredYesNo));
            }
            continue;
        }
        let single = || -> Result<&String, FieldProblem> {
            if values.len() == 1 {
                Ok(&values[0])
            } else {
                Err(FieldProblem::OneValue)
            }
        };
        let result: Result<Value, FieldProblem> = match field.field_type {
            FieldType::Text | FieldType::LongText => single().and_then(|value| {
                let limit = if field.field_type == FieldType::Text {
                    MAX_TEXT_CHARACTERS
                } else {
                    MAX_LONG_TEXT_CHARACTERS
                };
                if value.chars().count() > limit {
                    Err(FieldProblem::TooLong { limit })
                } else {
                    Ok(Value::String(value.clone()))
                }
            }),
            FieldType::Choice => {
                single().and_then(|value| choice(&field.options, value).map(Value::String))
            }
            FieldType::MultiChoice => values
                .iter()
                .map(|value| choice(&field.options, value).map(Value::String))
                .collect::<Result<Vec<_>, _>>()
                .map(dedup_values),
            FieldType::Datetime => single().and_then(|value| {
                crate::time_format::parse_datetime(value)
                    .map(|_| Value::String(value.clone()))
                    .ok_or(FieldProblem::NotDatetime)
            }),
            FieldType::Bool => single().and_then(|value| match value.to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
                _ => Err(FieldProblem::NotYesNo),
            }),
            FieldType::Number => single().and_then(|value| match value.parse::<f64>() {
                Ok(number) if number.is_finite() => serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .ok_or(FieldProblem::NotNumber),
                _ => Err(FieldProblem::NotNumber),
            }),
            FieldType::Host => single().and_then(|value| {
                resolve_host(team_plan, value)
                    .map(Value::String)
                    .map_err(|_| FieldProblem::NotHost(value.clone()))
            }),
            FieldType::Hosts => values
                .iter()
                .flat_map(|value| {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .map(|value| {
                    resolve_host(team_plan, &value)
                        .map(Value::String)
                        .map_err(|_| FieldProblem::NotHost(value))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(dedup_values),
            FieldType::Segments => values
                .iter()
                .flat_map(|value| {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .map(|value| {
                    team_range_segments(team_plan)
                        .find(|segment| segment.eq_ignore_ascii_case(&value))
                        .map(|segment| Value::String(segment.to_owned()))
                        .ok_or(FieldProblem::NotSegment(value))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(dedup_values),
        };
        match result {
            Ok(value) => {
                normalised.insert(field.name.clone(), value);
            }
            Err(problem) => problems.push((field.name.clone(), problem)),
        }
    }
    if problems.is_empty() {
        Ok(normalised)
    } else {
        Err(problems)
    }
}

fn dedup_values(values: Vec<Value>) -> Value {
    let mut unique: Vec<Value> = Vec::new();
    for value in values {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    Value::Array(unique)
}

fn choice(options: &[String], value: &str) -> Result<String, FieldProblem> {
    options
        .iter()
        .find(|option| option.eq_ignore_ascii_case(value))
        .cloned()
        .ok_or_else(|| FieldProblem::NotAnOption {
            value: value.to_owned(),
            options: options.to_vec(),
        })
}

/// What is wrong with one field of a report, in words a trainee reads in
/// either language; its `Display` is the English the JSON API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldProblem {
    UnknownField,
    Required,
    RequiredYesNo,
    OneValue,
    TooLong { limit: usize },
    NotAnOption { value: String, options: Vec<String> },
    NotDatetime,
    NotYesNo,
    NotNumber,
    NotHost(String),
    NotSegment(String),
}

impl FieldProblem {
    /// The problem in `lang`; choice options by their labels.
    pub(crate) fn text(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang;
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            FieldProblem::UnknownField => "このフォームにない項目です".to_owned(),
            FieldProblem::Required => "入力してください（必須）".to_owned(),
            FieldProblem::RequiredYesNo => {
                "「はい」か「いいえ」を選んでください（必須）".to_owned()
            }
            FieldProblem::OneValue => "値は1つだけ入力してください".to_owned(),
            FieldProblem::TooLong { limit } => format!("{limit}文字以内で入力してください"),
            FieldProblem::NotAnOption { value, options } => format!(
                "「{value}」は選択肢にありません（選択肢: {}）",
                options
                    .iter()
                    .map(|option| crate::i18n::option_label(lang, option))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            FieldProblem::NotDatetime => {
                "日時の形式が正しくありません（例: 2026-12-01T10:15）".to_owned()
            }
            FieldProblem::NotYesNo => "「はい」か「いいえ」を選んでください".to_owned(),
            FieldProblem::NotNumber => "数値を入力してください".to_owned(),
            FieldProblem::NotHost(value) => format!("「{value}」は自チームの端末にありません"),
            FieldProblem::NotSegment(value) => {
                format!("「{value}」は自チームのセグメントにありません")
            }
        }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldProblem::UnknownField => write!(formatter, "unknown field"),
            FieldProblem::Required => write!(formatter, "required"),
            FieldProblem::RequiredYesNo => write!(formatter, "required: true or false"),
            FieldProblem::OneValue => write!(formatter, "expects one value"),
            FieldProblem::TooLong { limit } => write!(formatter, "longer than {limit} characters"),
            FieldProblem::NotAnOption { value, options } => {
                write!(formatter, "{value:?} is not one of {}", options.join(", "))
            }
            FieldProblem::NotDatetime => {
                write!(formatter, "not a date and time (YYYY-MM-DDTHH:MM)")
            }
            FieldProblem::NotYesNo => write!(formatter, "not true or false"),
            FieldProblem::NotNumber => write!(formatter, "not a number"),
            FieldProblem::NotHost(value) => {
                write!(formatter, "{value:?} is not a host of the range")
            }
            FieldProblem::NotSegment(value) => {
                write!(formatter, "{value:?} is not a segment of the range")
            }
        }
    }
}

/// The hosts of the team's own range (`segment/name`), in plan order: what
/// the team's map and host pickers list. Hosts in segments that stand for
/// the outside world (the attacker, the C2, partners) are not among them:
/// naming them is what the team's answers are for.
pub(crate) fn team_range_hosts(team_plan: &TeamPlan) -> impl Iterator<Item = &ContainerSpec> {
    team_plan
        .team_range_containers()
        .filter(|container| container.reference.contains('/'))
}

/// The segments of the team's own range, in plan order: what the team's
/// segment pickers list.
pub(crate) fn team_range_segments(team_plan: &TeamPlan) -> impl Iterator<Item = &str> {
    team_plan
        .networks
        .iter()
        .filter(|network| network.team_range)
        .map(|network| network.segment.as_str())
}

/// A host of the team's own range by name, `segment/name` or address, as
/// `segment/name`.
pub(crate) fn resolve_host(team_plan: &TeamPlan, value: &str) -> Result<String, String> {
    let wanted = value.trim().to_lowercase();
    team_range_hosts(team_plan)
        .find(|container| {
            container.hostname.to_lowercase() == wanted
                || container.reference.to_lowercase() == wanted
                || container
                    .networks
                    .iter()
                    .any(|attachment| attachment.address.to_string() == wanted)
        })
        .map(|container| container.reference.clone())
        .ok_or_else(|| format!("{value:?} is not a host of the range"))
}

/// For each report objective evidenced by `form`: whether the submitted
/// fields match every expected value (case-insensitive; for list fields
/// the expected comma-separated set must equal the submitted set).
pub(crate) fn report_evidence(
    scenario: &Scenario,
    form_id: &str,
    fields: &Map<String, Value>,
) -> Vec<(String, bool, String)> {
    scenario
        .objectives
        .iter()
        .filter_map(|objective| match &objective.evidence {
            Evidence::Report(report) if report.form == form_id => Some((objective, report)),
            _ => None,
        })
        .map(|(objective, report)| {
            let matched = report
                .expect
                .iter()
                .filter(|(name, expected)| {
                    fields
                        .get(*name)
                        .is_some_and(|value| value_matches(value, expected))
                })
                .count();
            let total = report.expect.len();
            (
                objective.id.clone(),
                matched == total,
                format!("{matched} of {total} expected fields match"),
            )
        })
        .collect()
}

fn value_matches(value: &Value, expected: &str) -> bool {
    let expected = expected.trim().to_lowercase();
    match value {
        Value::String(text) => text.trim().to_lowercase() == expected,
        Value::Bool(flag) => matches!(
            (flag, expected.as_str()),
            (true, "true" | "yes") | (false, "false" | "no")
        ),
        Value::Number(number) => expected.parse::<f64>().ok() == number.as_f64(),
        Value::Array(items) => {
            let mut submitted: Vec<String> = items
                .iter()
                .map(|item| json_text(item).to_lowercase())
                .collect();
            let mut wanted: Vec<String> = expected
                .split(',')
                .map(|part| part.trim().to_owned())
                .collect();
            submitted.sort();
            submitted.dedup();
            wanted.sort();
            wanted.dedup();
            submitted == wanted
        }
        Value::Null | Value::Object(_) => false,
    }
}

/// The message a fired inject sends the team, with its addresses resolved.
pub(crate) fn planned_message<'a>(team_plan: &'a TeamPlan, inject: &str) -> Option<&'a Message> {
    team_plan
        .injects
        .iter()
        .find(|planned| planned.id == inject)
        .and_then(|planned| match &planned.action {
            Action::Message(message) => Some(message),
            _ => None,
        })
}

/// The log and its scoring at one instant.
pub(crate) struct Snapshot {
    pub events: Vec<Event>,
    pub teams: Vec<Team>,
    pub clocks: ExerciseClock,
    pub scoreboard: Scoreboard,
}

impl Snapshot {
    pub fn team_name(&self, team_index: u32) -> String {
        self.teams
            .iter()
            .find(|team| team.team_index == team_index)
            .map(|team| team.name.clone())
            .unwrap_or_else(|| format!("team {team_index}"))
    }

    /// Exercise-clock offset of an event for `team`.
    pub fn exercise_ms_of(&self, event: &Event, team: u32) -> u64 {
        event
            .exercise_ms
            .unwrap_or_else(|| self.clocks.exercise_ms_at(Some(team), event.at_ms))
    }

    /// Events that concern `team` (its own and session-wide ones).
    pub fn team_events(&self, team: u32) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |event| event.team.is_none() || event.team == Some(team))
    }
}

/// Reads the log (all of it, or what one team may see) and scores it now.
pub(crate) async fn load_snapshot(
    state: &AppState,
    only_team: Option<u32>,
) -> Result<Snapshot, RequestError> {
    let store = state.store();
    let filter = match only_team {
        Some(team) => TeamFilter::TeamAndSessionWide(team),
        None => TeamFilter::All,
    };
    let events = store
        .events(
            state.session(),
            EventQuery {
                team: filter,
                ..EventQuery::default()
            },
        )
        .await?;
    let mut teams = store.teams(state.session()).await?;
    if let Some(team) = only_team {
        teams.retain(|candidate| candidate.team_index == team);
    }
    let now_ms = crate::time_format::now_ms();
    Ok(score_snapshot(&state.inner.rules, events, teams, now_ms))
}

pub(crate) fn score_snapshot(
    rules: &[ObjectiveRule],
    events: Vec<Event>,
    teams: Vec<Team>,
    now_ms: i64,
) -> Snapshot {
    let clocks = exercise_clocks(&events);
    let team_indices: Vec<u32> = teams.iter().map(|team| team.team_index).collect();
    let team_clocks: Vec<TeamClock> = team_indices
        .iter()
        .map(|team| TeamClock {
            team: *team,
            now_exercise_ms: clocks.exercise_ms_at(Some(*team), now_ms),
        })
        .collect();
    let scoreboard = score(rules, &team_clocks, &scoring_events(&events, &team_indices));
    Snapshot {
        events,
        teams,
        clocks,
        scoreboard,
    }
}

/// Report objectives whose result the team may not see yet: the team sent
/// a report of the objective's form that no instructor has graded. Until
/// every report of that form is graded, the team sees "submitted, awaiting
/// grading" and neither the status nor the points, so the portal is no
/// oracle for the report's expected answers.
pub(crate) fn awaiting_grading(
    scenario: &Scenario,
    snapshot: &Snapshot,
    team: u32,
) -> std::collections::BTreeSet<String> {
    let mut submitted: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut graded = std::collections::BTreeSet::new();
    for event in snapshot.team_events(team) {
        if event.team != Some(team) {
            continue;
        }
        match &event.kind {
            EventKind::ReportSubmitted { form, .. } => {
                submitted.entry(form.as_str()).or_default().push(event.seq);
            }
            EventKind::ReportGraded { report_seq, .. } => {
                graded.extend(*report_seq);
            }
            _ => {}
        }
    }
    scenario
        .objectives
        .iter()
        .filter(|objective| match &objective.evidence {
            Evidence::Report(report) => submitted
                .get(report.form.as_str())
                .is_some_and(|reports| reports.iter().any(|seq| !graded.contains(seq))),
            _ => false,
        })
        .map(|objective| objective.id.clone())
        .collect()
}

/// The newest message the team marked read (the seq of its inject's
/// fire), 0 before it marked any.
pub(crate) fn messages_read_up_to(snapshot: &Snapshot, team: u32) -> u64 {
    snapshot
        .team_events(team)
        .filter(|event| event.team == Some(team))
        .filter_map(|event| match event.kind {
            EventKind::MessagesRead { up_to_seq } => Some(up_to_seq),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// What the team's portal shows of its score: the total without the points
/// of the objectives awaiting grading.
pub(crate) fn team_visible_total(
    team_score: &enshu_scoring::TeamScore,
    hidden: &std::collections::BTreeSet<String>,
) -> i64 {
    let hidden_points: i64 = team_score
        .objectives
        .iter()
        .filter(|objective| hidden.contains(&objective.objective))
        .map(|objective| i64::from(objective.points_awarded))
        .sum();
    team_score.total - hidden_points
}

/// Something the instructor should look at now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
pub(crate) enum Alert {
    DeadlineMissed { objective: String },
    Idle { minutes: u64 },
}

/// Missed deadlines, and a running team that has not acted for a while.
pub(crate) fn alerts(snapshot: &Snapshot, team: u32, idle_after_ms: u64) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let Some(team_score) = snapshot.scoreboard.team(team) else {
        return alerts;
    };
    for objective in &team_score.objectives {
        if objective.status == enshu_scoring::ObjectiveStatus::Missed {
            alerts.push(Alert::DeadlineMissed {
                objective: objective.objective.clone(),
            });
        }
    }
    if snapshot.clocks.is_running(Some(team)) {
        let actor = format!("team:{team}");
        let last_action = snapshot
            .team_events(team)
            .filter(|event| event.actor == actor)
            .map(|event| snapshot.exercise_ms_of(event, team))
            .max()
            .unwrap_or(0);
        let idle_ms = team_score.now_exercise_ms.saturating_sub(last_action);
        if idle_ms >= idle_after_ms {
            alerts.push(Alert::Idle {
                minutes: idle_ms / 60_000,
            });
        }
    }
    alerts
}

/// Whether an event may be shown to a team at all, and never with ground
/// truth: the team's own actions, messages sent to it, clock changes.
pub(crate) fn visible_to_team(event: &Event, team: u32, team_plan: &TeamPlan) -> bool {
    if event.team.is_some() && event.team != Some(team) {
        return false;
    }
    match &event.kind {
        EventKind::Submission { .. }
        | EventKind::ReportSubmitted { .. }
        | EventKind::HintTaken { .. } => event.team == Some(team),
        EventKind::InjectFired { inject, .. } => planned_message(team_plan, inject).is_some(),
        EventKind::ClockChanged { .. } => true,
        EventKind::ReportGraded { .. }
        | EventKind::Adjustment { .. }
        | EventKind::FirewallChanged { .. }
        | EventKind::TerminalCommand { .. }
        | EventKind::MessagesRead { .. }
        | EventKind::TeamReset { .. } => event.team == Some(team),
        EventKind::InjectHeld { .. }
        | EventKind::InjectFailed { .. }
        | EventKind::CheckResult { .. }
        | EventKind::InstructorNote { .. }
        | EventKind::InjectFireRequested { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use enshu_scoring::DeadlineAnchor;

    use super::*;

    fn quickstart() -> (Scenario, enshu_scenario::Plan) {
        let text = include_str!("../../../scenarios/quickstart.yaml");
        let loaded =
            enshu_scenario::load("quickstart.yaml", text.as_bytes()).expect("quickstart loads");
        let plan = enshu_scenario::plan(
            &loaded,
            &enshu_scenario::PlanOptions {
                session: "unit".to_owned(),
                teams: 2,
                pool: None,
                files: &enshu_scenario::NoFiles,
            },
        )
        .expect("quickstart plans");
        (loaded.scenario, plan)
    }

    #[test]
    fn host_answers_accept_name_reference_and_address() {
        let (_, plan) = quickstart();
        let team = &plan.teams[0];
        let address = team
            .answers
            .iter()
            .find(|answer| answer.objective == "find-host")
            .unwrap()
            .accepted[2]
            .clone();
        for answer in ["pc01", " PC01 ", "office/pc01", address.as_str()] {
            assert_eq!(
                check_answer(team, "find-host", answer),
                Some(true),
                "{answer}"
            );
        }
        assert_eq!(check_answer(team, "find-host", "www"), Some(false));
        assert_eq!(check_answer(team, "block-c2", "x"), None);
        // Team 2's address is not team 1's answer.
        let other_address = plan.teams[1]
            .answers
            .iter()
            .find(|answer| answer.objective == "find-host")
            .unwrap()
            .accepted[2]
            .clone();
        assert_eq!(check_answer(team, "find-host", &other_address), Some(false));
    }

    #[test]
    fn report_validation_reports_every_problem_and_normalises() {
        let (scenario, plan) = quickstart();
        let form = form(&scenario, "first-report").unwrap();
        let mut fields = BTreeMap::new();
        fields.insert(
            "trigger".to_owned(),
            RawField::Texts(vec!["nonsense".to_owned()]),
        );
        fields.insert(
            "detected_at".to_owned(),
            RawField::Texts(vec!["yesterday".to_owned()]),
        );
        fields.insert("bogus".to_owned(), RawField::Texts(vec!["x".to_owned()]));
        let problems = validate_report(form, &plan.teams[0], &fields).unwrap_err();
        let names: Vec<&str> = problems.iter().map(|(name, _)| name.as_str()).collect();
        for expected in [
            "bogus",
            "detected_at",
            "trigger",
            "category",
            "affected_hosts",
            "personal_data",
            "actions",
        ] {
            assert!(names.contains(&expected), "{expected} missing in {names:?}");
        }
        let mut fields = BTreeMap::new();
        fields.insert(
            "detected_at".to_owned(),
            RawField::Json(Value::String("2025-06-01T10:15".to_owned())),
        );
        fields.insert(
            "trigger".to_owned(),
            RawField::Json(Value::String("SOC_ALERT".to_owned())),
        );
        fields.insert(
            "category".to_owned(),
            RawField::Json(Value::String("malware".to_owned())),
        );
        fields.insert(
            "affected_hosts".to_owned(),
            RawField::Json(serde_json::json!(["pc01"])),
        );
        fields.insert(
            "personal_data".to_owned(),
            RawField::Json(Value::Bool(false)),
        );
        fields.insert(
            "actions".to_owned(),
            RawField::Json(Value::String("blocked".to_owned())),
        );
        let normalised = validate_report(form, &plan.teams[0], &fields).unwrap();
        assert_eq!(normalised["trigger"], "soc_alert");
        assert_eq!(
            normalised["affected_hosts"],
            serde_json::json!(["office/pc01"])
        );
        let evidence = report_evidence(&scenario, "first-report", &normalised);
        assert_eq!(
            evidence,
            vec![(
                "first-report".to_owned(),
                true,
                "1 of 1 expected fields match".to_owned()
            )]
        );
    }

    #[test]
    fn rules_anchor_deadlines_on_the_objectives_inject() {
        let (scenario, _) = quickstart();
        let rules = scoring_rules(&scenario);
        let find_host = rules.iter().find(|rule| rule.id == "find-host").unwrap();
        assert_eq!(
            find_host.anchor,
            DeadlineAnchor::Inject("beacon".to_owned())
        );
        assert_eq!(find_host.deadline_ms, Some(20 * 60_000));
        assert_eq!(find_host.hint_penalties, vec![20]);
        assert!(!find_host.judged);
    }

    #[test]
    fn an_objective_with_an_inject_and_no_deadline_is_timed_from_the_inject() {
        let (scenario, _) = quickstart();
        let rules = scoring_rules(&scenario);
        // remove-persistence names the persistence inject but no deadline.
        let persistence = rules
            .iter()
            .find(|rule| rule.id == "remove-persistence")
            .unwrap();
        assert_eq!(persistence.deadline_ms, None);
        assert_eq!(
            persistence.anchor,
            DeadlineAnchor::Inject("persistence".to_owned())
        );
    }

    fn emotet_beta() -> Scenario {
        let text = include_str!("../../../scenarios/emotet-beta.yaml");
        enshu_scenario::load("emotet-beta.yaml", text.as_bytes())
            .expect("emotet-beta loads")
            .scenario
    }

    #[test]
    fn judged_objectives_and_due_reach_the_rules() {
        let mut scenario = emotet_beta();
        let follow_up = scenario
            .objectives
            .iter_mut()
            .find(|objective| objective.id == "follow-up")
            .unwrap();
        follow_up.due = Some(enshu_scenario::model::Duration::from_secs(2 * 3600));
        let rules = scoring_rules(&scenario);
        let notice = rules
            .iter()
            .find(|rule| rule.id == "spoofing-notice")
            .unwrap();
        assert!(notice.judged);
        assert_eq!(notice.points, 50);
        assert_eq!(
            notice.anchor,
            DeadlineAnchor::Inject("partner-call".to_owned())
        );
        let follow_up = rules.iter().find(|rule| rule.id == "follow-up").unwrap();
        assert_eq!(follow_up.due_ms, Some(2 * 3600 * 1000));
        assert!(!follow_up.judged);
    }

    #[test]
    fn a_report_is_graded_with_its_own_objectives_rubric() {
        let scenario = emotet_beta();
        // The only judged objective is the default.
        let rubric = grading_rubric(&scenario, None).unwrap();
        assert_eq!(rubric.objective.unwrap().id, "spoofing-notice");
        let keys: Vec<(&str, u32)> = rubric
            .criteria
            .iter()
            .map(|criterion| (criterion.key.as_str(), criterion.max_points))
            .collect();
        assert_eq!(
            keys,
            [
                ("spoofing-notice-0", 20),
                ("spoofing-notice-1", 20),
                ("spoofing-notice-2", 10)
            ]
        );
        let scores = BTreeMap::from([
            ("spoofing-notice-0".to_owned(), 15),
            ("spoofing-notice-2".to_owned(), 10),
        ]);
        let (total, criteria) = apply_rubric(&rubric, &scores).unwrap();
        assert_eq!(total, 25);
        assert_eq!(criteria.len(), 3);
        assert_eq!(
            grading_rubric(&scenario, Some("first-report")).unwrap_err(),
            (
                "objective".to_owned(),
                "\"first-report\" is not a judged objective (one of spoofing-notice)".to_owned()
            )
        );
    }

    #[test]
    fn with_several_judged_objectives_the_grader_names_one() {
        let mut scenario = emotet_beta();
        let mut root_cause = scenario
            .objectives
            .iter()
            .find(|objective| objective.id == "spoofing-notice")
            .unwrap()
            .clone();
        root_cause.id = "root-cause".to_owned();
        root_cause.points = 30;
        root_cause.evidence = Evidence::Judged(enshu_scenario::model::Judged {
            rubric: vec![enshu_scenario::model::RubricItem {
                criterion: Text {
                    ja: None,
                    en: Some("Names the way in".to_owned()),
                },
                points: 30,
            }],
        });
        scenario.objectives.push(root_cause);
        assert_eq!(
            grading_rubric(&scenario, None).unwrap_err(),
            (
                "objective".to_owned(),
                "required: one of spoofing-notice, root-cause".to_owned()
            )
        );
        let rubric = grading_rubric(&scenario, Some("root-cause")).unwrap();
        assert_eq!(rubric.objective.unwrap().id, "root-cause");
        assert_eq!(rubric.criteria.len(), 1, "not the union of both rubrics");
        assert_eq!(rubric.criteria[0].key, "root-cause-0");
        // A criterion of the other objective's rubric is refused, not ignored.
        let problems = apply_rubric(
            &rubric,
            &BTreeMap::from([
                ("root-cause-0".to_owned(), 40),
                ("spoofing-notice-0".to_owned(), 20),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                (
                    "spoofing-notice-0".to_owned(),
                    "not a criterion of \"root-cause\"".to_owned()
                ),
                (
                    "root-cause-0".to_owned(),
                    "must be between 0 and 30".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_scenario_without_judged_objectives_grades_with_the_general_rubric() {
        let (scenario, _) = quickstart();
        let rubric = grading_rubric(&scenario, None).unwrap();
        assert_eq!(rubric.objective, None);
        let keys: Vec<&str> = rubric
            .criteria
            .iter()
            .map(|criterion| criterion.key.as_str())
            .collect();
        assert_eq!(keys, ["completeness", "accuracy", "clarity"]);
        assert!(grading_rubric(&scenario, Some("first-report")).is_err());
    }
}
