#!/usr/bin/env bash
# The way in's benchmark (issue #15, BENCHMARKS.md "The way in: bastion
# against the container's own sshd"): the same SSH client
# (crates/enshu-server/examples/ssh_echo.rs) measures, in one run,
#   1. keystroke echo latency on one shell of team 1, ROUNDS rounds of KEYS
#      keys alternating between Enshu's bastion (`enshu serve`, host
#      loopback) and, as the anchor, the analyst container's own sshd
#      (the client run inside the container's network namespace, so both
#      are one loopback TCP hop into an SSH server);
#   2. TEAMS x PER_TEAM shells held for HOLD seconds, a key a second each,
#      through the bastion and then straight into every team's sshd, with
#      the memory they take while open: the proportional set size (PSS) of
#      `enshu serve`, of dockerd, containerd and the containers' shims,
#      and of every process in the teams' containers, before the shells
#      open and while they are.
#
#   bash infra/bench-terminal.sh [teams] [per-team] [hold-seconds] [keys]
#   (needs root, Docker and the range images; ROUNDS=3 by default;
#   the bastion's TTYs come straight from runc where serve can start them,
#   ENSHU_TERMINAL=docker measures them through the engine's exec instead)
set -euo pipefail
cd "$(dirname "$0")/.."
teams=${1:-25} per_team=${2:-8} hold_seconds=${3:-60} keys=${4:-300}
rounds=${ROUNDS:-3}
target_dir=${CARGO_TARGET_DIR:-target}
enshu=${ENSHU_BIN:-$target_dir/release/enshu}
client=${SSH_ECHO_BIN:-$target_dir/release/examples/ssh_echo}
[ -x "$enshu" ] || cargo build -q --release -p enshu-cli
[ -x "$client" ] || cargo build -q --release -p enshu-server --example ssh_echo
session=benchterm$$
export ENSHU_STATE_DIR=${ENSHU_STATE_DIR:-$(mktemp -d)}
results=$(mktemp -d)
listen_port=${BENCH_LISTEN_PORT:-48443} base_port=${BENCH_BASE_PORT:-42201}
serve_pid=
cleanup() {
  local status=$?
  [ -z "$serve_pid" ] || kill "$serve_pid" 2>/dev/null || true
  [ -z "$serve_pid" ] || wait "$serve_pid" 2>/dev/null || true
  "$enshu" down --session "$session" >/dev/null 2>&1 || true
  if [ "$status" -eq 0 ]; then rm -rf "$results"
  else echo "bench-terminal: the outputs and serve's log are kept in $results" >&2; fi
}
trap cleanup EXIT
say() { echo "== $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg): $*"; }

say "up: $teams teams of tests/fixtures/terminal.yaml"
"$enshu" up crates/enshu-cli/tests/fixtures/terminal.yaml --teams "$teams" --session "$session" \
  --pool "${BENCH_POOL:-10.128.0.0/10}" | tail -n 1
"$enshu" serve --session "$session" --listen "127.0.0.1:$listen_port" \
  --access-bind 127.0.0.1 --access-base-port "$base_port" --check-interval 3600 \
  >"$results/serve.log" 2>&1 &
serve_pid=$!
last_port=$((base_port + teams - 1))
for _ in $(seq 1 120); do
  ss -ltnH "sport = :$last_port" | grep -q . && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$results/serve.log" >&2; exit 1; }
  sleep 0.5
done
ss -ltnH "sport = :$last_port" | grep -q . ||
  { echo "bench-terminal: the bastion's port $last_port did not open within 60 s" >&2; exit 1; }
