#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_test.sh - `smtpscreen inline` end to end: clients, the appliance on two DPDK
#                    vdev ports, real Postfix behind it
#
# DESCRIPTION
#   Three namespaces: clients (il<PID>c, veth ilc0, 198.18.60.10-.30/24), the appliance
#   (il<PID>b, veth ends ilbc0 <-> ilc0 and ilbs0 <-> ils0, no addresses) and the mail
#   server (il<PID>s, veth ils0, 198.18.60.1/24: a private Postfix with plain smtpd on
#   port 25 whose accepted mail goes to the discard transport, and an HTTP server on
#   8080). Clients and server share one L2 segment through the appliance. The appliance
#   is `smtpscreen inline` with port 0 on ilbc0 and port 1 on ilbs0, both net_af_packet
#   or both net_af_xdp, started with nsenter --net so /sys/fs/bpf stays visible.
#   tcpdump records ilc0 (client side) and ils0 (server side) throughout.
#   Checks: ping and HTTP on 8080 pass; good mail (swaks) is delivered and logged PASS
#   NEW; pregreet, bare newline, pipelining, GET, CONNECT, Subject: and a non-FQDN HELO
#   are stopped (RST or 5xx, nothing delivered), logged with postscreen's line and
#   written as verdict fail with the right reason; a deny-listed source is refused;
#   the next SYN of each stopped client gets no connection, and with af_xdp it is
#   dropped in XDP (drop_block counter); a client past postscreen_command_count_limit
#   gets postscreen's 421, is logged COMMAND COUNT LIMIT and written pass,command_limit;
#   SIGTERM ends the appliance (exit 0, summary,
#   pins removed); `smtpscreen replay` of the client-side capture gives the live
#   verdict and reasons for every live flow, and no other row except, with af_xdp,
#   the SYNs that XDP dropped before the appliance saw them (a blocked bot's: fail
#   with its reason; the deny-listed one's: blocklisted); the server-side capture
#   holds no client payload of the stopped pregreet, GET, CONNECT and Subject bots.
#   IL_MIDDLE=testpmd runs dpdk-testpmd (io forward) as the middle box instead and
#   checks only what a plain forwarder must do (ping, HTTP, good mail, replay of the
#   capture runs): the check of the topology and EAL arguments.
#
# CONTRACT
#   inline_test.sh BUILD_DIR af_packet|af_xdp   (root). SMTPSCREEN / SMTPSCREENCTL
#   override the binaries; IL_MIDDLE=smtpscreen (default) or testpmd.
#   Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins, processes
#   (by PID), DPDK runtime files, also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/rbldnsd.sh"
. "$HERE/lib/capture.sh"
. "$HERE/lib/dpdk.sh"

BUILD=${1:?usage: inline_test.sh BUILD_DIR af_packet|af_xdp}
PMD=${2:?usage: inline_test.sh BUILD_DIR af_packet|af_xdp}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
MIDDLE=${IL_MIDDLE:-smtpscreen}
PY=/usr/bin/python3
CLI=il$$c
BOX=il$$b
SRV=il$$s
PREFIX=il$$
PIN=/sys/fs/bpf/il$$
SIP=198.18.60.1
NET=198.18.60

e2e_init "inline_$PMD"
E2E_NAME="inline_test($PMD,$MIDDLE)"
e2e_require_root
case $PMD in af_packet | af_xdp) ;; *) e2e_fail "port type '$PMD': af_packet or af_xdp" ;; esac
case $MIDDLE in smtpscreen | testpmd) ;; *) e2e_fail "IL_MIDDLE=$MIDDLE: smtpscreen or testpmd" ;; esac
e2e_require_cmd postfix swaks nsenter ss ethtool tcpdump tshark ping curl "$SCR" "$PY"
[ "$MIDDLE" = smtpscreen ] && e2e_require_cmd "$CTL"
if [ "$PMD" = af_xdp ]; then
	mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
