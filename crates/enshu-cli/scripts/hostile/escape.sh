#!/usr/bin/env bash
# Hostile: leave the container. No Docker or containerd socket, no mount,
# no module, no write to the kernel's settings, no other namespace, and
# none of the capabilities that would allow them.
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, host, team2, ports are lib.sh's
for socket in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock /var/run/containerd/containerd.sock; do
  if [[ -e $socket ]]; then got_through "$socket exists"; else blocked "no $socket"; fi
done
must_fail "mount a tmpfs" mount -t tmpfs none /mnt
must_fail "write a kernel setting" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
must_fail "load a module" modprobe dummy
must_fail "enter PID 1's mount namespace" nsenter -t 1 -m true
must_fail "change the root" sh -c 'mkdir -p /tmp/r && chroot /tmp/r /bin/true'
capabilities=$(awk '/^CapEff/ {print $2}' /proc/self/status)
# CAP_SYS_ADMIN (21), CAP_SYS_MODULE (16), CAP_SYS_PTRACE (19), CAP_SYS_RAWIO (17), CAP_DAC_READ_SEARCH (2)
for bit in 21 16 19 17 2; do
  if (((16#$capabilities >> bit) & 1)); then got_through "has capability $bit"; else blocked "no capability $bit"; fi
done
finish
