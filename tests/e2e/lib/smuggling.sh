# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   smuggling.sh - the SMTP smuggling checks host_smuggling_test.sh and
#                  inline_smuggling_test.sh share
#
# DESCRIPTION
#   Both tests put a screener between smtpbot/swaks clients ($NET.10-.14, in
#   namespace $CLI) and a Postfix that takes "\n.\n" for the end of a message
#   ($SIP, mail log $MAILLOG), then check the same things; what differs (counters,
#   the live CSV, how the screener stops) stays in the test.
#
# CONTRACT
#   Source after common.sh, netns.sh and postfix.sh, with HERE, PY, CLI, SIP, NET,
#   TMP, LOG, MAILLOG and CTL set (the control socket is $TMP/ctl.sock).
#   smug_bot FROM BEHAVIOUR [ARGS]: smtpbot from $NET.FROM; its SESSION and RESULT
#     lines on one line.
#   smug_delivered SENDER: how many messages from SENDER the sink took.
#   smug_bare_lf_delivered: good mail with bare LFs in its body, from smtpbot (.10)
#     and from swaks (.13), is delivered and not taken for smuggling.
#   smug_stopped FROM BEHAVIOUR SMUGGLE_FROM TEXT: the smuggler from .FROM is stopped
#     (reset or closed, its mail not accepted) and logged "SMTP SMUGGLING from
#     [c]:p after DATA: " then TEXT (an ERE).
#   smug_guard_off: after a reload with smtpscreen_smuggling_enable = no, .12's
#     smuggled message (ceo-off@) is delivered, so the server is really vulnerable;
#     those of .11 (ceo-on@) and .14 (ceo-rset@), sent with the guard on, were not.
#   smug_capture_clean PCAP: the server-side capture has none of the commands
#     smuggled by .11 and .14, and has .12's (the capture works).
#   Each check calls e2e_fail when it does not hold.

# smug_bot FROM BEHAVIOUR [ARGS] - smtpbot from .FROM; its SESSION and RESULT lines
smug_bot() {
	local from=$1 b=$2
	shift 2
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$from" \
		--behaviour "$b" --attempts 1 --timeout 15 "$@" 2>>"$TMP/bot.err" | tail -n 2 | tr '\n' ' '
}

# smug_delivered SENDER - messages from SENDER the sink took (status=sent)
smug_delivered() {
	local id n=0
	for id in $(grep -E "qmgr\[[0-9]+\]: [0-9A-F]+: from=<$1>" "$MAILLOG" |
		    sed -E 's/.*: ([0-9A-F]+): from=.*/\1/'); do
		grep -qE "$id: .*status=sent \(smtpscreen test sink\)" "$MAILLOG" && n=$((n + 1))
	done
	echo "$n"
}

# smug_bare_lf_delivered - bare LFs in good mail are not smuggling
smug_bare_lf_delivered() {
	local res
	res=$(smug_bot 10 bare_lf_body --from bare@example.org)
	e2e_log ".10 bare_lf_body: $res"
	echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".10 bare-LF body not accepted: $res"
	e2e_wait_for 10 eval '[ "$(smug_delivered bare@example.org)" -ge 1 ]' ||
		e2e_fail "bare-LF body not delivered: $(tail -5 "$MAILLOG")"
	# ... and from swaks, its body's bare LFs sent as they are
	pf_swaks_bare_lf "$CLI" "$SIP" "$NET.13" swaks-bare@example.org "$TMP/swaks-bare.log" ||
		e2e_fail "swaks with a bare-LF body failed: $(tail -5 "$TMP/swaks-bare.log")"
	e2e_wait_for 10 eval '[ "$(smug_delivered swaks-bare@example.org)" -ge 1 ]' ||
		e2e_fail "swaks's bare-LF body not delivered: $(tail -5 "$MAILLOG")"
	grep -q "SMUGGLING from \[$NET\.1[03]\]" "$LOG" && e2e_fail "a bare-LF body was taken for smuggling"
	return 0
}

# smug_stopped FROM BEHAVIOUR SMUGGLE_FROM TEXT - the smuggler is stopped and logged
smug_stopped() {
	local res
	res=$(smug_bot "$1" "$2" --from relay@example.org --smuggle-from "$3")
	e2e_log ".$1 $2 (guard on): $res"
	echo "$res" | grep -q "result=accepted" && e2e_fail ".$1 $2 accepted: $res"
	echo "$res" | grep -Eq "RESULT .*result=(reset|closed) " || e2e_fail ".$1 $2 not stopped: $res"
	e2e_wait_for 5 grep -Eq "SMTP SMUGGLING from \[$NET\.$1\]:[0-9]+ after DATA: $4" "$LOG" ||
		e2e_fail "no SMTP SMUGGLING line for .$1: $(grep -i smuggl "$LOG" | tail -3)"
}

# smug_guard_off - with the guard off the smuggled message gets through
smug_guard_off() {
	local res rl
	sed -i '$a smtpscreen_smuggling_enable = no' "$TMP/screen.cf"
	rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) || e2e_fail "reload refused: $rl"
	sleep 1
	res=$(smug_bot 12 smuggling --from relay@example.org --smuggle-from ceo-off@example.test)
	e2e_log ".12 smuggling (guard off): $res"
	echo "$res" | grep -q "RESULT .*result=accepted" || e2e_fail ".12 smuggling (guard off) not accepted: $res"
	e2e_wait_for 10 eval '[ "$(smug_delivered ceo-off@example.test)" -ge 1 ]' ||
		e2e_fail "guard off: the smuggled message was not delivered, so this server is not vulnerable and the test proves nothing: $(tail -8 "$MAILLOG")"
	sleep 1
	[ "$(smug_delivered ceo-on@example.test)" -eq 0 ] || e2e_fail "guard on: the smuggled message was delivered"
	[ "$(smug_delivered ceo-rset@example.test)" -eq 0 ] ||
		e2e_fail "guard on: the message smuggled behind an RSET line was delivered"
	return 0
}

# smug_frames PCAP FROM TEXT - frames of PCAP from .FROM whose payload has TEXT
smug_frames() {
	tshark -r "$1" -Y "ip.src == $NET.$2 && tcp.payload contains \"$3\"" \
		-T fields -e frame.number 2>/dev/null | wc -l
}

# smug_capture_clean PCAP - what the server got
smug_capture_clean() {
	local m
	m=$(smug_frames "$1" 11 ceo-on@)
	[ "$m" -eq 0 ] || e2e_fail "the server got the smuggled commands of .11 ($m frames)"
	m=$(smug_frames "$1" 14 ceo-rset@)
	[ "$m" -eq 0 ] || e2e_fail "the server got the smuggled commands of .14 ($m frames)"
	m=$(smug_frames "$1" 12 ceo-off@)
	[ "$m" -gt 0 ] || e2e_fail "server-side capture lacks .12's smuggled commands: capture broken?"
	return 0
}
