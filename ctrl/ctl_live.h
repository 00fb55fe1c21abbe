/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_live - the live control plane both live modes share
 * DESCRIPTION
 *	A live mode is packet workers running the engine plus one control
 *	thread. This module is everything the control thread does, written
 *	once: the verdict policy (one function from an engine event to its
 *	effects: log line, verdict CSV, cache, LMDB store, shared store, XDP
 *	block/allow map, messages to the workers), the client decisions the
 *	workers cannot make from their own cache (LMDB store, shared store,
 *	DNSBL, all asynchronous: the answers come back as messages), stress
 *	mode's one log line per change, reload (main.cf parsed and the access
 *	list compiled on a helper thread, the maps written and the workers
 *	switched between their bursts, all or nothing), the control socket,
 *	metrics, and one table of counters that `smtpscreenctl stats` and
 *	/metrics print under the same names in every mode.
 *	A front end (dp_host.c, dp_inline.c) supplies its packet I/O and
 *	effects: it drains its workers' event rings into ctl_live_event(),
 *	delivers ctl_live_msg to a worker (ops.send), and adds its own
 *	counters and status line (ops). Worker side: struct ctl_live_worker
 *	and ctl_live_worker_*() are what a worker does with the messages and
 *	how it decides a client from its own copies (access list, operator
 *	prefixes without XDP, verdict cache).
 * CONTRACT
 *	ctl_live_create(o, setup, err, errlen): takes setup (owned from now
 *	  on). Opens the log, the verdict CSV, the LMDB store (loaded into
 *	  the master cache), the shared store, DNSBL, metrics and the control
 *	  socket (a daemon already answering on it: -EADDRINUSE, nothing
 *	  else started). NULL with a message in err; *status_out 2 for a
 *	  configuration error, 1 otherwise.
 *	ctl_live_set_maps(l, maps): the XDP maps (NULL: none); then
 *	  ctl_live_load_maps(l, err, errlen) writes the access list, the
 *	  stored blocks (and, with o->allow_map, passes) into them.
 *	ctl_live_workers(l, w, n, ops): the workers (their caches get the
 *	  master cache's entries now) and the front end's callbacks.
 *	ctl_live_event(l, ev, worker): one engine event of a worker.
 *	ctl_live_event_urgent(l, ev): whether a front end that batches its
 *	  events should wake the control loop for ev now (a CONNECT that
 *	  starts lookups); others may wait for the batch. Any thread.
 *	ctl_live_run(l, stop): the control loop until *stop is set; calls
 *	  ops.drain each turn and on its wake fd. After it returns the front
 *	  end stops its workers and drains their last events itself
 *	  (ctl_live_event), then ctl_live_summary and ctl_live_destroy.
 *	Free-form lines go through ctl_msg (severity, syslog priority, the
 *	log file ctl_live opened).
 * THREADING
 *	ctl_live_* (not _worker_): the control thread only. ctl_live_worker_*:
 *	the worker that owns the struct. Workers see ctl_setup structs only
 *	through SETUP messages; an old setup is freed once every worker
 *	acknowledged the new generation (setup_gen).
 */
#ifndef CTL_LIVE_H
#define CTL_LIVE_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_cache.h"
#include "ctl_setup.h"
#include "scr_engine.h"

#define CTL_LIVE_WORKERS_MAX	16
#define CTL_LIVE_DYN_MAX	1024	/* operator prefixes held by workers */
#define CTL_LIVE_DNSBL_MAX	4096	/* DNSBL lookups in flight */
#define CTL_LIVE_CACHE_MIN	65536	/* cache entries (master and copies) */
#define CTL_LIVE_FE_CTR_MAX	64	/* front-end counters */
#define CTL_LIVE_REPLY_MAX	128	/* ENVELOPE's reply line, CRLF included */
#define CTL_LIVE_ENV_NONE	0xff	/* ENVELOPE: not rejected */

/* Control thread -> worker. */
enum ctl_live_msg_type {
	CTL_LIVE_MSG_ENTRY = 0,	/* the cache entry of entry.addr, whole */
	CTL_LIVE_MSG_PASS_OLD,	/* flow key: its client passed (store) */
	CTL_LIVE_MSG_DNSBL,	/* flow key: score, outcome */
	CTL_LIVE_MSG_DYN_ADD,	/* operator prefix: kind, addr/plen, expires_s */
	CTL_LIVE_MSG_DYN_DEL,
	CTL_LIVE_MSG_CACHE_FLUSH,
	CTL_LIVE_MSG_SETUP,	/* run setup from now on; ack with setup_gen */
	CTL_LIVE_MSG_REPLY_BAN,	/* flow key: its client is banned for its
				 * server replies (score: their count) */
	CTL_LIVE_MSG_ENVELOPE,	/* flow key: the answer to its RCPT TO: outcome
				 * CTL_LIVE_ENV_NONE (not rejected: its frames
				 * go on), else the enum scr_action of a reject
				 * and reply, the reply line smtpd would send */
	CTL_LIVE_MSG_MAX
};

struct ctl_live_msg {
	uint32_t type;			/* enum ctl_live_msg_type */
	uint8_t kind;			/* DYN_*: enum scr_xdp_kind */
	uint8_t plen;			/* DYN_*: 0..128 over scr_addr */
	uint8_t outcome;		/* DNSBL: enum scr_dnsbl_outcome;
					 * ENVELOPE: enum scr_action */
	uint8_t _pad;
	int32_t score;			/* DNSBL */
	uint32_t _pad2;
	uint64_t now_s;			/* ENTRY */
	uint64_t expires_s;		/* DYN_ADD: 0 = never */
	uint64_t gen;			/* SETUP */
	const struct ctl_setup *setup;	/* SETUP */
	struct scr_scan_thread *scan;	/* SETUP: the scanner built for this
					 * worker (NULL: it builds one) */
	struct scr_flow_key key;	/* PASS_OLD, DNSBL, REPLY_BAN */
	struct ctl_cache_entry entry;	/* ENTRY; DYN_*: entry.addr */
	char reply[CTL_LIVE_REPLY_MAX];	/* ENVELOPE: "504 5.5.2 ...\r\n" (cut to
					 * fit), "" none */
};

/* An operator prefix a worker applies itself (no XDP map in front). */
struct ctl_live_dyn {
	struct scr_addr net;
	uint64_t expires_s;
	uint8_t plen;
	uint8_t kind;			/* enum scr_xdp_kind */
};

/* One worker's side of the control plane; the worker owns it. */
struct ctl_live_worker {
	struct scr_engine *eng;
	struct ctl_cache *cache;		/* this worker's copy */
	const struct ctl_setup *setup;		/* the setup it runs */
	atomic_uint_fast64_t setup_gen;		/* last SETUP applied */
	/* the scanner a SETUP replaced: the control thread destroys it */
	_Atomic(struct scr_scan_thread *) old_scan;
	unsigned ndyn;
	struct ctl_live_dyn dyn[CTL_LIVE_DYN_MAX];
};

/* A counter the front end adds to `stats` and /metrics. */
struct ctl_live_ctr {
	const char *name;		/* stats name; metric smtpscreen_NAME */
	const char *help;
	uint64_t value;
	bool gauge;			/* else a counter (_total) */
	bool stats_only;		/* /metrics has it as a labelled family */
};

struct ctl_live_ops {
	void *arg;
	/* Deliver m to worker w: 0, or -ENOBUFS (its ring is full). */
	int (*send)(void *arg, unsigned w, const struct ctl_live_msg *m);
	/* Take the workers' events (calling ctl_live_event); the count. */
	unsigned (*drain)(void *arg);
	/* Engine counters and flows of all workers (published copies). */
	void (*engine)(void *arg, struct scr_stats *es, uint64_t *flows);
	/* Front-end counters into out (at most max); the count. */
	unsigned (*counters)(void *arg, struct ctl_live_ctr *out, unsigned max);
	/* The front end's part of `status`'s first line, after "smtpscreen
	 * MODE: running N s" (e.g. " on eth0 (XDP native)"; no newline). */
	void (*status)(void *arg, FILE *out);
	/* Called every turn of the control loop (NULL: nothing); the ms
	 * until it wants the next call at the latest (-1: no wish). A quiet
	 * front end asks for little: each wake-up of an idle daemon costs. */
	int (*tick)(void *arg);
	/* Labelled families of its own for /metrics (NULL: none). */
	void (*metrics)(void *arg, FILE *out);
	/* The fd that wakes the control loop when events wait (-1: none;
	 * the loop then wakes every millisecond). Signals wake it through
	 * an eventfd of its own, whichever thread they reach. */
	int wake_fd;
};

struct ctl_live_opts {
	const char *mode;		/* "host", "inline": status, messages */
	const char *conf_path;		/* NULL: Postfix defaults */
	const char *sock_path;		/* NULL: CTL_SOCK_PATH */
	const char *log_path;		/* NULL: smtpscreen_log_file or syslog */
	bool log_syslog;		/* also to syslog (host mode) */
	const char *verdicts_path;	/* verdict CSV; NULL: none */
	bool allow_map;			/* passes become XDP ALLOW entries */
	bool block_at_enforce;		/* the front end stops an enforce
					 * failure at once (host mode) */
	bool store;			/* open smtpscreen_cache_file */
};

struct ctl_live;
struct ctl_maps;
struct ctl_xdp_entry;

struct ctl_live *ctl_live_create(const struct ctl_live_opts *o,
				 struct ctl_setup *setup, int *status_out,
				 char *err, size_t errlen);
void ctl_live_destroy(struct ctl_live *l);
const struct ctl_setup *ctl_live_setup(const struct ctl_live *l);
/* The setup's access list compiled for XDP (to size a front end's maps;
 * compiled at the first call): 0, or -errno with the reason in err. */
int ctl_live_perm(struct ctl_live *l, const struct ctl_xdp_entry **perm,
		  size_t *n, char *err, size_t errlen);
void ctl_live_set_maps(struct ctl_live *l, struct ctl_maps *maps);
int ctl_live_load_maps(struct ctl_live *l, char *err, size_t errlen);
int ctl_live_workers(struct ctl_live *l, struct ctl_live_worker **w,
		     unsigned n, const struct ctl_live_ops *ops);
bool ctl_live_event_urgent(const struct ctl_live *l,
			   const struct scr_event *ev);
void ctl_live_event(struct ctl_live *l, const struct scr_event *ev,
		    unsigned worker);
void ctl_live_run(struct ctl_live *l, atomic_int *stop);
/* The process's signal handlers: SIGTERM/SIGINT set *stop, SIGHUP
 * reloads, SIGUSR1 reopens the log file, SIGPIPE ignored. */
void ctl_live_signals(struct ctl_live *l, atomic_int *stop);
/* Signals the control loop acts on (set from handlers). */
void ctl_live_signal_reload(struct ctl_live *l);
void ctl_live_signal_reopen(struct ctl_live *l);
/* Wall-clock ns (engine and log time). */
uint64_t ctl_live_now_ns(void);
/* Close the verdict CSV: 0, or -errno when it could not be written
 * whole (a full disk): the caller exits non-zero. */
int ctl_live_close_outputs(struct ctl_live *l);
/* Last lines at stop: summary and counters ("stopping: ..."). */
void ctl_live_summary(struct ctl_live *l, FILE *out);

/* Worker side. */
void ctl_live_worker_init(struct ctl_live_worker *w, struct scr_engine *eng,
			  struct ctl_cache *cache,
			  const struct ctl_setup *setup);
void ctl_live_worker_client(struct ctl_live_worker *w,
			    const struct scr_flow_key *key, uint64_t now_ns,
			    struct scr_client_info *out);
/* The engine's client_ahead hook: the worker's cache slot of a client
 * whose SYN is a few frames ahead (ctl_cache_ahead). */
void ctl_live_worker_client_ahead(struct ctl_live_worker *w,
				  const struct scr_addr *client, unsigned step);
void ctl_live_worker_apply(struct ctl_live_worker *w,
			   const struct ctl_live_msg *m, uint64_t now_ns);

#endif
