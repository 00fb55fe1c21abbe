#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   metrics_test.sh - /metrics of both live modes against docs/operations.md, and the
#   shipped alert rules and Grafana dashboard against those scrapes
#
# DESCRIPTION
#   Host mode: namespace mxh_srv (198.18.74.1) runs a Postfix sink, rbldnsd and a
#   redis-server on its loopback, and `smtpscreen host -i mxh_s0` with metrics on
#   127.0.0.1; clients in mxh_cli send good mail, a pregreet and a DNSBL-listed
#   session. Inline: `smtpscreen inline` with af_xdp ports in mxi_box between mxi_cli
#   and mxi_srv (198.18.75.0/24), the same traffic. After each, one scrape is checked
#   by lib/metrics_check.py against the family table of docs/operations.md (every
#   documented family of that mode, its type, its labels and label values; every
#   emitted family documented), plus values the traffic must have moved: the DNSBL
#   latency histogram counted the lookups, the pregreet failure was counted, build_info names this version and mode,
#   process_start_time_seconds is the start, stress_mode 0, shared_up 1 (redis up).
#   Then every series the alert rules (examples/prometheus) and the dashboard
#   (examples/grafana) query is in one of the scrapes, and promtool parses every
#   dashboard query.
#
# CONTRACT
#   metrics_test.sh BUILD_DIR (root); SRCDIR = source tree. Exit 0 pass, 1 fail.
#   Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=metrics_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/rbldnsd.sh"
. "$HERE/lib/dpdk.sh"

BUILD=${1:?usage: metrics_test.sh BUILD_DIR}
SRC=${SRCDIR:-$HERE/../..}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
CHECK="$PY $HERE/lib/metrics_check.py"
DOC=$SRC/docs/operations.md
RULES=$SRC/examples/prometheus/smtpscreen-alerts.yml
DASH=$SRC/examples/grafana/smtpscreen.json
PINH=/sys/fs/bpf/mxh$$
PINI=/sys/fs/bpf/mxi$$
PREFIX=mxi$$

e2e_init metrics
e2e_require_root
e2e_require_cmd postfix swaks nsenter ss ethtool curl rbldnsd redis-server redis-cli promtool \
	"$SCR" "$CTL" "$PY"
"$PY" -c 'import yaml' 2>/dev/null || e2e_fail "python3-yaml is missing (scripts/install-deps)"
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
TMP=$E2E_TMP
VERSION=$("$SCR" --version | awk '{ print $2; exit }')
[ -n "$VERSION" ] || e2e_fail "smtpscreen --version says nothing"
e2e_cleanup_push "rm -rf '$PINH' '$PINI'; dk_runtime_cleanup '$PREFIX'"
[ -d /sys/fs/bpf/xdp ] || e2e_cleanup_push "rmdir /sys/fs/bpf/xdp 2>/dev/null || true"

