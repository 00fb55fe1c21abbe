/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_engine - one worker's screening engine: frames in, verdicts out
 * DESCRIPTION
 *	See scr_engine.h. A burst is processed in two passes: decode, orient
 *	and hash every frame and prefetch its bucket; then look up and handle
 *	each frame in input order. Verdict rules:
 *	  allowlisted  access list permit (no tests);
 *	  blocklisted  access list reject (other tests still run unless the
 *	               denylist action is drop);
 *	  fail         a test failed, or the client is blocked from before;
 *	  pass         the SMTP machine says the client passed (HELO/EHLO and
 *	               DATA, BDAT, accepted STARTTLS or QUIT) with no failure,
 *	               or the cache says every enabled test passed (PASS OLD);
 *	  unknown      anything else: hang-up before the tests could finish,
 *	               a stream gap, eviction, a server that is not SMTP.
 *	A failure under drop stops the session at that packet; under enforce
 *	at the client's DATA, BDAT or STARTTLS (before mail is delivered).
 *
 *	Under attack. The table never grows: a client SYN that finds it full
 *	evicts, in this order (enum scr_evict_kind), the oldest half-open
 *	undecided flow (kept in a FIFO ring: a spoofed SYN never completes
 *	its handshake, a real client's SYN/ACK comes one round trip later),
 *	a closing flow, a decided failed/unknown flow, and, only while no
 *	flow is undecided, the longest-idle passed/allowlisted flow. A client
 *	in its tests is never evicted: a SYN that finds only such flows gets
 *	the overload policy (pass: forwarded, not screened; drop). A client
 *	with postscreen_client_connection_count_limit flows in the table has
 *	its next SYN dropped (NOQUEUE ... too many connections). Stress mode
 *	(90 % / 70 % of the table, or the front end's pressure) switches the
 *	timeouts to their stress values; an undecided flow that sends no
 *	whole command line within postscreen_command_time_limit leaves the
 *	table (COMMAND TIME LIMIT), so slow clients hold room no longer.
 * THREADING
 *	One worker per engine; hooks run on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scr_ccount.h"
#include "scr_engine.h"
#include "scr_envcap.h"
#include "scr_flow.h"
#include "scr_hash.h"
#include "scr_mem.h"
#include "scr_panic.h"
#include "scr_smtp.h"
#include "scr_smug.h"
#include "scr_tcpord.h"

#define SWEEP_PERIOD_MS 1000	/* the hand covers the table this often at least */
#define CLOCK_STEP_MS (1ull << 30)	/* set_time: 12.4 days */
#define EVICT_SAMPLE 64		/* entries examined to pick a decided victim */
#define STRESS_ON_PCT 90	/* postscreen's marks, on the flow table */
#define STRESS_OFF_PCT 70

#define SCR_DEC_PENDING 64	/* connection ends whose counts wait */
#define SWEPT_BATCH 8		/* scr_flow_remove_many's most */

struct scr_engine {
	const struct scr_policy *pol;
	const struct scr_scan_db *db;
	struct scr_engine_hooks hooks;
	uint32_t prefetch_bytes;	/* of each frame, ahead of its decode */
	struct scr_flow_table *ft;
	struct scr_ccount *cc;		/* flows per client address */
	/* clients whose connection ended, not yet taken off cc: a decrement
	 * is a random probe into a table of megabytes, so its slot is
	 * prefetched when the session ends and the count lowered at the
	 * burst's end (too_many subtracts the pending ones: counts stay
	 * exact) */
	uint64_t dec_key[SCR_DEC_PENDING];
	unsigned ndec;
	/* flows a sweep ended, still in their chains (unlink_swept) */
	struct scr_flow *swept[SWEPT_BATCH];
	unsigned nswept;
	bool sweeping;
	/* FIFO of half-open undecided flows: index and start time (a stale
	 * entry, whose flow moved on, is skipped when it reaches the head) */
	uint32_t *hq_idx;
	uint32_t *hq_ms;
	/* per flow entry: the last client segment given to the SMTP machine
	 * (seq 32 | len 16 | keyed hash of its bytes 16), so a copy of it
	 * with other bytes is seen (scan_segment) */
	uint64_t *cli_fp;
	struct scr_hash_fp *fp;		/* cli_fp's multipliers */
	uint32_t hq_mask, hq_head, hq_n;
	uint32_t nscan;			/* undecided flows */
	bool stress;			/* in stress mode */
	bool pressure;			/* front end's load (scr_engine_set_pressure) */
	struct scr_tcpord *ord;
	struct scr_smtp_env env;
	struct scr_smtp_words words;	/* env.words: verbs, db's forbidden words */
	struct scr_stats st;
	uint64_t epoch_ns;
	/* ms since the epoch; flows keep its low 32 bits (ms32) and take
	 * differences modulo 2^32: exact while a flow lives < 49 days,
	 * which set_time's steps ensure */
	uint64_t now_ms;
	uint64_t swept_ms;		/* clock at the last time-driven sweep */
	uint64_t sweep_owed;		/* entries x ms the hand owes, below
					 * SWEEP_PERIOD_MS (sweep_due) */
	bool have_epoch;
	/* context of the frame being handled, for the ordering callback */
	struct scr_flow *cur;
	struct scr_frame *cur_fr;
	int pending;		/* verdict decided inside the callback, or -1 */
	uint8_t limit_end;	/* enum scr_end_reason: a postscreen limit ended
				 * the tests inside the callback, or CLOSE */
	/* the last client feed of the callback, for the guard to go on
	 * from env.take_off once the verdict is given (smug_start) */
	const uint8_t *take_p;
	uint32_t take_n;
	uint32_t take_off;
	/* envelope checks (pol->envelope): capture state per flow entry and
	 * the line buffers of lines split across segments; allocated when a
	 * policy first asks for them. env_f/env_fr: the flow and frame whose
	 * SCR_EV_ENVELOPE is being reported (scr_engine_envelope stops there) */
	struct scr_envcap *envcap;
	struct scr_envcap_pool *envpool;
	struct scr_flow *env_f;
	struct scr_frame *env_fr;
	bool env_defer;		/* in on_bytes: the caller decides a stop */
	uint8_t env_rcpts;	/* RCPT TOs reported in this feed */
	bool env_resumed;	/* smug_start: bytes the capture had already */
	uint8_t portmap[65536 / 8];
};

const char *const scr_evict_name[SCR_EVICT_MAX] = {
	[SCR_EVICT_HALF_OPEN] = "half_open",
	[SCR_EVICT_CLOSING] = "closing",
	[SCR_EVICT_FAILED] = "failed",
	[SCR_EVICT_PASSED] = "passed",
};

/* per-frame scratch of a burst */
struct burst_item {
	struct scr_pkt pkt;
	struct scr_flow_key key;
	uint32_t hash;
	uint8_t status;		/* enum scr_dec_status */
	uint8_t dir;		/* 0 client -> server, 1 server -> client, 2 other */
	uint64_t ckey;		/* a client's SYN: its scr_ccount key */
};

/* Flow keys of a burst waiting to be hashed eight at a time: the lanes
 * (scr_flow_lanes) and the items they belong to. */
struct hash_batch {
	struct scr_flow_lanes l[2];
	struct burst_item *it[2][8];
};

/* client_ckey - the per-client flow count's key: IPv6 clients counted
 * per smtpscreen_client_ipv6_prefix_length */
static uint64_t client_ckey(const struct scr_engine *e, const struct scr_addr *a)
{
	struct scr_addr k = scr_addr_client_key(a, e->pol->client_v6_plen ?
						e->pol->client_v6_plen : 128);

	return scr_ccount_key(&k);
}

/* apply_gone - lower the counts of the connections that ended */
static void apply_gone(struct scr_engine *e)
{
	unsigned i;

	for (i = 0; i < e->ndec; i++)
		scr_ccount_dec(e->cc, e->dec_key[i]);
	e->ndec = 0;
}

/* count_gone - the client of f has one connection fewer (pending) */
static void count_gone(struct scr_engine *e, const struct scr_flow *f)
{
	uint64_t k = client_ckey(e, &f->key.client);

	if (e->ndec == SCR_DEC_PENDING)
		apply_gone(e);
	scr_ccount_prefetch(e->cc, k);
	e->dec_key[e->ndec++] = k;
}

/* Frames ahead whose bytes scr_engine_burst starts loading before it
 * decodes the current one. How many bytes of each: the headers (two
 * lines: link + IP + TCP) unless the caller says its frames are cold
 * (scr_engine_set_prefetch). */
#define PREFETCH_AHEAD 6
#define PREFETCH_HEADERS 128
#define PREFETCH_MAX 9216	/* a jumbo frame */

/* syn_only - a SYN without ACK or RST: a client opening a connection */
static inline bool syn_only(const struct scr_pkt *pk)
{
	return (pk->flags & (SCR_TCP_SYN | SCR_TCP_ACK | SCR_TCP_RST)) ==
	       SCR_TCP_SYN;
}

/* is_port - is p one of the screened ports */
static inline bool is_port(const struct scr_engine *e, uint16_t p)
{
	return e->portmap[p >> 3] & (1u << (p & 7));
}

/* set_ports - the port bitmap of a policy */
static void set_ports(struct scr_engine *e, const struct scr_policy *pol)
{
	unsigned i;

	memset(e->portmap, 0, sizeof(e->portmap));
	for (i = 0; i < pol->nports && i < 8; i++)
		e->portmap[pol->ports[i] >> 3] |= (uint8_t)(1u << (pol->ports[i] & 7));
}

/* scan_pool_size - streams for the flows that hold a split client line */
static uint32_t scan_pool_size(uint32_t flows)
{
	/* A flow holds a scanner stream only while a client line is split
	 * across segments: a pool for a sixteenth of the flows is plenty;
	 * when it runs dry only that line goes unscanned (counted). */
	return flows / 16 > 1024 ? flows / 16 : 1024;
}

/* env_alloc - envelope capture state for every flow entry, once a policy
 * asks for it; 0 or -ENOMEM (the capture stays off) */
static int env_alloc(struct scr_engine *e, const struct scr_policy *pol)
{
	if (!pol->envelope || e->envcap != NULL)
		return 0;
	e->envcap = calloc(e->ft->cap, sizeof(*e->envcap));
	e->envpool = scr_envcap_pool_create(scan_pool_size(e->ft->cap));
	if (e->envcap == NULL || e->envpool == NULL) {
		free(e->envcap);
		scr_envcap_pool_destroy(e->envpool);
		e->envcap = NULL;
		e->envpool = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* scr_engine_create - allocate one worker's engine */
struct scr_engine *scr_engine_create(const struct scr_policy *pol,
				     const struct scr_scan_db *db,
				     const struct scr_engine_hooks *hooks)
{
	struct scr_engine *e;
	uint32_t nslots;

	if (pol == NULL || hooks == NULL || hooks->client == NULL ||
	    hooks->event == NULL || pol->flow_table_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->pol = pol;
	e->db = db;
	e->hooks = *hooks;
	e->prefetch_bytes = PREFETCH_HEADERS;
	e->pending = -1;
	set_ports(e, pol);
	nslots = pol->flow_table_size / 128;
	if (nslots < 256)
		nslots = 256;
	e->ft = scr_flow_create(pol->flow_table_size);
	e->cc = scr_ccount_create(pol->flow_table_size);
	for (e->hq_mask = 1; e->hq_mask < pol->flow_table_size; e->hq_mask <<= 1)
		;
	e->hq_idx = malloc((size_t)e->hq_mask * sizeof(*e->hq_idx));
	e->hq_ms = malloc((size_t)e->hq_mask * sizeof(*e->hq_ms));
	e->hq_mask--;
	e->cli_fp = calloc(pol->flow_table_size, sizeof(*e->cli_fp));
	e->fp = scr_mem_zalloc(sizeof(*e->fp));	/* zero: initialized */
	e->ord = scr_tcpord_create(pol->reorder_window ? nslots : 0);
	e->env.pol = pol;
	scr_smtp_words_build(&e->words, db != NULL ? scr_scan_words(db) : NULL);
	e->env.words = &e->words;
	if (db != NULL)
		e->env.scan = scr_scan_thread_create(db,
			scan_pool_size(pol->flow_table_size));
	if (e->ft == NULL || e->ord == NULL || e->cc == NULL ||
	    e->hq_idx == NULL || e->hq_ms == NULL || e->cli_fp == NULL ||
	    e->fp == NULL ||
	    (db != NULL && e->env.scan == NULL) || env_alloc(e, pol) != 0) {
		scr_engine_destroy(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

/* fini_scanning - the scanner state of every flow in its tests freed */
static void fini_scanning(struct scr_engine *e)
{
	struct scr_flow_table *t = e->ft;
	uint32_t i;

	for (i = scr_flow_next_live(t, 0); i < t->cap;
	     i = scr_flow_next_live(t, i + 1))
		if (t->e[i].mode == SCR_FM_SCAN)
			scr_smtp_fini(&e->env, &t->e[i].smtp);
}

/* scr_engine_destroy - free the engine; flows are dropped without events */
void scr_engine_destroy(struct scr_engine *e)
{
	if (e == NULL)
		return;
	if (e->ft != NULL)
		fini_scanning(e);
	scr_scan_thread_destroy(e->env.scan);
	scr_tcpord_destroy(e->ord);
	scr_flow_destroy(e->ft);
	free(e->envcap);
	scr_envcap_pool_destroy(e->envpool);
	scr_ccount_destroy(e->cc);
	free(e->hq_idx);
	free(e->hq_ms);
	free(e->cli_fp);
	scr_mem_free(e->fp, sizeof(*e->fp));
	free(e);
}


/* ms32 - the clock as flows keep it: differences modulo 2^32 */
static inline uint32_t ms32(const struct scr_engine *e)
{
	return (uint32_t)e->now_ms;
}

/* smug_on - f's smuggling guard is following it */
static inline bool smug_on(const struct scr_engine *e, const struct scr_flow *f)
{
	return f->mode == SCR_FM_DECIDED && e->pol->smuggling_enable &&
	       scr_smug_active(&f->guard.g);
}

/* ev_init - common fields of an event about flow f */
static void ev_init(struct scr_engine *e, struct scr_event *ev,
		    enum scr_event_type type, const struct scr_flow *f,
		    const struct scr_frame *fr)
{
	memset(ev, 0, offsetof(struct scr_event, text));
	ev->type = type;
	ev->key = f->key;
	ev->ts_ns = fr ? fr->ts_ns : e->epoch_ns + (uint64_t)e->now_ms * 1000000u;
	ev->pkt_no = fr ? fr->pkt_no : 0;
	ev->elapsed_ns = (uint64_t)(ms32(e) - f->start_ms) * 1000000u;
}

/* ev_after - ev->after is the text s, cut to fit (once per session:
 * snprintf was the dearest call of a session's end) */
static void ev_after(struct scr_event *ev, const char *s)
{
	size_t n = strnlen(s, sizeof(ev->after) - 1);

	memcpy(ev->after, s, n);
	ev->after[n] = '\0';
}

/* ev_tail_clear - zero the fields of struct scr_event between text[] and
 * arg[] (those two are read only up to text_len and arg_len: ev_init
 * zeroed the one, this the other; 350 bytes a session less to clear) */
static void ev_tail_clear(struct scr_event *ev)
{
	char *tail = (char *)ev + offsetof(struct scr_event, verdict);

	memset(tail, 0, offsetof(struct scr_event, arg) -
			offsetof(struct scr_event, verdict));
}

_Static_assert(offsetof(struct scr_event, verdict) >=
	       offsetof(struct scr_event, text) + SCR_EV_TEXT_MAX &&
	       offsetof(struct scr_event, text_len) < offsetof(struct scr_event, text) &&
	       sizeof(struct scr_event) - offsetof(struct scr_event, arg) <
	       SCR_ENV_ARG_MAX + 8, "text[] then the tail, arg[] last");

/* final_verdict - the verdict of a flow from what is known now */
static enum scr_verdict final_verdict(const struct scr_flow *f, bool passed)
{
	if (f->flags & SCR_FF_LISTED_REJECT)
		return SCR_V_BLOCKLISTED;
	if (f->reasons)
		return SCR_V_FAIL;
	if (passed && !(f->flags & SCR_FF_GAP))
		return SCR_V_PASS;
	return SCR_V_UNKNOWN;
}

/* decide - give the flow its verdict once; it takes the fast path */
static void decide(struct scr_engine *e, struct scr_flow *f,
		   struct scr_frame *fr, enum scr_verdict v)
{
	scr_reasons reasons = f->reasons;
	struct scr_event ev;
	unsigned t;

	if (f->flags & SCR_FF_VERDICT_SENT)
		return;
	if (f->mode == SCR_FM_SCAN) {
		struct scr_smug_from from;
		const char *where = scr_smtp_where(&f->smtp);

		if (scr_smtp_limit(&f->smtp) != SCR_END_CLOSE)
			reasons |= (scr_reasons)SCR_REASON_COMMAND_LIMIT;
		scr_smtp_handoff(&f->smtp, e->take_off, &from);
		scr_smtp_fini(&e->env, &f->smtp);
		/* the guard takes the SMTP machine's place */
		if (e->pol->smuggling_enable && !(f->flags & SCR_FF_GAP) &&
		    (f->seq_known & 3) == 3)
			scr_smug_resume(&f->guard.g, &from);
		else
			scr_smug_off(&f->guard.g);
		f->guard.where = where;
		e->take_off = from.off;		/* for smug_start */
		e->nscan--;
		f->mode = SCR_FM_DECIDED;
		/* segments kept out of order go on to the smuggling guard */
		if (!smug_on(e, f) || f->stop_pkt)
			scr_tcpord_release(e->ord, f);
	} else if (f->mode == SCR_FM_NEW) {
		/* decided at the SYN: the guard follows from the start */
		if (e->pol->smuggling_enable)
			scr_smug_init(&f->guard.g);
		else
			scr_smug_off(&f->guard.g);
		f->guard.where = NULL;
	}
	f->flags |= SCR_FF_VERDICT_SENT;
	f->mode = SCR_FM_DECIDED;
	f->verdict = (uint8_t)v;
	e->st.verdict[v]++;
	for (t = 0; t < SCR_TEST_MAX; t++)
		if (f->reasons & SCR_TEST_BIT(t))
			e->st.failed[t]++;
	if (f->stop_pkt)
		e->st.stopped++;
	if (f->flags & SCR_FF_PASS_OLD)
		e->st.pass_old++;
	ev_init(e, &ev, SCR_EV_VERDICT, f, fr);
	ev_tail_clear(&ev);
	ev.verdict = v;
	ev.reasons = reasons;
	ev.pass_old = (f->flags & SCR_FF_PASS_OLD) != 0;
	ev.stop_pkt = f->stop_pkt;
	e->hooks.event(e->hooks.arg, &ev);
}

/* end_session - the session is over: verdict if none yet, END event once */
static void end_session(struct scr_engine *e, struct scr_flow *f,
			struct scr_frame *fr, enum scr_end_reason why)
{
	struct scr_event ev;
	const char *where;

	if (!(f->flags & SCR_FF_VERDICT_SENT)) {
		bool passed = f->mode == SCR_FM_SCAN && scr_smtp_passed(&f->smtp);

		decide(e, f, fr, final_verdict(f, passed));
	}
	if (f->flags & SCR_FF_END_SENT)
		return;
	f->flags |= SCR_FF_END_SENT;
	/* the connection is over: it no longer counts for its client */
	count_gone(e, f);
	e->st.ended[why]++;
	ev_init(e, &ev, SCR_EV_END, f, fr);
	where = f->mode == SCR_FM_SCAN ? scr_smtp_where(&f->smtp) : f->guard.where;
	if (where != NULL)
		ev_after(&ev, where);
	ev_tail_clear(&ev);
	ev.verdict = (enum scr_verdict)f->verdict;
	ev.reasons = f->reasons;
	if (why == SCR_END_COMMAND_COUNT || why == SCR_END_COMMAND_LENGTH)
		ev.reasons |= (scr_reasons)SCR_REASON_COMMAND_LIMIT;
	ev.pass_old = (f->flags & SCR_FF_PASS_OLD) != 0;
	ev.end = why;
	e->hooks.event(e->hooks.arg, &ev);
}

/* unlink_swept - the flows a sweep ended leave the table */
static void unlink_swept(struct scr_engine *e)
{
	scr_flow_remove_many(e->ft, e->swept, e->nswept);
	e->nswept = 0;
}

/* finish - the flow leaves the table */
static void finish(struct scr_engine *e, struct scr_flow *f,
		   struct scr_frame *fr, enum scr_end_reason why)
{
	end_session(e, f, fr, why);
	scr_tcpord_release(e->ord, f);	/* the guard's out-of-order segments */
	if (e->envcap != NULL) {
		struct scr_envcap *c = &e->envcap[scr_flow_index(e->ft, f)];

		scr_envcap_stop(c, e->envpool);
		c->wait = 0;
	}
	if (!e->sweeping) {
		scr_flow_remove(e->ft, f);
		return;
	}
	/* a sweep ends flows whose buckets are nowhere in the cache: take
	 * them out of the table eight at a time */
	e->swept[e->nswept++] = f;
	if (e->nswept == SWEPT_BATCH)
		unlink_swept(e);
}

/* stop_here - the session is stopped at this frame (enforce/drop) */
static void stop_here(struct scr_flow *f, struct scr_frame *fr)
{
	if (f->stop_pkt == 0) {
		f->stop_pkt = fr->pkt_no;
		fr->action = SCR_PKT_STOP;
	}
}

/* amend_fail - a failure found after f's verdict (smuggling, envelope):
 * the verdict becomes FAIL, told again (stopped: the session stops) */
static void amend_fail(struct scr_engine *e, struct scr_flow *f,
		       struct scr_frame *fr, bool stopped)
{
	struct scr_event ev;

	if (!(f->flags & SCR_FF_VERDICT_SENT))
		return;		/* the verdict to come carries the reason */
	if (stopped)
		e->st.stopped++;
	e->st.verdict[f->verdict]--;
	e->st.verdict[SCR_V_FAIL]++;
	f->verdict = SCR_V_FAIL;
	ev_init(e, &ev, SCR_EV_VERDICT, f, fr);
	ev_tail_clear(&ev);
	ev.verdict = SCR_V_FAIL;
	ev.reasons = f->reasons;
	ev.amend = true;
	ev.stop_pkt = f->stop_pkt;
	e->hooks.event(e->hooks.arg, &ev);
}

/* env_verb - the verb of an envelope command, for the event's after */
static const char *const env_verb[SCR_ENV_MAX] = {
	[SCR_ENV_HELO] = "HELO", [SCR_ENV_EHLO] = "EHLO",
	[SCR_ENV_MAIL] = "MAIL FROM", [SCR_ENV_RCPT] = "RCPT TO",
};

/* env_report - scr_envcap callback: one envelope command for ctrl;
 * non-zero (end the capture) once ctrl stopped the session */
static int env_report(void *arg, enum scr_env_cmd cmd, const uint8_t *a,
		      uint32_t a_len)
{
	struct scr_engine *e = arg;
	struct scr_flow *f = e->env_f;
	struct scr_event ev;

	e->st.envelope[cmd]++;
	if (cmd == SCR_ENV_RCPT && e->env_rcpts < 255)
		e->env_rcpts++;
	ev_init(e, &ev, SCR_EV_ENVELOPE, f, e->env_fr);
	ev_after(&ev, env_verb[cmd]);
	ev.text_len = 0;
	ev_tail_clear(&ev);
	ev.env = (uint8_t)cmd;
	ev.arg_len = (uint16_t)a_len;	/* < SCR_ENV_ARG_MAX (scr_envcap) */
	memcpy(ev.arg, a, a_len);
	ev.arg[a_len] = '\0';
	e->hooks.event(e->hooks.arg, &ev);
	return f->stop_pkt != 0 || (f->flags & SCR_FF_STOP_NEXT);
}

/* env_cap - f's envelope capture when it is being followed, else NULL */
static struct scr_envcap *env_cap(struct scr_engine *e, const struct scr_flow *f)
{
	struct scr_envcap *c;

	if (e->envcap == NULL || !e->pol->envelope || f->stop_pkt ||
	    f->verdict == SCR_V_ALLOWLISTED)
		return NULL;
	c = &e->envcap[scr_flow_index(e->ft, f)];
	return scr_envcap_active(c) ? c : NULL;
}

/* env_feed - client bytes in order to f's capture; seq: where they start
 * (NULL: right where the capture stands, from an ordered delivery) */
static void env_feed(struct scr_engine *e, struct scr_flow *f,
		     struct scr_frame *fr, const uint32_t *seq,
		     const uint8_t *p, uint32_t n)
{
	struct scr_envcap *c = env_cap(e, f);
	unsigned r;

	if (c == NULL)
		return;
	e->env_f = f;
	e->env_fr = fr;
	e->env_rcpts = 0;
	r = scr_envcap_feed(c, e->envpool, seq ? *seq : c->seq, p, n, env_report, e);
	e->env_f = NULL;
	e->env_fr = NULL;
	/* RCPT TOs ctrl did not answer at once: the front end keeps the
	 * client's frames from this one on until it has answered each */
	if (e->env_rcpts && fr != NULL && (fr->flags & SCR_FRAME_WAIT_OK) &&
	    !f->stop_pkt && !(f->flags & SCR_FF_STOP_NEXT))
		c->wait = (uint8_t)(c->wait + e->env_rcpts < 255 ?
				    c->wait + e->env_rcpts : 255);
	if (r & SCR_ENVCAP_R_LOST)
		e->st.envelope_lost++;
	if (r & SCR_ENVCAP_R_BAD)
		e->st.envelope_unread++;
	if (r & SCR_ENVCAP_R_NOBUF)
		e->st.envelope_nobuf++;
}

/* env_segment - a client segment of a decided flow the smuggling guard
 * does not order: to the capture as it comes (a gap ends the capture) */
static void env_segment(struct scr_engine *e, struct scr_flow *f,
			const struct burst_item *it, struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;
	struct scr_envcap *c;

	if (e->envcap == NULL || it->dir != 0 || pk->payload_len == 0 ||
	    f->mode != SCR_FM_DECIDED || smug_on(e, f) ||
	    (c = env_cap(e, f)) == NULL)
		return;
	if (pk->truncated) {
		scr_envcap_stop(c, e->envpool);
		e->st.envelope_lost++;
		return;
	}
	env_feed(e, f, fr, &pk->seq, pk->payload, pk->payload_len);
}

/* smug_report - a result of f's smuggling guard: the SMUGGLING event
 * once per kind (a sequence; commands after one), the stop its action
 * asks for, and the verdict amended when it was given already. text: the
 * bytes from the sequence (at most SCR_EV_TEXT_MAX). */
static void smug_report(struct scr_engine *e, struct scr_flow *f,
			struct scr_frame *fr, unsigned r, bool bdat,
			const uint8_t *text, uint32_t text_len)
{
	struct scr_smug *g = &f->guard.g;
	enum scr_action act = (enum scr_action)e->pol->smuggling_action;
	bool cmds = (r & SCR_SMUG_R_STRONG) != 0;
	bool stop = act == SCR_ACT_DROP || (act == SCR_ACT_ENFORCE && cmds);
	struct scr_event ev;

	if (f->stop_pkt)
		return;		/* stopped already: nothing more reaches the server */
	if (cmds ? (g->rep & SCR_SMUG_R_STRONG) :
	    (g->rep & (SCR_SMUG_R_SEQ | SCR_SMUG_R_STRONG)) ||
	    !(r & (act == SCR_ACT_DROP ? SCR_SMUG_R_SEQ : SCR_SMUG_R_WEAK)))
		return;
	if (g->rep == 0)
		e->st.smuggling++;
	if (cmds)
		e->st.smuggling_cmds++;
	g->rep |= (uint8_t)(cmds ? SCR_SMUG_R_STRONG : SCR_SMUG_R_SEQ);
	ev_init(e, &ev, SCR_EV_SMUGGLING, f, fr);
	ev_tail_clear(&ev);
	ev.action = act;
	ev.count = cmds;
	ev_after(&ev, bdat ? "BDAT" : "DATA");
	ev.text_len = (uint16_t)(text_len < SCR_EV_TEXT_MAX ? text_len : SCR_EV_TEXT_MAX);
	memcpy(ev.text, text, ev.text_len);
	e->hooks.event(e->hooks.arg, &ev);
	f->reasons |= (scr_reasons)SCR_REASON_SMUGGLING;
	if (stop) {
		stop_here(f, fr);
		e->st.smuggling_stopped++;
	}
	amend_fail(e, f, fr, stop);
}

/* smug_bytes - tcpord callback on the fast path: in-order bytes of a
 * decided flow to its guard; non-zero stops the delivery (stopped, or the
 * guard is done) */
static int smug_bytes(void *arg, unsigned dir, const uint8_t *p, uint32_t n)
{
	struct scr_engine *e = arg;
	struct scr_flow *f = e->cur;
	struct scr_smug_detail d = {0};
	unsigned r;

	e->st.smuggling_bytes += n;
	if (dir == 0 && !e->env_resumed)
		env_feed(e, f, e->cur_fr, NULL, p, n);
	if (f->stop_pkt)
		return 1;
	r = scr_smug_feed(&f->guard.g, dir == 0, p, n, &d);
	if (r != 0)
		smug_report(e, f, e->cur_fr, r, d.bdat, p + d.off, n - d.off);
	return f->stop_pkt || !smug_on(e, f);
}

/* smug_segment - a segment of a decided flow to its smuggling guard, in
 * order (scr_tcpord: in-order bytes are read where they are, a segment
 * ahead is kept until the hole fills); a gap it cannot fill, or a
 * truncated capture, ends the guard for the flow */
static void smug_segment(struct scr_engine *e, struct scr_flow *f,
			 const struct burst_item *it, struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;
	unsigned dir = it->dir;
	enum scr_ord_result r;

	if (!smug_on(e, f))
		return;
	if ((pk->flags & SCR_TCP_SYN) && dir == 1 && !(f->seq_known & 2)) {
		f->seq_next[1] = pk->seq + 1;
		f->seq_known |= 2;
	}
	if (pk->payload_len == 0)
		return;
	r = SCR_ORD_GAP;
	if ((f->seq_known & (1u << dir)) && !pk->truncated) {
		e->cur = f;
		e->cur_fr = fr;
		/* segments the tests' last delivery left behind come first */
		r = f->ooo ? scr_tcpord_drain(e->ord, f, dir, smug_bytes, e) :
			     SCR_ORD_OK;
		if (r == SCR_ORD_OK)
			r = scr_tcpord_segment(e->ord, f, dir, pk->seq, pk->payload,
					       pk->payload_len, e->pol->reorder_window,
					       smug_bytes, e);
	}
	if (r == SCR_ORD_GAP) {
		e->st.smuggling_lost++;
		scr_smug_off(&f->guard.g);
	}
	if (!smug_on(e, f) || f->stop_pkt)
		scr_tcpord_release(e->ord, f);
}

/* smug_start - the guard goes on with the rest of the client feed the
 * SMTP machine stopped in (a message sent with DATA, a BDAT chunk) */
static void smug_start(struct scr_engine *e, struct scr_flow *f,
		       struct scr_frame *fr)
{
	uint32_t off = e->take_off;

	e->take_off = UINT32_MAX;
	if (off == UINT32_MAX || off >= e->take_n || !smug_on(e, f) || f->stop_pkt)
		return;
	e->cur = f;
	e->cur_fr = fr;
	e->env_resumed = true;	/* the capture had the whole feed (on_bytes) */
	(void)smug_bytes(e, 0, e->take_p + off, e->take_n - off);
	e->env_resumed = false;
}

/* on_bytes - tcpord callback: in-order payload to the SMTP machine */
static int on_bytes(void *arg, unsigned dir, const uint8_t *p, uint32_t n)
{
	struct scr_engine *e = arg;
	struct scr_flow *f = e->cur;
	struct scr_frame *fr = e->cur_fr;
	unsigned r, t;

	uint16_t cmds = f->smtp.cmds;
	bool greeted = scr_smtp_where(&f->smtp) != NULL;

	e->st.scanned_bytes += n;
	if (dir == 0) {
		/* the capture first: a reject it gets stops this frame before
		 * the SMTP machine reads it (its verdict given by the caller) */
		e->env_defer = true;
		env_feed(e, f, fr, NULL, p, n);
		e->env_defer = false;
		if (f->stop_pkt) {
			e->pending = final_verdict(f, false);
			return 1;
		}
	}
	r = scr_smtp_feed(&e->env, &f->smtp, dir == 0, p, n);
	if (dir == 0) {
		e->take_p = p;
		e->take_n = n;
		e->take_off = e->env.take_off;
	}
	if (f->smtp.cmds != cmds ||
	    (!greeted && scr_smtp_where(&f->smtp) != NULL))
		f->line_ms = ms32(e);	/* a whole command line came, or the
					 * greeting: the client's turn starts */
	if (r & SCR_SMTP_R_FAIL) {
		for (t = 0; t < SCR_TEST_MAX; t++) {
			struct scr_event ev;
			const struct scr_smtp_detail *d = &e->env.det[t];
			enum scr_action act;

			if (!(e->env.newly & SCR_TEST_BIT(t)))
				continue;
			act = (enum scr_action)e->pol->action[t];
			f->reasons |= (scr_reasons)SCR_TEST_BIT(t);
			ev_init(e, &ev, SCR_EV_FAIL, f, fr);
			ev.test = (enum scr_test)t;
			ev.action = act;
			ev.count = d->count;
			memcpy(ev.after, d->after, sizeof(ev.after));
			ev.after[sizeof(ev.after) - 1] = '\0';
			ev.text_len = d->text_len < SCR_EV_TEXT_MAX ?
				      d->text_len : SCR_EV_TEXT_MAX;
			memcpy(ev.text, d->text, ev.text_len);
			ev.verdict = SCR_V_FAIL;
			ev.reasons = f->reasons;
			ev.pass_old = false;
			ev.stop_pkt = 0;
			ev.end = SCR_END_CLOSE;
			e->hooks.event(e->hooks.arg, &ev);
			if (act == SCR_ACT_DROP)
				stop_here(f, fr);
			else if (act == SCR_ACT_ENFORCE)
				f->enforce |= (uint8_t)SCR_TEST_BIT(t);
		}
		if (f->stop_pkt) {
			e->pending = final_verdict(f, false);
			return 1;
		}
	}
	if (r & SCR_SMTP_R_LIMIT) {
		/* postscreen: 421 and hang up; the tests the client had time
		 * for count (a client past HELO with nothing failed passes:
		 * its next session is not cut again) */
		stop_here(f, fr);
		e->limit_end = (uint8_t)scr_smtp_limit(&f->smtp);
		e->pending = final_verdict(f, scr_smtp_passed(&f->smtp));
		return 1;
	}
	if ((r & SCR_SMTP_R_COMMIT) && f->enforce) {
		stop_here(f, fr);
		e->pending = final_verdict(f, false);
		return 1;
	}
	if (r & SCR_SMTP_R_UNDECIDED)
		e->st.undecided++;
	if (r & (SCR_SMTP_R_DONE | SCR_SMTP_R_NOTSMTP | SCR_SMTP_R_UNDECIDED)) {
		e->pending = final_verdict(f, (r & SCR_SMTP_R_DONE) &&
					   scr_smtp_passed(&f->smtp));
		return 1;
	}
	return 0;
}

/* connected - CONNECT, once per flow: at the SYN for a client the access
 * list or the cache decides at once; for a client with tests to run when
 * its handshake completes (its first frame after the SYN/ACK), as
 * postscreen logs accepted connections only: a spoofed SYN never gets one */
static void connected(struct scr_engine *e, struct scr_flow *f,
		      const struct scr_frame *fr)
{
	struct scr_event ev;

	if (f->seq_known & SCR_SK_CONNECT)
		return;
	f->seq_known |= SCR_SK_CONNECT;
	ev_init(e, &ev, SCR_EV_CONNECT, f, fr);
	ev_tail_clear(&ev);
	e->hooks.event(e->hooks.arg, &ev);
}

/* hq_push - a half-open undecided flow joins the eviction FIFO */
static void hq_push(struct scr_engine *e, const struct scr_flow *f)
{
	uint32_t slot;

	if (e->hq_n > e->hq_mask) {	/* full: the oldest loses its place */
		e->hq_head = (e->hq_head + 1) & e->hq_mask;
		e->hq_n--;
	}
	slot = (e->hq_head + e->hq_n) & e->hq_mask;
	e->hq_idx[slot] = scr_flow_index(e->ft, f);
	e->hq_ms[slot] = f->start_ms;
	e->hq_n++;
}

/* hq_pop - the oldest flow of the FIFO that is still half-open, or NULL */
static struct scr_flow *hq_pop(struct scr_engine *e)
{
	while (e->hq_n) {
		struct scr_flow *f = &e->ft->e[e->hq_idx[e->hq_head]];
		uint32_t ms = e->hq_ms[e->hq_head];

		e->hq_head = (e->hq_head + 1) & e->hq_mask;
		e->hq_n--;
		if (f->state == SCR_FS_SYN && f->mode == SCR_FM_SCAN &&
		    f->start_ms == ms)
			return f;
	}
	return NULL;
}

/* evict_kind - what evicting f would cost; SCR_EVICT_MAX: not evictable */
static enum scr_evict_kind evict_kind(const struct scr_engine *e,
				      const struct scr_flow *f)
{
	if (f->state == SCR_FS_FREE)
		return SCR_EVICT_MAX;
	if (f->state == SCR_FS_CLOSING)
		return SCR_EVICT_CLOSING;
	if (f->mode != SCR_FM_DECIDED)
		return f->state == SCR_FS_SYN ? SCR_EVICT_HALF_OPEN : SCR_EVICT_MAX;
	if (f->verdict == SCR_V_PASS || f->verdict == SCR_V_ALLOWLISTED)
		return e->nscan == 0 ? SCR_EVICT_PASSED : SCR_EVICT_MAX;
	return SCR_EVICT_FAILED;
}

/* make_room - evict one flow by the policy (see the top); false: none */
static bool make_room(struct scr_engine *e)
{
	struct scr_flow *v = hq_pop(e);
	enum scr_evict_kind kind = SCR_EVICT_HALF_OPEN;

	if (v == NULL) {
		uint32_t i, best_idle = 0;

		/* A sample from the clock hand: the cheapest kind, then the
		 * longest idle (half-open ones the FIFO lost count as such). */
		kind = SCR_EVICT_MAX;
		for (i = 0; i < EVICT_SAMPLE; i++) {
			struct scr_flow *c = &e->ft->e[e->ft->hand];
			enum scr_evict_kind k = evict_kind(e, c);
			uint32_t idle = ms32(e) - c->last_ms;

			e->ft->hand = e->ft->hand + 1 == e->ft->cap ? 0 :
				      e->ft->hand + 1;
			if (k < kind || (k == kind && k != SCR_EVICT_MAX &&
					 idle > best_idle)) {
				v = c;
				kind = k;
				best_idle = idle;
			}
		}
		if (v == NULL)
			return false;
	}
	e->st.evicted[kind]++;
	finish(e, v, NULL, SCR_END_EVICTED);
	return true;
}

/* stress_update - enter/leave stress mode at the marks; event at changes */
static void stress_update(struct scr_engine *e)
{
	uint64_t used = e->ft->used, cap = e->ft->cap;
	bool table_on = used * 100 >= cap * STRESS_ON_PCT;
	bool table_off = used * 100 <= cap * STRESS_OFF_PCT;
	bool want = e->stress ? !(table_off && !e->pressure) :
				(table_on || e->pressure);
	struct scr_event ev;

	if (want == e->stress)
		return;
	e->stress = want;
	if (want)
		e->st.stress_enter++;
	memset(&ev, 0, sizeof(ev));
	ev.type = SCR_EV_STRESS;
	ev.ts_ns = e->epoch_ns + (uint64_t)e->now_ms * 1000000u;
	ev.count = (uint32_t)used;
	ev.stress = want;
	e->hooks.event(e->hooks.arg, &ev);
}

/* too_many - postscreen_client_connection_count_limit: CONNECT, then
 * NOQUEUE ... too many connections; the SYN is dropped (no 421 at packet
 * level: the client tries again later) */
static bool too_many(struct scr_engine *e, struct burst_item *it,
		     struct scr_frame *fr, uint64_t ckey)
{
	unsigned n, i;
	struct scr_event ev;

	if (e->pol->client_flow_limit == 0)
		return false;
	n = scr_ccount_get(e->cc, ckey);
	for (i = 0; i < e->ndec; i++)
		n -= e->dec_key[i] == ckey;
	if (n < e->pol->client_flow_limit)
		return false;
	e->st.client_limit++;
	fr->action = SCR_PKT_DROP;
	memset(&ev, 0, sizeof(ev));
	ev.type = SCR_EV_CONNECT;
	ev.key = it->key;
	ev.ts_ns = fr->ts_ns;
	ev.pkt_no = fr->pkt_no;
	e->hooks.event(e->hooks.arg, &ev);
	ev.type = SCR_EV_TOO_MANY;
	ev.count = n + 1;
	e->hooks.event(e->hooks.arg, &ev);
	return true;
}

/* new_flow - a client SYN: ask ctrl about the client, start the tests */
static void new_flow(struct scr_engine *e, struct burst_item *it,
		     struct scr_frame *fr)
{
	struct scr_client_info info = {0};
	struct scr_flow *f;
	struct scr_event ev;
	uint64_t ckey = it->ckey;	/* set by scr_engine_burst */

	if (too_many(e, it, fr, ckey))
		return;
	f = scr_flow_insert(e->ft, &it->key, it->hash);
	if (f == NULL && make_room(e))
		f = scr_flow_insert(e->ft, &it->key, it->hash);
	if (f == NULL) {
		/* smtpscreen_overload_policy: pass lets the session through
		 * unscreened (its packets find no flow); drop drops the SYN */
		e->st.overload++;
		if (e->pol->overload_drop)
			fr->action = SCR_PKT_DROP;
		return;
	}
	scr_ccount_inc(e->cc, ckey);
	e->st.flows++;
	f->state = SCR_FS_SYN;
	f->start_ms = f->last_ms = f->line_ms = ms32(e);
	f->seq_next[0] = it->pkt.seq + 1;
	f->seq_known = 1;
	if (e->envcap != NULL && e->pol->envelope)
		scr_envcap_start(&e->envcap[scr_flow_index(e->ft, f)], e->envpool,
				 f->seq_next[0]);
	e->hooks.client(e->hooks.arg, &f->key, fr->ts_ns, &info);
	if (info.cls != SCR_CLIENT_NEW ||
	    !(info.todo & e->pol->enabled & SCR_TESTS_STREAM))
		connected(e, f, fr);
	ev_init(e, &ev, SCR_EV_LISTED, f, fr);
	ev_tail_clear(&ev);

	switch (info.cls) {
	case SCR_CLIENT_PERMIT:
		ev.cls = info.cls;
		e->hooks.event(e->hooks.arg, &ev);
		decide(e, f, fr, SCR_V_ALLOWLISTED);
		return;
	case SCR_CLIENT_REJECT:
		ev.cls = info.cls;
		e->hooks.event(e->hooks.arg, &ev);
		f->flags |= SCR_FF_LISTED_REJECT;
		f->reasons |= (scr_reasons)SCR_TEST_BIT(SCR_TEST_ACCESS);
		switch (e->pol->action[SCR_TEST_ACCESS]) {
		case SCR_ACT_DROP:
			stop_here(f, fr);
			decide(e, f, fr, SCR_V_BLOCKLISTED);
			return;
		case SCR_ACT_ENFORCE:
			f->enforce |= (uint8_t)SCR_TEST_BIT(SCR_TEST_ACCESS);
			break;
		case SCR_ACT_IGNORE:
			break;
		default:
			scr_panic("new_flow: denylist action %d out of range",
				  (int)e->pol->action[SCR_TEST_ACCESS]);
		}
		info.todo = e->pol->enabled;
		break;
	case SCR_CLIENT_BLOCKED:
		ev.cls = info.cls;
		e->hooks.event(e->hooks.arg, &ev);
		f->reasons = info.reasons ? info.reasons :
			     (scr_reasons)SCR_TEST_BIT(SCR_TEST_ACCESS);
		stop_here(f, fr);
		decide(e, f, fr, SCR_V_FAIL);
		return;
	case SCR_CLIENT_NEW:
		break;
	default:
		scr_panic("new_flow: client class %d out of range",
			  (int)info.cls);
	}
	if (e->pol->dnsbl_wait && (info.todo & SCR_TEST_BIT(SCR_TEST_DNSBL)))
		f->seq_known |= SCR_SK_DNSBL;
	info.todo &= (uint8_t)(e->pol->enabled & SCR_TESTS_STREAM);
	if (info.todo == 0) {
		if (info.pass_old)
			f->flags |= SCR_FF_PASS_OLD;
		decide(e, f, fr, final_verdict(f, true));
		return;
	}
	scr_smtp_init(&f->smtp, info.todo);
	e->cli_fp[scr_flow_index(e->ft, f)] = 0;
	f->mode = SCR_FM_SCAN;
	e->nscan++;
	hq_push(e, f);
}

/* cli_fp_of - fingerprint of the first len bytes of a client segment:
 * seq, length, and the bytes' keyed 16-bit fingerprint (scr_hash_fp16:
 * a client cannot aim a collision) */
static uint64_t cli_fp_of(struct scr_engine *e, const struct scr_pkt *pk,
			  uint32_t len)
{
	return (uint64_t)pk->seq << 32 | (uint64_t)(len & 0xffff) << 16 |
	       scr_hash_fp16(e->fp, pk->payload, len);
}

/* cli_fp_set - pk is the next client segment in order: remember it,
 * unless a failure on the segment remembered waits for its ACK */
static void cli_fp_set(struct scr_engine *e, const struct scr_flow *f,
		       const struct scr_pkt *pk)
{
	if (pk->payload_len <= 0xffff && !(f->seq_known & SCR_SK_UNACKED))
		e->cli_fp[scr_flow_index(e->ft, f)] = cli_fp_of(e, pk, pk->payload_len);
}

/* cli_contradicts - pk resends the client segment remembered (same seq,
 * as long or longer: a retransmission may carry more) with other bytes */
static bool cli_contradicts(struct scr_engine *e, const struct scr_flow *f,
			    const struct scr_pkt *pk)
{
	uint64_t fp = e->cli_fp[scr_flow_index(e->ft, f)];
	uint32_t len = (uint32_t)(fp >> 16) & 0xffff;

	if (fp == 0 || (int32_t)(pk->seq - f->seq_next[0]) >= 0 ||
	    (fp >> 32) != pk->seq || pk->payload_len < len)
		return false;
	return fp != cli_fp_of(e, pk, len);
}

/* cli_acked - the server's ACK covers the client segment remembered */
static bool cli_acked(const struct scr_engine *e, const struct scr_flow *f,
		      const struct scr_pkt *pk)
{
	uint64_t fp = e->cli_fp[scr_flow_index(e->ft, f)];
	uint32_t end = (uint32_t)(fp >> 32) + ((uint32_t)(fp >> 16) & 0xffff);

	return (pk->flags & SCR_TCP_ACK) && (int32_t)(pk->ack - end) >= 0;
}

/* unacked - a segment of a flow whose failure waits for the server's ACK
 * of the bytes it failed on (smtpscreen replay: a tap can show a copy the
 * server never got). The ACK confirms the failure; a copy of that segment
 * with other bytes before it means the server may have taken the other
 * copy: the flow is unknown, counted as contradicted. True when the
 * segment is dealt with here. */
static bool unacked(struct scr_engine *e, struct scr_flow *f,
		    const struct burst_item *it, struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;

	if (it->dir == 1 && cli_acked(e, f, pk)) {
		f->seq_known &= (uint8_t)~SCR_SK_UNACKED;
		if (f->seq_known & SCR_SK_WAIT) {
			f->seq_known &= (uint8_t)~SCR_SK_WAIT;
			decide(e, f, fr, final_verdict(f, false));
			return true;
		}
		return false;
	}
	if (it->dir == 0 && cli_contradicts(e, f, pk)) {
		e->st.contradicted++;
		f->seq_known &= (uint8_t)~(SCR_SK_UNACKED | SCR_SK_WAIT);
		f->reasons = 0;
		f->enforce = 0;
		f->stop_pkt = 0;
		f->flags |= SCR_FF_GAP;
		decide(e, f, fr, SCR_V_UNKNOWN);
		return true;
	}
	/* waiting for the ACK: the verdict is made, the bytes after it do
	 * not change it */
	return (f->seq_known & SCR_SK_WAIT) != 0;
}

/* scan_segment_do - a segment of an undecided flow (scan_segment) */
static void scan_segment_do(struct scr_engine *e, struct scr_flow *f,
			    struct burst_item *it, struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;
	unsigned dir = it->dir;
	enum scr_ord_result r;
	scr_reasons reasons;

	if ((pk->flags & SCR_TCP_SYN) && dir == 1 && !(f->seq_known & 2)) {
		f->seq_next[1] = pk->seq + 1;
		f->seq_known |= 2;
		f->state = SCR_FS_EST;
	}
	if ((f->seq_known & SCR_SK_UNACKED) && unacked(e, f, it, fr))
		return;
	if (pk->payload_len == 0)
		return;
	if (!(f->seq_known & (1u << dir))) {
		e->st.no_synack++;
		goto gap;
	}
	if (dir == 0 && !(f->seq_known & 2) && !(pk->flags & SCR_TCP_SYN)) {
		/* The client talks on a connection whose SYN/ACK was never
		 * seen: a tap on one direction, asymmetric routing, a lost
		 * sample. Without the server's greeting and replies neither
		 * pregreet nor pipelining can be judged. */
		e->st.no_server++;
		decide(e, f, fr, final_verdict(f, false));
		return;
	}
	if (dir == 0 && cli_contradicts(e, f, pk)) {
		/* A copy of bytes already judged, with other bytes: which
		 * one the server took is not known here (an evasion, or a
		 * capture that shows a copy the server never got). */
		e->st.contradicted++;
		f->flags |= SCR_FF_GAP;
		decide(e, f, fr, final_verdict(f, false));
		return;
	}
	e->cur = f;
	e->cur_fr = fr;
	e->pending = -1;
	e->limit_end = SCR_END_CLOSE;
	e->take_off = UINT32_MAX;
	if (dir == 0 && pk->seq == f->seq_next[0])
		cli_fp_set(e, f, pk);
	reasons = f->reasons;
	r = scr_tcpord_segment(e->ord, f, dir, pk->seq, pk->payload,
			       pk->payload_len, e->pol->reorder_window,
			       on_bytes, e);
	if (e->pol->ack_confirm && f->reasons != reasons && dir == 0 &&
	    pk->payload_len <= 0xffff &&
	    e->cli_fp[scr_flow_index(e->ft, f)] >> 32 == pk->seq)
		f->seq_known |= SCR_SK_UNACKED;
	if (e->pending == SCR_V_FAIL && (f->seq_known & SCR_SK_UNACKED)) {
		f->seq_known |= SCR_SK_WAIT;
		return;
	}
	if (e->pending >= 0) {
		decide(e, f, fr, (enum scr_verdict)e->pending);
		if (e->limit_end != SCR_END_CLOSE)
			end_session(e, f, fr, (enum scr_end_reason)e->limit_end);
		else
			smug_start(e, f, fr);
		return;
	}
	if (r == SCR_ORD_GAP)
		goto gap;
	if (pk->truncated)
		goto gap;
	return;
gap:
	e->st.gaps++;
	f->flags |= SCR_FF_GAP;
	decide(e, f, fr, final_verdict(f, false));
}

/* scan_segment - a segment of an undecided flow; the feed it leaves for
 * the guard is this segment's only */
static void scan_segment(struct scr_engine *e, struct scr_flow *f,
			 struct burst_item *it, struct scr_frame *fr)
{
	scan_segment_do(e, f, it, fr);
	e->take_off = UINT32_MAX;
}

/* hold_here - greeting hold: true when this server frame is to be held */
static bool hold_here(struct scr_flow *f, const struct scr_pkt *pk,
		      const struct scr_frame *fr)
{
	const uint8_t pg = (uint8_t)SCR_TEST_BIT(SCR_TEST_PREGREET);

	if (fr->flags & SCR_FRAME_RELEASED) {
		f->flags = (uint8_t)((f->flags & ~SCR_FF_HELD) | SCR_FF_HOLD_DONE);
		return false;
	}
	if (f->flags & SCR_FF_HELD)
		return true;
	if ((f->flags & SCR_FF_HOLD_DONE) || pk->payload_len == 0 ||
	    !(fr->flags & SCR_FRAME_HOLD_OK))
		return false;
	f->flags |= SCR_FF_HOLD_DONE;	/* one hold per flow at most */
	if (!(f->smtp.todo & pg) || (f->smtp.failed & pg))
		return false;
	f->flags |= SCR_FF_HELD;
	return true;
}

/* Reply bans: the final reply lines each kind begins with ('?': a digit) */
static const char rb_pat[SCR_REPLY_MAX][10] = {
	[SCR_REPLY_AUTH] = "535 ",
	[SCR_REPLY_HARVEST] = "550 5.1.1",
	[SCR_REPLY_RELAY] = "554 5.7.1",
	[SCR_REPLY_HELO] = "5?? ",
};
#define RB_ALL ((1u << SCR_REPLY_MAX) - 1)

/* rb_line_cand - the kinds a server line may be, at its first byte */
static unsigned rb_line_cand(const struct scr_flow *f)
{
	return f->rb_flags & SCR_RB_F_HELO ? RB_ALL :
	       RB_ALL & ~(1u << SCR_REPLY_HELO);
}

/* rb_hit - a reply of kind k: the event for ctrl */
static void rb_hit(struct scr_engine *e, struct scr_flow *f,
		   struct scr_frame *fr, unsigned k)
{
	struct scr_event ev;

	e->st.replies[k]++;
	ev_init(e, &ev, SCR_EV_REPLY, f, fr);
	ev_tail_clear(&ev);
	ev.reply = (uint8_t)k;
	e->hooks.event(e->hooks.arg, &ev);
}

/* rb_feed - server bytes in order: match the start of each line */
static void rb_feed(struct scr_engine *e, struct scr_flow *f,
		    struct scr_frame *fr, const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		unsigned pos = f->rb_pos, cand = f->rb_cand, k, hit = SCR_REPLY_MAX;
		uint8_t c;

		if (pos == SCR_RB_SKIP) {
			const uint8_t *lf = memchr(p + i, '\n', n - i);

			if (lf == NULL)
				return;
			i = (uint32_t)(lf - p) + 1;
			f->rb_pos = 0;
			continue;
		}
		c = p[i++];
		if (c == '\n') {
			f->rb_pos = 0;
			continue;
		}
		if (pos == 0)
			cand = rb_line_cand(f);
		for (k = 0; k < SCR_REPLY_MAX; k++) {
			char pc = rb_pat[k][pos];

			if (!(cand & (1u << k)))
				continue;
			if (pc == '?' ? (c < '0' || c > '9') : c != (uint8_t)pc)
				cand &= ~(1u << k);
			else if (rb_pat[k][pos + 1] == 0 &&
				 (hit == SCR_REPLY_MAX || k == SCR_REPLY_HELO))
				hit = k;	/* a reply to HELO is HELO's */
		}
		f->rb_cand = (uint8_t)cand;
		f->rb_pos = (uint8_t)(pos + 1);
		if (hit != SCR_REPLY_MAX) {
			f->rb_pos = SCR_RB_SKIP;
			rb_hit(e, f, fr, hit);
			if (f->stop_pkt || (f->flags & SCR_FF_STOP_NEXT))
				return;
		} else if (cand == 0) {
			f->rb_pos = SCR_RB_SKIP;
		}
	}
}

/* is_helo - a client segment that begins with HELO or EHLO */
static bool is_helo(const uint8_t *p, uint32_t n)
{
	uint32_t w;

	if (n < 4)
		return false;
	memcpy(&w, p, 4);
	w |= 0x20202020u;
	if (memcmp(&w, "helo", 4) != 0 && memcmp(&w, "ehlo", 4) != 0)
		return false;
	return n == 4 || p[4] == ' ' || p[4] == '\r' || p[4] == '\n';
}

/* reply_watch - reply bans: the client's HELO/EHLO, the server's reply
 * lines in order (in its tests the ordering is tcpord's: only the segment
 * it takes next; on the fast path seq_next[1] is followed here) */
static void reply_watch(struct scr_engine *e, struct scr_flow *f,
			const struct burst_item *it, struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;
	int32_t d;

	if (it->dir == 0) {
		if (pk->payload_len == 0)
			return;
		if (is_helo(pk->payload, pk->payload_len))
			f->rb_flags |= SCR_RB_F_HELO;
		else
			f->rb_flags &= (uint8_t)~SCR_RB_F_HELO;
		return;
	}
	if (f->mode == SCR_FM_DECIDED && (pk->flags & SCR_TCP_SYN) &&
	    !(f->seq_known & 2)) {
		f->seq_next[1] = pk->seq + 1;
		f->seq_known |= 2;
	}
	if (pk->payload_len == 0 || !(f->seq_known & 2))
		return;
	d = (int32_t)(pk->seq - f->seq_next[1]);
	if (f->mode == SCR_FM_DECIDED) {
		if (d < 0)
			return;		/* a retransmission */
		if (d > 0)
			f->rb_pos = SCR_RB_SKIP;	/* a gap: the line it cuts
							 * is not counted */
		f->seq_next[1] = pk->seq + pk->payload_len;
	} else if (d != 0) {
		return;			/* tcpord stashes or drops it */
	}
	rb_feed(e, f, fr, pk->payload, pk->payload_len);
}

/* handle - one decoded SMTP frame */
static void handle(struct scr_engine *e, struct burst_item *it,
		   struct scr_frame *fr)
{
	const struct scr_pkt *pk = &it->pkt;
	struct scr_flow *f;
	bool syn = syn_only(pk);

	e->st.smtp_pkts++;
	f = scr_flow_lookup(e->ft, &it->key, it->hash);
	if (f != NULL && syn && it->dir == 0 && f->state != SCR_FS_SYN &&
	    pk->seq + 1 != f->seq_next[0]) {
		/* A new connection on a tuple still in the table (a SYN with
		 * the flow's ISN is the client sending its SYN again). */
		e->st.port_reuse++;
		finish(e, f, fr, SCR_END_CLOSE);
		f = NULL;
	}
	if (f == NULL) {
		if (syn && it->dir == 0 && (fr->flags & SCR_FRAME_INSIDE))
			e->st.inside_syn++;
		else if (syn && it->dir == 0)
			new_flow(e, it, fr);
		else
			e->st.no_flow++;
		return;
	}
	f->last_ms = ms32(e);
	/* the tests that settle at once first: a packet's direction is
	 * anybody's guess for the branch predictor */
	if (f->state == SCR_FS_EST && !(f->seq_known & SCR_SK_CONNECT) &&
	    it->dir == 0)
		connected(e, f, fr);
	if ((f->flags & SCR_FF_STOP_NEXT) && !f->stop_pkt) {
		stop_here(f, fr);
		decide(e, f, fr, final_verdict(f, false));
	}
	if (f->stop_pkt && fr->pkt_no != f->stop_pkt)
		fr->action = SCR_PKT_DROP;
	if (((fr->flags & (SCR_FRAME_HOLD_OK | SCR_FRAME_RELEASED)) ||
	     (f->flags & SCR_FF_HELD)) &&
	    f->mode == SCR_FM_SCAN && !f->stop_pkt &&
	    it->dir == 1 && hold_here(f, pk, fr)) {
		fr->action = SCR_PKT_HOLD;
		e->st.held++;
		return;
	}
	if (e->pol->reply_ban && !f->stop_pkt &&
	    f->verdict != SCR_V_ALLOWLISTED)
		reply_watch(e, f, it, fr);
	if (f->mode == SCR_FM_SCAN)
		scan_segment(e, f, it, fr);
	else if (f->mode == SCR_FM_DECIDED && !f->stop_pkt)
		smug_segment(e, f, it, fr);
	env_segment(e, f, it, fr);
	if (e->envcap != NULL && it->dir == 0 && fr->action == SCR_PKT_PASS &&
	    e->pol->envelope && e->envcap[scr_flow_index(e->ft, f)].wait) {
		fr->action = SCR_PKT_WAIT;
		e->st.envelope_waits++;
	}
	if (pk->flags & (SCR_TCP_RST | SCR_TCP_FIN)) {
		/* The SMTP session is over: judge what we have; keep the
		 * entry a little for the last packets (close timeout). */
		end_session(e, f, fr, SCR_END_CLOSE);
		f->state = SCR_FS_CLOSING;
	} else if (f->state == SCR_FS_SYN && it->dir == 1 &&
		   (pk->flags & SCR_TCP_SYN)) {
		f->state = SCR_FS_EST;
	}
}

/* ms_of - a policy time in ms, kept within the clock's half range */
static uint32_t ms_of(uint64_t ns)
{
	ns /= 1000000u;
	return ns > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)ns;
}

/* timeout_ms - idle limit of a flow in its state (stress values under
 * stress), in ms */
static uint32_t timeout_ms(const struct scr_engine *e, const struct scr_flow *f)
{
	const struct scr_policy *p = e->pol;

	switch (f->state) {
	case SCR_FS_SYN:
		return ms_of(e->stress ? p->syn_timeout_stress_ns : p->syn_timeout_ns);
	case SCR_FS_CLOSING:
		return ms_of(p->close_timeout_ns);
	case SCR_FS_EST:
		if (f->stop_pkt)	/* stopped: the front end reset both ends */
			return ms_of(p->close_timeout_ns);
		return ms_of(e->stress ? p->idle_timeout_stress_ns :
			     p->idle_timeout_ns);
	case SCR_FS_FREE:
	default:
		scr_panic("timeout_ms: flow state %d has no timeout",
			  (int)f->state);
	}
}

/* expired - end f if it timed out; true when it did */
static bool expired(struct scr_engine *e, struct scr_flow *f)
{
	const struct scr_policy *p = e->pol;

	if (ms32(e) - f->last_ms > timeout_ms(e, f)) {
		finish(e, f, NULL, SCR_END_TIMEOUT);
		return true;
	}
	/* postscreen_command_time_limit: a client in its tests that sends
	 * no whole command line in time (a slowloris trickling bytes) */
	if (f->mode == SCR_FM_SCAN && f->state == SCR_FS_EST &&
	    !(f->seq_known & SCR_SK_WAIT) && ms32(e) - f->line_ms >
	    ms_of(e->stress ? p->command_time_stress_ns : p->command_time_ns)) {
		e->st.command_time++;
		finish(e, f, NULL, SCR_END_COMMAND_TIME);
		return true;
	}
	return false;
}

/* sweep - advance the clock hand over k entries, ending idle flows; runs
 * of free entries are stepped over in the bitmap, not read */
static void sweep(struct scr_engine *e, uint32_t k)
{
	struct scr_flow_table *t = e->ft;

	e->sweeping = true;
	while (k && t->used) {
		uint32_t h = t->hand, step;
		uint64_t w = scr_flow_live_word(t, h);

		if (w & 1) {
			(void)expired(e, &t->e[h]);
			step = 1;
		} else if (w != 0) {
			step = (uint32_t)__builtin_ctzll(w);
			if (step > k)
				step = k;
		} else {
			/* free words: a tight loop over them (a big table
			 * holds a few flows, most of it is free) */
			uint64_t end = (uint64_t)h + k < t->cap ? h + k : t->cap;
			uint64_t x = (uint64_t)(h | 63) + 1;

			while (x < end && t->live[x >> 6] == 0)
				x += 64;
			step = (uint32_t)((x < end ? x : end) - h);
		}
		k -= step;
		t->hand = h + step >= t->cap ? 0 : h + step;
		if (t->hand == 0)	/* the ended ones are met again */
			unlink_swept(e);
	}
	unlink_swept(e);
	e->sweeping = false;
}

/* sweep_due - entries the clock hand owes for the time that passed: the
 * whole table once per SWEEP_PERIOD_MS of input time, however few or
 * many frames come. The hand's pace follows the clock, not the packet
 * rate: at millions of frames a second a pace per frame lapped the
 * table many times a second, reading every live entry each lap. The
 * fraction of an entry left over is kept for the next call, so small
 * tables and short steps lose nothing. */
static uint32_t sweep_due(struct scr_engine *e)
{
	uint64_t owed = e->sweep_owed +
			(e->now_ms - e->swept_ms) * e->ft->cap;

	e->swept_ms = e->now_ms;
	if (owed >= (uint64_t)SWEEP_PERIOD_MS * e->ft->cap) {
		e->sweep_owed = 0;
		return e->ft->cap;
	}
	e->sweep_owed = owed % SWEEP_PERIOD_MS;
	return (uint32_t)(owed / SWEEP_PERIOD_MS);
}

/* sweep_whole - the hand over the whole table now: it owes nothing */
static void sweep_whole(struct scr_engine *e)
{
	sweep(e, e->ft->cap);
	e->swept_ms = e->now_ms;
	e->sweep_owed = 0;
}

/* set_time - the engine clock follows the input's timestamps. Never
 * backwards: captures are not always sorted. A jump longer than
 * CLOCK_STEP_MS (captures of different months in one replay, a live
 * clock that stepped) is taken in steps, each swept whole: every flow
 * times out (timeouts are below 2^31 ms, ms_of) before its 32-bit times
 * could wrap, and it ends with the time it had. */
static void set_time(struct scr_engine *e, uint64_t ts_ns)
{
	uint64_t ms;

	if (!e->have_epoch) {
		e->epoch_ns = ts_ns;
		e->have_epoch = true;
	}
	if (ts_ns < e->epoch_ns)
		return;
	ms = (ts_ns - e->epoch_ns) / 1000000u;
	if (ms <= e->now_ms)
		return;
	while (ms - e->now_ms > CLOCK_STEP_MS) {
		e->now_ms += CLOCK_STEP_MS;
		sweep_whole(e);
	}
	e->now_ms = ms;
}

/* hash_lanes - hash the keys gathered in lanes k of hb and start loading
 * their buckets */
static void hash_lanes(struct scr_engine *e, struct hash_batch *hb, unsigned k)
{
	struct scr_flow_lanes *l = &hb->l[k];
	uint64_t h[8];
	unsigned i;

	if (l->n == 0)
		return;
	scr_flow_lanes_hash(l, h);
	for (i = 0; i < l->n; i++) {
		hb->it[k][i]->hash = (uint32_t)h[i];
		scr_flow_prefetch(e->ft, hb->it[k][i]->hash);
	}
	l->n = 0;
}

/* classify - decode, orient, build the key and hash of one frame */
static void classify(struct scr_engine *e, struct scr_frame *fr,
		     struct burst_item *it, struct hash_batch *hb)
{
	const struct scr_pkt *pk = &it->pkt;
	struct scr_flow_lanes *l;
	uint64_t b[6];
	unsigned nb, at;
	bool to_server;
	const struct scr_addr *addr[2];
	uint16_t port[2];

	fr->action = SCR_PKT_PASS;
	it->dir = 2;
	it->status = (uint8_t)scr_decode((enum scr_link)fr->link, fr->data,
					 fr->caplen, &it->pkt);
	if (it->status != SCR_DEC_TCP)
		return;
	/* oriented without a branch on the direction (a coin toss for
	 * the predictor, packet after packet) */
	to_server = is_port(e, pk->dport);
	if (!(to_server | is_port(e, pk->sport)))
		return;
	it->dir = (uint8_t)!to_server;
	addr[0] = &pk->src;
	addr[1] = &pk->dst;
	port[0] = pk->sport;
	port[1] = pk->dport;
	it->key.client = *addr[it->dir];
	it->key.server = *addr[!it->dir];
	it->key.client_port = port[it->dir];
	it->key.server_port = port[!it->dir];
	it->key.family = pk->family;
	memset(it->key._pad, 0, sizeof(it->key._pad));
	if (pk->family == 4) {
		/* from the parts: loads of the key just stored in pieces
		 * would wait for the stores */
		nb = 2;
		scr_flow_v4_blocks(it->key.client.b + 12, it->key.server.b + 12,
				   it->key.client_port, it->key.server_port, b);
	} else {
		nb = 6;
		scr_flow_v6_blocks(addr[it->dir], addr[!it->dir],
				   port[it->dir], port[!it->dir], pk->family, b);
	}
	l = scr_flow_lanes_add(hb->l, b, nb, &at);
	hb->it[l - hb->l][at] = it;
	if (l->n == 8)
		hash_lanes(e, hb, (unsigned)(l - hb->l));
}

/* prefetch_frame - start loading fr's bytes (e->prefetch_bytes at most) */
static inline void prefetch_frame(const struct scr_engine *e,
				  const struct scr_frame *fr)
{
	uint32_t n = fr->caplen < e->prefetch_bytes ? fr->caplen : e->prefetch_bytes;

	for (uint32_t o = 0; o < n; o += 64)
		__builtin_prefetch(fr->data + o);
}

/* client_syn - a decoded client SYN: the frame that may start a flow */
static inline bool client_syn(const struct burst_item *it)
{
	/* & not &&: no branch on the direction (the flags are read only
	 * from a decoded packet) */
	return it->status == SCR_DEC_TCP &&
	       ((it->dir == 0) &
		((it->pkt.flags & (SCR_TCP_SYN | SCR_TCP_ACK | SCR_TCP_RST)) ==
		 SCR_TCP_SYN));
}

/* scr_engine_burst - process n frames in order */
unsigned scr_engine_burst(struct scr_engine *e, struct scr_frame *frames,
			  unsigned n)
{
	struct burst_item items[SCR_BURST];
	struct hash_batch hb;	/* lanes past n: hashed, the hashes unused */
	unsigned done = 0;

	hb.l[0].n = hb.l[1].n = 0;
	while (done < n) {
		unsigned m = n - done < SCR_BURST ? n - done : SCR_BURST, i, j;
		struct scr_frame *fr = frames + done;

		/* three passes so the flow table's misses overlap: decode
		 * and hash (IPv4 keys eight at a time; prefetching
		 * buckets), then the chains' first
		 * entries, then the packets in order */
		for (i = 0; i < m && i < PREFETCH_AHEAD; i++)
			prefetch_frame(e, &fr[i]);
		for (i = 0; i < m; i++) {
			if (i + PREFETCH_AHEAD < m)
				prefetch_frame(e, &fr[i + PREFETCH_AHEAD]);
			classify(e, &fr[i], &items[i], &hb);
			if (e->hooks.client_ahead != NULL && client_syn(&items[i]))
				e->hooks.client_ahead(e->hooks.arg,
						      &items[i].key.client, 0);
		}
		hash_lanes(e, &hb, 0);
		hash_lanes(e, &hb, 1);
		for (i = 0; i < m; i++) {
			struct burst_item *it = &items[i];

			if (it->status != SCR_DEC_TCP || it->dir == 2)
				continue;
			j = scr_flow_prefetch_entry(e->ft, it->hash);
			/* cli_fp_set, cli_contradicts: client segments only,
			 * but a branch on the direction mispredicts more than
			 * the server's frames' prefetches cost */
			__builtin_prefetch(&e->cli_fp[j - (j != 0)]);
			if (client_syn(it)) {
				it->ckey = client_ckey(e, &it->key.client);
				scr_ccount_prefetch(e->cc, it->ckey);
				if (e->hooks.client_ahead != NULL)
					e->hooks.client_ahead(e->hooks.arg,
							      &it->key.client, 1);
			}
		}
		for (i = 0; i < m; i++) {
			e->st.frames++;
			e->st.bytes += fr[i].wirelen;
			e->st.dec[items[i].status]++;
			set_time(e, fr[i].ts_ns);
			/* sparse input: a burst may span seconds of input
			 * time; the hand keeps its pace inside it */
			if (e->now_ms - e->swept_ms >= SWEEP_PERIOD_MS / 8)
				sweep(e, sweep_due(e));
			if (items[i].status != SCR_DEC_TCP)
				continue;
			if (items[i].dir == 2) {
				e->st.other_pkts++;
				continue;
			}
			handle(e, &items[i], &fr[i]);
		}
		sweep(e, sweep_due(e));
		apply_gone(e);
		stress_update(e);
		done += m;
	}
	return n;
}

/* dnsbl_listed - f's client is listed: the reason, and the FAIL event
 * (postscreen's "DNSBL rank N"); returns the DNSBL action */
static enum scr_action dnsbl_listed(struct scr_engine *e, struct scr_flow *f,
				    int score)
{
	enum scr_action act = (enum scr_action)e->pol->action[SCR_TEST_DNSBL];
	struct scr_event ev;

	f->reasons |= (scr_reasons)SCR_TEST_BIT(SCR_TEST_DNSBL);
	ev_init(e, &ev, SCR_EV_FAIL, f, NULL);
	ev_tail_clear(&ev);
	ev.test = SCR_TEST_DNSBL;
	ev.action = act;
	ev.count = score > 0 ? (uint32_t)score : 0;
	ev.verdict = SCR_V_FAIL;
	ev.reasons = f->reasons;
	e->hooks.event(e->hooks.arg, &ev);
	return act;
}

/* dnsbl_late - flow f passed before its client's DNSBL listing came
 * (host mode: its 354 waits for the answer): FAIL, told as the answer in
 * time would have been, and under enforce or drop the session stops */
static int dnsbl_late(struct scr_engine *e, struct scr_flow *f, int score)
{
	enum scr_action act = dnsbl_listed(e, f, score);

	e->st.failed[SCR_TEST_DNSBL]++;		/* decide() counted the pass */
	if (act != SCR_ACT_IGNORE)
		f->stop_pkt = e->st.frames ? e->st.frames : 1;
	amend_fail(e, f, NULL, act != SCR_ACT_IGNORE);
	return 0;
}

/* scr_engine_dnsbl_pending - flow k's DNSBL answer is still to come */
bool scr_engine_dnsbl_pending(const struct scr_engine *e,
			      const struct scr_flow_key *k)
{
	const struct scr_flow *f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));

	return f != NULL && (f->seq_known & SCR_SK_DNSBL);
}

/* scr_engine_dnsbl - a DNSBL answer for a flow in the table */
int scr_engine_dnsbl(struct scr_engine *e, const struct scr_flow_key *k,
		     int score, enum scr_dnsbl_outcome out, uint64_t now_ns)
{
	struct scr_flow *f;
	enum scr_action act;

	set_time(e, now_ns);
	f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	if (f == NULL)
		return -ENOENT;
	if (f->mode != SCR_FM_SCAN) {
		/* the verdict came first: a listing amends a pass the
		 * front end has not let through yet (dnsbl_wait) */
		bool waited = (f->seq_known & SCR_SK_DNSBL) != 0;

		f->seq_known &= (uint8_t)~SCR_SK_DNSBL;
		if (!waited || out != SCR_DNSBL_FAIL || f->stop_pkt ||
		    f->verdict != SCR_V_PASS)
			return -ENOENT;
		return dnsbl_late(e, f, score);
	}
	f->seq_known &= (uint8_t)~SCR_SK_DNSBL;
	switch (out) {
	case SCR_DNSBL_NEUTRAL:
		return 0;
	case SCR_DNSBL_ALLOW:
		/* postscreen: only while no test has failed */
		if (f->reasons == 0)
			decide(e, f, NULL, SCR_V_PASS);
		return 0;
	case SCR_DNSBL_FAIL:
		break;
	case SCR_DNSBL_MAX:
	default:
		scr_panic("scr_engine_dnsbl: DNSBL outcome %d out of range",
			  (int)out);
	}
	act = dnsbl_listed(e, f, score);
	if (act == SCR_ACT_DROP)
		f->flags |= SCR_FF_STOP_NEXT;
	else if (act == SCR_ACT_ENFORCE)
		f->enforce |= (uint8_t)SCR_TEST_BIT(SCR_TEST_DNSBL);
	return 0;
}

/* scr_engine_reply_ban - ctrl banned the flow's client for its replies */
int scr_engine_reply_ban(struct scr_engine *e, const struct scr_flow_key *k,
			 uint32_t count, uint64_t now_ns)
{
	struct scr_flow *f;
	struct scr_event ev;
	enum scr_action act;

	set_time(e, now_ns);
	f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	if (f == NULL || f->stop_pkt || (f->flags & SCR_FF_END_SENT))
		return -ENOENT;
	act = (enum scr_action)e->pol->action[SCR_TEST_REPLY_BAN];
	/* a flow in its tests fails them; one that had its verdict keeps it
	 * (its row at the end says what it was given; the ban blocks the
	 * client's later sessions) */
	if (f->mode == SCR_FM_SCAN)
		f->reasons |= (scr_reasons)SCR_TEST_BIT(SCR_TEST_REPLY_BAN);
	e->st.reply_bans++;
	ev_init(e, &ev, SCR_EV_FAIL, f, NULL);
	ev_tail_clear(&ev);
	ev.test = SCR_TEST_REPLY_BAN;
	ev.action = act;
	ev.count = count;
	ev.verdict = SCR_V_FAIL;
	ev.reasons = f->reasons | (scr_reasons)SCR_TEST_BIT(SCR_TEST_REPLY_BAN);
	e->hooks.event(e->hooks.arg, &ev);
	if (act == SCR_ACT_DROP)
		f->flags |= SCR_FF_STOP_NEXT;
	else if (act == SCR_ACT_ENFORCE && f->mode == SCR_FM_SCAN)
		f->enforce |= (uint8_t)SCR_TEST_BIT(SCR_TEST_REPLY_BAN);
	return 0;
}

/* scr_engine_envelope - an envelope restriction rejected flow k's command */
int scr_engine_envelope(struct scr_engine *e, const struct scr_flow_key *k,
			enum scr_action act, uint64_t now_ns)
{
	struct scr_flow *f;
	bool stop = act == SCR_ACT_ENFORCE || act == SCR_ACT_DROP;

	if (e->env_f == NULL)
		set_time(e, now_ns);
	f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	if (f == NULL || f->stop_pkt || (f->flags & SCR_FF_END_SENT))
		return -ENOENT;
	if (!(f->reasons & SCR_REASON_ENVELOPE))
		e->st.envelope_rejected++;
	if (e->envcap != NULL)
		e->envcap[scr_flow_index(e->ft, f)].wait = 0;
	if (!stop) {
		/* only the first reject changes the verdict; the capture goes
		 * on, each later reject is logged */
		if (!(f->reasons & SCR_REASON_ENVELOPE)) {
			f->reasons |= (scr_reasons)SCR_REASON_ENVELOPE;
			amend_fail(e, f, e->env_f == f ? e->env_fr : NULL, false);
		}
		return 0;
	}
	f->reasons |= (scr_reasons)SCR_REASON_ENVELOPE;
	if (e->envcap != NULL)
		scr_envcap_stop(&e->envcap[scr_flow_index(e->ft, f)], e->envpool);
	e->st.envelope_stopped++;
	if (e->env_f != f) {
		/* an answer that came later: the next frame stops it (and
		 * decides it, when it is still in its tests) */
		f->flags |= SCR_FF_STOP_NEXT;
		if (f->flags & SCR_FF_VERDICT_SENT)
			amend_fail(e, f, NULL, true);
		else	/* in its tests: failed now (the front end may have
			 * stopped it already: no next frame would tell) */
			decide(e, f, NULL, final_verdict(f, false));
		return 0;
	}
	stop_here(f, e->env_fr);
	if (f->flags & SCR_FF_VERDICT_SENT)
		amend_fail(e, f, e->env_fr, true);
	else if (!e->env_defer)
		decide(e, f, e->env_fr, final_verdict(f, false));
	return 0;
}

/* scr_engine_envelope_done - the wait for flow k's answer is over */
int scr_engine_envelope_done(struct scr_engine *e, const struct scr_flow_key *k)
{
	struct scr_flow *f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));

	if (f == NULL)
		return -ENOENT;
	if (e->envcap != NULL)
		e->envcap[scr_flow_index(e->ft, f)].wait = 0;
	return 0;
}

/* scr_engine_envelope_answer - ctrl answered one of flow k's RCPT TOs */
int scr_engine_envelope_answer(struct scr_engine *e, const struct scr_flow_key *k)
{
	struct scr_flow *f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	struct scr_envcap *c;

	if (f == NULL)
		return -ENOENT;
	if (e->envcap != NULL) {
		c = &e->envcap[scr_flow_index(e->ft, f)];
		if (c->wait > 0 && c->wait < 255)	/* 255: until the end */
			c->wait--;
	}
	return 0;
}

/* decided_on - f has its verdict and goes on (not stopped) */
static bool decided_on(const struct scr_flow *f)
{
	return f->mode == SCR_FM_DECIDED && !f->stop_pkt &&
	       !(f->flags & SCR_FF_STOP_NEXT);
}

/* scr_engine_envelope_state - flow k's envelope checks, for the front end */
unsigned scr_engine_envelope_state(const struct scr_engine *e,
				   const struct scr_flow_key *k)
{
	const struct scr_flow *f;
	const struct scr_envcap *c;
	unsigned r = 0;

	if (e->envcap == NULL || !e->pol->envelope)
		return 0;
	f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	if (f == NULL)
		return 0;
	c = &e->envcap[scr_flow_index(e->ft, f)];
	if (scr_envcap_active(c) && !f->stop_pkt &&
	    f->verdict != SCR_V_ALLOWLISTED)	/* as env_cap */
		r |= SCR_ENGINE_ENV_READ;
	if (c->wait)
		r |= SCR_ENGINE_ENV_WAIT;
	if (decided_on(f))
		r |= SCR_ENGINE_ENV_DECIDED;
	return r;
}

/* scr_engine_flow_decided - flow k has its verdict and is not stopped */
bool scr_engine_flow_decided(const struct scr_engine *e,
			     const struct scr_flow_key *k)
{
	const struct scr_flow *f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));

	return f != NULL && decided_on(f);
}

