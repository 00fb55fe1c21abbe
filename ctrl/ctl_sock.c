/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock - the daemons' unix control socket (server and client)
 * DESCRIPTION
 *	See ctl_sock.h. The server keeps one slot per connection (fd, the
 *	request bytes so far, the reply being sent, the time of the last
 *	progress) in an array allocated with the server; a slot is READ
 *	(request incomplete), WRITE (reply being sent) or FREE. Every
 *	socket is non-blocking and every recv/send is MSG_DONTWAIT, so no
 *	call waits for a client: a step does what the kernel can do now
 *	and leaves the rest to the next step. The reply is the handler's
 *	text (open_memstream) followed by a small tail kept in the slot (a
 *	newline the text lacked, then the last line), both sent by one
 *	sendmsg.
 * CONTRACT
 *	See ctl_sock.h.
 * THREADING
 *	Server: the one thread that owns the ctl_sock. Client: any thread.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_sock.h"

#define CTL_SOCK_ERR	1024	/* the handler's err buffer */
#define CTL_SOCK_TAIL	(CTL_SOCK_ERR + 16)	/* "\n" "error: " err "\n" */
#define CTL_SOCK_BACKLOG 64	/* listen(); CTL_SOCK_BATCH leave it a step */

enum ctl_sock_state {
	CTL_SOCK_FREE = 0,	/* slot unused, fd -1 */
	CTL_SOCK_READ,		/* request line incomplete */
	CTL_SOCK_WRITE,		/* reply being sent */
};

struct ctl_sock_conn {
	int fd;
	enum ctl_sock_state state;
	uint64_t serial;	/* accept order: the oldest READ is evicted */
	uint64_t listed;	/* last step whose pfd listed this slot */
	int64_t t;		/* ms: accepted (READ), last bytes taken (WRITE) */
	size_t rlen;		/* request bytes read */
	char *text;		/* handler's text (open_memstream), or NULL */
	size_t tlen;
	size_t taillen;
	size_t off;		/* reply bytes sent: text first, then tail */
	char tail[CTL_SOCK_TAIL];	/* newline if text lacks one, last line */
	char req[CTL_SOCK_LINE + 1];
};

