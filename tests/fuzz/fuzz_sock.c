/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_sock - libFuzzer target: control-socket requests and commands
 * DESCRIPTION
 *	The input is what a client writes to the daemon's control socket.
 *	A real ctl_sock server (a private socket under /dev/shm or /tmp)
 *	gets it from a real client in two halves, with a server step
 *	between them, then end of file; the server steps until it has
 *	answered and closed. The whole reply is compared with what
 *	ctl_sock.h promises, computed here from the bytes: the error line
 *	for a request that is too long, not ended by a newline, empty, has
 *	a bad byte or too many words; otherwise the handler is called once
 *	with exactly the blank-separated words of the first line, and the
 *	reply is its text (a newline added when missing) and "ok" or
 *	"error: " its message.
 *	The handler runs ctl_cmd_parse on the words (as the daemons do for
 *	the map commands) and checks its result: the error codes and
 *	messages of ctl_cmd.h, -ENOTSUP exactly for words that are no map
 *	command, ctl_cmd_maps without maps agreeing with the parse; for
 *	add/del a prefix within 0..128 without host bits (IPv4 text as
 *	::ffff:0:0/96 and longer) that prints and parses back to itself;
 *	a TTL only with four words, 1s..366d, reading back from its
 *	seconds. Two words of its own exercise the reply path: "echo W..."
 *	(text without a final newline) and "big N" (N lines, up to 20000:
 *	more than the socket takes at once).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_cmd.h"
#include "ctl_sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG_MAX		20000	/* lines of "big N" */
#define STEPS_MAX	100000	/* server steps for one request */

static struct ctl_sock *srv;
static char sock_dir[64], sock_path[96];

/* What the handler saw and answered. */
struct ctx {
	int want_argc;		/* -1: the handler must not run */
	char *want_argv[CTL_SOCK_WORDS + 1];
	int called;
	int rc;
	char err[1024];
	char *text;
	size_t tlen;
};

/* cleanup - at exit: close the server, remove its directory */
static void cleanup(void)
{
	ctl_sock_close(srv);
	rmdir(sock_dir);
}

/* setup - the server, once */
static void setup(void)
{
	char err[256];

	snprintf(sock_dir, sizeof(sock_dir), "%s/fuzz_sock.%ld",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		 (long)getpid());
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", sock_dir);
	if (ctl_sock_listen(sock_path, 0600, &srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_sock: listen %s: %s\n", sock_path, err);
		abort();
	}
	atexit(cleanup);
}

/* is_v4 - ::ffff:a.b.c.d */
static bool is_v4(const struct scr_addr *a)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->b, v4, sizeof(v4)) == 0;
}

/* prefix_text - "a.b.c.d/n" or "v6/n", as ctl_cmd prints it */
static void prefix_text(const struct scr_addr *a, unsigned plen, char *buf,
			size_t len)
{
	char txt[INET6_ADDRSTRLEN];

	if (is_v4(a) && plen >= 96) {
		inet_ntop(AF_INET, &a->b[12], txt, sizeof(txt));
		snprintf(buf, len, "%s/%u", txt, plen - 96);
	} else {
		inet_ntop(AF_INET6, a->b, txt, sizeof(txt));
		snprintf(buf, len, "%s/%u", txt, plen);
	}
}

/* check_prefix - a parsed add/del prefix: bounds, host bits, round trip */
static void check_prefix(const struct ctl_cmd_req *req, const char *word)
{
	struct ctl_cmd_req back;
	char txt[80], err[512], *av[3];

	if (req->plen > 128)
		abort();
	for (unsigned b = req->plen; b < 128; b++)
		if (req->net.b[b / 8] & (0x80u >> (b % 8)))
			abort();
	if (strchr(word, ':') == NULL && (!is_v4(&req->net) || req->plen < 96))
		abort();
	prefix_text(&req->net, req->plen, txt, sizeof(txt));
	av[0] = "block";
	av[1] = "del";
	av[2] = txt;
	if (ctl_cmd_parse(3, av, &back, err, sizeof(err)) != 0 ||
	    back.plen != req->plen ||
	    memcmp(&back.net, &req->net, sizeof(back.net)) != 0) {
		fprintf(stderr, "prefix \"%s\" -> \"%s\" does not read back\n",
			word, txt);
		abort();
	}
}

