#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   systemd_unit_test - the Debian packages under a real systemd (Debian 12 in systemd-nspawn)
#
# DESCRIPTION
#   Builds smtpscreen and smtpscreen-inline with `dpkg-buildpackage -us -uc -b` from a copy
#   of the source tree, requires lintian to report no error, then boots a Debian 12 tree
#   (debootstrap from the apt archive this machine uses; cached in $NSPAWN_CACHE, the
#   package's run-time dependencies added to it) with `systemd-nspawn --boot` (ephemeral
#   copy, private network, a bpf file system of the test's own at /sys/fs/bpf), installs
#   the smtpscreen .deb inside and drives smtpscreen-host@ on a veth pair inside:
#     start (Type=notify: returns once READY=1, StatusText "screening"), is-active, the
#     pins and socket of the instance, a second instance beside it, smtpscreenctl -i and
#     the only-instance lookup, `systemctl reload` (RELOADING/READY, "reloaded"), a reload
#     with a bad file failing with file:line while the unit stays active, stop (pins and
#     runtime directory gone), a start with a bad file (every error in the journal from
#     ExecStartPre's check, the daemon's exit 2, no restart: RestartPreventExitStatus), and
#     `systemd-analyze security` (score
#     printed, must stay at or below 4.0; 3.1 when written).
#   One change to the unit inside the container: nspawn containers have no udev, so
#   sys-subsystem-net-devices-IF.device never appears ("unsupported" in the journal) and
#   the unit's BindsTo= on it fails the start; the test installs a copy without those two
#   lines in /etc/systemd/system. Everything else is the packaged unit.
#   The appliance package is built and lintian-checked, not booted (DPDK's libraries are
#   not in the container and there is no NIC for it).
#   Usage: systemd_unit_test.sh BUILD_DIR (BUILD_DIR unused: the packages build their own;
#   PREBUILT_DEBS=DIR reuses packages dpkg-buildpackage left in DIR, for reruns)
set -u -o pipefail
E2E_LIB=$(cd "$(dirname "$0")/lib" && pwd)
SRC=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$E2E_LIB/common.sh"
e2e_init systemd_unit_test
e2e_require_root
e2e_require_cmd dpkg-buildpackage lintian debootstrap systemd-nspawn nsenter chroot mountpoint
T=$E2E_TMP
CACHE=${NSPAWN_CACHE:-/var/cache/smtpscreen-test/bookworm}
MACHINE=smtpscreen-sdtest
SEC_MAX=4.0

# --- the packages ---
mkdir -p "$T/pkg/src"
tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' --exclude=./.git --exclude='./debian/.debhelper' \
	--exclude='./debian/tmp' -cf - . | tar -C "$T/pkg/src" -xf - || e2e_fail "copy of the source tree"
