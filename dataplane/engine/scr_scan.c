/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_scan - Hyperscan pattern set for client command streams
 * DESCRIPTION
 *	Compiles a streaming-mode database for client lines from the built-in
 *	patterns (bare LF: "[^\r]\n" and an LF as the first byte of a stream;
 *	a header label "Name:" at a line start) and ctrl's SCR_PAT_LINE
 *	patterns (own HELO names, signatures), with HS_FLAG_MULTILINE: '^' and
 *	'$' are line anchors. ctrl's SCR_PAT_COMMAND patterns
 *	(postscreen_forbidden_commands) go into a block-mode database of their
 *	own, scanned on the command word alone (scr_scan_word): postscreen
 *	matches them against the word, so '^' and '$' are the word's ends.
 *	Every pattern is HS_FLAG_SINGLEMATCH: callers only need to know that
 *	(and where first) a pattern matched, and this keeps the callback
 *	cheap.
 *
 *	Each worker gets its scratch and a pool of up to max_streams stream
 *	states in one arena reserved when the thread is created. A state is
 *	opened the first time the pool needs one more: hs_open_stream() takes
 *	its memory from the arena through the stream allocator this file
 *	installs (a bump of the arena's high-water mark, no malloc), so a
 *	replay that never splits a line opens none and a big pool costs only
 *	the pages its streams touch (opening all 16,384 states of a 262,144-
 *	flow table at start cost ~1,200 page faults and 16,384 mallocs).
 *	scr_scan_open() pops a free state and resets it (hs_reset_stream()
 *	does not allocate), close pushes it back: nothing on the packet path
 *	calls malloc. Hyperscan reports stream offsets; each pool slot
 *	remembers how many bytes it has seen so that scr_scan_feed() can
 *	report offsets within the current feed.
 *
 *	Command patterns of two simple forms are also decided in C (see
 *	struct scr_scan_words): a literal command word (ctrl's spelling of a
 *	plain postscreen_forbidden_commands entry) and one bracket expression
 *	at the word's start, its byte set computed by Hyperscan itself at
 *	create. scr_smtp matches those while it reads the command word, and
 *	with only those in the set (Debian's default list) it opens no stream:
 *	a stream per line cost ~1,000 instructions, 18 % of a replay. The
 *	engines' database (scr_scan_create_needed) then has no Hyperscan part
 *	at all: its compile was ~5 ms of a replay's ~30 ms start.
 *
 *	It does not parse config files (ctrl turns config into patterns) and
 *	does not decide tests (scr_smtp does, using the match flags).
 * CONTRACT
 *	scr_scan_create(pats, n, err, errlen): compiles; NULL with errno set
 *	  and "where: name: /regex/: Hyperscan message" in err on a bad
 *	  pattern (EINVAL), ENOMEM on allocation failure. pats is not kept.
 *	scr_scan_destroy(db): db may be NULL. No thread may still use it.
 *	scr_scan_stream_size(db): hs_stream_size() of the database.
 *	scr_scan_thread_create(db, max_streams): scratch + pool of max_streams
 *	  stream states (0 is allowed: every open then fails). NULL + errno.
 *	scr_scan_thread_destroy(t): t may be NULL; every stream must have been
 *	  closed (open streams are freed with the pool anyway).
 *	scr_scan_open(t): a reset stream, or NULL when the pool is empty.
 *	scr_scan_feed(t, s, p, len, m): scans p[0..len) as the continuation of
 *	  s, fills *m (flags of this feed, end offsets relative to p, first ctrl
 *	  pattern index or SCR_SCAN_NO_PAT). 0, or -EIO if Hyperscan fails (the
 *	  stream is then unusable; close it).
 *	scr_scan_close(t, s): back to the pool; end-of-data matches are dropped.
 * THREADING
 *	db: read-only after create, shared. A scr_scan_thread and its streams
 *	belong to one worker.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "scr_mem.h"
#include "scr_panic.h"
#include "scr_scan.h"

/* Built-in pattern ids; ctrl pattern i has id SCR_SCAN_NBUILTIN + i. */
enum scr_scan_builtin {
	SCR_SCAN_ID_BARE_LF = 0,	/* LF after a byte that is not CR */
	SCR_SCAN_ID_BARE_LF_FIRST,	/* LF as the first byte of the stream */
	SCR_SCAN_ID_HEADER,		/* header label at a line start */
	SCR_SCAN_NBUILTIN
};

/* Hyperscan ids are unsigned; pat_id is 16 bits with one value reserved. */
#define SCR_SCAN_MAX_PATS	(SCR_SCAN_NO_PAT - 1u)

struct scr_scan_db {
	hs_database_t *hs;	/* line streams; NULL: no pattern needs it (only
				 * from scr_scan_create_needed) */
	hs_database_t *hs_word;	/* block mode, command patterns on the command
				 * word alone; NULL: none */
	size_t stream_size;
	size_t npats;		/* ctrl patterns */
	size_t nhs;		/* ... of them only Hyperscan can match */
	uint8_t *flag_of;	/* per id: the SCR_SCAN_* flag it sets */
	struct scr_scan_words words;	/* the others */
};

struct scr_scan_stream {
	hs_stream_t *hs;
	uint64_t off;		/* bytes scanned since open */
	uint8_t text[SCR_SCAN_TEXT_MAX];	/* the first of them */
};

struct scr_scan_thread {
	const struct scr_scan_db *db;
	hs_scratch_t *scratch;
	uint32_t max;			/* slots */
	uint32_t opened;		/* slots [0, opened) have a stream */
	uint32_t nfree;			/* entries in free[] */
	struct scr_scan_stream *slot;	/* max entries */
	struct scr_scan_stream **free;	/* stack of free slots */
	uint8_t *arena;			/* max states of state_size bytes */
	size_t state_size;		/* hs_stream_size, cache-line rounded */
};

/* The thread whose arena the next stream allocation comes from: set only
 * around hs_open_stream() in open_state(). */
static __thread struct scr_scan_thread *arena_owner;

/* Context for one hs_scan_stream() call. */
struct scr_scan_ctx {
	const struct scr_scan_db *db;
	struct scr_scan_match *m;
	uint64_t base;		/* stream offset of p[0] */
};

/* scr_scan_flag_of - match flag for a ctrl pattern; 0 if the kind is bad */

static unsigned scr_scan_flag_of(const struct scr_scan_pattern *p)
{
	switch (p->kind) {
	case SCR_PAT_COMMAND:
		return p->test == SCR_TEST_NON_SMTP ? SCR_SCAN_COMMAND : 0;
	case SCR_PAT_LINE:
		if (p->test == SCR_TEST_NON_SMTP)
			return SCR_SCAN_LINE_NONSMTP;
		if (p->test == SCR_TEST_HELO)
			return SCR_SCAN_LINE_HELO;
		return 0;
	default:
		return 0;	/* untrusted input from ctrl: reported, not a panic */
	}
}

/* scr_scan_str - s, or dflt when s is NULL or empty (for messages) */

static const char *scr_scan_str(const char *s, const char *dflt)
{
	return s != NULL && *s != '\0' ? s : dflt;
}

/* literal - re[0..n) is a literal in ctl_re_escape's spelling, without
 * blanks or line ends: its bytes in upper case in w (at most cap), their
 * count in *len */
static bool literal(const char *re, size_t n, uint8_t *w, size_t cap, uint8_t *len)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		unsigned c = (unsigned char)re[i];

		if (c == '\\') {
			if (++i >= n)
				return false;
			c = (unsigned char)re[i];
			if (c == 'x') {
				char hex[3] = { 0 }, *end;

				if (i + 2 >= n)
					return false;
				memcpy(hex, re + i + 1, 2);
				c = (unsigned)strtoul(hex, &end, 16);
				if (end != hex + 2)
					return false;
				i += 2;
			} else if (strchr("\\^$.|?*+()[]{}/-#", (int)c) == NULL || c == 0) {
				return false;	/* a class (\d, \s...) or an anchor */
			}
		} else if (strchr("^$.|?*+()[{", (int)c) != NULL) {
			return false;		/* an operator */
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || k == cap)
			return false;
		w[k++] = scr_upper(c);
	}
	*len = (uint8_t)k;
	return k > 0;
}

