/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	shared_bench - ctl_shared driver: block propagation benchmark, and
 *	get/put from the command line (tests/e2e/memcache_postscreen_test.sh)
 * DESCRIPTION
 *	shared-bench propagate URL N   two nodes (A, B) on one Redis; A writes
 *	  N blocks one at a time, B polls and processes; per block the time
 *	  from A's ctl_shared_put to B's on_block. Prints median and max (us).
 *	shared-bench pubsub HOST PORT N   the baseline: plain hiredis PUBLISH
 *	  on one connection to the message read on a SUBSCRIBE connection.
 *	shared-bench get URL ADDR   prints "name=TIME ..." (passes, block) or
 *	  "ENOENT" / "EAGAIN" (exit 0 / 3 / 4).
 *	shared-bench put URL ADDR name=TIME...   writes (names: scr_test_name
 *	  and "block"), waits until the store answered; exit 0 or 4.
 * CONTRACT
 *	Exit 0 ok, 2 usage, 3 not found, 4 store unavailable.
 * THREADING
 *	One thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_shared.h"

#define WAIT_MS 10000

/* now_us - monotonic microseconds */
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* step - one poll + process round */
static void step(struct ctl_shared *s, int max_ms)
{
	struct pollfd pf[4];
	int timeout = max_ms, n;

	n = ctl_shared_pollfds(s, pf, 4, &timeout);
	if (timeout < 0 || timeout > max_ms)
		timeout = max_ms;
	(void)poll(pf, (nfds_t)n, timeout);
	ctl_shared_process(s, pf, n, (uint64_t)time(NULL));
}

/* settle - until up with nothing queued; 0 or -ETIMEDOUT */
static int settle(struct ctl_shared *s)
{
	struct ctl_shared_stats st;
	uint64_t end = now_us() + WAIT_MS * 1000ull;

	for (;;) {
		ctl_shared_stats(s, &st);
		if (ctl_shared_state(s) == CTL_SHARED_UP && st.pending == 0 &&
		    st.inflight == 0 && st.connects > 0)
			return 0;
		if (now_us() > end)
			return -ETIMEDOUT;
		step(s, 20);
	}
}

/* open_node - create or exit */
static struct ctl_shared *open_node(const char *url)
{
	char err[256];
	struct ctl_shared *s = ctl_shared_create(url, err, sizeof(err));

	if (s == NULL) {
		fprintf(stderr, "shared-bench: %s\n", err);
		exit(2);
	}
	return s;
}

/* parse_addr - text to struct scr_addr or exit */
static struct scr_addr parse_addr(const char *t)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, t, a.b + 12) == 1) {
		a.b[10] = a.b[11] = 0xff;
		return a;
	}
	if (inet_pton(AF_INET6, t, a.b) != 1) {
		fprintf(stderr, "shared-bench: bad address %s\n", t);
		exit(2);
	}
	return a;
}

/* cmp_u64 - qsort order */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* report - median and max of n samples */
static void report(const char *what, uint64_t *us, int n)
{
	qsort(us, (size_t)n, sizeof(*us), cmp_u64);
	printf("%s: n=%d median_us=%" PRIu64 " max_us=%" PRIu64 "\n", what, n,
	       us[n / 2], us[n - 1]);
}

static unsigned heard;

/* on_block - count */
static void on_block(void *arg, const struct ctl_cache_entry *e)
{
	(void)arg;
	(void)e;
	heard++;
}

/* propagate - A blocks, B hears */
static int propagate(const char *url, int n)
{
	struct ctl_shared *a = open_node(url), *b = open_node(url);
	struct ctl_cache_entry e;
	uint64_t *us = calloc((size_t)n, sizeof(*us)), t0, now = (uint64_t)time(NULL);
	int i;

	ctl_shared_on_block(b, on_block, NULL);
	if (us == NULL || settle(a) != 0 || settle(b) != 0) {
		fprintf(stderr, "shared-bench: %s: not up\n", url);
		return 4;
	}
	heard = 0;
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.addr = parse_addr("198.18.200.1");
		e.addr.b[14] = (uint8_t)(i >> 8);
		e.addr.b[15] = (uint8_t)i;
		e.block_until = now + 3600 + (uint64_t)i;
		e.block_reasons = 1;
		t0 = now_us();
		(void)ctl_shared_put(a, &e, now);
		while (heard <= (unsigned)i) {
			if (now_us() - t0 > WAIT_MS * 1000ull) {
				fprintf(stderr, "shared-bench: block %d not heard\n", i);
				return 4;
			}
			step(b, 100);
		}
		us[i] = now_us() - t0;
		if (settle(a) != 0)
			return 4;
	}
	report("propagate A->B (ctl_shared put to on_block)", us, n);
	ctl_shared_destroy(a);
	ctl_shared_destroy(b);
	free(us);
	return 0;
}

