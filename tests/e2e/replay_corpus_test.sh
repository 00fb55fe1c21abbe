#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_corpus_test - smtpscreen replay on a 20,000-flow labeled corpus
# DESCRIPTION
#	scr-gen writes a fixed-seed corpus with every class and every kind of
#	noise. smtpscreen replay -c examples/main.cf must then:
#	  - give no good flow a verdict other than pass (the test lists them);
#	  - get >= 99% of the flows of each other class right, judged here from
#	    the verdict CSV (bad class: fail with that class among the reasons;
#	    blocklisted: blocklisted), and print accuracy lines that agree;
#	  - give the same verdict CSV (sorted) with --threads 2 as with 1;
#	  - on a pcap cut in the middle of a packet (head -c): print an error
#	    naming that packet's number, still print the summary, exit non-zero.
# USAGE
#	replay_corpus_test.sh BUILD_DIR     exit 0 pass, 1 fail (prints why)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/replay-corpus.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
[ -x "$GEN" ] || fail "$GEN not built"
[ -x "$SCR" ] || fail "$SCR not built"
CF=$SRC/examples/main.cf
[ -f "$CF" ] || fail "$CF missing"

"$GEN" --seed 20000 --flows 20000 --noise 15 --v6 15 --vlan 10 --no-pipelining-server 25 \
	-o "$TMP/corpus.pcap" --labels "$TMP/labels.csv" 2>"$TMP/gen.err" \
	|| fail "scr-gen: $(cat "$TMP/gen.err")"
cat "$TMP/gen.err"

# 1. one thread: accuracy
"$SCR" replay -c "$CF" --labels "$TMP/labels.csv" --verdicts "$TMP/v1.csv" \
	--threads 1 "$TMP/corpus.pcap" >"$TMP/out1.txt" 2>"$TMP/err1.txt"
rc=$?
cat "$TMP/out1.txt"
[ $rc -eq 0 ] || { cat "$TMP/err1.txt"; fail "replay --threads 1 exited $rc"; }

$PY - "$TMP/labels.csv" "$TMP/v1.csv" "$TMP/out1.txt" <<'PYEOF' || fail "accuracy"
import csv, re, sys
labels, verdicts, out = sys.argv[1:4]
rows = {}
for r in csv.DictReader(open(verdicts)):
    rows[(r['client'], r['client_port'], r['server'], r['server_port'])] = \
        (r['verdict'], r['reasons'].split('|') if r['reasons'] else [])
total, correct, wrong = {}, {}, {}
for r in csv.DictReader(open(labels)):
    c = r['class']
    key = (r['client'], r['client_port'], r['server'], r['server_port'])
    v, rs = rows.get(key, ('missing', []))
    ok = {'good': v == 'pass', 'blocklisted': v == 'blocklisted'}.get(c, v == 'fail' and c in rs)
    total[c] = total.get(c, 0) + 1
    correct[c] = correct.get(c, 0) + ok
    if not ok:
        wrong.setdefault(c, []).append(f"{','.join(key)} verdict={v} reasons={'|'.join(rs) or '-'}")
bad = False
summary = {a[0]: (int(a[1]), int(a[2])) for a in
           re.findall(r'^accuracy class=(\S+) flows=(\d+) correct=(\d+)', open(out).read(), re.M)}
for c in ('good', 'pregreet', 'bare_newline', 'pipelining', 'non_smtp_command', 'helo', 'blocklisted'):
    n, k = total.get(c, 0), correct.get(c, 0)
    pct = 100.0 * k / n if n else 0.0
    need = n if c == 'good' else 0.99 * n
    verdict = 'ok' if n and k >= need else 'FAIL'
    print(f"class={c} flows={n} correct={k} pct={pct:.2f} {verdict}")
    if verdict != 'ok':
        bad = True
        for w in wrong.get(c, [])[:50]:
            print("   ", w)
    if summary.get(c) != (n, k):
        print(f"    summary accuracy line says {summary.get(c)}, verdict CSV gives {(n, k)}")
        bad = True
sys.exit(1 if bad else 0)
PYEOF

# 2. two threads: same verdicts
"$SCR" replay -c "$CF" --verdicts "$TMP/v2.csv" --threads 2 "$TMP/corpus.pcap" \
	>"$TMP/out2.txt" 2>"$TMP/err2.txt" || { cat "$TMP/err2.txt"; fail "replay --threads 2 failed"; }
sort "$TMP/v1.csv" > "$TMP/v1.sorted"
sort "$TMP/v2.csv" > "$TMP/v2.sorted"
if ! cmp -s "$TMP/v1.sorted" "$TMP/v2.sorted"; then
	diff "$TMP/v1.sorted" "$TMP/v2.sorted" | head -20
	fail "--threads 2 gives other verdicts than --threads 1"
fi
grep -q 'threads=2' "$TMP/out2.txt" || fail "--threads 2 summary does not say threads=2"
echo "ok: --threads 2 verdicts identical ($(($(wc -l < "$TMP/v1.csv") - 1)) flows)"

# 3. truncated capture: cut in the middle of a packet's data
read -r cut pktno < <($PY - "$TMP/corpus.pcap" <<'PYEOF'
import struct, sys
f = open(sys.argv[1], 'rb'); data = f.read()
off, n = 24, 0
target = len(data) * 2 // 3
while off < len(data):
    incl = struct.unpack_from('<I', data, off + 8)[0]
    n += 1
    if off >= target and incl > 20:
        print(off + 16 + incl // 2, n)    # half of this packet's bytes
        break
    off += 16 + incl
PYEOF
)
[ -n "${cut:-}" ] || fail "could not find a packet to cut"
head -c "$cut" "$TMP/corpus.pcap" > "$TMP/cut.pcap"
"$SCR" replay -c "$CF" "$TMP/cut.pcap" >"$TMP/out3.txt" 2>"$TMP/err3.txt"
rc=$?
cat "$TMP/err3.txt"
[ $rc -ne 0 ] || fail "truncated pcap: exit status 0"
grep -Eqi "packet[^0-9]*\\b$pktno\\b" "$TMP/err3.txt" "$TMP/out3.txt" \
	|| fail "truncated pcap: no error naming packet $pktno"
grep -Eq '^packets total=[0-9]+' "$TMP/out3.txt" || fail "truncated pcap: no summary"
got=$(sed -n 's/^packets total=\([0-9]*\).*/\1/p' "$TMP/out3.txt")
[ "$got" -eq $((pktno - 1)) ] || fail "truncated pcap: summary counts $got packets, want $((pktno - 1))"
grep -Eq '^flows total=[0-9]+' "$TMP/out3.txt" || fail "truncated pcap: no flows line"
echo "ok: truncated pcap reported at packet $pktno, summary of $got packets, exit $rc"
echo "PASS: replay_corpus"
