/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	pktblast - send prebuilt TCP SYN frames as fast as one core can, and
 *	say what each frame cost in wall time and in this process's CPU time
 * DESCRIPTION
 *	The traffic source of bench/xdp_sidebyside.sh. Builds a ring of
 *	Ethernet/IPv4/TCP SYN frames (MSS option, correct IP and TCP
 *	checksums, padded to 60 bytes) from --nsrc consecutive source
 *	addresses starting at --src, varying source port and sequence
 *	number, to --dst:--dport, then sends them through an AF_PACKET
 *	SOCK_RAW socket bound to the interface with PACKET_QDISC_BYPASS, in
 *	sendmmsg() batches, until --count frames were sent or --seconds
 *	passed. It receives nothing (the socket is bound to protocol 0).
 *
 *	On a veth pair the peer's receive path (XDP, tc, netfilter, IP, TCP,
 *	the RST it sends back) runs in softirq context on the sending CPU,
 *	mostly inside this process's system calls: this process's CPU time
 *	per frame therefore includes the receiver's cost of dropping it.
 *	Work deferred to ksoftirqd is not in this process's CPU time (the
 *	script measures ksoftirqd separately); it is in wall time only if
 *	ksoftirqd runs on the same core (the script pins both).
 *
 *	It does not pace, retransmit, or check what the receiver did.
 * CONTRACT
 *	pktblast -i IFACE --dst-mac MAC --src A.B.C.D --dst A.B.C.D
 *	         [--nsrc K] [--dport P] [--count N] [--seconds S]
 *	         [--batch B] [--write-frame FILE]
 *	Defaults: --nsrc 64, --dport 25, --count 2000000, --seconds 10,
 *	--batch 64. --write-frame writes the first frame to FILE and exits
 *	without sending (the input of `bpftool prog run ... data_in FILE`);
 *	-i is then not needed and the source MAC is 02:00:00:00:00:01.
 *	Prints one line:
 *	"pktblast frames=N sent=N tx_errors=N seconds=X fps=N
 *	 wall_ns_per_frame=X cpu_ns_per_frame=X user_ns_per_frame=X
 *	 sys_ns_per_frame=X"
 *	(frames = sent + tx_errors: every frame handed to the kernel).
 *	Exit 0, 1 with a message (socket, interface, send failure), 2 usage.
 * THREADING
 *	Single-threaded program.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLAST_FRAME_LEN	60	/* Ethernet minimum without FCS */
#define BLAST_L3_LEN	44	/* IPv4 20 + TCP 20 + MSS option 4 */
#define BLAST_RING	4096	/* prebuilt frames; a multiple of any batch */
#define BLAST_BATCH_MAX	256

struct blast_opts {
	const char *ifname, *write_frame;
	uint8_t dmac[6], smac[6];
	uint32_t src, dst;	/* host order */
	unsigned nsrc, dport, batch;
	unsigned long long count;
	double seconds;
};

struct blast_result {
	unsigned long long sent, errors;
	double wall_s, user_s, sys_s;
};

/* blast_usage - the synopsis; returns 2 */
static int blast_usage(void)
{
	fprintf(stderr,
		"usage: pktblast -i IFACE --dst-mac MAC --src A.B.C.D "
		"--dst A.B.C.D\n"
		"       [--nsrc K] [--dport P] [--count N] [--seconds S] "
		"[--batch B]\n"
		"       [--write-frame FILE]\n");
	return 2;
}

/* blast_csum_add - add bytes to a ones-complement sum */
static uint32_t blast_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* blast_csum_fold - fold and complement; network-order 16-bit result */
static uint16_t blast_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* blast_put16 - store a host-order value big-endian */
static void blast_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* blast_put32 - store a host-order value big-endian */
static void blast_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* blast_build - frame i of the ring into f (BLAST_FRAME_LEN bytes) */
static void blast_build(const struct blast_opts *o, unsigned i, uint8_t *f)
{
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12];
	uint32_t sum, seq = i * 2654435761u;
	uint16_t ck;

	memset(f, 0, BLAST_FRAME_LEN);
	memcpy(f, o->dmac, 6);
	memcpy(f + 6, o->smac, 6);
	blast_put16(f + 12, 0x0800);

	ip[0] = 0x45;
	blast_put16(ip + 2, BLAST_L3_LEN);
	blast_put16(ip + 4, (uint16_t)i);
	blast_put16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = 6;
	blast_put32(ip + 12, o->src + i % o->nsrc);
	blast_put32(ip + 16, o->dst);
	ck = blast_csum_fold(blast_csum_add(0, ip, 20));
	memcpy(ip + 10, &ck, 2);

	blast_put16(tcp, (uint16_t)(1024 + i % 60000));
	blast_put16(tcp + 2, (uint16_t)o->dport);
	blast_put32(tcp + 4, seq);
	tcp[12] = 6 << 4;			/* doff 6: one option word */
	tcp[13] = 0x02;				/* SYN */
	blast_put16(tcp + 14, 64240);
	tcp[20] = 2;				/* MSS 1460 */
	tcp[21] = 4;
	blast_put16(tcp + 22, 1460);
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	blast_put16(pseudo + 10, BLAST_L3_LEN - 20);
	sum = blast_csum_add(0, pseudo, sizeof(pseudo));
	sum = blast_csum_add(sum, tcp, BLAST_L3_LEN - 20);
	ck = blast_csum_fold(sum);
	memcpy(tcp + 16, &ck, 2);
}

