/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_restrict_test - Postfix restriction lists and access(5) tables
 * DESCRIPTION
 *	Postfix's reply texts and codes for each supported restriction,
 *	access(5) lookup order (address, domain and parents, user@, the null
 *	sender's key, recipient_delimiter), texthash/inline/regexp/cidr
 *	tables, permit_mynetworks, warn_if_reject and WARN, DNS answers
 *	(unknown, transient, pending), and load errors that name file:line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_access.h"
#include "ctl_conf.h"
#include "ctl_restrict.h"

static char dir[64];

/* put - write a table file in dir; its path */
static const char *put(const char *name, const char *text)
{
	static char path[4][128];
	static int k;
	char *p = path[k++ & 3];
	FILE *f;

	snprintf(p, 128, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return p;
}

static struct ctl_conf *conf_of(const char *text)
{
	char err[512];
	struct ctl_conf *c = ctl_conf_parse(text, strlen(text), "main.cf", err,
					    sizeof(err));

	if (c == NULL)
		fail_msg("conf: %s", err);
	return c;
}

/* make - restriction lists (helo, sender, recipient) under conf text */
static struct ctl_restrict *make(const char *conf, const char *helo,
				 const char *sender, const char *rcpt)
{
	const char *l[CTL_RS_MAX] = { helo, sender, rcpt };
	const char *w[CTL_RS_MAX] = { "main.cf:1", "main.cf:2", "main.cf:3" };
	struct ctl_conf *c = conf_of(conf);
	char err[1024];
	struct ctl_restrict *r = ctl_restrict_create(c, l, w, err, sizeof(err));

	ctl_conf_destroy(c);
	if (r == NULL)
		fail_msg("restrictions: %s", err);
	return r;
}

/* make_err - the error creating these lists gives */
static const char *make_err(const char *sender)
{
	static char err[1024];
	const char *l[CTL_RS_MAX] = { NULL, sender, NULL };
	const char *w[CTL_RS_MAX] = { "main.cf:1", "main.cf:7", "main.cf:3" };
	struct ctl_conf *c = conf_of("");
	struct ctl_restrict *r = ctl_restrict_create(c, l, w, err, sizeof(err));

	ctl_conf_destroy(c);
	assert_null(r);
	return err;
}

/* DNS answers for the tests: by domain */
static enum ctl_domain_state dns(void *arg, const char *domain)
{
	(void)arg;
	if (strcmp(domain, "nx.example") == 0)
		return CTL_DOMAIN_NOT_FOUND;
	if (strcmp(domain, "servfail.example") == 0)
		return CTL_DOMAIN_TEMPFAIL;
	if (strcmp(domain, "slow.example") == 0)
		return CTL_DOMAIN_PENDING;
	return CTL_DOMAIN_FOUND;
}

static char warned[4][512];
static int nwarn;

static void on_warn(void *arg, const char *reply, const char *restriction)
{
	(void)arg;
	if (nwarn < 4)
		snprintf(warned[nwarn], sizeof(warned[0]), "%s (%s)", reply,
			 restriction);
	nwarn++;
}

/* eval - one stage; the reply ("" unless rejected) */
static enum ctl_restrict_verdict eval(const struct ctl_restrict *r,
				      enum ctl_restrict_stage st,
				      const char *helo, const char *sender,
				      const char *rcpt, bool mynet,
				      const char **reply)
{
	static struct ctl_restrict_out out;
	struct ctl_restrict_req q = {
		.client_addr = "198.18.0.7", .mynetworks = mynet,
		.helo = helo, .sender = sender, .recipient = rcpt,
	};

	nwarn = 0;
	ctl_restrict_eval(r, st, &q, dns, NULL, on_warn, NULL, &out);
	*reply = out.reply;
	return out.v;
}

/* test_builtin_replies - Postfix's codes and texts */
static void test_builtin_replies(void **state)
{
	struct ctl_restrict *r = make("",
		"reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, "
		"reject_unknown_helo_hostname",
		"reject_non_fqdn_sender reject_unknown_sender_domain",
		"reject_non_fqdn_recipient, reject_unknown_recipient_domain");
	const char *rep;

	(void)state;
	assert_int_equal(eval(r, CTL_RS_HELO, "bad_host!", NULL, NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "501 5.5.2 <bad_host!>: Helo command rejected: "
			    "Invalid name");
	assert_int_equal(eval(r, CTL_RS_HELO, "localhost", NULL, NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "504 5.5.2 <localhost>: Helo command rejected: "
			    "need fully-qualified hostname");
	assert_int_equal(eval(r, CTL_RS_HELO, "mx.nx.example", NULL, NULL, false, &rep),
			 CTL_R_DUNNO);	/* the name itself resolves here */
	assert_int_equal(eval(r, CTL_RS_HELO, "nx.example", NULL, NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "450 4.7.1 <nx.example>: Helo command rejected: "
			    "Host not found");
	assert_int_equal(eval(r, CTL_RS_HELO, "[198.18.0.7]", NULL, NULL, false, &rep),
			 CTL_R_DUNNO);	/* an address literal is fine */
	assert_int_equal(eval(r, CTL_RS_HELO, "mail.example.com", NULL, NULL, false,
			      &rep), CTL_R_DUNNO);

	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe", NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "504 5.5.2 <joe>: Sender address rejected: "
			    "need fully-qualified address");
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@localhost", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "", NULL, false, &rep),
			 CTL_R_DUNNO);	/* the null sender is never non-FQDN */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@nx.example", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_string_equal(rep, "450 4.1.8 <joe@nx.example>: Sender address "
			    "rejected: Domain not found");
	/* transient DNS trouble never rejects; no answer yet waits */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@servfail.example", NULL,
			      false, &rep), CTL_R_DUNNO);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@slow.example", NULL,
			      false, &rep), CTL_R_PENDING);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@example.com", NULL,
			      false, &rep), CTL_R_DUNNO);
	/* a stage without its value skips what needs it */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, NULL, NULL, false, &rep),
			 CTL_R_DUNNO);

	assert_int_equal(eval(r, CTL_RS_RECIPIENT, NULL, "a@example.com", "postmaster",
			      false, &rep), CTL_R_REJECT);
	assert_string_equal(rep, "504 5.5.2 <postmaster>: Recipient address "
			    "rejected: need fully-qualified address");
	assert_int_equal(eval(r, CTL_RS_RECIPIENT, NULL, NULL, "x@nx.example", false,
			      &rep), CTL_R_REJECT);
	assert_string_equal(rep, "450 4.1.2 <x@nx.example>: Recipient address "
			    "rejected: Domain not found");
	ctl_restrict_destroy(r);
}

