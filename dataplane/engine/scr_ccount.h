/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_ccount - concurrent flows per client address, for one worker
 * DESCRIPTION
 *	postscreen_client_connection_count_limit at packet level: how many
 *	flows of the table each client address has now. An open-addressing
 *	table of 64-bit slots (48-bit fingerprint of the address, 16-bit
 *	count), sized at create time to twice the flow table, so it is never
 *	more than half full and never allocates afterwards. Two addresses
 *	with one fingerprint share a count (odds 2^-48 per pair). The
 *	fingerprint is the keyed hash of scr_hash: a client cannot pick
 *	addresses that share a slot's run or a count.
 * CONTRACT
 *	scr_ccount_create(flows): NULL + errno (ENOMEM, EINVAL for 0).
 *	scr_ccount_key(addr): the fingerprint a client is counted under.
 *	scr_ccount_get(t, key): flows counted now.
 *	scr_ccount_prefetch(t, key): start loading key's home slot.
 *	scr_ccount_inc(t, key): one more; the count saturates at 65535.
 *	scr_ccount_dec(t, key): one fewer; at 0 the slot is freed.
 *	The caller pairs every inc with one dec (the flow table holds at
 *	most `flows` flows, so at most `flows` keys are counted).
 * THREADING
 *	One worker owns a table; no locks.
 */
#ifndef SCR_CCOUNT_H
#define SCR_CCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "scr_types.h"

struct scr_ccount;

struct scr_ccount *scr_ccount_create(uint32_t flows);
void scr_ccount_destroy(struct scr_ccount *t);
void scr_ccount_clear(struct scr_ccount *t);
/* Bytes per flow of the table (for the memory statement). */
size_t scr_ccount_bytes_per_flow(const struct scr_ccount *t, uint32_t flows);
uint64_t scr_ccount_key(const struct scr_addr *a);
unsigned scr_ccount_get(const struct scr_ccount *t, uint64_t key);
void scr_ccount_prefetch(const struct scr_ccount *t, uint64_t key);
void scr_ccount_inc(struct scr_ccount *t, uint64_t key);
void scr_ccount_dec(struct scr_ccount *t, uint64_t key);

#endif
