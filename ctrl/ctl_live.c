/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_live - the live control plane both live modes share
 * DESCRIPTION
 *	See ctl_live.h. The master verdict cache here is written through to
 *	the LMDB store and the shared store; every change of a client's
 *	entry goes to every worker as an ENTRY message (the worker that gave
 *	the verdict has it already: ctl_cache_verdict). A worker decides a
 *	new client from its own copies only; what it cannot know (a record
 *	the store or another node holds, a DNSBL score) is looked up here
 *	when the client's CONNECT event arrives, and the answer goes back as
 *	a PASS_OLD or DNSBL message while the flow is still in its tests
 *	(the greeting hold gives the time).
 *	Reload runs here, on the control thread: the workers keep screening
 *	meanwhile (they never wait for it); a new setup reaches them as a
 *	SETUP message they apply between bursts.
 * THREADING
 *	See ctl_live.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctl_envelope.h"
#include "ctl_file.h"
#include "ctl_live.h"
#include "ctl_log.h"
#include "ctl_msg.h"
#include "ctl_notify.h"
#include "ctl_rban.h"
#include "ctl_sock.h"
#include "scr_scan.h"
#include "smtpscreen_abi.h"
#ifdef SCR_HAVE_BPF
#include "ctl_aclcomp.h"
#include "ctl_cmd.h"
#include "ctl_maps.h"
#endif
#ifdef SCR_HAVE_DNSBL
#include "ctl_dnsbl.h"
#endif
#ifdef SCR_HAVE_METRICS
#include "ctl_metrics.h"
#endif
#ifdef SCR_HAVE_SHARED
#include "ctl_shared.h"
#endif
#ifdef SCR_HAVE_STORE
#include "ctl_store.h"
#endif

#define LIVE_SWEEP_S	60		/* cache and maps sweep */
#define LIVE_POLL_MS	1000		/* periodic work while /metrics is served */
#define LIVE_IDLE_MS	10000		/* ... otherwise (sweeps, cleanup) */
#define LIVE_POLLFDS	(CTL_SOCK_CONN_MAX + 32)
#define LIVE_SHARED_MAX	4096		/* shared store reads in flight */
#define LIVE_RETIRED_MAX 8		/* old setups waiting for the workers */
#define LIVE_SYNC_NS	1000000000ull	/* LMDB: one fsync per second of verdicts */
#define LIVE_STORE_DIR	"/var/lib/smtpscreen"	/* smtpscreen_cache_file's default */
#define LIVE_STORE_DEFAULT LIVE_STORE_DIR "/verdicts.lmdb"
/* stats lines: ours (~50), the engine's, a front end's (16 workers and
 * two ports of the appliance: ~150) */
#define LIVE_CTR_MAX	320
/* What an operator's allow entry passes: every cached test. */
#define LIVE_OP_TESTS	(SCR_TESTS_STREAM | SCR_TEST_BIT(SCR_TEST_DNSBL))

#ifdef SCR_HAVE_DNSBL
/* A DNSBL lookup for a new client's flow on a worker. */
struct live_dnsbl {
	struct ctl_live *l;
	struct scr_flow_key key;
	unsigned worker;
	unsigned next;			/* free list: index + 1 */
};
#endif

/* A shared store read for a new client's flow on a worker. */
struct live_sget {
	struct scr_flow_key key;
	unsigned worker;
	unsigned next;			/* free list: index + 1 */
};

/* A setup the workers ran before generation gen: freed once every
 * worker acknowledged gen. */
struct live_retired {
	struct ctl_setup *s;
	uint64_t gen;
};

/* What the reload thread builds from main.cf (the slow part: parse the
 * tables, compile the access list, set up DNSBL); the control thread
 * goes on taking events meanwhile and applies the result. */
struct live_reload {
	pthread_t th;
	atomic_int state;		/* RL_IDLE, RL_RUNNING, RL_DONE */
	int wake_fd;			/* eventfd: the build is done, or a
					 * signal came (to whichever thread) */
	bool joined;			/* thread joined, result not yet freed */
	uint64_t t0;
	struct ctl_setup *n;
	struct ctl_xdp_entry *perm;
	size_t nperm;
	struct ctl_dnsbl *nd;
	int rc;
	char err[1024];
};

enum { RL_IDLE = 0, RL_RUNNING, RL_DONE };

/* The control plane's own counters. */
struct live_stats {
	uint64_t events, rows, blocks, passes, store_err, map_err, msg_lost;
	uint64_t lookups, store_hits, shared_hits, shared_misses;
	uint64_t shared_unavail, shared_blocks_in, pass_old_sent;
	uint64_t dnsbl_started, dnsbl_lost, dnsbl_listed;
	uint64_t reloads, reload_errors;
	uint64_t reply_bans;
	uint64_t envelope_rejects;	/* rejects sent to the workers */
};

struct ctl_live {
	struct ctl_live_opts o;
	struct ctl_setup *setup;	/* current */
	struct live_retired old[LIVE_RETIRED_MAX];	/* until the workers moved on */
	uint64_t gen;
	struct live_reload rl;
	struct ctl_xdp_entry *perm;	/* setup's access list, compiled */
	size_t nperm;
	bool compiled;			/* perm is setup's (front end has maps) */
	struct ctl_live_worker *w[CTL_LIVE_WORKERS_MAX];
	unsigned nw;
	struct ctl_live_ops ops;
	struct ctl_cache *cache;	/* master */
	struct ctl_rban *rban;		/* reply bans' counts; NULL: never on */
	struct ctl_envelope *envck;	/* envelope checks of the running setup
					 * (NULL: no restriction list) */
	struct ctl_store *store;	/* NULL: none */
	bool sync_pending;		/* written since the last sync */
	struct ctl_shared *shared;	/* NULL: smtpscreen_shared_store empty */
	char shared_url[256];
	struct live_sget *sq;		/* LIVE_SHARED_MAX reads' contexts */
	unsigned sfree;
	struct ctl_maps *maps;		/* NULL: no XDP maps */
	struct ctl_log *log;		/* syslog (host mode) */
	struct ctl_log *flog;		/* the log file */
	char log_path[512];
	FILE *verdf;
	struct ctl_sock *sock;
	uint64_t stress_mask;		/* workers in stress mode */
	uint64_t start_ns;
	uint64_t next_sweep_s, next_cleanup_s;
	uint64_t retention_s, cleanup_interval_s;
	atomic_int hup, usr1;
	atomic_bool connect_looks;	/* DNSBL or shared store: a new client's
					 * CONNECT starts lookups */
	unsigned ndyn;			/* operator prefixes without XDP */
	struct ctl_live_dyn dyn[CTL_LIVE_DYN_MAX];
	struct live_stats st;
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *dnsbl;	/* NULL: no postscreen_dnsbl_sites */
	struct live_dnsbl *dq;		/* CTL_LIVE_DNSBL_MAX */
	unsigned dfree;
#endif
#ifdef SCR_HAVE_METRICS
	struct ctl_metrics *mx;
#endif
};

static void reload_drop(struct ctl_live *l);
static struct ctl_live *sig_live;	/* the plane the signal handler serves */
static atomic_int *sig_stop;

/* ctl_live_now_ns - CLOCK_REALTIME ns */
uint64_t ctl_live_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* mono_ns - CLOCK_MONOTONIC ns: the loop's timers and DNS deadlines,
 * which a step of the system clock must not stretch or cut */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* now_s - Unix seconds */
static uint64_t now_s(void)
{
	return ctl_live_now_ns() / 1000000000u;
}

/* log_event - an engine event to every log */
static void log_event(struct ctl_live *l, const struct scr_event *ev)
{
	if (l->log)
		ctl_log_event(l->log, ev);
	if (l->flog)
		ctl_log_event(l->flog, ev);
}

/* conf_time - a validated time parameter in seconds */
static uint64_t conf_time(const struct ctl_conf *conf, const char *name,
			  char unit)
{
	unsigned long long s = 0;

	(void)ctl_conf_parse_time(ctl_conf_get(conf, name), unit, &s);
	return s;
}

/* conf_num - a validated integer parameter */
static uint64_t conf_num(const struct ctl_conf *conf, const char *name)
{
	const char *v = ctl_conf_get(conf, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

/* ---- worker side ---- */

/* ctl_live_worker_init - a worker's side before it runs */
void ctl_live_worker_init(struct ctl_live_worker *w, struct scr_engine *eng,
			  struct ctl_cache *cache, const struct ctl_setup *setup)
{
	w->eng = eng;
	w->cache = cache;
	w->setup = setup;
	if (cache != NULL && setup != NULL)
		ctl_cache_set_v6_prefix(cache, setup->pol.client_v6_plen);
	atomic_init(&w->setup_gen, 0);
	atomic_init(&w->old_scan, NULL);
	w->ndyn = 0;
}

/* addr_in - a in net/plen (over the 128-bit form) */
static bool addr_in(const struct scr_addr *a, const struct scr_addr *net,
		    unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a->b, net->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->b[full] ^ net->b[full]) & (0xff00 >> rest)) == 0;
}

/* dyn_lookup - the operator prefix kind covering a (ALLOW wins), or -1 */
static int dyn_lookup(const struct ctl_live_dyn *d, unsigned n,
		      const struct scr_addr *a, uint64_t t)
{
	int found = -1;
	unsigned i;

	for (i = 0; i < n; i++) {
		if ((d[i].expires_s && d[i].expires_s <= t) ||
		    !addr_in(a, &d[i].net, d[i].plen))
			continue;
		if (d[i].kind == SCR_XDP_KIND_ALLOW)
			return SCR_XDP_KIND_ALLOW;
		found = SCR_XDP_KIND_BLOCK;
	}
	return found;
}

/* ctl_live_worker_client - access list, operator prefixes, then the cache */
void ctl_live_worker_client(struct ctl_live_worker *w,
			    const struct scr_flow_key *key, uint64_t now_ns,
			    struct scr_client_info *out)
{
	uint64_t t = now_ns / 1000000000u;
	int d;

	if (w->ndyn && ctl_acl_lookup(w->setup->acl, &key->client) == CTL_ACL_DUNNO &&
	    (d = dyn_lookup(w->dyn, w->ndyn, &key->client, t)) >= 0) {
		memset(out, 0, sizeof(*out));
		out->cls = d == SCR_XDP_KIND_ALLOW ? SCR_CLIENT_PERMIT :
						     SCR_CLIENT_BLOCKED;
		return;
	}
	ctl_setup_client(w->setup, w->cache, &key->client, t, out);
}

/* ctl_live_worker_client_ahead - start loading the client's cache slot */
void ctl_live_worker_client_ahead(struct ctl_live_worker *w,
				  const struct scr_addr *client, unsigned step)
{
	ctl_cache_ahead(w->cache, client, step);
}

/* dyn_find - the index of kind net/plen in d, or -1 */
static int dyn_find(const struct ctl_live_dyn *d, unsigned n, uint8_t kind,
		    const struct scr_addr *net, uint8_t plen)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (d[i].kind == kind && d[i].plen == plen &&
		    memcmp(&d[i].net, net, sizeof(*net)) == 0)
			return (int)i;
	return -1;
}

