/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	clockstep - LD_PRELOAD library that steps the wall clock of one
 *	process, for tests of what a step of the system clock does
 * DESCRIPTION
 *	CLOCK_REALTIME (and its _COARSE variant), gettimeofday() and time()
 *	read the real clock plus an offset in seconds, taken from the file
 *	$CLOCKSTEP_FILE (one signed integer; no file or no number: 0). The
 *	file is read again at most every 100 ms of CLOCK_MONOTONIC, so a test
 *	steps the clock by writing the file. CLOCK_MONOTONIC and the others
 *	are left alone, as a step of the system clock leaves them.
 * THREADING
 *	Thread-safe: the offset is one atomic word.
 */
#include <dlfcn.h>	/* RTLD_NEXT: the build defines _GNU_SOURCE */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*gettime_fn)(clockid_t, struct timespec *);

static atomic_llong offset_s;
static atomic_llong next_read_ns;

/* real_gettime - the C library's clock_gettime */
static int real_gettime(clockid_t id, struct timespec *ts)
{
	static gettime_fn fn;

	if (fn == NULL)
		fn = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	return fn(id, ts);
}

/* offset - the offset in seconds, from the file every 100 ms */
static long long offset(void)
{
	struct timespec m;
	long long now, v = 0;
	const char *path = getenv("CLOCKSTEP_FILE");
	FILE *f;

	real_gettime(CLOCK_MONOTONIC, &m);
	now = (long long)m.tv_sec * 1000000000ll + m.tv_nsec;
	if (path == NULL || now < atomic_load(&next_read_ns))
		return atomic_load(&offset_s);
	atomic_store(&next_read_ns, now + 100000000ll);
	f = fopen(path, "re");
	if (f != NULL) {
		if (fscanf(f, "%lld", &v) != 1)
			v = 0;
		fclose(f);
	}
	atomic_store(&offset_s, v);
	return v;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = real_gettime(id, ts);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += (time_t)offset();
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (out != NULL)
		*out = ts.tv_sec;
	return ts.tv_sec;
}
