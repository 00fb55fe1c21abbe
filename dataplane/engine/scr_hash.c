/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_hash - the process key and the byte-string SipHash
 * DESCRIPTION
 *	See scr_hash.h. The key is set from getrandom() by a constructor, so
 *	every program linked with the engine (the live modes, replay, tools,
 *	tests) starts with a random key without calling anything; replay's
 *	--hash-key replaces it before any table exists. The general
 *	scr_siphash() is written from the algorithm's description (the
 *	SipHash paper, section 2) for any c and d; the tables use the
 *	word-wise inline scr_hash_words() of the header.
 * THREADING
 *	The constructor runs before main(); the setters before threads start.
 *	A scr_hash_fp table: one thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "scr_hash.h"
#include "scr_panic.h"

/* Replaced before main(); this value is never used for a table. */
struct scr_hash_key scr_hash_k = {
	.k0 = 0x0706050403020100ull, .k1 = 0x0f0e0d0c0b0a0908ull,
};

/* le64_bytes - the little-endian number of 8 bytes */
static uint64_t le64_bytes(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	return x;
}

/* The first multipliers a table makes: any segment of a 1500-byte MTU.
 * All 16,385 at once were 128 KiB of pages touched and 16,385 SipHash
 * runs, a tenth of a short replay's start; a table grows by doubling. */
#define FP_FIRST 512u

static uint64_t sip_bytes(unsigned c, unsigned d, uint64_t k0, uint64_t k1,
			  const void *p, size_t len);

/* scr_hash_set_key - the process key is k */
void scr_hash_set_key(const uint8_t k[16])
{
	scr_hash_k.k0 = le64_bytes(k);
	scr_hash_k.k1 = le64_bytes(k + 8);
}

/* scr_hash_fp_init - t's multipliers are made anew, from the key in use */
void scr_hash_fp_init(struct scr_hash_fp *t)
{
	t->ready = 0;
}

/* fp_make - t's multipliers up to need at least (the packet path: bounded
 * work, a few times a table's life, no lock: the table is one thread's) */
static void fp_make(struct scr_hash_fp *t, uint32_t need)
{
	uint32_t to = t->ready * 2 > need ? t->ready * 2 : need, i;

	if (to < FP_FIRST)
		to = FP_FIRST;
	if (to > SCR_HASH_FP_MULTS)
		to = SCR_HASH_FP_MULTS;
	for (i = t->ready; i < to; i++) {
		uint8_t n[8];
		unsigned b;

		for (b = 0; b < 8; b++)
			n[b] = (uint8_t)((uint64_t)i >> (8 * b));
		t->mult[i] = sip_bytes(1, 3, scr_hash_k.k0, scr_hash_k.k1, n, 8);
	}
	t->ready = to;
}

/* scr_hash_fp16 - 16 bits of the vector multiply-shift hash of len bytes
 * (len <= SCR_HASH_FP_MAX): the sum of each 4-byte chunk (the last one
 * zero-filled) times its own random 64-bit multiplier, plus one more,
 * modulo 2^64, top 16 bits. Strongly universal (Dietzfelbinger, 1996):
 * two messages of one length that differ collide with probability
 * 2^-16 whatever they are, as long as the multipliers are unknown. One
 * multiply per four bytes: the segment fingerprint of every client
 * segment, where SipHash cost four times as much. */
uint16_t scr_hash_fp16(struct scr_hash_fp *t, const void *p, size_t len)
{
	const uint8_t *in = p;
	const uint64_t *m = t->mult;
	size_t i, n = len / 4;
	uint64_t acc;
	uint32_t x;

	if (len > SCR_HASH_FP_MAX)
		scr_panic("scr_hash_fp16: %zu bytes, at most %u", len,
			  (unsigned)SCR_HASH_FP_MAX);
	if (t->ready < n + 2)
		fp_make(t, (uint32_t)n + 2);
	acc = m[0];
	for (i = 0; i < n; i++) {
		memcpy(&x, in + 4 * i, 4);
		acc += m[1 + i] * (uint64_t)x;
	}
	if (len & 3) {
		x = 0;
		memcpy(&x, in + 4 * n, len & 3);
		acc += m[1 + n] * (uint64_t)x;
	}
	return (uint16_t)(acc >> 48);
}

