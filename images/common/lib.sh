# shellcheck shell=bash
# /usr/local/lib/enshu/lib.sh — sourced by every role's /usr/local/sbin/enshu-init.
#
# Roles run as PID 1 with a read-only root filesystem: everything generated at
# start (passwords, keys, config rendered from env) goes under /run/enshu, and
# writable state lives on tmpfs/volumes mounted by the controller.
#
#   enshu_run NAME CMD...   start a foreground daemon, remember its pid
#   enshu_supervise         wait; exit fast on SIGTERM, or exit 1 if a daemon dies

set -uo pipefail

ENSHU_RUN=/run/enshu
ENSHU_LOG=/var/log/enshu
declare -A ENSHU_PIDS=()

mkdir -p "$ENSHU_RUN" "$ENSHU_LOG"

# The initial passwords, as the roles resolve them (ENSHU_PASSWORD for the
# users, ENSHU_WEB_ADMIN_PASSWORD for the web role's /admin/), kept for the
# automatic account_disabled check to compare with (root only; the values
# are in the container's environment anyway).
enshu_keep_initial_passwords() {
  local directory="$ENSHU_RUN/initial-passwords"
  (
    umask 077
    mkdir -p "$directory"
    printf '%s\n' "${ENSHU_PASSWORD:-enshu}" >"$directory/user"
    printf '%s\n' "${ENSHU_WEB_ADMIN_PASSWORD:-saida2024}" >"$directory/web-admin"
  )
}
enshu_keep_initial_passwords

enshu_log() { printf '%s enshu-init[%s]: %s\n' "$(date -Is)" "${ENSHU_ROLE:-?}" "$*" | tee -a "$ENSHU_LOG/init.log" >&2; }

enshu_run() { # NAME CMD...
  local name=$1; shift
  "$@" &
  ENSHU_PIDS[$!]=$name
  enshu_log "started $name (pid $!): $*"
}

# Hash a password for /etc/shadow or a dovecot passwd-file ({SHA512-CRYPT}).
enshu_crypt() { openssl passwd -6 -stdin <<<"$1"; }

