/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_maps - the XDP program's maps: load, pin, fill, replace, sweep
 * DESCRIPTION
 *	See ctl_maps.h. The permanent IPv4 list is written straight into the
 *	mmapped DXR arrays of the inactive copy (smtpscreen_abi.h): the
 *	prefixes are turned into maximal intervals of equal answer (longest
 *	prefix wins), each interval becomes a range at its start and at the
 *	start of every chunk it covers, and each chunk's first range sets its
 *	base entry. Every base entry and every range the search can reach is
 *	written, so no clearing pass is needed. IPv6
 *	prefixes go to the inactive hash with bpf_map_update_batch. The
 *	selector word is flipped last with a sequentially consistent store.
 *	Before writing into the inactive copy we wait CTL_MAPS_GRACE_MS, far
 *	longer than any XDP run that may still read the copy it selected
 *	before the previous flip (XDP runs under rcu_read_lock with bottom
 *	halves off, for well under a microsecond).
 * CONTRACT
 *	See ctl_maps.h.
 * THREADING
 *	Control thread; one writer at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "ctl_maps.h"
#include "smtpscreen_abi.h"
#include "scr_xdp.skel.h"

#define CTL_MAPS_GRACE_MS	20
/* Ranges a copy holds at least (2^19, 1 MiB: the ELF's size); every
 * chunk takes one, so a list has 2^18 + what its prefixes add. */
#define CTL_MAPS_RANGES_DEFAULT	(1u << 19)
#define CTL_MAPS_PERM6_DEFAULT	65536
#define CTL_MAPS_BATCH		8192
#define CTL_MAPS_FLOWS_DEFAULT	262144		/* host mode */
#define CTL_MAPS_RING_DEFAULT	(8u << 20)	/* host mode */
#define CTL_MAPS_FLOWS_OFF	64		/* not host mode: unused */
#define CTL_MAPS_RING_OFF	4096

/* The inner maps (RANGES_A..PERM6_B: the maps in the slots of RANGES and
 * PERM6 now) are not pinned: they are reached through their outer map. */
enum ctl_map_id {
	CTL_MAP_BASE_A = 0,
	CTL_MAP_BASE_B,
	CTL_MAP_RANGES_A,
	CTL_MAP_RANGES_B,
	CTL_MAP_PERM6_A,
	CTL_MAP_PERM6_B,
	CTL_MAP_RANGES,
	CTL_MAP_PERM6,
	CTL_MAP_DYN4,
	CTL_MAP_DYN6,
	CTL_MAP_COUNTERS,
	CTL_MAP_XSKS,
	CTL_MAP_STATE,
	CTL_MAP_HOST_FLOWS,
	CTL_MAP_HOST_SYN,
	CTL_MAP_HOST_SAMPLES,
	CTL_MAP_HOST_CTR,
	CTL_MAP_MAX
};

static const char *const ctl_map_name[CTL_MAP_MAX] = {
	[CTL_MAP_BASE_A] = "dxr_base_a",
	[CTL_MAP_BASE_B] = "dxr_base_b",
	[CTL_MAP_RANGES_A] = "dxr_ranges_a",
	[CTL_MAP_RANGES_B] = "dxr_ranges_b",
	[CTL_MAP_PERM6_A] = "perm6_a",
	[CTL_MAP_PERM6_B] = "perm6_b",
	[CTL_MAP_RANGES] = "dxr_ranges",
	[CTL_MAP_PERM6] = "perm6",
	[CTL_MAP_DYN4] = "dyn4",
	[CTL_MAP_DYN6] = "dyn6",
	[CTL_MAP_COUNTERS] = "counters",
	[CTL_MAP_XSKS] = "xsks_map",
	[CTL_MAP_STATE] = "state",
	[CTL_MAP_HOST_FLOWS] = "host_flows",
	[CTL_MAP_HOST_SYN] = "host_syn",
	[CTL_MAP_HOST_SAMPLES] = "host_samples",
	[CTL_MAP_HOST_CTR] = "host_ctr",
};

/* Pins of the DIR-24-8 maps an older smtpscreen made (before DXR): detach
 * removes them too, and reopening such pins says what they are. */
static const char *const ctl_map_old_name[] = { "tbl24_a", "tbl24_b", "tbl8" };

/* ctl_map_inner - a map reached through dxr_ranges or perm6, never pinned */
static bool ctl_map_inner(int id)
{
	return id >= CTL_MAP_RANGES_A && id <= CTL_MAP_PERM6_B;
}

const char *const ctl_maps_ctr_name[SCR_XDP_C_MAX] = {
	[SCR_XDP_C_PASS_NOT_IP] = "pass_not_ip",
	[SCR_XDP_C_PASS_TRUNCATED] = "pass_truncated",
	[SCR_XDP_C_PASS_BAD_HDR] = "pass_bad_header",
	[SCR_XDP_C_PASS_FRAGMENT] = "pass_fragment",
	[SCR_XDP_C_PASS_NOT_TCP] = "pass_not_tcp",
	[SCR_XDP_C_PASS_OTHER_PORT] = "pass_other_port",
	[SCR_XDP_C_PASS_PERMIT] = "pass_permit",
	[SCR_XDP_C_PASS_ALLOW] = "pass_allow",
	[SCR_XDP_C_PASS_UNLISTED] = "pass_unlisted",
	[SCR_XDP_C_PASS_EXPIRED] = "pass_expired",
	[SCR_XDP_C_DROP_REJECT] = "drop_reject",
	[SCR_XDP_C_DROP_BLOCK] = "drop_block",
	[SCR_XDP_C_REDIRECT_XSK] = "redirect_xsk",
	[SCR_XDP_C_DROP_FLOW_STOP] = "drop_flow_stop",
	[SCR_XDP_C_PASS_HS_ANSWER] = "pass_hs_answer",
};

const char *const ctl_maps_host_ctr_name[SCR_HOST_C_MAX] = {
	[SCR_HOST_C_SAMPLE_IN] = "sample_in",
	[SCR_HOST_C_SAMPLE_OUT] = "sample_out",
	[SCR_HOST_C_SAMPLE_TRUNC] = "sample_truncated",
	[SCR_HOST_C_RB_FULL] = "ringbuf_full",
	[SCR_HOST_C_FLOW_NEW] = "flow_new",
	[SCR_HOST_C_FLOW_MISS] = "flow_miss",
	[SCR_HOST_C_HELD] = "greet_held",
	[SCR_HOST_C_HELD_RETX_DROP] = "held_retx_drop",
	[SCR_HOST_C_HOLD_EXPIRED] = "hold_expired_pass",
	[SCR_HOST_C_RESENT_PASS] = "resent_pass",
	[SCR_HOST_C_STOP_DROP_IN] = "stop_drop_in",
	[SCR_HOST_C_STOP_DROP_OUT] = "stop_drop_out",
	[SCR_HOST_C_DATA_HELD] = "data_held",
	[SCR_HOST_C_DATA_RETX_DROP] = "data_retx_drop",
	[SCR_HOST_C_SYN] = "syn_seen",
	[SCR_HOST_C_HOLD_EXPIRED_DROP] = "hold_expired_drop",
	[SCR_HOST_C_HS_ACK_HELD] = "hs_ack_held",
	[SCR_HOST_C_HS_PREGREET] = "hs_pregreet",
	[SCR_HOST_C_HS_PASSED] = "hs_passed",
	[SCR_HOST_C_HS_NO_REQ] = "hs_no_request_sock",
	[SCR_HOST_C_HS_RST_SERVER] = "hs_rst_server",
	[SCR_HOST_C_HS_RST_CLIENT] = "hs_rst_client",
	[SCR_HOST_C_HS_DROP] = "hs_drop",
	[SCR_HOST_C_HS_SYN_FROM_REQ] = "hs_syn_from_request_sock",
};

