#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""tinydns.py - a small authoritative DNS server for the e2e tests.

Usage: tinydns.py ADDR PORT ZONEFILE [READYFILE]

ZONEFILE lines: "NAME TYPE [VALUE]" with TYPE one of
  MX VALUE        an MX record (preference 10, exchange VALUE)
  A VALUE, AAAA VALUE
  SERVFAIL        every question for NAME is answered SERVFAIL
  DROP            questions for NAME get no answer (a timeout)
  EXISTS          NAME exists with no records (NODATA for every type)
  DELAY MS        answers for NAME (whatever they are) go out MS ms late
  *.SUFFIX MX V   any name under SUFFIX has this MX (e.g. *.example.org)
A name with records but none of the asked type is answered NODATA
(NOERROR, no answers); any other name NXDOMAIN. UDP only. READYFILE is
created once the socket is bound.
"""
import socket
import struct
import sys
import time

QTYPE = {'A': 1, 'MX': 15, 'AAAA': 28}


def load(path):
    recs, special, delay = {}, {}, {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith('#'):
                continue
            name = w[0].lower().rstrip('.')
            if w[1] in ('SERVFAIL', 'DROP'):
                special[name] = w[1]
            elif w[1] == 'DELAY':
                delay[name] = int(w[2]) / 1000.0
            elif w[1] == 'EXISTS':
                recs.setdefault(name, [])
            else:
                recs.setdefault(name, []).append((QTYPE[w[1]], w[2]))
    return recs, special, delay


def encode_name(n):
    out = b''
    for label in n.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def rdata(t, v):
    if t == 1:
        return socket.inet_pton(socket.AF_INET, v)
    if t == 28:
        return socket.inet_pton(socket.AF_INET6, v)
    return struct.pack('!H', 10) + encode_name(v)


def lookup(recs, name):
    if name in recs:
        return recs[name]
    parts = name.split('.')
    for i in range(1, len(parts)):
        wild = '*.' + '.'.join(parts[i:])
        if wild in recs:
            return recs[wild]
    return None


def main():
    addr, port, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    recs, special, delay = load(zone)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    if len(sys.argv) > 4:
        open(sys.argv[4], 'w').close()
    late = []           # (when, packet, peer): DELAY answers, in time order
    while True:
        now = time.monotonic()
        while late and late[0][0] <= now:
            s.sendto(late[0][1], late[0][2])
            late.pop(0)
        s.settimeout(late[0][0] - now if late else None)
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(q) < 12:
            continue
        qid, flags, qd = struct.unpack('!HHH', q[:6])
        if qd != 1:
            continue
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
            i += 1 + q[i]
        qend = i + 5
        if qend > len(q):
            continue
        qtype = struct.unpack('!H', q[i + 1:i + 3])[0]
        name = '.'.join(labels).lower()
        question = q[12:qend]
        rd = flags & 0x0100
        if special.get(name) == 'DROP':
            continue
        ans, rcode = [], 0
        if special.get(name) == 'SERVFAIL':
            rcode = 2
        else:
            found = lookup(recs, name)
            if found is None:
                rcode = 3
            else:
                ans = [(t, v) for t, v in found if t == qtype]
        body = b''
        for t, v in ans:
            r = rdata(t, v)
            body += b'\xc0\x0c' + struct.pack('!HHIH', t, 1, 60, len(r)) + r
        hdr = struct.pack('!HHHHHH', qid, 0x8400 | rd | rcode, 1, len(ans), 0, 0)
        if name in delay:
            late.append((time.monotonic() + delay[name], hdr + question + body, peer))
            late.sort(key=lambda x: x[0])
        else:
            s.sendto(hdr + question + body, peer)


if __name__ == '__main__':
    main()