/* simple_form - re is head LITERAL tail: the literal into w (see literal) */
static bool simple_form(const char *re, const char *head, const char *tail,
			uint8_t *w, size_t cap, uint8_t *len)
{
	size_t n = strlen(re), hl = strlen(head), tl = strlen(tail);

	return n > hl + tl && strncmp(re, head, hl) == 0 &&
	       strcmp(re + n - tl, tail) == 0 &&
	       literal(re + hl, n - hl - tl, w, cap, len);
}

/* class_hit - the byte matched: stop */
static int class_hit(unsigned id, unsigned long long from,
		     unsigned long long to, unsigned fl, void *ctx)
{
	(void)id, (void)from, (void)to, (void)fl, (void)ctx;
	return 1;
}

/* simple_class - re is "^[...]", one bracket expression: the first bytes it
 * matches ORed into first[], as Hyperscan itself matches them (the
 * expression is compiled alone, with the pattern's flags, and run on each
 * byte) */
static bool simple_class(const char *re, unsigned flags, uint64_t first[4])
{
	hs_database_t *db = NULL;
	hs_scratch_t *scratch = NULL;
	hs_compile_error_t *cerr = NULL;
	size_t n = strlen(re), i = 2;
	bool ok = false;

	if (n < 4 || re[0] != '^' || re[1] != '[')
		return false;
	if (re[i] == '^')
		i++;
	if (re[i] == ']')
		i++;			/* a literal ']' first */
	for (; i < n && re[i] != ']'; i++) {
		if (re[i] == '\\') {
			i++;
		} else if (re[i] == '[') {
			const char *e;

			if (re[i + 1] != ':' || (e = strstr(re + i + 2, ":]")) == NULL)
				return false;	/* [. .] and [= =]: leave to Hyperscan */
			i = (size_t)(e - re) + 1;
		}
	}
	if (i != n - 1)
		return false;		/* more after the bracket, or no end */
	if (hs_compile(re, flags, HS_MODE_BLOCK, NULL, &db, &cerr) != HS_SUCCESS) {
		hs_free_compile_error(cerr);
		return false;		/* the stream compile reports it */
	}
	if (hs_alloc_scratch(db, &scratch) == HS_SUCCESS) {
		uint64_t set[4] = { 0 };

		ok = true;
		for (unsigned b = 0; b < 256 && ok; b++) {
			uint8_t byte = (uint8_t)b;
			hs_error_t rc = hs_scan(db, (const char *)&byte, 1, 0, scratch,
						 class_hit, NULL);

			if (rc == HS_SCAN_TERMINATED)
				set[b >> 6] |= 1ull << (b & 63);
			else if (rc != HS_SUCCESS)
				ok = false;
		}
		for (i = 0; ok && i < 4; i++)
			first[i] |= set[i];
		hs_free_scratch(scratch);
	}
	hs_free_database(db);
	return ok;
}

