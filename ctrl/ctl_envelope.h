/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_envelope - envelope checks: the engine's commands to a decision
 * DESCRIPTION
 *	Takes the engine's SCR_EV_ENVELOPE events and decides them with the
 *	restriction lists smtpscreen_helo_restrictions,
 *	smtpscreen_sender_restrictions and smtpscreen_recipient_restrictions
 *	(ctl_restrict), as Postfix's smtpd does with its default
 *	smtpd_delay_reject = yes: HELO/EHLO and MAIL FROM are remembered per
 *	session, and at each RCPT TO the three lists run in that order. A
 *	reject is logged as smtpd logs it,
 *	  NOQUEUE: reject: RCPT from [a]:p: 504 5.5.2 <x>: Sender address
 *	  rejected: need fully-qualified address; from=<x> to=<y> proto=ESMTP
 *	  helo=<h>
 *	and under smtpscreen_envelope_action = ignore, or for warn_if_reject
 *	and WARN, as "NOQUEUE: reject_warning: ..." (nothing was stopped).
 *	Domain checks (reject_unknown_*) ask DNS with c-ares: MX, then A and
 *	AAAA; a domain is unknown only when every answer is NXDOMAIN or
 *	NODATA; a timeout or SERVFAIL decides nothing. Answers are cached for
 *	CTL_ENVELOPE_DOMAIN_TTL seconds (negative and positive alike), the
 *	transient ones CTL_ENVELOPE_TEMPFAIL_TTL. In blocking mode (replay) a
 *	lookup waits for its answer, at most smtpscreen_envelope_timeout;
 *	otherwise the RCPT waits (ctl_envelope_process). Without c-ares
 *	every domain check decides nothing.
 * CONTRACT
 *	ctl_envelope_create(conf, blocking, err, errlen): NULL with a message
 *	  in err ("main.cf:12: smtpscreen_sender_restrictions: ..."); a
 *	  valid object that decides nothing when no list is set
 *	  (ctl_envelope_on false).
 *	ctl_envelope_event(v, ev, tag, logs, nlogs, out): an SCR_EV_ENVELOPE
 *	  (or an SCR_EV_END, which forgets the session). Returns
 *	  CTL_ENV_REJECT with out filled (the action to apply:
 *	  smtpscreen_envelope_action) after writing the reject line to each
 *	  of the nlogs logs, or CTL_ENV_NONE; not blocking, CTL_ENV_PENDING
 *	  when a domain's answer is not in: the event is kept (with tag) and
 *	  decided later by ctl_envelope_process.
 *	ctl_envelope_pollfds(v, fds, max, &timeout_ms): the resolver's
 *	  sockets while RCPTs wait (0 else), timeout_ms to the next c-ares
 *	  timer or deadline (-1 none).
 *	ctl_envelope_process(v, fds, n, logs, nlogs, done, arg): reads the
 *	  answers; each waiting RCPT now complete, or past
 *	  smtpscreen_envelope_timeout (CTL_ENV_NONE: decides nothing), goes
 *	  to done(arg, tag, ev, result, reject).
 *	ctl_envelope_stats(v, out): counters.
 * THREADING
 *	One owner thread (replay: a worker; live: the control thread).
 */
#ifndef CTL_ENVELOPE_H
#define CTL_ENVELOPE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_conf.h"
#include "ctl_log.h"
#include "ctl_restrict.h"
#include "scr_types.h"

#define CTL_ENVELOPE_DOMAIN_TTL	300	/* seconds a domain's answer is kept */
#define CTL_ENVELOPE_TEMPFAIL_TTL 10	/* ... and a transient failure */
#define CTL_ENVELOPE_SESSIONS	1048576	/* sessions remembered at most */
#define CTL_ENVELOPE_PENDING	4096	/* RCPTs waiting for DNS at most */

enum ctl_env_result {
	CTL_ENV_NONE = 0,	/* permitted, or nothing decided */
	CTL_ENV_REJECT,
	CTL_ENV_PENDING,	/* live modes: waiting for DNS; the answer comes
				 * through ctl_envelope_process */
};

struct ctl_env_reject {
	enum scr_action act;
	unsigned code;
	char reply[CTL_RESTRICT_REPLY_MAX];
};

struct ctl_envelope_stats {
	uint64_t rcpts;			/* RCPT TO evaluated */
	uint64_t rejects;		/* rejected (any action) */
	uint64_t warnings;		/* reject_warning lines */
	uint64_t dns_queries;		/* sent (MX, A, AAAA) */
	uint64_t dns_found, dns_not_found, dns_tempfail;	/* domains */
	uint64_t sessions_full;		/* a session not remembered */
	uint64_t pending_full;		/* a RCPT not kept waiting: undecided */
	uint64_t pending_late;		/* DNS not in by the timeout: undecided */
};

typedef void (*ctl_envelope_done_fn)(void *arg, unsigned tag,
				     const struct scr_event *ev,
				     enum ctl_env_result r,
				     const struct ctl_env_reject *rej);

struct ctl_envelope;

struct ctl_envelope *ctl_envelope_create(const struct ctl_conf *conf,
					 bool blocking, char *err,
					 size_t errlen);
void ctl_envelope_destroy(struct ctl_envelope *v);
bool ctl_envelope_on(const struct ctl_envelope *v);
enum ctl_env_result ctl_envelope_event(struct ctl_envelope *v,
				       const struct scr_event *ev, unsigned tag,
				       struct ctl_log *const *logs, unsigned nlogs,
				       struct ctl_env_reject *out);
int ctl_envelope_pollfds(struct ctl_envelope *v, struct pollfd *fds, int max,
			 int *timeout_ms);
void ctl_envelope_process(struct ctl_envelope *v, const struct pollfd *fds,
			  int n, struct ctl_log *const *logs, unsigned nlogs,
			  ctl_envelope_done_fn done, void *arg);
void ctl_envelope_stats(const struct ctl_envelope *v,
			struct ctl_envelope_stats *out);

#endif
