/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_gen - seeded generator of labeled SMTP capture files (scr-gen)
 * DESCRIPTION
 *	Writes a classic pcap (DLT_EN10MB, microsecond timestamps) of
 *	complete, interleaved SMTP sessions as a capture point in front of
 *	the MTA would see them (server packets stamped when sent, client
 *	packets when they arrive), plus a CSV with one label row per screened
 *	SMTP session: client,client_port,server,server_port,class.
 *	Classes: good, pregreet, bare_newline, pipelining, non_smtp_command,
 *	helo, blocklisted (access list reject range); allowlisted sessions
 *	(access list permit range) get no label. Every bad session shows
 *	exactly one anomaly. Off by default (weight 0): smuggling (a relay
 *	that behaves, whose DATA or BDAT content hides a second message
 *	after a dot line bounded by a bare LF or CR), good_bare_lf (a good
 *	session whose body has bare-LF and bare-CR lines, dot-stuffed lines
 *	among them; labelled good), env_sender, env_recipient, env_unknown,
 *	env_access (labelled envelope: a non-FQDN sender, a non-FQDN
 *	recipient, a sender domain in .invalid, a sender in bulk.example.net;
 *	for the envelope checks). Noise: retransmissions, reordering of adjacent
 *	segments, duplicate ACKs on labeled flows; RST-aborted sessions,
 *	SYN scanners, ARP, ICMP, UDP, other ports (80, 443, 587) as
 *	unlabeled flows; 802.1Q/QinQ tags and IPv6 on a share of flows.
 *	Address plan (keep examples/access.cidr consistent with it):
 *	  labeled clients  198.18.0.0/16, 198.19.0.0/17, then 2001:db8:1::/48
 *	  deny (blocklisted) 198.19.128.0/18, 2001:db8:dead::/48
 *	  permit (allowlisted) 198.19.254.0/24, 2001:db8:beef::/48
 *	  noise clients    198.19.192.0/19, 2001:db8:2::/48
 *	  servers          198.19.255.10-41, 2001:db8:ffff::10-2f (port 25);
 *	                   DNS resolver 198.19.255.2, 2001:db8:ffff::53
 *	  SYN flood sources 198.19.224.0/20 (4096), then 2001:db8:f000::/48
 *	  slowloris clients 198.19.240.0/24
 *	It does not screen anything itself and knows nothing of smtpscreen.
 *
 *	Load (unlabeled, off by default; the labeled sessions and noise are
 *	the same with or without them, from their own random streams):
 *	--syn-flood N writes N spoofed SYNs to port 25 of the servers, one
 *	per distinct source address, never answered, spread evenly over the
 *	capture's time span (found by a first pass that writes nothing) or
 *	at --flood-rate per second from the capture's start. They are built
 *	and written one at a time while the sessions are merged in, so N
 *	costs no memory. --slowloris N adds N clients that connect, get the
 *	greeting, then send one byte of "EHLO xxx..." every --slowloris-gap
 *	seconds, --slowloris-bytes bytes, never a whole line; the server
 *	only ACKs; then the client closes. Their starts are spread evenly
 *	over the first gap.
 * CONTRACT
 *	scr-gen --seed S --flows N [--mix good=70,pregreet=5,...] [--noise PCT]
 *	        [--v6 PCT] [--vlan PCT] [--no-pipelining-server PCT] [--rate N]
 *	        [--syn-flood N [--flood-rate PPS]]
 *	        [--slowloris N [--slowloris-gap SEC] [--slowloris-bytes K]]
 *	        -o out.pcap --labels out.csv
 *	Exit 0 on success, 1 with a message on stderr (bad option, I/O error,
 *	out of memory). The same arguments give byte-identical files; without
 *	the load options the output is what it was before they existed.
 *	A summary goes to stderr (a "load" line only with load options).
 * THREADING
 *	Single-threaded program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_TS_BASE	1704067200ull	/* 2024-01-01T00:00:00Z */
#define GEN_NSERVERS	32
#define GEN_DELACK_US	40000u
#define GEN_MAXRCPT	5

/* ------------------------------------------------------------------ */
/* Classes and kinds (enums with name tables)                           */

enum gen_class {
	GEN_C_GOOD = 0,
	GEN_C_PREGREET,
	GEN_C_BARE_NEWLINE,
	GEN_C_PIPELINING,
	GEN_C_NON_SMTP,
	GEN_C_HELO,
	GEN_C_BLOCKLISTED,
	GEN_C_ALLOWLISTED,	/* no label row */
	GEN_C_HARVEST,		/* reply bans: unknown recipients (label reply_ban) */
	GEN_C_AUTH,		/* reply bans: AUTH guessing (label reply_ban) */
	GEN_C_SMUGGLING,
	GEN_C_GOOD_BARE_LF,	/* labelled good */
	GEN_C_ENV_SENDER,	/* envelope checks (label envelope): a sender
				 * without a domain or with a dotless one */
	GEN_C_ENV_RECIPIENT,	/* ... a recipient in a dotless domain */
	GEN_C_ENV_UNKNOWN,	/* ... a sender domain in .invalid (NXDOMAIN) */
	GEN_C_ENV_ACCESS,	/* ... a sender in bulk.example.net (an access
				 * table rejects it) */
	GEN_C_MAX
};

static const char *const gen_class_name[GEN_C_MAX] = {
	"good", "pregreet", "bare_newline", "pipelining", "non_smtp_command",
	"helo", "blocklisted", "allowlisted", "harvest", "auth", "smuggling",
	"good_bare_lf", "env_sender", "env_recipient", "env_unknown", "env_access",
};
/* the class in the labels file */
static const char *const gen_class_label[GEN_C_MAX] = {
	"good", "pregreet", "bare_newline", "pipelining", "non_smtp_command",
	"helo", "blocklisted", "allowlisted", "reply_ban", "reply_ban",
	"smuggling", "good", "envelope", "envelope", "envelope", "envelope",
};

enum gen_noise {
	GEN_N_RST = 0,		/* session aborted by RST: no label */
	GEN_N_SYNSCAN,
	GEN_N_PORT,		/* 80, 443, 587 */
	GEN_N_ARP,
	GEN_N_ICMP,
	GEN_N_UDP,
	GEN_N_MAX
};

static const char *const gen_noise_name[GEN_N_MAX] = {
	"rst_session", "syn_scan", "other_port", "arp", "icmp", "udp",
};
static const unsigned gen_noise_weight[GEN_N_MAX] = { 25, 20, 25, 8, 10, 12 };

enum gen_dir { GEN_D_CLI = 0, GEN_D_SRV, GEN_D_NONE };
enum gen_kind { GEN_K_CTRL = 0, GEN_K_DATA, GEN_K_ACK, GEN_K_END, GEN_K_OTHER };

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* gen_die - report an impossible state and abort */
static void gen_die(const char *what)
{
	fprintf(stderr, "scr-gen: internal error: %s\n", what);
	abort();
}

/* ------------------------------------------------------------------ */
/* PRNG: xoshiro256**, seeded through splitmix64                        */

struct gen_rng {
	uint64_t s[4];
};

/* gen_splitmix - one splitmix64 step (seeding) */
static uint64_t gen_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* gen_rng_seed - seed a generator from one 64-bit value */
static void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = gen_splitmix(&x);
}

/* gen_rotl - rotate left */
static inline uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* gen_rng_next - next 64 random bits */
static uint64_t gen_rng_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rotl(s[3], 45);
	return res;
}

/* gen_below - uniform in [0, n) */
static uint64_t gen_below(struct gen_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	return (uint64_t)(((unsigned __int128)gen_rng_next(r) * n) >> 64);
}

/* gen_range - uniform in [lo, hi] */
static uint64_t gen_range(struct gen_rng *r, uint64_t lo, uint64_t hi)
{
	return lo + gen_below(r, hi - lo + 1);
}

/* gen_unit - uniform in [0, 1) */
static double gen_unit(struct gen_rng *r)
{
	return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53;
}

/* gen_chance - true with probability pct percent */
static int gen_chance(struct gen_rng *r, double pct)
{
	return gen_unit(r) * 100.0 < pct;
}

/* gen_logu - log-uniform integer in [lo, hi] (lo >= 1) */
static uint64_t gen_logu(struct gen_rng *r, uint64_t lo, uint64_t hi)
{
	double v = (double)lo * pow((double)hi / (double)lo, gen_unit(r));
	uint64_t x = (uint64_t)v;

	return x < lo ? lo : x > hi ? hi : x;
}

/* gen_pick - one element of a NULL-free string array */
#define gen_pick(r, arr) ((arr)[gen_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ------------------------------------------------------------------ */
/* Packets, the time-ordered heap and the pcap writer                   */

struct gen_pkt {
	uint64_t ts;		/* microseconds since GEN_TS_BASE */
	uint64_t order;		/* global tie-break: creation order */
	uint32_t len;
	uint8_t dir;		/* enum gen_dir */
	uint8_t kind;		/* enum gen_kind */
	uint8_t data[];
};

struct gen_heap {
	struct gen_pkt **v;
	size_t n, cap;
};

/* gen_pkt_less - heap order: time, then creation order */
static inline int gen_pkt_less(const struct gen_pkt *a, const struct gen_pkt *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

/* gen_heap_push - insert a packet; 0 or -ENOMEM */
static int gen_heap_push(struct gen_heap *h, struct gen_pkt *p)
{
	size_t i;

	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 4096;
		struct gen_pkt **nv = realloc(h->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		h->v = nv;
		h->cap = ncap;
	}
	i = h->n++;
	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (!gen_pkt_less(p, h->v[up]))
			break;
		h->v[i] = h->v[up];
		i = up;
	}
	h->v[i] = p;
	return 0;
}

