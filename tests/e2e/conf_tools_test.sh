#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   conf_tools_test - `smtpscreen check`, `smtpscreen config` and the installed layout
#
# DESCRIPTION
#   check: a main.cf and an smtpscreen file with errors in both give every error with
#   its file:line and exit 2; a cidr table's error is named too; a clean pair exits 0
#   silently; the default pair comes from MAIL_CONFIG and SMTPSCREEN_CONFIG, the
#   smtpscreen file wins over main.cf and -o over both. config: -n only what is set,
#   -d the defaults, -x expanded, NAME... those, an unknown NAME exits 1.
#   Layout: `meson install --destdir` puts the binaries in sbindir, the units (whose
#   Exec lines name that sbindir and that pass `systemd-analyze verify`), man pages,
#   docs, examples, logrotate, bash completion and /etc/smtpscreen/smtpscreen.cf,
#   which `smtpscreen check` accepts as shipped. No root, no network.
#   Usage: conf_tools_test.sh BUILD_DIR
set -u -o pipefail
build=${1:?usage: $0 BUILD_DIR}
E2E_LIB=$(cd "$(dirname "$0")/lib" && pwd)
. "$E2E_LIB/common.sh"
e2e_init conf_tools_test
e2e_require_cmd meson python3 systemd-analyze
scr=$build/dataplane/smtpscreen
T=$E2E_TMP

# run CMD... - stdout in $out, stderr in $err, status in $rc
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }
# has TEXT WORD - WORD is in TEXT (fixed string)
has() { grep -qF -- "$2" <<<"$1"; }

# --- check: every error, file:line, exit 2 ---
mkdir -p "$T/pf" "$T/own"
cat >"$T/pf/main.cf" <<CF
myhostname = mx.example.test
smtpscreen_bogus = 1
postscreen_dnsbl_threshold = x
postscreen_access_list = permit_mynetworks, cidr:$T/pf/acl.cidr
CF
printf '198.18.0.0/15 permit\n198.18.1.1/40 reject\n' >"$T/pf/acl.cidr"
printf '# ours\npostscreen_greet_action = maybe\n' >"$T/own/smtpscreen.cf"
run "$scr" check -c "$T/pf/main.cf:$T/own/smtpscreen.cf"
[ $rc -eq 2 ] || e2e_fail "check with errors: exit $rc (want 2): $err"
has "$err" "$T/pf/main.cf:2: unknown parameter smtpscreen_bogus" || e2e_fail "no main.cf:2 error: $err"
has "$err" "$T/pf/main.cf:3: postscreen_dnsbl_threshold: bad numerical value \"x\"" ||
	e2e_fail "no main.cf:3 error: $err"
has "$err" "$T/own/smtpscreen.cf:2: postscreen_greet_action: bad action \"maybe\"" ||
	e2e_fail "no smtpscreen.cf:2 error: $err"
has "$err" ": 3 errors" || e2e_fail "no count of 3 errors: $err"

# the settings right, a table wrong: the table's file:line
sed -i '/bogus\|threshold/d' "$T/pf/main.cf"
: >"$T/own/smtpscreen.cf"
run "$scr" check -c "$T/pf/main.cf:$T/own/smtpscreen.cf"
[ $rc -eq 2 ] && has "$err" "$T/pf/acl.cidr:2: bad mask length in \"198.18.1.1/40\"" ||
	e2e_fail "cidr table error: exit $rc: $err"

# clean: exit 0, nothing said; the default pair from the environment
printf '198.18.0.0/15 permit\n' >"$T/pf/acl.cidr"
printf 'smtpscreen_log_format = json\npostscreen_greet_wait = 4s\n' >"$T/own/smtpscreen.cf"
export MAIL_CONFIG=$T/pf SMTPSCREEN_CONFIG=$T/own/smtpscreen.cf
run "$scr" check
[ $rc -eq 0 ] && [ -z "$out$err" ] || e2e_fail "clean check: exit $rc: $out $err"
# no smtpscreen file: fine (it is optional); no main.cf: an error naming it
SMTPSCREEN_CONFIG=$T/own/absent.cf run "$scr" check
[ $rc -eq 0 ] || e2e_fail "check without the smtpscreen file: exit $rc: $err"
MAIL_CONFIG=$T/nowhere run "$scr" check
[ $rc -eq 2 ] && has "$err" "$T/nowhere/main.cf: cannot open" || e2e_fail "no main.cf: $rc $err"
# -o errors are named -o:N
run "$scr" check -o postscreen_greet_wait=soon
[ $rc -eq 2 ] && has "$err" "-o:1: postscreen_greet_wait: bad time value \"soon\"" ||
	e2e_fail "-o error: $rc $err"

