#!/usr/bin/env bash
# Installs cargo-fuzz (0.13.2, from crates.io, locked) into
# ~/.cache/enshu/cargo-fuzz and prints the path of its binary. The fuzz
# crate itself builds on the stable toolchain with RUSTC_BOOTSTRAP=1 (see
# infra/fuzz.sh); cargo-fuzz is a plain stable binary.
set -euo pipefail

version=0.13.2
root="${ENSHU_CARGO_FUZZ_ROOT:-$HOME/.cache/enshu/cargo-fuzz}"
bin="$root/bin/cargo-fuzz"

if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -q " $version\$"; then
    echo "$bin"
    exit 0
fi

echo "fuzz-install: installing cargo-fuzz $version into $root" >&2
if ! nice -n 10 cargo install --root "$root" cargo-fuzz --version "$version" --locked >&2; then
    echo "fuzz-install: could not install cargo-fuzz $version from crates.io into $root" >&2
    echo "fuzz-install: (cargo install --root $root cargo-fuzz --version $version --locked failed; is crates.io reachable?)" >&2
    exit 1
fi
if [[ ! -x "$bin" ]]; then
    echo "fuzz-install: cargo install succeeded but $bin is missing" >&2
    exit 1
fi
echo "$bin"
