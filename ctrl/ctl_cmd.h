/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cmd - the block/allow/stats/sweep commands on the XDP maps
 * DESCRIPTION
 *	One implementation for smtpscreenctl (directly on the pins, no
 *	daemon) and for the daemons (through the control socket):
 *	  block add CIDR [TTL] | block del CIDR | block list
 *	  allow add CIDR [TTL] | allow del CIDR | allow list
 *	  stats | sweep
 *	CIDR: a.b.c.d[/n], IPv6[/n] or [IPv6]/n, host bits zero. TTL:
 *	NUMBER[s|m|h|d|w] (Postfix time units, default seconds), 1s..366d;
 *	none = until deleted. Output lines are those smtpscreenctl always
 *	printed ("198.18.0.0/24\tttl=3600s", "xdp_pass_packets 12", "3
 *	expired entries removed"). Does not own status, reload or the cache:
 *	the daemon does.
 * CONTRACT
 *	ctl_cmd_parse(argc, argv, &req, err, errlen): the words only, no map
 *	  access. 0; -ENOTSUP when argv[0] is not a map command; -EINVAL with
 *	  `bad CIDR "x": <Postfix's reason>` or `bad TTL "x": ...` in err;
 *	  -EBADRQC for wrong words (err: "usage: ...").
 *	ctl_cmd_maps(m, argc, argv, out, changed, arg, err, errlen): parses
 *	  first (so m may be NULL to check words: then -ENODEV after a good
 *	  parse, "no XDP maps"), runs the command on m, writes the reply
 *	  text to out. changed(arg, c), when not NULL, is called after each
 *	  successful add/del. 0; -ENOTSUP; -EINVAL (bad CIDR, bad TTL,
 *	  usage); -ENOENT for del of an absent entry ("block del x: no such
 *	  entry"); other -errno from the maps ("block add x: <strerror>",
 *	  "read counters: ...", "sweep: ...").
 * THREADING
 *	The thread that owns m (control thread; smtpscreenctl's main).
 */
#ifndef CTL_CMD_H
#define CTL_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_maps.h"
#include "scr_types.h"
#include "smtpscreen_abi.h"

/* What a successful add/del changed (for the daemons' workers). */
struct ctl_cmd_change {
	bool add;
	enum scr_xdp_kind kind;
	struct scr_addr net;	/* IPv4 as ::ffff:a.b.c.d */
	unsigned plen;		/* 0..128 (IPv4: 96..128) */
	uint32_t ttl_s;		/* 0 = until deleted */
};

enum ctl_cmd_op {
	CTL_CMD_ADD,
	CTL_CMD_DEL,
	CTL_CMD_LIST,
	CTL_CMD_STATS,
	CTL_CMD_SWEEP,
	CTL_CMD_OP_MAX
};

extern const char *const ctl_cmd_op_name[CTL_CMD_OP_MAX];

/* A parsed command; kind, net, plen, ttl_s as the op needs them. */
struct ctl_cmd_req {
	enum ctl_cmd_op op;
	enum scr_xdp_kind kind;
	struct scr_addr net;
	unsigned plen;
	uint32_t ttl_s;
};

int ctl_cmd_parse(int argc, char **argv, struct ctl_cmd_req *req, char *err,
		  size_t errlen);
int ctl_cmd_maps(struct ctl_maps *m, int argc, char **argv, FILE *out,
		 void (*changed)(void *arg, const struct ctl_cmd_change *c),
		 void *arg, char *err, size_t errlen);
/* One line of a list: "prefix\tpermanent|expired|ttl=Ns" (any one clock
 * for both times). */
void ctl_cmd_print_entry(FILE *out, const struct scr_addr *net, unsigned plen,
			 uint64_t expires_ns, uint64_t now_ns);
/* "3600", "90m", "1h", ...: 1s..366d; 0, -EINVAL or -ERANGE. */
int ctl_cmd_parse_ttl(const char *s, uint32_t *ttl);

#endif
