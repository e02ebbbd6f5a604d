#!/usr/bin/env bash
# Fair share under a flood: a two-team quickstart range is brought up and
# served; team 2's portal is timed (GET /api/team, one after another) and
# the delay of team 2's injects after their due times is read from the
# log, first with no flood (the anchor: the `beacon` inject, due at 1 min
# of exercise time) and then while team 1's token sends at least REQUESTS
# writes (answers, reports, hints and firewall changes in turn) over
# CONNECTIONS connections as fast as the server answers, on until team 2's
# `deface` (due at 2 min) fired. Goal: inject delay < 1 s, p99 < 200 ms.
#
#   flock /tmp/enshu-docker-tests.lock timeout 900 \
#     bash infra/bench-flood.sh ENSHU_BIN SESSION PORT ACCESS_PORT SPEED REQUESTS CONNECTIONS RESULTS
#   e.g. bash infra/bench-flood.sh target/debug/enshu flood 8543 2301 2 3000 8 target/bench-flood
set -euo pipefail
[ $# -eq 8 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
enshu=$1 session=$2 port=$3 access_port=$4 speed=$5 requests=$6 connections=$7 results=$8
cd "$(dirname "$0")/.."
tool=infra/bench_flood.py
portal=https://127.0.0.1:$port
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$PWD/target/bench-flood-state}
mkdir -p "$results"
rm -f "$ENSHU_STATE_DIR/sessions/$session".{db,db-wal,db-shm,server}

server_pid=""
cleanup() {
  { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; } || true
  "$enshu" down --session "$session" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$enshu" up scenarios/quickstart.yaml --teams 2 --session "$session" >"$results/up.log" 2>&1
"$enshu" serve --session "$session" --listen "127.0.0.1:$port" --access-bind 127.0.0.1 \
  --access-base-port "$access_port" >"$results/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do curl -sk "$portal/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
credentials=$("$enshu" credentials --session "$session" --output json)
token() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["instructor_token"] if sys.argv[2]=="i" else d["teams"][int(sys.argv[2])-1]["portal_token"])' "$credentials" "$1"; }
instructor=$(token i) team1=$(token 1) team2=$(token 2)

"$enshu" clock start --session "$session" --speed "$speed" >/dev/null
started=$(date +%s.%N)
# Sleep until `exercise_ms` of exercise time minus `lead` seconds.
until_exercise() { python3 -c 'import sys,time; t=float(sys.argv[1])+float(sys.argv[2])/1000/float(sys.argv[3])-float(sys.argv[4]); time.sleep(max(0.0, t-time.time()))' "$started" "$1" "$speed" "$2"; }

# The anchor: nothing but team 2's probe around the beacon's due time.
until_exercise 60000 4
python3 "$tool" probe "$portal" "$team2" 8 "$results/anchor.json"
anchor_delay=$(python3 "$tool" delay "$portal" "$instructor" 2 beacon 60000)

# The flood: team 1's writes from before the deface's due time until it fired.
until_exercise 120000 4
stop=$results/stop
rm -f "$stop"
python3 "$tool" flood "$portal" "$team1" "$requests" "$connections" "$stop" "$results/flood.json" &
flood_pid=$!
python3 "$tool" probe "$portal" "$team2" 8 "$results/during.json"
flood_delay=$(python3 "$tool" delay "$portal" "$instructor" 2 deface 120000)
touch "$stop"
wait "$flood_pid"
refused=$(curl -sk -H "Authorization: Bearer $instructor" "$portal/api/instructor/fair-share")

echo "load: $(uptime)"
echo "anchor (no flood): team 2 GET /api/team $(python3 "$tool" stats "$results/anchor.json"); beacon fired ${anchor_delay} ms after due"
echo "flood: team 2 GET /api/team $(python3 "$tool" stats "$results/during.json"); deface fired ${flood_delay} ms after due"
echo "flood sent by team 1: $(cat "$results/flood.json")"
echo "refusals the instructor sees: $refused"
