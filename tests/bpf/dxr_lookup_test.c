/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dxr_lookup_test - the DXR form (ctl_maps_dxr_build) and its BPF search
 *	(scr_lookup.bpf.h) answer as a longest-prefix match
 * DESCRIPTION
 *	Builds the DXR form of a list, writes it into scr_lookup_bench's maps
 *	(the ranges in a plain array and in an inner map), and compares, per
 *	address, scr_dxr_prog's and scr_dxr_inner_prog's action (DROP =
 *	REJECT, TX = PERMIT, PASS = none; BPF_PROG_TEST_RUN) and the user-space
 *	search with xt_ref_lookup (a per-length binary search of the prefixes).
 *	The shipped program too: the list goes into a loaded scr_xdp with
 *	ctl_maps_replace (its maps grown when the list needs more ranges than
 *	the default copy holds: the 300K list) and every address checked is
 *	sent through scr_xdp_prog, in copy B and again in copy A: DROP iff
 *	REJECT; then, with a dynamic block of 0.0.0.0/0 added, PASS iff
 *	PERMIT (NONE falls through to the block).
 *	Lists: empty; 0.0.0.0/0 with nested carve-outs; the first and last
 *	address of the space; a chunk with the most ranges a chunk can hold
 *	(2^14: /32s at every even address); random blocklist mixes (10K, 300K)
 *	with nested NONE prefixes. Addresses: every prefix's first and last
 *	address and their neighbours (a sample for the large lists), every
 *	address of the full chunk, random ones. Needs root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "scr_lookup_bench.skel.h"
#include "xdp_test_util.h"

#define MAX_CHECKED	200000

/* entry4 - one IPv4 entry from text */
static struct ctl_xdp_entry entry4(const char *net, unsigned plen, unsigned ans)
{
	struct ctl_xdp_entry e = { .net = xt_addr(net), .plen = (uint8_t)(96 + plen),
				   .ans = (uint8_t)ans };

	ctl_addr_mask(&e.net, e.plen);
	return e;
}

/* A loaded lookup program over one list. */
struct dxr_fix {
	struct scr_lookup_bench *b;
	struct ctl_dxr d;
	struct xt_ref *ref;
	size_t n;
	int inner_fd;
	unsigned checked;
	struct ctl_maps *x;		/* scr_xdp with the list */
	const struct ctl_xdp_entry *e;
	uint32_t *addrs;		/* the addresses checked */
};

/* fix_load - build the list's DXR form and load it into the maps */
static void fix_load(struct dxr_fix *f, const struct ctl_xdp_entry *e, size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo,
		    .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	size_t vals, bytes;
	__u32 zero = 0;
	void *p;

	char err[256];

	memset(f, 0, sizeof(*f));
	f->n = n;
	f->e = e;
	f->ref = xt_ref_build(e, n);
	assert_non_null(f->ref);
	f->addrs = malloc(MAX_CHECKED * sizeof(*f->addrs));
	assert_non_null(f->addrs);
	f->x = ctl_maps_load(NULL, err, sizeof(err));
	if (!f->x)
		fail_msg("cannot load scr_xdp: %s", err);
	assert_int_equal(ctl_maps_replace(f->x, e, n), 0);
	assert_int_equal(ctl_maps_active(f->x), 1);
	assert_int_equal(ctl_maps_dxr_build(e, n, &f->d), 0);
	vals = f->d.nranges / SCR_XDP_DXR_RANGE_PER + 1;
	bytes = vals * sizeof(struct scr_xdp_dxr_range);
	f->b = scr_lookup_bench__open();
	assert_non_null(f->b);
	bpf_map__set_autocreate(f->b->maps.tbl24, false);
	bpf_map__set_autocreate(f->b->maps.tbl8, false);
	bpf_program__set_autoload(f->b->progs.scr_dir248_prog, false);
	bpf_map__set_max_entries(f->b->maps.dxr_ranges, (__u32)vals);
	assert_int_equal(scr_lookup_bench__load(f->b), 0);

	p = mmap(NULL, SCR_XDP_DXR_BASE_VALS * sizeof(struct scr_xdp_dxr_base),
		 PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(f->b->maps.dxr_base), 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, f->d.base, SCR_XDP_DXR_BASE_VALS * sizeof(struct scr_xdp_dxr_base));
	munmap(p, SCR_XDP_DXR_BASE_VALS * sizeof(struct scr_xdp_dxr_base));
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(f->b->maps.dxr_ranges), 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, f->d.ranges, bytes);
	munmap(p, bytes);

	f->inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dxr_inner", 4,
				     sizeof(struct scr_xdp_dxr_range), (__u32)vals, &mo);
	assert_true(f->inner_fd >= 0);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, f->inner_fd, 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, f->d.ranges, bytes);
	munmap(p, bytes);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(f->b->maps.dxr_outer),
					     &zero, &f->inner_fd, BPF_ANY), 0);
}

