/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cidr_test - cidr tables, mynetworks and postscreen_access_list
 * DESCRIPTION
 *	Bad tables first (each message with file:line, also deep in a big
 *	table whose lines share a result), then the prefix parser (rows, and
 *	random strings against inet_pton and strtoul, which the fast IPv4
 *	and IPv6 paths must agree with), then lookups over {label, access list,
 *	mynetworks, address, expected} rows: first match, negation, if/endif
 *	nesting, IPv6, dunno inside and outside a table; then a large table
 *	(grouped rules, IPv4 and IPv6) against a linear reference; then the
 *	answer over the address space (ctl_acl_regions_init): rows of
 *	expected regions, and random lists against ctl_acl_lookup at every
 *	region's first address and the address before it.
 *	Files that fight back: a directory, FIFO or device as a table or a
 *	mynetworks /file/name, a read error, a file over the size bound; each
 *	is an error naming the file, never an empty table.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctl_cidr.h"

#define DATA SRCDIR "/tests/data/conf"

struct bad_case {
	const char *label;
	const char *list;
	const char *mynet;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "host bits set", "cidr:" DATA "/bad-hostbits.cidr", "",
	  DATA "/bad-hostbits.cidr:2: non-null host address bits in \"192.0.2.1/24\", perhaps you should use \"192.0.2.0/24\" instead" },
	{ "ENDIF without IF", "cidr:" DATA "/bad-endif.cidr", "",
	  DATA "/bad-endif.cidr:2: ENDIF without IF" },
	{ "IF without ENDIF", "cidr:" DATA "/bad-if.cidr", "",
	  DATA "/bad-if.cidr:2: IF has no matching ENDIF" },
	{ "result not a postscreen command", "cidr:" DATA "/bad-result.cidr", "",
	  DATA "/bad-result.cidr:1: result \"OK\" is not a postscreen command (permit, reject, dunno, permit_mynetworks)" },
	{ "table in a result", "cidr:" DATA "/bad-table-result.cidr", "",
	  DATA "/bad-table-result.cidr:1: lookup result \"cidr:/etc/x.cidr\" is not allowed (a table result cannot name another table)" },
	{ "missing result", "cidr:" DATA "/bad-noresult.cidr", "",
	  DATA "/bad-noresult.cidr:2: no lookup result" },
	{ "bad prefix length", "cidr:" DATA "/bad-mask.cidr", "",
	  DATA "/bad-mask.cidr:1: bad mask length in \"192.0.2.0/33\"" },
	{ "bad address", "cidr:" DATA "/bad-addr.cidr", "",
	  DATA "/bad-addr.cidr:1: bad address pattern: \"192.0.2.300\"" },
	{ "missing file", "cidr:/nonexistent.cidr", "",
	  "/nonexistent.cidr: cannot open: No such file or directory" },
	{ "unknown command", "permit_mynetworks, OK", "",
	  "postscreen_access_list: unknown command \"OK\" (permit_mynetworks, permit, reject, dunno or cidr:table)" },
	{ "unsupported table type", "hash:/etc/postfix/x", "",
	  "postscreen_access_list: unsupported table type \"hash\" (only cidr: tables are supported)" },
	{ "inline rule bad address", "cidr:{{192.0.2.1 reject}, {2001:db8::1/129 permit}}", "",
	  "postscreen_access_list: cidr:{...} rule 2: bad mask length in \"2001:db8::1/129\"" },
	{ "inline rule without braces", "cidr:{192.0.2.1 reject}", "",
	  "postscreen_access_list: cidr:{...} rule 1: expected { pattern result }" },
	{ "inline IF without ENDIF", "cidr:{{if 10.0.0.0/8}, {10.1.0.0/16 reject}}", "",
	  "postscreen_access_list: cidr:{...} rule 1: IF has no matching ENDIF" },
	{ "bad IPv6 network", "cidr:{{2001:db8::1/32 reject}}", "",
	  "postscreen_access_list: cidr:{...} rule 1: non-null host address bits in \"2001:db8::1/32\", perhaps you should use \"2001:db8::/32\" instead" },
	{ "missing ] in pattern", "cidr:{{[2001:db8::1 reject}}", "",
	  "postscreen_access_list: cidr:{...} rule 1: missing ']' character after \"[2001:db8::1\"" },
	{ "unbalanced braces", "cidr:{{192.0.2.1 reject}", "",
	  "postscreen_access_list: unbalanced braces" },
	{ "bad mynetworks entry", "permit_mynetworks", "127.0.0.0/8 bogus",
	  "mynetworks: bad address pattern: \"bogus\"" },
	{ "mynetworks table type", "permit_mynetworks", "hash:/etc/x",
	  "mynetworks: unsupported table type \"hash\" (only cidr: tables are supported)" },
	{ "mynetworks host bits", "permit_mynetworks", "10.1.2.3/8",
	  "mynetworks: non-null host address bits in \"10.1.2.3/8\", perhaps you should use \"10.0.0.0/8\" instead" },
};

/* test_bad_tables - refused with the exact message */
static void test_bad_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[512] = "";
		struct ctl_acl *acl = ctl_acl_compile(c->list, c->mynet, DATA, err,
						      sizeof(err));

		if (acl != NULL || strcmp(err, c->err) != 0)
			fail_msg("%s: got %s \"%s\", want \"%s\"", c->label,
				 acl ? "success" : "error", err, c->err);
		ctl_acl_destroy(acl);
	}
}

/* Files that are not tables. "@" in list, mynet and err is the test's
 * scratch directory (made by files_setup). */
static const struct bad_case file_cases[] = {
	{ "directory as table", "cidr:@/dir.cidr", "",
	  "@/dir.cidr: not a regular file (a directory)" },
	{ "device as table", "cidr:/dev/null", "",
	  "/dev/null: not a regular file (a character device)" },
	{ "read error in a table", "cidr:/proc/self/mem", "",
	  "/proc/self/mem:1: read error: Input/output error" },
	{ "directory as mynetworks file", "permit_mynetworks", "@/dir.cidr",
	  "mynetworks: @/dir.cidr: not a regular file (a directory)" },
	{ "read error in a mynetworks file", "permit_mynetworks", "/proc/self/mem",
	  "/proc/self/mem:1: read error: Input/output error" },
	{ "NUL byte in a mynetworks file", "permit_mynetworks", "@/nul.txt",
	  "@/nul.txt:2: NUL byte in line" },
	{ "missing mynetworks file", "permit_mynetworks", "@/none.txt",
	  "mynetworks: @/none.txt: cannot open: No such file or directory" },
	/* last: the code before this test blocked in open(2) here */
	{ "FIFO as table", "cidr:@/fifo.cidr", "",
	  "@/fifo.cidr: not a regular file (a FIFO)" },
	{ "FIFO as mynetworks file", "permit_mynetworks", "@/fifo.cidr",
	  "mynetworks: @/fifo.cidr: not a regular file (a FIFO)" },
};

static char scratch[64];

