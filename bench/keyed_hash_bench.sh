#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	keyed_hash_bench - replay throughput with clients that collide under
#	the old flow hash against as many random clients, same run (issue 14)
# DESCRIPTION
#	1. build/bench/hash-flood finds client (address, port) pairs that share
#	   one bucket of the flow table under the old, unkeyed flow hash (its
#	   copy in bench/hash_flood.c; table size = replay's default, 262144),
#	   bounded by --max-seconds, and writes for each N of --n and each
#	   shape (syn: a SYN flood; session: a passing SMTP session, SYN to
#	   last ACK) a capture of the N colliding clients and one of N random
#	   clients: same packets, same times; each capture repeats the N flows
#	   in rounds 40 s apart until it holds --packets frames, so one pass
#	   is long enough to time without --loop's table resets.
#	2. Replays each pair with NEW_BUILD's smtpscreen (examples/main.cf,
#	   one thread, --loop 1), colliding and random alternately, --reps
#	   times; prints median seconds, Mpps and the slowdown colliding /
#	   random (budget: <= 2). With --old OLD_BUILD (a build of the code
#	   before the keyed hash), the same for it on --old-shapes, --old-reps
#	   times (its colliding runs take seconds to minutes: the attack).
#	3. The usual mix (scr-gen --seed 1 --flows --mix-flows), replayed with
#	   --loop --mix-loop by NEW_BUILD and, with --old, by OLD_BUILD,
#	   alternately, --mix-reps times: median Mpps of each and new / old.
#	4. With valgrind and --instr-flows N (default 10000; 0: skip): the
#	   instructions the engine executes (callgrind, inside
#	   scr_engine_burst and scr_engine_flush and what they call: decode,
#	   hashes, tables, SMTP, scanner, the replay hooks) per packet, NEW
#	   and OLD, on a scr-gen mix of N flows and on the random SYN flood
#	   of the smallest --n: a count the machine's load does not blur.
#	Prints the conditions (CPU, cores, kernel, builds, revisions, load
#	average before and after, pinning) and writes everything to
#	bench/results/keyed-hash-<date>.txt (or --out). No pinning unless
#	--cpu is given; runs under the caller's nice level. Each replay is
#	bounded by --run-timeout seconds (a run that hits it is reported as
#	such, never silently dropped). Use release builds without sanitizers.
# USAGE
#	bench/keyed_hash_bench.sh NEW_BUILD [--old OLD_BUILD] [--n 5000,20000,40000]
#	    [--shapes syn,session] [--old-shapes syn] [--packets 200000]
#	    [--reps 3] [--old-reps 1] [--mix-flows 100000] [--mix-loop 2]
#	    [--mix-reps 3] [--instr-flows 10000] [--cpu C] [--max-seconds 300]
#	    [--run-timeout 300] [--out FILE]
set -euo pipefail

NEW=${1:?usage: $0 NEW_BUILD [--old OLD_BUILD] [--n LIST] [--shapes LIST] [--old-shapes LIST] [--packets P] [--reps N] [--old-reps N] [--mix-flows N] [--mix-loop N] [--mix-reps N] [--cpu C] [--max-seconds S] [--run-timeout S] [--out FILE]}
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
OLD= NS=5000,20000,40000 SHAPES=syn,session OLD_SHAPES=syn PACKETS=200000
REPS=3 OLD_REPS=1 MIX_FLOWS=100000 MIX_LOOP=2 MIX_REPS=3 CPU= MAX_S=300
RUN_TIMEOUT=300 OUT= INSTR_FLOWS=10000
while [ $# -gt 0 ]; do
	case $1 in
	--old) OLD=$2; shift 2 ;;
	--n) NS=$2; shift 2 ;;
	--shapes) SHAPES=$2; shift 2 ;;
	--old-shapes) OLD_SHAPES=$2; shift 2 ;;
	--packets) PACKETS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--old-reps) OLD_REPS=$2; shift 2 ;;
	--mix-flows) MIX_FLOWS=$2; shift 2 ;;
	--mix-loop) MIX_LOOP=$2; shift 2 ;;
	--mix-reps) MIX_REPS=$2; shift 2 ;;
	--instr-flows) INSTR_FLOWS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--max-seconds) MAX_S=$2; shift 2 ;;
	--run-timeout) RUN_TIMEOUT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "keyed_hash_bench: unknown option $1" >&2; exit 1 ;;
	esac
done
FLOOD=$NEW/bench/hash-flood
GEN=$NEW/bench/scr-gen
for b in "$FLOOD" "$GEN" "$NEW/dataplane/smtpscreen" ${OLD:+"$OLD/dataplane/smtpscreen"}; do
	[ -x "$b" ] || { echo "keyed_hash_bench: $b not built" >&2; exit 1; }
