/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_shared_test - the shared verdict store against real servers
 * DESCRIPTION
 *	Tables first (bad urls, postscreen record texts), then a private
 *	redis-server and memcached on 127.0.0.1 at a free random port,
 *	started and killed by PID: put/get round trip and merge, expiry,
 *	blocks between two nodes (pub/sub), Redis killed and restarted
 *	(state, -EAGAIN, pending writes replayed, blocks written meanwhile
 *	learned), the pending limit, memcache records in postscreen's
 *	format. Waits are bounded (seconds) and nothing is timed.
 * CONTRACT
 *	cmocka; exit 0 when all pass. Needs redis-server and memcached.
 * THREADING
 *	One thread (servers are child processes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_shared.h"

#define WAIT_MS 10000	/* bound of every wait (not an assertion on time) */

/* mono_ms - monotonic milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* v4 - an IPv4 address as struct scr_addr */
static struct scr_addr v4(const char *s)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, s, a.b + 12), 1);
	return a;
}

/* port_open - true when something accepts on 127.0.0.1:port */
static int port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* server_start - run argv (with "%d" replaced by the port) and wait until
 * it listens; returns the PID */
static pid_t server_start(const char *const *tmpl, int port)
{
	char portstr[16], *argv[16];
	uint64_t end;
	pid_t pid;
	int i;

	snprintf(portstr, sizeof(portstr), "%d", port);
	for (i = 0; tmpl[i]; i++)
		argv[i] = strcmp(tmpl[i], "%d") == 0 ? portstr : (char *)tmpl[i];
	argv[i] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", 0);

		/* dies with the test, also when a sanitizer aborts it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	end = mono_ms() + WAIT_MS;
	while (!port_open(port)) {
		if (mono_ms() > end || waitpid(pid, NULL, WNOHANG) == pid)
			fail_msg("%s did not listen on 127.0.0.1:%d", argv[0], port);
		usleep(20000);
	}
	return pid;
}

/* server_kill - SIGKILL by PID and reap */
static void server_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* free_port - a random port nothing listens on */
static int free_port(void)
{
	int p, i;

	for (i = 0; i < 100; i++) {
		p = 20000 + rand() % 40000;
		if (!port_open(p))
			return p;
	}
	fail_msg("no free port");
	return 0;
}

static const char *const redis_argv[] = {
	"redis-server", "--port", "%d", "--bind", "127.0.0.1", "--save", "",
	"--appendonly", "no", NULL,
};
static const char *const memcached_argv[] = {
	"memcached", "-l", "127.0.0.1", "-p", "%d", "-U", "0", "-u", "nobody", NULL,
};

/* Blocks heard by a node. */
struct heard {
	unsigned n;
	struct ctl_cache_entry last;
};

/* on_block - record a block */
static void on_block(void *arg, const struct ctl_cache_entry *e)
{
	struct heard *h = arg;

	h->n++;
	h->last = *e;
}

/* step - one poll + process round of a node */
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

/* idle - every write answered and nothing pending */
static int idle(const struct ctl_shared *s)
{
	struct ctl_shared_stats st;

	ctl_shared_stats(s, &st);
	return st.pending == 0 && st.inflight == 0;
}

/* drive_until - step until cond(s) (bounded) */
static void drive_until(struct ctl_shared *s, int (*cond)(const struct ctl_shared *),
			const char *what)
{
	uint64_t end = mono_ms() + WAIT_MS;

	while (!cond(s)) {
		if (mono_ms() > end)
			fail_msg("not reached within %d ms: %s", WAIT_MS, what);
		step(s, 20);
	}
}

/* is_up, is_down - state checks for drive_until */
static int is_up(const struct ctl_shared *s)
{
	return ctl_shared_state(s) == CTL_SHARED_UP;
}

static int is_down(const struct ctl_shared *s)
{
	return ctl_shared_state(s) == CTL_SHARED_DOWN;
}

/* subscribed_idle - up, the first block set re-read done, nothing queued */
static int subscribed_idle(const struct ctl_shared *s)
{
	struct ctl_shared_stats st;

	ctl_shared_stats(s, &st);
	return is_up(s) && st.catchups > 0 && st.inflight == 0 && st.pending == 0;
}

/* --- tables ----------------------------------------------------------------- */

static void test_bad_urls(void **state)
{
	static const struct {
		const char *label, *url, *why;
	} bad[] = {
		{"empty", "", "want redis://"},
		{"other scheme", "http://127.0.0.1/", "want redis://"},
		{"no host", "redis://", "no host"},
		{"name, not address", "redis://localhost:6379", "numeric"},
		{"port 0", "redis://127.0.0.1:0", "bad port"},
		{"port too big", "redis://127.0.0.1:65536", "bad port"},
		{"port junk", "redis://127.0.0.1:63x", "bad port"},
		{"db junk", "redis://127.0.0.1:6379/x", "bad database"},
		{"unknown param", "redis://127.0.0.1?foo=1", "unknown parameter"},
		{"param without value", "redis://127.0.0.1?prefix", "name=value"},
		{"pending 0", "redis://127.0.0.1?pending=0", "pending"},
		{"prefix with space", "redis://127.0.0.1?prefix=a%20b c", "prefix"},
		{"unclosed v6", "redis://[::1:6379", "]"},
		{"memcache db", "memcache://127.0.0.1:11211/0", "no database"},
		{"trailing junk", "redis://[::1]x", "unexpected"},
	};
	static const char *const good[] = {
		"redis://127.0.0.1", "redis://127.0.0.1:6379/3",
		"redis://[::1]:6380/0?prefix=farm1:&pending=5",
		"memcache://127.0.0.1:11211", "memcache://[2001:db8::1]?prefix=ps:",
	};
	char err[256];
	struct ctl_shared *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		errno = 0;
		s = ctl_shared_create(bad[i].url, err, sizeof(err));
		if (s != NULL)
			fail_msg("%s: \"%s\" accepted", bad[i].label, bad[i].url);
		assert_int_equal(errno, EINVAL);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].label, err, bad[i].why);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		s = ctl_shared_create(good[i], err, sizeof(err));
		if (s == NULL)
			fail_msg("\"%s\" refused: %s", good[i], err);
		/* Lazy: nothing connected yet, and not an error. */
		assert_int_equal(ctl_shared_state(s), CTL_SHARED_DOWN);
		ctl_shared_destroy(s);
	}
}

