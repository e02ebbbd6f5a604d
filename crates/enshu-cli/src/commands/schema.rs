//! `enshu schema`: the JSON Schema that `scenarios/schema.json` holds.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    print!("{}", enshu_scenario::schema::scenario_schema_json());
    Ok(ExitCode::SUCCESS)
}
