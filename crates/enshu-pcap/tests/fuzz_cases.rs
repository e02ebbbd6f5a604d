//! The fuzz targets' properties (`fuzz/`) over their seed corpus and every
//! saved regression, so `cargo test` checks them with no fuzzer.

#[path = "../../../fuzz/inputs.rs"]
mod inputs;

use inputs::{inputs, run_each};

#[test]
fn pcap_rewrite_guard_holds_on_its_seed_corpus() {
    let count = run_each(
        "corpus",
        "pcap_rewrite_guard",
        enshu_pcap::fuzz_cases::pcap_rewrite_guard,
    );
    assert!(count >= 8, "only {count} seeds");
    // Seeds that do not read would only teach the fuzzer the error paths.
    for file in inputs("corpus", "pcap_rewrite_guard") {
        let bytes = std::fs::read(&file).unwrap();
        let packets = enshu_pcap::read_all_packets(&bytes)
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        assert!(!packets.is_empty(), "{} holds no packet", file.display());
    }
}

#[test]
fn pcap_rewrite_guard_holds_on_its_regressions() {
    run_each(
        "regressions",
        "pcap_rewrite_guard",
        enshu_pcap::fuzz_cases::pcap_rewrite_guard,
    );
}

#[test]
fn the_walk_reads_what_the_guard_accepts_and_nothing_else() {
    use enshu_pcap::fuzz_cases::{assert_frame_inside, frame_addresses, team_networks};
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x45]);
    frame.extend_from_slice(&[0; 11]);
    frame.extend_from_slice(&[10, 101, 0, 1, 198, 51, 100, 7]);
    assert_eq!(
        frame_addresses(&frame),
        Some(vec![
            "10.101.0.1".parse().unwrap(),
            "198.51.100.7".parse().unwrap()
        ])
    );
    assert_frame_inside(&frame, &team_networks());
    let outside = std::panic::catch_unwind(|| {
        let mut outside = frame.clone();
        outside[30..34].copy_from_slice(&[8, 8, 8, 8]);
        assert_frame_inside(&outside, &team_networks());
    });
    assert!(outside.is_err());
    frame[16] = 0x86;
    assert_eq!(frame_addresses(&frame), None);
}
