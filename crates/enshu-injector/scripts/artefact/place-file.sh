#!/bin/bash
# Moves a staged file into place as the owner of the deepest existing
# ancestor of its path, then removes the staged copy.
# Directories it creates are group-writable when the one they go into is
# (a shared web root or file share), so the people who share it can still
# remove what an inject put there.
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 staged file, $2 path, $3 mode (octal).
set -e
place() { mkdir -p -- "$(dirname -- "$2")"; cat -- "$1" > "$2"; chmod "$3" -- "$2"; }
top=$(deepest_existing "$(dirname -- "$2")")
mask=022
if [ $(( 0$(stat -c %a -- "$top") & 020 )) -ne 0 ]; then mask=002; fi
run_as_owner_of "$2" bash -c "umask $mask; $(declare -f place); place \"\$@\"" place "$@"
rm -f -- "$1"
