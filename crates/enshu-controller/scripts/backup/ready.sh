# shellcheck shell=bash
# Waits up to $1 seconds for the host's init to say it is ready (its data
# seeded, its daemons started): exit 0 when it is, 1 when not in time.
# Runs inside a range host (`bash -c`).
for _ in $(seq $(($1 * 5))); do
  [ -e /run/enshu/ready ] && exit 0
  sleep 0.2
done
exit 1
