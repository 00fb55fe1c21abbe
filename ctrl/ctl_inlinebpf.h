/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_inlinebpf - the inline appliance's XDP object for DPDK's af_xdp PMD
 * DESCRIPTION
 *	`smtpscreen inline` with an af_xdp port 0 hands the PMD our XDP object
 *	(devarg xdp_prog=FILE). The PMD opens the file as it is
 *	(bpf_object__open_file, bpf_object__load), attaches the object's
 *	first program and puts its AF_XDP sockets into the map xsks_map; it
 *	sets no knob. So this module writes the object with the knobs already
 *	in its .rodata: the ELF embedded in the scr_xdp_inline skeleton
 *	(bpf/scr_xdp.bpf.c built with SCR_XDP_INLINE: scr_xdp_prog and the
 *	maps it uses, nothing of host mode), with scr_ports, scr_nports,
 *	scr_block_all set and scr_xsk_redirect = scr_xsk_all = 1: every
 *	packet that passes (ARP, ND, any port, any protocol) goes to the
 *	AF_XDP socket of its rx queue; blocked clients are dropped in the
 *	kernel.
 *	Once the PMD has attached it, ctl_inlinebpf_adopt() finds the
 *	program on the interface, checks that it is ours, and pins it and its
 *	maps under a pin directory with the names ctl_maps_open_pinned()
 *	expects (as `smtpscreen xdp attach` does), so that ctl_maps,
 *	smtpscreenctl block and `smtpscreen xdp reload` work on them. The
 *	host-mode maps (host_flows, host_samples, host_ctr) do not exist in
 *	the inline object; ctl_maps_open_pinned treats them as optional.
 *	Map sizes start as the ELF's (the PMD creates the maps):
 *	dxr_ranges_a/b 2^19 IPv4 DXR ranges (2^18 of them one per chunk,
 *	the rest what the permanent list's prefixes add, per copy),
 *	perm6_a/b 65536 IPv6 prefixes per copy, dyn4 1048576, dyn6 262144
 *	dynamic entries, xsks_map 64 rx queues. dxr_ranges_a/b and
 *	perm6_a/b are reached through the map-in-maps dxr_ranges and perm6
 *	(which are pinned), so ctl_maps_replace puts bigger ones in a copy
 *	whose list does not fit. ctl_maps reads sizes from the maps.
 * CONTRACT
 *	ctl_inlinebpf_write(k, path, err, errlen): k->nports 1..
 *	  SCR_XDP_MAX_PORTS, ports 1..65535 (host order). Writes path with
 *	  mode 0600 through a temporary file in the same directory and
 *	  rename(2) (a reader never sees half a file). 0, -EINVAL (bad
 *	  knobs), -EPROTO (the embedded ELF is not what we expect), -errno
 *	  (file); err says what and names the file.
 *	ctl_inlinebpf_adopt(ifname, pin_dir, err, errlen): pin_dir NULL =
 *	  SCR_XDP_PIN_DIR. Returns a ctl_maps opened from the pins (caller
 *	  destroys it; the pins stay). NULL + errno: ENODEV (no interface),
 *	  ENOENT (no XDP program attached), EMEDIUMTYPE (the attached
 *	  program is not ours; err names it), EEXIST ("already loaded": a
 *	  program is pinned in pin_dir), other errno (pinning). On failure
 *	  nothing is left pinned.
 *	ctl_inlinebpf_adopt_fd(prog_fd, pin_dir, err, errlen): the same for
 *	  a program fd (tests; adopt calls it).
 *	ctl_inlinebpf_recover(ifname, pin_dir, err, errlen): after a crash
 *	  or kill -9: detaches the program pinned in pin_dir from ifname if it
 *	  is still attached there (only that one: another program is left
 *	  alone), then removes the pins. 1 done, 0 nothing was pinned,
 *	  -errno with err. The caller first makes sure no running smtpscreen
 *	  owns pin_dir.
 *	ctl_inlinebpf_release(pin_dir): removes the pins and the directory;
 *	  0 or -ENOENT (nothing pinned). The PMD detaches the program when
 *	  the port closes.
 * THREADING
 *	Control thread (startup of `smtpscreen inline`, after the port is
 *	started; release at shutdown).
 */
#ifndef CTL_INLINEBPF_H
#define CTL_INLINEBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_maps.h"

struct ctl_inlinebpf_knobs {
	const uint16_t *ports;	/* SMTP ports, host order */
	unsigned nports;	/* 1..SCR_XDP_MAX_PORTS */
	bool block_all;		/* blocks apply to all traffic of a client */
};

int ctl_inlinebpf_write(const struct ctl_inlinebpf_knobs *k, const char *path,
			char *err, size_t errlen);
struct ctl_maps *ctl_inlinebpf_adopt(const char *ifname, const char *pin_dir,
				     char *err, size_t errlen);
struct ctl_maps *ctl_inlinebpf_adopt_fd(int prog_fd, const char *pin_dir,
					char *err, size_t errlen);
int ctl_inlinebpf_release(const char *pin_dir);
int ctl_inlinebpf_recover(const char *ifname, const char *pin_dir, char *err,
			  size_t errlen);

#endif
