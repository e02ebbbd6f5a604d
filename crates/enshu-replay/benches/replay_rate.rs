//! Replay rate and timing fidelity of enshu-replay against
//! `tcpreplay`, on a veth pair between two network namespaces.
//!
//! Run through `tests/replay/bench.sh`, which creates the namespaces, builds
//! the release binary and passes them in the environment. Everything sent
//! stays on that veth pair; every run is bounded in packets and time.
//!
//! Rates: each tool replays the same frames (the bench writes the frames
//! enshu-replay would send into a pcap for tcpreplay) at top speed; the
//! packets that arrived are read from the receiving veth's counters, and
//! the rate is arrived packets over the sending process's wall time.
//! Timing: each tool sends at a fixed rate while tcpdump on the far side
//! records nanosecond timestamps; the error of each inter-arrival gap
//! against the nominal gap gives the percentiles.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use enshu_pcap::{EgressGuard, LinkType, MacAddress, PcapWriter, TimestampPrecision};
use enshu_replay::{PrepareOptions, RefusalPolicy, prepare_frames, rewrite_map_from_entries};

struct Environment {
    sender_namespace: String,
    receiver_namespace: String,
    sender_interface: String,
    receiver_interface: String,
    sender_mac: MacAddress,
    receiver_mac: MacAddress,
    replay_binary: PathBuf,
    output: PathBuf,
    repetitions: usize,
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn environment() -> Option<Environment> {
    Some(Environment {
        sender_namespace: variable("ENSHU_BENCH_SENDER_NS")?,
        receiver_namespace: variable("ENSHU_BENCH_RECEIVER_NS")?,
        sender_interface: variable("ENSHU_BENCH_SENDER_IF")?,
        receiver_interface: variable("ENSHU_BENCH_RECEIVER_IF")?,
        sender_mac: variable("ENSHU_BENCH_SENDER_MAC")?.parse().ok()?,
        receiver_mac: variable("ENSHU_BENCH_RECEIVER_MAC")?.parse().ok()?,
        replay_binary: variable("ENSHU_REPLAY_BIN")?.into(),
        output: variable("ENSHU_BENCH_OUT")?.into(),
        repetitions: variable("ENSHU_BENCH_REPETITIONS")
            .and_then(|text| text.parse().ok())
            .unwrap_or(3),
    })
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let Some(environment) = environment() else {
        eprintln!(
            "replay_rate needs the veth pair from tests/replay/bench.sh (run that as root); skipping"
        );
        return;
    };
    std::fs::create_dir_all(&environment.output).unwrap();
    let allowed = "10.250.0.0/16";

    // The two workloads, as enshu-replay reads them and as tcpreplay gets
    // them (the exact frames enshu-replay sends).
    let minimal = enshu_replay::synthetic::minimal_udp_capture(
        100_000,
        Ipv4Addr::new(10, 250, 1, 1),
        Ipv4Addr::new(10, 250, 1, 2),
        1_000,
    );
    let minimal_path = environment.output.join("minimal-100k.pcap");
    std::fs::write(&minimal_path, &minimal).unwrap();
    let minimal_map = vec![
        "10.250.1.1=10.250.2.1".to_owned(),
        "10.250.1.2=10.250.2.2".to_owned(),
    ];
    let minimal_sent = write_prepared(
        &environment,
        &minimal,
        &minimal_map,
        allowed,
        "minimal-100k",
    );

    let fixture_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pcaps/tcpreplay_test.pcap");
    let fixture = std::fs::read(&fixture_path).unwrap();
    let summary = enshu_pcap::capture_summary_from_bytes(&fixture).unwrap();
    let fixture_map: Vec<String> = summary
        .ipv4_addresses
        .keys()
        .enumerate()
        .map(|(number, address)| format!("{address}=10.250.3.{}", number + 1))
        .collect();
    let fixture_sent = write_prepared(
        &environment,
        &fixture,
        &fixture_map,
        allowed,
        "tcpreplay_test",
    );

    let mut rows = Vec::new();
    for (label, capture, map, prepared, loops) in [
        (
            "64-byte frames, 100k x 10 loops",
            &minimal_path,
            &minimal_map,
            &minimal_sent,
            10u32,
        ),
        (
            "tcpreplay_test.pcap x 2000 loops",
            &fixture_path,
            &fixture_map,
            &fixture_sent,
            2000u32,
        ),
    ] {
        let variants: Vec<(&str, Vec<String>)> = vec![
            (
                "enshu-replay (default: tx ring, batch 64, 2 threads on 2 cores)",
                vec![],
            ),
            (
                "enshu-replay (tx ring, batch 64, --threads 1)",
                vec!["--threads".into(), "1".into()],
            ),
            (
                "enshu-replay (tx ring, qdisc bypass, --threads 1)",
                vec!["--qdisc-bypass".into(), "--threads".into(), "1".into()],
            ),
            (
                "enshu-replay (sendmmsg 64, qdisc bypass, --threads 1)",
                vec![
                    "--sendmmsg".into(),
                    "--qdisc-bypass".into(),
                    "--threads".into(),
                    "1".into(),
                ],
            ),
            (
                "enshu-replay (sendmmsg, batch 1, --threads 1)",
                vec![
                    "--sendmmsg".into(),
                    "--batch-size".into(),
                    "1".into(),
                    "--threads".into(),
                    "1".into(),
                ],
            ),
        ];
        for (variant, extra) in &variants {
            let mut arguments = vec![
                "--capture".to_owned(),
                capture.display().to_string(),
                "--allow".into(),
                allowed.into(),
                "--next-hop-mac".into(),
                environment.receiver_mac.to_string(),
                "--skip-refused".into(),
                "--topspeed".into(),
                "--loops".into(),
                loops.to_string(),
                "--max-duration".into(),
                "60".into(),
                "--output".into(),
                "json".into(),
            ];
            for entry in map.iter() {
                arguments.push("--map".into());
                arguments.push(entry.clone());
            }
            arguments.extend(extra.iter().cloned());
            let expected = prepared.1 * u64::from(loops);
            rows.push(measure_rate(&environment, label, variant, expected, || {
                replay_command(&environment, &arguments)
            }));
        }
        rows.push(measure_rate(
            &environment,
            label,
            "tcpreplay --topspeed -K",
            prepared.1 * u64::from(loops),
            || {
                tcpreplay_command(
                    &environment,
                    &prepared.0,
                    &["--topspeed", "-K", &format!("--loop={loops}")],
                )
            },
        ));
    }

    println!(
        "\n## Replay rate (median of {} runs; load average after the rate runs: {})\n",
        environment.repetitions,
        load_average()
    );
    println!("| workload | sender | sent | arrived | wall s | arrived pps | tool-reported pps |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.0} | {:.0} |",
            row.workload,
            row.sender,
            row.expected,
            row.arrived,
            row.wall_seconds,
            row.arrived_pps,
            row.reported_pps
        );
    }

