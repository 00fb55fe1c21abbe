/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_craft_test - the frames and replies that stop a session
 * DESCRIPTION
 *	Bad input first: every truncated length, non-TCP, fragments, ports
 *	not screened, missing ports, a reply longer than the maximum. Then a
 *	table of stopped frames (IPv4/IPv6, 0/1/2/4 VLAN tags, from the
 *	client or the server, with and without reply, SYN, SYN|ACK, FIN, RST,
 *	no ACK, IPv4 options in the input) with every output field checked
 *	against the table: MACs, VLAN tags, addresses, ports, flags, seq/ack,
 *	lengths, padding; IP and TCP checksums verified with a checksum
 *	routine written here (sum including the pseudo-header == 0xffff);
 *	each output decoded again with scr_decode. Then postscreen's reply
 *	texts, bad input first. Last, the output frames written to a pcap
 *	and checked by scapy (/usr/bin/python3), which recomputes checksums.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dp_craft.h"
#include "pktbuild.h"
#include "scr_decode.h"

#define CL4 "198.18.0.10"
#define SV4 "198.18.1.25"
#define CL6 "2001:db8::10"
#define SV6 "2001:db8:1::25"
#define CPORT 40000

static const uint16_t ports[] = { 25, 587 };
#define NPORTS 2

/* MACs pktbuild writes: dst, then src */
static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static const char reply521[] = "521 5.5.1 Protocol error\r\n";	/* 26 bytes */

/* An independent RFC 1071 sum: 16-bit words of a byte string, as
 * uint16_t loads swapped to big endian, 64-bit accumulator. */
static uint64_t sum16(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	size_t i;
	uint16_t w;

	for (i = 0; i + 2 <= n; i += 2) {
		memcpy(&w, p + i, 2);
		s += ntohs(w);
	}
	if (n % 2)
		s += (uint64_t)p[n - 1] * 256;
	return s;
}

/* fold - end-around carry to 16 bits */
static uint16_t fold(uint64_t s)
{
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)s;
}

/* be16, be32 - read big endian */
static uint32_t be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------- */
/* Bad input */

/* frame - a valid input frame */
static uint32_t frame(uint8_t *b, int v6, int vlans, int from_client,
		      uint8_t flags, const char *payload)
{
	struct pb_spec s;

	memset(&s, 0, sizeof(s));
	s.v6 = v6;
	s.src = from_client ? (v6 ? CL6 : CL4) : (v6 ? SV6 : SV4);
	s.dst = from_client ? (v6 ? SV6 : SV4) : (v6 ? CL6 : CL4);
	s.sport = from_client ? CPORT : 25;
	s.dport = from_client ? 25 : CPORT;
	s.seq = 1000;
	s.ack = 5000;
	s.flags = flags;
	s.payload = payload;
	s.plen = payload ? (uint32_t)strlen(payload) : 0;
	s.vlans = vlans;
	return pb_build(b, &s);
}

static void test_truncated_every_length(void **state)
{
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	uint8_t b[256];
	uint32_t full, l;
	int v6, vlans;

	(void)state;
	for (v6 = 0; v6 <= 1; v6++) {
		for (vlans = 0; vlans <= 2; vlans += 2) {
			full = frame(b, v6, vlans, 1, SCR_TCP_ACK | SCR_TCP_PSH,
				     "EHLO x\r\n");
			for (l = 0; l < full; l++)
				assert_int_equal(dp_craft_stop(b, l, ports, NPORTS,
							       NULL, out), -EINVAL);
			/* The whole frame is accepted. */
			assert_int_equal(dp_craft_stop(b, full, ports, NPORTS,
						       NULL, out), 2);
		}
	}
}

struct bad_case {
	const char *label;
	struct pb_spec spec;
	int arp;		/* ethertype 0x0806 */
	const uint16_t *ports;
	unsigned nports;
	unsigned reply_len;	/* 'x' * n + CRLF; 0: none */
};

