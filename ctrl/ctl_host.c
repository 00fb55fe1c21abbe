/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_host - `smtpscreen host`: the host-mode daemon
 * DESCRIPTION
 *	See ctl_host.h. Start-up order (no verdict is lost over a restart):
 *	  1. config, policy, patterns, access list, compiled permanent list;
 *	  2. the LMDB store; its live records go into the cache;
 *	  3. ctl_hostbpf_open with defer_attach (load + pin), then the maps
 *	     are filled: permanent list, BLOCK entries for live blocks, ALLOW
 *	     entries for clients whose enabled tests all still pass;
 *	  4. ctl_hostbpf_attach: only now does the program see traffic.
 *	     After a crash our old program is still attached with its own
 *	     maps (still enforcing) until attach replaces it.
 *	Time: the engine runs on CLOCK_REALTIME ns derived from the samples'
 *	CLOCK_MONOTONIC stamps plus an offset taken at start, so log lines
 *	carry wall-clock times and the cache/store use Unix seconds; the
 *	greet hold runs on CLOCK_MONOTONIC like the kernel's fail-open.
 *	Greet hold: a HELD sample (the server's first payload) is kept in a
 *	slot; at its due time the daemon marks it released in the flow map,
 *	fixes the TCP checksum (TC saw it before checksum offload), re-sends
 *	it with the resend mark, and only then feeds it to the engine, so a
 *	client that spoke during the hold is a pregreeter.
 *	Stress: screened flows (CONNECT without a verdict yet) plus held
 *	greetings against postscreen_pre_queue_limit: enter at 90%, leave at
 *	70% (postscreen's marks); under stress the hold is the stress value
 *	of postscreen_greet_wait.
 * THREADING
 *	One thread; handlers set C11 atomic flags.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ctl_aclcomp.h"
#include "ctl_cache.h"
#include "ctl_cidr.h"
#include "ctl_cmd.h"
#include "ctl_conf.h"
#ifdef SCR_HAVE_DNSBL
#include "ctl_dnsbl.h"
#endif
#include "ctl_host.h"
#include "ctl_hostbpf.h"
#include "ctl_kill.h"
#include "ctl_log.h"
#include "ctl_maps.h"
#ifdef SCR_HAVE_METRICS
#include "ctl_metrics.h"
#endif
#include "ctl_resend.h"
#include "ctl_setup.h"
#ifdef SCR_HAVE_SHARED
#include "ctl_shared.h"
#endif
#include "ctl_sock.h"
#include "ctl_store.h"
#include "scr_decode.h"
#include "scr_engine.h"

#define HOST_CACHE_MIN	65536
#define HOST_HELD_MAX	4096		/* greetings held at once */
#define HOST_SWEEP_S	60		/* maps and cache sweep */
#define HOST_POLL_MS	1000
#define HOST_POLLFDS	26		/* ring buffer, control socket, shared store, DNSBL */
#define HOST_SHARED_WAIT_MS 2		/* a new client's shared store read */
#define HOST_DATA_HOLD_NS 1000000000ull	/* fail-open deadline of a held 354 */
/* What an operator's allow entry passes: every cached test. */
#define HOST_OP_TESTS	(SCR_TESTS_STREAM | SCR_TEST_BIT(SCR_TEST_DNSBL))

static atomic_int host_stop;
static atomic_int host_hup;

/* Everything a reload replaces. */
struct host_cfg {
	struct ctl_setup s;		/* conf, policy, patterns, access list */
	struct ctl_xdp_entry *perm;
	size_t nperm;
	uint64_t hold_ns;		/* 0: no greet hold */
	uint64_t hold_stress_ns;
	uint32_t pre_queue_limit;	/* stress budget */
	uint64_t retention_s;
	uint64_t cleanup_interval_s;	/* 0: no cleanup */
	bool block_all;
	uint32_t sample_bytes;
	uint64_t cache_size;
	char pin_dir[256];
	char cache_file[512];
	char log_file[512];
};

struct host_held {
	struct scr_flow_key key;
	uint64_t ts_mono;		/* when TC held it */
	uint32_t wirelen;
	uint16_t caplen;
	bool used;
	bool trunc;
	uint8_t frame[SCR_HOST_SAMPLE_MAX];
};

struct host_stats {
	uint64_t samples, held, resent, resend_err, held_full, killed;
	uint64_t kill_err, stopped, passes, store_err, map_err;
	uint64_t data_stopped;		/* 354 withheld: stopped before the body */
	uint64_t shared_hits;		/* new client found in the shared store */
	uint64_t shared_misses;		/* not there */
	uint64_t shared_unavail;	/* down or slower than HOST_SHARED_WAIT_MS */
	uint64_t shared_blocks_in;	/* blocks published by other nodes */
};

#ifdef SCR_HAVE_DNSBL
#define HOST_DNSBL_MAX	4096		/* lookups in flight */

/* A DNSBL lookup for a new client's flow; answered ones wait in a FIFO
 * until the main loop gives them to the engine (an answer from the cache
 * comes back while the engine is running its hook: it must not re-enter) */
struct host_dnsbl {
	struct host *h;
	struct scr_flow_key key;
	int score;
	uint32_t ttl_s;
	unsigned next;			/* free list or FIFO: index + 1 */
};
#endif

struct host {
	const char *ifname;
	const char *conf_path;
	const char *sock_path;		/* -s, default CTL_SOCK_PATH */
	struct ctl_sock *sock;
	uint64_t start_mono;
	int xdp_mode;
	bool keep;
	struct host_cfg *cfg;
	struct scr_engine *eng;
	struct ctl_cache *cache;
	struct ctl_store *store;
#ifdef SCR_HAVE_SHARED
	struct ctl_shared *shared;	/* NULL: smtpscreen_shared_store empty */
#endif
	char shared_url[256];
	struct ctl_hostbpf *hb;
	struct ctl_maps *maps;
	struct ctl_kill *kill;
	bool kill_ok;
	struct ctl_resend *rs;
	struct ctl_log *log;		/* syslog */
	struct ctl_log *flog;		/* --log-file */
	FILE *logf;
	int64_t wall_off_ns;		/* realtime - monotonic */
	uint64_t pkt_no;
	struct host_held *held;
	unsigned nheld;
	bool pq_high;		/* screening above postscreen's marks */
	uint64_t next_cleanup_s;
	uint64_t next_sweep_s;
	struct host_stats st;
#ifdef SCR_HAVE_METRICS
	struct ctl_metrics *mx;		/* smtpscreen_metrics_listen */
#endif
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *dnsbl;	/* NULL: no postscreen_dnsbl_sites */
	struct host_dnsbl *dq;		/* HOST_DNSBL_MAX */
	unsigned dfree, dhead, dtail;	/* free list; answered FIFO */
	uint64_t dnsbl_lost;
#endif
};

/* on_signal - set the stop or reload flag */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store(&host_hup, 1);
	else
		atomic_store(&host_stop, 1);
}

/* mono_ns - CLOCK_MONOTONIC (the clock of bpf_ktime_get_ns) */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* wall_ns - CLOCK_REALTIME */
static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* eng_ns - engine time (wall clock) of a monotonic stamp */
static uint64_t eng_ns(const struct host *h, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + h->wall_off_ns);
}

/* hlog - a free-form line to syslog, the log file, and stderr before
 * the daemon runs */
