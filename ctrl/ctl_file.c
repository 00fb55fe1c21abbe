/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_file - read a configuration file that may fight back
 * DESCRIPTION
 *	See ctl_file.h. stat() refuses what it can before open (opening a
 *	device can have effects of its own); open uses O_NONBLOCK so that a
 *	FIFO without a writer does not block, and fstat() on the open file is
 *	the check that counts (the name may have changed in between). Lines
 *	are read with read(2) into one buffer (the whole of a small file, a
 *	big one CTL_FILE_BUF at a time) and returned in place: a 10M-line
 *	table spent more in stdio's getline than in its parser.
 * THREADING
 *	Any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_file.h"

/* file_err - format a message into err (err may be NULL) */
static void file_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* file_kind - what a file that is not regular is, for messages */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "an unknown file type";
}

/* file_refuse - the message and code for a file that is not regular */
static int file_refuse(const char *path, mode_t m, char *err, size_t errlen)
{
	file_err(err, errlen, "%s: not a regular file (%s)", path, file_kind(m));
	return S_ISDIR(m) ? -EISDIR : -EINVAL;
}

/* file_limit - a size bound as text: "1 GiB", "16 MiB" or "N bytes" */
static const char *file_limit(uint64_t max, char *buf, size_t len)
{
	if (max >= (1ull << 30) && max % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(max >> 30));
	else if (max >= (1ull << 20) && max % (1ull << 20) == 0)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(max >> 20));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)max);
	return buf;
}

/* file_open - a regular file of at most max bytes, open for reading;
 * the descriptor (blocking), or -errno with the message in err */
static int file_open(const char *path, uint64_t max, uint64_t *size,
		     char *err, size_t errlen)
{
	struct stat st;
	char lim[32];
	int fd, fl, e;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return file_refuse(path, st.st_mode, err, errlen);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		file_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		file_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return file_refuse(path, st.st_mode, err, errlen);
	}
	if ((uint64_t)st.st_size > max) {
		file_err(err, errlen, "%s: file too large (%llu bytes; the limit "
			 "is %s)", path, (unsigned long long)st.st_size,
			 file_limit(max, lim, sizeof(lim)));
		e = EFBIG;
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		e = errno;
		file_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
		goto fail;
	}
	*size = (uint64_t)st.st_size;
	return fd;
fail:
	close(fd);
	return -e;
}

/* file_too_large - a file that grew past the bound while it was read */
static int file_too_large(const char *path, uint64_t max, char *err,
			  size_t errlen)
{
	char lim[32];

	file_limit(max, lim, sizeof(lim));
	file_err(err, errlen, "%s: file too large (more than %s read; the "
		 "limit is %s)", path, lim, lim);
	return -EFBIG;
}

/* ctl_file_init - open a regular file for reading line by line */
int ctl_file_init(struct ctl_file *cf, const char *path, uint64_t max,
		  char *err, size_t errlen)
{
	uint64_t size;
	int fd;

	memset(cf, 0, sizeof(*cf));
	cf->fd = -1;
	cf->path = path;
	cf->max = max;
	fd = file_open(path, max, &size, err, errlen);
	if (fd < 0)
		return fd;
	/* the whole of a small file at once, a big one CTL_FILE_BUF at a time */
	cf->cap = size + 1 < CTL_FILE_BUF ? (size_t)size + 1 : CTL_FILE_BUF;
	if (cf->cap < 4096)
		cf->cap = 4096;	/* /proc files say 0 bytes */
	cf->buf = malloc(cf->cap);
	if (cf->buf == NULL) {
		close(fd);
		file_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	cf->fd = fd;
	cf->size = size;
	return 0;
}

/* file_fill - more bytes after buf[end]: the unreturned ones moved to the
 * front, the buffer doubled when they fill it; 0 (eof set at the end) or
 * -errno with the message */
static int file_fill(struct ctl_file *cf, char *err, size_t errlen)
{
	ssize_t k;

	if (cf->start > 0) {
		memmove(cf->buf, cf->buf + cf->start, cf->end - cf->start);
		cf->end -= cf->start;
		cf->start = 0;
	}
	if (cf->end + 1 >= cf->cap) {	/* one line fills it: a longer buffer */
		char *p = realloc(cf->buf, cf->cap * 2);

		if (p == NULL) {
			file_err(err, errlen, "%s:%u: read error: %s", cf->path,
				 cf->line + 1, strerror(ENOMEM));
			return -ENOMEM;
		}
		cf->buf = p;
		cf->cap *= 2;
	}
	do
		k = read(cf->fd, cf->buf + cf->end, cf->cap - cf->end - 1);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		int e = errno;

		file_err(err, errlen, "%s:%u: read error: %s", cf->path,
			 cf->line + 1, strerror(e));
		return -e;
	}
	if (k == 0)
		cf->eof = true;
	cf->end += (size_t)k;
	cf->nread += (uint64_t)k;
	if (cf->nread > cf->max)
		return file_too_large(cf->path, cf->max, err, errlen);
	return 0;
}

/* ctl_file_line - the next line; its length, 0 at the end, or -errno */
ssize_t ctl_file_line(struct ctl_file *cf, char **line, char *err,
		      size_t errlen)
{
	size_t n, scanned = 0;
	char *nl;
	int rc;

	if (cf->held) {	/* the byte the last line's NUL covered */
		cf->buf[cf->start] = cf->held_byte;
		cf->held = false;
	}
	for (;;) {
		nl = memchr(cf->buf + cf->start + scanned, '\n',
			    cf->end - cf->start - scanned);
		if (nl != NULL) {
			n = (size_t)(nl - (cf->buf + cf->start)) + 1;
			break;
		}
		if (cf->eof) {
			n = cf->end - cf->start;	/* the last line has no newline */
			if (n == 0)
				return 0;
			break;
		}
		scanned = cf->end - cf->start;
		rc = file_fill(cf, err, errlen);
		if (rc < 0)
			return rc;
	}
	*line = cf->buf + cf->start;
	cf->start += n;
	if (cf->start < cf->end) {
		cf->held_byte = cf->buf[cf->start];
		cf->held = true;
	}
	cf->buf[cf->start] = 0;	/* buf[end] is in the buffer: see file_fill */
	cf->done += n;
	cf->line++;
	return (ssize_t)n;
}

/* ctl_file_fini - close */
void ctl_file_fini(struct ctl_file *cf)
{
	if (cf->buf != NULL)	/* open */
		close(cf->fd);
	free(cf->buf);
	cf->fd = -1;
	cf->buf = NULL;
	cf->cap = 0;
}

/* ctl_file_read - the whole file in one NUL-terminated buffer */
int ctl_file_read(const char *path, uint64_t max, char **text, size_t *len,
		  char *err, size_t errlen)
{
	char *buf = NULL, *p;
	size_t n = 0, cap;
	uint64_t size;
	ssize_t k;
	int fd, ret;

	*text = NULL;
	*len = 0;
	fd = file_open(path, max, &size, err, errlen);
	if (fd < 0)
		return fd;
	cap = (size_t)size + 4096;	/* the usual case reads in one go */
	for (;;) {
		if (n + 1 >= cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			p = realloc(buf, cap);
			if (p == NULL) {
				file_err(err, errlen, "%s: out of memory", path);
				ret = -ENOMEM;
				goto out;
			}
			buf = p;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			file_err(err, errlen, "%s: read error: %s", path,
				 strerror(-ret));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			ret = file_too_large(path, max, err, errlen);
			goto out;
		}
	}
	buf[n] = 0;
	*text = buf;
	*len = n;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
