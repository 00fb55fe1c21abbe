#!/bin/bash
# replay_envelope_test - envelope checks (issue 17) in replay, with a small
# DNS server on 127.0.0.1 for reject_unknown_sender_domain.
# Usage: replay_envelope_test.sh BUILD_DIR
# A scapy capture of one session per case (client 198.18.6.N, port 40000):
#   1 MAIL FROM:<alice> (non-FQDN)                  fail,envelope: 504 5.5.2
#   2 RCPT TO:<bob@mailhost> (non-FQDN)             fail,envelope: 504 5.5.2
#   3 sender domain NXDOMAIN (nx.invalid)           fail,envelope: 450 4.1.8
#   4 sender domain with no MX, A or AAAA (NODATA)  fail,envelope: 450 4.1.8
#   5 sender in an access table (bulk.example.net)  fail,envelope: 554 5.7.1
#   6 sender domain answered SERVFAIL               pass (decides nothing)
#   7 sender domain whose server never answers      pass (decides nothing)
#   8 sender domain with only an A record           pass
#   9 null sender MAIL FROM:<>, RCPT pipelined      pass
#  10 FQDN sender split over two segments, "MAIL FROM: <a>" with SIZE=  pass
#  11 non-FQDN sender, allow-listed client          allowlisted (not checked)
# Under warn_if_reject the same captures pass and log reject_warning; with
# the lists empty (the default) nothing is checked; under drop the client's
# second session is blocked. Then scr-gen's mix with the envelope classes:
# 100 % caught, no good client failed.
set -u -o pipefail
build=${1:?usage: $0 BUILD_DIR}
src=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
keep=${KEEP:-}
dns_pid=
cleanup() {
	[ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null
	[ -n "$keep" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

/usr/bin/python3 - "$tmp/env.pcap" <<'PY' || { echo "FAIL: scapy capture"; exit 1; }
import sys
from scapy.all import Ether, IP, TCP, Raw, wrpcap
S4, CM, SM = '198.19.255.1', '02:52:00:00:00:01', '02:53:00:00:00:10'
T0 = 1704067200.0
pk = []
class Sess:
    def __init__(self, client, t, port=40000):
        self.cli, self.t, self.port, self.cs, self.ss = client, t, port, 1000, 90000
    def seg(self, fwd, flags, data=b''):
        self.t += 0.02
        p = Ether(src=CM if fwd else SM, dst=SM if fwd else CM) / \
            IP(src=self.cli if fwd else S4, dst=S4 if fwd else self.cli) / \
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
    def c(self, data, flags='PA'):
        self.seg(True, flags, data)
    def s(self, data, flags='PA'):
        self.seg(False, flags, data)
def session(cli, t, mail, rcpt=b'RCPT TO:<u@example.test>\r\n', pipe=False, port=40000):
    x = Sess(cli, t, port)
    x.c(b'', 'S'); x.s(b'', 'SA'); x.c(b'', 'A')
    x.s(b'220 mx.example.test ESMTP Postfix\r\n')
    x.c(b'EHLO client.example.org\r\n')
    x.s(b'250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n')
    if pipe:
        x.c(mail + rcpt + b'DATA\r\n')
        x.s(b'250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n')
    else:
        for part in mail:
            x.c(part)
        x.s(b'250 2.1.0 Ok\r\n')
        x.c(rcpt); x.s(b'250 2.1.5 Ok\r\n')
        x.c(b'DATA\r\n'); x.s(b'354 End data with <CR><LF>.<CR><LF>\r\n')
    x.c(b'Subject: hi\r\n\r\nMAIL FROM:<body>\r\n.\r\n'); x.s(b'250 2.0.0 Ok: queued\r\n')
    x.c(b'QUIT\r\n'); x.s(b'221 2.0.0 Bye\r\n'); x.c(b'', 'FA')
    x.s(b'', 'FA'); x.c(b'', 'A')
session('198.18.6.1', T0 + 1, [b'MAIL FROM:<alice>\r\n'])
session('198.18.6.2', T0 + 2, [b'MAIL FROM:<a@example.org>\r\n'], b'RCPT TO:<bob@mailhost>\r\n')
session('198.18.6.3', T0 + 3, [b'MAIL FROM:<c@nx.invalid>\r\n'])
session('198.18.6.4', T0 + 4, [b'MAIL FROM:<d@nodata.example.org>\r\n'])
session('198.18.6.5', T0 + 5, [b'MAIL FROM:<e@bulk.example.net>\r\n'])
session('198.18.6.6', T0 + 6, [b'MAIL FROM:<f@servfail.example.org>\r\n'])
session('198.18.6.7', T0 + 7, [b'MAIL FROM:<g@slow.example.org>\r\n'])
session('198.18.6.8', T0 + 8, [b'MAIL FROM:<h@aonly.example.org>\r\n'])
session('198.18.6.9', T0 + 9, b'MAIL FROM:<>\r\n', pipe=True)
session('198.18.6.10', T0 + 10, [b'MAIL FR', b'OM: <i@example.org> SIZE=1000\r\n'])
session('198.19.254.5', T0 + 11, [b'MAIL FROM:<alice>\r\n'])
session('198.18.6.1', T0 + 20, [b'MAIL FROM:<a@example.org>\r\n'], port=40001)
pk.sort(key=lambda p: p.time)
wrpcap(sys.argv[1], pk)
PY

# the DNS: example.org and friends have MX records; nodata.example.org
# exists without records of those types; aonly.example.org has only an A
cat >"$tmp/zone" <<'EOF'
example.org MX mx.example.org
example.test MX mx.example.test
nodata.example.org EXISTS
aonly.example.org A 198.18.9.9
bulk.example.net MX mx.example.net
servfail.example.org SERVFAIL
slow.example.org DROP
EOF
port=$((20000 + $$ % 20000))
/usr/bin/python3 "$src/tests/e2e/lib/tinydns.py" 127.0.0.1 "$port" "$tmp/zone" "$tmp/dns.ready" \
	>"$tmp/dns.log" 2>&1 &
dns_pid=$!
for _ in $(seq 50); do [ -e "$tmp/dns.ready" ] && break; sleep 0.1; done
[ -e "$tmp/dns.ready" ] || { echo "FAIL: tinydns: $(cat "$tmp/dns.log")"; exit 1; }

base() {	# base ACTION: main.cf with the lists
	cat <<EOF
myhostname = mx.example.test
postscreen_access_list = permit_mynetworks, cidr:$tmp/access.cidr
smtpscreen_dnsbl_servers = 127.0.0.1:$port
smtpscreen_envelope_timeout = 2s
smtpscreen_sender_restrictions = reject_non_fqdn_sender,
    reject_unknown_sender_domain, check_sender_access inline:{bulk.example.net=REJECT}
smtpscreen_recipient_restrictions = reject_non_fqdn_recipient
smtpscreen_envelope_action = $1
EOF
}
printf '198.19.254.0/24 permit\n' >"$tmp/access.cidr"
run() {	# run CONF TAG
	"$build/dataplane/smtpscreen" replay -c "$1" --verdicts "$tmp/$2.csv" \
		--log "$tmp/$2.log" "$tmp/env.pcap" >"$tmp/$2.out" 2>&1 ||
		bad "$2: exit status $?: $(cat "$tmp/$2.out")"
}
rows() { grep "^$2," "$tmp/$1.csv" | cut -d, -f5- | tr '\n' ' '; }
want() {	# want TAG CLIENT VERDICTS...
	local tag=$1 cli=$2 got
	shift 2
	got=$(rows "$tag" "$cli")
	[ "$got" = "$* " ] || bad "$tag: $cli: verdicts '$got', want '$* '"
}
logged() {	# logged TAG REGEX
	grep -Eq "$2" "$tmp/$1.log" || bad "$1: no log line /$2/"
}

base enforce >"$tmp/enf.cf"
run "$tmp/enf.cf" enf
want enf 198.18.6.1 "fail,envelope" "pass,"
want enf 198.18.6.2 fail,envelope
want enf 198.18.6.3 fail,envelope
want enf 198.18.6.4 fail,envelope
want enf 198.18.6.5 fail,envelope
for i in 6 7 8 9 10; do
	want enf 198.18.6.$i pass,
done
want enf 198.19.254.5 allowlisted,
q='NOQUEUE: reject: RCPT from \[198\.18\.6'
logged enf "$q\.1\]:40000: 504 5\.5\.2 <alice>: Sender address rejected: need fully-qualified address; from=<alice> to=<u@example\.test> proto=ESMTP helo=<client\.example\.org>\$"
logged enf "$q\.2\]:40000: 504 5\.5\.2 <bob@mailhost>: Recipient address rejected: need fully-qualified address; from=<a@example\.org> to=<bob@mailhost> proto=ESMTP helo=<client\.example\.org>\$"
logged enf "$q\.3\]:40000: 450 4\.1\.8 <c@nx\.invalid>: Sender address rejected: Domain not found; from=<c@nx\.invalid> "
logged enf "$q\.4\]:40000: 450 4\.1\.8 <d@nodata\.example\.org>: Sender address rejected: Domain not found; "
logged enf "$q\.5\]:40000: 554 5\.7\.1 <e@bulk\.example\.net>: Sender address rejected: Access denied; "
n=$(grep -c 'NOQUEUE: reject' "$tmp/enf.log")
[ "$n" -eq 5 ] || bad "enf: $n NOQUEUE lines, want 5"
grep -Eq '^envelope helo=0 ehlo=[0-9]+ mail=[0-9]+ rcpt=[0-9]+ rejected=5 stopped=5 ' "$tmp/enf.out" ||
	bad "enf summary: $(grep '^envelope' "$tmp/enf.out")"
# fail2ban's postfix filter reads the NOQUEUE lines
if command -v fail2ban-regex >/dev/null; then
	n=$(fail2ban-regex "$tmp/enf.log" postfix 2>&1 | sed -n 's/^Lines: .* \([0-9]*\) matched.*/\1/p')
	# its normal mode knows "Domain not found", not the other two texts
	[ "${n:-0}" -ge 2 ] || bad "fail2ban-regex postfix matched ${n:-0} lines, want 2"
fi

# warn_if_reject before each restriction: logged, nothing rejected
sed -e 's/reject_non_fqdn_sender,/warn_if_reject reject_non_fqdn_sender,/' \
    -e 's/= reject_non_fqdn_recipient/= warn_if_reject reject_non_fqdn_recipient/' \
    "$tmp/enf.cf" >"$tmp/warn.cf"
run "$tmp/warn.cf" warn
want warn 198.18.6.1 "pass," "pass,"
want warn 198.18.6.2 pass,
want warn 198.18.6.3 fail,envelope	# not under warn_if_reject
logged warn "NOQUEUE: reject_warning: RCPT from \[198\.18\.6\.1\]:40000: 504 5\.5\.2 <alice>: "
grep -q 'NOQUEUE: reject: RCPT from \[198\.18\.6\.1\]' "$tmp/warn.log" && bad "warn: 198.18.6.1 rejected"

# ignore: reject_warning, the flow fails, nothing stopped or blocked
base ignore >"$tmp/ign.cf"
run "$tmp/ign.cf" ign
want ign 198.18.6.1 "fail,envelope" "pass,"
logged ign "NOQUEUE: reject_warning: RCPT from \[198\.18\.6\.1\]:40000: 504 "
grep -Eq '^envelope .* rejected=5 stopped=0 ' "$tmp/ign.out" || bad "ign summary: $(grep '^envelope' "$tmp/ign.out")"

# drop: the client's next session is blocked
base drop >"$tmp/drop.cf"
run "$tmp/drop.cf" drop
want drop 198.18.6.1 "fail,envelope" "fail,envelope"

# off (the default): nothing read
printf 'myhostname = mx.example.test\n' >"$tmp/off.cf"
run "$tmp/off.cf" off
grep -q envelope "$tmp/off.csv" && bad "off: envelope verdicts"
grep -q NOQUEUE "$tmp/off.log" && bad "off: NOQUEUE lines"

# scr-gen's labelled mix with the envelope classes
zone2=$tmp/zone2
for d in example.org example.net example.com mail.example.org corp.example.net \
	shop.example.com uni.example.edu news.example.org lists.example.net \
	billing.example.com example.co.uk foo-bar.example example.test bulk.example.net; do
	echo "$d MX mx.$d"
done >"$zone2"
kill "$dns_pid"; wait "$dns_pid" 2>/dev/null
rm -f "$tmp/dns.ready"
/usr/bin/python3 "$src/tests/e2e/lib/tinydns.py" 127.0.0.1 "$port" "$zone2" "$tmp/dns.ready" \
	>"$tmp/dns.log" 2>&1 &
dns_pid=$!
for _ in $(seq 50); do [ -e "$tmp/dns.ready" ] && break; sleep 0.1; done
"$build/bench/scr-gen" --seed 17 --flows 3000 --v6 20 \
	--mix good=70,pregreet=5,bare_newline=4,pipelining=5,non_smtp_command=4,helo=6,blocklisted=4,allowlisted=2,env_sender=3,env_recipient=3,env_unknown=3,env_access=3 \
	-o "$tmp/gen.pcap" --labels "$tmp/gen.csv" 2>"$tmp/gen.err" || bad "scr-gen: $(cat "$tmp/gen.err")"
grep -q ' env_sender=[1-9][0-9]* env_recipient=[1-9][0-9]* env_unknown=[1-9][0-9]* env_access=[1-9]' \
	"$tmp/gen.err" || bad "scr-gen made no envelope sessions: $(cat "$tmp/gen.err")"
mkdir -p "$tmp/ex"
cp -r "$src"/examples/* "$tmp/ex/"
cp "$tmp/ex/main.cf" "$tmp/ex/off.cf"
cat >>"$tmp/ex/main.cf" <<EOF
smtpscreen_dnsbl_servers = 127.0.0.1:$port
smtpscreen_sender_restrictions = reject_non_fqdn_sender, reject_unknown_sender_domain,
    check_sender_access inline:{bulk.example.net=REJECT}
smtpscreen_recipient_restrictions = reject_non_fqdn_recipient
EOF
for tag in on off; do
	"$build/dataplane/smtpscreen" replay -c "$tmp/ex/$([ $tag = on ] && echo main || echo off).cf" \
		--labels "$tmp/gen.csv" "$tmp/gen.pcap" >"$tmp/gen-$tag.out" 2>&1 ||
		bad "gen $tag: exit status $?"
done
bad_cls=$(grep '^accuracy' "$tmp/gen-on.out" | grep -v 'pct=100.00 missing=0')
[ -z "$bad_cls" ] || bad "gen, envelope checks on: $bad_cls"
grep -Eq '^accuracy class=envelope flows=[1-9][0-9]* correct=[1-9]' "$tmp/gen-on.out" ||
	bad "gen: no envelope class: $(grep '^accuracy' "$tmp/gen-on.out")"
grep -q '^accuracy class=good .* pct=100.00' "$tmp/gen-on.out" || bad "gen on: good clients failed"
grep -q '^accuracy class=envelope .* correct=0 ' "$tmp/gen-off.out" ||
	bad "gen off: envelope sessions caught with the checks off"
[ $fail -eq 0 ] && echo "PASS: replay_envelope_test"
exit $fail
