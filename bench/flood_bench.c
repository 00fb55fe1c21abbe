/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	flood-bench - good-session verdict rate and latency under a SYN flood
 * DESCRIPTION
 *	flood-bench [--capacity C] [--good G] [--good-rate R] [--steps 0,50,200]
 *	            [--rounds N] [--attack-window S] [--seed N]
 *	One engine (one core, frames from memory, like a worker), policy from
 *	a main.cf text (pregreet, pipelining, bare newline, non-SMTP and HELO
 *	tests on; smtpscreen_flow_table_size = C). For each step P (percent of
 *	C) a stream is built in memory before anything is timed: attack SYNs
 *	arrive at a constant A / W per second from the start to the end, A =
 *	P/100 x C, W = --attack-window, by default the SYN timeout in effect
 *	(its stress value when A >= 90 % of C), so that by Little's law the
 *	half-open attack flows offered to the table stay at A (at 200 % the
 *	table is full and every attack SYN evicts one);
 *	  warm-up  the first W seconds: attack only (A SYNs), to reach that
 *	           steady state;
 *	  measured G good sessions (SYN .. 354 .. QUIT, FIN), Poisson
 *	           arrivals at R per second, RTT 5-22 ms (50-190 ms each),
 *	           interleaved with the attack.
 *	Good clients: 198.18.0.0/16, 198.19.0.0/17 (every fifth session
 *	2001:db8:1::/48); attack sources: distinct addresses of
 *	2001:db8:f000::/36, random ports and ISNs; servers 198.19.255.10-41
 *	and 2001:db8:ffff::10-2f port 25.
 *	The steps run alternately in --rounds rounds (order rotated each
 *	round) on the same engine (scr_engine_reset between runs, as replay
 *	--loop does); figures are medians over the rounds, and ratios are
 *	against the 0 % step of the same run. A first, untimed run of each
 *	step finds the frame that yields each good session's verdict; in the
 *	timed runs that frame is given to the engine alone (a burst of 1, in
 *	every step alike), so its processing time is measured on its own.
 *	Exit status 1 (and "FAIL" printed) when a good session did not pass.
 * THREADING
 *	One thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ctl_conf.h"
#include "scr_engine.h"
#include "scr_scan.h"

#define MAX_STEPS 8
#define MAX_ROUNDS 32
#define GOOD_FRAMES 19		/* frames per good session */
#define GOOD_SLOT 4096		/* arena bytes reserved per good session */
#define ATTACK_SLOT 96		/* arena bytes per attack SYN */
#define GOOD_V4_MAX 98304u	/* 198.18.0.0/16 + 198.19.0.0/17 */
#define NO_SESS UINT32_MAX

/* a good session's frame before merging: where it is and whose it is */
struct gframe {
	uint64_t ts_ns;
	const uint8_t *data;
	uint32_t len;
	uint32_t sess;
	uint8_t syn;		/* the session's first frame */
};

/* a position in a step's stream that belongs to good session sess */
struct mark {
	uint32_t idx;
	uint32_t sess;
};

struct step {
	unsigned pct;
	uint64_t attack;		/* attack SYNs in the stream */
	uint64_t attack_warm;		/* of which in the warm-up */
	uint64_t warm_ns;		/* the warm-up: W */
	double attack_rate;		/* per second during the measured phase */
	struct scr_frame *fr;
	uint32_t n;
	uint32_t first_good;		/* stream index of the first good SYN */
	struct mark *syn;		/* good SYNs, in stream order */
	uint32_t *syn_idx;		/* stream index of each session's SYN */
	struct mark *iso;		/* verdict frames, in stream order */
	uint32_t niso;
};

/* what one timed run measured */
struct run {
	double wall_s, meas_s;		/* whole stream, from the first good SYN */
	double cpu_s;			/* thread CPU time of the whole stream */
	double mpps_cpu, good_rate_cpu;	/* per second of CPU time */
	double b_cpu_med, b_cpu_p99;	/* b as frames in between x CPU ns/frame */
	long nivcsw;			/* involuntary context switches */
	uint32_t stress_on, stress_off;	/* SCR_EV_STRESS events */
	double mpps, good_rate, good_rate_meas;
	double a_med, a_p99, b_med, b_p99;	/* ns */
	uint32_t passed, verdicts, a_missed;
	uint64_t evicted[SCR_EVICT_MAX], overload, stress_enter, client_limit;
	uint64_t command_time, unknown, flows;
	double used_mean;
	uint32_t used_max;
	long rss_kb, hwm_kb;
};

struct bench {
	struct scr_engine *e;
	uint32_t good;
	/* per good session, reset per run */
	uint64_t *t_syn, *t_v;
	uint32_t *v_burst;
	uint64_t *v_pkt;
	uint8_t *verdict;
	uint32_t burst_seq;
	uint32_t stress_on, stress_off;
	int mode;		/* enum run_mode */
};

/* what a pass over a stream is for */
enum run_mode {
	RUN_CALIBRATE = 0,	/* untimed: find each good verdict's frame */
	RUN_RATE,		/* bursts of SCR_BURST: rates, latency b */
	RUN_ISO,		/* verdict frames alone: latency a */
};

static uint64_t rng_state;

/* rnd - splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* rnd01 - uniform in [0, 1) */
static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* mono_ns - monotonic clock */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* cpu_ns - this thread's CPU time */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* nivcsw - involuntary context switches of this thread so far */
static long nivcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ru.ru_nivcsw;
}

/* xmalloc - allocate or exit (setup only) */
static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "flood-bench: out of memory (%zu bytes)\n", n);
		exit(2);
	}
	return p;
}

