/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_xdp_prog_test - the XDP program through BPF_PROG_TEST_RUN
 * DESCRIPTION
 *	Table-driven: {description, frame, expected action, expected counter}
 *	over every parse path (IPv4, IPv6, VLAN, QinQ, IP options, extension
 *	headers, fragments, truncation at every layer, non-TCP, other ports)
 *	and every decision (permanent permit/reject, dynamic allow/block,
 *	expired, allow over block, permit over block), then each prefix
 *	length /0../32 (and IPv6 lengths) in the permanent and dynamic
 *	structures, then the knobs (block-all, several ports, xsk without a
 *	socket). Needs root and a BPF-capable kernel: a load failure fails
 *	the test with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "xdp_test_util.h"

struct row {
	const char *desc;
	struct xt_pkt pkt;
	uint32_t act;
	enum scr_xdp_ctr ctr;
};

static const struct row rows[] = {
	/* what the parser does not understand passes, counted */
	{ "arp frame", { .ethertype = 0x0806 }, XDP_PASS, SCR_XDP_C_PASS_NOT_IP },
	{ "three vlan tags", { .src = "198.18.1.5", .vlans = 3 }, XDP_PASS, SCR_XDP_C_PASS_NOT_IP },
	{ "truncated in vlan tag", { .src = "198.18.1.5", .vlans = 1, .cut = 16 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in ipv4 header", { .src = "198.18.1.5", .cut = 30 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in ipv4 options", { .src = "198.18.1.5", .ihl = 15, .cut = 60 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in tcp header", { .src = "198.18.1.5", .cut_l4 = 1 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in ipv6 header", { .v6 = 1, .src = "2001:db8:1::5", .cut = 50 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in ipv6 ext header", { .v6 = 1, .src = "2001:db8:1::5", .v6_ext = 2, .cut = 14 + 40 + 8 + 2 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in ipv6 fragment header", { .v6 = 1, .src = "2001:db8:1::5", .frag = 1, .cut = 14 + 40 + 4 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "truncated in tcp after ipv6", { .v6 = 1, .src = "2001:db8:1::5", .cut_l4 = 4 }, XDP_PASS, SCR_XDP_C_PASS_TRUNCATED },
	{ "ipv4 ihl 4", { .src = "198.18.1.5", .ihl = 4 }, XDP_PASS, SCR_XDP_C_PASS_BAD_HDR },
	{ "ipv4 ihl 0", { .src = "198.18.1.5", .ihl = 0x10 }, XDP_PASS, SCR_XDP_C_PASS_BAD_HDR },
	{ "tcp doff 4", { .src = "198.18.1.5", .doff = 4 }, XDP_PASS, SCR_XDP_C_PASS_BAD_HDR },
	{ "ipv6 nine extension headers", { .v6 = 1, .src = "2001:db8:1::5", .v6_ext = 9 }, XDP_PASS, SCR_XDP_C_PASS_BAD_HDR },
	{ "ipv4 non-first fragment", { .src = "198.18.1.5", .frag = 2 }, XDP_PASS, SCR_XDP_C_PASS_FRAGMENT },
	{ "ipv6 non-first fragment", { .v6 = 1, .src = "2001:db8:1::5", .frag = 2 }, XDP_PASS, SCR_XDP_C_PASS_FRAGMENT },
	{ "ipv4 udp to 25", { .src = "198.18.1.5", .proto = 17 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "ipv6 udp to 25", { .v6 = 1, .src = "2001:db8:1::5", .proto = 17 }, XDP_PASS, SCR_XDP_C_PASS_NOT_TCP },
	{ "ipv4 tcp to port 80", { .src = "198.18.1.5", .dport = 80 }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
	{ "ipv6 tcp to port 587", { .v6 = 1, .src = "2001:db8:1::5", .dport = 587 }, XDP_PASS, SCR_XDP_C_PASS_OTHER_PORT },
	/* permanent list */
	{ "ipv4 unlisted", { .src = "198.18.9.9" }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "ipv4 rejected /24", { .src = "198.18.1.5" }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv4 permit /25 inside reject /24", { .src = "198.18.1.200" }, XDP_PASS, SCR_XDP_C_PASS_PERMIT },
	{ "ipv4 rejected /32 inside permit /25", { .src = "198.18.1.201" }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "vlan rejected", { .src = "198.18.1.5", .vlans = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "qinq rejected", { .src = "198.18.1.5", .vlans = 2, .qinq = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv4 options rejected", { .src = "198.18.1.5", .ip_opts = 12 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv4 40 bytes of options rejected", { .src = "198.18.1.5", .ip_opts = 40 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv4 first fragment rejected", { .src = "198.18.1.5", .frag = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv6 unlisted", { .v6 = 1, .src = "2001:db8:9::1" }, XDP_PASS, SCR_XDP_C_PASS_UNLISTED },
	{ "ipv6 rejected /48", { .v6 = 1, .src = "2001:db8:1::5" }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv6 permitted /48", { .v6 = 1, .src = "2001:db8:2::1" }, XDP_PASS, SCR_XDP_C_PASS_PERMIT },
	{ "ipv6 ext headers rejected", { .v6 = 1, .src = "2001:db8:1::5", .v6_ext = 3 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv6 eight ext headers rejected", { .v6 = 1, .src = "2001:db8:1::5", .v6_ext = 7, .frag = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv6 first fragment rejected", { .v6 = 1, .src = "2001:db8:1::5", .frag = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "ipv6 vlan rejected", { .v6 = 1, .src = "2001:db8:1::5", .vlans = 1 }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	{ "v4-mapped ipv6 source uses the ipv4 list", { .v6 = 1, .src = "::ffff:198.18.1.5" }, XDP_DROP, SCR_XDP_C_DROP_REJECT },
	/* dynamic entries */
	{ "ipv4 blocked", { .src = "198.18.3.3" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "ipv4 block expired", { .src = "198.18.4.4" }, XDP_PASS, SCR_XDP_C_PASS_EXPIRED },
	{ "permanent permit beats block", { .src = "198.18.2.9" }, XDP_PASS, SCR_XDP_C_PASS_PERMIT },
	{ "allow /32 overrides block /24", { .src = "198.18.6.6" }, XDP_PASS, SCR_XDP_C_PASS_ALLOW },
	{ "block /24 beside the allow", { .src = "198.18.6.7" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "allow /24 overrides block /32", { .src = "198.18.7.7" }, XDP_PASS, SCR_XDP_C_PASS_ALLOW },
	{ "allow expired, block applies", { .src = "198.18.8.8" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "ipv6 blocked /64", { .v6 = 1, .src = "2001:db8:3::1" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "ipv6 expired /128 inside live /64", { .v6 = 1, .src = "2001:db8:3::5" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
	{ "ipv6 block expired", { .v6 = 1, .src = "2001:db8:5::5" }, XDP_PASS, SCR_XDP_C_PASS_EXPIRED },
	{ "ipv6 allow /64 overrides block /48", { .v6 = 1, .src = "2001:db8:4::1" }, XDP_PASS, SCR_XDP_C_PASS_ALLOW },
	{ "ipv6 block /48 outside the allow", { .v6 = 1, .src = "2001:db8:4:1::1" }, XDP_DROP, SCR_XDP_C_DROP_BLOCK },
};

static struct ctl_maps *maps;

/* expire - make an existing dynamic entry expired */
static void expire(enum scr_xdp_kind kind, const char *txt, unsigned plen)
{
	struct scr_xdp_dyn_val v = { .expires_ns = 1, .added_ns = 1 };
	struct scr_addr a = xt_addr(txt);
	int v6 = strchr(txt, ':') != NULL;

	assert_int_equal(ctl_maps_dyn_add(maps, kind, &a, v6 ? plen : plen + 96, 60, 0), 0);
	if (v6) {
		struct scr_xdp_dyn6_key k = { .kind = kind, .plen = plen };

		memcpy(k.addr, a.b, 16);
		assert_int_equal(bpf_map_update_elem(ctl_maps_map_fd(maps, "dyn6"), &k, &v, BPF_EXIST), 0);
	} else {
		struct scr_xdp_dyn4_key k = { .kind = kind, .plen = plen };

		memcpy(&k.addr, &a.b[12], 4);
		assert_int_equal(bpf_map_update_elem(ctl_maps_map_fd(maps, "dyn4"), &k, &v, BPF_EXIST), 0);
	}
}

/* dyn - add a dynamic entry */
static void dyn(enum scr_xdp_kind kind, const char *txt, unsigned plen)
{
	struct scr_addr a = xt_addr(txt);

	ctl_addr_mask(&a, strchr(txt, ':') ? plen : plen + 96);
	assert_int_equal(ctl_maps_dyn_add(maps, kind, &a, strchr(txt, ':') ? plen : plen + 96, 0, 0), 0);
}

/* setup - load the program and fill the fixture */
static int setup(void **state)
{
	struct ctl_xdp_entry e[] = {
		xt_entry("198.18.1.0", 24, SCR_XDP_ANS_REJECT),
		xt_entry("198.18.1.128", 25, SCR_XDP_ANS_PERMIT),
		xt_entry("198.18.1.201", 32, SCR_XDP_ANS_REJECT),
		xt_entry("198.18.2.0", 24, SCR_XDP_ANS_PERMIT),
		xt_entry("2001:db8:1::", 48, SCR_XDP_ANS_REJECT),
		xt_entry("2001:db8:2::", 48, SCR_XDP_ANS_PERMIT),
	};
	char err[256];

	maps = ctl_maps_load(NULL, err, sizeof(err));
	if (!maps) {
		fprintf(stderr, "cannot load the XDP program: %s\n", err);
		return -1;
	}
	if (ctl_maps_replace(maps, e, sizeof(e) / sizeof(e[0])))
		return -1;
	dyn(SCR_XDP_KIND_BLOCK, "198.18.3.0", 24);
	expire(SCR_XDP_KIND_BLOCK, "198.18.4.4", 32);
	dyn(SCR_XDP_KIND_BLOCK, "198.18.2.9", 32);
	dyn(SCR_XDP_KIND_BLOCK, "198.18.6.0", 24);
	dyn(SCR_XDP_KIND_ALLOW, "198.18.6.6", 32);
	dyn(SCR_XDP_KIND_BLOCK, "198.18.7.7", 32);
	dyn(SCR_XDP_KIND_ALLOW, "198.18.7.0", 24);
	dyn(SCR_XDP_KIND_BLOCK, "198.18.8.8", 32);
	expire(SCR_XDP_KIND_ALLOW, "198.18.8.8", 32);
	dyn(SCR_XDP_KIND_BLOCK, "2001:db8:3::", 64);
	expire(SCR_XDP_KIND_BLOCK, "2001:db8:3::5", 128);
	expire(SCR_XDP_KIND_BLOCK, "2001:db8:5::5", 128);
	dyn(SCR_XDP_KIND_BLOCK, "2001:db8:4::", 48);
	dyn(SCR_XDP_KIND_ALLOW, "2001:db8:4::", 64);
	*state = maps;
	return 0;
}

/* teardown - unload */
static int teardown(void **state)
{
	ctl_maps_destroy(maps);
	maps = NULL;
	return 0;
}

/* check - run one frame, compare action and the one counter that moved */
static void check(struct ctl_maps *m, const char *desc, const struct xt_pkt *p,
		  uint32_t want_act, enum scr_xdp_ctr want_ctr)
{
	struct scr_xdp_ctr_val before[SCR_XDP_C_MAX], after[SCR_XDP_C_MAX];
	uint8_t buf[256];
	uint32_t act = 99;
	int len, i;

	len = xt_build(buf, p);
	assert_int_equal(ctl_maps_stats(m, before), 0);
	assert_int_equal(xt_run(ctl_maps_prog_fd(m), buf, len, &act), 0);
	assert_int_equal(ctl_maps_stats(m, after), 0);
	if (act != want_act)
		fail_msg("%s: action %u, expected %u", desc, act, want_act);
	for (i = 0; i < SCR_XDP_C_MAX; i++) {
		uint64_t d = after[i].packets - before[i].packets;

		if (d != (i == (int)want_ctr))
			fail_msg("%s: counter %s moved by %llu", desc,
				 ctl_maps_ctr_name[i], (unsigned long long)d);
		if (i == (int)want_ctr &&
		    after[i].bytes - before[i].bytes != (uint64_t)len)
			fail_msg("%s: %s bytes", desc, ctl_maps_ctr_name[i]);
	}
}

/* test_table - every row */
static void test_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check(*state, rows[i].desc, &rows[i].pkt, rows[i].act, rows[i].ctr);
}

/* test_too_short - BPF_PROG_TEST_RUN refuses frames under 14 bytes */
static void test_too_short(void **state)
{
	uint8_t buf[16] = { 0 };
	uint32_t act;

	assert_int_equal(xt_run(ctl_maps_prog_fd(*state), buf, 10, &act), -EINVAL);
}

/* test_each_plen_v4 - permanent and dynamic entries of every length */
static void test_each_plen_v4(void **state)
{
	struct ctl_maps *m = *state;
	char desc[96], in[32], out[32];
	uint32_t base = 0xc6135507;	/* 198.19.85.7: clear of the fixture */
	unsigned L;

	for (L = 0; L <= 32; L++) {
		uint32_t a_in = base, a_out;
		struct ctl_xdp_entry e;
		struct xt_pkt p = {};
		struct scr_addr net = {};

		a_out = L ? base ^ (1u << (32 - L)) : 0;
		snprintf(in, sizeof(in), "%u.%u.%u.%u", a_in >> 24, (a_in >> 16) & 255, (a_in >> 8) & 255, a_in & 255);
		snprintf(out, sizeof(out), "%u.%u.%u.%u", a_out >> 24, (a_out >> 16) & 255, (a_out >> 8) & 255, a_out & 255);
		e = xt_entry(in, L, SCR_XDP_ANS_REJECT);
		assert_int_equal(ctl_maps_replace(m, &e, 1), 0);
		p.src = in;
		snprintf(desc, sizeof(desc), "reject /%u: inside", L);
		check(m, desc, &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
		if (L) {
			p.src = out;
			snprintf(desc, sizeof(desc), "reject /%u: outside", L);
			check(m, desc, &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
		}
		/* the same as a dynamic block, with an empty permanent list */
		assert_int_equal(ctl_maps_replace(m, NULL, 0), 0);
		net = e.net;
		assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &net, e.plen, 0, 0), 0);
		p.src = in;
		snprintf(desc, sizeof(desc), "block /%u: inside", L);
		check(m, desc, &p, XDP_DROP, SCR_XDP_C_DROP_BLOCK);
		if (L) {
			p.src = out;
			snprintf(desc, sizeof(desc), "block /%u: outside", L);
			check(m, desc, &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
		}
		assert_int_equal(ctl_maps_dyn_del(m, SCR_XDP_KIND_BLOCK, &net, e.plen), 0);
	}
}

/* test_each_plen_v6 - IPv6 lengths across word boundaries */
static void test_each_plen_v6(void **state)
{
	static const unsigned lens[] = { 0, 1, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128 };
	struct ctl_maps *m = *state;
	char desc[96], out[64];
	const char *in = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff";
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned L = lens[i];
		struct ctl_xdp_entry e = xt_entry(in, L, SCR_XDP_ANS_REJECT);
		struct scr_addr o = xt_addr(in);
		struct xt_pkt p = { .v6 = 1 };

		assert_int_equal(ctl_maps_replace(m, &e, 1), 0);
		p.src = in;
		snprintf(desc, sizeof(desc), "ipv6 reject /%u: inside", L);
		check(m, desc, &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
		if (L) {
			o.b[(L - 1) / 8] ^= (uint8_t)(0x80 >> ((L - 1) % 8));
			inet_ntop(AF_INET6, o.b, out, sizeof(out));
			p.src = out;
			snprintf(desc, sizeof(desc), "ipv6 reject /%u: outside", L);
			check(m, desc, &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
		}
		assert_int_equal(ctl_maps_replace(m, NULL, 0), 0);
		assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &e.net, L, 0, 0), 0);
		p.src = in;
		snprintf(desc, sizeof(desc), "ipv6 block /%u: inside", L);
		check(m, desc, &p, XDP_DROP, SCR_XDP_C_DROP_BLOCK);
		if (L) {
			p.src = out;
			snprintf(desc, sizeof(desc), "ipv6 block /%u: outside", L);
			check(m, desc, &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
		}
		assert_int_equal(ctl_maps_dyn_del(m, SCR_XDP_KIND_BLOCK, &e.net, L), 0);
	}
}

/* test_sweep - expired entries go, live ones stay, masks follow */
static void test_sweep(void **state)
{
	struct ctl_maps *m = *state;
	struct xt_pkt p = { .src = "198.18.11.1" };
	size_t removed = 99;

	assert_int_equal(ctl_maps_replace(m, NULL, 0), 0);
	maps = m;
	expire(SCR_XDP_KIND_BLOCK, "198.18.11.1", 32);
	dyn(SCR_XDP_KIND_BLOCK, "198.18.12.0", 24);
	check(m, "before sweep: expired", &p, XDP_PASS, SCR_XDP_C_PASS_EXPIRED);
	assert_int_equal(ctl_maps_sweep(m, &removed), 0);
	assert_true(removed >= 1);
	check(m, "after sweep: gone", &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
	p.src = "198.18.12.1";
	check(m, "after sweep: live block stays", &p, XDP_DROP, SCR_XDP_C_DROP_BLOCK);
}

/* test_bad_input - entries the maps refuse */
static void test_bad_input(void **state)
{
	struct ctl_maps *m = *state;
	struct ctl_xdp_entry e = xt_entry("198.18.1.0", 24, SCR_XDP_ANS_REJECT);
	struct scr_addr a = xt_addr("198.18.1.1");

	e.net.b[15] = 1;	/* host bits */
	assert_int_equal(ctl_maps_replace(m, &e, 1), -EINVAL);
	e.net.b[15] = 0;
	e.ans = SCR_XDP_ANS_MAX;
	assert_int_equal(ctl_maps_replace(m, &e, 1), -EINVAL);
	assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &a, 128, SCR_XDP_TTL_MAX_S + 1, 0), -ERANGE);
	assert_int_equal(ctl_maps_dyn_add(m, SCR_XDP_KIND_BLOCK, &a, 129, 0, 0), -EINVAL);
	assert_int_equal(ctl_maps_dyn_del(m, SCR_XDP_KIND_BLOCK, &a, 128), -ENOENT);
}

/* test_knobs - block-all, several ports, xsk redirect without a socket */
static void test_knobs(void **state)
{
	struct ctl_maps_opts o = { .ports = { 25, 587 }, .nports = 2,
		.block_all = true, .xsk_redirect = true };
	struct ctl_xdp_entry e = xt_entry("198.18.1.0", 24, SCR_XDP_ANS_REJECT);
	struct xt_pkt p = { .src = "198.18.1.5", .dport = 80 };
	struct ctl_maps *m;
	char err[256];

	m = ctl_maps_load(&o, err, sizeof(err));
	if (!m)
		fail_msg("load with knobs: %s", err);
	assert_int_equal(ctl_maps_replace(m, &e, 1), 0);
	check(m, "block-all: port 80 dropped", &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
	p.proto = 17;
	check(m, "block-all: udp dropped", &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
	p.proto = 0;
	p.frag = 2;
	check(m, "block-all: non-first fragment dropped", &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
	p.frag = 0;
	p.dport = 587;
	check(m, "port 587 screened", &p, XDP_DROP, SCR_XDP_C_DROP_REJECT);
	p.src = "198.18.9.1";
	check(m, "xsk: no socket on the queue, passes", &p, XDP_PASS, SCR_XDP_C_PASS_UNLISTED);
	p.ethertype = 0x0806;
	check(m, "block-all: arp passes", &p, XDP_PASS, SCR_XDP_C_PASS_NOT_IP);
	ctl_maps_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_too_short),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_each_plen_v4),
		cmocka_unit_test(test_each_plen_v6),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_knobs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