static void hlog(struct host *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void hlog(struct host *h, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (h->log)
		ctl_log_msg(h->log, "%s", buf);
	if (h->flog) {
		ctl_log_msg(h->flog, "%s", buf);
		fflush(h->logf);
	}
	if (h->log == NULL && h->flog == NULL)
		fprintf(stderr, "smtpscreen host: %s\n", buf);
}

/* cfg_destroy - free a config set */
static void cfg_destroy(struct host_cfg *c)
{
	if (c == NULL)
		return;
	free(c->perm);
	ctl_setup_fini(&c->s);
	free(c);
}

/* cfg_time - a validated time parameter in seconds */
static uint64_t cfg_time(const struct ctl_conf *conf, const char *name, char unit)
{
	unsigned long long s = 0;

	(void)ctl_conf_parse_time(ctl_conf_get(conf, name), unit, &s);
	return s;
}

/* cfg_num - a validated integer parameter */
static uint64_t cfg_num(const struct ctl_conf *conf, const char *name)
{
	const char *v = ctl_conf_get(conf, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

/* cfg_build - everything from main.cf; NULL with "file:line: ..." in err */
static struct host_cfg *cfg_build(const char *path, char *err, size_t errlen)
{
	struct host_cfg *c = calloc(1, sizeof(*c));
	const char *v;
	int rc, b = 0;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ctl_setup_load(&c->s, path, err, errlen) != 0)
		goto out;
	rc = ctl_aclcomp_compile(c->s.acl, &c->perm, &c->nperm);
	if (rc != 0) {
		snprintf(err, errlen, "%s: postscreen_access_list: cannot compile "
			 "for XDP: %s", ctl_conf_file(c->s.conf), strerror(-rc));
		goto out;
	}
	/* Greet hold only when the pregreet test runs (a banner is set). */
	c->hold_ns = c->s.hold_ns;
	c->hold_stress_ns = c->s.hold_stress_ns;
	c->pre_queue_limit = c->s.pre_queue_limit;
	c->retention_s = cfg_time(c->s.conf, "postscreen_cache_retention_time", 'd');
	c->cleanup_interval_s = cfg_time(c->s.conf, "postscreen_cache_cleanup_interval", 'h');
	(void)ctl_conf_parse_bool(ctl_conf_get(c->s.conf, "smtpscreen_xdp_block_all"), &b);
	c->block_all = b != 0;
	c->sample_bytes = (uint32_t)cfg_num(c->s.conf, "smtpscreen_sample_bytes");
	c->cache_size = cfg_num(c->s.conf, "smtpscreen_cache_size");
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s",
		 ctl_conf_get(c->s.conf, "smtpscreen_pin_directory"));
	snprintf(c->cache_file, sizeof(c->cache_file), "%s",
		 ctl_conf_get(c->s.conf, "smtpscreen_cache_file"));
	v = ctl_conf_get(c->s.conf, "smtpscreen_log_file");
	snprintf(c->log_file, sizeof(c->log_file), "%s", v ? v : "");
	return c;
out:
	cfg_destroy(c);
	return NULL;
}

/* pass_left - seconds all of 'tests' still pass in e (0: not all) */
static uint64_t pass_left(const struct ctl_cache_entry *e, uint8_t tests,
			  uint64_t now_s)
{
	uint64_t m = UINT64_MAX;
	unsigned t;

	if (tests == 0)
		return 0;
	for (t = 0; t < SCR_TEST_MAX; t++) {
		if (!(tests & SCR_TEST_BIT(t)))
			continue;
		if (e->pass_until[t] <= now_s)
			return 0;
		if (e->pass_until[t] - now_s < m)
			m = e->pass_until[t] - now_s;
	}
	return m;
}

/* cache_load - one stored record into the cache (live parts only) */
static void cache_load(struct host *h, const struct ctl_cache_entry *e,
		       uint64_t now_s)
{
	struct scr_policy tmp;
	uint8_t tests = 0;
	unsigned t;

	if (e->block_until > now_s) {
		ctl_cache_block(h->cache, &e->addr, now_s,
				(uint32_t)(e->block_until - now_s), e->block_reasons);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	for (t = 0; t < SCR_TEST_MAX; t++) {
		if (e->pass_until[t] <= now_s)
			continue;
		tests |= (uint8_t)SCR_TEST_BIT(t);
		tmp.ttl_s[t] = (uint32_t)(e->pass_until[t] - now_s);
	}
	if (tests)
		ctl_cache_pass(h->cache, &e->addr, now_s, tests, &tmp);
}

/* store_put - persist the cache's entry of a client locally (LMDB); the
 * entry in e */
static int store_put(struct host *h, const struct scr_addr *a, uint64_t now_s,
		     struct ctl_cache_entry *e)
{
	char ab[64];
	int rc;

	if (ctl_cache_get(h->cache, a, now_s, e) != 0)
		return -ENOENT;
	rc = ctl_store_put(h->store, e);
	if (rc != 0) {
		h->st.store_err++;
		hlog(h, "warning: %s: cannot store the verdict of %s: %s",
		     ctl_store_path(h->store), ctl_store_addr_str(a, ab, sizeof(ab)),
		     strerror(-rc));
	}
	return 0;
}

/* store_write - persist the cache's entry of a client: LMDB, and the
 * shared store (queued there, never waits) */
static void store_write(struct host *h, const struct scr_addr *a, uint64_t now_s)
{
	struct ctl_cache_entry e;

	if (store_put(h, a, now_s, &e) != 0)
		return;
#ifdef SCR_HAVE_SHARED
	if (h->shared)
		(void)ctl_shared_put(h->shared, &e, now_s);
#endif
}

#ifdef SCR_HAVE_DNSBL
/* dnsbl_done - an answer: queued for the main loop */
static void dnsbl_done(void *arg, const struct scr_addr *a,
		       const struct ctl_dnsbl_result *r)
{
	struct host_dnsbl *x = arg;
	struct host *h = x->h;
	unsigned i = (unsigned)(x - h->dq) + 1;

	(void)a;
	x->score = r->score;
	x->ttl_s = r->ttl_s;
	x->next = 0;
	if (h->dtail)
		h->dq[h->dtail - 1].next = i;
	else
		h->dhead = i;
	h->dtail = i;
}

/* dnsbl_start - look the client of a new flow up */
static void dnsbl_start(struct host *h, const struct scr_flow_key *key,
			uint64_t now_ns)
{
	struct host_dnsbl *x;

	if (h->dfree == 0) {
		h->dnsbl_lost++;	/* HOST_DNSBL_MAX in flight */
		return;
	}
	x = &h->dq[h->dfree - 1];
	h->dfree = x->next;
	x->h = h;
	x->key = *key;
	if (ctl_dnsbl_lookup(h->dnsbl, &key->client, now_ns, dnsbl_done, x) != 0) {
		h->dnsbl_lost++;
		x->next = h->dfree;
		h->dfree = (unsigned)(x - h->dq) + 1;
	}
}

/* dnsbl_apply - the answers, to the engine (outside its hooks) */
static void dnsbl_apply(struct host *h, uint64_t now_mono)
{
	uint64_t now_ns = eng_ns(h, now_mono), now_s = now_ns / 1000000000u;

	while (h->dhead) {
		struct host_dnsbl *x = &h->dq[h->dhead - 1];
		int out = ctl_dnsbl_outcome(h->dnsbl, x->score);

		h->dhead = x->next;
		if (h->dhead == 0)
			h->dtail = 0;
		(void)scr_engine_dnsbl(h->eng, &x->key, x->score,
				       (enum scr_dnsbl_outcome)out, now_ns);
		if (out == SCR_DNSBL_ALLOW) {
			/* postscreen: every other test passed for the DNS TTL */
			struct scr_policy p = h->cfg->s.pol;
			unsigned t;

			for (t = 0; t < SCR_TEST_MAX; t++)
				p.ttl_s[t] = x->ttl_s ? x->ttl_s : 1;
			ctl_cache_pass(h->cache, &x->key.client, now_s,
				       p.enabled & SCR_TESTS_STREAM, &p);
			store_write(h, &x->key.client, now_s);
		}
		x->next = h->dfree;
		h->dfree = (unsigned)(x - h->dq) + 1;
	}
}

/* dnsbl_log - dnsblog's lines */
static void dnsbl_log(void *arg, const char *line)
{
	hlog(arg, "%s", line);
}

/* dnsbl_new - the resolver a setup asks for (*out NULL: no DNSBL) */
static int dnsbl_new(struct host *h, const struct ctl_setup *s,
		     struct ctl_dnsbl **out, char *err, size_t errlen)
{
	return ctl_dnsbl_for_conf(s->conf,
				  (s->pol.enabled & SCR_TEST_BIT(SCR_TEST_DNSBL)) != 0,
				  HOST_DNSBL_MAX, dnsbl_log, h, out, err, errlen);
}

/* dnsbl_swap - use d from now on: the old resolver's answers are applied,
 * its lookups in flight dropped (their flows go on without a score) */
static int dnsbl_swap(struct host *h, struct ctl_dnsbl *d, char *err,
		      size_t errlen)
{
	unsigned i;

	if (h->dnsbl)
		dnsbl_apply(h, mono_ns());
	if (d && h->dq == NULL) {
		h->dq = calloc(HOST_DNSBL_MAX, sizeof(*h->dq));
		if (h->dq == NULL) {
			snprintf(err, errlen, "DNSBL: out of memory");
			ctl_dnsbl_destroy(d);
			return -ENOMEM;
		}
	}
	ctl_dnsbl_destroy(h->dnsbl);
	h->dnsbl = d;
	for (i = 0; h->dq && i < HOST_DNSBL_MAX; i++)
		h->dq[i].next = i + 2 <= HOST_DNSBL_MAX ? i + 2 : 0;
	h->dfree = 1;
	h->dhead = h->dtail = 0;
	return 0;
}
#endif

#ifdef SCR_HAVE_METRICS
/* mx_render - publish the metrics text (once a second, main loop) */
static void mx_render(struct host *h)
{
	struct scr_xdp_ctr_val hc[SCR_HOST_C_MAX];
	struct scr_stats es;
	char *text = NULL, lb[64];
	size_t len = 0;
	FILE *f;
	unsigned t;

	if (h->mx == NULL || (f = open_memstream(&text, &len)) == NULL)
		return;
	scr_engine_stats(h->eng, &es);
	ctl_metrics_engine(f, &es, scr_engine_flows_active(h->eng));
	ctl_metrics_counter1(f, "smtpscreen_samples_total",
			     "Packets sampled by the kernel programs", h->st.samples);
	ctl_metrics_counter1(f, "smtpscreen_greetings_held_total",
			     "Greetings held for the greet wait", h->st.held);
	ctl_metrics_counter1(f, "smtpscreen_sessions_killed_total",
			     "Sessions ended by socket destroy", h->st.killed);
	ctl_metrics_counter1(f, "smtpscreen_map_errors_total",
			     "BPF map writes that failed", h->st.map_err);
	if (ctl_maps_host_stats(h->maps, hc) == 0) {
		ctl_metrics_family(f, "smtpscreen_host_events_total", "counter",
				   "Host-mode kernel events, by event");
		for (t = 0; t < SCR_HOST_C_MAX; t++) {
			snprintf(lb, sizeof(lb), "event=\"%s\"",
				 ctl_maps_host_ctr_name[t]);
			ctl_metrics_counter(f, "smtpscreen_host_events_total", lb,
					    hc[t].packets);
		}
	}
	ctl_metrics_xdp(f, h->maps);
#ifdef SCR_HAVE_DNSBL
	ctl_metrics_dnsbl(f, h->dnsbl);
#endif
	ctl_metrics_family(f, "smtpscreen_map_entries", "gauge",
			   "Entries of the verdict cache");
	ctl_metrics_value(f, "smtpscreen_map_entries", "map=\"cache\"",
			  (double)ctl_cache_count(h->cache));
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	ctl_metrics_publish(h->mx, text, len);
}
#endif

/* hook_client - access list, then the cache, then the shared store and
 * the local store (the later times of both) */
static void hook_client(void *arg, const struct scr_flow_key *key,
			uint64_t now_ns, struct scr_client_info *out)
{
	struct host *h = arg;
	uint64_t now_s = now_ns / 1000000000u;
	struct ctl_cache_entry e, l;
	bool found = false;
#ifdef SCR_HAVE_SHARED
	int rc_shared = -ENOENT;
#endif

	/* The cache holds at most its capacity; the stores have all. */
	if (ctl_acl_lookup(h->cfg->s.acl, &key->client) == CTL_ACL_DUNNO &&
	    ctl_cache_get(h->cache, &key->client, now_s, &e) == -ENOENT) {
		memset(&e, 0, sizeof(e));
#ifdef SCR_HAVE_SHARED
		if (h->shared) {
			rc_shared = ctl_shared_get(h->shared, &key->client, &e,
						   HOST_SHARED_WAIT_MS);
			if (rc_shared == 0) {
				h->st.shared_hits++;
				found = true;
			} else if (rc_shared == -ENOENT) {
				h->st.shared_misses++;
			} else {
				h->st.shared_unavail++;
			}
			if (!found)
				memset(&e, 0, sizeof(e));
		}
#endif
		if (ctl_store_get(h->store, &key->client, &l) == 0) {
			ctl_cache_entry_merge(&e, &l);
			found = true;
		}
		if (found) {
			e.addr = key->client;
			cache_load(h, &e, now_s);
#ifdef SCR_HAVE_SHARED
			/* Another node's verdict: keep it here too (a PASS
			 * OLD writes nothing). */
			if (rc_shared == 0)
				(void)store_put(h, &key->client, now_s, &l);
#endif
		}
	}
	ctl_setup_client(&h->cfg->s, h->cache, &key->client, now_s, out);
#ifdef SCR_HAVE_DNSBL
	if (h->dnsbl && out->cls == SCR_CLIENT_NEW && !out->pass_old)
		dnsbl_start(h, key, now_ns);
#endif
}

#ifdef SCR_HAVE_SHARED
/* on_shared_block - a block another node published: cache, LMDB, and an
 * XDP entry so this node drops the client's next SYN */
static void on_shared_block(void *arg, const struct ctl_cache_entry *b)
{
	struct host *h = arg;
	uint64_t now_s = eng_ns(h, mono_ns()) / 1000000000u;
	struct ctl_cache_entry e;
	uint64_t ttl;
	int rc;

	if (b->block_until <= now_s)
		return;
	ttl = b->block_until - now_s;
	if (ttl > SCR_XDP_TTL_MAX_S)
		ttl = SCR_XDP_TTL_MAX_S;
	h->st.shared_blocks_in++;
	if (ctl_cache_get(h->cache, &b->addr, now_s, &e) == 0 &&
	    e.block_until >= b->block_until)
		return;		/* known already */
	ctl_cache_block(h->cache, &b->addr, now_s, (uint32_t)ttl,
			b->block_reasons);
	(void)store_put(h, &b->addr, now_s, &e);
	rc = ctl_maps_dyn_add(h->maps, SCR_XDP_KIND_BLOCK, &b->addr, 128,
			      (uint32_t)ttl, b->block_reasons);
	if (rc != 0)
		h->st.map_err++;
}
#endif

/* held_drop - forget a held greeting of a flow (stopped or ended) */
static void held_drop(struct host *h, const struct scr_flow_key *k)
{
	unsigned i;

	for (i = 0; i < HOST_HELD_MAX && h->nheld; i++) {
		if (h->held[i].used &&
		    memcmp(&h->held[i].key, k, sizeof(*k)) == 0) {
			h->held[i].used = false;
			h->nheld--;
		}
	}
}

/* stopped_already - the cache blocks the client since this session */
static bool stopped_already(struct host *h, const struct scr_event *ev)
{
	struct ctl_cache_entry e;

	return ctl_cache_get(h->cache, &ev->key.client, ev->ts_ns / 1000000000u,
			     &e) == 0 && e.block_until > ev->ts_ns / 1000000000u;
}

/* stop_session - a client failed under enforce/drop: end it, block it */
static void stop_session(struct host *h, const struct scr_event *ev)
{
	const struct scr_policy *pol = &h->cfg->s.pol;
	uint64_t now_s = ev->ts_ns / 1000000000u;
	struct ctl_cache_entry e;
	uint32_t ttl = pol->block_ttl_s;
	uint8_t reasons = ev->reasons;
	char ab[64];
	int rc;

	held_drop(h, &ev->key);
	/* RST first: the TC program would drop it once the flow is STOP. */
	if (h->kill_ok) {
		rc = ctl_kill_session(h->kill, &ev->key);
		if (rc == 0)
			h->st.killed++;
		else if (rc != -ENOENT)
			h->st.kill_err++;
	}
	rc = ctl_hostbpf_flow_set(h->hb, &ev->key, SCR_HOST_FS_STOP);
	if (rc != 0)
		h->st.map_err++;
	h->st.stopped++;
	if (ctl_cache_get(h->cache, &ev->key.client, now_s, &e) == 0 &&
	    e.block_until > now_s) {
		/* Already blocked (a SYN that raced the map entry). */
		ttl = (uint32_t)(e.block_until - now_s);
		reasons = e.block_reasons;
	} else {
		ctl_cache_block(h->cache, &ev->key.client, now_s, ttl, reasons);
		store_write(h, &ev->key.client, now_s);
	}
	if (ev->verdict == SCR_V_BLOCKLISTED)
		return;		/* the permanent list covers it */
	rc = ctl_maps_dyn_add(h->maps, SCR_XDP_KIND_BLOCK, &ev->key.client, 128,
			      ttl ? ttl : 1, reasons);
	if (rc != 0) {
		h->st.map_err++;
		hlog(h, "warning: block entry for %s: %s",
		     ctl_store_addr_str(&ev->key.client, ab, sizeof(ab)),
		     strerror(-rc));
	}
}

/* pass_session - a client passed: decided in the kernel, cached, stored,
 * allowed for the shortest test TTL so later sessions skip sampling */
static void pass_session(struct host *h, const struct scr_event *ev)
{
	const struct scr_policy *pol = &h->cfg->s.pol;
	uint64_t now_s = ev->ts_ns / 1000000000u;
	uint8_t tests = pol->enabled & SCR_TESTS_STREAM;
	struct ctl_cache_entry e;
	uint64_t ttl = 0;
	int rc;

	(void)ctl_hostbpf_flow_set(h->hb, &ev->key, SCR_HOST_FS_PASS);
	h->st.passes++;
	if (!ev->pass_old) {
		ctl_cache_pass(h->cache, &ev->key.client, now_s, tests, pol);
		store_write(h, &ev->key.client, now_s);
	}
	if (ctl_cache_get(h->cache, &ev->key.client, now_s, &e) == 0)
		ttl = pass_left(&e, tests, now_s);
	if (ttl == 0)
		return;
	if (ttl > SCR_XDP_TTL_MAX_S)
		ttl = SCR_XDP_TTL_MAX_S;
	rc = ctl_maps_dyn_add(h->maps, SCR_XDP_KIND_ALLOW, &ev->key.client, 128,
			      (uint32_t)ttl, 0);
	if (rc != 0)
		h->st.map_err++;
}

/* hook_event - log; verdicts to the kernel, the cache and the store */
static void hook_event(void *arg, const struct scr_event *ev)
{
	struct host *h = arg;

	if (h->log)
		ctl_log_event(h->log, ev);
	if (h->flog)
		ctl_log_event(h->flog, ev);
	switch (ev->type) {
	case SCR_EV_CONNECT:
		return;
	case SCR_EV_TOO_MANY:
		/* over postscreen_client_connection_count_limit: the SYN
		 * already reached the kernel; end that connection (no block) */
		if (h->kill_ok && ctl_kill_session(h->kill, &ev->key) == 0)
			h->st.killed++;
		return;
	case SCR_EV_STRESS:
		return;
	case SCR_EV_LISTED:
		return;
	case SCR_EV_FAIL:
		/* enforce: the engine would stop the session at DATA, but the
		 * kernel passes that DATA to smtpd before user space sees its
		 * sample (on a LAN the 354 and the body come back within the
		 * ring buffer's wake-up latency), so host mode stops the
		 * session at the failure; the verdict is the same. */
		if (ev->action == SCR_ACT_ENFORCE && !stopped_already(h, ev))
			stop_session(h, ev);
		return;
	case SCR_EV_VERDICT:
		if (ev->stop_pkt || (ev->verdict == SCR_V_FAIL &&
				     stopped_already(h, ev))) {
			stop_session(h, ev);
			return;
		}
		if (ev->verdict == SCR_V_PASS) {
			pass_session(h, ev);
			return;
		}
		/* Decided otherwise (allowlisted, ignored failures, unknown):
		 * no more samples for this flow. */
		(void)ctl_hostbpf_flow_set(h->hb, &ev->key, SCR_HOST_FS_PASS);
		return;
	case SCR_EV_END:
		held_drop(h, &ev->key);
		(void)ctl_hostbpf_flow_del(h->hb, &ev->key);
		return;
	default:
		abort();	/* panic: event type out of range */
	}
}

/* feed - one frame into the engine */
static void feed(struct host *h, const uint8_t *data, uint32_t caplen,
		 uint32_t wirelen, uint64_t ts_mono)
{
	struct scr_frame fr;

	fr.data = data;
	fr.caplen = caplen;
	fr.wirelen = wirelen;
	fr.ts_ns = eng_ns(h, ts_mono);
	fr.pkt_no = ++h->pkt_no;
	fr.link = SCR_LINK_ETH;
	fr.flags = 0;
	fr.action = SCR_PKT_PASS;
	scr_engine_burst(h->eng, &fr, 1);
}

/* sample_key - the flow key of a server -> client sample */
static int sample_key(const struct scr_host_sample *s, struct scr_flow_key *k)
{
	struct scr_pkt pk;

	if (scr_decode(SCR_LINK_ETH, s->data, s->caplen, &pk) != SCR_DEC_TCP)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->client = pk.dst;
	k->server = pk.src;
	k->client_port = pk.dport;
	k->server_port = pk.sport;
	k->family = pk.family;
	return 0;
}

/* hold - keep a held greeting until its due time */
static int hold(struct host *h, const struct scr_host_sample *s)
{
	struct scr_flow_key k;
	unsigned i;

	if (sample_key(s, &k) != 0)
		return 0;
	for (i = 0; i < HOST_HELD_MAX; i++)
		if (!h->held[i].used)
			break;
	if (i == HOST_HELD_MAX) {
		/* No slot: let it go now (the pregreet wait is lost for this
		 * client, never the session). */
		h->st.held_full++;
		(void)ctl_hostbpf_release(h->hb, &k);
		if (!(s->flags & SCR_HOST_SF_TRUNC)) {
			uint8_t f[SCR_HOST_SAMPLE_MAX];

			memcpy(f, s->data, s->caplen);
			(void)ctl_resend_fix_csum(f, s->caplen);
			(void)ctl_resend_send(h->rs, f, s->caplen);
		}
		feed(h, s->data, s->caplen, s->wirelen, s->ts_ns);
		return 0;
	}
	h->held[i].key = k;
	h->held[i].ts_mono = s->ts_ns;
	h->held[i].caplen = s->caplen;
	h->held[i].wirelen = s->wirelen;
	h->held[i].trunc = (s->flags & SCR_HOST_SF_TRUNC) != 0;
	memcpy(h->held[i].frame, s->data, s->caplen);
	h->held[i].used = true;
	h->nheld++;
	h->st.held++;
	return 0;
}

/* data_hold - the server's 354: the engine has seen every client byte
 * before it (ring order); judge the 354 too, then let it go only if the
 * session still stands */
static int data_hold(struct host *h, const struct scr_host_sample *s)
{
	struct scr_host_flow_val v;
	struct scr_flow_key k;
	uint8_t f[SCR_HOST_SAMPLE_MAX];

	feed(h, s->data, s->caplen, s->wirelen, s->ts_ns);
	if (sample_key(s, &k) != 0)
		return 0;
	if (ctl_hostbpf_flow_get(h->hb, &k, &v) != 0 ||
	    v.state == SCR_HOST_FS_STOP) {
		h->st.data_stopped++;	/* stopped before the body: no 354 */
		return 0;
	}
	(void)ctl_hostbpf_release_data(h->hb, &k);
	memcpy(f, s->data, s->caplen);
	if (!(s->flags & SCR_HOST_SF_TRUNC) &&
	    ctl_resend_fix_csum(f, s->caplen) == 0 &&
	    ctl_resend_send(h->rs, f, s->caplen) == 0)
		h->st.resent++;
	else
		h->st.resend_err++;	/* the kernel's retransmission goes */
	return 0;
}

/* on_sample - ring buffer callback */
static int on_sample(void *arg, const struct scr_host_sample *s)
{
	struct host *h = arg;
	uint32_t caplen = s->caplen;

	h->st.samples++;
	if (caplen > SCR_HOST_SAMPLE_MAX)
		caplen = SCR_HOST_SAMPLE_MAX;
	/* A hold switched off by a reload is due at once. */
	if ((s->flags & SCR_HOST_SF_HELD) && (s->flags & SCR_HOST_SF_DATA))
		return data_hold(h, s);
	if (s->flags & SCR_HOST_SF_HELD)
		return hold(h, s);
	feed(h, s->data, caplen, s->wirelen, s->ts_ns);
	return 0;
}

/* hold_ns_now - the current hold (stress shortens it) */
static uint64_t hold_ns_now(const struct host *h)
{
	return scr_engine_stress(h->eng) ? h->cfg->hold_stress_ns : h->cfg->hold_ns;
}

/* release_due - re-send and feed the greetings whose hold is over;
 * returns ms until the next one is due (or HOST_POLL_MS) */
static int release_due(struct host *h, uint64_t now)
{
	uint64_t hold = hold_ns_now(h), next = UINT64_MAX;
	unsigned i;

	for (i = 0; i < HOST_HELD_MAX && h->nheld; i++) {
		struct host_held *x = &h->held[i];
		uint64_t due;
		int rc;

		if (!x->used)
			continue;
		due = x->ts_mono + hold;
		if (due > now) {
			if (due < next)
				next = due;
			continue;
		}
		x->used = false;
		h->nheld--;
		rc = ctl_hostbpf_release(h->hb, &x->key);
		if (rc == -ENOENT)
			continue;	/* flow gone (evicted, closed) */
		if (!x->trunc && ctl_resend_fix_csum(x->frame, x->caplen) == 0 &&
		    ctl_resend_send(h->rs, x->frame, x->caplen) == 0)
			h->st.resent++;
		else
			h->st.resend_err++;	/* the kernel's retransmission goes */
		feed(h, x->frame, x->caplen, x->wirelen, now);
	}
	if (next == UINT64_MAX)
		return HOST_POLL_MS;
	next = (next - now) / 1000000u + 1;
	return next < HOST_POLL_MS ? (int)next : HOST_POLL_MS;
}

/* stress_check - postscreen's 90%/70% marks on the screening budget
 * (postscreen_pre_queue_limit) are the engine's pressure; the engine adds
 * its flow table's marks, logs the changes and says which timers apply */
static void stress_check(struct host *h, uint64_t now_mono)
{
	uint64_t n = scr_engine_flows_undecided(h->eng) + h->nheld;
	uint64_t lim = h->cfg->pre_queue_limit;

	if (!h->pq_high && n * 10 >= lim * 9)
		h->pq_high = true;
	else if (h->pq_high && n * 10 <= lim * 7)
		h->pq_high = false;
	scr_engine_set_pressure(h->eng, h->pq_high, eng_ns(h, now_mono));
}

/* periodic - timeouts, sweeps, store cleanup */
static void periodic(struct host *h, uint64_t now_mono)
{
	uint64_t now_s = eng_ns(h, now_mono) / 1000000000u;
	uint64_t kept = 0, dropped = 0;
	size_t removed = 0;
	int rc;

	scr_engine_expire(h->eng, eng_ns(h, now_mono));
	if (now_s >= h->next_sweep_s) {
		h->next_sweep_s = now_s + HOST_SWEEP_S;
		(void)ctl_maps_sweep(h->maps, &removed);
		(void)ctl_cache_sweep(h->cache, now_s);
	}
	if (h->cfg->cleanup_interval_s && now_s >= h->next_cleanup_s) {
		h->next_cleanup_s = now_s + h->cfg->cleanup_interval_s;
		rc = ctl_store_cleanup(h->store, now_s, h->cfg->retention_s,
				       &kept, &dropped);
		if (rc == 0)
			hlog(h, "cache lmdb:%s full cleanup: retained=%" PRIu64
			     " dropped=%" PRIu64 " entries",
			     ctl_store_path(h->store), kept, dropped);
		else
			hlog(h, "warning: %s: cache cleanup: %s",
			     ctl_store_path(h->store), strerror(-rc));
	}
}

/* do_reload - build everything new, swap only when all is good (SIGHUP
 * and the control socket's reload); 0, or -errno with the reason in err */
static int do_reload(struct host *h, char *err, size_t errlen)
{
	struct host_cfg *n;
	const char *v;
	int rc;
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *nd = NULL;
#endif

	n = cfg_build(h->conf_path, err, errlen);
	if (n == NULL)
		return -EINVAL;
#ifdef SCR_HAVE_DNSBL
	/* postscreen_dnsbl_sites and the rest: built first, so a bad entry
	 * leaves everything as it was */
	rc = dnsbl_new(h, &n->s, &nd, err, errlen);
	if (rc != 0) {
		cfg_destroy(n);
		return rc;
	}
#endif
	rc = scr_engine_set_policy(h->eng, &n->s.pol, n->s.db);
	if (rc != 0) {
		snprintf(err, errlen, "engine: %s", strerror(-rc));
		goto fail;
	}
	rc = ctl_maps_replace(h->maps, n->perm, n->nperm);
	if (rc != 0) {
		snprintf(err, errlen, "postscreen_access_list into the XDP maps: %s",
			 strerror(-rc));
		(void)scr_engine_set_policy(h->eng, &h->cfg->s.pol, h->cfg->s.db);
		goto fail;
	}
#ifdef SCR_HAVE_DNSBL
	(void)dnsbl_swap(h, nd, err, errlen);	/* no DNSBL if out of memory */
#endif
	if (n->hold_ns > h->cfg->hold_ns && h->cfg->hold_ns)
		hlog(h, "warning: reload: a longer postscreen_greet_wait needs a "
		     "restart to move the kernel's fail-open deadline");
	v = ctl_conf_get(n->s.conf, "smtpscreen_shared_store");
	if (strcmp(v ? v : "", h->shared_url) != 0)
		hlog(h, "warning: reload: a new smtpscreen_shared_store needs a "
		     "restart; still using \"%s\"", h->shared_url);
	cfg_destroy(h->cfg);
	h->cfg = n;
	hlog(h, "reload: %s: %zu access-list prefixes", h->conf_path ?
	     h->conf_path : "(defaults)", n->nperm);
	return 0;
fail:
#ifdef SCR_HAVE_DNSBL
	ctl_dnsbl_destroy(nd);
#endif
	cfg_destroy(n);
	return rc;
}

/* reload - SIGHUP: do_reload, the failure logged */
static void reload(struct host *h)
{
	char err[1024];

	if (do_reload(h, err, sizeof(err)) != 0)
		hlog(h, "error: reload: %s; keeping the running configuration", err);
}

/* load_cb - a stored record: into the cache; remember it for the maps */
struct load_ctx {
	struct host *h;
	uint64_t now_s;
	uint64_t blocks, passes, expired;
};

static int load_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct load_ctx *c = arg;
	struct host *h = c->h;
	uint8_t tests = h->cfg->s.pol.enabled & SCR_TESTS_STREAM;
	uint64_t left;

	if (e->block_until > c->now_s) {
		cache_load(h, e, c->now_s);
		if (h->maps && ctl_maps_dyn_add(h->maps, SCR_XDP_KIND_BLOCK, &e->addr,
						128, (uint32_t)(e->block_until - c->now_s),
						e->block_reasons) != 0)
			return -EIO;
		c->blocks++;
		return 0;
	}
	left = pass_left(e, tests, c->now_s);
	cache_load(h, e, c->now_s);
	if (left == 0) {
		c->expired++;
		return 0;
	}
	if (left > SCR_XDP_TTL_MAX_S)
		left = SCR_XDP_TTL_MAX_S;
	if (h->maps && ctl_maps_dyn_add(h->maps, SCR_XDP_KIND_ALLOW, &e->addr, 128,
					(uint32_t)left, 0) != 0)
		return -EIO;
	c->passes++;
	return 0;
}

/* host_now_s - engine time in Unix seconds */
static uint64_t host_now_s(const struct host *h)
{
	return eng_ns(h, mono_ns()) / 1000000000u;
}

/* op_changed - an operator block/allow of one address also goes into the
 * cache and the store (so it outlives a restart); prefixes stay in XDP */
static void op_changed(void *arg, const struct ctl_cmd_change *c)
{
	struct host *h = arg;
	uint64_t t = host_now_s(h);
	uint32_t ttl = c->ttl_s ? c->ttl_s : SCR_XDP_TTL_MAX_S;
	struct ctl_cache_entry e;
	struct scr_policy tmp;
	unsigned i;
	bool live;

	if (c->plen != 128)
		return;
	if (c->add && c->kind == SCR_XDP_KIND_BLOCK) {
		ctl_cache_block(h->cache, &c->net, t, ttl, 0);
		store_write(h, &c->net, t);
		return;
	}
	if (c->add) {
		memset(&tmp, 0, sizeof(tmp));
		for (i = 0; i < SCR_TEST_MAX; i++)
			tmp.ttl_s[i] = ttl;
		ctl_cache_pass(h->cache, &c->net, t, HOST_OP_TESTS, &tmp);
		store_write(h, &c->net, t);
		return;
	}
	/* del: forget the matching verdict (the client is tested again) */
	if (ctl_cache_get(h->cache, &c->net, t, &e) != 0 &&
	    ctl_store_get(h->store, &c->net, &e) != 0)
		return;
	live = c->kind == SCR_XDP_KIND_BLOCK ? e.block_until > t :
	       e.block_until <= t;	/* allow del: a pass record */
	if (!live)
		return;
	ctl_cache_block(h->cache, &c->net, t, 0, 0);	/* expired at once */
	(void)ctl_store_del(h->store, &c->net);
}

/* addr_list - the store's client addresses (collected first: LMDB allows
 * one transaction per thread) */
struct addr_list {
	struct scr_addr *a;
	size_t n, cap;
	uint64_t now_s;
	FILE *out;		/* cache list: print live records */
};

/* addr_list_cb - collect one record's address */
static int addr_list_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct addr_list *l = arg;
	struct scr_addr *na;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		na = realloc(l->a, l->cap * sizeof(*na));
		if (na == NULL)
			return -ENOMEM;
		l->a = na;
	}
	l->a[l->n++] = e->addr;
	return 0;
}

