/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_shared - libFuzzer target: Redis and memcache replies, and
 *	postscreen's memcache record
 * DESCRIPTION
 *	What ctl_shared reads from a shared store. The first input byte
 *	picks the mode (byte % 3):
 *	- 0: the rest is a postscreen record value. ctl_shared_parse_psc
 *	  (on an exact-size heap copy) returns 0 or -EBADMSG; a record that
 *	  parses holds only postscreen's five tests, no block and no time
 *	  1; it formats (under CTL_SHARED_PSC_MAX) to a record that parses
 *	  back to the same times. The same bytes also fill five times
 *	  (8 bytes each, below 10^19) that must survive format then parse.
 *	- 1 (Redis) and 2 (memcache): a real ctl_shared talks to a server
 *	  played here on 127.0.0.1. Byte 1: bit 0 redis database 1 (a
 *	  SELECT first), bit 1 the get callback asks again (a new
 *	  get_async from inside the callback), bit 2 it also writes, bit
 *	  3 the server resets the connections right after its answers;
 *	  byte 2: the number of requests (low 4 bits), then one byte per
 *	  request (bit 0: get_async, else put; the other bits pick the
 *	  address and times). The rest is what the server answers: for
 *	  Redis a 2-byte length of the command connection's part, that
 *	  part, then the subscriber connection's part; for memcache all of
 *	  it goes to the one connection. Each part is written in two
 *	  halves with a client step between them; then (at the latest)
 *	  the server resets both connections and the client steps again.
 *	  Checked: every get_async that was accepted is answered exactly
 *	  once (by the store, or -EAGAIN when the connection goes), in the
 *	  order asked, with rc 0 / -ENOENT / -EAGAIN; an answer's entry is
 *	  for the address asked, holds known reasons only, and from
 *	  memcache only postscreen's five passes; blocks from other nodes
 *	  carry an address, an expiry and known reasons only; after the
 *	  reset nothing is in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKENS_MAX	64	/* get_async calls per input */
#define STEPS_MAX	1000	/* client steps waiting for the connections */
#define REASONS_ALL	((1u << SCR_TEST_MAX) - 1)
#define PSC_TIME_MAX	9999999999999999999ull	/* 19 digits: parses */

/* postscreen's five, in its record's order */
static const enum scr_test psc[5] = {
	SCR_TEST_PREGREET, SCR_TEST_DNSBL, SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP, SCR_TEST_BARE_NEWLINE,
};

static const char *const addr_txt[8] = {
	"192.0.2.1", "198.51.100.7", "203.0.113.255", "10.0.0.1",
	"2001:db8::1", "2001:db8:ffff::42", "::1", "fe80::1",
};

static int lfd = -1;
static uint16_t lport;

struct run {
	struct ctl_shared *s;
	bool memcache;
	bool ask_again, put_again;
	uint64_t ntok;			/* tokens handed out */
	struct scr_addr tok_addr[TOKENS_MAX + 1];
	bool tok_sent[TOKENS_MAX + 1];
	unsigned answers[TOKENS_MAX + 1];
	uint64_t last_answered;
	unsigned depth;
};

/* addr_of - address i of the table */
static void addr_of(unsigned i, struct scr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, addr_txt[i & 7], a->b + 12) == 1)
		a->b[10] = a->b[11] = 0xff;
	else if (inet_pton(AF_INET6, addr_txt[i & 7], a->b) != 1)
		abort();
}

/* --- postscreen's record ------------------------------------------------- */

/* psc_only - an entry as a postscreen record reads: five passes */
static void psc_only(const struct ctl_cache_entry *e)
{
	for (unsigned t = 0; t < SCR_TEST_MAX; t++) {
		bool ours = false;

		for (unsigned i = 0; i < 5; i++)
			ours |= psc[i] == t;
		if (!ours && e->pass_until[t] != 0)
			abort();
		if (e->pass_until[t] == 1)
			abort();
	}
	if (e->block_until != 0 || e->block_reasons != 0)
		abort();
}

