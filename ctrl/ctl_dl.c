/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_dl - a shared library loaded when it is first needed
 * DESCRIPTION
 *	See ctl_dl.h. RTLD_NOW: a missing symbol is found here, with its
 *	name, not at the first call. RTLD_LOCAL: nothing of the library
 *	leaks into the symbols other code resolves. A library that opened
 *	but lacks a symbol is closed again.
 * THREADING
 *	Any thread.
 */
#include <dlfcn.h>
#include <stdio.h>

#include "ctl_dl.h"

/* try - open the first soname that loads and resolve every symbol */
static void try(struct ctl_dl *d)
{
	void *h = NULL;
	size_t i;

	for (i = 0; d->sonames[i] != NULL && h == NULL; i++) {
		h = dlopen(d->sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (h == NULL && i == 0) {	/* the soname a user looks for */
			const char *e = dlerror();

			snprintf(d->err, sizeof(d->err), "%s: %s", d->what,
				 e != NULL ? e : d->sonames[i]);
		}
	}
	if (h == NULL) {
		d->state = -1;
		return;
	}
	for (i = 0; i < d->nsyms; i++) {
		void *a = dlsym(h, d->syms[i].name);

		if (a == NULL) {
			snprintf(d->err, sizeof(d->err), "%s: symbol %s not "
				 "found (the library is too old?)", d->what,
				 d->syms[i].name);
			for (size_t k = 0; k < i; k++)
				*d->syms[k].addr = NULL;
			dlclose(h);
			d->state = -1;
			return;
		}
		*d->syms[i].addr = a;
	}
	d->state = 1;
}

/* ctl_dl_load - d's library and symbols, loaded on the first call */
int ctl_dl_load(struct ctl_dl *d, char *err, size_t errlen)
{
	int st;

	pthread_mutex_lock(&d->lock);
	if (d->state == 0)
		try(d);
	st = d->state;
	pthread_mutex_unlock(&d->lock);
	if (st > 0)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", d->err);
	return -1;
}
