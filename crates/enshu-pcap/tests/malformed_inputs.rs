//! Fuzz-style robustness: truncated and bit-flipped versions of every
//! fixture must give packets or a clear error, never a panic, through every
//! entry point that takes captured bytes.

mod common;

use common::{FIXTURES, fixture_bytes};
use enshu_pcap::{
    CaptureReader, EgressGuard, Ipv4Network, Ipv6Policy, RewriteMap, RewriteOptions, Rewriter,
    VlanPolicy, capture_summary_from_bytes,
};

/// Reads everything, rewrites and guards every packet read; returns how
/// many packets came out before the first error, if any.
fn exercise(bytes: &[u8]) -> usize {
    let _ = capture_summary_from_bytes(bytes);
    let Ok(reader) = CaptureReader::new(bytes) else {
        return 0;
    };
    let mut map = RewriteMap::new();
    map.map_subnet("0.0.0.0/1".parse().unwrap(), "128.0.0.0/1".parse().unwrap())
        .unwrap();
    map.map_port(80, 8080);
    let options = RewriteOptions {
        vlan: VlanPolicy::StripAll,
        ipv6: Ipv6Policy::PassThrough,
        ..RewriteOptions::default()
    };
    let mut rewriter = Rewriter::new(map, options);
    let guard = EgressGuard::new(vec!["128.0.0.0/1".parse::<Ipv4Network>().unwrap()]);
    let mut packet_count = 0;
    for (index, packet) in reader.enumerate() {
        let Ok(mut packet) = packet else { break };
        let _ = guard.check(&packet.data);
        let _ = rewriter.rewrite_packet(index, &mut packet);
        let _ = guard.check(&packet.data);
        packet_count += 1;
    }
    packet_count
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_fixtures_never_panic() {
    for (name, _) in FIXTURES {
        let bytes = fixture_bytes(name);
        // Every cut in the first 512 bytes, then about 300 more spread out.
        let step = (bytes.len() / 300).max(1);
        let cuts = (0..bytes.len().min(512)).chain((512..bytes.len()).step_by(step));
        for cut in cuts {
            exercise(&bytes[..cut]);
        }
    }
}

#[test]
fn truncation_is_reported_with_its_byte_offset() {
    let bytes = fixture_bytes("dns_axfr.pcapng");
    let cut = &bytes[..bytes.len() - 3];
    let error = CaptureReader::new(cut)
        .unwrap()
        .find_map(Result::err)
        .expect("an error");
    let message = error.to_string();
    assert!(
        message.starts_with("truncated pcapng block at byte offset "),
        "{message}"
    );
}

#[test]
fn bit_flipped_fixtures_never_panic() {
    let mut random = XorShift(0x5eed_1234_abcd_9876);
    for (name, _) in FIXTURES {
        let original = fixture_bytes(name);
        for _ in 0..400 {
            let mut bytes = original.clone();
            // Flip up to 4 bits, biased towards headers near the start.
            for _ in 0..=(random.next() % 4) {
                let window = if random.next().is_multiple_of(2) {
                    bytes.len().min(256)
                } else {
                    bytes.len()
                };
                let position = (random.next() as usize) % window;
                bytes[position] ^= 1 << (random.next() % 8);
            }
            exercise(&bytes);
        }
    }
}

#[test]
fn huge_length_fields_are_refused_without_allocating() {
    // A pcap record claiming 4 GiB of data, and a pcapng block claiming
    // almost 4 GiB: both must fail on the bounds check.
    let mut pcap = fixture_bytes("tcpreplay_test.pcap")[..24 + 16].to_vec();
    pcap[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let error = CaptureReader::new(&pcap)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "truncated pcap packet data at byte offset 40: needs 4294967295 bytes, only 0 remain"
    );

    let mut pcapng = fixture_bytes("dns.pcap");
    pcapng[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let error = CaptureReader::new(&pcapng).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("truncated pcapng block at byte offset 0: needs 4294967280 bytes"),
        "{error}"
    );
}
