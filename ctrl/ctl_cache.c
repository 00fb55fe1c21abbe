/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cache - the verdict cache: per-client test passes and blocks
 * DESCRIPTION
 *	See ctl_cache.h. The index is open addressing with linear probing
 *	over twice as many slots as entries (a power of two), each slot the
 *	entry's index (+ 1; 0 = empty) and its 32-bit hash: a lookup reads
 *	slots next to each other, mostly one cache line, and an entry only
 *	when the whole hash matches; a removal shifts the slots after it
 *	back, reading no entry. Free entries are chained by index.
 * THREADING
 *	One owner thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cache.h"
#include "ctl_msg.h"
#include "scr_hash.h"
#include "scr_mem.h"

/* A client's record as kept: one cache line. Times are Unix seconds in
 * 32 bits (until 2106; a later time is kept as UINT32_MAX, "for ever"):
 * the struct ctl_cache_entry of the interface is 104 bytes over two
 * lines, and a cache of a million clients is walked by misses. */
struct node {
	struct scr_addr addr;
	uint32_t pass_until[SCR_TEST_MAX];	/* 0 = never passed */
	uint32_t block_until;			/* 0 = not blocked */
	uint32_t next;		/* free list: index + 1 */
	uint32_t hash;		/* ctl_cache_addr_hash(addr) */
	scr_reasons block_reasons;
	uint8_t used;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct node) == 64, "a cache node is one cache line");

/* A slot: an entry's index + 1 in bits 0-31 (0: the slot is empty), its
 * hash in 32-63. */
#define S_IDX(s)	((uint32_t)(s))
#define S_HASH(s)	((uint32_t)((s) >> 32))
#define SLOT(idx, h)	((uint64_t)(h) << 32 | (idx))

struct ctl_cache {
	struct node *n;
	uint64_t *slot;		/* SLOT() */
	uint32_t cap;
	uint32_t mask;		/* slots - 1 */
	uint32_t count;
	uint32_t free_head;	/* freed nodes: index + 1 */
	uint32_t fresh;		/* nodes [fresh, cap) never used (zero) */
	uint32_t hand;
	uint64_t replaced;
	uint8_t v6_plen;	/* clients' IPv6 prefix (128: the address) */
};

/* ctl_cache_addr_hash - keyed hash of an address (scr_hash: SipHash-1-3
 * under the process key): every byte reaches the low bits, and no client
 * can choose addresses that share a bucket */
uint32_t ctl_cache_addr_hash(const struct scr_addr *a)
{
	return (uint32_t)scr_hash_addr(a);
}

/* ctl_cache_clear - forget everything */
void ctl_cache_clear(struct ctl_cache *c)
{
	memset(c->slot, 0, ((size_t)c->mask + 1) * sizeof(*c->slot));
	memset(c->n, 0, (size_t)c->fresh * sizeof(*c->n));
	c->free_head = 0;
	c->fresh = 0;
	c->count = 0;
	c->hand = 0;
}

/* ctl_cache_create - a cache of cap entries */
struct ctl_cache *ctl_cache_create(uint32_t cap)
{
	struct ctl_cache *c;
	uint32_t nb = 1;

