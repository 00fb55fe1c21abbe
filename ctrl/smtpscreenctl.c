/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreenctl - operate a running smtpscreen: block/allow lists, stats
 * DESCRIPTION
 *	For now works directly on the maps pinned under SCR_XDP_PIN_DIR by
 *	`smtpscreen xdp attach` (the control socket, -s, comes later and is
 *	accepted but not used yet):
 *	  block add CIDR [TTL] | block del CIDR | block list
 *	  allow add CIDR [TTL] | allow del CIDR | allow list
 *	  stats | sweep
 *	CIDR: a.b.c.d[/n] or IPv6[/n] (also [v6]/n), host bits must be zero.
 *	TTL: a number with an optional unit s, m, h, d, w (Postfix time
 *	syntax; default seconds), 1s .. 366d; no TTL = until deleted.
 * CONTRACT
 *	Exit status 0 ok, 1 failure (message on stderr), 2 usage.
 * THREADING
 *	Single-threaded command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cidr.h"
#include "ctl_maps.h"

/* usage - the synopsis */
static int usage(void)
{
	fprintf(stderr,
		"usage: smtpscreenctl [-s SOCKET] [-p PINDIR] COMMAND\n"
		"  block add CIDR [TTL] | block del CIDR | block list\n"
		"  allow add CIDR [TTL] | allow del CIDR | allow list\n"
		"  stats | sweep\n"
		"TTL: NUMBER[s|m|h|d|w], at most 366d; none = until deleted\n");
	return 2;
}

/* parse_ttl - "3600", "90m", "1h", ...; 0 or -EINVAL/-ERANGE */
static int parse_ttl(const char *s, uint32_t *ttl)
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
	size_t n;
};

/* list_cb - print one entry of the wanted kind */
static int list_cb(void *arg, const struct ctl_dyn_entry *e)
{
	struct list_arg *la = arg;
	char buf[80];

	if (e->kind != la->kind)
		return 0;
	fmt_prefix(&e->net, e->plen, buf, sizeof(buf));
	if (e->val.expires_ns == 0)
		printf("%s\tpermanent\n", buf);
	else if (e->val.expires_ns <= la->now)
		printf("%s\texpired\n", buf);
	else
		printf("%s\tttl=%llus\n", buf, (unsigned long long)
		       ((e->val.expires_ns - la->now + 999999999ull) /
			1000000000ull));
	la->n++;
	return 0;
}

/* main - smtpscreenctl */
int main(int argc, char **argv)
{
	const char *pindir = SCR_XDP_PIN_DIR, *what, *verb;
	struct scr_xdp_ctr_val ctr[SCR_XDP_C_MAX];
	struct ctl_maps *m = NULL;
	enum scr_xdp_kind kind;
	struct scr_addr net;
	char err[512] = "", why[256] = "";
	unsigned plen;
	uint32_t ttl = 0;
	int c, rc, status = 1, i;

	while ((c = getopt(argc, argv, "s:p:h")) != -1) {
		switch (c) {
		case 's':
			break;	/* control socket: not yet; maps are used */
		case 'p':
			pindir = optarg;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	what = argv[0];
	if (strcmp(what, "block") == 0 || strcmp(what, "allow") == 0) {
		kind = what[0] == 'b' ? SCR_XDP_KIND_BLOCK : SCR_XDP_KIND_ALLOW;
		if (argc < 2)
			return usage();
		verb = argv[1];
		if (strcmp(verb, "add") == 0 && (argc == 3 || argc == 4)) {
			if (ctl_cidr_parse_prefix_msg(argv[2], &net, &plen, why,
						      sizeof(why))) {
				fprintf(stderr, "smtpscreenctl: bad CIDR \"%s\": "
					"%s\n", argv[2], why);
				return 1;
			}
			if (argc == 4) {
				rc = parse_ttl(argv[3], &ttl);
				if (rc) {
					fprintf(stderr, "smtpscreenctl: bad TTL "
						"\"%s\": %s (1s..366d, units "
						"s m h d w)\n", argv[3],
						rc == -ERANGE ? "out of range" :
						"not a number with a unit");
					return 1;
				}
			}
		} else if (strcmp(verb, "del") == 0 && argc == 3) {
			if (ctl_cidr_parse_prefix_msg(argv[2], &net, &plen, why,
						      sizeof(why))) {
				fprintf(stderr, "smtpscreenctl: bad CIDR \"%s\": "
					"%s\n", argv[2], why);
				return 1;
			}
		} else if (strcmp(verb, "list") != 0 || argc != 2) {
			return usage();
		}
		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		if (!m)
			goto out;
		if (strcmp(verb, "add") == 0) {
			rc = ctl_maps_dyn_add(m, kind, &net, plen, ttl, 0);
			if (rc) {
				snprintf(err, sizeof(err), "%s add %s: %s", what,
					 argv[2], strerror(-rc));
				goto out;
			}
		} else if (strcmp(verb, "del") == 0) {
			rc = ctl_maps_dyn_del(m, kind, &net, plen);
			if (rc) {
				snprintf(err, sizeof(err), "%s del %s: %s", what,
					 argv[2], rc == -ENOENT ? "no such entry"
					 : strerror(-rc));
				goto out;
			}
		} else {
			struct list_arg la = { kind, ctl_maps_now_ns(), 0 };

			rc = ctl_maps_dyn_list(m, list_cb, &la);
			if (rc) {
				snprintf(err, sizeof(err), "%s list: %s", what,
					 strerror(-rc));
				goto out;
			}
		}
		status = 0;
	} else if (strcmp(what, "stats") == 0 && argc == 1) {
		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		if (!m)
			goto out;
		rc = ctl_maps_stats(m, ctr);
		if (rc) {
			snprintf(err, sizeof(err), "read counters: %s",
				 strerror(-rc));
			goto out;
		}
		for (i = 0; i < SCR_XDP_C_MAX; i++)
			printf("xdp_%s_packets %llu\nxdp_%s_bytes %llu\n",
			       ctl_maps_ctr_name[i],
			       (unsigned long long)ctr[i].packets,
			       ctl_maps_ctr_name[i],
			       (unsigned long long)ctr[i].bytes);
		status = 0;
	} else if (strcmp(what, "sweep") == 0 && argc == 1) {
		size_t removed = 0;

		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		if (!m)
			goto out;
		rc = ctl_maps_sweep(m, &removed);
		if (rc) {
			snprintf(err, sizeof(err), "sweep: %s", strerror(-rc));
			goto out;
		}
		printf("%zu expired entries removed\n", removed);
		status = 0;
	} else {
		return usage();
	}
out:
	if (status)
		fprintf(stderr, "smtpscreenctl: %s\n", err);
	ctl_maps_destroy(m);
	return status;
}
