//! `enshu completions SHELL`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    shell: clap_complete::Shell,
}

pub fn run<C: clap::CommandFactory>(args: Args) -> anyhow::Result<ExitCode> {
    let mut command = C::command();
    clap_complete::generate(args.shell, &mut command, "enshu", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
