/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_dnsbl_test - postscreen_dnsbl_sites parsing, then live lookups
 * against Debian's rbldnsd on 127.0.0.1 (random port, zones written here).
 * The resolver the module talks to is this test's own UDP "resolver" (a
 * thread): it forwards to rbldnsd, except for the zones dead.test (never
 * answered), junk.test (a reply with the right id and question, then
 * garbage), fail.test (SERVFAIL) and noise.test (random bytes, wrong id:
 * the resolver must ignore them, so the zone times out).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_dnsbl.h"
#include "scr_engine.h"

/* ---- helpers ------------------------------------------------------------ */

static struct scr_addr v4(const char *s)
{
	struct scr_addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = a.b[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, s, a.b + 12), 1);
	return a;
}

static struct scr_addr v6(const char *s)
{
	struct scr_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	return a;
}

static struct ctl_conf *conf_of(const char *text)
{
	char err[512];
	struct ctl_conf *c = ctl_conf_parse(text, strlen(text), "main.cf", err,
					    sizeof(err));

	if (c == NULL)
		fail_msg("conf: %s", err);
	return c;
}

static uint64_t clock_off;	/* fake time jumps for TTL tests */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
	       clock_off;
}

/* ---- parse (no network) ------------------------------------------------ */

struct bad_case {
	const char *label, *sites, *err;
};

static const struct bad_case bad_cases[] = {
	{ "range with a letter", "zen.example=127.0.0.[2..x]*2",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0.[2..x]*2\": "
	  "reply filter \"127.0.0.[2..x]\": numeric range error in field 4" },
	{ "range backwards", "zen.example=127.0.0.[4..2]",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0.[4..2]\": "
	  "reply filter \"127.0.0.[4..2]\": numeric range error in field 4" },
	{ "octet too big", "zen.example=127.0.0.256",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0.256\": "
	  "reply filter \"127.0.0.256\": field 4 is not a number 0..255 or a [sequence]" },
	{ "three fields", "zen.example=127.0.0",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0\": "
	  "reply filter \"127.0.0\": expected four dot-separated fields" },
	{ "unclosed sequence", "zen.example=127.0.0.[2;3",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0.[2;3\": "
	  "reply filter \"127.0.0.[2;3\": missing \"]\" character" },
	{ "sequence spans fields", "zen.example=127.0.[0.255].1",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.[0.255].1\": "
	  "reply filter \"127.0.[0.255].1\": expected \";\"-separated numbers 0..255 or "
	  "number..number ranges inside []" },
	{ "number and sequence", "zen.example=127.0.0.3[6..9]",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=127.0.0.3[6..9]\": "
	  "reply filter \"127.0.0.3[6..9]\": garbage after pattern" },
	{ "empty filter", "zen.example=*2",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=*2\": empty reply filter" },
	{ "weight not a number", "zen.example*x",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example*x\": "
	  "bad weight \"x\" (an integer -1000000..1000000)" },
	{ "weight with junk", "zen.example*2x",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example*2x\": "
	  "bad weight \"2x\" (an integer -1000000..1000000)" },
	{ "empty weight", "zen.example*",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example*\": "
	  "bad weight \"\" (an integer)" },
	{ "no domain", "=127.0.0.2",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"=127.0.0.2\": empty domain name" },
	{ "bad character", "zen!.example",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen!.example\": "
	  "bad character in domain name \"zen!.example\"" },
	{ "leading hyphen", "-zen.example",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"-zen.example\": "
	  "bad domain name \"-zen.example\"" },
	{ "empty label", "zen..example",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen..example\": "
	  "bad domain name \"zen..example\"" },
	{ "numeric name", "127.0.0.1",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"127.0.0.1\": "
	  "bad domain name \"127.0.0.1\"" },
	{ "second entry bad", "ok.example, zen.example=1.2.3.4*",
	  "main.cf:1: postscreen_dnsbl_sites: bad entry \"zen.example=1.2.3.4*\": "
	  "bad weight \"\" (an integer)" },
};

/* test_parse_bad - each bad entry refused, the message names it */
static void test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char text[512], err[512] = "";
		struct ctl_conf *c;
		struct ctl_dnsbl *d;

		snprintf(text, sizeof(text), "postscreen_dnsbl_sites = %s\n",
			 bad_cases[i].sites);
		c = conf_of(text);
		errno = 0;
		d = ctl_dnsbl_create(c, "127.0.0.1:9", err, sizeof(err));
		if (d != NULL || errno != EINVAL ||
		    strcmp(err, bad_cases[i].err) != 0)
			fail_msg("%s: got \"%s\"\n  want \"%s\"", bad_cases[i].label,
				 err, bad_cases[i].err);
		ctl_conf_destroy(c);
	}
}

