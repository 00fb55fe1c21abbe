#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   shared_store_test.sh - two `smtpscreen host` nodes sharing verdicts through Redis
#
# DESCRIPTION
#   Hub namespace ho_hub holds a bridge (198.18.71.254/24) and one redis-server bound to
#   it. Mail hosts ho_na (198.18.71.1, veth ho_a0) and ho_nb (198.18.71.2, veth ho_b0)
#   each run a private Postfix (plain smtpd, discard sink) and `smtpscreen host` with
#   their own pin directory, LMDB store, control socket and
#   smtpscreen_shared_store = redis://198.18.71.254:6379. Clients namespace ho_scli
#   (veth ho_c0, 198.18.71.10-.30) reaches both. Checks:
#   - a bot stopped by node A gets a BLOCK entry on node B (block list through B's
#     socket) and its next SYN to B is dropped by B's XDP (xdp_drop_block counter);
#   - a client passed by A skips the tests on B: B logs PASS OLD (no PASS NEW) and
#     counts a shared store hit; its mail is delivered through B;
#   - redis-server killed: both nodes keep screening (bots stopped and logged, good
#     mail delivered), locally;
#   - redis-server restarted (empty): a block A wrote while the store was down
#     reaches B (block list, SYN dropped).
#   Waits are bounded and generous; nothing is timed.
#
# CONTRACT
#   shared_store_test.sh BUILD_DIR   (root). SMTPSCREEN / SMTPSCREENCTL override the
#   binaries. Exit 0 pass, 1 fail (message says why). Cleans up namespaces, pins,
#   processes (killed by PID).
#
# THREADING
#   Plain bash.
E2E_NAME=shared_store_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"

