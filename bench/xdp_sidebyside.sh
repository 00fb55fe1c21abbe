#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	xdp_sidebyside - per-packet drop cost of the same block list in the
#	kernel's own drop paths (nftables interval set, xdp-filter) and in
#	smtpscreen's XDP program, in one run, against a no-filter baseline
# DESCRIPTION
#	Two network namespaces (scrsbs_tx, scrsbs_rx) joined by a veth pair
#	(scrsbs0 198.19.0.1/24, scrsbs1 198.19.0.2/24). build/bench/pktblast
#	in scrsbs_tx sends prebuilt TCP SYNs to 198.19.0.2:25 from K = 64
#	source addresses 198.18.1.1-64, all of them in every block list,
#	through AF_PACKET with PACKET_QDISC_BYPASS, pinned to one core, up to
#	COUNT frames or SECS seconds per run. The receive side runs in softirq
#	on the sending core, so the sender's CPU time per frame includes the
#	receiver's cost of dropping (or accepting) the frame.
#
#	Receiver configurations, REPS repetitions each, interleaved (each
#	repetition visits every configuration in turn), medians reported:
#	  base     nothing: SYN goes up the stack, no listener, TCP sends RST
#	  xdpdrop  a two-instruction XDP program returning XDP_DROP (native):
#	           the floor of any XDP drop on this veth (built here by clang)
#	  nft      table inet, chain on hook ingress of scrsbs1 priority -500,
#	           `ip saddr @bl drop`, bl an interval set (auto-merge); the
#	           whole table loaded with one `nft -f`
#	  xdpfilt  xdp-filter load --mode native -f ipv4 (the ipv4-only
#	           variant, one hash lookup per packet), addresses written into
#	           its pinned filter_ipv4 map with one `bpftool batch` (the
#	           value `xdp-filter ip ADDR -m src` writes); exact lists only
#	  ours     smtpscreen xdp attach -i scrsbs1 --mode native with a main.cf
#	           whose postscreen_access_list is a cidr table rejecting the
#	           list (one process: load, compile, fill, attach, pin)
#	Lists (python, fixed seed): "exact" = N distinct /32 (the 64 sources
#	plus random addresses), "mixed" = the 64 source /32 plus N-64 random
#	prefixes (40% /32, 25% /24, 15% /25-31, 20% /8-23); nothing random
#	overlaps 198.18.0.0/15. N = 10000 and 100000. The list is rule data
#	only: every packet on the wire is inside 198.18.0.0/15.
#	Also BPF_PROG_TEST_RUN of the same frame through each attached XDP
#	program (bpftool prog run ... repeat 100000).
#
#	Runs itself inside a private mount namespace (unshare -m) with its own
#	bpffs on /sys/fs/bpf and its own tmpfs on /run/netns, so xdp-filter's
#	fixed pin directory, our pins and our namespaces cannot meet anyone
#	else's, and vanish with the script even on SIGKILL. Cleans up the
#	namespaces, programs, tables and pins on exit, error or signal; the
#	whole run is bounded by timeout(1) (540 s).
#	Needs root, iproute2, nft, xdp-filter, bpftool, clang, python3.
# USAGE
#	bench/xdp_sidebyside.sh BUILD_DIR [--reps N] [--cpu C] [--count N]
#	                        [--secs S] [--out FILE]
set -u
if [ -z "${SCRSBS_INNER:-}" ]; then
	[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [--reps N] [--cpu C] [--count N] [--secs S] [--out FILE]" >&2; exit 2; }
	[ "$(id -u)" = 0 ] || { echo "xdp_sidebyside: needs root" >&2; exit 1; }
	SCRSBS_INNER=1 exec timeout -k 15 540 unshare -m --propagation private bash "$0" "$@"
fi

BUILD=$(cd "$1" && pwd) || exit 1
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
REPS=3 CPU=1 COUNT=1000000 SECS=4 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift 2 ;;
	--cpu) CPU=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "xdp_sidebyside: unknown option $1" >&2; exit 2 ;;
	esac
done
OUT=${OUT:-$SRC/bench/results/xdp-sidebyside-$(date +%Y-%m-%d).txt}
BLAST=$BUILD/bench/pktblast
SCR=$BUILD/dataplane/smtpscreen
for b in "$BLAST" "$SCR"; do
	[ -x "$b" ] || { echo "xdp_sidebyside: $b not built" >&2; exit 1; }