/* test_codes_from_conf - Postfix's code parameters apply; the DSN class
 * follows the code */
static void test_codes_from_conf(void **state)
{
	struct ctl_restrict *r = make("unknown_address_reject_code = 550\n"
				      "non_fqdn_reject_code = 550\n", NULL,
				      "reject_non_fqdn_sender, "
				      "reject_unknown_sender_domain", NULL);
	const char *rep;

	(void)state;
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@nx.example", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_string_equal(rep, "550 5.1.8 <joe@nx.example>: Sender address "
			    "rejected: Domain not found");
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe", NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "550 5.5.2 <joe>: Sender address rejected: "
			    "need fully-qualified address");
	ctl_restrict_destroy(r);
}

/* test_mynetworks_and_warn - permit_mynetworks first; warn_if_reject and
 * WARN log and go on */
static void test_mynetworks_and_warn(void **state)
{
	char list[512];
	struct ctl_restrict *r;
	const char *rep;

	(void)state;
	snprintf(list, sizeof(list), "permit_mynetworks, warn_if_reject "
		 "reject_non_fqdn_sender, check_sender_access texthash:%s, "
		 "reject_unknown_sender_domain",
		 put("warn_access", "watch.example WARN watched sender\n"));
	r = make("", NULL, list, NULL);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@nx.example", NULL, true,
			      &rep), CTL_R_PERMIT);
	assert_int_equal(nwarn, 0);
	/* non-FQDN only warned; nothing else rejects "joe" */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe", NULL, false, &rep),
			 CTL_R_DUNNO);
	assert_int_equal(nwarn, 1);
	assert_string_equal(warned[0], "504 5.5.2 <joe>: Sender address rejected: "
			    "need fully-qualified address (reject_non_fqdn_sender)");
	/* not warned (a full address), and a later restriction rejects */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe@nx.example", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_int_equal(nwarn, 0);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@watch.example", NULL, false,
			      &rep), CTL_R_DUNNO);
	assert_int_equal(nwarn, 1);
	assert_string_equal(warned[0], "watched sender (check_sender_access)");
	ctl_restrict_destroy(r);
}