static void test_psc_records(void **state)
{
	static const struct {
		const char *label, *text;
		int rc;
		uint64_t pregreet, dnsbl, pipelining, non_smtp, bare_newline;
	} t[] = {
		{"empty", "", -EBADMSG, 0, 0, 0, 0, 0},
		{"garbage", "hello", -EBADMSG, 0, 0, 0, 0, 0},
		{"four fields", "1;2;3;4", -EBADMSG, 0, 0, 0, 0, 0},
		{"empty fifth", "1;2;3;4;", -EBADMSG, 0, 0, 0, 0, 0},
		{"letter", "1795580707;1;0;x;0", -EBADMSG, 0, 0, 0, 0, 0},
		{"negative", "-1;0;0;0;0", -EBADMSG, 0, 0, 0, 0, 0},
		{"space", "1795580707; 1;0;0;0", -EBADMSG, 0, 0, 0, 0, 0},
		{"trailing space", "0;0;0;0;0 ", -EBADMSG, 0, 0, 0, 0, 0},
		{"20 digits", "99999999999999999999;0;0;0;0", -EBADMSG, 0, 0, 0, 0, 0},
		{"reference 127.0.0.16", "1795580707;1;0;0;0", 0,
		 1795580707, 0, 0, 0, 0},
		{"reference 127.0.0.41", "1795494695;1795494695;1795494695;1795494695;1795494695",
		 0, 1795494695, 1795494695, 1795494695, 1795494695, 1795494695},
		{"all new", "0;0;0;0;0", 0, 0, 0, 0, 0, 0},
		{"all disabled", "1;1;1;1;1", 0, 0, 0, 0, 0, 0},
		{"field order", "2000000001;2000000002;2000000003;2000000004;2000000005", 0,
		 2000000001, 2000000002, 2000000003, 2000000004, 2000000005},
		{"extra fields ignored", "2;3;4;5;6;junk", 0, 2, 3, 4, 5, 6},
	};
	struct ctl_cache_entry e, back;
	char buf[CTL_SHARED_PSC_MAX];
	size_t i, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&e, 0xa5, sizeof(e));
		rc = ctl_shared_parse_psc(t[i].text, strlen(t[i].text), &e);
		if (rc != t[i].rc)
			fail_msg("%s: \"%s\": rc %d, want %d", t[i].label, t[i].text, rc, t[i].rc);
		if (rc != 0)
			continue;
		assert_int_equal(e.pass_until[SCR_TEST_PREGREET], t[i].pregreet);
		assert_int_equal(e.pass_until[SCR_TEST_DNSBL], t[i].dnsbl);
		assert_int_equal(e.pass_until[SCR_TEST_PIPELINING], t[i].pipelining);
		assert_int_equal(e.pass_until[SCR_TEST_NON_SMTP], t[i].non_smtp);
		assert_int_equal(e.pass_until[SCR_TEST_BARE_NEWLINE], t[i].bare_newline);
		assert_int_equal(e.pass_until[SCR_TEST_HELO], 0);
		assert_int_equal(e.block_until, 0);
		/* Format and parse again: the same times. */
		n = ctl_shared_format_psc(&e, buf, sizeof(buf));
		assert_true(n > 0 && n < sizeof(buf));
		assert_int_equal(ctl_shared_parse_psc(buf, n, &back), 0);
		assert_memory_equal(back.pass_until, e.pass_until, sizeof(e.pass_until));
	}
	/* Format: postscreen's field order, HELO and blocks left out. */
	memset(&e, 0, sizeof(e));
	e.pass_until[SCR_TEST_PREGREET] = 11;
	e.pass_until[SCR_TEST_BARE_NEWLINE] = 22;
	e.pass_until[SCR_TEST_PIPELINING] = 33;
	e.pass_until[SCR_TEST_NON_SMTP] = 44;
	e.pass_until[SCR_TEST_HELO] = 55;
	e.pass_until[SCR_TEST_DNSBL] = 66;
	e.block_until = 77;
	ctl_shared_format_psc(&e, buf, sizeof(buf));
	assert_string_equal(buf, "11;66;33;44;22");
}

