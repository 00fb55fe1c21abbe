/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_xdp_inline_test - the inline appliance's XDP object (ctl_inlinebpf)
 * DESCRIPTION
 *	Bad input first (knobs, unwritable paths, unknown interface), then:
 *	the object is written with ports {25} and {2525} (and block-all),
 *	loaded from the FILE the way DPDK's af_xdp PMD does
 *	(bpf_object__open_file, bpf_object__load, first program), adopted
 *	into a pin directory of our own, blocks written through ctl_maps,
 *	and a table of frames run through BPF_PROG_TEST_RUN twice: with no
 *	AF_XDP socket in xsks_map (bpf_redirect_map falls back: XDP_PASS)
 *	and with one on queue 0 (XDP_REDIRECT, counted under redirect_xsk).
 *	Then adopt in a private network namespace (unshare) on a veth pair
 *	named ib*: the program is attached like the PMD does, adopted, a
 *	block added through a second handle opened from the pins, and a
 *	real frame sent over the veth is dropped by it (counters); a
 *	foreign program and a program named like ours without our maps are
 *	refused with a message naming them; a second adopt is "already
 *	loaded"; release removes the pins. The ELF-default map sizes hold
 *	(2^19 DXR ranges fit, one /32 more grows the copy). Needs root.
 */
#include <dirent.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/if_link.h>

#include "ctl_inlinebpf.h"
#include "xdp_test_util.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* Test state; teardown cleans whatever is left. */
static struct {
	char dir[64];		/* temporary files */
	char pin[64];		/* /sys/fs/bpf/ib-test-<pid> */
	char pin2[64];
	bool netns;		/* inside our private network namespace */
} g;

/* ---- helpers ---- */

/* ib_path - a file name in the test directory */
static const char *ib_path(const char *name)
{
	static char p[sizeof(g.dir) + 256 + 2];

	snprintf(p, sizeof(p), "%s/%s", g.dir, name);
	return p;
}

/* ib_write - write the object with these ports; asserts success */
static void ib_write(const char *path, const uint16_t *ports, unsigned n,
		     bool block_all)
{
	struct ctl_inlinebpf_knobs k = { ports, n, block_all };
	char err[256] = "";
	int rc = ctl_inlinebpf_write(&k, path, err, sizeof(err));

	if (rc)
		fail_msg("write %s: %d %s", path, rc, err);
}

/* ib_pmd_load - what DPDK 22.11's af_xdp PMD does with xdp_prog=path:
 * open the file as it is, load it, take the first program */
static int ib_pmd_load(const char *path, struct bpf_object **obj)
{
	struct bpf_program *prog;

	*obj = bpf_object__open_file(path, NULL);
	if (!*obj)
		fail_msg("bpf_object__open_file %s: %s", path, strerror(errno));
	if (bpf_object__load(*obj))
		fail_msg("bpf_object__load %s: %s", path, strerror(errno));
	prog = bpf_object__next_program(*obj, NULL);
	assert_non_null(prog);
	assert_null(bpf_object__find_map_by_name(*obj, "host_flows"));
	assert_non_null(bpf_object__find_map_by_name(*obj, "xsks_map"));
	return bpf_program__fd(prog);
}

/* ib_adopt_fd - adopt a loaded program into g.pin; asserts success */
static struct ctl_maps *ib_adopt_fd(int prog_fd)
{
	char err[256] = "";
	struct ctl_maps *m = ctl_inlinebpf_adopt_fd(prog_fd, g.pin, err,
						    sizeof(err));

	if (!m)
		fail_msg("adopt: %s", err);
	return m;
}

/* ib_xsk - an AF_XDP socket with a umem and rings (not bound): enough to
 * sit in an XSKMAP so that bpf_redirect_map returns XDP_REDIRECT */
static int ib_xsk(void **umem)
{
	struct xdp_umem_reg mr = {};
	size_t len = 16 * 4096;
	int fd, n = 64;

	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0)
		fail_msg("socket(AF_XDP): %s", strerror(errno));
	*umem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(*umem != MAP_FAILED);
	mr.addr = (uintptr_t)*umem;
	mr.len = len;
	mr.chunk_size = 4096;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof(n)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &n, sizeof(n)))
		fail_msg("AF_XDP socket setup: %s", strerror(errno));
	return fd;
}

