/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_scan - Hyperscan pattern set for client command streams
 * DESCRIPTION
 *	Owns the compiled pattern database (built-in patterns: bare LF,
 *	header label used as a command; plus the patterns ctrl hands in:
 *	postscreen_forbidden_commands, HELO own names, smtpscreen_signatures),
 *	per-thread scratch, and a per-thread pool of stream states so that
 *	opening a stream never calls malloc on the packet path.
 *	It does not parse config files: ctrl turns config into patterns.
 * CONTRACT
 *	scr_scan_create(pats, n, err, errlen): compile once (start, reload).
 *	  Returns NULL and a message naming the pattern on error.
 *	scr_scan_create_needed(pats, n, err, errlen): the same for an engine
 *	  with a words table: no Hyperscan database when no pattern needs it.
 *	scr_scan_thread_create(db, max_streams): scratch + stream pool for one
 *	  worker; NULL + errno on failure.
 *	scr_scan_open/scr_scan_feed/scr_scan_close: see below.
 * THREADING
 *	db: read-only after create, shared by all workers. scr_scan_thread and
 *	its streams: one worker only.
 */
#ifndef SCR_SCAN_H
#define SCR_SCAN_H

#include "scr_types.h"

/* Where a pattern from ctrl applies. */
enum scr_pat_kind {
	SCR_PAT_COMMAND = 0,	/* postscreen_forbidden_commands entry: matched on
				 * the command word of a command SMTP does not know;
				 * regex is applied as if anchored to the word start
				 * when it starts with '^' */
	SCR_PAT_LINE,		/* signature / own HELO name: any client command line */
};

struct scr_scan_pattern {
	const char *name;	/* for messages and JSON logs */
	const char *regex;	/* PCRE syntax accepted by Hyperscan */
	unsigned caseless;	/* 1: case-insensitive */
	enum scr_pat_kind kind;
	enum scr_test test;	/* SCR_TEST_NON_SMTP or SCR_TEST_HELO */
	const char *where;	/* "file:line" of the source, for messages */
};

struct scr_scan_db;
struct scr_scan_thread;
struct scr_scan_stream;		/* opaque; one per undecided client direction */

struct scr_scan_db *scr_scan_create(const struct scr_scan_pattern *pats,
				    size_t n, char *err, size_t errlen);
/* For an engine that matches scr_scan_words() itself (scr_smtp with a
 * words table): when every ctrl pattern is one of those, no Hyperscan
 * database is compiled (nothing would scan with it: scr_scan_has_patterns
 * is false), the threads get no scratch and an empty pool, and the stream
 * size is 0. Errors are reported as by scr_scan_create. */
struct scr_scan_db *scr_scan_create_needed(const struct scr_scan_pattern *pats,
					   size_t n, char *err, size_t errlen);
void scr_scan_destroy(struct scr_scan_db *db);
/* Bytes of stream state per flow (for the memory budget report). */
size_t scr_scan_stream_size(const struct scr_scan_db *db);
/* Number of ctrl patterns compiled in (built-ins not counted). */
size_t scr_scan_pattern_count(const struct scr_scan_db *db);

struct scr_scan_thread *scr_scan_thread_create(const struct scr_scan_db *db,
					       uint32_t max_streams);
void scr_scan_thread_destroy(struct scr_scan_thread *t);
/* True when ctrl patterns that only Hyperscan can match exist (otherwise
 * scr_smtp's C checks cover the built-in patterns and scr_scan_words(), and
 * it need not scan). */
bool scr_scan_has_patterns(const struct scr_scan_thread *t);
/* True when any ctrl pattern exists (Hyperscan matches them all); false
 * for a database of scr_scan_create_needed without Hyperscan. */
bool scr_scan_any_patterns(const struct scr_scan_thread *t);
/* True when SCR_PAT_COMMAND patterns need scr_scan_word(): those that are
 * not a plain word or a class (all of them from scr_scan_create). */
bool scr_scan_has_word_patterns(const struct scr_scan_thread *t);
/* Matches the SCR_PAT_COMMAND patterns against the command word w[0..n)
 * alone ('^' and '$' are its ends, as postscreen applies
 * postscreen_forbidden_commands to the word): 1 when one matches, 0 when
 * none does, -EIO when Hyperscan fails. Line streams (scr_scan_feed) do
 * not match them. */
