/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_rban - reply bans: per-client counts of the server's replies
 * DESCRIPTION
 *	fail2ban's log loop done in-line. The engine reports the server's
 *	replies of each enum scr_reply_kind (SCR_EV_REPLY); this table counts
 *	them per client (IPv6 per prefix, smtpscreen_client_ipv6_prefix_length)
 *	across the client's connections, in a window per kind: the window
 *	opens at the first reply counted and the count starts over with the
 *	next reply after it has passed. The reply that brings a count to its
 *	limit bans the client for the TTL; while banned, its replies are not
 *	counted again (one ban, one log line). Fixed capacity: an entry whose
 *	windows and ban are over is reused; a reply that finds no room within
 *	a few slots is not counted (counted as 'full': the table errs on the
 *	side of no ban). It knows nothing of logs, caches or maps: the caller
 *	acts on a ban.
 * CONTRACT
 *	ctl_rban_create(cap, conf): NULL + errno (EINVAL: cap 0 or > 2^24).
 *	ctl_rban_set(r, conf): new limits (reload); counts are kept.
 *	ctl_rban_hit(r, client, kind, now_s, out): 1 when this reply bans the
 *	  client (out filled: count, window, ttl, prefix), else 0.
 *	ctl_rban_clear(r): forget every count.
 *	Times are seconds (the events' clock: capture time in replay).
 * THREADING
 *	Not locked: one owner (replay: each worker; live: the control thread).
 */
#ifndef CTL_RBAN_H
#define CTL_RBAN_H

#include "scr_types.h"

struct ctl_rban_conf {
	uint32_t limit[SCR_REPLY_MAX];		/* 0: this kind bans nobody */
	uint32_t window_s[SCR_REPLY_MAX];
	uint32_t ttl_s;				/* smtpscreen_reply_ban_ttl */
	uint8_t v6_plen;			/* 1..128 */
	uint32_t table_size;			/* smtpscreen_reply_ban_table_size */
};

struct ctl_rban_ban {
	struct scr_addr key;			/* the address or prefix banned */
	uint8_t plen;				/* 128 for IPv4 (v4-mapped /128) */
	uint32_t count, window_s, ttl_s;
};

struct ctl_rban_stats {
	uint64_t hits[SCR_REPLY_MAX];		/* replies counted */
	uint64_t bans[SCR_REPLY_MAX];
	uint64_t banned_hits;			/* replies of clients banned already */
	uint64_t full;				/* replies not counted: no room */
};

struct ctl_rban;

struct ctl_rban *ctl_rban_create(uint32_t cap, const struct ctl_rban_conf *conf);
void ctl_rban_destroy(struct ctl_rban *r);
void ctl_rban_set(struct ctl_rban *r, const struct ctl_rban_conf *conf);
void ctl_rban_clear(struct ctl_rban *r);
int ctl_rban_hit(struct ctl_rban *r, const struct scr_addr *client,
		 enum scr_reply_kind kind, uint64_t now_s,
		 struct ctl_rban_ban *out);
/* ctl_rban_event - the SCR_EV_BAN event (for the logs) of ban b that the
 * SCR_EV_REPLY event reply led to, under action act */
void ctl_rban_event(const struct scr_event *reply, const struct ctl_rban_ban *b,
		    enum scr_action act, struct scr_event *out);
void ctl_rban_stats(const struct ctl_rban *r, struct ctl_rban_stats *out);
uint32_t ctl_rban_count(const struct ctl_rban *r);

#endif
