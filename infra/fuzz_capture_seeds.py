#!/usr/bin/env python3
"""Writes the synthetic capture seeds of fuzz/corpus/pcap_rewrite_guard and
fuzz/corpus/replay_prepare: a few frames of each kind the rewrite and the
guard tell apart (IPv4 in and outside the team's map, VLAN stacks, ARP,
IPv6, MPLS), in classic pcap (both byte orders, micro and nano) and pcapng
(SHB, IDB, EPB, SPB, NRB, ISB).

usage: infra/fuzz_capture_seeds.py DIRECTORY...
"""
import os
import struct
import sys


def ipv4(source, destination, payload=b"hello", protocol=17):
    total = 20 + 8 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, protocol, 0,
                         bytes(source), bytes(destination))
    udp = struct.pack("!HHHH", 5353, 80, 8 + len(payload), 0)
    return header + udp + payload


def ethernet(ethertype, body, tags=()):
    frame = b"\x02\x00\x00\x00\x00\x03" + b"\x02\x00\x00\x00\x00\x09"
    for tpid, control in tags:
        frame += struct.pack("!HH", tpid, control)
    return frame + struct.pack("!H", ethertype) + body


def arp(sender, target):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\x02\0\0\0\0\x03",
                       bytes(sender), b"\0" * 6, bytes(target))


FRAMES = [
    ethernet(0x0800, ipv4([192, 168, 1, 5], [192, 168, 1, 9])),
    ethernet(0x0800, ipv4([192, 168, 66, 5], [192, 168, 1, 9])),
    ethernet(0x0800, ipv4([172, 16, 0, 7], [8, 8, 8, 8])),
    ethernet(0x0800, ipv4([10, 0, 0, 1], [1, 2, 3, 4])),
    ethernet(0x0800, ipv4([192, 168, 1, 5], [192, 168, 1, 9]), tags=[(0x8100, 10), (0x8100, 0)]),
    ethernet(0x0800, ipv4([192, 168, 1, 5], [192, 168, 1, 9]), tags=[(0x88a8, 10), (0x8100, 20)]),
    ethernet(0x0806, arp([192, 168, 1, 1], [192, 168, 1, 2])),
    ethernet(0x86dd, struct.pack("!IHBB16s16s", 0x60000000, 0, 59, 64, b"\xfe\x80" + b"\0" * 14,
                                 b"\xff\x02" + b"\0" * 13 + b"\x01")),
    ethernet(0x8847, b"\x00\x01\x01\x40" + ipv4([192, 168, 1, 5], [192, 168, 1, 9])),
    ethernet(0x88cc, b"\x02\x07\x04" + b"\0" * 6),
]


def pcap(endian, nanoseconds):
    magic = 0xa1b23c4d if nanoseconds else 0xa1b2c3d4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    for index, frame in enumerate(FRAMES):
        out += struct.pack(endian + "IIII", 1700000000 + index, 500, len(frame), len(frame)) + frame
    return out


def option(code, value):
    padding = (4 - len(value) % 4) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * padding


def block(kind, body):
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def pcapng():
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(4, b"enshu") + option(0, b""))
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + option(9, b"\x09") + option(0, b""))
    out += block(1, struct.pack("<HHI", 101, 0, 65535) + option(0, b""))
    for index, frame in enumerate(FRAMES):
        padding = b"\0" * ((4 - len(frame) % 4) % 4)
        timestamp = 1700000000000000000 + index * 1000
        out += block(6, struct.pack("<IIIII", 0, timestamp >> 32, timestamp & 0xffffffff,
                                    len(frame), len(frame)) + frame + padding)
    frame = FRAMES[0]
    out += block(3, struct.pack("<I", len(frame)) + frame + b"\0" * ((4 - len(frame) % 4) % 4))
    out += block(4, struct.pack("<HH4s", 1, 4, bytes([192, 168, 1, 1])) + b"host\0\0\0\0" + struct.pack("<HH", 0, 0))
    out += block(5, struct.pack("<III", 0, 0, 0) + option(0, b""))
    return out


def main():
    seeds = {
        "synthetic-le-micro.pcap": pcap("<", False),
        "synthetic-be-nano.pcap": pcap(">", True),
        "synthetic.pcapng": pcapng(),
    }
    for directory in sys.argv[1:]:
        os.makedirs(directory, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)


if __name__ == "__main__":
    main()
