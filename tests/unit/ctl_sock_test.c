/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock_test - the control socket (server, client) and ctl_cmd parsing
 * DESCRIPTION
 *	A server thread (ctl_sock_pollfds + poll + ctl_sock_process, the
 *	daemons' loop in small) answers with a handler that echoes its
 *	words, fails, or prints a big reply on request; raw clients send
 *	exact bytes (bad requests first) and compare the whole reply. Then
 *	what makes the server never wait: idle clients past the connection
 *	bound, a half line, a client that does not read its reply, a
 *	request one byte at a time, ctl_sock_serve with nothing to do,
 *	the bounds and ctl_sock_pollfds, each driven either by the server
 *	thread or by ctl_sock_serve in the test's own thread (a step that
 *	waited would hang there, and meson's timeout fails it). Then
 *	listen's stale/live/mode rules, ctl_sock_request, and, when built
 *	with libbpf, ctl_cmd's parsing with no maps (m = NULL). Nothing is
 *	timed: waits for the server are bounded loops or socket timeouts
 *	that fail the test.
 * THREADING
 *	Main thread + one server thread per fixture.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_sock.h"
#ifdef SCR_HAVE_BPF
#include "ctl_cmd.h"
#endif

#define BIG_REPLY	(256 * 1024)	/* more than a unix socket buffers */
#define HUGE_REPLY	(4 * 1024 * 1024)	/* "cache list" on a big cache */
#define SRV_IDLE_MS	1000	/* the server thread's idle deadline */
#define SHORT_IDLE_MS	200	/* once a test wants the idle ones gone */
#define LONG_IDLE_MS	60000	/* longer than any test runs */
#define CLIENT_WAIT_S	20	/* raw clients: bound on every recv */
#define WAIT_STEPS	2000	/* bounded waits: steps of WAIT_STEP_MS */
#define WAIT_STEP_MS	10
#define FLOOD		200	/* idle clients in test_idle_flood */

static char tdir[64];

/* tpath - a path in the test directory */
static const char *tpath(const char *name)
{
	static char buf[4][128];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
	return buf[i];
}

/* echo_handler - "argv: [w1] [w2]..."; "fail ..." fails with a message */
static int echo_handler(void *arg, int argc, char **argv, FILE *out,
			char *err, size_t errlen)
{
	int i;

	(void)arg;
	if (strcmp(argv[0], "fail") == 0) {
		fprintf(out, "partial\n");
		snprintf(err, errlen, "failed as asked\nsecond line");
		return -EIO;
	}
	if (strcmp(argv[0], "failbare") == 0)
		return -EPERM;
	if (strcmp(argv[0], "nonl") == 0) {
		fprintf(out, "x");
		return 0;
	}
	if (strcmp(argv[0], "big") == 0) {
		for (i = 0; i < BIG_REPLY / 64; i++)
			fprintf(out, "%063d\n", i);
		return 0;
	}
	if (strcmp(argv[0], "huge") == 0) {
		for (i = 0; i < HUGE_REPLY / 64; i++)
			fprintf(out, "%063d\n", i);
		return 0;
	}
	fprintf(out, "argv:");
	for (i = 0; i < argc; i++)
		fprintf(out, " [%s]", argv[i]);
	fprintf(out, "\n");
	return argv[argc] == NULL ? 0 : -EFAULT;
}

struct srv {
	struct ctl_sock *s;
	pthread_t th;
	atomic_int stop;
	atomic_int apply;	/* 1: the thread applies max_conn, idle_ms */
	atomic_int max_conn, idle_ms;
	atomic_int limits_rc;	/* what ctl_sock_set_limits said */
};

/* srv_main - the server thread: the daemons' poll loop in small */
static void *srv_main(void *arg)
{
	struct pollfd pf[CTL_SOCK_CONN_MAX + 1];
	struct srv *v = arg;

	while (!atomic_load(&v->stop)) {
		int timeout = 20, n;

		if (atomic_load(&v->apply)) {
			atomic_store(&v->limits_rc, ctl_sock_set_limits(v->s,
					atomic_load(&v->max_conn),
					atomic_load(&v->idle_ms)));
			atomic_store(&v->apply, 0);
		}
		n = ctl_sock_pollfds(v->s, pf, CTL_SOCK_CONN_MAX + 1, &timeout);
		if (poll(pf, (nfds_t)n, timeout) < 0)
			n = 0;	/* EINTR: process tries every connection */
		(void)ctl_sock_process(v->s, pf, n, echo_handler, NULL);
	}
	return NULL;
}

/* srv_set_limits - have the server thread change its bounds */
static void srv_set_limits(struct srv *v, int max_conn, int idle_ms)
{
	atomic_store(&v->max_conn, max_conn);
	atomic_store(&v->idle_ms, idle_ms);
	atomic_store(&v->apply, 1);
	while (atomic_load(&v->apply))
		(void)poll(NULL, 0, 1);	/* the thread turns at least every 20 ms */
	assert_int_equal(atomic_load(&v->limits_rc), 0);
}

/* srv_setup - a listening socket served by a thread */
static int srv_setup(void **state)
{
	struct srv *v = calloc(1, sizeof(*v));
	char err[256];

	if (v == NULL || ctl_sock_listen(tpath("srv.sock"), 0600, &v->s, err,
					 sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		free(v);
		return -1;
	}
	if (ctl_sock_set_limits(v->s, CTL_SOCK_CONN_MAX, SRV_IDLE_MS) != 0) {
		ctl_sock_close(v->s);
		free(v);
		return -1;
	}
	if (pthread_create(&v->th, NULL, srv_main, v) != 0) {
		ctl_sock_close(v->s);
		free(v);
		return -1;
	}
	*state = v;
	return 0;
}

/* srv_teardown - stop the thread, close the socket */
static int srv_teardown(void **state)
{
	struct srv *v = *state;

	atomic_store(&v->stop, 1);
	pthread_join(v->th, NULL);
	ctl_sock_close(v->s);
	free(v);
	return 0;
}

/* raw_connect - a client socket connected to path; a recv that waits
 * CLIENT_WAIT_S fails with EAGAIN (and the test with it) */
static int raw_connect(const char *path)
{
	struct timeval tv = { .tv_sec = CLIENT_WAIT_S };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* raw_read_all - the whole reply until EOF (a reset after data is EOF) */
static char *raw_read_all(int fd, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r == 0 || errno == ECONNRESET);
		break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct raw_case {
	const char *label;
	const char *req;	/* bytes sent as they are */
	size_t len;		/* 0: strlen(req) */
	int shut;		/* close the write side after sending */
	const char *want;	/* whole reply */
};

/* test_raw_requests - exact bytes in, exact reply out */
static void test_raw_requests(void **state)
{
	static const struct raw_case cases[] = {
		{ "17 words", "a b c d e f g h i j k l m n o p q\n", 0, 0,
		  "error: more than 16 words in request\n" },
		{ "empty line", "\n", 0, 0, "error: empty request\n" },
		{ "blanks only", " \t \r\n", 0, 0, "error: empty request\n" },
		{ "connect and close", "", 0, 1, "error: empty request\n" },
		{ "no newline then close", "block list", 0, 1,
		  "error: request not ended by a newline\n" },
		{ "silent client", "", 0, 0, "error: timeout\n" },
		{ "half a line then silence", "block li", 0, 0,
		  "error: timeout\n" },
		{ "control byte", "block \x01 list\n", 0, 0,
		  "error: bad byte 0x01 in request\n" },
		{ "NUL byte", "block\0list\n", 11, 0,
		  "error: bad byte 0x00 in request\n" },
		{ "high byte (UTF-8)", "caf\xc3\xa9\n", 0, 0,
		  "error: bad byte 0xc3 in request\n" },
		{ "DEL byte", "a\x7f\n", 0, 0, "error: bad byte 0x7f in request\n" },
		{ "handler fails with a two-line message", "fail now\n", 0, 0,
		  "partial\nerror: failed as asked second line\n" },
		{ "handler fails without a message", "failbare\n", 0, 0,
		  "error: Operation not permitted\n" },
		{ "reply without final newline", "nonl\n", 0, 0, "x\nok\n" },
		{ "one word", "status\n", 0, 0, "argv: [status]\nok\n" },
		{ "16 words", "a b c d e f g h i j k l m n o p\n", 0, 0,
		  "argv: [a] [b] [c] [d] [e] [f] [g] [h] [i] [j] [k] [l] [m] "
		  "[n] [o] [p]\nok\n" },
		{ "CRLF, tabs, runs of blanks", "  block\t\tadd   198.18.0.0/24 \r\n",
		  0, 0, "argv: [block] [add] [198.18.0.0/24]\nok\n" },
		{ "a second line is ignored", "echo 1\necho 2\n", 0, 0,
		  "argv: [echo] [1]\nok\n" },
		{ "newline sent late, client keeps writing side open",
		  "block list\n", 0, 0, "argv: [block] [list]\nok\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct raw_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->req), rlen;
		int fd = raw_connect(tpath("srv.sock"));
		char *got;

		if (len)
			assert_int_equal(send(fd, c->req, len, MSG_NOSIGNAL),
					 (ssize_t)len);
		if (c->shut)
			shutdown(fd, SHUT_WR);
		got = raw_read_all(fd, &rlen);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->label, got,
				 c->want);
		free(got);
		close(fd);
	}
}

/* test_line_limit - 1024 bytes with the newline pass, 1025 do not */
static void test_line_limit(void **state)
{
	static const struct { const char *label; size_t word; int ok; } cases[] = {
		{ "1025 bytes", CTL_SOCK_LINE, 0 },
		{ "64 KiB", 65536, 0 },
		{ "1024 bytes", CTL_SOCK_LINE - 1, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].word, rlen;
		char *req = malloc(n + 1), *want = malloc(n + 32), *got;
		int fd = raw_connect(tpath("srv.sock"));

		assert_non_null(req);
		assert_non_null(want);
		memset(req, 'a', n);
		req[n] = '\n';
		if (cases[i].ok)
			snprintf(want, n + 32, "argv: [%.*s]\nok\n", (int)n, req);
		else
			snprintf(want, n + 32, "error: request longer than %d "
				 "bytes\n", CTL_SOCK_LINE);
		/* The server stops reading at the limit: don't block on send. */
		(void)send(fd, req, n + 1 > 4096 ? 4096 : n + 1,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
		got = raw_read_all(fd, &rlen);
		if (strcmp(got, want) != 0)
			fail_msg("%s: got %.80s...", cases[i].label, got);
		free(got);
		free(req);
		free(want);
		close(fd);
	}
}

/* nothing_to_read - the server has neither answered fd nor closed it */
static void nothing_to_read(int fd, const char *what)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	if (r != -1 || (errno != EAGAIN && errno != EWOULDBLOCK))
		fail_msg("%s: expected nothing to read, recv %zd (%s)", what, r,
			 r < 0 ? strerror(errno) : "data or EOF");
}

/* serve_until_closed - ctl_sock_serve (s not NULL) until the server has
 * closed its end of fd, without reading fd; bounded */
static void serve_until_closed(struct ctl_sock *s, int fd)
{
	int i;

	for (i = 0; i < WAIT_STEPS; i++) {
		struct pollfd pf = { .fd = fd, .events = POLLRDHUP };

		if (s)
			(void)ctl_sock_serve(s, echo_handler, NULL);
		assert_true(poll(&pf, 1, 0) >= 0);
		if (pf.revents & (POLLHUP | POLLRDHUP))
			return;
		(void)poll(NULL, 0, WAIT_STEP_MS);
	}
	fail_msg("the server did not close the connection");
}

/* serve_read_all - the whole reply on fd, this thread calling
 * ctl_sock_serve while it waits; bounded */
static char *serve_read_all(struct ctl_sock *s, int fd, size_t *len)
{
	size_t n = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1);
	int idle = 0;

	assert_non_null(buf);
	for (;;) {
		ssize_t r;

		(void)ctl_sock_serve(s, echo_handler, NULL);
		if (cap - n < 4096) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (r > 0) {
			n += (size_t)r;
			idle = 0;
			continue;
		}
		if (r == 0 || errno == ECONNRESET)
			break;
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR);
		if (++idle > WAIT_STEPS)
			fail_msg("no reply and no EOF");
		(void)poll(NULL, 0, 1);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* big_prefix_ok - text[0..len) is how echo_handler's big/huge replies
 * begin: lines "%063d\n" numbered from 0 */
static void big_prefix_ok(const char *text, size_t len)
{
	char line[65];
	size_t i;

	for (i = 0; i + 64 <= len; i += 64) {
		snprintf(line, sizeof(line), "%063zu\n", i / 64);
		if (memcmp(text + i, line, 64) != 0)
			fail_msg("reply line %zu is not \"%.63s\"", i / 64, line);
	}
}

/* test_serve_direct - serve returns at once: nobody waiting, a client
 * that has not written (the old server waited 200 ms for it and
 * answered a timeout: now it is 0 and the client is served when it
 * writes), then a batch of waiting clients */
static void test_serve_direct(void **state)
{
	struct ctl_sock *s;
	char err[256], *got;
	int fds[CTL_SOCK_BATCH + 4], i;
	size_t rlen;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("direct.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	/* Nobody waiting: 0. */
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	/* Connected, nothing written: accepted, 0, and again 0. */
	fds[0] = raw_connect(tpath("direct.sock"));
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	nothing_to_read(fds[0], "client that has not written");
	/* It writes: answered in the next step. */
	assert_int_equal(send(fds[0], "echo z\n", 7, 0), 7);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(fds[0], &rlen);
	assert_string_equal(got, "argv: [echo] [z]\nok\n");
	free(got);
	close(fds[0]);
	/* 20 waiting clients: a step accepts 16, then 4. */
	for (i = 0; i < CTL_SOCK_BATCH + 4; i++) {
		fds[i] = raw_connect(tpath("direct.sock"));
		assert_int_equal(send(fds[i], "echo x\n", 7, 0), 7);
	}
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), CTL_SOCK_BATCH);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 4);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	for (i = 0; i < CTL_SOCK_BATCH + 4; i++) {
		got = raw_read_all(fds[i], &rlen);
		assert_string_equal(got, "argv: [echo] [x]\nok\n");
		free(got);
		close(fds[i]);
	}
	ctl_sock_close(s);
}

/* test_idle_flood - 200 idle clients: the oldest over the bound are
 * told "too many", an operator's status is answered while the rest
 * are still connected, and the idle deadline closes those */
static void test_idle_flood(void **state)
{
	const int evicted = FLOOD - CTL_SOCK_CONN_MAX + 1;	/* +1: status */
	char err[256] = "", *text = NULL, *got, want[64];
	char *argv[] = { "status", NULL };
	struct srv *v = *state;
	int fds[FLOOD], i;
	size_t tlen = 0, rlen;
	FILE *out;

	srv_set_limits(v, CTL_SOCK_CONN_MAX, LONG_IDLE_MS);
	for (i = 0; i < FLOOD; i++)
		fds[i] = raw_connect(tpath("srv.sock"));
	/* Accepted in order: status comes after all 200, takes the slot of
	 * the oldest idle one and gets its whole answer. */
	out = open_memstream(&text, &tlen);
	assert_non_null(out);
	assert_int_equal(ctl_sock_request(tpath("srv.sock"), 1, argv, out, err,
					  sizeof(err)), 0);
	fclose(out);
	assert_string_equal(text, "argv: [status]\n");
	free(text);
	/* The 137 oldest got the line and EOF, the 63 newest still wait. */
	snprintf(want, sizeof(want), "error: too many control connections "
		 "(%d)\n", CTL_SOCK_CONN_MAX);
	for (i = 0; i < FLOOD; i++) {
		if (i >= evicted) {
			nothing_to_read(fds[i], "idle client within the bound");
			continue;
		}
		got = raw_read_all(fds[i], &rlen);
		if (strcmp(got, want) != 0)
			fail_msg("idle client %d: got \"%s\"", i, got);
		free(got);
		close(fds[i]);
	}
	/* A short deadline: the rest are told and closed. */
	srv_set_limits(v, CTL_SOCK_CONN_MAX, SHORT_IDLE_MS);
	for (i = evicted; i < FLOOD; i++) {
		got = raw_read_all(fds[i], &rlen);	/* bounded: SO_RCVTIMEO */
		if (strcmp(got, "error: timeout\n") != 0)
			fail_msg("idle client %d: got \"%s\"", i, got);
		free(got);
		close(fds[i]);
	}
}

/* test_half_line - a client stops in mid-line: others are served, it
 * gets "error: timeout" and EOF at the deadline */
static void test_half_line(void **state)
{
	struct srv *v = *state;
	char *got;
	size_t rlen;
	int half, i;

	srv_set_limits(v, CTL_SOCK_CONN_MAX, LONG_IDLE_MS);
	half = raw_connect(tpath("srv.sock"));
	assert_int_equal(send(half, "block li", 8, 0), 8);
	for (i = 0; i < 5; i++) {
		char err[256] = "", *text = NULL, word[16];
		char *argv[] = { "echo", word, NULL };
		size_t tlen = 0;
		FILE *out = open_memstream(&text, &tlen);
		char want[64];

		assert_non_null(out);
		snprintf(word, sizeof(word), "%d", i);
		assert_int_equal(ctl_sock_request(tpath("srv.sock"), 2, argv, out,
						  err, sizeof(err)), 0);
		fclose(out);
		snprintf(want, sizeof(want), "argv: [echo] [%d]\n", i);
		assert_string_equal(text, want);
		free(text);
	}
	nothing_to_read(half, "half a line");
	srv_set_limits(v, CTL_SOCK_CONN_MAX, SHORT_IDLE_MS);
	got = raw_read_all(half, &rlen);
	assert_string_equal(got, "error: timeout\n");
	free(got);
	close(half);
}

/* test_slow_reader - a client that does not read a 4 MB reply: serve
 * keeps returning, others are served, the deadline closes it */
static void test_slow_reader(void **state)
{
	struct ctl_sock *s;
	char err[256], *got;
	int slow, other, i;
	size_t rlen;
	struct pollfd pf;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("slow.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	assert_int_equal(ctl_sock_set_limits(s, CTL_SOCK_CONN_MAX, LONG_IDLE_MS),
			 0);
	slow = raw_connect(tpath("slow.sock"));
	assert_int_equal(send(slow, "huge\n", 5, 0), 5);
	/* Answered: the handler ran, the reply is going out piecewise. */
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	for (i = 0; i < 100; i++)
		assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	/* Another client is served meanwhile. */
	other = raw_connect(tpath("slow.sock"));
	assert_int_equal(send(other, "echo y\n", 7, 0), 7);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(other, &rlen);
	assert_string_equal(got, "argv: [echo] [y]\nok\n");
	free(got);
	close(other);
	/* The slow one has a part of its reply waiting, still open. */
	pf = (struct pollfd){ .fd = slow, .events = POLLIN | POLLRDHUP };
	assert_int_equal(poll(&pf, 1, 0), 1);
	assert_int_equal(pf.revents, POLLIN);
	/* A short deadline closes it; what it got is a truncated reply. */
	assert_int_equal(ctl_sock_set_limits(s, CTL_SOCK_CONN_MAX, SHORT_IDLE_MS),
			 0);
	serve_until_closed(s, slow);
	got = raw_read_all(slow, &rlen);
	assert_true(rlen > 0);
	assert_true(rlen < HUGE_REPLY);
	big_prefix_ok(got, rlen);
	free(got);
	close(slow);
	ctl_sock_close(s);
}

struct byte_case {
	const char *label;
	const char *req;	/* sent one byte per ctl_sock_serve step */
	size_t at;		/* answered after this many bytes; 0: all */
	const char *want;	/* whole reply */
};

/* test_byte_by_byte - a request assembled from 1-byte writes, with a
 * step after each: nothing is answered before its last byte */
static void test_byte_by_byte(void **state)
{
	static const struct byte_case cases[] = {
		{ "17 words", "a b c d e f g h i j k l m n o p q\n", 0,
		  "error: more than 16 words in request\n" },
		{ "control byte at the end", "block list \x01\n", 0,
		  "error: bad byte 0x01 in request\n" },
		{ "blanks only", " \t \r\n", 0, "error: empty request\n" },
		{ "CRLF, tabs, runs of blanks", "  block\t\tadd   198.18.0.0/24 1h\r\n",
		  0, "argv: [block] [add] [198.18.0.0/24] [1h]\nok\n" },
		{ "two lines: answered at the first newline", "echo 1\necho 2\n", 7,
		  "argv: [echo] [1]\nok\n" },
	};
	struct ctl_sock *s;
	char err[256], *got;
	size_t i, k, rlen;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("bytes.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct byte_case *c = &cases[i];
		size_t at = c->at ? c->at : strlen(c->req);
		int fd = raw_connect(tpath("bytes.sock"));

		for (k = 0; k < at; k++) {
			int n;

			assert_int_equal(send(fd, c->req + k, 1, MSG_NOSIGNAL), 1);
			n = ctl_sock_serve(s, echo_handler, NULL);
			if (n != (k + 1 == at))
				fail_msg("%s: byte %zu: serve %d", c->label, k, n);
		}
		got = raw_read_all(fd, &rlen);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->label, got,
				 c->want);
		free(got);
		close(fd);
	}
	/* 1025 bytes, one at a time: refused at byte 1024. */
	{
		int fd = raw_connect(tpath("bytes.sock"));
		char want[64];

		for (k = 0; k < CTL_SOCK_LINE; k++) {
			assert_int_equal(send(fd, "a", 1, MSG_NOSIGNAL), 1);
			assert_int_equal(ctl_sock_serve(s, echo_handler, NULL),
					 k + 1 == CTL_SOCK_LINE);
		}
		snprintf(want, sizeof(want), "error: request longer than %d "
			 "bytes\n", CTL_SOCK_LINE);
		got = raw_read_all(fd, &rlen);
		assert_string_equal(got, want);
		free(got);
		close(fd);
	}
	ctl_sock_close(s);
}

