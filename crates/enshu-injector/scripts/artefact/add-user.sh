#!/bin/bash
# Adds a user with `useradd` where /etc is writable; otherwise appends to
# /etc/passwd if that is writable (a symlink to tmpfs), and to /etc/shadow
# (a symlink to /run/enshu/shadow in every role). Prints the method used:
# exists, useradd, passwd, passwd+shadow, shadow-only or none (exit 1).
# Runs inside a range container (`bash -c`).
# Arguments: $1 user name, $2 password hash (crypt).
name=$1 hash=$2
if getent passwd "$name" >/dev/null; then echo exists; exit 0; fi
if useradd -M -s /bin/bash -- "$name" 2>/dev/null; then
  usermod -p "$hash" -- "$name" 2>/dev/null || true
  mkdir -p -- "/home/$name" 2>/dev/null || true
  echo useradd; exit 0
fi
method=none
if [ -w /etc/passwd ]; then
  uid=$(awk -F: 'BEGIN{m=999} $3>m && $3<60000 {m=$3} END{print m+1}' /etc/passwd)
  printf '%s:x:%s:%s::/home/%s:/bin/bash\n' "$name" "$uid" "$uid" "$name" >> /etc/passwd
  method=passwd
fi
if [ -w /etc/shadow ]; then
  printf '%s:%s:%s:0:99999:7:::\n' "$name" "$hash" "$(( $(date +%s) / 86400 ))" >> /etc/shadow
  method=${method/none/shadow-only}; [ "$method" = passwd ] && method=passwd+shadow
fi
mkdir -p -- "/home/$name" 2>/dev/null || true
echo "$method"
[ "$method" != none ]
