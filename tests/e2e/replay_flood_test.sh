#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_flood_test - smtpscreen replay under a SYN flood, slowloris
#	clients and one client with too many connections (issue 8)
# DESCRIPTION
#	0. scr-gen refuses bad load options (bad values, a flood with no time
#	   span), and its load streams leave the labeled sessions alone: the
#	   capture with a flood minus the flood SYNs is the capture without it.
#	1. Flood: ~300 labeled sessions (mostly good) with and without
#	   --syn-flood 10240 (10 x the 1024-entry flow table) at 1000 SYN/s
#	   from the capture's start (the flood ends after ~10 s, the sessions
#	   go on to ~30 s, so the table empties and stress mode is left while
#	   the capture still runs; replay does not sweep at end of input):
#	   per-class accuracy 100 % in both runs; the labeled flows' verdict
#	   rows are identical; the log says "entering STRESS mode with N
#	   connections" with N >= 921, then "leaving STRESS mode with N
#	   connections" with N <= 717; load line evicted_half_open > 0 and
#	   stress_entered >= 1; the memory statement on stderr is identical;
#	   peak RSS with the flood <= RSS without + pcap size difference +
#	   8 MiB (the table does not grow; replay holds the capture in memory).
#	2. Slowloris: 20 clients trickling one byte a minute (10 bytes, never a
#	   line) plus a few good sessions and a clock tick (spoofed SYNs at
#	   60/s, smtpscreen_tcp_syn_timeout 2s so they hold ~120 entries: the
#	   engine's clock is the capture's timestamps): 20 "COMMAND TIME LIMIT
#	   from [a]:p after CONNECT" lines, one per slow client, command_time=20,
#	   their verdicts unknown, the good sessions pass; from the JSON log
#	   (the END event's time) and the pcap (the greeting's time) each slow
#	   flow ended between 300 and 302.5 s after its greeting; with
#	   postscreen_command_time_limit = 20s between 20 and 22.5 s.
#	   2c. The same with a sparse clock (2 SYN/s): each still ends within
#	   302.5 s of its greeting (the table is swept once per second of input
#	   time, however few frames carry that time).
#	3. Per-client limit: 60 concurrent sessions from one address (a scapy
#	   capture): with postscreen_client_connection_count_limit = 0 no
#	   reject; with 50, 10 "NOQUEUE: reject: CONNECT from [a]:p: too many
#	   connections" lines (for the last 10 ports) and client_limit=10.
# USAGE
#	replay_flood_test.sh BUILD_DIR     exit 0 pass, 1 fail (prints why)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/replay-flood.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

status=0
fail() { echo "FAIL: $*"; exit 1; }
bad() { echo "FAIL: $*"; status=1; }
[ -x "$GEN" ] || fail "$GEN not built"
[ -x "$SCR" ] || fail "$SCR not built"
[ -f "$SRC/examples/main.cf" ] || fail "$SRC/examples/main.cf missing"
command -v tshark >/dev/null || fail "tshark not installed"
[ -x /usr/bin/time ] || fail "/usr/bin/time not installed"
$PY -c 'import scapy' 2>/dev/null || fail "python3-scapy not installed for $PY"

# main.cf: the example's tests (pregreet, pipelining, bare newline,
# non-SMTP, HELO, access list) and a 1024-entry table
cp "$SRC/examples/main.cf" "$SRC/examples/access.cidr" "$TMP/"
printf '\n# replay_flood_test\nsmtpscreen_flow_table_size = 1024\n' >>"$TMP/main.cf"
conf() {	# conf NAME LINES...: main.cf plus lines
	local n=$1
	shift
	cp "$TMP/main.cf" "$TMP/$n.cf"
	printf '%s\n' "$@" >>"$TMP/$n.cf"
}
replay() {	# replay NAME CONF PCAP LABELS: out, err, log, verdicts, rss
	local n=$1
	/usr/bin/time -o "$TMP/$n.rss" -f %M "$SCR" replay -c "$2" --labels "$4" \
		--verdicts "$TMP/$n.verdicts.csv" --log "$TMP/$n.log" "$3" \
		>"$TMP/$n.out" 2>"$TMP/$n.err"
	local rc=$?
	if [ $rc -ne 0 ]; then
		cat "$TMP/$n.err"
		fail "$n: smtpscreen replay exited $rc"
	fi
}
loadval() {	# loadval NAME KEY: a value of the summary's load line
	sed -n "s/^load .*\\b$2=\\([0-9]*\\).*/\\1/p" "$TMP/$1.out"
}