	if (cap == 0 || cap > (1u << 28)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < 2 * cap)	/* slots: at most half in use */
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cap = cap;
	c->mask = nb - 1;
	c->v6_plen = 128;
	/* zero from the OS and not written here: pages are touched only
	 * where clients go */
	c->n = scr_mem_zalloc((size_t)cap * sizeof(*c->n));
	c->slot = scr_mem_zalloc((size_t)nb * sizeof(*c->slot));
	if (c->n == NULL || c->slot == NULL) {
		ctl_cache_destroy(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

/* ctl_cache_destroy - free the cache */
void ctl_cache_destroy(struct ctl_cache *c)
{
	if (c == NULL)
		return;
	scr_mem_free(c->n, (size_t)c->cap * sizeof(*c->n));
	scr_mem_free(c->slot, ((size_t)c->mask + 1) * sizeof(*c->slot));
	free(c);
}

/* slot_delete - empty slot i, moving back the slots after it that could
 * not be found past the hole (backward shift: no tombstones) */
static void slot_delete(struct ctl_cache *c, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint64_t s;

		j = (j + 1) & c->mask;
		s = c->slot[j];
		if (s == 0)
			break;
		/* s may fill the hole unless its home is in (i, j] */
		if (((j - (S_HASH(s) & c->mask)) & c->mask) >= ((j - i) & c->mask)) {
			c->slot[i] = s;
			i = j;
		}
	}
	c->slot[i] = 0;
}

/* unlink_node - take node index idx (index + 1) out of the index, free it */
static void unlink_node(struct ctl_cache *c, uint32_t idx)
{
	struct node *nd = &c->n[idx - 1];
	uint32_t i = nd->hash & c->mask, n;

	for (n = 0; S_IDX(c->slot[i]) != idx; n++) {
		if (n > c->mask)
			ctl_msg_panic("ctl_cache: entry %u is in no slot", idx);
		i = (i + 1) & c->mask;
	}
	slot_delete(c, i);
	nd->used = 0;
	nd->next = c->free_head;
	c->free_head = idx;
	c->count--;
}

/* expired - nothing in the record applies any more at now_s */
static bool expired(const struct node *nd, uint64_t now_s)
{
	unsigned t;

	if (nd->block_until > now_s)
		return false;
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (nd->pass_until[t] > now_s)
			return false;
	return true;
}

/* t32 - a time as a node keeps it */
static uint32_t t32(uint64_t t)
{
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* to_entry - the interface's form of a node */
static void to_entry(const struct node *nd, struct ctl_cache_entry *e)
{
	unsigned t;

	memset(e, 0, sizeof(*e));
	e->addr = nd->addr;
	for (t = 0; t < SCR_TEST_MAX; t++)
		e->pass_until[t] = nd->pass_until[t];
	e->block_until = nd->block_until;
	e->block_reasons = nd->block_reasons;
}

/* ctl_cache_set_v6_prefix - IPv6 clients are kept per prefix of plen */
void ctl_cache_set_v6_prefix(struct ctl_cache *c, unsigned plen)
{
	c->v6_plen = (uint8_t)(plen == 0 || plen > 128 ? 128 : plen);
}

/* ctl_cache_key - the address a client's entry is kept under */
struct scr_addr ctl_cache_key(const struct ctl_cache *c,
			      const struct scr_addr *addr)
{
	return scr_addr_client_key(addr, c->v6_plen);
}

/* find - the live node of key (a client key, its hash h), dropping it
 * if expired */
static struct node *find(struct ctl_cache *c, const struct scr_addr *key,
			 uint32_t h, uint64_t now_s)
{
	uint32_t i = h & c->mask;
	uint64_t s;

	while ((s = c->slot[i]) != 0) {
		struct node *nd = &c->n[S_IDX(s) - 1];

		if (S_HASH(s) == h && memcmp(nd->addr.b, key->b, 16) == 0) {
			if (expired(nd, now_s)) {
				unlink_node(c, S_IDX(s));
				return NULL;
			}
			return nd;
		}
		i = (i + 1) & c->mask;
	}
	return NULL;
}

/* lookup - the live node of a client */
static struct node *lookup(struct ctl_cache *c, const struct scr_addr *client,
			   uint64_t now_s)
{
	struct scr_addr key = ctl_cache_key(c, client);

	return find(c, &key, ctl_cache_addr_hash(&key), now_s);
}

/* ctl_cache_ahead - start loading what a lookup of addr reads, so the
 * packet thread does not wait on it: step 0 the client's home slot, step
 * 1 (a little later, the slot in by then) the entry in it when its hash
 * is the client's */
void ctl_cache_ahead(const struct ctl_cache *c, const struct scr_addr *addr,
		     unsigned step)
{
	struct scr_addr key = ctl_cache_key(c, addr);
	uint32_t h = ctl_cache_addr_hash(&key);
	const uint64_t *sl = &c->slot[h & c->mask];
	uint64_t s;

	if (step == 0) {
		__builtin_prefetch(sl);
		return;
	}
	s = *sl;
	if (s != 0 && S_HASH(s) == h)
		__builtin_prefetch(&c->n[S_IDX(s) - 1]);
}

/* get_or_add - the node of a client, created empty if needed */
static struct node *get_or_add(struct ctl_cache *c,
			       const struct scr_addr *client, uint64_t now_s)
{
	struct scr_addr key = ctl_cache_key(c, client);
	uint32_t h = ctl_cache_addr_hash(&key), i;
	struct node *nd = find(c, &key, h, now_s);
	uint32_t k;

	if (nd != NULL)
		return nd;
	if (c->free_head == 0 && c->fresh == c->cap) {
		/* Full: replace whatever the hand points at. */
		unlink_node(c, c->hand + 1);
		c->hand = c->hand + 1 == c->cap ? 0 : c->hand + 1;
		c->replaced++;
		/* the next one replaced: its slots are a miss of their own */
		__builtin_prefetch(&c->slot[c->n[c->hand].hash & c->mask], 1);
	}
	if (c->free_head != 0) {
		i = c->free_head;
		c->free_head = c->n[i - 1].next;
	} else {
		i = ++c->fresh;
	}
	nd = &c->n[i - 1];
	memset(nd, 0, sizeof(*nd));
	nd->addr = key;
	nd->hash = h;
	nd->used = 1;
	for (k = h & c->mask; c->slot[k] != 0; k = (k + 1) & c->mask)
		;			/* half the slots at least are empty */
	c->slot[k] = SLOT(i, h);
	c->count++;
	return nd;
}

/* pass - nd passed these tests now */
static void pass(struct node *nd, uint64_t now_s, uint8_t tests,
		 const struct scr_policy *pol)
{
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		if ((tests & SCR_TEST_BIT(t)) &&
		    now_s + pol->ttl_s[t] > nd->pass_until[t])
			nd->pass_until[t] = t32(now_s + pol->ttl_s[t]);
	nd->block_until = 0;
	nd->block_reasons = 0;
}

/* block - nd is blocked for ttl_s from now */
static void block(struct node *nd, uint64_t now_s, uint32_t ttl_s,
		  scr_reasons reasons)
{
	memset(nd->pass_until, 0, sizeof(nd->pass_until));
	if (nd->block_until > now_s)	/* blocked already: never shortened */
		nd->block_reasons |= reasons;
	else
		nd->block_reasons = reasons;
	if (now_s + ttl_s > nd->block_until)
		nd->block_until = t32(now_s + ttl_s);
}

/* ctl_cache_client - tests still to run for a client, or its block */
void ctl_cache_client(struct ctl_cache *c, const struct scr_addr *addr,
		      uint64_t now_s, uint8_t enabled,
		      struct scr_client_info *out)
{
	const struct node *nd = lookup(c, addr, now_s);
	unsigned t;

	memset(out, 0, sizeof(*out));
	out->cls = SCR_CLIENT_NEW;
	/* The access list is decided before the cache and never cached. */
	out->todo = enabled & (uint8_t)~SCR_TEST_BIT(SCR_TEST_ACCESS);
	if (nd == NULL)
		return;
	if (nd->block_until > now_s) {
		out->cls = SCR_CLIENT_BLOCKED;
		out->reasons = nd->block_reasons;
		return;
	}
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (nd->pass_until[t] > now_s)
			out->todo &= (uint8_t)~SCR_TEST_BIT(t);
	out->pass_old = out->todo == 0;
}

/* ctl_cache_pass - the client passed these tests now */
void ctl_cache_pass(struct ctl_cache *c, const struct scr_addr *addr,
		    uint64_t now_s, uint8_t tests, const struct scr_policy *pol)
{
	pass(get_or_add(c, addr, now_s), now_s, tests, pol);
}

/* ctl_cache_block - the client failed: block it for ttl_s */
void ctl_cache_block(struct ctl_cache *c, const struct scr_addr *addr,
		     uint64_t now_s, uint32_t ttl_s, scr_reasons reasons)
{
	block(get_or_add(c, addr, now_s), now_s, ttl_s, reasons);
}

/* ctl_cache_put - e's times for its client, whole (a copy of another
 * cache's entry: the control plane's to a worker's) */
void ctl_cache_put(struct ctl_cache *c, const struct ctl_cache_entry *e,
		   uint64_t now_s)
{
	struct node *d = get_or_add(c, &e->addr, now_s);
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		d->pass_until[t] = t32(e->pass_until[t]);
	d->block_until = t32(e->block_until);
	d->block_reasons = e->block_reasons;
}

/* ctl_cache_get - copy the live entry of addr */
int ctl_cache_get(struct ctl_cache *c, const struct scr_addr *addr,
		  uint64_t now_s, struct ctl_cache_entry *out)
{
	const struct node *nd = lookup(c, addr, now_s);

	if (nd == NULL)
		return -ENOENT;
	to_entry(nd, out);
	return 0;
}

/* ctl_cache_sweep - drop every expired entry; returns how many */
uint32_t ctl_cache_sweep(struct ctl_cache *c, uint64_t now_s)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->cap; i++)
		if (c->n[i].used && expired(&c->n[i], now_s)) {
			unlink_node(c, i + 1);
			n++;
		}
	return n;
}

/* ctl_cache_count - live and not yet swept entries */
uint32_t ctl_cache_count(const struct ctl_cache *c)
{
	return c->count;
}

/* ctl_cache_replaced - entries replaced because the cache was full */
uint64_t ctl_cache_replaced(const struct ctl_cache *c)
{
	return c->replaced;
}

/* ctl_cache_addr_str - text of an address */
const char *ctl_cache_addr_str(const struct scr_addr *a, char *buf, size_t len)
{
	static const uint8_t v4pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a->b, v4pre, 12) == 0)
		return inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

