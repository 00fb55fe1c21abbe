/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_host_prog_test - host mode's XDP and TC programs through
 *	BPF_PROG_TEST_RUN, and ctl_hostbpf on a veth in a namespace
 * DESCRIPTION
 *	Table-driven: {description, program (XDP ingress / TC egress), frame,
 *	flow entry before, expected action, expected sample (direction,
 *	flags, captured length; bytes compared with the frame), expected
 *	flow entry after, expected counters}. Rows run in order and a row may
 *	keep the entry the previous one left (greet hold sequences). Then the
 *	knobs (no greet hold, sample bytes, sampling off), a full ring buffer
 *	(fail-open), and ctl_hostbpf_open/close on veth hostk-v0 in namespace
 *	hostk-t1: attach, pins, key translation, pass-cache through
 *	ctl_hostbpf_maps(), poll, close with and without keep, and the
 *	replace of a program left attached. Needs root.
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>

#include "ctl_hostbpf.h"
#include "xdp_test_util.h"

#define NS	"hostk-t1"
#define PIN	"/sys/fs/bpf/hostk-test"
#define HOLD_NS	5000000000ull
#define GRACE_NS 1000000000ull

enum prog { P_XDP, P_TC };

/* Flow entry before a row. */
enum pre {
	PRE_KEEP = 0,		/* whatever the previous row left */
	PRE_NONE,		/* no entry */
	PRE_SCAN,
	PRE_PASS,
	PRE_STOP,
	PRE_RELEASE,		/* set RELEASED, keep the rest */
	PRE_HELD_EXPIRED,	/* SCAN, HELD, hold_until in the past */
	PRE_SCAN_RELEASED,	/* SCAN, greeting already released */
	PRE_DATA_RELEASE,	/* set DATA_RELEASED, keep the rest */
	PRE_DATA_EXPIRED,	/* SCAN, greeting released, 354 held, deadline past */
	PRE_SYN,		/* no entry; the client's SYN recorded, ISN 999 */
	PRE_SYN_NOW,		/* PRE_SYN, the SYN's time now (handshake hold) */
	PRE_SYN_OLD,		/* PRE_SYN, the SYN a minute ago */
	PRE_STOP_HS,		/* STOP, FF_HS: a pregreeter the hold stopped */
};

#define ISN	999u		/* PRE_SYN's client ISN: its ACK has seq 1000 */

/* A frame of one flow. */
struct hp_pkt {
	int v6;
	int vlans;		/* 802.1Q tags (first 802.1ad when qinq) */
	int qinq;
	const char *client;	/* NULL: 198.18.0.10 / 2001:db8:10::10 */
	const char *server;	/* NULL: 198.19.0.25 / 2001:db8:ffff::25 */
	uint16_t cport;		/* 0: 40001 */
	uint16_t sport;		/* server port, 0: 25 */
	int out;		/* 1: server -> client */
	uint8_t tflags;		/* TCP flags */
	uint32_t seq;
	const char *payload;
	int pad;		/* extra payload bytes ('x') */
	uint32_t mark;		/* TC: skb mark */
};

#define SYN	0x02
#define ACK	0x10
#define PSH	0x08
#define SYNACK	(SYN | ACK)
#define DATA	(ACK | PSH)

#define C(x)	(1u << (x))

struct row {
	const char *desc;
	enum prog prog;
	struct hp_pkt pkt;
	enum pre pre;
	uint32_t act;
	int sample;		/* expect one sample */
	uint8_t s_flags;
	int s_trunc_len;	/* expected caplen when truncated; 0 = whole */
	int after;		/* -1 no entry, else enum scr_host_flow_state */
	uint32_t after_flags;
	uint32_t ctrs;		/* host counters that move by one (C()) */
	int xctr;		/* XDP counter that moves, -1 for TC rows */
};

static const char *const greet = "220 mx.example ESMTP\r\n";

