/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_flow - preallocated per-worker flow table
 * DESCRIPTION
 *	See scr_flow.h. Entries live in one array; buckets hold the index of
 *	the first entry of their chain; free entries are chained through
 *	hnext. Memory is allocated in scr_flow_create() only.
 * THREADING
 *	One worker per table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scr_flow.h"
#include "scr_panic.h"

_Static_assert(sizeof(struct scr_flow_key) == 40, "flow key layout");
_Static_assert(sizeof(struct scr_flow) <= 128, "flow entry over two cache lines");

#define SCR_FLOW_CAP_MAX (1u << 28)

/* scr_flow_clear - forget every flow; the table is as new */
void scr_flow_clear(struct scr_flow_table *t)
{
	uint32_t i;

	memset(t->e, 0, (size_t)t->cap * sizeof(*t->e));
	memset(t->bucket, 0, ((size_t)t->mask + 1) * sizeof(*t->bucket));
	for (i = 0; i < t->cap; i++)
		t->e[i].hnext = i + 2 <= t->cap ? i + 2 : 0;
	t->free_head = 1;
	t->used = 0;
	t->hand = 0;
	memset(t->live, 0, ((size_t)t->cap + 63) / 64 * sizeof(*t->live));
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
	t->e = aligned_alloc(64, (size_t)cap * sizeof(*t->e));
	t->bucket = malloc((size_t)nb * sizeof(*t->bucket));
	t->live = malloc(((size_t)cap + 63) / 64 * sizeof(*t->live));
	if (t->e == NULL || t->bucket == NULL || t->live == NULL) {
		scr_flow_destroy(t);
		errno = ENOMEM;
		return NULL;
	}
	scr_flow_clear(t);
	return t;
}

/* scr_flow_destroy - free the table */
void scr_flow_destroy(struct scr_flow_table *t)
{
	if (t == NULL)
		return;
	free(t->bucket);
	free(t->live);
	free(t->e);
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

	if (i == 0)
		return NULL;
	f = &t->e[i - 1];
	t->free_head = f->hnext;
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->hnext = t->bucket[b];
	t->bucket[b] = i;
	t->used++;
	t->live[(i - 1) >> 6] |= 1ull << ((i - 1) & 63);
	return f;
}

/* scr_flow_remove - unlink f from its chain and free it */
void scr_flow_remove(struct scr_flow_table *t, struct scr_flow *f)
{
	uint32_t idx = (uint32_t)(f - t->e) + 1;
	uint32_t *link = &t->bucket[scr_flow_hash(&f->key) & t->mask];

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
