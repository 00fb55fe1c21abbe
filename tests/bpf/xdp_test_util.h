/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	xdp_test_util - frames and BPF_PROG_TEST_RUN helpers for the XDP tests
 * DESCRIPTION
 *	xt_build() writes a frame (Ethernet, 0-3 VLAN tags with QinQ, IPv4
 *	with options/fragments/bad ihl, IPv6 with extension headers and
 *	fragment header, TCP/UDP) and can cut it at any length; xt_run()
 *	runs a program once on it; xt_ctr() reads the summed counters.
 *	Test-only code, no checksums.
 * CONTRACT
 *	xt_build returns the frame length (after the cut). xt_run: 0 or
 *	-errno, XDP action in *act.
 * THREADING
 *	Test thread.
 */
#ifndef XDP_TEST_UTIL_H
#define XDP_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "ctl_maps.h"

struct xt_pkt {
	int v6;
	const char *src;	/* NULL: 198.18.0.1 / 2001:db8::1 */
	uint16_t dport;		/* 0 = 25 */
	int vlans;		/* 802.1Q tags */
	int qinq;		/* first tag 802.1ad */
	int ip_opts;		/* IPv4 option bytes, multiple of 4 */
	int ihl;		/* force IPv4 ihl (0 = computed) */
	int v6_ext;		/* IPv6 extension headers (hop, dst, routing...) */
	int frag;		/* 1 first fragment, 2 non-first */
	uint8_t proto;		/* 0 = TCP */
	int doff;		/* TCP data offset, 0 = 5 */
	int cut;		/* > 0: cut the frame to this many bytes */
	int cut_l4;		/* cut this many bytes off the end */
	uint16_t ethertype;	/* 0 = from v6 */
};

/* xt_build - write a frame; its length */
static inline int xt_build(uint8_t *b, const struct xt_pkt *p)
{
	static const uint8_t exts[] = { 0, 60, 43, 60, 60, 60, 60, 60, 60, 60 };
	int off = 12, i, l3, len;
	uint8_t proto = p->proto ? p->proto : 6;

	memset(b, 0, 256);
	b[0] = 2; b[5] = 1; b[6] = 2; b[11] = 2;
	for (i = 0; i < p->vlans; i++) {
		uint16_t tpid = (i == 0 && p->qinq) ? 0x88a8 : 0x8100;

		b[off] = (uint8_t)(tpid >> 8); b[off + 1] = (uint8_t)tpid;
		b[off + 3] = (uint8_t)(10 + i);
		off += 4;
	}
	{
		uint16_t et = p->ethertype ? p->ethertype : p->v6 ? 0x86dd : 0x0800;

		b[off] = (uint8_t)(et >> 8); b[off + 1] = (uint8_t)et;
	}
	l3 = off + 2;
	if (!p->v6) {
		int ihl = p->ihl ? p->ihl : 5 + p->ip_opts / 4;

		b[l3] = (uint8_t)(0x40 | ihl);
		b[l3 + 2] = 0; b[l3 + 3] = 60;
		if (p->frag == 1)
			b[l3 + 6] = 0x20;	/* MF */
		if (p->frag == 2)
			b[l3 + 7] = 0x10;	/* offset 16*8 */
		b[l3 + 8] = 64;
		b[l3 + 9] = proto;
		inet_pton(AF_INET, p->src ? p->src : "198.18.0.1", b + l3 + 12);
		inet_pton(AF_INET, "198.19.0.25", b + l3 + 16);
		for (i = 20; i < 4 * (p->ihl ? 5 : ihl); i++)
			b[l3 + i] = 1;	/* NOP options */
		off = l3 + 4 * (ihl < 5 ? 5 : ihl);
	} else {
		uint8_t *nh = &b[l3 + 6];

		b[l3] = 0x60;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, p->src ? p->src : "2001:db8::1", b + l3 + 8);
		inet_pton(AF_INET6, "2001:db8:ffff::25", b + l3 + 24);
		off = l3 + 40;
		for (i = 0; i < p->v6_ext; i++) {
			*nh = exts[i % 10];
			nh = &b[off];
			b[off + 1] = 0;		/* 8 bytes */
			off += 8;
		}
		if (p->frag) {
			*nh = 44;
			nh = &b[off];
			if (p->frag == 2)
				b[off + 3] = 0x80;	/* offset 16 */
			else
				b[off + 3] = 0x01;	/* M */
			off += 8;
		}
		*nh = proto;
	}
	/* L4: ports first in TCP and UDP */
	b[off] = 0x30; b[off + 1] = 0x39;
	{
		uint16_t dp = p->dport ? p->dport : 25;

		b[off + 2] = (uint8_t)(dp >> 8); b[off + 3] = (uint8_t)dp;
	}
	b[off + 12] = (uint8_t)((p->doff ? p->doff : 5) << 4);
	b[off + 13] = 0x02;	/* SYN */
	len = off + 20;
	if (p->cut_l4)
		len -= p->cut_l4;
	if (p->cut)
		len = p->cut;
	return len;
}

