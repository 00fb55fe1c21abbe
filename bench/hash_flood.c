/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	hash-flood - captures of clients that share one flow-table bucket
 *	under the old, unkeyed flow hash, and of as many random clients
 * DESCRIPTION
 *	The attack of issue 14 ("Keyed hashing"), offline. Before the keyed
 *	hash (scr_hash), scr_flow_hash was a fixed function of the flow key:
 *	a copy of it is below as old_flow_hash(). hash-flood searches client
 *	(address, port) pairs towards one server (198.19.255.10:25) whose old
 *	hash lands in one bucket of a table of --table-size entries (the
 *	bucket array is the next power of two; the default is replay's
 *	default smtpscreen_flow_table_size), one pair per client address
 *	(distinct addresses, so postscreen_client_connection_count_limit
 *	never applies), addresses from 100.64.0.0/10 (not in examples/
 *	access.cidr: every client is screened). The search is a brute force
 *	over addresses and ports with the constant part of the old hash taken
 *	out; it stops at --max-seconds with what it found. Every pair found
 *	is checked against old_flow_hash() of its whole key.
 *
 *	It then writes, for each shape of --shape and each N of --n
 *	(colliding sets are prefixes of the largest), DIR/colliding-SHAPE-N.pcap
 *	and DIR/random-SHAPE-N.pcap: the same packets, timestamps and sequence
 *	numbers, with the colliding clients or with N random distinct clients
 *	of the same /10 and random ports.
 *	--shape syn: each client sends a SYN, never answered (a SYN flood);
 *	--shape session: SYN, SYN-ACK, ACK, 220 greeting, EHLO, 250 reply,
 *	QUIT, 221, FIN from the server, FIN from the client, last ACK (a
 *	passing client). Packets go step by step over all N clients (every
 *	SYN first, then every SYN-ACK, ...), 1 us apart, so all N flows are
 *	in the table at once. A capture holds --rounds R rounds (or as many
 *	as reach --packets frames), 40 s of capture time apart, more than the
 *	SYN and close timeouts: each round starts with an empty table, so one
 *	pass of `smtpscreen replay` does R times the work of one flood
 *	without --loop's table resets. DIR/colliding.csv lists the pairs.
 *	Ethernet, IPv4, TCP without options, checksums set; classic pcap,
 *	microsecond timestamps.
 * CONTRACT
 *	hash-flood --n N[,N...] -o DIR [--table-size T] [--shape syn,session]
 *	           [--rounds R | --packets P] [--seed S] [--max-seconds S]
 *	Exit 0; 1 with a message (bad option, I/O error, out of memory, or
 *	fewer pairs found than the largest N in --max-seconds: the captures
 *	for the Ns that were reached are still written).
 *	Prints "found=K trials=T seconds=S mtrials_per_s=X bucket=B mask=M"
 *	and one "wrote ..." line per capture on stdout.
 * THREADING
 *	One thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "scr_csum.h"
#include "scr_types.h"

#define MAX_SIZES	8
#define CLIENT_NET	0x64400000u	/* 100.64.0.0/10 */
#define CLIENT_BITS	22
#define SERVER_IP	0xc613ff0au	/* 198.19.255.10 */
#define SERVER_PORT	25
#define ROUND_GAP_US	40000000ull	/* > smtpscreen_tcp_syn_timeout (30 s) */
#define TS_BASE		1780000000ull	/* capture start, Unix seconds */

/* --- the old hash: scr_flow_hash before the keyed hash, verbatim ------- */

/* old_mix64 - scr_mix64 (scr_types.h), the mix of the old flow hash */
static inline uint64_t old_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* old_flow_hash - the unkeyed scr_flow_hash every build used before
 * scr_hash (dataplane/engine/scr_flow.h) */
static uint32_t old_flow_hash(const struct scr_flow_key *k)
{
	uint64_t w[5];

	memcpy(w, k, 40);
	/* client (w0, w1), server (w2, w3), ports and family (w4) */
	return (uint32_t)old_mix64(old_mix64(w[0] ^ w[2] * 0x9e3779b97f4a7c15ull) ^
				   w[1] ^ (w[3] << 1) ^ (w[4] * 0xc2b2ae3d27d4eb4full));
}

