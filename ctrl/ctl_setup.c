/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_setup - what every front end builds from main.cf
 * DESCRIPTION
 *	See ctl_setup.h.
 * THREADING
 *	See ctl_setup.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_setup.h"
#include "ctl_msg.h"

/* ctl_setup_fini - free everything; s becomes empty */
void ctl_setup_fini(struct ctl_setup *s)
{
	ctl_acl_destroy(s->acl);
	scr_scan_destroy(s->db);
	ctl_conf_destroy(s->conf);
	memset(s, 0, sizeof(*s));
}

/* hold_times - the greeting hold, normal and under stress */
static void hold_times(struct ctl_setup *s)
{
	unsigned long long sec = 0;
	const char *v;
	char sbuf[64];
	int on = 1;

	v = ctl_conf_get(s->conf, "postscreen_pre_queue_limit");
	s->pre_queue_limit = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	if (s->pre_queue_limit == 0)
		s->pre_queue_limit = 100;
	(void)ctl_conf_parse_bool(ctl_conf_get(s->conf, "smtpscreen_greet_hold"), &on);
	v = ctl_conf_get(s->conf, "smtpscreen_host_hold");
	s->host_hold = v == NULL || strcmp(v, "handshake") == 0 ? CTL_HOLD_HANDSHAKE :
		       strcmp(v, "seat") == 0 ? CTL_HOLD_SEAT : CTL_HOLD_GREETING;
	if (!on || !(s->pol.enabled & SCR_TEST_BIT(SCR_TEST_PREGREET)))
		return;
	s->hold_ns = s->pol.greet_wait_ns;
	s->hold_stress_ns = s->hold_ns;
	if (ctl_conf_get_stress(s->conf, "postscreen_greet_wait", sbuf,
				sizeof(sbuf)) == 0 &&
	    ctl_conf_parse_time(sbuf, 's', &sec) == 0 && sec > 0)
		s->hold_stress_ns = sec * 1000000000ull;
}

/* ctl_setup_load - main.cf to policy, patterns and access list */
int ctl_setup_load(struct ctl_setup *s, const char *path, char *err,
		   size_t errlen)
{
	if (ctl_setup_load_conf(s, path, err, errlen) != 0)
		return -EINVAL;
	if (ctl_setup_load_acl(s, err, errlen) != 0) {
		ctl_setup_fini(s);
		return -EINVAL;
	}
	return 0;
}

/* ctl_setup_load_acl - the access list (a million lines: ~0.2 s) */
int ctl_setup_load_acl(struct ctl_setup *s, char *err, size_t errlen)
{
	s->acl = ctl_acl_create(s->conf, err, errlen);
	return s->acl ? 0 : -EINVAL;
}

/* ctl_setup_load_conf - main.cf to policy and patterns, no access list */
int ctl_setup_load_conf(struct ctl_setup *s, const char *path, char *err,
			size_t errlen)
{
	struct scr_scan_pattern *pats = NULL;
	size_t npats = 0;
	const char *fmt;

	memset(s, 0, sizeof(*s));
	s->conf = path ? ctl_conf_load(path, err, errlen) :
			 ctl_conf_parse("", 0, "(defaults)", err, errlen);
	if (s->conf == NULL)
		goto out;
	if (ctl_conf_policy(s->conf, &s->pol, err, errlen) != 0 ||
	    ctl_conf_patterns(s->conf, &pats, &npats, err, errlen) != 0)
		goto out;
	s->db = scr_scan_create_needed(pats, npats, err, errlen);
	ctl_conf_patterns_free(pats, npats);
	if (s->db == NULL)
		goto out;
	hold_times(s);
	fmt = ctl_conf_get(s->conf, "smtpscreen_log_format");
	s->log_fmt = fmt && strcmp(fmt, "json") == 0 ? CTL_LOG_JSON : CTL_LOG_POSTFIX;
	return 0;
out:
	ctl_setup_fini(s);
	return -EINVAL;
}

/* ctl_setup_client - access list, then the cache */
void ctl_setup_client(const struct ctl_setup *s, struct ctl_cache *cache,
		      const struct scr_addr *client, uint64_t now_s,
		      struct scr_client_info *out)
{
	enum ctl_acl_result r = ctl_acl_lookup(s->acl, client);

	switch (r) {
	case CTL_ACL_PERMIT:
		memset(out, 0, sizeof(*out));
		out->cls = SCR_CLIENT_PERMIT;
		return;
	case CTL_ACL_REJECT:
		memset(out, 0, sizeof(*out));
		out->cls = SCR_CLIENT_REJECT;
		return;
	case CTL_ACL_DUNNO:
		ctl_cache_client(cache, client, now_s, s->pol.enabled, out);
		return;
	default:
		ctl_msg_panic("ctl_setup_client: access list result %d out of "
			      "range", (int)r);
	}
}

/* ctl_setup_memory - "memory: flows N × B bytes = M MiB" */
void ctl_setup_memory(char *buf, size_t len, uint32_t flows_per_worker,
		      size_t flow_bytes, unsigned workers)
{
	uint64_t n = (uint64_t)flows_per_worker * workers;

	snprintf(buf, len, "memory: flows %" PRIu64 " × %zu bytes = %.1f MiB "
		 "(%u worker%s, smtpscreen_flow_table_size %" PRIu32 " each)",
		 n, flow_bytes, (double)n * (double)flow_bytes / 1048576.0,
		 workers, workers == 1 ? "" : "s", flows_per_worker);
}
