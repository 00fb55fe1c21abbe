/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_scan_test - unit tests for the Hyperscan scanner
 * DESCRIPTION
 *	Table-driven: compile errors (bad input first), matches of the
 *	built-in and ctrl patterns fed whole and split across feeds, pool
 *	exhaustion, no allocation on the packet path, and the Vectorscan
 *	guard from DESIGN.md (long CRLF-only text must never match bare LF).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <hs.h>

#include "scr_scan.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The default set: Debian's postscreen_forbidden_commands as ctrl turns it
 * into patterns, plus one own HELO name. */
static const struct scr_scan_pattern default_pats[] = {
	{ "CONNECT", "^CONNECT$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "GET", "^GET$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "POST", "^POST$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "Bogus", "^[^A-Z]", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "own name", "^(HELO|EHLO) [ \\t]*mx\\.example\\.test\\.?\\r?$", 1,
	  SCR_PAT_LINE, SCR_TEST_HELO, "smtpscreen_helo_own_names" },
	{ "sig", "^MAIL FROM:<[^>]*@spam\\.example>", 1, SCR_PAT_LINE,
	  SCR_TEST_NON_SMTP, "sigs:1" },
};

/* --- compile errors ----------------------------------------------------- */

struct compile_case {
	const char *label;
	struct scr_scan_pattern pat;
	const char *want[3];	/* substrings the message must contain */
};

static const struct compile_case compile_cases[] = {
	{ "unbalanced parenthesis",
	  { "Bogus", "^(GET", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "main.cf:7" },
	  { "main.cf:7", "Bogus", "/^(GET/" } },
	{ "empty regex",
	  { "empty", "", 0, SCR_PAT_LINE, SCR_TEST_HELO, "sigs:3" },
	  { "sigs:3", "empty", "empty pattern" } },
	{ "missing regex",
	  { "nullre", NULL, 0, SCR_PAT_LINE, SCR_TEST_HELO, "sigs:4" },
	  { "sigs:4", "nullre", "empty pattern" } },
	{ "command pattern for the HELO test",
	  { "wrongtest", "^X", 0, SCR_PAT_COMMAND, SCR_TEST_HELO, "main.cf:9" },
	  { "main.cf:9", "wrongtest", "cannot apply" } },
	{ "line pattern for a non-stream test",
	  { "dnsbl", "^X", 0, SCR_PAT_LINE, SCR_TEST_DNSBL, "sigs:5" },
	  { "sigs:5", "dnsbl", "cannot apply" } },
	{ "unsupported backreference",
	  { "backref", "^(a)\\1", 0, SCR_PAT_LINE, SCR_TEST_NON_SMTP, "sigs:6" },
	  { "sigs:6", "backref", "/^(a)\\1/" } },
	{ "no where, no name",
	  { NULL, "[z-a]", 0, SCR_PAT_LINE, SCR_TEST_NON_SMTP, NULL },
	  { "(unknown)", "(unnamed)", "[z-a]" } },
};

/* test_compile_errors - each bad pattern fails with a message naming it */

static void test_compile_errors(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(compile_cases); i++) {
		const struct compile_case *c = &compile_cases[i];
		struct scr_scan_pattern pats[2] = { default_pats[0], c->pat };
		char err[512];
		struct scr_scan_db *db;

		for (int needed = 0; needed < 2; needed++) {
			errno = 0;
			db = needed ? scr_scan_create_needed(pats, 2, err, sizeof(err))
				    : scr_scan_create(pats, 2, err, sizeof(err));
			if (db != NULL)
				fail_msg("%s: compiled (needed %d)", c->label, needed);
			assert_int_equal(errno, EINVAL);
			for (j = 0; j < NELEM(c->want) && c->want[j]; j++)
				if (strstr(err, c->want[j]) == NULL)
					fail_msg("%s: \"%s\" not in \"%s\"", c->label,
						 c->want[j], err);
		}
	}
}