/* gen_heap_pop - remove and return the earliest packet */
static struct gen_pkt *gen_heap_pop(struct gen_heap *h)
{
	struct gen_pkt *top = h->v[0], *last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && gen_pkt_less(h->v[c + 1], h->v[c]))
			c++;
		if (!gen_pkt_less(h->v[c], last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* gen_put32 / gen_put16 - little-endian (host) pcap header fields */
static void gen_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* gen_be16 - network order 16 bits */
static inline void gen_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* gen_be32 - network order 32 bits */
static inline void gen_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* gen_pcap_header - classic pcap global header, little-endian magic */
static int gen_pcap_header(FILE *fp)
{
	uint8_t h[24];

	gen_le32(h, 0xa1b2c3d4u);
	h[4] = 2; h[5] = 0; h[6] = 4; h[7] = 0;		/* version 2.4 */
	gen_le32(h + 8, 0);				/* thiszone */
	gen_le32(h + 12, 0);				/* sigfigs */
	gen_le32(h + 16, 65535);			/* snaplen */
	gen_le32(h + 20, 1);				/* DLT_EN10MB */
	return fwrite(h, sizeof(h), 1, fp) == 1 ? 0 : -EIO;
}

/* gen_pcap_write - one record */
static int gen_pcap_write(FILE *fp, const struct gen_pkt *p)
{
	uint8_t h[16];
	uint64_t sec = GEN_TS_BASE + p->ts / 1000000u;

	gen_le32(h, (uint32_t)sec);
	gen_le32(h + 4, (uint32_t)(p->ts % 1000000u));
	gen_le32(h + 8, p->len);
	gen_le32(h + 12, p->len);
	if (fwrite(h, sizeof(h), 1, fp) != 1 || fwrite(p->data, p->len, 1, fp) != 1)
		return -EIO;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Frame building                                                       */

struct gen_l2 {
	uint8_t tags;		/* 0 none, 1 802.1Q, 2 QinQ (802.1ad + 802.1Q) */
	uint16_t vid_out, vid_in;
};

/* gen_csum_add - add bytes to a ones' complement sum (odd tail padded) */
static uint32_t gen_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* gen_csum_fold - fold and complement */
static uint16_t gen_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* gen_l2_write - Ethernet header and tags; returns its length */
static size_t gen_l2_write(uint8_t *p, const uint8_t *dst, const uint8_t *src,
			   const struct gen_l2 *l2, uint16_t ethertype)
{
	size_t o = 12;

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	if (l2->tags == 2) {
		gen_be16(p + o, 0x88a8);
		gen_be16(p + o + 2, l2->vid_out);
		o += 4;
	}
	if (l2->tags >= 1) {
		gen_be16(p + o, 0x8100);
		gen_be16(p + o + 2, l2->vid_in);
		o += 4;
	}
	gen_be16(p + o, ethertype);
	return o + 2;
}

struct gen_ip {
	int v6;
	const uint8_t *src, *dst;	/* 4 or 16 bytes */
	uint8_t proto, ttl;
	uint16_t ipid;
	uint32_t flowlabel;
};

/* gen_ip_frame - Ethernet + IP + L4 (l4 checksum at csum_off, or -1)
 * into a new packet; NULL on ENOMEM. Short frames are padded to 60. */
static struct gen_pkt *gen_ip_frame(const struct gen_l2 *l2, const uint8_t *dmac,
				    const uint8_t *smac, const struct gen_ip *ip,
				    uint8_t *l4, size_t l4len, int csum_off)
{
	size_t iphl = ip->v6 ? 40 : 20, cap = 14 + 8 + iphl + l4len, o;
	struct gen_pkt *p;
	uint8_t *d;

	if (csum_off >= 0) {
		uint32_t sum = 0;

		l4[csum_off] = l4[csum_off + 1] = 0;
		if (ip->v6 || ip->proto != 1) {
			uint8_t ph[4];

			sum = gen_csum_add(sum, ip->src, ip->v6 ? 16 : 4);
			sum = gen_csum_add(sum, ip->dst, ip->v6 ? 16 : 4);
			if (ip->v6) {
				gen_be32(ph, (uint32_t)l4len);
				sum = gen_csum_add(sum, ph, 4);
				sum += ip->proto;
			} else {
				sum += ip->proto;
				sum += (uint32_t)l4len;
			}
		}
		sum = gen_csum_add(sum, l4, l4len);
		uint16_t c = gen_csum_fold(sum);
		if (c == 0 && ip->proto == 17)
			c = 0xffff;
		gen_be16(l4 + csum_off, c);
	}
	if (cap < 60)
		cap = 60;
	p = malloc(sizeof(*p) + cap);
	if (!p)
		return NULL;
	d = p->data;
	o = gen_l2_write(d, dmac, smac, l2, ip->v6 ? 0x86dd : 0x0800);
	if (ip->v6) {
		gen_be32(d + o, 0x60000000u | (ip->flowlabel & 0xfffff));
		gen_be16(d + o + 4, (uint16_t)l4len);
		d[o + 6] = ip->proto;
		d[o + 7] = ip->ttl;
		memcpy(d + o + 8, ip->src, 16);
		memcpy(d + o + 24, ip->dst, 16);
	} else {
		d[o] = 0x45;
		d[o + 1] = 0;
		gen_be16(d + o + 2, (uint16_t)(20 + l4len));
		gen_be16(d + o + 4, ip->ipid);
		gen_be16(d + o + 6, ip->proto == 6 ? 0x4000 : 0);
		d[o + 8] = ip->ttl;
		d[o + 9] = ip->proto;
		d[o + 10] = d[o + 11] = 0;
		memcpy(d + o + 12, ip->src, 4);
		memcpy(d + o + 16, ip->dst, 4);
		gen_be16(d + o + 10, gen_csum_fold(gen_csum_add(0, d + o, 20)));
	}
	o += iphl;
	memcpy(d + o, l4, l4len);
	o += l4len;
	if (o < 60) {
		memset(d + o, 0, 60 - o);
		o = 60;
	}
	p->len = (uint32_t)o;
	return p;
}

/* ------------------------------------------------------------------ */
/* Flows: one TCP connection (or one noise exchange)                    */

struct gen_ctx;

struct gen_flow {
	struct gen_ctx *ctx;
	struct gen_rng rng;
	struct gen_l2 l2;
	int v6;
	uint8_t cmac[6], smac[6];
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	uint32_t c_nxt, s_nxt;	/* next sequence number each side sends */
	uint32_t c_rcv;		/* what the client acknowledges */
	uint16_t c_ipid, s_ipid;
	uint8_t c_ttl, s_ttl;
	uint32_t c_fl, s_fl;	/* IPv6 flow labels */
	uint16_t c_mss, s_mss, mss;
	uint64_t rtt;		/* microseconds */
	uint64_t bw;		/* bit/s of the client's path */
	uint64_t t;		/* time cursor, capture point */
	uint64_t c_last, s_last;	/* time of each side's last data */
	int c_unacked, s_unacked;
	unsigned rst_after;	/* abort with RST after this many packets */
	int rst_dir;
	int dead;
	struct gen_pkt **pk;
	size_t npk, cap;
	int err;		/* -ENOMEM once something failed */
};

struct gen_opts {
	uint64_t seed;
	uint64_t flows;
	unsigned mix[GEN_C_MAX];
	double noise, v6, vlan, nopipe;
	double stale;		/* --stale-rcpt: good sessions with unknown
				 * recipients (550 5.1.1) among theirs */
	double rate;		/* flow arrivals per second (Poisson) */
	uint64_t syn_flood;	/* spoofed SYNs (0: none) */
	uint64_t flood_rate;	/* SYNs per second (0: spread over the span) */
	uint64_t slowloris;	/* slow clients (0: none) */
	uint64_t slow_gap;	/* seconds between their bytes */
	uint64_t slow_bytes;	/* bytes each sends */
	const char *out, *labels;
};

struct gen_ctx {
	struct gen_opts o;
	struct gen_rng rng;
	struct gen_heap heap;
	FILE *pcap, *csv;
	uint64_t order;
	/* address pools: next index */
	uint64_t pool_v4, pool_v6, pool_deny4, pool_deny6, pool_perm4, pool_perm6;
	uint64_t pool_noise;
	/* text for bodies */
	char *corpus;
	size_t corpus_len;
	uint32_t *lines;	/* start offsets of corpus lines */
	size_t nlines;
	char *buf;		/* scratch for bodies */
	size_t bufcap;
	/* counters */
	uint64_t n_class[GEN_C_MAX], n_noise[GEN_N_MAX], n_v6, n_vlan, n_perturbed;
	uint64_t n_pkts, n_bytes;
	/* load: the SYN flood stream and the slowloris clients */
	int dry;		/* first pass: measure the span, write nothing */
	uint64_t last_ts;	/* latest packet time written (or measured) */
	struct gen_rng frng;	/* flood's own stream */
	struct gen_rng srng;	/* slowloris' own stream */
	uint64_t flood_i;	/* next flood SYN */
	uint64_t flood_span;	/* microseconds the flood is spread over */
	uint64_t n_flood, n_flood_v6, n_slow;
};

static const uint8_t gen_router_mac[6] = { 0x02, 0x52, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t gen_v4_server_net[3] = { 198, 19, 255 };

/* gen_flow_add - append a built packet to the flow */
static void gen_flow_add(struct gen_flow *f, struct gen_pkt *p, uint64_t ts,
			 enum gen_dir dir, enum gen_kind kind)
{
	if (!p) {
		f->err = -ENOMEM;
		return;
	}
	if (f->npk == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct gen_pkt **nv = realloc(f->pk, ncap * sizeof(*nv));

		if (!nv) {
			free(p);
			f->err = -ENOMEM;
			return;
		}
		f->pk = nv;
		f->cap = ncap;
	}
	p->ts = ts;
	p->order = f->ctx->order++;
	p->dir = (uint8_t)dir;
	p->kind = (uint8_t)kind;
	f->pk[f->npk++] = p;
}

/* gen_tcp_raw - build one TCP segment of the flow without touching state */
static struct gen_pkt *gen_tcp_raw(struct gen_flow *f, enum gen_dir dir, uint8_t flags,
				   uint32_t seq, uint32_t ack, const void *data, size_t len)
{
	uint8_t l4[20 + 12 + 1600];
	size_t hl = 20;
	int cli = dir == GEN_D_CLI;
	struct gen_ip ip = {
		.v6 = f->v6, .proto = 6,
		.src = cli ? f->caddr : f->saddr, .dst = cli ? f->saddr : f->caddr,
		.ttl = cli ? f->c_ttl : f->s_ttl,
		.ipid = cli ? f->c_ipid++ : f->s_ipid++,
		.flowlabel = cli ? f->c_fl : f->s_fl,
	};

	if (len > 1600)
		gen_die("segment too long");
	gen_be16(l4, cli ? f->cport : f->sport);
	gen_be16(l4 + 2, cli ? f->sport : f->cport);
	gen_be32(l4 + 4, seq);
	gen_be32(l4 + 8, (flags & TH_ACK) ? ack : 0);
	l4[13] = flags;
	if (flags & TH_SYN) {
		uint8_t *o = l4 + 20;

		o[0] = 2; o[1] = 4;
		gen_be16(o + 2, cli ? f->c_mss : f->s_mss);
		o[4] = 1; o[5] = 1; o[6] = 4; o[7] = 2;		/* NOP NOP SACK-permitted */
		o[8] = 1; o[9] = 3; o[10] = 3; o[11] = 7;	/* NOP window scale 7 */
		hl = 32;
		gen_be16(l4 + 14, cli ? 64240 : 65160);
	} else if (flags & TH_RST) {
		gen_be16(l4 + 14, 0);
	} else {
		gen_be16(l4 + 14, cli ? 502 : 509);
	}
	l4[12] = (uint8_t)((hl / 4) << 4);
	l4[16] = l4[17] = l4[18] = l4[19] = 0;
	if (len)
		memcpy(l4 + hl, data, len);
	return gen_ip_frame(&f->l2, cli ? f->smac : gen_router_mac,
			    cli ? gen_router_mac : f->smac, &ip, l4, hl + len, 16);
}

/* gen_tcp - emit one segment at ts, advancing sequence state; honours the
 * RST-abort point of noise flows */
static void gen_tcp(struct gen_flow *f, enum gen_dir dir, uint8_t flags,
		    const void *data, size_t len, uint64_t ts)
{
	uint32_t *nxt = dir == GEN_D_CLI ? &f->c_nxt : &f->s_nxt;
	uint32_t ack = dir == GEN_D_CLI ? f->c_rcv : f->c_nxt;
	enum gen_kind kind;

	if (f->dead)
		return;
	if (f->rst_after && f->npk >= f->rst_after) {
		enum gen_dir rd = (enum gen_dir)f->rst_dir;
		uint32_t rseq = rd == GEN_D_CLI ? f->c_nxt : f->s_nxt;
		uint32_t rack = rd == GEN_D_CLI ? f->s_nxt : f->c_nxt;

		gen_flow_add(f, gen_tcp_raw(f, rd, TH_RST | TH_ACK, rseq, rack, NULL, 0),
			     ts, rd, GEN_K_END);
		f->dead = 1;
		return;
	}
	if (flags & (TH_SYN))
		kind = GEN_K_CTRL;
	else if (flags & (TH_FIN | TH_RST))
		kind = GEN_K_END;
	else if (len)
		kind = GEN_K_DATA;
	else
		kind = GEN_K_ACK;
	gen_flow_add(f, gen_tcp_raw(f, dir, flags, *nxt, ack, data, len), ts, dir, kind);
	*nxt += (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

/* gen_pure_ack - a pure ACK from dir at ts (the client acks all server data) */
static void gen_pure_ack(struct gen_flow *f, enum gen_dir dir, uint64_t ts)
{
	if (dir == GEN_D_CLI)
		f->c_rcv = f->s_nxt;
	gen_tcp(f, dir, TH_ACK, NULL, 0, ts);
}

/* gen_send - send a write of len bytes from dir starting at ts: segments at
 * the MSS in bursts of the congestion window, the receiver ACKing every
 * second full segment; leaves f->t at the last segment */
static void gen_send(struct gen_flow *f, enum gen_dir dir, const uint8_t *p,
		     size_t len, uint64_t ts)
{
	uint64_t gap = (uint64_t)f->mss * 8u * 1000000u / f->bw + 1;
	uint64_t t = ts, burst_start = ts;
	unsigned cwnd = 10, in_burst = 0, full = 0;
	enum gen_dir other = dir == GEN_D_CLI ? GEN_D_SRV : GEN_D_CLI;
	size_t off = 0;

	while (off < len) {
		size_t n = len - off > f->mss ? f->mss : len - off;
		int last = off + n == len;

		gen_tcp(f, dir, TH_ACK | (last ? TH_PSH : 0), p + off, n, t);
		off += n;
		if (n == f->mss && ++full == 2 && !last) {
			uint64_t ad = gen_range(&f->rng, 10, 60) + (dir == GEN_D_SRV ? f->rtt : 0);

			gen_pure_ack(f, other, t + ad);
			full = 0;
		}
		if (last)
			break;
		if (++in_burst == cwnd) {
			uint64_t nt = burst_start + f->rtt + gen_range(&f->rng, 20, 200);

			t = nt > t + gap ? nt : t + gap;
			burst_start = t;
			in_burst = 0;
			cwnd = cwnd * 2 > 64 ? 64 : cwnd * 2;
		} else {
			t += gap;
		}
	}
	f->t = t;
	if (dir == GEN_D_CLI) {
		f->c_last = t;
		f->c_unacked = 1;
		f->s_unacked = f->c_rcv != f->s_nxt;
	} else {
		f->s_last = t;
		f->s_unacked = 1;
		f->c_unacked = 0;
	}
}

/* gen_say - dir writes p at absolute time ts; first emits the delayed ACKs
 * the receivers would have sent while waiting */
static void gen_say(struct gen_flow *f, enum gen_dir dir, const void *p, size_t len,
		    uint64_t ts)
{
	/* server's delayed ACK for client data it did not answer at once */
	if (f->c_unacked && ts > f->c_last + GEN_DELACK_US) {
		gen_pure_ack(f, GEN_D_SRV, f->c_last + gen_range(&f->rng, 200, GEN_DELACK_US));
		f->c_unacked = 0;
	}
	/* client's delayed ACK for server data (it arrives one RTT later) */
	if (f->s_unacked && ts > f->s_last + f->rtt + GEN_DELACK_US) {
		gen_pure_ack(f, GEN_D_CLI, f->s_last + f->rtt + GEN_DELACK_US);
		f->s_unacked = 0;
	}
	gen_send(f, dir, p, len, ts);
}

/* gen_srv - server writes text after think microseconds */
static void gen_srv(struct gen_flow *f, const char *text, uint64_t think)
{
	gen_say(f, GEN_D_SRV, text, strlen(text), f->t + think);
}

/* gen_cli - client reacts to all server output: one RTT plus think */
static void gen_cli_n(struct gen_flow *f, const void *p, size_t len, uint64_t think)
{
	uint64_t ts = f->t + f->rtt + think;

	if (f->s_unacked && think > GEN_DELACK_US) {
		gen_pure_ack(f, GEN_D_CLI, f->t + f->rtt + GEN_DELACK_US);
		f->s_unacked = 0;
	}
	f->c_rcv = f->s_nxt;
	gen_say(f, GEN_D_CLI, p, len, ts);
}

/* gen_cli - string form of gen_cli_n */
static void gen_cli(struct gen_flow *f, const char *text, uint64_t think)
{
	gen_cli_n(f, text, strlen(text), think);
}

/* gen_cli_more - client continues writing (no new server input seen) */
static void gen_cli_more(struct gen_flow *f, const void *p, size_t len, uint64_t delay)
{
	gen_say(f, GEN_D_CLI, p, len, f->t + delay);
}

/* gen_handshake - SYN, SYN/ACK, ACK; f->t ends at the client's ACK */
static void gen_handshake(struct gen_flow *f)
{
	uint64_t t = f->t;

	gen_tcp(f, GEN_D_CLI, TH_SYN, NULL, 0, t);
	t += gen_range(&f->rng, 15, 150);
	gen_tcp(f, GEN_D_SRV, TH_SYN | TH_ACK, NULL, 0, t);
	t += f->rtt;
	f->c_rcv = f->s_nxt;
	gen_tcp(f, GEN_D_CLI, TH_ACK, NULL, 0, t);
	f->t = t;
	f->c_last = f->s_last = t;
	f->c_unacked = f->s_unacked = 0;
}

/* gen_close - FIN exchange, first closes after delay */
static void gen_close(struct gen_flow *f, enum gen_dir first, uint64_t delay)
{
	uint64_t t = f->t + delay;

	if (first == GEN_D_SRV) {
		gen_tcp(f, GEN_D_SRV, TH_FIN | TH_ACK, NULL, 0, t);
		t += f->rtt + gen_range(&f->rng, 30, 2000);
		f->c_rcv = f->s_nxt;
		gen_tcp(f, GEN_D_CLI, TH_FIN | TH_ACK, NULL, 0, t);
		t += gen_range(&f->rng, 10, 80);
		gen_tcp(f, GEN_D_SRV, TH_ACK, NULL, 0, t);
	} else {
		if (f->s_unacked)
			f->c_rcv = f->s_nxt;
		gen_tcp(f, GEN_D_CLI, TH_FIN | TH_ACK, NULL, 0, t);
		t += gen_range(&f->rng, 100, 5000);
		gen_tcp(f, GEN_D_SRV, TH_FIN | TH_ACK, NULL, 0, t);
		t += f->rtt;
		f->c_rcv = f->s_nxt;
		gen_tcp(f, GEN_D_CLI, TH_ACK, NULL, 0, t);
	}
	f->t = t;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                            */

/* gen_v4 - write an IPv4 address as 4 bytes */
static void gen_v4(uint8_t *a, unsigned b0, unsigned b1, unsigned b2, unsigned b3)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)b0;
	a[1] = (uint8_t)b1;
	a[2] = (uint8_t)b2;
	a[3] = (uint8_t)b3;
}

/* gen_v6 - 2001:db8:<w2>:<w3>::<idx> style address */
static void gen_v6(uint8_t *a, uint16_t w2, uint16_t w3, uint64_t idx)
{
	memset(a, 0, 16);
	a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
	gen_be16(a + 4, w2);
	gen_be16(a + 6, w3);
	gen_be32(a + 8, (uint32_t)(idx >> 32));
	gen_be32(a + 12, (uint32_t)idx + 1);
}

/* gen_v6_client - a client address of pool w2: each in a /64 of its own, as
 * smtpscreen counts, caches and blocks IPv6 clients per /64 by default
 * (smtpscreen_client_ipv6_prefix_length): the client pool (w2 = 1) spreads
 * over 2001:db8:1::/48 and up (32 bits), the other pools stay in their /48
 * (the access lists' 2001:db8:dead::/48, beef, the flood's f000) and wrap
 * after 65,536 clients */
static void gen_v6_client(uint8_t *a, uint16_t w2, uint64_t idx)
{
	gen_v6(a, w2, (uint16_t)idx, idx);
	if (w2 == 1)
		gen_be32(a + 4, (1u << 16) + (uint32_t)idx);
}

/* gen_v4_from_index - index into a pool of /24s, skipping .0 and .255;
 * base is the first /24 as a 24-bit number; returns 0 or -ENOSPC */
static int gen_v4_from_index(uint8_t *a, uint32_t base24, uint32_t n24, uint64_t idx)
{
	uint64_t net = idx / 254;

	if (net >= n24)
		return -ENOSPC;
	uint32_t x = base24 + (uint32_t)net;
	gen_v4(a, x >> 16, (x >> 8) & 0xff, x & 0xff, (unsigned)(idx % 254) + 1);
	return 0;
}

/* gen_client_addr - a client address for a class; sets f->v6 */
static void gen_client_addr(struct gen_ctx *c, struct gen_flow *f, enum gen_class cls,
			    int want_v6)
{
	switch (cls) {
	case GEN_C_BLOCKLISTED:
		/* 198.19.128.0/18 */
		if (!want_v6 && gen_v4_from_index(f->caddr, (198u << 16) | (19u << 8) | 128u,
						  64, c->pool_deny4) == 0) {
			c->pool_deny4++;
			f->v6 = 0;
			return;
		}
		gen_v6_client(f->caddr, 0xdead, c->pool_deny6++);
		f->v6 = 1;
		return;
	case GEN_C_ALLOWLISTED:
		if (!want_v6 && gen_v4_from_index(f->caddr, (198u << 16) | (19u << 8) | 254u,
						  1, c->pool_perm4) == 0) {
			c->pool_perm4++;
			f->v6 = 0;
			return;
		}
		gen_v6_client(f->caddr, 0xbeef, c->pool_perm6++);
		f->v6 = 1;
		return;
	case GEN_C_GOOD:
	case GEN_C_PREGREET:
	case GEN_C_BARE_NEWLINE:
	case GEN_C_PIPELINING:
	case GEN_C_NON_SMTP:
	case GEN_C_HELO:
	case GEN_C_HARVEST:
	case GEN_C_AUTH:
	case GEN_C_SMUGGLING:
	case GEN_C_GOOD_BARE_LF:
	case GEN_C_ENV_SENDER:
	case GEN_C_ENV_RECIPIENT:
	case GEN_C_ENV_UNKNOWN:
	case GEN_C_ENV_ACCESS:
		if (!want_v6) {
			/* 198.18.0.0/16 (256 /24s) then 198.19.0.0/17 (128 /24s) */
			uint64_t i = c->pool_v4;
			int rc = i < 256 * 254
				? gen_v4_from_index(f->caddr, (198u << 16) | (18u << 8), 256, i)
				: gen_v4_from_index(f->caddr, (198u << 16) | (19u << 8), 128,
						    i - 256 * 254);
			if (rc == 0) {
				c->pool_v4++;
				f->v6 = 0;
				return;
			}
		}
		gen_v6_client(f->caddr, 1, c->pool_v6++);
		f->v6 = 1;
		return;
	case GEN_C_MAX:
	default:
		gen_die("bad class");
	}
}

/* gen_noise_addr - a client address for noise (may repeat) */
static void gen_noise_addr(struct gen_ctx *c, struct gen_flow *f)
{
	uint64_t i = c->pool_noise++;

	if (f->v6)
		gen_v6_client(f->caddr, 2, i % 100000);
	else if (gen_v4_from_index(f->caddr, (198u << 16) | (19u << 8) | 192u, 32,
				   i % (32 * 254)))
		gen_die("noise pool");
}

/* gen_server - pick server idx: address and MAC */
static void gen_server(struct gen_flow *f, unsigned idx)
{
	if (f->v6)
		gen_v6(f->saddr, 0xffff, 0, 0x10 - 1 + idx);
	else
		gen_v4(f->saddr, gen_v4_server_net[0], gen_v4_server_net[1],
		       gen_v4_server_net[2], 10 + idx);
	f->smac[0] = 0x02; f->smac[1] = 0x53; f->smac[2] = 0; f->smac[3] = 0;
	f->smac[4] = 0; f->smac[5] = (uint8_t)(0x10 + idx);
}

/* gen_server_nopipe - true if server idx does not announce PIPELINING */
static int gen_server_nopipe(const struct gen_ctx *c, unsigned idx)
{
	unsigned n = (unsigned)(c->o.nopipe * GEN_NSERVERS / 100.0 + 0.5);

	return idx < n;
}

/* gen_addr_str - printable address of a flow endpoint */
static void gen_addr_str(const struct gen_flow *f, const uint8_t *a, char *out, size_t n)
{
	if (!inet_ntop(f->v6 ? AF_INET6 : AF_INET, a, out, (socklen_t)n))
		gen_die("inet_ntop");
}

/* gen_flow_init_from - per-flow random state: ports, timing, tags, ISNs;
 * the flow's generator is seeded from r */
static void gen_flow_init_from(struct gen_ctx *c, struct gen_flow *f, uint64_t t, int v6,
			       struct gen_rng *r)
{
	memset(f, 0, sizeof(*f));
	f->ctx = c;
	gen_rng_seed(&f->rng, gen_rng_next(r));
	f->v6 = v6;
	f->t = t;
	f->cport = (uint16_t)gen_range(&f->rng, 32768, 60999);
	f->sport = 25;
	f->c_nxt = (uint32_t)gen_rng_next(&f->rng);
	f->s_nxt = (uint32_t)gen_rng_next(&f->rng);
	f->c_ipid = (uint16_t)gen_rng_next(&f->rng);
	f->s_ipid = (uint16_t)gen_rng_next(&f->rng);
	f->c_ttl = (uint8_t)gen_range(&f->rng, 40, 120);
	f->s_ttl = 64;
	f->c_fl = (uint32_t)gen_below(&f->rng, 1u << 20);
	f->s_fl = (uint32_t)gen_below(&f->rng, 1u << 20);
	if (v6) {
		f->c_mss = gen_chance(&f->rng, 70) ? 1440 : 1380;
		f->s_mss = 1440;
	} else {
		static const uint16_t m[] = { 1460, 1460, 1460, 1452, 1400, 1380, 1360 };
		f->c_mss = m[gen_below(&f->rng, 7)];
		f->s_mss = 1460;
	}
	f->mss = f->c_mss < f->s_mss ? f->c_mss : f->s_mss;
	f->rtt = gen_logu(&f->rng, 2000, 200000);
	f->bw = gen_logu(&f->rng, 5000000, 1000000000);
	if (gen_chance(&f->rng, c->o.vlan)) {
		f->l2.tags = gen_chance(&f->rng, 25) ? 2 : 1;
		f->l2.vid_in = (uint16_t)gen_range(&f->rng, 2, 4094);
		f->l2.vid_out = (uint16_t)gen_range(&f->rng, 2, 4094);
		c->n_vlan++;
	}
}

/* gen_flow_init - per-flow state seeded from the main stream */
static void gen_flow_init(struct gen_ctx *c, struct gen_flow *f, uint64_t t, int v6)
{
	gen_flow_init_from(c, f, t, v6, &c->rng);
}

/* ------------------------------------------------------------------ */
/* SMTP content                                                         */

static const char *const gen_words[] = {
	"the", "order", "invoice", "meeting", "project", "report", "please", "find",
	"attached", "regards", "thanks", "schedule", "update", "review", "team",
	"quarter", "budget", "deadline", "customer", "shipment", "delivery", "status",
	"account", "payment", "received", "confirm", "tomorrow", "office", "question",
	"answer", "draft", "final", "version", "changes", "agenda", "notes", "call",
	"week", "month", "server", "backup", "ticket", "issue", "resolved", "pending",
	"and", "of", "to", "in", "for", "with", "on", "at", "from", "by", "about",
	"we", "you", "our", "your", "will", "can", "should", "is", "are", "was",
	"caf\xc3\xa9", "na\xc3\xafve", "Gr\303\274\303\237e", "2024", "42", "v1.3",
};

static const char *const gen_domains[] = {
	"example.org", "example.net", "example.com", "mail.example.org",
	"corp.example.net", "shop.example.com", "uni.example.edu", "news.example.org",
	"lists.example.net", "billing.example.com", "example.co.uk", "foo-bar.example",
};

static const char *const gen_users[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
	"judy", "mallory", "oscar", "peggy", "trent", "victor", "walter", "noreply",
	"newsletter", "billing", "support", "info", "j.smith", "m.mueller",
};

static const char *const gen_rcpt_users[] = {
	"postmaster", "info", "sales", "jane", "john", "admin", "hr", "it", "ceo",
	"kim", "lee", "sam", "alex", "pat",
};

/* gen_corpus_build - a pseudo-random text of CRLF lines (no line starts
 * with '.'), shared by all bodies; 0 or -ENOMEM */
static int gen_corpus_build(struct gen_ctx *c)
{
	size_t cap = 512 * 1024, len = 0, lcap = 16384;
	struct gen_rng r;

	gen_rng_seed(&r, c->o.seed ^ 0x636f72707573ull);
	c->corpus = malloc(cap + 256);
	c->lines = malloc(lcap * sizeof(*c->lines));
	if (!c->corpus || !c->lines)
		return -ENOMEM;
	while (len < cap) {
		size_t target = gen_range(&r, 8, 76), ll = 0;

		if (c->nlines == lcap) {
			uint32_t *nl = realloc(c->lines, lcap * 2 * sizeof(*nl));

			if (!nl)
				return -ENOMEM;
			c->lines = nl;
			lcap *= 2;
		}
		c->lines[c->nlines++] = (uint32_t)len;
		if (gen_chance(&r, 6)) {	/* paragraph break */
			memcpy(c->corpus + len, "\r\n", 2);
			len += 2;
			continue;
		}
		while (ll < target) {
			const char *w = gen_pick(&r, gen_words);
			size_t wl = strlen(w);

			if (ll) {
				c->corpus[len++] = gen_chance(&r, 8) ? ',' : ' ';
				if (c->corpus[len - 1] == ',')
					c->corpus[len++] = ' ';
				ll += 2;
			}
			memcpy(c->corpus + len, w, wl);
			if (ll == 0 && gen_chance(&r, 50))
				c->corpus[len] = (char)(c->corpus[len] >= 'a' && c->corpus[len] <= 'z'
							? c->corpus[len] - 32 : c->corpus[len]);
			len += wl;
			ll += wl;
		}
		memcpy(c->corpus + len, ".\r\n", 3);
		len += 3;
	}
	c->corpus_len = len;
	return 0;
}

/* gen_buf_reserve - grow the scratch buffer; 0 or -ENOMEM */
static int gen_buf_reserve(struct gen_ctx *c, size_t need)
{
	if (need <= c->bufcap)
		return 0;
	size_t ncap = c->bufcap ? c->bufcap : 65536;
	while (ncap < need)
		ncap *= 2;
	char *nb = realloc(c->buf, ncap);
	if (!nb)
		return -ENOMEM;
	c->buf = nb;
	c->bufcap = ncap;
	return 0;
}

/* gen_body_size - message size: mostly small, a long tail */
static size_t gen_body_size(struct gen_rng *r)
{
	unsigned x = (unsigned)gen_below(r, 100);

	if (x < 70)
		return gen_logu(r, 300, 3000);
	if (x < 95)
		return gen_logu(r, 3000, 12000);
	return gen_logu(r, 12000, 50000);
}

struct gen_sess {
	char helo[160];
	char from[128];
	char rcpt[GEN_MAXRCPT][128];
	unsigned nrcpt;
	int lower;		/* lowercase command verbs */
	int split;		/* percent of commands split over two segments */
	int srv_pipe;		/* server announces PIPELINING */
	int greet;		/* 0 one line, 1 multi-line in one segment, 2 two segments */
	int bare_lf;		/* percent of lines ending in bare LF (bare_newline bots) */
	int bot;		/* behaves like a bot: quick, sloppy */
};

/* gen_queue_id - Postfix-style long queue id */
static void gen_queue_id(struct gen_rng *r, char *out)
{
	static const char a[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
	int n = (int)gen_range(r, 12, 14);

	for (int i = 0; i < n; i++)
		out[i] = a[gen_below(r, sizeof(a) - 1)];
	out[n] = 0;
}

/* gen_body - message text (headers, body, special lines, final dot) into
 * ctx->buf; returns its length or 0 on ENOMEM */
static size_t gen_body(struct gen_ctx *c, struct gen_flow *f, const struct gen_sess *s,
		       int bare_lf_endings)
{
	size_t target = gen_body_size(&f->rng), len;
	char id[20];

	if (gen_buf_reserve(c, target + 4096))
		return 0;
	gen_queue_id(&f->rng, id);
	len = (size_t)snprintf(c->buf, 2048,
		"Received: from %s (unknown [192.0.2.%u])\r\n\tby relay.%s with ESMTP id %s\r\n"
		"Date: Mon, %u Jan 2024 %02u:%02u:%02u +0000\r\n"
		"From: <%s>\r\nTo: <%s>\r\nSubject: %s %s\r\n"
		"Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		s->helo, (unsigned)gen_range(&f->rng, 1, 254),
		gen_pick(&f->rng, gen_domains), id,
		(unsigned)gen_range(&f->rng, 1, 28), (unsigned)gen_below(&f->rng, 24),
		(unsigned)gen_below(&f->rng, 60), (unsigned)gen_below(&f->rng, 60),
		s->from, s->rcpt[0], gen_pick(&f->rng, gen_words), gen_pick(&f->rng, gen_words),
		id, gen_pick(&f->rng, gen_domains));
	while (len < target) {
		size_t i = gen_below(&f->rng, c->nlines);
		size_t start = c->lines[i];
		size_t end = i + 1 < c->nlines ? c->lines[i + 1] : c->corpus_len;
		unsigned sp = (unsigned)gen_below(&f->rng, 400);
		const char *special = NULL;

		if (sp == 0)
			special = "GET /index.html HTTP/1.1\r\n";
		else if (sp == 1)
			special = "Subject: x\r\n";
		else if (sp == 2)
			special = "a line with a bare\nLF inside the body\r\n";
		else if (sp == 3)
			special = "CONNECT proxy.example:25 HTTP/1.0\r\n";
		if (special) {
			size_t sl = strlen(special);
			memcpy(c->buf + len, special, sl);
			len += sl;
			continue;
		}
		memcpy(c->buf + len, c->corpus + start, end - start);
		len += end - start;
	}
	memcpy(c->buf + len, ".\r\n", 3);
	len += 3;
	if (bare_lf_endings) {
		/* rewrite CRLF to LF in place (a bot that never sends CR) */
		size_t o = 0;

		for (size_t i = 0; i < len; i++)
			if (!(c->buf[i] == '\r' && i + 1 < len && c->buf[i + 1] == '\n'))
				c->buf[o++] = c->buf[i];
		len = o;
	}
	return len;
}

/* gen_cmd_fmt - format a command line with the session's case and line
 * ending; returns its length */
static size_t gen_cmd_fmt(struct gen_flow *f, const struct gen_sess *s, char *out,
			  size_t n, const char *line)
{
	size_t l = strlen(line);
	int bare = s->bare_lf && gen_chance(&f->rng, s->bare_lf);

	if (l + 3 > n)
		gen_die("command too long");
	memcpy(out, line, l);
	if (s->lower) {
		/* lowercase the verb, and for MAIL/RCPT the FROM:/TO: keyword */
		size_t end = 0;

		while (end < l && out[end] != ' ')
			end++;
		if (end == 4 && (!strncmp(out, "MAIL", 4) || !strncmp(out, "RCPT", 4)))
			while (end < l && out[end] != ':')
				end++;
		for (size_t i = 0; i < end; i++)
			if (out[i] >= 'A' && out[i] <= 'Z')
				out[i] = (char)(out[i] + 32);
	}
	if (bare) {
		out[l] = '\n';
		return l + 1;
	}
	out[l] = '\r';
	out[l + 1] = '\n';
	return l + 2;
}

/* gen_c_think - client reaction time */
static uint64_t gen_c_think(struct gen_flow *f, const struct gen_sess *s)
{
	if (s->bot)
		return gen_logu(&f->rng, 30, 300000);
	return gen_logu(&f->rng, 40, 4000);
}

/* gen_command - client sends one command after the server's last reply,
 * sometimes split over two segments (a CR/LF split or mid-line) */
static void gen_command(struct gen_flow *f, const struct gen_sess *s, const char *line)
{
	char b[512];
	size_t l = gen_cmd_fmt(f, s, b, sizeof(b), line);

	if (s->split && l > 3 && gen_chance(&f->rng, s->split)) {
		size_t cut = gen_chance(&f->rng, 50) ? l - 1 : gen_range(&f->rng, 1, l - 2);

		gen_cli_n(f, b, cut, gen_c_think(f, s));
		gen_cli_more(f, b + cut, l - cut, gen_logu(&f->rng, 200, 60000));
		return;
	}
	gen_cli_n(f, b, l, gen_c_think(f, s));
}

/* gen_s_think - server processing time by command class */
static uint64_t gen_s_think(struct gen_flow *f, char what)
{
	switch (what) {
	case 'e': return gen_logu(&f->rng, 80, 2000);		/* EHLO/HELO/NOOP */
	case 'm': return gen_logu(&f->rng, 200, 20000);		/* MAIL */
	case 'r': return gen_logu(&f->rng, 300, 120000);	/* RCPT: lookups */
	case 'd': return gen_logu(&f->rng, 5000, 400000);	/* end of data */
	default: return gen_logu(&f->rng, 60, 1500);
	}
}

/* gen_ehlo_reply - Postfix's EHLO list, with or without PIPELINING */
static const char *gen_ehlo_reply(const struct gen_sess *s)
{
	if (s->srv_pipe)
		return "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		       "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
		       "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
	return "250-mx.example.test\r\n250-SIZE 10240000\r\n"
	       "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
	       "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
}

#define GEN_BANNER "mx.example.test ESMTP Postfix (Debian/GNU)"

/* gen_greeting - server greeting after accept (+ reverse DNS time); the
 * caller's client reacts after it. For greet == 2 the two lines go in two
 * segments, gap apart (postscreen-style teaser). */
static void gen_greeting(struct gen_flow *f, const struct gen_sess *s, uint64_t delay,
			 uint64_t gap)
{
	switch (s->greet) {
	case 0:
		gen_srv(f, "220 " GEN_BANNER "\r\n", delay);
		break;
	case 1:
		gen_srv(f, "220-" GEN_BANNER "\r\n220-No unsolicited bulk mail.\r\n"
			"220 " GEN_BANNER "\r\n", delay);
		break;
	case 2:
		gen_srv(f, "220-" GEN_BANNER "\r\n", delay);
		gen_srv(f, "220 " GEN_BANNER "\r\n", gap);
		break;
	default:
		gen_die("greeting style");
	}
}

/* gen_banner_delay - time from the handshake to the greeting */
static uint64_t gen_banner_delay(struct gen_flow *f)
{
	return gen_chance(&f->rng, 90) ? gen_logu(&f->rng, 1000, 30000)
				       : gen_logu(&f->rng, 30000, 600000);
}

/* gen_helo_name - a valid HELO name: FQDN or address literal */
static void gen_helo_name(struct gen_flow *f, char *out, size_t n)
{
	unsigned x = (unsigned)gen_below(&f->rng, 10);
	char a[64];

	if (x == 0) {
		gen_addr_str(f, f->caddr, a, sizeof(a));
		snprintf(out, n, f->v6 ? "[IPv6:%s]" : "[%s]", a);
	} else if (x < 4) {
		snprintf(out, n, "mail.%s", gen_pick(&f->rng, gen_domains));
	} else if (x < 7) {
		snprintf(out, n, "smtp%u.%s", (unsigned)gen_range(&f->rng, 1, 40),
			 gen_pick(&f->rng, gen_domains));
	} else {
		snprintf(out, n, "mx-out-%u.%s", (unsigned)gen_range(&f->rng, 1, 999),
			 gen_pick(&f->rng, gen_domains));
	}
}

/* gen_sess_init - identity and habits of one client */
static void gen_sess_init(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s,
			  unsigned srv_idx)
{
	memset(s, 0, sizeof(*s));
	gen_helo_name(f, s->helo, sizeof(s->helo));
	snprintf(s->from, sizeof(s->from), "%s@%s", gen_pick(&f->rng, gen_users),
		 gen_pick(&f->rng, gen_domains));
	s->nrcpt = gen_chance(&f->rng, 75) ? 1 : (unsigned)gen_range(&f->rng, 2, GEN_MAXRCPT);
	for (unsigned i = 0; i < s->nrcpt; i++)
		snprintf(s->rcpt[i], sizeof(s->rcpt[i]), "%s%s@example.test",
			 gen_pick(&f->rng, gen_rcpt_users), i ? "2" : "");
	s->lower = gen_chance(&f->rng, 5);
	s->split = gen_chance(&f->rng, 8) ? 40 : 0;
	s->srv_pipe = !gen_server_nopipe(c, srv_idx);
	s->greet = gen_chance(&f->rng, 85) ? 0 : gen_chance(&f->rng, 50) ? 1 : 2;
}

/* gen_quit - QUIT, 221 and teardown (or the client just closes) */
static void gen_quit(struct gen_flow *f, const struct gen_sess *s, int may_just_close)
{
	if (may_just_close && gen_chance(&f->rng, 40)) {
		gen_close(f, GEN_D_CLI, f->rtt + gen_c_think(f, s));
		return;
	}
	gen_command(f, s, "QUIT");
	gen_srv(f, "221 2.0.0 Bye\r\n", gen_s_think(f, 0));
	gen_close(f, gen_chance(&f->rng, 70) ? GEN_D_SRV : GEN_D_CLI,
		  gen_range(&f->rng, 20, 400));
}

/* gen_mail_rcpt - MAIL and RCPTs, one per reply */
static void gen_mail_rcpt(struct gen_flow *f, const struct gen_sess *s)
{
	char l[300];

	snprintf(l, sizeof(l), "MAIL FROM:<%s>%s", s->from,
		 s->srv_pipe && gen_chance(&f->rng, 50) ? " SIZE=4096" : "");
	gen_command(f, s, l);
	gen_srv(f, "250 2.1.0 Ok\r\n", gen_s_think(f, 'm'));
	for (unsigned i = 0; i < s->nrcpt; i++) {
		snprintf(l, sizeof(l), "RCPT TO:<%s>", s->rcpt[i]);
		gen_command(f, s, l);
		gen_srv(f, "250 2.1.5 Ok\r\n", gen_s_think(f, 'r'));
	}
}

/* gen_unknown_rcpts - n RCPTs of users the server does not know: Postfix's
 * 550 5.1.1 (reply bans count them) */
static void gen_unknown_rcpts(struct gen_flow *f, const struct gen_sess *s, unsigned n)
{
	char l[300], r[300];

	for (unsigned i = 0; i < n; i++) {
		unsigned u = (unsigned)gen_below(&f->rng, 1000000);

		snprintf(l, sizeof(l), "RCPT TO:<x%06u@example.test>", u);
		gen_command(f, s, l);
		snprintf(r, sizeof(r), "550 5.1.1 <x%06u@example.test>: Recipient address "
			 "rejected: User unknown in local recipient table\r\n", u);
		gen_srv(f, r, gen_s_think(f, 'r'));
	}
}

/* gen_data - DATA, 354, the message, 250 queued */
static void gen_data(struct gen_ctx *c, struct gen_flow *f, const struct gen_sess *s)
{
	char q[20], r[80];
	size_t n;

	gen_command(f, s, "DATA");
	gen_srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n", gen_s_think(f, 0));
	n = gen_body(c, f, s, 0);
	if (!n) {
		f->err = -ENOMEM;
		return;
	}
	gen_cli_n(f, c->buf, n, gen_c_think(f, s));
	gen_queue_id(&f->rng, q);
	snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s\r\n", q);
	gen_srv(f, r, gen_s_think(f, 'd'));
}

/* gen_random_bytes - fill with random bytes (TLS records, BDAT binary) */
static void gen_random_bytes(struct gen_rng *r, uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = gen_rng_next(r);
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)gen_rng_next(r);
}

/* gen_tls_session - STARTTLS then ciphertext both ways */
static void gen_tls_session(struct gen_ctx *c, struct gen_flow *f, const struct gen_sess *s)
{
	size_t n;
	uint8_t *b;

	gen_command(f, s, "STARTTLS");
	gen_srv(f, "220 2.0.0 Ready to start TLS\r\n", gen_s_think(f, 0));
	if (gen_buf_reserve(c, 70000)) {
		f->err = -ENOMEM;
		return;
	}
	b = (uint8_t *)c->buf;
	for (int i = 0; i < 6; i++) {
		int cli = i % 2 == 0;

		n = cli ? gen_range(&f->rng, 200, 600) : gen_range(&f->rng, 60, 5500);
		if (i == 1)
			n = gen_range(&f->rng, 2500, 5500);	/* certificate flight */
		gen_random_bytes(&f->rng, b, n);
		b[0] = i < 2 ? 0x16 : 0x17;
		b[1] = 0x03;
		b[2] = 0x03;
		gen_be16(b + 3, (uint16_t)(n - 5));
		b[7] = '\n';
		b[9] = 0;
		b[11] = '\r';
		if (cli)
			gen_cli_n(f, b, n, gen_logu(&f->rng, 100, 3000));
		else
			gen_say(f, GEN_D_SRV, b, n, f->t + gen_logu(&f->rng, 100, 5000));
	}
	gen_close(f, gen_chance(&f->rng, 50) ? GEN_D_SRV : GEN_D_CLI, gen_range(&f->rng, 100, 3000));
}

/* gen_bdat - BDAT chunks with binary content (CHUNKING is always announced) */
static void gen_bdat(struct gen_ctx *c, struct gen_flow *f, const struct gen_sess *s)
{
	unsigned chunks = (unsigned)gen_range(&f->rng, 1, 3);
	char l[64], q[20], r[80];

	for (unsigned i = 0; i < chunks; i++) {
		size_t n = gen_logu(&f->rng, 200, 20000), hl;
		int last = i + 1 == chunks;

		snprintf(l, sizeof(l), "BDAT %zu%s", n, last ? " LAST" : "");
		if (gen_buf_reserve(c, n + 128)) {
			f->err = -ENOMEM;
			return;
		}
		hl = gen_cmd_fmt(f, s, c->buf, 128, l);
		gen_random_bytes(&f->rng, (uint8_t *)c->buf + hl, n);
		c->buf[hl + n / 2] = '\n';
		gen_cli_n(f, c->buf, hl + n, gen_c_think(f, s));
		if (last) {
			gen_queue_id(&f->rng, q);
			snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s\r\n", q);
			gen_srv(f, r, gen_s_think(f, 'd'));
		} else {
			snprintf(r, sizeof(r), "250 2.0.0 Ok: %zu bytes\r\n", n);
			gen_srv(f, r, gen_s_think(f, 0));
		}
	}
}

/* gen_ehlo - EHLO (or HELO) with the session's name and the reply */
static void gen_ehlo(struct gen_flow *f, const struct gen_sess *s, int helo)
{
	char l[200];

	snprintf(l, sizeof(l), "%s %s", helo ? "HELO" : "EHLO", s->helo);
	gen_command(f, s, l);
	if (helo)
		gen_srv(f, "250 mx.example.test\r\n", gen_s_think(f, 'e'));
	else
		gen_srv(f, gen_ehlo_reply(s), gen_s_think(f, 'e'));
}

/* gen_extras - NOOP / VRFY / RSET, one per reply */
static void gen_extras(struct gen_flow *f, const struct gen_sess *s)
{
	unsigned k = (unsigned)gen_below(&f->rng, 3);

	if (k == 0) {
		gen_command(f, s, "NOOP");
		gen_srv(f, "250 2.0.0 Ok\r\n", gen_s_think(f, 'e'));
	} else if (k == 1) {
		gen_command(f, s, "VRFY postmaster");
		gen_srv(f, "252 2.0.0 postmaster\r\n", gen_s_think(f, 'r'));
	} else {
		gen_command(f, s, "RSET");
		gen_srv(f, "250 2.0.0 Ok\r\n", gen_s_think(f, 'e'));
	}
}

/* gen_good_session - a well-behaved client; all good variants */
static void gen_good_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	unsigned v = (unsigned)gen_below(&f->rng, 100);
	int helo = v < 12;

	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, helo);
	if (gen_chance(&f->rng, 10))
		gen_extras(f, s);
	if (!helo && v < 20) {				/* STARTTLS */
		gen_tls_session(c, f, s);
		return;
	}
	if (!helo && v < 32 && s->srv_pipe) {		/* RFC 2920 group */
		char g[1200];
		size_t n = 0;

		{
			char l[300];
			snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
			n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
			for (unsigned i = 0; i < s->nrcpt; i++) {
				snprintf(l, sizeof(l), "RCPT TO:<%s>", s->rcpt[i]);
				n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
			}
			n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, "DATA");
		}
		gen_cli_n(f, g, n, gen_c_think(f, s));
		{
			char r[600];
			size_t rl = 0;

			rl += (size_t)snprintf(r + rl, sizeof(r) - rl, "250 2.1.0 Ok\r\n");
			for (unsigned i = 0; i < s->nrcpt; i++)
				rl += (size_t)snprintf(r + rl, sizeof(r) - rl, "250 2.1.5 Ok\r\n");
			snprintf(r + rl, sizeof(r) - rl, "354 End data with <CR><LF>.<CR><LF>\r\n");
			gen_srv(f, r, gen_s_think(f, 'r'));
		}
		n = gen_body(c, f, s, 0);
		if (!n) {
			f->err = -ENOMEM;
			return;
		}
		gen_cli_n(f, c->buf, n, gen_c_think(f, s));
		{
			char q[20], r[80];
			gen_queue_id(&f->rng, q);
			snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s\r\n", q);
			gen_srv(f, r, gen_s_think(f, 'd'));
		}
		gen_quit(f, s, 0);
		return;
	}
	gen_mail_rcpt(f, s);
	if (c->o.stale > 0 && gen_chance(&f->rng, c->o.stale))
		gen_unknown_rcpts(f, s, (unsigned)gen_range(&f->rng, 1, 2));
	if (!helo && v >= 32 && v < 42)
		gen_bdat(c, f, s);
	else
		gen_data(c, f, s);
	gen_quit(f, s, 0);
}

/* end-of-data sequences a conforming client never sends (SMTP smuggling) */
static const char *const gen_smuggle_seq[] = {
	"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r.\n",
};

/* gen_smuggle_body - a message in c->buf with a second message hidden
 * after one of gen_smuggle_seq at a line end in its middle; returns the
 * length or 0 on ENOMEM */
static size_t gen_smuggle_body(struct gen_ctx *c, struct gen_flow *f,
			       const struct gen_sess *s)
{
	char inj[600];
	size_t n = gen_body(c, f, s, 0), at, il;
	const char *seq = gen_smuggle_seq[gen_below(&f->rng, 5)];

	if (!n)
		return 0;
	il = (size_t)snprintf(inj, sizeof(inj),
		"%sMAIL FROM:<%s@%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
		"From: <ceo@%s>\r\nTo: <%s>\r\nSubject: urgent transfer\r\n\r\n"
		"Please pay the attached invoice today.\r\n",
		seq, gen_pick(&f->rng, gen_words), gen_pick(&f->rng, gen_domains),
		s->rcpt[0], gen_pick(&f->rng, gen_domains), s->rcpt[0]);
	if (gen_buf_reserve(c, n + il + 16))
		return 0;
	/* the first line end past the middle: its CRLF gives way to seq */
	at = n / 2;
	while (at + 1 < n - 3 && !(c->buf[at] == '\r' && c->buf[at + 1] == '\n'))
		at++;
	if (at + 1 >= n - 3)
		at = n - 5;	/* before the final CRLF.CRLF */
	memmove(c->buf + at + il, c->buf + at + 2, n - at - 2);
	memcpy(c->buf + at, inj, il);
	return n - 2 + il;
}

/* gen_smuggling_session - a relay that passes every test, whose message
 * hides a second one (DATA, or BDAT in a fifth of them) */
static void gen_smuggling_session(struct gen_ctx *c, struct gen_flow *f,
				  struct gen_sess *s)
{
	char q[20], r[80], l[64];
	size_t n, hl = 0;
	int bdat = gen_chance(&f->rng, 20);

	s->bot = 0;
	s->bare_lf = 0;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, 0);
	gen_mail_rcpt(f, s);
	if (!bdat) {
		gen_command(f, s, "DATA");
		gen_srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n", gen_s_think(f, 0));
	}
	n = gen_smuggle_body(c, f, s);
	if (!n || gen_buf_reserve(c, n + 128)) {
		f->err = -ENOMEM;
		return;
	}
	if (bdat) {
		n -= 3;		/* no final dot in a chunk */
		hl = (size_t)snprintf(l, sizeof(l), "BDAT %zu LAST\r\n", n);
		memmove(c->buf + hl, c->buf, n);
		memcpy(c->buf, l, hl);
	}
	gen_cli_n(f, c->buf, hl + n, gen_c_think(f, s));
	gen_queue_id(&f->rng, q);
	snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s\r\n", q);
	gen_srv(f, r, gen_s_think(f, 'd'));
	gen_quit(f, s, 0);
}

/* gen_envelope_session - a client that passes every postscreen test and
 * whose envelope a Postfix restriction rejects (the server here accepts
 * it: it has no such restriction); no STARTTLS, so its commands are seen */
static void gen_envelope_session(struct gen_ctx *c, struct gen_flow *f,
				 struct gen_sess *s, enum gen_class cls)
{
	static const char *const dotless[] = {"localhost", "mailhost", "intranet", "server1"};
	const char *user = gen_pick(&f->rng, gen_users);

	switch (cls) {
	case GEN_C_ENV_SENDER:
		if (gen_chance(&f->rng, 50))
			snprintf(s->from, sizeof(s->from), "%s", user);
		else
			snprintf(s->from, sizeof(s->from), "%s@%s", user,
				 gen_pick(&f->rng, dotless));
		break;
	case GEN_C_ENV_RECIPIENT:
		snprintf(s->rcpt[0], sizeof(s->rcpt[0]), "%s@%s",
			 gen_pick(&f->rng, gen_rcpt_users), gen_pick(&f->rng, dotless));
		break;
	case GEN_C_ENV_UNKNOWN:
		snprintf(s->from, sizeof(s->from), "%s@nx-%u.%s.invalid", user,
			 (unsigned)gen_below(&f->rng, 100000), gen_pick(&f->rng, gen_rcpt_users));
		break;
	case GEN_C_ENV_ACCESS:
		snprintf(s->from, sizeof(s->from), "%s@bulk.example.net", user);
		break;
	default:
		gen_die("envelope class");
	}
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, gen_chance(&f->rng, 12));
	gen_mail_rcpt(f, s);
	gen_data(c, f, s);
	gen_quit(f, s, 0);
}