/* One frame and what the inline program does with it. */
struct row {
	const char *label;
	struct xt_pkt pkt;
	uint32_t act;		/* XDP_DROP, or XDP_PASS (redirected when a socket is there) */
	enum scr_xdp_ctr ctr;	/* reason counted */
};

/* ib_run_rows - run rows; xsk: a socket is on queue 0 */
static void ib_run_rows(int prog_fd, struct ctl_maps *m,
			const struct row *rows, size_t n, bool xsk)
{
	struct scr_xdp_ctr_val before[SCR_XDP_C_MAX], after[SCR_XDP_C_MAX];
	uint8_t frame[256];
	uint32_t act, want;
	size_t i;
	int len, c;

	for (i = 0; i < n; i++) {
		len = xt_build(frame, &rows[i].pkt);
		assert_int_equal(ctl_maps_stats(m, before), 0);
		if (xt_run(prog_fd, frame, len, &act))
			fail_msg("%s: test run: %s", rows[i].label,
				 strerror(errno));
		assert_int_equal(ctl_maps_stats(m, after), 0);
		want = rows[i].act;
		if (want == XDP_PASS && xsk)
			want = XDP_REDIRECT;
		if (act != want)
			fail_msg("%s (xsk %d): action %u, want %u",
				 rows[i].label, xsk, act, want);
		for (c = 0; c < SCR_XDP_C_MAX; c++) {
			uint64_t d = after[c].packets - before[c].packets, w = 0;

			if (c == (int)rows[i].ctr)
				w = 1;
			if (c == SCR_XDP_C_REDIRECT_XSK && want == XDP_REDIRECT)
				w = 1;
			if (d != w)
				fail_msg("%s (xsk %d): counter %s +%llu, want "
					 "+%llu", rows[i].label, xsk,
					 ctl_maps_ctr_name[c],
					 (unsigned long long)d,
					 (unsigned long long)w);
		}
	}
}

/* ib_block - the blocks and rejects every table expects */
static void ib_block(struct ctl_maps *m)
{
	struct ctl_xdp_entry e[] = {
		xt_entry("198.18.5.0", 24, SCR_XDP_ANS_REJECT),
		xt_entry("198.18.6.0", 24, SCR_XDP_ANS_PERMIT),
	};
	struct scr_addr a = xt_addr("198.18.0.66"), a6 = xt_addr("2001:db8:66::");

	assert_int_equal(ctl_maps_replace(m, e, 2), 0);
	assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &a, 128, 0, 0), 0);
	assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &a6, 48, 0, 0), 0);
}

/* ib_table - write, load like the PMD, adopt, block, run rows with and
 * without an AF_XDP socket on queue 0 */
static void ib_table(const char *file, const uint16_t *ports, unsigned np,
		     bool block_all, const struct row *rows, size_t n)
{
	struct bpf_object *obj;
	struct ctl_maps *m;
	void *umem;
	__u32 q = 0;
	int prog_fd, xsk;

	ib_write(ib_path(file), ports, np, block_all);
	prog_fd = ib_pmd_load(ib_path(file), &obj);
	m = ib_adopt_fd(prog_fd);
	ib_block(m);
	ib_run_rows(prog_fd, m, rows, n, false);
	xsk = ib_xsk(&umem);
	if (bpf_map_update_elem(ctl_maps_map_fd(m, "xsks_map"), &q, &xsk, 0))
		fail_msg("xsks_map[0] = AF_XDP socket: %s", strerror(errno));
	ib_run_rows(prog_fd, m, rows, n, true);
	assert_int_equal(bpf_map_delete_elem(ctl_maps_map_fd(m, "xsks_map"), &q), 0);
	close(xsk);
	munmap(umem, 16 * 4096);
	ctl_maps_destroy(m);
	assert_int_equal(ctl_inlinebpf_release(g.pin), 0);
	bpf_object__close(obj);
}

/* ---- bad input ---- */

