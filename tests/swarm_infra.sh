#!/usr/bin/env bash
# The local test swarm (infra/swarm.sh) end to end, and the host left as it
# was found.
#
#   bash tests/swarm_infra.sh        (root, Docker, after `make images`)
#
# 1. Records the host: iptables and ip6tables rules, nf_tables and legacy
#    (no counters), links,
#    mounts, processes (with their cgroups), cgroup directories, Docker
#    containers and networks.
# 2. `up 3`, `down`, `up 3` again: the first and the second bring-up timed.
# 3. Distributes enshu/base:latest to every node (timed per node), then once
#    more: every node must be skipped (same image ID).
# 4. On the manager, two attachable internal overlay networks ta and tb;
#    services a (ta, node 2) and b (ta, node 3), c (tb, node 2), each an
#    HTTP server on 8080 placed by node.hostname. b reaches a by name and a
#    reaches b across the nodes; c reaches itself but neither a (same node,
#    other network) nor b (other node), by address or by name.
# 5. `down`, then the host is recorded again: any difference that names the
#    swarm (its prefix, bridge, subnet, node container IDs, node rootfs
#    layers, state directories) fails the test; other differences are made
#    by others on this shared machine and are listed, not failed, unless
#    ENSHU_SWARM_TEST_STRICT=1.
#
# ENSHU_SWARM_TEST_COLD=1 removes the node image first, so the first up
# includes its import from the cached rootfs (or its debootstrap).
#
# Bounded: every step has its own timeout and the whole test stops after
# ENSHU_SWARM_TEST_LIMIT seconds (default 900), tearing the swarm down.
set -euo pipefail

LIMIT=${ENSHU_SWARM_TEST_LIMIT:-900}
# The whole run under timeout(1): its TERM fails the test (and tears the
# swarm down) once the step running then ends; each step is bounded too.
if [[ -z ${ENSHU_SWARM_TEST_BOUNDED:-} ]]; then
  export ENSHU_SWARM_TEST_BOUNDED=1
  exec timeout -k 120 "$LIMIT" bash "$0" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SWARM=(bash "$REPO/infra/swarm.sh")
PREFIX="swt-$$"
PREFIX=${PREFIX:0:12}
SUBNET=${ENSHU_SWARM_TEST_SUBNET:-172.31.241.0/24}
SUBNET_STEM=${SUBNET%.*}.
RUN_ROOT=${ENSHU_SWARM_RUN:-/run/enshu/swarm}
STATE_ROOT=${ENSHU_SWARM_STATE:-/var/lib/enshu/swarm}
WORK=$(mktemp -d /tmp/enshu-swarm-test.XXXXXX)
TIMINGS=()
START=$(date +%s.%N)

