#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_store_test.sh - the appliance's verdicts survive `kill -9`: the LMDB store
#                          (smtpscreen_cache_file) back in the workers' caches and in
#                          port 0's XDP block map before a frame is forwarded
#
# DESCRIPTION
#   Topology as in inline_test.sh: clients (ilst<PID>c, veth ilstc0, 198.18.64.10-.20/24),
#   the appliance (ilst<PID>b, ilstbc0 <-> ilstc0 and ilstbs0 <-> ilsts0, no addresses)
#   and the mail server (ilst<PID>s, ilsts0, 198.18.64.1/24, a private Postfix: plain
#   smtpd, discard sink). The appliance is `smtpscreen inline` with port 0 on ilstbc0
#   and port 1 on ilstbs0 (both net_af_xdp, or both net_af_packet), started with
#   nsenter --net, with smtpscreen_cache_file = TMP/verdicts.lmdb.
#   First run: a good client (.10, swaks) is delivered and logged PASS NEW; a pregreet
#   bot (.11, smtpbot.py) is stopped (5xx or RST) and logged PREGREET; `cache list`
#   shows both. Then the appliance is killed with SIGKILL (no shutdown: with af_xdp
#   its XDP program stays attached to ilstbc0 and pinned, its control socket file,
#   DPDK runtime files and /run/smtpscreen/inline-xdp-PID.o stay behind) and started
#   again with the same command line, as systemd's Restart=on-failure would. Before any client traffic: `cache list` shows the block of
#   .11 (reasons=pregreet) and the pass of .10, and with af_xdp the XDP block map
#   (`smtpscreenctl -p PIN block list`) holds 198.18.64.11/32. Then: the bot's new SYN
#   gets no connection (af_xdp: XDP drop_block grows; af_packet: the log says BLOCKED
#   for it), a client never seen (.12) still connects, and .10 is logged PASS OLD
#   (no second PASS NEW) and its mail is delivered. With af_xdp, a reload to a list
#   bigger than the XDP maps were made for (300,000 separate /32s: 862K DXR ranges
#   against 2^19; 80,000 IPv6 prefixes against 65,536) takes effect: a client on it (.13) is dropped by XDP (drop_reject). SIGTERM ends the
#   second run (exit 0, summary, pins removed).
#
# CONTRACT
#   inline_store_test.sh BUILD_DIR [af_xdp|af_packet]   (root; default af_xdp).
#   SMTPSCREEN / SMTPSCREENCTL override the binaries. Exit 0 pass, 1 fail (message
#   says why). Cleans up namespaces, pins, processes (by PID), DPDK runtime files,
#   also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_store_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/dpdk.sh"

BUILD=${1:?usage: inline_store_test.sh BUILD_DIR [af_xdp|af_packet]}
PMD=${2:-af_xdp}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
CLI=ilst$$c
BOX=ilst$$b
SRV=ilst$$s
PREFIX=ilst$$
PIN=/sys/fs/bpf/ilst$$
SIP=198.18.64.1
NET=198.18.64

e2e_init "inline_store_$PMD"
E2E_NAME="inline_store_test($PMD)"
e2e_require_root
case $PMD in af_packet | af_xdp) ;; *) e2e_fail "port type '$PMD': af_packet or af_xdp" ;; esac
e2e_require_cmd postfix swaks nsenter ss ethtool "$SCR" "$CTL" "$PY"
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

# --- topology and mail server ------------------------------------------------------
ns_create "$SRV"
ns_create "$BOX"
ns_create "$CLI"
dk_wire "$CLI" ilstc0 "$BOX" ilstbc0 ilstbs0 "$SRV" ilsts0
ns_addr "$SRV" ilsts0 "$SIP/24"
for i in $(seq 10 20); do ns_addr "$CLI" ilstc0 "$NET.$i/24"; done
PF=$TMP/pf
pf_sink_start "$SRV" "$SIP" "$PF"

