/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_hold - one worker's held server packets (greeting hold)
 * DESCRIPTION
 *	Flow slots in a preallocated array, found through a chained hash of
 *	the flow key and linked in a FIFO by start time. See dp_hold.h.
 * THREADING
 *	One per worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_hold.h"
#include "scr_flow.h"

struct dp_hold_flow {
	struct scr_flow_key key;
	uint64_t start_ns;
	uint32_t seq_end;	/* end of the server bytes held */
	uint32_t hnext;		/* hash chain: index + 1 */
	uint32_t older;		/* FIFO neighbours: index + 1 */
	uint32_t newer;
	uint8_t n;
	uint8_t used;
	void *pkt[DP_HOLD_FLOW_MAX];
};

struct dp_hold {
	struct dp_hold_flow *f;
	uint32_t *bucket;	/* index + 1 */
	uint32_t mask;
	uint32_t max_flows;
	uint32_t max_pkts;
	uint32_t nflows;
	uint32_t npkts;
	uint32_t free_head;	/* index + 1, chained through hnext */
	uint32_t fresh;		/* slots [fresh, max_flows) never used: their
				 * pages are not touched at create */
	uint32_t oldest;	/* index + 1 */
	uint32_t newest;
};

/* key_hash - bucket of a key: the flow table's keyed hash (a client that
 * picks its ports cannot pile its holds into one chain) */
static uint32_t key_hash(const struct dp_hold *h, const struct scr_flow_key *k)
{
	return scr_flow_hash(k) & h->mask;
}

/* dp_hold_create - room for max_pkts packets in max_flows holds */
struct dp_hold *dp_hold_create(uint32_t max_pkts, uint32_t max_flows)
{
	struct dp_hold *h;
	uint32_t nb = 1;

	if (max_pkts == 0 || max_flows == 0 || max_flows > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max_flows * 2)
		nb <<= 1;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->f = calloc(max_flows, sizeof(*h->f));
	h->bucket = calloc(nb, sizeof(*h->bucket));
	if (h->f == NULL || h->bucket == NULL) {
		dp_hold_destroy(h);
		errno = ENOMEM;
		return NULL;
	}
	h->mask = nb - 1;
	h->max_flows = max_flows;
	h->max_pkts = max_pkts;
	return h;
}

/* dp_hold_destroy - free the table (held packets are the caller's) */
void dp_hold_destroy(struct dp_hold *h)
{
	if (h == NULL)
		return;
	free(h->f);
	free(h->bucket);
	free(h);
}

/* find - the slot of key, or NULL */
static struct dp_hold_flow *find(struct dp_hold *h, const struct scr_flow_key *k)
{
	uint32_t i = h->bucket[key_hash(h, k)];

	while (i) {
		struct dp_hold_flow *f = &h->f[i - 1];

		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
		i = f->hnext;
	}
	return NULL;
}

/* unlink_flow - take f out of its chain and the FIFO; free the slot */
static void unlink_flow(struct dp_hold *h, struct dp_hold_flow *f)
{
	uint32_t idx = (uint32_t)(f - h->f) + 1;
	uint32_t *p = &h->bucket[key_hash(h, &f->key)];

	while (*p != idx)
		p = &h->f[*p - 1].hnext;
	*p = f->hnext;
	if (f->older)
		h->f[f->older - 1].newer = f->newer;
	else
		h->oldest = f->newer;
	if (f->newer)
		h->f[f->newer - 1].older = f->older;
	else
		h->newest = f->older;
	h->npkts -= f->n;
	h->nflows--;
	f->used = 0;
	f->n = 0;
	f->hnext = h->free_head;
	h->free_head = idx;
}

/* give_back - copy f's packets to out and free f; the count */
static unsigned give_back(struct dp_hold *h, struct dp_hold_flow *f, void **out)
{
	unsigned n = f->n;

	memcpy(out, f->pkt, n * sizeof(*out));
	unlink_flow(h, f);
	return n;
}

/* dp_hold_add - keep pkt (server bytes [seq, seq+len)) for key */
int dp_hold_add(struct dp_hold *h, const struct scr_flow_key *key, uint32_t seq,
		uint32_t len, void *pkt, uint64_t now_ns)
{
	struct dp_hold_flow *f = find(h, key);
	uint32_t idx, b;

	if (f != NULL) {
		/* Every byte already held: a retransmission. */
		if (len > 0 && (int32_t)(seq + len - f->seq_end) <= 0)
			return 1;
		if (f->n == DP_HOLD_FLOW_MAX || h->npkts == h->max_pkts)
			return -ENOSPC;
		f->pkt[f->n++] = pkt;
		h->npkts++;
		if ((int32_t)(seq + len - f->seq_end) > 0)
			f->seq_end = seq + len;
		return 0;
	}
	if ((h->free_head == 0 && h->fresh == h->max_flows) || h->npkts == h->max_pkts)
		return -ENOSPC;
	if (h->free_head != 0) {
		idx = h->free_head;
		h->free_head = h->f[idx - 1].hnext;
	} else {
		idx = ++h->fresh;
	}
	f = &h->f[idx - 1];
	f->key = *key;
	f->start_ns = now_ns;
	f->seq_end = seq + len;
	f->n = 1;
	f->pkt[0] = pkt;
	f->used = 1;
	b = key_hash(h, key);
	f->hnext = h->bucket[b];
	h->bucket[b] = idx;
	f->newer = 0;
	f->older = h->newest;
	if (h->newest)
		h->f[h->newest - 1].newer = idx;
	else
		h->oldest = idx;
	h->newest = idx;
	h->nflows++;
	h->npkts++;
	return 0;
}

/* dp_hold_due - the packets whose hold is over, oldest flow first */
unsigned dp_hold_due(struct dp_hold *h, uint64_t now_ns, uint64_t hold_ns,
		     void **out, unsigned max)
{
	unsigned n = 0;

	while (h->oldest) {
		struct dp_hold_flow *f = &h->f[h->oldest - 1];

		if (f->start_ns + hold_ns > now_ns || n + f->n > max)
			break;
		n += give_back(h, f, out + n);
	}
	return n;
}

/* dp_hold_release_oldest - the oldest hold, whatever its time */
unsigned dp_hold_release_oldest(struct dp_hold *h, void **out, unsigned max)
{
	struct dp_hold_flow *f;

	if (h->oldest == 0)
		return 0;
	f = &h->f[h->oldest - 1];
	if (f->n > max)
		return 0;
	return give_back(h, f, out);
}

/* dp_hold_take - a flow's packets, its hold ended by a stop or an end */
unsigned dp_hold_take(struct dp_hold *h, const struct scr_flow_key *key,
		      void **out, unsigned max)
{
	struct dp_hold_flow *f;

	if (h->nflows == 0)
		return 0;
	f = find(h, key);
	if (f == NULL || f->n > max)
		return 0;
	return give_back(h, f, out);
}

uint32_t dp_hold_pkts(const struct dp_hold *h)
{
	return h->npkts;
}

uint32_t dp_hold_flows(const struct dp_hold *h)
{
	return h->nflows;
}

uint32_t dp_hold_max_pkts(const struct dp_hold *h)
{
	return h->max_pkts;
}

uint64_t dp_hold_oldest_ns(const struct dp_hold *h)
{
	return h->oldest ? h->f[h->oldest - 1].start_ns : UINT64_MAX;
}
