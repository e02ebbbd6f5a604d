//! Without privileges: preparing captures (rewrite, MACs, guard) and the
//! send loop against a recording sink.

use std::net::Ipv4Addr;
use std::time::Duration;

use enshu_pcap::{EgressGuard, EgressRefusal, MacAddress, Timing, capture_summary};
use enshu_replay::{
    FrameSink, PrepareError, PrepareOptions, RefusalPolicy, RefusalReason, SendSettings,
    prepare_frames, rewrite_map_from_entries, send_frames, synthetic,
};

const SOURCE_MAC: MacAddress = MacAddress([0x02, 0, 0, 0, 0, 0x01]);
const NEXT_HOP: MacAddress = MacAddress([0x02, 0, 0, 0, 0, 0x02]);

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pcaps")
        .join(name)
}

fn guard(network: &str) -> EgressGuard {
    EgressGuard::new(vec![network.parse().unwrap()])
}

fn options(entries: &[String], policy: RefusalPolicy) -> PrepareOptions {
    PrepareOptions {
        map: rewrite_map_from_entries(entries).unwrap(),
        source_mac: SOURCE_MAC,
        destination_mac: NEXT_HOP,
        refusal_policy: policy,
        max_frame_length: None,
    }
}

/// Maps every address of a fixture into 10.64.x.y.
fn map_into_range(name: &str) -> Vec<String> {
    capture_summary(&fixture(name))
        .unwrap()
        .ipv4_addresses
        .keys()
        .enumerate()
        .map(|(number, address)| {
            format!("{address}=10.64.{}.{}", 1 + number / 250, 1 + number % 250)
        })
        .collect()
}

#[derive(Default)]
struct RecordingSink {
    batches: Vec<Vec<Vec<u8>>>,
    /// Accept at most this many frames per call, to exercise partial sends.
    limit: Option<usize>,
}

impl FrameSink for RecordingSink {
    fn send_frames(&mut self, frames: &[&[u8]]) -> std::io::Result<usize> {
        let count = self
            .limit
            .map_or(frames.len(), |limit| limit.min(frames.len()));
        self.batches
            .push(frames[..count].iter().map(|frame| frame.to_vec()).collect());
        Ok(count)
    }
}

#[test]
fn prepared_frames_carry_team_addresses_and_range_macs() {
    let capture = std::fs::read(fixture("http_dvwa_sqlinjection.pcapng")).unwrap();
    let prepared = prepare_frames(
        &capture,
        &options(
            &map_into_range("http_dvwa_sqlinjection.pcapng"),
            RefusalPolicy::Abort,
        ),
        &guard("10.64.0.0/16"),
    )
    .unwrap();
    assert_eq!(prepared.packets_in_capture, 35);
    assert_eq!(prepared.frames.len(), 35);
    assert!(prepared.refusals.is_empty());
    for frame in prepared.frames.iter() {
        assert_eq!(&frame[..6], &NEXT_HOP.0);
        assert_eq!(&frame[6..12], &SOURCE_MAC.0);
        assert_eq!(frame[26], 10);
        assert_eq!(frame[27], 64);
    }
}

#[test]
fn a_refusal_aborts_naming_packet_and_address() {
    let capture = std::fs::read(fixture("dns_axfr.pcapng")).unwrap();
    let error = prepare_frames(
        &capture,
        &options(&[], RefusalPolicy::Abort),
        &guard("10.64.0.0/16"),
    )
    .unwrap_err();
    let PrepareError::Refused { refusal, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(refusal.packet_index, 0);
    assert!(refusal.address().is_some());
    let message = error.to_string();
    assert!(
        message.starts_with("packet 0 refused: egress guard: ipv4 "),
        "{message}"
    );
    assert!(
        message.contains("nothing was sent (allowed networks: 10.64.0.0/16"),
        "{message}"
    );
}

#[test]
fn skipping_counts_every_refusal_and_keeps_the_rest() {
    // tcpreplay_test.pcap holds IPv6 and MPLS frames the guard refuses.
    let name = "tcpreplay_test.pcap";
    let capture = std::fs::read(fixture(name)).unwrap();
    let prepared = prepare_frames(
        &capture,
        &options(&map_into_range(name), RefusalPolicy::Skip),
        &guard("10.64.0.0/16"),
    )
    .unwrap();
    assert_eq!(prepared.packets_in_capture, 179);
    assert_eq!(
        prepared.frames.len() + prepared.refusals.len(),
        179,
        "every packet is either sent or refused"
    );
    let ipv6 = prepared
        .refusals
        .iter()
        .filter(|refusal| {
            matches!(
                refusal.reason,
                RefusalReason::Egress(EgressRefusal::Ipv6NotAllowed { .. })
            )
        })
        .count();
    assert_eq!(ipv6, 10);
    let checker = guard("10.64.0.0/16");
    assert!(
        prepared
            .frames
            .iter()
            .all(|frame| checker.check(frame).is_ok())
    );
}

#[test]
fn frames_larger_than_the_interface_are_refused() {
    let name = "mail_sender_attachment.pcapng";
    let capture = std::fs::read(fixture(name)).unwrap();
    let mut options = options(&map_into_range(name), RefusalPolicy::Skip);
    options.max_frame_length = Some(1518);
    let prepared = prepare_frames(&capture, &options, &guard("10.64.0.0/16")).unwrap();
    assert!(!prepared.refusals.is_empty());
    assert!(prepared.refusals.iter().all(|refusal| matches!(
        refusal.reason,
        RefusalReason::TooLarge { maximum: 1518, .. }
    )));
    assert!(prepared.frames.iter().all(|frame| frame.len() <= 1518));
}

fn synthetic_frames(count: u32, gap_ns: u64) -> enshu_replay::CheckedFrames {
    let capture = synthetic::minimal_udp_capture(
        count,
        Ipv4Addr::new(10, 250, 1, 1),
        Ipv4Addr::new(10, 250, 1, 2),
        gap_ns,
    );
    prepare_frames(
        &capture,
        &options(&[], RefusalPolicy::Abort),
        &guard("10.250.0.0/16"),
    )
    .unwrap()
    .frames
}

#[test]
fn top_speed_fills_batches_across_loops() {
    let frames = synthetic_frames(10, 1_000);
    let mut sink = RecordingSink::default();
    let statistics = send_frames(
        &mut sink,
        &frames,
        &SendSettings {
            timing: Timing::TopSpeed,
            loops: 3,
            batch_size: 8,
            ..SendSettings::default()
        },
    )
    .unwrap();
    assert_eq!(statistics.frames_sent, 30);
    assert_eq!(statistics.bytes_sent, 30 * 60);
    assert!(statistics.timing_error.is_none());
    let sizes: Vec<usize> = sink.batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![8, 8, 8, 6]);
    let sent: Vec<Vec<u8>> = sink.batches.concat();
    for (index, frame) in sent.iter().enumerate() {
        assert_eq!(frame.as_slice(), frames.frame(index % 10));
    }
}

