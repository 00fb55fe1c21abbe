#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   inline_shared_test.sh - two `smtpscreen inline` appliances sharing verdicts through
#                           one Redis: blocks reach the other's XDP map, passes are
#                           PASS OLD there, a write made while Redis is down arrives
#                           after it comes back
#
# DESCRIPTION
#   Two paths, each as in inline_test.sh, addressed alike so that a client is the same
#   address on both: path A is clients ilsh<PID>ca (veth ilshca0) - appliance - server
#   ilsh<PID>sa (veth ilshsa0), path B the same with cb/sb. Both servers are
#   198.18.65.1/24 with their own private Postfix (plain smtpd, discard sink); both
#   client namespaces have 198.18.65.10-.30. The two appliances share one namespace,
#   ilsh<PID>b (A: port 0 ilshbca <-> ilshca0, port 1 ilshbsa <-> ilshsa0; B: ilshbcb,
#   ilshbsb; no addresses), whose loopback also holds one redis-server on
#   127.0.0.1:6379; each is `smtpscreen inline` on two af_xdp (or af_packet) ports with
#   its own file prefix, pin directory, control socket, log and LMDB file, both with
#   smtpscreen_shared_store = redis://127.0.0.1:6379 and EAL lcores 0-1 (they share the
#   two cores). Checks, after both say their shared store is up:
#   - a pregreet bot (.11) stopped by A: B's XDP block map gets 198.18.65.11/32, its
#     SYN through B gets no connection (af_xdp: B's XDP drop_block grows and B's log
#     has no CONNECT for it; af_packet: B logs BLOCKED), B's stats shared_blocks_in >= 1;
#   - a good client (.10) passed by A (PASS NEW, its record in Redis) is PASS OLD on B
#     on its first connection there, no PASS NEW on B, mail delivered; B's stats
#     shared_hits >= 1. B's control thread reads Redis, without waiting, when the
#     client's handshake is done; the answer makes the flow PASS OLD while its greeting
#     is held. A read the store could not answer (counted shared_unavailable) leaves
#     B to screen the client itself, so such a client is tried again with another
#     (.20, .21); a miss or a PASS NEW without such a read fails at once;
#   - redis-server killed (both appliances see the store down): another pregreet bot
#     (.12) is stopped by A and logged, A blocks it locally (its XDP map, its SYN
#     dropped), both appliances keep running, B does not know .12;
#   - redis-server restarted (empty) on the same port: A's queued write arrives (key
#     smtpscreen:c:198.18.65.12 with a block field, member of smtpscreen:blocked) and
#     B learns the block (its XDP map, the SYN through B gets no connection), each
#     within 60 s.
#   SIGTERM ends both appliances (exit 0, summary, pins removed).
#
# CONTRACT
#   inline_shared_test.sh BUILD_DIR [af_xdp|af_packet]   (root; default af_xdp).
#   SMTPSCREEN / SMTPSCREENCTL override the binaries. Exit 0 pass, 1 fail (message
#   says why). Cleans up namespaces, pins, processes (by PID), DPDK runtime files,
#   also on failure.
#
# THREADING
#   Plain bash.
E2E_NAME=inline_shared_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/dpdk.sh"

BUILD=${1:?usage: inline_shared_test.sh BUILD_DIR [af_xdp|af_packet]}
PMD=${2:-af_xdp}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
BOX=ilsh$$b
SIP=198.18.65.1
NET=198.18.65
RPORT=6379
RKEY=smtpscreen:
declare -A CLI=([a]=ilsh$$ca [b]=ilsh$$cb)
declare -A SRV=([a]=ilsh$$sa [b]=ilsh$$sb)
declare -A PIN=([a]=/sys/fs/bpf/ilsh$$a [b]=/sys/fs/bpf/ilsh$$b)
declare -A PREFIX=([a]=ilsh$$a [b]=ilsh$$b)
declare -A N=([a]=A [b]=B)

e2e_init "inline_shared_$PMD"
E2E_NAME="inline_shared_test($PMD)"
e2e_require_root
case $PMD in af_packet | af_xdp) ;; *) e2e_fail "port type '$PMD': af_packet or af_xdp" ;; esac
e2e_require_cmd postfix swaks nsenter ss ethtool redis-server redis-cli "$SCR" "$CTL" "$PY"
if [ "$PMD" = af_xdp ]; then
	mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
