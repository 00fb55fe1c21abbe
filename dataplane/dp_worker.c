/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_worker - an inline worker lcore: receive, screen, forward
 * DESCRIPTION
 *	Each loop: apply the control thread's messages; receive a burst from
 *	each of its rx queues; with software dispatch, send each frame whose
 *	symmetric hash belongs to another worker to that worker's ring and
 *	take the frames the others sent here; run the engine over the burst
 *	and act per frame: forward to the other port, drop (stopped session),
 *	stop (RST to both ends, with postscreen's reply line to the client
 *	first when smtpscreen_stop_reply is set), or hold (greeting hold,
 *	dp_hold). Held frames come back through the engine flagged RELEASED
 *	when the hold is over (postscreen_greet_wait, its stress value when
 *	3/4 of the packet budget is in use), when the budget forces the
 *	oldest out, or at shutdown; they are freed when their session is
 *	stopped or ends. Events go to the control thread over an SPSC ring
 *	(counted when it is full); the worker also applies its own verdicts
 *	to its cache at once so the next connection of a client sees them.
 *	At stop: gives back every held frame, ends every flow (their
 *	verdicts reach the control thread), flushes the transmit buffers.
 * THREADING
 *	One lcore per worker; nothing shared but rings and the snapshot.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_cidr.h"
#include "dp_craft.h"
#include "dp_inline.h"
#include "scr_decode.h"
#include "scr_hash.h"
#include "scr_panic.h"
#include "smtpscreen_abi.h"

#define W_SNAP_NS	100000000ull	/* counters published every 100 ms */
#define W_EXPIRE_NS	100000000ull	/* idle flows checked every 100 ms */
_Static_assert(CTL_LIVE_REPLY_MAX <= DP_CRAFT_REPLY_MAX,
	       "an envelope reply must fit a crafted frame");

/* tx_flush - hand a port's buffered frames to its queue; free refusals */
static void tx_flush(struct dp_worker *w, unsigned p)
{
	struct dp_txbuf *b = &w->tx[p];
	uint16_t sent;

	if (b->n == 0)
		return;
	sent = rte_eth_tx_burst(w->app->port[p].id, (uint16_t)w->id, b->m, b->n);
	if (unlikely(sent < b->n)) {
		w->st.tx_drop += b->n - sent;
		rte_pktmbuf_free_bulk(b->m + sent, b->n - sent);
	}
	b->n = 0;
}

/* tx_put - queue m for port index p (sent or freed exactly once) */
static inline void tx_put(struct dp_worker *w, unsigned p, struct rte_mbuf *m)
{
	struct dp_txbuf *b = &w->tx[p];

	b->m[b->n++] = m;
	if (b->n == DP_TXBUF)
		tx_flush(w, p);
}

/* port_index - 0/1 of a DPDK port id (the mbuf's rx port) */
static inline unsigned port_index(const struct dp_worker *w, uint16_t id)
{
	return w->app->port[DP_PORT_SERVERS].id == id ? DP_PORT_SERVERS :
							DP_PORT_CLIENTS;
}

/* hook_client - access list, operator prefixes, then the cache */
static void hook_client(void *arg, const struct scr_flow_key *key,
			uint64_t now_ns, struct scr_client_info *out)
{
	struct dp_worker *w = arg;

	ctl_live_worker_client(&w->lw, key, now_ns, out);
}

/* hook_client_ahead - a client SYN is coming: load its cache slot */
static void hook_client_ahead(void *arg, const struct scr_addr *client,
			      unsigned step)
{
	struct dp_worker *w = arg;

	ctl_live_worker_client_ahead(&w->lw, client, step);
}

/* stop_test value: a postscreen limit stopped the session (421) */
#define STOP_LIMIT 0xfe

/* stop_test - the test whose action stops the session: drop first, then
 * a command count / line length limit */
static void stop_test(const struct scr_policy *pol, scr_reasons reasons,
		      uint8_t *test, uint8_t *act)
{
	unsigned t, a;

	for (a = SCR_ACT_DROP; a >= SCR_ACT_ENFORCE; a--) {
		for (t = 0; t < SCR_TEST_MAX; t++) {
			if ((reasons & SCR_TEST_BIT(t)) && pol->action[t] == a) {
				*test = (uint8_t)t;
				*act = (uint8_t)a;
				return;
			}
		}
	}
	if (reasons & SCR_REASON_COMMAND_LIMIT)
		*test = STOP_LIMIT;
}

