#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#	replay_bench - smtpscreen replay throughput against the plain libpcap loop
# DESCRIPTION
#	Builds nothing. Generates a fixed-seed SMTP mix with scr-gen (default
#	100,000 flows), then on one pinned core (taskset) runs, alternately,
#	pcap-baseline --loop N (header words), pcap-baseline --loop N --bytes
#	(every byte) and smtpscreen replay --loop N on the same file, REPS
#	times each, in the same run. Prints the median Mpps of each, the
#	ratios, the engine's bytes per flow, and the conditions (CPU model,
#	kernel, date, build type, sanitizers, git revision, load average), and
#	writes the same text to bench/results/replay-<date>.txt.
#	Timing noise from other processes is not removed: the load average is
#	recorded so a reader can judge it.
#	--stream (issue 15): whole processes, one pass, one pinned core (--cpu,
#	default 1): smtpscreen replay (streaming) against naive-screener (a
#	libpcap loop with a flow hash and a Hyperscan block scan of each client
#	payload) on a 20,000-flow mix and a 1,000,000-flow capture (~6 GB),
#	alternately, REPS times on the mix and BIG_REPS times on the big one;
#	elapsed-time ratios, and peak RSS (/usr/bin/time %M) of both against
#	the capture's size (the mix, a ~1 GB capture of 160,000 flows, the
#	1M-flow one). The captures are made in TMPDIR (default /tmp), checked
#	for room first, and removed at the end. Writes
#	bench/results/replay-stream-<date>.txt.
#	--smuggling (issue 17): what the SMTP smuggling guard costs. On the
#	same fixed-seed mix (every good session sends a message), one pinned
#	core, alternately REPS times each: pcap-baseline, smtpscreen replay
#	with examples/main.cf and smtpscreen_smuggling_enable = no, and with
#	= yes (the default); medians, the ratio guard on / guard off, and
#	the bytes the guard read. Writes bench/results/replay-smuggling-<date>.txt.
# USAGE
#	bench/replay_bench.sh BUILD_DIR [--flows N] [--loop N] [--reps N]
#	                      [--cpu C] [--seed S] [--threads N] [--out FILE]
#	bench/replay_bench.sh BUILD_DIR --smuggling [--flows N] [--loop N] [--reps N]
#	                      [--cpu C] [--seed S] [--out FILE]
#	bench/replay_bench.sh BUILD_DIR --stream [--reps N] [--big-reps N]
#	                      [--big-flows N] [--cpu C] [--seed S] [--out FILE]
set -eu
BUILD=${1:?usage: $0 BUILD_DIR [--stream] [--flows N] [--loop N] [--reps N] [--cpu C] [--seed S] [--threads N] [--out FILE]}
shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
FLOWS=100000 LOOP=3 REPS=3 CPU=0 SEED=1 THREADS=1 OUT=
STREAM=0 BIG_REPS=1 BIG_FLOWS=1000000 CPU_SET=0 SMUG=0
while [ $# -gt 0 ]; do
	case $1 in
	--stream) STREAM=1; shift ;;
	--smuggling) SMUG=1; shift ;;
	--big-reps) BIG_REPS=$2; shift 2 ;;
	--big-flows) BIG_FLOWS=$2; shift 2 ;;
	--flows) FLOWS=$2; shift 2 ;;
	--loop) LOOP=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--cpu) CPU=$2; CPU_SET=1; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "replay_bench: unknown option $1" >&2; exit 1 ;;
	esac