/* ---- frames ---- */

/* endpoint - an address and its family for the frame builder */
struct endpoint {
	int v6;
	uint8_t a[16];		/* v4 in a[0..3] */
};

/* csum_add - ones' complement sum of bytes */
static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* csum_fold - final 16-bit checksum */
static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* build_frame - Ethernet + IPv4/IPv6 + TCP with correct checksums; a SYN
 * carries MSS, SACK-permitted, timestamps and window scale; returns the
 * frame length */
static uint32_t build_frame(uint8_t *b, const struct endpoint *src,
			    const struct endpoint *dst, uint16_t sport,
			    uint16_t dport, uint32_t seq, uint32_t ack,
			    uint8_t flags, const void *pl, uint32_t plen)
{
	static const uint8_t synopt[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10,
		0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
	uint32_t l3 = 14, l4, optlen = (flags & 0x02) ? 20 : 0;
	uint32_t tcplen = 20 + optlen + plen, s = 0;
	uint8_t *t;
	uint16_t c;

	memset(b, 0, 14);
	b[0] = 0x02; b[5] = 0x01; b[6] = 0x02; b[11] = 0x02;
	b[12] = src->v6 ? 0x86 : 0x08;
	b[13] = src->v6 ? 0xdd : 0x00;
	if (!src->v6) {
		uint32_t tot = 20 + tcplen;

		memset(b + l3, 0, 20);
		b[l3] = 0x45;
		b[l3 + 2] = (uint8_t)(tot >> 8); b[l3 + 3] = (uint8_t)tot;
		b[l3 + 6] = 0x40;	/* DF */
		b[l3 + 8] = 64;
		b[l3 + 9] = 6;
		memcpy(b + l3 + 12, src->a, 4);
		memcpy(b + l3 + 16, dst->a, 4);
		c = csum_fold(csum_add(0, b + l3, 20));
		b[l3 + 10] = (uint8_t)(c >> 8); b[l3 + 11] = (uint8_t)c;
		l4 = l3 + 20;
		s = csum_add(0, src->a, 4);
		s = csum_add(s, dst->a, 4);
	} else {
		memset(b + l3, 0, 40);
		b[l3] = 0x60;
		b[l3 + 4] = (uint8_t)(tcplen >> 8); b[l3 + 5] = (uint8_t)tcplen;
		b[l3 + 6] = 6;
		b[l3 + 7] = 64;
		memcpy(b + l3 + 8, src->a, 16);
		memcpy(b + l3 + 24, dst->a, 16);
		l4 = l3 + 40;
		s = csum_add(0, src->a, 16);
		s = csum_add(s, dst->a, 16);
	}
	s += 6 + tcplen;
	t = b + l4;
	memset(t, 0, 20);
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24); t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8); t[11] = (uint8_t)ack;
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	t[14] = 0xfa; t[15] = 0xf0;	/* window 64240 */
	memcpy(t + 20, synopt, optlen);
	if (plen)
		memcpy(t + 20 + optlen, pl, plen);
	c = csum_fold(csum_add(s, t, tcplen));
	t[16] = (uint8_t)(c >> 8); t[17] = (uint8_t)c;
	return l4 + tcplen;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* good_client - session i's address: 198.18.0.0 + i (v4) or
 * 2001:db8:1::i (v6; every fifth session and all past GOOD_V4_MAX) */
static void good_client(uint32_t i, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->v6 = i % 5 == 4 || i >= GOOD_V4_MAX;
	if (!ep->v6) {
		uint32_t v = (198u << 24 | 18u << 16) + i;

		ep->a[0] = (uint8_t)(v >> 24); ep->a[1] = (uint8_t)(v >> 16);
		ep->a[2] = (uint8_t)(v >> 8); ep->a[3] = (uint8_t)v;
	} else {
		static const uint8_t p[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};

		memcpy(ep->a, p, 6);
		ep->a[12] = (uint8_t)(i >> 24); ep->a[13] = (uint8_t)(i >> 16);
		ep->a[14] = (uint8_t)(i >> 8); ep->a[15] = (uint8_t)i;
	}
}

