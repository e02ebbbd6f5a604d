#!/bin/bash
# Starts a traffic generator in the background, in its own session under
# `timeout`, after checking that the program it needs exists; writes its
# pid to a pid file and prints it. If the generator of that pid file still
# runs (a fire repeated after a controller crash), prints its pid and
# starts nothing.
# Runs inside the target range container (`bash -c`).
# Arguments: $1 the generator's name in `ps` (its $0), $2 pid file, $3 most
# seconds it runs, $4 program it needs (empty: none), $5 the generator
# program (pause.sh and a generator script), $6... its arguments.
set -e
name=$1 pid_file=$2 limit=$3 needs=$4 generator=$5; shift 5
if [ -f "$pid_file" ] && kill -0 "$(cat -- "$pid_file")" 2>/dev/null; then cat -- "$pid_file"; exit 0; fi
if [ -n "$needs" ] && ! command -v "$needs" >/dev/null 2>&1; then echo "$needs is not installed on this host" >&2; exit 5; fi
mkdir -p -- "$(dirname -- "$pid_file")"
setsid timeout "$limit" bash -c "$generator" "$name" "$@" </dev/null >/dev/null 2>&1 &
echo "$!" > "$pid_file"
echo "$!"
