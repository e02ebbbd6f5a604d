#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for Enshu's store tests and local runs.
#
# Why a private cluster instead of Debian's `main` cluster: tests need a
# server they may fill with junk and throw away, on a port nobody else uses,
# without touching /etc/postgresql or a server an operator relies on.
#
#   bash infra/postgres.sh start DIR   # prints postgres://enshu:enshu@127.0.0.1:PORT/enshu
#   bash infra/postgres.sh url DIR     # prints the URL of the running cluster
#   bash infra/postgres.sh stop DIR    # stops it (DIR is kept; `rm -rf DIR` to forget it)
#
# Every command is idempotent: `start` on a running cluster prints its URL,
# `stop` on a stopped or missing one does nothing. As root the server runs as
# the `postgres` user (PostgreSQL refuses to run as root). When that user
# cannot reach DIR (a checkout under root's 0700 home, say), the cluster
# lives in a private folder under /tmp named after DIR's absolute path, and
# DIR/cluster says where; start, url and stop all find it the same way. The
# server listens on 127.0.0.1 and on a Unix socket in the cluster's
# socket/ folder, never on other addresses.
set -euo pipefail

readonly ROLE_NAME=enshu
readonly ROLE_PASSWORD=enshu
readonly DATABASE_NAME=enshu

usage() {
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
}

log() {
    echo "postgres.sh: $*" >&2
}

# The newest installed server's bin directory, or nothing.
find_server_bindir() {
    local candidate
    # shellcheck disable=SC2012 # version directories: plain numbers, sorted as versions
    candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
        echo "$candidate"
    fi
}

ensure_server_installed() {
    if [[ -n "$(find_server_bindir)" ]]; then
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        log "postgresql is not installed and installing it needs root"
        exit 1
    fi
    log "installing postgresql from Debian's packages"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
    if [[ -z "$(find_server_bindir)" ]]; then
        log "postgresql installed but no server binaries under /usr/lib/postgresql/*/bin"
        exit 1
    fi
}

# Runs a command as the user that owns the cluster: `postgres` when we are
# root, ourselves otherwise.
as_cluster_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

port_is_free() {
    local port=$1
    # A successful connect means something listens there.
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

pick_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        if port_is_free "$port" && [[ ! -e "/tmp/.s.PGSQL.$port.lock" ]]; then
            echo "$port"
            return
        fi
    done
    log "no free port found between 20000 and 50000"
    exit 1
}

cluster_url() {
    local dir=$1
    echo "postgres://$ROLE_NAME:$ROLE_PASSWORD@127.0.0.1:$(cat "$dir/port")/$DATABASE_NAME"
}

cluster_is_running() {
    local dir=$1 bindir=$2
    [[ -f "$dir/data/PG_VERSION" ]] && as_cluster_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

run_psql() {
    local dir=$1 bindir=$2
    shift 2
    as_cluster_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/socket" -p "$(cat "$dir/port")" \
        -U postgres -d postgres "$@"
}

# Where the cluster of DIR lives: DIR itself, or, as root when the
# `postgres` user cannot reach DIR, /tmp/enshu-pg-<hash of DIR's path>.
cluster_dir() {
    local dir=$1 hash
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$dir" 2>/dev/null; then
        echo "$dir"
        return
    fi
    hash=$(printf '%s' "$dir" | sha256sum | cut -c1-16)
    echo "/tmp/enshu-pg-$hash"
}

start_cluster() {
    local dir=$1 bindir
    ensure_server_installed
    bindir=$(find_server_bindir)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    local requested
    requested=$(cd "$dir" && pwd)
    dir=$(cluster_dir "$requested")
    if [[ "$dir" != "$requested" ]]; then
        log "the postgres user cannot reach $requested (a parent folder is private): the cluster lives in $dir"
        mkdir -p "$dir"
        chmod 0700 "$dir"
        chown postgres: "$dir"
        echo "$dir" >"$requested/cluster"
    fi
    as_cluster_owner mkdir -p "$dir/socket"

    if ! [[ -f "$dir/data/PG_VERSION" ]]; then
        log "creating cluster in $dir/data"
        # Local socket connections are trusted (only the owner can reach
        # DIR/socket); TCP connections need the password.
        as_cluster_owner "$bindir/initdb" -D "$dir/data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
            || { log "initdb failed, see $dir/initdb.log"; cat "$dir/initdb.log" >&2; exit 1; }
    fi

    if cluster_is_running "$dir" "$bindir"; then
        cluster_url "$dir"
        return
    fi

    local port
    port=$(pick_free_port)
    echo "$port" >"$dir/port"
    as_cluster_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start \
        -o "-p $port -k $dir/socket -c listen_addresses=127.0.0.1" >&2 \
        || { log "server did not start, see $dir/data/server.log"; tail -n 20 "$dir/data/server.log" >&2; exit 1; }

    if [[ -z "$(run_psql "$dir" "$bindir" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE_NAME'")" ]]; then
        run_psql "$dir" "$bindir" -c "CREATE ROLE $ROLE_NAME LOGIN PASSWORD '$ROLE_PASSWORD'"
    fi
    if [[ -z "$(run_psql "$dir" "$bindir" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE_NAME'")" ]]; then
        run_psql "$dir" "$bindir" -c "CREATE DATABASE $DATABASE_NAME OWNER $ROLE_NAME"
    fi
    cluster_url "$dir"
}

stop_cluster() {
    local dir=$1 bindir
    bindir=$(find_server_bindir)
    if [[ -z "$bindir" || ! -d "$dir" ]]; then
        return
    fi
    dir=$(cluster_dir "$dir")
    if cluster_is_running "$dir" "$bindir"; then
        as_cluster_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2
    fi
}

print_url() {
    local dir=$1 bindir
    bindir=$(find_server_bindir)
    if [[ -d "$dir" ]]; then dir=$(cluster_dir "$dir"); fi
    if [[ -z "$bindir" ]] || ! cluster_is_running "$dir" "$bindir"; then
        log "no cluster running in $dir"
        exit 1
    fi
    cluster_url "$dir"
}

[[ $# -eq 2 ]] || usage
case "$1" in
    start) start_cluster "$2" ;;
    stop) stop_cluster "$2" ;;
    url) print_url "$2" ;;
    *) usage ;;
esac
