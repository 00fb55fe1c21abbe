/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_dnsbl - DNSBL/DNSWL scoring with c-ares (postscreen_dnsbl_*)
 * DESCRIPTION
 *	See ctl_dnsbl.h. Layout: the parsed patterns (config order) and the
 *	distinct domains; one hash of lookups keyed by client address, each
 *	either in flight (on the in-flight list, oldest first, so the first
 *	one is the next deadline) or a cached result (on the cache list,
 *	oldest first: evicted first when the cache is full). Every c-ares
 *	query has its own small context pointing at its lookup; a lookup
 *	ended by its deadline orphans its contexts, and c-ares' later
 *	callback (answer, its own timeout, or channel destruction) frees them.
 *
 *	Scoring and TTLs follow Postfix 3.1+ postscreen_dnsbl.c / dnsblog.c:
 *	an answer with A records adds, for every pattern of that domain whose
 *	filter matches one of the addresses, the pattern's weight; its TTL
 *	(smallest A TTL) lowers the "fail" TTL for positive weights and the
 *	"pass" TTL for the others, matched or not. An answer without A
 *	records (NXDOMAIN, NODATA) lowers the opposite sides with the SOA TTL
 *	of the authority section; a failed query does the same with "no TTL"
 *	(-1). The result TTL is the fail TTL when the score is > 0, else the
 *	pass TTL, clamped to [min_ttl, max_ttl] (-1 becomes min_ttl). A
 *	timed-out domain adds nothing (postscreen does not wait for it).
 *	The shown site is the matching domain with the largest weight
 *	(ties: first in postscreen_dnsbl_sites), after postscreen_dnsbl_reply_map
 *	(inline:{k=v,...} and texthash:file are supported).
 *	Partial results are handed to the callers but not cached.
 *	Answers in 127.255.255.0/24 are the error codes lists publish
 *	(Spamhaus: .252 typo in the zone name, .254 query through a public
 *	resolver, .255 over the query limit), never listings: an answer of
 *	only those is a failed query (counted as refused, logged once per
 *	site); with other addresses beside them, those others count.
 * CONTRACT
 *	See ctl_dnsbl.h.
 * THREADING
 *	One owner thread; c-ares callbacks run inside ares_process_fd() or
 *	ares_query() called from this module, on that thread.
 */
#include "ctl_dnsbl.h"
#include "ctl_ares.h"

#include <arpa/inet.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scr_engine.h"

#define DNSBL_BUCKETS		16384u
#define DNSBL_MAX_ADDRS		CTL_DNSBL_MAX_ADDRS
#define DNSBL_DEF_INFLIGHT	4096u
#define DNSBL_DEF_CACHED	65536u
#define NS_PER_S		1000000000ull
#define NS_PER_MS		1000000ull

struct dnsbl_domain {
	char name[254];
	char shown[256];	/* after postscreen_dnsbl_reply_map */
	struct ctl_dnsbl_site_stats st;
	bool refused_said;	/* its error code logged already */
};

struct dnsbl_waiter {
	void (*done)(void *arg, const struct scr_addr *a,
		     const struct ctl_dnsbl_result *r);
	void *arg;
};

struct dnsbl_lookup;

/* One c-ares query; freed by its callback. lk NULL: orphaned. */
struct dnsbl_query {
	struct ctl_dnsbl *d;
	struct dnsbl_lookup *lk;
	unsigned dom;
};

struct dnsbl_lookup {
	struct dnsbl_lookup *hnext;		/* hash chain */
	struct dnsbl_lookup *prev, *next;	/* in-flight or cache list */
	struct scr_addr addr;
	bool in_flight, starting;
	uint64_t start_ns, deadline_ns, expires_ns, last_ns;
	unsigned pending;
	int fail_ttl, pass_ttl;		/* -1: none yet */
	int best_weight, best_dom, best_pat;	/* shown site; dom -1 none */
	struct ctl_dnsbl_result res;	/* score, counts; full once ended */
	struct dnsbl_waiter *w;
	unsigned nw, capw;
	struct dnsbl_waiter w0[2];	/* the usual case: no allocation */
	struct dnsbl_query *q[];	/* per domain; NULL once answered */
};

struct dnsbl_list {
	struct dnsbl_lookup *head, *tail;
	uint32_t n;
};

struct ctl_dnsbl {
	struct ctl_dnsbl_pattern *pat;
	unsigned *pat_dom;		/* domain index of each pattern */
	unsigned npat;
	struct dnsbl_domain *dom;
	unsigned ndom;
	int threshold, allow_threshold;
	uint64_t timeout_ns;
	uint32_t min_ttl, max_ttl;
	uint32_t max_inflight, max_cached;
	ares_channel ch;
	bool have_ch;
	struct dnsbl_lookup **bucket;
	struct dnsbl_list inflight, cache;
	uint64_t now_ns;		/* last now seen */
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
	struct ctl_dnsbl_stats st;
};

static int lib_refs;

/* dlog - one line to the logger, if any */
static void dlog(struct ctl_dnsbl *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (d->log_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->log_fn(d->log_arg, line);
}

/* addr_str - printable client address (v4-mapped shown as IPv4) */
static const char *addr_str(const struct scr_addr *a, char *buf, size_t len)
{
	static const uint8_t v4pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff };

	if (memcmp(a->b, v4pre, 12) == 0)
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
	return buf;
}

/* ---- parsing ---------------------------------------------------------- */

/* parse_octet - decimal 0..255 at *pp, advancing; -1 if none/too big */
static int parse_octet(const char **pp, const char *end)
{
	const char *p = *pp;
	int v = 0, nd = 0;

	while (p < end && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (++nd > 3 || v > 255)
			return -1;
		p++;
	}
	if (nd == 0)
		return -1;
	*pp = p;
	return v;
}

/* set_range - allow lo..hi in one filter field */
static void set_range(uint8_t bits[32], int lo, int hi)
{
	for (int v = lo; v <= hi; v++)
		bits[v >> 3] |= (uint8_t)(1u << (v & 7));
}

