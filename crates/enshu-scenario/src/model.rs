//! The scenario format (v1), as instructors write it in YAML.
//!
//! These types are the contract between exercise authors and every other part
//! of Enshu. They are deliberately plain serde structs (no spans, no I/O):
//! source locations come from a separate [`crate::source::SourceMap`], so the
//! model stays easy to build in tests and to publish as a JSON Schema.
//!
//! Every struct denies unknown fields: a typo in a scenario is an error with
//! a line and column, never a silently ignored setting.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod directory;

pub use directory::{DEFAULT_DIRECTORY_DOMAIN, DEFAULT_REALM, Directory, DirectoryUser};
mod background;
pub use background::{Background, BackgroundLevel};
mod scoring;
pub use scoring::{
    DEFAULT_ATTEMPTS, DEFAULT_HOLD, DEFAULT_WRONG_ANSWER_COST, EffectiveScoring, MAX_ATTEMPTS,
    MAX_HOLD, ScoringPolicy,
};

/// A whole exercise: metadata, the network, the attack and how teams score.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Enshu scenario (v1)")]
pub struct Scenario {
    /// Format version; only 1 exists.
    pub version: u32,
    /// Short machine name, e.g. `emotet-beta`: lower case letters, digits and `-`.
    pub id: String,
    /// Title shown to instructors and trainees.
    pub title: Text,
    /// CYDER course level the exercise is written for.
    pub level: Level,
    /// Planned length of the exercise, e.g. `3h` or `90m`.
    pub duration: Duration,
    /// What the exercise is about.
    #[serde(default)]
    pub description: Text,
    /// A built-in network template to start from: `municipal-alpha`,
    /// `municipal-beta` or `municipal-beta-prime`. Segments, hosts and flows
    /// of the scenario are added to the template's; a host or segment with the
    /// same name as the template's replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Template hosts to leave out (by name), e.g. to make a smaller range.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit_hosts: Vec<String>,
    /// How each team's address block is carved from the pool.
    #[serde(default)]
    pub addressing: Addressing,
    /// Network segments of one team's range.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Hosts (containers) of one team's range.
    #[serde(default)]
    pub hosts: Vec<Host>,
    /// The team's one way in (`segment/host`): the SSH port each team is
    /// handed forwards to this host, and trainees log in as its role's
    /// user (`analyst` on the analyst workstation, `staff` on a
    /// workstation, `webadmin` on a web server, `logs` on a syslog
    /// collector). By default it is the range's analyst workstation (the
    /// one host whose image is `analyst`); name another host only if it
    /// runs sshd. Every other host is entered from inside the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub way_in: Option<String>,
    /// The team's mail: its domain, the host of its mailbox and the relays
    /// mail from outside passes on the way there. With it, `mail` messages
    /// are delivered into the mailbox over SMTP (as well as shown in the
    /// portal) and `mail` injects can plant phishing mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<TeamMail>,
    /// The team's directory (Samba AD): the host that serves it, its
    /// domain, users and groups. A template may declare it; the
    /// scenario's own block replaces the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Directory>,
    /// Allowed traffic between hosts and segments; everything else is denied.
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// Where the team's hosts send their logs (the team's syslog host, the
    /// security cloud's SIEM). A template may declare it; the scenario's
    /// own block replaces the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// The team's network sensor: the analyst workstation that receives a
    /// copy of every frame of the team's segments, one capture interface
    /// `cap-<segment>` each (see [`crate::sensor`]). A template may
    /// declare it; the scenario's own block replaces the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<crate::sensor::Sensor>,
    /// Staff in the background: how busy the team's staff workstations
    /// are (`level: off | low | medium | high`, off by default). A
    /// template may declare it; the scenario's own block replaces the
    /// template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
    /// What happens to the team during the exercise.
    #[serde(default)]
    pub injects: Vec<Inject>,
    /// What the team must achieve, phase by phase.
    #[serde(default)]
    pub objectives: Vec<Objective>,
    /// Incident report forms the team fills in.
    #[serde(default)]
    pub forms: Vec<Form>,
    /// How answers and checks score: wrong answers a question takes before
    /// it locks, what a wrong answer costs, and how many check rounds a
    /// check must hold (each objective may set its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<ScoringPolicy>,
}

