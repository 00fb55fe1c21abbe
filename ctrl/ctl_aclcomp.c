/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_aclcomp - compile a first-match access list into longest-prefix entries
 * DESCRIPTION
 *	See ctl_aclcomp.h. Addresses are handled as unsigned __int128 (network
 *	order read as a big number). Steps: the list's answer over the address
 *	space as merged regions (ctl_acl_regions_init, from the program itself;
 *	or, for ctl_aclcomp_compile_src, one oracle lookup per boundary) ->
 *	the binary trie whose leaves are uniform, walked in pre-order without
 *	being built: a node is a leaf when one region (or the "don't care"
 *	range) holds it, and a cursor over the regions follows the walk ->
 *	ORTC pass 2 (answer sets bottom up: intersection if not empty, else
 *	union; kept per internal node, one byte each, in pre-order) -> pass 3
 *	(the same walk again, top down: inherit the parent's answer when it is
 *	in the set, else emit a prefix with the lowest answer of the set).
 *	A node that holds one region boundary, or one region that is a whole
 *	trie node, has a path for subtree, every node off it a leaf of the
 *	region before or after it: both passes take such a path level by level
 *	in a loop instead of visiting its leaves (two thirds of the nodes of a
 *	table of scattered /24s).
 *	The trie and the tie-breaks are those of the compiler before issue 16,
 *	so the entries are the same, in the same order.
 * CONTRACT
 *	See ctl_aclcomp.h.
 * THREADING
 *	Control thread.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_aclcomp.h"
#include "ctl_mem.h"
#include "ctl_msg.h"

typedef unsigned __int128 ctl_u128;

#define CTL_U128_MAX (~(ctl_u128)0)
#define CTL_SET_ALL 0x7u
#define CTL_SET_PATH 0x8u	/* in sets[]: the node starts a path */

struct ctl_ac_vec {
	ctl_u128 *v;
	size_t n, cap;
};

/* A node whose subtree is a path to a target node (ctl_ac_path). */
struct ctl_ac_path {
	ctl_u128 lo;		/* the target */
	uint64_t hi64, lo64;	/* its halves */
	unsigned plen;
	bool leaf;		/* the target is a leaf (else its halves are) */
	uint8_t set;		/* the target's answer set */
	uint8_t before, after;	/* sets of the leaves left, right of the path */
	size_t skip;		/* regions the node ends */
};

struct ctl_ac {
	const struct ctl_acl_regions *rg;
	size_t k;		/* region holding the next node's first address, */
	ctl_u128 end;		/* its last address */
	uint8_t set[3];		/* answer set by enum ctl_acl_result */
	ctl_u128 dc;		/* the "don't care" /96 (IPv4), or 1 for none */
	uint8_t *sets;		/* internal nodes' answer sets, pre-order, */
				/* | CTL_SET_PATH on a path's first node */
	size_t nsets, capsets, next;
	struct ctl_xdp_entry *out;
	size_t nout, outcap;
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
	uint64_t hi = htobe64((uint64_t)(x >> 64)), lo = htobe64((uint64_t)x);

