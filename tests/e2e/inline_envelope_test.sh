#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_envelope_test.sh - envelope checks (smtpscreen_sender_restrictions) on the
#                             inline appliance, in front of Debian's Postfix
#
# DESCRIPTION
#   The three namespaces of inline_smuggling_test.sh (dk_mail_topology): clients
#   en<PID>c (198.18.63.10-.20), the appliance en<PID>b (`smtpscreen inline`,
#   af_packet ports), Postfix's discard sink en<PID>s (198.18.63.1), which itself
#   takes any sender. smtpscreen_sender_restrictions = reject_non_fqdn_sender.
#   Checks:
#     - enforce: a client with MAIL FROM:<alice> (not fully qualified) gets smtpd's
#       "504 5.5.2 <alice>: ..." to its RCPT TO (the appliance kept that frame until
#       the control thread answered), then a RST; its message is not delivered; the log has smtpd's
#       "NOQUEUE: reject: RCPT from [c]:p: 504 5.5.2 <alice>: Sender address
#       rejected: need fully-qualified address; from=<alice> ..." and the live CSV
#       fail,envelope; good mail (an FQDN sender) is delivered;
#     - a sender in a domain the appliance's DNS (tinydns.py in its namespace) does
#       not know gets "450 4.1.8 <carol@nx.invalid>: ... Domain not found": the
#       RCPT TO waited for the lookup;
#     - warn_if_reject (after a reload): the same client's message is delivered and
#       only "NOQUEUE: reject_warning: ..." is logged.
#
# CONTRACT
#   inline_envelope_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up namespaces, processes (by PID), DPDK runtime files, also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_envelope_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/dpdk.sh"
set -u -o pipefail

BUILD=${1:?usage: inline_envelope_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
CLI=en$$c
BOX=en$$b
SRV=en$$s
PREFIX=en$$
PIN=/sys/fs/bpf/en$$
SIP=198.18.63.1
NET=198.18.63

e2e_init inline_envelope
e2e_require_root
e2e_require_cmd postfix postconf nsenter "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
e2e_cleanup_push "dk_runtime_cleanup '$PREFIX'"
e2e_cleanup_push "rm -rf '$PIN'"

dk_mail_topology "$CLI" "$BOX" "$SRV" "$SIP" "$NET" 10 20
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"
MAILLOG=$(pf_maillog "$PF")

# the resolver the appliance asks (reject_unknown_sender_domain): in its namespace
printf 'example.org MX mx.example.org\nexample.test MX mx.example.test\n' >"$TMP/zone"
DNS_PORT=$((20000 + $$ % 20000))
ns_tinydns "$BOX" "$DNS_PORT" "$TMP/zone" "$TMP"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 1s
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_dnsbl_servers = 127.0.0.1:$DNS_PORT
smtpscreen_envelope_timeout = 2s
smtpscreen_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain
CEOF
LOG=$TMP/smtpscreen.log
LIVE=$TMP/live.csv

mapfile -t EAL < <(dk_eal_args af_packet smbc0 smbs0 "$PREFIX")
stop_scr() {
	[ -n "$DK_INLINE_PID" ] || return 0
	e2e_kill_pid "$DK_INLINE_PID" 20
	wait "$DK_INLINE_PID" 2>/dev/null
	DK_INLINE_PID=
	return 0
}
e2e_cleanup_push "stop_scr"
dk_inline_start "$BOX" "" "$TMP/inline.out" "$TMP/inline.err" \
	"$SCR" inline -c "$TMP/screen.cf" --log "$LOG" --verdicts "$LIVE" \
	--pin-dir "$PIN" -s "$TMP/ctl.sock" -- "${EAL[@]}"

# bot FROM SENDER - smtpbot's good client from .FROM with MAIL FROM:<SENDER>
bot() {
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$1" \
		--behaviour good --from "$2" --attempts 1 --timeout 10 2>>"$TMP/bot.err" |
		tail -n 2 | tr '\n' ' '
}

# --- good mail is delivered ------------------------------------------------------
res=$(bot 10 good@example.org)
e2e_log ".10 good: $res"
echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".10 good mail not accepted: $res"
e2e_wait_for 10 eval '[ "$(pf_sent "$PF" good@example.org)" -ge 1 ]' ||
	e2e_fail "good mail not delivered: $(tail -5 "$MAILLOG")"

# --- enforce: a non-FQDN sender is stopped, nothing delivered ----------------------
res=$(bot 11 alice)
e2e_log ".11 MAIL FROM:<alice> (enforce): $res"
echo "$res" | grep -q "result=accepted" && e2e_fail ".11 non-FQDN sender accepted: $res"
echo "$res" | grep -Eq "RESULT .*result=(rejected|reset|closed) " || e2e_fail ".11 not stopped: $res"
# the RCPT TO waited for the answer: the client got smtpd's reply, then a RST
echo "$res" | grep -Eq "SESSION .*replies=220,250,250,504 " || e2e_fail ".11 did not get the 504: $res"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.11\]:[0-9]+: 504 5\.5\.2 <alice>: Sender address rejected: need fully-qualified address; from=<alice> to=<[^>]*> proto=ESMTP helo=<[^>]*>\$" "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .11: $(tail -5 "$LOG")"
e2e_wait_for 5 grep -Eq "^$NET\.11,[0-9]+,$SIP,25,fail,envelope\$" "$LIVE" ||
	e2e_fail "no fail,envelope row for .11: $(grep "^$NET.11," "$LIVE")"
