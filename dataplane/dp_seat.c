/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_seat - postscreen's seat on port 25 (see dp_seat.h)
 * DESCRIPTION
 *	One epoll loop, non-blocking sockets, preallocated slots. An epoll
 *	event carries slot index, generation and kind, so an event for a slot
 *	that was closed and reused in the same batch is ignored. Listeners
 *	carry DP_SEAT_LISTENER + their index, the wake descriptor
 *	DP_SEAT_WAKE. Out of descriptors, accepting pauses until a connection
 *	ends (else the listener busy-loops).
 * THREADING
 *	See dp_seat.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_msg.h"
#include "dp_seat.h"

#define SEAT_NIL		UINT32_MAX
#define SEAT_READ_MAX		1023	/* postscreen peeks at most this much */
#define SEAT_LOG_TEXT		100	/* postscreen logs %.100s of it */
#define SEAT_ACCEPT_BATCH	64	/* accepts per listener event */
#define SEAT_EVENTS		256
#define SEAT_FD_SPARE		64	/* listeners, epoll, logs, stdio, a busy reply */
#define SEAT_LISTENER		(UINT64_MAX - 64)	/* + listener index */
#define SEAT_WAKE		UINT64_MAX

/* A slot is free, taken but in no list yet (accept decides), in its greet
 * wait, or passed with the channel open. */
enum seat_state { SEAT_FREE = 0, SEAT_NEW, SEAT_WAIT, SEAT_PASS };

/* Which of a slot's two descriptors an epoll event is for. */
enum seat_kind { SEAT_KIND_CLIENT = 0, SEAT_KIND_PASS = 1 };

struct seat_conn {
	int fd;			/* client socket, -1 none */
	int pass_fd;		/* channel to smtpd, -1 none */
	enum seat_state state;
	bool quiet;		/* early bytes left for smtpd: EPOLLIN off */
	uint32_t gen;		/* bumped when the slot is freed */
	uint32_t prev, next;	/* FIFO links; next also links the free list */
	uint64_t start_ns;	/* accept time (monotonic) */
	uint64_t due_ns;	/* end of the wait the slot is in */
	struct sockaddr_storage client, server;
};

struct seat_fifo {
	uint32_t head, tail;
};

/* Counters: written by the loop, read by any thread. */
struct seat_ctr {
	_Atomic uint64_t accepted, screened, direct, early, hangup, pass,
			 pass_failed, pass_timeout, busy, accept_errors, waiting;
};

struct dp_seat {
	struct dp_seat_opts o;
	struct sockaddr_un pass_sa;
	socklen_t pass_salen;
	char teaser[512];
	size_t teaser_len;
	unsigned max_conn;
	int lfd[DP_SEAT_MAX_LISTEN];
	struct sockaddr_storage laddr[DP_SEAT_MAX_LISTEN];
	unsigned nl;
	int ep;
	bool accept_paused;
	struct seat_conn *conns;
	uint32_t free_head;
	unsigned active;	/* slots not free */
	struct seat_fifo wait, passing;
	struct seat_ctr st;
};

static const char seat_reply_no_server[] = "421 4.3.2 All server ports are busy\r\n";
static const char seat_reply_no_resources[] = "421 4.3.2 No system resources\r\n";
static const char seat_reply_busy[] = "421 4.3.2 All screening ports are busy\r\n";

/* seat_now - monotonic nanoseconds */
static uint64_t seat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* seat_inc - one more of a counter */
static void seat_inc(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* seat_parse_listen - "A.B.C.D:PORT" or "[ADDR]:PORT" into sa; 0 or -EINVAL */
static int seat_parse_listen(const char *s, size_t len, struct sockaddr_storage *sa)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon;
	unsigned long port;
	size_t hl;

	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = 0;
	colon = strrchr(host, ':');
	if (colon == NULL || colon == host)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - host);
	host[hl] = 0;
	memset(sa, 0, sizeof(*sa));
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;

		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = 0;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	((struct sockaddr_in *)sa)->sin_family = AF_INET;
	((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &((struct sockaddr_in *)sa)->sin_addr) == 1 ?
	       0 : -EINVAL;
}

/* seat_addr - address (IPv4-mapped IPv6 as IPv4, as Postfix prints it)
 * and port of an endpoint as text */