static const struct row rows[] = {
	/* pass cache and decisions before the flow map */
	{ "permit client syn: no entry, no sample", P_XDP, { .client = "198.18.1.5", .tflags = SYN }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, 0, SCR_XDP_C_PASS_PERMIT },
	{ "allow client syn: no entry, no sample", P_XDP, { .client = "198.18.2.2", .tflags = SYN }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, 0, SCR_XDP_C_PASS_ALLOW },
	{ "blocked client syn dropped before any entry", P_XDP, { .client = "198.18.3.3", .tflags = SYN }, PRE_NONE,
	  XDP_DROP, 0, 0, 0, -1, 0, 0, SCR_XDP_C_DROP_BLOCK },
	{ "syn to another port: out of scope", P_XDP, { .sport = 80, .tflags = SYN }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, 0, SCR_XDP_C_PASS_OTHER_PORT },
	{ "mid-flow packet without entry: pass, no sample", P_XDP, { .tflags = ACK }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_FLOW_MISS), SCR_XDP_C_PASS_UNLISTED },
	/* ingress */
	{ "client syn: recorded, no entry, no sample", P_XDP, { .tflags = SYN }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_SYN), SCR_XDP_C_PASS_UNLISTED },
	{ "client syn removes a decided (STOP) entry of its 4-tuple", P_XDP, { .tflags = SYN }, PRE_STOP,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_SYN), SCR_XDP_C_PASS_UNLISTED },
	{ "client syn removes a PASS entry of its 4-tuple", P_XDP, { .tflags = SYN }, PRE_PASS,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_SYN), SCR_XDP_C_PASS_UNLISTED },
	{ "client syn leaves a flow in its tests (SCAN) alone", P_XDP, { .tflags = SYN }, PRE_SCAN,
	  XDP_PASS, 0, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SYN), SCR_XDP_C_PASS_UNLISTED },
	{ "ack of another seq than the SYN's ISN + 1: no entry", P_XDP, { .tflags = ACK, .seq = ISN + 7 }, PRE_SYN,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_FLOW_MISS), SCR_XDP_C_PASS_UNLISTED },
	{ "rst after a SYN: no entry", P_XDP, { .tflags = 0x04 | ACK, .seq = ISN + 1 }, PRE_SYN,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_FLOW_MISS), SCR_XDP_C_PASS_UNLISTED },
	{ "handshake ack (ISN + 1) creates SCAN, first sample", P_XDP, { .tflags = ACK, .seq = ISN + 1 }, PRE_SYN,
	  XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "the same ack again: SCAN data, no first flag", P_XDP, { .tflags = ACK, .seq = ISN + 1 }, PRE_KEEP,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "handshake ack carrying data (a pregreeter): first sample", P_XDP, { .tflags = DATA, .seq = ISN + 1, .payload = "EHLO bot\r\n" }, PRE_SYN,
	  XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "syn with data (fast open) creates SCAN, sampled", P_XDP, { .tflags = SYN, .payload = "EHLO tfo\r\n" }, PRE_NONE,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "SCAN client data sampled", P_XDP, { .tflags = DATA, .payload = "EHLO x\r\n" }, PRE_SCAN,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "SCAN client data over 1536 bytes: truncated sample", P_XDP, { .tflags = DATA, .payload = "DATA", .pad = 1600 }, PRE_SCAN,
	  XDP_PASS, 1, SCR_HOST_SF_TRUNC, SCR_HOST_SAMPLE_MAX, SCR_HOST_FS_SCAN, 0,
	  C(SCR_HOST_C_SAMPLE_IN) | C(SCR_HOST_C_SAMPLE_TRUNC), SCR_XDP_C_PASS_UNLISTED },
	{ "PASS client data: no sample", P_XDP, { .tflags = DATA, .payload = "MAIL FROM:<a@b>\r\n" }, PRE_PASS,
	  XDP_PASS, 0, 0, 0, SCR_HOST_FS_PASS, 0, 0, SCR_XDP_C_PASS_UNLISTED },
	{ "STOP client data dropped", P_XDP, { .tflags = DATA, .payload = "EHLO x\r\n" }, PRE_STOP,
	  XDP_DROP, 0, 0, 0, SCR_HOST_FS_STOP, 0, C(SCR_HOST_C_STOP_DROP_IN), SCR_XDP_C_DROP_FLOW_STOP },
	/* egress */
	{ "server syn-ack of a SCAN flow sampled", P_TC, { .out = 1, .tflags = SYNACK }, PRE_SCAN,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "server data without entry passes", P_TC, { .out = 1, .tflags = DATA, .payload = greet }, PRE_NONE,
	  TC_ACT_OK, 0, 0, 0, -1, 0, 0, -1 },
	{ "server data from another port passes", P_TC, { .out = 1, .sport = 80, .tflags = DATA, .payload = "HTTP" }, PRE_SCAN,
	  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_SCAN, 0, 0, -1 },
	{ "PASS server data: no sample", P_TC, { .out = 1, .tflags = DATA, .payload = "250 ok\r\n" }, PRE_PASS,
	  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_PASS, 0, 0, -1 },
	{ "STOP server data dropped", P_TC, { .out = 1, .tflags = DATA, .payload = "250 ok\r\n" }, PRE_STOP,
	  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_STOP, 0, C(SCR_HOST_C_STOP_DROP_OUT), -1 },
	{ "SCAN server data over 1536 bytes: truncated sample", P_TC, { .out = 1, .tflags = DATA, .payload = "250", .pad = 1600 }, PRE_SCAN_RELEASED,
	  TC_ACT_OK, 1, SCR_HOST_SF_TRUNC, SCR_HOST_SAMPLE_MAX, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED,
	  C(SCR_HOST_C_SAMPLE_OUT) | C(SCR_HOST_C_SAMPLE_TRUNC), -1 },
	/* greet hold: held once, retransmissions dropped, released passes */
	{ "greeting of a SCAN flow held and sampled", P_TC, { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_SCAN,
	  TC_ACT_STOLEN, 1, SCR_HOST_SF_HELD, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
	  C(SCR_HOST_C_HELD) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "server pure ack while held passes, sampled", P_TC, { .out = 1, .tflags = ACK, .seq = 1022 }, PRE_KEEP,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "client pregreet while held: sampled", P_XDP, { .tflags = DATA, .payload = "EHLO bot\r\n" }, PRE_KEEP,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "retransmitted greeting while held dropped", P_TC, { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_KEEP,
	  TC_ACT_STOLEN, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_HELD_RETX_DROP), -1 },
	{ "re-sent greeting (marked) passes while held", P_TC, { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet, .mark = SCR_HOST_RESEND_MARK }, PRE_KEEP,
	  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_RESENT_PASS), -1 },
	{ "released: retransmitted greeting passes, sampled", P_TC, { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_RELEASE,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD | SCR_HOST_FF_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "released: next server data not held", P_TC, { .out = 1, .tflags = DATA, .seq = 1022, .payload = "250 ok\r\n" }, PRE_KEEP,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD | SCR_HOST_FF_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "hold past hold_until: fail-open, sampled", P_TC, { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_HELD_EXPIRED,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_HOLD_EXPIRED) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "a new SCAN entry holds its greeting again", P_TC, { .out = 1, .tflags = DATA, .payload = greet }, PRE_SCAN,
	  TC_ACT_STOLEN, 1, SCR_HOST_SF_HELD, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
	  C(SCR_HOST_C_HELD) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	/* data hold: the 354 waits until user space judged the session */
	{ "354 of a SCAN flow held and sampled", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 End data with <CR><LF>.<CR><LF>\r\n" }, PRE_SCAN_RELEASED,
	  TC_ACT_STOLEN, 1, SCR_HOST_SF_HELD | SCR_HOST_SF_DATA, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD,
	  C(SCR_HOST_C_DATA_HELD) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "client body sent before the 354 arrives: sampled", P_XDP, { .tflags = DATA, .payload = "Subject: x\r\n\r\nhi\r\n.\r\n" }, PRE_KEEP,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "retransmitted 354 while held consumed", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 End data with <CR><LF>.<CR><LF>\r\n" }, PRE_KEEP,
	  TC_ACT_STOLEN, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD, C(SCR_HOST_C_DATA_RETX_DROP), -1 },
	{ "re-sent 354 (marked) passes while held", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 go\r\n", .mark = SCR_HOST_RESEND_MARK }, PRE_KEEP,
	  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD, C(SCR_HOST_C_RESENT_PASS), -1 },
	{ "354 released: server data passes, sampled", P_TC, { .out = 1, .tflags = DATA, .seq = 2040, .payload = "250 2.0.0 Ok: queued\r\n" }, PRE_DATA_RELEASE,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD | SCR_HOST_FF_DATA_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "354 held past its deadline: fail-open", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 go\r\n" }, PRE_DATA_EXPIRED,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD, C(SCR_HOST_C_HOLD_EXPIRED) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "other replies are never held as data", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "250 2.1.5 Ok\r\n" }, PRE_SCAN_RELEASED,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "a 354 after a STOP is dropped, not held", P_TC, { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 go\r\n" }, PRE_STOP,
	  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_STOP, 0, C(SCR_HOST_C_STOP_DROP_OUT), -1 },
	/* IPv6, VLAN, QinQ */
	{ "ipv6 vlan syn recorded", P_XDP, { .v6 = 1, .vlans = 1, .tflags = SYN, .seq = ISN }, PRE_NONE,
	  XDP_PASS, 0, 0, 0, -1, 0, C(SCR_HOST_C_SYN), SCR_XDP_C_PASS_UNLISTED },
	{ "ipv6 vlan handshake ack creates SCAN", P_XDP, { .v6 = 1, .vlans = 1, .tflags = ACK, .seq = ISN + 1 }, PRE_KEEP,
	  XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "ipv6 vlan greeting held", P_TC, { .v6 = 1, .vlans = 1, .out = 1, .tflags = DATA, .seq = 7, .payload = greet }, PRE_KEEP,
	  TC_ACT_STOLEN, 1, SCR_HOST_SF_HELD, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
	  C(SCR_HOST_C_HELD) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	{ "ipv6 vlan retransmission dropped", P_TC, { .v6 = 1, .vlans = 1, .out = 1, .tflags = DATA, .seq = 7, .payload = greet }, PRE_KEEP,
	  TC_ACT_STOLEN, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD, C(SCR_HOST_C_HELD_RETX_DROP), -1 },
	{ "ipv6 STOP client data dropped", P_XDP, { .v6 = 1, .tflags = DATA, .payload = "EHLO x\r\n" }, PRE_STOP,
	  XDP_DROP, 0, 0, 0, SCR_HOST_FS_STOP, 0, C(SCR_HOST_C_STOP_DROP_IN), SCR_XDP_C_DROP_FLOW_STOP },
	{ "ipv6 STOP server data dropped", P_TC, { .v6 = 1, .out = 1, .tflags = DATA, .payload = "250 ok\r\n" }, PRE_STOP,
	  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_STOP, 0, C(SCR_HOST_C_STOP_DROP_OUT), -1 },
	{ "ipv6 SCAN data sampled", P_XDP, { .v6 = 1, .tflags = DATA, .payload = "QUIT\r\n" }, PRE_SCAN,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "ipv6 PASS server data: no sample", P_TC, { .v6 = 1, .out = 1, .tflags = DATA, .payload = "221 bye\r\n" }, PRE_PASS,
	  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_PASS, 0, 0, -1 },
	{ "qinq ipv4 SCAN data sampled", P_XDP, { .vlans = 2, .qinq = 1, .tflags = DATA, .payload = "HELO a\r\n" }, PRE_SCAN,
	  XDP_PASS, 1, 0, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	{ "qinq ipv4 server data sampled", P_TC, { .vlans = 2, .qinq = 1, .out = 1, .tflags = DATA, .payload = "250 ok\r\n" }, PRE_SCAN_RELEASED,
	  TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
};

/* hp_build - write a frame of the flow; its length */
static int hp_build(uint8_t *b, size_t cap, const struct hp_pkt *p)
{
	const char *cl = p->client ? p->client : p->v6 ? "2001:db8:10::10" : "198.18.0.10";
	const char *sv = p->server ? p->server : p->v6 ? "2001:db8:ffff::25" : "198.19.0.25";
	uint16_t cport = p->cport ? p->cport : 40001, sport = p->sport ? p->sport : 25;
	size_t plen = (p->payload ? strlen(p->payload) : 0) + (size_t)p->pad;
	int off = 12, i, l3, l4, tot;

	memset(b, 0, cap);
	b[0] = 2; b[5] = 1; b[6] = 2; b[11] = 2;
	for (i = 0; i < p->vlans; i++) {
		uint16_t tpid = (i == 0 && p->qinq) ? 0x88a8 : 0x8100;

		b[off] = (uint8_t)(tpid >> 8); b[off + 1] = (uint8_t)tpid;
		b[off + 3] = (uint8_t)(10 + i);
		off += 4;
	}
	b[off] = p->v6 ? 0x86 : 0x08; b[off + 1] = p->v6 ? 0xdd : 0x00;
	l3 = off + 2;
	if (!p->v6) {
		tot = 20 + 20 + (int)plen;
		b[l3] = 0x45;
		b[l3 + 2] = (uint8_t)(tot >> 8); b[l3 + 3] = (uint8_t)tot;
		b[l3 + 8] = 64;
		b[l3 + 9] = 6;
		inet_pton(AF_INET, p->out ? sv : cl, b + l3 + 12);
		inet_pton(AF_INET, p->out ? cl : sv, b + l3 + 16);
		{
			uint32_t sum = 0;

			for (i = 0; i < 20; i += 2)
				sum += (uint32_t)(b[l3 + i] << 8 | b[l3 + i + 1]);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			b[l3 + 10] = (uint8_t)(~sum >> 8);
			b[l3 + 11] = (uint8_t)~sum;
		}
		l4 = l3 + 20;
	} else {
		tot = 20 + (int)plen;
		b[l3] = 0x60;
		b[l3 + 4] = (uint8_t)(tot >> 8); b[l3 + 5] = (uint8_t)tot;
		b[l3 + 6] = 6;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, p->out ? sv : cl, b + l3 + 8);
		inet_pton(AF_INET6, p->out ? cl : sv, b + l3 + 24);
		l4 = l3 + 40;
	}
	{
		uint16_t s = p->out ? sport : cport, d = p->out ? cport : sport;
		uint32_t seq = htonl(p->seq);

		b[l4] = (uint8_t)(s >> 8); b[l4 + 1] = (uint8_t)s;
		b[l4 + 2] = (uint8_t)(d >> 8); b[l4 + 3] = (uint8_t)d;
		memcpy(b + l4 + 4, &seq, 4);
	}
	b[l4 + 12] = 5 << 4;
	b[l4 + 13] = p->tflags;
	b[l4 + 14] = 0xff;
	off = l4 + 20;
	if (p->payload) {
		memcpy(b + off, p->payload, strlen(p->payload));
		off += (int)strlen(p->payload);
	}
	memset(b + off, 'x', (size_t)p->pad);
	return off + p->pad;
}

/* hp_key - the BPF flow key of a frame's flow (client -> server) */
static struct scr_host_flow_key hp_key(const struct hp_pkt *p)
{
	struct scr_host_flow_key k;
	struct scr_addr c = xt_addr(p->client ? p->client : p->v6 ? "2001:db8:10::10" : "198.18.0.10");
	struct scr_addr s = xt_addr(p->server ? p->server : p->v6 ? "2001:db8:ffff::25" : "198.19.0.25");

	memset(&k, 0, sizeof(k));
	memcpy(k.client, c.b, 16);
	memcpy(k.server, s.b, 16);
	k.client_port = htons(p->cport ? p->cport : 40001);
	k.server_port = htons(p->sport ? p->sport : 25);
	return k;
}

/* Samples read back from the ring buffer. */
struct got {
	int n;
	struct scr_host_sample s[64];
	size_t size[64];
};

/* got_cb - ring buffer callback: keep the record */
static int got_cb(void *ctx, void *data, size_t size)
{
	struct got *g = ctx;

	if (g->n < 64) {
		memset(&g->s[g->n], 0, sizeof(g->s[0]));
		memcpy(&g->s[g->n], data, size < sizeof(g->s[0]) ? size : sizeof(g->s[0]));
		g->size[g->n] = size;
	}
	g->n++;
	return 0;
}

struct fix {
	struct ctl_maps *m;
	struct ring_buffer *rb;
	struct got got;
};

static struct fix F;

/* mono_ns - CLOCK_MONOTONIC (bpf_ktime_get_ns) */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* fix_load - load a host-mode program with opts, ring reader in f */
static int fix_load(struct fix *f, struct ctl_maps_opts *o)
{
	char err[256];

	f->m = ctl_maps_load(o, err, sizeof(err));
	if (!f->m) {
		fprintf(stderr, "cannot load the host-mode program: %s\n", err);
		return -1;
	}
	f->rb = ring_buffer__new(ctl_maps_map_fd(f->m, "host_samples"), got_cb, &f->got, NULL);
	return f->rb ? 0 : -1;
}

/* fix_free - unload */
static void fix_free(struct fix *f)
{
	if (f->rb)
		ring_buffer__free(f->rb);
	ctl_maps_destroy(f->m);
	memset(f, 0, sizeof(*f));
}

/* The frame as the last run left it. */
static uint8_t run_out[4096];
static uint32_t run_out_len;

/* run - one frame through a program; action; mark for TC */
static uint32_t run(struct fix *f, enum prog pr, const void *pkt, int len, uint32_t mark)
{
	struct __sk_buff skb = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .data_out = run_out, .data_size_out = sizeof(run_out), .repeat = 1);
	int fd = pr == P_XDP ? ctl_maps_prog_fd(f->m) : ctl_maps_tc_prog_fd(f->m);

	if (pr == P_TC) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(fd, &o))
		fail_msg("test run (%s): %s", pr == P_XDP ? "xdp" : "tc", strerror(errno));
	run_out_len = o.data_size_out;
	return o.retval;
}

