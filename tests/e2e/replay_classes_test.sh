#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_classes_test - smtpscreen replay gets every labeled flow of each
#	class right, one class at a time
# DESCRIPTION
#	For each class (good, pregreet, bare_newline, pipelining,
#	non_smtp_command, helo, blocklisted, smuggling, and good_bare_lf: good
#	sessions whose bodies have bare-LF/CR lines, labelled good) scr-gen
#	writes a small capture of
#	only that class plus allowlisted sessions and all kinds of noise
#	(retransmissions, reordering, duplicate ACKs, RST-aborted sessions,
#	SYN scans, ARP/ICMP/UDP, ports 80/443/587, VLAN/QinQ, IPv6).
#	smtpscreen replay -c examples/main.cf --labels --verdicts must then:
#	  - give every labeled flow the right verdict, judged here from the
#	    verdict CSV (good: pass; blocklisted: blocklisted; a bad class:
#	    fail with that class among the reasons), and the summary's
#	    accuracy line must say the same;
#	  - write a well-formed verdict CSV (exact header, 6 fields, valid
#	    addresses, ports, verdict names and reason names, fail <=> reasons,
#	    one row per flow) with a row for every labeled flow;
#	  - list every allowlisted session as allowlisted (count = generated);
#	  - never list a flow whose server port is not 25 (the noise ports).
# USAGE
#	replay_classes_test.sh BUILD_DIR     exit 0 pass, 1 fail (prints why)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/replay-classes.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
[ -x "$GEN" ] || fail "$GEN not built"
[ -x "$SCR" ] || fail "$SCR not built"
[ -f "$SRC/examples/main.cf" ] || fail "$SRC/examples/main.cf missing"
command -v tshark >/dev/null || fail "tshark not installed"

status=0
seed=100
for gcls in good pregreet bare_newline pipelining non_smtp_command helo blocklisted \
	    smuggling good_bare_lf; do
	seed=$((seed + 1))
	cls=$gcls
	[ "$gcls" = good_bare_lf ] && cls=good	# its label
	pcap=$TMP/$gcls.pcap labels=$TMP/$gcls.labels.csv verdicts=$TMP/$gcls.verdicts.csv
	"$GEN" --seed $seed --flows 400 --mix "$gcls=95,allowlisted=5" --noise 30 --v6 20 \
		--vlan 20 --no-pipelining-server 30 -o "$pcap" --labels "$labels" 2>"$TMP/gen.err" \
		|| fail "$cls: scr-gen: $(cat "$TMP/gen.err")"
	allow=$(sed -n 's/.* allowlisted=\([0-9]*\).*/\1/p' "$TMP/gen.err")
	[ -n "$allow" ] || fail "$cls: scr-gen did not report its allowlisted count"
	# the noise this test relies on is really in the capture
	noise=$(tshark -n -r "$pcap" -Y 'tcp.port == 80 || tcp.port == 443 || tcp.port == 587' \
		-T fields -e frame.number 2>/dev/null | wc -l)
	[ "$noise" -gt 0 ] || fail "$cls: capture has no traffic on ports 80/443/587"

	"$SCR" replay -c "$SRC/examples/main.cf" --labels "$labels" --verdicts "$verdicts" \
		"$pcap" >"$TMP/out.txt" 2>"$TMP/err.txt"
	rc=$?
	if [ $rc -ne 0 ]; then
		cat "$TMP/err.txt"
		fail "$cls: smtpscreen replay exited $rc"
	fi
	if ! $PY - "$cls" "$labels" "$verdicts" "$TMP/out.txt" "$allow" <<'PYEOF'
import csv, ipaddress, re, sys
cls, labels, verdicts, out, allow = sys.argv[1:6]
allow = int(allow)
REASONS = {'pregreet', 'bare_newline', 'pipelining', 'non_smtp_command', 'helo',
           'access_reject', 'dnsbl', 'smuggling', 'command_limit'}
NOTES = {'command_limit'}	# a note beside any verdict, not a failure
VERDICTS = {'pass', 'fail', 'allowlisted', 'blocklisted', 'unknown'}
bad = []