# --- config: postconf style ---
printf 'postscreen_greet_wait = 2s\n' >>"$T/pf/main.cf"
run "$scr" config -n
[ $rc -eq 0 ] || e2e_fail "config -n: exit $rc: $err"
has "$out" "postscreen_greet_wait = 4s" || e2e_fail "config -n: the smtpscreen file does not win: $out"
has "$out" "smtpscreen_log_format = json" || e2e_fail "config -n: no smtpscreen_log_format: $out"
has "$out" "postscreen_greet_action" && e2e_fail "config -n shows an unset parameter: $out"
[ "$(sort <<<"$out")" = "$out" ] || e2e_fail "config -n not sorted: $out"
run "$scr" config -n -o postscreen_greet_wait=9s postscreen_greet_wait
[ "$out" = "postscreen_greet_wait = 9s" ] || e2e_fail "config -o NAME: $out $err"
run "$scr" config -d postscreen_greet_wait smtpscreen_log_format
[ "$out" = $'postscreen_greet_wait = ${stress?{2}:{6}}s\nsmtpscreen_log_format = postfix' ] ||
	e2e_fail "config -d NAME...: $out $err"
run "$scr" config -d -x postscreen_greet_wait
[ "$out" = "postscreen_greet_wait = 6s" ] || e2e_fail "config -d -x: $out $err"
run "$scr" config -d
n=$(wc -l <<<"$out")
[ $rc -eq 0 ] && [ "$n" -gt 80 ] && has "$out" "postscreen_dnsbl_sites = " ||
	e2e_fail "config -d: $n lines, exit $rc"
run "$scr" config postscreen_nonesuch
[ $rc -eq 1 ] && has "$err" "postscreen_nonesuch: unknown parameter" || e2e_fail "config unknown: $rc $err"
run "$scr" config -n -d
[ $rc -eq 2 ] || e2e_fail "config -n -d: exit $rc (want 2)"
unset MAIL_CONFIG SMTPSCREEN_CONFIG
e2e_log "check and config: ok"

# --- meson install: the layout the packages ship ---
dest=$T/dest
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$T/install.log" 2>&1 ||
	e2e_fail "meson install: $(tail -5 "$T/install.log")"
eval "$(python3 - "$build" <<'PY'
import json, subprocess, sys
o = {x["name"]: x["value"] for x in json.loads(subprocess.check_output(
    ["meson", "introspect", sys.argv[1], "--buildoptions"]))}
p = o["prefix"]
j = lambda d: d if d.startswith("/") else p + "/" + d
unit = o["systemdunitdir"] or p + "/lib/systemd/system"
print(f"prefix={p} sbindir={j(o['sbindir'])} sysconfdir={j(o['sysconfdir'])} "
      f"datadir={j(o['datadir'])} mandir={j(o['mandir'])} unitdir={unit}")
PY
)"
for f in "$sbindir/smtpscreen" "$sbindir/smtpscreenctl" "$unitdir/smtpscreen-host@.service" \
	"$mandir/man8/smtpscreen.8" "$mandir/man8/smtpscreenctl.8" "$mandir/man5/smtpscreen.conf.5" \
	"$datadir/doc/smtpscreen/operations.md" "$datadir/doc/smtpscreen/README.md" \
	"$datadir/doc/smtpscreen/examples/main.cf" "$sysconfdir/logrotate.d/smtpscreen" \
	"$sysconfdir/smtpscreen/smtpscreen.cf" "$sysconfdir/default/smtpscreen" \
	"$datadir/bash-completion/completions/smtpscreen" \
	"$datadir/bash-completion/completions/smtpscreenctl"; do
	[ -e "$dest$f" ] || e2e_fail "not installed: $f"
done
[ -e "$dest$prefix/bin/smtpscreen" ] && e2e_fail "smtpscreen also in bin"
if [ -x "$build/dataplane/smtpscreen-inline" ]; then
	for f in "$sbindir/smtpscreen-inline" "$unitdir/smtpscreen-inline.service" \
		"$sysconfdir/default/smtpscreen-inline"; do
		[ -e "$dest$f" ] || e2e_fail "not installed: $f"
	done
fi
for u in "$dest$unitdir"/*.service; do
	grep -E '^Exec' "$u" | grep -v -- "$sbindir/smtpscreen" && e2e_fail "$u: an Exec line outside $sbindir"
	grep -q '@SBINDIR@' "$u" && e2e_fail "$u: @SBINDIR@ not substituted"
	grep -q '^Type=notify' "$u" || e2e_fail "$u: not Type=notify"
done
# the units as systemd 252 reads them: nothing but our binaries' absence (they
# are under DESTDIR) may be said; systemd-analyze verify exits 0 on warnings
for u in "$dest$unitdir"/*.service; do
	out=$(systemd-analyze verify --man=no "$u" 2>&1 |
	      grep -v "Command $sbindir/smtpscreen\(ctl\|-inline\)\? is not executable")
	[ -z "$out" ] || e2e_fail "systemd-analyze verify $(basename "$u"): $out"
done
# the shipped smtpscreen file is clean; the completion file parses and registers
run "$build/dataplane/smtpscreen" check -c "$dest$sysconfdir/smtpscreen/smtpscreen.cf"
[ $rc -eq 0 ] || e2e_fail "shipped smtpscreen.cf: $err"
bash -c ". '$dest$datadir/bash-completion/completions/smtpscreen' && complete -p smtpscreen smtpscreenctl" \
	>/dev/null || e2e_fail "bash completion does not register"
if command -v logrotate >/dev/null; then
	logrotate -d "$dest$sysconfdir/logrotate.d/smtpscreen" >"$T/lr" 2>&1 ||
		e2e_fail "logrotate -d: $(tail -3 "$T/lr")"
fi
e2e_log "PASS: check, config and the installed layout"