/* xt_run - run prog once on a frame */
static inline int xt_run(int prog_fd, const void *pkt, int len, uint32_t *act)
{
	uint8_t out[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int rc;

	*act = UINT32_MAX;	/* no XDP action: set on every path */
	rc = bpf_prog_test_run_opts(prog_fd, &o);
	if (rc)
		return -errno;
	*act = o.retval;
	return 0;
}

/* xt_v4 - scr_addr of an IPv4 text address */
static inline struct scr_addr xt_addr(const char *txt)
{
	struct scr_addr a = {};

	if (strchr(txt, ':')) {
		inet_pton(AF_INET6, txt, a.b);
	} else {
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		inet_pton(AF_INET, txt, &a.b[12]);
	}
	return a;
}

/* xt_entry - a permanent-list entry from text ("198.18.1.0", 24) */
static inline struct ctl_xdp_entry xt_entry(const char *txt, unsigned plen,
					    uint8_t ans)
{
	struct ctl_xdp_entry e = {};

	e.net = xt_addr(txt);
	e.plen = (uint8_t)(strchr(txt, ':') ? plen : plen + 96);
	ctl_addr_mask(&e.net, e.plen);
	e.ans = ans;
	return e;
}

/* xt_rand - xorshift64* step */
static inline uint64_t xt_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* xt_random_v4 - n random IPv4 prefixes of mixed lengths (40% /32, 25% /24,
 * 15% /25../31, 20% /8../23), answers mostly REJECT with some PERMIT,
 * none inside 198.0.0.0/8 (kept for test traffic). */
static inline void xt_random_v4(struct ctl_xdp_entry *e, size_t n,
				uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = xt_rand(&seed);
		unsigned k = (unsigned)(r % 100), plen;
		uint32_t a = (uint32_t)(r >> 32);

		if (k < 40)
			plen = 32;
		else if (k < 65)
			plen = 24;
		else if (k < 80)
			plen = 25 + (unsigned)((r >> 8) % 7);
		else
			plen = 8 + (unsigned)((r >> 8) % 16);
		if ((a >> 24) == 198)
			a ^= 0x40000000u;
		memset(&e[i], 0, sizeof(e[i]));
		e[i].net.b[10] = 0xff;
		e[i].net.b[11] = 0xff;
		a = htonl(a);
		memcpy(&e[i].net.b[12], &a, 4);
		e[i].plen = (uint8_t)(96 + plen);
		ctl_addr_mask(&e[i].net, e[i].plen);
		e[i].ans = (r >> 16) % 10 ? SCR_XDP_ANS_REJECT : SCR_XDP_ANS_PERMIT;
	}
}

/* xt_random_v4_mix - n random IPv4 prefixes in a blocklist's mix: /16../32,
 * heavy on /32 and /24 (45% /32, 30% /24, 10% /25../31, 15% /16../23);
 * answers 85% REJECT, 10% PERMIT, 5% NONE (carve-outs, as the access-list
 * compiler makes); none inside 198.0.0.0/8. Uniform over the address
 * space: the worst case for a cache (real lists cluster). */
static inline void xt_random_v4_mix(struct ctl_xdp_entry *e, size_t n,
				    uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = xt_rand(&seed);
		unsigned k = (unsigned)(r % 100), a100 = (unsigned)((r >> 16) % 100);
		unsigned plen;
		uint32_t a = (uint32_t)(r >> 32);

		if (k < 45)
			plen = 32;
		else if (k < 75)
			plen = 24;
		else if (k < 85)
			plen = 25 + (unsigned)((r >> 8) % 7);
		else
			plen = 16 + (unsigned)((r >> 8) % 8);
		if ((a >> 24) == 198)
			a ^= 0x40000000u;
		memset(&e[i], 0, sizeof(e[i]));
		e[i].net.b[10] = 0xff;
		e[i].net.b[11] = 0xff;
		a = htonl(a);
		memcpy(&e[i].net.b[12], &a, 4);
		e[i].plen = (uint8_t)(96 + plen);
		ctl_addr_mask(&e[i].net, e[i].plen);
		e[i].ans = a100 < 85 ? SCR_XDP_ANS_REJECT :
			   a100 < 95 ? SCR_XDP_ANS_PERMIT : SCR_XDP_ANS_NONE;
	}
}

/* xt_frame4 - a SYN to port 25 from a (host order); its length */
static inline int xt_frame4(uint8_t *buf, uint32_t a)
{
	char txt[32];
	struct xt_pkt p = {};

	snprintf(txt, sizeof(txt), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
	p.src = txt;
	return xt_build(buf, &p);
}

/* A reference longest-prefix match over IPv4 entries, independent of the
 * kernel structures: the prefixes sorted by (start, plen, input order). */
struct xt_ref {
	uint32_t start;		/* host order */
	uint8_t plen;		/* 0..32 */
	uint8_t ans;
	uint32_t seq;
};

/* xt_ref_cmp - by start, plen, input order */
static inline int xt_ref_cmp(const void *a, const void *b)
{
	const struct xt_ref *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* xt_ref_build - the sorted reference of n IPv4 entries (malloc'd) */
static inline struct xt_ref *xt_ref_build(const struct ctl_xdp_entry *e,
					  size_t n)
{
	struct xt_ref *r = malloc((n ? n : 1) * sizeof(*r));
	size_t i;

	for (i = 0; r && i < n; i++) {
		uint32_t a;

		memcpy(&a, &e[i].net.b[12], 4);
		r[i] = (struct xt_ref){ .start = ntohl(a),
			.plen = (uint8_t)(e[i].plen - 96), .ans = e[i].ans,
			.seq = (uint32_t)i };
	}
	if (r)
		qsort(r, n, sizeof(*r), xt_ref_cmp);
	return r;
}

/* xt_ref_lookup - the answer of the longest prefix holding a (a later
 * duplicate wins): per length, the last entry <= (masked a, plen) */
static inline unsigned xt_ref_lookup(const struct xt_ref *r, size_t n,
				     uint32_t a)
{
	int plen;

	for (plen = 32; plen >= 0; plen--) {
		uint32_t s = plen ? a & (~0u << (32 - plen)) : 0;
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (r[mid].start < s || (r[mid].start == s &&
						 r[mid].plen <= plen))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo && r[lo - 1].start == s && r[lo - 1].plen == plen)
			return r[lo - 1].ans;
	}
	return SCR_XDP_ANS_NONE;
}

#endif
