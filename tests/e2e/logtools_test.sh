#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   logtools_test.sh - pflogsumm and fail2ban read smtpscreen's log as they read postscreen's
#
# DESCRIPTION
#   Runs Debian's Postfix with postscreen (the differential test's setup: tests/data/
#   postscreen) in a network namespace, plays the differential test's client behaviours
#   at it from a second namespace (tests/e2e/smtpbot.py, swaks) plus two clients that
#   hang up (one during the greet wait, one after its EHLO reply: postscreen's HANGUP
#   lines, which fail2ban's ddos mode bans on), captures port 25 and replays the capture
#   with `smtpscreen replay -c <main.cf> --log smtpscreen.log`. smtpscreen's file log
#   already carries the syslog prefix "Mmm dd hh:mm:ss host postfix/smtpscreen[pid]: "
#   (ctl_log, stamped with the packets' times), so nothing is added to it. Then:
#   1. every line of smtpscreen's log has that traditional syslog prefix (what both
#      tools parse);
#   2. pflogsumm's whole report of postscreen's lines (postfix/postscreen[pid] lines of
#      the instance's maillog) equals its report of smtpscreen's log, after removing
#      from postscreen's side the lines of its dummy SMTP engine (NOQUEUE: reject:
#      RCPT/DATA/BDAT, DATA/BDAT without valid RCPT): smtpscreen has no dummy engine
#      (DESIGN.md: a client passes inside its real session; enforce stops the session),
#      so they have no counterpart. Those removed lines and what pflogsumm makes of them
#      are printed (docs/logging.md explains the difference);
#   3. fail2ban-regex with filter.d/postfix.conf in modes ddos and aggressive: the
#      matched client addresses with their counts are equal on postscreen's lines (all
#      of them, nothing removed) and on smtpscreen's log; before comparing, the harness
#      checks that postscreen's side matched each client meant to be matched.
#   The compare step alone can be run on any two logs (used to see the checks fail on
#   a mutated line):  logtools_test.sh --compare POSTSCREEN_MAILLOG SMTPSCREEN_LOG
#   On failure the temp dir (capture, maillog, smtpscreen.log, reports, match lists) is
#   kept and its path printed; E2E_KEEP=1 keeps it also on success.
#
# CONTRACT
#   logtools_test.sh BUILD_DIR           (binary: BUILD_DIR/dataplane/smtpscreen)
#   logtools_test.sh --compare PSLOG LOG (no root, no network: checks 1-3 only)
#   Exit 0 when every check holds; 1 with "FAIL: reason" otherwise, also when Postfix,
#   tcpdump, pflogsumm, fail2ban-regex or the namespaces cannot be set up. The full run
#   must be run as root.
#
# THREADING
#   One run at a time per PID (namespace names carry $$); clients run in parallel.

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
E2E_LIB=$HERE/lib
# shellcheck source=lib/common.sh
. "$E2E_LIB/common.sh"
# shellcheck source=lib/netns.sh
. "$E2E_LIB/netns.sh"
# shellcheck source=lib/postfix.sh
. "$E2E_LIB/postfix.sh"
# shellcheck source=lib/capture.sh
. "$E2E_LIB/capture.sh"

PY=/usr/bin/python3
F2B_FILTER=/etc/fail2ban/filter.d/postfix.conf
F2B_MODES="ddos aggressive"
# Lines of postscreen's dummy SMTP engine (postscreen_smtpd.c), no counterpart in smtpscreen.
DUMMY_ERE=' postfix/postscreen\[[0-9]+\]: (NOQUEUE: reject: (RCPT|DATA|BDAT) from |(DATA|BDAT) without valid RCPT from )'
# The traditional syslog prefix pflogsumm and fail2ban parse.
PREFIX_ERE='^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] [^ ]+ postfix/[a-z]+\[[0-9]+\]: '

# f2b_matches - "count address" per client address fail2ban matched in LOG with MODE
f2b_matches() {
	local log=$1 mode=$2 out=$3
	fail2ban-regex -r -o ip "$log" "${F2B_FILTER}[mode=$mode]" >"$out.raw" 2>"$out.err" ||
		return 1
	sort "$out.raw" | uniq -c | awk '{ print $2, $1 }' >"$out"
}

