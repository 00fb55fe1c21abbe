#!/bin/bash
# replay_odd_test - captures that show less than a whole SMTP session, or
# sessions weeks apart, made with scapy; each client is judged only on what
# was seen (issue 14). Usage: replay_odd_test.sh BUILD_DIR
#   198.18.1.1  client side only (no SYN/ACK, no server byte): unknown, no_server
#   198.18.1.2  a greeting line that never ends in CRLF: unknown, undecided
#   198.18.1.3  a lone "250-" EHLO continuation: unknown, undecided
#   198.18.1.4  a pipelining bot (MAIL before any EHLO reply): fail, pipelining
#   198.18.1.5  good session at T0 (pass)
#   198.18.1.6  pregreet bot 30 days later, EHLO 0.25 s after its handshake:
#               "PREGREET 22 after 0.25" (the engine clock froze after 24.8
#               days: "after 0")
#   198.18.1.9  its EHLO segment sent again with other bytes (the server acks
#               the second copy): unknown, contradicted (it passed: the first
#               copy won)
#   198.18.1.10 a non-SMTP first line ("GET ...") sent again as an EHLO of the
#               same length before the server acked it: the server may have
#               taken the EHLO: unknown, contradicted (it failed non_smtp: the
#               first copy won)
#   198.18.1.11 the same, but the server acked the first copy: fail, non_smtp_command
#   198.18.1.8  a session that stalls 30 days after T0: times out then
#   198.18.1.7  good session 60 days after T0: pass, after 198.18.1.8's row
set -u
build=${1:?usage: $0 BUILD_DIR}
src=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp/odd.pcap" <<'PY' || { echo "FAIL: scapy capture"; exit 1; }
import sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
S, CM, SM = '198.19.255.1', '02:52:00:00:00:01', '02:53:00:00:00:10'
T0, DAY = 1704067200.0, 86400.0
pk = []
class Sess:
    def __init__(self, client, t, port=40000):
        self.cli, self.t, self.port, self.cs, self.ss = client, t, port, 1000, 90000
    def seg(self, dt, fwd, flags, data=b''):
        self.t += dt
        p = Ether(src=CM if fwd else SM, dst=SM if fwd else CM) / \
            IP(src=self.cli if fwd else S, dst=S if fwd else self.cli) / \
            TCP(sport=self.port if fwd else 25, dport=25 if fwd else self.port, flags=flags,
                seq=self.cs if fwd else self.ss, ack=self.ss if fwd else self.cs, window=502)
        if data:
            p = p / Raw(data)
        p.time = self.t
        pk.append(p)
        n = len(data) + (1 if ('S' in flags or 'F' in flags) else 0)
        if fwd:
            self.cs += n
        else:
            self.ss += n
    def c(self, data, dt=0.05, flags='PA'):
        self.seg(dt, True, flags, data)
    def s(self, data, dt=0.05, flags='PA'):
        self.seg(dt, False, flags, data)
    def open(self, synack=True):
        self.c(b'', 0, 'S')
        if synack:
            self.s(b'', 0.001, 'SA')
        self.c(b'', 0.001, 'A')
G = b'220 mx.example.test ESMTP Postfix\r\n'
EHLO_R = b'250-mx.example.test\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n'
def good(x, greet=G):
    x.s(greet); x.c(b'EHLO client.example.org\r\n'); x.s(EHLO_R)
    x.c(b'MAIL FROM:<a@example.org>\r\n'); x.s(b'250 2.1.0 Ok\r\n')
    x.c(b'RCPT TO:<u@example.test>\r\n'); x.s(b'250 2.1.5 Ok\r\n')
    x.c(b'DATA\r\n'); x.s(b'354 End data with <CR><LF>.<CR><LF>\r\n')
    x.c(b'Subject: hi\r\n\r\nhello\r\n.\r\n'); x.s(b'250 2.0.0 Ok: queued\r\n')
    x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
# 1 client side only
x = Sess('198.18.1.1', T0); x.open(synack=False)
for line in (b'EHLO client.example.org\r\n', b'MAIL FROM:<a@example.org>\r\n',
             b'RCPT TO:<u@example.test>\r\n', b'DATA\r\n', b'Subject: hi\r\n\r\nhello\r\n.\r\n',
             b'QUIT\r\n'):
    x.c(line, 0.1)
