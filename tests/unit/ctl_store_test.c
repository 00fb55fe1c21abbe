/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl_store_test - LMDB verdict store: record text, put/get/del, reopen,
 * cleanup with retention, corrupt and unusable files: truncated at every
 * page, garbage over every page (refused with the way out, or loaded;
 * never a SIGBUS or an LMDB assertion), a map that fills up (grows, then
 * -ENOSPC at its ceiling) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "ctl_store.h"

#define MAP_SIZE (16u << 20)

static char dir[64];
static char path[128];

/* setup - a fresh directory per test */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ctl_store_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/verdicts.lmdb", dir);
	return 0;
}

/* teardown - remove the files and the directory */
static int teardown(void **state)
{
	char lock[160];

	(void)state;
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	unlink(lock);
	rmdir(dir);
	return 0;
}

/* addr4 - v4-mapped 198.18.x.y */
static struct scr_addr addr4(uint8_t x, uint8_t y)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	a.b[12] = 198;
	a.b[13] = 18;
	a.b[14] = x;
	a.b[15] = y;
	return a;
}

/* Record text: bad input first. */
static const struct {
	const char *label;
	const char *text;
	int ret;
	uint64_t pregreet, dnsbl, pipelining, non_smtp, bare, helo, block;
	uint8_t reasons;
} parse_cases[] = {
	{ "empty", "", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "four fields", "1;2;3;4", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "letters", "1;x;3;4;5", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "negative", "1;-2;3;4;5", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "overflow", "99999999999999999999;0;0;0;0", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "junk after number", "1;2;3;4;5x", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "unknown reason", "0;0;0;0;0;0;100;pregreet|bogus", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "reason list ends in |", "0;0;0;0;0;0;100;pregreet|", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "postscreen's own record", "1795580707;1;0;0;0", 0,
	  1795580707, 1, 0, 0, 0, 0, 0, 0 },
	{ "postscreen record, all passed", "10;20;30;40;50", 0, 10, 20, 30, 40, 50, 0, 0, 0 },
	{ "ours, passed", "10;20;30;40;50;60;0;", 0, 10, 20, 30, 40, 50, 60, 0, 0 },
	{ "ours, blocked", "0;0;0;0;0;0;1700000000;pregreet|helo", 0,
	  0, 0, 0, 0, 0, 0, 1700000000,
	  SCR_TEST_BIT(SCR_TEST_PREGREET) | SCR_TEST_BIT(SCR_TEST_HELO) },
};

/* test_parse_table - each record text parses (or not) as expected */
static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct ctl_cache_entry e;
		int rc;

		memset(&e, 0xaa, sizeof(e));
		rc = ctl_store_parse(parse_cases[i].text, strlen(parse_cases[i].text), &e);
		if (rc != parse_cases[i].ret)
			fail_msg("%s: ret %d, want %d", parse_cases[i].label, rc,
				 parse_cases[i].ret);
		if (rc != 0)
			continue;
		assert_int_equal(e.pass_until[SCR_TEST_PREGREET], parse_cases[i].pregreet);
		assert_int_equal(e.pass_until[SCR_TEST_DNSBL], parse_cases[i].dnsbl);
		assert_int_equal(e.pass_until[SCR_TEST_PIPELINING], parse_cases[i].pipelining);
		assert_int_equal(e.pass_until[SCR_TEST_NON_SMTP], parse_cases[i].non_smtp);
		assert_int_equal(e.pass_until[SCR_TEST_BARE_NEWLINE], parse_cases[i].bare);
		assert_int_equal(e.pass_until[SCR_TEST_HELO], parse_cases[i].helo);
		assert_int_equal(e.block_until, parse_cases[i].block);
		assert_int_equal(e.block_reasons, parse_cases[i].reasons);
	}
}