/* test_create_bad_other - servers and reply map errors */
static void test_create_bad_other(void **state)
{
	static const struct bad_case cases[] = {
		{ "server name, not IP", "bl.example", "dnsbl: bad DNS server list "
		  "\"dns.example\" (IP[:port][,IP[:port]])" },
		{ "reply map type", "bl.example\npostscreen_dnsbl_reply_map = hash:/x",
		  "main.cf:2: postscreen_dnsbl_reply_map: unsupported table "
		  "\"hash:/x\" (inline:{...} or texthash:file)" },
		{ "reply map entry", "bl.example\npostscreen_dnsbl_reply_map = inline:{bl.example}",
		  "main.cf:2: postscreen_dnsbl_reply_map: missing '=' in \"bl.example\"" },
	};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char text[512], err[512] = "";
		struct ctl_conf *c;

		snprintf(text, sizeof(text), "postscreen_dnsbl_sites = %s\n",
			 cases[i].sites);
		c = conf_of(text);
		errno = 0;
		assert_null(ctl_dnsbl_create(c, i == 0 ? "dns.example" : NULL, err,
					     sizeof(err)));
		assert_int_equal(errno, EINVAL);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("%s: got \"%s\"", cases[i].label, err);
		ctl_conf_destroy(c);
	}
}

struct good_case {
	const char *entry, *domain;
	int weight;
	bool filter;
	const char *match, *nomatch;	/* space-separated answers */
};

static const struct good_case good_cases[] = {
	{ "zen.example", "zen.example", 1, false, "127.0.0.2 1.2.3.4", "" },
	{ "Zen.Example*3", "zen.example", 3, false, "127.0.0.2", "" },
	{ "wl.example*-2", "wl.example", -2, false, "127.0.0.2", "" },
	{ "bl.example=127.0.0.2", "bl.example", 1, true, "127.0.0.2",
	  "127.0.0.3 127.0.1.2" },
	{ "bl.example=127.0.0.[2..11]*2", "bl.example", 2, true,
	  "127.0.0.2 127.0.0.11 127.0.0.7", "127.0.0.1 127.0.0.12" },
	{ "bl.example=127.0.0.[2;4;6..8]", "bl.example", 1, true,
	  "127.0.0.2 127.0.0.4 127.0.0.6 127.0.0.8", "127.0.0.3 127.0.0.5 127.0.0.9" },
	{ "dnswl.example=127.0.[0..255].[1..3]*-5", "dnswl.example", -5, true,
	  "127.0.5.1 127.0.255.3", "127.0.5.0 127.1.5.1" },
	{ "a-b_c.example=[1;2].[0..255].0.[0..255]*0", "a-b_c.example", 0, true,
	  "1.9.0.9 2.0.0.0", "3.0.0.0 1.0.1.0" },
};

/* match_all - every address in list gives want */
static void match_all(const struct ctl_dnsbl_pattern *p, const char *list,
		      bool want, const char *entry)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		uint8_t a[4];

		assert_int_equal(inet_pton(AF_INET, t, a), 1);
		if (ctl_dnsbl_filter_match(p, a) != want)
			fail_msg("%s: %s should %smatch", entry, t, want ? "" : "not ");
	}
}

/* test_parse_good - parsed form and filter matching */
static void test_parse_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *g = &good_cases[i];
		struct ctl_dnsbl_pattern p;
		char why[256] = "";

		if (ctl_dnsbl_parse_entry(g->entry, strlen(g->entry), &p, why,
					  sizeof(why)) != 0)
			fail_msg("%s: %s", g->entry, why);
		assert_string_equal(p.domain, g->domain);
		assert_int_equal(p.weight, g->weight);
		assert_int_equal(p.has_filter, g->filter);
		match_all(&p, g->match, true, g->entry);
		match_all(&p, g->nomatch, false, g->entry);
	}
}

