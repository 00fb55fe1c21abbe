/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_decode - bounds-checked L2-L4 parse of one frame
 * DESCRIPTION
 *	See scr_decode.h. Style: check that the bytes are there, then read,
 *	then advance. A parse failure is reported by status, never by reading
 *	past the end; the caller counts statuses.
 * THREADING
 *	Pure; any thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scr_decode.h"

const char *const scr_dec_status_name[SCR_DEC_MAX] = {
	[SCR_DEC_TCP] = "tcp",
	[SCR_DEC_NOT_IP] = "not_ip",
	[SCR_DEC_NOT_TCP] = "not_tcp",
	[SCR_DEC_FRAGMENT] = "fragment",
	[SCR_DEC_TRUNC_L2] = "truncated_l2",
	[SCR_DEC_TRUNC_L3] = "truncated_l3",
	[SCR_DEC_TRUNC_L4] = "truncated_l4",
	[SCR_DEC_BAD_IP] = "bad_ip",
	[SCR_DEC_BAD_TCP] = "bad_tcp",
	[SCR_DEC_BAD_LINK] = "bad_link",
};

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ1	0x9100
#define VLAN_MAX	4
#define IP6_EXT_MAX	8

/* rd16 - big-endian 16-bit read; caller checked the bounds */
static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* rd32 - big-endian 32-bit read; caller checked the bounds */
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* set_v4 - store an IPv4 address as v4-mapped IPv6 */
static inline void set_v4(struct scr_addr *a, const uint8_t *p)
{
#ifdef __SSE2__
	/* one 16-byte store: the engine loads the address whole right after
	 * (pieces would make that load wait for them to reach the cache) */
	uint32_t v;

	memcpy(&v, p, 4);
	_mm_storeu_si128((__m128i *)(void *)a->b,
			 _mm_set_epi32((int)v, (int)0xffff0000u, 0, 0));
#else
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, p, 4);
#endif
}

/* store_ports - sport and dport from the TCP header at p, in one store:
 * the engine reads them together right after, and a load that spans two
 * stores waits for both to reach the cache */
static inline void store_ports(struct scr_pkt *out, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);	/* each half swapped, and the halves */
	v = v >> 16 | v << 16;		/* the halves back */
#endif
	memcpy((uint8_t *)out + offsetof(struct scr_pkt, sport), &v, 4);
}

_Static_assert(offsetof(struct scr_pkt, dport) ==
	       offsetof(struct scr_pkt, sport) + 2, "dport follows sport");

/* tcp_fields - out's TCP fields from the header at p, checked: doff
 * bytes of header, len carried by IP, captured <= len of them in the
 * frame (the IP layers cut captured at what IP carries) */
static inline __attribute__((always_inline)) void
tcp_fields(const uint8_t *p, uint32_t doff, uint32_t len, uint32_t captured,
	   struct scr_pkt *out)
{
	store_ports(out, p);
	out->seq = rd32(p + 4);
	out->ack = rd32(p + 8);
	out->flags = p[13];
	out->payload = p + doff;
	out->payload_len = captured - doff;
	out->truncated = captured < len;
}

/* decode_tcp - TCP header at p[0..len), len = what the IP layer carries,
 * captured (<= len) what the frame holds of it */