/* set_pre - put the flow entry a row starts from */
static void set_pre(struct fix *f, const struct hp_pkt *p, enum pre pre)
{
	struct scr_host_flow_key k = hp_key(p);
	struct scr_host_flow_val v = {};
	struct scr_host_syn_val sv = { .isn = ISN };
	int fd = ctl_maps_map_fd(f->m, "host_flows");
	int sfd = ctl_maps_map_fd(f->m, "host_syn");

	switch (pre) {
	case PRE_KEEP:
		return;
	case PRE_NONE:
		bpf_map_delete_elem(fd, &k);
		bpf_map_delete_elem(sfd, &k);
		return;
	case PRE_SYN_NOW:
	case PRE_SYN_OLD:
		sv.syn_ns = mono_ns() - (pre == PRE_SYN_OLD ? 60000000000ull : 0);
		/* fall through */
	case PRE_SYN:
		bpf_map_delete_elem(fd, &k);
		assert_int_equal(bpf_map_update_elem(sfd, &k, &sv, BPF_ANY), 0);
		return;
	case PRE_STOP_HS:
		v.state = SCR_HOST_FS_STOP;
		v.flags = SCR_HOST_FF_HS;
		break;
	case PRE_SCAN:
		v.state = SCR_HOST_FS_SCAN;
		break;
	case PRE_PASS:
		v.state = SCR_HOST_FS_PASS;
		break;
	case PRE_STOP:
		v.state = SCR_HOST_FS_STOP;
		break;
	case PRE_RELEASE:
		if (bpf_map_lookup_elem(fd, &k, &v))
			v.state = SCR_HOST_FS_SCAN;
		v.flags |= SCR_HOST_FF_RELEASED;
		break;
	case PRE_SCAN_RELEASED:
		v.state = SCR_HOST_FS_SCAN;
		v.flags = SCR_HOST_FF_RELEASED;
		break;
	case PRE_HELD_EXPIRED:
		v.state = SCR_HOST_FS_SCAN;
		v.flags = SCR_HOST_FF_HELD;
		v.hold_until_ns = 1;
		break;
	case PRE_DATA_RELEASE:
		if (bpf_map_lookup_elem(fd, &k, &v))
			v.state = SCR_HOST_FS_SCAN;
		v.flags |= SCR_HOST_FF_DATA_RELEASED;
		break;
	case PRE_DATA_EXPIRED:
		v.state = SCR_HOST_FS_SCAN;
		v.flags = SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD;
		v.hold_until_ns = 1;
		break;
	default:
		fail_msg("bad pre %d", pre);
	}
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
}

