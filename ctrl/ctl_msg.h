/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_msg - diagnostics with a severity, for every binary
 * DESCRIPTION
 *	What the program says about itself (not about clients: that is
 *	ctl_log's postscreen lines). Five severities, as Postfix's msg(3):
 *	info (no prefix), warning (go on), error (go on; something was lost),
 *	fatal (startup only: exit 1), panic (impossible state: say why, then
 *	abort). ctl_msg_debug() is info that only -v shows (ctl_msg_verbose).
 *	Each line goes, at once and whole, to the sinks that are on:
 *	- stderr (on by default): "<tag>: <prefix><text>\n", tag from
 *	  ctl_msg_init() ("smtpscreen host"), one write(2) per line;
 *	- syslog (after ctl_msg_syslog()): "<prefix><text>" at the
 *	  severity's priority: info LOG_INFO, warning LOG_WARNING, error
 *	  LOG_ERR, fatal and panic LOG_CRIT;
 *	- one ctl_log (ctl_msg_set_log(): the daemon's log file), through
 *	  ctl_log_sev(): that log's time/host prefix, then the same text.
 *	A panic always goes to stderr too, whatever ctl_msg_stderr() says.
 *	Prefixes: "", "warning: ", "error: ", "fatal: ", "panic: ".
 *	ctl_msg_init() also installs the engine's panic sink
 *	(scr_panic_set_sink()), so a scr_panic() in the engine or a front end
 *	reaches the same sinks as ctl_msg_panic().
 * CONTRACT
 *	ctl_msg_init(tag): the stderr tag (copied, at most 63 bytes); before
 *	  it, the program's name. Installs the scr_panic sink. Idempotent.
 *	ctl_msg_syslog(ident, facility): openlog(ident, LOG_PID | LOG_NDELAY,
 *	  facility) (ident copied) and syslog on; ident NULL: syslog off
 *	  (closelog). ctl_log's syslog output shares the process's one
 *	  openlog: daemons pass "postfix/smtpscreen", LOG_MAIL, as ctl_log
 *	  does, so both kinds of line carry one ident.
 *	ctl_msg_stderr(on): stderr sink on/off (default on).
 *	ctl_msg_set_log(log): also write to log (NULL: none). Not owned: set
 *	  it to NULL before ctl_log_destroy(log). Give it a file log, not a
 *	  syslog one when ctl_msg_syslog() is on (the line would be doubled).
 *	ctl_msg_info/warn/error(fmt, ...): write the line, return.
 *	ctl_msg_debug(fmt, ...): ctl_msg_info() when ctl_msg_verbose > 0,
 *	  else nothing (the arguments are not formatted).
 *	ctl_msg_fatal(fmt, ...): write the line, exit(1). Startup only:
 *	  library code returns -errno instead.
 *	ctl_msg_panic(fmt, ...): write the line (stderr always), abort().
 *	ctl_msg_vmsg(sev, fmt, ap): any severity; exits/aborts for fatal and
 *	  panic. A severity out of range panics.
 *	ctl_msg_prefix(sev), ctl_msg_priority(sev): the text prefix and the
 *	  syslog priority of a severity (ctl_log uses them); out of range
 *	  panics.
 *	ctl_msg_syslog_write(priority, text): syslog(3) "%s", or the hook.
 *	ctl_msg_syslog_hook(hook): tests: hook(priority, text) replaces
 *	  syslog(3) for ctl_msg's and ctl_log's lines; NULL restores.
 *	Lines longer than CTL_MSG_LINE bytes are truncated.
 * THREADING
 *	Any thread: a mutex makes each line one unit on every sink. A
 *	message raised while a line is being written by the same thread (a
 *	sink panics) goes to stderr only. ctl_msg_verbose is set at startup,
 *	before threads start, and only read afterwards. ctl_msg_fatal() from
 *	a thread other than main still exits the process.
 */
#ifndef CTL_MSG_H
#define CTL_MSG_H

#include <stdarg.h>
#include <stdbool.h>

#define CTL_MSG_LINE	2048

enum ctl_msg_sev {
	CTL_MSG_INFO = 0,
	CTL_MSG_WARN,
	CTL_MSG_ERROR,
	CTL_MSG_FATAL,
	CTL_MSG_PANIC,
	CTL_MSG_SEV_MAX
};

struct ctl_log;

/* -v count: verbose lines (ctl_msg_debug) when > 0. */
extern int ctl_msg_verbose;

void ctl_msg_init(const char *tag);
void ctl_msg_syslog(const char *ident, int facility);
void ctl_msg_stderr(bool on);
void ctl_msg_set_log(struct ctl_log *log);

void ctl_msg_info(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void ctl_msg_debug(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void ctl_msg_warn(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void ctl_msg_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void ctl_msg_fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void ctl_msg_panic(const char *fmt, ...)
	__attribute__((noreturn, cold, format(printf, 1, 2)));
void ctl_msg_vmsg(enum ctl_msg_sev sev, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

const char *ctl_msg_prefix(enum ctl_msg_sev sev);
int ctl_msg_priority(enum ctl_msg_sev sev);
void ctl_msg_syslog_write(int priority, const char *text);
void ctl_msg_syslog_hook(void (*hook)(int priority, const char *text));

#endif