/* stop_reply - postscreen's line for the client of a session stopped at
 * burst index i into buf; NULL for none */
static const char *stop_reply(struct dp_worker *w, unsigned i,
			      const struct scr_addr *client, char *buf, size_t len)
{
	int n;

	if (!w->app->stop_reply || w->stop_test[i] == 0xff)
		return NULL;
	if (w->stop_test[i] == STOP_LIMIT)
		n = dp_craft_limit_reply(ctl_conf_get(w->lw.setup->conf, "myhostname"),
					 buf, len);
	else
		n = dp_craft_reply((enum scr_test)w->stop_test[i],
				   (enum scr_action)w->stop_act[i], client, NULL,
				   buf, len);
	return n > 0 ? buf : NULL;
}

/* hold_free - free the held frames of a flow (stopped or ended) */
static void hold_free(struct dp_worker *w, const struct scr_flow_key *k)
{
	void *pk[DP_HOLD_FLOW_MAX];
	unsigned n = dp_hold_take(w->hold, k, pk, DP_HOLD_FLOW_MAX);

	if (n == 0)
		return;
	w->st.hold_freed += n;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pk, n);
}

static void rel_add(struct dp_worker *w, void **pk, unsigned n);

/* env_free - the frames a flow kept for its envelope answer (ended) */
static void env_free(struct dp_worker *w, const struct scr_flow_key *k)
{
	void *pk[DP_HOLD_FLOW_MAX];
	unsigned n = dp_hold_take(w->envhold, k, pk, DP_HOLD_FLOW_MAX);

	if (n == 0)
		return;
	w->st.hold_freed += n;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pk, n);
}

/* hook_event - worker-side effects, then the event to ctrl */
static void hook_event(void *arg, const struct scr_event *ev)
{
	struct dp_worker *w = arg;
	const struct scr_policy *pol = &w->lw.setup->pol;

	switch (ev->type) {
	case SCR_EV_VERDICT:
		ctl_cache_verdict(w->lw.cache, ev, pol);
		if (ev->verdict == SCR_V_PASS && ev->pass_old) {
			/* a late PASS OLD (the control plane's store knew the
			 * client): its held greeting goes now, not at the end
			 * of the greet wait */
			void *pk[DP_HOLD_FLOW_MAX];
			unsigned n = dp_hold_take(w->hold, &ev->key, pk,
						  DP_HOLD_FLOW_MAX);

			rel_add(w, pk, n);
		}
		if (ev->stop_pkt >= w->burst_first &&
		    ev->stop_pkt < w->burst_first + SCR_BURST) {
			unsigned i = (unsigned)(ev->stop_pkt - w->burst_first);

			stop_test(pol, ev->reasons, &w->stop_test[i], &w->stop_act[i]);
		}
		break;
	case SCR_EV_END:
		hold_free(w, &ev->key);
		env_free(w, &ev->key);
		break;
	case SCR_EV_CONNECT:
	case SCR_EV_LISTED:
	case SCR_EV_FAIL:
	case SCR_EV_TOO_MANY:
	case SCR_EV_STRESS:
	case SCR_EV_REPLY:
	case SCR_EV_SMUGGLING:
	case SCR_EV_ENVELOPE:
		break;
	default:
		scr_panic("hook_event: event type %d out of range",
			  (int)ev->type);
	}
	if (rte_ring_sp_enqueue_elem(w->ev_ring, (void *)ev, sizeof(*ev)) == 0)
		return;
	/* At shutdown the control thread drains until every worker is done:
	 * wait for room rather than lose the last verdicts. */
	while (atomic_load_explicit(&w->app->stop, memory_order_relaxed)) {
		rte_pause();
		if (rte_ring_sp_enqueue_elem(w->ev_ring, (void *)ev, sizeof(*ev)) == 0)
			return;
	}
	w->st.ev_lost++;
}

