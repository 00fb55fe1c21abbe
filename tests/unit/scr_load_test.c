/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_load_test - the engine under a flood (issue 8)
 * DESCRIPTION
 *	A 1024-flow table driven by frames from thousands of distinct
 *	clients (198.18.x.y, or 2001:db8:f00::x) to 198.19.255.1:25 (or
 *	2001:db8::1): eviction order (half-open oldest first, closing,
 *	failed, passed only while nothing is undecided), the overload
 *	policy, the per-client flow limit, stress mode at 90 % / 70 % and
 *	by pressure with its timeouts, the command time limit, and flush /
 *	reset leaving no stale counts. Every case asserts exact counters
 *	from scr_engine_stats() and the events the hooks recorded. Time is
 *	the frames' timestamps and scr_engine_expire(): nothing sleeps.
 *	The policy comes from a main.cf text through ctl_conf_parse() and
 *	ctl_conf_policy(), like the daemon's.
 * CONTRACT
 *	Exits non-zero when a case fails; cmocka reports which.
 * THREADING
 *	Single thread.
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

static const char base_conf[] =
	"myhostname = mx.example.test\n"
	"postscreen_greet_action = enforce\n"
	"postscreen_pipelining_enable = yes\n"
	"postscreen_non_smtp_command_enable = yes\n"
	"postscreen_bare_newline_enable = yes\n"
	"postscreen_bare_newline_action = enforce\n"
	"smtpscreen_helo_enable = yes\n"
	"postscreen_denylist_action = drop\n"
	"smtpscreen_flow_table_size = 1024\n";

#define SEC 1000000000ull
#define MSEC 1000000ull
#define USEC 1000ull
#define T0 (1000 * SEC)		/* input time of the first frame */
#define NCLIENTS 65536		/* client index = low 16 bits of the address */
#define MAXEV (1u << 17)

#define GREET "220 mx.example.test ESMTP Postfix\r\n"
#define EHLO "EHLO client.example.org\r\n"
#define EHLO_R "250-mx.example.test\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
#define MAIL "MAIL FROM:<a@example.org>\r\n"
#define OK "250 2.1.0 Ok\r\n"
#define RCPT "RCPT TO:<u@example.test>\r\n"
#define DATA "DATA\r\n"
#define GO "354 End data with <CR><LF>.<CR><LF>\r\n"

/* One recorded event, reduced to what the cases check. */
struct evrec {
	uint8_t type;		/* enum scr_event_type */
	uint8_t end;		/* enum scr_end_reason */
	uint8_t verdict;	/* enum scr_verdict */
	uint8_t stress;
	uint32_t client;	/* index of the client address */
	uint16_t port;
	uint32_t count;
	uint32_t active;	/* flows in the table when it came */
	uint64_t ts_ns;
	char after[SCR_EV_AFTER_MAX];
};

/* What the hooks answer and what they saw. */
struct rec {
	uint8_t cls[NCLIENTS];		/* enum scr_client_class per client */
	uint8_t todo[NCLIENTS];
	struct evrec ev[MAXEV];
	unsigned nev;
	uint32_t max_active;		/* most flows seen after a burst */
	uint64_t pkt_no;
	struct scr_engine *e;
};

static struct rec R;
static struct scr_scan_db *db;

/* client_idx - the index a test gave a client address */
static uint32_t client_idx(const struct scr_addr *a)
{
	return (uint32_t)a->b[14] << 8 | a->b[15];	/* IPv6: ::idx too */
}

/* rec_init - every client new with every test to run; no events */
static void rec_init(void)
{
	memset(R.cls, SCR_CLIENT_NEW, sizeof(R.cls));
	memset(R.todo, 0xff, sizeof(R.todo));
	R.nev = 0;
	R.max_active = 0;
	R.pkt_no = 0;
	R.e = NULL;
}

/* on_client - the class the case gave this client */
static void on_client(void *arg, const struct scr_flow_key *k, uint64_t now,
		      struct scr_client_info *out)
{
	struct rec *r = arg;
	uint32_t i = client_idx(&k->client);

	(void)now;
	memset(out, 0, sizeof(*out));
	out->cls = (enum scr_client_class)r->cls[i];
	out->todo = r->todo[i];
	out->pass_old = out->cls == SCR_CLIENT_NEW && out->todo == 0;
	if (out->cls == SCR_CLIENT_BLOCKED)
		out->reasons = SCR_TEST_BIT(SCR_TEST_PIPELINING);
}

/* on_event - keep every event */
static void on_event(void *arg, const struct scr_event *ev)
{
	struct rec *r = arg;
	struct evrec *x;

	if (r->nev >= MAXEV)
		fail_msg("more than %u events", MAXEV);
	x = &r->ev[r->nev++];
	memset(x, 0, sizeof(*x));
	x->type = (uint8_t)ev->type;
	x->end = (uint8_t)ev->end;
	x->verdict = (uint8_t)ev->verdict;
	x->stress = ev->stress;
	x->client = client_idx(&ev->key.client);
	x->port = ev->key.client_port;
	x->count = ev->count;
	x->active = r->e ? scr_engine_flows_active(r->e) : 0;
	x->ts_ns = ev->ts_ns;
	memcpy(x->after, ev->after, sizeof(x->after));
	x->after[sizeof(x->after) - 1] = '\0';
}

/* policy_from - the base main.cf plus `extra`, through ctl_conf */
static void policy_from(const char *extra, struct scr_policy *p)
{
	char text[2048], err[256];
	struct ctl_conf *c;
	int n;

	n = snprintf(text, sizeof(text), "%s%s", base_conf, extra);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	c = ctl_conf_parse(text, (size_t)n, "load.cf", err, sizeof(err));
	if (c == NULL)
		fail_msg("parse: %s", err);
	if (ctl_conf_policy(c, p, err, sizeof(err)))
		fail_msg("policy: %s", err);
	ctl_conf_destroy(c);
}

/* engine_new - an engine recording into R (R reset) */
static struct scr_engine *engine_new(const struct scr_policy *p)
{
	struct scr_engine_hooks h = {.arg = &R, .client = on_client,
				     .event = on_event};
	struct scr_engine *e;

	rec_init();
	e = scr_engine_create(p, db, &h);
	assert_non_null(e);
	R.e = e;
	return e;
}

/* One TCP connection of a client. */
struct conn {
	uint32_t idx;		/* client index: 198.18.idx>>8.idx&255 */
	uint16_t port;
	int v6;
	uint32_t seq[2];	/* next seq: [0] client, [1] server */
};