cat > "$TMP/screen.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = drop
postscreen_greet_wait = 2s
smtpscreen_block_ttl = 3600
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts.lmdb
CEOF
LOG=$TMP/smtpscreen.log
SOCK=$TMP/ctl.sock
mapfile -t EAL < <(dk_eal_args "$PMD" ilstbc0 ilstbs0 "$PREFIX")
XPIN=
[ "$PMD" = af_xdp ] && XPIN=$PIN
SPID=
stop_scr() {
	[ -n "$SPID" ] || return 0
	e2e_kill_pid "$SPID" 20
	wait "$SPID" 2>/dev/null
	SPID=
	return 0
}
e2e_cleanup_push "stop_scr"
# start_scr RUN - the appliance, the same command line every run
start_scr() {
	dk_inline_start "$BOX" "$XPIN" "$TMP/inline-$1.out" "$TMP/inline-$1.err" \
		"$SCR" inline -c "$TMP/screen.cf" --log "$LOG" --pin-dir "$PIN" -s "$SOCK" \
		-- "${EAL[@]}"
	SPID=$DK_INLINE_PID
	if [ "$PMD" = af_xdp ]; then
		ip -n "$BOX" link show ilstbc0 | grep -q 'prog/xdp' || e2e_fail "run $1: no XDP program on ilstbc0"
	fi
	e2e_log "run $1: appliance up (pid $SPID), ${EAL[*]}"
}

# bot FROM BEHAVIOUR - smtpbot from .FROM, its RESULT line
bot() {
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$1" \
		--behaviour "$2" --attempts 1 --timeout 10 2>>"$TMP/bot.err" | tail -n 1
}
# syn FROM - 0 when a TCP connection from .FROM to port 25 completes in 3 s
syn() {
	ns_tcp_connect "$CLI" "$NET.$1" "$SIP" 25 3
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
# cache_has ERE - `cache list` through the socket has a line matching ERE
cache_has() {
	"$CTL" -s "$SOCK" cache list 2>>"$TMP/ctl.err" | grep -Eq -- "$1"
}
PASS_RE="^$NET\.10 .*pregreet=[0-9]+\(\+[0-9]+s\)"
BLOCK_RE="^$NET\.11 .*block=[0-9]+\(\+[0-9]+s\) reasons=pregreet"

# --- first run: a pass and a block ---------------------------------------------------
start_scr 1
good_mail 10 first
e2e_wait_for 5 grep -q "PASS NEW \[$NET.10\]" "$LOG" || e2e_fail "no PASS NEW for .10: $(cat "$LOG")"
res=$(bot 11 pregreet)
e2e_log ".11 pregreet: $res"
echo "$res" | grep -Eq "RESULT .*result=(rejected|reset) " ||
	e2e_fail ".11 pregreet: session not stopped (want a 5xx or a RST): $res"
e2e_wait_for 5 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.11\]" "$LOG" ||
	e2e_fail "no PREGREET line for .11: $(tail -5 "$LOG")"
# the verdicts are in the master cache (and so, written through, in the LMDB file)
e2e_wait_for 5 cache_has "$PASS_RE" || e2e_fail "run 1: cache list lacks the pass of .10"
e2e_wait_for 5 cache_has "$BLOCK_RE" || e2e_fail "run 1: cache list lacks the block of .11"
if [ "$PMD" = af_xdp ]; then
	"$CTL" -p "$PIN" block list 2>&1 | grep -q "^$NET.11/32" ||
		e2e_fail "run 1: XDP block map lacks .11: $("$CTL" -p "$PIN" block list 2>&1)"
fi

# --- kill -9: nothing is shut down ---------------------------------------------------
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null
# the XDP object it wrote for the PMD (removed at a normal exit)
e2e_cleanup_push "rm -f '/run/smtpscreen/inline-xdp-$SPID.o'"
e2e_alive "$SPID" && e2e_fail "smtpscreen inline survived SIGKILL"
SPID=
e2e_log "killed with SIGKILL; left behind: $(ls "$PIN" 2>/dev/null | tr '\n' ' ')socket $( [ -e "$SOCK" ] && echo yes || echo no)"

# --- second run, same command line; no client traffic yet ----------------------------
e2e_log "run 2: the same command line after the SIGKILL"
start_scr 2
cl=$("$CTL" -s "$SOCK" cache list 2>&1) || e2e_fail "run 2: cache list: $cl"
echo "$cl" | grep -Eq "$BLOCK_RE" || e2e_fail "run 2: the block of .11 was not reloaded: $cl"
echo "$cl" | grep -Eq "$PASS_RE" || e2e_fail "run 2: the pass of .10 was not reloaded: $cl"
if [ "$PMD" = af_xdp ]; then
	bl=$("$CTL" -p "$PIN" block list 2>&1) || e2e_fail "run 2: block list from $PIN: $bl"
	echo "$bl" | grep -q "^$NET.11/32" || e2e_fail "run 2: XDP block map lacks .11: $bl"
	echo "$bl" | grep -q "^$NET.10/" && e2e_fail "run 2: XDP block map holds the good client .10: $bl"
