/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_aclcomp - compile a first-match access list into longest-prefix entries
 * DESCRIPTION
 *	See ctl_aclcomp.h. Addresses are handled as unsigned __int128 (network
 *	order read as a big number). Steps: boundaries -> merged regions with
 *	their answers -> trie with uniform leaves -> ORTC pass 2 (answer sets
 *	bottom up: intersection if not empty, else union) -> pass 3 (top down:
 *	inherit the parent's answer when it is in the set, else emit a prefix).
 * CONTRACT
 *	See ctl_aclcomp.h.
 * THREADING
 *	Control thread.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_aclcomp.h"
#include "ctl_msg.h"

typedef unsigned __int128 ctl_u128;

#define CTL_U128_MAX (~(ctl_u128)0)
#define CTL_SET_ALL 0x7u

struct ctl_ac_vec {
	ctl_u128 *v;
	size_t n, cap;
};

struct ctl_ac_node {
	ctl_u128 lo;
	int32_t l, r;		/* children, -1 for a leaf */
	uint8_t plen;
	uint8_t set;		/* bit per enum scr_xdp_ans */
};

struct ctl_ac {
	ctl_u128 *rs;		/* region starts, ascending */
	uint8_t *ra;		/* region answers */
	size_t nr;
	struct ctl_ac_node *nodes;
	size_t nn, ncap;
	struct ctl_xdp_entry *out;
	size_t nout, outcap;
	ctl_u128 dc_lo, dc_hi;	/* "don't care" range, dc_lo > dc_hi none */
	int err;
};

/* ctl_ac_from_addr - address as a 128-bit number */
static ctl_u128 ctl_ac_from_addr(const struct scr_addr *a)
{
	ctl_u128 x = 0;
	int i;

	for (i = 0; i < 16; i++)
		x = (x << 8) | a->b[i];
	return x;
}

/* ctl_ac_to_addr - 128-bit number as an address */
static void ctl_ac_to_addr(ctl_u128 x, struct scr_addr *a)
{
	int i;

	for (i = 15; i >= 0; i--) {
		a->b[i] = (uint8_t)x;
		x >>= 8;
	}
}

/* ctl_ac_host - host mask of a prefix length */
static ctl_u128 ctl_ac_host(unsigned plen)
{
	return plen >= 128 ? 0 : CTL_U128_MAX >> plen;
}

/* ctl_ac_push - append a boundary */
static int ctl_ac_push(struct ctl_ac_vec *v, ctl_u128 x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		ctl_u128 *nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

/* ctl_ac_prefix_cb - both boundaries of one prefix */
static int ctl_ac_prefix_cb(void *arg, const struct scr_addr *net,
			    unsigned plen)
{
	struct ctl_ac_vec *v = arg;
	ctl_u128 lo, hi;
	int rc;

	if (plen > 128)
		return -EINVAL;
	lo = ctl_ac_from_addr(net) & ~ctl_ac_host(plen);
	hi = lo | ctl_ac_host(plen);
	rc = ctl_ac_push(v, lo);
	if (!rc && hi != CTL_U128_MAX)
		rc = ctl_ac_push(v, hi + 1);
	return rc;
}

/* ctl_ac_cmp - ascending 128-bit numbers */
static int ctl_ac_cmp(const void *a, const void *b)
{
	ctl_u128 x = *(const ctl_u128 *)a, y = *(const ctl_u128 *)b;

	return x < y ? -1 : x > y;
}

/* ctl_ac_ans - enum ctl_acl_result to enum scr_xdp_ans */
static uint8_t ctl_ac_ans(enum ctl_acl_result r)
{
	switch (r) {
	case CTL_ACL_DUNNO:
		return SCR_XDP_ANS_NONE;
	case CTL_ACL_PERMIT:
		return SCR_XDP_ANS_PERMIT;
	case CTL_ACL_REJECT:
		return SCR_XDP_ANS_REJECT;
	default:
		ctl_msg_panic("ctl_ac_ans: access list result %d out of range",
			      (int)r);
	}
}

/* ctl_ac_region - index of the region holding x */
static size_t ctl_ac_region(const struct ctl_ac *ac, ctl_u128 x)
{
	size_t lo = 0, hi = ac->nr;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ac->rs[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ctl_ac_region_end - last address of region i */
static ctl_u128 ctl_ac_region_end(const struct ctl_ac *ac, size_t i)
{
	return i + 1 < ac->nr ? ac->rs[i + 1] - 1 : CTL_U128_MAX;
}

/* ctl_ac_build - trie node for (lo, plen); its index or -1 on error */
static int32_t ctl_ac_build(struct ctl_ac *ac, ctl_u128 lo, unsigned plen)
{
	ctl_u128 hi = lo | ctl_ac_host(plen);
	struct ctl_ac_node *nd;
	int32_t idx, l, r;
	size_t reg;
	uint8_t set;

	if (ac->nn == ac->ncap) {
		size_t cap = ac->ncap ? ac->ncap * 2 : 1024;
		void *nv = realloc(ac->nodes, cap * sizeof(*ac->nodes));

		if (!nv || cap > INT32_MAX) {
			ac->err = -ENOMEM;
			return -1;
		}
		ac->nodes = nv;
		ac->ncap = cap;
	}
	idx = (int32_t)ac->nn++;
	nd = &ac->nodes[idx];
	nd->lo = lo;
	nd->plen = (uint8_t)plen;
	nd->l = nd->r = -1;
	if (ac->dc_lo <= ac->dc_hi && lo >= ac->dc_lo && hi <= ac->dc_hi) {
		nd->set = CTL_SET_ALL;
		return idx;
	}
	reg = ctl_ac_region(ac, lo);
	if (ctl_ac_region_end(ac, reg) >= hi) {
		nd->set = (uint8_t)(1u << ac->ra[reg]);
		return idx;
	}
	l = ctl_ac_build(ac, lo, plen + 1);
	if (l < 0)
		return -1;
	r = ctl_ac_build(ac, lo | ((ctl_u128)1 << (127 - plen)), plen + 1);
	if (r < 0)
		return -1;
	nd = &ac->nodes[idx];	/* realloc may have moved it */
	nd->l = l;
	nd->r = r;
	set = ac->nodes[l].set & ac->nodes[r].set;
	nd->set = set ? set : (ac->nodes[l].set | ac->nodes[r].set);
	return idx;
}

/* ctl_ac_emit - append one entry */
static void ctl_ac_emit(struct ctl_ac *ac, ctl_u128 lo, unsigned plen,
			uint8_t ans)
{
	struct ctl_xdp_entry *e;

	if (ac->nout == ac->outcap) {
		size_t cap = ac->outcap ? ac->outcap * 2 : 64;
		void *nv = realloc(ac->out, cap * sizeof(*ac->out));

		if (!nv) {
			ac->err = -ENOMEM;
			return;
		}
		ac->out = nv;
		ac->outcap = cap;
	}
	e = &ac->out[ac->nout++];
	memset(e, 0, sizeof(*e));
	ctl_ac_to_addr(lo, &e->net);
	e->plen = (uint8_t)plen;
	e->ans = ans;
}

/* ctl_ac_select - ORTC pass 3 from node idx with the inherited answer */
static void ctl_ac_select(struct ctl_ac *ac, int32_t idx, uint8_t inherited)
{
	const struct ctl_ac_node *nd = &ac->nodes[idx];
	uint8_t chosen = inherited;

	if (!(nd->set & (1u << inherited))) {
		chosen = (uint8_t)__builtin_ctz(nd->set);
		ctl_ac_emit(ac, nd->lo, nd->plen, chosen);
	}
	if (nd->l >= 0) {
		ctl_ac_select(ac, nd->l, chosen);
		ctl_ac_select(ac, nd->r, chosen);
	}
}

/* ctl_ac_subtree - compile one root (IPv4 range or all of IPv6) */
static int ctl_ac_subtree(struct ctl_ac *ac, ctl_u128 lo, unsigned plen)
{
	int32_t root;

	ac->nn = 0;
	root = ctl_ac_build(ac, lo, plen);
	if (root < 0)
		return ac->err;
	ctl_ac_select(ac, root, SCR_XDP_ANS_NONE);
	return ac->err;
}

/* ctl_aclcomp_compile_src - compile any first-match oracle */
int ctl_aclcomp_compile_src(const struct ctl_aclcomp_src *src,
			    struct ctl_xdp_entry **out, size_t *n)
{
	struct ctl_ac_vec b = {};
	struct ctl_ac ac = {};
	struct scr_addr a;
	ctl_u128 v4lo = (ctl_u128)0xffff << 32;
	size_t i, k;
	int rc;

	*out = NULL;
	*n = 0;
	rc = ctl_ac_push(&b, 0);
	if (!rc)
		rc = src->prefixes(src->arg, ctl_ac_prefix_cb, &b);
	if (rc)
		goto out;
	qsort(b.v, b.n, sizeof(*b.v), ctl_ac_cmp);
	ac.rs = malloc(b.n * sizeof(*ac.rs));
	ac.ra = malloc(b.n);
	if (!ac.rs || !ac.ra) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0, k = 0; i < b.n; i++) {
		uint8_t ans;

		if (i > 0 && b.v[i] == b.v[i - 1])
			continue;
		ctl_ac_to_addr(b.v[i], &a);
		ans = ctl_ac_ans(src->lookup(src->arg, &a));
		if (k > 0 && ac.ra[k - 1] == ans)
			continue;	/* same answer: one region */
		ac.rs[k] = b.v[i];
		ac.ra[k] = ans;
		k++;
	}
	ac.nr = k;

	ac.dc_lo = 1;
	ac.dc_hi = 0;
	rc = ctl_ac_subtree(&ac, v4lo, 96);
	if (rc)
		goto out;
	ac.dc_lo = v4lo;
	ac.dc_hi = v4lo | 0xffffffffu;
	rc = ctl_ac_subtree(&ac, 0, 0);
out:
	free(b.v);
	free(ac.rs);
	free(ac.ra);
	free(ac.nodes);
	if (rc) {
		free(ac.out);
		return rc;
	}
	*out = ac.out;
	*n = ac.nout;
	return 0;
}

/* ctl_acl_src_prefixes - ctl_acl_prefixes as an oracle callback */
static int ctl_acl_src_prefixes(void *arg,
				int (*cb)(void *cbarg, const struct scr_addr *net,
					  unsigned plen),
				void *cbarg)
{
	return ctl_acl_prefixes(arg, cb, cbarg);
}

/* ctl_acl_src_lookup - ctl_acl_lookup as an oracle callback */
static enum ctl_acl_result ctl_acl_src_lookup(void *arg,
					      const struct scr_addr *addr)
{
	return ctl_acl_lookup(arg, addr);
}

/* ctl_aclcomp_compile - compile a postscreen_access_list */
int ctl_aclcomp_compile(const struct ctl_acl *acl, struct ctl_xdp_entry **out,
			size_t *n)
{
	struct ctl_aclcomp_src src = {
		.prefixes = ctl_acl_src_prefixes,
		.lookup = ctl_acl_src_lookup,
		.arg = (void *)acl,
	};

	return ctl_aclcomp_compile_src(&src, out, n);
}