/* --- Redis ----------------------------------------------------------------- */

/* redis_new - a node on port, up (and subscribed) */
static struct ctl_shared *redis_new(int port, const char *params, struct heard *h)
{
	char url[128], err[256];
	struct ctl_shared *s;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d%s", port, params);
	s = ctl_shared_create(url, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s: %s", url, err);
	ctl_shared_on_block(s, on_block, h);
	drive_until(s, subscribed_idle, "connected and subscribed");
	return s;
}

/* redis_int - one integer answer of a plain hiredis command */
static long long redis_int(int port, const char *cmd, const char *key)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	redisReply *r;
	long long v;

	assert_non_null(c);
	assert_int_equal(c->err, 0);
	r = redisCommand(c, cmd, key);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return v;
}

static void test_redis_roundtrip_expiry(void **state)
{
	struct ctl_cache_entry e, got, low;
	struct heard h = {0};
	struct ctl_shared *s;
	struct scr_addr a = v4("198.18.0.5"), b = v4("198.18.0.6");
	uint64_t now = (uint64_t)time(NULL);
	int port = free_port();
	pid_t pid;

	(void)state;
	pid = server_start(redis_argv, port);
	s = redis_new(port, "/2?prefix=t1:", &h);

	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), -ENOENT);

	memset(&e, 0, sizeof(e));
	e.addr = a;
	e.pass_until[SCR_TEST_PREGREET] = now + 100;
	e.pass_until[SCR_TEST_HELO] = now + 200;
	e.block_until = now + 300;
	e.block_reasons = SCR_TEST_BIT(SCR_TEST_PIPELINING) | SCR_TEST_BIT(SCR_TEST_HELO);
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	drive_until(s, idle, "write answered");
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), 0);
	assert_memory_equal(&got, &e, sizeof(e));

	/* A write with earlier times moves nothing back; a later one does. */
	low = e;
	low.pass_until[SCR_TEST_PREGREET] = now + 10;
	low.pass_until[SCR_TEST_DNSBL] = now + 400;
	low.block_until = now + 5;
	assert_int_equal(ctl_shared_put(s, &low, now), 0);
	drive_until(s, idle, "write answered");
	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), 0);
	assert_int_equal(got.pass_until[SCR_TEST_PREGREET], now + 100);
	assert_int_equal(got.pass_until[SCR_TEST_DNSBL], now + 400);
	assert_int_equal(got.block_until, now + 300);
	assert_int_equal(got.block_reasons, e.block_reasons);

	/* Expiry: the key lives until the latest time (db 2, prefix t1:). */
	{
		redisContext *c = redisConnect("127.0.0.1", port);
		redisReply *r;

		assert_non_null(c);
		r = redisCommand(c, "SELECT 2");
		freeReplyObject(r);
		r = redisCommand(c, "EXPIRETIME t1:c:198.18.0.5");
		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_INTEGER);
		assert_int_equal(r->integer, (long long)(now + 400));
		freeReplyObject(r);
		redisFree(c);
	}
	/* Nothing in db 0 under our prefix. */
	assert_int_equal(redis_int(port, "EXISTS %s", "t1:c:198.18.0.5"), 0);

	/* A record whose times are all past is not kept. */
	memset(&e, 0, sizeof(e));
	e.addr = b;
	e.pass_until[SCR_TEST_PREGREET] = now - 10;
	e.block_until = now - 5;
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	drive_until(s, idle, "write answered");
	assert_int_equal(ctl_shared_get(s, &b, &got, 2000), -ENOENT);

	assert_int_equal(h.n, 0);	/* our own blocks are not announced to us */
	ctl_shared_destroy(s);
	server_kill(pid);
}

