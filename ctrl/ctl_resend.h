/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_resend - re-send a held frame through an AF_PACKET socket
 * DESCRIPTION
 *	The greet hold drops the server's first payload segment in TC egress
 *	and hands a copy to user space; after the hold the daemon puts that
 *	very frame (Ethernet header included) back on the interface through a
 *	packet socket whose packets carry skb mark SCR_HOST_RESEND_MARK
 *	(SO_MARK), which the TC program lets pass. The frame goes through the
 *	egress qdisc and TC like any other (no PACKET_QDISC_BYPASS).
 * CONTRACT
 *	ctl_resend_open(ifindex, err, errlen): NULL + errno and a message
 *	  (needs CAP_NET_RAW for the socket, CAP_NET_ADMIN for SO_MARK).
 *	ctl_resend_send(r, frame, len): 0, or -errno (-EMSGSIZE, -ENOBUFS).
 *	ctl_resend_fix_csum(frame, len): recomputes the TCP checksum in place
 *	  (a frame copied at TC egress carries a partial checksum when the
 *	  device offloads it). 0, or -EINVAL when the frame is not a whole
 *	  unfragmented IPv4/IPv6 TCP segment (IPv6 without extension headers).
 * THREADING
 *	The host daemon's thread.
 */
#ifndef CTL_RESEND_H
#define CTL_RESEND_H

#include <stddef.h>
#include <stdint.h>

struct ctl_resend;

struct ctl_resend *ctl_resend_open(int ifindex, char *err, size_t errlen);
void ctl_resend_close(struct ctl_resend *r);
int ctl_resend_send(struct ctl_resend *r, const uint8_t *frame, size_t len);
int ctl_resend_fix_csum(uint8_t *frame, size_t len);

#endif
