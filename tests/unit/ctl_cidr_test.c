/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cidr_test - cidr tables, mynetworks and postscreen_access_list
 * DESCRIPTION
 *	Bad tables first (each message with file:line), then lookups over
 *	{label, access list, mynetworks, address, expected} rows: first match,
 *	negation, if/endif nesting, IPv6, dunno inside and outside a table;
 *	then a large table (grouped rules) against a linear reference.
 *	Files that fight back: a directory, FIFO or device as a table or a
 *	mynetworks /file/name, a read error, a file over the size bound; each
 *	is an error naming the file, never an empty table.
 */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test_setup_teardown(test_refused_files, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_table_too_large, files_setup,
						files_teardown),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_conf_create),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_large_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