const char *const ctl_maps_kind_name[SCR_XDP_KIND_MAX] = {
	[SCR_XDP_KIND_ALLOW] = "allow",
	[SCR_XDP_KIND_BLOCK] = "block",
};

struct ctl_maps {
	struct scr_xdp *skel;		/* NULL when opened from pins */
	int fd[CTL_MAP_MAX];
	int prog_fd;
	int tc_prog_fd;			/* host mode; -1 none */
	uint32_t *base[2];		/* mmapped, SCR_XDP_DXR_CHUNKS + 1 used */
	uint16_t *ranges[2];		/* mmapped, ranges_max entries */
	uint32_t ranges_max[2];
	uint32_t perm6_max[2];
	bool own_inner[4];		/* fd[RANGES_A + i] made here: ours to close */
	bool unread;			/* loaded here, never flipped: no program
					 * has ever picked copy B (no grace) */
	struct scr_xdp_state *state;	/* mmapped .bss */
	size_t base_len, ranges_len[2], state_len;
	struct bpf_link *seat_link;	/* sk_lookup steering to the seat */
};

/* ctl_maps_now_ns - CLOCK_BOOTTIME in ns (bpf_ktime_get_boot_ns) */
uint64_t ctl_maps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const uint8_t ctl_v4_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* ctl_addr_is_v4 - whether a is ::ffff:a.b.c.d */
bool ctl_addr_is_v4(const struct scr_addr *a)
{
	return memcmp(a->b, ctl_v4_prefix, sizeof(ctl_v4_prefix)) == 0;
}

/* ctl_addr_mask - clear the bits of a past plen */
void ctl_addr_mask(struct scr_addr *a, unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			a->b[i] = 0;
		else
			a->b[i] &= (uint8_t)(0xff00u >> (plen - 8 * i));
	}
}

/* ctl_maps_map_size - bytes of a map's value area (for mmap) */
static int ctl_maps_map_size(int fd, size_t *len, uint32_t *max_entries)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	size_t sz;
	int rc;

	rc = bpf_obj_get_info_by_fd(fd, &info, &ilen);
	if (rc)
		return -errno;
	sz = (size_t)((info.value_size + 7) & ~7u) * info.max_entries;
	*len = (sz + (size_t)page - 1) & ~((size_t)page - 1);
	if (max_entries)
		*max_entries = info.max_entries;
	return 0;
}

/* ctl_maps_mmap - map a BPF_F_MMAPABLE array into our memory */
static void *ctl_maps_mmap(int fd, size_t *len, uint32_t *max_entries)
{
	void *p;
	int rc;

	rc = ctl_maps_map_size(fd, len, max_entries);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ctl_maps_grown - a size with room to grow (half as much again) */
static uint32_t ctl_maps_grown(uint64_t need, uint32_t floor)
{
	uint64_t n = need + need / 2;

	if (n < floor)
		n = floor;
	return n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
}

/* ctl_maps_ranges_vals - array values that hold n ranges, at least a
 * chunk's worth each */
static uint32_t ctl_maps_ranges_vals(uint64_t n)
{
	uint64_t v = n / SCR_XDP_DXR_RANGE_PER + 1;

	if (v < SCR_XDP_DXR_RANGE_VALS_MIN)
		v = SCR_XDP_DXR_RANGE_VALS_MIN;
	return v > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)v;
}

/* ctl_maps_slot_map - mmap copy c's ranges map, size its perm6 map */
static int ctl_maps_slot_map(struct ctl_maps *m, unsigned c)
{
	uint32_t vals;
	void *p;
	int rc;

	if (m->ranges[c])
		munmap(m->ranges[c], m->ranges_len[c]);
	m->ranges[c] = NULL;
	p = ctl_maps_mmap(m->fd[CTL_MAP_RANGES_A + c], &m->ranges_len[c], &vals);
	if (!p)
		return -errno;
	m->ranges[c] = p;
	m->ranges_max[c] = vals * SCR_XDP_DXR_RANGE_PER;
	rc = ctl_maps_map_size(m->fd[CTL_MAP_PERM6_A + c], &(size_t){0},
			       &m->perm6_max[c]);
	return rc;
}

/* ctl_maps_inner_fds - the maps in the slots of dxr_ranges and perm6 (a
 * lookup from user space gives the inner map's id) */
static int ctl_maps_inner_fds(struct ctl_maps *m)
{
	unsigned c;

	for (c = 0; c < 2; c++) {
		static const enum ctl_map_id outer[2] = { CTL_MAP_RANGES, CTL_MAP_PERM6 };
		unsigned k;

		for (k = 0; k < 2; k++) {
			enum ctl_map_id id = k ? CTL_MAP_PERM6_A + c :
					     CTL_MAP_RANGES_A + c;
			__u32 slot = c, mid;

			if (bpf_map_lookup_elem(m->fd[outer[k]], &slot, &mid))
				return -errno;
			m->fd[id] = bpf_map_get_fd_by_id(mid);
			if (m->fd[id] < 0)
				return -errno;
			m->own_inner[id - CTL_MAP_RANGES_A] = true;
		}
	}
	return 0;
}

/* ctl_maps_map_all - mmap the DXR arrays and the state */
static int ctl_maps_map_all(struct ctl_maps *m, char *err, size_t errlen)
{
	void *p;
	unsigned i;
	int rc = 0;

	for (i = 0; i < 2; i++) {
		p = ctl_maps_mmap(m->fd[CTL_MAP_BASE_A + i], &m->base_len, NULL);
		if (!p) {
			rc = -errno;
			snprintf(err, errlen, "map %s: mmap: %s",
				 ctl_map_name[CTL_MAP_BASE_A + i], strerror(errno));
			goto out;
		}
		m->base[i] = p;
		rc = ctl_maps_slot_map(m, i);
		if (rc) {
			snprintf(err, errlen, "map %s: %s",
				 ctl_map_name[CTL_MAP_RANGES_A + i], strerror(-rc));
			goto out;
		}
	}
	if (m->skel) {
		m->state = &m->skel->bss->scr_state;
	} else {
		p = ctl_maps_mmap(m->fd[CTL_MAP_STATE], &m->state_len, NULL);
		if (!p) {
			rc = -errno;
			snprintf(err, errlen, "map state: mmap: %s",
				 strerror(errno));
			goto out;
		}
		m->state = p;
	}
out:
	return rc;
}

/* ctl_maps_alloc - an empty handle */
static struct ctl_maps *ctl_maps_alloc(void)
{
	struct ctl_maps *m = calloc(1, sizeof(*m));
	int i;

	if (!m)
		return NULL;
	for (i = 0; i < CTL_MAP_MAX; i++)
		m->fd[i] = -1;
	m->prog_fd = -1;
	m->tc_prog_fd = -1;
	return m;
}

