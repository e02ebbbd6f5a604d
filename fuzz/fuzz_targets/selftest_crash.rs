//! Not a property of Enshu: a target that panics on any input beginning
//! with `crash` (its one seed, `fuzz/corpus/selftest_crash/crash-seed`),
//! so `tests/fuzz_crash.sh` can prove that `infra/fuzz.sh` fails on a
//! crash, names the input and keeps it. `infra/fuzz.sh --list` (and so
//! `make fuzz` and `make test`'s smoke run) leaves it out.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    assert!(
        !data.starts_with(b"crash"),
        "selftest_crash: an input beginning with `crash`"
    );
});