/* cmd - the map command words: ctl_cmd_parse and its promises */
static int cmd(int argc, char **argv, FILE *out, char *err, size_t errlen)
{
	struct ctl_cmd_req req;
	char err2[1024];
	bool map_word;
	int rc, rc2;

	err[0] = 0;
	rc = ctl_cmd_parse(argc, argv, &req, err, errlen);
	map_word = strcmp(argv[0], "block") == 0 ||
		   strcmp(argv[0], "allow") == 0 ||
		   strcmp(argv[0], "stats") == 0 ||
		   strcmp(argv[0], "sweep") == 0;
	if (rc != 0 && rc != -ENOTSUP && rc != -EINVAL && rc != -EBADRQC)
		abort();
	if ((rc == -ENOTSUP) != !map_word)
		abort();
	if (rc != 0 && err[0] == 0)
		abort();
	if (rc == -EBADRQC && strncmp(err, "usage: ", 7) != 0)
		abort();
	if (rc == -EINVAL && strncmp(err, "bad CIDR \"", 10) != 0 &&
	    strncmp(err, "bad TTL \"", 9) != 0)
		abort();
	/* Without maps: the same parse, then -ENODEV. */
	err2[0] = 0;
	rc2 = ctl_cmd_maps(NULL, argc, argv, out, NULL, NULL, err2,
			   sizeof(err2));
	if (rc2 != (rc == 0 ? -ENODEV : rc == -EBADRQC ? -EINVAL : rc))
		abort();
	if (rc != 0 && strcmp(err, err2) != 0)
		abort();
	if (rc != 0)
		return rc;
	switch (req.op) {
	case CTL_CMD_ADD:
	case CTL_CMD_DEL:
		if (argc < 3)
			abort();
		check_prefix(&req, argv[2]);
		break;
	case CTL_CMD_LIST:
	case CTL_CMD_STATS:
	case CTL_CMD_SWEEP:
		break;
	default:
		abort();
	}
	if (req.op == CTL_CMD_ADD && argc == 4) {
		char s[16];
		uint32_t t;

		if (req.ttl_s < 1 || req.ttl_s > SCR_XDP_TTL_MAX_S)
			abort();
		snprintf(s, sizeof(s), "%u", req.ttl_s);
		if (ctl_cmd_parse_ttl(s, &t) != 0 || t != req.ttl_s)
			abort();
	} else if (req.ttl_s != 0) {
		abort();
	}
	fprintf(out, "op=%s kind=%d plen=%u ttl=%u\n", ctl_cmd_op_name[req.op],
		(int)req.kind, req.plen, req.ttl_s);
	return 0;
}

/* handler - the daemon's side: the words, then the command */
static int handler(void *arg, int argc, char **argv, FILE *out, char *err,
		   size_t errlen)
{
	struct ctx *c = arg;
	FILE *mine;
	int rc = 0;

	c->called++;
	if (c->called != 1 || argc != c->want_argc || argv[argc] != NULL)
		abort();
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], c->want_argv[i]) != 0)
			abort();
	mine = open_memstream(&c->text, &c->tlen);
	if (mine == NULL)
		abort();
	if (strcmp(argv[0], "echo") == 0) {
		for (int i = 1; i < argc; i++)
			fprintf(mine, "%s%s", i > 1 ? " " : "", argv[i]);
	} else if (strcmp(argv[0], "big") == 0 && argc == 2) {
		long n = strtol(argv[1], NULL, 10);

		for (long i = 0; i < n && i < BIG_MAX; i++)
			fprintf(mine, "line %ld of a long reply\n", i);
	} else {
		rc = cmd(argc, argv, mine, err, errlen);
	}
	if (fclose(mine) != 0)
		abort();
	if (c->tlen > 0 && fwrite(c->text, 1, c->tlen, out) != c->tlen)
		abort();
	c->rc = rc;
	snprintf(c->err, sizeof(c->err), "%s", err);
	return rc;
}

/* model - what the server must do with these bytes: the error line it
 * answers with (want_argc -1), or the words for the handler */
