/* SPDX-License-Identifier: BSD-3-Clause */
/* scr_tcpord_test - ordering: in order, retransmitted, reordered, gaps */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scr_tcpord.h"

struct sink {
	char out[2][256];
	size_t n[2];
	int stop_after;		/* stop when this many calls happened; 0 never */
	int calls;
};

/* collect - the delivery callback: append bytes per direction */
static int collect(void *arg, unsigned dir, const uint8_t *p, uint32_t n)
{
	struct sink *s = arg;

	memcpy(s->out[dir] + s->n[dir], p, n);
	s->n[dir] += n;
	s->out[dir][s->n[dir]] = '\0';
	return ++s->calls == s->stop_after;
}

struct seg {
	unsigned dir;
	uint32_t seq;		/* relative to ISN 1000 + 1 */
	const char *bytes;
};

struct ocase {
	const char *label;
	struct seg segs[8];
	uint32_t window;
	const char *want0, *want1;
	int want_gap;		/* last result was a gap */
	uint8_t want_held;	/* slots still held */
};

#define S(d, q, b) {d, q, b}
static const struct ocase cases[] = {
	{"beyond the window is a gap", {S(0, 5000, "late")}, 1000, "", "", 1, 0},
	{"larger than a slot is a gap", {S(0, 10, NULL)}, 65536, "", "", 1, 0},
	{"in order", {S(0, 0, "EHLO "), S(0, 5, "x\r\n"), S(1, 0, "250 ok\r\n")},
	 65536, "EHLO x\r\n", "250 ok\r\n", 0, 0},
	{"exact retransmission delivered once",
	 {S(0, 0, "MAIL "), S(0, 0, "MAIL "), S(0, 5, "FROM:<a>\r\n")},
	 65536, "MAIL FROM:<a>\r\n", "", 0, 0},
	{"overlapping retransmission delivers only the new tail",
	 {S(0, 0, "RCPT"), S(0, 2, "PT TO:<b>\r\n")}, 65536, "RCPT TO:<b>\r\n", "", 0, 0},
	{"swapped pair is reordered", {S(0, 4, " x\r\n"), S(0, 0, "EHLO")},
	 65536, "EHLO x\r\n", "", 0, 0},
	{"three reversed segments", {S(0, 8, "C"), S(0, 4, "B   "), S(0, 0, "A   ")},
	 65536, "A   B   C", "", 0, 0},
	{"hole never filled keeps the slot", {S(0, 0, "A"), S(0, 5, "C")},
	 65536, "A", "", 0, 1},
	{"retransmitted out-of-order segment kept once",
	 {S(0, 3, "D"), S(0, 3, "D"), S(0, 0, "ABC")}, 65536, "ABCD", "", 0, 0},
	{"directions are independent", {S(1, 3, "b"), S(0, 0, "x"), S(1, 0, "aaa")},
	 65536, "x", "aaab", 0, 0},
	{"segment behind the stream is old, not a gap", {S(0, 0xfffffc17u, "old")},
	 65536, "", "", 0, 0},
};

static uint8_t big[4000];

/* test_table - run each script on a fresh flow */
static void test_table(void **state)
{
	size_t i, k;

	(void)state;
	memset(big, 'z', sizeof(big));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ocase *c = &cases[i];
		struct scr_tcpord *o = scr_tcpord_create(64);
		struct scr_flow f;
		struct sink s = {0};
		enum scr_ord_result r = SCR_ORD_OK;

		assert_non_null(o);
		memset(&f, 0, sizeof(f));
		f.seq_next[0] = f.seq_next[1] = 1001;
		for (k = 0; k < 8 && (c->segs[k].bytes || c->segs[k].seq); k++) {
			const struct seg *g = &c->segs[k];
			const uint8_t *p = g->bytes ? (const uint8_t *)g->bytes : big;
			uint32_t n = g->bytes ? (uint32_t)strlen(g->bytes) : sizeof(big);

			r = scr_tcpord_segment(o, &f, g->dir, 1001 + g->seq, p, n,
					       c->window, collect, &s);
		}
		if (strcmp(s.out[0], c->want0) || strcmp(s.out[1], c->want1) ||
		    (r == SCR_ORD_GAP) != c->want_gap || f.nooo != c->want_held)
			fail_msg("%s: got \"%s\" \"%s\" gap %d held %u", c->label,
				 s.out[0], s.out[1], r == SCR_ORD_GAP, f.nooo);
		scr_tcpord_release(o, &f);
		assert_int_equal(f.nooo, 0);
		assert_int_equal(f.ooo, 0);
		scr_tcpord_destroy(o);
	}
}