impl Scenario {
    /// The scoring rules that apply to `objective`: its own, over the
    /// scenario's, over the defaults.
    pub fn scoring_of(&self, objective: &Objective) -> EffectiveScoring {
        ScoringPolicy::over(objective.scoring.as_ref(), self.scoring.as_ref())
    }
}

/// Text in Japanese and English; at least one must be given.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ja: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Text {
    pub fn is_empty(&self) -> bool {
        self.ja.as_deref().is_none_or(str::is_empty) && self.en.as_deref().is_none_or(str::is_empty)
    }

    /// English if present, else Japanese.
    pub fn english_or_any(&self) -> &str {
        self.en.as_deref().or(self.ja.as_deref()).unwrap_or("")
    }
}

/// CYDER course level.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, Default, PartialEq, Eq)]
pub enum Level {
    /// Beginner (A).
    #[default]
    A,
    /// Intermediate (B-1 for local governments, B-2 for agencies).
    B,
    /// Semi-advanced (C).
    C,
}

/// Address pool settings. The pool is split into one block per team; segment
/// subnets are written relative to the team block, so `0.0.20.0/24` is
/// `10.65.20.0/24` for a team whose block is `10.65.0.0/16`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Addressing {
    /// Pool every team block is taken from (overridable with `--pool`).
    #[serde(default = "default_pool")]
    pub pool: String,
    /// Prefix length of one team's block.
    #[serde(default = "default_team_prefix")]
    pub team_prefix: u8,
}

fn default_pool() -> String {
    "10.64.0.0/10".to_string()
}

fn default_team_prefix() -> u8 {
    16
}

impl Default for Addressing {
    fn default() -> Self {
        Addressing {
            pool: default_pool(),
            team_prefix: default_team_prefix(),
        }
    }
}

/// What a segment stands for in the municipal model.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentRole {
    /// マイナンバー利用事務系: must stay cut off from the internet.
    Mynumber,
    /// LGWAN接続系.
    Lgwan,
    /// インターネット接続系.
    InternetConnected,
    /// 自治体情報セキュリティクラウド.
    SecurityCloud,
    /// The simulated internet (C2 servers, phish senders, citizens,
    /// partners): outside the team's range. The team's portal and API never
    /// list its hosts or their addresses; they reach the team only through
    /// what the exercise gives it (messages, logs, captures).
    Internet,
    /// Vendor maintenance access.
    Maintenance,
    /// Sanitisation / transfer DMZ between segments.
    Transfer,
    /// Simulated LGWAN wide-area network.
    LgwanWan,
    /// Hidden scorer vantage; trainees can never reach it (and, like the
    /// internet, its hosts are never listed to the team).
    Scorer,
    /// A plain office network (for small scenarios).
    Office,
}

impl SegmentRole {
    /// Whether the segment stands for the world outside the team's own
    /// range (the internet with the attacker's and partners' hosts, the
    /// hidden scorer). The team sees only its own hosts: the portal, the
    /// team API and the report form's pickers leave these segments out.
    pub fn is_outside_team_range(self) -> bool {
        matches!(self, SegmentRole::Internet | SegmentRole::Scorer)
    }
}

/// One network segment of a team's range.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Short name used in references, e.g. `lgwan`.
    pub name: String,
    /// Japanese label, e.g. `LGWAN接続系`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Role in the municipal model.
    pub role: SegmentRole,
    /// Subnet relative to the team block, e.g. `0.0.20.0/24`.
    pub subnet: String,
    /// Free-form note for instructors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One host (container) of a team's range.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Host name, unique in the range, e.g. `pc-net02`.
    pub name: String,
    /// Segment the host sits in.
    pub segment: String,
    /// Address as an offset inside the segment, e.g. `10` for `x.y.z.10`.
    pub address: u32,
    /// Image role the host runs (see `images/`).
    pub image: ImageRole,
    /// Services the host offers, e.g. `tcp/80`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<PortSpec>,
    /// Whether trainees may log in to this host from inside the range
    /// (over SSH from the way-in host, with the team's password); the host's
    /// image must run sshd (`analyst`, `workstation`, `web`, `syslog`). The
    /// way-in host (see `way_in`) is always one they log in to.
    #[serde(default)]
    pub login: bool,
    /// What the host is, for instructors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// On a host of image `backup`: the hosts it keeps offline copies of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
}

