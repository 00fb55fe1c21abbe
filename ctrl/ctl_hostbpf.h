/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_hostbpf - the kernel side of host mode, seen from user space
 * DESCRIPTION
 *	Loads the XDP program (with sampling on) and the TC egress program
 *	on one interface, pins their maps under the pin directory, and gives
 *	the host daemon: the ring buffer of samples, the per-flow state map,
 *	greet-hold release, and the verdict maps of ctl_maps (block/allow
 *	entries, permanent list) through ctl_hostbpf_maps(). See
 *	bpf/smtpscreen_abi.h "Host mode" for the kernel's rules.
 * CONTRACT
 *	ctl_hostbpf_open(opts, err, errlen): NULL + message naming the
 *	  interface/map/program on error (kernel lacks TC BPF, no such
 *	  interface, ...). Native XDP, generic with a warning in err_warn.
 *	ctl_hostbpf_poll(h, timeout_ms, cb, arg): calls cb for each sample;
 *	  returns the number handled or -errno.
 *	ctl_hostbpf_flow_set(h, key, state): 0 or -errno.
 *	ctl_hostbpf_release(h, key): marks the greeting released; 0 or -errno.
 *	ctl_hostbpf_flow_del(h, key): 0 or -ENOENT.
 *	ctl_hostbpf_close(h, keep): detach and unpin unless keep.
 *	(hostk) The callback gets a whole struct scr_host_sample (a copy):
 *	  data[] is valid up to caplen. A negative return stops the poll and
 *	  is returned. poll returns -EINTR when a signal interrupted it.
 *	flow_set creates the entry when absent and keeps flags/hold when
 *	  present. release on an absent entry: -ENOENT.
 *	With defer_attach, open loads and pins (the maps can be filled, e.g.
 *	  blocks from the verdict cache) and ctl_hostbpf_attach() then puts
 *	  the programs on the interface, so no packet sees empty maps. If our
 *	  own program (the one pinned under pin_dir) is still attached after a
 *	  crash, attach replaces it atomically (XDP_FLAGS_REPLACE, TC replace).
 * THREADING
 *	The host daemon's thread.
 */
#ifndef CTL_HOSTBPF_H
#define CTL_HOSTBPF_H

#include <stdbool.h>
#include <stddef.h>

#include "smtpscreen_abi.h"
#include "scr_types.h"

struct ctl_maps;

struct ctl_hostbpf_opts {
	const char *ifname;
	const char *pin_dir;		/* NULL: SCR_XDP_PIN_DIR */
	int xdp_mode;			/* 0 auto (native, else generic), 1 native, 2 generic */
	const uint16_t *ports;		/* SMTP ports, host order */
	unsigned nports;
	uint64_t greet_hold_ns;		/* 0: no greet hold */
	uint32_t flow_map_size;		/* LRU entries */
	bool block_all_ports;		/* blocks apply to every port */
	uint64_t data_hold_ns;		/* 0: no 354 hold; else the fail-open
					 * deadline of a held 354 */
	/* Added by hostk (all optional; zero = default). */
	uint64_t hold_grace_ns;		/* added to greet_hold_ns for the
					 * fail-open deadline; 0 = 1 s */
	uint32_t sample_bytes;		/* frame bytes per sample; 0 = SCR_HOST_SAMPLE_MAX */
	uint32_t ringbuf_bytes;		/* power of 2; 0 = 8 MiB */
	uint32_t dxr_ranges;		/* permanent list sizes (ctl_maps_opts); */
	uint32_t perm6_max;		/* 0 = default */
	bool hs_hold;			/* smtpscreen_host_hold = handshake */
	bool seat_steer;		/* load the sk_lookup steering to the seat */
	bool sample_lazy;		/* only a flow's first sample and held
					 * replies wake the reader, which must
					 * poll every few ms while it judges
					 * flows */
	bool hs_reset;			/* pregreet action drop: the handshake
					 * hold ends a pregreeter's half-open
					 * connection at once */
	bool overload_drop;		/* smtpscreen_overload_policy = drop: a
					 * hold user space did not release in
					 * time is dropped, not passed */
	bool defer_attach;		/* load and pin only: fill the maps, then
					 * ctl_hostbpf_attach() */
	/* Called once the programs are loaded, before anything is pinned or
	 * attached (NULL: none): work done beside the load (host mode's
	 * access list) ends there, and its error (non-zero, message in err)
	 * fails the open with no pin of a previous instance touched. */
	int (*ready)(void *arg, char *err, size_t errlen);
	void *ready_arg;
};

