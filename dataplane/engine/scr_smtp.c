/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smtp - per-flow SMTP state machine, both directions
 * DESCRIPTION
 *	Runs postscreen's stream tests on a passively observed SMTP session:
 *	pregreet, bare newline, command pipelining (RFC 2920 at packet level,
 *	because the real smtpd behind us may announce PIPELINING), non-SMTP
 *	command, and smtpscreen's HELO test. Both directions are parsed one
 *	byte at a time without a line buffer, so lines, CRLF pairs, command
 *	words and HELO names may be split across any segments.
 *
 *	Server side: reply lines "NNN-" (continuation) and "NNN " (final).
 *	The greeting is complete at the end of the first final 2xx line; a
 *	non-2xx greeting or a greeting that is not an SMTP reply makes the
 *	flow NOTSMTP. Every later final reply answers one outstanding client
 *	line (outq). The EHLO reply is searched for the PIPELINING keyword.
 *
 *	Client side: each line is a command (or a SASL response while an AUTH
 *	exchange runs). The command word is postscreen's: the line is a C
 *	string (a NUL ends it, and nothing after the NUL is parsed), leading
 *	spaces are skipped and the word ends at a space; a tab or a CR that
 *	is not the line's last byte belongs to the word. It is matched against
 *	the verbs postscreen knows (its command table) while it arrives. A
 *	HELO name ends at a space, tab or CR, as smtpd reads it. Pipelining
 *	is judged when the first byte of a new line arrives: replies are
 *	outstanding and the server did not announce PIPELINING in its EHLO
 *	reply, the client used HELO, or the last command ends a command
 *	group. Non-SMTP: an unknown word that is a header label (Postfix
 *	is_header(): name characters, then tabs, then ':'), that is not UTF-8
 *	(with smtputf8_enable, as postscreen) or that a
 *	postscreen_forbidden_commands entry matches, on the word alone: a
 *	plain word or a "^[...]" class is decided here, other regular
 *	expressions by Hyperscan (scr_scan_word) on the word's bytes, from
 *	this feed or, for a word begun in an earlier one, from the first 100
 *	bytes of the line its scanner stream keeps.
 *
 *	The Hyperscan scanner (scr_scan) is only consulted for the ctrl
 *	patterns (forbidden commands, own HELO names, signatures); bare LF and
 *	header labels are found by this parser, which reads every client
 *	command byte anyway. Each client line is scanned in its own stream,
 *	so '^' anchors at the line start and a pool stream is held only while
 *	one line is split across segments; when a line completes within one
 *	segment the stream goes straight back to the pool.
 *
 *	Scanning stops (SCR_SMTP_R_DONE) at the server's 354 answer to DATA,
 *	at BDAT (chunk data follows at once), at the 220 answer to STARTTLS,
 *	after QUIT, and when the client sends anything after DATA or STARTTLS
 *	before the server answered (message body or TLS handshake).
 *
 *	It does not know actions, addresses, time or logging.
 * CONTRACT
 *	See scr_smtp.h. Detail filled in env->det[test] for each newly
 *	failed test (text: raw bytes of the current feed, at most 100):
 *	  PREGREET      count = bytes of the early feed, text = its first
 *	                bytes, after = "CONNECT".
 *	  PIPELINING    after = verb whose reply was pending (upper case;
 *	                "UNIMPL" for an unknown command), text = the early
 *	                bytes from the start of the new line to the feed end.
 *	  NON_SMTP      after = previous command verb, "CONNECT" if none,
 *	                "UNIMPL" if it was unknown; text = the line (no CRLF).
 *	  BARE_NEWLINE  text = the line without its LF; postscreen logs it as
 *	                "after %s" (escaped, 100 chars), so after holds the
 *	                escaped line truncated to 31 characters.
 *	  HELO          after = previous command verb or "CONNECT",
 *	                text = the offending line (no CRLF).
 *	NON_SMTP, HELO and BARE_NEWLINE report a line that began in an
 *	earlier feed from its start (its first 100 bytes, kept with its
 *	scanner stream), or without a stream from the first byte of the
 *	current feed; PIPELINING and PREGREET report the current feed.
 * THREADING
 *	One worker; env is per worker.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scr_panic.h"
#include "scr_smtp.h"

/* Flow flags (struct scr_smtp.flags). */
#define F_GREETED	(1u << 0)	/* server greeting complete */
#define F_NOTSMTP	(1u << 1)	/* server is not an SMTP server */
#define F_DONE		(1u << 2)	/* scanning finished */
#define F_ESMTP		(1u << 3)	/* the last hello was EHLO */
#define F_PIPE_ANN	(1u << 4)	/* its reply announced PIPELINING */
#define F_HELO_SENT	(1u << 5)	/* HELO/EHLO with a name was sent */
#define F_HELO_OK	(1u << 6)	/* ... and answered with 2xx */
#define F_AUTH		(1u << 7)	/* SASL exchange in progress */
#define F_QUIT		(1u << 8)	/* QUIT sent */
#define F_CLI_CR	(1u << 9)	/* last client byte of the line: CR */
#define F_LEAD_WS	(1u << 10)	/* the line starts with white space */
#define F_HDR_CHAR	(1u << 11)	/* word so far: header name chars */
#define F_HDR_YES	(1u << 12)	/* word is a header label */
#define F_HDR_NO	(1u << 13)	/* word is not a header label */
#define F_NOSCAN	(1u << 14)	/* this line is not scanned */
#define F_SRV_BAD	(1u << 15)	/* server line is not a reply line */
#define F_SRV_CONT	(1u << 16)	/* server line is "NNN-" */
#define F_LONG		(1u << 17)	/* a line exceeded line_length_limit */
#define F_CMD_LIMIT	(1u << 18)	/* commands > command_count_limit */
#define F_TEASER	(1u << 19)	/* greeting began with a "220-" line */
#define F_SRV_MORE	(1u << 20)	/* the last server line was "NNN-": the
					 * reply goes on */
#define F_UNDECIDED	(1u << 21)	/* a test could not be decided */
#define F_HDR_TAB	(1u << 22)	/* word so far: header name, then tabs */
#define F_FORBID	(1u << 23)	/* word: a forbidden word, or its first
					 * byte in a forbidden class */
#define F_CUT		(1u << 24)	/* a NUL ended the command text: the
					 * rest of the line is not read */
#define F_U8_SHIFT	25		/* word: UTF-8 state (utf8_step) */
#define F_U8_MASK	(7u << F_U8_SHIFT)
#define F_U8_BAD	(1u << 28)	/* word: not UTF-8 */

#define F_LINE_MASK	(F_CLI_CR | F_LEAD_WS | F_HDR_CHAR | F_HDR_YES \
			 | F_HDR_NO | F_NOSCAN | F_HDR_TAB | F_FORBID | F_CUT \
			 | F_U8_MASK | F_U8_BAD)

/* HELO name check flags (struct scr_smtp.h_flags). */
#define H_BAD		(1u << 0)	/* not a valid name or literal */
#define H_ALPHA		(1u << 1)	/* some label is not all digits */
#define H_DOT		(1u << 2)	/* contains a dot */
#define H_LAST_DOT	(1u << 3)	/* last char was '.' */
#define H_LAST_HYPHEN	(1u << 4)	/* last char was '-' */
#define H_BIG		(1u << 5)	/* some numeric label > 255 or > 3 digits */
#define H_LIT		(1u << 6)	/* address literal "[...]" */
#define H_LIT_V6	(1u << 7)	/* "[IPv6:...]" */
#define H_LIT_END	(1u << 8)	/* ']' seen */
#define H_DCOLON	(1u << 9)	/* "::" seen (IPv6) */
#define H_PREV_COLON	(1u << 10)	/* last char was ':' */
#define H_JUST_DCOLON	(1u << 11)	/* last two chars were "::" */
#define H_V4TAIL	(1u << 12)	/* IPv6 literal with dotted IPv4 tail */

/* Client line states (struct scr_smtp.cli_st). */
enum scr_smtp_cli_st {
	SCR_SMTP_CL_START = 0,	/* no byte of the line yet */
	SCR_SMTP_CL_LEAD,	/* before the command word */
	SCR_SMTP_CL_WORD,	/* in the command word */
	SCR_SMTP_CL_ARGS,	/* after the command word */
	SCR_SMTP_CL_HELO_SP,	/* HELO/EHLO: before the name */
	SCR_SMTP_CL_HELO_NAME,	/* HELO/EHLO: in the name */
	SCR_SMTP_CL_SASL,	/* SASL response line */
};

/* Verbs. Those flagged KNOWN are postscreen's command table; EXPN and TURN
 * are recognised only because they end an RFC 2920 command group. */