# /etc/shadow is a symlink into /run/enshu (see enshu-prepare-shadow): render it
# from the image's copy with the given user:password pairs applied.
enshu_set_passwords() { # user:password ...
  local src=/etc/shadow.image dst="$ENSHU_RUN/shadow" pair user pw hash
  cp "$src" "$dst.new"
  for pair in "$@"; do
    user=${pair%%:*} pw=${pair#*:}
    hash=$(enshu_crypt "$pw")
    awk -F: -v OFS=: -v u="$user" -v h="$hash" '$1 == u { $2 = h; $3 = int(systime() / 86400) } 1' \
      "$dst.new" >"$dst.tmp" && mv "$dst.tmp" "$dst.new"
  done
  chmod 0640 "$dst.new"
  chgrp shadow "$dst.new" 2>/dev/null || true
  mv "$dst.new" "$dst"
}

# sshd host keys live in /run/enshu/ssh (fresh per container, never in the image).
# Only ed25519: an RSA key costs about a CPU-second to generate, and a range
# starts dozens of sshd at once (every OpenSSH client since 6.5 takes ed25519).
enshu_sshd_prepare() {
  mkdir -p "$ENSHU_RUN/ssh" /run/sshd
  chmod 0755 /run/sshd
  [[ -f $ENSHU_RUN/ssh/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -f "$ENSHU_RUN/ssh/ssh_host_ed25519_key" </dev/null
}

enshu_stop_all() {
  local sig=${1:-TERM} pid
  for pid in "${!ENSHU_PIDS[@]}"; do kill "-$sig" "$pid" 2>/dev/null; done
}

enshu_shutdown() {
  enshu_log "SIGTERM: stopping ${ENSHU_PIDS[*]:-nothing}"
  enshu_stop_all TERM
  # Give daemons ~1.5 s, then kill: `docker stop` must return in < 2 s.
  local pid alive
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    alive=0
    for pid in "${!ENSHU_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  enshu_stop_all KILL
  exit 0
}

enshu_supervise() {
  trap enshu_shutdown TERM INT
  enshu_log "ready"
  : >"$ENSHU_RUN/ready"
  local pid
  while :; do
    if ((${#ENSHU_PIDS[@]} == 0)); then
      # No daemons (e.g. injector): just idle, interruptibly.
      sleep 3600 & wait $! ; continue
    fi
    wait -n -p pid 2>/dev/null
    [[ -n ${pid:-} && -n ${ENSHU_PIDS[$pid]:-} ]] || continue
    enshu_log "${ENSHU_PIDS[$pid]} (pid $pid) exited; stopping container"
    unset "ENSHU_PIDS[$pid]"
    enshu_stop_all TERM; sleep 0.5; enshu_stop_all KILL
    exit 1
  done
}

# Central logging: when the plan names collectors (ENSHU_SYSLOG, their
# addresses, space-separated), a second rsyslogd follows every log file
# under /var/log (*.log, */*.log, syslog, messages: services, auth, the
# lines log artefacts append) and forwards each line over TCP to each
# collector, with this host's name, the file's name and the time it was
# read; each collector has its own in-memory queue that waits out a
# collector restart (retried every second, never dropped). It opens no
# /dev/log, so a role's own syslog daemon keeps it.
#   ENSHU_SYSLOG        collector addresses (unset: nothing is forwarded)
#   ENSHU_SYSLOG_PORT   their TCP port (default 514)
#   ENSHU_FORWARD_GLOBS extra files to follow (space-separated globs)
enshu_forward_logs() {
  [[ -n ${ENSHU_SYSLOG:-} ]] || return 0
  local dir="$ENSHU_RUN/forward" conf glob target index=0 globs extra
  conf="$dir/rsyslog.conf"
  mkdir -p "$dir/work"
  # rsyslog expands these patterns itself (and follows files created later).
  globs=('/var/log/*.log' '/var/log/*/*.log' '/var/log/syslog' '/var/log/messages')
  read -r -a extra <<<"${ENSHU_FORWARD_GLOBS:-}" 2>/dev/null || true
  {
    printf 'global(workDirectory="%s" maxMessageSize="64k")\n' "$dir/work"
    printf 'module(load="imfile" mode="inotify")\n'
    for glob in "${globs[@]}" "${extra[@]}"; do
      printf 'input(type="imfile" file="%s" tag="file" addMetadata="on" ruleset="forward" freshStartTail="off" reopenOnTruncate="on")\n' "$glob"
    done
    cat <<'TEMPLATE'
template(name="EnshuForward" type="list") {
  constant(value="<") property(name="pri") constant(value=">")
  property(name="timereported" dateFormat="rfc3339") constant(value=" ")
  property(name="hostname") constant(value=" ")
  property(name="$.tag") constant(value=" ")
  property(name="msg" droplastlf="on") constant(value="\n")
}
TEMPLATE
    printf 'ruleset(name="forward") {\n'
    printf '  set $.tag = re_extract($!metadata!filename, "%s", 0, 1, "log") & ":";\n' '^/var/log/(.+)\$'
    for target in $ENSHU_SYSLOG; do
      printf '  action(type="omfwd" target="%s" port="%s" protocol="tcp" template="EnshuForward"\n' \
        "$target" "${ENSHU_SYSLOG_PORT:-514}"
      printf '         queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="256"\n'
      printf '         action.resumeRetryCount="-1" action.resumeInterval="1" name="to-%s")\n' "$index"
      index=$((index + 1))
    done
    printf '}\n'
  } >"$conf"
  if ! /usr/sbin/rsyslogd -N1 -f "$conf" >"$dir/check.log" 2>&1; then
    enshu_log "error: the log forwarder's config is invalid: $(tr '\n' ' ' <"$dir/check.log")"
    return 1
  fi
  enshu_run rsyslog-forward /usr/sbin/rsyslogd -n -iNONE -f "$conf"
  enshu_log "forwarding logs to $ENSHU_SYSLOG (tcp/${ENSHU_SYSLOG_PORT:-514})"
}