fi
TMP=$E2E_TMP
for n in a b; do
	e2e_cleanup_push "dk_runtime_cleanup '${PREFIX[$n]}'"
	e2e_cleanup_push "rm -rf '${PIN[$n]}'"
done
# libxdp (the af_xdp PMD's default program on port 1) creates /sys/fs/bpf/xdp:
# remove it if this run caused it
if [ ! -d /sys/fs/bpf/xdp ]; then
	e2e_cleanup_push "rmdir /sys/fs/bpf/xdp 2>/dev/null || true"
fi

# --- topology: two paths through one appliance namespace ------------------------------
ns_create "$BOX"
for n in a b; do
	ns_create "${SRV[$n]}"
	ns_create "${CLI[$n]}"
	dk_wire "${CLI[$n]}" "ilshc${n}0" "$BOX" "ilshbc$n" "ilshbs$n" "${SRV[$n]}" "ilshs${n}0"
	ns_addr "${SRV[$n]}" "ilshs${n}0" "$SIP/24"
	for i in $(seq 10 30); do ns_addr "${CLI[$n]}" "ilshc${n}0" "$NET.$i/24"; done
	pf_sink_start "${SRV[$n]}" "$SIP" "$TMP/pf-$n"
done

# --- redis-server on the appliances' loopback ------------------------------------------
RPID=
rcli() { ip netns exec "$BOX" redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }
start_redis() {
	ip netns exec "$BOX" redis-server --bind 127.0.0.1 --port "$RPORT" --save '' \
		--appendonly no --protected-mode no --dir "$TMP" >>"$TMP/redis.log" 2>&1 &
	RPID=$!
	e2e_wait_for 10 eval "rcli ping 2>/dev/null | grep -q PONG" ||
		e2e_fail "redis-server did not start: $(tail -5 "$TMP/redis.log")"
}
stop_redis() {
	[ -n "$RPID" ] || return 0
	e2e_kill_pid "$RPID" 5
	wait "$RPID" 2>/dev/null
	RPID=
	return 0
}
e2e_cleanup_push 'stop_redis'
start_redis

# --- the two appliances ----------------------------------------------------------------
declare -A SPID=([a]="" [b]="")
stop_scr() {
	local p=${SPID[$1]}
	[ -n "$p" ] || return 0
	e2e_kill_pid "$p" 20
	wait "$p" 2>/dev/null
	SPID[$1]=
	return 0
}
e2e_cleanup_push 'stop_scr a; stop_scr b'
start_scr() {
	local n=$1 xpin='' eal
	cat > "$TMP/screen-$n.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = drop
postscreen_greet_wait = 2s
smtpscreen_block_ttl = 3600
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts-$n.lmdb
smtpscreen_shared_store = redis://127.0.0.1:$RPORT
CEOF
	mapfile -t eal < <(dk_eal_args "$PMD" "ilshbc$n" "ilshbs$n" "${PREFIX[$n]}")
	[ "$PMD" = af_xdp ] && xpin=${PIN[$n]}
	dk_inline_start "$BOX" "$xpin" "$TMP/inline-$n.out" "$TMP/inline-$n.err" \
		"$SCR" inline -c "$TMP/screen-$n.cf" --log "$TMP/screen-$n.log" \
		--pin-dir "${PIN[$n]}" -s "$TMP/ctl-$n.sock" -- "${eal[@]}"
	SPID[$n]=$DK_INLINE_PID
	e2e_log "appliance ${N[$n]} up (pid ${SPID[$n]}): ${eal[*]}"
}
start_scr a
start_scr b

