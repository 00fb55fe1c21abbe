#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	inline_bench - smtpscreen inline against dpdk-testpmd io forwarding
# DESCRIPTION
#	The same in-memory SMTP mix through two DPDK applications on the same
#	vdevs, alternately, in the same run: port 0 is net_pcap with
#	infinite_rx (the PMD loads the pcap into mbufs once and replays it
#	forever; one rx queue per worker, each from its own scr-gen file),
#	port 1 is net_null without rx (transmit frees). dpdk-testpmd
#	--forward-mode=io is the baseline: receive and transmit, nothing
#	else. smtpscreen inline does the same plus the engine (and, with 2
#	workers and no RSS on these vdevs, the software dispatch). Both print
#	their receive rate every second; the median of the steady seconds
#	(the first two are dropped) is the figure. With 1 and 2 workers:
#	Mpps, Mpps per worker, ratio to testpmd; smtpscreen's bytes per flow
#	and new sessions per second (flows created / time).
#	Traffic conditions: the pcap repeats, so clients come back; the
#	bench main.cf keeps passes and blocks 1 s (every TTL 1s) and the
#	summary shows how many sessions were cache hits (pass_old). Greeting
#	hold off (recorded traffic). The log is formatted and written to
#	/dev/null (syslog would measure the syslog daemon). Results in bench/results/inline-<date>.txt.
# USAGE
#	bench/inline_bench.sh BUILD_DIR [--flows N] [--seconds S] [--reps N] [--out FILE]
#	                      [--workers "1 2"] [--keep]
set -eu
BUILD=${1:?usage: $0 BUILD_DIR [--flows N] [--seconds S] [--reps N] [--out FILE]}
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
FLOWS=50000 SECS=8 REPS=2 OUT= KEEP= WORKERS="1 2"
while [ $# -gt 0 ]; do
	case $1 in
	--flows) FLOWS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;		# keep the raw outputs (temp dir)
	--workers) WORKERS=$2; shift 2 ;;	# e.g. "1" or "1 2"
	*) echo "inline_bench: unknown option $1" >&2; exit 1 ;;
	esac
done
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
TPMD=$(command -v dpdk-testpmd || true)
for b in "$GEN" "$SCR"; do
	[ -x "$b" ] || { echo "inline_bench: $b not built" >&2; exit 1; }
