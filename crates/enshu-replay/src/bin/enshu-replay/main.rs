//! `enshu-replay`: replays a capture into one team's range from inside its
//! network namespace. `main` parses, runs and picks the exit code: 0 when
//! the replay finished, 3 when the egress guard refused a packet (nothing
//! was sent), 1 for any other failure.

#![forbid(unsafe_code)]

mod args;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use enshu_replay::{PrepareError, ReplayError, ReplayReport, ReplayRequest, SenderOptions};

use args::{Args, OutputFormat};

const EXIT_REFUSED: u8 = 3;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            match args.output {
                OutputFormat::Text => print!("{report}"),
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serialises")
                ),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            let refused = matches!(
                error.downcast_ref::<ReplayError>(),
                Some(ReplayError::Prepare(PrepareError::Refused { .. }))
            );
            eprintln!("enshu-replay: {error:#}");
            if args.output == OutputFormat::Json {
                println!(
                    "{}",
                    serde_json::json!({ "error": format!("{error:#}"), "refused": refused })
                );
            }
            ExitCode::from(if refused { EXIT_REFUSED } else { 1 })
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ReplayReport> {
    let capture = std::fs::read(&args.capture)
        .with_context(|| format!("reading capture {}", args.capture.display()))?;
    let guard = args.guard()?;
    let request = ReplayRequest {
        capture: &capture,
        map: args.rewrite_map()?,
        timing: args.timing(),
        loops: args.loops,
        interface: &args.interface,
        guard: &guard,
        next_hop_mac: args.next_hop_mac,
        refusal_policy: args.refusal_policy(),
        sender: SenderOptions {
            batch_size: args.batch_size,
            qdisc_bypass: args.qdisc_bypass,
            tx_ring: !args.sendmmsg,
            ..SenderOptions::default()
        },
        max_duration: args.max_duration()?,
        realtime: args.realtime,
        threads: args.threads.map(usize::from).unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            if matches!(args.timing(), enshu_replay::Timing::TopSpeed) {
                cores.min(2)
            } else {
                1
            }
        }),
    };
    enshu_replay::replay(request).with_context(|| format!("replaying {}", args.capture.display()))
}
