/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_conf - libFuzzer target: main.cf text -> conf, policy, patterns
 * DESCRIPTION
 *	Arbitrary bytes are parsed as main.cf; on success the policy, the
 *	scanner patterns, the access list and every parameter's stress value
 *	are built, so expansion, validation and list parsing all run.
 *	Every rejection must say where: the message starts with the file
 *	name (and the line, when one line is at fault); anything else aborts
 *	so libFuzzer reports it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cidr.h"
#include "ctl_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILE "/nonexistent/main.cf"

/* says_where - a rejection names the file (main.cf or a table it names) */
static void says_where(const char *err)
{
	if (strncmp(err, "out of memory", 13) == 0)
		return;
	if (strlen(err) >= 511)
		return;		/* cut at the buffer's end: not checked */
	if (strncmp(err, FUZZ_FILE ":", sizeof(FUZZ_FILE)) == 0 &&
	    err[sizeof(FUZZ_FILE)] != 0)
		return;
	fprintf(stderr, "rejected without saying where: \"%s\"\n", err);
	abort();
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], buf[256];
	struct ctl_conf *conf;
	struct scr_policy pol;
	struct scr_scan_pattern *pats;
	size_t n;
	struct ctl_acl *acl;

	err[0] = 0;
	conf = ctl_conf_parse((const char *)data, size, FUZZ_FILE, err,
			      sizeof(err));
	if (conf == NULL) {
		says_where(err);
		return 0;
	}
	err[0] = 0;
	if (ctl_conf_policy(conf, &pol, err, sizeof(err)) != 0)
		says_where(err);
	err[0] = 0;
	if (ctl_conf_patterns(conf, &pats, &n, err, sizeof(err)) == 0)
		ctl_conf_patterns_free(pats, n);
	else if (strchr(err, ':') == NULL)
		abort();
	err[0] = 0;
	acl = ctl_acl_create(conf, err, sizeof(err));
	if (acl == NULL && strchr(err, ':') == NULL)
		abort();
	ctl_acl_destroy(acl);
	for (size_t i = 0; i < ctl_conf_param_count(); i++) {
		const char *name, *def, *type;
		unsigned used;

		if (ctl_conf_param_info(i, &name, &def, &type, &used) == 0)
			(void)ctl_conf_get_stress(conf, name, buf, sizeof(buf));
	}
	ctl_conf_destroy(conf);
	return 0;
}
