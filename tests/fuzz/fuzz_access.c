/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_access - libFuzzer target: access(5) tables, restriction lists
 * DESCRIPTION
 *	The input's first byte picks the table type (texthash, regexp, cidr);
 *	up to the first NUL after it is the table's text (written to a private
 *	temporary file); after that NUL, an inline:{...} table's body; after
 *	the next NUL, lookup keys, one a line. Each key is looked up in both
 *	tables and used as HELO name, sender and recipient of a restriction
 *	list over them, with DNS answers that depend on the name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_access.h"
#include "ctl_conf.h"
#include "ctl_restrict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];
static struct ctl_conf *conf;

static void rm_fuzz_path(void)
{
	unlink(fuzz_path);
}

/* dns - an answer that depends on the name's length */
static enum ctl_domain_state dns(void *arg, const char *domain)
{
	(void)arg;
	return (enum ctl_domain_state)(strlen(domain) % 4);
}

static void on_warn(void *arg, const char *reply, const char *restriction)
{
	(void)arg;
	if (strlen(reply) >= CTL_RESTRICT_REPLY_MAX || restriction == NULL)
		abort();
}

/* part - the next NUL-terminated piece of [*p, end), copied */
static char *part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = 0;
	*p += n + (nul != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const type[] = { "texthash", "regexp", "cidr" };
	const uint8_t *p = data + 1, *end = data + size;
	char *table, *inl, *keys, *key, *save, spec[128], *ispec, err[4600];
	char *list[CTL_RS_MAX];
	const char *where[CTL_RS_MAX] = { "fuzz:1", "fuzz:2", "fuzz:3" };
	struct ctl_access *t, *it;
	struct ctl_restrict *r;
	FILE *f;
	size_t i;

	if (size < 1)
		return 0;
	if (conf == NULL) {
		conf = ctl_conf_parse("", 0, "main.cf", err, sizeof(err));
		if (conf == NULL)
			abort();
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/fuzz_access.%ld",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 (long)getpid());
		atexit(rm_fuzz_path);
	}
	table = part(&p, end);
	inl = part(&p, end);
	keys = part(&p, end);
	if ((f = fopen(fuzz_path, "w")) == NULL)
		abort();
	fputs(table, f);
	fclose(f);
	snprintf(spec, sizeof(spec), "%s:%s", type[data[0] % 3], fuzz_path);
	t = ctl_access_open(spec, NULL, err, sizeof(err));
	ispec = malloc(strlen(inl) + 16);
	if (ispec == NULL)
		abort();
	sprintf(ispec, "inline:{%s}", inl);
	it = ctl_access_open(ispec, NULL, err, sizeof(err));
	for (i = 0; i < CTL_RS_MAX; i++) {
		list[i] = malloc(strlen(spec) + strlen(ispec) + 256);
		if (list[i] == NULL)
			abort();
	}
	sprintf(list[CTL_RS_HELO], "reject_invalid_helo_hostname, warn_if_reject "
		"reject_non_fqdn_helo_hostname, check_helo_access %s, "
		"reject_unknown_helo_hostname", spec);
	sprintf(list[CTL_RS_SENDER], "permit_mynetworks, check_sender_access %s, "
		"warn_if_reject reject_non_fqdn_sender, "
		"reject_unknown_sender_domain", spec);
	sprintf(list[CTL_RS_RECIPIENT], "check_client_access %s, "
		"check_recipient_access %s, reject_non_fqdn_recipient, "
		"reject_unknown_recipient_domain", spec, ispec);
	r = ctl_restrict_create(conf, (const char *const *)list, where, err,
				sizeof(err));
	for (key = strtok_r(keys, "\n", &save); key != NULL;
	     key = strtok_r(NULL, "\n", &save)) {
		struct ctl_restrict_req q = {
			.client_addr = key, .helo = key, .sender = key,
			.recipient = key, .mynetworks = key[0] == 'm',
		};
		struct ctl_restrict_out out;
		unsigned st;

		if (t != NULL)
			(void)ctl_access_find(t, key);
		if (it != NULL)
			(void)ctl_access_find(it, key);
		for (st = 0; r != NULL && st < CTL_RS_MAX; st++) {
			ctl_restrict_eval(r, (enum ctl_restrict_stage)st, &q, dns,
					  NULL, on_warn, NULL, &out);
			if (out.v == CTL_R_REJECT &&
			    (out.code < 400 || out.code > 599 || out.reply[0] == 0))
				abort();
		}
	}
	ctl_restrict_destroy(r);
	ctl_access_close(it);
	ctl_access_close(t);
	for (i = 0; i < CTL_RS_MAX; i++)
		free(list[i]);
	free(ispec);
	free(keys);
	free(inl);
	free(table);
	return 0;
}