static const struct bad_case bad_cases[] = {
	{ "IPv4 UDP", { .src = CL4, .dst = SV4, .sport = CPORT, .dport = 25,
	  .flags = SCR_TCP_ACK, .proto = 17 }, 0, ports, NPORTS, 0 },
	{ "IPv6 UDP", { .v6 = 1, .src = CL6, .dst = SV6, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK, .proto = 17 }, 0, ports, NPORTS, 0 },
	{ "IPv4 ICMP", { .src = CL4, .dst = SV4, .proto = 1 }, 0, ports, NPORTS, 0 },
	{ "ARP", { .src = CL4, .dst = SV4, .sport = CPORT, .dport = 25,
	  .flags = SCR_TCP_ACK }, 1, ports, NPORTS, 0 },
	{ "IPv4 fragment", { .src = CL4, .dst = SV4, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK, .frag = 1 }, 0, ports, NPORTS, 0 },
	{ "IPv6 fragment", { .v6 = 1, .src = CL6, .dst = SV6, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK, .frag = 1 }, 0, ports, NPORTS, 0 },
	{ "TCP data offset 4", { .src = CL4, .dst = SV4, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK, .tcp_doff = 4 }, 0, ports, NPORTS, 0 },
	{ "neither port screened", { .src = CL4, .dst = SV4, .sport = CPORT,
	  .dport = 80, .flags = SCR_TCP_ACK }, 0, ports, NPORTS, 0 },
	{ "neither port screened, IPv6", { .v6 = 1, .src = CL6, .dst = SV6,
	  .sport = 443, .dport = CPORT, .flags = SCR_TCP_ACK }, 0, ports, NPORTS, 0 },
	{ "no ports", { .src = CL4, .dst = SV4, .sport = CPORT, .dport = 25,
	  .flags = SCR_TCP_ACK }, 0, NULL, NPORTS, 0 },
	{ "zero ports", { .src = CL4, .dst = SV4, .sport = CPORT, .dport = 25,
	  .flags = SCR_TCP_ACK }, 0, ports, 0, 0 },
	{ "reply one byte too long", { .src = CL4, .dst = SV4, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK }, 0, ports, NPORTS,
	  DP_CRAFT_REPLY_MAX + 1 },
	{ "reply far too long", { .v6 = 1, .src = CL6, .dst = SV6, .sport = CPORT,
	  .dport = 25, .flags = SCR_TCP_ACK }, 0, ports, NPORTS, 1000 },
};

static void test_bad_input(void **state)
{
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	char reply[1100];
	uint8_t b[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint32_t len = pb_build(b, &c->spec);
		int rc;

		if (c->arp) {
			unsigned et = 12 + 4 * (unsigned)c->spec.vlans;

			b[et] = 0x08;
			b[et + 1] = 0x06;
		}
		if (c->reply_len) {
			memset(reply, 'x', c->reply_len - 2);
			memcpy(reply + c->reply_len - 2, "\r\n", 3);
		}
		rc = dp_craft_stop(b, len, c->ports, c->nports,
				   c->reply_len ? reply : NULL, out);
		if (rc != -EINVAL)
			fail_msg("%s: got %d, want -EINVAL", c->label, rc);
	}
}

/* ---------------------------------------------------------------- */
/* The table of stopped frames */

struct exp_seg {
	uint8_t dst;		/* enum dp_craft_dst */
	uint8_t back;		/* back to the stopped frame's sender: MACs swapped */
	uint8_t flags;
	uint32_t seq, ack;
	uint8_t data;		/* carries the reply */
};

struct stop_case {
	const char *label;
	int v6;
	int vlans;
	int qinq;		/* first tag is 802.1ad (0x88a8) */
	int ip_opts;		/* IPv4 option bytes in the input */
	int from_client;
	uint16_t server_port;
	uint8_t flags;
	uint32_t seq, ack;
	const char *payload;
	const char *reply;
	int n;
	struct exp_seg seg[DP_CRAFT_STOP_MAX];
};

#define TS DP_CRAFT_TO_SERVER
#define TC DP_CRAFT_TO_CLIENT
#define RA (SCR_TCP_RST | SCR_TCP_ACK)
#define PA (SCR_TCP_PSH | SCR_TCP_ACK)
#define R SCR_TCP_RST
#define A SCR_TCP_ACK

/* A DNSBL reply at the maximum length, for the largest frame. */
static char long_reply[DP_CRAFT_REPLY_MAX + 1];

