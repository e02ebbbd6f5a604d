#!/bin/bash
# The scan generator: a TCP connect scan, one port after another.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 address, $2 interval (ms), $3... ports.
to=$1 interval=$2; shift 2
for port in "$@"; do
  # shellcheck disable=SC2016 # $0 and $1 are the inner bash's own arguments
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$to" "$port" 2>/dev/null || true
  pause "$interval" 0
done
