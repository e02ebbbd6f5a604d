//! Validate + plan the Emotet reference scenario for 100 teams.
//!
//! Anchor, measured in the same run: parsing the same file into a generic
//! `serde_json::Value` with serde-saphyr, the floor any YAML-driven tool pays.

use criterion::{Criterion, criterion_group, criterion_main};
use enshu_scenario::{NoFiles, PlanOptions};

fn emotet() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/emotet-beta.yaml"
    ))
    .unwrap()
}

fn benchmarks(criterion: &mut Criterion) {
    let bytes = emotet();
    let text = String::from_utf8(bytes.clone()).unwrap();
    criterion.bench_function(
        "anchor: parse emotet-beta.yaml into serde_json::Value",
        |bench| {
            bench.iter(|| {
                serde_saphyr::from_str::<serde_json::Value>(std::hint::black_box(&text)).unwrap()
            })
        },
    );
    criterion.bench_function("load + validate emotet-beta.yaml", |bench| {
        bench.iter(|| {
            let loaded =
                enshu_scenario::load("emotet-beta.yaml", std::hint::black_box(&bytes)).unwrap();
            enshu_scenario::validate(&loaded, &Default::default())
        })
    });
    criterion.bench_function(
        "load + validate + plan emotet-beta.yaml for 100 teams",
        |bench| {
            bench.iter(|| {
                let loaded =
                    enshu_scenario::load("emotet-beta.yaml", std::hint::black_box(&bytes)).unwrap();
                // The default pool holds 64 /16 team blocks; 100 teams need a larger one.
                let options = PlanOptions {
                    session: "bench".into(),
                    teams: 100,
                    pool: Some("10.0.0.0/8".parse().unwrap()),
                    files: &NoFiles,
                };
                enshu_scenario::plan(&loaded, &options).unwrap()
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = benchmarks
}
criterion_main!(benches);
