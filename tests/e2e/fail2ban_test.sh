#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   fail2ban_test.sh - Debian's fail2ban bans through smtpscreen's XDP block map
#
# DESCRIPTION
#   Namespace f2b_srv (198.18.76.1, veth f2b_s0) runs a Postfix sink and `smtpscreen
#   host` with postscreen_greet_action = ignore (it logs a pregreet but neither stops
#   nor blocks the client: any block comes from fail2ban). fail2ban-server runs in the
#   foreground with its own config directory, socket and pid file: Debian's
#   /etc/fail2ban plus examples/fail2ban (filter, action, jail), the jail reading the
#   daemon's log file. Checks:
#   1. fail2ban-regex: the filter matches each failure line smtpscreen writes
#      (docs/logging.md) once, and not PASS/CONNECT lines;
#   2. three pregreet sessions from .11 -> fail2ban bans .11 -> `smtpscreenctl block
#      list` has 198.18.76.11 with a TTL of the ban time, its next SYN is dropped in
#      XDP (drop_block grows) while .10 still connects;
#   3. `fail2ban-client set smtpscreen unbanip` -> block del: the entry is gone and .11
#      connects again; unbanning an entry already gone from the map is no error.
#
# CONTRACT
#   fail2ban_test.sh BUILD_DIR (root); SRCDIR = source tree. Exit 0 pass, 1 fail.
#   Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=fail2ban_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/banhost.sh"

BUILD=${1:?usage: fail2ban_test.sh BUILD_DIR}
SRC=${SRCDIR:-$HERE/../..}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
NET=198.18.76
PIN=/sys/fs/bpf/f2b$$

e2e_init fail2ban
e2e_require_root
e2e_require_cmd postfix nsenter ss fail2ban-server fail2ban-client fail2ban-regex \
	"$SCR" "$CTL" "$PY"
[ -d /etc/fail2ban/filter.d ] || e2e_fail "Debian's fail2ban config /etc/fail2ban is missing"
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
TMP=$E2E_TMP
e2e_cleanup_push "rm -rf '$PIN'"

