/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_parse - bounds-checked Ethernet/VLAN/IPv4/IPv6/TCP parse for XDP
 * DESCRIPTION
 *	Reads a frame from data to data_end: Ethernet, up to two VLAN tags
 *	(802.1Q 0x8100 and 802.1ad 0x88a8, so QinQ), IPv4 (ihl >= 5, options
 *	skipped), IPv6 with up to SCR_PARSE_EXT_MAX extension headers
 *	(hop-by-hop, routing, destination options, fragment, AH), then the
 *	TCP header. Every read is preceded by a bound check against data_end.
 *	Fragments: a non-first fragment (IPv4 offset != 0, IPv6 fragment
 *	header offset != 0) has no TCP header; it is reported as such with
 *	the source address filled in. A first fragment is parsed like any
 *	packet. The parser does not decide: the caller passes what it could
 *	not parse and counts it under the returned reason.
 * CONTRACT
 *	scr_parse(data, end, p, ext): fills p; returns SCR_XDP_C_MAX when the
 *	  frame was parsed down to the TCP ports, or the scr_xdp_ctr reason
 *	  (PASS_NOT_IP, PASS_TRUNCATED, PASS_BAD_HDR, PASS_FRAGMENT,
 *	  PASS_NOT_TCP) otherwise. p->family is set (4 or 6) whenever the
 *	  source address is valid, also for fragments and non-TCP packets.
 *	  With ext (a constant or rodata knob: the stores cost nothing when
 *	  off), sport, l3off and l4off (offsets from data of the IP and TCP
 *	  headers) are set too when parsed to TCP.
 * THREADING
 *	Per packet, any CPU; no state.
 */
#ifndef SCR_PARSE_BPF_H
#define SCR_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "smtpscreen_abi.h"

#define SCR_PARSE_VLAN_MAX	2
#define SCR_PARSE_EXT_MAX	8

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct scr_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct scr_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 frag_off;	/* fragment header only */
};

struct scr_pkt {
	__u32 family;		/* 0 unknown, 4, 6 */
	__u32 l4proto;		/* IPPROTO_* of the transport header */
	__u32 dport;		/* host order, valid when parsed to TCP */
	__u32 sport;		/* host order, valid when parsed to TCP */
	__u32 l3off;		/* offset of the IP header */
	__u32 l4off;		/* offset of the TCP header (parsed to TCP) */
	__be32 saddr4;		/* network order */
	__u8 saddr6[16];	/* network order */
};

/* scr_parse_ipv6_ext - walk IPv6 extension headers; 0, or a reason */
static __always_inline int scr_parse_ipv6_ext(void **cur, void *end,
					      __u32 *nexthdr)
{
	struct scr_ext_hdr *eh;
	__u32 nh = *nexthdr;
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < SCR_PARSE_EXT_MAX; i++) {
		eh = *cur;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(eh + 1) > end)
				return SCR_XDP_C_PASS_TRUNCATED;
			nh = eh->nexthdr;
			*cur += ((__u32)eh->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(eh + 1) > end)
				return SCR_XDP_C_PASS_TRUNCATED;
			nh = eh->nexthdr;
			*cur += ((__u32)eh->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (*cur + 8 > end)
				return SCR_XDP_C_PASS_TRUNCATED;
			if (bpf_ntohs(eh->frag_off) & 0xfff8) {
				*nexthdr = eh->nexthdr;
				return SCR_XDP_C_PASS_FRAGMENT;
			}
			nh = eh->nexthdr;
			*cur += 8;
			break;
		default:
			*nexthdr = nh;
			return 0;
		}
	}
	/* Still an extension header after the maximum: do not guess. */
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return SCR_XDP_C_PASS_BAD_HDR;
	default:
		*nexthdr = nh;
		return 0;
	}
}

/* scr_parse - parse a frame down to the TCP destination port */
static __always_inline int scr_parse(void *data, void *end, struct scr_pkt *p,
				     __u32 ext)
{
	struct ethhdr *eth = data;
	struct scr_vlan_hdr *vh;
	struct iphdr *ip4;
	struct ipv6hdr *ip6;
	struct tcphdr *tcp;
	void *cur;
	__u32 proto, ihl, nh;
	int i, rc;

	if ((void *)(eth + 1) > end)
		return SCR_XDP_C_PASS_TRUNCATED;
	proto = eth->h_proto;
	cur = eth + 1;
#pragma clang loop unroll(full)
	for (i = 0; i < SCR_PARSE_VLAN_MAX; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = cur;
		if ((void *)(vh + 1) > end)
			return SCR_XDP_C_PASS_TRUNCATED;
		proto = vh->proto;
		cur = vh + 1;
	}

	if (ext)
		p->l3off = cur - data;
	if (proto == bpf_htons(ETH_P_IP)) {
		ip4 = cur;
		if ((void *)(ip4 + 1) > end)
			return SCR_XDP_C_PASS_TRUNCATED;
		if (ip4->version != 4 || ip4->ihl < 5)
			return SCR_XDP_C_PASS_BAD_HDR;
		ihl = ip4->ihl;
		p->family = 4;
		p->saddr4 = ip4->saddr;
		p->l4proto = ip4->protocol;
		if (ip4->frag_off & bpf_htons(0x1fff))
			return SCR_XDP_C_PASS_FRAGMENT;
		cur += ihl * 4;
		if (cur > end)
			return SCR_XDP_C_PASS_TRUNCATED;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = cur;
		if ((void *)(ip6 + 1) > end)
			return SCR_XDP_C_PASS_TRUNCATED;
		if (ip6->version != 6)
			return SCR_XDP_C_PASS_BAD_HDR;
		p->family = 6;
		__builtin_memcpy(p->saddr6, &ip6->saddr, 16);
		cur = ip6 + 1;
		nh = ip6->nexthdr;
		rc = scr_parse_ipv6_ext(&cur, end, &nh);
		p->l4proto = nh;
		if (rc)
			return rc;
	} else {
		return SCR_XDP_C_PASS_NOT_IP;
	}

	if (p->l4proto != IPPROTO_TCP)
		return SCR_XDP_C_PASS_NOT_TCP;
	tcp = cur;
	if ((void *)(tcp + 1) > end)
		return SCR_XDP_C_PASS_TRUNCATED;
	if (tcp->doff < 5)
		return SCR_XDP_C_PASS_BAD_HDR;
	p->dport = bpf_ntohs(tcp->dest);
	if (ext) {
		p->sport = bpf_ntohs(tcp->source);
		p->l4off = cur - data;
	}
	return SCR_XDP_C_MAX;
}

#endif
