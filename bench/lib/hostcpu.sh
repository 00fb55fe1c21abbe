# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   hostcpu.sh - CPU accounting for the host-mode benchmarks: cgroup v1 cpuacct groups,
#                per-process run time, ksoftirqd, BPF program run time
#
# DESCRIPTION
#   The counters bench/host_bench.sh and bench/host_vs_postscreen_bench.sh read before
#   and after each phase. Every snapshot function prints "key value" lines (integers);
#   the benches take deltas of two snapshots. Groups live under $HOSTCPU_CG (default
#   /sys/fs/cgroup/cpuacct, a cgroup v1 cpuacct hierarchy) and are removed by the
#   common.sh cleanup stack; the BPF statistics descriptor is held by a small process
#   that the cleanup stack stops (by PID). Requires tests/e2e/lib/common.sh.
#   What the numbers are: cpuacct.usage is scheduler run time (exact ns) of every task
#   that ran in the group, including tasks that have exited; usage_user/usage_sys are
#   tick-sampled (CONFIG_HZ) and sys includes the softirq/irq ticks that landed in the
#   group's tasks. /proc/PID/stat utime/stime are clock ticks (USER_HZ, 100/s: 10 ms
#   steps); /proc/PID/task/*/schedstat's first field is exact run time (ns). The BPF
#   programs' run_time_ns counts only while a BPF_ENABLE_STATS descriptor is open.
#
# CONTRACT
#   hostcpu_cg_create GROUP...     mkdir each group (e2e_fail if it exists: another run);
#                                  removed at exit (tasks left go back to the root group)
#   hostcpu_cg_remove GROUP        move what is left to the root group, rmdir
#   hostcpu_cg_join GROUP PID...   move processes (their later children follow); a PID
#                                  that already exited is no error; with HOSTCPU_PIN=N
#                                  set, every thread is pinned to CPU N
#   hostcpu_cg_snap GROUP...       GROUP_ns, GROUP_user_ns, GROUP_sys_ns
#   hostcpu_pid_snap PID PREFIX    PREFIX_utime, PREFIX_stime (ticks), PREFIX_run_ns
#                                  (schedstat) and PREFIX_wakes (voluntary context
#                                  switches: sleeps ended by a wake-up), all threads;
#                                  nothing when PID is gone
#   hostcpu_procs_snap GROUP       "proc_COMM_PID_START RUN_NS" per process in GROUP
#                                  (START = start time in ticks after boot, so a reused
#                                  PID is another key)
#   hostcpu_ksoftirqd_snap         ksoftirqd_ns (all ksoftirqd threads, machine-wide)
#   hostcpu_procstat_snap          stat_system, stat_irq, stat_softirq (/proc/stat, ticks)
#   hostcpu_bpf_stats_hold DIR PY  enable BPF run-time statistics until exit; e2e_fail
#                                  when the kernel refuses
#   hostcpu_bpf_snap NS IFACE PY   bpf_xdp_ns, bpf_xdp_cnt, bpf_tc_ns, bpf_tc_cnt of the
#                                  programs attached to IFACE in namespace NS (nothing
#                                  when none is attached)
#
# THREADING
#   Plain bash, called from the bench script's shell.

HOSTCPU_CG=${HOSTCPU_CG:-/sys/fs/cgroup/cpuacct}
HOSTCPU_PIN=${HOSTCPU_PIN:-}

# hostcpu_cg_remove - move what is left to the root group and remove the group
hostcpu_cg_remove() {
	local d=$HOSTCPU_CG/$1 p
	[ -d "$d" ] || return 0
	while read -r p; do echo "$p" >"$HOSTCPU_CG/cgroup.procs" 2>/dev/null; done <"$d/cgroup.procs"
	rmdir "$d"
}

# hostcpu_cg_create - new groups, removed at exit
hostcpu_cg_create() {
	local g
	[ -d "$HOSTCPU_CG" ] || e2e_fail "no cgroup v1 cpuacct hierarchy at $HOSTCPU_CG"
	for g in "$@"; do
		[ -d "$HOSTCPU_CG/$g" ] && e2e_fail "cgroup $HOSTCPU_CG/$g exists (another run?)"
		mkdir "$HOSTCPU_CG/$g" || e2e_fail "mkdir $HOSTCPU_CG/$g"
		e2e_cleanup_push "hostcpu_cg_remove $g"
	done
}

# hostcpu_cg_join - move processes into a group (later children follow)
hostcpu_cg_join() {
	local g=$1 p
	shift
	for p in "$@"; do
		# A process that already exited is no error.
		echo "$p" >"$HOSTCPU_CG/$g/cgroup.procs" 2>/dev/null ||
			{ e2e_alive "$p" && e2e_fail "cannot move $p to cgroup $g"; }
		[ -n "$HOSTCPU_PIN" ] && taskset -a -p -c "$HOSTCPU_PIN" "$p" >/dev/null
	done
	return 0
}

