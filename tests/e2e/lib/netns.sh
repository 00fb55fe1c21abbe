# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   netns.sh - network namespaces and veth pairs for the e2e tests
#
# DESCRIPTION
#   Creates namespaces and veth pairs that are removed by the common.sh cleanup stack,
#   also when the test fails. veth ends are created directly inside their namespaces,
#   so their names never collide with links of the host or of other tests; namespace
#   names must carry the test's tag (and should carry $$ when runs may overlap).
#   Requires common.sh.
#
# CONTRACT
#   ns_create NS                 add namespace NS with loopback up; at exit its
#                                remaining processes are stopped and it is deleted
#   ns_kill_pids NS              stop every process still running in NS (by PID)
#   ns_veth NS_A IF_A NS_B IF_B  veth pair IF_A (in NS_A) <-> IF_B (in NS_B), both up
#   ns_addr NS IF ADDR/LEN...    add addresses (IPv6 without DAD, usable at once)
#   ns_exec NS CMD...            run CMD inside NS
#   ns_wait_listen NS IP PORT [SECS]  wait until a TCP listener on IP:PORT exists in NS
#   ns_tcp_connect NS SRC DST PORT SECS  0 when a TCP connection from SRC to DST:PORT
#                                completes within SECS inside NS (a SYN probe)
#   ns_tinydns NS PORT ZONE DIR  tests/e2e/lib/tinydns.py on 127.0.0.1:PORT (UDP) in NS
#                                with the names of ZONE (its files in DIR: dns.ready,
#                                dns.log); stopped by the cleanup stack; e2e_fail when
#                                it does not start
#   All return 0 or non-zero; the create functions call e2e_fail on error.
#
# THREADING
#   Plain bash, called from the test script's shell.

# ns_create - a new namespace with loopback up, deleted by the cleanup stack
ns_create() {
	local ns=$1
	ip netns add "$ns" || e2e_fail "ip netns add $ns (need CAP_SYS_ADMIN/CAP_NET_ADMIN)"
	e2e_cleanup_push "ns_kill_pids '$ns'; ip netns del '$ns' 2>/dev/null"
	ip -n "$ns" link set lo up || e2e_fail "$ns: cannot bring up lo"
}

# ns_kill_pids - stop the processes left in a namespace (ours: only we enter it)
ns_kill_pids() {
	local ns=$1 pids p
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $pids; do
		e2e_kill_pid "$p" 2
	done
}

# ns_veth - a veth pair between two namespaces, both ends up
ns_veth() {
	local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
	ip link add "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b" ||
		e2e_fail "cannot create veth $if_a ($ns_a) <-> $if_b ($ns_b)"
	# Deleting a namespace deletes its veth end and so the pair; this covers an
	# early failure between the two ip netns del steps.
	e2e_cleanup_push "ip -n '$ns_a' link del '$if_a' 2>/dev/null"
	ip -n "$ns_a" link set "$if_a" up || e2e_fail "$ns_a: cannot set $if_a up"
	ip -n "$ns_b" link set "$if_b" up || e2e_fail "$ns_b: cannot set $if_b up"
}

# ns_addr - add one or more addresses to an interface in a namespace
ns_addr() {
	local ns=$1 ifc=$2 a
	shift 2
	for a in "$@"; do
		if [[ $a == *:* ]]; then
			ip -n "$ns" addr add "$a" dev "$ifc" nodad ||
				e2e_fail "$ns: cannot add $a to $ifc"
		else
			ip -n "$ns" addr add "$a" dev "$ifc" ||
				e2e_fail "$ns: cannot add $a to $ifc"
		fi
	done
}

# ns_exec - run a command inside a namespace
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ns_listening - true if something listens on TCP IP:PORT inside NS
ns_listening() {
	local ns=$1 ip=$2 port=$3
	ip netns exec "$ns" ss -Hltn "src $ip and sport = :$port" 2>/dev/null | grep -q .
}

# ns_tcp_connect - does a connection from SRC to DST:PORT complete in SECS
ns_tcp_connect() {
	ns_exec "$1" /usr/bin/python3 - "$2" "$3" "$4" "$5" <<'PYEOF'
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[4]))
s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
except OSError:
    sys.exit(1)
PYEOF
}

# ns_tinydns - a small resolver for the envelope checks' domain lookups
ns_tinydns() {
	local ns=$1 port=$2 zone=$3 dir=$4
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/tinydns.py" \
		127.0.0.1 "$port" "$zone" "$dir/dns.ready" >"$dir/dns.log" 2>&1 &
	e2e_cleanup_push "e2e_kill_pid $!"
	e2e_wait_for 10 test -e "$dir/dns.ready" || e2e_fail "tinydns: $(cat "$dir/dns.log")"
}

# ns_wait_listen - wait for a TCP listener
ns_wait_listen() {
	local ns=$1 ip=$2 port=$3 secs=${4:-10}
	e2e_wait_for "$secs" ns_listening "$ns" "$ip" "$port"
}