/* test_query_name - reversed octets and nibbles */
static void test_query_name(void **state)
{
	char buf[340], small[20];
	struct scr_addr a4 = v4("198.18.0.10"), a6 = v6("2001:db8::10");

	(void)state;
	assert_int_equal(ctl_dnsbl_query_name(&a4, "zen.example", small, 12), -ENOSPC);
	assert_int_equal(ctl_dnsbl_query_name(&a6, "zen.example", small, sizeof(small)),
			 -ENOSPC);
	assert_int_equal(ctl_dnsbl_query_name(&a4, "zen.example", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.0.18.198.zen.example");
	assert_int_equal(ctl_dnsbl_query_name(&a6, "zen.example", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			    "8.b.d.0.1.0.0.2.zen.example");
}

/* test_reply_and_outcome - thresholds (edges), reply text, no sites */
static void test_reply_and_outcome(void **state)
{
	static const struct {
		int score, want;
	} edges[] = {
		{ 3, SCR_DNSBL_FAIL }, { 4, SCR_DNSBL_FAIL }, { 2, SCR_DNSBL_NEUTRAL },
		{ 0, SCR_DNSBL_NEUTRAL }, { -1, SCR_DNSBL_NEUTRAL },
		{ -2, SCR_DNSBL_ALLOW }, { -7, SCR_DNSBL_ALLOW },
	};
	struct ctl_conf *c = conf_of("postscreen_dnsbl_sites = bl.example\n"
				     "postscreen_dnsbl_threshold = 3\n"
				     "postscreen_dnsbl_whitelist_threshold = -2\n");
	struct ctl_dnsbl_result r;
	struct scr_addr a = v4("198.18.0.10"), b = v6("2001:db8::10");
	char err[256], buf[256];
	struct ctl_dnsbl *d = ctl_dnsbl_create(c, "127.0.0.1:9", err, sizeof(err));

	(void)state;
	assert_non_null(d);
	assert_true(ctl_dnsbl_enabled(d));
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (ctl_dnsbl_outcome(d, edges[i].score) != edges[i].want)
			fail_msg("score %d: outcome %d want %d", edges[i].score,
				 ctl_dnsbl_outcome(d, edges[i].score), edges[i].want);
	memset(&r, 0, sizeof(r));
	snprintf(r.site, sizeof(r.site), "zen.example");
	ctl_dnsbl_reply(&a, &r, true, buf, sizeof(buf));
	assert_string_equal(buf, "521 5.7.1 Service unavailable; client [198.18.0.10] "
			    "blocked using zen.example\r\n");
	r.site[0] = 0;
	ctl_dnsbl_reply(&b, &r, false, buf, sizeof(buf));
	assert_string_equal(buf, "550 5.7.1 Service unavailable; client [2001:db8::10] "
			    "blocked using a DNS blocklist\r\n");
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

/* ---- live: rbldnsd + the test's resolver -------------------------------- */

static char zdir[64];
static pid_t rbl_pid = -1;
static int rbl_port, res_port;
static pthread_t res_thr;
static atomic_int res_stop;
static int res_fd = -1;
static atomic_uint res_queries;

static const char *zone_files[][2] = {
	{ "zen-a", "$SOA 120 ns.test. admin.test. 1 600 300 86400 120\n$TTL 300\n"
		   ":127.0.0.2:listed\n198.18.0.10\n198.18.0.12\n"
		   "198.18.0.11 :127.0.0.4\n198.18.0.13 :127.0.0.10\n" },
	{ "zen-b", "$TTL 300\n:127.0.0.4:also\n198.18.0.10\n" },
	{ "zen-6", "$TTL 250\n2001:db8::10 :127.0.0.2\n" },
	{ "bl2", "$SOA 200 ns.test. admin.test. 1 600 300 86400 200\n$TTL 600\n"
		 ":127.0.0.2:listed\n198.18.0.10\n198.18.0.11\n" },
	{ "bl2-6", "$TTL 600\n2001:db8::10 :127.0.0.2\n" },
	{ "bl3", "$SOA 150 ns.test. admin.test. 1 600 300 86400 150\n$TTL 45\n"
		 ":127.0.0.3:listed\n198.18.0.10\n198.18.0.50\n" },
	{ "wl", "$SOA 100 ns.test. admin.test. 1 600 300 86400 100\n$TTL 900\n"
		":127.0.5.2:ok\n198.18.0.50\n198.18.0.12\n" },
	{ "open", "$TTL 60\n:127.0.0.2:x\n198.18.0.0/16\n" },
	/* a list's error codes (Spamhaus: over the limit, public resolver) */
	{ "err", "$TTL 300\n198.18.0.10 :127.255.255.254\n198.18.0.11 :127.255.255.255\n" },
};

/* free_port - an unused UDP port on 127.0.0.1 */
static int free_port(int *keep_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return ntohs(sa.sin_port);
}

/* qname_has - does the query's name end in zone */
static bool qname_has(const uint8_t *q, ssize_t n, const char *zone)
{
	char name[300];
	size_t o = 0;
	ssize_t p = 12;

	while (p < n && q[p] != 0 && o + q[p] + 2 < sizeof(name)) {
		if (p + 1 + q[p] > n)
			return false;
		memcpy(name + o, q + p + 1, q[p]);
		o += q[p];
		name[o++] = '.';
		p += 1 + q[p];
	}
	name[o] = 0;
	return o >= strlen(zone) && strstr(name, zone) != NULL;
}

/* resolver - forward to rbldnsd, misbehave for the test zones */
static void *resolver(void *arg)
{
	int up = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in rbl = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 2 };

	(void)arg;
	rbl.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rbl.sin_port = htons((uint16_t)rbl_port);
	setsockopt(up, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&res_stop)) {
		struct pollfd pf = { .fd = res_fd, .events = POLLIN };
		uint8_t q[512], r[512];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n, m;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		n = recvfrom(res_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 12)
			continue;
		atomic_fetch_add(&res_queries, 1);
		if (qname_has(q, n, ".dead.test."))
			continue;
		if (qname_has(q, n, ".junk.test.")) {
			memcpy(r, q, (size_t)n);	/* id + question */
			r[2] = 0x81;
			r[3] = 0x80;
			r[7] = 1;			/* ancount 1 */
			memcpy(r + n, "\xc0\x0c\x00\x01\xde\xad", 6);	/* cut RR */
			sendto(res_fd, r, (size_t)n + 6, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		if (qname_has(q, n, ".fail.test.")) {
			memcpy(r, q, (size_t)n);
			r[2] = 0x81;
			r[3] = 0x82;			/* SERVFAIL */
			sendto(res_fd, r, (size_t)n, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		if (qname_has(q, n, ".noise.test.")) {
			for (int i = 0; i < 40; i++)
				r[i] = (uint8_t)(i * 37 + 11);
			r[0] = (uint8_t)(q[0] ^ 0x5a);	/* not the query's id */
			sendto(res_fd, r, 40, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		if (sendto(up, q, (size_t)n, 0, (struct sockaddr *)&rbl, sizeof(rbl)) < 0)
			continue;
		m = recv(up, r, sizeof(r), 0);
		if (m > 0)
			sendto(res_fd, r, (size_t)m, 0, (struct sockaddr *)&from, fl);
	}
	close(up);
	return NULL;
}

/* live_setup - zone files, rbldnsd, the resolver thread */
static int live_setup(void **state)
{
	char path[128], bport[64];
	char *argv[32];
	int ac = 0;

	(void)state;
	snprintf(zdir, sizeof(zdir), "/tmp/ctl_dnsbl_test.XXXXXX");
	assert_non_null(mkdtemp(zdir));
	/* rbldnsd drops root for its own user: it must read the zones */
	assert_int_equal(chmod(zdir, 0755), 0);
	for (size_t i = 0; i < sizeof(zone_files) / sizeof(zone_files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", zdir, zone_files[i][0]);
		assert_non_null(f = fopen(path, "w"));
		fputs(zone_files[i][1], f);
		fclose(f);
		assert_int_equal(chmod(path, 0644), 0);
	}
	rbl_port = free_port(NULL);
	snprintf(bport, sizeof(bport), "127.0.0.1/%d", rbl_port);
	argv[ac++] = "rbldnsd";
	argv[ac++] = "-n";
	argv[ac++] = "-r";
	argv[ac++] = zdir;
	argv[ac++] = "-b";
	argv[ac++] = bport;
	argv[ac++] = "zen.test:ip4set:zen-a,zen-b";
	argv[ac++] = "zen.test:ip6trie:zen-6";
	argv[ac++] = "bl2.test:ip4set:bl2";
	argv[ac++] = "bl2.test:ip6trie:bl2-6";
	argv[ac++] = "bl3.test:ip4set:bl3";
	argv[ac++] = "wl.test:ip4set:wl";
	argv[ac++] = "open.test:ip4set:open";
	argv[ac++] = "err.test:ip4set:err";
	argv[ac] = NULL;
	rbl_pid = fork();
	assert_true(rbl_pid >= 0);
	if (rbl_pid == 0) {
		/* dies with the test, also when a sanitizer aborts it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv("/usr/sbin/rbldnsd", argv);
		_exit(127);
	}
	res_port = free_port(&res_fd);
	atomic_store(&res_stop, 0);
	assert_int_equal(pthread_create(&res_thr, NULL, resolver, NULL), 0);
	/* rbldnsd is ready when a probe through the resolver gets an answer */
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET };
		static const uint8_t probe[] =
			"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			"\x01" "1" "\x01" "0" "\x02" "18" "\x03" "198"
			"\x04" "open" "\x04" "test" "\x00\x00\x01\x00\x01";
		struct pollfd pf;
		uint8_t r[512];
		bool ok;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)rbl_port);
		sendto(fd, probe, sizeof(probe) - 1, 0, (struct sockaddr *)&sa, sizeof(sa));
		pf.fd = fd;
		pf.events = POLLIN;
		ok = poll(&pf, 1, 50) == 1 && recv(fd, r, sizeof(r), 0) > 12 &&
		     (r[3] & 15) == 0 && r[7] == 1;	/* NOERROR, 1 answer */
		close(fd);
		if (ok)
			return 0;
	}
	fail_msg("rbldnsd did not answer on port %d", rbl_port);
	return -1;
}

/* live_teardown - stop rbldnsd (by PID) and the resolver, remove files */
static int live_teardown(void **state)
{
	char cmd[128];

	(void)state;
	atomic_store(&res_stop, 1);
	pthread_join(res_thr, NULL);
	close(res_fd);
	if (rbl_pid > 0) {
		kill(rbl_pid, SIGTERM);
		waitpid(rbl_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", zdir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

/* the results handed to done() */
struct got {
	int calls;
	struct ctl_dnsbl_result r;
	struct scr_addr a;
};

static void on_done(void *arg, const struct scr_addr *a,
		    const struct ctl_dnsbl_result *r)
{
	struct got *g = arg;

	g->calls++;
	g->r = *r;
	g->a = *a;
}

/* pump - poll and process until every got has its call (or 10 s) */
static void pump(struct ctl_dnsbl *d, struct got *g, int n)
{
	uint64_t t0 = now_ns();

	for (;;) {
		struct pollfd pf[16];
		int nf, tmo, left = 0;

		for (int i = 0; i < n; i++)
			left += g[i].calls == 0;
		if (left == 0)
			return;
		if (now_ns() - t0 > 10000000000ull)
			fail_msg("lookup did not end in 10 s");
		nf = ctl_dnsbl_pollfds(d, pf, 16, &tmo);
		assert_true(nf >= 0);
		if (tmo < 0 || tmo > 100)
			tmo = 100;
		(void)poll(pf, (nfds_t)nf, tmo);
		ctl_dnsbl_process(d, pf, nf, now_ns());
	}
}

/* live_dnsbl - a ctl_dnsbl on the test's resolver */
static struct ctl_dnsbl *live_dnsbl(struct ctl_conf **c, const char *text)
{
	char srv[64], err[512];
	struct ctl_dnsbl *d;

	*c = conf_of(text);
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", res_port);
	d = ctl_dnsbl_create(*c, srv, err, sizeof(err));
	if (d == NULL)
		fail_msg("create: %s", err);
	return d;
}

struct live_case {
	const char *label;
	const char *sites;
	const char *client;
	int score;
	bool complete;
	uint16_t timeouts, errors;
	uint32_t ttl;
	const char *site;
	int outcome;		/* with threshold 3, allowlist -1 */
};

#define SITES5 "zen.test*2 bl2.test bl3.test=127.0.0.3*3 wl.test=127.0.[0..255].[1..3]*-5 " \
	       "zen.test=127.0.0.4"

static const struct live_case live_cases[] = {
	/* bad things first */
	{ "dead zone times out, rest scores", SITES5 " dead.test*10", "198.18.0.10",
	  2 + 1 + 3 + 1, false, 1, 0, 45, "bl3.test", SCR_DNSBL_FAIL },
	{ "garbage answer is an error, rest scores", SITES5 " junk.test*10", "198.18.0.10",
	  7, false, 0, 1, 45, "bl3.test", SCR_DNSBL_FAIL },
	{ "SERVFAIL is an error", "fail.test*10 bl2.test", "198.18.0.10",
	  1, false, 0, 1, 600, "bl2.test", SCR_DNSBL_NEUTRAL },
	{ "noise with a wrong id is ignored: timeout", "noise.test*10 bl2.test",
	  "198.18.0.10", 1, false, 1, 0, 600, "bl2.test", SCR_DNSBL_NEUTRAL },
	/* weights over five zones; each pattern once per domain */
	{ "listed everywhere but wl", SITES5, "198.18.0.10", 7, true, 0, 0, 45,
	  "bl3.test", SCR_DNSBL_FAIL },
		/* wl does not list it: its negative weight lowers the fail TTL (Postfix) */
	{ "filter 127.0.0.4 only", SITES5, "198.18.0.11", 2 + 1 + 1, true, 0, 0, 100,
	  "zen.test", SCR_DNSBL_FAIL },
	{ "exactly the threshold", "zen.test*2 bl2.test", "198.18.0.11", 3, true, 0, 0,
	  300, "zen.test", SCR_DNSBL_FAIL },
	{ "one below the threshold", "zen.test*2 bl2.test=127.0.0.9", "198.18.0.11", 2,
	  true, 0, 0, 300, "zen.test", SCR_DNSBL_NEUTRAL },
	{ "filter does not match", "zen.test=127.0.0.[5..255]*4", "198.18.0.11", 0, true,
	  0, 0, 30, "", SCR_DNSBL_NEUTRAL },
	{ "allow-list wins", SITES5, "198.18.0.50", 3 - 5, true, 0, 0, 120, "bl3.test",
	  SCR_DNSBL_ALLOW },
	{ "allow-list and a listing", SITES5, "198.18.0.12", 2 - 5, true, 0, 0, 150,
	  "zen.test", SCR_DNSBL_ALLOW },
	{ "nobody lists it", SITES5, "198.18.1.1", 0, true, 0, 0, 120, "",
	  SCR_DNSBL_NEUTRAL },
	{ "IPv6 client", SITES5, "2001:db8::10", 2 + 1, true, 0, 0, 100, "zen.test",
	  SCR_DNSBL_FAIL },
	{ "IPv6 not listed", SITES5, "2001:db8::99", 0, true, 0, 0, 120, "",
	  SCR_DNSBL_NEUTRAL },
	/* 127.255.255.254: the list refused the query; no listing (issue 17) */
	{ "an error code is no listing", "err.test*5 bl2.test", "198.18.0.10", 1, false,
	  0, 1, 600, "bl2.test", SCR_DNSBL_NEUTRAL },
	{ "an error code with any filter is no listing", "err.test=127.255.255.[0..255]*5",
	  "198.18.0.11", 0, false, 0, 1, 30, "", SCR_DNSBL_NEUTRAL },
};

/* test_live_scores - the table above, one fresh object per row */
static void test_live_scores(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live_cases) / sizeof(live_cases[0]); i++) {
		const struct live_case *lc = &live_cases[i];
		char text[1024];
		struct ctl_conf *c;
		struct ctl_dnsbl *d;
		struct got g = { 0 };
		struct scr_addr a = strchr(lc->client, ':') ? v6(lc->client) : v4(lc->client);

		snprintf(text, sizeof(text), "postscreen_dnsbl_sites = %s\n"
			 "postscreen_dnsbl_threshold = 3\n"
			 "postscreen_dnsbl_allowlist_threshold = -1\n"
			 "postscreen_dnsbl_timeout = 1s\n"
			 "postscreen_dnsbl_min_ttl = 30s\n"
			 "postscreen_dnsbl_max_ttl = 1h\n", lc->sites);
		d = live_dnsbl(&c, text);
		assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g), 0);
		pump(d, &g, 1);
		if (g.calls != 1 || g.r.score != lc->score || g.r.complete != lc->complete ||
		    g.r.timeouts != lc->timeouts || g.r.errors != lc->errors ||
		    g.r.ttl_s != lc->ttl || strcmp(g.r.site, lc->site) != 0 ||
		    ctl_dnsbl_outcome(d, g.r.score) != lc->outcome)
			fail_msg("%s: calls %d score %d complete %d timeouts %u errors %u "
				 "ttl %u site \"%s\" outcome %d", lc->label, g.calls,
				 g.r.score, g.r.complete, g.r.timeouts, g.r.errors,
				 g.r.ttl_s, g.r.site, ctl_dnsbl_outcome(d, g.r.score));
		assert_memory_equal(&g.a, &a, sizeof(a));
		ctl_dnsbl_destroy(d);
		ctl_conf_destroy(c);
	}
}

/* log lines captured from the module */
static char logbuf[4096];

static void on_log(void *arg, const char *line)
{
	(void)arg;
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

/* test_live_stats_and_logs - per-site counters, dnsblog lines */
static void test_live_stats_and_logs(void **state)
{
	struct ctl_conf *c;
	struct ctl_dnsbl *d = live_dnsbl(&c, "postscreen_dnsbl_sites = bl2.test, junk.test "
					 "dead.test\npostscreen_dnsbl_timeout = 1s\n");
	struct ctl_dnsbl_stats st;
	struct got g = { 0 };
	struct scr_addr a = v4("198.18.0.10");

	(void)state;
	logbuf[0] = 0;
	ctl_dnsbl_set_logger(d, on_log, NULL);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g), 0);
	pump(d, &g, 1);
	ctl_dnsbl_stats(d, &st);
	assert_int_equal(st.nsites, 3);
	assert_string_equal(st.site[0].domain, "bl2.test");
	assert_int_equal(st.site[0].listed, 1);
	assert_int_equal(st.site[1].errors, 1);
	assert_int_equal(st.site[2].timeouts, 1);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.partial, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.cached, 0);		/* partial: not cached */
	assert_true(st.latency_max_ns >= 1000000000ull);	/* waited for the dead one */
	/* the histogram: that one lookup, in (1 s, 2.5 s] (slot 10) */
	for (unsigned i = 0; i <= CTL_DNSBL_LAT_N; i++)
		assert_int_equal(st.latency_le[i], i == 10 ? 1 : 0);
	assert_non_null(strstr(logbuf, "addr 198.18.0.10 listed by domain bl2.test as "
			       "127.0.0.2\n"));
	assert_non_null(strstr(logbuf, "warning: dnsblog reply timeout 1s for dead.test\n"));
	assert_non_null(strstr(logbuf, "warning: lookup error for DNS query 198.18.0.10 "
			       "under junk.test: malformed reply\n"));
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

/* test_live_error_codes - answers in 127.255.255.0/24 count per site as
 * refused, are logged once per site, and never score */
static void test_live_error_codes(void **state)
{
	struct ctl_conf *c;
	struct ctl_dnsbl *d = live_dnsbl(&c, "postscreen_dnsbl_sites = err.test*5\n"
					 "postscreen_dnsbl_timeout = 1s\n");
	struct ctl_dnsbl_stats st;
	struct got g[2] = { 0 };
	struct scr_addr a = v4("198.18.0.10"), b = v4("198.18.0.11");

	(void)state;
	logbuf[0] = 0;
	ctl_dnsbl_set_logger(d, on_log, NULL);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g[0]), 0);
	pump(d, &g[0], 1);
	assert_int_equal(ctl_dnsbl_lookup(d, &b, now_ns(), on_done, &g[1]), 0);
	pump(d, &g[1], 1);
	assert_int_equal(g[0].r.score, 0);
	assert_int_equal(g[1].r.score, 0);
	assert_int_equal(g[0].r.errors, 1);
	ctl_dnsbl_stats(d, &st);
	assert_int_equal(st.site[0].refused, 2);
	assert_int_equal(st.site[0].listed, 0);
	assert_non_null(strstr(logbuf, "warning: err.test answers 127.255.255.254 for "
			       "198.18.0.10: an error code of the list"));
	assert_null(strstr(logbuf, "127.255.255.255"));	/* once per site */
	assert_null(strstr(logbuf, "listed by domain"));
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

/* test_live_cache_ttl - hit within the TTL, miss after; clamping */
static void test_live_cache_ttl(void **state)
{
	static const struct {
		const char *label, *ttls, *client;
		uint32_t ttl;
	} cases[] = {
		{ "A TTL 300 within 30s..1h", "30s 1h", "198.18.0.11", 300 },
		{ "A TTL 300 clamped to max 2m", "30s 2m", "198.18.0.11", 120 },
		{ "A TTL 300 raised to min 10m", "10m 1h", "198.18.0.11", 600 },
		{ "SOA TTL 120 (not listed)", "30s 1h", "198.18.9.9", 120 },
		{ "legacy postscreen_dnsbl_ttl = 1 (hour) caps min 2h", "2h ttl", "198.18.0.11",
		  3600 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], mn[16], mx[16];
		struct ctl_conf *c;
		struct ctl_dnsbl *d;
		struct ctl_dnsbl_stats st;
		struct got g1 = { 0 }, g2 = { 0 }, g3 = { 0 };
		struct scr_addr a = v4(cases[i].client);
		unsigned before;

		sscanf(cases[i].ttls, "%15s %15s", mn, mx);
		if (strcmp(mx, "ttl") == 0)
			snprintf(text, sizeof(text), "postscreen_dnsbl_sites = zen.test\n"
				 "postscreen_dnsbl_min_ttl = %s\npostscreen_dnsbl_ttl = 1\n",
				 mn);
		else
			snprintf(text, sizeof(text), "postscreen_dnsbl_sites = zen.test\n"
				 "postscreen_dnsbl_min_ttl = %s\npostscreen_dnsbl_max_ttl = %s\n",
				 mn, mx);
		d = live_dnsbl(&c, text);
		clock_off = 0;
		assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g1), 0);
		pump(d, &g1, 1);
		if (g1.r.ttl_s != cases[i].ttl || !g1.r.complete)
			fail_msg("%s: ttl %u complete %d", cases[i].label, g1.r.ttl_s,
				 g1.r.complete);
		/* one second before expiry: from the cache, done inside lookup */
		before = atomic_load(&res_queries);
		clock_off = (uint64_t)(cases[i].ttl - 1) * 1000000000ull;
		assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g2), 0);
		assert_int_equal(g2.calls, 1);
		assert_int_equal(g2.r.score, g1.r.score);
		assert_int_equal(atomic_load(&res_queries), before);
		ctl_dnsbl_stats(d, &st);
		assert_int_equal(st.cache_hits, 1);
		assert_int_equal(st.cached, 1);
		/* one second after: asked again */
		clock_off = (uint64_t)(cases[i].ttl + 1) * 1000000000ull;
		assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g3), 0);
		assert_int_equal(g3.calls, 0);
		pump(d, &g3, 1);
		assert_int_equal(g3.r.score, g1.r.score);
		ctl_dnsbl_stats(d, &st);
		assert_int_equal(st.cache_hits, 1);
		assert_int_equal(st.site[0].queries, 2);
		clock_off = 0;
		ctl_dnsbl_destroy(d);
		ctl_conf_destroy(c);
	}
}

