/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_notify - tell systemd the daemon's state (sd_notify protocol)
 * DESCRIPTION
 *	Type=notify units: one datagram per state to the AF_UNIX socket named
 *	by $NOTIFY_SOCKET ("/path" or "@abstract"). Written here rather than
 *	linked from libsystemd: the protocol is one sendmsg() of text, the
 *	binaries (the DPDK appliance too) need no extra library, and without
 *	$NOTIFY_SOCKET (replay, tests, another init) it does nothing.
 * CONTRACT
 *	ctl_notify(text): "READY=1\nSTATUS=..." etc.; 0, or -errno (the
 *	  caller may ignore it: systemd then times the start out and says so).
 *	  Without $NOTIFY_SOCKET: 0, nothing sent.
 *	ctl_notify_reloading(): "RELOADING=1" with MONOTONIC_USEC (what
 *	  Type=notify-reload of systemd >= 253 asks; older ones ignore it).
 * THREADING
 *	Control thread (any thread: no state).
 */
#ifndef CTL_NOTIFY_H
#define CTL_NOTIFY_H

int ctl_notify(const char *text);
int ctl_notify_reloading(void);

#endif
