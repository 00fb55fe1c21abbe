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
 *	IPv4 permanent structure: DXR (smtpscreen_abi.h, scr_lookup.bpf.h),
 *	two copies (A/B) selected by scr_state.active, flipped by user space
 *	after the new copy is complete. IPv6: one hash per copy keyed by (plen, masked address),
 *	probed for the lengths present, longest first.
 *	Optionally (scr_xsk_redirect) a passed in-scope packet is redirected
 *	to the AF_XDP socket bound to its rx queue in xsks_map (DPDK af_xdp).
 *	With no socket on the queue it passes.
 *
 *	Inline object (SCR_XDP_INLINE, scr_xdp_inline.bpf.o; docs/xdp.md
 *	"Inline appliance (af_xdp)"): DPDK's af_xdp PMD loads the file as it
 *	is and attaches its first program, so that build holds scr_xdp_prog
 *	and the maps it uses only (no host programs, maps or knobs), and has
 *	the knob scr_xsk_all: every packet that passes (any protocol, port
 *	or parse failure, not only in-scope SMTP) goes to xsks_map as above.
 *	ctl_inlinebpf writes the knobs into the file's .rodata. In
 *	scr_xdp.bpf.o scr_xsk_all is the constant 0, so scr_xdp_prog's code
 *	there is what it was before the inline build existed.
 *
 *	Host mode (scr_host, smtpscreen host; see smtpscreen_abi.h "Host
 *	mode" and docs/xdp.md): after the decision above, an in-scope packet
 *	that the permanent permit or a dynamic allow entry did not pass (the
 *	pass cache: no entry, no sample) goes through the flow map host_flows:
 *	a client SYN (SYN without ACK) creates or overwrites a SCAN entry and
 *	is sampled; SCAN is sampled and passed; PASS passes; STOP drops; no
 *	entry passes unsampled (mid-flow or evicted). This is a second XDP
 *	program, scr_xdp_host, the same body compiled with host = 1, so that
 *	scr_xdp_prog is unchanged; user space loads one of the two. scr_host_tc, the TC
 *	egress program, does the same for server -> client packets (flow key
 *	reversed) and holds the greeting: the first server payload of a SCAN
 *	flow is sampled with SCR_HOST_SF_HELD and dropped; server payload is
 *	dropped while HELD and not RELEASED until hold_until_ns (fail-open);
 *	frames with skb mark SCR_HOST_RESEND_MARK (user space's re-sent
 *	greeting) pass. Pure ACKs are never held. Samples go to the ring
 *	buffer host_samples as 24 + caplen bytes (copied into a per-CPU
 *	scratch struct, then bpf_ringbuf_output); a full ring buffer passes
 *	the packet unsampled (counted) and never holds a greeting. With
 *	scr_host 0 (not host mode) the TC program is not loaded.
 *	Handshake hold (scr_hs_hold; smtpscreen_abi.h "Handshake hold",
 *	docs/xdp.md): the ACK of an unknown client's recorded SYN is dropped
 *	until the wait (scr_hs_wait_ns) is over while the kernel keeps a
 *	request socket for it; data in the wait is a pregreet, sampled, and
 *	with scr_hs_reset made a RST that ends the request socket.
 *	Parse failures pass in both programs.
 * CONTRACT
 *	scr_xdp_prog/scr_xdp_host return XDP_PASS, XDP_DROP or XDP_REDIRECT; count every
 *	packet once in counters[reason] (per CPU: packets and bytes); a packet
 *	sent to an AF_XDP socket is also counted under REDIRECT_XSK (the
 *	inline object: under its pass reason, whatever it is). Host-mode
 *	events are counted in host_ctr[enum scr_host_ctr].
 *	scr_host_tc returns TC_ACT_OK, TC_ACT_SHOT (STOP flows) or
 *	TC_ACT_STOLEN (a held greeting and its retransmissions: consumed,
 *	reported to TCP as sent).
 * THREADING
 *	Per packet on any CPU; reads maps, writes per-CPU counters, flow
 *	entries (host mode) and the ring buffer.
 */
#include <linux/pkt_cls.h>

#include "scr_lookup.bpf.h"
#include "scr_parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs (set by user space before load). */
const volatile __u16 scr_ports[SCR_XDP_MAX_PORTS] = { 25 };
const volatile __u32 scr_nports = 1;
const volatile __u32 scr_block_all = 0;
const volatile __u32 scr_xsk_redirect = 0;
#if SCR_XDP_INLINE
/* Inline appliance: every passed packet goes to its queue's AF_XDP socket. */
const volatile __u32 scr_xsk_all = 0;
#else
/* A constant here, not a knob: scr_xdp_prog's code in scr_xdp.bpf.o stays
 * exactly what it was before the inline object existed. */
#define scr_xsk_all 0
#endif
#if !SCR_XDP_INLINE
/* Host mode knobs. */
const volatile __u32 scr_host = 0;		/* flows and samples */
const volatile __u32 scr_sample_bytes = SCR_HOST_SAMPLE_MAX;
const volatile __u64 scr_greet_hold_ns = 0;	/* 0: no greet hold */
const volatile __u64 scr_hold_grace_ns = 0;	/* added to the hold */
const volatile __u64 scr_data_hold_ns = 0;	/* 0: no 354 hold, else fail-open */
const volatile __u32 scr_overload_drop = 0;	/* smtpscreen_overload_policy = drop */
const volatile __u32 scr_hs_hold = 0;		/* smtpscreen_host_hold = handshake */
const volatile __u32 scr_sample_lazy = 0;	/* wake user space only for samples
						 * that start a flow or are held */
const volatile __u64 scr_ring_wake_bytes = 0;	/* ... or when this much waits */
const volatile __u32 scr_hs_reset = 0;		/* pregreet action drop: end a
						 * pregreeter's half-open connection */
/* The handshake hold's wait (CLOCK_MONOTONIC ns), in .bss: user space
 * writes it (postscreen_greet_wait, its stress value under stress). */
__u64 scr_hs_wait_ns;
/* Host mode: user space reads the ring every few hundred ms now (flows
 * are undecided), so a new flow's first sample need not wake it. */
__u32 scr_user_polls;
#endif

/* Copy selector and prefix lengths present (mmapped by user space). */
struct scr_xdp_state scr_state;

/* DXR base arrays: where each chunk's ranges start (fixed, 1 MiB each). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, SCR_XDP_DXR_BASE_VALS);
	__type(key, __u32);
	__type(value, struct scr_xdp_dxr_base);
} dxr_base_a SEC(".maps"), dxr_base_b SEC(".maps");

/* The DXR ranges and the IPv6 prefixes of each copy are inner maps of
 * dxr_ranges and perm6 (slot = copy): a reload whose list does not fit
 * puts bigger maps in the inactive slot before the flip. dxr_ranges_a/b,
 * perm6_a/b are the first ones, sized at load by user space (the ELF's
 * size, 2^19 ranges = 1 MiB, is what the inline appliance starts with). */
struct scr_dxr_ranges_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	__uint(max_entries, 131072);		/* resized by user space */
	__type(key, __u32);
	__type(value, struct scr_xdp_dxr_range);
} dxr_ranges_a SEC(".maps"), dxr_ranges_b SEC(".maps");

struct scr_perm6_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct scr_xdp_perm6_key);
	__type(value, struct scr_xdp_perm6_val);
} perm6_a SEC(".maps"), perm6_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct scr_dxr_ranges_map);
} dxr_ranges SEC(".maps") = {
	.values = { &dxr_ranges_a, &dxr_ranges_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct scr_perm6_map);
} perm6 SEC(".maps") = {
	.values = { &perm6_a, &perm6_b },
};

