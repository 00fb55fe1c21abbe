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
 *	Control socket (-s SOCKET, default CTL_SOCK_PATH, mode 0600; taken
 *	before the programs are loaded, so a second daemon on it stops
 *	there): status, stats, block/allow add/del/list, sweep (ctl_cmd on
 *	the maps; an address's block or allow also goes into the cache and
 *	the store), cache list, cache flush, reload (as SIGHUP, all or
 *	nothing, the reason in the reply).
 *	Shared store (smtpscreen_shared_store, ctl_shared, when built with
 *	hiredis): a new client missing from the cache is looked up there
 *	(at most 2 ms) and in the LMDB store (the later times win); every
 *	verdict written locally is also put there; blocks other nodes
 *	publish go into the cache, the store and the XDP block map. A node
 *	that loses the shared store keeps working on its cache and store.
 * CONTRACT
 *	ctl_host_main(argc, argv): argv[0] = "host". Returns the exit status:
 *	  0 after a clean stop, 1 when the kernel, the interface, the store,
 *	  the control socket (another daemon answers on it) or a runtime
 *	  resource is unusable, 2 for usage or config errors (a bad
 *	  smtpscreen_shared_store url included).
 *	  Messages go to stderr (and to syslog once the daemon runs).
 * THREADING
 *	One thread; signal handlers only set C11 atomic flags.
 */
#ifndef CTL_HOST_H
#define CTL_HOST_H

int ctl_host_main(int argc, char **argv);

#endif