BUILD=${1:?usage: shared_store_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
HUB=ho_hub
CLI=ho_scli
NET=198.18.71
RIP=$NET.254
RPORT=6379
declare -A NS=([a]=ho_na [b]=ho_nb)
declare -A IF=([a]=ho_a0 [b]=ho_b0)
declare -A IP=([a]=$NET.1 [b]=$NET.2)
declare -A PIN=([a]=/sys/fs/bpf/ho_shared_a [b]=/sys/fs/bpf/ho_shared_b)

e2e_init shared_store
e2e_require_root
e2e_require_cmd postfix swaks nsenter redis-server redis-cli "$SCR" "$CTL" "$PY"
TMP=$E2E_TMP
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
e2e_cleanup_push "rm -rf '${PIN[a]}' '${PIN[b]}'"

# --- network: a bridge in the hub, three legs -------------------------------
ns_create "$HUB"
ip -n "$HUB" link add ho_br type bridge || e2e_fail "cannot create bridge ho_br"
ip -n "$HUB" link set ho_br up || e2e_fail "ho_br up"
ns_addr "$HUB" ho_br "$RIP/24"
ns_create "$CLI"
ns_veth "$CLI" ho_c0 "$HUB" ho_hc
ip -n "$HUB" link set ho_hc master ho_br || e2e_fail "ho_hc into the bridge"
ns_addr "$CLI" ho_c0 "$NET.10/24"
for i in $(seq 11 30); do ns_addr "$CLI" ho_c0 "$NET.$i/24"; done
for n in a b; do
	ns_create "${NS[$n]}"
	ns_veth "${NS[$n]}" "${IF[$n]}" "$HUB" "ho_h$n"
	ip -n "$HUB" link set "ho_h$n" master ho_br || e2e_fail "ho_h$n into the bridge"
	ns_addr "${NS[$n]}" "${IF[$n]}" "${IP[$n]}/24"
done

# --- redis-server in the hub ----------------------------------------------------
RPID=
start_redis() {
	ip netns exec "$HUB" redis-server --bind "$RIP" --port "$RPORT" --save '' \
		--appendonly no --protected-mode no --dir "$TMP" \
		>>"$TMP/redis.log" 2>&1 &
	RPID=$!
	e2e_wait_for 10 eval "ip netns exec $HUB redis-cli -h $RIP -p $RPORT ping 2>/dev/null | grep -q PONG" ||
		e2e_fail "redis-server did not start: $(tail -5 "$TMP/redis.log")"
}
stop_redis() {
	[ -n "$RPID" ] && e2e_kill_pid "$RPID" 5
	[ -n "$RPID" ] && wait "$RPID" 2>/dev/null
	RPID=
	return 0
}
e2e_cleanup_push 'stop_redis'
start_redis

# --- Postfix on each node -----------------------------------------------------------
mkdir -p "$TMP/tmpl"
pf_template_smtpd "$TMP/tmpl"
for n in a b; do
	pf_instance_create "$TMP/pf-$n" "$TMP/tmpl" "SERVER_IP=${IP[$n]}"
	pf_start "${NS[$n]}" "$TMP/pf-$n"
	ns_wait_listen "${NS[$n]}" "${IP[$n]}" 25 || e2e_fail "node $n: smtpd does not listen"
done

# --- the two screeners ----------------------------------------------------------------
declare -A DPID=([a]= [b]=)
start_node() {
	local n=$1
	cat > "$TMP/screen-$n.cf" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = enforce
postscreen_greet_wait = 2s
smtpscreen_block_ttl = 3600
smtpscreen_cache_file = $TMP/verdicts-$n.lmdb
smtpscreen_cache_size = 16777216
smtpscreen_pin_directory = ${PIN[$n]}
smtpscreen_flow_table_size = 4096
smtpscreen_shared_store = redis://$RIP:$RPORT
CEOF
	: > "$TMP/daemon-$n.err"
	nsenter --net=/run/netns/${NS[$n]} "$SCR" host -i "${IF[$n]}" -c "$TMP/screen-$n.cf" \
		-s "$TMP/ctl-$n.sock" --log-file "$TMP/screen-$n.log" 2>"$TMP/daemon-$n.err" &
	DPID[$n]=$!
	e2e_wait_for 20 grep -q "running on ${IF[$n]}" "$TMP/daemon-$n.err" ||
		e2e_fail "node $n did not start: $(cat "$TMP/daemon-$n.err")"
}
stop_node() {
	local n=$1 p=${DPID[$1]}
	[ -n "$p" ] && e2e_alive "$p" && { kill -TERM "$p"; e2e_wait_for 10 eval "! e2e_alive $p"; }
	DPID[$n]=
	nsenter --net=/run/netns/${NS[$n]} ip link set "${IF[$n]}" xdp off 2>/dev/null
	nsenter --net=/run/netns/${NS[$n]} tc qdisc del dev "${IF[$n]}" clsact 2>/dev/null
	return 0
}
e2e_cleanup_push 'stop_node a; stop_node b'
start_node a
start_node b

# ctl NODE ARGS - smtpscreenctl through a node's socket
ctl() {
	local n=$1
	shift
	"$CTL" -s "$TMP/ctl-$n.sock" "$@" 2>&1
}
stat_of() { ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }
# bot NODE FROM BEHAVIOUR - smtpbot from $NET.FROM to a node, its RESULT line
bot() {
	ns_exec "$CLI" "$PY" "$HERE/smtpbot.py" --server "${IP[$1]}" --source "$NET.$2" \
		--behaviour "$3" --attempts 1 --timeout 8 2>>"$TMP/bot.err" | tail -n 1
}
# syn NODE FROM - 0 when a TCP connection from $NET.FROM to the node completes in 2 s
syn() {
	ns_tcp_connect "$CLI" "$NET.$2" "${IP[$1]}" 25 2
}
# rkeys - number of keys in Redis
rkeys() { ip netns exec "$HUB" redis-cli -h "$RIP" -p "$RPORT" dbsize; }
delivered() { grep -c "status=sent (smtpscreen test sink)" "$(pf_maillog "$TMP/pf-$1")"; }
# good NODE FROM TAG - one mail from $NET.FROM through a node, delivered
good() {
	local n0
	n0=$(delivered "$1")
	ns_exec "$CLI" swaks --server "${IP[$1]}" --from a@example.org --to u@example.test \
		--local-interface "$NET.$2" --helo client.example.org --timeout 20 \
		>"$TMP/swaks-$3.log" 2>&1 || e2e_fail "swaks $3 failed: $(tail -5 "$TMP/swaks-$3.log")"
	e2e_wait_for 10 eval '[ "$(delivered '"$1"')" -gt '"$n0"' ]' ||
		e2e_fail "mail $3 not delivered by node $1"
}
# stopped_by NODE FROM - a pregreet bot from $NET.FROM is stopped and logged by a node
stopped_by() {
	local res
	res=$(bot "$1" "$2" pregreet)
	echo "$res" | grep -q "result=accepted" && e2e_fail "node $1: pregreet bot .$2 delivered: $res"
	e2e_wait_for 10 grep -Eq "PREGREET [0-9]+ after [0-9.]+ from \[$NET.$2\]" "$TMP/screen-$1.log" ||
		e2e_fail "node $1: no PREGREET line for .$2: $(tail -5 "$TMP/screen-$1.log")"
}
# wait_up NODE - the node's status says its shared store is up
wait_up() {
	e2e_wait_for 60 eval "ctl $1 status | grep -q 'shared store .*: up'" ||
		e2e_fail "node $1: shared store not up: $(ctl "$1" status)"
}
wait_up a
wait_up b

# --- a bot stopped by A is dropped by B's XDP -----------------------------------------
syn b 11 || e2e_fail ".11 cannot reach node B before any verdict"
stopped_by a 11
e2e_wait_for 15 eval "ctl b block list | grep -q '^$NET.11/32'" ||
	e2e_fail "A's block of .11 did not reach B's XDP map: $(ctl b block list)"
before=$(stat_of b xdp_drop_block_packets)
syn b 11 && e2e_fail ".11 connected to node B after A blocked it"
after=$(stat_of b xdp_drop_block_packets)
[ "$after" -gt "$before" ] || e2e_fail "B's drop_block counter $before -> $after"
[ "$(stat_of b shared_blocks_in)" -ge 1 ] || e2e_fail "B counts no block from the shared store"

# --- a client passed by A skips the tests on B --------------------------------------
# B's control thread reads Redis when the client's handshake completes, without
# waiting; the answer makes the flow PASS OLD while its greeting is held. A read the
# store could not answer (counted shared_unavailable) leaves B to screen the client
# itself, so such a client is tried again with another one (.10, then .20, .21); a
# miss or a wrong verdict is a failure at once.
shared_pass_used() {
	local c=$1 keys0 late0
	keys0=$(rkeys)
	late0=$(stat_of b shared_unavailable)
	good a "$c" "a-first-$c"
	e2e_wait_for 5 grep -q "PASS NEW \[$NET.$c\]" "$TMP/screen-a.log" || e2e_fail "A: no PASS NEW for .$c"
	# A's write is queued: wait until Redis holds one more key (a record per client)
	e2e_wait_for 10 eval '[ "$(rkeys)" -gt '"$keys0"' ]' ||
		e2e_fail "A's pass of .$c did not reach Redis ($keys0 -> $(rkeys) keys)"
	good b "$c" "b-first-$c"
	if e2e_wait_for 5 grep -q "PASS OLD \[$NET.$c\]" "$TMP/screen-b.log"; then
		grep -q "PASS NEW \[$NET.$c\]" "$TMP/screen-b.log" && e2e_fail "B tested .$c again (PASS NEW)"
		return 0
	fi
	[ "$(stat_of b shared_unavailable)" -gt "$late0" ] ||
		e2e_fail "B: no PASS OLD for .$c (A's pass not used): $(grep "$NET.$c" "$TMP/screen-b.log")"
	e2e_log "B's shared store read for .$c was late (machine loaded): another client"
	return 1
}
shared_pass_used 10 || shared_pass_used 20 || shared_pass_used 21 ||
	e2e_fail "B's shared store reads were late three times"
[ "$(stat_of b shared_hits)" -ge 1 ] || e2e_fail "B counts no shared store hit"

# --- Redis killed: both nodes keep screening ---------------------------------------
stop_redis
stopped_by a 12
stopped_by b 13
good b 14 b-redis-down
e2e_wait_for 5 grep -q "PASS NEW \[$NET.14\]" "$TMP/screen-b.log" || e2e_fail "B: no PASS NEW for .14 without Redis"
syn a 12 && e2e_fail ".12 reconnected to A (local block lost without Redis)"
for n in a b; do
	e2e_alive "${DPID[$n]}" || e2e_fail "node $n died when Redis went away"
done
ctl b block list | grep -q "^$NET.12/32" && e2e_fail "B learned .12 with Redis down (test setup wrong)"

# --- Redis back: A's block written meanwhile reaches B --------------------------------
start_redis
wait_up a
wait_up b
e2e_wait_for 60 eval "ctl b block list | grep -q '^$NET.12/32'" ||
	e2e_fail "A's block of .12 (written while Redis was down) did not reach B: $(ctl b block list)"
syn b 12 && e2e_fail ".12 connected to B after catching up"
e2e_wait_for 60 eval "ctl a block list | grep -q '^$NET.13/32'" ||
	e2e_fail "B's block of .13 (written while Redis was down) did not reach A: $(ctl a block list)"

stop_node a
stop_node b
e2e_log "PASS"
exit 0
