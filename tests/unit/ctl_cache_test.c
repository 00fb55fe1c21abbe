/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl_cache_test - passes per test with TTLs, blocks, expiry, full cache,
 * the keyed bucket hash */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ctl_cache.h"
#include "scr_hash.h"

#define ALL (SCR_TEST_BIT(SCR_TEST_PREGREET) | SCR_TEST_BIT(SCR_TEST_PIPELINING) | \
	     SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE))

/* addr_of - 198.18.x.y */
static struct scr_addr addr_of(uint32_t n)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	a.b[12] = 198;
	a.b[13] = 18;
	a.b[14] = (uint8_t)(n >> 8);
	a.b[15] = (uint8_t)n;
	return a;
}

static struct scr_policy pol;

/* setup - TTLs like postscreen's defaults: greet 1d, deep tests 30d */
static int setup(void **state)
{
	(void)state;
	memset(&pol, 0, sizeof(pol));
	pol.ttl_s[SCR_TEST_PREGREET] = 86400;
	pol.ttl_s[SCR_TEST_PIPELINING] = 30 * 86400;
	pol.ttl_s[SCR_TEST_BARE_NEWLINE] = 30 * 86400;
	return 0;
}

/* test_bad_capacity - refused */
static void test_bad_capacity(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ctl_cache_create(0));
	assert_int_equal(errno, EINVAL);
}