done
[ -n "$TPMD" ] || { echo "inline_bench: dpdk-testpmd missing (package dpdk-dev)" >&2; exit 1; }
[ "$SECS" -ge 5 ] || { echo "inline_bench: --seconds must be at least 5" >&2; exit 1; }
TMP=$(mktemp -d /tmp/inline-bench.XXXXXX)
PIDS=
HP_OLD=$(cat /proc/sys/vm/nr_hugepages)
HP_MOUNTED=
cleanup() {
	local p
	for p in $PIDS; do kill -INT "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	echo "$HP_OLD" > /proc/sys/vm/nr_hugepages
	[ -z "$HP_MOUNTED" ] || umount "$HP_MOUNTED" 2>/dev/null || true
	if [ -n "$KEEP" ]; then echo "raw outputs kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

echo "generating 2 x $FLOWS flows..." >&2
"$GEN" --seed 1 --flows "$FLOWS" -o "$TMP/mix1.pcap" --labels "$TMP/l1.csv" 2>"$TMP/gen1.txt"
"$GEN" --seed 2 --flows "$FLOWS" -o "$TMP/mix2.pcap" --labels "$TMP/l2.csv" 2>"$TMP/gen2.txt"
PKTS=$(tshark -r "$TMP/mix1.pcap" -T fields -e frame.number 2>/dev/null | tail -1)
cat > "$TMP/bench.cf" <<'EOF'
# inline_bench: recorded traffic (no greeting hold), short memories
smtpscreen_greet_hold = no
postscreen_greet_ttl = 1s
postscreen_bare_newline_ttl = 1s
postscreen_pipelining_ttl = 1s
postscreen_non_smtp_command_ttl = 1s
smtpscreen_helo_ttl = 1s
smtpscreen_block_ttl = 1s
postscreen_bare_newline_enable = yes
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
smtpscreen_helo_enable = yes
smtpscreen_flow_table_size = 262144
smtpscreen_cache_file = @TMP@/verdicts.lmdb
EOF
sed -i "s|@TMP@|$TMP|" "$TMP/bench.cf"
# mbufs: the PMD keeps the whole pcap in mbufs, per queue
MBUFS=$(( (PKTS + 20000) * 2 + 65536 ))
MEM=$(( MBUFS * 2300 / 1048576 + 1024 ))
# 2 MB hugepages for it (--no-huge cannot hold a pool this size); the
# previous count is put back at exit
HP=$(( MEM / 2 + 64 ))
if ! mountpoint -q /dev/hugepages; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
	HP_MOUNTED=/dev/hugepages
fi
echo "$HP" > /proc/sys/vm/nr_hugepages
GOT=$(cat /proc/sys/vm/nr_hugepages)
[ "$GOT" -ge "$HP" ] || { echo "inline_bench: got $GOT of $HP hugepages" >&2; exit 1; }

# lcores: main on CPU 0; 1 worker on CPU 1; 2 workers on CPUs 1 and 0
lcores() { if [ "$1" = 1 ]; then echo "0@0,1@1"; else echo "0@0,1@1,2@0"; fi; }
vdevs() {
	local rx="rx_pcap=$TMP/mix1.pcap"
	[ "$1" = 1 ] || rx="$rx,rx_pcap=$TMP/mix2.pcap"
	echo "--vdev net_pcap0,$rx,infinite_rx=1 --vdev net_null0,no-rx=1"
}
# median of numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# wait_line FILE PATTERN: until the program prints its first stats (the
# PMD loads the pcap first: seconds), at most 120 s; then the measuring
# time runs
wait_line() {
	local i
	for i in $(seq 1 1200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "inline_bench: no \"$2\" in $1 after 120 s" >&2
	return 1
}

# run_testpmd W OUT: Mpps (median of the per-second port 0 Rx-pps)
run_testpmd() {
	local w=$1 out=$2 pid
	# shellcheck disable=SC2046
	"$TPMD" --lcores "$(lcores "$w")" -m "$MEM" --no-pci \
		--file-prefix "ib$$" --log-level=lib.eal:error $(vdevs "$w") -- \
		--forward-mode=io --nb-cores="$w" --rxq="$w" --txq="$w" \
		--total-num-mbufs="$MBUFS" --stats-period 1 --auto-start \
		--no-lsc-interrupt >"$out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_line "$out" "Rx-pps" || true
	sleep "$SECS"
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || true
	# port 0's lines come first in each stats block
	awk '/Port statistics/ { p = 0 } /Rx-pps:/ { if (p++ == 0) print $2 / 1e6 }' "$out" |
		tail -n +3 | head -n $((SECS - 3)) | median
}

# run_scr W OUT: Mpps (median of interval rx_mpps), sessions/s, bytes/flow
run_scr() {
	local w=$1 out=$2 pid
	# shellcheck disable=SC2046
	"$SCR" inline -c "$TMP/bench.cf" --workers "$w" --stats-interval 1 \
		--log /dev/null \
		--mbufs "$MBUFS" -s "$TMP/ctl.sock" -- \
		--lcores "$(lcores "$w")" -m "$MEM" --no-pci \
		--file-prefix "ib$$" --log-level=lib.eal:error $(vdevs "$w") \
		>"$out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	wait_line "$out" "^interval" || true
	sleep "$SECS"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	sed -n 's/^interval .*rx_mpps=\([0-9.]*\).*/\1/p' "$out" | tail -n +3 |
		head -n $((SECS - 3)) | median
}

sessions_per_s() {	# from the interval lines: flows created per second
	awk '/^interval/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n++; t[n] = v["t"]; f[n] = v["flows"] }
		END { if (n < 4) { print 0; exit } printf "%.0f\n", (f[n] - f[3]) / (t[n] - t[3]) }' "$1"
}

RES=$TMP/res.txt
{
	echo "# smtpscreen inline benchmark"
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine cpu=\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\" cores=$(nproc) kernel=$(uname -r)"
	echo "build dir=$BUILD rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$SRC" diff --quiet 2>/dev/null || echo +uncommitted)"
	echo "conditions seconds=$SECS reps=$REPS loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\" lcores: 1 worker 0@0,1@1; 2 workers 0@0,1@1,2@0 (2 cores: worker 2 shares CPU 0 with the main lcore)"
	echo "memory 2 MB hugepages=$HP mbufs=$MBUFS (-m $MEM)"
	echo "input scr-gen seeds 1,2 flows=$FLOWS each packets=$PKTS each; port 0 net_pcap infinite_rx (one queue per worker), port 1 net_null no-rx"
} > "$RES"
for w in $WORKERS; do
	: > "$TMP/t$w"; : > "$TMP/s$w"
	for r in $(seq 1 "$REPS"); do
		echo "workers=$w rep=$r: testpmd..." >&2
		run_testpmd "$w" "$TMP/tp-$w-$r.txt" >> "$TMP/t$w"
		echo "workers=$w rep=$r: smtpscreen inline..." >&2
		run_scr "$w" "$TMP/scr-$w-$r.txt" >> "$TMP/s$w"
	done
	T=$(median < "$TMP/t$w")
	S=$(median < "$TMP/s$w")
	last=$TMP/scr-$w-$REPS.txt
	{
		echo "workers=$w testpmd_io mpps=$(paste -sd, "$TMP/t$w") median_mpps=$T"
		echo "workers=$w smtpscreen_inline mpps=$(paste -sd, "$TMP/s$w") median_mpps=$S"
		awk -v t="$T" -v s="$S" -v w="$w" 'BEGIN { printf "workers=%d ratio inline/testpmd=%.3f inline_mpps_per_worker=%.3f testpmd_mpps_per_core=%.3f\n", w, (t > 0 ? s / t : 0), s / w, t / w }'
		echo "workers=$w new_sessions_per_s=$(sessions_per_s "$last")"
		echo "# last smtpscreen summary (workers=$w):"
		sed -n '/^smtpscreen inline summary/,$p' "$last" | sed 's/^/#   /'
	} >> "$RES"
done
cat "$RES"
DEST=${OUT:-$SRC/bench/results/inline-$(date -u +%Y-%m-%d).txt}
cp "$RES" "$DEST"
echo "written to $DEST" >&2
