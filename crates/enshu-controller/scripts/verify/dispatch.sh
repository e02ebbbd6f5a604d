#!/bin/sh
# Chooses verify's probe by what the image has: probe.py where python3 is
# installed, else probe.sh.
# Runs inside a range container (`sh -c`).
# Arguments: $0 the Python probe (program text), $1 the bash probe
# (program text), $2 probes at once for the bash probe, then the probes'
# own arguments (timeout, `kind:address:port[:name]` probes).
python=$0 fallback=$1 parallel=$2; shift 2
if command -v python3 >/dev/null 2>&1; then exec python3 -c "$python" "$@"; fi
exec bash -c "$fallback" bash "$parallel" "$@"
