/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreenctl - operate a running smtpscreen: block/allow lists, stats
 * DESCRIPTION
 *	smtpscreenctl [-v] [-i INSTANCE | -s SOCKET] [-p PINDIR] COMMAND
 *	  status | reload | cache flush | cache list        (daemon only)
 *	  block add CIDR [TTL] | block del CIDR | block list
 *	  allow add CIDR [TTL] | allow del CIDR | allow list
 *	  stats | sweep
 *	The command goes to the daemon on the control socket (-s, default
 *	CTL_SOCK_PATH) when one answers there; its reply is printed. When
 *	none answers (no socket file, connection refused), the map commands
 *	run directly on the maps pinned under PINDIR (default
 *	SCR_XDP_PIN_DIR) by `smtpscreen xdp attach`, the daemon-only ones
 *	fail. -p without -s means "these pins": the map commands go straight
 *	to them, no socket is tried. Words are checked before anything is
 *	contacted (ctl_cmd_parse), so a bad CIDR or TTL gets the same message
 *	either way. CIDR and TTL syntax: ctl_cmd.h. -v (repeatable, before
 *	or after COMMAND) says on stderr which way the command went.
 *	-i NAME is a unit instance (smtpscreen-host@NAME, "inline" for the
 *	appliance's unit): socket CTL_SOCK_INSTANCE_FMT, pins
 *	SCR_XDP_PIN_DIR-NAME. Without -i, -s and -p, when nothing answers on
 *	CTL_SOCK_PATH and exactly one instance's socket exists, that instance
 *	is meant; several: an error naming them.
 * CONTRACT
 *	Exit status 0 ok, 1 failure (message on stderr), 2 usage.
 * THREADING
 *	Single-threaded command.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_cmd.h"
#include "ctl_maps.h"
#include "ctl_msg.h"
#include "ctl_sock.h"

/* usage - the synopsis to out; status */
static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: smtpscreenctl [-v] [-i INSTANCE | -s SOCKET] [-p PINDIR] COMMAND\n"
		"  block add CIDR [TTL] | block del CIDR | block list\n"
		"  allow add CIDR [TTL] | allow del CIDR | allow list\n"
		"  stats | sweep\n"
		"  status | reload | cache flush | cache list (daemon only)\n"
		"TTL: NUMBER[s|m|h|d|w], at most 366d; none = until deleted\n"
		"-i: the unit instance (the interface of smtpscreen-host@IFACE,\n"
		"    inline: smtpscreen-inline); its socket and pins\n"
		"-s: the daemon's control socket (default " CTL_SOCK_PATH ",\n"
		"    else the only instance's);\n"
		"-p: the XDP pins when no daemon runs (default " SCR_XDP_PIN_DIR ")\n"
		"-h, --help: this text; -V, --version: the version\n");
	return status;
}

/* daemon_only - status, reload, cache flush|list */
static bool daemon_only(int argc, char **argv)
{
	if (argc == 1)
		return strcmp(argv[0], "status") == 0 ||
		       strcmp(argv[0], "reload") == 0;
	return argc == 2 && strcmp(argv[0], "cache") == 0 &&
	       (strcmp(argv[1], "flush") == 0 || strcmp(argv[1], "list") == 0);
}

/* instance - socket and pins of unit instance name; 0 or -ENAMETOOLONG */
static int instance(const char *name, char *sock, size_t slen, char *pins,
		    size_t plen)
{
	int n = snprintf(sock, slen, CTL_SOCK_INSTANCE_FMT, name);
	int m = snprintf(pins, plen, "%s-%s", SCR_XDP_PIN_DIR, name);

	if (strchr(name, '/') != NULL || name[0] == 0 || name[0] == '.')
		return -EINVAL;
	return n < 0 || (size_t)n >= slen || m < 0 || (size_t)m >= plen ?
	       -ENAMETOOLONG : 0;
}

/* only_instance - the one instance's socket when CTL_SOCK_PATH is not
 * there; 0 (found, or none: sock unchanged), -EEXIST (several: named in
 * err) */