/* check_row - run a row, compare action, sample, entry and counters */
static void check_row(struct fix *f, const struct row *r)
{
	struct scr_xdp_ctr_val hb[SCR_HOST_C_MAX], ha[SCR_HOST_C_MAX];
	struct scr_xdp_ctr_val xb[SCR_XDP_C_MAX], xa[SCR_XDP_C_MAX];
	struct scr_host_flow_key k = hp_key(&r->pkt);
	struct scr_host_flow_val v;
	static uint8_t buf[4096];
	uint64_t t0;
	uint32_t act;
	int len, i, rc;

	len = hp_build(buf, sizeof(buf), &r->pkt);
	set_pre(f, &r->pkt, r->pre);
	f->got.n = 0;
	assert_int_equal(ctl_maps_host_stats(f->m, hb), 0);
	assert_int_equal(ctl_maps_stats(f->m, xb), 0);
	t0 = mono_ns();
	act = run(f, r->prog, buf, len, r->pkt.mark);
	assert_int_equal(ctl_maps_host_stats(f->m, ha), 0);
	assert_int_equal(ctl_maps_stats(f->m, xa), 0);
	ring_buffer__consume(f->rb);

	if (act != r->act)
		fail_msg("%s: action %u, expected %u", r->desc, act, r->act);
	if (f->got.n != r->sample)
		fail_msg("%s: %d samples, expected %d", r->desc, f->got.n, r->sample);
	if (r->sample) {
		const struct scr_host_sample *s = &f->got.s[0];
		int want = r->s_trunc_len ? r->s_trunc_len : len;

		if (s->dir != (r->prog == P_XDP ? SCR_HOST_INGRESS : SCR_HOST_EGRESS))
			fail_msg("%s: sample dir %u", r->desc, s->dir);
		if (s->flags != r->s_flags)
			fail_msg("%s: sample flags %#x, expected %#x", r->desc, s->flags, r->s_flags);
		if (s->caplen != want || s->wirelen != (uint32_t)len)
			fail_msg("%s: sample caplen %u wirelen %u, expected %d %d", r->desc,
				 s->caplen, s->wirelen, want, len);
		if (f->got.size[0] != SCR_HOST_SAMPLE_HDR + (size_t)want)
			fail_msg("%s: record size %zu", r->desc, f->got.size[0]);
		if (memcmp(s->data, buf, (size_t)want))
			fail_msg("%s: sample bytes differ from the frame", r->desc);
		if (s->ts_ns < t0 || s->ts_ns > mono_ns())
			fail_msg("%s: sample time outside the run", r->desc);
	}
	rc = bpf_map_lookup_elem(ctl_maps_map_fd(f->m, "host_flows"), &k, &v);
	if (r->after < 0) {
		if (rc == 0)
			fail_msg("%s: an entry exists (state %u)", r->desc, v.state);
	} else {
		if (rc)
			fail_msg("%s: no entry after", r->desc);
		if (v.state != (uint32_t)r->after || v.flags != r->after_flags)
			fail_msg("%s: entry state %u flags %#x, expected %d %#x", r->desc,
				 v.state, v.flags, r->after, r->after_flags);
		if ((r->s_flags & SCR_HOST_SF_DATA) &&
		    (v.hold_until_ns < t0 + GRACE_NS ||
		     v.hold_until_ns > mono_ns() + GRACE_NS))
			fail_msg("%s: data hold_until %llu outside the expected "
				 "window", r->desc, (unsigned long long)v.hold_until_ns);
		if ((r->s_flags & SCR_HOST_SF_HELD) && !(r->s_flags & SCR_HOST_SF_DATA)) {
			uint32_t seq = r->pkt.seq;

			if (v.greet_seq != seq)
				fail_msg("%s: greet_seq %u, expected %u", r->desc, v.greet_seq, seq);
			if (v.hold_until_ns < t0 + HOLD_NS + GRACE_NS ||
			    v.hold_until_ns > mono_ns() + HOLD_NS + GRACE_NS)
				fail_msg("%s: hold_until_ns not now + hold + grace", r->desc);
		}
	}
	for (i = 0; i < SCR_HOST_C_MAX; i++) {
		uint64_t d = ha[i].packets - hb[i].packets;

		if (d != !!(r->ctrs & C(i)))
			fail_msg("%s: host counter %s moved by %llu", r->desc,
				 ctl_maps_host_ctr_name[i], (unsigned long long)d);
	}
	for (i = 0; i < SCR_XDP_C_MAX; i++) {
		uint64_t d = xa[i].packets - xb[i].packets;

		if (d != (r->xctr == i))
			fail_msg("%s: xdp counter %s moved by %llu", r->desc,
				 ctl_maps_ctr_name[i], (unsigned long long)d);
	}
}