done
for c in nft xdp-filter bpftool clang nsenter taskset /usr/bin/python3; do
	command -v "$c" >/dev/null || { echo "xdp_sidebyside: $c not found" >&2; exit 1; }
done

TX=scrsbs_tx RX=scrsbs_rx TXIF=scrsbs0 RXIF=scrsbs1
NK=64 SRCBASE=198.18.1.1 DST=198.19.0.2
PIN=/sys/fs/bpf/scrsbs
TMP=$(mktemp -d /tmp/scrsbs.XXXXXX)
INTX=(nsenter "--net=/run/netns/$TX")
INRX=(nsenter "--net=/run/netns/$RX")

# cleanup - everything this script may have created, in reverse order
cleanup() {
	trap - EXIT INT TERM
	if ip netns list 2>/dev/null | grep -qw "$RX"; then
		"${INRX[@]}" "$SCR" xdp detach -i "$RXIF" --pin-dir "$PIN" >/dev/null 2>&1
		"${INRX[@]}" xdp-filter unload "$RXIF" >/dev/null 2>&1
		"${INRX[@]}" ip link set dev "$RXIF" xdp off >/dev/null 2>&1
		"${INRX[@]}" nft delete table inet scrsbs >/dev/null 2>&1
	fi
	ip netns del "$TX" 2>/dev/null
	ip netns del "$RX" 2>/dev/null
	rm -rf "$PIN" "$TMP"
	umount /run/netns 2>/dev/null
	umount /sys/fs/bpf 2>/dev/null
}
trap cleanup EXIT
trap 'echo "xdp_sidebyside: interrupted" >&2; exit 1' INT TERM

die() { echo "xdp_sidebyside: $*" >&2; exit 1; }
now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }

# a private bpffs: xdp-filter's /sys/fs/bpf/xdp-filter and our pins are ours;
# a private /run/netns: our namespaces are invisible outside and go away
# with this mount namespace even if the script is killed with SIGKILL
mount -t bpf scrsbs_bpf /sys/fs/bpf || die "cannot mount a private bpffs"
mkdir -p /run/netns && mount -t tmpfs scrsbs_netns /run/netns || die "cannot mount a private /run/netns"

# --- topology -------------------------------------------------------------
ip netns add "$TX" && ip netns add "$RX" || die "ip netns add failed"
ip link add "$TXIF" netns "$TX" type veth peer name "$RXIF" netns "$RX" || die "veth"
"${INTX[@]}" ip addr add 198.19.0.1/24 dev "$TXIF"
"${INRX[@]}" ip addr add "$DST/24" dev "$RXIF"
for ns in "$TX" "$RX"; do nsenter "--net=/run/netns/$ns" ip link set lo up; done
"${INTX[@]}" ip link set "$TXIF" up
"${INRX[@]}" ip link set "$RXIF" up
# RSTs for 198.18.x go back through the sender namespace (dropped there:
# not local, no forwarding), so the baseline's RST path needs one ARP entry
"${INRX[@]}" ip route add 198.18.0.0/15 via 198.19.0.1
RXMAC=$("${INRX[@]}" ip -br link show "$RXIF" | awk '{ print $3 }')
"$BLAST" --dst-mac "$RXMAC" --src "$SRCBASE" --dst "$DST" --write-frame "$TMP/frame.bin" || die "pktblast --write-frame"

# the floor: XDP_DROP and nothing else (no header: no asm/types.h needed)
cat > "$TMP/drop.c" <<'EOF'
struct xdp_md;
__attribute__((section("xdp"), used)) int scrsbs_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return 1;	/* XDP_DROP */
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$TMP/drop.c" -o "$TMP/drop.o" || die "clang -target bpf"

# --- lists ------------------------------------------------------------------
/usr/bin/python3 - "$TMP" "$NK" <<'PYEOF' || die "list generation failed"
import sys, random, ipaddress
tmp, nk = sys.argv[1], int(sys.argv[2])
test_net = ipaddress.ip_network("198.18.0.0/15")
srcs = [ipaddress.ip_network("198.18.1.%d/32" % i) for i in range(1, nk + 1)]
def rand_net(r, plen):
    while True:
        n = ipaddress.ip_network((r.getrandbits(32), plen), strict=False)
        if not n.overlaps(test_net):
            return n
