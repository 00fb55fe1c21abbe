/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_inline - `smtpscreen inline`: start, control thread, stop
 * DESCRIPTION
 *	Loads main.cf (all or nothing), prepares the EAL arguments (port 0 an
 *	af_xdp vdev: its devargs get xdp_prog= with smtpscreen's XDP program
 *	written for this run), starts the EAL, checks for exactly two ports,
 *	sets them up (symmetric RSS when both offer it for every worker,
 *	else one software-dispatched queue set), creates the workers
 *	(dp_worker.c) and runs the control thread on the main lcore:
 *	events from the workers are logged in postscreen's format, written
 *	to the verdict CSV, kept in the verdict cache and, for stopped
 *	clients, written to the XDP block map (af_xdp) and sent to every
 *	worker (which enforce blocks themselves on other ports). Serves the
 *	control socket (status, stats, block/allow, cache flush, reload).
 *	SIGHUP or `reload`: a new main.cf is built whole and handed to the
 *	workers between bursts; flows in flight keep their state; a bad
 *	config keeps the old one and says why. SIGTERM/SIGINT: workers give
 *	back held frames, end their flows, the control thread takes the last
 *	events, prints the summary and releases ports, pins and files.
 * THREADING
 *	Main lcore: control thread. Signal handlers only set atomics.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_log.h"
#include "ctl_sock.h"
#ifdef SCR_HAVE_DNSBL
#include "ctl_dnsbl.h"
#endif
#ifdef SCR_HAVE_METRICS
#include "ctl_metrics.h"
#endif
#include "dp_inline.h"
#ifdef SCR_HAVE_BPF
#include "ctl_cmd.h"
#include "ctl_inlinebpf.h"
#include "ctl_maps.h"
#include "ctl_xdp.h"
#endif

#define IL_RXD		1024
#define IL_TXD		1024
#define IL_RING		4096		/* message rings */
#define IL_DISP_RING	8192		/* dispatch rings */
#define IL_EV_RING	65536		/* events per worker */
#define IL_EV_BATCH	4096		/* events per worker per control loop */
#define IL_CACHE	262144		/* verdict cache entries per copy */
#define IL_SWEEP_S	60
#define IL_RUN_DIR	"/run/smtpscreen"

static atomic_int il_stop;
static atomic_int il_hup;

struct il_opts {
	const char *conf;
	const char *log;
	const char *verdicts;
	const char *pin_dir;
	const char *sock;
	unsigned workers;		/* 0: one per worker lcore */
	unsigned stats_interval;	/* s; 0 none */
	unsigned mbufs;			/* 0: computed */
};

#ifdef SCR_HAVE_DNSBL
#define IL_DNSBL_MAX	4096		/* lookups in flight (ctl_dnsbl's default) */

/* A lookup started for a new client's flow on a worker. */
struct il_dnsbl_ctx {
	struct il_ctrl *c;
	struct scr_flow_key key;
	unsigned worker;
	unsigned next;			/* free list: index + 1 */
};
#endif

/* The control thread's state. */
struct il_ctrl {
	struct il_opts o;
	struct dp_app *a;
	struct ctl_setup *setup;	/* current */
	struct ctl_setup *old;		/* until every worker acked gen */
	uint64_t stress_mask;		/* workers in stress mode */
	uint64_t gen;
	struct ctl_cache *cache;
	struct ctl_log *log;
	FILE *logf;
	FILE *verdf;
	struct ctl_sock *sock;
	void *maps;			/* struct ctl_maps * (af_xdp port 0) */
	char xdp_obj[256];
	char *xdp_vdev;			/* port 0's devargs with xdp_prog= */
	uint64_t start_ns;
	uint64_t events, rows, blocks, map_err, msg_lost;
	unsigned dyn_count;
	struct dp_dyn dyn[DP_DYN_MAX];	/* operator prefixes, master copy */
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *dnsbl;	/* NULL: no postscreen_dnsbl_sites */
	uint64_t dnsbl_started, dnsbl_lost, dnsbl_listed;
	struct il_dnsbl_ctx *dctx;	/* IL_DNSBL_MAX lookups' contexts */
	unsigned dfree;			/* free list head: index + 1 */
#endif
#ifdef SCR_HAVE_METRICS
	/* The control thread renders the exposition text once a second;
	 * the server's thread only serves the last one. */
	struct ctl_metrics *mx;
	uint64_t mx_next;
#endif
};


/* on_signal - stop or reload flag */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store(&il_hup, 1);
	else
		atomic_store(&il_stop, 1);
}

/* usage - the synopsis */
static int usage(void)
{
	fprintf(stderr,
		"usage: smtpscreen inline [-c main.cf] [--workers N] [--log FILE]\n"
		"         [--verdicts FILE.csv] [--pin-dir DIR] [-s SOCKET]\n"
		"         [--stats-interval SECONDS] [--mbufs N] -- EAL-ARGS\n"
		"Port 0 (the first device) faces the clients, port 1 the mail servers.\n"
		"With an af_xdp port 0, its XDP program drops blocked clients in the kernel.\n");
	return 2;
}

