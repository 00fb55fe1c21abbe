/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	smtpscreen - command dispatcher
 * DESCRIPTION
 *	`smtpscreen replay ...` runs the engine over pcap files;
 *	`smtpscreen xdp attach|detach ...` manages XDP enforcement (when built
 *	with libbpf).
 * THREADING
 *	Main thread.
 */
#include <stdio.h>
#include <string.h>

#include "dp_replay.h"
#ifdef SCR_HAVE_BPF
#include "ctl_xdp.h"
#endif
#ifdef SCR_HAVE_HOST
#include "ctl_host.h"
#endif
#ifdef SCR_HAVE_DPDK
#include "dp_inline.h"
#endif

/* usage - print the commands this build has */
static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: smtpscreen COMMAND [ARGS]\n"
		"  replay [-c main.cf] [--verdicts out.csv] [--labels labels.csv]\n"
		"         [--log out.log] [--threads N] [--loop N] FILE.pcap...\n"
#ifdef SCR_HAVE_BPF
		"  xdp attach -i IFACE [-c main.cf] [--mode native|generic]\n"
		"  xdp detach -i IFACE\n"
#endif
#ifdef SCR_HAVE_HOST
		"  host -i IFACE [-c main.cf] [--mode native|generic] [--keep] [--log-file F]\n"
#endif
#ifdef SCR_HAVE_DPDK
		"  inline [-c main.cf] [--workers N] [--log F] [--verdicts F.csv]\n"
		"         [--pin-dir DIR] [-s SOCKET] [--stats-interval S] -- EAL-ARGS\n"
#endif
		"  version\n");
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "replay") == 0)
		return dp_replay_main(argc - 1, argv + 1);
#ifdef SCR_HAVE_BPF
	if (strcmp(argv[1], "xdp") == 0)
		return ctl_xdp_main(argc - 1, argv + 1);
#endif
#ifdef SCR_HAVE_HOST
	if (strcmp(argv[1], "host") == 0)
		return ctl_host_main(argc - 1, argv + 1);
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
