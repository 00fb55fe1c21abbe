/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_pcapin - the packets of one capture file, streamed in file order
 * DESCRIPTION
 *	See dp_pcapin.h. Our reader is the fast path: one read() per MiB
 *	into a page-aligned buffer, packets handed out where they lie (only
 *	a record split by the end of a buffer is copied, to the front of the
 *	next one). The libpcap reader is the general one.
 * THREADING
 *	One thread per reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_dl.h"
#include "dp_pcapin.h"
#include "scr_decode.h"
#include "scr_mem.h"

/* libpcap, opened by the first file that needs it (ctl_dl.h: every other
 * start of smtpscreen goes without it and the eight libraries it brings) */
static struct {
	CTL_DL_FN(pcap_fopen_offline_with_tstamp_precision);
	CTL_DL_FN(pcap_datalink);
	CTL_DL_FN(pcap_datalink_val_to_name);
	CTL_DL_FN(pcap_get_tstamp_precision);
	CTL_DL_FN(pcap_file);
	CTL_DL_FN(pcap_next_ex);
	CTL_DL_FN(pcap_geterr);
	CTL_DL_FN(pcap_close);
} P;

static const struct ctl_dl_sym pcap_syms[] = {
	CTL_DL_SYM(P, pcap_fopen_offline_with_tstamp_precision),
	CTL_DL_SYM(P, pcap_datalink),
	CTL_DL_SYM(P, pcap_datalink_val_to_name),
	CTL_DL_SYM(P, pcap_get_tstamp_precision),
	CTL_DL_SYM(P, pcap_file),
	CTL_DL_SYM(P, pcap_next_ex),
	CTL_DL_SYM(P, pcap_geterr),
	CTL_DL_SYM(P, pcap_close),
};
static const char *const pcap_sonames[] = {
	"libpcap.so.0.8", "libpcap.so.1", "libpcap.so", NULL
};
static struct ctl_dl pcap_lib = CTL_DL_INIT("libpcap", pcap_sonames, pcap_syms);

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du

struct dp_pcapin {
	const char *path;
	uint64_t count;		/* packets handed out */
	uint64_t size;		/* file size, 0 if unknown */
	char err[PCAP_ERRBUF_SIZE + 64];
	bool done;
	uint8_t link;
	uint8_t *buf;		/* DP_PCAPIN_NBUF slots of SLOT bytes */
	uint64_t cur;		/* chunk being read */
	uint64_t released;	/* chunks before this are free */
	/* our reader */
	int fd;			/* -1: libpcap's */
	const uint8_t *p, *end;	/* unread bytes of the current chunk */
	uint64_t pos;		/* file bytes read */
	uint32_t snapshot;
	bool swapped;
	bool nano;
	bool eof;
	/* libpcap's */
	pcap_t *pc;
	uint32_t used;		/* bytes of the current chunk */
	int tsmul;
};

/* A slot: room for the start of a record carried over from the chunk
 * before, then the page-aligned area each read() fills. */
#define PAD (DP_PCAPIN_CAPLEN_MAX + 4096)
#define SLOT (PAD + DP_PCAPIN_BUF_SIZE)

/* dp_pcapin_link - our link type for a pcap DLT or LINKTYPE; -1 if the
 * engine does not decode it */
int dp_pcapin_link(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return SCR_LINK_ETH;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
	case 101:	/* LINKTYPE_RAW as written by some tools */
		return SCR_LINK_RAW;
	case DLT_LINUX_SLL:
		return SCR_LINK_SLL;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return SCR_LINK_SLL2;
#endif
	case DLT_NULL:
		return SCR_LINK_NULL;
	default:
		return -1;
	}
}

/* rd32 - a 32-bit field of the file in its byte order */
static inline uint32_t rd32(const struct dp_pcapin *in, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return in->swapped ? __builtin_bswap32(v) : v;
}

/* rd16 - a 16-bit field of the file in its byte order */
static inline uint16_t rd16(const struct dp_pcapin *in, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return in->swapped ? __builtin_bswap16(v) : v;
}

/* slot - the buffer of chunk c */
static inline uint8_t *slot(const struct dp_pcapin *in, uint64_t c)
{
	return in->buf + (size_t)(c % DP_PCAPIN_NBUF) * SLOT;
}