"$enshu" credentials --session "$session" --base-port "$base_port" --output json >"$results/credentials.json"
field() { python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["teams"][int(sys.argv[2]) - 1]; print(t[sys.argv[3]])' \
  "$results/credentials.json" "$1" "$2"; }
user=$(field 1 user)
container() { printf 'enshu-%s-t%02d-analyst' "$session" "$1"; }
pid_of() { docker inspect -f '{{.State.Pid}}' "$(container "$1")"; }
# The client in the analyst container's network namespace only: the
# binary, its libraries and its view of the files stay the host's.
to_sshd() { # <team> <ssh_echo arguments...>
  local team=$1; shift
  nsenter --net="/proc/$(pid_of "$team")/ns/net" "$client" "$@"
}

say "latency: $rounds rounds of $keys keys, bastion then container sshd"
for round in $(seq 1 "$rounds"); do
  printf 'round %d bastion %s\n' "$round" \
    "$("$client" latency "127.0.0.1:$base_port" "$user" "$(field 1 password)" "$keys")"
  printf 'round %d sshd    %s\n' "$round" \
    "$(to_sshd 1 latency 127.0.0.1:22 "$user" "$(field 1 password)" "$keys")"
done

# PSS in KiB of every process given (smaps_rollup; a process gone is 0).
pss() { local total=0 pid kib; for pid in "$@"; do
    kib=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kib:-0})); done; echo "$total"; }
# Every process of the teams' containers (cgroup v1's memory controller
# or cgroup v2's one hierarchy).
container_pids() { local team cgroup; for team in $(seq 1 "$teams"); do
    cgroup=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$(pid_of "$team")/cgroup")
    if [ -n "$cgroup" ]; then cat "/sys/fs/cgroup/memory$cgroup/cgroup.procs"
    else cat "/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' "/proc/$(pid_of "$team")/cgroup")/cgroup.procs"
    fi; done; }
memory() { # one line: serve, docker daemons, containers (KiB)
  local daemons containers
  read -ra daemons <<<"$(pidof dockerd containerd containerd-shim-runc-v2 containerd-shim)"
  mapfile -t containers < <(container_pids)
  echo "$(pss "$serve_pid") $(pss "${daemons[@]}") $(pss "${containers[@]}")"; }
# CPU time in ms: `enshu serve`, the docker daemons and shims, and the
# teams' containers (cgroup v1's cpuacct, or v2's cpu.stat).
ticks_ms() { local total=0 pid fields; for pid in "$@"; do
    read -ra fields <"/proc/$pid/stat" 2>/dev/null || continue
    total=$((total + fields[13] + fields[14])); done
  echo $((total * 1000 / $(getconf CLK_TCK))); }
container_cpu_ms() { local team path total=0 usage; for team in $(seq 1 "$teams"); do
    path=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ { print $3 }' "/proc/$(pid_of "$team")/cgroup")
    if [ -n "$path" ]; then
      usage=$(cat /sys/fs/cgroup/cpuacct"$path"/cpuacct.usage 2>/dev/null ||
        cat /sys/fs/cgroup/cpu,cpuacct"$path"/cpuacct.usage)
      total=$((total + usage / 1000000))
    else
      path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$(pid_of "$team")/cgroup")
      usage=$(awk '$1 == "usage_usec" { print $2 }' "/sys/fs/cgroup$path/cpu.stat")
      total=$((total + usage / 1000))
    fi; done; echo "$total"; }
cpu() { local daemons
  read -ra daemons <<<"$(pidof dockerd containerd containerd-shim-runc-v2 containerd-shim)"
  echo "$(ticks_ms "$serve_pid") $(ticks_ms "${daemons[@]}") $(container_cpu_ms)"; }
report_cpu() { # <label> <echoes>: CPU between the label's two samples, per echo
  awk -v label="$1" -v n="$2" '
    $1 == label "-start" { s0 = $2; d0 = $3; c0 = $4 }
    $1 == label "-end" { printf "%s hold: CPU per echo: serve %.3f ms, docker daemons and shims %.3f ms, containers %.3f ms (%d echoes)\n",
        label, ($2 - s0) / n, ($3 - d0) / n, ($4 - c0) / n, n }' "$results/cpu"
}
# Waits until the hold's output has OPEN lines, samples the memory once
# the shells have typed for a while, then waits for the hold to end.
held() { # <label> <output files...>
  local label=$1; shift
  for _ in $(seq 1 240); do
    [ "$(cat "$@" 2>/dev/null | grep -c '"open"')" -ge "$#" ] && break
    sleep 0.5
  done
  echo "$label-start $(cpu)" >>"$results/cpu"
  sleep "$sample_after"
  echo "$label $(memory)" >>"$results/memory"
}
report_memory() { # <label> <terminals>
  awk -v label="$1" -v n="$2" '
    $1 == "before" { s0 = $2; d0 = $3; c0 = $4 }
    $1 == label { printf "%s: %d terminals; per terminal: serve %.0f KiB, docker daemons and shims %.0f KiB, containers %.0f KiB, all %.0f KiB\n",
        label, n, ($2 - s0) / n, ($3 - d0) / n, ($4 - c0) / n, ($2 + $3 + $4 - s0 - d0 - c0) / n }' "$results/memory"
}

