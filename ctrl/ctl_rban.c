/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_rban - reply bans: per-client counts of the server's replies
 * DESCRIPTION
 *	See ctl_rban.h. Open addressing over a power-of-two array, probed
 *	RBAN_PROBE slots from the keyed hash of the client key; a slot whose
 *	windows and ban are over is free for another client.
 * THREADING
 *	One owner thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_rban.h"
#include "scr_hash.h"

#define RBAN_PROBE 16

struct rban_slot {
	struct scr_addr key;
	uint64_t start_s[SCR_REPLY_MAX];	/* window opened */
	uint32_t count[SCR_REPLY_MAX];
	uint64_t banned_until;
	uint8_t used;
};

struct ctl_rban {
	struct rban_slot *s;
	uint32_t mask;
	uint32_t used;
	struct ctl_rban_conf conf;
	struct ctl_rban_stats st;
};

/* ctl_rban_create - a table for about cap clients */
struct ctl_rban *ctl_rban_create(uint32_t cap, const struct ctl_rban_conf *conf)
{
	struct ctl_rban *r;
	uint32_t n = 1;

	if (cap == 0 || cap > (1u << 24) || conf == NULL) {
		errno = EINVAL;
		return NULL;
	}
	while (n < cap)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->s = calloc(n, sizeof(*r->s));
	if (r->s == NULL) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->mask = n - 1;
	r->conf = *conf;
	return r;
}

/* ctl_rban_destroy - free the table */
void ctl_rban_destroy(struct ctl_rban *r)
{
	if (r == NULL)
		return;
	free(r->s);
	free(r);
}

/* ctl_rban_set - new limits; counts kept */
void ctl_rban_set(struct ctl_rban *r, const struct ctl_rban_conf *conf)
{
	r->conf = *conf;
}

/* ctl_rban_clear - forget every count and ban */
void ctl_rban_clear(struct ctl_rban *r)
{
	memset(r->s, 0, ((size_t)r->mask + 1) * sizeof(*r->s));
	r->used = 0;
}

/* slot_over - nothing in the slot applies at now_s */
static bool slot_over(const struct ctl_rban *r, const struct rban_slot *s,
		      uint64_t now_s)
{
	unsigned k;

	if (s->banned_until > now_s)
		return false;
	for (k = 0; k < SCR_REPLY_MAX; k++)
		if (s->count[k] && now_s < s->start_s[k] + r->conf.window_s[k])
			return false;
	return true;
}

/* find - the slot of key: its own, else a free or finished one (zeroed);
 * NULL when the probe finds neither */
static struct rban_slot *find(struct ctl_rban *r, const struct scr_addr *key,
			      uint64_t now_s)
{
	uint32_t h = (uint32_t)scr_hash_addr(key), i;
	struct rban_slot *spare = NULL;

	for (i = 0; i < RBAN_PROBE; i++) {
		struct rban_slot *s = &r->s[(h + i) & r->mask];

		if (!s->used) {
			if (spare == NULL)
				spare = s;
			break;		/* never used past here */
		}
		if (memcmp(&s->key, key, sizeof(*key)) == 0)
			return s;
		if (spare == NULL && slot_over(r, s, now_s))
			spare = s;
	}
	if (spare == NULL)
		return NULL;
	if (!spare->used)
		r->used++;
	memset(spare, 0, sizeof(*spare));
	spare->key = *key;
	spare->used = 1;
	return spare;
}

/* ctl_rban_hit - one reply of kind for client; 1 when it bans */
int ctl_rban_hit(struct ctl_rban *r, const struct scr_addr *client,
		 enum scr_reply_kind kind, uint64_t now_s,
		 struct ctl_rban_ban *out)
{
	const struct ctl_rban_conf *c = &r->conf;
	unsigned plen = c->v6_plen ? c->v6_plen : 128;
	struct scr_addr key = scr_addr_client_key(client, plen);
	struct rban_slot *s;

	if ((unsigned)kind >= SCR_REPLY_MAX || c->limit[kind] == 0)
		return 0;
	s = find(r, &key, now_s);
	if (s == NULL) {
		r->st.full++;
		return 0;
	}
	if (s->banned_until > now_s) {
		r->st.banned_hits++;
		return 0;
	}
	r->st.hits[kind]++;
	if (s->count[kind] == 0 || now_s >= s->start_s[kind] + c->window_s[kind]) {
		s->start_s[kind] = now_s;
		s->count[kind] = 0;
	}
	if (++s->count[kind] < c->limit[kind])
		return 0;
	r->st.bans[kind]++;
	memset(out, 0, sizeof(*out));
	out->key = key;
	out->plen = (uint8_t)(scr_addr_is_v4(client) ? 128 : plen);
	out->count = s->count[kind];
	out->window_s = c->window_s[kind];
	out->ttl_s = c->ttl_s;
	s->banned_until = now_s + c->ttl_s;
	memset(s->count, 0, sizeof(s->count));
	return 1;
}

/* ctl_rban_event - the BAN event of a ban */
void ctl_rban_event(const struct scr_event *reply, const struct ctl_rban_ban *b,
		    enum scr_action act, struct scr_event *out)
{
	memset(out, 0, sizeof(*out));
	out->type = SCR_EV_BAN;
	out->key = reply->key;
	out->ts_ns = reply->ts_ns;
	out->pkt_no = reply->pkt_no;
	out->elapsed_ns = reply->elapsed_ns;
	out->reply = reply->reply;
	out->action = act;
	out->count = b->count;
	out->window_s = b->window_s;
	out->ttl_s = b->ttl_s;
	out->plen = b->plen;
}

/* ctl_rban_stats - the counters */
void ctl_rban_stats(const struct ctl_rban *r, struct ctl_rban_stats *out)
{
	*out = r->st;
}

/* ctl_rban_count - slots in use */
uint32_t ctl_rban_count(const struct ctl_rban *r)
{
	return r->used;
}
