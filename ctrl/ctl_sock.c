/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock - the daemons' unix control socket (server and client)
 * DESCRIPTION
 *	See ctl_sock.h. The server reads a client's request with poll()
 *	bounded by CTL_SOCK_WAIT_MS, so a silent or slow client costs the
 *	control thread at most that long and never hangs it; the listening
 *	socket is non-blocking, so ctl_sock_serve() returns 0 at once when
 *	nobody is waiting.
 * CONTRACT
 *	See ctl_sock.h.
 * THREADING
 *	Server: the daemon's control thread. Client: any thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_sock.h"

struct ctl_sock {
	int fd;
	dev_t dev;		/* the socket file we renamed into place */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* now_ms - CLOCK_MONOTONIC in ms */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* fill_addr - sockaddr_un for path; 0 or -ENAMETOOLONG */
static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* mkdir_parents - create the directories leading to path (mode 0755) */
static int mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (p == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			int rc = -errno;

			snprintf(err, errlen, "mkdir %s: %s", dir, strerror(-rc));
			return rc;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* probe - whether a daemon answers on path: 1 yes, 0 stale, -errno */
static int probe(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = fill_addr(&sa, path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		rc = 1;
	else if (errno == ECONNREFUSED)
		rc = 0;
	else
		rc = -errno;
	close(fd);
	return rc;
}

/* ctl_sock_listen - bind, chmod and rename the socket into place */
int ctl_sock_listen(const char *path, unsigned mode, struct ctl_sock **out,
		    char *err, size_t errlen)
{
	struct ctl_sock *s = NULL;
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	bool bound = false;
	int rc, n;

	*out = NULL;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) || fill_addr(&sa, tmp)) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen, "%s: path too long for a unix socket "
			 "(at most %zu bytes)", path, sizeof(tmp) - 24);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	rc = mkdir_parents(path, err, errlen);
	if (rc)
		goto out;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rc = -EEXIST;
			snprintf(err, errlen, "%s exists and is not a socket", path);
			goto out;
		}
		rc = probe(path);
		if (rc == 1) {
			rc = -EADDRINUSE;
			snprintf(err, errlen, "another smtpscreen is running on %s",
				 path);
			goto out;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot tell whether a daemon "
				 "runs there: %s", path, strerror(-rc));
			goto out;
		}
		/* Stale: the rename below replaces it. */
	} else if (errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-rc));
		goto out;
	}
	(void)unlink(tmp);
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "bind %s: %s", tmp, strerror(-rc));
		goto out;
	}
	bound = true;
	/* Nobody can connect before listen(): the mode is right by then. */
	if (chmod(tmp, mode & 07777) != 0 || listen(s->fd, 64) != 0 ||
	    rename(tmp, path) != 0 || lstat(path, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	bound = false;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (bound)
		(void)unlink(tmp);
	if (s) {
		if (s->fd >= 0)
			close(s->fd);
		free(s);
	}
	return rc;
}

/* ctl_sock_fd - the listening fd */
int ctl_sock_fd(const struct ctl_sock *s)
{
	return s->fd;
}

/* send_all - write len bytes before deadline; 0 or -errno */
static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int64_t left = deadline - now_ms();
		struct pollfd pf = { .fd = fd, .events = POLLOUT };

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* read_line - the request line into buf (NUL at the newline); its
 * length, or -errno with the reason for the client in why (empty: say
 * nothing) */
static int read_line(int fd, char *buf, char *why, size_t wlen)
{
	int64_t deadline = now_ms() + CTL_SOCK_WAIT_MS;
	size_t len = 0;

	for (;;) {
		char *nl = memchr(buf, '\n', len);
		ssize_t r;

		if (nl) {
			*nl = '\0';
			return (int)(nl - buf);
		}
		if (len == CTL_SOCK_LINE) {
			snprintf(why, wlen, "request longer than %d bytes",
				 CTL_SOCK_LINE);
			return -EMSGSIZE;
		}
		r = recv(fd, buf + len, CTL_SOCK_LINE - len, MSG_DONTWAIT);
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		if (r == 0) {
			snprintf(why, wlen, "%s", len ? "request not ended by a "
				 "newline" : "empty request");
			return -EPROTO;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			why[0] = '\0';
			return -errno;
		}
		int64_t left = deadline - now_ms();
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (left <= 0 || (poll(&pf, 1, (int)left) == 0)) {
			snprintf(why, wlen, "request timed out (%d ms)",
				 CTL_SOCK_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
}

/* split_words - words of a request line (len bytes, NUL-terminated)
 * in place; argc or -EINVAL */
static int split_words(char *line, size_t len, char **argv, char *why,
		       size_t wlen)
{
	int argc = 0;
	size_t i;
	char *p;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c != ' ' && c != '\t' && c != '\r' && (c < 0x21 || c > 0x7e)) {
			snprintf(why, wlen, "bad byte 0x%02x in request", c);
			return -EINVAL;
		}
	}
	for (p = line; ; ) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (argc == CTL_SOCK_WORDS) {
			snprintf(why, wlen, "more than %d words in request",
				 CTL_SOCK_WORDS);
			return -EINVAL;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		snprintf(why, wlen, "empty request");
		return -EINVAL;
	}
	return argc;
}

/* clean_msg - one printable line: control bytes become blanks */
static void clean_msg(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = ' ';
}

/* serve_one - one client: request, handler, reply */
static void serve_one(int fd,
		      int (*h)(void *arg, int argc, char **argv, FILE *out,
			       char *err, size_t errlen),
		      void *arg)
{
	char buf[CTL_SOCK_LINE + 1], err[1024] = "", status[1100];
	char *argv[CTL_SOCK_WORDS + 1], *text = NULL;
	size_t tlen = 0;
	int64_t deadline;
	FILE *out;
	int rc, argc;

	rc = read_line(fd, buf, err, sizeof(err));
	if (rc < 0) {
		if (err[0] == '\0')
			return;		/* connection broken: nobody to tell */
		goto reply;
	}
	argc = split_words(buf, (size_t)rc, argv, err, sizeof(err));
	if (argc < 0) {
		rc = argc;
		goto reply;
	}
	out = open_memstream(&text, &tlen);
	if (out == NULL) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto reply;
	}
	rc = h(arg, argc, argv, out, err, sizeof(err));
	if (fclose(out) != 0) {
		free(text);
		text = NULL;
		tlen = 0;
		if (rc == 0) {
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "reply: out of memory");
		}
	}
	if (rc != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "%s", strerror(rc < 0 ? -rc : EIO));
reply:
	clean_msg(err);
	if (rc == 0)
		snprintf(status, sizeof(status), "ok\n");
	else
		snprintf(status, sizeof(status), "error: %s\n", err);
	deadline = now_ms() + CTL_SOCK_WAIT_MS;
	if (tlen > 0 && send_all(fd, text, tlen, deadline) == 0 &&
	    text[tlen - 1] != '\n')
		(void)send_all(fd, "\n", 1, deadline);
	(void)send_all(fd, status, strlen(status), deadline);
	free(text);
}

