/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cidr - cidr tables and postscreen_access_list
 * DESCRIPTION
 *	Owns: cidr_table(5) parsing (files and inline cidr:{ {rule}, ... }),
 *	the mynetworks address list (addresses, networks, [v6]/n, !pattern,
 *	/file/name, cidr: tables), the postscreen_access_list command list,
 *	and their compilation into one read-only program.
 *
 *	Semantics follow Postfix's server_acl.c: the list is evaluated left
 *	to right; permit and reject end the search; dunno at the top level
 *	ends it with "no decision"; a table lookup whose result is itself a
 *	list (permit, reject, dunno, permit_mynetworks) returns from the table
 *	when that list says dunno or runs out, and the outer list continues.
 *	Inside a cidr table the first matching rule (in file order, honouring
 *	if/endif blocks and !negation) gives the result; later rules are not
 *	consulted even when that result is dunno.
 *
 *	Differences from Postfix, on purpose: a bad rule is an error, not a
 *	warning (a skipped deny rule is a hole); a table result that is not a
 *	postscreen command, or names a table, is an error at load instead of
 *	"ignoring the remainder" at lookup; only cidr: tables are supported
 *	(postconf(5) itself discourages other types here); IPv4 patterns and
 *	v4-mapped IPv6 patterns ([::ffff:a.b.c.d]/n) denote the same addresses,
 *	because struct scr_addr stores IPv4 v4-mapped.
 *
 *	Large tables: runs of consecutive plain "prefix result" rules (no
 *	negation, no if/endif between them) become one group: per distinct
 *	prefix length a sorted array of networks, each keeping the position
 *	of its first occurrence. A lookup binary-searches each length present
 *	in the group and takes the hit with the smallest position, which is
 *	exactly the first matching rule of the run. Cost per group:
 *	(distinct lengths) x log2(rules), no allocation.
 *
 *	Files (cidr tables, mynetworks /file/name) are read through ctl_file:
 *	only regular files of at most CTL_CIDR_MAX_FILE bytes, and a read
 *	error is an error naming file:line, never the end of the table (a
 *	deny list that loads empty on SIGHUP lets its clients in).
 * CONTRACT
 *	See ctl_cidr.h.
 * THREADING
 *	Control thread compiles; a compiled acl is read-only and lookups may
 *	run concurrently from any thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_cidr.h"
#include "ctl_file.h"
#include "ctl_msg.h"

#define CTL_GROUP_MIN	4	/* shorter runs stay linear */
#define CTL_CIDR_MAX_FILE (1ull << 30)	/* a table file: 10M-line lists fit */
#define CTL_NO_RES	UINT32_MAX
#define CTL_RES_MATCH	0u	/* mynetworks results */
#define CTL_RES_NOMATCH	1u

/* Access-list operations. */
enum ctl_op {
	CTL_OP_PERMIT = 0,
	CTL_OP_REJECT,
	CTL_OP_DUNNO,
	CTL_OP_MYNETWORKS,
	CTL_OP_TABLE,
	CTL_OP_MAX
};

/* Rule kinds in a compiled table. */
enum ctl_rkind {
	CTL_R_MATCH = 0,	/* addr in net/plen -> res */
	CTL_R_NOTMATCH,		/* addr not in net/plen -> res */
	CTL_R_IF,		/* addr not in net/plen: jump to arg */
	CTL_R_IFNOT,		/* addr in net/plen: jump to arg */
	CTL_R_GROUP,		/* group arg */
	CTL_R_TABLE,		/* found in table arg -> res */
	CTL_R_ENDIF,		/* parse-time only */
	CTL_R_MAX
};

struct ctl_rule {
	struct scr_addr net;
	uint8_t kind;		/* enum ctl_rkind */
	uint8_t plen;		/* 0..128 (v4 = 96 + n) */
	uint32_t arg;
	uint32_t res;
	unsigned line;		/* parse-time: for IF without ENDIF */
};

struct ctl_gent {
	struct scr_addr net;
	uint32_t order;		/* position in the run */
	uint32_t res;
};

struct ctl_glen {
	uint8_t plen;
	uint32_t start;
	uint32_t count;
};

struct ctl_group {
	struct ctl_gent *e;
	uint32_t n;
	struct ctl_glen *len;	/* distinct prefix lengths, longest first */
	uint32_t nlen;
};

struct ctl_table {
	struct ctl_rule *r;
	uint32_t n;
};

struct ctl_item {
	uint8_t op;		/* enum ctl_op */
	uint32_t table;
};

struct ctl_rlist {
	uint32_t start;
	uint32_t len;
};

struct ctl_acl {
	struct ctl_item *items;		/* top list first, then result lists */
	uint32_t nitems, capitems;
	uint32_t ntop;
	struct ctl_rlist *rl;
	uint32_t nrl, caprl;
	struct ctl_table *tables;
	uint32_t ntables, captables;
	struct ctl_group *groups;
	uint32_t ngroups, capgroups;
	uint32_t mynet;			/* table index of mynetworks */
};

/* Parse state while building one table. */
struct ctl_tbuild {
	struct ctl_rule *r;
	uint32_t n, cap;
};

