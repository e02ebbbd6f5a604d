#!/usr/bin/env bash
# A local test swarm: N docker-in-docker nodes on this machine, offline.
#
#   bash infra/swarm.sh image                      # build/reuse enshu/swarm-node:<hash12>
#   bash infra/swarm.sh up N [--prefix P] [--subnet CIDR] [--managers M]
#                         [--storage-driver auto|overlay2|fuse-overlayfs|vfs]
#                         [--addr-pool CIDR] [--timeout S]
#   bash infra/swarm.sh images [--prefix P] ROLE|IMAGE...
#   bash infra/swarm.sh status [--prefix P] [--output text|json]
#   bash infra/swarm.sh down [--prefix P]
#
# Each node P-<i> is a container of enshu/swarm-node (Debian bookworm's
# docker.io, debootstrapped like the range images, infra/images.sh) on a
# bridge network of its own, P-net (--internal: no route out; default
# 172.31.240.0/24, node i at .(10+i)), running its own Docker Engine:
#   - its /var/lib/docker is the host directory $ENSHU_SWARM_STATE/P-<i>/docker
#     (default /var/lib/enshu/swarm): Docker's storage drivers refuse a
#     /var/lib/docker on the node's own overlay root; the node's engine
#     stores images with overlay2 where the kernel mounts overlay on that
#     directory, else with fuse-overlayfs (--storage-driver auto);
#   - its Engine API is the unix socket /run/enshu/swarm/P-<i>/docker.sock
#     on the host (the host directory is bind-mounted at /run/enshu in the
#     node): the engine reaches every node from the host through a file,
#     never through a network path into a range.
# Node 1 runs `swarm init` advertising its bridge address, nodes 2..M join
# as managers, the others as workers; every node is labelled
# enshu.swarm=P, enshu.node=P-<i>, enshu.index=<i>.
#
# `down` removes the containers, the network, the state and socket
# directories, and then checks that nothing the nodes made is left on the
# host: mounts under those directories, processes rooted there, iptables
# rules naming the network's bridge or subnet (each removed if found, and
# said). It is idempotent.
#
# Environment:
#   ENSHU_CACHE         node rootfs tarball cache (default /var/cache/enshu)
#   ENSHU_SWARM_STATE   nodes' /var/lib/docker    (default /var/lib/enshu/swarm)
#   ENSHU_SWARM_RUN     nodes' socket directories (default /run/enshu/swarm)
#   and infra/images.sh's ENSHU_DEBIAN_* variables for the mirror.
set -euo pipefail

SWARM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_DIR="$SWARM_REPO/infra/swarm-node"
# The mirror detection and the rootfs recipe are the range images' own.
# shellcheck source=infra/images.sh
source "$SWARM_REPO/infra/images.sh"

STATE_ROOT=${ENSHU_SWARM_STATE:-/var/lib/enshu/swarm}
RUN_ROOT=${ENSHU_SWARM_RUN:-/run/enshu/swarm}
DEFAULT_PREFIX=enshu-sw
DEFAULT_SUBNET=172.31.240.0/24
# Overlay networks without a subnet of their own: clear of Docker's local
# pools and of the 10.64.0.0/10 and 10.32.0.0/11 the tests use.
DEFAULT_ADDR_POOL=10.200.0.0/16
NODE_IMAGE_REPO=enshu/swarm-node

log() { printf 'swarm: %s\n' "$*"; }
die() { printf 'swarm: error: %s\n' "$*" >&2; exit 1; }

# Every Docker call is bounded: a hung engine fails the command, it does
# not hang it.
dk() { timeout "${DK_TIMEOUT:-60}" docker "$@"; }
# The same, against node <name>'s own engine through its socket.
node_dk() { local node=$1; shift; timeout "${DK_TIMEOUT:-60}" docker -H "unix://$RUN_ROOT/$node/docker.sock" "$@"; }