    // Timing fidelity: the first N minimal frames at a fixed rate.
    let mut timing_rows = Vec::new();
    for rate in [1_000u32, 10_000] {
        let count = rate * 3;
        let capture = enshu_replay::synthetic::minimal_udp_capture(
            count,
            Ipv4Addr::new(10, 250, 1, 1),
            Ipv4Addr::new(10, 250, 1, 2),
            1_000,
        );
        let name = format!("minimal-{count}");
        let path = environment.output.join(format!("{name}.pcap"));
        std::fs::write(&path, &capture).unwrap();
        let prepared = write_prepared(&environment, &capture, &minimal_map, allowed, &name);
        let mut arguments = vec![
            "--capture".to_owned(),
            path.display().to_string(),
            "--allow".into(),
            allowed.into(),
            "--next-hop-mac".into(),
            environment.receiver_mac.to_string(),
            "--pps".into(),
            rate.to_string(),
            "--max-duration".into(),
            "30".into(),
            "--output".into(),
            "json".into(),
        ];
        for entry in &minimal_map {
            arguments.push("--map".into());
            arguments.push(entry.clone());
        }
        timing_rows.push(measure_timing(
            &environment,
            rate,
            "enshu-replay",
            count,
            || replay_command(&environment, &arguments),
        ));
        let mut sendmmsg_arguments = arguments.clone();
        sendmmsg_arguments.push("--sendmmsg".into());
        timing_rows.push(measure_timing(
            &environment,
            rate,
            "enshu-replay --sendmmsg",
            count,
            || replay_command(&environment, &sendmmsg_arguments),
        ));
        timing_rows.push(measure_timing(
            &environment,
            rate,
            "tcpreplay",
            count,
            || tcpreplay_command(&environment, &prepared.0, &["-K", &format!("--pps={rate}")]),
        ));
        // Both again with real-time scheduling, against a busy host.
        let mut realtime_arguments = arguments.clone();
        realtime_arguments.push("--realtime".into());
        timing_rows.push(measure_timing(
            &environment,
            rate,
            "enshu-replay --realtime",
            count,
            || replay_command(&environment, &realtime_arguments),
        ));
        timing_rows.push(measure_timing(
            &environment,
            rate,
            "chrt -f 40 tcpreplay",
            count,
            || {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", &environment.sender_namespace])
                    .args(["chrt", "-f", "40", "tcpreplay"])
                    .args(["-i", &environment.sender_interface, "-q", "-K"])
                    .arg(format!("--pps={rate}"))
                    .arg(&prepared.0);
                command
            },
        ));
    }
    println!(
        "\n## Timing fidelity: inter-arrival gap error on the receiving side (median of {} runs; load average after: {})\n",
        environment.repetitions,
        load_average()
    );
    println!(
        "| rate | sender | arrived | p50 gap error us | p99 gap error us | max us | achieved pps | sender-side p99 us |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for row in &timing_rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            row.rate,
            row.sender,
            row.arrived,
            row.p50_us,
            row.p99_us,
            row.max_us,
            row.achieved_pps,
            row.sender_p99_us
                .map_or("-".to_owned(), |value| format!("{value:.1}"))
        );
    }
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg prints them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Writes the frames enshu-replay will send, for tcpreplay; returns the
/// file and the frame count per pass.
fn write_prepared(
    environment: &Environment,
    capture: &[u8],
    map: &[String],
    allowed: &str,
    name: &str,
) -> (PathBuf, u64) {
    let prepared = prepare_frames(
        capture,
        &PrepareOptions {
            map: rewrite_map_from_entries(map).unwrap(),
            source_mac: environment.sender_mac,
            destination_mac: environment.receiver_mac,
            refusal_policy: RefusalPolicy::Skip,
            max_frame_length: Some(1518),
        },
        &EgressGuard::new(vec![allowed.parse().unwrap()]),
    )
    .unwrap();
    let mut writer = PcapWriter::new(
        Vec::new(),
        LinkType::ETHERNET,
        TimestampPrecision::Nanoseconds,
        65535,
    )
    .unwrap();
    for (index, frame) in prepared.frames.iter().enumerate() {
        writer
            .write_packet(
                prepared.frames.timestamps_ns()[index],
                frame,
                frame.len() as u32,
            )
            .unwrap();
    }
    // tcpreplay reads microsecond pcap most reliably; nanosecond is fine too.
    let path = environment.output.join(format!("{name}.prepared.pcap"));
    std::fs::write(&path, writer.into_inner()).unwrap();
    (path, prepared.frames.len() as u64)
}

