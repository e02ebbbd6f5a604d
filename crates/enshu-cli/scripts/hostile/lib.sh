# shellcheck shell=bash
# Joined in front of every hostile attack script (crates/enshu-cli/tests/
# hostile.rs runs each as root in team 1's analyst workstation, the way a
# trainee with sudo would). Arguments: `name=value` pairs:
#   team2    team 2's addresses, comma-separated
#   host     this machine's addresses, comma-separated
#   ports    TCP ports of this machine to try (portal, ways in, Docker's)
#   marker   a string every attack packet carries, so the runner can look
#            for it wherever it must not arrive
# Each attempt prints `blocked <what>` or `THROUGH <what>`; the script
# exits 1 when anything got through.
declare -A arg
for pair in "$@"; do arg[${pair%%=*}]=${pair#*=}; done
IFS=, read -r -a team2 <<<"${arg[team2]:-}"
IFS=, read -r -a host <<<"${arg[host]:-}"
IFS=, read -r -a ports <<<"${arg[ports]:-}"
marker=${arg[marker]:-ENSHUHOSTILE}
through=0

blocked() { echo "blocked $*"; }
got_through() { echo "THROUGH $*"; through=1; }

# reach KIND ADDRESS PORT: open, refused or blocked (as verify judges:
# refused and open both mean the packet arrived). The payload carries the
# marker.
reach() {
  python3 -c '
import errno, socket, sys
kind, address, port, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
try:
    if kind == "tcp":
        sock = socket.create_connection((address, port), timeout=2)
        sock.sendall(marker)
        print("open")
    else:
        if kind == "icmp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            payload, port = b"\x08\0\0\0\0\0\0\1" + marker, 0
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            payload = marker
        sock.settimeout(2)
        sock.connect((address, port))
        sock.send(payload)
        sock.recv(1500)
        print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("blocked")
' "$1" "$2" "$3" "$marker"
}

# unreached WHAT KIND ADDRESS PORT: the probe must not arrive.
unreached() {
  local what=$1 outcome
  outcome=$(reach "$2" "$3" "$4")
  if [[ $outcome == blocked ]]; then blocked "$what"; else got_through "$what ($outcome)"; fi
}

# must_fail WHAT COMMAND...: the command must fail (or time out in 5 s).
must_fail() {
  local what=$1
  shift
  if timeout 5 "$@" >/dev/null 2>&1; then got_through "$what"; else blocked "$what"; fi
}

# at_once COMMAND...: run an attempt in the background, at most 16 at
# once (each is a Python or dig process, and the workstation has a pids
# and a memory limit); its lines go to $results. `finish` waits for them.
results=$(mktemp)
at_once() {
  while (($(jobs -rp | wc -l) >= 16)); do wait -n; done
  "$@" >>"$results" &
}

finish() {
  wait
  cat "$results"
  if grep -q '^THROUGH' "$results"; then through=1; fi
  rm -f "$results"
  exit "$through"
}