# ---------------------------------------------------------------- 0. scr-gen
for args in "--syn-flood x" "--syn-flood -1" "--syn-flood 100000001" "--flood-rate 0" \
	"--slowloris 255" "--slowloris-gap 0" "--slowloris-bytes 0" "--flows 0 --syn-flood 5"; do
	# shellcheck disable=SC2086
	if "$GEN" --seed 1 --flows 1 $args -o "$TMP/x.pcap" --labels "$TMP/x.csv" 2>/dev/null; then
		bad "scr-gen accepted $args"
	fi
done
"$GEN" --seed 1 --flows 0 --syn-flood 5 --flood-rate 10 -o "$TMP/x.pcap" --labels "$TMP/x.csv" \
	2>/dev/null || bad "scr-gen: --flows 0 --syn-flood 5 --flood-rate 10 refused"
[ $status -eq 0 ] && echo "ok: scr-gen refuses bad load options"

MIX=good=80,pregreet=4,bare_newline=4,pipelining=4,non_smtp_command=4,helo=4,blocklisted=2,allowlisted=2
GARGS=(--seed 808 --flows 300 --rate 10 --mix "$MIX" --noise 10 --v6 20 --vlan 10)
"$GEN" "${GARGS[@]}" -o "$TMP/base.pcap" --labels "$TMP/base.labels.csv" 2>"$TMP/gen0.err" \
	|| fail "scr-gen: $(cat "$TMP/gen0.err")"
"$GEN" "${GARGS[@]}" --syn-flood 10240 --flood-rate 1000 -o "$TMP/flood.pcap" \
	--labels "$TMP/flood.labels.csv" 2>"$TMP/gen1.err" || fail "scr-gen: $(cat "$TMP/gen1.err")"
"$GEN" "${GARGS[@]}" --syn-flood 10240 -o "$TMP/spread.pcap" \
	--labels "$TMP/spread.labels.csv" 2>"$TMP/gen2.err" || fail "scr-gen: $(cat "$TMP/gen2.err")"
cmp -s "$TMP/base.labels.csv" "$TMP/flood.labels.csv" || bad "labels differ with --syn-flood"
grep -q '^scr-gen: load syn_flood=10240 ' "$TMP/gen1.err" || bad "no load line: $(cat "$TMP/gen1.err")"
grep -q '^scr-gen: load' "$TMP/gen0.err" && bad "load line without load options"
if ! $PY - "$TMP/base.pcap" "$TMP/flood.pcap" "$TMP/spread.pcap" <<'PYEOF'
import ipaddress, struct, sys

def recs(path):
    with open(path, 'rb') as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            s, us, cl, _ = struct.unpack('<IIII', h)
            yield s * 1000000 + us, f.read(cl)

NET4, NET6 = ipaddress.ip_network('198.19.224.0/20'), ipaddress.ip_network('2001:db8:f000::/48')

def flood_src(d):
    """source address if d is an untagged TCP SYN from the flood ranges"""
    et = d[12:14]
    if et == b'\x08\x00' and d[23] == 6:
        a, tcp = ipaddress.ip_address(d[26:30]), d[34:]
        return a if a in NET4 and tcp[13] == 0x02 and tcp[2:4] == b'\x00\x19' else None
    if et == b'\x86\xdd' and d[20] == 6:
        a, tcp = ipaddress.ip_address(d[22:38]), d[54:]
        return a if a in NET6 and tcp[13] == 0x02 and tcp[2:4] == b'\x00\x19' else None
    return None

