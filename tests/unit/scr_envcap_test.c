/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scr_envcap_test - the envelope capture on client streams: each command
 * and its odd forms (MAIL FROM: <a>, <>, SIZE= parameters, source routes,
 * lower case), lines not reported (malformed, over-long, other verbs),
 * the end at DATA/BDAT/STARTTLS; every case again with the stream split at
 * each byte and fed one byte at a time; lines with NUL bytes, read as
 * smtpd reads them; retransmissions, gaps and an empty buffer pool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scr_envcap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX 1024

struct ecase {
	const char *label;
	const char *stream;	/* the client's bytes */
	const char *want;	/* "CMD arg|CMD arg|" reported, in order */
	unsigned bad;		/* SCR_ENVCAP_R_BAD expected */
};

static const char *const cmd_name[SCR_ENV_MAX] = {"HELO", "EHLO", "MAIL", "RCPT"};

static const struct ecase cases[] = {
	/* bad input first */
	{"nothing", "", "", 0},
	{"garbage without LF", "\x16\x03\x01\x02\x00", "", 0},
	{"HELO without a name", "HELO\r\nHELO \r\n", "", 1},
	{"MAIL FROM without closing bracket", "MAIL FROM:<a@b.example\r\n", "", 1},
	{"MAIL FROM with nothing", "MAIL FROM:\r\n", "", 1},
	{"RCPT TO:<> is not a recipient", "RCPT TO:<>\r\n", "", 1},
	{"over-long line", "MAIL FROM:<%600>\r\nRCPT TO:<u@d.example>\r\n",
	 "RCPT u@d.example|", 1},
	{"over-long address in a short line", "MAIL FROM:<%300>\r\n", "", 1},
	{"other verbs are not reported",
	 "NOOP\r\nRSET\r\nVRFY x\r\nAUTH PLAIN AAAA\r\nMAILFROM:<a@b>\r\nHELOx\r\n", "", 0},
	/* the commands */
	{"HELO", "HELO relay.example.org\r\n", "HELO relay.example.org|", 0},
	{"EHLO lower case, LF only", "ehlo Relay\n", "EHLO Relay|", 0},
	{"EHLO with two words: the first", "EHLO a.example b\r\n", "EHLO a.example|", 0},
	{"EHLO address literal", "EHLO [198.18.0.7]\r\n", "EHLO [198.18.0.7]|", 0},
	{"MAIL FROM", "MAIL FROM:<a@b.example>\r\n", "MAIL a@b.example|", 0},
	{"MAIL FROM: <a> (space after the colon)", "MAIL FROM: <a@b.example>\r\n",
	 "MAIL a@b.example|", 0},
	{"null sender", "MAIL FROM:<>\r\n", "MAIL |", 0},
	{"SIZE= and BODY= parameters", "MAIL FROM:<a@b.example> SIZE=1234 BODY=8BITMIME\r\n",
	 "MAIL a@b.example|", 0},
	{"sender without brackets", "mail from:a@b.example SIZE=9\r\n", "MAIL a@b.example|", 0},
	{"non-FQDN sender", "MAIL FROM:<user@localhost>\r\n", "MAIL user@localhost|", 0},
	{"source route dropped", "RCPT TO:<@r1.example,@r2.example:u@d.example>\r\n",
	 "RCPT u@d.example|", 0},
	{"a whole pipelined transaction, then the body is never read",
	 "EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@d.example>\r\n"
	 "RCPT TO:<v@d.example>\r\nDATA\r\nMAIL FROM:<x@y>\r\n",
	 "EHLO c.example|MAIL a@b.example|RCPT u@d.example|RCPT v@d.example|", 0},
	{"BDAT ends it", "MAIL FROM:<a@b.example>\r\nBDAT 30 LAST\r\nRCPT TO:<u@d.example>\r\n",
	 "MAIL a@b.example|", 0},
	{"STARTTLS ends it", "EHLO c\r\nSTARTTLS\r\nEHLO d\r\n", "EHLO c|", 0},
	{"DATAX is not DATA", "DATAX\r\nMAIL FROM:<a@b>\r\n", "MAIL a@b|", 0},
};

struct sink {
	char out[OUT_MAX];
	size_t len;
};

