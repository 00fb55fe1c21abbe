/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_mem - big zeroed tables from the OS, on huge pages
 * DESCRIPTION
 *	The engine's tables (flows, per-client counts, the passed-client
 *	cache, the reader's buffers) are sized for the worst case and touched
 *	only where traffic goes. Each first touch of a 4 KiB page is a page
 *	fault, and on the VMs this was measured on a fault costs 4-9 us: a
 *	one-pass replay of 20,000 flows spent ~2,900 faults (a sixth of its
 *	CPU) filling 4 KiB pages of tables it hashes into at random.
 *	scr_mem_zalloc maps a table of 1 MiB or more at a 2 MiB boundary,
 *	rounded up to whole 2 MiB, and asks for transparent huge pages
 *	(MADV_HUGEPAGE: honoured when /sys/kernel/mm/transparent_hugepage/
 *	enabled is "madvise" or "always"), so a table costs one fault per
 *	2 MiB it is touched in; pages never touched still cost nothing. (A
 *	table of 1-2 MiB, such as the flow table's buckets, takes a whole
 *	huge page: one fault where calloc's clearing of it took 256, a
 *	sixth of a short replay's start.) Tables of 64 KiB to 1 MiB are
 *	mapped in 4 KiB pages, untouched until used; smaller ones come from
 *	calloc. The memory is zero: nothing needs clearing at create. The
 *	advice changes speed only; without huge pages the table is ordinary
 *	memory.
 * CONTRACT
 *	scr_mem_zalloc(len): zeroed memory, NULL + errno on failure.
 *	scr_mem_free(p, len): frees it; len as given to scr_mem_zalloc; p NULL
 *	is allowed.
 * THREADING
 *	Any thread.
 */
#ifndef SCR_MEM_H
#define SCR_MEM_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SCR_MEM_HUGE	(2ul << 20)	/* a transparent huge page */
#define SCR_MEM_MAPPED	(1ul << 20)	/* from here on, on huge pages */
#define SCR_MEM_PAGES	(64ul << 10)	/* from here on, mapped */
#define SCR_MEM_PAGE	4096ul

/* scr_mem_span - what a table of len bytes takes from the OS: 0 (it comes
 * from calloc), whole 4 KiB pages, or whole huge pages */
static inline size_t scr_mem_span(size_t len)
{
	if (len < SCR_MEM_PAGES)
		return 0;
	if (len < SCR_MEM_MAPPED)
		return (len + SCR_MEM_PAGE - 1) & ~(SCR_MEM_PAGE - 1);
	return (len + SCR_MEM_HUGE - 1) & ~(SCR_MEM_HUGE - 1);
}

/* scr_mem_zalloc - len zero bytes; big tables on huge pages */
static inline void *scr_mem_zalloc(size_t len)
{
	size_t size = scr_mem_span(len), map;
	uintptr_t p, a;
	void *q;

	if (size == 0)
		return calloc(1, len ? len : 1);
	if (len < SCR_MEM_MAPPED) {
		/* not calloc: once malloc's mmap threshold has risen (it
		 * follows the largest block freed), calloc takes the table
		 * from the heap and clears every page of it */
		q = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return q == MAP_FAILED ? NULL : q;
	}
	map = size + SCR_MEM_HUGE;	/* room to align the start */
	p = (uintptr_t)mmap(NULL, map, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((void *)p == MAP_FAILED)
		return NULL;
	a = (p + SCR_MEM_HUGE - 1) & ~(uintptr_t)(SCR_MEM_HUGE - 1);
	if (a > p)
		munmap((void *)p, a - p);
	if (p + map > a + size)
		munmap((void *)(a + size), p + map - (a + size));
	(void)madvise((void *)a, size, MADV_HUGEPAGE);	/* best effort */
	return (void *)a;
}

/* scr_mem_free - give back a table of scr_mem_zalloc(len) */
static inline void scr_mem_free(void *p, size_t len)
{
	size_t size = scr_mem_span(len);

	if (p == NULL)
		return;
	if (size == 0)
		free(p);
	else
		munmap(p, size);
}

#endif
