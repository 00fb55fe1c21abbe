/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_store - the persistent verdict store (LMDB)
 * DESCRIPTION
 *	See ctl_store.h. One environment, the unnamed database, MDB_NOSUBDIR.
 *	Values are text so that the record reads like postscreen's.
 * THREADING
 *	One thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_store.h"

struct ctl_store {
	MDB_env *env;
	MDB_dbi dbi;
	char *path;
	bool batched;		/* commits without sync; ctl_store_sync does it */
	bool dirty;		/* committed since the last sync */
	uint64_t syncs;		/* ctl_store_sync calls that synced */
};

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
		e->block_reasons |= (uint8_t)SCR_TEST_BIT(t);
		p += n;
		if (q) {
			p++;
			if (p == end)
				return -EBADMSG;
		}
	}
	return 0;
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
	if (stat(path, &st) == 0 && (uint64_t)st.st_size > map_size)
		map_size = (uint64_t)st.st_size;
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
				  "(%s); move it away to start with an empty cache",
				  mdb_strerror(rc));
		else
			store_err(err, errlen, path, "cannot open the verdict store: %s",
				  mdb_strerror(rc));
		goto out;
	}
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
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

/* put_raw - one key/value in its own committed transaction */
static int put_raw(struct ctl_store *s, const char *key, size_t klen,
		   const char *val, size_t vlen)
{
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return mdb_errno(rc);
	rc = mdb_put(txn, s->dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	s->dirty = true;
	return mdb_errno(mdb_txn_commit(txn));
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
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
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

/* ctl_store_del - remove one client's record */
int ctl_store_del(struct ctl_store *s, const struct scr_addr *addr)
{
	char key[INET6_ADDRSTRLEN];
	MDB_val k;
	MDB_txn *txn;
	int rc;

	if (ctl_store_addr_str(addr, key, sizeof(key)) == NULL)
		return -EINVAL;
	k.mv_size = strlen(key);
	k.mv_data = key;
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return mdb_errno(rc);
	rc = mdb_del(txn, s->dbi, &k, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	s->dirty = true;
	return mdb_errno(mdb_txn_commit(txn));
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
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
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

/* ctl_store_cleanup - drop records expired for longer than retention */
int ctl_store_cleanup(struct ctl_store *s, uint64_t now_s, uint64_t retention_s,
		      uint64_t *retained, uint64_t *dropped)
{
	char val[32];
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t keep = 0, drop = 0;
	int rc, n;

	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
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
		bool bad;

		if (is_meta(&k))
			continue;
		memset(&e, 0, sizeof(e));
		/* An unparsable record is dropped like an expired one (as
		 * postscreen's validator does). */
		bad = ctl_store_addr_parse(k.mv_data, k.mv_size, &e.addr) != 0 ||
		      ctl_store_parse(v.mv_data, v.mv_size, &e) != 0;
		if (bad || newest(&e) + retention_s < now_s) {
			rc = mdb_cursor_del(cur, 0);
			if (rc != 0)
				break;
			drop++;
		} else {
			keep++;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	n = snprintf(val, sizeof(val), "%" PRIu64, now_s);
	k.mv_size = strlen(CTL_STORE_CLEANUP_KEY);
	k.mv_data = (void *)CTL_STORE_CLEANUP_KEY;
	v.mv_size = (size_t)n;
	v.mv_data = val;
	rc = mdb_put(txn, s->dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	s->dirty = true;
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		return mdb_errno(rc);
	if (retained)
		*retained = keep;
	if (dropped)
		*dropped = drop;
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

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
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

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
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
