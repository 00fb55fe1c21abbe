#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_envelope_test.sh - envelope checks (smtpscreen_sender_restrictions) in host
#                           mode, in front of Debian's Postfix
#
# DESCRIPTION
#   Two namespaces: clients (hen_cli, 198.18.66.10-.15) and the mail host (hen_srv,
#   198.18.66.1: a private Postfix, plain smtpd and the discard sink, which itself
#   takes any sender; `smtpscreen host` on its veth; tinydns.py, the resolver the
#   daemon asks for reject_unknown_sender_domain).
#   smtpscreen_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain.
#   Checks, with swaks:
#     - good mail (an FQDN sender) is delivered, no NOQUEUE line;
#     - enforce: MAIL FROM:<alice> (not fully qualified): smtpd takes the RCPT TO (a
#       host cannot keep it from smtpd), but its 354 waits for the answer and the
#       client gets smtpd's "504 5.5.2 <alice>: Sender address rejected: need
#       fully-qualified address" in its place, then a RST; nothing is delivered; the
#       log has smtpd's "NOQUEUE: reject: RCPT from [c]:p: 504 5.5.2 <alice>: ...";
#     - enforce, the answer before the 354: a client (.14, MAIL FROM:<dave>) that
#       waits 3 s before DATA while another session wakes the daemon: the reject
#       waits for its 354 and replaces it (envelope_waits counts only the other
#       session's 354);
#     - a sender domain the resolver does not know (NXDOMAIN): "450 4.1.8
#       <carol@nx.invalid>: ... Domain not found" (the 354 waited for the lookup);
#     - warn_if_reject (after a reload): the same kind of sender is delivered and only
#       "NOQUEUE: reject_warning: ..." is logged;
#     - drop (after a reload): .15's non-FQDN sender is stopped as under enforce, not
#       delivered, and its next connection is refused (XDP block);
#     - counters: envelope_rejects 4, envelope_wait_stopped 4, envelope_waits >= 2.
#
# CONTRACT
#   host_envelope_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up namespaces, pins, processes (by PID), also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=host_envelope_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/hostd.sh"
set -u -o pipefail

BUILD=${1:?usage: host_envelope_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
SRV=hen_srv
CLI=hen_cli
PIN=/sys/fs/bpf/hen_test
NET=198.18.66
SIP=$NET.1

e2e_init host_envelope
e2e_require_root
e2e_require_cmd postfix postconf nsenter swaks "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" hen_s0 "$CLI" hen_c0
ns_addr "$SRV" hen_s0 "$SIP/24"
for i in 10 11 12 13 14 15; do ns_addr "$CLI" hen_c0 "$NET.$i/24"; done

PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"
MAILLOG=$(pf_maillog "$PF")

# the resolver the daemon asks (reject_unknown_sender_domain): in its namespace
printf 'example.org MX mx.example.org\nexample.test MX mx.example.test\n' >"$TMP/zone"
DNS_PORT=$((20000 + $$ % 20000))
ns_tinydns "$SRV" "$DNS_PORT" "$TMP/zone" "$TMP"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
smtpd_banner = \$myhostname ESMTP
postscreen_greet_wait = 1s
smtpscreen_cache_file = $TMP/verdicts.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
smtpscreen_dnsbl_servers = 127.0.0.1:$DNS_PORT
smtpscreen_envelope_timeout = 5s
smtpscreen_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain
CEOF
LOG=$TMP/smtpscreen.log

hd_start "$SRV" hen_s0 "$TMP/daemon.err" -c "$TMP/screen.cf" -s "$TMP/ctl.sock" --log-file "$LOG"
grep -q "envelope checks are not done" "$TMP/daemon.err" "$LOG" &&
	e2e_fail "the daemon still ignores the envelope checks"

# mail FROM SENDER OUT - swaks from .FROM with MAIL FROM:<SENDER>; transcript in OUT
mail() {
	ns_exec "$CLI" swaks --server "$SIP" --from "$2" --to u@example.test \
		--helo client.example.org --local-interface "$NET.$1" --timeout 20 \
		--body "envelope test from $2" >"$3" 2>&1
}
stats() { "$CTL" -s "$TMP/ctl.sock" stats 2>&1; }

# --- good mail is delivered ------------------------------------------------------
mail 10 good@example.org "$TMP/swaks10.log" || e2e_fail ".10 good mail failed: $(tail -5 "$TMP/swaks10.log")"
e2e_alive "$DPID" || e2e_fail "the daemon died: $(tail -3 "$TMP/daemon.err")"
e2e_wait_for 10 eval '[ "$(pf_sent "$PF" good@example.org)" -ge 1 ]' ||
	e2e_fail "good mail not delivered: $(tail -5 "$MAILLOG")"

# --- enforce: a non-FQDN sender is stopped at its 354, nothing delivered ------------
mail 11 alice "$TMP/swaks11.log" && e2e_fail ".11 non-FQDN sender accepted: $(tail -8 "$TMP/swaks11.log")"
e2e_log ".11 MAIL FROM:<alice> (enforce): $(grep -E '^ *<' "$TMP/swaks11.log" | tail -3 | tr '\n' ' ')"
grep -Eq "^ *<\*\* +504 5\.5\.2 <alice>: Sender address rejected: need fully-qualified address" "$TMP/swaks11.log" ||
	e2e_fail ".11 did not get smtpd's 504: $(tail -8 "$TMP/swaks11.log")"
grep -Eq "^ *<- +354 " "$TMP/swaks11.log" && e2e_fail ".11 got the 354: $(tail -8 "$TMP/swaks11.log")"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.11\]:[0-9]+: 504 5\.5\.2 <alice>: Sender address rejected: need fully-qualified address; from=<alice> to=<u@example.test> proto=ESMTP helo=<client.example.org>\$" "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .11: $(tail -5 "$LOG")"
grep -q "NOQUEUE: reject: RCPT from \[$NET\.10\]" "$LOG" && e2e_fail "good mail rejected"

