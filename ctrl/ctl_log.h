/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_log - postscreen-format log lines from engine events
 * DESCRIPTION
 *	Formats struct scr_event as postscreen's lines (CONNECT from [a]:p to
 *	[b]:p, PREGREET n after t from [a]:p: text, BARE NEWLINE ..., COMMAND
 *	PIPELINING ..., NON-SMTP COMMAND ..., DENYLISTED/BLACKLISTED,
 *	ALLOWLISTED/WHITELISTED per respectful_logging, PASS NEW/OLD,
 *	HANGUP, DISCONNECT), with peer bytes C-escaped and truncated as
 *	postscreen does, or as JSON lines. Output: a FILE (syslog-style
 *	"Mmm dd hh:mm:ss host tag[pid]: " prefix with the event's time) or
 *	syslog(3). Free-form lines carry a severity (ctl_msg's): its text
 *	prefix ("warning: ") and, on syslog, its priority. A log opened by
 *	path owns its FILE and can reopen it after logrotate renamed it.
 * CONTRACT
 *	ctl_log_create(conf, out, fmt): out NULL = syslog. out is the
 *	  caller's (not closed). NULL + errno.
 *	ctl_log_open_file(conf, path, fmt): a log that owns its FILE: path
 *	  opened "a", line-buffered; path copied. NULL + errno (fopen's).
 *	ctl_log_reopen(log): for logrotate (SIGUSR1): open the path again,
 *	  then switch to it and close the old FILE. 0 on success, and for a
 *	  syslog log (nothing to reopen); -EINVAL for a caller's FILE;
 *	  -errno when the path cannot be opened: the old FILE stays in use.
 *	  A failed close of the old FILE counts as a write error.
 *	ctl_log_destroy(log): frees; closes the FILE if the log owns it.
 *	ctl_log_event(log, ev): never fails; write errors are counted.
 *	ctl_log_format(log, ev, buf, len): the text after "tag[pid]: ",
 *	  for tests; returns the length, 0 if the event logs nothing.
 *	ctl_log_sev(log, sev, fmt, ...): a free-form line, now: the
 *	  severity's prefix then the text ("warning: x"); syslog priority per
 *	  severity (ctl_msg_priority()); JSON: {"event":"msg","severity":
 *	  "warning","message":"x"}. Never fails; write errors are counted.
 *	  Does not exit or abort for fatal/panic (ctl_msg does that).
 *	ctl_log_msg(log, fmt, ...): ctl_log_sev(log, CTL_MSG_INFO, ...).
 * THREADING
 *	ctl_log_event, ctl_log_format: the log's owner (control thread;
 *	replay: the thread that owns the engine). ctl_log_sev, ctl_log_msg,
 *	ctl_log_reopen, ctl_log_write_errors: any thread (a mutex per log
 *	orders the writes and the FILE switch). Create/destroy: owner, with
 *	no other thread using the log.
 */
#ifndef CTL_LOG_H
#define CTL_LOG_H

#include <stdio.h>

#include "ctl_conf.h"
#include "ctl_msg.h"
#include "scr_types.h"

enum ctl_log_fmt { CTL_LOG_POSTFIX = 0, CTL_LOG_JSON };

struct ctl_log;

struct ctl_log *ctl_log_create(const struct ctl_conf *conf, FILE *out,
			       enum ctl_log_fmt fmt);
struct ctl_log *ctl_log_open_file(const struct ctl_conf *conf,
				  const char *path, enum ctl_log_fmt fmt);
int ctl_log_reopen(struct ctl_log *log);
void ctl_log_destroy(struct ctl_log *log);
void ctl_log_event(struct ctl_log *log, const struct scr_event *ev);
size_t ctl_log_format(struct ctl_log *log, const struct scr_event *ev,
		      char *buf, size_t len);
/* A line ctrl made itself, with an event's time ts_ns: postfix format as
 * is; JSON as {"time":...,"event":event,"message":text}. */
void ctl_log_line(struct ctl_log *log, uint64_t ts_ns, const char *event,
		  const char *text);
/* Free-form line with the same prefix: info, or a severity's. */
void ctl_log_msg(struct ctl_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_log_sev(struct ctl_log *log, enum ctl_msg_sev sev,
		 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* C-escape up to max input bytes of p[0..n) into buf (NUL-terminated),
 * as Postfix's escape() does (\r \n \t, \ooo for others). */
size_t ctl_log_escape(const uint8_t *p, size_t n, char *buf, size_t len);
/* The verdict CSV (DESIGN.md): header line, and one row per flow
 * "client,client_port,server,server_port,verdict,reasons". */
#define CTL_LOG_VERDICT_HEADER "client,client_port,server,server_port,verdict,reasons\n"
int ctl_log_verdict_row(FILE *f, const struct scr_flow_key *key,
			enum scr_verdict v, scr_reasons reasons);
/* Added by ctrl: lines that could not be written. */
uint64_t ctl_log_write_errors(const struct ctl_log *log);

#endif