enum scr_smtp_verb {
	SCR_SMTP_V_CONNECT = 0,	/* no command yet */
	SCR_SMTP_V_HELO,
	SCR_SMTP_V_EHLO,
	SCR_SMTP_V_STARTTLS,
	SCR_SMTP_V_XCLIENT,
	SCR_SMTP_V_XFORWARD,
	SCR_SMTP_V_AUTH,
	SCR_SMTP_V_MAIL,
	SCR_SMTP_V_RCPT,
	SCR_SMTP_V_DATA,
	SCR_SMTP_V_BDAT,
	SCR_SMTP_V_RSET,
	SCR_SMTP_V_NOOP,
	SCR_SMTP_V_VRFY,
	SCR_SMTP_V_ETRN,
	SCR_SMTP_V_QUIT,
	SCR_SMTP_V_EXPN,
	SCR_SMTP_V_TURN,
	SCR_SMTP_V_UNIMPL,	/* unknown or empty command */
	SCR_SMTP_V_MAX
};

#define VF_KNOWN	0x01u	/* in postscreen's command table */
#define VF_GROUP_END	0x02u	/* ends an RFC 2920 command group */

static const struct scr_smtp_verb_info {
	const char *name;
	uint8_t len;
	uint8_t flags;
} scr_smtp_verbs[SCR_SMTP_V_MAX] = {
	[SCR_SMTP_V_CONNECT] = { "CONNECT", 0, 0 },
	[SCR_SMTP_V_HELO] = { "HELO", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_EHLO] = { "EHLO", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_STARTTLS] = { "STARTTLS", 8, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_XCLIENT] = { "XCLIENT", 7, VF_KNOWN },
	[SCR_SMTP_V_XFORWARD] = { "XFORWARD", 8, VF_KNOWN },
	[SCR_SMTP_V_AUTH] = { "AUTH", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_MAIL] = { "MAIL", 4, VF_KNOWN },
	[SCR_SMTP_V_RCPT] = { "RCPT", 4, VF_KNOWN },
	[SCR_SMTP_V_DATA] = { "DATA", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_BDAT] = { "BDAT", 4, VF_KNOWN },
	[SCR_SMTP_V_RSET] = { "RSET", 4, VF_KNOWN },
	[SCR_SMTP_V_NOOP] = { "NOOP", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_VRFY] = { "VRFY", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_ETRN] = { "ETRN", 4, VF_KNOWN },
	[SCR_SMTP_V_QUIT] = { "QUIT", 4, VF_KNOWN | VF_GROUP_END },
	[SCR_SMTP_V_EXPN] = { "EXPN", 4, VF_GROUP_END },
	[SCR_SMTP_V_TURN] = { "TURN", 4, VF_GROUP_END },
	[SCR_SMTP_V_UNIMPL] = { "UNIMPL", 0, 0 },
};

/* Candidate bits: every real verb (HELO .. TURN) and every forbidden word
 * (the table decides which exist). */
#define CAND_VERBS	(((1u << SCR_SMTP_V_UNIMPL) - 1u) & ~1u)
#define CAND_WORDS	(~0u << SCR_SMTP_WORD_EXTRA)
#define CAND_ALL	(CAND_VERBS | CAND_WORDS)

_Static_assert(SCR_SMTP_V_MAX == SCR_SMTP_WORD_EXTRA,
	       "forbidden words take the candidate bits after the verbs");
_Static_assert(SCR_SMTP_WORD_EXTRA + SCR_SCAN_WORDS_MAX == 32,
	       "verbs and forbidden words fill the 32-bit candidate mask");
_Static_assert(SCR_SCAN_WORD_LEN == SCR_SMTP_WORD_MAX,
	       "a forbidden word fits the position table");

/* The EHLO keyword we need. */
static const char scr_smtp_kw_pipelining[] = "PIPELINING";
#define KW_LEN		(sizeof(scr_smtp_kw_pipelining) - 1)
#define KW_NONE		0xffu

#define TEXT_MAX	SCR_EV_TEXT_MAX
#define NO_WS		UINT32_MAX
#define SAT_INC16(x)	do { if ((x) < UINT16_MAX) (x)++; } while (0)

/* One client feed being parsed. */
struct scr_smtp_cur {
	struct scr_smtp_env *env;
	const uint8_t *p;
	uint32_t len;
	uint32_t ls;		/* start of the current line in p (0: earlier) */
	bool line_here;		/* the current line began in this feed */
	uint32_t ws;		/* where the command word began in p, NO_WS:
				 * in an earlier feed (or no word) */
	uint32_t le;		/* end of the current chunk (LF or len) */
	unsigned r;		/* SCR_SMTP_R_* */
};

/* word_add - word bit b, len bytes (upper case), into w */
static void word_add(struct scr_smtp_words *w, unsigned b, const uint8_t *word,
		     unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		uint8_t c = word[i];

		w->at[i][c] |= 1u << b;
		if (c >= 'A' && c <= 'Z')
			w->at[i][c + 32] |= 1u << b;
	}
	w->len_is[len] |= 1u << b;
}

/* scr_smtp_words_build - the position table of the verbs and extra's words */

void scr_smtp_words_build(struct scr_smtp_words *w, const struct scr_scan_words *extra)
{
	memset(w, 0, sizeof(*w));
	for (unsigned v = 0; v < SCR_SMTP_V_UNIMPL; v++)
		if (scr_smtp_verbs[v].len > 0)
			word_add(w, v, (const uint8_t *)scr_smtp_verbs[v].name,
				 scr_smtp_verbs[v].len);
	if (extra == NULL)
		return;
	for (unsigned i = 0; i < extra->n && i < SCR_SCAN_WORDS_MAX; i++) {
		word_add(w, SCR_SMTP_WORD_EXTRA + i, extra->word[i], extra->len[i]);
		w->forbidden |= 1u << (SCR_SMTP_WORD_EXTRA + i);
	}
	memcpy(w->first, extra->first, sizeof(w->first));
	for (unsigned i = 0; i < extra->nnames && i < SCR_SCAN_WORDS_MAX; i++) {
		w->names |= 1u << (SCR_SMTP_WORD_EXTRA + i);
		w->name_len[i] = extra->name_len[i];
		memcpy(w->name[i], extra->name[i], extra->name_len[i]);
	}
}

/* Own HELO names: a HELO/EHLO line's mask keeps its verb's bit and, in
 * CAND_WORDS, the names the line may still be. Bytes between the verb and
 * the name must be blanks, after it blanks and a CR right before the LF
 * (ctrl's "^(?:HELO|EHLO) [ \t]*NAME[ \t]*\r?\n"). */

/* name_char - byte h_total - 1 of the HELO name */
static inline __attribute__((always_inline)) void
name_char(const struct scr_smtp_words *w, struct scr_smtp *s, uint8_t c)
{
	uint32_t m = s->cand & CAND_WORDS;
	unsigned pos = s->h_total - 1u;
	uint8_t u = scr_upper(c);

	while (m != 0) {
		unsigned b = (unsigned)__builtin_ctz(m), k = b - SCR_SMTP_WORD_EXTRA;

		m &= m - 1;
		if (pos >= w->name_len[k] || w->name[k][pos] != u)
			s->cand &= ~(1u << b);
	}
}

/* name_end - the HELO name is complete: the names of its length stay */
static void name_end(const struct scr_smtp_words *w, struct scr_smtp *s)
{
	uint32_t m = s->cand & CAND_WORDS;

	while (m != 0) {
		unsigned b = (unsigned)__builtin_ctz(m);

		m &= m - 1;
		if (w->name_len[b - SCR_SMTP_WORD_EXTRA] != s->h_total)
			s->cand &= ~(1u << b);
	}
}

/* name_rest - bytes after the HELO name: blanks, and a CR only last */
static void name_rest(struct scr_smtp *s, const uint8_t *p, uint32_t n)
{
	bool cr = (s->flags & F_CLI_CR) != 0;

	for (uint32_t i = 0; i < n && (s->cand & CAND_WORDS); i++) {
		if (cr || (p[i] != ' ' && p[i] != '\t' && p[i] != '\r'))
			s->cand &= ~CAND_WORDS;
		cr = p[i] == '\r';
	}
}

static struct scr_smtp_words verbs_only;
static pthread_once_t verbs_only_once = PTHREAD_ONCE_INIT;

static void verbs_only_build(void)
{
	scr_smtp_words_build(&verbs_only, NULL);
}

/* words_of - env's table, or the verbs' (an env without one: unit tests) */
static const struct scr_smtp_words *words_of(const struct scr_smtp_env *env)
{
	if (env->words != NULL)
		return env->words;
	pthread_once(&verbs_only_once, verbs_only_build);
	return &verbs_only;
}

/* scr_smtp_init - start a flow; todo = SCR_TEST bits to run */

void scr_smtp_init(struct scr_smtp *s, uint8_t todo)
{
	memset(s, 0, sizeof(*s));
	s->todo = todo & SCR_TESTS_STREAM;
	s->last_cmd = SCR_SMTP_V_CONNECT;
	s->cli_st = SCR_SMTP_CL_START;
	s->cand = CAND_ALL;
}

/* scr_smtp_failed - tests failed so far */

uint8_t scr_smtp_failed(const struct scr_smtp *s)
{
	return s->failed;
}

/* scr_smtp_passed - HELO done, DONE reached, nothing failed */

