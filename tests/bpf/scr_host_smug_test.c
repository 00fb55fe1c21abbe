/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_host_smug_test - host mode's SMTP smuggling guard in the XDP and
 *	TC programs, through BPF_PROG_TEST_RUN
 * DESCRIPTION
 *	Table-driven: each case sets the guard (on/off, action), lets the TC
 *	program see the server's reply (a 354 starts DATA at its ack number)
 *	and then runs client segments through XDP, each with its expected
 *	action; at the end the expected sample (result bits, stopped) and the
 *	entry (none, DATA, STOP). Covers each end-of-data sequence the engine's
 *	scr_smug flags, sequences and commands split across segments, CRLF.CRLF
 *	ending DATA (also split), bare LFs and dot-stuffed lines that are not
 *	flagged, the three actions, segments ahead of their turn and
 *	retransmissions, 354 as the last of pipelined replies, and replies that
 *	are not 354; one IPv6 flow. Prints the verifier's instruction count of the host XDP
 *	program. Needs root; loads programs, attaches nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/pkt_cls.h>

#include "ctl_hostbpf.h"
#include "xdp_test_util.h"

#define ACK0	5000u		/* the 354's ack: the client's content starts here */
#define SSEQ	9000u		/* the server's seq of the 354 */

/* frame - IPv4 client 198.18.0.10:40001 <-> 198.19.0.25:25 (out: server to
 * client) with seq, ack and payload; its length */
static int frame(uint8_t *b, size_t cap, int out, uint32_t seq, uint32_t ack,
		 uint8_t tflags, const char *pay)
{
	size_t n = strlen(pay);
	int tot = 40 + (int)n;
	uint32_t s = htonl(seq), a = htonl(ack);

	assert_true(54 + n <= cap);
	memset(b, 0, 54);
	b[0] = 2; b[5] = 1; b[6] = 2; b[11] = 2;
	b[12] = 0x08;
	b[14] = 0x45;
	b[16] = (uint8_t)(tot >> 8); b[17] = (uint8_t)tot;
	b[22] = 64; b[23] = 6;
	inet_pton(AF_INET, out ? "198.19.0.25" : "198.18.0.10", b + 26);
	inet_pton(AF_INET, out ? "198.18.0.10" : "198.19.0.25", b + 30);
	b[34] = out ? 0 : 0x9c; b[35] = out ? 25 : 0x41;
	b[36] = out ? 0x9c : 0; b[37] = out ? 0x41 : 25;
	memcpy(b + 38, &s, 4);
	memcpy(b + 42, &a, 4);
	b[46] = 0x50;
	b[47] = tflags;
	b[48] = 0xff;
	memcpy(b + 54, pay, n);
	return 54 + (int)n;
}

#define SEG_MAX	4

/* A client segment: its payload, its seq offset from ACK0 (-1: right after
 * the previous one), the XDP action expected. */
struct seg {
	const char *pay;
	int off;
	uint32_t act;
};

enum after { A_NONE, A_DATA, A_STOP };

struct tcase {
	const char *desc;
	int off;		/* the guard off */
	enum scr_action action;
	const char *reply;	/* the server's segment (NULL: a 354) */
	struct seg seg[SEG_MAX];
	int sample;		/* a sample expected */
	uint32_t r;		/* its result bits (SCR_HOST_SMUG_R_*, FIRST ignored) */
	int stop;		/* ... and whether it stopped */
	const char *text;	/* ... the text it points at (prefix) */
	enum after after;	/* the entry at the end */
	int ctr;		/* a guard counter that must have moved, -1 none */
};

#define P	XDP_PASS
#define D	XDP_DROP
#define SEQ	SCR_HOST_SMUG_R_SEQ
#define STRONG	(SCR_HOST_SMUG_R_SEQ | SCR_HOST_SMUG_R_STRONG)
#define WEAK	SCR_HOST_SMUG_R_WEAK

