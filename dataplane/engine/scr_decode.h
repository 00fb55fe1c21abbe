/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_decode - bounds-checked L2-L4 parse of one frame
 * DESCRIPTION
 *	Turns (ptr, caplen) into the fields the engine needs from a TCP
 *	segment: addresses, ports, seq/ack, flags and the payload. Knows
 *	Ethernet with up to four 802.1Q/802.1ad tags (QinQ), Linux cooked
 *	captures (SLL, SLL2), BSD loopback and raw IP; IPv4 with options,
 *	IPv6 with extension headers. Every length is checked against the
 *	captured length before it is read. It does not track flows.
 * CONTRACT
 *	scr_decode(link, p, caplen, out): returns enum scr_dec_status;
 *	  out is valid only for SCR_DEC_TCP. Never reads outside p[0..caplen).
 *	  out->payload_len is the TCP payload the IP header announces, cut to
 *	  what was captured; out->truncated says a snaplen cut it (the stream
 *	  then has a gap). Ethernet padding is excluded.
 * THREADING
 *	Pure function; any thread.
 */
#ifndef SCR_DECODE_H
#define SCR_DECODE_H

#include "scr_types.h"

enum scr_link {
	SCR_LINK_ETH = 0,	/* DLT_EN10MB */
	SCR_LINK_RAW,		/* DLT_RAW / LINKTYPE_RAW, IPv4 or IPv6 */
	SCR_LINK_SLL,		/* DLT_LINUX_SLL */
	SCR_LINK_SLL2,		/* DLT_LINUX_SLL2 */
	SCR_LINK_NULL,		/* DLT_NULL (BSD loopback, host byte order) */
	SCR_LINK_MAX
};

enum scr_dec_status {
	SCR_DEC_TCP = 0,	/* a TCP segment: out is valid */
	SCR_DEC_NOT_IP,		/* ARP, LLDP, ... */
	SCR_DEC_NOT_TCP,	/* UDP, ICMP, ESP, ... */
	SCR_DEC_FRAGMENT,	/* IP fragment: counted and passed over */
	SCR_DEC_TRUNC_L2,	/* captured length ends inside the link header */
	SCR_DEC_TRUNC_L3,	/* ... inside the IP header or its extensions */
	SCR_DEC_TRUNC_L4,	/* ... inside the TCP header */
	SCR_DEC_BAD_IP,		/* bad version, ihl < 5, lengths that do not add up */
	SCR_DEC_BAD_TCP,	/* data offset < 5 or past the IP payload */
	SCR_DEC_BAD_LINK,	/* too many VLAN tags, unknown link family */
	SCR_DEC_MAX
};

extern const char *const scr_dec_status_name[SCR_DEC_MAX];

/* TCP flags */
#define SCR_TCP_FIN 0x01
#define SCR_TCP_SYN 0x02
#define SCR_TCP_RST 0x04
#define SCR_TCP_PSH 0x08
#define SCR_TCP_ACK 0x10

struct scr_pkt {
	const uint8_t *payload;
	uint32_t payload_len;
	uint32_t seq;		/* host order */
	uint32_t ack;		/* host order */
	struct scr_addr src;
	struct scr_addr dst;
	uint16_t sport;		/* host order */
	uint16_t dport;		/* host order */
	uint8_t flags;		/* SCR_TCP_* */
	uint8_t family;		/* 4 or 6 */
	uint8_t vlans;		/* VLAN tags passed over */
	uint8_t truncated;	/* payload cut by the capture's snaplen */
};

enum scr_dec_status scr_decode(enum scr_link link, const uint8_t *p,
			       uint32_t caplen, struct scr_pkt *out);

#endif
