/* SPDX-License-Identifier: BSD-3-Clause */
/* scr_decode_test - table-driven tests of the L2-L4 decoder */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktbuild.h"
#include "scr_decode.h"

struct dcase {
	const char *label;
	struct pb_spec spec;
	int cut;		/* bytes removed from the end (truncation) */
	int pad;		/* bytes of Ethernet padding added */
	enum scr_dec_status want;
	uint32_t want_plen;
	uint8_t want_trunc;
};

static const char pl[] = "EHLO client.example\r\n";
#define V4 .src = "198.18.0.10", .dst = "198.19.255.1"
#define V6 .v6 = 1, .src = "2001:db8::10", .dst = "2001:db8::1"

static const struct dcase cases[] = {
	/* bad input first */
	{"empty frame", {V4}, 54, 0, SCR_DEC_TRUNC_L2, 0, 0},
	{"cut inside ethernet", {V4}, 45, 0, SCR_DEC_TRUNC_L2, 0, 0},
	{"cut inside ipv4 header", {V4}, 30, 0, SCR_DEC_TRUNC_L3, 0, 0},
	{"cut inside tcp header", {V4}, 10, 0, SCR_DEC_TRUNC_L4, 0, 0},
	{"cut inside ipv6 header", {V6}, 40, 0, SCR_DEC_TRUNC_L3, 0, 0},
	{"cut inside ipv6 ext header", {V6, .v6_ext = 1}, 24, 0, SCR_DEC_TRUNC_L3, 0, 0},
	{"tcp data offset 4", {V4, .tcp_doff = 4}, 0, 0, SCR_DEC_BAD_TCP, 0, 0},
	{"ipv4 fragment", {V4, .frag = 1, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_FRAGMENT, 0, 0},
	{"ipv6 fragment", {V6, .frag = 1, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_FRAGMENT, 0, 0},
	{"udp", {V4, .proto = 17}, 0, 0, SCR_DEC_NOT_TCP, 0, 0},
	{"icmpv6", {V6, .proto = 58}, 0, 0, SCR_DEC_NOT_TCP, 0, 0},
	{"five vlan tags", {V4, .vlans = 5}, 0, 0, SCR_DEC_BAD_LINK, 0, 0},
	/* good input */
	{"ipv4 syn", {V4, .sport = 40000, .dport = 25, .flags = 2}, 0, 0, SCR_DEC_TCP, 0, 0},
	{"ipv4 payload", {V4, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"ipv4 payload with padding", {V4, .payload = "QUIT", .plen = 2}, 0, 6, SCR_DEC_TCP, 2, 0},
	{"ipv4 options", {V4, .ip_opts = 8, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"ipv4 payload cut by snaplen", {V4, .payload = pl, .plen = 21}, 5, 0, SCR_DEC_TCP, 16, 1},
	{"802.1q", {V4, .vlans = 1, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"qinq", {V4, .vlans = 2, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"ipv6", {V6, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"ipv6 two hop-by-hop headers", {V6, .v6_ext = 2, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
	{"ipv6 nine extension headers", {V6, .v6_ext = 9}, 0, 0, SCR_DEC_BAD_IP, 0, 0},
	{"tcp options", {V4, .tcp_doff = 8, .payload = pl, .plen = 21}, 0, 0, SCR_DEC_TCP, 21, 0},
};

/* test_table - every case, and never a read past caplen (ASan checks) */
static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		uint8_t buf[2048];
		struct scr_pkt pk;
		uint32_t len = pb_build(buf, &c->spec);
		uint8_t *exact;
		enum scr_dec_status st;

		memset(buf + len, 0, (size_t)c->pad);
		len += (uint32_t)c->pad;
		len -= (uint32_t)c->cut;
		/* Copy to a heap block of exactly len bytes. */
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		st = scr_decode(SCR_LINK_ETH, exact, len, &pk);
		if (st != c->want)
			fail_msg("%s: status %s, want %s", c->label,
				 scr_dec_status_name[st], scr_dec_status_name[c->want]);
		if (st == SCR_DEC_TCP) {
			if (pk.payload_len != c->want_plen || pk.truncated != c->want_trunc)
				fail_msg("%s: payload %u trunc %u, want %u %u", c->label,
					 pk.payload_len, pk.truncated, c->want_plen,
					 c->want_trunc);
			assert_int_equal(pk.vlans, c->spec.vlans);
		}
		free(exact);
	}
}

/* test_fields - addresses, ports, seq, flags of an IPv4 and an IPv6 segment */
static void test_fields(void **state)
{
	struct pb_spec s4 = {V4, .sport = 40001, .dport = 25, .seq = 0xfffffff0u,
			     .ack = 7, .flags = 0x18, .payload = pl, .plen = 21};
	struct pb_spec s6 = {V6, .sport = 25, .dport = 50000, .seq = 1, .flags = 0x12};
	static const uint8_t v4[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,198,18,0,10};
	uint8_t buf[256];
	struct scr_pkt pk;
	uint32_t n;

	(void)state;
	n = pb_build(buf, &s4);
	assert_int_equal(scr_decode(SCR_LINK_ETH, buf, n, &pk), SCR_DEC_TCP);
	assert_int_equal(pk.family, 4);
	assert_memory_equal(pk.src.b, v4, 16);
	assert_int_equal(pk.sport, 40001);
	assert_int_equal(pk.dport, 25);
	assert_int_equal(pk.seq, 0xfffffff0u);
	assert_int_equal(pk.ack, 7);
	assert_int_equal(pk.flags, 0x18);
	assert_memory_equal(pk.payload, pl, 21);

	n = pb_build(buf, &s6);
	assert_int_equal(scr_decode(SCR_LINK_ETH, buf, n, &pk), SCR_DEC_TCP);
	assert_int_equal(pk.family, 6);
	assert_int_equal(pk.src.b[0], 0x20);
	assert_int_equal(pk.src.b[15], 0x10);
	assert_int_equal(pk.flags, 0x12);
	assert_int_equal(pk.payload_len, 0);
}

/* test_links - the same IPv4 segment behind each link type */
static void test_links(void **state)
{
	struct pb_spec s = {V4, .payload = pl, .plen = 21};
	uint8_t eth[256], f[256];
	struct scr_pkt pk;
	uint32_t n = pb_build(eth, &s), ip = n - 14;
	uint32_t fam = 2;

	(void)state;
	/* raw */
	assert_int_equal(scr_decode(SCR_LINK_RAW, eth + 14, ip, &pk), SCR_DEC_TCP);
	assert_int_equal(pk.payload_len, 21);
	/* SLL: protocol at 14 */
	memset(f, 0, 16);
	f[14] = 0x08;
	memcpy(f + 16, eth + 14, ip);
	assert_int_equal(scr_decode(SCR_LINK_SLL, f, ip + 16, &pk), SCR_DEC_TCP);
	assert_int_equal(scr_decode(SCR_LINK_SLL, f, 15, &pk), SCR_DEC_TRUNC_L2);
	/* SLL2: protocol at 0 */
	memset(f, 0, 20);
	f[0] = 0x08;
	memcpy(f + 20, eth + 14, ip);
	assert_int_equal(scr_decode(SCR_LINK_SLL2, f, ip + 20, &pk), SCR_DEC_TCP);
	/* BSD loopback */
	memcpy(f, &fam, 4);
	memcpy(f + 4, eth + 14, ip);
	assert_int_equal(scr_decode(SCR_LINK_NULL, f, ip + 4, &pk), SCR_DEC_TCP);
	fam = 99;
	memcpy(f, &fam, 4);
	assert_int_equal(scr_decode(SCR_LINK_NULL, f, ip + 4, &pk), SCR_DEC_NOT_IP);
	/* ARP */
	eth[12] = 0x08;
	eth[13] = 0x06;
	assert_int_equal(scr_decode(SCR_LINK_ETH, eth, n, &pk), SCR_DEC_NOT_IP);
	assert_int_equal(scr_decode(SCR_LINK_MAX, eth, n, &pk), SCR_DEC_BAD_LINK);
}

/* test_ipv4_lengths - total length smaller than the header, bad version */
static void test_ipv4_lengths(void **state)
{
	struct pb_spec s = {V4, .payload = pl, .plen = 21};
	uint8_t b[256];
	struct scr_pkt pk;
	uint32_t n;

	(void)state;
	n = pb_build(b, &s);
	b[14] = 0x44;			/* ihl 4 */
	assert_int_equal(scr_decode(SCR_LINK_ETH, b, n, &pk), SCR_DEC_BAD_IP);
	n = pb_build(b, &s);
	b[14 + 2] = 0; b[14 + 3] = 10;	/* total length < ihl */
	assert_int_equal(scr_decode(SCR_LINK_ETH, b, n, &pk), SCR_DEC_BAD_IP);
	n = pb_build(b, &s);
	b[14] = 0x55;			/* version 5 */
	assert_int_equal(scr_decode(SCR_LINK_ETH, b, n, &pk), SCR_DEC_BAD_IP);
	n = pb_build(b, &s);
	b[14 + 20 + 12] = 0xf0;		/* data offset 60 > the 41 TCP bytes */
	assert_int_equal(scr_decode(SCR_LINK_ETH, b, n, &pk), SCR_DEC_BAD_TCP);
	n = pb_build(b, &s);
	b[14 + 2] = 0; b[14 + 3] = 45;	/* total length cuts the payload */
	assert_int_equal(scr_decode(SCR_LINK_ETH, b, n, &pk), SCR_DEC_TCP);
	assert_int_equal(pk.payload_len, 5);
	assert_int_equal(pk.truncated, 0);
}

/* same_pkt - a and b (decoded from copies of one IP packet at ia, ib)
 * say the same */
static void same_pkt(const char *what, const struct scr_pkt *a, const uint8_t *ia,
		     const struct scr_pkt *b, const uint8_t *ib)
{
	if (a->payload - ia != b->payload - ib || a->payload_len != b->payload_len ||
	    a->truncated != b->truncated || a->seq != b->seq || a->ack != b->ack ||
	    a->sport != b->sport || a->dport != b->dport || a->flags != b->flags ||
	    a->family != b->family || memcmp(&a->src, &b->src, sizeof(a->src)) ||
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)))
		fail_msg("%s: Ethernet and raw IP decode differ", what);
}

/* test_ipv4_fast_path - plain Ethernet + IPv4 + TCP frames take a
 * straight-line path of their own: at every cut, total length, data
 * offset, header length and fragment bits, it must say what the general
 * path (the same IP packet as LINKTYPE_RAW) says */
static void test_ipv4_fast_path(void **state)
{
	static const uint16_t tots[] = {0, 19, 20, 39, 40, 41, 59, 60, 61, 80, 81, 500};
	struct pb_spec s = {V4, .sport = 40002, .dport = 25, .seq = 9, .ack = 11,
			    .flags = 0x18, .payload = pl, .plen = 21};
	uint8_t b[256];
	uint32_t n = pb_build(b, &s), checked = 0;

	(void)state;
	for (unsigned doff = 0; doff < 16; doff++)
		for (unsigned t = 0; t <= sizeof(tots) / sizeof(tots[0]); t++)
			for (unsigned v = 0; v < 4; v++)
				for (uint32_t len = 14; len <= n + 6; len++) {
					uint8_t *f = malloc(len), *r = malloc(len - 14 ? len - 14 : 1);
					struct scr_pkt pe, pr;
					enum scr_dec_status se, sr;
					char what[96];

					memset(b + n, 0, 6);		/* padding */
					b[14 + 20 + 12] = (uint8_t)(doff << 4);
					if (t < sizeof(tots) / sizeof(tots[0])) {
						b[14 + 2] = (uint8_t)(tots[t] >> 8);
						b[14 + 3] = (uint8_t)tots[t];
					} else {	/* as built */
						b[14 + 2] = (uint8_t)((n - 14) >> 8);
						b[14 + 3] = (uint8_t)(n - 14);
					}
					b[14] = v == 1 ? 0x46 : 0x45;	/* options */
					b[14 + 6] = v == 2 ? 0x20 : 0;	/* MF */
					b[14 + 9] = v == 3 ? 17 : 6;	/* UDP */
					memcpy(f, b, len);
					memcpy(r, b + 14, len - 14);
					se = scr_decode(SCR_LINK_ETH, f, len, &pe);
					sr = scr_decode(SCR_LINK_RAW, r, len - 14, &pr);
					snprintf(what, sizeof(what), "doff %u tot #%u variant %u len %u",
						 doff, t, v, len);
					if (se != sr)
						fail_msg("%s: Ethernet %s, raw %s", what,
							 scr_dec_status_name[se],
							 scr_dec_status_name[sr]);
					if (se == SCR_DEC_TCP) {
						same_pkt(what, &pe, f + 14, &pr, r);
						checked++;
					}
					free(f);
					free(r);
				}
	assert_true(checked > 100);	/* the decodable ones were compared */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_ipv4_lengths),
		cmocka_unit_test(test_ipv4_fast_path),
	};

	return cmocka_run_group_tests_name("scr_decode", tests, NULL, NULL);
}
