/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_replay - `smtpscreen replay`: the engine over pcap files
 * DESCRIPTION
 *	Loads every packet of the given pcap files into memory (so --loop
 *	replays from memory and the timing excludes file I/O), splits them
 *	over --threads workers by a symmetric hash of the address pair (both
 *	directions and every connection between the same two hosts reach the
 *	same worker, so each worker's verdict cache sees all of a client's
 *	sessions with one server), runs one engine per worker, and prints the
 *	summary. Verdict rows and log lines are kept per worker and merged.
 *	The hashes (flow table, caches, the split) are keyed with a random
 *	key per run; --hash-key HEX32 fixes it, so the split over workers
 *	(and with it the order of verdict rows) is the same on every run.
 *	A truncated or corrupt pcap stops the reading of that file with a
 *	message naming the packet number; what was read is still replayed.
 * THREADING
 *	Main thread loads and reports; each worker thread owns its engine,
 *	cache, log stream and verdict list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_cache.h"
#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_log.h"
#include "ctl_setup.h"
#include "dp_replay.h"
#include "ctl_msg.h"
#include "scr_engine.h"
#include "scr_hash.h"

#define MAX_THREADS 64
#define CACHE_MIN 65536

struct rp_pkt {
	uint64_t off;		/* into the data arena */
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t wirelen;
	uint8_t link;
};

struct rp_input {
	struct rp_pkt *pkt;
	size_t npkt, pkt_cap;
	uint8_t *data;
	size_t data_len, data_cap;
	int errors;		/* files that ended in an error */
};

struct rp_vrow {
	struct scr_flow_key key;
	uint8_t verdict;
	uint8_t reasons;
};

struct rp_worker {
	pthread_t tid;
	unsigned id;
	struct rp_opts *o;
	struct scr_engine *eng;
	struct ctl_cache *cache;
	struct ctl_log *log;
	FILE *logf;		/* memstream */
	char *logbuf;
	size_t loglen;
	uint32_t *idx;		/* packet indices (threads > 1) */
	size_t nidx;
	struct rp_vrow *rows;
	size_t nrows, rows_cap;
	bool record;		/* first loop: keep verdicts and log lines */
	bool oom;
	struct scr_stats st;
	size_t flow_bytes;
	uint32_t flow_cap;
};

struct rp_opts {
	const char *conf_path;
	const char *verdicts;
	const char *labels;
	const char *log;
	unsigned threads;
	unsigned loops;
	struct ctl_setup s;	/* conf, policy, patterns, access list */
	struct rp_input in;
};

/* die_oom - allocation failure at load time is fatal */
static void die_oom(void)
{
	fprintf(stderr, "smtpscreen replay: out of memory\n");
	exit(2);
}

/* link_of - our link type for a pcap DLT; -1 if unsupported */
static int link_of(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return SCR_LINK_ETH;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
	case 101:	/* LINKTYPE_RAW as written by some tools */
		return SCR_LINK_RAW;
	case DLT_LINUX_SLL:
		return SCR_LINK_SLL;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return SCR_LINK_SLL2;
#endif
	case DLT_NULL:
		return SCR_LINK_NULL;
	default:
		return -1;
	}
}

/* load_file - append every packet of one pcap file; 0, or -1 on error
 * after which the packets read so far are kept */
