/* SPDX-License-Identifier: BSD-3-Clause */
/* scr_flow_test - insert, lookup, remove, full table, reuse of entries;
 * the keyed hash (scr_hash) the table, the caches and the dispatch use */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scr_flow.h"
#include "scr_mem.h"
#include "scr_hash.h"

/* The key of the SipHash paper's test vectors: bytes 00..0f. */
static const uint8_t paper_key[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

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

/* resident_pages - pages of [p, p + len) in memory (p page-aligned) */
static size_t resident_pages(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, i, r = 0;
	unsigned char *v = malloc(n);

	assert_non_null(v);
	assert_int_equal(mincore(p, len, v), 0);
	for (i = 0; i < n; i++)
		r += v[i] & 1;
	free(v);
	return r;
}

/* test_lazy_pages - a table is not written at create: a 1M-entry table
 * (128 MiB of entries) has no entry page in memory until flows come, and
 * 100 flows touch one 2 MiB page at most; a clear after them frees every entry
 * (replay's first pass paid for clearing all of it) */
static void test_lazy_pages(void **state)
{
	struct scr_flow_table *t = scr_flow_create(1u << 20);
	struct scr_flow_key k;
	uint32_t i;

	(void)state;
	assert_non_null(t);
	assert_int_equal(resident_pages(t->e, t->e_len), 0);
	for (i = 0; i < 100; i++) {
		k = key_of(i);
		assert_non_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	}
	/* one huge page where transparent huge pages are on, else a few */
	assert_true(resident_pages(t->e, t->e_len) <=
		    SCR_MEM_HUGE / (size_t)sysconf(_SC_PAGESIZE));
	scr_flow_clear(t);
	assert_int_equal(t->used, 0);
	for (i = 0; i < 100; i++) {
		k = key_of(i);
		assert_null(scr_flow_lookup(t, &k, scr_flow_hash(&k)));
	}
	assert_int_equal(scr_flow_next_live(t, 0), t->cap);
	scr_flow_destroy(t);
}

/* test_lazy_buckets - replay's default table (262,144 entries) has a 1 MiB
 * bucket array: mapped, not cleared, so none of it is in memory at create
 * and the first flows touch one huge page, where calloc cleared all 256
 * of its 4 KiB pages (a sixth of the page faults of a short replay) */
static void test_lazy_buckets(void **state)
{
	struct scr_flow_table *t = scr_flow_create(262144);
	size_t len = ((size_t)t->mask + 1) * sizeof(*t->bucket);
	struct scr_flow_key k = key_of(7);

	(void)state;
	assert_int_equal(len, 1u << 20);
	assert_int_equal((uintptr_t)t->bucket % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	assert_int_equal(resident_pages(t->bucket, len), 0);
	assert_non_null(scr_flow_insert(t, &k, scr_flow_hash(&k)));
	assert_non_null(scr_flow_lookup(t, &k, scr_flow_hash(&k)));
	scr_flow_destroy(t);
}

/* test_mem_mid_tables - a table of 64 KiB to 1 MiB (an engine's
 * fingerprint multipliers: 128 KiB) is mapped, none of it in memory until
 * used, also once malloc's mmap threshold has risen past it (it follows
 * the largest block freed: calloc then took such tables from the heap and
 * cleared each page) */
static void test_mem_mid_tables(void **state)
{
	size_t len = sizeof(struct scr_hash_fp);
	void *big = malloc(8u << 20), *t;

	(void)state;
	assert_non_null(big);
	memset(big, 1, 8u << 20);
	free(big);		/* the threshold is now 8 MiB */
	t = scr_mem_zalloc(len);
	assert_non_null(t);
	assert_int_equal((uintptr_t)t % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	assert_int_equal(resident_pages(t, len), 0);
	((uint8_t *)t)[len - 1] = 1;
	assert_int_equal(resident_pages(t, len), 1);
	scr_mem_free(t, len);
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


/* The published SipHash-2-4 vectors: key 00..0f, message 00..(n-1),
 * n = 0..63 (the SipHash paper, appendix A; the reference vectors.h). */
static const uint64_t sip24_vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};

/* ref_rotl - rotate for the reference below */
static uint64_t ref_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* ref_siphash - SipHash-c-d written independently of scr_hash, the plain
 * way: state in an array, message padded into a buffer first, words put
 * together byte by byte */
static uint64_t ref_siphash(int c, int d, const uint8_t key[16],
			    const uint8_t *msg, size_t len)
{
	uint8_t buf[256];
	uint64_t v[4], k[2] = {0, 0}, m;
	size_t n = (len / 8 + 1) * 8, i;
	int j, r;

	assert_true(n <= sizeof(buf));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, msg, len);
	buf[n - 1] = (uint8_t)len;
	for (j = 0; j < 16; j++)
		k[j / 8] |= (uint64_t)key[j] << (8 * (j % 8));
	v[0] = k[0] ^ 0x736f6d6570736575ull;
	v[1] = k[1] ^ 0x646f72616e646f6dull;
	v[2] = k[0] ^ 0x6c7967656e657261ull;
	v[3] = k[1] ^ 0x7465646279746573ull;
	for (i = 0; i < n + 8; i += 8) {
		int rounds = i < n ? c : d;

		m = 0;
		if (i < n)
			for (j = 0; j < 8; j++)
				m |= (uint64_t)buf[i + j] << (8 * j);
		if (i < n)
			v[3] ^= m;
		else
			v[2] ^= 0xff;
		for (r = 0; r < rounds; r++) {
			v[0] += v[1]; v[1] = ref_rotl(v[1], 13); v[1] ^= v[0];
			v[0] = ref_rotl(v[0], 32);
			v[2] += v[3]; v[3] = ref_rotl(v[3], 16); v[3] ^= v[2];
			v[0] += v[3]; v[3] = ref_rotl(v[3], 21); v[3] ^= v[0];
			v[2] += v[1]; v[1] = ref_rotl(v[1], 17); v[1] ^= v[2];
			v[2] = ref_rotl(v[2], 32);
		}
		if (i < n)
			v[0] ^= m;
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* test_siphash24_vectors - scr_siphash and the reference both give the
 * paper's 64 SipHash-2-4 vectors: the round, padding and key layout are
 * the published algorithm's */
static void test_siphash24_vectors(void **state)
{
	uint8_t msg[64];
	size_t n;

	(void)state;
	for (n = 0; n < 64; n++)
		msg[n] = (uint8_t)n;
	for (n = 0; n < 64; n++) {
		if (scr_siphash(2, 4, paper_key, msg, n) != sip24_vectors[n])
			fail_msg("scr_siphash 2-4, %zu bytes: %#llx", n,
				 (unsigned long long)scr_siphash(2, 4, paper_key, msg, n));
		if (ref_siphash(2, 4, paper_key, msg, n) != sip24_vectors[n])
			fail_msg("reference 2-4, %zu bytes", n);
	}
}

/* test_siphash13_known_answers - SipHash-1-3 under the paper's key (values
 * from an independent implementation, checked against the 2-4 vectors;
 * the first is also the first of Rust's SipHasher13 vectors), and the
 * tables' hashes of fixed keys under a fixed process key */
static void test_siphash13_known_answers(void **state)
{
	static const struct {
		size_t len;
		uint64_t want;
	} kat[] = {
		{ .len = 0, .want = 0xabac0158050fc4dcull },
		{ .len = 1, .want = 0xc9f49bf37d57ca93ull },
		{ .len = 7, .want = 0xd3927d989bb11140ull },
		{ .len = 8, .want = 0x369095118d299a8eull },
		{ .len = 15, .want = 0xd320d86d2a519956ull },
		{ .len = 16, .want = 0xcc4fdd1a7d908b66ull },
		{ .len = 32, .want = 0x81157b6c16a7b60dull },
		{ .len = 40, .want = 0xc1d2363299e41531ull },
		{ .len = 63, .want = 0x9d199062b7bbb3a8ull },
	};
	uint8_t msg[64], saved[16];
	struct scr_flow_key k = key_of(1);
	struct scr_addr a = k.client;
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		assert_true(scr_siphash(1, 3, paper_key, msg, kat[i].len) == kat[i].want);
		assert_true(ref_siphash(1, 3, paper_key, msg, kat[i].len) == kat[i].want);
	}
	scr_hash_get_key(saved);
	scr_hash_set_key(paper_key);
	/* client ::ffff:198.18.0.1 port 1024, server ::1 port 25, family 4:
	 * the 12 bytes c6 12 00 01, 00 00 00 01, 00 04, 19 00 */
	assert_true(scr_flow_hash(&k) == 0x2a3d8566u);
	/* the same key as family 6: its 40 bytes */
	k.family = 6;
	assert_true(scr_flow_hash(&k) == 0xa0bf92a1u);
	/* an IPv4 address: its 4 bytes; another: its 16 */
	assert_true(scr_hash_addr(&a) == 0x69768cf280b178adull);
	assert_true(scr_hash_addr(&k.server) == 0xd361591676c8faefull);
	/* one address not v4-mapped: the 32 bytes, smaller first */
	assert_true(scr_hash_addr_pair(&a, &k.server) == 0x5d507013131913adull);
	assert_true(scr_hash_addr_pair(&k.server, &a) == 0x5d507013131913adull);
	/* two IPv4 addresses: c6 12 00 01 c6 13 ff 0a */
	k.server.b[10] = k.server.b[11] = 0xff;
	k.server.b[12] = 198;
	k.server.b[13] = 19;
	k.server.b[14] = 255;
	k.server.b[15] = 10;
	assert_true(scr_hash_addr_pair(&a, &k.server) == 0x3cbce9e45d664621ull);
	assert_true(scr_hash_addr_pair(&k.server, &a) == 0x3cbce9e45d664621ull);
	scr_hash_set_key(saved);
}

/* test_siphash13_reference - the word-wise hot-path hash, the byte-string
 * one and the reference agree for many keys and inputs */
static void test_siphash13_reference(void **state)
{
	uint8_t key[16], msg[64], saved[16];
	unsigned iter, i;

	(void)state;
	scr_hash_get_key(saved);
	srand(14);
	for (iter = 0; iter < 2000; iter++) {
		uint64_t w[5];
		size_t len = iter % 65;

		for (i = 0; i < 16; i++)
			key[i] = (uint8_t)rand();
		for (i = 0; i < 64; i++)
			msg[i] = (uint8_t)rand();
		if (scr_siphash(1, 3, key, msg, len) != ref_siphash(1, 3, key, msg, len))
			fail_msg("scr_siphash 1-3 differs from the reference at %zu bytes",
				 len);
		scr_hash_set_key(key);
		memcpy(w, msg, sizeof(w));
		assert_true(scr_hash_words(w, 2) == ref_siphash(1, 3, key, msg, 16));
		assert_true(scr_hash_words(w, 4) == ref_siphash(1, 3, key, msg, 32));
		assert_true(scr_hash_words(w, 5) == ref_siphash(1, 3, key, msg, 40));
		/* addresses: IPv4 as its 4 bytes, others as their 16 */
		{
			struct scr_addr a;

			memcpy(a.b, msg, 16);
			assert_true(scr_hash_addr(&a) == ref_siphash(1, 3, key, msg, 16));
			memset(a.b, 0, 10);
			a.b[10] = a.b[11] = 0xff;
			assert_true(scr_hash_addr(&a) ==
				    ref_siphash(1, 3, key, a.b + 12, 4));
		}
		/* flow keys: IPv4 as its 12 varying bytes, IPv6 as its 40 */
		{
			struct scr_flow_key fk;
			uint8_t m12[12];

			memset(&fk, 0, sizeof(fk));
			fk.client.b[10] = fk.client.b[11] = 0xff;
			fk.server.b[10] = fk.server.b[11] = 0xff;
			memcpy(fk.client.b + 12, msg, 4);
			memcpy(fk.server.b + 12, msg + 4, 4);
			fk.client_port = (uint16_t)(msg[8] | msg[9] << 8);
			fk.server_port = (uint16_t)(msg[10] | msg[11] << 8);
			fk.family = 4;
			memcpy(m12, fk.client.b + 12, 4);
			memcpy(m12 + 4, fk.server.b + 12, 4);
			memcpy(m12 + 8, (const uint8_t *)&fk + 32, 4);
			assert_true(scr_flow_hash(&fk) ==
				    (uint32_t)ref_siphash(1, 3, key, m12, 12));
			memcpy(fk.client.b, msg, 16);
			memcpy(fk.server.b, msg + 16, 16);
			fk.family = 6;
			assert_true(scr_flow_hash(&fk) ==
				    (uint32_t)ref_siphash(1, 3, key, (const uint8_t *)&fk, 40));
		}
	}
	scr_hash_set_key(saved);
}

/* test_hash_key - parse, set, get; another key gives other hashes; the
 * process starts with a random key (not the initial placeholder) */
static void test_hash_key(void **state)
{
	static const char *const bad[] = {
		"", "00", "000102030405060708090a0b0c0d0e0", /* 31 */
		"000102030405060708090a0b0c0d0e0f0", "000102030405060708090a0b0c0d0e0g",
		" 00102030405060708090a0b0c0d0e0f", "0x0102030405060708090a0b0c0d0e0f",
	};
	uint8_t k[16], k2[16], saved[16];
	uint32_t i, same = 0;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(scr_hash_key_parse(bad[i], k), -EINVAL);
	assert_int_equal(scr_hash_key_parse("000102030405060708090A0B0C0D0E0f", k), 0);
	assert_memory_equal(k, paper_key, 16);
	scr_hash_get_key(saved);
	assert_memory_not_equal(saved, paper_key, 16);
	scr_hash_set_key(k);
	scr_hash_get_key(k2);
	assert_memory_equal(k2, paper_key, 16);
	/* a new random key: another key, and the flow hashes change with it */
	assert_int_equal(scr_hash_key_random(), 0);
	scr_hash_get_key(k2);
	assert_memory_not_equal(k2, paper_key, 16);
	for (i = 0; i < 1000; i++) {
		struct scr_flow_key fk = key_of(i);
		uint32_t h1, h2;

		scr_hash_set_key(paper_key);
		h1 = scr_flow_hash(&fk);
		scr_hash_set_key(k2);
		h2 = scr_flow_hash(&fk);
		same += h1 == h2;
	}
	assert_true(same < 3);
	/* one bit of key changes the hash */
	k[15] ^= 0x80;
	scr_hash_set_key(k);
	{
		struct scr_flow_key fk = key_of(1);

		assert_true(scr_flow_hash(&fk) != 0x2a3d8566u);
	}
	scr_hash_set_key(saved);
}

/* test_pair_symmetric - the dispatch hash is the same in both directions
 * (IPv4 pairs, IPv6 pairs, mixed), and another pair gives another value */
static void test_pair_symmetric(void **state)
{
	uint32_t i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		struct scr_flow_key k = key_of(i);
		struct scr_addr b = k.server, c = k.client, v6 = k.server;

		b.b[3] = (uint8_t)(i * 7);		/* not v4-mapped */
		b.b[15] = (uint8_t)(i * 13);
		c.b[12] = (uint8_t)(i * 5);		/* another IPv4 client */
		v6.b[0] = 0x20;
		v6.b[1] = 0x01;
		v6.b[15] = (uint8_t)i;
		assert_true(scr_hash_addr_pair(&k.client, &b) ==
			    scr_hash_addr_pair(&b, &k.client));
		assert_true(scr_hash_addr_pair(&k.client, &c) ==
			    scr_hash_addr_pair(&c, &k.client));
		assert_true(scr_hash_addr_pair(&v6, &b) ==
			    scr_hash_addr_pair(&b, &v6));
		assert_true(scr_hash_addr_pair(&k.client, &k.client) ==
			    scr_hash_addr_pair(&k.client, &k.client));
		b.b[15] ^= 1;
		assert_true(scr_hash_addr_pair(&k.client, &b) !=
			    scr_hash_addr_pair(&b, &k.server));
		if (c.b[12] != k.client.b[12])
			assert_true(scr_hash_addr_pair(&k.client, &c) !=
				    scr_hash_addr_pair(&k.client, &k.client));
	}
}

/* test_collisions - keys that share one bucket (searched under the key
 * in use) all go into one chain: found, removed from the head, middle and
 * tail, and the rest still found */
static void test_collisions(void **state)
{
	struct scr_flow_table *t = scr_flow_create(256);
	struct scr_flow_key k[40];
	uint32_t n = 0, i, bucket;

	(void)state;
	assert_non_null(t);
	k[0] = key_of(0);
	bucket = scr_flow_hash(&k[0]) & t->mask;
	for (i = 1; n < 39 && i < 1000000; i++) {
		struct scr_flow_key c = key_of(i);

		if ((scr_flow_hash(&c) & t->mask) == bucket)
			k[++n] = c;
	}
	assert_int_equal(n, 39);
	n = 40;
	for (i = 0; i < n; i++)
		assert_non_null(scr_flow_insert(t, &k[i], scr_flow_hash(&k[i])));
	/* one bucket, 40 entries: its chain holds them all */
	{
		uint32_t len = 0, e = t->bucket[bucket];

		for (; e; e = t->e[e - 1].hnext)
			len++;
		assert_int_equal(len, 40);
	}
	for (i = 0; i < n; i++) {
		struct scr_flow *f = scr_flow_lookup(t, &k[i], scr_flow_hash(&k[i]));

		assert_non_null(f);
		assert_true(scr_flow_key_eq(&f->key, &k[i]));
	}
	/* the last inserted is the chain's head, the first its tail */
	scr_flow_remove(t, scr_flow_lookup(t, &k[39], scr_flow_hash(&k[39])));
	scr_flow_remove(t, scr_flow_lookup(t, &k[20], scr_flow_hash(&k[20])));
	scr_flow_remove(t, scr_flow_lookup(t, &k[0], scr_flow_hash(&k[0])));
	assert_int_equal(t->used, 37);
	for (i = 0; i < n; i++) {
		struct scr_flow *f = scr_flow_lookup(t, &k[i], scr_flow_hash(&k[i]));

		if (i == 39 || i == 20 || i == 0)
			assert_null(f);
		else
			assert_non_null(f);
	}
	assert_non_null(scr_flow_insert(t, &k[20], scr_flow_hash(&k[20])));
	assert_non_null(scr_flow_lookup(t, &k[20], scr_flow_hash(&k[20])));
	scr_flow_destroy(t);
}

/* check_x8 - eight keys hashed side by side give scr_flow_hash's numbers,
 * lane for lane, IPv4 (two blocks) and IPv6 (six), with some lanes
 * unused, in the code scr_hash_x8_use chose */
static void check_x8(int which)
{
	unsigned iter, i, j;

	srand(15);
	for (iter = 0; iter < 500; iter++) {
		struct scr_flow_key k[8];
		uint64_t m[6][8], b[6], out[8];
		unsigned nb = iter & 1 ? 6 : 2, used = 1 + iter % 8;

		memset(m, 0xa5, sizeof(m));	/* unused lanes hold junk */
		for (i = 0; i < used; i++) {
			k[i] = key_of((uint32_t)rand());
			k[i].client_port = (uint16_t)rand();
			if (nb == 6) {
				for (j = 0; j < 16; j++)
					k[i].client.b[j] = (uint8_t)rand();
				k[i].family = 6;
			}
			assert_int_equal(scr_flow_hash_blocks(&k[i], b), nb);
			for (j = 0; j < nb; j++)
				m[j][i] = b[j];
		}
		scr_hash_blocks_x8((const uint64_t (*)[8])m, nb, out);
		for (i = 0; i < used; i++)
			if ((uint32_t)out[i] != scr_flow_hash(&k[i]))
				fail_msg("code %d, lane %u of %u (%u blocks): %08x, want %08x",
					 which, i, used, nb, (uint32_t)out[i],
					 scr_flow_hash(&k[i]));
	}
}

/* test_hash_x8 - check_x8 in the plain code, AVX2's and AVX-512's (those
 * this CPU runs: the plain one at least), then the widest again */
static void test_hash_x8(void **state)
{
	unsigned ran = 0;
	int which;

	(void)state;
	for (which = 0; which < 3; which++)
		if (scr_hash_x8_use(which)) {
			check_x8(which);
			ran++;
		}
	assert_true(ran >= 1);
	if (!scr_hash_x8_use(2))
		(void)scr_hash_x8_use(1);
}

/* test_remove_many - entries of one chain (head, middle, tail) and of
 * others, IPv4 and IPv6, leave the table together; the rest stay */
static void test_remove_many(void **state)
{
	struct scr_flow_table *t = scr_flow_create(256);
	struct scr_flow_key k[24];
	struct scr_flow *gone[8];
	uint32_t n = 0, i, bucket;
	static const unsigned pick[8] = { 0, 5, 11, 12, 13, 18, 20, 23 };

	(void)state;
	assert_non_null(t);
	k[0] = key_of(0);
	bucket = scr_flow_hash(&k[0]) & t->mask;
	for (i = 1; n < 11 && i < 1000000; i++) {
		struct scr_flow_key c = key_of(i);

		if ((scr_flow_hash(&c) & t->mask) == bucket)
			k[++n] = c;
	}
	assert_int_equal(n, 11);	/* k[0..11]: one chain */
	for (i = 12; i < 24; i++) {
		k[i] = key_of(5000 + i);
		if (i & 1) {
			k[i].client.b[0] = (uint8_t)i;	/* IPv6 */
			k[i].family = 6;
		}
	}
	for (i = 0; i < 24; i++)
		assert_non_null(scr_flow_insert(t, &k[i], scr_flow_hash(&k[i])));
	for (i = 0; i < 8; i++)
		gone[i] = scr_flow_lookup(t, &k[pick[i]], scr_flow_hash(&k[pick[i]]));
	scr_flow_remove_many(t, gone, 8);
	assert_int_equal(t->used, 16);
	for (i = 0; i < 24; i++) {
		bool removed = false;
		unsigned j;

		for (j = 0; j < 8; j++)
			removed |= pick[j] == i;
		if (removed)
			assert_null(scr_flow_lookup(t, &k[i], scr_flow_hash(&k[i])));
		else
			assert_non_null(scr_flow_lookup(t, &k[i], scr_flow_hash(&k[i])));
	}
	scr_flow_remove_many(t, gone, 0);
	assert_int_equal(t->used, 16);
	scr_flow_destroy(t);
}

/* test_fp16 - the segment fingerprint under a fixed key: the same bytes,
 * the same number; one bit changed anywhere (the last, partial chunk too),
 * another number but about once in 2^16; another key, other numbers; the
 * key set again, the numbers again */
static void test_fp16(void **state)
{
	static uint8_t msg[SCR_HASH_FP_MAX], copy[SCR_HASH_FP_MAX];
	static struct scr_hash_fp fp;
	uint8_t saved[16], key[16];
	unsigned iter, same = 0, other_key = 0, i;

	(void)state;
	scr_hash_get_key(saved);
	scr_hash_set_key(paper_key);
	scr_hash_fp_init(&fp);
	srand(16);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)rand();
	for (iter = 0; iter < 40000; iter++) {
		size_t len = 1 + (size_t)rand() % (iter % 10 == 0 ? 1500 : 64);
		size_t at = (size_t)rand() % len;
		uint16_t a;

		memcpy(copy, msg + iter % 1000, len);
		a = scr_hash_fp16(&fp, copy, len);
		assert_int_equal(a, scr_hash_fp16(&fp, msg + iter % 1000, len));
		copy[at] ^= (uint8_t)(1u << (rand() % 8));
		same += a == scr_hash_fp16(&fp, copy, len);
	}
	/* 40000 pairs: about 0.6 collisions expected */
	if (same > 6)
		fail_msg("%u of 40000 changed segments kept their fingerprint", same);
	/* the longest message, changed in its last byte */
	memcpy(copy, msg, sizeof(msg));
	copy[sizeof(copy) - 1] ^= 1;
	assert_int_not_equal(scr_hash_fp16(&fp, msg, sizeof(msg)),
			     scr_hash_fp16(&fp, copy, sizeof(copy)));
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)(paper_key[i] ^ 0x5a);
	for (iter = 0; iter < 100; iter++) {
		uint16_t a;

		scr_hash_set_key(paper_key);
		scr_hash_fp_init(&fp);
		a = scr_hash_fp16(&fp, msg + iter, 40);
		scr_hash_set_key(key);
		scr_hash_fp_init(&fp);
		other_key += a != scr_hash_fp16(&fp, msg + iter, 40);
		scr_hash_set_key(paper_key);
		scr_hash_fp_init(&fp);
		assert_int_equal(a, scr_hash_fp16(&fp, msg + iter, 40));
	}
	assert_true(other_key >= 99);
	scr_hash_set_key(saved);
}

