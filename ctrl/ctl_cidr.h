/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cidr - cidr tables and postscreen_access_list
 * DESCRIPTION
 *	Parses Postfix cidr_table(5) files (pattern result; [addr]; IPv6;
 *	!pattern; if/endif nesting; first match wins; continuation lines) and
 *	compiles postscreen_access_list (permit_mynetworks, permit, reject,
 *	dunno, cidr:/file and inline cidr:{ {rule}, ... }) into an ordered
 *	rule program evaluated first-match-wins, as Postfix's server_acl does.
 *	Postfix logs and skips a bad cidr line; smtpscreen refuses it with
 *	file:line, because a silently skipped deny rule is a security hole.
 *	For the same reason a table or mynetworks /file/name must be a
 *	regular file of at most 1 GiB, and a read error is an error naming
 *	it, never the end of the table.
 * CONTRACT
 *	ctl_acl_create(conf, err, errlen): NULL + "file:line: message" on error.
 *	ctl_acl_lookup(acl, addr): first-match result for the client address.
 *	ctl_acl_prefixes(acl, cb, arg): calls cb once for every prefix that
 *	  appears anywhere in the program (mynetworks, table patterns, if
 *	  blocks, negations); the answer of ctl_acl_lookup is constant inside
 *	  every region these prefixes do not split (what an oracle-driven
 *	  compiler, ctl_aclcomp_compile_src, needs). Returns 0 or the first
 *	  non-zero cb return.
 *	ctl_acl_regions_init(rg, acl): the answer of ctl_acl_lookup over the
 *	  whole address space as sorted disjoint regions (the XDP compiler's
 *	  input), computed from the program itself without a lookup per
 *	  region (O(n log n) for plain tables; O(regions x log rules) for
 *	  tables of many if blocks and negations): region i is
 *	  [start[i], start[i + 1]) (the last one runs to the end of the
 *	  space), start[0] is 0, addresses are the 16 bytes of struct
 *	  scr_addr read as one big-endian number, and two neighbours never
 *	  have the same answer. 0 or -ENOMEM; free with ctl_acl_regions_fini
 *	  (after an init, failed or not; idempotent).
 *	ctl_cidr_parse_prefix(text, net, plen): "a.b.c.d[/n]", "[v6]/n";
 *	  IPv4 becomes v4-mapped with plen + 96. 0 or -EINVAL.
 * THREADING
 *	Control thread builds; lookups are read-only and thread-safe.
 */
#ifndef CTL_CIDR_H
#define CTL_CIDR_H

#include "ctl_conf.h"
#include "scr_types.h"

enum ctl_acl_result {
	CTL_ACL_DUNNO = 0,	/* no decision: run the tests */
	CTL_ACL_PERMIT,
	CTL_ACL_REJECT,
};

struct ctl_acl;

struct ctl_acl *ctl_acl_create(const struct ctl_conf *conf, char *err,
			       size_t errlen);
/* Same, from an explicit list and mynetworks value (tests, smtpscreenctl). */
struct ctl_acl *ctl_acl_compile(const char *access_list, const char *mynetworks,
				const char *basedir, char *err, size_t errlen);
void ctl_acl_destroy(struct ctl_acl *acl);
enum ctl_acl_result ctl_acl_lookup(const struct ctl_acl *acl,
				   const struct scr_addr *addr);
/* An access list's answer over the address space (see ctl_acl_regions_init). */
struct ctl_acl_regions {
	unsigned __int128 *start;	/* first address of each region, ascending */
	uint8_t *res;			/* enum ctl_acl_result of each region */
	size_t n;
};

int ctl_acl_regions_init(struct ctl_acl_regions *rg, const struct ctl_acl *acl);
void ctl_acl_regions_fini(struct ctl_acl_regions *rg);
/* ctl_acl_regions_find - index of the region holding address x */
size_t ctl_acl_regions_find(const struct ctl_acl_regions *rg, unsigned __int128 x);
int ctl_acl_prefixes(const struct ctl_acl *acl,
		     int (*cb)(void *arg, const struct scr_addr *net,
			       unsigned plen),
		     void *arg);
int ctl_cidr_parse_prefix(const char *text, struct scr_addr *net,
			  unsigned *plen);
/* Added by ctrl: same, with Postfix's reason ("bad mask length in ...",
 * "non-null host address bits in ..., perhaps you should use ...") in why. */
int ctl_cidr_parse_prefix_msg(const char *text, struct scr_addr *net,
			      unsigned *plen, char *why, size_t wlen);

#endif