static void model(const uint8_t *d, size_t size, char *line, struct ctx *c,
		  char *bad, size_t blen)
{
	size_t lim = size < CTL_SOCK_LINE ? size : CTL_SOCK_LINE, k, i;
	const uint8_t *nl = memchr(d, '\n', lim);
	char *p;
	int argc = 0;

	c->want_argc = -1;
	if (nl == NULL) {
		snprintf(bad, blen, "%s", size >= CTL_SOCK_LINE ?
			 "request longer than 1024 bytes" : size ?
			 "request not ended by a newline" : "empty request");
		return;
	}
	k = (size_t)(nl - d);
	for (i = 0; i < k; i++) {
		uint8_t b = d[i];

		if (b != ' ' && b != '\t' && b != '\r' && (b < 0x21 || b > 0x7e)) {
			snprintf(bad, blen, "bad byte 0x%02x in request", b);
			return;
		}
	}
	memcpy(line, d, k);
	line[k] = 0;
	for (p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
		if (argc == CTL_SOCK_WORDS) {
			snprintf(bad, blen, "more than %d words in request",
				 CTL_SOCK_WORDS);
			return;
		}
		c->want_argv[argc++] = p;
	}
	if (argc == 0) {
		snprintf(bad, blen, "empty request");
		return;
	}
	c->want_argv[argc] = NULL;
	c->want_argc = argc;
}

/* send_some - non-blocking send of [*p, *p + *len); false when the
 * server has closed */
static bool send_some(int fd, const uint8_t **p, size_t *len)
{
	while (*len > 0) {
		ssize_t w = send(fd, *p, *len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			*p += w;
			*len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;	/* the rest after a server step */
		return false;
	}
	return true;
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { .want_argc = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *line = malloc(CTL_SOCK_LINE + 1), bad[128] = "", *want = NULL;
	char *reply = NULL, buf[65536];
	const uint8_t *p = data;
	size_t left = size / 2, rest = size - size / 2, rlen = 0, wlen = 0;
	FILE *rf, *wf;
	bool open = true, eof = false;
	int fd, steps;

	if (line == NULL)
		abort();
	if (srv == NULL)
		setup();
	model(data, size, line, &c, bad, sizeof(bad));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	rf = open_memstream(&reply, &rlen);
	if (rf == NULL)
		abort();
	/* First half, a server step, the second half, end of file, then
	 * steps until the server has said all and closed. */
	open = send_some(fd, &p, &left);
	(void)ctl_sock_serve(srv, handler, &c);
	for (steps = 0; !eof; steps++) {
		ssize_t r;

		if (steps == STEPS_MAX) {
			fprintf(stderr, "fuzz_sock: no end of the reply\n");
			abort();
		}
		if (open && left == 0 && rest > 0) {
			left = rest;
			rest = 0;
		}
		if (open && left > 0)
			open = send_some(fd, &p, &left);
		if (open && left == 0 && rest == 0) {
			shutdown(fd, SHUT_WR);
			open = false;
		}
		(void)ctl_sock_serve(srv, handler, &c);
		for (;;) {
			r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				fwrite(buf, 1, (size_t)r, rf);
				continue;
			}
			if (r == 0 || (r < 0 && errno == ECONNRESET))
				eof = true;
			break;
		}
	}
	close(fd);
	if (fclose(rf) != 0)
		abort();
	/* The reply it had to be. */
	wf = open_memstream(&want, &wlen);
	if (wf == NULL)
		abort();
	if (c.want_argc < 0) {
		if (c.called)
			abort();
		fprintf(wf, "error: %s\n", bad);
	} else {
		if (c.called != 1)
			abort();
		if (c.tlen > 0)
			fwrite(c.text, 1, c.tlen, wf);
		if (c.tlen > 0 && c.text[c.tlen - 1] != '\n')
			fputc('\n', wf);
		if (c.rc == 0) {
			fputs("ok\n", wf);
		} else {
			for (char *q = c.err; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					*q = ' ';
			fprintf(wf, "error: %s\n", c.err[0] ? c.err :
				strerror(-c.rc));
		}
	}
	if (fclose(wf) != 0)
		abort();
	if (rlen != wlen || memcmp(reply, want, wlen) != 0) {
		fprintf(stderr, "reply (%zu bytes):\n%.*s\nwanted (%zu bytes):\n"
			"%.*s\n", rlen, (int)(rlen < 2000 ? rlen : 2000), reply,
			wlen, (int)(wlen < 2000 ? wlen : 2000), want);
		abort();
	}
	free(reply);
	free(want);
	free(c.text);
	free(line);
	return 0;
}