/* test_create_needed - Hyperscan's database only when a pattern needs it:
 * Debian's forbidden commands (words and a class) and no ctrl patterns at
 * all need none; a HELO name or a signature does */

static void test_create_needed(void **state)
{
	char err[512];
	struct scr_scan_db *full = scr_scan_create(default_pats, NELEM(default_pats),
						   err, sizeof(err));
	struct scr_scan_db *db;
	struct scr_scan_thread *t;

	(void)state;
	assert_non_null(full);
	db = scr_scan_create_needed(default_pats, NELEM(default_pats), err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(scr_scan_stream_size(db), scr_scan_stream_size(full));
	t = scr_scan_thread_create(db, 2);
	assert_non_null(t);
	assert_true(scr_scan_has_patterns(t));
	assert_int_equal(scr_scan_pool_free(t), 2);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
	scr_scan_destroy(full);

	db = scr_scan_create_needed(default_pats, 4, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(scr_scan_stream_size(db), 0);
	assert_int_equal(scr_scan_pattern_count(db), 4);
	assert_int_equal(scr_scan_words(db)->n, 3);
	/* the class (caseless): '1' and '[' start a forbidden command, 'A'
	 * and 'a' do not */
	assert_true(scr_scan_words(db)->first['1' >> 6] >> ('1' & 63) & 1);
	assert_true(scr_scan_words(db)->first['[' >> 6] >> ('[' & 63) & 1);
	assert_false(scr_scan_words(db)->first['A' >> 6] >> ('A' & 63) & 1);
	assert_false(scr_scan_words(db)->first['a' >> 6] >> ('a' & 63) & 1);
	t = scr_scan_thread_create(db, 2);
	assert_non_null(t);
	assert_false(scr_scan_has_patterns(t));
	assert_false(scr_scan_any_patterns(t));
	assert_int_equal(scr_scan_pool_free(t), 0);
	assert_null(scr_scan_open(t));
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);

	db = scr_scan_create_needed(NULL, 0, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(scr_scan_stream_size(db), 0);
	scr_scan_destroy(db);
}

/* test_compile_bad_args - NULL table with n > 0 */

static void test_compile_bad_args(void **state)
{
	char err[256];

	(void)state;
	assert_null(scr_scan_create(NULL, 3, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "no pattern table"));
	assert_null(scr_scan_thread_create(NULL, 4));
	assert_int_equal(errno, EINVAL);
}

/* test_compile_builtin_only - no ctrl patterns is a valid set */

static void test_compile_builtin_only(void **state)
{
	char err[256];
	struct scr_scan_db *db = scr_scan_create(NULL, 0, err, sizeof(err));
	struct scr_scan_thread *t;

	(void)state;
	assert_non_null(db);
	assert_int_equal(scr_scan_pattern_count(db), 0);
	assert_true(scr_scan_stream_size(db) > 0);
	t = scr_scan_thread_create(db, 1);
	assert_non_null(t);
	assert_false(scr_scan_has_patterns(t));
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
	scr_scan_destroy(NULL);
	scr_scan_thread_destroy(NULL);
}

/* --- matches -------------------------------------------------------------- */

struct match_case {
	const char *label;
	const char *feeds[4];	/* consecutive feeds of one stream */
	unsigned flags;		/* union of SCR_SCAN_* over all feeds */
	int flag_feed;		/* feed (index) where 'first' is checked, -1 none */
	unsigned first_flag;	/* that flag ... */
	uint32_t first_end;	/* ... has this end offset in that feed */
	uint16_t pat_id;	/* first ctrl pattern, SCR_SCAN_NO_PAT if none */
};

static const struct match_case match_cases[] = {
	/* bad input first */
	{ "empty feeds", { "", "", NULL }, 0, -1, 0, 0, SCR_SCAN_NO_PAT },
	/* Command patterns are not matched on lines (scr_scan_word has them):
	 * the Bogus regexp /^[^A-Z]/ reports nothing here. */
	{ "NUL bytes only", { "\0\0\0", NULL }, 0, -1, 0, 0, SCR_SCAN_NO_PAT },
	{ "LF as first byte", { "\n", NULL }, SCR_SCAN_BARE_LF, 0,
	  SCR_SCAN_BARE_LF, 1, SCR_SCAN_NO_PAT },
	{ "bare LF mid line", { "EHLO x\n", NULL }, SCR_SCAN_BARE_LF, 0,
	  SCR_SCAN_BARE_LF, 7, SCR_SCAN_NO_PAT },
	{ "bare LF after CRLF line", { "EHLO x\r\nQUIT\n", NULL }, SCR_SCAN_BARE_LF, 0,
	  SCR_SCAN_BARE_LF, 13, SCR_SCAN_NO_PAT },
	{ "bare LF across feeds", { "EHLO x", "\n", NULL }, SCR_SCAN_BARE_LF, 1,
	  SCR_SCAN_BARE_LF, 1, SCR_SCAN_NO_PAT },
	{ "empty bare LF line", { "EHLO x\r\n", "\n", NULL },
	  SCR_SCAN_BARE_LF, 1, SCR_SCAN_BARE_LF, 1, SCR_SCAN_NO_PAT },
	{ "CR and LF in different feeds", { "EHLO x\r", "\n", "QUIT\r", "\n" }, 0,
	  -1, 0, 0, SCR_SCAN_NO_PAT },
	{ "CRLF lines", { "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n", NULL },
	  0, -1, 0, 0, SCR_SCAN_NO_PAT },
	{ "header label", { "EHLO x\r\nSubject: hi\r\n", NULL }, SCR_SCAN_HEADER, 0,
	  SCR_SCAN_HEADER, 16, SCR_SCAN_NO_PAT },
	{ "header label split", { "Subj", "ect: hi\r\n", NULL }, SCR_SCAN_HEADER, 1,
	  SCR_SCAN_HEADER, 4, SCR_SCAN_NO_PAT },
	{ "header with space before colon", { "Subject : hi\r\n", NULL },
	  SCR_SCAN_HEADER, 0, SCR_SCAN_HEADER, 9, SCR_SCAN_NO_PAT },
	{ "MAIL FROM is not a header", { "MAIL FROM:<a@b>\r\n", NULL }, 0, -1, 0, 0,
	  SCR_SCAN_NO_PAT },
	{ "a forbidden word's line", { "GET / HTTP/1.0\r\n", NULL }, 0, -1, 0, 0,
	  SCR_SCAN_NO_PAT },
	{ "own HELO name", { "EHLO mx.example.test\r\n", NULL },
	  SCR_SCAN_LINE_HELO, 0, SCR_SCAN_LINE_HELO, 21, 4 },
	{ "own HELO name split", { "EHLO mx.exa", "mple.test\r\n", NULL },
	  SCR_SCAN_LINE_HELO, 1, SCR_SCAN_LINE_HELO, 10, 4 },
	{ "other HELO name", { "EHLO mx.example.test.org\r\n", NULL }, 0, -1, 0, 0,
	  SCR_SCAN_NO_PAT },
	{ "signature line", { "MAIL FROM:<x@spam.example>\r\n", NULL },
	  SCR_SCAN_LINE_NONSMTP, 0, SCR_SCAN_LINE_NONSMTP, 26, 5 },
};

/* test_word - the command patterns on the command word alone, as
 * postscreen applies postscreen_forbidden_commands to it: '^' and '$' are
 * the word's ends */
static void test_word(void **state)
{
	static const struct {
		const char *w;
		uint32_t n;	/* 0: strlen */
		int hit;
	} c[] = {
		{ "GET", 0, 1 }, { "get", 0, 1 }, { "connect", 0, 1 }, { "POST", 0, 1 },
		{ "GETX", 0, 0 }, { "GE", 0, 0 }, { "XGET", 0, 0 },
		{ "123", 0, 1 }, { "\tGET", 0, 1 }, { "\rGET", 0, 1 }, { "ehlo", 0, 0 },
		{ "GET\t/", 0, 0 }, { "GET\r", 0, 0 }, { "Subject:", 0, 0 },
		{ "\0", 1, 1 },
	};
	char err[512];
	struct scr_scan_pattern p = { "re", "^(GET|HEAD)$|^X-[0-9]+$", 1, SCR_PAT_COMMAND,
				      SCR_TEST_NON_SMTP, "t:1" };
	struct scr_scan_db *db = scr_scan_create(default_pats, NELEM(default_pats),
						 err, sizeof(err));
	struct scr_scan_db *dn = scr_scan_create_needed(&p, 1, err, sizeof(err));
	struct scr_scan_thread *t, *tn;
	size_t i;

	(void)state;
	assert_non_null(db);
	assert_non_null(dn);
	t = scr_scan_thread_create(db, 1);
	tn = scr_scan_thread_create(dn, 1);
	assert_non_null(t);
	assert_non_null(tn);
	assert_true(scr_scan_has_word_patterns(t));	/* scr_scan_create: all */
	for (i = 0; i < NELEM(c); i++) {
		uint32_t n = c[i].n ? c[i].n : (uint32_t)strlen(c[i].w);

		if (scr_scan_word(t, (const uint8_t *)c[i].w, n) != c[i].hit)
			fail_msg("word \"%s\": want %d", c[i].w, c[i].hit);
	}
	/* a regexp that is no word and no class: Hyperscan's, on the word */
	assert_true(scr_scan_has_word_patterns(tn));
	assert_true(scr_scan_has_patterns(tn));
	assert_int_equal(scr_scan_word(tn, (const uint8_t *)"head", 4), 1);
	assert_int_equal(scr_scan_word(tn, (const uint8_t *)"X-12", 4), 1);
	assert_int_equal(scr_scan_word(tn, (const uint8_t *)"X-12a", 5), 0);
	assert_int_equal(scr_scan_word(tn, (const uint8_t *)"HEADER", 6), 0);
	scr_scan_thread_destroy(tn);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(dn);
	scr_scan_destroy(db);
}

/* make_db - compile the default set or fail the test */

static struct scr_scan_db *make_db(void)
{
	char err[512];
	struct scr_scan_db *db = scr_scan_create(default_pats, NELEM(default_pats),
						 err, sizeof(err));

	if (db == NULL)
		fail_msg("default set: %s", err);
	return db;
}

/* test_matches - match flags, offsets and pattern ids per table row */

static void test_matches(void **state)
{
	struct scr_scan_db *db = make_db();
	struct scr_scan_thread *t = scr_scan_thread_create(db, 2);
	size_t i, f;

	(void)state;
	assert_non_null(t);
	assert_true(scr_scan_has_patterns(t));
	for (i = 0; i < NELEM(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		struct scr_scan_stream *s = scr_scan_open(t);
		unsigned all = 0;
		uint16_t pat = SCR_SCAN_NO_PAT;

		assert_non_null(s);
		for (f = 0; f < NELEM(c->feeds) && c->feeds[f]; f++) {
			struct scr_scan_match m;
			/* "\0\0\0": the literal's length, not strlen */
			uint32_t len = i == 1 ? 3 : (uint32_t)strlen(c->feeds[f]);

			assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)c->feeds[f],
						       len, &m), 0);
			all |= m.flags;
			if (pat == SCR_SCAN_NO_PAT)
				pat = m.pat_id;
			if ((int)f == c->flag_feed) {
				unsigned bit = (unsigned)__builtin_ctz(c->first_flag);

				if (!(m.flags & c->first_flag))
					fail_msg("%s: flag %#x not in feed %zu", c->label,
						 c->first_flag, f);
				if (m.first_end[bit] != c->first_end)
					fail_msg("%s: end %u, want %u", c->label,
						 m.first_end[bit], c->first_end);
			}
		}
		if (all != c->flags)
			fail_msg("%s: flags %#x, want %#x", c->label, all, c->flags);
		if (pat != c->pat_id)
			fail_msg("%s: pat %u, want %u", c->label, pat, c->pat_id);
		scr_scan_close(t, s);
	}
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
}