/* setup - host-mode program with a permit, an allow and a block */
static int setup(void **state)
{
	struct ctl_maps_opts o = { .host = true, .greet_hold_ns = HOLD_NS,
		.hold_grace_ns = GRACE_NS, .data_hold_ns = GRACE_NS,
		.flow_map_size = 1024, .ringbuf_bytes = 1 << 20 };
	struct ctl_xdp_entry e = xt_entry("198.18.1.0", 24, SCR_XDP_ANS_PERMIT);
	struct scr_addr a;

	if (fix_load(&F, &o))
		return -1;
	if (ctl_maps_replace(F.m, &e, 1))
		return -1;
	a = xt_addr("198.18.2.2");
	if (ctl_maps_dyn_add(F.m, SCR_XDP_KIND_ALLOW, &a, 128, 0, 0))
		return -1;
	a = xt_addr("198.18.3.3");
	if (ctl_maps_dyn_add(F.m, SCR_XDP_KIND_BLOCK, &a, 128, 0, 0))
		return -1;
	*state = &F;
	return 0;
}

/* teardown - unload */
static int teardown(void **state)
{
	fix_free(&F);
	return 0;
}

/* test_table - every row, in order */
static void test_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(*state, &rows[i]);
}

/* test_no_hold_knob - greet hold off: the greeting is sampled and passes */
static void test_no_hold_knob(void **state)
{
	struct ctl_maps_opts o = { .host = true, .sample_bytes = 64 };
	static const struct row r[] = {
		{ "no hold: greeting passes, sampled, cut at 64 bytes", P_TC,
		  { .out = 1, .tflags = DATA, .payload = "220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n" }, PRE_SCAN,
		  TC_ACT_OK, 1, SCR_HOST_SF_TRUNC, 64, SCR_HOST_FS_SCAN, 0,
		  C(SCR_HOST_C_SAMPLE_OUT) | C(SCR_HOST_C_SAMPLE_TRUNC), -1 },
		{ "sample bytes 64: handshake ack (54 bytes) whole", P_XDP, { .tflags = ACK, .seq = ISN + 1 }, PRE_SYN,
		  XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0, C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED },
	};
	struct fix f = {};
	size_t i;

	assert_int_equal(fix_load(&f, &o), 0);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		check_row(&f, &r[i]);
	fix_free(&f);
}

/* test_overload_drop - smtpscreen_overload_policy = drop: a hold past its
 * deadline (the daemon fell behind) drops the segment instead of passing
 * it; with pass (the table above) the same row passes */