# pfls_report - pflogsumm's report of LOG (no line is dated "today": whole file)
pfls_report() {
	pflogsumm "$1" >"$2" 2>"$2.err"
}

# compare_logs - checks 1-3 on postscreen's maillog PSLOG and smtpscreen's log LOG in DIR
compare_logs() {
	local pslog=$1 log=$2 dir=$3 bad=0 mode n
	mkdir -p "$dir" || e2e_fail "mkdir $dir"
	grep -E ' postfix/postscreen\[[0-9]+\]: ' "$pslog" >"$dir/postscreen.lines"
	[ -s "$dir/postscreen.lines" ] || e2e_fail "no postscreen lines in $pslog"
	[ -s "$log" ] || e2e_fail "smtpscreen log $log is empty"

	# 1. the prefix
	n=$(grep -cvE "$PREFIX_ERE" "$log")
	if [ "$n" -ne 0 ]; then
		e2e_log "check 1: $n line(s) of $log lack the syslog prefix, e.g.:"
		grep -vE "$PREFIX_ERE" "$log" | head -n 3 >&2
		bad=1
	fi

	# 2. pflogsumm
	grep -E "$DUMMY_ERE" "$dir/postscreen.lines" >"$dir/postscreen.dummy"
	grep -vE "$DUMMY_ERE" "$dir/postscreen.lines" >"$dir/postscreen.screen"
	pfls_report "$dir/postscreen.screen" "$dir/pflogsumm.postscreen" ||
		e2e_fail "pflogsumm failed on postscreen's lines: $(cat "$dir/pflogsumm.postscreen.err")"
	pfls_report "$log" "$dir/pflogsumm.smtpscreen" ||
		e2e_fail "pflogsumm failed on $log: $(cat "$dir/pflogsumm.smtpscreen.err")"
	if ! diff -u "$dir/pflogsumm.postscreen" "$dir/pflogsumm.smtpscreen" >"$dir/pflogsumm.diff"; then
		e2e_log "check 2: pflogsumm reports differ (- postscreen, + smtpscreen):"
		cat "$dir/pflogsumm.diff" >&2
		bad=1
	fi
	echo "postscreen dummy-engine lines left out of the pflogsumm comparison: $(wc -l <"$dir/postscreen.dummy")"
	if [ -s "$dir/postscreen.dummy" ]; then
		pfls_report "$dir/postscreen.dummy" "$dir/pflogsumm.dummy" ||
			e2e_fail "pflogsumm failed on the dummy-engine lines"
		sed -n -e '/^ *[0-9]*   rejected/p' -e '/^message reject detail/,/^$/p' \
			"$dir/pflogsumm.dummy" | sed -e 's/^/  /'
	fi

	# 3. fail2ban
	for mode in $F2B_MODES; do
		f2b_matches "$dir/postscreen.lines" "$mode" "$dir/f2b.$mode.postscreen" ||
			e2e_fail "fail2ban-regex ($mode) failed: $(cat "$dir/f2b.$mode.postscreen.err")"
		f2b_matches "$log" "$mode" "$dir/f2b.$mode.smtpscreen" ||
			e2e_fail "fail2ban-regex ($mode) failed: $(cat "$dir/f2b.$mode.smtpscreen.err")"
		echo "fail2ban $mode matches (address count), postscreen | smtpscreen:"
		paste -d'|' "$dir/f2b.$mode.postscreen" "$dir/f2b.$mode.smtpscreen" | sed -e 's/^/  /'
		if ! cmp -s "$dir/f2b.$mode.postscreen" "$dir/f2b.$mode.smtpscreen"; then
			e2e_log "check 3: fail2ban mode $mode matched different clients or counts"
			bad=1
		fi
	done
	return "$bad"
}

