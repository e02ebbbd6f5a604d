#!/usr/bin/env bash
# Smoke-test the Enshu role images under the hardening flags of images/roles.md.
#
#   bash tests/images_smoke.sh [role...]        (after `make images`)
#
# Creates one throwaway --internal network enshu-smoke-<pid>, starts every role
# with the flags from the roles table (read-only root, cap-drop ALL + listed
# caps, no-new-privileges, tmpfs on the writable paths), waits (30 s max) for
# /usr/local/bin/enshu-health, then checks each role from a client container
# on the same network. Prints start-to-healthy time, idle memory and stop time
# per role. Everything it created is removed on exit, also on failure.
#
#   ENSHU_SMOKE_DROP_CAP=role:CAP   run that role without CAP (see tests/images_capprobe.sh)
# shellcheck disable=SC2015 # `check && ok ... || fail ...`: ok only prints, so fail runs exactly when the check fails
set -euo pipefail
# (pipelines below use `grep >/dev/null`, not `grep -q`: with pipefail an early
#  grep exit would SIGPIPE the writer and fail the check)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROLES_MD="$REPO/images/roles.md"
TAG="${ENSHU_IMAGE_TAG:-latest}"  # role images under test (infra/images.sh)
RUN_ID=$$
NET="enshu-smoke-$RUN_ID"
P="enshu-smoke-$RUN_ID"
HEALTH_TIMEOUT=30
# The directory provisions its domain at start (about 10 CPU-seconds).
DIRECTORY_HEALTH_TIMEOUT=90
FAILS=()

declare -A CAPS WRITABLE NNP EXTRA STARTUP STOPTIME STOPCLI
ROLES=()

