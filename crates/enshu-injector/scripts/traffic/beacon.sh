#!/bin/bash
# The beacon generator: HTTP POSTs like a C2 implant's check-ins.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 address, $2 port, $3 path, $4 count, $5 interval (ms),
# $6 jitter (ms).
to=$1 port=$2 path=$3 count=$4 interval=$5 jitter=$6 host=$(hostname)
for ((i = 1; i <= count; i++)); do
  curl -s -o /dev/null -m 5 -X POST -A 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/7.0)' \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "id=$host&n=$i&d=$(head -c 48 /dev/urandom | base64 -w0)" "http://$to:$port$path" || true
  ((i < count)) && pause "$interval" "$jitter"
done