static void test_overload_drop(void **state)
{
	struct ctl_maps_opts o = { .host = true, .greet_hold_ns = HOLD_NS,
				   .hold_grace_ns = GRACE_NS,
				   .data_hold_ns = GRACE_NS, .overload_drop = true };
	static const struct row r[] = {
		{ "drop policy: greeting past its hold deadline dropped", P_TC,
		  { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_HELD_EXPIRED,
		  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
		  C(SCR_HOST_C_HOLD_EXPIRED_DROP), -1 },
		{ "drop policy: its retransmission dropped too", P_TC,
		  { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_KEEP,
		  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
		  C(SCR_HOST_C_HOLD_EXPIRED_DROP), -1 },
		{ "drop policy: 354 past its hold deadline dropped", P_TC,
		  { .out = 1, .tflags = DATA, .seq = 2000, .payload = "354 go\r\n" }, PRE_DATA_EXPIRED,
		  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED | SCR_HOST_FF_DATA_HELD,
		  C(SCR_HOST_C_HOLD_EXPIRED_DROP), -1 },
		{ "drop policy: a hold in time still holds", P_TC,
		  { .out = 1, .tflags = DATA, .seq = 1000, .payload = greet }, PRE_SCAN,
		  TC_ACT_STOLEN, 1, SCR_HOST_SF_HELD, 0, SCR_HOST_FS_SCAN, SCR_HOST_FF_HELD,
		  C(SCR_HOST_C_HELD) | C(SCR_HOST_C_SAMPLE_OUT), -1 },
	};
	struct fix f = {};
	size_t i;

	(void)state;
	assert_int_equal(fix_load(&f, &o), 0);
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		check_row(&f, &r[i]);
	fix_free(&f);
}

/* csum16 - the Internet checksum of n bytes plus a running sum */
static uint16_t csum16(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* check_rst - the frame a pregreeter's segment was made into: a bare
 * RST|ACK to the server, same ports, seq and ack, lengths and both
 * checksums right */
static void check_rst(const uint8_t *in, const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14, *tcp = f + 34;
	uint8_t ph[12];

	assert_int_equal(len, 14 + 20 + 20);
	assert_int_equal(ip[2] << 8 | ip[3], 40);			/* tot_len */
	assert_int_equal(csum16(ip, 20, 0), 0);				/* IP checksum */
	assert_memory_equal(tcp, in + 34, 12);				/* ports, seq, ack */
	assert_int_equal(tcp[12], 5 << 4);
	assert_int_equal(tcp[13], 0x14);				/* RST | ACK */
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = 0;
	ph[11] = 20;
	assert_int_equal(csum16(tcp, 20, 0xffffu & ~csum16(ph, 12, 0)), 0);
}

/* test_handshake_hold - smtpscreen_host_hold = handshake against real
 * sockets on loopback: a listener with TCP_DEFER_ACCEPT keeps a connected
 * client's handshake as a request socket (TCP_NEW_SYN_RECV), which is
 * what the program looks for; a port with no connection finds the
 * listener (as after a SYN cookie) */
static void test_handshake_hold(void **state)
{
	struct ctl_maps_opts o = { .host = true, .greet_hold_ns = HOLD_NS,
		.hold_grace_ns = GRACE_NS, .hs_hold = true, .hs_reset = true,
		.flow_map_size = 1024, .ringbuf_bytes = 1 << 20 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int ls, cs, defer = 10, i, len;
	uint16_t lport, cport, lonely;
	uint32_t snd_nxt = 0;
	struct fix f = {};
	uint8_t in[4096];

	(void)state;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(ls, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)), 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 16), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	lport = ntohs(sa.sin_port);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(cs >= 0);
	assert_int_equal(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sl = sizeof(sa);
	assert_int_equal(getsockname(cs, (struct sockaddr *)&sa, &sl), 0);
	cport = ntohs(sa.sin_port);
	lonely = (uint16_t)(cport ^ 0x4000);	/* a client port nothing has */
	{
		/* the client's next sequence number (its ISN + 1): repair mode */
		int on = 1, off = 0, q = TCP_SEND_QUEUE;
		socklen_t ql = sizeof(snd_nxt);

		assert_int_equal(setsockopt(cs, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)), 0);
		assert_int_equal(setsockopt(cs, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)), 0);
		assert_int_equal(getsockopt(cs, IPPROTO_TCP, TCP_QUEUE_SEQ, &snd_nxt, &ql), 0);
		assert_int_equal(setsockopt(cs, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)), 0);
	}

	o.ports[0] = lport;
	o.nports = 1;
	assert_int_equal(fix_load(&f, &o), 0);
	ctl_maps_set_hs_wait(f.m, HOLD_NS);
	{
#define LO .client = "127.0.0.1", .server = "127.0.0.1", .sport = lport
		const struct hp_pkt ack = { LO, .cport = cport, .tflags = ACK, .seq = ISN + 1 };
		const struct hp_pkt data = { LO, .cport = cport, .tflags = DATA, .seq = ISN + 1,
			.payload = "EHLO bot.example\r\n" };
		const struct hp_pkt lack = { LO, .cport = lonely, .tflags = ACK, .seq = ISN + 1 };
		const struct hp_pkt rack = { LO, .cport = cport, .tflags = ACK, .seq = snd_nxt };
		const struct hp_pkt rack_bad = { LO, .cport = cport, .tflags = ACK, .seq = snd_nxt + 7 };
		const struct hp_pkt ldata = { LO, .cport = lonely, .tflags = DATA, .seq = ISN + 1,
			.payload = "EHLO bot.example\r\n" };
		const struct hp_pkt rst_out = { LO, .cport = lonely, .out = 1, .tflags = 0x14 };
		const struct hp_pkt data_out = { LO, .cport = lonely, .out = 1, .tflags = DATA,
			.payload = "220 x\r\n" };
		const struct hp_pkt greet_out = { LO, .cport = cport, .out = 1, .tflags = DATA,
			.payload = greet };
#undef LO
		const struct row r[] = {
			{ "hs: no SYN record (pushed out), request socket: its ISN and time, ACK held",
			  P_XDP, rack, PRE_NONE, XDP_DROP, 0, 0, 0, -1, 0,
			  C(SCR_HOST_C_HS_SYN_FROM_REQ) | C(SCR_HOST_C_HS_ACK_HELD),
			  SCR_XDP_C_DROP_FLOW_STOP },
			{ "hs: no SYN record, a seq that is not the request's: no flow, passes",
			  P_XDP, rack_bad, PRE_NONE, XDP_PASS, 0, 0, 0, -1, 0,
			  C(SCR_HOST_C_FLOW_MISS), SCR_XDP_C_PASS_UNLISTED },
			{ "hs: ACK in the wait, request socket: dropped", P_XDP, ack, PRE_SYN_NOW,
			  XDP_DROP, 0, 0, 0, -1, 0, C(SCR_HOST_C_HS_ACK_HELD), SCR_XDP_C_DROP_FLOW_STOP },
			{ "hs: its next ACK in the wait: dropped again", P_XDP, ack, PRE_KEEP,
			  XDP_DROP, 0, 0, 0, -1, 0, C(SCR_HOST_C_HS_ACK_HELD), SCR_XDP_C_DROP_FLOW_STOP },
			{ "hs: data in the wait: pregreet, made a RST to the server", P_XDP, data, PRE_KEEP,
			  XDP_PASS, 1, SCR_HOST_SF_FIRST | SCR_HOST_SF_HS | SCR_HOST_SF_HS_RST, 0,
			  SCR_HOST_FS_STOP, SCR_HOST_FF_HS,
			  C(SCR_HOST_C_HS_PREGREET) | C(SCR_HOST_C_HS_RST_SERVER) | C(SCR_HOST_C_SAMPLE_IN),
			  SCR_XDP_C_PASS_UNLISTED },
			{ "hs: its retransmission while the request socket lives: dropped", P_XDP, data,
			  PRE_KEEP, XDP_DROP, 0, 0, 0, SCR_HOST_FS_STOP, SCR_HOST_FF_HS,
			  C(SCR_HOST_C_STOP_DROP_IN), SCR_XDP_C_DROP_FLOW_STOP },
			{ "hs: no request socket (SYN cookie): ACK passes, greeting held later", P_XDP,
			  lack, PRE_SYN_NOW, XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0,
			  C(SCR_HOST_C_HS_NO_REQ) | C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN),
			  SCR_XDP_C_PASS_UNLISTED },
			{ "hs: ACK after the wait: handshake done, no greeting hold", P_XDP, ack, PRE_SYN_OLD,
			  XDP_PASS, 1, SCR_HOST_SF_FIRST | SCR_HOST_SF_HS, 0, SCR_HOST_FS_SCAN,
			  SCR_HOST_FF_HS | SCR_HOST_FF_RELEASED,
			  C(SCR_HOST_C_HS_PASSED) | C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN),
			  SCR_XDP_C_PASS_UNLISTED },
			{ "hs: the greeting of a flow past the wait is not held", P_TC, greet_out,
			  PRE_KEEP, TC_ACT_OK, 1, 0, 0, SCR_HOST_FS_SCAN,
			  SCR_HOST_FF_HS | SCR_HOST_FF_RELEASED, C(SCR_HOST_C_SAMPLE_OUT), -1 },
			{ "hs: stopped pregreeter, no socket left: passed for the kernel's RST", P_XDP,
			  ldata, PRE_STOP_HS, XDP_PASS, 0, 0, 0, SCR_HOST_FS_STOP, SCR_HOST_FF_HS,
			  C(SCR_HOST_C_HS_RST_CLIENT), SCR_XDP_C_PASS_HS_ANSWER },
			{ "hs: the kernel's RST to it leaves", P_TC, rst_out, PRE_KEEP,
			  TC_ACT_OK, 0, 0, 0, SCR_HOST_FS_STOP, SCR_HOST_FF_HS, 0, -1 },
			{ "hs: server data to it dropped", P_TC, data_out, PRE_KEEP,
			  TC_ACT_SHOT, 0, 0, 0, SCR_HOST_FS_STOP, SCR_HOST_FF_HS,
			  C(SCR_HOST_C_STOP_DROP_OUT), -1 },
			{ "hs: a plain STOP flow's client data: dropped, not answered", P_XDP,
			  ldata, PRE_STOP, XDP_DROP, 0, 0, 0, SCR_HOST_FS_STOP, 0,
			  C(SCR_HOST_C_STOP_DROP_IN), SCR_XDP_C_DROP_FLOW_STOP },
		};

		for (i = 0; i < (int)(sizeof(r) / sizeof(r[0])); i++) {
			check_row(&f, &r[i]);
			if (r[i].pre == PRE_SYN_OLD || (r[i].s_flags & SCR_HOST_SF_HS_RST)) {
				/* FIRST samples of the hold carry the SYN's time */
				uint64_t syn = f.got.s[0].syn_ns;

				if (syn == 0 || syn > f.got.s[0].ts_ns)
					fail_msg("%s: syn_ns %llu", r[i].desc, (unsigned long long)syn);
			}
			if (r[i].s_flags & SCR_HOST_SF_HS_RST) {
				len = hp_build(in, sizeof(in), &r[i].pkt);
				assert_true(len > 54);
				check_rst(in, run_out, run_out_len);
			}
		}
	}
	/* the wait off (0, as under smtpscreen_greet_hold = no): no hold */
	ctl_maps_set_hs_wait(f.m, 0);
	{
		const struct row r0 = { "hs: wait 0: the ACK starts the flow", P_XDP,
			{ .client = "127.0.0.1", .server = "127.0.0.1", .cport = cport,
			  .sport = lport, .tflags = ACK, .seq = ISN + 1 }, PRE_SYN_NOW,
			XDP_PASS, 1, SCR_HOST_SF_FIRST, 0, SCR_HOST_FS_SCAN, 0,
			C(SCR_HOST_C_FLOW_NEW) | C(SCR_HOST_C_SAMPLE_IN), SCR_XDP_C_PASS_UNLISTED };

		check_row(&f, &r0);
	}
	fix_free(&f);
	close(cs);
	close(ls);
}

