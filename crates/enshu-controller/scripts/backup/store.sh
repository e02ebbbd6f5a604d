# shellcheck shell=bash
# Stores the copy of host $1 from archive $2 (source.sh's output) on a
# backup host: extracts it into /srv/backup/$1/ (root's, readable by
# everyone, writable by no one else), writes what the restore needs to
# reach the host to /srv/backup/$1.source, then the manifest
# /srv/backup/$1.sha256 (sha256sum lines), last: a manifest means a
# complete copy. Prints the number of files kept. Runs inside the backup
# host (`bash -c`, as root).
# Arguments: $1 host name, $2 archive, $3 role, $4 address, $5 restore
# user, $6 restore port, $7... data directories.
set -euo pipefail
host=$1 archive=$2 role=$3 address=$4 user=$5 port=$6
shift 6
store=/srv/backup
case $host in '' | .* | */*) echo "bad host name: $host" >&2; exit 2 ;; esac
new=$store/.$host.new
rm -rf -- "$new" "$store/.$host.sha256.new"
mkdir -p -- "$new"
tar -xzf "$archive" -C "$new" --no-same-owner --no-same-permissions
chmod -R u+rwX,go+rX,go-w -- "$new"
(cd "$new" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum --) >"$store/.$host.sha256.new"
rm -f -- "$store/$host.sha256" "$archive"
rm -rf -- "${store:?}/$host"
mv -- "$new" "$store/$host"
{
  printf 'role=%s\n' "$role"
  printf 'address=%s\n' "$address"
  printf 'user=%s\n' "$user"
  printf 'port=%s\n' "$port"
  printf 'paths=%s\n' "$*"
  printf 'taken=%s\n' "$(date -Is)"
} >"$store/$host.source"
chmod 0644 -- "$store/$host.source" "$store/.$host.sha256.new"
mv -- "$store/.$host.sha256.new" "$store/$host.sha256"
grep -c . "$store/$host.sha256" || true
