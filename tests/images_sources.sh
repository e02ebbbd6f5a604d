#!/usr/bin/env bash
# Where infra/images.sh takes Debian from, on the hosts it must build on:
# a Debian 12 host (one-line and deb822 sources) and a Debian 13 host
# (no bookworm source at all) both give a main archive and a security
# archive for bookworm images. No network, no Docker.
#
#   bash tests/images_sources.sh        (make test)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=infra/images.sh
source "$REPO/infra/images.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

expect() { # <what> <expected> <actual>
  if [[ $2 == "$3" ]]; then
    printf 'ok   %s: %s\n' "$1" "$3"
  else
    printf 'FAIL %s: expected %q, got %q\n' "$1" "$2" "$3"
    fails=$((fails + 1))
  fi
}

host() { # <name>: a fresh apt directory
  export ENSHU_APT_DIR=$work/$1
  mkdir -p "$ENSHU_APT_DIR/sources.list.d"
}

host bookworm-deb822
cat >"$ENSHU_APT_DIR/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
SOURCES
expect "Debian 12, deb822: main archive" http://mirror.example/debian "$(apt_mirror)"
expect "Debian 12, deb822: security" http://security.example/debian-security "$(apt_security_mirror)"

host bookworm-list
cat >"$ENSHU_APT_DIR/sources.list" <<'SOURCES'
deb [arch=amd64] http://mirror.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
SOURCES
expect "Debian 12, one-line: main archive" http://mirror.example/debian "$(apt_mirror)"
expect "Debian 12, one-line: security" http://security.example/debian-security "$(apt_security_mirror)"

host trixie
cat >"$ENSHU_APT_DIR/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://security.example/debian-security
Suites: trixie-security
Components: main

Types: deb
URIs: https://packages.example.com/apt
Suites: stable
Components: main

Types: deb deb-src
URIs: http://mirror.example/debian/
Suites: trixie trixie-updates
Components: main
SOURCES
expect "Debian 13: main archive (any suite's)" http://mirror.example/debian/ "$(apt_mirror)"
expect "Debian 13: security" http://security.example/debian-security "$(apt_security_mirror)"

host none
expect "no sources: no main archive" "" "$(apt_mirror || true)"
expect "no sources: security from deb.debian.org" http://deb.debian.org/debian-security "$(apt_security_mirror)"

((fails == 0)) || { echo "images_sources: $fails failed"; exit 1; }
echo "images_sources: all passed"