fi
TMP=$E2E_TMP
e2e_cleanup_push "dk_runtime_cleanup '$PREFIX'"
e2e_cleanup_push "rm -rf '$PIN'"
# libxdp (the af_xdp PMD's default program on port 1) creates /sys/fs/bpf/xdp:
# remove it if this run caused it
if [ ! -d /sys/fs/bpf/xdp ]; then
	e2e_cleanup_push "rmdir /sys/fs/bpf/xdp 2>/dev/null || true"
fi

# --- topology -----------------------------------------------------------------
ns_create "$SRV"
ns_create "$BOX"
ns_create "$CLI"
ns_veth "$CLI" ilc0 "$BOX" ilbc0
ns_veth "$SRV" ils0 "$BOX" ilbs0
dk_no_offload "$CLI" ilc0
dk_no_offload "$BOX" ilbc0 ilbs0
dk_no_offload "$SRV" ils0
ns_addr "$SRV" ils0 "$SIP/24"
for i in $(seq 10 30); do ns_addr "$CLI" ilc0 "$NET.$i/24"; done
# No IPv6 chatter (router solicitations, MLD) on the segment: the captures stay SMTP+ARP.
for ns in "$CLI" "$BOX" "$SRV"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
done

# --- server side: Postfix (plain smtpd, discard sink) and HTTP on 8080 -----------
mkdir -p "$TMP/www"
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"
echo "smtpscreen inline test page $$" > "$TMP/www/page.txt"
(cd "$TMP/www" && exec ip netns exec "$SRV" "$PY" -m http.server --bind "$SIP" 8080 \
	>"$TMP/http.log" 2>&1) &
HTTP_PID=$!
e2e_cleanup_push "e2e_kill_pid $HTTP_PID"
ns_wait_listen "$SRV" "$SIP" 8080 || e2e_fail "HTTP server does not listen on $SIP:8080"

# --- a DNSBL (Debian's rbldnsd) on the appliance's loopback: .18 is listed ------
rbl_start "$BOX" "$TMP/rbl" dnsbl.il.test 198.18.60.18

# --- smtpscreen config: greet wait short, every test on ------------------------
cat > "$TMP/access.cidr" <<'CEOF'
198.18.60.20/32 reject
CEOF
cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks, cidr:$TMP/access.cidr
postscreen_denylist_action = drop
postscreen_greet_action = drop
postscreen_dnsbl_sites = dnsbl.il.test=127.0.0.2*3
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = drop
smtpscreen_dnsbl_servers = 127.0.0.1:$RBL_PORT
smtpscreen_metrics_listen = 127.0.0.1:$((RBL_PORT + 1))
postscreen_greet_wait = 2s
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_non_smtp_command_action = drop
postscreen_bare_newline_enable = yes
postscreen_bare_newline_action = enforce
smtpscreen_helo_enable = yes
smtpscreen_block_ttl = 3600
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
CEOF
LOG=$TMP/smtpscreen.log
LIVE=$TMP/live.csv

# --- captures on both sides -------------------------------------------------------
cap_start "$CLI" ilc0 "$TMP/client.pcap" "ip or arp"
CAPC=("$CAP_PID" "$CAP_LOG" "$CAP_FILE")
cap_start "$SRV" ils0 "$TMP/server.pcap" "ip or arp"
CAPS=("$CAP_PID" "$CAP_LOG" "$CAP_FILE")
# stop_cap NAME - stop one of the two captures (capture.sh tracks one at a time),
# once tcpdump has caught up: on a loaded machine it reads the kernel's buffer
# late, and SIGINT loses what it has not read yet (the file must stop growing
# for a second, at most 20 s)
stop_cap() {
	local -n c=$1
	local n last=-1 size
	for ((n = 0; n < 20; n++)); do
		size=$(stat -c %s "${c[2]}" 2>/dev/null || echo 0)
		[ "$size" = "$last" ] && break
		last=$size
		sleep 1
	done
	CAP_PID=${c[0]} CAP_LOG=${c[1]} CAP_FILE=${c[2]}
	cap_stop >/dev/null
}