if [ -n "${PREBUILT_DEBS:-}" ]; then	# a developer's rerun: packages of this tree
	cp "$PREBUILT_DEBS"/*.deb "$PREBUILT_DEBS"/*.changes "$PREBUILT_DEBS"/*.buildinfo "$T/pkg/" ||
		e2e_fail "PREBUILT_DEBS=$PREBUILT_DEBS: no packages"
else
	e2e_log "dpkg-buildpackage -us -uc -b (a few minutes)"
	(cd "$T/pkg/src" && nice dpkg-buildpackage -us -uc -b -j2) >"$T/dpkg.log" 2>&1 ||
		e2e_fail "dpkg-buildpackage: $(tail -20 "$T/dpkg.log")"
fi
deb=$(ls "$T"/pkg/smtpscreen_*_amd64.deb) && ideb=$(ls "$T"/pkg/smtpscreen-inline_*_amd64.deb) ||
	e2e_fail "packages not built: $(ls "$T/pkg")"
grep -q librte <<<"$(dpkg-deb -f "$deb" Depends)" && e2e_fail "smtpscreen depends on DPDK: $(dpkg-deb -f "$deb" Depends)"
grep -q librte <<<"$(dpkg-deb -f "$ideb" Depends)" || e2e_fail "smtpscreen-inline without DPDK: $(dpkg-deb -f "$ideb" Depends)"
dpkg-deb -c "$deb" >"$T/deb.list" && dpkg-deb -c "$ideb" >"$T/ideb.list" || e2e_fail "dpkg-deb -c"
for f in ./usr/sbin/smtpscreen ./usr/sbin/smtpscreenctl ./lib/systemd/system/smtpscreen-host@.service \
	./etc/smtpscreen/smtpscreen.cf ./etc/logrotate.d/smtpscreen ./usr/share/man/man8/smtpscreen.8.gz \
	./usr/share/doc/smtpscreen/examples/main.cf ./usr/share/bash-completion/completions/smtpscreen; do
	grep -q " $f\( \|$\)" "$T/deb.list" || e2e_fail "$f not in $(basename "$deb")"
done
grep -q " ./usr/sbin/smtpscreen-inline$" "$T/ideb.list" || e2e_fail "no smtpscreen-inline binary"
lintian "$T"/pkg/*.changes >"$T/lintian.log" 2>&1
grep -q "^E:" "$T/lintian.log" && e2e_fail "lintian: $(grep '^E:' "$T/lintian.log")"
e2e_log "packages built; lintian: $(grep -c '^E:' "$T/lintian.log") errors, $(grep -c '^W:' "$T/lintian.log") warnings"

# --- the Debian 12 tree (cached), with the package's run-time dependencies ---
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep -v '^$' | tr '\n' ' ')
if [ ! -x "$CACHE/lib/systemd/systemd" ]; then
	e2e_log "debootstrap bookworm into $CACHE (once)"
	mkdir -p "$(dirname "$CACHE")"
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	nice debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 bookworm \
		"$CACHE.new" "${mirror:-http://deb.debian.org/debian}" >"$T/debootstrap.log" 2>&1 ||
		e2e_fail "debootstrap: $(tail -5 "$T/debootstrap.log")"
	echo sdtest >"$CACHE.new/etc/hostname"
	rm -f "$CACHE.new/etc/machine-id"
	systemd-machine-id-setup --root="$CACHE.new" >/dev/null || e2e_fail "machine-id"
	rm -rf "$CACHE" && mv "$CACHE.new" "$CACHE"
fi
# shellcheck disable=SC2086
if ! chroot "$CACHE" dpkg -s $deps >/dev/null 2>&1; then
	e2e_log "adding to the tree: $deps"
	cp /etc/resolv.conf "$CACHE/etc/resolv.conf" 2>/dev/null
	chroot "$CACHE" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $deps" >"$T/deps.log" 2>&1 || e2e_fail "deps in the tree: $(tail -5 "$T/deps.log")"
fi

# --- boot it ---
mkdir -p "$T/bpffs" "$T/debs"
cp "$deb" "$T/debs/"
mount -t bpf bpf "$T/bpffs" || e2e_fail "mount bpf on $T/bpffs"
e2e_cleanup_push "umount '$T/bpffs'"
systemd-nspawn -D "$CACHE" --ephemeral --register=no --keep-unit --private-network --boot -q \
	--console=passive --machine=$MACHINE --capability=CAP_BPF,CAP_PERFMON \
	--system-call-filter="bpf perf_event_open" --bind="$T/bpffs:/sys/fs/bpf" \
	--bind-ro="$T/debs:/debs" >"$T/boot.log" 2>&1 &
ns=$!
e2e_cleanup_push "e2e_kill_pid $ns 20"
leader=
e2e_wait_for 30 eval 'leader=$(pgrep -P '$ns' -x systemd)' ||
	e2e_fail "systemd-nspawn --boot: no systemd in the container: $(tail -20 "$T/boot.log")"
# cin CMD... - run in the container (its mount, pid, net, ipc, uts namespaces)
cin() { nsenter -t "$leader" -m -u -i -n -p -- "$@"; }
# the manager's bus socket first: before it, systemctl cannot ask anything
e2e_wait_for 30 cin test -S /run/systemd/private ||
	e2e_fail "no /run/systemd/private in the container: $(tail -20 "$T/boot.log")"
state=$(cin timeout 90 systemctl is-system-running --wait)
case $state in running|degraded) ;; *) e2e_fail "boot: $state: $(tail -20 "$T/boot.log")" ;; esac
e2e_log "Debian 12 booted in systemd-nspawn ($state); systemd $(cin systemctl --version | head -1 | cut -d' ' -f2)"

# --- install, configure ---
cin dpkg -i "/debs/$(basename "$deb")" >"$T/install.log" 2>&1 || e2e_fail "dpkg -i: $(tail -5 "$T/install.log")"
cin sh -c 'mkdir -p /etc/postfix && printf "myhostname = mx.example.test\nmynetworks = 127.0.0.0/8\n" >/etc/postfix/main.cf' ||
	e2e_fail "main.cf"
cin sh -c "sed '/sys-subsystem-net-devices-%i.device/d' /lib/systemd/system/smtpscreen-host@.service \
	>/etc/systemd/system/smtpscreen-host@.service && systemctl daemon-reload" || e2e_fail "unit copy"
cin sh -c 'ip link add sv0 type veth peer name sv1 && ip link set sv0 up && ip link set sv1 up' ||
	e2e_fail "veth in the container"
# show UNIT PROP - one property's value
show() { cin systemctl show -p "$2" --value "$1"; }
U=smtpscreen-host@sv0.service

# --- start: returns once READY=1 ---
cin systemctl start $U || e2e_fail "start: $(cin journalctl -u $U --no-pager -n 30)"
[ "$(cin systemctl is-active $U)" = active ] || e2e_fail "not active after start"
[ "$(show $U Type)" = notify ] && [ "$(show $U StatusText)" = screening ] ||
	e2e_fail "no READY/STATUS: Type=$(show $U Type) StatusText=$(show $U StatusText)"
[ -S /proc/$leader/root/run/smtpscreen/sv0/smtpscreen.sock ] || e2e_fail "no socket in /run/smtpscreen/sv0"
[ -e "$T/bpffs/smtpscreen-sv0" ] || e2e_fail "no pins in smtpscreen-sv0: $(ls "$T/bpffs")"
cin test -d /var/lib/smtpscreen/sv0 -a -d /var/log/smtpscreen/sv0 || e2e_fail "state or logs directory missing"
cin smtpscreenctl status >"$T/status" 2>&1 || e2e_fail "smtpscreenctl status (only instance): $(cat "$T/status")"
e2e_log "started: $(show $U StatusText); $(head -1 "$T/status")"

# --- a second instance beside it ---
U2=smtpscreen-host@sv1.service
cin systemctl start $U2 || e2e_fail "second instance: $(cin journalctl -u $U2 --no-pager -n 30)"
[ "$(cin systemctl is-active $U $U2 | sort -u)" = active ] || e2e_fail "both instances not active"
[ -e "$T/bpffs/smtpscreen-sv1" ] || e2e_fail "no pins of the second instance"
cin smtpscreenctl -i sv1 status >/dev/null 2>&1 || e2e_fail "smtpscreenctl -i sv1 status"
cin smtpscreenctl status >"$T/status2" 2>&1 && e2e_fail "two instances, no -i: answered"
grep -q "2 instances run; say which with -i" "$T/status2" || e2e_fail "two instances: $(cat "$T/status2")"
cin systemctl stop $U2 || e2e_fail "stop second instance"
[ -e "$T/bpffs/smtpscreen-sv1" ] && e2e_fail "second instance's pins left"
[ "$(cin systemctl is-active $U)" = active ] || e2e_fail "first instance died with the second"

# --- reload: good, then bad ---
cin systemctl reload $U || e2e_fail "reload: $(cin journalctl -u $U --no-pager -n 20)"
[ "$(show $U StatusText)" = "screening (reloaded)" ] || e2e_fail "after reload: $(show $U StatusText)"
cin sh -c 'printf "postscreen_greet_action = maybe\n" >>/etc/smtpscreen/smtpscreen.cf'
cin systemctl reload $U 2>"$T/reload.err" && e2e_fail "reload of a bad file succeeded"
[ "$(cin systemctl is-active $U)" = active ] || e2e_fail "a failed reload stopped the unit"
grep -q "/etc/smtpscreen/smtpscreen.cf:[0-9]*: postscreen_greet_action" <<<"$(cin journalctl -u $U --no-pager)" ||
	e2e_fail "no file:line of the bad reload in the journal: $(cin journalctl -u $U --no-pager -n 10)"
e2e_log "reload ok; a bad reload fails with file:line and keeps the unit active"

# --- the hardening score ---
cin systemd-analyze security --no-pager $U >"$T/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$T/security")
[ -n "$score" ] || e2e_fail "systemd-analyze security: $(tail -5 "$T/security")"
awk -v s="$score" -v m="$SEC_MAX" 'BEGIN { exit !(s <= m) }' || e2e_fail "exposure $score above $SEC_MAX"
e2e_log "systemd-analyze security $U: $(grep 'Overall exposure' "$T/security" | sed 's/.*: //')"

# --- stop ---
cin systemctl stop $U || e2e_fail "stop"
[ "$(cin systemctl is-active $U)" = inactive ] || e2e_fail "not inactive after stop"
[ -e "$T/bpffs/smtpscreen-sv0" ] && e2e_fail "pins left after stop"
cin test -e /run/smtpscreen/sv0 && e2e_fail "runtime directory left after stop"

# --- a start with a bad file: ExecStartPre fails with 2, no restart loop ---
cin systemctl start $U 2>/dev/null && e2e_fail "start with a bad file succeeded"
sleep 5	# RestartSec=2: a restart would have happened
[ "$(show $U NRestarts)" = 0 ] && [ "$(show $U Result)" = exit-code ] &&
	[ "$(show $U ExecMainStatus)" = 2 ] ||
	e2e_fail "bad file: NRestarts=$(show $U NRestarts) Result=$(show $U Result) status $(show $U ExecMainStatus)"
grep -q "smtpscreen check: error: /etc/smtpscreen/smtpscreen.cf:[0-9]*:" <<<"$(cin journalctl -u $U --no-pager)" ||
	e2e_fail "ExecStartPre's file:line not in the journal"
e2e_log "PASS: packages, lintian, start (notify), two instances, reload, bad reload, stop, bad start (no restart); security $score"