int scr_scan_word(struct scr_scan_thread *t, const uint8_t *w, uint32_t n);
/* Streams left in the thread's pool (stats, tests). */
uint32_t scr_scan_pool_free(const struct scr_scan_thread *t);
/* Memory of the pool: stream states, their allocator headers, bookkeeping. */
size_t scr_scan_pool_bytes(const struct scr_scan_thread *t);

/* Match flags reported by scr_scan_feed (bits). */
#define SCR_SCAN_BARE_LF	0x01u	/* LF not preceded by CR */
#define SCR_SCAN_HEADER		0x02u	/* line starts with a header label "Name:" */
#define SCR_SCAN_COMMAND	0x04u	/* the kind of a SCR_PAT_COMMAND pattern:
					 * matched by scr_scan_word, never
					 * reported here */
#define SCR_SCAN_LINE_NONSMTP	0x08u	/* a SCR_PAT_LINE pattern of test NON_SMTP */
#define SCR_SCAN_LINE_HELO	0x10u	/* a SCR_PAT_LINE pattern of test HELO */

struct scr_scan_match {
	unsigned flags;		/* SCR_SCAN_* seen in this feed */
	uint32_t first_end[8];	/* per flag bit: end offset (within this feed) of
				 * its first match */
	uint16_t pat_id;	/* index into pats[] of the first ctrl pattern hit,
				 * SCR_SCAN_NO_PAT if none */
};
#define SCR_SCAN_NO_PAT		0xffffu

/* Command patterns decided without Hyperscan: a literal command word (what
 * ctrl writes for a plain postscreen_forbidden_commands entry: ^WORD$,
 * caseless), or one bracket expression at the word's start (Debian's
 * regexp:{{/^[^A-Z]/ Bogus}}). scr_smtp matches them while
 * it reads the command word, so a database of only these opens no stream
 * and scans nothing (scr_scan_has_patterns() is then false). */
#define SCR_SCAN_WORDS_MAX	13	/* the verb mask's free bits */
#define SCR_SCAN_WORD_LEN	16
#define SCR_SCAN_NAME_LEN	254	/* an own HELO name (one fewer than the
					 * longest name scr_smtp follows) */
struct scr_scan_words {
	unsigned n;
	uint8_t len[SCR_SCAN_WORDS_MAX];
	uint8_t word[SCR_SCAN_WORDS_MAX][SCR_SCAN_WORD_LEN];	/* upper case */
	uint64_t first[4];	/* bit b: a command word starting with byte b
				 * matches a class pattern */
	/* Own HELO names, ctrl's "^(?:HELO|EHLO) [ \t]*NAME[ \t]*\r?\n"
	 * (smtpscreen_helo_own_names), caseless: */
	unsigned nnames;
	uint8_t name_len[SCR_SCAN_WORDS_MAX];
	uint8_t name[SCR_SCAN_WORDS_MAX][SCR_SCAN_NAME_LEN];	/* upper case */
};
const struct scr_scan_words *scr_scan_words(const struct scr_scan_db *db);

/* Opens a stream from the thread's pool; NULL when the pool is empty
 * (counted by the caller; the flow is then not scanned). */
struct scr_scan_stream *scr_scan_open(struct scr_scan_thread *t);
/* Scans len bytes continuing the stream; fills *m. Returns 0 or -errno. */
int scr_scan_feed(struct scr_scan_thread *t, struct scr_scan_stream *s,
		  const uint8_t *p, uint32_t len, struct scr_scan_match *m);
/* Closes the stream (no end-of-data matches are reported) and returns it
 * to the pool. */
void scr_scan_close(struct scr_scan_thread *t, struct scr_scan_stream *s);

/* The first SCR_SCAN_TEXT_MAX bytes of what the caller fed the stream
 * since it was opened, kept for its log lines: a line that came one byte
 * per segment (a telnet user) is logged whole, not as its last byte.
 * scr_scan_feed keeps them; scr_scan_text returns them and their count. */
#define SCR_SCAN_TEXT_MAX 100
const uint8_t *scr_scan_text(const struct scr_scan_stream *s, uint32_t *len);

#endif
