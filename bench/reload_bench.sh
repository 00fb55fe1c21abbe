#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   reload_bench.sh - the longest pause in packet processing while a 1M-line access list
#                     is reloaded under live traffic, host mode and the appliance
#
# DESCRIPTION
#   DESIGN.md's budget: "Reload under traffic: no pause in packet processing over 10 ms;
#   nothing fails open". A reload (SIGHUP) parses main.cf and compiles the access list
#   (when there are XDP maps to fill) on the control plane's side (ctrl/ctl_live.c, off
#   the packet threads); the packet thread(s) get the new setup as a
#   SETUP message between bursts and apply it there (scr_engine_set_policy_scan: switch
#   to a scanner the control thread built and visit the flows in the table; before
#   3a144ff, scr_engine_set_policy built and destroyed the scanner pool there and walked
#   every table entry). Two gauges of `smtpscreenctl -s SOCK stats` show what that did
#   to packet processing:
#   turn_max_us (the longest turn of the packet loop; the appliance: of any worker) and,
#   in host mode, hold_late_max_us (how late after its due time a held greeting was
#   released); both cover the last 10-20 s.
#   Tables (generated once, python3, seeded, a few seconds): big.cidr with BIG_LINES
#   (1,000,000) REJECT lines and small.cidr with 10. No line covers another and no two
#   are siblings, so each stays one compiled prefix: 3 % IPv6 /64-/128 (one in every
#   other /64 of 2001:db8:ffff::/48), 2 % /32s, 384 /25-/31 in 64 /24s of 100.64.0.0/16,
#   0.6 % /16-/23 in 101.0.0.0-124.255.255.255, the rest /24s spread over
#   1.0.0.0-99.255.255.255. Host mode sizes its XDP maps at start for the start list
#   (its IPv4 DXR ranges half as much again, at least 2^19) and 65,536 IPv6
#   prefixes; a reload that needs more (the big list: about two ranges per prefix)
#   puts bigger maps in the copy it writes (it used to be refused: "does not fit the
#   maps; restart to resize them"; a refused reload is still reported as such).
#   SHAPE=fit (default) keeps the /32s in 160 /24s; SHAPE=spread spreads them over
#   100.64.0.0/10 (this mattered for the DIR-24-8 maps before DXR: one 256-byte group
#   per /24 holding a /32; DXR ranges cost the same either way). No line covers 198.18.0.0/15 (the
#   traffic) or 127.0.0.0/8.
#   Per mode (MODES, default "host inline"), in namespaces of its own:
#     host    schrl_hsrv (veth schrl_hs0, 198.18.90.1/24: private Postfix, plain smtpd,
#             discard sink, and `smtpscreen host -i schrl_hs0`) and schrl_hcli (veth
#             schrl_hc0, 198.18.90.2/24 plus the client addresses);
#     inline  schrl_icli (schrl_ic0) - schrl_ibox (schrl_ibc0, schrl_ibs0: `smtpscreen
#             inline`, one worker, net_af_packet ports, -l 0-1) - schrl_isrv (schrl_is0,
#             198.18.90.1/24, the same Postfix).
#   Client addresses: 198.19.64.0/18 (/32s on the client's veth), one per session, so
#   every session is screened and its greeting held; the server routes them via
#   198.18.90.2 (one neighbour entry). Traffic: a paced driver (python3, importing
#   tests/e2e/lib/smtpbot_pool.py and so tests/e2e/smtpbot.py) starts RATE sessions/s
#   (default 5): every fifth a pregreet bot, the rest good; it runs from before the
#   baseline to after the last reload, bounded in count and time.
#   Daemon config: greet action enforce, greet wait GREET (2s), block TTL 3600,
#   smtpscreen_flow_table_size FLOWS (262144, the default), cache file in the temp dir.
#   Sequence per mode: start with small.cidr, traffic on, wait 22 s (the gauges' window
#   holds only steady traffic); then REPS times: read the gauges (baseline), point
#   main.cf at big.cidr, SIGHUP, wait for "reload: <conf>: [N access-list prefixes, ]X s"
#   (no prefix count when nothing is compiled: the appliance without XDP maps) or the
#   refusal in the daemon's log, wait 2 s, read the gauges (the window covers the reload), wait
#   until 22 s after the reload; then the same back to small.cidr. After the traffic:
#   Postfix's log gives, per client address, the mails delivered (queue id of
#   "client=unknown[IP]" with "status=sent"): bots delivered must be 0.
#   PROBE=1 also times the reload's steps with perf uprobes on entry and return of the
#   functions below that the binary has (perf probe + perf record, in a private mount
#   namespace with its own tracefs; the probes are deleted at exit). A hit costs ~15 us
#   (the appliance's control loop calls scr_scan_thread_destroy(NULL) every turn: ~1.5 %
#   of a core); the packet thread's SETUP is hit once per reload.
#   Prints one table per mode and writes it to bench/results/reload-<date>.txt when
#   RESULTS=1 (or to OUT=FILE).
#   Waits (up to WAIT_MAX s, 1800) until no e2e run or other bench is active
#   (`pgrep -fa 'tests/run-all|meson test|_test.sh|_bench.sh'`, this run and its
#   ancestors excepted), and checks again before each mode.
#
# CONTRACT
#   reload_bench.sh [BUILD_DIR]   (root; default build-rl, set up as a release build and
#   built with ninja when BUILD_DIR is build-rl). Environment: REPS (3), RATE (5),
#   FLOWS (262144), GREET (2s), BIG_LINES (1000000), SHAPE (fit|spread), MODES
#   ("host inline"), RESULTS (0|1), OUT, PROBE (0|1), WAIT_MAX (1800), E2E_KEEP=1.
#   Exit 0 with the report; 1 when a mode does not run (daemon, Postfix, traffic) or a
#   bot's mail was delivered or no good mail was (the report is still printed). Each
#   mode is bounded by a watchdog (600 s). Cleans up namespaces, veths, pins, processes
#   (by PID), DPDK runtime files, uprobes, on exit and on failure.
#
# THREADING
#   Plain bash; the traffic driver, the daemon and Postfix run in the background.

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
E2E=$TOP/tests/e2e
E2E_LIB=$E2E/lib
# shellcheck source=../tests/e2e/lib/common.sh
. "$E2E_LIB/common.sh"
# shellcheck source=../tests/e2e/lib/netns.sh
. "$E2E_LIB/netns.sh"
# shellcheck source=../tests/e2e/lib/postfix.sh
. "$E2E_LIB/postfix.sh"
# shellcheck source=../tests/e2e/lib/dpdk.sh
. "$E2E_LIB/dpdk.sh"

