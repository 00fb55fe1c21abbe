/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_cmd - the block/allow/stats/sweep commands on the XDP maps
 * DESCRIPTION
 *	See ctl_cmd.h. Moved out of smtpscreenctl.c: the words are parsed
 *	completely before any map is touched, and the texts (output lines,
 *	messages) are the ones smtpscreenctl printed before.
 * CONTRACT
 *	See ctl_cmd.h.
 * THREADING
 *	The thread that owns the maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cidr.h"
#include "ctl_cmd.h"
#include "ctl_msg.h"

const char *const ctl_cmd_op_name[CTL_CMD_OP_MAX] = {
	[CTL_CMD_ADD] = "add",
	[CTL_CMD_DEL] = "del",
	[CTL_CMD_LIST] = "list",
	[CTL_CMD_STATS] = "stats",
	[CTL_CMD_SWEEP] = "sweep",
};

/* ctl_cmd_parse_ttl - "3600", "90m", "1h", ...; 0 or -EINVAL/-ERANGE */
int ctl_cmd_parse_ttl(const char *s, uint32_t *ttl)
{
	unsigned long long v, mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default: return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v == 0 || v > SCR_XDP_TTL_MAX_S / mul)
		return -ERANGE;
	*ttl = (uint32_t)(v * mul);
	return 0;
}

/* parse_cidr - one CIDR word with Postfix's reason on error */
static int parse_cidr(const char *w, struct ctl_cmd_req *req, char *err,
		      size_t errlen)
{
	char why[256] = "";

	if (ctl_cidr_parse_prefix_msg(w, &req->net, &req->plen, why,
				      sizeof(why))) {
		snprintf(err, errlen, "bad CIDR \"%s\": %s", w, why);
		return -EINVAL;
	}
	return 0;
}

/* ctl_cmd_parse - the words of a map command, no map access */
int ctl_cmd_parse(int argc, char **argv, struct ctl_cmd_req *req, char *err,
		  size_t errlen)
{
	const char *what;
	int rc;

	memset(req, 0, sizeof(*req));
	if (argc < 1) {
		snprintf(err, errlen, "empty command");
		return -EBADRQC;
	}
	what = argv[0];
	if (strcmp(what, "stats") == 0 || strcmp(what, "sweep") == 0) {
		req->op = what[1] == 't' ? CTL_CMD_STATS : CTL_CMD_SWEEP;
		if (argc != 1) {
			snprintf(err, errlen, "usage: %s", what);
			return -EBADRQC;
		}
		return 0;
	}
	if (strcmp(what, "block") != 0 && strcmp(what, "allow") != 0) {
		snprintf(err, errlen, "\"%s\" is not an XDP map command (block, "
			 "allow, stats, sweep)", what);
		return -ENOTSUP;
	}
	req->kind = what[0] == 'b' ? SCR_XDP_KIND_BLOCK : SCR_XDP_KIND_ALLOW;
	if (argc >= 2 && strcmp(argv[1], "add") == 0 &&
	    (argc == 3 || argc == 4)) {
		req->op = CTL_CMD_ADD;
		rc = parse_cidr(argv[2], req, err, errlen);
		if (rc)
			return rc;
		if (argc == 4) {
			rc = ctl_cmd_parse_ttl(argv[3], &req->ttl_s);
			if (rc) {
				snprintf(err, errlen, "bad TTL \"%s\": %s (1s..366d, "
					 "units s m h d w)", argv[3],
					 rc == -ERANGE ? "out of range" :
					 "not a number with a unit");
				return -EINVAL;
			}
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "del") == 0) {
		req->op = CTL_CMD_DEL;
		return parse_cidr(argv[2], req, err, errlen);
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		req->op = CTL_CMD_LIST;
		return 0;
	}
	snprintf(err, errlen, "usage: %s add CIDR [TTL] | %s del CIDR | %s list",
		 what, what, what);
	return -EBADRQC;
}

/* fmt_prefix - "a.b.c.d/n" or "v6/n" */
static void fmt_prefix(const struct scr_addr *a, unsigned plen, char *buf,
		       size_t len)
{
	char txt[INET6_ADDRSTRLEN];

	if (ctl_addr_is_v4(a) && plen >= 96) {
		inet_ntop(AF_INET, &a->b[12], txt, sizeof(txt));
		snprintf(buf, len, "%s/%u", txt, plen - 96);
	} else {
		inet_ntop(AF_INET6, a->b, txt, sizeof(txt));
		snprintf(buf, len, "%s/%u", txt, plen);
	}
}

