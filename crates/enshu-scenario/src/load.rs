//! Reading a scenario: hostile-input limits, YAML parsing and template layers.
//!
//! Scenario files come from exercise authors, but a range operator may also
//! load files from elsewhere, so parsing is bounded: file size, nesting
//! depth, alias expansion and node count all have limits, and every failure
//! is a [`Diagnostic`], never a panic.

use std::collections::HashMap;

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{Background, Directory, Flow, Host, Logging, Scenario, Segment};
use crate::sensor::Sensor;
use crate::source::{Location, Source};
use crate::templates;

/// Largest scenario file accepted (scenarios are a few hundred lines).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest YAML nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Most `extends` layers followed.
const MAX_TEMPLATE_DEPTH: usize = 4;

/// A scenario with its template layers merged, and where each part came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// The scenario file first, then each template layer.
    pub sources: Vec<Source>,
    /// Merged `segments[i]`, `hosts[i]`, `flows[i]` → (source index, path there).
    origins: HashMap<String, (usize, String)>,
}

impl LoadedScenario {
    /// The source and the path within it for a path in the merged scenario.
    pub fn resolve<'a>(&'a self, path: &str) -> (&'a Source, String) {
        let (prefix, rest) = split_item_path(path);
        if let Some(prefix) = prefix
            && let Some((source_index, original)) = self.origins.get(prefix)
        {
            return (&self.sources[*source_index], format!("{original}{rest}"));
        }
        (&self.sources[0], path.to_string())
    }

    /// A diagnostic at a merged path.
    pub fn diagnostic(
        &self,
        path: &str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (source, original) = self.resolve(path);
        let location = source.locate(&original);
        Diagnostic::at_location(source, location, path, severity, message)
    }

    /// Whether the item at a merged path comes from a built-in template.
    pub fn from_template(&self, path: &str) -> bool {
        let (prefix, _) = split_item_path(path);
        prefix
            .and_then(|prefix| self.origins.get(prefix))
            .is_some_and(|(index, _)| *index != 0)
    }

    /// The scenario file's own source.
    pub fn main_source(&self) -> &Source {
        &self.sources[0]
    }
}

/// `hosts[3].segment` → (`Some("hosts[3]")`, `.segment`).
fn split_item_path(path: &str) -> (Option<&str>, &str) {
    // Blocks a template may hold as a whole.
    for block in ["logging", "directory", "sensor", "background"] {
        if let Some(rest) = path.strip_prefix(block)
            && (rest.is_empty() || rest.starts_with('.'))
        {
            return (Some(block), rest);
        }
    }
    for list in ["segments[", "hosts[", "flows["] {
        if path.starts_with(list)
            && let Some(close) = path.find(']')
        {
            return (Some(&path[..=close]), &path[close + 1..]);
        }
    }
    (None, path)
}

/// Parser options with Enshu's hostile-input limits.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: 100_000,
            max_events: 400_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_total_scalar_bytes: MAX_FILE_BYTES,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 20_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 100,
        },
    }
}

