#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	inline_pcap_test - the same pcap through `smtpscreen inline` (net_pcap
#	ports) and through `smtpscreen replay` gives the same verdicts
# DESCRIPTION
#	scr-gen writes a labeled mix (every class, noise, IPv6, VLANs). Port 0
#	of the appliance is net_pcap reading that file (in order, one queue),
#	port 1 is net_pcap writing what was forwarded. With the greeting hold
#	off (recorded traffic: smtpscreen_greet_hold = no) and one worker,
#	the live dataplane must give every flow the verdict and reasons that
#	replay gives; it must forward every frame that is not of a stopped
#	session (count check: rx = forwarded + dropped + stopped + held-freed)
#	and send RSTs for the stopped ones; SIGTERM must end it cleanly
#	(exit 0, summary printed, flows in flight given their verdicts).
#	Also with 2 workers (software dispatch): the same verdicts.
# USAGE
#	inline_pcap_test.sh BUILD_DIR    (root: DPDK vdevs) exit 0 pass, 1 fail
E2E_NAME=inline_pcap_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/dpdk.sh"
BUILD=${1:?usage: $0 BUILD_DIR}
SRC=${SRCDIR:-$(cd "$HERE/../.." && pwd)}
GEN=$BUILD/bench/scr-gen
SCR=$BUILD/dataplane/smtpscreen
e2e_init inlpcap
e2e_require_root
e2e_require_cmd "$GEN" "$SCR" tshark
TMP=$E2E_TMP

"$GEN" --seed 7 --flows 1500 --noise 20 --v6 20 --vlan 10 -o "$TMP/mix.pcap" \
	--labels "$TMP/labels.csv" 2>"$TMP/gen.err" || e2e_fail "scr-gen: $(cat "$TMP/gen.err")"
PKTS=$(tshark -r "$TMP/mix.pcap" -T fields -e frame.number 2>/dev/null | tail -1)
[ "${PKTS:-0}" -gt 1000 ] || e2e_fail "generated capture has ${PKTS:-no} packets"
# An empty capture for port 1's receive side.
/usr/bin/python3 - "$TMP/empty.pcap" <<'PYEOF'
import struct, sys
open(sys.argv[1], 'wb').write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
PYEOF
find "$SRC/examples" -maxdepth 1 -type f -exec cp {} "$TMP/" \;
echo "smtpscreen_greet_hold = no" >> "$TMP/main.cf"

"$SCR" replay -c "$TMP/main.cf" --verdicts "$TMP/replay.csv" "$TMP/mix.pcap" \
	>"$TMP/replay.out" 2>&1 || e2e_fail "replay: $(cat "$TMP/replay.out")"

# run_inline WORKERS TAG [PCAP FRAMES]: the appliance over the capture (mix.pcap)
# until all of it is in
run_inline() {
	local w=$1 tag=$2 cap=${3:-$TMP/mix.pcap} pkts=${4:-$PKTS} pid rx i
	# one queue per worker on each port (each worker transmits on its
	# own); port 0's second queue reads nothing, so order is the file's
	local p0="rx_pcap=$cap" p1="rx_pcap=$TMP/empty.pcap,tx_pcap=$TMP/$tag-out.pcap"
	local lc="0@0,1@1"
	if [ "$w" = 2 ]; then
		p0="$p0,rx_pcap=$TMP/empty.pcap"
		p1="$p1,rx_pcap=$TMP/empty.pcap,tx_pcap=$TMP/$tag-out2.pcap"
		lc="0@0,1@1,2@0"
	fi
	# a verdict store of its own: every run starts with no verdicts
	{ cat "$TMP/main.cf"; echo "smtpscreen_cache_file = $TMP/$tag.lmdb"; } >"$TMP/$tag.cf"
	# DPDK's runtime files (6 MB in /run per prefix) go with the test
	e2e_cleanup_push "dk_runtime_cleanup 'inlpcap$$$tag'"
	"$SCR" inline -c "$TMP/$tag.cf" --workers "$w" --verdicts "$TMP/$tag.csv" \
		--log "$TMP/$tag.log" --stats-interval 1 -s "$TMP/$tag.sock" -- \
		--lcores "$lc" --no-huge -m 512 --no-pci --file-prefix "inlpcap$$$tag" \
		--log-level=lib.eal:error --vdev "net_pcap0,$p0" --vdev "net_pcap1,$p1" \
		>"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	pid=$!
	e2e_cleanup_push "e2e_kill_pid $pid"
	e2e_wait_for 30 grep -q "inline: ready" "$TMP/$tag.err" ||
		e2e_fail "$tag: not ready: $(cat "$TMP/$tag.err")"
	for i in $(seq 1 60); do
		rx=$(sed -n 's/^interval .* rx=\([0-9]*\) .*/\1/p' "$TMP/$tag.out" | tail -1)
		[ "${rx:-0}" -ge "$pkts" ] && break
		e2e_alive "$pid" || e2e_fail "$tag: exited early: $(cat "$TMP/$tag.err")"
		sleep 1
	done
	[ "${rx:-0}" -eq "$pkts" ] || e2e_fail "$tag: received ${rx:-0} of $pkts frames"
	kill -TERM "$pid"
	wait "$pid" || e2e_fail "$tag: exit status $? after SIGTERM: $(cat "$TMP/$tag.err")"
	grep -q "^smtpscreen inline summary" "$TMP/$tag.out" || e2e_fail "$tag: no summary"
}

