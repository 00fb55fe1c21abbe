/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	seat_proto - benchmark prototype of issue 19's "take postscreen's
 *	seat": the pregreet test in postscreen's place on port 25, clean
 *	clients handed to Postfix's smtpd through its `smtpd pass` service
 * DESCRIPTION
 *	A measuring stick for bench/host_vs_postscreen_bench.sh (side `seat`),
 *	not a product feature: no cache, no access list, no DNSBL, no deep
 *	tests, IPv4 only. One process, one epoll loop, non-blocking sockets.
 *	Per accepted connection it writes postscreen's teaser
 *	"220-BANNER\r\n" and waits GREET_WAIT seconds for the client:
 *	- the client talks first (pregreet): its first bytes (at most 1023,
 *	  as postscreen's peek) are read and logged as postscreen does,
 *	  "PREGREET n after t from [a]:p: text" (text C-escaped, first 100
 *	  characters), it gets postscreen's pregreet drop reply "521 5.5.1
 *	  Protocol error" and the connection is closed;
 *	- the client closes first: "HANGUP after t from [a]:p in tests before
 *	  SMTP handshake", closed;
 *	- the wait ends in silence: "PASS NEW [a]:p", and the socket goes to
 *	  smtpd as postscreen sends it (postscreen_send.c): connect to the
 *	  pass endpoint (--pass, $queue_directory/private/smtpd for master.cf's
 *	  `smtpd pass ... smtpd`), send the descriptor with SCM_RIGHTS along
 *	  one data byte, then the attribute list client_address, client_port,
 *	  server_address, server_port in Postfix's attr_print0 encoding
 *	  (name NUL value NUL ..., a NUL ends the list). The protocol has no
 *	  reply: smtpd reads the attributes and closes the channel. Our copy
 *	  of the client socket is closed at once; the channel stays open until
 *	  smtpd closes it (as postscreen: "some systems discard information
 *	  when we close a channel immediately after writing", and a late close
 *	  shows that smtpd falls behind), at most SEAT_PASS_NOTIFY seconds.
 *	  smtpd's own "220 " line then ends the multi-line greeting: one
 *	  session, no reconnect.
 *	When the pass endpoint cannot be reached: "421 4.3.2 All server ports
 *	are busy"; when the descriptor cannot be sent: "421 4.3.2 No system
 *	resources" (postscreen's replies). More than --max-conn connections at
 *	once: "421 4.3.2 All screening ports are busy" and postscreen's log
 *	line "reject: connect from [a]:p: all screening ports busy".
 *	All greet waits are equal, so the pending connections form a FIFO in
 *	arrival order (O(1) insert and expiry); the same holds for the pass
 *	channels. epoll_wait's timeout is the first deadline. Slots are
 *	preallocated; an epoll event carries slot index and generation, so an
 *	event for a slot that was closed and reused in the same batch is
 *	ignored. Client bytes are only counted and logged, never interpreted.
 *	Log lines go through ctl_log (syslog-style prefix, tag
 *	postfix/smtpscreen); diagnostics through ctl_msg (stderr and the log).
 * CONTRACT
 *	seat-proto --listen A.B.C.D:PORT --pass PATH [--greet-wait N[s]]
 *	           [--banner TEXT] [--log FILE] [--max-conn N] [--backlog N]
 *	--greet-wait 1..3600 seconds (default 6, postscreen's); --banner
 *	default "smtpscreen ESMTP"; --log default stdout; --max-conn
 *	1..1048576 (default 65536); --backlog 1..65535 (default 100, what
 *	Postfix's master gives postscreen: default_process_limit). Raises
 *	RLIMIT_NOFILE to what --max-conn needs (fatal when it cannot).
 *	Runs until SIGTERM or SIGINT, then closes every connection and prints
 *	"seat-proto: accepted=N pregreet=N hangup=N pass=N pass_failed=N
 *	pass_timeout=N busy=N accept_errors=N log_write_errors=N" to stderr.
 *	Exit 0 after a signal, 1 on a startup error (with the reason), 2 usage.
 * THREADING
 *	Single-threaded program; the signal handler only sets an atomic flag,
 *	and runs only inside epoll_pwait (the stop signals are blocked elsewhere).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_log.h"
#include "ctl_msg.h"

#define SEAT_MAX_CONN		1048576u
#define SEAT_NIL		UINT32_MAX
#define SEAT_READ_MAX		1023	/* postscreen peeks at most this much */
#define SEAT_LOG_TEXT		100	/* postscreen logs %.100s of it */
#define SEAT_PASS_NOTIFY	100	/* s: smtpd must close the channel by then */
#define SEAT_ACCEPT_BATCH	64	/* accepts per listener event */
#define SEAT_EVENTS		256
#define SEAT_FD_SPARE		32	/* listener, epoll, log, stdio, a busy reply */
#define SEAT_LISTENER		UINT64_MAX	/* epoll data of the listening socket */

/* A slot is free, waiting for the greet wait to end, or passed to smtpd
 * with the IPC channel still open. */
enum seat_state { SEAT_FREE = 0, SEAT_WAIT, SEAT_PASS };

/* Which of a slot's two descriptors an epoll event is for. */
enum seat_kind { SEAT_KIND_CLIENT = 0, SEAT_KIND_PASS = 1 };

struct seat_conn {
	int fd;			/* client socket, -1 none */
	int pass_fd;		/* IPC channel to smtpd, -1 none */
	enum seat_state state;
	uint32_t gen;		/* bumped when the slot is freed */
	uint32_t prev, next;	/* FIFO links; next also links the free list */
	uint64_t start_ns;	/* accept time (monotonic) */
	uint64_t due_ns;	/* end of the wait the slot is in */
	struct sockaddr_in client, server;
};

struct seat_fifo {
	uint32_t head, tail;
};

struct seat_stats {
	uint64_t accepted, pregreet, hangup, pass, pass_failed, pass_timeout, busy,
		 accept_errors;
};

struct seat {
	struct sockaddr_in listen_addr;
	const char *pass_path;
	struct sockaddr_un pass_sa;
	socklen_t pass_salen;
	uint64_t greet_ns;
	char teaser[512];
	size_t teaser_len;
	unsigned max_conn, backlog;
	int lfd, ep;
	bool accept_paused;
	struct seat_conn *conns;
	uint32_t free_head;
	unsigned active;	/* slots not free */
	struct seat_fifo wait, passing;
	struct ctl_log *log;
	struct seat_stats st;
};

static atomic_bool seat_stop;

static const char seat_reply_pregreet[] = "521 5.5.1 Protocol error\r\n";
static const char seat_reply_no_server[] = "421 4.3.2 All server ports are busy\r\n";
static const char seat_reply_no_resources[] = "421 4.3.2 No system resources\r\n";
static const char seat_reply_busy[] = "421 4.3.2 All screening ports are busy\r\n";

/* seat_usage - the synopsis; returns 2 */
static int seat_usage(void)
{
	fprintf(stderr, "usage: seat-proto --listen A.B.C.D:PORT --pass PATH "
		"[--greet-wait N[s]] [--banner TEXT] [--log FILE] [--max-conn N] "
		"[--backlog N]\n");
	return 2;
}

/* seat_on_signal - SIGTERM/SIGINT: stop the loop */
static void seat_on_signal(int sig)
{
	(void)sig;
	atomic_store(&seat_stop, true);
}

/* seat_now - monotonic nanoseconds */
static uint64_t seat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* seat_parse_uint - decimal in [lo, hi], an optional suffix, nothing else; 0 or -EINVAL */
static int seat_parse_uint(const char *s, unsigned long lo, unsigned long hi,
			   const char *suffix, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || v < lo || v > hi)
		return -EINVAL;
	if (*end && !(suffix && strcmp(end, suffix) == 0))
		return -EINVAL;
	*out = v;
	return 0;
}

/* seat_parse_listen - "A.B.C.D:PORT" into sa; 0 or -EINVAL */
static int seat_parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    seat_parse_uint(colon + 1, 1, 65535, NULL, &port) < 0)
		return -EINVAL;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* seat_fmt_secs - a delay as postscreen logs it: two significant digits,
 * at most two decimals, no trailing zeros ("0", "0.01", "0.5", "1.2", "12") */
static const char *seat_fmt_secs(uint64_t ns, char *buf, size_t len)
{
	uint64_t us = ns / 1000, res, q, whole, frac;
	int o;

	res = us >= 10000000 ? 1000000 : us >= 1000000 ? 100000 : 10000;
	q = (us + res / 2) / res;
	whole = q * res / 1000000;
	frac = q * res % 1000000;
	o = snprintf(buf, len, "%" PRIu64, whole);
	if (frac && o > 0 && (size_t)o + 8 < len) {
		snprintf(buf + o, len - (size_t)o, ".%06" PRIu64, frac);
		for (size_t e = strlen(buf); buf[e - 1] == '0'; e--)
			buf[e - 1] = 0;
	}
	return buf;
}

/* seat_addr - "a" and "p" of an IPv4 endpoint */
static void seat_addr(const struct sockaddr_in *sa, char *a, size_t alen,
		      char *p, size_t plen)
{
	if (inet_ntop(AF_INET, &sa->sin_addr, a, (socklen_t)alen) == NULL)
		snprintf(a, alen, "?");
	snprintf(p, plen, "%u", (unsigned)ntohs(sa->sin_port));
}

/* seat_send_reply - best effort, never blocks (postscreen's psc_send_reply) */
static void seat_send_reply(int fd, const char *text, size_t len)
{
	ssize_t n = send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;		/* a peer that does not read gets what fits */
}

/* seat_fifo_push - append slot i (its due_ns set) */
static void seat_fifo_push(struct seat *s, struct seat_fifo *f, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];

	c->prev = f->tail;
	c->next = SEAT_NIL;
	if (f->tail == SEAT_NIL)
		f->head = i;
	else
		s->conns[f->tail].next = i;
	f->tail = i;
}

