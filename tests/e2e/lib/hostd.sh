# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   hostd.sh - `smtpscreen host` for the e2e tests: started in a namespace, stopped
#              and its kernel programs removed by the cleanup stack
#
# DESCRIPTION
#   Requires common.sh and $SCR (the smtpscreen binary) set by the test.
#
# CONTRACT
#   hd_start NS IFACE ERR [ARGS...]
#                      smtpscreen host -i IFACE ARGS... in NS (nsenter --net, so
#                      /sys/fs/bpf stays the host's), stderr to ERR; sets DPID; waits
#                      20 s for "running on IFACE" or e2e_fail with ERR; the first
#                      call pushes the cleanup: hd_stop, then IFACE's XDP program and
#                      clsact qdisc removed
#   hd_stop            SIGTERM to the daemon (by PID), wait up to 10 s; 0 when none
#
# THREADING
#   Plain bash, called from the test script's shell.

DPID=
HD_CLEANUP=

# hd_stop - stop the daemon hd_start started
hd_stop() {
	[ -n "$DPID" ] && e2e_alive "$DPID" && { kill -TERM "$DPID"; e2e_wait_for 10 eval "! e2e_alive $DPID"; }
	DPID=
	return 0
}

# hd_start - the daemon on IFACE in NS
hd_start() {
	local ns=$1 ifc=$2 err=$3
	shift 3
	if [ -z "$HD_CLEANUP" ]; then
		HD_CLEANUP=1
		e2e_cleanup_push "hd_stop; nsenter --net=/run/netns/$ns ip link set $ifc xdp off 2>/dev/null; nsenter --net=/run/netns/$ns tc qdisc del dev $ifc clsact 2>/dev/null; true"
	fi
	nsenter --net=/run/netns/"$ns" "$SCR" host -i "$ifc" "$@" 2>"$err" &
	DPID=$!
	e2e_wait_for 20 grep -q "running on $ifc" "$err" ||
		e2e_fail "daemon did not start: $(cat "$err")"
}
