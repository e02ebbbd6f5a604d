# shellcheck shell=bash
# Prints the manifest of the copy of host $1 a backup host keeps
# (`sha256sum` lines, names relative to the host's /); exit 3 when it
# keeps none. Runs inside the backup host.
case $1 in '' | .* | */*) echo "bad host name: $1" >&2; exit 2 ;; esac
[ -f "/srv/backup/$1.sha256" ] || { echo "no copy of $1" >&2; exit 3; }
cat -- "/srv/backup/$1.sha256"
