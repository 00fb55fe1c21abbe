// SPDX-License-Identifier: BSD-3-Clause
/*
 * NAME
 *	scr_xdp - smtpscreen's XDP enforcement program
 * DESCRIPTION
 *	Drops the packets of clients that the permanent access list rejects
 *	or that a dynamic block entry (with an optional expiry) names, before
 *	the kernel spends anything on them. Scope: TCP to one of scr_ports
 *	(smtpscreen_ports, default 25); with scr_block_all, every IPv4/IPv6
 *	packet from a client is looked up (also fragments and non-TCP).
 *	Decision order: permanent list (permit / reject / not listed); when
 *	not listed: a live dynamic allow entry passes, else a live block entry
 *	drops; an expired entry does not apply (compared with
 *	bpf_ktime_get_boot_ns, so it stops applying at once).
 *	Parse failures PASS: a frame the parser does not understand
 *	(truncated, ihl < 5, unknown ethertype, too many IPv6 extension
 *	headers) is passed untouched and counted under its reason; the kernel
 *	stack drops what is really broken. Non-first fragments carry no TCP
 *	header and are passed (counted) unless scr_block_all is set.
 *	IPv4 permanent structure: DIR-24-8, two copies (A/B) selected by
 *	scr_state.active, flipped by user space after the new copy is
 *	complete. IPv6: one hash per copy keyed by (plen, masked address),
 *	probed for the lengths present, longest first.
 *	Optionally (scr_xsk_redirect) a passed in-scope packet is redirected
 *	to the AF_XDP socket bound to its rx queue in xsks_map (DPDK af_xdp).
 * CONTRACT
 *	Returns XDP_PASS, XDP_DROP or XDP_REDIRECT; counts every packet once
 *	in counters[reason] (per CPU: packets and bytes); a packet sent to an
 *	AF_XDP socket is also counted under REDIRECT_XSK.
 * THREADING
 *	Per packet on any CPU; reads maps, writes only per-CPU counters.
 */
#include "scr_parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs (set by user space before load). */
const volatile __u16 scr_ports[SCR_XDP_MAX_PORTS] = { 25 };
const volatile __u32 scr_nports = 1;
const volatile __u32 scr_block_all = 0;
const volatile __u32 scr_xsk_redirect = 0;

/* Copy selector and prefix lengths present (mmapped by user space). */
struct scr_xdp_state scr_state;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCR_XDP_TBL24_LINES);
	__type(key, __u32);
	__type(value, struct scr_xdp_tbl24_line);
} tbl24_a SEC(".maps"), tbl24_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);		/* resized by user space */
	__type(key, __u32);
	__type(value, struct scr_xdp_tbl8_group);
} tbl8_a SEC(".maps"), tbl8_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct scr_xdp_perm6_key);
	__type(value, struct scr_xdp_perm6_val);
} perm6_a SEC(".maps"), perm6_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1048576);
	__type(key, struct scr_xdp_dyn4_key);
	__type(value, struct scr_xdp_dyn_val);
} dyn4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct scr_xdp_dyn6_key);
	__type(value, struct scr_xdp_dyn_val);
} dyn6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCR_XDP_C_MAX);
	__type(key, __u32);
	__type(value, struct scr_xdp_ctr_val);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Result of the dynamic lookup. */
