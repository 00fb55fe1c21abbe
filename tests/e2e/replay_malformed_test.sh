#!/bin/bash
# replay_malformed_test - a pcap of bad frames: each is counted under its
# decode reason, none crashes or creates a flow, and a good session after
# them still gets its verdict. Usage: replay_malformed_test.sh BUILD_DIR
set -u
build=${1:?usage: $0 BUILD_DIR}
src=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp/bad.pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
t = [1700000000]
def rec(frame, caplen=None, wirelen=None):
    cap = frame if caplen is None else frame[:caplen]
    t[0] += 1
    out.write(struct.pack('<IIII', t[0], 0, len(cap), wirelen or len(frame)) + cap)
eth = lambda et: b'\x02' * 6 + b'\x04' * 6 + struct.pack('>H', et)
def ip4(payload, proto=6, ihl=5, frag=0, src=b'\xc6\x12\x00\x0a', dst=b'\xc6\x13\xff\x01', tot=None):
    h = struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, tot if tot is not None else 20 + len(payload),
                    1, frag, 64, proto, 0, src, dst)
    return h + payload
def tcp(sport, dport, seq, ack, flags, data=b'', doff=5):
    return struct.pack('>HHIIBBHHH', sport, dport, seq, ack, doff << 4, flags, 65535, 0, 0) + data
# 1 truncated in the Ethernet header
rec(eth(0x0800)[:10])
# 2 truncated in the IPv4 header
rec(eth(0x0800) + ip4(tcp(40000, 25, 1, 0, 2))[:12])
# 3 ihl 4
rec(eth(0x0800) + ip4(tcp(40000, 25, 1, 0, 2), ihl=4))
# 4 tcp data offset 3
rec(eth(0x0800) + ip4(tcp(40000, 25, 1, 0, 2, doff=3)))
# 5 truncated in the TCP header (capture cut)
f = eth(0x0800) + ip4(tcp(40000, 25, 1, 0, 2))
rec(f, caplen=14 + 20 + 8, wirelen=len(f))
# 6 IPv4 fragment (more fragments)
rec(eth(0x0800) + ip4(tcp(40000, 25, 1, 0, 2), frag=0x2000))
# 7 UDP
rec(eth(0x0800) + ip4(b'\x00' * 8, proto=17))
# 8 ARP
rec(eth(0x0806) + b'\x00' * 28)
# 9 IPv6 truncated in its header
rec(eth(0x86dd) + b'\x60' + b'\x00' * 20)
# 10 five VLAN tags
rec(b'\x02' * 12 + b'\x81\x00\x00\x01' * 5 + b'\x08\x00' + ip4(tcp(40000, 25, 1, 0, 2)))
# 11.. a good session: greeting, EHLO, QUIT
c, s = 1000, 5000
def c2s(flags, data=b''):
    global c
    rec(eth(0x0800) + ip4(tcp(40001, 25, c, s, flags, data)))
    c += len(data) + (1 if flags & 3 else 0)
def s2c(flags, data=b''):
    global s
    rec(eth(0x0800) + ip4(tcp(25, 40001, s, c, flags, data), src=b'\xc6\x13\xff\x01', dst=b'\xc6\x12\x00\x0a'))
    s += len(data) + (1 if flags & 3 else 0)
c2s(0x02); s2c(0x12); c2s(0x10)
s2c(0x18, b'220 mx.example.test ESMTP\r\n')
c2s(0x18, b'EHLO client.example.org\r\n')
s2c(0x18, b'250-mx.example.test\r\n250 PIPELINING\r\n')
c2s(0x18, b'QUIT\r\n')
s2c(0x18, b'221 2.0.0 Bye\r\n')
c2s(0x11)
PY

out=$("$build/dataplane/smtpscreen" replay -c "$src/examples/main.cf" \
	--verdicts "$tmp/v.csv" "$tmp/bad.pcap" 2>&1)
rc=$?
echo "$out"
fail=0
check() {
	if ! grep -qE "$1" <<<"$out"; then
		echo "FAIL: summary lacks: $1"
		fail=1
	fi
}
[ $rc -eq 0 ] || { echo "FAIL: exit status $rc"; fail=1; }
check '^decode tcp=9 not_ip=1 not_tcp=1 fragment=1 truncated_l2=1 truncated_l3=2 truncated_l4=1 bad_ip=1 bad_tcp=1 bad_link=1$'
check '^flows total=1 pass=1 fail=0'
if ! grep -q '^198.18.0.10,40001,198.19.255.1,25,pass,$' "$tmp/v.csv"; then
	echo "FAIL: the good session after the bad frames did not pass:"; cat "$tmp/v.csv"; fail=1
fi
[ $fail -eq 0 ] && echo "PASS: every bad frame counted under its reason"
exit $fail
