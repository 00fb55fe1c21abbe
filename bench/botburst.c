/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	botburst - a bounded burst of pregreet SMTP bots from distinct source
 *	addresses, CONCURRENCY at a time, and how fast the server side stopped them
 * DESCRIPTION
 *	The load generator of bench/host_vs_postscreen_bench.sh (bots per second
 *	a screener stops). One process, one epoll loop, non-blocking sockets: the
 *	client side costs a few tens of microseconds of CPU per bot, so the
 *	screener, not the generator, is what limits the rate (the Python pool of
 *	tests/e2e/lib/smtpbot_pool.py needs about a millisecond per session).
 *
 *	Each bot plays tests/e2e/smtpbot.py's `pregreet` behaviour: it binds to
 *	its own source address (the next line of --sources), connects, sends
 *	"EHLO bot.example" at once (before any greeting), then skips greeting
 *	replies (220, and a multi-line reply cut short by another code, as
 *	postscreen's teaser), and on a 2xx EHLO reply goes on with MAIL FROM and
 *	RCPT TO, one command per reply; after a 4xx/5xx reply (or 2xx to RCPT) it
 *	says QUIT (not after 421/521) and waits for the reply or the close.
 *	Results, per bot: rejected (5xx), tempfail (4xx), accepted (RCPT got 2xx:
 *	the bot was not stopped; it quits instead of sending DATA), closed (the
 *	server closed without a 4xx/5xx), reset (RST), timeout, error (connect
 *	failed, a bad reply line). "stopped" = rejected + closed + reset: the
 *	server side ended or refused the bot's transaction.
 *
 *	Wall time runs from the first connect() to the end of the last bot; the
 *	rate is bots / wall. stop_seconds runs to the end of the last stopped bot
 *	and stop_rate = stopped / stop_seconds: the screening rate, without the
 *	wait for bots that were never stopped (a timeout adds --timeout to the
 *	wall time). The first 10 bots that time out are named on stderr. It does
 *	not retry, pace or check log lines (the script does that).
 * CONTRACT
 *	botburst --server A.B.C.D --sources FILE [--port 25] [--count N]
 *	         [--concurrency C] [--timeout S]
 *	FILE: one IPv4 source address per line (they must be local addresses, e.g.
 *	an AnyIP "local" route); --count defaults to the number of lines (at most
 *	1,000,000); --concurrency 50 (1..4096), --timeout 10 s per bot.
 *	Prints one line:
 *	"botburst bots=N seconds=X rate=X stopped=N stop_seconds=X stop_rate=X
 *	 rejected=N tempfail=N accepted=N closed=N reset=N timeout=N error=N
 *	 p50_ms=X p99_ms=X max_ms=X user_s=X sys_s=X"
 *	Exit 0 when every bot ran (whatever its result), 1 with a message on a
 *	setup error (a source address that cannot be bound, epoll, memory),
 *	2 usage.
 * THREADING
 *	Single-threaded program.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BURST_MAX_BOTS	1000000
#define BURST_MAX_CONC	4096
#define BURST_BUF	2048

enum bot_state { BOT_FREE, BOT_CONNECTING, BOT_EHLO, BOT_MAIL, BOT_RCPT, BOT_QUIT };

enum bot_result {
	RES_NONE = -1, RES_REJECTED, RES_TEMPFAIL, RES_ACCEPTED, RES_CLOSED, RES_RESET,
	RES_TIMEOUT, RES_ERROR, RES_COUNT
};

static const char *const bot_result_name[RES_COUNT] = {
	"rejected", "tempfail", "accepted", "closed", "reset", "timeout", "error"
};

struct bot {
	int fd;
	enum bot_state state;
	enum bot_result result;
	int rcode;		/* code of a multi-line reply being read, 0 none */
	int last_code;		/* code of the last complete reply */
	double t0, deadline;
	uint32_t src;		/* network order */
	size_t len;
	char buf[BURST_BUF];
};

struct burst {
	struct sockaddr_in server;
	uint32_t *src;		/* network order, one per bot */
	size_t nsrc, count, next, done;
	unsigned conc;
	double timeout;
	int ep;
	struct bot *bots;
	double *secs;		/* per finished bot, seconds */
	double start, last_stop;	/* burst start; end of the last stopped bot */
	unsigned timeouts_named;
	unsigned long long res[RES_COUNT];
};

/* burst_usage - the synopsis; returns 2 */
static int burst_usage(void)
{
	fprintf(stderr, "usage: botburst --server A.B.C.D --sources FILE [--port 25] "
		"[--count N] [--concurrency C] [--timeout S]\n");
	return 2;
}

/* burst_now - monotonic seconds */
static double burst_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* burst_parse_num - a decimal number in [lo, hi], nothing after it; -1 if not */
static int burst_parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* burst_read_sources - the address file into b->src; 0 or -1 with a message */
static int burst_read_sources(struct burst *b, const char *path)
{
	char line[128];
	size_t cap = 0, n = 0, lineno = 0;
	uint32_t *v = NULL, *nv;
	struct in_addr a;
	FILE *f;
	int rc = -1;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "botburst: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, " \t\r\n#")] = '\0';
		if (!line[0])
			continue;
		if (inet_pton(AF_INET, line, &a) != 1) {
			fprintf(stderr, "botburst: %s:%zu: not an IPv4 address: \"%s\"\n",
				path, lineno, line);
			goto out;
		}
		if (n == BURST_MAX_BOTS) {
			fprintf(stderr, "botburst: %s: more than %d addresses\n", path,
				BURST_MAX_BOTS);
			goto out;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				fprintf(stderr, "botburst: out of memory\n");
				goto out;
			}
			v = nv;
		}
		v[n++] = a.s_addr;
	}
	if (ferror(f)) {
		fprintf(stderr, "botburst: %s: read error\n", path);
		goto out;
	}
	if (!n) {
		fprintf(stderr, "botburst: %s: no addresses\n", path);
		goto out;
	}
	b->src = v;
	b->nsrc = n;
	v = NULL;
	rc = 0;