# --- the node image -------------------------------------------------------

# The rootfs is images.sh's build_rootfs with the node's package list.
packages() { grep -v '^[[:space:]]*#' "$NODE_DIR/packages.txt" | awk 'NF { print $1 }'; }

node_rootfs_hash() {
  { cat "$NODE_DIR/packages.txt"; printf '%s\n' "$SUITE"; declare -f build_rootfs
    if [[ ${ENSHU_DEBIAN_SECURITY_MIRROR:-} == none ]]; then echo "no security updates"; fi; } \
    | sha256sum | cut -c1-64
}

NODE_CHANGES=(
  'ENV LANG=C.UTF-8'
  # tini reaps the shims dockerd's containerd leaves to PID 1.
  'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/sbin/enshu-swarm-node"]'
  'CMD []'
)

node_image_hash() {
  { node_rootfs_hash; printf '%s\n' "${NODE_CHANGES[@]}"; cat "$NODE_DIR/entrypoint.sh"; } \
    | sha256sum | cut -c1-64
}

# Prints the node image's tag, building what is missing: the rootfs tarball
# (debootstrap, minutes, once per package list), the image (import + one
# COPY, seconds, once per entrypoint).
ensure_node_image() {
  local hash rhash tag tarball t0 mirror security tmp change changes=() ctx
  hash=$(node_image_hash); rhash=$(node_rootfs_hash); tag="$NODE_IMAGE_REPO:${hash:0:12}"
  if [[ $(label_of "$tag") == "$hash" ]]; then
    log "node image $tag present" >&2
    printf '%s\n' "$tag"; return
  fi
  tarball="$CACHE/enshu-swarm-node-rootfs-${rhash:0:12}.tar.gz"
  if [[ ! -s $tarball ]]; then
    [[ $(id -u) -eq 0 ]] || die "the node image is built with debootstrap, which needs root"
    ensure_debootstrap
    mirror=${ENSHU_DEBIAN_MIRROR:-$(apt_mirror | head -n1)}
    [[ -n $mirror ]] || die "no Debian mirror: set ENSHU_DEBIAN_MIRROR or configure apt"
    security=${ENSHU_DEBIAN_SECURITY_MIRROR:-$(apt_security_mirror)}
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/swarm-node-rootfs.XXXXXX")
    # shellcheck disable=SC2064 # the directory is known now
    trap "rm -rf '$tmp'" EXIT
    log "node rootfs: debootstrap $SUITE from $mirror ($(packages | wc -l) packages) ..." >&2
    t0=$(now)
    build_rootfs "$tmp/rootfs" "$mirror" "$security" >"$tmp/debootstrap.log" 2>&1 || {
      tail -n 30 "$tmp/debootstrap.log" >&2
      die "debootstrap of the node rootfs failed (ENSHU_DEBIAN_SECURITY_MIRROR=none builds without security updates)"
    }
    log "node rootfs: debootstrap done in $(elapsed "$t0"); packing ..." >&2
    t0=$(now)
    tar -C "$tmp/rootfs" --numeric-owner --xattrs -cf - . | gzip -6 >"$tarball.part"
    mv "$tarball.part" "$tarball"
    rm -rf "$tmp"; trap - EXIT
    log "node rootfs: $tarball ($(du -h "$tarball" | cut -f1)) in $(elapsed "$t0")" >&2
  fi
  t0=$(now)
  for change in "${NODE_CHANGES[@]}"; do changes+=(--change "$change"); done
  DK_TIMEOUT=600 dk import "${changes[@]}" "$tarball" "$NODE_IMAGE_REPO-rootfs:${rhash:0:12}" >/dev/null
  ctx=$(mktemp -d)
  cp "$NODE_DIR/entrypoint.sh" "$ctx/entrypoint.sh"
  printf 'FROM %s\nCOPY entrypoint.sh /usr/local/sbin/enshu-swarm-node\n' \
    "$NODE_IMAGE_REPO-rootfs:${rhash:0:12}" >"$ctx/Dockerfile"
  if ! DOCKER_BUILDKIT=0 DK_TIMEOUT=300 dk build -q --force-rm \
      --label enshu.role=swarm-node --label "enshu.content-hash=$hash" \
      --label "enshu.rootfs-hash=$rhash" -t "$tag" "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2; rm -rf "$ctx"
    die "building $tag"
  fi
  rm -rf "$ctx"
  dk rmi "$NODE_IMAGE_REPO-rootfs:${rhash:0:12}" >/dev/null 2>&1 || true
  dk tag "$tag" "$NODE_IMAGE_REPO:latest"
  # Older node images (another package list or entrypoint), unless in use.
  local old
  for old in $(dk images "$NODE_IMAGE_REPO" --format '{{ .Tag }}'); do
    [[ $old == latest || $old == "${hash:0:12}" ]] || dk rmi "$NODE_IMAGE_REPO:$old" >/dev/null 2>&1 || true
  done
  log "node image $tag imported in $(elapsed "$t0")" >&2
  printf '%s\n' "$tag"
}