/* compile_set - n expressions (ids: built-in or SCR_SCAN_NBUILTIN + the
 * ctrl pattern's index) into *out; -1 with the offending pattern in err */
static int compile_set(const char *const *expr, const unsigned *flags,
		       const unsigned *ids, size_t n, unsigned mode,
		       const struct scr_scan_pattern *pats, hs_database_t **out,
		       char *err, size_t errlen)
{
	hs_compile_error_t *cerr = NULL;
	int e;
	const char *msg;

	if (hs_compile_multi(expr, flags, ids, (unsigned)n, mode, NULL, out,
			     &cerr) == HS_SUCCESS)
		return 0;
	e = cerr != NULL ? cerr->expression : -1;
	msg = cerr != NULL ? cerr->message : "unknown error";
	if (e >= 0 && (size_t)e < n && ids[e] >= SCR_SCAN_NBUILTIN) {
		const struct scr_scan_pattern *p = &pats[ids[e] - SCR_SCAN_NBUILTIN];

		snprintf(err, errlen, "%s: %s: /%s/: %s",
			 scr_scan_str(p->where, "(unknown)"),
			 scr_scan_str(p->name, "(unnamed)"), p->regex, msg);
	} else if (e >= 0 && (size_t)e < n) {
		snprintf(err, errlen, "scanner: built-in pattern /%s/: %s",
			 expr[e], msg);
	} else {
		snprintf(err, errlen, "scanner: pattern set: %s", msg);
	}
	hs_free_compile_error(cerr);
	*out = NULL;
	return -1;
}

