/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_dl_test - libraries opened when first needed
 * DESCRIPTION
 *	zlib (libz.so.1, which libbpf and libpcap need on every machine that
 *	builds smtpscreen) stands in for libpcap and libmicrohttpd: the
 *	first soname that loads is taken, every symbol is resolved and
 *	callable; no soname loads: -1 and a message naming the library and
 *	the first soname; a symbol missing: -1 naming it, no symbol left
 *	set; the first outcome is kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_dl.h"

static const char *(*zversion)(void);
static unsigned long (*zcrc32)(unsigned long, const unsigned char *, unsigned);

/* test_second_soname - a missing soname, then zlib: loaded and callable */
static void test_second_soname(void **state)
{
	static const char *const names[] = {
		"libsmtpscreen-absent.so.9", "libz.so.1", NULL
	};
	static const struct ctl_dl_sym syms[] = {
		{ "zlibVersion", (void **)&zversion },
		{ "crc32", (void **)&zcrc32 },
	};
	static struct ctl_dl d = CTL_DL_INIT("zlib", names, syms);
	char err[256] = "";

	(void)state;
	assert_int_equal(d.nsyms, 2);
	assert_int_equal(ctl_dl_load(&d, err, sizeof(err)), 0);
	assert_non_null(zversion);
	assert_true(zversion()[0] >= '1' && zversion()[0] <= '9');
	/* CRC-32 of "123456789", the check value of the algorithm */
	assert_int_equal(zcrc32(0, (const unsigned char *)"123456789", 9),
			 0xcbf43926ul);
	assert_int_equal(ctl_dl_load(&d, err, sizeof(err)), 0);
}

/* test_no_soname - nothing loads: the library and the first soname named */
static void test_no_soname(void **state)
{
	static const char *const names[] = {
		"libsmtpscreen-absent.so.9", "libsmtpscreen-absent.so", NULL
	};
	static void *fn;
	static const struct ctl_dl_sym syms[] = { { "f", &fn } };
	static struct ctl_dl d = CTL_DL_INIT("libabsent", names, syms);
	char err[256] = "", again[256] = "";

	(void)state;
	assert_int_equal(ctl_dl_load(&d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "libabsent: "));
	assert_non_null(strstr(err, "libsmtpscreen-absent.so.9"));
	assert_null(fn);
	/* kept: the same answer, not tried again */
	assert_int_equal(ctl_dl_load(&d, again, sizeof(again)), -1);
	assert_string_equal(again, err);
	assert_int_equal(ctl_dl_load(&d, NULL, 0), -1);
}

/* test_missing_symbol - zlib without one of the symbols asked for */
static void test_missing_symbol(void **state)
{
	static const char *const names[] = { "libz.so.1", NULL };
	static void *a, *b;
	static const struct ctl_dl_sym syms[] = {
		{ "zlibVersion", &a },
		{ "smtpscreen_no_such_function", &b },
	};
	static struct ctl_dl d = CTL_DL_INIT("zlib", names, syms);
	char err[256] = "";

	(void)state;
	assert_int_equal(ctl_dl_load(&d, err, sizeof(err)), -1);
	assert_string_equal(err, "zlib: symbol smtpscreen_no_such_function "
			    "not found (the library is too old?)");
	assert_null(a);		/* none left pointing into a closed library */
	assert_null(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_soname),
		cmocka_unit_test(test_no_soname),
		cmocka_unit_test(test_missing_symbol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