grep -q "NOQUEUE: reject: RCPT from \[$NET\.10\]" "$LOG" && e2e_fail "good mail rejected"

# --- enforce: a sender domain DNS does not know (NXDOMAIN) --------------------------
res=$(bot 13 carol@nx.invalid)
e2e_log ".13 MAIL FROM:<carol@nx.invalid> (enforce): $res"
echo "$res" | grep -Eq "SESSION .*replies=220,250,250,450 " || e2e_fail ".13 did not get the 450: $res"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.13\]:[0-9]+: 450 4\.1\.8 <carol@nx\.invalid>: Sender address rejected: Domain not found; " "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .13: $(tail -5 "$LOG")"

# --- warn_if_reject: logged only, delivered ---------------------------------------
sed -i 's/^smtpscreen_sender_restrictions = .*/smtpscreen_sender_restrictions = warn_if_reject reject_non_fqdn_sender, reject_unknown_sender_domain/' \
	"$TMP/screen.cf"
rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) || e2e_fail "reload refused: $rl"
res=$(bot 12 bob)
e2e_log ".12 MAIL FROM:<bob> (warn_if_reject): $res"
echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".12 not accepted under warn_if_reject: $res"
e2e_wait_for 10 eval '[ "$(pf_sent "$PF" "bob@[^>]*")" -ge 1 ]' ||
	e2e_fail "warn_if_reject: the message was not delivered: $(tail -5 "$MAILLOG")"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject_warning: RCPT from \[$NET\.12\]:[0-9]+: 504 5\.5\.2 <bob>: " "$LOG" ||
	e2e_fail "no reject_warning line for .12: $(tail -5 "$LOG")"
grep -q "NOQUEUE: reject: RCPT from \[$NET\.12\]" "$LOG" && e2e_fail ".12 rejected under warn_if_reject"
[ "$(pf_sent "$PF" 'alice@[^>]*')" -eq 0 ] || e2e_fail "enforce: alice's message was delivered"

st=$("$CTL" -s "$TMP/ctl.sock" stats 2>&1) || e2e_fail "smtpscreenctl stats: $st"
echo "$st" | grep -qx "envelope_rejects 2" || e2e_fail "stats: $(echo "$st" | grep '^envelope')"
echo "$st" | grep -qx "envelope_stopped 2" || e2e_fail "stats: $(echo "$st" | grep '^envelope')"
echo "$st" | grep -qx "envelope_wait_stopped 2" || e2e_fail "stats: $(echo "$st" | grep '^envelope')"
dk_inline_stop "$DK_INLINE_PID" "$TMP/inline.out" "$TMP/inline.err"
DK_INLINE_PID=
e2e_log "PASS"
exit 0
