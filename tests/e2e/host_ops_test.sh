#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_ops_test.sh - the control socket of `smtpscreen host` against a running daemon
#
# DESCRIPTION
#   Mail host namespace ho_srv (198.18.70.1, veth ho_s0) runs a private Postfix (plain
#   smtpd, discard sink) and `smtpscreen host -i ho_s0 -s SOCK` (nsenter --net, so
#   /sys/fs/bpf stays visible). Client namespace ho_cli (veth ho_c0) has
#   198.18.70.10-.30 and 198.18.70.130. Through smtpscreenctl -s SOCK:
#   The daemon runs with smtpscreen_host_hold = greeting (host_test runs the default,
#   handshake), so both holds run end to end.
#   The socket is 0600 and a second daemon on it is refused; status; stats (daemon
#   counters, then XDP counters); cache list (a pass and a block with its reason);
#   block add/list/del of an address and of a prefix (SYNs dropped, then let through);
#   allow add beats a block, allow del restores it; block del of an absent entry
#   fails; an operator block survives a restart (store) and shows in cache list;
#   reload with a bad main.cf is refused with file:line and the daemon keeps
#   screening, a good one is accepted; a reload to a list that needs far bigger XDP
#   maps than the daemon started with (300,000 /32s: 862K DXR ranges against 2^19;
#   80,000 IPv6 prefixes against 65,536) takes
#   effect, and one back to the small list; cache flush forgets the verdicts (a blocked
#   client connects again, a passed client is tested again); SIGTERM removes the
#   socket.
#
# CONTRACT
#   host_ops_test.sh BUILD_DIR   (root). SMTPSCREEN / SMTPSCREENCTL override the binaries.
#   Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=host_ops_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"

BUILD=${1:?usage: host_ops_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=ho_srv
CLI=ho_cli
PIN=/sys/fs/bpf/ho_ops_test
SIP=198.18.70.1
NET=198.18.70

e2e_init host_ops
e2e_require_root
e2e_require_cmd postfix swaks nsenter bpftool stat "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
SOCK=$TMP/run/ctl.sock
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" ho_s0 "$CLI" ho_c0
ns_addr "$SRV" ho_s0 "$SIP/24"
ns_addr "$CLI" ho_c0 "$NET.10/24"
for i in $(seq 11 30) 130; do ns_addr "$CLI" ho_c0 "$NET.$i/24"; done

# --- Postfix: plain smtpd, discard sink --------------------------------------
mkdir -p "$TMP/tmpl"
pf_template_smtpd "$TMP/tmpl"
PF=$TMP/pf
pf_instance_create "$PF" "$TMP/tmpl" "SERVER_IP=$SIP"
pf_start "$SRV" "$PF"
ns_wait_listen "$SRV" "$SIP" 25 || e2e_fail "smtpd does not listen on $SIP:25"

write_conf() {
	cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = enforce
postscreen_greet_wait = 2s
smtpscreen_host_hold = greeting
smtpscreen_block_ttl = 3600
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
CEOF
}
write_conf
LOG=$TMP/smtpscreen.log
DPID=
start_daemon() {
	local tag=$1
	: > "$TMP/daemon-$tag.err"
	nsenter --net=/run/netns/$SRV "$SCR" host -i ho_s0 -c "$TMP/screen.cf" -s "$SOCK" \
		--log-file "$LOG" 2>"$TMP/daemon-$tag.err" &
	DPID=$!
	e2e_wait_for 20 grep -q "running on ho_s0" "$TMP/daemon-$tag.err" ||
		e2e_fail "daemon ($tag) did not start: $(cat "$TMP/daemon-$tag.err")"
}
stop_daemon() {
	[ -n "$DPID" ] && e2e_alive "$DPID" && { kill -TERM "$DPID"; e2e_wait_for 10 eval "! e2e_alive $DPID"; }
	DPID=
	return 0
}
e2e_cleanup_push 'stop_daemon; nsenter --net=/run/netns/'$SRV' ip link set ho_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/'$SRV' tc qdisc del dev ho_s0 clsact 2>/dev/null; true'

# ctl ARGS - smtpscreenctl through the daemon's socket; output in $OUT, status returned
ctl() {
	local rc
	OUT=$("$CTL" -s "$SOCK" "$@" 2>&1)
	rc=$?
	printf '$ smtpscreenctl %s (exit %d)\n%s\n' "$*" "$rc" "$OUT" >>"$TMP/ctl.log"
	return $rc
}
# ctl_ok ARGS - ctl, fail the test unless it succeeds
ctl_ok() {
	ctl "$@" || e2e_fail "smtpscreenctl $*: exit $?: $OUT"
}
# raw LINE - send LINE as is to the socket (no client-side checks), print the reply
raw() {
	"$PY" - "$SOCK" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
PYEOF
}
# bot FROM BEHAVIOUR - run smtpbot from $NET.FROM, print its RESULT line
bot() {
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$1" \
		--behaviour "$2" --attempts 1 --timeout 8 2>>"$TMP/bot.err" | tail -n 1
}
# syn FROM - 0 when a TCP connection from $NET.FROM to port 25 completes in 2 s
syn() {
	ns_tcp_connect "$CLI" "$NET.$1" "$SIP" 25 2
}
# stat_of NAME - a counter from `stats` through the daemon
stat_of() { "$CTL" -s "$SOCK" stats | awk -v n="$1" '$1 == n { print $2 }'; }
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$PF")"; }
# good FROM TAG - deliver one mail from $NET.FROM
good() {
	local n0
	n0=$(delivered)
	ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
		--local-interface "$NET.$1" --helo client.example.org --timeout 20 \
		>"$TMP/swaks-$2.log" 2>&1 || e2e_fail "swaks $2 failed: $(tail -5 "$TMP/swaks-$2.log")"
	e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail "mail $2 not delivered"
}

