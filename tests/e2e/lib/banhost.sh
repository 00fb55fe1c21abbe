# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   banhost.sh - a host-mode daemon that logs failures but blocks nobody, for the tests
#   of the ban integrations (fail2ban, CrowdSec): any block it holds is theirs
#
# DESCRIPTION
#   Namespace TAG_srv (NET.1, veth TAG_s0) runs a Postfix sink and `smtpscreen host`
#   with postscreen_greet_action = ignore (a pregreet is logged, the client neither
#   stopped nor blocked); namespace TAG_cli (veth TAG_c0) has NET.10, .11, .12.
#   Requires common.sh, netns.sh, postfix.sh; the caller's SCR, CTL, PY, HERE, TMP
#   and PIN (pin directory, removed by the caller).
#
# CONTRACT
#   bh_start TAG NET   start it all (e2e_fail on error); sets BH_LOG (the daemon's
#                      log file) and BH_SOCK (its control socket)
#   bh_pregreet N      one pregreet session from NET.N
#   bh_syn N           0 when a TCP connection from NET.N to port 25 completes in 2 s
#   bh_drops           the XDP drop_block packet counter
#   bh_blocked N       true when `block list` has NET.N/32
#   bh_ttl N           the TTL in seconds of NET.N's block entry
#
# THREADING
#   Plain bash, called from the test script's shell.

BH_NET= BH_CLI= BH_SRV=

# bh_start - the namespaces, the Postfix sink and the daemon
bh_start() {
	local tag=$1 pid
	BH_NET=$2 BH_SRV=${1}_srv BH_CLI=${1}_cli
	ns_create "$BH_SRV"
	ns_create "$BH_CLI"
	ns_veth "$BH_SRV" "${tag}_s0" "$BH_CLI" "${tag}_c0"
	ns_addr "$BH_SRV" "${tag}_s0" "$BH_NET.1/24"
	ns_addr "$BH_CLI" "${tag}_c0" "$BH_NET.10/24" "$BH_NET.11/24" "$BH_NET.12/24"
	pf_sink_start "$BH_SRV" "$BH_NET.1" "$TMP/pf"
	cat >"$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_greet_action = ignore
postscreen_greet_wait = 1s
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
CEOF
	BH_LOG=$TMP/smtpscreen.log
	BH_SOCK=$TMP/ctl.sock
	nsenter --net="/run/netns/$BH_SRV" "$SCR" host -i "${tag}_s0" -c "$TMP/screen.cf" \
		-s "$BH_SOCK" --log-file "$BH_LOG" 2>"$TMP/daemon.err" &
	pid=$!
	e2e_cleanup_push "e2e_kill_pid $pid 10; nsenter --net=/run/netns/$BH_SRV ip link set ${tag}_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/$BH_SRV tc qdisc del dev ${tag}_s0 clsact 2>/dev/null; true"
	e2e_wait_for 20 grep -q "running on ${tag}_s0" "$TMP/daemon.err" ||
		e2e_fail "daemon did not start: $(cat "$TMP/daemon.err")"
}

# bh_pregreet - one pregreet session
bh_pregreet() {
	ns_exec "$BH_CLI" "$PY" "$HERE/smtpbot.py" --server "$BH_NET.1" --source "$BH_NET.$1" \
		--behaviour pregreet --attempts 1 --timeout 8 >>"$TMP/bot.log" 2>&1
}

# bh_syn - does a connection complete
bh_syn() { ns_tcp_connect "$BH_CLI" "$BH_NET.$1" "$BH_NET.1" 25 2; }

# bh_drops - packets XDP dropped for a block entry
bh_drops() { "$CTL" -s "$BH_SOCK" stats | awk '$1 == "xdp_drop_block_packets" { print $2 }'; }

# bh_blocked - is there a block entry
bh_blocked() { "$CTL" -s "$BH_SOCK" block list | grep -q "^$BH_NET.$1/32"; }

# bh_ttl - seconds left of the block entry
bh_ttl() {
	"$CTL" -s "$BH_SOCK" block list |
		awk -v a="$BH_NET.$1/32" '$1 == a { sub("ttl=", "", $2); sub("s", "", $2); print $2 }'
}