/* conn_of - client idx's connection from port */
static struct conn conn_of(uint32_t idx, uint16_t port, int v6)
{
	struct conn c = {.idx = idx, .port = port, .v6 = v6,
			 .seq = {1000 + idx * 7, 9000 + idx * 3}};

	return c;
}

/* build1 - one segment of c as frame fr in buf (1600 bytes) */
static void build1(struct conn *c, int from_client, uint8_t flags,
		   const char *bytes, uint64_t ts, uint8_t *buf,
		   struct scr_frame *out)
{
	char cli[64];
	const char *srv = c->v6 ? "2001:db8::1" : "198.19.255.1";
	unsigned d = from_client ? 0 : 1;
	uint32_t len = bytes ? (uint32_t)strlen(bytes) : 0;
	struct pb_spec sp;

	if (c->v6)
		/* a /64 of its own: IPv6 clients are counted per
		 * smtpscreen_client_ipv6_prefix_length (64) */
		snprintf(cli, sizeof(cli), "2001:db8:f00:%x::%x", c->idx, c->idx);
	else
		snprintf(cli, sizeof(cli), "198.18.%u.%u", c->idx >> 8, c->idx & 255);
	memset(&sp, 0, sizeof(sp));
	sp.v6 = c->v6;
	sp.src = from_client ? cli : srv;
	sp.dst = from_client ? srv : cli;
	sp.sport = from_client ? c->port : 25;
	sp.dport = from_client ? 25 : c->port;
	sp.seq = c->seq[d];
	sp.ack = (flags & 0x10) ? c->seq[1 - d] : 0;
	sp.flags = flags;
	sp.payload = bytes;
	sp.plen = len;
	memset(out, 0, sizeof(*out));
	out->caplen = out->wirelen = pb_build(buf, &sp);
	out->data = buf;
	out->ts_ns = ts;
	out->pkt_no = ++R.pkt_no;
	out->link = SCR_LINK_ETH;
	c->seq[d] += len + ((flags & 0x03) ? 1 : 0);	/* SYN, FIN take one */
}

/* send1 - one segment of c as one burst; the frame's action */
static enum scr_pkt_action send1(struct scr_engine *e, struct conn *c,
				 int from_client, uint8_t flags,
				 const char *bytes, uint64_t ts)
{
	static uint8_t buf[1600];
	struct scr_frame fr;

	build1(c, from_client, flags, bytes, ts, buf, &fr);
	assert_int_equal(scr_engine_burst(e, &fr, 1), 1);
	if (scr_engine_flows_active(e) > R.max_active)
		R.max_active = scr_engine_flows_active(e);
	return (enum scr_pkt_action)fr.action;
}

#define C_SYN(e, c, ts)		send1(e, c, 1, 0x02, NULL, ts)
#define S_SYNACK(e, c, ts)	send1(e, c, 0, 0x12, NULL, ts)
#define C_FIN(e, c, ts)		send1(e, c, 1, 0x11, NULL, ts)
#define C_SAY(e, c, s, ts)	send1(e, c, 1, 0x18, s, ts)
#define S_SAY(e, c, s, ts)	send1(e, c, 0, 0x18, s, ts)

/* greeted - SYN, SYN/ACK and the greeting, 10 us apart from *ts */
static void greeted(struct scr_engine *e, struct conn *c, uint64_t *ts)
{
	C_SYN(e, c, *ts += 10 * USEC);
	S_SYNACK(e, c, *ts += 10 * USEC);
	S_SAY(e, c, GREET, *ts += 10 * USEC);
}

/* finish_session - EHLO .. DATA and the 354: the client passes */
static void finish_session(struct scr_engine *e, struct conn *c, uint64_t *ts)
{
	static const char *const seq[] = {EHLO, EHLO_R, MAIL, OK, RCPT, OK, DATA, GO};
	unsigned i;

	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		send1(e, c, i % 2 == 0, 0x18, seq[i], *ts += 10 * USEC);
}

/* count_ev - events of a type (and for END a reason; -1: any) */
static unsigned count_ev(enum scr_event_type type, int end)
{
	unsigned i, n = 0;

	for (i = 0; i < R.nev; i++)
		if (R.ev[i].type == type && (end < 0 || type != SCR_EV_END ||
					     R.ev[i].end == end))
			n++;
	return n;
}

/* evicted_total - all evictions of the stats */
static uint64_t evicted_total(const struct scr_stats *st)
{
	uint64_t n = 0;
	unsigned k;

	for (k = 0; k < SCR_EVICT_MAX; k++)
		n += st->evicted[k];
	return n;
}

/* setup - the patterns of the base main.cf (the cases' policies differ
 * only in load parameters) */