/* files_setup - a directory, a FIFO, a file with a NUL byte */
static int files_setup(void **state)
{
	char p[128];
	int fd;

	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/ctl_cidr_test.XXXXXX");
	if (mkdtemp(scratch) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/dir.cidr", scratch);
	if (mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo.cidr", scratch);
	if (mkfifo(p, 0600) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/nul.txt", scratch);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "192.0.2.0/24\n198.51.100.0/24\0 10.0.0.0/8\n", 41) != 41)
		return -1;
	close(fd);
	return 0;
}

/* files_teardown - remove what files_setup made */
static int files_teardown(void **state)
{
	static const char *const name[] = { "nul.txt", "fifo.cidr", "big.cidr" };
	char p[128];

	(void)state;
	for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch, name[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/dir.cidr", scratch);
	rmdir(p);
	rmdir(scratch);
	return 0;
}

/* subst - tmpl with each "@" replaced by the scratch directory */
static const char *subst(const char *tmpl, char *out, size_t len)
{
	size_t o = 0;

	for (; *tmpl && o + 1 < len; tmpl++) {
		if (*tmpl == '@') {
			o += (size_t)snprintf(out + o, len - o, "%s", scratch);
			if (o >= len)
				o = len - 1;
		} else {
			out[o++] = *tmpl;
		}
	}
	out[o] = 0;
	return out;
}

/* test_refused_files - directories, FIFOs, devices and read errors are
 * errors naming the file (they loaded as empty tables before) */
static void test_refused_files(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		const struct bad_case *c = &file_cases[i];
		char list[256], mynet[256], want[256], err[512] = "";
		struct ctl_acl *acl;

		subst(c->list, list, sizeof(list));
		subst(c->mynet, mynet, sizeof(mynet));
		subst(c->err, want, sizeof(want));
		acl = ctl_acl_compile(list, mynet, DATA, err, sizeof(err));
		if (acl != NULL || strcmp(err, want) != 0) {
			print_error("%s: got %s \"%s\", want \"%s\"\n", c->label,
				    acl ? "success" : "error", err, want);
			bad++;
		}
		ctl_acl_destroy(acl);
	}
	if (bad)
		fail_msg("%u of %zu cases wrong", bad,
			 sizeof(file_cases) / sizeof(file_cases[0]));
}

/* test_table_too_large - a table over 1 GiB (sparse: no GiB written) is
 * refused with the bound, before a byte of it is read */
static void test_table_too_large(void **state)
{
	char p[128], list[160], want[256], err[512] = "";
	struct ctl_acl *acl;
	int fd;

	(void)state;
	snprintf(p, sizeof(p), "%s/big.cidr", scratch);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "192.0.2.0/24 reject\n", 20), 20);
	assert_int_equal(ftruncate(fd, (1ll << 30) + 1), 0);
	close(fd);
	snprintf(list, sizeof(list), "cidr:%s", p);
	snprintf(want, sizeof(want), "%s: file too large (1073741825 bytes; the "
		 "limit is 1 GiB)", p);
	acl = ctl_acl_compile(list, "", "/", err, sizeof(err));
	if (acl != NULL || strcmp(err, want) != 0)
		fail_msg("got %s \"%s\", want \"%s\"", acl ? "success" : "error",
			 err, want);
	snprintf(want, sizeof(want), "mynetworks: %s: file too large (1073741825 "
		 "bytes; the limit is 1 GiB)", p);
	acl = ctl_acl_compile("permit_mynetworks", p, "/", err, sizeof(err));
	if (acl != NULL || strcmp(err, want) != 0)
		fail_msg("got %s \"%s\", want \"%s\"", acl ? "success" : "error",
			 err, want);
	unlink(p);
}

/* Bad lines deep in a big table ("@" in err is the scratch directory);
 * the line numbers are the file's (comments and continuations
 * count). */
static const struct {
	const char *label;
	unsigned at;		/* the bad line replaces this good one */
	const char *text;
	const char *err;
} deep_cases[] = {
	{ "result after 5000 equal ones", 5001, "10.19.136.0/24 REJECT5\n",
	  "@/deep.cidr:5001: result \"REJECT5\" is not a postscreen command (permit, "
	  "reject, dunno, permit_mynetworks)" },
	{ "result that starts like the shared one", 7000,
	  "10.27.88.0/24 reject, ok\n",
	  "@/deep.cidr:7000: result \"ok\" is not a postscreen command (permit, reject, "
	  "dunno, permit_mynetworks)" },
	{ "host bits, same result as its neighbours", 9999,
	  "10.39.14.1/24 reject\n",
	  "@/deep.cidr:9999: non-null host address bits in \"10.39.14.1/24\", perhaps you "
	  "should use \"10.39.14.0/24\" instead" },
	{ "octet over 255", 3, "10.0.256.0/24 reject\n",
	  "@/deep.cidr:3: bad network value in \"10.0.256.0/24\"" },
	{ "leading zero", 4321, "10.016.225.0/24 reject\n",
	  "@/deep.cidr:4321: bad network value in \"10.016.225.0/24\"" },
	{ "mask too long", 8000, "10.31.64.0/33 reject\n",
	  "@/deep.cidr:8000: bad mask length in \"10.31.64.0/33\"" },
	{ "no result", 6000, "10.23.112.0/24\n", "@/deep.cidr:6000: no lookup result" },
	{ "after a continuation", 2002, "10.7.210.0/24 reject\n  permit, x:y\n",
	  "@/deep.cidr:2002: lookup result \"x:y\" is not allowed (a table result cannot "
	  "name another table)" },
};

/* test_bad_deep - a bad line among 10,000 good ones names its line */
static void test_bad_deep(void **state)
{
	char path[128], list[160], want[512], err[512];
	unsigned bad = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/deep.cidr", scratch);
	snprintf(list, sizeof(list), "cidr:%s", path);
	for (size_t c = 0; c < sizeof(deep_cases) / sizeof(deep_cases[0]); c++) {
		FILE *f = fopen(path, "w");
		struct ctl_acl *acl;

		assert_non_null(f);
		for (unsigned i = 1; i <= 10000; i++) {
			if (i == deep_cases[c].at)
				fputs(deep_cases[c].text, f);
			else
				fprintf(f, "10.%u.%u.0/24 reject\n", i / 256, i % 256);
		}
		fclose(f);
		subst(deep_cases[c].err, want, sizeof(want));
		err[0] = 0;
		acl = ctl_acl_compile(list, "", "/", err, sizeof(err));
		if (acl != NULL || strcmp(err, want) != 0) {
			print_error("%s: got %s \"%s\", want \"%s\"\n",
				    deep_cases[c].label, acl ? "success" : "error",
				    err, want);
			bad++;
		}
		ctl_acl_destroy(acl);
	}
	unlink(path);
	if (bad)
		fail_msg("%u cases wrong", bad);
}

/* test_parse_prefix - the exported prefix parser */
static void test_parse_prefix(void **state)
{
	static const struct { const char *in; int ret; const char *net; unsigned plen; } t[] = {
		{ "", -EINVAL, NULL, 0 }, { "1.2.3", -EINVAL, NULL, 0 },
		{ "1.2.3.4/", -EINVAL, NULL, 0 }, { "1.2.3.4/x", -EINVAL, NULL, 0 },
		{ "1.2.3.4/24", -EINVAL, NULL, 0 }, { "010.1.1.1", -EINVAL, NULL, 0 },
		{ "[1.2.3.4", -EINVAL, NULL, 0 }, { "[::1]x", -EINVAL, NULL, 0 },
		{ "1.2.3.4", 0, "::ffff:1.2.3.4", 128 },
		{ "10.0.0.0/8", 0, "::ffff:10.0.0.0", 104 },
		{ "0.0.0.0/0", 0, "::ffff:0.0.0.0", 96 },
		{ "[192.0.2.0]/24", 0, "::ffff:192.0.2.0", 120 },
		{ "[2001:db8::]/32", 0, "2001:db8::", 32 },
		{ "2001:db8::1", 0, "2001:db8::1", 128 },
		{ "[2001:db8::/48]", 0, "2001:db8::", 48 },
		{ "::/0", 0, "::", 0 },
		/* the fast IPv4 path and where it hands over */
		{ "1.2.3.4.", -EINVAL, NULL, 0 }, { "1..3.4", -EINVAL, NULL, 0 },
		{ ".1.2.3.4", -EINVAL, NULL, 0 }, { "1.2.3.4.5", -EINVAL, NULL, 0 },
		{ "1.2.3.256", -EINVAL, NULL, 0 }, { "1.2.3.00", -EINVAL, NULL, 0 },
		{ "1.2.3.4/33", -EINVAL, NULL, 0 }, { "1.2.3.0/-1", -EINVAL, NULL, 0 },
		{ "1.2.3.0/+24", -EINVAL, NULL, 0 }, { "1.2.3.0/24x", -EINVAL, NULL, 0 },
		{ "1.2.3.0/99999999999999999999999", -EINVAL, NULL, 0 },
		{ "1.2.3.4 ", -EINVAL, NULL, 0 }, { "1.2.3.4/32/32", -EINVAL, NULL, 0 },
		{ "255.255.255.255", 0, "::ffff:255.255.255.255", 128 },
		{ "255.255.255.255/32", 0, "::ffff:255.255.255.255", 128 },
		{ "0.0.0.0", 0, "::ffff:0.0.0.0", 128 },
		{ "1.2.3.0/0024", 0, "::ffff:1.2.3.0", 120 },
		{ "128.0.0.0/1", 0, "::ffff:128.0.0.0", 97 },
		{ "1.2.3.0/24", 0, "::ffff:1.2.3.0", 120 },
		/* the fast IPv6 path and where it hands over */
		{ "1:2:3:4:5:6:7:8::", -EINVAL, NULL, 0 },
		{ "::1:2:3:4:5:6:7:8", -EINVAL, NULL, 0 },
		{ "1::2::3", -EINVAL, NULL, 0 }, { "1:::2", -EINVAL, NULL, 0 },
		{ "1:", -EINVAL, NULL, 0 }, { ":1::", -EINVAL, NULL, 0 },
		{ "12345::", -EINVAL, NULL, 0 }, { "1:2:3:4:5:6:7", -EINVAL, NULL, 0 },
		{ "1:2:3:4:5:6:7:8:9", -EINVAL, NULL, 0 },
		{ "2001:db8::1/64", -EINVAL, NULL, 0 }, { "2001:db8::/129", -EINVAL, NULL, 0 },
		{ "2001:db8::/", -EINVAL, NULL, 0 }, { "2001:db8::g", -EINVAL, NULL, 0 },
		{ "::", 0, "::", 128 }, { "1::", 0, "1::", 128 },
		{ "1:2:3:4:5:6:7::", 0, "1:2:3:4:5:6:7:0", 128 },
		{ "::2:3:4:5:6:7:8", 0, "0:2:3:4:5:6:7:8", 128 },
		{ "2001:DB8:0:0:0:0:0:0/32", 0, "2001:db8::", 32 },
		{ "2001:db8:ffff:cb82:c000::/66", 0, "2001:db8:ffff:cb82:c000::", 66 },
		{ "::ffff:102:300/120", 0, "::ffff:1.2.3.0", 120 },
		{ "::ffff:1.2.3.0/120", 0, "::ffff:1.2.3.0", 120 },
		{ "2001:db8::/0032", 0, "2001:db8::", 32 },
		/* 128 characters or more: refused, as the copy into 128 bytes was */
		{ "1.2.3.0/000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000024",
		  -EINVAL, NULL, 0 },
		{ "1.2.3.0/000000000000000000000000000000000000000000000000000000000"
		  "000000000000000000000000000000000000000000000000000000000024",
		  0, "::ffff:1.2.3.0", 120 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scr_addr a, w;
		unsigned plen = 999;
		int ret = ctl_cidr_parse_prefix(t[i].in, &a, &plen);

		if (ret != t[i].ret)
			fail_msg("\"%s\": ret %d, want %d", t[i].in, ret, t[i].ret);
		if (ret == 0) {
			assert_int_equal(inet_pton(AF_INET6, t[i].net, w.b), 1);
			if (memcmp(&a, &w, sizeof(a)) != 0 || plen != t[i].plen)
				fail_msg("\"%s\": wrong network or length %u", t[i].in, plen);
		}
	}
}

/* ref_prefix - the IPv4 pattern as ctl_prefix read it before its fast
 * path: inet_pton before the '/', strtoul after it, no host bits */
static int ref_prefix(const char *t, struct scr_addr *net, unsigned *plen)
{
	char buf[128], *mask, *end;
	unsigned long v = 32;
	uint32_t a;

	if (strlen(t) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, t);
	mask = strchr(buf, '/');
	if (mask != NULL)
		*mask++ = 0;
	memset(net, 0, sizeof(*net));
	net->b[10] = net->b[11] = 0xff;
	if (inet_pton(AF_INET, buf, net->b + 12) != 1)
		return -EINVAL;
	if (mask != NULL) {
		if (!isdigit((unsigned char)*mask))
			return -EINVAL;
		errno = 0;
		v = strtoul(mask, &end, 10);
		if (*end != 0 || errno != 0 || v > 32)
			return -EINVAL;
	}
	a = (uint32_t)net->b[12] << 24 | (uint32_t)net->b[13] << 16 |
	    (uint32_t)net->b[14] << 8 | net->b[15];
	if (v < 32 && (a & (~0u >> v)) != 0)
		return -EINVAL;
	*plen = 96 + (unsigned)v;
	return 0;
}

/* test_parse_prefix_random - random dotted quads, near misses and junk:
 * the same answer as the inet_pton reading */
static void test_parse_prefix_random(void **state)
{
	static const char *const oct[] = { "0", "1", "9", "10", "99", "100", "199",
					   "200", "249", "250", "255", "256", "300",
					   "01", "00", "000", "0255", "", "1a" };
	static const char *const mask[] = { "", "", "", "/0", "/1", "/8", "/24",
					    "/31", "/32", "/33", "/024", "/",
					    "/x", "/2 4", "/4294967320" };
	static const char alpha[] = "0123456789./";
	uint64_t r = 0x243f6a8885a308d3ull;
	unsigned ok = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		char t[96];
		size_t o = 0;
		struct scr_addr a, b;
		unsigned pa = 0, pb = 0;
		int ra, rb;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		if (r >> 60 < 12) {
			/* four parts mostly, a near miss sometimes */
			unsigned parts = (r >> 56) % 8 ? 4 : 3 + (unsigned)(r >> 55) % 3;

			for (unsigned k = 0; k < parts; k++) {
				unsigned x = (unsigned)(r >> (5 * k)) % 64;

				/* the last part is often 0: a network */
				if (k == parts - 1 && (r >> 40) % 2)
					x = 0;
				o += (size_t)snprintf(t + o, sizeof(t) - o, "%s%s",
						      k ? "." : "",
						      oct[x < 56 ? x % 11 : x % 19]);
			}
			snprintf(t + o, sizeof(t) - o, "%s", mask[(r >> 30) % 15]);
		} else {
			unsigned n = 1 + (unsigned)(r >> 20) % 18;

			for (unsigned k = 0; k < n; k++)
				t[k] = alpha[(r >> (3 * k)) % 12];
			t[n] = 0;
		}
		ra = ctl_cidr_parse_prefix(t, &a, &pa);
		rb = ref_prefix(t, &b, &pb);
		if (ra != rb || (ra == 0 && (memcmp(&a, &b, sizeof(a)) != 0 ||
					     pa != pb)))
			fail_msg("\"%s\": ret %d /%u, inet_pton reading %d /%u", t,
				 ra, pa, rb, pb);
		ok += ra == 0;
	}
	if (ok < 20000 || ok > 180000)	/* the strings hit both sides */
		fail_msg("%u of 200000 strings parsed", ok);
}

/* ref_prefix6 - an IPv6 pattern as ctl_prefix read it before its fast
 * path: inet_pton before the '/', strtoul after it, no host bits; a
 * pattern without ':' is ref_prefix's */
static int ref_prefix6(const char *t, struct scr_addr *net, unsigned *plen)
{
	char buf[128], *mask, *end;
	unsigned long v = 128;
	struct scr_addr m;

	if (strlen(t) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, t);
	mask = strchr(buf, '/');
	if (mask != NULL)
		*mask++ = 0;
	if (strchr(buf, ':') == NULL)
		return ref_prefix(t, net, plen);
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET6, buf, net->b) != 1)
		return -EINVAL;
	if (mask != NULL) {
		if (!isdigit((unsigned char)*mask))
			return -EINVAL;
		errno = 0;
		v = strtoul(mask, &end, 10);
		if (*end != 0 || errno != 0 || v > 128)
			return -EINVAL;
	}
	m = *net;
	for (unsigned i = 0; i < 16; i++)
		if (v < 8 * (i + 1))
			m.b[i] &= (uint8_t)(v <= 8 * i ? 0 : 0xff00u >> (v - 8 * i));
	if (memcmp(&m, net, sizeof(m)) != 0)
		return -EINVAL;
	*plen = (unsigned)v;
	return 0;
}