/// The text with YAML's three line breaks (`\r\n`, a lone `\r`, `\n`)
/// as `\n`: YAML counts a lone `\r` as a line break (and so does an
/// editor), so a diagnostic's line number and the line it quotes are
/// counted the same way; scalars are unchanged, YAML reads each break in
/// them as `\n` already.
fn one_line_break(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Read a scenario from bytes: every problem found while reading is
/// returned; an `Err` means nothing could be validated further.
pub fn load(file_name: &str, bytes: &[u8]) -> Result<LoadedScenario, Vec<Diagnostic>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![Diagnostic::whole_file(
            file_name,
            format!(
                "file is {} bytes; scenarios are limited to {MAX_FILE_BYTES} bytes",
                bytes.len()
            ),
        )]);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            // Lines counted as YAML counts them (see `one_line_break`).
            let breaks = valid
                .iter()
                .enumerate()
                .filter(|(at, byte)| {
                    **byte == b'\n' || (**byte == b'\r' && valid.get(at + 1) != Some(&b'\n'))
                })
                .count();
            let line = breaks as u32 + 1;
            let line_start = valid
                .iter()
                .rposition(|byte| *byte == b'\n' || *byte == b'\r')
                .map_or(0, |position| position + 1);
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count() as u32
                + 1;
            return Err(vec![Diagnostic {
                severity: Severity::Error,
                file: file_name.to_string(),
                line,
                column,
                path: String::new(),
                message: format!(
                    "file is not valid UTF-8 (byte offset {})",
                    error.valid_up_to()
                ),
                source_line: None,
            }]);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let main_source = Source::new(file_name, one_line_break(text), yaml_options());
    if let Some(tab) = find_indentation_tab(&main_source) {
        return Err(vec![tab]);
    }
    // Structural problems (bad YAML, budgets exceeded) first: they are found
    // without knowing the scenario's fields.
    if let Some((location, message)) = &main_source.index_error {
        return Err(vec![Diagnostic::at_location(
            &main_source,
            *location,
            "",
            Severity::Error,
            message.clone(),
        )]);
    }
    let main_layer: Scenario = parse_layer(&main_source)?;
    let mut sources = vec![main_source];
    let mut layers: Vec<(usize, Layer)> = vec![(0, Layer::from_scenario(&main_layer))];

    // Follow `extends` through the built-in templates.
    let mut next_template = main_layer.extends.clone();
    let mut extends_path = "extends".to_string();
    let mut extends_source_index = 0;
    while let Some(template_name) = next_template.take() {
        if layers.len() > MAX_TEMPLATE_DEPTH {
            return Err(vec![Diagnostic::at(
                &sources[extends_source_index],
                &extends_path,
                Severity::Error,
                format!("templates extend each other more than {MAX_TEMPLATE_DEPTH} deep"),
            )]);
        }
        let Some(template_text) = templates::text(&template_name) else {
            return Err(vec![Diagnostic::at(
                &sources[extends_source_index],
                &extends_path,
                Severity::Error,
                format!(
                    "unknown template {template_name:?} (known: {})",
                    templates::NAMES.join(", ")
                ),
            )]);
        };
        let template_source = Source::new(
            format!("<template {template_name}>"),
            template_text,
            yaml_options(),
        );
        let template: Layer = parse_layer(&template_source)?;
        next_template = template.extends.clone();
        extends_path = "extends".to_string();
        sources.push(template_source);
        extends_source_index = sources.len() - 1;
        layers.push((extends_source_index, template));
    }

    // Merge from the bottom layer up: later layers replace same-named items.
    let mut segments: Vec<(Segment, usize, String)> = Vec::new();
    let mut hosts: Vec<(Host, usize, String)> = Vec::new();
    let mut flows: Vec<(Flow, usize, String)> = Vec::new();
    let mut logging: Option<(Logging, usize)> = None;
    let mut directory: Option<(Directory, usize)> = None;
    let mut sensor: Option<(Sensor, usize)> = None;
    let mut background: Option<(Background, usize)> = None;
    for (source_index, layer) in layers.iter().rev() {
        for name in &layer.omit_hosts {
            hosts.retain(|(host, _, _)| &host.name != name);
        }
        for (index, segment) in layer.segments.iter().enumerate() {
            let item = (segment.clone(), *source_index, format!("segments[{index}]"));
            match segments.iter_mut().find(|(existing, existing_source, _)| {
                existing.name == segment.name && existing_source != source_index
            }) {
                Some(slot) => *slot = item,
                None => segments.push(item),
            }
        }
        for (index, host) in layer.hosts.iter().enumerate() {
            let item = (host.clone(), *source_index, format!("hosts[{index}]"));
            // Within the scenario file itself a repeated name is a mistake
            // the validator reports; across layers it is an override.
            match hosts.iter_mut().find(|(existing, existing_source, _)| {
                existing.name == host.name && existing_source != source_index
            }) {
                Some(slot) => *slot = item,
                None => hosts.push(item),
            }
        }
        for (index, flow) in layer.flows.iter().enumerate() {
            flows.push((flow.clone(), *source_index, format!("flows[{index}]")));
        }
        // A higher layer's block replaces a lower one's as a whole.
        if let Some(block) = &layer.logging {
            logging = Some((block.clone(), *source_index));
        }
        if let Some(block) = &layer.directory {
            directory = Some((block.clone(), *source_index));
        }
        if let Some(block) = &layer.sensor {
            sensor = Some((block.clone(), *source_index));
        }
        if let Some(block) = &layer.background {
            background = Some((*block, *source_index));
        }
    }
    let mut origins = HashMap::new();
    let mut scenario = main_layer;
    scenario.segments = Vec::new();
    scenario.hosts = Vec::new();
    scenario.flows = Vec::new();
    for (index, (segment, source_index, path)) in segments.into_iter().enumerate() {
        origins.insert(format!("segments[{index}]"), (source_index, path));
        scenario.segments.push(segment);
    }
    for (index, (host, source_index, path)) in hosts.into_iter().enumerate() {
        origins.insert(format!("hosts[{index}]"), (source_index, path));
        scenario.hosts.push(host);
    }
    for (index, (flow, source_index, path)) in flows.into_iter().enumerate() {
        origins.insert(format!("flows[{index}]"), (source_index, path));
        scenario.flows.push(flow);
    }
    scenario.logging = logging.map(|(block, source_index)| {
        origins.insert("logging".to_string(), (source_index, "logging".to_string()));
        block
    });
    scenario.directory = directory.map(|(block, source_index)| {
        origins.insert(
            "directory".to_string(),
            (source_index, "directory".to_string()),
        );
        block
    });
    scenario.sensor = sensor.map(|(block, source_index)| {
        origins.insert("sensor".to_string(), (source_index, "sensor".to_string()));
        block
    });
    scenario.background = background.map(|(block, source_index)| {
        origins.insert(
            "background".to_string(),
            (source_index, "background".to_string()),
        );
        block
    });
    Ok(LoadedScenario {
        scenario,
        sources,
        origins,
    })
}

