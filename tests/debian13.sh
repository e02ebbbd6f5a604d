#!/usr/bin/env bash
# Debian 13 (trixie) as the host, on this machine: a trixie userland
# (debootstrap, cached) entered with chroot, sharing this host's kernel,
# process and network namespaces and Docker socket, with the checkout and
# its target directory at the same paths (cargo reuses what is built).
# In it, as on a Debian 13 host:
#   - `infra/deps.sh` installs every package by its Debian 13 name;
#   - images.sh finds the host's mirror and security archive in trixie's
#     own deb822 sources;
#   - `infra/lint.sh` passes with trixie's shellcheck;
#   - the portal's terminal bundles trixie's node-xterm (xterm.js 5) and
#     works in trixie's Chromium (terminal_browser: typed Japanese shown,
#     replayed, no CSP refusal);
#   - systemd 257's `systemd-analyze verify` accepts the unit.
# Found this way (session 17): serve failed at start on Debian 13, its
# node-xterm having another layout; under the CSP its text was unreadable.
#
#   bash tests/debian13.sh ENSHU_BINARY     (make test; needs root)
#
# ENSHU_CACHE (default /var/cache/enshu) holds the userland; a change to
# this script's package list builds it again. Everything mounted is
# unmounted on exit; the userland itself is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
enshu=$(realpath "${1:?usage: tests/debian13.sh ENSHU_BINARY}")
[ "$(id -u)" -eq 0 ] || { echo "debian13: needs root (debootstrap, chroot, mounts): run make test as root" >&2; exit 1; }
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# images.sh's mirror detection, read from this host's apt sources.
# shellcheck source=infra/images.sh
source infra/images.sh
mirror=${ENSHU_DEBIAN_MIRROR:-$(apt_mirror || true)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(apt_security_mirror)

base_packages=ca-certificates,make,git,python3,build-essential,pkg-config,docker.io
cache=${ENSHU_CACHE:-/var/cache/enshu}
key=$(printf '%s\n' "$base_packages" "$mirror" "$security" | sha256sum | cut -c1-12)
root=$cache/debian13-host-$key
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}

mounted=()
unmount_all() {
  local index
  for ((index = ${#mounted[@]} - 1; index >= 0; index--)); do
    umount -R -l "${mounted[index]}" 2>/dev/null || true
  done
}
trap unmount_all EXIT
bind() { # <host path> <path in the userland> [rbind]
  local inside=$root$2
  if [ -d "$1" ]; then mkdir -p "$inside"; else mkdir -p "$(dirname "$inside")"; touch "$inside"; fi
  mount "--${3:-bind}" "$1" "$inside"
  mounted+=("$inside")
}

if [ ! -e "$root/.enshu-ready" ]; then
  started=$(now)
  rm -rf "$root.partial"
  echo "debian13: debootstrap trixie from $mirror into $root"
  debootstrap --variant=minbase --include="$base_packages" trixie "$root.partial" "$mirror" \
    >"$cache/debian13-debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debian13-debootstrap.log" >&2; echo "debian13: debootstrap failed (log $cache/debian13-debootstrap.log)" >&2; exit 1; }
  rm -f "$root.partial/etc/apt/sources.list"
  # As Debian 13's installer writes them: deb822, with updates and security.
  cat >"$root.partial/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  mv "$root.partial" "$root"
  touch "$root/.enshu-ready"
  echo "debian13: userland ready in $(elapsed "$started")"
fi
# This host's name service and certificate authorities (a proxy's CA, if
# the machine has one) and pip's settings, as the host has them.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
[ -e /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"

mkdir -p "$root/proc"
mount -t proc proc "$root/proc"
mounted+=("$root/proc")
bind /sys /sys rbind
bind /dev /dev rbind
bind "$repo" "$repo"
[ "$target_dir" = "$repo/target" ] || bind "$target_dir" "$target_dir"
bind "$cargo_home" "$cargo_home"
bind "$rustup_home" "$rustup_home"
bind /run/docker.sock /run/docker.sock

inside() {
  chroot "$root" /usr/bin/env -i HOME="$HOME" PATH="$cargo_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" CARGO_TARGET_DIR="$target_dir" CARGO_TERM_COLOR=never \
    LANG=C.UTF-8 bash -c "set -euo pipefail; cd '$repo'; $1"
}
step() { # <what> <command inside>
  local started
  started=$(now)
  if ! inside "$2"; then
    echo "debian13: FAILED on Debian 13: $1 ($2)" >&2
    exit 1
  fi
  echo "debian13: ok   $1 ($(elapsed "$started"))"
}

inside 'grep -q "^VERSION_ID=\"13\"" /etc/os-release' || { echo "debian13: $root is not Debian 13" >&2; exit 1; }
step "infra/deps.sh installs every package" 'bash infra/deps.sh >/dev/null'
step "images.sh finds the mirror and security archive in trixie's deb822 sources" \
  "source infra/images.sh && [ \"\$(apt_mirror)\" = '$mirror' ] && [ \"\$(apt_security_mirror)\" = '$security' ]"
step "infra/lint.sh with trixie's shellcheck" 'bash infra/lint.sh >/dev/null'
step "the portal bundles node-xterm 5 (xterm.js) and its adapter" \
  "dpkg-query -W -f='\${Version}' node-xterm | grep -q '^5\\.' && cargo test -q -p enshu-server --lib terminal::assets 2>&1 | tail -n 3"
step "the web terminal in trixie's Chromium" 'cargo test -q -p enshu-server --test terminal_browser 2>&1 | tail -n 3'
step "systemd 257 verifies the unit" "bash tests/systemd_unit.sh '$enshu'"
# shellcheck disable=SC2016 # expanded inside the userland
echo "debian13: every check passed on Debian 13 ($(inside '. /etc/os-release; echo "$PRETTY_NAME"'))"
