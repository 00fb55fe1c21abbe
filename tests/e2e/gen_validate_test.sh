#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	gen_validate_test - the generator's pcaps are well-formed and labeled right
# DESCRIPTION
#	Checks scr-gen without smtpscreen: same seed gives byte-identical
#	output; tshark finds no malformed packet and no bad IPv4/TCP/UDP/ICMP
#	checksum; a scapy oracle (written independently of the generator)
#	reassembles every TCP flow, checks the handshake (SYN, SYN/ACK, ACK
#	with the right seq/ack and an MSS option), that retransmitted bytes
#	equal the original bytes and no stream has a gap, recomputes the
#	checksums, and re-derives each labeled session's class from the
#	packets alone (pregreet, bare newline, RFC 2920 pipelining, non-SMTP
#	command, HELO checks); every label must match what the packets show,
#	good and blocklisted sessions must show no anomaly, and no label may
#	name a port other than 25.
# USAGE
#	gen_validate_test.sh BUILD_DIR     exit 0 pass, 1 fail (prints why)
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
GEN=$BUILD/bench/scr-gen
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/gen-validate.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
[ -x "$GEN" ] || fail "$GEN not built"
command -v tshark >/dev/null || fail "tshark not installed"
$PY -c 'import scapy' 2>/dev/null || fail "python3-scapy not installed for $PY"

MIX=good=30,pregreet=10,bare_newline=10,pipelining=10,non_smtp_command=10,helo=10,blocklisted=10,allowlisted=5
ARGS=(--seed 4242 --flows 1500 --mix $MIX --noise 30 --v6 20 --vlan 20 --no-pipelining-server 30)

# 1. determinism
"$GEN" "${ARGS[@]}" -o "$TMP/a.pcap" --labels "$TMP/a.csv" 2>"$TMP/gen.err" \
	|| fail "scr-gen failed: $(cat "$TMP/gen.err")"
"$GEN" "${ARGS[@]}" -o "$TMP/b.pcap" --labels "$TMP/b.csv" 2>/dev/null || fail "scr-gen rerun failed"
cmp -s "$TMP/a.pcap" "$TMP/b.pcap" || fail "same seed, different pcap"
cmp -s "$TMP/a.csv" "$TMP/b.csv" || fail "same seed, different labels"
"$GEN" --seed 4243 --flows 50 -o "$TMP/c.pcap" --labels "$TMP/c.csv" 2>/dev/null || fail "seed 4243"
cmp -s "$TMP/a.pcap" "$TMP/c.pcap" && fail "different seeds, same pcap"
# bad options are refused
"$GEN" --seed x --flows 1 -o "$TMP/x" --labels "$TMP/y" 2>/dev/null && fail "--seed x accepted"
"$GEN" --seed 1 --flows 1 --mix bogus=3 -o "$TMP/x" --labels "$TMP/y" 2>/dev/null && fail "--mix bogus accepted"
"$GEN" --seed 1 --flows 1 --noise 101 -o "$TMP/x" --labels "$TMP/y" 2>/dev/null && fail "--noise 101 accepted"
echo "ok: deterministic; bad options refused"

# 2. tshark: malformed packets and checksum errors
tshark -n -r "$TMP/a.pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
	-o udp.check_checksum:TRUE \
	-Y '_ws.malformed || _ws.expert.severity == error || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"' \
	-T fields -e frame.number -e _ws.col.Info > "$TMP/bad.txt" 2>"$TMP/tshark.err" \
	|| fail "tshark: $(cat "$TMP/tshark.err")"
if [ -s "$TMP/bad.txt" ]; then
	head -20 "$TMP/bad.txt"
	fail "tshark reports $(wc -l < "$TMP/bad.txt") malformed/bad-checksum packets"
fi
nconv=$(tshark -n -r "$TMP/a.pcap" -q -z conv,tcp 2>/dev/null | grep -c '<->')
[ "$nconv" -gt 1500 ] || fail "tshark sees only $nconv TCP conversations"
echo "ok: tshark: no malformed packets, no checksum errors, $nconv TCP conversations"

