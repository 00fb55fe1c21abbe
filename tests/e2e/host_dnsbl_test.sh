#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_dnsbl_test.sh - host mode: a DNSBL answer slower than the client's
#                        session still stops a listed client before its body
#
# DESCRIPTION
#   Two namespaces: clients (hdn_cli, 198.18.67.10-.13) and the mail host (hdn_srv,
#   198.18.67.1: a private Postfix, plain smtpd and the discard sink; `smtpscreen
#   host` on its veth; tinydns.py as the DNSBL, on the host's loopback).
#   With the handshake hold a client meets smtpd only after the greet wait, and the
#   daemon asks the DNSBL only then: swaks reaches DATA in milliseconds. The zone
#   answers .11 (listed, 127.0.0.2) and .12 (not listed, NODATA) 400 ms late, .10 at
#   once (NXDOMAIN). Checks, postscreen_dnsbl_action = enforce:
#     - .10 and .12: delivered (.12's 354 waited for the answer and went on);
#     - .11: "DNSBL rank 1 for [198.18.67.11]:p" logged, swaks never gets the 354
#       (a RST in its place), nothing of its is delivered, and its next connection
#       is refused (blocked);
#     - counters: dnsbl_waits >= 2 (.11 and .12), dnsbl_released >= 1.
#   Before the daemon held the 354 for the answer, .11's mail was delivered.
#
# CONTRACT
#   host_dnsbl_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up namespaces, pins, processes (by PID), also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=host_dnsbl_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/hostd.sh"
set -u -o pipefail

BUILD=${1:?usage: host_dnsbl_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=hdn_srv
CLI=hdn_cli
PIN=/sys/fs/bpf/hdn_test
NET=198.18.67
SIP=$NET.1

e2e_init host_dnsbl
e2e_require_root
e2e_require_cmd postfix postconf nsenter swaks "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" hdn_s0 "$CLI" hdn_c0
ns_addr "$SRV" hdn_s0 "$SIP/24"
for i in 10 11 12 13; do ns_addr "$CLI" hdn_c0 "$NET.$i/24"; done

PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"
MAILLOG=$(pf_maillog "$PF")

cat >"$TMP/zone" <<ZEOF
11.67.18.198.dnsbl.hd.test A 127.0.0.2
11.67.18.198.dnsbl.hd.test DELAY 400
12.67.18.198.dnsbl.hd.test EXISTS
12.67.18.198.dnsbl.hd.test DELAY 400
ZEOF
DNS_PORT=$((20000 + $$ % 20000))
ns_tinydns "$SRV" "$DNS_PORT" "$TMP/zone" "$TMP"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 1s
postscreen_dnsbl_sites = dnsbl.hd.test
postscreen_dnsbl_action = enforce
smtpscreen_dnsbl_servers = 127.0.0.1:$DNS_PORT
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
CEOF
LOG=$TMP/smtpscreen.log

hd_start "$SRV" hdn_s0 "$TMP/daemon.err" -c "$TMP/screen.cf" -s "$TMP/ctl.sock" --log-file "$LOG"

# mail FROM - swaks from .FROM, sender from-FROM@example.org; transcript in swaks-FROM.log
mail() {
	ns_exec "$CLI" swaks --server "$SIP" --from "from-$1@example.org" --to u@example.test \
		--helo client.example.org --local-interface "$NET.$1" --timeout 20 \
		--body "DNSBL test from .$1" >"$TMP/swaks-$1.log" 2>&1
}
stat_of() { "$CTL" -s "$TMP/ctl.sock" stats 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }'; }

# --- not listed, answered at once and 400 ms late: delivered ------------------------
for i in 10 12; do
	mail "$i" || e2e_fail ".$i good mail failed: $(tail -5 "$TMP/swaks-$i.log")"
	e2e_wait_for 10 eval '[ "$(pf_sent "$PF" from-'"$i"'@example.org)" -ge 1 ]' ||
		e2e_fail ".$i's mail not delivered: $(tail -5 "$MAILLOG")"
done
e2e_alive "$DPID" || e2e_fail "the daemon died: $(tail -3 "$TMP/daemon.err")"

# --- listed, answered 400 ms late: stopped before its body --------------------------
mail 11 && e2e_fail ".11 (listed) was accepted: $(tail -8 "$TMP/swaks-11.log")"
e2e_log ".11 (listed, slow answer): $(grep -E '^ *(<|\*\*\*)' "$TMP/swaks-11.log" | tail -3 | tr '\n' ' ')"
grep -Eq "^ *<- +354 " "$TMP/swaks-11.log" && e2e_fail ".11 got the 354: $(tail -8 "$TMP/swaks-11.log")"
e2e_wait_for 5 grep -Eq "DNSBL rank 1 for \[$NET\.11\]:[0-9]+" "$LOG" ||
	e2e_fail "no DNSBL rank line for .11: $(tail -5 "$LOG")"
sleep 1
[ "$(pf_sent "$PF" from-11@example.org)" -eq 0 ] ||
	e2e_fail "the listed client's mail was delivered: $(grep -i 'from-11' "$MAILLOG" | tail -3)"
ns_tcp_connect "$CLI" "$NET.11" "$SIP" 25 3 && e2e_fail ".11 connected again after its listing"

# --- counters (published at most 10 s late) -----------------------------------------
e2e_wait_for 12 eval '[ "$(stat_of dnsbl_waits)" -ge 2 ]' ||
	e2e_fail "stats: dnsbl_waits '$(stat_of dnsbl_waits)', want >= 2"
[ "$(stat_of dnsbl_released)" -ge 1 ] ||
	e2e_fail "stats: dnsbl_released '$(stat_of dnsbl_released)', want >= 1"
grep -Eq "DNSBL rank [0-9]+ for \[$NET\.1[02]\]" "$LOG" && e2e_fail "a client not listed was ranked"
e2e_log "PASS"
