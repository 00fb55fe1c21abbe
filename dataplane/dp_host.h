/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	dp_host - `smtpscreen host`: screening in front of a local MTA
 * DESCRIPTION
 *	Host mode's front end: the XDP and TC programs (ctl_hostbpf) copy the
 *	packets of undecided SMTP flows to a ring buffer; a packet thread
 *	runs the engine on them, holds each new flow's greeting for
 *	postscreen_greet_wait (dp_hold; re-sent through ctl_resend), holds
 *	the server's 354 until the session is judged, and ends stopped
 *	sessions (socket destroy, flow map STOP). Everything else is the
 *	live control plane (ctl_live) on the main thread: verdict policy,
 *	LMDB and shared stores, DNSBL, XDP block/allow entries, reload,
 *	control socket, metrics, logs. The two threads talk through two
 *	dp_rings (events one way, control messages the other) and eventfds.
 *	Start-up order (no verdict is lost over a restart): config; control
 *	plane (socket first: a second daemon stops there; the LMDB store
 *	into the cache); the programs loaded and pinned; the maps filled
 *	(permanent list, stored blocks and passes); only then attached.
 *	SIGHUP reloads, SIGUSR1 reopens the log file, SIGTERM/SIGINT stop
 *	(detach and unpin unless --keep).
 * CONTRACT
 *	dp_host_main(argc, argv): argv[0] = "host". Exit status 0 after a
 *	  clean stop, 1 when the kernel, the interface, the store, the
 *	  control socket or a runtime resource is unusable, 2 for usage or
 *	  configuration errors.
 * THREADING
 *	Main thread: control plane. One packet thread. Signal handlers only
 *	set C11 atomics; the packet thread blocks every signal.
 */
#ifndef DP_HOST_H
#define DP_HOST_H

int dp_host_main(int argc, char **argv);

#endif
