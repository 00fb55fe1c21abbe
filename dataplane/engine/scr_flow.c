/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_flow - preallocated per-worker flow table
 * DESCRIPTION
 *	See scr_flow.h. Entries live in one array; buckets hold the index of
 *	the first entry of their chain; freed entries are chained through
 *	hnext, and entries never used yet are those from `fresh` on. The
 *	arrays come from the OS zeroed, on huge pages (scr_mem), and are not
 *	written at create: a table costs page faults only where flows went (a
 *	replay of 20,000 flows does not touch a 262,144-entry table's other
 *	pages).
 *	Memory is allocated in scr_flow_create() only.
 * THREADING
 *	One worker per table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "scr_flow.h"
#include "scr_mem.h"
#include "scr_panic.h"

_Static_assert(sizeof(struct scr_flow_key) == 40, "flow key layout");
_Static_assert(sizeof(struct scr_flow) <= 128, "flow entry over two cache lines");

#define SCR_FLOW_CAP_MAX (1u << 28)

/* scr_flow_clear - forget every flow; the table is as new */
/* scr_flow_clear - every entry free again; only what was used is written */
void scr_flow_clear(struct scr_flow_table *t)
{
	memset(t->e, 0, (size_t)t->fresh * sizeof(*t->e));
	if (t->used_any)
		memset(t->bucket, 0, ((size_t)t->mask + 1) * sizeof(*t->bucket));
	memset(t->live, 0, ((size_t)t->fresh + 63) / 64 * sizeof(*t->live));
	t->free_head = 0;
	t->fresh = 0;
	t->used = 0;
	t->hand = 0;
	t->used_any = false;
}

/* scr_flow_create - allocate a table of cap entries */
struct scr_flow_table *scr_flow_create(uint32_t cap)
{
	struct scr_flow_table *t;
	uint32_t nb = 1;

	if (cap == 0 || cap > SCR_FLOW_CAP_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < cap)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->cap = cap;
	t->mask = nb - 1;
	/* zero (every entry SCR_FS_FREE) until written */
	t->e_len = (size_t)cap * sizeof(*t->e);
	t->e = scr_mem_zalloc(t->e_len);
	t->bucket = scr_mem_zalloc((size_t)nb * sizeof(*t->bucket));
	t->live = scr_mem_zalloc(((size_t)cap + 63) / 64 * sizeof(*t->live));
	if (t->e == NULL || t->bucket == NULL || t->live == NULL) {
		scr_flow_destroy(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

/* scr_flow_destroy - free the table */
void scr_flow_destroy(struct scr_flow_table *t)
{
	if (t == NULL)
		return;
	scr_mem_free(t->bucket, ((size_t)t->mask + 1) * sizeof(*t->bucket));
	scr_mem_free(t->live, ((size_t)t->cap + 63) / 64 * sizeof(*t->live));
	scr_mem_free(t->e, t->e_len);
	free(t);
}

/* scr_flow_bytes_per_flow - entry plus its share of the bucket array */
size_t scr_flow_bytes_per_flow(const struct scr_flow_table *t)
{
	return sizeof(struct scr_flow) +
	       ((size_t)t->mask + 1) * sizeof(uint32_t) / t->cap;
}

/* scr_flow_insert - take a free entry for key; NULL when full */
struct scr_flow *scr_flow_insert(struct scr_flow_table *t,
				 const struct scr_flow_key *key, uint32_t hash)
{
	uint32_t i = t->free_head, b = hash & t->mask;
	struct scr_flow *f;

	if (i != 0) {
		f = &t->e[i - 1];
		t->free_head = f->hnext;
	} else if (t->fresh < t->cap) {
		i = ++t->fresh;
		f = &t->e[i - 1];
	} else {
		return NULL;
	}
	t->used_any = true;
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->hnext = t->bucket[b];
	t->bucket[b] = i;
	t->used++;
	t->live[(i - 1) >> 6] |= 1ull << ((i - 1) & 63);
	return f;
}

/* unlink_entry - take f (its key hashing to hash) out of its chain and
 * free it */
static void unlink_entry(struct scr_flow_table *t, struct scr_flow *f,
			 uint32_t hash)
{
	uint32_t idx = (uint32_t)(f - t->e) + 1;
	uint32_t *link = &t->bucket[hash & t->mask];

	while (*link && *link != idx)
		link = &t->e[*link - 1].hnext;
	if (*link == 0)
		scr_panic("scr_flow_remove: entry %u (state %d) not in its "
			  "chain", idx, (int)f->state);
	*link = f->hnext;
	f->state = SCR_FS_FREE;
	f->hnext = t->free_head;
	t->free_head = idx;
	t->used--;
	t->live[(idx - 1) >> 6] &= ~(1ull << ((idx - 1) & 63));
}

/* scr_flow_remove - unlink f from its chain and free it */
void scr_flow_remove(struct scr_flow_table *t, struct scr_flow *f)
{
	unlink_entry(t, f, scr_flow_hash(&f->key));
}

/* scr_flow_remove_many - scr_flow_remove of fs[0..n-1] (n <= 8, distinct
 * entries): their keys hashed eight at a time, IPv4 and IPv6 apart, and
 * every bucket loading before the first is read */
void scr_flow_remove_many(struct scr_flow_table *t, struct scr_flow *const *fs,
			  unsigned n)
{
	struct scr_flow_lanes l[2] = {{.n = 0}, {.n = 0}}, *x[8];
	uint64_t h[2][8], b[6];
	uint32_t hash[8];
	unsigned i, at[8];

	if (n > 8)
		scr_panic("scr_flow_remove_many: %u entries, at most 8", n);
	for (i = 0; i < n; i++)
		x[i] = scr_flow_lanes_add(l, b, scr_flow_hash_blocks(&fs[i]->key, b),
					  &at[i]);
	for (i = 0; i < 2; i++)
		if (l[i].n)
			scr_flow_lanes_hash(&l[i], h[i]);
	for (i = 0; i < n; i++) {
		hash[i] = (uint32_t)h[x[i] - l][at[i]];
		__builtin_prefetch(&t->bucket[hash[i] & t->mask], 1);
	}
	for (i = 0; i < n; i++)
		unlink_entry(t, fs[i], hash[i]);
}
