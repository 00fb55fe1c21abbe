/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	fuzz_maps_stub - the ctl_maps symbols ctl_cmd.c links against, for a
 *	fuzz build without libbpf
 * DESCRIPTION
 *	Without libbpf, ctl_cmd.c and ctl_maps.c are not in the control
 *	library; fuzz_sock compiles ctl_cmd.c itself and never hands it
 *	maps (ctl_cmd_maps with m NULL stops after the parse). These stubs
 *	only satisfy the linker: any call but ctl_addr_is_v4 aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_maps.h"

const char *const ctl_maps_ctr_name[SCR_XDP_C_MAX];

/* never - a map function was called: the harness is wrong */
static void never(const char *fn)
{
	fprintf(stderr, "fuzz_maps_stub: %s called without maps\n", fn);
	abort();
}

int ctl_maps_dyn_add(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen,
		     uint32_t ttl_s, uint32_t reasons)
{
	never(__func__);
	return -1;
}

int ctl_maps_dyn_del(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen)
{
	never(__func__);
	return -1;
}

int ctl_maps_dyn_list(struct ctl_maps *m,
		      int (*cb)(void *arg, const struct ctl_dyn_entry *e),
		      void *arg)
{
	never(__func__);
	return -1;
}

int ctl_maps_sweep(struct ctl_maps *m, size_t *removed)
{
	never(__func__);
	return -1;
}

int ctl_maps_stats(struct ctl_maps *m,
		   struct scr_xdp_ctr_val out[SCR_XDP_C_MAX])
{
	never(__func__);
	return -1;
}

uint64_t ctl_maps_now_ns(void)
{
	never(__func__);
	return 0;
}

/* ctl_addr_is_v4 - as ctl_maps.c */
bool ctl_addr_is_v4(const struct scr_addr *a)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a->b, v4, sizeof(v4)) == 0;
}