if [ $# -eq 3 ] && [ "$1" = --compare ]; then
	e2e_init logtools
	e2e_require_cmd pflogsumm fail2ban-regex
	compare_logs "$2" "$3" "$E2E_TMP/compare" ||
		e2e_fail "the log tools read smtpscreen's log differently (see $E2E_TMP/compare)"
	e2e_log "PASS: pflogsumm and fail2ban agree"
	exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR | --compare PSLOG LOG" >&2; exit 2; }
BIN=$1/dataplane/smtpscreen

TEMPLATES=$TOP/tests/data/postscreen
NS_SRV=lg-srv-$$
NS_CLI=lg-cli-$$
IF_SRV=lg-s
IF_CLI=lg-c
SRV_IP=198.18.71.1
REJECT_IP=198.18.71.30
PERMIT_IP=198.18.71.31

# Client table: address, behaviour, and whether fail2ban (ddos and aggressive modes)
# must match postscreen's lines for this client (the harness check).
CLIENTS=(
	"198.18.71.10 good no"
	"198.18.71.11 pregreet yes"
	"198.18.71.12 pregreet_teaser yes"
	"198.18.71.13 bare_newline no"
	"198.18.71.14 pipelining no"
	"198.18.71.15 get no"
	"198.18.71.16 connect no"
	"198.18.71.17 post no"
	"198.18.71.18 subject no"
	"198.18.71.19 swaks no"
	"198.18.71.20 hangup_before yes"
	"198.18.71.21 hangup_after yes"
	"$REJECT_IP denylisted no"
	"$PERMIT_IP allowlisted no"
)

e2e_init logtools
e2e_require_root
e2e_require_cmd ip ss postfix postconf tcpdump swaks pflogsumm fail2ban-regex "$PY"
[ -x "$BIN" ] || e2e_fail "smtpscreen binary not found: $BIN"
[ -x /usr/lib/postfix/sbin/postscreen ] || e2e_fail "Postfix postscreen not installed"
[ -r "$F2B_FILTER" ] || e2e_fail "fail2ban's filter $F2B_FILTER not installed"

# --- network ---------------------------------------------------------------------
ns_create "$NS_SRV"
ns_create "$NS_CLI"
ns_veth "$NS_SRV" "$IF_SRV" "$NS_CLI" "$IF_CLI"
ns_addr "$NS_SRV" "$IF_SRV" "$SRV_IP/24"
for c in "${CLIENTS[@]}"; do
	read -r addr _ <<<"$c"
	ns_addr "$NS_CLI" "$IF_CLI" "$addr/24"
done

# --- Postfix with postscreen -----------------------------------------------------
PF=$E2E_TMP/pf
pf_instance_create "$PF" "$TEMPLATES" SERVER_IP=$SRV_IP MYHOSTNAME=mx.example.test \
	MYDOMAIN=example.test REJECT_IP=$REJECT_IP PERMIT_IP=$PERMIT_IP
pf_start "$NS_SRV" "$PF"
ns_wait_listen "$NS_SRV" "$SRV_IP" 25 10 ||
	e2e_fail "postscreen is not listening on $SRV_IP:25; log: $(tail -n 5 "$(pf_maillog "$PF")")"

# --- clients, captured -----------------------------------------------------------
CAP=$E2E_TMP/capture.pcap
BOTS=$E2E_TMP/bots
mkdir -p "$BOTS"
cap_start "$NS_SRV" "$IF_SRV" "$CAP" "tcp port 25"

# HANGUP_PY - a client that closes without QUIT: "before" during the greet wait
# (postscreen_greet_wait is 3 s), "after" once the EHLO reply is complete
# shellcheck disable=SC2016 # python source
HANGUP_PY='
import socket, sys, time
srv, src, when = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket()
s.bind((src, 0))
s.settimeout(20)
s.connect((srv, 25))
def reply():
    buf = b""
    while True:
        d = s.recv(4096)
        if not d:
            sys.exit("closed early: %r" % buf)
        buf += d
        lines = buf.split(b"\r\n")
        if len(lines) > 1 and any(len(l) > 3 and l[3:4] == b" " for l in lines[:-1]):
            return buf
if when == "before":
    time.sleep(1)
else:
    reply()
    s.sendall(b"EHLO hangup.example\r\n")
    print(reply().decode(errors="replace"))
s.close()
print("closed", when)
'

# run_client - one client in the client namespace; status in $BOTS/NAME.rc
run_client() {
	local addr=$1 beh=$2 n
	case $beh in
	swaks)
		for n in 1 2; do
			ns_exec "$NS_CLI" swaks --server "$SRV_IP" --from a@example.org \
				--to u@example.test --helo client.example --local-interface "$addr" \
				--timeout 20 >"$BOTS/swaks.$n.out" 2>&1
			echo $? >"$BOTS/swaks.$n.rc"
			sleep 1
		done
		;;
	hangup_*)
		ns_exec "$NS_CLI" "$PY" -c "$HANGUP_PY" "$SRV_IP" "$addr" "${beh#hangup_}" \
			>"$BOTS/$beh.out" 2>"$BOTS/$beh.err"
		echo $? >"$BOTS/$beh.rc"
		;;
	*)
		ns_exec "$NS_CLI" "$PY" "$HERE/smtpbot.py" --server "$SRV_IP" --source "$addr" \
			--behaviour "$beh" --timeout 20 -v >"$BOTS/$beh.out" 2>"$BOTS/$beh.err"
		echo $? >"$BOTS/$beh.rc"
		;;
	esac
}