/* ctl_live_worker_apply - one message from the control thread */
void ctl_live_worker_apply(struct ctl_live_worker *w,
			   const struct ctl_live_msg *m, uint64_t now_ns)
{
	int i;

	switch ((enum ctl_live_msg_type)m->type) {
	case CTL_LIVE_MSG_ENTRY:
		ctl_cache_put(w->cache, &m->entry, m->now_s);
		return;
	case CTL_LIVE_MSG_PASS_OLD:
		(void)scr_engine_pass_old(w->eng, &m->key, now_ns);
		return;
	case CTL_LIVE_MSG_DNSBL:
		(void)scr_engine_dnsbl(w->eng, &m->key, m->score,
				       (enum scr_dnsbl_outcome)m->outcome, now_ns);
		return;
	case CTL_LIVE_MSG_REPLY_BAN:
		(void)scr_engine_reply_ban(w->eng, &m->key, (uint32_t)m->score,
					   now_ns);
		return;
	case CTL_LIVE_MSG_ENVELOPE:
		if (m->outcome == CTL_LIVE_ENV_NONE)
			(void)scr_engine_envelope_answer(w->eng, &m->key);
		else
			(void)scr_engine_envelope(w->eng, &m->key,
						  (enum scr_action)m->outcome, now_ns);
		return;
	case CTL_LIVE_MSG_DYN_ADD:
	case CTL_LIVE_MSG_DYN_DEL:
		i = dyn_find(w->dyn, w->ndyn, m->kind, &m->entry.addr, m->plen);
		if (m->type == CTL_LIVE_MSG_DYN_DEL) {
			if (i >= 0)
				w->dyn[i] = w->dyn[--w->ndyn];
			return;
		}
		if (i < 0) {
			if (w->ndyn == CTL_LIVE_DYN_MAX)
				return;	/* the control thread refuses more */
			i = (int)w->ndyn++;
		}
		w->dyn[i].net = m->entry.addr;
		w->dyn[i].plen = m->plen;
		w->dyn[i].kind = m->kind;
		w->dyn[i].expires_s = m->expires_s;
		return;
	case CTL_LIVE_MSG_CACHE_FLUSH:
		ctl_cache_clear(w->cache);
		return;
	case CTL_LIVE_MSG_SETUP:
		/* Flows in flight keep their state. The control thread built
		 * the scanner: the worker only switches, and hands the old
		 * one back; without one it builds it here, and keeps the old
		 * policy if it cannot get the memory. */
		if (m->scan != NULL || m->setup->db == NULL) {
			struct scr_scan_thread *old, *prev;

			old = scr_engine_set_policy_scan(w->eng, &m->setup->pol,
							 m->setup->db, m->scan);
			prev = atomic_exchange(&w->old_scan, old);
			if (prev != NULL)	/* not collected yet: two reloads */
				scr_scan_thread_destroy(prev);
			w->setup = m->setup;
		} else if (scr_engine_set_policy(w->eng, &m->setup->pol,
						 m->setup->db) == 0) {
			w->setup = m->setup;
		}
		ctl_cache_set_v6_prefix(w->cache, w->setup->pol.client_v6_plen);
		atomic_store_explicit(&w->setup_gen, m->gen, memory_order_release);
		return;
	case CTL_LIVE_MSG_MAX:
	default:
		ctl_msg_panic("control message type %u out "
			"of range", m->type);
	}
}

/* ---- messages to the workers ---- */

/* send_to - one message to one worker (counted when its ring is full) */
static void send_to(struct ctl_live *l, unsigned w, const struct ctl_live_msg *m)
{
	if (l->ops.send(l->ops.arg, w, m) != 0)
		l->st.msg_lost++;
}

/* broadcast - one message to every worker */
static void broadcast(struct ctl_live *l, const struct ctl_live_msg *m)
{
	unsigned i;

	for (i = 0; i < l->nw; i++)
		send_to(l, i, m);
}

/* entry_out - the master cache's entry of a, to every worker */
static void entry_out(struct ctl_live *l, const struct ctl_cache_entry *e,
		      uint64_t t)
{
	struct ctl_live_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_ENTRY;
	m.now_s = t;
	m.entry = *e;
	broadcast(l, &m);
}

/* ---- the verdict policy ---- */

/* pass_left - seconds all of 'tests' still pass in e (0: not all) */
static uint64_t pass_left(const struct ctl_cache_entry *e, uint8_t tests,
			  uint64_t t)
{
	uint64_t m = UINT64_MAX;
	unsigned i;

	if (tests == 0)
		return 0;
	for (i = 0; i < SCR_TEST_MAX; i++) {
		if (!(tests & SCR_TEST_BIT(i)))
			continue;
		if (e->pass_until[i] <= t)
			return 0;
		if (e->pass_until[i] - t < m)
			m = e->pass_until[i] - t;
	}
	return m;
}

/* persist - the master entry of a to the LMDB store and the shared store
 * (queued there, never waits), then to the workers; the entry in *e */
static int persist(struct ctl_live *l, const struct scr_addr *a, uint64_t t,
		   struct ctl_cache_entry *e, bool shared)
{
	char ab[64];
	int rc;

	if (ctl_cache_get(l->cache, a, t, e) != 0)
		return -ENOENT;
#ifdef SCR_HAVE_STORE
	l->sync_pending = l->store != NULL;
	if (l->store && (rc = ctl_store_put(l->store, e)) != 0) {
		l->st.store_err++;
		ctl_msg_warn("%s: cannot store the verdict of %s: %s",
			     ctl_store_path(l->store),
			     ctl_cache_addr_str(a, ab, sizeof(ab)), strerror(-rc));
	}
#else
	(void)rc;
	(void)ab;
#endif
#ifdef SCR_HAVE_SHARED
	if (shared && l->shared)
		(void)ctl_shared_put(l->shared, e, t);
#else
	(void)shared;
#endif
	entry_out(l, e, t);
	return 0;
}

/* map_add - a dynamic XDP entry for one address (ttl clamped) */
static void map_add(struct ctl_live *l, enum scr_xdp_kind kind,
		    const struct scr_addr *a, uint64_t ttl, scr_reasons reasons)
{
#ifdef SCR_HAVE_BPF
	struct scr_addr key = ctl_cache_key(l->cache, a);
	unsigned plen = scr_addr_is_v4(a) ? 128 : l->setup->pol.client_v6_plen;
	char ab[64];
	int rc;

	if (l->maps == NULL)
		return;
	if (ttl > SCR_XDP_TTL_MAX_S)
		ttl = SCR_XDP_TTL_MAX_S;
	/* an IPv6 client's entry is its prefix, as in the cache */
	rc = ctl_maps_dyn_add(l->maps, kind, &key, plen, ttl ? (uint32_t)ttl : 1,
			      reasons);
	if (rc != 0) {
		l->st.map_err++;
		if (kind == SCR_XDP_KIND_BLOCK)
			ctl_msg_warn("block entry for %s: %s",
				     ctl_cache_addr_str(a, ab, sizeof(ab)),
				     strerror(-rc));
	}
#else
	(void)l; (void)kind; (void)a; (void)ttl; (void)reasons;
#endif
}

/* map_del_allow - a client's XDP ALLOW entry goes (XDP takes an ALLOW
 * entry before a BLOCK one: a client passed, then blocked, as by a DNSBL
 * listing that came after its pass) */
static void map_del_allow(struct ctl_live *l, const struct scr_addr *a)
{
#ifdef SCR_HAVE_BPF
	struct scr_addr key = ctl_cache_key(l->cache, a);
	unsigned plen = scr_addr_is_v4(a) ? 128 : l->setup->pol.client_v6_plen;
	int rc;

	if (l->maps == NULL || !l->o.allow_map)
		return;
	rc = ctl_maps_dyn_del(l->maps, SCR_XDP_KIND_ALLOW, &key, plen);
	if (rc != 0 && rc != -ENOENT)
		l->st.map_err++;
#else
	(void)l; (void)a;
#endif
}

/* block_for - a client blocked for ttl_s: cache, stores, workers, the
 * XDP block map (once: a client blocked already stays as it is) */
static void block_for(struct ctl_live *l, const struct scr_addr *a,
		      scr_reasons reasons, uint64_t t, uint32_t ttl_s)
{
	struct ctl_cache_entry e;

	if (ttl_s == 0)
		return;		/* smuggling with smtpscreen_smuggling_ttl = 0 */
	if (ctl_cache_get(l->cache, a, t, &e) == 0 && e.block_until > t)
		return;
	ctl_cache_block(l->cache, a, t, ttl_s, reasons);
	(void)persist(l, a, t, &e, true);
	l->st.blocks++;
	map_add(l, SCR_XDP_KIND_BLOCK, a, ttl_s, reasons);
	map_del_allow(l, a);
}

/* block - a client stopped under enforce/drop, for its tests' TTL
 * (smtpscreen_block_ttl; smuggling: smtpscreen_smuggling_ttl) */
static void block(struct ctl_live *l, const struct scr_addr *a, scr_reasons reasons,
		  uint64_t t)
{
	block_for(l, a, reasons, t, ctl_cache_block_ttl(&l->setup->pol, reasons));
}

/* on_reply - a server reply for the reply bans (ctl_rban): a ban is
 * logged, blocks the client (cache, stores, XDP) unless the action is
 * ignore, and fails its flow on the worker that has it */
static void on_reply(struct ctl_live *l, const struct scr_event *ev,
		     unsigned w)
{
	const struct scr_policy *pol = &l->setup->pol;
	enum scr_action act = (enum scr_action)pol->action[SCR_TEST_REPLY_BAN];
	uint64_t t = ev->ts_ns / 1000000000u;
	struct ctl_rban_ban b;
	struct scr_event bev;
	struct ctl_live_msg m;

	if (l->rban == NULL || !pol->reply_ban ||
	    !ctl_rban_hit(l->rban, &ev->key.client, (enum scr_reply_kind)ev->reply,
			  t, &b))
		return;
	l->st.reply_bans++;
	ctl_rban_event(ev, &b, act, &bev);
	log_event(l, &bev);
	if (act != SCR_ACT_IGNORE)
		block_for(l, &ev->key.client,
			  (uint8_t)SCR_TEST_BIT(SCR_TEST_REPLY_BAN), t, b.ttl_s);
	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_REPLY_BAN;
	m.key = ev->key;
	m.score = (int32_t)(b.count > INT32_MAX ? INT32_MAX : b.count);
	if (w < l->nw)
		send_to(l, w, &m);
}

/* envck_update - the envelope checks of setup s (control thread): built
 * anew, sessions in flight forgotten (their later RCPTs are checked
 * without their HELO and sender). 0, or -EINVAL with err. */
static int envck_update(struct ctl_live *l, struct ctl_setup *s, char *err,
			size_t errlen)
{
	struct ctl_envelope *v = NULL;

	if (s->pol.envelope) {
		v = ctl_envelope_create(s->conf, false, err, errlen);
		if (v == NULL)
			return -EINVAL;
	}
	ctl_envelope_destroy(l->envck);
	l->envck = v;
	return 0;
}

/* env_answer - the answer to a RCPT TO for worker w, which may keep the
 * client's frames until then: not rejected, they go on; a reject under
 * enforce or drop stops the session (the appliance sends smtpd's reply
 * line first); drop also blocks the client for smtpscreen_envelope_ttl.
 * ctl_envelope_done_fn for the answers DNS delayed. */
static void env_answer(void *arg, unsigned w, const struct scr_event *ev,
		       enum ctl_env_result r, const struct ctl_env_reject *rej)
{
	struct ctl_live *l = arg;
	struct ctl_live_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_ENVELOPE;
	m.key = ev->key;
	m.outcome = CTL_LIVE_ENV_NONE;
	if (r == CTL_ENV_REJECT) {
		size_t n = strlen(rej->reply), i;

		if (rej->act == SCR_ACT_DROP)
			block_for(l, &ev->key.client, SCR_REASON_ENVELOPE,
				  ev->ts_ns / 1000000000u,
				  l->setup->pol.envelope_ttl_s);
		l->st.envelope_rejects++;
		m.outcome = (uint8_t)rej->act;
		if (n > sizeof(m.reply) - 3)
			n = sizeof(m.reply) - 3;	/* a long address: cut */
		memcpy(m.reply, rej->reply, n);
		for (i = 0; i < n; i++)		/* the client's bytes: no CR/LF */
			if ((uint8_t)m.reply[i] < 0x20 || (uint8_t)m.reply[i] == 0x7f)
				m.reply[i] = '?';
		memcpy(m.reply + n, "\r\n", 3);
	}
	if (w < l->nw)
		send_to(l, w, &m);
}

/* on_envelope - a command for the envelope checks: each RCPT TO is
 * answered now, or when the DNS answers it waits for are in
 * (env_process) */
static void on_envelope(struct ctl_live *l, const struct scr_event *ev,
			unsigned w)
{
	struct ctl_log *logs[2] = { l->log, l->flog };
	struct ctl_env_reject rej;
	enum ctl_env_result r = CTL_ENV_NONE;

	if (l->envck != NULL)
		r = ctl_envelope_event(l->envck, ev, w, logs, 2, &rej);
	if (ev->env == SCR_ENV_RCPT && r != CTL_ENV_PENDING)
		env_answer(l, w, ev, r, &rej);
}

/* env_process - the envelope checks' DNS answers (control loop) */
static void env_process(struct ctl_live *l, const struct pollfd *fds, int n)
{
	struct ctl_log *logs[2] = { l->log, l->flog };

	ctl_envelope_process(l->envck, fds, n, logs, 2, env_answer, l);
}

/* pass - a client passed its tests now (new: cache and stores) or from
 * the cache; with allow_map its later sessions skip the tests in XDP */
