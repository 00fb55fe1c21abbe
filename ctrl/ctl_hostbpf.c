/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_hostbpf - the kernel side of host mode, seen from user space
 * DESCRIPTION
 *	See ctl_hostbpf.h. Loads bpf/scr_xdp.bpf.c through ctl_maps with the
 *	host knobs (scr_host, sample bytes, greet hold), so the verdict maps
 *	are the ones ctl_maps writes; attaches scr_xdp_prog with libbpf's
 *	bpf_xdp_attach (netlink: stays attached when the process exits) and
 *	scr_host_tc on a clsact egress hook (bpf_tc_hook_create/bpf_tc_attach,
 *	handle CTL_HOSTBPF_TC_HANDLE, priority CTL_HOSTBPF_TC_PRIO); pins
 *	everything under the pin directory; reads samples with libbpf's
 *	ring_buffer. Records in the ring are 24 + caplen bytes; each is copied
 *	into a whole struct scr_host_sample before the callback sees it.
 *	Restart after a crash: if the program pinned under the pin directory
 *	is still attached to the interface, the new one replaces it in one
 *	netlink operation (no window without a program); otherwise an attached
 *	XDP program that is not ours is an error.
 * CONTRACT
 *	See ctl_hostbpf.h.
 * THREADING
 *	The host daemon's thread.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "ctl_hostbpf.h"
#include "ctl_maps.h"

#define CTL_HOSTBPF_TC_HANDLE	0x5c5e
#define CTL_HOSTBPF_TC_PRIO	1
#define CTL_HOSTBPF_GRACE_NS	1000000000ull	/* default hold grace */

struct ctl_hostbpf {
	struct ctl_maps *m;
	struct ring_buffer *rb;
	char ifname[IF_NAMESIZE];
	int ifindex;
	char pin_dir[PATH_MAX - 64];
	int flows_fd;
	int smug_fd, smug_cfg_fd, smug_ctr_fd;	/* the smuggling guard's maps */
	struct scr_host_smug_cfg smug_cfg;	/* as written */
	int xdp_mode;			/* 0 not attached, 1 native, 2 generic */
	bool tc_attached;
	bool tc_hook_created;		/* we created the clsact qdisc */
	__u32 stale_id;			/* program a previous instance pinned,
					 * read before we pin over it */
	ctl_hostbpf_cb cb;		/* during poll */
	void *cb_arg;
	int handled;
	struct scr_host_sample buf;	/* whole-struct copy for callbacks */
};

/* ctl_hostbpf_prog_id - the id of a program fd; 0 if unknown */
static __u32 ctl_hostbpf_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* ctl_hostbpf_pinned_id - id of the program pinned as name under dir */
static __u32 ctl_hostbpf_pinned_id(const char *dir, const char *name)
{
	char path[PATH_MAX];
	__u32 id;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = ctl_hostbpf_prog_id(fd);
	close(fd);
	return id;
}

/* ctl_hostbpf_xdp_attach - native, else generic with a warning; replaces
 * our own stale program (old_id) when it is still attached */
