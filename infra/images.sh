#!/usr/bin/env bash
# Build Enshu's offline container images.
#
#   bash infra/images.sh [role...]      (make images)
#
# 1. debootstrap ONE Debian bookworm rootfs (minbase + every package in
#    images/base/packages.txt) from the mirror apt is configured with,
#    upgraded from the suite's -updates and -security archives,
#    cache it as a tarball under $ENSHU_CACHE, `docker import` it as
#    enshu/base:<hash12> (+ :latest).
# 2. `docker build` each role image enshu/<role>:latest FROM that base.
#    Role builds never touch the network; a role whose image already
#    carries the same enshu.content-hash label is skipped.
#
# Environment:
#   ENSHU_CACHE          rootfs tarball cache   (default /var/cache/enshu)
#   ENSHU_DEBIAN_MIRROR  Debian mirror URL      (default: parsed from apt sources)
#   ENSHU_DEBIAN_SECURITY_MIRROR  the suite's security archive (default: the
#                        host's `-security` source, else deb.debian.org);
#                        `none` builds without security updates
#   ENSHU_DEBIAN_SUITE   Debian suite           (default bookworm)
#   ENSHU_IMAGE_TAG      role images' tag       (default latest; a checkout
#                        built with the same variable runs these images)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES="$REPO/images"
CACHE="${ENSHU_CACHE:-/var/cache/enshu}"
SUITE="${ENSHU_DEBIAN_SUITE:-bookworm}"
TAG="${ENSHU_IMAGE_TAG:-latest}"
ALL_ROLES=(analyst workstation web mail file dns directory syslog router proxy internet injector backup)

log() { printf '%s\n' "$*"; }
die() { printf 'images.sh: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# The "deb" URIs of apt's sources, deb822 (*.sources) or one-line
# (sources.list, *.list) format, as `URI SUITE` lines, under
# ${ENSHU_APT_DIR:-/etc/apt} (a test points it elsewhere).
apt_sources() {
  local f apt=${ENSHU_APT_DIR:-/etc/apt}
  for f in "$apt"/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; suites = ""; types = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i);   split($i, u, /[ \t]+/); uri = u[1] }
          if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites = $i }
          if ($i ~ /^Types:/)  { types = $i }
        }
        if (types ~ /deb([ \t]|$)/ && uri != "") {
          n = split(suites, s, /[ \t]+/)
          for (j = 1; j <= n; j++) if (s[j] != "") print uri, s[j]
        }
      }' "$f"
  done
  for f in "$apt"/sources.list "$apt"/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk '
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        print $i, $(i + 1)
      }' "$f"
  done
}

# The main Debian archive to debootstrap $SUITE from: the host's source of
# that suite, else (a Debian 13 host building bookworm images) the host's
# main archive of any suite, which carries every suite.
apt_mirror() {
  local sources
  sources=$(apt_sources)
  awk -v suite="$SUITE" '$2 == suite { print $1; exit }' <<<"$sources" | grep . && return
  awk '$2 !~ /-security$/ && $1 ~ /\/debian\/?$/ { print $1; exit }' <<<"$sources"
}

# The security archive: the host's (any suite's: one archive holds them all).
apt_security_mirror() {
  local found
  found=$(apt_sources | awk '$2 ~ /-security$/ { print $1; exit }')
  printf '%s\n' "${found:-http://deb.debian.org/debian-security}"
}

packages() { grep -v '^[[:space:]]*#' "$IMAGES/base/packages.txt" | awk 'NF { print $1 }'; }

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return
  log "installing debootstrap ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# Everything below is hashed into the base image's content hash (via
