/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_inline - `smtpscreen inline`: the DPDK appliance between two ports
 * DESCRIPTION
 *	Port 0 faces the clients, port 1 the mail servers; everything is
 *	forwarded from one to the other unless a worker stops it. Worker
 *	lcores (dp_worker.c) each own an engine, a verdict cache copy, a hold
 *	store and a transmit queue per port; both directions of a connection
 *	reach the same worker (symmetric RSS, or a software dispatch by a
 *	symmetric hash over SPSC rings). The main lcore is the control
 *	thread (dp_inline.c): it takes the workers' events from rings, logs
 *	them, writes the verdict CSV, the cache and the XDP maps, sends
 *	verdicts and configuration to the workers over rings, and serves
 *	the control socket. This header is the two files' shared state; the
 *	only public entry point is dp_inline_main().
 * CONTRACT
 *	dp_inline_main(argc, argv): argv[0] = "inline". Exit status: 0 after
 *	  SIGTERM/SIGINT, 1 runtime failure (ports, EAL, BPF), 2 usage or
 *	  configuration error.
 *	dp_worker_main(arg): an lcore function (arg: struct dp_worker *).
 * THREADING
 *	Workers touch only their struct dp_worker (and read struct dp_app's
 *	constants and stop flag); the control thread reads worker counters
 *	through each worker's seqlock snapshot and talks to workers only
 *	through rings.
 */
#ifndef DP_INLINE_H
#define DP_INLINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ctl_cache.h"
#include "ctl_live.h"
#include "ctl_setup.h"
#include "dp_hold.h"
#include "dp_turn.h"
#include "scr_engine.h"

#define DP_MAX_WORKERS	16
#define DP_NPORTS	2
#define DP_PORT_CLIENTS	0	/* port index facing the clients */
#define DP_PORT_SERVERS	1	/* the protected side */
#define DP_TXBUF	64
#define DP_REL_MAX	2048	/* released frames waiting for the engine */

/* Worker counters, written by the worker only. */
struct dp_wstats {
	uint64_t rx;		/* packets received from the ports */
	uint64_t fwd;		/* handed to a transmit queue */
	uint64_t tx_drop;	/* refused by the port */
	uint64_t disp_out;	/* sent to another worker */
	uint64_t disp_full;	/* dispatch ring full: receiving paused */
	uint64_t disp_in;
	uint64_t dropped;	/* frames of stopped sessions */
	uint64_t stopped;	/* sessions stopped here (RSTs sent) */
	uint64_t crafted;	/* RST/reply frames sent */
	uint64_t craft_err;
	uint64_t nombuf;
	uint64_t held;		/* server frames kept for a greeting hold */
	uint64_t hold_dup;	/* retransmissions of held bytes, freed */
	uint64_t hold_forced;	/* holds cut short by the packet budget */
	uint64_t released;	/* held frames given back and forwarded */
	uint64_t hold_freed;	/* held frames of stopped or ended sessions */
	uint64_t env_waits;	/* client frames kept for an envelope answer */
	uint64_t env_released;	/* ... forwarded after it (not rejected) */
	uint64_t env_stopped;	/* ... dropped: the session stopped for it */
	uint64_t env_timeouts;	/* waits over DP_ENV_WAIT_NS: forwarded */
	uint64_t ev_lost;	/* event ring full */
	uint64_t msgs;
	uint64_t hold_now;	/* held frames at the snapshot */
	uint64_t stress;	/* 1 while the hold is shortened */
	uint64_t turn_max_ns;	/* longest loop turn, last 10-20 s */
};

struct dp_txbuf {
	uint16_t n;
	struct rte_mbuf *m[DP_TXBUF];
};

struct dp_app;