bool scr_smtp_passed(const struct scr_smtp *s)
{
	return (s->flags & (F_HELO_OK | F_DONE | F_NOTSMTP | F_UNDECIDED)) ==
		(F_HELO_OK | F_DONE) && s->failed == 0;
}

/* scr_smtp_want - true when test t runs and has not failed yet */

static bool scr_smtp_want(const struct scr_smtp_env *env, const struct scr_smtp *s,
			  enum scr_test t)
{
	uint8_t bit = (uint8_t)SCR_TEST_BIT(t);

	if ((s->todo & bit) == 0 || (s->failed & bit) != 0)
		return false;
	if (t == SCR_TEST_HELO && env->pol != NULL && (env->pol->enabled & bit) == 0)
		return false;
	return true;
}

/* scr_smtp_fail - record a failure and its log detail */

static struct scr_smtp_detail *scr_smtp_fail(struct scr_smtp_env *env,
					     struct scr_smtp *s, enum scr_test t,
					     const char *after)
{
	struct scr_smtp_detail *d = &env->det[t];
	size_t n = strnlen(after, sizeof(d->after) - 1);

	s->failed |= (uint8_t)SCR_TEST_BIT(t);
	env->newly |= (uint8_t)SCR_TEST_BIT(t);
	memset(d, 0, sizeof(*d));
	memcpy(d->after, after, n);	/* NUL-terminated by the memset */
	return d;
}

/* scr_smtp_text - copy p[from..to) (at most 100 bytes) as detail text */

static void scr_smtp_text(struct scr_smtp_detail *d, const uint8_t *p,
			  uint32_t from, uint32_t to, bool strip_cr)
{
	uint32_t n = to > from ? to - from : 0;

	if (strip_cr && n > 0 && p[from + n - 1] == '\r')
		n--;
	if (n > TEXT_MAX)
		n = TEXT_MAX;
	if (n > 0)
		memcpy(d->text, p + from, n);
	d->text_len = (uint16_t)n;
}

/* scr_smtp_escape - Postfix-style escaped copy of text into after[] */

static void scr_smtp_escape(struct scr_smtp_detail *d)
{
	size_t o = 0, i;

	for (i = 0; i < d->text_len; i++) {
		uint8_t c = d->text[i];
		char tmp[4];
		size_t n = 2;

		tmp[0] = '\\';
		if (c == '\r' || c == '\n' || c == '\t' || c == '\\') {
			tmp[1] = c == '\r' ? 'r' : c == '\n' ? 'n' : c == '\t' ? 't' : '\\';
		} else if (c < 0x20 || c >= 0x7f) {
			tmp[1] = (char)('0' + (c >> 6));
			tmp[2] = (char)('0' + ((c >> 3) & 7));
			tmp[3] = (char)('0' + (c & 7));
			n = 4;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n >= sizeof(d->after))
			break;
		memcpy(d->after + o, tmp, n);
		o += n;
	}
	d->after[o] = '\0';
}

/* scr_smtp_verb_name - name for "after" */

static const char *scr_smtp_verb_name(unsigned v)
{
	if (v >= SCR_SMTP_V_MAX)
		scr_panic("scr_smtp_verb_name: verb %u out of range", v);
	return scr_smtp_verbs[v].name;
}

/* scr_smtp_handoff - where the session stands, for the smuggling guard */

void scr_smtp_handoff(const struct scr_smtp *s, uint32_t off,
		      struct scr_smug_from *out)
{
	memset(out, 0, sizeof(*out));
	out->off = UINT32_MAX;
	out->outq = s->outq;
	out->srv_pos = s->srv_pos;
	out->srv_code = s->srv_code;
	out->srv_cont = (s->flags & F_SRV_CONT) != 0;
	out->srv_bad = (s->flags & F_SRV_BAD) != 0;
	out->phase = SCR_SMUG_PH_CMD;
	if ((s->flags & F_NOTSMTP) || (s->flags & F_UNDECIDED) ||
	    (s->last_cmd == SCR_SMTP_V_STARTTLS && (s->flags & F_DONE))) {
		out->phase = SCR_SMUG_PH_OFF;	/* not SMTP, or TLS */
	} else if (s->last_cmd == SCR_SMTP_V_BDAT && (s->flags & F_DONE)) {
		/* the guard reads the BDAT line again: it must be in the feed */
		if (off == UINT32_MAX)
			out->phase = SCR_SMUG_PH_OFF;
		out->off = off;
		if (out->outq > 0)
			out->outq--;		/* the BDAT line, counted again */
	} else if (s->last_cmd == SCR_SMTP_V_DATA && s->cli_st == SCR_SMTP_CL_START &&
		   ((s->flags & F_DONE) || s->outq > 0)) {
		/* DATA answered 354, or its answer (or its content) to come;
		 * a DATA refused (outq 0, no 354) leaves command lines */
		out->phase = SCR_SMUG_PH_DATA;
		out->data_reply = s->outq > 0;
		out->off = off;
	} else {
		out->mid_line = s->cli_st != SCR_SMTP_CL_START;
		out->tls_reply = s->last_cmd == SCR_SMTP_V_STARTTLS && s->outq > 0;
	}
}

/* scr_smtp_limit - the limit that ended the tests, SCR_END_CLOSE if none */

enum scr_end_reason scr_smtp_limit(const struct scr_smtp *s)
{
	if (s->flags & F_CMD_LIMIT)
		return SCR_END_COMMAND_COUNT;
	if (s->flags & F_LONG)
		return SCR_END_COMMAND_LENGTH;
	return SCR_END_CLOSE;
}

/* scr_smtp_where - last command verb, NULL before the greeting completed */

const char *scr_smtp_where(const struct scr_smtp *s)
{
	if (!(s->flags & F_GREETED))
		return NULL;
	return scr_smtp_verb_name(s->last_cmd);
}

/* scr_smtp_cur_verb - verb of the current line once its word is complete */

static unsigned scr_smtp_cur_verb(const struct scr_smtp *s)
{
	return s->cand != 0 ? (unsigned)__builtin_ctz(s->cand) : SCR_SMTP_V_UNIMPL;
}

/* scr_smtp_stop - scanning is finished: release the scanner stream */

static void scr_smtp_stop(struct scr_smtp_env *env, struct scr_smtp *s)
{
	s->flags |= F_DONE;
	if (s->ss != NULL) {
		scr_scan_close(env->scan, s->ss);
		s->ss = NULL;
	}
}

/* scr_smtp_fini - release the scanner stream; idempotent. The flow may
 * go on being fed afterwards (the engine may call this mid-flow, e.g. to
 * swap scanner threads on reload): the current line is then not scanned,
 * later lines open streams from the thread in env. */

void scr_smtp_fini(struct scr_smtp_env *env, struct scr_smtp *s)
{
	/* A command word in flight stops matching the forbidden words of the
	 * table it began under, as its line stops being scanned. */
	s->cand &= CAND_VERBS;
	if (s->ss != NULL) {
		scr_scan_close(env->scan, s->ss);
		s->ss = NULL;
	}
}

/* --- server direction ----------------------------------------------------- */

/* scr_smtp_srv_final - a final reply line answers the oldest client line */

static void scr_smtp_srv_final(struct scr_smtp_env *env, struct scr_smtp *s,
			       unsigned code)
{
	if (s->outq > 0)
		s->outq--;
	/* 354 and 220 cannot answer anything but DATA and STARTTLS here. */
	if (s->last_cmd == SCR_SMTP_V_DATA && code == 354) {
		s->outq = 0;
		scr_smtp_stop(env, s);
		return;
	}
	if (s->last_cmd == SCR_SMTP_V_STARTTLS && code == 220) {
		s->outq = 0;
		scr_smtp_stop(env, s);
		return;
	}
	if (s->outq != 0)
		return;
	if (s->last_cmd == SCR_SMTP_V_HELO || s->last_cmd == SCR_SMTP_V_EHLO) {
		if (code / 100 == 2 && (s->flags & F_HELO_SENT))
			s->flags |= F_HELO_OK;
	} else if (s->last_cmd == SCR_SMTP_V_AUTH && code != 334) {
		s->flags &= ~F_AUTH;	/* 334: the exchange goes on */
	}
}

/* scr_smtp_srv_eol - end of a server line */

static void scr_smtp_srv_eol(struct scr_smtp_env *env, struct scr_smtp *s)
{
	unsigned code = s->srv_code;
	bool bad = (s->flags & F_SRV_BAD) || s->srv_pos < 3;
	bool cont = (s->flags & F_SRV_CONT) != 0;

	if (s->srv_kw == KW_LEN && s->last_cmd == SCR_SMTP_V_EHLO && code == 250)
		s->flags |= F_PIPE_ANN;
	s->srv_pos = 0;
	s->srv_code = 0;
	s->srv_kw = 0;
	s->flags &= ~(F_SRV_BAD | F_SRV_CONT | F_SRV_MORE);
	if (cont && !bad && (s->flags & F_GREETED))
		s->flags |= F_SRV_MORE;	/* a reply goes on (not the teaser) */
	if (!(s->flags & F_GREETED)) {
		if (bad || code / 100 != 2) {
			s->flags |= F_NOTSMTP;
		} else if (cont) {
			if (code == 220)
				s->flags |= F_TEASER;
		} else {
			s->flags |= F_GREETED;
			/* A server that sent a "220-" teaser and then answers a
			 * pregreeting client's command without the final "220 "
			 * (postscreen does) ended the greeting there: this final
			 * line is the reply to the client's first command. */
			if ((s->flags & F_TEASER) && code != 220 && s->outq > 0)
				scr_smtp_srv_final(env, s, code);
		}
		return;
	}
	if (bad || cont)
		return;
	scr_smtp_srv_final(env, s, code);
}