# --- the middle box -------------------------------------------------------------
mapfile -t EAL < <(dk_eal_args "$PMD" ilbc0 ilbs0 "$PREFIX")
SPID=
stop_scr() {
	[ -n "$SPID" ] || return 0
	e2e_kill_pid "$SPID" 20
	wait "$SPID" 2>/dev/null
	SPID=
	return 0
}
if [ "$MIDDLE" = testpmd ]; then
	dk_testpmd_start "$BOX" "$TMP/testpmd.out" "${EAL[@]}"
else
	e2e_cleanup_push "stop_scr"
	# Under ASan (sanitize builds): DPDK 22.11's af_xdp PMD never frees the umem and
	# the bpf_object of a custom xdp_prog; that is not ours, so it is suppressed (full
	# stacks needed to see the PMD frame). Harmless for a build without ASan.
	printf 'leak:librte_net_af_xdp.so\n' >"$TMP/lsan.supp"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
	LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TMP/lsan.supp" \
	nsenter --net=/run/netns/$BOX "$SCR" inline -c "$TMP/screen.cf" --log "$LOG" \
		--verdicts "$LIVE" --pin-dir "$PIN" -s "$TMP/ctl.sock" -- "${EAL[@]}" \
		>"$TMP/inline.out" 2>"$TMP/inline.err" &
	SPID=$!
	e2e_wait_for 60 grep -q "smtpscreen: inline: ready" "$TMP/inline.err" || {
		e2e_alive "$SPID" || e2e_fail "smtpscreen inline exited: $(tail -n 20 "$TMP/inline.err")"
		e2e_fail "smtpscreen inline not ready after 60 s: $(tail -n 20 "$TMP/inline.err")"
	}
	if [ "$PMD" = af_xdp ]; then
		e2e_wait_for 10 test -e "$PIN" || e2e_fail "no pins under $PIN"
		ip -n "$BOX" link show ilbc0 | grep -q 'xdp' || e2e_fail "no XDP program on ilbc0"
	fi
fi
e2e_log "middle box up: $MIDDLE, ${EAL[*]}"

# bot FROM BEHAVIOUR [ARGS] - run smtpbot from .FROM, print its last SESSION and RESULT lines
bot() {
	local from=$1 b=$2
	shift 2
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$from" \
		--behaviour "$b" --attempts 1 --timeout 10 "$@" 2>>"$TMP/bot.err" | tail -n 2 | tr '\n' ' '
}
# syn FROM - 0 when a TCP connection from .FROM to port 25 completes in 3 s
syn() {
	ns_tcp_connect "$CLI" "$NET.$1" "$SIP" 25 3
}
# xdp_ctr NAME - an XDP counter, read from the pins
xdp_ctr() {
	"$CTL" -s /nonexistent -p "$PIN" stats 2>>"$TMP/ctl.err" | awk -v n="$1" '$1 == n { print $2 }'
}
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$PF")"; }
# good_mail FROM TAG - swaks from .FROM; fail unless the mail is delivered
good_mail() {
	local n0
	n0=$(delivered)
	ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
		--local-interface "$NET.$1" --helo client.example.org --timeout 30 \
		>"$TMP/swaks-$2.log" 2>&1 || e2e_fail "swaks ($2) from .$1 failed: $(tail -5 "$TMP/swaks-$2.log")"
	e2e_wait_for 10 eval '[ "$(delivered)" -gt '"$n0"' ]' ||
		e2e_fail "good mail ($2) not delivered: $(tail -5 "$(pf_maillog "$PF")")"
}

# --- not SMTP: passes unchanged -------------------------------------------------
ns_exec "$CLI" ping -c 3 -i 0.2 -W 3 -I "$NET.10" "$SIP" >"$TMP/ping.log" 2>&1 ||
	e2e_fail "ping through the middle box failed: $(tail -3 "$TMP/ping.log")"
page=$(ns_exec "$CLI" curl -sS --max-time 10 --interface "$NET.10" "http://$SIP:8080/page.txt" 2>&1) ||
	e2e_fail "HTTP on 8080 through the middle box failed: $page"
