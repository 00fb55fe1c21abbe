#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_test.sh - `smtpscreen host` end to end: real Postfix smtpd behind the daemon
#
# DESCRIPTION
#   Mail host namespace schost_srv (198.18.50.1, veth schost_s0) runs a private Postfix
#   with a plain smtpd on port 25 (no postscreen; accepted mail goes to the discard
#   transport, counted in the instance's maillog) and `smtpscreen host -i schost_s0`
#   started with nsenter --net (so /sys/fs/bpf stays visible; `ip netns exec` would
#   remount /sys). Client namespace schost_cli (veth schost_c0) has 198.18.50.10-.30.
#   Checks: good mail delivered; pregreet, bare newline, pipelining, GET, CONNECT,
#   Subject:, non-FQDN HELO and a deny-listed source stopped, logged in postscreen's
#   format, and their next SYN dropped in XDP (counters); a good client's second
#   session skips the tests (no new samples, allow entry); kill -9 and restart keeps
#   blocks and passes (a restart with a bad access list before it exits 2 with
#   file:line and leaves the crashed instance's program and pins); a config error is refused with file:line at start, and on
#   SIGHUP the running instance keeps screening.
#
# CONTRACT
#   host_test.sh BUILD_DIR   (root). SMTPSCREEN=path overrides BUILD_DIR/dataplane/smtpscreen.
#   Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=host_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/rbldnsd.sh"

BUILD=${1:?usage: host_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=schost_srv
CLI=schost_cli
PIN=/sys/fs/bpf/schost_test
SIP=198.18.50.1

e2e_init host
e2e_require_root
e2e_require_cmd postfix swaks nsenter ss bpftool "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" schost_s0 "$CLI" schost_c0
ns_addr "$SRV" schost_s0 "$SIP/24"
ns_addr "$CLI" schost_c0 198.18.50.10/24
for i in $(seq 11 30); do ns_addr "$CLI" schost_c0 "198.18.50.$i/24"; done

# --- Postfix: plain smtpd, discard sink --------------------------------------
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"

# --- a DNSBL (Debian's rbldnsd) on the mail host's loopback: .18 is listed ----
rbl_start "$SRV" "$TMP/rbl" dnsbl.host.test 198.18.50.18

# --- smtpscreen config (its own file: Postfix's stays free of our names) -----
cat > "$TMP/access.cidr" <<'CEOF'
198.18.50.20/32 reject
CEOF
write_conf() {
	cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks, cidr:$TMP/access.cidr
postscreen_denylist_action = drop
postscreen_greet_action = enforce
postscreen_greet_wait = 2s
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
postscreen_bare_newline_action = enforce
smtpscreen_helo_enable = yes
smtpscreen_block_ttl = 3600
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
postscreen_dnsbl_sites = dnsbl.host.test=127.0.0.2*3
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = drop
smtpscreen_dnsbl_servers = 127.0.0.1:$RBL_PORT
smtpscreen_metrics_listen = 127.0.0.1:$((RBL_PORT + 1))
CEOF
}
write_conf
LOG=$TMP/smtpscreen.log
DPID=
start_daemon() {
	local tag=$1
	: > "$TMP/daemon-$tag.err"
	nsenter --net=/run/netns/$SRV "$SCR" host -i schost_s0 -c "$TMP/screen.cf" -s "$TMP/ctl.sock" \
		--log-file "$LOG" 2>"$TMP/daemon-$tag.err" &
	DPID=$!
	e2e_wait_for 20 grep -q "running on schost_s0" "$TMP/daemon-$tag.err" ||
		e2e_fail "daemon ($tag) did not start: $(cat "$TMP/daemon-$tag.err")"
}
stop_daemon() {
	[ -n "$DPID" ] && e2e_alive "$DPID" && { kill -TERM "$DPID"; e2e_wait_for 10 eval "! e2e_alive $DPID"; }
	DPID=
	return 0
}
e2e_cleanup_push 'stop_daemon; nsenter --net=/run/netns/'$SRV' ip link set schost_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/'$SRV' tc qdisc del dev schost_s0 clsact 2>/dev/null; true'

# --- a config error is refused with file:line -------------------------------
printf 'postscreen_greet_wait = 2x\n' > "$TMP/bad.cf"
out=$(nsenter --net=/run/netns/$SRV "$SCR" host -i schost_s0 -c "$TMP/bad.cf" -s "$TMP/ctl2.sock" 2>&1)
rc=$?
[ $rc -eq 2 ] || e2e_fail "bad config: exit $rc, want 2 ($out)"
echo "$out" | grep -q "bad.cf:1: " || e2e_fail "bad config message lacks file:line: $out"
out=$(nsenter --net=/run/netns/$SRV "$SCR" host -i schost_nope -c "$TMP/screen.cf" -s "$TMP/ctl2.sock" 2>&1) &&
	e2e_fail "missing interface accepted"
echo "$out" | grep -q "schost_nope" || e2e_fail "missing interface message: $out"

start_daemon 1

# bot FROM BEHAVIOUR [ARGS] - run smtpbot from 198.18.50.FROM, print its RESULT
bot() {
	local from=$1 b=$2
	shift 2
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "198.18.50.$from" \
		--behaviour "$b" --attempts 1 --timeout 8 "$@" 2>>"$TMP/bot.err" | tail -n 1
}
# syn FROM - 0 when a TCP connection from .FROM to port 25 completes in 2 s
syn() {
	ns_tcp_connect "$CLI" "198.18.50.$1" "$SIP" 25 2
}
# ctr NAME - a counter from smtpscreenctl stats
ctr() { "$CTL" -p "$PIN" stats | awk -v n="$1" '$1 == n { print $2 }'; }
# host_ctr INDEX - packets of a host-mode counter (enum scr_host_ctr), summed over CPUs
host_ctr() {
	bpftool -j map lookup pinned "$PIN/host_ctr" key "$1" 0 0 0 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
vals = d.get("values") or d.get("formatted", {}).get("values")
tot = 0
for v in vals:
    x = v.get("value")
    tot += x["packets"] if isinstance(x, dict) else int.from_bytes(bytes(int(b, 16) for b in x[:8]), "little")
print(tot)'
}
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$PF")"; }