/* test_redis_every_test - a record with a pass time for every test and a
 * block: the write's EVAL carries all of them (it overflowed its argument
 * array by two words, found by fuzz_shared) and reads back whole */
static void test_redis_every_test(void **state)
{
	struct scr_addr a = v4("198.18.0.9");
	struct ctl_cache_entry e, got;
	struct heard h = {0};
	struct ctl_shared *s;
	uint64_t now = (uint64_t)time(NULL);
	int port = free_port();
	unsigned t;
	pid_t pid;

	(void)state;
	pid = server_start(redis_argv, port);
	s = redis_new(port, "?prefix=tt:", &h);
	memset(&e, 0, sizeof(e));
	e.addr = a;
	for (t = 0; t < SCR_TEST_MAX; t++)
		e.pass_until[t] = now + 100 + t;
	e.block_until = now + 50;
	e.block_reasons = (scr_reasons)((1u << SCR_TEST_MAX) - 1);
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	drive_until(s, idle, "write answered");
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), 0);
	assert_memory_equal(&got, &e, sizeof(e));
	ctl_shared_destroy(s);
	server_kill(pid);
}

/* answers - what on_get heard, by token */
struct answers {
	unsigned n;
	uint64_t token[8];
	int rc[8];
	struct ctl_cache_entry e[8];
};

/* on_get - record an async answer */
static void on_get(void *arg, uint64_t token, int rc,
		   const struct ctl_cache_entry *e)
{
	struct answers *a = arg;

	if (a->n == 8)
		fail_msg("more than 8 answers");
	a->token[a->n] = token;
	a->rc[a->n] = rc;
	if (e)
		a->e[a->n] = *e;
	a->n++;
}

/* test_redis_async - reads that do not wait: the answers come through
 * process() with their tokens, in order; a store that is down says so */
static void test_redis_async(void **state)
{
	struct scr_addr a = v4("198.18.0.7"), b = v4("198.18.0.8");
	struct answers ans = {0};
	struct ctl_cache_entry e;
	struct heard h = {0};
	struct ctl_shared *s;
	uint64_t now = (uint64_t)time(NULL), end;
	int port = free_port();
	pid_t pid;

	(void)state;
	pid = server_start(redis_argv, port);
	s = redis_new(port, "?prefix=ta:", &h);
	ctl_shared_on_get(s, on_get, &ans);
	memset(&e, 0, sizeof(e));
	e.addr = a;
	e.pass_until[SCR_TEST_PREGREET] = now + 100;
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	drive_until(s, idle, "write answered");

	assert_int_equal(ctl_shared_get_async(s, &a, 0), -EINVAL);
	assert_int_equal(ctl_shared_get_async(s, &a, 7), 0);
	assert_int_equal(ctl_shared_get_async(s, &b, 8), 0);
	assert_int_equal(ans.n, 0);		/* nothing waited for */
	end = mono_ms() + WAIT_MS;
	while (ans.n < 2 && mono_ms() < end)
		step(s, 20);
	assert_int_equal(ans.n, 2);
	assert_int_equal(ans.token[0], 7);
	assert_int_equal(ans.rc[0], 0);
	assert_memory_equal(ans.e[0].addr.b, a.b, 16);
	assert_int_equal(ans.e[0].pass_until[SCR_TEST_PREGREET], now + 100);
	assert_int_equal(ans.token[1], 8);
	assert_int_equal(ans.rc[1], -ENOENT);

	/* down: refused at once, no answer later */
	server_kill(pid);
	drive_until(s, is_down, "store seen down");
	assert_int_equal(ctl_shared_get_async(s, &a, 9), -EAGAIN);
	step(s, 20);
	assert_int_equal(ans.n, 2);
	ctl_shared_destroy(s);
}

