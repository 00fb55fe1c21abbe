/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_pcapin - the packets of one capture file, streamed in file order
 * DESCRIPTION
 *	Classic pcap on a regular file (microsecond or nanosecond magic,
 *	either byte order, version 2.4, a link type the engine decodes) is
 *	read by our reader: read()s of DP_PCAPIN_BUF_SIZE into page-aligned
 *	buffers, and a packet's data points into the buffer (measured faster
 *	than a mapping of the file with MADV_DONTNEED behind the reader:
 *	bench/results/replay-stream-2026-12-06.txt). Anything else (pcapng,
 *	other pcap variants, standard input as "-") is read by libpcap,
 *	opened then (ctl_dl.h: a classic pcap is replayed without it), and
 *	each packet copied into a buffer. Either way the buffers are a ring
 *	of DP_PCAPIN_NBUF, one per chunk of packets, and a packet's data stays
 *	valid until the caller releases its chunk: memory is the ring's,
 *	whatever the file's size.
 *	Records are judged as libpcap judges them: a captured length over the
 *	link type's maximum is an error, one over the file's snapshot length
 *	is cut to it; a record cut by the end of the file is an error; error
 *	texts are libpcap's, and so are time stamps (signed in the machine's
 *	byte order, unsigned in the other: libpcap 1.10's quirk), so a file
 *	gives the same packets whichever reader reads it (fuzz_pcapin holds
 *	the two to that).
 * CONTRACT
 *	dp_pcapin_open(path, err, errlen): "-" is standard input. NULL and a
 *	  message naming path in err when the file cannot be opened, is not a
 *	  capture, has a link type the engine does not decode, or needs
 *	  libpcap and libpcap cannot be loaded.
 *	dp_pcapin_next(in, pkt): 1 and the next packet; 0 at the end;
 *	  -EAGAIN when every buffer holds packets not yet released (release,
 *	  then call again); -EIO on a bad or cut
 *	  record: dp_pcapin_error() says why, and the reader is at its end.
 *	dp_pcapin_many(in, pkts, max): up to max packets at once, those whose
 *	  records are whole in the buffer read last (no read, no error): how
 *	  many; 0 says call dp_pcapin_next.
 *	dp_pcapin_release(in, chunk): the caller is done with every packet of
 *	  the chunks before chunk (a chunk not yet read counts as read).
 *	dp_pcapin_count(in): packets handed out so far (the number of the one
 *	  that failed is this + 1).
 *	dp_pcapin_pos(in), dp_pcapin_size(in): bytes of the file read so far
 *	  and its size; both 0 when unknown (a pipe).
 *	dp_pcapin_close(in): closes, frees; NULL is fine.
 *	dp_pcapin_link(dlt): the engine's link type (enum scr_link) of a
 *	  pcap DLT or LINKTYPE number; -1 for one it does not decode.
 * THREADING
 *	One thread calls a reader's functions (replay's reader thread); the
 *	data of packets handed out may be read by any thread until released.
 */
#ifndef DP_PCAPIN_H
#define DP_PCAPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef DP_PCAPIN_BUF_SIZE			/* fuzz_pcapin: smaller */
#define DP_PCAPIN_BUF_SIZE (1u << 18)		/* one read(), one chunk */
#endif
#define DP_PCAPIN_NBUF 16u
#define DP_PCAPIN_CAPLEN_MAX 262144u		/* libpcap's maximum for our links */

struct dp_pcapin_pkt {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_ns;
	uint64_t chunk;
	uint8_t link;		/* enum scr_link */
};

struct dp_pcapin;

struct dp_pcapin *dp_pcapin_open(const char *path, char *err, size_t errlen);
int dp_pcapin_next(struct dp_pcapin *in, struct dp_pcapin_pkt *pkt);
unsigned dp_pcapin_many(struct dp_pcapin *in, struct dp_pcapin_pkt *pkt,
			unsigned max);
void dp_pcapin_release(struct dp_pcapin *in, uint64_t chunk);
const char *dp_pcapin_error(const struct dp_pcapin *in);
uint64_t dp_pcapin_count(const struct dp_pcapin *in);
uint64_t dp_pcapin_pos(const struct dp_pcapin *in);
uint64_t dp_pcapin_size(const struct dp_pcapin *in);
void dp_pcapin_close(struct dp_pcapin *in);
int dp_pcapin_link(int dlt);

#endif
