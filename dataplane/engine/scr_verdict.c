/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	scr_verdict - name tables of tests, actions and verdicts
 * DESCRIPTION
 *	The names are contracts: the test names are the verdict CSV's reason
 *	names and the label classes (DESIGN.md), the action names are
 *	postscreen's.
 * THREADING
 *	Read-only data.
 */
#include "scr_types.h"

const char *const scr_test_name[SCR_TEST_MAX] = {
	[SCR_TEST_PREGREET] = "pregreet",
	[SCR_TEST_BARE_NEWLINE] = "bare_newline",
	[SCR_TEST_PIPELINING] = "pipelining",
	[SCR_TEST_NON_SMTP] = "non_smtp_command",
	[SCR_TEST_HELO] = "helo",
	[SCR_TEST_ACCESS] = "access_reject",
	[SCR_TEST_DNSBL] = "dnsbl",
	[SCR_TEST_REPLY_BAN] = "reply_ban",
};

const char *const scr_reply_name[SCR_REPLY_MAX] = {
	[SCR_REPLY_AUTH] = "auth",
	[SCR_REPLY_HARVEST] = "harvest",
	[SCR_REPLY_RELAY] = "relay",
	[SCR_REPLY_HELO] = "helo",
};

const char *const scr_action_name[SCR_ACT_MAX] = {
	[SCR_ACT_IGNORE] = "ignore",
	[SCR_ACT_ENFORCE] = "enforce",
	[SCR_ACT_DROP] = "drop",
};

const char *const scr_verdict_name[SCR_V_MAX] = {
	[SCR_V_UNKNOWN] = "unknown",
	[SCR_V_PASS] = "pass",
	[SCR_V_FAIL] = "fail",
	[SCR_V_ALLOWLISTED] = "allowlisted",
	[SCR_V_BLOCKLISTED] = "blocklisted",
};
