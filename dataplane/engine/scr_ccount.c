/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_ccount - concurrent flows per client address
 * DESCRIPTION
 *	See scr_ccount.h. Linear probing; a freed slot is filled by moving
 *	later entries of its run back (no tombstones, so lookups stay short
 *	however many clients come and go).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scr_ccount.h"
#include "scr_hash.h"
#include "scr_mem.h"

#define CNT_BITS 16
#define CNT_MASK ((1ull << CNT_BITS) - 1)

struct scr_ccount {
	uint64_t *slot;		/* fingerprint << 16 | count; 0 = empty */
	uint32_t mask;
};

/* scr_ccount_create - a table for a flow table of `flows` entries */
struct scr_ccount *scr_ccount_create(uint32_t flows)
{
	struct scr_ccount *t;
	uint64_t n = 2;

	if (flows == 0 || flows > (1u << 28)) {
		errno = EINVAL;
		return NULL;
	}
	while (n < 2ull * flows)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->slot = scr_mem_zalloc(n * sizeof(*t->slot));
	if (t->slot == NULL) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = (uint32_t)(n - 1);
	return t;
}

/* scr_ccount_destroy - free the table */
void scr_ccount_destroy(struct scr_ccount *t)
{
	if (t == NULL)
		return;
	scr_mem_free(t->slot, ((size_t)t->mask + 1) * sizeof(*t->slot));
	free(t);
}

/* scr_ccount_clear - forget every count */
void scr_ccount_clear(struct scr_ccount *t)
{
	memset(t->slot, 0, ((size_t)t->mask + 1) * sizeof(*t->slot));
}

/* scr_ccount_bytes_per_flow - table memory per flow-table entry */
size_t scr_ccount_bytes_per_flow(const struct scr_ccount *t, uint32_t flows)
{
	return ((size_t)t->mask + 1) * sizeof(*t->slot) / flows;
}

/* scr_ccount_key - fingerprint of a client address (never 0): the top 48
 * bits of its keyed hash, so neither the home slots nor shared
 * fingerprints can be chosen by a client */
uint64_t scr_ccount_key(const struct scr_addr *a)
{
	uint64_t h = scr_hash_addr(a) >> CNT_BITS;

	return h ? h : 1;
}

/* find - the slot of key, or the empty slot where it would go; UINT32_MAX
 * when the table is full without it (cannot happen while every inc has its
 * dec: a bug then loses a count instead of looping) */
static uint32_t find(const struct scr_ccount *t, uint64_t key)
{
	uint32_t i = (uint32_t)key & t->mask, n;

	for (n = 0; n <= t->mask; n++) {
		if (t->slot[i] == 0 || (t->slot[i] >> CNT_BITS) == key)
			return i;
		i = (i + 1) & t->mask;
	}
	return UINT32_MAX;
}

/* scr_ccount_get - flows counted for key */
unsigned scr_ccount_get(const struct scr_ccount *t, uint64_t key)
{
	uint32_t i = find(t, key);

	return i == UINT32_MAX ? 0 : (unsigned)(t->slot[i] & CNT_MASK);
}

/* scr_ccount_prefetch - start loading the home slot of key */
void scr_ccount_prefetch(const struct scr_ccount *t, uint64_t key)
{
	__builtin_prefetch(&t->slot[(uint32_t)key & t->mask]);
}

/* scr_ccount_inc - one more flow for key */
void scr_ccount_inc(struct scr_ccount *t, uint64_t key)
{
	uint32_t i = find(t, key);

	if (i == UINT32_MAX)
		return;
	if (t->slot[i] == 0)
		t->slot[i] = key << CNT_BITS;
	if ((t->slot[i] & CNT_MASK) != CNT_MASK)
		t->slot[i]++;
}

/* scr_ccount_dec - one flow fewer for key; free the slot at 0 */
void scr_ccount_dec(struct scr_ccount *t, uint64_t key)
{
	uint32_t i = find(t, key), j;

	if (i == UINT32_MAX || t->slot[i] == 0)
		return;		/* not counted (caller bug or table cleared) */
	if ((t->slot[i] & CNT_MASK) > 1) {
		t->slot[i]--;
		return;
	}
	/* Remove, then close the gap: move back each later entry of the run
	 * whose home slot is not between the gap and itself. */
	t->slot[i] = 0;
	j = i;
	for (;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (t->slot[j] == 0)
			return;
		home = (uint32_t)(t->slot[j] >> CNT_BITS) & t->mask;
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			t->slot[j] = 0;
			i = j;
		}
	}
}
