/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_notify - tell systemd the daemon's state (sd_notify protocol)
 * DESCRIPTION
 *	See ctl_notify.h. The socket path comes from the environment; an
 *	address that does not fit sockaddr_un is -EINVAL, not truncated.
 * THREADING
 *	Any thread.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_notify.h"

/* ctl_notify - one datagram to $NOTIFY_SOCKET */
int ctl_notify(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	socklen_t salen;
	ssize_t sent;
	int fd, rc = 0;

	if (path == NULL || path[0] == 0)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0;	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			    (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, text, strlen(text), MSG_NOSIGNAL,
		      (const struct sockaddr *)&sa, salen);
	if (sent < 0)
		rc = -errno;
	else if ((size_t)sent != strlen(text))
		rc = -EMSGSIZE;
	close(fd);
	return rc;
}

/* ctl_notify_reloading - RELOADING=1 and the monotonic time in µs */
int ctl_notify_reloading(void)
{
	struct timespec ts;
	char buf[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
		 (unsigned long long)ts.tv_nsec / 1000u);
	return ctl_notify(buf);
}