done
# stream_bench - the --stream comparison (issue 15); see DESCRIPTION
stream_bench() {
	local mix big mid need avail out f name
	for b in "$GEN" "$SCR" "$NAIVE"; do
		[ -x "$b" ] || { echo "replay_bench: $b not built" >&2; exit 1; }
	done
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/replay-stream-bench.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT	# tmp is global: the trap runs after we return
	# ~6.2 KB per flow on the wire: the three captures and some slack
	need=$(( (20000 + 160000 + BIG_FLOWS) * 65 / 10000 + 1024 ))
	avail=$(df -m --output=avail "$tmp" | tail -1 | tr -d ' ')
	if [ "$avail" -lt "$need" ]; then
		echo "replay_bench: $tmp has $avail MB free, the captures need ~$need MB:" \
			"the ${BIG_FLOWS}-flow capture is left out" >&2
		BIG_FLOWS=0
	fi
	mix=$tmp/mix20k.pcap mid=$tmp/mid.pcap big=$tmp/big.pcap
	echo "generating 20,000, 160,000 and $BIG_FLOWS flows (seed $SEED)..." >&2
	"$GEN" --seed "$SEED" --flows 20000 -o "$mix" --labels "$tmp/l1.csv" 2>/dev/null
	"$GEN" --seed "$((SEED + 1))" --flows 160000 -o "$mid" --labels "$tmp/l2.csv" 2>/dev/null
	[ "$BIG_FLOWS" -gt 0 ] &&
		"$GEN" --seed "$((SEED + 2))" --flows "$BIG_FLOWS" -o "$big" --labels "$tmp/l3.csv" 2>/dev/null
	rm -f "$tmp"/l?.csv
	# run NAME FILE CMD...: one pinned whole-process run; appends
	# "elapsed_s max_rss_kib cpu_s" to $tmp/NAME.t (cpu: user + system, the
	# figure other load on the machine disturbs least), keeps its output.
	# Elapsed from the shell's microsecond clock and CPU from its children's
	# times (milliseconds): time(1) prints both in steps of 10 ms, a tenth
	# of a run on the mix. time(1) gives the peak RSS.
	run() {
		local name=$1 file=$2 t0 t1 cpu
		shift 2
		# the file into the page cache first, untimed: this VM's DAMON
		# reclaim (kdamond) evicts a capture left idle, and a run that
		# reads part of it from the disk times the disk
		cat "$file" > /dev/null
		t0=$EPOCHREALTIME
		cpu=$( { /usr/bin/time -f '%M' -o "$tmp/time.txt" taskset -c "$CPU" "$@" "$file" \
			> "$tmp/$name.out" 2> "$tmp/$name.err"; times; } | tail -1)
		t1=$EPOCHREALTIME
		awk -v t0="$t0" -v t1="$t1" -v c="$cpu" -v rss="$(cat "$tmp/time.txt")" 'BEGIN {
			n = split(c, f, /[ms]+/)	# "0m0.091s 0m0.012s": user, system
			printf "%.4f %s %.4f\n", t1 - t0, rss, f[1] * 60 + f[2] + f[3] * 60 + f[4]
		}' >> "$tmp/$name.t"
	}
	cmp_pair() {	# cmp_pair TAG FILE REPS
		local i
		for i in $(seq 1 "$3"); do
			run "naive-$1" "$2" "$NAIVE"
			run "scr-$1" "$2" "$SCR" replay -c "$SRC/examples/main.cf"
			echo "$1 rep $i: naive $(tail -1 "$tmp/naive-$1.t") replay" \
				"$(tail -1 "$tmp/scr-$1.t") (elapsed_s rss_kib cpu_s)" >&2
		done
	}
	cmp_pair mix "$mix" "$REPS"
	[ "$BIG_FLOWS" -gt 0 ] && cmp_pair big "$big" "$BIG_REPS"
	run scr-mid "$mid" "$SCR" replay -c "$SRC/examples/main.cf"
	run naive-mid "$mid" "$NAIVE"
	med() { cut -d' ' -f"$2" "$tmp/$1.t" | median; }
	ratio() {	# ratio TAG FIELD
		local a b
		a=$(med "naive-$1" "$2")
		b=$(med "scr-$1" "$2")
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
	}
	# paired TAG FIELD: the median of the reps' own ratios (each naive run
	# against the smtpscreen run right after it): the ratio of medians can
	# mix a fast naive run with a slow smtpscreen one
	paired() {
		pair_median <(cut -d' ' -f"$2" "$tmp/naive-$1.t") <(cut -d' ' -f"$2" "$tmp/scr-$1.t") |
			awk '{ printf "%.2f", $1 }'
	}
	mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
	size() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", s / 1048576 }'; }
	out=${OUT:-$SRC/bench/results/replay-stream-$(date -u +%Y-%m-%d).txt}
	# before the report file exists (a new one is untracked)
	rev=$(tree_rev)
	mkdir -p "$(dirname "$out")"
	{
		echo "# smtpscreen replay (streaming) against naive-screener: whole processes, one pass"
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r) mem_gib=$(free -g | awk '/^Mem:/ { print $2 }')"
		echo "build dir=$BUILD type=$(build_type) rev=$rev"
		echo "conditions pinned_cpu=$CPU reps_mix=$REPS reps_big=$BIG_REPS loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\" page_cache=warm (each capture read just before each run)"
		echo "config $SRC/examples/main.cf; smtpscreen replay -c main.cf FILE (no --verdicts/--log), naive-screener FILE"
		for f in mix big; do
			[ -s "$tmp/scr-$f.t" ] || continue
			name=$([ $f = mix ] && echo 20000 || echo "$BIG_FLOWS")
			echo "capture flows=$name file_mib=$(size "$tmp/$f"*.pcap) packets=$(sed -n 's/^packets total=\([0-9]*\).*/\1/p' "$tmp/scr-$f.out")"
			for name in naive scr; do
				echo "  $([ $name = scr ] && echo "smtpscreen    " || echo "naive-screener")" \
					"elapsed_s=$(cut -d' ' -f1 "$tmp/$name-$f.t" | paste -sd,) median=$(med "$name-$f" 1)" \
					"cpu_s=$(cut -d' ' -f3 "$tmp/$name-$f.t" | paste -sd,) median=$(med "$name-$f" 3)" \
					"peak_rss_mib=$(mib "$(med "$name-$f" 2)")"
			done
			echo "  ratio naive/smtpscreen elapsed=$(ratio "$f" 1) cpu=$(ratio "$f" 3) (budget >= 3, goal 5)"
			echo "  paired ratio (median of the reps' ratios) elapsed=$(paired "$f" 1) cpu=$(paired "$f" 3)"
		done
		echo "peak RSS against capture size (smtpscreen replay, one pass):"
		for f in mix mid big; do
			[ -s "$tmp/scr-$f.t" ] || continue
			echo "  file_mib=$(size "$tmp/$f"*.pcap) smtpscreen_rss_mib=$(mib "$(med "scr-$f" 2)") naive_rss_mib=$(mib "$(med "naive-$f" 2)")"
		done
		[ "$BIG_FLOWS" -gt 0 ] || echo "  (no ${need} MB free in $tmp: the big capture was left out)"
		echo "# last smtpscreen summary (mix):"
		sed 's/^/#   /' "$tmp/scr-mix.out"
		echo "# last naive-screener summary (mix):"
		sed 's/^/#   /' "$tmp/naive-mix.out"
	} | tee "$out"
	echo "written: $out" >&2
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# pair_median A B: the median of A's numbers over B's, line by line (each
# rep against the run beside it: a slow spell of the machine slows both)
pair_median() { paste -d' ' "$1" "$2" | awk '$2 > 0 { printf "%.4f\n", $1 / $2 }' | median; }
# tree_rev: the source's revision, "+uncommitted" after it when a tracked
# file differs from it (untracked ones, earlier reports among them, do not
# count; read it before writing a new report into the tree)
tree_rev() {
	echo "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+uncommitted" || true)"
}
# build_type: the build's type and the options that change its speed
build_type() {
	meson introspect --buildoptions "$BUILD" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o.get("buildtype"), "b_sanitize=" + str(o.get("b_sanitize")), "b_ndebug=" + str(o.get("b_ndebug")))' 2>/dev/null ||
		echo unknown
}
GEN=$BUILD/bench/scr-gen
BASE=$BUILD/bench/pcap-baseline
SCR=$BUILD/dataplane/smtpscreen
NAIVE=$BUILD/bench/naive-screener
if [ "$STREAM" = 1 ]; then
	[ "$CPU_SET" = 1 ] || CPU=1
	stream_bench
	exit 0
