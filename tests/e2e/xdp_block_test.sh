#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   xdp_block_test - XDP enforcement end to end on a veth pair
#
# DESCRIPTION
#   Server side: veth scrxdp0 in the host namespace (198.18.10.1) with a
#   python listener on port 2525 that logs every accepted client. Client
#   side: netns scrxdp_c with scrxdp1 and three addresses (.2 .3 .4).
#   smtpscreen xdp attach (main.cf: smtpscreen_ports = 2525, access list
#   rejecting .4) on scrxdp0, maps pinned under /sys/fs/bpf/scrxdp_test.
#   Checks: .3 connects; .4 (permanent reject) never reaches the listener;
#   after `smtpscreenctl block add .2`, .2's SYNs never reach it (connect
#   times out, listener log and ss show nothing from .2), counters say so;
#   after `block del` .2 connects again; smtpscreenctl's errors for a bad
#   CIDR, a TTL out of range and no program loaded; detach removes the
#   program and the pins. The server side stays in the host namespace
#   because `ip netns exec` remounts /sys and would hide the pins.
#   A missing tool or kernel feature fails the test with the reason.
#
# USAGE
#   xdp_block_test.sh BUILD_DIR
set -u

B=${1:?usage: xdp_block_test.sh BUILD_DIR}
SCR=$B/dataplane/smtpscreen
CTL=$B/ctrl/smtpscreenctl
PY=/usr/bin/python3
NS=scrxdp_c
PIN=/sys/fs/bpf/scrxdp_test
TMP=$(mktemp -d /tmp/scrxdp-e2e.XXXXXX)
LPID=

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "xdp_block_test: $*" >&2; }

cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	"$SCR" xdp detach -i scrxdp0 --pin-dir "$PIN" >/dev/null 2>&1
	ip link del scrxdp0 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (netns, XDP)"
for c in ip ss "$PY" "$SCR" "$CTL"; do
	command -v "$c" >/dev/null || fail "missing $c"
done

ip netns add "$NS" || fail "ip netns add $NS"
ip link add scrxdp0 type veth peer name scrxdp1 || fail "cannot create veth (kernel without veth?)"
ip link set scrxdp1 netns "$NS" || fail "move scrxdp1"
ip addr add 198.18.10.1/24 dev scrxdp0
ip link set scrxdp0 up
for a in 2 3 4; do
	ip -n "$NS" addr add 198.18.10.$a/24 dev scrxdp1
done
ip -n "$NS" link set scrxdp1 up
ip -n "$NS" link set lo up

cat > "$TMP/listener.py" <<'PYEOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.10.1", 2525))
s.listen(64)
with open(sys.argv[1], "a", buffering=1) as log:
    while True:
        c, peer = s.accept()
        log.write(peer[0] + "\n")
        c.sendall(b"220 scrxdp ESMTP\r\n")
        c.close()
PYEOF
: > "$TMP/accepted"
$PY "$TMP/listener.py" "$TMP/accepted" &
LPID=$!

# connect FROM - 0 when a TCP connection from 198.18.10.FROM succeeds (3 s)
connect() {
	ip netns exec "$NS" $PY - "$1" <<'PYEOF'
import socket, sys
s = socket.socket()
s.settimeout(3)
s.bind(("198.18.10." + sys.argv[1], 0))
try:
    s.connect(("198.18.10.1", 2525))
    s.recv(100)
except OSError:
    sys.exit(1)
PYEOF
}

# ctr NAME - a counter from smtpscreenctl stats
ctr() { "$CTL" -p "$PIN" stats | awk -v n="xdp_$1_packets" '$1 == n { print $2 }'; }

for i in $(seq 50); do ss -ltn | grep -q '198.18.10.1:2525' && break; sleep 0.1; done
connect 3 || fail "no connection before attach: test network broken"

cat > "$TMP/access.cidr" <<'CEOF'
198.18.10.4/32 reject
CEOF
cat > "$TMP/main.cf" <<CEOF
mynetworks = 127.0.0.0/8
postscreen_access_list = permit_mynetworks, cidr:$TMP/access.cidr
smtpscreen_ports = 2525
CEOF

"$SCR" xdp attach -i scrxdp0 -c "$TMP/main.cf" --pin-dir "$PIN" 2>"$TMP/attach.err" ||
	fail "xdp attach: $(cat "$TMP/attach.err")"
cat "$TMP/attach.err" >&2
[ -e "$PIN/prog" ] || fail "program not pinned under $PIN"
ip link show scrxdp0 | grep -q xdp || fail "no XDP program on scrxdp0"
"$SCR" xdp attach -i scrxdp0 -c "$TMP/main.cf" --pin-dir "$PIN" 2>/dev/null &&
	fail "second attach should fail while loaded"

connect 3 || fail "unlisted client .3 cannot connect with XDP attached"
connect 4 && fail "rejected client .4 connected"
[ "$(ctr drop_reject)" -ge 1 ] || fail "drop_reject counter did not move"

