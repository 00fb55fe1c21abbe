#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   postscreen_diff_test.sh - differential test: smtpscreen replay vs real Postfix postscreen
#
# DESCRIPTION
#   Runs Debian's Postfix with postscreen (pregreet, pipelining, non-SMTP command and
#   bare-newline tests on; access list with one reject and one permit address) in a
#   network namespace, plays one client behaviour per source address at it from a
#   second namespace (tests/e2e/smtpbot.py, plus swaks as a second good client),
#   captures port 25 with tcpdump on the server's veth, and replays the capture with
#     smtpscreen replay -c <the instance's main.cf> --verdicts out.csv --log out.log
#   For every session (client address + port) smtpscreen's verdict and reasons must
#   equal what postscreen logged (tests/e2e/lib/psc_verdicts.py), and its NON-SMTP
#   COMMAND, BARE NEWLINE and COMMAND PIPELINING lines must read byte for byte like
#   postscreen's. Before that it
#   checks that the harness worked: each behaviour got the postscreen outcome it is
#   meant to provoke, and the good clients' second sessions were PASS OLD with the
#   mail accepted by smtpd.
#   On failure the temp dir (capture.pcap, pf/maillog, verdict CSVs, bot transcripts)
#   is kept and its path printed; E2E_KEEP=1 keeps it also on success.
#   Namespaces, the Postfix master and tcpdump are removed/stopped on every exit.
#
# CONTRACT
#   postscreen_diff_test.sh BUILD_DIR   (binary: BUILD_DIR/dataplane/smtpscreen)
#   Exit 0 when every session matches; 1 with "FAIL: reason" otherwise, also when
#   Postfix, tcpdump or the namespaces cannot be set up. Must run as root.
#
# THREADING
#   One run at a time per PID (namespace names carry $$); bots run in parallel.

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
TEMPLATES=$TOP/tests/data/postscreen
NS_SRV=scrdiff-srv-$$
NS_CLI=scrdiff-cli-$$
IF_SRV=scrdiff-s
IF_CLI=scrdiff-c
SRV_IP=198.18.10.1
REJECT_IP=198.18.10.30
PERMIT_IP=198.18.10.31

# Client table: address, behaviour, what postscreen must log for each of its sessions
# (the harness check; "pass pass" = first session 450 + PASS NEW, then PASS OLD).
CLIENTS=(
	"198.18.10.10 good pass,pass"
	"198.18.10.11 pregreet fail:pregreet"
	"198.18.10.12 pregreet_teaser fail:pregreet"
	"198.18.10.13 bare_newline fail:bare_newline"
	"198.18.10.14 pipelining fail:pipelining"
	"198.18.10.15 get fail:non_smtp_command"
	"198.18.10.16 connect fail:non_smtp_command"
	"198.18.10.17 post fail:non_smtp_command"
	"198.18.10.18 subject fail:non_smtp_command"
	"198.18.10.19 swaks pass,pass"
	"198.18.10.20 get_nul fail:non_smtp_command"
	"198.18.10.21 nul_line unknown"
	"198.18.10.22 get_tab unknown"
	"198.18.10.23 tab_get fail:non_smtp_command"
	"198.18.10.24 space_get fail:non_smtp_command"
	"198.18.10.25 get_cr unknown"
	"198.18.10.26 subject_tab fail:non_smtp_command"
	"198.18.10.27 utf8_bad fail:non_smtp_command"
	"198.18.10.28 utf8_ok unknown"
	"198.18.10.32 get_lower fail:non_smtp_command"
	"198.18.10.33 get_alone fail:non_smtp_command"
	"198.18.10.34 subject_space unknown"
	"198.18.10.35 header_glued fail:non_smtp_command"
	"198.18.10.36 pipe_helo fail:pipelining"
	"198.18.10.37 pipe_ehlo fail:pipelining"
	"198.18.10.38 pipe_rset_quit fail:pipelining"
	"198.18.10.39 pipe_noop_noop fail:pipelining"
	"198.18.10.40 xnum_args fail:non_smtp_command"
	"198.18.10.41 xnum_lead fail:non_smtp_command"
	"198.18.10.42 xnum_not unknown"
	"$REJECT_IP denylisted blocklisted:access_reject"
	"$PERMIT_IP allowlisted allowlisted"
)

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BIN=$1/dataplane/smtpscreen