/* scr_engine_pass_old - the flow's client is on a pass cache the front
 * end did not have at the flow's start (the control plane's store or
 * the shared store answered later): PASS OLD now, if no test failed */
int scr_engine_pass_old(struct scr_engine *e, const struct scr_flow_key *k,
			uint64_t now_ns)
{
	struct scr_flow *f;

	set_time(e, now_ns);
	f = scr_flow_lookup(e->ft, k, scr_flow_hash(k));
	if (f == NULL || f->mode != SCR_FM_SCAN || f->reasons != 0)
		return -ENOENT;
	f->seq_known &= (uint8_t)~SCR_SK_DNSBL;	/* no lookup for it */
	f->flags |= SCR_FF_PASS_OLD;
	decide(e, f, NULL, SCR_V_PASS);
	return 0;
}

/* scr_engine_expire - end every flow idle at now_ns */
void scr_engine_expire(struct scr_engine *e, uint64_t now_ns)
{
	set_time(e, now_ns);
	sweep_whole(e);
	apply_gone(e);
	stress_update(e);
}

/* scr_engine_clock_step - the front end's wall clock stepped: the epoch
 * moves with it, so the engine's ms clock (now_ms, every flow's times)
 * stays continuous */
void scr_engine_clock_step(struct scr_engine *e, int64_t delta_ns)
{
	if (e->have_epoch)
		e->epoch_ns = (uint64_t)((int64_t)e->epoch_ns + delta_ns);
}

