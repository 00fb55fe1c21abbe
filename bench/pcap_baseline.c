/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	pcap_baseline - the plain libpcap read loop the replay benchmark
 *	compares smtpscreen replay against (pcap-baseline)
 * DESCRIPTION
 *	Reads a capture once with pcap_open_offline() + pcap_next_ex() into
 *	memory (moved to transparent huge pages, as replay --loop keeps its
 *	arena), then makes N timed passes over the in-memory packets, each
 *	touching the packet's Ethernet and IP header words (sum and xor), so
 *	the compiler cannot drop the loop. This is the floor any pcap front
 *	end pays: smtpscreen replay's rate is reported as a ratio to it.
 *	It decodes nothing and keeps no per-flow state.
 * CONTRACT
 *	pcap-baseline FILE [--loop N]
 *	Prints "packets total=N bytes=B" and
 *	"rate seconds=X pps=N mpps=X gbps=X threads=1 loops=N" (the format of
 *	smtpscreen replay's rate line) and "checksum=HEX" to stdout.
 *	Exit 0, or 1 with a message (bad arguments, unreadable or truncated
 *	file, out of memory).
 * THREADING
 *	Single-threaded program.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scr_mem.h"

struct base_pkt {
	uint32_t off;		/* into base_buf.data */
	uint32_t len;
};

struct base_buf {
	uint8_t *data;
	size_t len, cap;
	struct base_pkt *pkts;
	size_t n, ncap;
	int huge;		/* data and pkts are scr_mem's, len and n long */
};

/* base_append - copy one packet into the in-memory capture; 0 or -ENOMEM */
static int base_append(struct base_buf *b, const uint8_t *p, uint32_t len)
{
	if (b->len + len > b->cap) {
		size_t ncap = b->cap ? b->cap : 1 << 24;
		uint8_t *nd;

		while (ncap < b->len + len)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (!nd)
			return -ENOMEM;
		b->data = nd;
		b->cap = ncap;
	}
	if (b->n == b->ncap) {
		size_t ncap = b->ncap ? b->ncap * 2 : 1 << 16;
		struct base_pkt *np = realloc(b->pkts, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		b->pkts = np;
		b->ncap = ncap;
	}
	if (b->len > UINT32_MAX - len)
		return -EFBIG;
	memcpy(b->data + b->len, p, len);
	b->pkts[b->n].off = (uint32_t)b->len;
	b->pkts[b->n].len = len;
	b->n++;
	b->len += len;
	return 0;
}

/* base_huge_copy - n bytes of p in memory of scr_mem_zalloc (huge pages,
 * as smtpscreen replay --loop keeps its arena); NULL when none */
static void *base_huge_copy(const void *p, size_t n)
{
	void *m = scr_mem_zalloc(n);

	if (m != NULL)
		memcpy(m, p, n);
	return m;
}

/* base_huge - the packets and their records move to huge pages: the walk
 * pays no TLB miss per 4 KiB the engine's arena would not pay either;
 * 0 or -ENOMEM with a message printed */
static int base_huge(struct base_buf *b)
{
	uint8_t *d = base_huge_copy(b->data, b->len);
	struct base_pkt *k = base_huge_copy(b->pkts, b->n * sizeof(*k));

	if (d == NULL || k == NULL) {
		scr_mem_free(d, b->len);
		scr_mem_free(k, b->n * sizeof(*k));
		fprintf(stderr, "pcap-baseline: out of memory\n");
		return -ENOMEM;
	}
	free(b->data);
	free(b->pkts);
	b->data = d;
	b->pkts = k;
	b->huge = 1;
	return 0;
}

/* base_load - read the whole file; 0 or -errno with a message printed */
static int base_load(const char *path, struct base_buf *b)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *p;
	pcap_t *pc;
	int rc = 0, r;

	pc = pcap_open_offline(path, errbuf);
	if (!pc) {
		fprintf(stderr, "pcap-baseline: %s: %s\n", path, errbuf);
		return -EINVAL;
	}
	while ((r = pcap_next_ex(pc, &h, &p)) == 1) {
		rc = base_append(b, p, h->caplen);
		if (rc) {
			fprintf(stderr, "pcap-baseline: %s: packet %zu: %s\n", path, b->n + 1,
				strerror(-rc));
			goto out;
		}
	}
	if (r == PCAP_ERROR) {
		fprintf(stderr, "pcap-baseline: %s: packet %zu: %s\n", path, b->n + 1,
			pcap_geterr(pc));
		rc = -EIO;
	}
out:
	pcap_close(pc);
	return rc;
}

/* base_touch - sum and xor of the Ethernet + IP header words of a packet */
static inline uint64_t base_touch(const uint8_t *p, uint32_t len)
{
	uint32_t n = len < 54 ? len : 54, i;
	uint64_t sum = 0, x = 0;

	for (i = 0; i + 4 <= n; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		sum += w;
		x ^= w;
	}
	return sum ^ (x << 1) ^ len;
}

/* base_read_all - every byte of a packet, 32 at a time (sum and xor of
 * the 8-byte words; the tail byte by byte): what a screener that reads
 * every payload byte pays for the reading alone */
static inline uint64_t base_read_all(const uint8_t *p, uint32_t len)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	uint32_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t w[4];

		memcpy(w, p + i, 32);
		s0 += w[0];
		s1 ^= w[1];
		s2 += w[2];
		s3 ^= w[3];
	}
	for (; i < len; i++)
		s0 += p[i];
	return s0 ^ (s1 << 1) ^ (s2 << 2) ^ (s3 << 3) ^ len;
}

