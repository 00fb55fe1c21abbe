/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_restrict - Postfix SMTP restriction lists for envelope checks
 * DESCRIPTION
 *	See ctl_restrict.h. A list is compiled once into items (a restriction,
 *	its table, whether warn_if_reject came before it); evaluation walks
 *	the items of one stage and stops at the first PERMIT or REJECT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_access.h"
#include "ctl_restrict.h"

enum kind {
	K_PERMIT,
	K_REJECT,
	K_DEFER,
	K_WARN_IF_REJECT,
	K_PERMIT_MYNETWORKS,
	K_NON_FQDN_HELO,
	K_INVALID_HELO,
	K_UNKNOWN_HELO,
	K_NON_FQDN_SENDER,
	K_UNKNOWN_SENDER,
	K_NON_FQDN_RCPT,
	K_UNKNOWN_RCPT,
	K_CLIENT_ACCESS,	/* the four take a table */
	K_HELO_ACCESS,
	K_SENDER_ACCESS,
	K_RCPT_ACCESS,
};

static const char *const kind_name[] = {
	[K_PERMIT] = "permit",
	[K_REJECT] = "reject",
	[K_DEFER] = "defer",
	[K_WARN_IF_REJECT] = "warn_if_reject",
	[K_PERMIT_MYNETWORKS] = "permit_mynetworks",
	[K_NON_FQDN_HELO] = "reject_non_fqdn_helo_hostname",
	[K_INVALID_HELO] = "reject_invalid_helo_hostname",
	[K_UNKNOWN_HELO] = "reject_unknown_helo_hostname",
	[K_NON_FQDN_SENDER] = "reject_non_fqdn_sender",
	[K_UNKNOWN_SENDER] = "reject_unknown_sender_domain",
	[K_NON_FQDN_RCPT] = "reject_non_fqdn_recipient",
	[K_UNKNOWN_RCPT] = "reject_unknown_recipient_domain",
	[K_CLIENT_ACCESS] = "check_client_access",
	[K_HELO_ACCESS] = "check_helo_access",
	[K_SENDER_ACCESS] = "check_sender_access",
	[K_RCPT_ACCESS] = "check_recipient_access",
};
#define NKINDS (sizeof(kind_name) / sizeof(kind_name[0]))

struct item {
	enum kind kind;
	bool warn;		/* warn_if_reject came just before */
	struct ctl_access *tab;	/* check_*_access */
};

struct codes {
	unsigned non_fqdn, invalid_host, unknown_addr, unknown_host;
	unsigned access_reject, access_defer;
};

struct ctl_restrict {
	struct item *it[CTL_RS_MAX];
	size_t n[CTL_RS_MAX];
	struct codes code;
	bool pdms;		/* smtpd_access_maps in parent_domain_matches_subdomains */
	char null_key[64];	/* smtpd_null_access_lookup_key */
	char delim[16];		/* recipient_delimiter */
};

static const char *const stage_param[CTL_RS_MAX] = {
	[CTL_RS_HELO] = "smtpscreen_helo_restrictions",
	[CTL_RS_SENDER] = "smtpscreen_sender_restrictions",
	[CTL_RS_RECIPIENT] = "smtpscreen_recipient_restrictions",
};

/* ctl_restrict_param - the parameter of a stage */
const char *ctl_restrict_param(enum ctl_restrict_stage stage)
{
	return stage < CTL_RS_MAX ? stage_param[stage] : "?";
}

/* --- access results ---------------------------------------------------- */

enum res_kind { R_OK, R_DUNNO, R_REJECT, R_DEFER, R_CODE, R_WARN, R_BAD };