/* file_open - our reader, if path is a classic pcap it can read;
 * 1 opened, 0 not for it (libpcap's turn, also for its messages on a
 * short or corrupt header: *rest is the file, at its start, for it),
 * -errno (cannot be opened, a directory, out of memory). The file is
 * opened once: a FIFO opened twice loses what its writer sent between. */
static int file_open(struct dp_pcapin *in, const char *path, int *rest)
{
	uint8_t h[24];
	uint32_t magic, lt, snap;
	struct stat st;
	int fd, link;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode))
		goto not_ours;		/* nothing read: a FIFO is not rewound */
	if (read(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		goto rewind;
	memcpy(&magic, h, 4);
	in->swapped = magic == __builtin_bswap32(MAGIC_US) ||
		      magic == __builtin_bswap32(MAGIC_NS);
	if (in->swapped)
		magic = __builtin_bswap32(magic);
	lt = rd32(in, h + 20);
	snap = rd32(in, h + 16);
	link = dp_pcapin_link((int)lt);
	/* version 2.4 only: 2.3 and older may have caplen and len swapped */
	if ((magic != MAGIC_US && magic != MAGIC_NS) ||
	    rd16(in, h + 4) != 2 || rd16(in, h + 6) != 4 ||
	    link < 0 || lt > 0xffff)
		goto rewind;
	in->buf = scr_mem_zalloc((size_t)DP_PCAPIN_NBUF * SLOT);
	if (in->buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	in->fd = fd;
	in->size = (uint64_t)st.st_size;
	in->pos = sizeof(h);
	in->p = in->end = slot(in, 0) + PAD;
	in->nano = magic == MAGIC_NS;
	in->link = (uint8_t)link;
	/* libpcap's (pcap_adjust_snapshot): only 0 and over INT_MAX are
	 * replaced; a bigger one stays, and shows in its messages */
	in->snapshot = snap == 0 || snap > INT32_MAX ? DP_PCAPIN_CAPLEN_MAX : snap;
	return 1;
rewind:
	if (lseek(fd, 0, SEEK_SET) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
not_ours:
	*rest = fd;
	return 0;
}

/* pcap_side_open - the libpcap reader of file fd (-1: standard input),
 * which it takes over */
static int pcap_side_open(struct dp_pcapin *in, const char *path, int fd,
			  char *err, size_t errlen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *f = stdin;
	int link, dlt;

	if (ctl_dl_load(&pcap_lib, errbuf, sizeof(errbuf)) < 0) {
		snprintf(err, errlen, "%s: %s needs %s", path,
			 fd < 0 ? "reading standard input" :
			 "a capture other than classic pcap (pcapng, another "
			 "link type)", errbuf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd >= 0 && (f = fdopen(fd, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	in->pc = P.pcap_fopen_offline_with_tstamp_precision(f,
		PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (in->pc == NULL) {
		snprintf(err, errlen, "%s: %s", path, errbuf);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	dlt = P.pcap_datalink(in->pc);
	link = dp_pcapin_link(dlt);
	if (link < 0) {
		snprintf(err, errlen, "%s: link type %s (%d) is not supported "
			 "(Ethernet, raw IP, Linux cooked, BSD loopback)", path,
			 P.pcap_datalink_val_to_name(dlt) ?
			 P.pcap_datalink_val_to_name(dlt) : "?", dlt);
		return -1;
	}
	in->link = (uint8_t)link;
	in->tsmul = P.pcap_get_tstamp_precision(in->pc) ==
		    PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
	in->buf = scr_mem_zalloc((size_t)DP_PCAPIN_NBUF * SLOT);
	if (in->buf == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	{
		struct stat st;

		if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
			in->size = (uint64_t)st.st_size;
	}
	return 0;
}

/* dp_pcapin_open - a reader for path ("-": standard input) */
struct dp_pcapin *dp_pcapin_open(const char *path, char *err, size_t errlen)
{
	struct dp_pcapin *in = calloc(1, sizeof(*in));
	int r = 0, rest = -1;

	if (in == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	in->path = path;
	in->fd = -1;
	if (strcmp(path, "-") != 0)
		r = file_open(in, path, &rest);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	if (r == 0)
		r = pcap_side_open(in, path, rest, err, errlen);
	if (r < 0) {
		dp_pcapin_close(in);
		return NULL;
	}
	return in;
}

/* file_fill - carry the unread bytes of the current chunk over to the
 * next one and read the file after them: 1, 0 at the end of the file,
 * -EAGAIN (the next chunk's buffer is in use), -EIO */
static int file_fill(struct dp_pcapin *in)
{
	size_t carry = (size_t)(in->end - in->p), got = 0;
	uint8_t *next;

	if (in->cur + 1 - in->released >= DP_PCAPIN_NBUF)
		return -EAGAIN;
	next = slot(in, in->cur + 1) + PAD;
	memcpy(next - carry, in->p, carry);
	while (got < DP_PCAPIN_BUF_SIZE) {
		ssize_t k = read(in->fd, next + got, DP_PCAPIN_BUF_SIZE - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(in->err, sizeof(in->err), "error reading dump "
				 "file: %s", strerror(errno));
			return -EIO;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	in->cur++;
	in->p = next - carry;
	in->end = next + got;
	in->pos += got;
	in->eof = got < DP_PCAPIN_BUF_SIZE;
	return got > 0 ? 1 : 0;
}

/* record - the packet of the whole record at p (its captured length
 * checked) */
static inline void record(const struct dp_pcapin *in, const uint8_t *p,
			  uint32_t caplen, struct dp_pcapin_pkt *pkt)
{
	/* As libpcap 1.10 reads them: signed in the machine's byte order
	 * (struct pcap_timeval's bpf_int32), unsigned when swapped (its
	 * SWAPLONG is unsigned arithmetic). They differ only from 2038 on,
	 * and replay must not depend on which reader read the file. */
	uint32_t us = rd32(in, p), uf = rd32(in, p + 4);
	int64_t sec = in->swapped ? (int64_t)us : (int64_t)(int32_t)us;
	int64_t frac = in->swapped ? (int64_t)uf : (int64_t)(int32_t)uf;

	pkt->data = p + 16;
	pkt->caplen = caplen > in->snapshot ? in->snapshot : caplen;
	pkt->wirelen = rd32(in, p + 12);
	pkt->ts_ns = (uint64_t)sec * 1000000000ull +
		     (uint64_t)frac * (in->nano ? 1u : 1000u);
	pkt->chunk = in->cur;
	pkt->link = in->link;
}

/* file_next - the next record, read in place */
static int file_next(struct dp_pcapin *in, struct dp_pcapin_pkt *p)
{
	uint32_t caplen = 0;
	size_t avail;
	int r;

	for (;;) {
		avail = (size_t)(in->end - in->p);
		if (avail >= 16) {
			caplen = rd32(in, in->p + 8);
			if (caplen > DP_PCAPIN_CAPLEN_MAX) {	/* libpcap's words */
				if (caplen > in->snapshot)
					snprintf(in->err, sizeof(in->err), "invalid "
						 "packet capture length %u, bigger than "
						 "snaplen of %u", caplen, in->snapshot);
				else
					snprintf(in->err, sizeof(in->err), "invalid "
						 "packet capture length %u, bigger than "
						 "maximum of %u", caplen,
						 DP_PCAPIN_CAPLEN_MAX);
				return -EIO;
			}
			if (avail - 16 >= caplen)
				break;
		}
		if (in->eof && avail == 0)
			return 0;
		if (!in->eof) {
			if ((r = file_fill(in)) < 0)
				return r;
			continue;
		}
		/* the file ends inside this record */
		if (avail < 16)
			snprintf(in->err, sizeof(in->err), "truncated dump file; "
				 "tried to read 16 header bytes, only got %zu", avail);
		else
			snprintf(in->err, sizeof(in->err), "truncated dump file; "
				 "tried to read %u captured bytes, only got %zu",
				 avail - 16 < in->snapshot && caplen > in->snapshot ?
				 in->snapshot : caplen, avail - 16);
		return -EIO;
	}
	record(in, in->p, caplen, p);
	in->p += 16 + (size_t)caplen;
	return 1;
}

/* dp_pcapin_many - up to max packets whose records are whole in the
 * buffer read last; how many (0: call dp_pcapin_next) */
unsigned dp_pcapin_many(struct dp_pcapin *in, struct dp_pcapin_pkt *pkt,
			unsigned max)
{
	const uint8_t *p = in->p;
	unsigned n;

	if (in->fd < 0 || in->done)
		return 0;
	for (n = 0; n < max; n++) {
		size_t avail = (size_t)(in->end - p);
		uint32_t caplen;

		if (avail < 16)
			break;
		caplen = rd32(in, p + 8);
		if (caplen > DP_PCAPIN_CAPLEN_MAX || avail - 16 < caplen)
			break;		/* dp_pcapin_next says what it is */
		record(in, p, caplen, &pkt[n]);
		p += 16 + (size_t)caplen;
	}
	in->p = p;
	in->count += n;
	return n;
}

/* pcap_side_next - the next packet from libpcap, copied into the ring */
static int pcap_side_next(struct dp_pcapin *in, struct dp_pcapin_pkt *p)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t *dst;
	int r;

	if (in->used + DP_PCAPIN_CAPLEN_MAX > SLOT) {
		if (in->cur + 1 - in->released >= DP_PCAPIN_NBUF)
			return -EAGAIN;
		in->cur++;
		in->used = 0;
	}
	r = P.pcap_next_ex(in->pc, &h, &data);
	if (r == PCAP_ERROR_BREAK)
		return 0;
	if (r != 1) {
		snprintf(in->err, sizeof(in->err), "%s", P.pcap_geterr(in->pc));
		return -EIO;
	}
	if (h->caplen > DP_PCAPIN_CAPLEN_MAX) {
		snprintf(in->err, sizeof(in->err), "invalid packet capture length "
			 "%u, bigger than maximum of %u", h->caplen,
			 DP_PCAPIN_CAPLEN_MAX);
		return -EIO;
	}
	dst = slot(in, in->cur) + in->used;
	memcpy(dst, data, h->caplen);
	in->used += (h->caplen + 63u) & ~63u;
	p->data = dst;
	p->caplen = h->caplen;
	p->wirelen = h->len;
	p->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull +
		   (uint64_t)h->ts.tv_usec * (uint64_t)in->tsmul;
	p->chunk = in->cur;
	p->link = in->link;
	return 1;
}

/* dp_pcapin_next - 1 and a packet, 0 at the end, -EAGAIN, -EIO */
int dp_pcapin_next(struct dp_pcapin *in, struct dp_pcapin_pkt *pkt)
{
	int r;

	if (in->done)
		return 0;
	r = in->fd >= 0 ? file_next(in, pkt) : pcap_side_next(in, pkt);
	if (r == 1)
		in->count++;
	else if (r != -EAGAIN)
		in->done = true;
	return r;
}

/* dp_pcapin_release - every packet of the chunks before chunk is done */
void dp_pcapin_release(struct dp_pcapin *in, uint64_t chunk)
{
	if (chunk > in->cur)
		chunk = in->cur;
	if (chunk > in->released)
		in->released = chunk;
}

/* dp_pcapin_error - why the last dp_pcapin_next() gave -EIO */
const char *dp_pcapin_error(const struct dp_pcapin *in)
{
	return in->err;
}

/* dp_pcapin_count - packets handed out */
uint64_t dp_pcapin_count(const struct dp_pcapin *in)
{
	return in->count;
}

/* dp_pcapin_pos - bytes read so far; 0 if unknown */
uint64_t dp_pcapin_pos(const struct dp_pcapin *in)
{
	FILE *f;
	off_t o;

	if (in->fd >= 0)
		return in->pos;
	f = P.pcap_file(in->pc);
	if (in->size == 0 || f == NULL || (o = ftello(f)) < 0)
		return 0;
	return (uint64_t)o;
}

/* dp_pcapin_size - the file's size; 0 if unknown */
uint64_t dp_pcapin_size(const struct dp_pcapin *in)
{
	return in->size;
}

/* dp_pcapin_close - close, free; NULL is fine */
void dp_pcapin_close(struct dp_pcapin *in)
{
	if (in == NULL)
		return;
	if (in->fd >= 0)
		close(in->fd);
	if (in->pc != NULL)
		P.pcap_close(in->pc);
	scr_mem_free(in->buf, (size_t)DP_PCAPIN_NBUF * SLOT);
	free(in);
}
