#!/usr/bin/env bash
# The bring-up anchor of BENCHMARKS.md (issue 3): the same networks and
# containers as `enshu up`, made by the plain Docker CLI, so that Enshu's
# bring-up time has something to be measured against in the same run.
#
# Why this and not `docker-compose up -d`: Compose 1.29 hung on this
# project's Docker 20.10 engine at 24 of 224 containers. This anchor does
# what a careful operator's script would do: `docker network create` for
# each network (internal, no host address, no masquerade, same subnet,
# gateway and bridge name), then for each container, `xargs -P` at a time,
# `docker create` with the same hardening flags, `docker network connect`
# for every further network (Docker 20.10 takes one network at create),
# and `docker start`. Everything is rendered from `enshu plan --output
# json`, so the two sides cannot drift apart.
#
# It does not load router rules, set default routes or verify isolation:
# those are Enshu's own work, and the table says so.
#
#   bash infra/anchor-docker-run.sh up   PLAN.json PARALLEL
#   bash infra/anchor-docker-run.sh down SESSION   PARALLEL
set -euo pipefail

render() { # plan.json → directory of one script per network and container
  python3 - "$1" "$2" <<'PYTHON'
import json, shlex, sys, os

plan = json.load(open(sys.argv[1]))
out = sys.argv[2]
WORLD_WRITABLE = {"/tmp", "/var/tmp", "/dev/shm"}

def q(word):
    return shlex.quote(str(word))

with open(os.path.join(out, "networks.sh"), "w") as networks:
    for team in plan["teams"]:
        for net in team["networks"]:
            words = ["docker", "network", "create", "--driver", "bridge"]
            if net["internal"]:
                words.append("--internal")
            words += ["--subnet", net["subnet"], "--gateway", net["gateway"],
                      "-o", "com.docker.network.bridge.name=" + net["bridge"],
                      "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
                      "-o", "com.docker.network.bridge.inhibit_ipv4=true"]
            for key, value in sorted(net["labels"].items()):
                words += ["--label", f"{key}={value}"]
            words.append(net["name"])
            networks.write(" ".join(q(w) for w in words) + " >/dev/null\n")

os.makedirs(os.path.join(out, "containers"))
for team in plan["teams"]:
    for c in team["containers"]:
        h = c["hardening"]
        words = ["docker", "create", "--name", c["name"], "--hostname", c["hostname"],
                 "--init", "--ipc", "private", "--restart", "no", "--stop-timeout", "2",
                 "--health-interval", "60s",
                 "--log-driver", "json-file", "--log-opt", "max-size=10m", "--log-opt", "max-file=2",
                 "--memory", str(h["memory_bytes"]), "--memory-swap", str(h["memory_bytes"]),
                 "--cpus", str(h["nano_cpus"] / 1e9), "--pids-limit", str(h["pids_limit"])]
        words += [arg for cap in h["cap_drop"] for arg in ("--cap-drop", cap)]
        words += [arg for cap in h["cap_add"] for arg in ("--cap-add", cap)]
        if h["no_new_privileges"]:
            words += ["--security-opt", "no-new-privileges:true"]
        if h["read_only"]:
            words.append("--read-only")
        for path in h["tmpfs"]:
            mode = "1777" if path.rstrip("/") in WORLD_WRITABLE else "755"
            words += ["--tmpfs", f"{path}:rw,nosuid,nodev,mode={mode},size=64m"]
        for key, value in sorted(h["sysctls"].items()):
            words += ["--sysctl", f"{key}={value}"]
        for key, value in sorted(c["env"].items()):
            words += ["-e", f"{key}={value}"]
        for key, value in sorted(c["labels"].items()):
            words += ["--label", f"{key}={value}"]
        first, rest = c["networks"][0], c["networks"][1:]
        words += ["--network", first["network"], "--ip", first["address"], c["image"]]
        lines = ["set -e", " ".join(q(w) for w in words) + " >/dev/null"]
        for attachment in rest:
            lines.append(" ".join(q(w) for w in ["docker", "network", "connect", "--ip",
                                                  attachment["address"], attachment["network"], c["name"]]))
        lines.append("docker start " + q(c["name"]) + " >/dev/null")
        with open(os.path.join(out, "containers", c["name"] + ".sh"), "w") as script:
            script.write("\n".join(lines) + "\n")
PYTHON
}

down() { # every container, then every network, of the session
  local session=$1 parallel=$2
  docker ps -aq --filter "label=enshu.session=$session" | xargs -r -P "$parallel" -n 8 docker rm -f -v >/dev/null
  # Docker 20.10 may still hold a removed container's endpoint for a moment
  # ("has active endpoints", seen once at 8 teams): a few bounded tries.
  for _ in 1 2 3 4 5; do
    docker network ls -q --filter "label=enshu.session=$session" | xargs -r -n 8 docker network rm >/dev/null 2>&1 && return 0
    sleep 1
  done
  docker network ls -q --filter "label=enshu.session=$session" | xargs -r -n 8 docker network rm >/dev/null
}

case ${1:-} in
up)
  plan=$2 parallel=${3:-8}
  session=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"])' "$plan")
  work=$(mktemp -d)
  # A failed or interrupted bring-up leaves nothing behind.
  # shellcheck disable=SC2154 # status is assigned by the trap itself, when it runs
  trap 'status=$?; rm -rf "$work"; [ $status -eq 0 ] || down "$session" "$parallel"' EXIT
  render "$plan" "$work"
  bash "$work/networks.sh"
  find "$work/containers" -name '*.sh' -print0 | xargs -0 -P "$parallel" -n 1 bash
  ;;
down)
  down "$2" "${3:-8}"
  ;;
*)
  echo "usage: $0 up PLAN.json PARALLEL | down SESSION PARALLEL" >&2
  exit 2
  ;;
esac
