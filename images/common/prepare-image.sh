#!/bin/bash
# Run once at `docker build` time by every role (RUN /usr/local/lib/enshu/prepare-image.sh):
# make the image work on a read-only root filesystem.
set -euo pipefail
# /etc/shadow -> /run/enshu/shadow, rendered at start by enshu_set_passwords.
# (rename over the old file rather than rm + ln: fuse-overlayfs trips on the latter)
if [[ ! -L /etc/shadow ]]; then
  cp -p /etc/shadow /etc/shadow.image
  ln -sfn /run/enshu/shadow /etc/shadow.enshu-link
  mv -f /etc/shadow.enshu-link /etc/shadow
fi
# sshd: host keys generated per container under /run/enshu/ssh.
if [[ -d /etc/ssh ]]; then
  rm -f /etc/ssh/ssh_host_*
fi
