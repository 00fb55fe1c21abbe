/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_aclcomp - compile a first-match access list into longest-prefix entries
 * DESCRIPTION
 *	postscreen_access_list is first-match (permit_mynetworks, then each
 *	cidr line in order, dunno falls through, ! negates); the XDP maps are
 *	longest-prefix. The list's answer over the address space comes as
 *	sorted regions from ctl_acl_regions_init (computed from the program
 *	in O(n log n), no lookup per region); from them we build a minimal
 *	set of prefixes with the same answer for every address: a binary trie
 *	whose leaves are uniform, then ORTC (Draves et al., "Constructing
 *	optimal IP routing tables", 1999) over the three answers
 *	none/permit/reject, with "none" as the answer when no prefix matches;
 *	O(nodes), a node costing a few steps (see ctl_aclcomp.c). IPv4
 *	(::ffff:0:0/96) and IPv6 are compiled separately because the kernel
 *	keeps them in separate structures; in the IPv6 result the v4-mapped
 *	range is "don't care" (the XDP program looks v4-mapped IPv6 sources
 *	up in the IPv4 structure).
 * CONTRACT
 *	ctl_aclcomp_compile(acl, &e, &n): 0 with a malloc'ed array (free()),
 *	  or -ENOMEM.
 *	ctl_aclcomp_compile_src(src, &e, &n): the same from any oracle
 *	  (prefixes + lookup, asked once per prefix boundary: slow for big
 *	  lists), for tests and other first-match sources; or the error of
 *	  src->prefixes.
 * THREADING
 *	Control thread; no shared state.
 */
#ifndef CTL_ACLCOMP_H
#define CTL_ACLCOMP_H

#include <stddef.h>

#include "ctl_cidr.h"
#include "ctl_maps.h"

struct ctl_aclcomp_src {
	int (*prefixes)(void *arg,
			int (*cb)(void *cbarg, const struct scr_addr *net,
				  unsigned plen),
			void *cbarg);
	enum ctl_acl_result (*lookup)(void *arg, const struct scr_addr *addr);
	void *arg;
};

int ctl_aclcomp_compile_src(const struct ctl_aclcomp_src *src,
			    struct ctl_xdp_entry **out, size_t *n);
/* ctl_aclcomp_ans - an access-list answer as the XDP program's (enum
 * scr_xdp_ans) */
uint8_t ctl_aclcomp_ans(enum ctl_acl_result r);
int ctl_aclcomp_compile(const struct ctl_acl *acl, struct ctl_xdp_entry **out,
			size_t *n);

#endif
