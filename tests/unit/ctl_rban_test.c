/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl_rban_test - reply bans: limits per kind, windows, ban expiry, one
 * ban per crossing, IPv6 clients counted per prefix, a full table */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_rban.h"

#define T0 1800000000ull

/* addr - text to scr_addr (IPv4 v4-mapped) */
static struct scr_addr addr(const char *s)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.b + 12) == 1) {
		a.b[10] = a.b[11] = 0xff;
		return a;
	}
	assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	return a;
}

/* conf - the defaults of docs/configuration.md, windows of 600 s */
static struct ctl_rban_conf conf(void)
{
	struct ctl_rban_conf c;

	memset(&c, 0, sizeof(c));
	c.limit[SCR_REPLY_AUTH] = 10;
	c.limit[SCR_REPLY_HARVEST] = 20;
	c.limit[SCR_REPLY_RELAY] = 10;
	c.limit[SCR_REPLY_HELO] = 10;
	for (unsigned k = 0; k < SCR_REPLY_MAX; k++)
		c.window_s[k] = 600;
	c.ttl_s = 3600;
	c.v6_plen = 64;
	c.table_size = 1024;
	return c;
}

/* hits - n replies of kind, one per `step` seconds from t; the number of
 * the reply that banned (1-based), 0 if none */
static unsigned hits(struct ctl_rban *r, const char *a, enum scr_reply_kind k,
		     unsigned n, uint64_t t, unsigned step, struct ctl_rban_ban *b)
{
	struct scr_addr x = addr(a);
	unsigned i, banned = 0;

	for (i = 0; i < n; i++)
		if (ctl_rban_hit(r, &x, k, t + (uint64_t)i * step, b) && !banned)
			banned = i + 1;
	return banned;
}

/* test_bad_args - no table of size 0 or without limits */
static void test_bad_args(void **state)
{
	struct ctl_rban_conf c = conf();

	(void)state;
	errno = 0;
	assert_null(ctl_rban_create(0, &c));
	assert_int_equal(errno, EINVAL);
	assert_null(ctl_rban_create(1024, NULL));
	assert_null(ctl_rban_create((1u << 24) + 1, &c));
}

/* test_limits - each kind bans at its limit, not one before; a legitimate
 * client (two mistyped passwords, three stale recipients) never */
static void test_limits(void **state)
{
	static const struct {
		const char *label;
		enum scr_reply_kind k;
		unsigned n, banned;
	} t[] = {
		{ .label = "two mistyped passwords", .k = SCR_REPLY_AUTH, .n = 2, .banned = 0 },
		{ .label = "auth guessing", .k = SCR_REPLY_AUTH, .n = 50, .banned = 10 },
		{ .label = "list with stale addresses", .k = SCR_REPLY_HARVEST, .n = 3, .banned = 0 },
		{ .label = "19 unknown recipients", .k = SCR_REPLY_HARVEST, .n = 19, .banned = 0 },
		{ .label = "harvest", .k = SCR_REPLY_HARVEST, .n = 200, .banned = 20 },
		{ .label = "relay probe", .k = SCR_REPLY_RELAY, .n = 10, .banned = 10 },
		{ .label = "helo rejected", .k = SCR_REPLY_HELO, .n = 11, .banned = 10 },
	};
	struct ctl_rban_conf c = conf();
	struct ctl_rban_stats st;
	struct ctl_rban_ban b;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ctl_rban *r = ctl_rban_create(1024, &c);
		unsigned got;

		assert_non_null(r);
		got = hits(r, "198.18.0.1", t[i].k, t[i].n, T0, 1, &b);
		if (got != t[i].banned)
			fail_msg("%s: banned at reply %u, want %u", t[i].label, got,
				 t[i].banned);
		ctl_rban_stats(r, &st);
		assert_int_equal(st.bans[t[i].k], t[i].banned ? 1 : 0);
		if (t[i].banned) {
			assert_int_equal(b.count, t[i].banned);
			assert_int_equal(b.window_s, 600);
			assert_int_equal(b.ttl_s, 3600);
			assert_int_equal(b.plen, 128);
			/* replies after the ban are not counted again */
			assert_int_equal(st.banned_hits, t[i].n - t[i].banned);
		}
		ctl_rban_destroy(r);
	}
}