static void pass(struct ctl_live *l, const struct scr_addr *a, bool old,
		 uint64_t t)
{
	const struct scr_policy *pol = &l->setup->pol;
	uint8_t tests = pol->enabled & SCR_TESTS_STREAM;
	struct ctl_cache_entry e;

	l->st.passes++;
	if (ctl_cache_get(l->cache, a, t, &e) == 0 && e.block_until > t)
		return;		/* blocked while its session ran (reply ban) */
	if (!old) {
		ctl_cache_pass(l->cache, a, t, tests, pol);
		(void)persist(l, a, t, &e, true);
	}
	if (l->o.allow_map && ctl_cache_get(l->cache, a, t, &e) == 0)
		map_add(l, SCR_XDP_KIND_ALLOW, a, pass_left(&e, tests, t), 0);
}

#ifdef SCR_HAVE_DNSBL
/* dnsbl_send - a DNSBL answer for flow k to the worker that has it
 * (built in *m) */
static void dnsbl_send(struct ctl_live *l, const struct scr_flow_key *k,
		       unsigned worker, int score, enum scr_dnsbl_outcome out,
		       struct ctl_live_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = CTL_LIVE_MSG_DNSBL;
	m->key = *k;
	m->score = score;
	m->outcome = (uint8_t)out;
	if (worker < l->nw)
		send_to(l, worker, m);
}

/* dnsbl_none - no lookup for ev's client: its worker waits for none (a
 * neutral answer) */
static void dnsbl_none(struct ctl_live *l, const struct scr_event *ev,
		       unsigned worker)
{
	struct ctl_live_msg m;

	dnsbl_send(l, &ev->key, worker, 0, SCR_DNSBL_NEUTRAL, &m);
}

/* dnsbl_done - a score: to the worker that has the flow; an allow-listed
 * client passes every other test for the DNS TTL (postscreen) */
static void dnsbl_done(void *arg, const struct scr_addr *a,
		       const struct ctl_dnsbl_result *r)
{
	struct live_dnsbl *x = arg;
	struct ctl_live *l = x->l;
	struct ctl_live_msg m;

	(void)a;
	dnsbl_send(l, &x->key, x->worker, r->score,
		   ctl_dnsbl_outcome(l->dnsbl, r->score), &m);
	l->st.dnsbl_listed += m.outcome == SCR_DNSBL_FAIL;
	if (m.outcome == SCR_DNSBL_ALLOW) {
		struct scr_policy p = l->setup->pol;
		struct ctl_cache_entry e;
		uint64_t t = now_s();
		unsigned i;

		if (ctl_cache_get(l->cache, &x->key.client, t, &e) == 0 &&
		    e.block_until > t)
			goto out;	/* a block made meanwhile stays */

		for (i = 0; i < SCR_TEST_MAX; i++)
			p.ttl_s[i] = r->ttl_s ? r->ttl_s : 1;
		ctl_cache_pass(l->cache, &x->key.client, t,
			       p.enabled & SCR_TESTS_STREAM, &p);
		(void)persist(l, &x->key.client, t, &e, true);
	}
out:
	x->next = l->dfree;
	l->dfree = (unsigned)(x - l->dq) + 1;
}

/* dnsbl_start - look a new client up */
static void dnsbl_start(struct ctl_live *l, const struct scr_event *ev,
			unsigned worker)
{
	struct live_dnsbl *x;

	if (l->dnsbl == NULL)
		return;
	if (l->dfree == 0) {
		l->st.dnsbl_lost++;	/* CTL_LIVE_DNSBL_MAX in flight */
		dnsbl_none(l, ev, worker);
		return;
	}
	x = &l->dq[l->dfree - 1];
	l->dfree = x->next;
	x->l = l;
	x->key = ev->key;
	x->worker = worker;
	l->st.dnsbl_started++;
	if (ctl_dnsbl_lookup(l->dnsbl, &ev->key.client, mono_ns(),
			     dnsbl_done, x) != 0) {
		l->st.dnsbl_lost++;
		x->next = l->dfree;
		l->dfree = (unsigned)(x - l->dq) + 1;
		dnsbl_none(l, ev, worker);
	}
}

/* dnsbl_log - dnsblog's lines, in our log */
static void dnsbl_log(void *arg, const char *line)
{
	(void)arg;
	if (strncmp(line, "warning: ", 9) == 0)
		ctl_msg_warn("%s", line + 9);
	else
		ctl_msg_info("%s", line);
}

/* dnsbl_new - the resolver a setup asks for (*out NULL: no DNSBL) */
static int dnsbl_new(struct ctl_live *l, const struct ctl_setup *s,
		     struct ctl_dnsbl **out, char *err, size_t errlen)
{
	return ctl_dnsbl_for_conf(s->conf,
				  (s->pol.enabled & SCR_TEST_BIT(SCR_TEST_DNSBL)) != 0,
				  CTL_LIVE_DNSBL_MAX, dnsbl_log, l, out, err, errlen);
}

/* dnsbl_swap - use d from now on; lookups in flight are dropped (their
 * flows go on without a score) */
static int dnsbl_swap(struct ctl_live *l, struct ctl_dnsbl *d, char *err,
		      size_t errlen)
{
	unsigned i;

	if (d && l->dq == NULL) {
		l->dq = calloc(CTL_LIVE_DNSBL_MAX, sizeof(*l->dq));
		if (l->dq == NULL) {
			snprintf(err, errlen, "DNSBL: out of memory");
			ctl_dnsbl_destroy(d);
			return -ENOMEM;
		}
	}
	ctl_dnsbl_destroy(l->dnsbl);
	l->dnsbl = d;
	atomic_store_explicit(&l->connect_looks, d != NULL || l->shared_url[0],
			      memory_order_relaxed);
	for (i = 0; l->dq && i < CTL_LIVE_DNSBL_MAX; i++)
		l->dq[i].next = i + 2 <= CTL_LIVE_DNSBL_MAX ? i + 2 : 0;
	l->dfree = l->dq ? 1 : 0;
	return 0;
}
#endif

/* pass_old_late - the master cache says the flow's client passed every
 * test: PASS OLD to its worker; whether it did */
static bool pass_old_late(struct ctl_live *l, const struct scr_flow_key *key,
			  unsigned worker, uint64_t t)
{
	const struct ctl_setup *s = l->setup;
	struct scr_client_info info;
	struct ctl_live_msg m;

	ctl_cache_client(l->cache, &key->client, t, s->pol.enabled, &info);
	if (info.cls != SCR_CLIENT_NEW || !info.pass_old ||
	    (info.todo & s->pol.enabled & SCR_TESTS_STREAM))
		return false;
	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_PASS_OLD;
	m.key = *key;
	send_to(l, worker, &m);
	l->st.pass_old_sent++;
	return true;
}

#ifdef SCR_HAVE_SHARED
/* shared_ask - read the client's record in the shared store, answer later */
static void shared_ask(struct ctl_live *l, const struct scr_event *ev,
		       unsigned worker)
{
	struct live_sget *x;
	struct scr_addr ckey;

	if (l->sfree == 0) {
		l->st.shared_unavail++;	/* LIVE_SHARED_MAX in flight */
		return;
	}
	x = &l->sq[l->sfree - 1];
	x->key = ev->key;
	x->worker = worker;
	ckey = ctl_cache_key(l->cache, &ev->key.client);
	if (ctl_shared_get_async(l->shared, &ckey,
				 (uint64_t)(x - l->sq) + 1) != 0) {
		l->st.shared_unavail++;	/* down: the node screens itself */
		return;
	}
	l->sfree = x->next;
}

/* on_shared_get - a record another node wrote: kept here (cache, LMDB,
 * workers) and, when it passes every test, the flow is PASS OLD */
static void on_shared_get(void *arg, uint64_t token, int rc,
			  const struct ctl_cache_entry *r)
{
	struct ctl_live *l = arg;
	struct live_sget *x = &l->sq[token - 1];
	uint64_t t = now_s();
	struct ctl_cache_entry e;

	if (rc == 0) {
		l->st.shared_hits++;
		if (ctl_cache_get(l->cache, &r->addr, t, &e) != 0)
			memset(&e, 0, sizeof(e));
		ctl_cache_entry_merge(&e, r);
		e.addr = r->addr;
		ctl_cache_put(l->cache, &e, t);
		(void)persist(l, &e.addr, t, &e, false);
		(void)pass_old_late(l, &x->key, x->worker, t);
	} else if (rc == -ENOENT) {
		l->st.shared_misses++;
	} else {
		l->st.shared_unavail++;
	}
	x->next = l->sfree;
	l->sfree = (unsigned)(x - l->sq) + 1;
}
#endif

/* lookup - a new client's CONNECT: what the worker's cache did not know
 * (the master cache, the LMDB store, the shared store); a pass of every
 * test goes back as PASS OLD; then DNSBL for a client still in its tests */
static void lookup(struct ctl_live *l, const struct scr_event *ev,
		   unsigned worker)
{
	const struct ctl_setup *s = l->setup;
	uint64_t t = ev->ts_ns / 1000000000u;
	struct scr_client_info info;
	struct ctl_cache_entry e, r;
	struct scr_addr ckey = ctl_cache_key(l->cache, &ev->key.client);
	bool found = false;

	if (ctl_acl_lookup(s->acl, &ev->key.client) != CTL_ACL_DUNNO)
		return;
	l->st.lookups++;
	if (ctl_cache_get(l->cache, &ev->key.client, t, &e) != 0) {
		memset(&e, 0, sizeof(e));
#ifdef SCR_HAVE_SHARED
		/* the answer comes later (on_shared_get), in the hold */
		if (l->shared)
			shared_ask(l, ev, worker);
#endif
#ifdef SCR_HAVE_STORE
		if (l->store && ctl_store_get(l->store, &ckey, &r) == 0) {
			ctl_cache_entry_merge(&e, &r);
			l->st.store_hits++;
			found = true;
		}
#endif
		if (found) {
			e.addr = ckey;
			ctl_cache_put(l->cache, &e, t);
			entry_out(l, &e, t);
		}
	}
	if (pass_old_late(l, &ev->key, worker, t))
		return;
	ctl_cache_client(l->cache, &ev->key.client, t, s->pol.enabled, &info);
	if (info.cls != SCR_CLIENT_NEW)
		return;
#ifdef SCR_HAVE_DNSBL
	dnsbl_start(l, ev, worker);
#else
	(void)worker;
#endif
}

/* on_stress - a worker entered or left stress mode: the daemon is in
 * stress mode while any worker is; one line per change, with the flows
 * of every worker (postscreen's "N connections") */
static void on_stress(struct ctl_live *l, const struct scr_event *ev,
		      unsigned w)
{
	uint64_t was = l->stress_mask, flows = 0;
	struct scr_event agg = *ev;
	struct scr_stats es;

	if (ev->stress)
		l->stress_mask |= 1ull << w;
	else
		l->stress_mask &= ~(1ull << w);
	if ((was != 0) == (l->stress_mask != 0))
		return;
	if (l->nw > 1) {
		l->ops.engine(l->ops.arg, &es, &flows);
		agg.count = flows > UINT32_MAX ? UINT32_MAX : (uint32_t)flows;
	}
	log_event(l, &agg);
}

/* ctl_live_event_urgent - whether ev's effects should not wait for the
 * front end's next batch of events: a new client's CONNECT when it starts
 * DNSBL or shared-store lookups (their answers race the greet wait), and
 * a server reply for the reply bans (a ban races the client's next
 * command). Blocks and passes may wait: the worker's own cache has them for the
 * client's next session at once (ctl_cache_block, ctl_cache_verdict),
 * the map entry, log line and store only follow. Any thread. */
bool ctl_live_event_urgent(const struct ctl_live *l, const struct scr_event *ev)
{
	if (ev->type == SCR_EV_REPLY ||	/* 5xx of four kinds: rare */
	    ev->type == SCR_EV_ENVELOPE)	/* the session waits for it */
		return true;
	return ev->type == SCR_EV_CONNECT &&
	       atomic_load_explicit(&l->connect_looks, memory_order_relaxed);
}

