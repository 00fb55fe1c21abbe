# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   common.sh - shared helpers for the e2e shell tests: messages, cleanup stack, temp dir
#
# DESCRIPTION
#   Source it first (`. "$E2E_LIB/common.sh"`); netns.sh, postfix.sh and capture.sh
#   build on it. Provides: e2e_log/e2e_fail, prerequisite checks that fail (never skip)
#   with the reason, a LIFO cleanup stack run from one EXIT/INT/TERM trap, a per-test
#   temp dir that is removed on success and kept (path printed) on failure, polling,
#   and kill-by-PID.
#
# CONTRACT
#   e2e_init NAME          set up the trap and E2E_TMP (a 0755 temp dir); NAME tags messages
#   e2e_log MSG...         message to stderr
#   e2e_fail MSG...        print "FAIL: MSG" and exit 1 (the trap cleans up)
#   e2e_require_root       fail unless uid 0
#   e2e_require_cmd CMD... fail unless every CMD is on PATH (or an executable path)
#   e2e_cleanup_push CMD   run CMD (a string, eval'd) at exit, last pushed first
#   e2e_wait_for SECS CMD... poll CMD every 0.1 s until it succeeds; 1 on timeout
#   e2e_alive PID          true if PID runs (a zombie counts as gone)
#   e2e_kill_pid PID [SECS] SIGTERM, wait up to SECS (default 5), then SIGKILL
#   e2e_render TEMPLATE OUT KEY=VALUE...  copy TEMPLATE to OUT replacing @KEY@ by VALUE
#   E2E_KEEP=1 in the environment keeps the temp dir also on success.
#
# THREADING
#   Plain bash; one test script per shell. Not for `set -e` scripts (the helpers
#   return status codes that callers check).

E2E_NAME=${E2E_NAME:-e2e}
E2E_TMP=${E2E_TMP:-}
E2E_FAILED=0
E2E_CLEANUP=()

# e2e_log - message to stderr, tagged with the test name
e2e_log() {
	printf '%s: %s\n' "$E2E_NAME" "$*" >&2
}

# e2e_fail - report a failure with its reason and exit non-zero
e2e_fail() {
	E2E_FAILED=1
	printf '%s: FAIL: %s\n' "$E2E_NAME" "$*" >&2
	exit 1
}

# e2e_cleanup_push - remember a command to run at exit (LIFO)
e2e_cleanup_push() {
	E2E_CLEANUP+=("$1")
}

# e2e_cleanup_run - run the cleanup stack once, newest first; keep or remove E2E_TMP
e2e_cleanup_run() {
	local rc=$? i
	trap - EXIT INT TERM
	[ "$rc" -ne 0 ] && E2E_FAILED=1
	for ((i = ${#E2E_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${E2E_CLEANUP[$i]}" || e2e_log "cleanup step failed: ${E2E_CLEANUP[$i]}"
	done
	E2E_CLEANUP=()
	if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
		if [ "$E2E_FAILED" -ne 0 ] || [ -n "${E2E_KEEP:-}" ]; then
			e2e_log "kept test files in $E2E_TMP"
		else
			rm -rf -- "$E2E_TMP"
		fi
	fi
	exit "$rc"
}

# e2e_init - set the test name, the cleanup trap and the temp dir
e2e_init() {
	E2E_NAME=$1
	trap e2e_cleanup_run EXIT
	trap 'E2E_FAILED=1; e2e_log "interrupted"; exit 130' INT TERM
	E2E_TMP=$(mktemp -d "/tmp/${E2E_NAME}.XXXXXX") || e2e_fail "cannot create a temp dir"
	chmod 0755 "$E2E_TMP" || e2e_fail "chmod $E2E_TMP"
}

# e2e_require_root - the netns tests need CAP_NET_ADMIN and to start daemons
e2e_require_root() {
	[ "$(id -u)" -eq 0 ] || e2e_fail "must run as root (network namespaces, Postfix, tcpdump)"
}

# e2e_require_cmd - every named command must exist
e2e_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || e2e_fail "required command not found: $c"
	done
}

# e2e_wait_for - poll a command until it succeeds or SECS pass
e2e_wait_for() {
	local secs=$1 n
	shift
	for ((n = 0; n < secs * 10; n++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# e2e_alive - the process exists and is not a zombie waiting for its parent
e2e_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

# e2e_kill_pid - stop one process we started, by PID: TERM, then KILL
e2e_kill_pid() {
	local pid=$1 secs=${2:-5} n
	[ -n "$pid" ] || return 0
	e2e_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((n = 0; n < secs * 10; n++)); do
		e2e_alive "$pid" || return 0
		sleep 0.1
	done
	e2e_log "pid $pid ($(ps -o comm= -p "$pid")) did not stop on SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# e2e_render - instantiate a template: each KEY=VALUE replaces @KEY@
e2e_render() {
	local tmpl=$1 out=$2 kv key val text
	shift 2
	[ -r "$tmpl" ] || e2e_fail "template not readable: $tmpl"
	text=$(<"$tmpl") || return 1
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		text=${text//@"$key"@/$val}
	done
	if [[ $text =~ @[A-Z_]+@ ]]; then
		e2e_fail "template $tmpl: no value for ${BASH_REMATCH[0]}"
	fi
	printf '%s\n' "$text" >"$out"
}