/* result_kind - what an access table result means; *text its text */
static enum res_kind result_kind(const char *r, const char **text,
				 unsigned *code)
{
	size_t w = 0, i;

	while (r[w] && !isspace((unsigned char)r[w]))
		w++;
	*text = r + w;
	while (**text && isspace((unsigned char)**text))
		(*text)++;
	for (i = 0; i < w && isdigit((unsigned char)r[i]); i++)
		;
	if (w > 0 && i == w) {
		unsigned c = (unsigned)strtoul(r, NULL, 10);

		if (w == 3 && (c / 100 == 4 || c / 100 == 5)) {
			*code = c;
			return **text ? R_CODE : R_BAD;
		}
		return R_OK;	/* all digits: Postfix's OK */
	}
	if (w == 2 && strncasecmp(r, "OK", 2) == 0)
		return R_OK;
	if (w == 5 && strncasecmp(r, "DUNNO", 5) == 0)
		return R_DUNNO;
	if (w == 6 && strncasecmp(r, "REJECT", 6) == 0)
		return R_REJECT;
	if (w == 5 && strncasecmp(r, "DEFER", 5) == 0)
		return R_DEFER;
	if (w == 4 && strncasecmp(r, "WARN", 4) == 0)
		return R_WARN;
	return R_BAD;
}

struct check_ctx {
	char *err;
	size_t errlen;
};

/* check_result - a table result smtpscreen can act on */
static int check_result(void *arg, const char *result, const char *where)
{
	struct check_ctx *c = arg;
	const char *text;
	unsigned code;

	if (result_kind(result, &text, &code) != R_BAD)
		return 0;
	snprintf(c->err, c->errlen, "%s: result \"%.60s\" is not supported "
		 "(OK, DUNNO, REJECT [text], DEFER [text], 4NN/5NN text, "
		 "WARN text)", where, result);
	return -EINVAL;
}

/* --- compile ------------------------------------------------------------ */

/* conf_code - a Postfix reply code parameter, or its default */
static int conf_code(const struct ctl_conf *conf, const char *name,
		     unsigned def, unsigned *out, char *err, size_t errlen)
{
	const char *v = ctl_conf_get(conf, name);
	char *end, where[4200];
	unsigned long c;

	*out = def;
	if (v == NULL || *v == 0)
		return 0;
	c = strtoul(v, &end, 10);
	if (*end != 0 || (c / 100 != 4 && c / 100 != 5) || c > 599) {
		snprintf(err, errlen, "%s: %s = %s: not a 4xx or 5xx code",
			 ctl_conf_where(conf, name, where, sizeof(where)), name, v);
		return -EINVAL;
	}
	*out = (unsigned)c;
	return 0;
}

/* compile_list - one stage's list, v, set at where */
static int compile_list(struct ctl_restrict *r, const struct ctl_conf *conf,
			enum ctl_restrict_stage st, const char *v,
			const char *where, char *err, size_t errlen)
{
	const char *p, *tok;
	char name[128];
	size_t tl, k;
	bool bad = false, warn = false;

	if (v == NULL)
		v = "";
	p = v;
	while (ctl_conf_list_token(&p, NULL, &tok, &tl, &bad)) {
		struct item *it;
		void *np;

		snprintf(name, sizeof(name), "%.*s", (int)tl, tok);
		for (k = 0; k < NKINDS; k++)
			if (strcasecmp(name, kind_name[k]) == 0)
				break;
		if (k == NKINDS) {
			snprintf(err, errlen, "%s: %s: restriction \"%s\" is not "
				 "supported at packet level (see smtpscreen.conf(5): "
				 "smtpd's own lists keep the rest)", where,
				 stage_param[st], name);
			return -EINVAL;
		}
		if (k == K_WARN_IF_REJECT) {
			warn = true;
			continue;
		}
		np = realloc(r->it[st], (r->n[st] + 1) * sizeof(*r->it[st]));
		if (np == NULL)
			return -ENOMEM;
		r->it[st] = np;
		it = &r->it[st][r->n[st]++];
		memset(it, 0, sizeof(*it));
		it->kind = (enum kind)k;
		it->warn = warn;
		warn = false;
		if (k >= K_CLIENT_ACCESS) {
			char spec[4096], terr[4400];
			struct check_ctx cc = { err, errlen };

			if (!ctl_conf_list_token(&p, NULL, &tok, &tl, &bad)) {
				snprintf(err, errlen, "%s: %s: %s needs a table "
					 "(type:name)", where, stage_param[st], name);
				return -EINVAL;
			}
			snprintf(spec, sizeof(spec), "%.*s", (int)tl, tok);
			it->tab = ctl_access_open(spec, ctl_conf_dir(conf), terr,
						  sizeof(terr));
			if (it->tab == NULL) {
				snprintf(err, errlen, "%s: %s: %s", where,
					 stage_param[st], terr);
				return -EINVAL;
			}
			if (ctl_access_each(it->tab, check_result, &cc) != 0)
				return -EINVAL;
		}
	}
	if (bad) {
		snprintf(err, errlen, "%s: %s: unbalanced braces", where,
			 stage_param[st]);
		return -EINVAL;
	}
	if (warn) {
		snprintf(err, errlen, "%s: %s: warn_if_reject with no restriction "
			 "after it", where, stage_param[st]);
		return -EINVAL;
	}
	return 0;
}