static int setup(void **state)
{
	struct scr_scan_pattern *pats;
	struct ctl_conf *c;
	char err[256];
	size_t n;

	(void)state;
	c = ctl_conf_parse(base_conf, sizeof(base_conf) - 1, "load.cf", err,
			   sizeof(err));
	if (c == NULL || ctl_conf_patterns(c, &pats, &n, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	db = scr_scan_create(pats, n, err, sizeof(err));
	ctl_conf_patterns_free(pats, n);
	ctl_conf_destroy(c);
	return db ? 0 : -1;
}

/* teardown - free the patterns */
static int teardown(void **state)
{
	(void)state;
	scr_scan_destroy(db);
	return 0;
}

/* test_policy_values - the load parameters reach the policy (the cases
 * below rely on these defaults) */
static void test_policy_values(void **state)
{
	struct scr_policy p;

	(void)state;
	policy_from("", &p);
	assert_int_equal(p.flow_table_size, 1024);
	assert_int_equal(p.syn_timeout_ns, 30 * SEC);
	assert_int_equal(p.syn_timeout_stress_ns, 5 * SEC);
	assert_int_equal(p.idle_timeout_ns, 300 * SEC);
	assert_int_equal(p.idle_timeout_stress_ns, 10 * SEC);
	assert_int_equal(p.command_time_ns, 300 * SEC);
	assert_int_equal(p.command_time_stress_ns, 10 * SEC);
	assert_int_equal(p.client_flow_limit, 50);
	assert_false(p.overload_drop);
	policy_from("smtpscreen_overload_policy = drop\n"
		    "postscreen_client_connection_count_limit = 0\n", &p);
	assert_true(p.overload_drop);
	assert_int_equal(p.client_flow_limit, 0);
}

/* test_half_open_oldest_first - 1024 SYNs fill the table; 10 more evict
 * the first 10 clients, in order */
static void test_half_open_oldest_first(void **state)
{
	struct scr_policy p;
	int v6;

	(void)state;
	policy_from("", &p);
	for (v6 = 0; v6 < 2; v6++) {
		struct scr_engine *e = engine_new(&p);
		uint64_t ts = T0;
		struct scr_stats st;
		unsigned i, k = 0;

		for (i = 0; i < 1034; i++) {
			struct conn c = conn_of(i, (uint16_t)(20000 + i), v6);

			assert_int_equal(C_SYN(e, &c, ts += 100 * USEC), SCR_PKT_PASS);
		}
		scr_engine_stats(e, &st);
		assert_int_equal(st.flows, 1034);
		assert_int_equal(st.evicted[SCR_EVICT_HALF_OPEN], 10);
		assert_int_equal(evicted_total(&st), 10);
		assert_int_equal(st.overload, 0);
		assert_int_equal(scr_engine_flows_active(e), 1024);
		assert_int_equal(R.max_active, 1024);
		for (i = 0; i < R.nev; i++) {
			if (R.ev[i].type != SCR_EV_END)
				continue;
			if (R.ev[i].end != SCR_END_EVICTED || R.ev[i].client != k ||
			    R.ev[i].verdict != SCR_V_UNKNOWN)
				fail_msg("%s: END #%u: client %u reason %u verdict %u, "
					 "want client %u evicted unknown",
					 v6 ? "v6" : "v4", k, R.ev[i].client,
					 R.ev[i].end, R.ev[i].verdict, k);
			k++;
		}
		assert_int_equal(k, 10);
		scr_engine_destroy(e);
	}
}

/* test_flood_spares_clients_in_tests - 100 greeted sessions survive
 * 10 x 1024 spoofed SYNs and then pass */
static void test_flood_spares_clients_in_tests(void **state)
{
	static struct conn s[100];
	struct scr_policy p;
	struct scr_engine *e;
	struct scr_stats st;
	uint64_t ts = T0;
	unsigned i, pass = 0, ends = 0;

	(void)state;
	policy_from("", &p);
	e = engine_new(&p);
	for (i = 0; i < 100; i++) {
		s[i] = conn_of(i, (uint16_t)(30000 + i), 0);
		greeted(e, &s[i], &ts);
	}
	for (i = 0; i < 10 * 1024; i++) {
		struct conn c = conn_of(100 + i, (uint16_t)(1024 + i % 60000), 0);

		C_SYN(e, &c, ts += 100 * USEC);
		if (scr_engine_flows_active(e) > 1024)
			fail_msg("SYN %u: %u flows", i, scr_engine_flows_active(e));
	}
	assert_int_equal(scr_engine_flows_undecided(e), 1024);
	for (i = 0; i < 100; i++)
		finish_session(e, &s[i], &ts);
	for (i = 0; i < R.nev; i++) {
		if (R.ev[i].client >= 100)
			continue;
		if (R.ev[i].type == SCR_EV_VERDICT && R.ev[i].verdict == SCR_V_PASS)
			pass++;
		if (R.ev[i].type == SCR_EV_END)
			ends++;
	}
	assert_int_equal(pass, 100);
	assert_int_equal(ends, 0);
	scr_engine_stats(e, &st);
	assert_int_equal(st.verdict[SCR_V_PASS], 100);
	assert_int_equal(st.evicted[SCR_EVICT_HALF_OPEN], 10 * 1024 + 100 - 1024);
	assert_int_equal(evicted_total(&st), 10 * 1024 + 100 - 1024);
	assert_int_equal(st.overload, 0);
	assert_int_equal(st.ended[SCR_END_TIMEOUT], 0);
	assert_int_equal(st.command_time, 0);
	assert_int_equal(R.max_active, 1024);
	scr_engine_destroy(e);
}

/* test_overload_policy - a table full of clients in their tests: a new
 * SYN gets the overload policy and nothing is evicted */
static void test_overload_policy(void **state)
{
	static const struct {
		const char *label;
		const char *conf;
		enum scr_pkt_action want;
	} c[] = {
		{"default policy passes the SYN", "", SCR_PKT_PASS},
		{"pass passes the SYN", "smtpscreen_overload_policy = pass\n", SCR_PKT_PASS},
		{"drop drops the SYN", "smtpscreen_overload_policy = drop\n", SCR_PKT_DROP},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_policy p;
		struct scr_engine *e;
		struct scr_stats st;
		struct conn x = conn_of(2000, 40000, 0);
		uint64_t ts = T0;
		enum scr_pkt_action a;
		unsigned k;

		policy_from(c[i].conf, &p);
		e = engine_new(&p);
		for (k = 0; k < 1024; k++) {
			struct conn s = conn_of(k, (uint16_t)(30000 + k), 0);

			greeted(e, &s, &ts);
		}
		a = C_SYN(e, &x, ts += 10 * USEC);
		scr_engine_stats(e, &st);
		if (a != c[i].want || st.overload != 1 || evicted_total(&st) != 0 ||
		    scr_engine_flows_active(e) != 1024 || st.flows != 1024 ||
		    count_ev(SCR_EV_END, -1) != 0 ||
		    scr_engine_flows_undecided(e) != 1024)
			fail_msg("%s: action %d overload %llu evicted %llu active %u "
				 "flows %llu ends %u", c[i].label, a,
				 (unsigned long long)st.overload,
				 (unsigned long long)evicted_total(&st),
				 scr_engine_flows_active(e),
				 (unsigned long long)st.flows, count_ev(SCR_EV_END, -1));
		/* the unscreened session's next packet finds no flow */
		assert_int_equal(S_SYNACK(e, &x, ts += 10 * USEC), SCR_PKT_PASS);
		scr_engine_stats(e, &st);
		assert_int_equal(st.no_flow, 1);
		assert_int_equal(st.overload, 1);
		scr_engine_destroy(e);
	}
}

/* Flow kinds a layout is made of. */
enum { K_HALF = 'h', K_EST = 'e', K_CLOSING = 'c', K_FAILED = 'f',
       K_PASSED = 'p', K_ALLOW = 'a' };

/* make_flow - client idx as a flow of kind k */
static void make_flow(struct scr_engine *e, uint32_t idx, char k, uint64_t *ts)
{
	struct conn c = conn_of(idx, (uint16_t)(30000 + idx), 0);

	switch (k) {
	case K_HALF:
		C_SYN(e, &c, *ts += 10 * USEC);
		break;
	case K_EST:
		greeted(e, &c, ts);
		break;
	case K_CLOSING:
		C_SYN(e, &c, *ts += 10 * USEC);
		C_FIN(e, &c, *ts += 10 * USEC);
		break;
	case K_FAILED:
		R.cls[idx] = SCR_CLIENT_BLOCKED;
		C_SYN(e, &c, *ts += 10 * USEC);
		break;
	case K_PASSED:
		R.todo[idx] = 0;	/* cache hit: PASS OLD at the SYN */
		C_SYN(e, &c, *ts += 10 * USEC);
		break;
	case K_ALLOW:
		R.cls[idx] = SCR_CLIENT_PERMIT;
		C_SYN(e, &c, *ts += 10 * USEC);
		break;
	default:
		fail_msg("bad kind %c", k);
	}
}

/* test_eviction_order - tables of two kinds of flows, every 64-entry
 * sample sees both: a new SYN evicts the cheaper kind, or gets the
 * overload policy when neither may go */
static void test_eviction_order(void **state)
{
	static const struct {
		const char *label;
		const char *pattern;	/* kinds, repeated over the 1024 flows */
		int want;		/* enum scr_evict_kind, SCR_EVICT_MAX: overload */
		char victim;		/* kind of the flow evicted */
	} c[] = {
		{"only clients in their tests: overload", "e", SCR_EVICT_MAX, 0},
		{"in their tests and passed: overload", "ep", SCR_EVICT_MAX, 0},
		{"in their tests and allowlisted: overload", "ea", SCR_EVICT_MAX, 0},
		{"half-open before closing", "ch", SCR_EVICT_HALF_OPEN, K_HALF},
		{"half-open before clients in their tests", "eh", SCR_EVICT_HALF_OPEN, K_HALF},
		{"closing before failed", "cf", SCR_EVICT_CLOSING, K_CLOSING},
		{"closing before failed (other phase)", "fc", SCR_EVICT_CLOSING, K_CLOSING},
		{"closing before clients in their tests", "ec", SCR_EVICT_CLOSING, K_CLOSING},
		{"failed before passed", "pf", SCR_EVICT_FAILED, K_FAILED},
		{"failed before allowlisted", "af", SCR_EVICT_FAILED, K_FAILED},
		{"failed before clients in their tests", "fe", SCR_EVICT_FAILED, K_FAILED},
		{"passed when nothing is undecided", "p", SCR_EVICT_PASSED, K_PASSED},
		{"allowlisted when nothing is undecided", "a", SCR_EVICT_PASSED, K_ALLOW},
	};
	struct scr_policy p;
	size_t i;

	(void)state;
	policy_from("", &p);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_engine *e = engine_new(&p);
		size_t plen = strlen(c[i].pattern);
		struct conn x = conn_of(5000, 40000, 0);
		struct scr_stats st;
		uint64_t ts = T0;
		unsigned k, nend = 0, victim = 0;
		enum scr_pkt_action a;

		for (k = 0; k < 1024; k++)
			make_flow(e, k, c[i].pattern[k % plen], &ts);
		scr_engine_stats(e, &st);
		assert_int_equal(scr_engine_flows_active(e), 1024);
		assert_int_equal(evicted_total(&st), 0);
		R.nev = 0;
		a = C_SYN(e, &x, ts += 10 * USEC);
		scr_engine_stats(e, &st);
		for (k = 0; k < R.nev; k++)
			if (R.ev[k].type == SCR_EV_END) {
				nend++;
				victim = R.ev[k].client;
				if (R.ev[k].end != SCR_END_EVICTED)
					fail_msg("%s: END reason %u", c[i].label, R.ev[k].end);
			}
		if (c[i].want == SCR_EVICT_MAX) {
			if (st.overload != 1 || evicted_total(&st) != 0 || nend != 0 ||
			    a != SCR_PKT_PASS)
				fail_msg("%s: overload %llu evicted %llu ends %u action %d",
					 c[i].label, (unsigned long long)st.overload,
					 (unsigned long long)evicted_total(&st), nend, a);
		} else if (c[i].victim == K_CLOSING) {
			/* A closing flow told its END at the FIN: evicted, it
			 * leaves silently; a late packet of exactly one closing
			 * flow now finds no flow. */
			uint64_t no_flow = st.no_flow;

			if (st.overload != 0 || st.evicted[c[i].want] != 1 ||
			    evicted_total(&st) != 1 || nend != 0)
				fail_msg("%s: overload %llu evicted %s=%llu total %llu "
					 "ends %u", c[i].label,
					 (unsigned long long)st.overload,
					 scr_evict_name[c[i].want],
					 (unsigned long long)st.evicted[c[i].want],
					 (unsigned long long)evicted_total(&st), nend);
			for (k = 0; k < 1024; k++)
				if (c[i].pattern[k % plen] == K_CLOSING) {
					struct conn l = conn_of(k, (uint16_t)(30000 + k), 0);

					l.seq[0] += 1;
					send1(e, &l, 1, 0x10, NULL, ts += USEC);
				}
			scr_engine_stats(e, &st);
			assert_int_equal(st.no_flow - no_flow, 1);
		} else {
			if (st.overload != 0 || st.evicted[c[i].want] != 1 ||
			    evicted_total(&st) != 1 || nend != 1 ||
			    c[i].pattern[victim % plen] != c[i].victim)
				fail_msg("%s: overload %llu evicted %s=%llu total %llu "
					 "ends %u victim %u (%c)", c[i].label,
					 (unsigned long long)st.overload,
					 scr_evict_name[c[i].want],
					 (unsigned long long)st.evicted[c[i].want],
					 (unsigned long long)evicted_total(&st), nend,
					 victim, c[i].pattern[victim % plen]);
			/* half-open ones go oldest first */
			if (c[i].want == SCR_EVICT_HALF_OPEN &&
			    victim != (unsigned)(strchr(c[i].pattern, K_HALF) - c[i].pattern))
				fail_msg("%s: evicted client %u, not the oldest half-open",
					 c[i].label, victim);
			assert_int_equal(scr_engine_flows_active(e), 1024);
		}
		scr_engine_destroy(e);
	}
}

/* test_passed_evicted_once_none_undecided - one client in its tests
 * protects 1023 passed flows; once it passes, a passed flow may go */
static void test_passed_evicted_once_none_undecided(void **state)
{
	struct scr_policy p;
	struct scr_engine *e;
	struct scr_stats st;
	struct conn s = conn_of(0, 30000, 0);
	struct conn x1 = conn_of(2000, 40000, 0), x2 = conn_of(2001, 40001, 0);
	struct conn x3 = conn_of(2002, 40002, 0);
	uint64_t ts = T0;
	unsigned k, victim = 0, nend = 0;

	(void)state;
	policy_from("", &p);
	e = engine_new(&p);
	greeted(e, &s, &ts);
	for (k = 1; k < 1024; k++)
		make_flow(e, k, K_PASSED, &ts);
	assert_int_equal(scr_engine_flows_undecided(e), 1);
	assert_int_equal(C_SYN(e, &x1, ts += 10 * USEC), SCR_PKT_PASS);
	scr_engine_stats(e, &st);
	assert_int_equal(st.overload, 1);
	assert_int_equal(evicted_total(&st), 0);
	assert_int_equal(count_ev(SCR_EV_END, -1), 0);
	/* the client in its tests passes: nothing is undecided */
	finish_session(e, &s, &ts);
	assert_int_equal(scr_engine_flows_undecided(e), 0);
	R.nev = 0;
	assert_int_equal(C_SYN(e, &x2, ts += 10 * USEC), SCR_PKT_PASS);
	scr_engine_stats(e, &st);
	assert_int_equal(st.overload, 1);
	assert_int_equal(st.evicted[SCR_EVICT_PASSED], 1);
	assert_int_equal(evicted_total(&st), 1);
	for (k = 0; k < R.nev; k++)
		if (R.ev[k].type == SCR_EV_END) {
			nend++;
			victim = R.ev[k].client;
			assert_int_equal(R.ev[k].end, SCR_END_EVICTED);
			assert_int_equal(R.ev[k].verdict, SCR_V_PASS);
		}
	assert_int_equal(nend, 1);
	assert_true(victim < 1024);
	assert_int_equal(scr_engine_flows_undecided(e), 1);
	/* the new client is half-open: the next SYN evicts it, not a passed one */
	R.nev = 0;
	C_SYN(e, &x3, ts += 10 * USEC);
	scr_engine_stats(e, &st);
	assert_int_equal(st.evicted[SCR_EVICT_HALF_OPEN], 1);
	assert_int_equal(st.evicted[SCR_EVICT_PASSED], 1);
	for (k = 0; k < R.nev; k++)
		if (R.ev[k].type == SCR_EV_END)
			assert_int_equal(R.ev[k].client, 2001);
	assert_int_equal(count_ev(SCR_EV_END, -1), 1);
	scr_engine_destroy(e);
}

/* test_client_limit - postscreen_client_connection_count_limit */
static void test_client_limit(void **state)
{
	static const struct {
		const char *label;
		const char *conf;
		int v6;
		unsigned syns;		/* concurrent SYNs from one address */
		unsigned want;		/* accepted */
	} c[] = {
		{"limit 3: the 4th SYN is dropped",
		 "postscreen_client_connection_count_limit = 3\n", 0, 4, 3},
		{"limit 3, IPv6: the 4th SYN is dropped",
		 "postscreen_client_connection_count_limit = 3\n", 1, 4, 3},
		{"limit 3: the 5th and 6th too",
		 "postscreen_client_connection_count_limit = 3\n", 0, 6, 3},
		{"limit 1: the 2nd SYN is dropped",
		 "postscreen_client_connection_count_limit = 1\n", 0, 2, 1},
		{"limit 0: no limit",
		 "postscreen_client_connection_count_limit = 0\n", 0, 60, 60},
		{"default limit 50", "", 0, 52, 50},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_policy p;
		struct scr_engine *e;
		struct scr_stats st;
		struct conn cc[64];
		uint64_t ts = T0;
		unsigned k, rej = c[i].syns - c[i].want;

		policy_from(c[i].conf, &p);
		e = engine_new(&p);
		for (k = 0; k < c[i].syns; k++) {
			enum scr_pkt_action a;
			unsigned n0 = R.nev;

			cc[k] = conn_of(7, (uint16_t)(30000 + k), c[i].v6);
			a = C_SYN(e, &cc[k], ts += 10 * USEC);
			if (k < c[i].want) {
				if (a != SCR_PKT_PASS)
					fail_msg("%s: SYN %u action %d", c[i].label, k + 1, a);
				continue;
			}
			if (a != SCR_PKT_DROP || R.nev != n0 + 2 ||
			    R.ev[n0].type != SCR_EV_CONNECT ||
			    R.ev[n0 + 1].type != SCR_EV_TOO_MANY ||
			    R.ev[n0 + 1].count != c[i].want + 1 ||
			    R.ev[n0 + 1].client != 7 || R.ev[n0 + 1].port != 30000 + k)
				fail_msg("%s: SYN %u: action %d, %u events", c[i].label,
					 k + 1, a, R.nev - n0);
		}
		scr_engine_stats(e, &st);
		assert_int_equal(st.client_limit, rej);
		assert_int_equal(st.flows, c[i].want);
		assert_int_equal(scr_engine_flows_active(e), c[i].want);
		assert_int_equal(count_ev(SCR_EV_TOO_MANY, -1), rej);
		/* CONNECT: only the rejected SYNs (postscreen's CONNECT then
		 * NOQUEUE); the accepted ones have no handshake yet */
		assert_int_equal(count_ev(SCR_EV_CONNECT, -1), rej);
		/* another client is not affected */
		{
			struct conn o = conn_of(8, 30000, c[i].v6);

			assert_int_equal(C_SYN(e, &o, ts += 10 * USEC), SCR_PKT_PASS);
			scr_engine_stats(e, &st);
			assert_int_equal(st.flows, c[i].want + 1);
			assert_int_equal(st.client_limit, rej);
		}
		if (rej) {
			/* one of them hangs up: a new SYN is accepted, the next
			 * one is over the limit again */
			struct conn n1 = conn_of(7, 31000, c[i].v6);
			struct conn n2 = conn_of(7, 31001, c[i].v6);

			C_FIN(e, &cc[0], ts += 10 * USEC);
			assert_int_equal(C_SYN(e, &n1, ts += 10 * USEC), SCR_PKT_PASS);
			assert_int_equal(C_SYN(e, &n2, ts += 10 * USEC), SCR_PKT_DROP);
			scr_engine_stats(e, &st);
			assert_int_equal(st.client_limit, rej + 1);
			assert_int_equal(st.flows, c[i].want + 2);
			/* in one burst: a hang-up, then two SYNs: the count
			 * lowered by the hang-up (taken off at the burst's
			 * end) already lets the first SYN in, not the second */
			{
				static uint8_t b[3][1600];
				struct scr_frame fr[3];
				struct conn n3 = conn_of(7, 31002, c[i].v6);
				struct conn n4 = conn_of(7, 31003, c[i].v6);

				build1(&n1, 1, 0x11, NULL, ts += 10 * USEC, b[0], &fr[0]);
				build1(&n3, 1, 0x02, NULL, ts += 10 * USEC, b[1], &fr[1]);
				build1(&n4, 1, 0x02, NULL, ts += 10 * USEC, b[2], &fr[2]);
				assert_int_equal(scr_engine_burst(e, fr, 3), 3);
				assert_int_equal(fr[1].action, SCR_PKT_PASS);
				assert_int_equal(fr[2].action, SCR_PKT_DROP);
				/* and after the burst, the count is exact */
				C_FIN(e, &n3, ts += 10 * USEC);
				assert_int_equal(C_SYN(e, &n2, ts += 10 * USEC), SCR_PKT_PASS);
				assert_int_equal(C_SYN(e, &n4, ts += 10 * USEC), SCR_PKT_DROP);
			}
		}
		scr_engine_destroy(e);
	}
}

/* stress_events - the SCR_EV_STRESS events recorded, into out[] */
static unsigned stress_events(struct evrec *out, unsigned max)
{
	unsigned i, n = 0;

	for (i = 0; i < R.nev; i++)
		if (R.ev[i].type == SCR_EV_STRESS && n < max)
			out[n++] = R.ev[i];
	return n;
}

/* test_stress_marks - 922 flows (90 %) enter stress mode, not 921;
 * timeouts down to 716 (70 %) leave it, not 717 */
static void test_stress_marks(void **state)
{
	struct scr_policy p;
	struct scr_engine *e;
	struct scr_stats st;
	struct evrec sv[8];
	unsigned i, n;

	(void)state;
	policy_from("", &p);
	e = engine_new(&p);
	for (i = 0; i < 922; i++) {
		struct conn c = conn_of(i, (uint16_t)(20000 + i), 0);

		C_SYN(e, &c, T0 + i * MSEC);	/* flow i at 1 ms * i */
		n = stress_events(sv, 8);
		if (n != (i == 921 ? 1u : 0u))
			fail_msg("after %u flows: %u stress events", i + 1, n);
	}
	assert_true(sv[0].stress);
	assert_int_equal(sv[0].count, 922);
	assert_int_equal(sv[0].active, 922);
	assert_true(scr_engine_stress(e));
	scr_engine_stats(e, &st);
	assert_int_equal(st.stress_enter, 1);
	/* Under stress a SYN times out after 5 s: flow i goes at 5 s + i ms
	 * (+1 ms: a flow is expired once idle longer than the timeout). */
	for (i = 0; i < 206; i++) {
		scr_engine_expire(e, T0 + (5001 + i) * MSEC);
		if (scr_engine_flows_active(e) != 921 - i)
			fail_msg("expire %u: %u flows", i, scr_engine_flows_active(e));
		n = stress_events(sv, 8);
		if (n != (i == 205 ? 2u : 1u))
			fail_msg("at %u flows: %u stress events", 921 - i, n);
	}
	assert_false(sv[1].stress);
	assert_int_equal(sv[1].count, 716);
	assert_false(scr_engine_stress(e));
	/* out of stress the normal 30 s apply again: nothing more goes */
	scr_engine_expire(e, T0 + 6 * SEC);
	assert_int_equal(scr_engine_flows_active(e), 716);
	scr_engine_stats(e, &st);
	assert_int_equal(st.ended[SCR_END_TIMEOUT], 206);
	assert_int_equal(st.stress_enter, 1);
	assert_int_equal(stress_events(sv, 8), 2);
	scr_engine_destroy(e);
}

/* test_pressure - the front end's pressure enters stress mode with a
 * near-empty table and its end leaves it */
static void test_pressure(void **state)
{
	struct scr_policy p;
	struct scr_engine *e;
	struct scr_stats st;
	struct evrec sv[8];
	uint64_t ts = T0;
	unsigned i;

	(void)state;
	policy_from("", &p);
	e = engine_new(&p);
	for (i = 0; i < 3; i++) {
		struct conn c = conn_of(i, (uint16_t)(20000 + i), 0);

		C_SYN(e, &c, ts += 10 * USEC);
	}
	assert_int_equal(stress_events(sv, 8), 0);
	scr_engine_set_pressure(e, true, ts += 10 * USEC);
	assert_int_equal(stress_events(sv, 8), 1);
	assert_true(sv[0].stress);
	assert_int_equal(sv[0].count, 3);
	assert_true(scr_engine_stress(e));
	scr_engine_set_pressure(e, true, ts += 10 * USEC);	/* no change */
	assert_int_equal(stress_events(sv, 8), 1);
	scr_engine_set_pressure(e, false, ts += 10 * USEC);
	assert_int_equal(stress_events(sv, 8), 2);
	assert_false(sv[1].stress);
	assert_int_equal(sv[1].count, 3);
	assert_false(scr_engine_stress(e));
	scr_engine_stats(e, &st);
	assert_int_equal(st.stress_enter, 1);
	scr_engine_destroy(e);
}

/* test_stress_syn_timeout - a half-open flow lives 5 s under stress,
 * 30 s without */
static void test_stress_syn_timeout(void **state)
{
	static const struct {
		const char *label;
		bool pressure;
		uint64_t at;		/* ns after the SYN */
		bool present;
	} c[] = {
		{"stress: gone at 5.1 s", true, 5100 * MSEC, false},
		{"stress: still there at 4.9 s", true, 4900 * MSEC, true},
		{"no stress: still there at 6 s", false, 6 * SEC, true},
		{"no stress: still there at 29.9 s", false, 29900 * MSEC, true},
		{"no stress: gone at 30.1 s", false, 30100 * MSEC, false},
	};
	struct scr_policy p;
	size_t i;

	(void)state;
	policy_from("", &p);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_engine *e = engine_new(&p);
		struct conn x = conn_of(1, 20000, 0);
		struct scr_stats st;

		if (c[i].pressure)
			scr_engine_set_pressure(e, true, T0);
		C_SYN(e, &x, T0);
		scr_engine_expire(e, T0 + c[i].at);
		scr_engine_stats(e, &st);
		if ((scr_engine_flows_active(e) == 1) != c[i].present ||
		    st.ended[SCR_END_TIMEOUT] != (c[i].present ? 0u : 1u) ||
		    scr_engine_stress(e) != c[i].pressure)
			fail_msg("%s: %u flows, %llu timeouts", c[i].label,
				 scr_engine_flows_active(e),
				 (unsigned long long)st.ended[SCR_END_TIMEOUT]);
		scr_engine_destroy(e);
	}
}