/* srv_code_at - p[0..3] is a reply code and a space or hyphen */
static inline bool srv_code_at(const uint8_t *p)
{
	return (unsigned)(p[0] - '0') < 10 && (unsigned)(p[1] - '0') < 10 &&
	       (unsigned)(p[2] - '0') < 10 && (p[3] == ' ' || p[3] == '-');
}

/* ehlo_kw_line - p[0..n), the rest of an EHLO reply line after its
 * "250-" up to its LF, as the byte loop of scr_smtp_srv_feed leaves
 * srv_kw at the LF: KW_LEN for the PIPELINING keyword (either case),
 * blanks and CRs after it only; else KW_NONE */
static uint8_t ehlo_kw_line(const uint8_t *p, uint32_t n)
{
	uint32_t k;

	if (n < KW_LEN)
		return KW_NONE;
	for (k = 0; k < KW_LEN; k++) {
		if (scr_upper(p[k]) != (uint8_t)scr_smtp_kw_pipelining[k])
			return KW_NONE;
	}
	for (; k < n; k++)
		if (p[k] != ' ' && p[k] != '\r')
			return KW_NONE;
	return KW_LEN;
}

/* scr_smtp_srv_feed - parse server bytes */

static void scr_smtp_srv_feed(struct scr_smtp_env *env, struct scr_smtp *s,
			      const uint8_t *p, uint32_t len)
{
	const uint8_t *lf;
	uint32_t i;

	for (i = 0; i < len && !(s->flags & (F_DONE | F_NOTSMTP)); i++) {
		uint8_t c = p[i];
		uint8_t pos = s->srv_pos;

		if (pos == 0 && len - i >= 4 && srv_code_at(p + i)) {
			/* a whole "NNN " or "NNN-" at the line's start: what
			 * the loop below learns from it a byte at a time */
			s->srv_code = (uint16_t)((p[i] - '0') * 100 +
						 (p[i + 1] - '0') * 10 + (p[i + 2] - '0'));
			s->flags |= (p[i + 3] == '-') * F_SRV_CONT;
			s->srv_pos = 4;
			i += 3;
			if (s->last_cmd == SCR_SMTP_V_EHLO && s->srv_code == 250 &&
			    (s->flags & F_GREETED)) {
				/* an EHLO keyword follows: judged whole when
				 * the line ends here, else a byte at a time */
				lf = memchr(p + i + 1, '\n', len - i - 1);
				if (lf == NULL)
					continue;
				s->srv_kw = ehlo_kw_line(p + i + 1,
							 (uint32_t)(lf - p) - i - 1);
				i = (uint32_t)(lf - p);
				scr_smtp_srv_eol(env, s);
				continue;
			}
			/* nothing else on the line matters: to its LF */
			s->srv_kw = KW_NONE;
			lf = memchr(p + i + 1, '\n', len - i - 1);
			if (lf == NULL)
				break;
			i = (uint32_t)(lf - p);
			scr_smtp_srv_eol(env, s);
			continue;
		}
		if (c == '\n') {
			scr_smtp_srv_eol(env, s);
			continue;
		}
		/* Past the code, only an EHLO keyword matters: skip to the LF. */
		if (pos >= 4 && ((s->flags & F_SRV_BAD) || s->srv_kw == KW_NONE)) {
			lf = memchr(p + i, '\n', len - i);

			if (lf == NULL)
				break;
			i = (uint32_t)(lf - p) - 1;
			continue;
		}
		if (pos == 4 && !(s->last_cmd == SCR_SMTP_V_EHLO && s->srv_code == 250
				  && (s->flags & F_GREETED))) {
			s->srv_kw = KW_NONE;
			continue;
		}
		if (s->srv_pos < UINT8_MAX)
			s->srv_pos++;
		if (s->flags & F_SRV_BAD)
			continue;
		if (pos < 3) {
			if (c >= '0' && c <= '9')
				s->srv_code = (uint16_t)(s->srv_code * 10 + (c - '0'));
			else
				s->flags |= F_SRV_BAD;
		} else if (pos == 3) {
			if (c == '-')
				s->flags |= F_SRV_CONT;
			else if (c != ' ' && c != '\r')
				s->flags |= F_SRV_BAD;
		} else if (s->srv_kw != KW_NONE) {
			uint8_t u = scr_upper(c);

			if (s->srv_kw < KW_LEN && u == (uint8_t)scr_smtp_kw_pipelining[s->srv_kw])
				s->srv_kw++;
			else if (s->srv_kw == KW_LEN && (c == ' ' || c == '\r'))
				;	/* keyword complete; judged at the LF */
			else
				s->srv_kw = KW_NONE;
		}
		/* A greeting must be an SMTP reply: judge garbage at once. */
		if ((s->flags & F_SRV_BAD) && !(s->flags & F_GREETED))
			s->flags |= F_NOTSMTP;
	}
}

/* --- HELO name ------------------------------------------------------------ */

/* A HELO/EHLO name is checked a byte at a time (Postfix valid_hostname,
 * valid_hostaddr and address literal rules, incrementally). */

/* Classes of a HELO name's bytes, looked up: a name mixes letters, digits
 * and dots, and a test per class mispredicts at every change. */
#define CC_DIGIT	0x01u
#define CC_ALPHA	0x02u
#define CC_HEX		0x04u
static const uint8_t helo_cc[256] = {
	['0' ... '9'] = CC_DIGIT | CC_HEX,
	['a' ... 'f'] = CC_ALPHA | CC_HEX, ['g' ... 'z'] = CC_ALPHA,
	['A' ... 'F'] = CC_ALPHA | CC_HEX, ['G' ... 'Z'] = CC_ALPHA,
};

/* helo_lit_char - one byte of an address literal, after its '[' */
static void helo_lit_char(struct scr_smtp *s, uint8_t c)
{
	unsigned cc = helo_cc[c];
	bool digit = (cc & CC_DIGIT) != 0;
	bool hex = (cc & CC_HEX) != 0;

	/* "IPv6:" prefix: positions 2..6 of the name. */
	if (s->h_total <= 6 && (s->h_total > 2 || c == 'I' || c == 'i')
	    && (s->h_total == 2 || (s->h_flags & H_LIT_V6))) {
		static const char pfx[] = "IPV6:";

		if (scr_upper(c) != (uint8_t)pfx[s->h_total - 2])
			s->h_flags |= H_BAD;
		s->h_flags |= H_LIT_V6;
		return;
	}
	if (c == ']') {
		s->h_flags |= H_LIT_END;
		if (s->h_label == 0 && !(s->h_flags & H_JUST_DCOLON))
			s->h_flags |= H_BAD;	/* "[1.2.3.]", "[IPv6:1:]", "[]" */
		if (s->h_label > 0)
			s->h_parts++;
		if (!(s->h_flags & H_LIT_V6)) {
			if (s->h_parts != 4 || s->h_num > 255)
				s->h_flags |= H_BAD;
		} else if (s->h_flags & H_V4TAIL) {
			if (s->h_parts != 4 || s->h_num > 255)
				s->h_flags |= H_BAD;
		} else if ((s->h_flags & H_DCOLON) ? s->h_parts > 7
			   : s->h_parts != 8) {
			s->h_flags |= H_BAD;
		}
		return;
	}
	if (!(s->h_flags & H_LIT_V6) || (s->h_flags & H_V4TAIL)) {
		/* dotted quad */
		if (digit) {
			s->h_label++;
			s->h_num = (uint16_t)(s->h_num * 10 + (c - '0'));
			if (s->h_label > 3 || s->h_num > 255)
				s->h_flags |= H_BAD;
		} else if (c == '.' && s->h_label > 0 && s->h_parts < 3) {
			s->h_parts++;
			s->h_label = 0;
			s->h_num = 0;
		} else {
			s->h_flags |= H_BAD;
		}
		return;
	}
	/* IPv6 groups; h_parts counts groups, h_num the decimal value of
	 * the group in case it turns out to be an IPv4 tail's octet. */
	if (c == ':') {
		if (s->h_flags & H_PREV_COLON) {
			if (s->h_flags & H_DCOLON)
				s->h_flags |= H_BAD;	/* second "::" or ":::" */
			s->h_flags |= H_DCOLON | H_JUST_DCOLON;
		} else if (s->h_label == 0 && s->h_parts > 0) {
			s->h_flags |= H_BAD;
		} else if (s->h_label > 0) {
			s->h_parts++;
		}
		s->h_flags |= H_PREV_COLON;
		s->h_label = 0;
		s->h_num = 0;
	} else if (hex) {
		if ((s->h_flags & H_PREV_COLON) && !(s->h_flags & H_JUST_DCOLON)
		    && s->h_parts == 0 && !(s->h_flags & H_DCOLON))
			s->h_flags |= H_BAD;	/* leading single ':' */
		s->h_flags &= ~(H_PREV_COLON | H_JUST_DCOLON);
		s->h_label++;
		s->h_num = digit && s->h_num < 1000
			? (uint16_t)(s->h_num * 10 + (c - '0')) : 1000;
		if (s->h_label > 4)
			s->h_flags |= H_BAD;
	} else if (c == '.' && s->h_label > 0 && s->h_num <= 255
		   && s->h_label <= 3) {
		/* IPv4 tail: the groups before it plus two. */
		unsigned groups = s->h_parts + 2u;

		if (groups > 8 || (!(s->h_flags & H_DCOLON) && groups != 8)
		    || ((s->h_flags & H_DCOLON) && groups > 7))
			s->h_flags |= H_BAD;
		s->h_flags |= H_V4TAIL;
		s->h_parts = 1;
		s->h_label = 0;
		s->h_num = 0;
	} else {
		s->h_flags |= H_BAD;
	}
	if (!(s->h_flags & H_V4TAIL)
	    && (s->h_parts > 8 || ((s->h_flags & H_DCOLON) && s->h_parts > 7)))
		s->h_flags |= H_BAD;
}

