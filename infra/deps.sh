#!/usr/bin/env bash
# Install the Debian packages Enshu's build, images and tests need,
# and schemathesis (PyPI, for the API description's test) in a virtualenv
# under ~/.cache/enshu. Idempotent; runs `apt-get update` only when
# something is missing.
set -euo pipefail

# The schemathesis the API test (crates/enshu-server/tests/openapi.rs) runs.
SCHEMATHESIS_VERSION=4.32.5
# Under `sudo make deps` it goes to the cache of the user who ran sudo, as
# that user: the tests run as them and look in their own cache.
as_user=()
schemathesis_home=${XDG_CACHE_HOME:-$HOME/.cache}/enshu/schemathesis
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  schemathesis_home=$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cache/enshu/schemathesis
  as_user=(runuser -u "$SUDO_USER" --)
fi
install_schemathesis() {
  if "$schemathesis_home/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    return
  fi
  echo "deps: installing schemathesis $SCHEMATHESIS_VERSION in $schemathesis_home"
  "${as_user[@]}" rm -rf "$schemathesis_home"
  "${as_user[@]}" mkdir -p "$(dirname "$schemathesis_home")"
  "${as_user[@]}" python3 -m venv "$schemathesis_home"
  "${as_user[@]}" "$schemathesis_home/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

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
  python3-venv     # the virtualenv schemathesis is installed in
  systemd          # systemd-analyze checks infra/systemd's unit (tests/systemd_unit.sh)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  install_schemathesis
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: installing Debian packages needs root: run \`sudo make deps\` once (missing: ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
install_schemathesis