/* gen_good_bare_lf_session - a good session whose body has bare-LF and
 * bare-CR lines and dot-stuffed lines after them; the message ends with
 * CRLF.CRLF as it must */
static void gen_good_bare_lf_session(struct gen_ctx *c, struct gen_flow *f,
				     struct gen_sess *s)
{
	char q[20], r[80], *src;
	size_t n, o = 0;

	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, 0);
	gen_mail_rcpt(f, s);
	gen_command(f, s, "DATA");
	gen_srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n", gen_s_think(f, 0));
	n = gen_body(c, f, s, 0);
	src = n ? malloc(n) : NULL;
	if (!src || gen_buf_reserve(c, 2 * n + 64)) {
		free(src);
		f->err = -ENOMEM;
		return;
	}
	memcpy(src, c->buf, n);
	/* body lines (not the final ".\r\n" nor the CRLF before it) lose
	 * their CR one time in three; after one line in eight comes a
	 * dot-stuffed "..x" line, after one in sixteen a line with a bare CR
	 * and a dot inside */
	for (size_t i = 0; i < n; i++) {
		int crlf = src[i] == '\r' && i + 1 < n && src[i + 1] == '\n';

		if (crlf && i + 5 < n && gen_chance(&f->rng, 33))
			continue;
		c->buf[o++] = src[i];
		if (src[i] == '\n' && i + 5 < n) {
			unsigned k = (unsigned)gen_below(&f->rng, 16);

			if (k < 2) {
				memcpy(c->buf + o, "..x\n", 4);
				o += 4;
			} else if (k == 2) {
				memcpy(c->buf + o, "a\rb.\r\n", 7);
				o += 7;
			}
		}
	}
	free(src);
	gen_cli_n(f, c->buf, o, gen_c_think(f, s));
	gen_queue_id(&f->rng, q);
	snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s\r\n", q);
	gen_srv(f, r, gen_s_think(f, 'd'));
	gen_quit(f, s, 0);
}

