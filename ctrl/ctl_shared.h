/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_shared - a verdict store shared by the screeners of a mail farm
 * DESCRIPTION
 *	Beside the local cache (ctl_cache) and the local store (ctl_store),
 *	the verdicts several nodes share, in one of two backends:
 *	- Redis (ours): passes and blocks. One hash per client,
 *	  PREFIX "c:" ADDR, fields named after scr_test_name (pass expiry
 *	  per test), "block", "reasons" ('|'-joined test names) and
 *	  "origin" (the node that wrote the block); the key expires at the
 *	  latest of its times. Writes merge (each time only moves forward)
 *	  in one server-side script, which also adds a new block to the
 *	  sorted set PREFIX "blocked" (score = block expiry) and publishes
 *	  "ORIGIN ADDR UNTIL REASONS" on channel PREFIX "blocks".
 *	- memcache (postscreen's records, reference §2.7): passes only, key
 *	  PREFIX ADDR (default prefix "postscreen:", as key_format =
 *	  postscreen:%s), value "PREGREET;DNSBL;PIPELINING;NON_SMTP;
 *	  BARE_NEWLINE" expiry times; our HELO test and blocks stay local.
 *	Connections are non-blocking and made lazily; a store that is down is
 *	retried with backoff while the caller goes on with its local cache.
 *	Does not own the local cache nor decide TTLs. docs/shared-store.md.
 * CONTRACT
 *	ctl_shared_create(url, err, errlen): url is
 *	  "redis://HOST[:PORT][/DB][?prefix=P&pending=N]" or
 *	  "memcache://HOST[:PORT][?prefix=P&pending=N]", HOST a numeric
 *	  IPv4 address or [IPv6]. NULL + errno (EINVAL: bad url, err says
 *	  why). Does not connect: a store that is down is not an error.
 *	ctl_shared_put(s, e, now_s): queues the write of e (its addr is the
 *	  key) and sends it if the store is up; never waits. 0, or -ENOBUFS
 *	  when N (pending=, default CTL_SHARED_PENDING_DEF) clients' writes
 *	  are already waiting for a store that is down (counted; a client
 *	  already waiting is merged: the latest of each time is replayed).
 *	ctl_shared_get(s, a, e, timeout_ms): 0 and e filled (addr = a), or
 *	  -ENOENT, or -EAGAIN (store down, connecting, or no answer within
 *	  timeout_ms; counted).
 *	ctl_shared_get_async(s, a, token): asks for a's record without
 *	  waiting; 0 (the answer comes to the on_get callback with token,
 *	  token != 0), or -EAGAIN (store down or too many requests waiting:
 *	  no answer will come; counted). -EINVAL for token 0.
 *	ctl_shared_on_get(s, cb, arg): cb(arg, token, rc, e) for each answer:
 *	  rc 0 and e (addr set), -ENOENT (no record, or one that does not
 *	  parse), -EAGAIN (the connection went before the answer). Called
 *	  from ctl_shared_process() (and ctl_shared_get()); cb must not call
 *	  ctl_shared_get().
 *	ctl_shared_on_block(s, cb, arg): cb(arg, e) for each block another
 *	  node wrote (e: addr, block_until, block_reasons), called only from
 *	  ctl_shared_process(): pub/sub messages, and after every
 *	  (re)subscription the blocks in the sorted set not yet expired.
 *	ctl_shared_pollfds(s, fds, max, &timeout_ms): fills up to max
 *	  pollfds; lowers *timeout_ms to the next reconnection attempt.
 *	  Returns the number filled (0..2).
 *	ctl_shared_process(s, fds, n, now_s): after poll (also with nothing
 *	  ready): reads answers and messages, reconnects when due, sends
 *	  queued writes, calls on_block.
 *	ctl_shared_format_psc / ctl_shared_parse_psc: postscreen's record
 *	  text (exported for tests); parse returns 0 or -EBADMSG; 0 and 1
 *	  (never passed, test disabled) both read as 0.
 * THREADING
 *	One thread (the control thread). Not locked.
 */
#ifndef CTL_SHARED_H
#define CTL_SHARED_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_cache.h"
#include "scr_types.h"

#define CTL_SHARED_PENDING_DEF	4096	/* clients' writes kept while down */
#define CTL_SHARED_PSC_MAX	128	/* postscreen record text */

enum ctl_shared_state { CTL_SHARED_UP, CTL_SHARED_DOWN, CTL_SHARED_CONNECTING };

struct ctl_shared_stats {
	uint64_t puts;		/* ctl_shared_put calls */
	uint64_t put_dropped;	/* pending queue full: write lost */
	uint64_t put_skipped;	/* memcache: nothing postscreen's record holds */
	uint64_t writes;	/* write commands sent */
	uint64_t write_acked;	/* answered OK */
	uint64_t write_errors;	/* answered with an error */
	uint64_t replayed;	/* writes queued again after a lost connection */
	uint64_t gets;
	uint64_t get_hits;
	uint64_t get_misses;
	uint64_t get_unavail;	/* -EAGAIN */
	uint64_t bad_records;	/* records or messages that do not parse */
	uint64_t blocks_in;	/* on_block calls */
	uint64_t catchups;	/* block set re-reads */
	uint64_t connects;	/* connections established */
	uint64_t disconnects;	/* connections lost or failed */
	uint64_t pending;	/* now: clients whose write waits */
	uint64_t inflight;	/* now: commands awaiting an answer */
};

struct ctl_shared;

struct ctl_shared *ctl_shared_create(const char *url, char *err, size_t errlen);
void ctl_shared_destroy(struct ctl_shared *s);
int ctl_shared_put(struct ctl_shared *s, const struct ctl_cache_entry *e,
		   uint64_t now_s);
int ctl_shared_get(struct ctl_shared *s, const struct scr_addr *a,
		   struct ctl_cache_entry *e, unsigned timeout_ms);
int ctl_shared_get_async(struct ctl_shared *s, const struct scr_addr *a,
			 uint64_t token);
void ctl_shared_on_get(struct ctl_shared *s,
		       void (*cb)(void *arg, uint64_t token, int rc,
				  const struct ctl_cache_entry *e),
		       void *arg);
void ctl_shared_on_block(struct ctl_shared *s,
			 void (*cb)(void *arg, const struct ctl_cache_entry *e),
			 void *arg);
int ctl_shared_pollfds(struct ctl_shared *s, struct pollfd *fds, int max,
		       int *timeout_ms);
void ctl_shared_process(struct ctl_shared *s, const struct pollfd *fds, int n,
			uint64_t now_s);
enum ctl_shared_state ctl_shared_state(const struct ctl_shared *s);
void ctl_shared_stats(const struct ctl_shared *s, struct ctl_shared_stats *out);
extern const char *const ctl_shared_state_name[];	/* "up", "down", "connecting" */

/* postscreen's cache record (memcache mode) */
size_t ctl_shared_format_psc(const struct ctl_cache_entry *e, char *buf, size_t len);
int ctl_shared_parse_psc(const char *val, size_t len, struct ctl_cache_entry *e);

#endif
