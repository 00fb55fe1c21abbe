/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_craft - the frames that stop a session (inline mode)
 * DESCRIPTION
 *	Builds the RST and reply frames for a session the engine stopped,
 *	and postscreen's reply texts. Layout, sequence rules and the cases
 *	without ACK: see dp_craft.h.
 * CONTRACT
 *	See dp_craft.h.
 * THREADING
 *	Pure functions; any thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dp_craft.h"
#include "scr_csum.h"
#include "scr_decode.h"
#include "scr_panic.h"

#define ETH_HLEN	14
#define VLAN_HLEN	4
#define IP4_HLEN	20
#define IP6_HLEN	40
#define TCP_HLEN	20
#define TTL_OUT		64

const char *const dp_craft_dst_name[DP_CRAFT_DST_MAX] = {
	[DP_CRAFT_TO_SERVER] = "server",
	[DP_CRAFT_TO_CLIENT] = "client",
};

/* The session a stopped frame belongs to, as the builder needs it. */
struct craft_ctx {
	const uint8_t *l2;	/* the stopped frame's L2 header */
	uint32_t l2len;		/* Ethernet + VLAN tags */
	uint8_t family;		/* 4 or 6 */
	bool from_client;	/* the stopped frame's sender */
	struct scr_addr client, server;
	uint16_t client_port, server_port;
};

/* One frame to build. */
struct craft_seg {
	enum dp_craft_dst dst;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *data;
	uint32_t data_len;
};

/* wr16 - big-endian 16 bits */
static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* wr32 - big-endian 32 bits */
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* is_screened - is port p one of ports[0..n) */
static bool is_screened(const uint16_t *ports, unsigned n, uint16_t p)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (ports[i] == p)
			return true;
	return false;
}

/* build - write one frame of the session into f */
static void build(const struct craft_ctx *c, const struct craft_seg *s,
		  struct dp_craft_frame *f)
{
	bool to_server = s->dst == DP_CRAFT_TO_SERVER;
	/* Back to the stopped frame's sender: swap the MACs. */
	bool back = to_server != c->from_client;
	const struct scr_addr *src = to_server ? &c->client : &c->server;
	const struct scr_addr *dst = to_server ? &c->server : &c->client;
	uint8_t *p = f->data, *tcp;
	uint32_t off = c->l2len, tcp_len = TCP_HLEN + s->data_len, sum, end;

	memcpy(p, c->l2, c->l2len);
	if (back) {
		memcpy(p, c->l2 + 6, 6);
		memcpy(p + 6, c->l2, 6);
	}
	if (c->family == 4) {
		uint8_t *ip = p + off;

		ip[0] = 0x45;
		ip[1] = 0;
		wr16(ip + 2, (uint16_t)(IP4_HLEN + tcp_len));
		wr16(ip + 4, 0);		/* id */
		wr16(ip + 6, 0x4000);		/* DF, offset 0 */
		ip[8] = TTL_OUT;
		ip[9] = 6;
		wr16(ip + 10, 0);
		memcpy(ip + 12, src->b + 12, 4);
		memcpy(ip + 16, dst->b + 12, 4);
		wr16(ip + 10, scr_csum_fold(scr_csum_add(0, ip, IP4_HLEN)));
		tcp = ip + IP4_HLEN;
		/* pseudo-header: addresses, zero, protocol, TCP length */
		sum = scr_csum_add(0, ip + 12, 8) + 6 + tcp_len;
	} else {
		uint8_t *ip = p + off;

		wr32(ip, 0x60000000u);		/* version 6, class 0, label 0 */
		wr16(ip + 4, (uint16_t)tcp_len);
		ip[6] = 6;
		ip[7] = TTL_OUT;
		memcpy(ip + 8, src->b, 16);
		memcpy(ip + 24, dst->b, 16);
		tcp = ip + IP6_HLEN;
		sum = scr_csum_add(0, ip + 8, 32) + 6 + tcp_len;
	}
	wr16(tcp, to_server ? c->client_port : c->server_port);
	wr16(tcp + 2, to_server ? c->server_port : c->client_port);
	wr32(tcp + 4, s->seq);
	wr32(tcp + 8, s->ack);
	tcp[12] = (TCP_HLEN / 4) << 4;
	tcp[13] = s->flags;
	wr16(tcp + 14, 0);			/* window */
	wr16(tcp + 16, 0);			/* checksum */
	wr16(tcp + 18, 0);			/* urgent */
	if (s->data_len)
		memcpy(tcp + TCP_HLEN, s->data, s->data_len);
	wr16(tcp + 16, scr_csum_fold(scr_csum_add(sum, tcp, tcp_len)));
	end = (uint32_t)(tcp - p) + tcp_len;
	if (end < DP_CRAFT_FRAME_MIN) {
		memset(p + end, 0, DP_CRAFT_FRAME_MIN - end);
		end = DP_CRAFT_FRAME_MIN;
	}
	f->dst = (uint8_t)s->dst;
	f->len = (uint16_t)end;
}

