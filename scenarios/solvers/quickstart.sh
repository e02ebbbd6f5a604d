#!/usr/bin/env bash
# The quickstart's solver: a scripted team, acting as trainees would
# through their own way in: SSH to the analyst workstation, and the team
# portal's JSON API.
#
#   bash scenarios/solvers/quickstart.sh SESSION TEAM_INDEX PORTAL_URL [ACCESS_PORT]
set -euo pipefail
session=$1 team=$2 portal=$3 access_port=${4:-2201}
here=$(cd "$(dirname "$0")" && pwd)
enshu=${ENSHU_BIN:-${CARGO_TARGET_DIR:-target}/release/enshu}
creds=$($enshu credentials --session "$session" --base-port "$access_port" --output json)
field() { python3 -c "import json,sys; t=json.load(sys.stdin)['teams'][$team-1]; print(t['$1'])" <<<"$creds"; }
token=$(field portal_token) port=$(field ssh_port) password=$(field password)
api() { # METHOD PATH [JSON]
  curl -sSk --fail-with-body -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$portal$2"
}
on_workstation() { # COMMAND, script on stdin
  sshpass -p "$password" ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -p "$port" analyst@127.0.0.1 "$1"
}
say() { printf '[team %s] %s\n' "$team" "$*"; }

# Detection: the SOC's mail names a suspicious server; find who talks to it.
c2=""
for _ in $(seq 1 30); do
  c2=$(api GET /api/team | python3 -c '
import json, re, sys
for message in json.load(sys.stdin)["messages"]:
    found = re.search(r"\b(\d+\.\d+\.\d+\.\d+)\b", message["body"])
    if found: print(found.group(1)); break')
  [ -n "$c2" ] && break
  sleep 2
done
[ -n "$c2" ] || { say "no SOC alert arrived"; exit 1; }
say "SOC alert names $c2; looking for the office PC that talks to it"
infected=$(on_workstation "python3 - $c2 enshu" < "$here/quickstart-investigate.py" | awk '/^INFECTED/ { print $2; exit }')
[ -n "$infected" ] || { say "no infected host found"; exit 1; }
say "infected: $infected"
api POST /api/team/answers "{\"objective\": \"find-host\", \"answer\": \"$infected\"}" >/dev/null
api POST /api/team/answers "{\"objective\": \"find-c2\", \"answer\": \"$c2\"}" >/dev/null
say "answers submitted"

# Response: block the C2 at the team's firewall; the PC stays up for evidence.
api POST /api/team/firewall "{\"action\": \"block\", \"address\": \"$c2\"}" >/dev/null
say "blocked $c2 at the firewall"

# Recovery: find the downloader the persistence runs (a script dropped into
# the user's profile) and remove it; then restore the defaced home page from the web
# server's backup, as its administrator, after checking what changed.
removed=$(on_workstation "python3 - $c2 enshu --remove" < "$here/quickstart-investigate.py" | awk '/^REMOVED/ { print $3; exit }')
[ -n "$removed" ] || { say "no persistence found"; exit 1; }
say "persistence removed on $infected: $removed"
# The web server's address, from the team's network map on the portal.
www=$(api GET /api/team | python3 -c 'import json,sys; print(json.load(sys.stdin)["hosts"]["dmz/www"])')
restored=$(on_workstation "python3 - $www enshu" < "$here/quickstart-restore-site.py")
say "$restored"
grep -q '^RESTORED' <<<"$restored" || exit 1
writer=$(awk '/^WRITER/ { print $2; exit }' <<<"$restored")
request=$(awk '/^WRITER/ { $1 = $2 = ""; sub(/^  /, ""); print; exit }' <<<"$restored")
say "the web log shows the page written by ${writer:-nobody}: ${request:-}"

# Reporting: the first report.
now=$(date -u +%Y-%m-%dT%H:%M)
api POST /api/team/reports "{\"form\": \"first-report\", \"fields\": {
  \"detected_at\": \"$now\", \"trigger\": \"soc_alert\", \"category\": \"malware\",
  \"affected_hosts\": \"$infected\", \"personal_data\": \"no\",
  \"actions\": \"$now identified $infected beaconing to $c2; blocked $c2 at the firewall, PC kept running for evidence; removed $removed; web page defaced by $writer ($request), restored from backup\",
  \"status\": \"contained, site restored\"}}" >/dev/null
say "first report sent"