/* dp_worker_hooks - the engine hooks of a worker */
void dp_worker_hooks(struct dp_worker *w, struct scr_engine_hooks *h)
{
	*h = (struct scr_engine_hooks){0};	/* hooks added later: none */
	h->arg = w;
	h->client = hook_client;
	h->client_ahead = hook_client_ahead;
	h->event = hook_event;
}

/* frame_key - flow key and TCP numbers of a frame (client -> server
 * orientation); the frame's direction in *from_client */
static int frame_key(const struct dp_worker *w, const struct rte_mbuf *m,
		     struct scr_flow_key *k, struct scr_pkt *pk, bool *from_client)
{
	unsigned i;

	if (scr_decode(SCR_LINK_ETH, rte_pktmbuf_mtod(m, const uint8_t *),
		       rte_pktmbuf_data_len(m), pk) != SCR_DEC_TCP)
		return -EINVAL;
	*from_client = false;
	for (i = 0; i < w->app->nports; i++)
		if (pk->dport == w->app->ports[i])
			*from_client = true;
	memset(k, 0, sizeof(*k));
	k->client = *from_client ? pk->src : pk->dst;
	k->server = *from_client ? pk->dst : pk->src;
	k->client_port = *from_client ? pk->sport : pk->dport;
	k->server_port = *from_client ? pk->dport : pk->sport;
	k->family = pk->family;
	return 0;
}

/* rel_add - frames to give back to the engine after this burst */
static void rel_add(struct dp_worker *w, void **pk, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (w->nrel == DP_REL_MAX) {
			/* Cannot happen with the bounds below; never lose a
			 * frame: forward it unjudged. */
			struct rte_mbuf *m = pk[i];

			tx_put(w, !port_index(w, m->port), m);
			continue;
		}
		w->rel[w->nrel++] = pk[i];
	}
}

/* keep - frame m into hold h (the greeting hold, the envelope waits);
 * what h cannot keep goes to let_go (judged again, or forwarded): the
 * oldest flow's frames when h is full, this flow's when it holds all it
 * may (each counted in *forced), m itself when it is no TCP frame.
 * Returns 0 kept, 1 a retransmission of kept bytes (freed), 2 let go. */
static int keep(struct dp_worker *w, struct dp_hold *h, struct rte_mbuf *m,
		uint64_t now, void (*let_go)(struct dp_worker *, void **, unsigned),
		uint64_t *forced)
{
	void *pk[DP_HOLD_FLOW_MAX + 1];
	struct scr_flow_key k;
	struct scr_pkt p;
	bool from_client;
	unsigned n;
	int rc;

	if (frame_key(w, m, &k, &p, &from_client) != 0) {
		let_go(w, (void **)&m, 1);	/* panic-free */
		return 2;
	}
	rc = dp_hold_add(h, &k, p.seq, p.payload_len, m, now);
	if (rc == -ENOSPC) {
		/* Budget: the oldest hold ends now (let go, not lost). */
		n = dp_hold_release_oldest(h, pk, DP_HOLD_FLOW_MAX);
		*forced += n != 0;
		let_go(w, pk, n);
		rc = dp_hold_add(h, &k, p.seq, p.payload_len, m, now);
	}
	if (rc == 0)
		return 0;
	if (rc == 1) {
		rte_pktmbuf_free(m);
		return 1;
	}
	/* This flow holds all it may: its hold ends now. */
	n = dp_hold_take(h, &k, pk, DP_HOLD_FLOW_MAX);
	pk[n++] = m;
	(*forced)++;
	let_go(w, pk, n);
	return 2;
}

/* do_hold - keep a frame the engine holds (greeting hold) */
static void do_hold(struct dp_worker *w, struct rte_mbuf *m, uint64_t now)
{
	int r = keep(w, w->hold, m, now, rel_add, &w->st.hold_forced);

	w->st.held += r == 0;
	w->st.hold_dup += r == 1;
}

/* send_crafted - one crafted frame out of port index p */
static void send_crafted(struct dp_worker *w, unsigned p,
			 const struct dp_craft_frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->app->mp);
	char *d;

	if (m == NULL) {
		w->st.nombuf++;
		return;
	}
	d = rte_pktmbuf_append(m, f->len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		w->st.craft_err++;
		return;
	}
	memcpy(d, f->data, f->len);
	tx_put(w, p, m);
	w->st.crafted++;
}