/// The image roles Enshu builds offline (see `images/roles.md`).
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "kebab-case")]
pub enum ImageRole {
    /// The team's analyst workstation: shell, tcpdump, logs, firewall tools.
    Analyst,
    /// A staff PC.
    Workstation,
    /// Web server (municipal site with an admin page).
    Web,
    /// SMTP + IMAP mail server.
    Mail,
    /// File server.
    File,
    /// DNS server.
    Dns,
    /// The directory: Samba AD DC (Kerberos, LDAP, SMB) with DNS.
    Directory,
    /// Syslog collector the team can read.
    Syslog,
    /// Proxy.
    Proxy,
    /// Simulated internet host / C2 server; logs every request.
    Internet,
    /// Backup server holding offline copies of other hosts' data.
    Backup,
}

impl ImageRole {
    pub const ALL: [ImageRole; 11] = [
        ImageRole::Analyst,
        ImageRole::Workstation,
        ImageRole::Web,
        ImageRole::Mail,
        ImageRole::File,
        ImageRole::Dns,
        ImageRole::Directory,
        ImageRole::Syslog,
        ImageRole::Proxy,
        ImageRole::Internet,
        ImageRole::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageRole::Analyst => "analyst",
            ImageRole::Workstation => "workstation",
            ImageRole::Web => "web",
            ImageRole::Mail => "mail",
            ImageRole::File => "file",
            ImageRole::Dns => "dns",
            ImageRole::Directory => "directory",
            ImageRole::Syslog => "syslog",
            ImageRole::Proxy => "proxy",
            ImageRole::Internet => "internet",
            ImageRole::Backup => "backup",
        }
    }
}

/// An allowed flow. Selectors are `segment/host`, `segment/pattern-*`,
/// `segment/*` (a whole segment) or `*` (every host).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Where connections start.
    pub from: OneOrMany<String>,
    /// Where connections go.
    pub to: OneOrMany<String>,
    /// Ports allowed, e.g. `tcp/443`, `udp/514`, `icmp`, `any`.
    pub ports: OneOrMany<PortSpec>,
    /// Also allow connections in the opposite direction.
    #[serde(default)]
    pub bidirectional: bool,
    /// Say yes when a flow exposes a My Number segment to the internet on
    /// purpose (a deliberate weakness of the scenario).
    #[serde(default)]
    pub deliberate: bool,
    /// Why the flow exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A single value or a list of values.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// Hand-written rather than `untagged`, so that a bad value reports its own
/// error ("port 99999 ...") instead of "did not match any variant".
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a value or a list of values")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = access.next_element()? {
                    values.push(value);
                }
                Ok(OneOrMany::Many(values))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                T::deserialize(serde::de::value::StrDeserializer::<E>::new(value))
                    .map(OneOrMany::One)
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
                T::deserialize(serde::de::value::U64Deserializer::<E>::new(value))
                    .map(OneOrMany::One)
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
                T::deserialize(serde::de::value::I64Deserializer::<E>::new(value))
                    .map(OneOrMany::One)
            }

            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Self::Value, E> {
                T::deserialize(serde::de::value::BoolDeserializer::<E>::new(value))
                    .map(OneOrMany::One)
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(value) => std::slice::from_ref(value),
            OneOrMany::Many(values) => values,
        }
    }
}

/// Transport protocol of a port specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Any,
}

/// `tcp/443`, `udp/514`, `tcp/8000-8080`, `icmp` or `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSpec {
    pub protocol: Protocol,
    /// Inclusive port range; `None` for icmp/any.
    pub ports: Option<(u16, u16)>,
}