# --- socket: mode 0600, a second daemon on it is refused -----------------------
start_daemon 1
[ -S "$SOCK" ] || e2e_fail "no socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || e2e_fail "socket mode $(stat -c %a "$SOCK"), want 600"
out=$(nsenter --net=/run/netns/$SRV timeout 20 "$SCR" host -i ho_s0 -c "$TMP/screen.cf" \
	-s "$SOCK" 2>&1) && e2e_fail "a second daemon on the same socket started: $out"
echo "$out" | grep -q "another smtpscreen is running" ||
	e2e_fail "second daemon: unexpected message: $out"
e2e_alive "$DPID" || e2e_fail "first daemon died when a second one tried its socket"

# --- bad requests first ----------------------------------------------------------
ctl frobnicate && e2e_fail "unknown command accepted: $OUT"
out=$(raw "frobnicate")
echo "$out" | tail -1 | grep -q '^error: unknown command "frobnicate"' ||
	e2e_fail "daemon's answer to an unknown command: $out"
out=$(raw "cache frob")
echo "$out" | tail -1 | grep -q '^error: usage: cache list | cache flush' ||
	e2e_fail "daemon's answer to cache frob: $out"
out=$(raw "status extra")
echo "$out" | tail -1 | grep -q '^error: ' || e2e_fail "daemon accepted status with an argument: $out"
ctl block del "$NET.99" && e2e_fail "block del of an absent entry succeeded: $OUT"
echo "$OUT" | grep -q "no such entry" || e2e_fail "block del absent: message: $OUT"
ctl block add "$NET.1/24" && e2e_fail "CIDR with host bits accepted: $OUT"

# --- status ------------------------------------------------------------------------
ctl_ok status
echo "$OUT" | grep -q "^smtpscreen host: running [0-9]* s on ho_s0" || e2e_fail "status: $OUT"

# --- verdicts: a pass and a block in stats and cache list -------------------------
good 10 first
e2e_wait_for 5 grep -q "PASS NEW \[$NET.10\]" "$LOG" || e2e_fail "no PASS NEW for .10"
res=$(bot 11 pregreet)
echo "$res" | grep -q "result=accepted" && e2e_fail ".11 pregreet delivered mail: $res"
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.11\]" "$LOG" ||
	e2e_fail "no PREGREET line for .11"