struct list_arg {
	enum scr_xdp_kind kind;
	uint64_t now;
	FILE *out;
};

/* ctl_cmd_print_entry - one line of `block list` / `allow list` */
void ctl_cmd_print_entry(FILE *out, const struct scr_addr *net, unsigned plen,
			 uint64_t expires_ns, uint64_t now_ns)
{
	char buf[80];

	fmt_prefix(net, plen, buf, sizeof(buf));
	if (expires_ns == 0)
		fprintf(out, "%s\tpermanent\n", buf);
	else if (expires_ns <= now_ns)
		fprintf(out, "%s\texpired\n", buf);
	else
		fprintf(out, "%s\tttl=%llus\n", buf, (unsigned long long)
			((expires_ns - now_ns + 999999999ull) / 1000000000ull));
}

/* list_cb - print one entry of the wanted kind */
static int list_cb(void *arg, const struct ctl_dyn_entry *e)
{
	struct list_arg *la = arg;

	if (e->kind == la->kind)
		ctl_cmd_print_entry(la->out, &e->net, e->plen, e->val.expires_ns,
				    la->now);
	return 0;
}

/* ctl_cmd_maps - parse argv, run it on m, reply text to out */
int ctl_cmd_maps(struct ctl_maps *m, int argc, char **argv, FILE *out,
		 void (*changed)(void *arg, const struct ctl_cmd_change *c),
		 void *arg, char *err, size_t errlen)
{
	struct scr_xdp_ctr_val ctr[SCR_XDP_C_MAX];
	struct ctl_cmd_change ch;
	struct ctl_cmd_req req;
	size_t removed = 0;
	int rc, i;

	rc = ctl_cmd_parse(argc, argv, &req, err, errlen);
	if (rc == -EBADRQC)
		rc = -EINVAL;
	if (rc)
		goto out;
	if (m == NULL) {
		rc = -ENODEV;
		snprintf(err, errlen, "%s: no XDP maps (smtpscreen runs without "
			 "its XDP program)", argv[0]);
		goto out;
	}
	switch (req.op) {
	case CTL_CMD_ADD:
		rc = ctl_maps_dyn_add(m, req.kind, &req.net, req.plen,
				      req.ttl_s, 0);
		if (rc) {
			snprintf(err, errlen, "%s add %s: %s", argv[0], argv[2],
				 strerror(-rc));
			goto out;
		}
		break;
	case CTL_CMD_DEL:
		rc = ctl_maps_dyn_del(m, req.kind, &req.net, req.plen);
		if (rc) {
			snprintf(err, errlen, "%s del %s: %s", argv[0], argv[2],
				 rc == -ENOENT ? "no such entry" :
				 strerror(-rc));
			goto out;
		}
		break;
	case CTL_CMD_LIST: {
		struct list_arg la = { req.kind, ctl_maps_now_ns(), out };

		rc = ctl_maps_dyn_list(m, list_cb, &la);
		if (rc) {
			snprintf(err, errlen, "%s list: %s", argv[0],
				 strerror(-rc));
			goto out;
		}
		break;
	}
	case CTL_CMD_STATS:
		rc = ctl_maps_stats(m, ctr);
		if (rc) {
			snprintf(err, errlen, "read counters: %s", strerror(-rc));
			goto out;
		}
		for (i = 0; i < SCR_XDP_C_MAX; i++)
			fprintf(out, "xdp_%s_packets %llu\nxdp_%s_bytes %llu\n",
				ctl_maps_ctr_name[i],
				(unsigned long long)ctr[i].packets,
				ctl_maps_ctr_name[i],
				(unsigned long long)ctr[i].bytes);
		break;
	case CTL_CMD_SWEEP:
		rc = ctl_maps_sweep(m, &removed);
		if (rc) {
			snprintf(err, errlen, "sweep: %s", strerror(-rc));
			goto out;
		}
		fprintf(out, "%zu expired entries removed\n", removed);
		break;
	default:
		ctl_msg_panic("ctl_cmd_maps: command op %d out of range",
			      (int)req.op);
	}
	if (changed && (req.op == CTL_CMD_ADD || req.op == CTL_CMD_DEL)) {
		memset(&ch, 0, sizeof(ch));
		ch.add = req.op == CTL_CMD_ADD;
		ch.kind = req.kind;
		ch.net = req.net;
		ch.plen = req.plen;
		ch.ttl_s = req.ttl_s;
		changed(arg, &ch);
	}
	rc = 0;
out:
	return rc;
}