enum scr_dyn_res {
	SCR_DYN_NONE = 0,
	SCR_DYN_HIT,
	SCR_DYN_EXPIRED,
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

/* scr_live - whether a dynamic value applies now (now 0 = not read yet) */
static __always_inline int scr_live(const struct scr_xdp_dyn_val *v,
				    __u64 *now)
{
	__u64 exp = v->expires_ns;

	if (exp == 0)
		return 1;
	if (*now == 0)
		*now = bpf_ktime_get_boot_ns();
	return exp > *now;
}

/* de Bruijn table: index of the single bit set in a 64-bit word. */
static const __u8 scr_debruijn64[64] = {
	0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
};

/* scr_bit_index - index of the lowest bit set in mask (mask != 0) */
static __always_inline __u32 scr_bit_index(__u64 mask)
{
	__u64 low = mask & -mask;

	return scr_debruijn64[(low * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* scr_perm4 - answer of the permanent IPv4 list (DIR-24-8) */
static __always_inline __u32 scr_perm4(__be32 saddr, __u32 sel)
{
	struct scr_xdp_tbl24_line *line;
	struct scr_xdp_tbl8_group *grp;
	__u32 a = bpf_ntohl(saddr);
	__u32 idx = a >> 8, key = idx >> 4, e;

	if (sel)
		line = bpf_map_lookup_elem(&tbl24_b, &key);
	else
		line = bpf_map_lookup_elem(&tbl24_a, &key);
	if (!line)
		return SCR_XDP_ANS_NONE;
	e = line->e[idx & (SCR_XDP_TBL24_LINE - 1)];
	if (!(e & SCR_XDP_TBL24_GROUP))
		return e;
	key = e & ~SCR_XDP_TBL24_GROUP;
	if (sel)
		grp = bpf_map_lookup_elem(&tbl8_b, &key);
	else
		grp = bpf_map_lookup_elem(&tbl8_a, &key);
	if (!grp)
		return SCR_XDP_ANS_NONE;
	return grp->ans[a & 0xff];
}

/* scr_mask6 - copy addr masked to plen into out */
static __always_inline void scr_mask6(__u8 *out, const __u8 *addr, __u32 plen)
{
	__u32 *o = (__u32 *)out;
	const __u32 *in = (const __u32 *)addr;
	int w;

#pragma clang loop unroll(full)
	for (w = 0; w < 4; w++) {
		__u32 bits = plen > (__u32)w * 32 ? plen - w * 32 : 0;

		if (bits >= 32)
			o[w] = in[w];
		else if (bits == 0)
			o[w] = 0;
		else
			o[w] = in[w] & bpf_htonl(~0u << (32 - bits));
	}
}

/* scr_perm6 - answer of the permanent IPv6 list (hash per length); a
 * global function so that the verifier checks its loop once */
__noinline int scr_perm6(__u32 w0, __u32 w1, __u32 w2, __u32 w3, __u32 sel)
{
	struct scr_xdp_perm6_key key = {};
	struct scr_xdp_perm6_val *v;
	__u32 addr[4] = { w0, w1, w2, w3 };
	__u32 n, i, plen;

	sel &= 1;
	n = scr_state.perm6_nlens[sel];
	for (i = 0; i < 129 && i < n; i++) {
		plen = scr_state.perm6_lens[sel][i];
		if (plen > 128)
			break;
		key.plen = plen;
		scr_mask6(key.addr, (const __u8 *)addr, plen);
		if (sel)
			v = bpf_map_lookup_elem(&perm6_b, &key);
		else
			v = bpf_map_lookup_elem(&perm6_a, &key);
		if (v)
			return v->ans;
	}
	return SCR_XDP_ANS_NONE;
}

/* scr_dyn4 - whether a live dynamic IPv4 entry of one kind covers a (host
 * order); SCR_DYN_EXPIRED if only expired ones do. Any live match decides,
 * so the lengths present are probed in any order. */
__noinline int scr_dyn4(__u32 a, __u32 kind)
{
	struct scr_xdp_dyn4_key key = {};
	struct scr_xdp_dyn_val *v;
	__u64 mask, now = 0;
	int res = SCR_DYN_NONE;
	__u32 i, plen;

	kind &= 1;
	mask = *(volatile __u64 *)&scr_state.dyn4_mask[kind];
	key.kind = kind;
	for (i = 0; i < 33 && mask; i++) {
		plen = scr_bit_index(mask);
		mask &= mask - 1;
		if (plen > 32)
			break;
		key.plen = plen;
		key.addr = plen ? bpf_htonl(a & (~0u << (32 - plen))) : 0;
		v = bpf_map_lookup_elem(&dyn4, &key);
		if (!v)
			continue;
		if (scr_live(v, &now))
			return SCR_DYN_HIT;
		res = SCR_DYN_EXPIRED;
	}
	return res;
}

/* scr_dyn6 - scr_dyn4 for IPv6 (address as four network-order words) */
__noinline int scr_dyn6(__u32 w0, __u32 w1, __u32 w2, __u32 w3, __u32 kind)
{
	struct scr_xdp_dyn6_key key = {};
	struct scr_xdp_dyn_val *v;
	__u32 addr[4] = { w0, w1, w2, w3 };
	__u64 mask, now = 0;
	int res = SCR_DYN_NONE;
	__u32 w, i, plen;

	kind &= 1;
	key.kind = kind;
	for (w = 0; w < 3; w++) {
		mask = *(volatile __u64 *)&scr_state.dyn6_mask[kind][w];
		for (i = 0; i < 64 && mask; i++) {
			plen = w * 64 + scr_bit_index(mask);
			mask &= mask - 1;
			if (plen > 128)
				break;
			key.plen = plen;
			scr_mask6(key.addr, (const __u8 *)addr, plen);
			v = bpf_map_lookup_elem(&dyn6, &key);
			if (!v)
				continue;
			if (scr_live(v, &now))
				return SCR_DYN_HIT;
			res = SCR_DYN_EXPIRED;
		}
	}
	return res;
}

/* scr_in_ports - whether a destination port is one of scr_ports */
static __always_inline int scr_in_ports(__u32 dport)
{
	__u32 i;

#pragma clang loop unroll(full)
	for (i = 0; i < SCR_XDP_MAX_PORTS; i++) {
		if (i >= scr_nports)
			break;
		if (scr_ports[i] == dport)
			return 1;
	}
	return 0;
}

/* scr_xdp_prog - the XDP entry point */
SEC("xdp")
int scr_xdp_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct scr_pkt p = {};
	__u32 sel, ans;
	int rc, smtp = 0, dyn;
	__u32 w[4];

	rc = scr_parse(data, end, &p);
	if (rc == SCR_XDP_C_MAX) {
		smtp = scr_in_ports(p.dport);
		if (!smtp && !scr_block_all) {
			scr_count(SCR_XDP_C_PASS_OTHER_PORT, bytes);
			return XDP_PASS;
		}
	} else if (!scr_block_all || p.family == 0) {
		scr_count(rc, bytes);
		return XDP_PASS;
	}

	/* ::ffff:a.b.c.d sources are IPv4 clients (as in scr_addr). */
	if (p.family == 6) {
		__builtin_memcpy(w, p.saddr6, 16);
		if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
			p.family = 4;
			p.saddr4 = w[3];
		}
	}
	sel = *(volatile __u32 *)&scr_state.active & 1;
	if (p.family == 4) {
		ans = scr_perm4(p.saddr4, sel);
	} else {
		ans = scr_perm6(w[0], w[1], w[2], w[3], sel);
	}
	if (ans == SCR_XDP_ANS_REJECT) {
		scr_count(SCR_XDP_C_DROP_REJECT, bytes);
		return XDP_DROP;
	}
	if (ans == SCR_XDP_ANS_PERMIT) {
		scr_count(SCR_XDP_C_PASS_PERMIT, bytes);
		goto pass;
	}

	if (p.family == 4)
		dyn = scr_dyn4(bpf_ntohl(p.saddr4), SCR_XDP_KIND_ALLOW);
	else
		dyn = scr_dyn6(w[0], w[1], w[2], w[3], SCR_XDP_KIND_ALLOW);
	if (dyn == SCR_DYN_HIT) {
		scr_count(SCR_XDP_C_PASS_ALLOW, bytes);
		goto pass;
	}
	if (p.family == 4)
		dyn = scr_dyn4(bpf_ntohl(p.saddr4), SCR_XDP_KIND_BLOCK);
	else
		dyn = scr_dyn6(w[0], w[1], w[2], w[3], SCR_XDP_KIND_BLOCK);
	if (dyn == SCR_DYN_HIT) {
		scr_count(SCR_XDP_C_DROP_BLOCK, bytes);
		return XDP_DROP;
	}
	scr_count(dyn == SCR_DYN_EXPIRED ? SCR_XDP_C_PASS_EXPIRED :
		  SCR_XDP_C_PASS_UNLISTED, bytes);
pass:
	if (smtp && scr_xsk_redirect) {
		__u32 q = ctx->rx_queue_index;

		if (bpf_map_lookup_elem(&xsks_map, &q)) {
			scr_count(SCR_XDP_C_REDIRECT_XSK, bytes);
			return bpf_redirect_map(&xsks_map, q, XDP_PASS);
		}
	}
	return XDP_PASS;
}
