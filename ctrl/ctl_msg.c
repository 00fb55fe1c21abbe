/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_msg - diagnostics with a severity, for every binary
 * DESCRIPTION
 *	See ctl_msg.h. One mutex orders the lines; each sink gets a line in
 *	one call (write(2) for stderr, syslog(3), ctl_log_sev()), so lines
 *	from two threads never interleave.
 * CONTRACT
 *	See ctl_msg.h.
 * THREADING
 *	Any thread (see ctl_msg.h).
 */
#include <errno.h>
#include <paths.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctl_log.h"
#include "ctl_msg.h"
#include "scr_panic.h"

int ctl_msg_verbose;

static const char *const ctl_msg_prefix_tab[CTL_MSG_SEV_MAX] = {
	[CTL_MSG_INFO] = "",
	[CTL_MSG_WARN] = "warning: ",
	[CTL_MSG_ERROR] = "error: ",
	[CTL_MSG_FATAL] = "fatal: ",
	[CTL_MSG_PANIC] = "panic: ",
};
static const int ctl_msg_prio_tab[CTL_MSG_SEV_MAX] = {
	[CTL_MSG_INFO] = LOG_INFO,
	[CTL_MSG_WARN] = LOG_WARNING,
	[CTL_MSG_ERROR] = LOG_ERR,
	[CTL_MSG_FATAL] = LOG_CRIT,
	[CTL_MSG_PANIC] = LOG_CRIT,
};

/* The sinks; guarded by ctl_msg_lock. */
static pthread_mutex_t ctl_msg_lock = PTHREAD_MUTEX_INITIALIZER;
static char ctl_msg_tag[64];
static char ctl_msg_ident[64];
static bool ctl_msg_to_stderr = true;
static bool ctl_msg_to_syslog;
static struct ctl_log *ctl_msg_log;

static void (*_Atomic ctl_msg_hook)(int priority, const char *text);
static _Thread_local int ctl_msg_depth;	/* > 0: this thread is writing */

/* ctl_msg_prefix - "warning: " etc. for a severity */
const char *ctl_msg_prefix(enum ctl_msg_sev sev)
{
	if ((unsigned)sev >= CTL_MSG_SEV_MAX)
		ctl_msg_panic("ctl_msg_prefix: severity %d out of range", (int)sev);
	return ctl_msg_prefix_tab[sev];
}

/* ctl_msg_priority - the syslog priority of a severity */
int ctl_msg_priority(enum ctl_msg_sev sev)
{
	if ((unsigned)sev >= CTL_MSG_SEV_MAX)
		ctl_msg_panic("ctl_msg_priority: severity %d out of range",
			      (int)sev);
	return ctl_msg_prio_tab[sev];
}

/* ctl_msg_syslog_hook - tests: see priorities instead of syslog(3) */
void ctl_msg_syslog_hook(void (*hook)(int priority, const char *text))
{
	atomic_store(&ctl_msg_hook, hook);
}

/* ctl_msg_syslog_up - is there a syslog socket to write to? Without one
 * (a container or namespace without /dev/log) syslog(3) tries socket()
 * and connect() again for every line and drops it: looked at once every
 * 10 s instead, so a host without syslog does not pay two system calls a
 * line for nothing. */
static bool ctl_msg_syslog_up(void)
{
	static atomic_llong next_check;
	static atomic_bool up;
	long long now = (long long)time(NULL);

	if (now >= atomic_load_explicit(&next_check, memory_order_relaxed)) {
		atomic_store_explicit(&up, access(_PATH_LOG, W_OK) == 0,
				      memory_order_relaxed);
		atomic_store_explicit(&next_check, now + 10, memory_order_relaxed);
	}
	return atomic_load_explicit(&up, memory_order_relaxed);
}

/* ctl_msg_syslog_write - one syslog line (or the test hook) */
void ctl_msg_syslog_write(int priority, const char *text)
{
	void (*hook)(int, const char *) = atomic_load(&ctl_msg_hook);

	if (hook != NULL)
		hook(priority, text);
	else if (ctl_msg_syslog_up())
		syslog(priority, "%s", text);
}

/* ctl_msg_write_stderr - "tag: prefix text\n" with one write */
static void ctl_msg_write_stderr(const char *pfx, const char *text)
{
	char buf[CTL_MSG_LINE + 128];
	const char *tag = ctl_msg_tag[0] ? ctl_msg_tag
					 : program_invocation_short_name;
	int n = snprintf(buf, sizeof(buf), "%s: %s%s\n", tag, pfx, text);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n
							  : sizeof(buf) - 1;
	const char *p = buf;

	if (len > 0 && buf[len - 1] != '\n')
		buf[len - 1] = '\n';	/* truncated: still one line */
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* stderr is gone: nothing to tell */
		p += w;
		len -= (size_t)w;
	}
}