impl PortSpec {
    /// Whether this specification lets `protocol` traffic to `port` through
    /// (the port is ignored for icmp).
    pub fn allows(&self, protocol: Protocol, port: u16) -> bool {
        match (self.protocol, self.ports) {
            (Protocol::Any, _) => true,
            (own, _) if own != protocol => false,
            (_, None) => true,
            (_, Some((low, high))) => (low..=high).contains(&port),
        }
    }
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "any" => {
                return Ok(PortSpec {
                    protocol: Protocol::Any,
                    ports: None,
                });
            }
            "icmp" => {
                return Ok(PortSpec {
                    protocol: Protocol::Icmp,
                    ports: None,
                });
            }
            _ => {}
        }
        let (protocol_text, port_text) = text.split_once('/').ok_or_else(|| {
            format!("port {text:?} must look like tcp/443, udp/514, tcp/8000-8080, icmp or any")
        })?;
        let protocol = match protocol_text {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => {
                return Err(format!(
                    "unknown protocol {other:?} in port {text:?} (tcp or udp)"
                ));
            }
        };
        if port_text == "any" || port_text == "*" {
            return Ok(PortSpec {
                protocol,
                ports: Some((1, 65535)),
            });
        }
        let parse_port = |part: &str| -> Result<u16, String> {
            match part.parse::<u16>() {
                Ok(0) | Err(_) => Err(format!(
                    "port {text:?}: {part:?} is not a port number (1-65535)"
                )),
                Ok(port) => Ok(port),
            }
        };
        let range = match port_text.split_once('-') {
            Some((low, high)) => (parse_port(low)?, parse_port(high)?),
            None => {
                let port = parse_port(port_text)?;
                (port, port)
            }
        };
        if range.0 > range.1 {
            return Err(format!("port range {text:?} is reversed"));
        }
        Ok(PortSpec {
            protocol,
            ports: Some(range),
        })
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.protocol, self.ports) {
            (Protocol::Any, _) => formatter.write_str("any"),
            (Protocol::Icmp, _) => formatter.write_str("icmp"),
            (protocol, Some((low, high))) => {
                let name = if protocol == Protocol::Tcp {
                    "tcp"
                } else {
                    "udp"
                };
                if low == high {
                    write!(formatter, "{name}/{low}")
                } else if (low, high) == (1, 65535) {
                    write!(formatter, "{name}/any")
                } else {
                    write!(formatter, "{name}/{low}-{high}")
                }
            }
            (_, None) => formatter.write_str("any"),
        }
    }
}

impl Serialize for PortSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PortSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortSpec".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "tcp/443, udp/514, tcp/8000-8080, icmp or any",
            "pattern": "^(any|icmp|(tcp|udp)/([0-9]{1,5}(-[0-9]{1,5})?|any|\\*))$"
        })
    }
}

/// A duration written as `90s`, `15m`, `1h30m` or `2h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    pub seconds: u64,
}

impl Duration {
    pub const fn from_secs(seconds: u64) -> Self {
        Duration { seconds }
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("duration {text:?} must look like 90s, 15m, 1h30m or 2h");
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad());
        }
        if trimmed == "0" {
            return Ok(Duration { seconds: 0 });
        }
        let mut seconds: u64 = 0;
        let mut number: Option<u64> = None;
        let mut last_unit_rank = 0;
        for character in trimmed.chars() {
            if let Some(digit) = character.to_digit(10) {
                let next = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)));
                number = Some(next.ok_or_else(bad)?);
                continue;
            }
            let (unit_seconds, rank) = match character {
                'h' => (3600, 1),
                'm' => (60, 2),
                's' => (1, 3),
                _ => return Err(bad()),
            };
            if rank <= last_unit_rank {
                return Err(bad());
            }
            last_unit_rank = rank;
            let value = number.take().ok_or_else(bad)?;
            seconds = value
                .checked_mul(unit_seconds)
                .and_then(|v| seconds.checked_add(v))
                .ok_or_else(bad)?;
        }
        if number.is_some() {
            return Err(bad());
        }
        Ok(Duration { seconds })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hours, minutes, seconds) = (
            self.seconds / 3600,
            self.seconds / 60 % 60,
            self.seconds % 60,
        );
        if self.seconds == 0 {
            return formatter.write_str("0s");
        }
        if hours > 0 {
            write!(formatter, "{hours}h")?;
        }
        if minutes > 0 {
            write!(formatter, "{minutes}m")?;
        }
        if seconds > 0 {
            write!(formatter, "{seconds}s")?;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "a duration such as 90s, 15m, 1h30m or 2h",
            "pattern": "^(0|([0-9]+h)?([0-9]+m)?([0-9]+s)?)$"
        })
    }
}