struct ctl_sock {
	int fd;
	dev_t dev;		/* the socket file we renamed into place */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int max_conn;		/* connections at once */
	int idle_ms;
	int cap;		/* slots in conn[], >= max_conn */
	int nconn;		/* slots not FREE */
	uint64_t serial;	/* number of the next accepted connection */
	uint64_t step;		/* ctl_sock_process calls */
	int64_t accept_after;	/* ms: accept ran out of fds, wait until */
	struct ctl_sock_conn *conn;	/* cap slots */
	struct pollfd *pfd;	/* 1 + cap: ctl_sock_serve's own */
	int *pslot;		/* 1 + cap: slot of the i-th fd filled by
				 * ctl_sock_pollfds, -1 the listener */
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

/* slots_grow - room for n connections (never shrinks); 0 or -ENOMEM,
 * s unchanged but for unused room on failure */
static int slots_grow(struct ctl_sock *s, int n)
{
	struct ctl_sock_conn *conn;
	struct pollfd *pfd;
	int *pslot, i;

	if (n <= s->cap)
		return 0;
	conn = realloc(s->conn, (size_t)n * sizeof(*conn));
	if (conn == NULL)
		return -ENOMEM;
	s->conn = conn;
	for (i = s->cap; i < n; i++) {
		memset(&conn[i], 0, offsetof(struct ctl_sock_conn, tail));
		conn[i].fd = -1;
		conn[i].state = CTL_SOCK_FREE;
	}
	pfd = realloc(s->pfd, (size_t)(n + 1) * sizeof(*pfd));
	if (pfd == NULL)
		return -ENOMEM;
	s->pfd = pfd;
	pslot = realloc(s->pslot, (size_t)(n + 1) * sizeof(*pslot));
	if (pslot == NULL)
		return -ENOMEM;
	for (i = s->cap; i < n + 1; i++)
		pslot[i] = -1;
	s->pslot = pslot;
	s->cap = n;
	return 0;
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
	s->max_conn = CTL_SOCK_CONN_MAX;
	s->idle_ms = CTL_SOCK_IDLE_MS;
	rc = slots_grow(s, CTL_SOCK_CONN_MAX);
	if (rc) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
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
	if (chmod(tmp, mode & 07777) != 0 ||
	    listen(s->fd, CTL_SOCK_BACKLOG) != 0 ||
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
		free(s->pslot);
		free(s->pfd);
		free(s->conn);
		free(s);
	}
	return rc;
}

/* ctl_sock_set_limits - connections at once, idle deadline */
int ctl_sock_set_limits(struct ctl_sock *s, int max_conn, int idle_ms)
{
	int rc;

	if (max_conn < 1 || max_conn > CTL_SOCK_CONN_LIMIT || idle_ms < 1 ||
	    idle_ms > CTL_SOCK_IDLE_LIMIT_MS)
		return -EINVAL;
	rc = slots_grow(s, max_conn);
	if (rc)
		return rc;
	s->max_conn = max_conn;
	s->idle_ms = idle_ms;
	return 0;
}

/* ctl_sock_fd - the listening fd */
int ctl_sock_fd(const struct ctl_sock *s)
{
	return s->fd;
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

/* conn_free - close a connection, free its reply, free the slot */
static void conn_free(struct ctl_sock *s, struct ctl_sock_conn *c)
{
	close(c->fd);
	free(c->text);
	c->text = NULL;
	c->tlen = 0;
	c->fd = -1;
	c->state = CTL_SOCK_FREE;
	s->nconn--;
}

/* say_and_close - one non-blocking send of line, then close fd */
static void say_and_close(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* conn_write - send what the client takes now; closes the connection
 * when the reply is out or the client is gone */
static void conn_write(struct ctl_sock *s, struct ctl_sock_conn *c)
{
	for (;;) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		size_t off = c->off;
		ssize_t w;

		if (off < c->tlen) {
			iov[mh.msg_iovlen].iov_base = c->text + off;
			iov[mh.msg_iovlen++].iov_len = c->tlen - off;
			off = 0;
		} else {
			off -= c->tlen;
		}
		if (off < c->taillen) {
			iov[mh.msg_iovlen].iov_base = c->tail + off;
			iov[mh.msg_iovlen++].iov_len = c->taillen - off;
		}
		if (mh.msg_iovlen == 0) {
			conn_free(s, c);	/* all sent */
			return;
		}
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->off += (size_t)w;
			c->t = now_ms();
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_free(s, c);	/* EPIPE, ECONNRESET: nobody to tell */
		return;
	}
}

/* conn_reply - make the tail (rc 0: "ok", else "error: msg"), start
 * sending the reply */
static void conn_reply(struct ctl_sock *s, struct ctl_sock_conn *c, int rc,
		       char *msg)
{
	const char *nl = c->tlen > 0 && c->text[c->tlen - 1] != '\n' ? "\n" : "";
	int n;

	clean_msg(msg);
	if (rc == 0)
		n = snprintf(c->tail, sizeof(c->tail), "%sok\n", nl);
	else
		n = snprintf(c->tail, sizeof(c->tail), "%serror: %.*s\n", nl,
			     CTL_SOCK_ERR - 1, msg);
	c->taillen = n < 0 ? 0 : (size_t)n;
	c->off = 0;
	c->state = CTL_SOCK_WRITE;
	c->t = now_ms();
	conn_write(s, c);
}

/* conn_answer - run the handler on a complete request line (len bytes,
 * NUL-terminated in c->req) and start the reply */
static void conn_answer(struct ctl_sock *s, struct ctl_sock_conn *c,
			size_t len,
			int (*h)(void *arg, int argc, char **argv, FILE *out,
				 char *err, size_t errlen),
			void *arg)
{
	char err[CTL_SOCK_ERR] = "", *argv[CTL_SOCK_WORDS + 1];
	FILE *out;
	int rc, argc;

	argc = split_words(c->req, len, argv, err, sizeof(err));
	if (argc < 0) {
		rc = argc;
		goto reply;
	}
	out = open_memstream(&c->text, &c->tlen);
	if (out == NULL) {
		rc = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto reply;
	}
	rc = h(arg, argc, argv, out, err, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	if (fclose(out) != 0) {
		free(c->text);
		c->text = NULL;
		c->tlen = 0;
		if (rc == 0) {
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "reply: out of memory");
		}
	}
	if (rc != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "%s", strerror(rc < 0 ? -rc : EIO));
reply:
	conn_reply(s, c, rc, err);
}

/* conn_read - take the request bytes that have arrived; 1 when a reply
 * was started (request complete or bad), else 0 */
static int conn_read(struct ctl_sock *s, struct ctl_sock_conn *c,
		     int (*h)(void *arg, int argc, char **argv, FILE *out,
			      char *err, size_t errlen),
		     void *arg)
{
	char why[128];

	for (;;) {
		ssize_t r;
		char *nl;

		if (c->rlen == CTL_SOCK_LINE) {
			snprintf(why, sizeof(why), "request longer than %d bytes",
				 CTL_SOCK_LINE);
			conn_reply(s, c, -EMSGSIZE, why);
			return 1;
		}
		r = recv(c->fd, c->req + c->rlen, CTL_SOCK_LINE - c->rlen,
			 MSG_DONTWAIT);
		if (r > 0) {
			nl = memchr(c->req + c->rlen, '\n', (size_t)r);
			c->rlen += (size_t)r;
			if (nl == NULL)
				continue;
			*nl = '\0';
			conn_answer(s, c, (size_t)(nl - c->req), h, arg);
			return 1;
		}
		if (r == 0) {
			snprintf(why, sizeof(why), "%s", c->rlen ? "request not "
				 "ended by a newline" : "empty request");
			conn_reply(s, c, -EPROTO, why);
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_free(s, c);	/* broken: nobody to tell */
		return 0;
	}
}

/* conn_io - move a connection on as far as it goes now; 1 when a reply
 * was started */
static int conn_io(struct ctl_sock *s, struct ctl_sock_conn *c,
		   int (*h)(void *arg, int argc, char **argv, FILE *out,
			    char *err, size_t errlen),
		   void *arg)
{
	switch (c->state) {
	case CTL_SOCK_FREE:
		return 0;
	case CTL_SOCK_READ:
		return conn_read(s, c, h, arg);
	case CTL_SOCK_WRITE:
		conn_write(s, c);
		return 0;
	default:
		fprintf(stderr, "ctl_sock: panic: bad connection state %d\n",
			(int)c->state);
		abort();
	}
}

/* too_many - the "too many" line for the current bound */
static void too_many(const struct ctl_sock *s, char *buf, size_t len)
{
	snprintf(buf, len, "error: too many control connections (%d)\n",
		 s->max_conn);
}

/* slot_take - a free slot for a new connection, evicting the oldest
 * incomplete request when max_conn are open; NULL when every open
 * connection is sending its reply. *answered counts the evicted. */
static struct ctl_sock_conn *slot_take(struct ctl_sock *s, int *answered)
{
	char line[64];
	int i;

	while (s->nconn >= s->max_conn) {
		struct ctl_sock_conn *old = NULL;

		for (i = 0; i < s->cap; i++) {
			struct ctl_sock_conn *c = &s->conn[i];

			if (c->state == CTL_SOCK_READ &&
			    (old == NULL || c->serial < old->serial))
				old = c;
		}
		if (old == NULL)
			return NULL;
		too_many(s, line, sizeof(line));
		(void)send(old->fd, line, strlen(line),
			   MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_free(s, old);
		(*answered)++;
	}
	for (i = 0; i < s->cap; i++)
		if (s->conn[i].state == CTL_SOCK_FREE)
			return &s->conn[i];
	fprintf(stderr, "ctl_sock: panic: %d connections, %d slots, none free\n",
		s->nconn, s->cap);
	abort();
}

/* accept_some - accept up to a batch of pending clients and read what
 * they sent already; replies started */
static int accept_some(struct ctl_sock *s,
		       int (*h)(void *arg, int argc, char **argv, FILE *out,
				char *err, size_t errlen),
		       void *arg)
{
	int answered = 0, k;

	for (k = 0; k < CTL_SOCK_BATCH; k++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_sock_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				s->accept_after = now_ms() + CTL_SOCK_EMFILE_MS;
			break;	/* EAGAIN: none left */
		}
		c = slot_take(s, &answered);
		if (c == NULL) {
			char line[64];

			too_many(s, line, sizeof(line));
			say_and_close(fd, line);
			answered++;
			continue;
		}
		c->fd = fd;
		c->state = CTL_SOCK_READ;
		c->serial = s->serial++;
		c->listed = 0;
		c->t = now_ms();
		c->rlen = 0;
		c->text = NULL;
		c->tlen = c->taillen = c->off = 0;
		s->nconn++;
		answered += conn_read(s, c, h, arg);
	}
	return answered;
}

/* expire - close connections idle past idle_ms; replies started */
static int expire(struct ctl_sock *s)
{
	int64_t now = now_ms();
	int answered = 0, i;

	for (i = 0; i < s->cap && s->nconn > 0; i++) {
		struct ctl_sock_conn *c = &s->conn[i];

		if (c->state == CTL_SOCK_FREE || now - c->t < s->idle_ms)
			continue;
		if (c->state == CTL_SOCK_READ) {
			(void)send(c->fd, "error: timeout\n", 15,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
			answered++;
		}
		conn_free(s, c);	/* a reply not taken: dropped */
	}
	return answered;
}

/* lower - *timeout_ms = min(*timeout_ms, ms), -1 being infinite */
static void lower(int *timeout_ms, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (*timeout_ms < 0 || *timeout_ms > ms)
		*timeout_ms = (int)ms;
}

/* ctl_sock_pollfds - the listener and each connection, what it waits for */
int ctl_sock_pollfds(struct ctl_sock *s, struct pollfd *pfd, int max,
		     int *timeout_ms)
{
	int64_t now = now_ms(), next = INT64_MAX;
	bool spill = false;
	int k = 0, i;

	if (now >= s->accept_after) {
		if (k < max) {
			pfd[k] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
			s->pslot[k++] = -1;
		} else {
			spill = true;
		}
	} else {
		next = s->accept_after;
	}
	for (i = 0; i < s->cap; i++) {
		const struct ctl_sock_conn *c = &s->conn[i];

		if (c->state == CTL_SOCK_FREE)
			continue;
		if (c->t + s->idle_ms < next)
			next = c->t + s->idle_ms;
		if (k == max) {
			spill = true;
			continue;
		}
		pfd[k] = (struct pollfd){
			.fd = c->fd,
			.events = c->state == CTL_SOCK_READ ? POLLIN : POLLOUT,
		};
		s->pslot[k++] = i;
	}
	if (next != INT64_MAX)
		lower(timeout_ms, next - now);
	if (spill)
		lower(timeout_ms, CTL_SOCK_SPILL_MS);
	return k;
}

/* listed_conn - the connection pfd[i] stands for, or NULL */
static struct ctl_sock_conn *listed_conn(struct ctl_sock *s, int i, int fd)
{
	int j;

	/* pfd is most likely what ctl_sock_pollfds filled: try its slot. */
	if (i < s->cap + 1 && s->pslot[i] >= 0 && s->pslot[i] < s->cap &&
	    s->conn[s->pslot[i]].state != CTL_SOCK_FREE &&
	    s->conn[s->pslot[i]].fd == fd)
		return &s->conn[s->pslot[i]];
	for (j = 0; j < s->cap; j++)
		if (s->conn[j].state != CTL_SOCK_FREE && s->conn[j].fd == fd)
			return &s->conn[j];
	return NULL;
}

/* ctl_sock_process - after poll: accept, read, answer, write, expire */
int ctl_sock_process(struct ctl_sock *s, const struct pollfd *pfd, int n,
		     int (*h)(void *arg, int argc, char **argv, FILE *out,
			      char *err, size_t errlen),
		     void *arg)
{
	bool listener_listed = false, listener_ready = false;
	int answered = 0, i;

	s->step++;
	for (i = 0; i < n; i++) {
		struct ctl_sock_conn *c;

		if (pfd[i].fd == s->fd) {
			listener_listed = true;
			listener_ready = pfd[i].revents != 0;
			continue;
		}
		c = listed_conn(s, i, pfd[i].fd);
		if (c == NULL)
			continue;
		c->listed = s->step;
		if (pfd[i].revents)
			answered += conn_io(s, c, h, arg);
	}
	/* Not in pfd (it was too small, or made by another step): try. */
	for (i = 0; i < s->cap; i++) {
		struct ctl_sock_conn *c = &s->conn[i];

		if (c->state != CTL_SOCK_FREE && c->listed != s->step)
			answered += conn_io(s, c, h, arg);
	}
	if ((listener_ready || !listener_listed) && now_ms() >= s->accept_after)
		answered += accept_some(s, h, arg);
	answered += expire(s);
	return answered;
}

/* ctl_sock_serve - one non-blocking step on the server's own pollfds */
int ctl_sock_serve(struct ctl_sock *s,
		   int (*h)(void *arg, int argc, char **argv, FILE *out,
			    char *err, size_t errlen),
		   void *arg)
{
	int timeout = -1, n, i;

	n = ctl_sock_pollfds(s, s->pfd, s->cap + 1, &timeout);
	if (poll(s->pfd, (nfds_t)n, 0) < 0)
		for (i = 0; i < n; i++)
			s->pfd[i].revents = 0;
	return ctl_sock_process(s, s->pfd, n, h, arg);
}

/* ctl_sock_close - close all; unlink path if it is still our socket */
void ctl_sock_close(struct ctl_sock *s)
{
	struct stat st;
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->cap; i++)
		if (s->conn[i].state != CTL_SOCK_FREE)
			conn_free(s, &s->conn[i]);
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		(void)unlink(s->path);
	close(s->fd);
	free(s->pslot);
	free(s->pfd);
	free(s->conn);
	free(s);
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
	int fd = -1, rc, len, send_rc;

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
	/* A daemon that refuses us (too many connections) may answer and
	 * close before our line is out: read its answer all the same. */
	send_rc = send_all(fd, line, (size_t)len,
			   now_ms() + CTL_SOCK_CLIENT_WAIT_S * 1000);
	if (send_rc && send_rc != -EPIPE && send_rc != -ECONNRESET) {
		rc = send_rc;
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
		rc = send_rc ? send_rc : -EPROTO;
		if (send_rc)
			snprintf(err, errlen, "send: %s", strerror(-send_rc));
		else
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
		rc = send_rc ? send_rc : -EPROTO;
		if (send_rc)
			snprintf(err, errlen, "send: %s", strerror(-send_rc));
		else
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
