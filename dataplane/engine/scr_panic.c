/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_panic - the engine's impossible-state exit: say why, then abort
 * DESCRIPTION
 *	See scr_panic.h. The engine does not log; this is the one exception,
 *	and it only runs on the way to abort().
 * CONTRACT
 *	See scr_panic.h.
 * THREADING
 *	Any thread; the sink pointer is atomic, the recursion guard is per
 *	thread.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scr_panic.h"

static void (*_Atomic scr_panic_sink)(const char *text) = scr_panic_stderr;
static _Thread_local int scr_panic_depth;

/* scr_panic_stderr - "panic: text\n" to stderr, one write */
void scr_panic_stderr(const char *text)
{
	char buf[SCR_PANIC_LINE + 16];
	int n = snprintf(buf, sizeof(buf), "panic: %s\n", text);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n
							  : sizeof(buf) - 1;
	const char *p = buf;

	if (len > 0 && buf[len - 1] != '\n')
		buf[len - 1] = '\n';	/* truncated: still one line */
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, p, len);

		if (w <= 0)
			return;		/* nowhere left to say it */
		p += w;
		len -= (size_t)w;
	}
}

/* scr_panic_set_sink - where the reason goes; NULL = stderr */
void scr_panic_set_sink(void (*sink)(const char *text))
{
	atomic_store(&scr_panic_sink, sink != NULL ? sink : scr_panic_stderr);
}

/* scr_panic_at - report "file:line: reason" and abort */
void scr_panic_at(const char *file, int line, const char *fmt, ...)
{
	char text[SCR_PANIC_LINE];
	const char *base = strrchr(file, '/');
	va_list ap;
	int n;

	n = snprintf(text, sizeof(text), "%s:%d: ", base ? base + 1 : file,
		     line);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	if (scr_panic_depth++ == 0)
		atomic_load(&scr_panic_sink)(text);
	else
		scr_panic_stderr(text);	/* the sink itself panicked */
	abort();
}
