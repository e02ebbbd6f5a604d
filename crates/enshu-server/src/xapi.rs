//! xAPI (Experience API 1.0.3) statements of what the trainees did, for a
//! learning record store or an analysis elsewhere, as NICT's CYDERANGE
//! records its trainees' operations.
//!
//! Pure: [`statements`] maps the event log to statements and does no I/O,
//! so the mapping is tested without a server. Only what a team did itself
//! becomes a statement — answers, reports, hints, firewall changes and the
//! command lines typed in its terminals; injects, checks, grades and
//! instructor notes are the range's and the instructors' doing, not the
//! trainees'. The actor is the team (an identified group: the portal's
//! address and `team-N`), since a team shares one login.
//!
//! Verbs come from ADL's vocabulary where one means the action
//! (`answered`, Activity Streams' `submit`); Enshu's own actions have verbs
//! under `urn:enshu:xapi:verb:` (`took-hint`, `blocked`, `unblocked`,
//! `ran`), and its extensions are under `urn:enshu:xapi:`. Each statement's
//! id is derived from the session and the event's seq (a name-based UUID,
//! version 8, from SHA-256), so exporting twice sends no duplicate.

use enshu_scenario::Scenario;
use enshu_scenario::model::Text;
use enshu_store::{Event, EventKind};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub(crate) const VERB_ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
pub(crate) const VERB_SUBMITTED: &str = "http://activitystrea.ms/schema/1.0/submit";
pub(crate) const VERB_TOOK_HINT: &str = "urn:enshu:xapi:verb:took-hint";
pub(crate) const VERB_BLOCKED: &str = "urn:enshu:xapi:verb:blocked";
pub(crate) const VERB_UNBLOCKED: &str = "urn:enshu:xapi:verb:unblocked";
pub(crate) const VERB_RAN: &str = "urn:enshu:xapi:verb:ran";

const EXTENSION: &str = "urn:enshu:xapi:";

/// What the statements need besides the log.
pub(crate) struct Vocabulary<'a> {
    /// The session's name (`cyder1`), in every statement's context.
    pub session: &'a str,
    pub scenario: &'a Scenario,
    /// The portal's address (`https://range.example:8443/`): the home page
    /// of the teams' accounts.
    pub home_page: &'a str,
    /// Team N's name as the instructors see it.
    pub team_name: &'a dyn Fn(u32) -> String,
    /// The event's exercise-clock offset for its team.
    pub exercise_ms: &'a dyn Fn(&Event, u32) -> u64,
}

/// One statement per trainee action of `events`, in log order.
pub(crate) fn statements(events: &[Event], vocabulary: &Vocabulary<'_>) -> Vec<Value> {
    events
        .iter()
        .filter_map(|event| statement(event, vocabulary))
        .collect()
}

fn statement(event: &Event, vocabulary: &Vocabulary<'_>) -> Option<Value> {
    let team = event.team?;
    let scenario = &vocabulary.scenario.id;
    let (verb, object, result, extensions) = match &event.kind {
        EventKind::Submission {
            objective,
            answer,
            correct,
        } => (
            verb(VERB_ANSWERED, "answered", "回答した"),
            objective_activity(vocabulary.scenario, objective),
            json!({"success": correct, "response": answer}),
            Map::new(),
        ),
        EventKind::ReportSubmitted { form, fields } => {
            let title = vocabulary
                .scenario
                .forms
                .iter()
                .find(|candidate| &candidate.id == form)
                .map(|found| &found.title);
            (
                verb(VERB_SUBMITTED, "submitted", "提出した"),
                activity(
                    format!("urn:enshu:{}:form:{}", iri_part(scenario), iri_part(form)),
                    title.map_or_else(|| json!({"und": form}), language_map),
                ),
                json!({"completion": true, "extensions": {
                    format!("{EXTENSION}report-fields"): fields,
                }}),
                Map::new(),
            )
        }
        EventKind::HintTaken {
            objective,
            hint_index,
            penalty,
        } => (
            verb(VERB_TOOK_HINT, "took a hint", "ヒントを見た"),
            objective_activity(vocabulary.scenario, objective),
            json!({"extensions": {format!("{EXTENSION}penalty"): penalty}}),
            extension_map([("hint-index", json!(hint_index))]),
        ),
        EventKind::FirewallChanged { block, address } => {
            let (id, english, japanese) = if *block {
                (VERB_BLOCKED, "blocked", "遮断した")
            } else {
                (VERB_UNBLOCKED, "unblocked", "遮断を解除した")
            };
            (
                verb(id, english, japanese),
                activity(
                    format!(
                        "urn:enshu:{}:team:{team}:firewall",
                        iri_part(vocabulary.session)
                    ),
                    json!({"en-US": "the team's firewall", "ja-JP": "チームのファイアウォール"}),
                ),
                json!({"response": address}),
                Map::new(),
            )
        }
        EventKind::TerminalCommand {
            host,
            terminal,
            command,
            edited,
        } => (
            verb(VERB_RAN, "ran", "実行した"),
            activity(
                format!("urn:enshu:{}:host:{}", iri_part(scenario), iri_part(host)),
                json!({"und": host}),
            ),
            json!({"response": command}),
            extension_map([("terminal", json!(terminal)), ("edited", json!(edited))]),
        ),
        _ => return None,
    };
    let mut context_extensions = extension_map([
        ("session", json!(vocabulary.session)),
        ("seq", json!(event.seq)),
        ("exercise-ms", json!((vocabulary.exercise_ms)(event, team))),
    ]);
    context_extensions.extend(extensions);
    Some(json!({
        "id": statement_id(vocabulary.session, event.seq),
        "version": "1.0.3",
        "actor": {
            "objectType": "Group",
            "name": (vocabulary.team_name)(team),
            "account": {"homePage": vocabulary.home_page, "name": format!("team-{team}")},
        },
        "verb": verb,
        "object": object,
        "result": result,
        "context": {"platform": "Enshu", "extensions": context_extensions},
        "timestamp": timestamp(event.at_ms),
    }))
}