/* ctl_cache_entry_print - one `cache list` line, live parts only */
int ctl_cache_entry_print(FILE *out, const struct ctl_cache_entry *e,
			  uint64_t now_s)
{
	char ab[64], rb[128];
	bool live = e->block_until > now_s;
	size_t rl = 0;
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX && !live; t++)
		live = e->pass_until[t] > now_s;
	if (!live)
		return 0;
	fprintf(out, "%s", ctl_cache_addr_str(&e->addr, ab, sizeof(ab)));
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (e->pass_until[t] > now_s)
			fprintf(out, " %s=%" PRIu64 "(+%" PRIu64 "s)",
				scr_test_name[t], e->pass_until[t],
				e->pass_until[t] - now_s);
	if (e->block_until > now_s) {
		rb[0] = 0;
		for (t = 0; t < SCR_TEST_MAX; t++)
			if (e->block_reasons & SCR_TEST_BIT(t))
				rl += (size_t)snprintf(rb + rl, rl < sizeof(rb) ?
						       sizeof(rb) - rl : 0, "%s%s",
						       rl ? "|" : "", scr_test_name[t]);
		fprintf(out, " block=%" PRIu64 "(+%" PRIu64 "s) reasons=%s",
			e->block_until, e->block_until - now_s,
			rb[0] ? rb : "operator");
	}
	fputc('\n', out);
	return 1;
}