/* test_reset_on_open - a reused pool stream starts fresh (no state leak) */

static void test_reset_on_open(void **state)
{
	struct scr_scan_db *db = make_db();
	struct scr_scan_thread *t = scr_scan_thread_create(db, 1);
	struct scr_scan_stream *s;
	struct scr_scan_match m;

	(void)state;
	s = scr_scan_open(t);
	assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)"EHLO x", 6, &m), 0);
	scr_scan_close(t, s);
	s = scr_scan_open(t);
	/* Fresh stream: the LF is the first byte, a bare LF at offset 1,
	 * and offsets restart at 0. */
	assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)"\n", 1, &m), 0);
	assert_int_equal(m.flags & SCR_SCAN_BARE_LF, SCR_SCAN_BARE_LF);
	assert_int_equal(m.first_end[0], 1);
	scr_scan_close(t, s);
	/* And a CR left over from an earlier user must not hide a bare LF. */
	s = scr_scan_open(t);
	assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)"x\r", 2, &m), 0);
	scr_scan_close(t, s);
	s = scr_scan_open(t);
	assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)"\n", 1, &m), 0);
	assert_int_equal(m.flags & SCR_SCAN_BARE_LF, SCR_SCAN_BARE_LF);
	scr_scan_close(t, s);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
}

