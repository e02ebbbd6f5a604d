#!/usr/bin/env bash
# `make demo [SCENARIO=emotet-beta]`: a whole exercise end to end on the
# embedded defaults (SQLite, local Docker). Two teams play the scenario;
# team 1 is driven by the scenario's solver (scenarios/solvers/<id>.py, or
# .sh) through its own way in and the portal, team 2 does nothing. The
# solver also plays the instructor who grades the judged objectives.
#
# The exercise clock runs at ENSHU_DEMO_SPEED times real time (default 6
# for the quickstart, 20 for the municipal scenarios), so every inject
# fires on its own within a few minutes; check windows and traffic
# intervals are exercise time and shrink with it. The run ends when team 1
# has met every objective and every inject has fired for both teams, or
# after ENSHU_DEMO_LIMIT seconds (default 600).
#
#   bash infra/demo/run.sh [SCENARIO]    (KEEP=1 keeps the range and the server)
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario=${1:-${SCENARIO:-quickstart}}
scenario_file=scenarios/$scenario.yaml
[ -f "$scenario_file" ] || { echo "no scenario $scenario_file" >&2; exit 2; }
solver=scenarios/solvers/$scenario.py
[ -f "$solver" ] || solver=scenarios/solvers/$scenario.sh
[ -f "$solver" ] || { echo "no solver for $scenario in scenarios/solvers/" >&2; exit 2; }
export ENSHU_BIN=${ENSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/enshu}
enshu=$ENSHU_BIN
session=${ENSHU_DEMO_SESSION:-demo}
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$PWD/target/demo/state}
results=${ENSHU_DEMO_RESULTS:-$PWD/target/demo/$scenario}
port=${ENSHU_DEMO_PORT:-8443}
access_port=${ENSHU_DEMO_ACCESS_PORT:-2201}
limit=${ENSHU_DEMO_LIMIT:-600}
portal=https://127.0.0.1:$port
default_speed=20
[ "$scenario" = quickstart ] && default_speed=6
speed=${ENSHU_DEMO_SPEED:-$default_speed}
mkdir -p "$results"
$enshu plan "$scenario_file" --teams 2 --output json >"$results/plan.json"
rm -f "$ENSHU_STATE_DIR/sessions/$session".{db,db-wal,db-shm,server}

server_pid=""
cleanup() {
  { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; } || true
  if [ "${KEEP:-0}" != 1 ]; then $enshu down --session "$session" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

echo "== $scenario: provisioning 2 team ranges and proving them isolated"
started=$SECONDS
$enshu up "$scenario_file" --teams 2 --session "$session"
echo "   up and verified in $((SECONDS - started)) s"

echo "== starting the exercise server"
$enshu serve --session "$session" --listen "127.0.0.1:$port" --access-bind 127.0.0.1 \
  --access-base-port "$access_port" --check-interval 5 >"$results/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -sk "$portal/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
head -n 8 "$results/serve.log"

echo "== the exercise starts at ${speed}× speed; the injects fire on schedule"
$enshu clock start --session "$session" --speed "$speed"

echo "== team 1 responds ($solver); team 2 does nothing"
# A solver that fails still leaves the scoreboard and the export to read.
solved=0
case $solver in
  *.py) python3 "$solver" "$session" 1 "$portal" --access-port "$access_port" || solved=$? ;;
  *.sh) bash "$solver" "$session" 1 "$portal" "$access_port" || solved=$? ;;
esac
[ "$solved" = 0 ] || limit=30

echo "== waiting for the automatic checks and the rest of the schedule"
state=""
for _ in $(seq 1 "$((limit / 3))"); do
  state=$(python3 infra/demo/progress.py "$results/plan.json" \
    <($enshu scoreboard --session "$session" --output json) \
    <($enshu export --session "$session" --format json))
  [ "$state" = complete ] && break
  sleep 3
done
echo "   $state"

echo "== scoreboard"
$enshu scoreboard --session "$session"
$enshu scoreboard --session "$session" --output json >"$results/scoreboard.json"
$enshu export --session "$session" --format json --to "$results/results.json"
$enshu export --session "$session" --format csv --to "$results/results.csv"
echo "results: $results/results.json, $results/results.csv"
if [ "${KEEP:-0}" = 1 ]; then
  echo "kept: scoreboard at $portal/ (instructor token: $($enshu credentials --session "$session" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["instructor_token"])'))"
  trap - EXIT
fi
[ "$solved" = 0 ] || { echo "the solver failed (exit $solved)" >&2; exit 1; }
[ "$state" = complete ]