# the verdict CSV is emptied at start and the log written to: neither may be a
# configuration file, nor the CSV the log
cp "$TMP/main.cf" "$TMP/keep.cf"
e2e_cleanup_push "dk_runtime_cleanup 'inlpcap$$clash'"
for v in "$TMP/main.cf:$TMP/clash.log:--verdicts $TMP/main.cf is the configuration file" \
	 "$TMP/clash.log:$TMP/clash.log:--verdicts $TMP/clash.log is the log" \
	 "$TMP/clash.csv:$TMP/main.cf:the log file $TMP/main.cf is the configuration file"; do
	: >"$TMP/clash.log"
	set -- "${v%%:*}" "$(echo "$v" | cut -d: -f2)" "${v#*:*:}"
	timeout 60 "$SCR" inline -c "$TMP/main.cf" --workers 1 --verdicts "$1" \
		--log "$2" -s "$TMP/clash.sock" -- --lcores 0@0,1@1 --no-huge -m 512 \
		--no-pci --file-prefix "inlpcap$$clash" --log-level=lib.eal:error \
		--vdev "net_pcap0,rx_pcap=$TMP/empty.pcap" \
		--vdev "net_pcap1,rx_pcap=$TMP/empty.pcap,tx_pcap=$TMP/clash-out.pcap" \
		>"$TMP/clash.out" 2>"$TMP/clash.err"
	rc=$?
	[ $rc -ne 0 ] || e2e_fail "$3: the appliance started"
	grep -q -- "$3 " "$TMP/clash.err" || e2e_fail "no '$3': $(tail -3 "$TMP/clash.err")"
	cmp -s "$TMP/main.cf" "$TMP/keep.cf" || e2e_fail "$3: the configuration was written to"
done
e2e_log "ok: --verdicts naming the configuration file or the log, --log naming the configuration file: refused, nothing written"

# same_verdicts TAG: every replay row, and no other, in the live CSV
same_verdicts() {
	local tag=$1
	head -1 "$TMP/$tag.csv" | grep -qx 'client,client_port,server,server_port,verdict,reasons' ||
		e2e_fail "$tag: verdict CSV header"
	tail -n +2 "$TMP/replay.csv" | sort > "$TMP/r.sorted"
	tail -n +2 "$TMP/$tag.csv" | sort > "$TMP/l.sorted"
	[ "$(wc -l < "$TMP/r.sorted")" -gt 1000 ] || e2e_fail "replay gave too few rows"
	if ! diff "$TMP/r.sorted" "$TMP/l.sorted" > "$TMP/$tag.diff"; then
		head -20 "$TMP/$tag.diff"
		e2e_fail "$tag: live verdicts differ from replay's ($(grep -c '^[<>]' "$TMP/$tag.diff") rows)"
	fi
}

# kv FILE KEY: the value of "KEY VALUE" in the summary
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

run_inline 1 w1
same_verdicts w1
fwd=$(kv "$TMP/w1.out" forwarded)
drop=$(kv "$TMP/w1.out" dropped)
stopped=$(kv "$TMP/w1.out" stopped)
freed=$(kv "$TMP/w1.out" hold_freed)
crafted=$(kv "$TMP/w1.out" crafted)
[ $((fwd + drop + stopped + freed)) -eq "$PKTS" ] ||
	e2e_fail "w1: frames not accounted for: $PKTS in, forwarded $fwd dropped $drop stopped $stopped freed $freed"
[ "$stopped" -gt 0 ] || e2e_fail "w1: no session stopped"
out=$(tshark -r "$TMP/w1-out.pcap" -T fields -e frame.number 2>/dev/null | tail -1)
# port 1 gets the forwarded frames and the RSTs towards the servers
[ "${out:-0}" -ge "$fwd" ] || e2e_fail "w1: port 1 wrote ${out:-0} frames, $fwd forwarded"
rst=$(tshark -r "$TMP/w1-out.pcap" -Y 'tcp.flags.reset == 1 && tcp.dstport == 25' -T fields -e frame.number 2>/dev/null | wc -l)
[ "$rst" -gt 0 ] || e2e_fail "w1: no RST towards a server on port 1"
[ "$crafted" -gt 0 ] || e2e_fail "w1: no RST crafted"
grep -q "PREGREET .* from \[" "$TMP/w1.log" || e2e_fail "w1: no PREGREET line in the log"
e2e_log "1 worker: $(($(wc -l < "$TMP/w1.csv") - 1)) flows, verdicts equal to replay; $PKTS frames: forwarded $fwd, stopped $stopped, dropped $drop; $rst RSTs to servers"

run_inline 2 w2
same_verdicts w2
e2e_log "2 workers (software dispatch): verdicts equal to replay"

# Every connection of a client reaches one worker: 60 concurrent sessions from one
# address, 2 workers, postscreen_client_connection_count_limit = 50 (the default):
# exactly the last 10 SYNs are over it (dispatch by ports would split the 60 and
# reject none).
/usr/bin/python3 "$SRC/tests/e2e/lib/one_client_pcap.py" "$TMP/one.pcap" ||
	e2e_fail "one_client_pcap.py"
run_inline 2 one "$TMP/one.pcap" 480
got=$(grep -oE 'NOQUEUE: reject: CONNECT from \[198\.19\.241\.7\]:[0-9]+: too many connections$' \
	"$TMP/one.log" | sed 's/.*\]:\([0-9]*\):.*/\1/' | sort -n | tr '\n' ' ')
[ "$got" = "$(seq 40050 40059 | tr '\n' ' ')" ] ||
	e2e_fail "one client, 2 workers: 'too many connections' for ports [$got], expected 40050-40059"
[ "$(kv "$TMP/one.out" client_limit)" = 10 ] ||
	e2e_fail "one client, 2 workers: client_limit=$(kv "$TMP/one.out" client_limit), expected 10"
e2e_log "one client, 2 workers: its 60 connections on one worker, the last 10 over the limit of 50"
e2e_log "PASS"
