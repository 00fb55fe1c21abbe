/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_seat - postscreen's seat on port 25: teaser, greet wait, hand-off
 *	to smtpd through Postfix's `smtpd pass` service
 * DESCRIPTION
 *	Host mode with smtpscreen_host_hold = seat (docs/host.md), and the
 *	bench's measuring stick (bench/seat_proto.c). Listens where master.cf
 *	had postscreen (IPv4 A.B.C.D:PORT, IPv6 [ADDR]:PORT; [::]:PORT takes
 *	both families). A new connection either goes to smtpd at once (the
 *	screen callback says so: the pass cache, the permanent permit) or gets
 *	postscreen's teaser "220-BANNER\r\n" and waits the greet wait:
 *	- the client talks first: with early_reply set it gets that reply and
 *	  is closed (pregreet action drop or enforce: host mode stops a failed
 *	  session at once); without, its bytes stay unread for smtpd (ignore);
 *	- the client closes first: closed;
 *	- the wait ends: the socket goes to smtpd as postscreen sends it:
 *	  connect to the pass endpoint, the descriptor with SCM_RIGHTS along
 *	  one data byte, then the attributes client_address, client_port,
 *	  server_address, server_port in Postfix's attr_print0 encoding (name
 *	  NUL value NUL ..., a NUL ends the list). No reply: smtpd reads them
 *	  and closes the channel, which is kept open until then (at most
 *	  DP_SEAT_PASS_NOTIFY s). smtpd's "220 " line ends the multi-line
 *	  greeting: one session, no reconnect.
 *	With a log (standalone, the bench) the seat writes postscreen's lines
 *	itself (PREGREET, HANGUP, PASS NEW); in host mode the engine judges
 *	the same session from its packets and logs them, so it has none.
 *	Pass endpoint unreachable: "421 4.3.2 All server ports are busy";
 *	descriptor not sent: "421 4.3.2 No system resources"; more than
 *	max_conn at once: "421 4.3.2 All screening ports are busy" (postscreen's
 *	replies). All waits are equal, so waiting connections form a FIFO in
 *	arrival order (O(1) insert and expiry), as do the pass channels.
 * CONTRACT
 *	dp_seat_open(o, err, errlen): listeners bound and listening, slots
 *	  allocated; NULL with the reason in err.
 *	dp_seat_run(s, stop, wake_fd): the event loop until *stop is set
 *	  (wake_fd, an eventfd or pipe, readable breaks the wait; -1 none);
 *	  0, or -errno when epoll fails.
 *	dp_seat_stats(s, out): counters, readable from any thread.
 *	dp_seat_listen_fd(s, family): a listening socket that takes clients of
 *	  family (AF_INET: an IPv4 one or a dual-stack IPv6 one), -1 none;
 *	  dp_seat_on_port(s, port): whether a listener is on that port.
 *	dp_seat_close(s): closes every connection and listener; s may be NULL.
 * THREADING
 *	dp_seat_run on one thread; the screen callback runs on it.
 *	*wait_ns and the counters are atomics: other threads may write the
 *	one and read the others.
 */
#ifndef DP_SEAT_H
#define DP_SEAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl_log.h"

#define DP_SEAT_MAX_CONN	1048576u
#define DP_SEAT_MAX_LISTEN	8
#define DP_SEAT_PASS_NOTIFY	100	/* s: smtpd must close the channel by then */

/* The screen callback: 1 = a client to screen (teaser, wait), 0 = to smtpd
 * at once, -1 = stopped already (closed at once). */
typedef int (*dp_seat_screen_fn)(void *arg, const struct sockaddr_storage *client,
				 const struct sockaddr_storage *server);

struct dp_seat_opts {
	const char *listen;		/* "ADDR:PORT ..." (space or comma separated) */
	const char *pass_path;		/* the smtpd pass service's socket */
	const char *banner;		/* teaser text; NULL or "": no teaser */
	const _Atomic uint64_t *wait_ns; /* the greet wait now */
	unsigned max_conn;		/* 0: 65536 */
	unsigned backlog;		/* 0: 1024 */
	const char *early_reply;	/* to a client that talks first; NULL: none,
					 * its bytes stay for smtpd */
	struct ctl_log *log;		/* NULL: no log lines of its own */
	dp_seat_screen_fn screen;	/* NULL: screen everyone */
	void *arg;
};

struct dp_seat_stats {
	uint64_t accepted, screened, direct, early, hangup, pass, pass_failed,
		 pass_timeout, busy, accept_errors, waiting;
};

struct dp_seat;

struct dp_seat *dp_seat_open(const struct dp_seat_opts *o, char *err,
			     size_t errlen);
int dp_seat_run(struct dp_seat *s, const atomic_int *stop, int wake_fd);
void dp_seat_stats(const struct dp_seat *s, struct dp_seat_stats *out);
int dp_seat_listen_fd(const struct dp_seat *s, int family);
bool dp_seat_on_port(const struct dp_seat *s, uint16_t port);
void dp_seat_close(struct dp_seat *s);

#endif
