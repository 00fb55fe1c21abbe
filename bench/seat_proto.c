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
 *	The seat itself is dataplane/dp_seat.c, the one host mode runs with
 *	smtpscreen_host_hold = seat; here it runs alone with a log, so it
 *	writes postscreen's lines itself (in host mode the engine does).
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
 *	Single-threaded program; the signal handler sets an atomic flag and
 *	writes a byte to a pipe the loop watches.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_log.h"
#include "ctl_msg.h"
#include "dp_seat.h"

static atomic_int seat_stop;
static int seat_wake[2] = { -1, -1 };

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
	char b = 0;

	(void)sig;
	atomic_store(&seat_stop, 1);
	(void)!write(seat_wake[1], &b, 1);
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

/* seat_options - the command line into o; 0, or the exit code (usage 2) */
static int seat_options(struct dp_seat_opts *o, _Atomic uint64_t *wait,
			int argc, char **argv, const char **log_path)
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
	unsigned long v;
	int c;

	o->banner = "smtpscreen ESMTP";
	o->max_conn = 65536;
	o->backlog = 100;	/* what Postfix's master gives postscreen */
	atomic_store(wait, 6ull * 1000000000u);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			o->pass_path = optarg;
			break;
		case 'g':
			if (seat_parse_uint(optarg, 1, 3600, "s", &v) < 0) {
				ctl_msg_error("--greet-wait: bad value \"%s\" (1..3600 s)", optarg);
				return 2;
			}
			atomic_store(wait, (uint64_t)v * 1000000000u);
			break;
		case 'b':
			o->banner = optarg;
			break;
		case 'o':
			*log_path = optarg;
			break;
		case 'm':
			if (seat_parse_uint(optarg, 1, DP_SEAT_MAX_CONN, NULL, &v) < 0) {
				ctl_msg_error("--max-conn: bad value \"%s\" (1..%u)", optarg,
					      DP_SEAT_MAX_CONN);
				return 2;
			}
			o->max_conn = (unsigned)v;
			break;
		case 'q':
			if (seat_parse_uint(optarg, 1, 65535, NULL, &v) < 0) {
				ctl_msg_error("--backlog: bad value \"%s\" (1..65535)", optarg);
				return 2;
			}
			o->backlog = (unsigned)v;
			break;
		default:
			return seat_usage();
		}
	}
	if (optind != argc || o->listen == NULL || o->pass_path == NULL)
		return seat_usage();
	return 0;
}

int main(int argc, char **argv)
{
	static _Atomic uint64_t wait_ns;
	struct dp_seat_opts o = { .wait_ns = &wait_ns,
				  .early_reply = "521 5.5.1 Protocol error\r\n" };
	struct sigaction sa = { .sa_handler = seat_on_signal };
	struct dp_seat_stats st = { 0 };
	const char *log_path = NULL;
	struct dp_seat *s = NULL;
	char err[512];
	int rc;

	ctl_msg_init("seat-proto");
	rc = seat_options(&o, &wait_ns, argc, argv, &log_path);
	if (rc != 0)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	o.log = log_path ? ctl_log_open_file(NULL, log_path, CTL_LOG_POSTFIX)
		: ctl_log_create(NULL, stdout, CTL_LOG_POSTFIX);
	if (o.log == NULL) {
		ctl_msg_error("log %s: %s", log_path ? log_path : "stdout", strerror(errno));
		return 1;
	}
	ctl_msg_set_log(o.log);
	rc = 1;
	sigemptyset(&sa.sa_mask);
	if (pipe2(seat_wake, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		ctl_msg_error("signal handlers: %s", strerror(errno));
		goto out;
	}
	s = dp_seat_open(&o, err, sizeof(err));
	if (s == NULL) {
		ctl_msg_error("%s", err);
		goto out;
	}
	ctl_msg_info("listening on %s, greet wait %" PRIu64 " s, pass to %s, "
		     "max %u connections", o.listen, atomic_load(&wait_ns) / 1000000000u,
		     o.pass_path, o.max_conn);
	rc = dp_seat_run(s, &seat_stop, seat_wake[0]);
	if (rc < 0)
		ctl_msg_error("event loop: %s", strerror(-rc));
	rc = rc < 0 ? 1 : 0;
	dp_seat_stats(s, &st);
out:
	dp_seat_close(s);
	ctl_msg_set_log(NULL);
	fprintf(stderr, "seat-proto: accepted=%" PRIu64 " pregreet=%" PRIu64 " hangup=%"
		PRIu64 " pass=%" PRIu64 " pass_failed=%" PRIu64 " pass_timeout=%" PRIu64
		" busy=%" PRIu64 " accept_errors=%" PRIu64 " log_write_errors=%" PRIu64 "\n",
		st.accepted, st.early, st.hangup, st.pass, st.pass_failed,
		st.pass_timeout, st.busy, st.accept_errors, ctl_log_write_errors(o.log));
	ctl_log_destroy(o.log);
	return rc;
}
