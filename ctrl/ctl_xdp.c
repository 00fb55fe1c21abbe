/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_xdp - `smtpscreen xdp attach|detach|reload`: XDP enforcement alone
 * DESCRIPTION
 *	See ctl_xdp.h.
 * CONTRACT
 *	See ctl_xdp.h.
 * THREADING
 *	Control thread.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "ctl_aclcomp.h"
#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_msg.h"
#include "ctl_xdp.h"


const char *const ctl_xdp_mode_name[CTL_XDP_MODE_MAX] = {
	[CTL_XDP_MODE_AUTO] = "auto",
	[CTL_XDP_MODE_NATIVE] = "native",
	[CTL_XDP_MODE_GENERIC] = "generic",
};

/* ctl_xdp_attach - attach native, else generic with a warning */
int ctl_xdp_attach(const char *ifname, enum ctl_xdp_mode mode,
		   struct ctl_maps *m, enum ctl_xdp_mode *used, char *err,
		   size_t errlen)
{
	unsigned ifindex = if_nametoindex(ifname);
	int fd = ctl_maps_prog_fd(m), rc;

	if (!ifindex) {
		snprintf(err, errlen, "interface %s: %s", ifname,
			 strerror(errno));
		return -ENODEV;
	}
	switch (mode) {
	case CTL_XDP_MODE_AUTO:
	case CTL_XDP_MODE_NATIVE:
		rc = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_DRV_MODE |
				    XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (rc == 0) {
			*used = CTL_XDP_MODE_NATIVE;
			return 0;
		}
		if (mode == CTL_XDP_MODE_NATIVE || rc == -EEXIST || rc == -EBUSY) {
			snprintf(err, errlen, "interface %s: native XDP attach: "
				 "%s", ifname, strerror(-rc));
			return rc;
		}
		fprintf(stderr, "smtpscreen: warning: interface %s: native XDP "
			"attach failed (%s); using generic (skb) mode: blocked "
			"packets are dropped after the kernel built an skb, "
			"which costs more per packet\n", ifname, strerror(-rc));
		/* fall through */
	case CTL_XDP_MODE_GENERIC:
		rc = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_SKB_MODE |
				    XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (rc) {
			snprintf(err, errlen, "interface %s: generic XDP attach: "
				 "%s", ifname, strerror(-rc));
			return rc;
		}
		*used = CTL_XDP_MODE_GENERIC;
		return 0;
	default:
		ctl_msg_panic("ctl_xdp_attach: interface %s: XDP mode %d out of "
			      "range", ifname, (int)mode);
	}
}

/* ctl_xdp_detach - remove our program (prog_fd) from the interface */
int ctl_xdp_detach(const char *ifname, int prog_fd, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info), flags;
	unsigned ifindex = if_nametoindex(ifname);
	int rc;

	if (!ifindex) {
		snprintf(err, errlen, "interface %s: %s", ifname,
			 strerror(errno));
		return -ENODEV;
	}
	rc = bpf_xdp_query((int)ifindex, 0, &q);
	if (rc) {
		snprintf(err, errlen, "interface %s: query XDP: %s", ifname,
			 strerror(-rc));
		return rc;
	}
	if (prog_fd >= 0 && bpf_obj_get_info_by_fd(prog_fd, &info, &ilen) == 0) {
		if (q.drv_prog_id != info.id && q.skb_prog_id != info.id) {
			snprintf(err, errlen, "interface %s: smtpscreen's XDP "
				 "program is not attached there", ifname);
			return -ENOENT;
		}
		flags = q.drv_prog_id == info.id ? XDP_FLAGS_DRV_MODE :
			XDP_FLAGS_SKB_MODE;
		flags |= XDP_FLAGS_REPLACE;
		a.old_prog_fd = prog_fd;
	} else {
		/* No pins: detach only a program we can tell is ours by its
		 * name, never another tool's. */
		__u32 id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		int fd;

		if (!id) {
			snprintf(err, errlen, "interface %s: no XDP program "
				 "attached", ifname);
			return -ENOENT;
		}
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen) != 0) {
			snprintf(err, errlen, "interface %s: XDP program id %u: %s; "
				 "not detached", ifname, id, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -EPERM;
		}
		close(fd);
		if (strcmp(info.name, "scr_xdp_prog") != 0 &&
		    strcmp(info.name, "scr_xdp_host") != 0) {
			snprintf(err, errlen, "interface %s: the XDP program attached "
				 "there (id %u, name \"%s\") is not smtpscreen's; not "
				 "detached", ifname, id, info.name);
			return -EPERM;
		}
		flags = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	}
	rc = bpf_xdp_detach((int)ifindex, flags, &a);
	if (rc)
		snprintf(err, errlen, "interface %s: detach XDP: %s", ifname,
			 strerror(-rc));
	return rc;
}

