/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	xdp_bench - XDP lookup cost and map load time, ours against a plain
 *	LPM trie, in the same run
 * DESCRIPTION
 *	For 10K, 100K and 1M random IPv4 prefixes of mixed lengths (the
 *	generator of tests/bpf/xdp_test_util.h: 40% /32, 25% /24, 15%
 *	/25../31, 20% /8../23): loads them into scr_xdp's DIR-24-8 copy and
 *	into scr_lpm_bench's BPF_MAP_TYPE_LPM_TRIE, then times both programs
 *	through BPF_PROG_TEST_RUN: "warm" = one source address repeated
 *	REPEAT times (kernel's average), over ADDRS addresses; "cold" =
 *	repeat 1 per address over many addresses. Load times: our replace
 *	(DIR-24-8 through mmap, includes the 20 ms grace wait), 1M /32 blocks
 *	into the dyn4 hash with bpf_map_update_batch vs one
 *	bpf_map_update_elem per entry, and the LPM trie batch vs single.
 *	Baseline: the same frames to port 80 through scr_xdp (parse and
 *	count, no lookup) gives the test-run overhead to subtract.
 *	Prints "key value" lines (ns, ms) for bench/xdp_bench.sh.
 * USAGE
 *	xdp_bench [MAXN]   (root)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "scr_lpm_bench.skel.h"
#include "xdp_test_util.h"

#define ADDRS	512
#define REPEAT	2000
#define COLD	20000

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

/* run_ns - average ns per packet over addresses */
static double run_ns(int fd, uint8_t (*pkts)[128], const int *lens, int n,
		     int repeat)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkts[i],
			    .data_size_in = (__u32)lens[i], .repeat = (__u32)repeat);

		if (bpf_prog_test_run_opts(fd, &o)) {
			perror("bpf_prog_test_run_opts");
			exit(1);
		}
		sum += o.duration;
	}
	return sum / n;
}

/* make_pkts - SYNs from addresses inside the prefixes (half) or random */
static void make_pkts(const struct ctl_xdp_entry *e, size_t n, int count,
		      uint8_t (*pkts)[128], int *lens, uint64_t seed)
{
	int i;

	for (i = 0; i < count; i++) {
		uint64_t r = xt_rand(&seed);
		uint32_t a;
		char txt[32];
		struct xt_pkt p = {};
		uint8_t buf[256];

		if (r & 1) {
			const struct ctl_xdp_entry *x = &e[(r >> 8) % n];
			uint32_t host = x->plen >= 128 ? 0 : (~0u >> (x->plen - 96));

			memcpy(&a, &x->net.b[12], 4);
			a = ntohl(a) | ((uint32_t)(r >> 32) & host);
		} else {
			a = (uint32_t)(r >> 32);
		}
		snprintf(txt, sizeof(txt), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
			 (a >> 8) & 255, a & 255);
		p.src = txt;
		lens[i] = xt_build(buf, &p);
		memcpy(pkts[i], buf, 128);
	}
}

/* lpm_fill - fill the trie; batch or one by one; ms */
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
	if (batch) {
		for (i = 0; i < n; i += 8192) {
			__u32 cnt = (__u32)(n - i < 8192 ? n - i : 8192);

			if (bpf_map_update_batch(fd, &k[i], &v[i], &cnt, NULL)) {
				printf("lpm_batch_unsupported %d\n", errno);
				free(k);
				free(v);
				return -1;
			}
		}
	} else {
		for (i = 0; i < n; i++)
			if (bpf_map_update_elem(fd, &k[i], &v[i], BPF_ANY)) {
				perror("lpm update");
				exit(1);
			}
	}
	t0 = now_ms() - t0;
	free(k);
	free(v);
	return t0;
}

