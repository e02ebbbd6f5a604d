# shellcheck shell=bash
# Prints a gzip'd tar of the regular files and directories under each data
# directory $2... (absolute; names in the archive relative to /, e.g.
# srv/share/a.txt), at most $1 bytes and one more (the controller refuses
# a longer one). Links and devices are left out. Runs inside the source
# host (`bash -c`, as root).
set -euo pipefail
limit=$1
shift
cd /
for directory in "$@"; do
  [ -d "$directory" ] || { echo "$directory is not a directory" >&2; exit 3; }
done
find "${@#/}" \( -type f -o -type d \) -print0 |
  tar --null --no-recursion --files-from=- -czf - |
  head -c "$((limit + 1))"
