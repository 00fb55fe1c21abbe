/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_hold_test - the inline worker's greeting-hold store
 * DESCRIPTION
 *	Bad input first (zero sizes, full budget, full flow), then order:
 *	FIFO by start, packets in arrival order, retransmissions not kept,
 *	due time, forced release of the oldest, take on stop, slot reuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <string.h>

#include <cmocka.h>

#include "dp_hold.h"

/* key - flow n's key */
static struct scr_flow_key key(unsigned n)
{
	struct scr_flow_key k;

	memset(&k, 0, sizeof(k));
	k.client.b[10] = 0xff;
	k.client.b[11] = 0xff;
	k.client.b[12] = 198;
	k.client.b[13] = 18;
	k.client.b[15] = (uint8_t)n;
	k.server = k.client;
	k.server.b[15] = 1;
	k.client_port = (uint16_t)(40000 + n);
	k.server_port = 25;
	k.family = 4;
	return k;
}

#define P(x) ((void *)(uintptr_t)(x))

static void test_bad_input(void **state)
{
	struct scr_flow_key k1 = key(1), k2 = key(2);
	void *out[DP_HOLD_FLOW_MAX];
	struct dp_hold *h;
	unsigned i;

	(void)state;
	assert_null(dp_hold_create(0, 4));
	assert_int_equal(errno, EINVAL);
	assert_null(dp_hold_create(4, 0));
	h = dp_hold_create(3, 1);
	assert_non_null(h);
	assert_int_equal(dp_hold_add(h, &k1, 100, 10, P(1), 5), 0);
	assert_int_equal(dp_hold_add(h, &k2, 100, 10, P(2), 5), -ENOSPC); /* no flow slot */
	assert_int_equal(dp_hold_add(h, &k1, 110, 10, P(3), 6), 0);
	assert_int_equal(dp_hold_add(h, &k1, 120, 10, P(4), 6), 0);
	assert_int_equal(dp_hold_add(h, &k1, 130, 10, P(5), 6), -ENOSPC); /* budget */
	assert_int_equal(dp_hold_pkts(h), 3);
	assert_int_equal(dp_hold_take(h, &k2, out, DP_HOLD_FLOW_MAX), 0);
	assert_int_equal(dp_hold_release_oldest(h, out, 2), 0);	/* no room */
	assert_int_equal(dp_hold_release_oldest(h, out, DP_HOLD_FLOW_MAX), 3);
	dp_hold_destroy(h);
	/* One flow holds at most DP_HOLD_FLOW_MAX packets. */
	h = dp_hold_create(1000, 4);
	for (i = 0; i < DP_HOLD_FLOW_MAX; i++)
		assert_int_equal(dp_hold_add(h, &k1, 100 + i * 10, 10, P(i + 1), 1), 0);
	assert_int_equal(dp_hold_add(h, &k1, 100 + i * 10, 10, P(99), 1), -ENOSPC);
	dp_hold_destroy(h);
}

static void test_order_and_due(void **state)
{
	struct scr_flow_key k1 = key(1), k2 = key(2), k3 = key(3);
	void *out[DP_HOLD_FLOW_MAX * 3];
	struct dp_hold *h = dp_hold_create(64, 8);
	unsigned n;

	(void)state;
	assert_non_null(h);
	assert_int_equal(dp_hold_oldest_ns(h), UINT64_MAX);
	assert_int_equal(dp_hold_add(h, &k1, 1000, 27, P(11), 100), 0);
	assert_int_equal(dp_hold_add(h, &k2, 5000, 27, P(21), 200), 0);
	assert_int_equal(dp_hold_add(h, &k1, 1000, 27, P(12), 250), 1);	/* retransmission */
	assert_int_equal(dp_hold_add(h, &k1, 1010, 10, P(13), 250), 1);	/* inside held bytes */
	assert_int_equal(dp_hold_add(h, &k1, 1027, 0, P(14), 260), 0);	/* pure ACK/FIN kept */
	assert_int_equal(dp_hold_add(h, &k1, 1027, 30, P(15), 270), 0);
	assert_int_equal(dp_hold_add(h, &k3, 7000, 10, P(31), 300), 0);
	assert_int_equal(dp_hold_flows(h), 3);
	assert_int_equal(dp_hold_pkts(h), 5);
	assert_int_equal(dp_hold_oldest_ns(h), 100);
	/* Hold 1000: nothing due at 1099, flow 1 at 1100, 1+2 at 1200. */
	assert_int_equal(dp_hold_due(h, 1099, 1000, out, 96), 0);
	n = dp_hold_due(h, 1100, 1000, out, 96);
	assert_int_equal(n, 3);
	assert_ptr_equal(out[0], P(11));
	assert_ptr_equal(out[1], P(14));
	assert_ptr_equal(out[2], P(15));
	/* A flow is never split: room for 0 gives nothing. */
	assert_int_equal(dp_hold_due(h, 5000, 1000, out, 0), 0);
	/* Stop of flow 3 takes its packets; flow 2 then is due alone. */
	assert_int_equal(dp_hold_take(h, &k3, out, 96), 1);
	assert_ptr_equal(out[0], P(31));
	assert_int_equal(dp_hold_due(h, 5000, 1000, out, 96), 1);
	assert_ptr_equal(out[0], P(21));
	assert_int_equal(dp_hold_flows(h), 0);
	assert_int_equal(dp_hold_pkts(h), 0);
	/* Slots are reused, many times over. */
	for (n = 0; n < 1000; n++) {
		struct scr_flow_key k = key(n % 200);

		assert_int_equal(dp_hold_add(h, &k, n, 5, P(n + 1), n), 0);
		if (dp_hold_flows(h) == 8)
			assert_int_equal(dp_hold_release_oldest(h, out, 96), 1);
	}
	assert_int_equal(dp_hold_flows(h), 7);
	assert_int_equal(dp_hold_due(h, UINT64_MAX / 2, 0, out, 96), 7);
	assert_int_equal(dp_hold_flows(h), 0);
	dp_hold_destroy(h);
}

/* minor_faults - page faults of this process so far */
static long minor_faults(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* test_lazy_create - a big table costs the pages it uses, not its size at
 * create (host mode's start touched every slot to chain a free list) */
static void test_lazy_create(void **state)
{
	struct scr_flow_key k = key(7);
	void *out[DP_HOLD_FLOW_MAX];
	long before = minor_faults(), faults;
	struct dp_hold *h = dp_hold_create(1u << 20, 1u << 20);

	(void)state;
	assert_non_null(h);
	faults = minor_faults() - before;
	/* A slot is more than 64 bytes: writing all 2^20 touches at least
	 * 16,384 pages (105,000 faults before). ASan's shadow of the table,
	 * an eighth of it, is what is left (~10,800). */
	if (faults >= 16384)
		fail_msg("creating a 1M-flow table took %ld page faults", faults);
	assert_int_equal(dp_hold_add(h, &k, 1, 5, P(1), 1), 0);
	assert_int_equal(dp_hold_take(h, &k, out, DP_HOLD_FLOW_MAX), 1);
	assert_int_equal(dp_hold_add(h, &k, 9, 5, P(2), 2), 0);	/* the freed slot */
	assert_int_equal(dp_hold_flows(h), 1);
	dp_hold_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_lazy_create),
		cmocka_unit_test(test_order_and_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
