//! The properties Enshu's server fuzz targets check (`fuzz/`), as ordinary
//! code so that the crate's own tests run them over the seed corpus and the
//! saved regressions with no fuzzer (`tests/fuzz_cases.rs`).
//!
//! Both run the code the handlers run on a request's body, against the
//! quickstart scenario planned for two teams, with one more form that has
//! a field of every type. Each function panics only when a property is
//! broken; a refused value is a pass.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use axum::body::Bytes;
use enshu_scenario::Scenario;
use enshu_scenario::model::{AnswerKind, FieldType, Form};
use enshu_scenario::plan::TeamPlan;
use serde_json::Value;

use crate::exercise::{self, RawField};

/// A form with one field of each type, added to the quickstart's forms.
const EVERY_TYPE_FORM: &str = r#"
  - id: every-type
    kind: follow_up
    title: {ja: 全種類, en: Every type}
    fields:
      - {name: text, label: {ja: 文, en: Text}, type: text, required: true}
      - {name: long_text, label: {ja: 長文, en: Long text}, type: long_text}
      - {name: choice, label: {ja: 選択, en: Choice}, type: choice, options: [soc_alert, user]}
      - {name: multi_choice, label: {ja: 複数選択, en: Multi choice}, type: multi_choice, options: [ciso, police, vendor]}
      - {name: datetime, label: {ja: 日時, en: Datetime}, type: datetime}
      - {name: bool, label: {ja: 真偽, en: Bool}, type: bool, required: true}
      - {name: number, label: {ja: 数, en: Number}, type: number}
      - {name: host, label: {ja: 端末, en: Host}, type: host}
      - {name: hosts, label: {ja: 端末群, en: Hosts}, type: hosts}
      - {name: segments, label: {ja: 系, en: Segments}, type: segments}
"#;

struct Exercise {
    scenario: Scenario,
    team: TeamPlan,
}

fn exercise() -> &'static Exercise {
    static EXERCISE: OnceLock<Exercise> = OnceLock::new();
    EXERCISE.get_or_init(|| {
        let quickstart = include_str!("../../../scenarios/quickstart.yaml");
        assert!(
            quickstart.trim_end().ends_with("type: text}"),
            "the quickstart's forms are no longer its last block"
        );
        let text = format!("{}\n{}", quickstart.trim_end(), EVERY_TYPE_FORM);
        let loaded = enshu_scenario::load("quickstart.yaml", text.as_bytes())
            .unwrap_or_else(|diagnostics| panic!("{diagnostics:#?}"));
        let plan = enshu_scenario::plan(
            &loaded,
            &enshu_scenario::PlanOptions {
                session: "fuzz".to_owned(),
                teams: 2,
                pool: None,
                files: &enshu_scenario::NoFiles,
            },
        )
        .unwrap_or_else(|error| panic!("the fuzz scenario does not plan: {error}"));
        Exercise {
            scenario: loaded.scenario,
            team: plan.teams[1].clone(),
        }
    })
}

/// A report's body, as the API's JSON (`{"form": .., "fields": {..}}`) and
/// as a portal form post (`application/x-www-form-urlencoded`), through the
/// report check:
/// - nothing panics;
/// - an accepted report holds only the form's fields, every required one,
///   and each value of its field's type: a number only a finite number, a
///   choice only one of its options, a host only a host of the team's own
///   range, a date only a real date and time, and so on.
pub fn server_report(data: &[u8]) {
    let exercise = exercise();
    if let Ok(request) = serde_json::from_slice::<crate::api::team::ReportRequest>(data) {
        let raw: BTreeMap<String, RawField> = request
            .fields
            .into_iter()
            .map(|(name, value)| (name, RawField::Json(value)))
            .collect();
        let form = exercise::form(&exercise.scenario, &request.form)
            .or_else(|| exercise::form(&exercise.scenario, "every-type"))
            .expect("the every-type form");
        check_report(form, &exercise.team, &raw);
    }
    let posted = crate::pages::FormFields::parse(&Bytes::copy_from_slice(data));
    let raw = crate::pages::team::raw_report_fields(&posted);
    for form in &exercise.scenario.forms {
        check_report(form, &exercise.team, &raw);
    }
}

