/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_store - the persistent verdict store (LMDB), postscreen_cache_map's role
 * DESCRIPTION
 *	One LMDB file (MDB_NOSUBDIR: FILE plus FILE-lock) holding, per client
 *	address, the same record as struct ctl_cache_entry: per-test pass
 *	expiry times and a block expiry with the failed tests. The key is the
 *	address as text ("198.18.0.5", "2001:db8::5"), the value is
 *	postscreen's record (reference §2.7) extended at the end:
 *	  PREGREET;DNSBL;PIPELINING;NON_SMTP;BARE_NEWLINE;HELO;BLOCK;REASONS
 *	(decimal Unix seconds, 0 = never passed; REASONS '|'-joined test
 *	names of scr_test_name, empty when not blocked), so postmap -s style
 *	tools and postscreen's own parser (which reads the first five) read
 *	it. The key _LAST_CACHE_CLEANUP_COMPLETED_ holds the last cleanup
 *	time, as in Postfix. Every write commits with LMDB's default
 *	durability (no MDB_NOSYNC / MDB_NOMETASYNC): after ctl_store_put
 *	returns, the record survives a crash of the process or the machine.
 *	Does not own the in-memory cache (ctl_cache) nor decide TTLs.
 * CONTRACT
 *	ctl_store_open(path, map_size, err, errlen): creates the file if
 *	  missing; NULL + errno and "PATH: message" in err (unreadable, not
 *	  a regular file, not an LMDB file). Before any page is read through
 *	  LMDB's map the file is checked (a truncated file or a page of
 *	  garbage would be a SIGBUS or an LMDB assertion later): a damaged
 *	  store is refused, errno EBADMSG, with "PATH: store is corrupt
 *	  (truncated: N of M bytes | page P: what); move it away (mv PATH
 *	  PATH.bad) and restart: the daemon starts with an empty store".
 *	  The map starts at map_size (or the file's size, if larger) and
 *	  grows, doubling, when it is full, up to 4 x map_size.
 *	ctl_store_put(s, e): writes e (its addr is the key); 0 or -errno
 *	  (-ENOSPC when the map is full at its ceiling: e is not saved).
 *	ctl_store_map_size(s): the map's size now.
 *	ctl_store_get(s, addr, out): 0 or -ENOENT (or -EBADMSG for a record
 *	  that does not parse).
 *	ctl_store_del(s, addr): 0 or -ENOENT.
 *	ctl_store_foreach(s, cb, arg, &bad): calls cb for every record in key
 *	  order; records that do not parse are counted in *bad and skipped.
 *	  Stops at the first non-zero cb return and returns it; 0 or -errno.
 *	ctl_store_cleanup(s, now_s, retention_s, &retained, &dropped):
 *	  deletes records in which every time (passes and block) is older
 *	  than now_s - retention_s (postscreen's rule), then records now_s as
 *	  the last cleanup. 0 or -errno.
 *	ctl_store_last_cleanup(s): the recorded time, 0 if none.
 *	ctl_store_set_batched(s, on): on: commits do not sync (MDB_NOSYNC);
 *	  a crash of the process loses nothing committed, a crash of the
 *	  machine what was written since the last ctl_store_sync(s), which
 *	  syncs once if anything was written since the last one. 0 or -errno.
 *	  Close syncs a batched store.
 *	ctl_store_format / ctl_store_parse: the value text (exported for
 *	  tests); parse returns 0 or -EBADMSG.
 * THREADING
 *	One thread (the host daemon's). LMDB's lock file allows readers in
 *	other processes (smtpscreenctl later).
 */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_cache.h"
#include "scr_types.h"

#define CTL_STORE_CLEANUP_KEY	"_LAST_CACHE_CLEANUP_COMPLETED_"
#define CTL_STORE_VALUE_MAX	256

struct ctl_store;

struct ctl_store *ctl_store_open(const char *path, uint64_t map_size,
				 char *err, size_t errlen);
void ctl_store_close(struct ctl_store *s);
const char *ctl_store_path(const struct ctl_store *s);
int ctl_store_put(struct ctl_store *s, const struct ctl_cache_entry *e);
int ctl_store_get(struct ctl_store *s, const struct scr_addr *addr,
		  struct ctl_cache_entry *out);
int ctl_store_del(struct ctl_store *s, const struct scr_addr *addr);
int ctl_store_foreach(struct ctl_store *s,
		      int (*cb)(void *arg, const struct ctl_cache_entry *e),
		      void *arg, uint64_t *bad);
int ctl_store_cleanup(struct ctl_store *s, uint64_t now_s, uint64_t retention_s,
		      uint64_t *retained, uint64_t *dropped);
uint64_t ctl_store_last_cleanup(struct ctl_store *s);
int ctl_store_set_batched(struct ctl_store *s, bool on);
int ctl_store_sync(struct ctl_store *s);
/* Batches written out by ctl_store_sync (a sync with nothing new is not). */
uint64_t ctl_store_syncs(const struct ctl_store *s);
/* Number of client records. */
uint64_t ctl_store_count(struct ctl_store *s);
/* The map's size now (it grows when full, up to 4 x the size asked). */
uint64_t ctl_store_map_size(const struct ctl_store *s);

size_t ctl_store_format(const struct ctl_cache_entry *e, char *buf, size_t len);
int ctl_store_parse(const char *val, size_t len, struct ctl_cache_entry *e);
/* Address text of the key; 0 or -EINVAL. */
int ctl_store_addr_parse(const char *s, size_t len, struct scr_addr *a);
const char *ctl_store_addr_str(const struct scr_addr *a, char *buf, size_t len);

#endif