/* ctl_maps_host_knobs - host-mode rodata knobs and map sizes */
static int ctl_maps_host_knobs(struct scr_xdp *skel,
			       const struct ctl_maps_opts *o, char *err,
			       size_t errlen)
{
	uint32_t flows = CTL_MAPS_FLOWS_OFF, ring = CTL_MAPS_RING_OFF;

	if (o->host) {
		flows = o->flow_map_size ? o->flow_map_size :
			CTL_MAPS_FLOWS_DEFAULT;
		ring = o->ringbuf_bytes ? o->ringbuf_bytes :
		       CTL_MAPS_RING_DEFAULT;
		if (ring < 4096 || (ring & (ring - 1))) {
			snprintf(err, errlen, "map host_samples: ring buffer "
				 "size %u is not a power of 2 >= 4096", ring);
			return -EINVAL;
		}
		if (o->sample_bytes > SCR_HOST_SAMPLE_MAX) {
			snprintf(err, errlen, "host mode: sample bytes %u > %u",
				 o->sample_bytes, SCR_HOST_SAMPLE_MAX);
			return -EINVAL;
		}
		skel->rodata->scr_host = 1;
		skel->rodata->scr_sample_bytes = o->sample_bytes ?
			o->sample_bytes : SCR_HOST_SAMPLE_MAX;
		skel->rodata->scr_greet_hold_ns = o->greet_hold_ns;
		skel->rodata->scr_hold_grace_ns = o->greet_hold_ns ?
			o->hold_grace_ns : 0;
		skel->rodata->scr_data_hold_ns = o->data_hold_ns;
		skel->rodata->scr_overload_drop = o->overload_drop ? 1 : 0;
		skel->rodata->scr_hs_hold = o->hs_hold ? 1 : 0;
		skel->rodata->scr_hs_reset = o->hs_reset ? 1 : 0;
		skel->rodata->scr_sample_lazy = o->sample_lazy ? 1 : 0;
		skel->rodata->scr_ring_wake_bytes = ring / 8;
	}
	/* One XDP program of the two; the TC program only in host mode. */
	bpf_program__set_autoload(skel->progs.scr_xdp_prog, !o->host);
	bpf_program__set_autoload(skel->progs.scr_xdp_host, o->host);
	bpf_program__set_autoload(skel->progs.scr_host_tc, o->host);
	bpf_program__set_autoload(skel->progs.scr_seat_steer, o->host && o->seat_steer);
	bpf_map__set_max_entries(skel->maps.host_flows, flows);
	/* SYNs waiting for their handshake's ACK: twice the flows, so a SYN
	 * flood has to be twice the flow table to push a real client's SYN
	 * out before its ACK (then that session passes unscreened: counted
	 * as flow_miss) */
	bpf_map__set_max_entries(skel->maps.host_syn, o->host ? 2 * flows :
				 CTL_MAPS_FLOWS_OFF);
	bpf_map__set_max_entries(skel->maps.host_samples, ring);
	return 0;
}

/* ctl_maps_load - open the skeleton, set knobs and sizes, load */
struct ctl_maps *ctl_maps_load(const struct ctl_maps_opts *opts, char *err,
			       size_t errlen)
{
	struct ctl_maps_opts def = {};
	struct ctl_maps *m;
	struct bpf_map *maps[CTL_MAP_MAX];
	uint32_t ranges, p6;
	unsigned i;
	int rc;

	if (!opts)
		opts = &def;
	if (opts->nports > SCR_XDP_MAX_PORTS) {
		snprintf(err, errlen, "xdp: at most %d SMTP ports",
			 SCR_XDP_MAX_PORTS);
		errno = EINVAL;
		return NULL;
	}
	m = ctl_maps_alloc();
	if (!m) {
		snprintf(err, errlen, "xdp: out of memory");
		return NULL;
	}
	m->skel = scr_xdp__open();
	if (!m->skel) {
		rc = -errno;
		snprintf(err, errlen, "xdp: open BPF object: %s", strerror(errno));
		goto out;
	}
	if (opts->nports == 0) {
		m->skel->rodata->scr_ports[0] = 25;
		m->skel->rodata->scr_nports = 1;
	} else {
		for (i = 0; i < opts->nports; i++)
			m->skel->rodata->scr_ports[i] = opts->ports[i];
		m->skel->rodata->scr_nports = opts->nports;
	}
	m->skel->rodata->scr_block_all = opts->block_all;
	m->skel->rodata->scr_xsk_redirect = opts->xsk_redirect;
	rc = ctl_maps_host_knobs(m->skel, opts, err, errlen);
	if (rc)
		goto out;
	ranges = ctl_maps_ranges_vals(ctl_maps_grown(opts->dxr_ranges,
						     CTL_MAPS_RANGES_DEFAULT));
	p6 = opts->perm6_max ? opts->perm6_max : CTL_MAPS_PERM6_DEFAULT;
	bpf_map__set_max_entries(m->skel->maps.dxr_ranges_a, ranges);
	bpf_map__set_max_entries(m->skel->maps.dxr_ranges_b, ranges);
	bpf_map__set_max_entries(m->skel->maps.perm6_a, p6);
	bpf_map__set_max_entries(m->skel->maps.perm6_b, p6);
	rc = scr_xdp__load(m->skel);
	if (rc) {
		snprintf(err, errlen, "xdp: load BPF program: %s (need root, "
			 "a kernel with BTF and BPF_F_MMAPABLE arrays)",
			 strerror(-rc));
		goto out;
	}
	maps[CTL_MAP_BASE_A] = m->skel->maps.dxr_base_a;
	maps[CTL_MAP_BASE_B] = m->skel->maps.dxr_base_b;
	maps[CTL_MAP_RANGES_A] = m->skel->maps.dxr_ranges_a;
	maps[CTL_MAP_RANGES_B] = m->skel->maps.dxr_ranges_b;
	maps[CTL_MAP_PERM6_A] = m->skel->maps.perm6_a;
	maps[CTL_MAP_PERM6_B] = m->skel->maps.perm6_b;
	maps[CTL_MAP_RANGES] = m->skel->maps.dxr_ranges;
	maps[CTL_MAP_PERM6] = m->skel->maps.perm6;
	maps[CTL_MAP_DYN4] = m->skel->maps.dyn4;
	maps[CTL_MAP_DYN6] = m->skel->maps.dyn6;
	maps[CTL_MAP_COUNTERS] = m->skel->maps.counters;
	maps[CTL_MAP_XSKS] = m->skel->maps.xsks_map;
	maps[CTL_MAP_STATE] = m->skel->maps.bss;
	maps[CTL_MAP_HOST_FLOWS] = m->skel->maps.host_flows;
	maps[CTL_MAP_HOST_SYN] = m->skel->maps.host_syn;
	maps[CTL_MAP_HOST_SAMPLES] = m->skel->maps.host_samples;
	maps[CTL_MAP_HOST_CTR] = m->skel->maps.host_ctr;
	for (i = 0; i < CTL_MAP_MAX; i++)
		m->fd[i] = bpf_map__fd(maps[i]);
	if (opts->host) {
		m->prog_fd = bpf_program__fd(m->skel->progs.scr_xdp_host);
		m->tc_prog_fd = bpf_program__fd(m->skel->progs.scr_host_tc);
	} else {
		m->prog_fd = bpf_program__fd(m->skel->progs.scr_xdp_prog);
	}
	rc = ctl_maps_map_all(m, err, errlen);
	m->unread = true;
out:
	if (rc) {
		ctl_maps_destroy(m);
		errno = -rc;
		return NULL;
	}
	return m;
}