/* Key text: bad first. */
static const struct {
	const char *label;
	const char *text;
	int ret;
	const char *back;	/* ctl_store_addr_str of the result */
} addr_cases[] = {
	{ "empty", "", -EINVAL, NULL },
	{ "hostname", "mail.example", -EINVAL, NULL },
	{ "bad quad", "198.18.0.256", -EINVAL, NULL },
	{ "ipv4", "198.18.0.5", 0, "198.18.0.5" },
	{ "ipv6", "2001:db8::5", 0, "2001:db8::5" },
};

/* test_addr_table - key text both ways */
static void test_addr_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		struct scr_addr a;
		char buf[64];
		int rc = ctl_store_addr_parse(addr_cases[i].text,
					      strlen(addr_cases[i].text), &a);

		if (rc != addr_cases[i].ret)
			fail_msg("%s: ret %d, want %d", addr_cases[i].label, rc,
				 addr_cases[i].ret);
		if (rc == 0)
			assert_string_equal(ctl_store_addr_str(&a, buf, sizeof(buf)),
					    addr_cases[i].back);
	}
}

/* test_format_roundtrip - format then parse gives the same entry */
static void test_format_roundtrip(void **state)
{
	struct ctl_cache_entry e, f;
	char buf[CTL_STORE_VALUE_MAX];
	size_t n;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.pass_until[SCR_TEST_PREGREET] = 1795580707;
	e.pass_until[SCR_TEST_DNSBL] = 1;
	e.pass_until[SCR_TEST_HELO] = 42;
	e.block_until = 7;
	e.block_reasons = SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE) |
			  SCR_TEST_BIT(SCR_TEST_NON_SMTP);
	n = ctl_store_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "1795580707;1;0;0;0;42;7;bare_newline|non_smtp_command");
	assert_int_equal(n, strlen(buf));
	memset(&f, 0, sizeof(f));
	assert_int_equal(ctl_store_parse(buf, n, &f), 0);
	assert_memory_equal(f.pass_until, e.pass_until, sizeof(e.pass_until));
	assert_int_equal(f.block_until, e.block_until);
	assert_int_equal(f.block_reasons, e.block_reasons);
}

