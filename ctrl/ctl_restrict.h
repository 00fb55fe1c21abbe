/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_restrict - Postfix SMTP restriction lists for envelope checks
 * DESCRIPTION
 *	The restrictions postmasters already write in smtpd_helo_restrictions,
 *	smtpd_sender_restrictions and smtpd_recipient_restrictions, for
 *	smtpscreen's opt-in lists smtpscreen_helo_restrictions,
 *	smtpscreen_sender_restrictions and smtpscreen_recipient_restrictions
 *	(empty by default: nothing is checked). Supported, with Postfix's
 *	names, meanings, reply codes and texts:
 *	  permit, reject, defer, permit_mynetworks, warn_if_reject (the next
 *	  restriction only logs what it would reject),
 *	  reject_non_fqdn_helo_hostname, reject_invalid_helo_hostname,
 *	  reject_unknown_helo_hostname, reject_non_fqdn_sender,
 *	  reject_unknown_sender_domain, reject_non_fqdn_recipient,
 *	  reject_unknown_recipient_domain,
 *	  check_client_access, check_helo_access, check_sender_access,
 *	  check_recipient_access with ctl_access tables.
 *	Any other name is an error at load, naming the parameter's file:line:
 *	restrictions that need what only smtpd knows (SASL, relay_domains,
 *	the recipient's mailbox) belong in Postfix's own lists.
 *	Access table results: OK (or all digits) permits; REJECT [text],
 *	DEFER [text] and 4NN/5NN text reject; DUNNO goes on; WARN text logs
 *	and goes on. Other results (HOLD, DISCARD, FILTER, REDIRECT, nested
 *	restrictions...) are errors at load naming the table's file:line.
 *	Domain checks ask the caller (ctl_domain_fn): a domain with no MX
 *	and no A/AAAA record is unknown; a timeout or SERVFAIL decides
 *	nothing (the restriction answers DUNNO: transient DNS problems never
 *	reject mail); an answer not yet known makes the evaluation PENDING
 *	(the caller evaluates again once it is). A restriction that needs a
 *	value the session has not given yet (a sender before MAIL FROM) is
 *	skipped. Codes follow Postfix's parameters, read from the conf:
 *	non_fqdn_reject_code (504), invalid_hostname_reject_code (501),
 *	unknown_address_reject_code (450), unknown_hostname_reject_code
 *	(450), access_map_reject_code (554), access_map_defer_code (450),
 *	with parent_domain_matches_subdomains, smtpd_null_access_lookup_key
 *	and recipient_delimiter as access(5) describes.
 * CONTRACT
 *	ctl_restrict_create(conf, list, where, err, errlen): the lists of the
 *	  three stages (list[stage]: the parameter's value, NULL or "" for
 *	  none; where[stage]: its "file:line" for messages), under conf's
 *	  Postfix parameters (codes, lookup keys); NULL with "file:line:
 *	  message". No list at all is valid: ctl_restrict_empty() is then
 *	  true.
 *	ctl_restrict_eval(r, stage, req, dom, arg, warn, warg, out): evaluates
 *	  the stage's list; returns out->v. warn(warg, reply, restriction) is
 *	  called for each warn_if_reject or WARN result met on the way.
 * THREADING
 *	Control thread builds; evaluation reads only (any thread, with its
 *	own out).
 */
#ifndef CTL_RESTRICT_H
#define CTL_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl_conf.h"

enum ctl_restrict_stage {
	CTL_RS_HELO,
	CTL_RS_SENDER,
	CTL_RS_RECIPIENT,
	CTL_RS_MAX
};

enum ctl_domain_state {
	CTL_DOMAIN_FOUND,	/* an MX, A or AAAA record */
	CTL_DOMAIN_NOT_FOUND,	/* NXDOMAIN, or none of those records */
	CTL_DOMAIN_TEMPFAIL,	/* timeout, SERVFAIL: decides nothing */
	CTL_DOMAIN_PENDING,	/* asked, no answer yet */
};

typedef enum ctl_domain_state (*ctl_domain_fn)(void *arg, const char *domain);
typedef void (*ctl_restrict_warn_fn)(void *arg, const char *reply,
				     const char *restriction);

/* What the session has shown so far (NULL: not yet). */
struct ctl_restrict_req {
	const char *client_addr;	/* "198.18.0.7", "2001:db8::7" */
	bool mynetworks;		/* the client is in mynetworks */
	const char *helo;
	const char *sender;		/* without <>; "" the null sender */
	const char *recipient;
};

enum ctl_restrict_verdict {
	CTL_R_DUNNO,		/* nothing decided: the list ran out */
	CTL_R_PERMIT,
	CTL_R_REJECT,
	CTL_R_PENDING,		/* a domain's answer is not in yet */
};

#define CTL_RESTRICT_REPLY_MAX	512

struct ctl_restrict_out {
	enum ctl_restrict_verdict v;
	unsigned code;				/* REJECT: 4xx or 5xx */
	char reply[CTL_RESTRICT_REPLY_MAX];	/* REJECT: "504 5.5.2 <x>: ..." */
	const char *restriction;		/* the one that decided */
};

struct ctl_restrict;

struct ctl_restrict *ctl_restrict_create(const struct ctl_conf *conf,
					 const char *const list[CTL_RS_MAX],
					 const char *const where[CTL_RS_MAX],
					 char *err, size_t errlen);
void ctl_restrict_destroy(struct ctl_restrict *r);
bool ctl_restrict_empty(const struct ctl_restrict *r);
enum ctl_restrict_verdict ctl_restrict_eval(const struct ctl_restrict *r,
					    enum ctl_restrict_stage stage,
					    const struct ctl_restrict_req *req,
					    ctl_domain_fn dom, void *arg,
					    ctl_restrict_warn_fn warn, void *warg,
					    struct ctl_restrict_out *out);
/* The parameter of a stage ("smtpscreen_sender_restrictions"). */
const char *ctl_restrict_param(enum ctl_restrict_stage stage);

#endif