/* test_live_join_and_limits - same address joins; too many in flight */
static void test_live_join_and_limits(void **state)
{
	struct ctl_conf *c;
	struct ctl_dnsbl *d = live_dnsbl(&c, "postscreen_dnsbl_sites = zen.test*2 bl2.test\n");
	struct ctl_dnsbl_stats st;
	struct got g[5];
	struct scr_addr a = v4("198.18.0.10"), b = v4("198.18.0.11"), e = v4("198.18.0.12");

	(void)state;
	memset(g, 0, sizeof(g));
	ctl_dnsbl_set_limits(d, 2, 0);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g[0]), 0);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g[1]), 0);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g[2]), 0);
	assert_int_equal(ctl_dnsbl_lookup(d, &b, now_ns(), on_done, &g[3]), 0);
	/* a third distinct address: over the in-flight limit */
	assert_int_equal(ctl_dnsbl_lookup(d, &e, now_ns(), on_done, &g[4]), -ENOMEM);
	ctl_dnsbl_stats(d, &st);
	assert_int_equal(st.in_flight, 2);
	assert_int_equal(st.joined, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.site[0].queries, 2);	/* one per address, not per call */
	pump(d, g, 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].r.score, 3);
	}
	assert_int_equal(g[3].calls, 1);
	assert_int_equal(g[3].r.score, 3);
	assert_int_equal(g[4].calls, 0);
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