/* ctl_live_event - the verdict policy: one engine event of worker w */
void ctl_live_event(struct ctl_live *l, const struct scr_event *ev, unsigned w)
{
	uint64_t t = ev->ts_ns / 1000000000u;
	struct ctl_cache_entry e;

	l->st.events++;
	if (ev->type == SCR_EV_STRESS) {
		on_stress(l, ev, w);
		return;
	}
	if (ev->type == SCR_EV_REPLY) {
		on_reply(l, ev, w);
		return;
	}
	if (ev->type == SCR_EV_ENVELOPE) {
		on_envelope(l, ev, w);
		return;
	}
	if (ev->type == SCR_EV_END && l->envck != NULL)
		(void)ctl_envelope_event(l->envck, ev, 0, NULL, 0, NULL);
	log_event(l, ev);
	switch (ev->type) {
	case SCR_EV_CONNECT:
		lookup(l, ev, w);
		return;
	case SCR_EV_LISTED:
	case SCR_EV_TOO_MANY:
	case SCR_EV_END:
	case SCR_EV_SMUGGLING:
		return;
	case SCR_EV_FAIL:
		/* Host mode stops an enforce failure at once (the kernel
		 * gives DATA to smtpd before user space sees it). */
		if (l->o.block_at_enforce && ev->action == SCR_ACT_ENFORCE)
			block(l, &ev->key.client, ev->reasons, t);
		return;
	case SCR_EV_VERDICT:
		if (l->verdf) {
			ctl_log_verdict_row(l->verdf, &ev->key, ev->verdict,
					    ev->reasons);
			l->st.rows++;
		}
		if (ev->verdict == SCR_V_BLOCKLISTED)
			return;		/* the permanent list covers it */
		if (ev->stop_pkt && ev->verdict == SCR_V_FAIL) {
			block(l, &ev->key.client, ev->reasons, t);
			return;
		}
		if (ev->verdict == SCR_V_FAIL && l->o.block_at_enforce &&
		    ctl_cache_get(l->cache, &ev->key.client, t, &e) == 0 &&
		    e.block_until > t)
			return;		/* stopped at its failure */
		if (ev->verdict == SCR_V_PASS && !ev->amend)
			pass(l, &ev->key.client, ev->pass_old, t);
		return;
	case SCR_EV_STRESS:
	case SCR_EV_REPLY:
	case SCR_EV_BAN:
	default:
		ctl_msg_panic("event type %d out of range", (int)ev->type);
	}
}

/* rban_update - the reply-ban counter for setup s: made when reply bans
 * are first on, its limits set; counts are kept over reloads */
static int rban_update(struct ctl_live *l, const struct ctl_setup *s,
		       char *err, size_t errlen)
{
	struct ctl_rban_conf rc;

	if (!s->pol.reply_ban && l->rban == NULL)
		return 0;
	ctl_conf_reply_ban(s->conf, &rc);
	if (l->rban != NULL) {
		ctl_rban_set(l->rban, &rc);
		return 0;
	}
	l->rban = ctl_rban_create(rc.table_size, &rc);
	if (l->rban == NULL) {
		snprintf(err, errlen, "reply bans: %s", strerror(errno));
		return -ENOMEM;
	}
	return 0;
}

/* ---- store ---- */

#ifdef SCR_HAVE_STORE
/* load_ctx - a store load: what went where */
struct load_ctx {
	struct ctl_live *l;
	uint64_t now_s;
	bool maps;			/* into the XDP maps, not the cache */
	uint64_t blocks, passes, expired;
};

/* load_cb - one stored record: into the master cache, or the maps */
static int load_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct load_ctx *c = arg;
	struct ctl_live *l = c->l;
	uint8_t tests = l->setup->pol.enabled & SCR_TESTS_STREAM;
	uint64_t left;

	if (!c->maps) {
		unsigned t;
		bool live = e->block_until > c->now_s;

		for (t = 0; t < SCR_TEST_MAX && !live; t++)
			live = e->pass_until[t] > c->now_s;
		if (live)
			ctl_cache_put(l->cache, e, c->now_s);
		return 0;
	}
#ifdef SCR_HAVE_BPF
	if (e->block_until > c->now_s) {
		uint64_t ttl = e->block_until - c->now_s;

		if (ttl > SCR_XDP_TTL_MAX_S)
			ttl = SCR_XDP_TTL_MAX_S;
		if (ctl_maps_dyn_add(l->maps, SCR_XDP_KIND_BLOCK, &e->addr, 128,
				     (uint32_t)ttl, e->block_reasons) != 0)
			return -EIO;
		c->blocks++;
		return 0;
	}
	left = pass_left(e, tests, c->now_s);
	if (left == 0) {
		c->expired++;
		return 0;
	}
	c->passes++;
	if (!l->o.allow_map)
		return 0;
	if (left > SCR_XDP_TTL_MAX_S)
		left = SCR_XDP_TTL_MAX_S;
	if (ctl_maps_dyn_add(l->maps, SCR_XDP_KIND_ALLOW, &e->addr, 128,
			     (uint32_t)left, 0) != 0)
		return -EIO;
#else
	(void)tests;
	(void)left;
#endif
	return 0;
}
#endif

/* ---- start ---- */

/* read_here - the configuration file or the log (log) that out names too,
 * or NULL: the verdict CSV is emptied at start and the log written to,
 * and neither may be one of them */
static const char *read_here(const struct ctl_live *l, const char *out,
			     const char *log)
{
	struct stat so, st;
	const char *f;
	unsigned i;

	if (stat(out, &so) != 0)
		return NULL;
	for (i = 0; (f = ctl_conf_file_at(l->setup->conf, i)) != NULL; i++)
		if (stat(f, &st) == 0 && ctl_file_same(&so, &st))
			return f;
	if (log != NULL && stat(log, &st) == 0 && ctl_file_same(&so, &st))
		return log;
	return NULL;
}

/* open_logs - syslog, the log file, the verdict CSV */
static int open_logs(struct ctl_live *l, char *err, size_t errlen)
{
	const char *v = ctl_conf_get(l->setup->conf, "smtpscreen_log_file");
	const char *path = l->o.log_path ? l->o.log_path : (v && v[0] ? v : NULL);

	if (l->o.log_syslog) {
		ctl_msg_syslog("postfix/smtpscreen", LOG_MAIL);
		l->log = ctl_log_create(l->setup->conf, NULL, l->setup->log_fmt);
		if (l->log == NULL) {
			snprintf(err, errlen, "logging: %s", strerror(errno));
			return -ENOMEM;
		}
	}
	if (path) {
		const char *in = read_here(l, path, NULL);

		if (in != NULL) {
			snprintf(err, errlen, "the log file %s is the configuration "
				 "file %s: the log cannot be a file smtpscreen reads",
				 path, in);
			return -EINVAL;
		}
		snprintf(l->log_path, sizeof(l->log_path), "%s", path);
		l->flog = ctl_log_open_file(l->setup->conf, path, l->setup->log_fmt);
		if (l->flog == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -errno;
		}
		ctl_msg_set_log(l->flog);
	} else if (!l->o.log_syslog) {
		/* the appliance without --log: syslog */
		l->log = ctl_log_create(l->setup->conf, NULL, l->setup->log_fmt);
		if (l->log == NULL) {
			snprintf(err, errlen, "logging: %s", strerror(errno));
			return -ENOMEM;
		}
	}
	if (l->o.verdicts_path) {
		const char *in = read_here(l, l->o.verdicts_path, path);

		if (in != NULL) {
			snprintf(err, errlen, "--verdicts %s is %s %s: an output "
				 "cannot be a file smtpscreen reads or writes",
				 l->o.verdicts_path, in == path ? "the log" :
				 "the configuration file", in);
			return -EINVAL;
		}
		l->verdf = fopen(l->o.verdicts_path, "w");
		if (l->verdf == NULL) {
			snprintf(err, errlen, "%s: %s", l->o.verdicts_path,
				 strerror(errno));
			return -errno;
		}
		fputs(CTL_LOG_VERDICT_HEADER, l->verdf);
	}
	return 0;
}

/* reopen_log - SIGUSR1: the log file again (logrotate moved it); when
 * it cannot be opened the old one is kept */
static void reopen_log(struct ctl_live *l)
{
	int rc;

	if (l->flog == NULL)
		return;
	rc = ctl_log_reopen(l->flog);
	if (rc < 0)
		ctl_msg_warn("log file %s: reopen: %s; still writing to the old "
			     "file", l->log_path, strerror(-rc));
	else
		ctl_msg_info("log file %s reopened", l->log_path);
}

#ifdef SCR_HAVE_BPF
/* compile - the access list of s for the XDP maps */
static int compile(const struct ctl_setup *s, struct ctl_xdp_entry **perm,
		   size_t *n, char *err, size_t errlen)
{
	int rc = ctl_aclcomp_compile(s->acl, perm, n);

	if (rc != 0)
		snprintf(err, errlen, "%s: postscreen_access_list: cannot "
			 "compile for XDP: %s", ctl_conf_file(s->conf),
			 strerror(-rc));
	return rc;
}
#endif

/* ctl_live_create - everything but the workers and the maps */
struct ctl_live *ctl_live_create(const struct ctl_live_opts *o,
				 struct ctl_setup *setup, int *status_out,
				 char *err, size_t errlen)
{
	struct ctl_live *l = calloc(1, sizeof(*l));
	uint32_t cap;
	const char *v;
	int rc;

	*status_out = 1;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	l->setup = setup;
	l->start_ns = ctl_live_now_ns();
	atomic_init(&l->hup, 0);
	atomic_init(&l->usr1, 0);
	atomic_init(&l->rl.state, RL_IDLE);
	l->rl.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->rl.wake_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(l);
		return NULL;
	}
	if (open_logs(l, err, errlen) != 0)
		goto fail;
	l->retention_s = conf_time(setup->conf, "postscreen_cache_retention_time", 'd');
	l->cleanup_interval_s = conf_time(setup->conf,
					  "postscreen_cache_cleanup_interval", 'h');
	cap = setup->pol.flow_table_size < CTL_LIVE_CACHE_MIN ?
	      CTL_LIVE_CACHE_MIN : setup->pol.flow_table_size;
#ifdef SCR_HAVE_STORE
	if (o->store) {
		v = ctl_conf_get(setup->conf, "smtpscreen_cache_file");
		/* the default's directory is ours to make (as the units'
		 * StateDirectory does); a path the postmaster chose is not */
		if (strcmp(v, LIVE_STORE_DEFAULT) == 0 &&
		    mkdir(LIVE_STORE_DIR, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", LIVE_STORE_DIR, strerror(errno));
			goto fail;
		}
		l->store = ctl_store_open(v, conf_num(setup->conf,
						      "smtpscreen_cache_size"),
					  err, errlen);
		if (l->store == NULL)
			goto fail;
		/* one sync per turn of the control loop, not per verdict */
		rc = ctl_store_set_batched(l->store, true);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", ctl_store_path(l->store),
				 strerror(-rc));
			goto fail;
		}
		if (ctl_store_count(l->store) * 2 > cap)
			cap = (uint32_t)(ctl_store_count(l->store) * 2 > UINT32_MAX / 2 ?
					 UINT32_MAX / 2 : ctl_store_count(l->store) * 2);
	}
#endif
	l->cache = ctl_cache_create(cap);
	if (l->cache == NULL) {
		snprintf(err, errlen, "verdict cache: out of memory");
		goto fail;
	}
	ctl_cache_set_v6_prefix(l->cache, l->setup->pol.client_v6_plen);
	if (rban_update(l, l->setup, err, errlen) != 0 ||
	    envck_update(l, setup, err, errlen) != 0)
		goto fail;
#ifdef SCR_HAVE_STORE
	if (l->store) {
		struct load_ctx lc = { .l = l, .now_s = now_s() };
		uint64_t bad = 0;

		rc = ctl_store_foreach(l->store, load_cb, &lc, &bad);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot load the verdict store: %s",
				 ctl_store_path(l->store), strerror(-rc));
			goto fail;
		}
		if (bad)
			ctl_msg_warn("%s: %" PRIu64 " unreadable records "
				     "skipped (dropped at the next cleanup)",
				     ctl_store_path(l->store), bad);
		l->next_cleanup_s = ctl_store_last_cleanup(l->store);
	}
#endif
	if (l->next_cleanup_s < now_s())
		l->next_cleanup_s = now_s();
	l->next_cleanup_s += l->cleanup_interval_s;
	l->next_sweep_s = now_s() + LIVE_SWEEP_S;

	/* The shared store: connecting is lazy, a store that is down is not
	 * an error (the node works on its cache and store). */
	v = ctl_conf_get(setup->conf, "smtpscreen_shared_store");
	snprintf(l->shared_url, sizeof(l->shared_url), "%s", v ? v : "");
	if (l->shared_url[0])
		atomic_store_explicit(&l->connect_looks, true, memory_order_relaxed);
	if (l->shared_url[0]) {
#ifdef SCR_HAVE_SHARED
		l->shared = ctl_shared_create(l->shared_url, err, errlen);
		l->sq = calloc(LIVE_SHARED_MAX, sizeof(*l->sq));
		if (l->shared && l->sq == NULL) {
			snprintf(err, errlen, "shared store: out of memory");
			goto fail;
		}
		if (l->shared == NULL) {
			char m[512];

			snprintf(m, sizeof(m), "smtpscreen_shared_store: %s", err);
			snprintf(err, errlen, "%s", m);
			*status_out = 2;
			goto fail;
		}
#else
		snprintf(err, errlen, "smtpscreen_shared_store = %s: this "
			 "smtpscreen is built without the shared store (hiredis)",
			 l->shared_url);
		*status_out = 2;
		goto fail;
#endif
	}