/* helo_host_char - one byte of a name that is no address literal and
 * not yet bad. Host name: labels of letters, digits, '_' (Postfix
 * tolerates it) and inner hyphens, 1..63 chars; or an IPv4 address. */
static inline __attribute__((always_inline)) void
helo_host_char(struct scr_smtp *s, uint8_t c)
{
	unsigned cc = helo_cc[c];
	bool digit = (cc & CC_DIGIT) != 0;
	bool alnum = (cc & (CC_DIGIT | CC_ALPHA)) != 0;

	if (alnum || c == '_') {
		if (s->h_label == 0)
			s->h_parts++;
		if (s->h_label < UINT8_MAX)
			s->h_label++;
		if (s->h_label > 63)
			s->h_flags |= H_BAD;
		/* without branches: letters and digits alternate */
		s->h_flags |= (uint16_t)(!digit * H_ALPHA);
		s->h_num = digit && s->h_num < 1000 ?
			   (uint16_t)(s->h_num * 10 + (c - '0')) : s->h_num;
		s->h_flags |= (uint16_t)(((s->h_label > 3) | (s->h_num > 255)) *
					 H_BIG);
		s->h_flags &= ~(H_LAST_DOT | H_LAST_HYPHEN);
	} else if (c == '.') {
		if (s->h_label == 0 || (s->h_flags & H_LAST_HYPHEN))
			s->h_flags |= H_BAD;
		s->h_label = 0;
		s->h_num = 0;
		s->h_flags |= H_DOT | H_LAST_DOT;
	} else if (c == '-') {
		if (s->h_label == 0)
			s->h_flags |= H_BAD;
		s->h_label++;
		s->h_flags |= H_ALPHA | H_LAST_HYPHEN;
	} else {
		s->h_flags |= H_BAD;
	}
}

/* helo_count - one more byte of the HELO name */
static inline void helo_count(struct scr_smtp *s)
{
	if (s->h_total == UINT8_MAX)
		s->h_flags |= H_BAD;	/* longer than 255 */
	else
		s->h_total++;
}

/* scr_smtp_helo_char - one byte of a HELO/EHLO name */
static void scr_smtp_helo_char(struct scr_smtp *s, uint8_t c)
{
	helo_count(s);
	if (s->h_flags & H_BAD)
		return;
	if (s->h_total == 1 && c == '[') {
		s->h_flags |= H_LIT;
		return;
	}
	if (s->h_flags & H_LIT_END) {
		s->h_flags |= H_BAD;	/* bytes after ']' */
		return;
	}
	if (s->h_flags & H_LIT)
		helo_lit_char(s, c);
	else
		helo_host_char(s, c);
}

/* scr_smtp_helo_bad - judge a complete HELO name; true if it fails */

static bool scr_smtp_helo_bad(const struct scr_smtp *s)
{
	uint16_t f = s->h_flags;

	if (f & H_BAD)
		return true;
	if (f & H_LIT)
		return !(f & H_LIT_END);
	if (f & (H_LAST_DOT | H_LAST_HYPHEN))
		return true;
	if (!(f & H_ALPHA))	/* all numeric: only an IPv4 address will do */
		return s->h_parts != 4 || (f & H_BIG);
	return !(f & H_DOT);	/* reject_non_fqdn_helo_hostname */
}

/* --- client direction ----------------------------------------------------- */

/* scr_smtp_line_text - the current line (without its LF; strip_cr: nor
 * a CR before it) as detail text: from the line's scanner stream, which
 * kept its first bytes when it came in several segments (one byte each
 * from a telnet user), else this feed's part of it */

static void scr_smtp_line_text(struct scr_smtp_detail *d, struct scr_smtp_cur *c,
			       const struct scr_smtp *s, bool strip_cr)
{
	const uint8_t *t;
	uint32_t n;

	/* a line that began in this feed: all of it is here */
	if (s->ss == NULL || c->ls != 0) {
		scr_smtp_text(d, c->p, c->ls, c->le, strip_cr);
		return;
	}
	t = scr_scan_text(s->ss, &n);
	if (n > 0 && n < SCR_SCAN_TEXT_MAX && t[n - 1] == '\n')
		n--;
	scr_smtp_text(d, t, 0, n, strip_cr);
}

/* scr_smtp_line_fail - fail test t with the current line as text */

static void scr_smtp_line_fail(struct scr_smtp_cur *c, struct scr_smtp *s,
			       enum scr_test t, const char *after)
{
	struct scr_smtp_detail *d = scr_smtp_fail(c->env, s, t, after);

	scr_smtp_line_text(d, c, s, true);
}

/* UTF-8 states: what the word's next byte must be (Postfix
 * valid_utf8_string(), RFC 3629). */
enum {
	U8_LEAD = 0,		/* any ASCII byte or a lead byte */
	U8_TAIL1,		/* one tail byte (80-BF) to come */
	U8_TAIL2,		/* two */
	U8_TAIL3,		/* three */
	U8_E0,			/* after E0: A0-BF (no overlong form), one more */
	U8_ED,			/* after ED: 80-9F (no surrogate), one more */
	U8_F0,			/* after F0: 90-BF (no overlong form), two more */
	U8_F4,			/* after F4: 80-8F (up to U+10FFFF), two more */
};

/* utf8_step - byte c of the command word through the UTF-8 check (only
 * bytes from 0x80 up, or any byte inside a sequence) */
static void utf8_step(struct scr_smtp *s, uint8_t c)
{
	unsigned st = (s->flags & F_U8_MASK) >> F_U8_SHIFT, next;

	if (st == U8_LEAD) {
		if (c < 0xc2 || c > 0xf4)
			goto bad;	/* a tail, an overlong lead, past U+10FFFF */
		next = c < 0xe0 ? U8_TAIL1 : c == 0xe0 ? U8_E0 : c == 0xed ? U8_ED
			: c < 0xf0 ? U8_TAIL2 : c == 0xf0 ? U8_F0 : c == 0xf4 ? U8_F4
			: U8_TAIL3;
	} else {
		uint8_t lo = st == U8_E0 ? 0xa0 : st == U8_F0 ? 0x90 : 0x80;
		uint8_t hi = st == U8_ED ? 0x9f : st == U8_F4 ? 0x8f : 0xbf;

		if (c < lo || c > hi)
			goto bad;
		next = st == U8_TAIL1 ? U8_LEAD
			: st == U8_TAIL2 || st == U8_E0 || st == U8_ED ? U8_TAIL1
			: U8_TAIL2;
	}
	s->flags = (s->flags & ~F_U8_MASK) | next << F_U8_SHIFT;
	return;
bad:
	s->flags = (s->flags & ~F_U8_MASK) | F_U8_BAD;
}

/* scr_smtp_word_char - one byte of the command word: the candidates that
 * have it at this position stay */

static inline __attribute__((always_inline)) void
scr_smtp_word_char(const struct scr_smtp_words *w, struct scr_smtp *s, uint8_t c)
{
	s->cand &= s->wlen < SCR_SMTP_WORD_MAX ? w->at[s->wlen][c] : 0;
	if (s->wlen == 0 && (w->first[c >> 6] >> (c & 63) & 1))
		s->flags |= F_FORBID;
	if (s->wlen < UINT8_MAX)
		s->wlen++;
	if ((c >= 0x80 || (s->flags & F_U8_MASK)) && !(s->flags & F_U8_BAD))
		utf8_step(s, c);
	/* Postfix is_header() on the token: name chars, tabs, then ':' (a
	 * space would have ended the token). */
	if (s->flags & (F_HDR_YES | F_HDR_NO))
		return;
	if (c == ':')
		s->flags |= (s->flags & F_HDR_CHAR) ? F_HDR_YES : F_HDR_NO;
	else if (c == '\t')
		s->flags |= (s->flags & F_HDR_CHAR) ? F_HDR_TAB : F_HDR_NO;
	else if (c < 0x21 || c >= 0x7f || (s->flags & F_HDR_TAB))
		s->flags |= F_HDR_NO;
	else
		s->flags |= F_HDR_CHAR;
}

