#!/bin/bash
# The exfiltration generator: random bytes POSTed in chunks.
# Runs inside the target range container (`bash -c`, after pause.sh,
# started by launch.sh).
# Arguments: $1 address, $2 port, $3 path, $4 total bytes, $5 chunk bytes,
# $6 interval (ms).
to=$1 port=$2 path=$3 total=$4 chunk=$5 interval=$6 sent=0
while ((sent < total)); do
  size=$(( total - sent < chunk ? total - sent : chunk ))
  head -c "$size" /dev/urandom | curl -s -o /dev/null -m 30 -X POST -H 'Content-Type: application/octet-stream' \
    --data-binary @- "http://$to:$port$path" || true
  sent=$((sent + size))
  ((sent < total)) && pause "$interval" 0
done
