/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_ccount_test - the per-client flow count table
 * DESCRIPTION
 *	Bad arguments first; then tables of scripted inc/dec steps on keys
 *	crafted to share a home slot (the low bits of the fingerprint pick
 *	it), deleting from the middle of a probe run, at the end of the
 *	table (wrap-around) and after saturation; then random inc/dec
 *	sequences over thousands of keys checked against a plain reference
 *	array after every step; then the address fingerprints themselves:
 *	keyed (another process key, other fingerprints), distinct under a
 *	fixed key.
 * CONTRACT
 *	Exits non-zero when a case fails; cmocka reports which.
 * THREADING
 *	Single thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scr_ccount.h"
#include "scr_hash.h"

/* slots_for - slots of a table made for `flows` flows: the smallest power
 * of two that is at least twice the flows (scr_ccount.h: never more than
 * half full); the home slot of a key is its low bits */
static uint32_t slots_for(uint32_t flows)
{
	uint32_t n = 2;

	while (n < 2 * flows)
		n <<= 1;
	return n;
}

/* mkkey - a fingerprint with home slot `home` in a table of `slots`, made
 * distinct by `tag` (upper bits) */
static uint64_t mkkey(uint32_t slots, uint32_t home, uint32_t tag)
{
	return ((uint64_t)(tag + 1) * slots) | home;
}

/* test_create_bad - 0 flows and too many flows are EINVAL */
static void test_create_bad(void **state)
{
	static const struct {
		const char *label;
		uint32_t flows;
	} c[] = {
		{"no flows", 0},
		{"over 2^28 flows", (1u << 28) + 1},
		{"UINT32_MAX flows", UINT32_MAX},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_ccount *t;

		errno = 0;
		t = scr_ccount_create(c[i].flows);
		if (t != NULL || errno != EINVAL)
			fail_msg("%s: got %p errno %d", c[i].label, (void *)t, errno);
	}
	scr_ccount_destroy(NULL);	/* a no-op */
}

/* test_bytes_per_flow - two 8-byte slots per flow when flows is a power
 * of two, more when rounding up */
static void test_bytes_per_flow(void **state)
{
	static const struct {
		uint32_t flows;
		size_t want;
	} c[] = {
		{1, 16}, {1024, 16}, {1500, 4096 * 8 / 1500}, {262144, 16},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_ccount *t = scr_ccount_create(c[i].flows);

		assert_non_null(t);
		if (scr_ccount_bytes_per_flow(t, c[i].flows) != c[i].want)
			fail_msg("flows %u: %zu bytes per flow, want %zu", c[i].flows,
				 scr_ccount_bytes_per_flow(t, c[i].flows), c[i].want);
		scr_ccount_destroy(t);
	}
}

/* One scripted step: '+' inc, '-' dec of key k (index into the case's
 * keys); after each step every key's count is checked against the model. */
struct cstep {
	char op;
	uint8_t k;
};

#define CKEYS 8
struct ccase {
	const char *label;
	uint32_t flows;			/* table made for this many flows */
	uint32_t home[CKEYS];		/* home slot of key k */
	unsigned nkeys;
	struct cstep s[32];
};

