#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   xdp_admin_test.sh - `smtpscreen xdp` beside another tool's XDP program and
#                       under `ip netns exec`
#
# DESCRIPTION
#   In namespace xa_ns (veth xa0/xa1):
#   - another tool's XDP program (the benchmark object scr_lpm_bench.bpf.o, program
#     scr_lpm_prog, loaded by iproute2) on xa0: `smtpscreen xdp detach -i xa0` without
#     smtpscreen's pins refuses, names what it found, and leaves it attached;
#     `xdp attach -i xa0` refuses too (an XDP program is there) and leaves no pins.
#   - `ip netns exec xa_ns smtpscreen xdp attach -i xa1` (a fresh /sys without a bpf file
#     system): refused with a message that names the bpf file system and the mends, exit
#     1, no program left on xa1, no pins; the same with nsenter --net works, and detach
#     removes it.
#   - a list of 70,000 IPv6 /64s (more than a copy's 65,536 at load): attach states a
#     copy that holds them, a reload grows the other, detach.
#
# CONTRACT
#   xdp_admin_test.sh BUILD_DIR   (root). Exit 0 pass, 1 fail (message says why).
#   Cleans up its namespace, pins and programs.
#
# THREADING
#   Plain bash.
E2E_NAME=xdp_admin_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"

BUILD=${1:?usage: xdp_admin_test.sh BUILD_DIR}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
FOREIGN=$BUILD/bpf/scr_lpm_bench.bpf.o
NS=xa_ns
PIN=/sys/fs/bpf/xa_admin_test

e2e_init xdp_admin
e2e_require_root
e2e_require_cmd ip nsenter "$SCR"
[ -r "$FOREIGN" ] || e2e_fail "$FOREIGN: not built (the foreign XDP program)"
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
TMP=$E2E_TMP
e2e_cleanup_push "rm -rf '$PIN'"

ns_create "$NS"
ip -n "$NS" link add xa0 type veth peer name xa1 || e2e_fail "veth in $NS"
ip -n "$NS" link set xa0 up
ip -n "$NS" link set xa1 up
e2e_cleanup_push "ip -n $NS link set dev xa0 xdpgeneric off 2>/dev/null; ip -n $NS link set dev xa1 xdp off 2>/dev/null; true"
printf 'myhostname = mx.example.test\npostscreen_access_list = permit_mynetworks\nmynetworks = 127.0.0.0/8\n' >"$TMP/main.cf"
xs() { nsenter --net=/run/netns/$NS "$SCR" "$@"; }

# --- another tool's program -------------------------------------------------------
ip -n "$NS" link set dev xa0 xdpgeneric obj "$FOREIGN" sec xdp 2>"$TMP/ip.err" ||
	e2e_fail "iproute2 cannot load the foreign program: $(cat "$TMP/ip.err")"
ip -n "$NS" link show xa0 | grep -q "prog/xdp" || e2e_fail "foreign program not attached"
xs xdp detach -i xa0 --pin-dir "$PIN" >"$TMP/detach.out" 2>&1 && e2e_fail "detach of a foreign program succeeded: $(cat "$TMP/detach.out")"
grep -q "is not smtpscreen's; not detached" "$TMP/detach.out" ||
	e2e_fail "detach does not say what it found: $(cat "$TMP/detach.out")"
grep -q 'name "scr_lpm_prog"' "$TMP/detach.out" || e2e_fail "detach does not name the program: $(cat "$TMP/detach.out")"
ip -n "$NS" link show xa0 | grep -q "prog/xdp" || e2e_fail "detach removed the foreign program"
xs xdp attach -i xa0 -c "$TMP/main.cf" --pin-dir "$PIN" >"$TMP/attach0.out" 2>&1 &&
	e2e_fail "attach over a foreign program succeeded: $(cat "$TMP/attach0.out")"
[ -e "$PIN/prog" ] && e2e_fail "a refused attach left pins under $PIN"
ip -n "$NS" link show xa0 | grep -q "prog/xdp" || e2e_fail "a refused attach removed the foreign program"

