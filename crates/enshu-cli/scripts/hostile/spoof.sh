#!/usr/bin/env bash
# Hostile: packets with forged sources (team 2's addresses, the team's
# router, this machine) sent on raw sockets to team 2 and to this machine,
# raw Ethernet broadcasts, and an ARP claim to be the router. Nothing
# here can see whether they arrived: the runner looks for the marker on
# every interface of the machine outside team 1's segments and in team
# 2's analyst workstation.
# lib.sh is joined in front: its helpers and arguments.
# shellcheck disable=SC2154 # marker, host, team2, ports are lib.sh's
router=$(ip -4 route show default | awk '{print $3; exit}')
sources=("${team2[@]}" "$router" "${host[@]}")
targets=("${team2[@]}" "${host[@]}")
sent=$(python3 -c '
import socket, struct, sys
marker = sys.argv[1].encode()
sources = sys.argv[2].split(",")
targets = sys.argv[3].split(",")
router = sys.argv[4]
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = 0
for source in filter(None, sources):
    for target in filter(None, targets):
        payload = marker + b" spoofed " + source.encode()
        udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                             socket.inet_aton(source), socket.inet_aton(target))
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        try:
            raw.sendto(header + udp, (target, 0))
            sent += 1
        except OSError:
            pass
# Raw frames on the wire: a broadcast carrying the marker, and an ARP
# reply saying the router is here.
link = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
link.bind(("eth0", 0))
own = link.getsockname()[4]
link.send(b"\xff" * 6 + own + b"\x88\xb5" + marker * 4)
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, own, socket.inet_aton(router),
                  b"\xff" * 6, socket.inet_aton(router))
link.send(b"\xff" * 6 + own + b"\x08\x06" + arp)
print(sent + 2)
' "$marker" "$(IFS=,; echo "${sources[*]}")" "$(IFS=,; echo "${targets[*]}")" "$router")
echo "sent ${sent:-0} forged packets and frames"
[[ ${sent:-0} -gt 2 ]] || got_through "no forged packet could even be sent: this attack proves nothing"
finish