/* scr_engine_set_pressure - the front end's own load, for stress mode */
void scr_engine_set_pressure(struct scr_engine *e, bool on, uint64_t now_ns)
{
	if (e->have_epoch)
		set_time(e, now_ns);
	e->pressure = on;
	stress_update(e);
}

/* scr_engine_stress - in stress mode now */
bool scr_engine_stress(const struct scr_engine *e)
{
	return e->stress;
}

/* scr_engine_flows_undecided - flows of clients still in their tests */
uint32_t scr_engine_flows_undecided(const struct scr_engine *e)
{
	return e->nscan;
}

/* scr_engine_flush - end of input: every flow ends now */
void scr_engine_flush(struct scr_engine *e, uint64_t now_ns)
{
	uint32_t i;

	if (e->have_epoch)
		set_time(e, now_ns);
	for (i = scr_flow_next_live(e->ft, 0); i < e->ft->cap;
	     i = scr_flow_next_live(e->ft, i + 1))
		finish(e, &e->ft->e[i], NULL, SCR_END_FLUSH);
	apply_gone(e);
	e->hq_head = e->hq_n = 0;	/* every FIFO entry is stale now */
	stress_update(e);	/* an empty table leaves stress mode */
}

/* scr_engine_set_prefetch - bytes of each frame to load ahead */
void scr_engine_set_prefetch(struct scr_engine *e, uint32_t bytes)
{
	bytes = bytes < PREFETCH_HEADERS ? PREFETCH_HEADERS : bytes;
	e->prefetch_bytes = bytes > PREFETCH_MAX ? PREFETCH_MAX : bytes;
}

