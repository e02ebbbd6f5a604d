#!/usr/bin/env bash
# infra/fuzz.sh on a crash, as `make test`'s fuzz smoke run relies on: it
# must exit non-zero, name the target and the input it saved, and the
# saved file must be the input that crashed. The target is fuzz/'s
# `selftest_crash` (it panics on an input beginning with `crash`, its one
# seed); the input is kept in a scratch folder (ENSHU_FUZZ_REGRESSIONS),
# not in fuzz/regressions/.
#
#   bash tests/fuzz_crash.sh     (make test, after the smoke run built the targets)
set -euo pipefail
cd "$(dirname "$0")/.."
kept=$(mktemp -d)
trap 'rm -rf "$kept"' EXIT
status=0
said=$(ENSHU_FUZZ_REGRESSIONS="$kept" bash infra/fuzz.sh selftest_crash --seconds 20 2>&1) || status=$?
fail() {
  echo "fuzz_crash: $1" >&2
  echo "--- infra/fuzz.sh said:" >&2
  echo "$said" >&2
  exit 1
}
[ "$status" -eq 1 ] || fail "infra/fuzz.sh exited $status on a crashing target, not 1"
saved=$(find "$kept/selftest_crash" -type f -name 'crash-*')
if [ -z "$saved" ] || [ "$(wc -l <<<"$saved")" -ne 1 ]; then
  fail "expected one crash-* input in $kept/selftest_crash, found: ${saved:-none}"
fi
[ "$(head -c 5 "$saved")" = crash ] || fail "the saved input $saved is not the one that crashed"
grep -qF "fuzz: selftest_crash failed (exit " <<<"$said" || fail "no line names the failed target"
grep -qF "selftest_crash: $saved" <<<"$said" || fail "the closing list does not name $saved"
grep -qF "panicked at" <<<"$said" || fail "the panic's message is not shown"
echo "fuzz_crash: infra/fuzz.sh failed on the crash and kept $(basename "$saved")"