pids=()
# shellcheck disable=SC2016 # expanded when the cleanup runs
e2e_cleanup_push 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; true'
for c in "${CLIENTS[@]}"; do
	read -r addr beh _ <<<"$c"
	run_client "$addr" "$beh" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done

# client_sockets - TCP sessions to port 25 still open in the client namespace
client_sockets() {
	ns_exec "$NS_CLI" ss -Htn state established state fin-wait-1 state fin-wait-2 \
		state last-ack state closing '( dport = :25 )' 2>/dev/null | grep -q .
}
e2e_wait_for 5 eval '! client_sockets' || e2e_log "warning: client sessions still open"
sleep 0.5
cap_stop || e2e_fail "tcpdump wrote no capture: $(cat "$CAP_LOG")"
pf_stop "$NS_SRV" "$PF"          # flushes postlogd: the log is complete
MAILLOG=$(pf_maillog "$PF")

for beh in hangup_before hangup_after; do
	[ "$(cat "$BOTS/$beh.rc" 2>/dev/null)" = 0 ] ||
		e2e_fail "client $beh failed: $(cat "$BOTS/$beh.err" 2>/dev/null)"
done

# --- smtpscreen's log of the same traffic -------------------------------------------
LOG=$E2E_TMP/smtpscreen.log
"$BIN" replay -c "$(pf_conf "$PF")" --verdicts "$E2E_TMP/smtpscreen.csv" --log "$LOG" \
	"$CAP" >"$E2E_TMP/replay.out" 2>&1 ||
	e2e_fail "smtpscreen replay failed ($?): $(tail -n 20 "$E2E_TMP/replay.out")"
echo "postscreen's lines:"
grep -E ' postfix/postscreen\[[0-9]+\]: ' "$MAILLOG" | sed -e 's/^/  /'
echo "smtpscreen's lines:"
sed -e 's/^/  /' "$LOG"

# --- harness check: postscreen's side gives fail2ban something to match -------------
CMP=$E2E_TMP/compare
mkdir -p "$CMP"
grep -E ' postfix/postscreen\[[0-9]+\]: ' "$MAILLOG" >"$CMP/harness.lines"
bad=0
for mode in $F2B_MODES; do
	f2b_matches "$CMP/harness.lines" "$mode" "$CMP/harness.$mode" ||
		e2e_fail "fail2ban-regex ($mode) failed: $(cat "$CMP/harness.$mode.err")"
	for c in "${CLIENTS[@]}"; do
		read -r addr beh want <<<"$c"
		got=no
		grep -q "^$addr " "$CMP/harness.$mode" && got=yes
		if [ "$got" != "$want" ]; then
			e2e_log "harness: $beh from $addr: fail2ban $mode match on postscreen's lines: $got, want $want"
			bad=1
		fi
	done
done
[ "$bad" -eq 0 ] || e2e_fail "the clients did not provoke the intended postscreen lines (see $MAILLOG)"
grep -qE "$DUMMY_ERE" "$MAILLOG" ||
	e2e_fail "harness: postscreen logged no dummy-engine reject (the good clients' 450 is expected)"

# --- the comparison --------------------------------------------------------------
compare_logs "$MAILLOG" "$LOG" "$CMP" ||
	e2e_fail "the log tools read smtpscreen's log differently from postscreen's (capture $CAP)"
e2e_log "PASS: pflogsumm and fail2ban (ddos, aggressive) read smtpscreen's log as postscreen's"