/* test_parse_prefix6_random - IPv6 patterns of 0-9 groups of 0-5 hex
 * digits, with no, one or two "::", a stray colon or a character that
 * ends the pattern, and masks that fit or leave host bits: the same
 * answer as the inet_pton reading */
static void test_parse_prefix6_random(void **state)
{
	static const char *const mask[] = { "", "", "/0", "/1", "/16", "/32",
					    "/48", "/64", "/100", "/127", "/128",
					    "/129", "/064", "/", "/x", "/6 4" };
	static const char hex[] = "0123456789abcdefABCDEF";
	static const char junk[] = ":.g/ [";
	uint64_t r = 0x13198a2e03707344ull;
	unsigned ok = 0;

	(void)state;
	for (int i = 0; i < 300000; i++) {
		char t[128];
		size_t o = 0;
		struct scr_addr a, b;
		unsigned pa = 0, pb = 0, ng, gap, gap2, keep;
		uint64_t q;
		int ra, rb;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		q = r;
		ng = (unsigned)(q % 10);
		q /= 10;
		gap = q % 3 ? (unsigned)(q / 3 % (ng + 1)) : 99;	/* "::" before it */
		q /= 30;
		gap2 = q % 16 == 0 ? (unsigned)(q / 16 % (ng + 1)) : 99;
		q /= 160;
		keep = (unsigned)(q % 9);	/* groups with digits; then zeros */
		q /= 9;
		for (unsigned k = 0; k <= ng; k++) {
			uint64_t h = r >> (k % 4 * 16) ^ (uint64_t)k * 0x9e3779b97f4a7c15ull;
			unsigned nd = h % 23 == 0 ? (unsigned)(h % 6) : 1 + (unsigned)(h % 4);

			if (k == gap || k == gap2)
				o += (size_t)snprintf(t + o, sizeof(t) - o, "::");
			else if (k > 0 && k < ng)
				t[o++] = ':';
			if (k == ng)
				break;
			for (unsigned d = 0; d < nd; d++) {
				h = h * 6364136223846793005ull + 1;
				t[o++] = k < keep ? hex[(h >> 33) % 22] : '0';
			}
		}
		if (q % 29 == 0)
			t[o++] = junk[q / 29 % 6];
		t[o] = 0;
		snprintf(t + o, sizeof(t) - o, "%s", mask[(r >> 58) % 16]);
		ra = ctl_cidr_parse_prefix(t, &a, &pa);
		rb = ref_prefix6(t, &b, &pb);
		if (ra != rb || (ra == 0 && (memcmp(&a, &b, sizeof(a)) != 0 ||
					     pa != pb)))
			fail_msg("\"%s\": ret %d /%u, inet_pton reading %d /%u", t,
				 ra, pa, rb, pb);
		ok += ra == 0;
	}
	if (ok < 30000 || ok > 270000)	/* the strings hit both sides */
		fail_msg("%u of 300000 strings parsed", ok);
}

