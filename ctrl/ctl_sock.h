/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock - the daemons' unix control socket (server and client)
 * DESCRIPTION
 *	One request per connection. The client sends one line: words
 *	separated by blanks (space, tab, CR), at most CTL_SOCK_WORDS words
 *	and CTL_SOCK_LINE bytes with the final newline, printable ASCII
 *	only; bytes after the newline are ignored. The server answers with
 *	the handler's text, then a last line "ok" or "error: <message>",
 *	and closes. The socket file gets the caller's mode (0600: owner
 *	only); it is created under a temporary name, chmod-ed, then renamed
 *	into place, so it is never reachable with a wider mode. Does not
 *	know any command: the daemon's handler does (ctl_cmd for the map
 *	commands).
 *
 *	The server is event-driven and never waits for a client: every
 *	socket is non-blocking, a request is assembled from whatever bytes
 *	have arrived, the handler runs once when its line is complete and
 *	writes into memory, and the reply is sent as the client takes it.
 *	At most max_conn connections are open at once (CTL_SOCK_CONN_MAX
 *	unless changed); each has a CTL_SOCK_LINE request buffer allocated
 *	with the server, and a reply of any size in memory while it is
 *	sent. A client that is not served stays queued in the kernel only
 *	until the next step accepts it (CTL_SOCK_BATCH per step).
 * CONTRACT
 *	ctl_sock_listen(path, mode, &s, err, errlen): 0; -EADDRINUSE when a
 *	  daemon answers on path; -EEXIST when path is not a socket;
 *	  -ENAMETOOLONG; -ENOMEM; other -errno from mkdir/socket/bind/
 *	  listen. A stale socket file (connect refused) is replaced. Limits
 *	  CTL_SOCK_CONN_MAX and CTL_SOCK_IDLE_MS.
 *	ctl_sock_set_limits(s, max_conn, idle_ms): 0; -EINVAL unless
 *	  1 <= max_conn <= CTL_SOCK_CONN_LIMIT and 1 <= idle_ms <=
 *	  CTL_SOCK_IDLE_LIMIT_MS; -ENOMEM (the limits are unchanged). Takes
 *	  effect at once: open connections over a lower max_conn are served
 *	  to their end, deadlines are measured with the new idle_ms.
 *	ctl_sock_fd(s): the listening fd. Polling it alone is not enough to
 *	  serve clients: use ctl_sock_pollfds or call ctl_sock_serve on
 *	  every turn of the loop.
 *	ctl_sock_pollfds(s, pfd, max, &timeout_ms): fills pfd[0..max) with
 *	  the listening fd (POLLIN; left out for CTL_SOCK_EMFILE_MS after
 *	  accept ran out of fds) and every connection's fd (POLLIN while
 *	  its request is incomplete, POLLOUT while its reply is sent);
 *	  returns how many it filled (0 when max < 1). Lowers *timeout_ms
 *	  (-1: none) to the time left to the next deadline (0 when one has
 *	  passed), and to CTL_SOCK_SPILL_MS when some fds did not fit.
 *	ctl_sock_process(s, pfd, n, h, arg): after poll, with the pfd[0..n)
 *	  ctl_sock_pollfds filled (n may be 0). Accepts pending clients (at
 *	  most CTL_SOCK_BATCH; also when the listening fd is not in pfd; not
 *	  while accept is paused after EMFILE/ENFILE),
 *	  reads and writes connections pfd says are ready (and tries those
 *	  pfd does not list), runs h for complete requests, closes
 *	  connections past their deadline. Returns the number of replies it
 *	  started: handler replies and error replies (bad requests, timeout,
 *	  too many connections).
 *	ctl_sock_serve(s, h, arg): one whole step: ctl_sock_pollfds into
 *	  the server's own array, poll with timeout 0, ctl_sock_process.
 *	  Returns what ctl_sock_process returns: 0 when nobody was waiting
 *	  and when clients are connected but have not finished their line.
 *	  Safe and cheap on every turn of a loop; never blocks.
 *	The handler h(arg, argc, argv, out, err, errlen) gets argv[] NUL-
 *	  terminated words (argc >= 1, argv[argc] NULL) and an in-memory out;
 *	  it returns 0 ("ok") or -errno ("error: " + err, or strerror when
 *	  err is empty; control bytes in err become blanks). It runs on the
 *	  caller's thread inside ctl_sock_process/serve and must not call
 *	  ctl_sock functions on s. A reply not ending in a newline gets one.
 *	Per connection, in the order things can happen:
 *	  - over the bound: when max_conn connections are open, the one
 *	    accepted longest ago whose request is not complete gets "error:
 *	    too many control connections (<max_conn>)" and is closed, and
 *	    the newcomer takes its place; when all of them are sending
 *	    replies, the newcomer gets that line. The line is written with
 *	    one non-blocking send (a client that cannot take it gets
 *	    nothing) and the connection closed at once.
 *	  - bad request: "request longer than 1024 bytes" (no newline in the
 *	    first CTL_SOCK_LINE bytes), "more than 16 words in request",
 *	    "empty request" (also EOF before any byte), "bad byte 0x01 in
 *	    request", "request not ended by a newline" (EOF after some
 *	    bytes): that error line is the reply, h is not called.
 *	  - idle: a request not complete idle_ms after accept gets "error:
 *	    timeout" (one non-blocking send) and is closed; a reply of which
 *	    the client has taken nothing for idle_ms is dropped and the
 *	    connection closed (the client sees a reply without its last
 *	    line).
 *	  - a broken connection (reset, EPIPE) is closed without a word.
 *	ctl_sock_close(s): closes every connection (replies not yet sent are
 *	  lost), frees everything, unlinks path if it is still our socket.
 *	  NULL is fine.
 *	ctl_sock_request(path, argc, argv, out, err, errlen): 0 (ok), 1 (the
 *	  daemon said error: its message in err), -EINVAL (a word empty or
 *	  with a blank or a control byte, too many words or bytes), -errno
 *	  from connect (-ENOENT, -ECONNREFUSED, -EACCES, ...) with a message
 *	  in err, -EPROTO when the reply lacks its last line, -EPIPE or
 *	  -ECONNRESET when the daemon closed before taking the request and
 *	  left no whole reply (a refusal sent before it closed is read and
 *	  returned as 1). Waits at most CTL_SOCK_CLIENT_WAIT_S for the
 *	  daemon.
 * THREADING
 *	Server: one thread owns s (the daemon's control thread, or the host
 *	loop): ctl_sock_set_limits, _pollfds, _process, _serve and _close
 *	from that thread only; the handler runs on it. None of them waits
 *	for a client. Client: any thread; it blocks (at most
 *	CTL_SOCK_CLIENT_WAIT_S). SIGPIPE is never raised (MSG_NOSIGNAL).
 */