cmd_image() { ensure_node_image; }

# --- names -------------------------------------------------------------------

check_prefix() { # <prefix>: becomes container, network and bridge names
  [[ $1 =~ ^[a-z][a-z0-9-]{0,11}$ ]] ||
    die "--prefix '$1': a lower-case letter, then up to 11 letters, digits or '-' (the bridge is named <prefix>-br, 15 characters at most)"
}
net_name() { printf '%s-net\n' "$1"; }
bridge_name() { printf '%s-br\n' "$1"; }
# The node containers of a swarm, by label, in index order.
node_names() { # <prefix>
  dk ps -a --filter "label=enshu.swarm=$1" --format '{{ .Label "enshu.index" }} {{ .Names }}' |
    sort -n | awk '{ print $2 }'
}
# Host address of node <index> on <subnet>: .(10+index) of a /24 or wider.
node_address() { # <subnet> <index>
  python3 -c 'import ipaddress, sys; n = ipaddress.ip_network(sys.argv[1]); print(n[10 + int(sys.argv[2])])' "$1" "$2"
}

wait_until() { # <seconds> <what> <command...>: poll every 0.5 s, bounded
  local seconds=$1 what=$2 deadline; shift 2
  deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || { log "gave up after ${seconds}s waiting for $what"; return 1; }
    sleep 0.5
  done
}

# --- up ----------------------------------------------------------------------

ready_nodes() { # <manager> -> count of Ready, Active nodes
  DK_TIMEOUT=10 node_dk "$1" node ls --format '{{ .Status }} {{ .Availability }}' | grep -c '^Ready Active$'
}
engine_answers() { # <node>
  DK_TIMEOUT=5 node_dk "$1" info
}
all_ready() { # <manager> <n>
  [[ $(ready_nodes "$1") -eq $2 ]]
}

# Whether the kernel mounts overlay on the nodes' state directory (as on
# this machine's ext4, though the host engine itself runs fuse-overlayfs):
# the same probe as infra/docker-storage.sh can-overlay2, on $STATE_ROOT.
overlay_mounts_here() {
  local dir ok=1
  mkdir -p "$STATE_ROOT"
  dir=$(mktemp -d "$STATE_ROOT/.overlay-probe.XXXXXX")
  mkdir -p "$dir"/{lower,upper,work,merged}
  echo probe >"$dir/lower/file"
  if mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" 2>/dev/null; then
    [[ $(cat "$dir/merged/file") == probe ]] && echo changed >"$dir/merged/file" && ok=0
    umount "$dir/merged"
  fi
  rm -rf "$dir"
  return "$ok"
}