/* word_pos - the command word begins at the line's last byte counted */
static void word_pos(struct scr_smtp *s)
{
	s->wpos = s->cli_len > UINT8_MAX ? UINT8_MAX : (uint8_t)(s->cli_len - 1);
}

/* word_bytes - the command word that ends at p[e] (exclusive) in one
 * piece: from this feed, or (begun in an earlier one) from the line's
 * first bytes its scanner stream keeps; NULL when it is not all there */
static const uint8_t *word_bytes(const struct scr_smtp_cur *c, const struct scr_smtp *s,
				 uint32_t e, uint32_t *n)
{
	const uint8_t *t;
	uint32_t tn;

	if (c->ws != NO_WS) {
		*n = e - c->ws;
		return c->p + c->ws;
	}
	if (s->ss == NULL || s->wlen == UINT8_MAX || s->wpos == UINT8_MAX)
		return NULL;
	t = scr_scan_text(s->ss, &tn);	/* the line from its first byte */
	if ((uint32_t)s->wpos + s->wlen > tn)
		return NULL;
	*n = s->wlen;
	return t + s->wpos;
}

/* scr_smtp_word_end - the command word is complete; it ended at p[e] */

static void scr_smtp_word_end(struct scr_smtp_cur *c, struct scr_smtp *s, uint32_t e)
{
	const struct scr_smtp_words *w = words_of(c->env);
	uint32_t m = s->cand & (s->wlen <= SCR_SMTP_WORD_MAX ? w->len_is[s->wlen] : 0);
	unsigned v = (m & CAND_VERBS) != 0 ? (unsigned)__builtin_ctz(m & CAND_VERBS)
		: SCR_SMTP_V_UNIMPL;

	if (m & w->forbidden)
		s->flags |= F_FORBID;
	if (s->flags & F_U8_MASK)
		s->flags = (s->flags & ~F_U8_MASK) | F_U8_BAD;	/* cut short */
	/* other postscreen_forbidden_commands expressions, on the word
	 * alone: only an unknown word can fail them */
	if (v == SCR_SMTP_V_UNIMPL && !(s->flags & (F_FORBID | F_HDR_YES)) &&
	    c->env->scan != NULL && scr_scan_has_word_patterns(c->env->scan) &&
	    scr_smtp_want(c->env, s, SCR_TEST_NON_SMTP)) {
		uint32_t n;
		const uint8_t *b = word_bytes(c, s, e, &n);

		if (b != NULL && scr_scan_word(c->env->scan, b, n) > 0)
			s->flags |= F_FORBID;
	}
	s->cand = v == SCR_SMTP_V_UNIMPL ? 0 : 1u << v;
	if (!(s->flags & F_HDR_YES))
		s->flags |= F_HDR_NO;
	if (v == SCR_SMTP_V_HELO || v == SCR_SMTP_V_EHLO) {
		s->cli_st = SCR_SMTP_CL_HELO_SP;
		s->h_flags = 0;
		s->h_num = 0;
		s->h_label = 0;
		s->h_total = 0;
		s->h_parts = 0;
	} else {
		s->cli_st = SCR_SMTP_CL_ARGS;
	}
	if (v == SCR_SMTP_V_MAIL && c->env->pol != NULL && c->env->pol->helo_required
	    && !(s->flags & F_HELO_SENT) && scr_smtp_want(c->env, s, SCR_TEST_HELO))
		scr_smtp_line_fail(c, s, SCR_TEST_HELO, scr_smtp_verb_name(s->last_cmd));
}

/* scr_smtp_helo_end - the HELO/EHLO name is complete */

static void scr_smtp_helo_end(struct scr_smtp_cur *c, struct scr_smtp *s)
{
	s->cli_st = SCR_SMTP_CL_ARGS;
	if (s->h_total == 0)
		return;
	s->flags |= F_HELO_SENT;
	if (scr_smtp_helo_bad(s) && scr_smtp_want(c->env, s, SCR_TEST_HELO))
		scr_smtp_line_fail(c, s, SCR_TEST_HELO, scr_smtp_verb_name(s->last_cmd));
}

/* scr_smtp_judge - non-SMTP and pattern verdicts for the line so far */

static void scr_smtp_judge(struct scr_smtp_cur *c, struct scr_smtp *s)
{
	struct scr_smtp_env *env = c->env;
	bool word_done = s->cli_st == SCR_SMTP_CL_ARGS
		|| s->cli_st == SCR_SMTP_CL_HELO_SP
		|| s->cli_st == SCR_SMTP_CL_HELO_NAME;

	if (s->cli_st == SCR_SMTP_CL_SASL)
		return;
	if (scr_smtp_want(env, s, SCR_TEST_NON_SMTP)) {
		unsigned v = scr_smtp_cur_verb(s);

		if (word_done && s->wlen > 0 && !(scr_smtp_verbs[v].flags & VF_KNOWN)
		    && ((s->flags & (F_HDR_YES | F_FORBID))
			|| ((s->flags & F_U8_BAD) && env->pol != NULL && env->pol->smtputf8)))
			scr_smtp_line_fail(c, s, SCR_TEST_NON_SMTP,
					   scr_smtp_verb_name(s->last_cmd));
		else if (s->hits & SCR_SCAN_LINE_NONSMTP)
			scr_smtp_line_fail(c, s, SCR_TEST_NON_SMTP,
					   scr_smtp_verb_name(s->last_cmd));
	}
	if ((s->hits & SCR_SCAN_LINE_HELO) && scr_smtp_want(env, s, SCR_TEST_HELO))
		scr_smtp_line_fail(c, s, SCR_TEST_HELO, scr_smtp_verb_name(s->last_cmd));
}

/* scr_smtp_srv_partial - the server is in the middle of a reply: a line
 * begun and not ended, or a "NNN-" line whose reply has not ended */

static bool scr_smtp_srv_partial(const struct scr_smtp *s)
{
	return s->srv_pos > 0 || (s->flags & F_SRV_MORE);
}

/* scr_smtp_undecided - a test cannot be decided from what was seen (the
 * client spoke while the server's reply was incomplete, a server that
 * does not finish its lines): nothing more to test, the verdict is
 * unknown unless a test failed already */

static void scr_smtp_undecided(struct scr_smtp_cur *c, struct scr_smtp *s)
{
	scr_smtp_stop(c->env, s);
	s->flags |= F_UNDECIDED;
	c->r |= SCR_SMTP_R_UNDECIDED;
}

/* SCR_TEST bits of postscreen's deep protocol tests: only while one of
 * them runs does postscreen's own SMTP engine talk with the client, and its
 * command count and line length limits are that engine's. With them off
 * (Postfix's default) postscreen hands the client to smtpd after the
 * greeting, and so smtpscreen leaves a long session (a list server's 50
 * RCPTs) to smtpd's limits. */
#define DEEP_TESTS (SCR_TEST_BIT(SCR_TEST_PIPELINING) | \
		    SCR_TEST_BIT(SCR_TEST_NON_SMTP) | \
		    SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE))

/* scr_smtp_limit_hit - a postscreen limit is exceeded: no more tests,
 * the session is to be ended (flag: F_CMD_LIMIT or F_LONG) */

static void scr_smtp_limit_hit(struct scr_smtp_cur *c, struct scr_smtp *s,
			       uint32_t flag)
{
	s->flags |= flag;
	scr_smtp_stop(c->env, s);
	c->r |= SCR_SMTP_R_LIMIT;
}

/* scr_smtp_line_begin - first byte of a client line: pipelining; false
 * when scanning stops here */

static bool scr_smtp_line_begin(struct scr_smtp_cur *c, struct scr_smtp *s,
				uint32_t i)
{
	struct scr_smtp_env *env = c->env;
	unsigned last = s->last_cmd;

	if (s->outq > 0 && (!(s->flags & F_PIPE_ANN) || !(s->flags & F_ESMTP)
			    || (scr_smtp_verbs[last].flags & VF_GROUP_END))
	    && scr_smtp_want(env, s, SCR_TEST_PIPELINING)) {
		struct scr_smtp_detail *d;

		/* A reply under way that never ends ("250-" alone, a line
		 * without its LF): the client may have waited for it. Only
		 * a client that spoke before any of it arrived pipelined. */
		if (scr_smtp_srv_partial(s)) {
			scr_smtp_undecided(c, s);
			return false;
		}
		d = scr_smtp_fail(env, s, SCR_TEST_PIPELINING, scr_smtp_verb_name(last));
		scr_smtp_text(d, c->p, i, c->len, false);
	}
	/* After QUIT, or a body / TLS handshake sent before the server
	 * answered DATA / STARTTLS: nothing more to test. */
	if ((s->flags & F_QUIT) || (s->outq > 0 && (last == SCR_SMTP_V_DATA
						    || last == SCR_SMTP_V_STARTTLS))) {
		if (!(s->flags & F_QUIT) && last == SCR_SMTP_V_DATA)
			env->take_off = i;	/* the message, sent with DATA */
		scr_smtp_stop(env, s);
		c->r |= SCR_SMTP_R_DONE;
		return false;
	}
	s->flags &= ~F_LINE_MASK;
	s->cli_len = 0;
	s->wlen = 0;
	s->hits = 0;
	s->cand = CAND_ALL;
	s->cli_st = (s->flags & F_AUTH) ? SCR_SMTP_CL_SASL : SCR_SMTP_CL_LEAD;
	return true;
}