/* collect - the callback: "CMD arg|" appended; an argument never holds
 * a NUL (smtpd would not have seen the bytes after it) */
static int collect(void *arg, enum scr_env_cmd cmd, const uint8_t *a, uint32_t a_len)
{
	struct sink *s = arg;
	int n = snprintf(s->out + s->len, OUT_MAX - s->len, "%s %.*s|",
			 cmd_name[cmd], (int)a_len, (const char *)a);

	assert_null(memchr(a, '\0', a_len));

	assert_true(n > 0 && (size_t)n < OUT_MAX - s->len);
	s->len += (size_t)n;
	return 0;
}

/* expand - %N in a case's stream: N 'x' characters */
static size_t expand(const char *in, char *out, size_t max)
{
	size_t o = 0;

	while (*in) {
		if (*in == '%') {
			unsigned long n = strtoul(in + 1, (char **)&in, 10);

			while (n-- && o < max)
				out[o++] = 'x';
			continue;
		}
		if (o < max)
			out[o++] = *in;
		in++;
	}
	return o;
}

/* run - the stream in pieces of at most step bytes, cut first at split */
static unsigned run(const uint8_t *p, size_t len, size_t split, size_t step,
		    struct scr_envcap_pool *pool, struct sink *s)
{
	struct scr_envcap c = {0};
	unsigned r = 0;
	size_t i = 0;

	memset(s, 0, sizeof(*s));
	scr_envcap_start(&c, pool, 1000);
	while (i < len) {
		size_t n = i < split && split < len ? split - i : len - i;

		if (step && n > step)
			n = step;
		r |= scr_envcap_feed(&c, pool, 1000 + (uint32_t)i, p + i, (uint32_t)n,
				     collect, s);
		i += n;
	}
	scr_envcap_stop(&c, pool);
	return r;
}

/* check - a stream split at every byte, then fed a byte at a time:
 * always want reported, and SCR_ENVCAP_R_BAD as bad says */
static void check(const char *label, const uint8_t *p, size_t len,
		  const char *want, unsigned bad, struct scr_envcap_pool *pool)
{
	struct sink s;
	size_t split;
	unsigned r;

	for (split = 0; split <= len; split++) {
		r = run(p, len, split, 0, pool, &s);
		if (strcmp(s.out, want) != 0 || !!(r & SCR_ENVCAP_R_BAD) != bad)
			fail_msg("%s (split at %zu): got \"%s\" bad %u, want \"%s\" bad %u",
				 label, split, s.out, !!(r & SCR_ENVCAP_R_BAD), want, bad);
	}
	r = run(p, len, 0, 1, pool, &s);
	if (strcmp(s.out, want) != 0)
		fail_msg("%s (byte by byte): got \"%s\", want \"%s\"", label, s.out, want);
}

static void test_cases(void **state)
{
	struct scr_envcap_pool *pool = scr_envcap_pool_create(4);
	static uint8_t buf[2048];
	size_t k;

	(void)state;
	assert_non_null(pool);
	for (k = 0; k < NELEM(cases); k++) {
		size_t len = expand(cases[k].stream, (char *)buf, sizeof(buf));

		check(cases[k].label, buf, len, cases[k].want, cases[k].bad, pool);
	}
	scr_envcap_pool_destroy(pool);
}

/* binary cases: streams with NUL bytes, lengths given */
struct bcase {
	const char *label;
	const char *stream;
	size_t len;
	const char *want;	/* as in ecase; arguments hold no NUL */
	unsigned bad;
};
#define BC(label, lit, want, bad) {label, lit, sizeof(lit) - 1, want, bad}

static const struct bcase bcases[] = {
	/* smtpd reads a command line as a C string: it ends at a NUL */
	BC("HELO name cut at a NUL", "EHLO good.example\0bad.invalid\r\n",
	   "EHLO good.example|", 0),
	BC("bracket after a NUL is not there",
	   "RCPT TO:<a\0b@d.example>\r\nRCPT TO:<u@d.example>\r\n",
	   "RCPT u@d.example|", 1),
	BC("DATA then a NUL is DATA: the body is not read",
	   "MAIL FROM:<a@b.example>\r\nDATA\0x\r\nRCPT TO:<u@d.example>\r\n",
	   "MAIL a@b.example|", 0),
	BC("parameters after a NUL", "MAIL FROM:<a@b.example>\0 SIZE=1\r\n",
	   "MAIL a@b.example|", 0),
	BC("a line that is only a NUL", "\0\r\nHELO x\r\n", "HELO x|", 0),
};

