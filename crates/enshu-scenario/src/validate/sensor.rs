//! The network sensor: its host is an analyst workstation of the team's
//! range (the one host trainees are root on, where the copies are meant
//! for), and every segment it mirrors is one of the team's own, whose
//! interface name fits Linux's 15 characters.

use crate::model::*;
use crate::sensor::{INTERFACE_PREFIX, MAX_INTERFACE_NAME, interface_name};

use super::Checker;

impl Checker<'_> {
    pub(super) fn sensor(&mut self) {
        let Some(sensor) = &self.scenario.sensor else {
            return;
        };
        match self.topology.host_ref(&sensor.host) {
            Err(message) => self.error("sensor.host", message),
            Ok(host) if host.image != ImageRole::Analyst => self.error(
                "sensor.host",
                format!(
                    "{} is a {} host; the sensor's copies go to an analyst workstation (image: analyst){}",
                    sensor.host,
                    host.image.as_str(),
                    self.analyst_hint()
                ),
            ),
            Ok(_) if !self.is_team_reference(&sensor.host) => self.error(
                "sensor.host",
                format!(
                    "{} is outside the team's range; the sensor's host must be the team's analyst workstation{}",
                    sensor.host,
                    self.analyst_hint()
                ),
            ),
            Ok(_) => {}
        }
        let mirrored: Vec<(String, &Segment)> = match &sensor.segments {
            None => self
                .scenario
                .segments
                .iter()
                .filter(|segment| !segment.role.is_outside_team_range())
                .map(|segment| ("sensor".to_string(), segment))
                .collect(),
            Some(names) => {
                if names.is_empty() {
                    self.error(
                        "sensor.segments",
                        "name at least one segment, or leave `segments` out to mirror every segment of the team's range",
                    );
                }
                let mut mirrored = Vec::new();
                for (index, name) in names.iter().enumerate() {
                    let path = format!("sensor.segments[{index}]");
                    let Some(segment) = self.topology.segment(name) else {
                        self.error(
                            path,
                            format!(
                                "unknown segment {name:?}{}",
                                self.topology.suggest_segment(name)
                            ),
                        );
                        continue;
                    };
                    if segment.role.is_outside_team_range() {
                        self.error(
                            path,
                            format!(
                                "segment {name:?} (role {}) stands for the outside world, not the team's range; the sensor mirrors only the team's own segments",
                                serde_json::to_value(segment.role)
                                    .ok()
                                    .and_then(|role| role.as_str().map(str::to_string))
                                    .unwrap_or_default()
                            ),
                        );
                        continue;
                    }
                    if names[..index].contains(name) {
                        self.error(path, format!("segment {name:?} is named twice"));
                        continue;
                    }
                    mirrored.push((path, segment));
                }
                mirrored
            }
        };
        for (path, segment) in mirrored {
            let interface = interface_name(&segment.name);
            if interface.len() > MAX_INTERFACE_NAME {
                self.error(
                    path,
                    format!(
                        "segment {:?} would be mirrored to {interface:?}, longer than the {MAX_INTERFACE_NAME} characters an interface name may have; \
                         rename the segment to at most {} characters or leave it out of `sensor.segments`",
                        segment.name,
                        MAX_INTERFACE_NAME - INTERFACE_PREFIX.len()
                    ),
                );
            }
        }
    }

    fn is_team_reference(&self, reference: &str) -> bool {
        self.topology
            .host_ref(reference)
            .is_ok_and(|host| self.topology.is_team_host(host))
    }

    /// ` (the team's analyst workstation is lgwan/analyst)` when there is one.
    fn analyst_hint(&self) -> String {
        let names: Vec<String> = self
            .topology
            .analyst_workstations()
            .into_iter()
            .map(|(_, host)| format!("{}/{}", host.segment, host.name))
            .collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => format!(" (the team's analyst workstation is {one})"),
            many => format!(" (the team's analyst workstations: {})", many.join(", ")),
        }
    }
}