/* test_access_lookup_order - access(5) partial keys in texthash tables */
static void test_access_lookup_order(void **state)
{
	char list[512];
	struct ctl_restrict *r;
	const char *rep, *tab = put("sender_access",
		"# senders\n"
		"spammer@example.com  REJECT go away\n"
		"example.net 550 5.7.0 not from there\n"
		"abuse@ OK\n"
		"Bulk@\n"
		"  REJECT\n"		/* a continuation line */
		"<> 554 no bounces here\n"
		"example.org DUNNO\n"
		"example.org REJECT second entry: never used\n");

	(void)state;
	snprintf(list, sizeof(list), "check_sender_access texthash:%s", tab);
	r = make("recipient_delimiter = +\n", NULL, list, NULL);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "Spammer@Example.COM", NULL,
			      false, &rep), CTL_R_REJECT);
	assert_string_equal(rep, "554 5.7.1 <Spammer@Example.COM>: Sender address "
			    "rejected: go away");
	/* user+ext@domain finds user@domain */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "spammer+x@example.com", NULL,
			      false, &rep), CTL_R_REJECT);
	/* the domain and its subdomains (parent_domain_matches_subdomains) */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@mx.example.net", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_string_equal(rep, "550 5.7.0 <a@mx.example.net>: Sender address "
			    "rejected: not from there");
	/* the address before the domain; user@ last */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "abuse@example.net", NULL,
			      false, &rep), CTL_R_REJECT);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "abuse@other.test", NULL,
			      false, &rep), CTL_R_PERMIT);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "bulk+1@other.test", NULL,
			      false, &rep), CTL_R_REJECT);
	assert_string_equal(rep, "554 5.7.1 <bulk+1@other.test>: Sender address "
			    "rejected: Access denied");
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "", NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "554 5.7.1 <>: Sender address rejected: "
			    "no bounces here");
	/* the first of two equal keys wins, as with postmap */
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@example.org", NULL, false,
			      &rep), CTL_R_DUNNO);
	ctl_restrict_destroy(r);

	/* without smtpd_access_maps in parent_domain_matches_subdomains,
	 * only ".domain" matches subdomains */
	snprintf(list, sizeof(list), "check_sender_access texthash:%s",
		 put("dot_access", "example.com REJECT\n.example.net REJECT\n"));
	r = make("parent_domain_matches_subdomains = debug_peer_list\n", NULL,
		 list, NULL);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@mx.example.com", NULL,
			      false, &rep), CTL_R_DUNNO);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@example.com", NULL, false,
			      &rep), CTL_R_REJECT);
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "a@mx.example.net", NULL,
			      false, &rep), CTL_R_REJECT);
	ctl_restrict_destroy(r);
}