/* scr_smtp_line_end - LF: finish the line and account for it */

static void scr_smtp_line_end(struct scr_smtp_cur *c, struct scr_smtp *s)
{
	struct scr_smtp_env *env = c->env;
	unsigned v;

	if (!(s->flags & F_CLI_CR) && scr_smtp_want(env, s, SCR_TEST_BARE_NEWLINE)) {
		struct scr_smtp_detail *d = scr_smtp_fail(env, s, SCR_TEST_BARE_NEWLINE, "");

		scr_smtp_line_text(d, c, s, false);
		scr_smtp_escape(d);
	}
	switch (s->cli_st) {
	case SCR_SMTP_CL_LEAD:
		s->cli_st = SCR_SMTP_CL_ARGS;	/* empty line */
		break;
	case SCR_SMTP_CL_WORD:		/* the word ends at the LF, or its CR */
		scr_smtp_word_end(c, s, (s->flags & F_CLI_CR) && c->le > 0 ? c->le - 1 : c->le);
		if (s->cli_st == SCR_SMTP_CL_HELO_SP)
			s->cli_st = SCR_SMTP_CL_ARGS;	/* "EHLO" without a name */
		break;
	case SCR_SMTP_CL_HELO_NAME:
		scr_smtp_helo_end(c, s);
		name_end(words_of(env), s);
		break;
	case SCR_SMTP_CL_HELO_SP:
		s->cli_st = SCR_SMTP_CL_ARGS;
		s->cand &= ~CAND_WORDS;		/* no name at all */
		break;
	case SCR_SMTP_CL_ARGS:
	case SCR_SMTP_CL_SASL:
		break;
	default:
		scr_panic("scr_smtp_line_end: client state %d out of range",
			  (int)s->cli_st);
	}
	if ((s->cand & CAND_WORDS) && ((s->cand & CAND_VERBS) == 1u << SCR_SMTP_V_HELO ||
				       (s->cand & CAND_VERBS) == 1u << SCR_SMTP_V_EHLO))
		s->hits |= SCR_SCAN_LINE_HELO;	/* an own name, the line complete */
	scr_smtp_judge(c, s);
	if (s->ss != NULL) {
		scr_scan_close(env->scan, s->ss);
		s->ss = NULL;
	}
	SAT_INC16(s->outq);
	if (s->cli_st == SCR_SMTP_CL_SASL) {
		s->cli_st = SCR_SMTP_CL_START;
		return;
	}
	s->cli_st = SCR_SMTP_CL_START;
	v = scr_smtp_cur_verb(s);
	s->last_cmd = (uint8_t)v;
	if (v != SCR_SMTP_V_QUIT) {
		SAT_INC16(s->cmds);
		/* postscreen: COMMAND COUNT LIMIT ... after <this command> */
		if (env->pol != NULL && env->pol->command_count_limit > 0
		    && (s->todo & DEEP_TESTS)
		    && s->cmds > env->pol->command_count_limit) {
			scr_smtp_limit_hit(c, s, F_CMD_LIMIT);
			return;
		}
	}
	if (v == SCR_SMTP_V_HELO || v == SCR_SMTP_V_EHLO) {
		s->flags &= ~(F_PIPE_ANN | F_ESMTP | F_AUTH);
		if (v == SCR_SMTP_V_EHLO)
			s->flags |= F_ESMTP;
	} else if (v == SCR_SMTP_V_AUTH) {
		s->flags |= F_AUTH;
	} else if (v == SCR_SMTP_V_DATA || v == SCR_SMTP_V_STARTTLS) {
		c->r |= SCR_SMTP_R_COMMIT;
	} else if (v == SCR_SMTP_V_BDAT) {
		/* Chunk data follows at once and may contain anything; the
		 * guard reads the BDAT line again for its size. */
		c->r |= SCR_SMTP_R_COMMIT | SCR_SMTP_R_DONE;
		if (c->line_here)
			env->take_off = c->ls;
		scr_smtp_stop(env, s);
	} else if (v == SCR_SMTP_V_QUIT) {
		s->flags |= F_QUIT;
	}
}

/* word_ends - b ends the command word (a CR only if the LF follows) */
static inline bool word_ends(uint8_t b)
{
	return b == ' ' || b == '\r' || b == '\0';
}

/* name_ends - b ends the HELO name */
static inline bool name_ends(uint8_t b)
{
	return b == ' ' || b == '\t' || b == '\r' || b == '\0';
}

/* word_end_at - the end of the command word in p[i..to), or to */
static inline uint32_t word_end_at(const uint8_t *p, uint32_t i, uint32_t to)
{
	while (i < to && !word_ends(p[i]))
		i++;
	return i;
}

/* name_end_at - the end of the HELO name in p[i..to), or to */
static inline uint32_t name_end_at(const uint8_t *p, uint32_t i, uint32_t to)
{
	while (i < to && !name_ends(p[i]))
		i++;
	return i;
}

/* scr_smtp_word_span - n bytes of the command word (no space, CR or NUL among
 * them), a byte at a time on a copy of the state the compiler can keep
 * in registers (s's fields could alias the tables otherwise) */
static void scr_smtp_word_span(const struct scr_smtp_words *w, struct scr_smtp *s,
			       const uint8_t *p, uint32_t n)
{
	struct scr_smtp t = *s;

	for (uint32_t k = 0; k < n; k++)
		scr_smtp_word_char(w, &t, p[k]);
	*s = t;
}

/* scr_smtp_name_span - n bytes of the HELO name (no blank, CR or NUL), as
 * scr_smtp_word_span does them */
static void scr_smtp_name_span(const struct scr_smtp_words *w, struct scr_smtp *s,
			       const uint8_t *p, uint32_t n)
{
	struct scr_smtp t;

	if (s->h_flags & H_LIT) {	/* rare: the whole step each byte */
		for (uint32_t k = 0; k < n; k++) {
			scr_smtp_helo_char(s, p[k]);
			name_char(w, s, p[k]);
		}
		return;
	}
	/* scr_smtp_helo_char without the literal's branches: the name's
	 * first byte (the only one that can open a literal) came before */
	t = *s;
	for (uint32_t k = 0; k < n; k++) {
		helo_count(&t);
		if (!(t.h_flags & H_BAD))
			helo_host_char(&t, p[k]);
		name_char(w, &t, p[k]);
	}
	*s = t;
}

/* scr_smtp_bytes - run the C parser over p[from..to) of one line */

