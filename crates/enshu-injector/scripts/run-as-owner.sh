# shellcheck shell=bash
# Helper functions, concatenated in front of the scripts that must act as
# the owner of a path (at compile time, see `shell::RUN_AS_OWNER`).
# Runs inside a range container, as root.
#
# Root in a range container has no DAC_OVERRIDE or DAC_READ_SEARCH, so it
# can neither write into nor even look inside `/home/staff` (mode 0700);
# `setpriv` (util-linux) drops to the owner of the deepest ancestor root
# can see. `deepest_existing` climbs while a path does not exist *for
# root*, so an unreadable home counts as the place to switch user.
#
#   run_as_owner_of PATH COMMAND ARGS...   run COMMAND as PATH's owner
#   deepest_existing PATH                  print PATH's deepest visible ancestor
run_as_owner_of() { local owner; owner=$(stat -c '%u:%g' -- "$(deepest_existing "$1")") || return 1; shift
  if [ "${owner%%:*}" = 0 ]; then "$@"; else setpriv --reuid="${owner%%:*}" --regid="${owner##*:}" --clear-groups -- "$@"; fi; }
deepest_existing() { local path=$1; while [ ! -e "$path" ]; do path=$(dirname -- "$path"); done; printf '%s' "$path"; }