static const struct stop_case stop_cases[] = {
	{ "client SYN (no ACK): nothing established", 0, 0, 0, 0, 1, 25,
	  SCR_TCP_SYN, 1000, 0, NULL, reply521, 0, { { 0 } } },
	{ "client SYN, IPv6, 1 VLAN", 1, 1, 0, 0, 1, 25,
	  SCR_TCP_SYN, 1000, 0, NULL, NULL, 0, { { 0 } } },
	{ "client data, IPv4, no reply", 0, 0, 0, 0, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", NULL, 2, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, RA, 5000, 1008, 0 } } },
	{ "client data, IPv4, reply", 0, 0, 0, 0, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1008, 1 },
	  { TC, 1, RA, 5026, 1008, 0 } } },
	{ "client data, IPv4 options in the input, reply", 0, 0, 0, 8, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1008, 1 },
	  { TC, 1, RA, 5026, 1008, 0 } } },
	{ "client data, IPv4, 1 VLAN, port 587, reply", 0, 1, 0, 0, 1, 587,
	  PA, 1000, 5000, "GET / HTTP/1.0\r\n", reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1016, 1 },
	  { TC, 1, RA, 5026, 1016, 0 } } },
	{ "client data, IPv4, 2 VLANs (QinQ), reply", 0, 2, 1, 0, 1, 25,
	  PA, 1000, 5000, "x", reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1001, 1 },
	  { TC, 1, RA, 5026, 1001, 0 } } },
	{ "client data, IPv6, no reply", 1, 0, 0, 0, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", NULL, 2, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, RA, 5000, 1008, 0 } } },
	{ "client data, IPv6, 2 VLANs, reply", 1, 2, 0, 0, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1008, 1 },
	  { TC, 1, RA, 5026, 1008, 0 } } },
	{ "client data, IPv6, 4 VLANs, longest reply", 1, 4, 1, 0, 1, 25,
	  PA, 1000, 5000, "EHLO x\r\n", long_reply, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1008, 1 },
	  { TC, 1, RA, 5000 + DP_CRAFT_REPLY_MAX, 1008, 0 } } },
	{ "client pure ACK, empty reply is none", 0, 0, 0, 0, 1, 25,
	  A, 1000, 5000, NULL, "", 2, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, RA, 5000, 1000, 0 } } },
	{ "client FIN (+1), reply", 0, 0, 0, 0, 1, 25,
	  SCR_TCP_FIN | A, 1000, 5000, NULL, reply521, 3, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, PA, 5000, 1001, 1 },
	  { TC, 1, RA, 5026, 1001, 0 } } },
	{ "client data + FIN, IPv6", 1, 0, 0, 0, 1, 25,
	  SCR_TCP_FIN | PA, 1000, 5000, "QUIT\r\n", NULL, 2, {
	  { TS, 0, RA, 1000, 5000, 0 },
	  { TC, 1, RA, 5000, 1007, 0 } } },
	{ "client data, sequence wraps", 0, 0, 0, 0, 1, 25,
	  PA, 0xfffffffcu, 0xfffffff0u, "EHLO x\r\n", reply521, 3, {
	  { TS, 0, RA, 0xfffffffcu, 0xfffffff0u, 0 },
	  { TC, 1, PA, 0xfffffff0u, 4, 1 },
	  { TC, 1, RA, 10, 4, 0 } } },
	{ "client data without ACK: RST to the server only", 0, 0, 0, 0, 1, 25,
	  SCR_TCP_PSH, 1000, 0, "EHLO x\r\n", reply521, 1, {
	  { TS, 0, R, 1000, 0, 0 } } },
	{ "client RST|ACK: the RST goes on, nothing back", 0, 0, 0, 0, 1, 25,
	  RA, 1000, 5000, NULL, reply521, 1, {
	  { TS, 0, RA, 1000, 5000, 0 } } },
	{ "server data, IPv4, no reply", 0, 0, 0, 0, 0, 25,
	  PA, 1000, 5000, "220 mx ESMTP\r\n", NULL, 3, {
	  { TS, 1, RA, 5000, 1014, 0 },
	  { TC, 0, RA, 1000, 5000, 0 },
	  { TC, 0, RA, 1014, 5000, 0 } } },	/* the client has it already */
	{ "server data, IPv4, 1 VLAN, reply", 0, 1, 0, 0, 0, 25,
	  PA, 1000, 5000, "250 ok\r\n", reply521, 4, {
	  { TS, 1, RA, 5000, 1008, 0 },
	  { TC, 0, PA, 1000, 5000, 1 },
	  { TC, 0, RA, 1026, 5000, 0 },
	  { TC, 0, RA, 1008, 5000, 0 } } },
	{ "server data, IPv6, 2 VLANs, reply", 1, 2, 0, 0, 0, 587,
	  PA, 1000, 5000, "250 ok\r\n", reply521, 4, {
	  { TS, 1, RA, 5000, 1008, 0 },
	  { TC, 0, PA, 1000, 5000, 1 },
	  { TC, 0, RA, 1026, 5000, 0 },
	  { TC, 0, RA, 1008, 5000, 0 } } },
	{ "server FIN (+1), IPv6, reply", 1, 0, 0, 0, 0, 25,
	  SCR_TCP_FIN | A, 1000, 5000, NULL, reply521, 4, {
	  { TS, 1, RA, 5000, 1001, 0 },
	  { TC, 0, PA, 1000, 5000, 1 },
	  { TC, 0, RA, 1026, 5000, 0 },
	  { TC, 0, RA, 1001, 5000, 0 } } },
	{ "server SYN|ACK (+1): no reply to a client in SYN-SENT", 0, 0, 0, 0, 0, 25,
	  SCR_TCP_SYN | A, 1000, 5000, NULL, reply521, 2, {
	  { TS, 1, RA, 5000, 1001, 0 },
	  { TC, 0, RA, 1000, 5000, 0 } } },
	{ "server SYN without ACK: RST to the client only", 0, 0, 0, 0, 0, 25,
	  SCR_TCP_SYN, 1000, 0, NULL, reply521, 1, {
	  { TC, 0, R, 1000, 0, 0 } } },
	{ "server RST: the RST goes on, nothing back", 1, 0, 0, 0, 0, 25,
	  R, 1000, 0, NULL, NULL, 1, {
	  { TC, 0, R, 1000, 0, 0 } } },
};

