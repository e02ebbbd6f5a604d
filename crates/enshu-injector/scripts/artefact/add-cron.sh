#!/bin/bash
# Appends a line to a cron file (mode 0600 for a user crontab, as cron
# demands), unless it is there already (a repeated fire); prints the
# file's SHA-256. Root has neither DAC_OVERRIDE nor FOWNER here: it takes
# the file back while writing and hands it to the user last.
# Runs inside a range container (`bash -c`).
# Arguments: $1 cron file, $2 its user, $3 line, $4 `yes` for a user
# crontab (no user column), `no` for /etc/cron.d.
set -e
file=$1 user=$2 line=$3 per_user=$4
directory=$(dirname -- "$file")
mkdir -p -- "$directory"
if [ "$per_user" = yes ] && [ "$directory" = /var/spool/cron/crontabs ]; then
  { chgrp crontab "$directory" 2>/dev/null && chmod 1730 "$directory"; } || true
fi
[ -e "$file" ] && chown 0 -- "$file"
grep -qxF -- "$line" "$file" 2>/dev/null || printf '%s\n' "$line" >> "$file"
sha256sum -- "$file"
if [ "$per_user" = yes ]; then
  chmod 0600 -- "$file"; chgrp crontab -- "$file" 2>/dev/null || true; chown -- "$user" "$file"
else
  chmod 0644 -- "$file"
fi
touch -- "$directory"
