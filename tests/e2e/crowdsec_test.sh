#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   crowdsec_test.sh - Debian's CrowdSec parses smtpscreen's lines and its decisions
#   reach smtpscreen's XDP block map through examples/crowdsec/smtpscreen-bouncer
#
# DESCRIPTION
#   crowdsec (agent and local API on 127.0.0.1) runs in the foreground with a config
#   directory of its own under the test's temp dir: Debian's syslog and date parsers
#   from the offline hub, examples/crowdsec's parser and scenario, the acquisition of
#   the daemon's log file, no central API. Namespace cs_srv (198.18.77.1) runs a
#   Postfix sink and `smtpscreen host` with postscreen_greet_action = ignore (it logs
#   a pregreet but neither stops nor blocks: any block is CrowdSec's); the bouncer
#   polls the decision stream every 0.5 s. Checks:
#   1. `cscli explain` on each failure line smtpscreen writes: parser success through
#      smtpscreen/smtpscreen-logs and the scenario; PASS/CONNECT lines: no success;
#   2. three pregreets from .11 -> the scenario's decision -> the bouncer's block add:
#      `smtpscreenctl block list` has .11, its SYN is dropped in XDP;
#   3. `cscli decisions add -i .12 -d 1h` -> block with TTL ~3600 s, SYN dropped;
#      `cscli decisions delete -i .12` -> block del, .12 connects again.
#
# CONTRACT
#   crowdsec_test.sh BUILD_DIR (root); SRCDIR = source tree. Exit 0 pass, 1 fail.
#   Cleans up namespaces, pins, processes.
#
# THREADING
#   Plain bash.
E2E_NAME=crowdsec_test
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/common.sh"
. "$HERE/lib/netns.sh"
. "$HERE/lib/postfix.sh"
. "$HERE/lib/banhost.sh"

BUILD=${1:?usage: crowdsec_test.sh BUILD_DIR}
SRC=${SRCDIR:-$HERE/../..}
SCR=${SMTPSCREEN:-$BUILD/dataplane/smtpscreen}
CTL=${SMTPSCREENCTL:-$BUILD/ctrl/smtpscreenctl}
PY=/usr/bin/python3
NET=198.18.77 SIP=198.18.77.1
PIN=/sys/fs/bpf/cs$$
HUB=/var/lib/crowdsec/hub
PORT=$((30000 + $$ % 20000))

e2e_init crowdsec
e2e_require_root
e2e_require_cmd postfix nsenter ss crowdsec cscli curl "$SCR" "$CTL" "$PY"
for f in parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
	parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml; do
	[ -r "$HUB/$f" ] || e2e_fail "crowdsec's offline hub lacks $HUB/$f (package crowdsec configured?)"
done
mountpoint -q /sys/fs/bpf || e2e_fail "/sys/fs/bpf is not a bpffs mount"
TMP=$E2E_TMP
e2e_cleanup_push "rm -rf '$PIN'"

# --- the daemon: host mode, pregreets logged but not stopped ---------------------------
bh_start cs "$NET"
LOG=$BH_LOG SOCK=$BH_SOCK

# --- crowdsec: own config, local API on 127.0.0.1:PORT, no central API -----------------
CS=$TMP/cs
mkdir -p "$CS/data" "$CS/parsers/s00-raw" "$CS/parsers/s01-parse" "$CS/parsers/s02-enrich" \
	"$CS/scenarios" || e2e_fail "mkdir $CS"
cp -r /etc/crowdsec/patterns /etc/crowdsec/profiles.yaml /etc/crowdsec/simulation.yaml "$CS/" ||
	e2e_fail "Debian's /etc/crowdsec is incomplete"
ln -s "$HUB/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$CS/parsers/s00-raw/"
ln -s "$HUB/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" "$CS/parsers/s02-enrich/"
cp "$SRC/examples/crowdsec/smtpscreen-logs.yaml" "$CS/parsers/s01-parse/" &&
	cp "$SRC/examples/crowdsec/smtpscreen-bf.yaml" "$CS/scenarios/" ||
	e2e_fail "cannot install examples/crowdsec"