/* blast_parse_mac - "aa:bb:cc:dd:ee:ff"; 0 or -EINVAL */
static int blast_parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6], i;
	char junk;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &junk) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

/* blast_parse_ulong - a whole decimal number in [lo, hi]; 0 or -EINVAL */
static int blast_parse_ulong(const char *s, unsigned long long lo,
			     unsigned long long hi, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v < lo || *v > hi)
		return -EINVAL;
	return 0;
}

/* blast_now - CLOCK_MONOTONIC in seconds */
static double blast_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* blast_tv - a struct timeval in seconds */
static double blast_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec * 1e-6;
}

/* blast_run - open the socket, send, measure; 0 or -errno */
static int blast_run(struct blast_opts *o, uint8_t *ring,
		     struct mmsghdr *msgs, struct iovec *iov,
		     struct blast_result *r)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct rusage ru0, ru1;
	struct ifreq ifr = {};
	unsigned long long want = o->count;
	unsigned idx = 0, i;
	double t0, deadline;
	int fd, one = 1, rc = 0;

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "pktblast: AF_PACKET socket: %s\n",
			strerror(errno));
		return rc;
	}
	if (strlen(o->ifname) >= sizeof(ifr.ifr_name)) {
		rc = -EINVAL;
		fprintf(stderr, "pktblast: interface %s: name too long\n",
			o->ifname);
		goto out;
	}
	strcpy(ifr.ifr_name, o->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		rc = -errno;
		fprintf(stderr, "pktblast: interface %s: %s\n", o->ifname,
			strerror(errno));
		goto out;
	}
	memcpy(o->smac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = (int)if_nametoindex(o->ifname);
	if (!sll.sll_ifindex) {
		rc = -errno;
		fprintf(stderr, "pktblast: interface %s: %s\n", o->ifname,
			strerror(errno));
		goto out;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) < 0) {
		rc = -errno;
		fprintf(stderr, "pktblast: PACKET_QDISC_BYPASS: %s\n",
			strerror(errno));
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		fprintf(stderr, "pktblast: bind to %s: %s\n", o->ifname,
			strerror(errno));
		goto out;
	}

	for (i = 0; i < BLAST_RING; i++) {
		blast_build(o, i, ring + (size_t)i * BLAST_FRAME_LEN);
		iov[i].iov_base = ring + (size_t)i * BLAST_FRAME_LEN;
		iov[i].iov_len = BLAST_FRAME_LEN;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	getrusage(RUSAGE_SELF, &ru0);
	t0 = blast_now();
	deadline = t0 + o->seconds;
	while (r->sent + r->errors < want) {
		unsigned long long left = want - r->sent - r->errors;
		unsigned n = o->batch;
		int sent;

		if (left < n)
			n = (unsigned)left;
		sent = sendmmsg(fd, &msgs[idx], n, 0);
		if (sent < 0) {
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != EINTR) {
				rc = -errno;
				fprintf(stderr, "pktblast: sendmmsg on %s: "
					"%s\n", o->ifname, strerror(errno));
				break;
			}
			r->errors++;	/* the first frame was refused */
			sent = 1;
		} else {
			r->sent += (unsigned)sent;
		}
		idx = (idx + (unsigned)sent) % BLAST_RING;
		if (idx + o->batch > BLAST_RING)
			idx = 0;	/* keep a whole batch inside the ring */
		if (blast_now() >= deadline)
			break;
	}
	r->wall_s = blast_now() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	r->user_s = blast_tv(&ru1.ru_utime) - blast_tv(&ru0.ru_utime);
	r->sys_s = blast_tv(&ru1.ru_stime) - blast_tv(&ru0.ru_stime);