fn replay_command(environment: &Environment, arguments: &[String]) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &environment.sender_namespace])
        .arg(&environment.replay_binary)
        .args(["--interface", &environment.sender_interface])
        .args(arguments);
    command
}

fn tcpreplay_command(environment: &Environment, file: &Path, arguments: &[&str]) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &environment.sender_namespace, "tcpreplay"])
        .args(["-i", &environment.sender_interface, "-q"])
        .args(arguments)
        .arg(file);
    command
}

fn received_packets(environment: &Environment) -> u64 {
    let output = Command::new("ip")
        .args([
            "-n",
            &environment.receiver_namespace,
            "-s",
            "-j",
            "link",
            "show",
        ])
        .arg(&environment.receiver_interface)
        .output()
        .unwrap();
    let links: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    links[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
}

/// Packets per second a tool printed: enshu-replay's JSON `achieved_pps` or
/// tcpreplay's "Rated: ... pps".
fn reported_pps(stdout: &str) -> f64 {
    if let Ok(report) = serde_json::from_str::<serde_json::Value>(stdout) {
        return report["achieved_pps"].as_f64().unwrap_or(0.0);
    }
    stdout
        .lines()
        .find(|line| line.trim_start().starts_with("Rated:"))
        .and_then(|line| {
            line.split(',')
                .find(|part| part.trim_end().ends_with("pps"))
        })
        .and_then(|part| part.trim().trim_end_matches("pps").trim().parse().ok())
        .unwrap_or(0.0)
}

fn sender_side_p99_us(stdout: &str) -> Option<f64> {
    let report: serde_json::Value = serde_json::from_str(stdout).ok()?;
    Some(report["timing_error"]["p99_ns"].as_f64()? / 1e3)
}

struct RateRow {
    workload: String,
    sender: String,
    expected: u64,
    arrived: u64,
    wall_seconds: f64,
    arrived_pps: f64,
    reported_pps: f64,
}

fn run_checked(mut command: Command) -> (String, Duration) {
    let started = Instant::now();
    let output = command.output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        elapsed,
    )
}

