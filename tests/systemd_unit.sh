#!/usr/bin/env bash
# The systemd unit for `enshu serve` (infra/systemd/enshu-serve@.service)
# as systemd reads it: `systemd-analyze verify` of an instance of it whose
# ExecStart is the enshu given (the one just built, for the unit's
# /usr/local/bin/enshu), which must say nothing: systemd only warns, and
# exits 0, for a key it cannot parse. That SIGTERM, the unit's
# KillSignal, stops `enshu serve` gracefully is tested by
# crates/enshu-cli/tests/range.rs (every_team_logs_in_at_once...).
#
#   bash tests/systemd_unit.sh ENSHU_BINARY     (make test)
set -euo pipefail
cd "$(dirname "$0")/.."
enshu=$(realpath "${1:?usage: tests/systemd_unit.sh ENSHU_BINARY}")
unit=infra/systemd/enshu-serve@.service
command -v systemd-analyze >/dev/null ||
  { echo "systemd_unit: systemd-analyze is missing (make deps installs systemd)" >&2; exit 1; }
[ -x "$enshu" ] || { echo "systemd_unit: $enshu is not an executable" >&2; exit 1; }
grep -q '^ExecStart=/usr/local/bin/enshu serve --session %i$' "$unit" ||
  { echo "systemd_unit: $unit does not start \`enshu serve --session %i\`" >&2; exit 1; }
grep -q '^KillSignal=SIGTERM$' "$unit" ||
  { echo "systemd_unit: $unit does not stop enshu serve with SIGTERM" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/enshu|$enshu|" "$unit" >"$work/enshu-serve@.service"
ln -s enshu-serve@.service "$work/enshu-serve@cyder1.service"
status=0
said=$(systemd-analyze verify "$work/enshu-serve@cyder1.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$said" ]; then
  echo "systemd_unit: systemd-analyze verify of $unit (exit $status):" >&2
  echo "$said" >&2
  exit 1
fi
# The instance's command line as enshu parses it.
"$enshu" serve --help | grep -q -- '--session' ||
  { echo "systemd_unit: enshu serve takes no --session" >&2; exit 1; }
echo "systemd_unit: $unit verified by systemd-analyze, instance enshu-serve@cyder1"
