#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAME
#   shared_bench.sh - block propagation time between two nodes through Redis
#
# DESCRIPTION
#   Starts a private redis-server on 127.0.0.1 at a random port (no persistence),
#   then, in the same run: the baseline (plain hiredis PUBLISH on one connection to
#   the message read on a SUBSCRIBE connection) and ctl_shared's propagation (node A's
#   ctl_shared_put of a block -> server-side merge script -> PUBLISH -> node B's
#   poll + ctl_shared_process -> on_block), N blocks each, one at a time. Prints
#   median and max in microseconds and the ratio to the baseline, with the
#   conditions (CPU, kernel, Redis version, load). Both nodes run in one process
#   (one thread), on loopback: this measures the store path, not a network.
#
# CONTRACT
#   shared_bench.sh BUILD_DIR [N]   (default N = 2000). Exit 0, or 1 on failure.
#
# THREADING
#   Plain bash.
set -u -o pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N]" >&2; exit 2; }
TOOL=$1/bench/shared-bench
N=${2:-2000}
PORT=$((20000 + RANDOM % 40000))
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null; }
trap cleanup EXIT INT TERM
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
RPID=$!
for _ in $(seq 100); do
	redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
	sleep 0.05
done
redis-cli -p "$PORT" ping >/dev/null 2>&1 || { echo "redis-server did not start" >&2; exit 1; }
echo "conditions: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"\
	"kernel $(uname -r), $(redis-server --version | cut -d' ' -f1-3), loadavg $(cut -d' ' -f1-3 /proc/loadavg),"\
	"loopback, both nodes in one thread, N=$N"
base=$("$TOOL" pubsub 127.0.0.1 "$PORT" "$N") || { echo "baseline failed" >&2; exit 1; }
ours=$("$TOOL" propagate "redis://127.0.0.1:$PORT?prefix=bench:" "$N") || { echo "propagate failed" >&2; exit 1; }
echo "$base"
echo "$ours"
bm=$(sed -n 's/.*median_us=\([0-9]*\).*/\1/p' <<<"$base")
om=$(sed -n 's/.*median_us=\([0-9]*\).*/\1/p' <<<"$ours")
bx=$(sed -n 's/.*max_us=\([0-9]*\).*/\1/p' <<<"$base")
ox=$(sed -n 's/.*max_us=\([0-9]*\).*/\1/p' <<<"$ours")
awk -v bm="$bm" -v om="$om" -v bx="$bx" -v ox="$ox" 'BEGIN {
	printf "ratio to baseline: median %.2fx, max %.2fx\n", om / (bm ? bm : 1), ox / (bx ? bx : 1) }'
