/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scr_engine_test - whole sessions through the engine: verdicts, reasons,
 * the packet that stops a session, events, table limits and timeouts.
 * Each case is a script: 'C'/'S' = client/server segment with bytes,
 * 'c'/'s' = a client/server segment 1000 bytes ahead (out of window when
 * the window is small), 'R' = client retransmits its previous segment,
 * 'F' = client FIN, 'X' = client RST, 'W' = wait (seconds in bytes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_conf.h"
#include "pktbuild.h"
#include "scr_engine.h"
#include "scr_scan.h"

static const char base_conf[] =
	"myhostname = mx.example.test\n"
	"postscreen_greet_action = enforce\n"
	"postscreen_pipelining_enable = yes\n"
	"postscreen_non_smtp_command_enable = yes\n"
	"postscreen_bare_newline_enable = yes\n"
	"postscreen_bare_newline_action = enforce\n"
	"smtpscreen_helo_enable = yes\n"
	"postscreen_denylist_action = drop\n"
	"smtpscreen_flow_table_size = 1024\n"
	"postscreen_client_connection_count_limit = 0\n"
	"smtpscreen_tcp_syn_timeout = 5s\n";

struct step {
	char op;
	const char *bytes;
};

struct ecase {
	const char *label;
	enum scr_client_class cls;	/* what ctrl answers */
	uint8_t cached_todo;		/* for NEW: 0xff = all */
	struct step s[16];
	enum scr_verdict want;
	scr_reasons want_reasons;
	int want_stop;			/* 1-based step that stops it; 0 = the SYN; -1 none */
	int want_fail_events;
	bool ack_confirm;		/* replay's policy: failures wait for ACKs */
};

#define B(t) SCR_TEST_BIT(SCR_TEST_##t)
#define GREET {'S', "220 mx.example.test ESMTP Postfix\r\n"}
#define EHLO {'C', "EHLO client.example.org\r\n"}
#define EHLO_R {'S', "250-mx.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 CHUNKING\r\n"}
#define MAIL {'C', "MAIL FROM:<a@example.org>\r\n"}
#define OK {'S', "250 2.1.0 Ok\r\n"}
#define RCPT {'C', "RCPT TO:<u@example.test>\r\n"}
#define DATA {'C', "DATA\r\n"}
#define GO {'S', "354 End data with <CR><LF>.<CR><LF>\r\n"}
#define QUIT {'C', "QUIT\r\n"}
#define NO_SYNACK {'0', NULL}	/* first step only: the server side is never seen */

static const struct ecase cases[] = {
	{"allowlisted client skips every test", SCR_CLIENT_PERMIT, 0,
	 {{'C', "EHLO x\n"}, GREET}, SCR_V_ALLOWLISTED, 0, -1, 0},
	{"denylisted client with drop stops at the SYN", SCR_CLIENT_REJECT, 0,
	 {GREET, EHLO}, SCR_V_BLOCKLISTED, B(ACCESS), 0, 0},
	{"blocked client stops at the SYN", SCR_CLIENT_BLOCKED, 0,
	 {GREET, EHLO}, SCR_V_FAIL, B(PIPELINING), 0, 0},
	{"cached client passes old", SCR_CLIENT_NEW, 0,
	 {{'C', "EHLO x\n"}}, SCR_V_PASS, 0, -1, 0},
	{"good session passes at DATA", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO, {'C', "GET / x\n"}},
	 SCR_V_PASS, 0, -1, 0},
	{"pregreet under enforce stops at DATA", SCR_CLIENT_NEW, 0xff,
	 {EHLO, GREET, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO},
	 SCR_V_FAIL, B(PREGREET), 8, 1},
	{"non-SMTP command drops at once", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'S', "502 5.5.2 Error\r\n"}},
	 SCR_V_FAIL, B(NON_SMTP), 2, 1},
	{"retransmitted bare LF line counted once", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "EHLO bare.example\n"}, {'R', NULL}, EHLO_R, QUIT},
	 SCR_V_FAIL, B(BARE_NEWLINE), -1, 1},
	{"hang-up after the greeting is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'F', NULL}}, SCR_V_UNKNOWN, 0, -1, 0},
	{"a hole that is never filled is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, EHLO_R, {'c', "MAIL FROM:<a@b.example>\r\n"}, OK},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a failure before a hole still fails", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "EHLO bare.example\n"}, {'c', "MAIL FROM:<a@b.example>\r\n"}},
	 SCR_V_FAIL, B(BARE_NEWLINE), -1, 1},
	{"reset by the client mid-session is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, EHLO_R, {'X', NULL}}, SCR_V_UNKNOWN, 0, -1, 0},
	{"QUIT after EHLO passes", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, EHLO_R, QUIT, {'S', "221 2.0.0 Bye\r\n"}}, SCR_V_PASS, 0, -1, 0},
	/* Judge only what was seen (issue 14). */
	{"client side only is unknown", SCR_CLIENT_NEW, 0xff,
	 {NO_SYNACK, EHLO, MAIL, RCPT, DATA, {'C', "Subject: x\r\n"}},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a greeting line that never ends is unknown", SCR_CLIENT_NEW, 0xff,
	 {{'S', "220 mx.example.test ESMTP"}, EHLO, MAIL, RCPT, DATA},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a lone 250- continuation is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'S', "250-mx.example.test\r\n"}, MAIL, RCPT, DATA},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a reply line without its LF is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, EHLO_R, MAIL, {'S', "250 2.1.0 Ok"}, RCPT, DATA},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a resent segment with other bytes is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'Z', "EHLO cliENT.example.org\r\n"}, EHLO_R, MAIL, OK, RCPT, OK,
	  DATA, GO},
	 SCR_V_UNKNOWN, 0, -1, 0},
	{"a resent segment with the same bytes is no contradiction", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'R', NULL}, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO},
	 SCR_V_PASS, 0, -1, 0},
	{"pipelining before any reply still fails", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, MAIL, EHLO_R, OK, RCPT, OK, DATA, GO},
	 SCR_V_FAIL, B(PIPELINING), 8, 1},
	{"talking after a whole 220- teaser is still pregreet", SCR_CLIENT_NEW, 0xff,
	 {{'S', "220-mx.example.test ESMTP\r\n"}, EHLO, {'S', "220 mx.example.test\r\n"},
	  EHLO_R, MAIL, OK, RCPT, OK, DATA, GO},
	 SCR_V_FAIL, B(PREGREET), 9, 1},
	/* A failing segment resent with other bytes (replay, issue 14): the
	 * server's ACK shows which copy it took. */
	{"a failing copy the server never acked is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'Z', "EHLO a.example\r\n"}, EHLO_R,
	  MAIL, OK, RCPT, OK, DATA, GO},
	 SCR_V_UNKNOWN, 0, -1, 1, true},
	{"a failing copy the server acked still fails", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'A', NULL}, {'Z', "EHLO a.example\r\n"},
	  EHLO_R},
	 SCR_V_FAIL, B(NON_SMTP), 2, 1, true},
	{"a failing copy resent longer with other bytes is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'Z', "EHLO a.example\r\nMAIL FROM:<>\r\n"},
	  EHLO_R},
	 SCR_V_UNKNOWN, 0, -1, 1, true},
	{"a failure not acked by the end still fails", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'F', NULL}},
	 SCR_V_FAIL, B(NON_SMTP), 2, 1, true},
	{"pipelining in a copy the server never acked is unknown", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'C', "MAIL FROM:<a@example.org>\r\n"},
	  {'Z', "NOOP                       \r\n"}, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO},
	 SCR_V_UNKNOWN, 0, -1, 1, true},
	{"pipelining the server acked still fails", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'C', "MAIL FROM:<a@example.org>\r\n"}, {'A', NULL},
	  {'Z', "NOOP                       \r\n"}, EHLO_R, OK, RCPT, OK, DATA, GO},
	 SCR_V_FAIL, B(PIPELINING), -1, 1, true},
	{"pipelining the server acked stops at DATA", SCR_CLIENT_NEW, 0xff,
	 {GREET, EHLO, {'C', "MAIL FROM:<a@example.org>\r\n"}, {'A', NULL},
	  EHLO_R, OK, RCPT, OK, DATA, GO},
	 SCR_V_FAIL, B(PIPELINING), 9, 1, true},
	{"live modes: the first copy is the one judged", SCR_CLIENT_NEW, 0xff,
	 {GREET, {'C', "GET / HTTP/1.0\r\n"}, {'Z', "EHLO a.example\r\n"}, EHLO_R},
	 SCR_V_FAIL, B(NON_SMTP), 2, 1, false},
};

struct rec {
	enum scr_client_class cls;
	uint8_t todo;
	int verdicts;
	int fails;
	int ends;
	int connects;
	int replies[SCR_REPLY_MAX];
	int ban_at;			/* reply bans: ban at this many replies */
	struct scr_engine *eng;		/* ... with this engine */
	int amends;		/* verdicts that replace an earlier one */
	int smuggling;		/* SCR_EV_SMUGGLING events */
	struct scr_event last_verdict;
	struct scr_event last_smuggling;
	struct scr_event last_end;
	char envs[512];		/* SCR_EV_ENVELOPE: "CMD arg|" each */
	struct scr_event last_env;
	const char *reject_arg;	/* answer this argument with a reject */
	enum scr_action reject_act;
};

/* on_client - the case's answer */
static void on_client(void *arg, const struct scr_flow_key *k, uint64_t now,
		      struct scr_client_info *out)
{
	struct rec *r = arg;

	(void)k; (void)now;
	memset(out, 0, sizeof(*out));
	out->cls = r->cls;
	out->todo = r->todo;
	out->pass_old = r->cls == SCR_CLIENT_NEW && r->todo == 0;
	out->reasons = r->cls == SCR_CLIENT_BLOCKED ? B(PIPELINING) : 0;
}

