#!/usr/bin/env bash
# Runs Enshu's fuzz targets (fuzz/, cargo-fuzz and libFuzzer) one after
# another, each for N seconds (default 60), and fails naming any input that
# broke a target's property.
#
#   infra/fuzz.sh TARGET... [--seconds N]
#   infra/fuzz.sh --list
#
# The fuzz crate builds on the stable toolchain with RUSTC_BOOTSTRAP=1 (the
# sanitizer flags cargo-fuzz passes are unstable ones); cargo-fuzz itself
# is installed into ~/.cache/enshu/cargo-fuzz by infra/fuzz-install.sh.
# Each run reads the committed seeds in fuzz/corpus/TARGET and writes what
# it learns to fuzz/corpus-run/TARGET (not committed), with the target's
# dictionary from fuzz/dict. A crashing input is saved into
# fuzz/regressions/TARGET/ (or ENSHU_FUZZ_REGRESSIONS/TARGET/), where the
# crate's tests/fuzz_cases.rs runs it from then on: fix the crate, keep
# the file. A failed run ends by naming every failed target and its
# saved input. --list leaves out `selftest_*` targets, which exist
# only to test this script (tests/fuzz_crash.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
seconds=60
targets=()

usage() {
    echo "usage: infra/fuzz.sh TARGET... [--seconds N] | --list" >&2
    echo "targets: $(list_targets | tr '\n' ' ')" >&2
    exit 2
}

list_targets() {
    sed -n 's/^name = "\([a-z_]*\)"$/\1/p' "$fuzz_dir/Cargo.toml" | grep -v -e '^enshu-fuzz$' -e '^selftest_'
}

all_targets() {
    sed -n 's/^name = "\([a-z_]*\)"$/\1/p' "$fuzz_dir/Cargo.toml" | grep -v '^enshu-fuzz$'
}

dictionary_of() {
    case "$1" in
        scenario_*) echo "$fuzz_dir/dict/yaml.dict" ;;
        pcap_* | replay_*) echo "$fuzz_dir/dict/pcapng.dict" ;;
        server_*) echo "$fuzz_dir/dict/json.dict" ;;
        *) echo "" ;;
    esac
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds)
            [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage
            seconds="$2"
            shift 2
            ;;
        --seconds=*)
            seconds="${1#--seconds=}"
            [[ "$seconds" =~ ^[0-9]+$ ]] || usage
            shift
            ;;
        --list)
            list_targets
            exit 0
            ;;
        -h | --help) usage ;;
        -*) usage ;;
        *)
            targets+=("$1")
            shift
            ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || usage
known="$(all_targets)"
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$known"; then
        echo "fuzz: unknown target $target (known: $(tr '\n' ' ' <<<"$known"))" >&2
        exit 2
    fi
done

cargo_fuzz="$(bash "$root/infra/fuzz-install.sh")"
PATH="$(dirname "$cargo_fuzz"):$PATH"
export PATH RUSTC_BOOTSTRAP=1
sanitizer="${ENSHU_FUZZ_SANITIZER:-address}"
triple="$(rustc -vV | sed -n 's/^host: //p')"

started=$(date +%s)
# One build for every target: they share their dependencies.
if ! (cd "$fuzz_dir" && nice -n 10 cargo fuzz build --sanitizer "$sanitizer"); then
    echo "fuzz: building the fuzz crate failed" >&2
    exit 1
fi
echo "fuzz: built in $(($(date +%s) - started)) s (sanitizer $sanitizer)"

failed=()
for target in "${targets[@]}"; do
    binary="$fuzz_dir/target/$triple/release/$target"
    regressions="${ENSHU_FUZZ_REGRESSIONS:-$fuzz_dir/regressions}/$target"
    run_corpus="$fuzz_dir/corpus-run/$target"
    log="$fuzz_dir/target/$target.log"
    mkdir -p "$regressions" "$run_corpus"
    arguments=(
        "$run_corpus" "$fuzz_dir/corpus/$target"
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10
        -artifact_prefix="$regressions/" -print_final_stats=1
    )
    dictionary="$(dictionary_of "$target")"
    [[ -n "$dictionary" ]] && arguments+=(-dict="$dictionary")
    echo "fuzz: $target for $seconds s"
    status=0
    nice -n 10 "$binary" "${arguments[@]}" >"$log" 2>&1 || status=$?
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
    [[ -n "$done_line" ]] || done_line="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    per_second="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' <<<"$done_line" | tail -n 1 | cut -d' ' -f2 || true)"
    features="$(grep -oE 'ft: [0-9]+' <<<"$done_line" | tail -n 1 | cut -d' ' -f2 || true)"
    corpus="$(find "$run_corpus" -type f | wc -l)"
    echo "fuzz: $target: ${runs:-?} runs, ${per_second:-?} exec/s, cov ${cov:-?}, ft ${features:-?}, run corpus $corpus files (log $log)"
    if [[ $status -ne 0 ]]; then
        input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -n 5 >&2 || true
        echo "fuzz: $target failed (exit $status) on ${input:-an input not saved; see $log}" >&2
        failed+=("$target: ${input:-see $log}")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: ${#failed[@]} target(s) failed:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi
