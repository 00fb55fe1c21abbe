/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	xdp_bench - XDP lookup cost of three IPv4 structures in the same run:
 *	BPF LPM trie, scr_xdp's DIR-24-8, DXR (D18); warm and cold; load times
 * DESCRIPTION
 *	For 10K, 100K, 1M and 10M random IPv4 prefixes in a blocklist's mix
 *	(xt_random_v4_mix: /16../32, 45% /32, 30% /24), fills
 *	  - scr_xdp's DIR-24-8 (ctl_maps_replace into a loaded scr_xdp),
 *	  - scr_lookup_bench's BPF_MAP_TYPE_LPM_TRIE (batch updates),
 *	  - scr_lookup_bench's DXR maps (ctl_maps_dxr_build, written by mmap),
 *	    the ranges once in a plain array and once in an inner map of a
 *	    map-in-map (dxr_inner: helper calls, as growable copies would be),
 *	and times scr_lookup_bench's programs (the same lookup code as
 *	scr_xdp, scr_lookup.bpf.h) through BPF_PROG_TEST_RUN:
 *	  warm: one frame, one source, REPEAT runs (the kernel's average),
 *	        over WARM_ADDRS sources;
 *	  cold: one frame, repeat 2^20, each run takes the next source of a
 *	        trace of 2^20 addresses (half inside a listed prefix, half
 *	        uniform random) from an array map: a new source every packet.
 *	scr_none_prog (same parse and trace read, no lookup) is the overhead
 *	subtracted in the "lookup" columns. Rounds interleave the programs
 *	so drift hits all; the median of ROUNDS is printed.
 *	Before timing, CHECK sources are looked up in each structure with
 *	their own frame and compared with a reference longest-prefix match
 *	(xt_ref_lookup): any difference exits 1.
 *	At 1M also: dyn4 batch vs single updates, LPM single updates.
 *	Prints "key value" lines for bench/xdp_bench.sh.
 * USAGE
 *	xdp_bench [MAXN]   (root; MAXN default 10000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "scr_lookup_bench.skel.h"
#include "xdp_test_util.h"

#define WARM_ADDRS	256
#define REPEAT		4000
#define TRACE		(1u << 20)
#define CHECK		20000
#define ROUNDS		3

enum { P_NONE, P_LPM, P_DIR, P_DXR, P_DXRI, P_MAX };
static const char *const p_name[P_MAX] = {
	"none", "lpm", "dir248", "dxr", "dxr_inner"
};

struct lpm_key {
	__u32 prefixlen;
	__be32 addr;
};

/* now_ms - monotonic ms */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* run - one test run: the kernel's average ns, the action in *act */
static double run(int fd, const uint8_t *pkt, int len, unsigned repeat,
		  unsigned *act)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
		    .data_size_in = (__u32)len, .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		perror("bpf_prog_test_run_opts");
		exit(1);
	}
	if (act)
		*act = o.retval;
	return o.duration;
}

/* trace_fill - sources: half inside a listed prefix, half random */
static void trace_fill(uint32_t *t, const struct ctl_xdp_entry *e, size_t n,
		       uint64_t seed)
{
	unsigned i;

	for (i = 0; i < TRACE; i++) {
		uint64_t r = xt_rand(&seed);
		uint32_t a = (uint32_t)(r >> 32);

		if (r & 1) {
			const struct ctl_xdp_entry *x = &e[(r >> 8) % n];
			unsigned plen = x->plen - 96u;

			memcpy(&a, &x->net.b[12], 4);
			a = ntohl(a) | (plen ? (uint32_t)(r >> 32) & (~0u >> plen) :
					(uint32_t)(r >> 32));
		}
		t[i] = a;
	}
}

/* lpm_fill - fill the trie; batch or one by one; ms (-1: no batch) */
static double lpm_fill(int fd, const struct ctl_xdp_entry *e, size_t n, int batch)
{
	struct lpm_key *k = calloc(n, sizeof(*k));
	__u32 *v = calloc(n, sizeof(*v));
	double t0;
	size_t i;

	for (i = 0; i < n; i++) {
		k[i].prefixlen = e[i].plen - 96u;
		memcpy(&k[i].addr, &e[i].net.b[12], 4);
		v[i] = e[i].ans;
	}
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		if (batch) {
			__u32 cnt = (__u32)(n - i < 8192 ? n - i : 8192);

			if (bpf_map_update_batch(fd, &k[i], &v[i], &cnt, NULL)) {
				printf("lpm_batch_unsupported %d\n", errno);
				t0 = -1;
				goto out;
			}
			i += cnt - 1;
		} else if (bpf_map_update_elem(fd, &k[i], &v[i], BPF_ANY)) {
			perror("lpm update");
			exit(1);
		}
	}
	t0 = now_ms() - t0;
