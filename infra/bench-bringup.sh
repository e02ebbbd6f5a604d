#!/usr/bin/env bash
# Bring-up benchmark (BENCHMARKS.md): the Emotet reference scenario for N
# teams, from images present to `verify` passing, against the same networks
# and containers created by `docker-compose up -d` from the plan's own
# Compose rendering, in the same run. Also teardown time and memory per team.
#
#   bash infra/bench-bringup.sh [teams]     (needs images: make images)
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-8}
scenario=scenarios/emotet-beta.yaml
enshu=${ENSHU_BIN:-target/release/enshu}
[ -x "$enshu" ] || cargo build --release -q -p enshu-cli
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
memory_mib() { # total memory of the session's containers, MiB
  docker stats --no-stream --format '{{.MemUsage}}' $(docker ps -q --filter "label=enshu.session=$1") |
    awk '{ v = $1; u = v; gsub(/[0-9.]/, "", u); gsub(/[A-Za-z]/, "", v);
           f = (u == "GiB") ? 1024 : (u == "KiB") ? 1/1024 : (u == "B") ? 1/1048576 : 1; s += v * f }
         END { printf "%.0f", s }'
}
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$(mktemp -d)}
compose=$(mktemp --suffix .yml)
cleanup() {
  $enshu down --session bench-enshu >/dev/null 2>&1 || true
  [ -s "$compose" ] && docker-compose -f "$compose" -p bench-compose down -t 2 >/dev/null 2>&1 || true
  rm -f "$compose"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(docker version -f '{{.Server.Version}}') docker, $(docker info -f '{{.Driver}}')"
containers=$($enshu plan "$scenario" --teams "$teams" --output json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(sum(len(t["containers"]) for t in p["teams"]), sum(len(t["networks"]) for t in p["teams"]))')
echo "scenario: $scenario × $teams teams = $containers (containers networks)"

# Enshu: up, which includes verify.
start=$(now)
$enshu up "$scenario" --teams "$teams" --session bench-enshu >/tmp/bench-enshu-up.log 2>&1 || { cat /tmp/bench-enshu-up.log; exit 1; }
end=$(now)
enshu_up=$(secs "$start" "$end")
grep -E "^verify:" /tmp/bench-enshu-up.log
sleep 5
enshu_mem=$(memory_mib bench-enshu)
start=$(now); $enshu down --session bench-enshu >/dev/null; end=$(now)
enshu_down=$(secs "$start" "$end")

# Anchor: docker-compose with the same containers and networks.
$enshu plan "$scenario" --teams "$teams" --session bench-compose --output compose > "$compose"
start=$(now)
COMPOSE_PARALLEL_LIMIT=64 docker-compose -f "$compose" -p bench-compose up -d >/tmp/bench-compose-up.log 2>&1 || { tail /tmp/bench-compose-up.log; exit 1; }
end=$(now)
compose_up=$(secs "$start" "$end")
sleep 5
compose_mem=$(memory_mib bench-compose)
start=$(now); docker-compose -f "$compose" -p bench-compose down -t 2 >/dev/null 2>&1; end=$(now)
compose_down=$(secs "$start" "$end")

ratio=$(awk -v a="$enshu_up" -v b="$compose_up" 'BEGIN { printf "%.2f", a / b }')
echo "| | bring-up (s) | teardown (s) | memory per team (MiB) |"
echo "|---|---|---|---|"
echo "| enshu up (incl. verify) | $enshu_up | $enshu_down | $(( enshu_mem / teams )) |"
echo "| docker-compose up -d (anchor) | $compose_up | $compose_down | $(( compose_mem / teams )) |"
echo "ratio enshu/compose bring-up: $ratio"
