/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scr_smug_test - the smuggling guard on whole sessions: each end-of-data
 * sequence, bare LF in a body (not flagged), the legitimate end, BDAT
 * chunks, DATA refused, STARTTLS; every case again with the client's
 * content split at each byte, and fed one byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scr_smug.h"

#define SEQ	SCR_SMUG_R_SEQ
#define STRONG	SCR_SMUG_R_STRONG
#define WEAK	SCR_SMUG_R_WEAK
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct step {
	char dir;		/* 'C' client, 'S' server */
	const char *bytes;
};

struct gcase {
	const char *label;
	struct step s[10];
	unsigned want;		/* union of the feeds' results */
	const char *text;	/* client bytes from the reported offset, or NULL */
};

#define HELLO {'S', "220 mx.example.test ESMTP\r\n"}, {'C', "EHLO relay.example\r\n"}, \
	{'S', "250-mx.example.test\r\n250 CHUNKING\r\n"}, \
	{'C', "MAIL FROM:<a@example.org>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n"}, \
	{'S', "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n"}

static const struct gcase cases[] = {
	/* bad input first: nothing to find */
	{"empty session", {{'S', "220 mx\r\n"}}, 0, NULL},
	{"body before any DATA is commands", {{'S', "220 mx\r\n"}, {'C', "x\n.\nMAIL FROM:<a@b>\r\n"}}, 0, NULL},
	{"legitimate end of data", {HELLO, {'C', "Subject: x\r\n\r\nhello\r\n.\r\n"}}, 0, NULL},
	{"bare LF lines in a body are not the test",
	 {HELLO, {'C', "Subject: x\n\nline one\nline two\n\nend\r\n.\r\n"}}, 0, NULL},
	{"dot-stuffed line after bare LF", {HELLO, {'C', "a\n..\nb\r\n.\r\n"}}, 0, NULL},
	{"dot inside a line", {HELLO, {'C', "a.\nb .\r\nc\r\n.\r\n"}}, 0, NULL},
	{"LF.LF then a smuggled MAIL FROM",
	 {HELLO, {'C', "hi\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n\r\n.\r\n"}},
	 SEQ | STRONG, "\n.\nMAIL FROM:<admin@example.test>"},
	{"LF.CRLF then RCPT TO", {HELLO, {'C', "hi\n.\r\nrcpt to:<x@y>\r\n.\r\n"}}, SEQ | STRONG, "\n.\r\nrcpt to:"},
	{"CR.CRLF", {HELLO, {'C', "hi\r.\r\nhello\r\n.\r\n"}}, SEQ | WEAK, "\r.\r\nhello"},
	{"CRLF.LF then DATA", {HELLO, {'C', "hi\r\n.\nDATA\r\n"}}, SEQ | STRONG, "\r\n.\nDATA"},
	{"CR.LF", {HELLO, {'C', "hi\r.\nxyz\r\n.\r\n"}}, SEQ | WEAK, "\r.\nxyz"},
	{"CRLF.CR then not LF", {HELLO, {'C', "hi\r\n.\rMAIL FROM:<a@b>\r\n.\r\n"}}, SEQ | STRONG, "\r\n.\rMAIL"},
	{"LF.CR then not LF", {HELLO, {'C', "hi\n.\rq\r\n.\r\n"}}, SEQ | WEAK, "\n.\rq"},
	{"sequence as the very first content", {HELLO, {'C', ".\nMAIL FROM:<a@b>\r\n"}}, SEQ | STRONG, ".\nMAIL FROM"},
	{"message ends right after a sequence", {HELLO, {'C', "hi\n.\n\r\n.\r\n"}}, SEQ | WEAK, "\n.\n"},
	{"commands after the real end are not content",
	 {HELLO, {'C', "hi\r\n.\r\nMAIL FROM:<b@example.org>\r\n"}, {'S', "250 queued\r\n"}}, 0, NULL},
	{"second message: the guard follows it",
	 {HELLO, {'C', "one\r\n.\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@y>\r\nDATA\r\n"},
	  {'S', "250 q\r\n250 ok\r\n250 ok\r\n354 go\r\n"}, {'C', "two\n.\nRCPT TO:<z@y>\r\n"}},
	 SEQ | STRONG, "\n.\nRCPT TO:"},
	{"DATA refused: what follows is commands",
	 {{'S', "220 mx\r\n"}, {'C', "DATA\r\n"}, {'S', "554 5.5.1 Error: no valid recipients\r\n"},
	  {'C', "x\n.\nMAIL FROM:<a@b>\r\n"}}, 0, NULL},
	{"STARTTLS accepted: TLS bytes are not looked at",
	 {{'S', "220 mx\r\n"}, {'C', "STARTTLS\r\n"}, {'S', "220 2.0.0 Ready\r\n"},
	  {'C', "\x16\x03\x01x\n.\nMAIL FROM:<a@b>\r\n"}}, 0, NULL},
	{"BDAT chunk with LF.LF", {HELLO, {'C', "BDAT 20 LAST\r\nab\n.\nMAIL FROM:<a>"}}, SEQ | STRONG, "\n.\nMAIL FROM:"},
	{"BDAT: a sequence without commands after it is binary content",
	 {{'S', "220 mx\r\n"}, {'C', "BDAT 12 LAST\r\n\x01\n.\n\x02\x03\r.\r\n\xff"}}, 0, NULL},
	{"BDAT: CRLF.CRLF is content, not an end",
	 {{'S', "220 mx\r\n"}, {'C', "BDAT 7\r\na\r\n.\r\n"}, {'S', "250 ok\r\n"}, {'C', "BDAT 5 LAST\r\nb\r\nc\n"}}, 0, NULL},
	{"BDAT: bytes after the chunk are commands again",
	 {{'S', "220 mx\r\n"}, {'C', "BDAT 3 LAST\r\nabcx\n.\nMAIL FROM:<a>\r\n"}}, 0, NULL},
	{"BDAT: a sequence across two chunks",
	 {{'S', "220 mx\r\n"}, {'C', "BDAT 3\r\nab\n"}, {'S', "250 ok\r\n"}, {'C', "bdat 8 last\r\n.\nDATA\r\n"}},
	 SEQ | STRONG, ".\nDATA"},
	/* a lenient server answers any line after the sequence (an error for
	 * junk, 250 for RSET) and takes the commands that come after it */
	{"a junk line, then the smuggled MAIL FROM",
	 {HELLO, {'C', "hi\n.\nXXXX\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n\r\n.\r\n"}},
	 SEQ | WEAK | STRONG, "\n.\nXXXX"},
	{"RSET and NOOP, then rcpt to", {HELLO, {'C', "hi\n.\r\nrset\r\nNOOP\nrcpt to:<x@y>\r\n.\r\n"}},
	 SEQ | WEAK | STRONG, "\n.\r\nrset"},
	{"an empty line (CRLF), then MAIL FROM", {HELLO, {'C', "hi\n.\n\r\nMAIL FROM:<a@b>\r\n"}},
	 SEQ | WEAK | STRONG, "\n.\n\r\nMAIL"},
	{"an empty line (bare LF), then DATA", {HELLO, {'C', "hi\r.\r\n\nDATA\r\n"}},
	 SEQ | WEAK | STRONG, "\r.\r\n\nDATA"},
	{"text after a sequence up to the real end, commands after it",
	 {HELLO, {'C', "hi\n.\nmore text\r\na MAIL FROM: in a sentence\r\nand more\r\n.\r\nMAIL FROM:<b@x>\r\n"}},
	 SEQ | WEAK, "\n.\nmore"},
	{"a dot-stuffed line after a sequence is not the end",
	 {HELLO, {'C', "hi\n.\nx\r\n..\r\nRCPT TO:<u@v>\r\n"}}, SEQ | WEAK | STRONG, "\n.\nx"},
	{"BDAT: only the line right after the sequence",
	 {{'S', "220 mx\r\n"}, {'C', "BDAT 31 LAST\r\nab\n.\nxx\r\nMAIL FROM:<a@b>\r\n"}}, 0, NULL},
	{"pipelined body before 354", {{'S', "220 mx\r\n"}, {'C', "DATA\r\nhi\n.\nMAIL FROM:<a>\r\n"}, {'S', "354 go\r\n"}},
	 SEQ | STRONG, "\n.\nMAIL FROM:"},
};

