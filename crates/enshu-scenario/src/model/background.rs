//! Staff in the background: how busy the team's staff workstations are
//! while the attack plays, so that its signals sit in ordinary noise.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Staff in the background: every staff workstation (image `workstation`)
/// of the team's range logs in, browses through the team's proxy, sends
/// and reads mail and opens the file shares, on a jittered schedule, using
/// only the hosts the flows let it reach inside the team's range. A
/// template may declare it; the scenario's own block replaces the
/// template's.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// How busy the staff are: `off` (the default), `low` (one action per
    /// workstation about every 60 s), `medium` (every 20 s) or `high`
    /// (every 5 s); each interval varies by ±50 %.
    #[serde(default)]
    pub level: BackgroundLevel,
}

/// How often each staff workstation acts. The rates are fixed here and in
/// the workstation's program (`images/workstation/rootfs/usr/local/bin/
/// enshu-background`), so no scenario can make the noise unbounded.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum BackgroundLevel {
    /// No background activity.
    #[default]
    Off,
    /// One action per workstation about every 60 s.
    Low,
    /// One action per workstation about every 20 s.
    Medium,
    /// One action per workstation about every 5 s.
    High,
}

impl BackgroundLevel {
    pub const ALL: [BackgroundLevel; 4] = [
        BackgroundLevel::Off,
        BackgroundLevel::Low,
        BackgroundLevel::Medium,
        BackgroundLevel::High,
    ];

    /// The name the scenario and the workstation's program use.
    pub fn as_str(self) -> &'static str {
        match self {
            BackgroundLevel::Off => "off",
            BackgroundLevel::Low => "low",
            BackgroundLevel::Medium => "medium",
            BackgroundLevel::High => "high",
        }
    }

    /// The mean seconds between two actions of one workstation (`None`
    /// when off); each wait is drawn from half to one and a half times it.
    pub fn mean_interval_seconds(self) -> Option<u32> {
        match self {
            BackgroundLevel::Off => None,
            BackgroundLevel::Low => Some(60),
            BackgroundLevel::Medium => Some(20),
            BackgroundLevel::High => Some(5),
        }
    }
}

impl Background {
    /// The level a scenario's block asks for (`off` without one).
    pub fn level_of(block: Option<&Background>) -> BackgroundLevel {
        block.map(|block| block.level).unwrap_or_default()
    }
}