/* scr_engine_reset - empty table and clock; counters are kept */
void scr_engine_reset(struct scr_engine *e)
{
	fini_scanning(e);
	scr_flow_clear(e->ft);
	scr_ccount_clear(e->cc);
	e->ndec = 0;
	scr_tcpord_clear(e->ord);
	e->hq_head = e->hq_n = 0;
	e->nscan = 0;
	if (e->envcap != NULL) {
		memset(e->envcap, 0, (size_t)e->ft->cap * sizeof(*e->envcap));
		scr_envcap_pool_clear(e->envpool);
	}
	e->stress = false;	/* the table is empty: as new (pressure stays
				 * the front end's) */
	e->have_epoch = false;
	e->now_ms = e->swept_ms = e->sweep_owed = 0;
}

/* scr_engine_set_policy - reload: new policy and patterns */
int scr_engine_set_policy(struct scr_engine *e, const struct scr_policy *pol,
			  const struct scr_scan_db *db)
{
	struct scr_scan_thread *nt = NULL;

	if (db != NULL) {
		nt = scr_engine_scan_create(e, db);
		if (nt == NULL)
			return -ENOMEM;
	}
	scr_scan_thread_destroy(scr_engine_set_policy_scan(e, pol, db, nt));
	return 0;
}

/* scr_engine_scan_create - a scanner (scratch + stream pool) for this
 * engine's table and db: what a reload gives scr_engine_set_policy_scan,
 * built on another thread so the worker does not */