# --- enforce: the answer comes before the 354 ------------------------------------
# .14 waits 3 s between its RCPT TO's 250 and DATA; meanwhile .10's new session wakes
# the packet thread, which reads .14's RCPT TO then: the reject is in before the 354,
# waits for it, and replaces it (no 354 is kept for an answer: envelope_waits stays)
cat >"$TMP/slow.py" <<'PYEOF'
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(20)
s.connect((sys.argv[2], 25))
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if not line:
            return "closed"
        if line[3:4] != b"-":
            return line.decode(errors="replace").strip()
def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    return reply()
out = [reply(), cmd("EHLO client.example.org"), cmd("MAIL FROM:<dave>"),
       cmd("RCPT TO:<u@example.test>")]
time.sleep(3)
try:
    out.append(cmd("DATA"))
    out.append(cmd("Subject: slow\r\n\r\nbody\r\n."))
except OSError as e:
    out.append("error " + type(e).__name__)
print("|".join(out))
PYEOF
# the daemon's counters are a snapshot the packet thread publishes at least every
# 10 s (docs/host.md "Wake-ups"): read them when that has passed
waits() { sleep 11; stats | awk '$1 == "envelope_waits" { print $2 }'; }
w0=$(waits)
ns_exec "$CLI" "$PY" "$TMP/slow.py" "$NET.14" "$SIP" >"$TMP/slow.out" 2>&1 &
SLOW=$!
sleep 0.2
mail 10 good2@example.org "$TMP/swaks10b.log" || e2e_fail ".10 second good mail failed: $(tail -5 "$TMP/swaks10b.log")"
wait "$SLOW"
res=$(cat "$TMP/slow.out")
e2e_log ".14 MAIL FROM:<dave>, DATA 3 s later (enforce): $res"
echo "$res" | grep -Eq "\|250 2\.1\.5 [^|]*\|504 5\.5\.2 <dave>: Sender address rejected: need fully-qualified address\|" ||
	e2e_fail ".14 did not get smtpd's 504 in place of its 354: $res"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.14\]:[0-9]+: 504 5\.5\.2 <dave>: " "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .14: $(tail -5 "$LOG")"
w1=$(waits)
[ "$w1" = "$((w0 + 1))" ] ||
	e2e_fail "the reject did not come before .14's 354 (envelope_waits $w0 -> $w1; .10's 354 is the one)"