/* gen_pregreet_session - client talks before the greeting is complete */
static void gen_pregreet_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	char l[200], b[256];
	size_t n;
	int helo = gen_chance(&f->rng, 30);

	s->bot = 1;
	snprintf(l, sizeof(l), "%s %s", helo ? "HELO" : "EHLO", s->helo);
	n = gen_cmd_fmt(f, s, b, sizeof(b), l);
	gen_handshake(f);
	if (s->greet == 2 && gen_chance(&f->rng, 60)) {
		/* between the 220- teaser and the final 220 */
		uint64_t think = gen_logu(&f->rng, 50, 200000);

		gen_srv(f, "220-" GEN_BANNER "\r\n", gen_banner_delay(f));
		gen_cli_n(f, b, n, think);
		gen_srv(f, "220 " GEN_BANNER "\r\n", gen_logu(&f->rng, 200000, 3000000));
	} else {
		/* right after connect, before any greeting */
		uint64_t early = gen_range(&f->rng, 20, 600);

		gen_cli_more(f, b, n, early);
		if (s->greet == 2)
			s->greet = 0;
		gen_greeting(f, s, gen_banner_delay(f) + early, gen_logu(&f->rng, 200000, 3000000));
	}
	if (helo)
		gen_srv(f, "250 mx.example.test\r\n", gen_range(&f->rng, 30, 300));
	else
		gen_srv(f, gen_ehlo_reply(s), gen_range(&f->rng, 30, 300));
	if (gen_chance(&f->rng, 50)) {
		gen_quit(f, s, 1);
		return;
	}
	s->bot = 0;
	gen_mail_rcpt(f, s);
	gen_data(c, f, s);
	gen_quit(f, s, 1);
}