[ "$page" = "smtpscreen inline test page $$" ] || e2e_fail "HTTP page changed on the way: $page"

# --- good mail --------------------------------------------------------------------
good_mail 10 first
[ "$MIDDLE" = smtpscreen ] && { e2e_wait_for 5 grep -q "PASS NEW \[$NET.10\]" "$LOG" ||
	e2e_fail "no PASS NEW for .10: $(cat "$LOG")"; }

# --- bots -----------------------------------------------------------------------
declare -A BOT_B=([11]=pregreet [12]=bare_newline [13]=pipelining [14]=get [15]=connect
	[16]=subject [17]=good [18]=good)
declare -A BOT_LOG=(
	[11]="PREGREET [0-9]+ after [0-9.]+ from \[$NET.11\]"
	[12]="BARE NEWLINE from \[$NET.12\]"
	[13]="COMMAND PIPELINING from \[$NET.13\]"
	[14]="NON-SMTP COMMAND from \[$NET.14\]:[0-9]+ after CONNECT: GET"
	[15]="NON-SMTP COMMAND from \[$NET.15\]:[0-9]+ after CONNECT: CONNECT"
	[16]="NON-SMTP COMMAND from \[$NET.16\]:[0-9]+ after CONNECT: Subject:"
	[17]="HELO VIOLATION from \[$NET.17\]"
	[18]="DNSBL rank 3 for \[$NET.18\]"
)
declare -A BOT_WHY=([11]=pregreet [12]=bare_newline [13]=pipelining [14]=non_smtp_command
	[15]=non_smtp_command [16]=non_smtp_command [17]=helo [18]=dnsbl)
