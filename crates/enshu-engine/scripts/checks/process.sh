# shellcheck shell=bash
# Lists processes whose name is exactly $1.
pgrep -a -x -- "$1"; exit 0