/* test_table_types - inline, regexp and cidr tables */
static void test_table_types(void **state)
{
	char helo[512], client[512];
	struct ctl_restrict *r;
	const char *rep;

	(void)state;
	snprintf(helo, sizeof(helo), "check_helo_access regexp:%s, "
		 "check_helo_access inline:{ ok.example=OK, "
		 "{ bad.example = 554 5.7.2 go away } }",
		 put("helo_re", "/\\.local$/ 550 local names are not for the "
		     "Internet\n/^mx[0-9]+\\./ DUNNO\n"));
	snprintf(client, sizeof(client), "check_client_access cidr:%s",
		 put("clients.cidr", "198.18.0.0/24 REJECT listed here\n"
		     "0.0.0.0/0 DUNNO\n"));
	r = make("", helo, NULL, client);
	assert_int_equal(eval(r, CTL_RS_HELO, "box.LOCAL", NULL, NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "550 5.7.1 <box.LOCAL>: Helo command rejected: "
			    "local names are not for the Internet");
	assert_int_equal(eval(r, CTL_RS_HELO, "bad.example", NULL, NULL, false, &rep),
			 CTL_R_REJECT);
	assert_string_equal(rep, "554 5.7.2 <bad.example>: Helo command rejected: "
			    "go away");
	assert_int_equal(eval(r, CTL_RS_HELO, "x.ok.example", NULL, NULL, false, &rep),
			 CTL_R_PERMIT);
	/* DUNNO ends a table's lookup, not the list: the next table's
	 * parent-domain entry rejects */
	assert_int_equal(eval(r, CTL_RS_HELO, "mx1.bad.example", NULL, NULL, false,
			      &rep), CTL_R_REJECT);
	/* the client, at the recipient stage */
	assert_int_equal(eval(r, CTL_RS_RECIPIENT, NULL, "a@b.example", "c@d.example",
			      false, &rep), CTL_R_REJECT);
	assert_string_equal(rep, "554 5.7.1 <unknown[198.18.0.7]>: Client host "
			    "rejected: listed here");
	ctl_restrict_destroy(r);
}

/* test_errors - what a postmaster gets wrong, named with file:line */
static void test_errors(void **state)
{
	char list[512];
	const char *e;

	(void)state;
	e = make_err("permit_sasl_authenticated, reject_unauth_destination");
	assert_non_null(strstr(e, "main.cf:7"));
	assert_non_null(strstr(e, "\"permit_sasl_authenticated\" is not supported"));
	e = make_err("check_sender_access");
	assert_non_null(strstr(e, "needs a table"));
	e = make_err("warn_if_reject");
	assert_non_null(strstr(e, "no restriction after it"));
	e = make_err("check_sender_access hash:/etc/postfix/sender_access");
	assert_non_null(strstr(e, "table type \"hash\" is not supported"));
	snprintf(list, sizeof(list), "check_sender_access texthash:%s/missing", dir);
	e = make_err(list);
	assert_non_null(strstr(e, "missing: cannot open"));
	snprintf(list, sizeof(list), "check_sender_access texthash:%s",
		 put("bad_result", "a@b.example OK\nc@d.example HOLD\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "bad_result:2: result \"HOLD\" is not supported"));
	snprintf(list, sizeof(list), "check_sender_access texthash:%s",
		 put("no_value", "a@b.example OK\n\nlonely\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "no_value:3: expected"));
	snprintf(list, sizeof(list), "check_sender_access regexp:%s",
		 put("bad_re", "/ok/ OK\n/(unclosed/ REJECT\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "bad_re:2: /(unclosed/"));
	/* expressions glibc's regcomp would take gigabytes for (fuzz_access) */
	snprintf(list, sizeof(list), "check_sender_access regexp:%s",
		 put("stacked_re", "/.+++++++++++++++++++++++++/ REJECT\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "stacked_re:1: /.++"));
	assert_non_null(strstr(e, "a quantifier after a quantifier"));
	snprintf(list, sizeof(list), "check_sender_access regexp:%s",
		 put("nested_re", "/((a{100}){100}){100}/ REJECT\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "too complex"));
	snprintf(list, sizeof(list), "check_sender_access regexp:%s",
		 put("big_bound", "/a{1,300}/ REJECT\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "a repeat count over 255"));
	snprintf(list, sizeof(list), "check_client_access cidr:%s",
		 put("bad.cidr", "198.18.0.0/33 REJECT\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "bad.cidr:1:"));
	e = make_err("check_sender_access inline:{ novalue }");
	assert_non_null(strstr(e, "expected \"key=value\""));
	snprintf(list, sizeof(list), "check_sender_access texthash:%s",
		 put("cont_first", "  continued\n"));
	e = make_err(list);
	assert_non_null(strstr(e, "cont_first:1: a continuation line"));
}

/* test_empty - no lists: nothing to do, everything DUNNO; an empty table
 * (comments only) and sane expressions with bounds load */
static void test_empty(void **state)
{
	struct ctl_restrict *r = make("", NULL, "", NULL);
	const char *rep;
	char list[512];

	(void)state;
	snprintf(list, sizeof(list), "check_sender_access texthash:%s, "
		 "check_helo_access regexp:%s",
		 put("empty_access", "# nothing yet\n\n"),
		 put("sane_re", "/^(mx|mail)[0-9]{1,3}\\.[a-z]{2,63}$/ REJECT\n"
		     "/[]x]+|[^]]{2}/ DUNNO\n"));
	{
		struct ctl_restrict *t = make("", list, list, NULL);

		assert_int_equal(eval(t, CTL_RS_SENDER, NULL, "a@b.example", NULL,
				      false, &rep), CTL_R_DUNNO);
		assert_int_equal(eval(t, CTL_RS_HELO, "mail7.example", NULL, NULL,
				      false, &rep), CTL_R_REJECT);
		ctl_restrict_destroy(t);
	}
	assert_true(ctl_restrict_empty(r));
	assert_int_equal(eval(r, CTL_RS_SENDER, NULL, "joe", NULL, false, &rep),
			 CTL_R_DUNNO);
	ctl_restrict_destroy(r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ctl_restrict_test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_replies),
		cmocka_unit_test(test_codes_from_conf),
		cmocka_unit_test(test_mynetworks_and_warn),
		cmocka_unit_test(test_access_lookup_order),
		cmocka_unit_test(test_table_types),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