/* The dynamic hashes are not preallocated: user space writes them (the
 * program only reads), and preallocating 1M + 256K elements took ~210 ms
 * of every attach and host start (strace -T, issue 16). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct scr_xdp_dyn4_key);
	__type(value, struct scr_xdp_dyn_val);
} dyn4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
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

#if !SCR_XDP_INLINE
/* Host mode: screened flows, samples, a per-CPU sample under construction,
 * event counters. Sized by user space (flows, ring bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct scr_host_flow_key);
	__type(value, struct scr_host_flow_val);
} host_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct scr_host_flow_key);
	__type(value, struct scr_host_syn_val);
} host_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} host_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scr_host_sample);
} host_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCR_HOST_C_MAX);
	__type(key, __u32);
	__type(value, struct scr_xdp_ctr_val);
} host_ctr SEC(".maps");

/* The seat's listening sockets (smtpscreen_host_hold = seat, steered):
 * key SCR_SEAT_SOCK_V4 takes IPv4 clients, SCR_SEAT_SOCK_V6 IPv6 ones (a
 * dual-stack socket may be both). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} seat_sock SEC(".maps");

/* The SMTP smuggling guard (smtpscreen_abi.h): flows in DATA, its
 * configuration (user space writes it), its counters. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct scr_host_flow_key);
	__type(value, struct scr_host_smug_val);
} host_smug SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scr_host_smug_cfg);
} host_smug_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCR_HOST_SMUG_C_MAX);
	__type(key, __u32);
	__type(value, struct scr_xdp_ctr_val);
} host_smug_ctr SEC(".maps");
#endif

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

/* scr_perm4 - answer of the permanent IPv4 list (DXR of copy sel) */
static __always_inline __u32 scr_perm4(__be32 saddr, __u32 sel)
{
	__u32 a = bpf_ntohl(saddr);
	void *ranges;

	ranges = bpf_map_lookup_elem(&dxr_ranges, &sel);
	if (!ranges)
		return SCR_XDP_ANS_NONE;
	if (sel)
		return scr_dxr_lookup(&dxr_base_b, ranges, a);
	return scr_dxr_lookup(&dxr_base_a, ranges, a);
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

/* The prefix-length loops below run in bpf_loop callbacks: the verifier
 * checks a callback's body once, where it walked a plain loop iteration
 * by iteration (scr_dyn6's 3 x 64 were ~460k of the ~650k instructions
 * it processed for scr_xdp_host, a third of host mode's start, issue 16).
 * A callback call costs a few ns per length probed; a lookup with no
 * dynamic entries of its kind makes none. */

/* One scr_perm6 lookup's state for bpf_loop (scr_perm6_step). */
struct scr_perm6_loop {
	struct scr_xdp_perm6_key key;
	__u32 addr[4];		/* the address, network-order words */
	__u32 sel;		/* the copy (0, 1) */
	__u32 ans;
};

/* scr_perm6_step - bpf_loop callback: probe the i-th length present
 * (longest first); 1 stops the loop (found, or no more lengths) */
static long scr_perm6_step(__u64 i, void *arg)
{
	struct scr_perm6_loop *l = arg;
	struct scr_xdp_perm6_val *v;
	__u32 sel = l->sel & 1, plen;
	void *map;

	if (i >= 136)
		return 1;
	plen = scr_state.perm6_lens[sel][i];
	if (plen > 128)
		return 1;
	map = bpf_map_lookup_elem(&perm6, &sel);
	if (!map)
		return 1;
	l->key.plen = plen;
	scr_mask6(l->key.addr, (const __u8 *)l->addr, plen);
	v = bpf_map_lookup_elem(map, &l->key);
	if (!v)
		return 0;
	l->ans = v->ans;
	return 1;
}

/* scr_perm6 - answer of the permanent IPv6 list (hash per length) */
__noinline int scr_perm6(__u32 w0, __u32 w1, __u32 w2, __u32 w3, __u32 sel)
{
	struct scr_perm6_loop l = {};
	__u32 n;

	sel &= 1;
	n = scr_state.perm6_nlens[sel];
	if (n == 0)
		return SCR_XDP_ANS_NONE;
	l.addr[0] = w0;
	l.addr[1] = w1;
	l.addr[2] = w2;
	l.addr[3] = w3;
	l.sel = sel;
	l.ans = SCR_XDP_ANS_NONE;
	bpf_loop(n < 129 ? n : 129, scr_perm6_step, &l, 0);
	return (int)l.ans;
}

/* One dynamic lookup's state for bpf_loop (scr_dyn4_step, scr_dyn6_step). */
struct scr_dyn_loop {
	__u64 m0, m1, m2;	/* lengths not probed yet: bit b of m<w> is 64w + b */
	__u64 now;		/* boot-time clock, 0 until read (scr_live) */
	union {
		struct scr_xdp_dyn4_key k4;
		struct scr_xdp_dyn6_key k6;
	};
	__u32 addr[4];		/* IPv4: host order in addr[0]; IPv6: network-order words */
	int res;		/* SCR_DYN_NONE, _EXPIRED or _HIT */
};

/* scr_dyn_next - the next length to probe (lowest first), -1 if none */
static __always_inline int scr_dyn_next(struct scr_dyn_loop *l)
{
	__u32 b;

	if (l->m0) {
		b = scr_bit_index(l->m0);
		l->m0 &= l->m0 - 1;
		return (int)b;
	}
	if (l->m1) {
		b = scr_bit_index(l->m1);
		l->m1 &= l->m1 - 1;
		return 64 + (int)b;
	}
	if (l->m2) {
		b = scr_bit_index(l->m2);
		l->m2 &= l->m2 - 1;
		return 128 + (int)b;
	}
	return -1;
}

/* scr_dyn_seen - record a matching entry v (NULL: none); 1 stops the loop
 * (a live one decides) */
static __always_inline long scr_dyn_seen(struct scr_dyn_loop *l,
					 const struct scr_xdp_dyn_val *v)
{
	if (!v)
		return 0;
	if (scr_live(v, &l->now)) {
		l->res = SCR_DYN_HIT;
		return 1;
	}
	l->res = SCR_DYN_EXPIRED;
	return 0;
}

/* scr_dyn4_step - bpf_loop callback: probe the next IPv4 length */
static long scr_dyn4_step(__u64 i, void *arg)
{
	struct scr_dyn_loop *l = arg;
	int plen = scr_dyn_next(l);

	(void)i;
	if (plen < 0 || plen > 32)
		return 1;
	l->k4.plen = plen;
	l->k4.addr = plen ? bpf_htonl(l->addr[0] & (~0u << (32 - plen))) : 0;
	return scr_dyn_seen(l, bpf_map_lookup_elem(&dyn4, &l->k4));
}

/* scr_dyn6_step - bpf_loop callback: probe the next IPv6 length */
static long scr_dyn6_step(__u64 i, void *arg)
{
	struct scr_dyn_loop *l = arg;
	int plen = scr_dyn_next(l);

	(void)i;
	if (plen < 0 || plen > 128)
		return 1;
	l->k6.plen = plen;
	scr_mask6(l->k6.addr, (const __u8 *)l->addr, plen);
	return scr_dyn_seen(l, bpf_map_lookup_elem(&dyn6, &l->k6));
}

/* scr_dyn4 - whether a live dynamic IPv4 entry of one kind covers a (host
 * order); SCR_DYN_EXPIRED if only expired ones do. Any live match decides,
 * so the lengths present are probed in any order. */
__noinline int scr_dyn4(__u32 a, __u32 kind)
{
	struct scr_dyn_loop l = {};

	kind &= 1;
	l.m0 = *(volatile __u64 *)&scr_state.dyn4_mask[kind];
	if (!l.m0)
		return SCR_DYN_NONE;
	l.k4.kind = kind;
	l.addr[0] = a;
	l.res = SCR_DYN_NONE;
	bpf_loop(64, scr_dyn4_step, &l, 0);
	return l.res;
}

/* scr_dyn6 - scr_dyn4 for IPv6 (address as four network-order words) */
__noinline int scr_dyn6(__u32 w0, __u32 w1, __u32 w2, __u32 w3, __u32 kind)
{
	struct scr_dyn_loop l = {};

	kind &= 1;
	l.m0 = *(volatile __u64 *)&scr_state.dyn6_mask[kind][0];
	l.m1 = *(volatile __u64 *)&scr_state.dyn6_mask[kind][1];
	l.m2 = *(volatile __u64 *)&scr_state.dyn6_mask[kind][2];
	if (!(l.m0 | l.m1 | l.m2))
		return SCR_DYN_NONE;
	l.k6.kind = kind;
	l.addr[0] = w0;
	l.addr[1] = w1;
	l.addr[2] = w2;
	l.addr[3] = w3;
	l.res = SCR_DYN_NONE;
	bpf_loop(192, scr_dyn6_step, &l, 0);
	return l.res;
}

/* scr_in_ports - whether a port (host order) is one of scr_ports */
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

#if !SCR_XDP_INLINE
/* ---- host mode ---- */

#define SCR_TCP_FIN	0x01
#define SCR_TCP_SYN	0x02
#define SCR_TCP_RST	0x04
#define SCR_TCP_ACK	0x10
#define SCR_HOST_OFF_MAX	4096	/* deeper TCP headers are not screened (< 0x1fff) */

/* What the host path needs of a parsed TCP segment. */
struct scr_host_seg {
	__u32 paylen;		/* TCP payload bytes (from the IP length) */
	__u32 payoff;		/* payload offset in the frame */
	__u32 seq;		/* host order */
	__u32 tflags;		/* TCP flag byte */
};

/* scr_host_count - count one host-mode event */
static __always_inline void scr_host_count(__u32 idx, __u64 bytes)
{
	struct scr_xdp_ctr_val *v;

	v = bpf_map_lookup_elem(&host_ctr, &idx);
	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* scr_host_key - the flow key (client -> server; rev: the client is the
 * destination) and the segment facts; 0, or -1 when not screened */
static __always_inline int scr_host_key(void *data, void *end,
					const struct scr_pkt *p, int rev,
					struct scr_host_flow_key *k,
					struct scr_host_seg *sg)
{
	__u32 l3off = p->l3off, l4off = p->l4off, iplen, hdr;
	__u64 o4;
	__u32 *c = (__u32 *)k->client, *sv = (__u32 *)k->server;
	struct tcphdr *tcp;
	__u8 *tb;

	if (l3off > 64 || l4off > SCR_HOST_OFF_MAX || l4off < l3off)
		return -1;
	if (p->family == 4) {
		struct iphdr *ip4 = data + (l3off & 0x7f);

		if ((void *)(ip4 + 1) > end)
			return -1;
		c[2] = sv[2] = bpf_htonl(0xffff);
		c[3] = rev ? ip4->daddr : ip4->saddr;
		sv[3] = rev ? ip4->saddr : ip4->daddr;
		iplen = bpf_ntohs(ip4->tot_len);
	} else {
		struct ipv6hdr *ip6 = data + (l3off & 0x7f);

		if ((void *)(ip6 + 1) > end)
			return -1;
		if (rev) {
			__builtin_memcpy(k->client, &ip6->daddr, 16);
			__builtin_memcpy(k->server, &ip6->saddr, 16);
		} else {
			__builtin_memcpy(k->client, &ip6->saddr, 16);
			__builtin_memcpy(k->server, &ip6->daddr, 16);
		}
		iplen = 40 + (__u32)bpf_ntohs(ip6->payload_len);
	}
	/* A no-op after the check above that the compiler cannot drop: it
	 * keeps the bound visible to the verifier. */
	o4 = l4off;
	asm volatile("%[o] &= 0x1fff" : [o] "+r"(o4));
	tcp = data + o4;
	if ((void *)(tcp + 1) > end)
		return -1;
	k->client_port = rev ? tcp->dest : tcp->source;
	k->server_port = rev ? tcp->source : tcp->dest;
	tb = (__u8 *)tcp;
	sg->tflags = tb[13];
	sg->seq = bpf_ntohl(tcp->seq);
	hdr = l4off - l3off + (__u32)tcp->doff * 4;
	sg->paylen = iplen > hdr ? iplen - hdr : 0;
	sg->payoff = l4off + (__u32)tcp->doff * 4;
	return 0;
}

/* scr_host_emit - finish the scratch sample and queue 24 + caplen bytes;
 * 0, or -1 when the ring buffer is full (counted) */
static __always_inline int scr_host_emit(struct scr_host_sample *s,
					 __u32 wirelen, __u32 cap, __u32 dir,
					 __u32 flags, __u64 syn_ns, __u32 wake)
{
	__u64 rb = 0;

	s->ts_ns = bpf_ktime_get_ns();
	s->syn_ns = syn_ns;
	s->wirelen = wirelen;
	s->caplen = cap;
	s->dir = dir;
	s->flags = flags;
	/* A sample of a flow user space is judging already waits for its
	 * next turn (it polls every 250 ms while flows are undecided): no
	 * wake-up per packet, unless scr_ring_wake_bytes wait. A held reply,
	 * a sample the caller wants answered now, and a flow's first sample
	 * unless user space polls anyway (scr_user_polls) wake it, whatever
	 * waits before them (the adaptive wake-up would not: it fires only
	 * when user space has read all before). */
	if (wake || (flags & SCR_HOST_SF_HELD) ||
	    ((flags & SCR_HOST_SF_FIRST) &&
	     !*(volatile __u32 *)&scr_user_polls))
		rb = BPF_RB_FORCE_WAKEUP;
	else if (scr_sample_lazy)
		rb = bpf_ringbuf_query(&host_samples, BPF_RB_AVAIL_DATA) >=
		     scr_ring_wake_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&host_samples, s, SCR_HOST_SAMPLE_HDR + cap, rb)) {
		scr_host_count(SCR_HOST_C_RB_FULL, wirelen);
		return -1;
	}
	scr_host_count(dir == SCR_HOST_INGRESS ? SCR_HOST_C_SAMPLE_IN :
		       SCR_HOST_C_SAMPLE_OUT, wirelen);
	if (flags & SCR_HOST_SF_TRUNC)
		scr_host_count(SCR_HOST_C_SAMPLE_TRUNC, wirelen);
	return 0;
}