cleanup() {
  local ids
  ids=$(docker ps -aq --filter "label=enshu.smoke=$RUN_ID" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one word per container id
  [[ -n $ids ]] && docker rm -f $ids >/dev/null 2>&1
  docker network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*"; }
fail() { FAILS+=("$1: $2"); printf 'FAIL %s: %s\n' "$1" "$2"; }
ok() { printf 'ok   %s: %s\n' "$1" "$2"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# Read the roles table between the roles-table markers of images/roles.md.
load_roles() {
  local line role caps writable nnp extra
  while IFS= read -r line; do
    [[ $line == '| '* ]] || continue
    IFS='|' read -r _ role _ caps writable nnp extra _ <<<"$line"  # the ports column is for readers
    role=$(trim "$role")
    [[ $role == role || $role == ---* || -z $role ]] && continue
    ROLES+=("$role")
    CAPS[$role]=$(trim "$caps")
    WRITABLE[$role]=$(trim "$writable")
    NNP[$role]=$(trim "$nnp")
    EXTRA[$role]=$(trim "$extra")
  done < <(sed -n '/roles-table:begin/,/roles-table:end/p' "$ROLES_MD")
  ((${#ROLES[@]})) || { echo "no roles table in $ROLES_MD" >&2; exit 2; }
}

# docker run flags for a role, from the table.
run_flags() { # role
  local role=$1 c w flags=(--read-only --cap-drop ALL)
  IFS=',' read -ra c <<<"${CAPS[$role]}"
  for x in "${c[@]}"; do
    [[ $x == - || "$role:$x" == "${ENSHU_SMOKE_DROP_CAP:-}" ]] || flags+=(--cap-add "$x")
  done
  IFS=',' read -ra w <<<"${WRITABLE[$role]}"
  for x in "${w[@]}"; do [[ $x == - ]] || flags+=(--tmpfs "$x:rw,nosuid,nodev,mode=0755"); done
  [[ ${NNP[$role]} == yes ]] && flags+=(--security-opt no-new-privileges)
  [[ ${EXTRA[$role]} == - ]] || read -ra c <<<"${EXTRA[$role]}" && [[ ${EXTRA[$role]} == - ]] || flags+=("${c[@]}")
  printf '%s\n' "${flags[@]}"
}

start_role() { # role [env...]
  local role=$1 t0 flags timeout=$HEALTH_TIMEOUT; shift
  [[ $role == directory ]] && timeout=$DIRECTORY_HEALTH_TIMEOUT
  mapfile -t flags < <(run_flags "$role")
  t0=$(now)
  docker run -d --name "$P-$role" --hostname "$role" --network "$NET" --network-alias "$role" \
    --label "enshu.smoke=$RUN_ID" "${flags[@]}" "$@" "enshu/$role:$TAG" >/dev/null
  while ! docker exec "$P-$role" /usr/local/bin/enshu-health >/dev/null 2>&1; do
    if [[ $(docker inspect -f '{{.State.Running}}' "$P-$role" 2>/dev/null) != true ]]; then
      fail "$role" "container exited; last log lines:"; docker logs --tail 15 "$P-$role" 2>&1 | sed 's/^/    /'
      return 1
    fi
    if (($(awk -v a="$t0" -v b="$(now)" 'BEGIN { print (b - a > '"$timeout"') }'))); then
      fail "$role" "not healthy after ${timeout}s; last log lines:"
      docker exec "$P-$role" /usr/local/bin/enshu-health 2>&1 | sed 's/^/    health: /' || true
      docker logs --tail 15 "$P-$role" 2>&1 | sed 's/^/    /'
      return 1
    fi
    sleep 0.2
  done
  STARTUP[$role]=$(since "$t0")
  ok "$role" "healthy in ${STARTUP[$role]}s"
}

has() { local r; for r in "${SELECTED[@]}"; do [[ $r == "$1" ]] && return 0; done; return 1; }
cx() { docker exec -i "$P-client" "$@"; }                 # run in the client
rx() { local r=$1; shift; docker exec -i "$P-$r" "$@"; }  # run in a role container
poll() { local n=$1 i; shift; for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.5; done; return 1; }  # tries cmd...

check_analyst() {
  cx ssh-keyscan -T 5 analyst 2>/dev/null | grep  'ssh-ed25519' >/dev/null && ok analyst "ssh-keyscan answers" || fail analyst "ssh-keyscan got no key"
  cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     -tt analyst@analyst 'touch ~/.smoke && id -un && tty' 2>&1 | tr -d '\r' | grep -x '/dev/pts/[0-9]*' >/dev/null \
     && ok analyst "password login as analyst (pty, writable home)" || fail analyst "password login (pty, home) failed"
}
check_workstation() {
  cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     staff@workstation 'id -un' 2>&1 | grep -x staff >/dev/null && ok workstation "password login as staff" || fail workstation "password login failed"
  if has syslog; then
    rx workstation logger -t enshu-smoke "forwarded-$RUN_ID"
    if poll 20 rx syslog grep -qs "forwarded-$RUN_ID" /var/log/remote/workstation.log; then
      ok workstation "syslog forwarded to syslog:/var/log/remote/workstation.log"
    else fail workstation "syslog line did not arrive at the syslog role"; fi
  fi
}
check_web() {
  local c
  c=$(cx curl -s -o /dev/null -w '%{http_code}' http://web/); [[ $c == 200 ]] && ok web "/ -> 200" || fail web "/ -> $c"
  cx curl -s http://web/ | grep  'さいだ市' >/dev/null && ok web "homepage mentions さいだ市" || fail web "homepage content"
  c=$(cx curl -s -o /dev/null -w '%{http_code}' http://web/admin/); [[ $c == 401 ]] && ok web "/admin/ -> 401" || fail web "/admin/ -> $c"
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -u admin:saida2024 http://web/admin/); [[ $c == 200 ]] && ok web "/admin/ with credentials -> 200" || fail web "/admin/ with credentials -> $c"
  cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     webadmin@web 'cmp /var/backups/www/index.html /var/www/html/index.html && touch /var/www/html/.restore-test && echo writable' 2>&1 |
     grep -x writable >/dev/null && ok web "webadmin logs in over ssh and can restore from /var/backups/www" || fail web "webadmin ssh restore path"
  rx web grep -q '"GET /admin/ HTTP/1.1" 401' /var/log/nginx/access.log && ok web "401 logged in access.log" || fail web "401 not in access.log"
  check_web_site_admin
}
# As webadmin, over ssh from the client (the "internal" host): restrict
# /admin/ to the client's address and change the CMS admin's password, as
# defacement-seccloud's restrict-admin and admin-password ask; a second
# container (the "attacker") runs the engine's http check program.
wx() { cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR webadmin@web "$@"; }
site_state() { rx web cat /run/enshu/site.state 2>/dev/null; }
site_state_is() { [[ $(site_state) == "$1"* && $(site_state) != "$2" ]]; } # prefix, not the previous state
attacker_status() { docker exec -i "$P-outside" bash -s -- http://web/admin/ 5 <"$REPO/crates/enshu-engine/scripts/checks/http.sh" | cut -d' ' -f1; }
account_check() { rx web bash -s -- admin <"$REPO/crates/enshu-engine/scripts/checks/account.sh"; }
check_web_site_admin() {
  local flags before c out
  mapfile -t flags < <(run_flags injector)
  docker run -d --name "$P-outside" --hostname outside --network "$NET" \
    --label "enshu.smoke=$RUN_ID" "${flags[@]}" "enshu/injector:$TAG" >/dev/null
  [[ $(site_state) == loaded* ]] && ok web "site.d loaded at start ($(site_state))" || fail web "site.state at start: $(site_state)"
  [[ $(account_check) == "fail admin still has its initial password"* ]] && ok web "account check: admin has its initial password" || fail web "account check at start: $(account_check)"
  wx 'cat ~/README.md' | grep -F '/etc/nginx/site.d/admin.conf' >/dev/null && ok web "README in webadmin's home" || fail web "no README in webadmin's home"

  before=$(site_state)
  # shellcheck disable=SC2016 # expanded by webadmin's shell on the web host
  wx 'me=${SSH_CLIENT%% *}; cat > /etc/nginx/site.d/admin.conf <<EOF
location /admin/ {
    allow $me;
    allow 127.0.0.1;
    deny all;
    auth_basic "Saida City CMS";
    auth_basic_user_file /run/enshu/htpasswd;
}
EOF'
  poll 10 site_state_is loaded "$before" && ok web "webadmin's admin.conf loaded ($(site_state))" || fail web "admin.conf not loaded: $(site_state); $(rx web cat /run/enshu/site.error)"
  c=$(attacker_status); [[ $c == 403 ]] && ok web "the http check from another host: /admin/ -> 403" || fail web "/admin/ from another host -> $c"
  c=$(cx curl -s -o /dev/null -w '%{http_code}' http://web/admin/); [[ $c == 401 ]] && ok web "/admin/ from the allowed host -> 401" || fail web "/admin/ from the allowed host -> $c"
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -u admin:saida2024 http://web/admin/); [[ $c == 200 ]] && ok web "/admin/ from the allowed host with credentials -> 200" || fail web "allowed host with credentials -> $c"

  # A config nginx rejects is not loaded, says why, and the previous one keeps running.
  before=$(site_state)
  wx 'echo "location /broken/ { no_such_directive on; }" > /etc/nginx/site.d/broken.conf'
  poll 10 site_state_is rejected "$before" && ok web "a broken site.d is rejected" || fail web "broken site.d: $(site_state)"
  rx web grep -q no_such_directive /run/enshu/site.error && ok web "site.error names the problem" || fail web "site.error: $(rx web cat /run/enshu/site.error)"
  c=$(attacker_status); [[ $c == 403 ]] && ok web "the previous config still runs (403 from another host)" || fail web "after a rejected config: /admin/ from another host -> $c"
  before=$(site_state)
  wx 'rm /etc/nginx/site.d/broken.conf'
  poll 10 site_state_is loaded "$before" && ok web "site.d loaded again once fixed" || fail web "fixed site.d: $(site_state)"

  # The CMS admin's new password (htpasswd is read per request: no reload).
  # shellcheck disable=SC2016 # expanded by webadmin's shell on the web host
  wx 'printf "admin:%s\n" "$(openssl passwd -apr1 N3w-Secret)" > /run/enshu/htpasswd'
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -u admin:saida2024 http://web/admin/); [[ $c == 401 ]] && ok web "old admin password -> 401" || fail web "old admin password -> $c"
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -u admin:N3w-Secret http://web/admin/); [[ $c == 200 ]] && ok web "new admin password -> 200" || fail web "new admin password -> $c"
  out=$(account_check)
  [[ $out == "pass admin has a new password in /run/enshu/htpasswd" ]] && ok web "account check: $out" || fail web "account check after the change: $out"
}
check_mail() {
  if cx python3 - <<'PY'
import imaplib, smtplib, socket, sys, time
s = smtplib.SMTP("mail", 25, timeout=5)
code, banner = s.docmd("NOOP") if False else (None, None)
s.sendmail("citizen@example.jp", ["team@city.saida.lg.jp"],
           b"Subject: smoke\r\nFrom: citizen@example.jp\r\nTo: team@city.saida.lg.jp\r\n\r\nhello\r\n")
s.quit()
for _ in range(20):
    m = imaplib.IMAP4("mail", 143)
    m.login("team", "enshu")
    typ, data = m.select("INBOX")
    m.logout()
    if int(data[0]) >= 1:
        sys.exit(0)
    time.sleep(0.5)
sys.exit("mail not delivered to team INBOX")
PY
  then ok mail "SMTP accepted mail for team@, IMAP login saw it in INBOX"; else fail mail "SMTP->IMAP round trip"; fi
  # The mail administrator locks a hijacked account: IMAP refuses it, `team` still logs in.
  cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     mailadmin@mail 'mail-account lock staff && mail-account list' 2>&1 | grep -x 'staff locked' >/dev/null &&
    cx python3 -c '
import imaplib, sys, time
def login(user):
    try:
        imaplib.IMAP4("mail", 143).login(user, "enshu"); return True
    except imaplib.IMAP4.error as error:
        print(user, "refused:", error, file=sys.stderr); return False
# dovecot looks at its passwd-file at most once a second: the lock holds
# from the next second on.
for _ in range(6):
    staff, team = login("staff"), login("team")
    if not staff:
        break
    time.sleep(0.5)
print("staff", staff, "team", team, file=sys.stderr)
sys.exit(0 if not staff and team else 1)' &&
    ok mail "mailadmin logs in over ssh and locks staff with mail-account; IMAP refuses staff, not team" ||
    fail mail "mailadmin lock path"
  # shellcheck disable=SC2016 # the client's bash expands $l
  cx bash -c 'exec 3<>/dev/tcp/mail/25; IFS= read -r -t 3 l <&3; [[ $l == 220* ]]' && ok mail "SMTP 220 banner" || fail mail "no SMTP 220 banner"
  # shellcheck disable=SC2016 # the client's bash expands $l
  cx bash -c 'exec 3<>/dev/tcp/mail/143; IFS= read -r -t 3 l <&3; [[ $l == "* OK"* ]]' && ok mail "IMAP * OK banner" || fail mail "no IMAP banner"
  check_mail_relay
}
# A second mail host relays the domain on to `mail` (ENSHU_MAIL_ROUTES, as
# the planner sets for a scenario's relays): both log the hop.
check_mail_relay() {
  local flags mail_ip t0
  mapfile -t flags < <(run_flags mail)
  mail_ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$P-mail")
  docker run -d --name "$P-relay" --hostname relay --network "$NET" --network-alias relay \
    --label "enshu.smoke=$RUN_ID" "${flags[@]}" -e ENSHU_HOST=relay \
    -e "ENSHU_MAIL_ROUTES=city.saida.lg.jp=$mail_ip" "enshu/mail:$TAG" >/dev/null
  t0=$(now)
  until docker exec "$P-relay" /usr/local/bin/enshu-health >/dev/null 2>&1; do
    (($(awk -v a="$t0" -v b="$(now)" 'BEGIN { print (b - a > '"$HEALTH_TIMEOUT"') }'))) && { fail mail "relay not healthy"; return; }
    sleep 0.2
  done
  cx python3 - "relayed-$RUN_ID" <<'PY' || { fail mail "relay refused the mail"; return; }
import smtplib, sys
s = smtplib.SMTP("relay", 25, timeout=5)
s.sendmail("citizen@example.jp", ["team@city.saida.lg.jp"],
           f"Subject: {sys.argv[1]}\r\nFrom: citizen@example.jp\r\nTo: team@city.saida.lg.jp\r\n\r\nvia the relay\r\n".encode())
s.quit()
PY
  if poll 20 rx mail grep -rqs "relayed-$RUN_ID" /var/mail/vhosts/city.saida.lg.jp/team/new &&
    rx relay grep -qs "relay=$mail_ip\[$mail_ip\]:25.*status=sent" /var/log/mail.log &&
    rx mail grep -qs "status=sent (delivered to maildir)" /var/log/mail.log; then
    ok mail "a relay (ENSHU_MAIL_ROUTES) forwarded the domain to mail; both logged the hop"
  else
    fail mail "relay hop: not delivered through relay"
    rx relay tail -5 /var/log/mail.log 2>&1 | sed 's/^/    relay: /'
  fi
}
check_file() {
  cx nc -z -w 3 file 445 && ok file "tcp/445 reachable" || fail file "tcp/445 unreachable"
  rx file ls /srv/share | grep README.txt >/dev/null && ok file "share seeded" || fail file "share not seeded"
  local out
  out=$(cx smbclient //file/share -U staff%enshu -m SMB3 -c 'put /etc/hostname smoke.txt; ls' 2>&1 || true)
  if grep -q 'smoke.txt' <<<"$out"; then
    ok file "smbclient login as staff, put + ls on //file/share"
  else fail file "smbclient put/ls on //file/share failed"; fi
  [[ $(rx file stat -c %U /srv/share/smoke.txt 2>/dev/null) == staff ]] && ok file "uploaded file owned by staff" || fail file "uploaded file not owned by staff"
}
check_dns() {
  local a
  a=$(cx dig +short +time=2 +tries=1 @dns www.city.saida.lg.jp A)
  [[ -n $a ]] && ok dns "www.city.saida.lg.jp -> $a" || fail dns "no A for www.city.saida.lg.jp"
  rx dns grep -q 'www.city.saida.lg.jp' /var/log/dnsmasq/queries.log && ok dns "query logged" || fail dns "query not logged"
}
# The directory: Kerberos logons (good and bad password) from the client,
# each in auth.log with the client's address; DNS for the realm's SRV
# records and the range's names; the netlogon share over SMB.
check_directory() {
  local address client krb5=/tmp/krb5-smoke.conf
  address=$(rx directory cat /run/enshu/directory/address)
  client=$(cx hostname -i | awk '{print $1}')
  cx sh -c "printf '[libdefaults]\n default_realm = AD.CITY.SAIDA.LG.JP\n dns_lookup_kdc = false\n[realms]\n AD.CITY.SAIDA.LG.JP = {\n  kdc = $address\n }\n' >$krb5"
  echo enshu | cx env KRB5_CONFIG=$krb5 kinit Administrator >/dev/null 2>&1 && ok directory "kinit Administrator" || fail directory "kinit Administrator failed"
  echo wrong | cx env KRB5_CONFIG=$krb5 kinit Administrator >/dev/null 2>&1 && fail directory "a wrong password was accepted" || ok directory "a wrong password is refused"
  poll 10 rx directory grep -q "NT_STATUS_WRONG_PASSWORD.*remote host \[ipv4:$client:" /var/log/samba/auth.log \
    && ok directory "the failed logon is in auth.log with the client's address" || fail directory "failed logon not in auth.log"
  rx directory grep -q "Administrator@AD.CITY.SAIDA.LG.JP\].*NT_STATUS_OK" /var/log/samba/auth.log \
    && ok directory "the successful logon is in auth.log" || fail directory "successful logon not in auth.log"
  [[ -n $(cx dig +short +time=2 +tries=1 @directory _ldap._tcp.ad.city.saida.lg.jp SRV) ]] && ok directory "realm SRV records in DNS" || fail directory "no _ldap._tcp SRV"
  [[ -n $(cx dig +short +time=2 +tries=1 @directory www.city.saida.lg.jp A) ]] && ok directory "the range's names in DNS" || fail directory "no A for www.city.saida.lg.jp"
  cx timeout 20 smbclient "//$address/netlogon" -U Administrator%enshu --use-kerberos=off -c ls >/dev/null 2>&1 && ok directory "netlogon share over SMB" || fail directory "netlogon share"
}
check_syslog() {
  cx logger -n syslog -P 514 -d --rfc3164 -t enshu-smoke "udp-$RUN_ID"
  cx logger -n syslog -P 514 -T --rfc3164 -t enshu-smoke "tcp-$RUN_ID"
  poll 20 rx syslog grep -qs "udp-$RUN_ID" /var/log/remote/client.log && ok syslog "udp/514 -> /var/log/remote/client.log" || fail syslog "udp message not stored"
  poll 20 rx syslog grep -qs "tcp-$RUN_ID" /var/log/remote/client.log && ok syslog "tcp/514 -> /var/log/remote/client.log" || fail syslog "tcp message not stored"
  cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     -tt logs@syslog "id -un && grep -c udp-$RUN_ID /var/log/remote/client.log" 2>&1 | tr -d '\r' | tr '\n' ' ' | grep -x 'logs 1 ' >/dev/null \
     && ok syslog "password login as logs (pty), reads /var/log/remote" || fail syslog "logs cannot log in or read /var/log/remote"
}
check_router() {
  rx router sh -c 'cat > /etc/enshu/rules.nft' <<'NFT'
table inet enshu
delete table inet enshu
table inet enshu {
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; }
}
NFT
  if poll 10 rx router grep -q '^loaded' /run/enshu/rules.state; then ok router "ruleset loaded"; else fail router "ruleset not loaded: $(rx router cat /run/enshu/rules.state)"; fi
  rx router nft list chain inet enshu forward | grep  'policy drop' >/dev/null && ok router "forward policy drop active" || fail router "ruleset not active"
  [[ $(rx router cat /proc/sys/net/ipv4/ip_forward) == 1 ]] && ok router "ip_forward=1 via --sysctl" || fail router "ip_forward not 1"
}
check_proxy() {
  local target=http://web/ c
  has internet && target=http://internet/via-proxy
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -x http://proxy:3128 "$target")
  [[ $c == 200 ]] && ok proxy "GET $target via proxy -> 200" || fail proxy "GET $target via proxy -> $c"
  docker exec -u proxy "$P-proxy" grep -qs "$target" /var/log/squid/access.log && ok proxy "request in access.log" || fail proxy "request not in access.log"
}
check_internet() {
  local c
  c=$(cx curl -s -o /dev/null -w '%{http_code}' -A "EnshuSmoke/$RUN_ID" -d 'beacon' http://internet:8080/gate.php)
  [[ $c == 200 ]] && ok internet "POST :8080 -> 200" || fail internet "POST :8080 -> $c"
  rx internet grep -q "EnshuSmoke/$RUN_ID" /var/log/c2/beacons.jsonl && ok internet "request logged in beacons.jsonl" || fail internet "request not logged"
}
check_injector() { rx injector nmap -V >/dev/null && ok injector "nmap runs" || fail injector "nmap"; }
# A copy of the file role's share taken as `enshu up` takes it (the
# controller's backup scripts), then restored as a trainee would: over ssh
# as `backup`, with `restore`, after ransomware renamed a document.
BACKUP_SCRIPTS="$REPO/crates/enshu-controller/scripts/backup"
bx() { cx sshpass -p enshu ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR backup@backup "$@"; }
check_backup() {
  bx 'id -un' 2>&1 | grep -x backup >/dev/null && ok backup "password login as backup" || fail backup "backup cannot log in"
  bx 'touch /srv/backup/x' 2>/dev/null && fail backup "backup can write /srv/backup" || ok backup "/srv/backup is read-only to backup"
  has file || return 0
  local document=/srv/share/README.txt before
  before=$(rx file sha256sum "$document" | cut -d' ' -f1)
  rx file bash -s -- 6291456 /srv/share <"$BACKUP_SCRIPTS/source.sh" | rx backup sh -c 'cat > /srv/backup/.file.tar.gz'
  rx backup bash -s -- file /srv/backup/.file.tar.gz file file staff 445 /srv/share <"$BACKUP_SCRIPTS/store.sh" >/dev/null &&
    rx backup grep -q "^$before  ./srv/share/README.txt$" /srv/backup/file.sha256 &&
    ok backup "a copy of the share with its manifest" || fail backup "storing a copy of the share"
  bx 'restore --list' | grep '^file ' >/dev/null && ok backup "restore --list shows the copy" || fail backup "restore --list"
  rx file sh -c "mv $document $document.locked && echo pay > /srv/share/README_RESTORE_FILES.txt"
  printf 'enshu\n' | bx 'restore --mirror file' >/dev/null 2>&1
  [[ $(rx file sha256sum "$document" 2>/dev/null | cut -d' ' -f1) == "$before" ]] && ! rx file test -e "$document.locked" &&
    ! rx file test -e /srv/share/README_RESTORE_FILES.txt &&
    ok backup "restore --mirror put the share back over SMB (document back, *.locked and note gone)" ||
    fail backup "restore --mirror of the share"
}

main() {
  load_roles
  SELECTED=("$@")
  ((${#SELECTED[@]})) || SELECTED=("${ROLES[@]}")
  local role
  for role in "${SELECTED[@]}"; do
    [[ -n ${CAPS[$role]:-} ]] || { echo "unknown role $role (not in $ROLES_MD)" >&2; exit 2; }
    docker image inspect "enshu/$role:$TAG" >/dev/null 2>&1 || { echo "missing image enshu/$role:$TAG (run make images)" >&2; exit 2; }
  done
  docker network create --internal --label "enshu.smoke=$RUN_ID" "$NET" >/dev/null
  log "network $NET (internal)"

  # Client for the checks: the injector image, hardened like the injector.
  mapfile -t cflags < <(run_flags injector)
  docker run -d --name "$P-client" --hostname client --network "$NET" \
    --label "enshu.smoke=$RUN_ID" "${cflags[@]}" "enshu/injector:$TAG" >/dev/null

  # syslog first so the workstation can forward to it.
  local order=() r
  has syslog && order+=(syslog)
  for r in "${SELECTED[@]}"; do [[ $r == syslog ]] || order+=("$r"); done
  for role in "${order[@]}"; do
    local env=()
    [[ $role == workstation ]] && has syslog && env=(-e ENSHU_SYSLOG=syslog -e ENSHU_SYSLOG_PROTO=tcp)
    start_role "$role" "${env[@]}" || true
  done

  for role in "${order[@]}"; do
    [[ -n ${STARTUP[$role]:-} ]] || continue
    "check_$role"
  done

  sleep 2
  log ""
  log "idle memory (docker stats --no-stream):"
  # shellcheck disable=SC2046 # one word per container id
  docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' $(docker ps -q --filter "label=enshu.smoke=$RUN_ID") \
    | sed "s/^$P-/  /" | sort

  for role in "${order[@]}"; do
    [[ -n ${STARTUP[$role]:-} ]] || continue
    # stop_s = SIGTERM to container exit (State.FinishedAt); the docker CLI can
    # take seconds longer tearing down the netns, which is not the image's doing.
    local t0 fin code; t0=$(now)
    docker stop -t 5 "$P-$role" >/dev/null
    STOPCLI[$role]=$(since "$t0")
    fin=$(date -d "$(docker inspect -f '{{.State.FinishedAt}}' "$P-$role")" +%s.%N)
    STOPTIME[$role]=$(awk -v a="$t0" -v b="$fin" 'BEGIN { printf "%.1f", b - a }')
    code=$(docker inspect -f '{{.State.ExitCode}}' "$P-$role")
    (( $(awk -v s="${STOPTIME[$role]}" 'BEGIN { print (s < 2.0) }') )) || fail "$role" "exit took ${STOPTIME[$role]}s after docker stop (exit $code)"
  done

  log ""
  printf '%-12s %10s %8s %12s\n' role healthy_s stop_s docker_stop_s
  for role in "${order[@]}"; do
    printf '%-12s %10s %8s %12s\n' "$role" "${STARTUP[$role]:--}" "${STOPTIME[$role]:--}" "${STOPCLI[$role]:--}"
  done
  if ((${#FAILS[@]})); then
    log ""; log "images_smoke: ${#FAILS[@]} failure(s):"; printf '  %s\n' "${FAILS[@]}"
    exit 1
  fi
  log ""; log "images_smoke: all ${#order[@]} roles passed"
}

main "$@"