/* fp16_ref - scr_hash_fp16 from its definition: SipHash-1-3 of the
 * little-endian chunk number i as its multiplier */
static uint16_t fp16_ref(const uint8_t key[16], const uint8_t *p, size_t len)
{
	uint64_t acc = 0;
	size_t i;

	for (i = 0; i <= (len + 3) / 4; i++) {
		uint8_t n[8];
		uint32_t x = 0;
		unsigned b;

		for (b = 0; b < 8; b++)
			n[b] = (uint8_t)((uint64_t)i >> (8 * b));
		if (i > 0)
			memcpy(&x, p + 4 * (i - 1),
			       len - 4 * (i - 1) < 4 ? len - 4 * (i - 1) : 4);
		acc += scr_siphash(1, 3, key, n, 8) * (i > 0 ? (uint64_t)x : 1);
	}
	return (uint16_t)(acc >> 48);
}

static uint8_t fp_msg[SCR_HASH_FP_MAX];
static const size_t fp_lens[] = {
	0, 1, 3, 4, 5, 2043, 2044, 2045, 2048, 9000, 4095, 65534, 65535, 7, 30000,
};

/* test_fp16_reference - a table makes its multipliers as lengths need
 * them: every length gives the number of the definition, whichever came
 * first; two tables filled in other orders agree; a table made anew
 * after a key change follows the new key */
