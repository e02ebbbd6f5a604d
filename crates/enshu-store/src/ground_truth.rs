//! What the log records about a fired inject, and what kind of evidence a
//! check result is: the two values the engine, the checks and the pages
//! agree on.

use std::fmt;

use enshu_scenario::model::CheckKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The ground truth of a fired inject (`InjectFired.ground_truth`).
///
/// The fields every inject carries and the ones the engine and the checks
/// read are typed; what only one kind of inject records (a beacon's
/// interval, a cron line, a message's body) stays in [`GroundTruth::extra`].
/// It reads every ground truth the injector has written: every field is
/// optional, and a `null` reads as absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The inject's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject: Option<String>,
    /// The team's name, e.g. `t01`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The reference the inject was aimed at, e.g. `office/pc01`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The container it acted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The target's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The host, where an inject names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What the inject did, as its kind is named: an artefact's (`file`,
    /// `deface`, ...), a traffic generator's (`beacon`, `scan`, ...), or
    /// `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Where a traffic generator sends its traffic (an address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The team's exercise time when it fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise_ms: Option<u64>,
    /// The file the inject wrote (a dropped file, a log, a defaced page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SHA-256 of what it wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where a deface inject kept the page's golden copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_path: Option<String>,
    /// SHA-256 of the golden copy: what a `golden:` check compares with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_sha256: Option<String>,
    /// When the inject fired (wall clock, milliseconds since the Unix
    /// epoch): the time of its `InjectFired` event, set when the log is
    /// read (a `password_changed` check compares with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at_ms: Option<i64>,
    /// Whatever else the inject's kind records.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GroundTruth {
    /// The ground truth the injector returned (a JSON object). A field of
    /// an unexpected type is kept untyped in [`GroundTruth::extra`] rather
    /// than lost.
    pub fn from_json(value: Value) -> GroundTruth {
        match serde_json::from_value::<GroundTruth>(value.clone()) {
            Ok(truth) => truth,
            Err(_) => GroundTruth {
                extra: match value {
                    Value::Object(fields) => fields,
                    other => Map::from_iter([("value".to_string(), other)]),
                },
                ..GroundTruth::default()
            },
        }
    }

    /// The whole ground truth as JSON, typed fields and extras together.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What a `CheckResult` judged: one of the scenario's automatic check kinds
/// (`no_beacon`), or a report form's fields (`report:first-report`).
/// Serialised as that string, as the log has always had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CheckResultKind {
    /// An automatic check the engine ran in the range.
    Automatic(CheckKind),
    /// Evidence the scorer read from a submitted report form.
    Report { form: String },
}

const REPORT_PREFIX: &str = "report:";

impl fmt::Display for CheckResultKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResultKind::Automatic(kind) => formatter.write_str(kind.as_str()),
            CheckResultKind::Report { form } => write!(formatter, "{REPORT_PREFIX}{form}"),
        }
    }
}

impl From<CheckResultKind> for String {
    fn from(kind: CheckResultKind) -> String {
        kind.to_string()
    }
}

impl TryFrom<String> for CheckResultKind {
    type Error = String;

    fn try_from(name: String) -> Result<CheckResultKind, String> {
        if let Some(form) = name.strip_prefix(REPORT_PREFIX) {
            return Ok(CheckResultKind::Report {
                form: form.to_string(),
            });
        }
        CheckKind::from_name(&name)
            .map(CheckResultKind::Automatic)
            .ok_or_else(|| format!("unknown check kind {name:?}"))
    }
}

impl From<CheckKind> for CheckResultKind {
    fn from(kind: CheckKind) -> CheckResultKind {
        CheckResultKind::Automatic(kind)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deface_ground_truth_reads_its_golden_copy_and_keeps_the_rest() {
        let written = json!({
            "path": "/var/www/html/index.html",
            "golden_path": "/var/lib/enshu/golden/index.html",
            "golden_sha256": "aaa",
            "defaced_sha256": "bbb",
            "size": 41,
            "inject": "deface",
            "team": "t01",
            "target": "dmz/www",
            "container": "s-t01-www",
            "address": null,
            "exercise_ms": 120000,
        });
        let truth = GroundTruth::from_json(written.clone());
        assert_eq!(truth.golden_sha256.as_deref(), Some("aaa"));
        assert_eq!(truth.exercise_ms, Some(120_000));
        assert_eq!(truth.address, None);
        assert_eq!(truth.extra["defaced_sha256"], "bbb");
        let mut expected = written;
        expected.as_object_mut().unwrap().remove("address");
        assert_eq!(truth.to_json(), expected);
    }

    #[test]
    fn a_beacon_ground_truth_says_what_it_is_and_where_it_goes() {
        let truth = GroundTruth::from_json(json!({
            "kind": "beacon",
            "source": "10.64.10.101",
            "destination": "10.64.100.23",
            "address": "10.64.10.101",
            "interval_ms": 10000,
        }));
        assert_eq!(truth.kind.as_deref(), Some("beacon"));
        assert_eq!(truth.destination.as_deref(), Some("10.64.100.23"));
        assert_eq!(truth.extra["source"], "10.64.10.101");
    }

    #[test]
    fn a_field_of_another_type_is_kept_untyped() {
        let truth = GroundTruth::from_json(json!({"path": 7, "pid": 42}));
        assert_eq!(truth.path, None);
        assert_eq!(truth.extra["path"], 7);
        assert_eq!(truth.extra["pid"], 42);
    }

    #[test]
    fn check_result_kinds_read_and_write_the_logs_strings() {
        for kind in CheckKind::ALL {
            let typed = CheckResultKind::Automatic(kind);
            let json = serde_json::to_value(&typed).unwrap();
            assert_eq!(json, serde_json::to_value(kind).unwrap());
            assert_eq!(
                serde_json::from_value::<CheckResultKind>(json).unwrap(),
                typed
            );
        }
        let report: CheckResultKind = serde_json::from_value(json!("report:first-report")).unwrap();
        assert_eq!(
            report,
            CheckResultKind::Report {
                form: "first-report".into()
            }
        );
        assert_eq!(report.to_string(), "report:first-report");
        assert!(serde_json::from_value::<CheckResultKind>(json!("proxy-403")).is_err());
    }
}