/* ctl_maps_open_pinned - reopen the maps and program pinned under dir */
struct ctl_maps *ctl_maps_open_pinned(const char *dir, char *err,
				      size_t errlen)
{
	struct ctl_maps *m;
	char path[PATH_MAX];
	int i, rc = 0;

	if (!dir)
		dir = SCR_XDP_PIN_DIR;
	m = ctl_maps_alloc();
	if (!m) {
		snprintf(err, errlen, "xdp: out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	m->prog_fd = bpf_obj_get(path);
	if (m->prog_fd < 0) {
		rc = -errno;
		if (errno == ENOENT)
			snprintf(err, errlen, "no XDP program loaded (%s "
				 "missing): run smtpscreen xdp attach first",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (i = 0; i < CTL_MAP_MAX; i++) {
		if (ctl_map_inner(i))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ctl_map_name[i]);
		m->fd[i] = bpf_obj_get(path);
		/* The host-mode maps exist only in host mode (and not in the
		 * inline appliance's object). */
		if (m->fd[i] < 0 && errno == ENOENT && i >= CTL_MAP_HOST_FLOWS)
			continue;
		if (m->fd[i] < 0) {
			rc = -errno;
			snprintf(err, errlen, "pinned map %s: %s", path,
				 strerror(errno));
			snprintf(path, sizeof(path), "%s/%s", dir, ctl_map_old_name[0]);
			if (rc == -ENOENT && access(path, F_OK) == 0)
				snprintf(err, errlen, "the program pinned under %s "
					 "is an older smtpscreen's (DIR-24-8 maps "
					 "tbl24_a/b, no dxr_base_a): detach it and "
					 "attach again", dir);
			goto out;
		}
	}
	snprintf(path, sizeof(path), "%s/tc_prog", dir);
	m->tc_prog_fd = bpf_obj_get(path);	/* host mode only */
	rc = ctl_maps_inner_fds(m);
	if (rc) {
		snprintf(err, errlen, "pinned maps dxr_ranges/perm6 under %s: their "
			 "inner maps: %s", dir, strerror(-rc));
		goto out;
	}
	rc = ctl_maps_map_all(m, err, errlen);
out:
	if (rc) {
		ctl_maps_destroy(m);
		errno = -rc;
		return NULL;
	}
	return m;
}

/* ctl_maps_destroy - unmap, close, free (pins stay) */
void ctl_maps_destroy(struct ctl_maps *m)
{
	int i;

	if (!m)
		return;
	bpf_link__destroy(m->seat_link);	/* NULL: nothing */
	for (i = 0; i < 2; i++) {
		if (m->base[i])
			munmap(m->base[i], m->base_len);
		if (m->ranges[i])
			munmap(m->ranges[i], m->ranges_len[i]);
	}
	for (i = 0; i < 4; i++)
		if (m->own_inner[i] && m->fd[CTL_MAP_RANGES_A + i] >= 0) {
			close(m->fd[CTL_MAP_RANGES_A + i]);
			m->fd[CTL_MAP_RANGES_A + i] = -1;
		}
	if (m->skel) {
		scr_xdp__destroy(m->skel);
	} else {
		if (m->state)
			munmap(m->state, m->state_len);
		for (i = 0; i < CTL_MAP_MAX; i++)
			if (m->fd[i] >= 0)
				close(m->fd[i]);
		if (m->prog_fd >= 0)
			close(m->prog_fd);
		if (m->tc_prog_fd >= 0)
			close(m->tc_prog_fd);
	}
	free(m);
}

/* ctl_maps_private_mnt - is our mount namespace one of our own, other
 * than our parent's (`ip netns exec` unshares one and then runs us) or
 * init's? false when it cannot be told */
static bool ctl_maps_private_mnt(void)
{
	char self[64] = "", other[64] = "", path[64];

	if (readlink("/proc/self/ns/mnt", self, sizeof(self) - 1) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)getppid());
	if (readlink(path, other, sizeof(other) - 1) >= 0)
		return strcmp(self, other) != 0;
	memset(other, 0, sizeof(other));
	if (readlink("/proc/1/ns/mnt", other, sizeof(other) - 1) >= 0)
		return strcmp(self, other) != 0;
	return false;
}

/* ctl_maps_bpffs - make sure dir's parent is a bpf file system; -EXDEV
 * when it is not and a mount would not outlive this process */
int ctl_maps_bpffs(const char *dir)
{
	char parent[PATH_MAX];
	struct statfs sfs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	/* A bpf file system mounted from a mount namespace of our own (as
	 * `ip netns exec` makes, with a fresh /sys) vanishes with us, and
	 * the pins with it: nothing could manage the program afterwards. */
	if (ctl_maps_private_mnt())
		return -EXDEV;
	if (mount("bpf", parent, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/* ctl_maps_pin - pin the program and every map under dir */
int ctl_maps_pin(struct ctl_maps *m, const char *dir)
{
	char path[PATH_MAX];
	int i, rc;

	if (!dir)
		dir = SCR_XDP_PIN_DIR;
	rc = ctl_maps_bpffs(dir);
	if (rc)
		goto out;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	for (i = 0; i < CTL_MAP_MAX; i++) {
		if (ctl_map_inner(i))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ctl_map_name[i]);
		unlink(path);
		if (bpf_obj_pin(m->fd[i], path)) {
			rc = -errno;
			goto out;
		}
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	unlink(path);
	if (bpf_obj_pin(m->prog_fd, path)) {
		rc = -errno;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/tc_prog", dir);
	unlink(path);
	if (m->tc_prog_fd >= 0 && bpf_obj_pin(m->tc_prog_fd, path))
		rc = -errno;
out:
	return rc;
}

/* ctl_maps_unpin - remove the pins and the directory; -ENOENT if none */
int ctl_maps_unpin(const char *dir)
{
	char path[PATH_MAX];
	int i, found = 0;

	if (!dir)
		dir = SCR_XDP_PIN_DIR;
	for (i = 0; i < CTL_MAP_MAX; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ctl_map_name[i]);
		if (unlink(path) == 0)
			found = 1;
	}
	for (i = 0; i < (int)(sizeof(ctl_map_old_name) / sizeof(ctl_map_old_name[0])); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ctl_map_old_name[i]);
		if (unlink(path) == 0)
			found = 1;
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	if (unlink(path) == 0)
		found = 1;
	snprintf(path, sizeof(path), "%s/tc_prog", dir);
	if (unlink(path) == 0)
		found = 1;
	if (rmdir(dir) == 0)
		found = 1;
	return found ? 0 : -ENOENT;
}

/* ctl_maps_prog_fd - the program's fd */
int ctl_maps_prog_fd(const struct ctl_maps *m)
{
	return m->prog_fd;
}

/* ctl_maps_set_hs_wait - the handshake hold's wait, read by the program */
void ctl_maps_set_hs_wait(struct ctl_maps *m, uint64_t ns)
{
	__atomic_store_n(&m->skel->bss->scr_hs_wait_ns, ns, __ATOMIC_RELAXED);
}

/* ctl_maps_set_user_polls - host mode: user space polls the sample ring
 * on a timer now; new flows' first samples need not wake it. Turned off,
 * a full fence before the caller's last look at the ring. */
void ctl_maps_set_user_polls(struct ctl_maps *m, bool on)
{
	__atomic_store_n(&m->skel->bss->scr_user_polls, on ? 1u : 0u,
			 __ATOMIC_SEQ_CST);
}

/* ctl_maps_seat_steer - the seat's listening sockets into seat_sock (fd
 * -1: none for that family) and the sk_lookup program attached to this
 * process's network namespace; 0 or -errno with err */
int ctl_maps_seat_steer(struct ctl_maps *m, int fd4, int fd6, char *err,
			size_t errlen)
{
	__u32 key[2] = { SCR_SEAT_SOCK_V4, SCR_SEAT_SOCK_V6 };
	int fds[2] = { fd4, fd6 }, map, ns, i, rc;
	__u64 v;

	if (!m->skel || !bpf_program__autoload(m->skel->progs.scr_seat_steer)) {
		snprintf(err, errlen, "seat steering: program not loaded");
		return -EINVAL;
	}
	map = bpf_map__fd(m->skel->maps.seat_sock);
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		v = (__u64)fds[i];
		if (bpf_map_update_elem(map, &key[i], &v, BPF_ANY)) {
			rc = -errno;
			snprintf(err, errlen, "seat steering: socket into seat_sock: %s",
				 strerror(errno));
			return rc;
		}
	}
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		rc = -errno;
		snprintf(err, errlen, "seat steering: /proc/self/ns/net: %s",
			 strerror(errno));
		return rc;
	}
	m->seat_link = bpf_program__attach_netns(m->skel->progs.scr_seat_steer, ns);
	rc = m->seat_link ? 0 : -errno;
	close(ns);
	if (rc)
		snprintf(err, errlen, "seat steering: attach sk_lookup to the network "
			 "namespace: %s (kernel without CONFIG_BPF_SYSCALL sk_lookup, "
			 "5.9+?)", strerror(-rc));
	return rc;
}

/* ctl_maps_tc_prog_fd - the TC egress program's fd (host mode) */
int ctl_maps_tc_prog_fd(const struct ctl_maps *m)
{
	return m->tc_prog_fd;
}

/* ctl_maps_map_fd - a map's fd by name */
int ctl_maps_map_fd(const struct ctl_maps *m, const char *name)
{
	int i;

	for (i = 0; i < CTL_MAP_MAX; i++)
		if (strcmp(ctl_map_name[i], name) == 0)
			return m->fd[i];
	return -1;
}

/* ctl_maps_active - the copy packets use now */
unsigned ctl_maps_active(const struct ctl_maps *m)
{
	return __atomic_load_n(&m->state->active, __ATOMIC_ACQUIRE) & 1;
}

/* ---- IPv4: prefixes to intervals to DXR ranges ---- */

struct ctl_v4pfx {
	uint32_t start;		/* host order, masked */
	uint32_t end;
	uint8_t plen;		/* 0..32 */
	uint8_t ans;
};

/* The painter: intervals in ascending order, merged when equal, written
 * as DXR ranges into d (d->ranges NULL: only count them in d->nranges). */
struct ctl_painter {
	struct ctl_dxr *d;
	uint64_t pend_s, pend_e;	/* pending interval, pend_s > pend_e none */
	uint8_t pend_ans;
	int err;
};

/* ctl_paint_now - one maximal interval into the DXR form: a range for its
 * start and for the start of every chunk it covers; -ENOSPC past d->cap */
static void ctl_paint_now(struct ctl_painter *p, uint64_t s, uint64_t e,
			  uint8_t ans)
{
	const uint64_t off_mask = (1u << SCR_XDP_DXR_OFF_BITS) - 1;
	struct ctl_dxr *d = p->d;

	while (s <= e && !p->err) {
		uint64_t c = s >> SCR_XDP_DXR_OFF_BITS;

		if (d->ranges) {
			if (d->nranges >= d->cap) {
				p->err = -ENOSPC;
				return;
			}
			if ((s & off_mask) == 0)
				d->base[c] = (uint32_t)d->nranges;
			d->ranges[d->nranges] = (uint16_t)((s & off_mask) << 2 | ans);
		}
		d->nranges++;
		s = (c + 1) << SCR_XDP_DXR_OFF_BITS;
	}
}

/* ctl_paint - add an interval, merging it with an equal neighbour */
static void ctl_paint(struct ctl_painter *p, uint64_t s, uint64_t e,
		      uint8_t ans)
{
	if (s > e)
		return;
	if (p->pend_s <= p->pend_e && p->pend_ans == ans &&
	    p->pend_e + 1 == s) {
		p->pend_e = e;
		return;
	}
	if (p->pend_s <= p->pend_e)
		ctl_paint_now(p, p->pend_s, p->pend_e, p->pend_ans);
	p->pend_s = s;
	p->pend_e = e;
	p->pend_ans = ans;
}

/* ctl_v4_sweep - longest-prefix intervals of sorted prefixes to painter */
static int ctl_v4_sweep(const struct ctl_v4pfx *v, size_t n,
			struct ctl_painter *p)
{
	struct { uint64_t end; uint8_t ans; } stack[34];
	uint64_t pos = 0;
	size_t i;
	int top = -1;

	p->pend_s = 1;
	p->pend_e = 0;
	for (i = 0; i < n; i++) {
		/* A later duplicate of the same prefix replaces this one. */
		if (i + 1 < n && v[i + 1].start == v[i].start &&
		    v[i + 1].plen == v[i].plen)
			continue;
		while (top >= 0 && stack[top].end < v[i].start) {
			ctl_paint(p, pos, stack[top].end, stack[top].ans);
			if (stack[top].end + 1 > pos)
				pos = stack[top].end + 1;
			top--;
		}
		if (pos < v[i].start) {
			ctl_paint(p, pos, (uint64_t)v[i].start - 1,
				  top >= 0 ? stack[top].ans : SCR_XDP_ANS_NONE);
			pos = v[i].start;
		}
		stack[++top].end = v[i].end;
		stack[top].ans = v[i].ans;
	}
	while (top >= 0) {
		ctl_paint(p, pos, stack[top].end, stack[top].ans);
		if (stack[top].end + 1 > pos)
			pos = stack[top].end + 1;
		top--;
	}
	ctl_paint(p, pos, 0xffffffffull, SCR_XDP_ANS_NONE);
	ctl_paint_now(p, p->pend_s, p->pend_e, p->pend_ans);
	if (p->d->ranges && !p->err)
		p->d->base[SCR_XDP_DXR_CHUNKS] = (uint32_t)p->d->nranges;
	return p->err;
}

#define CTL_SORT_BITS	13	/* radix digit: 3 passes over start << 6 | plen */

/* ctl_v4_sort - sort v by start, then shorter first, stable (a later
 * duplicate stays after the earlier one: it wins); tmp holds n, cnt
 * 2^CTL_SORT_BITS. An LSD radix sort: qsort took 2.3 s of 10M prefixes'
 * 4.3 s build (issue 16). */
static void ctl_v4_sort(struct ctl_v4pfx *v, struct ctl_v4pfx *tmp, size_t n,
			size_t *cnt)
{
	static const unsigned shift[3] = { 0, CTL_SORT_BITS, 2 * CTL_SORT_BITS };
	struct ctl_v4pfx *from = v, *to = tmp, *t;
	size_t i, sum, c;
	unsigned pass;

	for (pass = 0; pass < 3; pass++) {
		memset(cnt, 0, sizeof(*cnt) << CTL_SORT_BITS);
		for (i = 0; i < n; i++)
			cnt[((uint64_t)from[i].start << 6 | from[i].plen) >> shift[pass] &
			    ((1u << CTL_SORT_BITS) - 1)]++;
		for (i = 0, sum = 0; i < (1u << CTL_SORT_BITS); i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			to[cnt[((uint64_t)from[i].start << 6 | from[i].plen) >> shift[pass] &
			       ((1u << CTL_SORT_BITS) - 1)]++] = from[i];
		t = from;
		from = to;
		to = t;
	}
	if (from != v)		/* an odd number of passes ends in tmp */
		memcpy(v, from, n * sizeof(*v));
}

/* ctl_v4_collect - the IPv4 entries as sorted ctl_v4pfx; count in *nv */
static struct ctl_v4pfx *ctl_v4_collect(const struct ctl_xdp_entry *e,
					size_t n, size_t *nv)
{
	struct ctl_v4pfx *v, *tmp;
	size_t i, k = 0, *cnt;

	v = malloc((n ? n : 1) * sizeof(*v));
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	cnt = malloc(sizeof(*cnt) << CTL_SORT_BITS);
	if (!v || !tmp || !cnt) {
		free(v);
		free(tmp);
		free(cnt);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		uint32_t a, mask;
		unsigned plen;

		if (!ctl_addr_is_v4(&e[i].net) || e[i].plen < 96)
			continue;
		plen = e[i].plen - 96u;
		memcpy(&a, &e[i].net.b[12], 4);
		a = ntohl(a);
		mask = plen ? ~0u << (32 - plen) : 0;
		v[k].start = a & mask;
		v[k].end = (a & mask) | ~mask;
		v[k].plen = (uint8_t)plen;
		v[k].ans = e[i].ans;
		k++;
	}
	ctl_v4_sort(v, tmp, k, cnt);
	free(tmp);
	free(cnt);
	*nv = k;
	return v;
}

/* ctl_dxr_fill - sweep v into d (d->ranges NULL: count only) */
static int ctl_dxr_fill(const struct ctl_v4pfx *v, size_t nv, struct ctl_dxr *d)
{
	struct ctl_painter p = { .d = d };

	d->nranges = 0;
	return ctl_v4_sweep(v, nv, &p);
}

/* ctl_maps_dxr_needed - DXR ranges a list's IPv4 entries take */
uint32_t ctl_maps_dxr_needed(const struct ctl_xdp_entry *e, size_t n)
{
	struct ctl_dxr d = {};
	struct ctl_v4pfx *v;
	size_t nv;

	v = ctl_v4_collect(e, n, &nv);
	if (!v)
		return UINT32_MAX;
	ctl_dxr_fill(v, nv, &d);
	free(v);
	return d.nranges > UINT32_MAX ? UINT32_MAX : (uint32_t)d.nranges;
}

/* ctl_maps_dxr_build - the DXR form of a list's IPv4 entries */
int ctl_maps_dxr_build(const struct ctl_xdp_entry *e, size_t n,
		       struct ctl_dxr *d)
{
	struct ctl_v4pfx *v;
	size_t nv;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	v = ctl_v4_collect(e, n, &nv);
	if (!v)
		return -ENOMEM;
	ctl_dxr_fill(v, nv, d);		/* count the ranges */
	d->cap = d->nranges;
	d->base = calloc(SCR_XDP_DXR_BASE_VALS, sizeof(struct scr_xdp_dxr_base));
	d->ranges = calloc(d->cap / SCR_XDP_DXR_RANGE_PER + 1,
			   sizeof(struct scr_xdp_dxr_range));
	if (!d->base || !d->ranges) {
		ctl_maps_dxr_free(d);
		rc = -ENOMEM;
		goto out;
	}
	rc = ctl_dxr_fill(v, nv, d);
out:
	free(v);
	return rc;
}

/* ctl_maps_dxr_free - free a DXR form's arrays */
void ctl_maps_dxr_free(struct ctl_dxr *d)
{
	free(d->base);
	free(d->ranges);
	memset(d, 0, sizeof(*d));
}

/* ctl_maps_dxr_lookup - answer of a (host order) in a DXR form */
uint32_t ctl_maps_dxr_lookup(const struct ctl_dxr *d, uint32_t a)
{
	uint32_t c = a >> SCR_XDP_DXR_OFF_BITS, lo = d->base[c];
	uint32_t len = d->base[c + 1] - lo;
	uint32_t want = (a & ((1u << SCR_XDP_DXR_OFF_BITS) - 1)) << 2 | 3;

	while (len > 1) {
		uint32_t half = len >> 1;

		if (d->ranges[lo + half] <= want)
			lo += half;
		len -= half;
	}
	return d->ranges[lo] & 3;
}

/* ctl_entry_check - reject entries the kernel structures cannot hold */
static int ctl_entry_check(const struct ctl_xdp_entry *e)
{
	struct scr_addr a = e->net;

	if (e->plen > 128 || e->ans >= SCR_XDP_ANS_MAX)
		return -EINVAL;
	ctl_addr_mask(&a, e->plen);
	if (memcmp(&a, &e->net, sizeof(a)))
		return -EINVAL;	/* host bits set */
	return 0;
}

/* ctl_perm6_clear - delete every key of a perm6 map */
static int ctl_perm6_clear(int fd)
{
	struct scr_xdp_perm6_key key, next, *keys = NULL;
	size_t n = 0, cap = 0;
	__u32 count;
	int rc = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (n == cap) {
			void *nk;

			cap = cap ? cap * 2 : 1024;
			nk = realloc(keys, cap * sizeof(*keys));
			if (!nk) {
				rc = -ENOMEM;
				goto out;
			}
			keys = nk;
		}
		keys[n++] = next;
		key = next;
		prev = &key;
	}
	if (n) {
		count = (__u32)n;
		if (bpf_map_delete_batch(fd, keys, &count, NULL))
			rc = -errno;
	}
out:
	free(keys);
	return rc;
}

/* ctl_maps_set_inner - fd becomes the map of inner id (the old one is
 * closed when it was ours) */
static void ctl_maps_set_inner(struct ctl_maps *m, int id, int fd)
{
	if (m->own_inner[id - CTL_MAP_RANGES_A])
		close(m->fd[id]);
	m->fd[id] = fd;
	m->own_inner[id - CTL_MAP_RANGES_A] = true;
}

/* ctl_maps_sync_slot - copy c's inner maps as the outer maps hold them
 * now: another process (xdp reload beside a daemon) may have grown them */
static int ctl_maps_sync_slot(struct ctl_maps *m, unsigned c)
{
	static const int outer[2] = { CTL_MAP_RANGES, CTL_MAP_PERM6 };
	bool changed = false;
	unsigned k;

	for (k = 0; k < 2; k++) {
		int id = (k ? CTL_MAP_PERM6_A : CTL_MAP_RANGES_A) + (int)c, fd;
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi), slot = c, mid;

		if (bpf_map_lookup_elem(m->fd[outer[k]], &slot, &mid) ||
		    bpf_obj_get_info_by_fd(m->fd[id], &mi, &mlen))
			return -errno;
		if (mi.id == mid)
			continue;
		fd = bpf_map_get_fd_by_id(mid);
		if (fd < 0)
			return -errno;
		ctl_maps_set_inner(m, id, fd);
		changed = true;
	}
	return changed ? ctl_maps_slot_map(m, c) : 0;
}

/* ctl_maps_grow - copy c (inactive: no packet reads it) gets a new, empty
 * inner map: DXR ranges (vals array values != 0) or perm6 prefixes (p6) */
static int ctl_maps_grow(struct ctl_maps *m, unsigned c, uint32_t vals,
			 uint32_t p6)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	__u32 slot = c;
	int fd, rc, id, outer;

	if (vals) {
		o.map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP;
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, ctl_map_name[CTL_MAP_RANGES_A + c],
				    sizeof(__u32), sizeof(struct scr_xdp_dxr_range),
				    vals, &o);
		id = CTL_MAP_RANGES_A + (int)c;
		outer = CTL_MAP_RANGES;
	} else {
		o.map_flags = BPF_F_NO_PREALLOC;
		fd = bpf_map_create(BPF_MAP_TYPE_HASH, ctl_map_name[CTL_MAP_PERM6_A + c],
				    sizeof(struct scr_xdp_perm6_key),
				    sizeof(struct scr_xdp_perm6_val), p6, &o);
		id = CTL_MAP_PERM6_A + (int)c;
		outer = CTL_MAP_PERM6;
	}
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(m->fd[outer], &slot, &fd, BPF_ANY)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	ctl_maps_set_inner(m, id, fd);
	return ctl_maps_slot_map(m, c);
}