/* ctl_xdp_compile - conf's access list for XDP (none: an empty list) */
static int ctl_xdp_compile(const struct ctl_conf *conf,
			   struct ctl_xdp_entry **e, size_t *n, char *err,
			   size_t errlen)
{
	struct ctl_acl *acl;
	int rc;

	*e = NULL;
	*n = 0;
	if (!conf)
		return 0;
	acl = ctl_acl_create(conf, err, errlen);
	if (!acl)
		return errno ? -errno : -EINVAL;
	rc = ctl_aclcomp_compile(acl, e, n);
	ctl_acl_destroy(acl);
	if (rc)
		snprintf(err, errlen, "postscreen_access_list: compile for "
			 "XDP: %s", strerror(-rc));
	return rc;
}

/* ctl_xdp_write - a compiled list into m (bigger maps if it needs them) */
static int ctl_xdp_write(struct ctl_maps *m, const struct ctl_xdp_entry *e,
			 size_t n, char *err, size_t errlen)
{
	int rc = ctl_maps_replace(m, e, n);

	if (rc)
		snprintf(err, errlen, "XDP maps: write the access list of %zu "
			 "prefixes (bigger maps for a list that did not fit "
			 "included): %s", n, strerror(-rc));
	return rc;
}

/* ctl_xdp_fill - compile conf's access list and write it */
int ctl_xdp_fill(struct ctl_maps *m, const struct ctl_conf *conf, char *err,
		 size_t errlen)
{
	struct ctl_xdp_entry *e;
	size_t n;
	int rc;

	rc = ctl_xdp_compile(conf, &e, &n, err, errlen);
	if (rc == 0)
		rc = ctl_xdp_write(m, e, n, err, errlen);
	free(e);
	return rc;
}

/* An attach compiles its list in a thread of its own while the BPF
 * program loads: the compiler and the kernel's verifier, each a few
 * hundred ms at a million lines, overlap. */
struct ctl_xdp_job {
	const struct ctl_conf *conf;
	struct ctl_xdp_entry *e;
	size_t n;
	int rc;
	char err[512];
};

/* ctl_xdp_job_run - the compile thread */
static void *ctl_xdp_job_run(void *arg)
{
	struct ctl_xdp_job *j = arg;

	j->rc = ctl_xdp_compile(j->conf, &j->e, &j->n, j->err, sizeof(j->err));
	return NULL;
}

/* ctl_xdp_usage - the synopsis */
static int ctl_xdp_usage(void)
{
	fprintf(stderr,
		"usage: smtpscreen xdp attach -i IFACE [-c main.cf] "
		"[--mode native|generic] [--block-all] [--xsk]\n"
		"                             [--pin-dir DIR]\n"
		"       smtpscreen xdp detach -i IFACE [--pin-dir DIR]\n"
		"       smtpscreen xdp reload [-c FILE[:FILE...]] [--pin-dir DIR]\n"
		"         (default %s)\n", ctl_conf_default_path());
	return 2;
}

/* ctl_xdp_opts - knobs from main.cf (ports, block-all); the maps' sizes
 * come from the list when it is written (ctl_maps_replace grows them) */
static int ctl_xdp_opts(const struct ctl_conf *conf, struct ctl_maps_opts *o,
			char *err, size_t errlen)
{
	struct scr_policy pol = {};
	const char *v;
	unsigned i;
	int rc, b;

	rc = ctl_conf_policy(conf, &pol, err, errlen);
	if (rc)
		return rc;
	o->nports = pol.nports;
	for (i = 0; i < pol.nports && i < SCR_XDP_MAX_PORTS; i++)
		o->ports[i] = pol.ports[i];
	v = ctl_conf_get(conf, "smtpscreen_xdp_block_all");
	if (v) {
		rc = ctl_conf_parse_bool(v, &b);
		if (rc) {
			snprintf(err, errlen, "smtpscreen_xdp_block_all: bad "
				 "value \"%s\" (yes or no)", v);
			return rc;
		}
		o->block_all = o->block_all || b;
	}
	return 0;
}

