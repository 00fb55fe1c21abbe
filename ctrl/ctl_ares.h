/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_ares - c-ares's sockets as pollfds (DNSBL and envelope lookups)
 * CONTRACT
 *	ctl_ares_fds(ch, fds, max): the channel's sockets that c-ares waits
 *	  on, at most max of them, with POLLIN/POLLOUT as it asks and revents
 *	  cleared; returns their count.
 * THREADING
 *	The channel's owner thread.
 */
#ifndef CTL_ARES_H
#define CTL_ARES_H

#include <poll.h>

#include <ares.h>

static inline int ctl_ares_fds(ares_channel ch, struct pollfd *fds, int max)
{
	ares_socket_t s[ARES_GETSOCK_MAXNUM];
	int bits = ares_getsock(ch, s, ARES_GETSOCK_MAXNUM), i, n = 0;

	for (i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;

		/* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the
		 * sign bit for the last socket: test the bits unsigned */
		if (((unsigned)bits >> i) & 1u)
			ev |= POLLIN;
		if (((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
			ev |= POLLOUT;
		if (ev == 0)
			continue;
		fds[n].fd = s[i];
		fds[n].events = ev;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

#endif