say() { printf 'swarm_infra: %s\n' "$*"; }
fail() { printf 'swarm_infra: FAIL: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
timing() { TIMINGS+=("$1"); say "timing: $1"; }
node_dk() { local node=$1; shift; timeout 60 docker -H "unix://$RUN_ROOT/$node/docker.sock" "$@"; }
manager() { node_dk "$PREFIX-1" "$@"; }

cleanup() {
  local rc=$?
  if ((rc != 0)); then
    say "tearing the swarm down after the failure"
    "${SWARM[@]}" down --prefix "$PREFIX" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'fail "stopped after ${LIMIT} s (ENSHU_SWARM_TEST_LIMIT)"' TERM

# --- host state ------------------------------------------------------------

snapshot() { # <dir>
  local dir=$1
  mkdir -p "$dir"
  { iptables-save; ip6tables-save; iptables-legacy-save; ip6tables-legacy-save; } 2>/dev/null | sed -E '/^#/d; s/ \[[0-9]+:[0-9]+\]$//' >"$dir/iptables"
  # name (without @peer) and bridge master: state flags change with others' use
  ip -o link show | awk '{ name = $2; sub(/:$/, "", name); sub(/@.*/, "", name); master = "";
    for (i = 3; i < NF; i++) if ($i == "master") master = " master " $(i + 1); print name master }' |
    sort >"$dir/links"
  awk '{ print $5, $(NF - 2) }' /proc/self/mountinfo | sort >"$dir/mounts"
  # without kernel threads and this test's own process tree
  ps -eo pid=,ppid=,cgroup:512=,args= >"$dir/ps"
  awk -v self=$$ '{ pid[NR] = $1; parent[$1] = $2; line[NR] = $0 }
    END { for (i = 1; i <= NR; i++) {
            p = pid[i]; skip = (p == 2 || parent[p] == 2)
            for (q = p; q > 1 && !skip; q = parent[q]) if (q == self) skip = 1
            if (!skip) { l = line[i]; sub(/^ *[0-9]+ +[0-9]+ +/, "", l); gsub(/ +/, " ", l); print p, l } } }' \
    "$dir/ps" | sort >"$dir/processes"
  rm -f "$dir/ps"
  find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d 2>/dev/null | sort >"$dir/cgroups"
  docker ps -a --no-trunc --format '{{ .ID }} {{ .Names }}' | sort >"$dir/containers"
  docker network ls --no-trunc --format '{{ .ID }} {{ .Name }}' | sort >"$dir/networks"
}

# Patterns naming the swarm (one per line), for grep -F.
swarm_patterns() {
  printf '%s\n' "$PREFIX-" "$SUBNET_STEM" "$RUN_ROOT/$PREFIX" "$STATE_ROOT/$PREFIX"
  cat "$WORK/node-ids" "$WORK/node-layers" 2>/dev/null || true
}

compare_host() { # <before> <after>
  local kind ours=0 others=0 changes
  swarm_patterns | grep . >"$WORK/patterns"
  for kind in iptables links mounts processes cgroups containers networks; do
    changes=$(diff "$1/$kind" "$2/$kind" | grep -E '^[<>]' || true)
    [[ -n $changes ]] || continue
    if grep -F -f "$WORK/patterns" <<<"$changes" >"$WORK/ours"; then
      say "left on the host ($kind), naming the swarm:" >&2
      cut -c1-300 "$WORK/ours" | sed 's/^/    /' >&2
      ours=$((ours + $(wc -l <"$WORK/ours")))
    fi
    if grep -v -F -f "$WORK/patterns" <<<"$changes" >"$WORK/others"; then
      say "changed meanwhile ($kind), not naming the swarm (others on this host): $(wc -l <"$WORK/others") line(s)"
      # others' processes come and go on a shared machine: counted, not shown
      [[ $kind == processes ]] || cut -c1-200 "$WORK/others" | sed 's/^/    /' | head -n 5
      others=$((others + $(wc -l <"$WORK/others")))
    fi
  done
  ((ours == 0)) || fail "$ours line(s) of host state the swarm made are still there after down"
  if ((others > 0)) && [[ ${ENSHU_SWARM_TEST_STRICT:-0} == 1 ]]; then
    fail "$others line(s) of host state differ (ENSHU_SWARM_TEST_STRICT=1)"
  fi
  say "host state after down: nothing of the swarm left ($others other change(s) on the host meanwhile)"
}

# --- steps -------------------------------------------------------------------

up() { # <label>
  local t0 out
  t0=$(now)
  out=$("${SWARM[@]}" up 3 --prefix "$PREFIX" --subnet "$SUBNET" --timeout 120 2>&1) ||
    { printf '%s\n' "$out" >&2; fail "up 3 failed"; }
  printf '%s\n' "$out" | sed 's/^/    /'
  timing "$1: up 3 in $(since "$t0") s"
}

record_nodes() {
  local i id
  for i in 1 2 3; do
    id=$(docker inspect -f '{{ .Id }}' "$PREFIX-$i") || fail "no node container $PREFIX-$i"
    echo "$id" >>"$WORK/node-ids"
    docker inspect -f '{{ .GraphDriver.Data.MergedDir }}' "$PREFIX-$i" | sed 's|/merged$||' | grep . >>"$WORK/node-layers" || true
  done
}

check_status() {
  local json i
  json=$("${SWARM[@]}" status --prefix "$PREFIX" --output json) || fail "status failed"
  python3 - "$json" "$PREFIX" <<'PY' || fail "status --output json: the swarm is not 3 Ready nodes, 1 manager"
import json, sys
rows, prefix = json.loads(sys.argv[1]), sys.argv[2]
assert [r["node"] for r in rows] == [f"{prefix}-{i}" for i in (1, 2, 3)], rows
assert all(r["ready"] == "Ready" and r["swarm"] == "active" and r["container"] == "running" for r in rows), rows
assert [r["role"] for r in rows] == ["manager", "worker", "worker"], rows
PY
  [[ $(docker network inspect -f '{{ .Internal }}' "$PREFIX-net") == true ]] ||
    fail "the nodes' network $PREFIX-net is not --internal (it must have no route out)"
  for i in 1 2 3; do
    [[ -S $RUN_ROOT/$PREFIX-$i/docker.sock ]] || fail "no socket $RUN_ROOT/$PREFIX-$i/docker.sock on the host"
  done
  say "status: 3 nodes Ready (1 manager, 2 workers) on internal $PREFIX-net, sockets under $RUN_ROOT/$PREFIX-*"
}

distribute() {
  local t0 out line
  t0=$(now)
  out=$("${SWARM[@]}" images --prefix "$PREFIX" base 2>&1) || { printf '%s\n' "$out" >&2; fail "images base failed"; }
  while read -r line; do
    [[ $line == *": loaded "* ]] || fail "images base: a node was not loaded: $line"
    timing "image distribution, enshu/base:latest ($(docker image inspect -f '{{ .Size }}' enshu/base:latest | awk '{ printf "%d MiB", $1 / 1048576 }')): ${line#swarm: }"
  done < <(grep -E "^swarm: $PREFIX-[0-9]+:" <<<"$out")
  timing "image distribution to 3 nodes in $(since "$t0") s"
  t0=$(now)
  out=$("${SWARM[@]}" images --prefix "$PREFIX" base 2>&1) || { printf '%s\n' "$out" >&2; fail "images base (again) failed"; }
  [[ $(grep -c "present (same ID), skipped" <<<"$out") -eq 3 ]] ||
    { printf '%s\n' "$out" >&2; fail "images base again: not every node skipped the image it has"; }
  timing "image distribution again (every node skipped, same ID) in $(since "$t0") s"
}

service() { # <name> <network> <node index>
  manager service create -d -q --name "$1" --network "$2" \
    --constraint "node.hostname==$PREFIX-$3" --endpoint-mode dnsrr --no-healthcheck \
    --no-resolve-image --entrypoint python3 enshu/base:latest -m http.server 8080 >/dev/null ||
    fail "service create $1"
}

# The container of service <name> on node <index>, once it runs (90 s max).
task_container() { # <name> <index>
  local id deadline=$(($(date +%s) + 90))
  while (($(date +%s) < deadline)); do
    id=$(node_dk "$PREFIX-$2" ps -q --filter "label=com.docker.swarm.service.name=$1" --filter status=running)
    [[ -n $id ]] && { echo "$id"; return; }
    sleep 1
  done
  manager service ps --no-trunc "$1" >&2 || true
  fail "service $1 has no running task on $PREFIX-$2 after 90 s"
}

# curl from container <id> on node <index> to <url>; prints curl's exit code.
curl_from() { # <index> <id> <url> [seconds]
  local rc=0
  node_dk "$PREFIX-$1" exec "$2" curl -fsS -o /dev/null --max-time "${4:-3}" "$3" 2>/dev/null || rc=$?
  echo "$rc"
}

reaches() { # <from index> <from id> <url> <what>: bounded retries for the server's start
  local deadline=$(($(date +%s) + 30)) rc
  while :; do
    rc=$(curl_from "$1" "$2" "$3")
    [[ $rc == 0 ]] && { say "reached: $4"; return; }
    (($(date +%s) < deadline)) || fail "$4: $3 not reached in 30 s (curl exit $rc)"
    sleep 1
  done
}

blocked() { # <from index> <from id> <url> <what>
  local rc
  rc=$(curl_from "$1" "$2" "$3")
  case $rc in
    0) fail "$4: $3 answered, it must not" ;;
    6 | 7 | 28) say "blocked: $4 (curl exit $rc)" ;;
    *) fail "$4: curl exit $rc, not a refused, unresolved or timed-out connection" ;;
  esac
}