static void test_fp16_reference(void **state)
{
	static struct scr_hash_fp a, b;
	uint8_t saved[16], key[16];
	size_t i, n = sizeof(fp_lens) / sizeof(fp_lens[0]);

	(void)state;
	scr_hash_get_key(saved);
	for (i = 0; i < sizeof(fp_msg); i++)
		fp_msg[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)(paper_key[i] ^ 0xa5);
	scr_hash_set_key(paper_key);
	scr_hash_fp_init(&a);
	scr_hash_fp_init(&b);
	for (i = 0; i < n; i++) {
		uint16_t want = fp16_ref(paper_key, fp_msg, fp_lens[i]);

		assert_int_equal(scr_hash_fp16(&a, fp_msg, fp_lens[i]), want);
		/* b: the longest first, then the rest backwards */
		assert_int_equal(scr_hash_fp16(&b, fp_msg, fp_lens[n - 1 - i]),
				 fp16_ref(paper_key, fp_msg, fp_lens[n - 1 - i]));
	}
	assert_true(a.ready <= SCR_HASH_FP_MULTS);
	/* another key: a made anew follows it, b kept is the old key's */
	scr_hash_set_key(key);
	scr_hash_fp_init(&a);
	assert_int_equal(scr_hash_fp16(&a, fp_msg, 5), fp16_ref(key, fp_msg, 5));
	assert_int_equal(scr_hash_fp16(&a, fp_msg, 65535),
			 fp16_ref(key, fp_msg, 65535));
	assert_int_equal(scr_hash_fp16(&b, fp_msg, 9), fp16_ref(paper_key, fp_msg, 9));
	scr_hash_set_key(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_fill_lookup_remove),
		cmocka_unit_test(test_lazy_pages),
		cmocka_unit_test(test_lazy_buckets),
		cmocka_unit_test(test_mem_mid_tables),
		cmocka_unit_test(test_entry_budget),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_siphash24_vectors),
		cmocka_unit_test(test_siphash13_known_answers),
		cmocka_unit_test(test_siphash13_reference),
		cmocka_unit_test(test_hash_key),
		cmocka_unit_test(test_pair_symmetric),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_hash_x8),
		cmocka_unit_test(test_remove_many),
		cmocka_unit_test(test_fp16),
		cmocka_unit_test(test_fp16_reference),
	};

	return cmocka_run_group_tests_name("scr_flow", tests, NULL, NULL);
}
