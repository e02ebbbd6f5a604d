#!/usr/bin/env bash
# `make demo`: a whole exercise end to end on the embedded defaults
# (SQLite, local Docker). Two teams play the quickstart scenario; team 1 is
# driven by a scripted player through its own way in, team 2 does nothing.
# The clock runs at ENSHU_DEMO_SPEED (default 6) times real time, so the
# scenario's schedule (beacon at 1m, deface at 2m, SOC alert at 3m) plays in
# 30 seconds and every inject fires on its own; deadlines (20–25 min) leave
# the scripted team over three minutes of wall time.
#
#   bash infra/demo/run.sh          (KEEP=1 keeps the range and the server)
set -euo pipefail
cd "$(dirname "$0")/../.."
export ENSHU_BIN=${ENSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/enshu}
enshu=$ENSHU_BIN
session=${ENSHU_DEMO_SESSION:-demo}
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$PWD/target/demo/state}
results=$PWD/target/demo
port=${ENSHU_DEMO_PORT:-8443}
portal=https://127.0.0.1:$port
mkdir -p "$results"
rm -f "$ENSHU_STATE_DIR/sessions/$session".{db,db-wal,db-shm,server}

server_pid=""
cleanup() {
  { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; } || true
  if [ "${KEEP:-0}" != 1 ]; then $enshu down --session "$session" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "== provisioning 2 team ranges and proving them isolated"
$enshu up scenarios/quickstart.yaml --teams 2 --session "$session"

echo "== starting the exercise server"
$enshu serve --session "$session" --listen "127.0.0.1:$port" --access-bind 127.0.0.1 --check-interval 5 >"$results/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -sk "$portal/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
head -n 8 "$results/serve.log"

speed=${ENSHU_DEMO_SPEED:-6}
echo "== the exercise starts at ${speed}× speed; the injects fire on schedule"
$enshu clock start --session "$session" --speed "$speed"

echo "== team 1 responds (scripted); team 2 does nothing"
bash infra/demo/player.sh "$session" 1 "$portal"

echo "== waiting for the automatic checks (no beacon for the quiet window, file gone)"
for _ in $(seq 1 60); do
  board=$($enshu scoreboard --session "$session" --output json)
  done_phases=$(python3 -c '
import json, sys
team = json.load(sys.stdin)["teams"][0]
print(sum(1 for phase in team["score"]["phases"] if phase.get("points", 0) > 0))' <<<"$board")
  [ "$done_phases" -ge 4 ] && break
  sleep 3
done

echo "== scoreboard"
$enshu scoreboard --session "$session"
$enshu export --session "$session" --format json --to "$results/results.json"
$enshu export --session "$session" --format csv --to "$results/results.csv"
echo "results: $results/results.json, $results/results.csv"
if [ "${KEEP:-0}" = 1 ]; then
  echo "kept: scoreboard at $portal/ (instructor token: $($enshu credentials --session "$session" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["instructor_token"])'))"
  trap - EXIT
fi