out:
	close(fd);
	return rc;
}

/* blast_write_frame - frame 0 into a file; 0 or -errno */
static int blast_write_frame(struct blast_opts *o, const char *path)
{
	uint8_t f[BLAST_FRAME_LEN];
	FILE *fp;
	int rc = 0;

	memcpy(o->smac, "\x02\x00\x00\x00\x00\x01", 6);
	blast_build(o, 0, f);
	fp = fopen(path, "wb");
	if (!fp) {
		rc = -errno;
		fprintf(stderr, "pktblast: %s: %s\n", path, strerror(errno));
		return rc;
	}
	if (fwrite(f, 1, sizeof(f), fp) != sizeof(f))
		rc = -EIO;
	if (fclose(fp) && !rc)
		rc = -errno;
	if (rc)
		fprintf(stderr, "pktblast: %s: write failed\n", path);
	return rc;
}

/* main - pktblast */
int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dst-mac", required_argument, NULL, 'M' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "nsrc", required_argument, NULL, 'k' },
		{ "dport", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "write-frame", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct blast_opts o = { .nsrc = 64, .dport = 25, .batch = 64,
				.count = 2000000, .seconds = 10 };
	struct blast_result r = {};
	struct mmsghdr *msgs = NULL;
	struct iovec *iov = NULL;
	uint8_t *ring = NULL;
	unsigned long long v;
	int c, have_mac = 0, status = 1;
	struct in_addr a;
	double frames;

	while ((c = getopt_long(argc, argv, "i:", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'M':
			if (blast_parse_mac(optarg, o.dmac))
				return blast_usage();
			have_mac = 1;
			break;
		case 's':
		case 'd':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return blast_usage();
			if (c == 's')
				o.src = ntohl(a.s_addr);
			else
				o.dst = ntohl(a.s_addr);
			break;
		case 'k':
			if (blast_parse_ulong(optarg, 1, 65536, &v))
				return blast_usage();
			o.nsrc = (unsigned)v;
			break;
		case 'p':
			if (blast_parse_ulong(optarg, 1, 65535, &v))
				return blast_usage();
			o.dport = (unsigned)v;
			break;
		case 'n':
			if (blast_parse_ulong(optarg, 1, 1ull << 40, &v))
				return blast_usage();
			o.count = v;
			break;
		case 't':
			if (blast_parse_ulong(optarg, 1, 3600, &v))
				return blast_usage();
			o.seconds = (double)v;
			break;
		case 'b':
			if (blast_parse_ulong(optarg, 1, BLAST_BATCH_MAX, &v) ||
			    BLAST_RING % v)
				return blast_usage();
			o.batch = (unsigned)v;
			break;
		case 'w':
			o.write_frame = optarg;
			break;
		default:
			return blast_usage();
		}
	}
	if (optind != argc || !have_mac || !o.src || !o.dst)
		return blast_usage();
	if (o.write_frame)
		return blast_write_frame(&o, o.write_frame) ? 1 : 0;
	if (!o.ifname)
		return blast_usage();

	ring = aligned_alloc(64, (size_t)BLAST_RING * BLAST_FRAME_LEN);
	msgs = calloc(BLAST_RING, sizeof(*msgs));
	iov = calloc(BLAST_RING, sizeof(*iov));
	if (!ring || !msgs || !iov) {
		fprintf(stderr, "pktblast: out of memory\n");
		goto out;
	}
	if (blast_run(&o, ring, msgs, iov, &r))
		goto out;
	frames = (double)(r.sent + r.errors);
	if (frames == 0 || r.wall_s <= 0) {
		fprintf(stderr, "pktblast: no frame sent\n");
		goto out;
	}
	printf("pktblast frames=%llu sent=%llu tx_errors=%llu seconds=%.3f "
	       "fps=%.0f wall_ns_per_frame=%.1f cpu_ns_per_frame=%.1f "
	       "user_ns_per_frame=%.1f sys_ns_per_frame=%.1f\n",
	       r.sent + r.errors, r.sent, r.errors, r.wall_s,
	       frames / r.wall_s, r.wall_s * 1e9 / frames,
	       (r.user_s + r.sys_s) * 1e9 / frames, r.user_s * 1e9 / frames,
	       r.sys_s * 1e9 / frames);
	status = 0;
out:
	free(iov);
	free(msgs);
	free(ring);
	return status;
}