# 2b. every kind of traffic the corpus promises is present
tshark -n -r "$TMP/a.pcap" -T fields -E separator='|' -e frame.protocols -e tcp.flags.reset \
	-e tcp.analysis.retransmission -e tcp.analysis.spurious_retransmission \
	-e tcp.analysis.out_of_order -e tcp.analysis.duplicate_ack_num -e tcp.dstport \
	-e smtp.req.command -e smtp.response.code -e smtp.rsp.parameter \
	-o tcp.analyze_sequence_numbers:TRUE 2>/dev/null > "$TMP/fields.txt"
need() {	# need LABEL AWK-CONDITION
	local n
	n=$(awk -F'|' "$2 { n++ } END { print n + 0 }" "$TMP/fields.txt")
	[ "$n" -gt 0 ] || fail "sample has no $1"
	printf ' %s=%s' "$1" "$n"
}
printf 'ok: present:'
need ipv6_tcp '$1 ~ /ipv6:tcp/'
need vlan '$1 ~ /vlan/'
need qinq '$1 ~ /ieee8021ad/'
need arp '$1 ~ /arp/'
need icmp '$1 ~ /:icmp:/'
need icmpv6 '$1 ~ /icmpv6/'
need dns '$1 ~ /dns/'
need rst '$2 == "1" || $2 == "True"'
need retransmission '$3 != "" || $4 != ""'
need out_of_order '$5 != ""'
need dup_ack '$6 != ""'
need port80 '$7 == 80'
need port443 '$7 == 443'
need port587 '$7 == 587'
need starttls '$8 ~ /^STAR/'
need lowercase_cmd '$8 ~ /^(ehlo|helo|mail|rcpt|data|quit)$/'
need helo_cmd '$8 == "HELO"'
need pipelining_ext '$10 ~ /PIPELINING/'
# tshark's SMTP dissector shows BDAT + chunk as a DATA fragment: match bytes
for pat in 'BDAT ' '220-mx.example.test' 'EHLO mx.example.test' 'GET / HTTP/1.0'; do
	n=$(tshark -n -r "$TMP/a.pcap" -Y "tcp.payload contains \"$pat\"" -T fields -e frame.number 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "sample has no \"$pat\""
	printf ' "%s"=%s' "$pat" "$n"
done
echo

# 3. scapy oracle
$PY - "$TMP/a.pcap" "$TMP/a.csv" <<'PYEOF' || fail "scapy oracle"
import csv, re, sys
from collections import defaultdict
from scapy.all import PcapReader, IP, IPv6, TCP, UDP, ICMP, raw
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6EchoReply

pcap, labels = sys.argv[1], sys.argv[2]
errors = []
def err(msg):
    errors.append(msg)

# --- read packets -------------------------------------------------------
flows = defaultdict(list)    # (client, cport, server, sport) -> [(ts, dir, tcp)]
n = 0
for pkt in PcapReader(pcap):
    n += 1
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    if ip is None:
        continue
    # checksums: rebuild the layer without them and compare
    if ip.haslayer(IP):
        c = ip[IP].chksum
        q = IP(raw(ip[IP])); del q.chksum
        if IP(raw(q)).chksum != c:
            err(f"packet {n}: bad IPv4 checksum")
    for L in (TCP, UDP, ICMP):
        if ip.haslayer(L):
            c = ip[L].chksum
            q = ip.__class__(raw(ip)); del q[L].chksum
            if q.__class__(raw(q))[L].chksum != c:
                err(f"packet {n}: bad {L.__name__} checksum")
    for L in (ICMPv6EchoRequest, ICMPv6EchoReply):
        if ip.haslayer(L):
            c = ip[L].cksum
            q = ip.__class__(raw(ip)); del q[L].cksum
            if q.__class__(raw(q))[L].cksum != c:
                err(f"packet {n}: bad ICMPv6 checksum")
            n_icmp6 = globals().get('n_icmp6', 0) + 1
            globals()['n_icmp6'] = n_icmp6
    if not ip.haslayer(TCP):
        continue
    t = ip[TCP]
    src, dst = ip.src, ip.dst
    if t.dport in (25, 80, 443, 587) or t.dport < t.sport and t.sport not in (25, 80, 443, 587):
        key, d = (src, t.sport, dst, t.dport), 'c'
    else:
        key, d = (dst, t.dport, src, t.sport), 's'
    # payload length from the IP header: short frames carry Ethernet padding
    plen = (ip.len - ip.ihl * 4 if ip.haslayer(IP) else ip.plen) - t.dataofs * 4
    data = raw(t)[t.dataofs * 4:t.dataofs * 4 + plen]
    flows[key].append((float(pkt.time), n, d, t, data))

def stream(segs, isn):
    """segs: [(ts, seq, bytes)] of one direction -> (data, per-byte delivery time)"""
    out = bytearray(); when = []
    pending = {}
    for ts, seq, p in segs:
        off = (seq - isn - 1) & 0xffffffff
        if off in pending and pending[off][1] != p:
            return None, f"segment at offset {off} resent with different bytes"
        pending.setdefault(off, (ts, p))
    # in-order delivery: a byte is usable once every earlier byte arrived
    t_del = 0.0
    for off in sorted(pending):
        ts, p = pending[off]
        if off > len(out):
            return None, f"gap at offset {len(out)}..{off}"
        new = p[len(out) - off:]
        if p[:len(out) - off] != bytes(out[off:off + len(p)])[:len(out) - off]:
            return None, f"overlap at offset {off} disagrees"
        t_del = max(t_del, ts)
        out += new
        when += [t_del] * len(new)
    return bytes(out), when

def lines(data, when):
    """split into (line bytes incl. terminator, t_first, t_last)"""
    res = []; start = 0
    for i, b in enumerate(data):
        if b == 10:
            res.append((data[start:i + 1], when[start], when[i], start))
            start = i + 1
    if start < len(data):
        res.append((data[start:], when[start], when[-1], start))
    return res

FQDN = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$')
def helo_ok(name):
    if name.lower() == 'mx.example.test':
        return False
    m = re.match(r'^\[(.*)\]$', name)
    if m:
        a = m.group(1)
        if a.lower().startswith('ipv6:'):
            import ipaddress
            try: ipaddress.IPv6Address(a[5:]); return True
            except ValueError: return False
        return re.match(r'^(\d{1,3}\.){3}\d{1,3}$', a) is not None and \
            all(int(x) < 256 for x in a.split('.'))
    return FQDN.match(name) is not None

def classify(cdata, cwhen, sdata, swhen):
    """anomalies the packets show, as postscreen would judge them"""
    found = set()
    # server replies: (final code line, time complete)
    replies = []; pipe_ok = False; cur = []
    for ln, t0, t1, off in lines(sdata, swhen):
        s = ln.decode('latin-1')
        if len(s) >= 4 and s[:3].isdigit():
            cur.append(s)
            if s[3] == ' ' or s[3] in '\r\n':
                replies.append((s[:3], t1, cur)); cur = []
    if not replies or replies[0][0] != '220':
        return None
    # client commands until the stream stops being screened
    cmds = []
    for ln, t0, t1, off in lines(cdata, cwhen):
        cmds.append((ln, t0, t1, off))
    helo_seen = False; prev = None; announced = False
    for i, (ln, t0, t1, off) in enumerate(cmds):
        if i == 0 and t0 < replies[0][1]:
            found.add('pregreet')
        elif i == 0 and any(w < replies[0][1] for w in cwhen[off:off + len(ln)]):
            found.add('pregreet')
        if not ln.endswith(b'\n') :
            break                              # incomplete last line
        if not ln.endswith(b'\r\n'):
            found.add('bare_newline')
        text = ln.rstrip(b'\r\n').decode('latin-1')
        verb = text.split(' ', 1)[0].upper()
        arg = text.split(' ', 1)[1] if ' ' in text else ''
        # pipelining: this command arrived before the reply to the previous one
        if i >= 1 and i < len(replies) + 1:
            prev_reply_t = replies[i][1] if i < len(replies) else float('inf')
            if t0 < prev_reply_t:
                group_ok = announced and prev in ('MAIL', 'RCPT', 'RSET')
                if not group_ok:
                    found.add('pipelining')
        elif i >= 1:
            found.add('pipelining')
        if verb in ('GET', 'POST', 'CONNECT') or re.match(r'^[A-Za-z][A-Za-z0-9-]*:', text):
            found.add('non_smtp_command')
        if verb in ('HELO', 'EHLO'):
            helo_seen = True
            if not helo_ok(arg.strip()):
                found.add('helo')
            if i + 1 < len(replies):
                announced = verb == 'EHLO' and any('PIPELINING' in l for l in replies[i + 1][2])
        if verb in ('MAIL', 'RCPT') and not helo_seen:
            found.add('helo')
        prev = verb
        if verb in ('DATA', 'BDAT', 'STARTTLS', 'QUIT'):
            if verb == 'DATA':
                # bytes after DATA before its 354 reply
                rest_t = cwhen[off + len(ln):]
                r354 = replies[i + 1][1] if i + 1 < len(replies) else float('inf')
                if rest_t and rest_t[0] < r354:
                    found.add('pipelining')
            break
    return found

# --- check each flow -----------------------------------------------------
label_rows = list(csv.DictReader(open(labels)))
lab = {}
for r in label_rows:
    k = (r['client'], int(r['client_port']), r['server'], int(r['server_port']))
    if k in lab:
        err(f"duplicate label {k}")
    lab[k] = r['class']
    if k[3] != 25:
        err(f"label on port {k[3]}: {k}")
clients = [k[0] for k in lab]
if len(set(clients)) != len(clients):
    err("a client address is used by two labeled flows")

checked = defaultdict(int); wrong = defaultdict(list)
for k, cls in lab.items():
    pk = flows.get(k)
    if not pk:
        err(f"labeled flow {k} not in the pcap"); continue
    pk.sort(key=lambda x: (x[0], x[1]))
    syn = [p for p in pk if p[2] == 'c' and p[3].flags & 0x02 and not p[3].flags & 0x10]
    sa = [p for p in pk if p[2] == 's' and p[3].flags & 0x12 == 0x12]
    if not syn or not sa or pk[0] is not syn[0]:
        err(f"{k}: no handshake"); continue
    cisn, sisn = syn[0][3].seq, sa[0][3].seq
    if sa[0][3].ack != (cisn + 1) & 0xffffffff:
        err(f"{k}: SYN/ACK acks {sa[0][3].ack}, want {cisn + 1}")
    if not any(o[0] == 'MSS' for o in syn[0][3].options):
        err(f"{k}: SYN without MSS option")
    ack3 = [p for p in pk if p[2] == 'c' and p[0] >= sa[0][0] and p[3].flags & 0x10]
    if not ack3 or ack3[0][3].ack != (sisn + 1) & 0xffffffff:
        err(f"{k}: third packet of the handshake missing or wrong ack")
    if any(p[3].flags & 0x04 for p in pk):
        err(f"{k}: labeled flow has a RST")
    segs = {'c': [], 's': []}
    for ts, num, d, t, data in pk:
        if data:
            segs[d].append((ts, t.seq, data))
    cdata, cwhen = stream(segs['c'], cisn)
    sdata, swhen = stream(segs['s'], sisn)
    if cdata is None or sdata is None:
        err(f"{k}: stream: {cwhen if cdata is None else swhen}"); continue
    found = classify(cdata, cwhen, sdata, swhen)
    if found is None:
        err(f"{k}: no 220 greeting"); continue
    want = set() if cls in ('good', 'blocklisted') else {cls}
    checked[cls] += 1
    if found != want:
        wrong[cls].append((k, sorted(found)))
    if cls == 'blocklisted' and not (k[0].startswith('198.19.') and 128 <= int(k[0].split('.')[2]) < 192
                                     if '.' in k[0] else k[0].startswith('2001:db8:dead:')):
        err(f"{k}: blocklisted client outside the deny range")

for cls in sorted(checked):
    print(f"oracle class={cls} flows={checked[cls]} mismatches={len(wrong[cls])}")
    for k, f in wrong[cls][:5]:
        err(f"{cls} flow {k}: packets show {f}")
for cls in ('good', 'pregreet', 'bare_newline', 'pipelining', 'non_smtp_command', 'helo', 'blocklisted'):
    if checked[cls] == 0:
        err(f"no {cls} flow in the sample")
other_ports = {k[3] for k in flows} - {25}
if not {80, 443, 587} <= other_ports:
    err(f"noise ports missing: have {sorted(other_ports)}")
if not globals().get('n_icmp6'):
    err("no ICMPv6 echo in the sample")
print(f"oracle: {n} packets, {len(flows)} TCP flows, {len(lab)} labels, checksums verified")
for e in errors[:30]:
    print("ERROR:", e)
sys.exit(1 if errors else 0)
PYEOF
echo "PASS: gen_validate"