# --- good mail ----------------------------------------------------------------
n0=$(delivered)
ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
	--local-interface 198.18.50.10 --helo client.example.org --timeout 20 \
	>"$TMP/swaks1.log" 2>&1 || e2e_fail "swaks good mail failed: $(tail -5 "$TMP/swaks1.log")"
e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' ||
	e2e_fail "good mail not delivered: $(tail -5 "$(pf_maillog "$PF")")"
e2e_wait_for 5 grep -q "PASS NEW \[198.18.50.10\]" "$LOG" || e2e_fail "no PASS NEW for .10: $(cat "$LOG")"

# --- bots -----------------------------------------------------------------------
declare -A BOT_LOG=(
	[11]="PREGREET [0-9]+ after [0-9.]+ from \[198.18.50.11\]"
	[12]="BARE NEWLINE from \[198.18.50.12\]"
	[13]="COMMAND PIPELINING from \[198.18.50.13\]"
	[14]="NON-SMTP COMMAND from \[198.18.50.14\]:[0-9]+ after CONNECT: GET"
	[15]="NON-SMTP COMMAND from \[198.18.50.15\]:[0-9]+ after CONNECT: CONNECT"
	[16]="NON-SMTP COMMAND from \[198.18.50.16\]:[0-9]+ after CONNECT: Subject:"
	[17]="HELO VIOLATION from \[198.18.50.17\]"
	[18]="DNSBL rank 3 for \[198.18.50.18\]"
)
# .18 behaves well but rbldnsd lists it: the answer stops it at its next frame
declare -A BOT_B=([11]=pregreet [12]=bare_newline [13]=pipelining [14]=get [15]=connect
	[16]=subject [17]=good [18]=good)
