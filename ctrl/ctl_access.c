/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_access - Postfix access(5) tables a postmaster writes by hand
 * DESCRIPTION
 *	See ctl_access.h. texthash and inline tables are one array sorted by
 *	key (lower case) and searched by bisection, the first of equal keys
 *	winning as with postmap; regexp and cidr tables are rules in file
 *	order. Files are read through ctl_file (regular files only, bounded,
 *	read errors are errors).
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_access.h"
#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_file.h"

#define CTL_ACCESS_MAX_FILE	(256u << 20)	/* bytes of one table file */
#define CTL_ACCESS_RE_MAX	4096		/* bytes of one expression */

enum ctl_access_type {
	CTL_ACCESS_TEXTHASH,
	CTL_ACCESS_INLINE,
	CTL_ACCESS_REGEXP,
	CTL_ACCESS_CIDR,
};

struct ctl_access_rule {
	char *key;		/* texthash, inline: lower case */
	char *result;
	char *where;		/* "file:line" or "inline rule N" */
	regex_t re;		/* regexp */
	struct scr_addr net;	/* cidr */
	unsigned plen;		/* cidr: of 128 (IPv4 mapped: 96 + n);
				 * regexp: 1 once re is compiled */
	size_t ord;		/* place in the file */
};

struct ctl_access {
	enum ctl_access_type type;
	char *name;		/* as given */
	struct ctl_access_rule *r;
	size_t n, cap;
};

/* fail - message into err; NULL */
static void *fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

/* add - a new zeroed rule at the end; NULL when out of memory */
static struct ctl_access_rule *add(struct ctl_access *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *p = realloc(t->r, cap * sizeof(*t->r));

		if (p == NULL)
			return NULL;
		t->r = p;
		t->cap = cap;
	}
	memset(&t->r[t->n], 0, sizeof(t->r[0]));
	t->r[t->n].ord = t->n;
	return &t->r[t->n++];
}

/* set_rule - key, result and place of a rule (copies); -ENOMEM */
static int set_rule(struct ctl_access_rule *r, const char *key, size_t klen,
		    const char *res, size_t rlen, const char *where)
{
	size_t i;

	while (rlen > 0 && isspace((unsigned char)res[rlen - 1]))
		rlen--;
	r->key = key ? strndup(key, klen) : NULL;
	r->result = strndup(res, rlen);
	r->where = strdup(where);
	if ((key && r->key == NULL) || r->result == NULL || r->where == NULL)
		return -ENOMEM;
	for (i = 0; r->key != NULL && r->key[i]; i++)
		r->key[i] = (char)tolower((unsigned char)r->key[i]);
	return 0;
}

/* trimmed - p[0..n) without trailing white space */
static size_t trimmed(const char *p, size_t n)
{
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return n;
}

typedef int (*line_fn)(struct ctl_access *t, const char *l, size_t n,
		       const char *where, char *err, size_t errlen);

/* flush - hand the logical line in buf to cb */
static int flush(struct ctl_access *t, line_fn cb, char *buf, size_t *len,
		 const char *path, unsigned line, char *err, size_t errlen)
{
	char where[4200];
	int rc;

	if (*len == 0)
		return 0;
	buf[*len] = 0;
	snprintf(where, sizeof(where), "%s:%u", path, line);
	rc = cb(t, buf, *len, where, err, errlen);
	*len = 0;
	return rc;
}

/* read_rules - every logical line of path (Postfix table syntax: # comment
 * and blank lines skipped, a line that starts with white space continues
 * the one before) through cb; 0 or -errno with err set */
