/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	naive_screener - the naive screener smtpscreen replay is measured
 *	against (issue 15): libpcap loop, flow hash, Hyperscan per payload
 * DESCRIPTION
 *	What a first attempt at a packet-level postscreen looks like: read
 *	the capture with pcap_next_ex(), find each TCP segment's flow in an
 *	open-addressing hash of the 5-tuple (the side on port 25 or 587 is
 *	the server), and scan every client payload with a Hyperscan block
 *	scan (hs_scan) for the non-SMTP commands of Postfix's default
 *	postscreen_forbidden_commands, smtpscreen's header-label and
 *	bare-newline patterns (the same strings as ctrl/ctl_conf.c and
 *	dataplane/engine/scr_scan.c). Client bytes before the server's first
 *	payload count as pregreet. A flow with any hit fails, otherwise it
 *	passes. No reassembly, no timeouts, no SMTP state: the cheapest
 *	screener that looks at the same bytes.
 * CONTRACT
 *	naive-screener FILE.pcap: prints "packets total=N tcp=N payloads=N"
 *	  "flows total=N pass=N fail=N pregreet=N non_smtp=N bare_newline=N"
 *	  and "rate seconds=X pps=N"; exit 0, or 1 with a message.
 * THREADING
 *	Single-threaded program.
 */
#include <hs.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAB_BITS 21		/* 2M slots: a 1M-flow capture at half load */

struct flow {
	uint8_t key[37];	/* client addr, server addr, ports, family */
	uint8_t used;
	uint8_t server_spoke;
	uint8_t hits;		/* bits: 1 pregreet, 2 non-SMTP, 4 bare LF */
};

static const char *const pat[] = {
	"^CONNECT[ \\t\\r\\n]", "^GET[ \\t\\r\\n]", "^POST[ \\t\\r\\n]",
	"^[^A-Z]", "^[\\x21-\\x39\\x3b-\\x7e]+[ \\t]*:", "[^\\r]\\n", "^\\n",
};
static const unsigned pat_hit[] = { 2, 2, 2, 2, 2, 4, 4 };
#define NPAT (sizeof(pat) / sizeof(pat[0]))

/* on_match - Hyperscan callback: note the hit */
static int on_match(unsigned id, unsigned long long from,
		    unsigned long long to, unsigned flags, void *ctx)
{
	(void)from; (void)to; (void)flags;
	((struct flow *)ctx)->hits |= (uint8_t)pat_hit[id];
	return 0;
}

/* hash - FNV-1a over the key */
static uint64_t hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *k++) * 1099511628211ull;
	return h;
}

/* lookup - the flow of key, inserted if new (its slot noted in used[]);
 * NULL when the table is full */