/* on_event - count and keep the verdict */
static void on_event(void *arg, const struct scr_event *ev)
{
	struct rec *r = arg;

	if (ev->type == SCR_EV_VERDICT) {
		r->verdicts++;
		r->amends += ev->amend;
		r->last_verdict = *ev;
	} else if (ev->type == SCR_EV_FAIL) {
		r->fails++;
	} else if (ev->type == SCR_EV_SMUGGLING) {
		r->smuggling++;
		r->last_smuggling = *ev;
	} else if (ev->type == SCR_EV_END) {
		r->ends++;
		r->last_end = *ev;
	} else if (ev->type == SCR_EV_ENVELOPE) {
		static const char *const cn[SCR_ENV_MAX] = {"HELO", "EHLO", "MAIL", "RCPT"};
		size_t l = strlen(r->envs);

		assert_int_equal(strlen(ev->arg), ev->arg_len);
		r->last_env = *ev;
		snprintf(r->envs + l, sizeof(r->envs) - l, "%s %s|", cn[ev->env], ev->arg);
		/* as replay's hook does: the answer from inside the event */
		if (r->eng && r->reject_arg && strcmp(ev->arg, r->reject_arg) == 0)
			assert_int_equal(scr_engine_envelope(r->eng, &ev->key,
							     r->reject_act, ev->ts_ns), 0);
	} else if (ev->type == SCR_EV_CONNECT) {
		r->connects++;
	} else if (ev->type == SCR_EV_REPLY) {
		int n = 0;

		r->replies[ev->reply]++;
		for (unsigned k = 0; k < SCR_REPLY_MAX; k++)
			n += r->replies[k];
		/* as replay's hook does: the ban from inside the event */
		if (r->eng && n == r->ban_at)
			assert_int_equal(scr_engine_reply_ban(r->eng, &ev->key,
							      (uint32_t)n, ev->ts_ns), 0);
	}
}

static struct scr_policy pol;
static struct scr_scan_db *db;

/* engine_on - an engine on scanner database d whose hooks answer from and
 * record into r */
static struct scr_engine *engine_on(struct rec *r, const struct scr_policy *p,
				    const struct scr_scan_db *d)
{
	struct scr_engine_hooks h = {.arg = r, .client = on_client, .event = on_event};
	struct scr_engine *e = scr_engine_create(p, d, &h);

	assert_non_null(e);
	return e;
}

/* engine_for - the same on the main.cf's database */
static struct scr_engine *engine_for(struct rec *r, const struct scr_policy *p)
{
	return engine_on(r, p, db);
}

/* setup - policy and patterns from a real main.cf text */
static int setup(void **state)
{
	struct scr_scan_pattern *pats;
	struct ctl_conf *c;
	char err[256];
	size_t n;

	(void)state;
	c = ctl_conf_parse(base_conf, sizeof(base_conf) - 1, "engine.cf", err,
			   sizeof(err));
	if (c == NULL || ctl_conf_policy(c, &pol, err, sizeof(err)) ||
	    ctl_conf_patterns(c, &pats, &n, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	db = scr_scan_create(pats, n, err, sizeof(err));
	ctl_conf_patterns_free(pats, n);
	ctl_conf_destroy(c);
	pol.reorder_window = 512;
	return db ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	scr_scan_destroy(db);
	return 0;
}

struct sess {
	uint8_t frames[24][1600];
	struct scr_frame fr[24];
	uint32_t seq[2];
	unsigned n;
	uint64_t ts;
	uint16_t cport;
	int v6;
};

/* sess_add - one segment of the session */
static void sess_add(struct sess *s, int client, uint8_t flags, uint32_t seq,
		     const char *bytes)
{
	struct pb_spec sp = {
		.v6 = s->v6,
		.src = client ? (s->v6 ? "2001:db8::10" : "198.18.0.10") :
				(s->v6 ? "2001:db8::1" : "198.19.255.1"),
		.dst = client ? (s->v6 ? "2001:db8::1" : "198.19.255.1") :
				(s->v6 ? "2001:db8::10" : "198.18.0.10"),
		.sport = client ? s->cport : 25, .dport = client ? 25 : s->cport,
		.seq = seq, .ack = s->seq[client ? 1 : 0], .flags = flags,
		.payload = bytes, .plen = bytes ? (uint32_t)strlen(bytes) : 0,
		.vlans = s->v6,
	};

	s->fr[s->n].caplen = pb_build(s->frames[s->n], &sp);
	s->fr[s->n].data = s->frames[s->n];
	s->fr[s->n].wirelen = s->fr[s->n].caplen;
	s->fr[s->n].ts_ns = s->ts += 10000000;
	s->fr[s->n].pkt_no = s->n + 1;
	s->fr[s->n].link = SCR_LINK_ETH;
	s->fr[s->n].flags = 0;
	s->n++;
}

/* build - frames of a case: SYN, SYN/ACK, then the steps */
static void build(struct sess *s, const struct step *st)
{
	const char *prev = NULL;
	int k;

	s->seq[0] = 1000;
	s->seq[1] = 9000;
	sess_add(s, 1, 0x02, s->seq[0]++, NULL);
	if (st[0].op != '0')
		sess_add(s, 0, 0x12, s->seq[1]++, NULL);
	for (k = st[0].op == '0' ? 1 : 0; k < 16 && st[k].op; k++) {
		switch (st[k].op) {
		case 'C':
		case 'S': {
			int c = st[k].op == 'C';

			sess_add(s, c, 0x18, s->seq[c ? 0 : 1], st[k].bytes);
			s->seq[c ? 0 : 1] += (uint32_t)strlen(st[k].bytes);
			if (c)
				prev = st[k].bytes;
			break;
		}
		case 'c':
			sess_add(s, 1, 0x18, s->seq[0] + 1000, st[k].bytes);
			break;
		case 'R':
			sess_add(s, 1, 0x18, s->seq[0] - (uint32_t)strlen(prev), prev);
			break;
		case 'Z':	/* the last client segment again, other bytes */
			sess_add(s, 1, 0x18, s->seq[0] - (uint32_t)strlen(prev),
				 st[k].bytes);
			break;
		case 'A':	/* a bare ACK from the server */
			sess_add(s, 0, 0x10, s->seq[1], NULL);
			break;
		case 'F':
			sess_add(s, 1, 0x11, s->seq[0], NULL);
			break;
		case 'X':
			sess_add(s, 1, 0x04, s->seq[0], NULL);
			break;
		default:
			fail_msg("bad step %c", st[k].op);
		}
	}
}

/* test_sessions - every case, IPv4 and IPv6 behind a VLAN tag */
static void test_sessions(void **state)
{
	size_t i;
	int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct ecase *c = &cases[i];
			struct rec r = {.cls = c->cls, .todo = c->cached_todo};
			struct scr_policy p = pol;
			struct scr_engine *e;
			static struct sess s;
			uint64_t want_stop;

			p.ack_confirm = c->ack_confirm;
			e = engine_for(&r, &p);

			memset(&s, 0, sizeof(s));
			s.cport = 40000;
			s.v6 = v6;
			build(&s, c->s);
			scr_engine_burst(e, s.fr, s.n);
			scr_engine_flush(e, s.ts);
			want_stop = c->want_stop < 0 ? 0 :
				    (uint64_t)(c->want_stop == 0 ? 1 : c->want_stop + 2);
			if (r.verdicts != 1 || r.last_verdict.verdict != c->want ||
			    r.last_verdict.reasons != c->want_reasons ||
			    r.last_verdict.stop_pkt != want_stop ||
			    r.fails != c->want_fail_events || r.ends != 1)
				fail_msg("%s%s: verdicts %d %s reasons %#x stop %llu "
					 "fails %d ends %d", c->label, v6 ? " (v6)" : "",
					 r.verdicts,
					 scr_verdict_name[r.last_verdict.verdict],
					 r.last_verdict.reasons,
					 (unsigned long long)r.last_verdict.stop_pkt,
					 r.fails, r.ends);
			scr_engine_destroy(e);
		}
	}
}

/* The smuggling guard and postscreen's command limits through the engine.
 * A session passes its tests at DATA; the guard goes on reading. */
#define TO_DATA GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO
#define SMUGGLE "Subject: hi\r\n\r\nhi\n.\nMAIL FROM:<ceo@example.test>\r\n" \
	"RCPT TO:<u@example.test>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n"
#define RSET20 "RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n" \
	"RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n" \
	"RSET\r\nRSET\r\nRSET\r\nRSET\r\nRSET\r\n"

struct gcase {
	const char *label;
	enum scr_client_class cls;
	uint8_t todo;			/* for NEW: 0xff = all, 0 = PASS OLD */
	int action;			/* smtpscreen_smuggling_action; -1 guard off */
	struct step s[16];
	enum scr_verdict want;		/* the last verdict */
	scr_reasons want_reasons;
	int want_stop;			/* 1-based step that stops it, -1 none */
	int want_smuggling;		/* SMUGGLING events */
	int want_commands;		/* ... the last one's count */
	int want_amends;
	enum scr_end_reason want_end;
};