/* gen_bare_newline_session - some or all lines end in a bare LF */
static void gen_bare_newline_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	unsigned v = (unsigned)gen_below(&f->rng, 3);
	char l[200];

	s->split = 0;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	if (v == 0) {
		/* only the EHLO line is bare, then the bot leaves */
		s->bare_lf = 100;
		gen_ehlo(f, s, gen_chance(&f->rng, 30));
		s->bare_lf = 0;
		gen_quit(f, s, 1);
		return;
	}
	if (v == 1) {
		/* all lines bare, message too */
		size_t n;

		s->bare_lf = 100;
		gen_ehlo(f, s, 0);
		gen_mail_rcpt(f, s);
		gen_command(f, s, "DATA");
		gen_srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n", gen_s_think(f, 0));
		n = gen_body(c, f, s, 1);
		if (!n) {
			f->err = -ENOMEM;
			return;
		}
		gen_cli_n(f, c->buf, n, gen_c_think(f, s));
		gen_srv(f, "250 2.0.0 Ok: queued as 4TbQ9x1Rk2z7Lm\r\n", gen_s_think(f, 'd'));
		gen_quit(f, s, 1);
		return;
	}
	/* one bare line in the middle: MAIL FROM */
	gen_ehlo(f, s, 0);
	snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
	s->bare_lf = 100;
	gen_command(f, s, l);
	s->bare_lf = 0;
	if (gen_chance(&f->rng, 25)) {
		/* Postfix 3.9 smtpd_forbid_bare_newline = reject */
		gen_srv(f, "521 5.5.2 mx.example.test Error: bare <LF> received\r\n",
			gen_s_think(f, 0));
		gen_close(f, GEN_D_SRV, gen_range(&f->rng, 20, 300));
		return;
	}
	gen_srv(f, "250 2.1.0 Ok\r\n", gen_s_think(f, 'm'));
	snprintf(l, sizeof(l), "RCPT TO:<%s>", s->rcpt[0]);
	gen_command(f, s, l);
	gen_srv(f, "250 2.1.5 Ok\r\n", gen_s_think(f, 'r'));
	gen_quit(f, s, 1);
}

/* gen_pipelining_session - commands before the reply, where not allowed.
 * Variant 1 needs a server without PIPELINING (else it becomes variant 2). */
static void gen_pipelining_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	unsigned v = (unsigned)gen_below(&f->rng, 4);
	char g[1024], l[300];
	size_t n = 0;

	if (v == 1 && s->srv_pipe)
		v = 2;		/* caller gave a PIPELINING server: HELO variant */
	s->split = 0;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	switch (v) {
	case 0:		/* EHLO+MAIL+RCPT in one segment before the EHLO reply */
		snprintf(l, sizeof(l), "EHLO %s", s->helo);
		n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
		snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
		n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
		snprintf(l, sizeof(l), "RCPT TO:<%s>", s->rcpt[0]);
		n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
		gen_cli_n(f, g, n, gen_logu(&f->rng, 30, 20000));
		if (gen_chance(&f->rng, 30)) {
			gen_srv(f, "554 5.5.0 Error: SMTP protocol synchronization\r\n",
				gen_s_think(f, 'e'));
			gen_close(f, GEN_D_SRV, gen_range(&f->rng, 20, 300));
			return;
		}
		{
			char r[700];
			snprintf(r, sizeof(r), "%s250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n", gen_ehlo_reply(s));
			gen_srv(f, r, gen_s_think(f, 'r'));
		}
		gen_quit(f, s, 1);
		return;
	case 1:		/* MAIL+RCPT together, PIPELINING not announced */
	case 2:		/* HELO, then MAIL+RCPT together */
		gen_ehlo(f, s, v == 2);
		snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
		n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
		for (unsigned i = 0; i < s->nrcpt; i++) {
			snprintf(l, sizeof(l), "RCPT TO:<%s>", s->rcpt[i]);
			n += gen_cmd_fmt(f, s, g + n, sizeof(g) - n, l);
		}
		gen_cli_n(f, g, n, gen_logu(&f->rng, 30, 20000));
		{
			char r[600];
			size_t rl = (size_t)snprintf(r, sizeof(r), "250 2.1.0 Ok\r\n");
			for (unsigned i = 0; i < s->nrcpt; i++)
				rl += (size_t)snprintf(r + rl, sizeof(r) - rl, "250 2.1.5 Ok\r\n");
			gen_srv(f, r, gen_s_think(f, 'r'));
		}
		if (gen_chance(&f->rng, 50)) {
			gen_data(c, f, s);
		}
		gen_quit(f, s, 1);
		return;
	case 3:		/* DATA immediately followed by the message, before 354 */
		gen_ehlo(f, s, 0);
		gen_mail_rcpt(f, s);
		n = gen_body(c, f, s, 0);
		if (!n || gen_buf_reserve(c, n + 8)) {
			f->err = -ENOMEM;
			return;
		}
		memmove(c->buf + 6, c->buf, n);
		memcpy(c->buf, "DATA\r\n", 6);
		gen_cli_n(f, c->buf, n + 6, gen_logu(&f->rng, 30, 20000));
		gen_srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n"
			"250 2.0.0 Ok: queued as 4TbQ9x1Rk2z7Lm\r\n", gen_s_think(f, 'd'));
		gen_quit(f, s, 1);
		return;
	default:
		gen_die("pipelining variant");
	}
}