static int load_file(struct rp_input *in, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	pcap_t *pc;
	int link, r, tsmul;

	pc = pcap_open_offline_with_tstamp_precision(path,
		PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, errbuf);
		return -1;
	}
	link = link_of(pcap_datalink(pc));
	if (link < 0) {
		fprintf(stderr, "smtpscreen replay: %s: link type %s (%d) is not "
			"supported (Ethernet, raw IP, Linux cooked, BSD loopback)\n",
			path, pcap_datalink_val_to_name(pcap_datalink(pc)) ?
			pcap_datalink_val_to_name(pcap_datalink(pc)) : "?",
			pcap_datalink(pc));
		pcap_close(pc);
		return -1;
	}
	tsmul = pcap_get_tstamp_precision(pc) == PCAP_TSTAMP_PRECISION_NANO ?
		1 : 1000;
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		struct rp_pkt *p;

		n++;
		if (in->npkt == in->pkt_cap) {
			in->pkt_cap = in->pkt_cap ? in->pkt_cap * 2 : 65536;
			in->pkt = realloc(in->pkt, in->pkt_cap * sizeof(*in->pkt));
			if (in->pkt == NULL)
				die_oom();
		}
		if (in->data_len + h->caplen > in->data_cap) {
			in->data_cap = in->data_cap ? in->data_cap * 2 : (1u << 24);
			while (in->data_len + h->caplen > in->data_cap)
				in->data_cap *= 2;
			in->data = realloc(in->data, in->data_cap);
			if (in->data == NULL)
				die_oom();
		}
		p = &in->pkt[in->npkt++];
		p->off = in->data_len;
		p->caplen = h->caplen;
		p->wirelen = h->len;
		p->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
			   (uint64_t)h->ts.tv_usec * (uint64_t)tsmul;
		p->link = (uint8_t)link;
		memcpy(in->data + in->data_len, data, h->caplen);
		in->data_len += h->caplen;
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "smtpscreen replay: %s: packet %" PRIu64
			": %s; replaying the %" PRIu64 " packets before it\n",
			path, n + 1, pcap_geterr(pc), n);
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}

/* hook_client - access list, then the worker's cache */
static void hook_client(void *arg, const struct scr_flow_key *key,
			uint64_t now_ns, struct scr_client_info *out)
{
	struct rp_worker *w = arg;

	ctl_setup_client(&w->o->s, w->cache, &key->client, now_ns / 1000000000u,
			 out);
}

/* hook_event - log, record the verdict, update the cache */
static void hook_event(void *arg, const struct scr_event *ev)
{
	struct rp_worker *w = arg;
	const struct scr_policy *pol = &w->o->s.pol;

	if (w->record && w->log != NULL)
		ctl_log_event(w->log, ev);
	if (ev->type != SCR_EV_VERDICT)
		return;
	ctl_cache_verdict(w->cache, ev, pol);
	if (!w->record)
		return;
	if (w->nrows == w->rows_cap) {
		size_t cap = w->rows_cap ? w->rows_cap * 2 : 4096;
		struct rp_vrow *r = realloc(w->rows, cap * sizeof(*r));

		if (r == NULL) {
			w->oom = true;
			return;
		}
		w->rows = r;
		w->rows_cap = cap;
	}
	w->rows[w->nrows].key = ev->key;
	w->rows[w->nrows].verdict = (uint8_t)ev->verdict;
	w->rows[w->nrows].reasons = ev->reasons;
	w->nrows++;
}

/* run_pass - one pass over the worker's packets */
static void run_pass(struct rp_worker *w)
{
	const struct rp_input *in = &w->o->in;
	struct scr_frame fr[SCR_BURST];
	size_t n = w->o->threads > 1 ? w->nidx : in->npkt, i = 0;
	uint64_t last_ts = 0;

	while (i < n) {
		unsigned m = 0;

		while (m < SCR_BURST && i < n) {
			size_t k = w->o->threads > 1 ? w->idx[i] : i;
			const struct rp_pkt *p = &in->pkt[k];

			fr[m].data = in->data + p->off;
			fr[m].caplen = p->caplen;
			fr[m].wirelen = p->wirelen;
			fr[m].ts_ns = p->ts_ns;
			fr[m].pkt_no = k + 1;
			fr[m].link = p->link;
			fr[m].flags = 0;
			if (p->ts_ns > last_ts)
				last_ts = p->ts_ns;
			m++;
			i++;
		}
		scr_engine_burst(w->eng, fr, m);
	}
	scr_engine_flush(w->eng, last_ts);
}

