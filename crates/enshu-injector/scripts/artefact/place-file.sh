#!/bin/bash
# Moves a staged file into place as the owner of the deepest existing
# ancestor of its path, then removes the staged copy.
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 staged file, $2 path, $3 mode (octal).
set -e
place() { mkdir -p -- "$(dirname -- "$2")"; cat -- "$1" > "$2"; chmod "$3" -- "$2"; }
run_as_owner_of "$2" bash -c "$(declare -f place); place \"\$@\"" place "$@"
rm -f -- "$1"
