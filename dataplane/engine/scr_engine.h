/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_engine - one worker's screening engine: frames in, verdicts out
 * DESCRIPTION
 *	Owns a flow table, a reorder pool, a scanner thread context and the
 *	per-worker counters. For each frame: decode, orient (the side on an
 *	smtpscreen port is the server), find or create the flow (only a
 *	client SYN creates one), put each direction's payload in order and
 *	run the SMTP machine until the flow is decided; then the flow takes
 *	the fast path. Asks ctrl about a new client through hooks->client
 *	(access list, cache) and reports through hooks->event (CONNECT,
 *	LISTED, FAIL, VERDICT, END). Nothing here knows the front end's mode;
 *	it never logs and never allocates after create.
 * CONTRACT
 *	scr_engine_create(pol, db, hooks): NULL + errno (ENOMEM, EINVAL).
 *	  pol and db must outlive the engine; db may be NULL (no scanner).
 *	scr_engine_burst(e, frames, n): processes n frames in order, sets
 *	  frames[i].action; returns n. Greeting hold (frames flagged
 *	  SCR_FRAME_HOLD_OK): the first server payload of a flow that has the
 *	  pregreet test to run, and every later server frame of that flow, is
 *	  answered SCR_PKT_HOLD and not looked at; the front end keeps such
 *	  frames in order and gives them back flagged SCR_FRAME_RELEASED when
 *	  the hold ends (the engine then sees the greeting when the client
 *	  does), or drops them when the session is stopped or ended.
 *	  SCR_FRAME_INSIDE: a SYN from the protected side starts no flow.
 *	scr_engine_expire(e, now_ns): times out idle flows (also done a
 *	  little on every burst).
 *	scr_engine_flush(e, now_ns): ends every flow (end of input).
 *	scr_engine_clock_step(e, delta_ns): the front end's clock (wall
 *	  time) stepped by delta_ns: frames from now on carry times delta_ns
 *	  off; the engine's own clock goes on without a jump, so timeouts
 *	  keep their course and events carry the new wall time.
 *	scr_engine_reset(e): empty table, counters kept (replay --loop).
 *	Reply bans (pol->reply_ban): the server's in-order segments of every
 *	flow but allow-listed or stopped ones, in its tests or on the fast
 *	path, are read for the final reply lines of enum scr_reply_kind;
 *	each is an SCR_EV_REPLY. A segment out of order is skipped (the line
 *	it cuts is not counted): a reply ban errs on the side of no ban.
 *	Envelope checks (pol->envelope): the client's command lines of every
 *	flow but allow-listed or stopped ones are read in order (scr_envcap)
 *	until DATA, BDAT or STARTTLS; each HELO/EHLO, MAIL FROM and RCPT TO
 *	is an SCR_EV_ENVELOPE with its argument, reported while the frame
 *	that completes its line is handled. A frame flagged SCR_FRAME_WAIT_OK
 *	that completes a RCPT TO line, when the hook did not decide it at
 *	once, is answered SCR_PKT_WAIT, and so is every later client frame
 *	of the flow until each RCPT TO reported is answered
 *	(scr_engine_envelope_answer), or scr_engine_envelope(_done). Nothing is read, copied or
 *	allocated per flow when pol->envelope is off. A gap ends the
 *	capture (counted): what was not read is never rejected.
 * THREADING
 *	One engine per worker thread. Hooks run on that thread.
 */
#ifndef SCR_ENGINE_H
#define SCR_ENGINE_H

#include "scr_decode.h"
#include "scr_scan.h"
#include "scr_types.h"

struct scr_engine_hooks {
	void *arg;
	void (*client)(void *arg, const struct scr_flow_key *key,
		       uint64_t now_ns, struct scr_client_info *out);
	void (*event)(void *arg, const struct scr_event *ev);
	/* optional: a client SYN is a few frames ahead; start loading what
	 * client() will read for it, step 0 then step 1 (ctl_cache_ahead) */
	void (*client_ahead)(void *arg, const struct scr_addr *client,
			     unsigned step);
};

/* What the front end does with a frame. */
enum scr_pkt_action {
	SCR_PKT_PASS = 0,	/* forward unchanged */
	SCR_PKT_STOP,		/* this frame stops the session: RST both ends */
	SCR_PKT_DROP,		/* session already stopped: drop */
	SCR_PKT_HOLD,		/* greeting hold: keep the frame, give it back
				 * later with SCR_FRAME_RELEASED (not judged yet) */
	SCR_PKT_WAIT,		/* envelope wait: judged already; keep the frame
				 * (and the flow's next ones, in order) until ctrl
				 * answers the flow's RCPT TO (forward them, or stop
				 * the session) or the front end's bound passes */
};

