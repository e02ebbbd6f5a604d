//! End to end, as root: enshu-replay in one network namespace sends every
//! fixture capture over a veth pair, tcpdump on the far side counts what
//! arrives and which addresses it carries.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{
    ALLOWED, VethPair, fixture_names, fixture_path, ipv4_addresses_in_frame, write_map_file,
};
use serde_json::Value;

fn report_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "enshu-replay failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json report")
}

fn number(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("report has no {field}: {report}"))
}

/// Replays one capture and checks the far side; returns (sent, refused).
fn replay_fixture(pair: &VethPair, name: &str, extra: &[&str], loops: u64) -> (u64, u64) {
    let path = fixture_path(name);
    let summary = enshu_pcap::capture_summary(&path).unwrap();
    let (map_file, team_addresses) = write_map_file(
        &pair.scratch,
        name,
        summary.ipv4_addresses.keys().copied(),
        250,
    );
    let capture = pair.start_capture(name);
    let rx_before = pair.receiver_rx_packets();
    let loops_text = loops.to_string();
    let mut arguments = vec![
        "--capture",
        path.to_str().unwrap(),
        "--map-file",
        map_file.to_str().unwrap(),
        "--allow",
        ALLOWED,
        "--next-hop-mac",
        &pair.receiver_mac,
        "--skip-refused",
        "--loops",
        &loops_text,
        "--output",
        "json",
    ];
    arguments.extend_from_slice(extra);
    let report = report_of(&pair.replay(&arguments));
    let received = capture.finish();
    let rx_counted = pair.receiver_rx_packets() - rx_before;

    let sent = number(&report, "sent");
    let refused = number(&report, "refused");
    let in_capture = number(&report, "packets_in_capture");
    assert_eq!(in_capture, summary.packet_count, "{name}");
    assert_eq!((sent / loops) + refused, in_capture, "{name}: {report}");
    assert_eq!(
        rx_counted, sent,
        "{name}: the receiving veth counted {rx_counted} of {sent} frames"
    );
    assert_eq!(received.kernel_drops, 0, "{name}: tcpdump dropped frames");
    assert_eq!(
        received.frames.len() as u64,
        sent,
        "{name}: far side received {} of {sent} frames",
        received.frames.len()
    );
    let mut seen = BTreeSet::new();
    for (index, frame) in received.frames.iter().enumerate() {
        // Source and destination MACs were set for the range.
        assert_eq!(
            frame[..6]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            pair.receiver_mac,
            "{name}: frame {index} destination mac"
        );
        let addresses = ipv4_addresses_in_frame(frame)
            .unwrap_or_else(|| panic!("{name}: frame {index} is neither ipv4 nor arp"));
        seen.extend(addresses);
    }
    let outside: Vec<&Ipv4Addr> = seen.difference(&team_addresses).collect();
    assert!(
        outside.is_empty(),
        "{name}: far side saw addresses that are not mapped team addresses: {outside:?}"
    );
    (sent, refused)
}

#[test]
fn every_fixture_arrives_whole_and_only_with_team_addresses() {
    let pair = VethPair::create("all");
    let names = fixture_names();
    assert!(names.len() >= 8, "fixtures missing: {names:?}");
    for name in &names {
        let (sent, refused) = replay_fixture(&pair, name, &["--topspeed"], 1);
        eprintln!("{name}: sent {sent}, refused {refused}");
        assert!(sent > 0, "{name}: nothing was sendable");
    }
}

#[test]
fn paced_and_looped_replays_arrive_whole() {
    let pair = VethPair::create("paced");
    replay_fixture(&pair, "dns_axfr.pcapng", &["--pps", "2000"], 3);
    replay_fixture(
        &pair,
        "http_dvwa_sqlinjection.pcapng",
        &["--speed", "50"],
        1,
    );
    let (sent, _) = replay_fixture(&pair, "synscan.pcapng", &["--pps", "10000"], 1);
    assert_eq!(sent, 2011);
}