/* A store played by the test on 127.0.0.1: the listening socket, the
 * node, the connections it made (redis: 2, memcache: 1). */
struct played {
	int lfd, fd[2], n;
	struct ctl_shared *s;
};

/* played_up - listen, a node for scheme ("redis", "memcache"), accept
 * its nconn connections, step it until up */
static void played_up(struct played *p, const char *scheme, int nconn)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char url[96], err[256];
	uint64_t end;

	memset(p, 0, sizeof(*p));
	p->fd[0] = p->fd[1] = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%u", scheme,
		 ntohs(sa.sin_port));
	p->s = ctl_shared_create(url, err, sizeof(err));
	if (p->s == NULL)
		fail_msg("%s: %s", url, err);
	end = mono_ms() + WAIT_MS;
	while ((p->n < nconn || !is_up(p->s)) && mono_ms() < end) {
		int c = accept(p->lfd, NULL, NULL);

		if (c >= 0 && p->n < nconn)
			p->fd[p->n++] = c;
		else if (c >= 0)
			close(c);
		step(p->s, 5);
	}
	assert_int_equal(p->n, nconn);
	assert_true(is_up(p->s));
}

/* played_heard - the index of the connection on which the node sent
 * what (-1 none within WAIT_MS) */
static int played_heard(struct played *p, const char *what)
{
	uint64_t end = mono_ms() + WAIT_MS;
	char buf[4096];
	int i;

	while (mono_ms() < end) {
		for (i = 0; i < p->n; i++) {
			ssize_t r = recv(p->fd[i], buf, sizeof(buf), MSG_DONTWAIT);

			if (r > 0 && memmem(buf, (size_t)r, what, strlen(what)))
				return i;
		}
		step(p->s, 5);
	}
	return -1;
}

/* played_reset - the store dies: every connection closed with a RST */
static void played_reset(struct played *p)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int i;

	for (i = 0; i < p->n; i++) {
		(void)setsockopt(p->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->fd[i]);
		p->fd[i] = -1;
	}
}