/* test_command_time - a client that sends no whole command line within
 * postscreen_command_time_limit leaves the table; one that does stays */
static void test_command_time(void **state)
{
	static const struct {
		const char *label;
		bool pressure;
		bool ehlo;		/* a whole EHLO line first */
		unsigned byte_every;	/* s between single bytes (no CRLF); 0 none */
		unsigned line_every;	/* s between whole NOOP lines; 0 none */
		unsigned until;		/* s of input */
		bool ended;
		unsigned lo, hi;	/* ended in (lo, hi] s after the last line */
		const char *after;
	} c[] = {
		{"a byte a minute after EHLO: ended after 300 s", false, true, 60, 0,
		 400, true, 300, 302, "EHLO"},
		{"a byte a minute from the greeting: ended after 300 s", false, false,
		 60, 0, 400, true, 300, 302, "CONNECT"},
		{"a line a minute: still there at 400 s", false, true, 0, 60, 400,
		 false, 0, 0, NULL},
		{"stress: a byte every 2 s after EHLO: ended after 10 s", true, true,
		 2, 0, 60, true, 10, 12, "EHLO"},
		{"stress: a line every 5 s: still there at 60 s", true, true, 0, 5,
		 60, false, 0, 0, NULL},
	};
	static const char trickle[] = "MAIL FROM:<slow@example.org>";
	struct scr_policy p;
	size_t i;

	(void)state;
	policy_from("", &p);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scr_engine *e = engine_new(&p);
		struct conn x = conn_of(3, 20000, 0);
		uint64_t ts = T0, last_line;
		struct scr_stats st;
		unsigned s, nb = 0, k, nend = 0;
		const struct evrec *end = NULL;

		if (c[i].pressure)
			scr_engine_set_pressure(e, true, T0);
		C_SYN(e, &x, ts);
		last_line = ts;
		S_SYNACK(e, &x, ts += MSEC);
		S_SAY(e, &x, GREET, ts += MSEC);
		if (c[i].ehlo) {
			C_SAY(e, &x, EHLO, ts += MSEC);
			last_line = ts;
			S_SAY(e, &x, EHLO_R, ts += MSEC);
		}
		for (s = 1; s <= c[i].until; s++) {
			uint64_t t = T0 + s * SEC;

			if (c[i].byte_every && s % c[i].byte_every == 0 &&
			    scr_engine_flows_active(e)) {
				char b[2] = {trickle[nb++ % (sizeof(trickle) - 1)], 0};

				C_SAY(e, &x, b, t);
			} else if (c[i].line_every && s % c[i].line_every == 0) {
				C_SAY(e, &x, "NOOP\r\n", t);
				last_line = t;
				S_SAY(e, &x, "250 2.0.0 Ok\r\n", t + MSEC);
			} else {
				scr_engine_expire(e, t);
			}
		}
		for (k = 0; k < R.nev; k++)
			if (R.ev[k].type == SCR_EV_END) {
				nend++;
				end = &R.ev[k];
			}
		scr_engine_stats(e, &st);
		if (!c[i].ended) {
			if (nend != 0 || st.command_time != 0 ||
			    scr_engine_flows_active(e) != 1)
				fail_msg("%s: %u ends, command_time %llu", c[i].label, nend,
					 (unsigned long long)st.command_time);
		} else {
			uint64_t after_ns;

			if (nend != 1 || end->end != SCR_END_COMMAND_TIME ||
			    st.command_time != 1 ||
			    st.ended[SCR_END_COMMAND_TIME] != 1 ||
			    scr_engine_flows_active(e) != 0)
				fail_msg("%s: %u ends (reason %u), command_time %llu",
					 c[i].label, nend, end ? end->end : 99,
					 (unsigned long long)st.command_time);
			after_ns = end->ts_ns - last_line;
			if (after_ns <= c[i].lo * SEC || after_ns > c[i].hi * SEC)
				fail_msg("%s: ended %.3f s after the last line", c[i].label,
					 (double)after_ns / 1e9);
			if (strcmp(end->after, c[i].after) != 0)
				fail_msg("%s: after \"%s\", want \"%s\"", c[i].label,
					 end->after, c[i].after);
			assert_int_equal(end->verdict, SCR_V_UNKNOWN);
		}
		scr_engine_destroy(e);
	}
}