done
PIN=()
[ -n "$CPU" ] && PIN=(taskset -c "$CPU")
TMP=$(mktemp -d /tmp/keyed-hash-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
LOG=$TMP/report.txt
: > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }

# field VALUE of KEY on the line starting with WORD: kv FILE WORD KEY
kv() { sed -n "s/^$2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$1" | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# replay BUILD PCAP LOOP OUTFILE: one timed replay; seconds on stdout, or
# "timeout"/"error"
replay() {
	local rc=0
	timeout "$RUN_TIMEOUT" "${PIN[@]}" "$1/dataplane/smtpscreen" replay \
		-c "$SRC/examples/main.cf" --loop "$3" "$2" > "$4" 2> "$4.err" || rc=$?
	if [ $rc -eq 124 ]; then echo timeout; elif [ $rc -ne 0 ]; then echo error; else kv "$4" rate seconds; fi
}

say "# keyed hash: replay of clients colliding under the old flow hash vs random clients (issue 14)"
say "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r)"
buildinfo() {
	meson introspect --buildoptions "$1" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o.get("buildtype"), "b_sanitize=" + str(o.get("b_sanitize")))' 2>/dev/null || echo unknown
}
say "build new=$NEW ($(buildinfo "$NEW")) src_rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$OLD" ] && say "build old=$OLD ($(buildinfo "$OLD"))"
say "conditions pinned=${CPU:-no} nice=$(nice) reps=$REPS old_reps=$OLD_REPS packets_per_capture>=$PACKETS threads=1 loop=1 loadavg_before=\"$LOAD_BEFORE\""

# 1. the colliding clients and the captures
MAXN=$(tr ',' '\n' <<< "$NS" | sort -n | tail -1)
ALL_SHAPES=$(printf '%s\n%s\n' "${SHAPES//,/$'\n'}" "${OLD:+${OLD_SHAPES//,/$'\n'}}" | grep . | sort -u | paste -sd,)
echo "finding $MAXN colliding clients (at most $MAX_S s)..." >&2
"$FLOOD" --n "$NS" --shape "$ALL_SHAPES" --packets "$PACKETS" --max-seconds "$MAX_S" \
	-o "$TMP/flood" > "$TMP/flood.txt" || true
say "search $(head -1 "$TMP/flood.txt") (old hash, table 262144: 2^18 buckets)"
sed -n 's/^wrote .*\/\([^/]*\.pcap\) /capture \1 /p' "$TMP/flood.txt" | tee -a "$LOG"

