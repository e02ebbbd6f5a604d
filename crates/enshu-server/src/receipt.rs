//! A report as its receipt shows it: the submitted fields in the form's
//! field order, labelled from the form, and what happens next for the
//! report's place in the chain (第一報 → 続報 → 確報). One view, pure: the
//! receipt page and the instructor's pages render it, the JSON API
//! serialises it, so the two never drift.

use enshu_scenario::Scenario;
use enshu_scenario::model::{FieldType, Form, ReportKind};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::exercise;
use crate::i18n::{Lang, Msg};

/// One submitted field: its name, its label in the reader's language and
/// its value as a reader sees it (choice options by their labels, yes/no).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReceiptRow {
    pub name: String,
    pub label: String,
    pub value: String,
}

/// The report the team should write next, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NextForm {
    pub id: String,
    pub title: String,
    pub kind: ReportKind,
    /// The deadline of the objective this form evidences, while that
    /// objective is open for the team.
    pub deadline_exercise_ms: Option<u64>,
}

/// What the team is told after a report: sentences, and the next form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NextSteps {
    pub sentences: Vec<String>,
    pub next_form: Option<NextForm>,
}

/// The fields of a submitted report (`fields`, a JSON object) in the order
/// of `form`'s fields, then anything the form no longer names.
pub(crate) fn rows(
    lang: Lang,
    form: Option<&Form>,
    fields: &Map<String, Value>,
) -> Vec<ReceiptRow> {
    let mut names: Vec<&str> = form
        .map(|form| {
            form.fields
                .iter()
                .map(|field| field.name.as_str())
                .filter(|name| fields.contains_key(*name))
                .collect()
        })
        .unwrap_or_default();
    for name in fields.keys() {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let field = form.and_then(|form| form.fields.iter().find(|field| field.name == name));
            let is_choice = field.is_some_and(|field| {
                matches!(field.field_type, FieldType::Choice | FieldType::MultiChoice)
            });
            let is_datetime = field.is_some_and(|field| field.field_type == FieldType::Datetime);
            let shown = |text: &str| -> String {
                if is_choice {
                    crate::i18n::option_label(lang, text).to_owned()
                } else if is_datetime {
                    // As a person writes it: `2026-12-01 10:15`, not the
                    // form's `2026-12-01T10:15`.
                    text.replacen('T', " ", 1)
                } else {
                    text.to_owned()
                }
            };
            let value = match &fields[name] {
                Value::String(text) => shown(text),
                Value::Bool(true) => lang.t(Msg::Yes).to_owned(),
                Value::Bool(false) => lang.t(Msg::No).to_owned(),
                Value::Array(items) => {
                    // A multiple choice's options in the form's order too.
                    let mut items: Vec<&Value> = items.iter().collect();
                    if let Some(field) =
                        field.filter(|field| field.field_type == FieldType::MultiChoice)
                    {
                        items.sort_by_key(|item| {
                            field
                                .options
                                .iter()
                                .position(|option| item.as_str() == Some(option.as_str()))
                                .unwrap_or(usize::MAX)
                        });
                    }
                    items
                        .iter()
                        .map(|item| item.as_str().map_or(item.to_string(), shown))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
                other => other.to_string(),
            };
            ReceiptRow {
                name: name.to_owned(),
                label: field
                    .map_or(name, |field| lang.pick(&field.label))
                    .to_owned(),
                value,
            }
        })
        .collect()
}

/// The first form of `kind` in the scenario.
fn form_of_kind(scenario: &Scenario, kind: ReportKind) -> Option<&Form> {
    scenario.forms.iter().find(|form| form.kind == kind)
}