/// Something that happens to the team: traffic, an artefact or a message.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Inject {
    /// Name used in triggers and objectives, e.g. `phish-mail`.
    pub id: String,
    /// When it fires.
    pub when: When,
    /// Host (`segment/host`) or segment (`segment`) it acts on.
    pub target: String,
    /// What it does.
    pub action: Action,
    /// Note for instructors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// When an inject fires: at an offset from the start, or on a trigger.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum When {
    /// At this exercise-clock offset from the start.
    At(Duration),
    /// After another inject fired, with a delay.
    After(AfterInject),
    /// When an objective is met or missed, with a delay.
    On(OnObjective),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AfterInject {
    pub inject: String,
    #[serde(default)]
    pub delay: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnObjective {
    pub objective: String,
    /// `met` or `missed`.
    pub outcome: Outcome,
    #[serde(default)]
    pub delay: Duration,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Met,
    Missed,
}

/// What an inject does.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Action {
    /// Replay a real capture, rewritten into the team's addresses.
    Replay(Replay),
    /// Generate attack traffic from the target host.
    Traffic(Traffic),
    /// Plant something on the target host.
    Artefact(Artefact),
    /// Send the team a message (mail from the SOC, a phone call, a vendor report).
    Message(Message),
    /// Send a mail from the target host (e.g. a phishing mail from the
    /// attacker) into the team's mailbox, through the scenario's relays.
    Mail(Mail),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Capture file (pcap or pcapng), relative to the scenario file.
    pub pcap: String,
    /// Addresses or subnets in the capture mapped to hosts or segments of the
    /// range, e.g. `192.168.1.5: inet/pc-net02`, `10.0.0.0/24: inet`.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Speed multiplier against the capture's own timing (1.0 = as recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Fixed packets per second instead of the capture's timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pps: Option<u32>,
    /// How many times to play the capture.
    #[serde(default = "one")]
    pub loops: u32,
}

fn one() -> u32 {
    1
}

/// Kinds of generated traffic.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TrafficKind {
    Scan,
    Beacon,
    BruteForce,
    /// One password tried against many accounts (`users`), as a spray
    /// against the directory does.
    PasswordSpray,
    Exfiltration,
    DnsTunnel,
}

impl TrafficKind {
    /// The kind's name as the scenario spells it (and ground truth records it).
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficKind::Scan => "scan",
            TrafficKind::Beacon => "beacon",
            TrafficKind::BruteForce => "brute_force",
            TrafficKind::PasswordSpray => "password_spray",
            TrafficKind::Exfiltration => "exfiltration",
            TrafficKind::DnsTunnel => "dns_tunnel",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    pub kind: TrafficKind,
    /// Destination host, e.g. `internet/c2`.
    pub to: String,
    /// Destination ports (scan range, beacon port, service to brute-force).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortSpec>,
    /// Interval between beacons or attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Random jitter as a fraction of the interval (0.0-1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// Number of beacons, attempts or queries (bounded; default depends on kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// URL path for HTTP beacons and brute force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// User name for brute force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The accounts a password spray tries, in turn (default: common
    /// Japanese family names and `admin`; at most 200).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// The one password a spray tries (default `Saida2024!`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Bytes to send for exfiltration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Domain used for DNS tunnelling or beacons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// Kinds of host artefacts. All are harmless and reversible.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ArtefactKind {
    /// Drop a marker file with known content.
    File,
    /// Append lines to a real service log.
    Log,
    /// Start a harmless process with a telling name.
    Process,
    /// Add a cron entry (persistence).
    Cron,
    /// Add a local user account.
    User,
    /// Replace a web page, keeping the golden copy for the recovery check.
    Deface,
    /// Rename files to `*.locked` and drop a ransom note; reversible.
    Encrypt,
}

impl ArtefactKind {
    /// The kind's name as the scenario spells it (and ground truth records it).
    pub fn as_str(self) -> &'static str {
        match self {
            ArtefactKind::File => "file",
            ArtefactKind::Log => "log",
            ArtefactKind::Process => "process",
            ArtefactKind::Cron => "cron",
            ArtefactKind::User => "user",
            ArtefactKind::Deface => "deface",
            ArtefactKind::Encrypt => "encrypt",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Artefact {
    pub kind: ArtefactKind,
    /// File, log file or web page path on the host; directory for `encrypt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// File content, new page content or ransom note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Log lines to append.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// Process name, cron command or user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Cron schedule, e.g. `*/5 * * * *`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// How a message reaches the team.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Mail in the team's mailbox (e.g. from the SOC).
    Mail,
    /// A phone call, shown in the portal and read out by the white cell.
    Phone,
    /// The vendor's analysis report.
    VendorReport,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub channel: Channel,
    /// Who it is from, e.g. `SOC (security cloud)`.
    pub from: Text,
    pub subject: Text,
    pub body: Text,
}

/// The four phases a team goes through.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Detection,
    Response,
    Reporting,
    Recovery,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Detection,
        Phase::Response,
        Phase::Reporting,
        Phase::Recovery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Detection => "detection",
            Phase::Response => "response",
            Phase::Reporting => "reporting",
            Phase::Recovery => "recovery",
        }
    }
}

