//! The JSON Schema (draft-07) editors use to complete and check scenarios.
//!
//! Generated from the model so it can never drift from what the parser
//! accepts; `scenarios/schema.json` is checked in and a test fails when it
//! is stale.

use schemars::generate::SchemaSettings;

use crate::model::Scenario;

/// The schema as pretty-printed JSON with a trailing newline.
pub fn scenario_schema_json() -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Scenario>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
