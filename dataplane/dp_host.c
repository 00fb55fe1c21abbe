/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_host - `smtpscreen host`: the packet thread and start/stop
 * DESCRIPTION
 *	See dp_host.h. Time: the engine runs on CLOCK_REALTIME ns derived
 *	from the samples' CLOCK_MONOTONIC stamps plus an offset taken at
 *	start, so log lines carry wall-clock times and the cache and store
 *	use Unix seconds; the greet hold runs on CLOCK_MONOTONIC like the
 *	kernel's fail-open.
 *	Greet hold: a HELD sample (the server's first payload) is kept in a
 *	frame slot, indexed by dp_hold (a FIFO: holds share one duration, so
 *	the oldest is the next one due; a hash finds a flow's hold when its
 *	session ends). At its due time the packet thread marks it released
 *	in the flow map, fixes the TCP checksum (TC saw it before checksum
 *	offload), re-sends it with the resend mark, and only then feeds it
 *	to the engine, so a client that spoke during the hold is a
 *	pregreeter. A flow whose client turns out to be on a pass cache
 *	(PASS OLD from the control plane) gets its greeting at once.
 *	Stopping: the packet thread ends a session itself (socket destroy,
 *	then flow map STOP: the RST must leave before TC drops the flow's
 *	packets), so the 354 hold sees the STOP of a session it judged; the
 *	control plane blocks the client (cache, stores, XDP).
 *	Stress: flows in their tests plus held greetings against
 *	postscreen_pre_queue_limit: on at 90 %, off at 70 % (postscreen's
 *	marks); under stress the hold is the stress value of
 *	postscreen_greet_wait. An event ring 3/4 full counts as pressure too
 *	(off at 1/2).
 * THREADING
 *	See dp_host.h. The packet thread owns the engine, its verdict cache
 *	copy, the holds and the resend socket; it publishes its counters
 *	under a sequence count once a second and before it wakes the control
 *	thread for new events.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ctl_hostbpf.h"
#include "ctl_kill.h"
#include "ctl_live.h"
#include "ctl_msg.h"
#include "ctl_maps.h"
#include "ctl_resend.h"
#include "ctl_setup.h"
#include "dp_craft.h"
#include "dp_hold.h"
#include "dp_host.h"
#include "dp_ring.h"
#include "dp_seat.h"
#include "dp_turn.h"
#include "scr_decode.h"
#include "scr_engine.h"

#define HOST_HELD_MAX	65536		/* greetings held at once */
#define HOST_ENV_MAX	16384		/* sessions whose 354 (or reject) waits for
					 * an envelope answer; more: it goes on.
					 * Untouched pages until used (calloc). */
#define HOST_EV_RING	65536		/* events to the control thread */
#define HOST_MSG_RING	16384		/* messages from it */
#define HOST_PUBLISH_NS	1000000000ull	/* counters published (and with every batch
					 * of events) */
#define HOST_POLL_MS	1000		/* a packet thread with flows wakes once a second */
#define HOST_IDLE_MS	10000		/* ... without flows or holds: every 10 s, the
					 * window of dp_turn's gauges; a sample wakes it */
#define HOST_TICK_MS	250		/* ... every 250 ms while flows are undecided:
					 * their samples, and new flows' first ones,
					 * wake no one (sample_lazy) until the ring is
					 * an eighth full; held replies do */
#define HOST_EV_BATCH_NS 250000000ull	/* events that are not urgent wake the
					 * control thread in batches, 250 ms at most */
#define HOST_DATA_HOLD_NS 1000000000ull	/* fail-open deadline of a held 354
					 * (after envelope_wait_ns with the
					 * envelope checks: env_due) */

static atomic_int host_stop;

/* A held frame: a greeting, or a 354 waiting for an envelope answer; or
 * (reply) no frame but the reply line of a rejected RCPT TO, in data,
 * waiting for the session's 354. */
struct host_frame {
	struct scr_flow_key key;
	uint32_t wirelen;
	uint16_t caplen;
	bool trunc;
	bool reply;
	unsigned next;			/* free list: index + 1 */
	uint8_t data[SCR_HOST_SAMPLE_MAX];
};

/* The packet thread's counters. */
struct host_stats {
	uint64_t samples, held, resent, resend_err, held_full, killed;
	uint64_t kill_err, stopped, data_stopped, released_early;
	uint64_t ev_lost, map_err, msgs, handshakes, syn_dropped, client_rst;
	uint64_t clock_steps;		/* steps of the system clock followed */
	uint64_t seat_pregreet;		/* pregreet stops left to the seat */
	uint64_t held_now;		/* at the snapshot */
	uint64_t turn_max_ns;		/* longest turn of the last 10-20 s */
	uint64_t late_max_ns;		/* greeting released latest after due */
	/* the kernel's smuggling guard (the engine's counters for it) */
	uint64_t smug, smug_cmds, smug_stopped;
	/* envelope checks: 354s kept for an answer, let go after it, replaced
	 * by smtpd's reject reply (or the session stopped without a 354),
	 * let go at envelope_wait_ns */
	uint64_t env_waits, env_released, env_stopped, env_timeouts;
	/* 354s kept for the client's DNSBL answer, let go after it */
	uint64_t dnsbl_waits, dnsbl_released;
};

struct host {
	/* options */
	const char *ifname;
	const char *conf_path;
	const char *sock_path;
	const char *log_file;
	int xdp_mode;
	bool keep;
	/* shared, set before the packet thread starts */
	struct ctl_live *live;
	struct ctl_setup *setup;	/* live's, its access list read in kernel_open */
	bool conf_error;		/* the access list failed: exit 2 */
	struct ctl_hostbpf *hb;
	struct ctl_kill *kill;
	bool kill_ok;
	struct ctl_resend *rs;
	int64_t wall_off_ns;		/* realtime - monotonic */
	struct dp_ring *ev_ring;	/* packet thread -> control */
	struct dp_ring *msg_ring;	/* control -> packet thread */
	int ev_fd;			/* eventfd: events wait */
	int msg_fd;			/* eventfd: messages wait */
	pthread_t pt;
	bool pt_started;
	atomic_int pt_stop;
	atomic_int pt_failed;		/* the ring buffer failed: -errno */
	/* packet thread */
	struct ctl_live_worker lw;
	struct dp_hold *hold;
	struct dp_hold *envhold;	/* 354s and rejects of envelope checks */
	bool env_stopping;		/* applying a reject: env_answer stops */
	struct host_frame *frames;
	unsigned ffree;			/* freed frames: index + 1, via next */
	unsigned ffresh;		/* frames [ffresh, HOST_HELD_MAX) never used:
					 * their pages are not touched at start */
	uint64_t pkt_no;
	bool pq_high;
	bool ev_pushed;
	bool ev_urgent;			/* one of them should not wait */
	bool ticking;			/* polling the ring every HOST_TICK_MS */
	uint64_t ev_since;		/* the batch's first, mono ns; 0: none */
	bool hs_hold;			/* handshake hold on (set at open) */
	bool hs_ending;			/* feeding a pregreeter's RST (hs_reset) */
	/* postscreen's reply to a client that talks first (pregreet action,
	 * "" with smtpscreen_stop_reply = no): hs_answer and the seat */
	char pregreet_reply[DP_CRAFT_REPLY_MAX];
	bool stop_reply;		/* smtpscreen_stop_reply: envelope rejects
					 * send smtpd's reply line (env_reject) */
	/* smtpscreen_host_hold = seat: postscreen's seat on its own thread */
	struct dp_seat *seat;
	pthread_t seat_t;
	bool seat_started;
	atomic_int seat_stop;
	int seat_wake;			/* eventfd: stop the seat's loop */
	_Atomic uint64_t seat_wait;	/* the greet wait now (stress) */
	bool seat_steer;		/* the seat is not on an SMTP port: sk_lookup */
	uint64_t hs_wait;		/* its wait as last written */
	bool smug_on;			/* the kernel guard's setting as written */
	uint8_t smug_act;
	bool smug_written;
	struct dp_turn turn;
	struct dp_turn late;
	struct host_stats st;
	/* control thread: the kernel's overload signs */
	bool ov_on;
	uint64_t ov_last, ov_next_ns, ov_since_ns, ov_first, ov_episodes;
	uint64_t ov_samples;		/* samples at the last look */
	/* published by the packet thread */
	atomic_uint snap_seq;
	struct host_stats st_snap;
	struct scr_stats eng_snap;
	uint64_t flows_snap, undecided_snap;
};

/* mono_ns - CLOCK_MONOTONIC (the clock of bpf_ktime_get_ns) */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* eng_ns - engine time (wall clock) of a monotonic stamp */
static uint64_t eng_ns(const struct host *h, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + h->wall_off_ns);
}

/* ---- packet thread ---- */

/* clock_check - the system clock stepped (NTP, date -s): engine time,
 * log lines and cache expiries follow the wall clock from now on; the
 * engine's own clock goes on without a jump, so no flow times out early
 * or late (scr_engine_clock_step) */
static void clock_check(struct host *h, uint64_t now_mono)
{
	int64_t off = (int64_t)(ctl_live_now_ns() - now_mono);
	int64_t d = off - h->wall_off_ns;

	if (d > -SCR_CLOCK_STEP_MIN_NS && d < SCR_CLOCK_STEP_MIN_NS)
		return;
	h->wall_off_ns = off;
	scr_engine_clock_step(h->lw.eng, d);
	h->st.clock_steps++;
	ctl_msg_warn("the system clock stepped by %+.3f s; timeouts keep "
		     "their course, log times and cache expiries follow the "
		     "new time", (double)d / 1e9);
}

/* feed - one frame into the engine; what it says to do with the frame */
static enum scr_pkt_action feed(struct host *h, const uint8_t *data,
				uint32_t caplen, uint32_t wirelen,
				uint64_t ts_mono)
{
	struct scr_frame fr;

	fr.data = data;
	fr.caplen = caplen;
	fr.wirelen = wirelen;
	fr.ts_ns = eng_ns(h, ts_mono);
	fr.pkt_no = ++h->pkt_no;
	fr.link = SCR_LINK_ETH;
	/* envelope checks: the engine notes the RCPT TOs to be answered
	 * (the frames went to smtpd already: SCR_PKT_WAIT is not acted on;
	 * the session's 354 waits instead, env_data) */
	fr.flags = h->lw.setup->pol.envelope ? SCR_FRAME_WAIT_OK : 0;
	fr.action = SCR_PKT_PASS;
	scr_engine_burst(h->lw.eng, &fr, 1);
	return (enum scr_pkt_action)fr.action;
}