/* seat_fifo_remove - unlink slot i from f */
static void seat_fifo_remove(struct seat *s, struct seat_fifo *f, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];

	if (c->prev == SEAT_NIL)
		f->head = c->next;
	else
		s->conns[c->prev].next = c->next;
	if (c->next == SEAT_NIL)
		f->tail = c->prev;
	else
		s->conns[c->next].prev = c->prev;
	c->prev = c->next = SEAT_NIL;
}

/* seat_epoll_data - epoll data of slot i's descriptor of a kind */
static uint64_t seat_epoll_data(const struct seat *s, uint32_t i, enum seat_kind k)
{
	return (uint64_t)s->conns[i].gen << 32 | (uint64_t)i << 1 | (uint64_t)k;
}

/* seat_listen_interest - watch the listener or not (out of descriptors) */
static void seat_listen_interest(struct seat *s, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u64 = SEAT_LISTENER };

	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &ev) < 0)
		ctl_msg_panic("epoll_ctl MOD listener: %s", strerror(errno));
	s->accept_paused = !on;
}

/* seat_conn_free - close what the slot holds, unlink it, back to the free list */
static void seat_conn_free(struct seat *s, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];

	switch (c->state) {
	case SEAT_WAIT:
		seat_fifo_remove(s, &s->wait, i);
		break;
	case SEAT_PASS:
		seat_fifo_remove(s, &s->passing, i);
		break;
	case SEAT_FREE:
	default:
		ctl_msg_panic("seat_conn_free: slot %u in state %d", i, (int)c->state);
	}
	/* Explicit EPOLL_CTL_DEL: a descriptor passed to smtpd keeps its file
	 * (and so its epoll registration) alive after our close(). */
	if (c->fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (c->pass_fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, c->pass_fd, NULL);
		close(c->pass_fd);
	}
	c->fd = c->pass_fd = -1;
	c->state = SEAT_FREE;
	c->gen++;
	c->next = s->free_head;
	s->free_head = i;
	s->active--;
	if (s->accept_paused)
		seat_listen_interest(s, true);
}