/* addr_bytes - a case's address as on the wire (4 or 16 bytes) */
static void addr_bytes(int v6, const char *text, uint8_t *out)
{
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, text, out), 1);
}

/* check_frame - every field of one output frame against the table */
static void check_frame(const struct stop_case *c, const uint8_t *in,
			const struct dp_craft_frame *f, const struct exp_seg *e,
			unsigned j)
{
	uint32_t l2 = 14 + 4 * (uint32_t)c->vlans, iph = c->v6 ? 40 : 20;
	uint32_t dlen = e->data ? (uint32_t)strlen(c->reply) : 0;
	uint32_t tcp_len = 20 + dlen, want_len = l2 + iph + tcp_len, i;
	int to_server = e->dst == TS;
	uint8_t src[16], dst[16], ph[40];
	const uint8_t *ip = f->data + l2, *tcp = ip + iph;
	struct scr_pkt pk;
	uint64_t s;

	if (want_len < 60)
		want_len = 60;
	assert_int_equal(f->dst, e->dst);
	assert_int_equal(f->len, want_len);
	/* L2: MACs swapped when going back, tags and ethertype as they were */
	assert_memory_equal(f->data, e->back ? mac_src : mac_dst, 6);
	assert_memory_equal(f->data + 6, e->back ? mac_dst : mac_src, 6);
	assert_memory_equal(f->data + 12, in + 12, l2 - 12);
	/* L3 */
	addr_bytes(c->v6, to_server ? (c->v6 ? CL6 : CL4) : (c->v6 ? SV6 : SV4), src);
	addr_bytes(c->v6, to_server ? (c->v6 ? SV6 : SV4) : (c->v6 ? CL6 : CL4), dst);
	if (!c->v6) {
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], 0);
		assert_int_equal(be16(ip + 2), 20 + tcp_len);
		assert_int_equal(be16(ip + 4), 0);
		assert_int_equal(be16(ip + 6), 0x4000);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 6);
		assert_memory_equal(ip + 12, src, 4);
		assert_memory_equal(ip + 16, dst, 4);
		assert_int_equal(fold(sum16(ip, 20)), 0xffff);
		/* pseudo-header */
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = (uint8_t)(tcp_len >> 8);
		ph[11] = (uint8_t)tcp_len;
		s = sum16(ph, 12);
	} else {
		assert_int_equal(be32(ip), 0x60000000u);
		assert_int_equal(be16(ip + 4), tcp_len);
		assert_int_equal(ip[6], 6);
		assert_int_equal(ip[7], 64);
		assert_memory_equal(ip + 8, src, 16);
		assert_memory_equal(ip + 24, dst, 16);
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		memset(ph + 32, 0, 8);
		ph[34] = (uint8_t)(tcp_len >> 8);
		ph[35] = (uint8_t)tcp_len;
		ph[39] = 6;
		s = sum16(ph, 40);
	}
	/* L4 */
	assert_int_equal(be16(tcp), to_server ? CPORT : c->server_port);
	assert_int_equal(be16(tcp + 2), to_server ? c->server_port : CPORT);
	if (be32(tcp + 4) != e->seq || be32(tcp + 8) != e->ack)
		fail_msg("%s: frame %u: seq %u ack %u, want %u %u", c->label, j,
			 be32(tcp + 4), be32(tcp + 8), e->seq, e->ack);
	assert_int_equal(tcp[12], 0x50);
	assert_int_equal(tcp[13], e->flags);
	assert_int_equal(be16(tcp + 14), 0);
	assert_int_equal(be16(tcp + 18), 0);
	if (dlen)
		assert_memory_equal(tcp + 20, c->reply, dlen);
	assert_int_equal(fold(s + sum16(tcp, tcp_len)), 0xffff);
	for (i = l2 + iph + tcp_len; i < f->len; i++)
		assert_int_equal(f->data[i], 0);	/* padding */
	/* The engine's decoder reads it back the same. */
	assert_int_equal(scr_decode(SCR_LINK_ETH, f->data, f->len, &pk), SCR_DEC_TCP);
	assert_int_equal(pk.family, c->v6 ? 6 : 4);
	assert_int_equal(pk.vlans, c->vlans);
	assert_memory_equal(c->v6 ? pk.src.b : pk.src.b + 12, src, c->v6 ? 16 : 4);
	assert_memory_equal(c->v6 ? pk.dst.b : pk.dst.b + 12, dst, c->v6 ? 16 : 4);
	assert_int_equal(pk.sport, be16(tcp));
	assert_int_equal(pk.dport, be16(tcp + 2));
	assert_int_equal(pk.seq, e->seq);
	assert_int_equal(pk.ack, e->ack);
	assert_int_equal(pk.flags, e->flags);
	assert_int_equal(pk.payload_len, dlen);
	assert_int_equal(pk.truncated, 0);
}

