/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_conf - libFuzzer target: main.cf text -> conf, policy, patterns
 * DESCRIPTION
 *	Arbitrary bytes are parsed as main.cf; on success the policy, the
 *	scanner patterns, the access list and every parameter's stress value
 *	are built, so expansion, validation and list parsing all run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ctl_cidr.h"
#include "ctl_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], buf[256];
	struct ctl_conf *conf;
	struct scr_policy pol;
	struct scr_scan_pattern *pats;
	size_t n;
	struct ctl_acl *acl;

	conf = ctl_conf_parse((const char *)data, size, "/nonexistent/main.cf",
			      err, sizeof(err));
	if (conf == NULL)
		return 0;
	(void)ctl_conf_policy(conf, &pol, err, sizeof(err));
	if (ctl_conf_patterns(conf, &pats, &n, err, sizeof(err)) == 0)
		ctl_conf_patterns_free(pats, n);
	acl = ctl_acl_create(conf, err, sizeof(err));
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
