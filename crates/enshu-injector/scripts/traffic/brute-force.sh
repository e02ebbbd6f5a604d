#!/bin/bash
# The brute-force generator: password guesses against one service. The
# list never holds a range's real password. `ssh` falls back to plain TCP
# connects where sshpass is missing.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 address, $2 port, $3 path, $4 count, $5 interval (ms),
# $6 user, $7 method (http, ssh or connect).
to=$1 port=$2 path=$3 count=$4 interval=$5 user=$6 method=$7
passwords=(123456 password admin qwerty letmein Passw0rd welcome1 P@ssw0rd admin123 12345678 iloveyou abc123 111111 dragon monkey)
[ "$method" = ssh ] && ! command -v sshpass >/dev/null 2>&1 && method=connect
for ((i = 1; i <= count; i++)); do
  password=${passwords[$(( (i - 1) % ${#passwords[@]} ))]}
  # shellcheck disable=SC2016 # $0 and $1 of `bash -c` below are its own arguments
  case $method in
    http) curl -s -o /dev/null -m 5 -u "$user:$password" "http://$to:$port$path" || true ;;
    ssh) sshpass -p "$password" ssh -n -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
           -o PreferredAuthentications=password -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
           -p "$port" "$user@$to" true >/dev/null 2>&1 || true ;;
    *) timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$to" "$port" 2>/dev/null || true ;;
  esac
  ((i < count)) && pause "$interval" 0
done