static void seat_addr(const struct sockaddr_storage *sa, char *a, size_t alen,
		      char *p, size_t plen)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
	const char *r;

	if (sa->ss_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
			r = inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], a, (socklen_t)alen);
		else
			r = inet_ntop(AF_INET6, &a6->sin6_addr, a, (socklen_t)alen);
		snprintf(p, plen, "%u", (unsigned)ntohs(a6->sin6_port));
	} else {
		r = inet_ntop(AF_INET, &a4->sin_addr, a, (socklen_t)alen);
		snprintf(p, plen, "%u", (unsigned)ntohs(a4->sin_port));
	}
	if (r == NULL)
		snprintf(a, alen, "?");
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

/* seat_send_reply - best effort, never blocks (postscreen's psc_send_reply) */
static void seat_send_reply(int fd, const char *text, size_t len)
{
	ssize_t n = send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;		/* a peer that does not read gets what fits */
}

/* seat_fifo_push - append slot i (its due_ns set) */
static void seat_fifo_push(struct dp_seat *s, struct seat_fifo *f, uint32_t i)
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
static void seat_fifo_remove(struct dp_seat *s, struct seat_fifo *f, uint32_t i)
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
static uint64_t seat_epoll_data(const struct dp_seat *s, uint32_t i, enum seat_kind k)
{
	return (uint64_t)s->conns[i].gen << 32 | (uint64_t)i << 1 | (uint64_t)k;
}

/* seat_listen_interest - watch the listeners or not (out of descriptors) */
static void seat_listen_interest(struct dp_seat *s, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0 };

	for (unsigned l = 0; l < s->nl; l++) {
		ev.data.u64 = SEAT_LISTENER + l;
		if (epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd[l], &ev) < 0)
			ctl_msg_panic("seat: epoll_ctl MOD listener: %s", strerror(errno));
	}
	s->accept_paused = !on;
}

/* seat_unwait - slot i leaves the greet wait's FIFO */
static void seat_unwait(struct dp_seat *s, uint32_t i)
{
	seat_fifo_remove(s, &s->wait, i);
	atomic_fetch_sub_explicit(&s->st.waiting, 1, memory_order_relaxed);
}

/* seat_conn_free - close what the slot holds, unlink it, back to the free list */
static void seat_conn_free(struct dp_seat *s, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];

	switch (c->state) {
	case SEAT_NEW:
		break;
	case SEAT_WAIT:
		seat_unwait(s, i);
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
	char ca[INET6_ADDRSTRLEN], cp[8], sa[INET6_ADDRSTRLEN], sp[8];
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

/* seat_send_fd - one data byte carrying fd (SCM_RIGHTS); 0 or -errno */
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
static int seat_pass_send(struct dp_seat *s, const struct seat_conn *c,
			  const char **reply)
{
	char attrs[320];
	size_t alen = seat_pass_attrs(c, attrs, sizeof(attrs));
	ssize_t n;
	int chan, err;

	if (alen == 0)
		ctl_msg_panic("seat_pass_send: attribute buffer too small");
	chan = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (chan < 0 || connect(chan, (struct sockaddr *)&s->pass_sa, s->pass_salen) < 0) {
		/* Non-blocking AF_UNIX connect: EAGAIN when the backlog is full. */
		err = errno;
		ctl_msg_warn("cannot connect to service %s: %s", s->o.pass_path,
			     strerror(err));
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
		ctl_msg_warn("cannot pass connection to service %s: %s", s->o.pass_path,
			     strerror(-err));
		close(chan);
		*reply = seat_reply_no_resources;
		return -1;
	}
	return chan;
}

/* seat_gone - has the connection ended already (reset, the engine's
 * socket destroy, or closed by the client)? Such a socket is not worth an
 * smtpd process. */
static bool seat_gone(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char b;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
		return true;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* seat_hand_off - slot i's client goes to smtpd; the channel stays until
 * smtpd closes it */
static void seat_hand_off(struct dp_seat *s, uint32_t i, uint64_t now)
{
	struct seat_conn *c = &s->conns[i];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	const char *reply = NULL;
	int chan;

	if (seat_gone(c->fd)) {
		seat_inc(&s->st.hangup);
		seat_conn_free(s, i);
		return;
	}
	chan = seat_pass_send(s, c, &reply);
	if (chan < 0) {
		seat_inc(&s->st.pass_failed);
		seat_send_reply(c->fd, reply, strlen(reply));
		seat_conn_free(s, i);
		return;
	}
	seat_inc(&s->st.pass);
	/* smtpd has the socket now; our copy goes (deregistered first). */
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->state == SEAT_WAIT)
		seat_unwait(s, i);
	c->state = SEAT_PASS;
	c->pass_fd = chan;
	c->due_ns = now + (uint64_t)DP_SEAT_PASS_NOTIFY * 1000000000u;
	seat_fifo_push(s, &s->passing, i);
	ev.data.u64 = seat_epoll_data(s, i, SEAT_KIND_PASS);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, chan, &ev) < 0) {
		ctl_msg_warn("seat: epoll_ctl ADD channel to %s: %s", s->o.pass_path,
			     strerror(errno));
		seat_conn_free(s, i);	/* smtpd has the client; only the wait is lost */
	}
}

