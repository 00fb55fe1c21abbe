/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreen_abi - map keys, values and indices shared by BPF and user space
 * DESCRIPTION
 *	The only header included by both the XDP program (bpf/scr_xdp.bpf.c) and
 *	user space (ctrl/ctl_maps.c, smtpscreenctl, tests, bench). Every
 *	struct has fixed-width fields, explicit padding, the byte order of
 *	each field noted, and a _Static_assert on its size. Keys are zeroed
 *	(= {}) before they are filled, padding included, because hash maps
 *	compare the whole key.
 *
 *	Verdict structures (see docs/xdp.md):
 *	- permanent list (postscreen_access_list compiled to prefixes), two
 *	  copies A/B selected by scr_xdp_state.active:
 *	    IPv4: DXR (D18): a base array of 2^18 + 1 range indices and a
 *	          sorted array of 16-bit ranges (below).
 *	    IPv6: one hash keyed by (plen, masked address), probed for each
 *	          prefix length present, longest first.
 *	  DIR-24-8 (tbl24 + tbl8 below) is what scr_xdp used before DXR; only
 *	  the benchmark (bench/xdp_bench) still builds it, to compare.
 *	- dynamic entries (smtpscreenctl block/allow, engine failures): one
 *	  hash per family keyed by (kind, plen, masked address), value with
 *	  an optional expiry in CLOCK_BOOTTIME ns (bpf_ktime_get_boot_ns).
 * CONTRACT
 *	Plain data; no functions.
 * THREADING
 *	Any.
 */
#ifndef SMTPSCREEN_ABI_H
#define SMTPSCREEN_ABI_H

#include <linux/types.h>

/* Pin directory and the names of the pinned maps (user space). */
#define SCR_XDP_PIN_DIR		"/sys/fs/bpf/smtpscreen"

/* Answers of the permanent list (postscreen_access_list). */
enum scr_xdp_ans {
	SCR_XDP_ANS_NONE = 0,	/* not listed (dunno): dynamic entries decide */
	SCR_XDP_ANS_PERMIT = 1,
	SCR_XDP_ANS_REJECT = 2,
	SCR_XDP_ANS_MAX
};

/* DIR-24-8 (the benchmark's comparison only). tbl24 entry: bit 31 set = index of a tbl8 group in the low 31 bits,
 * otherwise an enum scr_xdp_ans. Host byte order. */
#define SCR_XDP_TBL24_SIZE	(1u << 24)
#define SCR_XDP_TBL24_GROUP	0x80000000u
#define SCR_XDP_TBL8_GROUP_SIZE	256u
/* BPF arrays round each value up to 8 bytes: tbl24 is stored as lines of
 * 16 entries (one cache line), key = index >> 4, so that user space sees
 * one flat __u32[2^24] through mmap. */
#define SCR_XDP_TBL24_LINE	16u
#define SCR_XDP_TBL24_LINES	(SCR_XDP_TBL24_SIZE / SCR_XDP_TBL24_LINE)

struct scr_xdp_tbl24_line {
	__u32 e[SCR_XDP_TBL24_LINE];	/* host order, see SCR_XDP_TBL24_GROUP */
};
_Static_assert(sizeof(struct scr_xdp_tbl24_line) == 64, "tbl24 line size");

struct scr_xdp_tbl8_group {
	__u8 ans[SCR_XDP_TBL8_GROUP_SIZE];	/* enum scr_xdp_ans, by last octet */
};
_Static_assert(sizeof(struct scr_xdp_tbl8_group) == 256, "tbl8 group size");

/* DXR (range table) form of the IPv4 list, D18 with 16-bit ranges: the
 * address space in 2^18 chunks of 2^14 addresses; the list is a sorted
 * array of ranges, each range a __u16: (first address & 0x3fff) << 2 |
 * enum scr_xdp_ans, every chunk starting with a range at offset 0 and no
 * two neighbours in a chunk with the same answer. Chunk c's ranges are
 * base[c] .. base[c + 1] - 1 (base: SCR_XDP_DXR_CHUNKS + 1 entries). An
 * address's answer is that of its chunk's last range starting at or
 * below it (binary search, at most 14 halvings). Both arrays are stored
 * several entries to an 8-byte array value (no padding; the search reads
 * a value as one __u64). Host order. */