/* What the front end tells the engine about a frame (scr_frame.flags). */
#define SCR_FRAME_HOLD_OK	0x01	/* the front end can hold this frame */
#define SCR_FRAME_RELEASED	0x02	/* a held frame given back */
#define SCR_FRAME_INSIDE	0x04	/* from the protected side: starts no flow */
#define SCR_FRAME_WAIT_OK	0x08	/* the front end can keep a client frame
					 * for an envelope answer (SCR_PKT_WAIT) */

struct scr_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns;
	uint64_t pkt_no;	/* 1-based input position, for verdicts and errors */
	uint8_t link;		/* enum scr_link */
	uint8_t flags;		/* in: SCR_FRAME_* */
	uint8_t action;		/* out: enum scr_pkt_action */
};

/* What a new SYN may evict when the table is full, in this order. Flows of
 * clients in their tests (handshake done) or passed are never evicted: a
 * SYN that finds only those gets the overload policy instead. */
enum scr_evict_kind {
	SCR_EVICT_HALF_OPEN = 0,	/* undecided, no SYN/ACK yet: oldest first */
	SCR_EVICT_CLOSING,		/* FIN/RST seen, kept for late packets */
	SCR_EVICT_FAILED,		/* decided fail/blocklisted/unknown */
	SCR_EVICT_PASSED,		/* decided pass/allowlisted, only while no
					 * flow is undecided: longest idle */
	SCR_EVICT_MAX
};
extern const char *const scr_evict_name[SCR_EVICT_MAX];	/* "half_open", ... */

struct scr_stats {
	uint64_t frames;
	uint64_t bytes;			/* wire bytes */
	uint64_t dec[SCR_DEC_MAX];	/* by decode status */
	uint64_t smtp_pkts;		/* TCP to/from an smtpscreen port */
	uint64_t other_pkts;		/* TCP on other ports */
	uint64_t no_flow;		/* SMTP segment of no tracked flow */
	uint64_t flows;			/* created */
	uint64_t verdict[SCR_V_MAX];
	uint64_t failed[SCR_TEST_MAX];	/* flows that failed each test */
	uint64_t stopped;		/* sessions stopped (enforce/drop) */
	uint64_t ended[SCR_END_MAX];
	uint64_t evicted[SCR_EVICT_MAX];	/* flows evicted for a new SYN, by kind */
	uint64_t overload;		/* SYNs that found no room (overload policy) */
	uint64_t client_limit;		/* SYNs over the per-client flow limit */
	uint64_t command_time;		/* flows ended by the command time limit */
	uint64_t stress_enter;		/* times stress mode was entered */
	uint64_t port_reuse;		/* new SYN on a tuple still in the table */
	uint64_t gaps;			/* flows made unknown by a stream gap */
	uint64_t no_synack;		/* server data before its SYN/ACK was seen */
	uint64_t no_server;		/* flows unknown: the client talked, the
					 * server side was never seen */
	uint64_t undecided;		/* flows unknown: the client spoke while
					 * the server's reply was incomplete */
	uint64_t contradicted;		/* flows unknown: a client segment came
					 * again with other bytes */
	uint64_t scanned_bytes;		/* bytes given to the SMTP machine */
	uint64_t scan_pool_empty;
	uint64_t reorder_stashed;
	uint64_t reorder_drained;
	uint64_t dup_bytes;
	uint64_t pass_old;		/* of verdict[PASS]: cache hits (no tests) */
	uint64_t held;			/* server frames held (greeting hold) */
	uint64_t inside_syn;		/* SYNs from the protected side (not screened) */
	uint64_t replies[SCR_REPLY_MAX];	/* server replies reported for
						 * reply bans, by kind */
	uint64_t reply_bans;		/* flows ctrl banned (scr_engine_reply_ban) */
	uint64_t smuggling;		/* flows with an end-of-data sequence in
					 * DATA/BDAT (SCR_EV_SMUGGLING) */
	uint64_t smuggling_cmds;	/* ... followed by SMTP commands */
	uint64_t smuggling_stopped;	/* ... sessions stopped for it */
	uint64_t smuggling_lost;	/* flows the guard stopped following: a
					 * stream gap after the verdict */
	uint64_t smuggling_bytes;	/* bytes the guard read after the verdict */
	uint64_t envelope[SCR_ENV_MAX];	/* commands reported for envelope
					 * checks (SCR_EV_ENVELOPE), by kind */
	uint64_t envelope_rejected;	/* flows an envelope restriction
					 * rejected (scr_engine_envelope) */
	uint64_t envelope_stopped;	/* ... sessions stopped for it */
	uint64_t envelope_unread;	/* HELO/MAIL/RCPT lines not reported:
					 * too long, malformed, no buffer */
	uint64_t envelope_nobuf;	/* ... of them: the line buffer pool was
					 * empty */
	uint64_t envelope_lost;		/* sessions whose capture ended at a
					 * stream gap */
	uint64_t envelope_waits;	/* client frames answered SCR_PKT_WAIT */
};

