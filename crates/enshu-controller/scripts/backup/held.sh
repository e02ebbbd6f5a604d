# shellcheck shell=bash
# Prints the name of every host a backup host keeps a complete copy of
# (one with its manifest /srv/backup/<host>.sha256). Runs inside the
# backup host (`bash -c`).
cd /srv/backup 2>/dev/null || exit 0
for manifest in *.sha256; do
  [ -f "$manifest" ] && printf '%s\n' "${manifest%.sha256}"
done
exit 0