/* resend - a held frame back onto the wire (checksum fixed) */
static void resend(struct host *h, uint8_t *frame, uint32_t caplen, bool trunc)
{
	if (!trunc && ctl_resend_fix_csum(frame, caplen) == 0 &&
	    ctl_resend_send(h->rs, frame, caplen) == 0)
		h->st.resent++;
	else
		h->st.resend_err++;	/* the kernel's retransmission goes */
}

/* due_ms - ms until a hold that started at oldest (UINT64_MAX: none) and
 * lasts hold_ns is due, at most HOST_POLL_MS */
static int due_ms(uint64_t oldest, uint64_t hold_ns, uint64_t now)
{
	if (oldest == UINT64_MAX)
		return HOST_POLL_MS;
	if (oldest + hold_ns <= now)
		return 0;
	oldest = (oldest + hold_ns - now) / 1000000u + 1;
	return oldest < HOST_POLL_MS ? (int)oldest : HOST_POLL_MS;
}

/* frame_get - a free held-frame slot, NULL when all are taken */
static struct host_frame *frame_get(struct host *h)
{
	struct host_frame *f;

	if (h->ffree) {
		f = &h->frames[h->ffree - 1];
		h->ffree = f->next;
	} else if (h->ffresh < HOST_HELD_MAX) {
		f = &h->frames[h->ffresh++];
	} else {
		return NULL;
	}
	f->reply = false;
	return f;
}

/* frame_fill - slot f holds sample s (caplen bytes) of flow k */
static void frame_fill(struct host_frame *f, const struct scr_flow_key *k,
		       const struct scr_host_sample *s, uint32_t caplen)
{
	f->key = *k;
	f->caplen = (uint16_t)caplen;
	f->wirelen = s->wirelen;
	f->trunc = (s->flags & SCR_HOST_SF_TRUNC) != 0;
	memcpy(f->data, s->data, caplen);
}

/* frame_put - a held frame's slot back on the free list */
static void frame_put(struct host *h, struct host_frame *f)
{
	f->next = h->ffree;
	h->ffree = (unsigned)(f - h->frames) + 1;
}

/* release - the hold of one frame is over: flow map, re-send, engine */
static void release(struct host *h, struct host_frame *f, uint64_t now)
{
	int rc = ctl_hostbpf_release(h->hb, &f->key);

	if (rc != -ENOENT) {		/* -ENOENT: flow gone (evicted, closed) */
		resend(h, f->data, f->caplen, f->trunc);
		feed(h, f->data, f->caplen, f->wirelen, now);
	}
	frame_put(h, f);
}

/* held_drop - forget a held greeting of a flow (stopped or ended) */
static void held_drop(struct host *h, const struct scr_flow_key *k)
{
	void *p[DP_HOLD_FLOW_MAX];
	unsigned n = dp_hold_take(h->hold, k, p, DP_HOLD_FLOW_MAX), i;

	for (i = 0; i < n; i++)
		frame_put(h, p[i]);
}

/* held_now - a flow's greeting goes at once (its client passed) */
static void held_now(struct host *h, const struct scr_flow_key *k)
{
	void *p[DP_HOLD_FLOW_MAX];
	unsigned n = dp_hold_take(h->hold, k, p, DP_HOLD_FLOW_MAX), i;

	for (i = 0; i < n; i++) {
		struct host_frame *f = p[i];

		h->st.released_early++;
		if (ctl_hostbpf_release(h->hb, &f->key) != -ENOENT)
			resend(h, f->data, f->caplen, f->trunc);
		frame_put(h, f);
	}
}

static void env_drop(struct host *h, const struct scr_flow_key *k);

/* stopped_already - this worker's cache blocks the client */
static bool stopped_already(struct host *h, const struct scr_event *ev)
{
	uint64_t t = ev->ts_ns / 1000000000u;
	struct ctl_cache_entry e;

	return ctl_cache_get(h->lw.cache, &ev->key.client, t, &e) == 0 &&
	       e.block_until > t;
}

/* stop_session - end a failed client's session: RST through the socket
 * destroy first (the TC program drops the flow's packets once it is
 * STOP), then STOP */
static void stop_session(struct host *h, const struct scr_flow_key *k)
{
	int rc;

	held_drop(h, k);
	env_drop(h, k);
	if (h->kill_ok) {
		rc = ctl_kill_session(h->kill, k);
		if (rc == 0)
			h->st.killed++;
		else if (rc != -ENOENT)
			h->st.kill_err++;
	}
	if (ctl_hostbpf_flow_set(h->hb, k, SCR_HOST_FS_STOP) != 0)
		h->st.map_err++;
	h->st.stopped++;
}

/* hook_client - the engine asks about a new flow's client */
static void hook_client(void *arg, const struct scr_flow_key *key,
			uint64_t now_ns, struct scr_client_info *out)
{
	struct host *h = arg;

	ctl_live_worker_client(&h->lw, key, now_ns, out);
}

/* hook_client_ahead - a client SYN is coming: load its cache slot */
static void hook_client_ahead(void *arg, const struct scr_addr *client,
			      unsigned step)
{
	struct host *h = arg;

	ctl_live_worker_client_ahead(&h->lw, client, step);
}

/* hook_event - the packet thread's effects, then the event to control */
static void hook_event(void *arg, const struct scr_event *ev)
{
	struct host *h = arg;
	const struct scr_policy *pol = &h->lw.setup->pol;
	bool blocked;

	switch (ev->type) {
	case SCR_EV_TOO_MANY:
		/* over postscreen_client_connection_count_limit: the SYN
		 * already reached the kernel; end that connection (no block) */
		if (h->kill_ok && ctl_kill_session(h->kill, &ev->key) == 0)
			h->st.killed++;
		break;
	case SCR_EV_FAIL:
		/* enforce: the engine would stop the session at DATA, but the
		 * kernel passes that DATA to smtpd before user space sees its
		 * sample, so host mode stops the session at the failure; the
		 * verdict is the same. */
		/* a reply ban: the control plane blocked the client before
		 * it told this thread (the cache entry came first), so the
		 * session is stopped here, at once, under drop and enforce
		 * alike (enforce's DATA would reach smtpd before its sample) */
		if (ev->test == SCR_TEST_REPLY_BAN) {
			if (ev->action != SCR_ACT_IGNORE)
				stop_session(h, &ev->key);
			break;
		}
		/* a DNSBL listing under drop: the engine stops the session
		 * at its next frame, but a client whose 354 waits for this
		 * answer (dnsbl_keep) sends none: stopped here as well */
		if ((ev->action == SCR_ACT_ENFORCE ||
		     (ev->test == SCR_TEST_DNSBL && ev->action == SCR_ACT_DROP)) &&
		    !stopped_already(h, ev)) {
			stop_session(h, &ev->key);
			ctl_cache_block(h->lw.cache, &ev->key.client,
					ev->ts_ns / 1000000000u, pol->block_ttl_s,
					ev->reasons);
		}
		break;
	case SCR_EV_VERDICT:
		blocked = stopped_already(h, ev);
		ctl_cache_verdict(h->lw.cache, ev, pol);
		/* An envelope reject is stopped by env_answer, with smtpd's
		 * reply in place of the session's 354 (or without a 354 once
		 * the wait is over): a stop here would race that 354. */
		if (h->env_stopping || ((ev->reasons & SCR_REASON_ENVELOPE) &&
					pol->envelope && ev->stop_pkt))
			break;
		if (h->seat && ev->stop_pkt && !blocked &&
		    ev->reasons == SCR_TEST_BIT(SCR_TEST_PREGREET)) {
			/* In postscreen's seat a client that talks first is
			 * the seat's: it answers postscreen's 521 and closes,
			 * and smtpd never sees the connection. A socket
			 * destroy or a STOP here would race that reply. */
			h->st.seat_pregreet++;
			break;
		}
		if (ev->stop_pkt || (ev->verdict == SCR_V_FAIL && blocked)) {
			if (!(ev->reasons & SCR_TEST_BIT(SCR_TEST_REPLY_BAN)) ||
			    pol->action[SCR_TEST_REPLY_BAN] == SCR_ACT_IGNORE)
				stop_session(h, &ev->key);	/* else stopped at the ban */
			break;
		}
		/* Decided (pass, allow-listed, ignored failures, unknown): no
		 * more samples for this flow (with envelope checks, once its
		 * envelope is read: flow_pass); a passed client's held
		 * greeting goes now. */
		if (!(scr_engine_envelope_state(h->lw.eng, &ev->key) &
		      (SCR_ENGINE_ENV_READ | SCR_ENGINE_ENV_WAIT)) &&
		    !scr_engine_dnsbl_pending(h->lw.eng, &ev->key) &&
		    ctl_hostbpf_flow_set(h->hb, &ev->key, SCR_HOST_FS_PASS) != 0)
			h->st.map_err++;
		if (ev->verdict == SCR_V_PASS || ev->verdict == SCR_V_ALLOWLISTED)
			held_now(h, &ev->key);
		break;
	case SCR_EV_END:
		held_drop(h, &ev->key);
		env_drop(h, &ev->key);
		/* A pregreeter the handshake hold stopped keeps its STOP
		 * entry: the kernel answers its retransmissions with a RST
		 * (smtpscreen_abi.h); the LRU map forgets it later. */
		if (!h->hs_ending)
			(void)ctl_hostbpf_flow_del(h->hb, &ev->key);
		break;
	case SCR_EV_CONNECT:
	case SCR_EV_LISTED:
	case SCR_EV_STRESS:
	case SCR_EV_REPLY:
	case SCR_EV_SMUGGLING:
	case SCR_EV_ENVELOPE:	/* answered by the control thread: env_answer */
		break;
	default:
		ctl_msg_panic("event type %d out of "
			"range", (int)ev->type);
	}
	if (dp_ring_enqueue(h->ev_ring, ev) != 0) {
		h->st.ev_lost++;
		return;
	}
	h->ev_pushed = true;
	if (ctl_live_event_urgent(h->live, ev))
		h->ev_urgent = true;
}

/* smug_found - the kernel's smuggling guard reports a client segment
 * (syn_ns: SCR_HOST_SMUG_INFO; the segment was dropped and the flow
 * stopped in the kernel when it stops the session): the events the
 * engine's guard gives (SMUGGLING; a FAIL verdict amended with reason
 * smuggling), and a stopped session ends as host mode's stops do (socket
 * destroy: smtpd drops the unfinished message with the connection) */