/* test_sweep_covers_table - with frames flowing but no expire() call,
 * the clock hand reaches every entry at least once per second of input
 * time, whatever the table size: each half-open flow ends within a
 * second after its 30 s timeout */
static void test_sweep_covers_table(void **state)
{
	static const struct {
		unsigned size, flows;	/* below 90 %: no stress */
	} c[] = {
		{1024, 700}, {1025, 700}, {1500, 1000}, {4096, 3000},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char conf[128];
		struct scr_policy p;
		struct scr_engine *e;
		struct scr_stats st;
		struct conn tick = conn_of(60000, 50000, 0);
		uint64_t t;
		unsigned k, nend = 0;

		snprintf(conf, sizeof(conf), "smtpscreen_flow_table_size = %u\n",
			 c[i].size);
		policy_from(conf, &p);
		e = engine_new(&p);
		for (k = 0; k < c[i].flows; k++) {
			/* every third one hangs up at once: its entry goes at
			 * the close timeout (10 s), leaving holes to step over */
			struct conn x = conn_of(k, 20000, 0);

			C_SYN(e, &x, T0 + k * 10 * USEC);
			if (k % 3 == 0)
				C_FIN(e, &x, T0 + k * 10 * USEC + USEC);
		}
		/* a frame every 100 ms that belongs to no flow */
		for (t = T0 + 100 * MSEC; t <= T0 + 32 * SEC; t += 100 * MSEC)
			send1(e, &tick, 0, 0x10, NULL, t);
		scr_engine_stats(e, &st);
		for (k = 0; k < R.nev; k++) {
			uint64_t syn, late;

			if (R.ev[k].type != SCR_EV_END)
				continue;
			nend++;
			if (R.ev[k].client % 3 == 0) {
				if (R.ev[k].end != SCR_END_CLOSE)
					fail_msg("table %u: client %u ended by %u",
						 c[i].size, R.ev[k].client, R.ev[k].end);
				continue;
			}
			syn = T0 + R.ev[k].client * 10 * USEC;
			late = R.ev[k].ts_ns - syn;
			if (R.ev[k].end != SCR_END_TIMEOUT || late <= 30 * SEC ||
			    late > 31 * SEC + 100 * MSEC)
				fail_msg("table %u: client %u ended (reason %u) %.3f s "
					 "after its SYN", c[i].size, R.ev[k].client,
					 R.ev[k].end, (double)late / 1e9);
		}
		if (nend != c[i].flows || scr_engine_flows_active(e) != 0 ||
		    st.ended[SCR_END_TIMEOUT] != c[i].flows - (c[i].flows + 2) / 3 ||
		    count_ev(SCR_EV_STRESS, -1) != 0)
			fail_msg("table %u: %u ends, %u flows left, %u stress events",
				 c[i].size, nend, scr_engine_flows_active(e),
				 count_ev(SCR_EV_STRESS, -1));
		scr_engine_destroy(e);
	}
}

