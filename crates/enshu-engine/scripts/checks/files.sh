# shellcheck shell=bash
# Prints what matches path or glob $1 (at most 20), looking as the owner of
# the deepest ancestor root can see (root cannot look inside /home/staff:
# without this, a file there would always seem absent). Runs after the
# injector's run_as_owner_of functions (enshu_injector::shell::RUN_AS_OWNER).
# shellcheck disable=SC2317 # called in the owner's shell, through declare -f
matches() { case $1 in
  *[*?[]*) compgen -G "$1" | head -n 20 ;;
  *) if [ -e "$1" ] || [ -L "$1" ]; then printf '%s\n' "$1"; fi ;;
esac; }
prefix=${1%%[*?[]*}
run_as_owner_of "${prefix:-/}" bash -c "$(declare -f matches); matches \"\$1\"" matches "$1"
exit 0
