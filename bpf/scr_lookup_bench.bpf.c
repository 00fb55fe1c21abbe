// SPDX-License-Identifier: BSD-3-Clause
/*
 * NAME
 *	scr_lookup_bench - bench/xdp_bench's lookup programs: the same parse
 *	and scope as scr_xdp, the IPv4 source looked up in one of three
 *	structures
 * DESCRIPTION
 *	Not loaded by smtpscreen (scr_lpm_bench.bpf.o, the tests' "other
 *	tool's program", stays one small program). Programs:
 *	  scr_lpm4_prog    BPF_MAP_TYPE_LPM_TRIE lpm4
 *	  scr_dir248_prog  DIR-24-8 (tbl24 + a tbl8 inner map in slot 0), scr_xdp's
 *	                   structure before DXR, built by bench/xdp_bench
 *	  scr_dxr_prog     DXR (D18, 16-bit ranges): dxr_base + dxr_ranges
 *	  scr_dxr_inner_prog  the same with the ranges in the inner map of
 *	                   dxr_outer at slot sel: scr_xdp's layout (bench/
 *	                   xdp_bench gives this object scr_xdp's own maps
 *	                   dxr_base_a/b and dxr_ranges, and its active copy)
 *	  scr_none_prog    no lookup (the run's overhead to subtract)
 *	The lookup bodies are scr_lookup.bpf.h's, scr_xdp's own. With
 *	trace_on, the source address is not the frame's but the next one of
 *	the array trace (2^20 addresses, network order, one per run), so
 *	that BPF_PROG_TEST_RUN with a large repeat sees a new source in every
 *	run (cold lookups). Parse failures pass.
 * CONTRACT
 *	XDP_DROP for REJECT, XDP_TX for PERMIT (lets the benchmark check the
 *	answer), XDP_PASS otherwise; counters as in scr_xdp (subset).
 * THREADING
 *	Per packet; the benchmark runs it on one CPU (trace_idx is plain).
 */
#include "scr_lookup.bpf.h"
#include "scr_parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SCR_TRACE_LINES	65536u	/* 2^20 addresses */

struct scr_lpm4_key {
	__u32 prefixlen;	/* host order */
	__be32 addr;		/* network order */
};

struct scr_trace_line {
	__be32 a[16];
};

__u32 trace_on;
__u32 trace_idx;
__u32 sel;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2097152);		/* set by the benchmark */
	__type(key, struct scr_lpm4_key);
	__type(value, __u32);
} lpm4 SEC(".maps");

/* DIR-24-8 (the benchmark's comparison). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCR_XDP_TBL24_LINES);
	__type(key, __u32);
	__type(value, struct scr_xdp_tbl24_line);
} tbl24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
		__uint(max_entries, 4096);
		__type(key, __u32);
		__uint(value_size, sizeof(struct scr_xdp_tbl8_group));
	});
} tbl8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCR_XDP_DXR_BASE_VALS);
	__type(key, __u32);
	__type(value, struct scr_xdp_dxr_base);
} dxr_base SEC(".maps");	/* xdp_bench: scr_xdp's dxr_base_a/b */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);			/* set by the benchmark */
	__type(key, __u32);
	__type(value, struct scr_xdp_dxr_range);
} dxr_ranges SEC(".maps");