/* gen_non_smtp_session - an HTTP/proxy request or header used as a command */
static void gen_non_smtp_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	static const char *const cmds[] = {
		"GET / HTTP/1.0", "GET /index.html HTTP/1.1", "CONNECT %s:25 HTTP/1.0",
		"POST /cgi-bin/mail HTTP/1.1", "Subject: hello", "get / http/1.0",
		"CONNECT mx.example.test:25 HTTP/1.1",
	};
	const char *fmt = gen_pick(&f->rng, cmds);
	char l[200], sa[64];
	int after_ehlo = gen_chance(&f->rng, 25);

	(void)c;
	s->bot = 1;
	s->split = 0;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	if (after_ehlo)
		gen_ehlo(f, s, 0);
	gen_addr_str(f, f->saddr, sa, sizeof(sa));
	if (strstr(fmt, "%s"))
		snprintf(l, sizeof(l), fmt, sa);
	else
		snprintf(l, sizeof(l), "%s", fmt);
	{
		char b[256];
		size_t n;
		int saved = s->lower;

		s->lower = 0;
		n = gen_cmd_fmt(f, s, b, sizeof(b), l);
		s->lower = saved;
		gen_cli_n(f, b, n, gen_c_think(f, s));
	}
	if (gen_chance(&f->rng, 50)) {
		gen_srv(f, "521 5.7.0 Error: I can break rules, too. Goodbye.\r\n",
			gen_s_think(f, 0));
		gen_close(f, GEN_D_SRV, gen_range(&f->rng, 20, 300));
		return;
	}
	gen_srv(f, "502 5.5.2 Error: command not recognized\r\n", gen_s_think(f, 0));
	gen_quit(f, s, 1);
}

/* gen_harvest_session - a directory harvest: 25 unknown recipients, no
 * DATA (smtpscreen's default limit is 20 in 10 minutes) */
static void gen_harvest_session(struct gen_flow *f, struct gen_sess *s)
{
	char l[300];

	s->bot = 1;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, 0);
	snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
	gen_command(f, s, l);
	gen_srv(f, "250 2.1.0 Ok\r\n", gen_s_think(f, 'm'));
	gen_unknown_rcpts(f, s, 25);
	gen_quit(f, s, 1);
}

/* gen_auth_session - password guessing: 12 AUTH PLAIN answered 535 (the
 * default limit is 10 in 10 minutes) */
static void gen_auth_session(struct gen_flow *f, struct gen_sess *s)
{
	static const char *const creds[] = {
		"AGFkbWluAGFkbWlu", "AHRlc3QAMTIzNDU2", "AGluZm8AcGFzc3dvcmQ=",
		"AHVzZXIAcXdlcnR5", "AHNhbGVzAGxldG1laW4=",
	};
	char l[300];

	s->bot = 1;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	gen_ehlo(f, s, 0);
	for (unsigned i = 0; i < 12; i++) {
		snprintf(l, sizeof(l), "AUTH PLAIN %s", gen_pick(&f->rng, creds));
		gen_command(f, s, l);
		gen_srv(f, "535 5.7.8 Error: authentication failed: authentication "
			"failure\r\n", gen_s_think(f, 0));
	}
	gen_quit(f, s, 1);
}

/* gen_helo_session - bad HELO name, own name, or MAIL before HELO */
static void gen_helo_session(struct gen_ctx *c, struct gen_flow *f, struct gen_sess *s)
{
	static const char *const names[] = {
		"EHLO localhost", "HELO user-pc", "EHLO bad_name!", "EHLO mx.example.test",
		"EHLO WIN-7QK2M1J0ABC", "HELO mx.example.test",
	};
	unsigned v = (unsigned)gen_below(&f->rng, 10);

	s->bot = 1;
	s->split = 0;
	gen_handshake(f);
	gen_greeting(f, s, gen_banner_delay(f), gen_logu(&f->rng, 100, 2000000));
	if (v < 2) {
		char l[300];

		snprintf(l, sizeof(l), "MAIL FROM:<%s>", s->from);
		gen_command(f, s, l);
		gen_srv(f, "503 5.5.1 Error: send HELO/EHLO first\r\n", gen_s_think(f, 0));
		gen_quit(f, s, 1);
		return;
	}
	{
		const char *name = gen_pick(&f->rng, names);

		gen_command(f, s, name);
		if (name[0] == 'H')
			gen_srv(f, "250 mx.example.test\r\n", gen_s_think(f, 'e'));
		else
			gen_srv(f, gen_ehlo_reply(s), gen_s_think(f, 'e'));
	}
	if (gen_chance(&f->rng, 30)) {
		gen_quit(f, s, 1);
		return;
	}
	gen_mail_rcpt(f, s);
	if (gen_chance(&f->rng, 50))
		gen_data(c, f, s);
	gen_quit(f, s, 1);
}

/* ------------------------------------------------------------------ */
/* Noise                                                                */

/* gen_perturb - retransmissions, reordering of adjacent same-direction
 * segments, duplicate ACKs on a finished flow */
static void gen_perturb(struct gen_flow *f)
{
	size_t i, n = f->npk;
	uint64_t t_end = UINT64_MAX;
	unsigned what = (unsigned)gen_range(&f->rng, 1, 7);

	for (i = 0; i < n; i++)
		if (f->pk[i]->kind == GEN_K_END && f->pk[i]->ts < t_end)
			t_end = f->pk[i]->ts;
	if (what & 1) {		/* retransmit one data segment */
		size_t cand[512], nc = 0;

		for (i = 0; i < n && nc < 512; i++)
			if (f->pk[i]->kind == GEN_K_DATA && f->pk[i]->ts + 2 < t_end)
				cand[nc++] = i;
		if (nc) {
			struct gen_pkt *o = f->pk[cand[gen_below(&f->rng, nc)]];
			uint64_t rto = 200000 + f->rtt, room = (t_end - o->ts) / 2;
			struct gen_pkt *d = malloc(sizeof(*d) + o->len);

			if (!d) {
				f->err = -ENOMEM;
				return;
			}
			memcpy(d, o, sizeof(*d) + o->len);
			gen_flow_add(f, d, o->ts + (rto < room ? rto : room) + 1,
				     (enum gen_dir)o->dir, GEN_K_OTHER);
		}
	}
	if (what & 2) {		/* swap two adjacent data segments */
		size_t cand[512], nc = 0;

		for (i = 0; i + 1 < n && nc < 512; i++) {
			struct gen_pkt *a = f->pk[i], *b = f->pk[i + 1];

			/* adjacent in the flow's creation order, same direction,
			 * and nothing else in between in time */
			if (a->kind == GEN_K_DATA && b->kind == GEN_K_DATA && a->dir == b->dir &&
			    a->ts < b->ts) {
				int clean = 1;

				for (size_t j = 0; j < n; j++)
					if (j != i && j != i + 1 && f->pk[j]->ts >= a->ts &&
					    f->pk[j]->ts <= b->ts) {
						clean = 0;
						break;
					}
				if (clean)
					cand[nc++] = i;
			}
		}
		if (nc) {
			size_t k = cand[gen_below(&f->rng, nc)];
			uint64_t t = f->pk[k]->ts;

			f->pk[k]->ts = f->pk[k + 1]->ts;
			f->pk[k + 1]->ts = t;
		}
	}
	if (what & 4) {		/* duplicate a pure ACK */
		size_t cand[512], nc = 0;

		for (i = 0; i < n && nc < 512; i++)
			if (f->pk[i]->kind == GEN_K_ACK && f->pk[i]->ts + 2 < t_end)
				cand[nc++] = i;
		if (nc) {
			struct gen_pkt *o = f->pk[cand[gen_below(&f->rng, nc)]];
			struct gen_pkt *d = malloc(sizeof(*d) + o->len);

			if (!d) {
				f->err = -ENOMEM;
				return;
			}
			memcpy(d, o, sizeof(*d) + o->len);
			gen_flow_add(f, d, o->ts + 1, (enum gen_dir)o->dir, GEN_K_OTHER);
		}
	}
}

/* gen_dns_name - a DNS name in wire format; returns its length */
static size_t gen_dns_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

/* gen_udp_pair - DNS A query from the server and the resolver's answer */
static void gen_udp_pair(struct gen_flow *f)
{
	uint8_t l4[8 + 300], res[16], *d = l4 + 8;
	char name[128];
	uint16_t sport = (uint16_t)gen_range(&f->rng, 1024, 65535);
	uint16_t id = (uint16_t)gen_rng_next(&f->rng);
	struct gen_ip ip = { .v6 = f->v6, .proto = 17, .ttl = 64 };
	size_t qn, pl;

	if (f->v6)
		gen_v6(res, 0xffff, 0, 0x52);
	else
		gen_v4(res, 198, 19, 255, 2);
	snprintf(name, sizeof(name), "%s", gen_pick(&f->rng, gen_domains));
	for (int k = 0; k < 2; k++) {
		memset(d, 0, 12);
		gen_be16(d, id);
		gen_be16(d + 2, k ? 0x8180 : 0x0100);
		gen_be16(d + 4, 1);				/* QDCOUNT */
		gen_be16(d + 6, k ? 1 : 0);			/* ANCOUNT */
		qn = 12 + gen_dns_name(d + 12, name);
		gen_be16(d + qn, 1);				/* A */
		gen_be16(d + qn + 2, 1);			/* IN */
		pl = qn + 4;
		if (k) {
			gen_be16(d + pl, 0xc00c);		/* name: pointer to the question */
			gen_be16(d + pl + 2, 1);
			gen_be16(d + pl + 4, 1);
			gen_be32(d + pl + 6, (uint32_t)gen_range(&f->rng, 60, 86400));
			gen_be16(d + pl + 10, 4);
			d[pl + 12] = 198;
			d[pl + 13] = 51;
			d[pl + 14] = 100;
			d[pl + 15] = (uint8_t)gen_range(&f->rng, 1, 254);
			pl += 16;
		}
		gen_be16(l4, k ? 53 : sport);
		gen_be16(l4 + 2, k ? sport : 53);
		gen_be16(l4 + 4, (uint16_t)(8 + pl));
		ip.src = k ? res : f->saddr;
		ip.dst = k ? f->saddr : res;
		ip.ipid = f->s_ipid++;
		gen_flow_add(f, gen_ip_frame(&f->l2, k ? f->smac : gen_router_mac,
					     k ? gen_router_mac : f->smac, &ip, l4, 8 + pl, 6),
			     f->t + (k ? gen_range(&f->rng, 300, 30000) : 0), GEN_D_NONE,
			     GEN_K_OTHER);
	}
}

/* gen_icmp_pair - echo request from a noise host and the server's reply */
static void gen_icmp_pair(struct gen_flow *f)
{
	uint8_t l4[8 + 56];
	uint16_t id = (uint16_t)gen_rng_next(&f->rng);
	struct gen_ip ip = { .v6 = f->v6, .proto = f->v6 ? 58 : 1, .ttl = 64 };

	for (int k = 0; k < 2; k++) {
		l4[0] = f->v6 ? (k ? 129 : 128) : (k ? 0 : 8);
		l4[1] = 0;
		gen_be16(l4 + 4, id);
		gen_be16(l4 + 6, 1);
		for (int i = 0; i < 56; i++)
			l4[8 + i] = (uint8_t)(0x10 + i);
		ip.src = k ? f->saddr : f->caddr;
		ip.dst = k ? f->caddr : f->saddr;
		ip.ipid = k ? f->s_ipid++ : f->c_ipid++;
		ip.ttl = k ? 64 : f->c_ttl;
		gen_flow_add(f, gen_ip_frame(&f->l2, k ? gen_router_mac : f->smac,
					     k ? f->smac : gen_router_mac, &ip, l4, sizeof(l4), 2),
			     f->t + (k ? gen_range(&f->rng, 20, 200) : 0), GEN_D_NONE, GEN_K_OTHER);
	}
}

/* gen_arp_pair - who-has from the router and the server's answer */
static void gen_arp_pair(struct gen_flow *f)
{
	for (int k = 0; k < 2; k++) {
		struct gen_pkt *p = malloc(sizeof(*p) + 60);
		static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		uint8_t rip[4] = { 198, 19, 255, 1 };
		size_t o;

		if (!p) {
			f->err = -ENOMEM;
			return;
		}
		memset(p->data, 0, 60);
		o = gen_l2_write(p->data, k ? gen_router_mac : bcast,
				 k ? f->smac : gen_router_mac, &f->l2, 0x0806);
		gen_be16(p->data + o, 1);
		gen_be16(p->data + o + 2, 0x0800);
		p->data[o + 4] = 6;
		p->data[o + 5] = 4;
		gen_be16(p->data + o + 6, k ? 2 : 1);
		memcpy(p->data + o + 8, k ? f->smac : gen_router_mac, 6);
		memcpy(p->data + o + 14, k ? f->saddr : rip, 4);
		if (k)
			memcpy(p->data + o + 18, gen_router_mac, 6);
		memcpy(p->data + o + 24, k ? rip : f->saddr, 4);
		p->len = (uint32_t)(o + 28 < 60 ? 60 : o + 28);
		gen_flow_add(f, p, f->t + (k ? gen_range(&f->rng, 20, 300) : 0), GEN_D_NONE,
			     GEN_K_OTHER);
	}
}

