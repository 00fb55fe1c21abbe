#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# flood_bench.sh - good-session verdict rate, latency and memory with the
# flow table under a SYN flood of 0, 50 and 200 % of its capacity (issue 8).
#
#   bench/flood_bench.sh [BUILD_DIR] [--runs "65536:20000:5 1048576:5000:3"]
#       [--good-rate 1500] [--harsh] [--cpu N] [--out FILE]
#
# --runs: one flood-bench run per CAPACITY:GOOD_SESSIONS:ROUNDS (the 1M-flow
# table gets fewer good sessions so that its 200 % stream, ~3.5 M frames,
# keeps the whole script under 5 minutes on a shared 2-core machine).
#
# Builds build/bench/flood-bench if needed (BUILD_DIR defaults to build-fb,
# set up as a release build without sanitizers), then runs it once per
# capacity (the steps alternate inside each run, see bench/flood_bench.c),
# pinned to one CPU with taskset when --cpu is given. --harsh adds, per
# capacity, a run where A attack SYNs arrive per good-session duration
# (--attack-window 0.15) instead of per SYN timeout. Prints the conditions
# and every run's output, and writes them to bench/results/flood-<date>.txt
# (or --out). Bounded to 290 s in all; no timing assertions.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=build-fb
runs="65536:20000:5 1048576:5000:3"
good_rate=1500
harsh=0
cpu=""
out="$root/bench/results/flood-$(date -u +%F).txt"

if [[ $# -gt 0 && $1 != --* ]]; then
	build=$1
	shift
fi
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--good-rate) good_rate=$2; shift 2 ;;
	--harsh) harsh=1; shift ;;
	--cpu) cpu=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "flood_bench.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[[ $build = /* ]] || build="$root/$build"

if [[ ! -d $build ]]; then
	(cd "$root" && meson setup "$build" -Ddpdk=disabled -Dbpf=disabled \
		-Dbuildtype=release) >/dev/null
fi
ninja -C "$build" bench/flood-bench >/dev/null
exe="$build/bench/flood-bench"

pin=()
if [[ -n $cpu ]]; then
	pin=(taskset -c "$cpu")
fi

deadline=$((SECONDS + 290))
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

opt() {
	meson introspect --buildoptions "$build" 2>/dev/null |
		/usr/bin/python3 -c "import json,sys; print(next((o['value'] for o in json.load(sys.stdin) if o['name']=='$1'), '?'))" 2>/dev/null || echo '?'
}

{
	echo "# flood-bench (issue 8): good sessions under a SYN flood of 0, 50, 200 % of the flow table"
	echo "date:       $(date -u '+%F %T UTC')"
	echo "host:       $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "memory:     $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "build:      $build (buildtype $(opt buildtype), b_sanitize $(opt b_sanitize))"
	echo "git:        $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (work tree modified)')"
	echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) before the runs"
	echo "pinning:    $(if [[ -n $cpu ]]; then echo "taskset -c $cpu"; else echo none; fi)"
	echo "arguments:  runs (capacity:good:rounds) $runs, good sessions at $good_rate/s, harsh $harsh"
	echo
} | tee "$tmp"

status=0
for run in $runs; do
	IFS=: read -r cap good rounds <<<"$run"
	windows=("")
	[[ $harsh = 1 ]] && windows+=("0.15")
	for w in "${windows[@]}"; do
		left=$((deadline - SECONDS))
		if ((left < 20)); then
			echo "flood_bench.sh: time is up, capacity $cap window ${w:-default} not run" | tee -a "$tmp"
			status=1
			continue
		fi
		args=(--capacity "$cap" --good "$good" --good-rate "$good_rate" --rounds "$rounds")
		[[ -n $w ]] && args+=(--attack-window "$w")
		echo "## capacity $cap, attack window ${w:-the SYN timeout in effect}: flood-bench ${args[*]}" | tee -a "$tmp"
		start=$SECONDS
		rc=0
		timeout "$left" "${pin[@]}" "$exe" "${args[@]}" 2>&1 | tee -a "$tmp" || rc=$?
		echo "(run took $((SECONDS - start)) s, exit $rc; load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$tmp"
		echo | tee -a "$tmp"
		((rc == 0)) || status=1
	done
done

mkdir -p "$(dirname "$out")"
cp "$tmp" "$out"
echo "flood_bench.sh: wrote $out"
exit $status