/* ctl_msg_emit - one line to every sink that is on */
static void ctl_msg_emit(enum ctl_msg_sev sev, const char *text)
{
	const char *pfx = ctl_msg_prefix(sev);

	if (ctl_msg_depth++ > 0) {
		/* a sink failed while writing a line: stderr only, no lock */
		ctl_msg_write_stderr(pfx, text);
		ctl_msg_depth--;
		return;
	}
	pthread_mutex_lock(&ctl_msg_lock);
	if (ctl_msg_to_stderr || sev == CTL_MSG_PANIC)
		ctl_msg_write_stderr(pfx, text);
	if (ctl_msg_to_syslog) {
		char line[CTL_MSG_LINE + 16];

		snprintf(line, sizeof(line), "%s%s", pfx, text);
		ctl_msg_syslog_write(ctl_msg_priority(sev), line);
	}
	if (ctl_msg_log != NULL)
		ctl_log_sev(ctl_msg_log, sev, "%s", text);
	pthread_mutex_unlock(&ctl_msg_lock);
	ctl_msg_depth--;
}

/* ctl_msg_scr_sink - the engine's scr_panic() text, as a panic line */
static void ctl_msg_scr_sink(const char *text)
{
	ctl_msg_emit(CTL_MSG_PANIC, text);
}

/* ctl_msg_init - the stderr tag; route scr_panic() here */
void ctl_msg_init(const char *tag)
{
	pthread_mutex_lock(&ctl_msg_lock);
	snprintf(ctl_msg_tag, sizeof(ctl_msg_tag), "%s", tag ? tag : "");
	pthread_mutex_unlock(&ctl_msg_lock);
	scr_panic_set_sink(ctl_msg_scr_sink);
}

/* ctl_msg_syslog - syslog on (ident, facility) or off (ident NULL) */
void ctl_msg_syslog(const char *ident, int facility)
{
	pthread_mutex_lock(&ctl_msg_lock);
	if (ident != NULL) {
		/* openlog keeps the pointer: give it our copy */
		snprintf(ctl_msg_ident, sizeof(ctl_msg_ident), "%s", ident);
		openlog(ctl_msg_ident, LOG_PID | LOG_NDELAY, facility);
		ctl_msg_to_syslog = true;
	} else if (ctl_msg_to_syslog) {
		closelog();
		ctl_msg_to_syslog = false;
	}
	pthread_mutex_unlock(&ctl_msg_lock);
}

/* ctl_msg_stderr - stderr sink on or off (panics always write it) */
void ctl_msg_stderr(bool on)
{
	pthread_mutex_lock(&ctl_msg_lock);
	ctl_msg_to_stderr = on;
	pthread_mutex_unlock(&ctl_msg_lock);
}

/* ctl_msg_set_log - also write lines to this ctl_log; NULL: none */
void ctl_msg_set_log(struct ctl_log *log)
{
	pthread_mutex_lock(&ctl_msg_lock);
	ctl_msg_log = log;
	pthread_mutex_unlock(&ctl_msg_lock);
}

/* ctl_msg_vmsg - format, write; exit for fatal, abort for panic */
void ctl_msg_vmsg(enum ctl_msg_sev sev, const char *fmt, va_list ap)
{
	char text[CTL_MSG_LINE];

	if ((unsigned)sev >= CTL_MSG_SEV_MAX)
		ctl_msg_panic("ctl_msg_vmsg: severity %d out of range", (int)sev);
	vsnprintf(text, sizeof(text), fmt, ap);
	ctl_msg_emit(sev, text);
	if (sev == CTL_MSG_FATAL)
		exit(1);
	if (sev == CTL_MSG_PANIC)
		abort();
}

/* ctl_msg_info - an informational line */
void ctl_msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_INFO, fmt, ap);
	va_end(ap);
}

/* ctl_msg_debug - an informational line that only -v shows */
void ctl_msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (ctl_msg_verbose <= 0)
		return;
	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_INFO, fmt, ap);
	va_end(ap);
}

/* ctl_msg_warn - something is wrong; go on */
void ctl_msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_WARN, fmt, ap);
	va_end(ap);
}

/* ctl_msg_error - something failed; go on */
void ctl_msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_ERROR, fmt, ap);
	va_end(ap);
}

/* ctl_msg_fatal - cannot start: say why, exit 1 */
void ctl_msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_FATAL, fmt, ap);
	va_end(ap);
	exit(1);	/* not reached */
}

/* ctl_msg_panic - impossible state: say why, abort */
void ctl_msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_msg_vmsg(CTL_MSG_PANIC, fmt, ap);
	va_end(ap);
	abort();	/* not reached */
}