/* --- keys ---------------------------------------------------------------- */

struct client {
	uint32_t ip;		/* host order */
	uint16_t port;
};

/* flow_key - the engine's key of client c to the server */
static struct scr_flow_key flow_key(const struct client *c)
{
	struct scr_flow_key k;

	memset(&k, 0, sizeof(k));
	k.client.b[10] = k.client.b[11] = 0xff;
	k.client.b[12] = (uint8_t)(c->ip >> 24);
	k.client.b[13] = (uint8_t)(c->ip >> 16);
	k.client.b[14] = (uint8_t)(c->ip >> 8);
	k.client.b[15] = (uint8_t)c->ip;
	k.server.b[10] = k.server.b[11] = 0xff;
	k.server.b[12] = (uint8_t)(SERVER_IP >> 24);
	k.server.b[13] = (uint8_t)(SERVER_IP >> 16);
	k.server.b[14] = (uint8_t)(SERVER_IP >> 8);
	k.server.b[15] = (uint8_t)SERVER_IP;
	k.client_port = c->port;
	k.server_port = SERVER_PORT;
	k.family = 4;
	return k;
}

/* xs64 - xorshift64* step */
static uint64_t xs64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* now_s - monotonic seconds */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* find_colliding - up to want clients whose old hash & mask == bucket;
 * the count found */
static uint32_t find_colliding(struct client *out, uint32_t want, uint32_t mask,
			       uint32_t bucket, double max_s, uint64_t *trials,
			       double *secs)
{
	const struct client srv = { .ip = 0, .port = 0 };
	struct scr_flow_key k = flow_key(&srv);
	uint64_t w[5], base, t = 0;
	uint32_t found = 0, a;
	double t0 = now_s();

	/* The words of the key: client w0 = 0 and w1 (address), server w2,
	 * w3 (fixed), w4 = client port | server port << 16 | family << 32.
	 * The inner mix and the server's words are the same for every
	 * client: taken out of the loop. (Little-endian layout, as on the
	 * machines the old build ran on; every hit is checked below.) */
	memcpy(w, &k, 40);
	base = old_mix64(0 ^ w[2] * 0x9e3779b97f4a7c15ull) ^ (w[3] << 1);
	for (a = 0; found < want && a < (1u << CLIENT_BITS); a++) {
		/* addresses in a scattered order: odd multiplier mod 2^22 */
		uint32_t ip = CLIENT_NET | ((a * 0x9e3779u) & ((1u << CLIENT_BITS) - 1));
		uint64_t w1, x;
		uint32_t p;

		if ((ip & 0xff) == 0 || (ip & 0xff) == 255)
			continue;
		/* bytes 10, 11 = 0xff; 12..15 = the address, network order */
		w1 = 0xffff0000ull | (uint64_t)__builtin_bswap32(ip) << 32;
		x = base ^ w1;
		for (p = 1024; p < 65536; p++) {
			uint64_t w4 = p | (uint64_t)SERVER_PORT << 16 | 4ull << 32;

			if (((uint32_t)old_mix64(x ^ w4 * 0xc2b2ae3d27d4eb4full) & mask) ==
			    bucket)
				break;
		}
		t += p - 1024 + (p < 65536);
		if (p < 65536) {
			struct scr_flow_key fk;

			out[found].ip = ip;
			out[found].port = (uint16_t)p;
			fk = flow_key(&out[found]);
			if ((old_flow_hash(&fk) & mask) != bucket) {
				fprintf(stderr, "hash-flood: internal error: %u.%u.%u.%u:%u "
					"is not in bucket %u\n", ip >> 24, ip >> 16 & 255,
					ip >> 8 & 255, ip & 255, p, bucket);
				exit(1);
			}
			found++;
		}
		if ((a & 63) == 0 && now_s() - t0 > max_s)
			break;
	}
	*trials = t;
	*secs = now_s() - t0;
	return found;
}

/* random_clients - n clients of distinct random addresses of the same
 * /10, random ports */