/* seat_attr_add - append "name\0value\0" to buf at *o; -ENOSPC if it does not fit */
static int seat_attr_add(char *buf, size_t len, size_t *o, const char *name,
			 const char *value)
{
	size_t n = strlen(name) + 1, v = strlen(value) + 1;

	if (*o + n + v > len)
		return -ENOSPC;
	memcpy(buf + *o, name, n);
	memcpy(buf + *o + n, value, v);
	*o += n + v;
	return 0;
}

/* seat_pass_attrs - the attribute list smtpd's pass_accept_attr() reads
 * (attr_print0: name NUL value NUL ..., then NUL); its length, 0 on overflow */
static size_t seat_pass_attrs(const struct seat_conn *c, char *buf, size_t len)
{
	char ca[INET_ADDRSTRLEN], cp[8], sa[INET_ADDRSTRLEN], sp[8];
	size_t o = 0;

	seat_addr(&c->client, ca, sizeof(ca), cp, sizeof(cp));
	seat_addr(&c->server, sa, sizeof(sa), sp, sizeof(sp));
	if (seat_attr_add(buf, len, &o, "client_address", ca) < 0 ||
	    seat_attr_add(buf, len, &o, "client_port", cp) < 0 ||
	    seat_attr_add(buf, len, &o, "server_address", sa) < 0 ||
	    seat_attr_add(buf, len, &o, "server_port", sp) < 0 || o + 1 > len)
		return 0;
	buf[o++] = 0;		/* end of the attribute list */
	return o;
}

