/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_log_test - postscreen log lines, byte for byte
 * DESCRIPTION
 *	{label, event, expected text} rows; expectations are the lines of the
 *	reference's live postscreen log (Appendix A) where inputs match.
 *	Free-form lines: {label, severity, expected text, syslog priority,
 *	JSON line}, syslog seen through ctl_msg_syslog_hook().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "ctl_log.h"

/* mk - an event from readable fields */
static struct scr_event mk(enum scr_event_type type, const char *client,
			   unsigned cport, const char *server, unsigned sport)
{
	struct scr_event ev;
	struct scr_addr *a[2];
	const char *s[2] = { client, server };

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	a[0] = &ev.key.client;
	a[1] = &ev.key.server;
	for (int i = 0; i < 2; i++) {
		if (strchr(s[i], ':')) {
			assert_int_equal(inet_pton(AF_INET6, s[i], a[i]->b), 1);
		} else {
			a[i]->b[10] = a[i]->b[11] = 0xff;
			assert_int_equal(inet_pton(AF_INET, s[i], a[i]->b + 12), 1);
		}
	}
	ev.key.client_port = (uint16_t)cport;
	ev.key.server_port = (uint16_t)sport;
	return ev;
}

/* fail_ev - a FAIL event */
static struct scr_event fail_ev(enum scr_test t, const char *c, unsigned p,
				uint32_t count, uint64_t elapsed_ns,
				const char *after, const char *text, size_t tlen)
{
	struct scr_event ev = mk(SCR_EV_FAIL, c, p, "127.0.0.1", 25);

	ev.test = t;
	ev.count = count;
	ev.elapsed_ns = elapsed_ns;
	snprintf(ev.after, sizeof(ev.after), "%s", after);
	ev.text_len = (uint16_t)(tlen > SCR_EV_TEXT_MAX ? SCR_EV_TEXT_MAX : tlen);
	memcpy(ev.text, text, ev.text_len);
	return ev;
}

