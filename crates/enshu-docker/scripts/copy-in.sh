#!/bin/sh
# Writes stdin to a file (creating its directory) and sets its mode: how a
# file reaches a tmpfs path, which exists only in the container's own
# mount namespace, so Docker's archive upload cannot write it.
# Runs inside a running range container (`sh -c`, as root, stdin attached).
# Arguments: $1 path, $2 mode (octal).
set -e; mkdir -p "$(dirname "$1")"; cat > "$1"; chmod "$2" "$1"