/* scr_host_cap - bytes to copy of a frame of len bytes; TRUNC in *flags */
static __always_inline __u32 scr_host_cap(__u32 len, __u32 *flags)
{
	__u32 cap = len;

	if (cap > scr_sample_bytes) {
		cap = scr_sample_bytes;
		*flags |= SCR_HOST_SF_TRUNC;
	}
	if (cap > SCR_HOST_SAMPLE_MAX) {
		cap = SCR_HOST_SAMPLE_MAX;
		*flags |= SCR_HOST_SF_TRUNC;
	}
	return cap;
}

/* scr_host_sample_xdp - sample an XDP frame (syn_ns: FIRST samples); 0
 * or -1 (not queued) */
static __noinline int scr_host_sample_xdp(struct xdp_md *ctx, __u32 flags,
					  __u64 syn_ns, __u32 wake)
{
	struct scr_host_sample *s;
	__u32 zero = 0, len;
	__u64 cap;

	if (!ctx)
		return -1;
	s = bpf_map_lookup_elem(&host_scratch, &zero);
	if (!s)
		return -1;
	len = bpf_xdp_get_buff_len(ctx);
	cap = scr_host_cap(len, &flags);
	/* Two checks on one 64-bit register the compiler may not merge or
	 * copy: the verifier needs both bounds on the size it is passed. */
	asm volatile("" : "+r"(cap));
	if (cap > SCR_HOST_SAMPLE_MAX)
		return -1;
	asm volatile("" : "+r"(cap));
	if (cap == 0)
		return -1;
	if (bpf_xdp_load_bytes(ctx, 0, s->data, cap))
		return -1;
	return scr_host_emit(s, len, cap, SCR_HOST_INGRESS, flags, syn_ns, wake);
}

/* scr_host_sample_skb - sample an egress skb; 0 or -1 (not queued) */
static __noinline int scr_host_sample_skb(struct __sk_buff *skb, __u32 flags)
{
	struct scr_host_sample *s;
	__u32 zero = 0, len;
	__u64 cap;

	if (!skb)
		return -1;
	s = bpf_map_lookup_elem(&host_scratch, &zero);
	if (!s)
		return -1;
	len = skb->len;
	cap = scr_host_cap(len, &flags);
	/* Two checks on one 64-bit register the compiler may not merge or
	 * copy: the verifier needs both bounds on the size it is passed. */
	asm volatile("" : "+r"(cap));
	if (cap > SCR_HOST_SAMPLE_MAX)
		return -1;
	asm volatile("" : "+r"(cap));
	if (cap == 0)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, s->data, cap))
		return -1;
	return scr_host_emit(s, len, cap, SCR_HOST_EGRESS, flags, 0, 0);
}

#define SCR_HOST_PASS_ANSWER		100	/* XDP_PASS, counted apart */
#define SCR_TCP_STATE_LISTEN		10	/* include/net/tcp_states.h */
#define SCR_TCP_STATE_NEW_SYN_RECV	12

/* The fields of the kernel's struct tcp_request_sock read here (CO-RE:
 * libbpf finds their offsets in the running kernel's BTF). */
struct tcp_request_sock___scr {
	__u64 snt_synack;	/* first SYN-ACK sent, tcp_clock_us (CLOCK_MONOTONIC us) */
	__u32 rcv_isn;		/* the client's ISN */
} __attribute__((preserve_access_index));

/* What a request socket says of a handshake. */
struct scr_host_req {
	__u32 isn;		/* the client's ISN */
	__u32 _pad;
	__u64 syn_ns;		/* its first SYN-ACK, CLOCK_MONOTONIC ns */
};

/* scr_host_sk_state - the TCP state of the server's socket for the flow:
 * TCP_NEW_SYN_RECV when a request socket waits for the handshake (its
 * SYN-ACK retransmissions will ask the client for the ACK again), the
 * listener's TCP_LISTEN when there is no connection (a SYN cookie was
 * sent, or it ended), 0 when nothing listens */
static __noinline int scr_host_sk_state(struct xdp_md *ctx,
					const struct scr_host_flow_key *k,
					struct scr_host_req *rq)
{
	struct tcp_request_sock___scr *req;
	struct bpf_sock_tuple t = {};
	const __u32 *c = (const __u32 *)k->client;
	const __u32 *sv = (const __u32 *)k->server;
	struct bpf_sock *sk;
	__u32 size;
	int st;

	if (!ctx || !k)
		return 0;
	if (c[0] == 0 && c[1] == 0 && c[2] == bpf_htonl(0xffff)) {
		t.ipv4.saddr = c[3];
		t.ipv4.daddr = sv[3];
		t.ipv4.sport = k->client_port;
		t.ipv4.dport = k->server_port;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, k->client, 16);
		__builtin_memcpy(t.ipv6.daddr, k->server, 16);
		t.ipv6.sport = k->client_port;
		t.ipv6.dport = k->server_port;
		size = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	st = sk->state;
	if (rq && st == SCR_TCP_STATE_NEW_SYN_RECV) {
		req = (void *)bpf_skc_to_tcp_request_sock(sk);
		if (req) {
			rq->isn = req->rcv_isn;
			rq->syn_ns = req->snt_synack * 1000;
		}
	}
	bpf_sk_release(sk);
	return st;
}

/* scr_csum_fold - a one's complement sum folded to 16 bits, inverted */
static __always_inline __u16 scr_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* scr_csum_replace2 - RFC 1624 update of a checksum for one 16-bit word */
static __always_inline void scr_csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	__u32 s = (__u32)(__u16)~*sum + (__u32)(__u16)~from + to;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = (__u16)~s;
}

/* Pseudo headers for the TCP checksum. */
struct scr_pseudo4 {
	__be32 saddr, daddr;
	__u8 zero, proto;
	__be16 len;
};

struct scr_pseudo6 {
	__u8 saddr[16], daddr[16];
	__be32 len;
	__u8 zero[3], nexthdr;
};

/* scr_host_rst - turn the client's segment into a bare RST|ACK toward the
 * server with a 20-byte TCP header and no payload (same addresses, ports,
 * seq and ack): it ends the request socket. IP length and both checksums
 * are made anew, the frame is cut after the TCP header. 0, or -1 (left as
 * it was). */