int main(int argc, char **argv)
{
	static uint8_t pkts[COLD][128];
	static int lens[COLD];
	size_t sizes[] = { 10000, 100000, 1000000 }, maxn = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	unsigned s;

	for (s = 0; s < 3 && sizes[s] <= maxn; s++) {
		size_t n = sizes[s];
		struct ctl_xdp_entry *e = calloc(n, sizeof(*e));
		struct ctl_maps_opts o = {};
		struct ctl_maps *m;
		struct scr_lpm_bench *lpm;
		char err[256];
		double t, t2;

		xt_random_v4(e, n, 42 + n);
		o.tbl8_groups = ctl_maps_tbl8_needed(e, n) + 16;
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
		printf("n=%zu ours_load_ms %.1f tbl8_groups %u\n", n, now_ms() - t, o.tbl8_groups - 16);
		lpm = scr_lpm_bench__open_and_load();
		if (!lpm) {
			perror("lpm bench load");
			return 1;
		}
		t = lpm_fill(bpf_map__fd(lpm->maps.lpm4), e, n, 1);
		if (t < 0)
			t = lpm_fill(bpf_map__fd(lpm->maps.lpm4), e, n, 0);
		printf("n=%zu lpm_load_ms %.1f\n", n, t);

		make_pkts(e, n, COLD, pkts, lens, 7);
		/* interleave the two programs so drift hits both */
		t = run_ns(ctl_maps_prog_fd(m), pkts, lens, ADDRS, REPEAT);
		t2 = run_ns(bpf_program__fd(lpm->progs.scr_lpm_prog), pkts, lens, ADDRS, REPEAT);
		printf("n=%zu warm_ns ours %.1f lpm %.1f ratio %.1f\n", n, t, t2, t2 / t);
		/* baseline: same frames to port 80 (parse, no lookup) */
		{
			int i;

			for (i = 0; i < COLD; i++) {
				uint8_t *l4 = pkts[i] + 14 + 20;

				l4[2] = 0;
				l4[3] = 80;
			}
			t = run_ns(ctl_maps_prog_fd(m), pkts, lens, ADDRS, REPEAT);
			t2 = run_ns(ctl_maps_prog_fd(m), pkts, lens, COLD, 1);
			printf("n=%zu baseline_ns warm %.1f cold %.1f\n", n, t, t2);
			for (i = 0; i < COLD; i++)
				pkts[i][14 + 20 + 3] = 25;
		}
		t = run_ns(ctl_maps_prog_fd(m), pkts, lens, COLD, 1);
		t2 = run_ns(bpf_program__fd(lpm->progs.scr_lpm_prog), pkts, lens, COLD, 1);
		printf("n=%zu cold_ns ours %.1f lpm %.1f ratio %.1f\n", n, t, t2, t2 / t);

		if (n == 1000000) {
			struct scr_addr *nets = calloc(n, sizeof(*nets));
			unsigned *pl = calloc(n, sizeof(*pl));
			struct scr_lpm_bench *lpm2;
			size_t i;
			struct ctl_maps *m2 = ctl_maps_load(NULL, err, sizeof(err));
			int fd = m2 ? ctl_maps_map_fd(m2, "dyn4") : -1;

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
				return 1;
			}
			printf("n=%zu dyn4_batch_ms %.1f\n", n, now_ms() - t);
			{
				struct scr_xdp_dyn_val v = { .expires_ns = ctl_maps_now_ns() + 3600000000000ull };

				t = now_ms();
				for (i = 0; i < n; i++) {
					struct scr_xdp_dyn4_key k = { .kind = SCR_XDP_KIND_BLOCK, .plen = 32 };

					memcpy(&k.addr, &nets[i].b[12], 4);
					if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
						perror("dyn4 single");
						return 1;
					}
				}
				printf("n=%zu dyn4_single_ms %.1f\n", n, now_ms() - t);
			}
			lpm2 = scr_lpm_bench__open_and_load();
			t = lpm_fill(bpf_map__fd(lpm2->maps.lpm4), e, n, 0);
			printf("n=%zu lpm_single_ms %.1f\n", n, t);
			scr_lpm_bench__destroy(lpm2);
			ctl_maps_destroy(m2);
			free(nets);
			free(pl);
		}
		scr_lpm_bench__destroy(lpm);
		ctl_maps_destroy(m);
		free(e);
	}
	return 0;
}