# .18 behaves well but is listed by the DNSBL: its lookup starts at its SYN,
# the answer stops the session at its next frame (the held greeting)
BOTS="11 12 13 14 15 16 17 18"
NBOTS=8
if [ "$MIDDLE" = smtpscreen ]; then
	n0=$(delivered)
	for i in $BOTS; do
		args=()
		[ "$i" = 17 ] && args=(--helo bot)
		res=$(bot "$i" "${BOT_B[$i]}" "${args[@]}")
		e2e_log ".$i ${BOT_B[$i]}: $res"
		echo "$res" | grep -q "result=accepted" && e2e_fail ".$i ${BOT_B[$i]} delivered mail: $res"
		# stopped: the client gets postscreen's 5xx line and/or our RST
		echo "$res" | grep -Eq "RESULT .*result=(rejected|reset) " ||
			e2e_fail ".$i ${BOT_B[$i]}: session not stopped (want a 5xx or a RST): $res"
		e2e_wait_for 5 grep -Eq "${BOT_LOG[$i]}" "$LOG" ||
			e2e_fail ".$i: no log line /${BOT_LOG[$i]}/: $(tail -20 "$LOG")"
		e2e_wait_for 5 eval "grep -Eq '^$NET\.$i,[0-9]+,$SIP,25,fail,([a-z_]+\|)*${BOT_WHY[$i]}(\||\$)' '$LIVE'" ||
			e2e_fail ".$i: no verdict 'fail,${BOT_WHY[$i]}' in the live CSV: $(grep "^$NET.$i," "$LIVE")"
	done
	# deny-listed source: refused at the SYN (with af_xdp in the kernel: drop_reject)
	[ "$PMD" = af_xdp ] && before=$(xdp_ctr xdp_drop_reject_packets)
	res=$(bot 20 denylisted)
	e2e_log ".20 denylisted: $res"
	echo "$res" | grep -Eq "RESULT .*result=(timeout|error) " ||
		e2e_fail "deny-listed .20 got a connection: $res"
	if [ "$PMD" = af_xdp ]; then
		after=$(xdp_ctr xdp_drop_reject_packets)
		[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
			e2e_fail "drop_reject counter '$before' -> '$after': $(cat "$TMP/ctl.err")"
	else
		e2e_wait_for 5 grep -Eq ": (BLACKLISTED|DENYLISTED) \[$NET.20\]" "$LOG" ||
			e2e_fail "no DENYLISTED/BLACKLISTED line for .20: $(tail -5 "$LOG")"
		e2e_wait_for 5 grep -Eq "^$NET\.20,[0-9]+,$SIP,25,blocklisted,access_reject\$" "$LIVE" ||
			e2e_fail "no 'blocklisted,access_reject' row for .20: $(grep "^$NET.20," "$LIVE")"
	fi
	sleep 1
	[ "$(delivered)" -eq "$n0" ] || e2e_fail "a bot's mail was delivered"

	# the next SYN of each stopped client gets no connection; with af_xdp the
	# kernel drops it (drop_block)
	[ "$PMD" = af_xdp ] && before=$(xdp_ctr xdp_drop_block_packets)
	for i in $BOTS; do
		syn "$i" && e2e_fail ".$i (${BOT_B[$i]}) connected again after its failure"
	done
	if [ "$PMD" = af_xdp ]; then
		after=$(xdp_ctr xdp_drop_block_packets)
		[ -n "$before" ] && [ -n "$after" ] ||
			e2e_fail "no xdp_drop_block_packets counter from '$CTL -p $PIN stats': $(cat "$TMP/ctl.err")"
		[ "$after" -ge $((before + NBOTS)) ] ||
			e2e_fail "drop_block counter $before -> $after (want +$NBOTS)"
		e2e_log "XDP drop_block $before -> $after"
	fi
	# a passed client still gets through after all that
	good_mail 10 second

	# postscreen's command count limit (20): the 21st command gets postscreen's
	# 421 and the session ends; the client had passed HELO and failed nothing,
	# so it passes (verdict pass, reason command_limit) and may come back
	res=$(bot 19 noop_flood)
	e2e_log ".19 noop_flood: $res"
	echo "$res" | grep -Eq "SESSION .*result=tempfail replies=([0-9]+,){21}421 " ||
		e2e_fail ".19 noop_flood: want 421 to its 21st command: $res"
	e2e_wait_for 5 grep -q "COMMAND COUNT LIMIT from \[$NET.19\]:[0-9]* after NOOP" "$LOG" ||
		e2e_fail "no COMMAND COUNT LIMIT line for .19: $(tail -5 "$LOG")"
	e2e_wait_for 5 grep -Eq "^$NET\.19,[0-9]+,$SIP,25,pass,command_limit\$" "$LIVE" ||
		e2e_fail "no 'pass,command_limit' row for .19: $(grep "^$NET.19," "$LIVE")"
	syn 19 || e2e_fail ".19 (command count limit, passed) cannot connect again"

	# operations: the control socket and the metrics
	st=$("$CTL" -s "$TMP/ctl.sock" status 2>&1) || e2e_fail "smtpscreenctl status: $st"
	echo "$st" | grep -q "smtpscreen inline: running" || e2e_fail "status: $st"
	cl=$("$CTL" -s "$TMP/ctl.sock" cache list 2>&1) || e2e_fail "cache list: $cl"
	echo "$cl" | grep -Eq "^$NET\.11 .*block=[0-9]+\(\+[0-9]+s\) reasons=pregreet" ||
		e2e_fail "cache list has no block for .11: $cl"
	echo "$cl" | grep -Eq "^$NET\.10 .*pregreet=[0-9]+" || e2e_fail "cache list has no pass for .10: $cl"
	sleep 1.5	# metrics are rendered once a second
	mx=$(ip netns exec "$BOX" curl -sS --max-time 5 "http://127.0.0.1:$((RBL_PORT + 1))/metrics" 2>&1) ||
		e2e_fail "metrics: $mx"
	for m in 'smtpscreen_test_failures_total\{test="pregreet"\} [1-9]' \
		'smtpscreen_test_failures_total\{test="dnsbl"\} [1-9]' \
		'smtpscreen_dnsbl_lookups_total [1-9]' 'smtpscreen_flows_total [1-9]' \
		'smtpscreen_port_packets_total\{port="0",direction="rx"\} [1-9]'; do
		echo "$mx" | grep -Eq "^$m" || e2e_fail "metrics lack /$m/: $(echo "$mx" | head -40)"
	done
	# reload is all or nothing: a bad DNSBL entry is refused, naming it
	cp "$TMP/screen.cf" "$TMP/screen.cf.good"
	echo "postscreen_dnsbl_sites = dnsbl.il.test=127.0.0.[2..x]*3" >>"$TMP/screen.cf"
	rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) && e2e_fail "bad reload accepted: $rl"
	echo "$rl" | grep -q 'postscreen_dnsbl_sites: bad entry "dnsbl.il.test=127.0.0.\[2..x\]\*3"' ||
		e2e_fail "bad reload message: $rl"
	cp "$TMP/screen.cf.good" "$TMP/screen.cf"
	rl=$("$CTL" -s "$TMP/ctl.sock" reload 2>&1) || e2e_fail "good reload refused: $rl"
	e2e_log "control socket (status, cache list, reload) and metrics answer"
