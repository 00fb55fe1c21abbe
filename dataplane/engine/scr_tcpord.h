/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_tcpord - hand each direction's payload on in sequence order, once
 * DESCRIPTION
 *	Per direction the flow keeps the next expected sequence number.
 *	In-order bytes go to the callback at once; bytes already delivered
 *	(retransmissions, overlaps) are cut off, never delivered twice; a
 *	segment ahead of the expected one is copied into a slot of a
 *	per-worker pool (bounded window, bounded slots per flow) and
 *	delivered when the hole before it fills. When a segment cannot be
 *	kept (beyond the window, pool empty, too many per flow, too large),
 *	the stream has a gap that will not be filled: the caller marks the
 *	flow unknown instead of guessing.
 * CONTRACT
 *	scr_tcpord_create(nslots): NULL + errno.
 *	scr_tcpord_segment(o, f, dir, seq, p, len, window, fn, arg): returns
 *	  SCR_ORD_OK, SCR_ORD_STOP (fn returned non-zero: stop delivering;
 *	  nothing is lost that the caller still wants) or SCR_ORD_GAP.
 *	  fn(arg, dir, bytes, n) sees every byte once, in order.
 *	scr_tcpord_drain(o, f, dir, fn, arg): delivers the kept segments of
 *	  dir the stream has reached (left by a delivery that fn stopped);
 *	  returns as scr_tcpord_segment.
 *	scr_tcpord_release(o, f): returns the flow's slots to the pool.
 * THREADING
 *	One worker; the pool belongs to that worker's flow table.
 */
#ifndef SCR_TCPORD_H
#define SCR_TCPORD_H

#include "scr_flow.h"

#define SCR_OOO_DATA	2036	/* payload bytes per slot; slot = 2 KiB */
#define SCR_OOO_PER_FLOW 8

enum scr_ord_result { SCR_ORD_OK = 0, SCR_ORD_STOP, SCR_ORD_GAP };

struct scr_ooo_slot {
	uint32_t next;		/* index + 1 within the flow's list or free list */
	uint32_t seq;
	uint16_t len;
	uint8_t dir;
	uint8_t _pad;
	uint8_t data[SCR_OOO_DATA];
};

struct scr_tcpord {
	struct scr_ooo_slot *slot;
	uint32_t nslots;
	uint32_t free_head;	/* freed slots: index + 1 */
	uint32_t fresh;		/* slots [fresh, nslots) never used */
	uint64_t stashed;	/* segments kept out of order */
	uint64_t drained;	/* kept segments delivered */
	uint64_t dup_bytes;	/* bytes cut off as already delivered */
	uint64_t gap_window;	/* beyond the reorder window */
	uint64_t gap_pool;	/* pool empty */
	uint64_t gap_flow;	/* flow already holds SCR_OOO_PER_FLOW */
	uint64_t gap_size;	/* segment larger than a slot */
};

typedef int (*scr_tcpord_fn)(void *arg, unsigned dir, const uint8_t *p,
			     uint32_t n);

struct scr_tcpord *scr_tcpord_create(uint32_t nslots);
void scr_tcpord_destroy(struct scr_tcpord *o);
void scr_tcpord_clear(struct scr_tcpord *o);
enum scr_ord_result scr_tcpord_segment(struct scr_tcpord *o, struct scr_flow *f,
				       unsigned dir, uint32_t seq,
				       const uint8_t *p, uint32_t len,
				       uint32_t window, scr_tcpord_fn fn,
				       void *arg);
enum scr_ord_result scr_tcpord_drain(struct scr_tcpord *o, struct scr_flow *f,
				     unsigned dir, scr_tcpord_fn fn, void *arg);
void scr_tcpord_release(struct scr_tcpord *o, struct scr_flow *f);

#endif