/* test_flush_reset_counts - after flush or reset the same clients are
 * accepted again (limit 1: a stale count would refuse them) and the
 * FIFO holds only the new flows (10 more SYNs evict exactly the new
 * round's first 10). All SYNs fall in one millisecond, the worst case
 * for telling a stale FIFO entry from a new flow in the same slot. */
static void test_flush_reset_counts(void **state)
{
	static const struct {
		const char *label;
		bool reset;
		unsigned size;		/* smtpscreen_flow_table_size */
	} c[] = {
		{"flush, 1024 flows", false, 1024},
		{"reset, 1024 flows", true, 1024},
		{"reset, 1500 flows", true, 1500},
		{"flush, 1500 flows (FIFO ring larger than the table)", false, 1500},
	};
	size_t i;
	unsigned bad = 0;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char conf[256];
		struct scr_policy p;
		struct scr_engine *e;
		struct scr_stats st;
		uint64_t ts = T0;
		unsigned k, n = c[i].size, nend = 0;

		snprintf(conf, sizeof(conf),
			 "postscreen_client_connection_count_limit = 1\n"
			 "smtpscreen_flow_table_size = %u\n", n);
		policy_from(conf, &p);
		e = engine_new(&p);
		for (k = 0; k < n; k++) {
			struct conn x = conn_of(k, 20000, 0);

			C_SYN(e, &x, ts += 200);
		}
		assert_int_equal(scr_engine_flows_active(e), n);
		if (c[i].reset) {
			scr_engine_reset(e);
			assert_int_equal(count_ev(SCR_EV_END, -1), 0);
		} else {
			scr_engine_flush(e, ts);
			assert_int_equal(count_ev(SCR_EV_END, SCR_END_FLUSH), n);
		}
		assert_int_equal(scr_engine_flows_active(e), 0);
		assert_int_equal(scr_engine_flows_undecided(e), 0);
		R.nev = 0;
		for (k = 0; k < n; k++) {
			struct conn x = conn_of(k, 20001, 0);

			if (C_SYN(e, &x, ts += 200) != SCR_PKT_PASS)
				fail_msg("%s: client %u refused again", c[i].label, k);
		}
		scr_engine_stats(e, &st);
		assert_int_equal(st.client_limit, 0);
		assert_int_equal(count_ev(SCR_EV_TOO_MANY, -1), 0);
		assert_int_equal(evicted_total(&st), 0);
		assert_int_equal(scr_engine_flows_active(e), n);
		for (k = 0; k < 10; k++) {
			struct conn x = conn_of(n + k, 20000, 0);

			C_SYN(e, &x, ts += 200);
		}
		for (k = 0; k < R.nev; k++) {
			if (R.ev[k].type != SCR_EV_END)
				continue;
			if (R.ev[k].end != SCR_END_EVICTED || R.ev[k].client != nend ||
			    R.ev[k].port != 20001) {
				print_error("%s: eviction #%u is client %u port %u, want "
					    "client %u port 20001\n", c[i].label, nend,
					    R.ev[k].client, R.ev[k].port, nend);
				bad++;
			}
			nend++;
		}
		scr_engine_stats(e, &st);
		if (nend != 10 || st.evicted[SCR_EVICT_HALF_OPEN] != 10 ||
		    st.flows != 2 * n + 10) {
			print_error("%s: %u evictions, %llu half-open, %llu flows\n",
				    c[i].label, nend,
				    (unsigned long long)st.evicted[SCR_EVICT_HALF_OPEN],
				    (unsigned long long)st.flows);
			bad++;
		}
		scr_engine_destroy(e);
	}
	assert_int_equal(bad, 0);
}

