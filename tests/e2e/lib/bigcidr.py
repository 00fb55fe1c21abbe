#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   bigcidr.py - a large REJECT cidr table that never matches a test address
#
# SYNOPSIS
#   bigcidr.py FILE N
#
# DESCRIPTION
#   N REJECT lines (seeded, the same every time) inside 100.64.0.0/12 (every /16
#   of it listed, so it compiles to /24-aligned ranges), 100.96.0.0-100.96.99.255
#   (/25-/32 in 100 /24s: the XDP table's second level) and 2001:db8:ffff::/48 (a
#   listed /49 with /50-/128 lines inside, 1000 /64s beside it). Exits non-zero if
#   a generated range could match a test address (198.18.0.0/15). Used by the
#   reload-under-traffic tests (host_live_test, inline_flood_test).
import ipaddress, random, sys
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
F = 0x64400000                  # 100.64.0.0/12
P = 0x64600000                  # 100.96.0.0, 100 /24s used
V6A = 0x20010db8ffff8000 << 64  # 2001:db8:ffff:8000::/49
V6B = 0x20010db8ffff0000 << 64  # 2001:db8:ffff::/49
def v4(a, l):
    return "%d.%d.%d.%d/%d REJECT" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, l)
def v6(a, l):
    return "%s/%d REJECT" % (ipaddress.IPv6Address(a).compressed, l)
lines = [v4(F + (i << 16), 16) for i in range(16)]
lines.append(v6(V6A, 49))
lines += [v6(V6B + (rnd.getrandbits(15) << 64), 64) for _ in range(min(1000, n // 4))]
while len(lines) < n * 6 // 10:
    if rnd.random() < 0.07:
        l, a = rnd.randint(25, 32), P + (rnd.randrange(100) << 8) + rnd.getrandbits(8)
    else:
        l, a = rnd.randint(17, 32), F + rnd.getrandbits(20)
    lines.append(v4(a & ~((1 << (32 - l)) - 1) & 0xffffffff, l))
while len(lines) < n:
    l = rnd.randint(50, 128)
    lines.append(v6((V6A + rnd.getrandbits(79)) & ~((1 << (128 - l)) - 1), l))
tests = [ipaddress.ip_network("198.18.0.0/15")]
for s in ("100.64.0.0/12", "100.96.0.0/17", "2001:db8:ffff::/48"):
    if any(ipaddress.ip_network(s).overlaps(t) for t in tests if t.version == ipaddress.ip_network(s).version):
        sys.exit("generated range %s overlaps a test range" % s)
rnd.shuffle(lines)
with open(out, "w") as f:
    f.write("# generated: %d REJECT prefixes in 100.64.0.0/12, 100.96.0.0/17, "
            "2001:db8:ffff::/48\n" % len(lines))
    f.write("\n".join(lines) + "\n")