static int ctl_hostbpf_xdp_attach(struct ctl_hostbpf *h, int mode, __u32 old_id,
				  char *err, size_t errlen, char *warn,
				  size_t warnlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	int fd = ctl_maps_prog_fd(h->m), rc, old_fd = -1;
	__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST, cur;

	rc = bpf_xdp_query(h->ifindex, 0, &q);
	if (rc) {
		snprintf(err, errlen, "interface %s: query XDP: %s", h->ifname,
			 strerror(-rc));
		return rc;
	}
	cur = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
	if (cur && cur == old_id) {
		/* Our previous instance's program: replace it in place, in
		 * the mode it had. By id: its pin may already be ours. */
		old_fd = bpf_prog_get_fd_by_id(old_id);
		if (old_fd < 0) {
			rc = -errno;
			snprintf(err, errlen, "interface %s: program id %u: %s",
				 h->ifname, old_id, strerror(errno));
			return rc;
		}
		a.old_prog_fd = old_fd;
		flags = XDP_FLAGS_REPLACE | (q.drv_prog_id ? XDP_FLAGS_DRV_MODE :
					     XDP_FLAGS_SKB_MODE);
		rc = bpf_xdp_attach(h->ifindex, fd, flags, &a);
		close(old_fd);
		if (rc) {
			snprintf(err, errlen, "interface %s: replace our previous "
				 "XDP program (id %u): %s", h->ifname, cur,
				 strerror(-rc));
			return rc;
		}
		h->xdp_mode = q.drv_prog_id ? 1 : 2;
		if (warn && warnlen)
			snprintf(warn, warnlen, "interface %s: replaced the XDP "
				 "program (id %u) left attached by a previous "
				 "instance", h->ifname, cur);
		return 0;
	}
	if (cur) {
		snprintf(err, errlen, "interface %s: another XDP program (id %u) "
			 "is attached; detach it first", h->ifname, cur);
		return -EBUSY;
	}
	if (mode != 2) {
		rc = bpf_xdp_attach(h->ifindex, fd, flags | XDP_FLAGS_DRV_MODE,
				    NULL);
		if (rc == 0) {
			h->xdp_mode = 1;
			return 0;
		}
		if (mode == 1) {
			snprintf(err, errlen, "interface %s: native XDP attach "
				 "of scr_xdp_prog: %s", h->ifname, strerror(-rc));
			return rc;
		}
		if (warn && warnlen)
			snprintf(warn, warnlen, "interface %s: native XDP attach "
				 "failed (%s); using generic (skb) mode: each "
				 "packet costs an skb before the program runs",
				 h->ifname, strerror(-rc));
	}
	rc = bpf_xdp_attach(h->ifindex, fd, flags | XDP_FLAGS_SKB_MODE, NULL);
	if (rc) {
		snprintf(err, errlen, "interface %s: generic XDP attach of "
			 "scr_xdp_prog: %s", h->ifname, strerror(-rc));
		return rc;
	}
	h->xdp_mode = 2;
	return 0;
}

/* ctl_hostbpf_xdp_detach - remove our XDP program if it is still ours */
static void ctl_hostbpf_xdp_detach(struct ctl_hostbpf *h)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	__u32 id = ctl_hostbpf_prog_id(ctl_maps_prog_fd(h->m));

	if (!h->xdp_mode || bpf_xdp_query(h->ifindex, 0, &q))
		return;
	if (!id || (q.drv_prog_id != id && q.skb_prog_id != id))
		return;
	a.old_prog_fd = ctl_maps_prog_fd(h->m);
	bpf_xdp_detach(h->ifindex, XDP_FLAGS_REPLACE |
		       (q.drv_prog_id == id ? XDP_FLAGS_DRV_MODE :
			XDP_FLAGS_SKB_MODE), &a);
	h->xdp_mode = 0;
}

/* ctl_hostbpf_hook - the clsact egress hook of the interface */
static void ctl_hostbpf_hook(const struct ctl_hostbpf *h,
			     struct bpf_tc_hook *hook, int points)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = h->ifindex;
	hook->attach_point = points;
}

/* ctl_hostbpf_tc_attach - clsact (created if missing) + egress filter */
static int ctl_hostbpf_tc_attach(struct ctl_hostbpf *h, char *err,
				 size_t errlen)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = CTL_HOSTBPF_TC_HANDLE,
		    .priority = CTL_HOSTBPF_TC_PRIO, .flags = BPF_TC_F_REPLACE,
		    .prog_fd = ctl_maps_tc_prog_fd(h->m));
	int rc;

	ctl_hostbpf_hook(h, &hook, BPF_TC_EGRESS);
	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST) {
		snprintf(err, errlen, "interface %s: create clsact qdisc for "
			 "the TC egress program: %s (kernel without "
			 "CONFIG_NET_CLS_ACT/CONFIG_NET_SCH_INGRESS?)", h->ifname,
			 strerror(-rc));
		return rc;
	}
	h->tc_hook_created = rc == 0;
	/* Replace: our own filter of a crashed instance, same handle/prio. */
	rc = bpf_tc_attach(&hook, &o);
	if (rc) {
		snprintf(err, errlen, "interface %s: attach TC egress program "
			 "scr_host_tc: %s", h->ifname, strerror(-rc));
		return rc;
	}
	h->tc_attached = true;
	return 0;
}