#define SCR_XDP_DXR_BITS	18u
#define SCR_XDP_DXR_CHUNKS	(1u << SCR_XDP_DXR_BITS)
#define SCR_XDP_DXR_OFF_BITS	(32u - SCR_XDP_DXR_BITS)
#define SCR_XDP_DXR_BASE_PER	2u	/* base entries per array value */
#define SCR_XDP_DXR_BASE_VALS	((SCR_XDP_DXR_CHUNKS + 1) / SCR_XDP_DXR_BASE_PER + 1)
#define SCR_XDP_DXR_RANGE_PER	4u	/* ranges per array value */
/* Every chunk has at least one range: a copy's ranges array holds at least
 * this many values (2^18 ranges, 512 KiB). */
#define SCR_XDP_DXR_RANGE_VALS_MIN	(SCR_XDP_DXR_CHUNKS / SCR_XDP_DXR_RANGE_PER + 1)

struct scr_xdp_dxr_base {
	__u32 b[SCR_XDP_DXR_BASE_PER];	/* index of a chunk's first range */
};
_Static_assert(sizeof(struct scr_xdp_dxr_base) == 8, "dxr base size");

struct scr_xdp_dxr_range {
	__u16 r[SCR_XDP_DXR_RANGE_PER];	/* offset << 2 | enum scr_xdp_ans */
};
_Static_assert(sizeof(struct scr_xdp_dxr_range) == 8, "dxr range size");

/* Kinds of dynamic entries. */
enum scr_xdp_kind {
	SCR_XDP_KIND_ALLOW = 0,	/* pass, overrides any block */
	SCR_XDP_KIND_BLOCK = 1,	/* drop (temporary when expires_ns != 0) */
	SCR_XDP_KIND_MAX
};

/* Key of the permanent IPv6 hash. */
struct scr_xdp_perm6_key {
	__u32 plen;		/* 0..128, host order */
	__u8 addr[16];		/* network order, masked to plen */
};
_Static_assert(sizeof(struct scr_xdp_perm6_key) == 20, "perm6 key size");

struct scr_xdp_perm6_val {
	__u32 ans;		/* enum scr_xdp_ans (NONE = carved out), host order */
};
_Static_assert(sizeof(struct scr_xdp_perm6_val) == 4, "perm6 val size");

/* Keys of the dynamic hashes. */
struct scr_xdp_dyn4_key {
	__u8 kind;		/* enum scr_xdp_kind */
	__u8 plen;		/* 0..32 */
	__u8 _pad[2];		/* zero */
	__be32 addr;		/* network order, masked to plen */
};
_Static_assert(sizeof(struct scr_xdp_dyn4_key) == 8, "dyn4 key size");

struct scr_xdp_dyn6_key {
	__u8 kind;		/* enum scr_xdp_kind */
	__u8 plen;		/* 0..128 */
	__u8 _pad[2];		/* zero */
	__u8 addr[16];		/* network order, masked to plen */
};
_Static_assert(sizeof(struct scr_xdp_dyn6_key) == 20, "dyn6 key size");

struct scr_xdp_dyn_val {
	__u64 expires_ns;	/* CLOCK_BOOTTIME ns, host order; 0 = never */
	__u64 added_ns;		/* CLOCK_BOOTTIME ns when written (listing) */
	__u32 reasons;		/* SCR_TEST bits that failed (engine), host order */
	__u32 _pad;		/* zero */
};
_Static_assert(sizeof(struct scr_xdp_dyn_val) == 24, "dyn val size");

/* Longest TTL a dynamic entry may have (smtpscreenctl checks it). */
#define SCR_XDP_TTL_MAX_S	(366u * 24 * 3600)

