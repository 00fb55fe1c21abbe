/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	xdp_replace_test - replacing 1M prefixes never shows an empty list
 * DESCRIPTION
 *	Loads 1M random IPv4 prefixes plus sentinel prefixes that reject
 *	198.18.0.0/15 and 2001:db8::/32, then replaces the whole list with
 *	another 1M (the sentinels written differently: two halves) and back,
 *	several times, while a second thread sends SYNs from sentinel
 *	addresses through BPF_PROG_TEST_RUN in a loop. Every one of those
 *	packets must be dropped: a packet that passed saw a list without its
 *	entry. Also checks that traffic ran during the replacements.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "xdp_test_util.h"

#define NPFX	1000000
#define FLIPS	4

static struct ctl_maps *maps;
static atomic_int stop;
static atomic_ulong sent, passed, errors;

/* traffic - SYNs from sentinel addresses until stop */
static void *traffic(void *arg)
{
	uint8_t pkts[4][256];
	int lens[4], i = 0;
	struct xt_pkt p4a = { .src = "198.18.0.1" }, p4b = { .src = "198.19.255.254" },
		p6a = { .v6 = 1, .src = "2001:db8::1" },
		p6b = { .v6 = 1, .src = "2001:db8:ffff::1" };

	lens[0] = xt_build(pkts[0], &p4a);
	lens[1] = xt_build(pkts[1], &p4b);
	lens[2] = xt_build(pkts[2], &p6a);
	lens[3] = xt_build(pkts[3], &p6b);
	while (!atomic_load(&stop)) {
		uint32_t act = 0;

		if (xt_run(ctl_maps_prog_fd(maps), pkts[i & 3], lens[i & 3], &act))
			atomic_fetch_add(&errors, 1);
		else if (act != XDP_DROP)
			atomic_fetch_add(&passed, 1);
		atomic_fetch_add(&sent, 1);
		i++;
	}
	return NULL;
}

/* make_list - 1M random prefixes + sentinels in one of two shapes */
static struct ctl_xdp_entry *make_list(uint64_t seed, int shape, size_t *n)
{
	struct ctl_xdp_entry *e = calloc(NPFX + 8, sizeof(*e));
	size_t k = NPFX;

	assert_non_null(e);
	xt_random_v4(e, NPFX, seed);
	if (shape == 0) {
		e[k++] = xt_entry("198.18.0.0", 15, SCR_XDP_ANS_REJECT);
		e[k++] = xt_entry("2001:db8::", 32, SCR_XDP_ANS_REJECT);
	} else {
		e[k++] = xt_entry("198.18.0.0", 16, SCR_XDP_ANS_REJECT);
		e[k++] = xt_entry("198.19.0.0", 16, SCR_XDP_ANS_REJECT);
		e[k++] = xt_entry("2001:db8::", 33, SCR_XDP_ANS_REJECT);
		e[k++] = xt_entry("2001:db8:8000::", 33, SCR_XDP_ANS_REJECT);
	}
	*n = k;
	return e;
}

/* test_replace_under_traffic - no packet sees an empty list */
static void test_replace_under_traffic(void **state)
{
	struct ctl_xdp_entry *a, *b;
	struct ctl_maps_opts o = {};
	size_t na, nb;
	unsigned long before;
	pthread_t th;
	char err[256];
	uint32_t ra, rb;
	int i;

	a = make_list(1, 0, &na);
	b = make_list(2, 1, &nb);
	ra = ctl_maps_dxr_needed(a, na);
	rb = ctl_maps_dxr_needed(b, nb);
	o.dxr_ranges = ra > rb ? ra : rb;
	maps = ctl_maps_load(&o, err, sizeof(err));
	if (!maps)
		fail_msg("cannot load the XDP program: %s", err);
	assert_int_equal(ctl_maps_replace(maps, a, na), 0);
	assert_int_equal(pthread_create(&th, NULL, traffic, NULL), 0);
	while (atomic_load(&sent) < 1000)
		;
	for (i = 0; i < FLIPS; i++) {
		unsigned act = ctl_maps_active(maps);

		before = atomic_load(&sent);
		assert_int_equal(ctl_maps_replace(maps, i % 2 ? a : b, i % 2 ? na : nb), 0);
		assert_int_not_equal(ctl_maps_active(maps), act);
		/* traffic ran while the copy was written */
		assert_true(atomic_load(&sent) > before);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	fprintf(stderr, "%lu packets during %d replacements of %zu/%zu prefixes "
		"(%u/%u DXR ranges): %lu passed, %lu errors\n", atomic_load(&sent),
		FLIPS, na, nb, ra, rb, atomic_load(&passed), atomic_load(&errors));
	assert_int_equal(atomic_load(&errors), 0);
	assert_int_equal(atomic_load(&passed), 0);
	ctl_maps_destroy(maps);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_under_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