/* ctl_hostbpf_tc_detach - remove our filter, and the qdisc if ours */
static void ctl_hostbpf_tc_detach(struct ctl_hostbpf *h)
{
	struct bpf_tc_hook hook;
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = CTL_HOSTBPF_TC_HANDLE,
		    .priority = CTL_HOSTBPF_TC_PRIO);

	if (h->tc_attached) {
		ctl_hostbpf_hook(h, &hook, BPF_TC_EGRESS);
		bpf_tc_detach(&hook, &o);
		h->tc_attached = false;
	}
	if (h->tc_hook_created) {
		/* Both points: libbpf deletes the clsact qdisc itself. */
		ctl_hostbpf_hook(h, &hook, BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&hook);
		h->tc_hook_created = false;
	}
}

/* ctl_hostbpf_sample - ring buffer callback: copy, check, hand over */
static int ctl_hostbpf_sample(void *ctx, void *data, size_t size)
{
	struct ctl_hostbpf *h = ctx;
	const struct scr_host_sample *s = data;
	int rc;

	if (size < SCR_HOST_SAMPLE_HDR ||
	    s->caplen > size - SCR_HOST_SAMPLE_HDR ||
	    s->caplen > SCR_HOST_SAMPLE_MAX)
		return 0;	/* impossible from our programs: skip */
	memcpy(&h->buf, s, SCR_HOST_SAMPLE_HDR + s->caplen);
	rc = h->cb(h->cb_arg, &h->buf);
	if (rc < 0)
		return rc;
	h->handled++;
	return 0;
}

/* ctl_hostbpf_open - load, (attach), pin, open the ring buffer */
struct ctl_hostbpf *ctl_hostbpf_open(const struct ctl_hostbpf_opts *o,
				     char *err, size_t errlen,
				     char *warn, size_t warnlen)
{
	struct ctl_maps_opts mo = {};
	struct ctl_hostbpf *h = NULL;
	unsigned i;
	int rc = 0;

	if (warn && warnlen)
		warn[0] = '\0';
	if (!o || !o->ifname) {
		snprintf(err, errlen, "host mode: no interface given");
		errno = EINVAL;
		return NULL;
	}
	if (o->nports > SCR_XDP_MAX_PORTS || o->xdp_mode < 0 || o->xdp_mode > 2) {
		snprintf(err, errlen, "host mode: at most %d SMTP ports, XDP "
			 "mode 0..2", SCR_XDP_MAX_PORTS);
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "host mode: out of memory");
		return NULL;
	}
	h->smug_fd = h->smug_cfg_fd = h->smug_ctr_fd = -1;
	snprintf(h->ifname, sizeof(h->ifname), "%s", o->ifname);
	snprintf(h->pin_dir, sizeof(h->pin_dir), "%s",
		 o->pin_dir ? o->pin_dir : SCR_XDP_PIN_DIR);
	h->ifindex = (int)if_nametoindex(o->ifname);
	if (!h->ifindex) {
		rc = -errno;
		snprintf(err, errlen, "interface %s: %s", o->ifname,
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < o->nports; i++)
		mo.ports[i] = o->ports[i];
	mo.nports = o->nports;
	mo.block_all = o->block_all_ports;
	mo.dxr_ranges = o->dxr_ranges;
	mo.perm6_max = o->perm6_max;
	mo.host = true;
	mo.sample_bytes = o->sample_bytes;
	mo.greet_hold_ns = o->greet_hold_ns;
	mo.data_hold_ns = o->data_hold_ns;
	mo.overload_drop = o->overload_drop;
	mo.hs_hold = o->hs_hold;
	mo.hs_reset = o->hs_reset;
	mo.seat_steer = o->seat_steer;
	mo.sample_lazy = o->sample_lazy;
	mo.hold_grace_ns = o->hold_grace_ns ? o->hold_grace_ns :
			   CTL_HOSTBPF_GRACE_NS;
	mo.flow_map_size = o->flow_map_size;
	mo.ringbuf_bytes = o->ringbuf_bytes;
	/* Before anything of ours is pinned (defer_attach pins at once). */
	h->stale_id = ctl_hostbpf_pinned_id(h->pin_dir, "prog");
	h->m = ctl_maps_load(&mo, err, errlen);
	if (!h->m) {
		rc = -errno;
		goto out;
	}
	h->flows_fd = ctl_maps_map_fd(h->m, "host_flows");
	h->smug_fd = ctl_hostbpf_prog_map_fd(ctl_maps_prog_fd(h->m), "host_smug");
	h->smug_cfg_fd = ctl_hostbpf_prog_map_fd(ctl_maps_prog_fd(h->m),
						 "host_smug_cfg");
	h->smug_ctr_fd = ctl_hostbpf_prog_map_fd(ctl_maps_prog_fd(h->m),
						 "host_smug_ctr");
	if (h->smug_fd < 0 || h->smug_cfg_fd < 0 || h->smug_ctr_fd < 0) {
		rc = -ENOENT;
		snprintf(err, errlen, "host-mode program: no smuggling guard maps "
			 "(host_smug, host_smug_cfg, host_smug_ctr)");
		goto out;
	}
	h->rb = ring_buffer__new(ctl_maps_map_fd(h->m, "host_samples"),
				 ctl_hostbpf_sample, h, NULL);
	if (!h->rb) {
		rc = -errno;
		snprintf(err, errlen, "map host_samples: open ring buffer: %s",
			 strerror(errno));
		goto out;
	}
	if (o->ready) {
		rc = o->ready(o->ready_arg, err, errlen);
		if (rc)
			goto out;
	}
	if (!o->defer_attach) {
		rc = ctl_hostbpf_attach(h, err, errlen, warn, warnlen);
		if (rc)
			goto out;
	} else {
		rc = ctl_maps_pin(h->m, h->pin_dir);
		if (rc) {
			snprintf(err, errlen, "pin maps under %s: %s", h->pin_dir,
				 rc == -EXDEV ? CTL_MAPS_NO_BPFFS : strerror(-rc));
			goto out;
		}
	}
out:
	if (rc) {
		ctl_hostbpf_close(h, false);
		errno = -rc;
		return NULL;
	}
	return h;
}