/* worker_main - all loops of one worker */
static void *worker_main(void *arg)
{
	struct rp_worker *w = arg;
	unsigned l;

	for (l = 0; l < w->o->loops; l++) {
		w->record = l == 0;
		if (l > 0) {
			scr_engine_reset(w->eng);
			ctl_cache_clear(w->cache);
		}
		run_pass(w);
	}
	if (w->logf != NULL)
		fflush(w->logf);
	return NULL;
}

/* sym_hash - worker of a frame: symmetric in the two addresses (the
 * ordered pair under the process key: --hash-key fixes the split) */
static unsigned sym_hash(const struct rp_pkt *p, const uint8_t *data,
			 unsigned n)
{
	struct scr_pkt pk;

	if (scr_decode((enum scr_link)p->link, data + p->off, p->caplen, &pk) !=
	    SCR_DEC_TCP)
		return 0;
	return (unsigned)(scr_hash_addr_pair(&pk.src, &pk.dst) % n);
}

/* split - give every packet to its worker */
static int split(struct rp_opts *o, struct rp_worker *w)
{
	size_t i;
	unsigned t;

	for (t = 0; t < o->threads; t++) {
		w[t].idx = malloc((o->in.npkt ? o->in.npkt : 1) * sizeof(uint32_t));
		if (w[t].idx == NULL)
			return -ENOMEM;
	}
	if (o->in.npkt > UINT32_MAX)
		return -E2BIG;
	for (i = 0; i < o->in.npkt; i++) {
		t = sym_hash(&o->in.pkt[i], o->in.data, o->threads);
		w[t].idx[w[t].nidx++] = (uint32_t)i;
	}
	return 0;
}