/* test_limits - bad bounds first; then the bound: the oldest idle
 * connection makes room, a newcomer is refused when all are replying,
 * and a bound over CTL_SOCK_CONN_MAX holds that many */
static void test_limits(void **state)
{
	static const struct { const char *label; int max, idle; } bad[] = {
		{ "no connections", 0, 1000 },
		{ "negative connections", -1, 1000 },
		{ "over CTL_SOCK_CONN_LIMIT", CTL_SOCK_CONN_LIMIT + 1, 1000 },
		{ "idle 0", 1, 0 },
		{ "idle negative", 1, -5 },
		{ "idle over CTL_SOCK_IDLE_LIMIT_MS", 1, CTL_SOCK_IDLE_LIMIT_MS + 1 },
	};
	enum { MANY = CTL_SOCK_CONN_MAX + 36 };
	struct ctl_sock *s;
	char err[256], *got;
	int a, b, c, d, e, many[MANY + 1], i;
	size_t k, rlen;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("limits.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		if (ctl_sock_set_limits(s, bad[k].max, bad[k].idle) != -EINVAL)
			fail_msg("%s: accepted", bad[k].label);
	/* Two slots, two idle clients: a third evicts the oldest. */
	assert_int_equal(ctl_sock_set_limits(s, 2, LONG_IDLE_MS), 0);
	a = raw_connect(tpath("limits.sock"));
	b = raw_connect(tpath("limits.sock"));
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	c = raw_connect(tpath("limits.sock"));
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(a, &rlen);
	assert_string_equal(got, "error: too many control connections (2)\n");
	free(got);
	close(a);
	nothing_to_read(b, "b");
	nothing_to_read(c, "c");
	assert_int_equal(send(c, "echo c\n", 7, 0), 7);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(c, &rlen);
	assert_string_equal(got, "argv: [echo] [c]\nok\n");
	free(got);
	close(c);
	/* One slot: d's request evicts b; while d's reply is out, e is
	 * refused at once. */
	assert_int_equal(ctl_sock_set_limits(s, 1, LONG_IDLE_MS), 0);
	d = raw_connect(tpath("limits.sock"));
	assert_int_equal(send(d, "huge\n", 5, 0), 5);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 2);
	got = raw_read_all(b, &rlen);
	assert_string_equal(got, "error: too many control connections (1)\n");
	free(got);
	close(b);
	e = raw_connect(tpath("limits.sock"));
	assert_int_equal(send(e, "echo e\n", 7, 0), 7);
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(e, &rlen);
	assert_string_equal(got, "error: too many control connections (1)\n");
	free(got);
	close(e);
	got = serve_read_all(s, d, &rlen);
	assert_int_equal(rlen, HUGE_REPLY + 3);
	big_prefix_ok(got, HUGE_REPLY);
	assert_string_equal(got + HUGE_REPLY, "ok\n");
	free(got);
	close(d);
	/* More than CTL_SOCK_CONN_MAX: all held (accepted a few at a time,
	 * the backlog is finite), the next one evicts the first. */
	assert_int_equal(ctl_sock_set_limits(s, MANY, LONG_IDLE_MS), 0);
	for (i = 0; i < MANY; i++) {
		many[i] = raw_connect(tpath("limits.sock"));
		if (i % 8 == 7)
			assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	}
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	for (i = 0; i < MANY; i++)
		nothing_to_read(many[i], "within a raised bound");
	many[MANY] = raw_connect(tpath("limits.sock"));
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	snprintf(err, sizeof(err), "error: too many control connections (%d)\n",
		 MANY);
	got = raw_read_all(many[0], &rlen);
	assert_string_equal(got, err);
	free(got);
	for (i = 1; i <= MANY; i++)
		nothing_to_read(many[i], "within a raised bound");
	/* Close with connections open: they see EOF, nothing leaks. */
	ctl_sock_close(s);
	for (i = 0; i <= MANY; i++) {
		if (i > 0) {
			got = raw_read_all(many[i], &rlen);
			assert_int_equal(rlen, 0);
			free(got);
		}
		close(many[i]);
	}
}