/* test_escape - Postfix escape() */
static void test_escape(void **state)
{
	static const struct { const char *label, *in; size_t n; const char *want; } t[] = {
		{ "empty", "", 0, "" },
		{ "CRLF", "EHLO x\r\n", 8, "EHLO x\\r\\n" },
		{ "tab bell backspace ff vt", "\t\a\b\f\v", 5, "\\t\\a\\b\\f\\v" },
		{ "backslash doubled", "a\\b", 3, "a\\\\b" },
		{ "NUL and DEL", "\0\x7f", 2, "\\000\\177" },
		{ "high bytes", "\xc3\xa9", 2, "\\303\\251" },
		{ "ESC", "\x1b[", 2, "\\033[" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = ctl_log_escape((const uint8_t *)t[i].in, t[i].n, buf, sizeof(buf));

		if (strcmp(buf, t[i].want) != 0 || n != strlen(t[i].want))
			fail_msg("%s: \"%s\", want \"%s\"", t[i].label, buf, t[i].want);
	}
	/* a small buffer never splits an escape */
	assert_int_equal(ctl_log_escape((const uint8_t *)"ab\r", 3, buf, 4), 2);
	assert_string_equal(buf, "ab");
}

/* test_lines - every event type, respectful_logging = yes */
static void test_lines(void **state)
{
	const char *cf = "compatibility_level = 3.6\nmyhostname = mx.example.test\n";
	char err[256], buf[1024], long_text[200];
	struct ctl_conf *conf = ctl_conf_parse(cf, strlen(cf), "main.cf", err, sizeof(err));
	struct ctl_log *log;
	struct {
		const char *label;
		struct scr_event ev;
		const char *want;
	} t[48];
	size_t n = 0;
	struct scr_event ev;

	(void)state;
	assert_non_null(conf);
	log = ctl_log_create(conf, stdout, CTL_LOG_POSTFIX);
	assert_non_null(log);
	memset(long_text, 'A', sizeof(long_text));

	ev = mk(SCR_EV_CONNECT, "127.0.0.10", 35963, "127.0.0.1", 2525);
	t[n++] = (typeof(t[0])){ "connect", ev, "CONNECT from [127.0.0.10]:35963 to [127.0.0.1]:2525" };
	ev = mk(SCR_EV_CONNECT, "2001:db8::1", 1234, "2001:db8::25", 25);
	t[n++] = (typeof(t[0])){ "connect IPv6", ev, "CONNECT from [2001:db8::1]:1234 to [2001:db8::25]:25" };
	ev = mk(SCR_EV_LISTED, "127.0.0.2", 48513, "127.0.0.1", 25);
	ev.cls = SCR_CLIENT_REJECT;
	t[n++] = (typeof(t[0])){ "denylisted", ev, "DENYLISTED [127.0.0.2]:48513" };
	ev.cls = SCR_CLIENT_PERMIT;
	ev.key.client_port = 60897;
	ev.key.client.b[15] = 3;
	t[n++] = (typeof(t[0])){ "allowlisted", ev, "ALLOWLISTED [127.0.0.3]:60897" };
	ev.cls = SCR_CLIENT_NEW;
	t[n++] = (typeof(t[0])){ "listed new logs nothing", ev, "" };
	t[n++] = (typeof(t[0])){ "pregreet", fail_ev(SCR_TEST_PREGREET, "127.0.0.11", 45385, 13,
		 3000000, "CONNECT", "EHLO zombie\r\n", 13),
		 "PREGREET 13 after 0 from [127.0.0.11]:45385: EHLO zombie\\r\\n" };
	t[n++] = (typeof(t[0])){ "pregreet 0.07s", fail_ev(SCR_TEST_PREGREET, "127.0.0.11", 1, 11,
		 70000000, "CONNECT", "EHLO User\r\n", 11),
		 "PREGREET 11 after 0.07 from [127.0.0.11]:1: EHLO User\\r\\n" };
	t[n++] = (typeof(t[0])){ "pregreet truncated to 100", fail_ev(SCR_TEST_PREGREET, "127.0.0.11", 1, 500,
		 2500000000ull, "CONNECT", long_text, sizeof(long_text)),
		 "PREGREET 500 after 2.5 from [127.0.0.11]:1: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
	t[n++] = (typeof(t[0])){ "pipelining", fail_ev(SCR_TEST_PIPELINING, "127.0.0.12", 55699, 0, 0, "EHLO",
		 "MAIL FROM:<p@example.org>\r\nRCPT TO:<u@example.test>\r\n", 53),
		 "COMMAND PIPELINING from [127.0.0.12]:55699 after EHLO: MAIL FROM:<p@example.org>\\r\\nRCPT TO:<u@example.test>\\r\\n" };
	t[n++] = (typeof(t[0])){ "non-smtp", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.13", 41697, 0, 0, "CONNECT",
		 "GET / HTTP/1.0\r\n", 16),
		 "NON-SMTP COMMAND from [127.0.0.13]:41697 after CONNECT: GET / HTTP/1.0" };
	t[n++] = (typeof(t[0])){ "non-smtp header", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.17", 51169, 0, 0, "CONNECT",
		 "Subject: buy now\r\n", 18),
		 "NON-SMTP COMMAND from [127.0.0.17]:51169 after CONNECT: Subject: buy now" };
	t[n++] = (typeof(t[0])){ "non-smtp word only, control bytes", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.17", 1, 0, 0, "EHLO",
		 "\x16\x03\x01\r\n", 5),
		 "NON-SMTP COMMAND from [127.0.0.17]:1 after EHLO: ??? " };
	/* postscreen_diff_test.sh has these three from the real postscreen */
	t[n++] = (typeof(t[0])){ "non-smtp NUL: the line ends there", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.20", 1, 0, 0, "CONNECT",
		 "GET\0/ HTTP/1.0\r\n", 16),
		 "NON-SMTP COMMAND from [127.0.0.20]:1 after CONNECT: GET " };
	t[n++] = (typeof(t[0])){ "non-smtp spaces: the rest after one space", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.24", 1, 0, 0, "CONNECT",
		 "  GET  / HTTP/1.0\r\n", 19),
		 "NON-SMTP COMMAND from [127.0.0.24]:1 after CONNECT: GET  / HTTP/1.0" };
	t[n++] = (typeof(t[0])){ "non-smtp tab: in the word", fail_ev(SCR_TEST_NON_SMTP, "127.0.0.26", 1, 0, 0, "CONNECT",
		 "Subject\t: buy now\r\n", 19),
		 "NON-SMTP COMMAND from [127.0.0.26]:1 after CONNECT: Subject?: buy now" };
	t[n++] = (typeof(t[0])){ "bare newline", fail_ev(SCR_TEST_BARE_NEWLINE, "127.0.0.14", 46633, 0, 0, "CONNECT",
		 "EHLO bare.example\n", 18),
		 "BARE NEWLINE from [127.0.0.14]:46633 after EHLO bare.example" };
	t[n++] = (typeof(t[0])){ "helo", fail_ev(SCR_TEST_HELO, "2001:db8::7", 4000, 0, 0, "CONNECT",
		 "EHLO mx.example.test\r\n", 22),
		 "HELO VIOLATION from [2001:db8::7]:4000 after CONNECT: EHLO mx.example.test" };
	t[n++] = (typeof(t[0])){ "dnsbl", fail_ev(SCR_TEST_DNSBL, "127.0.0.40", 58113, 2, 0, "", "", 0),
		 "DNSBL rank 2 for [127.0.0.40]:58113" };
	t[n++] = (typeof(t[0])){ "access fail is the LISTED line", fail_ev(SCR_TEST_ACCESS, "127.0.0.2", 1, 0, 0, "", "", 0), "" };
	ev = mk(SCR_EV_VERDICT, "127.0.0.10", 35963, "127.0.0.1", 25);
	ev.verdict = SCR_V_PASS;
	t[n++] = (typeof(t[0])){ "pass new", ev, "PASS NEW [127.0.0.10]:35963" };
	ev.pass_old = true;
	ev.key.client_port = 59957;
	t[n++] = (typeof(t[0])){ "pass old", ev, "PASS OLD [127.0.0.10]:59957" };
	ev.verdict = SCR_V_FAIL;
	t[n++] = (typeof(t[0])){ "fail verdict logs nothing", ev, "" };
	ev = mk(SCR_EV_END, "127.0.0.15", 54463, "127.0.0.1", 25);
	ev.elapsed_ns = 1000000000ull;
	ev.end = SCR_END_CLOSE;
	t[n++] = (typeof(t[0])){ "hangup before greeting", ev,
		 "HANGUP after 1 from [127.0.0.15]:54463 in tests before SMTP handshake" };
	ev.elapsed_ns = 2500000000ull;
	snprintf(ev.after, sizeof(ev.after), "CONNECT");
	t[n++] = (typeof(t[0])){ "hangup after greeting", ev,
		 "HANGUP after 2.5 from [127.0.0.15]:54463 in tests after SMTP handshake" };
	ev.end = SCR_END_TIMEOUT;
	t[n++] = (typeof(t[0])){ "timeout without verdict logs nothing", ev, "" };
	ev.end = SCR_END_CLOSE;
	ev.verdict = SCR_V_PASS;
	t[n++] = (typeof(t[0])){ "disconnect after pass new", ev, "DISCONNECT [127.0.0.15]:54463" };
	ev.verdict = SCR_V_ALLOWLISTED;
	t[n++] = (typeof(t[0])){ "allowlisted end logs nothing", ev, "" };
	ev = mk(SCR_EV_END, "127.0.0.23", 57097, "127.0.0.1", 25);
	ev.end = SCR_END_COMMAND_TIME;
	t[n++] = (typeof(t[0])){ "command time limit before any command", ev,
		 "COMMAND TIME LIMIT from [127.0.0.23]:57097 after CONNECT" };
	snprintf(ev.after, sizeof(ev.after), "EHLO");
	t[n++] = (typeof(t[0])){ "command time limit after EHLO", ev,
		 "COMMAND TIME LIMIT from [127.0.0.23]:57097 after EHLO" };
	ev = mk(SCR_EV_END, "127.0.0.16", 58365, "127.0.0.1", 25);
	ev.end = SCR_END_COMMAND_COUNT;
	snprintf(ev.after, sizeof(ev.after), "NOOP");
	t[n++] = (typeof(t[0])){ "command count limit (postscreen's live line)", ev,
		 "COMMAND COUNT LIMIT from [127.0.0.16]:58365 after NOOP" };
	ev = mk(SCR_EV_END, "127.0.0.24", 33369, "127.0.0.1", 25);
	ev.end = SCR_END_COMMAND_LENGTH;
	t[n++] = (typeof(t[0])){ "command length limit (postscreen's live line)", ev,
		 "COMMAND LENGTH LIMIT from [127.0.0.24]:33369 after CONNECT" };
	ev = mk(SCR_EV_SMUGGLING, "198.18.0.5", 40000, "198.19.255.1", 25);
	snprintf(ev.after, sizeof(ev.after), "DATA");
	memcpy(ev.text, "\n.\nMAIL FROM:<a@b>\r\n", 20);
	ev.text_len = 20;
	ev.count = 1;
	t[n++] = (typeof(t[0])){ "smuggling", ev,
		 "SMTP SMUGGLING from [198.18.0.5]:40000 after DATA: "
		 "\\n.\\nMAIL FROM:<a@b>\\r\\n" };
	ev = mk(SCR_EV_TOO_MANY, "127.0.0.22", 47051, "127.0.0.1", 25);
	ev.count = 3;
	t[n++] = (typeof(t[0])){ "per-client limit", ev,
		 "NOQUEUE: reject: CONNECT from [127.0.0.22]:47051: too many connections" };
	memset(&ev, 0, sizeof(ev));
	ev.type = SCR_EV_STRESS;
	ev.stress = true;
	ev.count = 9;
	t[n++] = (typeof(t[0])){ "entering stress", ev,
		 "entering STRESS mode with 9 connections" };
	ev.stress = false;
	ev.count = 7;
	t[n++] = (typeof(t[0])){ "leaving stress", ev,
		 "leaving STRESS mode with 7 connections" };
	ev = mk(SCR_EV_REPLY, "198.18.2.1", 40000, "198.19.255.1", 25);
	ev.reply = SCR_REPLY_HARVEST;
	t[n++] = (typeof(t[0])){ "a reply logs nothing", ev, "" };
	ev.type = SCR_EV_BAN;
	ev.count = 20;
	ev.window_s = 600;
	ev.ttl_s = 3600;
	ev.plen = 128;
	ev.action = SCR_ACT_DROP;
	t[n++] = (typeof(t[0])){ "ban", ev, "BAN [198.18.2.1]:40000 reason=harvest "
		 "count=20 window=600s ttl=3600s action=drop" };
	ev = mk(SCR_EV_BAN, "2001:db8:5:1:ffff::b", 43000, "2001:db8::25", 25);
	ev.reply = SCR_REPLY_AUTH;
	ev.count = 10;
	ev.window_s = 600;
	ev.ttl_s = 60;
	ev.plen = 56;
	ev.action = SCR_ACT_IGNORE;
	t[n++] = (typeof(t[0])){ "ban of an IPv6 prefix", ev, "BAN [2001:db8:5:1:ffff::b]:43000 "
		 "reason=auth count=10 window=600s ttl=60s action=ignore net=[2001:db8:5::]/56" };
	ev = fail_ev(SCR_TEST_REPLY_BAN, "198.18.2.1", 40000, 20, 0, "", "", 0);
	t[n++] = (typeof(t[0])){ "reply_ban fail: the BAN line says it", ev, "" };

	for (size_t i = 0; i < n; i++) {
		size_t len = ctl_log_format(log, &t[i].ev, buf, sizeof(buf));

		if (strcmp(buf, t[i].want) != 0 || len != strlen(t[i].want))
			fail_msg("%s:\n got \"%s\"\nwant \"%s\"", t[i].label, buf, t[i].want);
	}
	ctl_log_destroy(log);
	ctl_conf_destroy(conf);
}