/* ctl_hostbpf_attach - XDP + TC on the interface, then pin */
int ctl_hostbpf_attach(struct ctl_hostbpf *h, char *err, size_t errlen,
		       char *warn, size_t warnlen)
{
	int rc;

	if (h->xdp_mode)
		return 0;
	rc = ctl_hostbpf_xdp_attach(h, 0, h->stale_id, err, errlen, warn,
				    warnlen);
	if (rc)
		return rc;
	rc = ctl_hostbpf_tc_attach(h, err, errlen);
	if (rc)
		goto out;
	rc = ctl_maps_pin(h->m, h->pin_dir);
	if (rc)
		snprintf(err, errlen, "pin maps under %s: %s", h->pin_dir,
			 rc == -EXDEV ? CTL_MAPS_NO_BPFFS : strerror(-rc));
out:
	if (rc) {
		ctl_hostbpf_tc_detach(h);
		ctl_hostbpf_xdp_detach(h);
	}
	return rc;
}

/* ctl_hostbpf_maps - the verdict maps (ctl_maps_dyn_add, _replace, ...) */
struct ctl_maps *ctl_hostbpf_maps(struct ctl_hostbpf *h)
{
	return h->m;
}

/* ctl_hostbpf_poll - hand queued samples to cb; the number handled */
int ctl_hostbpf_poll(struct ctl_hostbpf *h, int timeout_ms,
		     ctl_hostbpf_cb cb, void *arg)
{
	int rc;

	h->cb = cb;
	h->cb_arg = arg;
	h->handled = 0;
	/* timeout 0: read whatever is there, notified or not (samples of
	 * known flows are queued without a wake-up, sample_lazy) */
	rc = timeout_ms == 0 ? ring_buffer__consume(h->rb) :
			       ring_buffer__poll(h->rb, timeout_ms);
	h->cb = NULL;
	if (rc < 0)
		return rc;
	return h->handled;
}

