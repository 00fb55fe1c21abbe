/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreen - command dispatcher
 * DESCRIPTION
 *	`smtpscreen replay ...` runs the engine over pcap files;
 *	`smtpscreen xdp attach|detach ...` manages XDP enforcement (when built
 *	with libbpf).
 *	-v (repeatable; -vv counts two; --verbose is one) before or after the
 *	mode word raises ctl_msg_verbose. The dispatcher takes it out of the
 *	arguments before the mode parses them, up to a "--" (the inline
 *	mode's EAL arguments after it are left alone: EAL has its own -v).
 *	So an option value that is literally "-v" must be written
 *	--opt=-v. The stderr tag of ctl_msg is "smtpscreen MODE".
 * THREADING
 *	Main thread.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
		"  host -i IFACE [-c main.cf] [--mode native|generic] [--keep]\n"
		"         [-s SOCKET] [--log-file F] [--foreground]\n"
#endif
#ifdef SCR_HAVE_DPDK
		"  inline [-c main.cf] [--workers N] [--log F] [--verdicts F.csv]\n"
		"         [--pin-dir DIR] [-s SOCKET] [--stats-interval S] -- EAL-ARGS\n"
#endif
		"  version   (also --version; help, --help: this text)\n");
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

/* main - smtpscreen MODE ... */
int main(int argc, char **argv)
{
	char tag[64];

	argc = take_verbose(argc, argv);
	if (argc < 2)
		return usage(stderr, 2);
	snprintf(tag, sizeof(tag), "smtpscreen %s", argv[1]);
	ctl_msg_init(argv[1][0] == '-' ? "smtpscreen" : tag);
	ctl_msg_debug("version %s, verbose level %d", SCR_VERSION,
		      ctl_msg_verbose);
	if (strcmp(argv[1], "replay") == 0)
		return dp_replay_main(argc - 1, argv + 1);
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
