/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_flow - preallocated per-worker flow table
 * DESCRIPTION
 *	Both directions of a TCP connection share one entry, keyed client ->
 *	server. Capacity is fixed at create time: entries, hash buckets and
 *	the free list are allocated once; nothing is allocated per packet or
 *	per flow. Chains and the free list are 32-bit indices (index + 1, 0 =
 *	none) to keep the entry small. A clock hand walks the entries for
 *	timeouts and picks eviction victims; the policy (which entry is idle,
 *	which is the best victim) is the caller's, passed as callbacks.
 *	It does not know TCP or SMTP: struct scr_flow carries their state as
 *	plain fields that scr_tcpord and scr_smtp own.
 * CONTRACT
 *	scr_flow_create(cap): NULL + errno (ENOMEM, EINVAL for cap 0 or >2^28).
 *	scr_flow_lookup(t, key, hash): entry or NULL.
 *	scr_flow_insert(t, key, hash): a zeroed entry with key set, or NULL
 *	  when the table is full (the caller evicts and retries).
 *	scr_flow_remove(t, f): unlinks and frees; f's memory stays valid
 *	  until the next insert.
 *	scr_flow_remove_many(t, fs, n): the same of up to 8 distinct entries
 *	  at once (the keys hashed side by side, the buckets loaded together).
 *	scr_flow_hash(key): the hash the table uses (callers prefetch): keyed
 *	  (scr_hash), so chains stay short whatever keys a client picks.
 *	scr_flow_live(t, i): is entry i in use (the bitmap, not the entry).
 * THREADING
 *	One worker owns a table; no locks.
 */
#ifndef SCR_FLOW_H
#define SCR_FLOW_H

#include <string.h>

#include "scr_hash.h"
#include "scr_smtp.h"
#include "scr_smug.h"
#include "scr_types.h"

/* TCP-level state of a flow (scr_engine). */
enum scr_flow_state {
	SCR_FS_FREE = 0,
	SCR_FS_SYN,		/* client SYN seen, not yet established */
	SCR_FS_EST,		/* SYN/ACK seen */
	SCR_FS_CLOSING,		/* FIN or RST seen: waiting for the last packets */
};

/* After the verdict the SMTP machine's state is no longer needed: the
 * smuggling guard follows the session in its place (scr_engine). */
struct scr_flow_guard {
	struct scr_smug g;
	const char *where;	/* scr_smtp_where() when the verdict was given */
};
_Static_assert(sizeof(struct scr_flow_guard) <= sizeof(struct scr_smtp),
	       "the guard must fit in the SMTP machine's place");

/* What the engine does with the flow's packets. */
enum scr_flow_mode {
	SCR_FM_NEW = 0,		/* just inserted, SMTP state not initialised */
	SCR_FM_SCAN,		/* undecided: order bytes, run the SMTP machine */
	SCR_FM_DECIDED,		/* verdict given: fast path */
};

struct scr_flow {
	struct scr_flow_key key;	/* 40 */
	uint32_t hnext;			/* hash chain: index + 1 */
	uint32_t last_ms;		/* last packet, ms since engine epoch */
	uint32_t start_ms;		/* client SYN */
	uint32_t line_ms;		/* last whole client command line (or SYN):
					 * postscreen_command_time_limit */
	uint32_t seq_next[2];		/* next expected seq: [0] client, [1] server */
	uint32_t ooo;			/* reorder slots held: index + 1 */
	uint8_t rb_pos;			/* reply bans: position in the server
					 * line, SCR_RB_SKIP: to its end */
	uint8_t rb_cand;		/* reply kinds still matching (bits) */
	uint8_t rb_flags;		/* SCR_RB_F_* */
	uint8_t nooo;			/* reorder slots held */
	uint64_t stop_pkt;		/* packet where enforce/drop stops it, 0 */
	uint8_t state;			/* enum scr_flow_state */
	uint8_t mode;			/* enum scr_flow_mode */
	uint8_t seq_known;		/* bit per direction; SCR_SK_CONNECT */
	uint8_t verdict;		/* enum scr_verdict, once mode DECIDED */
	scr_reasons reasons;		/* SCR_TEST bits and SCR_REASON_SMUGGLING */
	uint8_t enforce;		/* SCR_TEST bits failed under enforce */
	uint8_t flags;			/* SCR_FF_* */
	union {
		struct scr_smtp smtp;		/* mode SCAN */
		struct scr_flow_guard guard;	/* mode DECIDED */
	};
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct scr_flow) == 128,
	       "struct scr_flow must stay two cache lines");

#define SCR_SK_CONNECT		0x04	/* in seq_known: CONNECT reported */
#define SCR_SK_UNACKED		0x08	/* a test failed on the client segment
					 * the fingerprint names, which the
					 * server has not acknowledged yet */
#define SCR_SK_WAIT		0x10	/* and that failure decides the verdict:
					 * it is given at the server's ACK */