/* test_pollfds - what a daemon's loop gets: the listener and each
 * connection with the event it waits for, a timeout lowered to the
 * next deadline, and service for what did not fit */
static void test_pollfds(void **state)
{
	struct pollfd pf[8];
	struct ctl_sock *s;
	char err[256], *got;
	int idle, writer, late, timeout, n, i, in = 0, outs = 0;
	size_t rlen;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("pfd.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	assert_int_equal(ctl_sock_set_limits(s, CTL_SOCK_CONN_MAX, LONG_IDLE_MS),
			 0);
	/* No room: nothing filled, and a short timeout to come back. */
	timeout = -1;
	assert_int_equal(ctl_sock_pollfds(s, pf, 0, &timeout), 0);
	assert_int_equal(timeout, CTL_SOCK_SPILL_MS);
	/* Nobody: the listener alone, no deadline. */
	timeout = -1;
	assert_int_equal(ctl_sock_pollfds(s, pf, 8, &timeout), 1);
	assert_int_equal(pf[0].fd, ctl_sock_fd(s));
	assert_int_equal(pf[0].events, POLLIN);
	assert_int_equal(timeout, -1);
	/* An idle client and one whose huge reply is not read. */
	idle = raw_connect(tpath("pfd.sock"));
	writer = raw_connect(tpath("pfd.sock"));
	assert_int_equal(send(writer, "huge\n", 5, 0), 5);
	assert_int_equal(poll(pf, 1, -1), 1);	/* the listener is ready */
	assert_int_equal(ctl_sock_process(s, pf, 1, echo_handler, NULL), 1);
	timeout = -1;
	n = ctl_sock_pollfds(s, pf, 8, &timeout);
	assert_int_equal(n, 3);
	assert_int_equal(pf[0].fd, ctl_sock_fd(s));
	for (i = 1; i < n; i++) {
		in += pf[i].events == POLLIN;
		outs += pf[i].events == POLLOUT;
	}
	assert_int_equal(in, 1);
	assert_int_equal(outs, 1);
	assert_true(timeout >= 0 && timeout <= LONG_IDLE_MS);
	timeout = 0;
	(void)ctl_sock_pollfds(s, pf, 8, &timeout);
	assert_int_equal(timeout, 0);
	/* A third client, accepted before it writes; then room for the
	 * listener only: its request is still answered by process, and
	 * the timeout is short. */
	late = raw_connect(tpath("pfd.sock"));
	timeout = -1;
	assert_int_equal(ctl_sock_pollfds(s, pf, 8, &timeout), 3);
	assert_int_equal(poll(pf, 3, -1), 1);	/* the listener is ready */
	assert_int_equal(ctl_sock_process(s, pf, 3, echo_handler, NULL), 0);
	assert_int_equal(send(late, "echo late\n", 10, 0), 10);
	timeout = -1;
	assert_int_equal(ctl_sock_pollfds(s, pf, 1, &timeout), 1);
	assert_int_equal(pf[0].fd, ctl_sock_fd(s));
	assert_int_equal(timeout, CTL_SOCK_SPILL_MS);
	assert_int_equal(poll(pf, 1, 0), 0);	/* nobody new */
	assert_int_equal(ctl_sock_process(s, pf, 1, echo_handler, NULL), 1);
	got = raw_read_all(late, &rlen);
	assert_string_equal(got, "argv: [echo] [late]\nok\n");
	free(got);
	close(late);
	/* Close with a reply half out and an idle client: both see EOF. */
	ctl_sock_close(s);
	got = raw_read_all(idle, &rlen);
	assert_int_equal(rlen, 0);
	free(got);
	got = raw_read_all(writer, &rlen);
	assert_true(rlen < HUGE_REPLY + 3);
	big_prefix_ok(got, rlen);
	free(got);
	close(idle);
	close(writer);
}