/* test_bad_knobs - port counts 0 and > SCR_XDP_MAX_PORTS, port 0, no path */
static void test_bad_knobs(void **state)
{
	static const uint16_t ports[SCR_XDP_MAX_PORTS + 1] = {
		25, 26, 27, 28, 29, 30, 31, 32, 33 };
	static const uint16_t zero[1] = { 0 };
	static const struct {
		const char *label;
		struct ctl_inlinebpf_knobs k;
		const char *path;
		const char *msg;
	} rows[] = {
		{ "no ports", { ports, 0, false }, "a.o", "0 SMTP ports" },
		{ "nine ports", { ports, SCR_XDP_MAX_PORTS + 1, false }, "a.o",
		  "9 SMTP ports" },
		{ "port 0", { zero, 1, false }, "a.o", "SMTP port 0" },
		{ "null ports", { NULL, 1, false }, "a.o", "SMTP ports" },
		{ "empty path", { ports, 1, false }, "", "no knobs or path" },
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *p = *rows[i].path ? ib_path(rows[i].path) : "";

		err[0] = '\0';
		if (ctl_inlinebpf_write(&rows[i].k, p, err, sizeof(err)) != -EINVAL)
			fail_msg("%s: not -EINVAL", rows[i].label);
		if (!strstr(err, rows[i].msg))
			fail_msg("%s: message \"%s\"", rows[i].label, err);
		assert_int_equal(access(ib_path("a.o"), F_OK), -1);
	}
}