/* test_verdict_row - the verdict CSV: reasons by name, the bits that are
 * not tests too (smuggling, envelope, command_limit) */
static void test_verdict_row(void **state)
{
	struct scr_event ev = mk(SCR_EV_VERDICT, "198.18.0.5", 40000, "198.19.255.1", 25);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	ev.key.family = 4;
	ctl_log_verdict_row(f, &ev.key, SCR_V_PASS, 0);
	ctl_log_verdict_row(f, &ev.key, SCR_V_FAIL, SCR_REASON_SMUGGLING);
	ctl_log_verdict_row(f, &ev.key, SCR_V_FAIL, (scr_reasons)(SCR_TEST_BIT(SCR_TEST_PREGREET) |
			    SCR_TEST_BIT(SCR_TEST_DNSBL) | SCR_REASON_SMUGGLING));
	ctl_log_verdict_row(f, &ev.key, SCR_V_PASS, SCR_REASON_COMMAND_LIMIT);
	ctl_log_verdict_row(f, &ev.key, SCR_V_FAIL, (scr_reasons)(SCR_TEST_BIT(SCR_TEST_PIPELINING) |
			    SCR_REASON_ENVELOPE | SCR_REASON_COMMAND_LIMIT));
	fclose(f);
	assert_string_equal(text, "198.18.0.5,40000,198.19.255.1,25,pass,\n"
			    "198.18.0.5,40000,198.19.255.1,25,fail,smuggling\n"
			    "198.18.0.5,40000,198.19.255.1,25,fail,pregreet|dnsbl|smuggling\n"
			    "198.18.0.5,40000,198.19.255.1,25,pass,command_limit\n"
			    "198.18.0.5,40000,198.19.255.1,25,fail,pipelining|envelope|command_limit\n");
	free(text);
}

