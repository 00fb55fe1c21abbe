/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dnsbl-bench - ctl_dnsbl lookups/s and time to a verdict
 * DESCRIPTION
 *	dnsbl-bench SERVER N WINDOW SITES...
 *	Runs, against the DNS server SERVER (IP:port, a loopback rbldnsd):
 *	  baseline: N x sites plain c-ares A queries (distinct addresses
 *	    under bl1.bench), WINDOW x sites in flight (the same number of
 *	    queries in flight as the ctl_dnsbl run);
 *	  ctl_dnsbl: N lookups of distinct addresses (so no cache hits),
 *	    every site queried per lookup, WINDOW lookups in flight;
 *	  latency: 200 lone lookups one after the other (median, p99).
 *	Prints one "name value" line per measurement. Addresses are
 *	198.18.0.0/15 + i; the zones decide which are listed.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_dnsbl.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct scr_addr addr_n(uint32_t i)
{
	struct scr_addr a;
	uint32_t v = (198u << 24 | 18u << 16) + (i & 0x1ffff);

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	a.b[12] = (uint8_t)(v >> 24);
	a.b[13] = (uint8_t)(v >> 16);
	a.b[14] = (uint8_t)(v >> 8);
	a.b[15] = (uint8_t)v;
	return a;
}

static unsigned outstanding, finished, listed, failed;

/* plain_cb - baseline answer */
static void plain_cb(void *arg, int status, int timeouts, unsigned char *b,
		     int len)
{
	(void)arg, (void)timeouts, (void)b, (void)len;
	outstanding--;
	finished++;
	listed += status == ARES_SUCCESS;
	failed += status != ARES_SUCCESS && status != ARES_ENOTFOUND;
}

/* lookup_cb - ctl_dnsbl answer */
static void lookup_cb(void *arg, const struct scr_addr *a,
		      const struct ctl_dnsbl_result *r)
{
	(void)arg, (void)a;
	outstanding--;
	finished++;
	listed += r->score > 0;
}

/* baseline - plain c-ares single A queries, same server, same window */
static double baseline(const char *server, const char *domain, unsigned n,
		       unsigned window)
{
	ares_channel ch;
	struct ares_options o = { .timeout = 5000, .tries = 1,
				  .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_STAYOPEN };
	uint64_t t0;
	unsigned sent = 0;
	char name[300];

	if (ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			      ARES_OPT_FLAGS) != ARES_SUCCESS ||
	    ares_set_servers_ports_csv(ch, server) != ARES_SUCCESS) {
		fprintf(stderr, "dnsbl-bench: c-ares setup failed\n");
		exit(1);
	}
	finished = listed = outstanding = failed = 0;
	t0 = mono_ns();
	while (finished < n) {
		ares_socket_t s[ARES_GETSOCK_MAXNUM];
		struct pollfd pf[ARES_GETSOCK_MAXNUM];
		int bits, k = 0;

		while (sent < n && outstanding < window) {
			struct scr_addr a = addr_n(sent++);

			ctl_dnsbl_query_name(&a, domain, name, sizeof(name));
			outstanding++;
			ares_query(ch, name, 1, 1, plain_cb, NULL);
		}
		bits = ares_getsock(ch, s, ARES_GETSOCK_MAXNUM);
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++)
			if (ARES_GETSOCK_READABLE(bits, i)) {
				pf[k].fd = s[i];
				pf[k].events = POLLIN;
				pf[k++].revents = 0;
			}
		(void)poll(pf, (nfds_t)k, 100);
		for (int i = 0; i < k; i++)
			if (pf[i].revents)
				ares_process_fd(ch, pf[i].fd, ARES_SOCKET_BAD);
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	ares_destroy(ch);
	return (double)n / ((double)(mono_ns() - t0) / 1e9);
}

/* pump - poll/process once */
static void pump(struct ctl_dnsbl *d)
{
	struct pollfd pf[16];
	int tmo, k = ctl_dnsbl_pollfds(d, pf, 16, &tmo);

	if (tmo < 0 || tmo > 100)
		tmo = 100;
	(void)poll(pf, (nfds_t)k, tmo);
	ctl_dnsbl_process(d, pf, k, mono_ns());
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char text[4096], err[512];
	struct ctl_conf *conf;
	struct ctl_dnsbl *d;
	struct ctl_dnsbl_stats st;
	unsigned n, window, sent = 0;
	uint64_t t0, lat[200];
	double base, rate;
	size_t o;

	if (argc < 5) {
		fprintf(stderr, "usage: dnsbl-bench SERVER N WINDOW SITE...\n");
		return 2;
	}
	n = (unsigned)atoi(argv[2]);
	window = (unsigned)atoi(argv[3]);
	o = (size_t)snprintf(text, sizeof(text), "postscreen_dnsbl_sites =");
	for (int i = 4; i < argc; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " %s", argv[i]);
	snprintf(text + o, sizeof(text) - o, "\npostscreen_dnsbl_timeout = 5s\n");
	if ((conf = ctl_conf_parse(text, strlen(text), "bench.cf", err,
				   sizeof(err))) == NULL ||
	    (d = ctl_dnsbl_create(conf, argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "dnsbl-bench: %s\n", err);
		return 1;
	}
	ctl_dnsbl_set_limits(d, window, 0);

	base = baseline(argv[1], strchr(argv[4], '=') || strchr(argv[4], '*') ?
			"bl1.bench" : argv[4], n * (unsigned)(argc - 4),
			window * (unsigned)(argc - 4));
	printf("baseline_queries_per_s %.0f\n", base);
	printf("baseline_listed %u failed %u of %u\n", listed, failed,
	       n * (unsigned)(argc - 4));

	/* throughput: distinct addresses, window in flight */
	finished = listed = outstanding = 0;
	t0 = mono_ns();
	while (finished < n) {
		while (sent < n && outstanding < window) {
			struct scr_addr a = addr_n(100000 + sent++);

			outstanding++;
			if (ctl_dnsbl_lookup(d, &a, mono_ns(), lookup_cb, NULL) != 0) {
				fprintf(stderr, "dnsbl-bench: lookup refused\n");
				return 1;
			}
		}
		pump(d);
	}
	rate = (double)n / ((double)(mono_ns() - t0) / 1e9);
	ctl_dnsbl_stats(d, &st);
	printf("dnsbl_lookups_per_s %.0f\n", rate);
	printf("dnsbl_queries_per_s %.0f\n", rate * st.nsites);
	printf("dnsbl_listed %u of %u\n", listed, n);
	printf("dnsbl_partial %llu cache_hits %llu\n",
	       (unsigned long long)st.partial, (unsigned long long)st.cache_hits);
	printf("ratio_query_rate_vs_baseline %.2f\n", rate * st.nsites / base);

	/* time to a verdict: one lookup alone, 200 times */
	for (unsigned i = 0; i < 200; i++) {
		struct scr_addr a = addr_n(50000 + i);
		uint64_t s = mono_ns();

		outstanding = 1;
		finished = 0;
		ctl_dnsbl_lookup(d, &a, s, lookup_cb, NULL);
		while (finished == 0)
			pump(d);
		lat[i] = mono_ns() - s;
	}
	qsort(lat, 200, sizeof(lat[0]), cmp_u64);
	printf("verdict_latency_median_us %.1f\n", (double)lat[100] / 1e3);
	printf("verdict_latency_p99_us %.1f\n", (double)lat[197] / 1e3);
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(conf);
	return 0;
}