static __noinline int scr_host_rst(struct xdp_md *ctx, const struct scr_pkt *p)
{
	void *data, *end;
	__u32 l3off, l4off, hl;
	__u64 o3, o4, sum;
	struct tcphdr *tcp;
	__u8 *tb;

	if (!ctx || !p)
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	l3off = p->l3off;
	l4off = p->l4off;
	if (l3off > 64 || l4off > SCR_HOST_OFF_MAX || l4off < l3off)
		return -1;
	o3 = l3off;
	o4 = l4off;
	hl = l4off - l3off;
	asm volatile("%[o] &= 0x7f" : [o] "+r"(o3));
	asm volatile("%[o] &= 0x1fff" : [o] "+r"(o4));
	tcp = data + o4;
	if ((void *)(tcp + 1) > end)
		return -1;
	tb = (__u8 *)tcp;
	tb[12] = 5 << 4;		/* doff 5, no options */
	tb[13] = 0x04 | 0x10;		/* RST | ACK */
	tcp->window = 0;
	tcp->urg_ptr = 0;
	tcp->check = 0;
	if (p->family == 4) {
		struct iphdr *ip4 = data + o3;
		struct scr_pseudo4 ph = {};
		__u16 w;

		if ((void *)(ip4 + 1) > end || ip4->version != 4)
			return -1;
		w = ip4->tot_len;
		ip4->tot_len = bpf_htons(hl + 20);
		scr_csum_replace2(&ip4->check, w, ip4->tot_len);
		ph.saddr = ip4->saddr;
		ph.daddr = ip4->daddr;
		ph.proto = IPPROTO_TCP;
		ph.len = bpf_htons(20);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	} else {
		struct ipv6hdr *ip6 = data + o3;
		struct scr_pseudo6 ph = {};

		if ((void *)(ip6 + 1) > end || ip6->version != 6 || hl < 40)
			return -1;
		ip6->payload_len = bpf_htons(hl - 40 + 20);
		__builtin_memcpy(ph.saddr, &ip6->saddr, 16);
		__builtin_memcpy(ph.daddr, &ip6->daddr, 16);
		ph.len = bpf_htonl(20);
		ph.nexthdr = IPPROTO_TCP;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	}
	sum = bpf_csum_diff(NULL, 0, (__be32 *)tcp, 20, (__u32)sum);
	tcp->check = scr_csum_fold(sum);
	if (bpf_xdp_adjust_tail(ctx, (int)(o4 + 20) - (int)(end - data)))
		return -1;
	return 0;
}

/* scr_host_hs_answer - may a stopped pregreeter's segment (a flow the
 * handshake hold stopped) go to the kernel, to be answered with a RST?
 * Not a RST or SYN, and no socket left for it: the kernel then answers as
 * for any segment of a connection it does not have */
static __always_inline int scr_host_hs_answer(struct xdp_md *ctx,
					      const struct scr_host_flow_key *k,
					      const struct scr_host_flow_val *v,
					      __u32 tflags)
{
	if (v->state != SCR_HOST_FS_STOP || !(v->flags & SCR_HOST_FF_HS) ||
	    (tflags & (SCR_TCP_RST | SCR_TCP_SYN)))
		return 0;
	return scr_host_sk_state(ctx, k, NULL) == SCR_TCP_STATE_LISTEN;
}

/* scr_host_handshake - the client's ACK of a recorded SYN (with or without
 * data): the handshake hold, or the flow's start (smtpscreen_abi.h) */
static __noinline int scr_host_handshake(struct xdp_md *ctx,
					 const struct scr_pkt *p,
					 const struct scr_host_flow_key *k,
					 __u64 syn_ns, __u32 paylen)
{
	struct scr_host_flow_val nv = {};
	__u64 now, wait;
	__u32 flags = SCR_HOST_SF_FIRST, len;

	if (!ctx || !p || !k)
		return XDP_PASS;
	len = ctx->data_end - ctx->data;
	nv.state = SCR_HOST_FS_SCAN;
	wait = scr_hs_hold ? *(volatile __u64 *)&scr_hs_wait_ns : 0;
	now = bpf_ktime_get_ns();
	if (wait && syn_ns && now < syn_ns + wait) {
		if (scr_host_sk_state(ctx, k, NULL) != SCR_TCP_STATE_NEW_SYN_RECV) {
			/* a SYN cookie: nothing re-solicits a dropped ACK, so
			 * the handshake completes and the greeting is held */
			scr_host_count(SCR_HOST_C_HS_NO_REQ, len);
			goto start;
		}
		if (paylen == 0) {
			scr_host_count(SCR_HOST_C_HS_ACK_HELD, len);
			return XDP_DROP;
		}
		/* It talked before the wait was over (before any greeting):
		 * user space judges it; the half-open connection stays held,
		 * or with pregreet action drop ends here. */
		bpf_map_delete_elem(&host_syn, k);
		nv.flags = SCR_HOST_FF_HS;
		nv.hold_until_ns = syn_ns + wait;
		if (scr_hs_reset)
			nv.state = SCR_HOST_FS_STOP;
		bpf_map_update_elem(&host_flows, k, &nv, BPF_ANY);
		scr_host_count(SCR_HOST_C_HS_PREGREET, len);
		scr_host_sample_xdp(ctx, SCR_HOST_SF_FIRST | SCR_HOST_SF_HS |
				    (scr_hs_reset ? SCR_HOST_SF_HS_RST : 0), syn_ns, 1);
		if (scr_hs_reset && scr_host_rst(ctx, p) == 0) {
			scr_host_count(SCR_HOST_C_HS_RST_SERVER, len);
			return XDP_PASS;
		}
		return XDP_DROP;
	}
	if (wait && syn_ns) {
		/* the wait is over before the handshake: no greeting hold */
		nv.flags = SCR_HOST_FF_HS | SCR_HOST_FF_RELEASED;
		flags |= SCR_HOST_SF_HS;
		scr_host_count(SCR_HOST_C_HS_PASSED, len);
	}
start:
	bpf_map_delete_elem(&host_syn, k);
	bpf_map_update_elem(&host_flows, k, &nv, BPF_ANY);
	scr_host_count(SCR_HOST_C_FLOW_NEW, len);
	scr_host_sample_xdp(ctx, flags, syn_ns, 1);
	return XDP_PASS;
}

/* scr_host_ingress - flow map and samples for a client -> server packet
 * the decision passed; XDP_PASS, XDP_DROP (STOP, handshake hold) or
 * SCR_HOST_PASS_ANSWER (a stopped pregreeter's segment for the kernel to
 * answer with a RST). A SYN is only recorded; the
 * handshake's ACK starts the flow (smtpscreen_abi.h). */
