#!/usr/bin/env python3
"""Counts the C2 log's lines from source argv[1] within the last argv[2]
seconds (log at argv[3]); prints `recent total last_time`."""
import datetime
import json
import sys

source, window, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
now = datetime.datetime.now(datetime.timezone.utc)
recent = total = 0
last = "-"
try:
    log = open(path, encoding="utf-8", errors="replace")
except FileNotFoundError:
    print(0, 0, "-")
    sys.exit(0)
for line in log:
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("src") != source:
        continue
    total += 1
    last = record.get("time", "-")
    try:
        if (now - datetime.datetime.fromisoformat(last)).total_seconds() <= window:
            recent += 1
    except (TypeError, ValueError):
        continue
print(recent, total, last)