/* Counters: per-CPU array, index = enum scr_xdp_ctr. */
enum scr_xdp_ctr {
	SCR_XDP_C_PASS_NOT_IP = 0,	/* not IPv4/IPv6 (ARP, ...) */
	SCR_XDP_C_PASS_TRUNCATED,	/* a header ends past the packet */
	SCR_XDP_C_PASS_BAD_HDR,		/* ihl < 5, ext header chain too long */
	SCR_XDP_C_PASS_FRAGMENT,	/* non-first fragment, not in scope */
	SCR_XDP_C_PASS_NOT_TCP,		/* other L4 protocol, not in scope */
	SCR_XDP_C_PASS_OTHER_PORT,	/* TCP not to an SMTP port */
	SCR_XDP_C_PASS_PERMIT,		/* permanent list: permit */
	SCR_XDP_C_PASS_ALLOW,		/* dynamic allow entry */
	SCR_XDP_C_PASS_UNLISTED,	/* no entry decides */
	SCR_XDP_C_PASS_EXPIRED,		/* only an expired block entry matched */
	SCR_XDP_C_DROP_REJECT,		/* permanent list: reject */
	SCR_XDP_C_DROP_BLOCK,		/* dynamic block entry */
	SCR_XDP_C_REDIRECT_XSK,		/* passed SMTP packet sent to an AF_XDP socket */
	SCR_XDP_C_DROP_FLOW_STOP,	/* host mode: flow entry STOP (ingress),
					 * or the handshake hold */
	SCR_XDP_C_PASS_HS_ANSWER,	/* host mode: a stopped pregreeter's
					 * segment, passed for the kernel to
					 * answer with a RST (no socket left) */
	SCR_XDP_C_MAX
};

struct scr_xdp_ctr_val {
	__u64 packets;		/* host order */
	__u64 bytes;		/* host order */
};
_Static_assert(sizeof(struct scr_xdp_ctr_val) == 16, "ctr val size");

/* The one-word copy selector and the prefix lengths present. Lives in the
 * program's .bss, mmapped by user space and written with atomic stores.
 * A mask bit set = entries of that prefix length may exist; a clear bit
 * is only cleared after the last entry of that length is gone. */
struct scr_xdp_state {
	__u32 active;			/* 0 = copy A, 1 = copy B, host order */
	__u32 perm6_nlens[2];		/* number of lengths in perm6_lens[copy] */
	__u32 _pad;
	__u64 dyn4_mask[SCR_XDP_KIND_MAX];	/* bit n: plen n, n = 0..32 */
	__u64 dyn6_mask[SCR_XDP_KIND_MAX][3];	/* bit n%64 of word n/64 */
	__u8 perm6_lens[2][136];	/* per copy: lengths present, longest first */
};
_Static_assert(sizeof(struct scr_xdp_state) == 16 + 16 + 48 + 272,
	       "state size");

/* Knobs: const volatile rodata in the program, set before load. */
#define SCR_XDP_MAX_PORTS 8

