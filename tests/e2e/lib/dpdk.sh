# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   dpdk.sh - DPDK middle boxes on veth pairs for the e2e tests (testpmd or smtpscreen inline)
#
# DESCRIPTION
#   Helpers for tests that put a DPDK application with two vdev ports (net_af_packet or
#   net_af_xdp on veth ends) between two namespaces: switching off the veth offloads
#   (else af_packet/af_xdp see 64 KB GSO frames), the EAL arguments for a port type,
#   removal of the DPDK runtime directory of a --file-prefix, and a start/stop pair for
#   dpdk-testpmd in io forward mode (the reference middle box: a plain two-port
#   forwarder, to tell topology problems from the application's). The processes are
#   started with nsenter --net (not `ip netns exec`, which remounts /sys and hides the
#   /sys/fs/bpf pins). Requires common.sh.
#
# CONTRACT
#   dk_no_offload NS IF...        ethtool -K: tso gso gro tx rx off on each IF in NS
#   dk_eal_args PMD IF0 IF1 PREFIX
#                                 print the EAL arguments (one a line) for two ports of
#                                 PMD (af_packet|af_xdp) on IF0 (port 0) and IF1 (port 1)
#   dk_runtime_cleanup PREFIX     remove /var/run/dpdk/PREFIX (the runtime files)
#   dk_testpmd_start NS OUT EAL-ARG...
#                                 start dpdk-testpmd (io forward, 1 s stats) in NS with
#                                 stdout+stderr to OUT; sets DK_PID; waits until it
#                                 forwards; e2e_fail if it does not
#   dk_testpmd_stop               SIGTERM to DK_PID, wait; 0 when it exited
#   dk_inline_stop PID OUT ERR    SIGTERM to `smtpscreen inline` PID (a child of the
#                                 test's shell), wait; e2e_fail unless it exits 0 within
#                                 30 s with its summary on OUT (its stdout; ERR its stderr)
#   dk_wire CLI IF_C BOX IF_BC IF_BS SRV IF_S
#                                 one path through a middle box (namespaces made by the
#                                 caller): veth IF_C (CLI) <-> IF_BC (BOX) and IF_S (SRV)
#                                 <-> IF_BS (BOX), offloads off on the four ends, IPv6
#                                 off in the three namespaces (no router solicitations or
#                                 MLD on the segment)
#   dk_mail_topology CLI BOX SRV SIP NET FIRST LAST
#                                 three namespaces wired by dk_wire: clients
#                                 NET.FIRST-LAST/24 on smc0, server SIP/24 on sms0
#   dk_inline_start NS PIN OUT ERR SMTPSCREEN INLINE-ARG...
#                                 run `SMTPSCREEN INLINE-ARG...` (`inline ... -- EAL`) in
#                                 NS (nsenter --net) in the background, stdout to OUT,
#                                 stderr to ERR; sets DK_INLINE_PID (a child of the test's
#                                 shell); waits up to 60 s for its ready line and, with a
#                                 non-empty PIN (af_xdp port 0), for PIN; e2e_fail if not.
#                                 Under ASan the af_xdp PMD's own leaks are suppressed
#   dk_xdp_ctr CTL PIN NAME       an XDP counter read by smtpscreenctl CTL from the maps
#                                 pinned under PIN (empty when there is none)
#
# THREADING
#   Plain bash, called from the test script's shell.

DK_PID=

# dk_no_offload - no segmentation/checksum offloads on veth ends seen by DPDK
dk_no_offload() {
	local ns=$1 ifc
	shift
	for ifc in "$@"; do
		ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off tx off rx off \
			>/dev/null 2>&1 || e2e_fail "$ns: ethtool -K $ifc (offloads off) failed"
	done
}

# dk_eal_args - EAL arguments for two vdev ports, one a line
dk_eal_args() {
	local pmd=$1 if0=$2 if1=$3 prefix=$4
	case $pmd in
	af_packet | af_xdp) ;;
	*) e2e_fail "unknown port type '$pmd' (af_packet or af_xdp)" ;;
	esac
	printf '%s\n' --no-huge -m 512 --no-pci -l 0-1 --file-prefix "$prefix" \
		--log-level=lib.eal:error \
		--vdev "net_${pmd}0,iface=$if0" --vdev "net_${pmd}1,iface=$if1"
}

# dk_runtime_cleanup - the runtime directory DPDK leaves for a file prefix
dk_runtime_cleanup() {
	local prefix=$1
	[ -n "$prefix" ] || return 0
	rm -rf -- "/var/run/dpdk/$prefix"
}

# dk_testpmd_forwarding - testpmd printed its start of forwarding
dk_testpmd_forwarding() {
	grep -q 'io packet forwarding - ports=' "$1" 2>/dev/null
}

