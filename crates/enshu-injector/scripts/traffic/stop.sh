#!/bin/bash
# Stops a generator early: kills the process group of its pid file, if
# any, and removes the file. Always exits 0.
# Runs inside the target range container (`bash -c`).
# Arguments: $1 pid file.
[ -f "$1" ] || exit 0
pid=$(cat -- "$1"); [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null; rm -f -- "$1"; exit 0