/* ctl_restrict_create - the three lists, under conf's parameters */
struct ctl_restrict *ctl_restrict_create(const struct ctl_conf *conf,
					 const char *const list[CTL_RS_MAX],
					 const char *const where[CTL_RS_MAX],
					 char *err, size_t errlen)
{
	struct ctl_restrict *r = calloc(1, sizeof(*r));
	const char *v;
	unsigned st;

	if (r == NULL) {
		snprintf(err, errlen, "envelope restrictions: %s", strerror(ENOMEM));
		return NULL;
	}
	if (conf_code(conf, "non_fqdn_reject_code", 504, &r->code.non_fqdn, err, errlen) ||
	    conf_code(conf, "invalid_hostname_reject_code", 501, &r->code.invalid_host, err, errlen) ||
	    conf_code(conf, "unknown_address_reject_code", 450, &r->code.unknown_addr, err, errlen) ||
	    conf_code(conf, "unknown_hostname_reject_code", 450, &r->code.unknown_host, err, errlen) ||
	    conf_code(conf, "access_map_reject_code", 554, &r->code.access_reject, err, errlen) ||
	    conf_code(conf, "access_map_defer_code", 450, &r->code.access_defer, err, errlen))
		goto fail;
	v = ctl_conf_get(conf, "parent_domain_matches_subdomains");
	r->pdms = v == NULL || strstr(v, "smtpd_access_maps") != NULL;
	v = ctl_conf_get(conf, "smtpd_null_access_lookup_key");
	snprintf(r->null_key, sizeof(r->null_key), "%s", v && *v ? v : "<>");
	v = ctl_conf_get(conf, "recipient_delimiter");
	snprintf(r->delim, sizeof(r->delim), "%s", v ? v : "");
	for (st = 0; st < CTL_RS_MAX; st++) {
		int rc = compile_list(r, conf, (enum ctl_restrict_stage)st,
				      list[st], where[st] ? where[st] : "default",
				      err, errlen);

		if (rc == -ENOMEM)
			snprintf(err, errlen, "%s: %s", stage_param[st], strerror(ENOMEM));
		if (rc < 0)
			goto fail;
	}
	return r;
fail:
	ctl_restrict_destroy(r);
	return NULL;
}

/* ctl_restrict_destroy - free the lists and their tables */
void ctl_restrict_destroy(struct ctl_restrict *r)
{
	unsigned st;
	size_t i;

	if (r == NULL)
		return;
	for (st = 0; st < CTL_RS_MAX; st++) {
		for (i = 0; i < r->n[st]; i++)
			ctl_access_close(r->it[st][i].tab);
		free(r->it[st]);
	}
	free(r);
}

/* ctl_restrict_empty - no list configured */
bool ctl_restrict_empty(const struct ctl_restrict *r)
{
	return r->n[CTL_RS_HELO] + r->n[CTL_RS_SENDER] + r->n[CTL_RS_RECIPIENT] == 0;
}

/* --- names -------------------------------------------------------------- */

/* addr_literal - "[1.2.3.4]" or "[IPv6:...]" */
static bool addr_literal(const char *s)
{
	size_t n = strlen(s);

	return n > 2 && s[0] == '[' && s[n - 1] == ']';
}

/* valid_hostname - RFC 1035 labels: letters, digits, '-' inside, at most
 * 63 bytes a label, 255 in all; a last label of digits only is not a
 * name (it is a malformed address) */
static bool valid_hostname(const char *s)
{
	size_t len = 0, lab = 0;
	bool digits_only = true;
	const char *p;

	if (*s == 0 || *s == '.')
		return false;
	for (p = s; *p; p++, len++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (lab == 0 || p[-1] == '-')
				return false;
			lab = 0;
			digits_only = true;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (c == '-' && lab == 0)
			return false;
		if (!isdigit(c))
			digits_only = false;
		if (++lab > 63)
			return false;
	}
	return len <= 255 && lab > 0 && p[-1] != '-' && !digits_only;
}