/* ---- Host mode (smtpscreen host): flows, samples, greet hold ----------
 * A client's SYN creates no flow and no sample: XDP records its sequence
 * number in host_syn (an LRU hash of its own, so a SYN flood churns only
 * that map and costs user space nothing; the kernel's SYN cookies carry
 * the flood). The ACK that completes the handshake (no SYN, RST or FIN,
 * seq = the recorded ISN + 1, with or without data) creates the flow's
 * entry and is its first sample, flagged SCR_HOST_SF_FIRST: user space
 * rebuilds the SYN and SYN-ACK from it (the server's ISN is its ack - 1).
 * A SYN that carries data (TCP Fast Open) creates the entry at once. A
 * SYN for the 4-tuple of a decided flow (PASS or STOP, e.g. a port
 * reused after TIME-WAIT) removes that entry; a flow in its tests (SCAN)
 * is never touched by a SYN.
 * The XDP program (ingress, client -> server) and the TC egress program
 * (server -> client) keep one entry per SMTP flow that is being screened
 * in an LRU hash. While an entry is SCAN, both programs copy each frame
 * (up to SCR_HOST_SAMPLE_MAX bytes) into a ring buffer for the user-space
 * engine; PASS costs one lookup and nothing more; STOP drops both
 * directions. Clients the permanent list permits or a dynamic ALLOW entry
 * covers (the pass cache) get no entry and no sample.
 * Handshake hold (scr_hs_hold, smtpscreen_host_hold = handshake, the
 * default): the first contact of an unknown client never reaches a socket
 * before the greet wait (scr_hs_wait_ns, written by user space: stress
 * shortens it) is over. The client's ACK that would complete the handshake
 * is dropped while the wait runs and the server keeps a request socket for
 * it (bpf_skc_lookup_tcp finds it in TCP_NEW_SYN_RECV); the server's SYN-ACK
 * retransmissions (1, 3, 7, 15 s after the SYN) make the client ACK again,
 * and the first ACK after the wait completes the handshake: that flow's
 * entry gets FF_HS | FF_RELEASED (no greeting hold: the wait is over) and
 * its FIRST sample SF_HS with the SYN's time. Data from the client during
 * the wait is a pregreet: the flow's entry is created with FF_HS and
 * hold_until_ns = the wait's end, sampled (FIRST | SF_HS), and the packet
 * dropped; with scr_hs_reset (pregreet action drop) the entry is STOP at
 * once and the packet itself becomes a RST to the server that ends the
 * request socket (no SYN-ACK retransmissions, no SYN queue slot); a later
 * segment of that client on the flow (its retransmission) is passed once
 * no socket is left for it, so that the kernel answers it with a RST, as
 * to any segment for a connection it does not have (also when the client
 * is blocked by then). With
 * no request socket (the server answered with a SYN cookie: nothing would
 * re-solicit the ACK) the ACK passes and the greeting hold below applies.
 * Greet hold: the first server payload of a SCAN flow is sampled with
 * SCR_HOST_SF_HELD and dropped; the kernel's retransmissions of it are
 * dropped too until user space sets SCR_HOST_FF_RELEASED and re-sends the
 * sampled frame through a packet socket with skb mark SCR_HOST_RESEND_MARK
 * (TC passes marked frames). Fail-open: after hold_until_ns the programs
 * stop holding even if user space never released it.
 * Data hold (scr_data_hold_ns): the server's "354" reply of a SCAN flow is
 * held the same way (SCR_HOST_SF_HELD | SCR_HOST_SF_DATA, flag DATA_HELD):
 * samples reach user space in ring order, so when it sees the 354 it has
 * judged every client byte before DATA, and it re-sends the 354 only if
 * the session was not stopped: a bot cannot finish a transaction faster
 * than the daemon can stop it. Fail-open after scr_data_hold_ns. */

#define SCR_HOST_SAMPLE_MAX	1536u	/* frame bytes copied per sample */
/* seat_sock keys (sk_lookup steering to the seat). */
#define SCR_SEAT_SOCK_V4	0u
#define SCR_SEAT_SOCK_V6	1u
#define SCR_HOST_RESEND_MARK	0x5c5e0001u

/* Key of a screened flow, oriented client -> server. */
struct scr_host_flow_key {
	__u8 client[16];	/* network order; IPv4 as ::ffff:a.b.c.d */
	__u8 server[16];	/* network order; IPv4 as ::ffff:a.b.c.d */
	__be16 client_port;	/* network order */
	__be16 server_port;	/* network order */
	__u32 _pad;		/* zero */
};
_Static_assert(sizeof(struct scr_host_flow_key) == 40, "host flow key size");

/* host_syn value: a client's SYN waiting for its handshake's ACK. */
struct scr_host_syn_val {
	__u32 isn;		/* host order: the SYN's sequence number */
	__u32 _pad;		/* zero */
	__u64 syn_ns;		/* CLOCK_MONOTONIC ns when the SYN came */
};
_Static_assert(sizeof(struct scr_host_syn_val) == 16, "host syn val size");