/* seat_greet_done - the greet wait of slot i is over: PASS NEW (standalone
 * only: in host mode the engine says PASS NEW after the deep tests) */
static void seat_greet_done(struct dp_seat *s, uint32_t i, uint64_t now)
{
	struct seat_conn *c = &s->conns[i];
	char a[INET6_ADDRSTRLEN], p[8];

	if (s->o.log) {
		seat_addr(&c->client, a, sizeof(a), p, sizeof(p));
		ctl_log_msg(s->o.log, "PASS NEW [%s]:%s", a, p);
	}
	seat_hand_off(s, i, now);
}

/* seat_client_event - client bytes or EOF during the greet wait */
static void seat_client_event(struct dp_seat *s, uint32_t i)
{
	struct seat_conn *c = &s->conns[i];
	char buf[SEAT_READ_MAX], text[SEAT_LOG_TEXT + 1], a[INET6_ADDRSTRLEN], p[8], t[32];
	struct epoll_event ev = { .events = EPOLLRDHUP };
	ssize_t n;

	/* Peek: under ignore the bytes stay in the socket for smtpd. */
	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	seat_addr(&c->client, a, sizeof(a), p, sizeof(p));
	seat_fmt_secs(seat_now() - c->start_ns, t, sizeof(t));
	if (n > 0) {
		seat_inc(&s->st.early);
		if (s->o.log) {
			ctl_log_escape((const uint8_t *)buf, (size_t)n, text, sizeof(text));
			ctl_log_msg(s->o.log, "PREGREET %zd after %s from [%s]:%s: %s",
				    n, t, a, p, text);
		}
		if (s->o.early_reply == NULL) {
			/* ignore: it waits out the wait; only a hangup matters */
			ev.data.u64 = seat_epoll_data(s, i, SEAT_KIND_CLIENT);
			if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
				c->quiet = true;
				return;
			}
		} else {
			seat_send_reply(c->fd, s->o.early_reply, strlen(s->o.early_reply));
		}
	} else {
		/* EOF or an error (RST): the client is gone. */
		if (s->o.log)
			ctl_log_msg(s->o.log, "HANGUP after %s from [%s]:%s in tests "
				    "before SMTP handshake", t, a, p);
		seat_inc(&s->st.hangup);
	}
	seat_conn_free(s, i);
}

/* seat_pass_event - the channel to smtpd: EOF (smtpd has read it all) ends it */
static void seat_pass_event(struct dp_seat *s, uint32_t i)
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

/* seat_accept_one - the new connection fd on listener l: to smtpd at
 * once, or teaser and greet wait */