/* fqdn - a valid name with a dot (a trailing dot aside), or a literal */
static bool fqdn(const char *s)
{
	const char *dot;

	if (addr_literal(s))
		return true;
	dot = strchr(s, '.');
	return valid_hostname(s) && dot != NULL && dot[1] != 0;
}

/* domain_of - the domain part of an address, NULL without '@' */
static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : NULL;
}

/* --- replies ------------------------------------------------------------ */

/* reject - fill out with "code dsn <key>: what rejected: text" */
static enum ctl_restrict_verdict reject(struct ctl_restrict_out *out,
					const struct item *it, unsigned code,
					const char *dsn_tail, const char *key,
					const char *what, const char *text)
{
	char dsn[16];
	const char *t = text;

	/* a text that starts with its own d.d.d keeps it */
	if (text[0] >= '2' && text[0] <= '5' && text[1] == '.' &&
	    strspn(text, "0123456789.") >= 5 && text[strspn(text, "0123456789.")] == ' ') {
		size_t n = strspn(text, "0123456789.");

		snprintf(dsn, sizeof(dsn), "%.*s", (int)n, text);
		t = text + n + 1;
	} else {
		snprintf(dsn, sizeof(dsn), "%u.%s", code / 100, dsn_tail);
	}
	out->v = CTL_R_REJECT;
	out->code = code;
	out->restriction = kind_name[it->kind];
	snprintf(out->reply, sizeof(out->reply), "%u %s <%s>: %s rejected: %s",
		 code, dsn, key, what, t);
	return CTL_R_REJECT;
}

/* --- access lookups ----------------------------------------------------- */

/* find_domain - name, then its parent domains, as access(5) says */
static const char *find_domain(const struct ctl_restrict *r,
			       const struct ctl_access *t, const char *name)
{
	const char *res, *p;

	if ((res = ctl_access_find(t, name)) != NULL || !ctl_access_indexed(t))
		return res;
	for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if (r->pdms)
			res = ctl_access_find(t, p + 1);
		else
			res = ctl_access_find(t, p);	/* ".parent" */
		if (res != NULL)
			return res;
	}
	return NULL;
}

/* find_mail - an address: user+ext@domain, user@domain, the domain and
 * its parents, user+ext@, user@ (indexed tables); the whole address
 * (regexp); the null sender as smtpd_null_access_lookup_key */
static const char *find_mail(const struct ctl_restrict *r,
			     const struct ctl_access *t, const char *addr)
{
	const char *res, *dom, *ext = NULL;
	char key[1024];
	size_t ul;

	if (*addr == 0)
		return ctl_access_find(t, r->null_key);
	if ((res = ctl_access_find(t, addr)) != NULL || !ctl_access_indexed(t))
		return res;
	dom = domain_of(addr);
	ul = dom ? (size_t)(dom - 1 - addr) : strlen(addr);
	if (r->delim[0] != 0) {
		size_t i;

		for (i = 0; i < ul && ext == NULL; i++)
			if (strchr(r->delim, addr[i]) != NULL)
				ext = addr + i;
	}
	if (ext != NULL && dom != NULL) {
		snprintf(key, sizeof(key), "%.*s@%s", (int)(ext - addr), addr, dom);
		if ((res = ctl_access_find(t, key)) != NULL)
			return res;
	}
	if (dom != NULL && *dom && (res = find_domain(r, t, dom)) != NULL)
		return res;
	snprintf(key, sizeof(key), "%.*s@", (int)ul, addr);
	if ((res = ctl_access_find(t, key)) != NULL)
		return res;
	if (ext != NULL) {
		snprintf(key, sizeof(key), "%.*s@", (int)(ext - addr), addr);
		res = ctl_access_find(t, key);
	}
	return res;
}

/* find_client - the address, then (IPv4, indexed) its shorter octet
 * prefixes "1.2.3", "1.2", "1" */