#ifdef SCR_HAVE_DNSBL
	{
		struct ctl_dnsbl *nd = NULL;

		if (dnsbl_new(l, setup, &nd, err, errlen) != 0 ||
		    dnsbl_swap(l, nd, err, errlen) != 0) {
			*status_out = 2;
			goto fail;
		}
	}
#endif
	/* The control socket before any kernel side: a second daemon on the
	 * same socket stops here. */
	rc = ctl_sock_listen(o->sock_path ? o->sock_path : CTL_SOCK_PATH, 0600,
			     &l->sock, err, errlen);
	if (rc != 0) {
		char m[600];

		snprintf(m, sizeof(m), "control socket: %s", err);
		snprintf(err, errlen, "%s", m);
		goto fail;
	}
#ifdef SCR_HAVE_METRICS
	v = ctl_conf_get(setup->conf, "smtpscreen_metrics_listen");
	if (v && v[0]) {
		char maddr[64];
		unsigned mport;

		if (ctl_metrics_listen_parse(v, maddr, sizeof(maddr), &mport) != 0) {
			snprintf(err, errlen, "smtpscreen_metrics_listen: bad value "
				 "\"%s\" (addr:port)", v);
			*status_out = 2;
			goto fail;
		}
		l->mx = ctl_metrics_start_text(maddr, mport, false, err, errlen);
		if (l->mx == NULL)
			goto fail;
	}
#endif
	return l;
fail:
	l->setup = NULL;	/* the caller keeps it on failure */
	ctl_live_destroy(l);
	return NULL;
}

/* ctl_live_setup - the setup the control thread runs now */
const struct ctl_setup *ctl_live_setup(const struct ctl_live *l)
{
	return l->setup;
}

/* ctl_live_perm - the compiled access list (host mode sizes its maps) */
int ctl_live_perm(struct ctl_live *l, const struct ctl_xdp_entry **perm,
		  size_t *n, char *err, size_t errlen)
{
#ifdef SCR_HAVE_BPF
	/* compiled when a front end has XDP maps to fill, not before */
	if (!l->compiled) {
		int rc = compile(l->setup, &l->perm, &l->nperm, err, errlen);

		if (rc != 0)
			return rc;
		l->compiled = true;
	}
#else
	(void)err;
	(void)errlen;
#endif
	*perm = l->perm;
	*n = l->nperm;
	return 0;
}

/* ctl_live_set_maps - the XDP maps the policy writes */
void ctl_live_set_maps(struct ctl_live *l, struct ctl_maps *maps)
{
	l->maps = maps;
}

/* ctl_live_load_maps - access list and stored verdicts into the maps */
int ctl_live_load_maps(struct ctl_live *l, char *err, size_t errlen)
{
#ifdef SCR_HAVE_BPF
	int rc;

	const struct ctl_xdp_entry *perm;
	size_t nperm;

	if (l->maps == NULL)
		return 0;
	rc = ctl_live_perm(l, &perm, &nperm, err, errlen);
	if (rc != 0)
		return rc;
	rc = ctl_maps_replace(l->maps, perm, nperm);
	if (rc != 0) {
		snprintf(err, errlen, "postscreen_access_list into the XDP maps: %s",
			 strerror(-rc));
		return rc;
	}
#ifdef SCR_HAVE_STORE
	if (l->store) {
		struct load_ctx lc = { .l = l, .now_s = now_s(), .maps = true };
		uint64_t bad = 0;

		rc = ctl_store_foreach(l->store, load_cb, &lc, &bad);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot load the verdict store "
				 "into the maps: %s", ctl_store_path(l->store),
				 strerror(-rc));
			return rc;
		}
		ctl_msg_info("store %s: %" PRIu64 " blocks and %" PRIu64
			     " passes loaded", ctl_store_path(l->store),
			     lc.blocks, lc.passes);
	}
#endif
#else
	(void)l; (void)err; (void)errlen;
#endif
	return 0;
}

/* copy_cb - one master entry into a worker's cache */
static int copy_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct ctl_cache *c = arg;

	ctl_cache_put(c, e, now_s());
	return 0;
}

/* ctl_live_workers - the workers and the front end's callbacks; their
 * caches get the master cache's entries (the store's) before they run */
int ctl_live_workers(struct ctl_live *l, struct ctl_live_worker **w,
		     unsigned n, const struct ctl_live_ops *ops)
{
	unsigned i;

	if (n == 0 || n > CTL_LIVE_WORKERS_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		l->w[i] = w[i];
		(void)ctl_cache_walk(l->cache, copy_cb, w[i]->cache);
	}
	l->nw = n;
	l->ops = *ops;
	return 0;
}

/* ctl_live_destroy - release everything (reverse order) */
void ctl_live_destroy(struct ctl_live *l)
{
	unsigned i;

	if (l == NULL)
		return;
	if (sig_live == l) {		/* the handler no longer sees it */
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
	}
	ctl_sock_close(l->sock);
#ifdef SCR_HAVE_METRICS
	ctl_metrics_stop(l->mx);
#endif
#ifdef SCR_HAVE_DNSBL
	ctl_dnsbl_destroy(l->dnsbl);
	free(l->dq);
#endif
#ifdef SCR_HAVE_SHARED
	ctl_shared_destroy(l->shared);
#endif
	free(l->sq);
	ctl_cache_destroy(l->cache);
	ctl_rban_destroy(l->rban);
	ctl_envelope_destroy(l->envck);
#ifdef SCR_HAVE_STORE
	ctl_store_close(l->store);
#endif
	if (l->verdf)
		fclose(l->verdf);
	ctl_msg_set_log(NULL);
	ctl_log_destroy(l->flog);
	ctl_log_destroy(l->log);
	free(l->perm);
	reload_drop(l);
	for (i = 0; i < l->nw; i++)
		scr_scan_thread_destroy(atomic_exchange(&l->w[i]->old_scan, NULL));
	for (i = 0; i < LIVE_RETIRED_MAX; i++) {
		if (l->old[i].s) {
			ctl_setup_fini(l->old[i].s);
			free(l->old[i].s);
		}
	}
	if (l->rl.wake_fd >= 0)
		close(l->rl.wake_fd);
	if (l->setup) {
		ctl_setup_fini(l->setup);
		free(l->setup);
	}
	free(l);
}

/* ---- reload ---- */

/* reload_build - the reload thread: main.cf, tables, access list, DNSBL;
 * nothing the control thread or the workers use is touched */
static void *reload_build(void *arg)
{
	struct ctl_live *l = arg;
	struct live_reload *r = &l->rl;
	const struct ctl_setup *cur = l->setup;	/* not swapped while we run */
	uint64_t one = 1;

	r->rc = -ENOMEM;
	r->n = calloc(1, sizeof(*r->n));
	if (r->n == NULL) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		goto out;
	}
	r->rc = -EINVAL;
	if (ctl_setup_load(r->n, l->o.conf_path, r->err, sizeof(r->err)) != 0) {
		free(r->n);
		r->n = NULL;
		goto out;
	}
	r->n->pol.dnsbl_wait = cur->pol.dnsbl_wait;	/* the front end's */
	if (memcmp(r->n->pol.ports, cur->pol.ports, sizeof(r->n->pol.ports)) ||
	    r->n->pol.flow_table_size != cur->pol.flow_table_size) {
		snprintf(r->err, sizeof(r->err), "smtpscreen_ports and "
			 "smtpscreen_flow_table_size change only at a restart");
		goto out;
	}
#ifdef SCR_HAVE_BPF
	/* l->maps is set once, before the control loop runs */
	if (l->maps && compile(r->n, &r->perm, &r->nperm, r->err,
			       sizeof(r->err)) != 0)
		goto out;
#endif
#ifdef SCR_HAVE_DNSBL
	/* postscreen_dnsbl_sites and the rest: built before anything changes */
	if (dnsbl_new(l, r->n, &r->nd, r->err, sizeof(r->err)) != 0)
		goto out;
#endif
	r->rc = 0;
out:
	atomic_store(&r->state, RL_DONE);
	(void)!write(r->wake_fd, &one, sizeof(one));
	return NULL;
}

/* reload_start - build a new setup on the reload thread; -EBUSY when a
 * reload is running already */
static int reload_start(struct ctl_live *l, char *err, size_t errlen)
{
	struct live_reload *r = &l->rl;
	int rc;

	if (atomic_load(&r->state) != RL_IDLE) {
		snprintf(err, errlen, "a reload is running already");
		return -EBUSY;
	}
	r->n = NULL;
	r->perm = NULL;
	r->nperm = 0;
	r->nd = NULL;
	r->err[0] = 0;
	r->t0 = ctl_live_now_ns();
	atomic_store(&r->state, RL_RUNNING);
	rc = pthread_create(&r->th, NULL, reload_build, l);
	if (rc != 0) {
		atomic_store(&r->state, RL_IDLE);
		snprintf(err, errlen, "reload thread: %s", strerror(rc));
		return -rc;
	}
	(void)ctl_notify_reloading();	/* READY=1 again in reload_apply */
	return 0;
}

/* reload_drop - the build's result, unused (failed, or at exit) */
static void reload_drop(struct ctl_live *l)
{
	struct live_reload *r = &l->rl;

	if (atomic_load(&r->state) == RL_IDLE)
		return;
	if (!r->joined)
		pthread_join(r->th, NULL);
	r->joined = false;
#ifdef SCR_HAVE_DNSBL
	ctl_dnsbl_destroy(r->nd);
#endif
	free(r->perm);
	if (r->n) {
		ctl_setup_fini(r->n);
		free(r->n);
	}
	r->n = NULL;
	r->perm = NULL;
	r->nd = NULL;
	atomic_store(&r->state, RL_IDLE);
}

/* retire - the workers' old setup, freed once they all moved to gen;
 * -EBUSY when LIVE_RETIRED_MAX wait already */
static int retire(struct ctl_live *l, struct ctl_setup *s, uint64_t gen)
{
	unsigned i;

	for (i = 0; i < LIVE_RETIRED_MAX; i++) {
		if (l->old[i].s == NULL) {
			l->old[i].s = s;
			l->old[i].gen = gen;
			return 0;
		}
	}
	return -EBUSY;
}

/* reload_done - free the old setups every worker has left */
static void reload_done(struct ctl_live *l)
{
	uint64_t min = UINT64_MAX, g;
	unsigned i;

	for (i = 0; i < l->nw; i++) {
		struct scr_scan_thread *old = atomic_exchange(&l->w[i]->old_scan,
							      NULL);

		scr_scan_thread_destroy(old);	/* the worker's last scanner */
		g = atomic_load_explicit(&l->w[i]->setup_gen, memory_order_acquire);
		if (g < min)
			min = g;
	}
	for (i = 0; i < LIVE_RETIRED_MAX; i++) {
		if (l->old[i].s && l->old[i].gen <= min) {
			ctl_setup_fini(l->old[i].s);
			free(l->old[i].s);
			l->old[i].s = NULL;
		}
	}
}

/* reload_apply - the build is done: the maps, then the workers switch
 * between bursts; all or nothing. 0, or -errno with the reason in err */