/* last_client - index of the case's last client step */
static size_t last_client(const struct gcase *c)
{
	size_t k, last = 0;

	for (k = 0; k < NELEM(c->s) && c->s[k].dir; k++)
		if (c->s[k].dir == 'C')
			last = k;
	return last;
}

/* run - one case; split > 0: the last client step is fed in two parts cut
 * there; bytewise: every client step one byte at a time. text gets the
 * client bytes from the first reported offset (whole feeds only). */
static unsigned run(const struct gcase *c, uint32_t split, bool bytewise,
		    char *text, size_t text_len)
{
	struct scr_smug g;
	unsigned r = 0;
	size_t k, lc = last_client(c);

	scr_smug_init(&g);
	text[0] = '\0';
	for (k = 0; k < NELEM(c->s) && c->s[k].dir; k++) {
		const uint8_t *p = (const uint8_t *)c->s[k].bytes;
		uint32_t len = (uint32_t)strlen(c->s[k].bytes), at = 0;
		bool cli = c->s[k].dir == 'C';

		while (at < len) {
			uint32_t n = len - at;
			struct scr_smug_detail d = {0};
			unsigned got;

			if (cli && bytewise)
				n = 1;
			else if (cli && k == lc && split > 0 && at < split)
				n = split - at;
			got = scr_smug_feed(&g, cli, p + at, n, &d);
			if ((got & (SEQ | STRONG)) && !(r & SEQ) && n == len) {
				size_t m = len - d.off;

				if (m >= text_len)
					m = text_len - 1;
				memcpy(text, p + d.off, m);
				text[m] = '\0';
			}
			r |= got;
			at += n;
		}
	}
	return r;
}

