/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_pcapin - libFuzzer target: capture files, our reader against
 *	libpcap's
 * DESCRIPTION
 *	The input is a capture file (a memfd, opened by its /proc path as
 *	smtpscreen replay opens a file). dp_pcapin reads it with its own
 *	reader when it is a classic pcap, else through libpcap; libpcap
 *	reads the same file beside it, and every outcome must agree:
 *	- dp_pcapin refuses a file libpcap opens only for a link type the
 *	  engine does not decode; it never opens one libpcap refuses;
 *	- packet by packet: the same captured and wire lengths, time stamp
 *	  (ns) and bytes;
 *	- the same end: both at the end of the file after the same packet,
 *	  or both failing at the same packet with libpcap's message.
 *	The target is built with chunks of 1 KiB (DP_PCAPIN_BUF_SIZE;
 *	256 KiB in smtpscreen), so records cut by a chunk's end and carried
 *	to the next, in the header and in the data, are common. A record
 *	not yet handed out holds every chunk it spans, so inputs over
 *	DP_PCAPIN_NBUF - 2 chunks are skipped (in smtpscreen a record of
 *	the largest size spans two). The first
 *	input byte's low bit picks dp_pcapin_many (whole records of the
 *	chunk at once) or dp_pcapin_next only; it stays part of the file
 *	(a pcap's first byte is its magic's, so both are reached).
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dp_pcapin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MANY 8

/* die - a disagreement: say what, then abort for libFuzzer */
static void die(const char *what, uint64_t n, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_pcapin: packet %" PRIu64 ": %s\n  dp_pcapin: %s\n"
		"  libpcap:   %s\n", n, what, a, b);
	abort();
}

/* same_packet - our packet n against libpcap's */
static void same_packet(uint64_t n, const struct dp_pcapin_pkt *p,
			const struct pcap_pkthdr *h, const u_char *d)
{
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull +
		      (uint64_t)h->ts.tv_usec;
	char a[96], b[96];

	if (p->caplen != h->caplen || p->wirelen != h->len || p->ts_ns != ts) {
		snprintf(a, sizeof(a), "caplen %u len %u ts %" PRIu64,
			 p->caplen, p->wirelen, p->ts_ns);
		snprintf(b, sizeof(b), "caplen %u len %u ts %" PRIu64,
			 h->caplen, h->len, ts);
		die("header differs", n, a, b);
	}
	if (memcmp(p->data, d, p->caplen) != 0)
		die("bytes differ", n, "", "");
}

/* ours - the next packet: from the batch of dp_pcapin_many when there
 * is one, else dp_pcapin_next */
static int ours(struct dp_pcapin *in, bool many, struct dp_pcapin_pkt *batch,
		unsigned *have, unsigned *at, struct dp_pcapin_pkt *p)
{
	int r;

	if (*at < *have) {
		*p = batch[(*at)++];
		return 1;
	}
	if (many && (*have = dp_pcapin_many(in, batch, MANY)) > 0) {
		*at = 1;
		*p = batch[0];
		return 1;
	}
	*have = *at = 0;
	r = dp_pcapin_next(in, p);
	if (r == -EAGAIN)
		die("-EAGAIN with every chunk before the packet released",
		    dp_pcapin_count(in), "", "");
	return r;
}

/* compare - read both to their ends */
static void compare(struct dp_pcapin *in, pcap_t *pc, bool many)
{
	struct dp_pcapin_pkt batch[MANY], p;
	unsigned have = 0, at = 0;
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n;

	for (n = 1;; n++) {
		int r = ours(in, many, batch, &have, &at, &p);
		int q = pcap_next_ex(pc, &h, &d);

		if (r == 1 && q == 1) {
			same_packet(n, &p, h, d);
			dp_pcapin_release(in, p.chunk);
			continue;
		}
		if (r == 0 && q == PCAP_ERROR_BREAK)
			return;
		if (r == -EIO && q == PCAP_ERROR) {
			if (strcmp(dp_pcapin_error(in), pcap_geterr(pc)) != 0)
				die("error texts differ", n, dp_pcapin_error(in),
				    pcap_geterr(pc));
			return;
		}
		{
			char a[320], b[320];

			snprintf(a, sizeof(a), "%d %s", r,
				 r == -EIO ? dp_pcapin_error(in) : "");
			snprintf(b, sizeof(b), "%d %s", q,
				 q == PCAP_ERROR ? pcap_geterr(pc) : "");
			die("outcomes differ", n, a, b);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], err[512], perr[PCAP_ERRBUF_SIZE];
	struct dp_pcapin *in;
	pcap_t *pc;

	if (size > (DP_PCAPIN_NBUF - 2) * DP_PCAPIN_BUF_SIZE)
		return 0;
	if (fd < 0 && (fd = memfd_create("fuzz_pcapin", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	in = dp_pcapin_open(path, err, sizeof(err));
	pc = pcap_open_offline_with_tstamp_precision(path,
		PCAP_TSTAMP_PRECISION_NANO, perr);
	if (in == NULL) {
		if (pc != NULL && dp_pcapin_link(pcap_datalink(pc)) >= 0)
			die("refused a file libpcap reads", 0, err, "opened");
	} else {
		if (pc == NULL)
			die("opened a file libpcap refuses", 0, "opened", perr);
		compare(in, pc, size > 0 && (data[0] & 1));
	}
	if (pc != NULL)
		pcap_close(pc);
	dp_pcapin_close(in);
	return 0;
}
