/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_file_test - lines from a file read in blocks, and its errors
 * DESCRIPTION
 *	ctl_file_line reads CTL_FILE_BUF bytes at a time and returns lines in
 *	place. A seeded file of ~3 MiB (lines of 0-300 bytes, NUL bytes and
 *	CRs inside lines, a line longer than the buffer, no newline at the
 *	end) comes back line by line with the same bytes, lengths and
 *	numbers, each NUL-terminated, also when the caller cuts the newline
 *	off as the parsers do; small files and an empty one; then errors,
 *	each naming the file (and line): a read error at the first line
 *	(/proc/self/mem), a file that reports no size and outgrows the bound
 *	as it is read (/proc/self/maps), a directory; fini after a failed
 *	init and on a zeroed struct.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_file.h"

static char path[64];

/* rnd - a step of a 64-bit LCG */
static uint64_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* write_file - the text to path */
static void write_file(const char *text, size_t n)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* test_block_lines - lines across block boundaries, longer than a block,
 * with NUL and CR inside, the last without a newline */
static void test_block_lines(void **state)
{
	size_t cap = 4u << 20, n = 0, nlines = 0, *start, *len, i;
	char *text = malloc(cap), err[256] = "", *l;
	struct ctl_file cf;
	uint64_t s = 0x452821e638d01377ull;
	ssize_t k;

	(void)state;
	start = calloc(200000, sizeof(*start));
	len = calloc(200000, sizeof(*len));
	assert_non_null(text);
	assert_non_null(start);
	assert_non_null(len);
	while (n < (3u << 20)) {
		size_t ll = rnd(&s) % 301;

		if (nlines == 5000)
			ll = CTL_FILE_BUF + CTL_FILE_BUF / 2;	/* longer than a block */
		start[nlines] = n;
		for (i = 0; i < ll; i++) {
			uint64_t c = rnd(&s);

			text[n++] = c % 97 == 0 ? '\0' : c % 89 == 0 ? '\r' :
				    (char)('!' + c % 90);
		}
		text[n++] = '\n';
		len[nlines++] = ll + 1;
	}
	memcpy(text + n, "last", 4);	/* no newline */
	start[nlines] = n;
	n += 4;
	len[nlines++] = 4;
	write_file(text, n);

	assert_int_equal(ctl_file_init(&cf, path, 1u << 30, err, sizeof(err)), 0);
	for (i = 0; i < nlines; i++) {
		k = ctl_file_line(&cf, &l, err, sizeof(err));
		if (k != (ssize_t)len[i] || memcmp(l, text + start[i], len[i]) != 0 ||
		    l[k] != 0 || cf.line != i + 1)
			fail_msg("line %zu: got %zd bytes (line %u), want %zu", i + 1,
				 k, cf.line, len[i]);
		if (l[k - 1] == '\n')
			l[k - 1] = 0;	/* as the parsers do */
	}
	assert_int_equal(ctl_file_line(&cf, &l, err, sizeof(err)), 0);
	assert_int_equal(ctl_file_line(&cf, &l, err, sizeof(err)), 0);
	assert_int_equal(cf.done, n);
	ctl_file_fini(&cf);
	ctl_file_fini(&cf);	/* idempotent */
	free(text);
	free(start);
	free(len);
	unlink(path);
}

/* test_small - a small file in one read, an empty one, a blank line */
static void test_small(void **state)
{
	static const struct {
		const char *label;
		const char *text;
		const char *lines[4];
	} t[] = {
		{ "empty", "", { NULL } },
		{ "one newline", "\n", { "\n", NULL } },
		{ "two lines", "a b\r\nc\n", { "a b\r\n", "c\n", NULL } },
		{ "no newline at the end", "x\ny", { "x\n", "y", NULL } },
	};
	char err[256];
	struct ctl_file cf;
	char *l;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t k = 0;
		ssize_t r;

		write_file(t[i].text, strlen(t[i].text));
		assert_int_equal(ctl_file_init(&cf, path, 4096, err, sizeof(err)), 0);
		while ((r = ctl_file_line(&cf, &l, err, sizeof(err))) > 0) {
			if (t[i].lines[k] == NULL || strcmp(l, t[i].lines[k]) != 0)
				fail_msg("%s: line %zu \"%s\"", t[i].label, k + 1, l);
			k++;
		}
		if (r != 0 || t[i].lines[k] != NULL)
			fail_msg("%s: ended with %zd after %zu lines", t[i].label, r, k);
		ctl_file_fini(&cf);
	}
	unlink(path);
}

/* test_errors - each names the file, and the line where there is one */
static void test_errors(void **state)
{
	struct ctl_file cf;
	char err[256] = "", *l;
	ssize_t r;

	(void)state;
	assert_int_equal(ctl_file_init(&cf, "/proc/self/mem", 1u << 30, err,
				       sizeof(err)), 0);
	r = ctl_file_line(&cf, &l, err, sizeof(err));
	assert_int_equal(r, -EIO);
	assert_string_equal(err, "/proc/self/mem:1: read error: Input/output error");
	ctl_file_fini(&cf);

	/* 0 bytes by stat, more than 100 when read */
	assert_int_equal(ctl_file_init(&cf, "/proc/self/maps", 100, err,
				       sizeof(err)), 0);
	while ((r = ctl_file_line(&cf, &l, err, sizeof(err))) > 0)
		;
	assert_int_equal(r, -EFBIG);
	assert_string_equal(err, "/proc/self/maps: file too large (more than 100 "
			    "bytes read; the limit is 100 bytes)");
	ctl_file_fini(&cf);

	assert_int_equal(ctl_file_init(&cf, "/", 100, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: not a regular file (a directory)");
	ctl_file_fini(&cf);	/* after a failed init */
	memset(&cf, 0, sizeof(cf));
	ctl_file_fini(&cf);	/* a zeroed one */
}

/* setup - a scratch file name */
static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/ctl_file_test.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* teardown - remove it */
static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_block_lines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