/* do_stop - the engine stopped the session at m: RST both ends */
static void do_stop(struct dp_worker *w, struct rte_mbuf *m, unsigned i)
{
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	char reply[DP_CRAFT_REPLY_MAX];
	const char *rp;
	unsigned in = port_index(w, m->port), j;
	struct scr_flow_key k;
	struct scr_pkt p;
	bool from_client;
	int n;

	w->st.stopped++;
	if (frame_key(w, m, &k, &p, &from_client) == 0)
		hold_free(w, &k);
	rp = stop_reply(w, i, &k.client, reply, sizeof(reply));
	n = dp_craft_stop(rte_pktmbuf_mtod(m, const uint8_t *),
			  rte_pktmbuf_data_len(m), w->app->ports, w->app->nports,
			  rp, out);
	if (n < 0)
		w->st.craft_err++;
	for (j = 0; n > 0 && j < (unsigned)n; j++) {
		/* Towards where the frame was going, or back where it came. */
		bool onward = (out[j].dst == DP_CRAFT_TO_SERVER) == from_client;

		send_crafted(w, onward ? !in : in, &out[j]);
	}
	rte_pktmbuf_free(m);
}

/* eng_now - engine time: the TSC time plus the clock steps followed */
static uint64_t eng_now(const struct dp_worker *w, uint64_t mono)
{
	return mono + (uint64_t)w->step_ns;
}

/* clock_follow - the control thread saw the system clock step: the
 * engine's frames carry the new wall time, its own clock goes on */
static void clock_follow(struct dp_worker *w)
{
	int64_t s = __atomic_load_n(&w->app->step_ns, __ATOMIC_RELAXED);

	if (s != w->step_ns) {
		scr_engine_clock_step(w->lw.eng, s - w->step_ns);
		w->step_ns = s;
	}
}

/* env_forward - kept client frames go on, in order */
static void env_forward(struct dp_worker *w, void **pk, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pk[i];

		tx_put(w, !port_index(w, m->port), m);
		w->st.fwd++;
	}
}

/* do_envwait - keep a client frame until its flow's envelope answer
 * (what cannot be kept goes on: counted as a timeout) */
static void do_envwait(struct dp_worker *w, struct rte_mbuf *m, uint64_t now)
{
	w->st.env_waits += keep(w, w->envhold, m, now, env_forward,
				&w->st.env_timeouts) == 0;
}

/* env_answer - the control thread answered a flow's RCPT TO (the engine
 * has it already): its kept frames go on, or under enforce/drop the
 * session stops at the first of them with smtpd's reply to the client */
static void env_answer(struct dp_worker *w, const struct ctl_live_msg *msg)
{
	void *pk[DP_HOLD_FLOW_MAX];
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	struct scr_flow_key k;
	struct scr_pkt p;
	bool from_client;
	unsigned n, in, j;
	struct rte_mbuf *m;
	int c;

	if (msg->outcome != SCR_ACT_ENFORCE && msg->outcome != SCR_ACT_DROP &&
	    (scr_engine_envelope_state(w->lw.eng, &msg->key) & SCR_ENGINE_ENV_WAIT))
		return;		/* another RCPT TO's answer is pending */
	n = dp_hold_take(w->envhold, &msg->key, pk, DP_HOLD_FLOW_MAX);
	if (n == 0)
		return;
	if (msg->outcome != SCR_ACT_ENFORCE && msg->outcome != SCR_ACT_DROP) {
		w->st.env_released += n;
		env_forward(w, pk, n);
		return;
	}
	m = pk[0];
	in = port_index(w, m->port);
	w->st.stopped++;
	w->st.env_stopped += n;
	c = frame_key(w, m, &k, &p, &from_client) != 0 ? -1 :
	    dp_craft_stop(rte_pktmbuf_mtod(m, const uint8_t *),
			  rte_pktmbuf_data_len(m), w->app->ports, w->app->nports,
			  w->app->stop_reply && msg->reply[0] ? msg->reply : NULL, out);
	if (c < 0)
		w->st.craft_err++;
	for (j = 0; c > 0 && j < (unsigned)c; j++)
		send_crafted(w, (out[j].dst == DP_CRAFT_TO_SERVER) ? !in : in, &out[j]);
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pk, n);
}