/* create - the words and classes of the ctrl patterns, and the Hyperscan
 * database of all patterns: always (all), or only when a ctrl pattern is
 * neither (!all) */
static struct scr_scan_db *create(const struct scr_scan_pattern *pats,
				  size_t n, bool all, char *err, size_t errlen)
{
	static const char *const bi_expr[SCR_SCAN_NBUILTIN] = {
		[SCR_SCAN_ID_BARE_LF] = "[^\\r]\\n",
		[SCR_SCAN_ID_BARE_LF_FIRST] = "^\\n",
		[SCR_SCAN_ID_HEADER] = "^[\\x21-\\x39\\x3b-\\x7e]+[ \\t]*:",
	};
	static const unsigned bi_flags[SCR_SCAN_NBUILTIN] = {
		[SCR_SCAN_ID_BARE_LF] = HS_FLAG_SINGLEMATCH,
		[SCR_SCAN_ID_BARE_LF_FIRST] = HS_FLAG_SINGLEMATCH,
		[SCR_SCAN_ID_HEADER] = HS_FLAG_SINGLEMATCH | HS_FLAG_MULTILINE,
	};
	static const uint8_t bi_flag_of[SCR_SCAN_NBUILTIN] = {
		[SCR_SCAN_ID_BARE_LF] = SCR_SCAN_BARE_LF,
		[SCR_SCAN_ID_BARE_LF_FIRST] = SCR_SCAN_BARE_LF,
		[SCR_SCAN_ID_HEADER] = SCR_SCAN_HEADER,
	};
	struct scr_scan_db *db = NULL;
	const char **expr = NULL, **wexpr = NULL;
	unsigned *flags = NULL, *ids = NULL, *wflags = NULL, *wids = NULL;
	size_t nline = SCR_SCAN_NBUILTIN, nword = 0;
	size_t total = 0, i;
	int rc = ENOMEM;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (n > 0 && pats == NULL) {
		snprintf(err, errlen, "scanner: %zu patterns but no pattern table", n);
		rc = EINVAL;
		goto out;
	}
	if (n > SCR_SCAN_MAX_PATS) {
		snprintf(err, errlen, "scanner: %zu patterns, at most %u supported",
			 n, SCR_SCAN_MAX_PATS);
		rc = EINVAL;
		goto out;
	}
	total = SCR_SCAN_NBUILTIN + n;
	if ((db = calloc(1, sizeof(*db))) == NULL
	    || (db->flag_of = calloc(total, sizeof(*db->flag_of))) == NULL
	    || (expr = calloc(total, sizeof(*expr))) == NULL
	    || (flags = calloc(total, sizeof(*flags))) == NULL
	    || (ids = calloc(total, sizeof(*ids))) == NULL
	    || (wexpr = calloc(total, sizeof(*wexpr))) == NULL
	    || (wflags = calloc(total, sizeof(*wflags))) == NULL
	    || (wids = calloc(total, sizeof(*wids))) == NULL) {
		snprintf(err, errlen, "scanner: out of memory");
		goto out;
	}
	for (i = 0; i < SCR_SCAN_NBUILTIN; i++) {
		expr[i] = bi_expr[i];
		flags[i] = bi_flags[i];
		db->flag_of[i] = bi_flag_of[i];
		ids[i] = (unsigned)i;
	}
	for (i = 0; i < n; i++) {
		const struct scr_scan_pattern *p = &pats[i];
		size_t id = SCR_SCAN_NBUILTIN + i;
		unsigned f = scr_scan_flag_of(p);

		if (p->regex == NULL || p->regex[0] == '\0') {
			snprintf(err, errlen, "%s: %s: empty pattern",
				 scr_scan_str(p->where, "(unknown)"),
				 scr_scan_str(p->name, "(unnamed)"));
			rc = EINVAL;
			goto out;
		}
		if (f == 0) {
			snprintf(err, errlen, "%s: %s: /%s/: pattern kind %d cannot "
				 "apply to test %d", scr_scan_str(p->where, "(unknown)"),
				 scr_scan_str(p->name, "(unnamed)"), p->regex,
				 (int)p->kind, (int)p->test);
			rc = EINVAL;
			goto out;
		}
		db->flag_of[id] = (uint8_t)f;
		if (f == SCR_SCAN_COMMAND) {
			/* on the command word alone, as postscreen matches
			 * them: '^' and '$' are the word's ends */
			struct scr_scan_words *w = &db->words;
			unsigned wf = HS_FLAG_SINGLEMATCH | (p->caseless ? HS_FLAG_CASELESS : 0);
			bool simple = false;

			if (p->caseless && w->n < SCR_SCAN_WORDS_MAX &&
			    simple_form(p->regex, "^", "$", w->word[w->n],
					SCR_SCAN_WORD_LEN, &w->len[w->n])) {
				w->n++;
				simple = true;
			} else if (simple_class(p->regex, wf, w->first)) {
				simple = true;
			}
			if (all || !simple) {
				wexpr[nword] = p->regex;
				wflags[nword] = wf;
				wids[nword++] = (unsigned)id;
			}
			if (!simple)
				db->nhs++;
			continue;
		}
		expr[nline] = p->regex;
		flags[nline] = HS_FLAG_MULTILINE | HS_FLAG_SINGLEMATCH
			| (p->caseless ? HS_FLAG_CASELESS : 0);
		ids[nline++] = (unsigned)id;
		if (f == SCR_SCAN_LINE_HELO) {
			struct scr_scan_words *w = &db->words;

			if (p->caseless && w->nnames < SCR_SCAN_WORDS_MAX &&
			    simple_form(p->regex, "^(?:HELO|EHLO) [ \\t]*",
					"[ \\t]*\\r?\\n", w->name[w->nnames],
					SCR_SCAN_NAME_LEN, &w->name_len[w->nnames])) {
				w->nnames++;
				continue;
			}
		}
		db->nhs++;
	}
	db->npats = n;
	if (!all && db->nhs == 0) {
		/* Each pattern is a literal word or a class Hyperscan itself
		 * compiled (simple_class): nothing is left to check, and an
		 * engine with the words table opens no stream. */
		rc = 0;
		goto out;
	}
	if (compile_set(expr, flags, ids, nline, HS_MODE_STREAM, pats, &db->hs,
			err, errlen) != 0 ||
	    (nword > 0 &&
	     compile_set(wexpr, wflags, wids, nword, HS_MODE_BLOCK, pats,
			 &db->hs_word, err, errlen) != 0)) {
		rc = EINVAL;
		goto out;
	}
	if (hs_stream_size(db->hs, &db->stream_size) != HS_SUCCESS) {
		snprintf(err, errlen, "scanner: cannot get the stream size");
		rc = EINVAL;
		goto out;
	}
	rc = 0;
out:
	free(wids);
	free(wflags);
	free(wexpr);
	free(ids);
	free(flags);
	free(expr);
	if (rc != 0) {
		scr_scan_destroy(db);
		errno = rc;
		return NULL;
	}
	return db;
}