fn check_report(form: &Form, team: &TeamPlan, raw: &BTreeMap<String, RawField>) {
    let Ok(fields) = exercise::validate_report(form, team, raw) else {
        return;
    };
    for name in fields.keys() {
        assert!(
            form.fields.iter().any(|field| &field.name == name),
            "accepted a field the form does not have: {name:?}"
        );
    }
    for field in &form.fields {
        let Some(value) = fields.get(&field.name) else {
            assert!(!field.required, "accepted without {:?}", field.name);
            continue;
        };
        let name = &field.name;
        match field.field_type {
            FieldType::Text | FieldType::LongText => {
                let text = value.as_str().unwrap_or_else(|| panic!("{name}: {value}"));
                let limit = if field.field_type == FieldType::Text {
                    2_000
                } else {
                    20_000
                };
                assert!(!text.is_empty() && text.trim() == text, "{name}: {text:?}");
                assert!(text.chars().count() <= limit, "{name}: too long");
            }
            FieldType::Choice => {
                let text = value.as_str().unwrap_or_else(|| panic!("{name}: {value}"));
                assert!(
                    field.options.iter().any(|option| option == text),
                    "{name}: {text:?}"
                );
            }
            FieldType::MultiChoice => {
                for text in distinct_strings(name, value) {
                    assert!(
                        field.options.iter().any(|option| option == text),
                        "{name}: {text:?}"
                    );
                }
            }
            FieldType::Datetime => {
                let text = value.as_str().unwrap_or_else(|| panic!("{name}: {value}"));
                assert!(looks_like_datetime(text), "{name}: {text:?}");
            }
            FieldType::Bool => assert!(value.is_boolean(), "{name}: {value}"),
            FieldType::Number => {
                let number = value.as_f64().unwrap_or_else(|| panic!("{name}: {value}"));
                assert!(number.is_finite(), "{name}: {value}");
            }
            FieldType::Host => {
                let text = value.as_str().unwrap_or_else(|| panic!("{name}: {value}"));
                assert!(is_own_host(team, text), "{name}: {text:?}");
            }
            FieldType::Hosts => {
                for text in distinct_strings(name, value) {
                    assert!(is_own_host(team, text), "{name}: {text:?}");
                }
            }
            FieldType::Segments => {
                for text in distinct_strings(name, value) {
                    let own = team
                        .networks
                        .iter()
                        .any(|network| network.team_range && network.segment == text);
                    assert!(own, "{name}: {text:?}");
                }
            }
        }
    }
}

/// The strings of a non-empty array without repeats.
fn distinct_strings<'a>(name: &str, value: &'a Value) -> Vec<&'a str> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("{name}: {value}"));
    assert!(!items.is_empty(), "{name}: an empty list accepted");
    let texts: Vec<&str> = items
        .iter()
        .map(|item| item.as_str().unwrap_or_else(|| panic!("{name}: {value}")))
        .collect();
    for (index, text) in texts.iter().enumerate() {
        assert!(!texts[..index].contains(text), "{name}: {text:?} twice");
    }
    texts
}

/// `segment/name` of a host attached to one of the team's own segments.
fn is_own_host(team: &TeamPlan, reference: &str) -> bool {
    team.containers.iter().any(|container| {
        container.reference == reference
            && reference.contains('/')
            && container.networks.iter().any(|attachment| {
                team.networks
                    .iter()
                    .any(|network| network.name == attachment.network && network.team_range)
            })
    })
}

/// `YYYY-MM-DD[T ]HH:MM`, then anything: month 1-12, day 1-31, hour 0-23,
/// minute 0-59. Looser than the parser, so that it shares nothing with it.
fn looks_like_datetime(text: &str) -> bool {
    let bytes = text.trim().as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let shape = bytes.len() >= 16
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b' ')
        && bytes[13] == b':';
    shape
        && digits(0..4).is_some()
        && digits(5..7).is_some_and(|month| (1..=12).contains(&month))
        && digits(8..10).is_some_and(|day| (1..=31).contains(&day))
        && digits(11..13).is_some_and(|hour| hour <= 23)
        && digits(14..16).is_some_and(|minute| minute <= 59)
}

/// A firewall change's and an answer's body, as the API's JSON
/// (`{"action": .., "address": ..}`, `{"objective": .., "answer": ..}`) and
/// as the portal's plain field text, through the firewall's address check
/// and the answer check:
/// - nothing panics;
/// - an accepted firewall address is exactly the IPv4 address written and
///   lies inside the team's own block and one of its networks;
/// - an accepted answer to an address question is an IP address.
pub fn server_firewall_answer(data: &[u8]) {
    let exercise = exercise();
    let mut texts = vec![String::from_utf8_lossy(data).into_owned()];
    if let Ok(request) = serde_json::from_slice::<crate::api::team::FirewallRequest>(data) {
        let _ = request.action == "block";
        texts.push(request.address);
    }
    let mut answers: Vec<(Option<String>, String)> = Vec::new();
    if let Ok(request) = serde_json::from_slice::<crate::api::team::AnswerRequest>(data) {
        answers.push((Some(request.objective), request.answer));
    }
    for text in &texts {
        check_firewall_address(&exercise.team, text);
        answers.push((None, text.clone()));
    }
    for (objective, answer) in answers {
        for planned in &exercise.team.answers {
            if objective
                .as_ref()
                .is_some_and(|objective| objective != &planned.objective)
            {
                continue;
            }
            let correct = exercise::check_answer(&exercise.team, &planned.objective, &answer)
                .expect("a planned answer's objective takes an answer");
            if correct && planned.kind == AnswerKind::Address {
                assert!(
                    answer.trim().parse::<std::net::IpAddr>().is_ok(),
                    "{}: accepted {answer:?}",
                    planned.objective
                );
            }
        }
        if let Some(objective) = objective {
            let _ = exercise::check_answer(&exercise.team, &objective, &answer);
        }
    }
}

fn check_firewall_address(team: &TeamPlan, text: &str) {
    let Ok(address) = crate::actions::firewall_address(team, text) else {
        return;
    };
    assert_eq!(address.to_string(), text.trim(), "accepted {text:?}");
    let inside = |base: Ipv4Addr, prefix: u8| {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        u32::from(address) & mask == u32::from(base) & mask
    };
    assert!(
        inside(team.block.address, team.block.prefix),
        "{address} is outside the team's block {}",
        team.block
    );
    assert!(
        team.networks
            .iter()
            .any(|network| inside(network.subnet.address, network.subnet.prefix)),
        "{address} is in none of the team's networks"
    );
}
