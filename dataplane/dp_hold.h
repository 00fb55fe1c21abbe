/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_hold - one worker's held server packets (greeting hold)
 * DESCRIPTION
 *	While the engine holds a flow's greeting (SCR_PKT_HOLD), the inline
 *	worker keeps the flow's server packets here, in arrival order, and
 *	gives them back when the hold is over, when the packet budget forces
 *	it (oldest hold first), or throws them away when the session is
 *	stopped or ends. Holds start in time order and share one duration, so
 *	they are kept in a FIFO: the head is always the next one due. A
 *	retransmission of bytes already held is not kept (the caller frees
 *	it). Packets are opaque pointers (rte_mbuf in the worker); nothing
 *	here knows DPDK. Fixed capacity, allocated at create.
 * CONTRACT
 *	dp_hold_create(max_pkts, max_flows): NULL + errno.
 *	dp_hold_add(h, key, seq, len, pkt, now_ns): 0 kept; 1 duplicate
 *	  (not kept); -ENOSPC: no packet or flow slot (release the oldest
 *	  with dp_hold_release_oldest and try again).
 *	dp_hold_due(h, now_ns, hold_ns, out, max): gives back the packets
 *	  of flows whose hold started at or before now_ns - hold_ns, oldest
 *	  flow first, each flow's packets in order; at most max packets
 *	  (a flow is never split). Returns the count.
 *	dp_hold_release_oldest(h, out, max): the oldest flow's packets.
 *	dp_hold_take(h, key, out, max): the flow's packets (session stopped
 *	  or ended: the caller frees them). 0 when the flow holds nothing.
 *	out must have room for DP_HOLD_FLOW_MAX packets.
 * THREADING
 *	One per worker; not shared.
 */
#ifndef DP_HOLD_H
#define DP_HOLD_H

#include <stdint.h>

#include "scr_types.h"

#define DP_HOLD_FLOW_MAX 32	/* packets one flow may hold */

struct dp_hold;

struct dp_hold *dp_hold_create(uint32_t max_pkts, uint32_t max_flows);
void dp_hold_destroy(struct dp_hold *h);
int dp_hold_add(struct dp_hold *h, const struct scr_flow_key *key, uint32_t seq,
		uint32_t len, void *pkt, uint64_t now_ns);
unsigned dp_hold_due(struct dp_hold *h, uint64_t now_ns, uint64_t hold_ns,
		     void **out, unsigned max);
unsigned dp_hold_release_oldest(struct dp_hold *h, void **out, unsigned max);
unsigned dp_hold_take(struct dp_hold *h, const struct scr_flow_key *key,
		      void **out, unsigned max);
uint32_t dp_hold_pkts(const struct dp_hold *h);
uint32_t dp_hold_flows(const struct dp_hold *h);
uint32_t dp_hold_max_pkts(const struct dp_hold *h);
/* Start of the oldest hold (UINT64_MAX when none). */
uint64_t dp_hold_oldest_ns(const struct dp_hold *h);

#endif
