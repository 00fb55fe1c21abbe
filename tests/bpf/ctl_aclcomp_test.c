/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_aclcomp_test - randomized differential test of the access-list
 *	compiler against the kernel
 * DESCRIPTION
 *	Fixed seeds. Each round writes a random ordered cidr table (IPv4 and
 *	IPv6, nested if/endif, if !pattern, !pattern lines, overlapping
 *	prefixes, permit/reject/dunno) and a random mynetworks, compiles
 *	postscreen_access_list with ctl_acl_compile, compiles that into
 *	longest-prefix entries (ctl_aclcomp_compile), loads them into the XDP
 *	program, and for thousands of addresses (random, inside and at the
 *	edges of the table's prefixes) checks that the program's answer for a
 *	SYN from that address (action + counter) is ctl_acl_lookup's
 *	first-match answer. Bad input first: an oracle whose prefix callback
 *	fails makes the compiler fail.
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

static struct ctl_maps *maps;
static uint64_t rng;

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

/* write_table - a random cidr table; its prefixes in pf */
static void write_table(const char *path, struct pfx *pf, size_t *npf)
{
	static const char *const res[] = { "permit", "reject", "dunno" };
	FILE *f = fopen(path, "w");
	int depth = 0, lines = 4 + (int)(rnd() % 40), i;
	char t[80];

	assert_non_null(f);
	*npf = 0;
	for (i = 0; i < lines; i++) {
		struct pfx p = rand_prefix(pf, *npf);
		unsigned r = (unsigned)(rnd() % 10);

		pf[(*npf)++] = p;
		fmt(&p, t, sizeof(t));
		if (r == 0 && depth < 3) {
			fprintf(f, "if %s%s\n", rnd() % 3 ? "" : "!", t);
			depth++;
		} else if (r == 1 && depth > 0) {
			fprintf(f, "endif\n");
			depth--;
			(*npf)--;
		} else {
			fprintf(f, "%s%s %s\n", rnd() % 6 ? "" : "!", t,
				res[rnd() % 3]);
		}
	}
	while (depth-- > 0)
		fprintf(f, "endif\n");
	fclose(f);
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
		char mynet[128];

		rng = 0x9e3779b97f4a7c15ull * (r + 1);
		write_table(path, pf, &npf);
		snprintf(list, sizeof(list), lists[r % 4], path);
		snprintf(mynet, sizeof(mynet), "198.18.%u.0/24 [2001:db8:%x::]/48",
			 (unsigned)(rnd() % 256), (unsigned)(rnd() % 65536));
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
