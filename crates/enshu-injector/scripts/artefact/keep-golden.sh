#!/bin/bash
# Keeps the golden copy of a web page (never overwritten: a re-fire must
# not make the defaced page golden); prints its SHA-256. Exit 3 when the
# page does not exist, 4 when it cannot be written (a read-only root).
# Runs inside a range container (`bash -c`).
# Arguments: $1 page, $2 golden copy path.
set -e
page=$1 golden=$2
[ -f "$page" ] || { echo "page $page does not exist" >&2; exit 3; }
[ -w "$page" ] || { echo "page $page is not writable (read-only root filesystem: the web root needs a tmpfs or volume)" >&2; exit 4; }
mkdir -p -- "$(dirname -- "$golden")"
[ -e "$golden" ] || cp -p -- "$page" "$golden"
sha256sum -- "$golden"