ctl_ok stats
for n in samples passes stopped cache_entries host_flow_new_packets xdp_drop_block_packets; do
	echo "$OUT" | grep -Eq "^$n [0-9]+$" || e2e_fail "stats lacks $n: $OUT"
done
[ "$(echo "$OUT" | awk '$1 == "passes" { print $2 }')" -ge 1 ] || e2e_fail "passes 0: $OUT"
[ "$(echo "$OUT" | awk '$1 == "stopped" { print $2 }')" -ge 1 ] || e2e_fail "stopped 0: $OUT"
# smtpscreen_host_hold = greeting: the greeting was held, the handshake never
[ "$(echo "$OUT" | awk '$1 == "host_greet_held_packets" { print $2 }')" -ge 1 ] ||
	e2e_fail "greeting hold: no greeting held: $OUT"
echo "$OUT" | grep -q '^host_hs_ack_held_packets [1-9]' &&
	e2e_fail "greeting hold: a handshake was held: $OUT"
# the daemon's lines come before the XDP counters
first_xdp=$(echo "$OUT" | grep -n '^xdp_' | head -1 | cut -d: -f1)
last_host=$(echo "$OUT" | grep -n '^host_' | tail -1 | cut -d: -f1)
[ "$last_host" -lt "$first_xdp" ] || e2e_fail "stats order: daemon lines after XDP lines"
ctl_ok cache list
echo "$OUT" | grep -Eq "^$NET\.10 .*pregreet=[0-9]+\(\+[0-9]+s\)" || e2e_fail "cache list lacks the pass of .10: $OUT"
echo "$OUT" | grep -Eq "^$NET\.11 .*block=[0-9]+\(\+[0-9]+s\) reasons=pregreet" ||
	e2e_fail "cache list lacks the block of .11: $OUT"
[ "$(echo "$OUT" | grep -c "^$NET\.")" -eq 2 ] || e2e_fail "cache list: want 2 entries: $OUT"

# --- block add/list/del: an address and a prefix ---------------------------------
syn 12 || e2e_fail ".12 cannot connect before any block"
ctl_ok block add "$NET.12"
ctl_ok block list
echo "$OUT" | grep -q "^$NET.12/32" || e2e_fail "block list lacks .12: $OUT"
before=$(stat_of xdp_drop_block_packets)
syn 12 && e2e_fail ".12 connected after block add"
after=$(stat_of xdp_drop_block_packets)
[ "$after" -gt "$before" ] || e2e_fail "drop_block counter $before -> $after after block add"
ctl_ok cache list
echo "$OUT" | grep -Eq "^$NET\.12 block=[0-9]+\(\+[0-9]+s\) reasons=operator" ||
	e2e_fail "operator block of .12 not in cache list: $OUT"
ctl_ok block add "$NET.128/25" 1h
ctl_ok block list
echo "$OUT" | grep -Eq "^$NET.128/25	ttl=[0-9]+s" || e2e_fail "block list lacks the /25 with a ttl: $OUT"
syn 130 && e2e_fail ".130 connected inside a blocked /25"
ctl_ok block del "$NET.128/25"
syn 130 || e2e_fail ".130 cannot connect after block del of the /25"

# --- allow beats a block; allow del restores the block ------------------------
syn 11 && e2e_fail ".11 (stopped bot) connected before allow add"
ctl_ok allow add "$NET.11" 10m
ctl_ok allow list
echo "$OUT" | grep -q "^$NET.11/32" || e2e_fail "allow list lacks .11: $OUT"
syn 11 || e2e_fail ".11 cannot connect after allow add"
ctl_ok allow del "$NET.11"
syn 11 && e2e_fail ".11 connected after allow del (block entry should still apply)"

# --- restart: the operator block comes back from the store ---------------------
stop_daemon
[ -e "$SOCK" ] && e2e_fail "socket left after SIGTERM"
start_daemon 2
syn 12 && e2e_fail ".12 connected after a restart (operator block lost)"
ctl_ok cache list
echo "$OUT" | grep -q "^$NET\.12 block=" || e2e_fail "operator block of .12 not reloaded: $OUT"