/* print_cb - `cache list`: live records of the store */
static int print_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct addr_list *l = arg;

	l->n += (unsigned)ctl_cache_entry_print(l->out, e, l->now_s);
	return 0;
}

/* cache_cmd - cache list | cache flush */
static int cache_cmd(struct host *h, int argc, char **argv, FILE *out,
		     char *err, size_t errlen)
{
	struct addr_list l;
	uint64_t bad = 0;
	size_t i;
	int rc;

	memset(&l, 0, sizeof(l));
	l.now_s = host_now_s(h);
	l.out = out;
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		/* The store holds every record the cache has (write-through)
		 * and those the cache's capacity pushed out. */
		rc = ctl_store_foreach(h->store, print_cb, &l, &bad);
		if (rc) {
			snprintf(err, errlen, "cache list: %s: %s",
				 ctl_store_path(h->store), strerror(-rc));
			return rc;
		}
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "flush") != 0) {
		snprintf(err, errlen, "usage: cache list | cache flush");
		return -EINVAL;
	}
	rc = ctl_store_foreach(h->store, addr_list_cb, &l, &bad);
	if (rc) {
		snprintf(err, errlen, "cache flush: %s: %s",
			 ctl_store_path(h->store), strerror(-rc));
		free(l.a);
		return rc;
	}
	for (i = 0; i < l.n; i++) {
		(void)ctl_maps_dyn_del(h->maps, SCR_XDP_KIND_BLOCK, &l.a[i], 128);
		(void)ctl_maps_dyn_del(h->maps, SCR_XDP_KIND_ALLOW, &l.a[i], 128);
		(void)ctl_store_del(h->store, &l.a[i]);
	}
	ctl_cache_clear(h->cache);
	free(l.a);
	fprintf(out, "%zu entries flushed\n", l.n);
	hlog(h, "cache flush: %zu entries", l.n);
	return 0;
}

