#!/bin/bash
# Undoes encrypt.sh: renames the files of its manifest back (as the
# directory's owner), removes the ransom note, then the manifest.
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 manifest path, $2 ransom note path, $3 directory.
set -e
manifest=$1 note=$2 directory=$3
unlock() { local file; while IFS= read -r -d '' file; do [ -e "$file.locked" ] && mv -- "$file.locked" "$file"; done < "$1"; rm -f -- "$2"; }
run_as_owner_of "$directory" bash -c "$(declare -f unlock); unlock \"\$@\"" unlock "$manifest" "$note"
rm -f -- "$manifest"