/* env_due - waits past the policy's envelope_wait_ns (the DNS timeout and
 * a margin) end: their frames go on (a slow answer never rejects mail) */
static void env_due(struct dp_worker *w, uint64_t now)
{
	void *pk[SCR_BURST * 4];
	unsigned n, i;

	if (dp_hold_oldest_ns(w->envhold) == UINT64_MAX)
		return;
	n = dp_hold_due(w->envhold, now, w->lw.setup->pol.envelope_wait_ns, pk,
			SCR_BURST * 4);
	for (i = 0; i < n; i++) {
		struct scr_flow_key k;
		struct scr_pkt p;
		bool from_client;

		if (frame_key(w, pk[i], &k, &p, &from_client) == 0)
			(void)scr_engine_envelope_done(w->lw.eng, &k);
	}
	w->st.env_timeouts += n;
	env_forward(w, pk, n);
}

/* judge - run the engine over n frames and act on each */
static void judge(struct dp_worker *w, struct rte_mbuf **m, unsigned n,
		  uint8_t flags)
{
	struct scr_frame fr[SCR_BURST];
	uint64_t mono = dp_mono_ns(w->app), now = eng_now(w, mono);
	uint8_t hold_ok = (uint8_t)((w->lw.setup->hold_ns ? SCR_FRAME_HOLD_OK : 0) |
				    (w->lw.setup->pol.envelope ? SCR_FRAME_WAIT_OK : 0));
	uint16_t inside = w->app->port[DP_PORT_SERVERS].id;
	unsigned i;

	w->burst_first = w->pkt_no + 1;
	for (i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(m[i], const void *));
	for (i = 0; i < n; i++) {
		fr[i].data = rte_pktmbuf_mtod(m[i], const uint8_t *);
		fr[i].caplen = rte_pktmbuf_data_len(m[i]);
		fr[i].wirelen = rte_pktmbuf_pkt_len(m[i]);
		fr[i].ts_ns = now;
		fr[i].pkt_no = ++w->pkt_no;
		fr[i].link = SCR_LINK_ETH;
		fr[i].flags = (uint8_t)(flags | hold_ok |
					(m[i]->port == inside ? SCR_FRAME_INSIDE : 0));
		w->stop_test[i] = 0xff;
		w->stop_act[i] = 0;
	}
	scr_engine_burst(w->lw.eng, fr, n);
	for (i = 0; i < n; i++) {
		switch ((enum scr_pkt_action)fr[i].action) {
		case SCR_PKT_PASS:
			tx_put(w, !port_index(w, m[i]->port), m[i]);
			w->st.fwd++;
			break;
		case SCR_PKT_DROP:
			w->st.dropped++;
			rte_pktmbuf_free(m[i]);
			break;
		case SCR_PKT_STOP:
			do_stop(w, m[i], i);
			break;
		case SCR_PKT_HOLD:
			do_hold(w, m[i], mono);
			break;
		case SCR_PKT_WAIT:
			do_envwait(w, m[i], mono);
			break;
		default:
			scr_panic("judge: frame %u action %u out of range", i,
				  (unsigned)fr[i].action);
		}
	}
}

/* judge_released - give the released frames back to the engine */
static void judge_released(struct dp_worker *w)
{
	unsigned done = 0;

	/* judge() may add more (a forced release): loop until empty. */
	while (done < w->nrel) {
		unsigned n = w->nrel - done < SCR_BURST ? w->nrel - done : SCR_BURST;

		w->st.released += n;
		judge(w, w->rel + done, n, SCR_FRAME_RELEASED);
		done += n;
	}
	w->nrel = 0;
}

/* sym_hash - the same value for both directions of a TCP connection, from
 * the addresses only: every connection of a client reaches one worker, so
 * its per-client flow count (postscreen_client_connection_count_limit) and
 * its cache entry are whole. Keyed (scr_hash_addr_pair: the ordered pair
 * under the process key), so no client can aim its flows at one worker. */
