#!/usr/bin/env bash
# Hostile: resolve outside names. Docker's embedded resolver (127.0.0.11)
# must answer no name beyond the range (not even NXDOMAIN, which only an
# upstream could give); no DNS server of this machine may answer.
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, host, team2, ports are lib.sh's
for name in "$marker.invalid" "enshu-hostile.example.invalid"; do
  status=$(dig +time=2 +tries=1 @127.0.0.11 "$name" A 2>&1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
  case $status in
    NOERROR | NXDOMAIN) got_through "resolver answered $name ($status)" ;;
    *) blocked "resolver answered nothing for $name (${status:-no answer})" ;;
  esac
done
if timeout 4 getent hosts "$marker.invalid" >/dev/null; then got_through "getent $marker.invalid"; else blocked "getent $marker.invalid"; fi
for address in "${host[@]}"; do
  at_once must_fail "dns udp to host $address" dig +time=2 +tries=1 @"$address" "$marker.invalid"
  at_once must_fail "dns tcp to host $address" dig +tcp +time=2 +tries=1 @"$address" "$marker.invalid"
done
finish