overlay() {
  local a b c a_ip b_ip t0
  t0=$(now)
  manager network create -d overlay --attachable --internal ta >/dev/null || fail "network create ta"
  manager network create -d overlay --attachable --internal tb >/dev/null || fail "network create tb"
  service a ta 2; service b ta 3; service c tb 2
  a=$(task_container a 2); b=$(task_container b 3); c=$(task_container c 2)
  timing "3 services on 2 overlay networks running in $(since "$t0") s"
  a_ip=$(node_dk "$PREFIX-2" inspect -f '{{ range .NetworkSettings.Networks }}{{ .IPAddress }}{{ end }}' "$a")
  b_ip=$(node_dk "$PREFIX-3" inspect -f '{{ range .NetworkSettings.Networks }}{{ .IPAddress }}{{ end }}' "$b")
  [[ -n $a_ip && -n $b_ip ]] || fail "no overlay address for a ($a_ip) or b ($b_ip)"
  reaches 3 "$b" "http://a:8080/" "b (ta, $PREFIX-3) -> a (ta, $PREFIX-2) by name across nodes"
  reaches 2 "$a" "http://$b_ip:8080/" "a (ta, $PREFIX-2) -> b (ta, $PREFIX-3) at $b_ip"
  reaches 2 "$c" "http://c:8080/" "c (tb, $PREFIX-2) -> itself (its curl and server work)"
  blocked 2 "$c" "http://$a_ip:8080/" "c (tb) -> a (ta) at $a_ip on the same node"
  blocked 2 "$c" "http://$b_ip:8080/" "c (tb) -> b (ta) at $b_ip on another node"
  blocked 2 "$c" "http://a:8080/" "c (tb) -> a by name"
}