/* ctl_cache_walk - every entry to cb */
int ctl_cache_walk(const struct ctl_cache *c,
		   int (*cb)(void *arg, const struct ctl_cache_entry *e),
		   void *arg)
{
	uint32_t i;
	int rc;

	for (i = 0; i < c->cap; i++) {
		struct ctl_cache_entry e;

		if (!c->n[i].used)
			continue;
		to_entry(&c->n[i], &e);
		rc = cb(arg, &e);
		if (rc)
			return rc;
	}
	return 0;
}

/* ctl_cache_entry_merge - the later of each time of two records of a client */
void ctl_cache_entry_merge(struct ctl_cache_entry *dst,
			   const struct ctl_cache_entry *src)
{
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		if (src->pass_until[t] > dst->pass_until[t])
			dst->pass_until[t] = src->pass_until[t];
	if (src->block_until > dst->block_until) {
		dst->block_until = src->block_until;
		dst->block_reasons = src->block_reasons;
	}
}

/* ctl_cache_verdict - a VERDICT event into the cache (one lookup) */
void ctl_cache_verdict(struct ctl_cache *c, const struct scr_event *ev,
		       const struct scr_policy *pol)
{
	uint64_t now_s = ev->ts_ns / 1000000000u;
	uint32_t ttl;

	/* a pass does not lift a block made while the session ran (a reply
	 * ban of its client, or of another address of its IPv6 prefix) */
	if (ev->verdict == SCR_V_PASS && !ev->pass_old) {
		struct node *nd = get_or_add(c, &ev->key.client, now_s);

		if (nd->block_until <= now_s)
			pass(nd, now_s, pol->enabled & SCR_TESTS_STREAM, pol);
	} else if (ev->verdict == SCR_V_FAIL && ev->stop_pkt &&
		   (ttl = ctl_cache_block_ttl(pol, ev->reasons)) > 0) {
		block(get_or_add(c, &ev->key.client, now_s), now_s, ttl,
		      ev->reasons);
	}
}

/* ctl_cache_block_ttl - how long a client stopped for these reasons is
 * blocked: smtpscreen_block_ttl when a test under enforce or drop failed,
 * else, for a session stopped for smuggling (whose client is mostly a
 * relay passing on someone else's message), smtpscreen_smuggling_ttl; for
 * an envelope reject, smtpscreen_envelope_ttl under drop, none under
 * enforce */
uint32_t ctl_cache_block_ttl(const struct scr_policy *pol, scr_reasons reasons)
{
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		if ((reasons & SCR_TEST_BIT(t)) && pol->action[t] != SCR_ACT_IGNORE)
			return pol->block_ttl_s;
	if (reasons & SCR_REASON_SMUGGLING)
		return pol->smuggling_ttl_s;
	if (reasons & SCR_REASON_ENVELOPE)	/* enforce stops, drop blocks */
		return pol->envelope_action == SCR_ACT_DROP ? pol->envelope_ttl_s : 0;
	return pol->block_ttl_s;
}