struct look_case {
	const char *label;
	const char *list;
	const char *mynet;
	const char *addr;
	enum ctl_acl_result want;
};

#define TBL "cidr:" DATA "/access.cidr"
#define MYN "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"

static const struct look_case look_cases[] = {
	{ "default list, loopback", "permit_mynetworks", MYN, "127.0.0.1", CTL_ACL_PERMIT },
	{ "default list, v6 loopback", "permit_mynetworks", MYN, "::1", CTL_ACL_PERMIT },
	{ "default list, stranger", "permit_mynetworks", MYN, "192.0.2.1", CTL_ACL_DUNNO },
	{ "empty list", "", MYN, "127.0.0.1", CTL_ACL_DUNNO },
	{ "top-level dunno stops the list", "dunno, permit", MYN, "192.0.2.1", CTL_ACL_DUNNO },
	{ "top-level reject", "permit_mynetworks reject", MYN, "192.0.2.1", CTL_ACL_REJECT },
	{ "case-insensitive commands", "PERMIT_MYNETWORKS, Reject", MYN, "127.0.0.2", CTL_ACL_PERMIT },
	{ "first match wins over later prefix", TBL, "", "192.0.2.1", CTL_ACL_REJECT },
	{ "wider prefix after", TBL, "", "192.0.2.2", CTL_ACL_PERMIT },
	{ "IPv6 exact in brackets", TBL, "", "2001:db8::1", CTL_ACL_REJECT },
	{ "IPv6 network", TBL, "", "2001:db8:5::9", CTL_ACL_PERMIT },
	{ "dunno in table continues outer list", TBL ", reject", "", "198.51.100.5", CTL_ACL_REJECT },
	{ "dunno in table ends table lookup", TBL, "", "198.51.100.5", CTL_ACL_DUNNO },
	{ "later rule not consulted after dunno", TBL ", permit", "", "198.51.100.5", CTL_ACL_PERMIT },
	{ "/23 rule reached outside /24", TBL, "", "198.51.101.5", CTL_ACL_REJECT },
	{ "negated pattern matches outside", "cidr:{{!192.0.2.0/24 reject}}", "", "8.8.8.8", CTL_ACL_REJECT },
	{ "negated pattern, inside: no match", "cidr:{{!192.0.2.0/24 reject}}", "", "192.0.2.1", CTL_ACL_DUNNO },
	{ "negated dunno returns from table", TBL ", reject", "", "203.1.1.1", CTL_ACL_REJECT },
	{ "negated dunno: table says dunno", TBL, "", "203.1.1.1", CTL_ACL_DUNNO },
	{ "negated pattern: inside goes on", TBL, "", "203.0.113.7", CTL_ACL_REJECT },
	{ "result permit_mynetworks not in mynetworks", TBL ", reject", "", "203.0.113.8", CTL_ACL_REJECT },
	{ "result permit_mynetworks in mynetworks", TBL ", reject", "203.0.113.8", "203.0.113.8", CTL_ACL_PERMIT },
	{ "continuation line result", TBL, "", "203.0.113.9", CTL_ACL_REJECT },
	{ "if block, inner if not taken", TBL, "", "10.9.9.9", CTL_ACL_REJECT },
	{ "if block, inner negated if skipped", TBL, "", "10.1.2.3", CTL_ACL_PERMIT },
	{ "if block, nothing matched inside", TBL ", dunno", "", "10.1.3.3", CTL_ACL_DUNNO },
	{ "outside all rules", TBL ", permit", "", "8.8.8.8", CTL_ACL_PERMIT },
	{ "inline table", "cidr:{ {192.0.2.7 reject}, {192.0.2.0/24 permit} }", "", "192.0.2.7", CTL_ACL_REJECT },
	{ "inline table second rule", "cidr:{ {192.0.2.7 reject}, {192.0.2.0/24 permit} }", "", "192.0.2.8", CTL_ACL_PERMIT },
	{ "inline result list", "cidr:{{0.0.0.0/0 permit_mynetworks, reject}}", "10.0.0.0/8", "10.2.3.4", CTL_ACL_PERMIT },
	{ "inline result list, second word", "cidr:{{0.0.0.0/0 permit_mynetworks, reject}}", "10.0.0.0/8", "11.2.3.4", CTL_ACL_REJECT },
	{ "relative path against basedir", "cidr:access.cidr", "", "192.0.2.1", CTL_ACL_REJECT },
	{ "v4 and v4-mapped patterns agree", "cidr:{{[::ffff:192.0.2.0]/120 reject}}", "", "192.0.2.9", CTL_ACL_REJECT },
	{ "IPv6 does not match IPv4 rule", "cidr:{{0.0.0.0/0 reject}}", "", "2001:db8::1", CTL_ACL_DUNNO },
	{ "::/0 matches IPv6", "cidr:{{::/0 reject}}", "", "2001:db8::1", CTL_ACL_REJECT },
	{ "mynetworks negation first", "permit_mynetworks", "!10.0.0.1 10.0.0.0/8", "10.0.0.1", CTL_ACL_DUNNO },
	{ "mynetworks after negation", "permit_mynetworks", "!10.0.0.1 10.0.0.0/8", "10.0.0.2", CTL_ACL_PERMIT },
	{ "mynetworks file negation", "permit_mynetworks", DATA "/mynet.txt", "198.18.5.5", CTL_ACL_DUNNO },
	{ "mynetworks file network", "permit_mynetworks", DATA "/mynet.txt", "198.19.1.1", CTL_ACL_PERMIT },
	{ "mynetworks file v6", "permit_mynetworks", DATA "/mynet.txt", "2001:db8:1::5", CTL_ACL_PERMIT },
	{ "mynetworks cidr table, any result", "permit_mynetworks", "cidr:" DATA "/mynet.cidr", "198.18.7.1", CTL_ACL_PERMIT },
	{ "mynetworks negated cidr table", "permit_mynetworks", "!cidr:" DATA "/mynet.cidr, 198.18.0.0/16", "198.18.7.1", CTL_ACL_DUNNO },
};