/* ctl_maps_sizes - the size of the maps of both copies */
void ctl_maps_sizes(const struct ctl_maps *m, struct ctl_maps_size *out)
{
	unsigned c;

	memset(out, 0, sizeof(*out));
	for (c = 0; c < 2; c++) {
		out->ranges[c] = m->ranges_max[c];
		out->perm6_max[c] = m->perm6_max[c];
		/* a prefix in a hash map: key, value, element header */
		out->bytes += m->base_len + m->ranges_len[c] +
			      (uint64_t)m->perm6_max[c] * 64;
	}
}

/* ctl_maps_describe - the permanent list's maps in one phrase */
void ctl_maps_describe(const struct ctl_maps *m, char *buf, size_t len)
{
	struct ctl_maps_size z;

	ctl_maps_sizes(m, &z);
	snprintf(buf, len, "XDP maps of the permanent list: %.1f MiB (IPv4 "
		 "ranges %u + %u, IPv6 prefixes %u + %u: copies A + B)",
		 (double)z.bytes / 1048576.0, z.ranges[0], z.ranges[1],
		 z.perm6_max[0], z.perm6_max[1]);
}

/* ctl_lens_cmp - descending prefix lengths */
static int ctl_lens_cmp(const void *a, const void *b)
{
	return (int)*(const uint8_t *)b - (int)*(const uint8_t *)a;
}