/* ctl_xdp_main - the `smtpscreen xdp` command */
int ctl_xdp_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "block-all", no_argument, NULL, 'B' },
		{ "xsk", no_argument, NULL, 'X' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_maps_opts o = {};
	enum ctl_xdp_mode mode = CTL_XDP_MODE_AUTO, used;
	const char *ifname = NULL, *cf = NULL, *cmd, *pindir = SCR_XDP_PIN_DIR;
	struct ctl_conf *conf = NULL;
	struct ctl_maps *m = NULL;
	struct ctl_xdp_job job = {};
	bool threaded;
	pthread_t jt;
	char err[512] = "";
	int c, rc = 0, status = 1;

	if (argc < 2)
		return ctl_xdp_usage();
	cmd = argv[1];
	optind = 1;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "i:c:", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'c':
			cf = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "native") == 0)
				mode = CTL_XDP_MODE_NATIVE;
			else if (strcmp(optarg, "generic") == 0)
				mode = CTL_XDP_MODE_GENERIC;
			else
				return ctl_xdp_usage();
			break;
		case 'B':
			o.block_all = true;
			break;
		case 'X':
			o.xsk_redirect = true;
			break;
		case 'P':
			pindir = optarg;
			break;
		default:
			return ctl_xdp_usage();
		}
	}
	if (optind != argc)
		return ctl_xdp_usage();
	if (!cf && strcmp(cmd, "reload") == 0) {
		/* Never an empty list by omission: that would let every
		 * listed client through. The default list's main.cf must
		 * exist (ctl_conf_load says so when it does not). */
		cf = ctl_conf_default_path();
	}
	if (cf) {
		conf = ctl_conf_load(cf, err, sizeof(err));
		if (!conf) {
			status = 2;	/* a configuration error */
			goto out;
		}
	}

	if (strcmp(cmd, "attach") == 0) {
		if (!ifname)
			return ctl_xdp_usage();
		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		if (m) {
			snprintf(err, sizeof(err), "an smtpscreen XDP program is "
				 "already loaded (%s): detach it first", pindir);
			goto out;
		}
		if (conf && ctl_xdp_opts(conf, &o, err, sizeof(err)))
			goto out;
		job.conf = conf;
		threaded = pthread_create(&jt, NULL, ctl_xdp_job_run, &job) == 0;
		if (!threaded)
			ctl_xdp_job_run(&job);	/* one after the other */
		m = ctl_maps_load(&o, err, sizeof(err));
		if (threaded)
			pthread_join(jt, NULL);
		if (!m)
			goto out;
		if (job.rc) {
			snprintf(err, sizeof(err), "%s", job.err);
			goto out;
		}
		if (ctl_xdp_write(m, job.e, job.n, err, sizeof(err)))
			goto out;
		if (ctl_xdp_attach(ifname, mode, m, &used, err, sizeof(err)))
			goto out;
		rc = ctl_maps_pin(m, pindir);
		if (rc) {
			snprintf(err, sizeof(err), "pin maps under %s: %s",
				 pindir, rc == -EXDEV ? CTL_MAPS_NO_BPFFS : strerror(-rc));
			ctl_xdp_detach(ifname, ctl_maps_prog_fd(m), err + 256,
				       sizeof(err) - 256);
			ctl_maps_unpin(pindir);
			goto out;
		}
		ctl_maps_describe(m, err, sizeof(err));
		printf("smtpscreen: XDP program attached to %s (%s mode), maps "
		       "pinned under %s; %s\n", ifname, ctl_xdp_mode_name[used],
		       pindir, err);
		status = 0;
	} else if (strcmp(cmd, "detach") == 0) {
		if (!ifname)
			return ctl_xdp_usage();
		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		rc = ctl_xdp_detach(ifname, m ? ctl_maps_prog_fd(m) : -1, err,
				    sizeof(err));
		if (rc && rc != -ENOENT)
			goto out;
		if (rc == -ENOENT && m)
			fprintf(stderr, "smtpscreen: warning: %s\n", err);
		rc = ctl_maps_unpin(pindir);
		if (rc && !m) {
			goto out;	/* nothing attached, nothing pinned */
		}
		printf("smtpscreen: XDP program detached from %s, pins under %s "
		       "removed\n", ifname, pindir);
		status = 0;
	} else if (strcmp(cmd, "reload") == 0) {
		m = ctl_maps_open_pinned(pindir, err, sizeof(err));
		if (!m)
			goto out;
		if (ctl_xdp_fill(m, conf, err, sizeof(err)))
			goto out;
		ctl_maps_describe(m, err, sizeof(err));
		printf("smtpscreen: XDP access list reloaded from %s (copy %c); "
		       "%s\n", cf, ctl_maps_active(m) ? 'B' : 'A', err);
		status = 0;
	} else {
		return ctl_xdp_usage();
	}
out:
	if (status)
		fprintf(stderr, "smtpscreen: xdp %s: %s\n", cmd, err);
	ctl_maps_destroy(m);
	free(job.e);
	if (conf)
		ctl_conf_destroy(conf);
	return status;
}
