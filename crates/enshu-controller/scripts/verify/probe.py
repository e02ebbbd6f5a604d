#!/usr/bin/env python3
# Verify's probe for images with Python (all of Enshu's role images): one
# process sends every probe at once without blocking, then waits until
# each has answered or `timeout` seconds have passed since the last one
# was sent. So a source container's probes take one timeout in all, and
# no probe gets less than the full timeout to be answered (a late answer
# to a "must be blocked" probe would otherwise be missed).
# Probes, as `kind:address:port[:name]`:
#   tcp   connect: connected -> open; ECONNREFUSED (a reset) -> refused
#   udp   a DNS query as datagram: any answer -> open; ECONNREFUSED (port
#         unreachable) -> refused
#   icmp  an echo request on a ping socket: an echo reply -> open
#   dns   an A query for `name` to address:port: NOERROR or NXDOMAIN ->
#         open (a resolver answered), SERVFAIL/REFUSED -> blocked
#   ipv6  an IPv6 address beyond loopback and link-local -> open
# Anything else (timeout, unreachable) -> blocked. Prints one line per
# probe, `kind address port outcome [name]`.
# Runs inside a range container (`python3 -c`, chosen by dispatch.sh).
# Arguments: timeout (seconds), then the probes.
import errno, select, socket, struct, sys, time
timeout = float(sys.argv[1])
poller = select.poll()
pending = {}
def dns_query(name):
    question = b"".join(bytes([len(label)]) + label.encode()[:63] for label in name.strip(".").split("."))
    return struct.pack(">HHHHHH", 0x4E53, 0x0100, 1, 0, 0, 0) + question + b"\0\0\1\0\1"
def report(probe, outcome, sock=None):
    print(*probe[:3], outcome, *probe[3:])
    if sock is not None:
        sock.close()
def answered(probe, sock):
    kind = probe[0]
    if kind == "tcp":
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return "open" if code == 0 else "refused" if code == errno.ECONNREFUSED else "blocked"
    try:
        data = sock.recv(1500)
    except ConnectionRefusedError:
        return "refused" if kind == "udp" else "blocked"
    except OSError:
        return "blocked"
    if kind == "icmp":
        return "open" if data[:1] == b"\0" else "blocked"
    if kind == "dns":
        ok = len(data) >= 12 and data[2] & 0x80 and data[3] & 0x0F in (0, 3)
        return "open" if ok else "blocked"
    return "open"
def drain(deadline):
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _ in poller.poll(left * 1000):
            sock, probe = pending.pop(fd)
            poller.unregister(fd)
            report(probe, answered(probe, sock), sock)
    for sock, probe in pending.values():
        report(probe, "blocked", sock)
    pending.clear()
def start(probe):
    kind, address, port = probe[0], probe[1], int(probe[2])
    if kind == "ipv6":
        try:
            with open("/proc/net/if_inet6") as listing:
                scopes = [line.split()[3] for line in listing if len(line.split()) > 3]
        except OSError:
            scopes = []
        report(probe, "open" if any(scope not in ("10", "20") for scope in scopes) else "blocked")
        return
    if kind == "tcp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((address, port))
        if code != errno.EINPROGRESS:
            report(probe, "open" if code == 0 else "refused" if code == errno.ECONNREFUSED else "blocked", sock)
            return
        poller.register(sock, select.POLLOUT)
    else:
        try:
            if kind == "icmp":
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
                payload, port = b"\x08\0\0\0\0\0\0\1enshu", 0
            else:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                payload = dns_query(probe[3] if kind == "dns" else "enshu-verify.invalid")
            sock.setblocking(False)
            sock.connect((address, port))
            sock.send(payload)
        except OSError:
            # No line: this probe could not run here (no ping socket).
            return
        poller.register(sock, select.POLLIN)
    pending[sock.fileno()] = (sock, probe)
probes = [item.split(":", 3) for item in sys.argv[2:]]
# At most 512 sockets open at once, well below any descriptor limit.
for batch in range(0, len(probes), 512):
    for probe in probes[batch:batch + 512]:
        start(probe)
    drain(time.monotonic() + timeout)
sys.stdout.flush()