cmd_up() {
  local count=${1:-} prefix=$DEFAULT_PREFIX subnet=$DEFAULT_SUBNET managers=1 driver=auto
  local pool=$DEFAULT_ADDR_POOL timeout=180 t0 t_phase image i node addr gateway
  [[ $count =~ ^[1-9][0-9]*$ ]] || die "up: the number of nodes first (up 3)"
  shift
  while (($#)); do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      --subnet) subnet=${2:?--subnet needs a value}; shift 2 ;;
      --managers) managers=${2:?--managers needs a value}; shift 2 ;;
      --storage-driver) driver=${2:?--storage-driver needs a value}; shift 2 ;;
      --addr-pool) pool=${2:?--addr-pool needs a value}; shift 2 ;;
      --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
      *) die "up: unknown argument '$1'" ;;
    esac
  done
  check_prefix "$prefix"
  [[ $managers =~ ^[1-9][0-9]*$ && $managers -le $count ]] || die "--managers $managers: between 1 and $count"
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout $timeout: seconds"
  case $driver in auto | overlay2 | fuse-overlayfs | vfs) ;; *) die "--storage-driver $driver: auto, overlay2, fuse-overlayfs or vfs" ;; esac
  ((count <= 200)) || die "up $count: at most 200 nodes"
  [[ $(id -u) -eq 0 ]] || die "up: the nodes' directories under $STATE_ROOT and $RUN_ROOT need root"
  if [[ -n $(node_names "$prefix") ]] || dk network inspect "$(net_name "$prefix")" >/dev/null 2>&1; then
    die "swarm $prefix exists (nodes: $(node_names "$prefix" | paste -sd' ' -)): run 'swarm.sh down --prefix $prefix' first"
  fi
  python3 "$SWARM_REPO/infra/swarm_host.py" overlaps "$subnet" >&2 || die "--subnet $subnet: choose another"
  if [[ $driver == auto ]]; then
    driver=fuse-overlayfs
    overlay_mounts_here && driver=overlay2
    rmdir "$STATE_ROOT" 2>/dev/null || true
  fi

  t0=$(now)
  image=$(ensure_node_image)
  log "node image ready in $(elapsed "$t0")"
  # From here on a failure removes what this up made.
  # shellcheck disable=SC2064 # the prefix is known now
  trap "log 'up failed: removing swarm $prefix'; cmd_down --prefix '$prefix' >&2 || true" EXIT

  t_phase=$(now)
  gateway=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network(sys.argv[1])[1])' "$subnet")
  dk network create --driver bridge --internal --subnet "$subnet" --gateway "$gateway" \
    -o "com.docker.network.bridge.name=$(bridge_name "$prefix")" \
    --label "enshu.swarm=$prefix" "$(net_name "$prefix")" >/dev/null
  for ((i = 1; i <= count; i++)); do
    node="$prefix-$i"; addr=$(node_address "$subnet" "$i")
    mkdir -p "$STATE_ROOT/$node/docker" "$RUN_ROOT/$node"
    local devices=()
    [[ $driver == fuse-overlayfs ]] && devices=(--device /dev/fuse)
    # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: a task runs the node's own copy of
    # its image without asking a registry first (there is none: each ask
    # waited 20 s for DNS on this internal network).
    dk run -d --name "$node" --hostname "$node" \
      --network "$(net_name "$prefix")" --ip "$addr" \
      --label "enshu.swarm=$prefix" --label "enshu.index=$i" --label "enshu.node=$node" \
      --cap-add ALL --cap-drop SYS_RESOURCE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --security-opt systempaths=unconfined "${devices[@]}" \
      --tmpfs /run:rw,exec,mode=755 --tmpfs /tmp:rw,exec,mode=1777 \
      -v "$STATE_ROOT/$node/docker:/var/lib/docker" \
      -v "$RUN_ROOT/$node:/run/enshu" \
      --stop-timeout 20 \
      -e DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
      "$image" \
      --host unix:///var/run/docker.sock --host unix:///run/enshu/docker.sock \
      --storage-driver "$driver" --log-opt max-size=10m --log-opt max-file=2 \
      >/dev/null
  done
  for ((i = 1; i <= count; i++)); do
    node="$prefix-$i"
    wait_until "$timeout" "the engine of $node ($RUN_ROOT/$node/docker.sock)" \
      engine_answers "$node" || {
        dk logs --tail 20 "$node" >&2 || true
        die "node $node's engine did not answer"
      }
  done
  log "$count node engines answering in $(elapsed "$t_phase")"

  t_phase=$(now)
  local manager="$prefix-1" manager_addr worker_token manager_token role
  manager_addr=$(node_address "$subnet" 1)
  node_dk "$manager" swarm init --advertise-addr "$manager_addr" --listen-addr "$manager_addr:2377" \
    --data-path-addr "$manager_addr" --default-addr-pool "$pool" --default-addr-pool-mask-length 24 \
    --task-history-limit 2 >/dev/null
  worker_token=$(node_dk "$manager" swarm join-token -q worker)
  manager_token=$(node_dk "$manager" swarm join-token -q manager)
  for ((i = 2; i <= count; i++)); do
    node="$prefix-$i"; addr=$(node_address "$subnet" "$i")
    local token=$worker_token
    ((i <= managers)) && token=$manager_token
    node_dk "$node" swarm join --token "$token" --advertise-addr "$addr" --listen-addr "$addr:2377" \
      --data-path-addr "$addr" "$manager_addr:2377" >/dev/null
  done
  wait_until "$timeout" "$count Ready nodes in swarm $prefix" all_ready "$manager" "$count" || {
    node_dk "$manager" node ls >&2 || true
    die "swarm $prefix: $(ready_nodes "$manager" || echo 0) of $count nodes Ready"
  }
  for ((i = 1; i <= count; i++)); do
    node="$prefix-$i"; role=worker
    ((i <= managers)) && role=manager
    node_dk "$manager" node update --label-add "enshu.swarm=$prefix" --label-add "enshu.node=$node" \
      --label-add "enshu.index=$i" --label-add "enshu.role=$role" \
      "$(node_dk "$node" info --format '{{ .Swarm.NodeID }}')" >/dev/null
  done
  trap - EXIT
  log "swarm $prefix formed in $(elapsed "$t_phase") ($managers manager(s), $((count - managers)) worker(s), storage $driver); up took $(elapsed "$t0")"
  for ((i = 1; i <= count; i++)); do
    log "  $prefix-$i $(node_address "$subnet" "$i") DOCKER_HOST=unix://$RUN_ROOT/$prefix-$i/docker.sock"
  done
}