/* test_cases - whole feeds: results and the reported offset */
static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		char text[128];
		unsigned r = run(&cases[i], 0, false, text, sizeof(text));

		if (r != cases[i].want)
			fail_msg("%s: results %#x, want %#x", cases[i].label, r, cases[i].want);
		if (cases[i].text != NULL &&
		    strncmp(text, cases[i].text, strlen(cases[i].text)) != 0)
			fail_msg("%s: detail starts \"%s\"", cases[i].label, text);
	}
}

/* test_splits - the last client step cut at every byte, and byte by byte */
static void test_splits(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		size_t lc = last_client(&cases[i]);
		char text[128];
		uint32_t s;
		unsigned r;

		for (s = 1; cases[i].s[lc].dir == 'C' &&
			    s < (uint32_t)strlen(cases[i].s[lc].bytes); s++) {
			r = run(&cases[i], s, false, text, sizeof(text));
			if (r != cases[i].want)
				fail_msg("%s split at %u: results %#x, want %#x",
					 cases[i].label, s, r, cases[i].want);
		}
		r = run(&cases[i], 0, true, text, sizeof(text));
		if (r != cases[i].want)
			fail_msg("%s byte by byte: results %#x, want %#x",
				 cases[i].label, r, cases[i].want);
	}
}

/* long_content_case - one case's content after 0..79 filler bytes */
static void long_content_case(const struct gcase *orig, int level)
{
	static const char pat[] = "a.b c.\nd.\re.f";
	size_t k, npat = sizeof(pat) - 1;
	struct gcase c = *orig;
	char body[320], text[128];
	uint32_t s, len;
	unsigned r;

	if (strcmp(c.s[0].bytes, "220 mx.example.test ESMTP\r\n") != 0 ||
	    c.s[5].dir != 'C' || c.s[6].dir != 0)
		return;
	for (k = 0; k < 80; k++) {
		size_t j;

		for (j = 0; j < k; j++)
			body[j] = pat[j % npat];
		snprintf(body + k, sizeof(body) - k, "\r\n%s", orig->s[5].bytes);
		c.s[5].bytes = body;
		len = (uint32_t)strlen(body);
		for (s = 0; s < len; s++) {
			r = run(&c, s, false, text, sizeof(text));
			if (r != c.want)
				fail_msg("%s after %zu filler bytes, split at %u, "
					 "scan %d: results %#x, want %#x", c.label, k,
					 s, level, r, c.want);
		}
	}
}

/* test_long_content - every case's message content after k filler bytes
 * (dots inside lines, bare LF and CR lines, no dot after a line break),
 * k = 0..79: each sequence at every offset of a 16-, 32- and 64-byte block,
 * whole and cut at every byte, with each scan the CPU has */
static void test_long_content(void **state)
{
	size_t i;
	int level, best = scr_smug_simd(SCR_SMUG_SIMD_AUTO);

	(void)state;
	for (level = SCR_SMUG_SIMD_NONE; level <= best; level++) {
		scr_smug_simd(level);
		for (i = 0; i < NELEM(cases); i++)
			long_content_case(&cases[i], level);
	}
	scr_smug_simd(SCR_SMUG_SIMD_AUTO);
}

/* test_off - a guard that is off reads nothing */
static void test_off(void **state)
{
	struct scr_smug g;

	(void)state;
	scr_smug_init(&g);
	assert_true(scr_smug_active(&g));
	scr_smug_off(&g);
	assert_false(scr_smug_active(&g));
	assert_int_equal(scr_smug_feed(&g, true, (const uint8_t *)"DATA\r\nx\n.\n", 10, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_long_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