fn measure_rate(
    environment: &Environment,
    workload: &str,
    sender: &str,
    expected: u64,
    command: impl Fn() -> Command,
) -> RateRow {
    let mut runs: Vec<(f64, u64, f64, f64)> = Vec::new();
    for _ in 0..environment.repetitions {
        let before = received_packets(environment);
        let (stdout, elapsed) = run_checked(command());
        let arrived = received_packets(environment) - before;
        let wall = elapsed.as_secs_f64();
        runs.push((arrived as f64 / wall, arrived, wall, reported_pps(&stdout)));
        eprintln!(
            "{workload} / {sender}: arrived {arrived} in {wall:.3} s (load {})",
            load_average()
        );
    }
    runs.sort_by(|left, right| left.0.total_cmp(&right.0));
    let (arrived_pps, arrived, wall_seconds, reported_pps) = runs[runs.len() / 2];
    RateRow {
        workload: workload.to_owned(),
        sender: sender.to_owned(),
        expected,
        arrived,
        wall_seconds,
        arrived_pps,
        reported_pps,
    }
}

struct TimingRow {
    rate: u32,
    sender: String,
    arrived: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    achieved_pps: f64,
    sender_p99_us: Option<f64>,
}

fn measure_timing(
    environment: &Environment,
    rate: u32,
    sender: &str,
    count: u32,
    command: impl Fn() -> Command,
) -> TimingRow {
    let nominal_gap = 1e9 / f64::from(rate);
    let mut runs = Vec::new();
    for repetition in 0..environment.repetitions {
        let path = environment
            .output
            .join(format!("timing-{rate}-{sender}-{repetition}.pcap"));
        let mut tcpdump = Command::new("ip")
            .args(["netns", "exec", &environment.receiver_namespace, "tcpdump"])
            .args([
                "-i",
                &environment.receiver_interface,
                "-Q",
                "in",
                "-nn",
                "-s",
                "96",
            ])
            .args(["--time-stamp-precision=nano", "-B", "16384", "-w"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(tcpdump.stderr.take().unwrap());
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
            line.clear();
        }
        let (stdout, _) = run_checked(command());
        std::thread::sleep(Duration::from_millis(300));
        #[expect(
            unsafe_code,
            reason = "SIGINT (tcpdump's clean stop), which std cannot send"
        )]
        // SAFETY: signalling our own child by its id.
        unsafe {
            libc::kill(tcpdump.id() as i32, libc::SIGINT);
        }
        tcpdump.wait().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let timestamps: Vec<u64> = enshu_pcap::read_all_packets(&bytes)
            .unwrap()
            .iter()
            .map(|packet| packet.timestamp_ns)
            .collect();
        let _ = std::fs::remove_file(&path);
        let mut errors: Vec<f64> = timestamps
            .windows(2)
            .map(|pair| ((pair[1] - pair[0]) as f64 - nominal_gap).abs() / 1e3)
            .collect();
        errors.sort_by(f64::total_cmp);
        let quantile =
            |q: f64| errors[((q * errors.len() as f64).ceil() as usize).clamp(1, errors.len()) - 1];
        let span = (timestamps.last().unwrap() - timestamps[0]) as f64 / 1e9;
        let row = TimingRow {
            rate,
            sender: sender.to_owned(),
            arrived: timestamps.len(),
            p50_us: quantile(0.5),
            p99_us: quantile(0.99),
            max_us: *errors.last().unwrap(),
            achieved_pps: (timestamps.len() - 1) as f64 / span,
            sender_p99_us: sender_side_p99_us(&stdout),
        };
        eprintln!(
            "{rate} pps / {sender}: arrived {} of {count}, p99 gap error {:.1} us",
            row.arrived, row.p99_us
        );
        runs.push(row);
    }
    runs.sort_by(|left, right| left.p99_us.total_cmp(&right.p99_us));
    runs.swap_remove(runs.len() / 2)
}