x.c(b'', 0.01, 'FA')
# 2 a greeting line that never ends
x = Sess('198.18.1.2', T0 + 1); x.open()
x.s(b'220 mx.example.test ESMTP Postfix'); x.c(b'EHLO client.example.org\r\n', 5)
x.s(EHLO_R); x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
# 3 a lone continuation line
x = Sess('198.18.1.3', T0 + 2); x.open()
x.s(G); x.c(b'EHLO client.example.org\r\n'); x.s(b'250-mx.example.test\r\n')
x.c(b'MAIL FROM:<a@example.org>\r\n', 5); x.c(b'QUIT\r\n', 5); x.c(b'', 0.01, 'FA')
# 4 a real pipelining bot: its MAIL before any of the EHLO reply
x = Sess('198.18.1.4', T0 + 3); x.open()
x.s(G); x.c(b'EHLO bot.example.org\r\n'); x.c(b'MAIL FROM:<a@example.org>\r\n', 0.001)
x.s(EHLO_R); x.s(b'250 2.1.0 Ok\r\n'); x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
# 9 a resent EHLO segment with other bytes, acked after the second copy
x = Sess('198.18.1.9', T0 + 5); x.open(); x.s(G)
x.c(b'EHLO client.example.org\r\n'); x.cs -= 25
x.c(b'EHLO CLIENT.example.org\r\n', 0.2)
x.s(EHLO_R); x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
# 10, 11 a non-SMTP line resent as an EHLO; the server acks the first copy in 11
for cli, acked in (('198.18.1.10', False), ('198.18.1.11', True)):
    x = Sess(cli, T0 + 6 + acked); x.open(); x.s(G)
    x.c(b'GET / HTTP/1.0\r\nHost: x\r\n')
    if acked:
        x.s(b'', 0.04, 'A')
    x.cs -= 25; x.c(b'EHLO client.example.org\r\n', 0.2)
    x.s(EHLO_R); x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
# 5 good at T0; 6 pregreet bot 30 days later; 8 stalls, 7 good 60 days later
x = Sess('198.18.1.5', T0 + 4); x.open(); good(x)
x = Sess('198.18.1.6', T0 + 30 * DAY); x.open()
x.c(b'EHLO bot.example.org\r\n', 0.25); x.s(G, 1); x.s(EHLO_R); x.c(b'QUIT\r\n')
x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
x = Sess('198.18.1.8', T0 + 30 * DAY + 10); x.open(); x.s(G); x.c(b'EHLO stall.example.org\r\n')
x = Sess('198.18.1.7', T0 + 60 * DAY); x.open(); x.s(G, 1); x.c(b'EHLO client.example.org\r\n', 2)
x.s(EHLO_R); x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 0.01, 'FA')
pk.sort(key=lambda p: p.time)
wrpcap(sys.argv[1], pk)
PY

cat >"$tmp/main.cf" <<'EOF'
myhostname = mx.example.test
postscreen_greet_action = enforce
postscreen_pipelining_enable = yes
postscreen_pipelining_action = enforce
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
EOF
out=$("$build/dataplane/smtpscreen" replay -c "$tmp/main.cf" --verdicts "$tmp/v.csv" \
	--log "$tmp/log" "$tmp/odd.pcap" 2>&1)
rc=$?
echo "$out"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
[ $rc -eq 0 ] || bad "exit status $rc"
verdict() {	# verdict CLIENT WANT
	grep -q "^$1,[0-9]*,198.19.255.1,25,$2\$" "$tmp/v.csv" ||
		bad "$1: verdict $(grep "^$1," "$tmp/v.csv" | cut -d, -f5-) (want $2)"
}
verdict 198.18.1.1 unknown,
verdict 198.18.1.2 unknown,
verdict 198.18.1.3 unknown,
verdict 198.18.1.4 fail,pipelining
verdict 198.18.1.5 pass,
verdict 198.18.1.6 fail,pregreet
verdict 198.18.1.7 pass,
verdict 198.18.1.8 unknown,
verdict 198.18.1.9 unknown,
verdict 198.18.1.10 unknown,
verdict 198.18.1.11 fail,non_smtp_command
grep -Eq '^engine .* no_server=1 undecided=2 contradicted=2$' <<<"$out" ||
	bad "summary: want no_server=1 undecided=2 contradicted=2"
grep -Eq 'PREGREET 22 after 0\.25 from \[198\.18\.1\.6\]:40000' "$tmp/log" ||
	bad "the pregreet 30 days later: $(grep -F '198.18.1.6' "$tmp/log" | head -3)"
# the stalled session times out in its own month: its row comes before the
# session 30 days later's (a frozen clock kept it until the end of input)
l8=$(grep -n '^198\.18\.1\.8,' "$tmp/v.csv" | cut -d: -f1)
l7=$(grep -n '^198\.18\.1\.7,' "$tmp/v.csv" | cut -d: -f1)
[ -n "$l8" ] && [ -n "$l7" ] && [ "$l8" -lt "$l7" ] ||
	bad "the stalled 198.18.1.8 did not time out before 198.18.1.7's session (rows $l8, $l7)"
if [ $fail -ne 0 ]; then
	echo "--- verdicts"; cat "$tmp/v.csv"; echo "--- log"; cat "$tmp/log"
	exit 1
fi
echo "PASS: client-side-only, broken replies and sessions weeks apart judged on what was seen"