/* xdp_pass - scr_xdp_prog on every address checked: DROP iff REJECT,
 * then with a dynamic block of everything PASS iff PERMIT */
static void xdp_pass(struct dxr_fix *f)
{
	struct scr_addr all = xt_addr("0.0.0.0");
	unsigned phase, i, act, want, drops = 0;
	uint8_t buf[256];
	int len;

	for (phase = 0; phase < 2; phase++) {
		if (phase)
			assert_int_equal(ctl_maps_dyn_add(f->x, SCR_XDP_KIND_BLOCK,
							  &all, 96, 0, 0), 0);
		for (i = 0; i < f->checked; i++) {
			want = xt_ref_lookup(f->ref, f->n, f->addrs[i]);
			len = xt_frame4(buf, f->addrs[i]);
			assert_int_equal(xt_run(ctl_maps_prog_fd(f->x), buf, len, &act), 0);
			drops += act == XDP_DROP;
			if (phase == 0 && (act == XDP_DROP) != (want == SCR_XDP_ANS_REJECT))
				fail_msg("%08x: scr_xdp copy %u action %u, reference %u",
					 f->addrs[i], ctl_maps_active(f->x), act, want);
			if (phase == 1 && (act == XDP_PASS) != (want == SCR_XDP_ANS_PERMIT))
				fail_msg("%08x: scr_xdp copy %u with a block of all: "
					 "action %u, reference %u", f->addrs[i],
					 ctl_maps_active(f->x), act, want);
		}
	}
	assert_int_equal(ctl_maps_dyn_del(f->x, SCR_XDP_KIND_BLOCK, &all, 96), 0);
	assert_true(drops > 0);
}

/* fix_free - scr_xdp in both copies, then unload */
static void fix_free(struct dxr_fix *f)
{
	xdp_pass(f);				/* copy B */
	assert_int_equal(ctl_maps_replace(f->x, f->e, f->n), 0);
	assert_int_equal(ctl_maps_active(f->x), 0);
	xdp_pass(f);				/* copy A */
	ctl_maps_destroy(f->x);
	free(f->addrs);
	scr_lookup_bench__destroy(f->b);
	close(f->inner_fd);
	ctl_maps_dxr_free(&f->d);
	free(f->ref);
}

/* ans_of - the answer an action stands for */
static unsigned ans_of(uint32_t act)
{
	return act == XDP_DROP ? SCR_XDP_ANS_REJECT :
	       act == XDP_TX ? SCR_XDP_ANS_PERMIT : SCR_XDP_ANS_NONE;
}

/* check - both programs and the user-space search answer as the reference */
static void check(struct dxr_fix *f, uint32_t a)
{
	unsigned want = xt_ref_lookup(f->ref, f->n, a);
	uint8_t buf[256];
	int len = xt_frame4(buf, a);
	uint32_t act;

	if (ctl_maps_dxr_lookup(&f->d, a) != want)
		fail_msg("%08x: user-space search %u, reference %u", a,
			 ctl_maps_dxr_lookup(&f->d, a), want);
	assert_int_equal(xt_run(bpf_program__fd(f->b->progs.scr_dxr_prog), buf, len, &act), 0);
	if (ans_of(act) != want)
		fail_msg("%08x: scr_dxr_prog %u, reference %u", a, ans_of(act), want);
	assert_int_equal(xt_run(bpf_program__fd(f->b->progs.scr_dxr_inner_prog), buf, len, &act), 0);
	if (ans_of(act) != want)
		fail_msg("%08x: scr_dxr_inner_prog %u, reference %u", a, ans_of(act), want);
	assert_true(f->checked < MAX_CHECKED);
	f->addrs[f->checked++] = a;
}

/* check_edges - each prefix's first and last address and neighbours
 * (every step-th prefix), then random addresses */
