#!/bin/sh
# dnsbl_bench.sh - DNSBL lookups/s and added time to a verdict: 5 sites on
# a loopback rbldnsd, distinct client addresses (no cache hits), against a
# plain c-ares A-query loop to the same rbldnsd measured in the same run.
# Usage: bench/dnsbl_bench.sh [BUILD_DIR] [N] [WINDOW]
# Writes bench/results/dnsbl-<date>.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-"$here/../build-db"}
n=${2:-20000}
window=${3:-12}
bin="$build/bench/dnsbl-bench"
[ -x "$bin" ] || { echo "dnsbl_bench.sh: build $bin first" >&2; exit 1; }
command -v rbldnsd >/dev/null || [ -x /usr/sbin/rbldnsd ] || { echo "dnsbl_bench.sh: rbldnsd missing" >&2; exit 1; }
dir=$(mktemp -d /tmp/db-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
chmod 755 "$dir"
# Each zone lists a different share of 198.18.0.0/15.
for i in 1 2 3 4 5; do
	{
		echo '$SOA 300 ns.bench. admin.bench. 1 600 300 86400 300'
		echo '$TTL 300'
		echo ":127.0.0.$((i + 1)):listed"
		j=0
		while [ $j -lt 256 ]; do
			[ $((j % i)) -eq 0 ] && echo "198.18.$j.0/25" && echo "198.19.$j.0/25"
			j=$((j + 1))
		done
	} > "$dir/bl$i"
	chmod 644 "$dir/bl$i"
done
port=$((20000 + $$ % 20000))
/usr/sbin/rbldnsd -n -r "$dir" -b "127.0.0.1/$port" \
	bl1.bench:ip4set:bl1 bl2.bench:ip4set:bl2 bl3.bench:ip4set:bl3 \
	bl4.bench:ip4set:bl4 bl5.bench:ip4set:bl5 > "$dir/rbldnsd.log" 2>&1 &
pid=$!
sleep 1
kill -0 "$pid" || { cat "$dir/rbldnsd.log"; exit 1; }
out="$here/results/dnsbl-$(date +%Y-%m-%d).txt"
{
	echo "# dnsbl_bench.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# host: $(nproc) cpus, $(uname -r); c-ares $(pkg-config --modversion libcares); rbldnsd $(dpkg-query -W -f '${Version}' rbldnsd 2>/dev/null)"
	echo "# conditions: rbldnsd on 127.0.0.1 (one process, shares the cores), 5 zones,"
	echo "#   N=$n distinct client addresses, $window lookups in flight, cache never hit;"
	echo "#   sites: bl1.bench*2 bl2.bench bl3.bench=127.0.0.4 bl4.bench*-1 bl5.bench=127.0.0.[2..6]*3"
	echo "#   baseline: plain c-ares single A queries (bl1.bench), as many in flight ($window x 5), same server"
	"$bin" "127.0.0.1:$port" "$n" "$window" bl1.bench*2 bl2.bench bl3.bench=127.0.0.4 \
		bl4.bench*-1 'bl5.bench=127.0.0.[2..6]*3'
} | tee "$out"
