/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_store - the persistent verdict store (LMDB)
 * DESCRIPTION
 *	See ctl_store.h. One environment, the unnamed database, MDB_NOSUBDIR.
 *	Values are text so that the record reads like postscreen's.
 *
 *	LMDB trusts its file: a page cut off by truncation is a SIGBUS at the
 *	first read through the map, a page of garbage an assertion (abort),
 *	garbage records, or a later write that corrupts the heap. So open
 *	checks the file with pread(2), never through the map: before
 *	mdb_env_open the meta pages' fields LMDB uses unchecked (page size,
 *	last page), and before the first transaction both B-trees (free
 *	pages, records) from the newest meta page: every page reached lies
 *	in the file, is reached once, names itself and has the kind its
 *	level needs; its entries lie in it and tile it exactly (LMDB's
 *	in-place deletes move entries by their sizes); keys are in order;
 *	free lists name pages in range, none in use; the counts are the meta
 *	page's, and every page is in a tree or free (LMDB's own audit). A
 *	file cut after its last page in use is whole: LMDB may leave free
 *	pages at the end unwritten. The layout read is LMDB 0.9's (mdb.c,
 *	MDB_DATA_VERSION 1, 64-bit), which lmdb.h does not export; the meta
 *	page read is compared with what LMDB itself reports (mdb_env_info,
 *	mdb_env_stat), so another layout is refused rather than misread.
 *	Cost: one read of every page in use, once, at start.
 *
 *	A full map (MDB_MAP_FULL) is grown, doubling, up to CTL_STORE_GROW
 *	times the size asked at open, and the write is tried once more;
 *	after that the write fails with -ENOSPC.
 * THREADING
 *	One thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_store.h"

#define CTL_STORE_GROW	4	/* the map grows up to 4 x the size asked */

struct ctl_store {
	MDB_env *env;
	MDB_dbi dbi;
	char *path;
	bool batched;		/* commits without sync; ctl_store_sync does it */
	bool dirty;		/* committed since the last sync */
	uint64_t syncs;		/* ctl_store_sync calls that synced */
	uint64_t map_size;	/* the map now */
	uint64_t map_max;	/* it grows up to this */
};

/* LMDB 0.9's file layout (mdb.c): what the open-time check reads. */
#define LMDB_MAGIC	0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_PAGEHDR	16u	/* pgno 8, pad 2, flags 2, lower 2, upper 2 */
#define LMDB_NODEHDR	8u	/* lo 2, hi 2, flags 2, ksize 2 */
#define LMDB_P_BRANCH	0x01u
#define LMDB_P_LEAF	0x02u
#define LMDB_P_OVERFLOW	0x04u
#define LMDB_P_KINDS	0x6fu	/* branch leaf overflow meta leaf2 subp */
#define LMDB_F_BIGDATA	0x01u	/* the value is on overflow pages */
#define LMDB_METAS	2u	/* pages 0 and 1 */
#define LMDB_MAXKEY	511u
#define LMDB_MAXDEPTH	32u	/* CURSOR_STACK */
#define LMDB_NOPAGE	UINT64_MAX	/* root of an empty tree */
#define LMDB_FREE_FLAGS	(MDB_FIXEDMAP | MDB_INTEGERKEY | MDB_NOSUBDIR)
					/* the free pages' db's flags (the
					 * environment's, in the meta page) */

struct lmdb_db {		/* MDB_db */
	uint32_t pad;		/* free pages' db: the page size */
	uint16_t flags;
	uint16_t depth;
	uint64_t branch_pages;
	uint64_t leaf_pages;
	uint64_t overflow_pages;
	uint64_t entries;
	uint64_t root;
};

struct lmdb_meta {		/* MDB_meta, after the page header */
	uint32_t magic;
	uint32_t version;
	uint64_t address;
	uint64_t mapsize;
	struct lmdb_db db[2];	/* 0: free pages, 1: the records */
	uint64_t last_pg;
	uint64_t txnid;
};

_Static_assert(sizeof(struct lmdb_db) == 48, "LMDB 0.9 MDB_db");
_Static_assert(sizeof(struct lmdb_meta) == 136, "LMDB 0.9 MDB_meta");
_Static_assert(sizeof(size_t) == 8, "the LMDB layout checked is 64-bit's");

/* Field order of the value: postscreen's five, then ours. */
static const enum scr_test store_field[] = {
	SCR_TEST_PREGREET, SCR_TEST_DNSBL, SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP, SCR_TEST_BARE_NEWLINE, SCR_TEST_HELO,
};
#define STORE_NFIELD (sizeof(store_field) / sizeof(store_field[0]))