static const struct gcase gcases[] = {
	{.label = "body with bare LF lines is delivered", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {TO_DATA, {'C', "a\nb\n\nc.\n\r\n.\r\n"}, QUIT},
	 .want = SCR_V_PASS, .want_stop = -1},
	{.label = "guard off: the smuggled message goes through", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = -1, .s = {TO_DATA, {'C', SMUGGLE}},
	 .want = SCR_V_PASS, .want_stop = -1},
	{.label = "enforce: stopped where commands follow LF.LF", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE, .s = {TO_DATA, {'C', SMUGGLE}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 10,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "enforce: sequence split across segments", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {TO_DATA, {'C', "hi\r"}, {'C', "\n.\nMAIL FR"}, {'C', "OM:<a@b>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 12,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "enforce: a junk line between the sequence and the commands",
	 .cls = SCR_CLIENT_NEW, .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {TO_DATA, {'C', "hi\n.\nXXXX\r\n"}, {'C', "MAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 11,
	 .want_smuggling = 2, .want_commands = 1, .want_amends = 2},
	{.label = "enforce: the sequence alone is logged, not stopped",
	 .cls = SCR_CLIENT_NEW, .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {TO_DATA, {'C', "hi\n.\nbye\r\n.\r\n"}, QUIT},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = -1,
	 .want_smuggling = 1, .want_amends = 1},
	{.label = "drop: stopped at the segment that completes the sequence",
	 .cls = SCR_CLIENT_NEW, .todo = 0xff, .action = SCR_ACT_DROP,
	 .s = {TO_DATA, {'C', "hi\n"}, {'C', ".\r\nbye\r\n"}, {'C', "MAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 11,
	 .want_smuggling = 1, .want_amends = 1},
	{.label = "ignore: logged and counted only", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_IGNORE, .s = {TO_DATA, {'C', SMUGGLE}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = -1,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "a PASS OLD client is followed", .cls = SCR_CLIENT_NEW, .todo = 0,
	 .action = SCR_ACT_ENFORCE, .s = {TO_DATA, {'C', SMUGGLE}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 10,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "an allow-listed client is followed", .cls = SCR_CLIENT_PERMIT,
	 .action = SCR_ACT_ENFORCE, .s = {TO_DATA, {'C', SMUGGLE}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 10,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "second message of a session is followed", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {TO_DATA, {'C', "one\r\n.\r\nMAIL FROM:<b@x>\r\nRCPT TO:<c@y>\r\nDATA\r\n"},
	       {'S', "250 queued\r\n250 ok\r\n250 ok\r\n354 go\r\n"},
	       {'C', "two\r\n.\nRCPT TO:<x@y>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 12,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "body sent with DATA, in the tests: the verdict carries it",
	 .cls = SCR_CLIENT_NEW, .todo = (uint8_t)~B(PIPELINING), .action = SCR_ACT_ENFORCE,
	 .s = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK,
	       {'C', "DATA\r\nhi\n.\nMAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 8,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "BDAT chunk", .cls = SCR_CLIENT_NEW, .todo = 0xff,
	 .action = SCR_ACT_ENFORCE,
	 .s = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK,
	       {'C', "BDAT 100 LAST\r\nhi\n.\nMAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_FAIL, .want_reasons = SCR_REASON_SMUGGLING, .want_stop = 8,
	 .want_smuggling = 1, .want_commands = 1, .want_amends = 1},
	{.label = "BDAT line split over two segments: the guard cannot read it",
	 .cls = SCR_CLIENT_NEW, .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK, {'C', "BDAT 10"},
	       {'C', "0 LAST\r\nhi\n.\nMAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_PASS, .want_stop = -1},
	{.label = "DATA refused: what follows it is commands, not content",
	 .cls = SCR_CLIENT_NEW, .todo = 0, .action = SCR_ACT_ENFORCE,
	 .s = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK, DATA,
	       {'S', "554 5.5.1 Error: no valid recipients\r\n"}, {'C', "x\n.\nMAIL FROM:<a@b>\r\n"}},
	 .want = SCR_V_PASS, .want_stop = -1},
	{.label = "STARTTLS: TLS bytes are not read", .cls = SCR_CLIENT_NEW, .todo = 0,
	 .action = SCR_ACT_DROP,
	 .s = {GREET, EHLO, EHLO_R, {'C', "STARTTLS\r\n"}, {'S', "220 go\r\n"},
	       {'C', "\x16\x03\x01\n.\n"}},
	 .want = SCR_V_PASS, .want_stop = -1},
	{.label = "21 commands: COMMAND COUNT LIMIT, passed", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE, .s = {GREET, EHLO, EHLO_R, {'C', RSET20}},
	 .want = SCR_V_PASS, .want_reasons = SCR_REASON_COMMAND_LIMIT, .want_stop = 4,
	 .want_end = SCR_END_COMMAND_COUNT},
	{.label = "21 commands without deep tests: smtpd's session, no limit",
	 .cls = SCR_CLIENT_NEW,
	 .todo = SCR_TEST_BIT(SCR_TEST_PREGREET) | SCR_TEST_BIT(SCR_TEST_HELO),
	 .action = SCR_ACT_ENFORCE, .s = {GREET, EHLO, EHLO_R, {'C', RSET20}},
	 .want = SCR_V_UNKNOWN, .want_stop = -1},
	{.label = "a long command without deep tests: no limit", .cls = SCR_CLIENT_NEW,
	 .todo = SCR_TEST_BIT(SCR_TEST_PREGREET) | SCR_TEST_BIT(SCR_TEST_HELO),
	 .action = SCR_ACT_ENFORCE,
	 .s = {GREET, {'C', "EHLO xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}},
	 .want = SCR_V_UNKNOWN, .want_stop = -1},
	{.label = "a long command: COMMAND LENGTH LIMIT", .cls = SCR_CLIENT_NEW,
	 .todo = 0xff, .action = SCR_ACT_ENFORCE,
	 .s = {GREET, {'C', "EHLO xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}},
	 .want = SCR_V_UNKNOWN, .want_reasons = SCR_REASON_COMMAND_LIMIT, .want_stop = 2,
	 .want_end = SCR_END_COMMAND_LENGTH},
};

/* test_dnsbl_after_pass - host mode (dnsbl_wait): a flow whose client's DNSBL
 * answer is still to come says so after its pass; a listing then amends
 * the pass to FAIL, stopped under drop; a neutral answer only ends the
 * wait; without dnsbl_wait a late answer changes nothing (postscreen) */
static void test_dnsbl_after_pass(void **state)
{
	static const struct step steps[16] = {TO_DATA};
	static struct sess s;
	unsigned mode;

	(void)state;
	for (mode = 0; mode < 3; mode++) {
		struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
		struct scr_policy p = pol;
		struct scr_flow_key k;
		struct scr_engine *e;
		int rc;

		p.enabled |= (uint8_t)B(DNSBL);
		p.action[SCR_TEST_DNSBL] = SCR_ACT_DROP;
		p.dnsbl_wait = mode != 2;
		e = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40000;
		build(&s, steps);
		scr_engine_burst(e, s.fr, s.n);
		assert_int_equal(r.verdicts, 1);
		assert_int_equal(r.last_verdict.verdict, SCR_V_PASS);
		k = r.last_verdict.key;
		assert_int_equal(scr_engine_dnsbl_pending(e, &k), mode != 2);
		assert_true(scr_engine_flow_decided(e, &k));
		rc = scr_engine_dnsbl(e, &k, 3, mode == 1 ? SCR_DNSBL_NEUTRAL :
				      SCR_DNSBL_FAIL, s.ts);
		assert_false(scr_engine_dnsbl_pending(e, &k));
		if (mode == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(r.fails, 1);
			assert_int_equal(r.amends, 1);
			assert_int_equal(r.last_verdict.verdict, SCR_V_FAIL);
			assert_int_equal(r.last_verdict.reasons, B(DNSBL));
			assert_true(r.last_verdict.stop_pkt != 0);
			assert_false(scr_engine_flow_decided(e, &k));
		} else {
			assert_int_equal(rc, -ENOENT);
			assert_int_equal(r.fails, 0);
			assert_int_equal(r.amends, 0);
			assert_int_equal(r.last_verdict.verdict, SCR_V_PASS);
			assert_true(scr_engine_flow_decided(e, &k));
		}
		/* a second answer finds nothing to wait for */
		assert_int_equal(scr_engine_dnsbl(e, &k, 3, SCR_DNSBL_FAIL, s.ts), -ENOENT);
		assert_int_equal(r.amends, mode == 0 ? 1 : 0);
		scr_engine_destroy(e);
	}
}

/* test_smuggling - the guard's cases: verdicts, stops, events */
static void test_smuggling(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(gcases) / sizeof(gcases[0]); i++) {
		const struct gcase *c = &gcases[i];
		struct rec r = {.cls = c->cls, .todo = c->todo};
		struct scr_policy p = pol;
		struct scr_engine *e;
		static struct sess s;
		uint64_t want_stop = c->want_stop < 0 ? 0 : (uint64_t)c->want_stop + 2;
		unsigned k;

		p.smuggling_enable = c->action >= 0;
		p.smuggling_action = (uint8_t)(c->action >= 0 ? c->action : 0);
		if (c->want_end == SCR_END_COMMAND_LENGTH || strstr(c->label, "long command"))
			p.line_length_limit = 40;
		e = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40000;
		build(&s, c->s);
		scr_engine_burst(e, s.fr, s.n);
		for (k = 0; k < s.n; k++) {
			uint8_t want = want_stop == 0 || k + 1 < want_stop ? SCR_PKT_PASS :
				       k + 1 == want_stop ? SCR_PKT_STOP : SCR_PKT_DROP;

			if (s.fr[k].action != want)
				fail_msg("%s: frame %u action %u, want %u", c->label,
					 k + 1, s.fr[k].action, want);
		}
		if (c->want_end != SCR_END_CLOSE &&
		    (r.ends != 1 || r.last_end.end != c->want_end ||
		     r.last_end.reasons != c->want_reasons))
			fail_msg("%s: %d ends, reason %d, reasons %#x", c->label, r.ends,
				 (int)r.last_end.end, r.last_end.reasons);
		scr_engine_flush(e, s.ts);
		if (r.last_verdict.verdict != c->want ||
		    r.last_verdict.reasons != c->want_reasons ||
		    r.last_verdict.stop_pkt != want_stop ||
		    r.smuggling != c->want_smuggling || r.amends != c->want_amends ||
		    r.verdicts != 1 + c->want_amends || r.ends != 1 ||
		    (r.smuggling && (int)r.last_smuggling.count != c->want_commands))
			fail_msg("%s: verdicts %d (amends %d) %s reasons %#x stop %llu "
				 "smuggling %d (commands %u) ends %d", c->label,
				 r.verdicts, r.amends,
				 scr_verdict_name[r.last_verdict.verdict],
				 r.last_verdict.reasons,
				 (unsigned long long)r.last_verdict.stop_pkt,
				 r.smuggling, r.last_smuggling.count, r.ends);
		scr_engine_destroy(e);
	}
}

/* span_rec - END events of test_long_time_span, by client port */
struct span_rec {
	unsigned ends;
	uint16_t port[8];
	enum scr_end_reason why[8];
	uint64_t elapsed_ns[8], ts_ns[8];
};

static void span_client(void *arg, const struct scr_flow_key *k, uint64_t now,
			struct scr_client_info *out)
{
	(void)arg; (void)k; (void)now;
	memset(out, 0, sizeof(*out));
	out->cls = SCR_CLIENT_NEW;
	out->todo = 0xff;
}

static void span_event(void *arg, const struct scr_event *ev)
{
	struct span_rec *r = arg;

	if (ev->type != SCR_EV_END || r->ends >= 8)
		return;
	r->port[r->ends] = ev->key.client_port;
	r->why[r->ends] = ev->end;
	r->elapsed_ns[r->ends] = ev->elapsed_ns;
	r->ts_ns[r->ends] = ev->ts_ns;
	r->ends++;
}

/* test_long_time_span - sessions 30 and 60 days apart in one input (a
 * replay of captures from different months): each later session keeps
 * exact timing, the earlier one that was left open times out. The
 * engine's clock was a 32-bit ms count compared as signed: it froze
 * 24.8 days after the first frame ("HANGUP after 0"). */
static void test_long_time_span(void **state)
{
	static const struct step open_only[] = {GREET, EHLO, EHLO_R, {0, NULL}};
	static const struct step whole[] = {GREET, EHLO, EHLO_R, QUIT,
					    {'S', "221 2.0.0 Bye\r\n"}, {'F', NULL},
					    {0, NULL}};
	const uint64_t day = 86400ull * 1000000000ull, t0 = 1704067200ull * 1000000000ull;
	struct span_rec r = {0};
	struct scr_engine_hooks h = {.arg = &r, .client = span_client,
				     .event = span_event};
	struct scr_engine *e = scr_engine_create(&pol, db, &h);
	static struct sess s;
	unsigned i;

	(void)state;
	assert_non_null(e);
	memset(&s, 0, sizeof(s));
	s.cport = 40000;
	s.ts = t0;
	build(&s, open_only);			/* left open: times out */
	scr_engine_burst(e, s.fr, s.n);
	for (i = 1; i <= 2; i++) {
		memset(&s, 0, sizeof(s));
		s.cport = (uint16_t)(40000 + i);
		s.ts = t0 + i * 30 * day;	/* 30, then 60 days later */
		build(&s, whole);
		scr_engine_burst(e, s.fr, s.n);
	}
	scr_engine_flush(e, s.ts);
	assert_int_equal(r.ends, 3);
	/* the open session ended by its timeout, before the later ones */
	assert_int_equal(r.port[0], 40000);
	assert_int_equal(r.why[0], SCR_END_TIMEOUT);
	assert_true(r.ts_ns[0] < t0 + 30 * day);
	for (i = 1; i <= 2; i++) {
		/* SYN to FIN: 8 frames 10 ms apart */
		assert_int_equal(r.port[i], 40000 + i);
		assert_int_equal(r.why[i], SCR_END_CLOSE);
		assert_int_equal(r.elapsed_ns[i], 70000000ull);
		assert_true(r.ts_ns[i] > t0 + i * 30 * day);
	}
	scr_engine_destroy(e);
}

/* test_clock_step - a live front end's wall clock steps by three weeks,
 * forward and back, in the middle of a session: the session keeps its
 * timing (it neither times out nor freezes) and its events carry the new
 * wall time */
static void test_clock_step(void **state)
{
	static const struct step whole[] = {GREET, EHLO, EHLO_R, QUIT,
					    {'S', "221 2.0.0 Bye\r\n"}, {'F', NULL},
					    {0, NULL}};
	const int64_t step = 21ll * 86400 * 1000000000;
	const uint64_t t0 = 1704067200ull * 1000000000ull;
	int dir;

	(void)state;
	for (dir = -1; dir <= 1; dir += 2) {
		struct span_rec r = {0};
		struct scr_engine_hooks h = {.arg = &r, .client = span_client,
					     .event = span_event};
		struct scr_engine *e = scr_engine_create(&pol, db, &h);
		static struct sess s;
		unsigned i;

		assert_non_null(e);
		memset(&s, 0, sizeof(s));
		s.cport = 40000;
		s.ts = t0;
		build(&s, whole);
		scr_engine_burst(e, s.fr, 4);	/* SYN, SYN/ACK, greeting, EHLO */
		scr_engine_clock_step(e, dir * step);
		for (i = 4; i < s.n; i++)
			s.fr[i].ts_ns = (uint64_t)((int64_t)s.fr[i].ts_ns + dir * step);
		scr_engine_burst(e, s.fr + 4, s.n - 4);
		scr_engine_flush(e, s.fr[s.n - 1].ts_ns);
		assert_int_equal(r.ends, 1);
		assert_int_equal(r.why[0], SCR_END_CLOSE);
		assert_int_equal(r.elapsed_ns[0], 70000000ull);
		assert_int_equal(r.ts_ns[0], s.fr[s.n - 1].ts_ns);
		scr_engine_destroy(e);
	}
}

/* test_midstream_ignored - no SYN, no flow, no verdict */
static void test_midstream_ignored(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	static struct sess s;
	struct scr_stats st;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cport = 40001;
	sess_add(&s, 1, 0x18, 5000, "MAIL FROM:<a@b.c>\r\n");
	sess_add(&s, 0, 0x18, 7000, "250 ok\r\n");
	scr_engine_burst(e, s.fr, s.n);
	scr_engine_flush(e, s.ts);
	scr_engine_stats(e, &st);
	assert_int_equal(r.verdicts, 0);
	assert_int_equal(st.no_flow, 2);
	assert_int_equal(st.flows, 0);
	scr_engine_destroy(e);
}

/* syns - n client SYNs (ports 1024..), one frame each, dt ns apart */
static void syns(struct scr_engine *e, unsigned n, uint64_t t0, uint64_t dt)
{
	static struct sess s;
	unsigned i;

	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.cport = (uint16_t)(1024 + i);
		s.ts = t0 + i * dt;
		sess_add(&s, 1, 0x02, 1, NULL);
		scr_engine_burst(e, s.fr, 1);
	}
}

/* test_connect_at_handshake - a client with tests to run is CONNECTed by
 * its first frame after the SYN/ACK (a spoofed SYN never is); one the
 * cache or the access list decides is CONNECTed at its SYN */
static void test_connect_at_handshake(void **state)
{
	static const struct {
		const char *label;
		enum scr_client_class cls;
		uint8_t todo;
		int frames;		/* SYN, SYN/ACK, ACK, data */
		int want;
	} t[] = {
		{"SYN alone: no CONNECT", SCR_CLIENT_NEW, 0xff, 1, 0},
		{"SYN and SYN/ACK: not yet", SCR_CLIENT_NEW, 0xff, 2, 0},
		{"the client's ACK: CONNECT", SCR_CLIENT_NEW, 0xff, 3, 1},
		{"and data after it: still one", SCR_CLIENT_NEW, 0xff, 4, 1},
		{"cache hit: at the SYN", SCR_CLIENT_NEW, 0, 1, 1},
		{"allowlisted: at the SYN", SCR_CLIENT_PERMIT, 0, 1, 1},
		{"denylisted: at the SYN", SCR_CLIENT_REJECT, 0, 1, 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rec r = {.cls = t[i].cls, .todo = t[i].todo};
		struct scr_engine *e = engine_for(&r, &pol);
		static struct sess s;

		memset(&s, 0, sizeof(s));
		s.cport = 40000;
		s.seq[0] = 1000;
		s.seq[1] = 9000;
		sess_add(&s, 1, 0x02, s.seq[0]++, NULL);
		sess_add(&s, 0, 0x12, s.seq[1]++, NULL);
		sess_add(&s, 1, 0x10, s.seq[0], NULL);
		sess_add(&s, 1, 0x18, s.seq[0], "EHLO x\r\n");
		scr_engine_burst(e, s.fr, (unsigned)t[i].frames);
		if (r.connects != t[i].want)
			fail_msg("%s: %d CONNECT events, want %d", t[i].label,
				 r.connects, t[i].want);
		scr_engine_destroy(e);
	}
}

/* test_stopped_leaves_soon - a stopped session (the front end reset both
 * ends; the engine sees no RST) leaves the table at the close timeout,
 * not the idle timeout (bug: it held room for 300 s) */
static void test_stopped_leaves_soon(void **state)
{
	static const struct step st[] = {
		GREET, {'C', "GET / HTTP/1.0\r\n"}, {0, NULL}};
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	static struct sess s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cport = 40000;
	build(&s, st);
	scr_engine_burst(e, s.fr, s.n);
	assert_int_equal(r.last_verdict.verdict, SCR_V_FAIL);
	assert_true(r.last_verdict.stop_pkt != 0);
	assert_int_equal(scr_engine_flows_active(e), 1);
	scr_engine_expire(e, s.ts + pol.close_timeout_ns + 1000000000ull);
	assert_int_equal(scr_engine_flows_active(e), 0);
	scr_engine_destroy(e);
}

/* test_reset_after_stress - a reset engine starts out of stress mode;
 * the end of input leaves it (bug: reset kept the stress flag) */
static void test_reset_after_stress(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	static struct sess s;

	(void)state;
	syns(e, 1000, 1000000000ull, 1000ull);
	assert_true(scr_engine_stress(e));
	scr_engine_reset(e);
	assert_false(scr_engine_stress(e));
	memset(&s, 0, sizeof(s));
	s.cport = 999;
	s.ts = 5000000000ull;
	sess_add(&s, 1, 0x02, 1, NULL);
	scr_engine_burst(e, s.fr, 1);
	assert_false(scr_engine_stress(e));
	/* stress again, then the end of input empties the table: left */
	syns(e, 1000, 6000000000ull, 1000ull);
	assert_true(scr_engine_stress(e));
	scr_engine_flush(e, 7000000000ull);
	assert_false(scr_engine_stress(e));
	scr_engine_destroy(e);
}

/* test_table_full_and_timeouts - more SYNs than room; idle SYNs time out */
static void test_table_full_and_timeouts(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	struct scr_stats st;

	(void)state;
	syns(e, 1100, 1000000000ull, 1000000ull);
	scr_engine_stats(e, &st);
	assert_int_equal(st.flows, 1100);
	assert_int_equal(st.overload, 0);
	assert_int_equal(st.ended[SCR_END_EVICTED], 76);
	assert_int_equal(st.evicted[SCR_EVICT_HALF_OPEN], 76);
	assert_int_equal(scr_engine_flows_active(e), 1024);
	/* 6 s later every SYN-only flow has timed out (syn timeout 5 s) */
	scr_engine_expire(e, 1000000000ull + 1100 * 1000000ull + 6000000000ull);
	scr_engine_stats(e, &st);
	assert_int_equal(scr_engine_flows_active(e), 0);
	assert_int_equal(st.ended[SCR_END_TIMEOUT], 1024);
	assert_int_equal(st.verdict[SCR_V_UNKNOWN], 1100);
	/* the sweep took them out of the table in batches: every entry is
	 * free and in no chain, so the table fills and empties again (a
	 * flow ended twice, or left in its chain, panics or shows here) */
	syns(e, 1024, 20000000000ull, 1000000ull);
	scr_engine_stats(e, &st);
	assert_int_equal(scr_engine_flows_active(e), 1024);
	assert_int_equal(st.overload, 0);
	assert_int_equal(st.ended[SCR_END_EVICTED], 76);
	scr_engine_expire(e, 20000000000ull + 1024 * 1000000ull + 6000000000ull);
	scr_engine_stats(e, &st);
	assert_int_equal(scr_engine_flows_active(e), 0);
	assert_int_equal(st.ended[SCR_END_TIMEOUT], 2048);
	scr_engine_destroy(e);
}

/* test_sweep_pace - the clock hand covers the table once per second of
 * input time, whatever the frame rate: a SYN left idle in a table of
 * 1,500 entries, then a frame to another port every millisecond (one
 * burst each, 1.5 entries owed per ms). The hand meets entry 0 at the
 * start of each lap, so the flow ends at its first lap after the 5 s SYN
 * timeout: 5.001 s. A hand that dropped each call's fraction (one entry
 * a ms) would lap in 1.5 s and end it at 6.001 s; one paced by frames
 * at a million frames a second would lap the table hundreds of times a
 * second. */
static void test_sweep_pace(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_policy p = pol;
	struct scr_engine *e;
	struct scr_stats st;
	uint8_t buf[128];
	struct pb_spec sp = {
		.src = "198.18.0.20", .dst = "198.19.255.1", .sport = 40000,
		.dport = 80, .seq = 1, .flags = 0x10,
	};
	struct scr_frame fr = {.data = buf, .link = SCR_LINK_ETH};
	uint64_t t0 = 1000000000ull, ms;

	(void)state;
	p.flow_table_size = 1500;
	e = engine_for(&r, &p);
	syns(e, 1, t0, 0);	/* at t0 + 10 ms (sess_add's step) */
	t0 += 10000000ull;
	fr.caplen = fr.wirelen = pb_build(buf, &sp);
	for (ms = 1; ms <= 7000; ms++) {
		fr.ts_ns = t0 + ms * 1000000ull;
		fr.pkt_no = (uint32_t)ms + 1;
		scr_engine_burst(e, &fr, 1);
		scr_engine_stats(e, &st);
		if (ms <= 5000) {	/* not idle longer than 5 s yet */
			assert_int_equal(scr_engine_flows_active(e), 1);
		} else if (st.ended[SCR_END_TIMEOUT] == 1) {
			break;
		}
	}
	assert_int_equal(st.ended[SCR_END_TIMEOUT], 1);
	assert_int_equal(scr_engine_flows_active(e), 0);
	/* ended at the hand's first lap after its timeout */
	assert_int_equal(ms, 5001);
	assert_int_equal(st.other_pkts, ms);
	scr_engine_destroy(e);
}

/* test_reload_mid_session - a session in flight survives a reload, and
 * the new policy applies to the bytes after it */
static void test_reload_mid_session(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	struct scr_policy pol2 = pol;
	static struct sess s;
	const struct step steps[] = {GREET, EHLO, EHLO_R, {'C', "MAIL FROM:<a@example.org>\n"},
				     OK, RCPT, OK, DATA, GO, {0, NULL}};

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cport = 40002;
	build(&s, steps);
	/* SYN .. EHLO reply, then reload with bare newline now enforced by drop */
	scr_engine_burst(e, s.fr, 5);
	pol2.action[SCR_TEST_BARE_NEWLINE] = SCR_ACT_DROP;
	assert_int_equal(scr_engine_set_policy(e, &pol2, db), 0);
	scr_engine_burst(e, s.fr + 5, s.n - 5);
	scr_engine_flush(e, s.ts);
	assert_int_equal(r.verdicts, 1);
	assert_int_equal(r.last_verdict.verdict, SCR_V_FAIL);
	assert_int_equal(r.last_verdict.reasons, B(BARE_NEWLINE));
	assert_int_equal(r.last_verdict.stop_pkt, 6);	/* the MAIL line */
	/* reload without patterns also works */
	assert_int_equal(scr_engine_set_policy(e, &pol2, NULL), 0);
	scr_engine_destroy(e);
}

/* test_reload_prepared_scanner - a live mode's reload: the scanner built
 * apart (scr_engine_scan_create), the switch hands back the old one, which
 * is destroyed at once while a client line split across segments holds a
 * stream of it: the line is finished with the new one and judged (ASan
 * sees any stream left in the old pool) */
static void test_reload_prepared_scanner(void **state)
{
	/* a signature: only Hyperscan matches it, so split lines hold streams
	 * (the main.cf's own patterns are all matched without one) */
	static const struct scr_scan_pattern sig = { "sig", "^QQQ[0-9]+Z", 1, SCR_PAT_LINE,
						     SCR_TEST_NON_SMTP, "sigs:1" };
	char err[256];
	struct scr_scan_db *sdb = scr_scan_create(&sig, 1, err, sizeof(err));
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_on(&r, &pol, sdb);
	struct scr_policy pol2 = pol;
	struct scr_scan_thread *nt, *old, *ref;
	static struct sess s;
	const struct step steps[] = {GREET, {'C', "EHLO client.exa"}, {'C', "mple.org\n"},
				     EHLO_R, {0, NULL}};

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cport = 40005;
	build(&s, steps);
	/* SYN, SYN/ACK, greeting, the first half of the EHLO line */
	scr_engine_burst(e, s.fr, 4);
	nt = scr_engine_scan_create(e, sdb);
	ref = scr_engine_scan_create(e, sdb);
	assert_non_null(nt);
	assert_non_null(ref);
	assert_true(scr_scan_has_patterns(nt));	/* a split line holds a stream */
	pol2.action[SCR_TEST_BARE_NEWLINE] = SCR_ACT_DROP;
	old = scr_engine_set_policy_scan(e, &pol2, sdb, nt);
	assert_non_null(old);
	assert_ptr_not_equal(old, nt);
	/* the half line's stream went back to the old pool: all there */
	assert_int_equal(scr_scan_pool_free(old), scr_scan_pool_free(ref));
	scr_scan_thread_destroy(ref);
	scr_scan_thread_destroy(old);		/* as the control thread does */
	scr_engine_burst(e, s.fr + 4, s.n - 4);
	scr_engine_flush(e, s.ts);
	assert_int_equal(r.verdicts, 1);
	assert_int_equal(r.last_verdict.verdict, SCR_V_FAIL);
	assert_int_equal(r.last_verdict.reasons, B(BARE_NEWLINE));
	/* without patterns: no scanner, the old one back */
	old = scr_engine_set_policy_scan(e, &pol2, NULL, NULL);
	assert_ptr_equal(old, nt);
	scr_scan_thread_destroy(old);
	scr_engine_destroy(e);
	scr_scan_destroy(sdb);
}

/* test_syn_retransmission - the client's SYN sent again after the SYN/ACK
 * (its ACK was lost) is the same connection; a SYN with a new ISN after a
 * session is a new connection on the same ports */
static void test_syn_retransmission(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_engine *e = engine_for(&r, &pol);
	static struct sess s;
	struct scr_stats st;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.cport = 40003;
	s.seq[0] = 1000;
	s.seq[1] = 9000;
	sess_add(&s, 1, 0x02, s.seq[0], NULL);		/* SYN */
	sess_add(&s, 0, 0x12, s.seq[1], NULL);		/* SYN/ACK */
	sess_add(&s, 1, 0x02, s.seq[0], NULL);		/* SYN again, same ISN */
	s.seq[0]++;
	s.seq[1]++;
	sess_add(&s, 0, 0x18, s.seq[1], "220 mx.example.test ESMTP\r\n");
	s.seq[1] += 27;
	sess_add(&s, 1, 0x18, s.seq[0], "QUIT\r\n");
	s.seq[0] += 6;
	sess_add(&s, 1, 0x11, s.seq[0], NULL);		/* FIN */
	sess_add(&s, 1, 0x02, 777777, NULL);		/* new ISN: a new connection */
	scr_engine_burst(e, s.fr, s.n);
	scr_engine_flush(e, s.ts);
	scr_engine_stats(e, &st);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.port_reuse, 1);
	assert_int_equal(r.ends, 2);
	scr_engine_destroy(e);
}

/* hold_run - frames [from, to) of s with flags, one at a time; the actions */
static void hold_run(struct scr_engine *e, struct sess *s, unsigned from,
		     unsigned to, uint8_t flags, uint8_t *act)
{
	unsigned i;

	for (i = from; i < to; i++) {
		s->fr[i].flags = flags;
		scr_engine_burst(e, &s->fr[i], 1);
		act[i] = s->fr[i].action;
	}
}

/* test_greet_hold - the server's greeting and what follows it are held
 * until given back; a client talking meanwhile pregreets; given back, the
 * session runs on; the protected side starts no flow */
static void test_greet_hold(void **state)
{
	static const char greet[] = "220 mx.example.test ESMTP\r\n";
	uint8_t act[24];
	static struct sess s;
	struct scr_stats st;
	unsigned n;
	int early;

	(void)state;
	for (early = 0; early < 2; early++) {
		struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
		struct scr_engine *e = engine_for(&r, &pol);

		memset(&s, 0, sizeof(s));
		memset(act, 0xff, sizeof(act));
		s.cport = 40010;
		s.seq[0] = 1000;
		s.seq[1] = 9000;
		sess_add(&s, 1, 0x02, s.seq[0]++, NULL);		/* 0 SYN */
		sess_add(&s, 0, 0x12, s.seq[1]++, NULL);		/* 1 SYN/ACK */
		sess_add(&s, 0, 0x18, s.seq[1], greet);			/* 2 held */
		sess_add(&s, 0, 0x18, s.seq[1], greet);			/* 3 retransmission */
		if (early) {
			sess_add(&s, 1, 0x18, s.seq[0], "EHLO x.example\r\n"); /* 4 */
			s.seq[0] += 16;
		}
		n = s.n;
		hold_run(e, &s, 0, n, SCR_FRAME_HOLD_OK, act);
		assert_int_equal(act[2], SCR_PKT_HOLD);
		assert_int_equal(act[3], SCR_PKT_HOLD);
		assert_int_equal(r.fails, early);	/* pregreet while held */
		/* Given back in order: judged now. */
		hold_run(e, &s, 2, 4, SCR_FRAME_HOLD_OK | SCR_FRAME_RELEASED, act);
		assert_int_equal(act[2], SCR_PKT_PASS);
		assert_int_equal(act[3], SCR_PKT_PASS);
		s.seq[1] += (uint32_t)strlen(greet);
		if (!early) {
			sess_add(&s, 1, 0x18, s.seq[0], "EHLO x.example\r\n");
			s.seq[0] += 16;
		}
		/* Later server frames are not held again. */
		sess_add(&s, 0, 0x18, s.seq[1], "250 mx.example.test\r\n");
		hold_run(e, &s, n, s.n, SCR_FRAME_HOLD_OK, act);
		assert_int_equal(act[s.n - 1], SCR_PKT_PASS);
		assert_int_equal(r.fails, early);
		scr_engine_stats(e, &st);
		assert_int_equal(st.held, 2);
		scr_engine_flush(e, s.ts);
		assert_int_equal(r.verdicts, 1);
		assert_int_equal(r.last_verdict.reasons, early ? B(PREGREET) : 0);
		scr_engine_destroy(e);
	}
	/* No hold without HOLD_OK, none for a cached client, none inside. */
	{
		struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0};
		struct scr_engine *e = engine_for(&r, &pol);

		memset(&s, 0, sizeof(s));
		s.cport = 40011;
		s.seq[0] = 1000;
		s.seq[1] = 9000;
		sess_add(&s, 1, 0x02, s.seq[0]++, NULL);
		sess_add(&s, 0, 0x12, s.seq[1]++, NULL);
		sess_add(&s, 0, 0x18, s.seq[1], greet);
		hold_run(e, &s, 0, s.n, SCR_FRAME_HOLD_OK, act);
		assert_int_equal(act[2], SCR_PKT_PASS);
		s.cport = 40012;
		s.n = 0;
		sess_add(&s, 1, 0x02, 5000, NULL);
		hold_run(e, &s, 0, 1, SCR_FRAME_INSIDE, act);
		scr_engine_stats(e, &st);
		assert_int_equal(st.flows, 1);
		assert_int_equal(st.inside_syn, 1);
		assert_int_equal(st.held, 0);
		scr_engine_destroy(e);
	}
}

/* test_dnsbl_late - a DNSBL answer applies to the session it is for */
static void test_dnsbl_late(void **state)
{
	static const struct {
		const char *label;
		enum scr_dnsbl_outcome out;
		enum scr_action act;
		int want_rc;		/* of scr_engine_dnsbl */
		enum scr_verdict want;
		int stop_at;		/* frame index that stops it, -1 none */
	} c[] = {
		{"listed, drop: the next frame stops it", SCR_DNSBL_FAIL, SCR_ACT_DROP,
		 0, SCR_V_FAIL, 3},
		{"listed, enforce: stopped at DATA", SCR_DNSBL_FAIL, SCR_ACT_ENFORCE,
		 0, SCR_V_FAIL, 9},
		{"listed, ignore: logged, session runs", SCR_DNSBL_FAIL, SCR_ACT_IGNORE,
		 0, SCR_V_FAIL, -1},
		{"allow-listed: PASS at once", SCR_DNSBL_ALLOW, SCR_ACT_DROP,
		 0, SCR_V_PASS, -1},
		{"neutral: nothing changes", SCR_DNSBL_NEUTRAL, SCR_ACT_DROP,
		 0, SCR_V_PASS, -1},
	};
	static const struct step st[] = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK,
					 DATA, GO, {0, NULL}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
		struct scr_policy p = pol;
		struct scr_engine *e;
		static struct sess s;
		unsigned k;
		int rc;

		p.action[SCR_TEST_DNSBL] = (uint8_t)c[i].act;
		e = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40020;
		build(&s, st);
		scr_engine_burst(e, s.fr, 3);		/* SYN, SYN/ACK, greeting */
		rc = scr_engine_dnsbl(e, &(struct scr_flow_key){0}, 5, c[i].out,
				      s.fr[2].ts_ns);
		assert_int_equal(rc, -ENOENT);		/* no such flow */
		assert_int_equal(r.verdicts, 0);
		{
			struct scr_flow_key fk;
			struct scr_pkt pk;

			assert_int_equal(scr_decode(SCR_LINK_ETH, s.fr[0].data,
						    s.fr[0].caplen, &pk), SCR_DEC_TCP);
			memset(&fk, 0, sizeof(fk));
			fk.client = pk.src;
			fk.server = pk.dst;
			fk.client_port = pk.sport;
			fk.server_port = pk.dport;
			fk.family = pk.family;
			rc = scr_engine_dnsbl(e, &fk, 5, c[i].out, s.fr[2].ts_ns);
			assert_int_equal(rc, c[i].want_rc);
		}
		for (k = 3; k < s.n; k++) {
			scr_engine_burst(e, &s.fr[k], 1);
			if ((int)k == c[i].stop_at && s.fr[k].action != SCR_PKT_STOP)
				fail_msg("%s: frame %u not stopped", c[i].label, k);
			if ((int)k != c[i].stop_at && s.fr[k].action == SCR_PKT_STOP)
				fail_msg("%s: frame %u stopped", c[i].label, k);
		}
		scr_engine_flush(e, s.ts);
		if (r.verdicts != 1 || r.last_verdict.verdict != c[i].want)
			fail_msg("%s: %d verdicts, last %s", c[i].label, r.verdicts,
				 scr_verdict_name[r.last_verdict.verdict]);
		if (c[i].out == SCR_DNSBL_FAIL &&
		    !(r.last_verdict.reasons & B(DNSBL)))
			fail_msg("%s: dnsbl not among the reasons", c[i].label);
		scr_engine_destroy(e);
	}
}

/* test_reply_events - reply bans: the server's final reply lines of each
 * kind are reported, in the tests and on the fast path, once (not their
 * continuation lines, not a retransmission); nothing for an allow-listed
 * client or with reply bans off */
static void test_reply_events(void **state)
{
#define R550 {'S', "550 5.1.1 <x@mx.example.test>: Recipient address rejected: User unknown in local recipient table\r\n"}
	static const struct {
		const char *label;
		enum scr_client_class cls;
		uint8_t todo;
		bool on;
		struct step s[12];
		int want[SCR_REPLY_MAX];	/* auth, harvest, relay, helo */
	} c[] = {
		{"harvest in the tests", SCR_CLIENT_NEW, 0xff, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, R550, RCPT, R550, RCPT, OK, QUIT},
		 {0, 2, 0, 0}},
		{"harvest on the fast path (PASS OLD)", SCR_CLIENT_NEW, 0, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, R550, RCPT, R550, {'S', "550 5.1.1 <y@x>: no\r\n"}},
		 {0, 3, 0, 0}},
		{"a retransmitted reply counts once", SCR_CLIENT_NEW, 0, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, R550, {'r', NULL}},
		 {0, 1, 0, 0}},
		{"AUTH failed, relay denied", SCR_CLIENT_NEW, 0, true,
		 {GREET, EHLO, EHLO_R, {'C', "AUTH PLAIN AGFiYwBkZWY=\r\n"},
		  {'S', "535 5.7.8 Error: authentication failed: authentication failure\r\n"},
		  MAIL, OK, RCPT, {'S', "554 5.7.1 <u@else.example>: Relay access denied\r\n"}},
		 {1, 0, 1, 0}},
		{"5xx to HELO and EHLO, not to MAIL", SCR_CLIENT_NEW, 0, true,
		 {GREET, {'C', "HELO x\r\n"}, {'S', "501 5.5.2 <x>: Helo command rejected\r\n"},
		  {'C', "ehlo x\r\n"}, {'S', "550-5.7.1 no\r\n550 5.7.1 bad\r\n"},
		  MAIL, {'S', "553 5.1.8 bad sender\r\n"}},
		 {0, 0, 0, 2}},
		{"multi-line reply: the final line only; 250 lines none", SCR_CLIENT_NEW, 0xff, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT,
		  {'S', "550-5.1.1 one\r\n550-5.1.1 two\r\n550 5.1.1 three\r\n"}, QUIT},
		 {0, 1, 0, 0}},
		{"allow-listed: not watched", SCR_CLIENT_PERMIT, 0, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, R550}, {0, 0, 0, 0}},
		{"reply bans off", SCR_CLIENT_NEW, 0, false,
		 {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, R550}, {0, 0, 0, 0}},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rec r = {.cls = c[i].cls, .todo = c[i].todo};
		struct scr_policy p = pol;
		struct scr_engine *e;
		static struct sess s;
		struct step st[13];
		unsigned k, n = 0;

		p.reply_ban = c[i].on;
		e = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40100;
		for (k = 0; k < 12 && c[i].s[k].op; k++)
			if (c[i].s[k].op != 'r')
				st[n++] = c[i].s[k];
		st[n].op = 0;
		build(&s, st);
		if (n < 12 && c[i].s[n].op == 'r') {	/* the server's last segment again */
			s.fr[s.n] = s.fr[s.n - 1];
			s.n++;
		}
		scr_engine_burst(e, s.fr, s.n);
		scr_engine_flush(e, s.ts);
		for (k = 0; k < SCR_REPLY_MAX; k++)
			if (r.replies[k] != c[i].want[k])
				fail_msg("%s: %d %s replies, want %d", c[i].label,
					 r.replies[k], scr_reply_name[k], c[i].want[k]);
		scr_engine_destroy(e);
	}
#undef R550
}

/* test_reply_ban - a ban from the event hook: drop stops the session at
 * its next frame and the verdict says reply_ban; on the fast path the
 * verdict stays, the session is stopped; ignore only fails the flow */
static void test_reply_ban(void **state)
{
	static const struct step st[] = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT,
		{'S', "550 5.1.1 <a@x>: User unknown\r\n"}, RCPT,
		{'S', "550 5.1.1 <b@x>: User unknown\r\n"}, RCPT, OK, {0, NULL}};
	static const struct {
		const char *label;
		uint8_t todo;
		enum scr_action act;
		int stop_at;		/* frame index, -1 none */
		enum scr_verdict want;
		uint8_t reasons;
	} c[] = {
		{"in the tests, drop", 0xff, SCR_ACT_DROP, 11, SCR_V_FAIL, B(REPLY_BAN)},
		{"in the tests, ignore", 0xff, SCR_ACT_IGNORE, -1, SCR_V_FAIL, B(REPLY_BAN)},
		{"fast path, drop: stopped, verdict kept", 0, SCR_ACT_DROP, 11, SCR_V_PASS, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rec r = {.cls = SCR_CLIENT_NEW, .todo = c[i].todo, .ban_at = 2};
		struct scr_policy p = pol;
		static struct sess s;
		struct scr_stats es;
		unsigned k;

		p.reply_ban = true;
		p.action[SCR_TEST_REPLY_BAN] = (uint8_t)c[i].act;
		r.eng = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40200;
		build(&s, st);
		for (k = 0; k < s.n; k++) {
			scr_engine_burst(r.eng, &s.fr[k], 1);
			if ((int)k == c[i].stop_at && s.fr[k].action != SCR_PKT_STOP)
				fail_msg("%s: frame %u not stopped", c[i].label, k);
			if ((int)k < c[i].stop_at || c[i].stop_at < 0)
				if (s.fr[k].action == SCR_PKT_STOP)
					fail_msg("%s: frame %u stopped", c[i].label, k);
		}
		scr_engine_flush(r.eng, s.ts);
		if (r.verdicts != 1 || r.last_verdict.verdict != c[i].want ||
		    r.last_verdict.reasons != c[i].reasons)
			fail_msg("%s: %d verdicts, last %s reasons %x", c[i].label,
				 r.verdicts, scr_verdict_name[r.last_verdict.verdict],
				 r.last_verdict.reasons);
		assert_int_equal(r.fails, 1);
		scr_engine_stats(r.eng, &es);
		assert_int_equal(es.reply_bans, 1);
		assert_int_equal(es.replies[SCR_REPLY_HARVEST], 2);
		scr_engine_destroy(r.eng);
	}
}

/* test_envelope - envelope capture through the engine: in the tests and
 * on the fast path, split lines, a reject from the event hook (enforce,
 * drop: the frame with the command stops; ignore: the flow fails only), a
 * late reject (the next frame stops), allow-listed and off: nothing */
static void test_envelope(void **state)
{
	static const struct {
		const char *label;
		enum scr_client_class cls;
		uint8_t todo;
		bool on;
		struct step s[16];
		const char *want;
		const char *reject;
		enum scr_action act;
		int stop_at;		/* frame index, -1 none */
		enum scr_verdict verdict;
		scr_reasons reasons;
	} c[] = {
		{"in the tests, split lines", SCR_CLIENT_NEW, 0xff, true,
		 {GREET, {'C', "EH"}, {'C', "LO c.example\r\n"}, EHLO_R, {'C', "MAIL FR"},
		  {'C', "OM: <a@b.example> SIZE=10\r\n"}, OK, {'C', "RCPT TO:<u"},
		  {'C', "@d.example>\r\n"}, OK, DATA, GO, {'C', "MAIL FROM:<body@x>\r\n"}},
		 "EHLO c.example|MAIL a@b.example|RCPT u@d.example|", NULL, SCR_ACT_IGNORE, -1,
		 SCR_V_PASS, 0},
		{"fast path, null sender", SCR_CLIENT_NEW, 0, true,
		 {GREET, {'C', "HELO h\r\n"}, OK, {'C', "MAIL FROM:<>\r\n"}, OK},
		 "HELO h|MAIL |", NULL, SCR_ACT_IGNORE, -1, SCR_V_PASS, 0},
		{"fast path, enforce: the MAIL frame stops, verdict amended", SCR_CLIENT_NEW, 0, true,
		 {GREET, EHLO, EHLO_R, {'C', "MAIL FROM:<user>\r\n"}, OK, RCPT},
		 "EHLO client.example.org|MAIL user|", "user", SCR_ACT_ENFORCE, 5,
		 SCR_V_FAIL, SCR_REASON_ENVELOPE},
		{"in the tests, drop at RCPT", SCR_CLIENT_NEW, 0xff, true,
		 {GREET, EHLO, EHLO_R, MAIL, OK, {'C', "RCPT TO:<u@nowhere>\r\n"}, OK, DATA},
		 "EHLO client.example.org|MAIL a@example.org|RCPT u@nowhere|", "u@nowhere",
		 SCR_ACT_DROP, 7, SCR_V_FAIL, SCR_REASON_ENVELOPE},
		{"ignore: failed, not stopped", SCR_CLIENT_NEW, 0, true,
		 {GREET, EHLO, EHLO_R, {'C', "MAIL FROM:<user>\r\n"}, OK, RCPT, OK},
		 "EHLO client.example.org|MAIL user|RCPT u@example.test|", "user", SCR_ACT_IGNORE,
		 -1, SCR_V_FAIL, SCR_REASON_ENVELOPE},
		{"allow-listed: not read", SCR_CLIENT_PERMIT, 0, true,
		 {GREET, EHLO, EHLO_R, MAIL}, "", NULL, SCR_ACT_IGNORE, -1, SCR_V_ALLOWLISTED, 0},
		{"off: not read", SCR_CLIENT_NEW, 0, false,
		 {GREET, EHLO, EHLO_R, MAIL}, "", NULL, SCR_ACT_IGNORE, -1, SCR_V_PASS, 0},
	};
	size_t i;
	int smug;

	(void)state;
	/* with the smuggling guard the capture reads its ordered bytes;
	 * without it, the segments as they come */
	for (smug = 0; smug < 2; smug++)
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rec r = {.cls = c[i].cls, .todo = c[i].todo,
				.reject_arg = c[i].reject, .reject_act = c[i].act};
		struct scr_policy p = pol;
		static struct sess s;
		struct scr_stats es;
		unsigned k;

		p.envelope = c[i].on;
		p.smuggling_enable = smug;
		r.eng = engine_for(&r, &p);
		memset(&s, 0, sizeof(s));
		s.cport = 40300;
		build(&s, c[i].s);
		for (k = 0; k < s.n; k++) {
			scr_engine_burst(r.eng, &s.fr[k], 1);
			if ((int)k == c[i].stop_at && s.fr[k].action != SCR_PKT_STOP)
				fail_msg("%s: frame %u not stopped", c[i].label, k);
			if (((int)k < c[i].stop_at || c[i].stop_at < 0) &&
			    s.fr[k].action == SCR_PKT_STOP)
				fail_msg("%s: frame %u stopped", c[i].label, k);
		}
		scr_engine_flush(r.eng, s.ts);
		if (strcmp(r.envs, c[i].want) != 0)
			fail_msg("%s (guard %d): reported \"%s\", want \"%s\"",
				 c[i].label, smug, r.envs, c[i].want);
		if (r.last_verdict.verdict != c[i].verdict ||
		    r.last_verdict.reasons != c[i].reasons ||
		    r.last_end.reasons != c[i].reasons)
			fail_msg("%s: last verdict %s reasons %x (end %x)", c[i].label,
				 scr_verdict_name[r.last_verdict.verdict],
				 r.last_verdict.reasons, r.last_end.reasons);
		scr_engine_stats(r.eng, &es);
		assert_int_equal(es.envelope_rejected, c[i].reject != NULL);
		assert_int_equal(es.envelope_stopped, c[i].stop_at >= 0);
		scr_engine_destroy(r.eng);
	}
}

/* test_envelope_reorder - two client segments swapped on the fast path:
 * the smuggling guard's ordering gives the capture both, in order */
static void test_envelope_reorder(void **state)
{
	static const struct step st[] = {GREET, EHLO, EHLO_R,
		{'C', "MAIL FROM:<a@b.example>\r\n"}, {'C', "RCPT TO:<u@d.example>\r\n"},
		OK, OK, {0, NULL}};
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0};
	struct scr_policy p = pol;
	static struct sess s;
	struct scr_frame t;

	(void)state;
	p.envelope = true;
	r.eng = engine_for(&r, &p);
	memset(&s, 0, sizeof(s));
	s.cport = 40302;
	build(&s, st);
	t = s.fr[5];
	s.fr[5] = s.fr[6];
	s.fr[6] = t;
	scr_engine_burst(r.eng, s.fr, s.n);
	scr_engine_flush(r.eng, s.ts);
	assert_string_equal(r.envs, "EHLO client.example.org|MAIL a@b.example|RCPT u@d.example|");
	scr_engine_destroy(r.eng);
}

/* env_wait_session - the envelope wait tests' session (two RCPT TOs, then
 * DATA) from cport into s, every frame SCR_FRAME_WAIT_OK, and an engine
 * with the envelope checks on policy p (the caller's: it outlives it) */
static void env_wait_session(struct rec *r, struct scr_policy *p,
			     struct sess *s, uint16_t cport)
{
	static const struct step st[] = {GREET, EHLO, EHLO_R, MAIL, OK,
		{'C', "RCPT TO:<u@d.example>\r\n"}, {'C', "RCPT TO:<v@d.example>\r\n"},
		OK, OK, DATA, {0, NULL}};
	unsigned i;

	p->envelope = true;
	r->eng = engine_for(r, p);
	memset(s, 0, sizeof(*s));
	s->cport = cport;
	build(s, st);
	for (i = 0; i < s->n; i++)
		s->fr[i].flags |= SCR_FRAME_WAIT_OK;
}

/* test_envelope_wait - a front end that can keep client frames: the one
 * that completes a RCPT TO and the client's later ones wait for ctrl's
 * answer, the server's do not; after the answer they pass again */
static void test_envelope_wait(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0};
	struct scr_policy p = pol;
	static struct sess s;
	struct scr_stats es;
	unsigned i;

	(void)state;
	env_wait_session(&r, &p, &s, 40303);
	scr_engine_burst(r.eng, s.fr, 10);	/* to the server's first OK after RCPTs */
	for (i = 0; i < 7; i++)
		assert_int_equal(s.fr[i].action, SCR_PKT_PASS);
	assert_int_equal(s.fr[7].action, SCR_PKT_WAIT);	/* the first RCPT */
	assert_int_equal(s.fr[8].action, SCR_PKT_WAIT);	/* the next one, in order */
	assert_int_equal(s.fr[9].action, SCR_PKT_PASS);	/* the server's */
	assert_int_equal(scr_engine_envelope_done(r.eng, &r.last_verdict.key), 0);
	scr_engine_burst(r.eng, s.fr + 10, s.n - 10);
	for (i = 10; i < s.n; i++)
		assert_int_equal(s.fr[i].action, SCR_PKT_PASS);
	scr_engine_stats(r.eng, &es);
	assert_int_equal(es.envelope_waits, 2);
	scr_engine_flush(r.eng, s.ts);
	assert_int_equal(scr_engine_envelope_done(r.eng, &r.last_verdict.key), -ENOENT);
	scr_engine_destroy(r.eng);
}

/* test_envelope_answers - two RCPT TOs pending: the client's frames wait
 * until ctrl has answered both (scr_engine_envelope_answer), and the state
 * a front end that cannot keep frames reads (host mode keeps the 354 on
 * it) says so; the reading ends at DATA */
static void test_envelope_answers(void **state)
{
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0};
	struct scr_policy p = pol;
	static struct sess s;
	struct scr_flow_key k;
	unsigned i, es;

	(void)state;
	env_wait_session(&r, &p, &s, 40305);
	scr_engine_burst(r.eng, s.fr, 9);	/* both RCPTs, unanswered */
	k = r.last_verdict.key;
	es = scr_engine_envelope_state(r.eng, &k);
	assert_int_equal(es, SCR_ENGINE_ENV_READ | SCR_ENGINE_ENV_WAIT |
			 SCR_ENGINE_ENV_DECIDED);
	assert_int_equal(scr_engine_envelope_answer(r.eng, &k), 0);
	assert_true(scr_engine_envelope_state(r.eng, &k) & SCR_ENGINE_ENV_WAIT);
	scr_engine_burst(r.eng, s.fr + 9, 1);	/* the server's first OK */
	assert_int_equal(scr_engine_envelope_answer(r.eng, &k), 0);
	assert_int_equal(scr_engine_envelope_state(r.eng, &k),
			 SCR_ENGINE_ENV_READ | SCR_ENGINE_ENV_DECIDED);
	scr_engine_burst(r.eng, s.fr + 10, s.n - 10);
	for (i = 10; i < s.n; i++)
		assert_int_equal(s.fr[i].action, SCR_PKT_PASS);
	/* DATA ends the reading: a front end may stop following the flow */
	assert_int_equal(scr_engine_envelope_state(r.eng, &k), SCR_ENGINE_ENV_DECIDED);
	assert_int_equal(scr_engine_envelope_answer(r.eng, &k), 0);	/* a late one */
	scr_engine_flush(r.eng, s.ts);
	assert_int_equal(scr_engine_envelope_answer(r.eng, &k), -ENOENT);
	assert_int_equal(scr_engine_envelope_state(r.eng, &k), 0);
	scr_engine_destroy(r.eng);
}

/* test_envelope_late - ctrl's reject after the event: the next frame */
static void test_envelope_late(void **state)
{
	static const struct step st[] = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, OK, {0, NULL}};
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0};
	struct scr_policy p = pol;
	static struct sess s;
	struct scr_flow_key k = {0};
	unsigned i;

	(void)state;
	p.envelope = true;
	r.eng = engine_for(&r, &p);
	memset(&s, 0, sizeof(s));
	s.cport = 40301;
	build(&s, st);
	scr_engine_burst(r.eng, s.fr, 6);	/* to MAIL's reply */
	assert_string_equal(r.envs, "EHLO client.example.org|MAIL a@example.org|");
	k = r.last_verdict.key;
	assert_int_equal(scr_engine_envelope(r.eng, &k, SCR_ACT_DROP, s.ts), 0);
	assert_int_equal(r.amends, 1);
	scr_engine_burst(r.eng, s.fr + 6, s.n - 6);
	assert_int_equal(s.fr[6].action, SCR_PKT_STOP);
	for (i = 7; i < s.n; i++)
		assert_int_equal(s.fr[i].action, SCR_PKT_DROP);
	/* nothing after the stop is read */
	assert_string_equal(r.envs, "EHLO client.example.org|MAIL a@example.org|");
	assert_int_equal(scr_engine_envelope(r.eng, &k, SCR_ACT_DROP, s.ts), -ENOENT);
	scr_engine_flush(r.eng, s.ts);
	assert_int_equal(r.last_end.reasons, SCR_REASON_ENVELOPE);
	scr_engine_destroy(r.eng);
}

/* test_envelope_late_in_tests - a late reject of a flow still in its
 * tests gives its verdict at once (a front end that stopped the session
 * itself sees no next frame) */
static void test_envelope_late_in_tests(void **state)
{
	static const struct step st[] = {GREET, EHLO, EHLO_R, MAIL, OK, RCPT, {0, NULL}};
	struct rec r = {.cls = SCR_CLIENT_NEW, .todo = 0xff};
	struct scr_policy p = pol;
	static struct sess s;

	(void)state;
	p.envelope = true;
	r.eng = engine_for(&r, &p);
	memset(&s, 0, sizeof(s));
	s.cport = 40304;
	build(&s, st);
	scr_engine_burst(r.eng, s.fr, s.n);
	assert_int_equal(r.verdicts, 0);
	assert_int_equal(scr_engine_envelope(r.eng, &r.last_env.key, SCR_ACT_ENFORCE,
					     s.ts), 0);
	assert_int_equal(r.verdicts, 1);
	assert_int_equal(r.last_verdict.verdict, SCR_V_FAIL);
	assert_int_equal(r.last_verdict.reasons, SCR_REASON_ENVELOPE);
	scr_engine_destroy(r.eng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_reply_events),
		cmocka_unit_test(test_reply_ban),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_envelope_late),
		cmocka_unit_test(test_envelope_wait),
		cmocka_unit_test(test_envelope_answers),
		cmocka_unit_test(test_envelope_late_in_tests),
		cmocka_unit_test(test_envelope_reorder),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_dnsbl_after_pass),
		cmocka_unit_test(test_midstream_ignored),
		cmocka_unit_test(test_table_full_and_timeouts),
		cmocka_unit_test(test_sweep_pace),
		cmocka_unit_test(test_reset_after_stress),
		cmocka_unit_test(test_connect_at_handshake),
		cmocka_unit_test(test_stopped_leaves_soon),
		cmocka_unit_test(test_reload_mid_session),
		cmocka_unit_test(test_reload_prepared_scanner),
		cmocka_unit_test(test_syn_retransmission),
		cmocka_unit_test(test_greet_hold),
		cmocka_unit_test(test_dnsbl_late),
		cmocka_unit_test(test_long_time_span),
		cmocka_unit_test(test_clock_step),
	};

	return cmocka_run_group_tests_name("scr_engine", tests, setup, teardown);
}