#define SCR_SK_DNSBL		0x20	/* the client's DNSBL answer is still to
					 * come (scr_policy.dnsbl_wait) */

#define SCR_RB_SKIP		0xff	/* rb_pos: rest of the line not looked at */
#define SCR_RB_F_HELO		0x01	/* the client's last segment began with
					 * HELO or EHLO */
#define SCR_RB_F_SYNC		0x02	/* seq_next[1] is followed on the fast
					 * path (decided flows) */

#define SCR_FF_PASS_OLD		0x01	/* cache said every test passed */
#define SCR_FF_LISTED_REJECT	0x02	/* access list reject */
#define SCR_FF_GAP		0x04	/* bytes missing: verdict unknown */
#define SCR_FF_VERDICT_SENT	0x08
#define SCR_FF_END_SENT		0x10	/* END told at FIN/RST; entry kept a little */
#define SCR_FF_HELD		0x20	/* server frames are being held (greeting) */
#define SCR_FF_HOLD_DONE	0x40	/* greeting hold over (or never wanted) */
#define SCR_FF_STOP_NEXT	0x80	/* stop at the flow's next frame (a late
					 * DNSBL drop) */

struct scr_flow_table {
	struct scr_flow *e;		/* cap entries */
	uint32_t *bucket;		/* nbucket heads: index + 1 */
	uint64_t *live;			/* bit per entry: in use (sweeps skip
					 * free runs without touching them) */
	uint32_t cap;
	uint32_t mask;			/* nbucket - 1 */
	uint32_t used;
	uint32_t free_head;		/* freed entries: index + 1 */
	uint32_t fresh;			/* entries [fresh, cap) never used */
	uint32_t hand;			/* clock hand for sweeps */
	bool used_any;			/* since create or the last clear */
	size_t e_len;			/* bytes mapped for e */
};

struct scr_flow_table *scr_flow_create(uint32_t cap);
void scr_flow_destroy(struct scr_flow_table *t);
/* Bytes of table memory per flow: entry + bucket share. */
size_t scr_flow_bytes_per_flow(const struct scr_flow_table *t);
void scr_flow_clear(struct scr_flow_table *t);

/* scr_flow_key_words - the key as five 64-bit words (memcpy: no aliasing) */
static inline void scr_flow_key_words(const struct scr_flow_key *k, uint64_t w[5])
{
	memcpy(w, k, 40);
}

/* scr_flow_hash - keyed hash of a flow key (scr_hash: SipHash-1-3 under
 * the process key; not symmetric: keys are oriented). An IPv4 key
 * (family 4, both addresses v4-mapped, as scr_decode makes them) is
 * hashed as the 12 bytes that vary: client address, server address, the
 * two ports; any other key as its 40 bytes. The message lengths differ,
 * so the two kinds never share inputs; a family-4 key without mapped
 * addresses (never made) would at worst collide, not break a lookup.
 * scr_flow_hash_blocks: the key as the padded blocks scr_hash_blocks
 * hashes (2 or 6, returned); scr_hash_blocks_x8 hashes eight at once.
 * scr_flow_v4_blocks, scr_flow_v6_blocks: a key's blocks from its parts
 * (v4: the addresses' last four bytes and the ports), so a key just
 * stored field by field is not loaded back in words. The key's padding
 * is zero. */
static inline void scr_flow_v4_blocks(const uint8_t client4[4],
				      const uint8_t server4[4],
				      uint16_t client_port, uint16_t server_port,
				      uint64_t b[2])
{
	uint8_t m[16] = {0};
	uint64_t x[2];

	memcpy(m, client4, 4);
	memcpy(m + 4, server4, 4);
	memcpy(m + 8, &client_port, 2);		/* the key's bytes 32-35 */
	memcpy(m + 10, &server_port, 2);
	memcpy(x, m, 16);
	b[0] = scr_le64(x[0]);
	b[1] = scr_le64(x[1]) | 12ull << 56;
}

static inline void scr_flow_v6_blocks(const struct scr_addr *client,
				      const struct scr_addr *server,
				      uint16_t client_port, uint16_t server_port,
				      uint8_t family, uint64_t b[6])
{
	uint8_t m[8] = {0};
	uint64_t x[5];

	memcpy(x, client->b, 16);
	memcpy(x + 2, server->b, 16);
	memcpy(m, &client_port, 2);		/* the key's bytes 32-39 */
	memcpy(m + 2, &server_port, 2);
	m[4] = family;
	memcpy(x + 4, m, 8);
	for (unsigned i = 0; i < 5; i++)
		b[i] = scr_le64(x[i]);
	b[5] = 40ull << 56;	/* no bytes left over, the length on top */
}

static inline unsigned scr_flow_hash_blocks(const struct scr_flow_key *k,
					    uint64_t b[6])
{
	if (k->family == 4) {
		scr_flow_v4_blocks(k->client.b + 12, k->server.b + 12,
				   k->client_port, k->server_port, b);
		return 2;
	}
	scr_flow_v6_blocks(&k->client, &k->server, k->client_port,
			   k->server_port, k->family, b);
	return 6;
}