/* dp_craft_stop - frames that end the session 'frame' belongs to */
int dp_craft_stop(const uint8_t *frame, uint32_t len, const uint16_t *ports,
		  unsigned nports, const char *reply,
		  struct dp_craft_frame out[DP_CRAFT_STOP_MAX])
{
	struct craft_seg seg[DP_CRAFT_STOP_MAX];
	struct craft_ctx c;
	struct scr_pkt pk;
	uint32_t rlen = 0, next;
	unsigned n = 0, i;
	bool has_ack;

	if (frame == NULL || ports == NULL || nports == 0 || out == NULL)
		return -EINVAL;
	if (reply != NULL) {
		size_t l = strnlen(reply, DP_CRAFT_REPLY_MAX + 1);

		if (l > DP_CRAFT_REPLY_MAX)
			return -EINVAL;
		rlen = (uint32_t)l;
	}
	if (scr_decode(SCR_LINK_ETH, frame, len, &pk) != SCR_DEC_TCP ||
	    pk.truncated)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if (is_screened(ports, nports, pk.dport))
		c.from_client = true;
	else if (is_screened(ports, nports, pk.sport))
		c.from_client = false;
	else
		return -EINVAL;
	c.l2 = frame;
	c.l2len = ETH_HLEN + VLAN_HLEN * (uint32_t)pk.vlans;
	c.family = pk.family;
	c.client = c.from_client ? pk.src : pk.dst;
	c.server = c.from_client ? pk.dst : pk.src;
	c.client_port = c.from_client ? pk.sport : pk.dport;
	c.server_port = c.from_client ? pk.dport : pk.sport;

	has_ack = (pk.flags & SCR_TCP_ACK) != 0;
	next = pk.seq + pk.payload_len + !!(pk.flags & SCR_TCP_SYN) +
	       !!(pk.flags & SCR_TCP_FIN);
	memset(seg, 0, sizeof(seg));
	if (pk.flags & SCR_TCP_RST) {
		/* Never answer a RST: deliver the one the frame carried. */
		seg[n].dst = c.from_client ? DP_CRAFT_TO_SERVER : DP_CRAFT_TO_CLIENT;
		seg[n].seq = pk.seq;
		seg[n].ack = has_ack ? pk.ack : 0;
		seg[n].flags = (uint8_t)(SCR_TCP_RST | (has_ack ? SCR_TCP_ACK : 0));
		n++;
	} else if (!has_ack) {
		/* Not established: only the receiver, which expects S. */
		if (c.from_client && (pk.flags & SCR_TCP_SYN))
			return 0;	/* a bare SYN: nothing to tear down */
		seg[n].dst = c.from_client ? DP_CRAFT_TO_SERVER : DP_CRAFT_TO_CLIENT;
		seg[n].seq = pk.seq;
		seg[n].flags = SCR_TCP_RST;
		n++;
	} else if (c.from_client) {
		seg[n].dst = DP_CRAFT_TO_SERVER;
		seg[n].seq = pk.seq;
		seg[n].ack = pk.ack;
		seg[n].flags = SCR_TCP_RST | SCR_TCP_ACK;
		n++;
		if (rlen) {
			seg[n].dst = DP_CRAFT_TO_CLIENT;
			seg[n].seq = pk.ack;
			seg[n].ack = next;
			seg[n].flags = SCR_TCP_PSH | SCR_TCP_ACK;
			seg[n].data = (const uint8_t *)reply;
			seg[n].data_len = rlen;
			n++;
		}
		seg[n].dst = DP_CRAFT_TO_CLIENT;
		seg[n].seq = pk.ack + rlen;
		seg[n].ack = next;
		seg[n].flags = SCR_TCP_RST | SCR_TCP_ACK;
		n++;
	} else {
		/* From the server. A SYN|ACK: the client is in SYN-SENT, it
		 * takes a RST whose ack is right, but no data. */
		if (pk.flags & SCR_TCP_SYN)
			rlen = 0;
		seg[n].dst = DP_CRAFT_TO_SERVER;
		seg[n].seq = pk.ack;
		seg[n].ack = next;
		seg[n].flags = SCR_TCP_RST | SCR_TCP_ACK;
		n++;
		if (rlen) {
			seg[n].dst = DP_CRAFT_TO_CLIENT;
			seg[n].seq = pk.seq;
			seg[n].ack = pk.ack;
			seg[n].flags = SCR_TCP_PSH | SCR_TCP_ACK;
			seg[n].data = (const uint8_t *)reply;
			seg[n].data_len = rlen;
			n++;
		}
		seg[n].dst = DP_CRAFT_TO_CLIENT;
		seg[n].seq = pk.seq + rlen;
		seg[n].ack = pk.ack;
		seg[n].flags = SCR_TCP_RST | SCR_TCP_ACK;
		n++;
		/* A server segment the client may have already: a retransmission
		 * (the client's ACK was lost, or dropped in XDP once its address
		 * was blocked). Its RST must carry the sequence number the
		 * client expects exactly (RFC 5961 answers any other with a
		 * challenge ACK and keeps the connection): one RST for each case,
		 * the segment new or already received. */
		if (next != pk.seq + rlen && !(pk.flags & SCR_TCP_SYN)) {
			seg[n].dst = DP_CRAFT_TO_CLIENT;
			seg[n].seq = next;
			seg[n].ack = pk.ack;
			seg[n].flags = SCR_TCP_RST | SCR_TCP_ACK;
			n++;
		}
	}
	for (i = 0; i < n; i++)
		build(&c, &seg[i], &out[i]);
	return (int)n;
}