e2e_init scrdiff
e2e_require_root
e2e_require_cmd ip ss postfix postconf tcpdump swaks "$PY"
[ -x "$BIN" ] || e2e_fail "smtpscreen binary not found: $BIN"
[ -x /usr/lib/postfix/sbin/postscreen ] || e2e_fail "Postfix postscreen not installed"

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
e2e_log "Postfix $(postconf -d -h mail_version) running in $NS_SRV, config $(pf_conf "$PF")"

# --- clients, captured -----------------------------------------------------------
CAP=$E2E_TMP/capture.pcap
BOTS=$E2E_TMP/bots
mkdir -p "$BOTS"
cap_start "$NS_SRV" "$IF_SRV" "$CAP" "tcp port 25"

# run_bot - one smtpbot process in the client namespace; status in $BOTS/NAME.rc
run_bot() {
	local addr=$1 beh=$2
	ns_exec "$NS_CLI" "$PY" "$HERE/smtpbot.py" --server "$SRV_IP" --source "$addr" \
		--behaviour "$beh" --timeout 20 -v >"$BOTS/$beh.out" 2>"$BOTS/$beh.err"
	echo $? >"$BOTS/$beh.rc"
}

# run_swaks - swaks twice from one address: 450 first, then delivered
run_swaks() {
	local addr=$1 n
	for n in 1 2; do
		ns_exec "$NS_CLI" swaks --server "$SRV_IP" --from a@example.org \
			--to u@example.test --helo client.example --local-interface "$addr" \
			--timeout 20 >"$BOTS/swaks.$n.out" 2>&1
		echo $? >"$BOTS/swaks.$n.rc"
		sleep 1
	done
}

BEHAVIOURS=$E2E_TMP/behaviours.txt
: >"$BEHAVIOURS"
pids=()
# On an early exit stop the client loops first; ns_kill_pids then ends their children.
# shellcheck disable=SC2016 # expanded when the cleanup runs
e2e_cleanup_push 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; true'
for c in "${CLIENTS[@]}"; do
	read -r addr beh _ <<<"$c"
	echo "$addr $beh" >>"$BEHAVIOURS"
	if [ "$beh" = swaks ]; then
		run_swaks "$addr" &
	else
		run_bot "$addr" "$beh" &
	fi
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

# --- what postscreen said ----------------------------------------------------------
EXPECTED=$E2E_TMP/postscreen.csv
"$PY" "$E2E_LIB/psc_verdicts.py" expect "$MAILLOG" >"$EXPECTED" ||
	e2e_fail "cannot parse $MAILLOG"
echo "postscreen log lines per behaviour:"
for c in "${CLIENTS[@]}"; do
	read -r addr beh _ <<<"$c"
	grep -F "[$addr]:" "$MAILLOG" | grep -E 'postscreen\[' |
		grep -Ev ': (CONNECT from|DISCONNECT) ' | sed -e "s/^.*postscreen\[[0-9]*\]: /  $beh: /"
done
echo "expected verdicts (postscreen):"
sed -e 's/^/  /' "$EXPECTED"

# --- harness check: every behaviour provoked what it should ------------------------
bad=0
for c in "${CLIENTS[@]}"; do
	read -r addr beh want <<<"$c"
	got=$(awk -F, -v a="$addr" '$1 == a { printf "%s%s%s", sep, $5, ($6 == "" ? "" : ":" $6); sep = "," }' "$EXPECTED")
	if [ "$got" != "$want" ]; then
		e2e_log "harness: $beh from $addr: postscreen logged '$got', meant to provoke '$want'"
		bad=1
	fi
