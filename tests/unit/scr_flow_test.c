/* SPDX-License-Identifier: BSD-3-Clause */
/* scr_flow_test - insert, lookup, remove, full table, reuse of entries */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "scr_flow.h"

/* key_of - a distinct key per number */
static struct scr_flow_key key_of(uint32_t n)
{
	struct scr_flow_key k;

	memset(&k, 0, sizeof(k));
	k.client.b[10] = k.client.b[11] = 0xff;
	k.client.b[12] = 198;
	k.client.b[13] = 18;
	k.client.b[14] = (uint8_t)(n >> 8);
	k.client.b[15] = (uint8_t)n;
	k.server.b[15] = 1;
	k.client_port = (uint16_t)(1024 + (n >> 16));
	k.server_port = 25;
	k.family = 4;
	return k;
}

/* test_bad_capacity - 0 and absurd capacities are refused */
static void test_bad_capacity(void **state)
{
	(void)state;
	errno = 0;
	assert_null(scr_flow_create(0));
	assert_int_equal(errno, EINVAL);
	assert_null(scr_flow_create(1u << 29));
}

/* test_fill_lookup_remove - a full table, every key found, refill after remove */
static void test_fill_lookup_remove(void **state)
{
	struct scr_flow_table *t = scr_flow_create(1000);
	struct scr_flow_key k;
	uint32_t i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 1000; i++) {
		k = key_of(i);
		assert_non_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	}
	k = key_of(1000);
	assert_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	assert_int_equal(t->used, 1000);
	for (i = 0; i < 1000; i++) {
		k = key_of(i);
		struct scr_flow *f = scr_flow_lookup(t, &k, scr_flow_hash(&k));

		assert_non_null(f);
		assert_true(scr_flow_key_eq(&f->key, &k));
	}
	k = key_of(1000);
	assert_null(scr_flow_lookup(t, &k, scr_flow_hash(&k)));
	/* remove every other one, then they are gone and the rest stays */
	for (i = 0; i < 1000; i += 2) {
		k = key_of(i);
		scr_flow_remove(t, scr_flow_lookup(t, &k, scr_flow_hash(&k)));
	}
	assert_int_equal(t->used, 500);
	for (i = 0; i < 1000; i++) {
		k = key_of(i);
		struct scr_flow *f = scr_flow_lookup(t, &k, scr_flow_hash(&k));

		if (i % 2)
			assert_non_null(f);
		else
			assert_null(f);
	}
	for (i = 2000; i < 2500; i++) {
		k = key_of(i);
		assert_non_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	}
	k = key_of(3000);
	assert_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	scr_flow_clear(t);
	assert_int_equal(t->used, 0);
	k = key_of(1);
	assert_null(scr_flow_lookup(t, &k, scr_flow_hash(&k)));
	scr_flow_destroy(t);
}

/* test_entry_budget - the entry stays within two cache lines */
static void test_entry_budget(void **state)
{
	struct scr_flow_table *t = scr_flow_create(1u << 16);

	(void)state;
	assert_true(sizeof(struct scr_flow) <= 128);
	assert_true(scr_flow_bytes_per_flow(t) <= 132);
	scr_flow_destroy(t);
}

/* test_hash_spread - one port, consecutive v4 clients: the bucket index
 * must depend on the last address bytes (random keys hit ~63% of buckets) */
static void test_hash_spread(void **state)
{
	static uint8_t hit[65536];
	uint32_t i, used = 0;

	(void)state;
	memset(hit, 0, sizeof(hit));
	for (i = 0; i < 65536; i++) {
		struct scr_flow_key k = key_of(i & 0xffff);

		k.client_port = 40000;
		hit[scr_flow_hash(&k) & 0xffff] = 1;
	}
	for (i = 0; i < 65536; i++)
		used += hit[i];
	assert_true(used > 65536 / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_fill_lookup_remove),
		cmocka_unit_test(test_entry_budget),
		cmocka_unit_test(test_hash_spread),
	};

	return cmocka_run_group_tests_name("scr_flow", tests, NULL, NULL);
}
