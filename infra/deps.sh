#!/usr/bin/env bash
# Install the Debian packages Enshu's build, images and tests need.
# Idempotent; runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
  debootstrap      # builds the offline base image
  iptables         # the controller's host guard
  iproute2         # network namespaces for replay tests
  nftables         # the controller loads each router's rules from the host
  tcpdump          # capture on the far side of replay tests
  tcpreplay        # the replay benchmark's anchor
  postgresql       # the store's PostgreSQL tests
  sshpass          # tests log in to the analyst workstation like a trainee
  openssh-client
  curl             # the demo's scripted team talks to the portal API
  chromium         # the scoreboard's browser test
  fonts-noto-cjk   # Japanese text in that browser
  node-xterm       # xterm.js, which enshu serve bundles for the portal's web terminal
  shellcheck       # make lint checks every shell script
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