terminals=$((teams * per_team))
# Memory is sampled this long after the last shell opened: while all type.
sample_after=$((hold_seconds / 3 < 20 ? hold_seconds / 3 : 20))
sleep 5
echo "before $(memory)" >>"$results/memory"
say "hold: $terminals shells through the bastion for $hold_seconds s"
bastion_targets=()
for team in $(seq 1 "$teams"); do
  bastion_targets+=("127.0.0.1:$(field "$team" ssh_port),$user,$(field "$team" password),$per_team")
done
bastion_status=0
SSH_ECHO_SAMPLES="$results/samples-bastion" \
  "$client" hold "$hold_seconds" 1000 "${bastion_targets[@]}" >"$results/hold-bastion" 2>&1 &
hold_pid=$!
held bastion "$results/hold-bastion"
wait "$hold_pid" || bastion_status=$?
echo "bastion-end $(cpu)" >>"$results/cpu"
cat "$results/hold-bastion"
report_memory bastion "$terminals"

# The bastion's shells end with their clients; let them go before the anchor.
sleep 10
echo "before $(memory)" >>"$results/memory"
say "hold: $terminals shells straight into the containers' sshd for $hold_seconds s"
sshd_pids=() sshd_outputs=()
for team in $(seq 1 "$teams"); do
  sshd_outputs+=("$results/hold-sshd-$team")
  SSH_ECHO_SAMPLES="$results/samples-sshd-$team" \
    to_sshd "$team" hold "$hold_seconds" 1000 "127.0.0.1:22,$user,$(field "$team" password),$per_team" \
    >"$results/hold-sshd-$team" 2>&1 &
  sshd_pids+=($!)
done
held sshd "${sshd_outputs[@]}"
sshd_status=0
for pid in "${sshd_pids[@]}"; do wait "$pid" || sshd_status=$?; done
echo "sshd-end $(cpu)" >>"$results/cpu"
say "the sshd holds ended"
python3 - "${sshd_outputs[@]}" <<'EOF'
import json, sys
reports = [json.loads(line) for path in sys.argv[1:] for line in open(path) if '"terminals"' in line]
opened = [json.loads(line) for path in sys.argv[1:] for line in open(path) if '"open"' in line]
print(json.dumps({"open": sum(r["open"] for r in opened), "refused": sum(r["refused"] for r in opened),
                  "opened_in_s": max((r["opened_in_s"] for r in opened), default=None),
                  "keys": sum(r["keys"] for r in reports), "errors": sum(r["errors"] for r in reports),
                  "worst_p99_ms": max((r["p99_ms"] or 0 for r in reports), default=None),
                  "processes": len(sys.argv) - 1}))
EOF
report_memory sshd "$terminals"
# Both holds' echoes, every sample of every client merged.
for side in bastion sshd; do
  cat "$results/samples-$side"* 2>/dev/null | sort -n | awk -v side="$side" '
    { v[NR] = $1 }
    END { if (NR == 0) { printf "%s hold: no echo\n", side; exit }
          i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
          printf "%s hold: %d echoes; p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", side, NR, v[i50], v[i99], v[NR] }'
  report_cpu "$side" "$(cat "$results/samples-$side"* 2>/dev/null | wc -l)"
done
say "done (bastion hold exit $bastion_status, sshd hold exit $sshd_status)"
[ "$bastion_status" -eq 0 ] && [ "$sshd_status" -eq 0 ]
