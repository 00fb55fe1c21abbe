#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   memcache_postscreen_test.sh - ctl_shared's memcache mode against a real Postfix
#                                 postscreen sharing one memcached
#
# DESCRIPTION
#   Server namespace rs_msrv$$ (veth rs_ms0, 198.18.90.1) runs a private Postfix with
#   postscreen (tests/data/postscreen templates: pregreet, pipelining, non-SMTP and
#   bare-newline tests on) and postscreen_cache_map = memcache:FILE with
#   memcache = inet:127.0.0.1:PORT and key_format = postscreen:%s (memcache_table(5);
#   postscreen_cache_cleanup_interval = 0, as POSTSCREEN_README asks for memcache), one
#   distinct TTL per test (greet 2d, pipelining 3d, non-SMTP 4d, bare newline 5d), no
#   DNSBL sites (that test is disabled: postscreen writes 1). memcached runs in the same
#   namespace on 127.0.0.1:PORT (a random port). Client namespace rs_mcli$$ (veth rs_mc0).
#   1. swaks from 198.18.90.10: postscreen's deep tests pass (PASS NEW, 450, the record
#      is written); ctl_shared (shared-bench get, memcache mode) reads that client's
#      record with each test's expiry = the time of the session + that test's TTL, and
#      DNSBL as never passed.
#   2. ctl_shared (shared-bench put) writes a pass for 198.18.90.11 with every test's
#      expiry a day ahead; swaks from that client: postscreen logs PASS OLD (no PASS NEW)
#      and the mail is accepted in that first session.
#   Nothing is timed; waits are bounded.
#
# CONTRACT
#   memcache_postscreen_test.sh BUILD_DIR   (root; BUILD_DIR/bench/shared-bench).
#   Exit 0 pass, 1 fail with the reason. Namespaces, Postfix and memcached (by PID) are
#   removed on exit; the temp dir is kept on failure (E2E_KEEP=1: also on success).
#
# THREADING
#   Plain bash.

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
E2E_LIB=$HERE/lib
# shellcheck source=lib/common.sh
. "$E2E_LIB/common.sh"
# shellcheck source=lib/netns.sh
. "$E2E_LIB/netns.sh"
# shellcheck source=lib/postfix.sh
. "$E2E_LIB/postfix.sh"

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$1
TOOL=${SHARED_BENCH:-$BUILD/bench/shared-bench}
SRV=rs_msrv$$
CLI=rs_mcli$$
IF_S=rs_ms0
IF_C=rs_mc0
SIP=198.18.90.1
C_PS=198.18.90.10	# passed by postscreen, read by ctl_shared
C_CS=198.18.90.11	# passed by ctl_shared, PASS OLD at postscreen
DAY=86400

e2e_init rs_memcache
e2e_require_root
e2e_require_cmd ip ss postfix postconf swaks memcached "$TOOL"
[ -x /usr/lib/postfix/sbin/postscreen ] || e2e_fail "Postfix postscreen not installed"
TMP=$E2E_TMP
PORT=$((20000 + RANDOM % 40000))
URL=memcache://127.0.0.1:$PORT

ns_create "$SRV"
ns_create "$CLI"
ns_veth "$SRV" "$IF_S" "$CLI" "$IF_C"
ns_addr "$SRV" "$IF_S" "$SIP/24"
ns_addr "$CLI" "$IF_C" "$C_PS/24" "$C_CS/24"

# memcached in the server namespace (its loopback), killed by PID.
ns_exec "$SRV" memcached -l 127.0.0.1 -p "$PORT" -U 0 -u nobody >"$TMP/memcached.log" 2>&1 &
MPID=$!
e2e_cleanup_push "e2e_kill_pid $MPID 5"
ns_wait_listen "$SRV" 127.0.0.1 "$PORT" 10 || e2e_fail "memcached does not listen on $PORT"