fi

# --- the non-SMTP checks once more, after the screening -------------------------
ns_exec "$CLI" ping -c 2 -i 0.2 -W 3 -I "$NET.12" "$SIP" >"$TMP/ping2.log" 2>&1 ||
	e2e_fail "ping from a blocked SMTP client failed: $(tail -3 "$TMP/ping2.log")"
page=$(ns_exec "$CLI" curl -sS --max-time 10 --interface "$NET.11" "http://$SIP:8080/page.txt" 2>&1) ||
	e2e_fail "HTTP on 8080 from a blocked SMTP client failed: $page"

# --- stop -----------------------------------------------------------------------
if [ "$MIDDLE" = testpmd ]; then
	dk_testpmd_stop
else
	dk_inline_stop "$SPID" "$TMP/inline.out" "$TMP/inline.err"
	SPID=
	[ -e "$PIN" ] && e2e_fail "pins left after SIGTERM: $(ls "$PIN")"
	ip -n "$BOX" link show ilbc0 | grep -q 'prog/xdp' && e2e_fail "XDP program left on ilbc0"
fi
sleep 0.5
stop_cap CAPC || e2e_fail "client-side capture empty: $(cat "${CAPC[1]}")"
stop_cap CAPS || e2e_fail "server-side capture empty: $(cat "${CAPS[1]}")"

# --- replay of the client-side capture gives the live verdicts --------------------
"$SCR" replay -c "$TMP/screen.cf" --verdicts "$TMP/replay.csv" --log "$TMP/replay.log" \
	"$TMP/client.pcap" >"$TMP/replay.out" 2>&1 || e2e_fail "replay of the capture: $(cat "$TMP/replay.out")"
head -1 "$TMP/replay.csv" | grep -qx 'client,client_port,server,server_port,verdict,reasons' ||
	e2e_fail "replay CSV header: $(head -1 "$TMP/replay.csv")"
if [ "$MIDDLE" = testpmd ]; then
	grep -q "^$NET\.10,[0-9]*,$SIP,25,pass," "$TMP/replay.csv" ||
		e2e_fail "replay: no pass for the good client: $(cat "$TMP/replay.csv")"
	e2e_log "testpmd: ping, HTTP and good mail through $PMD ports; replay of the capture: $(($(wc -l <"$TMP/replay.csv") - 1)) flows"
	e2e_log "PASS"
	exit 0
fi
head -1 "$LIVE" | grep -qx 'client,client_port,server,server_port,verdict,reasons' ||
	e2e_fail "live CSV header: $(head -1 "$LIVE")"