static const struct ccase ccases[] = {
	{"dec of an absent key is a no-op", 4, {1, 1}, 2,
	 {{'-', 0}, {'+', 1}, {'-', 0}, {'-', 0}, {'+', 0}, {'-', 1}, {'-', 1}}},
	{"dec of an absent key that shares a run is a no-op", 4, {3, 3, 3}, 3,
	 {{'+', 0}, {'+', 2}, {'-', 1}, {'-', 1}, {'-', 0}, {'-', 1}}},
	{"counts go up and down and free the slot at 0", 4, {2}, 1,
	 {{'+', 0}, {'+', 0}, {'+', 0}, {'-', 0}, {'-', 0}, {'-', 0}, {'-', 0},
	  {'+', 0}}},
	{"four keys on one home: delete the second of the run", 4, {2, 2, 2, 2}, 4,
	 {{'+', 0}, {'+', 1}, {'+', 2}, {'+', 3}, {'-', 1}, {'+', 1}, {'-', 2},
	  {'-', 0}, {'-', 3}, {'-', 1}}},
	{"run wraps past the last slot: delete at the end", 4, {7, 7, 7, 7}, 4,
	 {{'+', 0}, {'+', 1}, {'+', 2}, {'+', 3}, {'-', 0}, {'-', 2}, {'+', 0},
	  {'-', 3}, {'-', 1}, {'-', 0}}},
	{"a key whose home is after the gap stays put", 4, {1, 1, 3, 1}, 4,
	 /* slots: 1:k0 2:k1 3:k2 4:k3 (k3 probed past k2); delete k1: k3
	  * must move back over k2 to slot 2 while k2 stays at its home */
	 {{'+', 0}, {'+', 1}, {'+', 2}, {'+', 3}, {'-', 1}, {'-', 0}, {'+', 1},
	  {'-', 2}, {'-', 3}, {'-', 1}}},
	{"keys of two homes interleaved, deleted from the middle", 4, {6, 7, 6, 0}, 4,
	 /* 6:k0 7:k1 0:k2 1:k3 (wraps); delete k1 then k0 */
	 {{'+', 0}, {'+', 1}, {'+', 2}, {'+', 3}, {'-', 1}, {'-', 0}, {'+', 0},
	  {'+', 1}, {'-', 3}, {'-', 2}, {'-', 0}, {'-', 1}}},
	{"counts above 1 survive moves", 4, {5, 5, 5, 6}, 4,
	 {{'+', 0}, {'+', 1}, {'+', 1}, {'+', 2}, {'+', 2}, {'+', 2}, {'+', 3},
	  {'+', 3}, {'-', 0}, {'-', 2}, {'-', 1}, {'-', 1}, {'-', 2}, {'-', 3},
	  {'-', 2}, {'-', 3}}},
	{"a 1024-flow table: eight keys on slot 2047", 1024,
	 {2047, 2047, 2047, 0, 2047, 1, 2047, 2047}, 8,
	 {{'+', 0}, {'+', 1}, {'+', 2}, {'+', 3}, {'+', 4}, {'+', 5}, {'+', 6},
	  {'+', 7}, {'-', 2}, {'-', 0}, {'-', 6}, {'+', 0}, {'-', 4}, {'-', 3},
	  {'-', 7}, {'-', 1}, {'-', 5}, {'-', 0}}},
};

/* test_scripted - each case, checking every key after every step */
static void test_scripted(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		const struct ccase *c = &ccases[i];
		struct scr_ccount *t = scr_ccount_create(c->flows);
		uint32_t slots = slots_for(c->flows);
		uint64_t key[CKEYS];
		unsigned model[CKEYS] = {0};
		unsigned k, s;

		assert_non_null(t);
		for (k = 0; k < c->nkeys; k++)
			key[k] = mkkey(slots, c->home[k], k);
		for (s = 0; s < 32 && c->s[s].op; s++) {
			const struct cstep *st = &c->s[s];

			if (st->op == '+') {
				scr_ccount_inc(t, key[st->k]);
				model[st->k]++;
			} else {
				scr_ccount_dec(t, key[st->k]);
				if (model[st->k])
					model[st->k]--;
			}
			for (k = 0; k < c->nkeys; k++)
				if (scr_ccount_get(t, key[k]) != model[k])
					fail_msg("%s: step %u (%c%u): key %u count %u, want %u",
						 c->label, s + 1, st->op, st->k, k,
						 scr_ccount_get(t, key[k]), model[k]);
		}
		scr_ccount_destroy(t);
	}
}

/* test_saturation - the count stops at 65535 and never spills into the
 * fingerprint (the key stays findable, its neighbours untouched) */
static void test_saturation(void **state)
{
	uint32_t slots = slots_for(4);
	uint64_t a = mkkey(slots, 3, 0), b = mkkey(slots, 3, 1), c = mkkey(slots, 4, 2);
	struct scr_ccount *t = scr_ccount_create(4);
	unsigned i;

	(void)state;
	assert_non_null(t);
	scr_ccount_inc(t, a);
	scr_ccount_inc(t, b);		/* probed to slot 4 */
	scr_ccount_inc(t, c);		/* home 4 taken: slot 5 */
	for (i = 0; i < 70000; i++)
		scr_ccount_inc(t, b);
	assert_int_equal(scr_ccount_get(t, b), 65535);
	assert_int_equal(scr_ccount_get(t, a), 1);
	assert_int_equal(scr_ccount_get(t, c), 1);
	scr_ccount_dec(t, b);
	assert_int_equal(scr_ccount_get(t, b), 65534);
	/* a leaves; b (saturated run member) must move back intact */
	scr_ccount_dec(t, a);
	assert_int_equal(scr_ccount_get(t, a), 0);
	assert_int_equal(scr_ccount_get(t, b), 65534);
	assert_int_equal(scr_ccount_get(t, c), 1);
	for (i = 0; i < 65534; i++)
		scr_ccount_dec(t, b);
	assert_int_equal(scr_ccount_get(t, b), 0);
	assert_int_equal(scr_ccount_get(t, c), 1);
	scr_ccount_destroy(t);
}