/* test_live_dead_server - the only server never answers: all time out,
 * nothing blocks, destroy with lookups in flight is clean */
static void test_live_dead_server(void **state)
{
	struct ctl_conf *c = conf_of("postscreen_dnsbl_sites = zen.test bl2.test\n"
				     "postscreen_dnsbl_timeout = 1s\n");
	char srv[64], err[256];
	int dead_fd, port = free_port(&dead_fd);
	struct ctl_dnsbl *d;
	struct got g = { 0 }, h = { 0 };
	struct scr_addr a = v4("198.18.0.10"), b = v4("198.18.0.11");
	uint64_t t0;

	(void)state;
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
	assert_non_null(d = ctl_dnsbl_create(c, srv, err, sizeof(err)));
	t0 = now_ns();
	assert_int_equal(ctl_dnsbl_lookup(d, &a, t0, on_done, &g), 0);
	assert_int_equal(g.calls, 0);	/* returned without waiting */
	pump(d, &g, 1);
	assert_int_equal(g.r.score, 0);
	assert_false(g.r.complete);
	assert_int_equal(g.r.timeouts, 2);
	assert_int_equal(g.r.ttl_s, 60);	/* no TTL: min_ttl default */
	/* a lookup still in flight when destroyed: no callback, no leak */
	assert_int_equal(ctl_dnsbl_lookup(d, &b, now_ns(), on_done, &h), 0);
	ctl_dnsbl_destroy(d);
	assert_int_equal(h.calls, 0);
	close(dead_fd);
	ctl_conf_destroy(c);
}