static __always_inline int scr_host_ingress(struct xdp_md *ctx,
					    const struct scr_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct scr_host_flow_key k = {};
	struct scr_host_flow_val nv = {}, *v;
	struct scr_host_syn_val sv = {}, *sp;
	struct scr_host_seg sg;
	__u32 len = end - data;

	if (scr_host_key(data, end, p, 0, &k, &sg))
		return XDP_PASS;
	v = bpf_map_lookup_elem(&host_flows, &k);
	if ((sg.tflags & (SCR_TCP_SYN | SCR_TCP_ACK)) == SCR_TCP_SYN) {
		if (v && v->state != SCR_HOST_FS_SCAN)
			bpf_map_delete_elem(&host_flows, &k);	/* 4-tuple reused */
		if (sg.paylen == 0) {
			sv.isn = sg.seq;
			sv.syn_ns = bpf_ktime_get_ns();
			bpf_map_update_elem(&host_syn, &k, &sv, BPF_ANY);
			scr_host_count(SCR_HOST_C_SYN, len);
			return XDP_PASS;
		}
		/* data on the SYN (TCP Fast Open): screened from here */
		nv.state = SCR_HOST_FS_SCAN;
		bpf_map_update_elem(&host_flows, &k, &nv, BPF_ANY);
		scr_host_count(SCR_HOST_C_FLOW_NEW, len);
		scr_host_sample_xdp(ctx, 0, 0, 1);
		return XDP_PASS;
	}
	if (!v) {
		sp = NULL;
		if ((sg.tflags & (SCR_TCP_SYN | SCR_TCP_ACK | SCR_TCP_RST |
				  SCR_TCP_FIN)) == SCR_TCP_ACK)
			sp = bpf_map_lookup_elem(&host_syn, &k);
		if (sp && sp->isn + 1 == sg.seq)
			return scr_host_handshake(ctx, p, &k, sp->syn_ns,
						  sg.paylen);
		if (scr_hs_hold && !sp &&
		    (sg.tflags & (SCR_TCP_SYN | SCR_TCP_ACK | SCR_TCP_RST |
				  SCR_TCP_FIN)) == SCR_TCP_ACK) {
			/* The SYN's record was pushed out of host_syn (a SYN
			 * flood during the wait): the request socket knows
			 * the handshake, so it is held all the same. */
			struct scr_host_req rq = {};

			if (scr_host_sk_state(ctx, &k, &rq) ==
			    SCR_TCP_STATE_NEW_SYN_RECV && rq.syn_ns &&
			    rq.isn + 1 == sg.seq) {
				scr_host_count(SCR_HOST_C_HS_SYN_FROM_REQ, len);
				return scr_host_handshake(ctx, p, &k, rq.syn_ns,
							  sg.paylen);
			}
		}
		scr_host_count(SCR_HOST_C_FLOW_MISS, len);
		return XDP_PASS;
	}
	switch (v->state) {
	case SCR_HOST_FS_SCAN:
		if ((v->flags & (SCR_HOST_FF_HS | SCR_HOST_FF_RELEASED)) ==
		    SCR_HOST_FF_HS) {
			/* a pregreeter the policy lets go on (enforce,
			 * ignore): held until the wait is over, then its
			 * retransmission completes the handshake */
			if (bpf_ktime_get_ns() < v->hold_until_ns) {
				scr_host_count(SCR_HOST_C_HS_DROP, len);
				return XDP_DROP;
			}
			v->flags |= SCR_HOST_FF_RELEASED;
		}
		scr_host_sample_xdp(ctx, 0, 0, 0);
		return XDP_PASS;
	case SCR_HOST_FS_STOP:
		if (scr_host_hs_answer(ctx, &k, v, sg.tflags)) {
			scr_host_count(SCR_HOST_C_HS_RST_CLIENT, len);
			return SCR_HOST_PASS_ANSWER;
		}
		scr_host_count(SCR_HOST_C_STOP_DROP_IN, len);
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

/* scr_host_blocked - a blocked client's packet: dropped, but a stopped
 * pregreeter's retransmission is passed when it has no socket left, so
 * that the kernel answers it with a RST: XDP_PASS or XDP_DROP */
static __noinline int scr_host_blocked(struct xdp_md *ctx,
				       const struct scr_pkt *p)
{
	struct scr_host_flow_key k = {};
	struct scr_host_flow_val *v;
	struct scr_host_seg sg;
	void *data, *end;

	if (!ctx || !p)
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (scr_host_key(data, end, p, 0, &k, &sg))
		return XDP_DROP;
	v = bpf_map_lookup_elem(&host_flows, &k);
	if (!v || !scr_host_hs_answer(ctx, &k, v, sg.tflags))
		return XDP_DROP;
	scr_host_count(SCR_HOST_C_HS_RST_CLIENT, (__u32)(end - data));
	return XDP_PASS;
}

/* ---- host mode: the SMTP smuggling guard (smtpscreen_abi.h) ---- */

/* scr_smug_count - count one guard event */
static __always_inline void scr_smug_count(__u32 idx, __u64 bytes)
{
	struct scr_xdp_ctr_val *v;

	v = bpf_map_lookup_elem(&host_smug_ctr, &idx);
	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* scr_smug_action - the guard's action; -1 when it is off */
static __always_inline int scr_smug_action(void)
{
	struct scr_host_smug_cfg *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&host_smug_cfg, &zero);
	if (!c || !c->on)
		return -1;
	return (int)(c->action & 3);
}

/* The lines after a sequence: commands of a smuggled message
 * (case-insensitive), as the engine's scr_smug. */
#define SCR_SMUG_NWORDS	4
#define SCR_SMUG_WLEN	10
static const char scr_smug_word[SCR_SMUG_NWORDS][SCR_SMUG_WLEN + 1] = {
	"MAIL FROM:", "RCPT TO:", "DATA\r", "DATA\n",
};

/* Results of one dot or one after-match (global functions return them). */
#define SCR_SMUG_GO	0	/* scan on */
#define SCR_SMUG_END	1	/* CRLF.CRLF: DATA is over */
#define SCR_SMUG_STOP	2	/* stop: drop the segment */

/* The segment being scanned: its payload at frame offset base, n bytes,
 * new content from st (before it: the tail); the action. */
struct scr_smug_cur {
	__u32 base;
	__u32 st;
	__u32 n;
	__u32 act;
};

/* scr_smug_after - match a line after a sequence from payload offset e
 * (frame offset base + e) up to n; sets R_STRONG / R_WEAK in v->rnow, and
 * F_LINES when the line is not a command (then each later line up to the
 * message's end is matched, as the engine's scr_smug does: a junk or RSET
 * line between the sequence and its commands hides nothing); SCR_SMUG_STOP
 * when commands follow under enforce, else SCR_SMUG_GO. A global function:
 * the verifier checks it once. */
__noinline int scr_smug_after(struct xdp_md *ctx, struct scr_host_smug_val *v,
			      const struct scr_smug_cur *c, __u32 e)
{
	__u8 b[SCR_SMUG_WLEN];
	__u32 len, i, w, apos, cand, base, n, act;
	__u64 l;

	if (!ctx || !v || !c || !(v->flags & SCR_HOST_SMUG_F_AFTER))
		return SCR_SMUG_GO;
	base = c->base;
	n = c->n;
	act = c->act;
	if (e >= n)
		return SCR_SMUG_GO;
	l = n - e;
	if (l > SCR_SMUG_WLEN)
		l = SCR_SMUG_WLEN;
	asm volatile("%[l] &= 15" : [l] "+r"(l));	/* the verifier's bound */
	if (l == 0 || l > SCR_SMUG_WLEN || base > 0xffff || e > 0xffff ||
	    bpf_xdp_load_bytes(ctx, base + e, b, l))
		return SCR_SMUG_GO;
	len = (__u32)l;
	apos = v->apos;
	cand = v->acand;
#pragma clang loop unroll(full)
	for (i = 0; i < SCR_SMUG_WLEN; i++) {
		__u8 u = b[i];

		if (i >= len || apos >= SCR_SMUG_WLEN)
			break;
		if (u >= 'a' && u <= 'z')
			u -= 32;
#pragma clang loop unroll(full)
		for (w = 0; w < SCR_SMUG_NWORDS; w++) {
			if (!(cand & (1u << w)))
				continue;
			if ((__u8)scr_smug_word[w][apos] != u) {
				cand &= ~(1u << w);
			} else if (scr_smug_word[w][apos + 1] == '\0') {
				v->flags &= ~SCR_HOST_SMUG_F_AFTER;
				v->rnow |= SCR_HOST_SMUG_R_STRONG;
				if (!(v->rnow & SCR_HOST_SMUG_R_SEQ))
					v->toff = e;
				scr_smug_count(SCR_HOST_SMUG_C_CMD, 0);
				return act == SCR_HOST_SMUG_A_ENFORCE ?
				       SCR_SMUG_STOP : SCR_SMUG_GO;
			}
		}
		apos++;
		if (cand == 0) {	/* not a command: the next line may be */
			v->flags &= ~SCR_HOST_SMUG_F_AFTER;
			v->flags |= SCR_HOST_SMUG_F_LINES;
			v->rnow |= SCR_HOST_SMUG_R_WEAK;
			return SCR_SMUG_GO;
		}
	}
	v->apos = apos;
	v->acand = cand;
	return SCR_SMUG_GO;
}

/* Line break kinds around a dot. */
#define SCR_SMUG_K_NONE	0
#define SCR_SMUG_K_LF	1
#define SCR_SMUG_K_CRLF	2
#define SCR_SMUG_K_CR	3

/* scr_smug_dot - judge a dot at content offset a of the payload at frame
 * offset base (n bytes; st: where the new content begins, bytes before
 * it come from v->tail; a may be st - 2 or st - 1, a dot in the tail whose
 * deciding byte is here). A dot whose deciding byte is not here yet is
 * left to the next segment (it is in the tail then). SCR_SMUG_END at
 * CRLF.CRLF (*not* a find), SCR_SMUG_STOP when the action stops here,
 * else SCR_SMUG_GO. A global function: the verifier checks it once. */
__noinline int scr_smug_dot(struct xdp_md *ctx, struct scr_host_smug_val *v,
			    const struct scr_smug_cur *cur, __s32 a)
{
	__s32 lo, hi, x, i;
	__u8 b[5];
	int c[5];
	__u32 k1, k2, tl, e, base, st, n;
	__u64 l;

	if (!ctx || !v || !cur)
		return SCR_SMUG_GO;
	base = cur->base;
	st = cur->st;
	n = cur->n;
	if (base > 0xffff || n > SCR_HOST_SMUG_SCAN_MAX ||
	    st > n || a < (__s32)st - 2 || a >= (__s32)n)
		return SCR_SMUG_GO;
	/* the stream bytes a-2 .. a+2: before st from the tail, past n none */
	lo = a - 2 > (__s32)st ? a - 2 : (__s32)st;
	hi = a + 3 < (__s32)n ? a + 3 : (__s32)n;
	l = hi > lo ? (__u32)(hi - lo) : 0;
	asm volatile("%[l] &= 7" : [l] "+r"(l));	/* the verifier's bound */
	if (l > 5)
		return SCR_SMUG_GO;
	if (l && bpf_xdp_load_bytes(ctx, base + (__u32)lo, b, l))
		return SCR_SMUG_GO;
#pragma clang loop unroll(full)
	for (i = 0; i < 5; i++) {
		x = a - 2 + i;
		if (x < (__s32)st) {
			__s32 t = 4 - ((__s32)st - x);

			c[i] = t >= 0 && t < 4 ? v->tail[t & 3] : -1;
		} else if (x < (__s32)n && (__u32)(x - lo) < 5) {
			c[i] = b[(__u32)(x - lo)];
		} else {
			c[i] = -1;
		}
	}
	if (c[1] == '\n')
		k1 = c[0] == '\r' ? SCR_SMUG_K_CRLF : SCR_SMUG_K_LF;
	else if (c[1] == '\r')
		k1 = SCR_SMUG_K_CR;
	else
		return SCR_SMUG_GO;
	if (c[3] == '\n') {
		k2 = SCR_SMUG_K_LF;
		tl = 1;
	} else if (c[3] == '\r') {
		if (c[4] < 0)
			return SCR_SMUG_GO;	/* decided by the next segment */
		k2 = c[4] == '\n' ? SCR_SMUG_K_CRLF : SCR_SMUG_K_CR;
		tl = c[4] == '\n' ? 2 : 1;
	} else {
		return SCR_SMUG_GO;		/* not a dot line, or undecided */
	}
	e = (__u32)(a + 1 + (__s32)tl);
	if (k1 == SCR_SMUG_K_CRLF && k2 == SCR_SMUG_K_CRLF) {
		if (v->flags & SCR_HOST_SMUG_F_AFTER)	/* the message ended */
			v->rnow |= SCR_HOST_SMUG_R_WEAK;
		v->flags &= ~(SCR_HOST_SMUG_F_AFTER | SCR_HOST_SMUG_F_LINES);
		return SCR_SMUG_END;
	}
	if (!(v->rnow & (SCR_HOST_SMUG_R_SEQ | SCR_HOST_SMUG_R_STRONG))) {
		x = a - (k1 == SCR_SMUG_K_CRLF ? 2 : 1);
		v->toff = x > (__s32)st ? (__u32)x : st;
	}
	v->rnow |= SCR_HOST_SMUG_R_SEQ;
	scr_smug_count(SCR_HOST_SMUG_C_SEQ, 0);
	if (cur->act == SCR_HOST_SMUG_A_DROP)
		return SCR_SMUG_STOP;
	v->flags |= SCR_HOST_SMUG_F_AFTER;
	v->apos = 0;
	v->acand = (1u << SCR_SMUG_NWORDS) - 1;
	return scr_smug_after(ctx, v, cur, e);
}

/* scr_smug_zb - 0x80 in each zero byte of x, 0 elsewhere (exact) */
static __always_inline __u64 scr_smug_zb(__u64 x)
{
	__u64 m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & m) + m) | x | m);
}