/* parse_filter - ip_match's IPv4 pattern: four fields, each an octet or
 * "[" member(";" member)* "]" with member = octet | octet ".." octet */
static int parse_filter(const char *s, const char *end, uint8_t oct[4][32],
			char *why, size_t wlen)
{
	const char *p = s;
	int lo, hi;

	if (p == end) {
		snprintf(why, wlen, "empty reply filter");
		return -EINVAL;
	}
	memset(oct, 0, 4 * 32);
	for (int f = 0; f < 4; f++) {
		if (f > 0) {
			if (p >= end || *p != '.') {
				snprintf(why, wlen, "reply filter \"%.*s\": "
					 "expected four dot-separated fields",
					 (int)(end - s), s);
				return -EINVAL;
			}
			p++;
		}
		if (p < end && *p == '[') {
			p++;
			for (;;) {
				if ((lo = parse_octet(&p, end)) < 0)
					goto bad_seq;
				hi = lo;
				if (end - p >= 2 && p[0] == '.' && p[1] == '.') {
					p += 2;
					if ((hi = parse_octet(&p, end)) < 0 ||
					    hi < lo) {
						snprintf(why, wlen,
							 "reply filter \"%.*s\": "
							 "numeric range error in "
							 "field %d", (int)(end - s),
							 s, f + 1);
						return -EINVAL;
					}
				}
				set_range(oct[f], lo, hi);
				if (p < end && *p == ';') {
					p++;
					continue;
				}
				if (p < end && *p == ']') {
					p++;
					break;
				}
				if (p >= end) {
					snprintf(why, wlen, "reply filter \"%.*s\": "
						 "missing \"]\" character",
						 (int)(end - s), s);
					return -EINVAL;
				}
				goto bad_seq;
			}
		} else {
			if ((lo = parse_octet(&p, end)) < 0) {
				snprintf(why, wlen, "reply filter \"%.*s\": "
					 "field %d is not a number 0..255 or "
					 "a [sequence]", (int)(end - s), s,
					 f + 1);
				return -EINVAL;
			}
			set_range(oct[f], lo, lo);
		}
	}
	if (p != end) {
		snprintf(why, wlen, "reply filter \"%.*s\": garbage after "
			 "pattern", (int)(end - s), s);
		return -EINVAL;
	}
	return 0;
bad_seq:
	snprintf(why, wlen, "reply filter \"%.*s\": expected \";\"-separated "
		 "numbers 0..255 or number..number ranges inside []",
		 (int)(end - s), s);
	return -EINVAL;
}

/* valid_domain - a DNS name as Postfix's valid_hostname accepts it */
static bool valid_domain(const char *s, size_t n, char *why, size_t wlen)
{
	size_t lab = 0;
	bool alpha = false;

	if (n == 0 || n > 253) {
		snprintf(why, wlen, n ? "domain name longer than 253 "
			 "characters" : "empty domain name");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-') {
				snprintf(why, wlen, "bad domain name \"%.*s\"",
					 (int)n, s);
				return false;
			}
			lab = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_') {
			snprintf(why, wlen, "bad character in domain name "
				 "\"%.*s\"", (int)n, s);
			return false;
		}
		if ((c == '-' && lab == 0) || ++lab > 63) {
			snprintf(why, wlen, "bad domain name \"%.*s\"",
				 (int)n, s);
			return false;
		}
		if (!isdigit(c) && c != '.')
			alpha = true;
	}
	if (lab == 0 || s[n - 1] == '-' || !alpha) {
		snprintf(why, wlen, "bad domain name \"%.*s\"", (int)n, s);
		return false;
	}
	return true;
}

