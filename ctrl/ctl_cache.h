/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cache - the verdict cache: per-client test passes and blocks
 * DESCRIPTION
 *	The role of postscreen_cache_map: for each client address, until
 *	when each test counts as passed (postscreen's per-test expiry times)
 *	and until when the client is blocked after a failure under enforce
 *	or drop, with the reasons. Fixed capacity, chained hash over a
 *	preallocated entry pool; expired entries are dropped when met and by
 *	ctl_cache_sweep(). When full, an insert replaces the entry in the
 *	pool slot the clock hand reaches (counted). The persistent store
 *	(LMDB) and the shared store come with the live modes.
 * CONTRACT
 *	ctl_cache_create(cap): NULL + errno.
 *	ctl_cache_client(c, acl_result...): see below; fills the engine's
 *	  struct scr_client_info for a client whose access-list answer was
 *	  DUNNO.
 *	ctl_cache_pass(c, addr, now_s, tests, pol): tests passed now.
 *	ctl_cache_block(c, addr, now_s, ttl_s, reasons).
 *	ctl_cache_get(c, addr, now_s, out): 0, or -ENOENT.
 *	Times are Unix seconds; the cache keeps them in 32 bits, so a time
 *	after 2106-02-07 comes back as UINT32_MAX (for ever).
 * THREADING
 *	Not locked: one owner thread (replay: one per worker; live modes:
 *	the control thread).
 */
#ifndef CTL_CACHE_H
#define CTL_CACHE_H

#include <stdio.h>

#include "scr_types.h"

struct ctl_cache_entry {
	struct scr_addr addr;
	uint64_t pass_until[SCR_TEST_MAX];	/* 0 = never passed */
	uint64_t block_until;			/* 0 = not blocked */
	scr_reasons block_reasons;
};

struct ctl_cache;

struct ctl_cache *ctl_cache_create(uint32_t cap);
void ctl_cache_destroy(struct ctl_cache *c);
void ctl_cache_clear(struct ctl_cache *c);
/* ctl_cache_set_v6_prefix - IPv6 clients share the entry of their prefix
 * of plen bits (smtpscreen_client_ipv6_prefix_length; 128, the default of
 * a new cache: per address); IPv4 is always per address. Entries made
 * before a change keep their keys. ctl_cache_key: the key of a client. */
void ctl_cache_set_v6_prefix(struct ctl_cache *c, unsigned plen);
struct scr_addr ctl_cache_key(const struct ctl_cache *c,
			      const struct scr_addr *addr);
void ctl_cache_client(struct ctl_cache *c, const struct scr_addr *addr,
		      uint64_t now_s, uint8_t enabled,
		      struct scr_client_info *out);
/* ctl_cache_ahead - prefetch for a lookup of addr soon: step 0 its
 * bucket, step 1 (after step 0 had time) its first entry. Reads only. */
void ctl_cache_ahead(const struct ctl_cache *c, const struct scr_addr *addr,
		     unsigned step);
void ctl_cache_pass(struct ctl_cache *c, const struct scr_addr *addr,
		    uint64_t now_s, uint8_t tests, const struct scr_policy *pol);
/* Block lifetime for a client stopped with these reasons: 0 = no block. */
uint32_t ctl_cache_block_ttl(const struct scr_policy *pol, scr_reasons reasons);
void ctl_cache_block(struct ctl_cache *c, const struct scr_addr *addr,
		     uint64_t now_s, uint32_t ttl_s, scr_reasons reasons);
int ctl_cache_get(struct ctl_cache *c, const struct scr_addr *addr,
		  uint64_t now_s, struct ctl_cache_entry *out);
/* ctl_cache_put - e's pass and block times for e->addr, replacing what
 * the cache had (a copy of another cache's entry) */
void ctl_cache_put(struct ctl_cache *c, const struct ctl_cache_entry *e,
		   uint64_t now_s);
uint32_t ctl_cache_sweep(struct ctl_cache *c, uint64_t now_s);
uint32_t ctl_cache_count(const struct ctl_cache *c);
uint64_t ctl_cache_replaced(const struct ctl_cache *c);
/* ctl_cache_verdict - what a VERDICT event means for the cache: a new
 * pass of the stream tests (unless the client is blocked now: a block
 * made while its session ran stays), or a block for pol's block TTL when
 * the session was stopped; nothing else. */
void ctl_cache_verdict(struct ctl_cache *c, const struct scr_event *ev,
		       const struct scr_policy *pol);
/* ctl_cache_entry_merge - dst gets the later of each time in src */
void ctl_cache_entry_merge(struct ctl_cache_entry *dst,
			   const struct ctl_cache_entry *src);
/* Text of an address (dotted quad for v4-mapped). */
const char *ctl_cache_addr_str(const struct scr_addr *a, char *buf, size_t len);
/* One `cache list` line of e's live parts ("ADDR test=UNTIL(+Ns)...
 * block=UNTIL(+Ns) reasons=R|operator"); nothing when nothing is live.
 * Returns 1 when a line was written. */
int ctl_cache_entry_print(FILE *out, const struct ctl_cache_entry *e,
			  uint64_t now_s);
/* Calls cb for every entry (expired ones too) until cb returns non-zero. */
int ctl_cache_walk(const struct ctl_cache *c,
		   int (*cb)(void *arg, const struct ctl_cache_entry *e),
		   void *arg);
/* The bucket hash (exported for its distribution test). */
uint32_t ctl_cache_addr_hash(const struct scr_addr *a);

#endif
