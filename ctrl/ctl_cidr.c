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
 *	For the XDP compiler, ctl_acl_regions_init gives the program's answer
 *	over the whole address space without a lookup per region: each table
 *	becomes a first-match map bottom up (a group in one sweep of its
 *	entries in address order, rule lists by balanced composition), and
 *	the top-level list is evaluated once per region of the merged maps.
 *
 *	Parsing a big table: the usual patterns (a.b.c.d/n, and IPv6 in hex
 *	groups, x:x::x/n) are read without a copy or inet_pton, a line's
 *	file:line is only formatted for an error, consecutive lines with
 *	the same result text share one result list, and a group's networks
 *	are sorted by a radix sort.
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
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_cidr.h"
#include "ctl_file.h"
#include "ctl_mem.h"
#include "ctl_msg.h"

#define CTL_GROUP_MIN	4	/* shorter runs stay linear */
#define CTL_CIDR_MAX_FILE (1ull << 30)	/* a table file: 10M-line lists fit */
#define CTL_NO_RES	UINT32_MAX
#define CTL_RES_MATCH	0u	/* mynetworks results */
#define CTL_RES_NOMATCH	1u
#define CTL_PAT_MAX	128	/* a pattern is shorter */
#define CTL_SORT_SMALL	32	/* group runs sorted by insertion */
#define CTL_SORT_LSD	4	/* bytes an LSD radix sort goes over, at most */
#define CTL_LINE_GUESS	16	/* bytes per line, to reserve a table's rules */

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
	char res_text[64];	/* the last table result compiled, */
	size_t res_len;		/* its length (0: none) */
	uint32_t res_rl;	/* and its result list */
};

/* ctl_grow - ensure room for one more element */
static int ctl_grow(void **v, uint32_t n, uint32_t *cap, size_t size)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = ctl_mem_realloc(*v, (size_t)*cap * size, (size_t)c * size);
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

/* ctl_words - an address as two numbers, first bytes most significant
 * (their order is memcmp()'s) */
static void ctl_words(const struct scr_addr *a, uint64_t w[2])
{
	memcpy(w, a->b, 16);
	w[0] = be64toh(w[0]);
	w[1] = be64toh(w[1]);
}

/* ctl_mask_words - keep the first plen bits of an address's words */
static void ctl_mask_words(uint64_t w[2], unsigned plen)
{
	w[0] &= plen >= 64 ? ~0ull : plen ? ~0ull << (64 - plen) : 0;
	w[1] &= plen >= 128 ? ~0ull : plen > 64 ? ~0ull << (128 - plen) : 0;
}

/* ctl_mask - clear host bits beyond plen */
static void ctl_mask(struct scr_addr *a, unsigned plen)
{
	uint64_t w[2];

	ctl_words(a, w);
	ctl_mask_words(w, plen);
	w[0] = htobe64(w[0]);
	w[1] = htobe64(w[1]);
	memcpy(a->b, w, 16);
}

/* ctl_in - is addr inside net/plen */
static bool ctl_in(const struct scr_addr *addr, const struct scr_addr *net,
		   unsigned plen)
{
	uint64_t a[2], n[2];

	ctl_words(addr, a);
	ctl_words(net, n);
	a[0] ^= n[0];
	a[1] ^= n[1];
	ctl_mask_words(a, plen);
	return (a[0] | a[1]) == 0;
}

/* ctl_blank - isspace() of the C locale (smtpscreen never sets another),
 * without a call per character */
static bool ctl_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* ctl_prefix_v4 - the common pattern, "a.b.c.d" or "a.b.c.d/n", read
 * without a copy, inet_pton or strtoul from the start of s[0..n), up to the
 * first character that cannot continue it: its length when that is one
 * ctl_prefix accepts (inet_pton's dotted quad: four decimal octets up to
 * 255 without leading zeros; a mask of decimal digits up to 32; no host
 * bits; shorter than CTL_PAT_MAX), with the same network and length, else
 * 0: ctl_prefix words the error or parses the other forms */
static size_t ctl_prefix_v4(const char *s, size_t n, struct scr_addr *net,
			    unsigned *plen)
{
	uint32_t a = 0, m = 32;
	size_t i = 0;
	unsigned d;

	for (unsigned octet = 0; octet < 4; octet++) {
		uint32_t o;

		if (octet > 0 && (i >= n || s[i++] != '.'))
			return 0;
		if (i >= n || (o = (unsigned)(unsigned char)s[i] - '0') > 9)
			return 0;
		if (++i < n && (d = (unsigned)(unsigned char)s[i] - '0') <= 9) {
			if (o == 0)
				return 0;	/* a leading zero */
			o = o * 10 + d;
			if (++i < n && (d = (unsigned)(unsigned char)s[i] - '0') <= 9) {
				o = o * 10 + d;
				if (o > 255 || (++i < n &&
						(unsigned)(unsigned char)s[i] - '0' <= 9))
					return 0;
			}
		}
		a = a << 8 | o;
	}
	if (i < n && s[i] == '/') {
		if (++i >= n || (unsigned)(unsigned char)s[i] - '0' > 9)
			return 0;
		for (m = 0; i < n && (d = (unsigned)(unsigned char)s[i] - '0') <= 9;
		     i++) {
			m = m * 10 + d;
			if (m > 32)
				return 0;
		}
	}
	if (i >= CTL_PAT_MAX || (m < 32 && (a & (~0u >> m)) != 0))
		return 0;
	memset(net, 0, sizeof(*net));
	net->b[10] = net->b[11] = 0xff;
	net->b[12] = (uint8_t)(a >> 24);
	net->b[13] = (uint8_t)(a >> 16);
	net->b[14] = (uint8_t)(a >> 8);
	net->b[15] = (uint8_t)a;
	*plen = 96 + m;
	return i;
}

