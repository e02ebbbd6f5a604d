#!/bin/bash
# The DNS tunnel generator: TXT queries of random base32 labels under one
# domain, as a tunnel's client sends them.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 DNS server, $2 port, $3 domain, $4 count, $5 interval (ms).
server=$1 port=$2 domain=$3 count=$4 interval=$5
for ((i = 1; i <= count; i++)); do
  # shellcheck disable=SC2018,SC2019 # base32 prints ASCII only
  label=$(head -c 20 /dev/urandom | base32 | tr -d '=' | tr 'A-Z' 'a-z')
  dig +short +tries=1 +time=2 -p "$port" "@$server" "$label.$i.$domain" TXT >/dev/null 2>&1 || true
  ((i < count)) && pause "$interval" 0
done