#ifndef CTL_SOCK_H
#define CTL_SOCK_H

#include <poll.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_SOCK_PATH		"/run/smtpscreen/smtpscreen.sock"
/* A unit instance's socket (RuntimeDirectory=smtpscreen/%i). */
#define CTL_SOCK_INSTANCE_DIR	"/run/smtpscreen"
#define CTL_SOCK_INSTANCE_FILE	"smtpscreen.sock"
#define CTL_SOCK_INSTANCE_FMT	CTL_SOCK_INSTANCE_DIR "/%s/" CTL_SOCK_INSTANCE_FILE
#define CTL_SOCK_PATH_MAX	108	/* sizeof sockaddr_un.sun_path */
#define CTL_SOCK_LINE		1024	/* request bytes, newline included */
#define CTL_SOCK_WORDS		16	/* request words */
#define CTL_SOCK_BATCH		16	/* accepts per step */
#define CTL_SOCK_CONN_MAX	64	/* default: connections at once */
#define CTL_SOCK_CONN_LIMIT	1024	/* ctl_sock_set_limits: max_conn */
#define CTL_SOCK_IDLE_MS	5000	/* default: to send a request, or
					 * to take some of the reply */
#define CTL_SOCK_IDLE_LIMIT_MS	3600000	/* ctl_sock_set_limits: idle_ms */
#define CTL_SOCK_SPILL_MS	10	/* poll timeout when fds did not fit */
#define CTL_SOCK_EMFILE_MS	100	/* no accept after EMFILE/ENFILE */
#define CTL_SOCK_CLIENT_WAIT_S	30	/* client: for the whole reply */

struct ctl_sock;

int ctl_sock_listen(const char *path, unsigned mode, struct ctl_sock **out,
		    char *err, size_t errlen);
int ctl_sock_set_limits(struct ctl_sock *s, int max_conn, int idle_ms);
int ctl_sock_fd(const struct ctl_sock *s);
int ctl_sock_pollfds(struct ctl_sock *s, struct pollfd *pfd, int max,
		     int *timeout_ms);
int ctl_sock_process(struct ctl_sock *s, const struct pollfd *pfd, int n,
		     int (*h)(void *arg, int argc, char **argv, FILE *out,
			      char *err, size_t errlen),
		     void *arg);
int ctl_sock_serve(struct ctl_sock *s,
		   int (*h)(void *arg, int argc, char **argv, FILE *out,
			    char *err, size_t errlen),
		   void *arg);
void ctl_sock_close(struct ctl_sock *s);
int ctl_sock_request(const char *path, int argc, char **argv, FILE *out,
		     char *err, size_t errlen);

#endif