static int reload_apply(struct ctl_live *l, char *err, size_t errlen)
{
	struct live_reload *r = &l->rl;
	bool host = strcmp(l->o.mode, "host") == 0;	/* the kernel's knobs */
	struct ctl_live_msg m;
	const char *v;
	unsigned i;
	int rc;

	pthread_join(r->th, NULL);
	r->joined = true;
	rc = r->rc;
	if (rc != 0) {
		snprintf(err, errlen, "%s", r->err);
		goto fail;
	}
	reload_done(l);
	if (l->old[LIVE_RETIRED_MAX - 1].s) {
		snprintf(err, errlen, "%d reloads still being applied by the "
			 "workers", LIVE_RETIRED_MAX);
		rc = -EBUSY;
		goto fail;
	}
#ifdef SCR_HAVE_BPF
	if (l->maps && (rc = ctl_maps_replace(l->maps, r->perm, r->nperm)) != 0) {
		snprintf(err, errlen, "postscreen_access_list into the XDP maps "
			 "(bigger maps for a list that did not fit included): %s",
			 strerror(-rc));
		goto fail;
	}
#endif
#ifdef SCR_HAVE_DNSBL
	(void)dnsbl_swap(l, r->nd, err, errlen);   /* no DNSBL if out of memory */
	r->nd = NULL;
#endif
	if (r->n->hold_ns > l->setup->hold_ns && l->setup->hold_ns && host)
		ctl_msg_warn("reload: a longer postscreen_greet_wait needs a "
			     "restart to move the kernel's fail-open deadline");
	if ((r->n->host_hold != l->setup->host_hold ||
	     (r->n->pol.action[SCR_TEST_PREGREET] == SCR_ACT_IGNORE) !=
	     (l->setup->pol.action[SCR_TEST_PREGREET] == SCR_ACT_IGNORE)) &&
	    host)
		ctl_msg_warn("reload: a new smtpscreen_host_hold, or a pregreet "
			     "action changed to or from ignore, reaches the XDP "
			     "program at a restart");
	if (r->n->pol.overload_drop != l->setup->pol.overload_drop && host)
		ctl_msg_warn("reload: a new smtpscreen_overload_policy reaches the "
			     "kernel's holds at a restart");
	if (r->n->pol.envelope != l->setup->pol.envelope && host)
		ctl_msg_warn("reload: envelope checks turned %s: the kernel's 354 "
			     "deadline and the ALLOW entries of the pass cache "
			     "follow at a restart (docs/host.md)",
			     r->n->pol.envelope ? "on" : "off");
	v = ctl_conf_get(r->n->conf, "smtpscreen_shared_store");
	if (strcmp(v ? v : "", l->shared_url) != 0)
		ctl_msg_warn("reload: a new smtpscreen_shared_store needs a "
			     "restart; still using \"%s\"", l->shared_url);
	if (rban_update(l, r->n, err, errlen) != 0)
		ctl_msg_warn("reload: %s: reply bans stay as they were", err);
	if (envck_update(l, r->n, err, errlen) != 0) {
		ctl_msg_warn("reload: %s: envelope checks off", err);
		r->n->pol.envelope = false;
		ctl_envelope_destroy(l->envck);
		l->envck = NULL;
	}
	ctl_cache_set_v6_prefix(l->cache, r->n->pol.client_v6_plen);
	free(l->perm);
	l->perm = r->perm;
	l->nperm = r->nperm;
	l->compiled = l->maps != NULL;
	r->perm = NULL;
	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_SETUP;
	m.setup = r->n;
	m.gen = ++l->gen;
	(void)retire(l, l->setup, m.gen);	/* room checked above */
	l->setup = r->n;
	r->n = NULL;
	for (i = 0; i < l->nw; i++) {
		unsigned tries = 0;

		/* each worker's scanner built here, not in its loop (NULL:
		 * no memory now, the worker tries itself) */
		m.scan = l->setup->db ? scr_engine_scan_create(l->w[i]->eng,
							       l->setup->db) : NULL;
		/* never lose a SETUP: the worker empties its ring every burst */
		while (l->ops.send(l->ops.arg, i, &m) != 0 && tries++ < 100000)
			usleep(100);
	}
	r->joined = false;
	atomic_store(&r->state, RL_IDLE);
	l->st.reloads++;
	if (l->maps)
		ctl_msg_info("reload: %s: %zu access-list prefixes, %.3f s",
			     l->o.conf_path ? l->o.conf_path : "(defaults)",
			     l->nperm, (double)(ctl_live_now_ns() - r->t0) / 1e9);
	else
		ctl_msg_info("reload: %s: %.3f s", l->o.conf_path ? l->o.conf_path :
			     "(defaults)", (double)(ctl_live_now_ns() - r->t0) / 1e9);
	(void)ctl_notify("READY=1\nSTATUS=screening (reloaded)");
	return 0;
fail:
	reload_drop(l);
	l->st.reload_errors++;
	ctl_msg_error("reload: %s; keeping the running configuration", err);
	(void)ctl_notify("READY=1\nSTATUS=screening (reload failed: running "
			 "configuration kept)");
	return rc;
}

/* reload_wait - the `reload` command: its answer is the result, so it
 * waits for the build, taking the workers' events meanwhile */
static int reload_wait(struct ctl_live *l, char *err, size_t errlen)
{
	int rc = reload_start(l, err, errlen);

	if (rc != 0)
		return rc;
	while (atomic_load(&l->rl.state) != RL_DONE) {
		if (l->ops.drain(l->ops.arg) == 0)
			usleep(1000);
	}
	return reload_apply(l, err, errlen);
}

/* on_signal - SIGHUP reloads, SIGUSR1 reopens the log, the rest stop */
static void on_signal(int sig)
{
	uint64_t one = 1;
	int e = errno;

	if (sig == SIGHUP)
		atomic_store(&sig_live->hup, 1);
	else if (sig == SIGUSR1)
		atomic_store(&sig_live->usr1, 1);
	else
		atomic_store(sig_stop, 1);
	/* the control loop may sleep for seconds, and the signal may have
	 * reached another thread than its own */
	(void)!write(sig_live->rl.wake_fd, &one, sizeof(one));
	errno = e;
}

/* ctl_live_signals - SIGTERM/SIGINT set *stop, SIGHUP reloads, SIGUSR1
 * reopens the log file; SIGPIPE is ignored */
void ctl_live_signals(struct ctl_live *l, atomic_int *stop)
{
	struct sigaction sa;

	sig_live = l;
	sig_stop = stop;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ctl_live_signal_reload - SIGHUP */
void ctl_live_signal_reload(struct ctl_live *l)
{
	atomic_store(&l->hup, 1);
}

/* ctl_live_signal_reopen - SIGUSR1 */
void ctl_live_signal_reopen(struct ctl_live *l)
{
	atomic_store(&l->usr1, 1);
}

/* ---- counters: one table for stats and metrics ---- */

/* live_ctrs - the control plane's and the engine's counters, then the
 * front end's; the count */
static unsigned live_ctrs(struct ctl_live *l, struct ctl_live_ctr *c,
			  unsigned max)
{
	struct scr_stats es;
	uint64_t flows = 0;
	unsigned n = 0, t;

#define PUT(nm, hp, v, g, so) do { if (n < max) { c[n].name = (nm); \
	c[n].help = (hp); c[n].value = (v); c[n].gauge = (g); \
	c[n].stats_only = (so); n++; } } while (0)
#define CTR(nm, hp, v) PUT(nm, hp, v, false, eng)
#define GAUGE(nm, hp, v) PUT(nm, hp, v, true, eng)
	bool eng = true;	/* the engine's: ctl_metrics_engine in /metrics */
	memset(&es, 0, sizeof(es));
	l->ops.engine(l->ops.arg, &es, &flows);
	GAUGE("flows_active", "Flows in the workers' tables", flows);
	eng = false;
	GAUGE("stress_mode", "1 while in stress mode", l->stress_mask != 0);
	CTR("events", "Engine events taken by the control thread", l->st.events);
	CTR("verdict_rows", "Rows written to the verdict CSV", l->st.rows);
	CTR("blocks", "Clients blocked after a stopped session", l->st.blocks);
	CTR("passes", "Sessions passed (new and old)", l->st.passes);
	CTR("lookups", "New clients looked up beyond the workers' caches",
	    l->st.lookups);
	CTR("store_hits", "New clients found in the LMDB store", l->st.store_hits);
	CTR("pass_old_late", "Flows made PASS OLD by a store answer",
	    l->st.pass_old_sent);
	CTR("store_errors", "Verdicts the LMDB store could not write",
	    l->st.store_err);
	CTR("map_errors", "BPF map writes that failed", l->st.map_err);
	CTR("messages_lost", "Control messages a full worker ring refused",
	    l->st.msg_lost);
	GAUGE("cache_entries", "Entries of the verdict cache", ctl_cache_count(l->cache));
	CTR("cache_replaced", "Cache entries replaced when full",
	    ctl_cache_replaced(l->cache));
#ifdef SCR_HAVE_STORE
	GAUGE("store_records", "Records of the LMDB store",
	      l->store ? ctl_store_count(l->store) : 0);
#endif
	CTR("shared_hits", "New clients found in the shared store", l->st.shared_hits);
	CTR("shared_misses", "New clients not in the shared store",
	    l->st.shared_misses);
	CTR("shared_unavailable", "Shared store reads not answered (down)",
	    l->st.shared_unavail);
	CTR("shared_blocks_in", "Blocks published by other nodes",
	    l->st.shared_blocks_in);
#ifdef SCR_HAVE_SHARED
	GAUGE("shared_up", "1 while the shared store is connected",
	      l->shared && ctl_shared_state(l->shared) == CTL_SHARED_UP);
#endif
	CTR("dnsbl_started", "DNSBL lookups started", l->st.dnsbl_started);
	CTR("dnsbl_lost", "DNSBL lookups not started (too many in flight)",
	    l->st.dnsbl_lost);
	CTR("dnsbl_listed", "Clients at or over postscreen_dnsbl_threshold",
	    l->st.dnsbl_listed);
	CTR("reply_bans", "Clients banned for the server's replies",
	    l->st.reply_bans);
	CTR("envelope_rejects", "RCPTs an envelope restriction rejected",
	    l->st.envelope_rejects);
	if (l->envck != NULL) {
		struct ctl_envelope_stats vs;

		ctl_envelope_stats(l->envck, &vs);
		CTR("envelope_warnings", "reject_warning lines of the envelope "
		    "checks (since the last reload)", vs.warnings);
		CTR("envelope_dns_tempfail", "Domain checks that decided nothing "
		    "(since the last reload)", vs.dns_tempfail);
	}
	if (l->rban != NULL) {
		struct ctl_rban_stats rs;
		unsigned k;

		ctl_rban_stats(l->rban, &rs);
		for (k = 0; k < SCR_REPLY_MAX; k++) {
			static char hn[SCR_REPLY_MAX][48], bn[SCR_REPLY_MAX][48];

			snprintf(hn[k], sizeof(hn[k]), "reply_ban_%s_replies",
				 scr_reply_name[k]);
			snprintf(bn[k], sizeof(bn[k]), "reply_ban_%s_bans",
				 scr_reply_name[k]);
			CTR(hn[k], "Server replies counted for reply bans", rs.hits[k]);
			CTR(bn[k], "Clients banned for these replies", rs.bans[k]);
		}
		CTR("reply_ban_table_full", "Replies not counted: table full",
		    rs.full);
	}
	CTR("reloads", "Reloads applied", l->st.reloads);
	CTR("reload_errors", "Reloads refused", l->st.reload_errors);
	eng = true;
	CTR("flows", "Flows screened", es.flows);
	CTR("smtp_packets", "Packets of SMTP flows", es.smtp_pkts);
	CTR("other_packets", "Packets not screened", es.other_pkts);
	CTR("pass", "PASS verdicts", es.verdict[SCR_V_PASS]);
	CTR("pass_old", "PASS OLD verdicts", es.pass_old);
	CTR("fail", "FAIL verdicts", es.verdict[SCR_V_FAIL]);
	CTR("allowlisted", "Allow-listed sessions", es.verdict[SCR_V_ALLOWLISTED]);
	CTR("blocklisted", "Deny-listed sessions", es.verdict[SCR_V_BLOCKLISTED]);
	CTR("unknown", "Sessions with no verdict", es.verdict[SCR_V_UNKNOWN]);
	for (t = 0; t < SCR_TEST_MAX; t++) {
		static char names[SCR_TEST_MAX][40];

		snprintf(names[t], sizeof(names[t]), "failed_%s", scr_test_name[t]);
		CTR(names[t], "Sessions that failed the test", es.failed[t]);
	}
	CTR("stress_entered", "Times stress mode was entered", es.stress_enter);
	CTR("evicted_half_open", "Half-open flows evicted",
	    es.evicted[SCR_EVICT_HALF_OPEN]);
	CTR("evicted_closing", "Closing flows evicted", es.evicted[SCR_EVICT_CLOSING]);
	CTR("evicted_failed", "Failed flows evicted", es.evicted[SCR_EVICT_FAILED]);
	CTR("evicted_passed", "Passed flows evicted", es.evicted[SCR_EVICT_PASSED]);
	CTR("overload", "SYNs that found the flow table full", es.overload);
	CTR("client_limit", "Connections over the per-client limit", es.client_limit);
	CTR("command_time", "Sessions over postscreen_command_time_limit",
	    es.command_time);
	CTR("command_count", "Sessions over postscreen_command_count_limit",
	    es.ended[SCR_END_COMMAND_COUNT]);
	CTR("command_length", "Sessions with a command over line_length_limit",
	    es.ended[SCR_END_COMMAND_LENGTH]);
	CTR("smuggling", "Sessions with an end-of-data sequence in DATA/BDAT",
	    es.smuggling);
	CTR("smuggling_commands", "... followed by SMTP commands", es.smuggling_cmds);
	CTR("smuggling_stopped", "Sessions stopped by the smuggling guard",
	    es.smuggling_stopped);
	CTR("smuggling_lost", "Sessions the smuggling guard stopped following "
	    "(stream gap)", es.smuggling_lost);
	CTR("smuggling_bytes", "Bytes the smuggling guard read after the verdict",
	    es.smuggling_bytes);
	CTR("envelope_commands", "HELO/EHLO, MAIL FROM and RCPT TO read for "
	    "the envelope checks", es.envelope[SCR_ENV_HELO] +
	    es.envelope[SCR_ENV_EHLO] + es.envelope[SCR_ENV_MAIL] +
	    es.envelope[SCR_ENV_RCPT]);
	CTR("envelope_rejected", "Sessions an envelope restriction rejected",
	    es.envelope_rejected);
	CTR("envelope_stopped", "... stopped for it", es.envelope_stopped);
	CTR("envelope_unread", "Envelope commands not read (too long, malformed, "
	    "no line buffer)", es.envelope_unread);
	CTR("envelope_lost", "Sessions whose envelope capture ended at a gap",
	    es.envelope_lost);
	CTR("no_server", "Sessions unknown: the server side was never seen",
	    es.no_server);
	CTR("undecided", "Sessions unknown: the client spoke while the server's "
	    "reply was incomplete", es.undecided);
	CTR("contradicted", "Sessions unknown: a client segment came again with "
	    "other bytes (evasion?)", es.contradicted);
	for (t = 0; t < SCR_REPLY_MAX; t++) {
		static char rn[SCR_REPLY_MAX][40];

		snprintf(rn[t], sizeof(rn[t]), "replies_%s", scr_reply_name[t]);
		CTR(rn[t], "Server replies seen for reply bans", es.replies[t]);
	}