#[test]
fn a_map_leaving_the_allowed_range_is_refused_and_nothing_arrives() {
    let pair = VethPair::create("refuse");
    let path = fixture_path("dns_axfr.pcapng");
    let summary = enshu_pcap::capture_summary(&path).unwrap();
    // Maps into 10.251.0.0/16 while only 10.250.0.0/16 is allowed.
    let (map_file, _) = write_map_file(
        &pair.scratch,
        "outside",
        summary.ipv4_addresses.keys().copied(),
        251,
    );
    let capture = pair.start_capture("refused");
    let output = pair.replay(&[
        "--capture",
        path.to_str().unwrap(),
        "--map-file",
        map_file.to_str().unwrap(),
        "--allow",
        ALLOWED,
        "--topspeed",
    ]);
    let received = capture.finish();
    assert_eq!(pair.receiver_rx_packets(), 0, "frames reached the far side");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("packet 0 refused"), "{stderr}");
    assert!(stderr.contains("10.251."), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(received.frames.len(), 0, "frames reached the far side");

    // Skipping refused packets sends nothing either: every packet is refused.
    let capture = pair.start_capture("skipped");
    let output = pair.replay(&[
        "--capture",
        path.to_str().unwrap(),
        "--map-file",
        map_file.to_str().unwrap(),
        "--allow",
        ALLOWED,
        "--skip-refused",
        "--output",
        "json",
    ]);
    let received = capture.finish();
    let report = report_of(&output);
    assert_eq!(number(&report, "sent"), 0);
    assert_eq!(number(&report, "refused"), summary.packet_count);
    assert_eq!(received.frames.len(), 0, "frames reached the far side");
}