#define SCR_SMUG_ONES	0x0101010101010101ULL
#define SCR_SMUG_FIND_LF	0x10000

/* scr_smug_hit - the first candidate among the eight bytes w at payload
 * offset o (pw: w shifted up a byte, the byte before it at the bottom): a
 * dot after a CR or LF, or with lm an LF (returned with SCR_SMUG_FIND_LF
 * added); -1 when there is none */
static __always_inline int scr_smug_hit(__u64 w, __u64 pw, __u64 o, __u64 lm)
{
	__u64 m = scr_smug_zb(w ^ ('.' * SCR_SMUG_ONES)) &
		  (scr_smug_zb(pw ^ ('\n' * SCR_SMUG_ONES)) |
		   scr_smug_zb(pw ^ ('\r' * SCR_SMUG_ONES)));
	__u64 lf = lm ? scr_smug_zb(w ^ ('\n' * SCR_SMUG_ONES)) : 0;
	__u32 b;

	if (!(m | lf))
		return -1;
	b = scr_bit_index(m | lf);
	return (int)((__u32)o + (b >> 3) + ((lf >> b) & 1 ? SCR_SMUG_FIND_LF : 0));
}

/* scr_smug_find - the payload offset of the next dot after a CR or LF in
 * [o0, n) of the payload at frame offset base (prev: the byte before o0),
 * eight bytes at a time; n when there is none. With SCR_SMUG_FIND_LF in
 * prev, LFs are candidates too, returned with SCR_SMUG_FIND_LF added (five
 * arguments at most). A global function: the verifier checks its loop
 * once. */
__noinline int scr_smug_find(struct xdp_md *ctx, __u32 base, __u32 o0, __u32 n,
			     __u32 prev)
{
	void *data, *end;
	__u8 *pl;
	__u64 w, pw, pv, o, l, bo, lm;
	__u32 i;
	int h;

	if (!ctx || base > 0x1fff || n > SCR_HOST_SMUG_SCAN_MAX || o0 >= n)
		return (int)n;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	bo = base;
	asm volatile("%[b] &= 0x1fff" : [b] "+r"(bo));	/* the verifier's bound */
	pl = data + bo;
	pv = prev & 0xff;
	lm = prev & SCR_SMUG_FIND_LF ? ~0ULL : 0;
	for (i = 0; i < SCR_HOST_SMUG_SCAN_MAX / 8; i++) {
		o = o0 + i * 8;
		asm volatile("%[o] &= 0x1fff" : [o] "+r"(o));
		if (o + 8 > n || (void *)(pl + o + 8) > end)
			break;
		w = *(__u64 *)(pl + o);
		pw = (w << 8) | pv;
		pv = w >> 56;
		h = scr_smug_hit(w, pw, o, lm);
		if (h >= 0)
			return h;
	}
	/* the last 1..7 bytes (little-endian: zeros above) */
	o = n - ((n - o0) & 7);
	l = (n - o0) & 7;
	asm volatile("%[l] &= 7" : [l] "+r"(l));
	w = 0;
	if (l == 0 || o > 0x1fff || bpf_xdp_load_bytes(ctx, base + (__u32)o, &w, l))
		return (int)n;
	/* the zeros above the l bytes are neither dots nor LFs */
	h = scr_smug_hit(w, (w << 8) | pv, o, lm);
	return h >= 0 ? h : (int)n;
}

/* One scan's state for bpf_loop (scr_smug_step). */
struct scr_smug_loop {
	struct xdp_md *ctx;
	struct scr_host_smug_val *v;
	const struct scr_smug_cur *c;
	__u32 o;		/* where the next candidate is looked for */
	__u32 prev;		/* the byte before o */
	int rc;
};

/* scr_smug_step - bpf_loop callback: judge the next candidate dot, or
 * (F_LINES) match the line after the next LF; 1 stops the loop (no more,
 * DATA over, or stopped) */
static long scr_smug_step(__u32 i, void *arg)
{
	struct scr_smug_loop *l = arg;
	struct scr_host_smug_val *v = l->v;
	__u32 lines = v->flags & SCR_HOST_SMUG_F_LINES ? SCR_SMUG_FIND_LF : 0;
	int a, lf;

	(void)i;
	a = scr_smug_find(l->ctx, l->c->base, l->o, l->c->n, l->prev | lines);
	if (a < 0)
		return 1;
	lf = a & SCR_SMUG_FIND_LF;
	a &= ~SCR_SMUG_FIND_LF;
	if ((__u32)a >= l->c->n)
		return 1;
	if (lf) {			/* a line starts after it */
		v->flags |= SCR_HOST_SMUG_F_AFTER;
		v->apos = 0;
		v->acand = (1u << SCR_SMUG_NWORDS) - 1;
		l->rc = scr_smug_after(l->ctx, v, l->c, (__u32)a + 1);
		l->prev = '\n';
	} else {
		l->rc = scr_smug_dot(l->ctx, v, l->c, a);
		l->prev = '.';
	}
	if (l->rc != SCR_SMUG_GO)
		return 1;
	l->o = (__u32)a + 1;
	return 0;
}

/* scr_smug_scan - the content bytes [st, n) of the payload: the line
 * after a sequence from before, dots in the tail, then every dot after a
 * CR or LF judged by scr_smug_dot and, after a sequence (F_LINES), every
 * line start matched by scr_smug_after (a dot after an LF is two
 * candidates, so there are at most two per two bytes: the bound never cuts
 * a scan short). SCR_SMUG_GO, _END or _STOP. */
static __noinline int scr_smug_scan(struct xdp_md *ctx,
				    struct scr_host_smug_val *v,
				    const struct scr_smug_cur *c)
{
	struct scr_smug_loop l;
	__u32 base, st, n;
	int rc;

	if (!ctx || !v || !c)
		return SCR_SMUG_GO;
	base = c->base;
	st = c->st;
	n = c->n;
	if (base > 0x1fff || n > SCR_HOST_SMUG_SCAN_MAX || st > n)
		return SCR_SMUG_GO;
	if (v->flags & SCR_HOST_SMUG_F_AFTER) {
		rc = scr_smug_after(ctx, v, c, st);
		if (rc != SCR_SMUG_GO)
			return rc;
	}
	/* dots in the tail whose deciding byte is here */
	if (v->tail[2] == '.' && v->tail[3] == '\r') {
		rc = scr_smug_dot(ctx, v, c, (__s32)st - 2);
		if (rc != SCR_SMUG_GO)
			return rc;
	}
	if (v->tail[3] == '.') {
		rc = scr_smug_dot(ctx, v, c, (__s32)st - 1);
		if (rc != SCR_SMUG_GO)
			return rc;
	}
	l.ctx = ctx;
	l.v = v;
	l.c = c;
	l.o = st;
	l.prev = v->tail[3];
	l.rc = SCR_SMUG_GO;
	bpf_loop(SCR_HOST_SMUG_SCAN_MAX + 1, scr_smug_step, &l, 0);
	return l.rc;
}

/* scr_smug_tail - the last four content bytes up to payload offset n */
static __always_inline void scr_smug_tail(struct xdp_md *ctx,
					  struct scr_host_smug_val *v,
					  __u32 base, __u32 st, __u32 n)
{
	__u8 b[4] = {};
	__u32 have = n - st, t, nb;
	__u64 l;

	if (have >= 4) {
		if (bpf_xdp_load_bytes(ctx, (base + n - 4) & 0x1fff, b, 4) == 0)
			__builtin_memcpy(v->tail, b, 4);
		return;
	}
	l = have;
	asm volatile("%[l] &= 3" : [l] "+r"(l));	/* the verifier's bound */
	if (l == 0 || bpf_xdp_load_bytes(ctx, (base + st) & 0x1fff, b, l))
		return;
	/* little-endian words: tail[0] is the low byte */
	__builtin_memcpy(&t, v->tail, 4);
	nb = (__u32)b[0] | (__u32)b[1] << 8 | (__u32)b[2] << 16;
	t = (t >> (8 * have)) | (nb << (8 * (4 - have)));
	__builtin_memcpy(v->tail, &t, 4);
}

/* scr_smug_report - what of v->rnow is new to report under act (as the
 * engine's smug_report): commands after a sequence once; a sequence once
 * (under drop when found, else when the line after it is known) */
static __always_inline __u32 scr_smug_report(struct scr_host_smug_val *v,
					     __u32 act)
{
	__u32 r = v->rnow, first = v->flags & SCR_HOST_SMUG_F_REP ? 0 :
				 SCR_HOST_SMUG_R_FIRST;

	if (r & SCR_HOST_SMUG_R_STRONG) {
		if (v->flags & SCR_HOST_SMUG_F_REP_CMD)
			return 0;
		v->flags |= SCR_HOST_SMUG_F_REP_CMD | SCR_HOST_SMUG_F_REP;
		return SCR_HOST_SMUG_R_STRONG | SCR_HOST_SMUG_R_SEQ | first;
	}
	if (!first)
		return 0;
	if (!(r & (act == SCR_HOST_SMUG_A_DROP ? SCR_HOST_SMUG_R_SEQ :
		   SCR_HOST_SMUG_R_WEAK)))
		return 0;
	v->flags |= SCR_HOST_SMUG_F_REP;
	return (r & (SCR_HOST_SMUG_R_SEQ | SCR_HOST_SMUG_R_WEAK)) | first;
}

