//! Rewrite throughput in packets per second on tcpreplay's test capture,
//! so a change to the hot path shows its cost before it reaches a range.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enshu_pcap::{Ipv6Policy, RewriteMap, RewriteOptions, Rewriter, read_all_packets};

fn rewrite_throughput(criterion: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/pcaps/tcpreplay_test.pcap");
    let bytes = std::fs::read(&path).expect("reading tcpreplay_test.pcap");
    let packets = read_all_packets(&bytes).expect("parsing tcpreplay_test.pcap");
    let mut map = RewriteMap::new();
    map.map_subnet("0.0.0.0/1".parse().unwrap(), "128.0.0.0/1".parse().unwrap())
        .unwrap();
    map.map_address(
        Ipv4Addr::new(172, 16, 11, 12),
        Ipv4Addr::new(10, 101, 30, 12),
    );
    map.map_port(80, 8080);
    let options = RewriteOptions {
        ipv6: Ipv6Policy::PassThrough,
        ..RewriteOptions::default()
    };

    let mut group = criterion.benchmark_group("rewrite");
    group.throughput(Throughput::Elements(packets.len() as u64));
    group.bench_function("tcpreplay_test.pcap", |bencher| {
        bencher.iter(|| {
            let mut rewriter = Rewriter::new(map.clone(), options.clone());
            for (index, packet) in packets.iter().enumerate() {
                let mut packet = packet.clone();
                black_box(rewriter.rewrite_packet(index, &mut packet).unwrap());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, rewrite_throughput);
criterion_main!(benches);
