#!/bin/bash
# Adds domain account $1 with password $2 on the directory host (Samba AD,
# its own sam.ldb through the DC's smb.conf). Prints `exists` or `domain`.
# Runs inside a range container (`bash -c`).
name=$1 password=$2
conf=/var/lib/samba/etc/smb.conf
# Right after `up` the DC may still be provisioning (15-25 s): wait for it
# to answer, up to 45 s (the engine gives a command 60 s).
for _ in $(seq 1 45); do
  /usr/local/bin/enshu-health && break
  sleep 1
done
if samba-tool user show "$name" -s "$conf" >/dev/null 2>&1; then echo exists; exit 0; fi
samba-tool user create "$name" "$password" -s "$conf" >&2 || exit 1
echo domain