fi
for b in "$GEN" "$BASE" "$SCR"; do
	[ -x "$b" ] || { echo "replay_bench: $b not built" >&2; exit 1; }
done
[ "$FLOWS" -ge 100000 ] || echo "replay_bench: note: --flows $FLOWS is below the 100,000 the budget is stated for" >&2
TMP=$(mktemp -d /tmp/replay-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
PIN=(taskset -c "$CPU")
if [ "$THREADS" -gt 1 ]; then
	PIN=(taskset -c "$CPU-$((CPU + THREADS - 1))")
fi

echo "generating $FLOWS flows (seed $SEED)..." >&2
"$GEN" --seed "$SEED" --flows "$FLOWS" -o "$TMP/mix.pcap" --labels "$TMP/mix.csv" 2>"$TMP/gen.txt"
cat "$TMP/gen.txt" >&2

# field VALUE of KEY on the line starting with WORD: kv FILE WORD KEY
kv() { sed -n "s/^$2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$1" | head -1; }

# smug_bench - the --smuggling comparison; see DESCRIPTION
smug_bench() {
	local i g on off
	for g in no yes; do
		cp "$SRC/examples/main.cf" "$TMP/guard-$g.cf"
		cp "$SRC/examples/access.cidr" "$SRC/examples/signatures" "$TMP/"
		printf 'smtpscreen_smuggling_enable = %s\n' "$g" >> "$TMP/guard-$g.cf"
		: > "$TMP/guard-$g.mpps"
	done
	: > "$TMP/base.mpps"
	for i in $(seq 1 "$REPS"); do
		"${PIN[@]}" "$BASE" "$TMP/mix.pcap" --loop "$LOOP" > "$TMP/base.$i.txt"
		kv "$TMP/base.$i.txt" rate mpps >> "$TMP/base.mpps"
		for g in no yes; do
			"${PIN[@]}" "$SCR" replay -c "$TMP/guard-$g.cf" --loop "$LOOP" \
				"$TMP/mix.pcap" > "$TMP/guard-$g.$i.txt"
			kv "$TMP/guard-$g.$i.txt" rate mpps >> "$TMP/guard-$g.mpps"
		done
		echo "rep $i: baseline $(tail -1 "$TMP/base.mpps"), guard off $(tail -1 "$TMP/guard-no.mpps")," \
			"guard on $(tail -1 "$TMP/guard-yes.mpps") Mpps" >&2
	done
	off=$(median < "$TMP/guard-no.mpps")
	on=$(median < "$TMP/guard-yes.mpps")
	{
		echo "# smtpscreen replay: the SMTP smuggling guard on vs off (issue 17)"
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r)"
		echo "build dir=$BUILD type=$(build_type) rev=$(tree_rev)"
		echo "conditions pinned_cpus=${PIN[*]:2} reps=$REPS loop=$LOOP loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
		echo "input scr-gen seed=$SEED flows=$FLOWS packets=$(kv "$TMP/base.1.txt" packets total) bytes=$(kv "$TMP/base.1.txt" packets bytes)"
		echo "baseline pcap-baseline mpps=$(paste -sd, "$TMP/base.mpps") median_mpps=$(median < "$TMP/base.mpps")"
		echo "guard_off smtpscreen mpps=$(paste -sd, "$TMP/guard-no.mpps") median_mpps=$off"
		echo "guard_on smtpscreen mpps=$(paste -sd, "$TMP/guard-yes.mpps") median_mpps=$on"
		echo "ratio guard_on/guard_off=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
		echo "guard $(grep '^smuggling ' "$TMP/guard-yes.1.txt") (per pass; bytes = read after the verdict)"
		echo "memory guard_off $(grep '^memory ' "$TMP/guard-no.1.txt"); guard_on $(grep '^memory ' "$TMP/guard-yes.1.txt")"
	}
}
if [ "$SMUG" = 1 ]; then
	mkdir -p "$SRC/bench/results"
	OUT=${OUT:-$SRC/bench/results/replay-smuggling-$(date -u +%Y-%m-%d).txt}
	smug_bench | tee "$OUT"
	echo "written: $OUT" >&2
	exit 0
