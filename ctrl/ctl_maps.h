/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_maps - the XDP program's maps: load, pin, fill, replace, sweep
 * DESCRIPTION
 *	Owns the user-space side of bpf/scr_xdp.bpf.c: loads it through the
 *	libbpf skeleton with its knobs (ports, block-all, xsk redirect), pins
 *	its maps and program under SCR_XDP_PIN_DIR, or reopens them from the
 *	pins (smtpscreenctl). Writes the permanent list (compiled access
 *	list) into the inactive copy A/B and flips the one-word selector
 *	after the copy is complete, so a packet always sees one whole list.
 *	Writes dynamic allow/block entries (batch), lists them, sweeps
 *	expired ones and reads the per-CPU counters. Does not attach to an
 *	interface (ctl_xdp) and does not compile access lists (ctl_aclcomp).
 * CONTRACT
 *	ctl_maps_load(opts, err, errlen): NULL + errno and a message naming
 *	  the object/map on failure. ctl_maps_open_pinned(): -ENOENT in errno
 *	  when no program is pinned ("no program loaded").
 *	ctl_maps_replace(m, e, n): 0, -EINVAL (bad entry), -errno. A list
 *	  with more IPv4 DXR ranges or IPv6 prefixes than the inactive copy
 *	  holds gets bigger maps in that copy first (the inner maps of the
 *	  dxr_ranges and perm6 map-in-maps), before the flip.
 *	  Entries use scr_addr (IPv4 v4-mapped, plen 96..128); a later
 *	  duplicate of the same prefix wins.
 *	ctl_maps_dyn_add(m, kind, net, plen, ttl_s, reasons): ttl_s 0 = no
 *	  expiry; 0 or -errno. ctl_maps_dyn_add_batch(): same, n at once.
 *	ctl_maps_dyn_del(): -ENOENT when absent.
 *	ctl_maps_dyn_list(m, cb, arg): calls cb per entry (expired included),
 *	  stops at the first non-zero cb return and returns it.
 *	ctl_maps_sweep(m, &removed): deletes expired entries.
 *	ctl_maps_stats(m, out): sums the per-CPU counters;
 *	  ctl_maps_host_stats(m, out) the host-mode ones.
 *	Host mode (opts->host): also loads the TC egress program, sizes the
 *	  flow map and ring buffer, sets the sampling and hold knobs, and
 *	  pins the TC program as tc_prog beside prog.
 * THREADING
 *	Control thread only; one writer at a time (the daemon serializes
 *	smtpscreenctl through its control socket later).
 */
#ifndef CTL_MAPS_H
#define CTL_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scr_types.h"
#include "smtpscreen_abi.h"

/* One prefix of the permanent list with its answer. */
struct ctl_xdp_entry {
	struct scr_addr net;	/* IPv4 as ::ffff:a.b.c.d */
	uint8_t plen;		/* 0..128 (IPv4: 96..128) */
	uint8_t ans;		/* enum scr_xdp_ans */
	uint8_t _pad[2];
};

struct ctl_maps_opts {
	uint16_t ports[SCR_XDP_MAX_PORTS];	/* host order; nports 0 = {25} */
	unsigned nports;
	bool block_all;		/* blocks apply to all traffic of a client */
	bool xsk_redirect;	/* passed SMTP packets to xsks_map */
	uint32_t dxr_ranges;	/* IPv4 DXR ranges a list needs (ctl_maps_dxr_needed):
				 * each copy gets half as much again, at
				 * least 2^19; 0 = that default */
	uint32_t perm6_max;	/* IPv6 prefixes per copy; 0 = default */
	/* Host mode (ctl_hostbpf): flows, samples, greet hold, TC program. */
	bool host;		/* sampling on, TC egress program loaded */
	uint32_t sample_bytes;	/* frame bytes per sample; 0 = SCR_HOST_SAMPLE_MAX */
	uint64_t greet_hold_ns;	/* 0: no greet hold */
	uint64_t hold_grace_ns;	/* added to the hold (fail-open deadline) */
	uint64_t data_hold_ns;	/* 0: no 354 hold; else its fail-open deadline */
	bool overload_drop;	/* a hold past its deadline is dropped, not passed */
	bool hs_hold;		/* handshake hold (smtpscreen_host_hold) */
	bool hs_reset;		/* ... a pregreeter's half-open connection ends */
	bool seat_steer;	/* load the sk_lookup program (seat steering) */
	bool sample_lazy;	/* samples of known flows wake no one (the
				 * reader polls while flows are undecided) */
	uint32_t flow_map_size;	/* host_flows entries; 0 = default */
	uint32_t ringbuf_bytes;	/* host_samples size, power of 2; 0 = default */
};

/* One dynamic entry as listed. */
struct ctl_dyn_entry {
	enum scr_xdp_kind kind;
	struct scr_addr net;	/* IPv4 as ::ffff:a.b.c.d */
	unsigned plen;		/* 0..128 (IPv4: 96..128) */
	struct scr_xdp_dyn_val val;
};

struct ctl_maps;

extern const char *const ctl_maps_ctr_name[SCR_XDP_C_MAX];
extern const char *const ctl_maps_host_ctr_name[SCR_HOST_C_MAX];
extern const char *const ctl_maps_kind_name[SCR_XDP_KIND_MAX];

struct ctl_maps *ctl_maps_load(const struct ctl_maps_opts *opts, char *err,
			       size_t errlen);
struct ctl_maps *ctl_maps_open_pinned(const char *dir, char *err,
				      size_t errlen);
