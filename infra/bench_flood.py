#!/usr/bin/env python3
"""The parts of infra/bench-flood.sh that talk to the portal, each run as
a process of its own (so the flood's threads never slow the probe's clock).

  bench_flood.py probe URL TOKEN SECONDS OUT
      GET /api/team as team TOKEN, one request after another, for SECONDS;
      writes every latency (ms) to OUT as JSON.
  bench_flood.py flood URL TOKEN REQUESTS CONNECTIONS STOP_FILE OUT
      REQUESTS writes (answers, reports, hints, firewall changes in turn)
      over CONNECTIONS keep-alive connections as fast as the server answers,
      and on until STOP_FILE exists (at most 120 s); writes the status
      counts, requests sent and seconds taken to OUT.
  bench_flood.py delay URL INSTRUCTOR_TOKEN TEAM INJECT DUE_EXERCISE_MS
      prints how late INJECT fired for TEAM (ms after its due time, from the
      clock's start and speed in the log), or waits up to 60 s for it.
  bench_flood.py stats FILE
      prints count, p50, p99 and max of a probe's latencies.
"""

import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse


def connection(url):
    parsed = urllib.parse.urlparse(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the session's own self-signed certificate
    return http.client.HTTPSConnection(parsed.hostname, parsed.port, context=context, timeout=30)


def call(conn, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "ja"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, payload


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def probe(url, token, seconds, out):
    conn = connection(url)
    latencies = []
    errors = 0
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            status, _ = call(conn, "GET", "/api/team", token)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn = connection(url)
            continue
        latencies.append((time.monotonic() - started) * 1000.0)
        if status != 200:
            errors += 1
        # 10 a second: within a team's read allowance (600 a minute).
        time.sleep(0.1)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"latencies_ms": latencies, "errors": errors}, handle)


WRITES = [
    ("/api/team/answers", {"objective": "find-host", "answer": "pc02"}),
    ("/api/team/reports", {"form": "first-report", "fields": {
        "detected_at": "2025-06-01T10:15", "trigger": "soc_alert", "category": "malware",
        "affected_hosts": ["pc01"], "personal_data": False, "actions": "flood"}}),
    ("/api/team/hints", {"objective": "find-host", "hint_index": 0}),
    ("/api/team/firewall", {"action": "block", "address": "10.64.100.23"}),
]


def flood(url, token, requests, connections, stop_file, out):
    requests, connections = int(requests), int(connections)
    lock = threading.Lock()
    counts = {}
    sent = [0]
    deadline = time.monotonic() + 120

    def worker(offset):
        conn = connection(url)
        turn = offset
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= requests and os.path.exists(stop_file):
                    return
                sent[0] += 1
            path, body = WRITES[turn % len(WRITES)]
            turn += 1
            try:
                status, _ = call(conn, "POST", path, token, body)
            except (OSError, http.client.HTTPException):
                status = "error"
                conn = connection(url)
            with lock:
                counts[str(status)] = counts.get(str(status), 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"sent": sent[0], "statuses": counts,
                   "seconds": time.monotonic() - started}, handle)


def delay(url, instructor_token, team, inject, due_exercise_ms):
    conn = connection(url)
    deadline = time.monotonic() + 60
    while True:
        status, payload = call(conn, "GET", f"/api/instructor/teams/{team}/events", instructor_token)
        if status != 200:
            sys.exit(f"events of team {team}: HTTP {status}")
        events = json.loads(payload)["events"]
        start = next((event for event in events
                      if event["kind"]["kind"] == "clock_changed" and event["kind"]["action"] == "start"), None)
        fired = next((event for event in events
                      if event["kind"]["kind"] == "inject_fired" and event["kind"]["inject"] == inject), None)
        if start and fired:
            speed = start["kind"].get("speed") or 1
            due_at_ms = start["at_ms"] + int(due_exercise_ms) / speed
            print(f"{fired['at_ms'] - due_at_ms:.0f}")
            return
        if time.monotonic() > deadline:
            sys.exit(f"inject {inject} of team {team} did not fire")
        time.sleep(0.2)


def stats(path):
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    latencies = data["latencies_ms"]
    print(f"n={len(latencies)} p50={percentile(latencies, 0.5):.1f}ms "
          f"p99={percentile(latencies, 0.99):.1f}ms max={max(latencies, default=float('nan')):.1f}ms "
          f"errors={data['errors']}")


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"probe": probe, "flood": flood, "delay": delay, "stats": stats}[command](*arguments)
