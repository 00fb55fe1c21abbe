# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   capture.sh - packet capture with tcpdump inside a namespace, for the e2e tests
#
# DESCRIPTION
#   Starts tcpdump writing a pcap (packet-buffered, -U, as root so it can write into
#   the test's temp dir), waits until it listens, and stops it by PID with SIGINT so
#   that the file is complete. The cleanup stack stops a capture the test did not.
#   Requires common.sh.
#
# CONTRACT
#   cap_start NS IFACE FILE FILTER   start; sets CAP_PID; e2e_fail if tcpdump cannot run
#   cap_stop                         SIGINT, wait for exit; 0 if the pcap file is valid;
#                                    prints tcpdump's "N packets captured" line
#   CAP_LOG                          tcpdump's stderr (FILE.log)
#
# THREADING
#   Plain bash; one capture at a time per shell (CAP_PID).

CAP_PID=
CAP_LOG=
CAP_FILE=

# cap_listening - tcpdump has opened the interface
cap_listening() {
	grep -q 'listening on' "$CAP_LOG" 2>/dev/null
}

# cap_start - start tcpdump in a namespace
cap_start() {
	local ns=$1 ifc=$2 file=$3 filter=$4 run=()
	[ -n "$ns" ] && run=(ip netns exec "$ns")
	CAP_FILE=$file
	CAP_LOG=$file.log
	"${run[@]}" tcpdump -n -U -Z root -s 0 -i "$ifc" -w "$file" "$filter" \
		>/dev/null 2>"$CAP_LOG" &
	CAP_PID=$!
	e2e_cleanup_push "cap_stop >/dev/null || true"
	e2e_wait_for 10 cap_listening || {
		kill -0 "$CAP_PID" 2>/dev/null ||
			e2e_fail "tcpdump did not start: $(cat "$CAP_LOG")"
		e2e_fail "tcpdump is not listening on $ifc after 10 s: $(cat "$CAP_LOG")"
	}
}

# cap_stop - stop the capture (SIGINT flushes the file), then check the file
cap_stop() {
	local pid=$CAP_PID n
	[ -n "$pid" ] || return 0
	CAP_PID=
	kill -INT "$pid" 2>/dev/null
	for ((n = 0; n < 50; n++)); do
		e2e_alive "$pid" || break
		sleep 0.1
	done
	if e2e_alive "$pid"; then
		e2e_log "tcpdump $pid ignored SIGINT; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	grep 'packets captured' "$CAP_LOG"
	[ -s "$CAP_FILE" ]
}