static int only_instance(char *sock, size_t slen, char *pins, size_t plen,
			 char *err, size_t errlen)
{
	glob_t g;
	size_t i, pre = strlen(CTL_SOCK_INSTANCE_DIR) + 1;
	int rc = 0;

	if (access(CTL_SOCK_PATH, F_OK) == 0 ||
	    glob(CTL_SOCK_INSTANCE_DIR "/*/" CTL_SOCK_INSTANCE_FILE, 0, NULL,
		 &g) != 0)
		return 0;
	if (g.gl_pathc == 1) {
		char name[256];

		snprintf(name, sizeof(name), "%.*s",
			 (int)(strlen(g.gl_pathv[0]) - pre -
			       strlen(CTL_SOCK_INSTANCE_FILE) - 1),
			 g.gl_pathv[0] + pre);
		rc = instance(name, sock, slen, pins, plen);
		ctl_msg_debug("the only instance: %s", name);
	} else {
		int n = snprintf(err, errlen, "%zu instances run; say which "
				 "with -i:", g.gl_pathc);

		for (i = 0; i < g.gl_pathc && n > 0 && (size_t)n < errlen; i++)
			n += snprintf(err + n, errlen - n, " %s", g.gl_pathv[i]);
		rc = -EEXIST;
	}
	globfree(&g);
	return rc;
}

/* main - smtpscreenctl */
int main(int argc, char **argv)
{
	const char *pindir = SCR_XDP_PIN_DIR, *sock = CTL_SOCK_PATH;
	bool sock_given = false, pin_given = false, only_daemon;
	struct ctl_maps *m = NULL;
	struct ctl_cmd_req req;
	char err[2048] = "", why[1024] = "";
	char isock[CTL_SOCK_PATH_MAX] = "", ipins[PATH_MAX] = "";
	int c, rc, status = 1;

	static const struct option lopts[] = {
		{ "instance", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	ctl_msg_init("smtpscreenctl");
	while ((c = getopt_long(argc, argv, "i:s:p:hvV", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return usage(stdout, 0);
		case 'V':
			printf("smtpscreenctl %s\n", SCR_VERSION);
			return 0;
		case 'v':
			ctl_msg_verbose++;
			break;
		case 'i':
			if (instance(optarg, isock, sizeof(isock), ipins,
				     sizeof(ipins)) != 0) {
				fprintf(stderr, "smtpscreenctl: -i \"%s\": bad "
					"instance name\n", optarg);
				return 2;
			}
			sock = isock;
			pindir = ipins;
			sock_given = true;
			break;
		case 's':
			sock = optarg;
			sock_given = true;
			break;
		case 'p':
			pindir = optarg;
			pin_given = true;
			break;
		default:
			return usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage(stderr, 2);
	if (!sock_given && !pin_given) {
		if (only_instance(isock, sizeof(isock), ipins, sizeof(ipins), err,
				  sizeof(err)) != 0)
			goto out;
		if (isock[0]) {
			sock = isock;
			pindir = ipins;
		}
	}
	only_daemon = daemon_only(argc, argv);
	if (!only_daemon) {
		rc = ctl_cmd_parse(argc, argv, &req, err, sizeof(err));
		if (rc == -EBADRQC || rc == -ENOTSUP)
			return usage(stderr, 2);
		if (rc)
			goto out;
	}
	if (only_daemon || sock_given || !pin_given) {
		ctl_msg_debug("trying the daemon on %s", sock);
		rc = ctl_sock_request(sock, argc, argv, stdout, why, sizeof(why));
		if (rc >= 0) {
			snprintf(err, sizeof(err), "%s", why);
			status = rc;
			goto out;
		}
		if (rc != -ENOENT && rc != -ECONNREFUSED) {
			snprintf(err, sizeof(err), "%s: %s", sock, why);
			goto out;
		}
		if (only_daemon) {
			snprintf(err, sizeof(err), "no smtpscreen daemon on %s: %s",
				 sock, why);
			goto out;
		}
	}
	ctl_msg_debug("using the maps pinned under %s", pindir);
	m = ctl_maps_open_pinned(pindir, err, sizeof(err));
	if (!m)
		goto out;
	rc = ctl_cmd_maps(m, argc, argv, stdout, NULL, NULL, err, sizeof(err));
	if (rc)
		goto out;
	status = 0;
out:
	if (fflush(stdout) != 0 && status == 0) {
		snprintf(err, sizeof(err), "stdout: %s", strerror(errno));
		status = 1;
	}
	if (status)
		fprintf(stderr, "smtpscreenctl: %s\n", err);
	ctl_maps_destroy(m);
	return status;
}