/* print_stats - the daemon's counters, one "name value" a line */
static void print_stats(struct host *h, FILE *out)
{
	struct scr_xdp_ctr_val hc[SCR_HOST_C_MAX];
	unsigned i;

	fprintf(out, "host_samples %" PRIu64 "\nhost_held %" PRIu64
		"\nhost_resent %" PRIu64 "\nhost_resend_errors %" PRIu64
		"\nhost_held_full %" PRIu64 "\nhost_stopped %" PRIu64
		"\nhost_killed %" PRIu64 "\nhost_kill_errors %" PRIu64
		"\nhost_passes %" PRIu64 "\nhost_store_errors %" PRIu64
		"\nhost_map_errors %" PRIu64 "\nhost_data_withheld %" PRIu64
		"\nhost_held_now %u\nhost_screening %" PRIu64
		"\nhost_stress %d\nhost_cache_entries %" PRIu32
		"\nhost_cache_replaced %" PRIu64 "\nhost_store_records %" PRIu64
		"\n", h->st.samples, h->st.held, h->st.resent, h->st.resend_err,
		h->st.held_full, h->st.stopped, h->st.killed, h->st.kill_err,
		h->st.passes, h->st.store_err, h->st.map_err, h->st.data_stopped,
		h->nheld, (uint64_t)scr_engine_flows_undecided(h->eng),
		scr_engine_stress(h->eng) ? 1 : 0,
		ctl_cache_count(h->cache), ctl_cache_replaced(h->cache),
		ctl_store_count(h->store));
	fprintf(out, "host_shared_hits %" PRIu64 "\nhost_shared_misses %" PRIu64
		"\nhost_shared_unavailable %" PRIu64 "\nhost_shared_blocks_in %"
		PRIu64 "\n", h->st.shared_hits, h->st.shared_misses,
		h->st.shared_unavail, h->st.shared_blocks_in);
#ifdef SCR_HAVE_SHARED
	if (h->shared) {
		struct ctl_shared_stats ss;

		ctl_shared_stats(h->shared, &ss);
		fprintf(out, "host_shared_up %d\nshared_puts %" PRIu64
			"\nshared_put_dropped %" PRIu64 "\nshared_writes %" PRIu64
			"\nshared_write_acked %" PRIu64 "\nshared_write_errors %"
			PRIu64 "\nshared_replayed %" PRIu64 "\nshared_gets %" PRIu64
			"\nshared_get_hits %" PRIu64 "\nshared_get_misses %" PRIu64
			"\nshared_get_unavailable %" PRIu64 "\nshared_bad_records %"
			PRIu64 "\nshared_blocks_in %" PRIu64 "\nshared_catchups %"
			PRIu64 "\nshared_connects %" PRIu64 "\nshared_disconnects %"
			PRIu64 "\nshared_pending %" PRIu64 "\n",
			ctl_shared_state(h->shared) == CTL_SHARED_UP, ss.puts,
			ss.put_dropped, ss.writes, ss.write_acked, ss.write_errors,
			ss.replayed, ss.gets, ss.get_hits, ss.get_misses,
			ss.get_unavail, ss.bad_records, ss.blocks_in, ss.catchups,
			ss.connects, ss.disconnects, ss.pending);
	}
#endif
	if (ctl_hostbpf_stats(h->hb, hc) == 0)
		for (i = 0; i < SCR_HOST_C_MAX; i++)
			fprintf(out, "host_%s_packets %llu\n",
				ctl_maps_host_ctr_name[i],
				(unsigned long long)hc[i].packets);
}

