#!/usr/bin/env python3
# Verify's probe for images with Python (all of Enshu's role images): one
# process opens every connection at once without blocking, then waits
# until each has answered or `timeout` seconds have passed since the last
# connection was opened. So a source container's probes take one timeout
# in all, and no probe gets less than the full timeout to be answered (a
# late answer to a "must be blocked" probe would otherwise be missed).
# Prints one line per target, `address port outcome`: connected -> open;
# ECONNREFUSED (a reset from the target) -> refused; anything else
# (timeout, host or network unreachable) -> blocked.
# Runs inside a range container (`python3 -c`, chosen by dispatch.sh).
# Arguments: timeout (seconds), then `address:port` targets.
import errno, select, socket, sys, time
timeout = float(sys.argv[1])
poller = select.poll()
pending = {}
def report(target, code, sock):
    outcome = "open" if code == 0 else "refused" if code == errno.ECONNREFUSED else "blocked"
    print(target[0], target[1], outcome)
    sock.close()
def drain(deadline):
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _ in poller.poll(left * 1000):
            sock, target = pending.pop(fd)
            poller.unregister(fd)
            report(target, sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), sock)
    for sock, target in pending.values():
        report(target, errno.ETIMEDOUT, sock)
    pending.clear()
targets = [item.rsplit(":", 1) for item in sys.argv[2:]]
# At most 512 sockets open at once, well below any descriptor limit.
for batch in range(0, len(targets), 512):
    for target in targets[batch:batch + 512]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((target[0], int(target[1])))
        if code == errno.EINPROGRESS:
            pending[sock.fileno()] = (sock, target)
            poller.register(sock, select.POLLOUT)
        else:
            report(target, code, sock)
    drain(time.monotonic() + timeout)
sys.stdout.flush()
