/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_file - read a configuration file that may fight back
 * DESCRIPTION
 *	The one way ctrl opens the files an operator names (main.cf, cidr
 *	tables, mynetworks /file/name, regexp and signature tables): only a
 *	regular file is read (a directory, FIFO, socket or device is refused
 *	by name; a FIFO is opened without blocking, then refused), a file
 *	larger than the caller's bound is refused, and a read error is an
 *	error that names the file and the line, never an early end of file
 *	(a deny list that silently loads empty is a hole). It does not parse.
 * CONTRACT
 *	ctl_file_init(cf, path, max, err, errlen): opens path for reading
 *	  line by line; path is not copied and must outlive cf. 0, or -errno
 *	  with one of, in err:
 *	    "PATH: cannot open: <strerror>"
 *	    "PATH: not a regular file (a directory)" (FIFO, socket, device)
 *	    "PATH: file too large (N bytes; the limit is 1 GiB)"
 *	ctl_file_line(cf, &line, err, errlen): the next line, newline kept,
 *	  NUL-terminated in a buffer cf owns (valid until the next call; it
 *	  may be modified). Returns its length (> 0; it may hold NUL bytes),
 *	  0 at the end of the file, or -errno with "PATH:LINE: read error:
 *	  <strerror>" or the file-too-large message (a file that grows, or
 *	  that reports no size, as /proc files do, is bounded as it is read).
 *	  cf->line is the number of the line last returned.
 *	ctl_file_fini(cf): closes; idempotent after a zeroed cf.
 *	ctl_file_read(path, max, &text, &len, err, errlen): the whole file,
 *	  NUL-terminated, in a malloc'd buffer the caller frees; 0 or -errno
 *	  with the messages above ("PATH: read error: <strerror>").
 *	ctl_file_same(a, b): a and b (stat results) are one regular file:
 *	  what an output must never be of a file smtpscreen reads.
 * THREADING
 *	Any thread; a struct ctl_file belongs to one.
 */
#ifndef CTL_FILE_H
#define CTL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CTL_FILE_BUF	(1u << 20)	/* read(2) size of a big file */

struct ctl_file {
	int fd;
	const char *path;	/* for messages; not owned */
	uint64_t max;		/* size bound in bytes */
	uint64_t size;		/* the size at open (0 for /proc files) */
	uint64_t nread;		/* bytes read so far */
	uint64_t done;		/* bytes returned so far */
	unsigned line;		/* lines returned so far */
	char *buf;		/* bytes read; buf[start, end) not returned yet */
	size_t cap, start, end;
	bool eof;
	bool held;		/* buf[start] is NUL, the line before's end: */
	char held_byte;		/* the byte it covers */
};

int ctl_file_init(struct ctl_file *cf, const char *path, uint64_t max,
		  char *err, size_t errlen);
ssize_t ctl_file_line(struct ctl_file *cf, char **line, char *err,
		      size_t errlen);
void ctl_file_fini(struct ctl_file *cf);
int ctl_file_read(const char *path, uint64_t max, char **text, size_t *len,
		  char *err, size_t errlen);

static inline bool ctl_file_same(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && S_ISREG(b->st_mode) &&
	       a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

#endif
