#!/bin/bash
# Moves a staged file into place as the owner of the deepest existing
# ancestor of its path, then removes the staged copy.
# Directories it creates are group-writable, and of the same group, when
# the one they go into is group-writable (a shared web root or file share),
# so the people who share it can still remove what an inject put there
# (setgid directories do not do it here: without CAP_FSETID the bit is
# not kept).
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 staged file, $2 path, $3 mode (octal).
set -e
place() { # staged path mode top
  local directory
  mkdir -p -- "$(dirname -- "$2")"; cat -- "$1" > "$2"; chmod "$3" -- "$2"
  directory=$(dirname -- "$2")
  while [ "$directory" != "$4" ] && [ "$directory" != / ]; do
    chgrp --reference="$4" -- "$directory" 2>/dev/null || true
    directory=$(dirname -- "$directory")
  done
}
top=$(deepest_existing "$(dirname -- "$2")")
mask=022
if [ $(( 0$(stat -c %a -- "$top") & 020 )) -ne 0 ]; then mask=002; fi
run_as_owner_of "$2" bash -c "umask $mask; $(declare -f place); place \"\$@\"" place "$1" "$2" "$3" "$top"
rm -f -- "$1"