static const struct tcase cases[] = {
	/* not flagged */
	{ "bare LFs and a dot-stuffed line after one are not flagged", .action = SCR_ACT_DROP,
	  .seg = { { "line one\nline two\n..dot-stuffed\nlast\r\n", 0, P } },
	  .after = A_DATA, .ctr = SCR_HOST_SMUG_C_SCANNED },
	{ "a dot inside a line, and after CRLF with text, is not flagged", .action = SCR_ACT_DROP,
	  .seg = { { "a.b\r\n.hidden\r\nx\n.y\n", 0, P } }, .after = A_DATA, .ctr = -1 },
	{ "CRLF.CRLF ends DATA: the entry goes, later bytes are commands", .action = SCR_ACT_DROP,
	  .seg = { { "body\r\n.\r\n", 0, P }, { "x\n.\nMAIL FROM:<a@b>\r\n", -1, P } },
	  .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	{ "CRLF.CRLF split after the dot ends DATA", .action = SCR_ACT_DROP,
	  .seg = { { "body\r\n.", 0, P }, { "\r\n", -1, P }, { "\n.\n", -1, P } },
	  .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	{ "CRLF.CRLF split inside the CRLF after the dot ends DATA", .action = SCR_ACT_DROP,
	  .seg = { { "body\r\n.\r", 0, P }, { "\n", -1, P }, { "\n.\n", -1, P } },
	  .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	{ "the content's first line is a dot: CRLF.CRLF (after the DATA line)", .action = SCR_ACT_DROP,
	  .seg = { { ".\r\n", 0, P } }, .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	/* each sequence, action drop */
	{ "\\n.\\n dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\n.\nrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .text = "\n.\n", .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	{ "\\n.\\r\\n dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\n.\r\nrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .text = "\n.\r\n", .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "\\r.\\r\\n dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\r.\r\nrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .text = "\r.\r\n", .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "\\r\\n.\\n dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\r\n.\nrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .text = "\r\n.\n", .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "\\r.\\n dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\r.\nrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "\\r\\n.\\r then not LF dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\r\n.\rrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "\\n.\\r then not LF dropped (drop)", .action = SCR_ACT_DROP,
	  .seg = { { "hi\n.\rrest\r\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "a sequence deep in a long segment (past several words) dropped", .action = SCR_ACT_DROP,
	  .seg = { { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab.\r\n"
		     "0123456789abcdef0123456789abcdef0123456789abcdef\n.\n", 0, D } },
	  .sample = 1, .r = SEQ, .stop = 1, .text = "\n.\n", .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	/* split across segments */
	{ "split before the dot: the second segment is dropped", .action = SCR_ACT_DROP,
	  .seg = { { "text\n", 0, P }, { ".\nmore\r\n", -1, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	{ "split after the dot: the second segment is dropped", .action = SCR_ACT_DROP,
	  .seg = { { "text\r\n.", 0, P }, { "\nmore\r\n", -1, D } }, .sample = 1, .r = SEQ, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	{ "split in .\\r: decided by the next byte (not LF)", .action = SCR_ACT_DROP,
	  .seg = { { "text\r\n.\r", 0, P }, { "MAIL FROM:<x>\r\n", -1, D } }, .sample = 1, .r = SEQ,
	  .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	{ "split one byte at a time", .action = SCR_ACT_DROP,
	  .seg = { { "a\r", 0, P }, { "\n", -1, P }, { ".", -1, P }, { "\n", -1, D } },
	  .sample = 1, .r = SEQ, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	/* enforce: commands after the sequence */
	{ "enforce: \\n.\\nMAIL FROM: dropped, commands reported", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\r\n\n.\nMAIL FROM:<ceo@x>\r\nRCPT TO:<a@b>\r\nDATA\r\n", 0, D } },
	  .sample = 1, .r = STRONG, .stop = 1, .text = "\n.\nMAIL FROM:<ceo@x>",
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: rcpt to / data (lower case) after the sequence", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\r\n.\ndata\r\n", 0, D } }, .sample = 1, .r = STRONG, .stop = 1,
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: the command split over two segments: the second is dropped", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nMAIL FR", 0, P }, { "OM:<x@y>\r\n", -1, D } },
	  .sample = 1, .r = STRONG, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: a sequence then no command: reported, passed", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nhello there\r\n", 0, P } }, .sample = 1, .r = SEQ | WEAK,
	  .text = "\n.\nhello", .after = A_DATA, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "enforce: a sequence at the very end of DATA (then CRLF.CRLF): passed", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\r\n.\r\n", 0, P } }, .sample = 1, .r = SEQ | WEAK,
	  .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	/* enforce: every line after the sequence up to the message's end, as
	 * the engine's scr_smug (a junk or RSET line hides nothing) */
	{ "enforce: RSET between the sequence and MAIL FROM: dropped", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nRSET\r\nMAIL FROM:<ceo@x>\r\nRCPT TO:<a@b>\r\n", 0, D } },
	  .sample = 1, .r = STRONG, .stop = 1, .text = "\n.\nRSET",
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: junk lines, then the commands a segment later: that one dropped",
	  .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nxyz\r\n\r\nhello\n", 0, P }, { "data\r\n", -1, D } },
	  .sample = 2, .r = STRONG, .stop = 1, .text = "data",
	  .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: the command after a junk line split over segments", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\njunk\r", 0, P }, { "\nRCPT T", -1, P }, { "O:<a@b>\r\n", -1, D } },
	  .sample = 2, .r = STRONG, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_CMD },
	{ "enforce: a command word inside a line after the sequence is none", .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nsee MAIL FROM: and DATA\r\n here\r\n", 0, P } },
	  .sample = 1, .r = SEQ | WEAK, .after = A_DATA, .ctr = SCR_HOST_SMUG_C_SEQ },
	{ "enforce: lines without a command up to CRLF.CRLF: passed, the entry goes",
	  .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nhello\r\nworld\n\r\n.\r\n", 0, P } },
	  .sample = 1, .r = SEQ | WEAK, .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	{ "enforce: after CRLF.CRLF the lines are commands again, not followed",
	  .action = SCR_ACT_ENFORCE,
	  .seg = { { "body\n.\nhello\r\n.\r\n", 0, P }, { "MAIL FROM:<a@b>\r\n", -1, P } },
	  .sample = 1, .r = SEQ | WEAK, .after = A_NONE, .ctr = SCR_HOST_SMUG_C_END },
	/* ignore */
	{ "ignore: commands after a sequence are reported, nothing stopped", .action = SCR_ACT_IGNORE,
	  .seg = { { "body\n.\nMAIL FROM:<x@y>\r\n", 0, P } }, .sample = 1, .r = STRONG,
	  .after = A_DATA, .ctr = SCR_HOST_SMUG_C_CMD },
	/* order */
	{ "a segment ahead of its turn is dropped unjudged; in order it is judged", .action = SCR_ACT_DROP,
	  .seg = { { "x\n.\n", 10, D }, { "0123456789", 0, P }, { "x\n.\n", -1, D } },
	  .sample = 1, .r = SEQ, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_OOO_DROP },
	{ "a retransmission of judged bytes passes; an overlap is judged from the new byte", .action = SCR_ACT_DROP,
	  .seg = { { "abc\r\n", 0, P }, { "abc\r\n", 0, P }, { "c\r\n.\n", 2, D } },
	  .sample = 1, .r = SEQ, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_DROP },
	{ "a stopped flow's later segments are dropped", .action = SCR_ACT_DROP,
	  .seg = { { "x\n.\n", 0, D }, { "x\n.\n", 0, D }, { "harmless", 4, D } },
	  .sample = 1, .r = SEQ, .stop = 1, .after = A_STOP, .ctr = SCR_HOST_SMUG_C_STOP_DROP },
	/* the server's side */
	{ "354 as the last of pipelined replies starts DATA", .action = SCR_ACT_DROP,
	  .reply = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
	  .seg = { { "x\n.\n", 0, D } }, .sample = 1, .r = SEQ, .stop = 1, .after = A_STOP,
	  .ctr = SCR_HOST_SMUG_C_DATA },
	{ "a reply that is not 354 starts nothing", .action = SCR_ACT_DROP,
	  .reply = "250 2.0.0 Ok: queued as 1234\r\n",
	  .seg = { { "x\n.\n", 0, P } }, .after = A_NONE, .ctr = -1 },
	{ "354 not on the last line starts nothing", .action = SCR_ACT_DROP,
	  .reply = "354 go ahead\r\n250 ok\r\n",
	  .seg = { { "x\n.\n", 0, P } }, .after = A_NONE, .ctr = -1 },
	{ "guard off: a 354 starts nothing, the sequence passes", .off = 1, .action = SCR_ACT_DROP,
	  .seg = { { "x\n.\nMAIL FROM:<x@y>\r\n", 0, P } }, .after = A_NONE, .ctr = -1 },
};

struct fix {
	struct ctl_maps *m;
	struct ring_buffer *rb;
	int smug_fd, cfg_fd, ctr_fd;
	int n;
	struct scr_host_sample s;
};

static struct fix F;

/* got - ring buffer callback: keep the last record */
static int got(void *ctx, void *data, size_t size)
{
	struct fix *f = ctx;

	memset(&f->s, 0, sizeof(f->s));
	memcpy(&f->s, data, size < sizeof(f->s) ? size : sizeof(f->s));
	f->n++;
	return 0;
}

/* run - one frame through XDP (tc 0) or TC (tc 1); the action */
static uint32_t run(int tc, const uint8_t *pkt, int len)
{
	struct __sk_buff skb = {};
	uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int fd = tc ? ctl_maps_tc_prog_fd(F.m) : ctl_maps_prog_fd(F.m);

	if (tc) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		fail_msg("test run (%s): %s", tc ? "tc" : "xdp", strerror(errno));
	return o.retval;
}

/* ctr - a guard counter summed over CPUs */
static uint64_t ctr(unsigned idx)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct scr_xdp_ctr_val v[512];
	uint64_t n = 0;

	assert_true(ncpu > 0 && ncpu <= 512);
	assert_int_equal(bpf_map_lookup_elem(F.ctr_fd, &idx, v), 0);
	for (c = 0; c < ncpu; c++)
		n += v[c].packets;
	return n;
}

/* conf - the guard's configuration as user space writes it */
static void conf(int on, enum scr_action a)
{
	struct scr_host_smug_cfg c = {
		.on = (uint32_t)on,
		.action = a == SCR_ACT_DROP ? SCR_HOST_SMUG_A_DROP :
			  a == SCR_ACT_ENFORCE ? SCR_HOST_SMUG_A_ENFORCE :
			  SCR_HOST_SMUG_A_IGNORE,
	};
	__u32 zero = 0;

	assert_int_equal(bpf_map_update_elem(F.cfg_fd, &zero, &c, BPF_ANY), 0);
}

/* key - the flow's key in host_smug */
static struct scr_host_flow_key key(void)
{
	struct scr_host_flow_key k;
	struct scr_addr c = xt_addr("198.18.0.10"), s = xt_addr("198.19.0.25");

	memset(&k, 0, sizeof(k));
	memcpy(k.client, c.b, 16);
	memcpy(k.server, s.b, 16);
	k.client_port = htons(40001);
	k.server_port = htons(25);
	return k;
}

/* check_case - one table row */
static void check_case(const struct tcase *t)
{
	struct scr_host_flow_key k = key();
	struct scr_host_smug_val v;
	uint8_t b[2048];
	uint64_t c0 = 0;
	uint32_t next = ACK0, act;
	int len, i, rc;

	(void)bpf_map_delete_elem(F.smug_fd, &k);
	conf(!t->off, t->action);
	if (t->ctr >= 0)
		c0 = ctr((unsigned)t->ctr);
	/* the server's reply */
	len = frame(b, sizeof(b), 1, SSEQ, ACK0, 0x18,
		    t->reply ? t->reply : "354 End data with <CR><LF>.<CR><LF>\r\n");
	act = run(1, b, len);
	if (act != TC_ACT_OK)
		fail_msg("%s: tc action %u", t->desc, act);
	F.n = 0;
	ring_buffer__consume(F.rb);
	F.n = 0;
	for (i = 0; i < SEG_MAX && t->seg[i].pay; i++) {
		const struct seg *sg = &t->seg[i];
		uint32_t seq = sg->off >= 0 ? ACK0 + (uint32_t)sg->off : next;

		len = frame(b, sizeof(b), 0, seq, SSEQ + 100, 0x18, sg->pay);
		act = run(0, b, len);
		if (act != sg->act)
			fail_msg("%s: segment %d (%s): action %u, want %u", t->desc, i,
				 sg->pay, act, sg->act);
		next = seq + (uint32_t)strlen(sg->pay);
	}
	ring_buffer__consume(F.rb);
	if (F.n != t->sample)
		fail_msg("%s: %d samples, want %d", t->desc, F.n, t->sample);
	if (t->sample) {
		uint64_t x = F.s.syn_ns;
		uint32_t off = SCR_HOST_SMUG_INFO_OFF(x);

		if (!(F.s.flags & SCR_HOST_SF_SMUG))
			fail_msg("%s: sample flags %#x", t->desc, F.s.flags);
		if ((SCR_HOST_SMUG_INFO_R(x) & ~SCR_HOST_SMUG_R_FIRST) != t->r)
			fail_msg("%s: result %#x, want %#x", t->desc,
				 SCR_HOST_SMUG_INFO_R(x), t->r);
		if ((int)SCR_HOST_SMUG_INFO_STOP(x) != t->stop)
			fail_msg("%s: stop %d", t->desc, (int)SCR_HOST_SMUG_INFO_STOP(x));
		if (t->text && (off >= F.s.caplen ||
				strncmp((const char *)F.s.data + off, t->text,
					strlen(t->text)) != 0))
			fail_msg("%s: text at %u is not \"%s\"", t->desc, off, t->text);
	}
	rc = bpf_map_lookup_elem(F.smug_fd, &k, &v);
	switch (t->after) {
	case A_NONE:
		if (rc == 0)
			fail_msg("%s: entry left (state %u)", t->desc, v.state);
		break;
	case A_DATA:
	case A_STOP:
		if (rc != 0)
			fail_msg("%s: no entry", t->desc);
		if (v.state != (t->after == A_DATA ? SCR_HOST_SMUG_DATA :
				SCR_HOST_SMUG_STOP))
			fail_msg("%s: state %u", t->desc, v.state);
		break;
	}
	if (t->ctr >= 0 && ctr((unsigned)t->ctr) <= c0)
		fail_msg("%s: counter %s did not move", t->desc,
			 ctl_hostbpf_smug_ctr_name[t->ctr]);
}

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* test_retransmitted_354 - a 354 sent again (same seq) keeps the state;
 * the next transaction's 354 starts afresh */
static void test_retransmitted_354(void **state)
{
	struct scr_host_flow_key k = key();
	struct scr_host_smug_val v;
	const char *r354 = "354 go ahead\r\n";
	uint8_t b[256];
	int len;

	(void)state;
	(void)bpf_map_delete_elem(F.smug_fd, &k);
	conf(1, SCR_ACT_DROP);
	len = frame(b, sizeof(b), 1, SSEQ, ACK0, 0x18, r354);
	run(1, b, len);
	len = frame(b, sizeof(b), 0, ACK0, SSEQ, 0x18, "abc\r\n");
	assert_int_equal(run(0, b, len), XDP_PASS);
	len = frame(b, sizeof(b), 1, SSEQ, ACK0 + 5, 0x18, r354);
	run(1, b, len);
	assert_int_equal(bpf_map_lookup_elem(F.smug_fd, &k, &v), 0);
	assert_int_equal(v.next_seq, ACK0 + 5);
	assert_int_equal(v.tail[0], 'b');	/* not started afresh */
	len = frame(b, sizeof(b), 1, SSEQ + 100, ACK0 + 50, 0x18, r354);
	run(1, b, len);
	assert_int_equal(bpf_map_lookup_elem(F.smug_fd, &k, &v), 0);
	assert_int_equal(v.next_seq, ACK0 + 50);
	assert_int_equal(v.tail[0], 0);
	assert_int_equal(v.tail[3], '\n');
	/* a SYN of the 4-tuple forgets it */
	len = frame(b, sizeof(b), 0, 1, 0, 0x02, "");
	run(0, b, len);
	assert_int_not_equal(bpf_map_lookup_elem(F.smug_fd, &k, &v), 0);
	ring_buffer__consume(F.rb);
}

/* frame6 - frame() over IPv6: 2001:db8:10::10:40001 <-> 2001:db8:ffff::25:25 */
static int frame6(uint8_t *b, size_t cap, int out, uint32_t seq, uint32_t ack,
		  uint8_t tflags, const char *pay)
{
	size_t n = strlen(pay);
	uint32_t s = htonl(seq), a = htonl(ack);
	int l4 = 54;

	assert_true(74 + n <= cap);
	memset(b, 0, 74);
	b[0] = 2; b[5] = 1; b[6] = 2; b[11] = 2;
	b[12] = 0x86; b[13] = 0xdd;
	b[14] = 0x60;
	b[18] = (uint8_t)((20 + n) >> 8); b[19] = (uint8_t)(20 + n);
	b[20] = 6; b[21] = 64;
	inet_pton(AF_INET6, out ? "2001:db8:ffff::25" : "2001:db8:10::10", b + 22);
	inet_pton(AF_INET6, out ? "2001:db8:10::10" : "2001:db8:ffff::25", b + 38);
	b[l4] = out ? 0 : 0x9c; b[l4 + 1] = out ? 25 : 0x41;
	b[l4 + 2] = out ? 0x9c : 0; b[l4 + 3] = out ? 0x41 : 25;
	memcpy(b + l4 + 4, &s, 4);
	memcpy(b + l4 + 8, &a, 4);
	b[l4 + 12] = 0x50;
	b[l4 + 13] = tflags;
	b[l4 + 14] = 0xff;
	memcpy(b + l4 + 20, pay, n);
	return l4 + 20 + (int)n;
}

/* test_ipv6 - the same guard over IPv6: a split sequence stops the flow */
static void test_ipv6(void **state)
{
	struct scr_host_flow_key k;
	struct scr_addr c = xt_addr("2001:db8:10::10"), sv = xt_addr("2001:db8:ffff::25");
	struct scr_host_smug_val v;
	uint8_t b[256];
	int len;

	(void)state;
	memset(&k, 0, sizeof(k));
	memcpy(k.client, c.b, 16);
	memcpy(k.server, sv.b, 16);
	k.client_port = htons(40001);
	k.server_port = htons(25);
	(void)bpf_map_delete_elem(F.smug_fd, &k);
	conf(1, SCR_ACT_ENFORCE);
	len = frame6(b, sizeof(b), 1, SSEQ, ACK0, 0x18, "354 go ahead\r\n");
	assert_int_equal(run(1, b, len), TC_ACT_OK);
	assert_int_equal(bpf_map_lookup_elem(F.smug_fd, &k, &v), 0);
	len = frame6(b, sizeof(b), 0, ACK0, SSEQ, 0x18, "text\r\n.");
	assert_int_equal(run(0, b, len), XDP_PASS);
	len = frame6(b, sizeof(b), 0, ACK0 + 7, SSEQ, 0x18, "\nRCPT TO:<a@b>\r\n");
	assert_int_equal(run(0, b, len), XDP_DROP);
	assert_int_equal(bpf_map_lookup_elem(F.smug_fd, &k, &v), 0);
	assert_int_equal(v.state, SCR_HOST_SMUG_STOP);
	F.n = 0;
	ring_buffer__consume(F.rb);
	assert_int_equal(F.n, 1);
	assert_int_equal(SCR_HOST_SMUG_INFO_R(F.s.syn_ns) & SCR_HOST_SMUG_R_STRONG,
			 SCR_HOST_SMUG_R_STRONG);
}

/* test_verifier - the host XDP program's verified instructions */
static void test_verifier(void **state)
{
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);

	(void)state;
	assert_int_equal(bpf_obj_get_info_by_fd(ctl_maps_prog_fd(F.m), &pi, &len), 0);
	printf("# scr_xdp_host: %u instructions, %u verified\n",
	       pi.xlated_prog_len / 8, pi.verified_insns);
	len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	assert_int_equal(bpf_obj_get_info_by_fd(ctl_maps_tc_prog_fd(F.m), &pi, &len), 0);
	printf("# scr_host_tc: %u instructions, %u verified\n",
	       pi.xlated_prog_len / 8, pi.verified_insns);
}

static int setup(void **state)
{
	struct ctl_maps_opts o = { .host = true, .data_hold_ns = 1000000000ull };
	char err[256];
	int pfd;

	(void)state;
	F.m = ctl_maps_load(&o, err, sizeof(err));
	if (!F.m) {
		fprintf(stderr, "cannot load the host-mode program: %s\n", err);
		return -1;
	}
	pfd = ctl_maps_prog_fd(F.m);
	F.smug_fd = ctl_hostbpf_prog_map_fd(pfd, "host_smug");
	F.cfg_fd = ctl_hostbpf_prog_map_fd(pfd, "host_smug_cfg");
	F.ctr_fd = ctl_hostbpf_prog_map_fd(pfd, "host_smug_ctr");
	if (F.smug_fd < 0 || F.cfg_fd < 0 || F.ctr_fd < 0) {
		fprintf(stderr, "no smuggling guard maps\n");
		return -1;
	}
	F.rb = ring_buffer__new(ctl_maps_map_fd(F.m, "host_samples"), got, &F, NULL);
	return F.rb ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (F.rb)
		ring_buffer__free(F.rb);
	close(F.smug_fd);
	close(F.cfg_fd);
	close(F.ctr_fd);
	ctl_maps_destroy(F.m);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verifier),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_retransmitted_354),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