static void smug_found(struct host *h, const struct scr_host_sample *s,
		       uint32_t caplen)
{
	const struct scr_policy *pol = &h->lw.setup->pol;
	uint32_t r = SCR_HOST_SMUG_INFO_R(s->syn_ns);
	uint32_t off = SCR_HOST_SMUG_INFO_OFF(s->syn_ns);
	struct scr_event ev;
	struct scr_pkt pk;

	if (scr_decode(SCR_LINK_ETH, s->data, caplen, &pk) != SCR_DEC_TCP)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.key.client = pk.src;
	ev.key.server = pk.dst;
	ev.key.client_port = pk.sport;
	ev.key.server_port = pk.dport;
	ev.key.family = pk.family;
	ev.ts_ns = eng_ns(h, s->ts_ns);
	ev.pkt_no = ++h->pkt_no;
	if (r & (SCR_HOST_SMUG_R_SEQ | SCR_HOST_SMUG_R_WEAK)) {
		ev.type = SCR_EV_SMUGGLING;
		ev.action = (enum scr_action)pol->smuggling_action;
		ev.count = (r & SCR_HOST_SMUG_R_STRONG) != 0;
		snprintf(ev.after, sizeof(ev.after), "DATA");
		if (off < caplen) {
			ev.text_len = (uint16_t)(caplen - off < SCR_EV_TEXT_MAX ?
						 caplen - off : SCR_EV_TEXT_MAX);
			memcpy(ev.text, s->data + off, ev.text_len);
		}
		if (r & SCR_HOST_SMUG_R_FIRST)
			h->st.smug++;
		if (ev.count)
			h->st.smug_cmds++;
		hook_event(h, &ev);
	}
	if (!SCR_HOST_SMUG_INFO_STOP(s->syn_ns))
		return;
	h->st.smug_stopped++;
	ev.type = SCR_EV_VERDICT;
	ev.action = SCR_ACT_IGNORE;
	ev.count = 0;
	ev.after[0] = '\0';
	ev.text_len = 0;
	ev.verdict = SCR_V_FAIL;
	ev.reasons = (scr_reasons)SCR_REASON_SMUGGLING;
	ev.amend = true;
	ev.stop_pkt = ev.pkt_no;
	hook_event(h, &ev);		/* socket destroy, flow STOP, events */
}

/* smug_sync - the kernel guard follows the policy (start, reloads) */
static void smug_sync(struct host *h)
{
	const struct scr_policy *pol = &h->lw.setup->pol;

	if (h->smug_written && h->smug_on == pol->smuggling_enable &&
	    h->smug_act == pol->smuggling_action)
		return;
	if (ctl_hostbpf_smug_conf(h->hb, pol->smuggling_enable,
				  (enum scr_action)pol->smuggling_action) != 0) {
		h->st.map_err++;
		return;
	}
	h->smug_on = pol->smuggling_enable;
	h->smug_act = pol->smuggling_action;
	h->smug_written = true;
}

/* sample_key - the flow key and TCP numbers of a server -> client sample */
static int sample_key(const struct scr_host_sample *s, struct scr_flow_key *k,
		      struct scr_pkt *pk)
{
	if (scr_decode(SCR_LINK_ETH, s->data, s->caplen, pk) != SCR_DEC_TCP)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->client = pk->dst;
	k->server = pk->src;
	k->client_port = pk->dport;
	k->server_port = pk->sport;
	k->family = pk->family;
	return 0;
}

/* hold - keep a held greeting until its due time; with no room, let it
 * go now (the pregreet wait is lost for this client, never the session) */
static void hold(struct host *h, const struct scr_host_sample *s, uint32_t caplen)
{
	struct host_frame *f;
	struct scr_flow_key k;
	struct scr_pkt pk;
	int rc = -ENOSPC;

	if (sample_key(s, &k, &pk) != 0)
		return;
	if ((f = frame_get(h)) != NULL) {
		frame_fill(f, &k, s, caplen);
		rc = dp_hold_add(h->hold, &k, pk.seq, pk.payload_len, f, s->ts_ns);
		if (rc == 0) {
			h->st.held++;
			return;
		}
		frame_put(h, f);
		if (rc == 1)
			return;		/* a copy of bytes held already */
	}
	h->st.held_full++;
	(void)ctl_hostbpf_release(h->hb, &k);
	if (!(s->flags & SCR_HOST_SF_TRUNC)) {
		uint8_t b[SCR_HOST_SAMPLE_MAX];

		memcpy(b, s->data, caplen);
		resend(h, b, caplen, false);
	}
	feed(h, s->data, caplen, s->wirelen, s->ts_ns);
}

/* rst_client - a RST to the client from a frame of the session,
 * after the reply line if any: the frames dp_craft_stop makes for the
 * client end, sent through the resend socket */
static void rst_client(struct host *h, const uint8_t *frame, uint32_t caplen,
		       const char *reply)
{
	const struct scr_policy *pol = &h->lw.setup->pol;
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	int n, i;

	n = dp_craft_stop(frame, caplen, pol->ports, pol->nports, reply, out);
	for (i = 0; i < n; i++) {
		if (out[i].dst != DP_CRAFT_TO_CLIENT)
			continue;
		if (ctl_resend_send(h->rs, out[i].data, out[i].len) == 0)
			h->st.client_rst++;
		else
			h->st.resend_err++;
	}
}

/* ---- envelope checks (smtpscreen_*_restrictions) ----
 * A host cannot keep the client's RCPT TO from smtpd, but the TC program
 * holds smtpd's 354 (the data hold), and a client gets no message body to
 * smtpd before it: a 354 that comes while a RCPT TO's answer is pending
 * waits here for that answer (env_data), at most envelope_wait_ns (the
 * DNS timeout and a margin; the kernel's deadline is a second later, then
 * smtpscreen_overload_policy decides). Not rejected, it goes on; rejected
 * under enforce or drop, the client gets smtpd's reply line in its place
 * and a RST, and the socket is destroyed (env_answer). A reject that
 * comes before the 354 is kept (its reply line) until the 354 comes, or
 * the session is stopped without it when the wait is over. */

/* env_drop - forget what a flow keeps here (stopped or ended); a 354 is
 * not sent: the client gets a RST at its place (as data_hold does) */
static void env_drop(struct host *h, const struct scr_flow_key *k)
{
	void *p[DP_HOLD_FLOW_MAX];
	unsigned n = dp_hold_take(h->envhold, k, p, DP_HOLD_FLOW_MAX), i;

	for (i = 0; i < n; i++) {
		struct host_frame *f = p[i];

		if (!f->reply && !f->trunc) {
			h->st.data_stopped++;
			rst_client(h, f->data, f->caplen, "");
		}
		frame_put(h, f);
	}
}

/* flow_pass - flow k is decided and not stopped, its envelope is read and
 * answered (envelope checks on) and its DNSBL answer is in: the kernel
 * stops sampling it, as it does at a verdict (a flow the kernel stopped,
 * e.g. for smuggling, stays stopped) */
static void flow_pass(struct host *h, const struct scr_flow_key *k)
{
	struct scr_host_flow_val v;
	bool done = h->lw.setup->pol.envelope ?
		scr_engine_envelope_state(h->lw.eng, k) == SCR_ENGINE_ENV_DECIDED :
		scr_engine_flow_decided(h->lw.eng, k);

	if (done && !scr_engine_dnsbl_pending(h->lw.eng, k) &&
	    ctl_hostbpf_flow_get(h->hb, k, &v) == 0 &&
	    v.state == SCR_HOST_FS_SCAN &&
	    ctl_hostbpf_flow_set(h->hb, k, SCR_HOST_FS_PASS) != 0)
		h->st.map_err++;
}

/* env_sampled - a sample fed: a passed flow sampled for its envelope
 * stops being sampled once that is read (STARTTLS, QUIT, ...) */
static void env_sampled(struct host *h, const struct scr_host_sample *s)
{
	struct scr_flow_key k;
	struct scr_pkt pk;

	if (sample_key(s, &k, &pk) == 0)
		flow_pass(h, &k);
}

/* env_release - a kept 354 goes on */
static void env_release(struct host *h, struct host_frame *f)
{
	if (ctl_hostbpf_release_data(h->hb, &f->key) != -ENOENT)
		resend(h, f->data, f->caplen, f->trunc);
}

/* env_reject - smtpd's reply line to the rejected RCPT TO goes to the
 * client in place of its 354 (frame; NULL: no 354 came), then a RST; the
 * socket is destroyed (smtpd: ECONNABORTED, nothing delivered) */
static void env_reject(struct host *h, const struct scr_flow_key *k,
		       const uint8_t *frame, uint32_t caplen, const char *reply)
{
	if (frame != NULL)
		rst_client(h, frame, caplen, h->stop_reply ? reply : "");
	stop_session(h, k);
	h->st.env_stopped++;
}

/* keep_354 - a 354 of flow k (sample s) waits in envhold for an answer;
 * false when there is no room (it goes on) */
static bool keep_354(struct host *h, const struct scr_host_sample *s,
		     uint32_t caplen, const struct scr_flow_key *k,
		     const struct scr_pkt *pk)
{
	struct host_frame *f = frame_get(h);

	if (f == NULL)
		return false;
	frame_fill(f, k, s, caplen);
	if (dp_hold_add(h->envhold, k, pk->seq, pk->payload_len, f,
			mono_ns()) != 0) {
		frame_put(h, f);
		return false;
	}
	return true;
}

/* env_data - a 354 of flow k (sample s) with envelope checks on: a reject
 * kept for it goes in its place; a pending answer keeps it (stopped: the
 * session was stopped already). true when done with it here. */
static bool env_data(struct host *h, const struct scr_host_sample *s,
		     uint32_t caplen, const struct scr_flow_key *k,
		     const struct scr_pkt *pk, bool stopped)
{
	void *p[DP_HOLD_FLOW_MAX];
	struct host_frame *f, *rej = NULL;
	unsigned n = dp_hold_take(h->envhold, k, p, DP_HOLD_FLOW_MAX), i;

	for (i = 0; i < n; i++) {
		f = p[i];
		if (f->reply && rej == NULL)
			rej = f;
		else
			frame_put(h, f);
	}
	if (rej != NULL) {
		env_reject(h, k, (s->flags & SCR_HOST_SF_TRUNC) ? NULL : s->data,
			   caplen, (const char *)rej->data);
		frame_put(h, rej);
		return true;
	}
	if (stopped ||
	    !(scr_engine_envelope_state(h->lw.eng, k) & SCR_ENGINE_ENV_WAIT) ||
	    !keep_354(h, s, caplen, k, pk))
		return false;		/* answered, or no room: it goes on */
	h->st.env_waits++;
	return true;
}

