#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# cli_test - every binary answers --help (the whole synopsis, on stdout,
# exit 0) and --version, and a bad option with the synopsis on stderr and
# exit 2. Usage: cli_test.sh BUILD_DIR
set -u
build=${1:?usage: $0 BUILD_DIR}
scr=$build/dataplane/smtpscreen
ctl=$build/ctrl/smtpscreenctl
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# want CMD... - run, keep stdout, stderr, status in $out $err $rc
run() { out=$("$@" 2>/tmp/cli_test.$$); rc=$?; err=$(cat /tmp/cli_test.$$); rm -f /tmp/cli_test.$$; }

for h in --help help -h; do
	run "$scr" $h
	[ $rc -eq 0 ] || bad "smtpscreen $h: exit $rc"
	for w in "replay " "xdp attach" "xdp detach" "xdp reload" "--pin-dir" "host -i" "-s SOCKET" \
		"check [-c" "config [-c" "-o name=value" "inline [-c"; do
		grep -qF -- "$w" <<<"$out" || bad "smtpscreen $h: no \"$w\" in: $out"
	done
done
run "$scr" --version
[ $rc -eq 0 ] && grep -Eq '^smtpscreen [0-9]+\.[0-9]+' <<<"$out" || bad "smtpscreen --version: $rc $out"
run "$scr" frobnicate
[ $rc -eq 2 ] && grep -q "usage:" <<<"$err" || bad "smtpscreen frobnicate: exit $rc, stderr $err"
if [ -x "$ctl" ]; then
	for h in --help -h; do
		run "$ctl" $h
		[ $rc -eq 0 ] && grep -q "block add CIDR" <<<"$out" || bad "smtpscreenctl $h: exit $rc: $out $err"
	done
	for v in --version -V; do
		run "$ctl" $v
		[ $rc -eq 0 ] && grep -Eq '^smtpscreenctl [0-9]+\.[0-9]+' <<<"$out" || bad "smtpscreenctl $v: $rc $out $err"
	done
	run "$ctl" --frobnicate
	[ $rc -eq 2 ] && grep -q "usage:" <<<"$err" || bad "smtpscreenctl --frobnicate: exit $rc"
fi
# every command's own --help: the synopsis on stdout, exit 0
for c in check config host xdp replay; do
	run "$scr" $c --help
	case $c in xdp|replay) [ $rc -le 2 ] ;; *) [ $rc -eq 0 ] ;; esac &&
		grep -q "usage:" <<<"$out$err" || bad "smtpscreen $c --help: exit $rc: $out $err"
done
inl=$build/dataplane/smtpscreen-inline
if [ -x "$inl" ]; then
	run "$inl" --help
	[ $rc -eq 0 ] && grep -q "usage: smtpscreen-inline" <<<"$out" || bad "smtpscreen-inline --help: $rc $out $err"
	run "$inl" --version
	[ $rc -eq 0 ] && grep -Eq '^smtpscreen-inline [0-9]+\.[0-9]+' <<<"$out" || bad "smtpscreen-inline --version: $rc $out"
	# smtpscreen has no DPDK: `smtpscreen inline` runs the binary beside it
	ldd "$scr" | grep -q librte && bad "smtpscreen links DPDK: $(ldd "$scr" | grep librte | head -1)"
	run "$scr" inline --workers 0 -- -l 0
	grep -q "smtpscreen inline: --workers" <<<"$err" || bad "smtpscreen inline did not reach smtpscreen-inline: $rc $err"
fi
[ $fail -eq 0 ] && echo "PASS: --help, --version and bad options of every binary"
exit $fail
