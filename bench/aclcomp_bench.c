/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	aclcomp-bench - cidr table parse and access-list compile times at
 *	10K, 100K, 1M and 10M lines, against the I/O floor and the old
 *	compiler, in the same run
 * DESCRIPTION
 *	aclcomp-bench [-n MAXLINES] [-s plain|nested|all] [-c CPU]
 *	              [-O OLDMAX] [-d TMPDIR]
 *	For each size (10,000 x 10^k up to MAXLINES, default 10,000,000) and
 *	shape, writes a seeded cidr table to a temporary directory under
 *	TMPDIR (default /tmp; removed at exit), then runs each repetition
 *	(9, 5, 3 and 1 for 10K, 100K, 1M and 10M lines) in a fresh child
 *	process, as a one-shot command would (smtpscreen xdp attach: nothing
 *	allocated before), pinned to CPU (default 1), with the file in the
 *	page cache; CLOCK_MONOTONIC, ms, medians:
 *	  io       read the file in 1 MiB chunks and count its lines: the
 *	           I/O floor no parser goes below;
 *	  parse    ctl_acl_compile("permit_mynetworks, cidr:FILE", mynetworks);
 *	  compile  ctl_aclcomp_compile of that list;
 *	  total    both, one span (what a load spends before the maps);
 *	  tot_cpu  user + system CPU time of that span (on a loaded machine
 *	           the wall clock counts the other processes' turns too);
 *	  warm     parse + compile again in the same process, its memory
 *	           reused: a daemon's reload;
 *	  tot/io   total over io;
 *	  old      the compiler before issue 16 (kept here as old_compile:
 *	           one ctl_acl_lookup per region boundary, then a binary
 *	           trie node by node and ORTC over it), up to OLDMAX lines
 *	           (default 1,000,000; it takes seconds at 1M) of plain and
 *	           OLDMAX / 10 of nested tables (there each lookup walks the
 *	           table's rules: quadratic, ~10 s at 100K), on the same
 *	           parsed list: its time, old/new (its time over compile), and
 *	           whether both gave the very same entries ("same": count and
 *	           bytes, in order; "DIFF" fails the run).
 *	Shapes:
 *	  plain   bench/reload_bench.sh's big.cidr, "reject" on every line,
 *	          shuffled: 3 % IPv6 /64-/128 (one in every other /64 of
 *	          2001:db8::/32), 2 % /32s at even addresses of
 *	          100.65.0.0-100.127.255.255, /25-/31 in 64 /24s of
 *	          100.64.160.0-100.64.223.255 (6 per /24, one /24 per 10,000
 *	          lines), 0.6 % /16-/23 (at most 6,000, one per /16 of
 *	          101.0.0.0-124.255.255.255), the rest distinct /24s of
 *	          1.0.0.0-99.255.255.255 and 125.0.0.0-223.255.255.255 (room
 *	          for 10M lines, which reload_bench.sh's 1.0.0.0/8-99/8 lacks).
 *	  nested  first-match structure: if/if !/endif blocks (1.5 % of lines
 *	          open one, /12-/17 at the top, 2-7 bits longer inside, up to
 *	          4 deep, a quarter negated; 1.5 % close one), "!pattern"
 *	          lines inside a positive block (0.5 %), covering /16-/22
 *	          lines (2 %, 40 % permit, 40 % dunno, 20 % reject), IPv6
 *	          /48-/128 in 2001:db8::/32 (3 %), the rest /24 (9 in 10) or
 *	          /25-/32 in the innermost positive block, 90 % reject, 5 %
 *	          permit, 5 % dunno.
 *	mynetworks is "127.0.0.0/8 198.18.0.0/15 [2001:db8:1::]/48" for both.
 *	Prints one line per shape and size; exit 1 when a parse or compile
 *	fails or the old and new compilers disagree. SIGINT and SIGTERM
 *	remove the temporary table.
 * THREADING
 *	One thread; each repetition in a child process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_aclcomp.h"
#include "ctl_msg.h"

#define MYNET	"127.0.0.0/8 198.18.0.0/15 [2001:db8:1::]/48"
#define LIST	"permit_mynetworks, cidr:%s"
#define MAXREPS	9

enum shape { SHAPE_PLAIN, SHAPE_NESTED, SHAPE_MAX };

static const char *const shape_name[SHAPE_MAX] = {
	[SHAPE_PLAIN] = "plain", [SHAPE_NESTED] = "nested",
};

static const char *tmp_dir;		/* removed on a signal, */
static char tmp_table[4200];		/* with the table in it */

/* on_signal - remove the temporary table and directory, and exit */
static void on_signal(int sig)
{
	if (tmp_table[0] != 0)
		unlink(tmp_table);
	if (tmp_dir != NULL)
		rmdir(tmp_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* now_ms - monotonic milliseconds */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* median - of n values (sorts them) */
static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* mix64 - splitmix64 finaliser: the generator's per-item randomness */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* put_v4 - one IPv4 line: pre ("", "if ", "if !", "!"), prefix, result */
static void put_v4(FILE *f, const char *pre, uint32_t a, unsigned plen,
		   const char *res)
{
	if (plen < 32)
		a &= ~(~0u >> plen);
	fprintf(f, "%s%u.%u.%u.%u/%u%s%s\n", pre, a >> 24, (a >> 16) & 255,
		(a >> 8) & 255, a & 255, plen, res ? "\t" : "", res ? res : "");
}

/* put_v6 - one IPv6 line: a prefix of 2001:db8::/32 (bits 32..127 in lo) */
static void put_v6(FILE *f, uint32_t mid, uint64_t lo, unsigned plen,
		   const char *res)
{
	uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	char t[INET6_ADDRSTRLEN];

	if (plen < 64)
		mid &= ~(~0u >> (plen - 32));
	if (plen <= 64)
		lo = 0;
	else if (plen < 128)
		lo &= ~(~0ull >> (plen - 64));
	for (int i = 0; i < 4; i++)
		b[4 + i] = (uint8_t)(mid >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	inet_ntop(AF_INET6, b, t, sizeof(t));
	fprintf(f, "%s/%u\t%s\n", t, plen, res);
}

/* gen_plain - reload_bench.sh's shape, streamed in a shuffled order */
static void gen_plain(FILE *f, uint64_t n)
{
	static const uint8_t plen6[] = { 64, 64, 64, 80, 96, 112, 120, 124,
					 127, 128, 128, 128 };
	static const uint8_t plenmid[] = { 16, 17, 18, 19, 20, 20, 21, 21, 22,
					   22, 23, 23, 23 };
	static const uint8_t mixoff[6] = { 0, 128, 192, 224, 240, 248 };
	static const uint8_t mixlen[6] = { 25, 27, 28, 29, 30, 31 };
	uint64_t n6 = n * 3 / 100, n32 = n * 2 / 100;
	uint64_t nmix = 6 * (n / 10000 < 64 ? n / 10000 : 64);
	uint64_t nmid = n * 6 / 1000 < 6000 ? n * 6 / 1000 : 6000;

	for (uint64_t i = 0; i < n; i++) {
		/* a permutation of 0..n-1: 2^31-1 is a prime above n */
		uint64_t k = (i * 2147483647ull + 12345) % n;
		uint64_t h = mix64(k);

		if (k < n6) {
			put_v6(f, (uint32_t)(((k * 7919) & 0x7fffffff) * 2),
			       mix64(h), plen6[h % sizeof(plen6)], "reject");
			continue;
		}
		k -= n6;
		if (k < n32) {
			put_v4(f, "", (100u << 24 | 65u << 16) +
			       2 * (uint32_t)((k * 1000003) % 2064384), 32,
			       "reject");
			continue;
		}
		k -= n32;
		if (k < nmix) {
			put_v4(f, "", (100u << 24 | 64u << 16 | 160u << 8) +
			       (uint32_t)(k / 6) * 256 + mixoff[k % 6],
			       mixlen[k % 6], "reject");
			continue;
		}
		k -= nmix;
		if (k < nmid) {
			uint32_t b16 = (101u << 8) + (uint32_t)((k * 337) % (24 * 256));

			put_v4(f, "", b16 << 16, plenmid[h % sizeof(plenmid)],
			       "reject");
			continue;
		}
		k -= nmid;
		{
			uint32_t slot = (uint32_t)((k * 1000003) % (198u << 16));

			slot += slot < (99u << 16) ? 1u << 16 : 26u << 16;
			put_v4(f, "", slot << 8, 24, "reject");
		}
	}
}

/* gen_nested - if/endif blocks, negations and covering lines */
static void gen_nested(FILE *f, uint64_t n)
{
	static const char *const res[] = { "reject", "permit", "dunno" };
	struct { uint32_t a; unsigned plen; bool neg; } st[5] = {};
	unsigned depth = 0, pos = 0;	/* pos: innermost positive block */
	uint64_t s = 0x5eed;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = mix64(s++), x = mix64(s++), y = mix64(s++);
		unsigned sp = st[pos].plen, pl, k = (unsigned)(r % 1000);
		uint32_t a;

		/* a random address in the innermost positive block */
		if (sp)
			a = st[pos].a | ((uint32_t)x >> sp);
		else
			a = ((1u + (uint32_t)(x % 223)) << 24) | ((uint32_t)x >> 8);
		if (k < 15 && depth < 4) {
			pl = (sp < 12 ? 12 : sp + 2) + (unsigned)(y % 6);
			pl = pl > 28 ? 28 : pl;
			depth++;
			st[depth].a = a & ~(~0u >> pl);
			st[depth].plen = pl;
			st[depth].neg = y % 4 == 0;
			if (!st[depth].neg)
				pos = depth;
			put_v4(f, st[depth].neg ? "if !" : "if ", a, pl, NULL);
		} else if (k >= 15 && k < 30 && depth > 0) {
			fprintf(f, "endif\n");
			depth--;
			while (pos > 0 && (pos > depth || st[pos].neg))
				pos--;
		} else if (k >= 30 && k < 35 && pos > 0) {
			pl = sp + 1 + (unsigned)(y % 8);
			put_v4(f, "!", a, pl > 32 ? 32 : pl, res[(y >> 8) % 3]);
		} else if (k >= 40 && k < 60) {
			pl = sp < 16 ? 16 + (unsigned)(y % 7) : sp + (unsigned)(y % 4);
			put_v4(f, "", a, pl > 32 ? 32 : pl, res[(y >> 8) % 5 < 2 ? 1 :
						 (y >> 8) % 5 < 4 ? 2 : 0]);
		} else if (k >= 60 && k < 90) {
			put_v6(f, (uint32_t)y, x, 48 + (unsigned)(y >> 32) % 81,
			       res[(y >> 8) % 3]);
		} else {
			pl = y % 10 ? 24 : 25 + (unsigned)(y >> 8) % 8;
			put_v4(f, "", a, pl < sp ? sp : pl,
			       res[(y >> 16) % 20 == 0 ? 1 :
				   (y >> 16) % 20 == 1 ? 2 : 0]);
		}
	}
	while (depth-- > 0)
		fprintf(f, "endif\n");
}

/*
 * The compiler before issue 16 (ctrl/ctl_aclcomp.c at 454566f), kept as the
 * baseline: region boundaries, one ctl_acl_lookup per boundary, a binary
 * trie built node by node, ORTC passes 2 and 3 over it.
 */
typedef unsigned __int128 old_u128;

#define OLD_U128_MAX (~(old_u128)0)
#define OLD_SET_ALL 0x7u

struct old_vec {
	old_u128 *v;
	size_t n, cap;
};

struct old_node {
	old_u128 lo;
	int32_t l, r;		/* children, -1 for a leaf */
	uint8_t plen;
	uint8_t set;		/* bit per enum scr_xdp_ans */
};

struct old_ac {
	old_u128 *rs;		/* region starts, ascending */
	uint8_t *ra;		/* region answers */
	size_t nr;
	struct old_node *nodes;
	size_t nn, ncap;
	struct ctl_xdp_entry *out;
	size_t nout, outcap;
	old_u128 dc_lo, dc_hi;	/* "don't care" range, dc_lo > dc_hi none */
	int err;
};

/* old_from_addr - address as a 128-bit number */
static old_u128 old_from_addr(const struct scr_addr *a)
{
	old_u128 x = 0;
	int i;

	for (i = 0; i < 16; i++)
		x = (x << 8) | a->b[i];
	return x;
}

/* old_to_addr - 128-bit number as an address */
static void old_to_addr(old_u128 x, struct scr_addr *a)
{
	int i;

	for (i = 15; i >= 0; i--) {
		a->b[i] = (uint8_t)x;
		x >>= 8;
	}
}

/* old_host - host mask of a prefix length */
static old_u128 old_host(unsigned plen)
{
	return plen >= 128 ? 0 : OLD_U128_MAX >> plen;
}

/* old_push - append a boundary */
static int old_push(struct old_vec *v, old_u128 x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		old_u128 *nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

/* old_prefix_cb - both boundaries of one prefix */
static int old_prefix_cb(void *arg, const struct scr_addr *net,
			    unsigned plen)
{
	struct old_vec *v = arg;
	old_u128 lo, hi;
	int rc;

	if (plen > 128)
		return -EINVAL;
	lo = old_from_addr(net) & ~old_host(plen);
	hi = lo | old_host(plen);
	rc = old_push(v, lo);
	if (!rc && hi != OLD_U128_MAX)
		rc = old_push(v, hi + 1);
	return rc;
}

/* old_cmp - ascending 128-bit numbers */
static int old_cmp(const void *a, const void *b)
{
	old_u128 x = *(const old_u128 *)a, y = *(const old_u128 *)b;

	return x < y ? -1 : x > y;
}

/* old_ans - enum ctl_acl_result to enum scr_xdp_ans */
static uint8_t old_ans(enum ctl_acl_result r)
{
	switch (r) {
	case CTL_ACL_DUNNO:
		return SCR_XDP_ANS_NONE;
	case CTL_ACL_PERMIT:
		return SCR_XDP_ANS_PERMIT;
	case CTL_ACL_REJECT:
		return SCR_XDP_ANS_REJECT;
	default:
		ctl_msg_panic("old_ans: access list result %d out of range",
			      (int)r);
	}
}

/* old_region - index of the region holding x */
static size_t old_region(const struct old_ac *ac, old_u128 x)
{
	size_t lo = 0, hi = ac->nr;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ac->rs[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* old_region_end - last address of region i */
static old_u128 old_region_end(const struct old_ac *ac, size_t i)
{
	return i + 1 < ac->nr ? ac->rs[i + 1] - 1 : OLD_U128_MAX;
}

/* old_build - trie node for (lo, plen); its index or -1 on error */
static int32_t old_build(struct old_ac *ac, old_u128 lo, unsigned plen)
{
	old_u128 hi = lo | old_host(plen);
	struct old_node *nd;
	int32_t idx, l, r;
	size_t reg;
	uint8_t set;

	if (ac->nn == ac->ncap) {
		size_t cap = ac->ncap ? ac->ncap * 2 : 1024;
		void *nv = realloc(ac->nodes, cap * sizeof(*ac->nodes));

		if (!nv || cap > INT32_MAX) {
			ac->err = -ENOMEM;
			return -1;
		}
		ac->nodes = nv;
		ac->ncap = cap;
	}
	idx = (int32_t)ac->nn++;
	nd = &ac->nodes[idx];
	nd->lo = lo;
	nd->plen = (uint8_t)plen;
	nd->l = nd->r = -1;
	if (ac->dc_lo <= ac->dc_hi && lo >= ac->dc_lo && hi <= ac->dc_hi) {
		nd->set = OLD_SET_ALL;
		return idx;
	}
	reg = old_region(ac, lo);
	if (old_region_end(ac, reg) >= hi) {
		nd->set = (uint8_t)(1u << ac->ra[reg]);
		return idx;
	}
	l = old_build(ac, lo, plen + 1);
	if (l < 0)
		return -1;
	r = old_build(ac, lo | ((old_u128)1 << (127 - plen)), plen + 1);
	if (r < 0)
		return -1;
	nd = &ac->nodes[idx];	/* realloc may have moved it */
	nd->l = l;
	nd->r = r;
	set = ac->nodes[l].set & ac->nodes[r].set;
	nd->set = set ? set : (ac->nodes[l].set | ac->nodes[r].set);
	return idx;
}

/* old_emit - append one entry */
static void old_emit(struct old_ac *ac, old_u128 lo, unsigned plen,
			uint8_t ans)
{
	struct ctl_xdp_entry *e;

	if (ac->nout == ac->outcap) {
		size_t cap = ac->outcap ? ac->outcap * 2 : 64;
		void *nv = realloc(ac->out, cap * sizeof(*ac->out));

		if (!nv) {
			ac->err = -ENOMEM;
			return;
		}
		ac->out = nv;
		ac->outcap = cap;
	}
	e = &ac->out[ac->nout++];
	memset(e, 0, sizeof(*e));
	old_to_addr(lo, &e->net);
	e->plen = (uint8_t)plen;
	e->ans = ans;
}

/* old_select - ORTC pass 3 from node idx with the inherited answer */
static void old_select(struct old_ac *ac, int32_t idx, uint8_t inherited)
{
	const struct old_node *nd = &ac->nodes[idx];
	uint8_t chosen = inherited;

	if (!(nd->set & (1u << inherited))) {
		chosen = (uint8_t)__builtin_ctz(nd->set);
		old_emit(ac, nd->lo, nd->plen, chosen);
	}
	if (nd->l >= 0) {
		old_select(ac, nd->l, chosen);
		old_select(ac, nd->r, chosen);
	}
}

/* old_subtree - compile one root (IPv4 range or all of IPv6) */
static int old_subtree(struct old_ac *ac, old_u128 lo, unsigned plen)
{
	int32_t root;

	ac->nn = 0;
	root = old_build(ac, lo, plen);
	if (root < 0)
		return ac->err;
	old_select(ac, root, SCR_XDP_ANS_NONE);
	return ac->err;
}

/* old_compile - the old ctl_aclcomp_compile */
static int old_compile(const struct ctl_acl *acl, struct ctl_xdp_entry **out,
		       size_t *n)
{
	struct old_vec b = {};
	struct old_ac ac = {};
	struct scr_addr a;
	old_u128 v4lo = (old_u128)0xffff << 32;
	size_t i, k;
	int rc;

	*out = NULL;
	*n = 0;
	rc = old_push(&b, 0);
	if (!rc)
		rc = ctl_acl_prefixes(acl, old_prefix_cb, &b);
	if (rc)
		goto out;
	qsort(b.v, b.n, sizeof(*b.v), old_cmp);
	ac.rs = malloc(b.n * sizeof(*ac.rs));
	ac.ra = malloc(b.n);
	if (!ac.rs || !ac.ra) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0, k = 0; i < b.n; i++) {
		uint8_t ans;

		if (i > 0 && b.v[i] == b.v[i - 1])
			continue;
		old_to_addr(b.v[i], &a);
		ans = old_ans(ctl_acl_lookup(acl, &a));
		if (k > 0 && ac.ra[k - 1] == ans)
			continue;	/* same answer: one region */
		ac.rs[k] = b.v[i];
		ac.ra[k] = ans;
		k++;
	}
	ac.nr = k;

	ac.dc_lo = 1;
	ac.dc_hi = 0;
	rc = old_subtree(&ac, v4lo, 96);
	if (rc)
		goto out;
	ac.dc_lo = v4lo;
	ac.dc_hi = v4lo | 0xffffffffu;
	rc = old_subtree(&ac, 0, 0);
out:
	free(b.v);
	free(ac.rs);
	free(ac.ra);
	free(ac.nodes);
	if (rc) {
		free(ac.out);
		return rc;
	}
	*out = ac.out;
	*n = ac.nout;
	return 0;
}

/* io_floor - read the file in 1 MiB chunks and count its lines */
static double io_floor(const char *path, uint64_t *lines)
{
	static char buf[1 << 20];
	double t0 = now_ms();
	int fd = open(path, O_RDONLY);
	ssize_t k;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	*lines = 0;
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + k - p)));
		     p++)
			(*lines)++;
	close(fd);
	return now_ms() - t0;
}

/* parse - the access list over the table; exits on error */
static struct ctl_acl *parse(const char *list, const char *dir)
{
	char err[512];
	struct ctl_acl *acl = ctl_acl_compile(list, MYNET, dir, err, sizeof(err));

	if (acl == NULL) {
		fprintf(stderr, "aclcomp-bench: %s\n", err);
		exit(1);
	}
	return acl;
}

/* compile - ctl_aclcomp_compile, or old_compile; exits on error */
static struct ctl_xdp_entry *compile(const struct ctl_acl *acl, bool old,
				     size_t *n)
{
	struct ctl_xdp_entry *e;
	int rc = old ? old_compile(acl, &e, n) : ctl_aclcomp_compile(acl, &e, n);

	if (rc < 0) {
		fprintf(stderr, "aclcomp-bench: compile: %s\n", strerror(-rc));
		exit(1);
	}
	return e;
}

/* What one repetition measured (a child process's report). */
struct rep {
	double io, parse, compile, total, cpu, warm, old;
	size_t n, no;
	int same;		/* old and new entries identical */
};

/* cpu_ms - user + system time of this process */
static double cpu_ms(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
	       (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

/* measure - one repetition in this (fresh) process */
static void measure(const char *path, const char *list, const char *dir,
		    bool old, struct rep *m)
{
	struct ctl_xdp_entry *e, *oe;
	struct ctl_acl *acl;
	uint64_t lines;
	double t0, t1, t2, c0;

	m->io = io_floor(path, &lines);
	c0 = cpu_ms();
	t0 = now_ms();
	acl = parse(list, dir);
	t1 = now_ms();
	e = compile(acl, false, &m->n);
	t2 = now_ms();
	m->cpu = cpu_ms() - c0;
	m->parse = t1 - t0;
	m->compile = t2 - t1;
	m->total = t2 - t0;
	if (old) {
		t0 = now_ms();
		oe = compile(acl, true, &m->no);
		m->old = now_ms() - t0;
		m->same = m->n == m->no &&
			  (m->n == 0 || memcmp(e, oe, m->n * sizeof(*e)) == 0);
		free(oe);
	}
	ctl_acl_destroy(acl);
	free(e);
	/* again in the same process: a daemon's reload, memory reused */
	t0 = now_ms();
	acl = parse(list, dir);
	e = compile(acl, false, &m->n);
	m->warm = now_ms() - t0;
	ctl_acl_destroy(acl);
	free(e);
}

/* run - one shape and size: generate, time each repetition in a child
 * process, print; false on a mismatch or a failed child */
static bool run(enum shape sh, uint64_t n, uint64_t oldmax, const char *dir)
{
	char path[4200], list[4300];
	double io[MAXREPS], pa[MAXREPS], co[MAXREPS], to[MAXREPS], cp[MAXREPS];
	double wa[MAXREPS], ol[MAXREPS];
	int reps = n <= 10000 ? 9 : n <= 100000 ? 5 : n <= 1000000 ? 3 : 1;
	struct rep m = { 0 };
	bool old = n <= oldmax, same = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%llu.cidr", dir, shape_name[sh],
		 (unsigned long long)n);
	snprintf(tmp_table, sizeof(tmp_table), "%s", path);
	snprintf(list, sizeof(list), LIST, path);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	if (sh == SHAPE_PLAIN)
		gen_plain(f, n);
	else
		gen_nested(f, n);
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	for (int r = 0; r < reps; r++) {
		int fd[2], st;
		pid_t pid;

		if (pipe(fd) < 0 || (pid = fork()) < 0) {
			perror("aclcomp-bench: fork");
			exit(1);
		}
		if (pid == 0) {
			close(fd[0]);
			measure(path, list, dir, old, &m);
			if (write(fd[1], &m, sizeof(m)) != sizeof(m))
				_exit(1);
			_exit(0);
		}
		close(fd[1]);
		if (read(fd[0], &m, sizeof(m)) != sizeof(m) ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "aclcomp-bench: %s: a measuring child "
				"failed\n", path);
			exit(1);
		}
		close(fd[0]);
		io[r] = m.io;
		pa[r] = m.parse;
		co[r] = m.compile;
		to[r] = m.total;
		cp[r] = m.cpu;
		wa[r] = m.warm;
		ol[r] = m.old;
		same &= !old || m.same;
	}
	unlink(path);
	printf("%-6s %9llu %7.1f %8.1f %8.1f %8.1f %8.1f %8.1f %6.1f %8zu",
	       shape_name[sh], (unsigned long long)n, median(io, reps),
	       median(pa, reps), median(co, reps), median(to, reps),
	       median(cp, reps), median(wa, reps),
	       median(to, reps) / median(io, reps), m.n);
	if (old)
		printf(" %9.1f %7.1f %s\n", median(ol, reps),
		       median(ol, reps) / median(co, reps), same ? "same" : "DIFF");
	else
		printf(" %9s %7s %s\n", "-", "-", "-");
	fflush(stdout);
	return same;
}

int main(int argc, char **argv)
{
	uint64_t max = 10000000, oldmax = 1000000;
	const char *tmp = "/tmp";
	int cpu = 1, shapes = 3, c;
	char dir[4096];
	cpu_set_t set;
	bool ok = true;

	while ((c = getopt(argc, argv, "n:s:c:O:d:")) != -1) {
		switch (c) {
		case 'n':
			max = strtoull(optarg, NULL, 10);
			break;
		case 's':
			shapes = strcmp(optarg, "plain") == 0 ? 1 :
				 strcmp(optarg, "nested") == 0 ? 2 : 3;
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'O':
			oldmax = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			tmp = optarg;
			break;
		default:
			fprintf(stderr, "usage: aclcomp-bench [-n MAXLINES] "
				"[-s plain|nested|all] [-c CPU] [-O OLDMAX] "
				"[-d TMPDIR]\n");
			return 2;
		}
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "aclcomp-bench: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
	snprintf(dir, sizeof(dir), "%s/aclcomp-benchXXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	printf("# pinned to CPU %d; ms, medians; each repetition in a fresh "
	       "process\n", cpu);
	printf("%-6s %9s %7s %8s %8s %8s %8s %8s %6s %8s %9s %7s %s\n", "shape",
	       "lines", "io", "parse", "compile", "total", "tot_cpu", "warm",
	       "tot/io", "entries", "old_comp", "old/new", "old=new");
	tmp_dir = dir;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int s = 0; s < SHAPE_MAX; s++) {
		if (!(shapes & (1 << s)))
			continue;
		for (uint64_t n = 10000; n <= max; n *= 10)
			ok &= run((enum shape)s, n,
				  s == SHAPE_NESTED ? oldmax / 10 : oldmax, dir);
	}
	rmdir(dir);
	return ok ? 0 : 1;
}
