/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_turn - the longest turn of a packet loop, over a sliding window
 * DESCRIPTION
 *	A packet loop (a DPDK worker, host mode's packet thread) times each
 *	turn's work (not its waiting) and keeps the longest of the current
 *	and the previous window of DP_TURN_WINDOW_NS: what a reload, a flood
 *	or a slow callback did to packet processing in the last seconds,
 *	read as a gauge (`stats` turn_max_us). Measured with the caller's
 *	clock; nothing here reads a clock.
 * CONTRACT
 *	dp_turn_add(t, start_ns, end_ns): one turn's work.
 *	dp_turn_max(t, now_ns): the longest turn of the last one to two
 *	  windows, in ns.
 * THREADING
 *	The loop's own thread; publish the value through its snapshot.
 */
#ifndef DP_TURN_H
#define DP_TURN_H

#include <stdint.h>

#define DP_TURN_WINDOW_NS 10000000000ull	/* 10 s */

struct dp_turn {
	uint64_t win_start;
	uint64_t cur, prev;
};

/* dp_turn_roll - start a new window when the current one is over */
static inline void dp_turn_roll(struct dp_turn *t, uint64_t now)
{
	if (now - t->win_start < DP_TURN_WINDOW_NS)
		return;
	t->prev = now - t->win_start < 2 * DP_TURN_WINDOW_NS ? t->cur : 0;
	t->cur = 0;
	t->win_start = now;
}

/* dp_turn_add - one turn's work, start to end */
static inline void dp_turn_add(struct dp_turn *t, uint64_t start, uint64_t end)
{
	dp_turn_roll(t, end);
	if (end > start && end - start > t->cur)
		t->cur = end - start;
}

/* dp_turn_max - the longest turn of the current and previous window */
static inline uint64_t dp_turn_max(struct dp_turn *t, uint64_t now)
{
	dp_turn_roll(t, now);
	return t->cur > t->prev ? t->cur : t->prev;
}

#endif
