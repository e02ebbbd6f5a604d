//! `enshu man DIR` (hidden, for `make install`): the man pages of `enshu`
//! and every subcommand (`enshu.1`, `enshu-up.1`, …), generated from the
//! command line's own definition so they cannot drift from `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

#[derive(clap::Args)]
pub struct Args {
    /// Directory to write the pages to (created if missing).
    dir: PathBuf,
}

pub fn run<C: clap::CommandFactory>(args: Args) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    clap_mangen::generate_to(C::command(), &args.dir)
        .with_context(|| format!("writing the man pages to {}", args.dir.display()))?;
    Ok(ExitCode::SUCCESS)
}