/* good_index - the good session of a client address, or NO_SESS */
static uint32_t good_index(const struct scr_addr *a, uint32_t good)
{
	static const uint8_t p6[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};
	uint32_t i;

	if (a->b[10] == 0xff && a->b[11] == 0xff) {
		i = ((uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 |
		     (uint32_t)a->b[14] << 8 | a->b[15]) - (198u << 24 | 18u << 16);
	} else if (memcmp(a->b, p6, 6) == 0) {
		i = (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 |
		    (uint32_t)a->b[14] << 8 | a->b[15];
	} else {
		return NO_SESS;
	}
	return i < good ? i : NO_SESS;
}

/* server_of - one of the 32 MX servers of the family */
static void server_of(int v6, uint32_t i, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->v6 = v6;
	if (!v6) {
		ep->a[0] = 198; ep->a[1] = 19; ep->a[2] = 255;
		ep->a[3] = (uint8_t)(10 + i % 32);
	} else {
		static const uint8_t p[6] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};

		memcpy(ep->a, p, 6);
		ep->a[15] = (uint8_t)(0x10 + i % 32);
	}
}

/* build_good - session i starting at t0: its GOOD_FRAMES frames into
 * arena (at most GOOD_SLOT bytes) and out[] */
static void build_good(uint32_t i, uint64_t t0, uint8_t *arena,
		       struct gframe *out)
{
	struct endpoint c, s;
	char pl[1024];
	uint32_t cs = (uint32_t)rnd(), ss = (uint32_t)rnd(), n = 0, off = 0;
	uint16_t cp = (uint16_t)(1024 + rnd() % 64000);
	/* RTT log-uniform 5..22 ms; the capture point is at the server */
	uint64_t rtt = (uint64_t)(5e6 * exp(rnd01() * log(22.0 / 5.0)));
	uint64_t t = t0;
	int len;

	good_client(i, &c);
	server_of(c.v6, i, &s);
#define EMIT(cli, fl, str, plen_, dt) do {					\
		t += (dt);							\
		out[n].ts_ns = t;						\
		out[n].data = arena + off;					\
		out[n].sess = i;						\
		out[n].syn = n == 0;						\
		out[n].len = (cli) ?						\
			build_frame(arena + off, &c, &s, cp, 25, cs,		\
				    ((fl) & F_ACK) ? ss : 0, (fl), (str), (plen_)) : \
			build_frame(arena + off, &s, &c, 25, cp, ss, cs,	\
				    (fl), (str), (plen_));			\
		off += (out[n].len + 63) & ~63u;				\
		if (cli)							\
			cs += (plen_) + (((fl) & (F_SYN | F_FIN)) ? 1 : 0);	\
		else								\
			ss += (plen_) + (((fl) & (F_SYN | F_FIN)) ? 1 : 0);	\
		n++;								\
	} while (0)
#define TXT(cli, str, dt) EMIT(cli, F_PSH | F_ACK, str, (uint32_t)strlen(str), dt)

	EMIT(1, F_SYN, NULL, 0, 0);
	EMIT(0, F_SYN | F_ACK, NULL, 0, 50000);
	EMIT(1, F_ACK, NULL, 0, rtt);
	TXT(0, "220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n", 500000);
	snprintf(pl, sizeof(pl), "EHLO mail%u.example.org\r\n", i);
	TXT(1, pl, rtt);
	TXT(0, "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	    "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n", 200000);
	snprintf(pl, sizeof(pl), "MAIL FROM:<sender%u@example.org> SIZE=612\r\n", i);
	TXT(1, pl, rtt);
	TXT(0, "250 2.1.0 Ok\r\n", 300000);
	snprintf(pl, sizeof(pl), "RCPT TO:<user%u@example.test>\r\n", i % 977);
	TXT(1, pl, rtt);
	TXT(0, "250 2.1.5 Ok\r\n", 3000000);
	TXT(1, "DATA\r\n", rtt);
	TXT(0, "354 End data with <CR><LF>.<CR><LF>\r\n", 200000);
	len = snprintf(pl, sizeof(pl),
		       "From: <sender%u@example.org>\r\nTo: <user%u@example.test>\r\n"
		       "Subject: report %u\r\nMessage-ID: <%u.%llx@example.org>\r\n"
		       "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n"
		       "Hello,\r\n\r\nthe figures for this week are attached below.\r\n"
		       "Line two of the message body, nothing special in it.\r\n"
		       "Line three, to make the body a few hundred bytes long.\r\n"
		       "Regards,\r\nthe sender\r\n.\r\n", i, i % 977, i, i,
		       (unsigned long long)rnd());
	EMIT(1, F_PSH | F_ACK, pl, (uint32_t)len, rtt);
	TXT(0, "250 2.0.0 Ok: queued as 4AbCdE1234\r\n", 5000000);
	TXT(1, "QUIT\r\n", rtt);
	TXT(0, "221 2.0.0 Bye\r\n", 200000);
	EMIT(0, F_FIN | F_ACK, NULL, 0, 50000);
	EMIT(1, F_FIN | F_ACK, NULL, 0, rtt);
	EMIT(0, F_ACK, NULL, 0, 50000);
#undef TXT
#undef EMIT
	if (n != GOOD_FRAMES || off > GOOD_SLOT) {
		fprintf(stderr, "flood-bench: session layout (%u frames, %u bytes)\n",
			n, off);
		exit(2);
	}
}

/* build_attack - spoofed SYN number i from 2001:db8:f000::/36 */
static uint32_t build_attack(uint64_t i, uint8_t *b)
{
	static const uint8_t p[6] = {0x20, 0x01, 0x0d, 0xb8, 0xf0, 0x00};
	struct endpoint c, s;
	uint64_t r = rnd();

	memset(&c, 0, sizeof(c));
	c.v6 = 1;
	memcpy(c.a, p, 6);
	c.a[8] = (uint8_t)(i >> 56); c.a[9] = (uint8_t)(i >> 48);
	c.a[10] = (uint8_t)(i >> 40); c.a[11] = (uint8_t)(i >> 32);
	c.a[12] = (uint8_t)(i >> 24); c.a[13] = (uint8_t)(i >> 16);
	c.a[14] = (uint8_t)(i >> 8); c.a[15] = (uint8_t)i;
	server_of(1, (uint32_t)(r >> 40), &s);
	return build_frame(b, &c, &s, (uint16_t)(1024 + (r & 0xffff) % 64000), 25,
			   (uint32_t)(r >> 16), 0, F_SYN, NULL, 0);
}

/* gframe_cmp - by time, then by position */
static int gframe_cmp(const void *a, const void *b)
{
	const struct gframe *x = a, *y = b;

	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return x->data < y->data ? -1 : x->data > y->data;
}

/* ---- engine hooks ---- */

/* on_client - every client is new: all enabled tests (an empty cache) */
static void on_client(void *arg, const struct scr_flow_key *k, uint64_t now,
		      struct scr_client_info *out)
{
	(void)arg, (void)k, (void)now;
	memset(out, 0, sizeof(*out));
	out->cls = SCR_CLIENT_NEW;
	out->todo = 0xff;
}

/* on_event - a good session's verdict: when, in which burst, which */
static void on_event(void *arg, const struct scr_event *ev)
{
	struct bench *b = arg;
	uint32_t s;

	if (ev->type == SCR_EV_STRESS) {
		if (ev->stress)
			b->stress_on++;
		else
			b->stress_off++;
		return;
	}
	if (ev->type != SCR_EV_VERDICT)
		return;
	s = good_index(&ev->key.client, b->good);
	if (s == NO_SESS || b->verdict[s] != 0xff)
		return;
	b->verdict[s] = (uint8_t)ev->verdict;
	b->v_burst[s] = b->burst_seq;
	b->v_pkt[s] = ev->pkt_no;
	if (b->mode == RUN_RATE)
		b->t_v[s] = mono_ns();
}

/* ---- runs ---- */

/* proc_mem - VmRSS and VmHWM of this process, kB */
static void proc_mem(long *rss, long *hwm)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	*rss = *hwm = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* u64_cmp - for qsort */
static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* dbl_cmp - for qsort */
static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* pct_of - the p-th percentile of n sorted values */
static double pct_of(const uint64_t *v, uint32_t n, double p)
{
	uint32_t k;

	if (n == 0)
		return 0;
	k = (uint32_t)(p / 100.0 * (n - 1) + 0.5);
	return (double)v[k];
}

/* run_step - one pass of a step's stream through the engine (see enum
 * run_mode); the table is flushed and reset afterwards */
static void run_step(struct bench *b, struct step *st, enum run_mode mode,
		     struct run *out, uint64_t *scratch_a, uint64_t *scratch_b)
{
	struct scr_stats s0, s1;
	uint32_t i = 0, is = 0, ii = 0, k, na = 0, nb = 0;
	uint64_t t_start, t_first = 0, t_end, used_sum = 0, used_n = 0;
	uint64_t c_start, c_end;
	long sw_start;
	uint64_t *t_iso = scratch_a;	/* engine ns of the verdict frame */

	memset(b->verdict, 0xff, b->good);
	memset(t_iso, 0xff, (size_t)b->good * sizeof(*t_iso));
	memset(b->t_v, 0, (size_t)b->good * sizeof(*b->t_v));
	b->mode = mode;
	b->stress_on = b->stress_off = 0;
	b->burst_seq = 0;
	memset(out, 0, sizeof(*out));
	for (k = 0; k < st->n; k++)
		st->fr[k].action = 0;
	scr_engine_stats(b->e, &s0);

	sw_start = nivcsw();
	c_start = cpu_ns();
	t_start = mono_ns();
	while (i < st->n) {
		uint32_t end = st->n - i < SCR_BURST ? st->n : i + SCR_BURST;
		int iso = 0;
		uint64_t t0 = 0;

		if (mode == RUN_ISO && ii < st->niso && st->iso[ii].idx < end) {
			if (st->iso[ii].idx == i) {
				end = i + 1;
				iso = 1;
			} else {
				end = st->iso[ii].idx;
			}
		}
		b->burst_seq++;
		if (iso || (is < b->good && st->syn[is].idx < end))
			t0 = mono_ns();
		while (is < b->good && st->syn[is].idx < end) {
			if (t_first == 0)
				t_first = t0;
			b->t_syn[st->syn[is].sess] = t0;
			is++;
		}
		scr_engine_burst(b->e, st->fr + i, end - i);
		if (iso) {
			uint64_t t1 = mono_ns();
			uint32_t s = st->iso[ii].sess;

			if (b->verdict[s] != 0xff && b->v_burst[s] == b->burst_seq)
				t_iso[s] = t1 - t0;
			else
				t_iso[s] = UINT64_MAX;
			ii++;
		}
		if ((b->burst_seq & 15) == 0 && i >= st->first_good) {
			uint32_t u = scr_engine_flows_active(b->e);

			used_sum += u;
			used_n++;
			if (u > out->used_max)
				out->used_max = u;
		}
		i = end;
	}
	t_end = mono_ns();
	c_end = cpu_ns();
	out->nivcsw = nivcsw() - sw_start;
	out->stress_on = b->stress_on;
	out->stress_off = b->stress_off;
	scr_engine_flush(b->e, st->fr[st->n - 1].ts_ns + 1);
	scr_engine_stats(b->e, &s1);
	scr_engine_reset(b->e);

	out->wall_s = (double)(t_end - t_start) / 1e9;
	out->meas_s = (double)(t_end - t_first) / 1e9;
	out->mpps = st->n / out->wall_s / 1e6;
	out->cpu_s = (double)(c_end - c_start) / 1e9;
	out->mpps_cpu = st->n / out->cpu_s / 1e6;
	for (k = 0; k < SCR_EVICT_MAX; k++)
		out->evicted[k] = s1.evicted[k] - s0.evicted[k];
	out->overload = s1.overload - s0.overload;
	out->stress_enter = s1.stress_enter - s0.stress_enter;
	out->client_limit = s1.client_limit - s0.client_limit;
	out->command_time = s1.command_time - s0.command_time;
	out->unknown = s1.verdict[SCR_V_UNKNOWN] - s0.verdict[SCR_V_UNKNOWN];
	out->flows = s1.flows - s0.flows;
	out->used_mean = used_n ? (double)used_sum / (double)used_n : 0;
	for (k = 0; k < b->good; k++) {
		if (b->verdict[k] == 0xff)
			continue;
		out->verdicts++;
		if (b->verdict[k] == SCR_V_PASS)
			out->passed++;
		if (mode == RUN_ISO) {
			if (t_iso[k] != UINT64_MAX && st->niso == b->good)
				scratch_a[na++] = t_iso[k];
			else
				out->a_missed++;
		} else if (mode == RUN_RATE) {
			scratch_b[nb++] = b->t_v[k] - b->t_syn[k];
			/* frames from the SYN to the verdict frame, the latter
			 * in scratch_a (unused in this mode) */
			scratch_a[na++] = b->v_pkt[k] - 1 - st->syn_idx[k];
		}
	}
	out->good_rate = out->verdicts / out->wall_s;
	out->good_rate_cpu = out->verdicts / out->cpu_s;
	out->good_rate_meas = out->verdicts / out->meas_s;
	qsort(scratch_a, na, sizeof(*scratch_a), u64_cmp);
	qsort(scratch_b, nb, sizeof(*scratch_b), u64_cmp);
	if (mode == RUN_RATE) {
		double per = (double)(c_end - c_start) / st->n;

		out->b_cpu_med = pct_of(scratch_a, na, 50) * per;
		out->b_cpu_p99 = pct_of(scratch_a, na, 99) * per;
	} else {
		out->a_med = pct_of(scratch_a, na, 50);
		out->a_p99 = pct_of(scratch_a, na, 99);
	}
	out->b_med = pct_of(scratch_b, nb, 50);
	out->b_p99 = pct_of(scratch_b, nb, 99);
	proc_mem(&out->rss_kb, &out->hwm_kb);
}

/* calibrate_step - which frame of the stream gives each good verdict */
static int calibrate_step(struct bench *b, struct step *st, uint64_t *sa,
			  uint64_t *sb)
{
	struct run r;
	uint32_t k, n = 0;

	run_step(b, st, RUN_CALIBRATE, &r, sa, sb);
	st->iso = xmalloc((size_t)b->good * sizeof(*st->iso));
	for (k = 0; k < b->good; k++) {
		if (b->verdict[k] == 0xff || b->v_pkt[k] == 0)
			continue;
		st->iso[n].idx = (uint32_t)(b->v_pkt[k] - 1);
		st->iso[n].sess = k;
		n++;
	}
	/* sessions are numbered in start order; verdicts may come in
	 * another order: sort by stream position */
	for (k = 1; k < n; k++) {
		struct mark m = st->iso[k];
		uint32_t j = k;

		while (j > 0 && st->iso[j - 1].idx > m.idx) {
			st->iso[j] = st->iso[j - 1];
			j--;
		}
		st->iso[j] = m;
	}
	st->niso = n;
	return r.passed == b->good ? 0 : -1;
}

/* ---- stream ---- */

/* build_step - the stream of a step: attack SYNs at a constant rate from
 * 0, good sessions (times in gf relative to their start) from warm_ns */
static void build_step(struct step *st, const struct gframe *gf, uint32_t ng,
		       uint32_t good, const uint8_t *attack_data)
{
	uint64_t a = 0, g = 0, k, nsyn = 0;

	st->n = (uint32_t)(ng + st->attack);
	st->fr = xmalloc((size_t)st->n * sizeof(*st->fr));
	st->syn = xmalloc((size_t)good * sizeof(*st->syn));
	st->syn_idx = xmalloc((size_t)good * sizeof(*st->syn_idx));
	st->first_good = UINT32_MAX;
	for (k = 0; k < st->n; k++) {
		struct scr_frame *f = &st->fr[k];
		uint64_t ats = UINT64_MAX;

		if (a < st->attack)
			ats = (uint64_t)((double)a / st->attack_rate * 1e9);
		if (g < ng && gf[g].ts_ns + st->warm_ns <= ats) {
			f->data = gf[g].data;
			f->caplen = f->wirelen = gf[g].len;
			f->ts_ns = gf[g].ts_ns + st->warm_ns;
			if (gf[g].syn) {
				st->syn[nsyn].idx = (uint32_t)k;
				st->syn[nsyn].sess = gf[g].sess;
				st->syn_idx[gf[g].sess] = (uint32_t)k;
				nsyn++;
				if (st->first_good == UINT32_MAX)
					st->first_good = (uint32_t)k;
			}
			g++;
		} else {
			f->data = attack_data + a * ATTACK_SLOT;
			f->caplen = f->wirelen = 94;
			f->ts_ns = ats;
			a++;
		}
		/* packet time starts at a round 2026-11-24 00:00 UTC */
		f->ts_ns += 1795478400ull * 1000000000ull;
		f->pkt_no = k + 1;
		f->link = SCR_LINK_ETH;
		f->flags = 0;
	}
}

/* ---- main ---- */

/* policy_for - policy and patterns from a main.cf text */
static int policy_for(uint32_t cap, struct scr_policy *pol,
		      struct scr_scan_db **db)
{
	struct scr_scan_pattern *pats;
	struct ctl_conf *c;
	char text[1024], err[256];
	size_t n;
	int len, rc = -1;

	len = snprintf(text, sizeof(text),
		"myhostname = mx.example.test\n"
		"postscreen_greet_action = enforce\n"
		"postscreen_pipelining_enable = yes\n"
		"postscreen_non_smtp_command_enable = yes\n"
		"postscreen_bare_newline_enable = yes\n"
		"postscreen_bare_newline_action = enforce\n"
		"smtpscreen_helo_enable = yes\n"
		"postscreen_denylist_action = drop\n"
		"smtpscreen_flow_table_size = %u\n", cap);
	c = ctl_conf_parse(text, (size_t)len, "flood-bench.cf", err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "flood-bench: %s\n", err);
		return -1;
	}
	if (ctl_conf_policy(c, pol, err, sizeof(err)) ||
	    ctl_conf_patterns(c, &pats, &n, err, sizeof(err))) {
		fprintf(stderr, "flood-bench: %s\n", err);
		goto out;
	}
	*db = scr_scan_create(pats, n, err, sizeof(err));
	ctl_conf_patterns_free(pats, n);
	if (*db == NULL) {
		fprintf(stderr, "flood-bench: patterns: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	ctl_conf_destroy(c);
	return rc;
}

/* cpu_model - the CPU's name from /proc/cpuinfo */
static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && p) {
			p += 2;
			p[strcspn(p, "\n")] = '\0';
			snprintf(buf, len, "%s", p);
			break;
		}
	}
	fclose(f);
}