/* scr_scan_create - compile the built-in and ctrl patterns once */

struct scr_scan_db *scr_scan_create(const struct scr_scan_pattern *pats,
				    size_t n, char *err, size_t errlen)
{
	return create(pats, n, true, err, errlen);
}

/* scr_scan_create_needed - the same, without the Hyperscan database when
 * no pattern needs it */

struct scr_scan_db *scr_scan_create_needed(const struct scr_scan_pattern *pats,
					   size_t n, char *err, size_t errlen)
{
	return create(pats, n, false, err, errlen);
}

/* scr_scan_destroy - free the database */

void scr_scan_destroy(struct scr_scan_db *db)
{
	if (db == NULL)
		return;
	if (db->hs != NULL)
		hs_free_database(db->hs);
	if (db->hs_word != NULL)
		hs_free_database(db->hs_word);
	free(db->flag_of);
	free(db);
}

/* scr_scan_stream_size - bytes of Hyperscan stream state per stream */

size_t scr_scan_stream_size(const struct scr_scan_db *db)
{
	return db->stream_size;
}

/* scr_scan_pattern_count - number of ctrl patterns in the database */

size_t scr_scan_pattern_count(const struct scr_scan_db *db)
{
	return db->npats;
}

/* stream_alloc - Hyperscan's stream allocator: a state in the opening
 * thread's arena (NULL when it does not fit: the open fails and is
 * counted), or malloc for streams opened outside open_state() */