# `declare -f`), so editing the rootfs recipe invalidates the cache while
# editing the role-build part of this script does not.
build_rootfs() { # <target dir> <mirror> <security mirror or none>
  local target=$1 mirror=$2 security=$3 include
  include=$(packages | paste -sd, -)
  mkdir -p "$target/etc/dpkg/dpkg.cfg.d"
  # Honoured by the second stage (dpkg --install) and by any later dpkg run.
  cat >"$target/etc/dpkg/dpkg.cfg.d/01-enshu-nodoc" <<'NODOC'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
NODOC
  DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase \
    --include="$include" "$SUITE" "$target" "$mirror"
  # Containers have no init system: never let a postinst start a daemon.
  printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
  chmod 755 "$target/usr/sbin/policy-rc.d"
  {
    printf 'deb %s %s main\n' "$mirror" "$SUITE"
    printf 'deb %s %s-updates main\n' "$mirror" "$SUITE"
    [[ $security == none ]] || printf 'deb %s %s-security main\n' "$security" "$SUITE"
  } >"$target/etc/apt/sources.list"
  # The suite's point and security updates (debootstrap takes the release).
  mount -t proc proc "$target/proc"
  local upgraded=0
  chroot "$target" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive chroot "$target" apt-get -y -qq \
      -o Dpkg::Options::=--force-confold upgrade &&
    chroot "$target" apt-get clean && upgraded=1
  umount "$target/proc"
  ((upgraded)) || return 1
  # The first stage extracts packages with tar, ignoring dpkg.cfg.d: sweep.
  find "$target/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$target/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$target"/usr/share/{man,info,lintian}/*
  find "$target/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin \
    "$target"/var/cache/apt/archives/*.deb "$target"/var/cache/debconf/*-old \
    "$target"/var/log/*.log "$target"/var/log/apt/* "$target"/tmp/* \
    "$target"/etc/ssh/ssh_host_*_key* "$target"/root/.bash_history
  # No image ships a machine identity; roles regenerate keys at start.
  : >"$target/etc/machine-id"
}

# Metadata every role inherits, applied at `docker import` (each Dockerfile
# metadata step costs ~5 s with the legacy builder on fuse-overlayfs).
BASE_CHANGES=(
  'ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive'
  'ENTRYPOINT ["/usr/local/sbin/enshu-init"]'
  'CMD []'
  'HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/enshu-health"]'
)

# Hash of the rootfs recipe: keys the cached tarball.
rootfs_hash() {
  { cat "$IMAGES/base/packages.txt"; printf '%s\n' "$SUITE"; declare -f build_rootfs
    if [[ ${ENSHU_DEBIAN_SECURITY_MIRROR:-} == none ]]; then echo "no security updates"; fi; } \
    | sha256sum | cut -c1-64
}

# Hash of the base image: the rootfs plus the import-time metadata.
base_hash() {
  { rootfs_hash; printf '%s\n' "${BASE_CHANGES[@]}"; } | sha256sum | cut -c1-64
}

# Hash of a role's build inputs: its directory, images/common, the base.
role_hash() { # <role> <base hash>
  local role=$1 bhash=$2
  {
    printf 'base %s\n' "$bhash"
    (cd "$IMAGES" && find "$role" common -type f -print0 | LC_ALL=C sort -z \
       | xargs -0 sha256sum)
    (cd "$IMAGES" && find "$role" common -type f -perm /111 -print | LC_ALL=C sort)
  } | sha256sum | cut -c1-64
}

label_of() { # <image> -> enshu.content-hash label or empty
  docker image inspect -f '{{ index .Config.Labels "enshu.content-hash" }}' "$1" 2>/dev/null || true
}

ensure_base() {
  local hash rhash tag tarball t0 mirror security tmp change changes=()
  hash=$(base_hash); rhash=$(rootfs_hash); tag="enshu/base:${hash:0:12}"
  BASE_HASH=$hash BASE_TAG=$tag
  if [[ $(label_of "$tag") == "$hash" ]]; then
    docker tag "$tag" enshu/base:latest
    log "[base] $tag cached"
    return
  fi
  tarball="$CACHE/enshu-rootfs-${rhash:0:12}.tar.gz"
  if [[ ! -s $tarball ]]; then
    ensure_debootstrap
    mirror=${ENSHU_DEBIAN_MIRROR:-$(apt_mirror | head -n1)}
    [[ -n $mirror ]] || die "no Debian mirror: set ENSHU_DEBIAN_MIRROR or configure apt"
    security=${ENSHU_DEBIAN_SECURITY_MIRROR:-$(apt_security_mirror)}
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "[base] debootstrap $SUITE from $mirror ($(packages | wc -l) packages), updates from $SUITE-updates and $security ..."
    t0=$(now)
    build_rootfs "$tmp/rootfs" "$mirror" "$security" >"$tmp/debootstrap.log" 2>&1 || {
      tail -n 30 "$tmp/debootstrap.log" >&2
      [[ -f $tmp/rootfs/debootstrap/debootstrap.log ]] && tail -n 30 "$tmp/rootfs/debootstrap/debootstrap.log" >&2
      die "debootstrap or the upgrade from $SUITE-updates/$security failed (offline? ENSHU_DEBIAN_SECURITY_MIRROR=none builds without security updates)"
    }
    log "[base] debootstrap done in $(elapsed "$t0"); packing tarball ..."
    t0=$(now)
    tar -C "$tmp/rootfs" --numeric-owner --xattrs -cf - . | gzip -6 >"$tarball.part"
    mv "$tarball.part" "$tarball"
    rm -rf "$tmp"; trap - EXIT
    log "[base] $tarball ($(du -h "$tarball" | cut -f1)) in $(elapsed "$t0")"
  fi
  t0=$(now)
  for change in "${BASE_CHANGES[@]}" "LABEL enshu.role=base" \
      "LABEL enshu.content-hash=$hash" "LABEL enshu.rootfs-hash=$rhash"; do
    changes+=(--change "$change")
  done
  docker import "${changes[@]}" "$tarball" "$tag" >/dev/null
  docker tag "$tag" enshu/base:latest
  log "[base] imported $tag in $(elapsed "$t0")"
}

build_role() { # <n> <total> <role>
  local n=$1 total=$2 role=$3 hash t0 image="enshu/$3:$TAG"
  [[ -f $IMAGES/$role/Dockerfile ]] || die "no such role: $role (images/$role/Dockerfile)"
  hash=$(role_hash "$role" "$BASE_HASH")
  if [[ $(label_of "$image") == "$hash" ]]; then
    log "[$n/$total] $image cached"
    return
  fi
  printf '[%s/%s] building %s ... ' "$n" "$total" "$image"
  t0=$(now)
  # Build context is images/ so a role can COPY common/ as well as its own dir.
  if ! DOCKER_BUILDKIT=0 docker build -q --force-rm -f "$IMAGES/$role/Dockerfile" \
      --build-arg "BASE=$BASE_TAG" \
      --label "enshu.role=$role" --label "enshu.content-hash=$hash" \
      --label "enshu.base-hash=$BASE_HASH" \
      -t "$image" "$IMAGES" >"$CACHE/build-$role.log" 2>&1; then
    printf 'FAILED\n'
    cat "$CACHE/build-$role.log" >&2
    die "building $image"
  fi
  printf '%s\n' "$(elapsed "$t0")"
}

main() {
  local roles=("$@") i=0 t0
  ((${#roles[@]})) || roles=("${ALL_ROLES[@]}")
  command -v docker >/dev/null || die "docker not found"
  t0=$(now)
  mkdir -p "$CACHE"
  ensure_base
  for role in "${roles[@]}"; do
    i=$((i + 1))
    build_role "$i" "${#roles[@]}" "$role"
  done
  log "done in $(elapsed "$t0")"
}

# Sourced (tests/images_smoke.sh reads apt_mirror), it only defines.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