/* sock_handler - one smtpscreenctl request */
static int sock_handler(void *arg, int argc, char **argv, FILE *out, char *err,
			size_t errlen)
{
	struct host *h = arg;
	int rc;

	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		fprintf(out, "smtpscreen host: running %" PRIu64 " s on %s (XDP %s), "
			"config %s, cache %" PRIu32 " entries, store %s (%" PRIu64
			" records), screening %" PRIu64 ", held %u%s\n",
			(mono_ns() - h->start_mono) / 1000000000u, h->ifname,
			ctl_hostbpf_xdp_mode(h->hb) == 1 ? "native" : "generic",
			h->conf_path ? h->conf_path : "(defaults)",
			ctl_cache_count(h->cache), ctl_store_path(h->store),
			ctl_store_count(h->store),
			(uint64_t)scr_engine_flows_undecided(h->eng), h->nheld,
			scr_engine_stress(h->eng) ? ", STRESS" : "");
		if (h->shared_url[0])
			fprintf(out, "shared store %s: %s\n", h->shared_url,
#ifdef SCR_HAVE_SHARED
				ctl_shared_state_name[ctl_shared_state(h->shared)]
#else
				"not built"
#endif
				);
		return 0;
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1) {
		rc = do_reload(h, err, errlen);
		if (rc != 0)
			hlog(h, "error: reload: %s; keeping the running "
			     "configuration", err);
		return rc;
	}
	if (strcmp(argv[0], "cache") == 0)
		return cache_cmd(h, argc, argv, out, err, errlen);
	if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		print_stats(h, out);
		return ctl_cmd_maps(h->maps, argc, argv, out, NULL, NULL, err,
				    errlen);
	}
	if (strcmp(argv[0], "block") == 0 || strcmp(argv[0], "allow") == 0 ||
	    strcmp(argv[0], "sweep") == 0)
		return ctl_cmd_maps(h->maps, argc, argv, out, op_changed, h, err,
				    errlen);
	snprintf(err, errlen, "unknown command \"%s\" (status, stats, block, "
		 "allow, sweep, cache list, cache flush, reload)", argv[0]);
	return -EINVAL;
}

