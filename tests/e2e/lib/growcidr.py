#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   growcidr.py - a REJECT cidr table that needs far bigger XDP maps than a small list
#
# SYNOPSIS
#   growcidr.py FILE N CLIENT
#
# DESCRIPTION
#   N /32s from 100.64.0.1 on, one in every 4 addresses (each adds two XDP DXR ranges:
#   N > 131,072 needs more than a copy's 2^19 ranges at start; at most 1,048,576),
#   80,000 IPv6 /64s in 2001:db8:100::/40 (more than a copy's 65,536 at start), and
#   CLIENT/32 last. Used by the reload-growth tests (host_ops_test, inline_store_test).
import sys
out, n, client = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert n <= 1 << 20
with open(out, 'w') as f:
    for i in range(n):
        a = (100 << 24 | 64 << 16) + 4 * i + 1
        f.write('%d.%d.%d.%d/32 REJECT\n' % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255))
    for i in range(80000):
        f.write('2001:db8:%x:%x::/64 REJECT\n' % (0x100 + i // 65536, i % 65536))
    f.write('%s/32 REJECT\n' % client)
