/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_sock - the daemons' unix control socket (server and client)
 * DESCRIPTION
 *	One request per connection. The client sends one line: words
 *	separated by blanks (space, tab, CR), at most CTL_SOCK_WORDS words
 *	and CTL_SOCK_LINE bytes with the final newline, printable ASCII
 *	only. The server answers with the handler's text, then a last line
 *	"ok" or "error: <message>", and closes. The socket file gets the
 *	caller's mode (0600: owner only); it is created under a temporary
 *	name, chmod-ed, then renamed into place, so it is never reachable
 *	with a wider mode. Does not know any command: the daemon's handler
 *	does (ctl_cmd for the map commands).
 * CONTRACT
 *	ctl_sock_listen(path, mode, &s, err, errlen): 0; -EADDRINUSE when a
 *	  daemon answers on path; -EEXIST when path is not a socket;
 *	  -ENAMETOOLONG; other -errno from mkdir/socket/bind/listen. A
 *	  stale socket file (connect refused) is replaced. Non-blocking.
 *	ctl_sock_fd(s): the listening fd, for poll(POLLIN).
 *	ctl_sock_serve(s, h, arg): accepts up to CTL_SOCK_BATCH pending
 *	  clients; for each, reads the request line (CTL_SOCK_WAIT_MS to
 *	  send it), calls h(arg, argc, argv, out, err, errlen) with argv[]
 *	  NUL-terminated words (argc >= 1, argv[argc] NULL) and writes the
 *	  reply (again at most CTL_SOCK_WAIT_MS for the client to take it;
 *	  a client that does not gets a truncated reply). A bad request
 *	  (too long, too many words, empty, bad byte, no newline, timeout)
 *	  gets "error: ..." and h is not called. Returns the number of
 *	  clients served (bad requests included), 0 when none was waiting.
 *	ctl_sock_close(s): closes; unlinks path if it is still our socket.
 *	  NULL is fine.
 *	ctl_sock_request(path, argc, argv, out, err, errlen): 0 (ok), 1 (the
 *	  daemon said error: its message in err), -EINVAL (a word empty or
 *	  with a blank or a control byte, too many words or bytes), -errno
 *	  from connect (-ENOENT, -ECONNREFUSED, -EACCES, ...) with a message
 *	  in err, -EPROTO when the reply lacks its last line. Waits at most
 *	  CTL_SOCK_CLIENT_WAIT_S for the daemon.
 * THREADING
 *	Server: the daemon's control thread only. Client: any thread.
 *	SIGPIPE is never raised (MSG_NOSIGNAL).
 */
#ifndef CTL_SOCK_H
#define CTL_SOCK_H

#include <stddef.h>
#include <stdio.h>

#define CTL_SOCK_PATH		"/run/smtpscreen/smtpscreen.sock"
#define CTL_SOCK_LINE		1024	/* request bytes, newline included */
#define CTL_SOCK_WORDS		16	/* request words */
#define CTL_SOCK_BATCH		16	/* clients per ctl_sock_serve() */
#define CTL_SOCK_WAIT_MS	200	/* per client: to send, to receive */
#define CTL_SOCK_CLIENT_WAIT_S	30	/* client: for the whole reply */

struct ctl_sock;

int ctl_sock_listen(const char *path, unsigned mode, struct ctl_sock **out,
		    char *err, size_t errlen);
int ctl_sock_fd(const struct ctl_sock *s);
int ctl_sock_serve(struct ctl_sock *s,
		   int (*h)(void *arg, int argc, char **argv, FILE *out,
			    char *err, size_t errlen),
		   void *arg);
void ctl_sock_close(struct ctl_sock *s);
int ctl_sock_request(const char *path, int argc, char **argv, FILE *out,
		     char *err, size_t errlen);

#endif