void ctl_maps_destroy(struct ctl_maps *m);
int ctl_maps_pin(struct ctl_maps *m, const char *dir);
int ctl_maps_unpin(const char *dir);
/* Mount bpffs on dir's parent unless it is one already; 0 or -errno;
 * -EXDEV when it is not one and this process is in a mount namespace of
 * its own (`ip netns exec`): a mount would vanish with it, and the pins. */
int ctl_maps_bpffs(const char *dir);
/* The message for ctl_maps_bpffs's -EXDEV. */
#define CTL_MAPS_NO_BPFFS "no bpf file system there in this mount namespace " \
	"(under `ip netns exec`, which mounts a fresh /sys?): pins made here would " \
	"vanish with this command; mount one (mount -t bpf bpf /sys/fs/bpf), run " \
	"with `nsenter --net=/run/netns/NS` instead, or give --pin-dir on a bpf file system"

/* Program fd (loaded or pinned); -1 if none. */
int ctl_maps_prog_fd(const struct ctl_maps *m);
/* Map fd by the name in scr_xdp.bpf.c (tests, xsk users); -1 if none. */
int ctl_maps_map_fd(const struct ctl_maps *m, const char *name);
/* TC egress program fd (host mode, loaded or pinned as tc_prog); -1 if none. */
int ctl_maps_tc_prog_fd(const struct ctl_maps *m);
/* The handshake hold's wait now (ns; 0 = none): one store the XDP program
 * reads per handshake (host mode). */
void ctl_maps_set_hs_wait(struct ctl_maps *m, uint64_t ns);
/* Host mode: user space polls the sample ring on a timer now (true), so
 * new flows' first samples need not wake it; false with a full fence,
 * before the caller looks at the ring once more. */
void ctl_maps_set_user_polls(struct ctl_maps *m, bool on);
/* smtpscreen_host_hold = seat on a port of its own: unknown clients'
 * connections to the SMTP ports go to the seat's sockets (sk_lookup);
 * 0 or -errno with err. Detached with ctl_maps_destroy. */
int ctl_maps_seat_steer(struct ctl_maps *m, int fd4, int fd6, char *err,
			size_t errlen);

/* DXR ranges a list's IPv4 entries take (size the maps before loading;
 * 2^18 at least: one per chunk); UINT32_MAX when out of memory. */
uint32_t ctl_maps_dxr_needed(const struct ctl_xdp_entry *e, size_t n);
int ctl_maps_replace(struct ctl_maps *m, const struct ctl_xdp_entry *e,
		     size_t n);
/* The DXR form (smtpscreen_abi.h) of a list's IPv4 entries, in memory:
 * 0, -ENOMEM. base and ranges are zero past their ends up to whole
 * array values (SCR_XDP_DXR_BASE_VALS, nranges / 4 + 1). */
struct ctl_dxr {
	uint32_t *base;		/* SCR_XDP_DXR_CHUNKS + 1 used */
	uint16_t *ranges;	/* nranges used */
	size_t nranges;
	size_t cap;		/* room in ranges */
};
int ctl_maps_dxr_build(const struct ctl_xdp_entry *e, size_t n,
		       struct ctl_dxr *d);
void ctl_maps_dxr_free(struct ctl_dxr *d);
/* Answer of a (host order) in d: the same search as the BPF one. */
uint32_t ctl_maps_dxr_lookup(const struct ctl_dxr *d, uint32_t a);
/* Active copy (0 = A, 1 = B): tests. */
unsigned ctl_maps_active(const struct ctl_maps *m);

/* The permanent list's maps, both copies: what the list may hold now
 * (ctl_maps_replace grows a copy that is too small) and their memory. */
struct ctl_maps_size {
	uint32_t ranges[2];		/* IPv4 DXR ranges */
	uint32_t perm6_max[2];		/* IPv6 prefixes */
	uint64_t bytes;
};
void ctl_maps_sizes(const struct ctl_maps *m, struct ctl_maps_size *out);
/* ctl_maps_describe - "XDP maps of the permanent list: M MiB (...)" */
void ctl_maps_describe(const struct ctl_maps *m, char *buf, size_t len);

int ctl_maps_dyn_add(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen,
		     uint32_t ttl_s, uint32_t reasons);
int ctl_maps_dyn_add_batch(struct ctl_maps *m, enum scr_xdp_kind kind,
			   const struct scr_addr *nets, const unsigned *plens,
			   size_t n, uint32_t ttl_s, uint32_t reasons);
int ctl_maps_dyn_del(struct ctl_maps *m, enum scr_xdp_kind kind,
		     const struct scr_addr *net, unsigned plen);
int ctl_maps_dyn_list(struct ctl_maps *m,
		      int (*cb)(void *arg, const struct ctl_dyn_entry *e),
		      void *arg);
int ctl_maps_sweep(struct ctl_maps *m, size_t *removed);
/* ctl_maps_sum - n per-CPU counters of the BPF map fd, summed over CPUs
 * (any of our counter maps); 0 or -errno */
int ctl_maps_sum(int fd, struct scr_xdp_ctr_val *out, __u32 n);
int ctl_maps_stats(struct ctl_maps *m,
		   struct scr_xdp_ctr_val out[SCR_XDP_C_MAX]);
/* Host-mode event counters summed over CPUs. */
int ctl_maps_host_stats(struct ctl_maps *m,
			struct scr_xdp_ctr_val out[SCR_HOST_C_MAX]);

/* CLOCK_BOOTTIME now in ns (the clock of expires_ns). */
uint64_t ctl_maps_now_ns(void);
/* Whether an address is IPv4 (v4-mapped). */
bool ctl_addr_is_v4(const struct scr_addr *a);
/* Mask addr to plen (0..128) in place. */
void ctl_addr_mask(struct scr_addr *a, unsigned plen);

#endif