/* stop_input - the case's stopped frame */
static uint32_t stop_input(const struct stop_case *c, uint8_t *b)
{
	struct pb_spec s;
	uint32_t len;

	memset(&s, 0, sizeof(s));
	s.v6 = c->v6;
	s.src = c->from_client ? (c->v6 ? CL6 : CL4) : (c->v6 ? SV6 : SV4);
	s.dst = c->from_client ? (c->v6 ? SV6 : SV4) : (c->v6 ? CL6 : CL4);
	s.sport = c->from_client ? CPORT : c->server_port;
	s.dport = c->from_client ? c->server_port : CPORT;
	s.seq = c->seq;
	s.ack = c->ack;
	s.flags = c->flags;
	s.payload = c->payload;
	s.plen = c->payload ? (uint32_t)strlen(c->payload) : 0;
	s.vlans = c->vlans;
	s.ip_opts = c->ip_opts;
	len = pb_build(b, &s);
	if (c->qinq) {
		b[12] = 0x88;
		b[13] = 0xa8;
	}
	return len;
}

/* fill_long_reply - a reply of exactly DP_CRAFT_REPLY_MAX bytes */
static void fill_long_reply(void)
{
	memset(long_reply, 'y', DP_CRAFT_REPLY_MAX - 2);
	memcpy(long_reply + DP_CRAFT_REPLY_MAX - 2, "\r\n", 3);
}

static void test_stop_table(void **state)
{
	size_t i;

	(void)state;
	fill_long_reply();
	for (i = 0; i < sizeof(stop_cases) / sizeof(stop_cases[0]); i++) {
		const struct stop_case *c = &stop_cases[i];
		struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
		uint8_t in[256];
		uint32_t len = stop_input(c, in);
		int n, j;

		memset(out, 0xa5, sizeof(out));
		n = dp_craft_stop(in, len, ports, NPORTS, c->reply, out);
		if (n != c->n)
			fail_msg("%s: %d frames, want %d", c->label, n, c->n);
		for (j = 0; j < n; j++)
			check_frame(c, in, &out[j], &c->seg[j], (unsigned)j);
	}
}