static void seat_accept_one(struct dp_seat *s, unsigned l, int fd,
			    const struct sockaddr_storage *sa, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	socklen_t sl = sizeof(struct sockaddr_storage);
	struct seat_conn *c;
	uint32_t i = s->free_head;
	uint64_t wait;
	int screen;

	seat_inc(&s->st.accepted);
	if (i == SEAT_NIL) {
		char a[INET6_ADDRSTRLEN], p[8];

		seat_addr(sa, a, sizeof(a), p, sizeof(p));
		ctl_msg_warn("reject: connect from [%s]:%s: all screening ports busy",
			     a, p);
		seat_inc(&s->st.busy);
		seat_send_reply(fd, seat_reply_busy, sizeof(seat_reply_busy) - 1);
		close(fd);
		return;
	}
	c = &s->conns[i];
	s->free_head = c->next;
	s->active++;
	c->fd = fd;
	c->pass_fd = -1;
	c->quiet = false;
	c->client = *sa;
	if (getsockname(fd, (struct sockaddr *)&c->server, &sl) < 0)
		c->server = s->laddr[l];
	c->start_ns = now;
	c->prev = c->next = SEAT_NIL;
	c->state = SEAT_NEW;
	screen = s->o.screen ? s->o.screen(s->o.arg, &c->client, &c->server) : 1;
	if (screen < 0) {
		/* judged and stopped before it was accepted */
		seat_inc(&s->st.hangup);
		seat_conn_free(s, i);
		return;
	}
	if (screen == 0) {
		/* the pass cache or the permanent permit: smtpd at once */
		seat_inc(&s->st.direct);
		seat_hand_off(s, i, now);
		return;
	}
	seat_inc(&s->st.screened);
	wait = s->o.wait_ns ? atomic_load_explicit(s->o.wait_ns, memory_order_relaxed) :
	       6000000000ull;
	c->state = SEAT_WAIT;
	c->due_ns = now + wait;
	atomic_fetch_add_explicit(&s->st.waiting, 1, memory_order_relaxed);
	seat_fifo_push(s, &s->wait, i);
	if (s->teaser_len)
		seat_send_reply(fd, s->teaser, s->teaser_len);
	ev.data.u64 = seat_epoll_data(s, i, SEAT_KIND_CLIENT);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ctl_msg_warn("seat: epoll_ctl ADD client socket: %s", strerror(errno));
		seat_conn_free(s, i);
	}
}

/* seat_accept - new connections on listener l, a batch at a time */
static void seat_accept(struct dp_seat *s, unsigned l)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	uint64_t now = seat_now();
	int fd;

	for (int k = 0; k < SEAT_ACCEPT_BATCH; k++) {
		sl = sizeof(sa);
		fd = accept4(s->lfd[l], (struct sockaddr *)&sa, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			seat_accept_one(s, l, fd, &sa, now);
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
			seat_inc(&s->st.accept_errors);
			ctl_msg_warn("seat: accept: %s; not accepting until a "
				     "connection closes", strerror(errno));
			if (s->active > 0)
				seat_listen_interest(s, false);
			return;
		default:
			seat_inc(&s->st.accept_errors);
			ctl_msg_warn("seat: accept: %s", strerror(errno));
			return;
		}
	}
}

/* seat_expire - greet waits and pass channels whose time has come */
static void seat_expire(struct dp_seat *s, uint64_t now)
{
	while (s->wait.head != SEAT_NIL && s->conns[s->wait.head].due_ns <= now)
		seat_greet_done(s, s->wait.head, now);
	while (s->passing.head != SEAT_NIL && s->conns[s->passing.head].due_ns <= now) {
		ctl_msg_warn("timeout sending connection to service %s", s->o.pass_path);
		seat_inc(&s->st.pass_timeout);
		seat_conn_free(s, s->passing.head);
	}
}

/* seat_timeout_ms - epoll_wait's timeout: until the first deadline, at
 * most a second (the stop flag is looked at) */
static int seat_timeout_ms(const struct dp_seat *s, uint64_t now)
{
	uint64_t due = UINT64_MAX, ms;

	if (s->wait.head != SEAT_NIL)
		due = s->conns[s->wait.head].due_ns;
	if (s->passing.head != SEAT_NIL && s->conns[s->passing.head].due_ns < due)
		due = s->conns[s->passing.head].due_ns;
	if (due == UINT64_MAX)
		return 1000;
	if (due <= now)
		return 0;
	ms = (due - now + 999999) / 1000000;
	return ms > 1000 ? 1000 : (int)ms;
}