# services CLI IF MAIL NET BOX MODE - the clients' addresses NET.10 .11 .18 on CLI's
# IF, the Postfix sink on NET.1 in MAIL, rbldnsd (.18 listed) and redis-server on
# BOX's loopback, and the config MODE runs ($TMP/MODE.cf)
services() {
	local i
	for i in 10 11 18; do ns_addr "$1" "$2" "$4.$i/24"; done
	pf_sink_start "$3" "$4.1" "$TMP/pf-$6"
	rbl_start "$5" "$TMP/rbl-$6" dnsbl.mx.test "$4.18"
	redis "$5"
	conf "$TMP/$6.cf" "$6"
}
# conf FILE TAG - the config both modes run (DNSBL, shared store, metrics)
conf() {
	cat >"$1" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks
postscreen_greet_action = drop
postscreen_greet_wait = 2s
postscreen_dnsbl_sites = dnsbl.mx.test=127.0.0.2*3
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = drop
smtpscreen_dnsbl_servers = 127.0.0.1:$RBL_PORT
smtpscreen_metrics_listen = 127.0.0.1:$((RBL_PORT + 1))
smtpscreen_shared_store = redis://127.0.0.1:$((RBL_PORT + 2))
smtpscreen_block_ttl = 3600
smtpscreen_flow_table_size = 4096
smtpscreen_cache_file = $TMP/verdicts-$2.lmdb
CEOF
}
# redis NS - a redis-server on NS's loopback at RBL_PORT + 2
redis() {
	ip netns exec "$1" redis-server --bind 127.0.0.1 --port $((RBL_PORT + 2)) --save '' \
		--appendonly no --dir "$TMP" >>"$TMP/redis-$1.log" 2>&1 &
	e2e_cleanup_push "e2e_kill_pid $!"
	e2e_wait_for 10 eval "ip netns exec $1 redis-cli -p $((RBL_PORT + 2)) ping 2>/dev/null | grep -q PONG" ||
		e2e_fail "redis-server did not start: $(tail -5 "$TMP/redis-$1.log")"
}
# traffic CLI NET SRVIP TAG - good mail from .10, a pregreet from .11, .18 listed
traffic() {
	local cli=$1 net=$2 sip=$3 tag=$4 r
	ns_exec "$cli" swaks --server "$sip" --from a@example.org --to u@example.test \
		--local-interface "$net.10" --helo client.example.org --timeout 30 \
		>"$TMP/swaks-$tag.log" 2>&1 || e2e_fail "$tag: good mail failed: $(tail -5 "$TMP/swaks-$tag.log")"
	for r in pregreet good; do
		ns_exec "$cli" "$PY" "$HERE/smtpbot.py" --server "$sip" \
			--source "$net.$([ $r = pregreet ] && echo 11 || echo 18)" \
			--behaviour "$r" --attempts 1 --timeout 10 >>"$TMP/bot-$tag.log" 2>&1
	done
}
# scrape NS OUT - /metrics into OUT, once the counters are rendered (1 s)
scrape() {
	sleep 1.5
	ip netns exec "$1" curl -sS --max-time 5 -o "$2" -D "$2.head" \
		"http://127.0.0.1:$((RBL_PORT + 1))/metrics" 2>"$2.err" || e2e_fail "scrape: $(cat "$2.err")"
	grep -qi '^content-type: text/plain; version=0.0.4' "$2.head" ||
		e2e_fail "scrape: content type: $(cat "$2.head")"
}
# val FILE SERIES - the value of one sample line (exact name and labels)
val() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }
# check_scrape FILE MODE T0 - the docs table, and what the traffic moved
check_scrape() {
	local f=$1 mode=$2 t0=$3 out st n
	out=$($CHECK docs "$DOC" "$mode" "$f") || e2e_fail "$mode: /metrics vs docs:"$'\n'"$out"
	[ "$(val "$f" "smtpscreen_build_info{version=\"$VERSION\",mode=\"$mode\"}")" = 1 ] ||
		e2e_fail "$mode: no build_info for $VERSION/$mode: $(grep build_info "$f")"
	st=$(val "$f" process_start_time_seconds)
	"$PY" -c "import sys, time; sys.exit(not ($t0 - 1 <= float('$st') <= time.time()))" ||
		e2e_fail "$mode: process_start_time_seconds $st, started at $t0"
	n=$(val "$f" smtpscreen_dnsbl_latency_seconds_count)
	[ "${n:-0}" -ge 2 ] || e2e_fail "$mode: DNSBL latency histogram counted ${n:-nothing}"
	[ "$(val "$f" 'smtpscreen_dnsbl_latency_seconds_bucket{le="+Inf"}')" = "$n" ] ||
		e2e_fail "$mode: +Inf bucket != count"
	# (not the dnsbl failure of .18: in host mode its lookup starts at CONNECT, after
	# the handshake hold, and races with the client's session)
	[ "$(val "$f" 'smtpscreen_test_failures_total{test="pregreet"}')" -ge 1 ] ||
		e2e_fail "$mode: no pregreet failure counted"
	[ "$(val "$f" smtpscreen_stress_mode)" = 0 ] || e2e_fail "$mode: stress_mode not 0"
	[ "$(val "$f" smtpscreen_shared_up)" = 1 ] || e2e_fail "$mode: shared_up not 1 (redis runs)"
	e2e_log "$mode: $(grep -c '^# TYPE' "$f") families as documented; DNSBL histogram count $n"
}

# ---- host mode -------------------------------------------------------------------
HS=mxh_srv HC=mxh_cli HIP=198.18.74.1
ns_create "$HS"
ns_create "$HC"
ns_veth "$HS" mxh_s0 "$HC" mxh_c0
ns_addr "$HS" mxh_s0 "$HIP/24"
services "$HC" mxh_c0 "$HS" 198.18.74 "$HS" host
echo "smtpscreen_pin_directory = $PINH" >>"$TMP/host.cf"
t0=$(date +%s)
nsenter --net=/run/netns/$HS "$SCR" host -i mxh_s0 -c "$TMP/host.cf" -s "$TMP/host.sock" \
	--log-file "$TMP/host.log" 2>"$TMP/host.err" &
HPID=$!
e2e_cleanup_push "e2e_kill_pid $HPID 10; nsenter --net=/run/netns/$HS ip link set mxh_s0 xdp off 2>/dev/null; nsenter --net=/run/netns/$HS tc qdisc del dev mxh_s0 clsact 2>/dev/null; true"
e2e_wait_for 20 grep -q "running on mxh_s0" "$TMP/host.err" ||
	e2e_fail "host mode did not start: $(cat "$TMP/host.err")"
traffic "$HC" 198.18.74 "$HIP" host
scrape "$HS" "$TMP/host.prom"
check_scrape "$TMP/host.prom" host "$t0"
e2e_kill_pid "$HPID" 10

# ---- the inline appliance (af_xdp ports: the XDP counters too) ----------------------
IC=mxi_cli IB=mxi_box IS=mxi_srv IIP=198.18.75.1
ns_create "$IS"
ns_create "$IB"
ns_create "$IC"
dk_wire "$IC" mxi_c0 "$IB" mxi_bc0 mxi_bs0 "$IS" mxi_s0
ns_addr "$IS" mxi_s0 "$IIP/24"
services "$IC" mxi_c0 "$IS" 198.18.75 "$IB" inline
mapfile -t EAL < <(dk_eal_args af_xdp mxi_bc0 mxi_bs0 "$PREFIX")
t0=$(date +%s)
dk_inline_start "$IB" "$PINI" "$TMP/inline.out" "$TMP/inline.err" \
	"$SCR" inline -c "$TMP/inline.cf" --log "$TMP/inline.log" --pin-dir "$PINI" \
	-s "$TMP/inline.sock" -- "${EAL[@]}"
IPID=$DK_INLINE_PID
e2e_cleanup_push "e2e_kill_pid $IPID 20"
traffic "$IC" 198.18.75 "$IIP" inline
scrape "$IB" "$TMP/inline.prom"
check_scrape "$TMP/inline.prom" inline "$t0"
n=$(val "$TMP/inline.prom" 'smtpscreen_port_packets_total{port="0",direction="rx"}')
[ "${n:-0}" -gt 0 ] || e2e_fail "inline: no rx frames on port 0"
dk_inline_stop "$IPID" "$TMP/inline.out" "$TMP/inline.err"

# ---- alert rules and dashboard: every series they query is emitted ----------------
out=$($CHECK names "$TMP" "$TMP/host.prom" "$TMP/inline.prom" -- "$RULES" "$DASH") ||
	e2e_fail "queries of series no daemon emits:"$'\n'"$out"
out=$(promtool check rules "$TMP/smtpscreen.json.exprs.yml" 2>&1) ||
	e2e_fail "promtool does not parse the dashboard's queries: $out"
e2e_log "alert rules and dashboard ($(grep -c '"expr"' "$DASH") queries) name emitted series"