done
rc_of() { cat "$BOTS/$1.rc" 2>/dev/null || echo none; }
if ! { [ "$(rc_of good)" = 0 ] && grep -q 'result=tempfail' "$BOTS/good.out" &&
	grep -q 'RESULT behaviour=good result=accepted sessions=2' "$BOTS/good.out"; }; then
	e2e_log "harness: good bot: want 450 then accepted: $(cat "$BOTS/good.out")"
	bad=1
fi
if [ "$(rc_of allowlisted)" != 0 ]; then
	e2e_log "harness: allowlisted bot: mail not accepted: $(cat "$BOTS/allowlisted.out")"
	bad=1
fi
if [ "$(rc_of denylisted)" != 3 ]; then
	e2e_log "harness: denylisted bot: want a 5xx: $(cat "$BOTS/denylisted.out")"
	bad=1
fi
if ! { [ "$(rc_of swaks.1)" != 0 ] && [ "$(rc_of swaks.2)" = 0 ] &&
	grep -q 'queued as' "$BOTS/swaks.2.out"; }; then
	e2e_log "harness: swaks: want 450 then queued (rc $(rc_of swaks.1), $(rc_of swaks.2))"
	bad=1
fi
pass_old=$(grep -cE 'postscreen\[[0-9]+\]: PASS OLD \[198\.18\.10\.(10|19)\]' "$MAILLOG")
queued=$(grep -cE 'smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[198\.18\.10\.(10|19|31)\]' "$MAILLOG")
if [ "$pass_old" -ne 2 ] || [ "$queued" -ne 3 ]; then
	e2e_log "harness: want 2 PASS OLD and 3 mails through smtpd, got $pass_old and $queued"
	bad=1
fi
[ "$bad" -eq 0 ] || e2e_fail "the clients did not provoke the intended postscreen results (see $BOTS, $MAILLOG)"

# --- what smtpscreen says ------------------------------------------------------------
ACTUAL=$E2E_TMP/smtpscreen.csv
"$BIN" replay -c "$(pf_conf "$PF")" --verdicts "$ACTUAL" --log "$E2E_TMP/smtpscreen.log" \
	"$CAP" >"$E2E_TMP/replay.out" 2>&1 ||
	e2e_fail "smtpscreen replay failed ($?): $(tail -n 20 "$E2E_TMP/replay.out")"
[ -r "$ACTUAL" ] || e2e_fail "smtpscreen replay wrote no verdict file $ACTUAL"
"$PY" "$E2E_LIB/psc_verdicts.py" compare "$EXPECTED" "$ACTUAL" --behaviours "$BEHAVIOURS" ||
	e2e_fail "smtpscreen's verdicts differ from postscreen's (capture $CAP, log $MAILLOG)"

# --- the test lines, byte for byte ---------------------------------------------------
# fail2ban and pflogsumm read these lines: NON-SMTP COMMAND (command word, then the
# rest of the line as postscreen tokenizes it), BARE NEWLINE and COMMAND PIPELINING
# must read the same as postscreen's. (PREGREET's "after" delay is a time: not compared.)
# test_lines FILE PROGRAM - those lines of PROGRAM in FILE, sorted, without the prefix
test_lines() {
	grep -oE "$2\[[0-9]+\]: (NON-SMTP COMMAND|BARE NEWLINE|COMMAND PIPELINING) from .*" "$1" |
		sed -E 's/^[a-z]+\[[0-9]+\]: //' | LC_ALL=C sort
}
test_lines "$MAILLOG" postscreen >"$E2E_TMP/lines.postscreen"
test_lines "$E2E_TMP/smtpscreen.log" smtpscreen >"$E2E_TMP/lines.smtpscreen"
[ -s "$E2E_TMP/lines.postscreen" ] || e2e_fail "postscreen logged no test line in $MAILLOG"
diff -u "$E2E_TMP/lines.postscreen" "$E2E_TMP/lines.smtpscreen" ||
	e2e_fail "smtpscreen's test log lines differ from postscreen's (capture $CAP)"
e2e_log "PASS: smtpscreen agrees with postscreen on every session"