/* usage - host's options */
static int usage(void)
{
	fprintf(stderr, "usage: smtpscreen host -i IFACE [-c main.cf] "
		"[--mode native|generic] [--keep]\n"
		"                       [-s SOCKET] [--log-file FILE] "
		"[--foreground]\n");
	return 2;
}

/* host_fini - release everything (reverse order) */
static void host_fini(struct host *h)
{
	ctl_sock_close(h->sock);
	if (h->hb)
		ctl_hostbpf_close(h->hb, h->keep);
	scr_engine_destroy(h->eng);
	ctl_resend_close(h->rs);
	ctl_kill_close(h->kill);
#ifdef SCR_HAVE_SHARED
	ctl_shared_destroy(h->shared);
#endif
#ifdef SCR_HAVE_DNSBL
	ctl_dnsbl_destroy(h->dnsbl);	/* drops lookups in flight */
	free(h->dq);
#endif
#ifdef SCR_HAVE_METRICS
	ctl_metrics_stop(h->mx);
#endif
	ctl_store_close(h->store);
	ctl_cache_destroy(h->cache);
	free(h->held);
	ctl_log_destroy(h->flog);
	if (h->logf)
		fclose(h->logf);
	ctl_log_destroy(h->log);
	cfg_destroy(h->cfg);
}