/* The same ranges in an inner map (slot sel), as scr_xdp's dxr_ranges holds
 * them: inner array lookups are helper calls, not inlined. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
		__uint(max_entries, 1);
		__type(key, __u32);
		__type(value, struct scr_xdp_dxr_range);
	});
} dxr_outer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCR_TRACE_LINES);
	__type(key, __u32);
	__type(value, struct scr_trace_line);
} trace SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCR_XDP_C_MAX);
	__type(key, __u32);
	__type(value, struct scr_xdp_ctr_val);
} counters SEC(".maps");

enum scr_bench_kind {
	SCR_BENCH_NONE,
	SCR_BENCH_LPM,
	SCR_BENCH_DIR248,
	SCR_BENCH_DXR,
	SCR_BENCH_DXR_INNER,
};

/* scr_count - count one packet under a reason */
static __always_inline void scr_count(__u32 reason, __u64 bytes)
{
	struct scr_xdp_ctr_val *v;

	v = bpf_map_lookup_elem(&counters, &reason);
	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* scr_bench - parse, pick the source, look it up in one structure */
static __always_inline int scr_bench(struct xdp_md *ctx, const int kind)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct scr_lpm4_key key = {};
	struct scr_trace_line *line;
	struct scr_pkt p = {};
	__be32 saddr;
	__u32 ans, *v, i;
	void *inner;
	int rc;

	rc = scr_parse(data, end, &p, 0);
	if (rc != SCR_XDP_C_MAX || p.family != 4) {
		scr_count(rc == SCR_XDP_C_MAX ? SCR_XDP_C_PASS_NOT_IP : rc, bytes);
		return XDP_PASS;
	}
	if (p.dport != 25) {
		scr_count(SCR_XDP_C_PASS_OTHER_PORT, bytes);
		return XDP_PASS;
	}
	saddr = p.saddr4;
	if (trace_on) {
		i = trace_idx++;
		key.prefixlen = (i >> 4) & (SCR_TRACE_LINES - 1);
		line = bpf_map_lookup_elem(&trace, &key.prefixlen);
		if (line)
			saddr = line->a[i & 15];
	}
	switch (kind) {
	case SCR_BENCH_LPM:
		key.prefixlen = 32;
		key.addr = saddr;
		v = bpf_map_lookup_elem(&lpm4, &key);
		ans = v ? *v : SCR_XDP_ANS_NONE;
		break;
	case SCR_BENCH_DIR248:
		ans = scr_dir248_lookup(&tbl24, &tbl8, 0, bpf_ntohl(saddr));
		break;
	case SCR_BENCH_DXR:
		ans = scr_dxr_lookup(&dxr_base, &dxr_ranges, bpf_ntohl(saddr));
		break;
	case SCR_BENCH_DXR_INNER:
		key.prefixlen = sel & 1;
		inner = bpf_map_lookup_elem(&dxr_outer, &key.prefixlen);
		ans = inner ? scr_dxr_lookup(&dxr_base, inner, bpf_ntohl(saddr)) :
			      SCR_XDP_ANS_NONE;
		break;
	default:
		/* Uses the source so that its load is not left out. */
		ans = bpf_ntohl(saddr) == 1 ? SCR_XDP_ANS_PERMIT : SCR_XDP_ANS_NONE;
		break;
	}
	if (ans == SCR_XDP_ANS_REJECT) {
		scr_count(SCR_XDP_C_DROP_REJECT, bytes);
		return XDP_DROP;
	}
	if (ans == SCR_XDP_ANS_PERMIT) {
		scr_count(SCR_XDP_C_PASS_PERMIT, bytes);
		return XDP_TX;
	}
	scr_count(SCR_XDP_C_PASS_UNLISTED, bytes);
	return XDP_PASS;
}

SEC("xdp")
int scr_lpm4_prog(struct xdp_md *ctx)
{
	return scr_bench(ctx, SCR_BENCH_LPM);
}

SEC("xdp")
int scr_dir248_prog(struct xdp_md *ctx)
{
	return scr_bench(ctx, SCR_BENCH_DIR248);
}

SEC("xdp")
int scr_dxr_prog(struct xdp_md *ctx)
{
	return scr_bench(ctx, SCR_BENCH_DXR);
}

SEC("xdp")
int scr_dxr_inner_prog(struct xdp_md *ctx)
{
	return scr_bench(ctx, SCR_BENCH_DXR_INNER);
}

SEC("xdp")
int scr_none_prog(struct xdp_md *ctx)
{
	return scr_bench(ctx, SCR_BENCH_NONE);
}