struct ctl_hostbpf;

typedef int (*ctl_hostbpf_cb)(void *arg, const struct scr_host_sample *s);

struct ctl_hostbpf *ctl_hostbpf_open(const struct ctl_hostbpf_opts *o,
				     char *err, size_t errlen,
				     char *warn, size_t warnlen);
struct ctl_maps *ctl_hostbpf_maps(struct ctl_hostbpf *h);
int ctl_hostbpf_poll(struct ctl_hostbpf *h, int timeout_ms,
		     ctl_hostbpf_cb cb, void *arg);
int ctl_hostbpf_flow_set(struct ctl_hostbpf *h, const struct scr_flow_key *k,
			 enum scr_host_flow_state st);
int ctl_hostbpf_release(struct ctl_hostbpf *h, const struct scr_flow_key *k);
/* The held 354 may go (SCR_HOST_FF_DATA_RELEASED); 0 or -errno. */
int ctl_hostbpf_release_data(struct ctl_hostbpf *h, const struct scr_flow_key *k);
int ctl_hostbpf_flow_del(struct ctl_hostbpf *h, const struct scr_flow_key *k);
int ctl_hostbpf_ifindex(const struct ctl_hostbpf *h);
void ctl_hostbpf_close(struct ctl_hostbpf *h, bool keep);

/* Added by hostk. */
/* Attach XDP and TC when opened with defer_attach (0 or -errno). */
int ctl_hostbpf_attach(struct ctl_hostbpf *h, char *err, size_t errlen,
		       char *warn, size_t warnlen);
/* The ring buffer's epoll fd (readable when samples wait), for a daemon's
 * own event loop; then ctl_hostbpf_poll(h, 0, ...). */
int ctl_hostbpf_fd(const struct ctl_hostbpf *h);
/* Read a flow entry: 0 or -ENOENT. */
int ctl_hostbpf_flow_get(struct ctl_hostbpf *h, const struct scr_flow_key *k,
			 struct scr_host_flow_val *out);
/* Host-mode event counters (enum scr_host_ctr), summed over CPUs. */
int ctl_hostbpf_stats(struct ctl_hostbpf *h,
		      struct scr_xdp_ctr_val out[SCR_HOST_C_MAX]);
/* XDP mode in use: 1 native, 2 generic (0 before attach). */
int ctl_hostbpf_xdp_mode(const struct ctl_hostbpf *h);

/* The SMTP smuggling guard (smtpscreen_abi.h "smuggling guard"). */
/* Its configuration in the programs: on, action; turning it on forgets
 * the flows it followed before. 0 or -errno (-EINVAL: action). */
int ctl_hostbpf_smug_conf(struct ctl_hostbpf *h, bool on, enum scr_action act);
/* Its counters (enum scr_host_smug_ctr), summed over CPUs; names below. */
int ctl_hostbpf_smug_stats(struct ctl_hostbpf *h,
			   struct scr_xdp_ctr_val out[SCR_HOST_SMUG_C_MAX]);
extern const char *const ctl_hostbpf_smug_ctr_name[SCR_HOST_SMUG_C_MAX];
/* A new fd of the map called name (the kernel's 15 characters) that the
 * program prog_fd uses; -ENOENT. The caller closes it. */
int ctl_hostbpf_prog_map_fd(int prog_fd, const char *name);

#endif
