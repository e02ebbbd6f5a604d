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