BUILD=${1:-$TOP/build-rl}
REPS=${REPS:-3}
RATE=${RATE:-5}
FLOWS=${FLOWS:-262144}
GREET=${GREET:-2s}
BIG_LINES=${BIG_LINES:-1000000}
SHAPE=${SHAPE:-fit}
MODES=${MODES:-host inline}
RESULTS=${RESULTS:-0}
PROBE=${PROBE:-0}
WAIT_MAX=${WAIT_MAX:-1800}
PY=/usr/bin/python3
SIP=198.18.90.1
GW=198.18.90.2
CLI_NET=198.19.64.0/18
SETTLE=22		# s: the gauges keep the longest turn of the last 10-20 s
MODE_MAX=600		# s: watchdog per mode

for v in REPS RATE FLOWS BIG_LINES WAIT_MAX; do
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || { echo "$v=${!v}: a positive integer" >&2; exit 2; }
done
[ "$RATE" -le 20 ] || { echo "RATE=$RATE: at most 20 sessions/s" >&2; exit 2; }
[ "$REPS" -le 10 ] || { echo "REPS=$REPS: at most 10" >&2; exit 2; }
case $SHAPE in fit | spread) ;; *) echo "SHAPE=$SHAPE: fit or spread" >&2; exit 2 ;; esac
for m in $MODES; do
	case $m in host | inline) ;; *) echo "MODES: host and/or inline, not '$m'" >&2; exit 2 ;; esac
done

e2e_init schrl_bench
e2e_require_root
e2e_require_cmd postfix nsenter ss ethtool ip pgrep meson ninja "$PY"
declare -F dk_wire >/dev/null && declare -F dk_inline_start >/dev/null ||
	e2e_fail "tests/e2e/lib/dpdk.sh lacks dk_wire/dk_inline_start"
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
TMP=$E2E_TMP
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

# --- build ----------------------------------------------------------------------------
if [ "$(cd "$(dirname "$BUILD")" 2>/dev/null && pwd)/$(basename "$BUILD")" = "$TOP/build-rl" ]; then
	if [ ! -d "$TOP/build-rl" ]; then
		meson setup "$TOP/build-rl" "$TOP" -Dbuildtype=release >"$TMP/meson.log" 2>&1 ||
			e2e_fail "meson setup build-rl: $(tail -5 "$TMP/meson.log")"
	fi
	ninja -C "$TOP/build-rl" >"$TMP/ninja.log" 2>&1 || e2e_fail "ninja -C build-rl: $(tail -15 "$TMP/ninja.log")"