rows = {}
with open(verdicts, newline='') as f:
    lines = f.read().splitlines()
if not lines or lines[0] != 'client,client_port,server,server_port,verdict,reasons':
    bad.append(f"verdict CSV header is {lines[0]!r}" if lines else "verdict CSV is empty")
for no, line in enumerate(lines[1:], 2):
    fields = line.split(',')
    if len(fields) != 6:
        bad.append(f"verdicts line {no}: {len(fields)} fields: {line}"); continue
    c, cp, s, sp, v, r = fields
    try:
        ca, sa = ipaddress.ip_address(c), ipaddress.ip_address(s)
        if str(ca) != c or str(sa) != s:
            bad.append(f"verdicts line {no}: address not in canonical form: {line}")
        cp, sp = int(cp), int(sp)
        if not (0 < cp < 65536 and 0 < sp < 65536):
            raise ValueError('port range')
    except ValueError as e:
        bad.append(f"verdicts line {no}: {e}: {line}"); continue
    if v not in VERDICTS:
        bad.append(f"verdicts line {no}: verdict {v!r}")
    rs = r.split('|') if r else []
    if any(x not in REASONS for x in rs) or len(set(rs)) != len(rs):
        bad.append(f"verdicts line {no}: reasons {r!r}")
    fails = [x for x in rs if x not in NOTES]
    if (v == 'fail') != bool(fails) and not (v == 'blocklisted' and fails == ['access_reject']):
        bad.append(f"verdicts line {no}: verdict {v} with reasons {r!r}")
    if sp != 25:
        bad.append(f"verdicts line {no}: flow on port {sp} (noise) listed: {line}")
    key = (c, cp, s, sp)
    if key in rows:
        bad.append(f"verdicts line {no}: flow listed twice: {line}")
    rows[key] = (v, rs)

labeled = correct = 0
for r in csv.DictReader(open(labels)):
    labeled += 1
    key = (r['client'], int(r['client_port']), r['server'], int(r['server_port']))
    got = rows.get(key)
    if got is None:
        bad.append(f"labeled flow {key} ({r['class']}) has no verdict row"); continue
    v, rs = got
    ok = {'good': v == 'pass', 'blocklisted': v == 'blocklisted'}.get(
        r['class'], v == 'fail' and r['class'] in rs)
    if ok:
        correct += 1
    else:
        bad.append(f"{r['class']} flow {key}: verdict {v} reasons {'|'.join(rs) or '-'}")

n_allow = sum(1 for v, rs in rows.values() if v == 'allowlisted')
for key, (v, rs) in rows.items():
    if v == 'allowlisted':
        a = ipaddress.ip_address(key[0])
        if not any(a in ipaddress.ip_network(n) for n in ('198.19.254.0/24', '2001:db8:beef::/48')):
            bad.append(f"allowlisted flow {key} outside the permit range")
if n_allow != allow:
    bad.append(f"{n_allow} allowlisted verdicts, generator made {allow} allowlisted sessions")

# the summary must agree with the CSV
acc = re.findall(r'^accuracy class=(\S+) flows=(\d+) correct=(\d+) pct=([\d.]+)', open(out).read(), re.M)
mine = [a for a in acc if a[0] == cls]
if not mine:
    bad.append(f"summary has no accuracy line for class {cls}")
elif (int(mine[0][1]), int(mine[0][2])) != (labeled, correct):
    bad.append(f"summary says flows={mine[0][1]} correct={mine[0][2]}, verdict CSV gives {labeled}/{correct}")
for a in acc:
    if a[0] != cls and int(a[1]) != 0:
        bad.append(f"summary counts {a[1]} flows of class {a[0]} that are not in the labels")

print(f"class={cls} labeled={labeled} correct={correct} allowlisted={n_allow} verdict_rows={len(rows)}")
for b in bad[:25]:
    print("  ", b)
sys.exit(1 if bad or labeled == 0 else 0)
PYEOF
	then
		echo "FAIL: class $gcls"
		status=1
	fi
done
[ $status -eq 0 ] && echo "PASS: replay_classes"
exit $status