/// Something the team must achieve, with how it is evidenced.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub id: String,
    pub phase: Phase,
    pub title: Text,
    pub points: u32,
    /// The inject this objective responds to; its deadline and timing count
    /// from that inject's actual fire time for the team, with or without a
    /// `deadline`. Until the inject fires the objective is pending, and only
    /// evidence after the fire counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject: Option<String>,
    /// Time allowed: from the inject's fire time when `inject` is set,
    /// otherwise from the exercise start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
    /// Latest exercise-clock time (from the start) by which it can still be
    /// met, whatever the inject's timing, e.g. `due: 3h` for a 確報 due at
    /// the end of the exercise. Evidence after it earns nothing, and an
    /// objective not met by then is missed. Meeting it by `due` is on time,
    /// unless a `deadline` that passed earlier makes it late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Duration>,
    /// How the objective is evidenced.
    pub evidence: Evidence,
    /// Hints the team may take, each costing points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Hint>,
    /// This objective's own scoring rules (attempts, wrong-answer cost,
    /// check hold), over the scenario's `scoring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<ScoringPolicy>,
}

/// How an objective is evidenced.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Evidence {
    /// The team submits an answer compared with ground truth.
    Answer(Answer),
    /// An automatic check run against the team's range.
    Check(Check),
    /// A report form submitted by its deadline with valid fields.
    Report(ReportEvidence),
    /// Instructor judgement with a rubric.
    Judged(Judged),
}

/// What kind of answer the team gives.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A host of the range: its name or its address is accepted.
    Host,
    /// An IP address.
    Address,
    /// A domain name.
    Domain,
    /// A SHA-256 hash.
    Sha256,
    /// Free text, compared case-insensitively.
    Text,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The question shown in the portal.
    pub question: Text,
    pub kind: AnswerKind,
    /// The expected answer: a host reference (`inet/pc-net02`) for `host`
    /// and `address`, otherwise the literal value.
    pub expect: String,
}

/// Kinds of automatic check.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// HTTP status (and optionally body hash) of a URL on `target`.
    Http,
    /// A port on `target` is open from `from`.
    PortOpen,
    /// A port on `target` is closed from `from`.
    PortClosed,
    /// A file (or glob) exists on `target`.
    FilePresent,
    /// No file matches `path` on `target`.
    FileAbsent,
    /// The file at `path` on `target` has hash `sha256` (or the golden copy).
    FileHash,
    /// No process named `name` runs on `target`.
    ProcessAbsent,
    /// Beacons from `target` reached `to` after the beacon inject fired, and none came for `window`, while `target` stays up.
    NoBeacon,
    /// Account `name` on `target` is disabled or its password changed (on
    /// a directory: the domain account is disabled, `userAccountControl`,
    /// or removed).
    AccountDisabled,
    /// Domain account `name` on `target` (a directory host) had its
    /// password set after the objective's inject fired (`pwdLastSet`).
    PasswordChanged,
    /// Domain account `name` on `target` (a directory host) is not a
    /// member of `group` (removed from it, or the account removed).
    NotInGroup,
    /// The files under `path` on `target` (by default its role's data)
    /// equal its backup's: every file back with its hash, no `*.locked`
    /// file or ransom note left.
    Restored,
    /// `command` run on `target` (or on `from`) meets `expect`: run by
    /// bash as the container's root with the container's capabilities,
    /// `$1` the target's address, stopped after 15 s; its output is judged
    /// by the engine. A host trainees have root on (the analyst
    /// workstation) can make it print anything: judge from elsewhere.
    Command,
}

impl CheckKind {
    /// Every kind, in declaration order.
    pub const ALL: [CheckKind; 13] = [
        CheckKind::Http,
        CheckKind::PortOpen,
        CheckKind::PortClosed,
        CheckKind::FilePresent,
        CheckKind::FileAbsent,
        CheckKind::FileHash,
        CheckKind::ProcessAbsent,
        CheckKind::NoBeacon,
        CheckKind::AccountDisabled,
        CheckKind::PasswordChanged,
        CheckKind::NotInGroup,
        CheckKind::Restored,
        CheckKind::Command,
    ];

