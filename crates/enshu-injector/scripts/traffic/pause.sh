# shellcheck shell=bash
# Helper function, concatenated in front of every generator script (at
# compile time, see `traffic.rs`). Runs inside the target range container.
#
#   pause MS JITTER_MS   sleep MS milliseconds, give or take up to JITTER_MS
pause() { local delay=$1; if [ "$2" -gt 0 ]; then delay=$(( $1 - $2 + (RANDOM * 32768 + RANDOM) % (2 * $2 + 1) )); fi
  [ "$delay" -gt 0 ] && sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"; return 0; }