# postscreen with its cache in that memcached.
T=$TMP/tmpl
mkdir -p "$T" && cp "$TOP"/tests/data/postscreen/*.in "$T/" || e2e_fail "copy templates"
cat >>"$T/main.cf.in" <<'EOF'
# The cache shared through memcache (memcache_table(5), POSTSCREEN_README).
postscreen_cache_map = memcache:@DIR@/etc/psc_memcache.cf
postscreen_cache_cleanup_interval = 0
postscreen_greet_ttl = 2d
postscreen_pipelining_ttl = 3d
postscreen_non_smtp_command_ttl = 4d
postscreen_bare_newline_ttl = 5d
EOF
printf '%s\n' "memcache = inet:127.0.0.1:@MCPORT@" "key_format = postscreen:%s" \
	>"$T/psc_memcache.cf.in"
PS=$TMP/ps
pf_instance_create "$PS" "$T" SERVER_IP=$SIP MYHOSTNAME=mx.example.test \
	MYDOMAIN=example.test REJECT_IP=198.18.90.30 PERMIT_IP=198.18.90.31 MCPORT=$PORT
ns_exec "$SRV" postconf -c "$PS/etc" -m | grep -qx memcache ||
	e2e_fail "this Postfix has no memcache: table type"
pf_start "$SRV" "$PS"
ns_wait_listen "$SRV" "$SIP" 25 10 || e2e_fail "postscreen does not listen on $SIP:25"
LOG=$(pf_maillog "$PS")

# swaks_from ADDR N - one mail from ADDR; log in $TMP/swaks.ADDR.N
swaks_from() {
	ns_exec "$CLI" swaks --server "$SIP" --from a@example.org --to u@example.test \
		--helo client.example --local-interface "$1" --timeout 20 \
		>"$TMP/swaks.$1.$2" 2>&1
}

# --- 1. postscreen writes, ctl_shared reads --------------------------------------------
t0=$(date +%s)
swaks_from "$C_PS" 1
t1=$(date +%s)
pf_wait_log "$PS" "postscreen\[[0-9]+\]: PASS NEW \[$C_PS\]" 15 ||
	e2e_fail "postscreen did not pass $C_PS: $(tail -n 20 "$LOG")"
rec=""
e2e_wait_for 10 eval 'rec=$(ns_exec "$SRV" "$TOOL" get "$URL" "$C_PS")' ||
	e2e_fail "ctl_shared does not find postscreen's record for $C_PS: $rec" \
		"$(grep -E 'memcache|warning|error' "$LOG" | tail -n 5)"
e2e_log "postscreen's record read by ctl_shared: $rec"
# field NAME - one time of the record
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$rec"; }
check_ttl() {
	local name=$1 ttl=$2 v
	v=$(field "$name")
	[ -n "$v" ] && [ "$v" -ge $((t0 + ttl)) ] && [ "$v" -le $((t1 + ttl)) ] ||
		e2e_fail "$name: expiry '$v', want $((t0 + ttl))..$((t1 + ttl)) ($rec)"
}
check_ttl pregreet $((2 * DAY))
check_ttl pipelining $((3 * DAY))
check_ttl non_smtp_command $((4 * DAY))
check_ttl bare_newline $((5 * DAY))
[ "$(field dnsbl)" = 0 ] || e2e_fail "dnsbl: want 0 (disabled: postscreen wrote 1): $rec"
[ "$(field helo)" = 0 ] || e2e_fail "helo: not in postscreen's record: $rec"

# --- 2. ctl_shared writes, postscreen says PASS OLD --------------------------------------
now=$(date +%s)
ns_exec "$SRV" "$TOOL" put "$URL" "$C_CS" pregreet=$((now + DAY)) \
	pipelining=$((now + DAY)) non_smtp_command=$((now + DAY)) \
	bare_newline=$((now + DAY)) helo=$((now + DAY)) ||
	e2e_fail "ctl_shared put to $URL failed"
swaks_from "$C_CS" 1
rc=$?
pf_wait_log "$PS" "postscreen\[[0-9]+\]: PASS OLD \[$C_CS\]" 15 ||
	e2e_fail "no PASS OLD for $C_CS: $(grep -F "$C_CS" "$LOG" | tail -n 10)"
! grep -qE "postscreen\[[0-9]+\]: PASS NEW \[$C_CS\]" "$LOG" ||
	e2e_fail "postscreen tested $C_CS again (PASS NEW)"
[ $rc -eq 0 ] && grep -q 'queued as' "$TMP/swaks.$C_CS.1" ||
	e2e_fail "the mail of $C_CS was not accepted in its first session: $(tail -n 5 "$TMP/swaks.$C_CS.1")"
grep -E "postscreen\[[0-9]+\]: PASS (NEW|OLD)" "$LOG" >&2
e2e_log "PASS"
exit 0