/* parse_uint - a whole decimal number in [lo, hi] */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* parse_opts - our options, up to "--"; returns the index of "--" */
static int parse_opts(int argc, char **argv, struct il_opts *o)
{
	static const struct option lo[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "log", required_argument, NULL, 'l' },
		{ "verdicts", required_argument, NULL, 'v' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "stats-interval", required_argument, NULL, 'i' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int dd, c;

	for (dd = 1; dd < argc; dd++)
		if (strcmp(argv[dd], "--") == 0)
			break;
	if (dd == argc) {
		fprintf(stderr, "smtpscreen inline: EAL arguments missing "
			"(after \"--\")\n");
		return -EINVAL;
	}
	optind = 1;
	while ((c = getopt_long(dd, argv, "c:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; break;
		case 's': o->sock = optarg; break;
		case 'l': o->log = optarg; break;
		case 'v': o->verdicts = optarg; break;
		case 'P': o->pin_dir = optarg; break;
		case 'w':
			if (parse_uint(optarg, 1, DP_MAX_WORKERS, &o->workers)) {
				fprintf(stderr, "smtpscreen inline: --workers \"%s\": "
					"1..%d\n", optarg, DP_MAX_WORKERS);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_uint(optarg, 1, 3600, &o->stats_interval)) {
				fprintf(stderr, "smtpscreen inline: --stats-interval "
					"\"%s\": 1..3600\n", optarg);
				return -EINVAL;
			}
			break;
		case 'm':
			if (parse_uint(optarg, 1024, 1u << 24, &o->mbufs)) {
				fprintf(stderr, "smtpscreen inline: --mbufs \"%s\": "
					"1024..16777216\n", optarg);
				return -EINVAL;
			}
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != dd) {
		fprintf(stderr, "smtpscreen inline: unexpected \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	return dd;
}

/* devarg - value of key= in a devargs string ("net_x0,iface=v0,...") */
static void devarg(const char *dev, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = dev;

	out[0] = '\0';
	while (p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, ",");

			if (n >= len)
				n = len - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = '\0';
			return;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
}

/* vdev_iface - iface= of the --vdev whose name is 'name' */
static void vdev_iface(int n, char **eal, const char *name, char *out,
		       size_t len)
{
	size_t nl = strlen(name);
	int i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *v = NULL;

		if (strcmp(eal[i], "--vdev") == 0 && i + 1 < n)
			v = eal[++i];
		else if (strncmp(eal[i], "--vdev=", 7) == 0)
			v = eal[i] + 7;
		if (v && strncmp(v, name, nl) == 0 && (v[nl] == ',' || v[nl] == '\0')) {
			devarg(v, "iface", out, len);
			return;
		}
	}
}

#ifdef SCR_HAVE_BPF
/* first_vdev - index in eal[] of the first --vdev value, or -1 */
static int first_vdev(int n, char **eal)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(eal[i], "--vdev") == 0 && i + 1 < n)
			return i + 1;
		if (strncmp(eal[i], "--vdev=", 7) == 0)
			return i;
	}
	return -1;
}

/* vdev_value - the device string of eal[i] (either form) */
static const char *vdev_value(char **eal, int i)
{
	return strncmp(eal[i], "--vdev=", 7) == 0 ? eal[i] + 7 : eal[i];
}

/* xdp_prepare - port 0 is af_xdp: write our program and point its
 * devargs at it (unless the operator named a program himself) */
static int xdp_prepare(struct il_ctrl *c, int n, char **eal, char *err,
		       size_t errlen)
{
	struct ctl_inlinebpf_knobs k;
	const char *dev;
	char *na, pbuf[16];
	int i = first_vdev(n, eal), rc, ba = 0;

	if (i < 0)
		return 0;
	dev = vdev_value(eal, i);
	if (strncmp(dev, "net_af_xdp", 10) != 0)
		return 0;
	devarg(dev, "xdp_prog", pbuf, sizeof(pbuf));
	if (pbuf[0])
		return 0;
	if (mkdir(IL_RUN_DIR, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", IL_RUN_DIR, strerror(errno));
		return -errno;
	}
	snprintf(c->xdp_obj, sizeof(c->xdp_obj), "%s/inline-xdp-%d.o",
		 IL_RUN_DIR, (int)getpid());
	(void)ctl_conf_parse_bool(ctl_conf_get(c->setup->conf,
					       "smtpscreen_xdp_block_all"), &ba);
	k.ports = c->setup->pol.ports;
	k.nports = c->setup->pol.nports;
	k.block_all = ba != 0;
	rc = ctl_inlinebpf_write(&k, c->xdp_obj, err, errlen);
	if (rc != 0) {
		c->xdp_obj[0] = '\0';
		return rc;
	}
	if (asprintf(&na, "%s%s,xdp_prog=%s", eal[i] == dev ? "" : "--vdev=",
		     dev, c->xdp_obj) < 0)
		return -ENOMEM;
	eal[i] = na;	/* the EAL keeps pointers into it: freed at exit */
	c->xdp_vdev = na;
	return 0;
}
#endif

/* port_setup - configure and start one port */
static int port_setup(struct dp_app *a, unsigned pi, bool rss, char *err,
		      size_t errlen)
{
	static uint8_t sym_key[40];
	struct dp_port *p = &a->port[pi];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nrxd = IL_RXD, ntxd = IL_TXD, q;
	int rc;

	memset(sym_key, 0, sizeof(sym_key));
	for (q = 0; q < sizeof(sym_key); q += 2) {
		/* 0x6d5a repeated: a Toeplitz key whose hash is symmetric */
		sym_key[q] = 0x6d;
		sym_key[q + 1] = 0x5a;
	}
	rc = rte_eth_dev_info_get(p->id, &info);
	if (rc != 0)
		goto fail;
	memset(&conf, 0, sizeof(conf));
	if (rss) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = sym_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(sym_key);
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP);
	}
	rc = rte_eth_dev_configure(p->id, p->nrxq, p->ntxq, &conf);
	if (rc != 0)
		goto fail;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nrxd, &ntxd);
	if (rc != 0)
		goto fail;
	for (q = 0; q < p->nrxq; q++) {
		rc = rte_eth_rx_queue_setup(p->id, q, nrxd,
					    rte_eth_dev_socket_id(p->id), NULL, a->mp);
		if (rc != 0)
			goto fail;
	}
	for (q = 0; q < p->ntxq; q++) {
		rc = rte_eth_tx_queue_setup(p->id, q, ntxd,
					    rte_eth_dev_socket_id(p->id), NULL);
		if (rc != 0)
			goto fail;
	}
	rc = rte_eth_dev_start(p->id);
	if (rc != 0)
		goto fail;
	/* A bump in the wire sees every destination MAC. */
	rc = rte_eth_promiscuous_enable(p->id);
	if (rc != 0 && rc != -ENOTSUP)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "port %u (%s): setup: %s", p->id, p->name,
		 strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : -rc;
}

/* ports_setup - find the two ports, choose RSS or dispatch, start them */
static int ports_setup(struct dp_app *a, int neal, char **eal, char *err,
		       size_t errlen)
{
	struct rte_eth_dev_info info[DP_NPORTS];
	unsigned pi = 0, i;
	uint16_t id;
	bool rss = a->nworkers > 1;
	int rc;

	if (rte_eth_dev_count_avail() != DP_NPORTS) {
		snprintf(err, errlen, "found %u ports; inline needs exactly two "
			 "(port 0 faces the clients, port 1 the servers)",
			 rte_eth_dev_count_avail());
		return -EINVAL;
	}
	RTE_ETH_FOREACH_DEV(id) {
		struct dp_port *p = &a->port[pi];
		struct rte_eth_dev_info *d = &info[pi];

		p->id = id;
		rte_eth_dev_get_name_by_port(id, p->name);
		rc = rte_eth_dev_info_get(id, d);
		if (rc != 0) {
			snprintf(err, errlen, "port %u: %s", id, strerror(-rc));
			return rc;
		}
		vdev_iface(neal, eal, p->name, p->ifname, sizeof(p->ifname));
		p->af_xdp = strncmp(p->name, "net_af_xdp", 10) == 0;
		if (d->max_tx_queues < a->nworkers) {
			snprintf(err, errlen, "port %u (%s) has %u transmit "
				 "queues; %u workers need one each (af_packet: "
				 "qpairs=%u; af_xdp: queue_count= and a veth "
				 "with as many queues)", id, p->name,
				 d->max_tx_queues, a->nworkers, a->nworkers);
			return -EINVAL;
		}
		if (d->max_rx_queues < a->nworkers ||
		    !(d->flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP)))
			rss = false;
		pi++;
	}
	for (pi = 0; pi < DP_NPORTS; pi++) {
		struct dp_port *p = &a->port[pi];

		p->ntxq = (uint16_t)a->nworkers;
		p->nrxq = rss ? (uint16_t)a->nworkers :
			  (uint16_t)RTE_MIN(info[pi].max_rx_queues, a->nworkers);
		if (p->nrxq == 0)
			p->nrxq = 1;
	}
	a->sw_dispatch = !rss && a->nworkers > 1;
	for (pi = 0; pi < DP_NPORTS; pi++) {
		rc = port_setup(a, pi, rss, err, errlen);
		if (rc != 0)
			return rc;
	}
	/* Queues to workers: queue q of each port to worker q % nworkers. */
	for (i = 0; i < a->nworkers; i++)
		a->w[i]->nrxq = 0;
	for (pi = 0; pi < DP_NPORTS; pi++) {
		uint16_t q;

		for (q = 0; q < a->port[pi].nrxq; q++) {
			struct dp_worker *w = a->w[(q + pi) % a->nworkers];

			if (rss)
				w = a->w[q];
			w->rxq[w->nrxq].port = (uint16_t)pi;
			w->rxq[w->nrxq].queue = q;
			w->nrxq++;
		}
	}
	return 0;
}

/* ring_name - a unique ring name */
static const char *ring_name(char *buf, size_t len, const char *what,
			     unsigned i, unsigned j)
{
	snprintf(buf, len, "scr_%s_%u_%u", what, i, j);
	return buf;
}