/* test_sampling_off - without host mode: no entry, no sample, no TC program */
static void test_sampling_off(void **state)
{
	struct ctl_maps_opts o = {};
	struct hp_pkt p = { .tflags = SYN };
	struct scr_host_flow_key nk;
	struct fix f = {};
	uint8_t buf[256];
	int len;

	assert_int_equal(fix_load(&f, &o), 0);
	assert_int_equal(ctl_maps_tc_prog_fd(f.m), -1);
	len = hp_build(buf, sizeof(buf), &p);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_PASS);
	assert_int_equal(ring_buffer__consume(f.rb), 0);
	assert_int_equal(f.got.n, 0);
	assert_int_not_equal(bpf_map_get_next_key(ctl_maps_map_fd(f.m, "host_flows"), NULL, &nk), 0);
	fix_free(&f);
}

/* test_ringbuf_full - a full ring passes unsampled, counted; no hold */
static void test_ringbuf_full(void **state)
{
	struct ctl_maps_opts o = { .host = true, .greet_hold_ns = HOLD_NS, .ringbuf_bytes = 4096 };
	struct hp_pkt in = { .tflags = DATA, .payload = "EHLO client.example\r\n" };
	struct hp_pkt out = { .out = 1, .tflags = DATA, .payload = greet };
	struct scr_xdp_ctr_val c[SCR_HOST_C_MAX];
	struct scr_host_flow_val v;
	struct scr_host_flow_key k = hp_key(&in);
	struct fix f = {};
	uint8_t buf[256];
	int len, i, queued = 0;

	assert_int_equal(fix_load(&f, &o), 0);
	set_pre(&f, &in, PRE_SCAN);
	len = hp_build(buf, sizeof(buf), &in);
	for (i = 0; i < 200; i++) {
		assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_PASS);
		assert_int_equal(ctl_maps_host_stats(f.m, c), 0);
		if (c[SCR_HOST_C_RB_FULL].packets)
			break;
		queued++;
	}
	if (!c[SCR_HOST_C_RB_FULL].packets)
		fail_msg("ring of 4096 bytes never full after 200 samples");
	assert_int_equal(c[SCR_HOST_C_SAMPLE_IN].packets, (uint64_t)queued);
	/* the greeting is not held when its sample cannot be queued */
	len = hp_build(buf, sizeof(buf), &out);
	assert_int_equal(run(&f, P_TC, buf, len, 0), TC_ACT_OK);
	assert_int_equal(ctl_maps_host_stats(f.m, c), 0);
	assert_int_equal(c[SCR_HOST_C_RB_FULL].packets, 2);
	assert_int_equal(c[SCR_HOST_C_HELD].packets, 0);
	assert_int_equal(bpf_map_lookup_elem(ctl_maps_map_fd(f.m, "host_flows"), &k, &v), 0);
	assert_int_equal(v.flags, 0);
	/* drained: every queued sample is there, then the hold works */
	assert_int_equal(ring_buffer__consume(f.rb), queued);
	assert_int_equal(run(&f, P_TC, buf, len, 0), TC_ACT_STOLEN);
	assert_int_equal(ring_buffer__consume(f.rb), 1);
	fix_free(&f);
}

/* ---- ctl_hostbpf on a veth in a namespace ---- */

/* sh - run a shell command, 0 if it succeeded */
static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

/* ns_cleanup - remove the namespace, its links and the test pins */
static void ns_cleanup(void)
{
	if (system("ip netns del " NS " 2>/dev/null; rm -rf " PIN " 2>/dev/null") < 0)
		return;
}

/* exists - whether a path exists */
static int exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* xdp_id - the XDP program id on ifindex (either mode) */
static __u32 xdp_id(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	return q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
}

/* tc_id - our TC egress program id on ifindex, 0 if none */
static __u32 tc_id(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = 0x5c5e, .priority = 1);

	if (bpf_tc_query(&hook, &o))
		return 0;
	return o.prog_id;
}

/* prog_id - id of a program fd */
static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

struct poll_arg {
	int n;
	struct scr_host_sample s;
};

/* poll_cb - keep the last sample */
static int poll_cb(void *arg, const struct scr_host_sample *s)
{
	struct poll_arg *pa = arg;

	pa->n++;
	memcpy(&pa->s, s, SCR_HOST_SAMPLE_HDR + s->caplen);
	return 0;
}

