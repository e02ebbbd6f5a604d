//! Source text and the map from field paths to line and column.
//!
//! The model types carry no spans, so that they stay plain values. Instead the
//! YAML is read a second time into a tree of spanned nodes, and every node's
//! field path (`hosts[3].segment`) is recorded with its location. Validation
//! names paths; this map turns them into `file:line:col`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML document with its name and a path → location index.
#[derive(Debug, Clone)]
pub struct Source {
    /// File name as the user gave it (or `<template municipal-beta>`).
    pub name: String,
    pub text: String,
    locations: HashMap<String, Location>,
    /// Why the text could not be indexed: not YAML, or over a budget.
    pub index_error: Option<(Location, String)>,
}

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl Source {
    /// Index `text`; if it cannot be indexed (it is not valid YAML) the map is
    /// empty and parsing reports the error itself.
    pub fn new(
        name: impl Into<String>,
        text: impl Into<String>,
        options: serde_saphyr::Options,
    ) -> Source {
        let text = text.into();
        let mut locations = HashMap::new();
        let index_error = match serde_saphyr::from_str_with_options::<Spanned<Node>>(&text, options)
        {
            Ok(root) => {
                index_node(&root, String::new(), &mut locations);
                None
            }
            Err(error) => Some(describe_yaml_error(&error)),
        };
        Source {
            name: name.into(),
            text,
            locations,
            index_error,
        }
    }

    /// The location of `path`, or of its nearest recorded ancestor.
    pub fn locate(&self, path: &str) -> Location {
        let mut candidate = path;
        loop {
            if let Some(location) = self.locations.get(candidate) {
                return *location;
            }
            match parent_path(candidate) {
                Some(parent) => candidate = parent,
                None => return Location { line: 1, column: 1 },
            }
        }
    }

    /// Whether `path` itself (not an ancestor) was written in the file.
    pub fn has(&self, path: &str) -> bool {
        self.locations.contains_key(path)
    }

    /// The text of 1-based line `line`.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)? as usize)
    }
}

fn parent_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

fn index_node(node: &Spanned<Node>, path: String, locations: &mut HashMap<String, Location>) {
    let location = Location {
        line: node.referenced.line() as u32,
        column: node.referenced.column() as u32,
    };
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                let child = if path.is_empty() {
                    key.value.clone()
                } else {
                    format!("{path}.{}", key.value)
                };
                index_node(value, child, locations);
            }
        }
        Node::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                index_node(item, format!("{path}[{index}]"), locations);
            }
        }
        Node::Scalar => {}
    }
    // A map key's value is located at the value; for a scalar this is the
    // value itself, which is what an error about it should point at.
    locations.entry(path).or_insert(location);
}

/// A YAML node reduced to its shape; scalars are not kept.
#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = access.next_key::<Spanned<KeyText>>()? {
            let value = access.next_value::<Spanned<Node>>()?;
            entries.push((
                Spanned::new(key.value.0, key.referenced, key.defined),
                value,
            ));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key rendered as text whatever its YAML type (`10.0.0.5`, `80`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<KeyText, E> {
                Ok(KeyText(value.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("~".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// Where a serde-saphyr error is, and its message alone (the snippet is
/// rendered by [`crate::Diagnostic`] itself).
pub fn describe_yaml_error(error: &serde_saphyr::Error) -> (Location, String) {
    let location = error
        .location()
        .map(|location| Location {
            line: location.line() as u32,
            column: location.column() as u32,
        })
        .filter(|location| location.line > 0)
        .unwrap_or(Location { line: 1, column: 1 });
    (
        location,
        clean_yaml_message(&error.without_snippet().to_string()),
    )
}

/// serde-saphyr messages may end with " at line X column Y"; the location is
/// already in the headline. Diagnostics start lower case.
fn clean_yaml_message(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    let trimmed = match first_line.rfind(" at line ") {
        Some(position) => &first_line[..position],
        None => first_line,
    };
    let trimmed = trimmed.trim_end_matches('.');
    let mut characters = trimmed.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().collect::<String>() + characters.as_str(),
        None => "invalid YAML".to_string(),
    }
}