/* test_no_sites - valid, answers at once, no sockets */
static void test_no_sites(void **state)
{
	struct ctl_conf *c = conf_of("myhostname = mx.example\n");
	char err[256];
	struct ctl_dnsbl *d = ctl_dnsbl_create(c, NULL, err, sizeof(err));
	struct got g = { 0 };
	struct scr_addr a = v4("198.18.0.10");
	struct pollfd pf[4];
	int tmo = 5;

	(void)state;
	assert_non_null(d);
	assert_false(ctl_dnsbl_enabled(d));
	assert_int_equal(ctl_dnsbl_pollfds(d, pf, 4, &tmo), 0);
	assert_int_equal(tmo, -1);
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.r.score, 0);
	assert_true(g.r.complete);
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

/* test_live_reply_map - the shown name after postscreen_dnsbl_reply_map */
static void test_live_reply_map(void **state)
{
	struct ctl_conf *c;
	struct ctl_dnsbl *d = live_dnsbl(&c, "postscreen_dnsbl_sites = zen.test*2 bl2.test*2 "
					 "bl2.test=127.0.0.2*3\n"
					 "postscreen_dnsbl_reply_map = inline:{zen.test="
					 "public-bl.example, { bl2.test = other.example }}\n");
	struct got g = { 0 };
	struct scr_addr a = v4("198.18.0.10");

	(void)state;
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g), 0);
	pump(d, &g, 1);
	assert_int_equal(g.r.score, 2 + 2 + 3);
	assert_string_equal(g.r.site, "other.example");
	g.calls = 0;
	a = v4("198.18.0.12");
	assert_int_equal(ctl_dnsbl_lookup(d, &a, now_ns(), on_done, &g), 0);
	pump(d, &g, 1);
	assert_int_equal(g.r.score, 2);
	assert_string_equal(g.r.site, "public-bl.example");
	ctl_dnsbl_destroy(d);
	ctl_conf_destroy(c);
}

int main(void)
{
	const struct CMUnitTest parse[] = {
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_create_bad_other),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_query_name),
		cmocka_unit_test(test_reply_and_outcome),
		cmocka_unit_test(test_no_sites),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_dead_server),
		cmocka_unit_test(test_live_scores),
		cmocka_unit_test(test_live_stats_and_logs),
		cmocka_unit_test(test_live_error_codes),
		cmocka_unit_test(test_live_cache_ttl),
		cmocka_unit_test(test_live_join_and_limits),
		cmocka_unit_test(test_live_reply_map),
	};
	int rc = cmocka_run_group_tests_name("parse", parse, NULL, NULL);

	return rc + cmocka_run_group_tests_name("live rbldnsd", live, live_setup,
						 live_teardown);
}
