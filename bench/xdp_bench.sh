#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   xdp_bench.sh - XDP benchmark: LPM trie, DIR-24-8 and DXR lookups warm and
#   cold, load times, nftables and xdp-filter side by side; writes
#   bench/results/xdp-lookup-DATE.txt
#
# DESCRIPTION
#   Runs BUILD/tests/bpf/xdp_bench [MAXN] (BPF_PROG_TEST_RUN, same run for
#   all structures; see its header), then loads the same 1M IPv4 list into an nftables interval
#   set (time of `nft -f`), and tries xdp-filter (libxdp dispatcher) on a
#   veth named scrxdpb0, recording its exact error if it cannot load.
#   Needs root. Pins CPU 1 with taskset when available.
#
# USAGE
#   bench/xdp_bench.sh BUILD_DIR [MAXN]   (MAXN default 10000000)
set -u
B=${1:?usage: xdp_bench.sh BUILD_DIR [MAXN]}
MAXN=${2:-10000000}
D=$(cd "$(dirname "$0")" && pwd)
OUT="$D/results/xdp-lookup-$(date +%Y-%m-%d).txt"
TMP=$(mktemp -d /tmp/scrxdp-bench.XXXXXX)
mkdir -p "$D/results"
# libxdp creates /sys/fs/bpf/xdp for xdp-filter; remove it if we caused it.
XDP_PIN_EXISTED=0
[ -d /sys/fs/bpf/xdp ] && XDP_PIN_EXISTED=1
cleanup() {
	xdp-filter unload scrxdpb0 >/dev/null 2>&1
	[ "$XDP_PIN_EXISTED" = 1 ] || rmdir /sys/fs/bpf/xdp 2>/dev/null
	ip link del scrxdpb0 2>/dev/null
	nft delete table inet scrxdp_bench 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

{
	echo "# smtpscreen XDP benchmark $(date -u +%FT%TZ)"
	echo "# kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared machine"
	echo "# clang $(clang --version | head -1 | awk '{print $4}'), libbpf $(pkg-config --modversion libbpf)"
	echo "# prefixes: xt_random_v4_mix: uniform random IPv4, 45% /32, 30% /24, 10% /25-31, 15% /16-23;"
	echo "#   85% reject, 10% permit, 5% none (carve-outs)"
	echo "# warm = kernel test_run average over 4000 runs of one frame, 256 sources;"
	echo "# cold = one run of repeat 2^20, each run a new source from a 2^20-address trace map"
	echo "#   (half inside a listed prefix, half uniform), median of 3 rounds;"
	echo "# none = same parse and trace read, no lookup (subtracted in lookup_ns)"
	taskset -c 1 "$B/tests/bpf/xdp_bench" "$MAXN" 2>&1 || "$B/tests/bpf/xdp_bench" "$MAXN" 2>&1

	# nftables: the same 1M list as an interval set (load time)
	if command -v nft >/dev/null; then
		/usr/bin/python3 - "$TMP/nft.conf" <<'PYEOF'
import sys, random, ipaddress
# same shape as xt_random_v4 (not the same seed stream): 1M mixed-length prefixes
r = random.Random(42)
els = []
for i in range(1000000):
    k = r.randrange(100)
    plen = 32 if k < 40 else 24 if k < 65 else r.randrange(25, 32) if k < 80 else r.randrange(8, 24)
    a = r.getrandbits(32)
    if a >> 24 == 198: a ^= 0x40000000
    els.append(str(ipaddress.ip_network((a, plen), strict=False)))
with open(sys.argv[1], "w") as f:
    f.write("table inet scrxdp_bench {\n set blk { type ipv4_addr; flags interval; auto-merge;\n elements = { ")
    f.write(", ".join(els))
    f.write(" } }\n chain in { type filter hook input priority -300; ip saddr @blk tcp dport 25 drop; }\n}\n")
PYEOF
		s=$(date +%s.%N)
		if nft -f "$TMP/nft.conf" 2>"$TMP/nft.err"; then
			e=$(date +%s.%N)
			echo "nft_interval_set_1M_load_ms $(echo "($e - $s) * 1000" | bc)"
		else
			echo "nft_load_failed $(head -3 "$TMP/nft.err" | tr '\n' ' ')"
		fi
		echo "nft_per_packet: not measured (no line-rate traffic source in this sandbox; BPF_PROG_TEST_RUN does not run netfilter)"
	else
		echo "nft: not installed (apt-get install nftables)"
	fi

	# xdp-filter (libxdp dispatcher), exact addresses
	if command -v xdp-filter >/dev/null; then
		ip link add scrxdpb0 type veth peer name scrxdpb1
		ip link set scrxdpb0 up; ip link set scrxdpb1 up
		if xdp-filter load -m skb scrxdpb0 >"$TMP/xf.out" 2>&1; then
			s=$(date +%s.%N)
			for i in $(seq 1 1000); do xdp-filter ip 10.1.$((i / 256)).$((i % 256)) -m src >/dev/null 2>&1; done
			e=$(date +%s.%N)
			echo "xdp_filter_1000_addresses_ms $(echo "($e - $s) * 1000" | bc) (one process per address)"
		else
			echo "xdp_filter_load_failed: $(tr '\n' ' ' < "$TMP/xf.out")"
		fi
	else
		echo "xdp-filter: not installed (apt-get install xdp-tools)"
	fi
} | tee "$OUT"
echo "written: $OUT" >&2