/* test_wrap - in-order delivery across the 2^32 wrap */
static void test_wrap(void **state)
{
	struct scr_tcpord *o = scr_tcpord_create(8);
	struct scr_flow f;
	struct sink s = {0};

	(void)state;
	memset(&f, 0, sizeof(f));
	f.seq_next[0] = 0xfffffffeu;
	scr_tcpord_segment(o, &f, 0, 0x00000001u, (const uint8_t *)"C", 1, 100,
			   collect, &s);
	scr_tcpord_segment(o, &f, 0, 0xfffffffeu, (const uint8_t *)"AB", 2, 100,
			   collect, &s);
	scr_tcpord_segment(o, &f, 0, 0x00000000u, (const uint8_t *)"X", 1, 100,
			   collect, &s);
	assert_string_equal(s.out[0], "ABXC");
	assert_int_equal(f.seq_next[0], 2);
	scr_tcpord_destroy(o);
}

/* test_pool_and_flow_limits - gaps when slots run out, counted */
static void test_pool_and_flow_limits(void **state)
{
	struct scr_tcpord *o = scr_tcpord_create(2);
	struct scr_flow f, g;
	struct sink s = {0};
	uint32_t k;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	assert_int_equal(scr_tcpord_segment(o, &f, 0, 10, (const uint8_t *)"a", 1,
					    100, collect, &s), SCR_ORD_OK);
	assert_int_equal(scr_tcpord_segment(o, &f, 0, 20, (const uint8_t *)"b", 1,
					    100, collect, &s), SCR_ORD_OK);
	assert_int_equal(scr_tcpord_segment(o, &g, 0, 20, (const uint8_t *)"c", 1,
					    100, collect, &s), SCR_ORD_GAP);
	assert_int_equal(o->gap_pool, 1);
	scr_tcpord_release(o, &f);
	scr_tcpord_destroy(o);

	o = scr_tcpord_create(64);
	memset(&f, 0, sizeof(f));
	for (k = 0; k < SCR_OOO_PER_FLOW; k++)
		assert_int_equal(scr_tcpord_segment(o, &f, 0, 10 + k * 2,
			(const uint8_t *)"x", 1, 100, collect, &s), SCR_ORD_OK);
	assert_int_equal(scr_tcpord_segment(o, &f, 0, 50, (const uint8_t *)"x", 1,
					    100, collect, &s), SCR_ORD_GAP);
	assert_int_equal(o->gap_flow, 1);
	scr_tcpord_release(o, &f);
	scr_tcpord_destroy(o);
}

/* test_stop - the callback stops delivery; later bytes stay undelivered */
static void test_stop(void **state)
{
	struct scr_tcpord *o = scr_tcpord_create(8);
	struct scr_flow f;
	struct sink s = {.stop_after = 1};

	(void)state;
	memset(&f, 0, sizeof(f));
	scr_tcpord_segment(o, &f, 0, 3, (const uint8_t *)"DEF", 3, 100, collect, &s);
	assert_int_equal(scr_tcpord_segment(o, &f, 0, 0, (const uint8_t *)"ABC", 3,
					    100, collect, &s), SCR_ORD_STOP);
	assert_string_equal(s.out[0], "ABC");
	assert_int_equal(f.nooo, 1);
	scr_tcpord_release(o, &f);
	scr_tcpord_destroy(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_pool_and_flow_limits),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests_name("scr_tcpord", tests, NULL, NULL);
}
