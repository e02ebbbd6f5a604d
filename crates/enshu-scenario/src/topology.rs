//! Name resolution over a scenario's network: host references
//! (`segment/host`), selectors (`segment/pc-*`, `segment/*`, `*`) and
//! spelling suggestions. Shared by the validator and the planner.

use crate::model::{Host, ImageRole, OneOrMany, Protocol, Scenario, Segment};

/// Index of a scenario's segments and hosts by name.
pub struct Topology<'a> {
    pub scenario: &'a Scenario,
}

/// What a `segment/host` or `segment` reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Host(&'a Host),
    Segment(&'a Segment),
}

impl<'a> Topology<'a> {
    pub fn new(scenario: &'a Scenario) -> Topology<'a> {
        Topology { scenario }
    }

    pub fn segment(&self, name: &str) -> Option<&'a Segment> {
        self.scenario
            .segments
            .iter()
            .find(|segment| segment.name == name)
    }

    pub fn host(&self, name: &str) -> Option<&'a Host> {
        self.scenario.hosts.iter().find(|host| host.name == name)
    }

    /// Resolve `segment/host` to a host, explaining what is wrong otherwise.
    pub fn host_ref(&self, reference: &str) -> Result<&'a Host, String> {
        let Some((segment_name, host_name)) = reference.split_once('/') else {
            return Err(match self.host(reference) {
                Some(host) => format!(
                    "host reference {reference:?} must name its segment: {}/{}",
                    host.segment, host.name
                ),
                None => format!(
                    "{reference:?} is not a host reference (write segment/host, e.g. inet/pc-net02)"
                ),
            });
        };
        if self.segment(segment_name).is_none() {
            return Err(format!(
                "unknown segment {segment_name:?} in {reference:?}{}",
                self.suggest_segment(segment_name)
            ));
        }
        match self.host(host_name) {
            Some(host) if host.segment == segment_name => Ok(host),
            Some(host) => Err(format!(
                "host {host_name:?} is in segment {:?}, not {segment_name:?} (write {}/{host_name})",
                host.segment, host.segment
            )),
            None => Err(format!(
                "unknown host {host_name:?} in {reference:?}{}",
                self.suggest_host(host_name)
            )),
        }
    }

    /// Resolve a `segment/host` or a bare `segment`.
    pub fn target_ref(&self, reference: &str) -> Result<Target<'a>, String> {
        if reference.contains('/') {
            return self.host_ref(reference).map(Target::Host);
        }
        match self.segment(reference) {
            Some(segment) => Ok(Target::Segment(segment)),
            None => Err(format!(
                "unknown segment or host reference {reference:?}{}",
                self.suggest_segment(reference)
            )),
        }
    }

    /// The hosts a flow selector matches: `*`, `segment`, `segment/*`,
    /// `segment/pattern*` or `segment/host`.
    pub fn select(&self, selector: &str) -> Result<Vec<&'a Host>, String> {
        if selector == "*" {
            return Ok(self.scenario.hosts.iter().collect());
        }
        let (segment_name, pattern) = selector.split_once('/').unwrap_or((selector, "*"));
        if self.segment(segment_name).is_none() {
            return Err(format!(
                "unknown segment {segment_name:?} in selector {selector:?}{}",
                self.suggest_segment(segment_name)
            ));
        }
        Ok(self
            .scenario
            .hosts
            .iter()
            .filter(|host| host.segment == segment_name && glob_match(pattern, &host.name))
            .collect())
    }

    /// Whether a selector covers a whole segment (so new hosts are included).
    pub fn selects_whole_segment(selector: &str) -> Option<&str> {
        match selector.split_once('/') {
            Some((segment, "*")) => Some(segment),
            None if selector != "*" => Some(selector),
            _ => None,
        }
    }

    /// Whether `from` can open a `protocol` connection to `to` on `port`:
    /// hosts in one segment reach each other directly (one bridge), others
    /// only through a flow of the team's router that allows it.
    pub fn reaches(&self, from: &Host, to: &Host, protocol: Protocol, port: u16) -> bool {
        if from.segment == to.segment {
            return true;
        }
        let selects = |selectors: &OneOrMany<String>, host: &Host| {
            selectors.as_slice().iter().any(|selector| {
                self.select(selector)
                    .is_ok_and(|hosts| hosts.iter().any(|selected| selected.name == host.name))
            })
        };
        self.scenario.flows.iter().any(|flow| {
            let allowed = flow
                .ports
                .as_slice()
                .iter()
                .any(|spec| spec.allows(protocol, port));
            allowed
                && ((selects(&flow.from, from) && selects(&flow.to, to))
                    || (flow.bidirectional && selects(&flow.from, to) && selects(&flow.to, from)))
        })
    }

    pub fn suggest_segment(&self, name: &str) -> String {
        suggestion(
            name,
            self.scenario
                .segments
                .iter()
                .map(|segment| segment.name.as_str()),
        )
    }

    /// Whether a host sits in the team's own range (not in a segment that
    /// stands for the outside world, see `SegmentRole::is_outside_team_range`).
    pub fn is_team_host(&self, host: &Host) -> bool {
        self.segment(&host.segment)
            .is_some_and(|segment| !segment.role.is_outside_team_range())
    }

    /// The analyst workstations of the team's own range, in order.
    pub fn analyst_workstations(&self) -> Vec<(usize, &'a Host)> {
        self.scenario
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, host)| host.image == ImageRole::Analyst && self.is_team_host(host))
            .collect()
    }

    /// The team's way-in host: the host `way_in` names, or else the range's
    /// one analyst workstation. `None` when there is no single answer (the
    /// validator says why).
    pub fn way_in_host(&self) -> Option<&'a Host> {
        match &self.scenario.way_in {
            Some(reference) => self.host_ref(reference).ok(),
            None => match self.analyst_workstations().as_slice() {
                [(_, host)] => Some(host),
                _ => None,
            },
        }
    }

    pub fn suggest_host(&self, name: &str) -> String {
        suggestion(
            name,
            self.scenario.hosts.iter().map(|host| host.name.as_str()),
        )
    }
}

