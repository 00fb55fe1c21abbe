/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smtp - per-flow SMTP state machine, both directions
 * DESCRIPTION
 *	Fed each direction's payload in sequence order, once (scr_tcpord
 *	guarantees that). Tracks the server greeting (220- teaser and final
 *	220), EHLO reply keywords (PIPELINING, STARTTLS, CHUNKING), reply codes,
 *	client command lines split across segments, AUTH exchanges, and runs
 *	the stream tests: pregreet, bare newline, command pipelining (RFC 2920),
 *	non-SMTP command, HELO. It stops scanning at DATA/BDAT, accepted
 *	STARTTLS, or QUIT. It does not know actions, addresses, time or logging:
 *	the engine turns its results into verdicts and events.
 * CONTRACT
 *	scr_smtp_init(s, todo): todo = SCR_TEST bits to run.
 *	scr_smtp_feed(env, s, from_client, p, len): returns SCR_SMTP_R_* bits.
 *	  On SCR_SMTP_R_FAIL, the newly failed tests are in env->newly and
 *	  env->det[test] holds their log detail.
 *	scr_smtp_fini(env, s): releases the scanner stream; idempotent. It
 *	  may also be called mid-flow (e.g. before swapping scanner threads on
 *	  reload); feeding may go on, the current line is then not scanned.
 * THREADING
 *	One worker; env is per worker.
 */
#ifndef SCR_SMTP_H
#define SCR_SMTP_H

#include "scr_scan.h"
#include "scr_smug.h"
#include "scr_types.h"

/* Log detail for one failed test, copied from the bytes being fed.
 * Per test (postscreen's log line in brackets):
 *   PREGREET      count = bytes of the early feed, text = its first bytes,
 *                 after = "CONNECT"   [PREGREET %d after <time> from ...: text]
 *   PIPELINING    after = the verb whose reply was pending, text = the early
 *                 bytes                [COMMAND PIPELINING ... after %s: text]
 *   NON_SMTP      after = previous verb, "CONNECT" or "UNIMPL"; text = the
 *                 line without CRLF    [NON-SMTP COMMAND ... after %s: text]
 *   BARE_NEWLINE  text = the line without its LF; postscreen prints that
 *                 line, escaped, as its "after": after = the escaped line
 *                 cut to 31 chars; ctrl may escape text (100) instead
 *                                      [BARE NEWLINE from ... after %s]
 *   HELO          after = previous verb or "CONNECT", text = the line
 * NON_SMTP, HELO and BARE_NEWLINE report a line that began in an earlier
 * feed from its start (its first 100 bytes, kept with its scanner stream),
 * or, when the line has no stream (no ctrl patterns, pool empty), from the
 * first byte of the current feed. */
struct scr_smtp_detail {
	uint32_t count;			/* PREGREET: bytes in the early segment(s) */
	char after[SCR_EV_AFTER_MAX];	/* previous command verb or "CONNECT" */
	uint16_t text_len;
	uint8_t text[SCR_EV_TEXT_MAX];	/* raw offending bytes, not escaped */
};

/* Command words, matched a byte at a time: bit v of a mask is verb v
 * (scr_smtp.c's table) below SCR_SMTP_WORD_EXTRA, forbidden word
 * v - SCR_SMTP_WORD_EXTRA of scr_scan_words() from there. */
#define SCR_SMTP_WORD_MAX	16
#define SCR_SMTP_WORD_EXTRA	19
struct scr_smtp_words {
	uint32_t at[SCR_SMTP_WORD_MAX][256];	/* words with this byte (either
						 * case) at this position */
	uint32_t len_is[SCR_SMTP_WORD_MAX + 1];	/* words of this length */
	uint32_t forbidden;			/* the forbidden words' bits */
	uint64_t first[4];			/* first bytes that make a command
						 * word non-SMTP */
	uint32_t names;				/* own HELO names' bits (in a
						 * HELO/EHLO line's mask) */
	uint8_t name_len[SCR_SCAN_WORDS_MAX];
	uint8_t name[SCR_SCAN_WORDS_MAX][SCR_SCAN_NAME_LEN];	/* upper case */
};
/* scr_smtp_words_build(w, extra): the verbs, and extra's forbidden words
 * and first bytes (extra NULL: none). */
void scr_smtp_words_build(struct scr_smtp_words *w, const struct scr_scan_words *extra);

struct scr_smtp_env {
	const struct scr_policy *pol;
	const struct scr_smtp_words *words;	/* NULL: the verbs only */
	struct scr_scan_thread *scan;	/* NULL: no scanner (tests that need it
					 * fall back to the C checks) */
	uint8_t newly;			/* out: SCR_TEST bits failed by the last feed */
	struct scr_smtp_detail det[SCR_TEST_MAX];	/* out */
	uint64_t scan_pool_empty;	/* out: count of streams not opened */
	uint32_t take_off;		/* out: where in the last client feed the
					 * session goes on for another parser
					 * (scr_smtp_handoff): message content
					 * sent with DATA, or the BDAT line;
					 * UINT32_MAX: none */
};

/* Feed results. */
#define SCR_SMTP_R_FAIL		0x01u	/* env->newly != 0 */
#define SCR_SMTP_R_COMMIT	0x02u	/* client sent DATA, BDAT or STARTTLS in
					 * this segment: enforce stops here */
#define SCR_SMTP_R_DONE		0x04u	/* scanning finished: DATA/BDAT sent,
					 * STARTTLS accepted (220), or QUIT */
#define SCR_SMTP_R_NOTSMTP	0x08u	/* server did not greet with 2xx/220:
					 * the flow's verdict is unknown */
#define SCR_SMTP_R_UNDECIDED	0x10u	/* a test cannot be decided: the client
					 * spoke while the server's greeting or
					 * reply was incomplete; scanning stops,
					 * the verdict is unknown unless a test
					 * failed before */
#define SCR_SMTP_R_LIMIT	0x20u	/* postscreen_command_count_limit or
					 * line_length_limit exceeded: scanning
					 * stops, the session is to be ended
					 * (scr_smtp_limit says which) */

#include "scr_smtp_state.h"	/* struct scr_smtp (compact, in the flow) */

void scr_smtp_init(struct scr_smtp *s, uint8_t todo);
unsigned scr_smtp_feed(struct scr_smtp_env *env, struct scr_smtp *s,
		       bool from_client, const uint8_t *p, uint32_t len);
void scr_smtp_fini(struct scr_smtp_env *env, struct scr_smtp *s);
/* SCR_TEST bits failed so far. */
uint8_t scr_smtp_failed(const struct scr_smtp *s);
/* True once the client completed a HELO or EHLO and the session got far
 * enough (DONE) for the deep tests to count as passed. */
bool scr_smtp_passed(const struct scr_smtp *s);
/* Where the session stands, for the smuggling guard to follow it from
 * here (scr_smug_resume); off = env->take_off of this flow's last client
 * feed if the guard takes over right after it, else UINT32_MAX. */
void scr_smtp_handoff(const struct scr_smtp *s, uint32_t off,
		      struct scr_smug_from *out);
/* The limit that ended the tests: SCR_END_COMMAND_COUNT,
 * SCR_END_COMMAND_LENGTH, or SCR_END_CLOSE when none did. */
enum scr_end_reason scr_smtp_limit(const struct scr_smtp *s);
/* Where the session is, for HANGUP/DISCONNECT lines: the client's last
 * command verb ("CONNECT" before any), or NULL while the server's greeting
 * is not complete. Valid after scr_smtp_fini() too. */
const char *scr_smtp_where(const struct scr_smtp *s);

#endif
