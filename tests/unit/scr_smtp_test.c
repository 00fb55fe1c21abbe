/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_smtp_test - unit tests for the SMTP state machine
 * DESCRIPTION
 *	Table-driven: each case is a label, a script of server (S) and
 *	client (C) segments, and the expected failed tests, result bits,
 *	pass state and log detail. Bad input comes first. Every case is run
 *	three ways: segments as written, every segment split into single
 *	bytes, and without a scanner thread where the case does not need
 *	one; failed bits, result bits and pass state must not change.
 *	Separate tables check HELO names (whole and split at every byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scr_smtp.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define B(t)	((uint8_t)SCR_TEST_BIT(SCR_TEST_##t))
#define ALL	((uint8_t)SCR_TESTS_STREAM)
#define FAIL	SCR_SMTP_R_FAIL
#define COMMIT	SCR_SMTP_R_COMMIT
#define DONE	SCR_SMTP_R_DONE
#define NOTSMTP	SCR_SMTP_R_NOTSMTP
#define UNDECIDED SCR_SMTP_R_UNDECIDED
#define LIMIT	SCR_SMTP_R_LIMIT

/* Patterns as ctrl builds them: Debian's postscreen_forbidden_commands,
 * one own HELO name, one signature. */
static const struct scr_scan_pattern pats[] = {
	{ "CONNECT", "^CONNECT$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "GET", "^GET$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "POST", "^POST$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "Bogus", "^[^A-Z]", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
	{ "own name", "^(HELO|EHLO) [ \\t]*mx\\.example\\.test\\.?\\r?$", 1,
	  SCR_PAT_LINE, SCR_TEST_HELO, "smtpscreen_helo_own_names" },
	{ "sig", "^MAIL FROM:<[^>]*@spam\\.example>", 1, SCR_PAT_LINE,
	  SCR_TEST_NON_SMTP, "sigs:1" },
};

struct step {
	char dir;		/* 'S' server, 'C' client */
	const char *bytes;
	uint32_t len;		/* 0: strlen(bytes) */
};

/* Needs the scanner (ctrl patterns): not run in the no-scanner pass. */
#define NEED_SCAN	0x01u
/* helo_required = yes */
#define HELO_REQ	0x02u
/* Result bits or pass state depend on segmentation: no byte-split pass. */
#define NO_SPLIT	0x04u
/* every action = drop */
#define DROP_ALL	0x08u
/* smtputf8_enable = yes */
#define UTF8		0x10u

struct smtp_case {
	const char *label;
	uint8_t todo;
	unsigned opts;
	struct step steps[16];
	uint8_t failed;		/* expected failed bits at the end */
	unsigned result;	/* union of feed results */
	bool passed;
	/* detail of one failed test (checked in the as-written pass) */
	int det_test;		/* -1: none */
	const char *det_after;
	const char *det_text;	/* raw bytes */
	uint32_t det_count;
	uint32_t det_tlen;	/* 0: strlen(det_text) */
};

#define GREET	{ 'S', "220 mx.example.test ESMTP\r\n" }
#define EHLO_A	{ 'C', "EHLO client.example\r\n" }
#define EHLO_R	{ 'S', "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" \
		  "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250 8BITMIME\r\n" }
#define EHLO_R_NOPIPE { 'S', "250-mx.example.test\r\n250-SIZE\r\n250 8BITMIME\r\n" }
#define NODET	-1, NULL, NULL, 0

static char huge_helo[2000];	/* a name of 1989 chars: under the length limit */
static char huge_junk[70000];
static char long_line[2051];	/* "NOOP x...x\r\n": 2049 bytes before the LF */

static const struct smtp_case cases[] = {
	/* ---- bad input ---- */
	{ "zero-length feeds", ALL, 0,
	  { { 'S', "", 0 }, { 'C', "", 0 }, GREET, { 'C', "", 0 }, { 'S', "", 0 } },
	  0, 0, false, NODET },
	{ "binary greeting (TLS on port 25)", ALL, 0,
	  { { 'S', "\x16\x03\x01\x00\x05\x00", 6 }, { 'C', "EHLO client.example\r\n" } },
	  0, DONE | NOTSMTP, false, NODET },
	{ "554 greeting", ALL, 0,
	  { { 'S', "554 5.7.1 go away\r\n" }, EHLO_A, { 'C', "GET / HTTP/1.0\r\n" } },
	  0, DONE | NOTSMTP, false, NODET },
	{ "421 greeting after teaser", ALL, 0,
	  { { 'S', "220-mx teaser\r\n" }, { 'S', "421 busy\r\n" }, EHLO_A },
	  0, DONE | NOTSMTP, false, NODET },
	/* postscreen reads a command line as a C string and splits its word at
	 * spaces only (tests/e2e/postscreen_diff_test.sh has each of these
	 * against the real one) */
	{ "NUL bytes as a command: no word at all", ALL, NEED_SCAN,
	  { GREET, { 'C', "\0\0\0\r\n", 5 } },
	  0, 0, false, NODET },
	{ "GET, NUL: the word ends at the NUL", ALL, NEED_SCAN,
	  { GREET, { 'C', "GET\0/ HTTP/1.0\r\n", 16 } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "GET\0/ HTTP/1.0", 0, 14 },
	{ "GET, tab: one word \"GET\\t/\"", ALL, NEED_SCAN,
	  { GREET, { 'C', "GET\t/ HTTP/1.0\r\n" } },
	  0, 0, false, NODET },
	{ "tab, GET: the word begins with the tab (Bogus regexp)", ALL, NEED_SCAN,
	  { GREET, { 'C', "\tGET / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "\tGET / HTTP/1.0", 0 },
	{ "spaces, GET: leading spaces are skipped", ALL, NEED_SCAN,
	  { GREET, { 'C', "  GET  / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "  GET  / HTTP/1.0", 0 },
	{ "spaces, digit: the Bogus regexp on the word, not the line", ALL, NEED_SCAN,
	  { GREET, EHLO_A, EHLO_R, { 'C', " 123 hello\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "EHLO", " 123 hello", 0 },
	{ "GET, lone CR: one word \"GET\\r/\"", ALL, NEED_SCAN,
	  { GREET, { 'C', "GET\r/ HTTP/1.0\r\n" } },
	  0, 0, false, NODET },
	{ "GET, CR split from its LF: the CR ends the line", ALL, NEED_SCAN,
	  { GREET, { 'C', "GET\r" }, { 'C', "\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "GET", 0 },
	{ "lone CR, GET: the word begins with the CR (Bogus regexp)", ALL, NEED_SCAN,
	  { GREET, { 'C', "\r" }, { 'C', "GET / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "\rGET / HTTP/1.0", 0 },
	{ "header label with a tab before the colon", ALL, 0,
	  { GREET, { 'C', "Subject\t: buy now\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "Subject\t: buy now", 0 },
	{ "a name character after the tab is no header label", ALL, 0,
	  { GREET, { 'C', "Subject\tx: buy now\r\n" } },
	  0, 0, false, NODET },
	{ "word not UTF-8, smtputf8_enable = yes", ALL, UTF8,
	  { GREET, { 'C', "G\xffT / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "G\xffT / HTTP/1.0", 0 },
	{ "word not UTF-8, smtputf8_enable = no", ALL, 0,
	  { GREET, { 'C', "G\xffT / HTTP/1.0\r\n" } },
	  0, 0, false, NODET },
	{ "word in UTF-8, smtputf8_enable = yes", ALL, UTF8,
	  { GREET, { 'C', "G\xc3\x89T\xf0\x9f\x98\x80 / HTTP/1.0\r\n" } },
	  0, 0, false, NODET },
	{ "word ends inside a UTF-8 sequence", ALL, UTF8,
	  { GREET, { 'C', "GET\xe2\x82 /\r\n" } },
	  B(NON_SMTP), FAIL, false, NODET },
	{ "arguments are not checked for UTF-8", ALL, UTF8,
	  { GREET, { 'C', "XYZZY \xff\xfe\r\n" } },
	  0, 0, false, NODET },
	{ "HELO, tab: an unknown command, not a HELO", ALL, 0,
	  { GREET, { 'C', "HELO\tclient.example\r\n" },
	    { 'S', "502 5.5.2 Error: command not recognized\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, false, NODET },
	{ "HELO name, NUL: the name ends at the NUL", ALL, 0,
	  { GREET, { 'C', "HELO client.example\0junk\r\n", 26 }, { 'S', "250 mx\r\n" },
	    { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "huge HELO line", ALL, 0,
	  { GREET, { 'C', huge_helo }, { 'S', "250 mx\r\n" }, { 'C', "QUIT\r\n" } },
	  B(HELO), FAIL | DONE, false, NODET },
	{ "huge junk line: COMMAND LENGTH LIMIT ends the tests", ALL, 0,
	  { GREET, { 'C', huge_junk }, { 'C', "\r\n" }, { 'S', "502 no\r\n" }, EHLO_A,
	    EHLO_R, { 'C', "QUIT\r\n" } },
	  0, LIMIT | DONE, false, NODET },
	{ "command of 2049 bytes (CR counted) is over line_length_limit (2048)", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', long_line } },
	  0, LIMIT | DONE, true, NODET },
	{ "command of 2048 bytes is not", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', long_line + 1 }, { 'S', "502 no\r\n" },
	    { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "SASL response longer than line_length_limit is not", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "AUTH GSSAPI\r\n" }, { 'S', "334 \r\n" },
	    { 'C', huge_junk }, { 'C', "\r\n" }, { 'S', "235 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "21st command: COMMAND COUNT LIMIT", ALL, 0,
	  { GREET, EHLO_A, EHLO_R,
	    { 'C', "NOOP\r\n" }, { 'S', "250 ok\r\n" }, { 'C', "NOOP\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "NOOP\r\n" }, { 'S', "250 ok\r\n" }, { 'C', "NOOP\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n"
		   "RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nNOOP\r\n" } },
	  0, LIMIT | DONE, true, NODET },
	{ "20 commands and QUIT: no limit", ALL, 0,
	  { GREET, EHLO_A, EHLO_R,
	    { 'C', "RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n"
		   "RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n"
		   "RSET\r\nRSET\r\nRSET\r\n" }, { 'S', "250 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "binary server reply lines are ignored", ALL, 0,
	  { GREET, EHLO_A, { 'S', "\xff\xfe\x00junk\r\n", 9 }, { 'S', "\n\n" },
	    EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "server line shorter than a code", ALL, 0,
	  { GREET, EHLO_A, { 'S', "25\r\n" }, EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	/* ---- pregreet ---- */
	{ "pregreet before any greeting", ALL, 0,
	  { { 'C', "EHLO zombie\r\n" }, GREET },
	  B(PREGREET) | B(HELO), FAIL, false,
	  SCR_TEST_PREGREET, "CONNECT", "EHLO zombie\r\n", 13 },
	{ "pregreet during the 220- teaser", ALL, 0,
	  { { 'S', "220-mx.example.test ESMTP\r\n" }, { 'C', "HELO x.example\r\n" },
	    { 'S', "220 mx.example.test ESMTP\r\n" } },
	  B(PREGREET), FAIL, false, SCR_TEST_PREGREET, "CONNECT", "HELO x.example\r\n", 16 },
	/* A client that speaks while the greeting's line is incomplete was
	 * neither early nor answering a greeting: undecided (issue 14). */
	{ "talking before the greeting's CRLF is undecided", ALL, 0,
	  { { 'S', "220 mx.example.test ESMTP" }, EHLO_A, { 'S', "\r\n" } },
	  0, UNDECIDED | DONE, false, NODET },
	{ "talking after a lone 250- continuation is undecided", ALL, 0,
	  { GREET, EHLO_A, { 'S', "250-mx.example.test\r\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\n" } },
	  0, UNDECIDED | DONE, false, NODET },
	/* postscreen (differential test): a pregreeting client gets no final
	 * "220 " after the teaser; the next final line answers its EHLO. */
	{ "pregreet answered without the final 220 is not pipelining", ALL, 0,
	  { { 'S', "220-mx.example.test ESMTP\r\n" }, { 'C', "EHLO client.example\r\n" },
	    EHLO_R_NOPIPE, { 'C', "MAIL FROM:<z@example.org>\r\n" }, { 'S', "250 2.1.0 Ok\r\n" },
	    { 'C', "RCPT TO:<u@example.test>\r\n" }, { 'S', "550 5.5.1 Protocol error\r\n" },
	    { 'C', "QUIT\r\n" } },
	  B(PREGREET), FAIL | DONE, false, NODET },
	{ "pregreet of two commands is also pipelining", ALL, 0,
	  { { 'S', "220-mx.example.test ESMTP\r\n" },
	    { 'C', "EHLO client.example\r\nMAIL FROM:<z@example.org>\r\n" } },
	  B(PREGREET) | B(PIPELINING), FAIL, false, NODET },
	{ "pregreet under drop tests nothing after it", ALL, DROP_ALL | NO_SPLIT,
	  { { 'C', "EHLO client.example\r\nMAIL FROM:<z@example.org>\r\n" } },
	  B(PREGREET), FAIL, false, NODET },
	{ "non-SMTP command under drop: the blank line after is not pipelining",
	  ALL, NEED_SCAN | DROP_ALL | NO_SPLIT,
	  { GREET, { 'C', "GET / HTTP/1.0\r\n\r\n" } },
	  B(NON_SMTP), FAIL, false, NODET },
	{ "non-SMTP command under ignore: the blank line after is pipelining",
	  ALL, NEED_SCAN | NO_SPLIT,
	  { GREET, { 'C', "GET / HTTP/1.0\r\n\r\n" } },
	  B(NON_SMTP) | B(PIPELINING), FAIL, false, NODET },
	{ "pregreet not in todo", ALL & ~B(PREGREET), 0,
	  { EHLO_A, GREET, EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "multi-line greeting, split lines", ALL, 0,
	  { { 'S', "220-mx.exa" }, { 'S', "mple.test\r\n220-more\r" }, { 'S', "\n220 mx\r\n" },
	    EHLO_A, EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	/* ---- command pipelining ---- */
	{ "pipelining after EHLO (postscreen log)", ALL, 0,
	  { GREET, { 'C', "EHLO pipe.example\r\nMAIL FROM:<p@example.org>\r\n"
		     "RCPT TO:<u@example.test>\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "EHLO",
	  "MAIL FROM:<p@example.org>\r\nRCPT TO:<u@example.test>\r\n", 0 },
	{ "command before the EHLO reply, separate segments", ALL, 0,
	  { GREET, EHLO_A, { 'C', "MAIL FROM:<a@client.example>\r\n" }, EHLO_R },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "EHLO",
	  "MAIL FROM:<a@client.example>\r\n", 0 },
	{ "MAIL+RCPT without PIPELINING announced", ALL, 0,
	  { GREET, EHLO_A, EHLO_R_NOPIPE,
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "MAIL",
	  "RCPT TO:<u@example.test>\r\n", 0 },
	{ "HELO client may not pipeline", ALL, 0,
	  { GREET, { 'C', "HELO client.example\r\n" }, { 'S', "250 mx\r\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "MAIL", NULL, 0 },
	{ "body sent before the 354", ALL, 0,
	  { GREET, EHLO_A, EHLO_R,
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n" },
	    { 'C', "Subject: hi\r\nGET / HTTP/1.0\n\r\nbody\r\n.\r\n" },
	    { 'S', "250 ok\r\n250 ok\r\n354 go\r\n" } },
	  B(PIPELINING), FAIL | COMMIT | DONE, false,
	  SCR_TEST_PIPELINING, "DATA", "Subject: hi\r\nGET / HTTP/1.0\n\r\nbody\r\n.\r\n", 0 },
	{ "TLS hello sent before the STARTTLS reply", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "STARTTLS\r\n" },
	    { 'C', "\x16\x03\x01\x02\x00\x01\n\n", 8 }, { 'S', "220 go ahead\r\n" } },
	  B(PIPELINING), FAIL | COMMIT | DONE, false, SCR_TEST_PIPELINING, "STARTTLS",
	  "\x16\x03\x01\x02\x00\x01\n\n", 0, 8 },
	/* Like postscreen, which only looks at what one read returned: QUIT
	 * and the extra bytes must arrive together. */
	{ "bytes after QUIT in the same segment", ALL, NO_SPLIT,
	  { GREET, EHLO_A, EHLO_R, { 'C', "QUIT\r\nxx" } },
	  B(PIPELINING), FAIL | DONE, false, SCR_TEST_PIPELINING, "QUIT", "xx", 0 },
	{ "pipelining after an unknown command", ALL, 0,
	  { GREET, EHLO_A, EHLO_R_NOPIPE, { 'C', "XYZZY\r\nNOOP\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "UNIMPL", "NOOP\r\n", 0 },
	{ "pipelining not in todo", ALL & ~B(PIPELINING), 0,
	  { GREET, { 'C', "EHLO pipe.example\r\nMAIL FROM:<p@example.org>\r\n" } },
	  0, 0, false, NODET },
	{ "legal pipelining after PIPELINING, DATA ends the group", ALL, 0,
	  { GREET, EHLO_A, EHLO_R,
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n"
		   "RCPT TO:<v@example.test>\r\nDATA\r\n" },
	    { 'S', "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" }, { 'S', "250 2.1.5 Ok\r\n354 End\r\n" },
	    { 'C', "Subject: hi\r\nGET / HTTP/1.0\nCONNECT x\r\n.\r\n" } },
	  0, COMMIT | DONE, true, NODET },
	{ "PIPELINING keyword split across server segments", ALL, 0,
	  { GREET, EHLO_A, { 'S', "250-mx.example.test\r\n250-PIPE" },
	    { 'S', "LINING\r\n250 8BITMIME\r" }, { 'S', "\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" },
	    { 'S', "250 ok\r\n250 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	/* the keyword as a whole EHLO line (judged at once when the line
	 * ends in its segment, a byte at a time otherwise: test_cases and
	 * test_cases_bytewise run both) */
	{ "PIPELINING keyword in lower case, no CR, the last line", ALL, 0,
	  { GREET, EHLO_A, { 'S', "250-mx.example.test\r\n250 pipelining\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" },
	    { 'S', "250 ok\r\n250 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "PIPELINING keyword with blanks after it", ALL, 0,
	  { GREET, EHLO_A, { 'S', "250-mx.example.test\r\n250-PIPELINING  \r\n250 SIZE\r\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" },
	    { 'S', "250 ok\r\n250 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "PIPELININGX and PIPELINING with a parameter are not the keyword", ALL, 0,
	  { GREET, EHLO_A, { 'S', "250-mx.example.test\r\n250-PIPELININGX\r\n"
				 "250-PIPELINING yes\r\n250-PIPELININ\r\n250 SIZE\r\n" },
	    { 'C', "MAIL FROM:<a@client.example>\r\nRCPT TO:<u@example.test>\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "MAIL",
	  "RCPT TO:<u@example.test>\r\n", 0 },
	{ "RSET NOOP VRFY answered one at a time", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "RSET\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "NOOP\r\n" }, { 'S', "250 ok\r\n" }, { 'C', "VRFY u\r\n" },
	    { 'S', "252 maybe\r\n" }, { 'C', "QUIT\r\n" }, { 'S', "221 bye\r\n" } },
	  0, DONE, true, NODET },
	{ "NOOP pipelined with RSET is not legal", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "NOOP\r\nRSET\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "NOOP", "RSET\r\n", 0 },
	/* ---- non-SMTP command ---- */
	{ "GET after CONNECT (postscreen log)", ALL, NEED_SCAN,
	  { GREET, { 'C', "GET / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "GET / HTTP/1.0", 0 },
	{ "header label after CONNECT (postscreen log)", ALL, 0,
	  { GREET, { 'C', "Subject: buy now\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "Subject: buy now", 0 },
	{ "header label after EHLO", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "From:<x@y>\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "EHLO", "From:<x@y>", 0 },
	{ "lowercase CONNECT", ALL, NEED_SCAN,
	  { GREET, { 'C', "connect mx.example.test:25 HTTP/1.1\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT",
	  "connect mx.example.test:25 HTTP/1.1", 0 },
	{ "command word starting with a digit (Bogus regexp)", ALL, NEED_SCAN,
	  { GREET, EHLO_A, EHLO_R, { 'C', "123 hello\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "EHLO", "123 hello", 0 },
	{ "forbidden word split across segments", ALL, NEED_SCAN,
	  { GREET, { 'C', "GE" }, { 'C', "T / HTTP/1.0\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "CONNECT", "GET / HTTP/1.0", 0 },
	{ "header label split across segments", ALL, 0,
	  { GREET, { 'C', "Subj" }, { 'C', "ect: hi\r\n" } },
	  B(NON_SMTP), FAIL, false, NODET },
	{ "signature line", ALL, NEED_SCAN,
	  { GREET, EHLO_A, EHLO_R, { 'C', "MAIL FROM:<x@spam.example>\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "EHLO",
	  "MAIL FROM:<x@spam.example>", 0 },
	{ "non-SMTP not in todo", ALL & ~B(NON_SMTP), 0,
	  { GREET, { 'C', "GET / HTTP/1.0\r\n" }, { 'C', "Subject: x\r\n" } },
	  B(PIPELINING), FAIL, false, NODET },
	{ "lowercase known commands", ALL, 0,
	  { GREET, { 'C', "ehlo client.example\r\n" }, EHLO_R, { 'C', "mail from:<a@b.example>\r\n" },
	    { 'S', "250 ok\r\n" }, { 'C', "quit\r\n" } },
	  0, DONE, true, NODET },
	{ "empty line is not a command word", ALL, 0,
	  { GREET, { 'C', "\r\n" }, { 'S', "500 5.5.2 Error: bad syntax\r\n" }, EHLO_A, EHLO_R,
	    { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "leading space before a known command", ALL, 0,
	  { GREET, { 'C', "  EHLO client.example\r\n" }, EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "unknown but harmless command", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "XYZZY plugh\r\n" }, { 'S', "502 no\r\n" },
	    { 'C', "EXPN list\r\n" }, { 'S', "502 no\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "AUTH responses are not commands", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "AUTH LOGIN\r\n" }, { 'S', "334 VXNlcm5hbWU6\r\n" },
	    { 'C', "123:456\r\n" }, { 'S', "334 UGFzc3dvcmQ6\r\n" }, { 'C', "Subject: x\r\n" },
	    { 'S', "235 2.7.0 ok\r\n" }, { 'C', "MAIL FROM:<a@client.example>\r\n" },
	    { 'S', "250 ok\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	{ "AUTH cancelled, then commands again", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "AUTH LOGIN\r\n" }, { 'S', "334 VXNlcm5hbWU6\r\n" },
	    { 'C', "*\r\n" }, { 'S', "501 cancelled\r\n" }, { 'C', "Subject: x\r\n" } },
	  B(NON_SMTP), FAIL, false, SCR_TEST_NON_SMTP, "AUTH", "Subject: x", 0 },
	{ "response sent before the AUTH reply", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "AUTH PLAIN\r\ndXNlcgB1c2VyAHBhc3M=\r\n" } },
	  B(PIPELINING), FAIL, false, SCR_TEST_PIPELINING, "AUTH", "dXNlcgB1c2VyAHBhc3M=\r\n", 0 },
	/* ---- bare newline ---- */
	{ "bare newline after EHLO (postscreen log)", ALL, 0,
	  { GREET, { 'C', "EHLO bare.example\n" } },
	  B(BARE_NEWLINE), FAIL, false, SCR_TEST_BARE_NEWLINE, "EHLO bare.example",
	  "EHLO bare.example", 0 },
	{ "bare newline in its own segment", ALL, 0,
	  { GREET, { 'C', "EHLO client.example" }, { 'C', "\n" } },
	  B(BARE_NEWLINE), FAIL, false, NODET },
	{ "empty bare newline line", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "\n" } },
	  B(BARE_NEWLINE), FAIL, false, SCR_TEST_BARE_NEWLINE, "", "", 0 },
	{ "bare newline reported once", ALL, 0,
	  { GREET, { 'C', "EHLO a.example\n" }, EHLO_R, { 'C', "NOOP\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "QUIT\n" } },
	  B(BARE_NEWLINE), FAIL | DONE, false, NODET },
	{ "CR and LF in different segments", ALL, 0,
	  { GREET, { 'C', "EHLO client.example\r" }, { 'C', "\n" }, EHLO_R,
	    { 'C', "QUIT\r" }, { 'C', "\n" } },
	  0, DONE, true, NODET },
	{ "STARTTLS ciphertext with bare LFs", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "STARTTLS\r\n" }, { 'S', "220 2.0.0 go\r\n" },
	    { 'C', "\x16\x03\x01\n\n\0Subject: x\nGET /\n", 23 }, { 'S', "\x16\x03\x03\n", 4 } },
	  0, COMMIT | DONE, true, NODET },
	{ "STARTTLS refused, session goes on in plain text", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "STARTTLS\r\n" }, { 'S', "454 no TLS\r\n" },
	    { 'C', "QUIT\n" } },
	  B(BARE_NEWLINE), FAIL | COMMIT | DONE, false, NODET },
	{ "BDAT chunk with anything in it", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "MAIL FROM:<a@client.example>\r\n" },
	    { 'S', "250 ok\r\n" }, { 'C', "RCPT TO:<u@example.test>\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "BDAT 24 LAST\r\nGET / HTTP/1.0\nSubject:\0\n", 39 },
	    { 'C', "more\n\n" } },
	  0, COMMIT | DONE, true, NODET },
	/* ---- HELO ---- */
	{ "MAIL before HELO (helo_required)", ALL, HELO_REQ,
	  { GREET, { 'C', "MAIL FROM:<a@client.example>\r\n" } },
	  B(HELO), FAIL, false, SCR_TEST_HELO, "CONNECT", "MAIL FROM:<a@client.example>", 0 },
	{ "MAIL before HELO is fine without helo_required", ALL, 0,
	  { GREET, { 'C', "MAIL FROM:<a@client.example>\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "QUIT\r\n" } },
	  0, DONE, false, NODET },
	{ "invalid HELO name", ALL, 0,
	  { GREET, { 'C', "HELO -bad-.example\r\n" } },
	  B(HELO), FAIL, false, SCR_TEST_HELO, "CONNECT", "HELO -bad-.example", 0 },
	{ "non-FQDN HELO name after RSET", ALL, 0,
	  { GREET, { 'C', "RSET\r\n" }, { 'S', "250 ok\r\n" }, { 'C', "EHLO localhost\r\n" } },
	  B(HELO), FAIL, false, SCR_TEST_HELO, "RSET", "EHLO localhost", 0 },
	{ "HELO name split across segments", ALL, 0,
	  { GREET, { 'C', "EHLO clie" }, { 'C', "nt" }, { 'C', "\r\n" }, EHLO_R,
	    { 'C', "QUIT\r\n" } },
	  B(HELO), FAIL | DONE, false, NODET },
	{ "own name in HELO", ALL, NEED_SCAN,
	  { GREET, { 'C', "EHLO mx.example.test\r\n" } },
	  B(HELO), FAIL, false, SCR_TEST_HELO, "CONNECT", "EHLO mx.example.test", 0 },
	{ "EHLO without a name does not count as HELO", ALL, HELO_REQ,
	  { GREET, { 'C', "EHLO\r\n" }, { 'S', "501 Syntax\r\n" },
	    { 'C', "MAIL FROM:<a@b.example>\r\n" } },
	  B(HELO), FAIL, false, SCR_TEST_HELO, "EHLO", "MAIL FROM:<a@b.example>", 0 },
	{ "HELO test not in todo", ALL & ~B(HELO), HELO_REQ,
	  { GREET, { 'C', "EHLO localhost\r\n" }, EHLO_R, { 'C', "QUIT\r\n" } },
	  0, DONE, true, NODET },
	/* ---- stop, commit, pass ---- */
	{ "DATA accepted: commit then done", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "MAIL FROM:<a@client.example>\r\n" },
	    { 'S', "250 ok\r\n" }, { 'C', "RCPT TO:<u@example.test>\r\n" }, { 'S', "250 ok\r\n" },
	    { 'C', "DATA\r\n" }, { 'S', "354 End data with <CR><LF>.<CR><LF>\r\n" },
	    { 'C', "From: a\nSubject: b\n\nGET / HTTP/1.0\r\n.\r\n" } },
	  0, COMMIT | DONE, true, NODET },
	{ "DATA rejected: the session goes on", ALL, 0,
	  { GREET, EHLO_A, EHLO_R, { 'C', "MAIL FROM:<a@client.example>\r\n" },
	    { 'S', "250 ok\r\n" }, { 'C', "RCPT TO:<u@example.test>\r\n" },
	    { 'S', "550 no such user\r\n" }, { 'C', "DATA\r\n" }, { 'S', "554 no valid rcpt\r\n" },
	    { 'C', "QUIT\r\n" } },
	  0, COMMIT | DONE, true, NODET },
	{ "QUIT without HELO does not pass", ALL, 0,
	  { GREET, { 'C', "QUIT\r\n" }, { 'S', "221 bye\r\n" } },
	  0, DONE, false, NODET },
	{ "HELO rejected does not pass", ALL, 0,
	  { GREET, EHLO_A, { 'S', "550 go away\r\n" }, { 'C', "QUIT\r\n" } },
	  0, DONE, false, NODET },
	{ "session still open: not passed yet", ALL, 0,
	  { GREET, EHLO_A, EHLO_R },
	  0, 0, false, NODET },
};

/* --- runner ---------------------------------------------------------------- */

static struct scr_scan_db *db;
static struct scr_scan_thread *scan;
static struct scr_smtp_words words;	/* db's words and classes, as engines
					 * run with */

/* run_case - run one script; mode 0 as written, 1 byte by byte, 2 no scanner */

static void run_case(const struct smtp_case *c, int mode)
{
	struct scr_policy pol = {
		.enabled = SCR_TESTS_STREAM,
		.helo_required = (c->opts & HELO_REQ) != 0,
		.smtputf8 = (c->opts & UTF8) != 0,
		.command_count_limit = 20,
		.line_length_limit = 2048,
	};
	unsigned t;
	struct scr_smtp_env env = { .pol = &pol, .scan = mode == 2 ? NULL : scan,
				    .words = mode == 2 ? NULL : &words };
	struct scr_smtp s;
	unsigned result = 0;
	uint8_t seen = 0;
	size_t i;
	uint32_t pool_before = scan != NULL ? scr_scan_pool_free(scan) : 0;
	bool det_seen = false;

	for (t = 0; t < SCR_TEST_MAX && (c->opts & DROP_ALL); t++)
		pol.action[t] = SCR_ACT_DROP;
	scr_smtp_init(&s, c->todo);
	for (i = 0; i < NELEM(c->steps) && c->steps[i].dir; i++) {
		const struct step *st = &c->steps[i];
		uint32_t len = st->len ? st->len : (uint32_t)strlen(st->bytes);
		uint32_t off = 0;

		do {
			uint32_t n = mode == 1 && len > 0 ? 1 : len;
			unsigned r = scr_smtp_feed(&env, &s, st->dir == 'C',
						   (const uint8_t *)st->bytes + off, n);

			/* reported once: newly never repeats a bit */
			if (env.newly & seen)
				fail_msg("%s (mode %d): test %#x reported twice", c->label,
					 mode, env.newly & seen);
			seen |= env.newly;
			if (((r & FAIL) != 0) != (env.newly != 0))
				fail_msg("%s: R_FAIL %#x vs newly %#x", c->label, r, env.newly);
			if (mode == 0 && c->det_test >= 0
			    && (env.newly & SCR_TEST_BIT(c->det_test))) {
				const struct scr_smtp_detail *d = &env.det[c->det_test];

				det_seen = true;
				if (c->det_after && strcmp(d->after, c->det_after) != 0)
					fail_msg("%s: after \"%s\", want \"%s\"", c->label,
						 d->after, c->det_after);
				if (c->det_text && (d->text_len != (c->det_tlen ? c->det_tlen
								    : strlen(c->det_text))
					|| memcmp(d->text, c->det_text, d->text_len) != 0))
					fail_msg("%s: text \"%.*s\" (%u), want \"%s\"",
						 c->label, d->text_len, d->text,
						 d->text_len, c->det_text);
				if (c->det_count && d->count != c->det_count)
					fail_msg("%s: count %u, want %u", c->label,
						 d->count, c->det_count);
			}
			result |= r;
			off += n;
		} while (off < len);
	}
	if (scr_smtp_failed(&s) != c->failed || seen != c->failed)
		fail_msg("%s (mode %d): failed %#x (newly %#x), want %#x", c->label,
			 mode, scr_smtp_failed(&s), seen, c->failed);
	if (result != c->result)
		fail_msg("%s (mode %d): result %#x, want %#x", c->label, mode,
			 result, c->result);
	if (scr_smtp_passed(&s) != c->passed)
		fail_msg("%s (mode %d): passed %d, want %d", c->label, mode,
			 scr_smtp_passed(&s), c->passed);
	if (mode == 0 && c->det_test >= 0 && !det_seen)
		fail_msg("%s: no detail for test %d", c->label, c->det_test);
	scr_smtp_fini(&env, &s);
	scr_smtp_fini(&env, &s);	/* idempotent */
	if (scan != NULL)
		assert_int_equal(scr_scan_pool_free(scan), pool_before);
	assert_int_equal(env.scan_pool_empty, 0);
}

/* test_cases - every script as written */

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		run_case(&cases[i], 0);
}

/* test_cases_bytewise - every script with one-byte segments */

static void test_cases_bytewise(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		if (!(cases[i].opts & NO_SPLIT))
			run_case(&cases[i], 1);
}

/* test_cases_no_scanner - C checks alone give the same verdicts */

static void test_cases_no_scanner(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		if (!(cases[i].opts & NEED_SCAN))
			run_case(&cases[i], 2);
}

/* --- HELO names ------------------------------------------------------------ */

struct helo_case {
	const char *name;
	bool ok;
};

static const struct helo_case helo_cases[] = {
	/* bad first */
	{ "-lead.example", false },
	{ "trail-.example", false },
	{ "a..b.example", false },
	{ ".a.example", false },
	{ "a.example.", false },
	{ "ex@mple.example", false },
	{ "a\x01" "b.example", false },
	{ "localhost", false },
	{ "123", false },
	{ "1.2.3", false },
	{ "1.2.3.4.5", false },
	{ "300.1.1.1", false },
	{ "1.2.3.1234", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", false },
	{ "[1.2.3.256]", false },
	{ "[1.2.3]", false },
	{ "[1.2.3.4", false },
	{ "[1.2.3.4]x", false },
	{ "[1..2.3]", false },
	{ "[]", false },
	{ "[IPv6:2001:db8:::1]", false },
	{ "[IPv6:2001:db8::1::2]", false },
	{ "[IPv6:1:2:3:4:5:6:7]", false },
	{ "[IPv6:1:2:3:4:5:6:7:8:9]", false },
	{ "[IPv6:12345::1]", false },
	{ "[IPv6:1::2:]", false },
	{ "[IPv6::1::2]", false },
	{ "[IPv6:]", false },
	{ "[IPv7:1::2]", false },
	{ "[IPv6:::ffff:1.2.3.999]", false },
	{ "[IPv6:1:2:3:4:5:6:7:1.2.3.4]", false },
	{ "[host.example]", false },
	/* good */
	{ "client.example", true },
	{ "Mail-1.Client.Example", true },
	{ "under_score.example", true },
	{ "a.b", true },
	{ "1.2.3.4", true },
	{ "255.255.255.255", true },
	{ "123.example", true },
	{ "3com.example", true },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", true },
	{ "[198.18.0.1]", true },
	{ "[IPv6:2001:db8::1]", true },
	{ "[ipv6:2001:DB8::1]", true },
	{ "[IPv6:::]", true },
	{ "[IPv6:::1]", true },
	{ "[IPv6:1:2:3:4:5:6:7:8]", true },
	{ "[IPv6:::ffff:198.18.0.1]", true },
	{ "[IPv6:1:2:3:4:5:6:1.2.3.4]", true },
};

/* helo_run - "EHLO name\r\n" split at 'split' (0: whole); true if HELO failed */

static bool helo_run(const char *name, size_t split)
{
	char line[400];
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = NULL };
	struct scr_smtp s;
	size_t n = (size_t)snprintf(line, sizeof(line), "EHLO %s\r\n", name);

	scr_smtp_init(&s, B(HELO));
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
	if (split == 0 || split >= n) {
		scr_smtp_feed(&env, &s, true, (const uint8_t *)line, (uint32_t)n);
	} else {
		scr_smtp_feed(&env, &s, true, (const uint8_t *)line, (uint32_t)split);
		scr_smtp_feed(&env, &s, true, (const uint8_t *)line + split,
			      (uint32_t)(n - split));
	}
	scr_smtp_fini(&env, &s);
	return (scr_smtp_failed(&s) & B(HELO)) != 0;
}

/* test_helo_names - each name whole and split at every byte */

static void test_helo_names(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < NELEM(helo_cases); i++) {
		const struct helo_case *h = &helo_cases[i];
		size_t n = strlen(h->name) + 7;

		for (k = 0; k < n; k++)
			if (helo_run(h->name, k) == h->ok)
				fail_msg("HELO \"%s\" split %zu: %s", h->name, k,
					 h->ok ? "rejected" : "accepted");
	}
}

/* test_helo_too_long - 256 characters fail, 255 pass */

static void test_helo_too_long(void **state)
{
	char name[300];
	size_t i;

	(void)state;
	/* labels "aaa...a." of 50 chars: 5 labels = 255 with the final one */
	for (i = 0; i < 255; i++)
		name[i] = (i % 50 == 49) ? '.' : 'a';
	name[255] = '\0';
	assert_false(helo_run(name, 0));
	name[255] = 'b';
	name[256] = '\0';
	assert_true(helo_run(name, 0));
}

/* --- resources and flags --------------------------------------------------- */

/* test_pool_exhaustion - no stream: counted; a word that came in one
 * segment is still matched (scr_scan_word needs no stream), one split over
 * two is not (its first bytes were in the stream); C checks still work */

static void test_pool_exhaustion(void **state)
{
	struct scr_scan_thread *t0 = scr_scan_thread_create(db, 0);
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = t0 };
	struct scr_smtp s, a;
	unsigned r;

	(void)state;
	assert_non_null(t0);
	scr_smtp_init(&a, ALL);
	scr_smtp_feed(&env, &a, false, (const uint8_t *)"220 mx\r\n", 8);
	r = scr_smtp_feed(&env, &a, true, (const uint8_t *)"GET / HTTP/1.0\r\n", 16);
	assert_int_equal(r, FAIL);
	assert_int_equal(env.newly, B(NON_SMTP));
	assert_int_equal(env.scan_pool_empty, 1);
	scr_smtp_fini(&env, &a);
	scr_smtp_init(&s, ALL);
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
	r = scr_smtp_feed(&env, &s, true, (const uint8_t *)"GE", 2);
	r |= scr_smtp_feed(&env, &s, true, (const uint8_t *)"T / HTTP/1.0\r\n", 14);
	assert_int_equal(r, 0);		/* the split word needed the stream */
	assert_int_equal(env.scan_pool_empty, 2);
	r = scr_smtp_feed(&env, &s, true, (const uint8_t *)"Subject: x\n", 11);
	assert_int_equal(r, FAIL);
	assert_int_equal(env.newly, B(NON_SMTP) | B(BARE_NEWLINE) | B(PIPELINING));
	assert_int_equal(env.scan_pool_empty, 3);
	scr_smtp_fini(&env, &s);
	scr_scan_thread_destroy(t0);
}

/* test_stream_held_only_mid_line - a pool stream is held only while a
 * client line is split across segments */

static void test_stream_held_only_mid_line(void **state)
{
	struct scr_scan_thread *t1 = scr_scan_thread_create(db, 1);
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = t1 };
	struct scr_smtp a, b;

	(void)state;
	assert_non_null(t1);
	scr_smtp_init(&a, ALL);
	scr_smtp_init(&b, ALL);
	scr_smtp_feed(&env, &a, false, (const uint8_t *)"220 mx\r\n", 8);
	scr_smtp_feed(&env, &b, false, (const uint8_t *)"220 mx\r\n", 8);
	scr_smtp_feed(&env, &a, true, (const uint8_t *)"EHLO a.example\r\n", 16);
	assert_int_equal(scr_scan_pool_free(t1), 1);
	scr_smtp_feed(&env, &a, true, (const uint8_t *)"EHLO mx.exa", 11);
	assert_int_equal(scr_scan_pool_free(t1), 0);	/* a holds it */
	scr_smtp_feed(&env, &b, true, (const uint8_t *)"GET / HTTP/1.0\r\n", 16);
	assert_int_equal(env.scan_pool_empty, 1);	/* b could not scan */
	scr_smtp_feed(&env, &a, true, (const uint8_t *)"mple.test\r\n", 11);
	assert_true(scr_smtp_failed(&a) & B(HELO));	/* own name across feeds */
	assert_int_equal(scr_scan_pool_free(t1), 1);
	scr_smtp_feed(&env, &a, true, (const uint8_t *)"QUI", 3);
	assert_int_equal(scr_scan_pool_free(t1), 0);
	scr_smtp_fini(&env, &a);			/* fini returns it */
	assert_int_equal(scr_scan_pool_free(t1), 1);
	scr_smtp_fini(&env, &b);
	scr_scan_thread_destroy(t1);
}

/* test_fini_mid_line - dropping the stream mid-line (reload) never makes a
 * later chunk look like a line start */

static void test_fini_mid_line(void **state)
{
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = scan };
	struct scr_smtp s;
	uint32_t pool = scr_scan_pool_free(scan);

	(void)state;
	scr_smtp_init(&s, ALL);
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)"XYZZY", 5), 0);
	assert_int_equal(scr_scan_pool_free(scan), pool - 1);
	scr_smtp_fini(&env, &s);
	assert_int_equal(scr_scan_pool_free(scan), pool);
	/* " 123" would match /^[^A-Z]/ in a fresh stream */
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)" 123\r\n", 6), 0);
	assert_int_equal(scr_scan_pool_free(scan), pool);
	assert_int_equal(scr_smtp_feed(&env, &s, false, (const uint8_t *)"502 no\r\n", 8), 0);
	/* the next line is scanned again */
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)"GET / HTTP/1.0\r\n",
				       16), FAIL);
	assert_int_equal(env.newly, B(NON_SMTP));
	scr_smtp_fini(&env, &s);
	assert_int_equal(scr_scan_pool_free(scan), pool);
}

/* test_random_sessions - random scripts and segmentation: invariants hold */

static void test_random_sessions(void **state)
{
	static const char *const tok[] = {
		"EHLO a.example\r\n", "HELO x\r\n", "MAIL FROM:<a@b.example>\r\n",
		"RCPT TO:<c@d.example>\r\n", "DATA\r\n", "BDAT 3 LAST\r\n", "STARTTLS\r\n",
		"AUTH PLAIN\r\n", "QUIT\r\n", "GET / HTTP/1.0\r\n", "Subject: x\r\n", "\r",
		"\n", " ", "\0", "\xff", "220 mx\r\n", "220-mx\r\n", "250-PIPELINING\r\n",
		"250 ok\r\n", "334 x\r\n", "354 go\r\n", "421 bye\r\n", "25", "0 ",
		"EHLO mx.example.test\r\n", "[IPv6:::1]", "a.b",
	};
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM, .helo_required = true,
				  .command_count_limit = 3, .line_length_limit = 16 };
	struct scr_smtp_env env = { .pol = &pol, .scan = scan };
	uint32_t pool = scr_scan_pool_free(scan);
	unsigned seed = 12345;
	int n;

	(void)state;
	for (n = 0; n < 3000; n++) {
		struct scr_smtp s;
		uint8_t buf[256];
		uint8_t failed = 0;
		bool done = false;
		int k;

		scr_smtp_init(&s, (uint8_t)(n & ALL));
		for (k = 0; k < 24; k++) {
			size_t len = 0, m = 1 + (seed >> 7) % 4, j;
			bool cli;
			unsigned r;

			seed = seed * 1103515245u + 12345u;
			cli = (seed >> 16) & 1;
			for (j = 0; j < m; j++) {
				const char *t;
				size_t tl;

				seed = seed * 1103515245u + 12345u;
				t = tok[(seed >> 8) % NELEM(tok)];
				tl = t[0] ? strlen(t) : 1;	/* "\0" is one byte */
				memcpy(buf + len, t, tl);
				len += tl;
			}
			r = scr_smtp_feed(&env, &s, cli, buf, (uint32_t)len);
			if (env.newly & failed)
				fail_msg("run %d: test reported twice", n);
			if (env.newly & ~(n & ALL))
				fail_msg("run %d: test not in todo failed", n);
			failed |= env.newly;
			assert_int_equal(scr_smtp_failed(&s), failed);
			if (done)
				assert_int_equal(r & ~NOTSMTP, DONE);
			done = (r & DONE) != 0;
			if (scr_smtp_passed(&s))
				assert_int_equal(scr_smtp_failed(&s), 0);
		}
		scr_smtp_fini(&env, &s);
		assert_int_equal(scr_scan_pool_free(scan), pool);
	}
}

/* test_words_vs_hyperscan - Debian's postscreen_forbidden_commands as ctrl
 * writes them, matched by scr_smtp itself (the database then scans nothing)
 * and by Hyperscan: the same failures on random command lines, whole and
 * cut at a random byte; and by scr_smtp with the database of
 * scr_scan_create_needed, which has no Hyperscan part for this set (what the
 * engine runs with) */
static void test_words_vs_hyperscan(void **state)
{
	static const struct scr_scan_pattern deb[] = {
		{ "forbidden_CONNECT", "^CONNECT$", 1, SCR_PAT_COMMAND,
		  SCR_TEST_NON_SMTP, "main.cf:1" },
		{ "forbidden_GET", "^GET$", 1, SCR_PAT_COMMAND,
		  SCR_TEST_NON_SMTP, "main.cf:1" },
		{ "forbidden_POST", "^POST$", 1, SCR_PAT_COMMAND,
		  SCR_TEST_NON_SMTP, "main.cf:1" },
		{ "forbidden_x", "^X\\-TRA\\x21$", 1, SCR_PAT_COMMAND,
		  SCR_TEST_NON_SMTP, "main.cf:1" },
		{ "Bogus", "^[^A-Z]", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "main.cf:1" },
		{ "helo_own_mx", "^(?:HELO|EHLO) [ \\t]*mx\\.example\\.test[ \\t]*\\r?\\n",
		  1, SCR_PAT_LINE, SCR_TEST_HELO, "main.cf:2" },
		{ "helo_own_lit", "^(?:HELO|EHLO) [ \\t]*\\[192\\.0\\.2\\.1\\][ \\t]*\\r?\\n",
		  1, SCR_PAT_LINE, SCR_TEST_HELO, "main.cf:2" },
	};
	static const char *const frag[] = {
		"GET", "get", "GeT", "POST", "CONNECT", "connect", "CONNECTX", "GE", "POS",
		"X-TRA!", "x-tra!", "X-TRA", "1", "!", "[", "a", "z", " ", "\t", "\r", ":",
		"\xff", "\x80", "MAIL", "QUIT", "Subject:", "/", "EHLO", "@", "_", "{",
		"HELO ", "EHLO\t", "helo  ", "ehlo \r", "mx.example.test", "MX.Example.TEST",
		"mx.example.tes", "mx.example.testx", "[192.0.2.1]", "\t", " \r",
	};
	/* every other line: verb, blanks, name, what follows the name */
	static const char *const helo[4][8] = {
		{ "HELO", "EHLO", "helo", "EHLO ", " HELO", "GET", "X", "HELO\t" },
		{ " ", "\t", "  ", " \r", "\r", "", "\t ", " " },
		{ "mx.example.test", "MX.EXAMPLE.test", "mx.example.tes", "mx.example.testx",
		  "[192.0.2.1]", "a.b", "", "mx.example.test" },
		{ "", " ", "\t ", " \r", "\r", "\r ", " x", "\r\r" },
	};
	const uint8_t todo = SCR_TEST_BIT(SCR_TEST_NON_SMTP) | SCR_TEST_BIT(SCR_TEST_HELO);
	struct scr_policy pol = { .enabled = todo };
	struct scr_smtp_words w;
	struct scr_smtp_env env_c = { .pol = &pol, .words = &w };
	struct scr_smtp_env env_hs = { .pol = &pol };
	struct scr_smtp_words wl;
	struct scr_smtp_env env_l = { .pol = &pol, .words = &wl };
	char err[256];
	struct scr_scan_db *d = scr_scan_create(deb, NELEM(deb), err, sizeof(err));
	struct scr_scan_db *dl = scr_scan_create_needed(deb, NELEM(deb), err, sizeof(err));
	struct scr_scan_thread *t, *tl;
	unsigned seed = 777, n, flagged = 0, own = 0;

	(void)state;
	assert_non_null(d);
	assert_non_null(dl);
	t = scr_scan_thread_create(d, 4);
	assert_non_null(t);
	assert_false(scr_scan_has_patterns(t));	/* nothing for Hyperscan */
	assert_true(scr_scan_any_patterns(t));
	assert_int_equal(scr_scan_words(d)->n, 4);
	assert_int_equal(scr_scan_words(d)->nnames, 2);
	scr_smtp_words_build(&w, scr_scan_words(d));
	/* no Hyperscan database, no scratch, no pool */
	assert_int_equal(scr_scan_stream_size(dl), 0);
	tl = scr_scan_thread_create(dl, 4);
	assert_non_null(tl);
	assert_false(scr_scan_has_patterns(tl));
	assert_false(scr_scan_any_patterns(tl));
	assert_int_equal(scr_scan_pool_free(tl), 0);
	assert_int_equal(scr_scan_pool_bytes(tl), 0);
	assert_int_equal(scr_scan_pattern_count(dl), NELEM(deb));
	scr_smtp_words_build(&wl, scr_scan_words(dl));
	env_c.scan = t;
	env_hs.scan = t;
	env_l.scan = tl;
	for (n = 0; n < 40000; n++) {
		struct scr_smtp_env *env[3] = { &env_c, &env_hs, &env_l };
		uint8_t line[96], failed[3];
		uint32_t len = 0, cut;
		unsigned k, m;

		seed = seed * 1103515245u + 12345u;
		m = (n & 1) ? 1 + (seed >> 8) % 4 : 4;
		for (k = 0; k < m; k++) {
			const char *f;

			seed = seed * 1103515245u + 12345u;
			f = (n & 1) ? frag[(seed >> 8) % NELEM(frag)]
				    : helo[k][(seed >> 8) % NELEM(helo[k])];
			if (f == NULL)
				break;
			memcpy(line + len, f, strlen(f));
			len += (uint32_t)strlen(f);
		}
		seed = seed * 1103515245u + 12345u;
		memcpy(line + len, (seed >> 9) & 1 ? "\r\n" : "\n", (seed >> 9) & 1 ? 2 : 1);
		len += (seed >> 9) & 1 ? 2 : 1;
		cut = (seed >> 12) % (len + 1);
		for (k = 0; k < 3; k++) {
			struct scr_smtp s;

			scr_smtp_init(&s, todo);
			scr_smtp_feed(env[k], &s, false, (const uint8_t *)"220 mx\r\n", 8);
			scr_smtp_feed(env[k], &s, true, line, cut);
			scr_smtp_feed(env[k], &s, true, line + cut, len - cut);
			failed[k] = scr_smtp_failed(&s);
			scr_smtp_fini(env[k], &s);
		}
		if (failed[0] != failed[1] || failed[2] != failed[1])
			fail_msg("\"%.*s\" cut at %u: C words %#x, Hyperscan %#x, "
				 "without Hyperscan %#x", (int)len, line, cut,
				 failed[0], failed[1], failed[2]);
		flagged += failed[0] != 0;
		own += (failed[0] & SCR_TEST_BIT(SCR_TEST_HELO)) != 0;
	}
	/* both kinds of line came up, own names too */
	assert_true(flagged > 1000 && flagged < 39000);
	assert_true(own > 50);
	scr_scan_thread_destroy(t);
	scr_scan_destroy(d);
	scr_scan_thread_destroy(tl);
	scr_scan_destroy(dl);
}

/* utf8_ref - RFC 3629 on p[0..n), decoding each code point (written
 * apart from scr_smtp's state table, to check it) */
static bool utf8_ref(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		unsigned len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			: (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
		static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

		if (len == 0 || i + len > n)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* test_utf8_like_postfix - random command words of boundary bytes: the
 * non-SMTP test fails exactly those that are not UTF-8 */
static void test_utf8_like_postfix(void **state)
{
	static const uint8_t b[] = {
		'A', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
		0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
	};
	struct scr_policy pol = { .enabled = SCR_TEST_BIT(SCR_TEST_NON_SMTP), .smtputf8 = true };
	struct scr_smtp_env env = { .pol = &pol };
	unsigned seed = 3629, n, bad = 0;

	(void)state;
	for (n = 0; n < 50000; n++) {
		uint8_t line[16] = "X";
		uint32_t len = 1, cut, k, m;
		struct scr_smtp s;
		bool want;

		seed = seed * 1103515245u + 12345u;
		m = 1 + (seed >> 8) % 5;
		for (k = 0; k < m; k++) {
			seed = seed * 1103515245u + 12345u;
			line[len++] = b[(seed >> 8) % sizeof(b)];
		}
		want = !utf8_ref(line, len);
		memcpy(line + len, "\r\n", 2);
		len += 2;
		seed = seed * 1103515245u + 12345u;
		cut = (seed >> 12) % (len + 1);
		scr_smtp_init(&s, SCR_TEST_BIT(SCR_TEST_NON_SMTP));
		scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
		scr_smtp_feed(&env, &s, true, line, cut);
		scr_smtp_feed(&env, &s, true, line + cut, len - cut);
		if ((scr_smtp_failed(&s) != 0) != want) {
			char hex[64];
			size_t o = 0;

			for (k = 0; k + 2 < len; k++)
				o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%02x", line[k]);
			fail_msg("word %s cut at %u: failed %#x, Postfix %s", hex, cut,
				 scr_smtp_failed(&s), want ? "fails it" : "does not");
		}
		bad += want;
		scr_smtp_fini(&env, &s);
	}
	/* both kinds came up */
	print_message("%u of %u words not UTF-8\n", bad, n);
	assert_true(bad > 5000 && n - bad > 1000);
}

/* test_scan_words - which patterns scr_smtp matches itself */
static void test_scan_words(void **state)
{
	static const struct {
		const char *re;
		unsigned caseless;
		int word;	/* 1: a word, 2: a class, 0: Hyperscan's */
	} c[] = {
		{ "^GET$", 1, 1 },
		{ "^GET$", 0, 0 },	/* case matters: Hyperscan */
		{ "^G.T$", 1, 0 },
		{ "^(GET|POST)$", 1, 0 },
		{ "^GET\\s$", 1, 0 },
		{ "^GET\\x20$", 1, 0 },	/* a blank ends a word */
		{ "^ABCDEFGHIJKLMNOPQ$", 1, 0 },	/* 17 bytes */
		{ "^GET[ \\t\\r\\n]", 1, 0 },	/* the spelling before 2026-12-07 */
		{ "^[^A-Z]", 1, 2 },
		{ "^[[:digit:]]", 1, 2 },
		{ "^[]x]", 1, 2 },
		{ "^[a-z]x", 1, 0 },
		{ "^[a-z]|^GET", 1, 0 },
		{ "[^A-Z]", 1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(c); i++) {
		struct scr_scan_pattern p = { "p", c[i].re, c[i].caseless, SCR_PAT_COMMAND,
					      SCR_TEST_NON_SMTP, "t:1" };
		char err[256];
		struct scr_scan_db *d = scr_scan_create(&p, 1, err, sizeof(err));
		struct scr_scan_thread *t;
		const struct scr_scan_words *w;
		bool any_first = false;

		if (d == NULL)
			fail_msg("/%s/: %s", c[i].re, err);
		t = scr_scan_thread_create(d, 1);
		assert_non_null(t);
		w = scr_scan_words(d);
		for (unsigned k = 0; k < 4; k++)
			any_first |= w->first[k] != 0;
		if (scr_scan_has_patterns(t) != (c[i].word == 0) ||
		    (w->n == 1) != (c[i].word == 1) || any_first != (c[i].word == 2))
			fail_msg("/%s/ caseless %u: words %u, class %d, Hyperscan %d",
				 c[i].re, c[i].caseless, w->n, any_first,
				 scr_scan_has_patterns(t));
		scr_scan_thread_destroy(t);
		scr_scan_destroy(d);
	}
}

/* test_done_is_cheap_and_sticky - after DONE nothing changes */

static void test_done_is_cheap_and_sticky(void **state)
{
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = scan };
	struct scr_smtp s;
	int i;

	(void)state;
	scr_smtp_init(&s, ALL);
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
	scr_smtp_feed(&env, &s, true, (const uint8_t *)"EHLO a.example\r\n", 16);
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"250 mx\r\n", 8);
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)"QUIT\r\n", 6), DONE);
	for (i = 0; i < 3; i++) {
		assert_int_equal(scr_smtp_feed(&env, &s, true,
					       (const uint8_t *)"GET /\n", 6), DONE);
		assert_int_equal(scr_smtp_feed(&env, &s, false,
					       (const uint8_t *)"\x01\x02", 2), DONE);
	}
	assert_true(scr_smtp_passed(&s));
	assert_int_equal(scr_smtp_failed(&s), 0);
	scr_smtp_fini(&env, &s);
}

/* test_escape_after - BARE NEWLINE "after" is escaped and truncated */

static void test_escape_after(void **state)
{
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = NULL };
	struct scr_smtp s;
	static const char line[] = "EHLO \tx\x01yz.example.example.example.example\n";

	(void)state;
	scr_smtp_init(&s, B(BARE_NEWLINE));
	scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)line,
				       sizeof(line) - 1), FAIL);
	assert_string_equal(env.det[SCR_TEST_BARE_NEWLINE].after,
			    "EHLO \\tx\\001yz.example.example.");
	assert_int_equal(env.det[SCR_TEST_BARE_NEWLINE].text_len, sizeof(line) - 2);
	scr_smtp_fini(&env, &s);
}

/* test_text_truncated - detail text is at most 100 bytes */

static void test_text_truncated(void **state)
{
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = NULL };
	struct scr_smtp s;

	(void)state;
	scr_smtp_init(&s, ALL);
	assert_int_equal(scr_smtp_feed(&env, &s, true, (const uint8_t *)huge_junk,
				       (uint32_t)strlen(huge_junk)), FAIL);
	assert_int_equal(env.det[SCR_TEST_PREGREET].count, strlen(huge_junk));
	assert_int_equal(env.det[SCR_TEST_PREGREET].text_len, SCR_EV_TEXT_MAX);
	scr_smtp_fini(&env, &s);
}

/* test_text_bytewise - a line typed one byte per segment (a telnet user)
 * is logged whole: its detail text came out empty or as its last byte,
 * the part of the line in the feed that ended it */

static void test_text_bytewise(void **state)
{
	static const struct {
		const char *line;
		enum scr_test t;
		const char *text;
	} c[] = {
		{ "HELO -bad-.example\r\n", SCR_TEST_HELO, "HELO -bad-.example" },
		{ "EHLO client.example\n", SCR_TEST_BARE_NEWLINE, "EHLO client.example" },
	};
	struct scr_policy pol = { .enabled = SCR_TESTS_STREAM };
	struct scr_smtp_env env = { .pol = &pol, .scan = scan };
	struct scr_smtp s;
	size_t i, k;

	(void)state;
	for (i = 0; i < NELEM(c); i++) {
		bool seen = false;

		scr_smtp_init(&s, ALL);
		scr_smtp_feed(&env, &s, false, (const uint8_t *)"220 mx\r\n", 8);
		for (k = 0; c[i].line[k]; k++) {
			scr_smtp_feed(&env, &s, true, (const uint8_t *)c[i].line + k, 1);
			if (!(env.newly & SCR_TEST_BIT(c[i].t)))
				continue;
			seen = true;
			if (env.det[c[i].t].text_len != strlen(c[i].text) ||
			    memcmp(env.det[c[i].t].text, c[i].text,
				   env.det[c[i].t].text_len) != 0)
				fail_msg("%s: text \"%.*s\", want \"%s\"", c[i].text,
					 env.det[c[i].t].text_len, env.det[c[i].t].text,
					 c[i].text);
		}
		if (!seen)
			fail_msg("%s: test %d did not fail", c[i].text, (int)c[i].t);
		scr_smtp_fini(&env, &s);
	}
}

/* test_state_size - the flow budget */

static void test_state_size(void **state)
{
	(void)state;
	print_message("struct scr_smtp: %zu bytes; stream state %zu bytes\n",
		      sizeof(struct scr_smtp), scr_scan_stream_size(db));
	assert_true(sizeof(struct scr_smtp) <= 40);
}

/* setup - scanner database and thread shared by the tests */

static int setup(void **state)
{
	char err[512];
	size_t i;

	(void)state;
	memcpy(huge_helo, "EHLO ", 5);
	for (i = 5; i < sizeof(huge_helo) - 3; i++)
		huge_helo[i] = 'a';
	memcpy(huge_helo + sizeof(huge_helo) - 3, "\r\n", 3);
	memset(long_line, 'x', sizeof(long_line) - 1);
	memcpy(long_line, "NOOP ", 5);
	memcpy(long_line + sizeof(long_line) - 3, "\r\n", 3);
	for (i = 0; i < sizeof(huge_junk) - 1; i++)
		huge_junk[i] = (char)('A' + i % 26);
	huge_junk[sizeof(huge_junk) - 1] = '\0';
	db = scr_scan_create(pats, NELEM(pats), err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "scr_scan_create: %s\n", err);
		return -1;
	}
	scr_smtp_words_build(&words, scr_scan_words(db));
	scan = scr_scan_thread_create(db, 4);
	return scan != NULL ? 0 : -1;
}

/* teardown - free the scanner */

static int teardown(void **state)
{
	(void)state;
	scr_scan_thread_destroy(scan);
	scr_scan_destroy(db);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cases_bytewise),
		cmocka_unit_test(test_cases_no_scanner),
		cmocka_unit_test(test_helo_names),
		cmocka_unit_test(test_helo_too_long),
		cmocka_unit_test(test_pool_exhaustion),
		cmocka_unit_test(test_stream_held_only_mid_line),
		cmocka_unit_test(test_fini_mid_line),
		cmocka_unit_test(test_random_sessions),
		cmocka_unit_test(test_words_vs_hyperscan),
		cmocka_unit_test(test_scan_words),
		cmocka_unit_test(test_utf8_like_postfix),
		cmocka_unit_test(test_done_is_cheap_and_sticky),
		cmocka_unit_test(test_escape_after),
		cmocka_unit_test(test_text_truncated),
		cmocka_unit_test(test_text_bytewise),
		cmocka_unit_test(test_state_size),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