/* seat_dispatch - one epoll event */
static void seat_dispatch(struct dp_seat *s, uint64_t data, int wake_fd)
{
	uint32_t i, gen;
	enum seat_kind k;
	uint64_t x;

	if (data == SEAT_WAKE) {
		(void)!read(wake_fd, &x, sizeof(x));
		return;
	}
	if (data >= SEAT_LISTENER && data < SEAT_LISTENER + DP_SEAT_MAX_LISTEN) {
		seat_accept(s, (unsigned)(data - SEAT_LISTENER));
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

/* dp_seat_run - the event loop until *stop */
int dp_seat_run(struct dp_seat *s, const atomic_int *stop, int wake_fd)
{
	struct epoll_event evs[SEAT_EVENTS], ev = { .events = EPOLLIN,
						     .data.u64 = SEAT_WAKE };
	int n;

	if (wake_fd >= 0 && epoll_ctl(s->ep, EPOLL_CTL_ADD, wake_fd, &ev) < 0)
		return -errno;
	while (!atomic_load(stop)) {
		n = epoll_wait(s->ep, evs, SEAT_EVENTS, seat_timeout_ms(s, seat_now()));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int k = 0; k < n; k++)
			seat_dispatch(s, evs[k].data.u64, wake_fd);
		seat_expire(s, seat_now());
	}
	if (wake_fd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, wake_fd, NULL);
	return 0;
}

/* seat_nofile - RLIMIT_NOFILE for max_conn slots (client + channel each);
 * without the right to raise the hard limit, max_conn shrinks to what fits
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
	ctl_msg_warn("RLIMIT_NOFILE hard limit %llu < %llu: at most %llu connections "
		     "in the seat, not %u", (unsigned long long)rl.rlim_max,
		     (unsigned long long)need,
		     (unsigned long long)((rl.rlim_max - SEAT_FD_SPARE) / 2), *max_conn);
	*max_conn = (unsigned)((rl.rlim_max - SEAT_FD_SPARE) / 2);
	return 0;
}

/* seat_listen - one listener per address; 0 or -1 with err */
static int seat_listen(struct dp_seat *s, unsigned backlog, char *err, size_t errlen)
{
	const char *p = s->o.listen;
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, zero = 0, fd;
	size_t len;

	while (*p) {
		p += strspn(p, " ,\t");
		len = strcspn(p, " ,\t");
		if (len == 0)
			break;
		if (s->nl == DP_SEAT_MAX_LISTEN) {
			snprintf(err, errlen, "smtpscreen_seat_listen: more than %d "
				 "addresses", DP_SEAT_MAX_LISTEN);
			return -1;
		}
		if (seat_parse_listen(p, len, &s->laddr[s->nl]) < 0) {
			snprintf(err, errlen, "smtpscreen_seat_listen: bad address "
				 "\"%.*s\" (A.B.C.D:PORT or [ADDR]:PORT)", (int)len, p);
			return -1;
		}
		fd = socket(s->laddr[s->nl].ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    (s->laddr[s->nl].ss_family == AF_INET6 &&
		     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) ||
		    bind(fd, (struct sockaddr *)&s->laddr[s->nl],
			 sizeof(struct sockaddr_storage)) < 0 ||
		    listen(fd, (int)backlog) < 0) {
			snprintf(err, errlen, "seat: listen on %.*s: %s%s", (int)len, p,
				 strerror(errno), errno == EADDRINUSE ? " (is master.cf's "
				 "smtp service still on that port?)" : "");
			if (fd >= 0)
				close(fd);
			return -1;
		}
		s->lfd[s->nl] = fd;
		ev.data.u64 = SEAT_LISTENER + s->nl;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			snprintf(err, errlen, "seat: epoll: %s", strerror(errno));
			return -1;
		}
		s->nl++;
		p += len;
	}
	if (s->nl == 0) {
		snprintf(err, errlen, "smtpscreen_seat_listen: no address");
		return -1;
	}
	return 0;
}