static void *stream_alloc(size_t size)
{
	struct scr_scan_thread *t = arena_owner;

	if (t == NULL)
		return malloc(size);
	if (size > t->state_size || t->opened >= t->max)
		return NULL;
	return t->arena + (size_t)t->opened * t->state_size;
}

/* stream_free - arena states are never closed (the arena goes whole) */
static void stream_free(void *p)
{
	free(p);
}

static pthread_once_t allocator_once = PTHREAD_ONCE_INIT;

static void set_allocator(void)
{
	if (hs_set_stream_allocator(stream_alloc, stream_free) != HS_SUCCESS)
		scr_panic("scr_scan: hs_set_stream_allocator failed");
}

/* scr_scan_thread_create - scratch and stream pool for one worker */

struct scr_scan_thread *scr_scan_thread_create(const struct scr_scan_db *db,
					       uint32_t max_streams)
{
	struct scr_scan_thread *t;
	int rc = ENOMEM;

	if (db == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	t->db = db;
	if (db->hs == NULL)
		return t;	/* nothing to scan with: no scratch, an empty pool */
	pthread_once(&allocator_once, set_allocator);
	t->state_size = (db->stream_size + 63) & ~(size_t)63;
	if (hs_alloc_scratch(db->hs, &t->scratch) != HS_SUCCESS) {
		t->scratch = NULL;
		goto out;
	}
	if (db->hs_word != NULL && hs_alloc_scratch(db->hs_word, &t->scratch) != HS_SUCCESS)
		goto out;
	if (max_streams > 0
	    && ((t->slot = scr_mem_zalloc((size_t)max_streams * sizeof(*t->slot))) == NULL
		|| (t->free = scr_mem_zalloc((size_t)max_streams * sizeof(*t->free))) == NULL
		|| (t->arena = scr_mem_zalloc((size_t)max_streams * t->state_size)) == NULL))
		goto out;
	t->max = max_streams;
	rc = 0;
out:
	if (rc != 0) {
		scr_scan_thread_destroy(t);
		errno = rc;
		return NULL;
	}
	return t;
}

/* scr_scan_thread_destroy - free scratch and pool */

void scr_scan_thread_destroy(struct scr_scan_thread *t)
{
	if (t == NULL)
		return;
	/* The states live in the arena: nothing to close one by one (a
	 * stream closed without scratch reports nothing). */
	scr_mem_free(t->arena, (size_t)t->max * t->state_size);
	scr_mem_free(t->free, (size_t)t->max * sizeof(*t->free));
	scr_mem_free(t->slot, (size_t)t->max * sizeof(*t->slot));
	if (t->scratch != NULL)
		hs_free_scratch(t->scratch);
	free(t);
}

/* scr_scan_has_patterns - true when the database has ctrl patterns that
 * only Hyperscan can match */

bool scr_scan_has_patterns(const struct scr_scan_thread *t)
{
	return t->db->nhs > 0;
}

/* scr_scan_any_patterns - true when the database has ctrl patterns */

bool scr_scan_any_patterns(const struct scr_scan_thread *t)
{
	return t->db->npats > 0 && t->db->hs != NULL;
}

/* scr_scan_has_word_patterns - true when command patterns need
 * scr_scan_word() */

bool scr_scan_has_word_patterns(const struct scr_scan_thread *t)
{
	return t->db->hs_word != NULL;
}

/* word_hit - Hyperscan callback of scr_scan_word: a match ends the scan */
static int word_hit(unsigned int id, unsigned long long from,
		    unsigned long long to, unsigned int hflags, void *arg)
{
	(void)id, (void)from, (void)to, (void)hflags;
	*(bool *)arg = true;
	return 1;
}

/* scr_scan_word - does a command pattern match the command word w[0..n)? */

int scr_scan_word(struct scr_scan_thread *t, const uint8_t *w, uint32_t n)
{
	bool hit = false;
	hs_error_t e;

	if (t->db->hs_word == NULL)
		return 0;
	e = hs_scan(t->db->hs_word, (const char *)w, n, 0, t->scratch, word_hit, &hit);
	if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
		return -EIO;
	return hit;
}

/* scr_scan_words - the command patterns scr_smtp matches itself */

const struct scr_scan_words *scr_scan_words(const struct scr_scan_db *db)
{
	return &db->words;
}

/* scr_scan_pool_free - streams left in the pool (opened or not) */

uint32_t scr_scan_pool_free(const struct scr_scan_thread *t)
{
	return t->nfree + (t->max - t->opened);
}

/* scr_scan_open - take a reset stream from the pool */

struct scr_scan_stream *scr_scan_open(struct scr_scan_thread *t)
{
	struct scr_scan_stream *s;
	hs_error_t e;

	if (t->nfree == 0) {
		/* the pool's next state, opened in the arena */
		if (t->opened == t->max)
			return NULL;
		s = &t->slot[t->opened];
		arena_owner = t;
		e = hs_open_stream(t->db->hs, 0, &s->hs);
		arena_owner = NULL;
		if (e != HS_SUCCESS)
			return NULL;
		t->opened++;
		s->off = 0;
		return s;
	}
	s = t->free[--t->nfree];
	/* Without scratch and callback nothing is reported and nothing is
	 * allocated: the state is just re-initialised. */
	if ((e = hs_reset_stream(s->hs, 0, NULL, NULL, NULL)) != HS_SUCCESS)
		scr_panic("scr_scan_open: hs_reset_stream on a pool stream: "
			  "hs_error_t %d", (int)e);
	s->off = 0;
	return s;
}

/* scr_scan_text - the first bytes fed since open (at most 100) */
const uint8_t *scr_scan_text(const struct scr_scan_stream *s, uint32_t *len)
{
	*len = s->off < SCR_SCAN_TEXT_MAX ? (uint32_t)s->off : SCR_SCAN_TEXT_MAX;
	return s->text;
}

/* scr_scan_on_match - Hyperscan callback: record flags and offsets only */

static int scr_scan_on_match(unsigned int id, unsigned long long from,
			     unsigned long long to, unsigned int hflags, void *arg)
{
	struct scr_scan_ctx *c = arg;
	struct scr_scan_match *m = c->m;
	unsigned f = c->db->flag_of[id];
	unsigned bit = (unsigned)__builtin_ctz(f);
	uint64_t end = to >= c->base ? to - c->base : 0;

	(void)from;
	(void)hflags;
	if ((m->flags & f) == 0) {
		m->flags |= f;
		m->first_end[bit] = end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
	}
	if (id >= SCR_SCAN_NBUILTIN && m->pat_id == SCR_SCAN_NO_PAT)
		m->pat_id = (uint16_t)(id - SCR_SCAN_NBUILTIN);
	return 0;
}

/* scr_scan_feed - scan the next bytes of a stream */

int scr_scan_feed(struct scr_scan_thread *t, struct scr_scan_stream *s,
		  const uint8_t *p, uint32_t len, struct scr_scan_match *m)
{
	struct scr_scan_ctx c = { .db = t->db, .m = m, .base = s->off };
	hs_error_t e;

	memset(m, 0, sizeof(*m));
	m->pat_id = SCR_SCAN_NO_PAT;
	if (len == 0)
		return 0;
	e = hs_scan_stream(s->hs, (const char *)p, len, 0, t->scratch,
			   scr_scan_on_match, &c);
	if (s->off < SCR_SCAN_TEXT_MAX)
		memcpy(s->text + s->off, p, SCR_SCAN_TEXT_MAX - s->off < len ?
		       SCR_SCAN_TEXT_MAX - s->off : len);
	s->off += len;
	return e == HS_SUCCESS ? 0 : -EIO;
}

/* scr_scan_close - return a stream to the pool */

void scr_scan_close(struct scr_scan_thread *t, struct scr_scan_stream *s)
{
	if (s == NULL)
		return;
	if (t->nfree >= t->opened)
		scr_panic("scr_scan_close: stream closed twice: %u free of %u",
			  t->nfree, t->opened);
	t->free[t->nfree++] = s;
}

/* scr_scan_pool_bytes - memory the thread's stream pool holds */

size_t scr_scan_pool_bytes(const struct scr_scan_thread *t)
{
	return (size_t)t->max * (t->state_size + sizeof(*t->slot) +
				 sizeof(*t->free));
}
