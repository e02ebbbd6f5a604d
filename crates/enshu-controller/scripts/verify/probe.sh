#!/bin/bash
# Verify's probe for images without Python: bash's /dev/tcp, a bounded
# number at once (each probe is two processes, and containers have a pids
# limit). TCP only: bash cannot tell a UDP, ICMP or DNS probe's answer, so
# those print nothing and fail as unanswered. Prints one line per TCP
# probe, `tcp address port outcome` (open, refused or blocked).
# Runs inside a range container (`bash -c`, chosen by dispatch.sh).
# Arguments: $1 probes at once, $2 timeout (seconds), then
# `kind:address:port[:name]` probes.
parallel=$1 timeout_seconds=$2; shift 2
probe() { out=$(timeout "$timeout_seconds" bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1); rc=$?; case "$rc:$out" in 0:*) r=open;; *refused*) r=refused;; *) r=blocked;; esac; echo "tcp $1 $2 $r"; }
export -f probe; export timeout_seconds
# shellcheck disable=SC2016 # $0 and $1 are the inner bash's own arguments
printf '%s\n' "$@" | grep '^tcp:' | cut -d: -f2- | tr ':' ' ' | xargs -P "$parallel" -n 2 bash -c 'probe "$0" "$1"'
