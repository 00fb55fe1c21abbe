#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_stream_test - smtpscreen replay streaming its inputs (issue 15)
# DESCRIPTION
#	On scr-gen corpora, with a fixed --hash-key:
#	  1. streaming (the default) and the in-memory mode (--loop 1) give
#	     byte-identical verdict CSVs and logs with --threads 1, and the
#	     same rows and lines (sorted: with threads, blocks per worker
#	     interleave) with --threads 2; the same accuracy lines;
#	  2. the same verdicts from the capture as pcapng, as nanosecond pcap,
#	     as big-endian pcap (our reader and libpcap's), and on standard
#	     input ("-", classic and pcapng; classic with --loop 1 too), from a
#	     FIFO and from <(...) named on the command line;
#	     smtpscreen does not link libpcap or libmicrohttpd, and with
#	     libpcap's file hidden (a private mount namespace: root) a
#	     classic pcap gives the same verdicts and a pcapng exit 1 and
#	     the reason;
#	  3. the capture split in two files by address pair, given as two
#	     files: merged by time, the same verdict rows and the same log
#	     lines (both sorted) as the whole, and streaming equals
#	     --loop 1 on the two files byte for byte;
#	  4. a file cut inside a record's data and one cut inside a record's
#	     header: an error naming the packet number, exit 1, the summary, and
#	     the verdict rows of exactly the packets before it;
#	     packets cut by the snapshot length (editcap -s 96) are counted on
#	     standard error, and a whole capture says nothing of it;
#	  5. --verdicts - writes the CSV on standard output (the summary goes
#	     to standard error); --verdicts /dev/full exits non-zero, names the
#	     file, and still prints the summary; an output that is a file the
#	     replay reads (a capture, by name, hard link or standard input; a
#	     configuration file, also the second of a -c list; the labels) or
#	     the other output is refused (exit 2) and nothing is written over;
#	     an old, longer output file is emptied;
#	     labels from a pipe score as from the file;
#	     a labels file that is a directory exits 2, one without rows is noted,
#	     a duplicate flow or an overlong row is named by file:line (exit 1);
#	  6. memory does not grow with the capture: peak RSS replaying a
#	     ~600 MB capture stays within 64 MiB of the peak for a ~25 MB one
#	     and under a third of the capture's size;
#	  7. SIGINT while the replay waits on a FIFO that has given half the
#	     capture: exit 130, the packet count named, the summary printed,
#	     a verdict row for every flow the summary counts (none lost in a
#	     buffer), whole lines; SIGINT during --loop (1 and 2 threads): exit
#	     130, the summary of whole passes, per pass the same as a full run;
#	     SIGINT ignored at start (a background job) stays ignored, and
#	     SIGTERM ends the replay with exit 143.
# USAGE
#	replay_stream_test.sh BUILD_DIR     exit 0 pass, 1 fail (prints why)
set -u -o pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
PY=/usr/bin/python3
CF=$SRC/examples/main.cf
KEY=0123456789abcdef0123456789abcdef
TMP=$(mktemp -d /tmp/replay-stream.XXXXXX)
WPID= RPID=
# stop the background writer and replay of section 7 (by PID), then clean up
cleanup() {
	local p
	for p in $WPID $RPID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
[ -x "$GEN" ] || fail "$GEN not built"
[ -x "$SCR" ] || fail "$SCR not built"
[ -f "$CF" ] || fail "$CF missing"

# replay NAME ARGS...: verdicts in NAME.csv, log in NAME.log, summary in
# NAME.out, errors in NAME.err; returns the exit status
replay() {
	local name=$1
	shift
	timeout 300 "$SCR" replay -c "$CF" --hash-key "$KEY" --verdicts "$TMP/$name.csv" \
		--log "$TMP/$name.log" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
# the log without the process id, which differs between runs
nolog() { sed -E 's/^(.{15} [^ ]+ [^ []+)\[[0-9]+\]: /\1: /' "$1"; }
# same NAME1 NAME2 [sorted|logsorted]: verdicts and logs identical (sorted:
# both sorted; logsorted: the verdicts as they are, the log sorted)
same() {
	local a=$1 b=$2 how=${3:-exact} sv=cat sl=cat
	[ "$how" = sorted ] && sv=sort
	[ "$how" != exact ] && sl=sort
	cmp -s <($sv "$TMP/$a.csv") <($sv "$TMP/$b.csv") ||
		{ diff <($sv "$TMP/$a.csv") <($sv "$TMP/$b.csv") | head; return 1; }
	cmp -s <(nolog "$TMP/$a.log" | $sl) <(nolog "$TMP/$b.log" | $sl) ||
		{ diff <(nolog "$TMP/$a.log" | $sl) <(nolog "$TMP/$b.log" | $sl) | head; return 1; }
}
rows() { echo $(($(wc -l < "$TMP/$1.csv") - 1)); }

"$GEN" --seed 1515 --flows 4000 --noise 15 --v6 15 --vlan 10 --no-pipelining-server 25 \
	-o "$TMP/c.pcap" --labels "$TMP/labels.csv" 2>"$TMP/gen.err" \
	|| fail "scr-gen: $(cat "$TMP/gen.err")"

# 1. streaming against in-memory
for t in 1 2; do
	replay s$t --threads "$t" --labels "$TMP/labels.csv" "$TMP/c.pcap" \
		|| fail "streaming --threads $t exited $?: $(cat "$TMP/s$t.err")"
	replay m$t --threads "$t" --labels "$TMP/labels.csv" --loop 1 "$TMP/c.pcap" \
		|| fail "--loop 1 --threads $t exited $?: $(cat "$TMP/m$t.err")"
	grep -q '^accuracy class=good' "$TMP/s$t.out" || fail "--threads $t: no accuracy lines"
	cmp -s <(grep -v '^rate ' "$TMP/s$t.out") <(grep -v '^rate ' "$TMP/m$t.out") \
		|| fail "--threads $t: summaries differ: $(diff "$TMP/s$t.out" "$TMP/m$t.out")"
done
[ "$(rows s1)" -gt 3000 ] || fail "only $(rows s1) verdict rows"
same s1 m1 || fail "--threads 1: streaming and --loop 1 differ"
ok "--threads 1: streaming = in-memory, byte for byte ($(rows s1) rows, $(wc -l < "$TMP/s1.log") log lines)"
same s2 m2 sorted || fail "--threads 2: streaming and --loop 1 differ (sorted)"
cmp -s <(sort "$TMP/s1.csv") <(sort "$TMP/s2.csv") || fail "--threads 2 verdicts differ from --threads 1"
ok "--threads 2: streaming = in-memory (sorted rows and lines), = --threads 1 verdicts"

# 2. other formats of the same capture, and standard input
command -v editcap >/dev/null || fail "editcap (wireshark-common) not installed: scripts/install-deps"
editcap -F pcapng "$TMP/c.pcap" "$TMP/c.pcapng" || fail "editcap -F pcapng"
editcap -F nsecpcap "$TMP/c.pcap" "$TMP/c.ns.pcap" || fail "editcap -F nsecpcap"
$PY - "$TMP/c.pcap" "$TMP/c.be.pcap" <<'PYEOF' || fail "big-endian copy"
import struct, sys
d = open(sys.argv[1], 'rb').read()
out = [struct.pack('>IHHiIII', *struct.unpack_from('<IHHiIII', d, 0))]
off = 24
while off < len(d):
    h = struct.unpack_from('<IIII', d, off)
    out.append(struct.pack('>IIII', *h) + d[off + 16:off + 16 + h[2]])
    off += 16 + h[2]
open(sys.argv[2], 'wb').write(b''.join(out))
PYEOF
head -c 4 "$TMP/c.ns.pcap" | od -An -tx1 | grep -q '4d 3c b2 a1' || fail "editcap wrote no nanosecond pcap"
for f in pcapng ns.pcap be.pcap; do
	replay f1 "$TMP/c.$f" || fail "$f: exited $?: $(cat "$TMP/f1.err")"
	same s1 f1 || fail "$f: other verdicts or log than the pcap"
done
cat "$TMP/c.pcap" | replay i1 - || fail "stdin: exited $?: $(cat "$TMP/i1.err")"
same s1 i1 || fail "stdin (pcap): other verdicts or log"
cat "$TMP/c.pcapng" | replay i2 --threads 2 - || fail "stdin pcapng: exited $?: $(cat "$TMP/i2.err")"
same s2 i2 sorted || fail "stdin (pcapng, --threads 2): other verdicts or log"
# a pipe named on the command line (a FIFO; <(...), a /dev/fd path) is opened
# once: opened twice, its writer could find no reader between and die of
# SIGPIPE, and the replay saw an empty or cut capture (1 run in 3 failed)
mkfifo "$TMP/in.fifo"
for i in 1 2 3 4 5 6 7 8; do
	cat "$TMP/c.pcap" >"$TMP/in.fifo" &
	WPID=$!
	# (the bug could also leave the replay waiting for a writer for ever)
	timeout 60 "$SCR" replay -c "$CF" --hash-key "$KEY" --verdicts "$TMP/p1.csv" \
		--log "$TMP/p1.log" "$TMP/in.fifo" >"$TMP/p1.out" 2>"$TMP/p1.err" ||
		fail "FIFO run $i: exited $?: $(cat "$TMP/p1.err")"
	wait $WPID || fail "FIFO run $i: its writer exited $?"
	WPID=
	same s1 p1 || fail "FIFO run $i: other verdicts or log than the file"
done
for i in 1 2; do
	replay p2 <(cat "$TMP/c.pcapng") || fail "<(pcapng) run $i: exited $?: $(cat "$TMP/p2.err")"
	same s1 p2 || fail "<(pcapng) run $i: other verdicts or log than the file"
done
ok "a FIFO (8 runs) and <(...) (2 runs): the same verdicts and log as the file"
# --loop from a pipe: no size to reserve the arena at, it grows as it fills
cat "$TMP/c.pcap" | replay i3 --loop 1 - || fail "stdin --loop 1: exited $?: $(cat "$TMP/i3.err")"
same s1 i3 || fail "stdin (pcap, --loop 1): other verdicts or log"
ok "pcapng, nanosecond, big-endian pcap and standard input (streaming and --loop): the same verdicts and log"

# 2b. libpcap is opened only for what our reader does not take: no start
# maps it (nor libmicrohttpd and GnuTLS), and with it gone a classic pcap
# replays as before while a pcapng is refused with the reason
needed=$(readelf -d "$SCR" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
[ -n "$needed" ] || fail "readelf -d $SCR: no NEEDED entries"
grep -qE 'libpcap|libmicrohttpd' <<<"$needed" && fail "smtpscreen links at start: $needed"
[ "$(id -u)" = 0 ] || fail "hiding libpcap needs root (a private mount namespace)"
lib=$(ldconfig -p | sed -n 's/^\s*libpcap\.so\.0\.8 (libc6,x86-64) => //p' | head -1)
[ -n "$lib" ] && lib=$(readlink -f "$lib")
[ -f "$lib" ] || fail "libpcap.so.0.8 not found by ldconfig"
# nolib NAME ARGS...: replay with libpcap's file hidden (/dev/null over it)
nolib() {
	local name=$1
	shift
	unshare -m --propagation private sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' \
		sh "$lib" timeout 300 "$SCR" replay -c "$CF" --hash-key "$KEY" \
		--verdicts "$TMP/$name.csv" --log "$TMP/$name.log" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
}
nolib n1 "$TMP/c.pcap" || fail "classic pcap without libpcap: exited $?: $(cat "$TMP/n1.err")"
same s1 n1 || fail "classic pcap without libpcap: other verdicts or log"
nolib n2 "$TMP/c.pcapng"
rc=$?
[ "$rc" = 1 ] || fail "pcapng without libpcap: exit $rc, want 1: $(cat "$TMP/n2.err")"
grep -q "c.pcapng: a capture other than classic pcap (pcapng, another link type) needs libpcap: " \
	"$TMP/n2.err" || fail "pcapng without libpcap: no reason given: $(cat "$TMP/n2.err")"
ok "no libpcap at start ($needed); without it a classic pcap replays the same, a pcapng is refused: $(grep -o 'needs libpcap.*' "$TMP/n2.err")"

# 3. two files merged by time
$PY - "$TMP/c.pcap" "$TMP/a.pcap" "$TMP/b.pcap" <<'PYEOF' || fail "split"
import struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
out = [[d[:24]], [d[:24]]]
off = 24
while off < len(d):
    n = struct.unpack_from('<I', d, off + 8)[0]
    p = d[off + 16:off + 16 + n]
    i, et = 12, p[12:14]
    while et in (b'\x81\x00', b'\x88\xa8'):
        i += 4
        et = p[i:i + 2]
    ip = p[i + 2:]
    pair = b''
    if et == b'\x08\x00' and len(ip) >= 20:
        pair = b''.join(sorted([ip[12:16], ip[16:20]]))
    elif et == b'\x86\xdd' and len(ip) >= 40:
        pair = b''.join(sorted([ip[8:24], ip[24:40]]))
    out[zlib.crc32(pair) & 1].append(d[off:off + 16 + n])
    off += 16 + n
for k in (0, 1):
    open(sys.argv[2 + k], 'wb').write(b''.join(out[k]))
PYEOF
replay ab "$TMP/a.pcap" "$TMP/b.pcap" || fail "two files: exited $?: $(cat "$TMP/ab.err")"
# packets of the two files with one time stamp come in file order, which
# can move a log line among the lines of its second, and a verdict row
# (written at the flow's end: flows that end together, e.g. at the end of
# input, come in flow table order): both sorted
same s1 ab sorted || fail "two files: other verdicts or log than the whole capture"
replay abm --loop 1 "$TMP/a.pcap" "$TMP/b.pcap" || fail "two files --loop 1: exited $?"
same ab abm || fail "two files: streaming and --loop 1 differ"
grep -q "^packets total=$(sed -n 's/^packets total=\([0-9]*\).*/\1/p' "$TMP/s1.out") " "$TMP/ab.out" \
	|| fail "two files: packet count differs from the whole"
ok "two files merged by time: the verdicts and log of the whole ($(rows ab) rows)"

# 4. cut files: inside a record's data, inside a record's header
read -r cut_data no_data cut_hdr no_hdr < <($PY - "$TMP/c.pcap" "$TMP" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, n, res = 24, 0, []
while off < len(d) and len(res) < 2:
    incl = struct.unpack_from('<I', d, off + 8)[0]
    n += 1
    if not res and off >= len(d) // 2 and incl > 40:
        res = [(off + 16 + incl // 2, n)]
        open(sys.argv[2] + '/head_data.pcap', 'wb').write(d[:off])
    elif res and len(res) == 1 and off >= len(d) * 3 // 4:
        res.append((off + 7, n))
        open(sys.argv[2] + '/head_hdr.pcap', 'wb').write(d[:off])
    off += 16 + incl
print(res[0][0], res[0][1], res[1][0], res[1][1])
PYEOF
)
[ -n "${no_hdr:-}" ] || fail "could not find records to cut"
for k in data hdr; do
	eval "cut=\$cut_$k no=\$no_$k"
	head -c "$cut" "$TMP/c.pcap" > "$TMP/cut_$k.pcap"
	replay cut_$k "$TMP/cut_$k.pcap"
	rc=$?
	[ $rc -eq 1 ] || fail "cut in the $k: exit $rc, want 1"
	grep -q "cut_$k.pcap: packet $no: truncated dump file" "$TMP/cut_$k.err" \
		|| fail "cut in the $k: no error naming packet $no: $(cat "$TMP/cut_$k.err")"
	grep -q "^packets total=$((no - 1)) " "$TMP/cut_$k.out" \
		|| fail "cut in the $k: summary lacks packets total=$((no - 1))"
	replay head_$k "$TMP/head_$k.pcap" || fail "the packets before the cut: exited $?"
	same cut_$k head_$k || fail "cut in the $k: other rows than for the packets before it"
	ok "cut in the $k: packet $no named, exit 1, the rows of the $((no - 1)) packets before it"
done

# 4b. packets cut by the capture's snapshot length are counted and named
editcap -F pcap -s 96 "$TMP/c.pcap" "$TMP/c.s96.pcap" || fail "editcap -s 96"
want=$($PY - "$TMP/c.s96.pcap" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, cut, n = 24, 0, 0
while off < len(d):
    _, _, cl, wl = struct.unpack_from('<IIII', d, off)
    n += 1
    cut += cl < wl
    off += 16 + cl
print(cut, n)
PYEOF
)
replay s96 "$TMP/c.s96.pcap" || fail "-s 96 capture: exited $?: $(cat "$TMP/s96.err")"
grep -q "replay: ${want% *} of ${want#* } packets were cut short by the capture's snapshot length" \
	"$TMP/s96.err" || fail "-s 96 capture: no count ($want): $(cat "$TMP/s96.err")"
! grep -q "cut short" "$TMP/s1.err" || fail "a whole capture said to be cut short"
ok "a capture cut at 96 bytes: ${want% *} of ${want#* } packets named cut short"

# 5. --verdicts - and a full disk
timeout 300 "$SCR" replay -c "$CF" --hash-key "$KEY" --verdicts - "$TMP/c.pcap" \
	>"$TMP/stdout.csv" 2>"$TMP/stdout.err" || fail "--verdicts -: exited $?"
cmp -s "$TMP/stdout.csv" "$TMP/s1.csv" || fail "--verdicts -: standard output is not the verdict CSV"
grep -q '^flows total=' "$TMP/stdout.err" || fail "--verdicts -: no summary on standard error"
[ ! -e ./- ] || fail "--verdicts - created a file named -"
ok "--verdicts -: the CSV on standard output, the summary on standard error"
timeout 300 "$SCR" replay -c "$CF" --verdicts /dev/full "$TMP/c.pcap" \
	>"$TMP/full.out" 2>"$TMP/full.err"
rc=$?
[ $rc -ne 0 ] || fail "--verdicts /dev/full: exit status 0"
grep -q '/dev/full: No space left on device' "$TMP/full.err" \
	|| fail "--verdicts /dev/full: no message: $(cat "$TMP/full.err")"
grep -q '^flows total=' "$TMP/full.out" || fail "--verdicts /dev/full: no summary"
ok "--verdicts /dev/full: exit $rc, the error named, the summary printed"

# 5b. an output that is a file the replay reads (or the other output) is
# refused before anything is written: the file stays as it was
cp "$TMP/c.pcap" "$TMP/keep.pcap"
cp "$CF" "$TMP/keep.cf"
cp "$SRC"/examples/*.cidr "$TMP/"
cp "$TMP/labels.csv" "$TMP/keep.csv"
ln -f "$TMP/keep.pcap" "$TMP/keep-link.pcap"
# clash NAME PATTERN COMMAND...: exit 2, the message, and every kept file unchanged
clash() {
	local name=$1 pattern=$2 f
	shift 2
	timeout 60 "$@" >"$TMP/clash.out" 2>"$TMP/clash.err"
	rc=$?
	[ $rc -eq 2 ] || fail "$name: exit $rc, not 2: $(cat "$TMP/clash.err")"
	grep -q -- "$pattern" "$TMP/clash.err" || fail "$name: no message '$pattern': $(cat "$TMP/clash.err")"
	cmp -s "$TMP/keep.pcap" "$TMP/c.pcap" || fail "$name: the capture was written over"
	cmp -s "$TMP/keep.cf" "$CF" || fail "$name: the config was written over"
	cmp -s "$TMP/keep.csv" "$TMP/labels.csv" || fail "$name: the labels were written over"
}
clash "--verdicts CAPTURE" "--verdicts $TMP/keep.pcap is the capture $TMP/keep.pcap: an output cannot be" \
	"$SCR" replay -c "$CF" --verdicts "$TMP/keep.pcap" "$TMP/keep.pcap"
clash "--log a hard link to the capture" "is the capture $TMP/keep.pcap" \
	"$SCR" replay -c "$CF" --log "$TMP/keep-link.pcap" "$TMP/keep.pcap"
clash "--log CAPTURE on standard input" "is the capture on standard input" \
	"$SCR" replay -c "$CF" --log "$TMP/keep.pcap" - <"$TMP/keep.pcap"
clash "--log - appended to the capture" "--log - (standard output) is the capture" \
	sh -c '"$1" replay -c "$2" --log - "$3" >>"$3"' sh "$SCR" "$CF" "$TMP/keep.pcap"
clash "--log CONFIG" "is the config $TMP/keep.cf" \
	"$SCR" replay -c "$TMP/keep.cf" --log "$TMP/keep.cf" "$TMP/c.pcap"
# every file of a -c list is one the replay reads
printf 'myhostname = second.example.test\n' >"$TMP/keep2.cf"
cp "$TMP/keep2.cf" "$TMP/keep2.orig"
clash "--log the second file of -c A:B" "is the config $TMP/keep2.cf" \
	"$SCR" replay -c "$TMP/keep.cf:$TMP/keep2.cf" --log "$TMP/keep2.cf" "$TMP/c.pcap"
cmp -s "$TMP/keep2.cf" "$TMP/keep2.orig" || fail "-c A:B: its second file was written over"
clash "--verdicts LABELS" "is the labels $TMP/keep.csv" \
	"$SCR" replay -c "$CF" --labels "$TMP/keep.csv" --verdicts "$TMP/keep.csv" "$TMP/c.pcap"
clash "--verdicts and --log one file" "are the same file" \
	"$SCR" replay -c "$CF" --verdicts "$TMP/one.out" --log "$TMP/./one.out" "$TMP/c.pcap"
cmp -s "$TMP/keep.pcap" "$TMP/c.pcap" && cmp -s "$TMP/keep.cf" "$CF" || fail "a kept file changed"
seq 100000 >"$TMP/old.csv"
timeout 300 "$SCR" replay -c "$CF" --hash-key "$KEY" --verdicts "$TMP/old.csv" "$TMP/c.pcap" \
	>/dev/null 2>&1 || fail "--verdicts over an old file: exited $?"
cmp -s "$TMP/old.csv" "$TMP/s1.csv" || fail "--verdicts over a longer old file: not emptied first"
ok "an output that is an input (capture, hard link, standard input, config, labels) or the other output: exit 2, nothing written over; an old output is emptied"

# 5c. a labels file that cannot be read or has no rows is an error, never an
# empty table; a flow labelled twice or a row too long is named by file:line
lab() {
	timeout 300 "$SCR" replay -c "$CF" --hash-key "$KEY" --labels "$1" "$TMP/c.pcap" \
		>"$TMP/lab.out" 2>"$TMP/lab.err"
}
: >"$TMP/lab-empty.csv"
head -1 "$TMP/labels.csv" >"$TMP/lab-head.csv"
lab "$TMP"
rc=$?
[ $rc -eq 2 ] || fail "--labels a directory: exit $rc, not 2"
grep -q "$TMP: Is a directory" "$TMP/lab.err" || fail "--labels a directory: $(cat "$TMP/lab.err")"
for l in "$TMP/lab-empty.csv" "$TMP/lab-head.csv"; do
	lab "$l" || fail "--labels $l: exit $?, not 0 (nothing labelled is no error)"
	grep -q "$l: no labels rows: no accuracy to report" "$TMP/lab.err" ||
		fail "--labels $l: no note: $(cat "$TMP/lab.err")"
	! grep -q '^accuracy ' "$TMP/lab.out" || fail "--labels $l: accuracy lines without labels"
done
lab "$TMP/labels.csv" || fail "--labels: exited $?"
classes=$(grep -c '^accuracy ' "$TMP/lab.out")
# from a pipe: read once (the two passes found nothing the second time)
cp "$TMP/lab.out" "$TMP/lab-file.out"
lab <(cat "$TMP/labels.csv") || fail "--labels <(...): exited $?: $(cat "$TMP/lab.err")"
cmp -s <(grep '^accuracy ' "$TMP/lab.out") <(grep '^accuracy ' "$TMP/lab-file.out") ||
	fail "--labels <(...): other accuracy than the file: $(grep -E '^accuracy|labels' "$TMP/lab.out" "$TMP/lab.err")"
{
	head -2 "$TMP/labels.csv"
	printf '198.18.0.1,1,%0600d,25,good\n' 1
	tail -n +3 "$TMP/labels.csv"
	sed -n 2p "$TMP/labels.csv" | sed 's/,[a-z_]*$/,helo/'
} >"$TMP/lab-bad.csv"
last=$(wc -l <"$TMP/lab-bad.csv")
lab "$TMP/lab-bad.csv"
rc=$?
[ $rc -eq 1 ] || fail "labels with a duplicate and a long row: exit $rc, not 1"
grep -q "lab-bad.csv:3: labels row longer than" "$TMP/lab.err" || fail "no long row named: $(cat "$TMP/lab.err")"
grep -q "lab-bad.csv:$last: this flow is labelled at line 2 already" "$TMP/lab.err" ||
	fail "no duplicate named: $(cat "$TMP/lab.err")"
[ "$(grep -c '^accuracy ' "$TMP/lab.out")" -eq "$classes" ] || fail "bad labels rows: the good rows not scored"
ok "labels: from a pipe as from the file; a directory exits 2, an empty file or a header alone is noted (nothing to score); a duplicate flow and a long row are named by line (exit 1), the rest scored"

# 6. memory does not grow with the capture
"$GEN" --seed 1516 --flows 100000 --noise 10 -o "$TMP/big.pcap" --labels "$TMP/big.csv" \
	2>"$TMP/gen.err" || fail "scr-gen (big): $(cat "$TMP/gen.err")"
rm -f "$TMP/big.csv"
small=$(/usr/bin/time -f %M "$SCR" replay -c "$CF" "$TMP/c.pcap" 2>&1 >/dev/null | tail -1)
big=$(/usr/bin/time -f %M timeout 300 "$SCR" replay -c "$CF" "$TMP/big.pcap" 2>&1 >"$TMP/big.out" | tail -1)
size=$(($(stat -c %s "$TMP/big.pcap") / 1024))
grep -q '^flows total=' "$TMP/big.out" || fail "big capture: no summary"
echo "peak RSS: $small KiB for $(($(stat -c %s "$TMP/c.pcap") / 1024)) KiB, $big KiB for $size KiB"
[ "$size" -gt 500000 ] || fail "big capture is only $size KiB"
[ "$big" -le $((small + 65536)) ] || fail "peak RSS grew from $small to $big KiB with the capture"
[ "$big" -le $((size / 3)) ] || fail "peak RSS $big KiB is over a third of the capture ($size KiB)"
ok "peak RSS flat: $big KiB for a $size KiB capture"

# 7. interrupted: SIGINT ends the input where the reading is. A script's
# background jobs start with SIGINT ignored, and replay keeps it so (as a
# shell's background job must): job control (set -m) starts them without.
set -m
head -c $(($(stat -c %s "$TMP/c.pcap") / 2)) "$TMP/c.pcap" >"$TMP/half.pcap"
mkfifo "$TMP/fifo"
(cat "$TMP/half.pcap"; exec sleep 120) >"$TMP/fifo" &
WPID=$!
"$SCR" replay -c "$CF" --hash-key "$KEY" --verdicts "$TMP/int.csv" --log "$TMP/int.log" \
	"$TMP/fifo" >"$TMP/int.out" 2>"$TMP/int.err" &
RPID=$!
# the writer's cat is done (it became sleep) when all but a pipe's worth is read
for i in $(seq 200); do
	[ "$(cat /proc/$WPID/comm 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
[ "$(cat /proc/$WPID/comm 2>/dev/null)" = sleep ] || fail "SIGINT: the replay did not read the FIFO"
sleep 1
kill -0 "$RPID" 2>/dev/null || fail "SIGINT: the replay ended before the signal: $(cat "$TMP/int.err")"
kill -INT "$RPID"
wait "$RPID"
rc=$?
RPID=
kill "$WPID"
wait "$WPID" 2>/dev/null
WPID=
[ $rc -eq 130 ] || fail "SIGINT: exit $rc, not 130: $(cat "$TMP/int.err")"
n=$(sed -nE 's/.*interrupted \(SIGINT\) after ([0-9]+) packets.*/\1/p' "$TMP/int.err")
[ -n "$n" ] && [ "$n" -gt 1000 ] || fail "SIGINT: no packet count: $(cat "$TMP/int.err")"
flows=$(sed -nE 's/^flows total=([0-9]+) .*/\1/p' "$TMP/int.out")
[ -n "$flows" ] && [ "$flows" -gt 0 ] || fail "SIGINT: no summary: $(cat "$TMP/int.out")"
rows=$(($(wc -l <"$TMP/int.csv") - 1))
[ "$rows" -eq "$flows" ] || fail "SIGINT: $rows verdict rows for $flows flows"
awk -F, 'NR > 1 && NF != 6 { bad = 1 } END { exit bad }' "$TMP/int.csv" || fail "SIGINT: a cut verdict row"
[ "$(tail -c 1 "$TMP/int.log" | od -An -c | tr -d ' ')" = '\n' ] || fail "SIGINT: the log ends in a cut line"
ok "SIGINT on a FIFO: exit 130 after $n packets, $flows flows in the summary and as many rows"
full=$(grep '^flows total=' "$TMP/m1.out")
for t in 1 2; do
	"$SCR" replay -c "$CF" --hash-key "$KEY" --threads $t --loop 1000000 "$TMP/c.pcap" \
		>"$TMP/il.out" 2>"$TMP/il.err" &
	RPID=$!
	sleep 2
	kill -INT "$RPID"
	wait "$RPID"
	rc=$?
	RPID=
	[ $rc -eq 130 ] || fail "SIGINT --loop, $t threads: exit $rc: $(cat "$TMP/il.err")"
	grep -q 'interrupted (SIGINT): the summary covers [0-9]* whole passes' "$TMP/il.err" ||
		fail "SIGINT --loop, $t threads: no message: $(cat "$TMP/il.err")"
	[ "$(grep '^flows total=' "$TMP/il.out")" = "$full" ] ||
		fail "SIGINT --loop, $t threads: per pass $(grep '^flows' "$TMP/il.out"), not $full"
	grep -Eq '^rate .* loops=[1-9][0-9]*$' "$TMP/il.out" || fail "SIGINT --loop: $(grep '^rate' "$TMP/il.out")"
done
ok "SIGINT during --loop (1 and 2 threads): exit 130, the summary of the whole passes made"
set +m
"$SCR" replay -c "$CF" --loop 1000000 "$TMP/c.pcap" >"$TMP/ig.out" 2>"$TMP/ig.err" &
RPID=$!
sleep 1
kill -INT "$RPID"
sleep 1
kill -0 "$RPID" 2>/dev/null || fail "a replay started with SIGINT ignored ended on SIGINT"
kill -TERM "$RPID"
wait "$RPID"
rc=$?
RPID=
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, not 143: $(cat "$TMP/ig.err")"
grep -q 'interrupted (SIGTERM)' "$TMP/ig.err" || fail "SIGTERM: no message: $(cat "$TMP/ig.err")"
ok "SIGINT ignored at start stays ignored (a background job); SIGTERM then ends it: exit 143"
echo "PASS"