/* test_open_not_a_store - a file that is not LMDB is refused naming it */
static void test_open_not_a_store(void **state)
{
	char err[512];
	int fd;

	(void)state;
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, "this is not an lmdb file....\n", 29), 29);
	close(fd);
	err[0] = 0;
	assert_null(ctl_store_open(path, MAP_SIZE, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a usable LMDB verdict store"));
}

/* test_open_directory - a directory where the file should be */
static void test_open_directory(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(ctl_store_open(path, MAP_SIZE, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a regular file"));
	rmdir(path);
}

/* test_open_missing_dir - parent directory missing */
static void test_open_missing_dir(void **state)
{
	char err[512], p[200];

	(void)state;
	snprintf(p, sizeof(p), "%s/nodir/verdicts.lmdb", dir);
	assert_null(ctl_store_open(p, MAP_SIZE, err, sizeof(err)));
	assert_non_null(strstr(err, p));
}

/* count_cb - count and check records */
static int count_cb(void *arg, const struct ctl_cache_entry *e)
{
	unsigned *n = arg;

	(void)e;
	(*n)++;
	return 0;
}

/* test_put_get_reopen - records survive close and reopen */
static void test_put_get_reopen(void **state)
{
	struct ctl_cache_entry e, g;
	struct ctl_store *s;
	char err[512];
	uint64_t bad;
	unsigned n = 0;

	(void)state;
	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	memset(&e, 0, sizeof(e));
	e.addr = addr4(0, 5);
	e.pass_until[SCR_TEST_PREGREET] = 2000;
	assert_int_equal(ctl_store_get(s, &e.addr, &g), -ENOENT);
	assert_int_equal(ctl_store_put(s, &e), 0);
	e.addr = addr4(0, 6);
	e.pass_until[SCR_TEST_PREGREET] = 0;
	e.block_until = 3000;
	e.block_reasons = SCR_TEST_BIT(SCR_TEST_PIPELINING);
	assert_int_equal(ctl_store_put(s, &e), 0);
	assert_int_equal(ctl_store_addr_parse("2001:db8::7", 11, &e.addr), 0);
	assert_int_equal(ctl_store_put(s, &e), 0);
	assert_int_equal(ctl_store_count(s), 3);
	ctl_store_close(s);

	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ctl_store_get(s, &(struct scr_addr){0}, &g), -ENOENT);
	e.addr = addr4(0, 5);
	assert_int_equal(ctl_store_get(s, &e.addr, &g), 0);
	assert_memory_equal(g.addr.b, e.addr.b, 16);
	assert_int_equal(g.pass_until[SCR_TEST_PREGREET], 2000);
	assert_int_equal(g.block_until, 0);
	e.addr = addr4(0, 6);
	assert_int_equal(ctl_store_get(s, &e.addr, &g), 0);
	assert_int_equal(g.block_until, 3000);
	assert_int_equal(g.block_reasons, SCR_TEST_BIT(SCR_TEST_PIPELINING));
	assert_int_equal(ctl_store_foreach(s, count_cb, &n, &bad), 0);
	assert_int_equal(n, 3);
	assert_int_equal(bad, 0);
	assert_int_equal(ctl_store_del(s, &e.addr), 0);
	assert_int_equal(ctl_store_del(s, &e.addr), -ENOENT);
	assert_int_equal(ctl_store_count(s), 2);
	ctl_store_close(s);
}

/* test_batched_sync - batched commits: one sync per batch, none for an
 * empty one; every record readable before and after a reopen */
static void test_batched_sync(void **state)
{
	struct ctl_cache_entry e, g;
	struct ctl_store *s;
	char err[512];
	unsigned i;

	(void)state;
	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ctl_store_set_batched(s, true), 0);
	assert_int_equal(ctl_store_sync(s), 0);
	assert_int_equal(ctl_store_syncs(s), 0);	/* nothing written yet */
	memset(&e, 0, sizeof(e));
	for (i = 1; i <= 3; i++) {
		e.addr = addr4(0, (int)i);
		e.pass_until[SCR_TEST_PREGREET] = 1000 + i;
		assert_int_equal(ctl_store_put(s, &e), 0);
		assert_int_equal(ctl_store_get(s, &e.addr, &g), 0);
	}
	assert_int_equal(ctl_store_syncs(s), 0);	/* no sync per commit */
	assert_int_equal(ctl_store_sync(s), 0);
	assert_int_equal(ctl_store_syncs(s), 1);	/* one for the batch */
	assert_int_equal(ctl_store_sync(s), 0);
	assert_int_equal(ctl_store_syncs(s), 1);	/* nothing new */
	assert_int_equal(ctl_store_del(s, &e.addr), 0);
	assert_int_equal(ctl_store_sync(s), 0);
	assert_int_equal(ctl_store_syncs(s), 2);
	e.addr = addr4(0, 9);
	assert_int_equal(ctl_store_put(s, &e), 0);
	ctl_store_close(s);				/* syncs the open batch */
	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ctl_store_count(s), 3);
	assert_int_equal(ctl_store_get(s, &e.addr, &g), 0);
	ctl_store_close(s);
}

/* test_cleanup_retention - postscreen's rule: drop when every time is
 * older than now - retention; the cleanup time is recorded */
