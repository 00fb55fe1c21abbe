/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_xdp - `smtpscreen xdp attach|detach|reload`: XDP enforcement alone
 * DESCRIPTION
 *	attach: reads main.cf (postscreen_access_list with mynetworks,
 *	smtpscreen_ports), compiles the list (ctl_aclcomp) in a thread while
 *	the program loads (ctl_maps: the kernel's verifier), fills it (the maps
 *	grow to the list), attaches it to the interface in native mode and
 *	falls back to generic mode with a warning saying so, pins the program
 *	and maps under SCR_XDP_PIN_DIR, and exits: the program stays attached.
 *	detach: removes our program from the interface and the pins.
 *	reload: recompiles main.cf's list into the pinned maps (A/B flip).
 *	Uses libbpf's bpf_xdp_attach (netlink), not libxdp's dispatcher.
 * CONTRACT
 *	ctl_xdp_main(argc, argv): argv[0] = "xdp"; returns the exit status
 *	  (0 ok, 1 failure with a message on stderr, 2 usage).
 *	ctl_xdp_attach(ifname, mode, m, err, errlen): attach a loaded
 *	  program; mode CTL_XDP_MODE_AUTO falls back to generic with a warning
 *	  on stderr. 0 or -errno; *used gets the mode that worked.
 *	ctl_xdp_detach(ifname, prog_fd, err, errlen): 0 or -errno.
 *	ctl_xdp_fill(m, conf, err, errlen): compile conf's access list into m.
 * THREADING
 *	Control thread (command line).
 */
#ifndef CTL_XDP_H
#define CTL_XDP_H

#include <stddef.h>

#include "ctl_conf.h"
#include "ctl_maps.h"

enum ctl_xdp_mode {
	CTL_XDP_MODE_AUTO = 0,	/* native, else generic with a warning */
	CTL_XDP_MODE_NATIVE,
	CTL_XDP_MODE_GENERIC,
	CTL_XDP_MODE_MAX
};

extern const char *const ctl_xdp_mode_name[CTL_XDP_MODE_MAX];

int ctl_xdp_main(int argc, char **argv);
int ctl_xdp_attach(const char *ifname, enum ctl_xdp_mode mode,
		   struct ctl_maps *m, enum ctl_xdp_mode *used, char *err,
		   size_t errlen);
int ctl_xdp_detach(const char *ifname, int prog_fd, char *err, size_t errlen);
int ctl_xdp_fill(struct ctl_maps *m, const struct ctl_conf *conf, char *err,
		 size_t errlen);

#endif