/* ctl_addr - text to scr_addr */
static void ctl_addr(const char *s, struct scr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, a->b), 1);
	} else {
		a->b[10] = a->b[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, s, a->b + 12), 1);
	}
}

/* test_lookups - first-match semantics */
static void test_lookups(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(look_cases) / sizeof(look_cases[0]); i++) {
		const struct look_case *c = &look_cases[i];
		char err[512] = "";
		struct scr_addr a;
		struct ctl_acl *acl = ctl_acl_compile(c->list, c->mynet, DATA, err,
						      sizeof(err));
		enum ctl_acl_result r;

		if (acl == NULL)
			fail_msg("%s: %s", c->label, err);
		ctl_addr(c->addr, &a);
		r = ctl_acl_lookup(acl, &a);
		if (r != c->want)
			fail_msg("%s: %s -> %d, want %d", c->label, c->addr, r, c->want);
		ctl_acl_destroy(acl);
	}
}

/* test_conf_create - ctl_acl_create reads main.cf and names it in errors */
static void test_conf_create(void **state)
{
	const char *good = "postscreen_access_list = permit_mynetworks, cidr:access.cidr\n"
			   "mynetworks = 198.18.0.0/15\n";
	const char *bad = "x = 1\npostscreen_access_list = permit_mynetworks, OK\n";
	char err[512], path[600];
	struct ctl_conf *conf;
	struct ctl_acl *acl;
	struct scr_addr a;

	(void)state;
	snprintf(path, sizeof(path), "%s/main.cf", DATA);
	conf = ctl_conf_parse(good, strlen(good), path, err, sizeof(err));
	assert_non_null(conf);
	acl = ctl_acl_create(conf, err, sizeof(err));
	if (acl == NULL)
		fail_msg("%s", err);
	ctl_addr("198.18.0.1", &a);
	assert_int_equal(ctl_acl_lookup(acl, &a), CTL_ACL_PERMIT);
	ctl_addr("192.0.2.1", &a);
	assert_int_equal(ctl_acl_lookup(acl, &a), CTL_ACL_REJECT);
	ctl_acl_destroy(acl);
	ctl_conf_destroy(conf);
	conf = ctl_conf_parse(bad, strlen(bad), "main.cf", err, sizeof(err));
	assert_non_null(conf);
	assert_null(ctl_acl_create(conf, err, sizeof(err)));
	assert_string_equal(err, "main.cf:2: postscreen_access_list: unknown command \"OK\" "
			    "(permit_mynetworks, permit, reject, dunno or cidr:table)");
	ctl_conf_destroy(conf);
}

struct pfx_collect {
	unsigned n;
	unsigned v4_24;
};

/* collect - ctl_acl_prefixes callback */
static int collect(void *arg, const struct scr_addr *net, unsigned plen)
{
	struct pfx_collect *c = arg;

	(void)net;
	c->n++;
	c->v4_24 += plen == 120;
	return 0;
}

/* stop_at_3 - callback that stops */
static int stop_at_3(void *arg, const struct scr_addr *net, unsigned plen)
{
	unsigned *n = arg;

	(void)net;
	(void)plen;
	return ++*n == 3 ? 42 : 0;
}

