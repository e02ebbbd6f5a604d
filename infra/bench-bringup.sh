#!/usr/bin/env bash
# Bring-up benchmark (BENCHMARKS.md): the Emotet reference scenario for N
# teams, from images present to `verify` passing, against the same networks
# and containers created by the plain Docker CLI (`docker network create`,
# then `xargs -P` over `docker create` / `network connect` / `start`,
# infra/anchor-docker-run.sh), in the same run. Also teardown time and
# memory per team.
#
#   bash infra/bench-bringup.sh [teams]     (needs images: make images)
#
# Environment: MEMORY_WAIT (seconds after up before memory is read,
# default 5; the services settle within a minute), ENSHU_CONCURRENCY (containers at once, default enshu's own),
# ENSHU_VERIFY_CONCURRENCY, ANCHOR_PARALLEL (xargs -P, default 8),
# BENCH_POOL (default 172.24.0.0/13, one /16 per team; the anchor reuses it
# after enshu is down, as 10/8 is taken by tests here), BENCH_COMPOSE=1 to also time `docker-compose up -d`
# (Compose 1.29 hung on Docker 20.10 here; off by default).
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-8}
scenario=scenarios/emotet-beta.yaml
enshu=${ENSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/enshu}
[ -x "$enshu" ] || cargo build --release -q -p enshu-cli
pool=${BENCH_POOL:-172.24.0.0/13}
anchor_pool=${ANCHOR_POOL:-$pool}
anchor_parallel=${ANCHOR_PARALLEL:-8}
enshu_flags=() down_flags=()
[ -n "${ENSHU_CONCURRENCY:-}" ] && enshu_flags+=(--concurrency "$ENSHU_CONCURRENCY") down_flags+=(--concurrency "$ENSHU_CONCURRENCY")
[ -n "${ENSHU_VERIFY_CONCURRENCY:-}" ] && enshu_flags+=(--verify-concurrency "$ENSHU_VERIFY_CONCURRENCY")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
memory_mib() { # total memory of the session's containers, MiB
  # shellcheck disable=SC2046 # one word per container id
  docker stats --no-stream --format '{{.MemUsage}}' $(docker ps -q --filter "label=enshu.session=$1") |
    awk '{ v = $1; u = v; gsub(/[0-9.]/, "", u); gsub(/[A-Za-z]/, "", v);
           f = (u == "GiB") ? 1024 : (u == "KiB") ? 1/1024 : (u == "B") ? 1/1048576 : 1; s += v * f }
         END { printf "%.0f", s }'
}
# Where the memory is (cgroup v1 memory.stat of each container, MiB for the
# whole session): anonymous memory, and active and inactive page cache.
# docker stats counts anonymous + active page cache; the page cache of
# image files is per container on fuse-overlayfs, shared on overlay2 (it
# is charged to the container that read a page first).
memory_breakdown() {
  local id total_rss=0 active=0 inactive=0 stat r a i
  for id in $(docker ps -q --no-trunc --filter "label=enshu.session=$1"); do
    stat=/sys/fs/cgroup/memory/docker/$id/memory.stat
    [ -r "$stat" ] || { echo "no cgroup v1 memory.stat for $id"; return; }
    read -r r a i < <(awk '$1 == "total_rss" { r = $2 } $1 == "total_active_file" { a = $2 } $1 == "total_inactive_file" { i = $2 }
                           END { print r, a, i }' "$stat")
    total_rss=$((total_rss + r)) active=$((active + a)) inactive=$((inactive + i))
  done
  awk -v r="$total_rss" -v a="$active" -v i="$inactive" -v t="$2" 'BEGIN {
    m = 1048576 * t; printf "anon %.0f, active page cache %.0f, inactive page cache %.0f MiB per team", r / m, a / m, i / m }'
}
# The machine's own view: MemTotal - MemAvailable, MiB (counts what no
# container's cgroup holds, e.g. one fuse-overlayfs daemon per container).
machine_used_mib() { awk '$1 == "MemTotal:" { t = $2 } $1 == "MemAvailable:" { a = $2 } END { printf "%.0f", (t - a) / 1024 }' /proc/meminfo; }
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$(mktemp -d)}
anchor_plan=$(mktemp --suffix .json)
compose=$(mktemp --suffix .yml)
cleanup() {
  $enshu down --session bench-enshu >/dev/null 2>&1 || true
  bash infra/anchor-docker-run.sh down bench-anchor 8 >/dev/null 2>&1 || true
  { [ -s "$compose" ] && docker-compose -f "$compose" -p bench-compose down -t 2 >/dev/null 2>&1; } || true
  rm -f "$compose" "$anchor_plan"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ { print $2 }') GiB, docker $(docker version -f '{{.Server.Version}}'), $(docker info -f '{{.Driver}}')"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg); other containers running: $(docker ps -q | wc -l)"
containers=$($enshu plan "$scenario" --teams "$teams" --output json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(sum(len(t["containers"]) for t in p["teams"]), sum(len(t["networks"]) for t in p["teams"]))')
echo "scenario: $scenario × $teams teams = $containers (containers networks)"

# Enshu: up, which includes verify.
used_before=$(machine_used_mib)
start=$(now)
$enshu up "$scenario" --teams "$teams" --session bench-enshu --pool "$pool" "${enshu_flags[@]}" >/tmp/bench-enshu-up.log 2>&1 || { cat /tmp/bench-enshu-up.log; exit 1; }
end=$(now)
enshu_up=$(secs "$start" "$end")
grep -E "^(session |phases:|verify:)" /tmp/bench-enshu-up.log
sleep "${MEMORY_WAIT:-5}"
enshu_mem=$(memory_mib bench-enshu)
enshu_machine=$(( ($(machine_used_mib) - used_before) / teams ))
echo "enshu: $(memory_breakdown bench-enshu "$teams"); machine (MemTotal - MemAvailable) +$enshu_machine MiB per team"
start=$(now); $enshu down --session bench-enshu "${down_flags[@]}" >/dev/null; end=$(now)
enshu_down=$(secs "$start" "$end")

# Anchor: the plain Docker CLI, same networks and containers.
$enshu plan "$scenario" --teams "$teams" --session bench-anchor --pool "$anchor_pool" --output json > "$anchor_plan"
used_before=$(machine_used_mib)
start=$(now)
bash infra/anchor-docker-run.sh up "$anchor_plan" "$anchor_parallel"
end=$(now)
anchor_up=$(secs "$start" "$end")
running=$(docker ps -q --filter label=enshu.session=bench-anchor | wc -l)
sleep "${MEMORY_WAIT:-5}"
anchor_mem=$(memory_mib bench-anchor)
anchor_machine=$(( ($(machine_used_mib) - used_before) / teams ))
echo "anchor: $(memory_breakdown bench-anchor "$teams"); machine (MemTotal - MemAvailable) +$anchor_machine MiB per team"
start=$(now); bash infra/anchor-docker-run.sh down bench-anchor "$anchor_parallel"; end=$(now)
anchor_down=$(secs "$start" "$end")

ratio=$(awk -v a="$enshu_up" -v b="$anchor_up" 'BEGIN { printf "%.2f", a / b }')
echo "| | bring-up (s) | teardown (s) | memory per team (MiB) |"
echo "|---|---|---|---|"
echo "| enshu up (incl. verify) | $enshu_up | $enshu_down | $(( enshu_mem / teams )) |"
echo "| anchor: docker CLI, xargs -P $anchor_parallel ($running running) | $anchor_up | $anchor_down | $(( anchor_mem / teams )) |"
echo "ratio enshu/anchor bring-up: $ratio"

if [ "${BENCH_COMPOSE:-0}" = 1 ]; then
  $enshu plan "$scenario" --teams "$teams" --session bench-compose --pool "$anchor_pool" --output compose > "$compose"
  start=$(now)
  timeout 600 env COMPOSE_PARALLEL_LIMIT=64 docker-compose -f "$compose" -p bench-compose up -d >/tmp/bench-compose-up.log 2>&1 || { tail /tmp/bench-compose-up.log; }
  end=$(now)
  echo "docker-compose up -d: $(secs "$start" "$end") s, $(docker ps -q --filter label=enshu.session=bench-compose | wc -l) running"
fi