/* test_nul - the streams with NUL bytes, as test_cases runs its own */
static void test_nul(void **state)
{
	struct scr_envcap_pool *pool = scr_envcap_pool_create(4);
	size_t k;

	(void)state;
	assert_non_null(pool);
	for (k = 0; k < NELEM(bcases); k++)
		check(bcases[k].label, (const uint8_t *)bcases[k].stream, bcases[k].len,
		      bcases[k].want, bcases[k].bad, pool);
	scr_envcap_pool_destroy(pool);
}

static void test_retransmit_and_gap(void **state)
{
	static const char a[] = "MAIL FROM:<a@b.example>\r\nRCPT TO:<u@d";
	static const char b[] = ".example>\r\nRCPT TO:<v@d.example>\r\n";
	struct scr_envcap_pool *pool = scr_envcap_pool_create(1);
	struct scr_envcap c = {0};
	struct sink s = {0};
	uint32_t la = (uint32_t)strlen(a);

	(void)state;
	scr_envcap_start(&c, pool, 1);
	assert_int_equal(scr_envcap_feed(&c, pool, 1, (const uint8_t *)a, la, collect, &s), 0);
	/* the same segment again, then one overlapping its end */
	assert_int_equal(scr_envcap_feed(&c, pool, 1, (const uint8_t *)a, la, collect, &s), 0);
	assert_int_equal(scr_envcap_feed(&c, pool, la - 3, (const uint8_t *)a + la - 4, 4,
					 collect, &s), 0);
	assert_int_equal(scr_envcap_feed(&c, pool, 1 + la, (const uint8_t *)b,
					 (uint32_t)strlen(b), collect, &s), 0);
	assert_string_equal(s.out, "MAIL a@b.example|RCPT u@d.example|RCPT v@d.example|");
	/* a gap ends the capture */
	assert_int_equal(scr_envcap_feed(&c, pool, 1000, (const uint8_t *)"HELO x\r\n", 8,
					 collect, &s), SCR_ENVCAP_R_LOST);
	assert_false(scr_envcap_active(&c));
	scr_envcap_pool_destroy(pool);
}

static void test_pool_empty(void **state)
{
	struct scr_envcap_pool *pool = scr_envcap_pool_create(1);
	struct scr_envcap c1 = {0}, c2 = {0};
	struct sink s = {0};

	(void)state;
	scr_envcap_start(&c1, pool, 1);
	scr_envcap_start(&c2, pool, 1);
	/* c1 holds the only buffer for its split line */
	assert_int_equal(scr_envcap_feed(&c1, pool, 1, (const uint8_t *)"MAIL FR", 7, collect, &s), 0);
	assert_int_equal(scr_envcap_feed(&c2, pool, 1, (const uint8_t *)"RCPT TO", 7, collect, &s),
			 SCR_ENVCAP_R_NOBUF | SCR_ENVCAP_R_BAD);
	assert_int_equal(scr_envcap_feed(&c2, pool, 8, (const uint8_t *)":<u@d>\r\nHELO h\r\n", 16,
					 collect, &s), 0);
	assert_int_equal(scr_envcap_feed(&c1, pool, 8, (const uint8_t *)"OM:<a@b>\r\n", 10,
					 collect, &s), 0);
	assert_string_equal(s.out, "HELO h|MAIL a@b|");
	/* a session that ends gives its buffer back */
	assert_int_equal(scr_envcap_feed(&c1, pool, 18, (const uint8_t *)"RCPT", 4, collect, &s), 0);
	scr_envcap_stop(&c1, pool);
	assert_int_equal(scr_envcap_feed(&c2, pool, 24, (const uint8_t *)"RCPT", 4, collect, &s), 0);
	scr_envcap_stop(&c2, pool);
	scr_envcap_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_retransmit_and_gap),
		cmocka_unit_test(test_pool_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