static void test_cleanup_retention(void **state)
{
	static const struct {
		const char *label;
		uint64_t pass, block;
		int kept;
	} rows[] = {
		{ "never passed, no block", 0, 0, 0 },
		{ "pass expired beyond retention", 100, 0, 0 },
		{ "block expired beyond retention", 0, 100, 0 },
		{ "pass expired within retention", 900, 0, 1 },
		{ "pass live", 5000, 0, 1 },
		{ "block live", 0, 5000, 1 },
	};
	struct ctl_store *s;
	char err[512];
	uint64_t kept = 99, dropped = 99;
	size_t i;

	(void)state;
	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ctl_store_last_cleanup(s), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_cache_entry e;

		memset(&e, 0, sizeof(e));
		e.addr = addr4(1, (uint8_t)i);
		e.pass_until[SCR_TEST_PIPELINING] = rows[i].pass;
		e.block_until = rows[i].block;
		assert_int_equal(ctl_store_put(s, &e), 0);
	}
	/* now 1000, retention 500: the line is 500 */
	assert_int_equal(ctl_store_cleanup(s, 1000, 500, &kept, &dropped), 0);
	assert_int_equal(kept, 3);
	assert_int_equal(dropped, 3);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_cache_entry g;
		struct scr_addr a = addr4(1, (uint8_t)i);
		int rc = ctl_store_get(s, &a, &g);

		if ((rc == 0) != rows[i].kept)
			fail_msg("%s: get %d, kept %d", rows[i].label, rc, rows[i].kept);
	}
	assert_int_equal(ctl_store_last_cleanup(s), 1000);
	assert_int_equal(ctl_store_count(s), 3);
	ctl_store_close(s);
}

/* put_junk - write a raw key/value with LMDB itself (a foreign record) */
static void put_junk(const char *key, const char *val)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
	MDB_val v = {.mv_size = strlen(val), .mv_data = (void *)val};

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_mapsize(env, MAP_SIZE), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* test_foreach_skips_bad - foreign, unparsable records are counted and
 * skipped by foreach, dropped by cleanup; the cleanup key is no client */