/* scr_hash_get_key - the bytes of the process key */
void scr_hash_get_key(uint8_t k[16])
{
	int i;

	for (i = 0; i < 8; i++) {
		k[i] = (uint8_t)(scr_hash_k.k0 >> (8 * i));
		k[8 + i] = (uint8_t)(scr_hash_k.k1 >> (8 * i));
	}
}

/* read_urandom - 16 bytes from /dev/urandom (a kernel without getrandom);
 * 0 or -errno */
static int read_urandom(uint8_t k[16])
{
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	while (got < 16) {
		ssize_t r = read(fd, k + got, 16 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	return ret;
}

/* scr_hash_key_random - a new process key from the kernel's generator */
int scr_hash_key_random(void)
{
	uint8_t k[16];
	size_t got = 0;
	int ret = 0;

	while (got < sizeof(k)) {
		ssize_t r = getrandom(k + got, sizeof(k) - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = errno == ENOSYS ? read_urandom(k) : -errno;
			if (ret == 0)
				got = sizeof(k);
			break;
		}
		got += (size_t)r;
	}
	if (ret == 0)
		scr_hash_set_key(k);
	return ret;
}

/* hash_key_init - every process starts with a random key */
__attribute__((constructor)) static void hash_key_init(void)
{
	int ret = scr_hash_key_random();

	if (ret != 0)
		scr_panic("scr_hash: no random bytes for the hash key: %s",
			  strerror(-ret));
}

/* hex_val - value of one hex digit, -1 if it is not one */
static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* scr_hash_key_parse - 32 hex digits to 16 key bytes */
int scr_hash_key_parse(const char *s, uint8_t k[16])
{
	int i;

	if (strlen(s) != 32)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* sip_bytes - SipHash-c-d of len bytes at p under the key (k0, k1) */
static uint64_t sip_bytes(unsigned c, unsigned d, uint64_t k0, uint64_t k1,
			  const void *p, size_t len)
{
	const uint8_t *in = p;
	struct scr_sip s;
	uint64_t m;
	size_t off;
	unsigned r, left = (unsigned)(len & 7);

	scr_sip_init(&s, k0, k1);
	for (off = 0; off + 8 <= len; off += 8) {
		m = le64_bytes(in + off);
		s.v3 ^= m;
		for (r = 0; r < c; r++)
			scr_sip_round(&s);
		s.v0 ^= m;
	}
	/* last block: the 0-7 bytes left, the length mod 256 on top */
	m = (uint64_t)(len & 0xff) << 56;
	while (left > 0) {
		left--;
		m |= (uint64_t)in[off + left] << (8 * left);
	}
	s.v3 ^= m;
	for (r = 0; r < c; r++)
		scr_sip_round(&s);
	s.v0 ^= m;
	s.v2 ^= 0xff;
	for (r = 0; r < d; r++)
		scr_sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* scr_siphash - SipHash-c-d of len bytes at p under the 16-byte key */
uint64_t scr_siphash(unsigned c, unsigned d, const uint8_t key[16],
		     const void *p, size_t len)
{
	return sip_bytes(c, d, le64_bytes(key), le64_bytes(key + 8), p, len);
}

/* Eight 64-bit lanes: each of the functions below compiles them for its
 * own instruction set (AVX-512: one register, rotates in one instruction;
 * AVX2: two registers; otherwise as the compiler can). */
typedef uint64_t lanes8 __attribute__((vector_size(64)));

#define ROTL8(x, b) ((x) << (b) | (x) >> (64 - (b)))

/* sip_round8 - one SipRound in each lane */
static inline __attribute__((always_inline)) void
sip_round8(lanes8 *v0, lanes8 *v1, lanes8 *v2, lanes8 *v3)
{
	*v0 += *v1;
	*v2 += *v3;
	*v1 = ROTL8(*v1, 13);
	*v3 = ROTL8(*v3, 16);
	*v1 ^= *v0;
	*v3 ^= *v2;
	*v0 = ROTL8(*v0, 32);
	*v2 += *v1;
	*v0 += *v3;
	*v1 = ROTL8(*v1, 17);
	*v3 = ROTL8(*v3, 21);
	*v1 ^= *v2;
	*v3 ^= *v0;
	*v2 = ROTL8(*v2, 32);
}

/* sip_x8 - SipHash-1-3 of eight nb-block messages, lane i message i */
static inline __attribute__((always_inline)) void
sip_x8(const uint64_t (*m)[8], unsigned nb, uint64_t out[8])
{
	lanes8 b, v0, v1, v2, v3, k0, k1;
	unsigned i;

	for (i = 0; i < 8; i++) {
		k0[i] = scr_hash_k.k0;
		k1[i] = scr_hash_k.k1;
	}
	v0 = k0 ^ 0x736f6d6570736575ull;
	v1 = k1 ^ 0x646f72616e646f6dull;
	v2 = k0 ^ 0x6c7967656e657261ull;
	v3 = k1 ^ 0x7465646279746573ull;
	for (i = 0; i < nb; i++) {
		memcpy(&b, m[i], sizeof(b));
		v3 ^= b;
		sip_round8(&v0, &v1, &v2, &v3);
		v0 ^= b;
	}
	v2 ^= 0xff;
	sip_round8(&v0, &v1, &v2, &v3);
	sip_round8(&v0, &v1, &v2, &v3);
	sip_round8(&v0, &v1, &v2, &v3);
	v0 ^= v1 ^ v2 ^ v3;
	memcpy(out, &v0, sizeof(v0));
}

static void x8_plain(const uint64_t (*m)[8], unsigned nb, uint64_t out[8])
{
	sip_x8(m, nb, out);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2")))
static void x8_avx2(const uint64_t (*m)[8], unsigned nb, uint64_t out[8])
{
	sip_x8(m, nb, out);
}

__attribute__((target("avx512f")))
static void x8_avx512(const uint64_t (*m)[8], unsigned nb, uint64_t out[8])
{
	sip_x8(m, nb, out);
}
#endif

typedef void x8_fn(const uint64_t (*m)[8], unsigned nb, uint64_t out[8]);

/* The widest of the three the CPU runs; NULL: not asked yet (threads may
 * ask at once and store the same answer: relaxed atomics). */
static x8_fn *x8_best;

/* x8_code - the plain (0), AVX2 (1) or AVX-512 (2) code; NULL if this
 * CPU cannot run it */
static x8_fn *x8_code(int which)
{
	if (which == 0)
		return x8_plain;
#if defined(__x86_64__) && defined(__GNUC__)
	if (which == 1 && __builtin_cpu_supports("avx2"))
		return x8_avx2;
	if (which == 2 && __builtin_cpu_supports("avx512f"))
		return x8_avx512;
#endif
	return NULL;
}

/* scr_hash_x8_use - tests: run code `which` (x8_code) from now on; false
 * if this CPU cannot (nothing changes) */
bool scr_hash_x8_use(int which)
{
	x8_fn *f = x8_code(which);

	if (f == NULL)
		return false;
	__atomic_store_n(&x8_best, f, __ATOMIC_RELAXED);
	return true;
}

/* scr_hash_blocks_x8 - scr_hash_blocks(b, nb) of eight messages at once:
 * block j of message i is m[j][i]; the same numbers, lane for lane */
void scr_hash_blocks_x8(const uint64_t (*m)[8], unsigned nb, uint64_t out[8])
{
	x8_fn *f = __atomic_load_n(&x8_best, __ATOMIC_RELAXED);

	if (f == NULL) {
		for (int which = 2; (f = x8_code(which)) == NULL; which--)
			;	/* the widest this CPU runs; 0 always is */
		__atomic_store_n(&x8_best, f, __ATOMIC_RELAXED);
	}
	f(m, nb, out);
}