# 2. colliding vs random, per build
# run_pairs LABEL BUILD SHAPES REPS
run_pairs() {
	local label=$1 build=$2 shapes=$3 reps=$4 shape n i k kind s
	for shape in ${shapes//,/ }; do
		for n in ${NS//,/ }; do
			local c=$TMP/flood/colliding-$shape-$n.pcap r=$TMP/flood/random-$shape-$n.pcap
			[ -f "$c" ] || { say "$label shape=$shape n=$n: no capture (search stopped early)"; continue; }
			: > "$TMP/c.s"; : > "$TMP/r.s"
			for i in $(seq 1 "$reps"); do
				# alternate which goes first
				for k in 0 1; do
					if [ $(( (i + k) % 2 )) -eq 0 ]; then kind=c; else kind=r; fi
					if [ $kind = c ]; then s=$(replay "$build" "$c" 1 "$TMP/out.c"); else s=$(replay "$build" "$r" 1 "$TMP/out.r"); fi
					echo "$s" >> "$TMP/$kind.s"
					echo "  $label $shape n=$n rep $i $kind: $s s" >&2
				done
			done
			local cm rm pk flows_c flows_r pass_c pass_r ratio verdict
			cm=$(grep -v -e timeout -e error "$TMP/c.s" | median)
			rm=$(grep -v -e timeout -e error "$TMP/r.s" | median)
			pk=$(kv "$TMP/out.r" packets total)
			flows_c=$(kv "$TMP/out.c" flows total); flows_r=$(kv "$TMP/out.r" flows total)
			pass_c=$(kv "$TMP/out.c" flows pass); pass_r=$(kv "$TMP/out.r" flows pass)
			if grep -q -e timeout -e error "$TMP/c.s" "$TMP/r.s"; then
				ratio="incomplete($(paste -sd, "$TMP/c.s")/$(paste -sd, "$TMP/r.s"))"
				verdict=""
			else
				ratio=$(awk -v a="$cm" -v b="$rm" 'BEGIN { printf "%.2f", a / b }')
				verdict=$(awk -v x="$ratio" 'BEGIN { print (x <= 2 ? "within_budget" : "over_budget") }')
			fi
			say "$label shape=$shape n=$n packets=$pk flows=$flows_c/$flows_r pass=$pass_c/$pass_r" \
				"colliding_s=$(paste -sd, "$TMP/c.s") random_s=$(paste -sd, "$TMP/r.s")" \
				"colliding_mpps=$(awk -v p="$pk" -v s="$cm" 'BEGIN { printf "%.3f", p / s / 1e6 }')" \
				"random_mpps=$(awk -v p="$pk" -v s="$rm" 'BEGIN { printf "%.3f", p / s / 1e6 }')" \
				"slowdown=$ratio $verdict"
		done
	done
}
run_pairs new "$NEW" "$SHAPES" "$REPS"
[ -n "$OLD" ] && run_pairs old "$OLD" "$OLD_SHAPES" "$OLD_REPS"

# 3. the usual mix, before and after
echo "generating the mix ($MIX_FLOWS flows, seed 1)..." >&2
"$GEN" --seed 1 --flows "$MIX_FLOWS" -o "$TMP/mix.pcap" --labels "$TMP/mix.csv" 2> "$TMP/gen.txt"
: > "$TMP/mix.new"; : > "$TMP/mix.old"
for i in $(seq 1 "$MIX_REPS"); do
	for b in new old; do
		[ $b = old ] && [ -z "$OLD" ] && continue
		if [ $b = new ]; then dir=$NEW; else dir=$OLD; fi
		s=$(replay "$dir" "$TMP/mix.pcap" "$MIX_LOOP" "$TMP/mix.out.$b")
		kv "$TMP/mix.out.$b" rate mpps >> "$TMP/mix.$b"
		echo "  mix $b rep $i: $s s, $(tail -1 "$TMP/mix.$b") Mpps" >&2
	done
done
NEW_MPPS=$(median < "$TMP/mix.new")
say "mix scr-gen seed=1 flows=$MIX_FLOWS packets=$(kv "$TMP/mix.out.new" packets total) loop=$MIX_LOOP reps=$MIX_REPS" \
	"new_mpps=$(paste -sd, "$TMP/mix.new") new_median=$NEW_MPPS"
if [ -n "$OLD" ]; then
	OLD_MPPS=$(median < "$TMP/mix.old")
	say "mix old_mpps=$(paste -sd, "$TMP/mix.old") old_median=$OLD_MPPS" \
		"new/old=$(awk -v a="$NEW_MPPS" -v b="$OLD_MPPS" 'BEGIN { printf "%.3f", a / b }')"
fi
say "mix verdicts new: $(grep '^flows' "$TMP/mix.out.new")"
[ -n "$OLD" ] && say "mix verdicts old: $(grep '^flows' "$TMP/mix.out.old")"
# 4. instructions per packet (callgrind)
if [ "$INSTR_FLOWS" -gt 0 ] && command -v valgrind > /dev/null; then
	echo "counting instructions (callgrind, $INSTR_FLOWS-flow mix)..." >&2
	"$GEN" --seed 1 --flows "$INSTR_FLOWS" -o "$TMP/small.pcap" --labels "$TMP/small.csv" 2> /dev/null
	SMALLN=$(tr ',' '\n' <<< "$NS" | sort -n | head -1)
	for cap in "$TMP/small.pcap" "$TMP/flood/random-syn-$SMALLN.pcap"; do
		[ -f "$cap" ] || continue
		line="instr capture=$(basename "$cap")"
		for b in new old; do
			[ $b = old ] && [ -z "$OLD" ] && continue
			if [ $b = new ]; then dir=$NEW; else dir=$OLD; fi
			valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
				--toggle-collect=scr_engine_burst --toggle-collect=scr_engine_flush \
				"$dir/dataplane/smtpscreen" replay -c "$SRC/examples/main.cf" "$cap" \
				> "$TMP/cg.txt" 2> "$TMP/cg.err" || true
			ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/cg.err")
			pk=$(kv "$TMP/cg.txt" packets total)
			line="$line ${b}_ir=$ir ${b}_ir_per_packet=$(awk -v i="$ir" -v p="$pk" 'BEGIN { printf "%.0f", i / p }')"
			eval "ir_$b=\$ir"
		done
		[ -n "$OLD" ] && line="$line new/old=$(awk -v a="$ir_new" -v b="$ir_old" 'BEGIN { printf "%.3f", a / b }')"
		say "$line packets=$pk"
	done
fi
say "loadavg_after=\"$(cut -d' ' -f1-3 /proc/loadavg)\" wall_s=$(( $(date +%s) - T_START ))"

mkdir -p "$SRC/bench/results"
OUT=${OUT:-$SRC/bench/results/keyed-hash-$(date -u +%Y-%m-%d).txt}
cp "$LOG" "$OUT"
echo "written: $OUT" >&2
