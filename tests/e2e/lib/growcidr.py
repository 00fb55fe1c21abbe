#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   growcidr.py - a REJECT cidr table that needs far bigger XDP maps than a small list
#
# SYNOPSIS
#   growcidr.py FILE GROUPS CLIENT
#
# DESCRIPTION
#   GROUPS /32s, each in a /24 of its own from 100.64.0.0 on (one XDP tbl8 group each),
#   80,000 IPv6 /64s in 2001:db8:100::/40 (more than a copy's 65,536 at start), and
#   CLIENT/32 last. Used by the reload-growth tests (host_ops_test, inline_store_test).
import sys
out, groups, client = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, 'w') as f:
    for i in range(groups):
        f.write('100.%d.%d.1/32 REJECT\n' % (64 + i // 256, i % 256))
    for i in range(80000):
        f.write('2001:db8:%x:%x::/64 REJECT\n' % (0x100 + i // 65536, i % 65536))
    f.write('%s/32 REJECT\n' % client)
