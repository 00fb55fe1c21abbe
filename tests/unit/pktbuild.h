/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	pktbuild - build test frames (Ethernet/VLAN, IPv4/IPv6, TCP)
 * DESCRIPTION
 *	For unit tests only: writes a frame into a caller buffer with the
 *	fields a test names; checksums are not computed (the engine does not
 *	check them).
 */
#ifndef PKTBUILD_H
#define PKTBUILD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct pb_spec {
	int v6;			/* 0: IPv4 */
	const char *src, *dst;	/* text addresses */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;		/* TCP flags */
	const void *payload;
	uint32_t plen;
	int vlans;		/* 802.1Q tags */
	int ip_opts;		/* IPv4 option bytes (multiple of 4) */
	int v6_ext;		/* IPv6 hop-by-hop headers */
	int frag;		/* IPv4: MF set; IPv6: fragment header, offset 8 */
	uint8_t proto;		/* 0 = TCP */
	int tcp_doff;		/* 0 = 5 */
};

/* pb_build - write the frame, return its length */
static inline uint32_t pb_build(uint8_t *b, const struct pb_spec *s)
{
	uint32_t off = 12, l3, l4, i, tcph = (s->tcp_doff ? s->tcp_doff : 5) * 4;
	uint8_t proto = s->proto ? s->proto : 6;

	memset(b, 0, 14);
	b[0] = 0x02; b[6] = 0x02; b[5] = 1; b[11] = 2;
	for (i = 0; i < (uint32_t)s->vlans; i++) {
		b[off] = 0x81; b[off + 1] = 0x00; b[off + 2] = 0; b[off + 3] = (uint8_t)(10 + i);
		off += 4;
	}
	b[off] = s->v6 ? 0x86 : 0x08;
	b[off + 1] = s->v6 ? 0xdd : 0x00;
	l3 = off + 2;
	if (!s->v6) {
		uint32_t ihl = 20 + (uint32_t)s->ip_opts, tot = ihl + tcph + s->plen;

		memset(b + l3, 0, ihl);
		b[l3] = (uint8_t)(0x40 | (ihl / 4));
		b[l3 + 2] = (uint8_t)(tot >> 8); b[l3 + 3] = (uint8_t)tot;
		if (s->frag)
			b[l3 + 6] = 0x20;
		b[l3 + 8] = 64;
		b[l3 + 9] = proto;
		inet_pton(AF_INET, s->src, b + l3 + 12);
		inet_pton(AF_INET, s->dst, b + l3 + 16);
		for (i = 20; i < ihl; i++)
			b[l3 + i] = 1;	/* NOP options */
		l4 = l3 + ihl;
	} else {
		uint32_t ext = (uint32_t)s->v6_ext * 8 + (s->frag ? 8 : 0);
		uint32_t plen = ext + tcph + s->plen;
		uint8_t *nh = b + l3 + 6;

		memset(b + l3, 0, 40);
		b[l3] = 0x60;
		b[l3 + 4] = (uint8_t)(plen >> 8); b[l3 + 5] = (uint8_t)plen;
		b[l3 + 7] = 64;
		inet_pton(AF_INET6, s->src, b + l3 + 8);
		inet_pton(AF_INET6, s->dst, b + l3 + 24);
		l4 = l3 + 40;
		for (i = 0; i < (uint32_t)s->v6_ext; i++) {
			*nh = 0;
			memset(b + l4, 0, 8);
			nh = b + l4;
			l4 += 8;
		}
		if (s->frag) {
			*nh = 44;
			memset(b + l4, 0, 8);
			b[l4 + 3] = 8 << 3;	/* offset 8 */
			nh = b + l4;
			l4 += 8;
		}
		*nh = proto;
	}
	memset(b + l4, 0, tcph);
	b[l4] = (uint8_t)(s->sport >> 8); b[l4 + 1] = (uint8_t)s->sport;
	b[l4 + 2] = (uint8_t)(s->dport >> 8); b[l4 + 3] = (uint8_t)s->dport;
	b[l4 + 4] = (uint8_t)(s->seq >> 24); b[l4 + 5] = (uint8_t)(s->seq >> 16);
	b[l4 + 6] = (uint8_t)(s->seq >> 8); b[l4 + 7] = (uint8_t)s->seq;
	b[l4 + 8] = (uint8_t)(s->ack >> 24); b[l4 + 9] = (uint8_t)(s->ack >> 16);
	b[l4 + 10] = (uint8_t)(s->ack >> 8); b[l4 + 11] = (uint8_t)s->ack;
	b[l4 + 12] = (uint8_t)((tcph / 4) << 4);
	b[l4 + 13] = s->flags;
	if (s->plen)
		memcpy(b + l4 + tcph, s->payload, s->plen);
	return l4 + tcph + s->plen;
}

#endif