/* ctl_hostbpf_key - engine flow key to the BPF key */
static void ctl_hostbpf_key(const struct scr_flow_key *k,
			    struct scr_host_flow_key *bk)
{
	memset(bk, 0, sizeof(*bk));
	memcpy(bk->client, k->client.b, 16);
	memcpy(bk->server, k->server.b, 16);
	bk->client_port = htons(k->client_port);
	bk->server_port = htons(k->server_port);
}

/* ctl_hostbpf_flow_set - create or change a flow's state (flags kept) */
int ctl_hostbpf_flow_set(struct ctl_hostbpf *h, const struct scr_flow_key *k,
			 enum scr_host_flow_state st)
{
	struct scr_host_flow_key bk;
	struct scr_host_flow_val v = {};

	switch (st) {
	case SCR_HOST_FS_SCAN:
	case SCR_HOST_FS_PASS:
	case SCR_HOST_FS_STOP:
		break;
	default:
		return -EINVAL;
	}
	ctl_hostbpf_key(k, &bk);
	if (bpf_map_lookup_elem(h->flows_fd, &bk, &v))
		memset(&v, 0, sizeof(v));
	v.state = st;
	if (bpf_map_update_elem(h->flows_fd, &bk, &v, BPF_ANY))
		return -errno;
	return 0;
}

/* ctl_hostbpf_set_flag - set a flag in a flow entry (the kernel keeps the rest) */
static int ctl_hostbpf_set_flag(struct ctl_hostbpf *h,
				const struct scr_flow_key *k, __u32 flag)
{
	struct scr_host_flow_key bk;
	struct scr_host_flow_val v;

	ctl_hostbpf_key(k, &bk);
	if (bpf_map_lookup_elem(h->flows_fd, &bk, &v))
		return -errno;
	v.flags |= flag;
	if (bpf_map_update_elem(h->flows_fd, &bk, &v, BPF_EXIST))
		return -errno;
	return 0;
}

/* ctl_hostbpf_release - the held greeting may go */
int ctl_hostbpf_release(struct ctl_hostbpf *h, const struct scr_flow_key *k)
{
	return ctl_hostbpf_set_flag(h, k, SCR_HOST_FF_RELEASED);
}

/* ctl_hostbpf_release_data - the held 354 may go */
int ctl_hostbpf_release_data(struct ctl_hostbpf *h, const struct scr_flow_key *k)
{
	return ctl_hostbpf_set_flag(h, k, SCR_HOST_FF_DATA_RELEASED);
}

/* ctl_hostbpf_flow_del - forget a flow */
int ctl_hostbpf_flow_del(struct ctl_hostbpf *h, const struct scr_flow_key *k)
{
	struct scr_host_flow_key bk;

	ctl_hostbpf_key(k, &bk);
	if (bpf_map_delete_elem(h->flows_fd, &bk))
		return -errno;
	return 0;
}

/* ctl_hostbpf_flow_get - read a flow entry */
int ctl_hostbpf_flow_get(struct ctl_hostbpf *h, const struct scr_flow_key *k,
			 struct scr_host_flow_val *out)
{
	struct scr_host_flow_key bk;

	ctl_hostbpf_key(k, &bk);
	if (bpf_map_lookup_elem(h->flows_fd, &bk, out))
		return -errno;
	return 0;
}

/* ctl_hostbpf_stats - host-mode event counters */
int ctl_hostbpf_stats(struct ctl_hostbpf *h,
		      struct scr_xdp_ctr_val out[SCR_HOST_C_MAX])
{
	return ctl_maps_host_stats(h->m, out);
}

/* ctl_hostbpf_prog_map_fd - a new fd of the map called name that the
 * program prog_fd uses (kernel names: 15 characters); -errno */
int ctl_hostbpf_prog_map_fd(int prog_fd, const char *name)
{
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	__u32 ids[64], len = sizeof(pi), mlen, i, n;
	int fd;

	pi.nr_map_ids = 64;
	pi.map_ids = (__u64)(unsigned long)ids;
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &pi, &len))
		return -ENOENT;
	n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
	for (i = 0; i < n; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		mlen = sizeof(mi);
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 &&
		    strncmp(mi.name, name, sizeof(mi.name) - 1) == 0)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