/* test_kinds_apart - counts of different kinds do not add up */
static void test_kinds_apart(void **state)
{
	struct ctl_rban_conf c = conf();
	struct ctl_rban *r = ctl_rban_create(1024, &c);
	struct ctl_rban_ban b;

	(void)state;
	assert_int_equal(hits(r, "198.18.0.1", SCR_REPLY_AUTH, 9, T0, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.1", SCR_REPLY_RELAY, 9, T0 + 10, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.1", SCR_REPLY_HELO, 9, T0 + 20, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.1", SCR_REPLY_AUTH, 1, T0 + 30, 1, &b), 1);
	ctl_rban_destroy(r);
}

/* test_window - replies spread wider than the window never ban; the
 * count starts over when the window has passed */
static void test_window(void **state)
{
	struct ctl_rban_conf c = conf();
	struct ctl_rban *r = ctl_rban_create(1024, &c);
	struct ctl_rban_ban b;

	(void)state;
	/* 100 unknown recipients, one a minute: 10 per window */
	assert_int_equal(hits(r, "198.18.0.2", SCR_REPLY_HARVEST, 100, T0, 60, &b), 0);
	/* 19 in the window, then the window closes: 19 more do not ban */
	assert_int_equal(hits(r, "198.18.0.3", SCR_REPLY_HARVEST, 19, T0, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.3", SCR_REPLY_HARVEST, 19, T0 + 600, 1, &b), 0);
	/* and the 20th inside that new window does */
	assert_int_equal(hits(r, "198.18.0.3", SCR_REPLY_HARVEST, 1, T0 + 700, 1, &b), 1);
	/* the last reply of a window still counts (599 s after the first) */
	assert_int_equal(hits(r, "198.18.0.4", SCR_REPLY_AUTH, 9, T0, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.4", SCR_REPLY_AUTH, 1, T0 + 599, 1, &b), 1);
	ctl_rban_destroy(r);
}

/* test_expiry - a ban ends after its TTL: the client is counted anew */
static void test_expiry(void **state)
{
	struct ctl_rban_conf c = conf();
	struct ctl_rban *r = ctl_rban_create(1024, &c);
	struct ctl_rban_ban b;

	(void)state;
	assert_int_equal(hits(r, "198.18.0.5", SCR_REPLY_AUTH, 10, T0, 1, &b), 10);
	/* banned until T0 + 9 + 3600: replies then are not counted */
	assert_int_equal(hits(r, "198.18.0.5", SCR_REPLY_AUTH, 20, T0 + 100, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.5", SCR_REPLY_AUTH, 9, T0 + 3609, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.0.5", SCR_REPLY_AUTH, 1, T0 + 3620, 1, &b), 1);
	ctl_rban_destroy(r);
}

/* test_ipv6_prefix - two addresses in one /64 share a count and a ban;
 * other /64s do not; /128 counts per address; IPv4 never aggregates */
static void test_ipv6_prefix(void **state)
{
	struct ctl_rban_conf c = conf();
	struct ctl_rban *r = ctl_rban_create(1024, &c);
	struct ctl_rban_ban b;
	char txt[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(hits(r, "2001:db8:1:2::a", SCR_REPLY_HARVEST, 10, T0, 1, &b), 0);
	assert_int_equal(hits(r, "2001:db8:1:3::a", SCR_REPLY_HARVEST, 10, T0, 1, &b), 0);
	assert_int_equal(hits(r, "2001:db8:1:2:ffff::b", SCR_REPLY_HARVEST, 10, T0 + 20, 1, &b), 10);
	assert_int_equal(b.plen, 64);
	inet_ntop(AF_INET6, b.key.b, txt, sizeof(txt));
	assert_string_equal(txt, "2001:db8:1:2::");
	/* the banned prefix: any address in it is not counted */
	assert_int_equal(hits(r, "2001:db8:1:2::77", SCR_REPLY_HARVEST, 30, T0 + 40, 1, &b), 0);
	/* the neighbouring /64 still needs its own 10 more */
	assert_int_equal(hits(r, "2001:db8:1:3::b", SCR_REPLY_HARVEST, 10, T0 + 40, 1, &b), 10);
	/* IPv4 addresses next to each other are separate clients */
	assert_int_equal(hits(r, "198.18.1.1", SCR_REPLY_HARVEST, 19, T0, 1, &b), 0);
	assert_int_equal(hits(r, "198.18.1.2", SCR_REPLY_HARVEST, 19, T0, 1, &b), 0);
	ctl_rban_destroy(r);

	c.v6_plen = 128;
	r = ctl_rban_create(1024, &c);
	assert_int_equal(hits(r, "2001:db8:1:2::a", SCR_REPLY_HARVEST, 19, T0, 1, &b), 0);
	assert_int_equal(hits(r, "2001:db8:1:2::b", SCR_REPLY_HARVEST, 19, T0, 1, &b), 0);
	assert_int_equal(hits(r, "2001:db8:1:2::a", SCR_REPLY_HARVEST, 1, T0, 1, &b), 1);
	assert_int_equal(b.plen, 128);
	ctl_rban_destroy(r);
}

/* test_full - a table with no room errs on the side of no ban (counted);
 * finished entries are reused */
static void test_full(void **state)
{
	struct ctl_rban_conf c = conf();
	struct ctl_rban *r = ctl_rban_create(1, &c);
	struct ctl_rban_stats st;
	struct ctl_rban_ban b;
	char a[32];
	unsigned i;

	(void)state;
	assert_non_null(r);
	assert_int_equal(hits(r, "198.18.2.0", SCR_REPLY_AUTH, 5, T0, 1, &b), 0);
	for (i = 1; i < 40; i++) {
		snprintf(a, sizeof(a), "198.18.2.%u", i);
		assert_int_equal(hits(r, a, SCR_REPLY_AUTH, 1, T0 + 10, 1, &b), 0);
	}
	ctl_rban_stats(r, &st);
	assert_true(st.full > 0);
	assert_int_equal(ctl_rban_count(r), 1);
	/* after the window, the slot goes to the next client */
	assert_int_equal(hits(r, "198.18.2.99", SCR_REPLY_AUTH, 10, T0 + 700, 1, &b), 10);
	ctl_rban_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_kinds_apart),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