printf 'filenames:\n  - %s\nlabels:\n  type: syslog\n' "$LOG" >"$CS/acquis.yaml"
cat >"$CS/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: $CS
config_paths:
  config_dir: $CS/
  data_dir: $CS/data/
  simulation_path: $CS/simulation.yaml
  hub_dir: $HUB/
  index_path: $HUB/.index.json
  notification_dir: $CS/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $CS/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: false
db_config:
  log_level: info
  type: sqlite
  use_wal: false
  db_path: $CS/data/crowdsec.db
api:
  client:
    credentials_path: $CS/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $CS/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
cs() { cscli -c "$CS/config.yaml" "$@"; }
cs machines add smtpscreen-test --auto -f "$CS/local_api_credentials.yaml" \
	--url "http://127.0.0.1:$PORT" >"$TMP/machine.out" 2>&1 ||
	e2e_fail "cscli machines add: $(cat "$TMP/machine.out")"
cs bouncers add smtpscreen-test -o raw >"$TMP/bouncer.key" 2>"$TMP/bouncer.err" ||
	e2e_fail "cscli bouncers add: $(cat "$TMP/bouncer.err")"
crowdsec -c "$CS/config.yaml" >"$TMP/crowdsec.log" 2>&1 &
CSPID=$!
e2e_cleanup_push "e2e_kill_pid $CSPID 10"
e2e_wait_for 60 eval "curl -s -o /dev/null -H 'X-Api-Key: $(cat "$TMP/bouncer.key")' http://127.0.0.1:$PORT/v1/decisions" ||
	e2e_fail "crowdsec's local API does not answer: $(tail -20 "$TMP/crowdsec.log")"
e2e_wait_for 30 grep -q "Starting processing data" "$TMP/crowdsec.log" ||
	e2e_fail "crowdsec does not read its acquisition: $(tail -20 "$TMP/crowdsec.log")"

# --- 1. cscli explain on each line smtpscreen writes -----------------------------------
d=$(date '+%b %e %H:%M:%S')
fails=("PREGREET 11 after 0.01 from [$NET.31]:40001: EHLO x\\r\\n"
	"BARE NEWLINE from [$NET.32]:40002 after EHLO x"
	"COMMAND PIPELINING from [$NET.33]:40003 after EHLO: MAIL FROM:<a@b>\\r\\n"
	"NON-SMTP COMMAND from [$NET.34]:40004 after CONNECT: GET / HTTP/1.0"
	"HELO VIOLATION from [$NET.35]:40005 after EHLO: localhost"
	"COMMAND TIME LIMIT from [$NET.36]:40006 after DATA"
	"DNSBL rank 3 for [$NET.37]:40007"
	"NOQUEUE: reject: CONNECT from [$NET.38]:40008: too many connections")
others=("CONNECT from [$NET.39]:40009 to [$SIP]:25" "PASS NEW [$NET.39]:40009")
for l in "${fails[@]}" "${others[@]}"; do
	echo "$d mx postfix/smtpscreen[7]: $l"
done >"$TMP/lines.log"
cs explain --file "$TMP/lines.log" --type syslog >"$TMP/explain.out" 2>"$TMP/explain.err" ||
	e2e_fail "cscli explain: $(tail -5 "$TMP/explain.err")"
"$PY" - "$TMP/explain.out" "${#fails[@]}" "${#others[@]}" <<'PYEOF' || e2e_fail "cscli explain: $(cat "$TMP/explain.out")"
import re, sys
text = open(sys.argv[1], encoding='utf-8').read()
nfail, nother = int(sys.argv[2]), int(sys.argv[3])
blocks = re.split(r'^line: ', text, flags=re.M)[1:]
if len(blocks) != nfail + nother:
    sys.exit(f'{len(blocks)} lines explained, want {nfail + nother}')
# explain may reorder the lines: a failure line names a client .31 .. .38
seen = set()
for b in blocks:
    line = b.splitlines()[0]
    ip = re.search(r'\[(\d+\.\d+\.\d+\.(\d+))\]:400', line)
    if not ip:
        sys.exit(f'unexpected line: {line}')
    want = 31 <= int(ip.group(2)) <= 30 + nfail
    ok = '🟢 smtpscreen/smtpscreen-logs' in b and 'parser success' in b and \
        '🟢 smtpscreen/smtpscreen-bf' in b
    if ok != want:
        sys.exit(f'parsed={ok}, want {want}: {line}')
    seen.add(line)
