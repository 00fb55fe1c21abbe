/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreen - command dispatcher
 * DESCRIPTION
 *	`smtpscreen replay ...` runs the engine over pcap files;
 *	`smtpscreen xdp attach|detach ...` manages XDP enforcement (when built
 *	with libbpf); `smtpscreen check` and `smtpscreen config` read the
 *	configuration (ctl_confcmd).
 *	-v (repeatable; -vv counts two; --verbose is one) before or after the
 *	mode word raises ctl_msg_verbose. The dispatcher takes it out of the
 *	arguments before the mode parses them, up to a "--" (the inline
 *	mode's EAL arguments after it are left alone: EAL has its own -v).
 *	So an option value that is literally "-v" must be written
 *	--opt=-v. The stderr tag of ctl_msg is "smtpscreen MODE".
 *	The DPDK appliance is its own binary, smtpscreen-inline (this file
 *	built with SCR_INLINE_BINARY: `smtpscreen-inline ARGS` is `smtpscreen
 *	inline ARGS`), so smtpscreen itself needs no DPDK library;
 *	`smtpscreen inline ARGS` runs the smtpscreen-inline beside it.
 * THREADING
 *	Main thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_confcmd.h"
#include "ctl_conf.h"
#include "ctl_msg.h"
#include "dp_replay.h"
#ifdef SCR_HAVE_BPF
#include "ctl_xdp.h"
#endif
#ifdef SCR_HAVE_HOST
#include "dp_host.h"
#endif
#ifdef SCR_HAVE_DPDK
#include "dp_inline.h"
#endif

/* usage - print the commands this build has */
static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: smtpscreen [-v] COMMAND [ARGS]   (-v: verbose; repeat for more)\n"
		"  check [-c FILE[:FILE...]] [-o name=value]...   (exit 0 ok, 2 errors)\n"
		"  config [-c FILE[:FILE...]] [-o name=value]... [-n|-d] [-x] [NAME...]\n"
		"  replay [-c main.cf] [--verdicts out.csv] [--labels labels.csv]\n"
		"         [--log out.log] [--threads N] [--loop N] [--hash-key HEX32]\n"
		"         FILE...   (pcap or pcapng, merged by time; - is standard input)\n"
#ifdef SCR_HAVE_BPF
		"  xdp attach -i IFACE [-c main.cf] [--mode native|generic]\n"
		"         [--block-all] [--xsk] [--pin-dir DIR]\n"
		"  xdp detach -i IFACE [--pin-dir DIR]\n"
		"  xdp reload [-c main.cf] [--pin-dir DIR]   (default /etc/postfix/main.cf)\n"
#endif
#ifdef SCR_HAVE_HOST
		"  host -i IFACE [-c FILE[:FILE...]] [-o name=value]...\n"
		"         [--mode native|generic] [--keep] [-s SOCKET] [--log-file F]\n"
		"         [--foreground]\n"
#endif
		"  inline [-c FILE[:FILE...]] [-o name=value]... [--workers N] [--log F]\n"
		"         [--verdicts F.csv]\n"
		"         [--pin-dir DIR] [-s SOCKET] [--stats-interval S] -- EAL-ARGS\n"
		"         (runs smtpscreen-inline, the DPDK appliance, when installed)\n"
		"  version   (also --version; help, --help: this text)\n"
		"The configuration without -c: %s\n"
		"(main.cf syntax; files read in order, the later setting wins;\n"
		"'?' before a name: skipped when missing).\n",
		ctl_conf_default_path());
	return status;
}

/* verbose_arg - how many -v a word says ("-v" 1, "-vvv" 3,
 * "--verbose" 1), 0 if it is not one */
static int verbose_arg(const char *a)
{
	size_t n;

	if (strcmp(a, "--verbose") == 0)
		return 1;
	if (a[0] != '-' || a[1] != 'v')
		return 0;
	n = strspn(a + 1, "v");
	return a[1 + n] == 0 ? (int)n : 0;
}

/* take_verbose - count and remove -v words before the mode word and
 * after it up to "--"; the new argc */