# ctl NODE ARGS - smtpscreenctl through a node's socket
ctl() {
	local n=$1
	shift
	"$CTL" -s "$TMP/ctl-$n.sock" "$@" 2>&1
}
stat_of() { ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }
# in_map NODE FROM - the node's XDP block map holds $NET.FROM
in_map() { "$CTL" -p "${PIN[$1]}" block list 2>/dev/null | grep -q "^$NET\.$2/32"; }
# bot NODE FROM BEHAVIOUR - smtpbot from $NET.FROM through a node, its RESULT line
bot() {
	ns_exec "${CLI[$1]}" "$PY" "$HERE/smtpbot.py" --server "$SIP" --source "$NET.$2" \
		--behaviour "$3" --attempts 1 --timeout 10 2>>"$TMP/bot.err" | tail -n 1
}
# syn NODE FROM - 0 when a TCP connection from $NET.FROM through a node completes in 3 s
syn() { ns_tcp_connect "${CLI[$1]}" "$NET.$2" "$SIP" 25 3; }
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$TMP/pf-$1")"; }
# good NODE FROM TAG - one mail from $NET.FROM through a node, delivered
good() {
	local n0
	n0=$(delivered "$1")
	ns_exec "${CLI[$1]}" swaks --server "$SIP" --from a@example.org --to u@example.test \
		--local-interface "$NET.$2" --helo client.example.org --timeout 30 \
		>"$TMP/swaks-$3.log" 2>&1 || e2e_fail "swaks $3 failed: $(tail -5 "$TMP/swaks-$3.log")"
	e2e_wait_for 10 eval '[ "$(delivered '"$1"')" -gt '"$n0"' ]' ||
		e2e_fail "mail $3 not delivered through ${N[$1]}"
}
# stopped_by NODE FROM - a pregreet bot from $NET.FROM is stopped and logged by a node
stopped_by() {
	local res
	res=$(bot "$1" "$2" pregreet)
	e2e_log "${N[$1]}: .$2 pregreet: $res"
	echo "$res" | grep -Eq "RESULT .*result=(rejected|reset) " ||
		e2e_fail "${N[$1]}: pregreet bot .$2 not stopped (want a 5xx or a RST): $res"
	e2e_wait_for 10 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.$2\]" "$TMP/screen-$1.log" ||
		e2e_fail "${N[$1]}: no PREGREET line for .$2: $(tail -5 "$TMP/screen-$1.log")"
}
# store_is NODE STATE-ERE - the node's status says its shared store is in that state
store_is() { ctl "$1" status | grep -Eq "^shared store redis://127\.0\.0\.1:$RPORT: ($2)\$"; }
wait_store() {
	e2e_wait_for 60 store_is "$1" "$2" ||
		e2e_fail "${N[$1]}: shared store not $2 after 60 s: $(ctl "$1" status)"
}
# dropped_by NODE FROM - the SYN of $NET.FROM through a node gets no connection
# (af_xdp: that node's XDP drop_block counter grows)
dropped_by() {
	local before after
	[ "$PMD" = af_xdp ] && before=$(dk_xdp_ctr "$CTL" "${PIN[$1]}" xdp_drop_block_packets)
	syn "$1" "$2" && e2e_fail ".$2 connected through ${N[$1]}, which should block it"
	if [ "$PMD" = af_xdp ]; then
		after=$(dk_xdp_ctr "$CTL" "${PIN[$1]}" xdp_drop_block_packets)
		[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
			e2e_fail "${N[$1]}: XDP drop_block '$before' -> '$after' for .$2's SYN"
	else
		e2e_wait_for 5 grep -q "BLOCKED \[$NET.$2\]" "$TMP/screen-$1.log" ||
			e2e_fail "${N[$1]}: no BLOCKED line for .$2: $(tail -5 "$TMP/screen-$1.log")"
	fi
}
wait_store a up
wait_store b up

# --- a bot stopped by A is dropped by B ---------------------------------------------------
stopped_by a 11
if [ "$PMD" = af_xdp ]; then
	e2e_wait_for 15 in_map b 11 ||
		e2e_fail "A's block of .11 did not reach B's XDP map: $("$CTL" -p "${PIN[b]}" block list 2>&1)"
else
	e2e_wait_for 15 eval "ctl b cache list | grep -Eq '^$NET\.11 .*block='" ||
		e2e_fail "A's block of .11 did not reach B's cache: $(ctl b cache list)"
fi
dropped_by b 11
if [ "$PMD" = af_xdp ]; then
	grep -q "CONNECT from \[$NET.11\]" "$TMP/screen-b.log" &&
		e2e_fail "B's workers saw .11's SYN (XDP should have dropped it): $(grep "$NET.11" "$TMP/screen-b.log")"
fi
v=$(stat_of b shared_blocks_in)
[ -n "$v" ] && [ "$v" -ge 1 ] || e2e_fail "B: shared_blocks_in '$v': $(ctl b stats)"
e2e_log "A's block of .11 reached B and B drops .11"

# --- a client passed by A is PASS OLD on B ------------------------------------------------
shared_pass_used() {
	local c=$1 late0
	late0=$(stat_of b shared_unavailable)
	good a "$c" "a-$c"
	e2e_wait_for 5 grep -q "PASS NEW \[$NET.$c\]" "$TMP/screen-a.log" ||
		e2e_fail "A: no PASS NEW for .$c: $(tail -5 "$TMP/screen-a.log")"
	e2e_wait_for 10 eval "[ -n \"\$(rcli HGET '${RKEY}c:$NET.$c' pregreet)\" ]" ||
		e2e_fail "A's pass of .$c did not reach Redis: $(rcli HGETALL "${RKEY}c:$NET.$c")"
	good b "$c" "b-$c"
	if e2e_wait_for 5 grep -Eq "PASS OLD \[$NET.$c\]:[0-9]+" "$TMP/screen-b.log"; then
		grep -q "PASS NEW \[$NET.$c\]" "$TMP/screen-b.log" && e2e_fail "B tested .$c again (PASS NEW)"
		return 0
	fi
	[ "$(stat_of b shared_unavailable)" -gt "$late0" ] ||
		e2e_fail "B: no PASS OLD for .$c (A's pass not used): $(grep "$NET.$c\]" "$TMP/screen-b.log")"
	e2e_log "B's shared store read for .$c was not answered: another client"
	return 1
}
shared_pass_used 10 || shared_pass_used 20 || shared_pass_used 21 ||
	e2e_fail "B's shared store reads were late three times"
