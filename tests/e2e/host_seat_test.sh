#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_seat_test.sh - `smtpscreen host` in postscreen's seat (smtpscreen_host_hold =
#                       seat) in front of a real Postfix smtpd behind `smtpd pass`
#
# DESCRIPTION
#   Mail host namespace sseat_srv (198.18.52.1, veth sseat_s0) runs a private Postfix
#   in postscreen's master.cf layout: no smtp inet service, smtpd behind `smtpd pass`
#   (endpoint PF/spool/private/smtpd), mail to the discard sink; the daemon listens on
#   198.18.52.1:25 in postscreen's place. Client namespace sseat_cli has
#   198.18.52.10-.20. Checks:
#   - a daemon started while another program has the port says so and exits 1;
#   - a good first-contact client gets the teaser "220-..." then smtpd's "220 ": one
#     session, its mail delivered, PASS NEW logged, smtpd saw it (connect from);
#   - a pregreet bot gets postscreen's 521 and never reaches smtpd (no "connect from"
#     in Postfix's log), PREGREET logged, its next SYN dropped in XDP;
#   - a pipelining bot, handed to smtpd after the wait, is judged on the packets of
#     that session (deep tests): stopped, its mail not delivered;
#   - the good client again: the pass cache takes it to smtpd at once
#     (seat_direct), no teaser, no wait;
#   - the smtpd pass endpoint gone: the client gets 421 4.3.2, counted;
#   - steered (smtpd keeps port 25, the seat on 10025, sk_lookup): a first-contact client
#     and a pregreet bot meet the seat, a pass-cached client goes straight to smtpd
#     (the seat never accepts it), and after the daemon stops port 25 is smtpd's alone.
#
# CONTRACT
#   host_seat_test.sh BUILD_DIR   (root). SMTPSCREEN / SMTPSCREENCTL override the binaries.
#   Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=host_seat_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"

BUILD=${1:?usage: host_seat_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=sseat_srv
CLI=sseat_cli
PIN=/sys/fs/bpf/sseat_test
SIP=198.18.52.1

e2e_init seat
e2e_require_root
e2e_require_cmd postfix swaks nsenter bpftool "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" sseat_s0 "$CLI" sseat_c0
ns_addr "$SRV" sseat_s0 "$SIP/24"
for i in $(seq 10 20); do ns_addr "$CLI" sseat_c0 "198.18.52.$i/24"; done

PF=$TMP/pf
pf_seat_start "$SRV" "$SIP" "$PF"
PASS_EP=$PF/spool/private/smtpd

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_greet_action = drop
postscreen_greet_wait = 2s
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
smtpscreen_host_hold = seat
smtpscreen_seat_listen = $SIP:25
smtpscreen_seat_service = $PASS_EP
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
CEOF
LOG=$TMP/smtpscreen.log
DPID=
stop_daemon() {
	[ -n "$DPID" ] && e2e_alive "$DPID" && { kill -TERM "$DPID"; e2e_wait_for 10 eval "! e2e_alive $DPID"; }
	DPID=
	return 0
}
e2e_cleanup_push 'stop_daemon; nsenter --net=/run/netns/'$SRV' ip link set sseat_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/'$SRV' tc qdisc del dev sseat_s0 clsact 2>/dev/null; true'

# --- the port taken: refused with the reason ----------------------------------------
ip netns exec "$SRV" "$PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$SIP"'", 25)); s.listen(1); time.sleep(30)' &
BUSY=$!
e2e_cleanup_push "kill $BUSY 2>/dev/null; true"
ns_wait_listen "$SRV" "$SIP" 25 || e2e_fail "the port-taker does not listen"
out=$(nsenter --net=/run/netns/$SRV "$SCR" host -i sseat_s0 -c "$TMP/screen.cf" -s "$TMP/ctl.sock" 2>&1)
rc=$?
kill "$BUSY"; wait "$BUSY" 2>/dev/null
[ $rc -eq 1 ] || e2e_fail "port in use: exit $rc, want 1 ($out)"
echo "$out" | grep -q "listen on $SIP:25: Address already in use" ||
	e2e_fail "port in use: message lacks the address and reason: $out"

nsenter --net=/run/netns/$SRV "$SCR" host -i sseat_s0 -c "$TMP/screen.cf" -s "$TMP/ctl.sock" \
	--log-file "$LOG" 2>"$TMP/daemon.err" &
DPID=$!
e2e_wait_for 20 grep -q "running on sseat_s0" "$TMP/daemon.err" ||
	e2e_fail "daemon did not start: $(cat "$TMP/daemon.err")"
grep -q "seat hold: listening on $SIP:25" "$LOG" || e2e_fail "no seat line: $(cat "$LOG")"

# bot FROM BEHAVIOUR - smtpbot from 198.18.52.FROM, its RESULT line
bot() {
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "198.18.52.$1" \
		--behaviour "$2" --attempts 1 --timeout 10 -v 2>>"$TMP/bot-$1.err" | tail -n 1
}
stat() { "$CTL" -s "$TMP/ctl.sock" stats | awk -v n="$1" '$1 == n { print $2 }'; }
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$PF")"; }
smtpd_saw() { grep -q "smtpd.*connect from [^ ]*\[198\.18\.52\.$1\]" "$(pf_maillog "$PF")"; }