fi

: > "$TMP/base.mpps"
: > "$TMP/bytes.mpps"
: > "$TMP/scr.mpps"
for i in $(seq 1 "$REPS"); do
	"${PIN[@]}" "$BASE" "$TMP/mix.pcap" --loop "$LOOP" > "$TMP/base.$i.txt"
	kv "$TMP/base.$i.txt" rate mpps >> "$TMP/base.mpps"
	"${PIN[@]}" "$BASE" "$TMP/mix.pcap" --loop "$LOOP" --bytes > "$TMP/bytes.$i.txt"
	kv "$TMP/bytes.$i.txt" rate mpps >> "$TMP/bytes.mpps"
	"${PIN[@]}" "$SCR" replay -c "$SRC/examples/main.cf" --threads "$THREADS" --loop "$LOOP" \
		"$TMP/mix.pcap" > "$TMP/scr.$i.txt"
	kv "$TMP/scr.$i.txt" rate mpps >> "$TMP/scr.mpps"
	echo "rep $i: baseline $(tail -1 "$TMP/base.mpps") Mpps, every byte $(tail -1 "$TMP/bytes.mpps") Mpps, replay $(tail -1 "$TMP/scr.mpps") Mpps" >&2
done
BASE_MED=$(median < "$TMP/base.mpps")
BYTES_MED=$(median < "$TMP/bytes.mpps")
SCR_MED=$(median < "$TMP/scr.mpps")
RATIO=$(awk -v a="$SCR_MED" -v b="$BASE_MED" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
PAIRED=$(pair_median "$TMP/scr.mpps" "$TMP/base.mpps")
PKTS=$(kv "$TMP/base.1.txt" packets total)
BYTES=$(kv "$TMP/base.1.txt" packets bytes)
FLOW_BYTES=$(kv "$TMP/scr.1.txt" memory flow_bytes)
FLOWS_SEEN=$(kv "$TMP/scr.1.txt" flows total)
BUILDTYPE=$(build_type)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
REV=$(tree_rev)

report() {
	echo "# smtpscreen replay benchmark"
	echo "date=$DATE"
	echo "machine cpu=\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\" cores=$(nproc) kernel=$(uname -r)"
	echo "build dir=$BUILD type=$BUILDTYPE rev=$REV"
	echo "conditions pinned_cpus=${PIN[*]:2} reps=$REPS loop=$LOOP threads=$THREADS loadavg=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
	echo "input scr-gen seed=$SEED flows=$FLOWS packets=$PKTS bytes=$BYTES avg_packet_bytes=$(awk -v b="$BYTES" -v p="$PKTS" 'BEGIN { printf "%.0f", b / p }')"
	echo "baseline pcap-baseline mpps=$(paste -sd, "$TMP/base.mpps") median_mpps=$BASE_MED"
	echo "replay smtpscreen mpps=$(paste -sd, "$TMP/scr.mpps") median_mpps=$SCR_MED"
	echo "baseline_bytes pcap-baseline --bytes mpps=$(paste -sd, "$TMP/bytes.mpps") median_mpps=$BYTES_MED"
	echo "ratio replay/baseline=$RATIO"
	echo "paired ratio (median of the reps' ratios) replay/baseline=$PAIRED"
	echo "ratio baseline_bytes/baseline=$(awk -v a="$BYTES_MED" -v b="$BASE_MED" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
	echo "memory flow_bytes=$FLOW_BYTES flows_in_capture=$FLOWS_SEEN"
	echo "# last replay summary:"
	sed 's/^/#   /' "$TMP/scr.$REPS.txt"
}
mkdir -p "$SRC/bench/results"
OUT=${OUT:-$SRC/bench/results/replay-$(date -u +%Y-%m-%d).txt}
report | tee "$OUT"
echo "written: $OUT" >&2