/* store_err - "path: message" into err */
static void store_err(char *err, size_t errlen, const char *path,
		      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* store_corrupt - "path: store is corrupt (what); move it away ..." */
static void store_corrupt(char *err, size_t errlen, const char *path,
			  const char *what)
{
	store_err(err, errlen, path, "store is corrupt (%s); move it away (mv %s "
		  "%s.bad) and restart: the daemon starts with an empty store",
		  what, path, path);
}

/* mdb_errno - an LMDB result as -errno */
static int mdb_errno(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return -ENOSPC;
	case MDB_CORRUPTED:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_PAGE_NOTFOUND:
		return -EBADMSG;
	case MDB_MAP_RESIZED:
		return -EAGAIN;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

/* ctl_store_addr_str - key text of an address */
const char *ctl_store_addr_str(const struct scr_addr *a, char *buf, size_t len)
{
	return ctl_cache_addr_str(a, buf, len);
}

/* ctl_store_addr_parse - address from key text */
int ctl_store_addr_parse(const char *s, size_t len, struct scr_addr *a)
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, tmp, a->b + 12) == 1) {
		a->b[10] = a->b[11] = 0xff;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, a->b) == 1)
		return 0;
	return -EINVAL;
}

/* ctl_store_format - the value text of an entry */
size_t ctl_store_format(const struct ctl_cache_entry *e, char *buf, size_t len)
{
	size_t n = 0, i;
	unsigned t;
	bool first = true;

#define PUT(...) do { \
		int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
		if (k_ > 0) n += (size_t)k_; \
	} while (0)
	for (i = 0; i < STORE_NFIELD; i++)
		PUT("%" PRIu64 ";", e->pass_until[store_field[i]]);
	PUT("%" PRIu64 ";", e->block_until);
	for (t = 0; t < SCR_TEST_MAX; t++) {
		if (!(e->block_reasons & SCR_TEST_BIT(t)))
			continue;
		PUT("%s%s", first ? "" : "|", scr_test_name[t]);
		first = false;
	}
#undef PUT
	return n;
}

/* parse_u64 - decimal field up to ';' or end; advances *p */
static int parse_u64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -EBADMSG;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*out = v;
	*p = s;
	return 0;
}

/* ctl_store_parse - entry from value text (addr untouched) */
int ctl_store_parse(const char *val, size_t len, struct ctl_cache_entry *e)
{
	const char *p = val, *end = val + len;
	size_t i;

	memset(e->pass_until, 0, sizeof(e->pass_until));
	e->block_until = 0;
	e->block_reasons = 0;
	/* Postscreen's five, then HELO, BLOCK, REASONS (ours, optional so a
	 * record written by postscreen reads as passes only). */
	for (i = 0; i < STORE_NFIELD + 1; i++) {
		uint64_t v;

		if (i >= 5 && p == end)
			return 0;
		if (parse_u64(&p, end, &v) != 0)
			return -EBADMSG;
		if (i < STORE_NFIELD)
			e->pass_until[store_field[i]] = v;
		else
			e->block_until = v;
		if (p == end)
			return i >= 4 ? 0 : -EBADMSG;
		if (*p != ';')
			return -EBADMSG;
		p++;
	}
	while (p < end) {
		const char *q = memchr(p, '|', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);
		unsigned t;

		for (t = 0; t < SCR_TEST_MAX; t++)
			if (strlen(scr_test_name[t]) == n &&
			    memcmp(scr_test_name[t], p, n) == 0)
				break;
		if (t == SCR_TEST_MAX)
			return -EBADMSG;
		e->block_reasons |= (scr_reasons)SCR_TEST_BIT(t);
		p += n;
		if (q) {
			p++;
			if (p == end)
				return -EBADMSG;
		}
	}
	return 0;
}

/* The open-time check's state. */
struct chk {
	int fd;
	uint64_t psize;
	uint64_t npages;	/* whole pages in the file */
	uint64_t last;		/* last page in use (meta) */
	uint8_t *seen;		/* a bit per page of the file */
	uint8_t *buf;		/* a page per tree level */
	uint16_t *span;		/* per 2 bytes of a page: the entry there */
	uint8_t *data;		/* an overflow value (free lists) */
	size_t dcap;
	unsigned dbi;		/* 0: free pages, 1: the records */
	uint64_t branch, leaf, overflow, entries;	/* of one tree */
	uint64_t used;		/* pages of both trees */
	uint64_t freed;		/* pages the free lists name */
	uint8_t prev[LMDB_MAXKEY];	/* the records' last key */
	size_t plen;
	bool have_prev;
	bool cut;		/* a page reached lies past the end */
	char why[200];
};

