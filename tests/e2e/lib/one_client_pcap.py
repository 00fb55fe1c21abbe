#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""one_client_pcap.py OUT.pcap - 60 concurrent SMTP sessions from one client.

198.19.241.7 opens 60 connections to 198.19.255.10:25 (ports 40000-40059), 10 ms
apart; each gets its SYN/ACK and the 220 greeting; 2 s later all close, client
first. For the per-client limit (postscreen_client_connection_count_limit):
with 50, the SYNs of ports 40050-40059 are the ones over it. Needs scapy
(/usr/bin/python3).
"""
import sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
C, S, CM, SM = '198.19.241.7', '198.19.255.10', '02:52:00:00:00:01', '02:53:00:00:00:10'
T0 = 1704067200.0
pk = []
def add(t, src, sport, dport, flags, seq, ack, data=b''):
    fwd = src == C
    p = Ether(src=CM if fwd else SM, dst=SM if fwd else CM) / \
        IP(src=src, dst=S if fwd else C, ttl=64) / \
        TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=502)
    if data:
        p = p / Raw(data)
    p.time = T0 + t
    pk.append(p)
G = b'220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n'
for i in range(60):                 # 60 sessions open, 10 ms apart
    t, cp, cs, ss = i * 0.01, 40000 + i, 1000 + i * 7919, 500000 + i * 104729
    add(t, C, cp, 25, 'S', cs, 0)
    add(t + 0.0001, S, 25, cp, 'SA', ss, cs + 1)
    add(t + 0.0011, C, cp, 25, 'A', cs + 1, ss + 1)
    add(t + 0.0050, S, 25, cp, 'PA', ss + 1, cs + 1, G)
    add(t + 0.0060, C, cp, 25, 'A', cs + 1, ss + 1 + len(G))
for i in range(60):                 # then all close, client first
    t, cp, cs, ss = 2 + i * 0.01, 40000 + i, 1000 + i * 7919, 500000 + i * 104729
    add(t, C, cp, 25, 'FA', cs + 1, ss + 1 + len(G))
    add(t + 0.0001, S, 25, cp, 'FA', ss + 1 + len(G), cs + 2)
    add(t + 0.0011, C, cp, 25, 'A', cs + 2, ss + 2 + len(G))
pk.sort(key=lambda p: p.time)
wrpcap(sys.argv[1], pk)