/* env_answer - the control thread's answer to a RCPT TO of m->key (the
 * engine has it already): a 354 kept for it goes on once no other answer
 * is pending; a reject under enforce or drop (or one kept from an earlier
 * RCPT TO) puts smtpd's reply in its place, or waits for it when it has
 * not come yet */
static void env_answer(struct host *h, const struct ctl_live_msg *m)
{
	bool stop = m->outcome == SCR_ACT_ENFORCE || m->outcome == SCR_ACT_DROP;
	bool wait = m->outcome != SCR_ACT_DROP;
	char reply[CTL_LIVE_REPLY_MAX];
	void *p[DP_HOLD_FLOW_MAX];
	struct host_frame *f, *data = NULL;
	unsigned n, i;

	if (!stop && ((scr_engine_envelope_state(h->lw.eng, &m->key) &
		       SCR_ENGINE_ENV_WAIT) ||
		      scr_engine_dnsbl_pending(h->lw.eng, &m->key)))
		return;		/* another answer is pending */
	snprintf(reply, sizeof(reply), "%s", stop ? m->reply : "");
	n = dp_hold_take(h->envhold, &m->key, p, DP_HOLD_FLOW_MAX);
	for (i = 0; i < n; i++) {
		f = p[i];
		if (!f->reply && data == NULL) {
			data = f;
			continue;
		}
		if (f->reply && !stop) {
			/* an earlier RCPT TO's reject (enforce) decides */
			stop = true;
			memcpy(reply, f->data, sizeof(reply));	/* a reply, cut */
			reply[sizeof(reply) - 1] = '\0';
		}
		frame_put(h, f);
	}
	if (!stop) {
		if (data != NULL) {
			env_release(h, data);
			frame_put(h, data);
			h->st.env_released++;
		}
		flow_pass(h, &m->key);
		return;
	}
	if (data != NULL) {
		env_reject(h, &m->key, data->trunc ? NULL : data->data,
			   data->caplen, reply);
		frame_put(h, data);
		return;
	}
	/* No 354 yet: the reply waits for it; under drop the block entry
	 * drops the client's DATA, so no 354 would come: stopped now. */
	if (wait && (f = frame_get(h)) != NULL) {
		f->key = m->key;
		f->reply = true;
		f->caplen = 0;
		snprintf((char *)f->data, sizeof(f->data), "%s", reply);
		if (dp_hold_add(h->envhold, &m->key, 0, 0, f, mono_ns()) == 0)
			return;
		frame_put(h, f);
	}
	env_reject(h, &m->key, NULL, 0, reply);
}

/* env_due - kept 354s whose answer did not come in envelope_wait_ns go on
 * (a slow answer never rejects mail); a kept reject whose 354 did not
 * come stops the session without it. ms until the next one is due (at
 * most HOST_POLL_MS). */
static int env_due(struct host *h, uint64_t now)
{
	uint64_t wait = h->lw.setup->pol.envelope_wait_ns;
	void *p[64];
	unsigned n, i;

	do {
		n = dp_hold_due(h->envhold, now, wait, p, 64);
		for (i = 0; i < n; i++) {
			struct host_frame *f = p[i];

			if (f->reply) {
				env_reject(h, &f->key, NULL, 0, "");
			} else {
				(void)scr_engine_envelope_done(h->lw.eng, &f->key);
				env_release(h, f);
				h->st.env_timeouts++;
			}
			frame_put(h, f);
		}
	} while (n == 64);
	return due_ms(dp_hold_oldest_ns(h->envhold), wait, now);
}

/* ---- DNSBL answers in host mode ----
 * The handshake hold keeps a client away from smtpd until the greet wait
 * is over, and only then does the control thread see its CONNECT and ask
 * the DNSBL: a quick client reaches DATA before the answer. Its 354
 * waits here for that answer (scr_engine_dnsbl_pending), in the envelope
 * checks' hold: a listing stops the session (the engine amends its pass;
 * stop_session sends a RST in the 354's place), anything else lets the
 * 354 go. The kernel's deadline for a held 354 bounds the wait (1 s, then
 * smtpscreen_overload_policy). */

/* dnsbl_keep - a 354 of flow k waits for its client's DNSBL answer;
 * false when none is pending (or no room: it goes on) */
static bool dnsbl_keep(struct host *h, const struct scr_host_sample *s,
		       uint32_t caplen, const struct scr_flow_key *k,
		       const struct scr_pkt *pk)
{
	if (!scr_engine_dnsbl_pending(h->lw.eng, k) || !keep_354(h, s, caplen, k, pk))
		return false;
	h->st.dnsbl_waits++;
	return true;
}

/* dnsbl_answer - flow k's DNSBL answer (the engine has it): a 354 kept
 * for it goes on, unless an envelope answer is still to come (then
 * env_answer lets it go); a listing stopped the session already. A reject
 * kept for the 354 stays. */
static void dnsbl_answer(struct host *h, const struct scr_flow_key *k)
{
	void *p[DP_HOLD_FLOW_MAX];
	unsigned n, i;

	if (scr_engine_dnsbl_pending(h->lw.eng, k) ||
	    (scr_engine_envelope_state(h->lw.eng, k) & SCR_ENGINE_ENV_WAIT))
		return;
	n = dp_hold_take(h->envhold, k, p, DP_HOLD_FLOW_MAX);
	for (i = 0; i < n; i++) {
		struct host_frame *f = p[i];

		if (f->reply) {
			if (dp_hold_add(h->envhold, k, 0, 0, f, mono_ns()) == 0)
				continue;
		} else {
			env_release(h, f);
			h->st.dnsbl_released++;
		}
		frame_put(h, f);
	}
	flow_pass(h, k);
}

/* data_hold - the server's 354: the engine has seen every client byte
 * before it (ring order); judge the 354 too, then let it go only if the
 * session still stands */
static void data_hold(struct host *h, const struct scr_host_sample *s,
		      uint32_t caplen)
{
	struct scr_host_flow_val v;
	struct scr_flow_key k;
	struct scr_pkt pk;
	uint8_t b[SCR_HOST_SAMPLE_MAX];
	bool stopped;

	feed(h, s->data, caplen, s->wirelen, s->ts_ns);
	if (sample_key(s, &k, &pk) != 0)
		return;
	stopped = ctl_hostbpf_flow_get(h->hb, &k, &v) != 0 ||
		  v.state == SCR_HOST_FS_STOP;
	if (h->lw.setup->pol.envelope && env_data(h, s, caplen, &k, &pk, stopped))
		return;
	if (!stopped && dnsbl_keep(h, s, caplen, &k, &pk))
		return;
	if (stopped) {
		/* Stopped before the body: no 354. The socket destroy's RST
		 * carries the sequence number after the 354 the client never
		 * got, so the client would take it as out of window (RFC 5961)
		 * and wait: it gets a RST at the 354's own number. */
		h->st.data_stopped++;
		if (!(s->flags & SCR_HOST_SF_TRUNC))
			rst_client(h, s->data, caplen, "");
		return;
	}
	(void)ctl_hostbpf_release_data(h->hb, &k);
	memcpy(b, s->data, caplen);
	resend(h, b, caplen, (s->flags & SCR_HOST_SF_TRUNC) != 0);
	flow_pass(h, &k);
}

/* put16/put32 - big-endian stores */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* synth - an Ethernet frame with no payload for pk's flow (rev: from the
 * server), TCP flags, seq and ack; its length. Checksums are left zero:
 * only the engine reads it. */
static uint32_t synth(uint8_t *f, const struct scr_pkt *pk, bool rev,
		      uint8_t flags, uint32_t seq, uint32_t ack)
{
	const struct scr_addr *src = rev ? &pk->dst : &pk->src;
	const struct scr_addr *dst = rev ? &pk->src : &pk->dst;
	uint8_t *ip = f + 14, *tcp;

	memset(f, 0, 14 + 40 + 20);
	if (pk->family == 4) {
		put16(f + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, 20 + 20);
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src->b + 12, 4);
		memcpy(ip + 16, dst->b + 12, 4);
		tcp = ip + 20;
	} else {
		put16(f + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, 20);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst->b, 16);
		tcp = ip + 40;
	}
	put16(tcp, rev ? pk->dport : pk->sport);
	put16(tcp + 2, rev ? pk->sport : pk->dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	return (uint32_t)(tcp + 20 - f);
}

/* handshake - a flow's SYN and SYN-ACK, rebuilt from the ACK that
 * completed the handshake (the kernel programs only record SYNs), at the
 * SYN's time: with the handshake hold the ACK came after the greet wait,
 * or its data came during it (a pregreet, "after" counted from the SYN) */
static void handshake(struct host *h, const struct scr_host_sample *s,
		      uint32_t caplen)
{
	uint64_t syn_ns = s->syn_ns && s->syn_ns <= s->ts_ns ? s->syn_ns : s->ts_ns;
	uint8_t f[14 + 40 + 20];
	struct scr_pkt pk;
	uint32_t n;

	if (scr_decode(SCR_LINK_ETH, s->data, caplen, &pk) != SCR_DEC_TCP)
		return;
	n = synth(f, &pk, false, SCR_TCP_SYN, pk.seq - 1, 0);
	if (feed(h, f, n, n, syn_ns) == SCR_PKT_DROP) {
		/* the flow table is full (smtpscreen_overload_policy = drop)
		 * or the client is over its connection limit: the kernel has
		 * the connection already, so it is ended here */
		struct scr_flow_key k = {
			.client = pk.src, .server = pk.dst,
			.client_port = pk.sport, .server_port = pk.dport,
			.family = pk.family,
		};

		h->st.syn_dropped++;
		if (h->kill_ok && ctl_kill_session(h->kill, &k) == 0)
			h->st.killed++;
		if (ctl_hostbpf_flow_set(h->hb, &k, SCR_HOST_FS_STOP) != 0)
			h->st.map_err++;
	}
	n = synth(f, &pk, true, SCR_TCP_SYN | SCR_TCP_ACK, pk.ack - 1, pk.seq);
	feed(h, f, n, n, syn_ns);
	h->st.handshakes++;
}