#undef CTR
#undef GAUGE
#undef PUT
	if (l->ops.counters && n < max)
		n += l->ops.counters(l->ops.arg, c + n, max - n);
	return n;
}

/* print_stats - `stats`: one "name value" a line */
static void print_stats(struct ctl_live *l, FILE *out)
{
	struct ctl_live_ctr c[LIVE_CTR_MAX];
	unsigned n = live_ctrs(l, c, LIVE_CTR_MAX), i;

	for (i = 0; i < n; i++)
		fprintf(out, "%s %" PRIu64 "\n", c[i].name, c[i].value);
}

#ifdef SCR_HAVE_METRICS
/* mx_render - the exposition text, from the same table (once a second) */
static void mx_render(struct ctl_live *l)
{
	struct ctl_live_ctr c[LIVE_CTR_MAX];
	struct scr_stats es;
	uint64_t flows = 0;
	char *text = NULL, name[128];
	size_t len = 0;
	unsigned n, i;
	FILE *f;

	if (l->mx == NULL || (f = open_memstream(&text, &len)) == NULL)
		return;
	ctl_metrics_process(f, SCR_VERSION, l->o.mode ? l->o.mode : "",
			    (double)l->start_ns / 1e9);
	l->ops.engine(l->ops.arg, &es, &flows);
	ctl_metrics_engine(f, &es, flows);
	n = live_ctrs(l, c, LIVE_CTR_MAX);
	for (i = 0; i < n; i++) {
		if (c[i].stats_only)
			continue;
		snprintf(name, sizeof(name), "smtpscreen_%s%s", c[i].name,
			 c[i].gauge ? "" : "_total");
		ctl_metrics_family(f, name, c[i].gauge ? "gauge" : "counter",
				   c[i].help);
		ctl_metrics_counter(f, name, NULL, c[i].value);
	}
	if (l->ops.metrics)
		l->ops.metrics(l->ops.arg, f);
#ifdef SCR_HAVE_BPF
	ctl_metrics_xdp(f, l->maps);
#endif
#ifdef SCR_HAVE_DNSBL
	ctl_metrics_dnsbl(f, l->dnsbl);
#endif
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	ctl_metrics_publish(l->mx, text, len);
}
#endif

/* ---- control socket ---- */

#ifdef SCR_HAVE_BPF
/* op_changed - an operator block/allow of one address also goes into
 * the cache, the store (it outlives a restart) and the workers */
static void op_changed(void *arg, const struct ctl_cmd_change *c)
{
	struct ctl_live *l = arg;
	uint64_t t = now_s();
	uint32_t ttl = c->ttl_s ? c->ttl_s : SCR_XDP_TTL_MAX_S;
	struct ctl_cache_entry e;
	struct scr_policy tmp;
	unsigned i;
	bool live;

	if (c->plen != 128)
		return;
	if (c->add && c->kind == SCR_XDP_KIND_BLOCK) {
		ctl_cache_block(l->cache, &c->net, t, ttl, 0);
		(void)persist(l, &c->net, t, &e, true);
		return;
	}
	if (c->add) {
		memset(&tmp, 0, sizeof(tmp));
		for (i = 0; i < SCR_TEST_MAX; i++)
			tmp.ttl_s[i] = ttl;
		ctl_cache_pass(l->cache, &c->net, t, LIVE_OP_TESTS, &tmp);
		(void)persist(l, &c->net, t, &e, true);
		return;
	}
	/* del: forget the matching verdict (the client is tested again) */
	if (ctl_cache_get(l->cache, &c->net, t, &e) != 0)
		return;
	live = c->kind == SCR_XDP_KIND_BLOCK ? e.block_until > t :
	       e.block_until <= t;	/* allow del: a pass record */
	if (!live)
		return;
	memset(e.pass_until, 0, sizeof(e.pass_until));
	e.block_until = 0;
	e.block_reasons = 0;
	ctl_cache_put(l->cache, &e, t);
	entry_out(l, &e, t);
#ifdef SCR_HAVE_STORE
	if (l->store) {
		char ab[64];
		int rc = ctl_store_del(l->store, &c->net);

		l->sync_pending = true;
		if (rc != 0 && rc != -ENOENT) {
			l->st.store_err++;
			ctl_msg_warn("%s: cannot remove the verdict of %s: %s",
				     ctl_store_path(l->store),
				     ctl_cache_addr_str(&c->net, ab, sizeof(ab)),
				     strerror(-rc));
		}
	}
#endif
}

/* dyn_changed - an operator prefix without XDP maps: to the workers */
static void dyn_changed(struct ctl_live *l, const struct ctl_cmd_change *ch)
{
	struct ctl_live_msg m;

	memset(&m, 0, sizeof(m));
	m.type = ch->add ? CTL_LIVE_MSG_DYN_ADD : CTL_LIVE_MSG_DYN_DEL;
	m.kind = (uint8_t)ch->kind;
	m.entry.addr = ch->net;
	m.plen = (uint8_t)ch->plen;
	m.expires_s = ch->add && ch->ttl_s ? now_s() + ch->ttl_s : 0;
	broadcast(l, &m);
}

/* workers_cmd - block/allow without XDP maps: the workers enforce them;
 * the master list answers `list` */
static int workers_cmd(struct ctl_live *l, int argc, char **argv, FILE *out,
		       char *err, size_t errlen)
{
	uint64_t t = now_s();
	struct ctl_cmd_change ch;
	struct ctl_cmd_req r;
	unsigned i;
	int rc, k;

	rc = ctl_cmd_parse(argc, argv, &r, err, errlen);
	if (rc == -EBADRQC)
		return -EINVAL;
	if (rc)
		return rc;
	memset(&ch, 0, sizeof(ch));
	ch.kind = r.kind;
	ch.net = r.net;
	ch.plen = r.plen;
	ch.ttl_s = r.ttl_s;
	switch (r.op) {
	case CTL_CMD_ADD:
		k = dyn_find(l->dyn, l->ndyn, (uint8_t)r.kind, &r.net, (uint8_t)r.plen);
		if (k < 0) {
			if (l->ndyn == CTL_LIVE_DYN_MAX) {
				snprintf(err, errlen, "%s add: %u entries already "
					 "(without XDP the workers hold at most %u)",
					 argv[0], CTL_LIVE_DYN_MAX, CTL_LIVE_DYN_MAX);
				return -ENOSPC;
			}
			k = (int)l->ndyn++;
		}
		l->dyn[k].net = r.net;
		l->dyn[k].plen = (uint8_t)r.plen;
		l->dyn[k].kind = (uint8_t)r.kind;
		l->dyn[k].expires_s = r.ttl_s ? t + r.ttl_s : 0;
		ch.add = true;
		dyn_changed(l, &ch);
		return 0;
	case CTL_CMD_DEL:
		k = dyn_find(l->dyn, l->ndyn, (uint8_t)r.kind, &r.net, (uint8_t)r.plen);
		if (k < 0) {
			snprintf(err, errlen, "%s del %s: no such entry", argv[0],
				 argv[2]);
			return -ENOENT;
		}
		l->dyn[k] = l->dyn[--l->ndyn];
		dyn_changed(l, &ch);
		return 0;
	case CTL_CMD_LIST:
		for (i = 0; i < l->ndyn; i++)
			if (l->dyn[i].kind == r.kind)
				ctl_cmd_print_entry(out, &l->dyn[i].net, l->dyn[i].plen,
						    l->dyn[i].expires_s * 1000000000u,
						    t * 1000000000u);
		return 0;
	case CTL_CMD_SWEEP:
		for (i = 0, k = 0; i < l->ndyn;) {
			if (l->dyn[i].expires_s && l->dyn[i].expires_s <= t) {
				ch.kind = l->dyn[i].kind;
				ch.net = l->dyn[i].net;
				ch.plen = l->dyn[i].plen;
				dyn_changed(l, &ch);
				l->dyn[i] = l->dyn[--l->ndyn];
				k++;
				continue;
			}
			i++;
		}
		fprintf(out, "%d expired entries removed\n", k);
		return 0;
	case CTL_CMD_STATS:
	case CTL_CMD_OP_MAX:
	default:
		ctl_msg_panic("map command %d out of range", (int)r.op);
	}
}
#endif

/* list_ctx - `cache list` / `cache flush` over the store or the cache */
struct list_ctx {
	FILE *out;
	uint64_t now_s;
	struct scr_addr *a;
	size_t n, cap;
};

/* print_cb - `cache list`: one line per live entry */
static int print_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct list_ctx *c = arg;

	(void)ctl_cache_entry_print(c->out, e, c->now_s);
	return 0;
}

/* addr_cb - collect one record's address (LMDB: one transaction per
 * thread, so deletes come after the walk) */
static int addr_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct list_ctx *c = arg;
	struct scr_addr *na;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		na = realloc(c->a, c->cap * sizeof(*na));
		if (na == NULL)
			return -ENOMEM;
		c->a = na;
	}
	c->a[c->n++] = e->addr;
	return 0;
}

/* cache_cmd - cache list | cache flush */
static int cache_cmd(struct ctl_live *l, int argc, char **argv, FILE *out,
		     char *err, size_t errlen)
{
	struct list_ctx c = { .out = out, .now_s = now_s() };
	struct ctl_live_msg m;
	uint64_t bad = 0;
	size_t i;
	int rc = 0;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		/* The store holds every record the cache has (write-through)
		 * and those the cache's capacity pushed out. */
#ifdef SCR_HAVE_STORE
		if (l->store) {
			rc = ctl_store_foreach(l->store, print_cb, &c, &bad);
			if (rc)
				snprintf(err, errlen, "cache list: %s: %s",
					 ctl_store_path(l->store), strerror(-rc));
			return rc;
		}
#endif
		return ctl_cache_walk(l->cache, print_cb, &c);
	}
	if (argc != 2 || strcmp(argv[1], "flush") != 0) {
		snprintf(err, errlen, "usage: cache list | cache flush");
		return -EINVAL;
	}
	rc = ctl_cache_walk(l->cache, addr_cb, &c);
#ifdef SCR_HAVE_STORE
	if (rc == 0 && l->store)
		rc = ctl_store_foreach(l->store, addr_cb, &c, &bad);
#endif
	if (rc) {
		snprintf(err, errlen, "cache flush: %s", strerror(-rc));
		free(c.a);
		return rc;
	}
	for (i = 0; i < c.n; i++) {
#ifdef SCR_HAVE_BPF
		if (l->maps) {
			(void)ctl_maps_dyn_del(l->maps, SCR_XDP_KIND_BLOCK, &c.a[i], 128);
			(void)ctl_maps_dyn_del(l->maps, SCR_XDP_KIND_ALLOW, &c.a[i], 128);
		}
#endif
#ifdef SCR_HAVE_STORE
		if (l->store) {
			(void)ctl_store_del(l->store, &c.a[i]);
			l->sync_pending = true;
		}
#endif
	}
	ctl_cache_clear(l->cache);
	memset(&m, 0, sizeof(m));
	m.type = CTL_LIVE_MSG_CACHE_FLUSH;
	broadcast(l, &m);
	free(c.a);
	fprintf(out, "%zu entries flushed\n", c.n);
	ctl_msg_info("cache flush: %zu entries", c.n);
	return 0;
}