for n in (10000, 100000):
    r = random.Random(4242 + n)
    exact, seen = list(srcs), set(srcs)
    while len(exact) < n:
        e = rand_net(r, 32)
        if e not in seen:
            seen.add(e); exact.append(e)
    mixed = list(srcs)
    while len(mixed) < n:
        k = r.randrange(100)
        plen = 32 if k < 40 else 24 if k < 65 else r.randrange(25, 32) if k < 80 else r.randrange(8, 24)
        mixed.append(rand_net(r, plen))
    for kind, lst in (("exact", exact), ("mixed", mixed)):
        base = "%s/%s-%d" % (tmp, kind, n)
        with open(base + ".cidr", "w") as f:
            f.write("".join("%s reject\n" % e for e in lst))
        with open(base + ".cf", "w") as f:
            f.write("postscreen_access_list = cidr:%s.cidr\n" % base)
        with open(base + ".nft", "w") as f:
            f.write("table inet scrsbs {\n set bl { type ipv4_addr; flags interval; auto-merge;\n elements = { ")
            f.write(", ".join(str(e.network_address) if e.prefixlen == 32 else str(e) for e in lst))
            f.write(" } }\n chain in { type filter hook ingress device \"scrsbs1\" priority -500; ip saddr @bl drop; }\n}\n")
        if kind == "exact":
            with open(base + ".bpftool", "w") as f:
                for e in lst:
                    a = e.network_address.packed
                    f.write("map update pinned /sys/fs/bpf/xdp-filter/filter_ipv4 key %d %d %d %d value 1 0 0 0 0 0 0 0\n" % tuple(a))
PYEOF

# --- one configuration --------------------------------------------------------
# setup CONF KIND N: attach/load; prints load ms on stdout; non-zero + $TMP/err
setup() {
	local s e
	: > "$TMP/err"
	s=$(now_ms)
	case $1 in
	base) ;;
	xdpdrop)
		"${INRX[@]}" ip link set dev "$RXIF" xdpdrv obj "$TMP/drop.o" sec xdp 2>"$TMP/err" || return 1 ;;
	nft)
		timeout 120 "${INRX[@]}" nft -f "$TMP/$2-$3.nft" 2>"$TMP/err" || return 1 ;;
	xdpfilt)
		"${INRX[@]}" xdp-filter load --mode native -f ipv4 "$RXIF" >"$TMP/err" 2>&1 || return 1
		timeout 120 bpftool batch file "$TMP/$2-$3.bpftool" >"$TMP/bt.out" 2>&1 || {
			tail -3 "$TMP/bt.out" | tr '\n' ' ' > "$TMP/err"; return 1; } ;;
	ours)
		"${INRX[@]}" "$SCR" xdp attach -i "$RXIF" -c "$TMP/$2-$3.cf" --mode native --pin-dir "$PIN" >"$TMP/err" 2>&1 || return 1 ;;
	*) die "setup: unknown configuration $1" ;;
	esac
	e=$(now_ms)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", e - s }'
}

# teardown CONF: remove it; fails the run if anything stays attached
teardown() {
	case $1 in
	base) ;;
	xdpdrop) "${INRX[@]}" ip link set dev "$RXIF" xdp off ;;
	nft) "${INRX[@]}" nft delete table inet scrsbs ;;
	xdpfilt) "${INRX[@]}" xdp-filter unload "$RXIF" >/dev/null 2>&1 ;;
	ours) "${INRX[@]}" "$SCR" xdp detach -i "$RXIF" --pin-dir "$PIN" >/dev/null ;;
	esac
	if "${INRX[@]}" ip link show "$RXIF" 2>/dev/null | grep -q 'prog/xdp'; then die "teardown $1: an XDP program is still attached"; fi
	if "${INRX[@]}" nft list tables | grep -q scrsbs; then die "teardown $1: nft table still there"; fi
}

# ip_in: IP packets the receiver's stack has seen so far
ip_in() { "${INRX[@]}" awk '/^Ip: [0-9]/ { print $4 }' /proc/net/snmp; }
# ksoft_ns: CPU time of ksoftirqd on our core so far
KSOFT=$(pgrep -x "ksoftirqd/$CPU" | head -1)
ksoft_ns() { awk '{ print $1 }' "/proc/$KSOFT/schedstat"; }