n0=$(delivered)
for i in 11 12 13 14 15 16 17 18; do
	args=()
	[ "$i" = 17 ] && args=(--helo bot)
	res=$(bot "$i" "${BOT_B[$i]}" "${args[@]}")
	e2e_log ".$i ${BOT_B[$i]}: $res"
	echo "$res" | grep -q "result=accepted" && e2e_fail ".$i ${BOT_B[$i]} delivered mail: $res"
	# The session is ended: the bot sees our RST, never a connection that
	# silently stops answering. Postfix's smtpd itself says goodbye to
	# GET/CONNECT (smtpd_forbidden_commands) and may close first.
	ends="reset"
	case ${BOT_B[$i]} in
	get|connect|subject) ends="reset|closed|answered" ;;
	# the handshake hold answers a pregreeter as postscreen does: 521, then RST
	pregreet) ends="rejected" ;;
	esac
	echo "$res" | grep -Eq "result=($ends) " ||
		e2e_fail ".$i ${BOT_B[$i]}: session not ended with a RST: $res"
	e2e_wait_for 5 grep -Eq "${BOT_LOG[$i]}" "$LOG" ||
		e2e_fail ".$i: no log line /${BOT_LOG[$i]}/: $(tail -20 "$LOG")"
done
sleep 1
[ "$(delivered)" -eq "$n0" ] || e2e_fail "a bot's mail was delivered"
# smtpscreen_host_hold = handshake (the default): the pregreeter talked before
# its handshake completed, so smtpd never had a connection from it
grep -q "connect from [^ ]*\[198\.18\.50\.11\]" "$(pf_maillog "$PF")" &&
	e2e_fail "the pregreet bot reached smtpd: $(grep '198\.18\.50\.11' "$(pf_maillog "$PF")" | head -3)"
[ "$(host_ctr 17)" -ge 1 ] ||	# SCR_HOST_C_HS_PREGREET
	e2e_fail "no pregreet caught in the handshake hold"

# next SYN of each stopped bot: dropped in XDP
before=$(ctr xdp_drop_block_packets)
for i in 11 12 13 14 15 16 17 18; do
	syn "$i" && e2e_fail ".$i (${BOT_B[$i]}) connected again after its failure"
done
after=$(ctr xdp_drop_block_packets)
[ "$after" -ge $((before + 8)) ] || e2e_fail "drop_block counter $before -> $after (want +8)"
"$CTL" -p "$PIN" block list | grep -q '^198.18.50.11/32' || e2e_fail "no block entry for .11"

# deny-listed source: dropped at the SYN by the permanent list
before=$(ctr xdp_drop_reject_packets)
res=$(bot 20 denylisted)
echo "$res" | grep -q "result=accepted" && e2e_fail "deny-listed .20 delivered: $res"
syn 20 && e2e_fail "deny-listed .20 connected"
after=$(ctr xdp_drop_reject_packets)
[ "$after" -gt "$before" ] || e2e_fail "drop_reject counter $before -> $after"

# --- metrics on the loopback port ------------------------------------------------
sleep 1.5	# rendered once a second
mx=$(ip netns exec "$SRV" curl -sS --max-time 5 "http://127.0.0.1:$((RBL_PORT + 1))/metrics" 2>&1) ||
	e2e_fail "metrics: $mx"
for m in 'smtpscreen_test_failures_total\{test="pregreet"\} [1-9]' \
	'smtpscreen_test_failures_total\{test="dnsbl"\} [1-9]' \
	'smtpscreen_xdp_packets_total\{reason="drop_block"\} [1-9]' \
	'smtpscreen_dnsbl_lookups_total [1-9]' 'smtpscreen_samples_total [1-9]' \
	'smtpscreen_verdicts_total\{verdict="pass"\} [1-9]'; do
	echo "$mx" | grep -Eq "^$m" || e2e_fail "metrics lack /$m/: $(echo "$mx" | head -30)"
done