/* rd16 - a 16-bit field (LMDB writes host order) */
static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* rd32 - a 32-bit field */
static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* rd64 - a 64-bit field */
static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* chk_fail - what is wrong (the first finding wins); -EBADMSG */
static int chk_fail(struct chk *k, const char *fmt, ...)
{
	va_list ap;

	if (k->why[0] == 0) {
		va_start(ap, fmt);
		vsnprintf(k->why, sizeof(k->why), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* chk_pread - len bytes at off; a short read is a file cut under us */
static int chk_pread(struct chk *k, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(k->fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	if ((size_t)n != len) {
		k->cut = true;
		return -EBADMSG;
	}
	return 0;
}

/* chk_claim - pages pgno..pgno+n-1 are in use range, in the file and
 * reached for the first time */
static int chk_claim(struct chk *k, uint64_t pgno, uint64_t n)
{
	if (pgno < LMDB_METAS || pgno > k->last || n > k->last - pgno + 1)
		return chk_fail(k, "page %" PRIu64 ": out of range (the last "
				"page in use is %" PRIu64 ")", pgno, k->last);
	if (pgno + n > k->npages) {
		k->cut = true;
		return -EBADMSG;
	}
	for (uint64_t i = pgno; i < pgno + n; i++) {
		if (k->seen[i / 8] & (1u << (i % 8)))
			return chk_fail(k, "page %" PRIu64 ": reached twice", i);
		k->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	return 0;
}

/* chk_value - an entry's value: on its page or on overflow pages; for
 * the free pages' db the page list is checked */
static int chk_value(struct chk *k, uint64_t pgno, unsigned i,
		     const uint8_t *nd, size_t room)
{
	uint32_t dsize = rd16(nd) | (uint32_t)rd16(nd + 2) << 16;
	uint16_t nf = rd16(nd + 4), ks = rd16(nd + 6);
	const uint8_t *data = nd + LMDB_NODEHDR + ks;
	int ret;

	if (nf & ~LMDB_F_BIGDATA)
		return chk_fail(k, "page %" PRIu64 ": entry %u: flags 0x%x (a "
				"verdict store has no sub-databases)", pgno, i,
				(unsigned)nf);
	if (nf & LMDB_F_BIGDATA) {
		uint64_t ov, n;
		uint8_t h[LMDB_PAGEHDR];

		if (LMDB_NODEHDR + (size_t)ks + 8 > room)
			return chk_fail(k, "page %" PRIu64 ": entry %u: past the "
					"page", pgno, i);
		ov = rd64(data);
		n = (LMDB_PAGEHDR - 1 + (uint64_t)dsize) / k->psize + 1;
		if ((ret = chk_claim(k, ov, n)) != 0)
			return ret;
		if ((ret = chk_pread(k, h, sizeof(h), ov * k->psize)) != 0)
			return ret;
		if (rd64(h) != ov ||
		    (rd16(h + 10) & LMDB_P_KINDS) != LMDB_P_OVERFLOW ||
		    rd32(h + 12) != n)
			return chk_fail(k, "page %" PRIu64 ": not the overflow "
					"page of %" PRIu64 " pages entry %u of page %"
					PRIu64 " names", ov, n, i, pgno);
		k->overflow += n;
		if (k->dbi != 0)
			return 0;
		if (dsize > k->dcap) {
			uint8_t *d = realloc(k->data, dsize);

			if (d == NULL)
				return -ENOMEM;
			k->data = d;
			k->dcap = dsize;
		}
		if ((ret = chk_pread(k, k->data, dsize,
				     ov * k->psize + LMDB_PAGEHDR)) != 0)
			return ret;
		data = k->data;
	} else if (LMDB_NODEHDR + (size_t)ks + dsize > room) {
		return chk_fail(k, "page %" PRIu64 ": entry %u: value of %" PRIu32
				" bytes past the page", pgno, i, dsize);
	}
	if (k->dbi == 0) {
		/* key: a transaction id; value: count, then the pages */
		uint64_t cnt;

		if (ks != 8 || dsize < 8 || dsize % 8 != 0)
			return chk_fail(k, "page %" PRIu64 ": entry %u: not a free "
					"page list", pgno, i);
		cnt = rd64(data);
		if (cnt > dsize / 8 - 1)
			return chk_fail(k, "page %" PRIu64 ": entry %u: free page "
					"list of %" PRIu64 " in %" PRIu32 " bytes",
					pgno, i, cnt, dsize);
		for (uint64_t j = 1; j <= cnt; j++) {
			uint64_t pg = rd64(data + 8 * j);

			if (pg < LMDB_METAS || pg > k->last)
				return chk_fail(k, "page %" PRIu64 ": entry %u: "
						"free page %" PRIu64 " out of range",
						pgno, i, pg);
			/* past the end of the file: a free tail, never read */
			if (pg >= k->npages)
				continue;
			if (k->seen[pg / 8] & (1u << (pg % 8)))
				return chk_fail(k, "page %" PRIu64 ": free and in "
						"use", pg);
			k->seen[pg / 8] |= (uint8_t)(1u << (pg % 8));
		}
		k->freed += cnt;
	}
	return 0;
}

/* chk_nodes - the entries of page pgno (p) lie in the page and tile
 * upper..psize exactly, as LMDB keeps them: an in-place delete moves
 * the entries below one by its size, so an overlap, a gap or a size
 * that lies turns a later write into garbage */
static int chk_nodes(struct chk *k, uint64_t pgno, const uint8_t *p,
		     unsigned upper, unsigned nkeys, bool leaf)
{
	unsigned pos, n;

	memset(k->span, 0, (size_t)(k->psize / 2) * sizeof(*k->span));
	for (unsigned i = 0; i < nkeys; i++) {
		unsigned off = rd16(p + LMDB_PAGEHDR + 2 * i), ks;
		const uint8_t *nd = p + off;
		uint64_t sz;

		if (off < upper || off % 2 != 0 ||
		    off + LMDB_NODEHDR > k->psize)
			return chk_fail(k, "page %" PRIu64 ": entry %u at %u, "
					"outside %u..%" PRIu64, pgno, i, off,
					upper, k->psize);
		ks = rd16(nd + 6);
		if (ks > LMDB_MAXKEY)
			return chk_fail(k, "page %" PRIu64 ": entry %u: key of "
					"%u bytes", pgno, i, ks);
		sz = LMDB_NODEHDR + ks;
		if (leaf)
			sz += (rd16(nd + 4) & LMDB_F_BIGDATA) ? 8 :
			      (rd16(nd) | (uint64_t)rd16(nd + 2) << 16);
		sz += sz & 1;
		if (off + sz > k->psize)
			return chk_fail(k, "page %" PRIu64 ": entry %u: %" PRIu64
					" bytes at %u, past the page", pgno, i,
					sz, off);
		if (k->span[off / 2] != 0)
			return chk_fail(k, "page %" PRIu64 ": entry %u: at %u "
					"twice", pgno, i, off);
		k->span[off / 2] = (uint16_t)(sz / 2);
	}
	for (pos = upper, n = 0; pos < k->psize; n++) {
		if (k->span[pos / 2] == 0)
			return chk_fail(k, "page %" PRIu64 ": entries do not "
					"fill the page (nothing at %u)", pgno, pos);
		pos += 2u * k->span[pos / 2];
	}
	if (pos != k->psize || n != nkeys)
		return chk_fail(k, "page %" PRIu64 ": entries overlap", pgno);
	return 0;
}

/* chk_page - one page of a tree at level (0: root) of depth levels, and
 * everything below it */
static int chk_page(struct chk *k, uint64_t pgno, unsigned level,
		    unsigned depth)
{
	uint8_t *p = k->buf + (size_t)level * k->psize;
	unsigned want = level + 1 == depth ? LMDB_P_LEAF : LMDB_P_BRANCH;
	unsigned flags, lower, upper, nkeys;
	int ret;

	if ((ret = chk_claim(k, pgno, 1)) != 0 ||
	    (ret = chk_pread(k, p, k->psize, pgno * k->psize)) != 0)
		return ret;
	if (rd64(p) != pgno)
		return chk_fail(k, "page %" PRIu64 ": its header says page %"
				PRIu64, pgno, rd64(p));
	flags = rd16(p + 10) & LMDB_P_KINDS;
	if (flags != want)
		return chk_fail(k, "page %" PRIu64 ": flags 0x%x where a %s page "
				"belongs", pgno, flags,
				want == LMDB_P_LEAF ? "leaf" : "branch");
	lower = rd16(p + 12);
	upper = rd16(p + 14);
	if (lower < LMDB_PAGEHDR + 2 || lower > upper || upper > k->psize ||
	    (lower - LMDB_PAGEHDR) % 2 != 0 || upper % 2 != 0)
		return chk_fail(k, "page %" PRIu64 ": bad bounds %u..%u", pgno,
				lower, upper);
	nkeys = (lower - LMDB_PAGEHDR) / 2;
	if ((ret = chk_nodes(k, pgno, p, upper, nkeys,
			     want == LMDB_P_LEAF)) != 0)
		return ret;
	if (want == LMDB_P_LEAF)
		k->leaf++;
	else
		k->branch++;
	for (unsigned i = 0; i < nkeys; i++) {
		unsigned off = rd16(p + LMDB_PAGEHDR + 2 * i);
		const uint8_t *nd = p + off;
		unsigned ks = rd16(nd + 6);

		if (want == LMDB_P_BRANCH) {
			uint64_t child = rd16(nd) | (uint64_t)rd16(nd + 2) << 16 |
					 (uint64_t)rd16(nd + 4) << 32;

			if ((ret = chk_page(k, child, level + 1, depth)) != 0)
				return ret;
			continue;
		}
		if (ks == 0)
			return chk_fail(k, "page %" PRIu64 ": entry %u: empty key",
					pgno, i);
		if (k->dbi == 1) {
			const uint8_t *key = nd + LMDB_NODEHDR;
			size_t m = ks < k->plen ? ks : k->plen;
			int d = memcmp(key, k->prev, m);

			if (k->have_prev && (d < 0 || (d == 0 && ks <= k->plen)))
				return chk_fail(k, "page %" PRIu64 ": entry %u: "
						"keys out of order", pgno, i);
			memcpy(k->prev, key, ks);
			k->plen = ks;
			k->have_prev = true;
		}
		if ((ret = chk_value(k, pgno, i, nd, k->psize - off)) != 0)
			return ret;
		k->entries++;
	}
	return 0;
}

/* chk_tree - one database's tree against its counts in the meta page */
static int chk_tree(struct chk *k, const struct lmdb_db *db, unsigned dbi)
{
	static const char *const name[] = { "free page list", "records" };
	int ret;

	k->dbi = dbi;
	k->branch = k->leaf = k->overflow = k->entries = 0;
	if (db->root == LMDB_NOPAGE) {
		if (db->depth != 0 || db->entries != 0)
			return chk_fail(k, "%s: no root page, but %" PRIu64
					" entries", name[dbi], db->entries);
		return 0;
	}
	if (db->depth == 0 || db->depth > LMDB_MAXDEPTH)
		return chk_fail(k, "%s: depth %u", name[dbi], db->depth);
	if ((ret = chk_page(k, db->root, 0, db->depth)) != 0)
		return ret;
	k->used += k->branch + k->leaf + k->overflow;
	if (k->branch != db->branch_pages || k->leaf != db->leaf_pages ||
	    k->overflow != db->overflow_pages || k->entries != db->entries)
		return chk_fail(k, "%s: %" PRIu64 " entries on %" PRIu64 "/%"
				PRIu64 "/%" PRIu64 " branch/leaf/overflow pages, "
				"the meta page says %" PRIu64 " on %" PRIu64 "/%"
				PRIu64 "/%" PRIu64, name[dbi], k->entries,
				k->branch, k->leaf, k->overflow, db->entries,
				db->branch_pages, db->leaf_pages,
				db->overflow_pages);
	return 0;
}

/* store_check - the open file is whole and its trees are sound; before
 * any transaction. 0, or -errno with the message in err */
static int store_check(struct ctl_store *s, char *err, size_t errlen)
{
	struct chk k;
	struct lmdb_meta m[LMDB_METAS];
	const struct lmdb_meta *mm;
	uint8_t hdr[LMDB_PAGEHDR + sizeof(struct lmdb_meta)];
	MDB_envinfo ei;
	MDB_stat st;
	struct stat fs;
	char what[300];
	int ret;

	memset(&k, 0, sizeof(k));
	if (mdb_env_get_fd(s->env, &k.fd) != 0 || fstat(k.fd, &fs) != 0 ||
	    mdb_env_info(s->env, &ei) != 0 || mdb_env_stat(s->env, &st) != 0) {
		store_err(err, errlen, s->path, "cannot check the verdict store: "
			  "%s", strerror(errno));
		return -EIO;
	}
	k.psize = st.ms_psize;
	k.npages = (uint64_t)fs.st_size / k.psize;
	for (unsigned i = 0; i < LMDB_METAS; i++) {
		if ((ret = chk_pread(&k, hdr, sizeof(hdr), i * k.psize)) != 0)
			goto out;
		memcpy(&m[i], hdr + LMDB_PAGEHDR, sizeof(m[i]));
	}
	mm = &m[m[0].txnid < m[1].txnid];	/* LMDB's pick: the newest */
	if (mm->magic != LMDB_MAGIC || mm->version != LMDB_DATA_VERSION ||
	    mm->db[0].pad != k.psize || mm->last_pg != ei.me_last_pgno ||
	    mm->txnid != ei.me_last_txnid || mm->db[1].depth != st.ms_depth ||
	    mm->db[1].entries != st.ms_entries ||
	    mm->db[1].leaf_pages != st.ms_leaf_pages) {
		store_err(err, errlen, s->path, "cannot check the verdict store: "
			  "its meta page is not laid out as LMDB 0.9's (this "
			  "build reads LMDB %d.%d.%d files)", MDB_VERSION_MAJOR,
			  MDB_VERSION_MINOR, MDB_VERSION_PATCH);
		return -EPROTO;
	}
	k.last = mm->last_pg;
	k.seen = calloc((size_t)(k.npages / 8 + 1), 1);
	k.buf = malloc((size_t)(LMDB_MAXDEPTH * k.psize));
	k.span = malloc((size_t)(k.psize / 2) * sizeof(*k.span));
	if (k.seen == NULL || k.buf == NULL || k.span == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	/* LMDB takes both trees' flags from the meta page; a DUPSORT bit,
	 * say, sends its cursors down a path that asserts */
	if (mm->db[1].flags != 0)
		ret = chk_fail(&k, "records: database flags 0x%x (a verdict "
			       "store has none)", (unsigned)mm->db[1].flags);
	else if (mm->db[0].flags & ~LMDB_FREE_FLAGS)
		ret = chk_fail(&k, "free page list: database flags 0x%x",
			       (unsigned)mm->db[0].flags);
	else if ((ret = chk_tree(&k, &mm->db[1], 1)) == 0 &&
		 (ret = chk_tree(&k, &mm->db[0], 0)) == 0 &&
		 k.used + k.freed + LMDB_METAS != k.last + 1)
		/* LMDB's own audit: every page is in a tree or free */
		ret = chk_fail(&k, "%" PRIu64 " pages in use, %" PRIu64 " free "
			       "and %u meta pages, but the last page is %" PRIu64,
			       k.used, k.freed, LMDB_METAS, k.last);
out:
	if (k.cut) {
		snprintf(what, sizeof(what), "truncated: %" PRIu64 " of %" PRIu64
			 " bytes", (uint64_t)fs.st_size, (k.last + 1) * k.psize);
		store_corrupt(err, errlen, s->path, what);
		ret = -EBADMSG;
	} else if (ret == -EBADMSG) {
		store_corrupt(err, errlen, s->path, k.why);
	} else if (ret < 0) {
		store_err(err, errlen, s->path, "cannot check the verdict store: "
			  "%s", strerror(-ret));
	}
	free(k.seen);
	free(k.buf);
	free(k.span);
	free(k.data);
	return ret;
}

/* store_precheck - the meta pages' fields LMDB trusts once their magic
 * is right: it divides by the page size, reads the second meta page at
 * that offset through the map, and maps up to the last page. 0 (also for
 * what LMDB refuses by itself: no file, no magic), or -EBADMSG with the
 * message in err */
static int store_precheck(const char *path, char *err, size_t errlen)
{
	uint8_t hdr[LMDB_PAGEHDR + sizeof(struct lmdb_meta)];
	struct lmdb_meta m[LMDB_METAS];
	char what[200];
	uint64_t psize = 0;
	unsigned i, nw;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (i = 0; i < LMDB_METAS; i++) {
		if (pread(fd, hdr, sizeof(hdr), (off_t)(i * psize)) !=
		    (ssize_t)sizeof(hdr))
			break;
		memcpy(&m[i], hdr + LMDB_PAGEHDR, sizeof(m[i]));
		if (m[i].magic != LMDB_MAGIC || m[i].version != LMDB_DATA_VERSION)
			break;
		if (i == 0)
			psize = m[0].db[0].pad;
		if (m[i].db[0].pad != psize || psize < 512 || psize > 32768 ||
		    (psize & (psize - 1)) != 0) {
			snprintf(what, sizeof(what), "meta page %u: page size %"
				 PRIu32, i, m[i].db[0].pad);
			goto bad;
		}
	}
	close(fd);
	if (i < LMDB_METAS)
		return 0;
	nw = m[0].txnid < m[1].txnid;	/* LMDB's pick: the newest */
	if (m[nw].last_pg < LMDB_METAS - 1 ||
	    m[nw].last_pg >= (UINT64_C(1) << 47) / psize) {
		snprintf(what, sizeof(what), "meta page %u: last page %" PRIu64,
			 nw, m[nw].last_pg);
		store_corrupt(err, errlen, path, what);
		return -EBADMSG;
	}
	return 0;
bad:
	close(fd);
	store_corrupt(err, errlen, path, what);
	return -EBADMSG;
}

/* txn_begin - a transaction; a map another process grew is taken on */
static int txn_begin(struct ctl_store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);

	if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(s->env, 0)) == 0) {
		MDB_envinfo ei;

		if (mdb_env_info(s->env, &ei) == 0)
			s->map_size = ei.me_mapsize;
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc;
}

/* store_grow - double the map, up to map_max; an LMDB result, and
 * MDB_MAP_FULL at the ceiling */
static int store_grow(struct ctl_store *s)
{
	uint64_t n = s->map_size * 2;
	int rc;

	if (n > s->map_max)
		n = s->map_max;
	if (n <= s->map_size)
		return MDB_MAP_FULL;
	rc = mdb_env_set_mapsize(s->env, (size_t)n);
	if (rc == 0)
		s->map_size = n;
	return rc;
}

/* store_write - fn in a write transaction, committed; on a full map the
 * map grows and fn runs once more. An LMDB result */
static int store_write(struct ctl_store *s,
		       int (*fn)(struct ctl_store *s, MDB_txn *txn, void *arg),
		       void *arg)
{
	MDB_txn *txn;
	int rc;

	for (unsigned tries = 0;; tries++) {
		rc = txn_begin(s, 0, &txn);
		if (rc != 0)
			return rc;
		rc = fn(s, txn, arg);
		if (rc == 0) {
			s->dirty = true;
			rc = mdb_txn_commit(txn);	/* frees txn either way */
		} else {
			mdb_txn_abort(txn);
		}
		if (rc != MDB_MAP_FULL || tries > 0 || store_grow(s) != 0)
			return rc;
	}
}

/* ctl_store_open - open or create the store file */
struct ctl_store *ctl_store_open(const char *path, uint64_t map_size,
				 char *err, size_t errlen)
{
	struct ctl_store *s;
	MDB_txn *txn = NULL;
	struct stat st;
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		store_err(err, errlen, path, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		store_err(err, errlen, path, "not a regular file (the verdict "
			  "store is one LMDB file, smtpscreen_cache_file)");
		rc = EINVAL;
		goto out;
	}
	/* the ceiling comes from the size asked, not from the file: a store
	 * grown in one run does not raise the next run's ceiling */
	s->map_max = map_size > UINT64_MAX / CTL_STORE_GROW ? UINT64_MAX :
		     map_size * CTL_STORE_GROW;
	if (stat(path, &st) == 0 && (uint64_t)st.st_size > map_size)
		map_size = (uint64_t)st.st_size;
	if (s->map_max < map_size)
		s->map_max = map_size;
	rc = store_precheck(path, err, errlen);
	if (rc < 0) {
		rc = -rc;
		goto out;
	}
	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
	if (rc != 0) {
		store_err(err, errlen, path, "LMDB environment: %s", mdb_strerror(rc));
		goto out;
	}
	rc = mdb_env_open(s->env, path, MDB_NOSUBDIR, 0600);
	if (rc != 0) {
		if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
		    rc == MDB_CORRUPTED)
			store_err(err, errlen, path, "not a usable LMDB verdict store "
				  "(%s); move it away (mv %s %s.bad) and restart: the "
				  "daemon starts with an empty store",
				  mdb_strerror(rc), path, path);
		else if (rc == ENOMEM && stat(path, &st) == 0 && st.st_size > 0)
			store_err(err, errlen, path, "cannot map the verdict store: "
				  "%s (if its meta page is damaged, move it away (mv "
				  "%s %s.bad) and restart: the daemon starts with an "
				  "empty store)", mdb_strerror(rc), path, path);
		else
			store_err(err, errlen, path, "cannot open the verdict store: %s",
				  mdb_strerror(rc));
		goto out;
	}
	/* before the first transaction reads a page through the map */
	rc = store_check(s, err, errlen);
	if (rc < 0) {
		rc = -rc;
		goto out;
	}
	{
		MDB_envinfo ei;

		rc = mdb_env_info(s->env, &ei);
		s->map_size = rc == 0 ? ei.me_mapsize : map_size;
	}
	rc = txn_begin(s, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc != 0) {
		store_err(err, errlen, path, "cannot open the verdict database: %s",
			  mdb_strerror(rc));
		goto out;
	}
	return s;
out:
	if (txn)
		mdb_txn_abort(txn);
	ctl_store_close(s);
	errno = rc > 0 ? rc : EINVAL;
	if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH)
		errno = EBADMSG;
	return NULL;
}

/* ctl_store_set_batched - commits without their own sync (on), for a
 * caller that calls ctl_store_sync once per batch of writes */
int ctl_store_set_batched(struct ctl_store *s, bool on)
{
	int rc = mdb_env_set_flags(s->env, MDB_NOSYNC, on ? 1 : 0);

	if (rc == 0)
		s->batched = on;
	return mdb_errno(rc);
}

/* ctl_store_sync - the writes since the last sync, to disk (one fsync) */
int ctl_store_sync(struct ctl_store *s)
{
	if (!s->dirty)
		return 0;
	s->dirty = false;
	s->syncs++;
	return mdb_errno(mdb_env_sync(s->env, 1));
}

/* ctl_store_syncs - how many batches ctl_store_sync wrote out */
uint64_t ctl_store_syncs(const struct ctl_store *s)
{
	return s->syncs;
}

/* ctl_store_close - close the environment (a batch still open is synced) */
void ctl_store_close(struct ctl_store *s)
{
	if (s == NULL)
		return;
	if (s->env && s->batched)
		(void)ctl_store_sync(s);
	if (s->env)
		mdb_env_close(s->env);
	free(s->path);
	free(s);
}

/* ctl_store_path - the file name, for messages */
const char *ctl_store_path(const struct ctl_store *s)
{
	return s->path;
}

/* A key and value to put, or a key to delete. */
struct kv {
	MDB_val k, v;
};

/* put_fn - store_write body: put */
static int put_fn(struct ctl_store *s, MDB_txn *txn, void *arg)
{
	struct kv *kv = arg;

	return mdb_put(txn, s->dbi, &kv->k, &kv->v, 0);
}

/* put_raw - one key/value in its own committed transaction */
static int put_raw(struct ctl_store *s, const char *key, size_t klen,
		   const char *val, size_t vlen)
{
	struct kv kv = {
		.k = {.mv_size = klen, .mv_data = (void *)key},
		.v = {.mv_size = vlen, .mv_data = (void *)val},
	};

	return mdb_errno(store_write(s, put_fn, &kv));
}

/* ctl_store_put - write one client's record */
int ctl_store_put(struct ctl_store *s, const struct ctl_cache_entry *e)
{
	char key[INET6_ADDRSTRLEN], val[CTL_STORE_VALUE_MAX];
	size_t n;

	if (ctl_store_addr_str(&e->addr, key, sizeof(key)) == NULL)
		return -EINVAL;
	n = ctl_store_format(e, val, sizeof(val));
	if (n >= sizeof(val))
		return -EOVERFLOW;
	return put_raw(s, key, strlen(key), val, n);
}

/* ctl_store_get - read one client's record */
int ctl_store_get(struct ctl_store *s, const struct scr_addr *addr,
		  struct ctl_cache_entry *out)
{
	char key[INET6_ADDRSTRLEN];
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	if (ctl_store_addr_str(addr, key, sizeof(key)) == NULL)
		return -EINVAL;
	k.mv_size = strlen(key);
	k.mv_data = key;
	rc = txn_begin(s, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_errno(rc);
	rc = mdb_get(txn, s->dbi, &k, &v);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->addr = *addr;
		rc = ctl_store_parse(v.mv_data, v.mv_size, out);
		mdb_txn_abort(txn);
		return rc;
	}
	mdb_txn_abort(txn);
	return mdb_errno(rc);
}

/* del_fn - store_write body: delete */
static int del_fn(struct ctl_store *s, MDB_txn *txn, void *arg)
{
	struct kv *kv = arg;

	return mdb_del(txn, s->dbi, &kv->k, NULL);
}

/* ctl_store_del - remove one client's record */
int ctl_store_del(struct ctl_store *s, const struct scr_addr *addr)
{
	char key[INET6_ADDRSTRLEN];
	struct kv kv;

	if (ctl_store_addr_str(addr, key, sizeof(key)) == NULL)
		return -EINVAL;
	kv.k.mv_size = strlen(key);
	kv.k.mv_data = key;
	return mdb_errno(store_write(s, del_fn, &kv));
}

/* is_meta - the cleanup-time key */
static bool is_meta(const MDB_val *k)
{
	return k->mv_size == strlen(CTL_STORE_CLEANUP_KEY) &&
	       memcmp(k->mv_data, CTL_STORE_CLEANUP_KEY, k->mv_size) == 0;
}

/* ctl_store_foreach - every client record, in key order */
int ctl_store_foreach(struct ctl_store *s,
		      int (*cb)(void *arg, const struct ctl_cache_entry *e),
		      void *arg, uint64_t *bad)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, ret = 0;

	if (bad)
		*bad = 0;
	rc = txn_begin(s, MDB_RDONLY, &txn);
	if (rc != 0)
		return mdb_errno(rc);
	rc = mdb_cursor_open(txn, s->dbi, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ctl_cache_entry e;

		if (is_meta(&k))
			continue;
		memset(&e, 0, sizeof(e));
		if (ctl_store_addr_parse(k.mv_data, k.mv_size, &e.addr) != 0 ||
		    ctl_store_parse(v.mv_data, v.mv_size, &e) != 0) {
			if (bad)
				(*bad)++;
			continue;
		}
		ret = cb(arg, &e);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != MDB_NOTFOUND)
		ret = mdb_errno(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

/* newest - the latest time in a record */
static uint64_t newest(const struct ctl_cache_entry *e)
{
	uint64_t m = e->block_until;
	unsigned t;

	for (t = 0; t < SCR_TEST_MAX; t++)
		if (e->pass_until[t] > m)
			m = e->pass_until[t];
	return m;
}

/* What a cleanup is asked and what it did. */
struct cleanup {
	uint64_t now_s, retention_s;
	uint64_t keep, drop;
};

/* cleanup_fn - store_write body: the cleanup */
static int cleanup_fn(struct ctl_store *s, MDB_txn *txn, void *arg)
{
	struct cleanup *c = arg;
	char val[32];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, n;

	c->keep = c->drop = 0;
	rc = mdb_cursor_open(txn, s->dbi, &cur);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ctl_cache_entry e;
		bool bad;

		if (is_meta(&k))
			continue;
		memset(&e, 0, sizeof(e));
		/* An unparsable record is dropped like an expired one (as
		 * postscreen's validator does). */
		bad = ctl_store_addr_parse(k.mv_data, k.mv_size, &e.addr) != 0 ||
		      ctl_store_parse(v.mv_data, v.mv_size, &e) != 0;
		if (bad || newest(&e) + c->retention_s < c->now_s) {
			rc = mdb_cursor_del(cur, 0);
			if (rc != 0)
				break;
			c->drop++;
		} else {
			c->keep++;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	n = snprintf(val, sizeof(val), "%" PRIu64, c->now_s);
	k.mv_size = strlen(CTL_STORE_CLEANUP_KEY);
	k.mv_data = (void *)CTL_STORE_CLEANUP_KEY;
	v.mv_size = (size_t)n;
	v.mv_data = val;
	return mdb_put(txn, s->dbi, &k, &v, 0);
}

/* ctl_store_cleanup - drop records expired for longer than retention */
int ctl_store_cleanup(struct ctl_store *s, uint64_t now_s, uint64_t retention_s,
		      uint64_t *retained, uint64_t *dropped)
{
	struct cleanup c = { .now_s = now_s, .retention_s = retention_s };
	int rc;

	rc = store_write(s, cleanup_fn, &c);
	if (rc != 0)
		return mdb_errno(rc);
	if (retained)
		*retained = c.keep;
	if (dropped)
		*dropped = c.drop;
	return 0;
}

/* ctl_store_last_cleanup - time of the last completed cleanup */
uint64_t ctl_store_last_cleanup(struct ctl_store *s)
{
	MDB_val k = {.mv_size = strlen(CTL_STORE_CLEANUP_KEY),
		     .mv_data = (void *)CTL_STORE_CLEANUP_KEY};
	MDB_val v;
	MDB_txn *txn;
	uint64_t t = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_get(txn, s->dbi, &k, &v) == 0) {
		const char *p = v.mv_data;

		if (parse_u64(&p, p + v.mv_size, &t) != 0 ||
		    p != (const char *)v.mv_data + v.mv_size)
			t = 0;
	}
	mdb_txn_abort(txn);
	return t;
}

/* ctl_store_count - client records (the cleanup key excluded) */
uint64_t ctl_store_count(struct ctl_store *s)
{
	MDB_txn *txn;
	MDB_stat st;
	uint64_t n = 0;

	if (txn_begin(s, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_stat(txn, s->dbi, &st) == 0) {
		MDB_val k = {.mv_size = strlen(CTL_STORE_CLEANUP_KEY),
			     .mv_data = (void *)CTL_STORE_CLEANUP_KEY};
		MDB_val v;

		n = st.ms_entries;
		if (n && mdb_get(txn, s->dbi, &k, &v) == 0)
			n--;
	}
	mdb_txn_abort(txn);
	return n;
}

/* ctl_store_map_size - the map now (it grows on a full map) */
uint64_t ctl_store_map_size(const struct ctl_store *s)
{
	return s->map_size;
}
