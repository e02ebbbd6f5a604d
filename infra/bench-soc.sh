#!/usr/bin/env bash
# The SOC's three measured goals (issue #13, BENCHMARKS.md "The SOC's goals
# in one run"), one after the other in one run, each with its anchor:
#   1. bring-up of TEAMS Emotet teams against the plain Docker CLI, and
#      memory per team MEMORY_WAIT seconds after up (infra/bench-bringup.sh);
#   2. log delivery latency for LOG_TEAMS teams (infra/bench-logs.sh).
#
#   bash infra/bench-soc.sh [teams] [log-teams] [lines] [interval]
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-8} log_teams=${2:-50} lines=${3:-100} interval=${4:-0.05}
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
MEMORY_WAIT=${MEMORY_WAIT:-60} bash infra/bench-bringup.sh "$teams"
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
# One /16 per team: 50 teams need more than the script's default /12.
BENCH_POOL=${LOG_POOL:-10.128.0.0/10} bash infra/bench-logs.sh "$log_teams" "$lines" "$interval"
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