/* seat_send_fd - one data byte carrying fd (SCM_RIGHTS), as unix_send_fd();
 * 0 or -errno */
static int seat_send_fd(int chan, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;

	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(chan, &msg, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

/* seat_pass_send - connect to the pass endpoint, send fd and attributes;
 * the channel, or -1 with the reply the client should get in *reply */
static int seat_pass_send(struct seat *s, const struct seat_conn *c, const char **reply)
{
	char attrs[256];
	size_t alen = seat_pass_attrs(c, attrs, sizeof(attrs));
	ssize_t n;
	int chan, err;

	if (alen == 0)
		ctl_msg_panic("seat_pass_send: attribute buffer too small");
	chan = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (chan < 0 || connect(chan, (struct sockaddr *)&s->pass_sa, s->pass_salen) < 0) {
		/* Non-blocking AF_UNIX connect: EAGAIN when the backlog is full. */
		err = errno;
		ctl_msg_warn("cannot connect to service %s: %s", s->pass_path, strerror(err));
		if (chan >= 0)
			close(chan);
		*reply = seat_reply_no_server;
		return -1;
	}
	err = seat_send_fd(chan, c->fd);
	if (err == 0) {
		n = send(chan, attrs, alen, MSG_NOSIGNAL);
		err = n == (ssize_t)alen ? 0 : n < 0 ? -errno : -EAGAIN;
	}
	if (err < 0) {
		ctl_msg_warn("cannot pass connection to service %s: %s", s->pass_path,
			     strerror(-err));
		close(chan);
		*reply = seat_reply_no_resources;
		return -1;
	}
	return chan;
}

/* seat_greet_done - the greet wait of slot i ended in silence: PASS NEW,
 * hand the socket to smtpd, keep the channel until smtpd closes it */
static void seat_greet_done(struct seat *s, uint32_t i, uint64_t now)
{
	struct seat_conn *c = &s->conns[i];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	char a[INET_ADDRSTRLEN], p[8];
	const char *reply = NULL;
	int chan;

	seat_addr(&c->client, a, sizeof(a), p, sizeof(p));
	ctl_log_msg(s->log, "PASS NEW [%s]:%s", a, p);
	chan = seat_pass_send(s, c, &reply);
	if (chan < 0) {
		s->st.pass_failed++;
		seat_send_reply(c->fd, reply, strlen(reply));
		seat_conn_free(s, i);
		return;
	}
	s->st.pass++;
	/* smtpd has the socket now; our copy goes (deregistered first). */
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	seat_fifo_remove(s, &s->wait, i);
	c->state = SEAT_PASS;
	c->pass_fd = chan;
	c->due_ns = now + (uint64_t)SEAT_PASS_NOTIFY * 1000000000u;
	seat_fifo_push(s, &s->passing, i);
	ev.data.u64 = seat_epoll_data(s, i, SEAT_KIND_PASS);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, chan, &ev) < 0) {
		ctl_msg_warn("epoll_ctl ADD channel to %s: %s", s->pass_path, strerror(errno));
		seat_conn_free(s, i);	/* smtpd has the client; only the wait is lost */
	}
}

