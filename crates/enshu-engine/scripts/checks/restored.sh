# shellcheck shell=bash
# Prints `sha256sum` lines for the regular files under path $2 (absolute;
# names relative to /, e.g. srv/share/a.txt), at most $1 files, read as
# the owner of the path (run_as_owner_of, joined in front at compile time).
# The engine compares them with the backup's manifest.
limit=$1 path=$2
cd / || exit 1
[ -e "$path" ] || exit 0
# shellcheck disable=SC2016 # the inner script reads its own $1 and $2
run_as_owner_of "$path" bash -c 'find "$1" -type f -print0 | head -z -n "$2" | LC_ALL=C sort -z | xargs -0r sha256sum --' list "${path#/}" "$limit"
exit 0