/* ctl_dnsbl_parse_entry - one "domain[=filter][*weight]" entry */
int ctl_dnsbl_parse_entry(const char *entry, size_t len,
			  struct ctl_dnsbl_pattern *out, char *why,
			  size_t wlen)
{
	const char *end = entry + len, *star, *eq, *dend;
	long w;
	char num[24], *ep;

	memset(out, 0, sizeof(*out));
	out->weight = 1;
	/* As Postfix: the weight follows the first '*', the filter the
	 * first '=' before it. */
	star = memchr(entry, '*', len);
	if (star != NULL) {
		size_t n = (size_t)(end - star - 1);

		if (n == 0 || n >= sizeof(num)) {
			snprintf(why, wlen, "bad weight \"%.*s\" (an integer)",
				 (int)n, star + 1);
			return -EINVAL;
		}
		memcpy(num, star + 1, n);
		num[n] = 0;
		errno = 0;
		w = strtol(num, &ep, 10);
		if (*ep != 0 || errno != 0 || ep == num || isspace(
		    (unsigned char)num[0]) || w < -1000000 || w > 1000000) {
			snprintf(why, wlen, "bad weight \"%s\" (an integer "
				 "-1000000..1000000)", num);
			return -EINVAL;
		}
		out->weight = (int)w;
		dend = star;
	} else {
		dend = end;
	}
	eq = memchr(entry, '=', (size_t)(dend - entry));
	if (eq != NULL) {
		if (parse_filter(eq + 1, dend, out->octet, why, wlen) != 0)
			return -EINVAL;
		out->has_filter = true;
		dend = eq;
	}
	if (!valid_domain(entry, (size_t)(dend - entry), why, wlen))
		return -EINVAL;
	memcpy(out->domain, entry, (size_t)(dend - entry));
	out->domain[dend - entry] = 0;
	for (char *c = out->domain; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

/* ctl_dnsbl_filter_match - does answer a pass p's filter */
bool ctl_dnsbl_filter_match(const struct ctl_dnsbl_pattern *p,
			    const uint8_t a[4])
{
	if (!p->has_filter)
		return true;
	for (int f = 0; f < 4; f++)
		if (!(p->octet[f][a[f] >> 3] & (1u << (a[f] & 7))))
			return false;
	return true;
}

/* ctl_dnsbl_query_name - reversed octets / nibbles + domain */
int ctl_dnsbl_query_name(const struct scr_addr *addr, const char *domain,
			 char *buf, size_t len)
{
	static const uint8_t v4pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff };
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int n;

	if (memcmp(addr->b, v4pre, 12) == 0) {
		n = snprintf(buf, len, "%u.%u.%u.%u.%s", addr->b[15],
			     addr->b[14], addr->b[13], addr->b[12], domain);
		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	if (len < 64 + strlen(domain) + 1)
		return -ENOSPC;
	for (int i = 15; i >= 0; i--) {
		buf[o++] = hex[addr->b[i] & 15];
		buf[o++] = '.';
		buf[o++] = hex[addr->b[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, domain, strlen(domain) + 1);
	return 0;
}

/* map_put - record key -> value in the domains' shown names */
static void map_put(struct ctl_dnsbl *d, const char *k, size_t kl,
		    const char *v, size_t vl)
{
	while (kl && isspace((unsigned char)k[kl - 1]))
		kl--;
	while (kl && isspace((unsigned char)*k))
		k++, kl--;
	while (vl && isspace((unsigned char)v[vl - 1]))
		vl--;
	while (vl && isspace((unsigned char)*v))
		v++, vl--;
	for (unsigned i = 0; i < d->ndom; i++)
		if (strlen(d->dom[i].name) == kl &&
		    strncasecmp(d->dom[i].name, k, kl) == 0 &&
		    d->dom[i].shown[0] == 0) {	/* first key wins */
			if (vl >= sizeof(d->dom[i].shown))
				vl = sizeof(d->dom[i].shown) - 1;
			memcpy(d->dom[i].shown, v, vl);
			d->dom[i].shown[vl] = 0;
		}
}

/* load_reply_map - postscreen_dnsbl_reply_map: inline:{} or texthash: */
static int load_reply_map(struct ctl_dnsbl *d, const struct ctl_conf *conf,
			  const char *where, char *err, size_t errlen)
{
	const char *m = ctl_conf_get(conf, "postscreen_dnsbl_reply_map");
	const char *p, *tok, *eq;
	size_t tl;
	bool bad = false;
	int rc = 0;

	if (m == NULL || m[0] == 0)
		goto out;
	if (strncmp(m, "inline:{", 8) == 0 && m[strlen(m) - 1] == '}') {
		const char *end = m + strlen(m) - 1;

		p = m + 8;
		while (ctl_conf_list_token(&p, end, &tok, &tl, &bad)) {
			if (tl >= 2 && tok[0] == '{' && tok[tl - 1] == '}')
				tok++, tl -= 2;
			eq = memchr(tok, '=', tl);
			if (eq == NULL) {
				snprintf(err, errlen, "%s: postscreen_dnsbl_"
					 "reply_map: missing '=' in \"%.*s\"",
					 where, (int)tl, tok);
				rc = -EINVAL;
				goto out;
			}
			map_put(d, tok, (size_t)(eq - tok), eq + 1,
				(size_t)(tok + tl - eq - 1));
		}
		if (bad) {
			snprintf(err, errlen, "%s: postscreen_dnsbl_reply_map: "
				 "unbalanced braces in \"%s\"", where, m);
			rc = -EINVAL;
		}
	} else if (strncmp(m, "texthash:", 9) == 0) {
		char path[4096], line[1024];
		const char *f = m + 9;
		FILE *fp;
		int ln = 0;

		if (f[0] != '/' && ctl_conf_dir(conf) != NULL)
			snprintf(path, sizeof(path), "%s/%s", ctl_conf_dir(conf),
				 f);
		else
			snprintf(path, sizeof(path), "%s", f);
		if ((fp = fopen(path, "r")) == NULL) {
			snprintf(err, errlen, "%s: postscreen_dnsbl_reply_map: "
				 "%s: %s", where, path, strerror(errno));
			rc = -EINVAL;
			goto out;
		}
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *k = line, *v;

			ln++;
			line[strcspn(line, "\r\n")] = 0;
			while (isspace((unsigned char)*k))
				k++;
			if (*k == 0 || *k == '#')
				continue;
			v = k + strcspn(k, " \t");
			if (*v == 0) {
				snprintf(err, errlen, "%s:%d: missing value "
					 "after \"%s\"", path, ln, k);
				rc = -EINVAL;
				break;
			}
			map_put(d, k, (size_t)(v - k), v, strlen(v));
		}
		fclose(fp);
	} else {
		snprintf(err, errlen, "%s: postscreen_dnsbl_reply_map: "
			 "unsupported table \"%s\" (inline:{...} or "
			 "texthash:file)", where, m);
		rc = -EINVAL;
	}
out:
	for (unsigned i = 0; i < d->ndom; i++)
		if (d->dom[i].shown[0] == 0)
			snprintf(d->dom[i].shown, sizeof(d->dom[i].shown), "%s",
				 d->dom[i].name);
	return rc;
}

/* parse_sites - postscreen_dnsbl_sites into patterns and domains */
static int parse_sites(struct ctl_dnsbl *d, const char *sites,
		       const char *where, char *err, size_t errlen)
{
	const char *p = sites, *tok;
	size_t tl;
	bool bad = false;
	char why[256];
	unsigned i;

	while (ctl_conf_list_token(&p, NULL, &tok, &tl, &bad)) {
		struct ctl_dnsbl_pattern pt;

		if (ctl_dnsbl_parse_entry(tok, tl, &pt, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: postscreen_dnsbl_sites: bad "
				 "entry \"%.*s\": %s", where, (int)tl, tok, why);
			return -EINVAL;
		}
		if (d->npat == CTL_DNSBL_MAX_PATTERNS) {
			snprintf(err, errlen, "%s: postscreen_dnsbl_sites: more "
				 "than %d entries", where,
				 CTL_DNSBL_MAX_PATTERNS);
			return -EINVAL;
		}
		for (i = 0; i < d->ndom; i++)
			if (strcmp(d->dom[i].name, pt.domain) == 0)
				break;
		if (i == d->ndom) {
			if (d->ndom == CTL_DNSBL_MAX_DOMAINS) {
				snprintf(err, errlen, "%s: postscreen_dnsbl_"
					 "sites: more than %d distinct domains",
					 where, CTL_DNSBL_MAX_DOMAINS);
				return -EINVAL;
			}
			memcpy(d->dom[i].name, pt.domain, sizeof(pt.domain));
			d->dom[i].st.domain = d->dom[i].name;
			d->ndom++;
		}
		d->pat[d->npat] = pt;
		d->pat_dom[d->npat++] = i;
	}
	if (bad) {
		snprintf(err, errlen, "%s: postscreen_dnsbl_sites: unbalanced "
			 "braces", where);
		return -EINVAL;
	}
	return 0;
}

/* conf_time - a time parameter in seconds */
static int conf_time(const struct ctl_conf *conf, const char *name, char unit,
		     unsigned long long *out, char *err, size_t errlen)
{
	const char *v = ctl_conf_get(conf, name);
	char where[256];

	if (v == NULL || ctl_conf_parse_time(v, unit, out) != 0 || *out == 0) {
		snprintf(err, errlen, "%s: %s: bad time value \"%s\"",
			 ctl_conf_where(conf, name, where, sizeof(where)), name,
			 v ? v : "");
		return -EINVAL;
	}
	return 0;
}

/* conf_int - an integer parameter */
static int conf_int(const struct ctl_conf *conf, const char *name, int *out,
		    char *err, size_t errlen)
{
	const char *v = ctl_conf_get(conf, name);
	char where[256], *ep;
	long x;

	errno = 0;
	x = v ? strtol(v, &ep, 10) : 0;
	if (v == NULL || v[0] == 0 || *ep != 0 || errno != 0 || x < -1000000000L ||
	    x > 1000000000L) {
		snprintf(err, errlen, "%s: %s: bad integer \"%s\"",
			 ctl_conf_where(conf, name, where, sizeof(where)), name,
			 v ? v : "");
		return -EINVAL;
	}
	*out = (int)x;
	return 0;
}

/* ---- lookups ---------------------------------------------------------- */

/* addr_hash - bucket of a client address */
static uint32_t addr_hash(const struct scr_addr *a)
{
	uint64_t x, y;

	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	x ^= y * 0x9e3779b97f4a7c15ull;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint32_t)x & (DNSBL_BUCKETS - 1);
}

/* list_add - append at the tail */
static void list_add(struct dnsbl_list *l, struct dnsbl_lookup *lk)
{
	lk->next = NULL;
	lk->prev = l->tail;
	if (l->tail)
		l->tail->next = lk;
	else
		l->head = lk;
	l->tail = lk;
	l->n++;
}

/* list_del - unlink */
static void list_del(struct dnsbl_list *l, struct dnsbl_lookup *lk)
{
	if (lk->prev)
		lk->prev->next = lk->next;
	else
		l->head = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	else
		l->tail = lk->prev;
	lk->prev = lk->next = NULL;
	l->n--;
}

/* hash_find - the lookup for addr, or NULL */
static struct dnsbl_lookup *hash_find(struct ctl_dnsbl *d,
				      const struct scr_addr *a)
{
	struct dnsbl_lookup *lk;

	for (lk = d->bucket[addr_hash(a)]; lk; lk = lk->hnext)
		if (memcmp(&lk->addr, a, sizeof(*a)) == 0)
			return lk;
	return NULL;
}

/* hash_del - unlink from its bucket */
static void hash_del(struct ctl_dnsbl *d, struct dnsbl_lookup *lk)
{
	struct dnsbl_lookup **pp = &d->bucket[addr_hash(&lk->addr)];

	while (*pp != lk)
		pp = &(*pp)->hnext;
	*pp = lk->hnext;
}

/* lookup_free - a lookup that is on no list any more */
static void lookup_free(struct dnsbl_lookup *lk)
{
	if (lk->w != lk->w0)
		free(lk->w);
	free(lk);
}

/* cache_drop - remove a cached result */
static void cache_drop(struct ctl_dnsbl *d, struct dnsbl_lookup *lk)
{
	hash_del(d, lk);
	list_del(&d->cache, lk);
	lookup_free(lk);
}

/* ttl_lower - postscreen's "smallest TTL, -1 = none" update */
static void ttl_lower(int *cur, int ttl)
{
	if (*cur < 0 || *cur > ttl)
		*cur = ttl;
}

/* lat_bucket - the histogram slot of a latency: the first bound >= it */
static unsigned lat_bucket(uint64_t ns)
{
	static const double bound[CTL_DNSBL_LAT_N] = CTL_DNSBL_LAT_BOUNDS;
	unsigned i;

	for (i = 0; i < CTL_DNSBL_LAT_N; i++)
		if ((double)ns <= bound[i] * 1e9)
			break;
	return i;
}

/* lookup_finish - the lookup ended: result, cache, callbacks */
static void lookup_finish(struct ctl_dnsbl *d, struct dnsbl_lookup *lk)
{
	struct ctl_dnsbl_result r;
	struct dnsbl_waiter *w = lk->w, wl[2];
	struct scr_addr addr;
	unsigned nw = lk->nw;
	int ttl;

	lk->res.complete = lk->res.timeouts == 0 && lk->res.errors == 0;
	ttl = lk->res.score > 0 ? lk->fail_ttl : lk->pass_ttl;
	if (ttl < 0 || (uint32_t)ttl < d->min_ttl)
		ttl = (int)d->min_ttl;
	if ((uint32_t)ttl > d->max_ttl)
		ttl = (int)d->max_ttl;
	lk->res.ttl_s = (uint32_t)ttl;
	lk->res.latency_ns = lk->last_ns > lk->start_ns ?
			     lk->last_ns - lk->start_ns : 0;
	if (lk->best_dom >= 0)
		snprintf(lk->res.site, sizeof(lk->res.site), "%s",
			 d->dom[lk->best_dom].shown);
	r = lk->res;

	d->st.completed++;
	if (!r.complete)
		d->st.partial++;
	d->st.latency_sum_ns += r.latency_ns;
	d->st.latency_le[lat_bucket(r.latency_ns)]++;
	if (r.latency_ns > d->st.latency_max_ns)
		d->st.latency_max_ns = r.latency_ns;

	list_del(&d->inflight, lk);
	lk->in_flight = false;
	/* Take the waiters and the address: the callbacks may start new
	 * lookups or flush the cache, and lk may be freed below. */
	addr = lk->addr;
	if (w == lk->w0) {
		memcpy(wl, lk->w0, nw * sizeof(*wl));
		w = wl;
	}
	lk->w = lk->w0;
	lk->nw = 0;
	lk->capw = 2;
	if (r.complete && d->max_cached > 0) {
		lk->expires_ns = lk->last_ns + (uint64_t)r.ttl_s * NS_PER_S;
		list_add(&d->cache, lk);
		while (d->cache.n > d->max_cached)
			cache_drop(d, d->cache.head);
	} else {
		hash_del(d, lk);
		lookup_free(lk);
	}
	for (unsigned i = 0; i < nw; i++)
		w[i].done(w[i].arg, &addr, &r);
	if (w != wl)
		free(w);
}

/* ctl_dnsbl_parse_answer - an A-query reply: 1 listed (addrs, ttl =
 * smallest A TTL), 0 not listed (ttl = SOA TTL or -1), -1 malformed or
 * failed */
int ctl_dnsbl_parse_answer(const unsigned char *b, int len,
			   uint8_t addrs[][4], int *naddr, int *ttl, char *why,
			   size_t wlen)
{
	const unsigned char *p = b, *end = b + len;
	unsigned qd, an, ns, rcode;

	*naddr = 0;
	*ttl = -1;
	if (len < 12) {
		snprintf(why, wlen, "short reply (%d bytes)", len);
		return -1;
	}
	rcode = b[3] & 15;
	qd = (unsigned)b[4] << 8 | b[5];
	an = (unsigned)b[6] << 8 | b[7];
	ns = (unsigned)b[8] << 8 | b[9];
	if (!(b[2] & 0x80) || (rcode != 0 && rcode != 3)) {
		snprintf(why, wlen, "server failure (rcode %u)", rcode);
		return -1;
	}
	p += 12;
	for (unsigned i = 0; i < qd + an + ns; i++) {
		unsigned type, cls, rdlen;
		uint32_t t;

		/* owner name: labels up to a 0 or a compression pointer */
		for (;;) {
			if (p >= end)
				goto trunc;
			if ((*p & 0xc0) == 0xc0) {
				if (end - p < 2)
					goto trunc;
				p += 2;
				break;
			}
			if (*p & 0xc0)
				goto trunc;
			if (*p == 0) {
				p++;
				break;
			}
			if (end - p < 1 + *p)	/* never a pointer past end */
				goto trunc;
			p += 1 + *p;
		}
		if (i < qd) {
			if (end - p < 4)
				goto trunc;
			p += 4;
			continue;
		}
		if (end - p < 10)
			goto trunc;
		type = (unsigned)p[0] << 8 | p[1];
		cls = (unsigned)p[2] << 8 | p[3];
		t = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		rdlen = (unsigned)p[8] << 8 | p[9];
		p += 10;
		if ((size_t)(end - p) < rdlen)
			goto trunc;
		if (t > 0x7fffffffu)
			t = 0;			/* RFC 2181 8 */
		if (i < qd + an && rcode == 0 && type == 1 && cls == 1 &&
		    rdlen == 4) {
			if (*naddr < DNSBL_MAX_ADDRS)
				memcpy(addrs[(*naddr)++], p, 4);
			ttl_lower(ttl, (int)t);
		} else if (i >= qd + an && type == 6 && *naddr == 0) {
			ttl_lower(ttl, (int)t);
		}
		p += rdlen;
	}
	if (*naddr > 0)
		return 1;
	return 0;
trunc:
	snprintf(why, wlen, "malformed reply");
	*naddr = 0;
	*ttl = -1;
	return -1;
}

/* drop_error_codes - remove the answers in 127.255.255.0/24 (a list's
 * error codes, not listings); how many there were, the first in *first */
static int drop_error_codes(uint8_t addrs[][4], int *naddr, uint8_t first[4])
{
	int i, k = 0, n = 0;

	for (i = 0; i < *naddr; i++) {
		if (addrs[i][0] == 127 && addrs[i][1] == 255 && addrs[i][2] == 255) {
			if (n++ == 0)
				memcpy(first, addrs[i], 4);
			continue;
		}
		memmove(addrs[k++], addrs[i], 4);
	}
	*naddr = k;
	return n;
}

/* score_answer - one domain's outcome into its lookup (postscreen's
 * rules, see the file header); listed < 0: failed query */
static void score_answer(struct ctl_dnsbl *d, struct dnsbl_lookup *lk,
			 unsigned dom, int listed, uint8_t addrs[][4],
			 int naddr, int ttl)
{
	for (unsigned i = 0; i < d->npat; i++) {
		const struct ctl_dnsbl_pattern *p = &d->pat[i];
		bool hit = false;

		if (d->pat_dom[i] != dom)
			continue;
		if (listed > 0) {
			for (int k = 0; k < naddr && !hit; k++)
				hit = ctl_dnsbl_filter_match(p, addrs[k]);
			if (hit) {
				lk->res.score += p->weight;
				if (lk->best_dom < 0 ||
				    p->weight > lk->best_weight ||
				    (p->weight == lk->best_weight &&
				     (int)i < lk->best_pat)) {
					lk->best_dom = (int)dom;
					lk->best_pat = (int)i;
					lk->best_weight = p->weight;
				}
			}
			ttl_lower(p->weight > 0 ? &lk->fail_ttl :
				  &lk->pass_ttl, ttl);
		} else {
			ttl_lower(p->weight > 0 ? &lk->pass_ttl :
				  &lk->fail_ttl, ttl);
		}
	}
}

/* on_answer - c-ares callback for one domain's query */
static void on_answer(void *arg, int status, int timeouts,
		      unsigned char *abuf, int alen)
{
	struct dnsbl_query *q = arg;
	struct ctl_dnsbl *d = q->d;
	struct dnsbl_lookup *lk = q->lk;
	unsigned dom = q->dom;
	struct dnsbl_domain *dm = &d->dom[dom];
	uint8_t addrs[DNSBL_MAX_ADDRS][4];
	int naddr = 0, ttl = -1, listed;
	char why[128], a[INET6_ADDRSTRLEN], x[INET_ADDRSTRLEN];

	(void)timeouts;
	if (lk == NULL || status == ARES_EDESTRUCTION ||
	    status == ARES_ECANCELLED) {
		if (lk != NULL) {	/* channel going away under a lookup */
			lk->q[q->dom] = NULL;
			lk->res.errors++;
			lk->pending--;
		}
		free(q);
		return;
	}
	lk->q[dom] = NULL;
	free(q);
	addr_str(&lk->addr, a, sizeof(a));
	if (status == ARES_ETIMEOUT) {
		dm->st.timeouts++;
		lk->res.timeouts++;
		dlog(d, "warning: dnsblog reply timeout %llus for %s",
		     (unsigned long long)(d->timeout_ns / NS_PER_S), dm->name);
		goto account;
	}
	if (abuf != NULL && alen > 0 && (status == ARES_SUCCESS ||
	    status == ARES_ENOTFOUND || status == ARES_ENODATA)) {
		listed = ctl_dnsbl_parse_answer(abuf, alen, addrs, &naddr,
						&ttl, why, sizeof(why));
	} else {
		listed = -1;
		snprintf(why, sizeof(why), "%s", ares_strerror(status));
	}
	if (listed > 0) {
		uint8_t code[4];

		if (drop_error_codes(addrs, &naddr, code) > 0) {
			if (!dm->refused_said) {
				dm->refused_said = true;
				dlog(d, "warning: %s answers %u.%u.%u.%u for %s: an "
				     "error code of the list (query refused, over "
				     "its limit, or a wrong zone name), not a "
				     "listing; logged once for this site",
				     dm->name, code[0], code[1], code[2], code[3], a);
			}
			if (naddr == 0) {
				dm->st.refused++;
				lk->res.errors++;
				score_answer(d, lk, dom, 0, addrs, 0, -1);
				goto account;
			}
		}
	}
	if (listed < 0) {
		dm->st.errors++;
		lk->res.errors++;
		dlog(d, "warning: lookup error for DNS query %s under %s: %s",
		     a, dm->name, why);
		score_answer(d, lk, dom, 0, addrs, 0, -1);
	} else if (listed > 0) {
		dm->st.listed++;
		for (int i = 0; i < naddr; i++)
			dlog(d, "addr %s listed by domain %s as %s", a, dm->name,
			     inet_ntop(AF_INET, addrs[i], x, sizeof(x)));
		score_answer(d, lk, dom, 1, addrs, naddr, ttl);
	} else {
		dm->st.unlisted++;
		score_answer(d, lk, dom, 0, addrs, 0, ttl);
	}
account:
	lk->last_ns = d->now_ns;
	if (--lk->pending == 0 && !lk->starting)
		lookup_finish(d, lk);
}

/* expire_deadlines - lookups whose time is up end with what they have */
static void expire_deadlines(struct ctl_dnsbl *d)
{
	struct dnsbl_lookup *lk;

	while ((lk = d->inflight.head) != NULL &&
	       lk->deadline_ns <= d->now_ns) {
		for (unsigned i = 0; i < d->ndom; i++) {
			if (lk->q[i] == NULL)
				continue;
			lk->q[i]->lk = NULL;	/* c-ares frees it later */
			lk->q[i] = NULL;
			d->dom[i].st.timeouts++;
			lk->res.timeouts++;
			dlog(d, "warning: dnsblog reply timeout %llus for %s",
			     (unsigned long long)(d->timeout_ns / NS_PER_S),
			     d->dom[i].name);
		}
		lk->pending = 0;
		lk->last_ns = d->now_ns;
		lookup_finish(d, lk);
	}
}

/* ctl_dnsbl_lookup - cached, joined, or new parallel queries */
int ctl_dnsbl_lookup(struct ctl_dnsbl *d, const struct scr_addr *addr,
		     uint64_t now_ns,
		     void (*done)(void *arg, const struct scr_addr *a,
				  const struct ctl_dnsbl_result *r),
		     void *arg)
{
	struct dnsbl_lookup *lk;
	struct ctl_dnsbl_result r;
	char name[340];

	if (now_ns > d->now_ns)
		d->now_ns = now_ns;
	d->st.lookups++;
	if (d->ndom == 0) {
		memset(&r, 0, sizeof(r));
		r.complete = true;
		done(arg, addr, &r);
		return 0;
	}
	lk = hash_find(d, addr);
	if (lk != NULL && !lk->in_flight) {
		if (lk->expires_ns > now_ns) {
			d->st.cache_hits++;
			r = lk->res;
			r.latency_ns = 0;
			done(arg, addr, &r);
			return 0;
		}
		cache_drop(d, lk);
		lk = NULL;
	}
	if (lk != NULL) {
		if (lk->nw == lk->capw) {
			unsigned cap = lk->capw * 2;
			struct dnsbl_waiter *w = malloc(cap * sizeof(*w));

			if (w == NULL) {
				d->st.rejected++;
				return -ENOMEM;
			}
			memcpy(w, lk->w, lk->nw * sizeof(*w));
			if (lk->w != lk->w0)
				free(lk->w);
			lk->w = w;
			lk->capw = cap;
		}
		lk->w[lk->nw].done = done;
		lk->w[lk->nw++].arg = arg;
		d->st.joined++;
		return 0;
	}
	if (d->inflight.n >= d->max_inflight ||
	    (lk = calloc(1, sizeof(*lk) + d->ndom * sizeof(lk->q[0]))) == NULL) {
		d->st.rejected++;
		return -ENOMEM;
	}
	lk->addr = *addr;
	lk->in_flight = true;
	lk->start_ns = lk->last_ns = now_ns;
	lk->deadline_ns = now_ns + d->timeout_ns;
	lk->fail_ttl = lk->pass_ttl = -1;
	lk->best_dom = -1;
	lk->w = lk->w0;
	lk->capw = 2;
	lk->w[0].done = done;
	lk->w[0].arg = arg;
	lk->nw = 1;
	for (unsigned i = 0; i < d->ndom; i++) {
		lk->q[i] = malloc(sizeof(*lk->q[i]));
		if (lk->q[i] == NULL) {
			for (unsigned k = 0; k < i; k++)
				free(lk->q[k]);
			free(lk);
			d->st.rejected++;
			return -ENOMEM;
		}
		lk->q[i]->d = d;
		lk->q[i]->lk = lk;
		lk->q[i]->dom = i;
	}
	lk->hnext = d->bucket[addr_hash(addr)];
	d->bucket[addr_hash(addr)] = lk;
	list_add(&d->inflight, lk);
	lk->pending = d->ndom;
	lk->starting = true;
	for (unsigned i = 0; i < d->ndom; i++) {
		struct dnsbl_query *q = lk->q[i];

		d->dom[i].st.queries++;
		if (ctl_dnsbl_query_name(addr, d->dom[i].name, name,
					 sizeof(name)) != 0) {
			/* cannot happen: domains are <= 253 characters */
			lk->q[i] = NULL;
			free(q);
			d->dom[i].st.errors++;
			lk->res.errors++;
			lk->pending--;
			continue;
		}
		/* may call on_answer at once (send failure) */
		ares_query(d->ch, name, 1 /* C_IN */, 1 /* T_A */, on_answer,
			   q);
	}
	lk->starting = false;
	if (lk->pending == 0)
		lookup_finish(d, lk);
	return 0;
}

/* ctl_dnsbl_pollfds - c-ares' sockets and the next deadline */
int ctl_dnsbl_pollfds(struct ctl_dnsbl *d, struct pollfd *fds, int max,
		      int *timeout_ms)
{
	struct timeval tv, *tp;
	int n;
	int64_t t = -1;

	if (d->ndom == 0) {
		*timeout_ms = -1;
		return 0;
	}
	n = ctl_ares_fds(d->ch, fds, max);
	tp = ares_timeout(d->ch, NULL, &tv);
	if (tp != NULL)
		t = (int64_t)tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;
	if (d->inflight.head != NULL) {
		uint64_t dl = d->inflight.head->deadline_ns;
		int64_t m = dl > d->now_ns ?
			    (int64_t)((dl - d->now_ns + NS_PER_MS - 1) / NS_PER_MS) : 0;

		if (t < 0 || m < t)
			t = m;
	}
	*timeout_ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
	return n;
}

/* ctl_dnsbl_process - answers, c-ares timers, our deadlines */
void ctl_dnsbl_process(struct ctl_dnsbl *d, const struct pollfd *fds, int n,
		       uint64_t now_ns)
{
	if (d->ndom == 0)
		return;
	if (now_ns > d->now_ns)
		d->now_ns = now_ns;
	for (int i = 0; fds != NULL && i < n; i++) {
		ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;

		if (fds[i].revents & (POLLIN | POLLERR | POLLHUP))
			r = fds[i].fd;
		if (fds[i].revents & POLLOUT)
			w = fds[i].fd;
		if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD)
			ares_process_fd(d->ch, r, w);
	}
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	expire_deadlines(d);
	/* the oldest cached results first: drop those expired */
	while (d->cache.head != NULL && d->cache.head->expires_ns <= d->now_ns)
		cache_drop(d, d->cache.head);
}

/* ctl_dnsbl_stats - counters */
void ctl_dnsbl_stats(const struct ctl_dnsbl *d, struct ctl_dnsbl_stats *out)
{
	*out = d->st;
	out->in_flight = d->inflight.n;
	out->cached = d->cache.n;
	out->nsites = d->ndom;
	for (unsigned i = 0; i < d->ndom; i++)
		out->site[i] = d->dom[i].st;
}

/* ctl_dnsbl_enabled - any sites? */
bool ctl_dnsbl_enabled(const struct ctl_dnsbl *d)
{
	return d != NULL && d->ndom > 0;
}

/* ctl_dnsbl_set_limits - in-flight and cache caps */
void ctl_dnsbl_set_limits(struct ctl_dnsbl *d, uint32_t max_inflight,
			  uint32_t max_cached)
{
	if (max_inflight)
		d->max_inflight = max_inflight;
	if (max_cached)
		d->max_cached = max_cached;
	while (d->cache.n > d->max_cached)
		cache_drop(d, d->cache.head);
}

/* ctl_dnsbl_set_logger - dnsblog-style lines */
void ctl_dnsbl_set_logger(struct ctl_dnsbl *d,
			  void (*fn)(void *arg, const char *line), void *arg)
{
	d->log_fn = fn;
	d->log_arg = arg;
}

/* ctl_dnsbl_cache_flush - forget cached results */
void ctl_dnsbl_cache_flush(struct ctl_dnsbl *d)
{
	while (d->cache.head != NULL)
		cache_drop(d, d->cache.head);
}

/* ctl_dnsbl_outcome - score against the thresholds read at create */
int ctl_dnsbl_outcome(const struct ctl_dnsbl *d, int score)
{
	if (score >= d->threshold)
		return SCR_DNSBL_FAIL;
	if (d->allow_threshold < 0 && score <= d->allow_threshold)
		return SCR_DNSBL_ALLOW;
	return SCR_DNSBL_NEUTRAL;
}

/* ctl_dnsbl_reply - postscreen's DNSBL reject text */
int ctl_dnsbl_reply(const struct scr_addr *addr,
		    const struct ctl_dnsbl_result *r, bool drop, char *buf,
		    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	return snprintf(buf, len, "%s 5.7.1 Service unavailable; client [%s] "
			"blocked using %s\r\n", drop ? "521" : "550",
			addr_str(addr, a, sizeof(a)),
			r->site[0] ? r->site : "a DNS blocklist");
}

/* ctl_dnsbl_create - sites, thresholds, TTLs, resolver */
struct ctl_dnsbl *ctl_dnsbl_create(const struct ctl_conf *conf,
				   const char *servers, char *err,
				   size_t errlen)
{
	struct ctl_dnsbl *d;
	struct ares_options o;
	unsigned long long t;
	char where[256];
	const char *sites;
	int rc = -ENOMEM, e;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->pat = calloc(CTL_DNSBL_MAX_PATTERNS, sizeof(*d->pat))) == NULL ||
	    (d->pat_dom = calloc(CTL_DNSBL_MAX_PATTERNS,
				 sizeof(*d->pat_dom))) == NULL ||
	    (d->dom = calloc(CTL_DNSBL_MAX_DOMAINS, sizeof(*d->dom))) == NULL ||
	    (d->bucket = calloc(DNSBL_BUCKETS, sizeof(*d->bucket))) == NULL) {
		snprintf(err, errlen, "dnsbl: out of memory");
		goto out;
	}
	d->max_inflight = DNSBL_DEF_INFLIGHT;
	d->max_cached = DNSBL_DEF_CACHED;
	rc = -EINVAL;
	sites = ctl_conf_get(conf, "postscreen_dnsbl_sites");
	ctl_conf_where(conf, "postscreen_dnsbl_sites", where, sizeof(where));
	if (parse_sites(d, sites ? sites : "", where, err, errlen) != 0)
		goto out;
	ctl_conf_where(conf, "postscreen_dnsbl_reply_map", where,
		       sizeof(where));
	if (load_reply_map(d, conf, where, err, errlen) != 0)
		goto out;
	if (conf_int(conf, "postscreen_dnsbl_threshold", &d->threshold, err,
		     errlen) != 0 ||
	    conf_int(conf, "postscreen_dnsbl_allowlist_threshold",
		     &d->allow_threshold, err, errlen) != 0)
		goto out;
	if (conf_time(conf, "postscreen_dnsbl_timeout", 's', &t, err,
		      errlen) != 0)
		goto out;
	d->timeout_ns = t > 86400 ? 86400 * NS_PER_S : t * NS_PER_S;
	if (conf_time(conf, "postscreen_dnsbl_min_ttl", 's', &t, err,
		      errlen) != 0)
		goto out;
	d->min_ttl = t > 0x7fffffff ? 0x7fffffff : (uint32_t)t;
	if (conf_time(conf, "postscreen_dnsbl_max_ttl", 'h', &t, err,
		      errlen) != 0)
		goto out;
	d->max_ttl = t > 0x7fffffff ? 0x7fffffff : (uint32_t)t;
	if (d->max_ttl < d->min_ttl)	/* as Postfix: max wins */
		d->min_ttl = d->max_ttl;
	if (d->ndom == 0) {
		rc = 0;
		goto out;
	}
	rc = -EIO;
	if (lib_refs++ == 0 && (e = ares_library_init(ARES_LIB_INIT_ALL)) !=
	    ARES_SUCCESS) {
		lib_refs--;
		snprintf(err, errlen, "dnsbl: c-ares: %s", ares_strerror(e));
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.timeout = (int)(d->timeout_ns / NS_PER_MS);
	o.tries = 1;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN;
	e = ares_init_options(&d->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			      ARES_OPT_FLAGS);
	if (e != ARES_SUCCESS) {
		if (--lib_refs == 0)
			ares_library_cleanup();
		snprintf(err, errlen, "dnsbl: c-ares: %s", ares_strerror(e));
		goto out;
	}
	d->have_ch = true;
	if (servers != NULL) {
		if (servers[0] == 0 ||
		    strspn(servers, "0123456789abcdefABCDEF.:[],") !=
		    strlen(servers) ||
		    ares_set_servers_ports_csv(d->ch, servers) != ARES_SUCCESS) {
			snprintf(err, errlen, "dnsbl: bad DNS server list \"%s\" "
				 "(IP[:port][,IP[:port]])", servers);
			rc = -EINVAL;
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		ctl_dnsbl_destroy(d);
		errno = -rc;
		return NULL;
	}
	return d;
}

/* ctl_dnsbl_destroy - drop lookups (no callbacks), channel, tables */
void ctl_dnsbl_destroy(struct ctl_dnsbl *d)
{
	struct dnsbl_lookup *lk;

	if (d == NULL)
		return;
	while ((lk = d->inflight.head) != NULL) {
		for (unsigned i = 0; i < d->ndom; i++)
			if (lk->q[i] != NULL)
				lk->q[i]->lk = NULL;
		hash_del(d, lk);
		list_del(&d->inflight, lk);
		lookup_free(lk);
	}
	if (d->have_ch) {
		ares_destroy(d->ch);	/* frees the orphaned queries */
		if (--lib_refs == 0)
			ares_library_cleanup();
	}
	if (d->bucket != NULL)
		ctl_dnsbl_cache_flush(d);
	free(d->bucket);
	free(d->dom);
	free(d->pat_dom);
	free(d->pat);
	free(d);
}

/* ctl_dnsbl_for_conf - the resolver a daemon's main.cf asks for */
int ctl_dnsbl_for_conf(const struct ctl_conf *conf, bool enabled,
		       uint32_t max_inflight,
		       void (*log)(void *arg, const char *line), void *arg,
		       struct ctl_dnsbl **out, char *err, size_t errlen)
{
	const char *srv = ctl_conf_get(conf, "smtpscreen_dnsbl_servers");

	*out = NULL;
	if (!enabled)
		return 0;
	*out = ctl_dnsbl_create(conf, srv && srv[0] ? srv : NULL, err, errlen);
	if (*out == NULL)
		return -EINVAL;
	ctl_dnsbl_set_limits(*out, max_inflight, 0);
	ctl_dnsbl_set_logger(*out, log, arg);
	return 0;
}