# dk_testpmd_start - testpmd as a two-port io forwarder inside a namespace
dk_testpmd_start() {
	local ns=$1 out=$2
	shift 2
	e2e_require_cmd dpdk-testpmd
	nsenter --net="/run/netns/$ns" dpdk-testpmd "$@" -- --forward-mode=io \
		--auto-start --stats-period 1 --nb-cores=1 --rxq=1 --txq=1 \
		--total-num-mbufs=16384 \
		</dev/null >"$out" 2>&1 &
	DK_PID=$!
	e2e_cleanup_push "dk_testpmd_stop"
	e2e_wait_for 30 dk_testpmd_forwarding "$out" || {
		e2e_alive "$DK_PID" || e2e_fail "dpdk-testpmd exited: $(tail -n 20 "$out")"
		e2e_fail "dpdk-testpmd does not forward after 30 s: $(tail -n 20 "$out")"
	}
	e2e_alive "$DK_PID" || e2e_fail "dpdk-testpmd exited: $(tail -n 20 "$out")"
}

# dk_testpmd_stop - stop testpmd by PID (SIGTERM: it stops its ports and exits)
dk_testpmd_stop() {
	local pid=$DK_PID
	[ -n "$pid" ] || return 0
	DK_PID=
	e2e_kill_pid "$pid" 10
	wait "$pid" 2>/dev/null
	return 0
}

# dk_inline_stop - SIGTERM to smtpscreen inline; exit 0 and its summary expected
dk_inline_stop() {
	local pid=$1 out=$2 err=$3 rc
	kill -TERM "$pid"
	e2e_wait_for 30 eval "! e2e_alive $pid" || e2e_fail "smtpscreen inline did not stop on SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || e2e_fail "smtpscreen inline exit status $rc: $(tail -n 20 "$err")"
	grep -q "^smtpscreen inline summary" "$out" ||
		e2e_fail "no summary on stdout: $(head -5 "$out")"
}

# dk_wire - veths client <-> box <-> server, offloads off, no IPv6 chatter
dk_wire() {
	local cli=$1 ifc=$2 box=$3 ifbc=$4 ifbs=$5 srv=$6 ifs=$7 ns
	ns_veth "$cli" "$ifc" "$box" "$ifbc"
	ns_veth "$srv" "$ifs" "$box" "$ifbs"
	dk_no_offload "$cli" "$ifc"
	dk_no_offload "$box" "$ifbc" "$ifbs"
	dk_no_offload "$srv" "$ifs"
	for ns in "$cli" "$box" "$srv"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
	done
}

# dk_mail_topology CLI BOX SRV SIP NET FIRST LAST - the three namespaces of an
# inline test in front of a mail server: clients in CLI (NET.FIRST-NET.LAST/24 on
# smc0), the appliance in BOX (smbc0 to the clients, smbs0 to the server), the
# server in SRV (SIP/24 on sms0); wired by dk_wire
dk_mail_topology() {
	local cli=$1 box=$2 srv=$3 sip=$4 net=$5 first=$6 last=$7 i
	ns_create "$srv"
	ns_create "$box"
	ns_create "$cli"
	dk_wire "$cli" smc0 "$box" smbc0 smbs0 "$srv" sms0
	ns_addr "$srv" sms0 "$sip/24"
	for i in $(seq "$first" "$last"); do ns_addr "$cli" smc0 "$net.$i/24"; done
}

DK_INLINE_PID=
# dk_inline_start - smtpscreen inline in a namespace, until it forwards
dk_inline_start() {
	local ns=$1 pin=$2 out=$3 err=$4 supp
	shift 4
	supp="$(dirname "$err")/dk-lsan.supp"
	# Under ASan (sanitize builds): DPDK 22.11's af_xdp PMD never frees the umem and
	# the bpf_object of a custom xdp_prog; that is not ours, so it is suppressed (full
	# stacks needed to see the PMD frame). Harmless for a build without ASan.
	printf 'leak:librte_net_af_xdp.so\n' >"$supp"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
	LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp" \
	nsenter --net="/run/netns/$ns" "$@" >"$out" 2>"$err" &
	DK_INLINE_PID=$!
	e2e_wait_for 60 grep -q "smtpscreen: inline: ready" "$err" || {
		e2e_alive "$DK_INLINE_PID" || e2e_fail "smtpscreen inline exited: $(tail -n 20 "$err")"
		e2e_fail "smtpscreen inline not ready after 60 s: $(tail -n 20 "$err")"
	}
	[ -z "$pin" ] || e2e_wait_for 10 test -e "$pin/prog" ||
		e2e_fail "no pins under $pin: $(tail -n 20 "$err")"
}

# dk_xdp_ctr - one XDP counter from the pinned maps
dk_xdp_ctr() {
	"$1" -p "$2" stats 2>/dev/null | awk -v n="$3" '$1 == n { print $2 }'
}