/* test_prefixes - every prefix of the program is reported */
static void test_prefixes(void **state)
{
	char err[512];
	struct pfx_collect c = { 0 };
	unsigned n = 0;
	struct ctl_acl *acl = ctl_acl_compile("permit_mynetworks, " TBL, MYN, DATA,
					      err, sizeof(err));

	(void)state;
	assert_non_null(acl);
	assert_int_equal(ctl_acl_prefixes(acl, collect, &c), 0);
	/* 3 mynetworks + 15 table patterns (3 of them if lines) */
	assert_int_equal(c.n, 3 + 15);
	assert_int_equal(c.v4_24, 4);	/* 192.0.2/24, 198.51.100/24, 203.0.113/24 (neg), 10.1.2/24 */
	assert_int_equal(ctl_acl_prefixes(acl, stop_at_3, &n), 42);
	ctl_acl_destroy(acl);
}

/* test_large_table - 100k plain rules (grouped) agree with a linear walk */
static void test_large_table(void **state)
{
	enum { N = 100000 };
	char path[] = "/tmp/ctl_cidr_test.XXXXXX", list[128], err[512];
	int fd = mkstemp(path);
	FILE *f;
	struct ctl_acl *acl;
	static uint32_t net[N];
	static uint8_t len[N], res[N];
	uint32_t seed = 12345;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		len[i] = (uint8_t)(16 + (seed >> 8) % 17);	/* /16../32 */
		seed = seed * 1103515245u + 12345u;
		net[i] = (seed & 0x00ffffffu) | 0x0a000000u;	/* 10/8 */
		if (len[i] < 32)
			net[i] &= ~((1u << (32 - len[i])) - 1);
		res[i] = (uint8_t)(seed >> 28) % 3;
		fprintf(f, "%u.%u.%u.%u/%u %s\n", net[i] >> 24, (net[i] >> 16) & 255,
			(net[i] >> 8) & 255, net[i] & 255, len[i],
			res[i] == 0 ? "permit" : res[i] == 1 ? "reject" : "dunno");
	}
	fclose(f);
	snprintf(list, sizeof(list), "cidr:%s", path);
	acl = ctl_acl_compile(list, "", "/", err, sizeof(err));
	if (acl == NULL)
		fail_msg("%s", err);
	for (int k = 0; k < 20000; k++) {
		struct scr_addr a = { .b = { [10] = 0xff, [11] = 0xff } };
		uint32_t ip;
		enum ctl_acl_result want = CTL_ACL_DUNNO;

		seed = seed * 1103515245u + 12345u;
		ip = k & 1 ? net[seed % N] | (seed & 0xff) >> (len[seed % N] > 24 ? 8 : 0)
			   : ((seed & 0x00ffffffu) | 0x0a000000u);
		for (int i = 0; i < N; i++) {
			uint32_t m = len[i] ? ~0u << (32 - len[i]) : 0;

			if ((ip & m) == net[i]) {
				want = res[i] == 0 ? CTL_ACL_PERMIT :
				       res[i] == 1 ? CTL_ACL_REJECT : CTL_ACL_DUNNO;
				break;
			}
		}
		a.b[12] = (uint8_t)(ip >> 24);
		a.b[13] = (uint8_t)(ip >> 16);
		a.b[14] = (uint8_t)(ip >> 8);
		a.b[15] = (uint8_t)ip;
		if (ctl_acl_lookup(acl, &a) != want)
			fail_msg("lookup %u.%u.%u.%u differs from the linear walk",
				 ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	}
	ctl_acl_destroy(acl);
	unlink(path);
}

enum { MIXED_N = 20000 };

static struct scr_addr mixed_net[MIXED_N];
static uint8_t mixed_len[MIXED_N], mixed_res[MIXED_N];

/* mixed_cmp - rules by network, then position (a stable sort) */
static int mixed_cmp(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	int d = memcmp(mixed_net[a].b, mixed_net[b].b, 16);

	return d ? d : (a > b) - (a < b);
}

/* test_large_mixed - 20k plain rules, a third IPv6, many lengths and
 * repeats (grouped, sorted over up to 12 bytes), in random order, then
 * sorted by network (the sort's shortcut), against a linear walk */
