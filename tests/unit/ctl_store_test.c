/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl_store_test - LMDB verdict store: record text, put/get/del, reopen,
 * cleanup with retention, corrupt and unusable files */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