struct dp_worker {
	unsigned id;
	unsigned lcore;
	struct dp_app *app;
	struct ctl_live_worker lw;		/* engine, cache copy, setup */
	struct dp_hold *hold;
	struct dp_hold *envhold;		/* client frames waiting for an
						 * envelope answer (SCR_PKT_WAIT) */
	struct rte_ring *ev_ring;		/* to ctrl: struct scr_event */
	struct rte_ring *msg_ring;		/* from ctrl: struct ctl_live_msg */
	struct rte_ring *in[DP_MAX_WORKERS];	/* dispatch from worker j */
	struct rte_ring *out[DP_MAX_WORKERS];	/* dispatch to worker j */
	/* Frames for worker j that its full ring did not take yet: no more
	 * receiving until they are in (back-pressure to the rx queues,
	 * where the port counts what it cannot keep: rx_missed). */
	uint16_t npend[DP_MAX_WORKERS];
	unsigned pending;			/* sum of npend */
	struct rte_mbuf *pend[DP_MAX_WORKERS][SCR_BURST];
	struct {
		uint16_t port;			/* index 0/1 */
		uint16_t queue;
	} rxq[2 * DP_MAX_WORKERS];
	unsigned nrxq;
	struct dp_txbuf tx[DP_NPORTS];
	int64_t step_ns;			/* app's step_ns the engine follows */
	uint64_t pkt_no;
	uint64_t burst_first;			/* pkt_no of frame 0 of the burst */
	uint8_t stop_test[SCR_BURST];		/* failed test behind a STOP, 0xff */
	uint8_t stop_act[SCR_BURST];
	unsigned nrel;
	struct rte_mbuf *rel[DP_REL_MAX];	/* released, not yet judged */
	struct dp_wstats st;
	atomic_uint snap_seq;			/* odd while the worker writes: */
	struct dp_wstats st_snap;
	struct scr_stats eng_snap;
	uint32_t flows_snap;
	atomic_int ctl_behind;			/* ctrl left events in a ring */
	bool pressure;				/* load reported to the engine */
	struct dp_turn turn;
	atomic_int done;			/* worker left its loop */
} __rte_cache_aligned;

struct dp_port {
	uint16_t id;			/* DPDK port id */
	uint16_t nrxq;
	uint16_t ntxq;
	char name[RTE_ETH_NAME_MAX_LEN];
	char ifname[64];		/* af_xdp/af_packet iface=, else "" */
	bool af_xdp;
};

struct dp_app {
	/* constants once workers run */
	unsigned nworkers;
	bool sw_dispatch;
	struct dp_port port[DP_NPORTS];
	struct rte_mempool *mp;
	uint16_t ports[8];		/* smtpscreen_ports, for dp_craft */
	unsigned nports;
	bool stop_reply;
	uint32_t hold_pkts;
	uint64_t tsc_hz;
	uint64_t base_tsc;
	uint64_t base_ns;		/* CLOCK_REALTIME at base_tsc */
	int64_t step_ns;		/* steps of the system clock since then
					 * (atomic: the control thread adds,
					 * each worker follows between turns) */
	struct dp_worker *w[DP_MAX_WORKERS];
	atomic_int stop;		/* workers: leave the loop */
	atomic_uint flushed;		/* workers with no dispatch pending */
};

/* Seqcount over a worker's snapshot: one writer (the worker), readers
 * retry while it writes (an odd count) or when it changed. */
static inline void dp_snap_write_begin(struct dp_worker *w)
{
	atomic_fetch_add_explicit(&w->snap_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static inline void dp_snap_write_end(struct dp_worker *w)
{
	atomic_fetch_add_explicit(&w->snap_seq, 1, memory_order_release);
}

static inline unsigned dp_snap_read_begin(struct dp_worker *w)
{
	return atomic_load_explicit(&w->snap_seq, memory_order_acquire);
}

static inline bool dp_snap_read_retry(struct dp_worker *w, unsigned begin)
{
	atomic_thread_fence(memory_order_acquire);
	return (begin & 1) ||
	       atomic_load_explicit(&w->snap_seq, memory_order_relaxed) != begin;
}

/* dp_mono_ns - ns from the TSC on the wall clock's start value: never
 * steps (holds, turns, timers) */
static inline uint64_t dp_mono_ns(const struct dp_app *a)
{
	uint64_t d = rte_rdtsc() - a->base_tsc;

	return a->base_ns + (uint64_t)((unsigned __int128)d * 1000000000u /
				       a->tsc_hz);
}

/* dp_now_ns - wall-clock ns (the control thread's time, logs): the TSC
 * time plus the steps of the system clock the control thread saw */
static inline uint64_t dp_now_ns(const struct dp_app *a)
{
	return dp_mono_ns(a) +
	       (uint64_t)__atomic_load_n(&a->step_ns, __ATOMIC_RELAXED);
}

int dp_inline_main(int argc, char **argv);
int dp_worker_main(void *arg);
/* dp_worker_hooks - the engine hooks of a worker */
void dp_worker_hooks(struct dp_worker *w, struct scr_engine_hooks *h);
/* dp_worker_snapshot - publish the worker's counters (worker thread) */
void dp_worker_snapshot(struct dp_worker *w);

#endif
