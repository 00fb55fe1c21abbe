#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_reply_ban_test.sh - reply bans on the inline appliance with Debian's
#                              Postfix behind it (issue 17)
#
# DESCRIPTION
#   Three namespaces as in inline_test.sh: clients (irb<PID>c, 198.18.61.10-.13),
#   the appliance (irb<PID>b, `smtpscreen inline` on two DPDK vdev ports) and the
#   mail server (irb<PID>s, 198.18.61.1: Postfix knowing the local users u, v, w; 550
#   5.1.1 for the others, lib/postfix.sh pf_users_start). smtpscreen_reply_ban_enable
#   = yes, harvest limit 8. Clients (lib/rcpt_client.py):
#     .10  good: one known and two unknown recipients, DATA, three times: delivered,
#          never banned
#     .11  harvest bot over sessions: 3 unknown recipients and QUIT (it passes), 3
#          more (PASS OLD: the appliance's fast path), then 14: banned at its 8th
#          unknown recipient in the third session, which is reset (a little after:
#          the ban is made on the control thread) before its end; BAN line; its next
#          SYN gets no connection (af_xdp: dropped in XDP, drop_block counter)
#     .12  harvest bot in one session (in its tests): after the 8th it gets the
#          appliance's 521 and a reset; verdict fail,reply_ban
#
# CONTRACT
#   inline_reply_ban_test.sh BUILD_DIR af_packet|af_xdp   (root). Exit 0 pass, 1 fail.
#   Cleans up namespaces, pins, processes (by PID), DPDK runtime files.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_reply_ban_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/dpdk.sh"
set -u -o pipefail

BUILD=${1:?usage: inline_reply_ban_test.sh BUILD_DIR af_packet|af_xdp}
PMD=${2:?usage: inline_reply_ban_test.sh BUILD_DIR af_packet|af_xdp}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
CLI=irb$$c
BOX=irb$$b
SRV=irb$$s
PREFIX=irb$$
PIN=/sys/fs/bpf/irb$$
SIP=198.18.61.1
NET=198.18.61

e2e_init "inline_reply_ban_$PMD"
e2e_require_root
case $PMD in af_packet | af_xdp) ;; *) e2e_fail "port type '$PMD': af_packet or af_xdp" ;; esac
e2e_require_cmd postfix nsenter ss ethtool "$SCR" "$CTL" "$PY"
if [ "$PMD" = af_xdp ]; then
	mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
fi
TMP=$E2E_TMP
e2e_cleanup_push "dk_runtime_cleanup '$PREFIX'"
e2e_cleanup_push "rm -rf '$PIN'"
if [ ! -d /sys/fs/bpf/xdp ]; then
	e2e_cleanup_push "rmdir /sys/fs/bpf/xdp 2>/dev/null || true"
fi

ns_create "$SRV"
ns_create "$BOX"
ns_create "$CLI"
ns_veth "$CLI" irc0 "$BOX" irbc0
ns_veth "$SRV" irs0 "$BOX" irbs0
dk_no_offload "$CLI" irc0
dk_no_offload "$BOX" irbc0 irbs0
dk_no_offload "$SRV" irs0
ns_addr "$SRV" irs0 "$SIP/24"
for i in 10 11 12 13; do ns_addr "$CLI" irc0 "$NET.$i/24"; done
for ns in "$CLI" "$BOX" "$SRV"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
done

PF=$TMP/pf
pf_users_start "$SRV" "$SIP" "$PF"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 2s
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_reply_ban_enable = yes
smtpscreen_reply_ban_harvest_limit = 8
CEOF
LOG=$TMP/smtpscreen.log
LIVE=$TMP/live.csv

mapfile -t EAL < <(dk_eal_args "$PMD" irbc0 irbs0 "$PREFIX")
SPID=
stop_scr() {
	[ -n "$SPID" ] || return 0
	e2e_kill_pid "$SPID" 20
	wait "$SPID" 2>/dev/null
	SPID=
	return 0
}
e2e_cleanup_push "stop_scr"
printf 'leak:librte_net_af_xdp.so\n' >"$TMP/lsan.supp"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TMP/lsan.supp" \
nsenter --net=/run/netns/$BOX "$SCR" inline -c "$TMP/screen.cf" --log "$LOG" \
	--verdicts "$LIVE" --pin-dir "$PIN" -s "$TMP/ctl.sock" -- "${EAL[@]}" \
	>"$TMP/inline.out" 2>"$TMP/inline.err" &
