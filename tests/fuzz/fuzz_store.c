/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_store - libFuzzer target: LMDB verdict records read at start
 * DESCRIPTION
 *	What ctl_store reads back from its file (ctl_store_foreach at
 *	start, ctl_store_get): the key text (ctl_store_addr_parse) and the
 *	value text (ctl_store_parse), each on an exact-size heap copy of
 *	the bytes. The first input byte picks the mode:
 *	- 0 mod 3: the rest is a value. A value that parses has reasons
 *	  of known tests only, and formats (ctl_store_format, under
 *	  CTL_STORE_VALUE_MAX) to text that parses back to the same entry
 *	  and formats again to the same text.
 *	- 1 mod 3: the rest is a key. A key that parses prints
 *	  (ctl_store_addr_str) to text that parses back to the same
 *	  address; a key longer than INET6_ADDRSTRLEN - 1 never parses.
 *	- 2 mod 3: the rest fills an entry (16 address bytes, the stored
 *	  times, reasons; missing bytes are 0): format then parse gives
 *	  the entry back (the stored tests; times up to 10^19 - 1, see
 *	  TIME_MAX), and the address goes through key text and back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The record's fields, as ctl_store.h lists them. */
static const enum scr_test stored[] = {
	SCR_TEST_PREGREET, SCR_TEST_DNSBL, SCR_TEST_PIPELINING,
	SCR_TEST_NON_SMTP, SCR_TEST_BARE_NEWLINE, SCR_TEST_HELO,
};
#define NSTORED (sizeof(stored) / sizeof(stored[0]))
#define REASONS_ALL ((1u << SCR_TEST_MAX) - 1)
/* The largest time that reads back: the value parser refuses 20-digit
 * numbers from 18446744073709551610 on (reported, not a time). */
#define TIME_MAX 18446744073709551609ull

/* same_entry - the stored parts of two entries are equal */
static bool same_entry(const struct ctl_cache_entry *a,
		       const struct ctl_cache_entry *b)
{
	for (size_t i = 0; i < NSTORED; i++)
		if (a->pass_until[stored[i]] != b->pass_until[stored[i]])
			return false;
	return a->block_until == b->block_until &&
	       a->block_reasons == b->block_reasons;
}

/* parse_copy - ctl_store_parse on an exact-size heap copy */
static int parse_copy(const char *v, size_t len, struct ctl_cache_entry *e)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, v, len);
	rc = ctl_store_parse(copy, len, e);
	free(copy);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	return rc;
}

/* round_trip - format e, parse it back, format again: all the same */
static void round_trip(const struct ctl_cache_entry *e)
{
	char buf[CTL_STORE_VALUE_MAX], again[CTL_STORE_VALUE_MAX];
	struct ctl_cache_entry back;
	size_t n, m;

	n = ctl_store_format(e, buf, sizeof(buf));
	if (n >= sizeof(buf)) {
		fprintf(stderr, "record of %zu bytes\n", n);
		abort();
	}
	memset(&back, 0xa5, sizeof(back));
	if (parse_copy(buf, n, &back) != 0 || !same_entry(e, &back)) {
		fprintf(stderr, "record \"%.*s\" does not read back\n",
			(int)n, buf);
		abort();
	}
	m = ctl_store_format(&back, again, sizeof(again));
	if (m != n || memcmp(buf, again, n) != 0)
		abort();
}

/* addr_trip - address to key text and back */
static void addr_trip(const struct scr_addr *a)
{
	char txt[INET6_ADDRSTRLEN];
	struct scr_addr back;

	if (ctl_store_addr_str(a, txt, sizeof(txt)) == NULL)
		abort();
	if (ctl_store_addr_parse(txt, strlen(txt), &back) != 0 ||
	    memcmp(&back, a, sizeof(back)) != 0) {
		fprintf(stderr, "key \"%s\" does not read back\n", txt);
		abort();
	}
}

/* value - the bytes as a stored value */
static void value(const uint8_t *d, size_t len)
{
	struct ctl_cache_entry e;

	memset(&e, 0x5a, sizeof(e));
	if (parse_copy((const char *)d, len, &e) != 0)
		return;
	if (e.block_reasons & ~REASONS_ALL)
		abort();
	round_trip(&e);
}

/* key - the bytes as a stored key */
static void key(const uint8_t *d, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct scr_addr a;
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, d, len);
	rc = ctl_store_addr_parse(copy, len, &a);
	free(copy);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == 0 && len >= INET6_ADDRSTRLEN)
		abort();
	if (rc == 0)
		addr_trip(&a);
}

/* u64 - 8 bytes big-endian, missing bytes 0 */
static uint64_t u64(const uint8_t **d, size_t *len)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v <<= 8;
		if (*len > 0) {
			v |= **d;
			(*d)++;
			(*len)--;
		}
	}
	return v;
}

/* entry - an entry from the bytes: format, parse, compare */
static void entry(const uint8_t *d, size_t len)
{
	struct ctl_cache_entry e;
	size_t i;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < sizeof(e.addr.b); i++)
		if (len > 0) {
			e.addr.b[i] = *d++;
			len--;
		}
	for (i = 0; i < NSTORED; i++) {
		e.pass_until[stored[i]] = u64(&d, &len);
		if (e.pass_until[stored[i]] > TIME_MAX)
			e.pass_until[stored[i]] = TIME_MAX;
	}
	e.block_until = u64(&d, &len);
	if (e.block_until > TIME_MAX)
		e.block_until = TIME_MAX;
	e.block_reasons = len > 0 ? (scr_reasons)(*d & REASONS_ALL) : 0;
	round_trip(&e);
	addr_trip(&e.addr);
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		value(data + 1, size - 1);
		break;
	case 1:
		key(data + 1, size - 1);
		break;
	default:
		entry(data + 1, size - 1);
		break;
	}
	return 0;
}