/* xrand - deterministic generator for the model test */
static uint64_t xrand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define MFLOWS 4096
#define MKEYS 3000

/* test_model - random inc/dec over MKEYS keys (a tenth of them crowded on
 * 16 home slots) against a reference array; get() agrees after every step
 * for the key touched and, every 512 steps, for all keys */
static void test_model(void **state)
{
	static uint64_t key[MKEYS];
	static unsigned model[MKEYS];
	uint32_t slots = slots_for(MFLOWS);
	struct scr_ccount *t = scr_ccount_create(MFLOWS);
	uint64_t seed = 0x2545f4914f6cdd1dull;
	unsigned i, step, round;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < MKEYS; i++) {
		uint64_t k;
		unsigned j;

		do {
			k = (xrand(&seed) >> 16) & ((1ull << 48) - 1);
			if (i % 10 == 0)	/* crowd: home slot 100..115 */
				k = (k & ~(uint64_t)(slots - 1)) | (100 + i % 16);
			for (j = 0; j < i && key[j] != k; j++)
				;
		} while (k == 0 || j < i);
		key[i] = k;
	}
	for (round = 0; round < 3; round++) {
		memset(model, 0, sizeof(model));
		if (round)
			scr_ccount_clear(t);
		for (step = 0; step < 200000; step++) {
			unsigned k = (unsigned)(xrand(&seed) % MKEYS);
			/* bias towards inc early, towards dec late, so runs grow
			 * long and then empty out through backward shifts */
			unsigned inc_pct = step < 100000 ? 60 : 35;

			if (xrand(&seed) % 100 < inc_pct) {
				scr_ccount_inc(t, key[k]);
				model[k]++;
			} else {
				scr_ccount_dec(t, key[k]);
				if (model[k])
					model[k]--;
			}
			if (scr_ccount_get(t, key[k]) != model[k])
				fail_msg("round %u step %u: key %u count %u, want %u",
					 round, step, k, scr_ccount_get(t, key[k]),
					 model[k]);
			if (step % 512 == 511)
				for (i = 0; i < MKEYS; i++)
					if (scr_ccount_get(t, key[i]) != model[i])
						fail_msg("round %u step %u: key %u count %u, "
							 "want %u", round, step, i,
							 scr_ccount_get(t, key[i]), model[i]);
		}
		/* drain everything: the table ends empty */
		for (i = 0; i < MKEYS; i++)
			while (model[i]) {
				scr_ccount_dec(t, key[i]);
				model[i]--;
			}
		for (i = 0; i < MKEYS; i++)
			if (scr_ccount_get(t, key[i]) != 0)
				fail_msg("round %u: key %u left at %u after draining",
					 round, i, scr_ccount_get(t, key[i]));
	}
	scr_ccount_destroy(t);
}

/* test_clear - clear() forgets every count; the table works after it */
static void test_clear(void **state)
{
	uint32_t slots = slots_for(16);
	struct scr_ccount *t = scr_ccount_create(16);
	unsigned i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 16; i++) {
		scr_ccount_inc(t, mkkey(slots, i % 4, i));
		scr_ccount_inc(t, mkkey(slots, i % 4, i));
	}
	scr_ccount_clear(t);
	for (i = 0; i < 16; i++)
		assert_int_equal(scr_ccount_get(t, mkkey(slots, i % 4, i)), 0);
	scr_ccount_dec(t, mkkey(slots, 0, 0));	/* absent now: no-op */
	scr_ccount_inc(t, mkkey(slots, 1, 5));
	assert_int_equal(scr_ccount_get(t, mkkey(slots, 1, 5)), 1);
	assert_int_equal(scr_ccount_get(t, mkkey(slots, 1, 1)), 0);
	scr_ccount_destroy(t);
}

/* addr_of - a client address from text, IPv4 as ::ffff:a.b.c.d */
static struct scr_addr addr_of(const char *s)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':') == NULL) {
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, s, a.b + 12), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	}
	return a;
}