static void scr_smtp_bytes(struct scr_smtp_cur *c, struct scr_smtp *s,
			   uint32_t from, uint32_t to)
{
	const struct scr_policy *pol = c->env->pol;
	const struct scr_smtp_words *words = words_of(c->env);
	bool over = false;
	uint32_t i;

	/* postscreen: COMMAND LENGTH LIMIT ... after <the previous command>,
	 * as the byte past line_length_limit arrives (however the line is
	 * cut into segments). Not for a SASL response: postscreen never runs
	 * AUTH, and tokens (GSSAPI, XOAUTH2) may be longer than a command. */
	if (pol != NULL && pol->line_length_limit > 0 && (s->todo & DEEP_TESTS) &&
	    pol->line_length_limit < UINT16_MAX && s->cli_st != SCR_SMTP_CL_SASL) {
		uint32_t room = s->cli_len >= pol->line_length_limit ? 0 :
				pol->line_length_limit - s->cli_len;

		if (to - from > room) {
			to = from + room;
			over = true;
		}
	}
	for (i = from; i < to; i++) {
		uint8_t b = c->p[i];

		/* Arguments and SASL responses: only length and the last CR. */
		if (s->cli_st == SCR_SMTP_CL_ARGS || s->cli_st == SCR_SMTP_CL_SASL) {
			uint32_t n = to - i;

			/* after an own name? (a NUL ended what smtpd reads) */
			if ((s->cand & CAND_WORDS) && !(s->flags & F_CUT))
				name_rest(s, c->p + i, n);

			s->cli_len = n >= (uint32_t)(UINT16_MAX - s->cli_len) ? UINT16_MAX
				: (uint16_t)(s->cli_len + n);
			if (c->p[to - 1] == '\r')
				s->flags |= F_CLI_CR;
			else
				s->flags &= ~F_CLI_CR;
			break;
		}

		/* A CR is the line's end only right before the LF (which never
		 * comes here): postscreen strips just that CR, so one that
		 * another byte follows belongs to the command word. */
		if ((s->flags & F_CLI_CR) && (s->cli_st == SCR_SMTP_CL_LEAD ||
					      s->cli_st == SCR_SMTP_CL_WORD)) {
			if (s->cli_st == SCR_SMTP_CL_LEAD) {	/* the word begins */
				c->ws = i > from ? i - 1 : NO_WS;
				word_pos(s);
			}
			s->cli_st = SCR_SMTP_CL_WORD;
			scr_smtp_word_char(words, s, '\r');
		}

		/* The rest of a command word or HELO name, in one go. */
		if ((s->cli_st == SCR_SMTP_CL_WORD && !word_ends(b)) ||
		    (s->cli_st == SCR_SMTP_CL_HELO_NAME && !name_ends(b))) {
			uint32_t e, n;

			if (s->cli_st == SCR_SMTP_CL_WORD) {
				e = word_end_at(c->p, i + 1, to);
				n = e - i;
				scr_smtp_word_span(words, s, c->p + i, n);
			} else {
				e = name_end_at(c->p, i + 1, to);
				n = e - i;
				scr_smtp_name_span(words, s, c->p + i, n);
			}
			s->cli_len = n >= (uint32_t)(UINT16_MAX - s->cli_len) ? UINT16_MAX
				: (uint16_t)(s->cli_len + n);
			s->flags &= ~F_CLI_CR;
			i = e - 1;
			continue;
		}
		SAT_INC16(s->cli_len);
		if (b == '\r')
			s->flags |= F_CLI_CR;
		else
			s->flags &= ~F_CLI_CR;
		switch (s->cli_st) {
		case SCR_SMTP_CL_LEAD:
			if (b == ' ') {
				s->flags |= F_LEAD_WS;
			} else if (b == '\0') {
				s->cli_st = SCR_SMTP_CL_ARGS;	/* empty word */
				s->flags |= F_CUT;
			} else if (b != '\r') {	/* a CR waits for the next byte */
				s->cli_st = SCR_SMTP_CL_WORD;
				c->ws = i;
				word_pos(s);
				scr_smtp_word_char(words, s, b);
			}
			break;
		case SCR_SMTP_CL_WORD:		/* b: space, CR or NUL */
			if (b == '\r')
				break;			/* waits for the next byte */
			scr_smtp_word_end(c, s, i);
			if (b == '\0') {
				s->cli_st = SCR_SMTP_CL_ARGS;
				s->flags |= F_CUT;
			} else if (s->cli_st == SCR_SMTP_CL_HELO_SP &&
				   !(s->flags & F_LEAD_WS)) {
				s->cand |= words->names;
			}
			break;
		case SCR_SMTP_CL_HELO_SP:
			if (b == '\0') {
				s->cli_st = SCR_SMTP_CL_ARGS;
				s->flags |= F_CUT;
				s->cand &= ~CAND_WORDS;
			} else if (!name_ends(b)) {
				s->cli_st = SCR_SMTP_CL_HELO_NAME;
				scr_smtp_helo_char(s, b);
				name_char(words, s, b);
			} else if (b == '\r') {
				s->cand &= ~CAND_WORDS;
			}
			break;
		case SCR_SMTP_CL_HELO_NAME:	/* b ends the name */
			scr_smtp_helo_end(c, s);
			name_end(words, s);
			if (b == '\0')
				s->flags |= F_CUT;
			break;
		case SCR_SMTP_CL_ARGS:
		case SCR_SMTP_CL_SASL:
			break;
		default:
			scr_panic("scr_smtp_bytes: client state %d out of range",
				  (int)s->cli_st);
		}
	}
	if (over)
		scr_smtp_limit_hit(c, s, F_LONG);
}

/* scr_smtp_scan - scan one chunk of the current line with Hyperscan */

static void scr_smtp_scan(struct scr_smtp_cur *c, struct scr_smtp *s,
			  uint32_t from, uint32_t to)
{
	struct scr_smtp_env *env = c->env;
	struct scr_scan_match m;

	if (s->cli_st == SCR_SMTP_CL_SASL || (s->flags & F_NOSCAN) || to <= from)
		return;
	if (s->ss == NULL) {
		/* A stream must start at the line start ('^' anchors there): a
		 * line whose stream was dropped (scr_smtp_fini() mid-line, e.g.
		 * on reload) is not scanned any further. */
		if (s->cli_len != 0) {
			s->flags |= F_NOSCAN;
			return;
		}
		if ((s->ss = scr_scan_open(env->scan)) == NULL) {
			env->scan_pool_empty++;
			s->flags |= F_NOSCAN;
			return;
		}
	}
	if (scr_scan_feed(env->scan, s->ss, c->p + from, to - from, &m) != 0) {
		scr_scan_close(env->scan, s->ss);
		s->ss = NULL;
		s->flags |= F_NOSCAN;
		return;
	}
	s->hits |= (uint8_t)m.flags;
}

/* scr_smtp_dropped - did the last failure stop the session (action drop)?
 * postscreen drops at once and reads nothing after the offending command,
 * so nothing after it may count as another failure. */

static bool scr_smtp_dropped(const struct scr_smtp_env *env)
{
	unsigned t;

	if (env->pol == NULL || env->newly == 0)
		return false;
	for (t = 0; t < SCR_TEST_MAX; t++)
		if ((env->newly & SCR_TEST_BIT(t)) &&
		    env->pol->action[t] == SCR_ACT_DROP)
			return true;
	return false;
}

/* scr_smtp_cli_feed - parse client bytes */

static void scr_smtp_cli_feed(struct scr_smtp_cur *c, struct scr_smtp *s)
{
	struct scr_smtp_env *env = c->env;
	/* Without a words table (unit tests) Hyperscan matches every pattern. */
	bool scan = env->scan != NULL && (env->words != NULL
					  ? scr_scan_has_patterns(env->scan)
					  : scr_scan_any_patterns(env->scan))
		&& (s->todo & (SCR_TEST_BIT(SCR_TEST_NON_SMTP) | SCR_TEST_BIT(SCR_TEST_HELO)));
	uint32_t i = 0;

	if (!(s->flags & F_GREETED) && s->srv_pos > 0 &&
	    scr_smtp_want(env, s, SCR_TEST_PREGREET)) {
		/* The greeting's line began and never ended: talking now is
		 * not talking first, nor is it waiting for a greeting. */
		scr_smtp_undecided(c, s);
		return;
	}
	if (!(s->flags & F_GREETED) && scr_smtp_want(env, s, SCR_TEST_PREGREET)) {
		struct scr_smtp_detail *d = scr_smtp_fail(env, s, SCR_TEST_PREGREET,
							  "CONNECT");

		d->count = c->len;
		scr_smtp_text(d, c->p, 0, c->len, false);
		if (scr_smtp_dropped(env))
			return;
	}
	c->ls = 0;
	while (i < c->len) {
		const uint8_t *lf;

		if (s->cli_st == SCR_SMTP_CL_START) {
			if (!scr_smtp_line_begin(c, s, i) || scr_smtp_dropped(env))
				return;
			c->ls = i;
			c->line_here = true;
		}
		lf = memchr(c->p + i, '\n', c->len - i);
		c->le = lf != NULL ? (uint32_t)(lf - c->p) : c->len;
		if (scan)
			scr_smtp_scan(c, s, i, lf != NULL ? c->le + 1 : c->len);
		scr_smtp_bytes(c, s, i, c->le);
		if (s->flags & F_DONE)
			return;		/* a limit ended the tests */
		if (lf == NULL) {
			scr_smtp_judge(c, s);
			break;
		}
		scr_smtp_line_end(c, s);
		if ((s->flags & F_DONE) || scr_smtp_dropped(env))
			return;
		i = c->le + 1;
	}
	if (s->flags & F_QUIT) {
		scr_smtp_stop(env, s);
		c->r |= SCR_SMTP_R_DONE;
	}
}

/* scr_smtp_feed - bytes of one direction, in sequence order, once */

unsigned scr_smtp_feed(struct scr_smtp_env *env, struct scr_smtp *s,
		       bool from_client, const uint8_t *p, uint32_t len)
{
	struct scr_smtp_cur c = { .env = env, .p = p, .len = len, .ws = NO_WS };

	env->newly = 0;
	env->take_off = UINT32_MAX;
	if (s->flags & (F_DONE | F_NOTSMTP))
		goto out;
	if (len == 0 || p == NULL)
		goto out;
	if (from_client)
		scr_smtp_cli_feed(&c, s);
	else
		scr_smtp_srv_feed(env, s, p, len);
	if (s->flags & F_NOTSMTP)
		scr_smtp_stop(env, s);
out:
	if (s->flags & F_DONE)
		c.r |= SCR_SMTP_R_DONE;
	if (s->flags & F_NOTSMTP)
		c.r |= SCR_SMTP_R_NOTSMTP;
	if (env->newly != 0)
		c.r |= SCR_SMTP_R_FAIL;
	return c.r;
}