out:
	free(v);
	fclose(f);
	return rc;
}

/* bot_end - close the bot's socket and record its result and duration */
static void bot_end(struct burst *b, struct bot *t, enum bot_result r)
{
	if (t->result == RES_NONE)
		t->result = r;
	double now = burst_now();

	if (t->fd >= 0)
		close(t->fd);	/* also removes it from the epoll set */
	t->fd = -1;
	b->res[t->result]++;
	b->secs[b->done++] = now - t->t0;
	if (t->result == RES_REJECTED || t->result == RES_CLOSED || t->result == RES_RESET)
		b->last_stop = now;
	if (t->result == RES_TIMEOUT && b->timeouts_named < 10) {
		char a[INET_ADDRSTRLEN];
		struct in_addr in = { .s_addr = t->src };

		b->timeouts_named++;
		inet_ntop(AF_INET, &in, a, sizeof(a));
		fprintf(stderr, "botburst: timeout: bot %s, state %d, last reply %d\n", a,
			(int)t->state, t->last_code);
	}
	t->state = BOT_FREE;
}

/* bot_send - one command in one send(); -1 (bot ended) on failure */
static int bot_send(struct burst *b, struct bot *t, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t n;

	n = send(t->fd, cmd, len, MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return 0;
	bot_end(b, t, n < 0 && (errno == ECONNRESET || errno == EPIPE) ? RES_RESET
		: RES_ERROR);
	return -1;
}

/* bot_finish - the bot's result is known: QUIT (wait for its answer) or close */
static void bot_finish(struct burst *b, struct bot *t, enum bot_result r)
{
	t->result = r;
	if (t->last_code == 421 || t->last_code == 521) {
		bot_end(b, t, r);
		return;
	}
	if (bot_send(b, t, "QUIT\r\n") == 0)
		t->state = BOT_QUIT;
}

/* bot_code_result - the result a non-2xx reply means */
static enum bot_result bot_code_result(int code)
{
	return code >= 500 ? RES_REJECTED : code >= 400 ? RES_TEMPFAIL : RES_ERROR;
}

/* bot_reply - one reply (complete or cut short) in the bot's current state */
static void bot_reply(struct burst *b, struct bot *t, int code, int complete)
{
	if (complete)
		t->last_code = code;
	switch (t->state) {
	case BOT_EHLO:
		if (code == 220 || !complete)
			return;		/* the greeting (or a teaser) before the EHLO reply */
		if (code / 100 != 2) {
			bot_finish(b, t, bot_code_result(code));
			return;
		}
		if (bot_send(b, t, "MAIL FROM:<a@example.org>\r\n") == 0)
			t->state = BOT_MAIL;
		return;
	case BOT_MAIL:
		if (!complete)
			return;
		if (code / 100 != 2) {
			bot_finish(b, t, bot_code_result(code));
			return;
		}
		if (bot_send(b, t, "RCPT TO:<u@example.test>\r\n") == 0)
			t->state = BOT_RCPT;
		return;
	case BOT_RCPT:
		if (!complete)
			return;
		bot_finish(b, t, code / 100 == 2 ? RES_ACCEPTED : bot_code_result(code));
		return;
	case BOT_QUIT:
		if (complete)
			bot_end(b, t, t->result);
		return;
	case BOT_FREE:
	case BOT_CONNECTING:
	default:
		fprintf(stderr, "botburst: panic: reply in state %d\n", (int)t->state);
		abort();
	}
}

/* bot_lines - parse the complete lines in the bot's buffer */
static void bot_lines(struct burst *b, struct bot *t)
{
	char *p = t->buf, *nl;
	int code;

	while (t->state != BOT_FREE && (nl = memchr(p, '\n', t->len - (size_t)(p - t->buf)))) {
		if (nl - p < 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9') {
			bot_end(b, t, RES_ERROR);
			return;
		}
		code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (t->rcode && code != t->rcode) {
			/* A multi-line reply given up by the server (a teaser). */
			bot_reply(b, t, t->rcode, 0);
			t->rcode = 0;
			continue;	/* the same line again, now as a new reply */
		}
		if (nl - p > 3 && p[3] == '-') {
			t->rcode = code;
		} else {
			t->rcode = 0;
			bot_reply(b, t, code, 1);
		}
		p = nl + 1;
	}
	if (t->state == BOT_FREE)
		return;
	t->len -= (size_t)(p - t->buf);
	memmove(t->buf, p, t->len);
	if (t->len == sizeof(t->buf))
		bot_end(b, t, RES_ERROR);	/* a line longer than the buffer */
}

/* bot_start - the next source address connects; -1 on a setup error */
static int bot_start(struct burst *b, struct bot *t)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP };
	int one = 1;

	memset(t, 0, offsetof(struct bot, buf));
	t->fd = -1;
	t->result = RES_NONE;
	t->t0 = burst_now();
	t->deadline = t->t0 + b->timeout;
	src.sin_addr.s_addr = b->src[b->next++];
	t->src = src.sin_addr.s_addr;
	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		fprintf(stderr, "botburst: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(t->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &src.sin_addr, a, sizeof(a));
		fprintf(stderr, "botburst: bind %s: %s\n", a, strerror(errno));
		close(t->fd);
		return -1;
	}
	t->state = BOT_CONNECTING;
	if (connect(t->fd, (struct sockaddr *)&b->server, sizeof(b->server)) < 0 &&
	    errno != EINPROGRESS) {
		bot_end(b, t, RES_ERROR);
		return 0;
	}
	ev.data.ptr = t;
	if (epoll_ctl(b->ep, EPOLL_CTL_ADD, t->fd, &ev) < 0) {
		fprintf(stderr, "botburst: epoll_ctl: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* bot_event - readiness on a bot's socket */
static void bot_event(struct burst *b, struct bot *t, uint32_t events)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = t };
	socklen_t sl = sizeof(int);
	int err = 0;
	ssize_t n;

	if (t->state == BOT_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
			bot_end(b, t, err == ECONNRESET ? RES_RESET : RES_ERROR);
			return;
		}
		if (epoll_ctl(b->ep, EPOLL_CTL_MOD, t->fd, &ev) < 0) {
			bot_end(b, t, RES_ERROR);
			return;
		}
		/* The pregreet: EHLO before any greeting. */
		if (bot_send(b, t, "EHLO bot.example\r\n") < 0)
			return;
		t->state = BOT_EHLO;
	}
	if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		return;
	for (;;) {
		n = recv(t->fd, t->buf + t->len, sizeof(t->buf) - t->len, 0);
		if (n > 0) {
			t->len += (size_t)n;
			bot_lines(b, t);
			if (t->state == BOT_FREE)
				return;
			continue;
		}
		if (n == 0) {
			bot_end(b, t, RES_CLOSED);
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
		bot_end(b, t, errno == ECONNRESET ? RES_RESET : RES_ERROR);
		return;
	}
}