# progrun: average ns and return value of BPF_PROG_TEST_RUN for the attached program
progrun() {
	local id out
	id=$("${INRX[@]}" ip link show "$RXIF" 2>/dev/null | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
	[ -n "$id" ] || { echo "- -"; return; }
	out=$(bpftool prog run id "$id" data_in "$TMP/frame.bin" repeat 100000 2>&1)
	echo "$(echo "$out" | sed -n 's/.*duration (average): \([0-9]*\)ns.*/\1/p') $(echo "$out" | sed -n 's/^Return value: \([0-9]*\),.*/\1/p')"
}

# runone CONF KIND N REP: one measured run, a line into $TMP/runs
runone() {
	local load i0 i1 k0 k1 line frames pr
	if ! load=$(setup "$1" "$2" "$3"); then
		echo "$1 $2 $3 $4 FAILED $(tr '\n' ' ' < "$TMP/err")" >> "$TMP/fail"
		teardown "$1" >/dev/null 2>&1
		return 0
	fi
	pr=$(progrun)
	i0=$(ip_in) k0=$(ksoft_ns)
	line=$("${INTX[@]}" taskset -c "$CPU" "$BLAST" -i "$TXIF" --dst-mac "$RXMAC" \
		--src "$SRCBASE" --nsrc "$NK" --dst "$DST" --count "$COUNT" --seconds "$SECS") ||
		die "pktblast failed ($1 $2 $3)"
	i1=$(ip_in) k1=$(ksoft_ns)
	teardown "$1"
	frames=$(echo "$line" | sed -n 's/.*frames=\([0-9]*\).*/\1/p')
	echo "$1 $2 $3 $4 $load $(echo "$line" | sed -n 's/.*wall_ns_per_frame=\([0-9.]*\).*cpu_ns_per_frame=\([0-9.]*\).*/\1 \2/p') $(awk -v a="$k0" -v b="$k1" -v f="$frames" 'BEGIN { printf "%.1f", (b - a) / f }') $(awk -v a="$i0" -v b="$i1" -v f="$frames" 'BEGIN { printf "%.3f", (b - a) / f }') $pr $(echo "$line" | sed -n 's/.*tx_errors=\([0-9]*\).*/\1/p')" >> "$TMP/runs"
	echo "  $1 $2 $3 rep $4: $line" >&2
}

CONFS="base - 0
xdpdrop - 0
nft exact 10000
nft mixed 10000
nft exact 100000
nft mixed 100000
xdpfilt exact 10000
xdpfilt exact 100000
ours exact 10000
ours mixed 10000
ours exact 100000
ours mixed 100000"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +%FT%TZ)
: > "$TMP/runs"
: > "$TMP/fail"
for rep in $(seq 1 "$REPS"); do
	echo "repetition $rep/$REPS" >&2
	while read -r conf kind n; do
		runone "$conf" "$kind" "$n" "$rep"
	done <<< "$CONFS"
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "# smtpscreen side-by-side drop cost, same frames, same lists, one run"
	echo "# date $START, kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared machine"
	echo "# sender pinned to CPU $CPU (taskset); load average before $LOAD0, after $LOAD1"
	echo "# nft $(nft --version | awk '{print $2}'), xdp-tools $(dpkg-query -W -f='${Version}' xdp-tools 2>/dev/null), bpftool $(bpftool version 2>/dev/null | head -1 | awk '{print $2}'), smtpscreen $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)$(git -C "$SRC" diff --quiet HEAD -- bpf ctrl 2>/dev/null || echo '+uncommitted bpf/ctrl changes')"
	echo "# frames: Ethernet/IPv4/TCP SYN with MSS, 60 bytes, 198.18.1.1-$NK -> $DST:25, veth, AF_PACKET + PACKET_QDISC_BYPASS, sendmmsg 64"
	echo "# per run: min($COUNT frames, ${SECS} s); $REPS repetitions, configurations interleaved; medians"
	/usr/bin/python3 - "$TMP/runs" <<'PYEOF'
import sys, statistics as st
rows = {}
for l in open(sys.argv[1]):
    f = l.split()
    key = (f[0], f[1], int(f[2]))
    rows.setdefault(key, []).append(f)
def med(lst, i):
    v = [float(x[i]) for x in lst if x[i] not in ("-", "")]
    return st.median(v) if v else None
base = rows.get(("base", "-", 0))
bw, bc = med(base, 5), med(base, 6)
floor = rows.get(("xdpdrop", "-", 0))
fc = med(floor, 6) if floor else None
def rng(lst, i):
    v = [float(x[i]) for x in lst]
    return "%.0f-%.0f" % (min(v), max(v))
hdr = "%-8s %-5s %7s %9s %9s %9s %11s %8s %7s %9s %8s %7s %7s %4s" % (
    "config", "list", "N", "load_ms", "wall_ns", "cpu_ns", "cpu_range", "d_cpu", "cpu/b",
    "over_flr", "ksirq_ns", "to_ip", "prog_ns", "ret")
print(hdr)
for key, lst in rows.items():
    c, w = med(lst, 6), med(lst, 5)
    pr = med(lst, 9)
    ret = lst[0][10]
    print("%-8s %-5s %7d %9s %9.1f %9.1f %11s %+8.1f %7.3f %9s %8.1f %7.3f %7s %4s" % (
        key[0], key[1], key[2],
        "%.1f" % med(lst, 4) if key[0] != "base" else "-", w, c, rng(lst, 6), c - bc, c / bc,
        "%+.1f" % (c - fc) if fc is not None else "-",
        med(lst, 7), med(lst, 8), "%.0f" % pr if pr is not None else "-", ret))
print()
print("# raw runs: config list N rep load_ms wall_ns cpu_ns ksoftirqd_ns to_ip prog_ns retval tx_errors")
for l in open(sys.argv[1]):
    print("#   " + l.rstrip())
PYEOF
	if [ -s "$TMP/fail" ]; then
		echo "# configurations that could not be set up (exact error):"
		sort -u -k1,3 "$TMP/fail" | sed 's/^/#   /'
	fi
	cat <<'EOF'
#
# columns: load_ms = wall time to set the configuration up, list included
#   (nft: one `nft -f` of table+set+chain; xdpfilt: `xdp-filter load` plus one
#   `bpftool batch` of N map updates; ours: one `smtpscreen xdp attach` = load
#   program and maps, compile the access list, fill, attach, pin; xdpdrop:
#   `ip link set xdpdrv obj`). wall_ns / cpu_ns = sender's wall time and its
#   own CPU time (getrusage user+sys) per frame, medians; cpu_range = min-max
#   of cpu_ns over the repetitions (the noise of this shared machine). d_cpu = cpu_ns minus
#   the base median, cpu/b = ratio to it; over_flr = cpu_ns minus the xdpdrop
#   median (what the filter costs beyond the cheapest possible XDP drop on
#   this veth). ksirq_ns = ksoftirqd CPU time on the sender's core per frame
#   (receive work deferred out of the sender's syscalls: NOT in cpu_ns).
#   to_ip = receiver IP InReceives per frame sent (1 = every frame reached IP,
#   0 = all dropped before IP: checks the filter really dropped them).
#   prog_ns = BPF_PROG_TEST_RUN average over 100000 repeats of the first frame
#   (198.18.1.1, in every list), ret its XDP action (1 = XDP_DROP).
# what cpu_ns includes: the sender's syscall, AF_PACKET skb build, veth xmit,
#   and, in softirq on the same core, the receiver's whole path for that
#   frame: native XDP on veth (skb -> xdp_buff conversion, a copy when the skb
#   lacks XDP headroom, then the program), or netdev ingress + nft, or in
#   base the full IPv4/TCP input, the RST and its delivery into the sender
#   namespace where it is dropped. It does not include work done in
#   ksoftirqd (ksirq_ns) or on the other core.
# what it is not: a NIC. On real hardware native XDP runs before any skb is
#   allocated; on veth every frame is an skb first, so XDP's advantage over
#   the netdev ingress hook is understated here, and absolute numbers include
#   the sender's own cost (~ the xdpdrop row). Compare rows of one run only;
#   the machine is shared (see load average); prog_ns is warm (one frame,
#   caches hot) and excludes the driver, so it isolates the program itself.
EOF
} > "$TMP/report"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/report" "$OUT"
cat "$OUT"
echo "written: $OUT" >&2