static void check_edges(struct dxr_fix *f, const struct ctl_xdp_entry *e,
			size_t n, size_t step, unsigned nrand)
{
	uint64_t seed = 99;
	size_t i;

	for (i = 0; i < n; i += step) {
		uint32_t s, last;
		unsigned plen = e[i].plen - 96u;

		memcpy(&s, &e[i].net.b[12], 4);
		s = ntohl(s);
		last = s | (plen >= 32 ? 0u : ~0u >> plen);
		check(f, s);
		check(f, last);
		check(f, s - 1);
		check(f, last + 1);
	}
	for (i = 0; i < nrand; i++)
		check(f, (uint32_t)(xt_rand(&seed) >> 32));
}

/* test_empty - no prefixes: every address unlisted */
static void test_empty(void **state)
{
	struct dxr_fix f;

	(void)state;
	fix_load(&f, NULL, 0);
	assert_int_equal(f.d.nranges, SCR_XDP_DXR_CHUNKS);
	check_edges(&f, NULL, 0, 1, 2000);
	check(&f, 0);
	check(&f, 0xffffffffu);
	fix_free(&f);
}

/* test_nested - /0 with carve-outs, nested answers, the space's ends */
static void test_nested(void **state)
{
	struct ctl_xdp_entry e[] = {
		entry4("0.0.0.0", 0, SCR_XDP_ANS_REJECT),
		entry4("10.0.0.0", 8, SCR_XDP_ANS_NONE),
		entry4("10.1.0.0", 16, SCR_XDP_ANS_PERMIT),
		entry4("10.1.2.0", 24, SCR_XDP_ANS_REJECT),
		entry4("10.1.2.3", 32, SCR_XDP_ANS_NONE),
		entry4("10.1.2.3", 32, SCR_XDP_ANS_PERMIT),	/* later wins */
		entry4("0.0.0.0", 32, SCR_XDP_ANS_PERMIT),
		entry4("255.255.255.255", 32, SCR_XDP_ANS_NONE),
		entry4("100.64.63.255", 32, SCR_XDP_ANS_PERMIT),	/* a chunk's last */
		entry4("100.64.64.0", 32, SCR_XDP_ANS_NONE),	/* next chunk's first */
		entry4("172.16.0.0", 12, SCR_XDP_ANS_PERMIT),
		entry4("172.16.0.0", 13, SCR_XDP_ANS_PERMIT),	/* same answer nested */
	};
	struct dxr_fix f;
	size_t n = sizeof(e) / sizeof(e[0]);

	(void)state;
	fix_load(&f, e, n);
	check_edges(&f, e, n, 1, 5000);
	fix_free(&f);
}

/* test_full_chunk - /32s at every even address of one chunk inside a /8 of
 * another answer: 2^14 ranges, the most a chunk holds */
static void test_full_chunk(void **state)
{
	const size_t n = 1u << (SCR_XDP_DXR_OFF_BITS - 1);
	struct ctl_xdp_entry *e = calloc(n + 1, sizeof(*e));
	uint32_t base = 0x64400000u, a;	/* 100.64.0.0, a chunk's start */
	struct dxr_fix f;
	size_t i;

	(void)state;
	assert_non_null(e);
	for (i = 0; i < n; i++) {
		a = htonl(base + 2 * (uint32_t)i);
		e[i] = entry4("0.0.0.0", 32, i % 2 ? SCR_XDP_ANS_REJECT : SCR_XDP_ANS_NONE);
		memcpy(&e[i].net.b[12], &a, 4);
	}
	e[n] = entry4("100.0.0.0", 8, SCR_XDP_ANS_PERMIT);	/* the odd ones */
	fix_load(&f, e, n + 1);
	assert_int_equal(f.d.base[(base >> SCR_XDP_DXR_OFF_BITS) + 1] -
			 f.d.base[base >> SCR_XDP_DXR_OFF_BITS],
			 1u << SCR_XDP_DXR_OFF_BITS);
	for (a = base - 2; a != base + (1u << SCR_XDP_DXR_OFF_BITS) + 2; a++)
		check(&f, a);
	fix_free(&f);
	free(e);
}

/* test_random - blocklist mixes with nested NONE prefixes */
static void test_random(void **state)
{
	static const size_t sizes[] = { 10000, 300000 };
	unsigned s;

	(void)state;
	for (s = 0; s < 2; s++) {
		size_t n = sizes[s];
		struct ctl_xdp_entry *e = calloc(n, sizeof(*e));
		struct dxr_fix f;

		assert_non_null(e);
		xt_random_v4_mix(e, n, 1234 + n);
		fix_load(&f, e, n);
		check_edges(&f, e, n, n / 5000, 20000);
		fix_free(&f);
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_full_chunk),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
