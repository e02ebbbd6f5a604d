#!/usr/bin/env bash
# Which storage driver the local Docker Engine uses, and a bounded switch
# between fuse-overlayfs and the kernel's overlay2 (BENCHMARKS.md, "Memory
# per team and the storage driver").
#
# Why it matters: with fuse-overlayfs every container's root is a FUSE mount
# of its own, so every container keeps its own copy of each image file it
# reads in the page cache (about 16 MiB a container in an Emotet range) and
# runs a fuse-overlayfs daemon. With overlay2 the image's files are the same
# inodes for every container of the image: their pages are cached once.
# Enshu works on both; nothing in `make test` switches.
#
#   bash infra/docker-storage.sh show               # prints the driver in use
#   bash infra/docker-storage.sh can-overlay2       # exit 0 if the kernel mounts overlay here
#   bash infra/docker-storage.sh use overlay2|fuse-overlayfs
#
# `use` refuses (exit 3) while any container exists: a container's layers
# live in the store of the driver that made it. Images are per driver too:
# after a switch, `make images` builds them again (the rootfs tarballs in
# /var/cache/enshu are kept, so no download). The other driver's store stays
# on disk, so switching back finds its images again. The daemon's previous
# configuration is kept once as /etc/docker/daemon.json.enshu-orig.
set -euo pipefail

readonly CONFIG=${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
readonly WAIT_SECONDS=60

log() { echo "docker-storage: $*" >&2; }

driver() { docker info --format '{{.Driver}}'; }

can_overlay2() {
    local root dir
    root=$(docker info --format '{{.DockerRootDir}}')
    dir=$(mktemp -d "$root/tmp/enshu-overlay-probe.XXXXXX" 2>/dev/null || mktemp -d)
    mkdir -p "$dir"/{lower,upper,work,merged}
    echo probe >"$dir/lower/file"
    local ok=1
    if mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" 2>/dev/null; then
        [ "$(cat "$dir/merged/file")" = probe ] && echo changed >"$dir/merged/file" && ok=0
        umount "$dir/merged"
    fi
    rm -rf "$dir"
    return "$ok"
}

restart_daemon() {
    if [ "$(cat /proc/1/comm)" = systemd ]; then
        systemctl restart docker
    else
        # Without systemd, dockerd may have been started by the machine's
        # own init (no pid file) and the init script may not start it again
        # (its `ulimit` is refused in some VMs): stop it by name and start
        # it detached, as that init did, logging to /var/log/enshu-dockerd.log.
        if pgrep -x dockerd >/dev/null; then
            pkill -TERM -x dockerd
            for _ in $(seq 1 "$WAIT_SECONDS"); do pgrep -x dockerd >/dev/null || break; sleep 1; done
        fi
        pgrep -x dockerd >/dev/null && { log "dockerd did not stop within ${WAIT_SECONDS} s"; exit 1; }
        # Without the descriptors this script inherited: a caller's `flock`
        # lock held by a daemon that outlives the caller would never free.
        (
            for fd in /proc/self/fd/*; do
                fd=${fd##*/}
                ((fd > 2)) && eval "exec $fd>&-"
            done 2>/dev/null
            exec setsid nohup /usr/sbin/dockerd >>/var/log/enshu-dockerd.log 2>&1 </dev/null
        ) &
    fi
    for _ in $(seq 1 "$WAIT_SECONDS"); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    log "dockerd did not answer within ${WAIT_SECONDS} s after the restart (see /var/log/enshu-dockerd.log)"
    exit 1
}

use() {
    local want=$1
    case "$want" in overlay2 | fuse-overlayfs) ;; *) log "unknown driver '$want' (overlay2 or fuse-overlayfs)"; exit 2 ;; esac
    [ "$(id -u)" -eq 0 ] || { log "switching the storage driver restarts dockerd: run as root"; exit 1; }
    if [ "$(driver)" = "$want" ]; then
        log "already $want"
        return 0
    fi
    if [ -n "$(docker ps -aq)" ]; then
        log "refused: containers exist ($(docker ps -aq | wc -l)); they live in the current driver's store. Remove them first (enshu down)."
        exit 3
    fi
    if [ "$want" = overlay2 ] && ! can_overlay2; then
        log "refused: the kernel does not mount overlay on $(docker info --format '{{.DockerRootDir}}') here"
        exit 3
    fi
    [ -f "$CONFIG.enshu-orig" ] || cp "$CONFIG" "$CONFIG.enshu-orig" 2>/dev/null || echo '{}' >"$CONFIG.enshu-orig"
    python3 - "$CONFIG" "$want" <<'EOF'
import json, pathlib, sys
path, driver = pathlib.Path(sys.argv[1]), sys.argv[2]
config = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
config["storage-driver"] = driver
path.write_text(json.dumps(config) + "\n")
EOF
    restart_daemon
    log "now $(driver); images: $(docker images -q | wc -l) (make images builds the missing ones)"
}

case "${1:-}" in
    show) driver ;;
    can-overlay2) can_overlay2 ;;
    use) use "${2:-}" ;;
    *) echo "usage: $0 show | can-overlay2 | use overlay2|fuse-overlayfs" >&2; exit 2 ;;
esac