/* hs_answer - the pregreeter's answer, as postscreen hangs up on one:
 * its reply line (smtpscreen_stop_reply) and a RST, sent to the client
 * now (its own retransmission would get the kernel's RST only after its
 * RTO); the server side is gone already */
static void hs_answer(struct host *h, const struct scr_host_sample *s,
		      uint32_t caplen)
{
	rst_client(h, s->data, caplen, h->pregreet_reply);
}

/* hs_reset - a pregreeter the handshake hold stopped: the XDP program
 * made its segment a RST to the server; the client gets its answer, the
 * engine sees that RST too, so the session ends and is judged now */
static void hs_reset(struct host *h, const struct scr_host_sample *s,
		     uint32_t caplen)
{
	uint8_t f[14 + 40 + 20];
	struct scr_pkt pk;
	uint32_t n;

	if (scr_decode(SCR_LINK_ETH, s->data, caplen, &pk) != SCR_DEC_TCP)
		return;
	if (!(s->flags & SCR_HOST_SF_TRUNC))
		hs_answer(h, s, caplen);
	n = synth(f, &pk, false, SCR_TCP_RST | SCR_TCP_ACK,
		  pk.seq + pk.payload_len, pk.ack);
	h->hs_ending = true;
	feed(h, f, n, n, s->ts_ns);
	h->hs_ending = false;
}

/* on_sample - ring buffer callback */
static int on_sample(void *arg, const struct scr_host_sample *s)
{
	struct host *h = arg;
	uint32_t caplen = s->caplen;

	h->st.samples++;
	if (caplen > SCR_HOST_SAMPLE_MAX)
		caplen = SCR_HOST_SAMPLE_MAX;
	if (s->flags & SCR_HOST_SF_SMUG)
		smug_found(h, s, caplen);
	else if ((s->flags & SCR_HOST_SF_HELD) && (s->flags & SCR_HOST_SF_DATA))
		data_hold(h, s, caplen);
	else if (s->flags & SCR_HOST_SF_HELD)
		hold(h, s, caplen);
	else {
		if (s->flags & SCR_HOST_SF_FIRST)
			handshake(h, s, caplen);
		feed(h, s->data, caplen, s->wirelen, s->ts_ns);
		if (h->lw.setup->pol.envelope)
			env_sampled(h, s);
		if (s->flags & SCR_HOST_SF_HS_RST)
			hs_reset(h, s, caplen);
	}
	return 0;
}

/* hold_ns_now - the current hold (stress shortens it) */
static uint64_t hold_ns_now(const struct host *h)
{
	return scr_engine_stress(h->lw.eng) ? h->lw.setup->hold_stress_ns :
					      h->lw.setup->hold_ns;
}

/* release_due - the greetings whose hold is over; ms until the next one
 * is due (at most HOST_POLL_MS) */
static int release_due(struct host *h, uint64_t now)
{
	uint64_t hold_ns = hold_ns_now(h), oldest;
	void *p[64];
	unsigned n, i;

	oldest = dp_hold_oldest_ns(h->hold);
	if (oldest != UINT64_MAX && oldest + hold_ns < now)
		dp_turn_add(&h->late, oldest + hold_ns, now);	/* the most late */
	do {
		n = dp_hold_due(h->hold, now, hold_ns, p, 64);
		for (i = 0; i < n; i++)
			release(h, p[i], now);
	} while (n == 64);
	return due_ms(dp_hold_oldest_ns(h->hold), hold_ns, now);
}

/* hs_wait_sync - the handshake hold's wait in the XDP program follows the
 * greet wait: its stress value under stress, a reload's new value */
static void hs_wait_sync(struct host *h)
{
	uint64_t w = h->hs_hold || h->seat ? hold_ns_now(h) : 0;

	if (w != h->hs_wait) {
		if (h->seat)
			atomic_store_explicit(&h->seat_wait, w, memory_order_relaxed);
		else
			ctl_maps_set_hs_wait(ctl_hostbpf_maps(h->hb), w);
		h->hs_wait = w;
	}
}

/* stress_check - postscreen's 90%/70% marks on the screening budget
 * (postscreen_pre_queue_limit), or rings filling up, are the engine's
 * pressure; the engine adds its flow table's marks and logs changes */
static void stress_check(struct host *h, uint64_t now_mono)
{
	uint64_t n = scr_engine_flows_undecided(h->lw.eng) + dp_hold_flows(h->hold);
	uint64_t lim = h->lw.setup->pre_queue_limit;
	uint64_t ev = dp_ring_count(h->ev_ring), evc = dp_ring_capacity(h->ev_ring);

	if (!h->pq_high && (n * 10 >= lim * 9 || ev * 4 >= evc * 3))
		h->pq_high = true;
	else if (h->pq_high && n * 10 <= lim * 7 && ev * 2 <= evc)
		h->pq_high = false;
	scr_engine_set_pressure(h->lw.eng, h->pq_high, eng_ns(h, now_mono));
	hs_wait_sync(h);
}