/* pubsub - baseline: PUBLISH to the subscriber's read, plain hiredis */
static int pubsub(const char *host, int port, int n)
{
	redisContext *pub = redisConnect(host, port), *sub = redisConnect(host, port);
	uint64_t *us = calloc((size_t)n, sizeof(*us)), t0;
	redisReply *r;
	void *rep;
	int i, done;

	if (us == NULL || pub == NULL || sub == NULL || pub->err || sub->err) {
		fprintf(stderr, "shared-bench: %s:%d: cannot connect\n", host, port);
		return 4;
	}
	r = redisCommand(sub, "SUBSCRIBE bench:baseline");
	freeReplyObject(r);
	for (i = 0; i < n; i++) {
		t0 = now_us();
		redisAppendCommand(pub, "PUBLISH bench:baseline %d", i);
		done = 0;
		while (!done)
			if (redisBufferWrite(pub, &done) != REDIS_OK)
				return 4;
		if (redisGetReply(sub, &rep) != REDIS_OK)
			return 4;
		us[i] = now_us() - t0;
		freeReplyObject(rep);
		if (redisGetReply(pub, &rep) != REDIS_OK)
			return 4;
		freeReplyObject(rep);
	}
	report("baseline redis PUBLISH to SUBSCRIBE read", us, n);
	redisFree(pub);
	redisFree(sub);
	free(us);
	return 0;
}

/* get - print one record */
static int get(const char *url, const char *addr)
{
	struct ctl_shared *s = open_node(url);
	struct scr_addr a = parse_addr(addr);
	struct ctl_cache_entry e;
	unsigned t;
	int rc;

	if (settle(s) != 0)
		return 4;
	rc = ctl_shared_get(s, &a, &e, 2000);
	ctl_shared_destroy(s);
	if (rc == -ENOENT) {
		printf("ENOENT\n");
		return 3;
	}
	if (rc != 0) {
		printf("EAGAIN\n");
		return 4;
	}
	for (t = 0; t < SCR_TEST_MAX; t++)
		printf("%s=%" PRIu64 " ", scr_test_name[t], e.pass_until[t]);
	printf("block=%" PRIu64 "\n", e.block_until);
	return 0;
}

/* put - write one record from name=TIME arguments */
static int put(const char *url, const char *addr, int argc, char **argv)
{
	struct ctl_shared *s = open_node(url);
	struct ctl_cache_entry e;
	struct ctl_shared_stats st;
	unsigned t;
	int i, rc;

	memset(&e, 0, sizeof(e));
	e.addr = parse_addr(addr);
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			return 2;
		*eq = 0;
		for (t = 0; t < SCR_TEST_MAX; t++)
			if (strcmp(argv[i], scr_test_name[t]) == 0)
				break;
		if (t < SCR_TEST_MAX)
			e.pass_until[t] = strtoull(eq + 1, NULL, 10);
		else if (strcmp(argv[i], "block") == 0)
			e.block_until = strtoull(eq + 1, NULL, 10);
		else
			return 2;
	}
	if (settle(s) != 0)
		return 4;
	(void)ctl_shared_put(s, &e, (uint64_t)time(NULL));
	rc = settle(s);
	ctl_shared_stats(s, &st);
	ctl_shared_destroy(s);
	return rc == 0 && st.write_errors == 0 ? 0 : 4;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "propagate") == 0)
		return propagate(argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "pubsub") == 0)
		return pubsub(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "get") == 0)
		return get(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "put") == 0)
		return put(argv[2], argv[3], argc - 4, argv + 4);
	fprintf(stderr, "usage: shared-bench propagate URL N | pubsub HOST PORT N | "
		"get URL ADDR | put URL ADDR name=TIME...\n");
	return 2;
}
