#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_smuggling_test.sh - the SMTP smuggling guard on the inline appliance, in
#                              front of Debian's Postfix with smtpd_forbid_bare_newline = no
#
# DESCRIPTION
#   Three namespaces as in inline_test.sh: clients (sm<PID>c, 198.18.62.10-.20/24), the
#   appliance (sm<PID>b, `smtpscreen inline`, af_packet ports) and the mail server
#   (sm<PID>s, 198.18.62.1, a private Postfix with plain smtpd and the discard sink,
#   smtpd_forbid_bare_newline = no: it takes "\n.\n" for the end of a message, the
#   behaviour SMTP smuggling (CVE-2023-51764) needs). Checks, guard on (defaults:
#   smtpscreen_smuggling_action = enforce, _ttl = 0):
#     - a message whose body has bare-LF lines is delivered, with no SMUGGLING line
#       (from smtpbot and from swaks -ndf);
#     - a message that hides a second one after "\n.\n" is stopped (RST), logged
#       "SMTP SMUGGLING from [c]:p after DATA: \n.\nMAIL FROM:<...>", written as
#       fail,smuggling in the live CSV, and the smuggled message is not delivered;
#       the server-side capture never holds its smuggled MAIL FROM;
#     - so is one with an RSET line between "\n.\n" and its MAIL FROM (.14);
#     - the same client delivers good mail right after (no block by default);
#   then, after a reload with smtpscreen_smuggling_enable = no, the same smuggling
#   client gets the smuggled message delivered: the server in this test is really
#   vulnerable, so the check above proves the guard.
#
# CONTRACT
#   inline_smuggling_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up namespaces, processes (by PID), DPDK runtime files, also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_smuggling_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/capture.sh"
. "$HERE/lib/dpdk.sh"
. "$HERE/lib/smuggling.sh"
set -u -o pipefail

BUILD=${1:?usage: inline_smuggling_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
CLI=sm$$c
BOX=sm$$b
SRV=sm$$s
PREFIX=sm$$
PIN=/sys/fs/bpf/sm$$
SIP=198.18.62.1
NET=198.18.62

e2e_init inline_smuggling
e2e_require_root
e2e_require_cmd postfix postconf swaks nsenter tcpdump tshark "$SCR" "$CTL" "$PY"
[ "$(postconf -d smtpd_forbid_bare_newline 2>/dev/null)" = "smtpd_forbid_bare_newline = no" ] ||
	e2e_fail "this Postfix has no smtpd_forbid_bare_newline = no default: $(postconf -d mail_version)"
TMP=$E2E_TMP
e2e_cleanup_push "dk_runtime_cleanup '$PREFIX'"
e2e_cleanup_push "rm -rf '$PIN'"

# --- topology -----------------------------------------------------------------
dk_mail_topology "$CLI" "$BOX" "$SRV" "$SIP" "$NET" 10 20

# --- the vulnerable server ------------------------------------------------------
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF" "smtpd_forbid_bare_newline = no"
MAILLOG=$(pf_maillog "$PF")

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 1s
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
CEOF
LOG=$TMP/smtpscreen.log
LIVE=$TMP/live.csv

cap_start "$SRV" sms0 "$TMP/server.pcap" "tcp port 25"

mapfile -t EAL < <(dk_eal_args af_packet smbc0 smbs0 "$PREFIX")
SPID=
stop_scr() {
	[ -n "$SPID" ] || return 0
	e2e_kill_pid "$SPID" 20
	wait "$SPID" 2>/dev/null
	SPID=
	return 0
}
e2e_cleanup_push "stop_scr"
nsenter --net=/run/netns/$BOX "$SCR" inline -c "$TMP/screen.cf" --log "$LOG" \
	--verdicts "$LIVE" --pin-dir "$PIN" -s "$TMP/ctl.sock" -- "${EAL[@]}" \
	>"$TMP/inline.out" 2>"$TMP/inline.err" &
SPID=$!
e2e_wait_for 60 grep -q "smtpscreen: inline: ready" "$TMP/inline.err" || {
	e2e_alive "$SPID" || e2e_fail "smtpscreen inline exited: $(tail -n 20 "$TMP/inline.err")"
	e2e_fail "smtpscreen inline not ready after 60 s: $(tail -n 20 "$TMP/inline.err")"
}

# --- good mail with bare LFs in its body is delivered ------------------------------
smug_bare_lf_delivered

# stopped FROM BEHAVIOUR SMUGGLE_FROM TEXT - smug_stopped, and a fail,smuggling row
stopped() {
	smug_stopped "$@"
	e2e_wait_for 5 grep -Eq "^$NET\.$1,[0-9]+,$SIP,25,fail,smuggling\$" "$LIVE" ||
		e2e_fail "no fail,smuggling row for .$1: $(grep "^$NET.$1," "$LIVE")"
}

# --- a smuggled message is stopped, also behind an RSET line ----------------------
stopped 11 smuggling ceo-on@example.test '\\n\.\\nMAIL FROM:<ceo-on@example.test>'
stopped 14 smuggling_rset ceo-rset@example.test '\\n\.\\nRSET\\r\\nMAIL FROM:<ceo-rset@'
# the same client is not blocked (smtpscreen_smuggling_ttl = 0)
res=$(smug_bot 11 good --from after@example.org)
echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".11 good mail after the stop: $res"
e2e_wait_for 10 eval '[ "$(smug_delivered after@example.org)" -ge 1 ]' || e2e_fail ".11's good mail not delivered"

# --- guard off: the same attempt gets its smuggled message delivered -----------------
smug_guard_off

st=$("$CTL" -s "$TMP/ctl.sock" stats 2>&1) || e2e_fail "smtpscreenctl stats: $st"
for kv in "smuggling 2" "smuggling_commands 2" "smuggling_stopped 2"; do
	echo "$st" | grep -qx "$kv" || e2e_fail "stats: no '$kv': $(echo "$st" | grep '^smuggling')"
done
dk_inline_stop "$SPID" "$TMP/inline.out" "$TMP/inline.err"
SPID=
sleep 0.5
cap_stop >/dev/null || e2e_fail "server-side capture empty"
smug_capture_clean "$TMP/server.pcap"
e2e_log "PASS"
exit 0