impl Topology<'_> {
    /// Whether the scenario lets `source` open a TCP connection to `target`
    /// on `port` ([`Topology::reaches`] for TCP).
    pub fn allows_tcp(&self, source: &Host, target: &Host, port: u16) -> bool {
        self.reaches(source, target, Protocol::Tcp, port)
    }
}

/// ` (did you mean "x"?)` when a known name is close, else empty.
pub fn suggestion<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let best = known
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4) && *distance > 0)
        .min();
    match best {
        Some((_, candidate)) => format!(" (did you mean {candidate:?}?)"),
        None => String::new(),
    }
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right_chars: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right_chars.len()).collect();
    for (left_index, left_char) in left.chars().enumerate() {
        let mut current = vec![left_index + 1];
        for (right_index, right_char) in right_chars.iter().enumerate() {
            let substitution = previous[right_index] + usize::from(left_char != *right_char);
            current.push(
                substitution
                    .min(previous[right_index + 1] + 1)
                    .min(current[right_index] + 1),
            );
        }
        previous = current;
    }
    previous[right_chars.len()]
}

/// `*` matches any run of characters; everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut pattern_index, mut text_index) = (0, 0);
    let (mut star, mut star_text) = (None, 0);
    while text_index < text.len() {
        if pattern_index < pattern.len()
            && pattern[pattern_index] != '*'
            && pattern[pattern_index] == text[text_index]
        {
            pattern_index += 1;
            text_index += 1;
        } else if pattern_index < pattern.len() && pattern[pattern_index] == '*' {
            star = Some(pattern_index);
            star_text = text_index;
            pattern_index += 1;
        } else if let Some(star_index) = star {
            pattern_index = star_index + 1;
            star_text += 1;
            text_index = star_text;
        } else {
            return false;
        }
    }
    pattern[pattern_index..]
        .iter()
        .all(|character| *character == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_prefixes_and_literals() {
        assert!(glob_match("pc-*", "pc-net01"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("dc01", "dc01"));
        assert!(!glob_match("pc-*", "dc01"));
        assert!(glob_match("*-01", "fs-01"));
        assert!(!glob_match("dc0", "dc01"));
    }

    #[test]
    fn suggestions_find_close_names_only() {
        let names = ["lgwan", "inet", "mynumber"];
        assert_eq!(
            suggestion("lgwn", names.into_iter()),
            " (did you mean \"lgwan\"?)"
        );
        assert_eq!(suggestion("zzzzzz", names.into_iter()), "");
    }
}