/* psc_parse - ctl_shared_parse_psc on an exact-size heap copy */
static int psc_parse(const char *v, size_t len, struct ctl_cache_entry *e)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, v, len);
	memset(e, 0x5a, sizeof(*e));
	rc = ctl_shared_parse_psc(copy, len, e);
	free(copy);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	return rc;
}

/* psc_trip - format e's passes, parse them back: the same */
static void psc_trip(const struct ctl_cache_entry *e)
{
	char buf[CTL_SHARED_PSC_MAX];
	struct ctl_cache_entry back;
	size_t n;

	n = ctl_shared_format_psc(e, buf, sizeof(buf));
	if (n == 0 || n >= sizeof(buf))
		abort();
	if (psc_parse(buf, n, &back) != 0) {
		fprintf(stderr, "record \"%.*s\" does not parse\n", (int)n, buf);
		abort();
	}
	for (unsigned i = 0; i < 5; i++) {
		uint64_t v = e->pass_until[psc[i]];

		if (back.pass_until[psc[i]] != (v > 1 ? v : 0)) {
			fprintf(stderr, "record \"%.*s\" reads back wrong\n",
				(int)n, buf);
			abort();
		}
	}
	psc_only(&back);
}

/* psc_mode - the bytes as a record, and as five times */
static void psc_mode(const uint8_t *d, size_t len)
{
	struct ctl_cache_entry e;

	if (psc_parse((const char *)d, len, &e) == 0) {
		psc_only(&e);
		psc_trip(&e);
	}
	memset(&e, 0, sizeof(e));
	for (unsigned i = 0; i < 5; i++) {
		uint64_t v = 0;

		for (unsigned k = 0; k < 8; k++)
			v = v << 8 | (i * 8 + k < len ? d[i * 8 + k] : 0);
		e.pass_until[psc[i]] = v > PSC_TIME_MAX ? PSC_TIME_MAX : v;
	}
	psc_trip(&e);
}

/* --- the store played here ------------------------------------------------- */

/* server_setup - the listening socket, once */
static void server_setup(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("fuzz_shared: listen");
		abort();
	}
	lport = ntohs(sa.sin_port);
}

static void reset(int fd);

/* drain_listen - reset connections nobody serves: a client that
 * reconnected after its backoff (a slow step), now or in an earlier input */
static void drain_listen(void)
{
	struct pollfd pf = { .fd = lfd, .events = POLLIN };

	while (poll(&pf, 1, 0) == 1) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			break;
		reset(fd);
	}
}

/* accept_one - the next client connection (the client connects first) */
static int accept_one(void)
{
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&pf, 1, 2000) != 1) {
		fprintf(stderr, "fuzz_shared: the client did not connect\n");
		abort();
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		abort();
	return fd;
}

/* slurp - what the client sent so far (discarded); true when it holds
 * want */
static bool slurp(int fd, const char *want)
{
	char buf[65536];
	bool seen = false;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[r] = 0;
		if (want && memmem(buf, (size_t)r, want, strlen(want)))
			seen = true;
	}
	return seen;
}

/* reset - close with a RST: no TIME_WAIT on either side */
static void reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* say - the server writes bytes (blocking: the client reads between) */
static void say(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);

		if (w <= 0)
			return;		/* the client went: fine */
		p += w;
		len -= (size_t)w;
	}
}

/* --- the client's callbacks ------------------------------------------------ */

static void on_get(void *arg, uint64_t token, int rc,
		   const struct ctl_cache_entry *e);

/* ask - one get_async with a new token */
static void ask(struct run *r, unsigned which)
{
	uint64_t tok;

	if (r->ntok >= TOKENS_MAX)
		return;
	tok = ++r->ntok;
	addr_of(which, &r->tok_addr[tok]);
	r->tok_sent[tok] = ctl_shared_get_async(r->s, &r->tok_addr[tok],
						tok) == 0;
}