/* test_flush_reset_leave_stress - a full table is in stress mode; after
 * flush or reset the table is empty and the mode must not linger */
static void test_flush_reset_leave_stress(void **state)
{
	struct scr_policy p;
	int reset, bad = 0;

	(void)state;
	policy_from("", &p);
	for (reset = 0; reset < 2; reset++) {
		struct scr_engine *e = engine_new(&p);
		struct evrec sv[8];
		uint64_t ts = T0;
		unsigned k;

		for (k = 0; k < 1024; k++) {
			struct conn x = conn_of(k, 20000, 0);

			C_SYN(e, &x, ts += 10 * USEC);
		}
		assert_true(scr_engine_stress(e));
		assert_int_equal(stress_events(sv, 8), 1);
		if (reset)
			scr_engine_reset(e);
		else
			scr_engine_flush(e, ts);
		if (scr_engine_stress(e)) {
			print_error("%s: still in stress mode with %u flows\n",
				    reset ? "reset" : "flush", scr_engine_flows_active(e));
			bad++;
		}
		if (!reset && (stress_events(sv, 8) != 2 || sv[1].stress ||
			       sv[1].count != 0)) {
			print_error("flush: no STRESS(false, 0) event\n");
			bad++;
		}
		scr_engine_destroy(e);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_values),
		cmocka_unit_test(test_half_open_oldest_first),
		cmocka_unit_test(test_flood_spares_clients_in_tests),
		cmocka_unit_test(test_overload_policy),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_passed_evicted_once_none_undecided),
		cmocka_unit_test(test_client_limit),
		cmocka_unit_test(test_stress_marks),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_stress_syn_timeout),
		cmocka_unit_test(test_command_time),
		cmocka_unit_test(test_sweep_covers_table),
		cmocka_unit_test(test_flush_reset_counts),
		cmocka_unit_test(test_flush_reset_leave_stress),
	};

	return cmocka_run_group_tests_name("scr_load", tests, setup, teardown);
}