# --- 1. the filter on every failure line smtpscreen writes -----------------------------
F2B=$TMP/f2b
cp -r /etc/fail2ban "$F2B" || e2e_fail "cannot copy /etc/fail2ban"
rm -f "$F2B"/jail.d/* "$F2B"/jail.local "$F2B"/fail2ban.local
cp "$SRC"/examples/fail2ban/filter.d/smtpscreen.conf "$F2B/filter.d/" &&
	cp "$SRC"/examples/fail2ban/action.d/smtpscreen.conf "$F2B/action.d/" &&
	cp "$SRC"/examples/fail2ban/jail.d/smtpscreen.conf "$F2B/jail.d/" ||
	e2e_fail "cannot install examples/fail2ban"
d=$(date '+%b %e %H:%M:%S')
cat >"$TMP/lines.log" <<EOF
$d mx postfix/smtpscreen[7]: CONNECT from [198.18.76.31]:40001 to [198.18.76.1]:25
$d mx postfix/smtpscreen[7]: PREGREET 11 after 0.01 from [198.18.76.31]:40001: EHLO x\r\n
$d mx postfix/smtpscreen[7]: BARE NEWLINE from [198.18.76.32]:40002 after EHLO x
$d mx postfix/smtpscreen[7]: COMMAND PIPELINING from [198.18.76.33]:40003 after EHLO: MAIL FROM:<a@b>\r\n
$d mx postfix/smtpscreen[7]: NON-SMTP COMMAND from [198.18.76.34]:40004 after CONNECT: GET / HTTP/1.0
$d mx postfix/smtpscreen[7]: HELO VIOLATION from [198.18.76.35]:40005 after EHLO: localhost
$d mx postfix/smtpscreen[7]: COMMAND TIME LIMIT from [198.18.76.36]:40006 after DATA
$d mx postfix/smtpscreen[7]: DNSBL rank 3 for [198.18.76.37]:40007
$d mx postfix/smtpscreen[7]: NOQUEUE: reject: CONNECT from [198.18.76.38]:40008: too many connections
$d mx postfix/smtpscreen[7]: PASS NEW [198.18.76.39]:40009
$d mx postfix/smtpscreen[7]: HANGUP after 1.2 from [198.18.76.40]:40010 in tests before SMTP handshake
$d mx postfix/postscreen[8]: PREGREET 11 after 0.01 from [198.18.76.41]:40011: EHLO x\r\n
EOF
fail2ban-regex -r -o ip "$TMP/lines.log" "$F2B/filter.d/smtpscreen.conf" >"$TMP/regex.out" 2>&1 ||
	e2e_fail "fail2ban-regex: $(cat "$TMP/regex.out")"
got=$(sort "$TMP/regex.out" | tr '\n' ' ')
want=$(seq 31 38 | sed "s/^/$NET./" | sort | tr '\n' ' ')
[ "$got" = "$want" ] || e2e_fail "filter matched [$got], want [$want]"
e2e_log "filter: the 8 failure lines match, PASS/CONNECT/HANGUP and postscreen's do not"

# --- the daemon: host mode, pregreets logged but not stopped ---------------------------
bh_start f2b "$NET"
LOG=$BH_LOG SOCK=$BH_SOCK

# --- fail2ban-server in the foreground, its own socket, pid file and config ------------
cat >"$F2B/fail2ban.local" <<EOF
[Definition]
dbfile = :memory:
EOF
cat >"$F2B/jail.local" <<EOF
[DEFAULT]
backend = polling
ignoreip =
[smtpscreen]
enabled = true
logpath = $LOG
action = smtpscreen[smtpscreenctl="$CTL", socket="$SOCK"]
bantime = 1h
EOF
F2S=$TMP/f2b.sock
f2c() { fail2ban-client -c "$F2B" -s "$F2S" "$@"; }
fail2ban-server -f -x -c "$F2B" -s "$F2S" -p "$TMP/f2b.pid" --logtarget "$TMP/f2b.log" \
	--loglevel INFO >"$TMP/f2b.out" 2>&1 &
FPID=$!
e2e_cleanup_push "e2e_kill_pid $FPID 10"
e2e_wait_for 20 eval 'f2c ping >/dev/null 2>&1' ||
	e2e_fail "fail2ban-server does not answer: $(tail -20 "$TMP/f2b.log" "$TMP/f2b.out")"
f2c status smtpscreen >"$TMP/status0" 2>&1 || e2e_fail "jail smtpscreen: $(cat "$TMP/status0") $(tail -20 "$TMP/f2b.log")"

# --- 2. three pregreets: fail2ban bans through the XDP map -----------------------------
bh_syn 10 || e2e_fail ".10 cannot connect before any ban"
for i in 1 2 3; do
	bh_pregreet 11
	# one failure bans nothing (maxretry 3), and the daemon blocks nobody itself
	[ "$i" = 1 ] && bh_blocked 11 && e2e_fail ".11 blocked after one pregreet (greet action ignore)"
done
n=$(grep -c "PREGREET .* from \[$NET.11\]" "$LOG")
[ "$n" -ge 3 ] || e2e_fail "daemon logged $n pregreets of .11: $(tail -5 "$LOG")"
e2e_wait_for 30 eval 'f2c status smtpscreen | grep -q "Banned IP list:.*$NET.11"' ||
	e2e_fail "fail2ban did not ban .11: $(f2c status smtpscreen) $(tail -20 "$TMP/f2b.log")"
e2e_wait_for 10 bh_blocked 11 || e2e_fail "ban did not reach the block map: $("$CTL" -s "$SOCK" block list) $(grep -i error "$TMP/f2b.log")"
ttl=$(bh_ttl 11)
[ "${ttl:-0}" -gt 3500 ] && [ "$ttl" -le 3600 ] || e2e_fail "block TTL '$ttl', want the ban time 3600 s"
d0=$(bh_drops)
bh_syn 11 && e2e_fail ".11 still connects after the ban"
[ "$(bh_drops)" -gt "$d0" ] || e2e_fail "no XDP drop_block for .11's SYN ($d0 -> $(bh_drops))"
bh_syn 10 || e2e_fail ".10 cannot connect after .11's ban"
e2e_log "ban: fail2ban -> smtpscreenctl block add -> XDP drops .11 (ttl $ttl s)"

# --- 3. unban: block del ---------------------------------------------------------------
f2c set smtpscreen unbanip "$NET.11" >"$TMP/unban" 2>&1 || e2e_fail "unbanip: $(cat "$TMP/unban")"
e2e_wait_for 10 eval '! bh_blocked 11' || e2e_fail "unban left the block: $("$CTL" -s "$SOCK" block list)"
bh_syn 11 || e2e_fail ".11 cannot connect after the unban"
# an entry already gone (expired, deleted by hand) is no unban error
f2c set smtpscreen banip "$NET.12" >/dev/null 2>&1 || e2e_fail "banip .12 refused"
e2e_wait_for 10 bh_blocked 12 || e2e_fail "banip .12 did not reach the map"
"$CTL" -s "$SOCK" block del "$NET.12" >/dev/null || e2e_fail "block del .12"
f2c set smtpscreen unbanip "$NET.12" >/dev/null 2>&1 || e2e_fail "unbanip .12 refused"
e2e_wait_for 10 eval '! f2c status smtpscreen | grep -q "Banned IP list:.*$NET.12"' ||
	e2e_fail "fail2ban still lists .12"
grep -qi 'error' "$TMP/f2b.log" && e2e_fail "fail2ban logged errors: $(grep -i error "$TMP/f2b.log")"
f2c stop >/dev/null 2>&1
e2e_log "unban: block del; .11 connects again"