# --- ip netns exec: no bpf file system that outlives the command -----------------
ip netns exec "$NS" "$SCR" xdp attach -i xa1 -c "$TMP/main.cf" --pin-dir "$PIN" >"$TMP/nsexec.out" 2>&1 &&
	e2e_fail "attach under ip netns exec succeeded: $(cat "$TMP/nsexec.out")"
grep -q "no bpf file system" "$TMP/nsexec.out" && grep -q -- "--pin-dir" "$TMP/nsexec.out" &&
	grep -q "nsenter" "$TMP/nsexec.out" ||
	e2e_fail "the refusal does not name the bpf file system and the mends: $(cat "$TMP/nsexec.out")"
grep -qi "pinned under" "$TMP/nsexec.out" && e2e_fail "says pinned: $(cat "$TMP/nsexec.out")"
ip -n "$NS" link show xa1 | grep -q "prog/xdp" && e2e_fail "a refused attach left its program on xa1"
[ -e "$PIN/prog" ] && e2e_fail "pins under $PIN after the refused attach"
xs xdp attach -i xa1 -c "$TMP/main.cf" --pin-dir "$PIN" >"$TMP/attach.out" 2>&1 ||
	e2e_fail "attach with nsenter: $(cat "$TMP/attach.out")"
grep -q "XDP maps of the permanent list: [0-9.]* MiB" "$TMP/attach.out" ||
	e2e_fail "attach does not state the maps' memory: $(cat "$TMP/attach.out")"
xs xdp detach -i xa1 --pin-dir "$PIN" >"$TMP/detach1.out" 2>&1 || e2e_fail "detach: $(cat "$TMP/detach1.out")"
ip -n "$NS" link show xa1 | grep -q "prog/xdp" && e2e_fail "detach left the program on xa1"

# --- a list bigger than the maps' defaults ----------------------------------------
# 70,000 IPv6 /64s, every other one (neighbours would compile to fewer, wider
# prefixes): more than the 65,536 prefixes a copy starts with. attach loads the maps at
# their defaults while it compiles the list, then grows the copy it writes.
seq 0 2 139998 | awk '{ printf "2001:db8:%x:%x::/64 reject\n", int($1 / 65536) + 1, $1 % 65536 }' \
	>"$TMP/big6.cidr"
printf 'myhostname = mx.example.test\npostscreen_access_list = permit_mynetworks, cidr:%s\nmynetworks = 127.0.0.0/8\n' \
	"$TMP/big6.cidr" >"$TMP/big.cf"
# v6_max FILE - the larger of the two copies' IPv6 prefix counts it states
v6_max() {
	sed -n 's/.*IPv6 prefixes \([0-9]*\) + \([0-9]*\).*/\1 \2/p' "$1" |
		awk '{ print ($1 > $2 ? $1 : $2) }'
}
xs xdp attach -i xa1 -c "$TMP/big.cf" --pin-dir "$PIN" >"$TMP/attach2.out" 2>&1 ||
	e2e_fail "attach of 70,000 IPv6 prefixes: $(cat "$TMP/attach2.out")"
[ "$(v6_max "$TMP/attach2.out")" -ge 70000 ] 2>/dev/null ||
	e2e_fail "attach of 70,000 IPv6 prefixes: no copy holds them: $(cat "$TMP/attach2.out")"
xs xdp reload -c "$TMP/big.cf" --pin-dir "$PIN" >"$TMP/reload2.out" 2>&1 ||
	e2e_fail "reload of 70,000 IPv6 prefixes: $(cat "$TMP/reload2.out")"
sed -n 's/.*IPv6 prefixes \([0-9]*\) + \([0-9]*\).*/\1 \2/p' "$TMP/reload2.out" |
	awk '{ exit !($1 >= 70000 && $2 >= 70000) }' ||
	e2e_fail "after a reload both copies should hold 70,000 IPv6 prefixes: $(cat "$TMP/reload2.out")"
xs xdp detach -i xa1 --pin-dir "$PIN" >"$TMP/detach2.out" 2>&1 || e2e_fail "detach: $(cat "$TMP/detach2.out")"
e2e_log "PASS: foreign programs left alone, no pins that vanish under ip netns exec, a list bigger than the default maps attached"
exit 0
