/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cache - the verdict cache: per-client test passes and blocks
 * DESCRIPTION
 *	See ctl_cache.h. Entries are chained by index (index + 1, 0 = end)
 *	from power-of-two buckets; free entries are chained the same way.
 * THREADING
 *	One owner thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cache.h"
#include "scr_hash.h"
#include "scr_mem.h"

struct node {
	struct ctl_cache_entry e;
	uint32_t next;		/* chain or free list: index + 1 */
	uint8_t used;
};

struct ctl_cache {
	struct node *n;
	uint32_t *bucket;
	uint32_t cap;
	uint32_t mask;
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
	memset(c->bucket, 0, ((size_t)c->mask + 1) * sizeof(*c->bucket));
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
	while (nb < cap)
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
	c->bucket = scr_mem_zalloc((size_t)nb * sizeof(*c->bucket));
	if (c->n == NULL || c->bucket == NULL) {
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
	scr_mem_free(c->bucket, ((size_t)c->mask + 1) * sizeof(*c->bucket));
	free(c);
}

/* unlink_node - remove node index idx (index + 1) from its chain, free it */
static void unlink_node(struct ctl_cache *c, uint32_t idx)
{
	struct node *nd = &c->n[idx - 1];
	uint32_t *link = &c->bucket[ctl_cache_addr_hash(&nd->e.addr) & c->mask];

	while (*link != idx)
		link = &c->n[*link - 1].next;
	*link = nd->next;
	nd->used = 0;
	nd->next = c->free_head;
	c->free_head = idx;
	c->count--;
}

/* expired - nothing in the entry applies any more at now_s */
static bool expired(const struct ctl_cache_entry *e, uint64_t now_s)
{
	unsigned t;

	if (e->block_until > now_s)
		return false;
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (e->pass_until[t] > now_s)
			return false;
	return true;
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

/* find - the live entry of addr's key, dropping it if expired */
static struct ctl_cache_entry *find(struct ctl_cache *c,
				    const struct scr_addr *client, uint64_t now_s)
{
	struct scr_addr key = ctl_cache_key(c, client);
	const struct scr_addr *addr = &key;
	uint32_t i = c->bucket[ctl_cache_addr_hash(addr) & c->mask];

	while (i) {
		struct node *nd = &c->n[i - 1];

		if (memcmp(nd->e.addr.b, addr->b, 16) == 0) {
			if (expired(&nd->e, now_s)) {
				unlink_node(c, i);
				return NULL;
			}
			return &nd->e;
		}
		i = nd->next;
	}
	return NULL;
}

/* get_or_add - the entry of addr's key, created empty if needed */
static struct ctl_cache_entry *get_or_add(struct ctl_cache *c,
					  const struct scr_addr *client,
					  uint64_t now_s)
{
	struct ctl_cache_entry *e = find(c, client, now_s);
	struct scr_addr key = ctl_cache_key(c, client);
	const struct scr_addr *addr = &key;
	uint32_t b, i;

	if (e != NULL)
		return e;
	if (c->free_head == 0 && c->fresh == c->cap) {
		/* Full: replace whatever the hand points at. */
		unlink_node(c, c->hand + 1);
		c->hand = c->hand + 1 == c->cap ? 0 : c->hand + 1;
		c->replaced++;
	}
	if (c->free_head != 0) {
		i = c->free_head;
		c->free_head = c->n[i - 1].next;
	} else {
		i = ++c->fresh;
	}
	memset(&c->n[i - 1].e, 0, sizeof(c->n[i - 1].e));
	c->n[i - 1].e.addr = *addr;
	c->n[i - 1].used = 1;
	b = ctl_cache_addr_hash(addr) & c->mask;
	c->n[i - 1].next = c->bucket[b];
	c->bucket[b] = i;
	c->count++;
	return &c->n[i - 1].e;
}

/* ctl_cache_client - tests still to run for a client, or its block */
void ctl_cache_client(struct ctl_cache *c, const struct scr_addr *addr,
		      uint64_t now_s, uint8_t enabled,
		      struct scr_client_info *out)
{
	const struct ctl_cache_entry *e = find(c, addr, now_s);
	unsigned t;

	memset(out, 0, sizeof(*out));
	out->cls = SCR_CLIENT_NEW;
	/* The access list is decided before the cache and never cached. */
	out->todo = enabled & (uint8_t)~SCR_TEST_BIT(SCR_TEST_ACCESS);
	if (e == NULL)
		return;
	if (e->block_until > now_s) {
		out->cls = SCR_CLIENT_BLOCKED;
		out->reasons = e->block_reasons;
		return;
	}
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (e->pass_until[t] > now_s)
			out->todo &= (uint8_t)~SCR_TEST_BIT(t);
	out->pass_old = out->todo == 0;
}

/* ctl_cache_pass - the client passed these tests now */
void ctl_cache_pass(struct ctl_cache *c, const struct scr_addr *addr,
		    uint64_t now_s, uint8_t tests, const struct scr_policy *pol)
{
	struct ctl_cache_entry *e = get_or_add(c, addr, now_s);
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		if ((tests & SCR_TEST_BIT(t)) &&
		    now_s + pol->ttl_s[t] > e->pass_until[t])
			e->pass_until[t] = now_s + pol->ttl_s[t];
	e->block_until = 0;
	e->block_reasons = 0;
}

/* ctl_cache_block - the client failed: block it for ttl_s */
void ctl_cache_block(struct ctl_cache *c, const struct scr_addr *addr,
		     uint64_t now_s, uint32_t ttl_s, scr_reasons reasons)
{
	struct ctl_cache_entry *e = get_or_add(c, addr, now_s);

	memset(e->pass_until, 0, sizeof(e->pass_until));
	if (e->block_until > now_s)	/* blocked already: never shortened */
		e->block_reasons |= reasons;
	else
		e->block_reasons = reasons;
	if (now_s + ttl_s > e->block_until)
		e->block_until = now_s + ttl_s;
}

/* ctl_cache_put - e's times for its client, whole (a copy of another
 * cache's entry: the control plane's to a worker's) */
void ctl_cache_put(struct ctl_cache *c, const struct ctl_cache_entry *e,
		   uint64_t now_s)
{
	struct ctl_cache_entry *d = get_or_add(c, &e->addr, now_s);

	memcpy(d->pass_until, e->pass_until, sizeof(d->pass_until));
	d->block_until = e->block_until;
	d->block_reasons = e->block_reasons;
}

/* ctl_cache_get - copy the live entry of addr */
int ctl_cache_get(struct ctl_cache *c, const struct scr_addr *addr,
		  uint64_t now_s, struct ctl_cache_entry *out)
{
	const struct ctl_cache_entry *e = find(c, addr, now_s);

	if (e == NULL)
		return -ENOENT;
	*out = *e;
	return 0;
}

/* ctl_cache_sweep - drop every expired entry; returns how many */
uint32_t ctl_cache_sweep(struct ctl_cache *c, uint64_t now_s)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->cap; i++)
		if (c->n[i].used && expired(&c->n[i].e, now_s)) {
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
		if (!c->n[i].used)
			continue;
		rc = cb(arg, &c->n[i].e);
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

/* ctl_cache_verdict - a VERDICT event into the cache */
void ctl_cache_verdict(struct ctl_cache *c, const struct scr_event *ev,
		       const struct scr_policy *pol)
{
	uint64_t now_s = ev->ts_ns / 1000000000u;

	const struct ctl_cache_entry *e = find(c, &ev->key.client, now_s);

	/* a pass does not lift a block made while the session ran (a reply
	 * ban of its client, or of another address of its IPv6 prefix) */
	if (ev->verdict == SCR_V_PASS && !ev->pass_old &&
	    (e == NULL || e->block_until <= now_s))
		ctl_cache_pass(c, &ev->key.client, now_s,
			       pol->enabled & SCR_TESTS_STREAM, pol);
	else if (ev->verdict == SCR_V_FAIL && ev->stop_pkt &&
		 ctl_cache_block_ttl(pol, ev->reasons) > 0)
		ctl_cache_block(c, &ev->key.client, now_s,
				ctl_cache_block_ttl(pol, ev->reasons), ev->reasons);
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