/* scr_host_smug - the guard on a client -> server segment: XDP_DROP for
 * a segment it stops (and for every later one of a stopped flow) or one
 * ahead of its turn, else XDP_PASS */
static __noinline int scr_host_smug(struct xdp_md *ctx, const struct scr_pkt *p)
{
	void *data, *end;
	struct scr_host_flow_key k = {};
	struct scr_host_smug_val *v;
	struct scr_host_seg sg;
	struct scr_smug_cur c;
	__u32 st, n, rep;
	__s32 d;
	int act, rc;

	if (!ctx || !p)
		return XDP_PASS;
	act = scr_smug_action();
	if (act < 0)
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (scr_host_key(data, end, p, 0, &k, &sg))
		return XDP_PASS;
	if (sg.tflags & SCR_TCP_SYN) {
		bpf_map_delete_elem(&host_smug, &k);	/* 4-tuple reused */
		return XDP_PASS;
	}
	if (sg.paylen == 0)
		return XDP_PASS;
	v = bpf_map_lookup_elem(&host_smug, &k);
	if (!v)
		return XDP_PASS;
	if (v->state == SCR_HOST_SMUG_STOP) {
		scr_smug_count(SCR_HOST_SMUG_C_STOP_DROP, sg.paylen);
		return XDP_DROP;
	}
	n = sg.paylen;
	if (sg.payoff + n > (__u32)(end - data))
		n = (__u32)(end - data) > sg.payoff ? (__u32)(end - data) - sg.payoff : 0;
	d = (__s32)(v->next_seq - sg.seq);
	if (d < 0) {
		if (d > -(__s32)(16u << 20)) {
			/* ahead of its turn: TCP sends it again after the hole */
			scr_smug_count(SCR_HOST_SMUG_C_OOO_DROP, n);
			return XDP_DROP;
		}
		bpf_map_delete_elem(&host_smug, &k);	/* not this DATA's */
		scr_smug_count(SCR_HOST_SMUG_C_LOST, n);
		return XDP_PASS;
	}
	if ((__u32)d >= n)
		return XDP_PASS;		/* judged already */
	if (n > SCR_HOST_SMUG_SCAN_MAX || sg.payoff > SCR_HOST_SMUG_SCAN_MAX) {
		/* too long to scan (or headers too deep for the scan's
		 * offsets, which stay below 0x2000): let the flow go */
		bpf_map_delete_elem(&host_smug, &k);
		scr_smug_count(SCR_HOST_SMUG_C_LOST, n);
		return XDP_PASS;
	}
	st = (__u32)d;
	v->rnow = 0;
	scr_smug_count(SCR_HOST_SMUG_C_SCANNED, n - st);
	c.base = sg.payoff;
	c.st = st;
	c.n = n;
	c.act = (__u32)act;
	rc = scr_smug_scan(ctx, v, &c);
	rep = scr_smug_report(v, (__u32)act);
	if (rc == SCR_SMUG_STOP) {
		v->state = SCR_HOST_SMUG_STOP;
		scr_smug_count(SCR_HOST_SMUG_C_DROP, n);
	}
	if (rep || rc == SCR_SMUG_STOP)
		scr_host_sample_xdp(ctx, SCR_HOST_SF_SMUG,
				    SCR_HOST_SMUG_INFO(sg.payoff + v->toff, rep,
						       rc == SCR_SMUG_STOP), 1);
	if (rc == SCR_SMUG_STOP)
		return XDP_DROP;
	if (rc == SCR_SMUG_END) {
		bpf_map_delete_elem(&host_smug, &k);
		scr_smug_count(SCR_HOST_SMUG_C_END, 0);
		return XDP_PASS;
	}
	scr_smug_tail(ctx, v, sg.payoff, st, n);
	v->next_seq = sg.seq + n;
	return XDP_PASS;
}

/* scr_host_smug_354 - a server segment whose last line is a 354 reply
 * starts the client's DATA content at its acknowledgement number (any
 * flow on a screened port; a retransmitted 354 changes nothing) */
static __noinline int scr_host_smug_354(struct __sk_buff *skb,
					const struct scr_host_flow_key *k,
					const struct scr_host_seg *sg,
					__u32 l4off)
{
	struct scr_host_smug_val nv = {}, *v;
	__u8 b[64];
	__u32 len, s = 0, i, payoff, paylen, seq;
	__be32 ack;

	if (!skb || !k || !sg)
		return 0;
	payoff = sg->payoff;
	paylen = sg->paylen;
	seq = sg->seq;
	if (scr_smug_action() < 0 || paylen < 6 ||
	    payoff > 0xffff || paylen > 0xffff || l4off > 0xffff)
		return 0;
	len = paylen < 64 ? paylen : 64;
	if (len < 6 || len > 64 ||
	    bpf_skb_load_bytes(skb, payoff + paylen - len, b, len))
		return 0;
	if (b[(len - 1) & 63] != '\n')
		return 0;
	/* the last line: after the last LF before the final one */
	for (i = 2; i <= 64; i++) {
		if (i > len)
			break;
		if (b[(len - i) & 63] == '\n') {
			s = len - i + 1;
			break;
		}
	}
	if (s == 0 && len < paylen)
		return 0;		/* a line longer than we look at */
	if (s + 4 > len || b[s & 63] != '3' || b[(s + 1) & 63] != '5' ||
	    b[(s + 2) & 63] != '4' ||
	    (b[(s + 3) & 63] != ' ' && b[(s + 3) & 63] != '\r'))
		return 0;
	if (bpf_skb_load_bytes(skb, l4off + 8, &ack, 4))
		return 0;
	v = bpf_map_lookup_elem(&host_smug, k);
	if (v && (v->state == SCR_HOST_SMUG_STOP ||
		  (v->state == SCR_HOST_SMUG_DATA && v->srv_seq == seq)))
		return 0;
	nv.state = SCR_HOST_SMUG_DATA;
	nv.next_seq = bpf_ntohl(ack);
	nv.srv_seq = seq;
	nv.tail[2] = '\r';	/* content starts after a CRLF */
	nv.tail[3] = '\n';
	bpf_map_update_elem(&host_smug, k, &nv, BPF_ANY);
	scr_smug_count(SCR_HOST_SMUG_C_DATA, 0);
	return 1;
}

/* scr_host_hold_start - hold a server segment: sample it for user space
 * to re-send, mark the flow, consume it. STOLEN, not SHOT: TCP must count
 * the segment as sent (SHOT reports NET_XMIT_DROP, snd_nxt stays behind
 * what the client gets from the re-send, and the client later ignores our
 * RST as out of window). A full ring buffer means no hold: the segment
 * passes, or with smtpscreen_overload_policy = drop it is dropped (TCP
 * retransmits it; the session goes nowhere until user space keeps up). */
static __always_inline int scr_host_hold_start(struct __sk_buff *skb,
					       struct scr_host_flow_val *v,
					       __u32 f, __u32 sflags,
					       __u32 held, __u64 until,
					       __u32 ctr, __u32 len)
{
	if (scr_host_sample_skb(skb, sflags))
		/* user space cannot take it: the overload policy decides */
		return scr_overload_drop ? TC_ACT_SHOT : TC_ACT_OK;
	v->hold_until_ns = until;
	v->flags = f | held;
	scr_host_count(ctr, len);
	return TC_ACT_STOLEN;
}

/* scr_host_held - a hold that is on (held set, released not): consume
 * the segment until the deadline; past it user space fell behind, and
 * smtpscreen_overload_policy decides: pass (fail open, -1) or drop (the
 * segment is dropped, counted); -1 when no hold applies */
static __always_inline int scr_host_held(struct scr_host_flow_val *v, __u32 f,
					 __u32 held, __u32 released, __u64 now,
					 __u32 ctr, __u32 len)
{
	if ((f & (held | released)) != held)
		return -1;
	if (now < v->hold_until_ns) {
		scr_host_count(ctr, len);
		return TC_ACT_STOLEN;
	}
	if (scr_overload_drop) {
		scr_host_count(SCR_HOST_C_HOLD_EXPIRED_DROP, len);
		return TC_ACT_SHOT;
	}
	scr_host_count(SCR_HOST_C_HOLD_EXPIRED, len);
	return -1;
}

/* scr_host_is_354 - does the segment's payload start with "354"? */
static __always_inline int scr_host_is_354(struct __sk_buff *skb, __u32 off)
{
	__u8 b[3];

	if (off > 0xfff || bpf_skb_load_bytes(skb, off & 0xfff, b, 3))
		return 0;
	return b[0] == '3' && b[1] == '5' && b[2] == '4';
}

/* scr_host_tc - TC egress (clsact): server -> client packets of screened
 * flows: samples, greet hold, STOP */
