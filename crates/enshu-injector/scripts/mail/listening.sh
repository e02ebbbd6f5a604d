#!/bin/bash
# Wait until this host's postfix greets on tcp/25, for at most $1 seconds:
# the injector asks every hop of the mail chain before it sends, so a mail
# fired right after `up` does not meet a relay that is still starting.
# Exit 0 once a "220" greeting came; 1 if none within the time.
set -u
deadline=$((SECONDS + $1))
while :; do
  if exec 3<>/dev/tcp/127.0.0.1/25 2>/dev/null; then
    IFS= read -r -t 2 greeting <&3 || greeting=
    exec 3>&-
    [[ $greeting == 220* ]] && exit 0
  fi
  ((SECONDS >= deadline)) && exit 1
  sleep 0.2
done