    /// The name a scenario and the event log use, e.g. `no_beacon` (what
    /// serde writes).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "http",
            CheckKind::PortOpen => "port_open",
            CheckKind::PortClosed => "port_closed",
            CheckKind::FilePresent => "file_present",
            CheckKind::FileAbsent => "file_absent",
            CheckKind::FileHash => "file_hash",
            CheckKind::ProcessAbsent => "process_absent",
            CheckKind::NoBeacon => "no_beacon",
            CheckKind::AccountDisabled => "account_disabled",
            CheckKind::PasswordChanged => "password_changed",
            CheckKind::NotInGroup => "not_in_group",
            CheckKind::Restored => "restored",
            CheckKind::Command => "command",
        }
    }

    /// The kind named `name` (the inverse of [`CheckKind::as_str`]).
    pub fn from_name(name: &str) -> Option<CheckKind> {
        CheckKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for CheckKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub kind: CheckKind,
    /// Host the check looks at (`segment/host`).
    pub target: String,
    /// Vantage point for port checks (`segment/host`), default the scorer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Peer for `no_beacon` (e.g. the C2 host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSpec>,
    /// URL path for `http`, file path or glob for file checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Expected HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Expected SHA-256 of the body or file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Compare with the golden copy an inject (`deface`) kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden: Option<String>,
    /// Process or account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The directory group `not_in_group` judges membership of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Quiet window for `no_beacon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// The shell command a `command` check runs (bash; `$1` is the
    /// target's address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// What a `command` check's command must do (default: exit 0).
    // Boxed: few checks have one, and every check would carry its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Box<CommandExpect>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReportEvidence {
    /// The form (by id) the team must submit.
    pub form: String,
    /// Field values that must match ground truth, e.g. `category: malware`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Judged {
    pub rubric: Vec<RubricItem>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RubricItem {
    pub criterion: Text,
    pub points: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hint {
    pub text: Text,
    /// Points taken off the objective when the hint is taken.
    pub penalty: u32,
}

/// Which report in the chain a form is.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// 第一報.
    First,
    /// 続報.
    FollowUp,
    /// 確報.
    Final,
}

/// An incident report form.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub id: String,
    pub kind: ReportKind,
    pub title: Text,
    pub fields: Vec<FormField>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    LongText,
    Choice,
    MultiChoice,
    Datetime,
    Bool,
    Number,
    /// One host of the range.
    Host,
    /// Several hosts of the range.
    Hosts,
    /// Segments of the range.
    Segments,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    pub name: String,
    pub label: Text,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Allowed values for `choice` and `multi_choice`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// The `{{segment/host}}` references in a message text, which the planner
/// replaces with the team's addresses.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        found.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    found
}

/// Replace `{{reference}}` with its resolved value.
pub fn fill_placeholders(text: &str, resolved: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        let reference = after[..end].trim();
        match resolved.get(reference) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The team's mail (`mail:` in a scenario): mail for `domain` enters at
/// the first relay, is forwarded hop by hop (each relay's next hop is the
/// next relay, the last relay's the mailbox host) and is delivered to
/// `user`'s mailbox, which the analyst workstation reads over IMAP.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TeamMail {
    /// The team's mail domain.
    #[serde(default = "default_mail_domain")]
    pub domain: String,
    /// The host of the team's mailbox (`segment/host`, image `mail`).
    pub mailbox: String,
    /// The mailbox user that mail to the team goes to (`team` or `staff`,
    /// the accounts of the mail image).
    #[serde(default = "default_mail_user")]
    pub user: String,
    /// The relays mail passes from the outside to the mailbox, in order
    /// (`segment/host`, each of image `mail`), e.g. the security cloud's
    /// relay, the internet mail server and the sanitiser. Empty: mail goes
    /// straight to the mailbox host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relays: Vec<String>,
    /// The host the SOC's mail is sent from (`segment/host`); by default
    /// the first relay (the mailbox host when there is none). Not the
    /// analyst workstation, where the team is root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc_sender: Option<String>,
    /// The SOC's mail address (`From` of its messages); by default
    /// `soc@` the team's domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soc_address: Option<String>,
}