static struct flow *lookup(struct flow *tab, uint32_t *used, const uint8_t *key,
			   size_t *nflows)
{
	size_t mask = ((size_t)1 << TAB_BITS) - 1, i = hash(key, 37) & mask, n;

	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		if (!tab[i].used) {
			memcpy(tab[i].key, key, 37);
			tab[i].used = 1;
			used[(*nflows)++] = (uint32_t)i;
			return &tab[i];
		}
		if (memcmp(tab[i].key, key, 37) == 0)
			return &tab[i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	unsigned flags[NPAT], ids[NPAT], i;
	unsigned long long pkts = 0, tcp = 0, payloads = 0, nfail = 0, by[3] = {0};
	size_t nflows = 0, s;
	struct pcap_pkthdr *h;
	const u_char *d;
	struct timespec t0, t1;
	hs_compile_error_t *cerr;
	hs_database_t *db;
	hs_scratch_t *scratch = NULL;
	struct flow *tab;
	uint32_t *used;
	pcap_t *pc;
	double secs;

	if (argc != 2) {
		fprintf(stderr, "usage: naive-screener FILE.pcap\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NPAT; i++) {
		flags[i] = HS_FLAG_MULTILINE | HS_FLAG_SINGLEMATCH;
		ids[i] = i;
	}
	if (hs_compile_multi(pat, flags, ids, NPAT, HS_MODE_BLOCK, NULL, &db,
			     &cerr) != HS_SUCCESS) {
		fprintf(stderr, "naive-screener: hs_compile_multi: %s\n", cerr->message);
		return 1;
	}
	tab = calloc((size_t)1 << TAB_BITS, sizeof(*tab));
	used = malloc(((size_t)1 << TAB_BITS) * sizeof(*used));
	pc = pcap_open_offline(argv[1], errbuf);
	if (tab == NULL || used == NULL || pc == NULL || hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
		fprintf(stderr, "naive-screener: %s\n", pc ? "out of memory" : errbuf);
		return 1;
	}
	while (pcap_next_ex(pc, &h, &d) == 1) {
		uint8_t key[37] = {0};
		const u_char *l4, *end = d + h->caplen;
		size_t off = 14, ihl, doff;
		uint16_t et, sport, dport;
		int to_server, fam;
		struct flow *f;

		pkts++;
		if (h->caplen < 14)
			continue;
		et = (uint16_t)(d[12] << 8 | d[13]);
		while ((et == 0x8100 || et == 0x88a8) && off + 4 <= h->caplen) {
			et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
			off += 4;
		}
		if (et == 0x0800 && off + 20 <= h->caplen && d[off + 9] == 6) {
			ihl = (size_t)(d[off] & 15) * 4;
			fam = 4;
			l4 = d + off + ihl;
			end = d + off + (size_t)(d[off + 2] << 8 | d[off + 3]);
		} else if (et == 0x86dd && off + 40 <= h->caplen && d[off + 6] == 6) {
			fam = 6;
			l4 = d + off + 40;
			end = l4 + (size_t)(d[off + 4] << 8 | d[off + 5]);
		} else {
			continue;
		}
		if (end > d + h->caplen)
			end = d + h->caplen;
		if (l4 + 20 > end)
			continue;
		tcp++;
		sport = (uint16_t)(l4[0] << 8 | l4[1]);
		dport = (uint16_t)(l4[2] << 8 | l4[3]);
		to_server = dport == 25 || dport == 587;
		if (!to_server && sport != 25 && sport != 587)
			continue;
		s = fam == 4 ? 4 : 16;
		/* key: client address, server address, client port, server port */
		memcpy(key, fam == 4 ? d + off + (to_server ? 12 : 16) :
		       d + off + (to_server ? 8 : 24), s);
		memcpy(key + 16, fam == 4 ? d + off + (to_server ? 16 : 12) :
		       d + off + (to_server ? 24 : 8), s);
		memcpy(key + 32, to_server ? l4 : l4 + 2, 2);
		memcpy(key + 34, to_server ? l4 + 2 : l4, 2);
		key[36] = (uint8_t)fam;
		if ((f = lookup(tab, used, key, &nflows)) == NULL)
			continue;
		doff = (size_t)(l4[12] >> 4) * 4;
		if (l4 + doff >= end)
			continue;
		if (!to_server) {
			f->server_spoke = 1;
			continue;
		}
		payloads++;
		if (!f->server_spoke)
			f->hits |= 1;
		hs_scan(db, (const char *)l4 + doff, (unsigned)(end - l4 - doff), 0,
			scratch, on_match, f);
	}
	/* the flows in the order they came: a walk of all 2M slots would
	 * fault in the 80 MB table where no flow ever hashed */
	for (s = 0; s < nflows; s++) {
		const struct flow *f = &tab[used[s]];

		if (!f->hits)
			continue;
		nfail++;
		for (i = 0; i < 3; i++)
			by[i] += (f->hits >> i) & 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("packets total=%llu tcp=%llu payloads=%llu\n", pkts, tcp, payloads);
	printf("flows total=%zu pass=%llu fail=%llu pregreet=%llu non_smtp=%llu "
	       "bare_newline=%llu\n", nflows, nflows - nfail, nfail, by[0], by[1],
	       by[2]);
	printf("rate seconds=%.6f pps=%.0f\n", secs, secs > 0 ? (double)pkts / secs : 0.0);
	pcap_close(pc);
	hs_free_scratch(scratch);
	hs_free_database(db);
	free(tab);
	free(used);
	return 0;
}