static uint32_t sym_hash(const struct rte_mbuf *m)
{
	struct scr_pkt p;

	if (scr_decode(SCR_LINK_ETH, rte_pktmbuf_mtod(m, const uint8_t *),
		       rte_pktmbuf_data_len(m), &p) != SCR_DEC_TCP)
		return 0;
	return (uint32_t)scr_hash_addr_pair(&p.src, &p.dst);
}

/* push_pending - hand the frames waiting for other workers to their
 * rings, as far as they take them */
static void push_pending(struct dp_worker *w)
{
	unsigned j;

	for (j = 0; w->pending && j < w->app->nworkers; j++) {
		unsigned n = w->npend[j], sent;

		if (n == 0)
			continue;
		sent = rte_ring_sp_enqueue_burst(w->out[j], (void **)w->pend[j],
						 n, NULL);
		w->st.disp_out += sent;
		if (sent < n) {
			memmove(w->pend[j], w->pend[j] + sent,
				(n - sent) * sizeof(w->pend[j][0]));
			w->st.disp_full++;
		}
		w->npend[j] = (uint16_t)(n - sent);
		w->pending -= sent;
	}
}

/* dispatch - keep this worker's frames in m (compacted), queue the rest
 * for their workers (called only with nothing pending) */
static unsigned dispatch(struct dp_worker *w, struct rte_mbuf **m, unsigned n)
{
	unsigned keep = 0, i;
	unsigned nw = w->app->nworkers;

	for (i = 0; i < n; i++) {
		unsigned o = sym_hash(m[i]) % nw;

		if (o == w->id) {
			m[keep++] = m[i];
			continue;
		}
		w->pend[o][w->npend[o]++] = m[i];
		w->pending++;
	}
	push_pending(w);
	return keep;
}

/* dp_worker_snapshot - publish counters for the control thread */
void dp_worker_snapshot(struct dp_worker *w)
{
	w->st.hold_now = dp_hold_pkts(w->hold);
	dp_snap_write_begin(w);
	w->st_snap = w->st;
	scr_engine_stats(w->lw.eng, &w->eng_snap);
	w->flows_snap = scr_engine_flows_active(w->lw.eng);
	dp_snap_write_end(w);
}

/* pressure_update - this worker's load, for the engine's stress mode: the
 * greeting-hold budget or the event ring 3/4 full (on; off at 1/2), or the
 * control thread behind on its rings */
static void pressure_update(struct dp_worker *w, uint64_t now)
{
	uint64_t hu = dp_hold_pkts(w->hold), hm = dp_hold_max_pkts(w->hold);
	uint64_t ru = rte_ring_count(w->ev_ring);
	uint64_t rm = rte_ring_get_capacity(w->ev_ring);
	bool behind = atomic_load_explicit(&w->ctl_behind, memory_order_relaxed);
	bool on = hu * 4 >= hm * 3 || ru * 4 >= rm * 3 || behind;
	bool off = hu * 2 <= hm && ru * 2 <= rm && !behind;

	if (w->pressure ? !off : on) {
		if (!w->pressure) {
			w->pressure = true;
			scr_engine_set_pressure(w->lw.eng, true, now);
		}
	} else if (w->pressure) {
		w->pressure = false;
		scr_engine_set_pressure(w->lw.eng, false, now);
	}
}

/* hold_now_ns - the hold now: the stress value in stress mode */
static uint64_t hold_now_ns(struct dp_worker *w)
{
	bool stress = scr_engine_stress(w->lw.eng);

	w->st.stress = stress;
	return stress ? w->lw.setup->hold_stress_ns : w->lw.setup->hold_ns;
}

/* release_due - holds that are over go back to the engine */
static void release_due(struct dp_worker *w, uint64_t now)
{
	void *pk[SCR_BURST * 4];
	unsigned n;

	if (dp_hold_oldest_ns(w->hold) == UINT64_MAX)
		return;
	/* A reload that switched the hold off ends every hold at once. */
	n = dp_hold_due(w->hold, now, hold_now_ns(w), pk, SCR_BURST * 4);
	if (n == 0 && dp_hold_oldest_ns(w->hold) != UINT64_MAX &&
	    w->lw.setup->hold_ns == 0)
		n = dp_hold_release_oldest(w->hold, pk, SCR_BURST * 4);
	if (n) {
		rel_add(w, pk, n);
		judge_released(w);
	}
}