# --- images --------------------------------------------------------------------

image_id() { # <docker args...> <image>: its ID, or empty
  "$@" 2>/dev/null || true
}

cmd_images() {
  local prefix=$DEFAULT_PREFIX refs=() ref nodes node want=() missing t0 total
  while (($#)); do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      -*) die "images: unknown option '$1'" ;;
      *[:/]*) refs+=("$1"); shift ;;
      *) refs+=("enshu/$1:${ENSHU_IMAGE_TAG:-latest}"); shift ;;
    esac
  done
  check_prefix "$prefix"
  ((${#refs[@]})) || die "images: name at least one role (base, web, ...) or image"
  for ref in "${refs[@]}"; do
    want+=("$(dk image inspect -f '{{ .Id }}' "$ref" 2>/dev/null)") ||
      die "images: $ref is not an image of this host (make images builds the roles)"
  done
  mapfile -t nodes < <(node_names "$prefix")
  ((${#nodes[@]})) || die "images: no swarm $prefix (swarm.sh up N --prefix $prefix)"
  total=$(now)
  for node in "${nodes[@]}"; do
    missing=()
    for i in "${!refs[@]}"; do
      [[ $(DK_TIMEOUT=10 node_dk "$node" image inspect -f '{{ .Id }}' "${refs[i]}" 2>/dev/null) == "${want[i]}" ]] ||
        missing+=("${refs[i]}")
    done
    if ((${#missing[@]} == 0)); then
      log "$node: ${#refs[@]} image(s) present (same ID), skipped"
      continue
    fi
    t0=$(now)
    # One save per node: a pipe, no copy on disk; the layers the node already
    # has are still sent (docker load skips them).
    timeout 900 docker save "${missing[@]}" | DK_TIMEOUT=900 node_dk "$node" load -q >/dev/null ||
      die "images: loading ${missing[*]} into $node"
    for i in "${!refs[@]}"; do
      [[ $(DK_TIMEOUT=10 node_dk "$node" image inspect -f '{{ .Id }}' "${refs[i]}" 2>/dev/null) == "${want[i]}" ]] ||
        die "images: $node has no ${refs[i]} with ID ${want[i]} after the load"
    done
    log "$node: loaded ${missing[*]} in $(elapsed "$t0")"
  done
  log "images distributed to ${#nodes[@]} node(s) in $(elapsed "$total")"
}

# --- status --------------------------------------------------------------------

status_table() { # <prefix>: tab-separated, a header line first
  local prefix=$1 node index state addr sock swarm_state node_role ready
  printf 'node\tindex\tcontainer\taddress\tsocket\tswarm\trole\tready\n'
  while read -r node; do
    index=$(dk inspect -f '{{ index .Config.Labels "enshu.index" }}' "$node")
    state=$(dk inspect -f '{{ .State.Status }}' "$node")
    addr=$(dk inspect -f '{{ range .NetworkSettings.Networks }}{{ .IPAddress }}{{ end }}' "$node")
    sock="$RUN_ROOT/$node/docker.sock"
    swarm_state=$(DK_TIMEOUT=5 node_dk "$node" info --format '{{ .Swarm.LocalNodeState }}' 2>/dev/null || echo unreachable)
    node_role=$(DK_TIMEOUT=5 node_dk "$node" info --format '{{ if .Swarm.ControlAvailable }}manager{{ else }}worker{{ end }}' 2>/dev/null || echo -)
    ready=$(DK_TIMEOUT=5 node_dk "$prefix-1" node ls --filter "name=$node" --format '{{ .Hostname }} {{ .Status }}' 2>/dev/null |
      awk -v n="$node" '$1 == n { print $2 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$node" "$index" "$state" "$addr" "$sock" \
      "$swarm_state" "$node_role" "${ready:-unknown}"
  done < <(node_names "$prefix")
}

cmd_status() {
  local prefix=$DEFAULT_PREFIX output=text
  while (($#)); do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      --output) output=${2:?--output needs a value}; shift 2 ;;
      --json) output=json; shift ;;
      *) die "status: unknown argument '$1'" ;;
    esac
  done
  check_prefix "$prefix"
  case $output in
    text) status_table "$prefix" | column -t -s $'\t' ;;
    json) status_table "$prefix" | python3 "$SWARM_REPO/infra/swarm_host.py" status-json ;;
    *) die "--output $output: text or json" ;;
  esac
}

# --- down ----------------------------------------------------------------------

# Mount points under the swarm's directories, deepest first.
leftover_mounts() { # <prefix>
  awk -v s="$STATE_ROOT/$1-" -v r="$RUN_ROOT/$1-" \
    'index($5, s) == 1 || index($5, r) == 1 { print length($5), $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2-
}

# Processes whose root, working directory or command line is under them.
leftover_processes() { # <prefix>
  local pid link
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    for link in root cwd; do
      case $(readlink "/proc/$pid/$link" 2>/dev/null) in
        "$STATE_ROOT/$1-"* | "$RUN_ROOT/$1-"*) echo "$pid"; continue 2 ;;
      esac
    done
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -e "$STATE_ROOT/$1-" -e "$RUN_ROOT/$1-" && echo "$pid"
  done
}

cmd_down() {
  local prefix=$DEFAULT_PREFIX ids net subnet="" left=0 m pid t0
  while (($#)); do
    case $1 in
      --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
      *) die "down: unknown argument '$1'" ;;
    esac
  done
  check_prefix "$prefix"
  t0=$(now)
  ids=$(dk ps -aq --no-trunc --filter "label=enshu.swarm=$prefix")
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086 # one word per container id
    DK_TIMEOUT=180 dk rm -f -v $ids >/dev/null
    log "removed $(wc -w <<<"$ids") node container(s) of $prefix in $(elapsed "$t0")"
    # The cgroups the nodes' own engines made below each node's cgroup:
    # killed, those engines never removed them, and the host's engine
    # removes only the node's own (empty) cgroup.
    for m in $ids; do
      while read -r pid; do
        rmdir "$pid" 2>/dev/null && left=$((left + 1))
      done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "*$m*" -exec find {} -depth -type d \; 2>/dev/null)
    done
    ((left == 0)) || log "removed $left cgroup(s) the nodes' engines left"
    left=0
  fi
  net=$(net_name "$prefix")
  if dk network inspect "$net" >/dev/null 2>&1; then
    subnet=$(dk network inspect -f '{{ range .IPAM.Config }}{{ .Subnet }}{{ end }}' "$net")
    dk network rm "$net" >/dev/null
    log "removed network $net ($subnet)"
  fi
  # What the nodes could have left on the host, each undone and said.
  while read -r m; do
    [[ -n $m ]] || continue
    umount -l "$m" && log "unmounted a leftover mount $m" && left=$((left + 1))
  done < <(leftover_mounts "$prefix")
  while read -r pid; do
    [[ -n $pid ]] || continue
    log "killing leftover process $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
    kill -KILL "$pid" 2>/dev/null || true
    left=$((left + 1))
  done < <(leftover_processes "$prefix")
  if ip link show "$(bridge_name "$prefix")" >/dev/null 2>&1; then
    ip link delete "$(bridge_name "$prefix")" && log "deleted a leftover bridge $(bridge_name "$prefix")"
    left=$((left + 1))
  fi
  if python3 "$SWARM_REPO/infra/swarm_host.py" iptables-leftovers "$(bridge_name "$prefix")" \
      "${subnet:-$DEFAULT_SUBNET}" --delete | sed 's/^/swarm: deleted a leftover rule: /' | grep .; then
    left=$((left + 1))
  fi
  # The nodes' image stores, one rm for each node at once: a few seconds
  # for each GiB of layers, the longest part of a down.
  local dir
  for dir in "$STATE_ROOT/$prefix"-[0-9]* "$RUN_ROOT/$prefix"-[0-9]*; do
    [[ -e $dir ]] && rm -rf "$dir" &
  done
  wait
  for dir in "$STATE_ROOT" "$RUN_ROOT"; do
    rmdir "$dir" 2>/dev/null || continue
    # /var/lib/enshu and /run/enshu when up made them and nothing else is in them
    [[ $(basename "$(dirname "$dir")") == enshu ]] && rmdir "$(dirname "$dir")" 2>/dev/null
  done
  true
  ((left == 0)) || log "down: $left leftover(s) of $prefix removed (see above)"
  log "swarm $prefix is down ($(elapsed "$t0"))"
}

main_swarm() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  command -v docker >/dev/null || die "docker not found"
  case $cmd in
    image) cmd_image "$@" ;;
    up) cmd_up "$@" ;;
    images) cmd_images "$@" ;;
    status) cmd_status "$@" ;;
    down) cmd_down "$@" ;;
    *) die "usage: swarm.sh image | up N [--prefix P] ... | images ROLE... | status | down [--prefix P]" ;;
  esac
}

main_swarm "$@"