/// The network part of a scenario, which is also what a template holds.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Layer {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    omit_hosts: Vec<String>,
    #[serde(default)]
    segments: Vec<Segment>,
    #[serde(default)]
    hosts: Vec<Host>,
    #[serde(default)]
    flows: Vec<Flow>,
    #[serde(default)]
    logging: Option<Logging>,
    #[serde(default)]
    directory: Option<Directory>,
    sensor: Option<Sensor>,
    background: Option<Background>,
}

impl Layer {
    fn from_scenario(scenario: &Scenario) -> Layer {
        Layer {
            extends: scenario.extends.clone(),
            omit_hosts: scenario.omit_hosts.clone(),
            segments: scenario.segments.clone(),
            hosts: scenario.hosts.clone(),
            flows: scenario.flows.clone(),
            logging: scenario.logging.clone(),
            directory: scenario.directory.clone(),
            sensor: scenario.sensor.clone(),
            background: scenario.background,
        }
    }
}

fn parse_layer<T: for<'de> Deserialize<'de>>(source: &Source) -> Result<T, Vec<Diagnostic>> {
    serde_saphyr::from_str_with_options::<T>(&source.text, yaml_options())
        .map_err(|error| vec![yaml_error(source, &error)])
}

/// Turn a serde-saphyr error into a diagnostic at its location.
fn yaml_error(source: &Source, error: &serde_saphyr::Error) -> Diagnostic {
    let (location, message) = crate::source::describe_yaml_error(error);
    Diagnostic::at_location(source, location, "", Severity::Error, message)
}

/// YAML forbids tabs in indentation; say so plainly instead of a parser
/// error about an unexpected character.
fn find_indentation_tab(source: &Source) -> Option<Diagnostic> {
    for (index, line) in source.text.lines().enumerate() {
        let indentation: &str = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        if let Some(column) = indentation.find('\t') {
            let location = Location {
                line: index as u32 + 1,
                column: column as u32 + 1,
            };
            return Some(Diagnostic::at_location(
                source,
                location,
                "",
                Severity::Error,
                "tab character in indentation; YAML indents with spaces only",
            ));
        }
    }
    None
}