out:
	free(k);
	free(v);
	return t0;
}

/* map_mmap - an mmapable array map's values */
static void *map_mmap(struct bpf_map *m)
{
	size_t len = (size_t)bpf_map__max_entries(m) * bpf_map__value_size(m);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(m), 0);

	if (p == MAP_FAILED) {
		perror(bpf_map__name(m));
		exit(1);
	}
	return p;
}

/* dyn_loads - 1M /32 blocks into dyn4 (batch vs single), LPM single */
static void dyn_loads(struct ctl_maps *m, const struct ctl_xdp_entry *e,
		      size_t n)
{
	struct scr_addr *nets = calloc(n, sizeof(*nets));
	unsigned *pl = calloc(n, sizeof(*pl));
	struct scr_xdp_dyn_val v = { .expires_ns = ctl_maps_now_ns() + 3600000000000ull };
	struct scr_lookup_bench *lpm2;
	char err[256];
	struct ctl_maps *m2 = ctl_maps_load(NULL, err, sizeof(err));
	int fd = m2 ? ctl_maps_map_fd(m2, "dyn4") : -1;
	double t;
	size_t i;

	for (i = 0; i < n; i++) {
		nets[i] = xt_addr("10.0.0.0");
		nets[i].b[13] = (uint8_t)(i >> 16);
		nets[i].b[14] = (uint8_t)(i >> 8);
		nets[i].b[15] = (uint8_t)i;
		pl[i] = 128;
	}
	t = now_ms();
	if (ctl_maps_dyn_add_batch(m, SCR_XDP_KIND_BLOCK, nets, pl, n, 3600, 0)) {
		fprintf(stderr, "dyn batch failed\n");
		exit(1);
	}
	printf("n=%zu dyn4_batch_ms %.1f\n", n, now_ms() - t);
	t = now_ms();
	for (i = 0; i < n && fd >= 0; i++) {
		struct scr_xdp_dyn4_key k = { .kind = SCR_XDP_KIND_BLOCK, .plen = 32 };

		memcpy(&k.addr, &nets[i].b[12], 4);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			perror("dyn4 single");
			exit(1);
		}
	}
	printf("n=%zu dyn4_single_ms %.1f\n", n, now_ms() - t);
	lpm2 = scr_lookup_bench__open();
	bpf_map__set_autocreate(lpm2->maps.tbl24, false);
	bpf_map__set_autocreate(lpm2->maps.tbl8, false);
	bpf_program__set_autoload(lpm2->progs.scr_dir248_prog, false);
	bpf_map__set_max_entries(lpm2->maps.lpm4, (__u32)n);
	if (scr_lookup_bench__load(lpm2)) {
		perror("lookup bench load");
		exit(1);
	}
	printf("n=%zu lpm_single_ms %.1f\n", n,
	       lpm_fill(bpf_map__fd(lpm2->maps.lpm4), e, n, 0));
	scr_lookup_bench__destroy(lpm2);
	ctl_maps_destroy(m2);
	free(nets);
	free(pl);
}

