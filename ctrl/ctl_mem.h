/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_mem - big arrays on transparent huge pages
 * DESCRIPTION
 *	The access-list pipeline (ctl_cidr's tables and regions, ctl_aclcomp's
 *	entries) fills arrays of tens of megabytes at every load, and the
 *	first touch of each 4 KiB page is a page fault. On the VM issue 16
 *	was measured on (Firecracker), a fault costs 4-9 us: touching 100 MB
 *	took 440-940 ms in 4 KiB pages and 13-70 ms in 2 MiB pages, and 1M
 *	access-list lines parsed and compiled in 0.7-0.9 s of CPU without
 *	huge pages, 0.2-0.35 s with them (bench/README.md, aclcomp-bench).
 *	ctl_mem_alloc and ctl_mem_realloc are malloc and realloc that put a
 *	block of CTL_MEM_PAGE bytes or more in whole 2 MiB pages (aligned, its
 *	size rounded up; the untouched end costs nothing) and ask for
 *	transparent huge pages for it (madvise MADV_HUGEPAGE, honoured when
 *	/sys/kernel/mm/transparent_hugepage/enabled is "madvise" or
 *	"always"). The memory is malloc's: free() it. The advice changes
 *	nothing but speed; when the kernel has no huge pages (or refuses the
 *	advice), the block is ordinary memory. Growing a big block copies it
 *	(the callers size their big arrays once, or grow them rarely).
 * CONTRACT
 *	ctl_mem_alloc(size): as malloc.
 *	ctl_mem_realloc(p, oldsize, size): as realloc, told the old size.
 * THREADING
 *	Any thread.
 */
#ifndef CTL_MEM_H
#define CTL_MEM_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CTL_MEM_PAGE	(2ul << 20)	/* a transparent huge page */

/* ctl_mem_alloc - malloc, in whole huge pages when big */
static inline void *ctl_mem_alloc(size_t size)
{
	void *p;

	if (size < CTL_MEM_PAGE)
		return malloc(size);
	size = (size + CTL_MEM_PAGE - 1) & ~(CTL_MEM_PAGE - 1);
	if (posix_memalign(&p, CTL_MEM_PAGE, size) != 0)
		return NULL;
	(void)madvise(p, size, MADV_HUGEPAGE);	/* best effort */
	return p;
}

/* ctl_mem_realloc - realloc from oldsize bytes, in huge pages when big */
static inline void *ctl_mem_realloc(void *old, size_t oldsize, size_t size)
{
	void *p;

	if (size < CTL_MEM_PAGE)
		return realloc(old, size);
	p = ctl_mem_alloc(size);
	if (p != NULL && old != NULL) {
		memcpy(p, old, oldsize < size ? oldsize : size);
		free(old);
	}
	return p;
}

#endif