v=$(stat_of b shared_hits)
[ -n "$v" ] && [ "$v" -ge 1 ] || e2e_fail "B: shared_hits '$v': $(ctl b stats)"
e2e_log "A's pass is PASS OLD on B"

# --- Redis killed: A keeps screening, blocks locally ------------------------------------
stop_redis
wait_store a 'down|connecting'
wait_store b 'down|connecting'
stopped_by a 12
[ "$PMD" = af_xdp ] && { e2e_wait_for 5 in_map a 12 || e2e_fail "A: no local XDP block of .12 with Redis down"; }
dropped_by a 12
for n in a b; do
	e2e_alive "${SPID[$n]}" || e2e_fail "${N[$n]} died when Redis went away"
done
if [ "$PMD" = af_xdp ]; then
	in_map b 12 && e2e_fail "B learned .12 with Redis down (test setup wrong)"
else
	ctl b cache list | grep -q "^$NET\.12 " && e2e_fail "B learned .12 with Redis down (test setup wrong)"
fi
e2e_log "Redis down: A stopped .12 and blocks it locally"

# --- Redis back: A's queued write arrives, B catches up ------------------------------------
start_redis
wait_store a up
wait_store b up
e2e_wait_for 60 eval "[ -n \"\$(rcli HGET '${RKEY}c:$NET.12' block)\" ]" ||
	e2e_fail "A's queued block of .12 did not reach Redis: $(rcli HGETALL "${RKEY}c:$NET.12")"
[ -n "$(rcli ZSCORE "${RKEY}blocked" "$NET.12")" ] ||
	e2e_fail ".12 not in ${RKEY}blocked: $(rcli ZRANGE "${RKEY}blocked" 0 -1)"
if [ "$PMD" = af_xdp ]; then
	e2e_wait_for 60 in_map b 12 ||
		e2e_fail "B did not learn .12 after Redis came back: $("$CTL" -p "${PIN[b]}" block list 2>&1)"
else
	e2e_wait_for 60 eval "ctl b cache list | grep -Eq '^$NET\.12 .*block='" ||
		e2e_fail "B did not learn .12 after Redis came back: $(ctl b cache list)"
fi
dropped_by b 12
e2e_log "Redis back: A's block of .12 is in Redis and B drops .12"

# --- SIGTERM ends both ------------------------------------------------------------------
for n in a b; do
	dk_inline_stop "${SPID[$n]}" "$TMP/inline-$n.out" "$TMP/inline-$n.err"
	SPID[$n]=
	[ -e "${PIN[$n]}" ] && e2e_fail "${N[$n]}: pins left after SIGTERM: $(ls "${PIN[$n]}")"
done
e2e_log "PASS"
exit 0
