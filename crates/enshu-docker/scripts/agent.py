#!/usr/bin/env python3
# The exec agent (`enshu-agent` in `ps`): runs the engine's short commands
# in a range container so each costs a message instead of a `docker exec`.
# Reads one JSON request per line on stdin, {"id", "argv", "stdin" (hex or
# null)}, runs each in its own thread exactly as an exec would (same user,
# environment and directory, stdout and stderr apart, a signal's death as
# 128 + signal) and answers one JSON line per request on stdout, {"id",
# "code", "out", "err"} (hex, each cut at the output limit); the first
# answer, id 0, says it is ready.
# Runs inside a range container, as root: agent-start.sh starts python3
# with a one-line bootstrap that reads this program (as a JSON string)
# from the first line of stdin and runs it.
# Arguments: sys.argv[1] the output limit in bytes.
import json, subprocess, sys, threading
LIMIT = int(sys.argv[1])
lock = threading.Lock()
def answer(message):
    line = json.dumps(message) + "\n"
    with lock:
        sys.stdout.write(line)
        sys.stdout.flush()
def run(request):
    try:
        done = subprocess.run(request["argv"], input=bytes.fromhex(request.get("stdin") or ""),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        code = done.returncode if done.returncode >= 0 else 128 - done.returncode
        answer({"id": request["id"], "code": code,
                "out": done.stdout[:LIMIT].hex(), "err": done.stderr[:LIMIT].hex()})
    except Exception as error:
        answer({"id": request["id"], "code": 127, "out": "",
                "err": ("enshu-agent: %s" % error).encode().hex()})
answer({"id": 0, "code": 0, "out": "", "err": ""})
running = []
for line in sys.stdin:
    thread = threading.Thread(target=run, args=(json.loads(line),), daemon=True)
    thread.start()
    running = [other for other in running if other.is_alive()] + [thread]
for thread in running:
    thread.join()
