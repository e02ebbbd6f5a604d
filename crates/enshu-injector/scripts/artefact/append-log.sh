#!/bin/bash
# Appends lines to a log, each with a syslog stamp and the host name unless
# it already starts with a date; prints what it wrote. The stamp follows
# the file's last line: classic (`Nov 26 11:22:15`) when it has one, else
# RFC 3339 (rsyslog's default on Debian 12).
# Runs inside a range container (`bash -c`).
# Arguments: $1 log path, $2... lines.
set -e
path=$1; shift
mkdir -p -- "$(dirname -- "$path")"
last=$(tail -n 1 -- "$path" 2>/dev/null || true)
case $last in
  [A-Z][a-z][a-z]\ *) stamp=$(date '+%b %e %H:%M:%S') ;;
  *) stamp=$(date '+%Y-%m-%dT%H:%M:%S.%6N%:z') ;;
esac
host=$(hostname)
for line in "$@"; do
  case $line in
    [0-9]*|Jan\ *|Feb\ *|Mar\ *|Apr\ *|May\ *|Jun\ *|Jul\ *|Aug\ *|Sep\ *|Oct\ *|Nov\ *|Dec\ *) printf '%s\n' "$line" ;;
    *) printf '%s %s %s\n' "$stamp" "$host" "$line" ;;
  esac
done | tee -a -- "$path"