/* ctl_hex - the value of a hex digit, or 16 */
static unsigned ctl_hex(unsigned char ch)
{
	unsigned c = ch;

	if (c - '0' <= 9u)
		return c - '0';
	c |= 0x20;	/* lower case */
	return c - 'a' <= 5u ? c - 'a' + 10u : 16u;
}

/* ctl_prefix_v6 - the usual IPv6 pattern, hex groups with at most one
 * "::" and an optional "/n", read as ctl_prefix_v4 reads IPv4: its length
 * when inet_pton would take the address (1-4 hex digits a group, eight
 * groups, or fewer with a "::" that stands for at least one), the mask is
 * decimal up to 128 and no host bit is set, with the same network and
 * length as ctl_prefix, else 0 (a dotted IPv4 tail, brackets or an error:
 * ctl_prefix reads the line again and words the error) */
static size_t ctl_prefix_v6(const char *s, size_t n, struct scr_addr *net,
			    unsigned *plen)
{
	uint16_t g[8];
	size_t i = 0;
	unsigned ng = 0, m = 128, d, k;
	int gap = -1;	/* the group "::" stands before, if any */
	struct scr_addr a;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n && ng < 8) {
		unsigned v = 0;

		for (k = 0; k < 4 && i + k < n &&
			    (d = ctl_hex((unsigned char)s[i + k])) < 16; k++)
			v = v << 4 | d;
		if (k == 0)
			break;
		i += k;
		g[ng++] = (uint16_t)v;
		if (i >= n || s[i] != ':')
			break;
		if (i + 1 < n && s[i + 1] == ':') {
			if (gap >= 0)
				return 0;	/* a second "::" */
			gap = (int)ng;
			i += 2;
		} else if (++i >= n || ctl_hex((unsigned char)s[i]) >= 16) {
			return 0;	/* "x:" at the end, or before junk */
		}
	}
	if (i < n && (ctl_hex((unsigned char)s[i]) < 16 || s[i] == ':' ||
		      s[i] == '.'))
		return 0;	/* a fifth digit, a ninth group, a dotted tail */
	if (gap < 0 ? ng != 8 : ng > 7)
		return 0;
	memset(&a, 0, sizeof(a));
	for (k = 0; k < ng; k++) {
		unsigned at = gap < 0 || k < (unsigned)gap ? k : 8 - ng + k;

		a.b[2 * at] = (uint8_t)(g[k] >> 8);
		a.b[2 * at + 1] = (uint8_t)g[k];
	}
	if (i < n && s[i] == '/') {
		if (++i >= n || (unsigned)(unsigned char)s[i] - '0' > 9)
			return 0;
		for (m = 0; i < n && (d = (unsigned)(unsigned char)s[i] - '0') <= 9;
		     i++) {
			m = m * 10 + d;
			if (m > 128)
				return 0;
		}
	}
	if (i >= CTL_PAT_MAX)
		return 0;
	*net = a;
	ctl_mask(&a, m);
	if (memcmp(&a, net, sizeof(a)) != 0)
		return 0;
	*plen = m;
	return i;
}

