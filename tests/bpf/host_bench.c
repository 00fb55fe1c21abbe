/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	host_bench - ns per packet of the XDP and TC programs with host-mode
 *	sampling on vs off, through BPF_PROG_TEST_RUN, in the same run
 * DESCRIPTION
 *	Loads scr_xdp twice: sampling off (smtpscreen xdp) and on (host mode,
 *	greet hold on). For each case runs one frame REPEAT times (kernel's
 *	average, "warm") ROUNDS times and prints the median: unlisted client
 *	with sampling off (the issue-4 path), the same frame with sampling on
 *	for a flow in SCAN (lookup + sample), PASS (one lookup), no entry,
 *	a permitted client (pass cache), a client SYN (entry + sample); the
 *	TC program for SCAN (sample), PASS and no entry. The ring buffer is
 *	drained between rounds (a reader thread's work is not timed). Frames:
 *	IPv4, 100-byte SMTP command or 66-byte ACK.
 *	Prints "key value" lines.
 * USAGE
 *	host_bench [REPEAT]   (root)
 */
#include <stdio.h>
#include <stdlib.h>

#include <linux/pkt_cls.h>

#include <unistd.h>

#include "ctl_hostbpf.h"
#include "xdp_test_util.h"

#define ROUNDS	9

/* frame - IPv4 TCP frame client <-> server with payload; its length */
static int frame(uint8_t *b, const char *client, int out, uint8_t tflags,
		 int paylen)
{
	int tot = 40 + paylen;

	memset(b, 0, 256);
	b[0] = 2; b[5] = 1; b[6] = 2; b[11] = 2;
	b[12] = 0x08;
	b[14] = 0x45;
	b[16] = (uint8_t)(tot >> 8); b[17] = (uint8_t)tot;
	b[22] = 64; b[23] = 6;
	inet_pton(AF_INET, out ? "198.19.0.25" : client, b + 26);
	inet_pton(AF_INET, out ? client : "198.19.0.25", b + 30);
	b[34] = out ? 0 : 0x9c; b[35] = out ? 25 : 0x41;
	b[36] = out ? 0x9c : 0; b[37] = out ? 0x41 : 25;
	b[46] = 0x50;
	b[47] = tflags;
	memset(b + 54, 'A', (size_t)paylen);
	return 54 + paylen;
}

/* set_flow - the entry of client:40001 -> 198.19.0.25:25 */
static void set_flow(struct ctl_maps *m, const char *client, int state,
		     uint32_t flags)
{
	struct scr_host_flow_key k;
	struct scr_host_flow_val v = { .state = (uint32_t)state, .flags = flags };
	struct scr_addr c = xt_addr(client), s = xt_addr("198.19.0.25");
	int fd = ctl_maps_map_fd(m, "host_flows");

	memset(&k, 0, sizeof(k));
	memcpy(k.client, c.b, 16);
	memcpy(k.server, s.b, 16);
	k.client_port = htons(0x9c41);
	k.server_port = htons(25);
	if (state < 0)
		bpf_map_delete_elem(fd, &k);
	else if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
		perror("flow update");
}

/* drain_cb - discard a sample */
static int drain_cb(void *ctx, void *data, size_t size)
{
	return 0;
}

/* cmp_d - qsort doubles */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* med_ns - median over ROUNDS of the kernel's average ns per run */
static double med_ns(int fd, const uint8_t *pkt, int len, int repeat,
		     struct ring_buffer *rb)
{
	double r[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
			    .data_size_in = (__u32)len, .repeat = (__u32)repeat);

		if (bpf_prog_test_run_opts(fd, &o)) {
			perror("bpf_prog_test_run_opts");
			exit(1);
		}
		r[i] = o.duration;
		if (rb)
			ring_buffer__consume(rb);
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_d);
	return r[ROUNDS / 2];
}

/* smug_set - the smuggling guard on/off (enforce) and the flow's host_smug
 * entry: in DATA from seq 1000 (data), or none */
