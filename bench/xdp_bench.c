/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	xdp_bench - XDP lookup cost of three IPv4 structures in the same run:
 *	BPF LPM trie, DIR-24-8 (scr_xdp's before), DXR (D18, scr_xdp's now);
 *	warm and cold; load times
 * DESCRIPTION
 *	For 10K, 100K, 1M and 10M random IPv4 prefixes in a blocklist's mix
 *	(xt_random_v4_mix: /16../32, 45% /32, 30% /24), fills
 *	  - scr_xdp's DXR maps (ctl_maps_replace into a loaded scr_xdp),
 *	  - scr_lookup_bench's BPF_MAP_TYPE_LPM_TRIE (batch updates),
 *	  - scr_lookup_bench's DIR-24-8 maps (painted from the DXR form),
 *	  - scr_lookup_bench's plain DXR ranges array (ctl_maps_dxr_build,
 *	    written by mmap; with scr_xdp's base array),
 *	and times scr_lookup_bench's programs (the same lookup code as
 *	scr_xdp, scr_lookup.bpf.h) through BPF_PROG_TEST_RUN; dxr_inner is
 *	scr_xdp's lookup on scr_xdp's own maps and active copy:
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
 *	(xt_ref_lookup), and sent through scr_xdp_prog (DROP iff REJECT): any
 *	difference exits 1. scr_xdp_prog is also timed warm (the whole
 *	program: parse, DXR, dynamic lookups on a miss).
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

/* dir248_paint - DIR-24-8 (scr_xdp's structure before DXR) from a DXR
 * form, each range an interval: whole /24 blocks in tbl24, a block with
 * more than one answer a group of 256 answers in tbl8 (tbl24 NULL: only
 * count the groups); the number of groups */
static uint32_t dir248_paint(const struct ctl_dxr *d, uint32_t *tbl24,
			     uint8_t *tbl8)
{
	const unsigned off = SCR_XDP_DXR_OFF_BITS;
	uint32_t c, r, ngroups = 0;
	int64_t cur = -1;

	for (c = 0; c < SCR_XDP_DXR_CHUNKS; c++)
		for (r = d->base[c]; r < d->base[c + 1]; r++) {
			uint64_t s = (uint64_t)c << off | d->ranges[r] >> 2;
			uint64_t e = r + 1 < d->base[c + 1] ?
				     ((uint64_t)c << off | d->ranges[r + 1] >> 2) - 1 :
				     ((uint64_t)(c + 1) << off) - 1;
			uint8_t ans = d->ranges[r] & 3;

			while (s <= e) {
				uint64_t blk = s >> 8, last, nblk, k;

				if ((s & 0xff) == 0 && e >= s + 255) {
					nblk = (e + 1 - s) >> 8;
					for (k = blk; tbl24 && k < blk + nblk; k++)
						tbl24[k] = ans;
					s += nblk << 8;
					continue;
				}
				if (cur != (int64_t)blk) {
					if (tbl24)
						tbl24[blk] = SCR_XDP_TBL24_GROUP | ngroups;
					ngroups++;
					cur = (int64_t)blk;
				}
				last = e < (s | 0xff) ? e : (s | 0xff);
				if (tbl24)
					memset(tbl8 + (size_t)(ngroups - 1) * 256 + (s & 0xff),
					       ans, (size_t)(last - s + 1));
				s = last + 1;
			}
		}
	return ngroups;
}

/* dir248_load - the DIR-24-8 form of d into b's tbl24 and a tbl8 group
 * map of its own in slot 0; the map's fd */
static int dir248_load(struct scr_lookup_bench *b, const struct ctl_dxr *d,
		       uint32_t groups)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo,
		    .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	size_t len = (size_t)groups * SCR_XDP_TBL8_GROUP_SIZE;
	__u32 zero = 0;
	uint8_t *tbl8;
	uint32_t *tbl24;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tbl8_bench", 4,
			    SCR_XDP_TBL8_GROUP_SIZE, groups ? groups : 1, &mo);
	tbl8 = fd < 0 || !groups ? MAP_FAILED :
	       mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd < 0 || (groups && tbl8 == MAP_FAILED) ||
	    bpf_map_update_elem(bpf_map__fd(b->maps.tbl8), &zero, &fd, BPF_ANY)) {
		perror("dir248 tbl8 map");
		exit(1);
	}
	tbl24 = map_mmap(b->maps.tbl24);
	dir248_paint(d, tbl24, tbl8);
	munmap(tbl24, (size_t)SCR_XDP_TBL24_SIZE * 4);
	if (groups)
		munmap(tbl8, len);
	return fd;
}

