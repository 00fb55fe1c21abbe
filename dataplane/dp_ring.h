/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_ring - a single-producer single-consumer ring of fixed-size
 *	elements, for front ends without DPDK (host mode)
 * DESCRIPTION
 *	Host mode's packet thread and control thread talk through two of
 *	these, as the appliance's workers do through rte_rings: engine
 *	events one way, control messages the other. Capacity is a power of
 *	two, allocated at create; head and tail are free-running 32-bit
 *	counters on their own cache lines. Elements are copied in and out.
 * CONTRACT
 *	dp_ring_create(count, esize): count rounded up to a power of two
 *	  (>= 2); NULL + errno.
 *	dp_ring_enqueue(r, e): 0, or -ENOBUFS when full (nothing written).
 *	dp_ring_dequeue_burst(r, out, max): copies up to max elements into
 *	  out; returns the count.
 *	dp_ring_count(r) / dp_ring_capacity(r): for pressure marks.
 * THREADING
 *	One producer thread and one consumer thread per ring. Release on
 *	publish, acquire on read: an element is whole when it is seen.
 */
#ifndef DP_RING_H
#define DP_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dp_ring {
	uint32_t mask;
	uint32_t esize;
	uint8_t *buf;
	_Alignas(64) atomic_uint head;	/* producer: next slot to write */
	_Alignas(64) atomic_uint tail;	/* consumer: next slot to read */
};

/* dp_ring_create - a ring of at least count elements of esize bytes */
static inline struct dp_ring *dp_ring_create(uint32_t count, uint32_t esize)
{
	struct dp_ring *r;
	uint32_t n = 2;

	if (count == 0 || count > (1u << 30) || esize == 0) {
		errno = EINVAL;
		return NULL;
	}
	while (n < count)
		n <<= 1;
	r = aligned_alloc(64, sizeof(*r));
	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->buf = calloc(n, esize);
	if (r->buf == NULL) {
		free(r);
		return NULL;
	}
	r->mask = n - 1;
	r->esize = esize;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return r;
}

/* dp_ring_destroy - free; NULL is fine */
static inline void dp_ring_destroy(struct dp_ring *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/* dp_ring_enqueue - one element in; -ENOBUFS when full */
static inline int dp_ring_enqueue(struct dp_ring *r, const void *e)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h - t > r->mask)
		return -ENOBUFS;
	memcpy(r->buf + (size_t)(h & r->mask) * r->esize, e, r->esize);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

/* dp_ring_dequeue_burst - up to max elements out; the count */
static inline unsigned dp_ring_dequeue_burst(struct dp_ring *r, void *out,
					     unsigned max)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned h = atomic_load_explicit(&r->head, memory_order_acquire);
	unsigned n = h - t, i;

	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		memcpy((uint8_t *)out + (size_t)i * r->esize,
		       r->buf + (size_t)((t + i) & r->mask) * r->esize, r->esize);
	atomic_store_explicit(&r->tail, t + n, memory_order_release);
	return n;
}

/* dp_ring_count - elements waiting (a moment's view) */
static inline unsigned dp_ring_count(struct dp_ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) -
	       atomic_load_explicit(&r->tail, memory_order_acquire);
}

/* dp_ring_capacity - elements the ring holds */
static inline unsigned dp_ring_capacity(const struct dp_ring *r)
{
	return r->mask + 1;
}

#endif