/* dbl_cmp - for the median */
static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* bench_size - fill the three structures with n prefixes and time them */
static int bench_size(size_t n, uint64_t dir_max_bytes)
{
	static uint8_t pkts[WARM_ADDRS][256];
	static int lens[WARM_ADDRS];
	struct ctl_xdp_entry *e = calloc(n, sizeof(*e));
	struct ctl_maps_opts o = { .tbl8_groups = 1 };
	struct ctl_maps *m = NULL;
	struct scr_lookup_bench *b;
	struct ctl_dxr d;
	struct xt_ref *ref;
	struct scr_xdp_dxr_base *base;
	struct scr_xdp_dxr_range *ranges;
	uint32_t *tr, groups;
	size_t lines, i;
	double t, ns[P_MAX][ROUNDS], warm[P_MAX] = { 0 }, cold[P_MAX];
	int fd[P_MAX], have[P_MAX] = { 1, 1, 1, 1, 1 }, p, k, ifd;
	char err[256];
	uint8_t buf[256];
	unsigned act, bad[P_MAX] = { 0 };

	xt_random_v4_mix(e, n, 42 + n);
	ref = xt_ref_build(e, n);

	t = now_ms();
	if (ctl_maps_dxr_build(e, n, &d)) {
		fprintf(stderr, "dxr build failed\n");
		return 1;
	}
	lines = d.nranges / SCR_XDP_DXR_RANGE_PER + 1;
	printf("n=%zu dxr_build_ms %.1f ranges %zu bytes %zu\n", n,
	       now_ms() - t, d.nranges,
	       (SCR_XDP_DXR_BASE_VALS + lines) * sizeof(struct scr_xdp_dxr_range));

	groups = ctl_maps_tbl8_needed(e, n);
	if ((uint64_t)groups * 256 > dir_max_bytes) {
		printf("n=%zu dir248 not loaded: %u tbl8 groups = %.0f MiB a copy "
		       "(limit %.0f MiB on this shared machine)\n", n, groups,
		       groups / 4096.0, dir_max_bytes / 1048576.0);
		have[P_DIR] = 0;
	} else {
		m = ctl_maps_load(&o, err, sizeof(err));
		if (!m) {
			fprintf(stderr, "load: %s\n", err);
			return 1;
		}
		t = now_ms();
		if (ctl_maps_replace(m, e, n)) {
			fprintf(stderr, "replace failed\n");
			return 1;
		}
		printf("n=%zu dir248_load_ms %.1f tbl8_groups %u bytes %llu\n", n,
		       now_ms() - t, groups,
		       2ull * SCR_XDP_TBL24_SIZE * 4 + (uint64_t)groups * 256);
	}

	b = scr_lookup_bench__open();
	if (!b) {
		perror("lookup bench open");
		return 1;
	}
	bpf_map__set_max_entries(b->maps.lpm4, (__u32)n);
	bpf_map__set_max_entries(b->maps.dxr_ranges, (__u32)lines);
	if (have[P_DIR]) {
		unsigned sel = ctl_maps_active(m);

		bpf_map__reuse_fd(b->maps.tbl24, ctl_maps_map_fd(m, sel ? "tbl24_b" : "tbl24_a"));
		bpf_map__reuse_fd(b->maps.tbl8, ctl_maps_map_fd(m, "tbl8"));
		b->bss->dir_sel = sel;
	} else {
		bpf_map__set_autocreate(b->maps.tbl24, false);
		bpf_map__set_autocreate(b->maps.tbl8, false);
		bpf_program__set_autoload(b->progs.scr_dir248_prog, false);
	}
	if (scr_lookup_bench__load(b)) {
		perror("lookup bench load");
		return 1;
	}
	t = now_ms();
	base = map_mmap(b->maps.dxr_base);
	ranges = map_mmap(b->maps.dxr_ranges);
	memcpy(base, d.base, SCR_XDP_DXR_BASE_VALS * sizeof(*base));
	memcpy(ranges, d.ranges, lines * sizeof(*ranges));
	printf("n=%zu dxr_write_ms %.1f\n", n, now_ms() - t);
	{
		LIBBPF_OPTS(bpf_map_create_opts, mo,
			    .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
		__u32 zero = 0;
		void *p2;

		ifd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "dxr_inner", 4,
				     sizeof(*ranges), (__u32)lines, &mo);
		p2 = ifd < 0 ? MAP_FAILED : mmap(NULL, lines * sizeof(*ranges),
				PROT_READ | PROT_WRITE, MAP_SHARED, ifd, 0);
		if (p2 == MAP_FAILED || bpf_map_update_elem(bpf_map__fd(b->maps.dxr_outer),
							    &zero, &ifd, BPF_ANY)) {
			perror("dxr inner map");
			return 1;
		}
		memcpy(p2, d.ranges, lines * sizeof(*ranges));
		munmap(p2, lines * sizeof(*ranges));
	}
	t = lpm_fill(bpf_map__fd(b->maps.lpm4), e, n, 1);
	if (t < 0)
		t = lpm_fill(bpf_map__fd(b->maps.lpm4), e, n, 0);
	printf("n=%zu lpm_load_ms %.1f\n", n, t);

	fd[P_NONE] = bpf_program__fd(b->progs.scr_none_prog);
	fd[P_LPM] = bpf_program__fd(b->progs.scr_lpm4_prog);
	fd[P_DIR] = have[P_DIR] ? bpf_program__fd(b->progs.scr_dir248_prog) : -1;
	fd[P_DXR] = bpf_program__fd(b->progs.scr_dxr_prog);
	fd[P_DXRI] = bpf_program__fd(b->progs.scr_dxr_inner_prog);
	tr = map_mmap(b->maps.trace);
	trace_fill(tr, e, n, 7 + n);
	for (i = 0; i < TRACE; i++)
		tr[i] = htonl(tr[i]);

	/* Every structure answers as the reference (own frames, no trace). */
	b->bss->trace_on = 0;
	for (i = 0; i < CHECK; i++) {
		uint32_t a = ntohl(tr[i]);
		unsigned want = xt_ref_lookup(ref, n, a), got;
		int len = xt_frame4(buf, a);

		if (ctl_maps_dxr_lookup(&d, a) != want)
			bad[P_NONE]++;	/* user-space DXR search */
		for (p = P_LPM; p < P_MAX; p++) {
			if (!have[p])
				continue;
			run(fd[p], buf, len, 1, &act);
			got = act == XDP_DROP ? SCR_XDP_ANS_REJECT :
			      act == XDP_TX ? SCR_XDP_ANS_PERMIT : SCR_XDP_ANS_NONE;
			bad[p] += got != want;
		}
	}
	printf("n=%zu check %u sources: wrong answers dxr_user %u lpm %u dir248 %u dxr %u dxr_inner %u\n",
	       n, CHECK, bad[P_NONE], bad[P_LPM], bad[P_DIR], bad[P_DXR], bad[P_DXRI]);
	for (p = 0; p < P_MAX; p++)
		if (bad[p])
			return 1;

	/* Warm: one source per run of REPEAT. */
	for (i = 0; i < WARM_ADDRS; i++)
		lens[i] = xt_frame4(pkts[i], ntohl(tr[i]));
	for (i = 0; i < WARM_ADDRS; i++)
		for (p = 0; p < P_MAX; p++)
			if (have[p])
				warm[p] += run(fd[p], pkts[i], lens[i], REPEAT, NULL) / WARM_ADDRS;
	/* Cold: a new source every run. */
	b->bss->trace_on = 1;
	for (k = 0; k < ROUNDS; k++)
		for (p = 0; p < P_MAX; p++) {
			b->bss->trace_idx = 0;
			ns[p][k] = have[p] ? run(fd[p], pkts[0], lens[0], TRACE, NULL) : 0;
		}
	for (p = 0; p < P_MAX; p++) {
		qsort(ns[p], ROUNDS, sizeof(double), dbl_cmp);
		cold[p] = ns[p][ROUNDS / 2];
	}
	printf("n=%zu warm_ns none %.1f lpm %.1f dir248 %.1f dxr %.1f dxr_inner %.1f\n", n,
	       warm[P_NONE], warm[P_LPM], warm[P_DIR], warm[P_DXR], warm[P_DXRI]);
	printf("n=%zu cold_ns none %.1f lpm %.1f dir248 %.1f dxr %.1f dxr_inner %.1f\n", n,
	       cold[P_NONE], cold[P_LPM], cold[P_DIR], cold[P_DXR], cold[P_DXRI]);
	for (p = P_LPM; p < P_MAX; p++)
		if (have[p])
			printf("n=%zu lookup_ns %s warm %.1f cold %.1f\n", n,
			       p_name[p], warm[p] - warm[P_NONE],
			       cold[p] - cold[P_NONE]);
	if (have[P_DIR])
		printf("n=%zu ratio_cold lpm/dxr %.1f dir248/dxr %.1f\n", n,
		       (cold[P_LPM] - cold[P_NONE]) / (cold[P_DXR] - cold[P_NONE]),
		       (cold[P_DIR] - cold[P_NONE]) / (cold[P_DXR] - cold[P_NONE]));
	fflush(stdout);

	if (n == 1000000 && m)
		dyn_loads(m, e, n);
	scr_lookup_bench__destroy(b);
	close(ifd);
	ctl_maps_destroy(m);
	ctl_maps_dxr_free(&d);
	free(ref);
	free(e);
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[] = { 10000, 100000, 1000000, 10000000 };
	size_t maxn = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
	/* DIR-24-8's second level at 10M needs ~1.5 GiB a copy. */
	uint64_t dir_max = argc > 2 ? strtoull(argv[2], NULL, 10) << 20 : 2048ull << 20;
	unsigned s;

	for (s = 0; s < 4 && sizes[s] <= maxn; s++)
		if (bench_size(sizes[s], dir_max))
			return 1;
	return 0;
}
