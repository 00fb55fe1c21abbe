/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_dnsbl - libFuzzer target: DNS replies to DNSBL A queries
 * DESCRIPTION
 *	What ctl_dnsbl reads of a DNS server's reply, as c-ares hands it
 *	over: ctl_dnsbl_parse_answer (A records of the answer section, the
 *	SOA TTL of the authority section for negative caching).
 *	The first input byte picks the mode:
 *	- even: the rest is the raw reply. Checked: the result is -1, 0 or
 *	  1; -1 leaves no address, TTL -1 and a reason; 0 no address; 1
 *	  between 1 and CTL_DNSBL_MAX_ADDRS addresses (written into a heap
 *	  array of exactly that size, so ASan sees a write past it); TTLs
 *	  are -1 or 0..2^31-1; a result >= 0 needs a response header
 *	  (QR set, rcode NOERROR or NXDOMAIN) and listed needs NOERROR.
 *	  Bytes appended after a reply that parsed do not change the result
 *	  (nothing past the authority section is read).
 *	- odd: the rest describes a well-formed reply (header flags, then
 *	  9 bytes per record: section/name form/type/class, TTL, data) that
 *	  is built with the owner names as plain labels, the root, or
 *	  compression pointers, and the result must be exactly what the
 *	  description says: the IN A addresses of the answer section (first
 *	  CTL_DNSBL_MAX_ADDRS), their smallest TTL, else the smallest SOA
 *	  TTL of the authority section; records in the additional section
 *	  and other types and classes ignored.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_dnsbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUILD_MAX	8192	/* built reply bytes */
#define REC_BYTES	9	/* description bytes per record */

struct parsed {
	int rc, naddr, ttl;
	uint8_t (*addrs)[4];
	char why[128];
};

/* parse - run the parser on an exact-size heap copy; check the result's
 * own invariants */
static void parse(const uint8_t *b, size_t len, struct parsed *p)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, b, len);
	p->addrs = malloc(CTL_DNSBL_MAX_ADDRS * sizeof(*p->addrs));
	if (p->addrs == NULL)
		abort();
	memset(p->why, 'x', sizeof(p->why));
	p->why[0] = 0;
	p->naddr = -7;
	p->ttl = -7;
	p->rc = ctl_dnsbl_parse_answer(copy, (int)len, p->addrs, &p->naddr,
				       &p->ttl, p->why, sizeof(p->why));
	free(copy);
	if (memchr(p->why, 0, sizeof(p->why)) == NULL)
		abort();
	switch (p->rc) {
	case -1:
		if (p->naddr != 0 || p->ttl != -1 || p->why[0] == 0)
			abort();
		break;
	case 0:
		if (p->naddr != 0 || p->ttl < -1)
			abort();
		break;
	case 1:
		if (p->naddr < 1 || p->naddr > CTL_DNSBL_MAX_ADDRS ||
		    p->ttl < 0)
			abort();
		break;
	default:
		abort();
	}
	if (p->rc >= 0) {
		unsigned rcode;

		if (len < 12 || !(b[2] & 0x80))
			abort();
		rcode = b[3] & 15;
		if (rcode != 0 && rcode != 3)
			abort();
		if (p->rc == 1 && rcode != 0)
			abort();
	}
}

/* raw - the bytes as a reply, then with junk after them */
static void raw(const uint8_t *b, size_t len)
{
	struct parsed p, q;
	uint8_t *more;

	parse(b, len, &p);
	if (p.rc >= 0) {
		more = malloc(len + 7);
		if (more == NULL)
			abort();
		memcpy(more, b, len);
		memcpy(more + len, "\xc0\x0c\x00\x01\x00\x01\xff", 7);
		parse(more, len + 7, &q);
		free(more);
		if (q.rc != p.rc || q.naddr != p.naddr || q.ttl != p.ttl ||
		    memcmp(q.addrs, p.addrs, (size_t)p.naddr * 4) != 0)
			abort();
		free(q.addrs);
	}
	free(p.addrs);
}

/* put16, put32 - big-endian */
static size_t put16(uint8_t *o, size_t n, unsigned v)
{
	o[n] = (uint8_t)(v >> 8);
	o[n + 1] = (uint8_t)v;
	return n + 2;
}

static size_t put32(uint8_t *o, size_t n, uint32_t v)
{
	n = put16(o, n, v >> 16);
	return put16(o, n, v & 0xffff);
}

/* put_name - owner name in one of four forms */
static size_t put_name(uint8_t *o, size_t n, unsigned form)
{
	static const uint8_t qname[] =
		"\0012\0010\0010\003127\003zen\007example\0";

	switch (form) {
	case 0:		/* the root */
		o[n++] = 0;
		break;
	case 1:		/* pointer to the question name */
		n = put16(o, n, 0xc00c);
		break;
	case 2:		/* the full name, plain labels */
		memcpy(o + n, qname, sizeof(qname) - 1);
		n += sizeof(qname) - 1;
		break;
	default:	/* a label, then a pointer */
		memcpy(o + n, "\003www", 4);
		n = put16(o, n + 4, 0xc00c);
		break;
	}
	return n;
}