struct ctl_ctx {
	struct ctl_acl *acl;
	const char *basedir;
	bool anyres;		/* mynetworks tables: any result means "found" */
	char *err;
	size_t errlen;
};

/* ctl_grow - ensure room for one more element */
static int ctl_grow(void **v, uint32_t n, uint32_t *cap, size_t size)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, (size_t)c * size);
	if (p == NULL)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* ctl_fail - set the error message; returns -EINVAL */
static int ctl_fail(struct ctl_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL && c->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ctl_mask - clear host bits beyond plen */
static void ctl_mask(struct scr_addr *a, unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits >= 8)
			continue;
		a->b[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* ctl_in - is addr inside net/plen */
static bool ctl_in(const struct scr_addr *addr, const struct scr_addr *net,
		   unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(addr->b, net->b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((addr->b[full] ^ net->b[full]) & (uint8_t)(0xff00u >> rem)) == 0;
}

/* ctl_prefix - parse a pattern; 0, or -EINVAL with the reason in why */
static int ctl_prefix(const char *text, struct scr_addr *net, unsigned *plen,
		      char *why, size_t wlen)
{
	char buf[128], *p = buf, *mask = NULL, *end;
	bool v6;
	unsigned max, n;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(why, wlen, "bad address pattern: \"%.40s...\"", text);
		return -EINVAL;
	}
	strcpy(buf, text);
	if (*p == '[') {
		char *rb = strchr(++p, ']');

		if (rb == NULL) {
			snprintf(why, wlen, "missing ']' character after \"[%s\"", p);
			return -EINVAL;
		}
		*rb = 0;
		if (rb[1] == '/')
			mask = rb + 2;
		else if (rb[1] != 0) {
			snprintf(why, wlen, "garbage after \"[%s]\"", p);
			return -EINVAL;
		}
	}
	if (mask == NULL && (mask = strchr(p, '/')) != NULL)
		*mask++ = 0;
	v6 = strchr(p, ':') != NULL;
	max = v6 ? 128 : 32;
	memset(net, 0, sizeof(*net));
	if (v6) {
		if (inet_pton(AF_INET6, p, net->b) != 1)
			goto bad;
	} else {
		net->b[10] = net->b[11] = 0xff;
		if (inet_pton(AF_INET, p, net->b + 12) != 1)
			goto bad;
	}
	n = max;
	if (mask != NULL) {
		unsigned long v;

		if (*mask == 0 || !isdigit((unsigned char)*mask)) {
			snprintf(why, wlen, "bad mask value in \"%s/%s\"", p, mask);
			return -EINVAL;
		}
		errno = 0;
		v = strtoul(mask, &end, 10);
		if (*end != 0 || errno != 0) {
			snprintf(why, wlen, "bad mask value in \"%s/%s\"", p, mask);
			return -EINVAL;
		}
		if (v > max) {
			snprintf(why, wlen, "bad mask length in \"%s/%s\"", p, mask);
			return -EINVAL;
		}
		n = (unsigned)v;
	}
	if (!v6)
		n += 96;
	{
		struct scr_addr m = *net;

		ctl_mask(&m, n);
		if (memcmp(&m, net, sizeof(m)) != 0) {
			char s[INET6_ADDRSTRLEN];

			if (v6)
				inet_ntop(AF_INET6, m.b, s, sizeof(s));
			else
				inet_ntop(AF_INET, m.b + 12, s, sizeof(s));
			snprintf(why, wlen, "non-null host address bits in \"%s/%s\", "
				 "perhaps you should use \"%s/%u\" instead", p, mask,
				 s, v6 ? n : n - 96);
			return -EINVAL;
		}
	}
	*plen = n;
	return 0;
bad:
	if (mask != NULL)
		snprintf(why, wlen, "bad network value in \"%s/%s\"", p, mask);
	else
		snprintf(why, wlen, "bad address pattern: \"%s\"", p);
	return -EINVAL;
}

/* ctl_cidr_parse_prefix - public prefix parser */
int ctl_cidr_parse_prefix(const char *text, struct scr_addr *net,
			  unsigned *plen)
{
	char why[256];

	return ctl_prefix(text, net, plen, why, sizeof(why));
}

/* ctl_cidr_parse_prefix_msg - same, with the reason */
int ctl_cidr_parse_prefix_msg(const char *text, struct scr_addr *net,
			      unsigned *plen, char *why, size_t wlen)
{
	return ctl_prefix(text, net, plen, why, wlen);
}

/* ctl_loc - "origin:line", or "origin N" for inline rules */
static void ctl_loc(char *buf, size_t len, const char *origin, unsigned line)
{
	size_t n = strlen(origin);

	if (n >= 5 && strcmp(origin + n - 5, " rule") == 0)
		snprintf(buf, len, "%s %u", origin, line);
	else
		snprintf(buf, len, "%s:%u", origin, line);
}

/* ctl_tb_add - append a parse-time rule */
static int ctl_tb_add(struct ctl_tbuild *tb, const struct ctl_rule *r)
{
	if (ctl_grow((void **)&tb->r, tb->n, &tb->cap, sizeof(*r)) < 0)
		return -ENOMEM;
	tb->r[tb->n++] = *r;
	return 0;
}

/* ctl_gent_cmp - order group entries of one length by network, then position */
static int ctl_gent_cmp(const void *a, const void *b)
{
	const struct ctl_gent *x = a, *y = b;
	int d;

	d = memcmp(x->net.b, y->net.b, 16);
	if (d != 0)
		return d;
	return (x->order > y->order) - (x->order < y->order);
}

/* ctl_make_group - build a group from rules r[0..n) (all CTL_R_MATCH) */
static int ctl_make_group(struct ctl_acl *acl, const struct ctl_rule *r,
			  uint32_t n, uint32_t *gidx)
{
	struct ctl_group g = { 0 };
	uint32_t cnt[129] = { 0 }, pos[129];
	uint32_t o = 0;
	int ret = -ENOMEM;

	g.e = malloc((size_t)n * sizeof(*g.e));
	if (g.e == NULL)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		cnt[r[i].plen]++;
	/* bucket by length, longest first */
	for (int l = 128; l >= 0; l--) {
		pos[l] = o;
		o += cnt[l];
		if (cnt[l])
			g.nlen++;
	}
	g.len = malloc((size_t)g.nlen * sizeof(*g.len));
	if (g.len == NULL)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		struct ctl_gent *e = &g.e[pos[r[i].plen]++];

		e->net = r[i].net;
		e->order = i;
		e->res = r[i].res;
	}
	o = 0;
	{
		uint32_t k = 0, w = 0;

		for (int l = 128; l >= 0; l--) {
			uint32_t start = o, keep;

			if (cnt[l] == 0)
				continue;
			qsort(g.e + start, cnt[l], sizeof(*g.e), ctl_gent_cmp);
			/* keep the first occurrence of each network */
			keep = w;
			for (uint32_t i = start; i < start + cnt[l]; i++) {
				if (w > keep && memcmp(g.e[w - 1].net.b, g.e[i].net.b,
						       16) == 0)
					continue;
				g.e[w++] = g.e[i];
			}
			g.len[k].plen = (uint8_t)l;
			g.len[k].start = keep;
			g.len[k].count = w - keep;
			k++;
			o += cnt[l];
		}
		g.n = w;
	}
	if (ctl_grow((void **)&acl->groups, acl->ngroups, &acl->capgroups,
		     sizeof(g)) < 0)
		goto out;
	*gidx = acl->ngroups;
	acl->groups[acl->ngroups++] = g;
	return 0;
out:
	free(g.e);
	free(g.len);
	return ret;
}

/* ctl_finish_table - resolve if/endif, group plain runs, store the table */
static int ctl_finish_table(struct ctl_ctx *c, struct ctl_tbuild *tb,
			    const char *origin, uint32_t *tidx)
{
	struct ctl_acl *acl = c->acl;
	struct ctl_table t = { 0 };
	uint32_t cap = 0, stack[64], depth = 0;
	int ret;

	for (uint32_t i = 0; i < tb->n;) {
		struct ctl_rule *r = &tb->r[i];

		if (r->kind == CTL_R_MATCH) {
			uint32_t j = i;

			while (j < tb->n && tb->r[j].kind == CTL_R_MATCH)
				j++;
			if (j - i >= CTL_GROUP_MIN) {
				struct ctl_rule g = { .kind = CTL_R_GROUP };

				ret = ctl_make_group(acl, tb->r + i, j - i, &g.arg);
				if (ret < 0)
					goto out;
				if (ctl_grow((void **)&t.r, t.n, &cap, sizeof(g)) < 0)
					goto nomem;
				t.r[t.n++] = g;
				i = j;
				continue;
			}
		}
		if (r->kind == CTL_R_ENDIF) {
			if (depth == 0) {
				char loc[4200];

				ctl_loc(loc, sizeof(loc), origin, r->line);
				ret = ctl_fail(c, "%s: ENDIF without IF", loc);
				goto out;
			}
			t.r[stack[--depth]].arg = t.n;
			i++;
			continue;
		}
		if (ctl_grow((void **)&t.r, t.n, &cap, sizeof(*r)) < 0)
			goto nomem;
		t.r[t.n] = *r;
		if (r->kind == CTL_R_IF || r->kind == CTL_R_IFNOT) {
			if (depth == sizeof(stack) / sizeof(stack[0])) {
				char loc[4200];

				ctl_loc(loc, sizeof(loc), origin, r->line);
				ret = ctl_fail(c, "%s: IF nested too deeply", loc);
				goto out;
			}
			stack[depth++] = t.n;
		}
		t.n++;
		i++;
	}
	if (depth > 0) {
		char loc[4200];

		ctl_loc(loc, sizeof(loc), origin, t.r[stack[depth - 1]].line);
		ret = ctl_fail(c, "%s: IF has no matching ENDIF", loc);
		goto out;
	}
	if (ctl_grow((void **)&acl->tables, acl->ntables, &acl->captables,
		     sizeof(t)) < 0)
		goto nomem;
	*tidx = acl->ntables;
	acl->tables[acl->ntables++] = t;
	return 0;
nomem:
	ret = -ENOMEM;
out:
	free(t.r);
	return ret;
}

/* ctl_item_add - append an access-list item */
static int ctl_item_add(struct ctl_acl *acl, uint8_t op, uint32_t table)
{
	if (ctl_grow((void **)&acl->items, acl->nitems, &acl->capitems,
		     sizeof(*acl->items)) < 0)
		return -ENOMEM;
	acl->items[acl->nitems].op = op;
	acl->items[acl->nitems].table = table;
	acl->nitems++;
	return 0;
}

/* ctl_command - permit|reject|dunno|permit_mynetworks; -1 if none */
static int ctl_command(const char *t, size_t n)
{
	static const char *const name[] = {
		[CTL_OP_PERMIT] = "permit", [CTL_OP_REJECT] = "reject",
		[CTL_OP_DUNNO] = "dunno", [CTL_OP_MYNETWORKS] = "permit_mynetworks",
	};

	for (int i = 0; i < CTL_OP_TABLE; i++)
		if (strlen(name[i]) == n && strncasecmp(t, name[i], n) == 0)
			return i;
	return -1;
}

/* ctl_result - compile a table result (an access list without tables) */
static int ctl_result(struct ctl_ctx *c, const char *s, size_t n,
		      const char *where, uint32_t *res)
{
	struct ctl_acl *acl = c->acl;
	const char *p = s, *end = s + n, *tok;
	size_t tl;
	bool bad = false;
	uint32_t start = acl->nitems;
	int ret;

	while (ctl_conf_list_token(&p, end, &tok, &tl, &bad)) {
		int op = ctl_command(tok, tl);

		if (op < 0) {
			if (memchr(tok, ':', tl) != NULL)
				return ctl_fail(c, "%s: lookup result \"%.*s\" is not "
						"allowed (a table result cannot name "
						"another table)", where, (int)tl, tok);
			return ctl_fail(c, "%s: result \"%.*s\" is not a postscreen "
					"command (permit, reject, dunno, "
					"permit_mynetworks)", where, (int)tl, tok);
		}
		if ((ret = ctl_item_add(acl, (uint8_t)op, 0)) < 0)
			return ret;
	}
	if (acl->nitems == start)
		return ctl_fail(c, "%s: no lookup result", where);
	if (ctl_grow((void **)&acl->rl, acl->nrl, &acl->caprl,
		     sizeof(*acl->rl)) < 0)
		return -ENOMEM;
	acl->rl[acl->nrl].start = start;
	acl->rl[acl->nrl].len = acl->nitems - start;
	*res = acl->nrl++;
	return 0;
}

/* ctl_cidr_line - one cidr_table(5) rule line into tb */
static int ctl_cidr_line(struct ctl_ctx *c, struct ctl_tbuild *tb,
			 const char *l, size_t n, const char *origin,
			 unsigned line)
{
	char where[4200], pat[160], why[256];
	struct ctl_rule r = { .line = line };
	size_t i = 0, b;
	bool neg = false, is_if = false;

	ctl_loc(where, sizeof(where), origin, line);
	while (i < n && isspace((unsigned char)l[i]))
		i++;
	b = i;
	while (i < n && !isspace((unsigned char)l[i]))
		i++;
	if (i - b == 5 && strncasecmp(l + b, "endif", 5) == 0) {
		while (i < n && isspace((unsigned char)l[i]))
			i++;
		if (i != n)
			return ctl_fail(c, "%s: garbage after ENDIF", where);
		r.kind = CTL_R_ENDIF;
		return ctl_tb_add(tb, &r);
	}
	if (i - b == 2 && strncasecmp(l + b, "if", 2) == 0) {
		is_if = true;
		while (i < n && isspace((unsigned char)l[i]))
			i++;
		b = i;
		while (i < n && !isspace((unsigned char)l[i]))
			i++;
		if (i == b)
			return ctl_fail(c, "%s: no address pattern after IF", where);
	}
	if (l[b] == '!') {
		neg = true;
		b++;
	}
	if (i - b >= sizeof(pat) || i == b)
		return ctl_fail(c, "%s: bad address pattern: \"%.*s\"", where,
				(int)(i - b > 60 ? 60 : i - b), l + b);
	memcpy(pat, l + b, i - b);
	pat[i - b] = 0;
	{
		unsigned pl;

		if (ctl_prefix(pat, &r.net, &pl, why, sizeof(why)) < 0)
			return ctl_fail(c, "%s: %s", where, why);
		r.plen = (uint8_t)pl;
	}
	while (i < n && isspace((unsigned char)l[i]))
		i++;
	if (is_if) {
		if (i != n)
			return ctl_fail(c, "%s: garbage after IF pattern", where);
		r.kind = neg ? CTL_R_IFNOT : CTL_R_IF;
		return ctl_tb_add(tb, &r);
	}
	{
		size_t e = n;
		int ret;

		while (e > i && isspace((unsigned char)l[e - 1]))
			e--;
		if (e == i)
			return ctl_fail(c, "%s: no lookup result", where);
		if (c->anyres)
			ret = 0;
		else
			ret = ctl_result(c, l + i, e - i, where, &r.res);
		if (ret < 0)
			return ret;
	}
	r.kind = neg ? CTL_R_NOTMATCH : CTL_R_MATCH;
	return ctl_tb_add(tb, &r);
}

/* ctl_cidr_file - parse a cidr table file */
static int ctl_cidr_file(struct ctl_ctx *c, struct ctl_tbuild *tb,
			 const char *path)
{
	struct ctl_file cf;
	char *l = NULL, *logical = NULL;
	size_t llen = 0, lcap = 0;
	ssize_t n;
	unsigned line = 0, lstart = 0;
	int ret;

	ret = ctl_file_init(&cf, path, CTL_CIDR_MAX_FILE, c->err, c->errlen);
	if (ret < 0)
		return ret;
	for (;;) {
		const char *p;
		bool eof;

		n = ctl_file_line(&cf, &l, c->err, c->errlen);
		if (n < 0) {
			ret = (int)n;
			break;
		}
		eof = n == 0;
		if (!eof) {
			line = cf.line;
			while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
				l[--n] = 0;
			if (memchr(l, 0, (size_t)n) != NULL) {
				ret = ctl_fail(c, "%s:%u: NUL byte in line", path, line);
				break;
			}
			for (p = l; isspace((unsigned char)*p); p++)
				;
			if (*p == 0 || *p == '#')
				continue;
			if (p != l) {
				if (logical == NULL) {
					ret = ctl_fail(c, "%s:%u: line starts with "
						       "white space but continues "
						       "nothing", path, line);
					break;
				}
				if (llen + (size_t)n + 2 > lcap) {
					char *q;

					lcap = (llen + (size_t)n + 2) * 2;
					q = realloc(logical, lcap);
					if (q == NULL) {
						ret = -ENOMEM;
						break;
					}
					logical = q;
				}
				logical[llen++] = ' ';
				memcpy(logical + llen, p, (size_t)(l + n - p));
				llen += (size_t)(l + n - p);
				logical[llen] = 0;
				continue;
			}
		}
		if (logical != NULL && llen > 0) {
			ret = ctl_cidr_line(c, tb, logical, llen, path, lstart);
			if (ret < 0)
				break;
		}
		llen = 0;
		if (eof)
			break;
		lstart = line;
		if ((size_t)n + 2 > lcap) {
			char *q;

			lcap = (size_t)n * 2 + 64;
			q = realloc(logical, lcap);
			if (q == NULL) {
				ret = -ENOMEM;
				break;
			}
			logical = q;
		}
		memcpy(logical, l, (size_t)n + 1);
		llen = (size_t)n;
	}
	free(logical);
	ctl_file_fini(&cf);
	return ret;
}

/* ctl_cidr_inline - parse "{ {rule}, {rule} }" (the text after cidr:) */
static int ctl_cidr_inline(struct ctl_ctx *c, struct ctl_tbuild *tb,
			   const char *s, size_t n, const char *origin)
{
	const char *p, *end, *tok;
	size_t tl;
	bool bad = false;
	unsigned k = 0;
	char where[4200];
	int ret;

	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return ctl_fail(c, "%s: cidr:{...}: missing braces", origin);
	p = s + 1;
	end = s + n - 1;
	while (ctl_conf_list_token(&p, end, &tok, &tl, &bad)) {
		k++;
		if (bad || tl < 2 || tok[0] != '{' || tok[tl - 1] != '}')
			return ctl_fail(c, "%s: cidr:{...} rule %u: expected "
					"{ pattern result }", origin, k);
		snprintf(where, sizeof(where), "%s: cidr:{...} rule", origin);
		ret = ctl_cidr_line(c, tb, tok + 1, tl - 2, where, k);
		if (ret < 0)
			return ret;
	}
	if (bad)
		return ctl_fail(c, "%s: cidr:{...}: unbalanced braces", origin);
	if (k == 0)
		return ctl_fail(c, "%s: cidr:{...}: empty table", origin);
	return 0;
}

/* ctl_path - join a relative path with basedir */
static void ctl_path(const char *basedir, const char *p, size_t n, char *out,
		     size_t len)
{
	if (n > 0 && p[0] == '/')
		snprintf(out, len, "%.*s", (int)n, p);
	else
		snprintf(out, len, "%s/%.*s", basedir ? basedir : ".", (int)n, p);
}

/* ctl_cidr_table - "cidr:/file" or "cidr:{...}" into a table index */
static int ctl_cidr_table(struct ctl_ctx *c, const char *spec, size_t n,
			  const char *origin, uint32_t *tidx)
{
	struct ctl_tbuild tb = { 0 };
	char path[4096];
	int ret;

	if (n == 0) {
		ret = ctl_fail(c, "%s: cidr: without a table name", origin);
		goto out;
	}
	if (spec[0] == '{') {
		char io[4200];

		snprintf(io, sizeof(io), "%s: cidr:{...} rule", origin);
		ret = ctl_cidr_inline(c, &tb, spec, n, origin);
		if (ret == 0)
			ret = ctl_finish_table(c, &tb, io, tidx);
	} else {
		ctl_path(c->basedir, spec, n, path, sizeof(path));
		ret = ctl_cidr_file(c, &tb, path);
		if (ret == 0)
			ret = ctl_finish_table(c, &tb, path, tidx);
	}
out:
	free(tb.r);
	return ret;
}

/* ctl_mynet_token - one mynetworks list element */
static int ctl_mynet_token(struct ctl_ctx *c, struct ctl_tbuild *tb,
			   const char *tok, size_t tl, const char *origin,
			   int depth)
{
	struct ctl_rule r = { 0 };
	char pat[160], why[256];
	bool neg = false;
	unsigned pl;
	int ret;

	if (tl > 0 && tok[0] == '!') {
		neg = true;
		tok++;
		tl--;
	}
	r.res = neg ? CTL_RES_NOMATCH : CTL_RES_MATCH;
	if (tl == 0)
		return ctl_fail(c, "%s: empty pattern after '!'", origin);
	if (tl > 5 && strncasecmp(tok, "cidr:", 5) == 0) {
		r.kind = CTL_R_TABLE;
		ret = ctl_cidr_table(c, tok + 5, tl - 5, origin, &r.arg);
		if (ret < 0)
			return ret;
		return ctl_tb_add(tb, &r);
	}
	if (tok[0] == '/') {
		char path[4096], msg[4200];
		struct ctl_file cf;
		char *l;
		ssize_t ln;

		if (neg)
			return ctl_fail(c, "%s: \"!/file\" is not supported",
					origin);
		if (depth > 0)
			return ctl_fail(c, "%s: \"%.*s\": nested /file/name",
					origin, (int)tl, tok);
		snprintf(path, sizeof(path), "%.*s", (int)tl, tok);
		ret = ctl_file_init(&cf, path, CTL_CIDR_MAX_FILE, msg, sizeof(msg));
		if (ret < 0) {
			ctl_fail(c, "%s: %s", origin, msg);
			return ret;
		}
		while ((ln = ctl_file_line(&cf, &l, c->err, c->errlen)) > 0) {
			const char *p = l, *t, *end;
			size_t n;
			bool bad = false;
			char where[4200];

			snprintf(where, sizeof(where), "%s:%u", path, cf.line);
			if (memchr(l, 0, (size_t)ln) != NULL) {
				ret = ctl_fail(c, "%s: NUL byte in line", where);
				break;
			}
			if ((t = strchr(l, '#')) != NULL)
				end = t;
			else
				end = l + ln;
			while (ret == 0 && ctl_conf_list_token(&p, end, &t, &n, &bad))
				ret = ctl_mynet_token(c, tb, t, n, where, 1);
			if (ret < 0)
				break;
		}
		if (ln < 0)
			ret = (int)ln;
		ctl_file_fini(&cf);
		return ret;
	}
	if (memchr(tok, ':', tl) != NULL && tok[0] != '[') {
		/* a bare IPv6 address or a table */
		const char *colon = memchr(tok, ':', tl);
		size_t k = (size_t)(colon - tok);
		bool word = k > 0;

		for (size_t i = 0; i < k; i++)
			if (!isalpha((unsigned char)tok[i]))
				word = false;
		if (word)
			return ctl_fail(c, "%s: unsupported table type \"%.*s\" "
					"(only cidr: tables are supported)", origin,
					(int)k, tok);
	}
	if (tl >= sizeof(pat))
		return ctl_fail(c, "%s: bad address pattern \"%.60s\"", origin, tok);
	memcpy(pat, tok, tl);
	pat[tl] = 0;
	if (ctl_prefix(pat, &r.net, &pl, why, sizeof(why)) < 0)
		return ctl_fail(c, "%s: %s", origin, why);
	r.plen = (uint8_t)pl;
	r.kind = CTL_R_MATCH;
	return ctl_tb_add(tb, &r);
}

/* ctl_mynetworks - compile the mynetworks list into a table */
static int ctl_mynetworks(struct ctl_ctx *c, const char *list,
			  const char *origin)
{
	struct ctl_tbuild tb = { 0 };
	const char *p = list, *end = list + strlen(list), *tok;
	size_t tl;
	bool bad = false;
	int ret = 0;

	c->anyres = true;
	while (ret == 0 && ctl_conf_list_token(&p, end, &tok, &tl, &bad))
		ret = ctl_mynet_token(c, &tb, tok, tl, origin, 0);
	c->anyres = false;
	if (ret == 0 && bad)
		ret = ctl_fail(c, "%s: unbalanced braces", origin);
	if (ret == 0)
		ret = ctl_finish_table(c, &tb, origin, &c->acl->mynet);
	free(tb.r);
	return ret;
}

/* ctl_acl_destroy - free a compiled acl */
void ctl_acl_destroy(struct ctl_acl *acl)
{
	if (acl == NULL)
		return;
	for (uint32_t i = 0; i < acl->ntables; i++)
		free(acl->tables[i].r);
	for (uint32_t i = 0; i < acl->ngroups; i++) {
		free(acl->groups[i].e);
		free(acl->groups[i].len);
	}
	free(acl->tables);
	free(acl->groups);
	free(acl->items);
	free(acl->rl);
	free(acl);
}

/* ctl_acl_compile2 - compile with origins for messages */
static struct ctl_acl *ctl_acl_compile2(const char *access_list,
					const char *al_origin,
					const char *mynetworks,
					const char *mn_origin,
					const char *basedir, char *err,
					size_t errlen)
{
	struct ctl_acl *acl = calloc(1, sizeof(*acl));
	struct ctl_ctx c = { .acl = acl, .basedir = basedir, .err = err,
			     .errlen = errlen };
	const char *p = access_list, *end, *tok;
	size_t tl;
	bool bad = false;
	int ret = -ENOMEM;

	if (err && errlen)
		err[0] = 0;
	if (acl == NULL)
		goto out;
	ret = ctl_mynetworks(&c, mynetworks ? mynetworks : "", mn_origin);
	if (ret < 0)
		goto out;
	end = access_list + strlen(access_list);
	/* The top list goes first in items[]; tables append their result
	 * lists, so collect the top list in a scratch array first. */
	{
		struct ctl_item *top = NULL;
		uint32_t ntop = 0, captop = 0;

		while (ctl_conf_list_token(&p, end, &tok, &tl, &bad) && !bad) {
			int op = ctl_command(tok, tl);
			uint32_t t = 0;

			if (op < 0) {
				const char *colon = memchr(tok, ':', tl);

				if (colon == NULL) {
					ret = ctl_fail(&c, "%s: unknown command \"%.*s\" "
						       "(permit_mynetworks, permit, "
						       "reject, dunno or cidr:table)",
						       al_origin, (int)tl, tok);
				} else if (colon - tok != 4 ||
					   strncasecmp(tok, "cidr", 4) != 0) {
					ret = ctl_fail(&c, "%s: unsupported table type "
						       "\"%.*s\" (only cidr: tables "
						       "are supported)", al_origin,
						       (int)(colon - tok), tok);
				} else {
					ret = ctl_cidr_table(&c, colon + 1,
							     tl - (size_t)(colon - tok) - 1,
							     al_origin, &t);
				}
				if (ret < 0) {
					free(top);
					goto out;
				}
				op = CTL_OP_TABLE;
			}
			if (ctl_grow((void **)&top, ntop, &captop, sizeof(*top)) < 0) {
				free(top);
				ret = -ENOMEM;
				goto out;
			}
			top[ntop].op = (uint8_t)op;
			top[ntop].table = t;
			ntop++;
		}
		if (bad) {
			free(top);
			ret = ctl_fail(&c, "%s: unbalanced braces", al_origin);
			goto out;
		}
		/* move result lists up, top list to the front */
		{
			struct ctl_item *n = malloc(((size_t)acl->nitems + ntop + 1) *
						    sizeof(*n));

			if (n == NULL) {
				free(top);
				ret = -ENOMEM;
				goto out;
			}
			if (ntop)
				memcpy(n, top, ntop * sizeof(*n));
			if (acl->nitems)
				memcpy(n + ntop, acl->items, acl->nitems * sizeof(*n));
			for (uint32_t i = 0; i < acl->nrl; i++)
				acl->rl[i].start += ntop;
			free(acl->items);
			acl->items = n;
			acl->nitems += ntop;
			acl->capitems = acl->nitems + 1;
			acl->ntop = ntop;
			free(top);
		}
	}
	ret = 0;
out:
	if (ret < 0) {
		if (ret == -ENOMEM && err && errlen && err[0] == 0)
			snprintf(err, errlen, "%s: out of memory", al_origin);
		ctl_acl_destroy(acl);
		errno = -ret;
		return NULL;
	}
	return acl;
}

/* ctl_acl_compile - compile an explicit access list and mynetworks */
struct ctl_acl *ctl_acl_compile(const char *access_list, const char *mynetworks,
				const char *basedir, char *err, size_t errlen)
{
	return ctl_acl_compile2(access_list, "postscreen_access_list",
				mynetworks, "mynetworks", basedir, err, errlen);
}

/* ctl_acl_create - compile postscreen_access_list and mynetworks of conf */
struct ctl_acl *ctl_acl_create(const struct ctl_conf *conf, char *err,
			       size_t errlen)
{
	char w1[4096], w2[4096], o1[4200], o2[4200];

	ctl_conf_where(conf, "postscreen_access_list", w1, sizeof(w1));
	ctl_conf_where(conf, "mynetworks", w2, sizeof(w2));
	snprintf(o1, sizeof(o1), "%s: postscreen_access_list",
		 strcmp(w1, "default") == 0 ? ctl_conf_file(conf) : w1);
	snprintf(o2, sizeof(o2), "%s: mynetworks",
		 strcmp(w2, "default") == 0 ? ctl_conf_file(conf) : w2);
	return ctl_acl_compile2(ctl_conf_get(conf, "postscreen_access_list"), o1,
				ctl_conf_get(conf, "mynetworks"), o2,
				ctl_conf_dir(conf), err, errlen);
}

/* ctl_group_lookup - first-in-order hit of a group, or CTL_NO_RES */
static uint32_t ctl_group_lookup(const struct ctl_group *g,
				 const struct scr_addr *addr)
{
	uint32_t best = UINT32_MAX, res = CTL_NO_RES;

	for (uint32_t k = 0; k < g->nlen; k++) {
		struct scr_addr m = *addr;
		uint32_t lo = g->len[k].start, hi = lo + g->len[k].count;

		ctl_mask(&m, g->len[k].plen);
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int d = memcmp(g->e[mid].net.b, m.b, 16);

			if (d == 0) {
				if (g->e[mid].order < best) {
					best = g->e[mid].order;
					res = g->e[mid].res;
				}
				break;
			}
			if (d < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return res;
}

/* ctl_table_lookup - first matching rule's result, or CTL_NO_RES */
static uint32_t ctl_table_lookup(const struct ctl_acl *acl, uint32_t tidx,
				 const struct scr_addr *addr, int depth)
{
	const struct ctl_table *t = &acl->tables[tidx];
	uint32_t i = 0;

	while (i < t->n) {
		const struct ctl_rule *r = &t->r[i];
		uint32_t res;

		switch (r->kind) {
		case CTL_R_MATCH:
			if (ctl_in(addr, &r->net, r->plen))
				return r->res;
			break;
		case CTL_R_NOTMATCH:
			if (!ctl_in(addr, &r->net, r->plen))
				return r->res;
			break;
		case CTL_R_IF:
			if (!ctl_in(addr, &r->net, r->plen)) {
				i = r->arg;
				continue;
			}
			break;
		case CTL_R_IFNOT:
			if (ctl_in(addr, &r->net, r->plen)) {
				i = r->arg;
				continue;
			}
			break;
		case CTL_R_GROUP:
			res = ctl_group_lookup(&acl->groups[r->arg], addr);
			if (res != CTL_NO_RES)
				return res;
			break;
		case CTL_R_TABLE:
			if (depth < 2 &&
			    ctl_table_lookup(acl, r->arg, addr, depth + 1) != CTL_NO_RES)
				return r->res;
			break;
		default:
			ctl_msg_panic("ctl_table_lookup: table %u rule %u: kind "
				      "%u out of range", tidx, i,
				      (unsigned)r->kind);
		}
		i++;
	}
	return CTL_NO_RES;
}

/* ctl_in_mynetworks - permit_mynetworks test */
static bool ctl_in_mynetworks(const struct ctl_acl *acl,
			      const struct scr_addr *addr)
{
	return ctl_table_lookup(acl, acl->mynet, addr, 0) == CTL_RES_MATCH;
}

/* ctl_eval - evaluate items[start..start+n); tables only at depth 0 */
static enum ctl_acl_result ctl_eval(const struct ctl_acl *acl, uint32_t start,
				    uint32_t n, const struct scr_addr *addr,
				    int depth)
{
	for (uint32_t i = start; i < start + n; i++) {
		const struct ctl_item *it = &acl->items[i];
		uint32_t res;
		enum ctl_acl_result r;

		switch (it->op) {
		case CTL_OP_PERMIT:
			return CTL_ACL_PERMIT;
		case CTL_OP_REJECT:
			return CTL_ACL_REJECT;
		case CTL_OP_DUNNO:
			return CTL_ACL_DUNNO;
		case CTL_OP_MYNETWORKS:
			if (ctl_in_mynetworks(acl, addr))
				return CTL_ACL_PERMIT;
			break;
		case CTL_OP_TABLE:
			if (depth > 0)	/* compile refused this */
				ctl_msg_panic("ctl_eval: item %u: table lookup "
					      "at depth %d", i, depth);
			res = ctl_table_lookup(acl, it->table, addr, 0);
			if (res == CTL_NO_RES)
				break;
			r = ctl_eval(acl, acl->rl[res].start, acl->rl[res].len,
				     addr, depth + 1);
			if (r != CTL_ACL_DUNNO)
				return r;
			break;
		default:
			ctl_msg_panic("ctl_eval: item %u: op %u out of range",
				      i, (unsigned)it->op);
		}
	}
	return CTL_ACL_DUNNO;
}

/* ctl_acl_lookup - first-match result for a client address */
enum ctl_acl_result ctl_acl_lookup(const struct ctl_acl *acl,
				   const struct scr_addr *addr)
{
	return ctl_eval(acl, 0, acl->ntop, addr, 0);
}

/* ctl_acl_prefixes - every prefix of the program */
int ctl_acl_prefixes(const struct ctl_acl *acl,
		     int (*cb)(void *arg, const struct scr_addr *net,
			       unsigned plen),
		     void *arg)
{
	int ret;

	for (uint32_t t = 0; t < acl->ntables; t++) {
		const struct ctl_table *tab = &acl->tables[t];

		for (uint32_t i = 0; i < tab->n; i++) {
			const struct ctl_rule *r = &tab->r[i];

			if (r->kind == CTL_R_TABLE)
				continue;
			if (r->kind == CTL_R_GROUP) {
				const struct ctl_group *g = &acl->groups[r->arg];

				for (uint32_t k = 0; k < g->nlen; k++)
					for (uint32_t e = g->len[k].start;
					     e < g->len[k].start + g->len[k].count; e++)
						if ((ret = cb(arg, &g->e[e].net,
							      g->len[k].plen)) != 0)
							return ret;
				continue;
			}
			if ((ret = cb(arg, &r->net, r->plen)) != 0)
				return ret;
		}
	}
	return 0;
}
