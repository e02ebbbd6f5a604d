#!/usr/bin/env bash
# Benchmarks enshu-replay against tcpreplay on a veth pair between two
# network namespaces made here (and deleted on exit). Needs root.
#
#   tests/replay/bench.sh            # 3 runs per measurement
#   REPETITIONS=5 tests/replay/bench.sh
#
# All traffic stays on the veth pair, whose ends are in the namespaces only;
# addresses are in 10.250.0.0/16. Every run is bounded in packets and time.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

if [[ $EUID -ne 0 ]]; then
    echo "bench.sh: must run as root (it creates network namespaces)" >&2
    exit 1
fi
for tool in tcpreplay tcpdump; do
    if ! command -v "$tool" >/dev/null; then
        apt-get install -y "$tool"
    fi
done

sender_ns="esr-bench-$$-s"
receiver_ns="esr-bench-$$-r"
out="${BENCH_OUT:-$root/target/replay-bench}"
cleanup() {
    ip netns del "$sender_ns" 2>/dev/null || true
    ip netns del "$receiver_ns" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$sender_ns"
ip netns add "$receiver_ns"
for ns in "$sender_ns" "$receiver_ns"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$sender_ns" link add veth-send type veth peer name veth-recv netns "$receiver_ns"
ip -n "$sender_ns" addr add 10.250.255.1/30 dev veth-send
ip -n "$receiver_ns" addr add 10.250.255.2/30 dev veth-recv
ip -n "$sender_ns" link set veth-send up
ip -n "$receiver_ns" link set veth-recv up
mac_of() { ip -n "$1" -o link show "$2" | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'; }

cargo build --release -p enshu-replay --bin enshu-replay

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
echo "tcpreplay: $(tcpreplay --version 2>&1 | head -1)"

ENSHU_BENCH_SENDER_NS="$sender_ns" \
ENSHU_BENCH_RECEIVER_NS="$receiver_ns" \
ENSHU_BENCH_SENDER_IF=veth-send \
ENSHU_BENCH_RECEIVER_IF=veth-recv \
ENSHU_BENCH_SENDER_MAC="$(mac_of "$sender_ns" veth-send)" \
ENSHU_BENCH_RECEIVER_MAC="$(mac_of "$receiver_ns" veth-recv)" \
ENSHU_REPLAY_BIN="${CARGO_TARGET_DIR:-$root/target}/release/enshu-replay" \
ENSHU_BENCH_OUT="$out" \
ENSHU_BENCH_REPETITIONS="${REPETITIONS:-3}" \
    cargo bench -p enshu-replay --bench replay_rate
