# shellcheck shell=bash
# Prints `open` or `closed` for a TCP connect to $1:$2 within $3 s.
# shellcheck disable=SC2016 # the inner script reads its own $0 and $1
if timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; then echo open; else echo closed; fi
