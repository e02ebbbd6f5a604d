# shellcheck shell=bash
# Domain accounts on a directory host (Samba AD, its own sam.ldb).
# directory_account_state NAME prints one line: `missing`, `error <why>`,
# or `uac=<userAccountControl> pwdlastset=<Unix seconds> groups=<cn,...>`.
directory_sam=/var/lib/samba/private/sam.ldb
directory_account_state() {
  local name=$1 output uac=0 filetime=0 groups="" line
  case $name in '' | -* | *[!A-Za-z0-9._-]*) echo "error not an account name: $name"; return ;; esac
  if ! output=$(ldbsearch -H "$directory_sam" "(&(objectClass=user)(sAMAccountName=$name))" \
    userAccountControl pwdLastSet memberOf 2>&1); then
    echo "error ldbsearch: ${output//$'\n'/ }"
    return
  fi
  if ! grep -q '^dn: ' <<<"$output"; then echo missing; return; fi
  while IFS= read -r line; do
    case $line in
      'userAccountControl: '*) uac=${line#*: } ;;
      'pwdLastSet: '*) filetime=${line#*: } ;;
      'memberOf: CN='*) line=${line#memberOf: CN=}; groups="$groups${groups:+,}${line%%,*}" ;;
    esac
  done <<<"$output"
  # pwdLastSet counts 100 ns since 1601; 0 means "must change at next logon".
  if [ "$filetime" -gt 0 ]; then filetime=$((filetime / 10000000 - 11644473600)); fi
  echo "uac=$uac pwdlastset=$filetime groups=$groups"
}