static const char *find_client(const struct ctl_access *t, const char *a)
{
	const char *res;
	char key[64];
	char *dot;

	if ((res = ctl_access_find(t, a)) != NULL || !ctl_access_indexed(t) ||
	    strchr(a, ':') != NULL)
		return res;
	snprintf(key, sizeof(key), "%s", a);
	while ((dot = strrchr(key, '.')) != NULL) {
		*dot = 0;
		if ((res = ctl_access_find(t, key)) != NULL)
			return res;
	}
	return NULL;
}

/* access_result - act on a table's result for key */
static enum ctl_restrict_verdict access_result(const struct ctl_restrict *r,
					       const struct item *it,
					       const char *res, const char *key,
					       const char *what,
					       ctl_restrict_warn_fn warn,
					       void *warg,
					       struct ctl_restrict_out *out)
{
	const char *text;
	unsigned code = 0;

	if (res == NULL)
		return CTL_R_DUNNO;
	switch (result_kind(res, &text, &code)) {
	case R_OK:
		out->v = CTL_R_PERMIT;
		out->restriction = kind_name[it->kind];
		return CTL_R_PERMIT;
	case R_REJECT:
		return reject(out, it, r->code.access_reject, "7.1", key, what,
			      *text ? text : "Access denied");
	case R_DEFER:
		return reject(out, it, r->code.access_defer, "7.1", key, what,
			      *text ? text : "Access denied");
	case R_CODE:
		return reject(out, it, code, "7.1", key, what, text);
	case R_WARN:
		if (warn != NULL)
			warn(warg, text, kind_name[it->kind]);
		return CTL_R_DUNNO;
	case R_DUNNO:
	case R_BAD:		/* refused at load */
		break;
	}
	return CTL_R_DUNNO;
}

/* domain_known - an unknown-domain restriction's answer */
static enum ctl_restrict_verdict domain_known(const char *domain,
					      ctl_domain_fn dom, void *arg)
{
	if (domain == NULL || *domain == 0 || addr_literal(domain) || dom == NULL)
		return CTL_R_DUNNO;
	switch (dom(arg, domain)) {
	case CTL_DOMAIN_PENDING:
		return CTL_R_PENDING;
	case CTL_DOMAIN_NOT_FOUND:
		return CTL_R_REJECT;
	case CTL_DOMAIN_FOUND:
	case CTL_DOMAIN_TEMPFAIL:
		break;
	}
	return CTL_R_DUNNO;
}

/* run - one restriction */
static enum ctl_restrict_verdict run(const struct ctl_restrict *r,
				     const struct item *it,
				     const struct ctl_restrict_req *q,
				     ctl_domain_fn dom, void *arg,
				     ctl_restrict_warn_fn warn, void *warg,
				     struct ctl_restrict_out *out)
{
	char client[128];
	enum ctl_restrict_verdict v;