# --- reload: all or nothing -------------------------------------------------------
printf 'postscreen_greet_wait = 2x\n' >> "$TMP/screen.cf"
ctl reload && e2e_fail "reload of a bad main.cf succeeded: $OUT"
echo "$OUT" | grep -q "screen.cf:[0-9]*: " || e2e_fail "reload error lacks file:line: $OUT"
e2e_alive "$DPID" || e2e_fail "daemon died on a bad reload"
res=$(bot 21 pregreet)
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.21\]" "$LOG" ||
	e2e_fail "not screening after the refused reload"
write_conf
ctl_ok reload
grep -q "reload: $TMP/screen.cf" "$LOG" || e2e_fail "good reload not logged"

# --- reload to a list far larger than the maps the daemon started with --------------
# The start list (permit_mynetworks) sized the XDP maps for 2^19 IPv4 DXR ranges and
# 65,536 IPv6 prefixes; 300,000 separate /32s (2^18 + 600,000 ranges) and 80,000 IPv6
# /64s need bigger maps in the copy the reload writes (it used to be refused: "does
# not fit the maps").
"$PY" "$HERE/lib/growcidr.py" "$TMP/big.cidr" 300000 "$NET.23" ||
	e2e_fail "cannot write the big table"
syn 23 || e2e_fail ".23 cannot connect before the big list"
sed -i 's|^postscreen_access_list = .*|postscreen_access_list = permit_mynetworks, cidr:'"$TMP"'/big.cidr\npostscreen_denylist_action = drop|' "$TMP/screen.cf"
ctl_ok reload
e2e_wait_for 10 eval '! syn 23' || e2e_fail ".23 still connects after the reload to the big list: $(tail -3 "$LOG")"
grep -q "does not fit" "$LOG" && e2e_fail "the big list was refused: $(grep 'does not fit' "$LOG")"
write_conf
ctl_ok reload
e2e_wait_for 10 syn 23 || e2e_fail ".23 still blocked after the reload back"

# --- cache flush: verdicts forgotten, clients tested again -------------------------
ctl_ok cache flush
echo "$OUT" | grep -Eq "^[0-9]+ entries flushed$" || e2e_fail "cache flush reply: $OUT"
[ "$(echo "$OUT" | awk '{ print $1 }')" -ge 3 ] || e2e_fail "cache flush: want >= 3 entries: $OUT"
ctl_ok cache list
[ -z "$OUT" ] || e2e_fail "cache list not empty after flush: $OUT"
syn 21 || e2e_fail ".21 (stopped bot) cannot connect after cache flush"
syn 12 || e2e_fail ".12 (operator block) cannot connect after cache flush"
n_pass=$(grep -c "PASS NEW \[$NET.10\]" "$LOG")
good 10 after-flush
e2e_wait_for 5 eval '[ "$(grep -c "PASS NEW \[$NET.10\]" "$LOG")" -gt '"$n_pass"' ]' ||
	e2e_fail ".10 not tested again after cache flush"

# --- logrotate: SIGUSR1 reopens the log file (no copytruncate) ----------------------
mv "$LOG" "$LOG.1"
kill -USR1 "$DPID"
e2e_wait_for 5 test -s "$LOG" || e2e_fail "no new log file after SIGUSR1"
res=$(bot 22 pregreet)
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.22\]" "$LOG" ||
	e2e_fail "after SIGUSR1 the PREGREET line of .22 is not in the new log file: $(tail -3 "$LOG")"
grep -q "\[$NET.22\]" "$LOG.1" && e2e_fail "after SIGUSR1 .22 still went to the rotated file"
grep -q "log file $LOG reopened" "$LOG" || e2e_fail "reopen not logged: $(head -3 "$LOG")"

stop_daemon
[ -e "$SOCK" ] && e2e_fail "socket left after SIGTERM"
e2e_log "PASS"
exit 0