/* base_now - monotonic seconds */
static double base_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* main - load, loop, report */
int main(int argc, char **argv)
{
	struct base_buf b = { 0 };
	const char *path = NULL;
	unsigned long loops = 1;
	int all = 0;
	uint64_t acc = 0, bytes = 0;
	double t0, dt;
	int status = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--loop") && i + 1 < argc) {
			char *end;

			errno = 0;
			loops = strtoul(argv[++i], &end, 10);
			if (errno || *end || loops == 0 || argv[i][0] == '-') {
				fprintf(stderr, "pcap-baseline: --loop: bad value \"%s\"\n", argv[i]);
				return 1;
			}
		} else if (!strcmp(argv[i], "--bytes")) {
			all = 1;
		} else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "usage: pcap-baseline FILE [--loop N] [--bytes]\n");
			return 1;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		fprintf(stderr, "usage: pcap-baseline FILE [--loop N] [--bytes]\n");
		return 1;
	}
	if (base_load(path, &b))
		goto out;
	if (base_huge(&b))
		goto out;
	t0 = base_now();
	for (unsigned long l = 0; l < loops; l++)
		for (size_t i = 0; i < b.n; i++) {
			const uint8_t *p = b.data + b.pkts[i].off;

			acc += all ? base_read_all(p, b.pkts[i].len) : base_touch(p, b.pkts[i].len);
			bytes += b.pkts[i].len;
		}
	dt = base_now() - t0;
	if (dt <= 0)
		dt = 1e-9;
	printf("packets total=%zu bytes=%zu\n", b.n, b.len);
	printf("rate seconds=%.6f pps=%.0f mpps=%.3f gbps=%.3f threads=1 loops=%lu\n", dt,
	       (double)b.n * loops / dt, (double)b.n * loops / dt / 1e6,
	       (double)bytes * 8 / dt / 1e9, loops);
	printf("checksum=%016llx\n", (unsigned long long)acc);
	status = 0;
out:
	if (b.huge) {
		scr_mem_free(b.data, b.len);
		scr_mem_free(b.pkts, b.n * sizeof(*b.pkts));
	} else {
		free(b.data);
		free(b.pkts);
	}
	return status;
}