/* Keys of one kind gathered to be hashed eight at a time
 * (scr_flow_lanes_add, then scr_flow_lanes_hash): IPv4 keys (two blocks)
 * and IPv6 keys (six) go to lanes of their own, l[0] and l[1]. */
struct scr_flow_lanes {
	uint64_t m[6][8];	/* block j of key i in m[j][i] */
	unsigned n;		/* keys gathered */
	unsigned nb;		/* blocks of each */
};

/* scr_flow_lanes_add - a key's nb blocks b into the lanes of its kind in
 * l[2] (room for one more is the caller's to keep); returns those lanes,
 * the key's place in them in *at */
static inline struct scr_flow_lanes *scr_flow_lanes_add(struct scr_flow_lanes l[2],
							const uint64_t *b,
							unsigned nb, unsigned *at)
{
	struct scr_flow_lanes *x = &l[nb == 2 ? 0 : 1];

	for (unsigned j = 0; j < nb; j++)
		x->m[j][x->n] = b[j];
	x->nb = nb;
	*at = x->n++;
	return x;
}

/* scr_flow_lanes_hash - the hashes of the keys in x, out[0..x->n) (the
 * lanes past n are hashed too, their numbers unused) */
static inline void scr_flow_lanes_hash(const struct scr_flow_lanes *x,
				       uint64_t out[8])
{
	scr_hash_blocks_x8((const uint64_t (*)[8])x->m, x->nb, out);
}

static inline uint32_t scr_flow_hash(const struct scr_flow_key *k)
{
	uint64_t b[6];

	return (uint32_t)scr_hash_blocks(b, scr_flow_hash_blocks(k, b));
}

/* scr_flow_key_eq - compare two keys */
static inline bool scr_flow_key_eq(const struct scr_flow_key *a,
				   const struct scr_flow_key *b)
{
	uint64_t x[5], y[5];

	scr_flow_key_words(a, x);
	scr_flow_key_words(b, y);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		(x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* scr_flow_prefetch - prefetch the bucket a key hashes to */
static inline void scr_flow_prefetch(const struct scr_flow_table *t,
				     uint32_t hash)
{
	__builtin_prefetch(&t->bucket[hash & t->mask]);
}

/* scr_flow_prefetch_entry - prefetch the first entry of the key's chain
 * (its bucket prefetched earlier by scr_flow_prefetch), both its lines:
 * the key and state in the first, the SMTP machine or the guard in the
 * second. Returns that entry's index + 1 (0: an empty bucket), for the
 * caller's own per-entry arrays. An empty bucket prefetches entry 0: a
 * wasted prefetch costs less than a branch on the bucket, which new
 * flows and old ones mix at random. */
static inline uint32_t scr_flow_prefetch_entry(const struct scr_flow_table *t,
					       uint32_t hash)
{
	uint32_t i = t->bucket[hash & t->mask];
	const char *f = (const char *)&t->e[i - (i != 0)];

	__builtin_prefetch(f);
	__builtin_prefetch(f + 64);
	return i;
}

/* scr_flow_lookup - find the entry of key, NULL if none */
static inline struct scr_flow *scr_flow_lookup(struct scr_flow_table *t,
					       const struct scr_flow_key *key,
					       uint32_t hash)
{
	uint32_t i = t->bucket[hash & t->mask];

	while (i) {
		struct scr_flow *f = &t->e[i - 1];

		if (scr_flow_key_eq(&f->key, key))
			return f;
		i = f->hnext;
	}
	return NULL;
}

struct scr_flow *scr_flow_insert(struct scr_flow_table *t,
				 const struct scr_flow_key *key, uint32_t hash);
void scr_flow_remove(struct scr_flow_table *t, struct scr_flow *f);
void scr_flow_remove_many(struct scr_flow_table *t, struct scr_flow *const *fs,
			  unsigned n);

/* scr_flow_live_word - bits of entries i.. (up to the word's end) in use */
static inline uint64_t scr_flow_live_word(const struct scr_flow_table *t,
					  uint32_t i)
{
	return t->live[i >> 6] >> (i & 63);
}

/* scr_flow_next_live - the first entry in use at index i or after; cap
 * when none */
static inline uint32_t scr_flow_next_live(const struct scr_flow_table *t,
					  uint32_t i)
{
	while (i < t->cap) {
		uint64_t w = scr_flow_live_word(t, i);

		if (w)
			return i + (uint32_t)__builtin_ctzll(w);
		i += 64 - (i & 63);
	}
	return t->cap;
}

/* scr_flow_index - entry index, for reorder-slot ownership */
static inline uint32_t scr_flow_index(const struct scr_flow_table *t,
				      const struct scr_flow *f)
{
	return (uint32_t)(f - t->e);
}

#endif