/* ctl_maps_replace - write the list into the inactive copy, then flip */
int ctl_maps_replace(struct ctl_maps *m, const struct ctl_xdp_entry *e,
		     size_t n)
{
	struct ctl_dxr d = {};
	struct ctl_v4pfx *v = NULL;
	struct scr_xdp_perm6_key *k6 = NULL;
	struct scr_xdp_perm6_val *v6 = NULL;
	uint8_t present[129] = { 0 }, lens[136];
	size_t i, nv, n6 = 0, nl = 0;
	unsigned tgt;
	int rc = 0;

	for (i = 0; i < n; i++) {
		rc = ctl_entry_check(&e[i]);
		if (rc)
			goto out;
	}
	tgt = ctl_maps_active(m) ^ 1;
	/* Readers that picked this copy before the last flip are long gone
	 * after the grace period (see DESCRIPTION). Maps this process loaded
	 * and never flipped have had none: the first write goes to copy B,
	 * which no packet has been pointed to (20 ms of every attach and
	 * host start). */
	if (!m->unread)
		usleep(CTL_MAPS_GRACE_MS * 1000);

	rc = ctl_maps_sync_slot(m, tgt);
	if (rc)
		goto out;
	v = ctl_v4_collect(e, n, &nv);
	k6 = malloc((n ? n : 1) * sizeof(*k6));
	v6 = malloc((n ? n : 1) * sizeof(*v6));
	if (!v || !k6 || !v6) {
		rc = -ENOMEM;
		goto out;
	}
	/* The ranges this list needs (a sweep that only counts): a copy
	 * too small gets a bigger map before it is written. */
	ctl_dxr_fill(v, nv, &d);
	if (d.nranges > m->ranges_max[tgt]) {
		rc = ctl_maps_grow(m, tgt, ctl_maps_ranges_vals(ctl_maps_grown(
					d.nranges, CTL_MAPS_RANGES_DEFAULT)), 0);
		if (rc)
			goto out;
	}
	d.base = m->base[tgt];
	d.ranges = m->ranges[tgt];
	d.cap = m->ranges_max[tgt];
	rc = ctl_dxr_fill(v, nv, &d);
	if (rc)
		goto out;

	for (i = 0; i < n; i++) {
		if (ctl_addr_is_v4(&e[i].net) && e[i].plen >= 96)
			continue;
		memset(&k6[n6], 0, sizeof(k6[n6]));
		k6[n6].plen = e[i].plen;
		memcpy(k6[n6].addr, e[i].net.b, 16);
		memset(&v6[n6], 0, sizeof(v6[n6]));
		v6[n6].ans = e[i].ans;
		present[e[i].plen] = 1;
		n6++;
	}
	if (n6 > m->perm6_max[tgt]) {
		rc = ctl_maps_grow(m, tgt, 0, ctl_maps_grown(n6,
					CTL_MAPS_PERM6_DEFAULT));
		if (rc)
			goto out;
	}
	rc = ctl_perm6_clear(m->fd[CTL_MAP_PERM6_A + tgt]);
	if (rc)
		goto out;
	for (i = 0; i < n6; i += CTL_MAPS_BATCH) {
		__u32 cnt = (__u32)(n6 - i < CTL_MAPS_BATCH ? n6 - i :
				    CTL_MAPS_BATCH);

		if (bpf_map_update_batch(m->fd[CTL_MAP_PERM6_A + tgt], &k6[i],
					 &v6[i], &cnt, NULL)) {
			rc = -errno;
			goto out;
		}
	}
	for (i = 0; i <= 128; i++)
		if (present[i])
			lens[nl++] = (uint8_t)i;
	qsort(lens, nl, 1, ctl_lens_cmp);
	memcpy(m->state->perm6_lens[tgt], lens, nl);
	__atomic_store_n(&m->state->perm6_nlens[tgt], (uint32_t)nl,
			 __ATOMIC_RELEASE);
	/* The flip: from here on every packet reads the new copy. */
	__atomic_store_n(&m->state->active, tgt, __ATOMIC_SEQ_CST);
	m->unread = false;
out:
	free(v);
	free(k6);
	free(v6);
	return rc;
}

