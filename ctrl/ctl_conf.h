/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_conf - main.cf reader and smtpscreen's parameter table
 * DESCRIPTION
 *	Reads Postfix main.cf syntax (name = value, continuation lines that
 *	start with white space, # comments, $name / ${name} / $(name)
 *	expansion, ${name?value} and ${name:value}). Holds the table of every
 *	supported postscreen_* and smtpscreen_* parameter with its Postfix
 *	default, and of the other Postfix parameters those defaults use.
 *	Other Postfix parameters are accepted and usable in expansions; an
 *	unknown postscreen_* or smtpscreen_* name, or a bad value, is an error
 *	naming file:line. Builds the engine policy and the scanner patterns.
 * CONTRACT
 *	ctl_conf_load(path, err, errlen) / ctl_conf_parse(text, len, name, ...):
 *	  a new conf or NULL with "name:line: message" in err. path is one
 *	  file or a ':' list read in order (a later setting wins; a name with
 *	  a leading '?' is skipped when it does not exist); the -o settings
 *	  (ctl_conf_override) come last, named "-o:N". Relative table paths
 *	  resolve against the first file's directory. main.cf and
 *	  the tables it names must be regular files of at most 16 MiB (a
 *	  directory, FIFO or device, a read error: an error naming the file);
 *	  one value expands to at most 1 MiB through at most 65536 $name
 *	  references, else an error naming the parameter.
 *	ctl_conf_get(conf, name): expanded value (default if unset); NULL if
 *	  the name is neither set nor known. Owned by conf.
 *	ctl_conf_where(conf, name, buf, len): "main.cf:12" of the setting, or
 *	  "default" when unset; returns buf.
 *	ctl_conf_policy(conf, pol, err, errlen): 0 or -EINVAL with message.
 *	ctl_conf_patterns(conf, &pats, &n, err, errlen): scanner patterns from
 *	  postscreen_forbidden_commands, smtpscreen_helo_own_names and the
 *	  smtpscreen_signatures file; free with ctl_conf_patterns_free().
 *	ctl_conf_check(path, fn, arg, &nerr): as ctl_conf_load, but every
 *	  error (not only the first) goes to fn(message, arg); NULL when any.
 *	ctl_conf_default_path(): "$MAIL_CONFIG/main.cf" (MAIL_CONFIG unset:
 *	  /etc/postfix) then "?$SMTPSCREEN_CONFIG" (unset:
 *	  CTL_CONF_OWN_FILE; empty: none); a static buffer.
 *	ctl_conf_override("name=value"): 0, -EINVAL (no '='), -E2BIG.
 *	ctl_conf_raw(conf, name, &set): the value as written (set = 1) or
 *	  the unexpanded default (set = 0); NULL for a name neither known nor
 *	  set.
 * THREADING
 *	Control thread. A loaded conf is read-only and may be shared.
 *	ctl_conf_override: before any load, from main.
 */
#ifndef CTL_CONF_H
#define CTL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "scr_scan.h"
#include "scr_types.h"

struct ctl_conf;

#define CTL_CONF_FILES		8	/* files in one path list */
#define CTL_CONF_OVERRIDES	64	/* -o settings */
#define CTL_CONF_POSTFIX_DIR	"/etc/postfix"
#define CTL_CONF_OWN_FILE	"/etc/smtpscreen/smtpscreen.cf"

typedef void ctl_conf_report_fn(const char *msg, void *arg);

struct ctl_conf *ctl_conf_check(const char *path, ctl_conf_report_fn *fn,
				void *arg, unsigned *nerr);
const char *ctl_conf_default_path(void);
int ctl_conf_override(const char *setting);
const char *ctl_conf_raw(const struct ctl_conf *conf, const char *name,
			 int *set);

struct ctl_conf *ctl_conf_load(const char *path, char *err, size_t errlen);
struct ctl_conf *ctl_conf_parse(const char *text, size_t len, const char *name,
				char *err, size_t errlen);
void ctl_conf_destroy(struct ctl_conf *conf);
const char *ctl_conf_get(const struct ctl_conf *conf, const char *name);
const char *ctl_conf_where(const struct ctl_conf *conf, const char *name,
			   char *buf, size_t len);
/* Directory of the loaded file (relative table paths resolve against it). */
const char *ctl_conf_dir(const struct ctl_conf *conf);

/* The reply-ban counter's limits (smtpscreen_reply_ban_*). */
struct ctl_rban_conf;
void ctl_conf_reply_ban(const struct ctl_conf *conf, struct ctl_rban_conf *rc);
int ctl_conf_policy(const struct ctl_conf *conf, struct scr_policy *pol,
		    char *err, size_t errlen);
int ctl_conf_patterns(const struct ctl_conf *conf,
		      struct scr_scan_pattern **pats, size_t *n,
		      char *err, size_t errlen);
void ctl_conf_patterns_free(struct scr_scan_pattern *pats, size_t n);

/* Next token of a comma/space list (Postfix list syntax), {...} kept
 * whole; end NULL = up to the NUL. False at the end; *bad set on
 * unbalanced braces. */
bool ctl_conf_list_token(const char **pp, const char *end, const char **tok,
			 size_t *tlen, bool *bad);

/* One "/regex/flags result" line of a Postfix regexp table: the regex into
 * re, *caseless, *result the offset of the result in l (result may be
 * NULL); 0 or -EINVAL with *why. */
int ctl_conf_regexp_rule(const char *l, size_t n, bool need_result,
			 char *re, size_t relen, unsigned *caseless,
			 size_t *result, const char **why);

/* Typed parsers, exported for other ctrl modules; 0 or -EINVAL. */
int ctl_conf_parse_time(const char *s, char default_unit, unsigned long long *secs);
int ctl_conf_parse_bool(const char *s, int *out);
int ctl_conf_parse_action(const char *s, int *out);	/* enum scr_action */

/* Added by ctrl (ctl_conf.c): */
/* Value of name as postscreen evaluates it in stress mode ($stress = yes);
 * 0, -ENOENT (unknown name) or -EINVAL (expansion error). */
int ctl_conf_get_stress(const struct ctl_conf *conf, const char *name,
			char *buf, size_t len);
/* File name used in messages ("main.cf" or the path given to load). */
const char *ctl_conf_file(const struct ctl_conf *conf);
/* The i-th file read (in order; "-o" for the overrides), NULL past the
 * last: an output must never be one of them. */
const char *ctl_conf_file_at(const struct ctl_conf *conf, unsigned i);
/* The parameter table (docs, tests): row i; used = 1 acted on, 0 accepted
 * without effect (needs a TCP-terminating server), 2 accepted and
 * validated for a module not in this release. 0 or -ENOENT. */
size_t ctl_conf_param_count(void);
int ctl_conf_param_info(size_t i, const char **name, const char **def,
			const char **type, unsigned *used);

#endif
