/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_access - Postfix access(5) tables a postmaster writes by hand
 * DESCRIPTION
 *	One lookup table of the types smtpscreen's restriction lists accept
 *	(check_client_access, check_helo_access, check_sender_access,
 *	check_recipient_access; ctl_restrict):
 *	  texthash:/path   "key result" lines, # comments, continuation lines
 *	                   that start with white space; keys case-insensitive
 *	  inline:{ key=result, { key = result with spaces }, ... }
 *	  regexp:/path     "/regex/flags result" lines, first match wins; POSIX
 *	                   extended regular expressions as Postfix's regexp:
 *	                   (flag i toggles case sensitivity: caseless by
 *	                   default); $1-style substitution is not done, and
 *	                   if/endif and !/re/ are refused
 *	  cidr:/path       "network/prefix result" lines, first match wins;
 *	                   client addresses only
 *	hash:, lmdb: and other compiled types need postmap's database: they
 *	are refused by name (texthash: reads the same source file).
 *	The result text is kept as written; ctl_restrict gives it meaning.
 *	A bad line is an error naming file:line; an unreadable file is an
 *	error, never an empty table.
 * CONTRACT
 *	ctl_access_open(spec, basedir, err, errlen): the table, or NULL with
 *	  "file:line: message" (or "spec: message") in err. Relative paths
 *	  resolve against basedir.
 *	ctl_access_find(t, key): the result for key, NULL if none. texthash
 *	  and inline: the exact key, caseless; regexp: the first rule whose
 *	  expression matches key; cidr: the first network holding key (an
 *	  address in text form; not an address: NULL).
 *	ctl_access_indexed(t): true for texthash and inline (the tables
 *	  access(5) looks partial keys up in: domain, parent domains, user@).
 *	ctl_access_each(t, cb, arg): cb(arg, result, where) for every result
 *	  (checked when a restriction list is compiled); stops at cb's
 *	  non-zero return and returns it.
 * THREADING
 *	Control thread builds; a table is read-only afterwards.
 */
#ifndef CTL_ACCESS_H
#define CTL_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_access;

struct ctl_access *ctl_access_open(const char *spec, const char *basedir,
				   char *err, size_t errlen);
void ctl_access_close(struct ctl_access *t);
const char *ctl_access_find(const struct ctl_access *t, const char *key);
bool ctl_access_indexed(const struct ctl_access *t);
int ctl_access_each(const struct ctl_access *t,
		    int (*cb)(void *arg, const char *result, const char *where),
		    void *arg);
/* The table as named ("texthash:/etc/postfix/sender_access"). */
const char *ctl_access_name(const struct ctl_access *t);

#endif
