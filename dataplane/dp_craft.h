/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_craft - the frames that stop a session (inline mode)
 * DESCRIPTION
 *	When the engine stops a session at a frame (SCR_PKT_STOP), the inline
 *	worker drops that frame and sends a TCP RST to both ends, the client
 *	possibly first getting the 5xx line postscreen would send. This module
 *	builds those frames as bytes (no DPDK headers): the worker copies
 *	them into mbufs. It also writes postscreen's reply texts. It does not
 *	decide anything, send anything, or know which port a frame goes out
 *	of (dst says towards which end; the worker maps that to a port).
 *
 *	Frame layout: the stopped frame's Ethernet header and VLAN tags are
 *	kept byte for byte; a frame sent back the way the stopped frame came
 *	gets the two MACs swapped, one sent onward keeps them. IPv4: ihl 5,
 *	no options, DF, id 0, TOS 0, TTL 64, header checksum; IPv6: traffic
 *	class and flow label 0, hop limit 64, no extension headers. TCP: data
 *	offset 5, no options, window 0, urgent 0, checksum over the
 *	pseudo-header. Frames shorter than 60 bytes are zero-padded to 60
 *	(Ethernet minimum without FCS); the IP length excludes the padding.
 *
 *	Sequence numbers (S = the stopped frame's seq, A = its ack, L = its
 *	payload length, F = 1 if it carries SYN, +1 more if FIN; R = reply
 *	length). The stopped frame is not forwarded, so its receiver still
 *	expects S, and its sender expects A from the other side.
 *	  from the client: RST|ACK to the server seq=S ack=A;
 *	    reply PSH|ACK to the client seq=A ack=S+L+F;
 *	    RST|ACK to the client seq=A+R ack=S+L+F.
 *	  from the server: RST|ACK to the server seq=A ack=S+L+F;
 *	    reply PSH|ACK to the client seq=S ack=A;
 *	    RST|ACK to the client seq=S+R ack=A.
 *	Frames without the ACK flag (the flow is not established, or the
 *	sender is broken): A means nothing, so the sender's side of the
 *	session cannot be addressed and gets nothing.
 *	  - a client's bare SYN: 0 frames (nothing was established; the
 *	    caller drops it and the client retries or gives up).
 *	  - any other frame without ACK: only a plain RST (no ACK flag, ack
 *	    field 0) at seq=S to the frame's receiver, which expects S; no
 *	    reply and nothing to the sender. From the client: 1 frame (RST to
 *	    the server). From the server (e.g. a bare SYN from the server
 *	    port): 1 frame (RST to the client; the reply is not sent because
 *	    the client's window position is unknown).
 *	A frame from the server with SYN (the SYN|ACK) establishes nothing
 *	on the client yet: the client gets RST|ACK seq=S ack=A (accepted in
 *	SYN-SENT because the ack is right), no reply text; the server gets
 *	RST|ACK seq=A ack=S+1 as above.
 *	A stopped frame that is itself a RST is never answered with a RST
 *	(RFC 9293): its receiver gets the RST the frame carried (seq=S, with
 *	ACK and ack=A if the frame had them), its sender nothing, no reply.
 *	The side is decided as in the engine: dport screened = from the
 *	client (checked first), else sport screened = from the server.
 *	An empty reply ("") is the same as none.
 * CONTRACT
 *	dp_craft_stop(frame, len, ports, nports, reply, out): frame is the
 *	  whole Ethernet frame (len bytes, read only); ports are host order.
 *	  Writes 0..4 frames to out in send order (RST to the server, reply to
 *	  the client, RST to the client; absent ones skipped; for a server
 *	  segment with data a second RST to the client at its end, in case
 *	  the client has the segment already) and returns the
 *	  count, or -EINVAL: not Ethernet IPv4/IPv6 TCP, an IP fragment,
 *	  captured shorter than the IP header says (truncated), neither port
 *	  screened, ports == NULL or nports == 0, reply longer than
 *	  DP_CRAFT_REPLY_MAX. out is unspecified on error.
 *	dp_craft_reply(test, act, client, dnsbl_name, buf, cap): writes
 *	  postscreen's reply for a session stopped by 'test' under 'act' (drop:
 *	  the 521 line, enforce: the 550 line) with CRLF and a NUL into buf;
 *	  returns its length without the NUL, -ENOSPC if buf cannot hold it
 *	  (buf then holds ""), -EINVAL for act == SCR_ACT_IGNORE (ignore never
 *	  stops a session), for DNSBL with client == NULL, or a dnsbl_name
 *	  that is empty or has bytes outside printable ASCII without space
 *	  (it goes into an SMTP reply: no CRLF injection). HELO is not a postscreen test:
 *	  it gets the Protocol error lines. DNSBL with dnsbl_name == NULL
 *	  (the worker does not know which lists matched): "... blocked using
 *	  a DNS blocklist" -- says what happened without inventing a name.
 *	  Addresses: IPv4 dotted quad, IPv6 as inet_ntop writes it.
 *	  A test or action outside its enum is a caller bug: scr_panic()
 *	  names it, then aborts.
 * THREADING
 *	Pure functions, no allocation, no locks; any thread (workers).
 */
#ifndef DP_CRAFT_H
#define DP_CRAFT_H

#include <stddef.h>
#include <stdint.h>

#include "scr_types.h"

#define DP_CRAFT_FRAME_MAX 256	/* L2 (up to 4 VLAN tags) + IPv6 + TCP + reply */
#define DP_CRAFT_REPLY_MAX 128
#define DP_CRAFT_FRAME_MIN 60	/* shorter frames are zero-padded */

enum dp_craft_dst {
	DP_CRAFT_TO_SERVER = 0,
	DP_CRAFT_TO_CLIENT,
	DP_CRAFT_DST_MAX
};

extern const char *const dp_craft_dst_name[DP_CRAFT_DST_MAX];

struct dp_craft_frame {
	uint8_t dst;		/* enum dp_craft_dst */
	uint16_t len;
	uint8_t data[DP_CRAFT_FRAME_MAX];
};

/* Frames dp_craft_stop writes at the most. */
#define DP_CRAFT_STOP_MAX 4

int dp_craft_stop(const uint8_t *frame, uint32_t len, const uint16_t *ports,
		  unsigned nports, const char *reply,
		  struct dp_craft_frame out[DP_CRAFT_STOP_MAX]);

int dp_craft_reply(enum scr_test test, enum scr_action act,
		   const struct scr_addr *client, const char *dnsbl_name,
		   char *buf, size_t cap);

int dp_craft_limit_reply(const char *myhostname, char *buf, size_t cap);

#endif
