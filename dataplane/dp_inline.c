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
 *	(dp_worker.c) and runs the live control plane (ctl_live) on the
 *	main lcore: the workers' events go through its verdict policy (log,
 *	verdict CSV, cache, LMDB store, shared store, the XDP block map of
 *	an af_xdp port 0, messages to every worker, which enforce blocks
 *	themselves on other ports); it serves the control socket and
 *	metrics and reloads. This file supplies its packet side: the rings
 *	to and from the workers, their counters, the ports' status.
 *	SIGTERM/SIGINT: workers give back held frames, end their flows, the
 *	control thread takes the last events, prints the summary and
 *	releases ports, pins and files.
 * THREADING
 *	Main lcore: control thread. Signal handlers only set atomics.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
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

#include "ctl_conf.h"
#include "ctl_live.h"
#include "ctl_sock.h"
#include "ctl_msg.h"
#ifdef SCR_HAVE_METRICS
#include "ctl_metrics.h"
#endif
#include "dp_inline.h"
#ifdef SCR_HAVE_BPF
#include "ctl_inlinebpf.h"
#include "ctl_maps.h"
#endif

#define IL_RXD		1024
#define IL_TXD		1024
#define IL_RING		4096		/* message rings */
#define IL_DISP_RING	8192		/* dispatch rings */
#define IL_EV_RING	65536		/* events per worker */
#define IL_EV_BATCH	4096		/* events per worker per control loop */
#define IL_RUN_DIR	"/run/smtpscreen"

static atomic_int il_stop;

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