/// What happens after a report of `form`: it is graded, then the next
/// report of the chain (a 続報 after the 第一報, the 確報 after a 続報, or
/// done after the 確報), with the deadline `deadline_of` gives for the
/// next form's objective (`None` when none is open).
pub(crate) fn next_steps(
    lang: Lang,
    scenario: &Scenario,
    form: &Form,
    deadline_of: impl Fn(&str) -> Option<u64>,
) -> NextSteps {
    let mut sentences = vec![lang.t(Msg::WhatNext).to_owned()];
    let title = |form: &Form| lang.pick(&form.title).to_owned();
    let next = match form.kind {
        ReportKind::First => {
            if let Some(follow_up) = form_of_kind(scenario, ReportKind::FollowUp) {
                sentences.push(lang.t(Msg::NextFollowUp).replace("{f}", &title(follow_up)));
                Some(follow_up)
            } else if let Some(final_report) = form_of_kind(scenario, ReportKind::Final) {
                sentences.push(lang.t(Msg::NextFinal).replace("{f}", &title(final_report)));
                Some(final_report)
            } else {
                None
            }
        }
        ReportKind::FollowUp => {
            sentences.push(lang.t(Msg::FollowUpAgain).to_owned());
            let final_report = form_of_kind(scenario, ReportKind::Final);
            if let Some(final_report) = final_report {
                sentences.push(lang.t(Msg::NextFinal).replace("{f}", &title(final_report)));
            }
            final_report
        }
        ReportKind::Final => {
            sentences.push(lang.t(Msg::ReportingDone).to_owned());
            None
        }
    };
    NextSteps {
        sentences,
        next_form: next.map(|next| NextForm {
            id: next.id.clone(),
            title: title(next),
            kind: next.kind,
            deadline_exercise_ms: deadline_of(&next.id),
        }),
    }
}

/// The deadline of the open report objective evidenced by form `form_id`
/// for `team` (the earliest, when several are), as the team's score has it.
pub(crate) fn open_report_deadline(
    scenario: &Scenario,
    snapshot: &exercise::Snapshot,
    team: u32,
    form_id: &str,
) -> Option<u64> {
    let team_score = snapshot.scoreboard.team(team)?;
    scenario
        .objectives
        .iter()
        .filter(|objective| {
            matches!(&objective.evidence,
                enshu_scenario::model::Evidence::Report(report) if report.form == form_id)
        })
        .filter_map(|objective| team_score.objective(&objective.id))
        .filter(|score| {
            score.anchor_exercise_ms.is_some()
                && !score.status.is_achieved()
                && score.status != enshu_scoring::ObjectiveStatus::Missed
        })
        .filter_map(|score| score.deadline_exercise_ms)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emotet() -> Scenario {
        enshu_scenario::load(
            "emotet-beta.yaml",
            include_str!("../../../scenarios/emotet-beta.yaml").as_bytes(),
        )
        .expect("the scenario loads")
        .scenario
    }

    #[test]
    fn rows_follow_the_forms_field_order_with_labels_and_option_labels() {
        let scenario = emotet();
        let form = scenario.forms.iter().find(|form| form.id == "first-report");
        let fields: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "status": "調査中", "actions": "遮断した", "category": "malware",
            "recipients": ["prefecture", "ciso"], "personal_data": false, "extra": "x",
            "noticed_at": "2026-12-01T10:15"
        }))
        .unwrap();
        let rows = rows(Lang::Ja, form, &fields);
        let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "recipients",
                "noticed_at",
                "category",
                "personal_data",
                "actions",
                "status",
                "extra"
            ]
        );
        assert_eq!(rows[0].label, "報告先");
        assert_eq!(rows[0].value, "最高情報セキュリティ責任者, 都道府県");
        assert_eq!(
            rows[1].value, "2026-12-01 10:15",
            "a time as a person writes it"
        );
        assert_eq!(rows[3].value, "いいえ");
        assert!(!rows[2].value.contains("malware"), "{:?}", rows[2]);
    }

    #[test]
    fn each_report_of_the_chain_says_what_comes_next() {
        let scenario = emotet();
        let form = |id: &str| scenario.forms.iter().find(|form| form.id == id).unwrap();
        let first = next_steps(Lang::Ja, &scenario, form("first-report"), |id| {
            (id == "follow-up-report").then_some(5_400_000)
        });
        assert_eq!(first.sentences.len(), 2);
        assert!(first.sentences[1].contains("続報"), "{first:?}");
        let next = first.next_form.unwrap();
        assert_eq!(
            (next.id.as_str(), next.deadline_exercise_ms),
            ("follow-up-report", Some(5_400_000))
        );
        let follow_up = next_steps(Lang::En, &scenario, form("follow-up-report"), |_| None);
        assert!(follow_up.sentences[1].contains("another follow-up"));
        assert!(follow_up.sentences[2].contains("Final report"));
        assert_eq!(follow_up.next_form.unwrap().id, "final-report");
        let done = next_steps(Lang::Ja, &scenario, form("final-report"), |_| None);
        assert!(done.sentences[1].contains("完了"), "{done:?}");
        assert_eq!(done.next_form, None);
    }
}