/* put - one write of a made-up entry */
static void put(struct run *r, unsigned v)
{
	struct ctl_cache_entry e;

	memset(&e, 0, sizeof(e));
	addr_of(v >> 1, &e.addr);
	for (unsigned t = 0; t < SCR_TEST_MAX; t++)
		if (v & (1u << (t % 7)))
			e.pass_until[t] = 2000000000u + v * 7 + t;
	if (v & 0x80) {
		e.block_until = 2000000000u + v;
		e.block_reasons = (scr_reasons)(v & REASONS_ALL);
	}
	(void)ctl_shared_put(r->s, &e, 1700000000u);
}

/* on_get - an answer: for a token asked, once, in order, well formed */
static void on_get(void *arg, uint64_t token, int rc,
		   const struct ctl_cache_entry *e)
{
	struct run *r = arg;

	if (token == 0 || token > r->ntok || !r->tok_sent[token])
		abort();
	if (++r->answers[token] != 1 || token <= r->last_answered) {
		fprintf(stderr, "token %" PRIu64 " answered %u times (last "
			"%" PRIu64 ")\n", token, r->answers[token],
			r->last_answered);
		abort();
	}
	r->last_answered = token;
	if (rc != 0 && rc != -ENOENT && rc != -EAGAIN)
		abort();
	if ((rc == 0) != (e != NULL))
		abort();
	if (e != NULL) {
		if (memcmp(&e->addr, &r->tok_addr[token], sizeof(e->addr)) != 0)
			abort();
		if (e->block_reasons & ~REASONS_ALL)
			abort();
		if (r->memcache)
			psc_only(e);
	}
	/* From inside the callback, as ctl_shared.h allows. */
	if (r->depth == 0 && (token & 1)) {
		r->depth++;
		if (r->ask_again)
			ask(r, (unsigned)token);
		if (r->put_again)
			put(r, (unsigned)token * 5);
		r->depth--;
	}
}

/* on_block - another node's block: parsed completely */
static void on_block(void *arg, const struct ctl_cache_entry *e)
{
	struct run *r = arg;

	if (r->memcache || e == NULL)
		abort();
	if (e->block_reasons & ~REASONS_ALL)
		abort();
	for (unsigned t = 0; t < SCR_TEST_MAX; t++)
		if (e->pass_until[t] != 0)
			abort();
}

