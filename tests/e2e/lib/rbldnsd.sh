# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   rbldnsd.sh - a DNSBL (Debian's rbldnsd) on a namespace's loopback for the e2e tests
#
# DESCRIPTION
#   One ip4set zone that lists the given addresses with 127.0.0.2, served on
#   127.0.0.1 at a port derived from the test's PID, stopped by the cleanup stack.
#   Requires common.sh (TMP-style directory given by the caller).
#
# CONTRACT
#   rbl_start NS DIR ZONE ADDR...   start it; sets RBL_PORT; e2e_fail when it
#                                   does not listen within 10 s
#
# THREADING
#   Plain bash, called from the test script's shell.

# rbl_start - serve ZONE listing ADDR... on 127.0.0.1:RBL_PORT inside NS
rbl_start() {
	local ns=$1 dir=$2 zone=$3 pid
	shift 3
	mkdir -p "$dir" || e2e_fail "mkdir $dir"
	{ echo ":127.0.0.2:listed for the e2e test"; printf '%s\n' "$@"; } >"$dir/zone"
	# rbldnsd drops root for its own user: it must read the zone
	chmod 0755 "$dir" && chmod 0644 "$dir/zone" || e2e_fail "chmod $dir"
	RBL_PORT=$((20000 + $$ % 20000))
	ip netns exec "$ns" rbldnsd -n -r "$dir" -b "127.0.0.1/$RBL_PORT" \
		"$zone:ip4set:zone" >"$dir/rbldnsd.log" 2>&1 &
	pid=$!
	e2e_cleanup_push "e2e_kill_pid $pid"
	e2e_wait_for 10 eval "ip netns exec '$ns' ss -Huln | grep -q '127.0.0.1:$RBL_PORT'" ||
		e2e_fail "rbldnsd does not listen: $(cat "$dir/rbldnsd.log")"
}