down() {
  local t0 out
  t0=$(now)
  out=$("${SWARM[@]}" down --prefix "$PREFIX" 2>&1) || { printf '%s\n' "$out" >&2; fail "down failed"; }
  printf '%s\n' "$out" | sed 's/^/    /'
  grep -q "leftover" <<<"$out" && fail "down had to remove leftovers the nodes made (see above)"
  timing "$1: down in $(since "$t0") s"
}

# --- main --------------------------------------------------------------------

[[ $(id -u) -eq 0 ]] || fail "run as root (the swarm's nodes need it)"
timeout 20 docker info >/dev/null 2>&1 || fail "Docker is not answering (docker info)"
docker image inspect enshu/base:latest >/dev/null 2>&1 || fail "no enshu/base:latest: run make images first"
say "load before: $(cut -d' ' -f1-3 /proc/loadavg); prefix $PREFIX, subnet $SUBNET"
snapshot "$WORK/before"
if [[ ${ENSHU_SWARM_TEST_COLD:-0} == 1 ]]; then
  # the first up imports the node image from its cached rootfs tarball
  docker images enshu/swarm-node --format '{{ .Repository }}:{{ .Tag }}' | xargs -r docker rmi >/dev/null
fi
node_image=present
docker image inspect enshu/swarm-node:latest >/dev/null 2>&1 || node_image=absent
up "first bring-up (node image $node_image before)"
record_nodes
down "first"
up "second bring-up (node image present)"
record_nodes
check_status
distribute
overlay
down "after the overlay checks"
snapshot "$WORK/after"
compare_host "$WORK/before" "$WORK/after"
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
say "timings:"
printf '    %s\n' "${TIMINGS[@]}"
say "ok in $(since "$START") s"