# --- a good first-contact client: teaser, wait, smtpd; one session -----------------
n0=$(delivered)
res=$(bot 10 good)
e2e_log ".10 good: $res"
echo "$res" | grep -q "result=accepted sessions=1" || e2e_fail ".10 good: $res $(tail -20 "$TMP/bot-10.err")"
grep -q "220-mx.example.test ESMTP" "$TMP/bot-10.err" || e2e_fail ".10 got no teaser: $(head -20 "$TMP/bot-10.err")"
e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail ".10's mail not delivered"
e2e_wait_for 5 grep -q "PASS NEW \[198.18.52.10\]" "$LOG" || e2e_fail "no PASS NEW for .10: $(cat "$LOG")"
smtpd_saw 10 || e2e_fail "smtpd never saw .10: $(tail "$(pf_maillog "$PF")")"
[ "$(stat seat_passed)" -ge 1 ] || e2e_fail "seat_passed 0"

# --- a pregreet bot: 521 from the seat, never in smtpd ------------------------------
res=$(bot 11 pregreet)
e2e_log ".11 pregreet: $res"
echo "$res" | grep -Eq "result=(rejected|reset) " || e2e_fail ".11 pregreet: $res"
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[198.18.52.11\]" "$LOG" ||
	e2e_fail "no PREGREET line for .11: $(cat "$LOG")"
sleep 1
smtpd_saw 11 && e2e_fail "the pregreet bot reached smtpd: $(grep '198\.18\.52\.11' "$(pf_maillog "$PF")")"
[ "$(stat seat_early)" -ge 1 ] || e2e_fail "seat_early 0"
ns_tcp_connect "$CLI" 198.18.52.11 "$SIP" 25 2 && e2e_fail ".11 connected again after its failure"

# --- a pipelining bot: passed to smtpd, judged on that session ----------------------
n0=$(delivered)
res=$(bot 12 pipelining)
e2e_log ".12 pipelining: $res"
echo "$res" | grep -q "result=accepted" && e2e_fail ".12 pipelining delivered mail: $res"
e2e_wait_for 5 grep -q "COMMAND PIPELINING from \[198.18.52.12\]" "$LOG" ||
	e2e_fail "no COMMAND PIPELINING for .12: $(cat "$LOG")"
smtpd_saw 12 || e2e_fail ".12 was not handed to smtpd (the deep tests run there)"
sleep 1
[ "$(delivered)" -eq "$n0" ] || e2e_fail "the pipelining bot's mail was delivered"

# --- the good client again: pass cache, smtpd at once --------------------------------
d0=$(stat seat_direct)
t0=$(date +%s%N)
res=$(bot 10 good)
t1=$(date +%s%N)
e2e_log ".10 again: $res ($(( (t1 - t0) / 1000000 )) ms)"
echo "$res" | grep -q "result=accepted sessions=1" || e2e_fail ".10 again: $res"
[ "$(stat seat_direct)" -gt "$d0" ] || e2e_fail ".10 again was not handed over at once"
[ $(( (t1 - t0) / 1000000 )) -lt 1500 ] || e2e_fail ".10 again waited $(( (t1 - t0) / 1000000 )) ms (greet wait 2 s)"