fn verb(id: &str, english: &str, japanese: &str) -> Value {
    json!({"id": id, "display": {"en-US": english, "ja-JP": japanese}})
}

fn activity(id: String, name: Value) -> Value {
    json!({"objectType": "Activity", "id": id, "definition": {"name": name}})
}

fn objective_activity(scenario: &Scenario, objective: &str) -> Value {
    let title = scenario
        .objectives
        .iter()
        .find(|candidate| candidate.id == objective)
        .map(|found| &found.title);
    activity(
        format!(
            "urn:enshu:{}:objective:{}",
            iri_part(&scenario.id),
            iri_part(objective)
        ),
        title.map_or_else(|| json!({"und": objective}), language_map),
    )
}

/// A scenario text as an xAPI language map (`ja-JP`, `en-US`).
fn language_map(text: &Text) -> Value {
    let mut map = Map::new();
    for (tag, value) in [("ja-JP", &text.ja), ("en-US", &text.en)] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            map.insert(tag.to_owned(), json!(value));
        }
    }
    Value::Object(map)
}

fn extension_map<const N: usize>(entries: [(&str, Value); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .map(|(name, value)| (format!("{EXTENSION}{name}"), value))
        .collect()
}

/// `name` with every byte outside RFC 3986's unreserved characters
/// percent-encoded, so a host reference (`office/pc01`) or any identifier
/// keeps the IRI valid and unambiguous.
fn iri_part(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A UUID (RFC 9562 version 8, variant 10) from SHA-256 of the session and
/// the seq: the same event always gets the same statement id.
fn statement_id(session: &str, seq: u64) -> String {
    let digest = Sha256::digest(format!("enshu-xapi\0{session}\0{seq}").as_bytes());
    let mut bytes: [u8; 16] = digest[..16].try_into().expect("SHA-256 has 32 bytes");
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// ISO 8601 in UTC with milliseconds, as xAPI's `timestamp` wants.
fn timestamp(wall_ms: i64) -> String {
    crate::time_format::iso8601_utc(wall_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use enshu_store::SessionId;

    fn scenario() -> Scenario {
        let text = include_str!("../../../scenarios/quickstart.yaml");
        enshu_scenario::load("quickstart.yaml", text.as_bytes())
            .expect("the quickstart loads")
            .scenario
    }

    fn event(seq: u64, team: Option<u32>, kind: EventKind) -> Event {
        Event {
            session: SessionId(1),
            seq,
            team,
            at_ms: 1_748_772_900_123,
            exercise_ms: Some(60_000),
            actor: team.map_or_else(|| "injector".to_owned(), |team| format!("team:{team}")),
            kind,
        }
    }

    fn export(events: &[Event]) -> Vec<Value> {
        let scenario = scenario();
        let team_name = |team: u32| format!("第{team}班");
        let exercise_ms = |event: &Event, _team: u32| event.exercise_ms.unwrap_or(0);
        statements(
            events,
            &Vocabulary {
                session: "cyder1",
                scenario: &scenario,
                home_page: "https://range.example:8443/",
                team_name: &team_name,
                exercise_ms: &exercise_ms,
            },
        )
    }

    #[test]
    fn an_answer_is_answered_with_its_success_and_response() {
        let objective = scenario().objectives[0].id.clone();
        let statements = export(&[event(
            7,
            Some(2),
            EventKind::Submission {
                objective: objective.clone(),
                answer: "198.51.100.23".to_owned(),
                correct: true,
            },
        )]);
        assert_eq!(statements.len(), 1);
        let statement = &statements[0];
        assert_eq!(statement["verb"]["id"], VERB_ANSWERED);
        assert_eq!(statement["verb"]["display"]["ja-JP"], "回答した");
        assert_eq!(
            statement["actor"],
            json!({"objectType": "Group", "name": "第2班",
                   "account": {"homePage": "https://range.example:8443/", "name": "team-2"}})
        );
        assert_eq!(
            statement["object"]["id"],
            format!("urn:enshu:quickstart:objective:{objective}")
        );
        assert!(
            statement["object"]["definition"]["name"]
                .as_object()
                .is_some_and(|names| !names.is_empty())
        );
        assert_eq!(
            statement["result"],
            json!({"success": true, "response": "198.51.100.23"})
        );
        assert_eq!(statement["timestamp"], "2025-06-01T10:15:00.123Z");
        assert_eq!(
            statement["context"]["extensions"]["urn:enshu:xapi:seq"],
            json!(7)
        );
        assert_eq!(
            statement["context"]["extensions"]["urn:enshu:xapi:exercise-ms"],
            json!(60_000)
        );
    }

    #[test]
    fn every_trainee_action_has_its_verb_and_nothing_else_is_exported() {
        let statements = export(&[
            event(
                1,
                None,
                EventKind::InjectHeld {
                    inject: "beacon".to_owned(),
                },
            ),
            event(
                2,
                Some(1),
                EventKind::ReportSubmitted {
                    form: "first".to_owned(),
                    fields: json!({"summary": "C2 通信を遮断"}),
                },
            ),
            event(
                3,
                Some(1),
                EventKind::HintTaken {
                    objective: "identify-c2".to_owned(),
                    hint_index: 0,
                    penalty: 10,
                },
            ),
            event(
                4,
                Some(1),
                EventKind::FirewallChanged {
                    block: true,
                    address: "10.64.100.23".to_owned(),
                },
            ),
            event(
                5,
                Some(1),
                EventKind::FirewallChanged {
                    block: false,
                    address: "10.64.100.23".to_owned(),
                },
            ),
            event(
                6,
                Some(1),
                EventKind::TerminalCommand {
                    host: "office/pc01".to_owned(),
                    terminal: "t1-3".to_owned(),
                    command: "echo 日本語".to_owned(),
                    edited: false,
                },
            ),
            event(
                7,
                Some(1),
                EventKind::InstructorNote {
                    text: "good triage".to_owned(),
                },
            ),
        ]);
        let verbs: Vec<&str> = statements
            .iter()
            .map(|statement| statement["verb"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            verbs,
            [
                VERB_SUBMITTED,
                VERB_TOOK_HINT,
                VERB_BLOCKED,
                VERB_UNBLOCKED,
                VERB_RAN
            ]
        );
        let report = &statements[0];
        assert_eq!(
            report["result"]["extensions"]["urn:enshu:xapi:report-fields"]["summary"],
            "C2 通信を遮断"
        );
        let hint = &statements[1];
        assert_eq!(
            hint["result"]["extensions"]["urn:enshu:xapi:penalty"],
            json!(10)
        );
        let block = &statements[2];
        assert_eq!(block["result"]["response"], "10.64.100.23");
        assert_eq!(block["object"]["id"], "urn:enshu:cyder1:team:1:firewall");
        let command = &statements[4];
        assert_eq!(command["result"]["response"], "echo 日本語");
        assert_eq!(
            command["object"]["id"],
            "urn:enshu:quickstart:host:office%2Fpc01"
        );
        assert_eq!(
            command["context"]["extensions"]["urn:enshu:xapi:terminal"],
            "t1-3"
        );
    }

    #[test]
    fn statement_ids_are_uuids_stable_per_session_and_seq() {
        let first = statement_id("cyder1", 5);
        assert_eq!(first, statement_id("cyder1", 5));
        assert_ne!(first, statement_id("cyder1", 6));
        assert_ne!(first, statement_id("cyder2", 5));
        let groups: Vec<&str> = first.split('-').collect();
        assert_eq!(
            groups.iter().map(|group| group.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('8'), "version 8: {first}");
        assert!(
            matches!(&groups[3][..1], "8" | "9" | "a" | "b"),
            "variant: {first}"
        );
    }

    #[test]
    fn iri_parts_are_percent_encoded() {
        assert_eq!(iri_part("office/pc01"), "office%2Fpc01");
        assert_eq!(iri_part("a b:c"), "a%20b%3Ac");
        assert_eq!(iri_part("日"), "%E6%97%A5");
    }
}