/* Reply texts (postscreen.md §2.5/§2.6). */
#define R_PROTO		"5.5.1 Protocol error"
#define R_NONSMTP	"5.7.0 Error: I can break rules, too. Goodbye."
#define R_DENY		"5.3.2 Service currently unavailable"
#define R_DNSBL		"5.7.1 Service unavailable; client ["
#define R_DNSBL_USING	"] blocked using "
#define R_DNSBL_NONAME	"a DNS blocklist"
#define R_LIMIT		" Service unavailable - try again later"

/* A bounded string being written. */
struct rbuf {
	char *p;
	size_t cap, len;
	bool full;
};

/* put - append n bytes, or mark the buffer full */
static void put(struct rbuf *b, const char *s, size_t n)
{
	if (b->full || b->len + n + 1 > b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* puts_ - append a C string */
static void puts_(struct rbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* put_addr - append an address as postscreen prints it */
static void put_addr(struct rbuf *b, const struct scr_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char t[INET6_ADDRSTRLEN];

	/* INET6_ADDRSTRLEN always fits: a failure is impossible */
	if (memcmp(a->b, mapped, sizeof(mapped)) == 0) {
		if (inet_ntop(AF_INET, a->b + 12, t, sizeof(t)) == NULL)
			scr_panic("put_addr: inet_ntop(AF_INET): errno %d", errno);
	} else if (inet_ntop(AF_INET6, a->b, t, sizeof(t)) == NULL) {
		scr_panic("put_addr: inet_ntop(AF_INET6): errno %d", errno);
	}
	puts_(b, t);
}

/* rbuf_done - the reply's length, or -ENOSPC (and an empty string) when
 * it did not fit */
static int rbuf_done(const struct rbuf *b)
{
	if (b->full) {
		if (b->cap > 0)
			b->p[0] = 0;
		return -ENOSPC;
	}
	return (int)b->len;
}

/* name_ok - a DNSBL name fit for an SMTP reply: printable ASCII only */
static bool name_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* dp_craft_reply - postscreen's reply for a stopped session */
int dp_craft_reply(enum scr_test test, enum scr_action act,
		   const struct scr_addr *client, const char *dnsbl_name,
		   char *buf, size_t cap)
{
	struct rbuf b = { .p = buf, .cap = cap };
	const char *text;

	switch (act) {
	case SCR_ACT_IGNORE:
		return -EINVAL;		/* ignore never stops a session */
	case SCR_ACT_ENFORCE:
	case SCR_ACT_DROP:
		break;
	default:
		scr_panic("dp_craft_reply: action %d out of range", (int)act);
	}
	switch (test) {
	case SCR_TEST_PREGREET:
	case SCR_TEST_BARE_NEWLINE:
	case SCR_TEST_PIPELINING:
	case SCR_TEST_HELO:
		text = R_PROTO;
		break;
	case SCR_TEST_NON_SMTP:
		text = act == SCR_ACT_DROP ? R_NONSMTP : R_PROTO;
		break;
	case SCR_TEST_ACCESS:
	case SCR_TEST_REPLY_BAN:	/* a temporary block, as the denylist's */
		text = R_DENY;
		break;
	case SCR_TEST_DNSBL:
		if (client == NULL ||
		    (dnsbl_name != NULL && (!*dnsbl_name || !name_ok(dnsbl_name))))
			return -EINVAL;
		text = NULL;
		break;
	default:
		scr_panic("dp_craft_reply: test %d out of range", (int)test);
	}
	if (cap > 0)
		buf[0] = 0;
	puts_(&b, act == SCR_ACT_DROP ? "521 " : "550 ");
	if (text != NULL) {
		puts_(&b, text);
	} else {
		puts_(&b, R_DNSBL);
		put_addr(&b, client);
		puts_(&b, R_DNSBL_USING);
		puts_(&b, dnsbl_name != NULL ? dnsbl_name : R_DNSBL_NONAME);
	}
	puts_(&b, "\r\n");
	return rbuf_done(&b);
}

/* dp_craft_limit_reply - postscreen's reply when its command count or
 * line length limit ends a session: "421 $myhostname Service unavailable
 * - try again later" */
int dp_craft_limit_reply(const char *myhostname, char *buf, size_t cap)
{
	struct rbuf b = { .p = buf, .cap = cap };

	if (myhostname == NULL || !*myhostname || !name_ok(myhostname))
		return -EINVAL;
	if (cap > 0)
		buf[0] = 0;
	puts_(&b, "421 ");
	puts_(&b, myhostname);
	puts_(&b, R_LIMIT "\r\n");
	return rbuf_done(&b);
}