/* write_verdicts - the verdict CSV, rows of every worker */
static int write_verdicts(const char *path, struct rp_worker *w, unsigned nw)
{
	FILE *f = fopen(path, "w");
	unsigned t;
	size_t i;

	if (f == NULL) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs(CTL_LOG_VERDICT_HEADER, f);
	for (t = 0; t < nw; t++) {
		for (i = 0; i < w[t].nrows; i++) {
			const struct rp_vrow *r = &w[t].rows[i];

			ctl_log_verdict_row(f, &r->key, (enum scr_verdict)r->verdict,
					    r->reasons);
		}
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* log_month - month index of a syslog time prefix, for merging */
static long log_key(const char *line)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d = 0, hh = 0, mm = 0, ss = 0;
	const char *m;
	char name[4] = {0};

	if (sscanf(line, "%3s %d %d:%d:%d", name, &d, &hh, &mm, &ss) != 5)
		return 0;
	m = strstr(mon, name);
	return (m ? (m - mon) / 3 : 0) * 100000000L + d * 1000000L +
	       hh * 10000L + mm * 100L + ss;
}

/* write_log - the log lines of every worker, merged by time */
static int write_log(const char *path, struct rp_worker *w, unsigned nw)
{
	FILE *f = fopen(path, "w");
	char *pos[MAX_THREADS];
	unsigned t;

	if (f == NULL) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (t = 0; t < nw; t++)
		pos[t] = w[t].logbuf && w[t].loglen ? w[t].logbuf : NULL;
	for (;;) {
		unsigned best = nw;
		long bk = 0;
		char *nl;

		for (t = 0; t < nw; t++) {
			long k;

			if (pos[t] == NULL)
				continue;
			k = log_key(pos[t]);
			if (best == nw || k < bk) {
				best = t;
				bk = k;
			}
		}
		if (best == nw)
			break;
		nl = strchr(pos[best], '\n');
		if (nl == NULL) {
			fputs(pos[best], f);
			fputc('\n', f);
			pos[best] = NULL;
			continue;
		}
		fwrite(pos[best], 1, (size_t)(nl - pos[best]) + 1, f);
		pos[best] = nl[1] ? nl + 1 : NULL;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* label classes, in the labels contract's order */
enum rp_class { C_GOOD, C_PREGREET, C_BARE_NEWLINE, C_PIPELINING, C_NON_SMTP,
		C_HELO, C_BLOCKLISTED, C_MAX };
static const char *const class_name[C_MAX] = {
	"good", "pregreet", "bare_newline", "pipelining", "non_smtp_command",
	"helo", "blocklisted",
};
static const int class_test[C_MAX] = {
	-1, SCR_TEST_PREGREET, SCR_TEST_BARE_NEWLINE, SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP, SCR_TEST_HELO, -1,
};

struct lab_slot {
	struct scr_flow_key key;
	int8_t cls;		/* -1 empty */
	int8_t seen;		/* verdict: -1 none, else correct 0/1 */
};

/* parse_addr - text address to scr_addr; family out */
static int parse_addr(const char *s, struct scr_addr *a, uint8_t *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b + 12) == 1) {
		a->b[10] = a->b[11] = 0xff;
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

/* parse_port - decimal port, no junk */
static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* lab_find - slot of key in the open-addressing label table */
static struct lab_slot *lab_find(struct lab_slot *tab, size_t mask,
				 const struct scr_flow_key *k)
{
	size_t i = scr_engine_key_hash(k) & mask;

	while (tab[i].cls >= 0 &&
	       memcmp(&tab[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & mask;
	return &tab[i];
}

/* check_labels - per-class accuracy; returns -1 on a bad labels file */
static int check_labels(const char *path, struct rp_worker *w, unsigned nw)
{
	size_t n = 0, cap = 1024, mask, i, lineno = 0;
	struct lab_slot *tab;
	unsigned long total[C_MAX] = {0}, correct[C_MAX] = {0}, missing[C_MAX] = {0};
	char line[512];
	FILE *f = fopen(path, "r");
	unsigned t;
	int ret = 0;

	if (f == NULL) {
		fprintf(stderr, "smtpscreen replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Size the table from the file's line count. */
	while (fgets(line, sizeof(line), f))
		n++;
	while (cap < 2 * n + 2)
		cap <<= 1;
	mask = cap - 1;
	tab = malloc(cap * sizeof(*tab));
	if (tab == NULL)
		die_oom();
	for (i = 0; i < cap; i++)
		tab[i].cls = -1;
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		char *fld[6], *s = line;
		struct scr_flow_key k;
		struct lab_slot *sl;
		uint8_t fam1, fam2;
		int nf = 0, c;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1 && strncmp(line, "client,", 7) == 0)
			continue;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		while (nf < 6 && (fld[nf] = strsep(&s, ",")) != NULL)
			nf++;
		memset(&k, 0, sizeof(k));
		for (c = 0; nf == 5 && c < C_MAX; c++)
			if (strcmp(fld[4], class_name[c]) == 0)
				break;
		if (nf != 5 || c == C_MAX ||
		    parse_addr(fld[0], &k.client, &fam1) ||
		    parse_port(fld[1], &k.client_port) ||
		    parse_addr(fld[2], &k.server, &fam2) ||
		    parse_port(fld[3], &k.server_port) || fam1 != fam2) {
			fprintf(stderr, "smtpscreen replay: %s:%zu: bad labels row "
				"(want client,client_port,server,server_port,class "
				"with class one of good, pregreet, bare_newline, "
				"pipelining, non_smtp_command, helo, blocklisted)\n",
				path, lineno);
			ret = -1;
			continue;
		}
		k.family = fam1;
		sl = lab_find(tab, mask, &k);
		sl->key = k;
		sl->cls = (int8_t)c;
		sl->seen = -1;
	}
	fclose(f);
	for (t = 0; t < nw; t++) {
		for (i = 0; i < w[t].nrows; i++) {
			const struct rp_vrow *r = &w[t].rows[i];
			struct lab_slot *sl = lab_find(tab, mask, &r->key);
			int ok;

			if (sl->cls < 0)
				continue;
			if (sl->cls == C_GOOD)
				ok = r->verdict == SCR_V_PASS;
			else if (sl->cls == C_BLOCKLISTED)
				ok = r->verdict == SCR_V_BLOCKLISTED;
			else
				ok = r->verdict == SCR_V_FAIL &&
				     (r->reasons & SCR_TEST_BIT(class_test[sl->cls]));
			sl->seen = (int8_t)ok;
		}
	}
	for (i = 0; i < cap; i++) {
		if (tab[i].cls < 0)
			continue;
		total[tab[i].cls]++;
		if (tab[i].seen > 0)
			correct[tab[i].cls]++;
		else if (tab[i].seen < 0)
			missing[tab[i].cls]++;
	}
	for (t = 0; t < C_MAX; t++) {
		if (total[t] == 0)
			continue;
		printf("accuracy class=%s flows=%lu correct=%lu pct=%.2f missing=%lu\n",
		       class_name[t], total[t], correct[t],
		       100.0 * (double)correct[t] / (double)total[t], missing[t]);
	}
	free(tab);
	return ret;
}

/* usage - replay's options */
static int usage(void)
{
	fprintf(stderr,
		"usage: smtpscreen replay [-c main.cf] [--verdicts out.csv] "
		"[--labels labels.csv]\n"
		"                         [--log out.log] [--threads N] [--loop N]\n"
		"                         [--hash-key HEX32] FILE.pcap...\n");
	return 2;
}

/* parse_count - a positive count option with a range */
static int parse_count(const char *opt, const char *s, unsigned max,
		       unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "smtpscreen replay: %s: bad value \"%s\" (1..%u)\n",
			opt, s, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* setup - config, policy, scanner, access list */
static int setup(struct rp_opts *o)
{
	char err[512];

	if (ctl_setup_load(&o->s, o->conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpscreen replay: %s\n", err);
		return -1;
	}
	/* a capture may show a copy of a segment the server never got: a
	 * failure waits for the server's ACK of its bytes (the live modes
	 * judge the very copy the server gets) */
	o->s.pol.ack_confirm = true;
	return 0;
}

/* worker_init - engine, cache and log stream of one worker */
static int worker_init(struct rp_opts *o, struct rp_worker *w, unsigned id)
{
	struct scr_engine_hooks hooks = {
		.arg = w, .client = hook_client, .event = hook_event,
	};
	uint32_t cache_cap = o->s.pol.flow_table_size < CACHE_MIN ?
			     CACHE_MIN : o->s.pol.flow_table_size;

	w->id = id;
	w->o = o;
	w->eng = scr_engine_create(&o->s.pol, o->s.db, &hooks);
	if (w->eng == NULL) {
		fprintf(stderr, "smtpscreen replay: worker %u: engine: %s\n", id,
			strerror(errno));
		return -1;
	}
	w->cache = ctl_cache_create(cache_cap);
	if (w->cache == NULL) {
		fprintf(stderr, "smtpscreen replay: worker %u: cache: %s\n", id,
			strerror(errno));
		return -1;
	}
	if (o->log) {
		w->logf = open_memstream(&w->logbuf, &w->loglen);
		if (w->logf == NULL)
			return -1;
		w->log = ctl_log_create(o->s.conf, w->logf, o->s.log_fmt);
		if (w->log == NULL)
			return -1;
	}
	w->flow_bytes = scr_engine_flow_bytes(w->eng);
	w->flow_cap = o->s.pol.flow_table_size;
	return 0;
}

/* print_summary - the key=value summary lines */
static void print_summary(struct rp_opts *o, struct rp_worker *w, double secs)
{
	struct scr_stats s = {0};
	uint64_t malformed = 0, frames_per_loop;
	unsigned t, k;
	double pps;

	for (t = 0; t < o->threads; t++) {
		const struct scr_stats *x = &w[t].st;
		const uint64_t *a = (const uint64_t *)(const void *)x;
		uint64_t *b = (uint64_t *)(void *)&s;

		for (k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
			b[k] += a[k];
	}
	for (k = SCR_DEC_TRUNC_L2; k < SCR_DEC_MAX; k++)
		malformed += s.dec[k];
	frames_per_loop = s.frames / o->loops;
	pps = secs > 0 ? (double)s.frames / secs : 0;
	printf("packets total=%" PRIu64 " decoded=%" PRIu64 " smtp=%" PRIu64
	       " other=%" PRIu64 " malformed=%" PRIu64 " fragments=%" PRIu64 "\n",
	       frames_per_loop, s.dec[SCR_DEC_TCP] / o->loops,
	       s.smtp_pkts / o->loops,
	       (s.frames - s.smtp_pkts) / o->loops, malformed / o->loops,
	       s.dec[SCR_DEC_FRAGMENT] / o->loops);
	printf("decode");
	for (k = 0; k < SCR_DEC_MAX; k++)
		printf(" %s=%" PRIu64, scr_dec_status_name[k], s.dec[k] / o->loops);
	printf("\n");
	printf("flows total=%" PRIu64 " pass=%" PRIu64 " fail=%" PRIu64
	       " allowlisted=%" PRIu64 " blocklisted=%" PRIu64 " unknown=%" PRIu64
	       "\n", s.flows / o->loops, s.verdict[SCR_V_PASS] / o->loops,
	       s.verdict[SCR_V_FAIL] / o->loops,
	       s.verdict[SCR_V_ALLOWLISTED] / o->loops,
	       s.verdict[SCR_V_BLOCKLISTED] / o->loops,
	       s.verdict[SCR_V_UNKNOWN] / o->loops);
	printf("tests");
	for (t = 0; t < SCR_TEST_MAX; t++)
		printf(" %s=%" PRIu64, scr_test_name[t], s.failed[t] / o->loops);
	printf("\n");
	printf("engine stopped=%" PRIu64 " gaps=%" PRIu64 " reordered=%" PRIu64
	       " retransmitted_bytes=%" PRIu64 " no_flow=%" PRIu64
	       " scan_pool_empty=%" PRIu64 " no_server=%" PRIu64
	       " undecided=%" PRIu64 " contradicted=%" PRIu64 "\n",
	       s.stopped / o->loops, s.gaps / o->loops,
	       s.reorder_stashed / o->loops, s.dup_bytes / o->loops,
	       s.no_flow / o->loops, s.scan_pool_empty / o->loops,
	       s.no_server / o->loops, s.undecided / o->loops,
	       s.contradicted / o->loops);
	printf("load evicted_half_open=%" PRIu64 " evicted_closing=%" PRIu64
	       " evicted_failed=%" PRIu64 " evicted_passed=%" PRIu64
	       " overload=%" PRIu64 " client_limit=%" PRIu64
	       " command_time=%" PRIu64 " stress_entered=%" PRIu64 "\n",
	       s.evicted[SCR_EVICT_HALF_OPEN] / o->loops,
	       s.evicted[SCR_EVICT_CLOSING] / o->loops,
	       s.evicted[SCR_EVICT_FAILED] / o->loops,
	       s.evicted[SCR_EVICT_PASSED] / o->loops, s.overload / o->loops,
	       s.client_limit / o->loops, s.command_time / o->loops,
	       s.stress_enter / o->loops);
	printf("rate seconds=%.6f pps=%.0f mpps=%.3f gbps=%.3f threads=%u loops=%u\n",
	       secs, pps, pps / 1e6,
	       secs > 0 ? (double)s.bytes * 8 / secs / 1e9 : 0.0,
	       o->threads, o->loops);
	printf("memory flows=%u flow_bytes=%zu total_mib=%.1f\n",
	       w[0].flow_cap * o->threads, w[0].flow_bytes,
	       (double)w[0].flow_bytes * w[0].flow_cap * o->threads / 1048576.0);
}

/* dp_replay_main - `smtpscreen replay` */
int dp_replay_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"verdicts", required_argument, NULL, 'V'},
		{"labels", required_argument, NULL, 'L'},
		{"log", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 't'},
		{"loop", required_argument, NULL, 'n'},
		{"hash-key", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct rp_opts o = {.threads = 1, .loops = 1};
	struct rp_worker *w = NULL;
	struct timespec t0, t1;
	uint8_t key[16];
	bool fixed_key = false;
	int c, status = 0;
	unsigned t;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.conf_path = optarg; break;
		case 'V': o.verdicts = optarg; break;
		case 'L': o.labels = optarg; break;
		case 'l': o.log = optarg; break;
		case 't':
			if (parse_count("--threads", optarg, MAX_THREADS, &o.threads))
				return 2;
			break;
		case 'n':
			if (parse_count("--loop", optarg, 1000000, &o.loops))
				return 2;
			break;
		case 'K':
			if (scr_hash_key_parse(optarg, key) != 0) {
				fprintf(stderr, "smtpscreen replay: --hash-key: bad "
					"value \"%s\" (32 hex digits)\n", optarg);
				return 2;
			}
			fixed_key = true;
			break;
		case 'h': usage(); return 0;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	/* before any table exists: every hash of this run uses it */
	if (fixed_key)
		scr_hash_set_key(key);
	{
		char hex[33];

		scr_hash_get_key(key);
		for (t = 0; t < 16; t++)
			snprintf(hex + 2 * t, 3, "%02x", key[t]);
		ctl_msg_debug("hash key %s (%s)", hex,
			      fixed_key ? "--hash-key" : "random");
	}
	if (setup(&o) != 0)
		return 2;
	for (c = optind; c < argc; c++)
		if (load_file(&o.in, argv[c]) != 0)
			o.in.errors++;
	w = calloc(o.threads, sizeof(*w));
	if (w == NULL)
		die_oom();
	for (t = 0; t < o.threads; t++)
		if (worker_init(&o, &w[t], t) != 0)
			return 2;
	{
		char mem[160];

		ctl_setup_memory(mem, sizeof(mem), w[0].flow_cap,
				 w[0].flow_bytes, o.threads);
		fprintf(stderr, "smtpscreen replay: %s\n", mem);
	}
	if (o.threads > 1 && split(&o, w) != 0) {
		fprintf(stderr, "smtpscreen replay: cannot split %zu packets\n",
			o.in.npkt);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (o.threads == 1) {
		worker_main(&w[0]);
	} else {
		for (t = 0; t < o.threads; t++)
			if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]) != 0) {
				fprintf(stderr, "smtpscreen replay: cannot start "
					"worker %u\n", t);
				return 2;
			}
		for (t = 0; t < o.threads; t++)
			pthread_join(w[t].tid, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (t = 0; t < o.threads; t++) {
		scr_engine_stats(w[t].eng, &w[t].st);
		if (w[t].oom) {
			fprintf(stderr, "smtpscreen replay: worker %u: out of memory "
				"for verdict rows: the verdict list is incomplete\n", t);
			status = 1;
		}
	}
	print_summary(&o, w, (double)(t1.tv_sec - t0.tv_sec) +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (o.verdicts && write_verdicts(o.verdicts, w, o.threads) != 0)
		status = 1;
	if (o.log && write_log(o.log, w, o.threads) != 0)
		status = 1;
	if (o.labels && check_labels(o.labels, w, o.threads) != 0)
		status = 1;
	if (o.in.errors)
		status = 1;
	for (t = 0; t < o.threads; t++) {
		scr_engine_destroy(w[t].eng);
		ctl_cache_destroy(w[t].cache);
		ctl_log_destroy(w[t].log);
		if (w[t].logf)
			fclose(w[t].logf);
		free(w[t].logbuf);
		free(w[t].idx);
		free(w[t].rows);
	}
	free(w);
	ctl_setup_fini(&o.s);
	free(o.in.pkt);
	free(o.in.data);
	return status;
}