# --- the smtpd pass endpoint gone: 421 4.3.2 -------------------------------------------
mv "$PASS_EP" "$PASS_EP.away" || e2e_fail "cannot move $PASS_EP"
e0=$(stat seat_pass_errors)
res=$(bot 13 good)
mv "$PASS_EP.away" "$PASS_EP"
e2e_log ".13 without smtpd: $res"
grep -q "421 4.3.2 All server ports are busy" "$TMP/bot-13.err" ||
	e2e_fail ".13 got no 421: $res $(tail -5 "$TMP/bot-13.err")"
[ "$(stat seat_pass_errors)" -gt "$e0" ] || e2e_fail "seat_pass_errors did not move"

stop_daemon
pf_stop "$SRV" "$PF"

# --- steered: smtpd keeps port 25, the seat on 10025, sk_lookup sends it the unknown ----
PF2=$TMP/pf2
pf_seat_start "$SRV" "$SIP" "$PF2" steer
ns_wait_listen "$SRV" "$SIP" 25 || e2e_fail "smtpd does not listen on $SIP:25"
sed -e "s|^smtpscreen_seat_listen = .*|smtpscreen_seat_listen = $SIP:10025|" \
    -e "s|^smtpscreen_seat_service = .*|smtpscreen_seat_service = $PF2/spool/private/smtpd|" \
	"$TMP/screen.cf" >"$TMP/screen2.cf"
PF=$PF2		# delivered, smtpd_saw: this instance now
nsenter --net=/run/netns/$SRV "$SCR" host -i sseat_s0 -c "$TMP/screen2.cf" -s "$TMP/ctl.sock" \
	--log-file "$LOG" 2>"$TMP/daemon2.err" &
DPID=$!
e2e_wait_for 20 grep -q "running on sseat_s0" "$TMP/daemon2.err" ||
	e2e_fail "daemon (steered) did not start: $(cat "$TMP/daemon2.err")"
a0=$(stat seat_accepted)
# a first-contact client connects to port 25 and meets the seat
n0=$(delivered)
res=$(bot 14 good)
e2e_log ".14 good, steered: $res"
echo "$res" | grep -q "result=accepted sessions=1" || e2e_fail ".14 steered: $res"
grep -q "220-mx.example.test ESMTP" "$TMP/bot-14.err" || e2e_fail ".14 was not steered to the seat (no teaser)"
e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail ".14's mail not delivered"
# a pregreet bot is stopped in the seat, smtpd never sees it
res=$(bot 15 pregreet)
e2e_log ".15 pregreet, steered: $res"
echo "$res" | grep -Eq "result=(rejected|reset) " || e2e_fail ".15 steered pregreet: $res"
sleep 1
smtpd_saw 15 && e2e_fail "the steered pregreet bot reached smtpd"
# the pass cache (.10's pass, from the store) goes straight to smtpd: not one accept
a1=$(stat seat_accepted)
: >"$TMP/bot-10.err"
res=$(bot 10 good)
e2e_log ".10 cached, steered: $res"
echo "$res" | grep -q "result=accepted sessions=1" || e2e_fail ".10 cached steered: $res"
grep -q "220-" "$TMP/bot-10.err" && e2e_fail ".10 cached got a teaser: it went to the seat"
[ "$(stat seat_accepted)" -eq "$a1" ] || e2e_fail "the seat accepted a pass-cached client"
[ "$a1" -ge $((a0 + 2)) ] || e2e_fail "seat_accepted $a0 -> $a1 (want +2: .14, .15)"
smtpd_saw 10 || e2e_fail "smtpd never saw the cached .10"
# stopped: the steering goes with the daemon, port 25 is smtpd's again
stop_daemon
res=$(bot 16 good)
echo "$res" | grep -q "result=accepted sessions=1" || e2e_fail "after stop: $res"
grep -q "220-" "$TMP/bot-16.err" && e2e_fail "after stop: still steered to a seat"
e2e_log "PASS"
exit 0
