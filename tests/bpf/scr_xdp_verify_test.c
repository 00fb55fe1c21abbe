/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_xdp_verify_test - the verifier's work on scr_xdp's programs stays
 *	within a budget
 * DESCRIPTION
 *	Every `smtpscreen xdp attach` and host-mode start waits for the
 *	kernel's verifier (issue 16: 1M lines in < 0.5 s whole command). Its
 *	time grows with the instructions it processes, and a plain loop in a
 *	lookup is walked iteration by iteration: scr_dyn6's 3 x 64 once cost
 *	~460k of scr_xdp_host's 657k (scr_xdp_prog: 591k). This loads the
 *	host-mode programs (scr_xdp_host, scr_host_tc, scr_seat_steer) and
 *	the attach program (scr_xdp_prog) with the verifier's statistics
 *	(log level 4) and fails when one processed more than
 *	VERIFY_BUDGET instructions, naming the program and the count.
 *	Needs root and a BPF-capable kernel: a load failure fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtpscreen_abi.h"
#include "scr_xdp.skel.h"
#include "xdp_test_util.h"

/* Instructions processed per program (now ~86k for scr_xdp_host, ~20k
 * for scr_xdp_prog on kernel 6.18): room for growth, not for a loop the
 * verifier walks step by step again. */
#define VERIFY_BUDGET	200000

#define LOG_SIZE	(1u << 16)

/* processed - the "processed N insns" of a verifier log; -1 if absent */
static long processed(const char *log)
{
	const char *p = strstr(log, "processed ");

	return p ? strtol(p + strlen("processed "), NULL, 10) : -1;
}

/* check_load - load scr_xdp as host mode (host != 0) or as `xdp attach`
 * loads it, and hold each loaded program to the budget */
static void check_load(int host)
{
	static char logs[4][LOG_SIZE];
	struct bpf_program *progs[4];
	struct scr_xdp *s = scr_xdp__open();
	long n;
	int i, rc;

	assert_non_null(s);
	s->rodata->scr_host = host;
	if (host) {	/* every host-mode branch on: the most to verify */
		s->rodata->scr_greet_hold_ns = 2000000000ull;
		s->rodata->scr_hold_grace_ns = 1000000000ull;
		s->rodata->scr_data_hold_ns = 1000000000ull;
		s->rodata->scr_hs_hold = 1;
		s->rodata->scr_hs_reset = 1;
		s->rodata->scr_sample_lazy = 1;
	}
	progs[0] = s->progs.scr_xdp_prog;
	progs[1] = s->progs.scr_xdp_host;
	progs[2] = s->progs.scr_host_tc;
	progs[3] = s->progs.scr_seat_steer;
	for (i = 0; i < 4; i++) {
		bpf_program__set_autoload(progs[i], i == 0 ? !host : host);
		bpf_program__set_log_level(progs[i], 4);
		logs[i][0] = '\0';
		bpf_program__set_log_buf(progs[i], logs[i], LOG_SIZE);
	}
	bpf_map__set_max_entries(s->maps.host_flows, 4096);
	bpf_map__set_max_entries(s->maps.host_syn, 8192);
	bpf_map__set_max_entries(s->maps.host_samples, 1u << 20);
	rc = scr_xdp__load(s);
	if (rc)
		fail_msg("load scr_xdp (%s): %s", host ? "host mode" : "attach",
			 strerror(-rc));
	for (i = 0; i < 4; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		n = processed(logs[i]);
		printf("%s: %ld instructions processed (budget %d)\n",
		       bpf_program__name(progs[i]), n, VERIFY_BUDGET);
		if (n < 0)
			fail_msg("%s: no \"processed\" line in the verifier's log",
				 bpf_program__name(progs[i]));
		if (n > VERIFY_BUDGET)
			fail_msg("%s: the verifier processed %ld instructions, "
				 "budget %d (a loop walked step by step? see "
				 "scr_dyn6's bpf_loop)", bpf_program__name(progs[i]),
				 n, VERIFY_BUDGET);
	}
	scr_xdp__destroy(s);
}

/* test_host - scr_xdp_host, scr_host_tc, scr_seat_steer */
static void test_host(void **state)
{
	(void)state;
	check_load(1);
}

/* test_attach - scr_xdp_prog */
static void test_attach(void **state)
{
	(void)state;
	check_load(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