/* sock_handler - one smtpscreenctl request */
static int sock_handler(void *arg, int argc, char **argv, FILE *out, char *err,
			size_t errlen)
{
	struct ctl_live *l = arg;

	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		fprintf(out, "smtpscreen %s: running %" PRIu64 " s", l->o.mode,
			(ctl_live_now_ns() - l->start_ns) / 1000000000u);
		if (l->ops.status)
			l->ops.status(l->ops.arg, out);
		fprintf(out, ", config %s, cache %" PRIu32 " entries",
			l->o.conf_path ? l->o.conf_path : "(defaults)",
			ctl_cache_count(l->cache));
#ifdef SCR_HAVE_STORE
		if (l->store)
			fprintf(out, ", store %s (%" PRIu64 " records)",
				ctl_store_path(l->store), ctl_store_count(l->store));
#endif
		fprintf(out, "%s\n", l->stress_mask ? ", STRESS" : "");
		if (l->shared_url[0])
			fprintf(out, "shared store %s: %s\n", l->shared_url,
#ifdef SCR_HAVE_SHARED
				ctl_shared_state_name[ctl_shared_state(l->shared)]
#else
				"not built"
#endif
				);
		return 0;
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1)
		return reload_wait(l, err, errlen);
	if (strcmp(argv[0], "cache") == 0)
		return cache_cmd(l, argc, argv, out, err, errlen);
	if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		print_stats(l, out);
#ifdef SCR_HAVE_BPF
		if (l->maps)
			return ctl_cmd_maps(l->maps, argc, argv, out, NULL, NULL,
					    err, errlen);
#endif
		return 0;
	}
#ifdef SCR_HAVE_BPF
	if (strcmp(argv[0], "block") == 0 || strcmp(argv[0], "allow") == 0 ||
	    strcmp(argv[0], "sweep") == 0) {
		uint64_t store_err = l->st.store_err;
		int rc;

		if (!l->maps)
			return workers_cmd(l, argc, argv, out, err, errlen);
		rc = ctl_cmd_maps(l->maps, argc, argv, out, op_changed, l, err,
				  errlen);
		/* op_changed could not write the store (persist logged why):
		 * the entry is enforced, but "ok" would promise a restart */
		if (rc == 0 && l->st.store_err != store_err && argc >= 3) {
			bool del = strcmp(argv[1], "del") == 0;

			snprintf(err, errlen, "%s %s %s: in effect now, but not "
				 "saved in the verdict store (see the log): a "
				 "restart %s", argv[0], argv[1], argv[2],
				 del ? "brings it back" : "forgets it");
			return -EIO;
		}
		return rc;
	}
#endif
	snprintf(err, errlen, "unknown command \"%s\" (status, stats, block, "
		 "allow, sweep, cache list, cache flush, reload)", argv[0]);
	return -EINVAL;
}

#ifdef SCR_HAVE_SHARED
/* on_shared_block - a block another node published: cache, LMDB, the
 * workers, and an XDP entry so this node drops the client's next SYN */
static void on_shared_block(void *arg, const struct ctl_cache_entry *b)
{
	struct ctl_live *l = arg;
	uint64_t t = now_s();
	struct ctl_cache_entry e;

	if (b->block_until <= t)
		return;
	l->st.shared_blocks_in++;
	if (ctl_cache_get(l->cache, &b->addr, t, &e) == 0 &&
	    e.block_until >= b->block_until)
		return;		/* known already */
	ctl_cache_block(l->cache, &b->addr, t, (uint32_t)(b->block_until - t),
			b->block_reasons);
	(void)persist(l, &b->addr, t, &e, false);
	map_add(l, SCR_XDP_KIND_BLOCK, &b->addr, b->block_until - t,
		b->block_reasons);
}
#endif

/* ---- the loop ---- */

/* periodic - sweeps, store cleanup, metrics (about once a second) */
static void periodic(struct ctl_live *l)
{
	uint64_t t = now_s();

	if (t >= l->next_sweep_s) {
		l->next_sweep_s = t + LIVE_SWEEP_S;
		(void)ctl_cache_sweep(l->cache, t);
#ifdef SCR_HAVE_BPF
		if (l->maps) {
			size_t removed = 0;

			(void)ctl_maps_sweep(l->maps, &removed);
		}
#endif
	}
#ifdef SCR_HAVE_STORE
	if (l->store && l->cleanup_interval_s && t >= l->next_cleanup_s) {
		uint64_t kept = 0, dropped = 0;
		int rc;

		l->next_cleanup_s = t + l->cleanup_interval_s;
		rc = ctl_store_cleanup(l->store, t, l->retention_s, &kept, &dropped);
		if (rc == 0)
			ctl_msg_info("cache lmdb:%s full cleanup: retained=%"
				     PRIu64 " dropped=%" PRIu64 " entries",
				     ctl_store_path(l->store), kept, dropped);
		else
			ctl_msg_warn("%s: cache cleanup: %s",
				     ctl_store_path(l->store), strerror(-rc));
	}
#endif
#ifdef SCR_HAVE_METRICS
	mx_render(l);
#endif
}

/* ctl_live_run - the control loop until *stop */
void ctl_live_run(struct ctl_live *l, atomic_int *stop)
{
	uint64_t last_periodic = 0, last_sync = 0;
	int tick_ms = -1;
	char err[1024];

#ifdef SCR_HAVE_SHARED
	if (l->shared) {
		unsigned i;

		for (i = 0; i < LIVE_SHARED_MAX; i++)
			l->sq[i].next = i + 2 <= LIVE_SHARED_MAX ? i + 2 : 0;
		l->sfree = 1;
		ctl_shared_on_block(l->shared, on_shared_block, l);
		ctl_shared_on_get(l->shared, on_shared_get, l);
	}
#endif
#ifdef SCR_HAVE_METRICS
	mx_render(l);
#endif
	/* The maps are filled and the workers run (the front end started
	 * them before calling us): the unit is up. */
	(void)ctl_notify("READY=1\nSTATUS=screening");
	while (!atomic_load(stop)) {
		struct pollfd pf[LIVE_POLLFDS];
		int npf = 0, nsock, timeout, rlo, nen = 0, eno = 0;
		uint64_t now, every;
#ifdef SCR_HAVE_SHARED
		int nsh = 0, sho = 0;
#endif
#ifdef SCR_HAVE_DNSBL
		int ndb = 0, dbo = 0, dtmo = -1;
#endif

		/* the periodic work is due in, or what the front end asked */
		every = LIVE_IDLE_MS * 1000000ull;
#ifdef SCR_HAVE_METRICS
		if (l->mx)
			every = LIVE_POLL_MS * 1000000ull;
#endif
		now = mono_ns();
		timeout = now - last_periodic >= every ? 0 :
			  (int)((last_periodic + every - now) / 1000000u) + 1;
		if (tick_ms >= 0 && tick_ms < timeout)
			timeout = tick_ms;
		if (l->ops.drain(l->ops.arg) > 0) {
			timeout = 0;	/* more may wait: take them first */
			if (l->verdf)
				fflush(l->verdf);
		}
#ifdef SCR_HAVE_STORE
		/* one sync for the verdicts of LIVE_SYNC_NS at most: a busy
		 * or a quiet daemon pays one fsync per batch, not per verdict */
		if (l->store && l->sync_pending) {
			if (mono_ns() - last_sync >= LIVE_SYNC_NS) {
				last_sync = mono_ns();
				l->sync_pending = false;
				if (ctl_store_sync(l->store) != 0)
					l->st.store_err++;
			} else if (timeout > (int)(LIVE_SYNC_NS / 1000000)) {
				timeout = (int)(LIVE_SYNC_NS / 1000000);
			}
		}
#endif
		if (atomic_exchange(&l->hup, 0) &&
		    reload_start(l, err, sizeof(err)) != 0)
			ctl_msg_error("reload: %s", err);
		if (atomic_load(&l->rl.state) == RL_DONE)
			(void)reload_apply(l, err, sizeof(err));
		if (atomic_exchange(&l->usr1, 0))
			reopen_log(l);
		reload_done(l);
		if (l->ops.wake_fd >= 0) {
			pf[npf].fd = l->ops.wake_fd;
			pf[npf++].events = POLLIN;
		} else if (timeout > 1) {
			timeout = 1;
		}
		rlo = npf;
		pf[npf].fd = l->rl.wake_fd;	/* the reload thread is done */
		pf[npf++].events = POLLIN;
		nsock = ctl_sock_pollfds(l->sock, &pf[npf], LIVE_POLLFDS - npf - 8,
					 &timeout);
		if (nsock < 0)
			nsock = 0;
		npf += nsock;
#ifdef SCR_HAVE_SHARED
		if (l->shared) {
			sho = npf;
			nsh = ctl_shared_pollfds(l->shared, &pf[npf], 2, &timeout);
			if (nsh < 0)
				nsh = 0;
			npf += nsh;
		}
#endif
		if (l->envck) {
			int etmo;

			eno = npf;
			nen = ctl_envelope_pollfds(l->envck, &pf[npf], LIVE_POLLFDS - npf,
						   &etmo);
			npf += nen;
			if (etmo >= 0 && etmo < timeout)
				timeout = etmo;
		}
#ifdef SCR_HAVE_DNSBL
		if (l->dnsbl) {
			dbo = npf;
			ndb = ctl_dnsbl_pollfds(l->dnsbl, &pf[npf], LIVE_POLLFDS - npf,
						&dtmo);
			if (ndb < 0)
				ndb = 0;
			npf += ndb;
			if (dtmo >= 0 && dtmo < timeout)
				timeout = dtmo;
		}
#endif
		if (poll(pf, (nfds_t)npf, timeout) < 0 && errno != EINTR) {
			ctl_msg_error("poll: %s", strerror(errno));
			continue;
		}
		if (l->ops.wake_fd >= 0 && (pf[0].revents & POLLIN)) {
			uint64_t x;

			(void)!read(l->ops.wake_fd, &x, sizeof(x));
		}
		if (pf[rlo].revents & POLLIN) {
			uint64_t x;

			(void)!read(l->rl.wake_fd, &x, sizeof(x));
		}
		(void)ctl_sock_process(l->sock, &pf[l->ops.wake_fd >= 0 ? 2 : 1],
				       nsock, sock_handler, l);
#ifdef SCR_HAVE_SHARED
		/* Also with no fd ready: reconnection and its backoff. */
		if (l->shared)
			ctl_shared_process(l->shared, &pf[sho], nsh, now_s());
#endif
#ifdef SCR_HAVE_DNSBL
		if (l->dnsbl)
			ctl_dnsbl_process(l->dnsbl, &pf[dbo], ndb, mono_ns());
#endif
		if (l->envck)
			env_process(l, &pf[eno], nen);
		if (l->ops.tick)
			tick_ms = l->ops.tick(l->ops.arg);
		now = mono_ns();
		if (now - last_periodic >= every) {
			last_periodic = now;
			periodic(l);
		}
	}
	(void)ctl_notify("STOPPING=1");
}

/* ctl_live_close_outputs - the verdict CSV closed; a write error said */
int ctl_live_close_outputs(struct ctl_live *l)
{
	int rc = 0;

	if (l->verdf == NULL)
		return 0;
	if (ferror(l->verdf) | (fclose(l->verdf) != 0)) {
		rc = -(errno ? errno : EIO);
		ctl_msg_error("%s: %s", l->o.verdicts_path, strerror(-rc));
	}
	l->verdf = NULL;
	return rc;
}

/* ctl_live_summary - the counters at stop, one line */
void ctl_live_summary(struct ctl_live *l, FILE *out)
{
	struct ctl_live_ctr c[LIVE_CTR_MAX];
	unsigned n, i;
	struct rusage ru;
	char line[4096];
	size_t len = 0;

	if (l->ops.engine == NULL)
		return;		/* stopped before its workers were there */
	n = live_ctrs(l, c, LIVE_CTR_MAX);
	getrusage(RUSAGE_SELF, &ru);
	for (i = 0; i < n && len < sizeof(line) - 64; i++)
		if (c[i].value)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
						" %s=%" PRIu64, c[i].name,
						c[i].value);
	ctl_msg_info("stopping:%s utime_us=%ld stime_us=%ld", line,
		     ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
		     ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
	if (out)
		print_stats(l, out);
}