/* stale_socket - a socket file nobody listens on */
static void stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);	/* the file stays */
}

/* test_listen_errors - bad paths first, then stale/live/modes */
static void test_listen_errors(void **state)
{
	char err[256], longp[200];
	struct ctl_sock *s = NULL, *s2 = NULL;
	struct stat st;
	FILE *f;

	(void)state;
	/* Too long for sun_path. */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ctl_sock_listen(longp, 0600, &s, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_null(s);
	/* A regular file in the way is not replaced. */
	f = fopen(tpath("file.sock"), "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(ctl_sock_listen(tpath("file.sock"), 0600, &s, err,
					 sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(stat(tpath("file.sock"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* Parent under a regular file: mkdir fails, says where. */
	assert_true(ctl_sock_listen(tpath("file.sock/x.sock"), 0600, &s, err,
				    sizeof(err)) < 0);
	assert_non_null(strstr(err, "file.sock"));
	/* Stale socket file: replaced. */
	stale_socket(tpath("stale.sock"));
	assert_int_equal(ctl_sock_listen(tpath("stale.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	/* Live: refused, and the live one keeps working. */
	assert_int_equal(ctl_sock_listen(tpath("stale.sock"), 0600, &s2, err,
					 sizeof(err)), -EADDRINUSE);
	assert_null(s2);
	assert_non_null(strstr(err, "another smtpscreen is running on "));
	assert_non_null(strstr(err, "stale.sock"));
	/* Mode 0600 whatever the umask. */
	assert_int_equal(stat(tpath("stale.sock"), &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	ctl_sock_close(s);
	/* Close unlinked it. */
	assert_int_equal(stat(tpath("stale.sock"), &st), -1);
	assert_int_equal(errno, ENOENT);
	/* Another mode, and missing parent directories made 0755. */
	assert_int_equal(ctl_sock_listen(tpath("a/b/m.sock"), 0660, &s, err,
					 sizeof(err)), 0);
	assert_int_equal(stat(tpath("a/b/m.sock"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(stat(tpath("a/b"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	/* No temporary file left beside it. */
	assert_int_equal(rmdir(tpath("a/b")), -1);
	assert_int_equal(errno, ENOTEMPTY);
	/* A successor's socket is not unlinked by our close. */
	assert_int_equal(unlink(tpath("a/b/m.sock")), 0);
	assert_int_equal(ctl_sock_listen(tpath("a/b/m.sock"), 0600, &s2, err,
					 sizeof(err)), 0);
	ctl_sock_close(s);
	assert_int_equal(stat(tpath("a/b/m.sock"), &st), 0);
	ctl_sock_close(s2);
	assert_int_equal(stat(tpath("a/b/m.sock"), &st), -1);
	ctl_sock_close(NULL);
	assert_int_equal(rmdir(tpath("a/b")), 0);
	assert_int_equal(rmdir(tpath("a")), 0);
	unlink(tpath("file.sock"));
}

struct req_case {
	const char *label;
	int argc;
	const char *argv[20];
	int rc;
	const char *err;	/* substring of err, or NULL */
	const char *out;	/* whole text written to out, or NULL */
};

/* test_request - the client against the server thread */
static void test_request(void **state)
{
	static const struct req_case cases[] = {
		{ "no words", 0, { NULL }, -EINVAL, "1 to 16 words", "" },
		{ "17 words", 17, { "a", "b", "c", "d", "e", "f", "g", "h", "i",
		  "j", "k", "l", "m", "n", "o", "p", "q" }, -EINVAL,
		  "1 to 16 words", "" },
		{ "empty word", 2, { "block", "" }, -EINVAL, "word 2 is empty",
		  "" },
		{ "word with a blank", 2, { "block", "a b" }, -EINVAL,
		  "bad byte 0x20 in word 2", "" },
		{ "word with a newline", 1, { "status\nreload" }, -EINVAL,
		  "bad byte 0x0a in word 1", "" },
		{ "daemon error", 2, { "fail", "x" }, 1,
		  "failed as asked second line", "partial\n" },
		{ "daemon error, no text", 1, { "failbare" }, 1,
		  "Operation not permitted", "" },
		{ "ok", 3, { "block", "add", "198.18.0.0/24" }, 0, NULL,
		  "argv: [block] [add] [198.18.0.0/24]\n" },
		{ "ok, text without newline", 1, { "nonl" }, 0, NULL, "x\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct req_case *c = &cases[i];
		char err[256] = "", *text = NULL;
		size_t tlen = 0;
		FILE *out = open_memstream(&text, &tlen);
		int rc;

		assert_non_null(out);
		rc = ctl_sock_request(tpath("srv.sock"), c->argc,
				      (char **)c->argv, out, err, sizeof(err));
		fclose(out);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (%s)", c->label, rc, c->rc,
				 err);
		if (c->err && strstr(err, c->err) == NULL)
			fail_msg("%s: err \"%s\", want \"%s\"", c->label, err,
				 c->err);
		if (c->out && strcmp(text, c->out) != 0)
			fail_msg("%s: out \"%s\", want \"%s\"", c->label, text,
				 c->out);
		free(text);
	}
}

/* test_request_big - a reply larger than the socket buffers */
static void test_request_big(void **state)
{
	char err[256] = "", *text = NULL, *argv[] = { "big", NULL };
	size_t tlen = 0;
	FILE *out = open_memstream(&text, &tlen);

	(void)state;
	assert_non_null(out);
	assert_int_equal(ctl_sock_request(tpath("srv.sock"), 1, argv, out, err,
					  sizeof(err)), 0);
	fclose(out);
	assert_int_equal(tlen, BIG_REPLY);
	assert_memory_equal(text + BIG_REPLY - 64, "000000000000000000000000"
			    "000000000000000000000000000000000004095\n", 64);
	free(text);
}

/* test_request_refused - the only slot is sending a reply: the client
 * gets the daemon's "too many" line as its error, even when the daemon
 * closed before the request was out */
static void test_request_refused(void **state)
{
	char err[256] = "", *argv[] = { "status", NULL }, *text = NULL;
	struct srv *v = *state;
	struct pollfd pf;
	size_t tlen = 0;
	FILE *out;
	int hog, i;

	srv_set_limits(v, 1, LONG_IDLE_MS);
	hog = raw_connect(tpath("srv.sock"));
	assert_int_equal(send(hog, "huge\n", 5, 0), 5);
	pf = (struct pollfd){ .fd = hog, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, CLIENT_WAIT_S * 1000), 1);	/* replying */
	for (i = 0; i < 20; i++) {
		out = open_memstream(&text, &tlen);
		assert_non_null(out);
		assert_int_equal(ctl_sock_request(tpath("srv.sock"), 1, argv, out,
						  err, sizeof(err)), 1);
		fclose(out);
		assert_string_equal(err, "too many control connections (1)");
		assert_string_equal(text, "");
		free(text);
		text = NULL;
	}
	close(hog);
}

/* test_request_no_daemon - missing file, stale file */
static void test_request_no_daemon(void **state)
{
	char err[256] = "", *argv[] = { "status", NULL };

	(void)state;
	assert_int_equal(ctl_sock_request(tpath("missing.sock"), 1, argv, stdout,
					  err, sizeof(err)), -ENOENT);
	assert_string_equal(err, strerror(ENOENT));
	stale_socket(tpath("dead.sock"));
	assert_int_equal(ctl_sock_request(tpath("dead.sock"), 1, argv, stdout,
					  err, sizeof(err)), -ECONNREFUSED);
	unlink(tpath("dead.sock"));
}

#ifdef SCR_HAVE_BPF
struct cmd_case {
	const char *label;
	const char *words;	/* split at blanks */
	int rc;			/* ctl_cmd_maps(NULL, ...) */
	const char *err;	/* prefix of err */
};

/* split - words of a test line in buf */
static int split(const char *words, char *buf, size_t len, char **argv)
{
	int argc = 0;
	char *p;

	snprintf(buf, len, "%s", words);
	for (p = strtok(buf, " "); p; p = strtok(NULL, " "))
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc;
}

/* test_cmd_errors - parse errors with no maps at all */
static void test_cmd_errors(void **state)
{
	static const struct cmd_case cases[] = {
		{ "no words", "", -EINVAL, "empty command" },
		{ "daemon command status", "status", -ENOTSUP,
		  "\"status\" is not an XDP map command" },
		{ "daemon command cache flush", "cache flush", -ENOTSUP, "\"cache\"" },
		{ "unknown word", "blocks add 198.18.0.0", -ENOTSUP, "\"blocks\"" },
		{ "block alone", "block", -EINVAL,
		  "usage: block add CIDR [TTL] | block del CIDR | block list" },
		{ "add without CIDR", "allow add", -EINVAL,
		  "usage: allow add CIDR [TTL]" },
		{ "add with extra word", "block add 198.18.0.0/24 1h x", -EINVAL,
		  "usage: block" },
		{ "del with TTL", "block del 198.18.0.0/24 1h", -EINVAL,
		  "usage: block" },
		{ "list with a word", "block list all", -EINVAL, "usage: block" },
		{ "unknown verb", "block flush", -EINVAL, "usage: block" },
		{ "stats with a word", "stats now", -EINVAL, "usage: stats" },
		{ "sweep with a word", "sweep all", -EINVAL, "usage: sweep" },
		{ "bad IPv4 octet", "block add 198.18.0.300", -EINVAL,
		  "bad CIDR \"198.18.0.300\": " },
		{ "bad mask", "block del 198.18.0.0/33", -EINVAL,
		  "bad CIDR \"198.18.0.0/33\": " },
		{ "IPv4 host bits", "block add 198.18.0.1/24", -EINVAL,
		  "bad CIDR \"198.18.0.1/24\": non-null host address bits" },
		{ "IPv6 host bits", "allow add 2001:db8::1/32", -EINVAL,
		  "bad CIDR \"2001:db8::1/32\": non-null host address bits" },
		{ "not an address", "allow del mail.example", -EINVAL,
		  "bad CIDR \"mail.example\": " },
		{ "TTL zero", "block add 198.18.0.0/24 0", -EINVAL,
		  "bad TTL \"0\": out of range (1s..366d, units s m h d w)" },
		{ "TTL 367d", "block add 198.18.0.0/24 367d", -EINVAL,
		  "bad TTL \"367d\": out of range" },
		{ "TTL 53w", "block add 198.18.0.0/24 53w", -EINVAL,
		  "bad TTL \"53w\": out of range" },
		{ "TTL huge", "block add 198.18.0.0/24 99999999999999999999999",
		  -EINVAL, "bad TTL \"99999999999999999999999\": out of range" },
		{ "TTL unit x", "block add 198.18.0.0/24 1x", -EINVAL,
		  "bad TTL \"1x\": not a number with a unit" },
		{ "TTL two units", "block add 198.18.0.0/24 1hm", -EINVAL,
		  "bad TTL \"1hm\": not a number with a unit" },
		{ "TTL negative", "block add 198.18.0.0/24 -5", -EINVAL,
		  "bad TTL \"-5\": not a number with a unit" },
		{ "TTL unit only", "block add 198.18.0.0/24 h", -EINVAL,
		  "bad TTL \"h\": not a number with a unit" },
		/* Good words: no maps to run them on. */
		{ "good add, no maps", "block add 198.18.0.0/24 1h", -ENODEV,
		  "block: no XDP maps" },
		{ "good list, no maps", "allow list", -ENODEV, "allow: no XDP maps" },
		{ "good stats, no maps", "stats", -ENODEV, "stats: no XDP maps" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		char buf[256], *argv[16], err[512] = "", *text = NULL;
		size_t tlen = 0;
		FILE *out = open_memstream(&text, &tlen);
		int argc = split(c->words, buf, sizeof(buf), argv), rc;

		assert_non_null(out);
		rc = ctl_cmd_maps(NULL, argc, argv, out, NULL, NULL, err,
				  sizeof(err));
		fclose(out);
		if (rc != c->rc || strncmp(err, c->err, strlen(c->err)) != 0)
			fail_msg("%s: rc %d err \"%s\", want %d \"%s\"", c->label,
				 rc, err, c->rc, c->err);
		if (tlen != 0)
			fail_msg("%s: wrote \"%s\"", c->label, text);
		free(text);
	}
}

/* test_cmd_parse - what good words mean */
static void test_cmd_parse(void **state)
{
	static const struct {
		const char *label, *words;
		enum ctl_cmd_op op;
		enum scr_xdp_kind kind;
		unsigned plen;
		uint32_t ttl;
		uint8_t last;	/* last address byte */
	} cases[] = {
		{ "block add /24 1h", "block add 198.18.0.0/24 1h", CTL_CMD_ADD,
		  SCR_XDP_KIND_BLOCK, 120, 3600, 0 },
		{ "block add host, seconds", "block add 198.18.7.9 300",
		  CTL_CMD_ADD, SCR_XDP_KIND_BLOCK, 128, 300, 9 },
		{ "allow add 366d", "allow add 198.18.0.0/15 366d", CTL_CMD_ADD,
		  SCR_XDP_KIND_ALLOW, 111, 366u * 86400, 0 },
		{ "allow add 52w", "allow add 2001:db8::/32 52w", CTL_CMD_ADD,
		  SCR_XDP_KIND_ALLOW, 32, 52u * 7 * 86400, 0 },
		{ "block add no TTL", "block add 2001:db8::5", CTL_CMD_ADD,
		  SCR_XDP_KIND_BLOCK, 128, 0, 5 },
		{ "block del 90m-free", "block del 198.18.0.0/16", CTL_CMD_DEL,
		  SCR_XDP_KIND_BLOCK, 112, 0, 0 },
		{ "allow list", "allow list", CTL_CMD_LIST, SCR_XDP_KIND_ALLOW, 0,
		  0, 0 },
		{ "stats", "stats", CTL_CMD_STATS, SCR_XDP_KIND_ALLOW, 0, 0, 0 },
		{ "sweep", "sweep", CTL_CMD_SWEEP, SCR_XDP_KIND_ALLOW, 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256], *argv[16], err[512] = "";
		struct ctl_cmd_req req;
		int argc = split(cases[i].words, buf, sizeof(buf), argv);

		if (ctl_cmd_parse(argc, argv, &req, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].label, err);
		assert_int_equal(req.op, cases[i].op);
		assert_int_equal(req.kind, cases[i].kind);
		assert_int_equal(req.plen, cases[i].plen);
		assert_int_equal(req.ttl_s, cases[i].ttl);
		assert_int_equal(req.net.b[15], cases[i].last);
		assert_string_equal(ctl_cmd_op_name[req.op],
				    cases[i].op == CTL_CMD_ADD ? "add" :
				    cases[i].op == CTL_CMD_DEL ? "del" :
				    cases[i].op == CTL_CMD_LIST ? "list" :
				    cases[i].op == CTL_CMD_STATS ? "stats" : "sweep");
	}
	/* The usage error keeps its own code in ctl_cmd_parse. */
	{
		char buf[64], *argv[8], err[256];
		struct ctl_cmd_req req;
		int argc = split("block", buf, sizeof(buf), argv);

		assert_int_equal(ctl_cmd_parse(argc, argv, &req, err, sizeof(err)),
				 -EBADRQC);
	}
}
#endif

/* main - a private directory, umask 022 (0755 dirs, the socket's mode
 * must not depend on it: 0600 is checked) */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_raw_requests, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_line_limit, srv_setup,
						srv_teardown),
		cmocka_unit_test(test_serve_direct),
		cmocka_unit_test_setup_teardown(test_idle_flood, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_half_line, srv_setup,
						srv_teardown),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pollfds),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test_setup_teardown(test_request, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_request_big, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_request_refused, srv_setup,
						srv_teardown),
		cmocka_unit_test(test_request_no_daemon),
#ifdef SCR_HAVE_BPF
		cmocka_unit_test(test_cmd_errors),
		cmocka_unit_test(test_cmd_parse),
#endif
	};
	int rc;

	umask(022);
	snprintf(tdir, sizeof(tdir), "/tmp/ctl_sock_test.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (rmdir(tdir) != 0)
		fprintf(stderr, "ctl_sock_test: %s left behind: %s\n", tdir,
			strerror(errno));
	return rc;
}