/* ctl_sock_serve - answer the clients waiting now (at most a batch) */
int ctl_sock_serve(struct ctl_sock *s,
		   int (*h)(void *arg, int argc, char **argv, FILE *out,
			    char *err, size_t errlen),
		   void *arg)
{
	int n = 0;

	while (n < CTL_SOCK_BATCH) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;	/* EAGAIN: none left; EMFILE...: next call */
		}
		serve_one(fd, h, arg);
		close(fd);
		n++;
	}
	return n;
}

/* ctl_sock_close - close; unlink path if it is still our socket */
void ctl_sock_close(struct ctl_sock *s)
{
	struct stat st;

	if (s == NULL)
		return;
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		(void)unlink(s->path);
	close(s->fd);
	free(s);
}

/* build_request - argv as one line; length or -EINVAL with a message */
static int build_request(int argc, char **argv, char *line, char *err,
			 size_t errlen)
{
	size_t len = 0;
	int i;

	if (argc < 1 || argc > CTL_SOCK_WORDS) {
		snprintf(err, errlen, "a request has 1 to %d words",
			 CTL_SOCK_WORDS);
		return -EINVAL;
	}
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]), j;

		for (j = 0; j < n; j++) {
			unsigned char c = (unsigned char)argv[i][j];

			if (c < 0x21 || c > 0x7e) {
				snprintf(err, errlen, "bad byte 0x%02x in word "
					 "%d", c, i + 1);
				return -EINVAL;
			}
		}
		if (n == 0) {
			snprintf(err, errlen, "word %d is empty", i + 1);
			return -EINVAL;
		}
		if (len + n + 1 > CTL_SOCK_LINE) {
			snprintf(err, errlen, "request longer than %d bytes",
				 CTL_SOCK_LINE);
			return -EINVAL;
		}
		memcpy(line + len, argv[i], n);
		len += n;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	return (int)len;
}

/* ctl_sock_request - client: one request, its reply text to out */
int ctl_sock_request(const char *path, int argc, char **argv, FILE *out,
		     char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = CTL_SOCK_CLIENT_WAIT_S };
	char line[CTL_SOCK_LINE], chunk[4096], *text = NULL, *last;
	struct sockaddr_un sa;
	size_t tlen = 0;
	FILE *mem = NULL;
	int fd = -1, rc, len;

	len = build_request(argc, argv, line, err, errlen);
	if (len < 0)
		return len;
	rc = fill_addr(&sa, path);
	if (rc) {
		snprintf(err, errlen, "path too long for a unix socket");
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-rc));
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(-rc));
		goto out;
	}
	rc = send_all(fd, line, (size_t)len,
		      now_ms() + CTL_SOCK_CLIENT_WAIT_S * 1000);
	if (rc) {
		snprintf(err, errlen, "send: %s", strerror(-rc));
		goto out;
	}
	mem = open_memstream(&text, &tlen);
	if (mem == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = recv(fd, chunk, sizeof(chunk), 0);

		if (r > 0) {
			if (fwrite(chunk, 1, (size_t)r, mem) != (size_t)r) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			continue;
		}
		if (r == 0 || errno == ECONNRESET)
			break;
		if (errno == EINTR)
			continue;
		rc = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		snprintf(err, errlen, "no reply: %s",
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		goto out;
	}
	if (fclose(mem) != 0) {
		mem = NULL;
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	mem = NULL;
	if (tlen == 0 || text[tlen - 1] != '\n') {
		rc = -EPROTO;
		snprintf(err, errlen, "truncated reply");
		goto out;
	}
	text[tlen - 1] = '\0';
	last = strrchr(text, '\n');
	last = last ? last + 1 : text;
	if (strcmp(last, "ok") == 0) {
		rc = 0;
	} else if (strncmp(last, "error: ", 7) == 0) {
		snprintf(err, errlen, "%s", last + 7);
		rc = 1;
	} else {
		rc = -EPROTO;
		snprintf(err, errlen, "truncated reply");
		goto out;
	}
	if (last > text && fwrite(text, 1, (size_t)(last - text), out) !=
	    (size_t)(last - text)) {
		rc = -EIO;
		snprintf(err, errlen, "writing the reply: %s", strerror(EIO));
	}
out:
	if (mem)
		fclose(mem);
	free(text);
	if (fd >= 0)
		close(fd);
	return rc;
}