/* test_file_output - prefix, old words and the reminder once */
static void test_file_output(void **state)
{
	const char *cf = "compatibility_level = 3.5\nmyhostname = mx.example.test\n";
	char err[256], *out = NULL, want[1024];
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	struct ctl_conf *conf = ctl_conf_parse(cf, strlen(cf), "main.cf", err, sizeof(err));
	struct ctl_log *log;
	struct scr_event ev = mk(SCR_EV_LISTED, "127.0.0.2", 47973, "127.0.0.1", 25);
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 4, .tm_hour = 5,
			 .tm_min = 6, .tm_sec = 7, .tm_isdst = -1 };

	(void)state;
	assert_non_null(conf);
	log = ctl_log_create(conf, f, CTL_LOG_POSTFIX);
	ev.cls = SCR_CLIENT_REJECT;
	ev.ts_ns = (uint64_t)mktime(&tm) * 1000000000ull;
	ctl_log_event(log, &ev);
	ev.cls = SCR_CLIENT_PERMIT;
	ev.key.client.b[15] = 3;
	ev.key.client_port = 55635;
	ctl_log_event(log, &ev);
	/* a hang-up is followed by DISCONNECT, as postscreen logs it */
	ev.type = SCR_EV_END;
	ev.end = SCR_END_CLOSE;
	ev.verdict = SCR_V_UNKNOWN;
	ev.reasons = 0;
	ev.after[0] = 0;
	ev.elapsed_ns = 1000000000ull;
	ctl_log_event(log, &ev);
	fclose(f);
	snprintf(want, sizeof(want),
		 "Nov  4 05:06:07 mx postfix/smtpscreen[%ld]: BLACKLISTED [127.0.0.2]:47973\n"
		 "Nov  4 05:06:07 mx postfix/smtpscreen[%ld]: using backwards-compatible default setting respectful_logging=no for client [127.0.0.2]:47973\n"
		 "Nov  4 05:06:07 mx postfix/smtpscreen[%ld]: WHITELISTED [127.0.0.3]:55635\n"
		 "Nov  4 05:06:07 mx postfix/smtpscreen[%ld]: HANGUP after 1 from [127.0.0.3]:55635 in tests before SMTP handshake\n"
		 "Nov  4 05:06:07 mx postfix/smtpscreen[%ld]: DISCONNECT [127.0.0.3]:55635\n",
		 (long)getpid(), (long)getpid(), (long)getpid(), (long)getpid(),
		 (long)getpid());
	assert_string_equal(out, want);
	assert_int_equal(ctl_log_write_errors(log), 0);
	free(out);
	ctl_log_destroy(log);
	ctl_conf_destroy(conf);
}