struct scr_engine;

struct scr_engine *scr_engine_create(const struct scr_policy *pol,
				     const struct scr_scan_db *db,
				     const struct scr_engine_hooks *hooks);
void scr_engine_destroy(struct scr_engine *e);
unsigned scr_engine_burst(struct scr_engine *e, struct scr_frame *frames,
			  unsigned n);
void scr_engine_expire(struct scr_engine *e, uint64_t now_ns);
void scr_engine_clock_step(struct scr_engine *e, int64_t delta_ns);
/* A change of (wall clock - monotonic clock) the live front ends take for
 * a step of the system clock (NTP slews far less per check). */
#define SCR_CLOCK_STEP_MIN_NS 1000000000ll
void scr_engine_flush(struct scr_engine *e, uint64_t now_ns);
void scr_engine_reset(struct scr_engine *e);
/* Bytes of each frame a burst starts loading a few frames before it
 * decodes it: the headers (128) unless set; 128..9216. Frames whose
 * bytes are cold in cache (replay from memory: --loop) gain from the
 * whole frame (1536): the payload is read in the burst's last pass; warm
 * ones (a reader's fresh buffer) gain nothing. */
#define SCR_PREFETCH_FRAME 1536
void scr_engine_set_prefetch(struct scr_engine *e, uint32_t bytes);
/* Reload: new policy and patterns for every later byte; flows in flight
 * keep their state (a client line being scanned loses its stream). The
 * flow table keeps its size. 0, or -ENOMEM with the old policy kept. */
int scr_engine_set_policy(struct scr_engine *e, const struct scr_policy *pol,
			  const struct scr_scan_db *db);
/* The same in two steps, so that a live mode's worker only switches:
 * scr_engine_scan_create(e, db) builds the scanner for e's table (any
 * thread; NULL + errno), scr_engine_set_policy_scan(e, pol, db, nt)
 * switches to it (the worker, between bursts; visits only the flows in
 * the table) and returns the old scanner, for the caller to destroy on
 * another thread (scr_scan_thread_destroy). */
struct scr_scan_thread;
struct scr_scan_thread *scr_engine_scan_create(const struct scr_engine *e,
					       const struct scr_scan_db *db);
struct scr_scan_thread *scr_engine_set_policy_scan(struct scr_engine *e,
						   const struct scr_policy *pol,
						   const struct scr_scan_db *db,
						   struct scr_scan_thread *nt);
/* scr_engine_pass_old - the client of flow k passed before, as a store
 * the front end could not ask at the flow's start says: PASS OLD now,
 * unless a test has failed. 0, or -ENOENT when the flow is gone, decided
 * or has failed a test. */
int scr_engine_pass_old(struct scr_engine *e, const struct scr_flow_key *k,
			uint64_t now_ns);
/* What ctrl concluded from a client's DNSBL score (postscreen_dnsbl_*). */
enum scr_dnsbl_outcome {
	SCR_DNSBL_NEUTRAL = 0,	/* below the threshold, not allow-listed */
	SCR_DNSBL_FAIL,		/* score >= postscreen_dnsbl_threshold */
	SCR_DNSBL_ALLOW,	/* score <= the allowlist threshold: skip the rest */
	SCR_DNSBL_MAX
};
/* scr_engine_dnsbl - a DNSBL answer for the flow k, whenever it comes:
 * FAIL fails the DNSBL test (FAIL event, count = score) with
 * postscreen_dnsbl_action: drop stops the session at its next frame,
 * enforce at the client's DATA; ALLOW gives PASS now if no test failed
 * yet. 0, or -ENOENT when the flow is gone or already decided. */
int scr_engine_dnsbl(struct scr_engine *e, const struct scr_flow_key *k,
		     int score, enum scr_dnsbl_outcome out, uint64_t now_ns);