static void smug_set(int cfg_fd, int smug_fd, int on, int data)
{
	struct scr_host_smug_cfg c = { .on = (uint32_t)on,
				       .action = SCR_HOST_SMUG_A_ENFORCE };
	struct scr_host_smug_val v = { .state = SCR_HOST_SMUG_DATA,
				       .next_seq = 1000, .tail = { 0, 0, '\r', '\n' } };
	struct scr_addr cl = xt_addr("198.18.0.10"), sv = xt_addr("198.19.0.25");
	struct scr_host_flow_key k;
	__u32 zero = 0;

	memset(&k, 0, sizeof(k));
	memcpy(k.client, cl.b, 16);
	memcpy(k.server, sv.b, 16);
	k.client_port = htons(0x9c41);
	k.server_port = htons(25);
	if (bpf_map_update_elem(cfg_fd, &zero, &c, BPF_ANY))
		perror("host_smug_cfg");
	if (!data)
		bpf_map_delete_elem(smug_fd, &k);
	else if (bpf_map_update_elem(smug_fd, &k, &v, BPF_ANY))
		perror("host_smug");
}

/* med_smug_ns - median ns of one run over ROUNDS * 64 runs, the DATA entry
 * set again before each (a scanned segment moves it on, so a repeated run
 * would find its bytes judged already) */
static double med_smug_ns(int fd, const uint8_t *pkt, int len, int cfg_fd,
			  int smug_fd, int on, int data)
{
	static double r[ROUNDS * 64];
	int i, n = ROUNDS * 64;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
			    .data_size_in = (__u32)len, .repeat = 1);

		smug_set(cfg_fd, smug_fd, on, data);
		if (bpf_prog_test_run_opts(fd, &o)) {
			perror("bpf_prog_test_run_opts");
			exit(1);
		}
		r[i] = o.duration;
	}
	qsort(r, (size_t)n, sizeof(r[0]), cmp_d);
	return r[n / 2];
}

/* body_frame - a 1448-byte DATA segment of mail text (lines of 58 bytes
 * with CRLF, a dot in each), seq 1000; its length */
static int body_frame(uint8_t *b, size_t cap)
{
	static const char line[] = "The quick brown fox jumps over the lazy dog. 0123456789\r\n";
	int len = frame(b, "198.18.0.10", 0, 0x18, 1448), o;
	uint32_t seq = htonl(1000);

	if ((size_t)len > cap)
		exit(1);
	memcpy(b + 38, &seq, 4);
	for (o = 0; o < 1448; o++)
		b[54 + o] = (uint8_t)line[o % (sizeof(line) - 1)];
	return len;
}

