#!/usr/bin/env bash
# Log delivery benchmark (BENCHMARKS.md): central logging's latency, from a
# line appended to a log file of a team's host to that line in the SIEM's
# files. The logging fixture (crates/enshu-cli/tests/fixtures/logging.yaml)
# for N teams; each team's web server appends LINES lines, one every
# INTERVAL seconds, to its auth log, each carrying the time it was written
# (the host's clock, which every container shares); a reader inside each
# team's SIEM follows its all.log and notes when each line arrives. The
# anchor, in the same run: the same lines appended to a file of the SIEM
# itself and read by the same reader (the reader's own delay).
#
#   bash infra/bench-logs.sh [teams] [lines] [interval]   (needs images)
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-10} lines=${2:-100} interval=${3:-0.05}
enshu=${ENSHU_BIN:-${CARGO_TARGET_DIR:-target}/debug/enshu}
[ -x "$enshu" ] || cargo build -q -p enshu-cli
session=benchlog$$
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$(mktemp -d)}
results=$(mktemp -d)
cleanup() { "$enshu" down --session "$session" >/dev/null 2>&1 || true; rm -rf "$results"; }
trap cleanup EXIT

"$enshu" up crates/enshu-cli/tests/fixtures/logging.yaml --teams "$teams" --session "$session" \
  --pool "${BENCH_POOL:-10.160.0.0/12}" | tail -n 2
team_name() { printf 't%02d' "$1"; }
# Wait until every team's first line has arrived (forwarders connect after
# their routes exist), so the figures are of a running range: every team at
# once, each waiting inside its SIEM (one exec per team, not one per try).
warm_start=$(date +%s.%N)
warm_pids=()
for team in $(seq 1 "$teams"); do
  t=$(team_name "$team")
  {
    docker exec "enshu-$session-$t-web01" bash -c 'echo bench-warmup >> /var/log/auth.log'
    docker exec "enshu-$session-$t-sc-soc" timeout 180 bash -c \
      'until grep -q bench-warmup /var/log/remote/all.log 2>/dev/null; do sleep 0.5; done' ||
      echo "$t" >>"$results/late"
  } &
  warm_pids+=($!)
done
wait "${warm_pids[@]}"
late=0; [ -f "$results/late" ] && late=$(wc -l <"$results/late")
echo "warm-up: first lines of $((teams - late)) of $teams teams arrived within $(awk -v a="$warm_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after up"

reader='import sys, time
path, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = 0
with open(path) as handle:
    handle.seek(0, 2)
    deadline = time.time() + 120
    while seen < count and time.time() < deadline:
        position = handle.tell()
        line = handle.readline()
        if not line.endswith("\n"):  # nothing new, or a line still being written
            handle.seek(position)
            time.sleep(0.005)
            continue
        arrived = time.time()
        at = line.find(prefix)
        if at < 0:
            continue
        sent = float(line[at + len(prefix):].split()[0])
        print(f"{arrived - sent:.4f}")
        seen += 1'
# shellcheck disable=SC2016 # expanded by the container's bash, from its arguments
writer='for _ in $(seq 1 "$1"); do echo "sshd[1]: bench $2$(date +%s.%N)" >> "$3"; sleep "$4"; done'

measure() { # <label> <writer container> <file it appends to>
  local label=$1 pids=() team t
  for team in $(seq 1 "$teams"); do
    t=$(team_name "$team")
    docker exec "enshu-$session-$t-sc-soc" python3 -c "$reader" /var/log/remote/all.log "$lines" "$label=" \
      >"$results/$label-$t" &
    pids+=($!)
  done
  sleep 1
  for team in $(seq 1 "$teams"); do
    t=$(team_name "$team")
    docker exec "enshu-$session-$t-$2" bash -c "$writer" writer "$lines" "$label=" "$3" "$interval" &
  done
  wait "${pids[@]}"
  wait
  cat "$results/$label"-* | sort -n | awk -v label="$label" -v want=$((teams * lines)) '
    { v[NR] = $1 }
    END {
      if (NR == 0) { printf "%s: no line arrived\n", label; exit }
      p50 = int(NR * 0.50); if (p50 < 1) p50 = 1
      p99 = int(NR * 0.99); if (p99 < 1) p99 = 1
      printf "%s: %d of %d lines; p50 %.3f s, p99 %.3f s, max %.3f s\n", label, NR, want, v[p50], v[p99], v[NR] }'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $teams teams, $lines lines each, one every $interval s"
measure anchor sc-soc /var/log/remote/all.log
measure forwarded web01 /var/log/auth.log
