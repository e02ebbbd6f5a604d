#!/bin/sh
# The test swarm node's init (infra/swarm.sh): make the kernel interfaces a
# Docker Engine writes to writable in this container, then run dockerd with
# the arguments infra/swarm.sh passes (the node's storage driver, its
# sockets, its address pools).
#
# The node runs with every capability but CAP_SYS_RESOURCE (missing from
# the host's bounding set, so `--privileged` fails), unconfined seccomp,
# AppArmor and system paths, yet Docker still mounts /sys and the cgroup
# hierarchies read-only in a container that is not privileged: remount them
# (the cgroups are bind mounts of this container's own cgroup: `bind`
# changes this mount's flag, not the host's).
set -eu

mount -o remount,rw /sys || echo "swarm-node: /sys stays read-only" >&2
awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts | while read -r m; do
  mount -o remount,bind,rw "$m" || echo "swarm-node: $m stays read-only" >&2
done
# dockerd's own pid and socket files from a previous start of this node.
rm -f /var/run/docker.pid /var/run/docker.sock /run/enshu/docker.sock

exec dockerd "$@"