/* ttl_lower - the parser's "smallest, -1 none" */
static void ttl_lower(int *cur, int ttl)
{
	if (*cur < 0 || *cur > ttl)
		*cur = ttl;
}

/* built - a reply from its description; the parse must match it */
static void built(const uint8_t *d, size_t len)
{
	static const uint8_t soa_names[] = "\002ns\0\004host\0";
	uint8_t *o = malloc(BUILD_MAX);
	uint8_t want[CTL_DNSBL_MAX_ADDRS][4];
	unsigned rcode, sec, cnt[3] = {0, 0, 0}, nrec, i;
	int want_naddr = 0, want_ttl = -1, want_rc;
	size_t n = 12;
	struct parsed p;

	if (o == NULL)
		abort();
	if (len < 1) {
		free(o);
		return;
	}
	rcode = d[0] & 15;
	memset(o, 0, 12);
	o[0] = 0x12;
	o[1] = 0x34;
	o[2] = 0x81;		/* QR, RD */
	o[3] = (uint8_t)(0x80 | rcode);
	if (d[0] & 0x10) {	/* a question */
		n = put_name(o, n, 2);
		n = put16(o, n, 1);
		n = put16(o, n, 1);
		o[5] = 1;
	}
	d++;
	len--;
	nrec = (unsigned)(len / REC_BYTES);
	/* The sections in order: answer, authority, additional. */
	for (sec = 0; sec < 3; sec++) {
		for (i = 0; i < nrec; i++) {
			const uint8_t *r = d + (size_t)i * REC_BYTES;
			unsigned ctl = r[0], type, cls, form;
			uint32_t t = (uint32_t)r[1] << 24 | (uint32_t)r[2] << 16 |
				     (uint32_t)r[3] << 8 | r[4];
			int tt = t > 0x7fffffffu ? 0 : (int)t;
			bool a_ok;

			if ((ctl & 3) % 3 != sec)
				continue;
			if (n + 64 > BUILD_MAX)
				break;
			form = (ctl >> 2) & 3;
			type = (ctl >> 4) & 3;
			cls = ctl & 0x40 ? 3 : 1;	/* CH or IN */
			n = put_name(o, n, form);
			switch (type) {
			case 0:		/* A */
			case 3:		/* A with a bad length (5) or TXT */
				n = put16(o, n, ctl & 0x80 || type == 0 ? 1 : 16);
				n = put16(o, n, cls);
				n = put32(o, n, t);
				if (type == 3 && ctl & 0x80) {
					n = put16(o, n, 5);
					memcpy(o + n, r + 5, 4);
					o[n + 4] = 0;
					n += 5;
				} else {
					n = put16(o, n, 4);
					memcpy(o + n, r + 5, 4);
					n += 4;
				}
				a_ok = type == 0 && cls == 1;
				if (sec == 0 && a_ok && rcode == 0) {
					if (want_naddr < CTL_DNSBL_MAX_ADDRS)
						memcpy(want[want_naddr++], r + 5, 4);
					else
						want_naddr++;
					ttl_lower(&want_ttl, tt);
				}
				break;
			case 1:		/* SOA */
				n = put16(o, n, 6);
				n = put16(o, n, cls);
				n = put32(o, n, t);
				n = put16(o, n, sizeof(soa_names) - 1 + 20);
				memcpy(o + n, soa_names, sizeof(soa_names) - 1);
				n += sizeof(soa_names) - 1;
				for (unsigned k = 0; k < 5; k++)
					n = put32(o, n, (uint32_t)r[5 + (k & 3)]
						  << 8 | k);
				if (sec == 1 && want_naddr == 0)
					ttl_lower(&want_ttl, tt);
				break;
			default:	/* CNAME */
				n = put16(o, n, 5);
				n = put16(o, n, cls);
				n = put32(o, n, t);
				n = put16(o, n, 4);
				memcpy(o + n, "\001a\xc0\x0c", 4);
				n += 4;
				break;
			}
			cnt[sec]++;
		}
	}
	put16(o, 6, cnt[0]);
	put16(o, 8, cnt[1]);
	put16(o, 10, cnt[2]);
	if (rcode != 0 && rcode != 3)
		want_rc = -1;
	else
		want_rc = want_naddr > 0;
	if (want_rc < 0) {
		want_naddr = 0;
		want_ttl = -1;
	} else if (want_naddr > CTL_DNSBL_MAX_ADDRS) {
		want_naddr = CTL_DNSBL_MAX_ADDRS;
	}
	if (want_rc == 0)
		want_naddr = 0;
	parse(o, n, &p);
	if (p.rc != want_rc || p.naddr != want_naddr || p.ttl != want_ttl ||
	    memcmp(p.addrs, want, (size_t)want_naddr * 4) != 0) {
		fprintf(stderr, "built reply: rc %d naddr %d ttl %d, want rc %d "
			"naddr %d ttl %d (%s)\n", p.rc, p.naddr, p.ttl, want_rc,
			want_naddr, want_ttl, p.why);
		abort();
	}
	free(p.addrs);
	free(o);
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		built(data + 1, size - 1);
	else
		raw(data + 1, size - 1);
	return 0;
}
