#!/usr/bin/env bash
# Hostile: fill the disks and the logs. Every writable path is a tmpfs of
# its own (64 MiB, counted in the container's memory), the root is
# read-only, and Docker keeps at most 2 x 10 MiB of the container's log
# (the runner measures that file on the machine).
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, host, team2, ports are lib.sh's
for path in /tmp /var/log; do
  dd if=/dev/zero of="$path/hostile-fill" bs=1M count=80 2>/dev/null
  written=$(($(stat -c %s "$path/hostile-fill" 2>/dev/null || echo 0) / 1048576))
  rm -f "$path/hostile-fill"
  if ((written > 64)); then got_through "wrote ${written} MiB to $path"; else blocked "$path full at ${written} MiB"; fi
done
for path in / /usr /etc /var/lib; do
  must_fail "write to $path" dd if=/dev/zero of="$path/hostile-fill" bs=1M count=1
done
# 30 MiB without a newline, then lines, into the init's stdout: Docker's log.
head -c $((30 * 1048576)) /dev/zero | tr '\0' x >/proc/1/fd/1
for _ in $(seq 2000); do echo "$marker log flood"; done >/proc/1/fd/1
blocked "flooded the container log (the runner measures it)"
finish