/* ---- dynamic entries ---- */

/* ctl_dyn_key - fill the map key of an entry; its fd in *fd */
static int ctl_dyn_key(struct ctl_maps *m, unsigned kind,
		       const struct scr_addr *net, unsigned plen, void *key,
		       int *fd, bool *v4)
{
	struct scr_addr a = *net;

	if (kind >= SCR_XDP_KIND_MAX || plen > 128)
		return -EINVAL;
	ctl_addr_mask(&a, plen);
	*v4 = ctl_addr_is_v4(&a) && plen >= 96;
	if (*v4) {
		struct scr_xdp_dyn4_key *k = key;

		memset(k, 0, sizeof(*k));
		k->kind = (__u8)kind;
		k->plen = (__u8)(plen - 96);
		memcpy(&k->addr, &a.b[12], 4);
		*fd = m->fd[CTL_MAP_DYN4];
	} else {
		struct scr_xdp_dyn6_key *k = key;

		memset(k, 0, sizeof(*k));
		k->kind = (__u8)kind;
		k->plen = (__u8)plen;
		memcpy(k->addr, a.b, 16);
		*fd = m->fd[CTL_MAP_DYN6];
	}
	return 0;
}

/* ctl_maps_dyn_add - add or refresh one dynamic entry */
int ctl_maps_dyn_add(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen,
		     uint32_t ttl_s, uint32_t reasons)
{
	return ctl_maps_dyn_add_batch(m, kind, net, &plen, 1, ttl_s, reasons);
}

/* ctl_maps_dyn_add_batch - add n entries with bpf_map_update_batch */
int ctl_maps_dyn_add_batch(struct ctl_maps *m, enum scr_xdp_kind kind,
			   const struct scr_addr *nets, const unsigned *plens,
			   size_t n, uint32_t ttl_s, uint32_t reasons)
{
	struct scr_xdp_dyn4_key *k4 = NULL;
	struct scr_xdp_dyn6_key *k6 = NULL;
	struct scr_xdp_dyn_val *vals = NULL;
	uint64_t now = ctl_maps_now_ns(), m4 = 0, m6[3] = { 0 };
	size_t i, n4 = 0, n6 = 0;
	int rc = 0, fd;
	bool v4;

	if (ttl_s > SCR_XDP_TTL_MAX_S || kind >= SCR_XDP_KIND_MAX)
		return -ERANGE;
	k4 = calloc(n ? n : 1, sizeof(*k4));
	k6 = calloc(n ? n : 1, sizeof(*k6));
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!k4 || !k6 || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		union { struct scr_xdp_dyn4_key k4; struct scr_xdp_dyn6_key k6; } k;

		rc = ctl_dyn_key(m, kind, &nets[i], plens[i], &k, &fd, &v4);
		if (rc)
			goto out;
		if (v4) {
			k4[n4++] = k.k4;
			m4 |= 1ull << k.k4.plen;
		} else {
			k6[n6++] = k.k6;
			m6[k.k6.plen / 64] |= 1ull << (k.k6.plen % 64);
		}
	}
	for (i = 0; i < n; i++) {
		vals[i].expires_ns = ttl_s ? now + (uint64_t)ttl_s * 1000000000ull : 0;
		vals[i].added_ns = now;
		vals[i].reasons = reasons;
	}
	for (i = 0; i < n4; i += CTL_MAPS_BATCH) {
		__u32 cnt = (__u32)(n4 - i < CTL_MAPS_BATCH ? n4 - i : CTL_MAPS_BATCH);

		if (bpf_map_update_batch(m->fd[CTL_MAP_DYN4], &k4[i], vals,
					 &cnt, NULL)) {
			rc = -errno;
			goto out;
		}
	}
	for (i = 0; i < n6; i += CTL_MAPS_BATCH) {
		__u32 cnt = (__u32)(n6 - i < CTL_MAPS_BATCH ? n6 - i : CTL_MAPS_BATCH);

		if (bpf_map_update_batch(m->fd[CTL_MAP_DYN6], &k6[i], vals,
					 &cnt, NULL)) {
			rc = -errno;
			goto out;
		}
	}
	/* Entries first, then the length bits: a set bit never points at
	 * nothing that should have been there. */
	__atomic_fetch_or(&m->state->dyn4_mask[kind], m4, __ATOMIC_SEQ_CST);
	for (i = 0; i < 3; i++)
		__atomic_fetch_or(&m->state->dyn6_mask[kind][i], m6[i],
				  __ATOMIC_SEQ_CST);