/* take_inbound - judge what the other workers dispatched here */
static unsigned take_inbound(struct dp_worker *w)
{
	struct rte_mbuf *m[SCR_BURST];
	unsigned j, n, total = 0;

	for (j = 0; j < w->app->nworkers; j++) {
		if (j == w->id)
			continue;
		n = rte_ring_sc_dequeue_burst(w->in[j], (void **)m, SCR_BURST, NULL);
		if (n == 0)
			continue;
		total += n;
		w->st.disp_in += n;
		judge(w, m, n, 0);
		judge_released(w);
	}
	return total;
}

/* drain - at stop: dispatched frames reach their workers, every held
 * frame goes, every flow ends */
static void drain(struct dp_worker *w)
{
	struct dp_app *a = w->app;
	void *pk[DP_HOLD_FLOW_MAX];
	unsigned n, p;

	if (a->sw_dispatch) {
		while (w->pending) {
			push_pending(w);
			(void)take_inbound(w);
		}
		atomic_fetch_add(&a->flushed, 1);
		while (atomic_load(&a->flushed) < a->nworkers || take_inbound(w) > 0)
			(void)take_inbound(w);
	}

	while ((n = dp_hold_release_oldest(w->envhold, pk, DP_HOLD_FLOW_MAX)) > 0)
		env_forward(w, pk, n);
	while ((n = dp_hold_release_oldest(w->hold, pk, DP_HOLD_FLOW_MAX)) > 0) {
		rel_add(w, pk, n);
		if (w->nrel > DP_REL_MAX - DP_HOLD_FLOW_MAX)
			judge_released(w);
	}
	judge_released(w);
	scr_engine_flush(w->lw.eng, eng_now(w, dp_mono_ns(w->app)));
	for (p = 0; p < DP_NPORTS; p++)
		tx_flush(w, p);
}

/* dp_worker_main - the worker loop */
int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_app *a = w->app;
	struct rte_mbuf *m[SCR_BURST];
	struct ctl_live_msg msg;
	uint64_t next_snap = 0, next_expire = 0;
	unsigned i, p, n;

	while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		uint64_t now, t0 = dp_mono_ns(a);
		bool busy = false;

		clock_follow(w);
		while (rte_ring_sc_dequeue_elem(w->msg_ring, &msg, sizeof(msg)) == 0) {
			ctl_live_worker_apply(&w->lw, &msg, eng_now(w, t0));
			if (msg.type == CTL_LIVE_MSG_ENVELOPE)
				env_answer(w, &msg);
		}
		if (w->nrel)
			judge_released(w);	/* a late PASS OLD's greeting */
		if (w->pending)
			push_pending(w);
		for (i = 0; i < w->nrxq && !w->pending; i++) {
			n = rte_eth_rx_burst(a->port[w->rxq[i].port].id,
					     w->rxq[i].queue, m, SCR_BURST);
			if (n == 0)
				continue;
			busy = true;
			w->st.rx += n;
			if (a->sw_dispatch)
				n = dispatch(w, m, n);
			if (n)
				judge(w, m, n, 0);
			judge_released(w);
		}
		if (a->sw_dispatch && take_inbound(w) > 0)
			busy = true;
		now = dp_mono_ns(a);
		pressure_update(w, eng_now(w, now));
		release_due(w, now);
		env_due(w, now);
		for (p = 0; p < DP_NPORTS; p++)
			tx_flush(w, p);
		if (now >= next_expire && !busy) {
			scr_engine_expire(w->lw.eng, eng_now(w, now));
			next_expire = now + W_EXPIRE_NS;
		}
		if (now >= next_snap) {
			w->st.turn_max_ns = dp_turn_max(&w->turn, now);
			dp_worker_snapshot(w);
			next_snap = now + W_SNAP_NS;
		}
		dp_turn_add(&w->turn, t0, dp_mono_ns(a));
	}
	drain(w);
	dp_worker_snapshot(w);
	atomic_store_explicit(&w->done, 1, memory_order_release);
	return 0;
}
