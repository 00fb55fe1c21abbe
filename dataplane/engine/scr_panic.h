/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_panic - the engine's impossible-state exit: say why, then abort
 * DESCRIPTION
 *	The engine and the front ends built on it never log, but a panic must
 *	still say what was impossible before the process dies. scr_panic()
 *	formats "<file>:<line>: <reason>" and hands that text to one sink
 *	function, then calls abort(). The default sink writes
 *	"panic: <file>:<line>: <reason>\n" to stderr with one write(2); a
 *	process with a logging layer installs its own (ctrl's ctl_msg_init()
 *	installs one that writes the text as a panic to syslog, stderr and the
 *	log file). Nothing here runs unless something is already broken: the
 *	hot path pays one predicted branch per check, no syscall.
 * CONTRACT
 *	scr_panic(fmt, ...): a macro; file and line are the caller's (file
 *	  without its directories). Never returns. fmt is printf's; the text
 *	  is truncated at SCR_PANIC_LINE bytes.
 *	scr_panic_set_sink(sink): sink(text) is called once per panic with
 *	  the text without the "panic: " prefix and without a newline; it
 *	  should write it and return (abort follows). NULL restores the
 *	  stderr sink. A panic raised while a panic is being reported (the
 *	  sink itself panics) goes to stderr only.
 *	scr_panic_stderr(text): the default sink, for sinks that add to it.
 * THREADING
 *	Any thread. The sink pointer is a C11 atomic: setting it races with
 *	nothing. Two threads panicking at once both report and abort.
 */
#ifndef SCR_PANIC_H
#define SCR_PANIC_H

#define SCR_PANIC_LINE	1024

#define scr_panic(...)	scr_panic_at(__FILE__, __LINE__, __VA_ARGS__)

void scr_panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, cold, format(printf, 3, 4)));
void scr_panic_set_sink(void (*sink)(const char *text));
void scr_panic_stderr(const char *text);

#endif