/* test_key - fingerprints: never 0, 48 bits, stable, distinct per address */
static void test_key(void **state)
{
	static const char *const addr[] = {
		"::", "0.0.0.0", "198.18.0.1", "2001:db8::1", "198.18.0.2",
		"198.19.255.255", "2001:db8:f00::1", "2001:db8:f00::2",
		"::ffff:198.18.0.3", "198.18.0.3",
	};
	uint64_t k[sizeof(addr) / sizeof(addr[0])];
	size_t i, j, n = sizeof(addr) / sizeof(addr[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		struct scr_addr a = addr_of(addr[i]);

		k[i] = scr_ccount_key(&a);
		if (k[i] == 0 || k[i] >> 48 != 0)
			fail_msg("%s: key %#llx", addr[i], (unsigned long long)k[i]);
		if (scr_ccount_key(&a) != k[i])
			fail_msg("%s: key not stable", addr[i]);
	}
	/* the last two are one address written two ways */
	assert_true(k[n - 1] == k[n - 2]);
	for (i = 0; i < n - 1; i++)
		for (j = i + 1; j < n - 1; j++)
			if (k[i] == k[j])
				fail_msg("%s and %s share key %#llx", addr[i], addr[j],
					 (unsigned long long)k[i]);
	/* and they count apart in a table */
	{
		struct scr_ccount *t = scr_ccount_create(1024);

		assert_non_null(t);
		scr_ccount_inc(t, k[2]);
		scr_ccount_inc(t, k[2]);
		scr_ccount_inc(t, k[3]);
		assert_int_equal(scr_ccount_get(t, k[2]), 2);
		assert_int_equal(scr_ccount_get(t, k[3]), 1);
		assert_int_equal(scr_ccount_get(t, k[4]), 0);
		scr_ccount_destroy(t);
	}
}

/* cmp_u64 - qsort order of 64-bit keys */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* test_many_addresses - 65536 addresses of 198.18.0.0/16 and 2001:db8:f00::
 * get 131072 distinct fingerprints (no collision in practice: odds 3e-5
 * per key, so the key is fixed to keep the test deterministic) */
static void test_many_addresses(void **state)
{
	static const uint8_t fixed[16] = { 0x14, 0x0c, 0xc0, 0x47, 1, 2, 3, 4,
					     5, 6, 7, 8, 9, 10, 11, 12 };
	static uint64_t k[131072];
	uint8_t saved[16];
	unsigned i;

	(void)state;
	scr_hash_get_key(saved);
	scr_hash_set_key(fixed);
	for (i = 0; i < 65536; i++) {
		char s[64];
		struct scr_addr a;

		snprintf(s, sizeof(s), "198.18.%u.%u", i >> 8, i & 255);
		a = addr_of(s);
		k[i] = scr_ccount_key(&a);
		snprintf(s, sizeof(s), "2001:db8:f00::%x", i);
		a = addr_of(s);
		k[65536 + i] = scr_ccount_key(&a);
	}
	scr_hash_set_key(saved);
	qsort(k, 131072, sizeof(k[0]), cmp_u64);
	for (i = 1; i < 131072; i++)
		if (k[i] == k[i - 1] || k[i] == 0)
			fail_msg("fingerprint %#llx repeated or 0",
				 (unsigned long long)k[i]);
}

/* test_key_is_keyed - the fingerprint depends on the process key: under
 * two keys the same addresses get other fingerprints and other home
 * slots, so addresses that share a slot under one key are spread under
 * another */
static void test_key_is_keyed(void **state)
{
	static const uint8_t key_a[16] = { 0xa, 1, 2, 3, 4, 5, 6, 7,
					     8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t key_b[16] = { 0xa, 1, 2, 3, 4, 5, 6, 7,
					     8, 9, 10, 11, 12, 13, 14, 16 };
	uint8_t saved[16];
	unsigned i, same_key = 0, same_home = 0, n = 0;
	uint64_t ka[64];

	(void)state;
	scr_hash_get_key(saved);
	/* 64 addresses whose fingerprints share home slot 0 of 1024 slots under key_a */
	scr_hash_set_key(key_a);
	for (i = 0; n < 64 && i < 1u << 24; i++) {
		char s[32];
		struct scr_addr a;

		snprintf(s, sizeof(s), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		a = addr_of(s);
		if ((scr_ccount_key(&a) & 1023) == 0)
			ka[n++] = i;
	}
	assert_int_equal(n, 64);
	scr_hash_set_key(key_b);
	for (i = 0; i < n; i++) {
		char s[32];
		struct scr_addr a;
		uint64_t kb;

		snprintf(s, sizeof(s), "10.%u.%u.%u", (unsigned)(ka[i] >> 16),
			 (unsigned)(ka[i] >> 8) & 255, (unsigned)ka[i] & 255);
		a = addr_of(s);
		kb = scr_ccount_key(&a);
		scr_hash_set_key(key_a);
		same_key += scr_ccount_key(&a) == kb;
		scr_hash_set_key(key_b);
		same_home += (kb & 1023) == 0;
	}
	scr_hash_set_key(saved);
	assert_int_equal(same_key, 0);
	assert_true(same_home < 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_bytes_per_flow),
		cmocka_unit_test(test_scripted),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_key_is_keyed),
	};

	return cmocka_run_group_tests_name("scr_ccount", tests, NULL, NULL);
}