/* publish - the packet thread's counters for the control thread */
static void publish(struct host *h)
{
	uint64_t now = mono_ns();

	h->st.held_now = dp_hold_flows(h->hold);
	h->st.turn_max_ns = dp_turn_max(&h->turn, now);
	h->st.late_max_ns = dp_turn_max(&h->late, now);
	atomic_fetch_add_explicit(&h->snap_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	h->st_snap = h->st;
	scr_engine_stats(h->lw.eng, &h->eng_snap);
	h->eng_snap.smuggling += h->st.smug;
	h->eng_snap.smuggling_cmds += h->st.smug_cmds;
	h->eng_snap.smuggling_stopped += h->st.smug_stopped;
	h->flows_snap = scr_engine_flows_active(h->lw.eng);
	h->undecided_snap = scr_engine_flows_undecided(h->lw.eng);
	atomic_fetch_add_explicit(&h->snap_seq, 1, memory_order_release);
}

/* ev_wake - the control thread woken for the events pushed, when one is
 * urgent, the batch is HOST_EV_BATCH_NS old or the ring a quarter full;
 * otherwise *timeout shortened to the batch's end */
static void ev_wake(struct host *h, uint64_t now, int *timeout)
{
	uint64_t x = 1, left;

	if (!h->ev_pushed)
		return;
	if (h->ev_since == 0)
		h->ev_since = now;
	if (!h->ev_urgent && now - h->ev_since < HOST_EV_BATCH_NS &&
	    dp_ring_count(h->ev_ring) * 4 < dp_ring_capacity(h->ev_ring)) {
		left = (h->ev_since + HOST_EV_BATCH_NS - now) / 1000000u + 1;
		if ((uint64_t)*timeout > left)
			*timeout = (int)left;
		return;
	}
	/* before the wake-up: the control thread that takes an event reads
	 * counters that include it */
	publish(h);
	h->ev_pushed = h->ev_urgent = false;
	h->ev_since = 0;
	(void)!write(h->ev_fd, &x, sizeof(x));
}

/* take_msgs - the control thread's messages */
static void take_msgs(struct host *h, uint64_t now_mono)
{
	struct ctl_live_msg m[32];
	unsigned n, i;

	do {
		n = dp_ring_dequeue_burst(h->msg_ring, m, 32);
		for (i = 0; i < n; i++) {
			h->env_stopping = m[i].type == CTL_LIVE_MSG_ENVELOPE &&
				(m[i].outcome == SCR_ACT_ENFORCE ||
				 m[i].outcome == SCR_ACT_DROP);
			ctl_live_worker_apply(&h->lw, &m[i], eng_ns(h, now_mono));
			h->env_stopping = false;
			if (m[i].type == CTL_LIVE_MSG_PASS_OLD)
				held_now(h, &m[i].key);
			else if (m[i].type == CTL_LIVE_MSG_ENVELOPE)
				env_answer(h, &m[i]);
			else if (m[i].type == CTL_LIVE_MSG_DNSBL)
				dnsbl_answer(h, &m[i].key);
		}
		h->st.msgs += n;
	} while (n == 32);
	smug_sync(h);		/* a reload may have changed the guard */
}

/* packet_thread - samples in, engine, holds, until pt_stop */
static void *packet_thread(void *arg)
{
	struct host *h = arg;
	uint64_t now, t0, last_expire = 0, last_pub = 0, x;
	int timeout = 0, rc;
	bool quiet, ticking;

	while (!atomic_load(&h->pt_stop)) {
		struct pollfd pf[2] = {
			{ .fd = ctl_hostbpf_fd(h->hb), .events = POLLIN },
			{ .fd = h->msg_fd, .events = POLLIN },
		};

		if (poll(pf, 2, timeout) > 0 && (pf[1].revents & POLLIN))
			(void)!read(h->msg_fd, &x, sizeof(x));
		now = t0 = mono_ns();
		clock_check(h, now);
		take_msgs(h, now);
		rc = ctl_hostbpf_poll(h->hb, 0, on_sample, h);
		if (rc < 0 && rc != -EINTR) {
			atomic_store(&h->pt_failed, rc);
			atomic_store(&host_stop, 1);
			break;
		}
		now = mono_ns();
		timeout = release_due(h, now);
		if (dp_hold_flows(h->envhold) != 0) {
			rc = env_due(h, now);
			timeout = rc < timeout ? rc : timeout;
		}
		ticking = scr_engine_flows_undecided(h->lw.eng) != 0;
		if (timeout > HOST_TICK_MS && ticking)
			timeout = HOST_TICK_MS;
		if (ticking != h->ticking) {
			/* The program stops waking us for first samples while
			 * we poll anyway. Leaving that: one more turn at once,
			 * for a first sample queued as we said so. */
			h->ticking = ticking;
			ctl_maps_set_user_polls(ctl_hostbpf_maps(h->hb), ticking);
			if (!ticking)
				timeout = 0;
		}
		/* Quiet: nothing held, no client in its tests. Decided flows
		 * wait for their timeouts; being ended a few seconds late
		 * costs nothing but their table slots. */
		quiet = !ticking && dp_hold_flows(h->hold) == 0 &&
			dp_hold_flows(h->envhold) == 0 &&
			!scr_engine_stress(h->lw.eng);
		if (quiet && timeout == HOST_POLL_MS)
			timeout = HOST_IDLE_MS;
		stress_check(h, now);
		if (now - last_expire >= 1000000000ull) {
			last_expire = now;
			scr_engine_expire(h->lw.eng, eng_ns(h, now));
		}
		if (now - last_pub >= HOST_PUBLISH_NS) {
			last_pub = now;
			publish(h);
		}
		ev_wake(h, now, &timeout);
		dp_turn_add(&h->turn, t0, mono_ns());
	}
	publish(h);
	x = 1;
	(void)!write(h->ev_fd, &x, sizeof(x));
	return NULL;
}

/* ---- the control thread's side of the front end (ops) ---- */

/* op_send - a message to the packet thread. A cache entry wakes no one:
 * it follows a verdict the packet thread's own cache has already, or a
 * store's answer that counts for the client's next flows (the flow in
 * progress learns a pass by PASS_OLD); the thread takes it at its next
 * turn, unless the ring fills. */
static int op_send(void *arg, unsigned w, const struct ctl_live_msg *m)
{
	struct host *h = arg;
	uint64_t x = 1;

	(void)w;
	if (dp_ring_enqueue(h->msg_ring, m) != 0)
		return -ENOBUFS;
	if (m->type != CTL_LIVE_MSG_ENTRY ||
	    dp_ring_count(h->msg_ring) * 4 >= dp_ring_capacity(h->msg_ring))
		(void)!write(h->msg_fd, &x, sizeof(x));
	return 0;
}

/* op_drain - the packet thread's events into the policy */
static unsigned op_drain(void *arg)
{
	static struct scr_event ev[64];
	struct host *h = arg;
	unsigned n, i, total = 0;

	do {
		n = dp_ring_dequeue_burst(h->ev_ring, ev, 64);
		for (i = 0; i < n; i++)
			ctl_live_event(h->live, &ev[i], 0);
		total += n;
	} while (n == 64 && total < 4096);
	return total;
}

/* snap_read - a consistent copy of the published counters */
static void snap_read(struct host *h, struct host_stats *st,
		      struct scr_stats *es, uint64_t *flows, uint64_t *undecided)
{
	unsigned b;

	do {
		b = atomic_load_explicit(&h->snap_seq, memory_order_acquire);
		*st = h->st_snap;
		if (es)
			*es = h->eng_snap;
		*flows = h->flows_snap;
		*undecided = h->undecided_snap;
		atomic_thread_fence(memory_order_acquire);
	} while ((b & 1) ||
		 atomic_load_explicit(&h->snap_seq, memory_order_relaxed) != b);
}

/* op_engine - the engine's counters */
static void op_engine(void *arg, struct scr_stats *es, uint64_t *flows)
{
	struct host_stats st;
	uint64_t und;

	snap_read(arg, &st, es, flows, &und);
}

/* op_counters - host mode's own counters, then the kernel's */
static unsigned op_counters(void *arg, struct ctl_live_ctr *c, unsigned max)
{
	static char names[SCR_HOST_C_MAX][48], snames[SCR_HOST_SMUG_C_MAX][48];
	struct scr_xdp_ctr_val hc[SCR_HOST_C_MAX], sc[SCR_HOST_SMUG_C_MAX];
	struct host *h = arg;
	struct host_stats st;
	uint64_t flows, und;
	unsigned n = 0, i;

	snap_read(h, &st, NULL, &flows, &und);
#define PUT(nm, hp, v, g) do { if (n < max) { c[n].name = (nm); \
	c[n].help = (hp); c[n].value = (v); c[n].gauge = (g); \
	c[n].stats_only = false; n++; } } while (0)
	PUT("samples", "Packets sampled by the kernel programs", st.samples, false);
	PUT("handshakes", "Flows sampled from their completed handshake",
	    st.handshakes, false);
	PUT("syn_dropped", "Connections ended at their handshake: flow table "
	    "full under smtpscreen_overload_policy = drop, or over the "
	    "per-client limit", st.syn_dropped, false);
	PUT("client_rst", "Frames the daemon sent to stopped clients (a "
	    "pregreeter's reply line and RST, a RST at a withheld 354)",
	    st.client_rst, false);
	PUT("held", "Greetings held for the greet wait", st.held, false);
	PUT("held_now", "Greetings held now", st.held_now, true);
	PUT("held_full", "Greetings let go at once: no room to hold them",
	    st.held_full, false);
	PUT("released_early", "Greetings let go early: the client passed",
	    st.released_early, false);
	PUT("resent", "Held frames re-sent", st.resent, false);
	PUT("resend_errors", "Held frames not re-sent (the kernel's "
	    "retransmission went)", st.resend_err, false);
	PUT("screening", "Flows in their tests", und, true);
	PUT("stopped", "Sessions stopped", st.stopped, false);
	PUT("killed", "Sessions ended by socket destroy", st.killed, false);
	PUT("kill_errors", "Socket destroys that failed", st.kill_err, false);
	PUT("data_withheld", "354 replies withheld: stopped before the body",
	    st.data_stopped, false);
	PUT("dnsbl_waits", "354 replies kept for the client's DNSBL answer",
	    st.dnsbl_waits, false);
	PUT("dnsbl_released", "... let go after it", st.dnsbl_released, false);
	PUT("envelope_waits", "354 replies kept for an envelope answer",
	    st.env_waits, false);
	PUT("envelope_released", "... let go after it", st.env_released, false);
	PUT("envelope_wait_stopped", "Sessions stopped for an envelope reject "
	    "(smtpd's reply in place of the 354)", st.env_stopped, false);
	PUT("envelope_wait_timeouts", "354 replies let go: no envelope answer "
	    "in smtpscreen_envelope_timeout + 0.5 s", st.env_timeouts, false);
	PUT("events_lost", "Events lost to a full event ring", st.ev_lost, false);
	PUT("turn_max_us", "Longest turn of the packet thread, last 10-20 s",
	    st.turn_max_ns / 1000, true);
	PUT("hold_late_max_us", "Greeting released latest after its due time, "
	    "last 10-20 s", st.late_max_ns / 1000, true);
	PUT("flow_map_errors", "Flow map writes that failed", st.map_err, false);
	PUT("clock_steps", "Steps of the system clock followed (timeouts kept "
	    "their course)", st.clock_steps, false);
	PUT("overload_episodes", "Times the kernel had to decide for a daemon "
	    "that fell behind", h->ov_episodes, false);
	if (h->seat) {
		struct dp_seat_stats ss;

		dp_seat_stats(h->seat, &ss);
		PUT("seat_accepted", "Connections the seat accepted", ss.accepted, false);
		PUT("seat_screened", "Connections that got the teaser and the greet "
		    "wait", ss.screened, false);
		PUT("seat_direct", "Connections handed to smtpd at once (pass cache, "
		    "permanent permit)", ss.direct, false);
		PUT("seat_waiting", "Connections in the greet wait now", ss.waiting, true);
		PUT("seat_early", "Clients that talked before the wait was over",
		    ss.early, false);
		PUT("seat_pregreet_stops", "Pregreet failures the engine left to "
		    "the seat (its 521 ends the connection)", st.seat_pregreet,
		    false);
		PUT("seat_hangup", "Clients that left during the wait", ss.hangup, false);
		PUT("seat_passed", "Connections handed to smtpd", ss.pass, false);
		PUT("seat_pass_errors", "Hand-offs to smtpd that failed (421 sent)",
		    ss.pass_failed + ss.pass_timeout, false);
		PUT("seat_busy", "Connections refused: all screening ports busy",
		    ss.busy, false);
		PUT("seat_accept_errors", "accept() errors", ss.accept_errors, false);
	}
	if (ctl_hostbpf_stats(h->hb, hc) == 0) {
		for (i = 0; i < SCR_HOST_C_MAX; i++) {
			snprintf(names[i], sizeof(names[i]), "host_%s_packets",
				 ctl_maps_host_ctr_name[i]);
			PUT(names[i], "Host-mode kernel events", hc[i].packets, false);
		}
	}
	if (ctl_hostbpf_smug_stats(h->hb, sc) == 0) {
		for (i = 0; i < SCR_HOST_SMUG_C_MAX; i++) {
			snprintf(snames[i], sizeof(snames[i]), "host_smug_%s_packets",
				 ctl_hostbpf_smug_ctr_name[i]);
			PUT(snames[i], "Host-mode smuggling guard events (kernel)",
			    sc[i].packets, false);
		}
	}
#undef PUT
	return n;
}

/* ov_sum - what the kernel could not hand to the daemon in time: holds
 * past their deadline (passed or dropped by the overload policy) and
 * samples the full ring buffer refused */
static uint64_t ov_sum(struct host *h)
{
	struct scr_xdp_ctr_val c[SCR_HOST_C_MAX];

	if (ctl_hostbpf_stats(h->hb, c) != 0)
		return h->ov_last;
	return c[SCR_HOST_C_HOLD_EXPIRED].packets +
	       c[SCR_HOST_C_HOLD_EXPIRED_DROP].packets +
	       c[SCR_HOST_C_RB_FULL].packets;
}

/* op_tick - once a second while packets come (every HOST_IDLE_MS when
 * none did): the daemon fell behind (or caught up again); one line per
 * change, with what smtpscreen_overload_policy did */
static int op_tick(void *arg)
{
	struct host *h = arg;
	uint64_t now = mono_ns(), sum, d, flows, und;
	struct host_stats st;
	const char *pol;
	bool quiet;

	if (now < h->ov_next_ns)
		return (int)((h->ov_next_ns - now) / 1000000u) + 1;
	/* Quiet: no sample since the last look, no client in its tests,
	 * no episode to end. A packet thread stuck on a turn has clients
	 * in their tests. */
	snap_read(h, &st, NULL, &flows, &und);
	quiet = st.samples == h->ov_samples && und == 0 && !h->ov_on;
	h->ov_samples = st.samples;
	h->ov_next_ns = now + (quiet ? HOST_IDLE_MS : HOST_POLL_MS) * 1000000ull;
	sum = ov_sum(h);
	d = sum - h->ov_last;
	h->ov_last = sum;
	pol = ctl_live_setup(h->live)->pol.overload_drop ? "drop: they were "
	      "dropped" : "pass: they went through unscreened";
	if (d && !h->ov_on) {
		h->ov_on = true;
		h->ov_since_ns = now;
		h->ov_first = sum - d;
		h->ov_episodes++;
		ctl_msg_warn("overload: the daemon fell behind: %" PRIu64 " held "
			     "replies or samples the kernel could not hand over in "
			     "the last second; smtpscreen_overload_policy = %s",
			     d, pol);
	} else if (!d && h->ov_on) {
		h->ov_on = false;
		ctl_msg_info("overload over after %.1f s: %" PRIu64 " held "
			     "replies or samples in all (smtpscreen_overload_policy "
			     "= %s)", (double)(now - h->ov_since_ns) / 1e9,
			     sum - h->ov_first,
			     ctl_live_setup(h->live)->pol.overload_drop ? "drop" :
			     "pass");
	}
	return (int)((h->ov_next_ns - now) / 1000000u);
}