bad = []
base = list(recs(sys.argv[1]))
for path, rate in ((sys.argv[2], 1000), (sys.argv[3], 0)):
    rest, srcs, times = [], set(), []
    for ts, d in recs(path):
        a = flood_src(d)
        if a is None:
            rest.append((ts, d))
        else:
            srcs.add(a)
            times.append(ts)
    if rest != base:
        bad.append(f"{path}: without the flood SYNs it is not the capture without the flood")
    if len(times) != 10240 or len(srcs) != 10240:
        bad.append(f"{path}: {len(times)} flood SYNs from {len(srcs)} sources, expected 10240/10240")
    if sum(1 for a in srcs if a.version == 4) != 4096:
        bad.append(f"{path}: not 4096 IPv4 flood sources")
    t0 = base[0][0]
    span = max(t for t, _ in base) - t0
    if times and rate:
        if abs((times[-1] - times[0]) - 10239 * 1000) > 1:
            bad.append(f"{path}: flood lasts {times[-1] - times[0]} us at 1000/s")
    elif times:
        # spread evenly over the capture: every second of the span has its share
        per = [0] * (span // 1000000 + 1)
        for t in times:
            per[(t - times[0]) // 1000000] += 1
        share = 10240 * 1000000 / span
        if any(abs(n - share) > 2 for n in per[:-1]):
            bad.append(f"{path}: flood not even: {per[:8]}... expected ~{share:.0f}/s")
        if times[-1] - times[0] < span * 0.99:
            bad.append(f"{path}: flood covers {times[-1] - times[0]} us of {span}")
for b in bad:
    print("  ", b)
sys.exit(1 if bad else 0)
PYEOF
then
	bad "scr-gen: flood capture"
else
	echo "ok: scr-gen flood: 10240 distinct sources, sessions untouched, rate and spread"
fi

# ---------------------------------------------------------------- 1. flood
replay base "$TMP/main.cf" "$TMP/base.pcap" "$TMP/base.labels.csv"
replay flood "$TMP/main.cf" "$TMP/flood.pcap" "$TMP/flood.labels.csv"
if ! $PY - "$TMP" <<'PYEOF'
import os, re, sys
T = sys.argv[1]
bad = []
def rd(n):
    return open(os.path.join(T, n)).read()

def acc(n):
    return {m[0]: (int(m[1]), int(m[2])) for m in
            re.findall(r'^accuracy class=(\S+) flows=(\d+) correct=(\d+)', rd(n + '.out'), re.M)}
for run in ('base', 'flood'):
    a = acc(run)
    if len(a) < 7:
        bad.append(f"{run}: {len(a)} accuracy lines, expected 7 classes")
    for c, (n, ok) in sorted(a.items()):
        if n == 0 or ok != n:
            bad.append(f"{run}: class {c}: {ok} of {n} correct, expected all")

labeled = set()
for l in rd('base.labels.csv').splitlines()[1:]:
    c, cp, s, sp, _ = l.split(',')
    labeled.add((c, cp, s, sp))
def rows(run):
    r = {}
    for l in rd(run + '.verdicts.csv').splitlines()[1:]:
        f = l.split(',')
        if tuple(f[:4]) in labeled:
            r[tuple(f[:4])] = l
    return r
rb, rf = rows('base'), rows('flood')
if len(rb) != len(labeled):
    bad.append(f"base: {len(rb)} verdict rows for {len(labeled)} labeled flows")
diff = [k for k in labeled if rb.get(k) != rf.get(k)]
for k in diff[:5]:
    bad.append(f"labeled flow {k}: without flood {rb.get(k)!r}, with flood {rf.get(k)!r}")
if diff:
    bad.append(f"{len(diff)} labeled flows' verdict rows differ with the flood")

log = rd('flood.log')
enter = [(m.start(), int(m.group(1))) for m in re.finditer(r'entering STRESS mode with (\d+) connections', log)]
leave = [(m.start(), int(m.group(1))) for m in re.finditer(r'leaving STRESS mode with (\d+) connections', log)]
if not enter:
    bad.append("flood: no 'entering STRESS mode with N connections' line")
elif enter[0][1] < 921:
    bad.append(f"flood: entering STRESS mode with {enter[0][1]} connections, expected >= 921")
if not enter or not [l for l in leave if l[0] > enter[0][0]]:
    bad.append("flood: no 'leaving STRESS mode' line after entering it")
for _, n in leave:
    if n > 717:
        bad.append(f"flood: leaving STRESS mode with {n} connections, expected <= 717")
if 'STRESS' in rd('base.log'):
    bad.append("base: stress mode without a flood")

def load(run):
    m = re.search(r'^load (.*)$', rd(run + '.out'), re.M)
    return {k: int(v) for k, v in (x.split('=') for x in m.group(1).split())} if m else {}
lf, lb = load('flood'), load('base')
if not lf:
    bad.append("flood: no load line in the summary")
elif lf.get('evicted_half_open', 0) <= 0 or lf.get('stress_entered', 0) < 1:
    bad.append(f"flood: load line {lf}: expected evicted_half_open > 0, stress_entered >= 1")
elif lf.get('overload', 0) or lf.get('client_limit', 0):
    bad.append(f"flood: load line {lf}: overload/client_limit for spoofed single SYNs")
if lb and lb.get('evicted_half_open', 0):
    bad.append(f"base: evictions without a flood: {lb}")

mem = {r: [l for l in rd(r + '.err').splitlines() if 'memory: flows' in l] for r in ('base', 'flood')}
if not mem['base'] or mem['base'] != mem['flood']:
    bad.append(f"memory statement: without flood {mem['base']}, with flood {mem['flood']}")
rss = {r: int(rd(r + '.rss').split()[-1]) for r in ('base', 'flood')}
size = {r: os.path.getsize(os.path.join(T, r + '.pcap')) // 1024 for r in ('base', 'flood')}
allowed = rss['base'] + (size['flood'] - size['base']) + 8 * 1024
if rss['flood'] > allowed:
    bad.append(f"peak RSS {rss['flood']} KiB with the flood, {rss['base']} KiB without; "
               f"pcap +{size['flood'] - size['base']} KiB: allowed {allowed} KiB")
print(f"flood: stress enter={enter[:1]} leave={leave[:1]} load={lf} rss={rss} pcap_kib={size}")
for b in bad:
    print("  ", b)
sys.exit(1 if bad else 0)
PYEOF
then
	bad "flood"
else
	echo "ok: flood: verdicts unchanged, stress entered and left, half-open evictions, memory flat"
fi

# ---------------------------------------------------------------- 2. slowloris
# check_slow NAME PCAP LIMIT_S: 20 COMMAND TIME LIMIT ends, LIMIT..LIMIT+2.5 s
# after each greeting
check_slow() {
	tshark -n -r "$2" -Y 'tcp.srcport == 25 && tcp.len > 0 && ip.dst == 198.19.240.0/24' \
		-T fields -e frame.time_epoch -e ip.dst -e tcp.dstport 2>/dev/null >"$TMP/$1.greet"
	$PY - "$TMP" "$1" "$3" <<'PYEOF'
import datetime, json, os, re, sys
T, n, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
bad = []
rd = lambda f: open(os.path.join(T, f)).read()
greet = {}
for l in rd(n + '.greet').splitlines():
    ts, a, p = l.split('\t')
    greet.setdefault((a, int(p)), float(ts))
if len(greet) != 20:
    bad.append(f"{n}: {len(greet)} slowloris greetings in the capture, expected 20")
ends = {}
for l in rd(n + '.log').splitlines():
    j = json.loads(l)
    if j.get('end') != 'command_time':
        continue
    if not re.fullmatch(r'COMMAND TIME LIMIT from \[[0-9.]+\]:\d+ after CONNECT', j.get('message', '')):
        bad.append(f"{n}: message {j.get('message')!r}")
    t = datetime.datetime.strptime(j['time'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()
    ends[(j['client'], j['client_port'])] = t
if set(ends) != set(greet):
    bad.append(f"{n}: command_time ends for {sorted(ends)[:3]}..., slow clients {sorted(greet)[:3]}...")
late = []
for k in sorted(set(ends) & set(greet)):
    d = ends[k] - greet[k]
    late.append(d)
    if not limit <= d <= limit + 2.5:
        bad.append(f"{n}: {k[0]}:{k[1]} ended {d:.3f} s after its greeting, expected {limit}..{limit + 2.5}")
m = re.search(r'\bcommand_time=(\d+)', rd(n + '.out'))
if not m or m.group(1) != '20':
    bad.append(f"{n}: summary command_time={m.group(1) if m else None}, expected 20")
v = [l.split(',') for l in rd(n + '.verdicts.csv').splitlines()[1:]]
slow = [r for r in v if r[0].startswith('198.19.240.')]
if len(slow) != 20 or any(r[4] != 'unknown' for r in slow):
    bad.append(f"{n}: slowloris verdicts {sorted(set(r[4] for r in slow))} for {len(slow)} rows, expected 20 unknown")
lab = {tuple(l.split(',')[:4]) for l in rd('slow.labels.csv').splitlines()[1:]}
good = [r for r in v if tuple(r[:4]) in lab]
if len(good) != len(lab) or any(r[4] != 'pass' for r in good):
    bad.append(f"{n}: good sessions {[(r[0], r[4]) for r in good]}, expected {len(lab)} pass")
if late:
    print(f"{n}: ended {min(late):.3f}..{max(late):.3f} s after the greeting (limit {limit:g} s)")
for b in bad[:25]:
    print("  ", b)
sys.exit(1 if bad else 0)
PYEOF
}
SARGS=(--seed 909 --flows 5 --rate 1 --mix good=1 --slowloris 20 --slowloris-gap 60
	--slowloris-bytes 10)
"$GEN" "${SARGS[@]}" --syn-flood 45000 --flood-rate 60 -o "$TMP/slow.pcap" \
	--labels "$TMP/slow.labels.csv" 2>"$TMP/gen3.err" || fail "scr-gen: $(cat "$TMP/gen3.err")"
conf slowp 'smtpscreen_tcp_syn_timeout = 2s'
conf slowj 'smtpscreen_tcp_syn_timeout = 2s' 'smtpscreen_log_format = json'
conf slow20 'smtpscreen_tcp_syn_timeout = 2s' 'smtpscreen_log_format = json' \
	'postscreen_command_time_limit = 20s'
replay slowp "$TMP/slowp.cf" "$TMP/slow.pcap" "$TMP/slow.labels.csv"
n=$(grep -cE 'COMMAND TIME LIMIT from \[198\.19\.240\.[0-9]+\]:[0-9]+ after CONNECT$' "$TMP/slowp.log")
u=$(grep -oE 'COMMAND TIME LIMIT from \[[0-9.]+\]' "$TMP/slowp.log" | sort -u | wc -l)
if [ "$n" != 20 ] || [ "$u" != 20 ]; then
	bad "slowloris: $n COMMAND TIME LIMIT lines for $u clients (postfix log), expected 20 for 20"
	grep 'COMMAND TIME' "$TMP/slowp.log" | head -3
elif [ "$(loadval slowp command_time)" != 20 ]; then
	bad "slowloris: summary command_time=$(loadval slowp command_time), expected 20"
else
	echo "ok: slowloris: 20 COMMAND TIME LIMIT ... after CONNECT lines, command_time=20"
fi
replay slowj "$TMP/slowj.cf" "$TMP/slow.pcap" "$TMP/slow.labels.csv"
if check_slow slowj "$TMP/slow.pcap" 300; then
	echo "ok: slowloris: each ended 300..302.5 s after its greeting, verdict unknown"
else
	bad "slowloris (300 s limit)"
fi
replay slow20 "$TMP/slow20.cf" "$TMP/slow.pcap" "$TMP/slow.labels.csv"
if check_slow slow20 "$TMP/slow.pcap" 20; then
	echo "ok: slowloris: with postscreen_command_time_limit = 20s each ended 20..22.5 s after its greeting"
else
	bad "slowloris (20 s limit)"
fi
# 2c. sparse input: 2 frames a second of clock tick; 32-frame replay bursts
# then span ~16 s of input time
"$GEN" "${SARGS[@]}" --syn-flood 1500 --flood-rate 2 -o "$TMP/sparse.pcap" \
	--labels "$TMP/sparse.labels.csv" 2>"$TMP/gen4.err" || fail "scr-gen: $(cat "$TMP/gen4.err")"
cmp -s "$TMP/slow.labels.csv" "$TMP/sparse.labels.csv" || bad "sparse: labels differ"
replay sparse "$TMP/slowj.cf" "$TMP/sparse.pcap" "$TMP/sparse.labels.csv"
if check_slow sparse "$TMP/sparse.pcap" 300; then
	echo "ok: slowloris, sparse input: each ended 300..302.5 s after its greeting"
else
	bad "slowloris, sparse input (2 frames/s): flows outlive the command time limit"
fi

# ---------------------------------------------------------------- 3. per-client limit
$PY "$SRC/tests/e2e/lib/one_client_pcap.py" "$TMP/one.pcap" || fail "scapy capture"
printf 'client,client_port,server,server_port,class\n' >"$TMP/one.labels.csv"
conf nolimit 'postscreen_client_connection_count_limit = 0'
conf limit50 'postscreen_client_connection_count_limit = 50'
replay nolimit "$TMP/nolimit.cf" "$TMP/one.pcap" "$TMP/one.labels.csv"
n=$(grep -c 'too many connections' "$TMP/nolimit.log")
if [ "$n" != 0 ] || [ "$(loadval nolimit client_limit)" != 0 ]; then
	bad "limit 0: $n 'too many connections' lines, client_limit=$(loadval nolimit client_limit); expected none"
else
	echo "ok: postscreen_client_connection_count_limit = 0: 60 sessions, no reject"
fi
replay limit50 "$TMP/limit50.cf" "$TMP/one.pcap" "$TMP/one.labels.csv"
got=$(grep -oE 'NOQUEUE: reject: CONNECT from \[198\.19\.241\.7\]:[0-9]+: too many connections$' \
	"$TMP/limit50.log" | sed 's/.*\]:\([0-9]*\):.*/\1/' | sort -n | tr '\n' ' ')
want=$(seq 40050 40059 | tr '\n' ' ')
if [ "$got" != "$want" ]; then
	bad "limit 50: 'too many connections' for ports [$got], expected [$want]"
elif [ "$(loadval limit50 client_limit)" != 10 ]; then
	bad "limit 50: summary client_limit=$(loadval limit50 client_limit), expected 10"
else
	echo "ok: postscreen_client_connection_count_limit = 50: 10 rejects (ports 40050-40059), client_limit=10"
fi

[ $status -eq 0 ] && echo "PASS: replay_flood"
exit $status
