/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_host - `smtpscreen host`: XDP-only screening in front of a local MTA
 * DESCRIPTION
 *	The host-mode daemon. Loads main.cf, the access list and the
 *	scanner patterns; opens the LMDB verdict store (ctl_store) and loads
 *	its live records into the in-memory cache (ctl_cache) and, before
 *	the programs are attached, into the BPF maps (blocks, passes as
 *	dynamic ALLOW entries, the permanent list); then attaches the XDP and
 *	TC programs (ctl_hostbpf) and runs the engine on the samples they
 *	send. Holds each new flow's greeting for postscreen_greet_wait
 *	(shorter under stress) and re-sends it (ctl_resend); logs in
 *	postscreen's format; writes verdicts to the maps, the cache and the
 *	store; ends stopped sessions (ctl_kill). SIGHUP reloads, SIGTERM and
 *	SIGINT stop (detach and unpin unless --keep).
 * CONTRACT
 *	ctl_host_main(argc, argv): argv[0] = "host". Returns the exit status:
 *	  0 after a clean stop, 1 when the kernel, the interface, the store
 *	  or a runtime resource is unusable, 2 for usage or config errors.
 *	  Messages go to stderr (and to syslog once the daemon runs).
 * THREADING
 *	One thread; signal handlers only set C11 atomic flags.
 */
#ifndef CTL_HOST_H
#define CTL_HOST_H

int ctl_host_main(int argc, char **argv);

#endif
