/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_kill - end a local TCP session: sock_diag SOCK_DESTROY by 4-tuple
 * DESCRIPTION
 *	Asks the kernel (NETLINK_SOCK_DIAG, SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY)
 *	to abort the local socket of one TCP connection: the local process
 *	(smtpd) gets ECONNABORTED and the kernel sends the peer a RST.
 *	The socket is looked up as AF_INET, then as AF_INET6 with v4-mapped
 *	addresses (a dual-stack listener's accepted socket). ctl_kill_probe()
 *	checks once that the kernel supports it by destroying a loopback
 *	connection of its own. Does not touch BPF maps.
 * CONTRACT
 *	ctl_kill_open(err, errlen): NULL + errno and a message.
 *	ctl_kill_probe(k, err, errlen): 0 when SOCK_DESTROY works here;
 *	  -EOPNOTSUPP (kernel without CONFIG_INET_DIAG_DESTROY), -EPERM (no
 *	  CAP_NET_ADMIN) or -errno, with the reason in err.
 *	ctl_kill_session(k, key): key oriented client -> server (the local
 *	  socket is server:port <-> client:port). 0, -ENOENT (no such socket:
 *	  already closed), -EOPNOTSUPP, -EPERM, -errno.
 * THREADING
 *	The host daemon's thread.
 */
#ifndef CTL_KILL_H
#define CTL_KILL_H

#include <stddef.h>

#include "scr_types.h"

struct ctl_kill;

struct ctl_kill *ctl_kill_open(char *err, size_t errlen);
void ctl_kill_close(struct ctl_kill *k);
int ctl_kill_probe(struct ctl_kill *k, char *err, size_t errlen);
int ctl_kill_session(struct ctl_kill *k, const struct scr_flow_key *key);

#endif
