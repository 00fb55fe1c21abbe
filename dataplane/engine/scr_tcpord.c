/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_tcpord - hand each direction's payload on in sequence order, once
 * DESCRIPTION
 *	See scr_tcpord.h. Sequence numbers compare modulo 2^32 (signed
 *	difference). The slots a flow holds form a short unsorted list
 *	(at most SCR_OOO_PER_FLOW), searched after each in-order delivery.
 * THREADING
 *	One worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scr_tcpord.h"

_Static_assert(sizeof(struct scr_ooo_slot) == 2048, "slot size");

/* scr_tcpord_clear - every slot free (slots never used are not written:
 * those from `fresh` on) */
void scr_tcpord_clear(struct scr_tcpord *o)
{
	o->free_head = 0;
	o->fresh = 0;
}

/* scr_tcpord_create - a pool of nslots reorder slots (0 allowed: no reordering) */
struct scr_tcpord *scr_tcpord_create(uint32_t nslots)
{
	struct scr_tcpord *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->nslots = nslots;
	if (nslots) {
		o->slot = malloc((size_t)nslots * sizeof(*o->slot));
		if (o->slot == NULL) {
			free(o);
			errno = ENOMEM;
			return NULL;
		}
	}
	scr_tcpord_clear(o);
	return o;
}

/* scr_tcpord_destroy - free the pool */
void scr_tcpord_destroy(struct scr_tcpord *o)
{
	if (o == NULL)
		return;
	free(o->slot);
	free(o);
}

/* slot_free - unlink slot idx (index + 1) found at *link and free it */
static void slot_free(struct scr_tcpord *o, struct scr_flow *f, uint32_t *link)
{
	uint32_t idx = *link;
	struct scr_ooo_slot *s = &o->slot[idx - 1];

	*link = s->next;
	s->next = o->free_head;
	o->free_head = idx;
	f->nooo--;
}

/* scr_tcpord_release - give back every slot the flow holds */
void scr_tcpord_release(struct scr_tcpord *o, struct scr_flow *f)
{
	while (f->ooo)
		slot_free(o, f, &f->ooo);
}

/* stash - keep a segment that is ahead of the expected one */
static enum scr_ord_result stash(struct scr_tcpord *o, struct scr_flow *f,
				 unsigned dir, uint32_t seq, const uint8_t *p,
				 uint32_t len)
{
	struct scr_ooo_slot *s;
	uint32_t i;

	for (i = f->ooo; i; i = o->slot[i - 1].next) {
		s = &o->slot[i - 1];
		if (s->dir == dir && s->seq == seq && s->len >= len)
			return SCR_ORD_OK;	/* a retransmission of a kept one */
	}
	if (len > SCR_OOO_DATA) {
		o->gap_size++;
		return SCR_ORD_GAP;
	}
	if (f->nooo >= SCR_OOO_PER_FLOW) {
		o->gap_flow++;
		return SCR_ORD_GAP;
	}
	if (o->free_head != 0) {
		i = o->free_head;
		s = &o->slot[i - 1];
		o->free_head = s->next;
	} else if (o->fresh < o->nslots) {
		i = ++o->fresh;
		s = &o->slot[i - 1];
	} else {
		o->gap_pool++;
		return SCR_ORD_GAP;
	}
	s->seq = seq;
	s->len = (uint16_t)len;
	s->dir = (uint8_t)dir;
	memcpy(s->data, p, len);
	s->next = f->ooo;
	f->ooo = i;
	f->nooo++;
	o->stashed++;
	return SCR_ORD_OK;
}

/* deliver - pass bytes from seq on, cutting what was delivered before */
static enum scr_ord_result deliver(struct scr_tcpord *o, struct scr_flow *f,
				   unsigned dir, uint32_t seq,
				   const uint8_t *p, uint32_t len,
				   scr_tcpord_fn fn, void *arg)
{
	int32_t d = (int32_t)(seq - f->seq_next[dir]);

	if (d < 0) {
		uint32_t old = (uint32_t)-(int64_t)d;

		if (len <= old) {
			o->dup_bytes += len;
			return SCR_ORD_OK;
		}
		o->dup_bytes += old;
		p += old;
		len -= old;
	}
	f->seq_next[dir] += len;
	return fn(arg, dir, p, len) ? SCR_ORD_STOP : SCR_ORD_OK;
}

/* drain - deliver kept segments that the stream has reached */
enum scr_ord_result scr_tcpord_drain(struct scr_tcpord *o, struct scr_flow *f,
				 unsigned dir, scr_tcpord_fn fn, void *arg)
{
	bool progress = true;

	while (progress && f->ooo) {
		uint32_t *link = &f->ooo;

		progress = false;
		while (*link) {
			struct scr_ooo_slot *s = &o->slot[*link - 1];
			int32_t d = (int32_t)(s->seq - f->seq_next[dir]);
			enum scr_ord_result r;

			if (s->dir != dir || d > 0) {
				link = &s->next;
				continue;
			}
			/* Reached: deliver from the slot, then free it. The
			 * callback may not touch the pool, so s stays valid. */
			r = deliver(o, f, dir, s->seq, s->data, s->len, fn, arg);
			slot_free(o, f, link);
			o->drained++;
			if (r != SCR_ORD_OK)
				return r;
			progress = true;
		}
	}
	return SCR_ORD_OK;
}

/* scr_tcpord_segment - take one segment's payload of direction dir */
enum scr_ord_result scr_tcpord_segment(struct scr_tcpord *o, struct scr_flow *f,
				       unsigned dir, uint32_t seq,
				       const uint8_t *p, uint32_t len,
				       uint32_t window, scr_tcpord_fn fn,
				       void *arg)
{
	int32_t d = (int32_t)(seq - f->seq_next[dir]);
	enum scr_ord_result r;

	if (len == 0)
		return SCR_ORD_OK;
	if (d > 0) {
		if ((uint32_t)d > window) {
			o->gap_window++;
			return SCR_ORD_GAP;
		}
		return stash(o, f, dir, seq, p, len);
	}
	r = deliver(o, f, dir, seq, p, len, fn, arg);
	if (r != SCR_ORD_OK || f->ooo == 0)
		return r;
	return scr_tcpord_drain(o, f, dir, fn, arg);
}