	switch (it->kind) {
	case K_PERMIT:
		out->v = CTL_R_PERMIT;
		out->restriction = kind_name[it->kind];
		return CTL_R_PERMIT;
	case K_REJECT:
		snprintf(client, sizeof(client), "unknown[%s]",
			 q->client_addr ? q->client_addr : "");
		return reject(out, it, 554, "7.1", client, "Client host",
			      "Access denied");
	case K_DEFER:
		snprintf(client, sizeof(client), "unknown[%s]",
			 q->client_addr ? q->client_addr : "");
		return reject(out, it, 450, "7.1", client, "Client host",
			      "Access denied");
	case K_PERMIT_MYNETWORKS:
		if (!q->mynetworks)
			return CTL_R_DUNNO;
		out->v = CTL_R_PERMIT;
		out->restriction = kind_name[it->kind];
		return CTL_R_PERMIT;
	case K_NON_FQDN_HELO:
		if (q->helo == NULL || fqdn(q->helo))
			return CTL_R_DUNNO;
		return reject(out, it, r->code.non_fqdn, "5.2", q->helo,
			      "Helo command", "need fully-qualified hostname");
	case K_INVALID_HELO:
		if (q->helo == NULL || addr_literal(q->helo) ||
		    valid_hostname(q->helo))
			return CTL_R_DUNNO;
		return reject(out, it, r->code.invalid_host, "5.2", q->helo,
			      "Helo command", "Invalid name");
	case K_UNKNOWN_HELO:
		if (q->helo == NULL || !valid_hostname(q->helo))
			return CTL_R_DUNNO;
		v = domain_known(q->helo, dom, arg);
		if (v != CTL_R_REJECT)
			return v;
		return reject(out, it, r->code.unknown_host, "7.1", q->helo,
			      "Helo command", "Host not found");
	case K_NON_FQDN_SENDER:
		if (q->sender == NULL || *q->sender == 0 ||
		    (domain_of(q->sender) && fqdn(domain_of(q->sender))))
			return CTL_R_DUNNO;
		return reject(out, it, r->code.non_fqdn, "5.2", q->sender,
			      "Sender address", "need fully-qualified address");
	case K_NON_FQDN_RCPT:
		if (q->recipient == NULL ||
		    (domain_of(q->recipient) && fqdn(domain_of(q->recipient))))
			return CTL_R_DUNNO;
		return reject(out, it, r->code.non_fqdn, "5.2", q->recipient,
			      "Recipient address", "need fully-qualified address");
	case K_UNKNOWN_SENDER:
		if (q->sender == NULL)
			return CTL_R_DUNNO;
		v = domain_known(domain_of(q->sender), dom, arg);
		if (v != CTL_R_REJECT)
			return v;
		return reject(out, it, r->code.unknown_addr, "1.8", q->sender,
			      "Sender address", "Domain not found");
	case K_UNKNOWN_RCPT:
		if (q->recipient == NULL)
			return CTL_R_DUNNO;
		v = domain_known(domain_of(q->recipient), dom, arg);
		if (v != CTL_R_REJECT)
			return v;
		return reject(out, it, r->code.unknown_addr, "1.2", q->recipient,
			      "Recipient address", "Domain not found");
	case K_CLIENT_ACCESS:
		if (q->client_addr == NULL)
			return CTL_R_DUNNO;
		snprintf(client, sizeof(client), "unknown[%s]", q->client_addr);
		return access_result(r, it, find_client(it->tab, q->client_addr),
				     client, "Client host", warn, warg, out);
	case K_HELO_ACCESS:
		if (q->helo == NULL)
			return CTL_R_DUNNO;
		return access_result(r, it, find_domain(r, it->tab, q->helo),
				     q->helo, "Helo command", warn, warg, out);
	case K_SENDER_ACCESS:
		if (q->sender == NULL)
			return CTL_R_DUNNO;
		return access_result(r, it, find_mail(r, it->tab, q->sender),
				     q->sender, "Sender address", warn, warg, out);
	case K_RCPT_ACCESS:
		if (q->recipient == NULL)
			return CTL_R_DUNNO;
		return access_result(r, it, find_mail(r, it->tab, q->recipient),
				     q->recipient, "Recipient address", warn, warg,
				     out);
	case K_WARN_IF_REJECT:	/* folded into the next item at compile */
		break;
	}
	return CTL_R_DUNNO;
}

/* ctl_restrict_eval - one stage's list over what the session showed */
enum ctl_restrict_verdict ctl_restrict_eval(const struct ctl_restrict *r,
					    enum ctl_restrict_stage stage,
					    const struct ctl_restrict_req *req,
					    ctl_domain_fn dom, void *arg,
					    ctl_restrict_warn_fn warn, void *warg,
					    struct ctl_restrict_out *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->v = CTL_R_DUNNO;
	if (stage >= CTL_RS_MAX)
		return CTL_R_DUNNO;
	for (i = 0; i < r->n[stage]; i++) {
		const struct item *it = &r->it[stage][i];
		enum ctl_restrict_verdict v = run(r, it, req, dom, arg, warn,
						  warg, out);

		if (v == CTL_R_PENDING) {
			memset(out, 0, sizeof(*out));
			out->v = CTL_R_PENDING;
			out->restriction = kind_name[it->kind];
			return CTL_R_PENDING;
		}
		if (v == CTL_R_REJECT && it->warn) {
			/* warn_if_reject: log what would be rejected, go on */
			if (warn != NULL)
				warn(warg, out->reply, out->restriction);
			memset(out, 0, sizeof(*out));
			out->v = CTL_R_DUNNO;
			continue;
		}
		if (v != CTL_R_DUNNO)
			return v;
	}
	return CTL_R_DUNNO;
}
