#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_smuggling_test.sh - host mode's SMTP smuggling guard (XDP and TC) in front of
#                            Debian's Postfix with smtpd_forbid_bare_newline = no
#
# DESCRIPTION
#   Two namespaces: clients (shs_cli, 198.18.63.10-.14) and the mail host (shs_srv,
#   198.18.63.1: a private Postfix, plain smtpd and the discard sink, with
#   smtpd_forbid_bare_newline = no, so it takes "\n.\n" for the end of a message, what
#   SMTP smuggling (CVE-2023-51764) needs; `smtpscreen host` on its veth). Checks, guard
#   on (defaults: smtpscreen_smuggling_action = enforce, _ttl = 0):
#     - a message whose body has bare-LF lines is delivered, no SMUGGLING line (from
#       smtpbot and from swaks -ndf);
#     - a message that hides a second one after "\n.\n" is stopped (reset), logged
#       "SMTP SMUGGLING from [c]:p after DATA: \n.\nMAIL FROM:<...>", counted
#       (smuggling, smuggling_commands, smuggling_stopped, host_smug_drop_packets), and
#       neither message is delivered; the server-side capture (taken after XDP) never
#       holds the smuggled MAIL FROM;
#     - the same client delivers good mail right after (no block by default);
#     - a smuggler that puts an RSET line between "\n.\n" and its MAIL FROM (.14) is
#       stopped the same way: the guard matches every line after a sequence up to the
#       message's end, not just the next one;
#   then, after a reload with smtpscreen_smuggling_enable = no, the same attempt gets
#   the smuggled message delivered: the server is really vulnerable, so the check
#   above proves the guard.
#
# CONTRACT
#   host_smuggling_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up namespaces, pins, processes, also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=host_smuggling_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/hostd.sh"
. "$HERE/lib/capture.sh"
. "$HERE/lib/smuggling.sh"
set -u -o pipefail

BUILD=${1:?usage: host_smuggling_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=shs_srv
CLI=shs_cli
PIN=/sys/fs/bpf/shs_test
NET=198.18.63
SIP=$NET.1

e2e_init host_smuggling
e2e_require_root
e2e_require_cmd postfix postconf nsenter swaks tcpdump tshark "$SCR" "$CTL" "$PY"
[ "$(postconf -d smtpd_forbid_bare_newline 2>/dev/null)" = "smtpd_forbid_bare_newline = no" ] ||
	e2e_fail "this Postfix has no smtpd_forbid_bare_newline = no default: $(postconf -d mail_version)"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" shs_s0 "$CLI" shs_c0
ns_addr "$SRV" shs_s0 "$SIP/24"
for i in 10 11 12 13 14; do ns_addr "$CLI" shs_c0 "$NET.$i/24"; done

# --- the vulnerable server ------------------------------------------------------
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF" "smtpd_forbid_bare_newline = no"
MAILLOG=$(pf_maillog "$PF")

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 1s
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
CEOF
LOG=$TMP/smtpscreen.log

cap_start "$SRV" shs_s0 "$TMP/server.pcap" "tcp port 25"

hd_start "$SRV" shs_s0 "$TMP/daemon.err" -c "$TMP/screen.cf" -s "$TMP/ctl.sock" --log-file "$LOG"

stat_of() { "$CTL" -s "$TMP/ctl.sock" stats 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }'; }

# --- good mail with bare LFs in its body is delivered ------------------------------
smug_bare_lf_delivered
[ "$(stat_of host_smug_data_packets)" -ge 1 ] ||
	e2e_fail "the guard did not follow .10's DATA: $("$CTL" -s "$TMP/ctl.sock" stats | grep smug)"

# --- a smuggled message is stopped --------------------------------------------------
smug_stopped 11 smuggling ceo-on@example.test '\\n\.\\nMAIL FROM:<ceo-on@example.test>'
for kv in "smuggling 1" "smuggling_commands 1" "smuggling_stopped 1"; do
	e2e_wait_for 5 eval '[ "$(stat_of '"${kv% *}"')" = '"${kv#* }"' ]' ||
		e2e_fail "stats: no '$kv': $("$CTL" -s "$TMP/ctl.sock" stats | grep smug)"
done
[ "$(stat_of host_smug_drop_packets)" -ge 1 ] || e2e_fail "no segment dropped by the guard"
# the same client is not blocked (smtpscreen_smuggling_ttl = 0)
res=$(smug_bot 11 good --from after@example.org)
echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".11 good mail after the stop: $res"
e2e_wait_for 10 eval '[ "$(smug_delivered after@example.org)" -ge 1 ]' || e2e_fail ".11's good mail not delivered"

# --- an RSET line between the sequence and the smuggled commands hides nothing --------
smug_stopped 14 smuggling_rset ceo-rset@example.test '\\n\.\\nRSET\\r\\nMAIL FROM:<ceo-rset@'
for kv in "smuggling_commands 2" "smuggling_stopped 2"; do
	e2e_wait_for 5 eval '[ "$(stat_of '"${kv% *}"')" = '"${kv#* }"' ]' ||
		e2e_fail "stats: no '$kv': $("$CTL" -s "$TMP/ctl.sock" stats | grep smug)"
done

# --- guard off: the same attempt gets its smuggled message delivered -----------------
smug_guard_off
hd_stop
sleep 0.5
cap_stop >/dev/null || e2e_fail "server-side capture empty"
smug_capture_clean "$TMP/server.pcap"
e2e_log "PASS"
exit 0
