#!/usr/bin/env bash
# Hostile: flood the team's log collector (arguments `collector=ADDRESS`,
# `seconds=N`): UDP and TCP to 514 at once, big lines (64 KiB), thousands
# of invented host names and the names of real hosts, as many connections
# as it can open. The runner looks at the collector meanwhile: its store
# stays under its cap, a real host's line still arrives, rsyslogd runs.
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, arg are lib.sh's
collector=${arg[collector]:?collector=ADDRESS}
seconds=${arg[seconds]:-20}
python3 - "$collector" "$seconds" "$marker" <<'PY'
import random, socket, sys, threading, time
collector, seconds, marker = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + seconds
big = "x" * 65000
sent = {"tcp": 0, "udp": 0}
lock = threading.Lock()

def line(size):
    name = random.choice(["pc01", "router", "all", "..", "fake-%d" % random.randrange(100000)])
    return ("<13>Dec  2 10:00:00 %s flood: %s %s\n" % (name, marker, big[:size])).encode()

def tcp():
    while time.monotonic() < end:
        try:
            sock = socket.create_connection((collector, 514), timeout=2)
            sock.settimeout(2)
            while time.monotonic() < end:
                sock.sendall(line(random.choice([100, 4000, 65000])))
                with lock:
                    sent["tcp"] += 1
        except OSError:
            time.sleep(0.05)

def udp():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while time.monotonic() < end:
        try:
            sock.sendto(line(random.choice([100, 1400, 8000])), (collector, 514))
            with lock:
                sent["udp"] += 1
        except OSError:
            pass

# Connections held open: the collector takes 16 from one sender.
held, refused = [], 0
for _ in range(64):
    try:
        held.append(socket.create_connection((collector, 514), timeout=2))
    except OSError:
        refused += 1
print("held %d connections to %s:514, %d refused" % (len(held), collector, refused))
for sock in held:
    sock.close()
workers = [threading.Thread(target=tcp) for _ in range(8)] + [threading.Thread(target=udp) for _ in range(2)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print("sent %d TCP and %d UDP lines in %.0f s" % (sent["tcp"], sent["udp"], seconds))
PY
blocked "flooded the collector (the runner measures it)"
finish