# hostcpu_cg_snap - usage counters of groups
hostcpu_cg_snap() {
	local g
	for g in "$@"; do
		echo "${g}_ns $(cat "$HOSTCPU_CG/$g/cpuacct.usage")"
		echo "${g}_user_ns $(cat "$HOSTCPU_CG/$g/cpuacct.usage_user")"
		echo "${g}_sys_ns $(cat "$HOSTCPU_CG/$g/cpuacct.usage_sys")"
	done
}

# hostcpu_pid_snap - one process's ticks and exact run time
hostcpu_pid_snap() {
	local pid=$1 pre=$2
	[ -r "/proc/$pid/stat" ] || return 0
	awk -v p="$pre" '{ sub(/^.*\) /, ""); print p "_utime " $12; print p "_stime " $13 }' \
		"/proc/$pid/stat" 2>/dev/null
	cat "/proc/$pid"/task/*/schedstat 2>/dev/null |
		awk -v p="$pre" '{ s += $1 } END { printf "%s_run_ns %.0f\n", p, s }'
	cat "/proc/$pid"/task/*/status 2>/dev/null |
		awk -v p="$pre" '/^voluntary_ctxt_switches/ { w += $2 } END { printf "%s_wakes %.0f\n", p, w }'
}

# hostcpu_procs_snap - run time of each process of a group, keyed by name, PID, start
hostcpu_procs_snap() {
	local g=$1 p comm stat rest start run
	while read -r p; do
		read -r stat <"/proc/$p/stat" 2>/dev/null || continue
		comm=${stat#*(}
		comm=${comm%%)*}
		rest=${stat##*) }
		# shellcheck disable=SC2086 # fields
		set -- $rest
		start=${20}
		read -r run _ <"/proc/$p/schedstat" 2>/dev/null || continue
		echo "proc_${comm//[^A-Za-z0-9-]/_}_${p}_${start} $run"
	done <"$HOSTCPU_CG/$g/cgroup.procs"
}

# hostcpu_ksoftirqd_snap - run time of the ksoftirqd threads
hostcpu_ksoftirqd_snap() {
	local pid rt=0 s
	for pid in /proc/[0-9]*; do
		case $(cat "$pid/comm" 2>/dev/null) in
		ksoftirqd/*)
			read -r s _ <"$pid/schedstat" 2>/dev/null && rt=$((rt + s))
			;;
		esac
	done
	echo "ksoftirqd_ns $rt"
}

# hostcpu_procstat_snap - machine-wide system, irq and softirq ticks
hostcpu_procstat_snap() {
	awk '$1 == "cpu" { print "stat_system " $4; print "stat_irq " $7; print "stat_softirq " $8 }' /proc/stat
}

# hostcpu_bpf_stats_hold - BPF_ENABLE_STATS, held by a process until the cleanup stops it
hostcpu_bpf_stats_hold() {
	local dir=$1 py=$2 pid
	"$py" - "$dir/bpfstats.ok" <<'PYEOF' 2>"$dir/bpfstats.err" &
import ctypes, os, platform, signal, struct, sys
nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
if nr is None:
    sys.exit("bpf(): unknown syscall number on " + platform.machine())
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(struct.pack("I", 0), 16)   # BPF_STATS_RUN_TIME
fd = libc.syscall(nr, 32, attr, 4)                            # BPF_ENABLE_STATS
if fd < 0:
    sys.exit("BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
open(sys.argv[1], "w").close()
signal.pause()
PYEOF
	pid=$!
	e2e_cleanup_push "e2e_kill_pid $pid 2"
	e2e_wait_for 5 test -e "$dir/bpfstats.ok" ||
		e2e_fail "cannot enable BPF statistics: $(cat "$dir/bpfstats.err")"
}

# hostcpu_bpf_snap - run time and count of the XDP and TC programs on an interface
hostcpu_bpf_snap() {
	local ns=$1 ifc=$2 py=$3 kind id
	nsenter --net="/run/netns/$ns" bpftool -j net show dev "$ifc" 2>/dev/null | "$py" -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
for kind in ("xdp", "tc"):
    for e in d.get(kind, []):
        if "id" in e:
            print(kind, e["id"])' | while read -r kind id; do
		bpftool -j prog show id "$id" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
print("bpf_'"$kind"'_ns", d.get("run_time_ns", 0))
print("bpf_'"$kind"'_cnt", d.get("run_cnt", 0))'
	done
}