int main(int argc, char **argv)
{
	struct ctl_maps_opts off = {}, on = { .host = true,
		.greet_hold_ns = 500000000ull, .hold_grace_ns = 1000000000ull,
		.ringbuf_bytes = 16u << 20 };
	struct ctl_xdp_entry e = xt_entry("198.18.1.0", 24, SCR_XDP_ANS_PERMIT);
	int repeat = argc > 1 ? atoi(argv[1]) : 20000;
	struct ctl_maps *m0, *m1;
	struct ring_buffer *rb;
	uint8_t cmd[256], ack[256], syn[256], perm[256], rsp[256];
	int lc, la, ls, lp, lr, x0, x1, t1;
	char err[256];
	struct scr_xdp_ctr_val c[SCR_HOST_C_MAX];

	m0 = ctl_maps_load(&off, err, sizeof(err));
	m1 = m0 ? ctl_maps_load(&on, err, sizeof(err)) : NULL;
	if (!m0 || !m1) {
		fprintf(stderr, "load: %s\n", err);
		return 1;
	}
	if (ctl_maps_replace(m0, &e, 1) || ctl_maps_replace(m1, &e, 1))
		return 1;
	rb = ring_buffer__new(ctl_maps_map_fd(m1, "host_samples"), drain_cb,
			      NULL, NULL);
	if (!rb)
		return 1;
	x0 = ctl_maps_prog_fd(m0);
	x1 = ctl_maps_prog_fd(m1);
	t1 = ctl_maps_tc_prog_fd(m1);
	lc = frame(cmd, "198.18.0.10", 0, 0x18, 46);	/* 100-byte frame */
	la = frame(ack, "198.18.0.10", 0, 0x10, 12);	/* 66 bytes */
	ls = frame(syn, "198.18.0.10", 0, 0x02, 12);
	lp = frame(perm, "198.18.1.5", 0, 0x18, 46);
	lr = frame(rsp, "198.18.0.10", 1, 0x18, 46);

	printf("# repeat %d, median of %d rounds, ns per packet (kernel average)\n",
	       repeat, ROUNDS);
	printf("xdp_off_unlisted_cmd %.1f\n", med_ns(x0, cmd, lc, repeat, NULL));
	printf("xdp_off_unlisted_ack %.1f\n", med_ns(x0, ack, la, repeat, NULL));
	printf("xdp_off_permit_cmd %.1f\n", med_ns(x0, perm, lp, repeat, NULL));
	set_flow(m1, "198.18.0.10", SCR_HOST_FS_SCAN, 0);
	printf("xdp_on_scan_cmd_sampled %.1f\n", med_ns(x1, cmd, lc, repeat, rb));
	printf("xdp_on_scan_ack_sampled %.1f\n", med_ns(x1, ack, la, repeat, rb));
	set_flow(m1, "198.18.0.10", SCR_HOST_FS_PASS, 0);
	printf("xdp_on_pass_cmd %.1f\n", med_ns(x1, cmd, lc, repeat, NULL));
	set_flow(m1, "198.18.0.10", -1, 0);
	printf("xdp_on_no_entry_cmd %.1f\n", med_ns(x1, cmd, lc, repeat, NULL));
	printf("xdp_on_permit_cmd %.1f\n", med_ns(x1, perm, lp, repeat, NULL));
	printf("xdp_on_syn_new_entry_sampled %.1f\n", med_ns(x1, syn, ls, repeat, rb));
	set_flow(m1, "198.18.0.10", SCR_HOST_FS_STOP, 0);
	printf("xdp_on_stop_cmd_dropped %.1f\n", med_ns(x1, cmd, lc, repeat, NULL));
	set_flow(m1, "198.18.0.10", SCR_HOST_FS_SCAN, SCR_HOST_FF_RELEASED);
	printf("tc_on_scan_rsp_sampled %.1f\n", med_ns(t1, rsp, lr, repeat, rb));
	set_flow(m1, "198.18.0.10", SCR_HOST_FS_PASS, 0);
	printf("tc_on_pass_rsp %.1f\n", med_ns(t1, rsp, lr, repeat, NULL));
	set_flow(m1, "198.18.0.10", -1, 0);
	printf("tc_on_no_entry_rsp %.1f\n", med_ns(t1, rsp, lr, repeat, NULL));
	/* the smuggling guard: a passed flow's 1448-byte DATA segment and a
	 * 100-byte command, guard off vs on (one run each, see med_smug_ns) */
	{
		static uint8_t body[1600];
		int lb = body_frame(body, sizeof(body));
		int cf = ctl_hostbpf_prog_map_fd(x1, "host_smug_cfg");
		int sf = ctl_hostbpf_prog_map_fd(x1, "host_smug");

		if (cf < 0 || sf < 0) {
			fprintf(stderr, "no smuggling guard maps\n");
			return 1;
		}
		set_flow(m1, "198.18.0.10", SCR_HOST_FS_PASS, 0);
		printf("xdp_smug_off_data_1448 %.1f\n", med_smug_ns(x1, body, lb, cf, sf, 0, 1));
		printf("xdp_smug_on_data_1448 %.1f\n", med_smug_ns(x1, body, lb, cf, sf, 1, 1));
		printf("xdp_smug_off_cmd %.1f\n", med_smug_ns(x1, cmd, lc, cf, sf, 0, 0));
		printf("xdp_smug_on_cmd_not_in_data %.1f\n", med_smug_ns(x1, cmd, lc, cf, sf, 1, 0));
		smug_set(cf, sf, 0, 0);
		close(cf);
		close(sf);
	}
	if (ctl_maps_host_stats(m1, c) == 0)
		printf("# samples %llu, ring full %llu (must be 0 for the sampled figures)\n",
		       (unsigned long long)(c[SCR_HOST_C_SAMPLE_IN].packets + c[SCR_HOST_C_SAMPLE_OUT].packets),
		       (unsigned long long)c[SCR_HOST_C_RB_FULL].packets);
	ring_buffer__free(rb);
	ctl_maps_destroy(m1);
	ctl_maps_destroy(m0);
	return 0;
}
