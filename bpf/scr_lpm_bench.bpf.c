// SPDX-License-Identifier: BSD-3-Clause
/*
 * NAME
 *	scr_lpm_bench - a small XDP program with the IPv4 list in a plain
 *	BPF_MAP_TYPE_LPM_TRIE: the e2e tests' "another tool's program"
 * DESCRIPTION
 *	Not loaded by smtpscreen. xdp_admin_test and xdp_block_test attach it
 *	with iproute2 (one program, section "xdp"). The benchmark's programs
 *	are in scr_lookup_bench.bpf.c. Parse failures pass.
 * CONTRACT
 *	XDP_DROP when the source matches an entry with value REJECT, else
 *	XDP_PASS; counters as in scr_xdp (subset).
 * THREADING
 *	Per packet, any CPU.
 */
#include "scr_parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct scr_lpm4_key {
	__u32 prefixlen;	/* host order */
	__be32 addr;		/* network order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2097152);
	__type(key, struct scr_lpm4_key);
	__type(value, __u32);
} lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCR_XDP_C_MAX);
	__type(key, __u32);
	__type(value, struct scr_xdp_ctr_val);
} counters SEC(".maps");

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

/* scr_lpm_prog - the baseline XDP entry point */
SEC("xdp")
int scr_lpm_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct scr_lpm4_key key = {};
	struct scr_pkt p = {};
	__u32 *v;
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
	key.prefixlen = 32;
	key.addr = p.saddr4;
	v = bpf_map_lookup_elem(&lpm4, &key);
	if (v && *v == SCR_XDP_ANS_REJECT) {
		scr_count(SCR_XDP_C_DROP_REJECT, bytes);
		return XDP_DROP;
	}
	scr_count(v && *v == SCR_XDP_ANS_PERMIT ? SCR_XDP_C_PASS_PERMIT :
		  SCR_XDP_C_PASS_UNLISTED, bytes);
	return XDP_PASS;
}