#[test]
fn allow_is_required() {
    let output = std::process::Command::new(common::replay_binary())
        .args(["--interface", "lo", "--capture", "x.pcap", "--topspeed"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow"));
}

/// Writes `count` minimal UDP frames from 10.250.1.1 to 10.250.1.2 (source
/// port 10000 + sequence mod 1000, sequence in the first payload bytes) and
/// returns the capture's path with the frames exactly as a replay mapping
/// them to 10.250.2.1 and 10.250.2.2 must put them on the wire.
fn synthetic_capture(pair: &VethPair, count: u32) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let capture = enshu_replay::synthetic::minimal_udp_capture(
        count,
        Ipv4Addr::new(10, 250, 1, 1),
        Ipv4Addr::new(10, 250, 1, 2),
        1_000,
    );
    let path = pair.scratch.join(format!("synthetic-{count}.pcap"));
    std::fs::write(&path, &capture).unwrap();
    let prepared = enshu_replay::prepare_frames(
        &capture,
        &enshu_replay::PrepareOptions {
            map: enshu_replay::rewrite_map_from_entries(&SYNTHETIC_MAP.map(str::to_owned)).unwrap(),
            source_mac: pair.sender_mac.parse().unwrap(),
            destination_mac: pair.receiver_mac.parse().unwrap(),
            refusal_policy: enshu_replay::RefusalPolicy::Abort,
            max_frame_length: None,
        },
        &enshu_replay::EgressGuard::new(vec![ALLOWED.parse().unwrap()]),
    )
    .unwrap();
    let expected = prepared.frames.iter().map(<[u8]>::to_vec).collect();
    (path, expected)
}

const SYNTHETIC_MAP: [&str; 2] = ["10.250.1.1=10.250.2.1", "10.250.1.2=10.250.2.2"];

fn sequence_of(frame: &[u8]) -> u32 {
    u32::from_be_bytes(frame[42..46].try_into().unwrap())
}

/// Replays the synthetic capture with `extra` arguments and returns the
/// report and the frames the far side received.
fn replay_synthetic(
    pair: &VethPair,
    path: &std::path::Path,
    extra: &[&str],
) -> (Value, Vec<Vec<u8>>) {
    // Synthetic frames are 60-odd bytes: whole within 256, and 64 MiB of
    // 256-byte slots holds every burst these tests send.
    let capture = pair.start_capture_with_snaplen("synthetic", 256);
    let rx_before = pair.receiver_rx_packets();
    let mut arguments = vec![
        "--capture",
        path.to_str().unwrap(),
        "--map",
        SYNTHETIC_MAP[0],
        "--map",
        SYNTHETIC_MAP[1],
        "--allow",
        ALLOWED,
        "--next-hop-mac",
        &pair.receiver_mac,
        "--output",
        "json",
    ];
    arguments.extend_from_slice(extra);
    let report = report_of(&pair.replay(&arguments));
    let received = capture.finish();
    assert_eq!(received.kernel_drops, 0, "tcpdump dropped frames");
    assert_eq!(
        pair.receiver_rx_packets() - rx_before,
        received.frames.len() as u64,
        "the veth counter and tcpdump disagree"
    );
    (report, received.frames)
}

#[test]
fn the_tx_ring_delivers_exactly_the_checked_frames_in_order() {
    let pair = VethPair::create("ring");
    let count = 20_000;
    let (path, expected) = synthetic_capture(&pair, count);
    for (extra, method) in [
        // One sender thread: the whole capture's order is what is checked
        // (several threads keep only each flow's order, tested below).
        (&["--topspeed", "--threads", "1"][..], "tx-ring"),
        (
            &[
                "--topspeed",
                "--threads",
                "1",
                "--qdisc-bypass",
                "--batch-size",
                "256",
            ][..],
            "tx-ring",
        ),
        (&["--pps", "20000"][..], "tx-ring"),
        (
            &["--topspeed", "--threads", "1", "--sendmmsg"][..],
            "sendmmsg",
        ),
    ] {
        let (report, received) = replay_synthetic(&pair, &path, extra);
        assert_eq!(report["send_method"], method, "{extra:?}: {report}");
        assert!(report["tx_ring_unavailable"].is_null(), "{report}");
        assert_eq!(number(&report, "sent"), u64::from(count), "{extra:?}");
        assert_eq!(received.len(), expected.len(), "{extra:?}: frames arrived");
        // Byte for byte the rewritten, checked frames, in capture order: a
        // ring slot reused too early would show up here as a changed frame.
        for (index, (frame, wanted)) in received.iter().zip(&expected).enumerate() {
            assert_eq!(frame, wanted, "{extra:?}: frame {index} differs");
            assert_eq!(
                ipv4_addresses_in_frame(frame),
                Some([Ipv4Addr::new(10, 250, 2, 1), Ipv4Addr::new(10, 250, 2, 2)])
            );
        }
    }
}

#[test]
fn threads_deliver_every_frame_and_keep_each_flow_in_order() {
    let pair = VethPair::create("threads");
    let count = 20_000;
    let (path, expected) = synthetic_capture(&pair, count);
    for extra in [
        &["--topspeed", "--threads", "2", "--loops", "2"][..],
        &["--topspeed", "--threads", "3", "--sendmmsg"][..],
    ] {
        let (report, received) = replay_synthetic(&pair, &path, extra);
        let loops: u64 = if extra.contains(&"--loops") { 2 } else { 1 };
        let threads: u64 = extra[2].parse().unwrap();
        assert_eq!(number(&report, "threads"), threads, "{report}");
        assert_eq!(number(&report, "sent"), u64::from(count) * loops);
        assert_eq!(received.len() as u64, u64::from(count) * loops, "{extra:?}");
        // Every frame is one of the checked frames, each as often as sent.
        let mut arrived_sorted: Vec<&Vec<u8>> = received.iter().collect();
        arrived_sorted.sort_by_key(|frame| (sequence_of(frame), frame.to_vec()));
        for (index, frame) in arrived_sorted.iter().enumerate() {
            assert_eq!(
                *frame,
                &expected[index / loops as usize],
                "{extra:?}: frame {index}"
            );
        }
        // A flow (one source port: sequences equal mod 1000) arrives in
        // capture order, pass after pass.
        let mut arrivals_of_flow: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for frame in &received {
            let sequence = sequence_of(frame);
            arrivals_of_flow
                .entry(sequence % 1000)
                .or_default()
                .push(sequence);
        }
        assert_eq!(arrivals_of_flow.len(), 1000);
        for (flow, arrivals) in arrivals_of_flow {
            let one_pass: Vec<u32> = (flow..count).step_by(1000).collect();
            let wanted: Vec<u32> = (0..loops).flat_map(|_| one_pass.clone()).collect();
            assert_eq!(arrivals, wanted, "{extra:?}: flow {flow} out of order");
        }
    }
}

#[test]
fn threads_deliver_every_fixture_whole_and_only_with_team_addresses() {
    let pair = VethPair::create("threadsall");
    for name in &fixture_names() {
        let (sent, refused) = replay_fixture(&pair, name, &["--topspeed", "--threads", "2"], 2);
        eprintln!("{name}: sent {sent}, refused {refused}");
        assert!(sent > 0, "{name}: nothing was sendable");
    }
}

#[test]
fn a_refusal_with_threads_sends_nothing() {
    let pair = VethPair::create("refthr");
    let path = fixture_path("tcpreplay_test.pcap");
    let summary = enshu_pcap::capture_summary(&path).unwrap();
    let (map_file, _) = write_map_file(
        &pair.scratch,
        "outside",
        summary.ipv4_addresses.keys().copied(),
        251,
    );
    let capture = pair.start_capture("refused-threads");
    let output = pair.replay(&[
        "--capture",
        path.to_str().unwrap(),
        "--map-file",
        map_file.to_str().unwrap(),
        "--allow",
        ALLOWED,
        "--topspeed",
        "--threads",
        "2",
    ]);
    let received = capture.finish();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(pair.receiver_rx_packets(), 0, "frames reached the far side");
    assert_eq!(received.frames.len(), 0, "frames reached the far side");
}

#[test]
fn threads_are_refused_for_a_paced_replay() {
    let output = std::process::Command::new(common::replay_binary())
        .args([
            "--interface",
            "lo",
            "--capture",
            fixture_path("dns.pcap").to_str().unwrap(),
            "--allow",
            ALLOWED,
            "--pps",
            "100",
            "--threads",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("need --topspeed"));
}
