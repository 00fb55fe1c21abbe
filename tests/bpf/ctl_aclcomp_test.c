/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_aclcomp_test - randomized differential test of the access-list
 *	compiler against the first-match reading and the kernel
 * DESCRIPTION
 *	Fixed seeds. Bad input first: an oracle whose prefix callback fails
 *	makes the compiler fail. Then:
 *	differential  each round writes a random ordered cidr table (IPv4 and
 *	   IPv6, nested if/endif, if !pattern, !pattern lines, overlapping
 *	   prefixes, permit/reject/dunno and result lists with
 *	   permit_mynetworks) and a random mynetworks (with a negation and,
 *	   in some rounds, a cidr: table), compiles postscreen_access_list
 *	   with ctl_acl_compile, compiles that into longest-prefix entries
 *	   (ctl_aclcomp_compile), loads them into the XDP program, and for
 *	   thousands of addresses (random, inside and at the edges of the
 *	   table's prefixes) checks that the program's answer for a SYN from
 *	   that address (action + counter) is ctl_acl_lookup's first-match
 *	   answer.
 *	equivalence   hundreds of such lists (a sixth of them plain tables,
 *	   one group; a sixth the table as mynetworks) without the kernel,
 *	   each checked whole: (1) the entries equal, byte for byte, those of
 *	   ctl_aclcomp_compile_src driven by ctl_acl_lookup at every prefix
 *	   boundary (the compiler before issue 16 asked the same oracle);
 *	   (2) the longest-prefix reading of the entries, as regions over the
 *	   whole space (IPv4 entries for v4-mapped addresses, IPv6 entries
 *	   for the rest, as the XDP program reads them), equals
 *	   ctl_acl_regions_init's regions; (3) ctl_acl_lookup agrees with the
 *	   regions at every region's first and last address and the address
 *	   after the first; (4) the entry count is the minimum, computed by
 *	   dynamic programming over every choice of entry and answer per node
 *	   of the trie (an exhaustive search in disguise, independent of
 *	   ORTC's answer sets).
 *	tiny minimum  lists of 1-4 rules inside 2001:db8::/124: no set of
 *	   fewer prefixes (searched exhaustively among the 31 prefixes of
 *	   that /124 and the three answers) gives the same answers.
 *	large         a 100,000-line list (if/if !/endif blocks with nested
 *	   blocks, negations, covering lines, IPv4 /10-/32 and IPv6
 *	   /36-/128, result lists with permit_mynetworks; mynetworks with a
 *	   negation and a cidr: table): checks (1)-(4), random addresses
 *	   against ctl_acl_lookup too, then loads the entries into the XDP
 *	   program and checks the kernel's answer at a sample of region edges
 *	   and random addresses.
 *	Each check prints what it covered on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_aclcomp.h"
#include "xdp_test_util.h"

#define ROUNDS		24
#define ADDRS		600
#define EQ_ROUNDS	400	/* equivalence: lists checked whole */
#define TINY_ROUNDS	300	/* tiny minimum */
#define LARGE_LINES	100000
#define LARGE_KERNEL	6000	/* large: addresses asked of the kernel */

typedef unsigned __int128 u128;

#define U128_MAX	(~(u128)0)
#define V4LO		((u128)0xffff << 32)	/* ::ffff:0.0.0.0 */
#define V4HI		(V4LO | 0xffffffffu)

static struct ctl_maps *maps;
static uint64_t rng;

static const char *const results[] = {
	"permit", "reject", "dunno", "permit_mynetworks reject",
	"permit_mynetworks dunno",
};

/* rnd - xorshift64* */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

struct pfx {
	struct scr_addr a;
	unsigned plen;		/* scr_addr terms (IPv4 96..128) */
};

/* rand_prefix - a prefix in the test ranges, often nested in an earlier one */
static struct pfx rand_prefix(const struct pfx *prev, size_t nprev)
{
	struct pfx p = {};
	unsigned i;

	if (nprev && rnd() % 2) {
		const struct pfx *par = &prev[rnd() % nprev];
		unsigned room = 128 - par->plen;

		p = *par;
		if (room)
			p.plen += 1 + (unsigned)(rnd() % (room < 12 ? room : 12));
		for (i = par->plen; i < 128; i++)
			if (rnd() % 2)
				p.a.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	} else if (rnd() % 2) {
		p.a = xt_addr("198.18.0.0");
		p.a.b[13] = (uint8_t)(rnd() % 2);
		p.a.b[14] = (uint8_t)rnd();
		p.a.b[15] = (uint8_t)rnd();
		p.plen = 96 + 8 + (unsigned)(rnd() % 25);
	} else {
		p.a = xt_addr("2001:db8::");
		for (i = 4; i < 16; i++)
			p.a.b[i] = (uint8_t)rnd();
		p.plen = 16 + (unsigned)(rnd() % 113);
	}
	ctl_addr_mask(&p.a, p.plen);
	return p;
}

/* fmt - prefix text as cidr_table writes it */
static void fmt(const struct pfx *p, char *buf, size_t len)
{
	char t[64];

	if (ctl_addr_is_v4(&p->a) && p->plen >= 96) {
		inet_ntop(AF_INET, &p->a.b[12], t, sizeof(t));
		snprintf(buf, len, "%s/%u", t, p->plen - 96);
	} else {
		inet_ntop(AF_INET6, p->a.b, t, sizeof(t));
		snprintf(buf, len, "%s/%u", t, p->plen);
	}
}

/* write_table - a random cidr table of 4 to 4 + spread lines, one in neg a
 * negation (none when 0), if blocks when blocks; its prefixes in pf */
static void write_table(const char *path, struct pfx *pf, size_t *npf,
			int spread, unsigned neg, bool blocks)
{
	FILE *f = fopen(path, "w");
	int depth = 0, lines = 4 + (int)(rnd() % (unsigned)spread), i;
	char t[80];

	assert_non_null(f);
	*npf = 0;
	for (i = 0; i < lines; i++) {
		struct pfx p = rand_prefix(pf, *npf);
		unsigned r = (unsigned)(rnd() % 10);

		pf[(*npf)++] = p;
		fmt(&p, t, sizeof(t));
		if (!blocks)
			r = 9;
		if (r == 0 && depth < 3) {
			fprintf(f, "if %s%s\n", rnd() % 3 ? "" : "!", t);
			depth++;
		} else if (r == 1 && depth > 0) {
			fprintf(f, "endif\n");
			depth--;
			(*npf)--;
		} else {
			fprintf(f, "%s%s %s\n", !neg || rnd() % neg ? "" : "!", t,
				results[rnd() % 10 < 8 ? rnd() % 3 : 3 + rnd() % 2]);
		}
	}
	while (depth-- > 0)
		fprintf(f, "endif\n");
	fclose(f);
}

/* rand_mynet - a random mynetworks: a /24 with a hole, an IPv6 /48, in
 * every third round a cidr: table with an if ! block */
static void rand_mynet(char *buf, size_t len, size_t round)
{
	unsigned x = (unsigned)(rnd() % 256);

	snprintf(buf, len, "!198.18.%u.128/26 198.18.%u.0/24 [2001:db8:%x::]/48%s",
		 x, x, (unsigned)(rnd() % 65536),
		 round % 3 ? "" :
		 " cidr:{{if !198.19.64.0/18}, {198.19.0.0/17 x}, {endif}}");
}

/* rand_addr - an address in, at the edge of, or near a prefix, or random */
static struct scr_addr rand_addr(const struct pfx *pf, size_t npf)
{
	struct scr_addr a;
	unsigned i, k = (unsigned)(rnd() % 8);

	if (k < 5 && npf) {
		const struct pfx *p = &pf[rnd() % npf];

		a = p->a;
		if (k == 0)		/* first address */
			return a;
		for (i = p->plen; i < 128; i++)	/* random host bits / last */
			if (k == 1 || rnd() % 2)
				a.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		if (k == 2 && p->plen > 0 && p->plen <= 128) {
			/* just outside: flip the last network bit */
			unsigned b = p->plen - 1;

			a.b[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		}
		return a;
	}
	if (k < 7) {
		a = xt_addr("198.18.0.0");
		a.b[13] = (uint8_t)(rnd() % 2);
		a.b[14] = (uint8_t)rnd();
		a.b[15] = (uint8_t)rnd();
		return a;
	}
	a = xt_addr("2001:db8::");
	for (i = 4; i < 16; i++)
		a.b[i] = (uint8_t)rnd();
	return a;
}

/* kernel_answer - the program's answer for a SYN from a */
static enum ctl_acl_result kernel_answer(const struct scr_addr *a)
{
	struct scr_xdp_ctr_val before[SCR_XDP_C_MAX], after[SCR_XDP_C_MAX];
	struct xt_pkt p = {};
	char txt[64];
	uint8_t buf[256];
	uint32_t act = 0;
	int len;

	if (ctl_addr_is_v4(a)) {
		inet_ntop(AF_INET, &a->b[12], txt, sizeof(txt));
	} else {
		inet_ntop(AF_INET6, a->b, txt, sizeof(txt));
		p.v6 = 1;
	}
	p.src = txt;
	len = xt_build(buf, &p);
	assert_int_equal(ctl_maps_stats(maps, before), 0);
	assert_int_equal(xt_run(ctl_maps_prog_fd(maps), buf, len, &act), 0);
	assert_int_equal(ctl_maps_stats(maps, after), 0);
	if (act == XDP_DROP &&
	    after[SCR_XDP_C_DROP_REJECT].packets == before[SCR_XDP_C_DROP_REJECT].packets + 1)
		return CTL_ACL_REJECT;
	if (act == XDP_PASS &&
	    after[SCR_XDP_C_PASS_PERMIT].packets == before[SCR_XDP_C_PASS_PERMIT].packets + 1)
		return CTL_ACL_PERMIT;
	if (act == XDP_PASS &&
	    after[SCR_XDP_C_PASS_UNLISTED].packets == before[SCR_XDP_C_PASS_UNLISTED].packets + 1)
		return CTL_ACL_DUNNO;
	fail_msg("%s: unexpected action %u / counters", txt, act);
	return CTL_ACL_DUNNO;
}


/* num - an address as a number */
static u128 num(const struct scr_addr *a)
{
	u128 x = 0;

	for (int i = 0; i < 16; i++)
		x = x << 8 | a->b[i];
	return x;
}

/* addr_of - a number as an address */
static struct scr_addr addr_of(u128 x)
{
	struct scr_addr a;

	for (int i = 15; i >= 0; i--, x >>= 8)
		a.b[i] = (uint8_t)x;
	return a;
}

/* host - host mask of a prefix length */
static u128 host(unsigned plen)
{
	return plen >= 128 ? 0 : U128_MAX >> plen;
}

/* A longest-prefix reading of entries: answer a[i] (enum scr_xdp_ans) on
 * [s[i], s[i + 1]). */
struct lpm {
	u128 *s;
	uint8_t *a;
	size_t n;
};

/* lpm_put - the reading from x on is ans */
static void lpm_put(struct lpm *l, u128 x, uint8_t ans)
{
	if (l->n > 0 && l->a[l->n - 1] == ans)
		return;
	if (l->n > 0 && l->s[l->n - 1] == x) {	/* an empty region */
		l->a[l->n - 1] = ans;
		if (l->n > 1 && l->a[l->n - 2] == ans)
			l->n--;
		return;
	}
	l->s[l->n] = x;
	l->a[l->n++] = ans;
}

static const struct ctl_xdp_entry *cmp_base;

/* cmp_entry - entries by address, the shorter first */
static int cmp_entry(const void *x, const void *y)
{
	const struct ctl_xdp_entry *a = &cmp_base[*(const size_t *)x];
	const struct ctl_xdp_entry *b = &cmp_base[*(const size_t *)y];
	int d = memcmp(a->net.b, b->net.b, 16);

	return d ? d : (a->plen > b->plen) - (a->plen < b->plen);
}

/* lpm_read - how the XDP program reads the entries: IPv4 ones (in
 * ::ffff:0:0/96, plen >= 96) for v4-mapped addresses, the others for the
 * rest; the whole space, each part with the answer of its deepest entry */
static struct lpm lpm_read(const struct ctl_xdp_entry *e, size_t n, bool v4)
{
	struct lpm l = { calloc(2 * n + 3, sizeof(u128)), calloc(2 * n + 3, 1), 0 };
	size_t *ix = calloc(n + 1, sizeof(*ix)), m = 0, d = 0;
	u128 his[130], cur = v4 ? V4LO : 0;
	uint8_t ans[130];

	assert_non_null(l.s);
	assert_non_null(l.a);
	assert_non_null(ix);
	for (size_t i = 0; i < n; i++)
		if ((ctl_addr_is_v4(&e[i].net) && e[i].plen >= 96) == v4)
			ix[m++] = i;
	cmp_base = e;
	qsort(ix, m, sizeof(*ix), cmp_entry);
	lpm_put(&l, cur, SCR_XDP_ANS_NONE);
	for (size_t k = 0; k <= m; k++) {
		u128 lo = k < m ? num(&e[ix[k]].net) : U128_MAX;

		while (d > 0 && (k == m || his[d - 1] < lo)) {
			/* the deepest ends: its parent's answer after it */
			d--;
			if (his[d] != U128_MAX)
				lpm_put(&l, his[d] + 1, d ? ans[d - 1] : SCR_XDP_ANS_NONE);
		}
		if (k == m)
			break;
		assert_true(d < 130);
		his[d] = lo | host(e[ix[k]].plen);
		ans[d++] = e[ix[k]].ans;
		lpm_put(&l, lo, e[ix[k]].ans);
	}
	free(ix);
	return l;
}

/* lpm_at - the reading at x */
static uint8_t lpm_at(const struct lpm *l, u128 x)
{
	size_t lo = 0, hi = l->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->s[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return l->a[lo];
}

/* same_answers - the entries answer as the regions everywhere (two step
 * functions agree iff they agree at the start and at every step of
 * either); the number of points compared */
static size_t same_answers(const char *label, const struct ctl_acl_regions *rg,
			   const struct ctl_xdp_entry *e, size_t n)
{
	struct lpm l4 = lpm_read(e, n, true), l6 = lpm_read(e, n, false);
	size_t pts = 0;

	for (int pass = 0; pass < 3; pass++) {
		const struct lpm *l = pass == 1 ? &l6 : &l4;
		size_t cnt = pass == 0 ? rg->n : pass == 1 ? l6.n : l4.n;

		for (size_t i = 0; i <= cnt; i++) {
			u128 x = i == cnt ? V4HI + 1 : pass == 0 ? rg->start[i] :
				 l->s[i];
			bool v4 = x >= V4LO && x <= V4HI;
			uint8_t want = ctl_aclcomp_ans(rg->res[ctl_acl_regions_find(rg, x)]);
			uint8_t got = lpm_at(v4 ? &l4 : &l6, x);

			if (got != want) {
				struct scr_addr a = addr_of(x);
				char t[INET6_ADDRSTRLEN];

				inet_ntop(AF_INET6, a.b, t, sizeof(t));
				fail_msg("%s: at %s the entries say %u, the list %u",
					 label, t, got, want);
			}
			pts++;
		}
	}
	free(l4.s);
	free(l4.a);
	free(l6.s);
	free(l6.a);
	return pts;
}

/* dp_min - the fewest entries under node [lo, hi] for each inherited
 * answer: no entry here (the children inherit), or one entry with another
 * answer; a leaf (inside one region, or the don't-care IPv4 /96 of the
 * IPv6 part) needs one entry unless it inherits its answer */
static void dp_min(const struct ctl_acl_regions *rg, u128 lo, u128 hi,
		   unsigned plen, bool dc, size_t out[SCR_XDP_ANS_MAX])
{
	size_t k, l[SCR_XDP_ANS_MAX], r[SCR_XDP_ANS_MAX];
	u128 end, mid;

	if (dc && plen == 96 && lo == V4LO) {
		memset(out, 0, SCR_XDP_ANS_MAX * sizeof(*out));
		return;
	}
	k = ctl_acl_regions_find(rg, lo);
	end = k + 1 < rg->n ? rg->start[k + 1] - 1 : U128_MAX;
	if (end >= hi) {
		for (unsigned x = 0; x < SCR_XDP_ANS_MAX; x++)
			out[x] = x != ctl_aclcomp_ans(rg->res[k]);
		return;
	}
	mid = lo + ((hi - lo) >> 1) + 1;
	dp_min(rg, lo, mid - 1, plen + 1, dc, l);
	dp_min(rg, mid, hi, plen + 1, dc, r);
	for (unsigned x = 0; x < SCR_XDP_ANS_MAX; x++) {
		out[x] = l[x] + r[x];
		for (unsigned y = 0; y < SCR_XDP_ANS_MAX; y++)
			if (y != x && 1 + l[y] + r[y] < out[x])
				out[x] = 1 + l[y] + r[y];
	}
}

/* fewest - the fewest entries for the regions */
static size_t fewest(const struct ctl_acl_regions *rg)
{
	size_t v4[SCR_XDP_ANS_MAX], v6[SCR_XDP_ANS_MAX];

	dp_min(rg, V4LO, V4HI, 96, false, v4);
	dp_min(rg, 0, U128_MAX, 0, true, v6);
	return v4[SCR_XDP_ANS_NONE] + v6[SCR_XDP_ANS_NONE];
}

/* src_prefixes - ctl_acl_prefixes as the oracle's prefix walk */
static int src_prefixes(void *arg, int (*cb)(void *, const struct scr_addr *,
					     unsigned), void *cbarg)
{
	return ctl_acl_prefixes(arg, cb, cbarg);
}

/* src_lookup - ctl_acl_lookup as the oracle */
static enum ctl_acl_result src_lookup(void *arg, const struct scr_addr *a)
{
	return ctl_acl_lookup(arg, a);
}

struct check_stats {
	size_t lists, entries, regions, points, probes;
};

/* check_list - checks (1)-(4) of the file header on one compiled list;
 * the entries in *out (free()) when out is not NULL */
static void check_list(const char *label, const struct ctl_acl *acl,
		       struct check_stats *st, struct ctl_xdp_entry **out,
		       size_t *nout)
{
	struct ctl_aclcomp_src src = { src_prefixes, src_lookup, (void *)acl };
	struct ctl_xdp_entry *e, *o;
	struct ctl_acl_regions rg;
	size_t n, no, min;

	assert_int_equal(ctl_aclcomp_compile(acl, &e, &n), 0);
	assert_int_equal(ctl_aclcomp_compile_src(&src, &o, &no), 0);
	if (n != no || (n > 0 && memcmp(e, o, n * sizeof(*e)) != 0))
		fail_msg("%s: %zu entries, the oracle's compile %zu or other ones",
			 label, n, no);
	free(o);
	assert_int_equal(ctl_acl_regions_init(&rg, acl), 0);
	st->points += same_answers(label, &rg, e, n);
	for (size_t i = 0; i < rg.n; i++) {
		u128 x[3] = { rg.start[i], rg.start[i] + 1,
			      i + 1 < rg.n ? rg.start[i + 1] - 1 : U128_MAX };

		for (int k = 0; k < 3; k++) {
			struct scr_addr a = addr_of(x[k]);

			if (x[k] < rg.start[i] || (i + 1 < rg.n && x[k] >= rg.start[i + 1]))
				continue;	/* a region of one address */
			if (ctl_acl_lookup(acl, &a) != rg.res[i]) {
				char t[INET6_ADDRSTRLEN];

				inet_ntop(AF_INET6, a.b, t, sizeof(t));
				fail_msg("%s: region %zu says %u at %s, the list %d",
					 label, i, rg.res[i], t, ctl_acl_lookup(acl, &a));
			}
			st->probes++;
		}
	}
	min = fewest(&rg);
	if (n != min)
		fail_msg("%s: %zu entries, %zu would do", label, n, min);
	st->lists++;
	st->entries += n;
	st->regions += rg.n;
	ctl_acl_regions_fini(&rg);
	if (out != NULL) {
		*out = e;
		*nout = n;
	} else {
		free(e);
	}
}

/* test_equivalence - random lists checked whole, without the kernel */
static void test_equivalence(void **state)
{
	static const char *const lists[] = {
		"permit_mynetworks, cidr:%s",
		"cidr:%s, permit_mynetworks, reject",
		"cidr:%s",
		"cidr:%s, cidr:{{198.18.0.0/16 dunno}, {198.18.0.0/15 reject}}, permit",
		"permit_mynetworks, cidr:%s, permit",
		/* the table as mynetworks: its map is the biggest */
		"cidr:{{198.18.0.0/15 permit_mynetworks reject}}, permit_mynetworks, "
		"cidr:{{2001:db8::/32 reject}}",
	};
	static struct pfx pf[64];
	char dir[] = "/tmp/scrxdp-eqXXXXXX", path[128], list[512], err[256];
	struct check_stats st = {};
	size_t npf;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.cidr", dir);
	for (size_t r = 0; r < EQ_ROUNDS; r++) {
		struct ctl_acl *acl;
		char mynet[256], label[64];

		rng = 0x2545f4914f6cdd1dull * (r + 1);
		/* plain tables (one group, streamed) in every sixth round */
		write_table(path, pf, &npf, 60, r % 6 == 4 ? 0 : 25, r % 6 != 4);
		if (r % 6 == 5) {
			snprintf(list, sizeof(list), "%s", lists[5]);
			snprintf(mynet, sizeof(mynet), "%scidr:%s", r % 12 == 5 ? "" : "!",
				 path);
		} else {
			snprintf(list, sizeof(list), lists[r % 6], path);
			rand_mynet(mynet, sizeof(mynet), r);
		}
		acl = ctl_acl_compile(list, mynet, dir, err, sizeof(err));
		if (!acl)
			fail_msg("round %zu: %s", r, err);
		snprintf(label, sizeof(label), "round %zu", r);
		check_list(label, acl, &st, NULL, NULL);
		ctl_acl_destroy(acl);
	}
	unlink(path);
	rmdir(dir);
	fprintf(stderr, "%zu lists: %zu entries, %zu regions, %zu points of the "
		"entries' reading, %zu region edges asked of the list; all "
		"minimal\n", st.lists, st.entries, st.regions, st.points, st.probes);
}

/* test_tiny_minimum - no smaller set of prefixes of 2001:db8::/124 gives
 * the answers of a tiny list */
static void test_tiny_minimum(void **state)
{
	static const char *const res[] = { "permit", "reject", "dunno" };
	size_t searched = 0, sizes[6] = { 0 };

	for (size_t r = 0; r < TINY_ROUNDS; r++) {
		char list[512], err[256];
		size_t o = 0, n;
		unsigned rules = 1 + (unsigned)(r % 4), depth = 0;
		uint8_t want[16];
		struct ctl_acl *acl;
		struct ctl_xdp_entry *e;

		rng = 0x94d049bb133111ebull * (r + 1);
		o += (size_t)snprintf(list + o, sizeof(list) - o, "cidr:{");
		for (unsigned i = 0; i < rules; i++) {
			unsigned pl = 124 + (unsigned)(rnd() % 5);
			unsigned a = (unsigned)rnd() & 15 & ~((1u << (128 - pl)) - 1);
			unsigned k = (unsigned)(rnd() % 6);

			if (k == 0 && depth == 0) {
				o += (size_t)snprintf(list + o, sizeof(list) - o,
						      "{if [2001:db8::%x]/%u}, ", a, pl);
				depth++;
			} else {	/* a negation only inside an if block */
				o += (size_t)snprintf(list + o, sizeof(list) - o,
						      "{%s[2001:db8::%x]/%u %s}, ",
						      k == 1 && depth ? "!" : "", a, pl,
						      res[rnd() % 3]);
			}
		}
		if (depth)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "{endif}, ");
		snprintf(list + o - 2, sizeof(list) - o + 2, "}");
		acl = ctl_acl_compile(list, "", "/tmp", err, sizeof(err));
		if (!acl)
			fail_msg("%s: %s", list, err);
		assert_int_equal(ctl_aclcomp_compile(acl, &e, &n), 0);
		for (unsigned x = 0; x < 16; x++) {
			struct scr_addr a = xt_addr("2001:db8::");

			a.b[15] = (uint8_t)x;
			want[x] = ctl_aclcomp_ans(ctl_acl_lookup(acl, &a));
		}
		for (size_t i = 0; i < n; i++)	/* nothing outside the /124 */
			assert_true(e[i].plen >= 124 && (e[i].net.b[15] & 0xf0) == 0 &&
				    memcmp(e[i].net.b, xt_addr("2001:db8::").b, 15) == 0);
		assert_true(n <= 5);
		sizes[n]++;
		/* every set of k < n of the 31 prefixes: each address takes
		 * its deepest prefix's answer, so a set does when each of its
		 * prefixes needs one answer only, and NONE elsewhere */
		for (size_t k = 0; k < n; k++) {
			unsigned idx[5] = { 0 };

			for (unsigned i = 0; i < k; i++)
				idx[i] = i;
			for (;;) {
				int own[16];
				uint8_t need[5];
				bool ok = true;

				for (unsigned x = 0; x < 16; x++) {
					own[x] = -1;
					for (unsigned i = 0; i < k; i++) {
						/* node j: depth d = log2(j + 1) */
						unsigned j = idx[i], d = 31 - (unsigned)__builtin_clz(j + 1);
						unsigned first = (j + 1 - (1u << d)) << (4 - d);

						if (x >= first && x < first + (16u >> d) &&
						    (own[x] < 0 || d > 31 - (unsigned)__builtin_clz(idx[own[x]] + 1)))
							own[x] = (int)i;
					}
				}
				memset(need, 0xff, sizeof(need));
				for (unsigned x = 0; x < 16 && ok; x++) {
					if (own[x] < 0)
						ok = want[x] == SCR_XDP_ANS_NONE;
					else if (need[own[x]] == 0xff)
						need[own[x]] = want[x];
					else
						ok = need[own[x]] == want[x];
				}
				if (ok)
					fail_msg("%s: %zu entries, %zu prefixes of the /124 do",
						 list, n, k);
				searched++;
				/* next k-subset of 0..30 */
				{
					int i = (int)k - 1;

					while (i >= 0 && idx[i] == 31 - k + (unsigned)i)
						i--;
					if (i < 0)
						break;
					idx[i]++;
					for (unsigned j = (unsigned)i + 1; j < k; j++)
						idx[j] = idx[j - 1] + 1;
				}
			}
		}
		free(e);
		ctl_acl_destroy(acl);
	}
	fprintf(stderr, "%d tiny lists (entries 0-5: %zu %zu %zu %zu %zu %zu), "
		"%zu smaller prefix sets searched, none gives their answers\n",
		TINY_ROUNDS, sizes[0], sizes[1], sizes[2], sizes[3], sizes[4],
		sizes[5], searched);
}

/* test_differential - random tables, kernel vs first match */
static void test_differential(void **state)
{
	static const char *const lists[] = {
		"permit_mynetworks, cidr:%s",
		"cidr:%s, permit_mynetworks",
		"cidr:%s",
		"permit_mynetworks, cidr:%s, reject",
	};
	static struct pfx pf[64];
	char dir[] = "/tmp/scrxdp-aclXXXXXX", path[128], list[256], err[256];
	size_t npf, r, i, n, checked = 0, mism = 0, seen[3] = { 0 };
	struct ctl_xdp_entry *e;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.cidr", dir);
	for (r = 0; r < ROUNDS; r++) {
		struct ctl_acl *acl;
		char mynet[256];

		rng = 0x9e3779b97f4a7c15ull * (r + 1);
		write_table(path, pf, &npf, 40, 6, true);
		snprintf(list, sizeof(list), lists[r % 4], path);
		rand_mynet(mynet, sizeof(mynet), r);
		acl = ctl_acl_compile(list, mynet, dir, err, sizeof(err));
		if (!acl)
			fail_msg("round %zu: %s", r, err);
		assert_int_equal(ctl_aclcomp_compile(acl, &e, &n), 0);
		assert_int_equal(ctl_maps_replace(maps, e, n), 0);
		for (i = 0; i < ADDRS; i++) {
			struct scr_addr a = rand_addr(pf, npf);
			enum ctl_acl_result want = ctl_acl_lookup(acl, &a);
			enum ctl_acl_result got = kernel_answer(&a);

			if (got != want) {
				char t[64];

				inet_ntop(AF_INET6, a.b, t, sizeof(t));
				fprintf(stderr, "round %zu: %s: kernel %d, list %d\n",
					r, t, got, want);
				mism++;
			}
			checked++;
			seen[want]++;
		}
		free(e);
		ctl_acl_destroy(acl);
	}
	unlink(path);
	rmdir(dir);
	fprintf(stderr, "%zu addresses checked over %d tables (dunno %zu, "
		"permit %zu, reject %zu)\n", checked, ROUNDS, seen[CTL_ACL_DUNNO],
		seen[CTL_ACL_PERMIT], seen[CTL_ACL_REJECT]);
	assert_int_equal(mism, 0);
	/* the tables must exercise every answer */
	assert_true(seen[CTL_ACL_DUNNO] > 500 && seen[CTL_ACL_PERMIT] > 500 &&
		    seen[CTL_ACL_REJECT] > 500);
}

/* large_pfx - a prefix inside scope (lo, plen) with plen in [min, max] */
static struct pfx large_pfx(const struct pfx *scope, unsigned min, unsigned max)
{
	struct pfx p = *scope;

	if (min > 128)
		min = 128;
	if (max > 128)
		max = 128;
	if (max < min)
		max = min;
	p.plen = min + (unsigned)(rnd() % (max - min + 1));
	for (unsigned i = scope->plen; i < p.plen; i++)
		if (rnd() % 2)
			p.a.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	ctl_addr_mask(&p.a, p.plen);
	return p;
}

/* write_large - about n lines: top-level blocks of ~500 lines, each
 * "if P" (lines inside P), "if !P" (lines inside another prefix of the
 * family's range) or unguarded (lines inside P), with nested blocks
 * alike, negations (only in a nested positive if, which keeps them inside
 * its small prefix) and covering lines; IPv4 blocks /10-/14 in
 * 1.0.0.0-223.255.255.255 (and /16-/20 in 10.0.0.0/14, dense), IPv6
 * blocks /36-/44 in 2001:db8::/32 */
static void write_large(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t lines = 0;
	char t[80];

	assert_non_null(f);
	while (lines < n) {
		struct pfx fam = {}, p, scope[5];
		bool pos[5];
		unsigned kind = (unsigned)(rnd() % 20), depth = 0, pl;
		size_t body = 300 + rnd() % 400;

		if (rnd() % 7 == 0) {
			fam.a = xt_addr("2001:db8::");
			fam.plen = 32;
			p = large_pfx(&fam, 36, 44);
		} else if (rnd() % 8 == 0) {	/* dense */
			fam.a = xt_addr("10.0.0.0");
			fam.plen = 96 + 14;
			p = large_pfx(&fam, 96 + 16, 96 + 20);
		} else {		/* 1.0.0.0-223.255.255.255 but 127/8 */
			fam.a = xt_addr("0.0.0.0");
			fam.plen = 96;
			do
				p = large_pfx(&fam, 96 + 10, 96 + 14);
			while (p.a.b[12] == 0 || p.a.b[12] == 127 || p.a.b[12] >= 224);
		}
		fmt(&p, t, sizeof(t));
		scope[0] = kind >= 14 && kind < 18 ?
			   large_pfx(&fam, p.plen, p.plen) : p;
		pos[0] = kind < 14;
		if (kind < 18)
			fprintf(f, "if %s%s\n", kind < 14 ? "" : "!", t);
		for (size_t i = 0; i < body; i++, lines++) {
			unsigned k = (unsigned)(rnd() % 100);
			const struct pfx *sc = &scope[depth];

			if (k < 2 && depth < 4) {
				bool neg = rnd() % 3 == 0;

				p = large_pfx(sc, sc->plen + 2, sc->plen + 8);
				fmt(&p, t, sizeof(t));
				fprintf(f, "if %s%s\n", neg ? "!" : "", t);
				depth++;
				scope[depth] = neg ? scope[depth - 1] : p;
				pos[depth] = !neg;
			} else if (k < 4 && depth > 0) {
				fprintf(f, "endif\n");
				depth--;
			} else if (k < 5 && depth > 0 && pos[depth]) {
				p = large_pfx(sc, sc->plen + 1, sc->plen + 10);
				fmt(&p, t, sizeof(t));
				fprintf(f, "!%s %s\n", t, results[rnd() % 5]);
			} else if (k < 6) {
				p = large_pfx(sc, sc->plen + 3, sc->plen + 8);
				fmt(&p, t, sizeof(t));
				fprintf(f, "%s %s\n", t, results[rnd() % 3]);
			} else {
				unsigned r = (unsigned)(rnd() % 20);

				/* mostly long: IPv4 /20-/32, IPv6 /64-/128 */
				pl = ctl_addr_is_v4(&sc->a) ? 96 + 20 + (unsigned)(rnd() % 13)
							    : 64 + (unsigned)(rnd() % 65);
				p = large_pfx(sc, pl < sc->plen + 4 ? sc->plen + 4 : pl, pl);
				fmt(&p, t, sizeof(t));
				fprintf(f, "%s %s\n", t, results[r < 14 ? 1 : r < 17 ? 0 :
								 r < 19 ? 2 : 3]);
			}
		}
		while (depth-- > 0)
			fprintf(f, "endif\n");
		if (kind < 18)
			fprintf(f, "endif\n");
	}
	fclose(f);
}

/* test_large - a 100,000-line list: checked whole, then in the kernel */
static void test_large(void **state)
{
	char dir[] = "/tmp/scrxdp-largeXXXXXX", path[128], list[256], err[256];
	struct check_stats st = {};
	struct ctl_acl_regions rg;
	struct ctl_xdp_entry *e;
	struct ctl_acl *acl;
	size_t n, mism = 0, asked = 0, randoms = 0;

	rng = 0x6a09e667f3bcc909ull;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/large.cidr", dir);
	write_large(path, LARGE_LINES);
	snprintf(list, sizeof(list), "permit_mynetworks, cidr:%s", path);
	acl = ctl_acl_compile(list, "!10.1.2.0/24 10.1.0.0/16 [2001:db8:1::]/48 "
			      "cidr:{{if !10.3.0.0/16}, {10.2.0.0/15 x}, {endif}}", dir, err,
			      sizeof(err));
	if (!acl)
		fail_msg("%s", err);
	check_list("large", acl, &st, &e, &n);
	assert_int_equal(ctl_acl_regions_init(&rg, acl), 0);
	for (int i = 0; i < 50000; i++) {	/* random addresses */
		u128 x = i % 2 ? V4LO | (uint32_t)(rnd() >> 32)
			       : num(&(struct scr_addr){ .b = { 0x20, 0x01, 0x0d, 0xb8 } }) |
				 ((u128)rnd() << 64 | rnd()) >> 32;
		struct scr_addr a = addr_of(x);

		if (ctl_acl_lookup(acl, &a) != rg.res[ctl_acl_regions_find(&rg, x)])
			fail_msg("large: a random address");
		randoms++;
	}
	fprintf(stderr, "large: %d lines, %zu entries, %zu regions; %zu points of "
		"the entries' reading, %zu region edges and %zu random addresses "
		"asked of the list; minimal\n", LARGE_LINES, n, rg.n, st.points,
		st.probes, randoms);
	/* IPv4 ranges beyond one per chunk: the list reaches the DXR maps */
	assert_true(ctl_maps_dxr_needed(e, n) > SCR_XDP_DXR_CHUNKS + 10000);
	assert_int_equal(ctl_maps_replace(maps, e, n), 0);
	for (int i = 0; i < LARGE_KERNEL; i++) {
		size_t k = (size_t)(rnd() % rg.n);
		u128 x = i % 3 == 0 ? rg.start[k] :
			 i % 3 == 1 ? (k + 1 < rg.n ? rg.start[k + 1] - 1 : U128_MAX) :
			 V4LO | (uint32_t)(rnd() >> 32);
		struct scr_addr a = addr_of(x);
		enum ctl_acl_result want = ctl_acl_lookup(acl, &a);

		if (kernel_answer(&a) != want) {
			char t[INET6_ADDRSTRLEN];

			inet_ntop(AF_INET6, a.b, t, sizeof(t));
			fprintf(stderr, "large: %s: kernel differs from the list (%d)\n",
				t, want);
			mism++;
		}
		asked++;
	}
	fprintf(stderr, "large: %zu addresses asked of the kernel\n", asked);
	assert_int_equal(mism, 0);
	ctl_acl_regions_fini(&rg);
	free(e);
	ctl_acl_destroy(acl);
	unlink(path);
	rmdir(dir);
}

/* fail_prefixes - an oracle whose prefix walk fails */
static int fail_prefixes(void *arg, int (*cb)(void *, const struct scr_addr *, unsigned),
			 void *cbarg)
{
	return -EIO;
}

/* dunno_lookup - answers dunno */
static enum ctl_acl_result dunno_lookup(void *arg, const struct scr_addr *a)
{
	return CTL_ACL_DUNNO;
}

/* test_bad_oracle - the compiler passes the oracle's error on */
static void test_bad_oracle(void **state)
{
	struct ctl_aclcomp_src src = { fail_prefixes, dunno_lookup, NULL };
	struct ctl_xdp_entry *e = (void *)1;
	size_t n = 7;

	assert_int_equal(ctl_aclcomp_compile_src(&src, &e, &n), -EIO);
	assert_null(e);
	assert_int_equal(n, 0);
}

/* test_minimal - a reject /16 with a dunno /24 hole: two entries */
static void test_minimal(void **state)
{
	char err[256];
	struct ctl_acl *acl;
	struct ctl_xdp_entry *e;
	size_t n;

	acl = ctl_acl_compile("cidr:{{198.18.1.0/24 dunno}, {198.18.0.0/16 reject}}",
			      "", "/tmp", err, sizeof(err));
	if (!acl)
		fail_msg("%s", err);
	assert_int_equal(ctl_aclcomp_compile(acl, &e, &n), 0);
	assert_int_equal(n, 2);
	free(e);
	ctl_acl_destroy(acl);
	/* an empty list compiles to nothing */
	acl = ctl_acl_compile("", "", "/tmp", err, sizeof(err));
	if (!acl)
		fail_msg("%s", err);
	assert_int_equal(ctl_aclcomp_compile(acl, &e, &n), 0);
	assert_int_equal(n, 0);
	free(e);
	ctl_acl_destroy(acl);
}

static int setup(void **state)
{
	char err[256];

	maps = ctl_maps_load(NULL, err, sizeof(err));
	if (!maps) {
		fprintf(stderr, "cannot load the XDP program: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	ctl_maps_destroy(maps);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_oracle),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_equivalence),
		cmocka_unit_test(test_tiny_minimum),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