/* seat_client_event - client bytes or EOF during the greet wait */
static void seat_client_event(struct seat *s, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];
	char buf[SEAT_READ_MAX], text[SEAT_LOG_TEXT + 1], a[INET_ADDRSTRLEN], p[8], t[32];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	seat_addr(&c->client, a, sizeof(a), p, sizeof(p));
	seat_fmt_secs(seat_now() - c->start_ns, t, sizeof(t));
	if (n > 0) {
		ctl_log_escape((const uint8_t *)buf, (size_t)n, text, sizeof(text));
		ctl_log_msg(s->log, "PREGREET %zd after %s from [%s]:%s: %s", n, t, a, p, text);
		s->st.pregreet++;
		seat_send_reply(c->fd, seat_reply_pregreet, sizeof(seat_reply_pregreet) - 1);
	} else {
		/* EOF or an error (RST): the client is gone. */
		ctl_log_msg(s->log, "HANGUP after %s from [%s]:%s in tests before SMTP "
			    "handshake", t, a, p);
		s->st.hangup++;
	}
	seat_conn_free(s, i);
}

/* seat_pass_event - the channel to smtpd: EOF (smtpd has read it all) ends it */
static void seat_pass_event(struct seat *s, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];
	char buf[64];
	ssize_t n;

	/* smtpd sends nothing; whatever comes is read and dropped until EOF. */
	while ((n = recv(c->pass_fd, buf, sizeof(buf), 0)) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	seat_conn_free(s, i);
}

/* seat_accept_one - the new connection fd from sa: teaser, greet wait */
static void seat_accept_one(struct seat *s, int fd, const struct sockaddr_in *sa,
			    uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	socklen_t sl = sizeof(struct sockaddr_in);
	struct seat_conn *c;
	uint32_t i = s->free_head;

	s->st.accepted++;
	if (i == SEAT_NIL) {
		char a[INET_ADDRSTRLEN], p[8];

		seat_addr(sa, a, sizeof(a), p, sizeof(p));
		ctl_log_msg(s->log, "reject: connect from [%s]:%s: all screening ports busy",
			    a, p);
		s->st.busy++;
		seat_send_reply(fd, seat_reply_busy, sizeof(seat_reply_busy) - 1);
		close(fd);
		return;
	}
	c = &s->conns[i];
	s->free_head = c->next;
	s->active++;
	c->fd = fd;
	c->pass_fd = -1;
	c->state = SEAT_WAIT;
	c->client = *sa;
	c->server = s->listen_addr;
	if (s->listen_addr.sin_addr.s_addr == htonl(INADDR_ANY) &&
	    getsockname(fd, (struct sockaddr *)&c->server, &sl) < 0)
		c->server = s->listen_addr;
	c->start_ns = now;
	c->due_ns = now + s->greet_ns;
	seat_fifo_push(s, &s->wait, i);
	seat_send_reply(fd, s->teaser, s->teaser_len);
	ev.data.u64 = seat_epoll_data(s, i, SEAT_KIND_CLIENT);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ctl_msg_warn("epoll_ctl ADD client socket: %s", strerror(errno));
		seat_conn_free(s, i);
	}
}

