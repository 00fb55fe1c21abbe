/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_setup - what every front end builds from main.cf
 * DESCRIPTION
 *	One load of the configuration: the parsed main.cf, the engine policy,
 *	the compiled scanner patterns and the access list, built all or
 *	nothing (a reload keeps the old setup when the new one fails). And the
 *	one rule for a new client: the access list first, then the verdict
 *	cache. Replay and the host daemon both use it.
 * CONTRACT
 *	ctl_setup_load(s, path, err, errlen): path NULL = Postfix defaults.
 *	  0, or -EINVAL with "file:line: ..." in err and *s left empty.
 *	ctl_setup_load_conf(s, path, err, errlen): the same without the access
 *	  list (s->acl NULL): a start-up that reads a big list beside other
 *	  work (host mode: beside the BPF verifier) calls it, then
 *	  ctl_setup_load_acl(s, err, errlen): the access list into s->acl; 0,
 *	  or -EINVAL with "file:line: ..." in err (s keeps the rest).
 *	ctl_setup_fini(s): frees; s may be empty.
 *	ctl_setup_client(s, cache, client, now_s, out): the engine's answer.
 * THREADING
 *	Load/fini: control thread (ctl_setup_load_acl: any one thread while
 *	nothing reads s). ctl_setup_client: the thread owning cache.
 */
#ifndef CTL_SETUP_H
#define CTL_SETUP_H

#include "ctl_cache.h"
#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_log.h"
#include "scr_scan.h"

/* smtpscreen_host_hold: where host mode makes an unknown client wait. */
enum ctl_host_hold {
	CTL_HOLD_HANDSHAKE = 0,	/* in XDP, before the handshake completes */
	CTL_HOLD_GREETING,	/* the server's greeting held in TC */
	CTL_HOLD_SEAT,		/* in postscreen's seat (dp_seat) */
};

struct ctl_setup {
	struct ctl_conf *conf;
	struct scr_policy pol;
	struct scr_scan_db *db;
	struct ctl_acl *acl;
	enum ctl_log_fmt log_fmt;
	/* Live modes' greeting hold (smtpscreen_greet_hold, and only when
	 * the pregreet test runs): 0 = none; the stress value is
	 * postscreen_greet_wait's ${stress?...} branch. */
	uint64_t hold_ns;
	uint64_t hold_stress_ns;
	enum ctl_host_hold host_hold;	/* host mode: smtpscreen_host_hold */
	uint32_t pre_queue_limit;	/* postscreen_pre_queue_limit: stress marks */
};

int ctl_setup_load(struct ctl_setup *s, const char *path, char *err,
		   size_t errlen);
int ctl_setup_load_conf(struct ctl_setup *s, const char *path, char *err,
			size_t errlen);
int ctl_setup_load_acl(struct ctl_setup *s, char *err, size_t errlen);
void ctl_setup_fini(struct ctl_setup *s);
/* ctl_setup_memory - the memory statement every mode makes at start:
 * "memory: flows N × B bytes = M MiB (W workers)" */
void ctl_setup_memory(char *buf, size_t len, uint32_t flows_per_worker,
		      size_t flow_bytes, unsigned workers);
void ctl_setup_client(const struct ctl_setup *s, struct ctl_cache *cache,
		      const struct scr_addr *client, uint64_t now_s,
		      struct scr_client_info *out);

#endif