/* Ethernet padding after the IP packet is not payload. */
static void test_padded_input(void **state)
{
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	uint8_t b[256];
	uint32_t len = frame(b, 0, 0, 1, SCR_TCP_ACK, NULL);	/* 54 bytes */

	(void)state;
	memset(b + len, 0xee, 60 - len);
	assert_int_equal(dp_craft_stop(b, 60, ports, NPORTS, NULL, out), 2);
	assert_int_equal(be32(out[1].data + 14 + 20 + 8), 1000);	/* ack = S */
}

/* ---------------------------------------------------------------- */
/* Reply texts */

struct reply_case {
	const char *label;
	enum scr_test test;
	enum scr_action act;
	const char *client;	/* NULL: none */
	const char *dnsbl;
	size_t cap;
	int rc;			/* the length, or -errno */
	const char *want;
};

#define NAME63 "abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij.example"

static const struct reply_case reply_cases[] = {
	{ "ignore stops nothing", SCR_TEST_PREGREET, SCR_ACT_IGNORE, CL4, NULL,
	  128, -EINVAL, "" },
	{ "DNSBL without client", SCR_TEST_DNSBL, SCR_ACT_DROP, NULL, "bl.example",
	  128, -EINVAL, "" },
	{ "DNSBL name with CRLF", SCR_TEST_DNSBL, SCR_ACT_DROP, CL4,
	  "bl.example\r\n250 ok", 128, -EINVAL, "" },
	{ "DNSBL name with a space", SCR_TEST_DNSBL, SCR_ACT_DROP, CL4,
	  "bl example", 128, -EINVAL, "" },
	{ "DNSBL empty name", SCR_TEST_DNSBL, SCR_ACT_DROP, CL4, "", 128, -EINVAL, "" },
	{ "no room", SCR_TEST_PREGREET, SCR_ACT_DROP, CL4, NULL, 0, -ENOSPC, NULL },
	{ "room for the text but not the NUL", SCR_TEST_PREGREET, SCR_ACT_DROP,
	  CL4, NULL, 26, -ENOSPC, "" },
	{ "DNSBL too long for the worker's buffer", SCR_TEST_DNSBL, SCR_ACT_DROP,
	  "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", NAME63, DP_CRAFT_REPLY_MAX,
	  -ENOSPC, "" },
	{ "pregreet drop", SCR_TEST_PREGREET, SCR_ACT_DROP, CL4, NULL, 27, 26,
	  "521 5.5.1 Protocol error\r\n" },
	{ "pregreet enforce", SCR_TEST_PREGREET, SCR_ACT_ENFORCE, CL4, NULL, 128, 26,
	  "550 5.5.1 Protocol error\r\n" },
	{ "bare newline drop", SCR_TEST_BARE_NEWLINE, SCR_ACT_DROP, CL4, NULL, 128, 26,
	  "521 5.5.1 Protocol error\r\n" },
	{ "bare newline enforce", SCR_TEST_BARE_NEWLINE, SCR_ACT_ENFORCE, NULL, NULL,
	  128, 26, "550 5.5.1 Protocol error\r\n" },
	{ "pipelining drop", SCR_TEST_PIPELINING, SCR_ACT_DROP, CL4, NULL, 128, 26,
	  "521 5.5.1 Protocol error\r\n" },
	{ "pipelining enforce", SCR_TEST_PIPELINING, SCR_ACT_ENFORCE, CL4, NULL, 128, 26,
	  "550 5.5.1 Protocol error\r\n" },
	{ "non-SMTP drop", SCR_TEST_NON_SMTP, SCR_ACT_DROP, CL4, NULL, 128, 51,
	  "521 5.7.0 Error: I can break rules, too. Goodbye.\r\n" },
	{ "non-SMTP enforce", SCR_TEST_NON_SMTP, SCR_ACT_ENFORCE, CL4, NULL, 128, 26,
	  "550 5.5.1 Protocol error\r\n" },
	{ "HELO drop: Protocol error", SCR_TEST_HELO, SCR_ACT_DROP, CL4, NULL, 128, 26,
	  "521 5.5.1 Protocol error\r\n" },
	{ "HELO enforce: Protocol error", SCR_TEST_HELO, SCR_ACT_ENFORCE, CL4, NULL,
	  128, 26, "550 5.5.1 Protocol error\r\n" },
	{ "access reject drop", SCR_TEST_ACCESS, SCR_ACT_DROP, CL4, NULL, 128, 41,
	  "521 5.3.2 Service currently unavailable\r\n" },
	{ "access reject enforce", SCR_TEST_ACCESS, SCR_ACT_ENFORCE, CL4, NULL, 128, 41,
	  "550 5.3.2 Service currently unavailable\r\n" },
	{ "DNSBL drop IPv4", SCR_TEST_DNSBL, SCR_ACT_DROP, "127.0.0.40",
	  "public-bl.example", 128, 84,
	  "521 5.7.1 Service unavailable; client [127.0.0.40] blocked using public-bl.example\r\n" },
	{ "DNSBL enforce IPv4", SCR_TEST_DNSBL, SCR_ACT_ENFORCE, CL4,
	  "zen.spamhaus.org", 128, 84,
	  "550 5.7.1 Service unavailable; client [198.18.0.10] blocked using zen.spamhaus.org\r\n" },
	{ "DNSBL drop IPv6", SCR_TEST_DNSBL, SCR_ACT_DROP, CL6, "bl.example", 128, 79,
	  "521 5.7.1 Service unavailable; client [2001:db8::10] blocked using bl.example\r\n" },
	{ "DNSBL without name", SCR_TEST_DNSBL, SCR_ACT_DROP, CL4, NULL, 128, 83,
	  "521 5.7.1 Service unavailable; client [198.18.0.10] blocked using a DNS blocklist\r\n" },
	{ "DNSBL longest that fits the worker's buffer", SCR_TEST_DNSBL,
	  SCR_ACT_DROP, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	  "abcdefghij.abcdefghij.ab.example", DP_CRAFT_REPLY_MAX, 127,
	  "521 5.7.1 Service unavailable; client [2001:db8:ffff:ffff:ffff:ffff:ffff:ffff] "
	  "blocked using abcdefghij.abcdefghij.ab.example\r\n" },
};

