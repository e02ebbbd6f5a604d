//! The property Enshu's `replay_prepare` fuzz target checks (`fuzz/`), as
//! ordinary code so that the crate's own tests run it over the seed corpus
//! and the saved regressions with no fuzzer (`tests/fuzz_cases.rs`).

use enshu_pcap::fuzz_cases::{assert_frame_inside, team_networks};
use enshu_pcap::{EgressGuard, MacAddress};

use crate::address_map::rewrite_map_from_entries;
use crate::prepare::{PrepareError, PrepareOptions, RefusalPolicy, prepare_frames};

/// The team's map as `enshu-replay --map` entries: the capture's private
/// ranges onto the team's, with one mapping that leads outside.
const MAP_ENTRIES: [&str; 5] = [
    "192.168.0.0/16=10.101.0.0/16",
    "172.16.0.0/24=198.51.100.0/24",
    "192.168.66.0/24=203.0.113.0/24",
    "10.0.0.1=10.101.1.1",
    "8.8.8.8=198.51.100.53",
];

const SOURCE_MAC: MacAddress = MacAddress([0x02, 0, 0, 0, 0, 0x11]);
const DESTINATION_MAC: MacAddress = MacAddress([0x02, 0, 0, 0, 0, 0x22]);
const MAX_FRAME_LENGTH: usize = 1514;

/// Capture bytes through the sender's preparation (rewrite, MACs, guard,
/// size limit), skipping refused packets and then aborting on them:
/// - nothing panics;
/// - every checked frame carries the sender's MACs, fits the interface and,
///   walked by enshu-pcap's own header walk, is IPv4 or IPv4 ARP inside
///   the team's networks;
/// - every packet is either sent, refused or dropped, and aborting
///   succeeds exactly when skipping refused nothing, with the same frames;
/// - splitting the frames between senders keeps every frame.
pub fn replay_prepare(data: &[u8]) {
    let networks = team_networks();
    let guard = EgressGuard::new(networks.clone());
    let map = rewrite_map_from_entries(&MAP_ENTRIES).expect("the fuzz map is valid");
    let mut options = PrepareOptions {
        map,
        source_mac: SOURCE_MAC,
        destination_mac: DESTINATION_MAC,
        refusal_policy: RefusalPolicy::Skip,
        max_frame_length: Some(MAX_FRAME_LENGTH),
    };
    let skipped = match prepare_frames(data, &options, &guard) {
        Ok(prepared) => prepared,
        Err(PrepareError::Capture(_)) => return,
        Err(PrepareError::Refused { refusal, .. }) => {
            panic!("refused under the skip policy: {refusal}")
        }
    };
    let frames = &skipped.frames;
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(&frame[0..6], &DESTINATION_MAC.0, "frame {index}");
        assert_eq!(&frame[6..12], &SOURCE_MAC.0, "frame {index}");
        assert!(frame.len() <= MAX_FRAME_LENGTH, "frame {index} too large");
        assert_frame_inside(frame, &networks);
    }
    let dropped = skipped.rewrite_statistics.packets_dropped;
    assert_eq!(
        frames.len() as u64 + skipped.refusals.len() as u64 + dropped,
        skipped.packets_in_capture,
        "packets lost between the capture and the frames"
    );
    let parts = frames.partition_by_flow(3);
    assert_eq!(
        parts.iter().map(|part| part.len()).sum::<usize>(),
        frames.len()
    );
    assert_eq!(
        parts.iter().map(|part| part.total_bytes()).sum::<u64>(),
        frames.total_bytes()
    );

    options.refusal_policy = RefusalPolicy::Abort;
    match prepare_frames(data, &options, &guard) {
        Ok(aborted) => {
            assert!(
                skipped.refusals.is_empty(),
                "abort sent what skip refused ({})",
                skipped.refusals[0]
            );
            assert_eq!(aborted.frames.len(), frames.len());
            for index in 0..frames.len() {
                assert_eq!(aborted.frames.frame(index), frames.frame(index));
            }
        }
        Err(PrepareError::Refused { refusal, .. }) => {
            assert_eq!(
                skipped.refusals.first(),
                Some(&refusal),
                "abort refused what skip did not"
            );
        }
        Err(PrepareError::Capture(error)) => {
            panic!("read once, then not: {error}")
        }
    }
}
