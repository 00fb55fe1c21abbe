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
 *	syslog(3).
 * CONTRACT
 *	ctl_log_create(conf, out, fmt): out NULL = syslog. NULL + errno.
 *	ctl_log_event(log, ev): never fails; write errors are counted.
 *	ctl_log_format(log, ev, buf, len): the text after "tag[pid]: ",
 *	  for tests; returns the length, 0 if the event logs nothing.
 * THREADING
 *	Control thread (replay: the thread that owns the engine).
 */
#ifndef CTL_LOG_H
#define CTL_LOG_H

#include <stdio.h>

#include "ctl_conf.h"
#include "scr_types.h"

enum ctl_log_fmt { CTL_LOG_POSTFIX = 0, CTL_LOG_JSON };

struct ctl_log;

struct ctl_log *ctl_log_create(const struct ctl_conf *conf, FILE *out,
			       enum ctl_log_fmt fmt);
void ctl_log_destroy(struct ctl_log *log);
void ctl_log_event(struct ctl_log *log, const struct scr_event *ev);
size_t ctl_log_format(struct ctl_log *log, const struct scr_event *ev,
		      char *buf, size_t len);
/* Free-form info/warning line with the same prefix. */
void ctl_log_msg(struct ctl_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* C-escape up to max input bytes of p[0..n) into buf (NUL-terminated),
 * as Postfix's escape() does (\r \n \t, \ooo for others). */
size_t ctl_log_escape(const uint8_t *p, size_t n, char *buf, size_t len);
/* The verdict CSV (DESIGN.md): header line, and one row per flow
 * "client,client_port,server,server_port,verdict,reasons". */
#define CTL_LOG_VERDICT_HEADER "client,client_port,server,server_port,verdict,reasons\n"
int ctl_log_verdict_row(FILE *f, const struct scr_flow_key *key,
			enum scr_verdict v, uint8_t reasons);
/* Added by ctrl: lines that could not be written. */
uint64_t ctl_log_write_errors(const struct ctl_log *log);

#endif