/* ctl_prefix - parse a pattern; 0, or -EINVAL with the reason in why */
static int ctl_prefix(const char *text, struct scr_addr *net, unsigned *plen,
		      char *why, size_t wlen)
{
	char buf[CTL_PAT_MAX], *p = buf, *mask = NULL, *end;
	size_t len = strlen(text);
	bool v6;
	unsigned max, n;

	if (len > 0 && (ctl_prefix_v4(text, len, net, plen) == len ||
			ctl_prefix_v6(text, len, net, plen) == len))
		return 0;
	if (len >= sizeof(buf)) {
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

/* ctl_line_fail - "origin:line: message"; returns -EINVAL */
static int ctl_line_fail(struct ctl_ctx *c, const char *origin, unsigned line,
			 const char *fmt, ...)
{
	char loc[4200], msg[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_loc(loc, sizeof(loc), origin, line);
	return ctl_fail(c, "%s: %s", loc, msg);
}

/* ctl_tb_reserve - room for n rules, if it can be had: a guess from the
 * file size, so that a big table is not copied as it grows */
static void ctl_tb_reserve(struct ctl_tbuild *tb, uint64_t n)
{
	void *p;

	if (n <= tb->cap || n > UINT32_MAX / 2)
		return;
	p = ctl_mem_realloc(tb->r, (size_t)tb->cap * sizeof(*tb->r),
			    (size_t)n * sizeof(*tb->r));
	if (p == NULL)
		return;		/* the table grows as it is read */
	tb->r = p;
	tb->cap = (uint32_t)n;
}

/* ctl_tb_add - append a parse-time rule */
static int ctl_tb_add(struct ctl_tbuild *tb, const struct ctl_rule *r)
{
	if (ctl_grow((void **)&tb->r, tb->n, &tb->cap, sizeof(*r)) < 0)
		return -ENOMEM;
	tb->r[tb->n++] = *r;
	return 0;
}

/* ctl_gent_lsd - LSD radix sort of e[0..n) over the bytes by[0..nb)
 * (least significant first), stable; tmp holds n */
static void ctl_gent_lsd(struct ctl_gent *e, uint32_t n, struct ctl_gent *tmp,
			 const uint8_t *by, unsigned nb)
{
	struct ctl_gent *src = e, *dst = tmp, *t;
	uint32_t cnt[CTL_SORT_LSD][256];

	memset(cnt, 0, nb * sizeof(cnt[0]));
	for (uint32_t i = 0; i < n; i++)
		for (unsigned p = 0; p < nb; p++)
			cnt[p][e[i].net.b[by[p]]]++;
	for (unsigned p = 0; p < nb; p++) {
		uint32_t sum = 0, *c = cnt[p];
		unsigned b = by[p];

		for (int k = 0; k < 256; k++) {
			uint32_t v = c[k];

			c[k] = sum;
			sum += v;
		}
		for (uint32_t i = 0; i < n; i++)
			dst[c[src[i].net.b[b]]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != e)
		memcpy(e, src, (size_t)n * sizeof(*e));
}

/* ctl_gent_sort - sort group entries of one length (in position order) by
 * network, then position; stable: an insertion sort for a few, nothing
 * when they are sorted already (as lists often are), an LSD radix sort
 * when their networks differ in a few bytes (three for IPv4 /24s), else
 * a split on the first byte that differs (IPv4 from IPv6 /120s, say) and
 * each part on its own; tmp holds n */
static void ctl_gent_sort(struct ctl_gent *e, uint32_t n, struct ctl_gent *tmp)
{
	uint64_t d0 = 0, d1 = 0, f0, f1, x, y, ph, pl;
	uint32_t cnt[256] = { 0 }, o = 0;
	uint8_t diff[16], nb = 0, by[16];
	bool sorted = true;

	if (n <= CTL_SORT_SMALL) {
		for (uint32_t i = 1; i < n; i++) {
			struct ctl_gent v = e[i];
			uint32_t j = i;

			for (; j > 0 && memcmp(e[j - 1].net.b, v.net.b, 16) > 0; j--)
				e[j] = e[j - 1];
			e[j] = v;
		}
		return;
	}
	memcpy(&f0, e[0].net.b, 8);
	memcpy(&f1, e[0].net.b + 8, 8);
	ph = be64toh(f0);
	pl = be64toh(f1);
	for (uint32_t i = 1; i < n; i++) {
		memcpy(&x, e[i].net.b, 8);
		memcpy(&y, e[i].net.b + 8, 8);
		d0 |= x ^ f0;
		d1 |= y ^ f1;
		x = be64toh(x);
		y = be64toh(y);
		sorted &= x > ph || (x == ph && y >= pl);
		ph = x;
		pl = y;
	}
	if (sorted)
		return;
	memcpy(diff, &d0, 8);
	memcpy(diff + 8, &d1, 8);
	for (int b = 15; b >= 0; b--)	/* least significant first */
		if (diff[b] != 0)
			by[nb++] = (uint8_t)b;
	if (nb <= CTL_SORT_LSD) {
		ctl_gent_lsd(e, n, tmp, by, nb);
		return;
	}
	/* a stable split on the most significant byte that differs */
	for (uint32_t i = 0; i < n; i++)
		cnt[e[i].net.b[by[nb - 1]]]++;
	for (int k = 0; k < 256; k++) {
		uint32_t v = cnt[k];

		cnt[k] = o;
		o += v;
	}
	for (uint32_t i = 0; i < n; i++)
		tmp[cnt[e[i].net.b[by[nb - 1]]]++] = e[i];
	memcpy(e, tmp, (size_t)n * sizeof(*e));
	o = 0;
	for (int k = 0; k < 256; k++) {	/* after the scatter cnt[k] ends part k */
		ctl_gent_sort(e + o, cnt[k] - o, tmp);
		o = cnt[k];
	}
}

/* ctl_make_group - build a group from rules r[0..n) (all CTL_R_MATCH); the
 * rules are read once, then their memory is the sort's scratch space */
static int ctl_make_group(struct ctl_acl *acl, struct ctl_rule *r, uint32_t n,
			  uint32_t *gidx)
{
	struct ctl_group g = { 0 };
	struct ctl_gent *tmp = (struct ctl_gent *)(void *)r;
	uint32_t cnt[129] = { 0 }, pos[129];
	uint32_t o = 0;
	int ret = -ENOMEM;

	_Static_assert(sizeof(*tmp) <= sizeof(*r), "rules hold the scratch");
	g.e = ctl_mem_alloc((size_t)n * sizeof(*g.e));
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
			ctl_gent_sort(g.e + start, cnt[l], tmp);
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

/* ctl_result - compile a table result (an access list without tables);
 * the same text as the previous line's gets the same result list */
static int ctl_result(struct ctl_ctx *c, const char *s, size_t n,
		      const char *origin, unsigned line, uint32_t *res)
{
	struct ctl_acl *acl = c->acl;
	const char *p = s, *end = s + n, *tok;
	size_t tl;
	bool bad = false;
	uint32_t start = acl->nitems;
	int ret;

	if (n == c->res_len && memcmp(s, c->res_text, n) == 0) {
		*res = c->res_rl;
		return 0;
	}
	while (ctl_conf_list_token(&p, end, &tok, &tl, &bad)) {
		int op = ctl_command(tok, tl);

		if (op < 0) {
			if (memchr(tok, ':', tl) != NULL)
				return ctl_line_fail(c, origin, line, "lookup result "
						     "\"%.*s\" is not allowed (a table "
						     "result cannot name another "
						     "table)", (int)tl, tok);
			return ctl_line_fail(c, origin, line, "result \"%.*s\" is "
					     "not a postscreen command (permit, "
					     "reject, dunno, permit_mynetworks)",
					     (int)tl, tok);
		}
		if ((ret = ctl_item_add(acl, (uint8_t)op, 0)) < 0)
			return ret;
	}
	if (acl->nitems == start)
		return ctl_line_fail(c, origin, line, "no lookup result");
	if (ctl_grow((void **)&acl->rl, acl->nrl, &acl->caprl,
		     sizeof(*acl->rl)) < 0)
		return -ENOMEM;
	acl->rl[acl->nrl].start = start;
	acl->rl[acl->nrl].len = acl->nitems - start;
	*res = acl->nrl++;
	if (n <= sizeof(c->res_text)) {
		memcpy(c->res_text, s, n);
		c->res_len = n;
		c->res_rl = *res;
	}
	return 0;
}

/* ctl_cidr_line - one cidr_table(5) rule line into tb */
static int ctl_cidr_line(struct ctl_ctx *c, struct ctl_tbuild *tb,
			 const char *l, size_t n, const char *origin,
			 unsigned line)
{
	char pat[160], why[256];
	struct ctl_rule r = { .line = line };
	size_t i = 0, b, k;
	bool neg = false, is_if = false, read;
	unsigned pl;

	while (i < n && ctl_blank(l[i]))
		i++;
	b = i;
	k = ctl_prefix_v4(l + b, n - b, &r.net, &pl);
	if (k == 0)
		k = ctl_prefix_v6(l + b, n - b, &r.net, &pl);
	read = k > 0 && (b + k == n || ctl_blank(l[b + k]));
	if (read)
		i = b + k;	/* the usual line: a plain pattern, read */
	else
		while (i < n && !ctl_blank(l[i]))
			i++;
	if (i - b == 5 && strncasecmp(l + b, "endif", 5) == 0) {
		while (i < n && ctl_blank(l[i]))
			i++;
		if (i != n)
			return ctl_line_fail(c, origin, line, "garbage after ENDIF");
		r.kind = CTL_R_ENDIF;
		return ctl_tb_add(tb, &r);
	}
	if (i - b == 2 && strncasecmp(l + b, "if", 2) == 0) {
		is_if = true;
		while (i < n && ctl_blank(l[i]))
			i++;
		b = i;
		while (i < n && !ctl_blank(l[i]))
			i++;
		if (i == b)
			return ctl_line_fail(c, origin, line,
					     "no address pattern after IF");
	}
	if (l[b] == '!') {
		neg = true;
		b++;
	}
	if (i - b >= sizeof(pat) || i == b)
		return ctl_line_fail(c, origin, line, "bad address pattern: "
				     "\"%.*s\"", (int)(i - b > 60 ? 60 : i - b),
				     l + b);
	if (!read) {
		memcpy(pat, l + b, i - b);
		pat[i - b] = 0;
		if (ctl_prefix(pat, &r.net, &pl, why, sizeof(why)) < 0)
			return ctl_line_fail(c, origin, line, "%s", why);
	}
	r.plen = (uint8_t)pl;
	while (i < n && ctl_blank(l[i]))
		i++;
	if (is_if) {
		if (i != n)
			return ctl_line_fail(c, origin, line,
					     "garbage after IF pattern");
		r.kind = neg ? CTL_R_IFNOT : CTL_R_IF;
		return ctl_tb_add(tb, &r);
	}
	{
		size_t e = n;
		int ret;

		while (e > i && ctl_blank(l[e - 1]))
			e--;
		if (e == i)
			return ctl_line_fail(c, origin, line, "no lookup result");
		if (c->anyres)
			ret = 0;
		else
			ret = ctl_result(c, l + i, e - i, origin, line, &r.res);
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
	if (cf.size > CTL_FILE_BUF / 16)	/* a big table: its rules at once */
		ctl_tb_reserve(tb, cf.size / CTL_LINE_GUESS + 1);
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
			for (p = l; ctl_blank(*p); p++)
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
	uint64_t a[2];

	ctl_words(addr, a);
	for (uint32_t k = 0; k < g->nlen; k++) {
		uint32_t lo = g->len[k].start, hi = lo + g->len[k].count;
		uint64_t m[2] = { a[0], a[1] };

		ctl_mask_words(m, g->len[k].plen);
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			uint64_t e[2];

			ctl_words(&g->e[mid].net, e);
			if (e[0] == m[0] && e[1] == m[1]) {
				if (g->e[mid].order < best) {
					best = g->e[mid].order;
					res = g->e[mid].res;
				}
				break;
			}
			if (e[0] < m[0] || (e[0] == m[0] && e[1] < m[1]))
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

/* What ctl_eval knows of a client: its address (the tables are asked), or,
 * for a region of the address space, what the tables answer there. */
struct ctl_facts {
	const struct scr_addr *addr;	/* NULL: tres and mynet */
	const uint32_t *tres;		/* by top-level item: its table's result */
	bool mynet;			/* inside mynetworks */
};

/* ctl_eval - evaluate items[start..start+n); tables only at depth 0 */
static enum ctl_acl_result ctl_eval(const struct ctl_acl *acl, uint32_t start,
				    uint32_t n, const struct ctl_facts *f,
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
			if (f->addr ? ctl_in_mynetworks(acl, f->addr) : f->mynet)
				return CTL_ACL_PERMIT;
			break;
		case CTL_OP_TABLE:
			if (depth > 0)	/* compile refused this */
				ctl_msg_panic("ctl_eval: item %u: table lookup "
					      "at depth %d", i, depth);
			res = f->addr ? ctl_table_lookup(acl, it->table, f->addr, 0)
				      : f->tres[i];
			if (res == CTL_NO_RES)
				break;
			r = ctl_eval(acl, acl->rl[res].start, acl->rl[res].len,
				     f, depth + 1);
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
	struct ctl_facts f = { .addr = addr };

	return ctl_eval(acl, 0, acl->ntop, &f, 0);
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

/*
 * Regions: the answer of the whole program over the address space, for
 * the XDP compiler. Each table becomes a first-match map (struct ctl_map)
 * bottom up: a group by one sweep over its entries in address order with
 * a stack of the enclosing ones; a rule, an if block or a nested table by
 * a map of a few regions; a rule list by first-match composition of the
 * maps of its rules, in a balanced order (a binary counter of pending
 * maps), so that n rules cost O(regions x log n). The top-level list is
 * then evaluated once per region of the merged maps of its tables and
 * mynetworks, by ctl_eval itself.
 */

typedef unsigned __int128 ctl_u128;

#define CTL_U128_MAX	(~(ctl_u128)0)
#define CTL_MAP_LEVELS	33	/* pending maps of a rule list: 2^32 rules */
#define CTL_MEMO_SIZE	64	/* top-level answers remembered */

/* A first-match map: res[i] (a table result, or CTL_NO_RES) on
 * [s[i], s[i + 1]), the last one to the end of the space; s[0] is 0 and
 * neighbours differ. */
struct ctl_map {
	ctl_u128 *s;
	uint32_t *res;
	size_t n, cap;
};

/* Distinct prefixes met in address order (an encloser before what it
 * encloses); the stack holds the enclosing ones, each with the first rule
 * (smallest rank) among itself and its enclosers. */
struct ctl_sweep {
	/* its regions, in address order: from start on, res */
	int (*put)(void *arg, ctl_u128 start, uint32_t res);
	void *arg;
	ctl_u128 cur;		/* first address without a region yet */
	bool done;		/* cur went past the end of the space */
	unsigned depth;
	ctl_u128 hi[129];
	uint32_t rank[129], res[129];
};

/* A top-level answer for what the biggest map says (the others fixed). */
struct ctl_memo {
	uint32_t gen;		/* of the stretch it was computed in; 0 none */
	uint32_t key;		/* the biggest map's result */
	uint8_t res;		/* enum ctl_acl_result */
};

/* The top-level list over the address space: the maps of its tables and
 * of mynetworks merged, the biggest one's regions coming in order (from
 * an array, or straight from a group's sweep), the others' from arrays. */
struct ctl_top {
	const struct ctl_acl *acl;
	struct ctl_map *maps;	/* by top-level item; ntop: mynetworks */
	size_t *at;		/* each map's region at the current address */
	uint32_t *cur;		/* each map's result there */
	uint32_t nm, big;	/* maps, the biggest one */
	uint32_t v;		/* the biggest map's result there */
	struct ctl_facts f;
	struct ctl_memo memo[CTL_MEMO_SIZE];
	uint32_t gen;		/* stretch: the other maps have not stepped */
	struct ctl_acl_regions *rg;
};

/* Merging two maps. */
enum ctl_map_op {
	CTL_MAP_FIRST = 0,	/* a where it answers, else b */
	CTL_MAP_KEEP,		/* a where b answers, else no answer */
	CTL_MAP_OP_MAX
};

/* ctl_u128_of - an address as a number */
static ctl_u128 ctl_u128_of(const struct scr_addr *a)
{
	uint64_t hi, lo;

	memcpy(&hi, a->b, 8);
	memcpy(&lo, a->b + 8, 8);
	return (ctl_u128)be64toh(hi) << 64 | be64toh(lo);
}

/* ctl_u128_host - host mask of a prefix length */
static ctl_u128 ctl_u128_host(unsigned plen)
{
	return plen >= 128 ? 0 : CTL_U128_MAX >> plen;
}

/* ctl_map_fini - free a map */
static void ctl_map_fini(struct ctl_map *m)
{
	free(m->s);
	free(m->res);
	memset(m, 0, sizeof(*m));
}

/* ctl_map_reserve - room for cap regions */
static int ctl_map_reserve(struct ctl_map *m, size_t cap)
{
	ctl_u128 *s;
	uint32_t *res;

	if (cap <= m->cap)
		return 0;
	s = ctl_mem_realloc(m->s, m->cap * sizeof(*s), cap * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	m->s = s;
	res = ctl_mem_realloc(m->res, m->cap * sizeof(*res), cap * sizeof(*res));
	if (res == NULL)
		return -ENOMEM;
	m->res = res;
	m->cap = cap;
	return 0;
}

/* ctl_map_put - the region from start on answers res (joins an equal one) */
static int ctl_map_put(struct ctl_map *m, ctl_u128 start, uint32_t res)
{
	if (m->n > 0 && m->res[m->n - 1] == res)
		return 0;
	if (m->n == m->cap &&
	    ctl_map_reserve(m, m->cap ? m->cap * 2 : 16) < 0)
		return -ENOMEM;
	m->s[m->n] = start;
	m->res[m->n] = res;
	m->n++;
	return 0;
}

/* ctl_map_range - res inside [lo, hi], other outside */
static int ctl_map_range(struct ctl_map *m, ctl_u128 lo, ctl_u128 hi,
			 uint32_t res, uint32_t other)
{
	int ret = 0;

	if (lo > 0)
		ret = ctl_map_put(m, 0, other);
	if (ret == 0)
		ret = ctl_map_put(m, lo, res);
	if (ret == 0 && hi != CTL_U128_MAX)
		ret = ctl_map_put(m, hi + 1, other);
	return ret;
}

/* ctl_map_merge - out = a op b, region by region (out is empty) */
static int ctl_map_merge(const struct ctl_map *a, const struct ctl_map *b,
			 enum ctl_map_op op, struct ctl_map *out)
{
	const ctl_u128 *as = a->s, *bs = b->s;
	const uint32_t *ar = a->res, *br = b->res;
	size_t i = 0, j = 0, n = 0;
	ctl_u128 *os;
	uint32_t *orr, last = 0;

	if (op != CTL_MAP_FIRST && op != CTL_MAP_KEEP)
		ctl_msg_panic("ctl_map_merge: op %d out of range", (int)op);
	if (ctl_map_reserve(out, a->n + b->n) < 0)
		return -ENOMEM;
	os = out->s;
	orr = out->res;
	for (;;) {
		uint32_t r;

		if (op == CTL_MAP_FIRST)
			r = ar[i] != CTL_NO_RES ? ar[i] : br[j];
		else
			r = br[j] != CTL_NO_RES ? ar[i] : CTL_NO_RES;
		if (n == 0 || r != last) {
			os[n] = as[i] > bs[j] ? as[i] : bs[j];
			orr[n++] = last = r;
		}
		if (i + 1 < a->n && j + 1 < b->n) {
			ctl_u128 x = as[i + 1], y = bs[j + 1];

			i += x <= y;
			j += y <= x;
		} else if (i + 1 < a->n) {
			i++;
		} else if (j + 1 < b->n) {
			j++;
		} else {
			break;
		}
	}
	out->n = n;
	return 0;
}

/* ctl_sweep_pop - close the innermost prefix: its answer up to its end */
static int ctl_sweep_pop(struct ctl_sweep *w)
{
	unsigned d = --w->depth;

	if (w->done || w->cur > w->hi[d])
		return 0;	/* what it encloses reached its end */
	if (w->put(w->arg, w->cur, w->res[d]) < 0)
		return -ENOMEM;
	if (w->hi[d] == CTL_U128_MAX)
		w->done = true;
	else
		w->cur = w->hi[d] + 1;
	return 0;
}

/* ctl_sweep_add - the next prefix in address order, with its rank and
 * result (a prefix comes once: a group keeps the first of equal ones) */
static int ctl_sweep_add(struct ctl_sweep *w, ctl_u128 lo, unsigned plen,
			 uint32_t rank, uint32_t res)
{
	ctl_u128 hi = lo | ctl_u128_host(plen);
	unsigned d;

	while (w->depth > 0 && w->hi[w->depth - 1] < lo)
		if (ctl_sweep_pop(w) < 0)
			return -ENOMEM;
	d = w->depth;
	if (d == sizeof(w->hi) / sizeof(w->hi[0]))
		ctl_msg_panic("ctl_sweep_add: more than 129 nested prefixes");
	if (w->cur < lo &&
	    w->put(w->arg, w->cur, d > 0 ? w->res[d - 1] : CTL_NO_RES) < 0)
		return -ENOMEM;
	w->cur = lo;
	if (d > 0 && w->rank[d - 1] < rank) {
		rank = w->rank[d - 1];
		res = w->res[d - 1];
	}
	w->hi[d] = hi;
	w->rank[d] = rank;
	w->res[d] = res;
	w->depth++;
	return 0;
}

/* ctl_sweep_end - close every prefix; no answer after the last */
static int ctl_sweep_end(struct ctl_sweep *w)
{
	while (w->depth > 0)
		if (ctl_sweep_pop(w) < 0)
			return -ENOMEM;
	if (!w->done && w->put(w->arg, w->cur, CTL_NO_RES) < 0)
		return -ENOMEM;
	return 0;
}

/* One length of a group while its runs are merged into address order. */
struct ctl_run {
	ctl_u128 lo;		/* network of the next entry */
	uint32_t at, end;	/* next entry, end of the run */
	uint32_t plen;
};

/* ctl_run_less - address order, the shorter prefix first */
static bool ctl_run_less(const struct ctl_run *a, const struct ctl_run *b)
{
	return a->lo < b->lo || (a->lo == b->lo && a->plen < b->plen);
}

/* ctl_run_sift - restore the heap below slot i */
static void ctl_run_sift(struct ctl_run *h, unsigned n, unsigned i)
{
	struct ctl_run x = h[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ctl_run_less(&h[c + 1], &h[c]))
			c++;
		if (!ctl_run_less(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

/* ctl_group_sweep - a group's regions (at most 2 n + 1) to put: its runs
 * (one sorted run per length) merged into address order through a heap,
 * swept once */
static int ctl_group_sweep(const struct ctl_group *g,
			   int (*put)(void *, ctl_u128, uint32_t), void *arg)
{
	struct ctl_run h[129];
	struct ctl_sweep *w;
	unsigned n = 0;
	int ret = -ENOMEM;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out;
	w->put = put;
	w->arg = arg;
	for (uint32_t k = 0; k < g->nlen; k++) {
		h[n].at = g->len[k].start;
		h[n].end = g->len[k].start + g->len[k].count;
		h[n].plen = g->len[k].plen;
		h[n].lo = ctl_u128_of(&g->e[h[n].at].net);
		n++;
	}
	for (unsigned i = n / 2; i-- > 0;)
		ctl_run_sift(h, n, i);
	while (n > 0) {
		const struct ctl_gent *e = &g->e[h[0].at];

		if (ctl_sweep_add(w, h[0].lo, h[0].plen, e->order, e->res) < 0)
			goto out;
		if (++h[0].at == h[0].end)
			h[0] = h[--n];
		else
			h[0].lo = ctl_u128_of(&g->e[h[0].at].net);
		ctl_run_sift(h, n, 0);
	}
	ret = ctl_sweep_end(w);
out:
	free(w);
	return ret;
}

/* ctl_map_put_fn - ctl_map_put as a sweep's output */
static int ctl_map_put_fn(void *arg, ctl_u128 start, uint32_t res)
{
	return ctl_map_put(arg, start, res);
}

/* ctl_map_group - a group's map */
static int ctl_map_group(const struct ctl_group *g, struct ctl_map *out)
{
	if (ctl_map_reserve(out, 2 * (size_t)g->n + 1) < 0)
		return -ENOMEM;
	return ctl_group_sweep(g, ctl_map_put_fn, out);
}

static int ctl_map_table(const struct ctl_acl *acl, uint32_t tidx, int depth,
			 struct ctl_map *out);
static int ctl_map_rule(const struct ctl_acl *acl, const struct ctl_table *t,
			uint32_t i, int depth, struct ctl_map *out,
			uint32_t *next);

/* ctl_map_rules - first-match map of rules [from, to) of a table */
static int ctl_map_rules(const struct ctl_acl *acl, const struct ctl_table *t,
			 uint32_t from, uint32_t to, int depth,
			 struct ctl_map *out)
{
	struct ctl_map pend[CTL_MAP_LEVELS + 1] = { 0 }, m;
	uint8_t level[CTL_MAP_LEVELS + 1];
	unsigned np = 0;
	int ret = 0;

	for (uint32_t i = from; i < to && ret == 0;) {
		ret = ctl_map_rule(acl, t, i, depth, &pend[np], &i);
		if (ret < 0) {
			ctl_map_fini(&pend[np]);
			break;
		}
		level[np++] = 0;
		/* two pending maps of the same level become one */
		while (ret == 0 && np >= 2 && level[np - 2] == level[np - 1]) {
			memset(&m, 0, sizeof(m));
			ret = ctl_map_merge(&pend[np - 2], &pend[np - 1],
					    CTL_MAP_FIRST, &m);
			ctl_map_fini(&pend[np - 1]);
			ctl_map_fini(&pend[np - 2]);
			pend[np - 2] = m;
			level[np - 2]++;
			np--;
		}
	}
	while (ret == 0 && np >= 2) {
		memset(&m, 0, sizeof(m));
		ret = ctl_map_merge(&pend[np - 2], &pend[np - 1], CTL_MAP_FIRST,
				    &m);
		ctl_map_fini(&pend[np - 1]);
		ctl_map_fini(&pend[np - 2]);
		pend[np - 2] = m;
		np--;
	}
	if (ret == 0 && np == 0)
		ret = ctl_map_put(&pend[np++], 0, CTL_NO_RES);
	if (ret < 0) {
		while (np > 0)
			ctl_map_fini(&pend[--np]);
		return ret;
	}
	*out = pend[0];
	return 0;
}

/* ctl_map_rule - the map of one rule, or of the if block it opens; *next
 * is the rule after it (after the block) */
static int ctl_map_rule(const struct ctl_acl *acl, const struct ctl_table *t,
			uint32_t i, int depth, struct ctl_map *out,
			uint32_t *next)
{
	const struct ctl_rule *r = &t->r[i];
	ctl_u128 lo = ctl_u128_of(&r->net), hi = lo | ctl_u128_host(r->plen);
	struct ctl_map body = { 0 }, mask = { 0 };
	int ret;

	*next = i + 1;
	switch (r->kind) {
	case CTL_R_MATCH:
		return ctl_map_range(out, lo, hi, r->res, CTL_NO_RES);
	case CTL_R_NOTMATCH:
		return ctl_map_range(out, lo, hi, CTL_NO_RES, r->res);
	case CTL_R_IF:
	case CTL_R_IFNOT:
		*next = r->arg;
		ret = ctl_map_rules(acl, t, i + 1, r->arg, depth, &body);
		if (ret == 0)
			ret = r->kind == CTL_R_IF ?
			      ctl_map_range(&mask, lo, hi, 0, CTL_NO_RES) :
			      ctl_map_range(&mask, lo, hi, CTL_NO_RES, 0);
		if (ret == 0)
			ret = ctl_map_merge(&body, &mask, CTL_MAP_KEEP, out);
		ctl_map_fini(&mask);
		ctl_map_fini(&body);
		return ret;
	case CTL_R_GROUP:
		return ctl_map_group(&acl->groups[r->arg], out);
	case CTL_R_TABLE:
		if (depth >= 2)		/* ctl_table_lookup does not look */
			return ctl_map_put(out, 0, CTL_NO_RES);
		ret = ctl_map_table(acl, r->arg, depth + 1, &body);
		if (ret == 0)
			ret = ctl_map_reserve(out, body.n);
		for (size_t k = 0; ret == 0 && k < body.n; k++)
			(void)ctl_map_put(out, body.s[k], body.res[k] == CTL_NO_RES ?
					  CTL_NO_RES : r->res);	/* reserved */
		ctl_map_fini(&body);
		return ret;
	default:
		ctl_msg_panic("ctl_map_rule: table rule %u: kind %u out of range",
			      i, (unsigned)r->kind);
	}
}

/* ctl_map_table - first-match map of a table (ctl_table_lookup's answer) */
static int ctl_map_table(const struct ctl_acl *acl, uint32_t tidx, int depth,
			 struct ctl_map *out)
{
	const struct ctl_table *t = &acl->tables[tidx];

	return ctl_map_rules(acl, t, 0, t->n, depth, out);
}

/* ctl_acl_regions_fini - free the regions */
void ctl_acl_regions_fini(struct ctl_acl_regions *rg)
{
	free(rg->start);
	free(rg->res);
	memset(rg, 0, sizeof(*rg));
}

/* ctl_acl_regions_find - index of the region holding x (binary search) */
size_t ctl_acl_regions_find(const struct ctl_acl_regions *rg, unsigned __int128 x)
{
	size_t lo = 0, hi = rg->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (rg->start[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ctl_top_emit - the answer from x on, the biggest map saying v */
static void ctl_top_emit(struct ctl_top *t, ctl_u128 x, uint32_t v)
{
	struct ctl_memo *mo = &t->memo[v % CTL_MEMO_SIZE];
	struct ctl_acl_regions *rg = t->rg;

	if (mo->gen != t->gen || mo->key != v) {
		t->cur[t->big] = v;
		t->f.mynet = t->cur[t->acl->ntop] == CTL_RES_MATCH;
		mo->gen = t->gen;
		mo->key = v;
		mo->res = (uint8_t)ctl_eval(t->acl, 0, t->acl->ntop, &t->f, 0);
	}
	if (rg->n == 0 || rg->res[rg->n - 1] != mo->res) {
		rg->start[rg->n] = x;
		rg->res[rg->n] = mo->res;
		rg->n++;
	}
}

/* ctl_top_steps - the other maps' steps before until (all when last):
 * each splits the biggest map's region; then their step at until */
static void ctl_top_steps(struct ctl_top *t, ctl_u128 until, bool last)
{
	for (;;) {
		ctl_u128 next = CTL_U128_MAX;
		bool more = false;

		for (uint32_t i = 0; i < t->nm; i++)
			if (i != t->big && t->at[i] + 1 < t->maps[i].n &&
			    t->maps[i].s[t->at[i] + 1] <= next) {
				next = t->maps[i].s[t->at[i] + 1];
				more = true;
			}
		if (!more || (!last && next > until))
			return;
		for (uint32_t i = 0; i < t->nm; i++)
			if (i != t->big && t->at[i] + 1 < t->maps[i].n &&
			    t->maps[i].s[t->at[i] + 1] == next)
				t->cur[i] = t->maps[i].res[++t->at[i]];
		t->gen++;	/* the remembered answers are stale */
		if (!last && next == until)
			return;
		ctl_top_emit(t, next, t->v);
	}
}

/* ctl_top_put - the biggest map's next region, from start on, says v */
static int ctl_top_put(void *arg, ctl_u128 start, uint32_t v)
{
	struct ctl_top *t = arg;

	if (start > 0)
		ctl_top_steps(t, start, false);
	t->v = v;
	ctl_top_emit(t, start, v);
	return 0;
}

/* ctl_acl_regions_init - the program's answer over the address space */
int ctl_acl_regions_init(struct ctl_acl_regions *rg, const struct ctl_acl *acl)
{
	struct ctl_top t = { .acl = acl, .rg = rg, .nm = acl->ntop + 1 };
	const struct ctl_group *stream = NULL;
	size_t cap = 2, most = 0;
	bool mynet = false;
	int ret = -ENOMEM;

	memset(rg, 0, sizeof(*rg));
	t.maps = calloc(t.nm, sizeof(*t.maps));
	t.at = calloc(t.nm, sizeof(*t.at));
	t.cur = calloc(t.nm, sizeof(*t.cur));
	if (t.maps == NULL || t.at == NULL || t.cur == NULL)
		goto out;
	t.f.tres = t.cur;
	for (uint32_t i = 0; i < acl->nitems; i++)
		mynet |= acl->items[i].op == CTL_OP_MYNETWORKS;
	/* the biggest table made of one group is streamed, not kept */
	for (uint32_t i = 0; i < acl->ntop; i++) {
		const struct ctl_table *tab = &acl->tables[acl->items[i].table];
		const struct ctl_group *g;

		if (acl->items[i].op != CTL_OP_TABLE || tab->n != 1 ||
		    tab->r[0].kind != CTL_R_GROUP)
			continue;
		g = &acl->groups[tab->r[0].arg];
		if (stream == NULL || g->n > stream->n) {
			stream = g;
			t.big = i;
		}
	}
	/* the other maps; maps of no interest answer nothing everywhere */
	for (uint32_t i = 0; i < t.nm; i++) {
		if (stream != NULL && i == t.big)
			continue;
		if (i < acl->ntop && acl->items[i].op == CTL_OP_TABLE)
			ret = ctl_map_table(acl, acl->items[i].table, 0, &t.maps[i]);
		else if (i == acl->ntop && mynet)
			ret = ctl_map_table(acl, acl->mynet, 0, &t.maps[i]);
		else
			ret = ctl_map_put(&t.maps[i], 0, CTL_NO_RES);
		if (ret < 0)
			goto out;
		cap += t.maps[i].n;
		t.cur[i] = t.maps[i].res[0];
		if (stream == NULL && t.maps[i].n > most) {
			most = t.maps[i].n;
			t.big = i;
		}
	}
	cap += stream != NULL ? 2 * (size_t)stream->n + 1 : 0;
	ret = -ENOMEM;
	rg->start = ctl_mem_alloc(cap * sizeof(*rg->start));
	rg->res = ctl_mem_alloc(cap);
	if (rg->start == NULL || rg->res == NULL)
		goto out;
	/* the biggest map's regions one by one, the others' steps between
	 * them; the answer of each is remembered by what the biggest map
	 * says until another map steps */
	t.gen = 1;
	if (stream != NULL) {
		ret = ctl_group_sweep(stream, ctl_top_put, &t);
		if (ret < 0)
			goto out;
	} else {
		for (size_t k = 0; k < t.maps[t.big].n; k++)
			ctl_top_put(&t, t.maps[t.big].s[k], t.maps[t.big].res[k]);
	}
	ctl_top_steps(&t, CTL_U128_MAX, true);
	ret = 0;
out:
	for (uint32_t i = 0; t.maps != NULL && i < t.nm; i++)
		ctl_map_fini(&t.maps[i]);
	free(t.maps);
	free(t.at);
	free(t.cur);
	if (ret < 0)
		ctl_acl_regions_fini(rg);
	return ret;
}