/* ctl_host_main - `smtpscreen host` */
int ctl_host_main(int argc, char **argv)
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
	struct scr_engine_hooks hooks;
	struct ctl_hostbpf_opts bo;
	struct load_ctx lc;
	struct sigaction sa;
	struct host h;
	const char *log_file = NULL;
	char err[1024], warn[512];
	const char *v;
	struct rusage ru;
	uint64_t bad = 0, now, last_periodic = 0;
	uint32_t cache_cap;
	int c, rc, status = 1;
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *nd = NULL;
#endif

	memset(&h, 0, sizeof(h));
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:c:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i': h.ifname = optarg; break;
		case 'c': h.conf_path = optarg; break;
		case 's': h.sock_path = optarg; break;
		case 'm':
			if (strcmp(optarg, "native") == 0)
				h.xdp_mode = 1;
			else if (strcmp(optarg, "generic") == 0)
				h.xdp_mode = 2;
			else {
				fprintf(stderr, "smtpscreen host: --mode: bad value "
					"\"%s\" (native, generic)\n", optarg);
				return 2;
			}
			break;
		case 'k': h.keep = true; break;
		case 'l': log_file = optarg; break;
		case 'f': break;	/* always in the foreground (systemd) */
		case 'h': usage(); return 0;
		default: return usage();
		}
	}
	if (h.ifname == NULL || optind != argc)
		return usage();
	if (if_nametoindex(h.ifname) == 0) {
		fprintf(stderr, "smtpscreen host: interface %s: %s\n", h.ifname,
			strerror(errno));
		return 1;
	}
	h.cfg = cfg_build(h.conf_path, err, sizeof(err));
	if (h.cfg == NULL) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		return 2;
	}
	if (log_file == NULL && h.cfg->log_file[0])
		log_file = h.cfg->log_file;
	h.log = ctl_log_create(h.cfg->s.conf, NULL, h.cfg->s.log_fmt);
	if (log_file) {
		h.logf = fopen(log_file, "a");
		if (h.logf == NULL) {
			fprintf(stderr, "smtpscreen host: %s: %s\n", log_file,
				strerror(errno));
			goto out;
		}
		setvbuf(h.logf, NULL, _IOLBF, 0);
		h.flog = ctl_log_create(h.cfg->s.conf, h.logf, h.cfg->s.log_fmt);
	}
	if (h.log == NULL || (log_file && h.flog == NULL)) {
		fprintf(stderr, "smtpscreen host: logging: %s\n", strerror(errno));
		goto out;
	}
	h.wall_off_ns = (int64_t)(wall_ns() - mono_ns());
	now = eng_ns(&h, mono_ns()) / 1000000000u;

	/* Store, then the cache from it. */
	h.store = ctl_store_open(h.cfg->cache_file, h.cfg->cache_size, err,
				 sizeof(err));
	if (h.store == NULL) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		goto out;
	}
	cache_cap = h.cfg->s.pol.flow_table_size < HOST_CACHE_MIN ?
		    HOST_CACHE_MIN : h.cfg->s.pol.flow_table_size;
	h.cache = ctl_cache_create(cache_cap);
	h.held = calloc(HOST_HELD_MAX, sizeof(*h.held));
	if (h.cache == NULL || h.held == NULL) {
		fprintf(stderr, "smtpscreen host: out of memory\n");
		goto out;
	}

	/* The shared store: connecting is lazy, a store that is down is
	 * not an error (the node works on its cache and LMDB store). */
	v = ctl_conf_get(h.cfg->s.conf, "smtpscreen_shared_store");
	snprintf(h.shared_url, sizeof(h.shared_url), "%s", v ? v : "");
	if (h.shared_url[0]) {
#ifdef SCR_HAVE_SHARED
		h.shared = ctl_shared_create(h.shared_url, err, sizeof(err));
		if (h.shared == NULL) {
			fprintf(stderr, "smtpscreen host: smtpscreen_shared_store: "
				"%s\n", err);
			status = 2;
			goto out;
		}
		ctl_shared_on_block(h.shared, on_shared_block, &h);
#else
		fprintf(stderr, "smtpscreen host: smtpscreen_shared_store = %s: "
			"this smtpscreen is built without the shared store "
			"(hiredis)\n", h.shared_url);
		status = 2;
		goto out;
#endif
	}