/* played_close - the node and the store */
static void played_close(struct played *p)
{
	int i;

	ctl_shared_destroy(p->s);
	for (i = 0; i < p->n; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	close(p->lfd);
}

/* test_redis_huge_array - a store that answers a read with an array of
 * 2^31 - 1 elements ("*2147483647"): refused as a broken answer at once
 * (the connection goes, the read is answered -EAGAIN), not a 16 GiB
 * allocation waiting for its elements (found by fuzz_shared) */
static void test_redis_huge_array(void **state)
{
	struct scr_addr a = v4("198.18.0.10");
	struct answers ans = {0};
	struct ctl_shared_stats st;
	struct played p;
	uint64_t end;
	int cmd;

	(void)state;
	played_up(&p, "redis", 2);
	ctl_shared_on_get(p.s, on_get, &ans);
	assert_int_equal(ctl_shared_get_async(p.s, &a, 1), 0);
	cmd = played_heard(&p, "HMGET");
	assert_true(cmd >= 0);
	assert_int_equal(send(p.fd[cmd], "*2147483647\r\n", 13, 0), 13);
	end = mono_ms() + WAIT_MS;
	while (ans.n == 0 && mono_ms() < end)
		step(p.s, 5);
	assert_int_equal(ans.n, 1);
	assert_int_equal(ans.token[0], 1);
	assert_int_equal(ans.rc[0], -EAGAIN);
	ctl_shared_stats(p.s, &st);
	assert_true(st.bad_records >= 1);
	played_close(&p);
}

/* test_redis_ask_store_died - a read asked when the store has just
 * died (the send fails): accepted or refused, but never answered from
 * inside ctl_shared_get_async; the -EAGAIN comes from process() (the
 * daemon's token free list was corrupted by the early answer) */
static void test_redis_ask_store_died(void **state)
{
	struct scr_addr a = v4("198.18.0.11");
	struct answers ans = {0};
	struct played p;
	uint64_t end;
	int rc;

	(void)state;
	played_up(&p, "redis", 2);
	ctl_shared_on_get(p.s, on_get, &ans);
	played_reset(&p);
	rc = ctl_shared_get_async(p.s, &a, 1);
	assert_int_equal(ans.n, 0);
	end = mono_ms() + WAIT_MS;
	while (rc == 0 && ans.n == 0 && mono_ms() < end)
		step(p.s, 5);
	assert_int_equal(ans.n, rc == 0 ? 1 : 0);
	if (rc == 0) {
		assert_int_equal(ans.token[0], 1);
		assert_int_equal(ans.rc[0], -EAGAIN);
	}
	step(p.s, 5);
	assert_int_equal(ans.n, rc == 0 ? 1 : 0);
	played_close(&p);
}

/* A node that asks again from inside its on_get callback. */
struct again {
	struct answers ans;
	struct ctl_shared *s;
	struct scr_addr next;
};

/* on_get_again - record, and the first time ask for next (token 2) */
static void on_get_again(void *arg, uint64_t token, int rc,
			 const struct ctl_cache_entry *e)
{
	struct again *g = arg;

	on_get(&g->ans, token, rc, e);
	if (g->ans.n == 1)
		(void)ctl_shared_get_async(g->s, &g->next, 2);
}

/* test_memcache_ask_in_callback_store_died - the store answers a read
 * and dies; the node's on_get asks again (allowed) and that send fails:
 * the first read is answered once, the second -EAGAIN later, and the
 * answer being read is not freed under the reader (was: answered twice,
 * then a memmove of (size_t)-5 bytes) */
static void test_memcache_ask_in_callback_store_died(void **state)
{
	struct scr_addr a = v4("198.18.0.12");
	struct again g = {{0}};
	struct played p;
	uint64_t end;
	unsigned i;

	(void)state;
	played_up(&p, "memcache", 1);
	g.s = p.s;
	g.next = v4("198.18.0.13");
	ctl_shared_on_get(p.s, on_get_again, &g);
	assert_int_equal(ctl_shared_get_async(p.s, &a, 1), 0);
	assert_int_equal(played_heard(&p, "get postscreen:198.18.0.12"), 0);
	assert_int_equal(send(p.fd[0], "END\r\n", 5, 0), 5);
	played_reset(&p);
	end = mono_ms() + WAIT_MS;
	while (g.ans.n < 2 && mono_ms() < end)
		step(p.s, 5);
	for (i = 0; i < 3; i++)
		step(p.s, 5);
	assert_int_equal(g.ans.n, 2);
	assert_int_equal(g.ans.token[0], 1);
	assert_int_equal(g.ans.rc[0], -ENOENT);
	assert_int_equal(g.ans.token[1], 2);
	assert_int_equal(g.ans.rc[1], -EAGAIN);
	played_close(&p);
}

static void test_redis_pubsub(void **state)
{
	struct heard ha = {0}, hb = {0};
	struct ctl_shared *na, *nb;
	struct ctl_cache_entry e;
	struct pollfd pf[4];
	uint64_t now = (uint64_t)time(NULL), end;
	int port = free_port(), timeout, n, i;
	pid_t pid;

	(void)state;
	pid = server_start(redis_argv, port);
	na = redis_new(port, "", &ha);
	nb = redis_new(port, "", &hb);

	for (i = 0; i < 3; i++) {
		memset(&e, 0, sizeof(e));
		e.addr = v4(i == 0 ? "198.18.1.1" : i == 1 ? "198.18.1.2" : "198.18.1.3");
		e.block_until = now + 3600 + (uint64_t)i;
		e.block_reasons = (scr_reasons)SCR_TEST_BIT(i);
		assert_int_equal(ctl_shared_put(na, &e, now), 0);
		drive_until(na, idle, "block written");
		/* Wait (bounded) until B's socket has the message, then one
		 * process() must deliver it. */
		end = mono_ms() + WAIT_MS;
		for (;;) {
			timeout = 100;
			n = ctl_shared_pollfds(nb, pf, 4, &timeout);
			assert_int_equal(n, 2);
			if (poll(pf, (nfds_t)n, 100) > 0 && (pf[1].revents & POLLIN))
				break;
			if (mono_ms() > end)
				fail_msg("block %d never reached B's socket", i);
		}
		ctl_shared_process(nb, pf, n, now);
		assert_int_equal(hb.n, (unsigned)i + 1);
		assert_memory_equal(&hb.last.addr, &e.addr, sizeof(e.addr));
		assert_int_equal(hb.last.block_until, e.block_until);
		assert_int_equal(hb.last.block_reasons, e.block_reasons);
	}
	/* A hears nothing of its own blocks. */
	step(na, 50);
	assert_int_equal(ha.n, 0);
	/* A third node that comes later learns the blocks from the set. */
	{
		struct heard hc = {0};
		struct ctl_shared *nc = redis_new(port, "", &hc);

		assert_int_equal(hc.n, 3);
		ctl_shared_destroy(nc);
	}
	ctl_shared_destroy(na);
	ctl_shared_destroy(nb);
	server_kill(pid);
}

/* heard_one - B has learned a block */
static struct heard *hb_watch;
static int heard_one(const struct ctl_shared *s)
{
	return is_up(s) && hb_watch->n > 0;
}

static void test_redis_restart(void **state)
{
	struct heard ha = {0}, hb = {0};
	struct ctl_shared *na, *nb;
	struct ctl_cache_entry e, got;
	struct ctl_shared_stats st;
	struct scr_addr x = v4("198.18.2.1"), y = v4("198.18.2.2");
	uint64_t now = (uint64_t)time(NULL);
	int port = free_port();
	pid_t pid;

	(void)state;
	pid = server_start(redis_argv, port);
	na = redis_new(port, "", &ha);
	nb = redis_new(port, "?pending=2", &hb);

	server_kill(pid);
	drive_until(na, is_down, "A sees the store down");
	drive_until(nb, is_down, "B sees the store down");
	assert_int_equal(ctl_shared_get(nb, &x, &got, 2), -EAGAIN);
	ctl_shared_stats(nb, &st);
	assert_int_equal(st.get_unavail, 1);

	/* B writes while down: kept (at most 2 clients), merged per client. */
	memset(&e, 0, sizeof(e));
	e.addr = x;
	e.pass_until[SCR_TEST_PREGREET] = now + 500;
	assert_int_equal(ctl_shared_put(nb, &e, now), 0);
	e.pass_until[SCR_TEST_PREGREET] = now + 100;
	e.pass_until[SCR_TEST_BARE_NEWLINE] = now + 600;
	assert_int_equal(ctl_shared_put(nb, &e, now), 0);
	e.addr = v4("198.18.2.3");
	assert_int_equal(ctl_shared_put(nb, &e, now), 0);
	e.addr = v4("198.18.2.4");
	assert_int_equal(ctl_shared_put(nb, &e, now), -ENOBUFS);
	ctl_shared_stats(nb, &st);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.put_dropped, 1);

	/* Restarted (empty). A comes back first and blocks y. */
	pid = server_start(redis_argv, port);
	drive_until(na, subscribed_idle, "A up again");
	memset(&e, 0, sizeof(e));
	e.addr = y;
	e.block_until = now + 900;
	e.block_reasons = SCR_TEST_BIT(SCR_TEST_PREGREET);
	assert_int_equal(ctl_shared_put(na, &e, now), 0);
	drive_until(na, idle, "A's block written");

	/* B comes back: learns y (written while it was away), replays x. */
	hb_watch = &hb;
	drive_until(nb, heard_one, "B learns the block written meanwhile");
	drive_until(nb, subscribed_idle, "B's writes replayed");
	assert_int_equal(hb.n, 1);
	assert_memory_equal(&hb.last.addr, &y, sizeof(y));
	assert_int_equal(hb.last.block_until, now + 900);
	assert_int_equal(hb.last.block_reasons, SCR_TEST_BIT(SCR_TEST_PREGREET));
	ctl_shared_stats(nb, &st);
	assert_true(st.disconnects >= 2);
	assert_true(st.connects >= 4);

	assert_int_equal(ctl_shared_get(na, &x, &got, 2000), 0);
	assert_int_equal(got.pass_until[SCR_TEST_PREGREET], now + 500);
	assert_int_equal(got.pass_until[SCR_TEST_BARE_NEWLINE], now + 600);
	assert_int_equal(ha.n, 0);

	ctl_shared_destroy(na);
	ctl_shared_destroy(nb);
	server_kill(pid);
}