/* gen_other_port - HTTP on 80, random TLS-like bytes on 443, SMTP on 587 */
static void gen_other_port(struct gen_ctx *c, struct gen_flow *f)
{
	unsigned v = (unsigned)gen_below(&f->rng, 3);
	struct gen_sess s;

	gen_sess_init(c, f, &s, 0);
	s.srv_pipe = 1;
	if (v == 0) {
		char req[300];
		size_t n;

		f->sport = 80;
		gen_handshake(f);
		snprintf(req, sizeof(req), "GET /index.html HTTP/1.1\r\nHost: www.example.test\r\n"
			 "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n");
		gen_cli(f, req, gen_range(&f->rng, 50, 500));
		n = gen_body(c, f, &s, 0);
		if (!n) {
			f->err = -ENOMEM;
			return;
		}
		gen_say(f, GEN_D_SRV, c->buf, n, f->t + gen_logu(&f->rng, 200, 20000));
		gen_close(f, GEN_D_CLI, f->rtt + gen_range(&f->rng, 100, 2000));
	} else if (v == 1) {
		f->sport = 443;
		gen_handshake(f);
		for (int i = 0; i < 4 && !f->err; i++) {
			size_t n = i == 1 ? gen_range(&f->rng, 2500, 5000) : gen_range(&f->rng, 100, 600);

			if (gen_buf_reserve(c, n)) {
				f->err = -ENOMEM;
				return;
			}
			gen_random_bytes(&f->rng, (uint8_t *)c->buf, n);
			if (i % 2 == 0)
				gen_cli_n(f, c->buf, n, gen_logu(&f->rng, 100, 2000));
			else
				gen_say(f, GEN_D_SRV, c->buf, n, f->t + gen_logu(&f->rng, 100, 5000));
		}
		gen_close(f, GEN_D_SRV, gen_range(&f->rng, 100, 3000));
	} else {
		/* submission port: an SMTP session that would fail screening
		 * (bare LF) if port 587 were screened */
		f->sport = 587;
		gen_handshake(f);
		gen_greeting(f, &s, gen_banner_delay(f), 1000);
		s.bare_lf = 100;
		gen_ehlo(f, &s, 0);
		s.bare_lf = 0;
		gen_quit(f, &s, 0);
	}
}

static const uint16_t gen_scan_ports[] = { 22, 23, 110, 143, 465, 993, 2525, 3389 };

/* gen_noise_flow - one unlabeled noise exchange */
static void gen_noise_flow(struct gen_ctx *c, struct gen_flow *f, enum gen_noise kind)
{
	unsigned srv = (unsigned)gen_below(&f->rng, GEN_NSERVERS);
	struct gen_sess s;

	if (kind == GEN_N_ARP)
		f->v6 = 0;
	gen_server(f, srv);
	gen_noise_addr(c, f);
	switch (kind) {
	case GEN_N_RST:
		gen_sess_init(c, f, &s, srv);
		f->rst_after = (unsigned)gen_range(&f->rng, 3, 14);
		f->rst_dir = gen_chance(&f->rng, 50) ? GEN_D_CLI : GEN_D_SRV;
		gen_good_session(c, f, &s);
		break;
	case GEN_N_SYNSCAN:
		if (gen_chance(&f->rng, 30))
			f->sport = gen_pick(&f->rng, gen_scan_ports);
		gen_tcp(f, GEN_D_CLI, TH_SYN, NULL, 0, f->t);
		if (f->sport == 25 || gen_chance(&f->rng, 50)) {
			if (f->sport == 25) {
				gen_tcp(f, GEN_D_SRV, TH_SYN | TH_ACK, NULL, 0, f->t + 40);
				f->c_rcv = f->s_nxt;
				gen_tcp(f, GEN_D_CLI, TH_RST, NULL, 0, f->t + 40 + f->rtt);
			} else {
				gen_tcp(f, GEN_D_SRV, TH_RST | TH_ACK, NULL, 0, f->t + 40);
			}
		}
		break;
	case GEN_N_PORT:
		gen_other_port(c, f);
		break;
	case GEN_N_ARP:
		gen_arp_pair(f);
		break;
	case GEN_N_ICMP:
		gen_icmp_pair(f);
		break;
	case GEN_N_UDP:
		gen_udp_pair(f);
		break;
	case GEN_N_MAX:
	default:
		gen_die("noise kind");
	}
}

/* ------------------------------------------------------------------ */
/* Load: SYN flood and slowloris                                        */

#define GEN_FLOOD_V4	4096u	/* 198.19.224.0/20, then 2001:db8:f000::/48 */
#define GEN_SLOW_MAX	254u	/* 198.19.240.1-254 */

static int gen_emit(struct gen_ctx *c, struct gen_pkt *p);
static int gen_flow_commit(struct gen_ctx *c, struct gen_flow *f);

/* gen_flood_due - time of the next flood SYN, UINT64_MAX when none is left
 * (or in the first pass, which measures the sessions' span only) */
static uint64_t gen_flood_due(const struct gen_ctx *c)
{
	uint64_t i = c->flood_i;

	if (c->dry || i >= c->o.syn_flood)
		return UINT64_MAX;
	if (c->o.flood_rate)
		return (uint64_t)((unsigned __int128)i * 1000000u / c->o.flood_rate);
	return (uint64_t)((unsigned __int128)i * c->flood_span / c->o.syn_flood);
}

/* gen_flood_syn - build and write flood SYN number c->flood_i at ts: a
 * source address of its own, random port, ISN, IP id and TTL, to port 25
 * of a random server; 0 or -errno */
static int gen_flood_syn(struct gen_ctx *c, uint64_t ts)
{
	uint64_t i = c->flood_i++;
	struct gen_flow f;
	struct gen_pkt *p;

	memset(&f, 0, sizeof(f));
	f.ctx = c;
	f.v6 = i >= GEN_FLOOD_V4;
	if (f.v6) {
		gen_v6_client(f.caddr, 0xf000, i - GEN_FLOOD_V4);
		c->n_flood_v6++;
	} else {
		gen_v4(f.caddr, 198, 19, 224 + (unsigned)(i >> 8), (unsigned)(i & 0xff));
	}
	gen_server(&f, (unsigned)gen_below(&c->frng, GEN_NSERVERS));
	f.cport = (uint16_t)gen_range(&c->frng, 1024, 65535);
	f.sport = 25;
	f.c_nxt = (uint32_t)gen_rng_next(&c->frng);
	f.c_ipid = (uint16_t)gen_rng_next(&c->frng);
	f.c_ttl = (uint8_t)gen_range(&c->frng, 30, 250);
	f.c_fl = (uint32_t)gen_below(&c->frng, 1u << 20);
	f.c_mss = f.v6 ? 1440 : 1460;
	p = gen_tcp_raw(&f, GEN_D_CLI, TH_SYN, f.c_nxt, 0, NULL, 0);
	if (!p)
		return -ENOMEM;
	p->ts = ts;
	p->dir = GEN_D_CLI;
	p->kind = GEN_K_CTRL;
	c->n_flood++;
	return gen_emit(c, p);
}

/* gen_slowloris_flow - slow client i: handshake, greeting, then one byte of
 * "EHLO xxx..." every gap, never a whole line; the server ACKs each; the
 * client closes one gap after its last byte. Packets go to the heap. */
static int gen_slowloris_flow(struct gen_ctx *c, uint64_t i, uint64_t t)
{
	static const char text[] = "EHLO x";
	uint64_t gap = c->o.slow_gap * 1000000u;
	struct gen_flow f;
	struct gen_sess s;

	unsigned srv;

	gen_flow_init_from(c, &f, t, 0, &c->srng);
	gen_v4(f.caddr, 198, 19, 240, (unsigned)i + 1);
	srv = (unsigned)gen_below(&f.rng, GEN_NSERVERS);
	gen_server(&f, srv);
	gen_sess_init(c, &f, &s, srv);
	s.greet = 0;		/* one greeting segment: the time the test counts from */
	gen_handshake(&f);
	gen_greeting(&f, &s, gen_banner_delay(&f), 0);
	for (uint64_t k = 0; k < c->o.slow_bytes; k++) {
		char b = k < sizeof(text) - 1 ? text[k] : 'x';

		if (k == 0)
			gen_cli_n(&f, &b, 1, gap);
		else
			gen_cli_more(&f, &b, 1, gap);
	}
	if (f.c_unacked) {
		gen_pure_ack(&f, GEN_D_SRV, f.c_last + gen_range(&f.rng, 200, GEN_DELACK_US));
		f.c_unacked = 0;
	}
	gen_close(&f, GEN_D_CLI, gap);
	c->n_slow++;
	return gen_flow_commit(c, &f);
}

/* ------------------------------------------------------------------ */
/* Driver                                                               */

/* gen_emit - write one packet (the first pass only notes its time);
 * frees it */
static int gen_emit(struct gen_ctx *c, struct gen_pkt *p)
{
	int rc = 0;

	if (p->ts > c->last_ts)
		c->last_ts = p->ts;
	if (!c->dry) {
		rc = gen_pcap_write(c->pcap, p);
		c->n_pkts++;
		c->n_bytes += p->len;
	}
	free(p);
	return rc;
}

/* gen_flush_before - write every queued packet earlier than t, merging
 * in the flood SYNs due before it (a session packet first on a tie) */
static int gen_flush_before(struct gen_ctx *c, uint64_t t)
{
	for (;;) {
		uint64_t ft = gen_flood_due(c);
		int heap_ok = c->heap.n && c->heap.v[0]->ts < t;
		int rc;

		if (ft < t && (!heap_ok || ft < c->heap.v[0]->ts)) {
			rc = gen_flood_syn(c, ft);
		} else if (heap_ok) {
			rc = gen_emit(c, gen_heap_pop(&c->heap));
		} else {
			return 0;
		}
		if (rc)
			return rc;
	}
}

/* gen_flow_commit - move a finished flow's packets to the heap */
static int gen_flow_commit(struct gen_ctx *c, struct gen_flow *f)
{
	int rc = f->err;

	for (size_t i = 0; i < f->npk; i++) {
		if (rc == 0)
			rc = gen_heap_push(&c->heap, f->pk[i]);
		if (rc)
			free(f->pk[i]);
	}
	free(f->pk);
	f->pk = NULL;
	f->npk = f->cap = 0;
	return rc;
}

/* gen_pick_class - weighted class draw */
static enum gen_class gen_pick_class(struct gen_ctx *c)
{
	unsigned total = 0, x;

	for (int i = 0; i < GEN_C_MAX; i++)
		total += c->o.mix[i];
	x = (unsigned)gen_below(&c->rng, total);
	for (int i = 0; i < GEN_C_MAX; i++) {
		if (x < c->o.mix[i])
			return (enum gen_class)i;
		x -= c->o.mix[i];
	}
	gen_die("class draw");
	return GEN_C_GOOD;
}

/* gen_smtp_flow - one screened SMTP session of a class, plus its label */
static int gen_smtp_flow(struct gen_ctx *c, uint64_t t, enum gen_class cls)
{
	struct gen_flow f;
	struct gen_sess s;
	unsigned srv;
	int want_v6;

	want_v6 = gen_chance(&c->rng, c->o.v6);
	gen_flow_init(c, &f, t, 0);
	gen_client_addr(c, &f, cls, want_v6);
	if (f.v6) {
		f.c_mss = f.c_mss > 1440 ? 1440 : f.c_mss;
		f.s_mss = 1440;
		f.mss = f.c_mss < f.s_mss ? f.c_mss : f.s_mss;
		c->n_v6++;
	}
	srv = (unsigned)gen_below(&f.rng, GEN_NSERVERS);
	if (cls == GEN_C_PIPELINING && gen_server_nopipe(c, 0) && gen_chance(&f.rng, 30))
		srv = (unsigned)gen_below(&f.rng, (uint64_t)(c->o.nopipe * GEN_NSERVERS / 100.0 + 0.5));
	gen_server(&f, srv);
	gen_sess_init(c, &f, &s, srv);
	switch (cls) {
	case GEN_C_GOOD:
	case GEN_C_BLOCKLISTED:
	case GEN_C_ALLOWLISTED:
		gen_good_session(c, &f, &s);
		break;
	case GEN_C_PREGREET:
		gen_pregreet_session(c, &f, &s);
		break;
	case GEN_C_BARE_NEWLINE:
		gen_bare_newline_session(c, &f, &s);
		break;
	case GEN_C_PIPELINING:
		gen_pipelining_session(c, &f, &s);
		break;
	case GEN_C_NON_SMTP:
		gen_non_smtp_session(c, &f, &s);
		break;
	case GEN_C_HELO:
		gen_helo_session(c, &f, &s);
		break;
	case GEN_C_HARVEST:
		gen_harvest_session(&f, &s);
		break;
	case GEN_C_AUTH:
		gen_auth_session(&f, &s);
		break;
	case GEN_C_SMUGGLING:
		gen_smuggling_session(c, &f, &s);
		break;
	case GEN_C_GOOD_BARE_LF:
		gen_good_bare_lf_session(c, &f, &s);
		break;
	case GEN_C_ENV_SENDER:
	case GEN_C_ENV_RECIPIENT:
	case GEN_C_ENV_UNKNOWN:
	case GEN_C_ENV_ACCESS:
		gen_envelope_session(c, &f, &s, cls);
		break;
	case GEN_C_MAX:
	default:
		gen_die("class");
	}
	if (!f.err && gen_chance(&f.rng, c->o.noise)) {
		unsigned k = (unsigned)gen_range(&f.rng, 1, 3);

		while (k-- && !f.err)
			gen_perturb(&f);
		c->n_perturbed++;
	}
	c->n_class[cls]++;
	if (cls != GEN_C_ALLOWLISTED && !c->dry) {
		char ca[64], sa[64];

		gen_addr_str(&f, f.caddr, ca, sizeof(ca));
		gen_addr_str(&f, f.saddr, sa, sizeof(sa));
		if (fprintf(c->csv, "%s,%u,%s,%u,%s\n", ca, f.cport, sa, f.sport,
			    gen_class_label[cls]) < 0)
			f.err = f.err ? f.err : -EIO;
	}
	return gen_flow_commit(c, &f);
}