/* op_status - host mode's part of `status` */
static void op_status(void *arg, FILE *out)
{
	struct host *h = arg;
	struct host_stats st;
	uint64_t flows, und;

	snap_read(h, &st, NULL, &flows, &und);
	fprintf(out, " on %s (XDP %s), screening %" PRIu64 ", held %" PRIu64,
		h->ifname, ctl_hostbpf_xdp_mode(h->hb) == 1 ? "native" : "generic",
		und, st.held_now);
}

/* ---- start and stop ---- */

/* usage - host's options */
static int usage(void)
{
	fprintf(stderr, "usage: smtpscreen host -i IFACE [-c FILE[:FILE...]] "
		"[-o name=value]... [--mode native|generic]\n"
		"                       [--keep] [-s SOCKET] [--log-file FILE] "
		"[--foreground]\n"
		"  (no -c: %s)\n", ctl_conf_default_path());
	return 2;
}

/* parse_opts - the command line; 0, or the exit status */
static int parse_opts(struct host *h, int argc, char **argv)
{
	static const struct option lopts[] = {
		{"interface", required_argument, NULL, 'i'},
		{"config", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"keep", no_argument, NULL, 'k'},
		{"log-file", required_argument, NULL, 'l'},
		{"foreground", no_argument, NULL, 'f'},
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:c:o:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i': h->ifname = optarg; break;
		case 'c': h->conf_path = optarg; break;
		case 'o':
			if (ctl_conf_override(optarg) != 0) {
				fprintf(stderr, "smtpscreen host: -o \"%s\": need "
					"name=value\n", optarg);
				return 2;
			}
			break;
		case 's': h->sock_path = optarg; break;
		case 'm':
			if (strcmp(optarg, "native") == 0)
				h->xdp_mode = 1;
			else if (strcmp(optarg, "generic") == 0)
				h->xdp_mode = 2;
			else {
				fprintf(stderr, "smtpscreen host: --mode: bad value "
					"\"%s\" (native, generic)\n", optarg);
				return 2;
			}
			break;
		case 'k': h->keep = true; break;
		case 'l': h->log_file = optarg; break;
		case 'f': break;	/* always in the foreground (systemd) */
		case 'h': usage(); return -1;
		default: return usage();
		}
	}
	if (h->ifname == NULL || optind != argc)
		return usage();
	if (h->conf_path == NULL)
		h->conf_path = ctl_conf_default_path();
	return 0;
}

/* The access list is read and compiled in a thread of its own while the
 * kernel verifies the programs (each ~0.1-0.2 s at a million lines), as
 * `xdp attach` does: the maps load at their default sizes, and writing
 * the list grows a copy that it does not fit (ctl_maps_replace). The
 * load waits for the thread before it pins anything (host_compile_wait):
 * a bad list leaves a previous instance's pins as they were. */
struct host_compile {
	struct ctl_live *live;
	struct ctl_setup *setup;
	pthread_t t;
	bool threaded, joined;
	bool conf_error;	/* the list did not read (a configuration error) */
	int rc;
	char err[512];
};

/* host_compile_run - the thread: read the access list, compile it once */
static void *host_compile_run(void *arg)
{
	struct host_compile *j = arg;
	const struct ctl_xdp_entry *perm;
	size_t nperm;

	j->rc = ctl_setup_load_acl(j->setup, j->err, sizeof(j->err));
	if (j->rc != 0) {
		j->conf_error = true;
		return NULL;
	}
	j->rc = ctl_live_perm(j->live, &perm, &nperm, j->err, sizeof(j->err));
	return NULL;
}

/* host_compile_wait - ctl_hostbpf_opts.ready: the thread's end, its error */
static int host_compile_wait(void *arg, char *err, size_t errlen)
{
	struct host_compile *j = arg;

	if (j->threaded && !j->joined)
		pthread_join(j->t, NULL);
	j->joined = true;
	if (j->rc != 0)
		snprintf(err, errlen, "%s", j->err);
	return j->rc;
}

/* kernel_open - programs loaded and pinned, maps filled, then attached */
static int kernel_open(struct host *h, char *err, size_t errlen)
{
	const struct ctl_setup *s = ctl_live_setup(h->live);
	struct host_compile job = { .live = h->live, .setup = h->setup };
	struct ctl_hostbpf_opts bo;
	char warn[512];
	const char *v;
	int b = 0, rc;

	memset(&bo, 0, sizeof(bo));
	bo.ifname = h->ifname;
	bo.pin_dir = ctl_conf_get(s->conf, "smtpscreen_pin_directory");
	bo.xdp_mode = h->xdp_mode;
	bo.ports = s->pol.ports;
	bo.nports = s->pol.nports;
	/* the seat is the greet wait: no greeting hold in TC */
	bo.greet_hold_ns = s->host_hold == CTL_HOLD_SEAT ? 0 : s->hold_ns;
	bo.data_hold_ns = HOST_DATA_HOLD_NS + (s->pol.envelope ? s->pol.envelope_wait_ns : 0);
	bo.flow_map_size = s->pol.flow_table_size;
	(void)ctl_conf_parse_bool(ctl_conf_get(s->conf, "smtpscreen_xdp_block_all"), &b);
	bo.block_all_ports = b != 0;
	v = ctl_conf_get(s->conf, "smtpscreen_sample_bytes");
	bo.sample_bytes = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	bo.overload_drop = s->pol.overload_drop;
	bo.hs_hold = s->host_hold == CTL_HOLD_HANDSHAKE && s->hold_ns != 0;
	bo.seat_steer = h->seat_steer;
	/* host mode stops a failed session at the failure (enforce too) */
	bo.hs_reset = s->pol.action[SCR_TEST_PREGREET] != SCR_ACT_IGNORE;
	bo.sample_lazy = true;
	bo.defer_attach = true;
	bo.ready = host_compile_wait;
	bo.ready_arg = &job;
	err[0] = warn[0] = 0;
	job.threaded = pthread_create(&job.t, NULL, host_compile_run, &job) == 0;
	if (!job.threaded)
		host_compile_run(&job);	/* one after the other */
	h->hb = ctl_hostbpf_open(&bo, err, errlen, warn, sizeof(warn));
	/* a load that failed before ready: the list's error first, as a
	 * configuration error comes before the kernel's */
	rc = host_compile_wait(&job, err, errlen);
	h->conf_error = job.conf_error;
	if (rc != 0)
		return rc;
	if (h->hb == NULL)
		return -EINVAL;
	h->hs_hold = bo.hs_hold;
	if (!h->seat) {
		h->hs_wait = bo.hs_hold ? s->hold_ns : 0;
		ctl_maps_set_hs_wait(ctl_hostbpf_maps(h->hb), h->hs_wait);
	}
	ctl_live_set_maps(h->live, ctl_hostbpf_maps(h->hb));
	rc = ctl_live_load_maps(h->live, err, errlen);
	if (rc != 0)
		return rc;
	rc = ctl_hostbpf_attach(h->hb, err, errlen, warn, sizeof(warn));
	if (rc != 0)
		return rc;
	if (warn[0])
		ctl_msg_warn("%s", warn);
	if (h->seat_steer) {
		rc = ctl_maps_seat_steer(ctl_hostbpf_maps(h->hb),
					 dp_seat_listen_fd(h->seat, AF_INET),
					 dp_seat_listen_fd(h->seat, AF_INET6), err, errlen);
		if (rc != 0)
			return rc;
	}
	h->rs = ctl_resend_open(ctl_hostbpf_ifindex(h->hb), err, errlen);
	return h->rs ? 0 : -EINVAL;
}

/* seat_screen - the seat asks about a new connection: a flow entry in its
 * tests means XDP is screening it (1: teaser, wait); a stopped one was
 * judged before the seat took it (-1: closed); none means the pass cache
 * or the permanent permit let it by, as does a passed one (0: smtpd at
 * once) */
static int seat_screen(void *arg, const struct sockaddr_storage *client,
		       const struct sockaddr_storage *server)
{
	const struct sockaddr_storage *ss[2] = { client, server };
	struct host *h = arg;
	struct scr_host_flow_val v;
	struct scr_flow_key k;
	struct scr_addr *a[2] = { &k.client, &k.server };
	uint16_t *port[2] = { &k.client_port, &k.server_port };
	int i;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < 2; i++) {
		if (ss[i]->ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss[i];

			a[i]->b[10] = a[i]->b[11] = 0xff;
			memcpy(a[i]->b + 12, &s4->sin_addr, 4);
			*port[i] = ntohs(s4->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss[i];

			memcpy(a[i]->b, &s6->sin6_addr, 16);
			*port[i] = ntohs(s6->sin6_port);
		}
	}
	if (ctl_hostbpf_flow_get(h->hb, &k, &v) != 0)
		return 0;
	return v.state == SCR_HOST_FS_SCAN ? 1 : v.state == SCR_HOST_FS_STOP ? -1 : 0;
}

/* seat_thread - the seat's event loop */
static void *seat_thread(void *arg)
{
	struct host *h = arg;
	int rc = dp_seat_run(h->seat, &h->seat_stop, h->seat_wake);

	if (rc < 0) {
		ctl_msg_error("seat: event loop: %s", strerror(-rc));
		atomic_store(&host_stop, 1);
	}
	return NULL;
}