if len(seen) != nfail + nother:
    sys.exit(f'{len(seen)} distinct lines explained, want {nfail + nother}')
PYEOF
e2e_log "cscli explain: the ${#fails[@]} failure lines parse and feed smtpscreen/smtpscreen-bf; PASS/CONNECT do not"

# --- the bouncer --------------------------------------------------------------------------
"$PY" "$SRC/examples/crowdsec/smtpscreen-bouncer" --api-url "http://127.0.0.1:$PORT/" \
	--api-key-file "$TMP/bouncer.key" --socket "$SOCK" --smtpscreenctl "$CTL" \
	--interval 0.5 >"$TMP/bouncer.out" 2>"$TMP/bouncer.log" &
BPID=$!
e2e_cleanup_push "e2e_kill_pid $BPID 5"

# --- 2. three pregreets: the scenario's decision reaches XDP ---------------------------
bh_syn 10 || e2e_fail ".10 cannot connect before any decision"
for i in 1 2 3; do
	bh_pregreet 11
	# one failure is no decision (capacity 2), and the daemon blocks nobody itself
	[ "$i" = 1 ] && bh_blocked 11 && e2e_fail ".11 blocked after one pregreet (greet action ignore)"
done
n=$(grep -c "PREGREET .* from \[$NET.11\]" "$LOG")
[ "$n" -ge 3 ] || e2e_fail "daemon logged $n pregreets of .11: $(tail -5 "$LOG")"
e2e_wait_for 30 eval "cs decisions list -o json 2>/dev/null | grep -q '\"$NET.11\"'" ||
	e2e_fail "no CrowdSec decision for .11: $(cs alerts list 2>&1 | tail -5) $(tail -10 "$TMP/crowdsec.log")"
e2e_wait_for 10 bh_blocked 11 ||
	e2e_fail "decision for .11 did not reach the block map: $(cat "$TMP/bouncer.out" "$TMP/bouncer.log")"
cs decisions list -o json | grep -q 'smtpscreen/smtpscreen-bf' || e2e_fail "the decision is not the scenario's"
d0=$(bh_drops)
bh_syn 11 && e2e_fail ".11 still connects after its decision"
[ "$(bh_drops)" -gt "$d0" ] || e2e_fail "no XDP drop_block for .11's SYN"
bh_syn 10 || e2e_fail ".10 cannot connect after .11's ban"
e2e_log "scenario: 3 pregreets -> decision -> bouncer -> XDP drops .11"

# --- 3. a decision by hand, then deleted ------------------------------------------------
cs decisions add -i "$NET.12" -d 1h -R "smtpscreen test" >"$TMP/add.out" 2>&1 ||
	e2e_fail "cscli decisions add: $(cat "$TMP/add.out")"
e2e_wait_for 10 bh_blocked 12 || e2e_fail "cscli decision for .12 did not reach the map: $(cat "$TMP/bouncer.log")"
ttl=$(bh_ttl 12)
[ "${ttl:-0}" -gt 3500 ] && [ "$ttl" -le 3600 ] || e2e_fail "block TTL '$ttl', want the decision's 3600 s"
bh_syn 12 && e2e_fail ".12 still connects after its decision"
cs decisions delete -i "$NET.12" >"$TMP/del.out" 2>&1 || e2e_fail "cscli decisions delete: $(cat "$TMP/del.out")"
e2e_wait_for 10 eval '! bh_blocked 12' || e2e_fail "deleted decision left the block: $("$CTL" -s "$SOCK" block list)"
bh_syn 12 || e2e_fail ".12 cannot connect after the decision was deleted"
[ -s "$TMP/bouncer.log" ] && e2e_fail "bouncer errors: $(cat "$TMP/bouncer.log")"
e2e_log "cscli decisions add/delete -> block add (ttl $ttl s)/del"
