#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	reply_ban_bench - engine Mpps with reply bans on against off, same run
# DESCRIPTION
#	Builds nothing. Generates a fixed-seed SMTP mix with scr-gen (default
#	20,000 flows), then on one pinned core runs `smtpscreen replay --loop N`
#	from memory, alternately with examples/main.cf (reply bans off, the
#	default) and the same plus smtpscreen_reply_ban_enable = yes, REPS times
#	each. Reply bans read every in-order server segment of every flow (in
#	its tests and on the fast path) for the final reply lines they count.
#	Prints the median Mpps of each and their ratio with the conditions, and
#	writes the same text to bench/results/reply-ban-<date>.txt. Hold the
#	shared lock: flock /tmp/smtpscreen-e2e.lock bench/reply_ban_bench.sh ...
# USAGE
#	bench/reply_ban_bench.sh BUILD_DIR [--flows N] [--loop N] [--reps N]
#	                         [--cpu C] [--seed S] [--reply-mix] [--out FILE]
#	--reply-mix: the mix with 3 % harvest and 3 % AUTH-guessing bots and 30 %
#	of the good sessions with unknown recipients (many replies counted, bans)
set -eu
BUILD=${1:?usage: $0 BUILD_DIR [--flows N] [--loop N] [--reps N] [--cpu C] [--seed S] [--out FILE]}
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
FLOWS=20000 LOOP=5 REPS=5 CPU=1 SEED=1 OUT= GENARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--flows) FLOWS=$2; shift 2 ;;
	--loop) LOOP=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--reply-mix) GENARGS=(--stale-rcpt 30 --mix good=70,pregreet=5,bare_newline=4,pipelining=5,non_smtp_command=4,helo=6,blocklisted=4,allowlisted=2,harvest=3,auth=3); shift ;;
	*) echo "reply_ban_bench: unknown option $1" >&2; exit 1 ;;
	esac
done
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
for b in "$GEN" "$SCR"; do
	[ -x "$b" ] || { echo "reply_ban_bench: $b not built" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/reply-ban-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$GEN" --seed "$SEED" --flows "$FLOWS" "${GENARGS[@]}" -o "$tmp/mix.pcap" --labels "$tmp/labels.csv" 2>/dev/null
cp "$SRC"/examples/* "$tmp/"	# main.cf names its tables relative to itself
cp "$tmp/main.cf" "$tmp/off.cf"
{ cat "$SRC/examples/main.cf"; echo "smtpscreen_reply_ban_enable = yes"; } > "$tmp/on.cf"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for i in $(seq 1 "$REPS"); do
	for tag in off on; do
		taskset -c "$CPU" "$SCR" replay -c "$tmp/$tag.cf" --loop "$LOOP" "$tmp/mix.pcap" \
			> "$tmp/$tag.out" 2>&1
		sed -n 's/^rate .* mpps=\([0-9.]*\) .*/\1/p' "$tmp/$tag.out" >> "$tmp/$tag.mpps"
		cp "$tmp/$tag.out" "$tmp/$tag.last"
	done
	echo "rep $i: off $(tail -1 "$tmp/off.mpps") on $(tail -1 "$tmp/on.mpps") Mpps" >&2
done
off=$(median < "$tmp/off.mpps")
on=$(median < "$tmp/on.mpps")
out=${OUT:-$SRC/bench/results/reply-ban-$(date -u +%Y-%m-%d).txt}
mkdir -p "$(dirname "$out")"
{
	echo "# smtpscreen replay --loop $LOOP from memory: reply bans off (examples/main.cf) against on (+ smtpscreen_reply_ban_enable = yes), alternately, same run"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r)"
	echo "build dir=$BUILD type=$(meson introspect --buildoptions "$BUILD" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o.get("buildtype"), "b_sanitize=" + str(o.get("b_sanitize")))' 2>/dev/null || echo unknown) rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "capture scr-gen --seed $SEED --flows $FLOWS ${GENARGS[*]}"
	echo "conditions pinned_cpu=$CPU reps=$REPS flows=$FLOWS seed=$SEED loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\" (a shared machine: other agents' load is in the load average)"
	echo "off mpps=$(paste -sd, "$tmp/off.mpps") median=$off"
	echo "on  mpps=$(paste -sd, "$tmp/on.mpps") median=$on"
	echo "ratio on/off=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
	echo "# last summary, reply bans on:"
	sed 's/^/#   /' "$tmp/on.last"
} | tee "$out"
echo "written: $out" >&2
