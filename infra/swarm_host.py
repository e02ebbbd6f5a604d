#!/usr/bin/env python3
"""The host-side checks of infra/swarm.sh that want real parsing.

    swarm_host.py overlaps CIDR
        exit 1, naming it, if CIDR overlaps an address or route of the host
        (Docker checks its own networks, not the host's routes)
    swarm_host.py iptables-leftovers BRIDGE CIDR [--delete]
        print every iptables/ip6tables rule (nf_tables and legacy) that names BRIDGE or CIDR, as
        `TABLE: RULE`; with --delete, delete each one (exit 1 if one stays)
    swarm_host.py status-json
        read the `status` table infra/swarm.sh prints (tab-separated, first
        line the field names) on stdin, write it as a JSON list of objects
"""

import ipaddress
import json
import shlex
import subprocess
import sys


ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "anycast", "unreachable",
               "blackhole", "prohibit", "throw", "nat"}


def host_networks():
    """(network, the line naming it) of every IPv4 route and address of the host."""
    routes = subprocess.run(["ip", "-o", "-4", "route", "show", "table", "all"],
                            check=True, capture_output=True, text=True).stdout
    for line in routes.splitlines():
        words = line.split()
        if words and words[0] in ROUTE_TYPES:
            words = words[1:]
        if words and words[0] != "default":
            yield words[0], line
    addresses = subprocess.run(["ip", "-o", "-4", "addr", "show"],
                               check=True, capture_output=True, text=True).stdout
    for line in addresses.splitlines():
        words = line.split()
        if "inet" in words:
            yield words[words.index("inet") + 1], line


def overlaps(cidr: str) -> int:
    wanted = ipaddress.ip_network(cidr, strict=True)
    found = set()
    for word, line in host_networks():
        try:
            net = ipaddress.ip_network(word, strict=False)
        except ValueError:
            continue
        if net.overlaps(wanted):
            found.add(" ".join(line.split()))
    if found:
        print(f"{cidr} overlaps the host's " + "; ".join(sorted(found)))
        return 1
    return 0


def iptables_rules(binary: str):
    """(table, rule words) of every -A line of BINARY-save."""
    try:
        out = subprocess.run([f"{binary}-save"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    table = None
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A ") and table:
            yield table, shlex.split(line)


def iptables_leftovers(bridge: str, cidr: str, delete: bool) -> int:
    net = ipaddress.ip_network(cidr, strict=False)
    stuck = 0
    for binary in ("iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"):
        for table, words in iptables_rules(binary):
            named = bridge in words
            for word in words:
                if "/" not in word:
                    continue
                try:
                    rule_net = ipaddress.ip_network(word, strict=False)
                except ValueError:
                    continue
                if rule_net.prefixlen > 0 and rule_net.version == net.version and rule_net.overlaps(net):
                    named = True
            if not named:
                continue
            print(f"{binary} {table}: {shlex.join(words)}")
            if delete:
                rule = ["-D"] + words[1:]
                done = subprocess.run([binary, "-t", table, *rule], capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"  could not delete: {done.stderr.strip()}", file=sys.stderr)
                    stuck += 1
    return 1 if stuck else 0


def status_json() -> int:
    lines = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not lines:
        print("[]")
        return 0
    fields = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        values = line.split("\t")
        row = dict(zip(fields, values))
        if "index" in row:
            row["index"] = int(row["index"])
        rows.append(row)
    json.dump(rows, sys.stdout, indent=2)
    print()
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "overlaps":
        return overlaps(argv[1])
    if len(argv) in (3, 4) and argv[0] == "iptables-leftovers":
        return iptables_leftovers(argv[1], argv[2], argv[3:] == ["--delete"])
    if argv == ["status-json"]:
        return status_json()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