/* seat_open - smtpscreen_host_hold = seat: listen in postscreen's place */
static int seat_open(struct host *h, char *err, size_t errlen)
{
	const struct ctl_setup *s = ctl_live_setup(h->live);
	struct dp_seat_opts o;
	unsigned i;

	memset(&o, 0, sizeof(o));
	o.listen = ctl_conf_get(s->conf, "smtpscreen_seat_listen");
	o.pass_path = ctl_conf_get(s->conf, "smtpscreen_seat_service");
	o.banner = ctl_conf_get(s->conf, "postscreen_greet_banner");
	atomic_store(&h->seat_wait, s->hold_ns);
	h->hs_wait = s->hold_ns;
	o.wait_ns = &h->seat_wait;
	o.max_conn = 65536;
	o.backlog = 4096;
	/* A client that talks first: host mode stops it (drop and enforce)
	 * with postscreen's reply, or leaves its bytes to smtpd (ignore). */
	if (s->pol.action[SCR_TEST_PREGREET] != SCR_ACT_IGNORE)
		o.early_reply = h->pregreet_reply;
	o.screen = seat_screen;
	o.arg = h;
	h->seat_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->seat_wake < 0) {
		snprintf(err, errlen, "seat: eventfd: %s", strerror(errno));
		return -errno;
	}
	h->seat = dp_seat_open(&o, err, errlen);
	if (h->seat == NULL)
		return -EINVAL;
	/* Not on an SMTP port: smtpd keeps it, and sk_lookup sends the
	 * connections of unknown clients to the seat (steering). */
	h->seat_steer = true;
	for (i = 0; i < s->pol.nports; i++)
		if (dp_seat_on_port(h->seat, s->pol.ports[i]))
			h->seat_steer = false;
	return 0;
}

/* seat_close - stop the seat's thread, close its connections */
static void seat_close(struct host *h)
{
	uint64_t x = 1;

	if (h->seat_started) {
		atomic_store(&h->seat_stop, 1);
		(void)!write(h->seat_wake, &x, sizeof(x));
		pthread_join(h->seat_t, NULL);
		h->seat_started = false;
	}
	dp_seat_close(h->seat);
	h->seat = NULL;
	if (h->seat_wake > 0)
		close(h->seat_wake);
}

/* worker_open - the packet thread's engine, cache copy, holds, rings */
static int worker_open(struct host *h, char *err, size_t errlen)
{
	const struct ctl_setup *s = ctl_live_setup(h->live);
	struct scr_engine_hooks hooks = { .arg = h, .client = hook_client,
					  .event = hook_event,
					  .client_ahead = hook_client_ahead };
	uint32_t cap = s->pol.flow_table_size < CTL_LIVE_CACHE_MIN ?
		       CTL_LIVE_CACHE_MIN : s->pol.flow_table_size;
	struct ctl_cache *cache = ctl_cache_create(cap);
	struct scr_engine *eng = scr_engine_create(&s->pol, s->db, &hooks);

	h->hold = dp_hold_create(HOST_HELD_MAX, HOST_HELD_MAX);
	h->envhold = dp_hold_create(HOST_ENV_MAX, HOST_ENV_MAX);
	h->frames = calloc(HOST_HELD_MAX, sizeof(*h->frames));
	h->ev_ring = dp_ring_create(HOST_EV_RING, sizeof(struct scr_event));
	h->msg_ring = dp_ring_create(HOST_MSG_RING, sizeof(struct ctl_live_msg));
	h->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->msg_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ctl_live_worker_init(&h->lw, eng, cache, s);
	if (cache == NULL || eng == NULL || h->hold == NULL ||
	    h->envhold == NULL || h->frames == NULL ||
	    h->ev_ring == NULL || h->msg_ring == NULL || h->ev_fd < 0 ||
	    h->msg_fd < 0) {
		snprintf(err, errlen, "packet thread: %s", strerror(errno ? errno :
								 ENOMEM));
		return -ENOMEM;
	}
	h->ffree = 0;
	h->ffresh = 0;
	return 0;
}

/* host_fini - release everything (reverse order) */
static void host_fini(struct host *h)
{
	seat_close(h);
	if (h->pt_started) {
		atomic_store(&h->pt_stop, 1);
		pthread_join(h->pt, NULL);
	}
	if (h->live && h->ev_ring)
		while (op_drain(h) > 0)
			;
	if (h->live)
		ctl_live_summary(h->live, NULL);
	if (h->hb)
		ctl_hostbpf_close(h->hb, h->keep);
	scr_engine_destroy(h->lw.eng);
	ctl_cache_destroy(h->lw.cache);
	dp_hold_destroy(h->hold);
	dp_hold_destroy(h->envhold);
	free(h->frames);
	dp_ring_destroy(h->ev_ring);
	dp_ring_destroy(h->msg_ring);
	if (h->ev_fd > 0)
		close(h->ev_fd);
	if (h->msg_fd > 0)
		close(h->msg_fd);
	ctl_resend_close(h->rs);
	ctl_kill_close(h->kill);
	ctl_live_destroy(h->live);
}

/* dp_host_main - `smtpscreen host` */
int dp_host_main(int argc, char **argv)
{
	static struct host hs;
	struct host *h = &hs;
	struct ctl_live_opts lo;
	struct ctl_live_worker *wl[1];
	struct ctl_live_ops ops;
	struct ctl_setup *setup;
	sigset_t all, old;
	char err[1024], mem[160];
	int rc, status = 1;

	memset(h, 0, sizeof(*h));
	h->ev_fd = h->msg_fd = h->seat_wake = -1;
	rc = parse_opts(h, argc, argv);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	if (if_nametoindex(h->ifname) == 0) {
		fprintf(stderr, "smtpscreen host: interface %s: %s\n", h->ifname,
			strerror(errno));
		return 1;
	}
	setup = calloc(1, sizeof(*setup));
	/* the access list later, beside the BPF load (kernel_open) */
	if (setup == NULL || ctl_setup_load_conf(setup, h->conf_path, err,
						 sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen host: %s\n", setup ? err : "out of memory");
		free(setup);
		return 2;
	}
	/* the kernel hands DATA to smtpd at once: a flow's 354 waits for
	 * its client's DNSBL answer (data_hold); reloads keep this */
	setup->pol.dnsbl_wait = true;
	memset(&lo, 0, sizeof(lo));
	lo.mode = "host";
	lo.conf_path = h->conf_path;
	lo.sock_path = h->sock_path;
	lo.log_path = h->log_file;
	lo.log_syslog = true;
	/* envelope checks read every session, pass-cached ones too: no
	 * ALLOW entries that would keep them from the engine */
	lo.allow_map = !setup->pol.envelope;
	lo.block_at_enforce = true;
	lo.store = true;
	h->live = ctl_live_create(&lo, setup, &status, err, sizeof(err));
	if (h->live == NULL) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		ctl_setup_fini(setup);
		free(setup);
		return status;
	}
	h->setup = setup;
	status = 1;
	h->wall_off_ns = (int64_t)(ctl_live_now_ns() - mono_ns());
	{
		const struct ctl_setup *ls = ctl_live_setup(h->live);
		enum scr_action act = ls->pol.action[SCR_TEST_PREGREET];

		rc = 1;
		(void)ctl_conf_parse_bool(ctl_conf_get(ls->conf,
						       "smtpscreen_stop_reply"), &rc);
		h->stop_reply = rc != 0;
		if (rc && act != SCR_ACT_IGNORE &&
		    dp_craft_reply(SCR_TEST_PREGREET, act, NULL, NULL, h->pregreet_reply,
				   sizeof(h->pregreet_reply)) < 0)
			h->pregreet_reply[0] = 0;
	}

	/* Session kill: probe once; without it STOP only drops. */
	h->kill = ctl_kill_open(err, sizeof(err));
	if (h->kill != NULL && ctl_kill_probe(h->kill, err, sizeof(err)) == 0)
		h->kill_ok = true;
	else
		ctl_msg_warn("%s: stopped sessions are dropped "
			     "in XDP/TC but the local smtpd socket stays until its "
			     "own timeout", err);
	if ((ctl_live_setup(h->live)->host_hold == CTL_HOLD_SEAT &&
	     seat_open(h, err, sizeof(err)) != 0) ||
	    kernel_open(h, err, sizeof(err)) != 0 ||
	    worker_open(h, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		if (h->conf_error)
			status = 2;
		goto out;
	}
	wl[0] = &h->lw;
	memset(&ops, 0, sizeof(ops));
	ops.arg = h;
	ops.send = op_send;
	ops.drain = op_drain;
	ops.engine = op_engine;
	ops.counters = op_counters;
	ops.status = op_status;
	ops.tick = op_tick;
	ops.wake_fd = h->ev_fd;
	if (ctl_live_workers(h->live, wl, 1, &ops) != 0) {
		fprintf(stderr, "smtpscreen host: workers: %s\n", strerror(EINVAL));
		goto out;
	}

	ctl_live_signals(h->live, &host_stop);
	/* The packet thread takes no signal: the control thread does. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&h->pt, NULL, packet_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		fprintf(stderr, "smtpscreen host: packet thread: %s\n", strerror(rc));
		goto out;
	}
	h->pt_started = true;
	if (h->seat) {
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&h->seat_t, NULL, seat_thread, h);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			fprintf(stderr, "smtpscreen host: seat thread: %s\n", strerror(rc));
			goto out;
		}
		h->seat_started = true;
	}
	ctl_msg_info("host mode on %s: greet hold %" PRIu64 " ms "
		     "(stress %" PRIu64 " ms), %s hold%s%s", h->ifname,
		     ctl_live_setup(h->live)->hold_ns / 1000000,
		     ctl_live_setup(h->live)->hold_stress_ns / 1000000,
		     h->seat ? "seat" : h->hs_hold ? "handshake" : "greeting",
		     h->seat ? ": listening on " : "",
		     h->seat ? ctl_conf_get(ctl_live_setup(h->live)->conf,
					    "smtpscreen_seat_listen") : "");
	ctl_setup_memory(mem, sizeof(mem),
			 ctl_live_setup(h->live)->pol.flow_table_size,
			 scr_engine_flow_bytes(h->lw.eng), 1);
	ctl_msg_info("%s", mem);
	ctl_maps_describe(ctl_hostbpf_maps(h->hb), mem, sizeof(mem));
	ctl_msg_info("%s", mem);
	fprintf(stderr, "smtpscreen host: running on %s\n", h->ifname);
	ctl_msg_stderr(false);	/* syslog and the log file from now on */
	status = 0;
	ctl_live_run(h->live, &host_stop);
	rc = atomic_load(&h->pt_failed);
	if (rc != 0) {
		ctl_msg_error("%s: ring buffer: %s", h->ifname,
			     strerror(-rc));
		status = 1;
	}
	if (h->keep)
		ctl_msg_info("--keep: the XDP program keeps enforcing");
out:
	host_fini(h);
	return status;
}