/* median_of - median of n doubles (sorts a copy) */
static double median_of(const double *v, unsigned n)
{
	double c[MAX_ROUNDS];

	memcpy(c, v, n * sizeof(*v));
	qsort(c, n, sizeof(*c), dbl_cmp);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

/* MED - median over the rounds of a field of step st's runs */
#define MED_OF(arr, st, field) ({ double v_[MAX_ROUNDS]; unsigned r_;	\
	for (r_ = 0; r_ < rounds; r_++) v_[r_] = (double)arr[st][r_].field;	\
	median_of(v_, rounds); })
#define MED(st, field) MED_OF(res, st, field)

static void usage(void)
{
	fprintf(stderr,
		"usage: flood-bench [--capacity C] [--good G] [--good-rate R]\n"
		"       [--steps 0,50,200] [--rounds N] [--attack-window SECS]\n"
		"       [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"capacity", 1, NULL, 'c'}, {"good", 1, NULL, 'g'},
		{"good-rate", 1, NULL, 'r'}, {"steps", 1, NULL, 's'},
		{"rounds", 1, NULL, 'n'}, {"attack-window", 1, NULL, 'w'},
		{"seed", 1, NULL, 'S'},
		{NULL, 0, NULL, 0}};
	uint32_t cap = 65536, good = 10000, rounds = 5, nsteps = 0, k, s, r;
	double good_rate = 1500, window = 0;
	unsigned long long seed = 1;
	char steps_arg[128] = "0,50,200", cpu[256];
	static struct step steps[MAX_STEPS];
	static struct run res[MAX_STEPS][MAX_ROUNDS];	/* RUN_RATE */
	static struct run iso[MAX_STEPS][MAX_ROUNDS];	/* RUN_ISO */
	struct scr_engine_hooks hooks = {0};
	struct scr_policy pol;
	struct scr_scan_db *db = NULL;
	struct bench b;
	struct gframe *gf;
	uint8_t *good_arena, *attack_arena;
	uint64_t good_end_ns = 0, max_attack = 0, t;
	uint64_t *sa, *sb;
	long rss0, hwm0;
	int opt, fail = 0;
	char *tok, *save;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': cap = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'g': good = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': good_rate = strtod(optarg, NULL); break;
		case 's': snprintf(steps_arg, sizeof(steps_arg), "%s", optarg); break;
		case 'n': rounds = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': window = strtod(optarg, NULL); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || cap < 1024 || good == 0 || good > 16000000 ||
	    good_rate <= 0 || rounds == 0 || rounds > MAX_ROUNDS ||
	    window < 0)
		usage();
	for (tok = strtok_r(steps_arg, ",", &save); tok && nsteps < MAX_STEPS;
	     tok = strtok_r(NULL, ",", &save))
		steps[nsteps++].pct = (unsigned)strtoul(tok, NULL, 10);
	if (nsteps == 0 || steps[0].pct != 0) {
		fprintf(stderr, "flood-bench: --steps must start with 0 (the baseline)\n");
		return 2;
	}
	rng_state = seed;
	if (policy_for(cap, &pol, &db))
		return 2;
	memset(&b, 0, sizeof(b));
	b.good = good;
	hooks.arg = &b;
	hooks.client = on_client;
	hooks.event = on_event;
	b.e = scr_engine_create(&pol, db, &hooks);
	if (b.e == NULL) {
		fprintf(stderr, "flood-bench: engine: %s\n", strerror(errno));
		return 2;
	}
	b.t_syn = xmalloc((size_t)good * sizeof(*b.t_syn));
	b.t_v = xmalloc((size_t)good * sizeof(*b.t_v));
	b.v_burst = xmalloc((size_t)good * sizeof(*b.v_burst));
	b.v_pkt = xmalloc((size_t)good * sizeof(*b.v_pkt));
	b.verdict = xmalloc(good);
	sa = xmalloc((size_t)good * sizeof(*sa));
	sb = xmalloc((size_t)good * sizeof(*sb));

	/* good sessions: Poisson arrivals from 0 (moved after each step's
	 * warm-up when the stream is built) */
	good_arena = xmalloc((size_t)good * GOOD_SLOT);
	gf = xmalloc((size_t)good * GOOD_FRAMES * sizeof(*gf));
	t = 0;
	for (k = 0; k < good; k++) {
		build_good(k, t, good_arena + (size_t)k * GOOD_SLOT,
			   gf + (size_t)k * GOOD_FRAMES);
		if (gf[(size_t)k * GOOD_FRAMES + GOOD_FRAMES - 1].ts_ns > good_end_ns)
			good_end_ns = gf[(size_t)k * GOOD_FRAMES + GOOD_FRAMES - 1].ts_ns;
		t += (uint64_t)(-log(1.0 - rnd01()) / good_rate * 1e9);
	}
	qsort(gf, (size_t)good * GOOD_FRAMES, sizeof(*gf), gframe_cmp);

	/* attack: A / W per second for the warm-up W and the good sessions */
	for (s = 0; s < nsteps; s++) {
		struct step *st = &steps[s];
		uint64_t A = (uint64_t)cap * st->pct / 100;
		double w = window;

		if (w == 0)
			w = (double)((A * 10 >= (uint64_t)cap * 9) ?
				     pol.syn_timeout_stress_ns : pol.syn_timeout_ns) / 1e9;
		if (A == 0)
			w = 0;
		st->attack_warm = A;
		st->warm_ns = (uint64_t)(w * 1e9);
		st->attack_rate = w > 0 ? (double)A / w : 0;
		st->attack = A + (uint64_t)(st->attack_rate *
					    (double)good_end_ns / 1e9);
		if (st->attack > max_attack)
			max_attack = st->attack;
		if ((uint64_t)good * GOOD_FRAMES + st->attack > UINT32_MAX) {
			fprintf(stderr, "flood-bench: step %u%%: stream too long\n",
				st->pct);
			return 2;
		}
	}
	attack_arena = xmalloc((size_t)(max_attack ? max_attack : 1) * ATTACK_SLOT);
	for (t = 0; t < max_attack; t++)
		build_attack(t, attack_arena + t * ATTACK_SLOT);
	for (s = 0; s < nsteps; s++)
		build_step(&steps[s], gf, good * GOOD_FRAMES, good, attack_arena);

	cpu_model(cpu, sizeof(cpu));
	printf("flood-bench: cpu=\"%s\" capacity=%u good=%u good_rate=%.0f/s "
	       "good_span=%.2fs rounds=%u seed=%llu\n",
	       cpu, cap, good, good_rate, (double)good_end_ns / 1e9, rounds, seed);
	printf("policy: syn_timeout=%llus (stress %llus) close_timeout=%llus "
	       "overload_policy=%s client_limit=%u tests=pregreet,bare_newline,"
	       "pipelining,non_smtp,helo\n",
	       (unsigned long long)(pol.syn_timeout_ns / 1000000000ull),
	       (unsigned long long)(pol.syn_timeout_stress_ns / 1000000000ull),
	       (unsigned long long)(pol.close_timeout_ns / 1000000000ull),
	       pol.overload_drop ? "drop" : "pass", pol.client_flow_limit);
	for (s = 0; s < nsteps; s++)
		printf("step %3u%%: A=%llu attack SYNs/s=%.0f (A per %.2fs, the "
		       "warm-up); stream %u frames (%llu attack from distinct "
		       "sources, %u good), %.2fs of packet time\n",
		       steps[s].pct, (unsigned long long)steps[s].attack_warm,
		       steps[s].attack_rate, (double)steps[s].warm_ns / 1e9,
		       steps[s].n, (unsigned long long)steps[s].attack,
		       good * GOOD_FRAMES,
		       (double)(steps[s].warm_ns + good_end_ns) / 1e9);

	/* untimed first run of each step: verdict frames, warm caches */
	for (s = 0; s < nsteps; s++) {
		if (calibrate_step(&b, &steps[s], sa, sb)) {
			printf("FAIL: step %u%%: not every good session passed "
			       "in the calibration run\n", steps[s].pct);
			fail = 1;
		}
	}
	proc_mem(&rss0, &hwm0);
	printf("memory: flows %u x %zu bytes = %.1f MiB (engine, preallocated); "
	       "process VmRSS %.1f MiB VmHWM %.1f MiB after building the streams "
	       "and one run of each step\n",
	       cap, scr_engine_flow_bytes(b.e),
	       (double)cap * (double)scr_engine_flow_bytes(b.e) / 1048576.0,
	       rss0 / 1024.0, hwm0 / 1024.0);

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < nsteps; k++) {
			s = (k + r) % nsteps;
			run_step(&b, &steps[s], RUN_RATE, &res[s][r], sa, sb);
			run_step(&b, &steps[s], RUN_ISO, &iso[s][r], sa, sb);
			if (res[s][r].passed != good || iso[s][r].passed != good) {
				printf("FAIL: step %u%% round %u: %u and %u of %u good "
				       "sessions passed (%u, %u verdicts)\n",
				       steps[s].pct, r + 1, res[s][r].passed,
				       iso[s][r].passed, good, res[s][r].verdicts,
				       iso[s][r].verdicts);
				fail = 1;
			}
		}
	}

	printf("\nthroughput (median of %u rounds; ratio = this step / the 0 %% step;\n"
	       "  wall = whole stream incl. warm-up, meas = from the first good SYN,\n"
	       "  cpu = per second of this thread's CPU time, which leaves out the\n"
	       "  time the shared machine ran something else)\n", rounds);
	printf("%-5s %8s %7s %7s %7s %10s %6s %10s %6s %10s %6s %6s\n", "step",
	       "frames", "wall_s", "cpu_s", "Mpps", "verd/s", "ratio", "meas/s",
	       "ratio", "cpu_verd/s", "ratio", "ivcsw");
	for (s = 0; s < nsteps; s++) {
		double gr = MED(s, good_rate), gm = MED(s, good_rate_meas);
		double gc = MED(s, good_rate_cpu);

		printf("%4u%% %8u %7.3f %7.3f %7.3f %10.0f %6.3f %10.0f %6.3f "
		       "%10.0f %6.3f %6.0f\n",
		       steps[s].pct, steps[s].n, MED(s, wall_s), MED(s, cpu_s),
		       MED(s, mpps), gr, gr / MED(0, good_rate), gm,
		       gm / MED(0, good_rate_meas), gc, gc / MED(0, good_rate_cpu),
		       MED(s, nivcsw));
	}
	printf("cpu Mpps by step:");
	for (s = 0; s < nsteps; s++)
		printf(" %u%%=%.3f (%.3f)", steps[s].pct, MED(s, mpps_cpu),
		       MED(s, mpps_cpu) / MED(0, mpps_cpu));
	printf("\n\nlatency per good session, ns (median over the rounds of each "
	       "run's median and p99)\n"
	       "  a     = engine time of the frame that yields the verdict (the "
	       "server's 354),\n"
	       "          given alone (a second pass of each stream; iso_Mpps = "
	       "its rate)\n"
	       "  b     = wall time from submitting its SYN (its burst of %d) to "
	       "its VERDICT\n"
	       "          event, in the throughput pass (includes preemption)\n"
	       "  b_cpu = frames processed from its SYN to its verdict x CPU ns "
	       "per frame\n", SCR_BURST);
	printf("%-5s %6s %6s %6s %9s %9s %6s %9s %9s %6s %6s %8s\n", "step",
	       "a_med", "a_p99", "ratio", "b_med", "b_p99", "ratio", "bcpu_med",
	       "bcpu_p99", "ratio", "a_miss", "iso_Mpps");
	for (s = 0; s < nsteps; s++) {
		double am = MED_OF(iso, s, a_med), bm = MED(s, b_med);
		double cm = MED(s, b_cpu_med);

		printf("%4u%% %6.0f %6.0f %6.2f %9.0f %9.0f %6.2f %9.0f %9.0f "
		       "%6.2f %6.0f %8.3f\n",
		       steps[s].pct, am, MED_OF(iso, s, a_p99),
		       am / MED_OF(iso, 0, a_med), bm, MED(s, b_p99),
		       bm / MED(0, b_med), cm, MED(s, b_cpu_p99),
		       cm / MED(0, b_cpu_med), MED_OF(iso, s, a_missed),
		       MED_OF(iso, s, mpps));
	}
	printf("\nload (median of the rounds; table = flows in the table, sampled "
	       "during the good sessions)\n");
	printf("%-6s %7s %7s %9s %9s %8s %8s %8s %8s %8s %7s %6s\n", "step", "passed",
	       "of", "flows", "ev_half", "ev_close", "ev_fail", "ev_pass",
	       "overload", "tbl_mean", "tbl_max", "stress");
	for (s = 0; s < nsteps; s++)
		printf("%4u%%  %7.0f %7u %9.0f %9.0f %8.0f %8.0f %8.0f %8.0f %8.0f %7.0f %6.0f\n",
		       steps[s].pct, MED(s, passed), good, MED(s, flows),
		       MED(s, evicted[SCR_EVICT_HALF_OPEN]), MED(s, evicted[SCR_EVICT_CLOSING]),
		       MED(s, evicted[SCR_EVICT_FAILED]), MED(s, evicted[SCR_EVICT_PASSED]),
		       MED(s, overload), MED(s, used_mean), MED(s, used_max), MED(s, stress_enter));
	printf("STRESS events (entering/leaving) of each throughput run, in run order:\n");
	for (r = 0; r < rounds; r++) {
		printf("  round %u:", r + 1);
		for (k = 0; k < nsteps; k++) {
			s = (k + r) % nsteps;
			printf(" %u%% %u/%u", steps[s].pct, res[s][r].stress_on,
			       res[s][r].stress_off);
		}
		printf("\n");
	}
	printf("\nmemory after each step (VmRSS / VmHWM, MiB; engine table %.1f MiB)\n",
	       (double)cap * (double)scr_engine_flow_bytes(b.e) / 1048576.0);
	printf("%-6s %10s %10s %10s %10s\n", "step", "rss_r1", "rss_last", "rss_max",
	       "hwm_last");
	{
		long lo_rss = -1, hi_rss = 0;

		for (s = 0; s < nsteps; s++) {
			long mx = 0;

			for (r = 0; r < rounds; r++) {
				if (res[s][r].rss_kb > mx)
					mx = res[s][r].rss_kb;
				if (lo_rss < 0 || res[s][r].rss_kb < lo_rss)
					lo_rss = res[s][r].rss_kb;
				if (res[s][r].rss_kb > hi_rss)
					hi_rss = res[s][r].rss_kb;
			}
			printf("%4u%%  %10.1f %10.1f %10.1f %10.1f\n", steps[s].pct,
			       res[s][0].rss_kb / 1024.0,
			       res[s][rounds - 1].rss_kb / 1024.0, mx / 1024.0,
			       res[s][rounds - 1].hwm_kb / 1024.0);
		}
		printf("rss spread across steps and rounds: %.1f MiB (%.2f %% of the "
		       "lowest); before the timed rounds %.1f MiB\n",
		       (hi_rss - lo_rss) / 1024.0,
		       lo_rss > 0 ? 100.0 * (double)(hi_rss - lo_rss) / (double)lo_rss : 0,
		       rss0 / 1024.0);
	}
	printf("\nresult: %s\n", fail ? "FAIL (a good session did not pass)" :
	       "ok (every good session passed in every run)");

	for (s = 0; s < nsteps; s++) {
		free(steps[s].fr);
		free(steps[s].syn);
		free(steps[s].syn_idx);
		free(steps[s].iso);
	}
	free(attack_arena);
	free(gf);
	free(good_arena);
	free(sa);
	free(sb);
	free(b.t_syn);
	free(b.t_v);
	free(b.v_burst);
	free(b.v_pkt);
	free(b.verdict);
	scr_engine_destroy(b.e);
	scr_scan_destroy(db);
	return fail;
}
