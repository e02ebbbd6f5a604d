//! Command-line arguments and their conversion into a replay request.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Parser, ValueEnum};
use enshu_pcap::{EgressGuard, Ipv4Network, MacAddress, RewriteMap, Timing};
use enshu_replay::{RefusalPolicy, map_entries_from_json, rewrite_map_from_entries};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Replay a capture into one team's range over a raw socket. Every frame is
/// rewritten into the team's addresses and checked against --allow before
/// anything is sent.
#[derive(Debug, Parser)]
#[command(name = "enshu-replay", version)]
#[command(group(ArgGroup::new("pace").args(["speed", "pps", "topspeed"])))]
pub struct Args {
    /// Interface to send on, in the current network namespace.
    #[arg(long, short = 'i')]
    pub interface: String,
    /// Capture file (pcap or pcapng, detected by magic number).
    #[arg(long, short = 'c')]
    pub capture: PathBuf,
    /// Address or subnet mapping FROM=TO, e.g. 192.168.1.5=10.64.30.102 or
    /// 192.168.1.0/24=10.64.30.0/24 (repeatable).
    #[arg(long = "map", value_name = "FROM=TO")]
    pub maps: Vec<String>,
    /// JSON file with an object of "FROM": "TO" entries (added to --map).
    #[arg(long, value_name = "FILE")]
    pub map_file: Option<PathBuf>,
    /// Network the replay may reach (repeatable, required): no frame with an
    /// address outside these networks is ever sent.
    #[arg(long = "allow", value_name = "CIDR", required = true)]
    pub allow: Vec<Ipv4Network>,
    /// Destination MAC of every frame (the next hop); broadcast if absent.
    #[arg(long, value_name = "MAC")]
    pub next_hop_mac: Option<MacAddress>,
    /// Replay the recorded gaps divided by X (2 = twice as fast).
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,
    /// Replay at a fixed rate of N packets per second.
    #[arg(long, value_name = "N")]
    pub pps: Option<u32>,
    /// Send as fast as possible.
    #[arg(long)]
    pub topspeed: bool,
    /// Passes over the capture.
    #[arg(long, default_value_t = 1)]
    pub loops: u32,
    /// Stop after this many seconds even if loops remain.
    #[arg(long, value_name = "SECONDS")]
    pub max_duration: Option<f64>,
    /// Leave refused packets out instead of aborting before sending.
    #[arg(long)]
    pub skip_refused: bool,
    /// Most frames per system call (TX ring flush or sendmmsg call).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Send with sendmmsg batches instead of a PACKET_MMAP TX ring (the
    /// ring is used when the kernel allows one).
    #[arg(long)]
    pub sendmmsg: bool,
    /// Sender threads, each with its own socket; frames are split by flow,
    /// so order is kept within a conversation (same protocol, addresses and
    /// ports, both directions) but not between conversations. More than one
    /// needs --topspeed. Default: with --topspeed, two where the machine
    /// has two cores or more (on a veth pair half of each frame's cost is
    /// the receiving stack, in the sender's own system call, so a second
    /// core nearly doubles the rate); otherwise one.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: Option<u16>,
    /// Bypass the interface's qdisc (and any tc shaping on it).
    #[arg(long)]
    pub qdisc_bypass: bool,
    /// Send from a SCHED_FIFO thread with locked memory, for accurate pacing
    /// on a busy host (needs CAP_SYS_NICE and CAP_IPC_LOCK).
    #[arg(long)]
    pub realtime: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

impl Args {
    pub fn timing(&self) -> Timing {
        if let Some(speed) = self.speed {
            Timing::Multiplier(speed)
        } else if let Some(pps) = self.pps {
            Timing::PacketsPerSecond(pps)
        } else if self.topspeed {
            Timing::TopSpeed
        } else {
            Timing::Original
        }
    }

    pub fn rewrite_map(&self) -> Result<RewriteMap> {
        let mut entries = self.maps.clone();
        if let Some(path) = &self.map_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading map file {}", path.display()))?;
            entries.extend(
                map_entries_from_json(&text)
                    .with_context(|| format!("map file {}", path.display()))?,
            );
        }
        Ok(rewrite_map_from_entries(&entries)?)
    }

    pub fn guard(&self) -> Result<EgressGuard> {
        if self.allow.is_empty() {
            bail!("--allow is required: the replay may only reach the session's planned ranges");
        }
        Ok(EgressGuard::new(self.allow.clone()))
    }

    pub fn refusal_policy(&self) -> RefusalPolicy {
        if self.skip_refused {
            RefusalPolicy::Skip
        } else {
            RefusalPolicy::Abort
        }
    }

    pub fn max_duration(&self) -> Result<Option<Duration>> {
        self.max_duration
            .map(|seconds| {
                Duration::try_from_secs_f64(seconds)
                    .map_err(|_| anyhow::anyhow!("--max-duration {seconds} is not a duration"))
            })
            .transpose()
    }
}
