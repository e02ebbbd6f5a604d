# shellcheck shell=bash
# Prints the state of domain account $1 (see directory.sh, joined in front).
directory_account_state "$1"