/* The front end's side of the control thread. */
struct il_ctrl {
	struct il_opts o;
	struct dp_app *a;
	struct ctl_setup *setup;	/* until ctl_live owns it */
	struct ctl_live *live;
	void *maps;			/* struct ctl_maps * (af_xdp port 0) */
	char xdp_obj[256];
	char *xdp_vdev;			/* port 0's devargs with xdp_prog= */
	uint64_t start_ns;
	uint64_t next_stats, last_rx, last_t;	/* --stats-interval */
	uint64_t clock_steps;		/* steps of the system clock followed */
};

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
	while ((c = getopt_long(dd, argv, "c:o:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->conf = optarg; break;
		case 'o':
			if (ctl_conf_override(optarg) != 0) {
				fprintf(stderr, "smtpscreen inline: -o \"%s\": need "
					"name=value\n", optarg);
				return -EINVAL;
			}
			break;
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
	if (o->conf == NULL)
		o->conf = ctl_conf_default_path();
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

/* stale_recover - a previous appliance killed with its pins and its XDP
 * program still on port 0 (the PMD would refuse to attach ours): if no
 * smtpscreen answers on our control socket, they are its leftovers,
 * removed here (ctl_inlinebpf_recover); -errno with err otherwise */
static int stale_recover(struct il_ctrl *c, int n, char **eal, char *err,
			 size_t errlen)
{
	const char *pin = c->o.pin_dir ? c->o.pin_dir : SCR_XDP_PIN_DIR;
	const char *sock = c->o.sock ? c->o.sock : CTL_SOCK_PATH;
	char ifname[64] = "", path[PATH_MAX], serr[256], *argv[2];
	int i = first_vdev(n, eal), rc;
	struct stat st;
	FILE *null;

	snprintf(path, sizeof(path), "%s/prog", pin);
	if (stat(path, &st) != 0)
		return 0;		/* nothing pinned */
	null = fopen("/dev/null", "w");
	argv[0] = (char *)"status";
	argv[1] = NULL;
	rc = null ? ctl_sock_request(sock, 1, argv, null, serr, sizeof(serr)) : -EIO;
	if (null)
		fclose(null);
	if (rc == 0 || rc == 1) {
		snprintf(err, errlen, "%s: another smtpscreen answers on %s and "
			 "owns the pins", pin, sock);
		return -EBUSY;
	}
	if (i >= 0 && strncmp(vdev_value(eal, i), "net_af_xdp", 10) == 0)
		devarg(vdev_value(eal, i), "iface", ifname, sizeof(ifname));
	rc = ctl_inlinebpf_recover(ifname[0] ? ifname : NULL, pin, err, errlen);
	if (rc < 0)
		return rc;
	if (rc == 1)
		fprintf(stderr, "smtpscreen inline: warning: a previous run did not "
			"stop (killed?): its XDP program%s%s and its pins under "
			"%s removed\n", ifname[0] ? " detached from " : "",
			ifname, pin);
	return 0;
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
	struct scr_engine_hooks hk = {0};
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
		w->lcore = lcs[i % nlc];
		ctl_live_worker_init(&w->lw, NULL, ctl_cache_create(
				     c->setup->pol.flow_table_size < CTL_LIVE_CACHE_MIN ?
				     CTL_LIVE_CACHE_MIN : c->setup->pol.flow_table_size),
				     c->setup);
		w->hold = dp_hold_create(a->hold_pkts, a->hold_pkts);
		w->envhold = dp_hold_create(a->hold_pkts, a->hold_pkts);
		w->ev_ring = rte_ring_create_elem(ring_name(rn, sizeof(rn), "ev", i, 0),
						  sizeof(struct scr_event), IL_EV_RING,
						  rte_socket_id(),
						  RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->msg_ring = rte_ring_create_elem(ring_name(rn, sizeof(rn), "msg", i, 0),
						   sizeof(struct ctl_live_msg), IL_RING,
						   rte_socket_id(),
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->lw.cache == NULL || w->hold == NULL || w->envhold == NULL ||
		    w->ev_ring == NULL ||
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
		w->lw.eng = scr_engine_create(&c->setup->pol, c->setup->db, &hk);
		if (w->lw.eng == NULL)
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

/* ---- the control plane's callbacks (ctl_live_ops) ---- */

/* op_send - a message to worker w */
static int op_send(void *arg, unsigned w, const struct ctl_live_msg *m)
{
	struct il_ctrl *c = arg;

	return rte_ring_sp_enqueue_elem(c->a->w[w]->msg_ring, (void *)m,
					sizeof(*m)) == 0 ? 0 : -ENOBUFS;
}

/* op_drain - take what the workers sent, at most IL_EV_BATCH of each per
 * call (the loop's other duties must not starve); the count */
static unsigned op_drain(void *arg)
{
	static struct scr_event ev[64];
	struct il_ctrl *c = arg;
	unsigned i, k, n, got, total = 0;

	for (i = 0; i < c->a->nworkers; i++) {
		got = 0;
		do {
			n = rte_ring_sc_dequeue_burst_elem(c->a->w[i]->ev_ring, ev,
							   sizeof(ev[0]), 64, NULL);
			for (k = 0; k < n; k++)
				ctl_live_event(c->live, &ev[k], i);
			got += n;
		} while (n == 64 && got < IL_EV_BATCH);
		/* left events behind: the workers' stress pressure */
		atomic_store_explicit(&c->a->w[i]->ctl_behind, got >= IL_EV_BATCH,
				      memory_order_relaxed);
		total += got;
	}
	return total;
}

/* op_engine - the workers' engine counters, summed */
static void op_engine(void *arg, struct scr_stats *es, uint64_t *flows)
{
	struct dp_wstats ws;

	sum_stats(arg, &ws, es, flows);
}

/* op_counters - the appliance's own counters */
static unsigned op_counters(void *arg, struct ctl_live_ctr *c, unsigned max)
{
	static char names[DP_NPORTS * 6 + DP_MAX_WORKERS * 4][48];
	struct il_ctrl *ic = arg;
	struct dp_wstats ws;
	struct scr_stats es;
	uint64_t flows;
	unsigned n = 0, p, i, nn = 0;

	sum_stats(ic, &ws, &es, &flows);
#define PUT(nm, hp, v, g) do { if (n < max) { c[n].name = (nm); \
	c[n].help = (hp); c[n].value = (v); c[n].gauge = (g); \
	c[n].stats_only = false; n++; } } while (0)
#define PUTS(hp, v, ...) do { snprintf(names[nn], sizeof(names[nn]), __VA_ARGS__); \
	if (n < max) { c[n].name = names[nn]; c[n].help = (hp); c[n].value = (v); \
	c[n].gauge = false; c[n].stats_only = true; n++; } nn++; } while (0)
	PUT("workers", "Worker lcores", ic->a->nworkers, true);
	PUT("forwarded", "Frames forwarded", ws.fwd, false);
	PUT("tx_drop", "Frames a port refused", ws.tx_drop, false);
	PUT("dispatch_full", "Dispatch ring full: receiving paused", ws.disp_full, false);
	PUT("dropped", "Frames of stopped sessions dropped", ws.dropped, false);
	PUT("stopped", "Sessions stopped (RSTs sent)", ws.stopped, false);
	PUT("crafted", "RST and reply frames sent", ws.crafted, false);
	PUT("craft_err", "RST and reply frames that could not be made", ws.craft_err, false);
	PUT("nombuf", "No mbuf for a crafted frame", ws.nombuf, false);
	PUT("held", "Server frames held for greeting holds", ws.held, false);
	PUT("held_now", "Server frames held now", ws.hold_now, true);
	PUT("hold_dup", "Retransmissions of held bytes, freed", ws.hold_dup, false);
	PUT("hold_forced", "Holds cut short by the packet budget", ws.hold_forced, false);
	PUT("released", "Held frames given back and forwarded", ws.released, false);
	PUT("hold_freed", "Held frames of stopped or ended sessions", ws.hold_freed, false);
	PUT("envelope_waits", "Client frames kept for an envelope answer", ws.env_waits, false);
	PUT("envelope_released", "... forwarded after it", ws.env_released, false);
	PUT("envelope_wait_stopped", "... dropped: the session was stopped for it",
	    ws.env_stopped, false);
	PUT("envelope_wait_timeouts", "Envelope waits past their bound: forwarded",
	    ws.env_timeouts, false);
	PUT("events_lost", "Events lost to a full worker ring", ws.ev_lost, false);
	PUT("clock_steps", "Steps of the system clock followed (timeouts kept "
	    "their course)", ic->clock_steps, false);
	{
		uint64_t tm = 0;

		for (i = 0; i < ic->a->nworkers; i++) {
			struct dp_wstats w;

			worker_read(ic->a->w[i], &w, NULL, NULL);
			if (w.turn_max_ns > tm)
				tm = w.turn_max_ns;
		}
		PUT("turn_max_us", "Longest loop turn of any worker, last 10-20 s",
		    tm / 1000, true);
	}
	for (p = 0; p < DP_NPORTS; p++) {
		struct rte_eth_stats st;

		if (rte_eth_stats_get(ic->a->port[p].id, &st) != 0)
			continue;
		PUTS("Frames received", st.ipackets, "port%u_rx_packets", p);
		PUTS("Frames sent", st.opackets, "port%u_tx_packets", p);
		PUTS("Frames the port missed", st.imissed, "port%u_rx_missed", p);
		PUTS("Receive errors", st.ierrors, "port%u_rx_errors", p);
		PUTS("Transmit errors", st.oerrors, "port%u_tx_errors", p);
		PUTS("No mbuf to receive", st.rx_nombuf, "port%u_rx_nombuf", p);
	}
	for (i = 0; i < ic->a->nworkers; i++) {
		struct dp_wstats w;

		worker_read(ic->a->w[i], &w, NULL, NULL);
		PUTS("Frames received", w.rx, "worker%u_rx", i);
		PUTS("Frames from other workers", w.disp_in, "worker%u_dispatched_in", i);
		PUTS("Frames to other workers", w.disp_out, "worker%u_dispatched_out", i);
		PUTS("Frames held", w.hold_now, "worker%u_held_now", i);
	}
#undef PUT
#undef PUTS
	return n;
}

#ifdef SCR_HAVE_METRICS
/* op_metrics - the labelled families of ports and workers */
static void op_metrics(void *arg, FILE *f)
{
	struct il_ctrl *c = arg;
	char lb[96];
	unsigned p, i;

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
}
#endif

/* op_status - the appliance's part of `status` */
static void op_status(void *arg, FILE *out)
{
	struct il_ctrl *c = arg;

	fprintf(out, ", %u workers, port 0 %s (clients) <-> port 1 %s "
		"(servers), dispatch %s, XDP %s", c->a->nworkers,
		c->a->port[0].name, c->a->port[1].name,
		c->a->sw_dispatch ? "software" : "rss", c->maps ? "yes" : "no");
}

/* clock_check - the system clock stepped (NTP, date -s): from now on the
 * workers' engines (between their turns), log lines and cache expiries
 * follow the wall clock; the engines' own clocks and the holds go on
 * without a jump */
static void clock_check(struct il_ctrl *c)
{
	int64_t d = (int64_t)(ctl_live_now_ns() - dp_now_ns(c->a));

	if (d > -SCR_CLOCK_STEP_MIN_NS && d < SCR_CLOCK_STEP_MIN_NS)
		return;
	__atomic_fetch_add(&c->a->step_ns, d, __ATOMIC_RELAXED);
	c->clock_steps++;
	ctl_msg_warn("the system clock stepped by %+.3f s; timeouts keep "
		     "their course, log times and cache expiries follow the "
		     "new time", (double)d / 1e9);
}

/* op_tick - the clock check; --stats-interval lines on stdout */
static int op_tick(void *arg)
{
	struct il_ctrl *c = arg;
	uint64_t now, flows;
	struct dp_wstats ws;
	struct scr_stats es;

	clock_check(c);
	now = dp_now_ns(c->a);

	/* no wish: without a wake fd the loop turns every millisecond */
	if (c->o.stats_interval == 0 || now < c->next_stats)
		return -1;
	sum_stats(c, &ws, &es, &flows);
	printf("interval t=%.3f rx=%" PRIu64 " rx_mpps=%.3f flows=%" PRIu64
	       " flows_active=%" PRIu64 " held_now=%" PRIu64 "\n",
	       (double)(now - c->start_ns) / 1e9, ws.rx,
	       (double)(ws.rx - c->last_rx) * 1e3 / (double)(now - c->last_t),
	       es.flows, flows, ws.hold_now);
	fflush(stdout);
	c->last_rx = ws.rx;
	c->last_t = now;
	c->next_stats = now + (uint64_t)c->o.stats_interval * 1000000000u;
	return -1;
}
/* stop_workers - workers drain; the control thread takes every event */
static void stop_workers(struct il_ctrl *c)
{
	unsigned i, done;

	atomic_store(&c->a->stop, 1);
	do {
		done = 0;
		(void)op_drain(c);
		for (i = 0; i < c->a->nworkers; i++)
			done += atomic_load_explicit(&c->a->w[i]->done,
						     memory_order_acquire) != 0;
		if (done < c->a->nworkers)
			rte_delay_us_sleep(200);
	} while (done < c->a->nworkers);
	rte_eal_mp_wait_lcore();
	while (op_drain(c) > 0)
		;
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
	struct ctl_live_worker *wl[DP_MAX_WORKERS];
	struct ctl_live_opts lo;
	struct ctl_live_ops ops;
	char err[1024], *eal[128], mem[160];
	int dd, neal, rc, status = 1;
	unsigned i, k, nmbufs;
	bool eal_up = false, ports_up = false;

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
	neal = argc - dd;
	if (neal > (int)(sizeof(eal) / sizeof(eal[0])) - 1) {
		fprintf(stderr, "smtpscreen inline: too many EAL arguments\n");
		status = 2;
		goto out;
	}
	eal[0] = (char *)"smtpscreen";
	for (i = 1; i < (unsigned)neal; i++)
		eal[i] = argv[dd + (int)i];
	eal[neal] = NULL;
#ifdef SCR_HAVE_BPF
	if (stale_recover(c, neal, eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
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
	c->start_ns = c->last_t = dp_now_ns(a);
	c->next_stats = c->start_ns + (uint64_t)c->o.stats_interval * 1000000000u;
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
	if (workers_create(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
	ctl_setup_memory(mem, sizeof(mem), c->setup->pol.flow_table_size,
			 scr_engine_flow_bytes(a->w[0]->lw.eng), a->nworkers);
	fprintf(stderr, "smtpscreen inline: %s\n", mem);
	if (ports_setup(a, neal, eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
	ports_up = true;

	/* The control plane: logs, verdict CSV, the LMDB store (loaded into
	 * the workers' caches below), shared store, DNSBL, socket, metrics. */
	memset(&lo, 0, sizeof(lo));
	lo.mode = "inline";
	lo.conf_path = c->o.conf;
	lo.sock_path = c->o.sock;
	lo.log_path = c->o.log;
	lo.verdicts_path = c->o.verdicts;
	lo.store = true;
	c->live = ctl_live_create(&lo, c->setup, &status, err, sizeof(err));
	if (c->live == NULL) {
		fprintf(stderr, "smtpscreen inline: %s\n", err);
		goto out;
	}
	c->setup = NULL;	/* the control plane's now */
	status = 1;
#ifdef SCR_HAVE_BPF
	/* Blocks from the store are in the XDP map before a frame goes. */
	if (c->xdp_obj[0] && a->port[0].af_xdp) {
		c->maps = ctl_inlinebpf_adopt(a->port[0].ifname,
					      c->o.pin_dir ? c->o.pin_dir :
					      SCR_XDP_PIN_DIR, err, sizeof(err));
		if (c->maps == NULL) {
			fprintf(stderr, "smtpscreen inline: XDP on %s: %s\n",
				a->port[0].ifname, err);
			goto out;
		}
		ctl_live_set_maps(c->live, c->maps);
		if (ctl_live_load_maps(c->live, err, sizeof(err)) != 0) {
			fprintf(stderr, "smtpscreen inline: XDP on %s: %s\n",
				a->port[0].ifname, err);
			goto out;
		}
	}
#endif
	for (i = 0; i < a->nworkers; i++)
		wl[i] = &a->w[i]->lw;
	memset(&ops, 0, sizeof(ops));
	ops.arg = c;
	ops.send = op_send;
	ops.drain = op_drain;
	ops.engine = op_engine;
	ops.counters = op_counters;
	ops.status = op_status;
	ops.tick = op_tick;
#ifdef SCR_HAVE_METRICS
	ops.metrics = op_metrics;
#endif
	ops.wake_fd = -1;
	if (ctl_live_workers(c->live, wl, a->nworkers, &ops) != 0) {
		fprintf(stderr, "smtpscreen inline: %u workers: too many\n",
			a->nworkers);
		goto out;
	}
	ctl_msg_info("%s; greeting hold %u packets × %u workers", mem,
		     a->hold_pkts, a->nworkers);
	ctl_live_signals(c->live, &il_stop);
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
		ctl_live_run(c->live, &il_stop);
	}
	stop_workers(c);
	printf("smtpscreen inline summary\n");
	ctl_live_summary(c->live, stdout);
	status = 0;
out:
	if (c->live && ctl_live_close_outputs(c->live) != 0)
		status = 1;	/* the verdict CSV could not be written whole */
	ctl_live_destroy(c->live);
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
		scr_engine_destroy(a->w[i]->lw.eng);
		ctl_cache_destroy(a->w[i]->lw.cache);
		dp_hold_destroy(a->w[i]->hold);
		dp_hold_destroy(a->w[i]->envhold);
		rte_ring_free(a->w[i]->ev_ring);
		rte_ring_free(a->w[i]->msg_ring);
		for (k = 0; k < DP_MAX_WORKERS; k++)
			rte_ring_free(a->w[i]->out[k]);
		rte_free(a->w[i]);
	}
	rte_mempool_free(a->mp);
	if (eal_up)
		rte_eal_cleanup();
	free(c->xdp_vdev);
	if (c->setup) {
		ctl_setup_fini(c->setup);
		free(c->setup);
	}
	return status;
}