/* seat_accept - new connections, a batch at a time */
static void seat_accept(struct seat *s)
{
	struct sockaddr_in sa;
	socklen_t sl;
	uint64_t now = seat_now();
	int fd;

	for (int k = 0; k < SEAT_ACCEPT_BATCH; k++) {
		sl = sizeof(sa);
		fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			if (sa.sin_family != AF_INET) {
				close(fd);	/* an IPv4 listener: cannot happen */
				continue;
			}
			seat_accept_one(s, fd, &sa, now);
			continue;
		}
		switch (errno) {
		case EAGAIN:
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of descriptors or memory: stop accepting until a
			 * connection ends (else the listener busy-loops). */
			s->st.accept_errors++;
			ctl_msg_warn("accept on listener: %s; not accepting until a "
				     "connection closes", strerror(errno));
			if (s->active > 0)
				seat_listen_interest(s, false);
			return;
		default:
			s->st.accept_errors++;
			ctl_msg_warn("accept on listener: %s", strerror(errno));
			return;
		}
	}
}

/* seat_expire - greet waits and pass channels whose time has come */
static void seat_expire(struct seat *s, uint64_t now)
{
	while (s->wait.head != SEAT_NIL && s->conns[s->wait.head].due_ns <= now)
		seat_greet_done(s, s->wait.head, now);
	while (s->passing.head != SEAT_NIL && s->conns[s->passing.head].due_ns <= now) {
		ctl_msg_warn("timeout sending connection to service %s", s->pass_path);
		s->st.pass_timeout++;
		seat_conn_free(s, s->passing.head);
	}
}

/* seat_timeout_ms - epoll_wait's timeout: until the first deadline, -1 none */
static int seat_timeout_ms(const struct seat *s, uint64_t now)
{
	uint64_t due = UINT64_MAX, ms;

	if (s->wait.head != SEAT_NIL)
		due = s->conns[s->wait.head].due_ns;
	if (s->passing.head != SEAT_NIL && s->conns[s->passing.head].due_ns < due)
		due = s->conns[s->passing.head].due_ns;
	if (due == UINT64_MAX)
		return -1;
	if (due <= now)
		return 0;
	ms = (due - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

/* seat_dispatch - one epoll event */
static void seat_dispatch(struct seat *s, uint64_t data)
{
	uint32_t i, gen;
	enum seat_kind k;

	if (data == SEAT_LISTENER) {
		seat_accept(s);
		return;
	}
	gen = (uint32_t)(data >> 32);
	i = (uint32_t)(data & 0xffffffffu) >> 1;
	k = (enum seat_kind)(data & 1);
	if (i >= s->max_conn)
		ctl_msg_panic("seat_dispatch: slot %u out of range", i);
	if (s->conns[i].gen != gen)
		return;		/* the slot was freed earlier in this batch */
	switch (k) {
	case SEAT_KIND_CLIENT:
		if (s->conns[i].state == SEAT_WAIT)
			seat_client_event(s, i);
		return;
	case SEAT_KIND_PASS:
		if (s->conns[i].state == SEAT_PASS)
			seat_pass_event(s, i);
		return;
	default:
		ctl_msg_panic("seat_dispatch: kind %d", (int)k);
	}
}

/* seat_run - the event loop until a signal; SIGTERM/SIGINT are blocked
 * except inside epoll_pwait (unblocked), so a stop is never missed */
static void seat_run(struct seat *s, const sigset_t *unblocked)
{
	struct epoll_event evs[SEAT_EVENTS];
	int n;

	while (!atomic_load(&seat_stop)) {
		n = epoll_pwait(s->ep, evs, SEAT_EVENTS, seat_timeout_ms(s, seat_now()),
				unblocked);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ctl_msg_panic("epoll_wait: %s", strerror(errno));
		}
		for (int k = 0; k < n; k++)
			seat_dispatch(s, evs[k].data.u64);
		seat_expire(s, seat_now());
	}
}

/* seat_nofile - RLIMIT_NOFILE for *max_conn slots (client + channel each);
 * without the right to raise the hard limit, *max_conn shrinks to what fits
 * (with a warning); 0 or -errno */
static int seat_nofile(unsigned *max_conn)
{
	rlim_t need = (rlim_t)*max_conn * 2 + SEAT_FD_SPARE;
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	want.rlim_cur = need;
	want.rlim_max = rl.rlim_max > need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return 0;
	if (errno != EPERM || rl.rlim_max < 2 + SEAT_FD_SPARE)
		return -errno;
	/* No CAP_SYS_RESOURCE: as many slots as the hard limit allows. */
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	ctl_msg_warn("RLIMIT_NOFILE hard limit %llu < %llu: at most %llu connections, "
		     "not %u", (unsigned long long)rl.rlim_max, (unsigned long long)need,
		     (unsigned long long)((rl.rlim_max - SEAT_FD_SPARE) / 2), *max_conn);
	*max_conn = (unsigned)((rl.rlim_max - SEAT_FD_SPARE) / 2);
	return 0;
}

/* seat_setup - slots, listener, epoll; 0 or -1 after a message */
static int seat_setup(struct seat *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SEAT_LISTENER };
	char a[INET_ADDRSTRLEN], p[8];
	int one = 1, err;

	seat_addr(&s->listen_addr, a, sizeof(a), p, sizeof(p));
	err = seat_nofile(&s->max_conn);
	if (err < 0) {
		ctl_msg_error("RLIMIT_NOFILE for --max-conn %u (%u descriptors): %s",
			      s->max_conn, 2 * s->max_conn + SEAT_FD_SPARE, strerror(-err));
		return -1;
	}
	s->conns = calloc(s->max_conn, sizeof(*s->conns));
	if (s->conns == NULL) {
		ctl_msg_error("%u connection slots: %s", s->max_conn, strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < s->max_conn; i++) {
		s->conns[i].fd = s->conns[i].pass_fd = -1;
		s->conns[i].prev = SEAT_NIL;
		s->conns[i].next = i + 1 < s->max_conn ? i + 1 : SEAT_NIL;
	}
	s->free_head = 0;
	s->wait.head = s->wait.tail = s->passing.head = s->passing.tail = SEAT_NIL;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 ||
	    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&s->listen_addr, sizeof(s->listen_addr)) < 0 ||
	    listen(s->lfd, (int)s->backlog) < 0) {
		ctl_msg_error("listen on %s:%s: %s", a, p, strerror(errno));
		return -1;
	}
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0 || epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		ctl_msg_error("epoll for %s:%s: %s", a, p, strerror(errno));
		return -1;
	}
	return 0;
}

