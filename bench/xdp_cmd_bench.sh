#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   xdp_cmd_bench.sh - whole-command times of `smtpscreen xdp attach`, `xdp reload -c`
#   and host-mode start with 10K, 100K, 1M and 10M access-list lines (issue 16)
#
# DESCRIPTION
#   Tables from tests/e2e/lib/bigcidr.py (REJECT lines, 60 % IPv4 in 100.64.0.0/12 and
#   100.96.0.0/17, 40 % IPv6 in 2001:db8:ffff::/48), main.cf with
#   `postscreen_access_list = permit_mynetworks, cidr:TABLE`. In a namespace of its own
#   (xcb_ns, veth xcb0/xcb1), per size, REPS times: attach on xcb0 (wall time of the
#   command), reload -c with the same config, detach; host mode on xcb1: time from the
#   start of `smtpscreen host` to its "running on xcb1" line, then SIGTERM. Prints the
#   median and the spread per cell, and the "XDP maps of the permanent list" line
#   attach prints (the maps' memory). STRACE=N also writes, for N lines, the bpf()
#   calls of one attach over 10 ms (strace -T) to show where the time goes.
#   BASE=PATH also times another smtpscreen binary (a build before a change) in the
#   same run: each repetition runs both (base first in odd ones, new first in even
#   ones), and each size prints a row per binary and the ratio new/base of each median.
#   Hold /tmp/smtpscreen-e2e.lock while it runs. Cleans up its namespace and pins.
#
# USAGE
#   [BASE=OLD_SMTPSCREEN] bench/xdp_cmd_bench.sh BUILD_DIR [SIZES]
#   (root; SIZES default "10000 100000 1000000 10000000")
set -u -o pipefail
B=${1:?usage: xdp_cmd_bench.sh BUILD_DIR [SIZES]}
SIZES=${2:-10000 100000 1000000 10000000}
REPS=${REPS:-3}
D=$(cd "$(dirname "$0")" && pwd)
SCR=$B/dataplane/smtpscreen
NS=xcb_ns
PIN=/sys/fs/bpf/xcb_bench
TMP=$(mktemp -d /tmp/xdp-cmd-bench.XXXXXX)
HPID=
# stop_host - SIGTERM, and SIGKILL (said on stderr) if it is still there after 10 s
stop_host() {
	local i
	[ -n "$HPID" ] || return 0
	kill -TERM "$HPID" 2>/dev/null
	for i in $(seq 100); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$HPID" 2>/dev/null; then
		echo "smtpscreen host (pid $HPID) still running 10 s after SIGTERM: killed" >&2
		kill -KILL "$HPID"
	fi
	wait "$HPID" 2>/dev/null
	HPID=
}
cleanup() {
	stop_host
	ip netns exec "$NS" true 2>/dev/null && nsenter --net=/run/netns/$NS "$SCR" xdp detach -i xcb0 --pin-dir "$PIN" >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT INT TERM
[ -x "$SCR" ] || { echo "$SCR: not built" >&2; exit 1; }
[ -z "${BASE:-}" ] || [ -x "$BASE" ] || { echo "$BASE: not executable" >&2; exit 1; }

ip netns add "$NS" || exit 1
ip -n "$NS" link add xcb0 type veth peer name xcb1 || exit 1
ip -n "$NS" link set xcb0 up
ip -n "$NS" link set xcb1 up
xs() { nsenter --net=/run/netns/$NS "$@"; }
now() { date +%s.%N; }
# median and range of the numbers on stdin (ms)
stat3() { sort -n | awk '{v[NR]=$1} END {printf "%7.0f (%0.f-%0.f)", v[int((NR+1)/2)], v[1], v[NR]}'; }

echo "# smtpscreen whole-command times $(date -u +%FT%TZ), $(git -C "$D" rev-parse --short HEAD 2>/dev/null)"
echo "# kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) (shared machine), build $B${BASE:+, base $BASE}"
echo "# tables: tests/e2e/lib/bigcidr.py; median (min-max) of $REPS, ms"
printf "%-9s %-8s %-20s %-20s %-20s %s\n" lines bin attach reload host_start maps
# one_rep BIN TAG N CONF - attach, reload, detach, host start; ms to $TMP/{a,r,h}.TAG
one_rep() {
	local bin=$1 tag=$2 n=$3 c=$4 s
	s=$(now); xs "$bin" xdp attach -i xcb0 -c "$c" --pin-dir "$PIN" >"$TMP/attach.$tag" 2>&1 ||
		{ echo "$tag attach failed: $(cat "$TMP/attach.$tag")" >&2; exit 1; }
	echo "($(now) - $s) * 1000" | bc >>"$TMP/a.$tag"
	s=$(now); xs "$bin" xdp reload -c "$c" --pin-dir "$PIN" >"$TMP/reload.out" 2>&1 ||
		{ echo "$tag reload failed: $(cat "$TMP/reload.out")" >&2; exit 1; }
	echo "($(now) - $s) * 1000" | bc >>"$TMP/r.$tag"
	xs "$bin" xdp detach -i xcb0 --pin-dir "$PIN" >/dev/null 2>&1 || { echo "detach failed" >&2; exit 1; }
	: >"$TMP/host.err"
	s=$(now)
	# not through xs: $! must be smtpscreen (nsenter execs it), not a subshell
	nsenter --net=/run/netns/$NS "$bin" host -i xcb1 -c "$c" -s "$TMP/sock$n.$tag" \
		2>"$TMP/host.err" >/dev/null &
	HPID=$!
	while ! grep -q "running on xcb1" "$TMP/host.err"; do
		kill -0 "$HPID" 2>/dev/null || { echo "$tag host failed: $(cat "$TMP/host.err")" >&2; exit 1; }
		sleep 0.005
	done
	echo "($(now) - $s) * 1000" | bc >>"$TMP/h.$tag"
	stop_host
	rm -rf "$PIN"	# host mode leaves its pins for a restart
}
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for n in $SIZES; do
	T=$TMP/t$n.cidr
	python3 "$D/../tests/e2e/lib/bigcidr.py" "$T" "$n" || exit 1
	C=$TMP/m$n.cf
	cat >"$C" <<EOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
postscreen_access_list = permit_mynetworks, cidr:$T
smtpscreen_pin_directory = $PIN
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_flow_table_size = 4096
EOF
	tags=new
	[ -n "${BASE:-}" ] && tags="base new"
	for t in $tags; do : >"$TMP/a.$t"; : >"$TMP/r.$t"; : >"$TMP/h.$t"; done
	for rep in $(seq "$REPS"); do
		# the order alternates: neither binary always runs right after the
		# other's host mode has let go of its memory
		if [ -n "${BASE:-}" ] && [ $((rep % 2)) = 1 ]; then
			one_rep "$BASE" base "$n" "$C"
			one_rep "$SCR" new "$n" "$C"
		elif [ -n "${BASE:-}" ]; then
			one_rep "$SCR" new "$n" "$C"
			one_rep "$BASE" base "$n" "$C"
		else
			one_rep "$SCR" new "$n" "$C"
		fi
	done
	for t in $tags; do
		maps=$(grep -o "XDP maps of the permanent list.*" "$TMP/attach.$t" | head -1)
		printf "%-9s %-8s %-20s %-20s %-20s %s\n" "$n" "$t" "$(stat3 <"$TMP/a.$t")" \
			"$(stat3 <"$TMP/r.$t")" "$(stat3 <"$TMP/h.$t")" "$maps"
	done
	if [ -n "${BASE:-}" ]; then
		printf "%-9s %-8s" "$n" new/base
		for k in a r h; do
			printf " %-20s" "$(echo "scale=2; $(med <"$TMP/$k.new") / $(med <"$TMP/$k.base")" | bc)"
		done
		echo
	fi
	if [ "${STRACE:-0}" = "$n" ]; then
		nsenter --net=/run/netns/$NS strace -f -T -e trace=bpf "$SCR" xdp attach -i xcb0 -c "$C" \
			--pin-dir "$PIN" 2>"$TMP/strace" >/dev/null
		echo "# strace -T of one attach ($n lines): bpf() calls over 10 ms"
		grep -E "<0\.0[1-9]|<0\.[1-9]|<[1-9]" "$TMP/strace" | sed -E 's/^(.{0,90}).*(<[0-9.]+>)$/#   \1 ... \2/'
		xs "$SCR" xdp detach -i xcb0 --pin-dir "$PIN" >/dev/null 2>&1
	fi
	rm -f "$T"
done