#ifdef SCR_HAVE_DNSBL
	if (dnsbl_new(&h, &h.cfg->s, &nd, err, sizeof(err)) != 0 ||
	    dnsbl_swap(&h, nd, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		status = 2;
		goto out;
	}
#endif
	/* The control socket before the kernel side: a second daemon on the
	 * same socket stops here, before it could replace the first one's
	 * programs. Served from the main loop once running. */
	if (h.sock_path == NULL)
		h.sock_path = CTL_SOCK_PATH;
	rc = ctl_sock_listen(h.sock_path, 0600, &h.sock, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "smtpscreen host: control socket: %s\n", err);
		goto out;
	}

	/* Session kill: probe once; without it STOP only drops. */
	h.kill = ctl_kill_open(err, sizeof(err));
	if (h.kill != NULL && ctl_kill_probe(h.kill, err, sizeof(err)) == 0)
		h.kill_ok = true;
	else
		hlog(&h, "warning: %s: stopped sessions are dropped in XDP/TC "
		     "but the local smtpd socket stays until its own timeout", err);

	/* Kernel side: load and pin, fill, then attach. */
	memset(&bo, 0, sizeof(bo));
	bo.ifname = h.ifname;
	bo.pin_dir = h.cfg->pin_dir;
	bo.xdp_mode = h.xdp_mode;
	bo.ports = h.cfg->s.pol.ports;
	bo.nports = h.cfg->s.pol.nports;
	bo.greet_hold_ns = h.cfg->hold_ns;
	bo.data_hold_ns = HOST_DATA_HOLD_NS;
	bo.flow_map_size = h.cfg->s.pol.flow_table_size;
	bo.block_all_ports = h.cfg->block_all;
	bo.sample_bytes = h.cfg->sample_bytes;
	bo.tbl8_groups = ctl_maps_tbl8_needed(h.cfg->perm, h.cfg->nperm) + 256;
	bo.defer_attach = true;
	err[0] = warn[0] = 0;
	h.hb = ctl_hostbpf_open(&bo, err, sizeof(err), warn, sizeof(warn));
	if (h.hb == NULL) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		goto out;
	}
	h.maps = ctl_hostbpf_maps(h.hb);
	rc = ctl_maps_replace(h.maps, h.cfg->perm, h.cfg->nperm);
	if (rc != 0) {
		fprintf(stderr, "smtpscreen host: postscreen_access_list into the "
			"XDP maps: %s\n", strerror(-rc));
		goto out;
	}
	memset(&lc, 0, sizeof(lc));
	lc.h = &h;
	lc.now_s = now;
	rc = ctl_store_foreach(h.store, load_cb, &lc, &bad);
	if (rc != 0) {
		fprintf(stderr, "smtpscreen host: %s: cannot load the verdict store "
			"into the maps: %s\n", ctl_store_path(h.store), strerror(-rc));
		goto out;
	}
	if (bad)
		hlog(&h, "warning: %s: %" PRIu64 " unreadable records skipped "
		     "(dropped at the next cleanup)", ctl_store_path(h.store), bad);
	rc = ctl_hostbpf_attach(h.hb, err, sizeof(err), warn, sizeof(warn));
	if (rc != 0) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		goto out;
	}
	if (warn[0])
		hlog(&h, "warning: %s", warn);
	h.rs = ctl_resend_open(ctl_hostbpf_ifindex(h.hb), err, sizeof(err));
	if (h.rs == NULL) {
		fprintf(stderr, "smtpscreen host: %s\n", err);
		goto out;
	}
	hooks.arg = &h;
	hooks.client = hook_client;
	hooks.event = hook_event;
	h.eng = scr_engine_create(&h.cfg->s.pol, h.cfg->s.db, &hooks);
	if (h.eng == NULL) {
		fprintf(stderr, "smtpscreen host: engine: %s\n", strerror(errno));
		goto out;
	}
	h.next_sweep_s = now + HOST_SWEEP_S;
	h.next_cleanup_s = ctl_store_last_cleanup(h.store);
	if (h.next_cleanup_s < now)
		h.next_cleanup_s = now;
	h.next_cleanup_s += h.cfg->cleanup_interval_s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	hlog(&h, "host mode on %s: greet hold %" PRIu64 " ms (stress %" PRIu64
	     " ms), store %s: %" PRIu64 " blocks and %" PRIu64 " passes loaded",
	     h.ifname, h.cfg->hold_ns / 1000000, h.cfg->hold_stress_ns / 1000000,
	     ctl_store_path(h.store), lc.blocks, lc.passes);
	{
		char mem[160];

		ctl_setup_memory(mem, sizeof(mem), h.cfg->s.pol.flow_table_size,
				 scr_engine_flow_bytes(h.eng), 1);
		hlog(&h, "%s", mem);
	}
	fprintf(stderr, "smtpscreen host: running on %s\n", h.ifname);

#ifdef SCR_HAVE_METRICS
	v = ctl_conf_get(h.cfg->s.conf, "smtpscreen_metrics_listen");
	if (v && v[0]) {
		char maddr[64];
		unsigned mport;

		if (ctl_metrics_listen_parse(v, maddr, sizeof(maddr), &mport) != 0) {
			fprintf(stderr, "smtpscreen host: smtpscreen_metrics_listen: "
				"bad value \"%s\" (addr:port)\n", v);
			status = 2;
			goto out;
		}
		h.mx = ctl_metrics_start_text(maddr, mport, false, err, sizeof(err));
		if (h.mx == NULL) {
			fprintf(stderr, "smtpscreen host: metrics: %s\n", err);
			goto out;
		}
		mx_render(&h);
	}
#endif
	h.start_mono = mono_ns();
	status = 0;
	while (!atomic_load(&host_stop)) {
		struct pollfd pf[HOST_POLLFDS];
		int timeout, npf = 0;
#ifdef SCR_HAVE_SHARED
		int nsh;
#endif
#ifdef SCR_HAVE_DNSBL
		int ndb = 0, dbo = 0, dtmo = -1;
#endif

		if (atomic_exchange(&host_hup, 0))
			reload(&h);
		timeout = release_due(&h, mono_ns());
		pf[npf].fd = ctl_hostbpf_fd(h.hb);
		pf[npf++].events = POLLIN;
		pf[npf].fd = ctl_sock_fd(h.sock);
		pf[npf++].events = POLLIN;
#ifdef SCR_HAVE_SHARED
		nsh = 0;
		if (h.shared) {
			nsh = ctl_shared_pollfds(h.shared, &pf[npf],
						 HOST_POLLFDS - npf, &timeout);
			if (nsh < 0)
				nsh = 0;
			npf += nsh;
		}
#endif
#ifdef SCR_HAVE_DNSBL
		if (h.dnsbl) {
			dbo = npf;
			ndb = ctl_dnsbl_pollfds(h.dnsbl, &pf[npf], HOST_POLLFDS - npf,
						&dtmo);
			if (ndb < 0)
				ndb = 0;
			npf += ndb;
			if (dtmo >= 0 && (timeout < 0 || dtmo < timeout))
				timeout = dtmo;
		}
#endif
		rc = poll(pf, (nfds_t)npf, timeout);
		if (rc < 0 && errno != EINTR) {
			hlog(&h, "fatal: poll: %s", strerror(errno));
			status = 1;
			break;
		}
		/* The ring first: a verdict before an operator's command. */
		rc = ctl_hostbpf_poll(h.hb, 0, on_sample, &h);
		if (rc < 0 && rc != -EINTR) {
			hlog(&h, "fatal: %s: ring buffer: %s", h.ifname, strerror(-rc));
			status = 1;
			break;
		}
		if (pf[1].revents & POLLIN)
			(void)ctl_sock_serve(h.sock, sock_handler, &h);
#ifdef SCR_HAVE_SHARED
		/* Also with no fd ready: reconnection and its backoff. */
		if (h.shared)
			ctl_shared_process(h.shared, &pf[2], nsh,
					   eng_ns(&h, mono_ns()) / 1000000000u);
#endif
#ifdef SCR_HAVE_DNSBL
		if (h.dnsbl) {
			ctl_dnsbl_process(h.dnsbl, &pf[dbo], ndb, mono_ns());
			dnsbl_apply(&h, mono_ns());
		}
#endif
		now = mono_ns();
		(void)release_due(&h, now);
		stress_check(&h, now);
		if (now - last_periodic >= 1000000000ull) {
			last_periodic = now;
			periodic(&h, now);
#ifdef SCR_HAVE_METRICS
			mx_render(&h);
#endif
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	hlog(&h, "stopping: samples=%" PRIu64 " held=%" PRIu64 " resent=%" PRIu64
	     " resend_errors=%" PRIu64 " stopped=%" PRIu64 " killed=%" PRIu64
	     " kill_errors=%" PRIu64 " passes=%" PRIu64 " store_errors=%" PRIu64
	     " map_errors=%" PRIu64 " data_withheld=%" PRIu64
	     " utime_us=%ld stime_us=%ld%s",
	     h.st.samples, h.st.held, h.st.resent, h.st.resend_err, h.st.stopped,
	     h.st.killed, h.st.kill_err, h.st.passes, h.st.store_err,
	     h.st.map_err, h.st.data_stopped, ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
	     ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
	     h.keep ? "; --keep: the XDP program keeps enforcing" : "");
out:
	host_fini(&h);
	return status;
}
