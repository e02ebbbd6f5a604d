#!/usr/bin/env python3
"""Where a demo exercise stands: prints `complete` once team 1 has met every
objective (on time) and every inject has fired for every team, otherwise
what is still missing. Reads the plan (`enshu plan --output json`), the
scoreboard (`enshu scoreboard --output json`) and the export
(`enshu export --format json`).

    progress.py PLAN_JSON SCOREBOARD_JSON EXPORT_JSON
"""
import json
import sys


def status_name(status):
    """`met`, `late`, `missed` or `pending` (the status object's tag)."""
    return status["status"] if isinstance(status, dict) else str(status)


plan = json.load(open(sys.argv[1], encoding="utf-8"))
board = json.load(open(sys.argv[2], encoding="utf-8"))
export = json.load(open(sys.argv[3], encoding="utf-8"))
missing = []
first = board["teams"][0]
for objective in first["score"]["objectives"]:
    if status_name(objective["status"]) != "met":
        missing.append(f"team 1 {objective['objective']} {status_name(objective['status'])}")
fired = {(event.get("team"), event["kind"].get("inject")) for event in export["events"]
         if event["kind"].get("kind") == "inject_fired"}
for team in plan["teams"]:
    for inject in team["injects"]:
        if (team["index"], inject["id"]) not in fired:
            missing.append(f"team {team['index']} inject {inject['id']} not fired")
print("complete" if not missing else "waiting: " + "; ".join(missing[:8]) + (" …" if len(missing) > 8 else ""))