	memcpy(a->b, &hi, 8);
	memcpy(a->b + 8, &lo, 8);
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

/* ctl_aclcomp_ans - enum ctl_acl_result to enum scr_xdp_ans */
uint8_t ctl_aclcomp_ans(enum ctl_acl_result r)
{
	switch (r) {
	case CTL_ACL_DUNNO:
		return SCR_XDP_ANS_NONE;
	case CTL_ACL_PERMIT:
		return SCR_XDP_ANS_PERMIT;
	case CTL_ACL_REJECT:
		return SCR_XDP_ANS_REJECT;
	default:
		ctl_msg_panic("ctl_aclcomp_ans: access list result %d out of range",
			      (int)r);
	}
}

/* ctl_ac_seek - put the cursor on region k */
static void ctl_ac_seek(struct ctl_ac *ac, size_t k)
{
	const struct ctl_acl_regions *rg = ac->rg;

	ac->k = k;
	ac->end = k + 1 < rg->n ? rg->start[k + 1] - 1 : CTL_U128_MAX;
}

/* ctl_ac_leaf - is [lo, hi] (of length plen), the next node of the walk, a
 * leaf; its answer set in *set, and the cursor moved past it */
static bool ctl_ac_leaf(struct ctl_ac *ac, ctl_u128 lo, ctl_u128 hi,
			unsigned plen, uint8_t *set)
{
	if (plen == 96 && lo == ac->dc) {
		/* the walk meets the don't-care range as this node, whole */
		*set = CTL_SET_ALL;
		ctl_ac_seek(ac, ctl_acl_regions_find(ac->rg, hi + 1));
		return true;
	}
	if (ac->end < hi)
		return false;
	*set = ac->set[ac->rg->res[ac->k]];
	if (ac->end == hi && ac->k + 1 < ac->rg->n)
		ctl_ac_seek(ac, ac->k + 1);
	return true;
}

/* ctl_ac_ctz - trailing zero bits of a non-zero number */
static unsigned ctl_ac_ctz(ctl_u128 x)
{
	uint64_t lo = (uint64_t)x;

	return lo ? (unsigned)__builtin_ctzll(lo) :
		    64 + (unsigned)__builtin_ctzll((uint64_t)(x >> 64));
}

/* ctl_ac_path - is the internal node [lo, hi] (of length plen), the next
 * of the walk, a path: one region boundary inside (the target is the node
 * whose halves are the two regions' leaves), or one region that is a
 * whole trie node between two others (the target is that leaf); every
 * node off the path is then a leaf of the region before (left of the
 * path) or after (right of it). Not when the node holds the don't-care
 * range. */
static bool ctl_ac_path(const struct ctl_ac *ac, ctl_u128 lo, ctl_u128 hi,
			unsigned plen, struct ctl_ac_path *p)
{
	const struct ctl_acl_regions *rg = ac->rg;
	size_t k = ac->k;
	ctl_u128 b1 = ac->end + 1, e1, e2, size;

	e1 = k + 2 < rg->n ? rg->start[k + 2] - 1 : CTL_U128_MAX;
	e2 = e1 >= hi || k + 3 >= rg->n ? CTL_U128_MAX : rg->start[k + 3] - 1;
	if (e2 < hi ||
	    (plen < 96 && ac->dc != 1 && lo <= ac->dc && ac->dc <= hi))
		return false;
	p->before = ac->set[rg->res[k]];
	if (e1 >= hi) {
		p->after = ac->set[rg->res[k + 1]];
		p->plen = 127 - ctl_ac_ctz(b1);	/* b1 is its middle */
		p->lo = b1 & ~ctl_ac_host(p->plen);
		p->hi64 = (uint64_t)(p->lo >> 64);
		p->lo64 = (uint64_t)p->lo;
		p->leaf = false;
		p->set = (p->before & p->after) ? (p->before & p->after) :
						   (p->before | p->after);
		p->skip = e1 == hi ? 2 : 1;
		return true;
	}
	size = e1 + 1 - b1;
	if ((size & (size - 1)) != 0 || (b1 & (size - 1)) != 0)
		return false;
	p->after = ac->set[rg->res[k + 2]];
	p->plen = 128 - ctl_ac_ctz(size);
	p->lo = b1;
	p->hi64 = (uint64_t)(b1 >> 64);
	p->lo64 = (uint64_t)b1;
	p->leaf = true;
	p->set = ac->set[rg->res[k + 1]];
	p->skip = e2 == hi ? 3 : 2;
	return true;
}

/* ctl_ac_path_right - does the path go right below its node of length d */
static bool ctl_ac_path_right(const struct ctl_ac_path *p, unsigned d)
{
	return d < 64 ? (p->hi64 >> (63 - d)) & 1 : (p->lo64 >> (127 - d)) & 1;
}

/* ctl_ac_path_end - move the cursor past a path's node */
static void ctl_ac_path_end(struct ctl_ac *ac, const struct ctl_ac_path *p)
{
	if (ac->k + p->skip < ac->rg->n)
		ctl_ac_seek(ac, ac->k + p->skip);
}

/* ctl_ac_sets - ORTC pass 2 over the node [lo, hi] (of length plen); its
 * set, 0 on error */
static uint8_t ctl_ac_sets(struct ctl_ac *ac, ctl_u128 lo, ctl_u128 hi,
			   unsigned plen)
{
	struct ctl_ac_path p;
	ctl_u128 mid;
	size_t idx, need = 1;
	uint8_t l, r, set;
	bool path;

	if (ctl_ac_leaf(ac, lo, hi, plen, &set))
		return set;
	path = ctl_ac_path(ac, lo, hi, plen, &p);
	if (path)	/* the nodes from here to the target's parent, the target */
		need = p.plen - plen + !p.leaf;
	if (ac->nsets + need > ac->capsets) {
		size_t cap = ac->capsets * 2 + need;
		uint8_t *nv = ctl_mem_realloc(ac->sets, ac->capsets, cap);

		if (!nv) {
			ac->err = -ENOMEM;
			return 0;
		}
		ac->sets = nv;
		ac->capsets = cap;
	}
	idx = ac->nsets;
	ac->nsets += need;
	if (path) {
		/* bottom up along the path, in pre-order slots top down */
		set = p.set;
		if (!p.leaf)
			ac->sets[idx + p.plen - plen] = set;
		for (unsigned d = p.plen; d-- > plen;) {
			uint8_t x = ctl_ac_path_right(&p, d) ? p.before : p.after;

			set = (set & x) ? (set & x) : (set | x);
			ac->sets[idx + d - plen] = set;
		}
		ac->sets[idx] |= CTL_SET_PATH;
		ctl_ac_path_end(ac, &p);
		return set;
	}
	mid = lo + ((hi - lo) >> 1) + 1;
	l = ctl_ac_sets(ac, lo, mid - 1, plen + 1);
	if (!l)
		return 0;
	r = ctl_ac_sets(ac, mid, hi, plen + 1);
	if (!r)
		return 0;
	set = l & r;
	ac->sets[idx] = set ? set : (l | r);
	return ac->sets[idx];
}

/* ctl_ac_emit - append one entry */
static void ctl_ac_emit(struct ctl_ac *ac, ctl_u128 lo, unsigned plen,
			uint8_t ans)
{
	struct ctl_xdp_entry *e;

	if (ac->nout == ac->outcap) {
		size_t cap = ac->outcap * 2;
		void *nv = ctl_mem_realloc(ac->out, ac->outcap * sizeof(*ac->out),
					   cap * sizeof(*ac->out));

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

/* ctl_ac_choose - ORTC pass 3 at one node: the answer it passes down,
 * emitting a prefix when the inherited one is not in its set */
static uint8_t ctl_ac_choose(struct ctl_ac *ac, ctl_u128 lo, unsigned plen,
			     uint8_t set, uint8_t inherited)
{
	uint8_t chosen;

	if (set & (1u << inherited))
		return inherited;
	chosen = (uint8_t)__builtin_ctz(set);
	ctl_ac_emit(ac, lo, plen, chosen);
	return chosen;
}

/* ctl_ac_select_path - ORTC pass 3 over a path from its node of length
 * plen, in pre-order: a node, the leaf left of the path, the path below,
 * the leaf right of the path (kept until the path below is done) */
static void ctl_ac_select_path(struct ctl_ac *ac, const struct ctl_ac_path *p,
			       unsigned plen, uint8_t chosen)
{
	uint8_t right[128];	/* answer the right leaf at length d + 1 inherits */
	unsigned d;

	for (d = plen; d < p->plen; d++) {
		uint8_t set = ac->sets[ac->next++] & CTL_SET_ALL;

		if (!(set & (1u << chosen)))
			chosen = ctl_ac_choose(ac, p->lo & ~ctl_ac_host(d), d, set,
					       chosen);
		if (!ctl_ac_path_right(p, d))
			right[d] = chosen;
		else if (!(p->before & (1u << chosen)))
			ctl_ac_choose(ac, p->lo & ~ctl_ac_host(d), d + 1, p->before,
				      chosen);
	}
	if (p->leaf) {
		ctl_ac_choose(ac, p->lo, p->plen, p->set, chosen);
	} else {
		chosen = ctl_ac_choose(ac, p->lo, p->plen,
				       ac->sets[ac->next++] & CTL_SET_ALL, chosen);
		ctl_ac_choose(ac, p->lo, p->plen + 1, p->before, chosen);
		ctl_ac_choose(ac, p->lo | ((ctl_u128)1 << (127 - p->plen)),
			      p->plen + 1, p->after, chosen);
	}
	while (d-- > plen)
		if (!ctl_ac_path_right(p, d) && !(p->after & (1u << right[d])))
			ctl_ac_choose(ac, (p->lo & ~ctl_ac_host(d)) |
				      ((ctl_u128)1 << (127 - d)), d + 1, p->after,
				      right[d]);
}

/* ctl_ac_select - ORTC pass 3 over the node [lo, hi] (of length plen),
 * inheriting an answer */
static void ctl_ac_select(struct ctl_ac *ac, ctl_u128 lo, ctl_u128 hi,
			  unsigned plen, uint8_t inherited)
{
	struct ctl_ac_path p;
	uint8_t set, chosen;
	ctl_u128 mid;

	if (ctl_ac_leaf(ac, lo, hi, plen, &set)) {
		ctl_ac_choose(ac, lo, plen, set, inherited);
		return;
	}
	if (ac->sets[ac->next] & CTL_SET_PATH) {
		(void)ctl_ac_path(ac, lo, hi, plen, &p);	/* as in pass 2 */
		ctl_ac_select_path(ac, &p, plen, inherited);
		ctl_ac_path_end(ac, &p);
		return;
	}
	chosen = ctl_ac_choose(ac, lo, plen, ac->sets[ac->next++], inherited);
	mid = lo + ((hi - lo) >> 1) + 1;
	ctl_ac_select(ac, lo, mid - 1, plen + 1, chosen);
	ctl_ac_select(ac, mid, hi, plen + 1, chosen);
}

/* ctl_ac_subtree - compile one root (IPv4 range or all of IPv6) */
static int ctl_ac_subtree(struct ctl_ac *ac, ctl_u128 lo, unsigned plen)
{
	size_t k = ctl_acl_regions_find(ac->rg, lo);
	ctl_u128 hi = lo | ctl_ac_host(plen);

	ctl_ac_seek(ac, k);
	ac->nsets = 0;
	if (!ctl_ac_sets(ac, lo, hi, plen))
		return ac->err;
	ctl_ac_seek(ac, k);
	ac->next = 0;
	ctl_ac_select(ac, lo, hi, plen, SCR_XDP_ANS_NONE);
	return ac->err;
}

/* ctl_ac_run - the entries of the regions */
static int ctl_ac_run(const struct ctl_acl_regions *rg,
		      struct ctl_xdp_entry **out, size_t *n)
{
	struct ctl_ac ac = { .rg = rg };
	ctl_u128 v4lo = (ctl_u128)0xffff << 32;
	int rc;

	ac.set[CTL_ACL_DUNNO] = (uint8_t)(1u << ctl_aclcomp_ans(CTL_ACL_DUNNO));
	ac.set[CTL_ACL_PERMIT] = (uint8_t)(1u << ctl_aclcomp_ans(CTL_ACL_PERMIT));
	ac.set[CTL_ACL_REJECT] = (uint8_t)(1u << ctl_aclcomp_ans(CTL_ACL_REJECT));
	/* room for the usual need at once (a guess: the arrays grow) */
	ac.capsets = 4 * rg->n + 4096;
	ac.outcap = rg->n / 2 + 64;
	ac.sets = ctl_mem_alloc(ac.capsets);
	ac.out = ctl_mem_alloc(ac.outcap * sizeof(*ac.out));
	if (!ac.sets || !ac.out) {
		free(ac.sets);
		free(ac.out);
		return -ENOMEM;
	}
	ac.dc = 1;
	rc = ctl_ac_subtree(&ac, v4lo, 96);
	if (!rc) {
		ac.dc = v4lo;
		rc = ctl_ac_subtree(&ac, 0, 0);
	}
	free(ac.sets);
	if (rc) {
		free(ac.out);
		return rc;
	}
	*out = ac.out;
	*n = ac.nout;
	return 0;
}

/* ctl_aclcomp_compile_src - compile any first-match oracle */
int ctl_aclcomp_compile_src(const struct ctl_aclcomp_src *src,
			    struct ctl_xdp_entry **out, size_t *n)
{
	struct ctl_ac_vec b = {};
	struct ctl_acl_regions rg = {};
	struct scr_addr a;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	rc = ctl_ac_push(&b, 0);
	if (!rc)
		rc = src->prefixes(src->arg, ctl_ac_prefix_cb, &b);
	if (rc)
		goto out;
	qsort(b.v, b.n, sizeof(*b.v), ctl_ac_cmp);
	rg.start = malloc(b.n * sizeof(*rg.start));
	rg.res = malloc(b.n);
	if (!rg.start || !rg.res) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b.n; i++) {
		enum ctl_acl_result r;

		if (i > 0 && b.v[i] == b.v[i - 1])
			continue;
		ctl_ac_to_addr(b.v[i], &a);
		r = src->lookup(src->arg, &a);
		if ((unsigned)r > CTL_ACL_REJECT)
			ctl_msg_panic("ctl_aclcomp_compile_src: access list "
				      "result %d out of range", (int)r);
		if (rg.n > 0 && rg.res[rg.n - 1] == r)
			continue;	/* same answer: one region */
		rg.start[rg.n] = b.v[i];
		rg.res[rg.n] = (uint8_t)r;
		rg.n++;
	}
	rc = ctl_ac_run(&rg, out, n);
out:
	free(b.v);
	ctl_acl_regions_fini(&rg);
	return rc;
}

/* ctl_aclcomp_compile - compile a postscreen_access_list */
int ctl_aclcomp_compile(const struct ctl_acl *acl, struct ctl_xdp_entry **out,
			size_t *n)
{
	struct ctl_acl_regions rg;
	int rc;

	*out = NULL;
	*n = 0;
	rc = ctl_acl_regions_init(&rg, acl);
	if (!rc)
		rc = ctl_ac_run(&rg, out, n);
	ctl_acl_regions_fini(&rg);
	return rc;
}