/* --- pool ----------------------------------------------------------------- */

/* minor_faults - page faults of this process so far */
static long minor_faults(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* test_pool_lazy - a big pool costs nothing until its streams are used:
 * a 65,536-stream pool (a million-flow table's) is created and destroyed
 * in a handful of page faults, and its first opens work (it opened every
 * state at create: ~5,000 faults and 65,536 mallocs) */
static void test_pool_lazy(void **state)
{
	struct scr_scan_db *db = make_db();
	struct scr_scan_thread *t;
	struct scr_scan_stream *s;
	struct scr_scan_match m;
	long before;

	(void)state;
	before = minor_faults();
	t = scr_scan_thread_create(db, 65536);
	assert_non_null(t);
	assert_true(minor_faults() - before < 400);
	assert_int_equal(scr_scan_pool_free(t), 65536);
	assert_non_null(s = scr_scan_open(t));
	assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)"MAIL FROM:<x@spam.example>\r\n",
				       28, &m), 0);
	assert_true(m.flags & SCR_SCAN_LINE_NONSMTP);
	scr_scan_close(t, s);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
}

/* test_pool_exhaustion - open fails cleanly when the pool is empty */

static void test_pool_exhaustion(void **state)
{
	struct scr_scan_db *db = make_db();
	struct scr_scan_thread *t = scr_scan_thread_create(db, 3);
	struct scr_scan_thread *t0 = scr_scan_thread_create(db, 0);
	struct scr_scan_stream *s[3];
	int i;

	(void)state;
	assert_non_null(t);
	assert_non_null(t0);
	assert_null(scr_scan_open(t0));
	assert_int_equal(scr_scan_pool_free(t), 3);
	for (i = 0; i < 3; i++)
		assert_non_null(s[i] = scr_scan_open(t));
	assert_true(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
	assert_int_equal(scr_scan_pool_free(t), 0);
	assert_null(scr_scan_open(t));
	assert_null(scr_scan_open(t));
	scr_scan_close(t, s[1]);
	scr_scan_close(t, NULL);
	assert_int_equal(scr_scan_pool_free(t), 1);
	assert_ptr_equal(scr_scan_open(t), s[1]);
	scr_scan_close(t, s[0]);
	scr_scan_close(t, s[1]);
	scr_scan_close(t, s[2]);
	assert_int_equal(scr_scan_pool_free(t), 3);
	scr_scan_thread_destroy(t0);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
}

/* Counting allocator: Hyperscan must not allocate on the packet path. */
static unsigned long n_alloc;

static void *count_malloc(size_t n)
{
	n_alloc++;
	return malloc(n);
}

/* count_allocators - Hyperscan's database, scratch and misc allocations
 * through count_malloc (or back to malloc); streams keep scr_scan's own
 * allocator (hs_set_allocator would replace it too) */
static void count_allocators(bool on)
{
	hs_alloc_t a = on ? count_malloc : NULL;
	hs_free_t f = on ? free : NULL;

	assert_int_equal(hs_set_database_allocator(a, f), HS_SUCCESS);
	assert_int_equal(hs_set_scratch_allocator(a, f), HS_SUCCESS);
	assert_int_equal(hs_set_misc_allocator(a, f), HS_SUCCESS);
}

/* test_no_alloc_on_packet_path - open/feed/close allocate nothing: not
 * the first opens either (their states come from the thread's arena) */

static void test_no_alloc_on_packet_path(void **state)
{
	struct scr_scan_db *db;
	struct scr_scan_thread *t;
	struct scr_scan_stream *held[3];
	static const char line[] = "EHLO mx.example.test\r\nGET / HTTP/1.0\n";
	unsigned long before;
	int i;

	(void)state;
	count_allocators(true);
	db = make_db();
	t = scr_scan_thread_create(db, 4);
	assert_non_null(t);
	assert_true(n_alloc > 0);	/* the counter works */
	before = n_alloc;
	for (i = 0; i < 3; i++)		/* states opened on demand */
		assert_non_null(held[i] = scr_scan_open(t));
	assert_int_equal(scr_scan_pool_free(t), 1);
	for (i = 0; i < 3; i++)
		scr_scan_close(t, held[i]);
	assert_int_equal(scr_scan_pool_free(t), 4);
	for (i = 0; i < 1000; i++) {
		struct scr_scan_stream *s = scr_scan_open(t);
		struct scr_scan_match m;

		assert_non_null(s);
		assert_int_equal(scr_scan_feed(t, s, (const uint8_t *)line,
					       sizeof(line) - 1, &m), 0);
		assert_int_equal(m.flags, SCR_SCAN_LINE_HELO | SCR_SCAN_BARE_LF);
		assert_int_equal(scr_scan_word(t, (const uint8_t *)"GET", 3), 1);
		scr_scan_close(t, s);
	}
	assert_int_equal(n_alloc, before);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
	count_allocators(false);
}

/* --- Vectorscan guard (DESIGN.md) ----------------------------------------- */

/* crlf_text - CRLF-only lines of lengths 1..maxlen (125 bytes repeated) */

static size_t crlf_text(uint8_t *buf, size_t cap, size_t maxlen)
{
	size_t n = 0, len, i, rep;

	for (len = 1; len <= maxlen; len++) {
		for (rep = 0; rep < (len >= 120 && len <= 130 ? 8u : 1u); rep++) {
			if (n + len + 2 > cap)
				return n;
			for (i = 0; i < len; i++)
				buf[n++] = (uint8_t)('A' + (i + len) % 26);
			buf[n++] = '\r';
			buf[n++] = '\n';
		}
	}
	return n;
}

/* scan_chunks - scan text in chunks of size k at buffer misalignment a */

static unsigned scan_chunks(struct scr_scan_thread *t, const uint8_t *text,
			    size_t n, size_t k)
{
	struct scr_scan_stream *s = scr_scan_open(t);
	unsigned flags = 0;
	size_t off;

	assert_non_null(s);
	for (off = 0; off < n; off += k) {
		struct scr_scan_match m;
		size_t len = n - off < k ? n - off : k;

		assert_int_equal(scr_scan_feed(t, s, text + off, (uint32_t)len, &m), 0);
		flags |= m.flags;
	}
	scr_scan_close(t, s);
	return flags;
}

/* test_vectorscan_guard - no bare LF in long CRLF text, whole or in chunks */

static void test_vectorscan_guard(void **state)
{
	struct scr_scan_db *db = make_db();
	struct scr_scan_thread *t = scr_scan_thread_create(db, 1);
	static uint8_t raw[96 * 1024 + 64];
	size_t n, k, a;

	(void)state;
	for (a = 0; a < 64; a += 7) {
		uint8_t *text = raw + a;	/* vary vector alignment */

		n = crlf_text(text, sizeof(raw) - 64, 300);
		assert_true(n > 40000);
		if (scan_chunks(t, text, n, n) & SCR_SCAN_BARE_LF)
			fail_msg("bare LF reported in CRLF text, whole, align %zu", a);
		for (k = 1; k <= 64; k++)
			if (scan_chunks(t, text, n, k) & SCR_SCAN_BARE_LF)
				fail_msg("bare LF reported in CRLF text, chunk %zu, "
					 "align %zu", k, a);
	}
	/* Lines of exactly 125 bytes, split once at every offset 1..64. */
	n = 0;
	while (n + 127 <= 64 * 127) {
		memset(raw + n, 'x', 125);
		raw[n + 125] = '\r';
		raw[n + 126] = '\n';
		n += 127;
	}
	for (k = 1; k <= 64; k++) {
		struct scr_scan_stream *s = scr_scan_open(t);
		struct scr_scan_match m1, m2;

		assert_int_equal(scr_scan_feed(t, s, raw, (uint32_t)k, &m1), 0);
		assert_int_equal(scr_scan_feed(t, s, raw + k, (uint32_t)(n - k), &m2), 0);
		if ((m1.flags | m2.flags) & SCR_SCAN_BARE_LF)
			fail_msg("bare LF reported in 125-byte CRLF lines split at %zu", k);
		scr_scan_close(t, s);
	}
	/* Positive control: one bare LF in the same text is found. */
	raw[127 * 10 + 125] = 'y';
	assert_true(scan_chunks(t, raw, n, n) & SCR_SCAN_BARE_LF);
	assert_true(scan_chunks(t, raw, n, 33) & SCR_SCAN_BARE_LF);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(db);
}

/* test_stream_sizes - print the budget numbers (not asserted: no timing,
 * but the sizes must be sane) */

static void test_stream_sizes(void **state)
{
	struct scr_scan_pattern sigs[5 + 20];
	static char re[20][96];
	char err[512];
	struct scr_scan_db *db;
	size_t base, with_sigs, i;

	(void)state;
	memcpy(sigs, default_pats, 5 * sizeof(sigs[0]));
	db = scr_scan_create(sigs, 5, err, sizeof(err));
	assert_non_null(db);
	base = scr_scan_stream_size(db);
	scr_scan_destroy(db);
	for (i = 0; i < 20; i++) {
		snprintf(re[i], sizeof(re[i]),
			 "^(HELO|EHLO) +[a-z]*bot%zu[0-9]+\\.(example|test)\\b", i);
		sigs[5 + i] = (struct scr_scan_pattern){ "sig", re[i], 1,
			SCR_PAT_LINE, SCR_TEST_HELO, "sigs" };
	}
	db = scr_scan_create(sigs, 25, err, sizeof(err));
	assert_non_null(db);
	with_sigs = scr_scan_stream_size(db);
	scr_scan_destroy(db);
	print_message("stream state: default set %zu B, with 20 signatures %zu B\n",
		      base, with_sigs);
	assert_true(base > 0 && base < 4096);
	assert_true(with_sigs >= base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_compile_bad_args),
		cmocka_unit_test(test_compile_builtin_only),
		cmocka_unit_test(test_create_needed),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_word),
		cmocka_unit_test(test_reset_on_open),
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_pool_lazy),
		cmocka_unit_test(test_no_alloc_on_packet_path),
		cmocka_unit_test(test_vectorscan_guard),
		cmocka_unit_test(test_stream_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