static void test_foreach_skips_bad(void **state)
{
	struct ctl_cache_entry e, g;
	struct ctl_store *s;
	char err[512];
	uint64_t bad = 0, kept, dropped;
	unsigned n = 0;

	(void)state;
	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	memset(&e, 0, sizeof(e));
	e.addr = addr4(2, 1);
	e.pass_until[SCR_TEST_PREGREET] = 5000;
	assert_int_equal(ctl_store_put(s, &e), 0);
	ctl_store_close(s);
	put_junk("198.18.2.2", "garbage");
	put_junk("not-an-address", "1;1;1;1;1");

	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	assert_non_null(s);
	e.addr = addr4(2, 2);
	assert_int_equal(ctl_store_get(s, &e.addr, &g), -EBADMSG);
	assert_int_equal(ctl_store_foreach(s, count_cb, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bad, 2);
	assert_int_equal(ctl_store_cleanup(s, 10, 0, &kept, &dropped), 0);
	assert_int_equal(kept, 1);
	assert_int_equal(dropped, 2);
	n = 0;
	assert_int_equal(ctl_store_foreach(s, count_cb, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bad, 0);
	assert_int_equal(ctl_store_count(s), 1);
	ctl_store_close(s);
}

/* addr_n - v4-mapped 10.x.y.z for record n */
static struct scr_addr addr_n(unsigned n)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	a.b[12] = 10;
	a.b[13] = (uint8_t)(n >> 16);
	a.b[14] = (uint8_t)(n >> 8);
	a.b[15] = (uint8_t)n;
	return a;
}

/* put_n - record n: a pass until 100000 + n */
static int put_n(struct ctl_store *s, unsigned n)
{
	struct ctl_cache_entry e;

	memset(&e, 0, sizeof(e));
	e.addr = addr_n(n);
	e.pass_until[SCR_TEST_PREGREET] = 100000 + n;
	return ctl_store_put(s, &e);
}

/* fill - a store of n records, one commit each (pages freed and reused
 * as in a daemon's life); its bytes into *img, *len */
static void fill(unsigned n, uint8_t **img, size_t *len)
{
	struct ctl_store *s;
	char err[512];
	struct stat st;
	int fd;

	s = ctl_store_open(path, MAP_SIZE, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_store_set_batched(s, true), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(put_n(s, i), 0);
	ctl_store_close(s);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	*img = malloc(*len);
	assert_non_null(*img);
	assert_int_equal(read(fd, *img, *len), (ssize_t)*len);
	close(fd);
}

/* write_img - the store file from img[0..len), then bytes at off */
static void write_img(const uint8_t *img, size_t len, size_t off,
		      const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	if (n > 0)
		assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* check_way_out - the message says what is wrong and how to move it away */
static void check_way_out(const char *err, const char *what)
{
	char want[512];

	if (strncmp(err, path, strlen(path)) != 0 || strstr(err, what) == NULL)
		fail_msg("\"%s\": want \"%s: ...%s...\"", err, path, what);
	snprintf(want, sizeof(want), "; move it away (mv %s %s.bad) and restart: "
		 "the daemon starts with an empty store", path, path);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\": want \"...%s\"", err, want);
}

/* load_all - open, walk, write: a store that opens must work; the
 * records found (good + bad) or -1 when refused (err set) */
static long load_all(char *err, size_t errlen, uint64_t *bad)
{
	struct ctl_store *s = ctl_store_open(path, MAP_SIZE, err, errlen);
	unsigned n = 0;
	uint64_t kept, dropped;

	if (s == NULL)
		return -1;
	assert_int_equal(ctl_store_foreach(s, count_cb, &n, bad), 0);
	/* the write path reads the free list: it must hold too */
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(put_n(s, 900000 + i), 0);
	assert_int_equal(ctl_store_cleanup(s, 1, 1000000, &kept, &dropped), 0);
	ctl_store_close(s);
	return (long)(n + *bad);
}

/* test_open_truncated - a store cut short is refused with its size and
 * the way out, at every page boundary (before: SIGBUS at the first read
 * of a missing page); cuts that only drop free pages still load */
static void test_open_truncated(void **state)
{
	enum { N = 5000 };
	uint8_t *img;
	size_t len, psz = (size_t)sysconf(_SC_PAGESIZE);
	char err[512], what[128];
	uint64_t bad;
	unsigned refused = 0;

	(void)state;
	fill(N, &img, &len);
	/* the two meta pages alone, and half the file: refused */
	write_img(img, 2 * psz, 0, NULL, 0);
	err[0] = 0;
	assert_int_equal(load_all(err, sizeof(err), &bad), -1);
	snprintf(what, sizeof(what), "store is corrupt (truncated: %zu of ", 2 * psz);
	check_way_out(err, what);
	write_img(img, len / 2 / psz * psz, 0, NULL, 0);
	assert_int_equal(load_all(err, sizeof(err), &bad), -1);
	snprintf(what, sizeof(what), "store is corrupt (truncated: %zu of ",
		 len / 2 / psz * psz);
	check_way_out(err, what);
	/* every cut: refused, or every record there */
	for (size_t cut = 2 * psz; cut < len; cut += psz) {
		long n;

		write_img(img, cut, 0, NULL, 0);
		err[0] = 0;
		n = load_all(err, sizeof(err), &bad);
		if (n < 0) {
			check_way_out(err, "store is corrupt (truncated: ");
			refused++;
		} else if (n != N || bad != 0) {
			fail_msg("cut at %zu: %ld records, %" PRIu64 " bad", cut, n, bad);
		}
	}
	assert_true(refused > 0);
	free(img);
}

/* xorshift - the next of a fixed sequence */
static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* test_open_garbage - garbage over any one page: refused naming what is
 * wrong (before: LMDB's assertion or a walk of garbage records), or,
 * over a free page, every record loads. Then a few bytes of each page
 * after its page number (entry offsets, sizes, flags, keys, the page
 * bounds): refused, or every record is there, read, written and cleaned
 * up without a fault (before the entries were checked to tile the page,
 * a write after such a load overran LMDB's page copy). Last, garbage in
 * one record's value: that record is skipped and counted, the rest load */
static void test_open_garbage(void **state)
{
	enum { N = 5000 };
	uint8_t *img, *cp, junk[65536];
	size_t len, psz = (size_t)sysconf(_SC_PAGESIZE);
	char err[512];
	uint64_t bad, x = 88172645463325252ull;
	unsigned refused = 0;
	const uint8_t *v;

	(void)state;
	fill(N, &img, &len);
	assert_true(psz <= sizeof(junk));
	for (size_t pg = 2; pg < len / psz; pg++) {
		long n;

		for (size_t i = 0; i < psz; i++)
			junk[i] = (uint8_t)xorshift(&x);
		write_img(img, len, pg * psz, junk, psz);
		err[0] = 0;
		n = load_all(err, sizeof(err), &bad);
		if (n < 0) {
			check_way_out(err, "store is corrupt (page ");
			refused++;
		} else if (n != N || bad != 0) {
			fail_msg("garbage over page %zu: %ld records, %" PRIu64
				 " bad", pg, n, bad);
		}
	}
	assert_true(refused > 0);
	cp = malloc(len);
	assert_non_null(cp);
	refused = 0;
	for (unsigned round = 0; round < 3; round++) {
		for (size_t pg = 2; pg < len / psz; pg++) {
			unsigned k = 1 + (unsigned)(xorshift(&x) % 6);
			long n;

			memcpy(cp, img, len);
			while (k-- > 0) {
				/* anywhere after the page number, or in the
				 * header and the first entry offsets */
				size_t o = round == 0 ? 8 + xorshift(&x) % (psz - 8) :
					   8 + xorshift(&x) % 400;

				cp[pg * psz + o] = round == 2 ?
					cp[pg * psz + o] ^ (uint8_t)(1u << (xorshift(&x) % 8)) :
					(uint8_t)xorshift(&x);
			}
			write_img(cp, len, 0, NULL, 0);
			err[0] = 0;
			n = load_all(err, sizeof(err), &bad);
			if (n < 0) {
				check_way_out(err, "store is corrupt (");
				refused++;
			} else if (n != N) {
				fail_msg("bytes of page %zu changed: %ld records, "
					 "want %d", pg, n, N);
			}
		}
	}
	assert_true(refused > 0);
	free(cp);
	/* one value's digits overwritten in place: the tree is intact */
	v = memmem(img, len, "100042;", 7);
	assert_non_null(v);
	write_img(img, len, (size_t)(v - img), "1x0042;", 7);
	err[0] = 0;
	if (load_all(err, sizeof(err), &bad) != N)
		fail_msg("value overwritten: %s", err);
	assert_int_equal(bad, 1);
	free(img);
}

/* LMDB 0.9's layout (64-bit), for the damage below: a page starts with
 * its number (8), pad (2), flags (2), lower (2), upper (2), then the
 * entry offsets; an entry is lo, hi, flags, key size (2 each), key,
 * value. The meta (pages 0 and 1, from byte 16): the free pages' db at
 * 24, the records' at 72 (each: pad 4, flags 2, depth 2, branch, leaf,
 * overflow, entries, root 8 each), last page 120, txnid 128. */
#define PG_LOWER	12
#define PG_UPPER	14
#define PG_PTRS		16
#define META_FREE	(16 + 24)
#define META_RECS	(16 + 72)
#define DB_FLAGS	4
#define DB_DEPTH	6
#define DB_ENTRIES	32
#define DB_ROOT		40
#define META_LAST	(16 + 120)
#define META_TXNID	(16 + 128)

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* A store image and where its parts are. */
struct img {
	uint8_t *b;
	size_t len, psz;
	uint8_t *meta;		/* the newest meta page */
	uint64_t root;		/* the records' root (a branch) */
	uint64_t leaf;		/* its first child */
	uint64_t free_leaf;	/* the free pages' root (a leaf) */
};

/* node - entry i of page pg */
static uint8_t *node(const struct img *m, uint64_t pg, unsigned i)
{
	uint8_t *p = m->b + pg * m->psz;

	return p + get16(p + PG_PTRS + 2 * i);
}

/* child - the page entry i of branch page pg names */
static uint64_t child(const struct img *m, uint64_t pg, unsigned i)
{
	uint8_t *n = node(m, pg, i);

	return get16(n) | (uint64_t)get16(n + 2) << 16 | (uint64_t)get16(n + 4) << 32;
}

/* Damage, each of one kind; page numbers as struct img finds them. */
static void grow_value(struct img *m)
{
	uint8_t *n = node(m, m->leaf, 0);

	put16(n, (uint16_t)(get16(n) + 2));
}

static void two_at_one_offset(struct img *m)
{
	uint8_t *p = m->b + m->leaf * m->psz;

	put16(p + PG_PTRS + 2, get16(p + PG_PTRS));
}

static void gap_below_entries(struct img *m)
{
	uint8_t *p = m->b + m->leaf * m->psz;

	put16(p + PG_UPPER, (uint16_t)(get16(p + PG_UPPER) - 2));
}

static void branch_names_a_page_twice(struct img *m)
{
	uint8_t *n = node(m, m->root, 1);
	uint64_t c = child(m, m->root, 0);

	put16(n, (uint16_t)c);
	put16(n + 2, (uint16_t)(c >> 16));
	put16(n + 4, (uint16_t)(c >> 32));
}

static void free_list_names_a_leaf(struct img *m)
{
	uint8_t *n = node(m, m->free_leaf, 0);
	uint8_t *ids = n + 8 + get16(n + 6);	/* count, then pages */

	assert_true(get64(ids) >= 1);
	put64(ids + 8, m->leaf);
}

static void one_record_too_many(struct img *m)
{
	uint8_t *e = m->meta + META_RECS + DB_ENTRIES;

	put64(e, get64(e) + 1);
}

static void last_page_far_out(struct img *m)
{
	put64(m->meta + META_LAST, get64(m->meta + META_LAST) + 1000);
}

static void meta_page_size(struct img *m)
{
	uint8_t *pad = m->b + m->psz + META_FREE;	/* meta page 1 */
	uint32_t v = 2 * (uint32_t)m->psz;

	memcpy(pad, &v, sizeof(v));
}

static void free_list_dupsort(struct img *m)
{
	uint8_t *f = m->meta + META_FREE + DB_FLAGS;

	put16(f, (uint16_t)(get16(f) | MDB_DUPSORT));
}

/* test_open_damaged - one kind of damage at a time, each refused with
 * what is wrong (before, each loaded: LMDB then asserted, wrote through
 * garbage sizes or walked garbage) */
static void test_open_damaged(void **state)
{
	static const struct {
		const char *label;
		void (*damage)(struct img *m);
		const char *what;	/* "%L" leaf, "%R" root: see below */
	} rows[] = {
		{ "a value grows into the next entry", grow_value, "(page L: entr" },
		{ "two entries at one offset", two_at_one_offset, "(page L: entry 1: at " },
		{ "a gap below the entries", gap_below_entries, "(page L: entries do not fill the page" },
		{ "a branch names a page twice", branch_names_a_page_twice, "(page C: reached twice)" },
		{ "the free list names a page in use", free_list_names_a_leaf, "(page L: free and in use)" },
		{ "a record more in the meta page", one_record_too_many, "(records: 5000 entries on " },
		{ "last page past the file", last_page_far_out, " free and 2 meta pages, but the last page is " },
		{ "meta pages disagree on the page size", meta_page_size, "(meta page 1: page size " },
		{ "free list flagged DUPSORT", free_list_dupsort, "(free page list: database flags 0x" },
	};
	enum { N = 5000 };
	struct img pristine, m;
	char err[512], what[128];
	uint64_t bad;

	(void)state;
	fill(N, &pristine.b, &pristine.len);
	pristine.psz = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		m = pristine;
		m.b = malloc(m.len);
		assert_non_null(m.b);
		memcpy(m.b, pristine.b, m.len);
		m.meta = m.b + (get64(m.b + META_TXNID) < get64(m.b + m.psz + META_TXNID) ?
				m.psz : 0);
		assert_int_equal(get16(m.meta + META_RECS + DB_DEPTH), 2);
		m.root = get64(m.meta + META_RECS + DB_ROOT);
		m.leaf = child(&m, m.root, 0);
		m.free_leaf = get64(m.meta + META_FREE + DB_ROOT);
		assert_int_equal(get16(m.meta + META_FREE + DB_DEPTH), 1);
		rows[i].damage(&m);
		write_img(m.b, m.len, 0, NULL, 0);
		err[0] = 0;
		if (load_all(err, sizeof(err), &bad) >= 0)
			fail_msg("%s: loaded", rows[i].label);
		/* L: the leaf, C: the root's first child (the same page) */
		snprintf(what, sizeof(what), "%s", rows[i].what);
		{
			char *l = strstr(what, "page L"), *c = strstr(what, "page C");
			char tail[128];

			if (l != NULL || c != NULL) {
				char *at = (l != NULL ? l : c) + 5;

				snprintf(tail, sizeof(tail), "%s", at + 1);
				snprintf(at, sizeof(what) - (size_t)(at - what),
					 "%" PRIu64 "%s", m.leaf, tail);
			}
		}
		if (strstr(err, what) == NULL)
			fail_msg("%s: \"%s\", want \"...%s...\"", rows[i].label,
				 err, what);
		check_way_out(err, "store is corrupt (");
		free(m.b);
	}
	free(pristine.b);
}

/* test_map_grows - a 1 MiB map that fills up grows and keeps taking
 * records (before: -ENOSPC, and the daemon answered "ok" unsaved) */
static void test_map_grows(void **state)
{
	enum { N = 20000 };	/* about 1.4 MiB of pages */
	struct ctl_store *s;
	char err[512];
	struct stat st;
	uint64_t bad;
	unsigned n = 0;
	int rc;

	(void)state;
	s = ctl_store_open(path, 1u << 20, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_store_set_batched(s, true), 0);
	for (unsigned i = 0; i < N; i++)
		if ((rc = put_n(s, i)) != 0)
			fail_msg("put %u: %s", i, strerror(-rc));
	ctl_store_close(s);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > (1 << 20));
	s = ctl_store_open(path, 1u << 20, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_store_count(s), N);
	assert_int_equal(ctl_store_foreach(s, count_cb, &n, &bad), 0);
	assert_int_equal(n, N);
	assert_int_equal(put_n(s, N), 0);
	ctl_store_close(s);
}

/* test_map_full - at its ceiling (4 x the size asked) a put that cannot
 * be saved returns -ENOSPC; what was saved stays readable */
static void test_map_full(void **state)
{
	struct ctl_store *s;
	struct ctl_cache_entry g;
	struct scr_addr a;
	char err[512];
	struct stat st;
	unsigned i;
	int rc = 0;

	(void)state;
	s = ctl_store_open(path, 1u << 20, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_store_set_batched(s, true), 0);
	for (i = 0; i < 1000000; i++)
		if ((rc = put_n(s, i)) != 0)
			break;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(ctl_store_count(s), i);
	a = addr_n(0);
	assert_int_equal(ctl_store_get(s, &a, &g), 0);
	assert_int_equal(g.pass_until[SCR_TEST_PREGREET], 100000);
	assert_int_equal(put_n(s, i), -ENOSPC);
	ctl_store_close(s);
	assert_int_equal(stat(path, &st), 0);
	if (st.st_size <= (1 << 20) || st.st_size > (4 << 20))
		fail_msg("store of %lld bytes after %u records: want more than "
			 "the 1 MiB asked, at most its 4 MiB ceiling",
			 (long long)st.st_size, i);
	s = ctl_store_open(path, 1u << 20, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_store_count(s), i);
	ctl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_addr_table),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test_setup_teardown(test_open_not_a_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batched_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_skips_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
