//! `enshu verify --session NAME`: the reachability matrix. Every declared
//! flow must pass; other teams, the host machine and the outside must not
//! be reachable over TCP, UDP or ICMP, no outside name may resolve, and no
//! range host may have an IPv6 address beyond link-local.

use std::process::ExitCode;

use enshu_controller::verify::{Outside, VerifyReport, probes_for};
use enshu_docker::OutsideStandIn;
use enshu_scenario::plan::Plan;

use super::Output;
use super::range;
use super::session_state::SessionState;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Containers probing at once.
    #[arg(long, default_value_t = PROBE_SOURCES_AT_ONCE)]
    concurrency: usize,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// How many containers run their probes at once. Each spends about one
/// probe timeout waiting for blocked probes and almost no CPU (a thread of
/// this process in the container's network namespace), so many wait side
/// by side, bounded by the process's socket budget (`host/probe.rs`):
/// eight Emotet teams have 224 sources, which took four timeouts at 64 and
/// take one at 256 (BENCHMARKS.md, issue 13). Where probes must run as a
/// command in the containers instead, this many execs run at once.
pub const PROBE_SOURCES_AT_ONCE: usize = 256;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = SessionState::load(&args.session)?.plan()?;
    range::require_root("verify")?;
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let report = verify_plan(&backend, &plan, args.concurrency).await?;
        super::session_state::record_verified(&args.session, report.ok())?;
        print_report(&report, args.output);
        if args.output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"ok": report.ok(), "seconds": report.seconds, "results": report.results}))?);
        }
        Ok(if report.ok() { ExitCode::SUCCESS } else { super::refused() })
    })
}

/// The canary port: nothing listens on it; a refusal proves the packet
/// arrived, which is all isolation needs to know.
const CANARY_PORT: u16 = 47_011;

pub async fn verify_plan<B: enshu_backend::Backend>(
    backend: &B,
    plan: &Plan,
    concurrency: usize,
) -> anyhow::Result<VerifyReport> {
    // A container with NET_ADMIN (the analyst's) can add an on-link route
    // to a host address; only the host guard stops that, and probing it
    // for real would make the host answer through its own uplink. So the
    // guard's presence is checked, not probed.
    if !enshu_docker::HostGuard::new().is_active().await? {
        return Err(super::Refused(
            "the host guard is not installed: range containers could reach this machine (run `enshu up` again to install it)".to_string(),
        )
        .into());
    }
    let host_addresses = enshu_docker::host_addresses();
    // Made after the host's addresses are read: its host side is not a
    // "host machine" target but the way out.
    let stand_in = match OutsideStandIn::create() {
        Ok(stand_in) => Some(stand_in),
        Err(error) => {
            eprintln!("warning: no outside address is probed: {error:#}");
            None
        }
    };
    let outside = Outside {
        host_addresses,
        canary_port: CANARY_PORT,
        outside: stand_in
            .iter()
            .map(|stand_in| (stand_in.address(), CANARY_PORT))
            .collect(),
    };
    let probes = probes_for(plan, &outside);
    let report = enshu_controller::verify(backend, probes, concurrency).await;
    drop(stand_in);
    Ok(report?)
}

pub fn print_report(report: &VerifyReport, output: Output) {
    if output != Output::Text {
        return;
    }
    let failures = report.failures();
    for failure in &failures {
        let probe = &failure.probe;
        let wanted = if probe.expect == enshu_controller::verify::Expect::Reachable {
            "must reach"
        } else {
            "must not reach"
        };
        println!(
            "FAIL team {} {} {wanted} {} ({}), got {:?}",
            probe.team,
            probe.from,
            probe.describe(),
            probe.reason,
            failure.outcome
        );
    }
    let unproven = report.unproven();
    if !unproven.is_empty() {
        let flows: std::collections::BTreeSet<&str> = unproven
            .iter()
            .map(|result| result.probe.reason.as_str())
            .collect();
        println!(
            "note: {} UDP probe(s) of declared flows got no answer ({}): a listener that never replies, such as syslog, looks like a drop, so their delivery is not proven",
            unproven.len(),
            flows.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    println!(
        "verify: {} probes, {} failed, {:.1}s — {}",
        report.results.len(),
        failures.len(),
        report.seconds,
        if failures.is_empty() {
            "isolation proven"
        } else {
            "NOT isolated: do not let trainees in"
        }
    );
}
