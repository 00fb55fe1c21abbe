#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_bench - smtpscreen replay throughput against the plain libpcap loop
# DESCRIPTION
#	Builds nothing. Generates a fixed-seed SMTP mix with scr-gen (default
#	100,000 flows), then on one pinned core (taskset) runs, alternately,
#	pcap-baseline --loop N and smtpscreen replay --loop N on the same file,
#	REPS times each, in the same run. Prints the median Mpps of each, their
#	ratio, the engine's bytes per flow, and the conditions (CPU model,
#	kernel, date, build type, sanitizers, git revision, load average), and
#	writes the same text to bench/results/replay-<date>.txt.
#	Timing noise from other processes is not removed: the load average is
#	recorded so a reader can judge it.
# USAGE
#	bench/replay_bench.sh BUILD_DIR [--flows N] [--loop N] [--reps N]
#	                      [--cpu C] [--seed S] [--threads N] [--out FILE]
set -eu
BUILD=${1:?usage: $0 BUILD_DIR [--flows N] [--loop N] [--reps N] [--cpu C] [--seed S] [--threads N] [--out FILE]}
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
FLOWS=100000 LOOP=3 REPS=3 CPU=0 SEED=1 THREADS=1 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--flows) FLOWS=$2; shift 2 ;;
	--loop) LOOP=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "replay_bench: unknown option $1" >&2; exit 1 ;;
	esac
done
GEN=$BUILD/bench/scr-gen
BASE=$BUILD/bench/pcap-baseline
SCR=$BUILD/dataplane/smtpscreen
for b in "$GEN" "$BASE" "$SCR"; do
	[ -x "$b" ] || { echo "replay_bench: $b not built" >&2; exit 1; }
done
[ "$FLOWS" -ge 100000 ] || echo "replay_bench: note: --flows $FLOWS is below the 100,000 the budget is stated for" >&2
TMP=$(mktemp -d /tmp/replay-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PIN=(taskset -c "$CPU")
if [ "$THREADS" -gt 1 ]; then
	PIN=(taskset -c "$CPU-$((CPU + THREADS - 1))")
fi

echo "generating $FLOWS flows (seed $SEED)..." >&2
"$GEN" --seed "$SEED" --flows "$FLOWS" -o "$TMP/mix.pcap" --labels "$TMP/mix.csv" 2>"$TMP/gen.txt"
cat "$TMP/gen.txt" >&2

# field VALUE of KEY on the line starting with WORD: kv FILE WORD KEY
kv() { sed -n "s/^$2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$1" | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: > "$TMP/base.mpps"
: > "$TMP/scr.mpps"
for i in $(seq 1 "$REPS"); do
	"${PIN[@]}" "$BASE" "$TMP/mix.pcap" --loop "$LOOP" > "$TMP/base.$i.txt"
	kv "$TMP/base.$i.txt" rate mpps >> "$TMP/base.mpps"
	"${PIN[@]}" "$SCR" replay -c "$SRC/examples/main.cf" --threads "$THREADS" --loop "$LOOP" \
		"$TMP/mix.pcap" > "$TMP/scr.$i.txt"
	kv "$TMP/scr.$i.txt" rate mpps >> "$TMP/scr.mpps"
	echo "rep $i: baseline $(tail -1 "$TMP/base.mpps") Mpps, replay $(tail -1 "$TMP/scr.mpps") Mpps" >&2
done
BASE_MED=$(median < "$TMP/base.mpps")
SCR_MED=$(median < "$TMP/scr.mpps")
RATIO=$(awk -v a="$SCR_MED" -v b="$BASE_MED" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
PKTS=$(kv "$TMP/base.1.txt" packets total)
BYTES=$(kv "$TMP/base.1.txt" packets bytes)
FLOW_BYTES=$(kv "$TMP/scr.1.txt" memory flow_bytes)
FLOWS_SEEN=$(kv "$TMP/scr.1.txt" flows total)
BUILDTYPE=$(meson introspect --buildoptions "$BUILD" 2>/dev/null |
	/usr/bin/python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o.get("buildtype"), "b_sanitize=" + str(o.get("b_sanitize")), "b_ndebug=" + str(o.get("b_ndebug")))' 2>/dev/null || echo unknown)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
REV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$SRC" status --porcelain 2>/dev/null | grep -q . && echo "+uncommitted" || true)

report() {
	echo "# smtpscreen replay benchmark"
	echo "date=$DATE"
	echo "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r)"
	echo "build dir=$BUILD type=$BUILDTYPE rev=$REV$DIRTY"
	echo "conditions pinned_cpus=${PIN[*]:2} reps=$REPS loop=$LOOP threads=$THREADS loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
	echo "input scr-gen seed=$SEED flows=$FLOWS packets=$PKTS bytes=$BYTES avg_packet_bytes=$(awk -v b="$BYTES" -v p="$PKTS" 'BEGIN { printf "%.0f", b / p }')"
	echo "baseline pcap-baseline mpps=$(paste -sd, "$TMP/base.mpps") median_mpps=$BASE_MED"
	echo "replay smtpscreen mpps=$(paste -sd, "$TMP/scr.mpps") median_mpps=$SCR_MED"
	echo "ratio replay/baseline=$RATIO"
	echo "memory flow_bytes=$FLOW_BYTES flows_in_capture=$FLOWS_SEEN"
	echo "# last replay summary:"
	sed 's/^/#   /' "$TMP/scr.$REPS.txt"
}
mkdir -p "$SRC/bench/results"
OUT=${OUT:-$SRC/bench/results/replay-$(date -u +%Y-%m-%d).txt}
report | tee "$OUT"
echo "written: $OUT" >&2