static int random_clients(struct client *out, uint32_t n, uint64_t seed)
{
	uint8_t *used = calloc(1u << (CLIENT_BITS - 3), 1);
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	uint32_t i = 0;

	if (used == NULL)
		return -ENOMEM;
	while (i < n) {
		uint64_t r = xs64(&s);
		uint32_t off = (uint32_t)r & ((1u << CLIENT_BITS) - 1);
		uint32_t ip = CLIENT_NET | off;

		if ((ip & 0xff) == 0 || (ip & 0xff) == 255 ||
		    (used[off >> 3] & (1u << (off & 7))))
			continue;
		used[off >> 3] |= (uint8_t)(1u << (off & 7));
		out[i].ip = ip;
		out[i].port = (uint16_t)(1024 + (r >> 32) % 64512);
		i++;
	}
	free(used);
	return 0;
}

/* --- frames ---------------------------------------------------------------- */

enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

/* One step of a session: who sends, flags, payload. Sequence numbers
 * follow from the payloads. */
struct step {
	int from_server;
	uint8_t flags;
	const char *data;
};

static const struct step session_steps[] = {
	{ 0, F_SYN, "" },
	{ 1, F_SYN | F_ACK, "" },
	{ 0, F_ACK, "" },
	{ 1, F_PSH | F_ACK, "220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n" },
	{ 0, F_PSH | F_ACK, "EHLO client.example.org\r\n" },
	{ 1, F_PSH | F_ACK, "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			    "250 8BITMIME\r\n" },
	{ 0, F_PSH | F_ACK, "QUIT\r\n" },
	{ 1, F_PSH | F_ACK, "221 2.0.0 Bye\r\n" },
	{ 1, F_FIN | F_ACK, "" },
	{ 0, F_FIN | F_ACK, "" },
	{ 1, F_ACK, "" },
};
#define SESSION_STEPS (sizeof(session_steps) / sizeof(session_steps[0]))

/* be16, be32 - network order stores */
static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

/* frame - Ethernet + IPv4 + TCP of one step into buf; its length */
static size_t frame(uint8_t *buf, const struct client *c, const struct step *st,
		    uint32_t seq, uint32_t ack, uint16_t ipid)
{
	static const uint8_t mac_c[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t mac_s[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t dlen = strlen(st->data), len = 14 + 20 + 20 + dlen;
	uint32_t src = st->from_server ? SERVER_IP : c->ip;
	uint32_t dst = st->from_server ? c->ip : SERVER_IP;
	uint8_t *ip = buf + 14, *tcp = ip + 20;
	uint32_t sum;

	memcpy(buf, st->from_server ? mac_c : mac_s, 6);
	memcpy(buf + 6, st->from_server ? mac_s : mac_c, 6);
	be16(buf + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	be16(ip + 2, (uint16_t)(40 + dlen));
	be16(ip + 4, ipid);
	be16(ip + 6, 0x4000);
	ip[8] = st->from_server ? 64 : 52;
	ip[9] = 6;
	be16(ip + 10, 0);
	be32(ip + 12, src);
	be32(ip + 16, dst);
	be16(ip + 10, scr_csum_fold(scr_csum_add(0, ip, 20)));
	be16(tcp, st->from_server ? SERVER_PORT : c->port);
	be16(tcp + 2, st->from_server ? c->port : SERVER_PORT);
	be32(tcp + 4, seq);
	be32(tcp + 8, (st->flags & F_ACK) ? ack : 0);
	tcp[12] = 5 << 4;
	tcp[13] = st->flags;
	be16(tcp + 14, 64240);
	be16(tcp + 16, 0);
	be16(tcp + 18, 0);
	memcpy(tcp + 20, st->data, dlen);
	sum = scr_csum_add(0, ip + 12, 8) + 6 + (uint32_t)(20 + dlen);
	be16(tcp + 16, scr_csum_fold(scr_csum_add(sum, tcp, 20 + dlen)));
	if (len < 60) {
		memset(buf + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

/* le32 - little-endian store */
static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* write_capture - R rounds of n clients' steps; 0 or -errno */
static int write_capture(const char *path, const struct client *cl, uint32_t n,
			 const struct step *steps, unsigned nsteps,
			 unsigned rounds, uint64_t seed)
{
	FILE *fp = fopen(path, "wb");
	uint8_t hdr[24], rec[16], buf[256];
	uint32_t *seq = malloc((size_t)n * 2 * sizeof(uint32_t));
	unsigned r, s;
	uint32_t i;
	int ret = 0;

	if (fp == NULL || seq == NULL) {
		ret = fp == NULL ? -errno : -ENOMEM;
		goto out;
	}
	le32(hdr, 0xa1b2c3d4u);
	hdr[4] = 2; hdr[5] = 0; hdr[6] = 4; hdr[7] = 0;
	le32(hdr + 8, 0);
	le32(hdr + 12, 0);
	le32(hdr + 16, 65535);
	le32(hdr + 20, 1);
	if (fwrite(hdr, sizeof(hdr), 1, fp) != 1)
		ret = -EIO;
	for (r = 0; r < rounds && ret == 0; r++) {
		uint64_t ts = r * ROUND_GAP_US, sx = seed ^ (r + 1) * 0xd1b54a32d192ed03ull;

		for (i = 0; i < n; i++) {
			seq[2 * i] = (uint32_t)xs64(&sx);	/* client ISN */
			seq[2 * i + 1] = (uint32_t)xs64(&sx);	/* server ISN */
		}
		for (s = 0; s < nsteps && ret == 0; s++) {
			const struct step *st = &steps[s];
			uint32_t dlen = (uint32_t)strlen(st->data);

			for (i = 0; i < n; i++) {
				uint32_t *mine = &seq[2 * i + st->from_server];
				uint32_t peer = seq[2 * i + !st->from_server];
				uint64_t sec = TS_BASE + ts / 1000000u;
				size_t len = frame(buf, &cl[i], st, *mine, peer,
						   (uint16_t)(i + s));

				le32(rec, (uint32_t)sec);
				le32(rec + 4, (uint32_t)(ts % 1000000u));
				le32(rec + 8, (uint32_t)len);
				le32(rec + 12, (uint32_t)len);
				if (fwrite(rec, sizeof(rec), 1, fp) != 1 ||
				    fwrite(buf, len, 1, fp) != 1) {
					ret = -EIO;
					break;
				}
				*mine += dlen + ((st->flags & (F_SYN | F_FIN)) ? 1 : 0);
				ts++;
			}
		}
	}
out:
	free(seq);
	if (fp != NULL && fclose(fp) != 0 && ret == 0)
		ret = -EIO;
	return ret;
}

/* usage - options */
static int usage(void)
{
	fprintf(stderr,
		"usage: hash-flood --n N[,N...] -o DIR [--table-size T] "
		"[--shape syn,session]\n"
		"                  [--rounds R | --packets P] [--seed S] "
		"[--max-seconds S]\n");
	return 1;
}

/* parse_u - unsigned decimal in [lo, hi]; 0 or -1 */
static int parse_u(const char *s, unsigned long lo, unsigned long hi,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out < lo || *out > hi ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "table-size", required_argument, NULL, 't' },
		{ "shape", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "packets", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long sizes[MAX_SIZES], nsizes = 0, table = 262144, rounds = 0,
		      packets = 0, seed = 1, max_s = 300, v;
	unsigned shape_steps[2] = { 0, 0 }, nshapes = 0, i;
	const char *dir = NULL;
	struct client *col = NULL, *rnd = NULL;
	uint32_t nb = 1, want = 0, found, bucket;
	uint64_t trials;
	double secs;
	char path[4096];
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "o:", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *s = optarg, *tok;

			while ((tok = strsep(&s, ",")) != NULL) {
				if (nsizes == MAX_SIZES ||
				    parse_u(tok, 1, 1u << 22, &sizes[nsizes]) != 0)
					return usage();
				if (sizes[nsizes] > want)
					want = (uint32_t)sizes[nsizes];
				nsizes++;
			}
			break;
		}
		case 'o': dir = optarg; break;
		case 't':
			if (parse_u(optarg, 1024, 16777216, &table) != 0)
				return usage();
			break;
		case 's': {
			char *s = optarg, *tok;

			nshapes = 0;
			while ((tok = strsep(&s, ",")) != NULL) {
				if (nshapes == 2)
					return usage();
				if (strcmp(tok, "syn") == 0)
					shape_steps[nshapes++] = 1;
				else if (strcmp(tok, "session") == 0)
					shape_steps[nshapes++] = SESSION_STEPS;
				else
					return usage();
			}
			break;
		}
		case 'r':
			if (parse_u(optarg, 1, 100000, &rounds) != 0)
				return usage();
			break;
		case 'p':
			if (parse_u(optarg, 1, 1ul << 32, &packets) != 0)
				return usage();
			break;
		case 'S':
			if (parse_u(optarg, 0, ~0ul, &seed) != 0)
				return usage();
			break;
		case 'm':
			if (parse_u(optarg, 1, 86400, &max_s) != 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (dir == NULL || nsizes == 0 || optind != argc)
		return usage();
	if (nshapes == 0)
		shape_steps[nshapes++] = SESSION_STEPS;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "hash-flood: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while (nb < table)
		nb <<= 1;
	col = calloc(want, sizeof(*col));
	rnd = calloc(want, sizeof(*rnd));
	if (col == NULL || rnd == NULL) {
		fprintf(stderr, "hash-flood: out of memory\n");
		return 1;
	}
	v = seed;
	bucket = (uint32_t)xs64(&v) & (nb - 1);
	found = find_colliding(col, want, nb - 1, bucket, (double)max_s, &trials, &secs);
	printf("found=%u trials=%llu seconds=%.1f mtrials_per_s=%.1f bucket=%u mask=%#x\n",
	       found, (unsigned long long)trials, secs,
	       secs > 0 ? (double)trials / secs / 1e6 : 0.0, bucket, nb - 1);
	if (found < want) {
		fprintf(stderr, "hash-flood: only %u of %u colliding clients in %lu s\n",
			found, want, max_s);
		status = 1;
	}
	snprintf(path, sizeof(path), "%s/colliding.csv", dir);
	{
		FILE *f = fopen(path, "w");
		uint32_t k;

		if (f == NULL) {
			fprintf(stderr, "hash-flood: %s: %s\n", path, strerror(errno));
			return 1;
		}
		fprintf(f, "client,client_port,old_bucket\n");
		for (k = 0; k < found; k++) {
			struct scr_flow_key fk = flow_key(&col[k]);

			fprintf(f, "%u.%u.%u.%u,%u,%u\n", col[k].ip >> 24,
				col[k].ip >> 16 & 255, col[k].ip >> 8 & 255,
				col[k].ip & 255, col[k].port,
				old_flow_hash(&fk) & (nb - 1));
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "hash-flood: %s: write error\n", path);
			return 1;
		}
	}
	if (random_clients(rnd, want, seed) != 0) {
		fprintf(stderr, "hash-flood: out of memory\n");
		return 1;
	}
	for (i = 0; i < nsizes * nshapes; i++) {
		uint32_t n = (uint32_t)sizes[i % nsizes];
		unsigned nsteps = shape_steps[i / nsizes];
		const char *shape = nsteps == 1 ? "syn" : "session";
		unsigned long r = rounds;
		int k;

		if (n > found)
			continue;
		if (r == 0)
			r = packets ? (packets + (unsigned long)n * nsteps - 1) /
				      ((unsigned long)n * nsteps) : 1;
		for (k = 0; k < 2; k++) {
			int ret;

			snprintf(path, sizeof(path), "%s/%s-%s-%u.pcap", dir,
				 k ? "random" : "colliding", shape, n);
			ret = write_capture(path, k ? rnd : col, n, session_steps,
					    nsteps, (unsigned)r, seed);
			if (ret != 0) {
				fprintf(stderr, "hash-flood: %s: %s\n", path,
					strerror(-ret));
				return 1;
			}
			printf("wrote %s clients=%u rounds=%lu packets=%lu shape=%s\n",
			       path, n, r, r * n * nsteps, shape);
		}
	}
	free(col);
	free(rnd);
	return status;
}