"$CTL" -p "$PIN" block add 198.18.10.2 300 || fail "block add"
"$CTL" -p "$PIN" block list | grep -q '^198.18.10.2/32' || fail "block list misses .2"
before=$(ctr drop_block)
connect 2 && fail "blocked client .2 connected"
after=$(ctr drop_block)
[ "$after" -gt "$before" ] || fail "drop_block counter did not move ($before -> $after)"
grep -q '^198.18.10.2$' "$TMP/accepted" && fail "listener accepted the blocked client"
ss -tn | grep -q '198.18.10.2:' && fail "a socket from the blocked client exists"
connect 3 || fail ".3 cannot connect while .2 is blocked"

"$CTL" -p "$PIN" block del 198.18.10.2 || fail "block del"
connect 2 || fail ".2 cannot connect after block del"
grep -q '^198.18.10.2$' "$TMP/accepted" || fail "listener did not log .2"

# allow overrides block
"$CTL" -p "$PIN" block add 198.18.10.0/24 || fail "block add /24"
"$CTL" -p "$PIN" allow add 198.18.10.3/32 60 || fail "allow add"
connect 3 || fail "allowed .3 blocked by the /24"
connect 2 && fail ".2 connected through the /24 block"
"$CTL" -p "$PIN" block del 198.18.10.0/24 || fail "block del /24"
[ "$(ctr pass_allow)" -ge 1 ] || fail "pass_allow counter did not move"

# clear errors
out=$("$CTL" -p "$PIN" block add 198.18.10.300 2>&1) && fail "bad CIDR accepted"
echo "$out" | grep -q 'bad CIDR' || fail "bad CIDR message: $out"
out=$("$CTL" -p "$PIN" block add 198.18.10.2 400d 2>&1) && fail "TTL 400d accepted"
echo "$out" | grep -q 'out of range' || fail "TTL message: $out"
out=$("$CTL" -p /sys/fs/bpf/scrxdp_none stats 2>&1) && fail "stats without a program"
echo "$out" | grep -q 'no XDP program loaded' || fail "no-program message: $out"
"$CTL" -p "$PIN" stats >&2

"$SCR" xdp reload -c "$TMP/main.cf" --pin-dir "$PIN" >"$TMP/reload.out" 2>&1 ||
	fail "xdp reload -c: $(cat "$TMP/reload.out")"
grep -q "reloaded from $TMP/main.cf" "$TMP/reload.out" || fail "reload message: $(cat "$TMP/reload.out")"
# without -c: postconf's default main.cf, never an empty list by omission
if [ -r /etc/postfix/main.cf ]; then
	"$SCR" xdp reload --pin-dir "$PIN" >"$TMP/reload.out" 2>&1 ||
		fail "xdp reload without -c: $(cat "$TMP/reload.out")"
	grep -q "reloaded from /etc/postfix/main.cf" "$TMP/reload.out" ||
		fail "reload without -c did not read /etc/postfix/main.cf: $(cat "$TMP/reload.out")"
else
	# Debian's Postfix installed without configuration has none: refused, not empty
	out=$("$SCR" xdp reload --pin-dir "$PIN" 2>&1); rc=$?
	[ $rc -eq 2 ] || fail "reload without -c and without /etc/postfix/main.cf: exit $rc ($out)"
	echo "$out" | grep -q "xdp reload: /etc/postfix/main.cf: cannot open: No such file or directory" ||
		fail "reload without -c: message $out"
	connect 4 && fail "the access list was emptied by a refused reload"
fi

"$SCR" xdp detach -i scrxdp0 --pin-dir "$PIN" || fail "detach"
[ -e "$PIN" ] && fail "pins left after detach"
ip link show scrxdp0 | grep -q 'prog/xdp' && fail "XDP program still attached"
connect 4 || fail ".4 cannot connect after detach"

# attach under `ip netns exec` (a fresh /sys, no bpffs in that mount namespace): refused
# with the reason, not "pinned" into a mount that vanishes with the command
out=$(ip netns exec "$NS" "$SCR" xdp attach -i scrxdp1 --pin-dir /sys/fs/bpf/scrxdp_nsx 2>&1) &&
	fail "attach under ip netns exec succeeded: $out"
echo "$out" | grep -q "no bpf file system there in this mount namespace" ||
	fail "attach under ip netns exec: message $out"
ip -n "$NS" link show scrxdp1 | grep -q 'prog/xdp' && fail "a program was left on scrxdp1"

# detach beside another tool's XDP program (no smtpscreen pins): refused, left attached
ip link set dev scrxdp0 xdpgeneric obj "$B/bpf/scr_lpm_bench.bpf.o" sec xdp ||
	fail "cannot attach a foreign XDP program with ip link"
out=$("$SCR" xdp detach -i scrxdp0 --pin-dir "$PIN" 2>&1) && fail "detach removed a foreign program: $out"
echo "$out" | grep -q "is not smtpscreen's; not detached" || fail "foreign detach message: $out"
ip link show scrxdp0 | grep -q 'prog/xdp' || fail "the foreign XDP program was removed"
ip link set dev scrxdp0 xdpgeneric off
log "PASS"
exit 0