/* test_json - JSON lines carry the facts */
static void test_json(void **state)
{
	char buf[2048];
	struct ctl_log *log = ctl_log_create(NULL, stdout, CTL_LOG_JSON);
	struct scr_event ev = fail_ev(SCR_TEST_PREGREET, "192.0.2.1", 1000, 8, 0,
				      "CONNECT", "HELO \"x\"\r\n", 10);

	(void)state;
	ev.ts_ns = 1700000000123456789ull;
	ev.pkt_no = 3;
	ev.action = SCR_ACT_DROP;
	ctl_log_format(log, &ev, buf, sizeof(buf));
	assert_string_equal(buf,
		"{\"time\":\"2023-11-14T22:13:20.123456Z\",\"event\":\"fail\",\"client\":\"192.0.2.1\","
		"\"client_port\":1000,\"server\":\"127.0.0.1\",\"server_port\":25,\"pkt\":3,"
		"\"elapsed_ns\":0,\"test\":\"pregreet\",\"action\":\"drop\",\"count\":8,"
		"\"after\":\"CONNECT\",\"text\":\"HELO \\\"x\\\"\\u000d\\u000a\","
		"\"message\":\"PREGREET 8 after 0 from [192.0.2.1]:1000: HELO \\\"x\\\"\\\\r\\\\n\"}");
	memset(&ev, 0, sizeof(ev));
	ev.type = SCR_EV_STRESS;
	ev.stress = true;
	ev.count = 922;
	ev.ts_ns = 1700000000000000000ull;
	ctl_log_format(log, &ev, buf, sizeof(buf));
	assert_string_equal(buf,
		"{\"time\":\"2023-11-14T22:13:20.000000Z\",\"event\":\"stress\",\"client\":\"::\","
		"\"client_port\":0,\"server\":\"::\",\"server_port\":0,\"pkt\":0,"
		"\"elapsed_ns\":0,\"stress\":true,\"connections\":922,"
		"\"message\":\"entering STRESS mode with 922 connections\"}");
	ctl_log_destroy(log);
}