/* bench_size - fill the structures with n prefixes and time them */
static int bench_size(size_t n, uint64_t dir_max_bytes)
{
	static uint8_t pkts[WARM_ADDRS][256];
	static int lens[WARM_ADDRS];
	struct ctl_xdp_entry *e = calloc(n, sizeof(*e));
	struct ctl_maps_opts o = {};
	struct ctl_maps *m;
	struct scr_lookup_bench *b;
	struct ctl_dxr d;
	struct xt_ref *ref;
	struct scr_xdp_dxr_range *ranges;
	uint32_t *tr, groups;
	size_t lines, i;
	double t, ns[P_MAX][ROUNDS], warm[P_MAX] = { 0 }, cold[P_MAX], xdp_warm = 0;
	int fd[P_MAX], have[P_MAX] = { 1, 1, 1, 1, 1 }, p, k, tfd = -1;
	char err[256];
	uint8_t buf[256];
	unsigned act, bad[P_MAX] = { 0 }, bad_xdp = 0, sel;

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

	/* scr_xdp itself, sized as xdp attach sizes it */
	o.dxr_ranges = ctl_maps_dxr_needed(e, n);
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
	ctl_maps_describe(m, (char *)buf, sizeof(buf));
	printf("n=%zu xdp_replace_ms %.1f (%s)\n", n, now_ms() - t, (char *)buf);
	sel = ctl_maps_active(m);

	groups = dir248_paint(&d, NULL, NULL);
	if ((uint64_t)groups * 256 > dir_max_bytes) {
		printf("n=%zu dir248 not loaded: %u tbl8 groups = %.0f MiB a copy "
		       "(limit %.0f MiB on this shared machine)\n", n, groups,
		       groups / 4096.0, dir_max_bytes / 1048576.0);
		have[P_DIR] = 0;
	}

	b = scr_lookup_bench__open();
	if (!b) {
		perror("lookup bench open");
		return 1;
	}
	bpf_map__set_max_entries(b->maps.lpm4, (__u32)n);
	bpf_map__set_max_entries(b->maps.dxr_ranges, (__u32)lines);
	/* DXR in the inner map is scr_xdp's own maps and active copy; the
	 * plain DXR shares its base array */
	bpf_map__reuse_fd(b->maps.dxr_base, ctl_maps_map_fd(m, sel ? "dxr_base_b" :
							    "dxr_base_a"));
	bpf_map__reuse_fd(b->maps.dxr_outer, ctl_maps_map_fd(m, "dxr_ranges"));
	b->bss->sel = sel;
	if (!have[P_DIR]) {
		bpf_map__set_autocreate(b->maps.tbl24, false);
		bpf_map__set_autocreate(b->maps.tbl8, false);
		bpf_program__set_autoload(b->progs.scr_dir248_prog, false);
	}
	if (scr_lookup_bench__load(b)) {
		perror("lookup bench load");
		return 1;
	}
	if (have[P_DIR]) {
		t = now_ms();
		tfd = dir248_load(b, &d, groups);
		printf("n=%zu dir248_load_ms %.1f tbl8_groups %u bytes %llu\n", n,
		       now_ms() - t, groups,
		       (unsigned long long)SCR_XDP_TBL24_SIZE * 4 + (uint64_t)groups * 256);
	}
	t = now_ms();
	ranges = map_mmap(b->maps.dxr_ranges);
	memcpy(ranges, d.ranges, lines * sizeof(*ranges));
	printf("n=%zu dxr_write_ms %.1f\n", n, now_ms() - t);
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

	/* Every structure answers as the reference (own frames, no trace);
	 * scr_xdp_prog drops exactly the rejected sources. */
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
		run(ctl_maps_prog_fd(m), buf, len, 1, &act);
		bad_xdp += (act == XDP_DROP) != (want == SCR_XDP_ANS_REJECT);
	}
	printf("n=%zu check %u sources: wrong answers dxr_user %u lpm %u dir248 %u "
	       "dxr %u dxr_inner(scr_xdp's maps) %u scr_xdp_prog %u\n", n, CHECK,
	       bad[P_NONE], bad[P_LPM], bad[P_DIR], bad[P_DXR], bad[P_DXRI], bad_xdp);
	for (p = 0; p < P_MAX; p++)
		if (bad[p])
			return 1;
	if (bad_xdp)
		return 1;

	/* Warm: one source per run of REPEAT. */
	for (i = 0; i < WARM_ADDRS; i++)
		lens[i] = xt_frame4(pkts[i], ntohl(tr[i]));
	for (i = 0; i < WARM_ADDRS; i++) {
		for (p = 0; p < P_MAX; p++)
			if (have[p])
				warm[p] += run(fd[p], pkts[i], lens[i], REPEAT, NULL) / WARM_ADDRS;
		xdp_warm += run(ctl_maps_prog_fd(m), pkts[i], lens[i], REPEAT, NULL) /
			    WARM_ADDRS;
	}
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
	printf("n=%zu warm_ns none %.1f lpm %.1f dir248 %.1f dxr %.1f dxr_inner %.1f "
	       "scr_xdp_prog %.1f\n", n, warm[P_NONE], warm[P_LPM], warm[P_DIR],
	       warm[P_DXR], warm[P_DXRI], xdp_warm);
	printf("n=%zu cold_ns none %.1f lpm %.1f dir248 %.1f dxr %.1f dxr_inner %.1f\n", n,
	       cold[P_NONE], cold[P_LPM], cold[P_DIR], cold[P_DXR], cold[P_DXRI]);
	for (p = P_LPM; p < P_MAX; p++)
		if (have[p])
			printf("n=%zu lookup_ns %s warm %.1f cold %.1f\n", n,
			       p_name[p], warm[p] - warm[P_NONE],
			       cold[p] - cold[P_NONE]);
	/* scr_xdp's lookup (dxr_inner) against the other two */
	printf("n=%zu ratio lpm/scr_xdp warm %.2f cold %.2f", n,
	       (warm[P_LPM] - warm[P_NONE]) / (warm[P_DXRI] - warm[P_NONE]),
	       (cold[P_LPM] - cold[P_NONE]) / (cold[P_DXRI] - cold[P_NONE]));
	if (have[P_DIR])
		printf(" dir248/scr_xdp warm %.2f cold %.2f",
		       (warm[P_DIR] - warm[P_NONE]) / (warm[P_DXRI] - warm[P_NONE]),
		       (cold[P_DIR] - cold[P_NONE]) / (cold[P_DXRI] - cold[P_NONE]));
	printf("\n");
	fflush(stdout);

	if (n == 1000000)
		dyn_loads(m, e, n);
	munmap(ranges, lines * sizeof(*ranges));
	munmap(tr, (size_t)TRACE * 4);
	scr_lookup_bench__destroy(b);
	if (tfd >= 0)
		close(tfd);
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