/* workers_create - workers, their engines, caches, holds and rings */
static int workers_create(struct il_ctrl *c, char *err, size_t errlen)
{
	struct dp_app *a = c->a;
	struct scr_engine_hooks hk;
	char rn[RTE_RING_NAMESIZE];
	unsigned i, j, lc, nlc = 0, lcs[RTE_MAX_LCORE];

	RTE_LCORE_FOREACH_WORKER(lc)
		lcs[nlc++] = lc;

	for (i = 0; i < a->nworkers; i++) {
		struct dp_worker *w = rte_zmalloc("scr_worker", sizeof(*w),
						  RTE_CACHE_LINE_SIZE);

		if (w == NULL)
			goto nomem;
		a->w[i] = w;
		w->id = i;
		w->app = a;
		w->setup = c->setup;
		w->lcore = lcs[i % nlc];
		w->cache = ctl_cache_create(IL_CACHE);
		w->hold = dp_hold_create(a->hold_pkts, a->hold_pkts);
		w->ev_ring = rte_ring_create_elem(ring_name(rn, sizeof(rn), "ev", i, 0),
						  sizeof(struct scr_event), IL_EV_RING,
						  rte_socket_id(),
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->msg_ring = rte_ring_create_elem(ring_name(rn, sizeof(rn), "msg", i, 0),
						   sizeof(struct dp_msg), IL_RING,
						   rte_socket_id(),
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->cache == NULL || w->hold == NULL || w->ev_ring == NULL ||
		    w->msg_ring == NULL)
			goto nomem;
		/* Fault the event slots in now (--no-huge memory is mapped
		 * lazily): the resident size does not grow under a flood. */
		memset(w->ev_ring + 1, 0, rte_ring_get_memsize_elem(
		       sizeof(struct scr_event), IL_EV_RING) - sizeof(*w->ev_ring));
	}
	for (i = 0; i < a->nworkers; i++) {
		struct dp_worker *w = a->w[i];

		dp_worker_hooks(w, &hk);
		w->eng = scr_engine_create(&c->setup->pol, c->setup->db, &hk);
		if (w->eng == NULL)
			goto nomem;
		for (j = 0; j < a->nworkers && a->nworkers > 1; j++) {
			if (j == i)
				continue;
			/* ring i -> j: out of i, into j */
			w->out[j] = rte_ring_create(ring_name(rn, sizeof(rn), "d", i, j),
						    IL_DISP_RING, rte_socket_id(),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (w->out[j] == NULL)
				goto nomem;
			a->w[j]->in[i] = w->out[j];
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "workers: out of memory (rings, engines, caches: "
		 "give the EAL more memory, -m)");
	return -ENOMEM;
}

/* broadcast - one message to every worker */
static void broadcast(struct il_ctrl *c, const struct dp_msg *g)
{
	unsigned i;

	for (i = 0; i < c->a->nworkers; i++)
		if (rte_ring_sp_enqueue_elem(c->a->w[i]->msg_ring, (void *)g,
					     sizeof(*g)) != 0)
			c->msg_lost++;
}

#ifdef SCR_HAVE_DNSBL

/* dnsbl_done - the score: to the worker that has the flow */
static void dnsbl_done(void *arg, const struct scr_addr *a,
		       const struct ctl_dnsbl_result *r)
{
	struct il_dnsbl_ctx *x = arg;
	struct il_ctrl *c = x->c;
	struct dp_msg g;

	(void)a;
	memset(&g, 0, sizeof(g));
	g.type = DP_MSG_DNSBL;
	g.key = x->key;
	g.score = r->score;
	g.outcome = (uint8_t)ctl_dnsbl_outcome(c->dnsbl, r->score);
	if (rte_ring_sp_enqueue_elem(c->a->w[x->worker]->msg_ring, &g,
				     sizeof(g)) != 0)
		c->dnsbl_lost++;
	c->dnsbl_listed += g.outcome == SCR_DNSBL_FAIL;
	if (g.outcome == SCR_DNSBL_ALLOW) {
		/* postscreen: the other tests count as passed for the TTL */
		memset(&g, 0, sizeof(g));
		g.type = DP_MSG_PASS;
		g.addr = x->key.client;
		g.now_s = dp_now_ns(c->a) / 1000000000u;
		g.tests = c->setup->pol.enabled & SCR_TESTS_STREAM;
		g.ttl_s = r->ttl_s ? r->ttl_s : 1;
		broadcast(c, &g);
	}
	x->next = c->dfree;
	c->dfree = (unsigned)(x - c->dctx) + 1;
}

/* dnsbl_start - a new client's flow: look it up unless the access list,
 * a block or the cache already decide it */
static void dnsbl_start(struct il_ctrl *c, const struct scr_event *ev,
			unsigned worker)
{
	struct scr_client_info info;
	struct il_dnsbl_ctx *x;

	if (ctl_acl_lookup(c->setup->acl, &ev->key.client) != CTL_ACL_DUNNO)
		return;
	ctl_cache_client(c->cache, &ev->key.client, ev->ts_ns / 1000000000u,
			 c->setup->pol.enabled, &info);
	if (info.cls != SCR_CLIENT_NEW || info.pass_old)
		return;
	if (c->dfree == 0) {
		c->dnsbl_lost++;	/* IL_DNSBL_MAX in flight */
		return;
	}
	x = &c->dctx[c->dfree - 1];
	c->dfree = x->next;
	x->c = c;
	x->key = ev->key;
	x->worker = worker;
	c->dnsbl_started++;
	if (ctl_dnsbl_lookup(c->dnsbl, &ev->key.client, dp_now_ns(c->a), dnsbl_done,
			     x) != 0) {
		c->dnsbl_lost++;
		x->next = c->dfree;
		c->dfree = (unsigned)(x - c->dctx) + 1;
	}
}

/* dnsbl_log - dnsblog's lines, in our log */
static void dnsbl_log(void *arg, const char *line)
{
	struct il_ctrl *c = arg;

	if (c->log)
		ctl_log_msg(c->log, "%s", line);
}

/* dnsbl_new - the resolver a setup asks for (*out NULL: no DNSBL) */
static int dnsbl_new(struct il_ctrl *c, const struct ctl_setup *s,
		     struct ctl_dnsbl **out, char *err, size_t errlen)
{
	return ctl_dnsbl_for_conf(s->conf,
				  (s->pol.enabled & SCR_TEST_BIT(SCR_TEST_DNSBL)) != 0,
				  IL_DNSBL_MAX, dnsbl_log, c, out, err, errlen);
}

/* dnsbl_swap - use d from now on; the old resolver's lookups in flight
 * are dropped (their flows go on without a score) */
static int dnsbl_swap(struct il_ctrl *c, struct ctl_dnsbl *d, char *err,
		      size_t errlen)
{
	unsigned i;

	if (d && c->dctx == NULL) {
		c->dctx = calloc(IL_DNSBL_MAX, sizeof(*c->dctx));
		if (c->dctx == NULL) {
			snprintf(err, errlen, "DNSBL: out of memory");
			ctl_dnsbl_destroy(d);
			return -ENOMEM;
		}
	}
	ctl_dnsbl_destroy(c->dnsbl);
	c->dnsbl = d;
	for (i = 0; c->dctx && i < IL_DNSBL_MAX; i++)
		c->dctx[i].next = i + 2 <= IL_DNSBL_MAX ? i + 2 : 0;
	c->dfree = 1;
	return 0;
}

/* dnsbl_poll - answers that came in */
static void dnsbl_poll(struct il_ctrl *c)
{
	struct pollfd pf[16];
	int n, tmo = 0;

	if (c->dnsbl == NULL)
		return;
	n = ctl_dnsbl_pollfds(c->dnsbl, pf, 16, &tmo);
	if (n > 0)
		(void)poll(pf, (nfds_t)n, 0);
	ctl_dnsbl_process(c->dnsbl, pf, n > 0 ? n : 0, dp_now_ns(c->a));
}
#endif

/* on_verdict - cache, block map, workers */
static void on_verdict(struct il_ctrl *c, const struct scr_event *ev)
{
	const struct scr_policy *pol = &c->setup->pol;
	uint64_t now_s = ev->ts_ns / 1000000000u;
	struct ctl_cache_entry e;
	struct dp_msg g;

	memset(&g, 0, sizeof(g));
	g.addr = ev->key.client;
	g.now_s = now_s;
	if (ev->verdict == SCR_V_PASS && !ev->pass_old) {
		ctl_cache_pass(c->cache, &ev->key.client, now_s,
			       pol->enabled & SCR_TESTS_STREAM, pol);
		g.type = DP_MSG_PASS;
		g.tests = pol->enabled & SCR_TESTS_STREAM;
		broadcast(c, &g);
		return;
	}
	if (!ev->stop_pkt || (ev->verdict != SCR_V_FAIL &&
			      ev->verdict != SCR_V_BLOCKLISTED))
		return;
	if (ev->verdict == SCR_V_BLOCKLISTED)
		return;		/* the permanent list covers it everywhere */
	if (ctl_cache_get(c->cache, &ev->key.client, now_s, &e) == 0 &&
	    e.block_until > now_s)
		return;		/* blocked already (a SYN that raced the block) */
	ctl_cache_block(c->cache, &ev->key.client, now_s, pol->block_ttl_s,
			ev->reasons);
	c->blocks++;
	g.type = DP_MSG_BLOCK;
	g.ttl_s = pol->block_ttl_s;
	g.reasons = ev->reasons;
	broadcast(c, &g);
#ifdef SCR_HAVE_BPF
	if (c->maps && ctl_maps_dyn_add(c->maps, SCR_XDP_KIND_BLOCK,
					&ev->key.client, 128,
					pol->block_ttl_s ? pol->block_ttl_s : 1,
					ev->reasons) != 0)
		c->map_err++;
#endif
}

static void worker_read(struct dp_worker *w, struct dp_wstats *s,
			struct scr_stats *es, uint32_t *flows);

/* on_stress - a worker entered or left stress mode: the appliance is in
 * stress mode while any worker is; one log line per change of that, with
 * the flows of every worker (postscreen's "N connections") */
static void on_stress(struct il_ctrl *c, const struct scr_event *ev, unsigned w)
{
	uint64_t was = c->stress_mask, flows = 0;
	struct scr_event agg = *ev;
	unsigned i;

	if (ev->stress)
		c->stress_mask |= 1ull << w;
	else
		c->stress_mask &= ~(1ull << w);
	if ((was != 0) == (c->stress_mask != 0))
		return;
	for (i = 0; i < c->a->nworkers; i++) {
		struct dp_wstats s;
		uint32_t f;

		if (i == w) {
			flows += ev->count;
			continue;
		}
		worker_read(c->a->w[i], &s, NULL, &f);
		flows += f;
	}
	agg.count = flows > UINT32_MAX ? UINT32_MAX : (uint32_t)flows;
	if (c->log)
		ctl_log_event(c->log, &agg);
}

/* on_event - one event of worker w */
static void on_event(struct il_ctrl *c, const struct scr_event *ev, unsigned w)
{
	c->events++;
	if (ev->type == SCR_EV_STRESS) {
		on_stress(c, ev, w);
		return;
	}
	if (c->log)
		ctl_log_event(c->log, ev);
#ifdef SCR_HAVE_DNSBL
	if (ev->type == SCR_EV_CONNECT && c->dnsbl)
		dnsbl_start(c, ev, w);
#else
	(void)w;
#endif
	if (ev->type != SCR_EV_VERDICT)
		return;
	if (c->verdf) {
		ctl_log_verdict_row(c->verdf, &ev->key, ev->verdict, ev->reasons);
		c->rows++;
	}
	on_verdict(c, ev);
}

/* drain_events - take what the workers sent, at most IL_EV_BATCH of
 * each per call (the loop's other duties must not starve); the count */
static unsigned drain_events(struct il_ctrl *c)
{
	static struct scr_event ev[64];
	unsigned i, k, n, got, total = 0;

	for (i = 0; i < c->a->nworkers; i++) {
		got = 0;
		do {
			n = rte_ring_sc_dequeue_burst_elem(c->a->w[i]->ev_ring, ev,
							   sizeof(ev[0]), 64, NULL);
			for (k = 0; k < n; k++)
				on_event(c, &ev[k], i);
			got += n;
		} while (n == 64 && got < IL_EV_BATCH);
		/* left events behind: the workers' stress pressure */
		atomic_store_explicit(&c->a->w[i]->ctl_behind, got >= IL_EV_BATCH,
				      memory_order_relaxed);
		total += got;
	}
	if (total && c->verdf)
		fflush(c->verdf);
	if (total && c->logf)
		fflush(c->logf);
	return total;
}

/* worker_read - one worker's published counters (es/flows may be NULL) */
static void worker_read(struct dp_worker *w, struct dp_wstats *s,
			struct scr_stats *es, uint32_t *flows)
{
	unsigned sn;

	do {
		sn = dp_snap_read_begin(w);
		*s = w->st_snap;
		if (es)
			*es = w->eng_snap;
		if (flows)
			*flows = w->flows_snap;
	} while (dp_snap_read_retry(w, sn));
}

/* sum_stats - the workers' published counters, summed */
static void sum_stats(struct il_ctrl *c, struct dp_wstats *ws,
		      struct scr_stats *es, uint64_t *flows)
{
	unsigned i, k;

	memset(ws, 0, sizeof(*ws));
	memset(es, 0, sizeof(*es));
	*flows = 0;
	for (i = 0; i < c->a->nworkers; i++) {
		struct dp_wstats s;
		struct scr_stats e;
		uint32_t f;

		worker_read(c->a->w[i], &s, &e, &f);
		for (k = 0; k < sizeof(s) / 8; k++)
			((uint64_t *)ws)[k] += ((uint64_t *)&s)[k];
		for (k = 0; k < sizeof(e) / 8; k++)
			((uint64_t *)es)[k] += ((uint64_t *)&e)[k];
		*flows += f;
	}
}

/* print_stats - key=value counters (summary and `stats`) */
static void print_stats(struct il_ctrl *c, FILE *out)
{
	struct dp_wstats ws;
	struct scr_stats es;
	uint64_t flows;
	unsigned p, t, i;

	sum_stats(c, &ws, &es, &flows);
	for (p = 0; p < DP_NPORTS; p++) {
		struct rte_eth_stats s;

		if (rte_eth_stats_get(c->a->port[p].id, &s) != 0)
			continue;
		fprintf(out, "port%u=%s rx_packets=%" PRIu64 " tx_packets=%" PRIu64
			" rx_missed=%" PRIu64 " rx_errors=%" PRIu64 " tx_errors=%"
			PRIu64 " rx_nombuf=%" PRIu64 "\n", p, c->a->port[p].name,
			s.ipackets, s.opackets, s.imissed, s.ierrors, s.oerrors,
			s.rx_nombuf);
	}
	for (i = 0; i < c->a->nworkers; i++) {
		struct dp_worker *w = c->a->w[i];
		struct dp_wstats s;

		worker_read(w, &s, NULL, NULL);
		fprintf(out, "worker%u lcore=%u rx=%" PRIu64 " dispatched_in=%"
			PRIu64 " dispatched_out=%" PRIu64 " held_now=%" PRIu64 "\n",
			i, w->lcore, s.rx, s.disp_in, s.disp_out, s.hold_now);
	}
	fprintf(out, "workers=%u dispatch=%s flows_active=%" PRIu64 " flows=%" PRIu64
		" smtp_packets=%" PRIu64 " other_packets=%" PRIu64 "\n",
		c->a->nworkers, c->a->sw_dispatch ? "software" :
		(c->a->nworkers > 1 ? "rss" : "none"), flows,
		es.flows, es.smtp_pkts, es.other_pkts);
	fprintf(out, "forwarded=%" PRIu64 " tx_drop=%" PRIu64 " dispatch_full=%"
		PRIu64 " dropped=%" PRIu64 " stopped=%" PRIu64 " crafted=%" PRIu64
		" craft_err=%" PRIu64 " nombuf=%" PRIu64 "\n", ws.fwd, ws.tx_drop,
		ws.disp_full, ws.dropped, ws.stopped, ws.crafted, ws.craft_err,
		ws.nombuf);
	fprintf(out, "held=%" PRIu64 " held_now=%" PRIu64 " hold_dup=%" PRIu64
		" hold_forced=%" PRIu64 " released=%" PRIu64 " hold_freed=%" PRIu64
		" stress=%" PRIu64 "\n", ws.held, ws.hold_now, ws.hold_dup,
		ws.hold_forced, ws.released, ws.hold_freed, ws.stress);
	fprintf(out, "stress_mode=%d stress_entered=%" PRIu64 " evicted_half_open=%"
		PRIu64 " evicted_closing=%" PRIu64 " evicted_failed=%" PRIu64
		" evicted_passed=%" PRIu64 " overload=%" PRIu64 " client_limit=%"
		PRIu64 " command_time=%" PRIu64 "\n", c->stress_mask != 0,
		es.stress_enter, es.evicted[SCR_EVICT_HALF_OPEN],
		es.evicted[SCR_EVICT_CLOSING], es.evicted[SCR_EVICT_FAILED],
		es.evicted[SCR_EVICT_PASSED], es.overload, es.client_limit,
		es.command_time);
	fprintf(out, "pass=%" PRIu64 " pass_old=%" PRIu64 " fail=%" PRIu64
		" allowlisted=%" PRIu64 " blocklisted=%" PRIu64 " unknown=%" PRIu64
		"\n", es.verdict[SCR_V_PASS], es.pass_old, es.verdict[SCR_V_FAIL],
		es.verdict[SCR_V_ALLOWLISTED], es.verdict[SCR_V_BLOCKLISTED],
		es.verdict[SCR_V_UNKNOWN]);
	for (t = 0; t < SCR_TEST_MAX; t++)
		fprintf(out, "%sfailed_%s=%" PRIu64, t ? " " : "", scr_test_name[t],
			es.failed[t]);
	fprintf(out, "\nmemory flow_bytes=%zu flow_capacity=%u hold_packets=%u "
		"per worker\n", scr_engine_flow_bytes(c->a->w[0]->eng),
		c->setup->pol.flow_table_size, c->a->hold_pkts);
	fprintf(out, "events=%" PRIu64 " events_lost=%" PRIu64 " blocks=%" PRIu64
		" map_errors=%" PRIu64 " messages_lost=%" PRIu64 " cache=%u\n",
		c->events, ws.ev_lost, c->blocks, c->map_err, c->msg_lost,
		ctl_cache_count(c->cache));
}

#ifdef SCR_HAVE_METRICS
/* mx_render - the exposition text from the published counters */
static void mx_render(struct il_ctrl *c)
{
	struct dp_wstats ws;
	struct scr_stats es;
	uint64_t flows;
	char *text = NULL, lb[96];
	size_t len = 0;
	unsigned p, i;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	sum_stats(c, &ws, &es, &flows);
	ctl_metrics_family(f, "smtpscreen_port_packets_total", "counter",
			   "Frames received and sent per port");
	for (p = 0; p < DP_NPORTS; p++) {
		struct rte_eth_stats s;

		if (rte_eth_stats_get(c->a->port[p].id, &s) != 0)
			continue;
		snprintf(lb, sizeof(lb), "port=\"%u\",direction=\"rx\"", p);
		ctl_metrics_counter(f, "smtpscreen_port_packets_total", lb, s.ipackets);
		snprintf(lb, sizeof(lb), "port=\"%u\",direction=\"tx\"", p);
		ctl_metrics_counter(f, "smtpscreen_port_packets_total", lb, s.opackets);
		snprintf(lb, sizeof(lb), "port=\"%u\",direction=\"missed\"", p);
		ctl_metrics_counter(f, "smtpscreen_port_packets_total", lb, s.imissed);
	}
	ctl_metrics_family(f, "smtpscreen_worker_packets_total", "counter",
			   "Frames received per worker");
	for (i = 0; i < c->a->nworkers; i++) {
		struct dp_wstats s;

		worker_read(c->a->w[i], &s, NULL, NULL);
		snprintf(lb, sizeof(lb), "worker=\"%u\"", i);
		ctl_metrics_counter(f, "smtpscreen_worker_packets_total", lb, s.rx);
	}
	ctl_metrics_engine(f, &es, flows);
	ctl_metrics_counter1(f, "smtpscreen_forwarded_packets_total", "Frames forwarded", ws.fwd);
	ctl_metrics_counter1(f, "smtpscreen_dropped_packets_total",
		   "Frames of stopped sessions dropped", ws.dropped);
	ctl_metrics_counter1(f, "smtpscreen_tx_dropped_packets_total",
		   "Frames a port refused", ws.tx_drop);
	ctl_metrics_counter1(f, "smtpscreen_events_lost_total",
		   "Events lost to a full worker ring", ws.ev_lost);
	ctl_metrics_family(f, "smtpscreen_held_packets", "gauge",
			   "Server frames held for greeting holds");
	ctl_metrics_value(f, "smtpscreen_held_packets", NULL, (double)ws.hold_now);
	ctl_metrics_family(f, "smtpscreen_map_entries", "gauge",
			   "Entries of the verdict cache and operator prefixes");
	ctl_metrics_value(f, "smtpscreen_map_entries", "map=\"cache\"",
			  (double)ctl_cache_count(c->cache));
	ctl_metrics_value(f, "smtpscreen_map_entries", "map=\"operator\"",
			  (double)c->dyn_count);
#ifdef SCR_HAVE_BPF
	ctl_metrics_xdp(f, c->maps);
#endif
#ifdef SCR_HAVE_DNSBL
	ctl_metrics_dnsbl(f, c->dnsbl);
#endif
	if (fclose(f) != 0) {
		free(text);
		return;
	}
	ctl_metrics_publish(c->mx, text, len);
}

/* mx_start - serve smtpscreen_metrics_listen, if set */
static int mx_start(struct il_ctrl *c, char *err, size_t errlen)
{
	const char *v = ctl_conf_get(c->setup->conf, "smtpscreen_metrics_listen");
	char addr[64];
	unsigned port;

	if (v == NULL || v[0] == 0)
		return 0;
	if (ctl_metrics_listen_parse(v, addr, sizeof(addr), &port) != 0) {
		snprintf(err, errlen, "smtpscreen_metrics_listen: bad value \"%s\" "
			 "(addr:port)", v);
		return -EINVAL;
	}
	c->mx = ctl_metrics_start_text(addr, port, false, err, errlen);
	if (c->mx == NULL)
		return -EINVAL;
	mx_render(c);
	return 0;
}
#endif

/* do_reload - a new main.cf, all or nothing; 0 or -EINVAL with err */
static int do_reload(struct il_ctrl *c, char *err, size_t errlen)
{
	struct ctl_setup *n;
	struct dp_msg g;
	unsigned i;
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *nd = NULL;
#endif

	if (c->old) {
		snprintf(err, errlen, "a reload is still being applied");
		return -EBUSY;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (ctl_setup_load(n, c->o.conf, err, errlen) != 0) {
		free(n);
		return -EINVAL;
	}
	if (memcmp(n->pol.ports, c->setup->pol.ports, sizeof(n->pol.ports)) ||
	    n->pol.flow_table_size != c->setup->pol.flow_table_size) {
		snprintf(err, errlen, "smtpscreen_ports and "
			 "smtpscreen_flow_table_size change only at a restart");
		ctl_setup_fini(n);
		free(n);
		return -EINVAL;
	}
#ifdef SCR_HAVE_DNSBL
	/* postscreen_dnsbl_sites and the rest: built before anything changes */
	if (dnsbl_new(c, n, &nd, err, errlen) != 0) {
		ctl_setup_fini(n);
		free(n);
		return -EINVAL;
	}
#endif
#ifdef SCR_HAVE_BPF
	if (c->maps && ctl_xdp_fill(c->maps, n->conf, err, errlen) != 0) {
#ifdef SCR_HAVE_DNSBL
		ctl_dnsbl_destroy(nd);
#endif
		ctl_setup_fini(n);
		free(n);
		return -EINVAL;
	}
#endif
#ifdef SCR_HAVE_DNSBL
	(void)dnsbl_swap(c, nd, err, errlen);	/* no DNSBL if out of memory */
#endif
	c->old = c->setup;
	c->setup = n;
	memset(&g, 0, sizeof(g));
	g.type = DP_MSG_SETUP;
	g.setup = n;
	g.gen = ++c->gen;
	for (i = 0; i < c->a->nworkers; i++)
		while (rte_ring_sp_enqueue_elem(c->a->w[i]->msg_ring, &g,
						sizeof(g)) != 0)
			rte_delay_us_sleep(100);	/* never lose a SETUP */
	return 0;
}

/* reload_done - free the old setup once every worker switched */
static void reload_done(struct il_ctrl *c)
{
	unsigned i;

	if (c->old == NULL)
		return;
	for (i = 0; i < c->a->nworkers; i++)
		if (atomic_load_explicit(&c->a->w[i]->setup_gen,
					 memory_order_acquire) != c->gen)
			return;
	ctl_setup_fini(c->old);
	free(c->old);
	c->old = NULL;
}

#ifdef SCR_HAVE_BPF
/* dyn_changed - an operator block/allow: to the workers too */
static void dyn_changed(void *arg, const struct ctl_cmd_change *ch)
{
	struct il_ctrl *c = arg;
	struct dp_msg g;

	memset(&g, 0, sizeof(g));
	g.type = ch->add ? DP_MSG_DYN_ADD : DP_MSG_DYN_DEL;
	g.kind = (uint8_t)ch->kind;
	g.addr = ch->net;
	g.plen = (uint8_t)ch->plen;
	g.expires_s = ch->ttl_s ? dp_now_ns(c->a) / 1000000000u + ch->ttl_s : 0;
	broadcast(c, &g);
}

/* dyn_find - the master entry of a prefix, or -1 */
static int dyn_find(const struct il_ctrl *c, const struct ctl_cmd_req *r)
{
	unsigned i;

	for (i = 0; i < c->dyn_count; i++)
		if (c->dyn[i].kind == r->kind && c->dyn[i].plen == r->plen &&
		    memcmp(&c->dyn[i].net, &r->net, sizeof(r->net)) == 0)
			return (int)i;
	return -1;
}

/* workers_cmd - block/allow without XDP maps (af_packet, pcap, vfio
 * ports): the workers enforce them; the master list answers `list` */
static int workers_cmd(struct il_ctrl *c, int argc, char **argv, FILE *out,
		       char *err, size_t errlen)
{
	uint64_t now_s = dp_now_ns(c->a) / 1000000000u;
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
		k = dyn_find(c, &r);
		if (k < 0) {
			if (c->dyn_count == DP_DYN_MAX) {
				snprintf(err, errlen, "%s add: %u entries already "
					 "(without XDP the workers hold at most %u)",
					 argv[0], DP_DYN_MAX, DP_DYN_MAX);
				return -ENOSPC;
			}
			k = (int)c->dyn_count++;
		}
		c->dyn[k].net = r.net;
		c->dyn[k].plen = (uint8_t)r.plen;
		c->dyn[k].kind = (uint8_t)r.kind;
		c->dyn[k].expires_s = r.ttl_s ? now_s + r.ttl_s : 0;
		c->dyn[k].used = 1;
		ch.add = true;
		dyn_changed(c, &ch);
		return 0;
	case CTL_CMD_DEL:
		k = dyn_find(c, &r);
		if (k < 0) {
			snprintf(err, errlen, "%s del %s: no such entry", argv[0],
				 argv[2]);
			return -ENOENT;
		}
		c->dyn[k] = c->dyn[--c->dyn_count];
		dyn_changed(c, &ch);
		return 0;
	case CTL_CMD_LIST:
		for (i = 0; i < c->dyn_count; i++)
			if (c->dyn[i].kind == r.kind)
				ctl_cmd_print_entry(out, &c->dyn[i].net, c->dyn[i].plen,
						    c->dyn[i].expires_s * 1000000000u,
						    now_s * 1000000000u);
		return 0;
	case CTL_CMD_SWEEP:
		for (i = 0, k = 0; i < c->dyn_count;) {
			if (c->dyn[i].expires_s && c->dyn[i].expires_s <= now_s) {
				ch.kind = c->dyn[i].kind;
				ch.net = c->dyn[i].net;
				ch.plen = c->dyn[i].plen;
				dyn_changed(c, &ch);
				c->dyn[i] = c->dyn[--c->dyn_count];
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
		abort();	/* panic: stats is answered before, op out of range */
	}
}
#endif

struct il_list {
	FILE *out;
	uint64_t now_s;
};

/* list_cb - `cache list`: one line per live entry */
static int list_cb(void *arg, const struct ctl_cache_entry *e)
{
	struct il_list *l = arg;

	(void)ctl_cache_entry_print(l->out, e, l->now_s);
	return 0;
}

/* sock_handler - one smtpscreenctl request */
static int sock_handler(void *arg, int argc, char **argv, FILE *out, char *err,
			size_t errlen)
{
	struct il_ctrl *c = arg;
	struct dp_msg g;

	if (strcmp(argv[0], "status") == 0 && argc == 1) {
		fprintf(out, "smtpscreen inline: running %" PRIu64 " s, %u workers, "
			"port 0 %s (clients) <-> port 1 %s (servers), dispatch %s, "
			"XDP %s, config %s\n",
			(dp_now_ns(c->a) - c->start_ns) / 1000000000u, c->a->nworkers,
			c->a->port[0].name, c->a->port[1].name,
			c->a->sw_dispatch ? "software" : "rss",
			c->maps ? "yes" : "no", c->o.conf ? c->o.conf : "(defaults)");
		return 0;
	}
	if (strcmp(argv[0], "reload") == 0 && argc == 1)
		return do_reload(c, err, errlen);
	if (strcmp(argv[0], "cache") == 0 && argc == 2 &&
	    strcmp(argv[1], "list") == 0) {
		struct il_list l = { out, dp_now_ns(c->a) / 1000000000u };

		return ctl_cache_walk(c->cache, list_cb, &l);
	}
	if (strcmp(argv[0], "cache") == 0 && argc == 2 &&
	    strcmp(argv[1], "flush") == 0) {
		ctl_cache_clear(c->cache);
		memset(&g, 0, sizeof(g));
		g.type = DP_MSG_CACHE_FLUSH;
		broadcast(c, &g);
		return 0;
	}
	if (strcmp(argv[0], "stats") == 0 && argc == 1) {
		print_stats(c, out);
#ifdef SCR_HAVE_BPF
		if (c->maps)
			return ctl_cmd_maps(c->maps, argc, argv, out, NULL, NULL,
					    err, errlen);
#endif
		return 0;
	}
#ifdef SCR_HAVE_BPF
	if (strcmp(argv[0], "block") == 0 || strcmp(argv[0], "allow") == 0 ||
	    strcmp(argv[0], "sweep") == 0)
		return c->maps ? ctl_cmd_maps(c->maps, argc, argv, out, dyn_changed,
					      c, err, errlen) :
				 workers_cmd(c, argc, argv, out, err, errlen);
#endif
	snprintf(err, errlen, "unknown command \"%s\" (status, stats, block, "
		 "allow, cache list, cache flush, reload)", argv[0]);
	return -EINVAL;
}

/* ctrl_loop - until a stop signal */
static void ctrl_loop(struct il_ctrl *c)
{
	uint64_t next_stats, next_sweep, last_rx = 0, last_t;
	char err[1024];

	last_t = dp_now_ns(c->a);
	next_stats = last_t + (uint64_t)c->o.stats_interval * 1000000000u;
	next_sweep = last_t + IL_SWEEP_S * 1000000000ull;
	while (!atomic_load(&il_stop)) {
		uint64_t now;
		unsigned n = drain_events(c);

#ifdef SCR_HAVE_DNSBL
		dnsbl_poll(c);
#endif
		if (c->sock) {
			struct pollfd pf = { .fd = ctl_sock_fd(c->sock), .events = POLLIN };

			if (poll(&pf, 1, 0) > 0)
				(void)ctl_sock_serve(c->sock, sock_handler, c);
		}
		if (atomic_exchange(&il_hup, 0)) {
			if (do_reload(c, err, sizeof(err)) == 0)
				ctl_log_msg(c->log, "reload: configuration %s loaded",
					    c->o.conf ? c->o.conf : "(defaults)");
			else
				ctl_log_msg(c->log, "error: reload: %s; keeping the "
					    "running configuration", err);
		}
		reload_done(c);
		now = dp_now_ns(c->a);
		if (c->o.stats_interval && now >= next_stats) {
			struct dp_wstats ws;
			struct scr_stats es;
			uint64_t flows;

			sum_stats(c, &ws, &es, &flows);
			printf("interval t=%.3f rx=%" PRIu64 " rx_mpps=%.3f flows=%"
			       PRIu64 " flows_active=%" PRIu64 " held_now=%" PRIu64 "\n",
			       (double)(now - c->start_ns) / 1e9, ws.rx,
			       (double)(ws.rx - last_rx) * 1e3 / (double)(now - last_t),
			       es.flows, flows, ws.hold_now);
			fflush(stdout);
			last_rx = ws.rx;
			last_t = now;
			next_stats = now + (uint64_t)c->o.stats_interval * 1000000000u;
		}
#ifdef SCR_HAVE_METRICS
		if (c->mx && now >= c->mx_next) {
			mx_render(c);
			c->mx_next = now + 1000000000ull;
		}
#endif
		if (now >= next_sweep) {
			(void)ctl_cache_sweep(c->cache, now / 1000000000u);
#ifdef SCR_HAVE_BPF
			if (c->maps) {
				size_t removed = 0;

				(void)ctl_maps_sweep(c->maps, &removed);
			}
#endif
			next_sweep = now + IL_SWEEP_S * 1000000000ull;
		}
		if (n == 0)
			rte_delay_us_sleep(1000);
	}
}

/* stop_workers - workers drain; the control thread takes every event */
static void stop_workers(struct il_ctrl *c)
{
	unsigned i, done;

	atomic_store(&c->a->stop, 1);
	do {
		done = 0;
		drain_events(c);
		for (i = 0; i < c->a->nworkers; i++)
			done += atomic_load_explicit(&c->a->w[i]->done,
						     memory_order_acquire) != 0;
		if (done < c->a->nworkers)
			rte_delay_us_sleep(200);
	} while (done < c->a->nworkers);
	rte_eal_mp_wait_lcore();
	while (drain_events(c) > 0)
		;
}

/* open_outputs - log and verdict files */
static int open_outputs(struct il_ctrl *c, char *err, size_t errlen)
{
	if (c->o.log) {
		c->logf = fopen(c->o.log, "a");
		if (c->logf == NULL) {
			snprintf(err, errlen, "%s: %s", c->o.log, strerror(errno));
			return -errno;
		}
		/* Fully buffered: drain_events flushes after each batch. */
	}
	c->log = ctl_log_create(c->setup->conf, c->logf ? c->logf : NULL,
				c->setup->log_fmt);
	if (c->log == NULL) {
		snprintf(err, errlen, "log: %s", strerror(errno));
		return -ENOMEM;
	}
	if (c->o.verdicts) {
		c->verdf = fopen(c->o.verdicts, "w");
		if (c->verdf == NULL) {
			snprintf(err, errlen, "%s: %s", c->o.verdicts, strerror(errno));
			return -errno;
		}
		fputs(CTL_LOG_VERDICT_HEADER, c->verdf);
	}
	return 0;
}

/* app_time - TSC base for dp_now_ns */
static void app_time(struct dp_app *a)
{
	struct timespec ts;

	a->tsc_hz = rte_get_tsc_hz();
	clock_gettime(CLOCK_REALTIME, &ts);
	a->base_tsc = rte_rdtsc();
	a->base_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* dp_inline_main - `smtpscreen inline` */
int dp_inline_main(int argc, char **argv)
{
	static struct il_ctrl ctrl;
	struct il_ctrl *c = &ctrl;
	static struct dp_app app;
	struct dp_app *a = &app;
	char err[1024], *eal[128], mem[160];
	int dd, neal, rc, status = 1;
	unsigned i, k, nmbufs;
	bool eal_up = false, ports_up = false;
#ifdef SCR_HAVE_DNSBL
	struct ctl_dnsbl *nd = NULL;
#endif

	memset(c, 0, sizeof(*c));
	c->a = a;
	dd = parse_opts(argc, argv, &c->o);
	if (dd < 0)
		return usage();
	c->setup = calloc(1, sizeof(*c->setup));
	if (c->setup == NULL || ctl_setup_load(c->setup, c->o.conf, err,
					       sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n",
			c->setup ? err : "out of memory");
		free(c->setup);
		return 2;
	}
	{
		const char *ss = ctl_conf_get(c->setup->conf, "smtpscreen_shared_store");

		if (ss && ss[0]) {
			fprintf(stderr, "smtpscreen inline: %s: smtpscreen_shared_store "
				"= %s: the inline appliance has no shared store yet "
				"(host mode has); remove the parameter\n",
				ctl_conf_file(c->setup->conf), ss);
			goto config_fail;
		}
	}
	neal = argc - dd;
	if (neal > (int)(sizeof(eal) / sizeof(eal[0])) - 1) {
		fprintf(stderr, "smtpscreen inline: too many EAL arguments\n");
		goto config_fail;
	}
	eal[0] = (char *)"smtpscreen";
	for (i = 1; i < (unsigned)neal; i++)
		eal[i] = argv[dd + (int)i];
	eal[neal] = NULL;
#ifdef SCR_HAVE_BPF
	if (xdp_prepare(c, neal, eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: XDP program: %s\n", err);
		goto out;
	}
#endif
	rc = rte_eal_init(neal, eal);
	if (rc < 0) {
		fprintf(stderr, "smtpscreen inline: EAL: %s\n",
			rte_strerror(rte_errno));
		goto out;
	}
	eal_up = true;
	a->nworkers = rte_lcore_count() - 1;
	if (a->nworkers == 0) {
		fprintf(stderr, "smtpscreen inline: no worker lcore: give the EAL "
			"at least two (-l 0-1): the main lcore is the control "
			"thread\n");
		goto out;
	}
	if (c->o.workers) {
		if (c->o.workers > a->nworkers) {
			fprintf(stderr, "smtpscreen inline: --workers %u but only %u "
				"worker lcores\n", c->o.workers, a->nworkers);
			goto out;
		}
		a->nworkers = c->o.workers;
	}
	if (a->nworkers > DP_MAX_WORKERS)
		a->nworkers = DP_MAX_WORKERS;
	memcpy(a->ports, c->setup->pol.ports, sizeof(a->ports));
	a->nports = c->setup->pol.nports;
	{
		const char *v = ctl_conf_get(c->setup->conf, "smtpscreen_hold_packets");
		int b = 1;

		a->hold_pkts = v ? (uint32_t)strtoul(v, NULL, 10) : 8192;
		(void)ctl_conf_parse_bool(ctl_conf_get(c->setup->conf,
						       "smtpscreen_stop_reply"), &b);
		a->stop_reply = b != 0;
	}
	app_time(a);
	c->start_ns = dp_now_ns(a);
	nmbufs = c->o.mbufs ? c->o.mbufs :
		 DP_NPORTS * a->nworkers * (IL_RXD + IL_TXD + DP_TXBUF) +
		 a->nworkers * (a->hold_pkts + DP_REL_MAX +
				(a->nworkers > 1 ? IL_DISP_RING * (a->nworkers - 1) : 0)) +
		 4096;
	a->mp = rte_pktmbuf_pool_create("scr_mbufs", nmbufs, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (a->mp == NULL) {
		fprintf(stderr, "smtpscreen inline: %u mbufs: %s (give the EAL "
			"more memory, -m, or fewer --mbufs)\n", nmbufs,
			rte_strerror(rte_errno));
		goto out;
	}
#ifdef SCR_HAVE_DNSBL
	if (dnsbl_new(c, c->setup, &nd, err, sizeof(err)) != 0 ||
	    dnsbl_swap(c, nd, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
#endif
	c->cache = ctl_cache_create(IL_CACHE);
	if (c->cache == NULL || workers_create(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n",
			c->cache ? err : "verdict cache: out of memory");
		goto out;
	}
	ctl_setup_memory(mem, sizeof(mem), c->setup->pol.flow_table_size,
			 scr_engine_flow_bytes(a->w[0]->eng), a->nworkers);
	fprintf(stderr, "smtpscreen inline: %s\n", mem);
	if (ports_setup(a, neal, eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
	ports_up = true;
#ifdef SCR_HAVE_BPF
	if (c->xdp_obj[0] && a->port[0].af_xdp) {
		c->maps = ctl_inlinebpf_adopt(a->port[0].ifname,
					      c->o.pin_dir ? c->o.pin_dir :
					      SCR_XDP_PIN_DIR, err, sizeof(err));
		if (c->maps == NULL ||
		    ctl_xdp_fill(c->maps, c->setup->conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "smtpscreen inline: XDP on %s: %s\n",
				a->port[0].ifname, err);
			goto out;
		}
	}
#endif
	if (open_outputs(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
	ctl_log_msg(c->log, "%s; greeting hold %u packets × %u workers", mem,
		    a->hold_pkts, a->nworkers);
	if (c->logf)
		fflush(c->logf);
	if (ctl_sock_listen(c->o.sock ? c->o.sock : CTL_SOCK_PATH, 0600, &c->sock,
			    err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: control socket: %s\n", err);
		goto out;
	}
#ifdef SCR_HAVE_METRICS
	if (mx_start(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: metrics: %s\n", err);
		goto out;
	}
#endif
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	for (i = 0; i < a->nworkers; i++) {
		rc = rte_eal_remote_launch(dp_worker_main, a->w[i], a->w[i]->lcore);
		if (rc != 0) {
			fprintf(stderr, "smtpscreen inline: lcore %u: %s\n",
				a->w[i]->lcore, strerror(-rc));
			atomic_store(&il_stop, 1);
			a->nworkers = i;
			break;
		}
	}
	if (!atomic_load(&il_stop)) {
		fprintf(stderr, "smtpscreen: inline: ready: port 0 %s (clients) <-> "
			"port 1 %s (servers), %u workers, %s dispatch%s\n",
			a->port[0].name, a->port[1].name, a->nworkers,
			a->sw_dispatch ? "software" : (a->nworkers > 1 ? "rss" : "no"),
			c->maps ? ", XDP block list on port 0" : "");
		ctrl_loop(c);
	}
	stop_workers(c);
	printf("smtpscreen inline summary\n");
	print_stats(c, stdout);
	status = 0;
out:
#ifdef SCR_HAVE_METRICS
	if (c->mx)
		ctl_metrics_stop(c->mx);
#endif
	if (c->sock)
		ctl_sock_close(c->sock);
	if (c->verdf && fclose(c->verdf) != 0) {
		fprintf(stderr, "smtpscreen inline: %s: %s\n", c->o.verdicts,
			strerror(errno));
		status = 1;
	}
	if (c->log)
		ctl_log_destroy(c->log);
	if (c->logf)
		fclose(c->logf);
	if (ports_up) {
		for (i = 0; i < DP_NPORTS; i++) {
			(void)rte_eth_dev_stop(a->port[i].id);
			(void)rte_eth_dev_close(a->port[i].id);
		}
	}
#ifdef SCR_HAVE_BPF
	if (c->maps) {
		ctl_maps_destroy(c->maps);
		(void)ctl_inlinebpf_release(c->o.pin_dir ? c->o.pin_dir :
					    SCR_XDP_PIN_DIR);
	}
	if (c->xdp_obj[0])
		unlink(c->xdp_obj);
#endif
	for (i = 0; i < DP_MAX_WORKERS && a->w[i]; i++) {
		scr_engine_destroy(a->w[i]->eng);
		ctl_cache_destroy(a->w[i]->cache);
		dp_hold_destroy(a->w[i]->hold);
		rte_ring_free(a->w[i]->ev_ring);
		rte_ring_free(a->w[i]->msg_ring);
		for (k = 0; k < DP_MAX_WORKERS; k++)
			rte_ring_free(a->w[i]->out[k]);
		rte_free(a->w[i]);
	}
	rte_mempool_free(a->mp);
	ctl_cache_destroy(c->cache);
#ifdef SCR_HAVE_DNSBL
	ctl_dnsbl_destroy(c->dnsbl);	/* drops lookups in flight */
	free(c->dctx);
#endif
	if (eal_up)
		rte_eal_cleanup();
	if (c->old) {
		ctl_setup_fini(c->old);
		free(c->old);
	}
	free(c->xdp_vdev);
	ctl_setup_fini(c->setup);
	free(c->setup);
	return status;
config_fail:
	ctl_setup_fini(c->setup);
	free(c->setup);
	return 2;
}