static int take_verbose(int argc, char **argv)
{
	bool mode = false, rest = false;
	int i, j = 1, n;

	for (i = 1; i < argc; i++) {
		if (!rest && (n = verbose_arg(argv[i])) > 0) {
			ctl_msg_verbose += n;
			continue;
		}
		if (mode && strcmp(argv[i], "--") == 0)
			rest = true;
		mode = true;
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

#ifndef SCR_HAVE_DPDK
/* run_inline - exec the smtpscreen-inline beside this binary */
static int run_inline(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char **av, *sl;
	int j = 1;

	if (n <= 0) {
		fprintf(stderr, "smtpscreen: /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	self[n] = 0;
	sl = strrchr(self, '/');
	snprintf(path, sizeof(path), "%.*s/smtpscreen-inline",
		 sl ? (int)(sl - self) : 1, sl ? self : ".");
	av = calloc((size_t)argc + (size_t)ctl_msg_verbose + 1, sizeof(*av));
	if (av == NULL)
		return 1;
	av[0] = path;
	for (int i = 0; i < ctl_msg_verbose; i++)
		av[j++] = "-v";		/* taken out by take_verbose */
	for (int i = 2; i < argc; i++)
		av[j++] = argv[i];
	execv(path, av);
	fprintf(stderr, "smtpscreen inline: %s: %s (the DPDK appliance is the "
		"smtpscreen-inline package)\n", path, strerror(errno));
	free(av);
	return 1;
}
#endif

/* main - smtpscreen MODE ... */
int main(int argc, char **argv)
{
	char tag[64];

#ifdef SCR_INLINE_BINARY
	/* smtpscreen-inline ARGS: smtpscreen inline ARGS */
	static char *av[512];	/* argv with "inline" put in */

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
			 strcmp(argv[1], "-h") == 0)) {
		printf("usage: smtpscreen-inline [-v] [-c FILE[:FILE...]] "
		       "[-o name=value]... [--workers N]\n"
		       "         [--log F] [--verdicts F.csv] [--pin-dir DIR] "
		       "[-s SOCKET]\n"
		       "         [--stats-interval S] -- EAL-ARGS\n"
		       "(no -c: %s)\n", ctl_conf_default_path());
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("smtpscreen-inline %s\n", SCR_VERSION);
		return 0;
	}
	if ((size_t)argc + 2 > sizeof(av) / sizeof(av[0])) {
		fprintf(stderr, "smtpscreen-inline: more than %zu arguments\n",
			sizeof(av) / sizeof(av[0]) - 2);
		return 2;
	}
	av[0] = argv[0];
	av[1] = "inline";
	for (int i = 1; i <= argc; i++)
		av[i + 1] = argv[i];
	argv = av;
	argc++;
#endif
	argc = take_verbose(argc, argv);
	if (argc < 2)
		return usage(stderr, 2);
	snprintf(tag, sizeof(tag), "smtpscreen %s", argv[1]);
	ctl_msg_init(argv[1][0] == '-' ? "smtpscreen" : tag);
	ctl_msg_debug("version %s, verbose level %d", SCR_VERSION,
		      ctl_msg_verbose);
	if (strcmp(argv[1], "replay") == 0)
		return dp_replay_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return ctl_confcmd_check_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "config") == 0)
		return ctl_confcmd_config_main(argc - 1, argv + 1);
#ifdef SCR_HAVE_BPF
	if (strcmp(argv[1], "xdp") == 0)
		return ctl_xdp_main(argc - 1, argv + 1);
#endif
#ifdef SCR_HAVE_HOST
	if (strcmp(argv[1], "host") == 0)
		return dp_host_main(argc - 1, argv + 1);
#endif
#ifdef SCR_HAVE_DPDK
	if (strcmp(argv[1], "inline") == 0)
		return dp_inline_main(argc - 1, argv + 1);
#else
	if (strcmp(argv[1], "inline") == 0)
		return run_inline(argc, argv);
#endif
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("smtpscreen %s\n", SCR_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	fprintf(stderr, "smtpscreen: unknown command \"%s\"\n", argv[1]);
	return usage(stderr, 2);
}