/* --- memcache ----------------------------------------------------------------- */

/* mc_raw - one memcache command and its full answer on a plain socket */
static void mc_raw(int port, const char *cmd, char *out, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t off = 0;
	ssize_t n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, cmd, strlen(cmd), 0), (ssize_t)strlen(cmd));
	while (off + 1 < len) {
		n = recv(fd, out + off, len - 1 - off, 0);
		assert_true(n > 0);
		off += (size_t)n;
		out[off] = 0;
		if (strstr(out, "END\r\n") || strstr(out, "STORED\r\n"))
			break;
	}
	close(fd);
}

static void test_memcache(void **state)
{
	struct ctl_cache_entry e, got;
	struct ctl_shared_stats st;
	struct ctl_shared *s;
	struct scr_addr a = v4("198.18.3.1"), b = v4("198.18.3.2"), c = v4("198.18.3.3");
	uint64_t now = (uint64_t)time(NULL);
	char url[128], err[256], raw[512], want[256];
	int port = free_port();
	pid_t pid;

	(void)state;
	snprintf(url, sizeof(url), "memcache://127.0.0.1:%d", port);
	s = ctl_shared_create(url, err, sizeof(err));
	assert_non_null(s);
	/* Not started yet: down, reads unavailable. */
	step(s, 20);
	assert_int_not_equal(ctl_shared_state(s), CTL_SHARED_UP);
	assert_int_equal(ctl_shared_get(s, &a, &got, 2), -EAGAIN);

	pid = server_start(memcached_argv, port);
	drive_until(s, is_up, "memcache up");
	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), -ENOENT);

	memset(&e, 0, sizeof(e));
	e.addr = a;
	e.pass_until[SCR_TEST_PREGREET] = now + 86400;
	e.pass_until[SCR_TEST_PIPELINING] = now + 2 * 86400;
	e.pass_until[SCR_TEST_NON_SMTP] = now + 3 * 86400;
	e.pass_until[SCR_TEST_BARE_NEWLINE] = now + 4 * 86400;
	e.pass_until[SCR_TEST_HELO] = now + 5 * 86400;	/* not in the record */
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	drive_until(s, idle, "set answered");
	assert_int_equal(ctl_shared_get(s, &a, &got, 2000), 0);
	e.pass_until[SCR_TEST_HELO] = 0;
	assert_memory_equal(&got, &e, sizeof(e));

	/* The stored record is postscreen's, under postscreen's key. */
	mc_raw(port, "get postscreen:198.18.3.1\r\n", raw, sizeof(raw));
	snprintf(want, sizeof(want), "VALUE postscreen:198.18.3.1 0 %zu\r\n%" PRIu64
		 ";0;%" PRIu64 ";%" PRIu64 ";%" PRIu64 "\r\nEND\r\n",
		 (size_t)(4 * 10 + 1 + 4), now + 86400, now + 2 * 86400, now + 3 * 86400,
		 now + 4 * 86400);
	assert_string_equal(raw, want);

	/* A record postscreen wrote (test disabled = 1) reads as never passed. */
	snprintf(want, sizeof(want), "set postscreen:198.18.3.2 0 0 %zu\r\n%" PRIu64
		 ";1;1;1;1\r\n", (size_t)(10 + 8), now + 100);
	mc_raw(port, want, raw, sizeof(raw));
	assert_string_equal(raw, "STORED\r\n");
	assert_int_equal(ctl_shared_get(s, &b, &got, 2000), 0);
	assert_int_equal(got.pass_until[SCR_TEST_PREGREET], now + 100);
	assert_int_equal(got.pass_until[SCR_TEST_DNSBL], 0);
	assert_int_equal(got.pass_until[SCR_TEST_BARE_NEWLINE], 0);

	/* Garbage under a client's key: a miss, counted. */
	mc_raw(port, "set postscreen:198.18.3.3 0 0 5\r\nhello\r\n", raw, sizeof(raw));
	assert_int_equal(ctl_shared_get(s, &c, &got, 2000), -ENOENT);
	ctl_shared_stats(s, &st);
	assert_int_equal(st.bad_records, 1);
	assert_int_equal(ctl_shared_state(s), CTL_SHARED_UP);

	/* A block is not postscreen's business: kept local. */
	memset(&e, 0, sizeof(e));
	e.addr = c;
	e.block_until = now + 600;
	assert_int_equal(ctl_shared_put(s, &e, now), 0);
	ctl_shared_stats(s, &st);
	assert_int_equal(st.put_skipped, 1);
	assert_int_equal(st.pending, 0);

	server_kill(pid);
	drive_until(s, is_down, "memcache down");
	assert_int_equal(ctl_shared_get(s, &a, &got, 2), -EAGAIN);
	ctl_shared_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_psc_records),
		cmocka_unit_test(test_redis_roundtrip_expiry),
		cmocka_unit_test(test_redis_async),
		cmocka_unit_test(test_redis_every_test),
		cmocka_unit_test(test_redis_huge_array),
		cmocka_unit_test(test_redis_ask_store_died),
		cmocka_unit_test(test_memcache_ask_in_callback_store_died),
		cmocka_unit_test(test_redis_pubsub),
		cmocka_unit_test(test_redis_restart),
		cmocka_unit_test(test_memcache),
	};

	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