/// The default team mail domain: さいだ市's.
pub const DEFAULT_MAIL_DOMAIN: &str = "city.saida.lg.jp";

fn default_mail_domain() -> String {
    DEFAULT_MAIL_DOMAIN.to_string()
}

fn default_mail_user() -> String {
    "team".to_string()
}

impl TeamMail {
    /// Where mail to the team is addressed: `user@domain`.
    pub fn recipient(&self) -> String {
        format!("{}@{}", self.user, self.domain)
    }

    /// The SOC's `From` address.
    pub fn soc_address(&self) -> String {
        self.soc_address
            .clone()
            .unwrap_or_else(|| format!("soc@{}", self.domain))
    }

    /// The host mail enters at: the first relay, or the mailbox host.
    pub fn entry(&self) -> &str {
        self.relays.first().unwrap_or(&self.mailbox)
    }

    /// The host the SOC sends from: `soc_sender`, else the entry host.
    pub fn soc_sender(&self) -> &str {
        self.soc_sender.as_deref().unwrap_or(self.entry())
    }

    /// The hops mail takes from the entry host on: every relay, then the
    /// mailbox host.
    pub fn chain(&self) -> Vec<&str> {
        self.relays
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(self.mailbox.as_str()))
            .collect()
    }
}

/// A mail an inject sends from its target host into the team's mailbox
/// (`action: {mail: ...}`), e.g. a phishing mail. It enters at the first
/// relay and leaves a line in every relay's mail log on its way.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    /// The `From` header, e.g. `"総務課 <soumu@clty-saida.example>"`; its
    /// address is also the envelope sender.
    pub from: String,
    /// Whose mailbox it goes to, when not the team's: a user's mailbox on
    /// a relay of the chain (e.g. a staff member's internet mail on
    /// `inet/imail`) or on the mailbox host. The mail takes the chain up to
    /// that host, which keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<MailTo>,
    /// Subject (Japanese if given, else English); may use `{{segment/host}}`.
    pub subject: Text,
    /// Body text (Japanese if given, else English); may use `{{segment/host}}`.
    pub body: Text,
    /// A file attached to the mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<MailAttachment>,
}

/// A `mail` inject's recipient other than the team: `user` (an account of
/// the mail image, `team` or `staff`) at `host` (`segment/host`, a relay of
/// the scenario's `mail` chain or its mailbox host).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MailTo {
    pub host: String,
    pub user: String,
}

/// A file attached to a `mail` inject's mail.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MailAttachment {
    /// File name, e.g. `請求書.docm`.
    pub name: String,
    /// The file's content (text; harmless, like every artefact).
    pub content: String,
}

impl Text {
    /// Japanese if present, else English (a mail is in one language).
    pub fn japanese_or_any(&self) -> &str {
        self.ja
            .as_deref()
            .filter(|text| !text.is_empty())
            .or(self.en.as_deref())
            .unwrap_or("")
    }
}

/// What a host of image `backup` keeps: offline copies of other hosts'
/// data (their role's data paths, e.g. a file server's share), taken by
/// `enshu up` when the range is built, with a manifest of SHA-256 hashes.
/// Injects never reach a backup host; the team restores from it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// The hosts backed up (`segment/host`), e.g. `lgwan/fs01`.
    pub of: Vec<String>,
}

/// What a `command` check's command must do; every condition given must
/// hold. The output is its stdout followed by its stderr.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommandExpect {
    /// Exit status (0-255); checked when given, or when no output
    /// condition is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i64>,
    /// Text the output must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_contains: Option<String>,
    /// A regular expression (Rust `regex` syntax) some part of the output
    /// must match, e.g. `nginx/1\.2[2-9]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_matches: Option<String>,
}

/// Central logging: every host of the team's range forwards its logs
/// (auth, services, and the lines log artefacts append) to each collector,
/// over TCP with a spool, keeping its host name and time; the team's router
/// sends its firewall log and flow records there too.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// The syslog hosts (`segment/host`, image `syslog`) that collect the
    /// logs, e.g. `[lgwan/log01, seccloud/sc-soc]`. Every host of the team's
    /// range must reach each of them on `tcp/514` (a flow, or the same
    /// segment).
    pub collectors: Vec<String>,
}

/// The TCP port logs are forwarded to (rsyslog, spooled).
pub const LOG_PORT: u16 = 514;