enum scr_host_flow_state {
	SCR_HOST_FS_SCAN = 0,	/* undecided: sample both directions */
	SCR_HOST_FS_PASS = 1,	/* decided: pass, no samples */
	SCR_HOST_FS_STOP = 2,	/* stopped: drop both directions */
};

#define SCR_HOST_FF_HELD	0x1u	/* greeting held (sampled, dropped) */
#define SCR_HOST_FF_RELEASED	0x2u	/* hold over: server packets pass */
#define SCR_HOST_FF_DATA_HELD	0x4u	/* the server's 354 reply held */
#define SCR_HOST_FF_DATA_RELEASED 0x8u	/* ... and released by user space */
#define SCR_HOST_FF_HS		0x10u	/* went through the handshake hold */

struct scr_host_flow_val {
	__u32 state;		/* enum scr_host_flow_state, host order */
	__u32 flags;		/* SCR_HOST_FF_*, host order */
	__u64 hold_until_ns;	/* CLOCK_MONOTONIC ns (bpf_ktime_get_ns); fail-open */
	__u32 greet_seq;	/* host order: TCP seq of the held greeting */
	__u32 _pad;		/* zero */
};
_Static_assert(sizeof(struct scr_host_flow_val) == 24, "host flow val size");

enum scr_host_dir { SCR_HOST_INGRESS = 0, SCR_HOST_EGRESS = 1 };

#define SCR_HOST_SF_HELD	0x1u	/* dropped: user space re-sends it */
#define SCR_HOST_SF_TRUNC	0x2u	/* frame longer than SCR_HOST_SAMPLE_MAX */
#define SCR_HOST_SF_FIRST	0x8u	/* the ACK that completed the handshake:
					 * the flow's first sample */
#define SCR_HOST_SF_DATA	0x4u	/* with HELD: the server's 354 reply, held
					 * until user space has judged the
					 * session up to its DATA */