static int read_rules(struct ctl_access *t, const char *path, line_fn cb,
		      char *err, size_t errlen)
{
	char *text, *buf;
	size_t len, off = 0, blen = 0;
	unsigned line = 0, start = 0;
	int rc;

	if ((rc = ctl_file_read(path, CTL_ACCESS_MAX_FILE, &text, &len, err,
				errlen)) < 0)
		return rc;
	if ((buf = malloc(len + 1)) == NULL) {
		free(text);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while (off < len && rc == 0) {
		const char *l = text + off, *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off, i = 0;

		off += n + (nl != NULL);
		line++;
		if (memchr(l, 0, n) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte in the line", path, line);
			rc = -EINVAL;
			break;
		}
		while (i < n && isspace((unsigned char)l[i]))
			i++;
		if (i == n || l[i] == '#')
			continue;
		if (i > 0) {		/* continuation */
			if (blen == 0) {
				snprintf(err, errlen, "%s:%u: a continuation line "
					 "(starting with white space) with no "
					 "line before it", path, line);
				rc = -EINVAL;
				break;
			}
			buf[blen++] = ' ';
			memcpy(buf + blen, l + i, trimmed(l + i, n - i));
			blen += trimmed(l + i, n - i);
			continue;
		}
		rc = flush(t, cb, buf, &blen, path, start, err, errlen);
		start = line;
		memcpy(buf, l, trimmed(l, n));
		blen = trimmed(l, n);
	}
	if (rc == 0)
		rc = flush(t, cb, buf, &blen, path, start, err, errlen);
	free(buf);
	free(text);
	return rc;
}

/* split_line - "first rest": *k the first word's length, *v where the
 * rest begins; false when there is no rest */
static bool split_line(const char *l, size_t n, size_t *k, size_t *v)
{
	size_t i = 0;

	while (i < n && !isspace((unsigned char)l[i]))
		i++;
	*k = i;
	while (i < n && isspace((unsigned char)l[i]))
		i++;
	*v = i;
	return i < n;
}

/* texthash_line - "key result" */
static int texthash_line(struct ctl_access *t, const char *l, size_t n,
			 const char *where, char *err, size_t errlen)
{
	struct ctl_access_rule *r;
	size_t k, v;

	if (!split_line(l, n, &k, &v)) {
		snprintf(err, errlen, "%s: expected \"key whitespace value\"", where);
		return -EINVAL;
	}
	if ((r = add(t)) == NULL || set_rule(r, l, k, l + v, n - v, where) < 0) {
		snprintf(err, errlen, "%s: %s", where, strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

#define RE_COST_MAX	20000	/* regcomp nodes an expression may cost */
#define RE_DEPTH_MAX	32	/* nested groups */

/* re_bound - "{n}", "{n,}" or "{n,m}" at p: the largest count (n when
 * open-ended) and the bytes it takes, 0 when p is no bound */
static size_t re_bound(const char *p, unsigned long *k)
{
	char *e;
	unsigned long n = strtoul(p + 1, &e, 10), m = n;

	if (e == p + 1)
		return 0;
	if (*e == ',') {
		char *f;

		m = strtoul(e + 1, &f, 10);
		if (f == e + 1)
			m = n;
		e = f;
	}
	if (*e != '}')
		return 0;
	*k = n > m ? n : m;
	return (size_t)(e - p) + 1;
}

/* re_sane - NULL, or why glibc's regcomp must not see re: it copies a
 * bounded subexpression once per count, so nested bounds grow as their
 * product ("((a{100}){100}){100}"), and stacked quantifiers ("a+++...")
 * as a power; a table line must not take the daemon's memory */
static const char *re_sane(const char *re)
{
	unsigned long sum[RE_DEPTH_MAX + 1] = {0}, last[RE_DEPTH_MAX + 1] = {0};
	unsigned d = 0;
	bool quant = false;	/* the last token was a quantifier */
	const char *p;

	for (p = re; *p; p++) {
		unsigned long k;
		size_t n;

		switch (*p) {
		case '(':
			if (d == RE_DEPTH_MAX)
				return "groups nested too deeply";
			d++;
			sum[d] = last[d] = 0;
			quant = false;
			continue;
		case ')':
			if (d == 0)
				return "unbalanced parenthesis";
			k = sum[d] ? sum[d] : 1;
			d--;
			last[d] = k;
			sum[d] += k;
			quant = false;
			break;
		case '*':
		case '+':
		case '?':
			if (quant)
				return "a quantifier after a quantifier";
			sum[d] += last[d];
			quant = true;
			break;
		case '{':
			if ((n = re_bound(p, &k)) == 0)
				goto atom;
			if (quant)
				return "a quantifier after a quantifier";
			if (k > 255)
				return "a repeat count over 255";
			sum[d] += last[d] * (k ? k - 1 : 0);
			last[d] *= k ? k : 1;
			p += n - 1;
			quant = true;
			break;
		case '|':
		case '^':
		case '$':
			quant = false;
			continue;
		case '[':
			/* a bracket expression is one atom: "[]...]" and
			 * "[^]...]" hold a ']' first */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (*p == 0)
				return "unbalanced bracket";
			goto atom;
		case '\\':
			if (p[1] != 0)
				p++;
			goto atom;
		default:
		atom:
			last[d] = 1;
			sum[d] += 1;
			quant = false;
			break;
		}
		if (sum[d] > RE_COST_MAX || last[d] > RE_COST_MAX)
			return "too complex (bounded repeats multiply)";
	}
	return NULL;
}

/* regexp_line - "/regex/flags result" */
static int regexp_line(struct ctl_access *t, const char *l, size_t n,
		       const char *where, char *err, size_t errlen)
{
	struct ctl_access_rule *r;
	char re[CTL_ACCESS_RE_MAX], msg[256];
	const char *why;
	unsigned caseless;
	size_t res;
	int e;

	if (ctl_conf_regexp_rule(l, n, true, re, sizeof(re), &caseless, &res,
				 &why) < 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -EINVAL;
	}
	if ((why = re_sane(re)) != NULL) {
		snprintf(err, errlen, "%s: /%.60s/: %s", where, re, why);
		return -EINVAL;
	}
	if ((r = add(t)) == NULL || set_rule(r, NULL, 0, l + res, n - res, where) < 0) {
		snprintf(err, errlen, "%s: %s", where, strerror(ENOMEM));
		return -ENOMEM;
	}
	e = regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB | (caseless ? REG_ICASE : 0));
	if (e != 0) {
		regerror(e, &r->re, msg, sizeof(msg));
		snprintf(err, errlen, "%s: /%s/: %s", where, re, msg);
		free(r->key);
		free(r->result);
		free(r->where);
		t->n--;
		return -EINVAL;
	}
	r->plen = 1;		/* marks a compiled expression */
	return 0;
}

/* cidr_line - "network/prefix result" */
static int cidr_line(struct ctl_access *t, const char *l, size_t n,
		     const char *where, char *err, size_t errlen)
{
	struct ctl_access_rule *r;
	char pat[256], why[256];
	size_t k, v;

	if (!split_line(l, n, &k, &v)) {
		snprintf(err, errlen, "%s: expected \"network/prefix result\"", where);
		return -EINVAL;
	}
	if (k >= sizeof(pat)) {
		snprintf(err, errlen, "%s: address pattern too long", where);
		return -EINVAL;
	}
	memcpy(pat, l, k);
	pat[k] = 0;
	if ((r = add(t)) == NULL || set_rule(r, NULL, 0, l + v, n - v, where) < 0) {
		snprintf(err, errlen, "%s: %s", where, strerror(ENOMEM));
		return -ENOMEM;
	}
	if (ctl_cidr_parse_prefix_msg(pat, &r->net, &r->plen, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -EINVAL;
	}
	return 0;
}

/* inline_rules - "{ key=value, { key = value }, ... }" */
static int inline_rules(struct ctl_access *t, const char *body, size_t len,
			char *err, size_t errlen)
{
	const char *p = body, *end = body + len, *tok;
	size_t tl;
	bool bad = false;
	unsigned k = 0;

	while (ctl_conf_list_token(&p, end, &tok, &tl, &bad)) {
		const char *eq;
		struct ctl_access_rule *r;
		size_t kl, vs;
		char where[64];

		k++;
		snprintf(where, sizeof(where), "%s rule %u", t->name, k);
		if (tl >= 2 && tok[0] == '{' && tok[tl - 1] == '}') {
			tok++;
			tl -= 2;
		}
		while (tl > 0 && isspace((unsigned char)*tok)) {
			tok++;
			tl--;
		}
		eq = memchr(tok, '=', tl);
		if (eq == NULL || eq == tok) {
			snprintf(err, errlen, "%s: expected \"key=value\"", where);
			return -EINVAL;
		}
		kl = trimmed(tok, (size_t)(eq - tok));
		vs = (size_t)(eq - tok) + 1;
		while (vs < tl && isspace((unsigned char)tok[vs]))
			vs++;
		if (vs == tl) {
			snprintf(err, errlen, "%s: no value for \"%.*s\"", where,
				 (int)kl, tok);
			return -EINVAL;
		}
		if ((r = add(t)) == NULL ||
		    set_rule(r, tok, kl, tok + vs, tl - vs, where) < 0) {
			snprintf(err, errlen, "%s: %s", where, strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	if (bad) {
		snprintf(err, errlen, "%s: unbalanced braces", t->name);
		return -EINVAL;
	}
	return 0;
}

/* by_key - sort order of indexed tables: key, then file order */
static int by_key(const void *a, const void *b)
{
	const struct ctl_access_rule *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->ord < y->ord ? -1 : x->ord > y->ord);
}

/* ctl_access_open - a table from "type:name" */
struct ctl_access *ctl_access_open(const char *spec, const char *basedir,
				   char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum ctl_access_type type;
		line_fn line;
	} types[] = {
		{ "texthash:", CTL_ACCESS_TEXTHASH, texthash_line },
		{ "inline:", CTL_ACCESS_INLINE, NULL },
		{ "regexp:", CTL_ACCESS_REGEXP, regexp_line },
		{ "cidr:", CTL_ACCESS_CIDR, cidr_line },
	};
	struct ctl_access *t;
	const char *colon = strchr(spec, ':'), *rest;
	char path[4096];
	size_t i;
	int rc;

	if (colon == NULL)
		return fail(err, errlen, "%s: expected type:name (texthash:, "
			    "inline:, regexp: or cidr:)", spec);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncasecmp(spec, types[i].prefix, strlen(types[i].prefix)) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		return fail(err, errlen, "%s: table type \"%.*s\" is not supported "
			    "(texthash:, inline:, regexp: and cidr: are; for "
			    "hash: or lmdb: name the source file as texthash:)",
			    spec, (int)(colon - spec), spec);
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->name = strdup(spec)) == NULL) {
		free(t);
		return fail(err, errlen, "%s: %s", spec, strerror(ENOMEM));
	}
	t->type = types[i].type;
	rest = colon + 1;
	if (t->type == CTL_ACCESS_INLINE) {
		size_t n = strlen(rest);

		if (n < 2 || rest[0] != '{' || rest[n - 1] != '}') {
			ctl_access_close(t);
			return fail(err, errlen, "%s: expected inline:{ key=value, ... }",
				    spec);
		}
		rc = inline_rules(t, rest + 1, n - 2, err, errlen);
	} else {
		if (rest[0] == '/' || basedir == NULL)
			snprintf(path, sizeof(path), "%s", rest);
		else
			snprintf(path, sizeof(path), "%s/%s", basedir, rest);
		rc = read_rules(t, path, types[i].line, err, errlen);
	}
	if (rc < 0) {
		ctl_access_close(t);
		return NULL;
	}
	if (ctl_access_indexed(t) && t->n > 1)
		qsort(t->r, t->n, sizeof(*t->r), by_key);
	return t;
}

/* ctl_access_close - free the table */
void ctl_access_close(struct ctl_access *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		if (t->type == CTL_ACCESS_REGEXP && t->r[i].plen)
			regfree(&t->r[i].re);
		free(t->r[i].key);
		free(t->r[i].result);
		free(t->r[i].where);
	}
	free(t->r);
	free(t->name);
	free(t);
}

/* in_prefix - is a inside net/plen */
static bool in_prefix(const struct scr_addr *a, const struct scr_addr *net,
		      unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a->b, net->b, full) != 0)
		return false;
	return rest == 0 ||
	       ((a->b[full] ^ net->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* ctl_access_find - the result for key, NULL if none */
const char *ctl_access_find(const struct ctl_access *t, const char *key)
{
	size_t i, lo = 0, hi = t->n;
	char low[1024], why[128];
	struct scr_addr a;
	unsigned plen;

	switch (t->type) {
	case CTL_ACCESS_TEXTHASH:
	case CTL_ACCESS_INLINE:
		for (i = 0; key[i] && i < sizeof(low) - 1; i++)
			low[i] = (char)tolower((unsigned char)key[i]);
		if (key[i])
			return NULL;	/* longer than any key a rule can hold */
		low[i] = 0;
		while (lo < hi) {	/* the first rule with key >= low */
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(t->r[mid].key, low) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < t->n && strcmp(t->r[lo].key, low) == 0 ?
		       t->r[lo].result : NULL;
	case CTL_ACCESS_REGEXP:
		for (i = 0; i < t->n; i++)
			if (regexec(&t->r[i].re, key, 0, NULL, 0) == 0)
				return t->r[i].result;
		return NULL;
	case CTL_ACCESS_CIDR:
		if (ctl_cidr_parse_prefix_msg(key, &a, &plen, why, sizeof(why)) < 0 ||
		    plen != 128)
			return NULL;
		for (i = 0; i < t->n; i++)
			if (in_prefix(&a, &t->r[i].net, t->r[i].plen))
				return t->r[i].result;
		return NULL;
	}
	return NULL;
}

/* ctl_access_indexed - texthash and inline: partial keys are looked up */
bool ctl_access_indexed(const struct ctl_access *t)
{
	return t->type == CTL_ACCESS_TEXTHASH || t->type == CTL_ACCESS_INLINE;
}

/* ctl_access_each - every result with its place */
int ctl_access_each(const struct ctl_access *t,
		    int (*cb)(void *arg, const char *result, const char *where),
		    void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < t->n; i++)
		if ((rc = cb(arg, t->r[i].result, t->r[i].where)) != 0)
			return rc;
	return 0;
}

/* ctl_access_name - the table as named */
const char *ctl_access_name(const struct ctl_access *t)
{
	return t->name;
}