fi
SCR=$BUILD/dataplane/smtpscreen
CTL=$BUILD/ctrl/smtpscreenctl
e2e_require_cmd "$SCR" "$CTL"
BT=$("$PY" -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
print("%s, sanitize=%s" % (o.get("buildtype"), o.get("b_sanitize")))' \
	"$BUILD/meson-info/intro-buildoptions.json" 2>/dev/null) || BT=unknown
[[ $BT == *"sanitize=none"* ]] || e2e_log "note: build $BUILD is '$BT' (a benchmark wants no sanitizers)"

# --- other runs: none may be active -------------------------------------------------
ANCESTORS=" "
p=$$
for ((n = 0; n < 64 && p > 1; n++)); do
	ANCESTORS+="$p "
	p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ') || break
	[ -n "$p" ] || break
done
# ours PID - PID is this run, one of its ancestors or a descendant
ours() {
	local p=$1 n
	[[ $ANCESTORS == *" $p "* ]] && return 0
	for ((n = 0; n < 64 && p > 1; n++)); do
		[ "$p" = $$ ] && return 0
		p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')
		[ -n "$p" ] || return 1
	done
	return 1
}
# others - print the other e2e runs and benches that are active
others() {
	local pid rest
	while read -r pid rest; do
		[ -n "$pid" ] || continue
		ours "$pid" || echo "$pid $rest"
	done < <(pgrep -fa 'tests/run-all|meson test|_test.sh|_bench.sh')
}
wait_quiet() {
	local t0=$SECONDS o
	while o=$(others) && [ -n "$o" ]; do
		[ $((SECONDS - t0)) -lt "$WAIT_MAX" ] ||
			e2e_fail "other runs still active after $WAIT_MAX s: $o"
		[ $(((SECONDS - t0) % 60)) -lt 5 ] && e2e_log "waiting for other runs to end: $(echo "$o" | head -3 | tr '\n' ';')"
		sleep 5
	done
}

# --- tables ---------------------------------------------------------------------------
"$PY" - "$TMP/big.cidr" "$TMP/small.cidr" "$BIG_LINES" "$SHAPE" >"$TMP/tables.txt" <<'PYEOF' ||
import ipaddress, random, sys
big, small, n, shape = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rnd = random.Random(11)
A = lambda t: int(ipaddress.IPv4Address(t))
def v4(a, plen):
    return "%d.%d.%d.%d/%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, plen)
# Every line stays its own compiled prefix: no line covers another and no two lines
# are siblings (which a compiler would merge into their parent).
lines, count = [], {}
# IPv6: one prefix (/64-/128) in every other /64 of 2001:db8:ffff::/48
n6 = min(30000, n * 3 // 100)
base6 = int(ipaddress.IPv6Address("2001:db8:ffff::"))
for k in range(n6):
    slot = ((k * 7919) % 32768) * 2
    plen = rnd.choice((64, 64, 64, 80, 96, 112, 120, 124, 127, 128, 128, 128))
    host = rnd.getrandbits(64) & ~((1 << (128 - plen)) - 1)
    lines.append("%s/%d" % (ipaddress.IPv6Address(base6 | (slot << 64) | host), plen))
count["IPv6 /64-/128 in 2001:db8:ffff::/48"] = n6
# /32s at even addresses: fit: inside 160 /24s of 100.64.0.0/16; spread: anywhere in
# 100.64.0.0/10 (about 15,000 /24s)
n32 = min(20480, n * 2 // 100)
if shape == "fit":
    evens = list(range(A("100.64.0.0"), A("100.64.160.0"), 2))
    where = "in 160 /24s of 100.64.0.0/16"
else:
    evens = range(A("100.64.0.0"), A("100.128.0.0"), 2)
    where = "spread over 100.64.0.0/10"
for a in rnd.sample(evens, n32):
    lines.append(v4(a, 32))
count["/32 " + where] = n32
# /25-/31: a /25, /27, /28, /29, /30, /31 in each of 64 /24s (100.64.160-223.x)
nmix = 0
for k in range(min(64, n // 10000)):
    b = A("100.64.160.0") + k * 256
    for off, plen in ((0, 25), (128, 27), (192, 28), (224, 29), (240, 30), (248, 31)):
        lines.append(v4(b + off, plen))
        nmix += 1
count["/25-/31 in 64 /24s of 100.64.160.0-100.64.223.255"] = nmix
# /16-/23: one in each of 6,000 /16s of 101.0.0.0-124.255.255.255
nmid = min(6000, n * 6 // 1000)
for k in range(nmid):
    b16 = (101 << 8) + (k * 337) % (24 * 256)
    plen = rnd.choice((16, 17, 18, 19, 20, 20, 21, 21, 22, 22, 23, 23, 23))
    lines.append(v4(b16 << 16, plen))
count["/16-/23 in 101.0.0.0-124.255.255.255"] = nmid
# /24s: the rest, a permutation of the /24s of 1.0.0.0-99.255.255.255
n24 = n - len(lines)
space = 99 << 16
if n24 < 0 or n24 > space:
    sys.exit("BIG_LINES=%d: out of range" % n)
for k in range(n24):
    lines.append(v4(((1 << 16) + (k * 1000003) % space) << 8, 24))
count["/24 in 1.0.0.0-99.255.255.255"] = n24
rnd.shuffle(lines)
with open(big, "w") as f:
    f.write("# reload_bench.sh: %d lines, shape %s\n" % (len(lines), shape))
    f.write("".join("%s\treject\n" % l for l in lines))
with open(small, "w") as f:
    f.write("# reload_bench.sh: the small table\n")
    for l in ("100.64.7.0/24", "100.64.8.0/25", "100.64.9.17/32", "100.65.0.0/16",
              "100.66.128.0/17", "2001:db8:ffff:1::/64", "2001:db8:ffff:2::/64",
              "2001:db8:ffff:3::17/128", "2001:db8:ffff:400::/56", "2001:db8:ffff:5::/80"):
        f.write("%s\treject\n" % l)
print("big.cidr: %d lines (%s)" % (len(lines), "; ".join("%s %d" % (k, v) for k, v in count.items())))
print("small.cidr: 10 lines (5 IPv4 /16-/32 in 100.64.0.0/10, 5 IPv6 in 2001:db8:ffff::/48)")
PYEOF
	e2e_fail "cannot generate the tables"
e2e_log "$(head -1 "$TMP/tables.txt")"

# --- the traffic driver: RATE sessions/s from a job list, until a stop file ------------
cat >"$TMP/traffic.py" <<'PYEOF'
import argparse, concurrent.futures, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--lib", required=True)
p.add_argument("--server", required=True)
p.add_argument("--jobs", required=True)
p.add_argument("--rate", type=float, required=True)
p.add_argument("--stop", required=True)
p.add_argument("--max-seconds", type=float, required=True)
p.add_argument("--timeout", type=float, default=20.0)
o = p.parse_args()
sys.path.insert(0, o.lib)
import smtpbot_pool  # noqa: E402  (tests/e2e/lib; imports tests/e2e/smtpbot.py)
jobs = smtpbot_pool.read_jobs(o.jobs)
opts = argparse.Namespace(server=o.server, port=25, timeout=o.timeout, attempts=1,
                          retry_delay=1.0)
real = sys.stdout
sys.stdout = smtpbot_pool.LineOut(real)
counts, started, t0 = {}, 0, time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=64) as ex:
    futs = []
    for k, job in enumerate(jobs):
        due = t0 + k / o.rate
        while not os.path.exists(o.stop) and time.monotonic() - t0 < o.max_seconds:
            d = due - time.monotonic()
            if d <= 0:
                break
            time.sleep(min(d, 0.2))
        else:
            break
        futs.append((job, ex.submit(smtpbot_pool.run_job, job, opts)))
        started += 1
    for job, f in futs:
        try:
            r = f.result()
        except Exception as e:      # a bug in a job: counted, reported
            r = "exception"
            sys.stderr.write("traffic: %s %s: %r\n" % (job[0], job[1], e))
        counts[job[1] + "_" + r] = counts.get(job[1] + "_" + r, 0) + 1
sys.stdout = real
print("TRAFFIC started=%d seconds=%.1f %s" % (started, time.monotonic() - t0,
      " ".join("%s=%d" % kv for kv in sorted(counts.items()))), flush=True)
PYEOF

# Sessions: enough for the whole mode at RATE, bounded.
TRAFFIC_SECS=$((SETTLE + 2 * REPS * (SETTLE + 8) + 60))
NJOBS=$((RATE * TRAFFIC_SECS))
[ "$NJOBS" -le 16000 ] || e2e_fail "$NJOBS sessions do not fit $CLI_NET"
# addr K - the client address of session K: 198.19.64.1 onwards, 250 per /24
: >"$TMP/jobs.txt"
for ((k = 0; k < NJOBS; k++)); do
	a="198.19.$((64 + k / 250)).$((1 + k % 250))"
	if [ $((k % 5)) -eq 4 ]; then echo "$a pregreet"; else echo "$a good"; fi
done >"$TMP/jobs.txt"

# --- helpers per mode --------------------------------------------------------------------
# cleanup_to MARK - run the cleanup stack down to MARK entries (one mode's teardown)
cleanup_to() {
	local mark=$1 i
	for ((i = ${#E2E_CLEANUP[@]} - 1; i >= mark; i--)); do
		eval "${E2E_CLEANUP[$i]}" || e2e_log "cleanup step failed: ${E2E_CLEANUP[$i]}"
		unset "E2E_CLEANUP[$i]"
	done
	E2E_CLEANUP=("${E2E_CLEANUP[@]}")
}
WD=
watchdog_start() {
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "$MODE_MAX" &
		s=$!
		wait "$s" && echo "watchdog: $MODE_MAX s passed in mode $1, stopping" >&2 && kill -TERM $$
	) >/dev/null 2>>"$TMP/watchdog.log" &
	WD=$!
	e2e_cleanup_push "kill $WD 2>/dev/null; true"
}
# clients NS IF - the client side: gateway address and one /32 per session
clients() {
	local ns=$1 ifc=$2
	ns_addr "$ns" "$ifc" "$GW/24"
	awk -v d="$ifc" '{ print "address add " $1 "/32 dev " d }' "$TMP/jobs.txt" >"$TMP/addr.batch"
	ip -n "$ns" -batch "$TMP/addr.batch" || e2e_fail "cannot add the client addresses in $ns"
}
# write_conf MODEDIR TABLE - the daemon's main.cf (atomically replaced)
write_conf() {
	local d=$1 table=$2
	cat >"$d/screen.cf.new" <<CEOF
myhostname = mx.example.test
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
postscreen_access_list = permit_mynetworks, cidr:$table
postscreen_denylist_action = drop
postscreen_greet_action = enforce
postscreen_greet_wait = $GREET
smtpscreen_block_ttl = 3600
smtpscreen_cache_file = $d/verdicts.lmdb
smtpscreen_cache_size = 67108864
smtpscreen_flow_table_size = $FLOWS
CEOF
	[ -n "${PIN:-}" ] && echo "smtpscreen_pin_directory = $PIN" >>"$d/screen.cf.new"
	mv -f "$d/screen.cf.new" "$d/screen.cf" || e2e_fail "cannot write $d/screen.cf"
}
# gauge NAME - one gauge from smtpscreenctl stats (host mode may prefix host_)
gauge() {
	"$CTL" -s "$SOCK" stats 2>>"$TMP/ctl.err" |
		awk -v n="$1" '$1 == n || $1 == "host_" n { print $2; exit }'
}
# gauges - G="TURN_US LATE_US" (LATE_US "-" without the gauge)
gauges() {
	local t l
	t=$(gauge turn_max_us)
	l=$(gauge hold_late_max_us)
	[ -n "$t" ] || e2e_fail "no turn_max_us in stats: $("$CTL" -s "$SOCK" stats 2>&1 | head -5)"
	G="$t ${l:--}"
}
RELOAD_ERE='reload: .*: ([0-9]+ access-list prefixes, )?[0-9.]+ s$|reload: .*keeping the running configuration|error: reload: '
reload_lines() { grep -cE "$RELOAD_ERE" "$LOG" 2>/dev/null; }
# reload_to TABLE - point main.cf at TABLE, SIGHUP, wait for the outcome; sets
# RL="PREFIXES SECS WALL" or RL="refused WALL REASON"
reload_to() {
	local table=$1 n0 t0 line wall secs
	n0=$(reload_lines)
	write_conf "$MD" "$table"
	t0=$(date +%s.%N)
	kill -HUP "$SPID" || e2e_fail "SIGHUP to $SPID"
	e2e_wait_for 120 eval '[ "$(reload_lines)" -gt '"$n0"' ]' ||
		e2e_fail "no reload line in $LOG 120 s after SIGHUP: $(tail -3 "$LOG")"
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	line=$(grep -E "$RELOAD_ERE" "$LOG" | sed -n "$((n0 + 1))p")
	if [[ $line =~ :\ ([0-9]+)\ access-list\ prefixes,\ ([0-9.]+)\ s$ ]]; then
		RL="${BASH_REMATCH[1]} ${BASH_REMATCH[2]} $wall"
	elif [[ $line =~ reload:\ .*:\ ([0-9.]+)\ s$ ]]; then
		RL="- ${BASH_REMATCH[1]} $wall"	# nothing compiled (no XDP maps)
	else
		RL="refused $wall ${line#*reload: }"
	fi
}

# --- PROBE=1: the reload's steps timed with uprobes ---------------------------------
# Entry and return of: on the control thread ctl_setup_load (main.cf, patterns, access
# list parsed), ctl_aclcomp_compile (the list compiled to longest-prefix entries),
# ctl_maps_replace (host mode: into the XDP maps); on the packet thread the SETUP
# message's scr_engine_set_policy_scan (since 3a144ff) or scr_engine_set_policy (before;
# still the fallback), and scr_scan_thread_create (scratch + stream pool) and
# scr_scan_thread_destroy wherever they run (inside the packet thread's call only
# before 3a144ff).
PERF_PID=
PROBES="setup_load=ctl_setup_load aclcomp=ctl_aclcomp_compile maps_replace=ctl_maps_replace
setpol=scr_engine_set_policy setpol=scr_engine_set_policy_scan
tcreate=scr_scan_thread_create tdestroy=scr_scan_thread_destroy"
# in_tracefs CMD... - CMD in a private mount namespace with its own tracefs
in_tracefs() {
	unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$@"' sh "$@"
}
probe_start() {
	local bin=$1 out=$2 p f syms args=()
	e2e_require_cmd perf unshare nm
	: >"$TMP/probe-names.txt"
	# one event name per function; both set_policy variants count as "setpol"
	syms=$(nm "$bin" 2>/dev/null)
	for p in $PROBES; do
		grep -q " T ${p#*=}\$" <<<"$syms" || continue
		f=${p#*=}
		args+=(-a "schrl:${f}=$f" -a "schrl:${f}_ret=$f%return")
		echo "${f} ${p%%=*}" >>"$TMP/probe-names.txt"
	done
	e2e_cleanup_push "probe_stop"
	in_tracefs perf probe -q -x "$bin" "${args[@]}" >"$TMP/perf-probe.log" 2>&1 ||
		e2e_fail "perf probe: $(cat "$TMP/perf-probe.log")"
	# a simple command in the background: $! is unshare, which becomes perf (exec)
	unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$@"' \
		sh perf record -q -o "$out" -e 'schrl:*' -p "$SPID" >"$TMP/perf.log" 2>&1 &
	PERF_PID=$!
	sleep 2
	e2e_alive "$PERF_PID" || e2e_fail "perf record failed: $(cat "$TMP/perf.log")"
}
probe_stop() {
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null
		e2e_wait_for 10 eval "! e2e_alive $PERF_PID"
		e2e_kill_pid "$PERF_PID" 2
		wait "$PERF_PID" 2>/dev/null
		PERF_PID=
	fi
	in_tracefs perf probe -q -d 'schrl:*' >/dev/null 2>&1
	return 0
}
# probe_report DATA - one "ROLE START_S DURATION_US TID" line per call
probe_report() {
	in_tracefs perf script -i "$1" -F tid,time,event 2>/dev/null |
		awk -v names="$TMP/probe-names.txt" '
		BEGIN { while ((getline l < names) > 0) { split(l, f, " "); role[f[1]] = f[2] } }
		{ t = $2; sub(/:$/, "", t); e = $3; sub(/:$/, "", e); sub(/^schrl:/, "", e)
		       if (e ~ /_ret__return$/) {
			       sub(/_ret__return$/, "", e)
			       if ((e, $1) in st) { printf "%s %.6f %.0f %s\n", (e in role) ? role[e] : e, st[e, $1], (t - st[e, $1]) * 1e6, $1
						    delete st[e, $1] }
		       } else st[e, $1] = t }'
}

# --- one mode ---------------------------------------------------------------------------
FAILS=()
run_mode() {
	local mode=$1 mark=${#E2E_CLEANUP[@]} srv cli box ifs ifc prefix i dir table base during final t
	MD=$TMP/$mode
	mkdir -p "$MD"
	wait_quiet
	watchdog_start "$mode"
	e2e_log "mode $mode: setting up"
	SOCK=$MD/ctl.sock
	LOG=$MD/smtpscreen.log
	PIN=
	case $mode in
	host)
		srv=schrl_hsrv cli=schrl_hcli ifs=schrl_hs0 ifc=schrl_hc0
		PIN=/sys/fs/bpf/schrl_bench
		e2e_cleanup_push "rm -rf '$PIN'"
		ns_create "$srv"
		ns_create "$cli"
		ns_veth "$srv" "$ifs" "$cli" "$ifc"
		;;
	inline)
		srv=schrl_isrv cli=schrl_icli box=schrl_ibox ifs=schrl_is0 ifc=schrl_ic0
		prefix=schrl$$
		e2e_cleanup_push "dk_runtime_cleanup '$prefix'"
		ns_create "$srv"
		ns_create "$box"
		ns_create "$cli"
		dk_wire "$cli" "$ifc" "$box" schrl_ibc0 schrl_ibs0 "$srv" "$ifs"
		;;
	esac
	ns_addr "$srv" "$ifs" "$SIP/24"
	ip -n "$srv" route add "$CLI_NET" via "$GW" || e2e_fail "route $CLI_NET via $GW in $srv"
	clients "$cli" "$ifc"

	PF=$MD/pf
	pf_template_smtpd "$MD/pf.tmpl"
	pf_instance_create "$PF" "$MD/pf.tmpl" "SERVER_IP=$SIP"
	pf_start "$srv" "$PF"
	ns_wait_listen "$srv" "$SIP" 25 || e2e_fail "smtpd does not listen on $SIP:25"

	write_conf "$MD" "$TMP/small.cidr"
	SPID=
	case $mode in
	host)
		nsenter --net=/run/netns/$srv "$SCR" host -i "$ifs" -c "$MD/screen.cf" -s "$SOCK" \
			--log-file "$LOG" >"$MD/daemon.out" 2>"$MD/daemon.err" &
		SPID=$!
		e2e_cleanup_push "e2e_kill_pid $SPID 10; wait $SPID 2>/dev/null; ip -n $srv link set $ifs xdp off 2>/dev/null; tc -n $srv qdisc del dev $ifs clsact 2>/dev/null; true"
		e2e_wait_for 30 grep -q "running on $ifs" "$MD/daemon.err" ||
			e2e_fail "smtpscreen host did not start: $(tail -5 "$MD/daemon.err")"
		;;
	inline)
		mapfile -t EAL < <(dk_eal_args af_packet schrl_ibc0 schrl_ibs0 "$prefix")
		dk_inline_start "$box" "" "$MD/daemon.out" "$MD/daemon.err" \
			"$SCR" inline -c "$MD/screen.cf" --workers 1 --log "$LOG" -s "$SOCK" -- "${EAL[@]}"
		SPID=$DK_INLINE_PID
		e2e_cleanup_push "e2e_kill_pid $SPID 20; wait $SPID 2>/dev/null; true"
		;;
	esac
	e2e_wait_for 10 test -S "$SOCK" || e2e_fail "no control socket $SOCK"
	e2e_log "mode $mode: daemon $SPID up ($(grep -m1 -o 'memory: .*' "$MD/daemon.err" "$LOG" 2>/dev/null | head -1 | sed 's/^[^:]*://'))"
	[ "$PROBE" = 1 ] && probe_start "$SCR" "$MD/perf.data"

	# traffic for the whole mode
	rm -f "$MD/traffic.stop"
	ns_exec "$cli" "$PY" "$TMP/traffic.py" --lib "$E2E_LIB" --server "$SIP" --jobs "$TMP/jobs.txt" \
		--rate "$RATE" --stop "$MD/traffic.stop" --max-seconds "$TRAFFIC_SECS" \
		>"$MD/traffic.out" 2>"$MD/traffic.err" &
	TPID=$!
	e2e_cleanup_push "touch '$MD/traffic.stop'; e2e_kill_pid $TPID 30"
	e2e_log "mode $mode: traffic $RATE sessions/s; baseline window ${SETTLE} s"
	sleep "$SETTLE"

	: >"$MD/rows.txt"
	for ((i = 1; i <= REPS; i++)); do
		for dir in big small; do
			table=$TMP/$dir.cidr
			e2e_alive "$SPID" || e2e_fail "the daemon exited: $(tail -5 "$MD/daemon.err")"
			e2e_alive "$TPID" || e2e_fail "the traffic driver exited early: $(tail -5 "$MD/traffic.err")"
			gauges
			base=$G
			reload_to "$table"
			t=$SECONDS
			sleep 2
			gauges
			during=$G
			echo "$i $dir $base $during $RL" >>"$MD/rows.txt"
			e2e_log "mode $mode: rep $i -> $dir: reload [$RL]; turn/late us baseline $base, during $during"
			t=$((SETTLE - (SECONDS - t)))
			[ "$t" -gt 0 ] && sleep "$t"
		done
	done
	gauges
	final=$G

	# traffic off; every session ended; Postfix delivered what it accepted
	touch "$MD/traffic.stop"
	e2e_wait_for 40 eval "! e2e_alive $TPID" || e2e_fail "the traffic driver did not stop"
	wait "$TPID"
	grep -q '^TRAFFIC ' "$MD/traffic.out" || e2e_fail "no TRAFFIC summary: $(tail -5 "$MD/traffic.err")"
	# every mail Postfix accepted is delivered (or 20 s pass)
	local acc
	acc=$(grep -c '^SESSION .* result=accepted' "$MD/traffic.out")
	e2e_wait_for 20 eval '[ "$(grep -c "status=sent" "$(pf_maillog "$PF")")" -ge '"$acc"' ]' ||
		e2e_log "mode $mode: $(grep -c "status=sent" "$(pf_maillog "$PF")") of $acc accepted mails delivered after 20 s"
	[ "$PROBE" = 1 ] && { probe_stop; probe_report "$MD/perf.data" >"$MD/probe.txt"; }
	"$CTL" -s "$SOCK" stats >"$MD/stats.end" 2>&1
	case $mode in
	inline) dk_inline_stop "$SPID" "$MD/daemon.out" "$MD/daemon.err" ;;
	host) e2e_kill_pid "$SPID" 10; wait "$SPID" 2>/dev/null ;;
	esac
	pf_stop "$srv" "$PF"
	echo "$final" >"$MD/final.txt"
	"$PY" - "$MD" "$TMP/jobs.txt" "$(pf_maillog "$PF")" >"$MD/mail.txt" <<'PYEOF' ||
import re, sys
md, jobs, maillog = sys.argv[1:]
beh = dict(l.split()[:2] for l in open(jobs) if l.strip())
started = {}
for l in open(md + "/traffic.out"):
    m = re.match(r"SESSION src=([0-9.]+):\d+ .*behaviour=(\S+) result=(\S+)", l)
    if m:
        started.setdefault(m.group(2), {}).setdefault(m.group(3), 0)
        started[m.group(2)][m.group(3)] += 1
# in log order: Postfix reuses short queue ids
qid_ip, dl = {}, {}
for l in open(maillog, errors="replace"):
    m = re.search(r": ([0-9A-Za-z]+): client=[^\[]*\[([0-9.]+)\]", l)
    if m:
        qid_ip[m.group(1)] = m.group(2)
        continue
    m = re.search(r": ([0-9A-Za-z]+): to=.*status=sent", l)
    if m:
        b = beh.get(qid_ip.get(m.group(1)), "other")
        dl[b] = dl.get(b, 0) + 1
print("delivered_good %d" % dl.get("good", 0))
print("delivered_bots %d" % dl.get("pregreet", 0))
print("delivered_other %d" % dl.get("other", 0))
for b in sorted(started):
    print("sessions_%s %d %s" % (b, sum(started[b].values()),
          ",".join("%s=%d" % kv for kv in sorted(started[b].items()))))
PYEOF
		e2e_fail "cannot read Postfix's log"
	{
		echo "pregreet_lines $(grep -c 'PREGREET [0-9]* after' "$LOG")"
		echo "pass_new_lines $(grep -c 'PASS NEW ' "$LOG")"
	} >>"$MD/mail.txt"
	local nb ng
	nb=$(awk '$1 == "delivered_bots" { print $2 }' "$MD/mail.txt")
	ng=$(awk '$1 == "delivered_good" { print $2 }' "$MD/mail.txt")
	[ "$nb" = 0 ] || FAILS+=("$mode: $nb pregreet bots' mail delivered (fail open)")
	[ "${ng:-0}" -gt 0 ] || FAILS+=("$mode: no good mail delivered")
	cp "$LOG" "$MD/smtpscreen.log.kept" 2>/dev/null
	e2e_log "mode $mode: done ($(tr '\n' ' ' <"$MD/mail.txt"))"
	cleanup_to "$mark"
}

for m in $MODES; do
	run_mode "$m"
done

# --- report ----------------------------------------------------------------------------
DATE=$(date +%Y-%m-%d)
"$PY" - "$TMP" "$MODES" >"$TMP/report.body" <<'PYEOF' || e2e_fail "report failed"
import os, statistics, sys
tmp, modes = sys.argv[1], sys.argv[2].split()
BUDGET_US = 10000
def ratio(a, b):
    try:
        return "x%.1f" % (float(b) / float(a)) if float(a) > 0 else "-"
    except ValueError:
        return "-"
for mode in modes:
    md = os.path.join(tmp, mode)
    rows = [l.split(None, 6) for l in open(md + "/rows.txt") if l.strip()]
    mail = {}
    for l in open(md + "/mail.txt"):
        k, v = l.split(None, 1)
        mail[k] = v.strip()
    # PROBE=1: per reload row, the calls that started between its ctl_setup_load and the next
    calls = {}
    if os.path.exists(md + "/probe.txt"):
        for l in open(md + "/probe.txt"):
            f = l.split()
            calls.setdefault(f[0], []).append((float(f[1]), float(f[2]), f[3] if len(f) > 3 else ""))
    for v in calls.values():
        v.sort()
    loads = calls.get("setup_load", [])
    setpol_fn = "scr_engine_set_policy"
    if os.path.exists(os.path.join(tmp, "probe-names.txt")):
        fns = [l.split()[0] for l in open(os.path.join(tmp, "probe-names.txt")) if l.endswith(" setpol\n")]
        setpol_fn = " or ".join(sorted(set(fns))) or setpol_fn
    prb = []
    if len(loads) == len(rows):
        for k, (s0, d0, _) in enumerate(loads):
            s1 = loads[k + 1][0] if k + 1 < len(loads) else float("inf")
            got = {n: [c for c in v if s0 <= c[0] < s1] for n, v in calls.items()}
            one = lambda n: got[n][0][1] if got.get(n) else None
            sp = got.get("setpol", [])
            # scanner calls inside the packet thread's SETUP: same thread, within its span
            inner = lambda n: sum(d for st, d, tid in got.get(n, []) if sp and tid == sp[0][2]
                                  and sp[0][0] <= st <= sp[0][0] + sp[0][1] / 1e6)
            prb.append({"load": d0, "comp": one("aclcomp"), "maps": one("maps_replace"),
                        "setpol": sp[0][1] if sp else None, "create": inner("tcreate"),
                        "destroy": inner("tdestroy")})
    setpol = prb
    print("## %s" % ("host mode (smtpscreen host, packet thread)" if mode == "host"
                     else "appliance (smtpscreen inline, 1 worker, net_af_packet)"))
    print()
    hdr = "| # | reload | compiled prefixes | reload s (log) | SIGHUP to log line s | turn_max_us baseline -> during (ratio)"
    hdr += " | hold_late_max_us baseline -> during (ratio) |" if mode == "host" else " |"
    if setpol:
        hdr += " reload steps ms: parse / compile / maps | packet thread's SETUP us (of it: scan pool create + destroy) |"
    print(hdr)
    print("|" + " --- |" * (hdr.count("|") - 1))
    over = same = 0
    for k, r in enumerate(rows):
        rep, d, tb, lb, td, ld = r[:6]
        rest = r[6].split() if len(r) > 6 else []
        what = "small -> 1M" if d == "big" else "1M -> small"
        if rest and rest[0] == "refused":
            pre, secs, wall = "refused: " + " ".join(rest[2:]), "-", rest[1]
        else:
            pre, secs, wall = rest[0], rest[1], rest[2]
        if int(td) > BUDGET_US:
            over += 1
            same += td == tb
        line = "| %s | %s | %s | %s | %s | %s -> %s (%s) |" % (rep, what, pre, secs, wall, tb, td, ratio(tb, td))
        if mode == "host":
            line += " %s -> %s (%s) |" % (lb, ld, ratio(lb, ld))
        if setpol:
            p = setpol[k]
            ms = lambda v: "-" if v is None else "%.0f" % (v / 1000)
            line += " %s / %s / %s | %s |" % (ms(p["load"]), ms(p["comp"]), ms(p["maps"]),
                "-" if p["setpol"] is None else "%.0f (%.0f + %.0f)" % (p["setpol"], p["create"], p["destroy"]))
        print(line)
    print()
    tds = [int(r[4]) for r in rows]
    tbs = [int(r[2]) for r in rows]
    print("- turn_max_us: baseline median %d (max %d), during a reload median %d (max %d);"
          " %d of %d reloads over the 10 ms budget%s" % (statistics.median(tbs), max(tbs),
          statistics.median(tds), max(tds), over, len(rows),
          " (%d of them the baseline's own longest turn, from before the reload)" % same if same else ""))
    if mode == "host":
        lds = [int(r[5]) for r in rows]
        lbs = [int(r[3]) for r in rows]
        print("- hold_late_max_us: baseline median %d (max %d), during median %d (max %d)"
              % (statistics.median(lbs), max(lbs), statistics.median(lds), max(lds)))
    if setpol:
        sp = [p for p in setpol if p["setpol"] is not None]
        if sp:
            print("- the SETUP message on the packet thread (%s, perf uprobes): %s us; the rest"
                  " after the scanner pool's create and destroy (the walk over the flow table): %s us"
                  % (setpol_fn, ", ".join("%.0f" % p["setpol"] for p in sp),
                     ", ".join("%.0f" % (p["setpol"] - p["create"] - p["destroy"]) for p in sp)))
    elif calls:
        print("- uprobes: %d ctl_setup_load calls for %d reloads; per call: %s" % (len(loads), len(rows),
              "; ".join("%s %s" % (n, ",".join("%.0f" % d for _, d in v)) for n, v in sorted(calls.items()))))
    print("- mail: pregreet bots delivered %s (must be 0); good delivered %s; other %s"
          % (mail.get("delivered_bots"), mail.get("delivered_good"), mail.get("delivered_other")))
    for k in sorted(mail):
        if k.startswith("sessions_"):
            print("- %s sessions: %s" % (k[9:], mail[k]))
    print("- smtpscreen log: %s PREGREET, %s PASS NEW lines; gauges after the last reload"
          " window: %s" % (mail.get("pregreet_lines"), mail.get("pass_new_lines"),
                           open(md + "/final.txt").read().strip()))
    print()
PYEOF
{
	echo "# reload_bench.sh: longest packet-loop pause during a reload of a 1M-line access list, under traffic"
	echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), git $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet 2>/dev/null || echo +dirty)"
	echo "# conditions: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, kernel $(uname -r), build $BT ($BUILD)"
	echo "# load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg); run $(($(date +%s) - T_START)) s"
	echo "# smtpscreen_flow_table_size $FLOWS, greet wait $GREET (enforce), traffic $RATE sessions/s (4 good : 1 pregreet," \
		"each from its own address, so every greeting is held), REPS $REPS, shape $SHAPE"
	sed 's/^/# /' "$TMP/tables.txt"
	echo "# gauges: turn_max_us / hold_late_max_us of smtpscreenctl stats, longest in the last 10-20 s;"
	echo "#   baseline read just before each reload (>= ${SETTLE} s after the previous one), during 2 s after the reload's log line"
	echo
	cat "$TMP/report.body"
} >"$TMP/report.txt"
cat "$TMP/report.txt"
if [ "$RESULTS" = 1 ] || [ -n "${OUT:-}" ]; then
	OUT=${OUT:-$TOP/bench/results/reload-$DATE.txt}
	cp "$TMP/report.txt" "$OUT" || e2e_fail "cannot write $OUT"
	e2e_log "written to $OUT"
fi
if [ ${#FAILS[@]} -gt 0 ]; then
	for f in "${FAILS[@]}"; do e2e_log "FAIL: $f"; done
	exit 1
fi
exit 0