static void test_reply_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct scr_addr a, *ap = NULL;
		char buf[300];
		int rc;

		memset(&a, 0, sizeof(a));
		if (c->client != NULL) {
			if (strchr(c->client, ':') != NULL) {
				assert_int_equal(inet_pton(AF_INET6, c->client, a.b), 1);
			} else {
				a.b[10] = a.b[11] = 0xff;
				assert_int_equal(inet_pton(AF_INET, c->client, a.b + 12), 1);
			}
			ap = &a;
		}
		memset(buf, '#', sizeof(buf));
		rc = dp_craft_reply(c->test, c->act, ap, c->dnsbl, buf, c->cap);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->label, rc, c->rc);
		if (rc > 0) {
			assert_int_equal(strlen(buf), (size_t)rc);
			if (strcmp(buf, c->want) != 0)
				fail_msg("%s: got \"%s\"", c->label, buf);
		} else if (rc == -ENOSPC && c->cap > 0) {
			assert_string_equal(buf, "");
		}
		/* Never past cap. */
		assert_int_equal(buf[c->cap], '#');
	}
}

/* test_limit_reply - postscreen's 421 for COMMAND COUNT/LENGTH LIMIT;
 * a host name that does not fit or is not printable gives none */
static void test_limit_reply(void **state)
{
	char buf[DP_CRAFT_REPLY_MAX];

	(void)state;
	assert_int_equal(dp_craft_limit_reply("mx.example.test", buf, sizeof(buf)), 59);
	assert_string_equal(buf, "421 mx.example.test Service unavailable - try again later\r\n");
	memset(buf, '#', sizeof(buf));
	assert_int_equal(dp_craft_limit_reply("mx.example.test", buf, 59), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(dp_craft_limit_reply("mx.example.test", buf, 60), 59);
	assert_int_equal(dp_craft_limit_reply("mx example", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dp_craft_limit_reply("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dp_craft_limit_reply(NULL, buf, sizeof(buf)), -EINVAL);
}

/* A reply from dp_craft_reply goes into dp_craft_stop as it is. */
static void test_reply_into_stop(void **state)
{
	struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
	char reply[DP_CRAFT_REPLY_MAX];
	struct scr_addr a;
	uint8_t b[256];
	uint32_t len = frame(b, 1, 4, 1, SCR_TCP_ACK | SCR_TCP_PSH, "MAIL FROM:<a@b>\r\n");
	int r;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", a.b), 1);
	r = dp_craft_reply(SCR_TEST_DNSBL, SCR_ACT_DROP, &a,
			   "abcdefghij.abcdefghij.ab.example",
			   reply, sizeof(reply));
	assert_int_equal(r, 127);
	assert_int_equal(dp_craft_stop(b, len, ports, NPORTS, reply, out), 3);
	assert_int_equal(out[1].len, 14 + 16 + 40 + 20 + 127);
	assert_memory_equal(out[1].data + 14 + 16 + 60, reply, 127);
	assert_int_equal(be32(out[2].data + 14 + 16 + 40 + 4), 5000 + 127);
}

/* ---------------------------------------------------------------- */
/* scapy: an outside implementation reads the frames */

/* pcap_put - append one record */
static void pcap_put(FILE *f, const uint8_t *d, uint32_t len)
{
	uint32_t h[4] = { 0, 0, len, len };

	assert_int_equal(fwrite(h, sizeof(h), 1, f), 1);
	assert_int_equal(fwrite(d, len, 1, f), 1);
}

static const char scapy_check[] =
	"import sys\n"
	"from scapy.all import rdpcap, Ether, IP, TCP\n"
	"bad = 0\n"
	"pk = rdpcap(sys.argv[1])\n"
	"for i, p in enumerate(pk):\n"
	"    q = Ether(bytes(p))\n"
	"    if IP in q:\n"
	"        if q[IP].ihl != 5 or q[IP].options or q[IP].flags != 'DF':\n"
	"            bad += 1; print(i, 'ip header')\n"
	"        del q[IP].chksum\n"
	"    del q[TCP].chksum\n"
	"    r = Ether(bytes(q))\n"
	"    if IP in r and r[IP].chksum != p[IP].chksum:\n"
	"        bad += 1; print(i, 'ip checksum')\n"
	"    if r[TCP].chksum != p[TCP].chksum:\n"
	"        bad += 1; print(i, 'tcp checksum')\n"
	"    if p[TCP].dataofs != 5 or p[TCP].window != 0:\n"
	"        bad += 1; print(i, 'tcp header')\n"
	"sys.exit(1 if bad or len(pk) == 0 else 0)\n";

static void test_scapy(void **state)
{
	char dir[] = "/tmp/dp_craft_test.XXXXXX", pcap[64], py[64];
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	unsigned total = 0;
	FILE *f;
	size_t i;
	int st, k;

	(void)state;
	fill_long_reply();
	assert_non_null(mkdtemp(dir));
	snprintf(pcap, sizeof(pcap), "%s/out.pcap", dir);
	snprintf(py, sizeof(py), "%s/check.py", dir);
	f = fopen(pcap, "wb");
	assert_non_null(f);
	/* magic, version 2.4, zone, sigfigs, snaplen, DLT_EN10MB */
	assert_int_equal(fwrite(gh, 4, 6, f), 6);
	for (i = 0; i < sizeof(stop_cases) / sizeof(stop_cases[0]); i++) {
		struct dp_craft_frame out[DP_CRAFT_STOP_MAX];
		uint8_t in[256];
		uint32_t len = stop_input(&stop_cases[i], in);
		int n = dp_craft_stop(in, len, ports, NPORTS, stop_cases[i].reply, out);

		for (k = 0; k < n; k++, total++)
			pcap_put(f, out[k].data, out[k].len);
	}
	assert_int_equal(fclose(f), 0);
	f = fopen(py, "w");
	assert_non_null(f);
	fputs(scapy_check, f);
	assert_int_equal(fclose(f), 0);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", py, pcap);
		st = system(cmd);
	}
	unlink(pcap);
	unlink(py);
	rmdir(dir);
	assert_true(total > 30);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_stop_table),
		cmocka_unit_test(test_padded_input),
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_limit_reply),
		cmocka_unit_test(test_reply_into_stop),
		cmocka_unit_test(test_scapy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
