#!/bin/bash
# Starts a `sleep` whose process name (comm, and argv[0]) is given, from a
# symlink of that name, in its own session so it outlives the exec; prints
# its pid (the running one's, if a process of that name runs already). A
# symlink's name becomes the comm, which `ps` and `pgrep -x` show.
# Runs inside a range container (`bash -c`), as root; with a user in $4 it
# runs again as that user (a staff PC's malware runs as the clerk who
# opened it, so the team can stop it as that user).
# Arguments: $1 process name, $2 directory for the symlink, $3 lifetime (s),
# $4 user to run as (empty: root).
set -e
name=$1 directory=$2 lifetime=$3 user=${4:-}
if [ -n "$user" ] && [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid="$user" --regid="$(id -g -- "$user")" --init-groups -- \
    bash -c "$BASH_EXECUTION_STRING" "$0" "$name" "$directory" "$lifetime" ""
fi
running=$(pgrep -x -- "${name:0:15}" | head -n 1 || true)
if [ -n "$running" ]; then echo "$running"; exit 0; fi
mkdir -p -- "$directory"
ln -sfn /bin/sleep "$directory/$name"
# shellcheck disable=SC2016 # $0, $1 and $2 are the inner bash's own arguments
setsid bash -c 'exec -a "$0" "$1" "$2"' "$name" "$directory/$name" "$lifetime" </dev/null >/dev/null 2>&1 &
pid=$!
sleep 0.2
kill -0 "$pid"
echo "$pid"