/* Syslog lines seen by the hook in test_sev. */
static int sev_pri;
static char sev_text[256];

/* sev_hook - record the syslog line instead of sending it */
static void sev_hook(int priority, const char *text)
{
	sev_pri = priority;
	snprintf(sev_text, sizeof(sev_text), "%s", text);
}

/* test_sev - free-form lines: the severity's prefix, and its syslog
 * priority when the log is syslog */
static void test_sev(void **state)
{
	static const struct {
		const char *label;
		enum ctl_msg_sev sev;
		const char *want;	/* after "tag[pid]: " */
		int want_pri;
		const char *want_json;
	} t[] = {
		{ .label = "info", .sev = CTL_MSG_INFO, .want = "reload: ok",
		  .want_pri = LOG_INFO,
		  .want_json = "{\"event\":\"msg\",\"severity\":\"info\",\"message\":\"reload: ok\"}\n" },
		{ .label = "warning", .sev = CTL_MSG_WARN, .want = "warning: reload: ok",
		  .want_pri = LOG_WARNING,
		  .want_json = "{\"event\":\"msg\",\"severity\":\"warning\",\"message\":\"reload: ok\"}\n" },
		{ .label = "error", .sev = CTL_MSG_ERROR, .want = "error: reload: ok",
		  .want_pri = LOG_ERR,
		  .want_json = "{\"event\":\"msg\",\"severity\":\"error\",\"message\":\"reload: ok\"}\n" },
		{ .label = "fatal", .sev = CTL_MSG_FATAL, .want = "fatal: reload: ok",
		  .want_pri = LOG_CRIT,
		  .want_json = "{\"event\":\"msg\",\"severity\":\"fatal\",\"message\":\"reload: ok\"}\n" },
		{ .label = "panic", .sev = CTL_MSG_PANIC, .want = "panic: reload: ok",
		  .want_pri = LOG_CRIT,
		  .want_json = "{\"event\":\"msg\",\"severity\":\"panic\",\"message\":\"reload: ok\"}\n" },
	};
	char *out = NULL, *jout = NULL, want[128];
	size_t olen = 0, jlen = 0;
	FILE *f = open_memstream(&out, &olen), *jf = open_memstream(&jout, &jlen);
	struct ctl_log *file = ctl_log_create(NULL, f, CTL_LOG_POSTFIX);
	struct ctl_log *json = ctl_log_create(NULL, jf, CTL_LOG_JSON);
	struct ctl_log *sys = ctl_log_create(NULL, NULL, CTL_LOG_POSTFIX);

	(void)state;
	assert_non_null(file);
	assert_non_null(json);
	assert_non_null(sys);
	ctl_msg_syslog_hook(sev_hook);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t off, joff;
		const char *p;

		fflush(f);
		fflush(jf);
		off = olen;
		joff = jlen;
		ctl_log_sev(file, t[i].sev, "reload: %s", "ok");
		ctl_log_sev(json, t[i].sev, "reload: %s", "ok");
		sev_pri = -1;
		ctl_log_sev(sys, t[i].sev, "reload: %s", "ok");
		fflush(f);
		fflush(jf);
		p = strstr(out + off, "]: ");
		snprintf(want, sizeof(want), "%s\n", t[i].want);
		if (p == NULL || strcmp(p + 3, want) != 0)
			fail_msg("%s: file line \"%s\", want ...\"%s\"", t[i].label,
				 out + off, t[i].want);
		if (strcmp(jout + joff, t[i].want_json) != 0)
			fail_msg("%s: JSON line \"%s\", want \"%s\"", t[i].label,
				 jout + joff, t[i].want_json);
		if (sev_pri != t[i].want_pri || strcmp(sev_text, t[i].want) != 0)
			fail_msg("%s: syslog %d \"%s\", want %d \"%s\"", t[i].label,
				 sev_pri, sev_text, t[i].want_pri, t[i].want);
	}
	/* ctl_log_msg is info; event lines stay LOG_INFO */
	sev_pri = -1;
	ctl_log_msg(sys, "plain %d", 1);
	assert_int_equal(sev_pri, LOG_INFO);
	assert_string_equal(sev_text, "plain 1");
	ctl_msg_syslog_hook(NULL);
	assert_int_equal(ctl_log_write_errors(file), 0);
	ctl_log_destroy(sys);
	ctl_log_destroy(json);
	ctl_log_destroy(file);
	fclose(jf);
	fclose(f);
	free(jout);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_verdict_row),
		cmocka_unit_test(test_file_output),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
