/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock_test - the control socket (server, client) and ctl_cmd parsing
 * DESCRIPTION
 *	A server thread (poll + ctl_sock_serve) answers with a handler that
 *	echoes its words or fails on request; raw clients send exact bytes
 *	(bad requests first) and compare the whole reply. Then listen's
 *	stale/live/mode rules, ctl_sock_request, and, when built with
 *	libbpf, ctl_cmd's parsing with no maps (m = NULL).
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
};

/* srv_main - the server thread: the daemons' poll loop in small */
static void *srv_main(void *arg)
{
	struct srv *v = arg;

	while (!atomic_load(&v->stop)) {
		struct pollfd pf = { .fd = ctl_sock_fd(v->s), .events = POLLIN };

		if (poll(&pf, 1, 20) > 0)
			(void)ctl_sock_serve(v->s, echo_handler, NULL);
	}
	return NULL;
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

/* raw_connect - a client socket connected to path */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
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
		{ "silent client", "", 0, 0,
		  "error: request timed out (200 ms)\n" },
		{ "half a line then silence", "block li", 0, 0,
		  "error: request timed out (200 ms)\n" },
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

/* test_serve_direct - serve returns: nobody waiting, silent client, batch */
static void test_serve_direct(void **state)
{
	struct ctl_sock *s;
	char err[256], *got;
	int fds[CTL_SOCK_BATCH + 4], i;
	size_t rlen;

	(void)state;
	assert_int_equal(ctl_sock_listen(tpath("direct.sock"), 0600, &s, err,
					 sizeof(err)), 0);
	/* Nobody waiting: 0 at once (the listening socket is non-blocking). */
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 0);
	/* A client that connects and sends nothing: served with an error. */
	fds[0] = raw_connect(tpath("direct.sock"));
	assert_int_equal(ctl_sock_serve(s, echo_handler, NULL), 1);
	got = raw_read_all(fds[0], &rlen);
	assert_string_equal(got, "error: request timed out (200 ms)\n");
	free(got);
	close(fds[0]);
	/* 20 waiting clients: 16, then 4. */
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
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test_setup_teardown(test_request, srv_setup,
						srv_teardown),
		cmocka_unit_test_setup_teardown(test_request_big, srv_setup,
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
