# shellcheck shell=bash
# Judges account $1 (on a directory host, the domain account; below): the
# first of the web role's htpasswd, the mail role's dovecot users and
# /etc/shadow that lists it decides. Disabled = removed,
# locked (`!`, `*`), expired, or its password no longer the initial one.
# The initial passwords are the ones the image set at start, kept in
# /run/enshu/initial-passwords/ by images/common/lib.sh. Prints
# `pass|fail <reason>`.
user=$1
initial_passwords=/run/enshu/initial-passwords
verdict() { echo "$1 $2"; exit 0; }
# On a directory host the account is the domain's (directory.sh, joined in
# front): disabled = the ACCOUNTDISABLE bit of userAccountControl, or removed.
if [ -r /run/enshu/directory/realm ]; then
  state=$(directory_account_state "$user")
  case $state in
    missing) verdict pass "$user is not in the domain (removed)" ;;
    error*) verdict fail "cannot read $user in the domain: ${state#error }" ;;
  esac
  uac=${state#uac=}; uac=${uac%% *}
  if (( uac & 2 )); then verdict pass "$user is disabled in the domain (userAccountControl $uac)"; fi
  verdict fail "$user is enabled in the domain (userAccountControl $uac)"
fi
judge() { # file initial-password
  local line hash scheme salt computed expires
  line=$(awk -F: -v u="$user" '$1 == u { print; exit }' "$1")
  hash=$(printf '%s' "$line" | cut -d: -f2); hash=${hash#\{SHA512-CRYPT\}}
  case $hash in '!'*|'*'*) verdict pass "$user is locked in $1" ;; '') verdict pass "$user has no password in $1" ;; esac
  if [ "$1" = /etc/shadow ]; then
    expires=$(printf '%s' "$line" | cut -d: -f8)
    [ -n "$expires" ] && [ "$expires" -le $(( $(date +%s) / 86400 )) ] && verdict pass "$user is expired in $1"
  fi
  # shellcheck disable=SC2016 # the patterns are the hashes' literal prefixes
  case $hash in '$apr1$'*) scheme=-apr1 ;; '$6$'*) scheme=-6 ;; '$5$'*) scheme=-5 ;; '$1$'*) scheme=-1 ;; *) verdict pass "$user has a new password in $1" ;; esac
  salt=$(printf '%s' "$hash" | cut -d'$' -f3)
  computed=$(printf '%s\n' "$2" | openssl passwd "$scheme" -salt "$salt" -stdin)
  [ "$computed" = "$hash" ] && verdict fail "$user still has its initial password in $1"
  verdict pass "$user has a new password in $1"
}
initial() { cat -- "$initial_passwords/$1" 2>/dev/null; }
for file in /run/enshu/htpasswd /run/enshu/dovecot/users /etc/shadow; do
  if ! { [ -r "$file" ] && awk -F: -v u="$user" '$1 == u { found = 1 } END { exit !found }' "$file"; }; then continue; fi
  case $file in /run/enshu/htpasswd) judge "$file" "$(initial web-admin)" ;; *) judge "$file" "$(initial user)" ;; esac
done
verdict pass "$user is not listed in htpasswd, dovecot users or /etc/shadow (removed)"