/* store_mode - a client, a played server, the answers */
static void store_mode(bool memcache, const uint8_t *d, size_t len)
{
	struct run *r = calloc(1, sizeof(*r));
	struct ctl_shared_stats st;
	const uint8_t *cmd_part, *sub_part = NULL;
	size_t cmd_len, sub_len = 0, i;
	unsigned flags, nops;
	int cfd = -1, sfd = -1, steps;
	char url[96], err[256];

	if (r == NULL)
		abort();
	if (len < 2)
		goto out;
	flags = d[0];
	nops = d[1] & 15;
	d += 2;
	len -= 2;
	if (nops > len)
		nops = (unsigned)len;
	r->memcache = memcache;
	r->ask_again = flags & 2;
	r->put_again = flags & 4;
	/* A small pending table: a large one is a large calloc per input. */
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u%s?pending=64",
		 memcache ? "memcache" : "redis", lport,
		 !memcache && (flags & 1) ? "/1" : "");
	r->s = ctl_shared_create(url, err, sizeof(err));
	if (r->s == NULL) {
		fprintf(stderr, "fuzz_shared: %s\n", err);
		abort();
	}
	ctl_shared_on_get(r->s, on_get, r);
	ctl_shared_on_block(r->s, on_block, r);
	drain_listen();
	ctl_shared_process(r->s, NULL, 0, 1700000000u);	/* connects */
	cfd = accept_one();
	if (!memcache)
		sfd = accept_one();
	for (steps = 0; ctl_shared_state(r->s) != CTL_SHARED_UP; steps++) {
		if (steps == STEPS_MAX) {
			fprintf(stderr, "fuzz_shared: not up\n");
			abort();
		}
		usleep(100);
		ctl_shared_process(r->s, NULL, 0, 1700000000u);
	}
	if (!memcache) {
		/* The subscriber says SUBSCRIBE; connections come in order,
		 * but do not rely on it. */
		for (steps = 0; ; steps++) {
			if (slurp(sfd, "SUBSCRIBE"))
				break;
			if (slurp(cfd, "SUBSCRIBE")) {
				int t = cfd;

				cfd = sfd;
				sfd = t;
				break;
			}
			if (steps == STEPS_MAX) {
				fprintf(stderr, "fuzz_shared: no SUBSCRIBE\n");
				abort();
			}
			usleep(100);
			ctl_shared_process(r->s, NULL, 0, 1700000000u);
		}
	}
	for (i = 0; i < nops; i++) {
		if (d[i] & 1)
			ask(r, d[i] >> 1);
		else
			put(r, d[i] >> 1);
	}
	d += nops;
	len -= nops;
	cmd_part = d;
	cmd_len = len;
	if (!memcache) {
		cmd_len = len >= 2 ? (size_t)d[0] << 8 | d[1] : 0;
		cmd_part = d + (len >= 2 ? 2 : len);
		len -= len >= 2 ? 2 : len;
		if (cmd_len > len)
			cmd_len = len;
		sub_part = cmd_part + cmd_len;
		sub_len = len - cmd_len;
	}
	ctl_shared_process(r->s, NULL, 0, 1700000000u);
	slurp(cfd, NULL);
	/* The answers, in two halves each, a client step after each. */
	say(cfd, cmd_part, cmd_len / 2);
	if (sfd >= 0)
		say(sfd, sub_part, sub_len / 2);
	ctl_shared_process(r->s, NULL, 0, 1700000000u);
	slurp(cfd, NULL);
	say(cfd, cmd_part + cmd_len / 2, cmd_len - cmd_len / 2);
	if (sfd >= 0)
		say(sfd, sub_part + sub_len / 2, sub_len - sub_len / 2);
	if (flags & 8) {
		/* The store answers and dies before the client reads. */
		reset(cfd);
		reset(sfd);
		cfd = sfd = -1;
	}
	ctl_shared_process(r->s, NULL, 0, 1700000000u);
	ctl_shared_process(r->s, NULL, 0, 1700000000u);
	/* The store goes away: whatever is unanswered gets -EAGAIN. */
	reset(cfd);
	reset(sfd);
	cfd = sfd = -1;
	for (steps = 0; steps < 50; steps++) {
		ctl_shared_stats(r->s, &st);
		if (st.inflight == 0 && ctl_shared_state(r->s) != CTL_SHARED_UP)
			break;
		usleep(50);
		drain_listen();
		ctl_shared_process(r->s, NULL, 0, 1700000000u);
	}
	ctl_shared_stats(r->s, &st);
	if (st.inflight != 0) {
		fprintf(stderr, "fuzz_shared: %" PRIu64 " commands in flight "
			"after the store went\n", st.inflight);
		abort();
	}
	for (uint64_t t = 1; t <= r->ntok; t++)
		if (r->tok_sent[t] && r->answers[t] != 1) {
			fprintf(stderr, "fuzz_shared: token %" PRIu64 " answered "
				"%u times\n", t, r->answers[t]);
			abort();
		}
out:
	reset(cfd);
	reset(sfd);
	ctl_shared_destroy(r->s);
	free(r);
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (lfd < 0)
		server_setup();
	switch (data[0] % 3) {
	case 0:
		psc_mode(data + 1, size - 1);
		break;
	case 1:
		store_mode(false, data + 1, size - 1);
		break;
	default:
		store_mode(true, data + 1, size - 1);
		break;
	}
	return 0;
}