/* seat_teardown - close every connection and the loop's descriptors */
static void seat_teardown(struct seat *s)
{
	if (s->conns != NULL) {
		for (uint32_t i = 0; i < s->max_conn; i++)
			if (s->conns[i].state != SEAT_FREE)
				seat_conn_free(s, i);
	}
	if (s->ep >= 0)
		close(s->ep);
	if (s->lfd >= 0)
		close(s->lfd);
	free(s->conns);
}

/* seat_options - the command line into s; 0, or the exit code (usage 2, error 1) */
static int seat_options(struct seat *s, int argc, char **argv, const char **log_path)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "pass", required_argument, NULL, 'p' },
		{ "greet-wait", required_argument, NULL, 'g' },
		{ "banner", required_argument, NULL, 'b' },
		{ "log", required_argument, NULL, 'o' },
		{ "max-conn", required_argument, NULL, 'm' },
		{ "backlog", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	const char *banner = "smtpscreen ESMTP", *listen_arg = NULL;
	unsigned long v;
	int c, n;

	s->greet_ns = 6ull * 1000000000u;
	s->max_conn = 65536;
	s->backlog = 100;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_arg = optarg;
			if (seat_parse_listen(optarg, &s->listen_addr) < 0) {
				ctl_msg_error("--listen: bad value \"%s\" (A.B.C.D:PORT)", optarg);
				return 2;
			}
			break;
		case 'p':
			s->pass_path = optarg;
			break;
		case 'g':
			if (seat_parse_uint(optarg, 1, 3600, "s", &v) < 0) {
				ctl_msg_error("--greet-wait: bad value \"%s\" (1..3600 s)", optarg);
				return 2;
			}
			s->greet_ns = (uint64_t)v * 1000000000u;
			break;
		case 'b':
			banner = optarg;
			break;
		case 'o':
			*log_path = optarg;
			break;
		case 'm':
			if (seat_parse_uint(optarg, 1, SEAT_MAX_CONN, NULL, &v) < 0) {
				ctl_msg_error("--max-conn: bad value \"%s\" (1..%u)", optarg,
					      SEAT_MAX_CONN);
				return 2;
			}
			s->max_conn = (unsigned)v;
			break;
		case 'q':
			if (seat_parse_uint(optarg, 1, 65535, NULL, &v) < 0) {
				ctl_msg_error("--backlog: bad value \"%s\" (1..65535)", optarg);
				return 2;
			}
			s->backlog = (unsigned)v;
			break;
		default:
			return seat_usage();
		}
	}
	if (optind != argc || listen_arg == NULL || s->pass_path == NULL)
		return seat_usage();
	if (strlen(s->pass_path) >= sizeof(s->pass_sa.sun_path)) {
		ctl_msg_error("--pass: path too long for a UNIX socket: %s", s->pass_path);
		return 2;
	}
	s->pass_sa.sun_family = AF_UNIX;
	memcpy(s->pass_sa.sun_path, s->pass_path, strlen(s->pass_path) + 1);
	s->pass_salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    strlen(s->pass_path) + 1);
	if (strpbrk(banner, "\r\n") != NULL) {
		ctl_msg_error("--banner: CR or LF in \"%s\"", banner);
		return 2;
	}
	n = snprintf(s->teaser, sizeof(s->teaser), "220-%s\r\n", banner);
	if (n < 0 || (size_t)n >= sizeof(s->teaser)) {
		ctl_msg_error("--banner: longer than %zu bytes", sizeof(s->teaser) - 7);
		return 2;
	}
	s->teaser_len = (size_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct seat s = { .lfd = -1, .ep = -1 };
	struct sigaction sa = { .sa_handler = seat_on_signal };
	sigset_t stop_sigs, unblocked;
	const char *log_path = NULL;
	int rc;

	ctl_msg_init("seat-proto");
	rc = seat_options(&s, argc, argv, &log_path);
	if (rc != 0)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.log = log_path ? ctl_log_open_file(NULL, log_path, CTL_LOG_POSTFIX)
		: ctl_log_create(NULL, stdout, CTL_LOG_POSTFIX);
	if (s.log == NULL) {
		ctl_msg_error("log %s: %s", log_path ? log_path : "stdout", strerror(errno));
		return 1;
	}
	ctl_msg_set_log(s.log);
	rc = 1;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    sigprocmask(SIG_BLOCK, &stop_sigs, &unblocked) < 0) {
		ctl_msg_error("signal handlers: %s", strerror(errno));
		goto out;
	}
	if (seat_setup(&s) < 0)
		goto out;
	ctl_msg_info("listening on %s:%u, greet wait %" PRIu64 " s, pass to %s, "
		     "max %u connections", inet_ntoa(s.listen_addr.sin_addr),
		     (unsigned)ntohs(s.listen_addr.sin_port), s.greet_ns / 1000000000u,
		     s.pass_path, s.max_conn);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);
	seat_run(&s, &unblocked);
	rc = 0;
out:
	seat_teardown(&s);
	ctl_msg_set_log(NULL);
	fprintf(stderr, "seat-proto: accepted=%" PRIu64 " pregreet=%" PRIu64 " hangup=%"
		PRIu64 " pass=%" PRIu64 " pass_failed=%" PRIu64 " pass_timeout=%" PRIu64
		" busy=%" PRIu64 " accept_errors=%" PRIu64 " log_write_errors=%" PRIu64 "\n",
		s.st.accepted, s.st.pregreet, s.st.hangup, s.st.pass, s.st.pass_failed,
		s.st.pass_timeout, s.st.busy, s.st.accept_errors,
		ctl_log_write_errors(s.log));
	ctl_log_destroy(s.log);
	return rc;
}