/* scr_engine_dnsbl_pending - flow k's DNSBL answer is still to come
 * (pol->dnsbl_wait: set when its tests started with DNSBL to do; cleared
 * by scr_engine_dnsbl, whatever the answer, and scr_engine_pass_old). A
 * FAIL answer after the flow's pass amends it to FAIL (stopped under
 * enforce and drop). */
bool scr_engine_dnsbl_pending(const struct scr_engine *e,
			      const struct scr_flow_key *k);
/* scr_engine_flow_decided - flow k has its verdict and is not stopped */
bool scr_engine_flow_decided(const struct scr_engine *e,
			     const struct scr_flow_key *k);
/* scr_engine_reply_ban - ctrl banned the client of flow k for its
 * server replies (count of them): the flow fails SCR_TEST_REPLY_BAN (FAIL
 * event, count), with smtpscreen_reply_ban_action: drop stops the session
 * at its next frame, enforce at the client's DATA while it is in its
 * tests; a flow decided already keeps its verdict. May be called from
 * the event hook of the SCR_EV_REPLY that led to it. 0, or -ENOENT when
 * the flow is gone or stopped. */
int scr_engine_reply_ban(struct scr_engine *e, const struct scr_flow_key *k,
			 uint32_t count, uint64_t now_ns);
/* scr_engine_envelope - an envelope restriction rejected a command of
 * flow k (ctrl's answer to SCR_EV_ENVELOPE; not called for a permit, a
 * warn_if_reject or no answer): the flow fails with SCR_REASON_ENVELOPE
 * (a verdict given already is amended), and with act enforce or drop the
 * session stops: at the frame carrying the command when called from the
 * event hook of its SCR_EV_ENVELOPE, else at the flow's next frame, and
 * the capture ends (under ignore it goes on: each reject is told). 0, or
 * -ENOENT when the flow is gone, stopped or ended. */
int scr_engine_envelope(struct scr_engine *e, const struct scr_flow_key *k,
			enum scr_action act, uint64_t now_ns);
/* scr_engine_envelope_done - the front end stopped waiting for flow k's
 * answers (its timeout): its client frames are no longer SCR_PKT_WAIT,
 * whatever is still pending (scr_engine_envelope_answer counts one answer;
 * scr_engine_envelope ends the wait too). 0, or -ENOENT when the flow is
 * gone. */
int scr_engine_envelope_done(struct scr_engine *e, const struct scr_flow_key *k);
/* scr_engine_envelope_answer - ctrl answered one of flow k's RCPT TOs (not
 * a reject): the flow's client frames wait until every RCPT TO reported is
 * answered (a flow with 255 or more pending waits until
 * scr_engine_envelope_done). 0, or -ENOENT when the flow is gone. */
int scr_engine_envelope_answer(struct scr_engine *e, const struct scr_flow_key *k);
/* scr_engine_envelope_state - where flow k's envelope checks stand, for a
 * front end that cannot keep the client's frames (host mode): bits
 * SCR_ENGINE_ENV_READ (its command lines are still read), _WAIT (a RCPT
 * TO's answer is pending), _DECIDED (it has a verdict and is not stopped);
 * 0 when the flow is gone or the checks are off. */
#define SCR_ENGINE_ENV_READ	1u
#define SCR_ENGINE_ENV_WAIT	2u
#define SCR_ENGINE_ENV_DECIDED	4u
unsigned scr_engine_envelope_state(const struct scr_engine *e,
				   const struct scr_flow_key *k);
/* Counters, with the reorder and scanner ones folded in. */
void scr_engine_stats(const struct scr_engine *e, struct scr_stats *out);
/* Stress mode (postscreen's marks on the flow table): entered when the
 * table is 90 % full or the front end reports pressure (held greetings,
 * rings), left at 70 % with no pressure; SCR_EV_STRESS at each change.
 * Under stress the ${stress?...} values of the timeouts apply. */
void scr_engine_set_pressure(struct scr_engine *e, bool on, uint64_t now_ns);
bool scr_engine_stress(const struct scr_engine *e);
/* Flows of clients still in their tests (not decided). */
uint32_t scr_engine_flows_undecided(const struct scr_engine *e);
/* Memory per tracked flow (entry, bucket share, scanner stream state). */
size_t scr_engine_flow_bytes(const struct scr_engine *e);
uint32_t scr_engine_flows_active(const struct scr_engine *e);

#define SCR_BURST 32

/* scr_engine_key_hash - hash of a flow key, for front ends' own tables */
uint32_t scr_engine_key_hash(const struct scr_flow_key *k);

#endif