# --- a good client's second session skips the tests ----------------------------
"$CTL" -p "$PIN" allow list | grep -q '^198.18.50.10/32' || e2e_fail "no allow entry for .10"
s_before=$(host_ctr 0)	# SCR_HOST_C_SAMPLE_IN
n0=$(delivered)
ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
	--local-interface 198.18.50.10 --helo client.example.org --timeout 20 \
	>"$TMP/swaks2.log" 2>&1 || e2e_fail "second session failed: $(tail -5 "$TMP/swaks2.log")"
e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail "second mail not delivered"
s_after=$(host_ctr 0)
[ -n "$s_before" ] && [ "$s_before" = "$s_after" ] ||
	e2e_fail "second session of .10 was sampled ($s_before -> $s_after)"

# --- SIGHUP with a broken config keeps the running instance --------------------
printf 'postscreen_greet_wait = 2x\n' >> "$TMP/screen.cf"
kill -HUP "$DPID"
e2e_wait_for 5 grep -q "reload: .*screen.cf:[0-9]*: " "$LOG" || e2e_fail "reload error not logged: $(tail -5 "$LOG")"
e2e_alive "$DPID" || e2e_fail "daemon died on a bad reload"
res=$(bot 21 pregreet)
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[198.18.50.21\]" "$LOG" ||
	e2e_fail "not screening after the failed reload"
write_conf
kill -HUP "$DPID"
e2e_wait_for 5 grep -q "reload: $TMP/screen.cf" "$LOG" || e2e_fail "good reload not logged"

# --- kill -9 and restart: blocks and passes kept -------------------------------
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
# a restart with a bad access list (read beside the BPF load) exits 2 with
# file:line and leaves the crashed instance's program and pins as they were
xid=$(ip -n "$SRV" link show schost_s0 | grep -o 'prog/xdp id [0-9]*')
[ -n "$xid" ] && [ -e "$PIN/prog" ] || e2e_fail "no program or pins left by kill -9"
printf '198.18.50.20/32 reject\n198.18.50.300/32 reject\n' > "$TMP/bad.cidr"
sed 's|cidr:[^ ]*access.cidr|cidr:'"$TMP"'/bad.cidr|' "$TMP/screen.cf" > "$TMP/badlist.cf"
out=$(nsenter --net=/run/netns/$SRV "$SCR" host -i schost_s0 -c "$TMP/badlist.cf" -s "$TMP/ctl2.sock" 2>&1)
rc=$?
[ $rc -eq 2 ] || e2e_fail "bad access list: exit $rc, want 2 ($out)"
echo "$out" | grep -q "bad.cidr:2: " || e2e_fail "bad access list message lacks file:line: $out"
[ "$(ip -n "$SRV" link show schost_s0 | grep -o 'prog/xdp id [0-9]*')" = "$xid" ] ||
	e2e_fail "bad access list: the crashed instance's program changed ($xid)"
[ -e "$PIN/prog" ] || e2e_fail "bad access list: the crashed instance's pins removed"
start_daemon 2
grep -q "blocks and [0-9]* passes loaded" "$LOG" || e2e_fail "no load line after restart"
for i in 11 12 17 21; do
	syn "$i" && e2e_fail ".$i connected after the restart (block lost)"
done
"$CTL" -p "$PIN" allow list | grep -q '^198.18.50.10/32' || e2e_fail "allow entry for .10 lost on restart"
n0=$(delivered)
ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
	--local-interface 198.18.50.10 --helo client.example.org --timeout 20 \
	>"$TMP/swaks3.log" 2>&1 || e2e_fail "passed client failed after restart: $(tail -5 "$TMP/swaks3.log")"
e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail "mail after restart not delivered"

stop_daemon
[ -e "$PIN" ] && e2e_fail "pins left after SIGTERM: $(ls "$PIN")"
ip -n "$SRV" link show schost_s0 | grep -q 'prog/xdp' && e2e_fail "XDP program left after SIGTERM"
e2e_log "PASS"
exit 0