# --- enforce: a sender domain DNS does not know (NXDOMAIN) --------------------------
mail 13 carol@nx.invalid "$TMP/swaks13.log" && e2e_fail ".13 unknown sender domain accepted"
grep -Eq "^ *<\*\* +450 4\.1\.8 <carol@nx\.invalid>: Sender address rejected: Domain not found" "$TMP/swaks13.log" ||
	e2e_fail ".13 did not get the 450: $(tail -8 "$TMP/swaks13.log")"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.13\]:[0-9]+: 450 4\.1\.8 <carol@nx\.invalid>: Sender address rejected: Domain not found; " "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .13: $(tail -5 "$LOG")"

# --- warn_if_reject: logged only, delivered ---------------------------------------
sed -i 's/^smtpscreen_sender_restrictions = .*/smtpscreen_sender_restrictions = warn_if_reject reject_non_fqdn_sender, reject_unknown_sender_domain/' \
	"$TMP/screen.cf"
rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) || e2e_fail "reload refused: $rl"
sleep 1
mail 12 bob "$TMP/swaks12.log" || e2e_fail ".12 not accepted under warn_if_reject: $(tail -8 "$TMP/swaks12.log")"
e2e_wait_for 10 eval '[ "$(pf_sent "$PF" "bob@[^>]*")" -ge 1 ]' ||
	e2e_fail "warn_if_reject: the message was not delivered: $(tail -5 "$MAILLOG")"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject_warning: RCPT from \[$NET\.12\]:[0-9]+: 504 5\.5\.2 <bob>: " "$LOG" ||
	e2e_fail "no reject_warning line for .12: $(tail -5 "$LOG")"
grep -q "NOQUEUE: reject: RCPT from \[$NET\.12\]" "$LOG" && e2e_fail ".12 rejected under warn_if_reject"
sleep 1
[ "$(pf_sent "$PF" 'alice@[^>]*')" -eq 0 ] || e2e_fail "enforce: alice's message was delivered"
[ "$(pf_sent "$PF" 'carol@nx.invalid')" -eq 0 ] || e2e_fail "enforce: carol's message was delivered"
[ "$(pf_sent "$PF" 'dave@[^>]*')" -eq 0 ] || e2e_fail "enforce: dave's message was delivered"

# --- drop: stopped as under enforce, and the client is blocked ---------------------
sed -i 's/^smtpscreen_sender_restrictions = .*/smtpscreen_sender_restrictions = reject_non_fqdn_sender/' \
	"$TMP/screen.cf"
echo "smtpscreen_envelope_action = drop" >>"$TMP/screen.cf"
rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) || e2e_fail "reload refused: $rl"
sleep 1
mail 15 erin "$TMP/swaks15.log" && e2e_fail ".15 non-FQDN sender accepted under drop"
grep -Eq "^ *<- +354 " "$TMP/swaks15.log" && e2e_fail ".15 got the 354 under drop: $(tail -8 "$TMP/swaks15.log")"
e2e_wait_for 5 grep -Eq "NOQUEUE: reject: RCPT from \[$NET\.15\]:[0-9]+: 504 5\.5\.2 <erin>: " "$LOG" ||
	e2e_fail "no NOQUEUE reject line for .15: $(tail -5 "$LOG")"
ns_exec "$CLI" swaks --server "$SIP" --from good@example.org --to u@example.test \
	--local-interface "$NET.15" --timeout 5 --quit-after CONNECT >"$TMP/swaks15b.log" 2>&1 &&
	e2e_fail ".15 not blocked after the drop: $(tail -3 "$TMP/swaks15b.log")"

e2e_alive "$DPID" || e2e_fail "the daemon died: $(tail -3 "$TMP/daemon.err")"
st=$(stats) || e2e_fail "smtpscreenctl stats: $st"
[ "$(pf_sent "$PF" 'erin@[^>]*')" -eq 0 ] || e2e_fail "drop: erin's message was delivered"
echo "$st" | grep -qx "envelope_rejects 4" || e2e_fail "stats: $(echo "$st" | grep '^envelope')"
e2e_wait_for 12 eval 'stats | grep -qx "envelope_wait_stopped 4"' || e2e_fail "stats: $(echo "$st" | grep '^envelope')"
w=$(echo "$st" | awk '$1 == "envelope_waits" { print $2 }')
[ "${w:-0}" -ge 2 ] || e2e_fail "stats: no 354 kept: $(echo "$st" | grep '^envelope')"
e2e_log "$(echo "$st" | grep -E '^envelope|^host_data|^data_withheld' | tr '\n' ' ')"
hd_stop
e2e_log "PASS"
exit 0