static void test_large_mixed(void **state)
{
	enum { N = MIXED_N };
	static int ix[N];
	struct scr_addr *net = mixed_net;
	uint8_t *len = mixed_len, *res = mixed_res;
	uint64_t r = 99;

	(void)state;
	for (int i = 0; i < N; i++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		if (i > 0 && r % 10 == 0) {	/* a repeat: the first one wins */
			net[i] = net[(r >> 20) % i];
			len[i] = len[(r >> 20) % i];
		} else if (r % 3 == 0) {
			ctl_addr("2001:db8::", &net[i]);
			len[i] = (uint8_t)(32 + (r >> 8) % 97);
			for (int b = 4; b < 16; b++)
				net[i].b[b] = (uint8_t)(r >> (b * 4));
		} else {
			ctl_addr("10.0.0.0", &net[i]);
			len[i] = (uint8_t)(96 + 8 + (r >> 8) % 25);
			for (int b = 13; b < 16; b++)
				net[i].b[b] = (uint8_t)(r >> (b * 4));
		}
		for (unsigned b = len[i]; b < 128; b++)
			net[i].b[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		res[i] = (uint8_t)(r >> 60) % 3;
		ix[i] = i;
	}
	for (int pass = 0; pass < 2; pass++) {
		char path[] = "/tmp/ctl_cidr_test.XXXXXX", list[128], err[512];
		int fd = mkstemp(path);
		struct ctl_acl *acl;
		FILE *f;

		if (pass == 1)
			qsort(ix, N, sizeof(ix[0]), mixed_cmp);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		for (int k = 0; k < N; k++) {
			int i = ix[k];
			char t[INET6_ADDRSTRLEN];

			if (net[i].b[0] == 0) {	/* 10/8, not 2001:db8::/32 */
				inet_ntop(AF_INET, net[i].b + 12, t, sizeof(t));
				fprintf(f, "%s/%u", t, len[i] - 96);
			} else {
				inet_ntop(AF_INET6, net[i].b, t, sizeof(t));
				fprintf(f, "%s/%u", t, len[i]);
			}
			fprintf(f, " %s\n", res[i] == 0 ? "permit" :
				res[i] == 1 ? "reject" : "dunno");
		}
		fclose(f);
		snprintf(list, sizeof(list), "cidr:%s", path);
		acl = ctl_acl_compile(list, "", "/", err, sizeof(err));
		if (acl == NULL)
			fail_msg("%s", err);
		for (int q = 0; q < 3000; q++) {
			struct scr_addr a;
			enum ctl_acl_result want = CTL_ACL_DUNNO;
			int at;

			r = r * 6364136223846793005ull + 1442695040888963407ull;
			at = (int)((r >> 16) % N);
			a = net[at];		/* inside one, or near */
			for (int b = len[at] - (int)(r % 3); b < 128; b++)
				if (b >= 0 && (r >> (b % 64)) & 1)
					a.b[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			for (int k = 0; k < N; k++) {
				int i = ix[k];
				unsigned full = len[i] / 8, rem = len[i] % 8;

				if (memcmp(a.b, net[i].b, full) == 0 &&
				    (rem == 0 || ((a.b[full] ^ net[i].b[full]) &
						  (uint8_t)(0xff00u >> rem)) == 0)) {
					want = res[i] == 0 ? CTL_ACL_PERMIT :
					       res[i] == 1 ? CTL_ACL_REJECT : CTL_ACL_DUNNO;
					break;
				}
			}
			if (ctl_acl_lookup(acl, &a) != want) {
				char t[INET6_ADDRSTRLEN];

				inet_ntop(AF_INET6, a.b, t, sizeof(t));
				fail_msg("%s: lookup %s differs from the linear walk",
					 pass ? "sorted" : "random order", t);
			}
		}
		ctl_acl_destroy(acl);
		unlink(path);
	}
}

struct region_case {
	const char *label;
	const char *list;
	const char *mynet;
	const char *want;	/* "first-address answer, ...", by address */
};

static const struct region_case region_cases[] = {
	{ "empty list", "", "", ":: dunno" },
	{ "reject everything", "reject", "", ":: reject" },
	{ "top-level dunno stops", "dunno, reject", "", ":: dunno" },
	{ "one /8", "cidr:{{10.0.0.0/8 reject}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "first match: hole in a wider prefix",
	  "cidr:{{10.1.0.0/16 permit}, {10.0.0.0/8 reject}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:10.1.0.0 permit, "
	  "::ffff:10.2.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "first match: narrower prefix after, shadowed",
	  "cidr:{{10.0.0.0/8 reject}, {10.1.0.0/16 permit}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "neighbours with one answer are one region",
	  "cidr:{{10.0.0.0/9 reject}, {10.128.0.0/9 reject}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "negation", "cidr:{{!10.0.0.0/8 reject}}", "",
	  ":: reject, ::ffff:10.0.0.0 dunno, ::ffff:11.0.0.0 reject" },
	{ "if block", "cidr:{{if 10.0.0.0/8}, {0.0.0.0/0 reject}, {endif}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "if ! block", "cidr:{{if !10.0.0.0/8}, {0.0.0.0/0 reject}, {endif}}", "",
	  ":: dunno, ::ffff:0.0.0.0 reject, ::ffff:10.0.0.0 dunno, "
	  "::ffff:11.0.0.0 reject, ::1:0:0:0 dunno" },
	{ "nested if blocks and a later rule",
	  "cidr:{{if 10.0.0.0/8}, {if !10.1.0.0/16}, {10.0.0.0/8 reject}, {endif}, "
	  "{endif}, {10.0.0.0/7 permit}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:10.1.0.0 permit, "
	  "::ffff:10.2.0.0 reject, ::ffff:11.0.0.0 permit, ::ffff:12.0.0.0 dunno" },
	{ "dunno in a table: the outer list goes on", "cidr:{{10.0.0.0/8 dunno}}, reject",
	  "", ":: reject" },
	{ "dunno in a table ends the table",
	  "cidr:{{10.0.0.0/8 dunno}, {0.0.0.0/0 permit}}", "",
	  ":: dunno, ::ffff:0.0.0.0 permit, ::ffff:10.0.0.0 dunno, "
	  "::ffff:11.0.0.0 permit, ::1:0:0:0 dunno" },
	{ "two tables", "cidr:{{10.0.0.0/8 dunno}}, cidr:{{10.0.0.0/7 reject}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:12.0.0.0 dunno" },
	{ "mynetworks with a negation", "permit_mynetworks, reject",
	  "!10.1.0.0/16 10.0.0.0/8",
	  ":: reject, ::ffff:10.0.0.0 permit, ::ffff:10.1.0.0 reject, "
	  "::ffff:10.2.0.0 permit, ::ffff:11.0.0.0 reject" },
	{ "mynetworks as a table result",
	  "cidr:{{10.0.0.0/8 permit_mynetworks reject}}", "10.1.0.0/16",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:10.1.0.0 permit, "
	  "::ffff:10.2.0.0 reject, ::ffff:11.0.0.0 dunno" },
	{ "mynetworks cidr table, negated", "permit_mynetworks",
	  "!cidr:{{10.1.0.0/16 x}} 10.0.0.0/8",
	  ":: dunno, ::ffff:10.0.0.0 permit, ::ffff:10.1.0.0 dunno, "
	  "::ffff:10.2.0.0 permit, ::ffff:11.0.0.0 dunno" },
	{ "IPv6", "cidr:{{2001:db8::/32 reject}}", "",
	  ":: dunno, 2001:db8:: reject, 2001:db9:: dunno" },
	{ "::/0 holds the IPv4 addresses too", "cidr:{{::/0 reject}}", "", ":: reject" },
	{ "the last address", "cidr:{{ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff reject}}",
	  "", ":: dunno, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff reject" },
	{ "a big group", "cidr:{{10.0.0.0/24 reject}, {10.0.1.0/24 reject}, "
	  "{10.0.0.128/25 permit}, {10.0.0.0/16 permit}, {10.0.0.0/24 permit}, "
	  "{2001:db8::/48 dunno}, {2001:db8::/32 reject}}", "",
	  ":: dunno, ::ffff:10.0.0.0 reject, ::ffff:10.0.2.0 permit, "
	  "::ffff:10.1.0.0 dunno, 2001:db8:1:: reject, 2001:db9:: dunno" },
};

/* u128_text - an address as a number */
static unsigned __int128 u128_text(const char *t)
{
	struct scr_addr a;
	unsigned __int128 x = 0;

	ctl_addr(t, &a);
	for (int i = 0; i < 16; i++)
		x = x << 8 | a.b[i];
	return x;
}

/* u128_addr - a number as an address */
static struct scr_addr u128_addr(unsigned __int128 x)
{
	struct scr_addr a;

	for (int i = 15; i >= 0; i--, x >>= 8)
		a.b[i] = (uint8_t)x;
	return a;
}

/* test_regions - the answer over the address space, row by row */
static void test_regions(void **state)
{
	static const char *const res[] = { "dunno", "permit", "reject" };
	unsigned bad = 0;

	(void)state;
	for (size_t c = 0; c < sizeof(region_cases) / sizeof(region_cases[0]); c++) {
		const struct region_case *rc = &region_cases[c];
		struct ctl_acl_regions rg;
		char err[512], want[512], *tok, *save = NULL;
		struct ctl_acl *acl = ctl_acl_compile(rc->list, rc->mynet, DATA, err,
						      sizeof(err));
		unsigned __int128 ws[16];
		int wr[16];
		size_t nw = 0;

		if (acl == NULL)
			fail_msg("%s: %s", rc->label, err);
		assert_int_equal(ctl_acl_regions_init(&rg, acl), 0);
		snprintf(want, sizeof(want), "%s", rc->want);
		for (tok = strtok_r(want, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char a[64], r[16];

			assert_int_equal(sscanf(tok, " %63s %15s", a, r), 2);
			ws[nw] = u128_text(a);
			wr[nw] = strcmp(r, "dunno") == 0 ? CTL_ACL_DUNNO :
				 strcmp(r, "permit") == 0 ? CTL_ACL_PERMIT : CTL_ACL_REJECT;
			nw++;
		}
		if (rg.n != nw) {
			print_error("%s: %zu regions, want %zu\n", rc->label, rg.n, nw);
			bad++;
		}
		for (size_t i = 0; i < rg.n && i < nw; i++)
			if (rg.start[i] != ws[i] || rg.res[i] != wr[i]) {
				struct scr_addr a = u128_addr(rg.start[i]);
				char t[64];

				inet_ntop(AF_INET6, a.b, t, sizeof(t));
				print_error("%s: region %zu: %s %s\n", rc->label, i, t,
					    res[rg.res[i] % 3]);
				bad++;
			}
		ctl_acl_regions_fini(&rg);
		ctl_acl_destroy(acl);
	}
	if (bad)
		fail_msg("%u regions wrong", bad);
}

/* rnd_pfx - random prefix text, often inside one of the earlier ones */
static void rnd_pfx(uint64_t *r, char (*pool)[64], unsigned *plens, unsigned np,
		    char *out, size_t len, unsigned *plen)
{
	struct scr_addr a;
	unsigned pl, v6, keep;

	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	if (np > 0 && (*r >> 63)) {	/* inside an earlier one */
		unsigned k = (unsigned)(*r >> 32) % np;

		ctl_addr(pool[k], &a);
		pl = plens[k] + 1 + (unsigned)(*r >> 20) % 10;
	} else {
		v6 = (*r >> 40) % 4 == 0;
		ctl_addr(v6 ? "2001:db8::" : "10.0.0.0", &a);
		pl = v6 ? 32 + (unsigned)(*r >> 12) % 40 : 96 + 8 + (unsigned)(*r >> 12) % 20;
	}
	pl = pl > 128 ? 128 : pl;
	keep = a.b[10] == 0xff ? 96 + 8 : 32;	/* stay in 10/8, 2001:db8::/32 */
	for (unsigned i = 0; i < 16; i++) {
		*r = *r * 6364136223846793005ull + 1442695040888963407ull;
		for (unsigned b = 0; b < 8; b++) {
			unsigned bit = i * 8 + b;
			uint8_t m = (uint8_t)(0x80 >> b);

			if (bit < keep)
				continue;
			if (bit < pl && (*r >> (b + 16)) & 1)
				a.b[i] |= m;
			else if (bit >= pl)
				a.b[i] &= (uint8_t)~m;
		}
	}
	if (a.b[10] == 0xff && a.b[11] == 0xff && pl >= 96) {
		char t[32];

		inet_ntop(AF_INET, a.b + 12, t, sizeof(t));
		snprintf(out, len, "%s/%u", t, pl - 96);
	} else {
		char t[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, a.b, t, sizeof(t));
		snprintf(out, len, "[%s]/%u", t, pl);
	}
	*plen = pl;
}

/* test_regions_random - random lists: every region's first address and
 * the one before it, and random addresses, against ctl_acl_lookup */
static void test_regions_random(void **state)
{
	static const char *const tops[] = { "cidr:%s", "permit_mynetworks, cidr:%s",
					    "cidr:%s, permit_mynetworks, reject",
					    "cidr:%s, cidr:{{10.0.0.0/9 reject}}, permit" };
	static const char *const res[] = { "permit", "reject", "dunno",
					   "permit_mynetworks reject",
					   "permit_mynetworks dunno" };
	uint64_t r = 7;
	size_t checked = 0;

	(void)state;
	for (int round = 0; round < 300; round++) {
		char table[8192], list[8300], mynet[256], err[512];
		char pool[64][64];
		unsigned plens[64], np = 0, depth = 0, lines;
		size_t o = 0;
		struct ctl_acl_regions rg;
		struct ctl_acl *acl;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		lines = 1 + (unsigned)(r >> 33) % 40;
		o += (size_t)snprintf(table + o, sizeof(table) - o, "{");
		for (unsigned i = 0; i < lines; i++) {
			char t[64];
			unsigned pl, k;

			rnd_pfx(&r, pool, plens, np, t, sizeof(t), &pl);
			k = (unsigned)(r >> 50) % 12;
			if (k == 0 && depth < 3) {
				o += (size_t)snprintf(table + o, sizeof(table) - o,
						      "{if %s%s}, ", r >> 62 ? "" : "!", t);
				depth++;
			} else if (k == 1 && depth > 0) {
				o += (size_t)snprintf(table + o, sizeof(table) - o,
						      "{endif}, ");
				depth--;
			} else {
				o += (size_t)snprintf(table + o, sizeof(table) - o,
						      "{%s%s %s}, ", k == 2 ? "!" : "", t,
						      res[(r >> 20) % 5]);
			}
			if (np < 64) {
				snprintf(pool[np], sizeof(pool[np]), "%.*s",
					 (int)strcspn(t[0] == '[' ? t + 1 : t, "]/"),
					 t[0] == '[' ? t + 1 : t);
				plens[np++] = pl;
			}
		}
		while (depth-- > 0)
			o += (size_t)snprintf(table + o, sizeof(table) - o, "{endif}, ");
		snprintf(table + o - 2, sizeof(table) - o + 2, "}");
		snprintf(list, sizeof(list), tops[round % 4], table);
		snprintf(mynet, sizeof(mynet), "!10.%u.%u.0/24 10.%u.0.0/16 %s",
			 (unsigned)(r >> 8) % 4, (unsigned)(r >> 16) % 256,
			 (unsigned)(r >> 8) % 4, round % 3 ? "" :
			 "cidr:{{[2001:db8::]/33 x}}");
		acl = ctl_acl_compile(list, mynet, DATA, err, sizeof(err));
		if (acl == NULL)
			fail_msg("round %d: %s: %s", round, list, err);
		assert_int_equal(ctl_acl_regions_init(&rg, acl), 0);
		assert_true(rg.n >= 1 && rg.start[0] == 0);
		for (size_t i = 0; i < rg.n; i++) {
			struct scr_addr a = u128_addr(rg.start[i]);

			if (i > 0 && (rg.start[i] <= rg.start[i - 1] ||
				      rg.res[i] == rg.res[i - 1]))
				fail_msg("round %d: region %zu out of order or equal "
					 "to its neighbour", round, i);
			if (ctl_acl_lookup(acl, &a) != rg.res[i])
				fail_msg("round %d: %s: region %zu's first address",
					 round, list, i);
			if (i > 0) {
				a = u128_addr(rg.start[i] - 1);
				if (ctl_acl_lookup(acl, &a) != rg.res[i - 1])
					fail_msg("round %d: %s: region %zu's last "
						 "address", round, list, i - 1);
			}
			checked += 2;
		}
		for (int k = 0; k < 200; k++) {
			unsigned __int128 x;
			size_t i = rg.n - 1;
			struct scr_addr a;

			r = r * 6364136223846793005ull + 1442695040888963407ull;
			x = k % 2 ? u128_text("::ffff:10.0.0.0") | (uint32_t)(r >> 40)
				  : u128_text("2001:db8::") |
				    ((unsigned __int128)r << 30 >> 33);
			while (i > 0 && rg.start[i] > x)
				i--;
			a = u128_addr(x);
			if (ctl_acl_lookup(acl, &a) != rg.res[i])
				fail_msg("round %d: %s: a random address", round, list);
			checked++;
		}
		ctl_acl_regions_fini(&rg);
		ctl_acl_destroy(acl);
	}
	assert_true(checked > 60000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test_setup_teardown(test_refused_files, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_table_too_large, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_bad_deep, files_setup,
						files_teardown),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_parse_prefix_random),
		cmocka_unit_test(test_parse_prefix6_random),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_conf_create),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_large_table),
		cmocka_unit_test(test_large_mixed),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_regions_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