/* dp_seat_open - listeners, slots, teaser, pass endpoint */
struct dp_seat *dp_seat_open(const struct dp_seat_opts *o, char *err,
			     size_t errlen)
{
	struct dp_seat *s = calloc(1, sizeof(*s));
	int n, rc;

	if (s == NULL) {
		snprintf(err, errlen, "seat: out of memory");
		return NULL;
	}
	s->o = *o;
	s->ep = -1;
	for (unsigned l = 0; l < DP_SEAT_MAX_LISTEN; l++)
		s->lfd[l] = -1;
	s->max_conn = o->max_conn ? o->max_conn : 65536;
	if (s->max_conn > DP_SEAT_MAX_CONN)
		s->max_conn = DP_SEAT_MAX_CONN;
	if (o->listen == NULL || o->pass_path == NULL ||
	    strlen(o->pass_path) >= sizeof(s->pass_sa.sun_path)) {
		snprintf(err, errlen, "seat: no address to listen on, or no usable "
			 "smtpd pass service path");
		goto fail;
	}
	s->pass_sa.sun_family = AF_UNIX;
	memcpy(s->pass_sa.sun_path, o->pass_path, strlen(o->pass_path) + 1);
	s->pass_salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    strlen(o->pass_path) + 1);
	if (o->banner && o->banner[0]) {
		if (strpbrk(o->banner, "\r\n") != NULL) {
			snprintf(err, errlen, "seat: CR or LF in the greet banner");
			goto fail;
		}
		n = snprintf(s->teaser, sizeof(s->teaser), "220-%s\r\n", o->banner);
		if (n < 0 || (size_t)n >= sizeof(s->teaser)) {
			snprintf(err, errlen, "seat: greet banner longer than %zu bytes",
				 sizeof(s->teaser) - 7);
			goto fail;
		}
		s->teaser_len = (size_t)n;
	}
	rc = seat_nofile(&s->max_conn);
	if (rc < 0) {
		snprintf(err, errlen, "seat: RLIMIT_NOFILE for %u connections: %s",
			 s->max_conn, strerror(-rc));
		goto fail;
	}
	s->conns = calloc(s->max_conn, sizeof(*s->conns));
	if (s->conns == NULL) {
		snprintf(err, errlen, "seat: %u connection slots: %s", s->max_conn,
			 strerror(errno));
		goto fail;
	}
	for (uint32_t i = 0; i < s->max_conn; i++) {
		s->conns[i].fd = s->conns[i].pass_fd = -1;
		s->conns[i].prev = SEAT_NIL;
		s->conns[i].next = i + 1 < s->max_conn ? i + 1 : SEAT_NIL;
	}
	s->free_head = 0;
	s->wait.head = s->wait.tail = s->passing.head = s->passing.tail = SEAT_NIL;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		snprintf(err, errlen, "seat: epoll: %s", strerror(errno));
		goto fail;
	}
	if (seat_listen(s, o->backlog ? o->backlog : 1024, err, errlen) < 0)
		goto fail;
	return s;
fail:
	dp_seat_close(s);
	return NULL;
}

/* dp_seat_stats - the counters */
void dp_seat_stats(const struct dp_seat *s, struct dp_seat_stats *out)
{
	struct seat_ctr *c = (struct seat_ctr *)&s->st;

	out->accepted = atomic_load_explicit(&c->accepted, memory_order_relaxed);
	out->screened = atomic_load_explicit(&c->screened, memory_order_relaxed);
	out->direct = atomic_load_explicit(&c->direct, memory_order_relaxed);
	out->early = atomic_load_explicit(&c->early, memory_order_relaxed);
	out->hangup = atomic_load_explicit(&c->hangup, memory_order_relaxed);
	out->pass = atomic_load_explicit(&c->pass, memory_order_relaxed);
	out->pass_failed = atomic_load_explicit(&c->pass_failed, memory_order_relaxed);
	out->pass_timeout = atomic_load_explicit(&c->pass_timeout, memory_order_relaxed);
	out->busy = atomic_load_explicit(&c->busy, memory_order_relaxed);
	out->accept_errors = atomic_load_explicit(&c->accept_errors, memory_order_relaxed);
	out->waiting = atomic_load_explicit(&c->waiting, memory_order_relaxed);
}

/* dp_seat_listen_fd - a listener that takes clients of a family */
int dp_seat_listen_fd(const struct dp_seat *s, int family)
{
	for (unsigned l = 0; l < s->nl; l++)
		if (s->laddr[l].ss_family == family)
			return s->lfd[l];
	if (family == AF_INET)		/* dual-stack: IPV6_V6ONLY is off */
		return dp_seat_listen_fd(s, AF_INET6);
	return -1;
}

/* dp_seat_on_port - is a listener on port (host order)? */
bool dp_seat_on_port(const struct dp_seat *s, uint16_t port)
{
	for (unsigned l = 0; l < s->nl; l++) {
		const struct sockaddr_storage *a = &s->laddr[l];
		uint16_t p = a->ss_family == AF_INET ?
			     ntohs(((const struct sockaddr_in *)a)->sin_port) :
			     ntohs(((const struct sockaddr_in6 *)a)->sin6_port);

		if (p == port)
			return true;
	}
	return false;
}

/* dp_seat_close - every connection and listener closed */
void dp_seat_close(struct dp_seat *s)
{
	if (s == NULL)
		return;
	if (s->conns != NULL) {
		for (uint32_t i = 0; i < s->max_conn; i++)
			if (s->conns[i].state != SEAT_FREE)
				seat_conn_free(s, i);
	}
	for (unsigned l = 0; l < DP_SEAT_MAX_LISTEN; l++)
		if (s->lfd[l] >= 0)
			close(s->lfd[l]);
	if (s->ep >= 0)
		close(s->ep);
	free(s->conns);
	free(s);
}
