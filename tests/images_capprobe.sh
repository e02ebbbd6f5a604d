#!/usr/bin/env bash
# Find which listed capabilities each role really needs: for every cap in the
# roles table, rerun the smoke test for that role without it.
#
#   bash tests/images_capprobe.sh [role...]
#
# Prints "needed" (the smoke test fails without it) or "UNNEEDED" (passes
# without it: candidate for removal from images/roles.md).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
table() { sed -n '/roles-table:begin/,/roles-table:end/p' "$REPO/images/roles.md" | grep '^| [a-z]' | grep -v '^| role '; }
roles=("$@")
((${#roles[@]})) || mapfile -t roles < <(table | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
for role in "${roles[@]}"; do
  caps=$(table | awk -F'|' -v r="$role" '{ gsub(/ /, "", $2); gsub(/ /, "", $4) } $2 == r { print $4 }')
  [[ $caps == - ]] && continue
  deps=("$role")
  [[ $role == proxy ]] && deps+=(internet)
  for cap in ${caps//,/ }; do
    if ENSHU_SMOKE_DROP_CAP="$role:$cap" timeout 120 bash "$REPO/tests/images_smoke.sh" "${deps[@]}" >/tmp/capprobe.$$.log 2>&1; then
      printf '%-12s %-18s UNNEEDED\n' "$role" "$cap"
    else
      printf '%-12s %-18s needed   (%s)\n' "$role" "$cap" "$(grep -m1 '^FAIL' /tmp/capprobe.$$.log | cut -c1-90)"
    fi
  done
done
rm -f /tmp/capprobe.$$.log