SEC("tc")
int scr_host_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct scr_host_flow_key k = {};
	struct scr_host_flow_val *v;
	struct scr_host_seg sg;
	struct scr_pkt p = {};
	__u64 now;
	__u32 len = skb->len;
	int rc;

	if (!scr_host)
		return TC_ACT_OK;
	if (skb->mark == SCR_HOST_RESEND_MARK) {
		scr_host_count(SCR_HOST_C_RESENT_PASS, len);
		return TC_ACT_OK;
	}
	rc = scr_parse(data, end, &p, 1);
	if (rc == SCR_XDP_C_PASS_TRUNCATED && len > (__u32)(end - data)) {
		/* headers beyond the linear area: pull them in, parse again */
		if (bpf_skb_pull_data(skb, len < 256 ? len : 256))
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		__builtin_memset(&p, 0, sizeof(p));
		rc = scr_parse(data, end, &p, 1);
	}
	if (rc != SCR_XDP_C_MAX || !scr_in_ports(p.sport))
		return TC_ACT_OK;
	if (scr_host_key(data, end, &p, 1, &k, &sg))
		return TC_ACT_OK;
	if (sg.paylen >= 6)
		scr_host_smug_354(skb, &k, &sg, p.l4off);
	v = bpf_map_lookup_elem(&host_flows, &k);
	if (!v)
		return TC_ACT_OK;
	switch (v->state) {
	case SCR_HOST_FS_SCAN:
		break;
	case SCR_HOST_FS_STOP:
		/* the kernel's RST to a pregreeter it never had a socket for */
		if ((v->flags & SCR_HOST_FF_HS) && (sg.tflags & SCR_TCP_RST))
			return TC_ACT_OK;
		scr_host_count(SCR_HOST_C_STOP_DROP_OUT, len);
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
	if (sg.paylen > 0 || (sg.tflags & SCR_TCP_FIN)) {
		__u32 f = v->flags;

		now = bpf_ktime_get_ns();
		if (scr_greet_hold_ns && sg.paylen > 0 &&
		    !(f & (SCR_HOST_FF_HELD | SCR_HOST_FF_RELEASED))) {
			/* The greeting: held for the pregreet test. */
			rc = scr_host_hold_start(skb, v, f, SCR_HOST_SF_HELD,
						 SCR_HOST_FF_HELD,
						 now + scr_greet_hold_ns + scr_hold_grace_ns,
						 SCR_HOST_C_HELD, len);
			if (rc == TC_ACT_STOLEN)
				v->greet_seq = sg.seq;
			return rc;
		}
		rc = scr_host_held(v, f, SCR_HOST_FF_HELD, SCR_HOST_FF_RELEASED,
				   now, SCR_HOST_C_HELD_RETX_DROP, len);
		if (rc >= 0)
			return rc;
		if (scr_data_hold_ns && sg.paylen >= 3 &&
		    !(f & SCR_HOST_FF_DATA_HELD) &&
		    scr_host_is_354(skb, sg.payoff))
			/* DATA answered: the body follows once the client has
			 * this; user space re-sends it if the session stands. */
			return scr_host_hold_start(skb, v, f, SCR_HOST_SF_HELD |
						   SCR_HOST_SF_DATA,
						   SCR_HOST_FF_DATA_HELD,
						   now + scr_data_hold_ns,
						   SCR_HOST_C_DATA_HELD, len);
		rc = scr_host_held(v, f, SCR_HOST_FF_DATA_HELD,
				   SCR_HOST_FF_DATA_RELEASED, now,
				   SCR_HOST_C_DATA_RETX_DROP, len);
		if (rc >= 0)
			return rc;
	}
	scr_host_sample_skb(skb, 0);
	return TC_ACT_OK;
}
#endif /* !SCR_XDP_INLINE */

#if !SCR_XDP_INLINE
/* scr_seat_steer - sk_lookup (the daemon's network namespace): a new
 * connection to an SMTP port from a client the permanent permit or a
 * live dynamic ALLOW entry does not let through goes to the seat's
 * listening socket, whatever port that listens on; the others find the
 * usual listener (smtpd). Rejected and blocked clients never get here
 * (XDP). No seat socket (the daemon is gone): smtpscreen_overload_policy
 * decides: pass finds smtpd, drop refuses the connection. */
SEC("sk_lookup")
int scr_seat_steer(struct bpf_sk_lookup *ctx)
{
	__u32 key, sel, ans;
	struct bpf_sock *sk;
	int dyn, err;

	if (ctx->protocol != IPPROTO_TCP || !scr_in_ports(ctx->local_port))
		return SK_PASS;
	sel = *(volatile __u32 *)&scr_state.active & 1;
	if (ctx->family == 2) {			/* AF_INET */
		ans = scr_perm4(ctx->remote_ip4, sel);
		dyn = ans == SCR_XDP_ANS_PERMIT ? SCR_DYN_HIT :
		      scr_dyn4(bpf_ntohl(ctx->remote_ip4), SCR_XDP_KIND_ALLOW);
		key = SCR_SEAT_SOCK_V4;
	} else if (ctx->family == 10) {		/* AF_INET6 */
		ans = scr_perm6(ctx->remote_ip6[0], ctx->remote_ip6[1],
				ctx->remote_ip6[2], ctx->remote_ip6[3], sel);
		dyn = ans == SCR_XDP_ANS_PERMIT ? SCR_DYN_HIT :
		      scr_dyn6(ctx->remote_ip6[0], ctx->remote_ip6[1],
			       ctx->remote_ip6[2], ctx->remote_ip6[3],
			       SCR_XDP_KIND_ALLOW);
		key = SCR_SEAT_SOCK_V6;
	} else {
		return SK_PASS;
	}
	if (dyn == SCR_DYN_HIT)
		return SK_PASS;		/* the pass cache, the permit: smtpd */
	sk = bpf_map_lookup_elem(&seat_sock, &key);
	if (!sk)
		return scr_overload_drop ? SK_DROP : SK_PASS;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return scr_overload_drop ? SK_DROP : SK_PASS;
	return SK_PASS;
}
#endif

/* scr_xsk_pass - a packet that passes: to the AF_XDP socket of its rx
 * queue when xsks_map has one (counted), else XDP_PASS */
static __always_inline int scr_xsk_pass(struct xdp_md *ctx, __u64 bytes)
{
	__u32 q = ctx->rx_queue_index;

	if (bpf_map_lookup_elem(&xsks_map, &q)) {
		scr_count(SCR_XDP_C_REDIRECT_XSK, bytes);
		return bpf_redirect_map(&xsks_map, q, XDP_PASS);
	}
	return XDP_PASS;
}

/* scr_xdp_main - the XDP program's body; host is a compile-time constant,
 * so that scr_xdp_prog is compiled as if host mode did not exist */
static __always_inline int scr_xdp_main(struct xdp_md *ctx, const int host)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	struct scr_pkt p = {};
	__u32 sel, ans, reason;
	int rc, smtp = 0, dyn;
	__u32 w[4] = {};	/* zeroed: with the host guard's call above its
				 * use, clang kept an undefined w in a register
				 * the call clobbers, which the verifier refuses */

	rc = scr_parse(data, end, &p, host);
	if (rc == SCR_XDP_C_MAX) {
		smtp = scr_in_ports(p.dport);
		if (!smtp && !scr_block_all) {
			scr_count(SCR_XDP_C_PASS_OTHER_PORT, bytes);
			return scr_xsk_all ? scr_xsk_pass(ctx, bytes) : XDP_PASS;
		}
	} else if (!scr_block_all || p.family == 0) {
		scr_count(rc, bytes);
		return scr_xsk_all ? scr_xsk_pass(ctx, bytes) : XDP_PASS;
	}
#if !SCR_XDP_INLINE
	/* Host mode: the smuggling guard follows every SMTP session in DATA,
	 * whatever the lists say of its client. */
	if (host && smtp && scr_host_smug(ctx, &p) == XDP_DROP) {
		scr_count(SCR_XDP_C_DROP_FLOW_STOP, bytes);
		return XDP_DROP;
	}
#endif

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
#if !SCR_XDP_INLINE
		if (host && smtp && scr_hs_hold &&
		    scr_host_blocked(ctx, &p) == XDP_PASS) {
			scr_count(SCR_XDP_C_PASS_HS_ANSWER, bytes);
			return XDP_PASS;
		}
#endif
		scr_count(SCR_XDP_C_DROP_BLOCK, bytes);
		return XDP_DROP;
	}
	reason = dyn == SCR_DYN_EXPIRED ? SCR_XDP_C_PASS_EXPIRED :
		 SCR_XDP_C_PASS_UNLISTED;
#if !SCR_XDP_INLINE
	/* Host mode: not on the pass cache, so the flow map decides. */
	if (host && smtp) {
		rc = scr_host_ingress(ctx, &p);
		if (rc == XDP_DROP) {
			scr_count(SCR_XDP_C_DROP_FLOW_STOP, bytes);
			return XDP_DROP;
		}
		if (rc == SCR_HOST_PASS_ANSWER)
			reason = SCR_XDP_C_PASS_HS_ANSWER;
	}
#endif
	scr_count(reason, bytes);
pass:
#if SCR_XDP_INLINE
	if ((smtp && scr_xsk_redirect) || scr_xsk_all)
		return scr_xsk_pass(ctx, bytes);
#else
	/* Written out as it was before scr_xsk_pass: the same code. */
	if (smtp && scr_xsk_redirect) {
		__u32 q = ctx->rx_queue_index;

		if (bpf_map_lookup_elem(&xsks_map, &q)) {
			scr_count(SCR_XDP_C_REDIRECT_XSK, bytes);
			return bpf_redirect_map(&xsks_map, q, XDP_PASS);
		}
	}
#endif
	return XDP_PASS;
}

/* scr_xdp_prog - the XDP entry point (smtpscreen xdp, inline, bench) */
SEC("xdp")
int scr_xdp_prog(struct xdp_md *ctx)
{
	return scr_xdp_main(ctx, 0);
}

#if !SCR_XDP_INLINE
/* scr_xdp_host - the XDP entry point in host mode (flows and samples);
 * a second program rather than a branch on scr_host, because even a
 * branch the verifier removes changed scr_xdp_prog's code (register
 * allocation around the inlined host path): +3 ns per packet measured */
SEC("xdp")
int scr_xdp_host(struct xdp_md *ctx)
{
	return scr_xdp_main(ctx, 1);
}
#endif