struct scr_scan_thread *scr_engine_scan_create(const struct scr_engine *e,
					       const struct scr_scan_db *db)
{
	return scr_scan_thread_create(db, scan_pool_size(e->ft->cap));
}

/* scr_engine_set_policy_scan - switch to pol, db and the prepared scanner
 * nt (NULL with db NULL); returns the old scanner for the caller to
 * destroy (on another thread). Only the flows in the table are visited
 * (the live bitmap): the streams in flight come from the old pool. */
struct scr_scan_thread *scr_engine_set_policy_scan(struct scr_engine *e,
						   const struct scr_policy *pol,
						   const struct scr_scan_db *db,
						   struct scr_scan_thread *nt)
{
	struct scr_scan_thread *old = e->env.scan;

	fini_scanning(e);
	scr_smtp_words_build(&e->words, db != NULL ? scr_scan_words(db) : NULL);
	e->env.scan = nt;
	e->env.pol = pol;
	e->pol = pol;
	e->db = db;
	set_ports(e, pol);
	(void)env_alloc(e, pol);	/* -ENOMEM: no capture (nothing rejected) */
	return old;
}

/* scr_engine_stats - counters with the reorder and scanner ones folded in */
void scr_engine_stats(const struct scr_engine *e, struct scr_stats *out)
{
	*out = e->st;
	out->scan_pool_empty = e->env.scan_pool_empty;
	out->reorder_stashed = e->ord->stashed;
	out->reorder_drained = e->ord->drained;
	out->dup_bytes = e->ord->dup_bytes;
}

/* scr_engine_flow_bytes - memory per tracked flow */
size_t scr_engine_flow_bytes(const struct scr_engine *e)
{
	size_t b = scr_flow_bytes_per_flow(e->ft);

	b += scr_ccount_bytes_per_flow(e->cc, e->ft->cap);
	b += ((size_t)e->hq_mask + 1) * (sizeof(*e->hq_idx) + sizeof(*e->hq_ms)) /
	     e->ft->cap;
	b += sizeof(*e->cli_fp);
	b += (size_t)e->ord->nslots * sizeof(struct scr_ooo_slot) / e->ft->cap;
	if (e->env.scan != NULL)
		b += scr_scan_pool_bytes(e->env.scan) / e->ft->cap;
	return b;
}

/* scr_engine_flows_active - flows in the table now */
uint32_t scr_engine_flows_active(const struct scr_engine *e)
{
	return e->ft->used;
}

/* scr_engine_key_hash - the flow table's hash of a key */
uint32_t scr_engine_key_hash(const struct scr_flow_key *k)
{
	return scr_flow_hash(k);
}
