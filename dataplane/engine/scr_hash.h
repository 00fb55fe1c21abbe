/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_hash - the keyed hash of every table a client's packets fill
 * DESCRIPTION
 *	The flow table, the per-client counts, the verdict cache and the
 *	worker dispatch are indexed by addresses and ports a client chooses.
 *	With a fixed hash, anyone can search offline for thousands of (address,
 *	port) pairs that share one bucket and turn every lookup into a walk of
 *	a long chain (issue 14: 20,000 such SYNs cost 37 times as many random
 *	ones). Here every one of those hashes is SipHash-1-3 under one 128-bit
 *	key per process, drawn from getrandom() before main() runs.
 *
 *	Why SipHash-1-3. SipHash (Aumasson and Bernstein, 2012) is a keyed
 *	pseudorandom function built for exactly this: short inputs, a secret
 *	key, an attacker who picks the inputs and watches timing. 1-3 (one
 *	round per 8-byte word, three to finish) is the variant Rust's
 *	HashMap and CPython's str hash use against hash flooding; the
 *	attacker never sees an output, only how slow a bucket is.
 *	Not a multiply-xorshift mix with a secret seed: such mixes are
 *	invertible for a known seed and leak the seed's effect through few
 *	probes; MurmurHash and CityHash have seed-independent multicollisions
 *	(Aumasson, Bernstein, Bosslet, 2012), and an adaptive attacker who
 *	times chains can learn enough of a secret mask to aim again.
 *	Not HalfSipHash: it has a 64-bit key and works on 4-byte words, so on
 *	64-bit machines it costs more rounds for the 40-byte flow key and
 *	gives less. Not SipHash-2-4: twice the per-word rounds, and a
 *	cryptographic MAC's margin is not needed for bucket indices.
 *	Cost: a round is 14 add/rotate/xor operations. An IPv4 flow key is
 *	hashed as the 12 bytes that vary (addresses and ports: 2 blocks + 3
 *	finishing rounds = 5 rounds), any other as its 40 bytes (9 rounds);
 *	an IPv4 address as its 4 bytes (4 rounds), an IPv6 one in 6;
 *	bench/results/keyed-hash-2026-12-06.txt has the engine's speed
 *	before and after.
 *
 *	Inputs are whole 64-bit words read as little-endian (the byte string
 *	the words hold in memory on a little-endian machine), so the values
 *	are those of the published algorithm on those bytes: the unit
 *	test checks SipHash-2-4 against the paper's vectors and 1-3 against
 *	a byte-at-a-time implementation of its own.
 * CONTRACT
 *	scr_hash_key_random(): a new process key from getrandom(); 0, or
 *	  -errno (the key is then unchanged). Called before main() by a
 *	  constructor, which panics if the system has no random bytes.
 *	scr_hash_set_key(k): the process key is the 16 bytes k (replay's
 *	  --hash-key: reproducible worker split). Both: call before any
 *	  table is created and before other threads start; a key change
 *	  makes existing tables unreadable.
 *	scr_hash_get_key(k): the 16 bytes of the key in use.
 *	scr_hash_key_parse(s, k): 32 hex digits to 16 bytes (first two
 *	  digits = k[0]); 0, or -EINVAL (length, non-hex).
 *	scr_hash_fp_init(t): t makes its multipliers anew, from the key
 *	  in use (zeroed memory is an initialized table).
 *	scr_hash_fp16(t, p, len): a 16-bit fingerprint of len bytes (at most
 *	  SCR_HASH_FP_MAX) under multipliers drawn from the process key:
 *	  two different messages of one length share it with probability
 *	  2^-16 (a client segment and its resent copy). t holds the
 *	  multipliers, made as lengths need them (no lock: one table per
 *	  thread that fingerprints, an engine's), so a key change needs
 *	  scr_hash_fp_init(t).
 *	scr_siphash(c, d, key, p, len): SipHash-c-d of len bytes under key
 *	  (k[0..15]); tests and tools.
 *	scr_hash_words(w, n): SipHash-1-3 under the process key of the 8n
 *	  bytes held in w[0..n-1]; the tables' hash.
 *	scr_hash_blocks(b, nb): the same of a message the caller padded into
 *	  nb blocks (length in the top byte of the last): short keys.
 *	scr_hash_blocks_x8(m, nb, out): scr_hash_blocks of eight messages
 *	  of nb blocks side by side (AVX-512, AVX2 or plain code, the widest
 *	  the CPU runs, chosen at the first call).
 *	scr_hash_addr(a): of the address (IPv4: its 4 bytes; else its 16).
 *	scr_hash_addr_pair(a, b): of the two addresses in a fixed order
 *	  (IPv4: their 8 bytes; else their 32 bytes, smaller by memcmp
 *	  first): the same for (a, b) and (b, a), the dispatch hash of both
 *	  directions of a connection.
 * THREADING
 *	Hashing: any thread. The key: set before other threads start.
 */
#ifndef SCR_HASH_H
#define SCR_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scr_types.h"

struct scr_hash_key {
	uint64_t k0, k1;	/* the key's bytes 0-7 and 8-15, little-endian */
};

/* The process key (scr_hash.c); read on every hash, written at start. */
extern struct scr_hash_key scr_hash_k;

int scr_hash_key_random(void);
void scr_hash_set_key(const uint8_t k[16]);
void scr_hash_get_key(uint8_t k[16]);
int scr_hash_key_parse(const char *s, uint8_t k[16]);
#define SCR_HASH_FP_MAX 65535u
/* Multipliers of scr_hash_fp16: mult[i] is SipHash-1-3 of the number i,
 * one to start from and one per 4-byte chunk; ready of them made. */
#define SCR_HASH_FP_MULTS (1u + (SCR_HASH_FP_MAX + 3) / 4)
struct scr_hash_fp {
	uint32_t ready;
	uint64_t mult[SCR_HASH_FP_MULTS];
};
void scr_hash_fp_init(struct scr_hash_fp *t);
uint16_t scr_hash_fp16(struct scr_hash_fp *t, const void *p, size_t len);
/* scr_hash_blocks_x8 - scr_hash_blocks() of eight messages of nb blocks
 * (block j of message i in m[j][i]) into out[i], computed side by side
 * (SIMD where the CPU has it) */
void scr_hash_blocks_x8(const uint64_t (*m)[8], unsigned nb, uint64_t out[8]);
/* Tests: force the plain (0), AVX2 (1) or AVX-512 (2) code; false if the
 * CPU cannot run it. */
bool scr_hash_x8_use(int which);
uint64_t scr_siphash(unsigned c, unsigned d, const uint8_t key[16],
		     const void *p, size_t len);

/* SipHash's state: four 64-bit words. */
struct scr_sip {
	uint64_t v0, v1, v2, v3;
};

/* scr_rotl64 - rotate left by b (0 < b < 64) */
static inline uint64_t scr_rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* scr_le64 - a word loaded from memory, as the little-endian number its
 * bytes spell (a no-op on little-endian machines) */
static inline uint64_t scr_le64(uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(x);
#else
	return x;
#endif
}

/* scr_sip_init - the state for key (k0, k1): the key xored with the
 * ASCII of "somepseudorandomlygeneratedbytes" */
static inline void scr_sip_init(struct scr_sip *s, uint64_t k0, uint64_t k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ull;
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
}

/* scr_sip_round - one SipRound: two add-rotate-xor halves */
static inline void scr_sip_round(struct scr_sip *s)
{
	s->v0 += s->v1;
	s->v2 += s->v3;
	s->v1 = scr_rotl64(s->v1, 13);
	s->v3 = scr_rotl64(s->v3, 16);
	s->v1 ^= s->v0;
	s->v3 ^= s->v2;
	s->v0 = scr_rotl64(s->v0, 32);
	s->v2 += s->v1;
	s->v0 += s->v3;
	s->v1 = scr_rotl64(s->v1, 17);
	s->v3 = scr_rotl64(s->v3, 21);
	s->v1 ^= s->v2;
	s->v3 ^= s->v0;
	s->v2 = scr_rotl64(s->v2, 32);
}

/* scr_sip_final - SipHash-1-3's finalization: three rounds, the state
 * folded into 64 bits */
static inline uint64_t scr_sip_final(struct scr_sip *s)
{
	s->v2 ^= 0xff;
	scr_sip_round(s);
	scr_sip_round(s);
	scr_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* scr_sip_block - compress one 8-byte block (as a number) */
static inline void scr_sip_block(struct scr_sip *s, uint64_t m)
{
	s->v3 ^= m;
	scr_sip_round(s);
	s->v0 ^= m;
}

/* scr_hash_blocks - SipHash-1-3 under the process key of a message given
 * as its nb blocks, already padded: the caller has put the message's
 * length (mod 256) in the top byte of the last block, as SipHash does */
static inline uint64_t scr_hash_blocks(const uint64_t *b, unsigned nb)
{
	struct scr_sip s;
	unsigned i;

	scr_sip_init(&s, scr_hash_k.k0, scr_hash_k.k1);
	for (i = 0; i < nb; i++)
		scr_sip_block(&s, b[i]);
	return scr_sip_final(&s);
}

/* scr_hash_words - SipHash-1-3 of the 8n bytes in w under the process
 * key (n is a constant at every call: the loop unrolls) */
static inline uint64_t scr_hash_words(const uint64_t *w, unsigned n)
{
	struct scr_sip s;
	unsigned i;

	scr_sip_init(&s, scr_hash_k.k0, scr_hash_k.k1);
	for (i = 0; i < n; i++)
		scr_sip_block(&s, scr_le64(w[i]));
	/* the last block: no bytes left over, the length in its top byte */
	scr_sip_block(&s, (uint64_t)(8 * n) << 56);
	return scr_sip_final(&s);
}

/* scr_hash_v4 - the IPv4 address of a v4-mapped scr_addr (::ffff:a.b.c.d)
 * as the number its four bytes spell little-endian; false if a is not
 * v4-mapped */
static inline bool scr_hash_v4(const struct scr_addr *a, uint64_t *v4)
{
	uint64_t w[2];

	memcpy(w, a->b, sizeof(w));
	w[1] = scr_le64(w[1]);
	*v4 = w[1] >> 32;
	return (w[0] | ((uint32_t)w[1] ^ 0xffff0000u)) == 0;
}

/* scr_hash_addr - keyed hash of one address: an IPv4 (v4-mapped)
 * address as its 4 bytes, any other as its 16 */
static inline uint64_t scr_hash_addr(const struct scr_addr *a)
{
	uint64_t w[2];

	if (scr_hash_v4(a, &w[0])) {
		w[0] |= 4ull << 56;
		return scr_hash_blocks(w, 1);
	}
	memcpy(w, a->b, sizeof(w));
	return scr_hash_words(w, 2);
}

/* scr_hash_addr_pair - keyed hash of two addresses, the same in both
 * orders: two IPv4 (v4-mapped) addresses are hashed as the 8 bytes of
 * the two (the smaller number first), any other pair as its 32 bytes
 * (the smaller by memcmp first); the lengths keep the two apart */
static inline uint64_t scr_hash_addr_pair(const struct scr_addr *a,
					  const struct scr_addr *b)
{
	const struct scr_addr *lo = a, *hi = b;
	uint64_t w[4], x, y;
	bool a4 = scr_hash_v4(a, &x), b4 = scr_hash_v4(b, &y);

	if (a4 && b4) {
		w[0] = x < y ? x | y << 32 : y | x << 32;
		w[1] = 8ull << 56;
		return scr_hash_blocks(w, 2);
	}
	if (memcmp(a->b, b->b, sizeof(a->b)) > 0) {
		lo = b;
		hi = a;
	}
	memcpy(w, lo->b, 16);
	memcpy(w + 2, hi->b, 16);
	return scr_hash_words(w, 4);
}

#endif