SPID=$!
e2e_wait_for 60 grep -q "smtpscreen: inline: ready" "$TMP/inline.err" || {
	e2e_alive "$SPID" || e2e_fail "smtpscreen inline exited: $(tail -n 20 "$TMP/inline.err")"
	e2e_fail "smtpscreen inline not ready after 60 s: $(tail -n 20 "$TMP/inline.err")"
}

client() {	# client FROM RCPT...
	local from=$1
	shift
	ns_exec "$CLI" "$PY" "$HERE/lib/rcpt_client.py" "$NET.$from" "$SIP" "$@" \
		2>>"$TMP/client.err"
}
syn() { ns_tcp_connect "$CLI" "$NET.$1" "$SIP" 25 3; }
ctr() { "$CTL" -s "$TMP/ctl.sock" stats 2>>"$TMP/ctl.err" | awk -v n="$1" '$1 == n { print $2 }'; }
xdp_ctr() { "$CTL" -s /nonexistent -p "$PIN" stats 2>>"$TMP/ctl.err" | awk -v n="$1" '$1 == n { print $2 }'; }
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$PF")"; }
good() {	# good TAG
	local n0 res
	n0=$(delivered)
	res=$(client 10 u nobody1 nobody2)
	echo "$res" | grep -q "result=done replies=220,250,250,250,550,550,354,250,221" ||
		e2e_fail "good client .10 ($1): $res"
	e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' || e2e_fail ".10's mail ($1) not delivered"
}

good first
# .11: two sessions that pass, then the one that crosses the limit
for k in 1 2; do
	res=$(client 11 "a$k" "b$k" "c$k")
	echo "$res" | grep -q "result=done replies=220,250,250,550,550,550,221" ||
		e2e_fail ".11 session $k: $res"
done
res=$(client 11 n1 n2 n3 n4 n5 n6 n7 n8 n9 n10 n11 n12 n13 n14)
e2e_log ".11 third session: $res"
# the ban is made on the control thread and reaches the worker a little
# later: the session is reset after its 8th unknown recipient (the 2nd of
# this session), before its 14th
echo "$res" | grep -Eq "result=(reset|closed) replies=220,250,250(,550){2,13}(,521)?$" ||
	e2e_fail ".11's third session not stopped after its 8th unknown recipient: $res"
e2e_wait_for 5 grep -Eq "BAN \[$NET\.11\]:[0-9]+ reason=harvest count=8 window=600s ttl=3600s action=drop\$" "$LOG" ||
	e2e_fail "no BAN line for .11: $(tail -20 "$LOG")"
res=$(client 12 n1 n2 n3 n4 n5 n6 n7 n8 n9 n10 n11 n12 n13 n14)
e2e_log ".12 harvest: $res"
echo "$res" | grep -Eq "result=(reset|closed) replies=220,250,250(,550){8,13}(,521)?$" ||
	e2e_fail ".12 not stopped after its 8th unknown recipient: $res"
e2e_wait_for 5 grep -Eq "BAN \[$NET\.12\]:[0-9]+ reason=harvest count=8 " "$LOG" ||
	e2e_fail "no BAN line for .12"
if [ "$PMD" = af_xdp ]; then
	before=$(xdp_ctr xdp_drop_block_packets)
fi
syn 11 && e2e_fail ".11 connected again after its ban"
syn 12 && e2e_fail ".12 connected again after its ban"
if [ "$PMD" = af_xdp ]; then
	after=$(xdp_ctr xdp_drop_block_packets)
	[ "${after:-0}" -gt "${before:-0}" ] || e2e_fail "drop_block counter ${before:-?} -> ${after:-?}"
fi
good second
syn 10 || e2e_fail "good client .10 blocked"
grep -q "BAN \[$NET\.10\]" "$LOG" && e2e_fail "good client .10 banned"
[ "$(ctr reply_bans)" = 2 ] || e2e_fail "reply_bans counter: $(ctr reply_bans)"
stop_scr
grep -q "^$NET.12,[0-9]*,$SIP,25,fail,reply_ban\$" "$LIVE" ||
	e2e_fail ".12's verdict: $(grep "^$NET.12," "$LIVE")"
[ "$(grep -c "^$NET.11,.*,pass,\$" "$LIVE")" -eq 3 ] ||
	e2e_fail ".11's three sessions (the third decided pass before its ban): $(grep "^$NET.11," "$LIVE")"
grep -q "^$NET.10,.*,fail," "$LIVE" && e2e_fail "good client .10 failed: $(grep "^$NET.10," "$LIVE")"
e2e_log "PASS"
exit 0