/* ib_dir_count - entries in the test directory besides . and .. */
static int ib_dir_count(void)
{
	DIR *d = opendir(g.dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* test_bad_paths - a missing directory, a directory in the way */
static void test_bad_paths(void **state)
{
	static const uint16_t p25[] = { 25 };
	struct ctl_inlinebpf_knobs k = { p25, 1, false };
	char err[256] = "";
	int before;

	(void)state;
	assert_int_equal(ctl_inlinebpf_write(&k, "/nonexistent-ib/x.o", err,
					     sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-ib/x.o"));
	assert_int_equal(mkdir(ib_path("isdir"), 0700), 0);
	before = ib_dir_count();
	err[0] = '\0';
	assert_true(ctl_inlinebpf_write(&k, ib_path("isdir"), err,
					sizeof(err)) < 0);
	assert_non_null(strstr(err, "rename"));
	assert_int_equal(ib_dir_count(), before);	/* no temporary left */
	assert_int_equal(rmdir(ib_path("isdir")), 0);
}

/* test_bad_iface - adopt on an interface that does not exist */
static void test_bad_iface(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(ctl_inlinebpf_adopt("ibnosuch0", g.pin, err, sizeof(err)));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(err, "ibnosuch0"));
	assert_int_equal(access(g.pin, F_OK), -1);
}

/* ---- the written object ---- */

/* test_file - mode 0600, one program, the knobs in .rodata */
static void test_file(void **state)
{
	static const uint16_t ports[] = { 25, 587 };
	struct bpf_object *obj;
	struct bpf_program *prog;
	const struct bpf_map *ro;
	const uint8_t *v;
	struct stat st;
	size_t sz = 0;
	int n = 0;

	(void)state;
	ib_write(ib_path("file.o"), ports, 2, true);
	assert_int_equal(stat(ib_path("file.o"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	obj = bpf_object__open_file(ib_path("file.o"), NULL);
	assert_non_null(obj);
	bpf_object__for_each_program(prog, obj)
		n++;
	assert_int_equal(n, 1);
	prog = bpf_object__next_program(obj, NULL);
	assert_string_equal(bpf_program__name(prog), "scr_xdp_prog");
	ro = bpf_object__find_map_by_name(obj, ".rodata");
	assert_non_null(ro);
	v = bpf_map__initial_value((struct bpf_map *)ro, &sz);
	assert_non_null(v);
	assert_true(sz >= 32);
	/* scr_ports[8], scr_nports, scr_block_all, scr_xsk_redirect, scr_xsk_all */
	{
		uint16_t p[8];
		uint32_t w[4];

		memcpy(p, v, sizeof(p));
		memcpy(w, v + 16, sizeof(w));
		assert_int_equal(p[0], 25);
		assert_int_equal(p[1], 587);
		assert_int_equal(p[2], 0);
		assert_int_equal(w[0], 2);
		assert_int_equal(w[1], 1);
		assert_int_equal(w[2], 1);
		assert_int_equal(w[3], 1);
	}
	bpf_object__close(obj);
	/* written again: replaced whole, no temporary left behind */
	ib_write(ib_path("file.o"), ports, 1, false);
	assert_int_equal(ib_dir_count(), 1);
	assert_int_equal(unlink(ib_path("file.o")), 0);
}

static const struct row rows25[] = {
	{ "blocked client SYN to 25", { .src = "198.18.0.66" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "blocked ipv6 client SYN to 25", { .v6 = 1, .src = "2001:db8:66::7" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "rejected /24 SYN to 25", { .src = "198.18.5.7" }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "permitted /24 SYN to 25", { .src = "198.18.6.7" }, XDP_PASS, SCR_XDP_C_PASS_PERMIT },
	{ "unblocked client SYN to 25", { .src = "198.18.0.2" }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "unblocked ipv6 client SYN to 25", { .v6 = 1, .src = "2001:db8:2::2" }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "arp", { .ethertype = 0x0806 }, XDP_PASS, SCR_XDP_C_PASS_NOT_IP },
	{ "icmp from blocked client", { .src = "198.18.0.66", .proto = 1 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "icmpv6 (nd)", { .v6 = 1, .proto = 58 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "udp 53", { .src = "198.18.0.2", .proto = 17, .dport = 53 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "tcp to 80 from blocked client", { .src = "198.18.0.66", .dport = 80 }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
	{ "tcp to 2525", { .src = "198.18.0.2", .dport = 2525 }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
	{ "truncated ipv4", { .src = "198.18.0.66", .cut = 30 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
};

static const struct row rows2525[] = {
	{ "blocked client SYN to 2525", { .src = "198.18.0.66", .dport = 2525 }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "blocked client SYN to 25", { .src = "198.18.0.66" }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
	{ "unblocked client SYN to 2525", { .src = "198.18.0.2", .dport = 2525 }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "arp", { .ethertype = 0x0806 }, XDP_PASS, SCR_XDP_C_PASS_NOT_IP },
	{ "icmp", { .src = "198.18.0.2", .proto = 1 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "tcp to 80", { .src = "198.18.0.2", .dport = 80 }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
};

static const struct row rows_all[] = {
	{ "block-all: icmp from blocked client", { .src = "198.18.0.66", .proto = 1 }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "block-all: tcp 80 from blocked client", { .src = "198.18.0.66", .dport = 80 }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "block-all: tcp 80 from unblocked client", { .src = "198.18.0.2", .dport = 80 }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "block-all: arp", { .ethertype = 0x0806 }, XDP_PASS, SCR_XDP_C_PASS_NOT_IP },
};

/* test_ports_25 - ports {25} */
static void test_ports_25(void **state)
{
	static const uint16_t p[] = { 25 };

	(void)state;
	ib_table("p25.o", p, 1, false, rows25, sizeof(rows25) / sizeof(rows25[0]));
}

/* test_ports_2525 - ports {2525} */
static void test_ports_2525(void **state)
{
	static const uint16_t p[] = { 2525 };

	(void)state;
	ib_table("p2525.o", p, 1, false, rows2525,
		 sizeof(rows2525) / sizeof(rows2525[0]));
}

/* test_block_all - ports {25}, block-all */
static void test_block_all(void **state)
{
	static const uint16_t p[] = { 25 };

	(void)state;
	ib_table("all.o", p, 1, true, rows_all,
		 sizeof(rows_all) / sizeof(rows_all[0]));
}

/* sz_act - the program's action on a frame from src */
static uint32_t sz_act(int prog_fd, const char *src)
{
	struct xt_pkt pk = { .v6 = strchr(src, ':') != NULL, .src = src };
	uint8_t frame[256];
	uint32_t act;
	int len = xt_build(frame, &pk);

	assert_int_equal(xt_run(prog_fd, frame, len, &act), 0);
	return act;
}

/* v4_txt - dotted text of a host-order IPv4 address */
static const char *v4_txt(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
	return buf;
}

/* test_sizes - the ELF's map sizes: 2^19 DXR ranges fit (2^18 chunks +
 * 2^17 isolated /32s, two ranges each); a list of one /32 more (and of
 * more IPv6 prefixes than perm6 holds) gets bigger maps in the copy it
 * goes to, and every entry is in force after the flip */
static void test_sizes(void **state)
{
	static const uint16_t p[] = { 25 };
	const int n4 = 1 << 17;		/* /32s that fill the ELF's ranges */
	const uint32_t net10 = 0x0a000000u;
	struct ctl_xdp_entry *e;
	struct ctl_maps_size sz;
	struct bpf_object *obj;
	struct bpf_map_info mi = {};
	__u32 mlen = sizeof(mi);
	struct ctl_maps *m, *m2;
	char txt[64], err[256];
	int prog_fd, i, n6 = 70000;

	(void)state;
	ib_write(ib_path("sz.o"), p, 1, false);
	prog_fd = ib_pmd_load(ib_path("sz.o"), &obj);
	m = ib_adopt_fd(prog_fd);
	assert_int_equal(bpf_obj_get_info_by_fd(ctl_maps_map_fd(m, "dxr_ranges_a"),
						&mi, &mlen), 0);
	assert_int_equal(mi.max_entries * SCR_XDP_DXR_RANGE_PER, 1u << 19);
	e = calloc((size_t)n4 + 1 + (size_t)n6, sizeof(*e));
	assert_non_null(e);
	/* 10.0.0.1, 10.0.0.5, ...: every fourth address, never a chunk's first */
	for (i = 0; i <= n4; i++)
		e[i] = xt_entry(v4_txt(net10 + 4u * (uint32_t)i + 1, txt, sizeof(txt)),
				32, SCR_XDP_ANS_REJECT);
	for (i = 0; i < n6; i++) {
		snprintf(txt, sizeof(txt), "2001:db8:%x:%x::", i / 65536, i % 65536);
		e[n4 + 1 + i] = xt_entry(txt, 64, SCR_XDP_ANS_REJECT);
	}
	assert_int_equal(ctl_maps_dxr_needed(e, (size_t)n4), 1u << 19);
	assert_int_equal(ctl_maps_replace(m, e, (size_t)n4), 0);
	ctl_maps_sizes(m, &sz);
	assert_int_equal(sz.ranges[ctl_maps_active(m)], 1u << 19);	/* fits */
	assert_int_equal(sz_act(prog_fd, "10.8.0.1"), XDP_PASS);
	assert_int_equal(sz_act(prog_fd, "10.7.255.253"), XDP_DROP);	/* the last */
	m2 = ctl_maps_open_pinned(g.pin, err, sizeof(err));	/* before growth */
	assert_non_null(m2);
	assert_int_equal(ctl_maps_replace(m, e, (size_t)n4 + 1 + (size_t)n6), 0);
	ctl_maps_sizes(m, &sz);
	assert_true(sz.ranges[ctl_maps_active(m)] > (1u << 19) + 2);
	assert_true(sz.perm6_max[ctl_maps_active(m)] >= (uint32_t)n6);
	assert_int_equal(sz_act(prog_fd, "10.8.0.1"), XDP_DROP);	/* the one more */
	assert_int_equal(sz_act(prog_fd, "10.0.0.1"), XDP_DROP);
	assert_int_equal(sz_act(prog_fd, "10.0.0.2"), XDP_PASS);
	assert_int_equal(sz_act(prog_fd, "2001:db8:1:1116::5"), XDP_DROP);	/* 69910 */
	assert_int_equal(sz_act(prog_fd, "2001:db8:2:0::5"), XDP_PASS);
	/* and the other copy grows on the next reload */
	assert_int_equal(ctl_maps_replace(m, e, (size_t)n4 + 1 + (size_t)n6), 0);
	ctl_maps_sizes(m, &sz);
	assert_true(sz.ranges[0] > (1u << 19) + 2 && sz.ranges[1] > (1u << 19) + 2);
	assert_int_equal(sz_act(prog_fd, "10.8.0.1"), XDP_DROP);
	assert_int_equal(sz_act(prog_fd, "2001:db8:1:1116::5"), XDP_DROP);
	/* a handle opened before the growth writes into the grown maps, not
	 * into the ones it saw (the packet reads the grown ones) */
	for (i = 0; i < n4; i++)
		e[i] = xt_entry(v4_txt(net10 + 4u * (uint32_t)i + 2, txt, sizeof(txt)),
				32, SCR_XDP_ANS_REJECT);
	assert_int_equal(ctl_maps_replace(m2, e, (size_t)n4), 0);
	assert_int_equal(sz_act(prog_fd, "10.0.0.2"), XDP_DROP);
	assert_int_equal(sz_act(prog_fd, "10.0.0.1"), XDP_PASS);
	ctl_maps_destroy(m2);
	free(e);
	ctl_maps_destroy(m);
	assert_int_equal(ctl_inlinebpf_release(g.pin), 0);
	bpf_object__close(obj);
}

/* ---- adopt on a veth pair ---- */

/* ib_sh - run a shell command; asserts success */
static void ib_sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* ib_netns - a private network namespace with the veth pair ibv0/ibv1 */
static void ib_netns(void)
{
	if (g.netns)
		return;
	if (unshare(CLONE_NEWNET))
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	g.netns = true;
	ib_sh("ip link add ibv0 type veth peer name ibv1");
	ib_sh("ip link set ibv0 up && ip link set ibv1 up");
}

/* ib_send - send a frame out of ifname (arrives at its veth peer) */
static void ib_send(const char *ifname, const struct xt_pkt *p)
{
	struct sockaddr_ll sa = {};
	uint8_t frame[256];
	int fd, len;

	len = xt_build(frame, p);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(fd >= 0);
	sa.sll_family = AF_PACKET;
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	sa.sll_halen = 6;
	memcpy(sa.sll_addr, frame, 6);
	if (sendto(fd, frame, (size_t)len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != len)
		fail_msg("send on %s: %s", ifname, strerror(errno));
	close(fd);
}

/* ib_wait_ctr - wait (bounded) until counter c reaches want; its value */
static uint64_t ib_wait_ctr(struct ctl_maps *m, int c, uint64_t want)
{
	struct scr_xdp_ctr_val v[SCR_XDP_C_MAX];
	int i;

	for (i = 0; i < 200; i++) {
		assert_int_equal(ctl_maps_stats(m, v), 0);
		if (v[c].packets >= want)
			break;
		usleep(10000);
	}
	return v[c].packets;
}

/* ib_trivial - a two-instruction XDP program (XDP_PASS) named name */
static int ib_trivial(const char *name)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns, 2, NULL);

	if (fd < 0)
		fail_msg("load trivial program: %s", strerror(-fd));
	return fd;
}

/* test_adopt - the PMD's attach, adopt, block through the pins, a real
 * frame dropped, refusals, release */
static void test_adopt(void **state)
{
	static const uint16_t p[] = { 25 };
	struct xt_pkt blocked = { .src = "198.18.0.66" };
	struct xt_pkt arp = { .ethertype = 0x0806 };
	struct scr_addr a = xt_addr("198.18.0.77");
	struct bpf_prog_info pi = {};
	__u32 plen = sizeof(pi), id = 0;
	struct bpf_object *obj;
	struct ctl_maps *m, *m2;
	uint8_t frame[256];
	char err[256] = "";
	uint32_t act;
	int prog_fd, ifx, len, foreign, named;

	(void)state;
	ib_netns();
	ifx = (int)if_nametoindex("ibv0");
	assert_true(ifx > 0);
	ib_write(ib_path("adopt.o"), p, 1, false);
	prog_fd = ib_pmd_load(ib_path("adopt.o"), &obj);

	/* nothing attached yet */
	assert_null(ctl_inlinebpf_adopt("ibv0", g.pin, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "no XDP program attached"));

	/* as the PMD attaches it */
	assert_int_equal(bpf_xdp_attach(ifx, prog_fd,
					XDP_FLAGS_UPDATE_IF_NOEXIST, NULL), 0);
	m = ctl_inlinebpf_adopt("ibv0", g.pin, err, sizeof(err));
	if (!m)
		fail_msg("adopt ibv0: %s", err);
	assert_int_equal(bpf_obj_get_info_by_fd(ctl_maps_prog_fd(m), &pi,
						&plen), 0);
	assert_int_equal(bpf_xdp_query_id(ifx, 0, &id), 0);
	assert_int_equal(pi.id, id);

	/* a second adopt into the same pins */
	assert_null(ctl_inlinebpf_adopt("ibv0", g.pin, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "already loaded"));

	/* a block through the handle adopt returned, one through the pins
	 * (what smtpscreenctl block add opens) */
	ib_block(m);
	m2 = ctl_maps_open_pinned(g.pin, err, sizeof(err));
	if (!m2)
		fail_msg("open pinned: %s", err);
	assert_int_equal(ctl_maps_dyn_add(m2, SCR_XDP_KIND_BLOCK, &a, 128, 600, 0), 0);
	len = xt_build(frame, &(struct xt_pkt){ .src = "198.18.0.77" });
	assert_int_equal(xt_run(prog_fd, frame, len, &act), 0);
	assert_int_equal(act, XDP_DROP);

	/* real frames over the veth: the attached program drops the
	 * blocked client and passes ARP (no socket in xsks_map) */
	ib_send("ibv1", &blocked);
	ib_send("ibv1", &arp);
	assert_int_equal(ib_wait_ctr(m2, SCR_XDP_C_DROP_BLOCK, 2), 2);
	assert_int_equal(ib_wait_ctr(m2, SCR_XDP_C_PASS_NOT_IP, 1), 1);
	ctl_maps_destroy(m2);

	/* a foreign program on the peer is refused, naming it */
	foreign = ib_trivial("ib_foreign");
	assert_int_equal(bpf_xdp_attach((int)if_nametoindex("ibv1"), foreign,
					XDP_FLAGS_UPDATE_IF_NOEXIST, NULL), 0);
	assert_null(ctl_inlinebpf_adopt("ibv1", g.pin2, err, sizeof(err)));
	assert_int_equal(errno, EMEDIUMTYPE);
	assert_non_null(strstr(err, "\"ib_foreign\""));
	assert_non_null(strstr(err, "ibv1"));
	assert_int_equal(access(g.pin2, F_OK), -1);
	assert_int_equal(bpf_xdp_detach((int)if_nametoindex("ibv1"), 0, NULL), 0);
	close(foreign);

	/* named like ours, without our maps */
	named = ib_trivial("scr_xdp_prog");
	assert_null(ctl_inlinebpf_adopt_fd(named, g.pin2, err, sizeof(err)));
	assert_int_equal(errno, EMEDIUMTYPE);
	assert_non_null(strstr(err, "has no map"));
	assert_int_equal(access(g.pin2, F_OK), -1);
	close(named);

	/* release: pins gone, the PMD's program still attached */
	ctl_maps_destroy(m);
	assert_int_equal(ctl_inlinebpf_release(g.pin), 0);
	assert_int_equal(access(g.pin, F_OK), -1);
	assert_int_equal(ctl_inlinebpf_release(g.pin), -ENOENT);
	assert_int_equal(bpf_xdp_query_id(ifx, 0, &id), 0);
	assert_int_equal(id, pi.id);
	assert_int_equal(bpf_xdp_detach(ifx, 0, NULL), 0);
	bpf_object__close(obj);
}

/* ---- fixture ---- */

/* setup - a temporary directory and pin directory names of our own */
static int setup(void **state)
{
	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/ib-test-XXXXXX");
	if (!mkdtemp(g.dir))
		return -1;
	snprintf(g.pin, sizeof(g.pin), "/sys/fs/bpf/ib-test-%d", (int)getpid());
	snprintf(g.pin2, sizeof(g.pin2), "/sys/fs/bpf/ib-test2-%d",
		 (int)getpid());
	return 0;
}

/* teardown - pins, files; the network namespace goes with the process */
static int teardown(void **state)
{
	DIR *d;
	struct dirent *de;

	(void)state;
	ctl_maps_unpin(g.pin);
	ctl_maps_unpin(g.pin2);
	d = opendir(g.dir);
	if (d) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlink(ib_path(de->d_name)))
				rmdir(ib_path(de->d_name));
		}
		closedir(d);
	}
	rmdir(g.dir);
	return 0;
}

/* test_teardown - after each test: nothing pinned is left for the next */
static int test_teardown(void **state)
{
	(void)state;
	ctl_maps_unpin(g.pin);
	ctl_maps_unpin(g.pin2);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bad_knobs, test_teardown),
		cmocka_unit_test_teardown(test_bad_paths, test_teardown),
		cmocka_unit_test_teardown(test_bad_iface, test_teardown),
		cmocka_unit_test_teardown(test_file, test_teardown),
		cmocka_unit_test_teardown(test_ports_25, test_teardown),
		cmocka_unit_test_teardown(test_ports_2525, test_teardown),
		cmocka_unit_test_teardown(test_block_all, test_teardown),
		cmocka_unit_test_teardown(test_sizes, test_teardown),
		cmocka_unit_test_teardown(test_adopt, test_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
