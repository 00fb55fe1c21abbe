/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_dl - a shared library loaded when it is first needed
 * DESCRIPTION
 *	libpcap and libmicrohttpd bring 19 of the 32 shared objects smtpscreen
 *	would otherwise map at every start (libpcap: D-Bus, systemd,
 *	gcrypt, the compressors; libmicrohttpd: GnuTLS and eight more). Only
 *	pcapng, other link types and standard input need libpcap, and only
 *	smtpscreen_metrics_listen needs libmicrohttpd, so both are opened
 *	with dlopen() by the code that uses them, once, and every command
 *	(replay of a classic pcap, check, config, xdp) starts without them.
 *	The caller declares its function pointers with the library's own
 *	prototypes and names (CTL_DL_FN), so the compiler still checks every
 *	call, and lists them with CTL_DL_SYM, which takes the symbol's name
 *	from the field's: the two cannot differ.
 * CONTRACT
 *	struct ctl_dl: what (a name for messages), sonames (tried in order,
 *	  NULL-terminated), syms (name and where its address goes), nsyms;
 *	  the rest zero (CTL_DL_INIT).
 *	CTL_DL_FN(fn): a field named fn, a pointer of fn's type.
 *	CTL_DL_SYM(s, fn): the entry of syms for the field fn of struct s.
 *	ctl_dl_load(d, err, errlen): 0 once every symbol is resolved (the
 *	  library stays loaded), or -1 with "LIB: why" in err (no soname
 *	  could be opened: dlerror() of the first; a symbol missing: its
 *	  name). The outcome of the first call is kept: later calls return
 *	  it without trying again.
 * THREADING
 *	Any thread; calls on one d are serialized by its mutex.
 */
#ifndef CTL_DL_H
#define CTL_DL_H

#include <pthread.h>
#include <stddef.h>

struct ctl_dl_sym {
	const char *name;
	void **addr;		/* (void **)&fn: POSIX dlsym's convention */
};

struct ctl_dl {
	const char *what;
	const char *const *sonames;
	const struct ctl_dl_sym *syms;
	size_t nsyms;
	pthread_mutex_t lock;
	int state;		/* 0 not tried, 1 loaded, -1 failed */
	char err[256];
};

#define CTL_DL_FN(fn)		__typeof__(fn) *fn
#define CTL_DL_SYM(s, fn)	{ #fn, (void **)&(s).fn }

#define CTL_DL_INIT(what_, sonames_, syms_) { \
	.what = (what_), .sonames = (sonames_), .syms = (syms_), \
	.nsyms = sizeof(syms_) / sizeof((syms_)[0]), \
	.lock = PTHREAD_MUTEX_INITIALIZER }

int ctl_dl_load(struct ctl_dl *d, char *err, size_t errlen);

#endif