out:
	free(k4);
	free(k6);
	free(vals);
	return rc;
}

/* ctl_dyn_walk - call cb(arg, kind, plen, v4, key, val) for every entry */
static int ctl_dyn_walk(struct ctl_maps *m, bool v4,
			int (*cb)(void *arg, bool v4, const void *key,
				  const struct scr_xdp_dyn_val *val),
			void *arg)
{
	union { struct scr_xdp_dyn4_key k4; struct scr_xdp_dyn6_key k6; } key,
		next;
	struct scr_xdp_dyn_val val;
	int fd = m->fd[v4 ? CTL_MAP_DYN4 : CTL_MAP_DYN6];
	void *prev = NULL;
	int rc;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;	/* deleted meanwhile */
		rc = cb(arg, v4, &key, &val);
		if (rc)
			return rc;
	}
	return 0;
}

struct ctl_rescan {
	uint64_t m4[SCR_XDP_KIND_MAX];
	uint64_t m6[SCR_XDP_KIND_MAX][3];
};

/* ctl_rescan_cb - collect the lengths present */
static int ctl_rescan_cb(void *arg, bool v4, const void *key,
			 const struct scr_xdp_dyn_val *val)
{
	struct ctl_rescan *r = arg;

	if (v4) {
		const struct scr_xdp_dyn4_key *k = key;

		r->m4[k->kind & 1] |= 1ull << (k->plen & 63);
	} else {
		const struct scr_xdp_dyn6_key *k = key;

		r->m6[k->kind & 1][(k->plen / 64) % 3] |= 1ull << (k->plen % 64);
	}
	return 0;
}

/* ctl_dyn_rescan - clear the length bits no entry uses any more */
static int ctl_dyn_rescan(struct ctl_maps *m)
{
	struct ctl_rescan r = {};
	int rc, k, w;

	rc = ctl_dyn_walk(m, true, ctl_rescan_cb, &r);
	if (!rc)
		rc = ctl_dyn_walk(m, false, ctl_rescan_cb, &r);
	if (rc)
		return rc;
	for (k = 0; k < SCR_XDP_KIND_MAX; k++) {
		__atomic_fetch_and(&m->state->dyn4_mask[k], r.m4[k],
				   __ATOMIC_SEQ_CST);
		for (w = 0; w < 3; w++)
			__atomic_fetch_and(&m->state->dyn6_mask[k][w],
					   r.m6[k][w], __ATOMIC_SEQ_CST);
	}
	return 0;
}

/* ctl_maps_dyn_del - delete one dynamic entry */
int ctl_maps_dyn_del(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen)
{
	union { struct scr_xdp_dyn4_key k4; struct scr_xdp_dyn6_key k6; } k;
	int rc, fd;
	bool v4;

	rc = ctl_dyn_key(m, kind, net, plen, &k, &fd, &v4);
	if (rc)
		return rc;
	if (bpf_map_delete_elem(fd, &k))
		return -errno;
	return ctl_dyn_rescan(m);
}

struct ctl_list_arg {
	int (*cb)(void *arg, const struct ctl_dyn_entry *e);
	void *arg;
};

/* ctl_list_cb - turn a map entry into a ctl_dyn_entry */
static int ctl_list_cb(void *arg, bool v4, const void *key,
		       const struct scr_xdp_dyn_val *val)
{
	struct ctl_list_arg *la = arg;
	struct ctl_dyn_entry e = {};

	if (v4) {
		const struct scr_xdp_dyn4_key *k = key;

		e.kind = k->kind;
		memcpy(e.net.b, ctl_v4_prefix, 12);
		memcpy(&e.net.b[12], &k->addr, 4);
		e.plen = 96u + k->plen;
	} else {
		const struct scr_xdp_dyn6_key *k = key;

		e.kind = k->kind;
		memcpy(e.net.b, k->addr, 16);
		e.plen = k->plen;
	}
	e.val = *val;
	return la->cb(la->arg, &e);
}

/* ctl_maps_dyn_list - every dynamic entry to cb */
int ctl_maps_dyn_list(struct ctl_maps *m,
		      int (*cb)(void *arg, const struct ctl_dyn_entry *e),
		      void *arg)
{
	struct ctl_list_arg la = { cb, arg };
	int rc;

	rc = ctl_dyn_walk(m, true, ctl_list_cb, &la);
	if (!rc)
		rc = ctl_dyn_walk(m, false, ctl_list_cb, &la);
	return rc;
}

struct ctl_sweep {
	struct ctl_maps *m;
	uint64_t now;
	size_t removed;
};

/* ctl_sweep_cb - delete an expired entry */
static int ctl_sweep_cb(void *arg, bool v4, const void *key,
			const struct scr_xdp_dyn_val *val)
{
	struct ctl_sweep *s = arg;
	int fd = s->m->fd[v4 ? CTL_MAP_DYN4 : CTL_MAP_DYN6];

	if (val->expires_ns == 0 || val->expires_ns > s->now)
		return 0;
	if (bpf_map_delete_elem(fd, key) == 0)
		s->removed++;
	return 0;
}

/* ctl_maps_sweep - delete expired dynamic entries */
int ctl_maps_sweep(struct ctl_maps *m, size_t *removed)
{
	struct ctl_sweep s = { m, ctl_maps_now_ns(), 0 };
	int rc;

	rc = ctl_dyn_walk(m, true, ctl_sweep_cb, &s);
	if (!rc)
		rc = ctl_dyn_walk(m, false, ctl_sweep_cb, &s);
	if (!rc && s.removed)
		rc = ctl_dyn_rescan(m);
	if (removed)
		*removed = s.removed;
	return rc;
}

/* ctl_maps_sum - sum n per-CPU counters of the map fd */
int ctl_maps_sum(int fd, struct scr_xdp_ctr_val *out, __u32 n)
{
	struct scr_xdp_ctr_val *pc;
	int ncpu = libbpf_num_possible_cpus(), c, rc = 0;
	__u32 i;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		out[i].packets = out[i].bytes = 0;
		if (bpf_map_lookup_elem(fd, &i, pc)) {
			rc = -errno;
			break;
		}
		for (c = 0; c < ncpu; c++) {
			out[i].packets += pc[c].packets;
			out[i].bytes += pc[c].bytes;
		}
	}
	free(pc);
	return rc;
}

/* ctl_maps_stats - sum the per-CPU counters */
int ctl_maps_stats(struct ctl_maps *m,
		   struct scr_xdp_ctr_val out[SCR_XDP_C_MAX])
{
	return ctl_maps_sum(m->fd[CTL_MAP_COUNTERS], out, SCR_XDP_C_MAX);
}

/* ctl_maps_host_stats - sum the host-mode event counters */
int ctl_maps_host_stats(struct ctl_maps *m,
			struct scr_xdp_ctr_val out[SCR_HOST_C_MAX])
{
	if (m->fd[CTL_MAP_HOST_CTR] < 0)
		return -ENOENT;		/* not host mode */
	return ctl_maps_sum(m->fd[CTL_MAP_HOST_CTR], out, SCR_HOST_C_MAX);
}