static enum scr_dec_status decode_tcp(const uint8_t *p, uint32_t len,
				      uint32_t captured, struct scr_pkt *out)
{
	uint32_t doff;

	if (len < 20)
		return SCR_DEC_BAD_TCP;
	if (captured < 20)
		return SCR_DEC_TRUNC_L4;
	doff = (uint32_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return SCR_DEC_BAD_TCP;
	if (doff > captured)
		return SCR_DEC_TRUNC_L4;
	tcp_fields(p, doff, len, captured, out);
	return SCR_DEC_TCP;
}

/* decode_ipv4 - IPv4 header with options, then TCP */
static enum scr_dec_status decode_ipv4(const uint8_t *p, uint32_t caplen,
				       struct scr_pkt *out)
{
	uint32_t ihl, tot;

	if (caplen < 20)
		return SCR_DEC_TRUNC_L3;
	if (p[0] >> 4 != 4)
		return SCR_DEC_BAD_IP;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (ihl < 20 || tot < ihl)
		return SCR_DEC_BAD_IP;
	if (caplen < ihl)
		return SCR_DEC_TRUNC_L3;
	if (rd16(p + 6) & 0x3fff)	/* MF or a fragment offset */
		return SCR_DEC_FRAGMENT;
	if (p[9] != 6)
		return SCR_DEC_NOT_TCP;
	out->family = 4;
	set_v4(&out->src, p + 12);
	set_v4(&out->dst, p + 16);
	/* caplen beyond tot is Ethernet padding: cut it off. */
	return decode_tcp(p + ihl, tot - ihl,
			  (caplen < tot ? caplen : tot) - ihl, out);
}

/* decode_ipv6 - IPv6 header, extension headers, then TCP */
static enum scr_dec_status decode_ipv6(const uint8_t *p, uint32_t caplen,
				       struct scr_pkt *out)
{
	uint32_t plen, off = 40, end, avail;
	uint8_t nh;
	int i;

	if (caplen < 40)
		return SCR_DEC_TRUNC_L3;
	if (p[0] >> 4 != 6)
		return SCR_DEC_BAD_IP;
	plen = rd16(p + 4);
	if (plen == 0)			/* jumbogram: not on an SMTP path */
		return SCR_DEC_BAD_IP;
	end = 40 + plen;
	avail = caplen < end ? caplen : end;
	nh = p[6];
	for (i = 0; i <= IP6_EXT_MAX; i++) {
		uint32_t hlen;

		switch (nh) {
		case 6:
			out->family = 6;
			memcpy(out->src.b, p + 8, 16);
			memcpy(out->dst.b, p + 24, 16);
			return decode_tcp(p + off, end - off, avail - off, out);
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (off + 8 > end)
				return SCR_DEC_BAD_IP;
			if (off + 8 > avail)
				return SCR_DEC_TRUNC_L3;
			hlen = ((uint32_t)p[off + 1] + 1) * 8;
			break;
		case 51:	/* AH: length in 4-byte units, minus 2 */
			if (off + 8 > end)
				return SCR_DEC_BAD_IP;
			if (off + 8 > avail)
				return SCR_DEC_TRUNC_L3;
			hlen = ((uint32_t)p[off + 1] + 2) * 4;
			break;
		case 44:	/* fragment */
			if (off + 8 > end)
				return SCR_DEC_BAD_IP;
			if (off + 8 > avail)
				return SCR_DEC_TRUNC_L3;
			/* An atomic fragment (offset 0, no M) is whole. */
			if (rd16(p + off + 2) & 0xfff9)
				return SCR_DEC_FRAGMENT;
			hlen = 8;
			break;
		default:
			return SCR_DEC_NOT_TCP;
		}
		if (off + hlen > end)
			return SCR_DEC_BAD_IP;
		nh = p[off];
		off += hlen;
		if (off > avail)
			return SCR_DEC_TRUNC_L3;
	}
	return SCR_DEC_BAD_IP;		/* more extension headers than we follow */
}

/* decode_l3 - dispatch on the ethertype */
static enum scr_dec_status decode_l3(uint16_t type, const uint8_t *p,
				     uint32_t caplen, struct scr_pkt *out)
{
	if (type == ETH_P_IP)
		return decode_ipv4(p, caplen, out);
	if (type == ETH_P_IPV6)
		return decode_ipv6(p, caplen, out);
	return SCR_DEC_NOT_IP;
}

/* decode_eth_ipv4_tcp - an untagged Ethernet frame of IPv4 without
 * options (no fragment) and TCP whose header is captured whole: most of
 * the traffic, in straight-line code. Gives what the general path gives
 * such a frame; true when it took p, false leaves every other frame (and
 * every error) to the general path. */
static inline bool decode_eth_ipv4_tcp(const uint8_t *p, uint32_t caplen,
				       struct scr_pkt *out)
{
	const uint8_t *ip = p + 14, *tcp = p + 34;
	uint32_t tot, doff, l3;

	if (caplen < 54 || rd16(p + 12) != ETH_P_IP || ip[0] != 0x45 ||
	    ip[9] != 6 || (rd16(ip + 6) & 0x3fff))
		return false;
	tot = rd16(ip + 2);
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	l3 = caplen - 14;
	if (doff < 20 || tot < 20 + doff || l3 < 20 + doff)
		return false;
	out->family = 4;
	set_v4(&out->src, ip + 12);
	set_v4(&out->dst, ip + 16);
	tcp_fields(tcp, doff, tot - 20, (l3 < tot ? l3 : tot) - 20, out);
	return true;
}

/* scr_decode - parse one captured frame */
enum scr_dec_status scr_decode(enum scr_link link, const uint8_t *p,
			       uint32_t caplen, struct scr_pkt *out)
{
	uint32_t off;
	uint16_t type;

	out->vlans = 0;
	switch (link) {
	case SCR_LINK_ETH:
		if (decode_eth_ipv4_tcp(p, caplen, out))
			return SCR_DEC_TCP;
		if (caplen < 14)
			return SCR_DEC_TRUNC_L2;
		type = rd16(p + 12);
		off = 14;
		while (type == ETH_P_8021Q || type == ETH_P_8021AD ||
		       type == ETH_P_QINQ1) {
			if (out->vlans == VLAN_MAX)
				return SCR_DEC_BAD_LINK;
			if (caplen < off + 4)
				return SCR_DEC_TRUNC_L2;
			type = rd16(p + off + 2);
			off += 4;
			out->vlans++;
		}
		return decode_l3(type, p + off, caplen - off, out);
	case SCR_LINK_RAW:
		if (caplen < 1)
			return SCR_DEC_TRUNC_L3;
		return decode_l3(p[0] >> 4 == 6 ? ETH_P_IPV6 : ETH_P_IP, p,
				 caplen, out);
	case SCR_LINK_SLL:
		if (caplen < 16)
			return SCR_DEC_TRUNC_L2;
		return decode_l3(rd16(p + 14), p + 16, caplen - 16, out);
	case SCR_LINK_SLL2:
		if (caplen < 20)
			return SCR_DEC_TRUNC_L2;
		return decode_l3(rd16(p), p + 20, caplen - 20, out);
	case SCR_LINK_NULL: {
		uint32_t fam;

		if (caplen < 4)
			return SCR_DEC_TRUNC_L2;
		memcpy(&fam, p, 4);	/* host byte order of the writer */
		if (fam == 2 || fam == 0x02000000)
			return decode_l3(ETH_P_IP, p + 4, caplen - 4, out);
		if (fam == 24 || fam == 28 || fam == 30 ||
		    fam == 0x18000000 || fam == 0x1c000000 || fam == 0x1e000000)
			return decode_l3(ETH_P_IPV6, p + 4, caplen - 4, out);
		return SCR_DEC_NOT_IP;
	}
	case SCR_LINK_MAX:
	default:
		return SCR_DEC_BAD_LINK;
	}
}