/* test_new_pass_expiry - unknown client runs all; passed skips; TTLs expire per test */
static void test_new_pass_expiry(void **state)
{
	struct ctl_cache *c = ctl_cache_create(16);
	struct scr_addr a = addr_of(1);
	struct scr_client_info ci;

	(void)state;
	ctl_cache_client(c, &a, 1000, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	assert_int_equal(ci.todo, ALL);
	assert_false(ci.pass_old);

	ctl_cache_pass(c, &a, 1000, ALL, &pol);
	ctl_cache_client(c, &a, 2000, ALL, &ci);
	assert_int_equal(ci.todo, 0);
	assert_true(ci.pass_old);
	/* The policy's enabled set always has the access list, which the
	 * cache does not hold: a client that passed every test is PASS OLD. */
	ctl_cache_client(c, &a, 2000, ALL | SCR_TEST_BIT(SCR_TEST_ACCESS), &ci);
	assert_int_equal(ci.todo, 0);
	assert_true(ci.pass_old);

	/* a day later only the greet test has expired */
	ctl_cache_client(c, &a, 1000 + 86400, ALL, &ci);
	assert_int_equal(ci.todo, SCR_TEST_BIT(SCR_TEST_PREGREET));
	assert_false(ci.pass_old);

	/* after 30 days nothing is left and the entry is dropped */
	ctl_cache_client(c, &a, 1000 + 30 * 86400, ALL, &ci);
	assert_int_equal(ci.todo, ALL);
	assert_int_equal(ctl_cache_count(c), 0);
	ctl_cache_destroy(c);
}

/* test_block - a block wins until it expires; a later pass clears it */
static void test_block(void **state)
{
	struct ctl_cache *c = ctl_cache_create(16);
	struct scr_addr a = addr_of(2);
	struct scr_client_info ci;
	struct ctl_cache_entry e;

	(void)state;
	ctl_cache_pass(c, &a, 100, ALL, &pol);
	ctl_cache_block(c, &a, 200, 3600, SCR_TEST_BIT(SCR_TEST_PIPELINING));
	ctl_cache_client(c, &a, 300, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_BLOCKED);
	assert_int_equal(ci.reasons, SCR_TEST_BIT(SCR_TEST_PIPELINING));
	assert_int_equal(ctl_cache_get(c, &a, 300, &e), 0);
	assert_int_equal(e.block_until, 3800);
	/* the block dropped the old passes: after it the client is new */
	ctl_cache_client(c, &a, 3800, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	assert_int_equal(ci.todo, ALL);
	assert_int_equal(ctl_cache_get(c, &a, 3800, &e), -ENOENT);
	ctl_cache_destroy(c);
}

/* test_times_32bit - the cache keeps times in 32 bits: up to UINT32_MAX
 * exactly, later ones (an entry from a store or a peer, a TTL that runs
 * past 2106) as UINT32_MAX; a put, a get and a walk keep every field */
static int walk_cb(void *arg, const struct ctl_cache_entry *e)
{
	*(struct ctl_cache_entry *)arg = *e;
	return 1;
}

static void test_times_32bit(void **state)
{
	struct ctl_cache *c = ctl_cache_create(4);
	struct ctl_cache_entry in, out, w;
	struct scr_addr a = addr_of(7);
	struct scr_client_info ci;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.addr = a;
	in.pass_until[SCR_TEST_PREGREET] = UINT32_MAX;
	in.pass_until[SCR_TEST_DNSBL] = (uint64_t)UINT32_MAX + 5;
	in.pass_until[SCR_TEST_HELO] = 1000;
	ctl_cache_put(c, &in, 900);
	assert_int_equal(ctl_cache_get(c, &a, 900, &out), 0);
	assert_memory_equal(out.addr.b, a.b, 16);
	assert_int_equal(out.pass_until[SCR_TEST_PREGREET], UINT32_MAX);
	assert_int_equal(out.pass_until[SCR_TEST_DNSBL], UINT32_MAX);
	assert_int_equal(out.pass_until[SCR_TEST_HELO], 1000);
	assert_int_equal(out.block_until, 0);
	/* a block that runs past 2106, with its reasons */
	ctl_cache_block(c, &a, UINT32_MAX - 10, 3600, SCR_TEST_BIT(SCR_TEST_HELO));
	ctl_cache_client(c, &a, UINT32_MAX - 1, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_BLOCKED);
	assert_int_equal(ctl_cache_walk(c, walk_cb, &w), 1);
	assert_int_equal(w.block_until, UINT32_MAX);
	assert_int_equal(w.block_reasons, SCR_TEST_BIT(SCR_TEST_HELO));
	assert_int_equal(w.pass_until[SCR_TEST_PREGREET], 0);
	ctl_cache_destroy(c);
}

/* test_smuggling_stop - a session stopped for smuggling (an amended
 * verdict after a pass) blocks its client only with smtpscreen_smuggling_ttl;
 * a test failed under enforce/drop blocks with smtpscreen_block_ttl */
static void test_smuggling_stop(void **state)
{
	struct ctl_cache *c = ctl_cache_create(16);
	struct scr_addr a = addr_of(3);
	struct scr_event ev;
	struct scr_client_info ci;
	struct scr_policy p = pol;

	(void)state;
	p.block_ttl_s = 3600;
	p.enabled = ALL;
	p.action[SCR_TEST_BARE_NEWLINE] = SCR_ACT_IGNORE;
	p.action[SCR_TEST_PIPELINING] = SCR_ACT_ENFORCE;
	memset(&ev, 0, sizeof(ev));
	ev.type = SCR_EV_VERDICT;
	ev.key.client = a;
	ev.ts_ns = 100ull * 1000000000u;
	ev.verdict = SCR_V_PASS;
	ctl_cache_verdict(c, &ev, &p);
	ev.verdict = SCR_V_FAIL;
	ev.amend = true;
	ev.stop_pkt = 9;
	ev.reasons = SCR_REASON_SMUGGLING | SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE);
	assert_int_equal(ctl_cache_block_ttl(&p, ev.reasons), 0);
	ctl_cache_verdict(c, &ev, &p);
	ctl_cache_client(c, &a, 200, ALL, &ci);
	assert_int_not_equal(ci.cls, SCR_CLIENT_BLOCKED);	/* ttl 0: no block */
	assert_int_equal(ci.todo, 0);				/* the pass stays */
	p.smuggling_ttl_s = 600;
	assert_int_equal(ctl_cache_block_ttl(&p, ev.reasons), 600);
	ctl_cache_verdict(c, &ev, &p);
	ctl_cache_client(c, &a, 200, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_BLOCKED);
	assert_int_equal(ctl_cache_block_ttl(&p, SCR_REASON_SMUGGLING |
					     SCR_TEST_BIT(SCR_TEST_PIPELINING)), 3600);
	ctl_cache_destroy(c);
}

/* test_full_and_sweep - a full cache replaces entries, sweep drops expired */
static void test_full_and_sweep(void **state)
{
	struct ctl_cache *c = ctl_cache_create(8);
	struct ctl_cache_entry e;
	uint32_t i, found = 0;

	(void)state;
	for (i = 0; i < 8; i++) {
		struct scr_addr a = addr_of(i);

		ctl_cache_block(c, &a, 0, (i + 1) * 10, 1);
	}
	assert_int_equal(ctl_cache_count(c), 8);
	{
		struct scr_addr a = addr_of(100);

		ctl_cache_block(c, &a, 0, 1000, 1);
	}
	assert_int_equal(ctl_cache_count(c), 8);
	assert_int_equal(ctl_cache_replaced(c), 1);
	for (i = 0; i < 8; i++) {
		struct scr_addr a = addr_of(i);

		found += ctl_cache_get(c, &a, 0, &e) == 0;
	}
	assert_int_equal(found, 7);
	/* the ttl-10 entry was replaced; at t=45 ttl 20, 30, 40 have expired */
	assert_int_equal(ctl_cache_sweep(c, 45), 3);
	assert_int_equal(ctl_cache_count(c), 5);
	ctl_cache_clear(c);
	assert_int_equal(ctl_cache_count(c), 0);
	ctl_cache_destroy(c);
}

/* walk_mark - the walk's entries into a 256-slot table by the address's
 * last byte (the model of test_chains) */
struct walk_seen {
	uint8_t in[256];
	uint32_t n;
};

static int walk_mark(void *arg, const struct ctl_cache_entry *e)
{
	struct walk_seen *w = arg;

	w->in[e->addr.b[15]]++;
	w->n++;
	return 0;
}

/* test_chains - random blocks, passes, lookups, sweeps and replacements
 * on a small cache (chains several long, the bucket's length and tag
 * kept with them): after each step every address the walk lists is found
 * by a lookup with the same times, every other one is not, and the count
 * is the walk's */
static void test_chains(void **state)
{
	struct ctl_cache *c = ctl_cache_create(24);
	uint64_t rnd = 0x9e3779b97f4a7c15ull, now = 1000;
	unsigned step;

	(void)state;
	for (step = 0; step < 20000; step++) {
		struct scr_addr a;
		struct ctl_cache_entry e;
		struct walk_seen w;
		unsigned op, i;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		a = addr_of((uint32_t)(rnd >> 8) % 60);
		op = (unsigned)(rnd >> 40) % 16;
		/* the packet thread's prefetch reads only, in any state */
		ctl_cache_ahead(c, &a, 0);
		ctl_cache_ahead(c, &a, 1);
		if (op < 6)
			ctl_cache_block(c, &a, now, (uint32_t)(rnd >> 20) % 50 + 1, 1);
		else if (op < 12)
			ctl_cache_pass(c, &a, now, ALL, &pol);
		else if (op < 14)
			(void)ctl_cache_get(c, &a, now, &e);
		else if (op == 14)
			(void)ctl_cache_sweep(c, now);
		else
			now += (rnd >> 50) % 40;
		memset(&w, 0, sizeof(w));
		(void)ctl_cache_walk(c, walk_mark, &w);
		assert_int_equal(w.n, ctl_cache_count(c));
		for (i = 0; i < 60; i++) {
			struct scr_addr b = addr_of(i);
			int rc = ctl_cache_get(c, &b, 0, &e);

			if (w.in[i] > 1 || (w.in[i] == 1) != (rc == 0))
				fail_msg("step %u: address %u listed %u times, lookup %d",
					 step, i, w.in[i], rc);
		}
	}
	ctl_cache_destroy(c);
}

/* test_hash_spread - consecutive v4 clients spread over the buckets like
 * random keys (about 63% of n buckets hit by n keys); a hash that ignores
 * the low address bits put a /16 into a few buckets */
static void test_hash_spread(void **state)
{
	static uint8_t hit[65536];
	uint32_t i, used = 0;

	(void)state;
	memset(hit, 0, sizeof(hit));
	for (i = 0; i < 65536; i++) {
		struct scr_addr a = addr_of(i);

		hit[ctl_cache_addr_hash(&a) & 0xffff] = 1;
	}
	for (i = 0; i < 65536; i++)
		used += hit[i];
	assert_true(used > 65536 / 2);
}

/* test_hash_keyed - the bucket hash follows the process key: addresses
 * that share a bucket under one key are spread under another, and a
 * cache whose addresses all share one bucket still finds each of them */
static void test_hash_keyed(void **state)
{
	static const uint8_t key_a[16] = { 0xca, 0xce, 2, 3, 4, 5, 6, 7,
					     8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t key_b[16] = { 0xca, 0xce, 2, 3, 4, 5, 6, 7,
					     8, 9, 10, 11, 12, 13, 14, 0x8f };
	struct scr_addr a[32];
	struct ctl_cache *c;
	struct ctl_cache_entry e;
	uint8_t saved[16];
	uint32_t i, n = 0, same = 0, first;

	(void)state;
	scr_hash_get_key(saved);
	scr_hash_set_key(key_a);
	first = ctl_cache_addr_hash(&(struct scr_addr){ .b = { 0 } }) & 1023;
	for (i = 0; n < 32 && i < 65536 * 16; i++) {
		struct scr_addr x = addr_of(i);

		x.b[13] = (uint8_t)(18 + (i >> 16));
		if ((ctl_cache_addr_hash(&x) & 1023) == first)
			a[n++] = x;
	}
	assert_int_equal(n, 32);
	/* one bucket of a 1024-bucket cache holds all 32 */
	c = ctl_cache_create(1024);
	assert_non_null(c);
	for (i = 0; i < n; i++)
		ctl_cache_block(c, &a[i], 100, 3600 + i, SCR_TEST_BIT(SCR_TEST_PREGREET));
	assert_int_equal(ctl_cache_count(c), 32);
	for (i = 0; i < n; i++) {
		assert_int_equal(ctl_cache_get(c, &a[i], 200, &e), 0);
		assert_int_equal(e.block_until, 3700 + i);
	}
	/* expiring the middle of the chain leaves the rest */
	assert_int_equal(ctl_cache_get(c, &a[0], 3701, &e), -ENOENT);
	assert_int_equal(ctl_cache_get(c, &a[31], 3701, &e), 0);
	assert_int_equal(ctl_cache_get(c, &a[1], 3701, &e), -ENOENT);
	assert_int_equal(ctl_cache_get(c, &a[2], 3701, &e), 0);
	ctl_cache_destroy(c);
	/* another key: they no longer share a bucket */
	scr_hash_set_key(key_b);
	first = ctl_cache_addr_hash(&a[0]) & 1023;
	for (i = 1; i < n; i++)
		same += (ctl_cache_addr_hash(&a[i]) & 1023) == first;
	scr_hash_set_key(saved);
	assert_true(same < 4);
}

/* v6 - an IPv6 address from text */
static struct scr_addr v6(const char *s)
{
	struct scr_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	return a;
}

/* test_ipv6_prefix - two addresses in one /64 share an entry: a pass and
 * a block of one is the other's; another /64 has its own; at /128 every
 * address has its own; IPv4 neighbours never share */
static void test_ipv6_prefix(void **state)
{
	struct ctl_cache *c = ctl_cache_create(64);
	struct scr_client_info ci;
	struct ctl_cache_entry e;
	struct scr_addr a = v6("2001:db8:7:1::a"), b = v6("2001:db8:7:1:8000::b"),
			o = v6("2001:db8:7:2::a"), k;
	char txt[INET6_ADDRSTRLEN];

	(void)state;
	ctl_cache_set_v6_prefix(c, 64);
	ctl_cache_pass(c, &a, 1000, ALL, &pol);
	ctl_cache_client(c, &b, 1001, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	assert_true(ci.pass_old);
	ctl_cache_client(c, &o, 1001, ALL, &ci);
	assert_false(ci.pass_old);
	assert_int_equal(ctl_cache_count(c), 1);
	assert_int_equal(ctl_cache_get(c, &b, 1001, &e), 0);
	inet_ntop(AF_INET6, e.addr.b, txt, sizeof(txt));
	assert_string_equal(txt, "2001:db8:7:1::");
	k = ctl_cache_key(c, &b);
	assert_memory_equal(&k, &e.addr, sizeof(k));
	/* a block of b blocks a; o stays free */
	ctl_cache_block(c, &b, 1002, 3600, SCR_TEST_BIT(SCR_TEST_REPLY_BAN));
	ctl_cache_client(c, &a, 1003, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_BLOCKED);
	assert_int_equal(ci.reasons, SCR_TEST_BIT(SCR_TEST_REPLY_BAN));
	ctl_cache_client(c, &o, 1003, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	/* a shorter block later does not shorten it; reasons add up */
	ctl_cache_block(c, &a, 1004, 10, SCR_TEST_BIT(SCR_TEST_PIPELINING));
	assert_int_equal(ctl_cache_get(c, &a, 1004, &e), 0);
	assert_int_equal(e.block_until, 1002 + 3600);
	assert_int_equal(e.block_reasons, SCR_TEST_BIT(SCR_TEST_REPLY_BAN) |
			 SCR_TEST_BIT(SCR_TEST_PIPELINING));
	ctl_cache_destroy(c);

	c = ctl_cache_create(64);	/* the default: per address */
	ctl_cache_block(c, &a, 1000, 3600, SCR_TEST_BIT(SCR_TEST_REPLY_BAN));
	ctl_cache_client(c, &b, 1001, ALL, &ci);
	assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	ctl_cache_set_v6_prefix(c, 64);
	{
		struct scr_addr x = addr_of(1), y = addr_of(2);

		ctl_cache_block(c, &x, 1000, 3600, SCR_TEST_BIT(SCR_TEST_REPLY_BAN));
		ctl_cache_client(c, &y, 1001, ALL, &ci);
		assert_int_equal(ci.cls, SCR_CLIENT_NEW);
	}
	ctl_cache_destroy(c);
}

/* test_probe_runs - clients whose hashes share a home slot, the last
 * slot among them (their run wraps to the first): each found; removed
 * from the run's start, middle and end in turn (by expiry), the others
 * still found and the removed ones not; the slots reused */
static void test_probe_runs(void **state)
{
	struct ctl_cache *c = ctl_cache_create(16);	/* 32 slots */
	struct scr_addr a[8];
	struct ctl_cache_entry e;
	static const unsigned gone[3] = { 0, 4, 7 };
	uint32_t n = 0, i, g;

	(void)state;
	assert_non_null(c);
	/* eight addresses whose home is slot 31, then slot 0 (the run goes on
	 * past the end into slots the second group starts in) */
	for (i = 0; n < 8 && i < 1000000; i++) {
		struct scr_addr b = addr_of(i);
		uint32_t home = ctl_cache_addr_hash(&b) & 31;

		if ((n < 5 && home == 31) || (n >= 5 && home == 0))
			a[n++] = b;
	}
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++) {
		uint32_t ttl = 1000;

		for (g = 0; g < 3; g++)
			if (i == gone[g])
				ttl = 20 + 10 * g;	/* expire at 20, 30, 40 */
		ctl_cache_block(c, &a[i], 0, ttl, 1);
	}
	for (i = 0; i < 8; i++)
		assert_int_equal(ctl_cache_get(c, &a[i], 0, &e), 0);
	for (g = 0; g < 3; g++) {
		assert_int_equal(ctl_cache_sweep(c, 25 + 10 * g), 1);
		for (i = 0; i < 8; i++) {
			bool out = false;
			unsigned k;

			for (k = 0; k <= g; k++)
				out |= i == gone[k];
			if (ctl_cache_get(c, &a[i], 25 + 10 * g, &e) != (out ? -ENOENT : 0))
				fail_msg("after removing %u of the run: address %u %s",
					 g + 1, i, out ? "still found" : "lost");
		}
	}
	assert_int_equal(ctl_cache_count(c), 5);
	for (g = 0; g < 3; g++)
		ctl_cache_block(c, &a[gone[g]], 50, 100, 1);
	assert_int_equal(ctl_cache_count(c), 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(ctl_cache_get(c, &a[i], 50, &e), 0);
	ctl_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_new_pass_expiry),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_times_32bit),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_smuggling_stop),
		cmocka_unit_test(test_full_and_sweep),
		cmocka_unit_test(test_chains),
		cmocka_unit_test(test_probe_runs),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_hash_keyed),
	};

	return cmocka_run_group_tests_name("ctl_cache", tests, setup, NULL);
}