#define SCR_HOST_SF_HS		0x10u	/* with FIRST: the handshake was held
					 * (syn_ns is the SYN's time); alone
					 * the client talked during the hold */
#define SCR_HOST_SF_HS_RST	0x20u	/* with FIRST | HS: the client talked
					 * during the hold and the segment was
					 * made a RST to the server: the
					 * connection is over */

/* Ring buffer record. */
struct scr_host_sample {
	__u64 ts_ns;		/* CLOCK_MONOTONIC ns (bpf_ktime_get_ns), host order */
	__u32 wirelen;		/* frame length, host order */
	__u16 caplen;		/* bytes in data[], host order */
	__u8 dir;		/* enum scr_host_dir */
	__u8 flags;		/* SCR_HOST_SF_* */
	__u64 syn_ns;		/* FIRST: CLOCK_MONOTONIC ns of the client's
				 * SYN (0: unknown); else 0 */
	__u8 data[SCR_HOST_SAMPLE_MAX];	/* the frame from its Ethernet header */
};
_Static_assert(sizeof(struct scr_host_sample) == 24 + SCR_HOST_SAMPLE_MAX,
	       "host sample size");

/* A ring buffer record is 24 + caplen bytes (the programs copy only what
 * they captured); ctl_hostbpf_poll hands callbacks a whole struct whose
 * data[] past caplen is unspecified. */
#define SCR_HOST_SAMPLE_HDR	24u

/* Host-mode counters: per-CPU array host_ctr, index = enum scr_host_ctr,
 * value struct scr_xdp_ctr_val. Events, not one per packet: a sampled
 * ingress packet also counts in counters[] under its XDP reason. */
enum scr_host_ctr {
	SCR_HOST_C_SAMPLE_IN = 0,	/* samples queued, client -> server */
	SCR_HOST_C_SAMPLE_OUT,		/* samples queued, server -> client */
	SCR_HOST_C_SAMPLE_TRUNC,	/* samples cut at the sample_bytes knob */
	SCR_HOST_C_RB_FULL,		/* ring buffer full: passed unsampled */
	SCR_HOST_C_FLOW_NEW,		/* handshake done: entry created (SCAN) */
	SCR_HOST_C_FLOW_MISS,		/* in-scope packet without an entry */
	SCR_HOST_C_HELD,		/* greeting held (sampled, dropped) */
	SCR_HOST_C_HELD_RETX_DROP,	/* server payload dropped while held */
	SCR_HOST_C_HOLD_EXPIRED,	/* passed after hold_until_ns: fail-open */
	SCR_HOST_C_RESENT_PASS,		/* marked (re-sent) frame passed */
	SCR_HOST_C_STOP_DROP_IN,	/* STOP flow: client packet dropped */
	SCR_HOST_C_STOP_DROP_OUT,	/* STOP flow: server packet dropped */
	SCR_HOST_C_DATA_HELD,		/* 354 reply held (sampled, consumed) */
	SCR_HOST_C_DATA_RETX_DROP,	/* server payload consumed while 354 held */
	SCR_HOST_C_SYN,			/* client SYN recorded in host_syn */
	SCR_HOST_C_HOLD_EXPIRED_DROP,	/* dropped after hold_until_ns (overload
					 * policy drop) */
	SCR_HOST_C_HS_ACK_HELD,		/* handshake hold: the client's ACK dropped
					 * before the wait was over */
	SCR_HOST_C_HS_PREGREET,		/* handshake hold: client data before the
					 * wait was over (it talked first) */
	SCR_HOST_C_HS_PASSED,		/* handshake completed after the wait */
	SCR_HOST_C_HS_NO_REQ,		/* no request socket (SYN cookie): the
					 * greeting hold instead */
	SCR_HOST_C_HS_RST_SERVER,	/* a pregreeter's half-open connection
					 * ended (its data made a RST) */
	SCR_HOST_C_HS_RST_CLIENT,	/* a stopped pregreeter's segment passed:
					 * the kernel answers it with a RST */
	SCR_HOST_C_HS_DROP,		/* a held pregreeter's packet dropped */
	SCR_HOST_C_HS_SYN_FROM_REQ,	/* no SYN record (pushed out by a flood):
					 * the SYN's ISN and time taken from the
					 * kernel's request socket */
	SCR_HOST_C_MAX
};

/* Host mode SMTP smuggling guard (smtpscreen_smuggling_*; docs/host.md
 * "SMTP smuggling guard"). TC egress sees the server's 354 (the last line
 * of a segment) of any flow on a screened port and puts the flow, keyed
 * client -> server, in host_smug: the client's DATA content starts at
 * the 354's acknowledgement number. XDP scans the client's content
 * segments in order (a segment ahead of its turn is dropped: TCP sends it
 * again once the hole is filled) for a dot line bounded by a bare LF or
 * CR, carrying the last four content bytes and the match of the line
 * after a sequence across segments; CRLF.CRLF ends DATA (the entry goes).
 * A find under the action's rule drops the segment, makes the entry STOP
 * (every later client segment with payload is dropped) and samples the
 * segment with SCR_HOST_SF_SMUG for user space (log, socket destroy).
 * BDAT content is never followed (no 354): the server takes a chunk by its
 * size, so a dot line inside it ends nothing at this hop. */
#define SCR_HOST_SMUG_SCAN_MAX	4096u	/* payload bytes scanned per segment;
					 * longer: the flow is let go (counted) */
#define SCR_HOST_SF_SMUG	0x40u	/* a smuggling find: syn_ns carries
					 * SCR_HOST_SMUG_INFO */

enum scr_host_smug_action {		/* host_smug_cfg.action */
	SCR_HOST_SMUG_A_IGNORE = 0,	/* log only */
	SCR_HOST_SMUG_A_ENFORCE,	/* stop when commands follow a sequence */
	SCR_HOST_SMUG_A_DROP,		/* stop at the sequence */
};

/* host_smug_cfg[0]: written by user space at start and on reload. */
struct scr_host_smug_cfg {
	__u32 on;		/* smtpscreen_smuggling_enable */
	__u32 action;		/* enum scr_host_smug_action */
};
_Static_assert(sizeof(struct scr_host_smug_cfg) == 8, "host smug cfg size");

enum scr_host_smug_state {
	SCR_HOST_SMUG_DATA = 1,		/* in DATA content */
	SCR_HOST_SMUG_STOP = 2,		/* stopped: client payload dropped */
};

#define SCR_HOST_SMUG_F_AFTER	0x1u	/* matching a line after a sequence */
#define SCR_HOST_SMUG_F_REP	0x2u	/* a sequence was reported */
#define SCR_HOST_SMUG_F_REP_CMD	0x4u	/* commands after one were reported */
#define SCR_HOST_SMUG_F_LINES	0x8u	/* after a sequence: every line up to the
					 * message's end is matched */

/* Result bits (the engine's SCR_SMUG_R_* values). */
#define SCR_HOST_SMUG_R_SEQ	0x1u	/* a sequence */
#define SCR_HOST_SMUG_R_STRONG	0x2u	/* a line after it is a command */
#define SCR_HOST_SMUG_R_WEAK	0x4u	/* the line after it is not a command */
#define SCR_HOST_SMUG_R_FIRST	0x8u	/* in a sample: the flow's first report */

/* host_smug value: one flow in DATA. */
struct scr_host_smug_val {
	__u32 state;		/* enum scr_host_smug_state */
	__u32 flags;		/* SCR_HOST_SMUG_F_* */
	__u32 next_seq;		/* host order: the next content byte expected */
	__u32 srv_seq;		/* host order: seq of the 354 segment (its
				 * retransmissions change nothing) */
	__u8 tail[4];		/* the last four content bytes before next_seq */
	__u8 apos;		/* F_AFTER: bytes of the line matched */
	__u8 acand;		/* ... words still matching (bit per word) */
	__u8 rnow;		/* R_* found in the segment being scanned */
	__u8 _pad;
	__u32 toff;		/* payload offset of the first find's text */
	__u32 _pad2;
};
_Static_assert(sizeof(struct scr_host_smug_val) == 32, "host smug val size");

/* A SCR_HOST_SF_SMUG sample's syn_ns: frame offset where the text starts
 * (bits 0-15), result bits reported (16-23), 1 << 24 when stopped. */
#define SCR_HOST_SMUG_INFO(off, r, stop) \
	((__u64)((off) & 0xffff) | ((__u64)((r) & 0xff) << 16) | \
	 ((stop) ? (1ull << 24) : 0))
#define SCR_HOST_SMUG_INFO_OFF(x)	((__u32)((x) & 0xffff))
#define SCR_HOST_SMUG_INFO_R(x)		((__u32)(((x) >> 16) & 0xff))
#define SCR_HOST_SMUG_INFO_STOP(x)	(((x) >> 24) & 1)

/* Guard counters: per-CPU array host_smug_ctr (ctl_hostbpf names them). */
enum scr_host_smug_ctr {
	SCR_HOST_SMUG_C_DATA = 0,	/* 354 seen: the flow's content followed */
	SCR_HOST_SMUG_C_SCANNED,	/* content segments scanned (bytes: payload) */
	SCR_HOST_SMUG_C_END,		/* CRLF.CRLF: DATA over */
	SCR_HOST_SMUG_C_SEQ,		/* sequences found */
	SCR_HOST_SMUG_C_CMD,		/* ... with commands after them */
	SCR_HOST_SMUG_C_DROP,		/* segments dropped at a find (stopped) */
	SCR_HOST_SMUG_C_STOP_DROP,	/* later segments of a stopped flow dropped */
	SCR_HOST_SMUG_C_OOO_DROP,	/* segments ahead of their turn dropped */
	SCR_HOST_SMUG_C_LOST,		/* flows let go: a segment longer than
					 * SCR_HOST_SMUG_SCAN_MAX, or a gap too
					 * wide to be one of this DATA */
	SCR_HOST_SMUG_C_MAX
};

#endif