/* gen_run - generate all flows in start-time order and write them */
static int gen_run(struct gen_ctx *c)
{
	uint64_t n_noise = (uint64_t)((double)c->o.flows * c->o.noise / 100.0 + 0.5);
	uint64_t left_smtp = c->o.flows, left_noise = n_noise, t = 0;
	int rc;

	if (!c->dry) {
		rc = gen_pcap_header(c->pcap);
		if (rc)
			return rc;
		if (fprintf(c->csv, "client,client_port,server,server_port,class\n") < 0)
			return -EIO;
	}
	for (uint64_t i = 0; i < c->o.slowloris; i++) {
		rc = gen_slowloris_flow(c, i, 1000 + i * (c->o.slow_gap * 1000000u) /
					c->o.slowloris);
		if (rc)
			return rc;
	}
	while (left_smtp + left_noise) {
		/* Poisson arrivals, --rate per second (default 500) */
		t += (uint64_t)(-log(1.0 - gen_unit(&c->rng)) * 1e6 / c->o.rate) + 1;
		rc = gen_flush_before(c, t);
		if (rc)
			return rc;
		if (gen_below(&c->rng, left_smtp + left_noise) < left_noise) {
			unsigned total = 0, x;
			int k = 0;
			struct gen_flow f;

			for (int i = 0; i < GEN_N_MAX; i++)
				total += gen_noise_weight[i];
			x = (unsigned)gen_below(&c->rng, total);
			while (x >= gen_noise_weight[k])
				x -= gen_noise_weight[k++];
			gen_flow_init(c, &f, t, gen_chance(&c->rng, c->o.v6));
			gen_noise_flow(c, &f, (enum gen_noise)k);
			c->n_noise[k]++;
			rc = gen_flow_commit(c, &f);
			left_noise--;
		} else {
			rc = gen_smtp_flow(c, t, gen_pick_class(c));
			left_smtp--;
		}
		if (rc)
			return rc;
	}
	return gen_flush_before(c, UINT64_MAX);
}

/* gen_reset - back to the state before any flow (between the passes) */
static void gen_reset(struct gen_ctx *c)
{
	gen_rng_seed(&c->rng, c->o.seed);
	gen_rng_seed(&c->frng, c->o.seed ^ 0x666c6f6f64ull);	/* "flood" */
	gen_rng_seed(&c->srng, c->o.seed ^ 0x736c6f77ull);	/* "slow" */
	c->order = 0;
	c->pool_v4 = c->pool_v6 = c->pool_deny4 = c->pool_deny6 = 0;
	c->pool_perm4 = c->pool_perm6 = c->pool_noise = 0;
	memset(c->n_class, 0, sizeof(c->n_class));
	memset(c->n_noise, 0, sizeof(c->n_noise));
	c->n_v6 = c->n_vlan = c->n_perturbed = c->n_pkts = c->n_bytes = 0;
	c->flood_i = c->n_flood = c->n_flood_v6 = c->n_slow = 0;
	c->last_ts = 0;
}

/* gen_generate - one pass, or two when the flood is spread over the span
 * of the rest (the first pass writes nothing) */
static int gen_generate(struct gen_ctx *c)
{
	int rc;

	if (c->o.syn_flood && !c->o.flood_rate) {
		gen_reset(c);
		c->dry = 1;
		rc = gen_run(c);
		c->dry = 0;
		if (rc)
			return rc;
		c->flood_span = c->last_ts;
	}
	gen_reset(c);
	return gen_run(c);
}

/* gen_parse_u64 - whole-string unsigned number; 0 or -EINVAL */
static int gen_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* gen_parse_pct - whole-string percentage 0..100; 0 or -EINVAL */
static int gen_parse_pct(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 100))
		return -EINVAL;
	*out = v;
	return 0;
}

/* gen_parse_mix - "good=70,pregreet=5,..."; unnamed classes get 0;
 * 0 or -EINVAL with a message */
static int gen_parse_mix(const char *s, unsigned *mix)
{
	char *dup = strdup(s), *save = NULL, *tok;
	int rc = 0;
	unsigned total = 0;

	if (!dup)
		return -ENOMEM;
	memset(mix, 0, sizeof(unsigned) * GEN_C_MAX);
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t v;
		int i;

		if (!eq) {
			fprintf(stderr, "scr-gen: --mix: \"%s\": expected class=weight\n", tok);
			rc = -EINVAL;
			goto out;
		}
		*eq = 0;
		for (i = 0; i < GEN_C_MAX; i++)
			if (!strcmp(tok, gen_class_name[i]))
				break;
		if (i == GEN_C_MAX || gen_parse_u64(eq + 1, &v) || v > 1000000) {
			fprintf(stderr, "scr-gen: --mix: bad entry \"%s=%s\"\n", tok, eq + 1);
			rc = -EINVAL;
			goto out;
		}
		mix[i] = (unsigned)v;
		total += (unsigned)v;
	}
	if (total == 0) {
		fprintf(stderr, "scr-gen: --mix: all weights are zero\n");
		rc = -EINVAL;
	}
out:
	free(dup);
	return rc;
}

/* gen_usage - print usage */
static void gen_usage(FILE *fp)
{
	fprintf(fp,
		"usage: scr-gen --seed S --flows N [--mix good=70,pregreet=5,...] [--noise PCT]\n"
		"               [--v6 PCT] [--vlan PCT] [--no-pipelining-server PCT] [--rate N]\n"
		"               [--stale-rcpt PCT] [--syn-flood N [--flood-rate PPS]]\n"
		"               [--slowloris N [--slowloris-gap SEC] [--slowloris-bytes K]]\n"
		"               -o out.pcap --labels out.csv\n"
		"classes: good pregreet bare_newline pipelining non_smtp_command helo\n"
		"         blocklisted allowlisted (allowlisted flows get no label)\n"
		"         harvest auth (reply-ban bots, label reply_ban; weight 0 by default)\n"
		"--stale-rcpt PCT: good sessions with 1-2 unknown recipients (550 5.1.1)\n"
		"         smuggling good_bare_lf (labelled good); both weight 0 by default\n"
		"         env_sender env_recipient env_unknown env_access (envelope checks,\n"
		"         label envelope: a non-FQDN sender, a non-FQDN recipient, a sender\n"
		"         domain in .invalid, a sender in bulk.example.net); weight 0 by default\n"
		"defaults: --mix good=70,pregreet=5,bare_newline=4,pipelining=5,"
		"non_smtp_command=4,helo=6,blocklisted=4,allowlisted=2\n"
		"          --noise 10 --v6 10 --vlan 5 --no-pipelining-server 20\n"
		"          --rate 500 (new flows per second; sessions last 0.33 s median)\n"
		"load (unlabeled, default off): --syn-flood N spoofed SYNs from N distinct\n"
		"          sources (198.19.224.0/20, then 2001:db8:f000::/48), spread over the\n"
		"          capture's span or --flood-rate PPS from its start; --slowloris N\n"
		"          (<= 254, 198.19.240.0/24) clients that trickle one byte per\n"
		"          --slowloris-gap SEC (60), --slowloris-bytes K (10), never a line\n");
}

/* gen_bad_value - report a bad option value; returns the exit status */
static int gen_bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "scr-gen: --%s: bad value \"%s\"\n", opt, val);
	gen_usage(stderr);
	return 1;
}

/* main - parse options, generate, report */
int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'n' },
		{ "mix", required_argument, NULL, 'm' },
		{ "noise", required_argument, NULL, 'N' },
		{ "v6", required_argument, NULL, '6' },
		{ "vlan", required_argument, NULL, 'V' },
		{ "no-pipelining-server", required_argument, NULL, 'P' },
		{ "stale-rcpt", required_argument, NULL, 'S' },
		{ "rate", required_argument, NULL, 'R' },
		{ "syn-flood", required_argument, NULL, 'F' },
		{ "flood-rate", required_argument, NULL, 'f' },
		{ "slowloris", required_argument, NULL, 'L' },
		{ "slowloris-gap", required_argument, NULL, 'g' },
		{ "slowloris-bytes", required_argument, NULL, 'k' },
		{ "labels", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gen_ctx c;
	int opt, have_seed = 0, have_flows = 0, status = 1, rc;
	const char *badopt = "";
	static char pbuf[1 << 22];

	c.o.noise = 10;
	c.o.v6 = 10;
	c.o.vlan = 5;
	c.o.nopipe = 20;
	c.o.rate = 500;
	c.o.slow_gap = 60;
	c.o.slow_bytes = 10;
	if (gen_parse_mix("good=70,pregreet=5,bare_newline=4,pipelining=5,non_smtp_command=4,"
			  "helo=6,blocklisted=4,allowlisted=2", c.o.mix))
		gen_die("default mix");
	int li = 0;

	while ((opt = getopt_long(argc, argv, "o:h", lo, &li)) != -1) {
		const char *oname = "";

		for (int k = 0; lo[k].name; k++)
			if (lo[k].val == opt)
				oname = lo[k].name;
		badopt = oname;
		switch (opt) {
		case 's':
			if (gen_parse_u64(optarg, &c.o.seed))
				return gen_bad_value(badopt, optarg);
			have_seed = 1;
			break;
		case 'n':
			if (gen_parse_u64(optarg, &c.o.flows) || c.o.flows > 100000000ull)
				return gen_bad_value(badopt, optarg);
			have_flows = 1;
			break;
		case 'm':
			if (gen_parse_mix(optarg, c.o.mix))
				return 1;
			break;
		case 'N':
			if (gen_parse_pct(optarg, &c.o.noise))
				return gen_bad_value(badopt, optarg);
			break;
		case '6':
			if (gen_parse_pct(optarg, &c.o.v6))
				return gen_bad_value(badopt, optarg);
			break;
		case 'V':
			if (gen_parse_pct(optarg, &c.o.vlan))
				return gen_bad_value(badopt, optarg);
			break;
		case 'P':
			if (gen_parse_pct(optarg, &c.o.nopipe))
				return gen_bad_value(badopt, optarg);
			break;
		case 'S':
			if (gen_parse_pct(optarg, &c.o.stale))
				return gen_bad_value(badopt, optarg);
			break;
		case 'R': {
			uint64_t r;

			if (gen_parse_u64(optarg, &r) || r == 0 || r > 10000000)
				return gen_bad_value(badopt, optarg);
			c.o.rate = (double)r;
			break;
		}
		case 'F':
			if (gen_parse_u64(optarg, &c.o.syn_flood) || c.o.syn_flood > 100000000ull)
				return gen_bad_value(badopt, optarg);
			break;
		case 'f':
			if (gen_parse_u64(optarg, &c.o.flood_rate) || c.o.flood_rate == 0 ||
			    c.o.flood_rate > 100000000ull)
				return gen_bad_value(badopt, optarg);
			break;
		case 'L':
			if (gen_parse_u64(optarg, &c.o.slowloris) || c.o.slowloris > GEN_SLOW_MAX)
				return gen_bad_value(badopt, optarg);
			break;
		case 'g':
			if (gen_parse_u64(optarg, &c.o.slow_gap) || c.o.slow_gap == 0 ||
			    c.o.slow_gap > 86400)
				return gen_bad_value(badopt, optarg);
			break;
		case 'k':
			if (gen_parse_u64(optarg, &c.o.slow_bytes) || c.o.slow_bytes == 0 ||
			    c.o.slow_bytes > 1000)
				return gen_bad_value(badopt, optarg);
			break;
		case 'l':
			c.o.labels = optarg;
			break;
		case 'o':
			c.o.out = optarg;
			break;
		case 'h':
			gen_usage(stdout);
			return 0;
		default:
			gen_usage(stderr);
			return 1;
		}
	}
	if (optind != argc || !have_seed || !have_flows || !c.o.out || !c.o.labels) {
		fprintf(stderr, "scr-gen: --seed, --flows, -o and --labels are required\n");
		gen_usage(stderr);
		return 1;
	}
	if (c.o.syn_flood && !c.o.flood_rate && c.o.flows == 0 && c.o.slowloris == 0) {
		fprintf(stderr, "scr-gen: --syn-flood without sessions has no time span: "
			"give --flood-rate\n");
		return 1;
	}
	if (gen_corpus_build(&c)) {
		fprintf(stderr, "scr-gen: out of memory\n");
		goto out;
	}
	c.pcap = fopen(c.o.out, "wb");
	if (!c.pcap) {
		fprintf(stderr, "scr-gen: %s: %s\n", c.o.out, strerror(errno));
		goto out;
	}
	setvbuf(c.pcap, pbuf, _IOFBF, sizeof(pbuf));
	c.csv = fopen(c.o.labels, "w");
	if (!c.csv) {
		fprintf(stderr, "scr-gen: %s: %s\n", c.o.labels, strerror(errno));
		goto out;
	}
	rc = gen_generate(&c);
	if (rc) {
		fprintf(stderr, "scr-gen: %s\n", rc == -ENOMEM ? "out of memory"
			: "write error on output");
		goto out;
	}
	if (fflush(c.pcap) || fflush(c.csv) || ferror(c.pcap) || ferror(c.csv)) {
		fprintf(stderr, "scr-gen: write error: %s\n", strerror(errno));
		goto out;
	}
	fprintf(stderr, "scr-gen: seed=%llu flows=%llu packets=%llu bytes=%llu v6=%llu vlan=%llu "
		"perturbed=%llu\n", (unsigned long long)c.o.seed, (unsigned long long)c.o.flows,
		(unsigned long long)c.n_pkts, (unsigned long long)c.n_bytes,
		(unsigned long long)c.n_v6, (unsigned long long)c.n_vlan,
		(unsigned long long)c.n_perturbed);
	fprintf(stderr, "scr-gen: classes");
	for (int i = 0; i < GEN_C_MAX; i++)
		if (i < GEN_C_SMUGGLING || c.o.mix[i] > 0)	/* as before they existed */
			fprintf(stderr, " %s=%llu", gen_class_name[i],
				(unsigned long long)c.n_class[i]);
	fprintf(stderr, "\nscr-gen: noise");
	for (int i = 0; i < GEN_N_MAX; i++)
		fprintf(stderr, " %s=%llu", gen_noise_name[i], (unsigned long long)c.n_noise[i]);
	fprintf(stderr, "\n");
	if (c.o.syn_flood || c.o.slowloris)
		fprintf(stderr, "scr-gen: load syn_flood=%llu syn_flood_v6=%llu flood_span_us=%llu "
			"slowloris=%llu slowloris_gap_s=%llu slowloris_bytes=%llu "
			"last_us=%llu\n",
			(unsigned long long)c.n_flood, (unsigned long long)c.n_flood_v6,
			(unsigned long long)(c.o.flood_rate
				? c.o.syn_flood * 1000000u / c.o.flood_rate : c.flood_span),
			(unsigned long long)c.n_slow, (unsigned long long)c.o.slow_gap,
			(unsigned long long)c.o.slow_bytes, (unsigned long long)c.last_ts);
	status = 0;
out:
	if (c.pcap && fclose(c.pcap) && status == 0) {
		fprintf(stderr, "scr-gen: %s: %s\n", c.o.out, strerror(errno));
		status = 1;
	}
	if (c.csv && fclose(c.csv) && status == 0) {
		fprintf(stderr, "scr-gen: %s: %s\n", c.o.labels, strerror(errno));
		status = 1;
	}
	while (c.heap.n)
		free(gen_heap_pop(&c.heap));
	free(c.heap.v);
	free(c.corpus);
	free(c.lines);
	free(c.buf);
	return status;
}
