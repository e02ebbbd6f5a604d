#!/usr/bin/env python3
"""Keep the first N packets of a pcap or pcapng capture (as `editcap -c N`
would, without Wireshark's tools): fuzz/corpus's seeds are cut with it.

usage: infra/fuzz_cut_capture.py INPUT OUTPUT [N]   (N defaults to 8)
"""
import struct
import sys


def cut_pcap(data, count):
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    output = bytearray(data[:24])
    offset = 24
    for _ in range(count):
        if offset + 16 > len(data):
            break
        captured = struct.unpack(endian + "I", data[offset + 8:offset + 12])[0]
        end = offset + 16 + captured
        output += data[offset:end]
        offset = end
    return bytes(output)


def cut_pcapng(data, count):
    output = bytearray()
    offset = 0
    packets = 0
    endian = "<"
    while offset + 12 <= len(data):
        block_type = data[offset:offset + 4]
        if block_type == b"\x0a\x0d\x0d\x0a":
            endian = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack(endian + "I", data[offset + 4:offset + 8])[0]
        kind = struct.unpack(endian + "I", block_type)[0]
        if kind in (3, 6):  # a simple or enhanced packet block
            if packets == count:
                break
            packets += 1
        output += data[offset:offset + length]
        offset += length
    return bytes(output)


def main():
    source, target = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    with open(source, "rb") as handle:
        data = handle.read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        cut = cut_pcapng(data, count)
    else:
        cut = cut_pcap(data, count)
    with open(target, "wb") as handle:
        handle.write(cut)


if __name__ == "__main__":
    main()