/* burst_cmp - qsort order of doubles */
static int burst_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* burst_run - every bot, C at a time; 0 or -1 on a setup error */
static int burst_run(struct burst *b, double *wall)
{
	struct epoll_event evs[256];
	double t0, now;
	unsigned i;
	int n, k;

	t0 = burst_now();
	b->start = b->last_stop = t0;
	for (i = 0; i < b->conc && b->next < b->count; i++)
		if (bot_start(b, &b->bots[i]) < 0)
			return -1;
	while (b->done < b->count) {
		n = epoll_wait(b->ep, evs, 256, 20);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "botburst: epoll_wait: %s\n", strerror(errno));
			return -1;
		}
		for (k = 0; k < n; k++)
			bot_event(b, evs[k].data.ptr, evs[k].events);
		now = burst_now();
		for (i = 0; i < b->conc; i++) {
			struct bot *t = &b->bots[i];

			if (t->state != BOT_FREE && now >= t->deadline)
				bot_end(b, t, RES_TIMEOUT);
			if (t->state == BOT_FREE && b->next < b->count &&
			    bot_start(b, t) < 0)
				return -1;
		}
	}
	*wall = burst_now() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "sources", required_argument, NULL, 'f' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct burst b = { .server = { .sin_family = AF_INET, .sin_port = htons(25) },
			   .conc = 50, .timeout = 10, .ep = -1 };
	const char *server = NULL, *sources = NULL;
	struct rusage ru0, ru1;
	double v, wall = 0, count = 0, user, sys;
	unsigned long long stopped;
	int c, rc = 1, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case 'f':
			sources = optarg;
			break;
		case 'p':
			if (burst_parse_num(optarg, 1, 65535, &v) < 0)
				return burst_usage();
			b.server.sin_port = htons((uint16_t)v);
			break;
		case 'n':
			if (burst_parse_num(optarg, 1, BURST_MAX_BOTS, &count) < 0)
				return burst_usage();
			break;
		case 'c':
			if (burst_parse_num(optarg, 1, BURST_MAX_CONC, &v) < 0)
				return burst_usage();
			b.conc = (unsigned)v;
			break;
		case 't':
			if (burst_parse_num(optarg, 0.1, 3600, &b.timeout) < 0)
				return burst_usage();
			break;
		default:
			return burst_usage();
		}
	}
	if (optind != argc || !server || !sources ||
	    inet_pton(AF_INET, server, &b.server.sin_addr) != 1)
		return burst_usage();
	if (burst_read_sources(&b, sources) < 0)
		return 1;
	b.count = count > 0 ? (size_t)count : b.nsrc;
	if (b.count > b.nsrc) {
		fprintf(stderr, "botburst: --count %zu but %s has %zu addresses\n", b.count,
			sources, b.nsrc);
		goto out;
	}
	b.bots = calloc(b.conc, sizeof(*b.bots));
	b.secs = calloc(b.count, sizeof(*b.secs));
	if (!b.bots || !b.secs) {
		fprintf(stderr, "botburst: out of memory\n");
		goto out;
	}
	b.ep = epoll_create1(EPOLL_CLOEXEC);
	if (b.ep < 0) {
		fprintf(stderr, "botburst: epoll_create1: %s\n", strerror(errno));
		goto out;
	}
	getrusage(RUSAGE_SELF, &ru0);
	if (burst_run(&b, &wall) < 0)
		goto out;
	getrusage(RUSAGE_SELF, &ru1);
	user = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	sys = (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	      (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	qsort(b.secs, b.done, sizeof(*b.secs), burst_cmp);
	stopped = b.res[RES_REJECTED] + b.res[RES_CLOSED] + b.res[RES_RESET];
	printf("botburst bots=%zu seconds=%.3f rate=%.1f stopped=%llu stop_seconds=%.3f "
	       "stop_rate=%.1f", b.done, wall, wall > 0 ? (double)b.done / wall : 0.0, stopped,
	       b.last_stop - b.start,
	       b.last_stop > b.start ? (double)stopped / (b.last_stop - b.start) : 0.0);
	for (i = 0; i < RES_COUNT; i++)
		printf(" %s=%llu", bot_result_name[i], b.res[i]);
	printf(" p50_ms=%.2f p99_ms=%.2f max_ms=%.2f user_s=%.3f sys_s=%.3f\n",
	       1e3 * b.secs[b.done / 2], 1e3 * b.secs[(b.done * 99) / 100],
	       1e3 * b.secs[b.done - 1], user, sys);
	rc = 0;
out:
	if (b.ep >= 0)
		close(b.ep);
	free(b.secs);
	free(b.bots);
	free(b.src);
	return rc;
}