fi
e2e_log "run 2: before any client traffic, the verdicts are in cache list$([ "$PMD" = af_xdp ] && echo " and in the XDP map")"

# --- the bot is dropped, the good client is PASS OLD ---------------------------------
if [ "$PMD" = af_xdp ]; then
	before=$(dk_xdp_ctr "$CTL" "$PIN" xdp_drop_block_packets)
	[ -n "$before" ] || e2e_fail "no xdp_drop_block_packets counter from '$CTL -p $PIN stats'"
fi
syn 11 && e2e_fail ".11 (blocked before the SIGKILL) connected after the restart"
if [ "$PMD" = af_xdp ]; then
	after=$(dk_xdp_ctr "$CTL" "$PIN" xdp_drop_block_packets)
	[ -n "$after" ] && [ "$after" -gt "$before" ] ||
		e2e_fail "XDP drop_block counter '$before' -> '$after' for .11's SYN"
	e2e_log "XDP drop_block $before -> $after"
else
	e2e_wait_for 5 grep -q "BLOCKED \[$NET.11\]" "$LOG" ||
		e2e_fail "no BLOCKED line for .11 after the restart: $(tail -5 "$LOG")"
fi
syn 12 || e2e_fail ".12 (never seen) cannot connect after the restart"
good_mail 10 second
e2e_wait_for 5 grep -Eq "PASS OLD \[$NET.10\]:[0-9]+" "$LOG" ||
	e2e_fail "no PASS OLD for .10 after the restart: $(tail -5 "$LOG")"
[ "$(grep -c "PASS NEW \[$NET.10\]" "$LOG")" -eq 1 ] ||
	e2e_fail ".10 was tested again after the restart: $(grep "\[$NET.10\]" "$LOG")"

# --- af_xdp: a reload to a list ten times what port 0's XDP maps were made for ----------
# The PMD made the maps from the ELF (2^19 IPv4 DXR ranges, 65,536 IPv6 prefixes per
# copy); 300,000 separate /32s (2^18 + 600,000 ranges) and 80,000 IPv6 /64s get bigger
# maps in the copy the reload writes (it used to be refused: "does not fit the maps").
if [ "$PMD" = af_xdp ]; then
	"$PY" "$HERE/lib/growcidr.py" "$TMP/big.cidr" 300000 "$NET.13" ||
		e2e_fail "cannot write the big table"
	syn 13 || e2e_fail ".13 cannot connect before the big list"
	n_rl=$(grep -c "reload: $TMP/screen.cf" "$LOG")
	sed -i 's|^postscreen_access_list = .*|postscreen_access_list = permit_mynetworks, cidr:'"$TMP"'/big.cidr\npostscreen_denylist_action = drop|' "$TMP/screen.cf"
	kill -HUP "$SPID"
	e2e_wait_for 60 eval '[ "$(grep -c "reload: $TMP/screen.cf" "$LOG")" -gt '"$n_rl"' ]' ||
		e2e_fail "the reload to the big list was not done: $(grep -i reload "$LOG" | tail -3)"
	before=$(dk_xdp_ctr "$CTL" "$PIN" xdp_drop_reject_packets)
	syn 13 && e2e_fail ".13 connects after the reload to the big list: $(grep -i reload "$LOG" | tail -2)"
	after=$(dk_xdp_ctr "$CTL" "$PIN" xdp_drop_reject_packets)
	[ -n "$after" ] && [ "$after" -gt "${before:-0}" ] ||
		e2e_fail "XDP drop_reject counter '$before' -> '$after' for .13's SYN"
	e2e_log "reload to 380,000 prefixes: .13 dropped by XDP (drop_reject $before -> $after)"
fi

# --- SIGTERM ends the second run cleanly ---------------------------------------------
dk_inline_stop "$SPID" "$TMP/inline-2.out" "$TMP/inline-2.err"
SPID=
[ -e "$PIN" ] && e2e_fail "pins left after SIGTERM: $(ls "$PIN")"
e2e_log "PASS"
exit 0