#[test]
fn partial_sends_are_resumed_in_order() {
    let frames = synthetic_frames(7, 1_000);
    let mut sink = RecordingSink {
        limit: Some(3),
        ..RecordingSink::default()
    };
    let statistics = send_frames(
        &mut sink,
        &frames,
        &SendSettings {
            timing: Timing::TopSpeed,
            batch_size: 64,
            ..SendSettings::default()
        },
    )
    .unwrap();
    assert_eq!(statistics.frames_sent, 7);
    assert_eq!(statistics.system_calls, 3);
    let sent: Vec<Vec<u8>> = sink.batches.concat();
    assert!(
        sent.iter()
            .enumerate()
            .all(|(index, frame)| frame == frames.frame(index))
    );
}

#[test]
fn paced_sends_keep_the_rate_and_report_timing_error() {
    let frames = synthetic_frames(200, 0);
    let mut sink = RecordingSink::default();
    let statistics = send_frames(
        &mut sink,
        &frames,
        &SendSettings {
            timing: Timing::PacketsPerSecond(10_000),
            ..SendSettings::default()
        },
    )
    .unwrap();
    assert_eq!(statistics.frames_sent, 200);
    // 199 gaps of 100 us.
    assert!(
        statistics.elapsed >= Duration::from_micros(19_900),
        "{statistics:?}"
    );
    // Generous: the host may be busy.
    assert!(
        statistics.elapsed < Duration::from_secs(2),
        "{statistics:?}"
    );
    let error = statistics
        .timing_error
        .expect("paced replays report timing error");
    assert_eq!(error.samples, 200);
}

#[test]
fn max_duration_bounds_a_long_replay() {
    let frames = synthetic_frames(10, 0);
    let mut sink = RecordingSink::default();
    let statistics = send_frames(
        &mut sink,
        &frames,
        &SendSettings {
            timing: Timing::PacketsPerSecond(1_000),
            loops: 1_000,
            max_duration: Some(Duration::from_millis(50)),
            ..SendSettings::default()
        },
    )
    .unwrap();
    assert!(statistics.stopped_at_deadline);
    // Sends due at 0, 1, ..., 49 ms; a busy host may stop it earlier.
    assert!((1..=50).contains(&statistics.frames_sent), "{statistics:?}");
}

#[test]
fn partitioning_by_flow_keeps_every_frame_and_each_flow_in_one_ordered_part() {
    let name = "tcpreplay_test.pcap";
    let capture = std::fs::read(fixture(name)).unwrap();
    let prepared = prepare_frames(
        &capture,
        &options(&map_into_range(name), RefusalPolicy::Skip),
        &guard("10.64.0.0/16"),
    )
    .unwrap();
    let frames = &prepared.frames;
    let keys = enshu_replay::flows::flow_keys(frames.iter());
    for parts in [1, 2, 3] {
        let partitioned = frames.partition_by_flow(parts);
        assert_eq!(partitioned.len(), parts);
        assert_eq!(
            partitioned.iter().map(|part| part.len()).sum::<usize>(),
            frames.len()
        );
        let mut part_of_capture_index = std::collections::HashMap::new();
        for (part_number, part) in partitioned.iter().enumerate() {
            assert!(!part.is_empty(), "{parts} parts: part {part_number} empty");
            let indexes: Vec<usize> = (0..part.len()).map(|i| part.capture_index(i)).collect();
            assert!(
                indexes.windows(2).all(|pair| pair[0] < pair[1]),
                "part {part_number} out of capture order"
            );
            for (position, capture_index) in indexes.iter().enumerate() {
                part_of_capture_index.insert(*capture_index, part_number);
                let original = (0..frames.len())
                    .find(|&i| frames.capture_index(i) == *capture_index)
                    .unwrap();
                assert_eq!(part.frame(position), frames.frame(original));
                assert_eq!(
                    part.timestamps_ns()[position],
                    frames.timestamps_ns()[original]
                );
            }
        }
        // Frames with the same flow key went to the same part.
        let mut part_of_key = std::collections::HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            let part = part_of_capture_index[&frames.capture_index(index)];
            assert_eq!(*part_of_key.entry(*key).or_insert(part), part, "{key:?}");
        }
    }
}