const char *const ctl_hostbpf_smug_ctr_name[SCR_HOST_SMUG_C_MAX] = {
	[SCR_HOST_SMUG_C_DATA] = "data",
	[SCR_HOST_SMUG_C_SCANNED] = "scanned",
	[SCR_HOST_SMUG_C_END] = "end",
	[SCR_HOST_SMUG_C_SEQ] = "sequence",
	[SCR_HOST_SMUG_C_CMD] = "commands",
	[SCR_HOST_SMUG_C_DROP] = "drop",
	[SCR_HOST_SMUG_C_STOP_DROP] = "stop_drop",
	[SCR_HOST_SMUG_C_OOO_DROP] = "ooo_drop",
	[SCR_HOST_SMUG_C_LOST] = "lost",
};

/* ctl_hostbpf_smug_conf - the guard's configuration for the programs; a
 * guard turned on forgets what it followed before (its sequence numbers
 * went stale while it was off) */
int ctl_hostbpf_smug_conf(struct ctl_hostbpf *h, bool on, enum scr_action act)
{
	struct scr_host_smug_cfg c = { .on = on ? 1 : 0 };
	struct scr_host_flow_key k, next;
	__u32 zero = 0;

	switch (act) {
	case SCR_ACT_IGNORE:
		c.action = SCR_HOST_SMUG_A_IGNORE;
		break;
	case SCR_ACT_ENFORCE:
		c.action = SCR_HOST_SMUG_A_ENFORCE;
		break;
	case SCR_ACT_DROP:
		c.action = SCR_HOST_SMUG_A_DROP;
		break;
	case SCR_ACT_MAX:
	default:
		return -EINVAL;
	}
	if (c.on && !h->smug_cfg.on) {
		while (bpf_map_get_next_key(h->smug_fd, NULL, &next) == 0) {
			k = next;
			if (bpf_map_delete_elem(h->smug_fd, &k))
				break;
		}
	}
	if (bpf_map_update_elem(h->smug_cfg_fd, &zero, &c, BPF_ANY))
		return -errno;
	h->smug_cfg = c;
	return 0;
}

/* ctl_hostbpf_smug_stats - the guard's counters, summed over CPUs */
int ctl_hostbpf_smug_stats(struct ctl_hostbpf *h,
			   struct scr_xdp_ctr_val out[SCR_HOST_SMUG_C_MAX])
{
	return ctl_maps_sum(h->smug_ctr_fd, out, SCR_HOST_SMUG_C_MAX);
}

/* ctl_hostbpf_fd - the ring buffer's epoll fd */
int ctl_hostbpf_fd(const struct ctl_hostbpf *h)
{
	return ring_buffer__epoll_fd(h->rb);
}

/* ctl_hostbpf_ifindex - the interface's index */
int ctl_hostbpf_ifindex(const struct ctl_hostbpf *h)
{
	return h->ifindex;
}

/* ctl_hostbpf_xdp_mode - 1 native, 2 generic, 0 not attached */
int ctl_hostbpf_xdp_mode(const struct ctl_hostbpf *h)
{
	return h->xdp_mode;
}

/* ctl_hostbpf_close - detach and unpin (unless keep), free */
void ctl_hostbpf_close(struct ctl_hostbpf *h, bool keep)
{
	if (!h)
		return;
	if (h->rb)
		ring_buffer__free(h->rb);
	if (h->smug_fd >= 0)
		close(h->smug_fd);
	if (h->smug_cfg_fd >= 0)
		close(h->smug_cfg_fd);
	if (h->smug_ctr_fd >= 0)
		close(h->smug_ctr_fd);
	if (h->m && !keep) {
		ctl_hostbpf_tc_detach(h);
		ctl_hostbpf_xdp_detach(h);
		/* Only our pins: a pinned program that is not ours stays. */
		if (ctl_hostbpf_pinned_id(h->pin_dir, "prog") ==
		    ctl_hostbpf_prog_id(ctl_maps_prog_fd(h->m)))
			ctl_maps_unpin(h->pin_dir);
	}
	ctl_maps_destroy(h->m);
	free(h);
}