/* ns_enter - create hostk-t1 with veth hostk-v0/hostk-v1 and enter it */
static int ns_enter(void)
{
	int fd, rc;

	ns_cleanup();
	if (sh("ip netns add " NS) ||
	    sh("ip -n " NS " link add hostk-v0 type veth peer name hostk-v1") ||
	    sh("ip -n " NS " link set hostk-v0 up") ||
	    sh("ip -n " NS " link set hostk-v1 up"))
		return -1;
	fd = open("/var/run/netns/" NS, O_RDONLY);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

/* test_open_close - attach, pins, translation, poll, close, keep, replace */
static void test_open_close(void **state)
{
	static const uint16_t ports[] = { 25, 587 };
	struct ctl_hostbpf_opts o = { .ifname = "hostk-v0", .pin_dir = PIN,
		.ports = ports, .nports = 2, .greet_hold_ns = HOLD_NS, .flow_map_size = 4096 };
	struct hp_pkt syn = { .tflags = SYN, .cport = 40002, .seq = ISN };
	struct hp_pkt ack = { .tflags = ACK, .cport = 40002, .seq = ISN + 1 };
	struct hp_pkt data = { .tflags = DATA, .cport = 40002, .payload = "EHLO x\r\n" };
	struct scr_flow_key fk = {};
	struct scr_host_flow_val v;
	struct poll_arg pa = {};
	struct ctl_hostbpf *h, *h2;
	struct fix f = {};
	char err[512], warn[512];
	uint8_t buf[256];
	int ifindex, len, rc;
	int netns_self;
	__u32 xid, tid;

	netns_self = open("/proc/self/ns/net", O_RDONLY);
	assert_true(netns_self >= 0);
	if (ns_enter())
		fail_msg("cannot create namespace " NS " with veth hostk-v0");

	/* bad input first */
	o.ifname = "hostk-nosuch";
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	assert_null(h);
	assert_non_null(strstr(err, "hostk-nosuch"));
	o.ifname = "hostk-v0";

	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open: %s", err);
	ifindex = ctl_hostbpf_ifindex(h);
	assert_int_equal(ifindex, (int)if_nametoindex("hostk-v0"));
	f.m = ctl_hostbpf_maps(h);
	xid = prog_id(ctl_maps_prog_fd(f.m));
	tid = prog_id(ctl_maps_tc_prog_fd(f.m));
	assert_int_equal(xdp_id(ifindex), xid);
	assert_int_equal(tc_id(ifindex), tid);
	assert_true(ctl_hostbpf_xdp_mode(h) == 1 || ctl_hostbpf_xdp_mode(h) == 2);
	assert_true(exists(PIN "/prog") && exists(PIN "/tc_prog") && exists(PIN "/host_flows") &&
		    exists(PIN "/host_syn") && exists(PIN "/host_samples") && exists(PIN "/host_ctr") && exists(PIN "/dyn4"));
	assert_true(ctl_hostbpf_fd(h) >= 0);

	/* a SYN through the attached program is only recorded; its
	 * handshake's ACK is the sample poll hands over */
	len = hp_build(buf, sizeof(buf), &syn);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_PASS);
	assert_int_equal(ctl_hostbpf_poll(h, 0, poll_cb, &pa), 0);
	len = hp_build(buf, sizeof(buf), &ack);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_PASS);
	rc = ctl_hostbpf_poll(h, 100, poll_cb, &pa);
	assert_int_equal(rc, 1);
	assert_int_equal(pa.n, 1);
	assert_int_equal(pa.s.caplen, len);
	assert_memory_equal(pa.s.data, buf, (size_t)len);

	/* engine key (host-order ports, v4-mapped) -> BPF key */
	fk.client = xt_addr("198.18.0.10");
	fk.server = xt_addr("198.19.0.25");
	fk.client_port = 40002;
	fk.server_port = 25;
	fk.family = 4;
	assert_int_equal(ctl_hostbpf_flow_get(h, &fk, &v), 0);
	assert_int_equal(v.state, SCR_HOST_FS_SCAN);
	assert_int_equal(ctl_hostbpf_flow_set(h, &fk, SCR_HOST_FS_STOP), 0);
	len = hp_build(buf, sizeof(buf), &data);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_DROP);
	assert_int_equal(ctl_hostbpf_release(h, &fk), 0);
	assert_int_equal(ctl_hostbpf_flow_get(h, &fk, &v), 0);
	assert_int_equal(v.state, SCR_HOST_FS_STOP);
	assert_int_equal(v.flags, SCR_HOST_FF_RELEASED);
	assert_int_equal(ctl_hostbpf_flow_set(h, &fk, SCR_HOST_FS_PASS), 0);
	assert_int_equal(ctl_hostbpf_flow_get(h, &fk, &v), 0);
	assert_int_equal(v.flags, SCR_HOST_FF_RELEASED);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_PASS);
	assert_int_equal(ctl_hostbpf_flow_del(h, &fk), 0);
	assert_int_equal(ctl_hostbpf_flow_del(h, &fk), -ENOENT);
	assert_int_equal(ctl_hostbpf_release(h, &fk), -ENOENT);
	assert_int_equal(ctl_hostbpf_flow_set(h, &fk, (enum scr_host_flow_state)7), -EINVAL);
	/* flow_set on an absent entry creates it (a STOP after eviction) */
	assert_int_equal(ctl_hostbpf_flow_set(h, &fk, SCR_HOST_FS_STOP), 0);
	assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_DROP);
	/* the verdict maps through ctl_maps: a block applies */
	{
		struct scr_addr a = xt_addr("198.18.0.10");

		assert_int_equal(ctl_maps_dyn_add(ctl_hostbpf_maps(h), SCR_XDP_KIND_BLOCK, &a, 128, 60, 1), 0);
		assert_int_equal(run(&f, P_XDP, buf, len, 0), XDP_DROP);
		assert_int_equal(ctl_maps_dyn_del(ctl_hostbpf_maps(h), SCR_XDP_KIND_BLOCK, &a, 128), 0);
	}
	/* a second instance on the same interface is refused, naming it */
	{
		struct ctl_hostbpf_opts o2 = o;

		o2.pin_dir = PIN "-other";
		h2 = ctl_hostbpf_open(&o2, err, sizeof(err), warn, sizeof(warn));
		assert_null(h2);
		assert_non_null(strstr(err, "hostk-v0"));
		assert_false(exists(PIN "-other/prog"));
		sh("rmdir " PIN "-other 2>/dev/null");
	}

	/* close: detached, pins gone, clsact (ours) gone */
	ctl_hostbpf_close(h, false);
	assert_int_equal(xdp_id(ifindex), 0);
	assert_int_equal(tc_id(ifindex), 0);
	assert_false(exists(PIN "/prog"));
	assert_false(exists(PIN));
	assert_int_equal(sh("ip -n " NS " link show hostk-v0 >/dev/null && "
			    "! tc -n " NS " qdisc show dev hostk-v0 | grep -q clsact"), 0);

	/* keep: programs stay attached and pinned after close */
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open again: %s", err);
	xid = prog_id(ctl_maps_prog_fd(ctl_hostbpf_maps(h)));
	ctl_hostbpf_close(h, true);
	assert_int_equal(xdp_id(ifindex), xid);
	assert_true(tc_id(ifindex) != 0);
	assert_true(exists(PIN "/prog") && exists(PIN "/host_flows"));

	/* restart: the program left attached is replaced, with a warning */
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open over a kept instance: %s", err);
	assert_non_null(strstr(warn, "replaced"));
	f.m = ctl_hostbpf_maps(h);
	assert_int_equal(xdp_id(ifindex), prog_id(ctl_maps_prog_fd(f.m)));
	assert_int_equal(tc_id(ifindex), prog_id(ctl_maps_tc_prog_fd(f.m)));
	assert_true(xdp_id(ifindex) != xid);
	ctl_hostbpf_close(h, false);
	assert_int_equal(xdp_id(ifindex), 0);
	assert_false(exists(PIN "/prog"));

	/* defer_attach: pinned, not attached until ctl_hostbpf_attach */
	o.defer_attach = true;
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open deferred: %s", err);
	assert_int_equal(xdp_id(ifindex), 0);
	assert_true(exists(PIN "/prog"));
	assert_int_equal(ctl_hostbpf_attach(h, err, sizeof(err), warn, sizeof(warn)), 0);
	assert_int_equal(xdp_id(ifindex), prog_id(ctl_maps_prog_fd(ctl_hostbpf_maps(h))));
	ctl_hostbpf_close(h, false);
	assert_int_equal(xdp_id(ifindex), 0);
	assert_int_equal(tc_id(ifindex), 0);

	/* restart after a crash, the daemon's way: an instance left attached
	 * and pinned, then open with defer_attach (which pins first) and
	 * attach: the stale program is still recognised as ours */
	o.defer_attach = false;
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open before the crash: %s", err);
	xid = prog_id(ctl_maps_prog_fd(ctl_hostbpf_maps(h)));
	ctl_hostbpf_close(h, true);
	assert_int_equal(xdp_id(ifindex), xid);
	o.defer_attach = true;
	h = ctl_hostbpf_open(&o, err, sizeof(err), warn, sizeof(warn));
	if (!h)
		fail_msg("ctl_hostbpf_open deferred after a crash: %s", err);
	if (ctl_hostbpf_attach(h, err, sizeof(err), warn, sizeof(warn)) != 0)
		fail_msg("deferred attach over our stale program: %s", err);
	assert_non_null(strstr(warn, "replaced"));
	assert_int_equal(xdp_id(ifindex), prog_id(ctl_maps_prog_fd(ctl_hostbpf_maps(h))));
	ctl_hostbpf_close(h, false);
	assert_int_equal(xdp_id(ifindex), 0);
	assert_int_equal(tc_id(ifindex), 0);

	assert_int_equal(setns(netns_self, CLONE_NEWNET), 0);
	close(netns_self);
	ns_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampling_off),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_hold_knob),
		cmocka_unit_test(test_overload_drop),
		cmocka_unit_test(test_handshake_hold),
		cmocka_unit_test(test_ringbuf_full),
		cmocka_unit_test(test_open_close),
	};
	int rc;

	atexit(ns_cleanup);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	return rc;
}
