#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   host_clock_test.sh - `smtpscreen host` while the system clock steps by three weeks,
#                        forward and back, in the middle of SMTP sessions
#
# DESCRIPTION
#   Mail host namespace hc_srv (198.18.71.1, veth hc_s0) runs a private Postfix (plain
#   smtpd, discard sink) and `smtpscreen host -i hc_s0 -s SOCK` under LD_PRELOAD of the
#   test library clockstep (libclockstep.so: the daemon's wall clock is the real one plus
#   the seconds in a file; its monotonic clock is left alone, as a step of the system
#   clock leaves it). A client in hc_cli (198.18.71.10) reads the greeting, sends EHLO,
#   and waits; the test steps the daemon's clock 21 days forward; the client finishes
#   its mail. Then the same with a second client (.11) and a step back to the real time.
#   Each client passes (PASS NEW, not a timeout or HANGUP), its log lines carry the
#   stepped wall-clock date, the daemon warns once per step (in its log) and counts
#   clock_steps.
#   Before the daemon followed steps, its log kept the start's clock after a step.
#
# CONTRACT
#   host_clock_test.sh BUILD_DIR   (root). SMTPSCREEN / SMTPSCREENCTL override the binaries.
#   Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=host_clock_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"

BUILD=${1:?usage: host_clock_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
SHIM=$BUILD/tests/e2e/libclockstep.so
PY=/usr/bin/python3
SRV=hc_srv
CLI=hc_cli
PIN=/sys/fs/bpf/hc_clock_test
SIP=198.18.71.1
NET=198.18.71
STEP=$((21 * 86400))

e2e_init host_clock
e2e_require_root
e2e_require_cmd postfix nsenter date "$SCR" "$CTL" "$PY" "$SHIM"
TMP=$E2E_TMP
SOCK=$TMP/run/ctl.sock
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" hc_s0 "$CLI" hc_c0
ns_addr "$SRV" hc_s0 "$SIP/24"
ns_addr "$CLI" hc_c0 "$NET.10/24"
ns_addr "$CLI" hc_c0 "$NET.11/24"

mkdir -p "$TMP/tmpl"
pf_template_smtpd "$TMP/tmpl"
PF=$TMP/pf
pf_instance_create "$PF" "$TMP/tmpl" "SERVER_IP=$SIP"
pf_start "$SRV" "$PF"
ns_wait_listen "$SRV" "$SIP" 25 || e2e_fail "smtpd does not listen on $SIP:25"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = enforce
postscreen_greet_wait = 1s
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
smtpscreen_pin_directory = $PIN
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
CEOF
LOG=$TMP/smtpscreen.log
OFF=$TMP/clock-offset
echo 0 > "$OFF"
DPID=
nsenter --net=/run/netns/$SRV env LD_PRELOAD="$SHIM" CLOCKSTEP_FILE="$OFF" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$SCR" host -i hc_s0 -c "$TMP/screen.cf" -s "$SOCK" --log-file "$LOG" \
	2>"$TMP/daemon.err" &
DPID=$!
e2e_cleanup_push '[ -n "$DPID" ] && e2e_alive "$DPID" && { kill -TERM "$DPID"; e2e_wait_for 10 eval "! e2e_alive $DPID"; }; nsenter --net=/run/netns/'$SRV' ip link set hc_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/'$SRV' tc qdisc del dev hc_s0 clsact 2>/dev/null; true'
e2e_wait_for 20 grep -q "running on hc_s0" "$TMP/daemon.err" ||
	e2e_fail "daemon did not start: $(cat "$TMP/daemon.err")"

# session FROM - a good client that stops after its EHLO until $TMP/go-FROM exists
session() {
	ns_exec "$CLI" "$PY" - "$SIP" "$NET.$1" "$TMP/ready-$1" "$TMP/go-$1" <<'PYEOF'
import os, socket, sys, time
srv, src, ready, go = sys.argv[1:5]
s = socket.create_connection((srv, 25), timeout=20, source_address=(src, 0))
f = s.makefile('rb')
def reply():
    while True:
        line = f.readline()
        if len(line) < 4:
            raise SystemExit('connection closed')
        if line[3:4] == b' ':
            return line
def cmd(text, want):
    s.sendall(text + b'\r\n')
    r = reply()
    if not r.startswith(want):
        raise SystemExit('%s: %r' % (text.decode(), r))
if not reply().startswith(b'220'):
    raise SystemExit('no greeting')
cmd(b'EHLO client.example.org', b'250')
open(ready, 'w').close()
t = time.time()
while not os.path.exists(go):
    if time.time() - t > 30:
        raise SystemExit('no go')
    time.sleep(0.05)
cmd(b'MAIL FROM:<a@example.org>', b'250')
cmd(b'RCPT TO:<u@example.test>', b'250')
cmd(b'DATA', b'354')
cmd(b'Subject: clock\r\n\r\nhello\r\n.', b'250')
cmd(b'QUIT', b'221')
print('OK')
PYEOF
}

# one FROM OFFSET_S - a session across a step of the daemon's clock to OFFSET_S
one() {
	local from=$1 off=$2 out day steps
	rm -f "$TMP/ready-$from" "$TMP/go-$from"
	session "$from" >"$TMP/client-$from.out" 2>&1 &
	local cpid=$!
	e2e_wait_for 20 test -e "$TMP/ready-$from" ||
		e2e_fail "client .$from never got past EHLO: $(cat "$TMP/client-$from.out")"
	echo "$off" > "$OFF"
	steps=$(grep -c "system clock stepped" "$LOG")
	e2e_wait_for 15 eval '[ "$(grep -c "system clock stepped" "$LOG")" -gt '"$steps"' ]' ||
		e2e_fail "no clock step warning after stepping to $off s: $(tail -5 "$LOG")"
	touch "$TMP/go-$from"
	wait "$cpid"
	out=$(cat "$TMP/client-$from.out")
	[ "$out" = OK ] || e2e_fail "client .$from: $out"
	day=$(date -u -d "@$(( $(date +%s) + off ))" '+%b %_d')
	e2e_wait_for 10 grep -q "^$day .*PASS NEW \[$NET.$from\]" "$LOG" ||
		e2e_fail "client .$from: no PASS NEW dated $day: $(grep -F "[$NET.$from]" "$LOG")"
	! grep -F "[$NET.$from]" "$LOG" | grep -Eq "HANGUP|COMMAND TIME LIMIT" ||
		e2e_fail "client .$from timed out: $(grep -F "[$NET.$from]" "$LOG")"
}

one 10 "$STEP"
grep -q "warning: the system clock stepped by +$STEP\." "$LOG" ||
	e2e_fail "the warning does not say the step: $(grep 'clock' "$LOG")"
one 11 0
grep -q "warning: the system clock stepped by -$STEP\." "$LOG" ||
	e2e_fail "the step back is not said: $(grep 'clock' "$LOG")"
OUT=$("$CTL" -s "$SOCK" stats 2>&1) || e2e_fail "stats: $OUT"
grep -qx "clock_steps 2" <<<"$OUT" || e2e_fail "stats: $(grep clock <<<"$OUT") (want clock_steps 2)"
e2e_log "PASS: sessions across clock steps of +-21 days passed, dated by the stepped clock"
exit 0