tail -n +2 "$LIVE" | sort >"$TMP/live.sorted"
tail -n +2 "$TMP/replay.csv" | sort >"$TMP/replay.sorted"
# live rows: .10 twice, each bot's session, .19's session and its next connection
# (passed); with af_packet also each bot's blocked next SYN (the appliance sees it
# and stops it: fail with the first reason) and .20 (blocklisted); with af_xdp
# those never leave the kernel
want=$((NBOTS + 4))
[ "$PMD" = af_packet ] && want=$((2 * NBOTS + 5))
nlive=$(wc -l <"$TMP/live.sorted")
[ "$nlive" -eq "$want" ] || e2e_fail "live CSV has $nlive rows, want $want: $(cat "$LIVE")"
per=1
[ "$PMD" = af_packet ] && per=2
for i in $BOTS; do
	n=$(grep -Ec "^$NET\.$i,[0-9]+,$SIP,25,fail,([a-z_]+\|)*${BOT_WHY[$i]}(\||\$)" "$TMP/live.sorted")
	[ "$n" -eq "$per" ] || e2e_fail ".$i: $n 'fail,${BOT_WHY[$i]}' live rows: $(grep "^$NET.$i," "$LIVE")"
done
# every live row, the same in the replay -- but .18's: replay makes no DNS lookups
grep -v "^$NET\.18," "$TMP/live.sorted" >"$TMP/l.tmp"; mv "$TMP/l.tmp" "$TMP/live.sorted"
grep -v "^$NET\.18," "$TMP/replay.sorted" >"$TMP/r.tmp"; mv "$TMP/r.tmp" "$TMP/replay.sorted"
missing=$(comm -23 "$TMP/live.sorted" "$TMP/replay.sorted")
[ -z "$missing" ] || e2e_fail "live verdicts the replay does not give:
$missing
replay rows of those clients:
$(for c in $(echo "$missing" | cut -d, -f1 | sort -u); do grep "^$c," "$TMP/replay.sorted"; done)"
# replay rows the live run has not: with af_xdp exactly the next SYNs of the 7 stopped
# bots (fail, their reason: replay blocks them as the appliance did) and .20's
# (blocklisted), which XDP dropped before the appliance saw them; with af_packet none
extra=$(comm -13 "$TMP/live.sorted" "$TMP/replay.sorted")
nextra=$(echo -n "$extra" | grep -c .)
if [ "$PMD" = af_packet ]; then
	[ "$nextra" -eq 0 ] || e2e_fail "replay rows the live run lacks (af_packet sees every SYN):
$extra"
else
	[ "$nextra" -eq 8 ] || e2e_fail "$nextra replay rows the live run lacks, want 8 (XDP-dropped SYNs):
$extra"
	for i in $BOTS; do
		[ "$i" = 18 ] && continue	# not compared (no DNS in replay)
		echo "$extra" | grep -Eq "^$NET\.$i,[0-9]+,$SIP,25,fail,([a-z_]+\|)*${BOT_WHY[$i]}(\||\$)" ||
			e2e_fail "replay: no 'fail,${BOT_WHY[$i]}' row for .$i's XDP-dropped SYN: $extra"
	done
	echo "$extra" | grep -Eq "^$NET\.20,[0-9]+,$SIP,25,blocklisted,access_reject\$" ||
		e2e_fail "replay: no 'blocklisted,access_reject' row for .20: $extra"
fi
e2e_log "verdicts: $nlive live rows, all equal in the replay of the client-side capture" \
	"($nextra extra replay rows for XDP-dropped SYNs)"

# --- the server never got the payload of a bot stopped before its first command ---
for i in 11 14 15 16; do
	n=$(tshark -r "$TMP/server.pcap" -Y "ip.src == $NET.$i && tcp.dstport == 25 && tcp.len > 0" \
		-T fields -e frame.number 2>/dev/null | wc -l)
	[ "$n" -eq 0 ] || e2e_fail "server side got $n payload frames from .$i (${BOT_B[$i]})"
done
n=$(tshark -r "$TMP/server.pcap" -Y "ip.src == $NET.10 && tcp.dstport == 25 && tcp.len > 0" \
	-T fields -e frame.number 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || e2e_fail "server-side capture has no payload of the good client: capture broken?"
e2e_log "PASS"
exit 0
