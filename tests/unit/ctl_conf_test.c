/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_conf_test - main.cf syntax, expansion, validation, policy, patterns
 * DESCRIPTION
 *	Table-driven: bad input first (every error message with file:line),
 *	then expansion forms, defaults against a saved "postconf -d", the
 *	engine policy and the scanner patterns. Files that fight back (a
 *	directory, FIFO or device as main.cf or a pattern table, read errors,
 *	files over the bound) and $name expansions that double at every
 *	level are errors that name the file or the parameter.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctl_conf.h"

#define DATA SRCDIR "/tests/data/conf"

struct bad_case {
	const char *label;
	const char *text;
	const char *err;	/* exact message */
};

static const struct bad_case bad_cases[] = {
	{ "unknown postscreen name, nearest suggested",
	  "# c\n\npostscreen_greet_wiat = 6s\n",
	  "main.cf:3: unknown parameter postscreen_greet_wiat (did you mean postscreen_greet_wait?)" },
	{ "unknown smtpscreen name",
	  "smtpscreen_port = 25\n",
	  "main.cf:1: unknown parameter smtpscreen_port (did you mean smtpscreen_ports?)" },
	{ "bad time unit",
	  "postscreen_greet_wait = 6x\n",
	  "main.cf:1: postscreen_greet_wait: bad time value \"6x\" (examples: 6s, 2m)" },
	{ "time with trailing junk",
	  "postscreen_greet_ttl = 1dd\n",
	  "main.cf:1: postscreen_greet_ttl: bad time value \"1dd\" (examples: 6s, 2m)" },
	{ "time below minimum",
	  "postscreen_watchdog_timeout = 5s\n",
	  "main.cf:1: postscreen_watchdog_timeout: time value \"5s\" out of range (10s..4294967295s)" },
	{ "negative time",
	  "smtpscreen_block_ttl = -1h\n",
	  "main.cf:1: smtpscreen_block_ttl: bad time value \"-1h\" (examples: 6s, 2m)" },
	{ "number with trailing junk",
	  "postscreen_command_count_limit = 20x\n",
	  "main.cf:1: postscreen_command_count_limit: bad numerical value \"20x\"" },
	{ "number out of range",
	  "smtpscreen_flow_table_size = 100\n",
	  "main.cf:1: smtpscreen_flow_table_size: bad value \"100\" (1024..16777216)" },
	{ "number above range",
	  "smtpscreen_reorder_window = 1048577\n",
	  "main.cf:1: smtpscreen_reorder_window: bad value \"1048577\" (0..1048576)" },
	{ "bad boolean",
	  "postscreen_pipelining_enable = maybe\n",
	  "main.cf:1: postscreen_pipelining_enable: bad boolean value \"maybe\" (yes or no)" },
	{ "bad action",
	  "postscreen_greet_action = reject\n",
	  "main.cf:1: postscreen_greet_action: bad action \"reject\" (ignore, enforce or drop)" },
	{ "bad default through a referenced global",
	  "x = 1\nsmtpd_helo_required = maybe\n",
	  "main.cf:2: smtpd_helo_required: bad boolean value \"maybe\" (yes or no)" },
	{ "bad legacy value reaches the new name",
	  "postscreen_dnsbl_ttl = 2h\n",
	  "main.cf:1: postscreen_dnsbl_max_ttl: bad time value \"2hh\" (examples: 6s, 2m)" },
	{ "bad port list",
	  "smtpscreen_ports = 25, 0\n",
	  "main.cf:1: smtpscreen_ports: bad port list \"25, 0\" (1 to 8 ports, 1..65535)" },
	{ "more than 8 ports",
	  "smtpscreen_ports = 1 2 3 4 5 6 7 8 9\n",
	  "main.cf:1: smtpscreen_ports: bad port list \"1 2 3 4 5 6 7 8 9\" (1 to 8 ports, 1..65535)" },
	{ "bad log format",
	  "smtpscreen_log_format = xml\n",
	  "main.cf:1: smtpscreen_log_format: bad value \"xml\" (postfix or json)" },
	{ "bad overload policy",
	  "smtpscreen_overload_policy = reject\n",
	  "main.cf:1: smtpscreen_overload_policy: bad value \"reject\" (pass or drop)" },
	{ "host hold",
	  "smtpscreen_host_hold = syn\n",
	  "main.cf:1: smtpscreen_host_hold: bad value \"syn\" (handshake, greeting or seat)" },
	{ "per-client limit above 65535",
	  "postscreen_client_connection_count_limit = 70000\n",
	  "main.cf:1: postscreen_client_connection_count_limit: bad value \"70000\" (0..65535)" },
	{ "stress value out of range",
	  "postscreen_greet_wait = ${stress?{0}:{6}}s\n",
	  "main.cf:1: postscreen_greet_wait: time value \"0s\" out of range (1s..4294967295s)" },
	{ "missing =",
	  "postscreen_greet_wait 6s\n",
	  "main.cf:1: missing '=' after parameter name \"postscreen_greet_wait\"" },
	{ "missing name",
	  "= 6s\n",
	  "main.cf:1: missing parameter name before '='" },
	{ "bad name",
	  "foo-bar = 1\n",
	  "main.cf:1: bad parameter name \"foo-bar\"" },
	{ "continuation without a line",
	  "# c\n  postscreen_greet_wait = 6s\n",
	  "main.cf:2: line starts with white space but continues nothing" },
	{ "expansion loop",
	  "a = $b\nb = ${a}\npostscreen_greet_banner = x $a\n",
	  "main.cf:3: postscreen_greet_banner: parameter expansion loop: a -> b -> a" },
	{ "self loop",
	  "smtpd_banner = $smtpd_banner\n",
	  "main.cf:1: smtpd_banner: parameter expansion loop: smtpd_banner -> smtpd_banner" },
	{ "truncated macro",
	  "postscreen_greet_banner = ${mail_name\n",
	  "main.cf:1: postscreen_greet_banner: truncated macro reference \"${mail_name\"" },
	{ "empty macro name",
	  "postscreen_greet_banner = a $ b\n",
	  "main.cf:1: postscreen_greet_banner: empty macro name in \"a $ b\" (write $$ for a literal $)" },
	{ "bad conditional syntax",
	  "postscreen_greet_banner = ${mail_name!x}\n",
	  "main.cf:1: postscreen_greet_banner: bad macro syntax in \"${mail_name!x}\"" },
	{ "unknown relational operator",
	  "postscreen_greet_banner = ${{1} ~ {2} ? {a} : {b}}\n",
	  "main.cf:1: postscreen_greet_banner: missing operator in \"${{1} ~ {2} ? {a} : {b}}\"" },
	{ "bad compatibility level",
	  "compatibility_level = three\n",
	  "main.cf:1: mynetworks_style: bad compatibility level \"three\"" },
};

/* test_bad_input - every bad main.cf is refused with the exact message */
static void test_bad_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[512] = "";
		struct ctl_conf *conf = ctl_conf_parse(c->text, strlen(c->text),
						       "main.cf", err, sizeof(err));

		if (conf != NULL || strcmp(err, c->err) != 0)
			fail_msg("%s: got %s \"%s\", want \"%s\"", c->label,
				 conf ? "success" : "error", err, c->err);
		ctl_conf_destroy(conf);
	}
}

struct exp_case {
	const char *label;
	const char *text;
	const char *name;
	const char *want;	/* NULL: ctl_conf_get returns NULL */
};

static const struct exp_case exp_cases[] = {
	{ "unknown name", "", "no_such_parameter", NULL },
	{ "plain $name", "a = x\nb = <$a>\n", "b", "<x>" },
	{ "${name}", "a = x\nb = <${a}y>\n", "b", "<xy>" },
	{ "$(name)", "a = x\nb = <$(a)>\n", "b", "<x>" },
	{ "undefined expands empty", "b = <$nothing>\n", "b", "<>" },
	{ "$$ is a literal $", "b = a$$b\n", "b", "a$b" },
	{ "${name?text} set", "a = 1\nb = ${a?yes}\n", "b", "yes" },
	{ "${name?text} empty", "a =\nb = ${a?yes}\n", "b", "" },
	{ "${name:text} unset", "b = ${a:dflt}\n", "b", "dflt" },
	{ "${name:text} set", "a = 1\nb = ${a:dflt}\n", "b", "" },
	{ "${name?{a}:{b}} set", "x = 1\nb = ${x?{on $x}:{off}}\n", "b", "on 1" },
	{ "${name?{a}:{b}} unset", "b = ${x?{on}:{off}}\n", "b", "off" },
	{ "${name?{a}:b} bare else", "b = ${x?{on}:off}\n", "b", "off" },
	{ "${name?{a}} braces", "x = 1\nb = ${x?{ on }}\n", "b", " on " },
	{ "stress is empty", "", "postscreen_greet_wait", "6s" },
	{ "command time limit", "", "postscreen_command_time_limit", "300s" },
	{ "relational ==", "b = ${{1} == {01} ? {eq} : {ne}}\n", "b", "eq" },
	{ "relational lexical", "b = ${{a} < {b} ? {lt} : {ge}}\n", "b", "lt" },
	{ "relational numeric", "b = ${{9} < {10} ? {lt} : {ge}}\n", "b", "lt" },
	{ "respectful_logging level 0 (default)", "", "respectful_logging", "no" },
	{ "respectful_logging level 2", "compatibility_level = 2\n", "respectful_logging", "no" },
	{ "respectful_logging level 3.5", "compatibility_level = 3.5\n", "respectful_logging", "no" },
	{ "respectful_logging level 3.6", "compatibility_level = 3.6\n", "respectful_logging", "yes" },
	{ "respectful_logging level 3.9", "compatibility_level = 3.9\n", "respectful_logging", "yes" },
	{ "respectful_logging level 3.10 > 3.9", "compatibility_level = 3.10\n", "respectful_logging", "yes" },
	{ "respectful_logging set", "respectful_logging = yes\n", "respectful_logging", "yes" },
	{ "mynetworks_style level 0", "", "mynetworks_style", "subnet" },
	{ "mynetworks_style level 2", "compatibility_level = 2\n", "mynetworks_style", "host" },
	{ "continuation lines join", "b = one\n  two\n\t three\n", "b", "one two three" },
	{ "comments inside a logical line", "b = one\n# note\n  two\n", "b", "one two" },
	{ "no spaces around =", "b=x\n", "b", "x" },
	{ "trailing blanks dropped", "b = x  \t\n", "b", "x" },
	{ "CRLF line ends", "b = x\r\nc = y\r\n", "c", "y" },
	{ "later setting wins", "b = 1\nb = 2\n", "b", "2" },
	{ "later setting used by earlier reference", "c = $b\nb = 1\nb = 2\n", "c", "2" },
	{ "denylist follows blacklist", "postscreen_blacklist_action = drop\n",
	  "postscreen_denylist_action", "drop" },
	{ "denylist default", "", "postscreen_denylist_action", "ignore" },
	{ "legacy name unset is empty", "", "postscreen_blacklist_action", "" },
	{ "allowlist threshold follows legacy", "postscreen_dnsbl_whitelist_threshold = -2\n",
	  "postscreen_dnsbl_allowlist_threshold", "-2" },
	{ "dnsbl max ttl follows legacy", "postscreen_dnsbl_ttl = 5\n",
	  "postscreen_dnsbl_max_ttl", "5h" },
	{ "dnsbl max ttl default", "", "postscreen_dnsbl_max_ttl", "1h" },
	{ "greet banner default", "myhostname = mx.example.test\n",
	  "postscreen_greet_banner", "mx.example.test ESMTP Postfix" },
	{ "mydomain from myhostname", "myhostname = mx.example.test\n", "mydomain", "example.test" },
	{ "forbidden commands default", "", "postscreen_forbidden_commands",
	  "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}" },
	{ "helo own names default", "myhostname = mx.example.test\n",
	  "smtpscreen_helo_own_names", "mx.example.test" },
	{ "other Postfix parameter kept", "smtpd_recipient_restrictions = permit_mynetworks,\n"
	  "  reject_unauth_destination\n", "smtpd_recipient_restrictions",
	  "permit_mynetworks, reject_unauth_destination" },
	{ "unused other parameter with bad expansion kept raw",
	  "header_checks = regexp:{{/x$/ REJECT}}\n", "header_checks",
	  "regexp:{{/x$/ REJECT}}" },
	{ "action alias continue", "postscreen_greet_action = Continue\n",
	  "postscreen_greet_action", "Continue" },
};

/* test_expansion - expansion forms and syntax rules */
static void test_expansion(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exp_cases) / sizeof(exp_cases[0]); i++) {
		const struct exp_case *c = &exp_cases[i];
		char err[512] = "";
		struct ctl_conf *conf = ctl_conf_parse(c->text, strlen(c->text),
						       "main.cf", err, sizeof(err));
		const char *v;

		if (conf == NULL)
			fail_msg("%s: parse failed: %s", c->label, err);
		v = ctl_conf_get(conf, c->name);
		if (c->want == NULL ? v != NULL : (v == NULL || strcmp(v, c->want) != 0))
			fail_msg("%s: %s = \"%s\", want \"%s\"", c->label, c->name,
				 v ? v : "(null)", c->want ? c->want : "(null)");
		ctl_conf_destroy(conf);
	}
}

/* test_stress - stress-mode values */
static void test_stress(void **state)
{
	char err[256], buf[64];
	struct ctl_conf *conf = ctl_conf_parse("", 0, "main.cf", err, sizeof(err));

	(void)state;
	assert_non_null(conf);
	assert_int_equal(ctl_conf_get_stress(conf, "postscreen_greet_wait", buf,
					     sizeof(buf)), 0);
	assert_string_equal(buf, "2s");
	assert_int_equal(ctl_conf_get_stress(conf, "postscreen_command_time_limit",
					     buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10s");
	assert_int_equal(ctl_conf_get_stress(conf, "nope", buf, sizeof(buf)), -ENOENT);
	ctl_conf_destroy(conf);
}

/* test_where - file:line of settings */
static void test_where(void **state)
{
	const char *t = "# x\npostscreen_greet_wait = 3s\n\nb = 1\n  2\nb = 3\n";
	char err[256], buf[64];
	struct ctl_conf *conf = ctl_conf_parse(t, strlen(t), "/etc/postfix/main.cf",
					       err, sizeof(err));

	(void)state;
	assert_non_null(conf);
	assert_string_equal(ctl_conf_where(conf, "postscreen_greet_wait", buf,
					   sizeof(buf)), "/etc/postfix/main.cf:2");
	assert_string_equal(ctl_conf_where(conf, "b", buf, sizeof(buf)),
			    "/etc/postfix/main.cf:6");
	assert_string_equal(ctl_conf_where(conf, "postscreen_greet_ttl", buf,
					   sizeof(buf)), "default");
	assert_string_equal(ctl_conf_dir(conf), "/etc/postfix");
	ctl_conf_destroy(conf);
}

/* test_defaults_match_postconf - table defaults equal saved postconf -d */
static void test_defaults_match_postconf(void **state)
{
	FILE *f = fopen(DATA "/postconf-d.txt", "r");
	char line[1024];
	unsigned checked = 0, psc = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq, *name = line, *val;
		const char *n, *d, *t;
		unsigned used;
		size_t i;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = 0;
		eq = strstr(line, " =");
		assert_non_null(eq);
		*eq = 0;
		val = eq[2] == ' ' ? eq + 3 : eq + 2;
		for (i = 0; i < ctl_conf_param_count(); i++) {
			assert_int_equal(ctl_conf_param_info(i, &n, &d, &t, &used), 0);
			if (strcmp(n, name) == 0)
				break;
		}
		if (i == ctl_conf_param_count())
			fail_msg("%s from postconf -d is not in the table", name);
		/* smtpd_expansion_filter: postconf prints the value with $ as is */
		if (strcmp(name, "smtpd_expansion_filter") == 0) {
			char err[128];
			struct ctl_conf *conf = ctl_conf_parse("", 0, "main.cf", err,
							       sizeof(err));

			assert_non_null(conf);
			assert_string_equal(ctl_conf_get(conf, name), val);
			ctl_conf_destroy(conf);
		} else if (strcmp(d, val) != 0) {
			fail_msg("%s: default \"%s\", postconf -d \"%s\"", name, d, val);
		}
		checked++;
		psc += strncmp(name, "postscreen_", 11) == 0;
	}
	fclose(f);
	assert_int_equal(psc, 47);
	assert_true(checked >= 60);
	/* 13: reply bans and the IPv6 prefix; 3 of the 32: the smuggling guard;
	 * 6: envelope checks */
	assert_int_equal(ctl_conf_param_count(), 47 + 4 + 24 + 32 + 13 + 6);
}

/* doc_field - field k (0-based, after the leading '|') of a markdown table
 * row, "\\|" unescaped, surrounding blanks and one pair of backticks off */
static void doc_field(const char *row, int k, char *out, size_t len)
{
	const char *p = row + 1;
	size_t n = 0;
	int f = 0;

	for (; *p && f < k; p++) {
		if (*p == '\\' && p[1] == '|')
			p++;
		else if (*p == '|')
			f++;
	}
	while (*p == ' ')
		p++;
	for (; *p && n + 1 < len; p++) {
		if (*p == '\\' && p[1] == '|') {
			out[n++] = '|';
			p++;
		} else if (*p == '|') {
			break;
		} else {
			out[n++] = *p;
		}
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (n >= 2 && out[0] == '`' && out[n - 1] == '`') {
		memmove(out, out + 1, n - 2);
		out[n - 2] = '\0';
	}
}

/* test_reference_doc - docs/configuration.md has a row for every parameter
 * with its default and whether smtpscreen uses it */
static void test_reference_doc(void **state)
{
	static const char *const used_word[] = {"no effect", "yes", "later"};
	char path[4096], line[8192], name[256], def[4096], used[64];
	size_t i, rows = 0;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/configuration.md", SRCDIR);
	f = fopen(path, "r");
	assert_non_null(f);
	for (i = 0; i < ctl_conf_param_count(); i++) {
		const char *pn, *pd, *pt;
		unsigned pu;
		bool found = false;

		assert_int_equal(ctl_conf_param_info(i, &pn, &pd, &pt, &pu), 0);
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "| `", 3) != 0)
				continue;
			doc_field(line, 0, name, sizeof(name));
			if (strcmp(name, pn) != 0)
				continue;
			found = true;
			doc_field(line, 1, def, sizeof(def));
			doc_field(line, 3, used, sizeof(used));
			/* the four pre-3.6 names are undefined unless set */
			if (strcmp(def, "(undefined)") == 0 &&
			    (strcmp(pn, "postscreen_blacklist_action") == 0 ||
			     strcmp(pn, "postscreen_whitelist_interfaces") == 0 ||
			     strcmp(pn, "postscreen_dnsbl_whitelist_threshold") == 0 ||
			     strcmp(pn, "postscreen_dnsbl_ttl") == 0) && *pd == '\0')
				;
			else if (strcmp(def, pd == NULL ? "(computed)" :
					*pd == '\0' ? "(empty)" : pd) != 0)
				fail_msg("%s: documented default \"%s\", table \"%s\"",
					 pn, def, pd ? pd : "(computed)");
			if (strcmp(used, used_word[pu == 1 ? 1 : pu == 2 ? 2 : 0]) != 0)
				fail_msg("%s: documented \"%s\", table says %s", pn, used,
					 used_word[pu == 1 ? 1 : pu == 2 ? 2 : 0]);
			rows++;
			break;
		}
		if (!found)
			fail_msg("%s: no row in docs/configuration.md", pn);
	}
	fclose(f);
	assert_int_equal(rows, ctl_conf_param_count());
}

/* test_typed_parsers - exported parsers */
static void test_typed_parsers(void **state)
{
	static const struct { const char *in; char unit; int ret; unsigned long long s; } t[] = {
		{ "", 's', -EINVAL, 0 }, { "s", 's', -EINVAL, 0 }, { "6x", 's', -EINVAL, 0 },
		{ "6 s", 's', -EINVAL, 0 }, { "+6", 's', -EINVAL, 0 },
		{ "99999999999999999999", 's', -EINVAL, 0 },
		{ "6", 's', 0, 6 }, { "6s", 'd', 0, 6 }, { "2m", 's', 0, 120 },
		{ "1h", 's', 0, 3600 }, { "1", 'd', 0, 86400 }, { "1w", 's', 0, 604800 },
	};
	int v;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned long long s = 0;

		assert_int_equal(ctl_conf_parse_time(t[i].in, t[i].unit, &s), t[i].ret);
		if (t[i].ret == 0)
			assert_int_equal(s, t[i].s);
	}
	assert_int_equal(ctl_conf_parse_bool("maybe", &v), -EINVAL);
	assert_int_equal(ctl_conf_parse_bool("YES", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ctl_conf_parse_bool("no", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ctl_conf_parse_action("reject", &v), -EINVAL);
	assert_int_equal(ctl_conf_parse_action("", &v), -EINVAL);
	assert_int_equal(ctl_conf_parse_action("continue", &v), 0);
	assert_int_equal(v, SCR_ACT_IGNORE);
	assert_int_equal(ctl_conf_parse_action("Enforce", &v), 0);
	assert_int_equal(v, SCR_ACT_ENFORCE);
	assert_int_equal(ctl_conf_parse_action("DROP", &v), 0);
	assert_int_equal(v, SCR_ACT_DROP);
}

/* test_policy_defaults - policy from an empty main.cf */
static void test_policy_defaults(void **state)
{
	char err[256];
	struct scr_policy pol;
	struct ctl_conf *conf = ctl_conf_parse("", 0, "main.cf", err, sizeof(err));

	(void)state;
	assert_non_null(conf);
	assert_int_equal(ctl_conf_policy(conf, &pol, err, sizeof(err)), 0);
	/* pregreet on (banner non-empty), access always, deep tests off */
	assert_int_equal(pol.enabled, SCR_TEST_BIT(SCR_TEST_PREGREET) |
			 SCR_TEST_BIT(SCR_TEST_ACCESS));
	assert_int_equal(pol.action[SCR_TEST_PREGREET], SCR_ACT_IGNORE);
	assert_int_equal(pol.action[SCR_TEST_BARE_NEWLINE], SCR_ACT_IGNORE);
	assert_int_equal(pol.action[SCR_TEST_PIPELINING], SCR_ACT_ENFORCE);
	assert_int_equal(pol.action[SCR_TEST_NON_SMTP], SCR_ACT_DROP);
	assert_int_equal(pol.action[SCR_TEST_HELO], SCR_ACT_ENFORCE);
	assert_int_equal(pol.action[SCR_TEST_ACCESS], SCR_ACT_IGNORE);
	assert_int_equal(pol.action[SCR_TEST_DNSBL], SCR_ACT_IGNORE);
	assert_int_equal(pol.ttl_s[SCR_TEST_PREGREET], 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_BARE_NEWLINE], 30 * 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_PIPELINING], 30 * 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_NON_SMTP], 30 * 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_HELO], 30 * 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_DNSBL], 3600);
	assert_int_equal(pol.block_ttl_s, 3600);
	assert_int_equal(pol.greet_wait_ns, 6000000000ull);
	assert_false(pol.helo_required);
	assert_int_equal(pol.command_count_limit, 20);
	assert_int_equal(pol.line_length_limit, 2048);
	assert_true(pol.smuggling_enable);
	assert_int_equal(pol.smuggling_action, SCR_ACT_ENFORCE);
	assert_int_equal(pol.smuggling_ttl_s, 0);
	assert_int_equal(pol.flow_table_size, 262144);
	assert_int_equal(pol.syn_timeout_ns, 30000000000ull);
	/* the ${stress?...} values postscreen's defaults give */
	assert_int_equal(pol.syn_timeout_stress_ns, 5000000000ull);
	assert_int_equal(pol.idle_timeout_stress_ns, 10000000000ull);
	assert_int_equal(pol.command_time_ns, 300000000000ull);
	assert_int_equal(pol.command_time_stress_ns, 10000000000ull);
	assert_int_equal(pol.client_flow_limit, 50);
	assert_false(pol.overload_drop);
	assert_int_equal(pol.idle_timeout_ns, 300000000000ull);
	assert_int_equal(pol.close_timeout_ns, 10000000000ull);
	assert_int_equal(pol.reorder_window, 65536);
	assert_int_equal(pol.nports, 1);
	assert_int_equal(pol.ports[0], 25);
	ctl_conf_destroy(conf);
}

/* test_policy_settings - every policy field follows main.cf */
static void test_policy_settings(void **state)
{
	const char *t =
		"postscreen_greet_banner =\n"
		"postscreen_bare_newline_enable = yes\n"
		"postscreen_bare_newline_action = enforce\n"
		"postscreen_bare_newline_ttl = 2d\n"
		"postscreen_pipelining_enable = yes\n"
		"postscreen_pipelining_action = drop\n"
		"postscreen_non_smtp_command_enable = yes\n"
		"postscreen_non_smtp_command_action = continue\n"
		"smtpscreen_helo_enable = yes\n"
		"smtpscreen_helo_action = ignore\n"
		"smtpscreen_helo_ttl = 3h\n"
		"postscreen_blacklist_action = drop\n"
		"postscreen_dnsbl_sites = zen.example.org*2\n"
		"postscreen_dnsbl_max_ttl = 2h\n"
		"postscreen_greet_wait = 3s\n"
		"smtpd_helo_required = yes\n"
		"postscreen_command_count_limit = 7\n"
		"line_length_limit = 512\n"
		"smtpscreen_flow_table_size = 1024\n"
		"smtpscreen_tcp_syn_timeout = 1m\n"
		"smtpscreen_reorder_window = 0\n"
		"smtpscreen_ports = 25, 587 2525\n"
		"smtpscreen_block_ttl = 1d\n"
		"smtpscreen_overload_policy = drop\n"
		"smtpd_client_connection_count_limit = 7\n"
		"postscreen_command_time_limit = ${stress?{4}:{40}}s\n";
	char err[256];
	struct scr_policy pol;
	struct ctl_conf *conf = ctl_conf_parse(t, strlen(t), "main.cf", err, sizeof(err));

	(void)state;
	if (conf == NULL)
		fail_msg("%s", err);
	assert_int_equal(ctl_conf_policy(conf, &pol, err, sizeof(err)), 0);
	assert_int_equal(pol.enabled, SCR_TEST_BIT(SCR_TEST_BARE_NEWLINE) |
			 SCR_TEST_BIT(SCR_TEST_PIPELINING) | SCR_TEST_BIT(SCR_TEST_NON_SMTP) |
			 SCR_TEST_BIT(SCR_TEST_HELO) | SCR_TEST_BIT(SCR_TEST_ACCESS) |
			 SCR_TEST_BIT(SCR_TEST_DNSBL));
	assert_int_equal(pol.action[SCR_TEST_BARE_NEWLINE], SCR_ACT_ENFORCE);
	assert_int_equal(pol.action[SCR_TEST_PIPELINING], SCR_ACT_DROP);
	assert_int_equal(pol.action[SCR_TEST_NON_SMTP], SCR_ACT_IGNORE);
	assert_int_equal(pol.action[SCR_TEST_HELO], SCR_ACT_IGNORE);
	assert_int_equal(pol.action[SCR_TEST_ACCESS], SCR_ACT_DROP);
	assert_int_equal(pol.ttl_s[SCR_TEST_BARE_NEWLINE], 2 * 86400);
	assert_int_equal(pol.ttl_s[SCR_TEST_HELO], 3 * 3600);
	assert_int_equal(pol.ttl_s[SCR_TEST_DNSBL], 7200);
	assert_int_equal(pol.block_ttl_s, 86400);
	assert_int_equal(pol.greet_wait_ns, 3000000000ull);
	assert_true(pol.helo_required);
	assert_int_equal(pol.command_count_limit, 7);
	assert_int_equal(pol.line_length_limit, 512);
	assert_int_equal(pol.flow_table_size, 1024);
	assert_int_equal(pol.syn_timeout_ns, 60000000000ull);
	assert_int_equal(pol.syn_timeout_stress_ns, 60000000000ull);
	assert_int_equal(pol.idle_timeout_ns, 300000000000ull);
	assert_int_equal(pol.idle_timeout_stress_ns, 10000000000ull);
	assert_int_equal(pol.command_time_ns, 40000000000ull);
	assert_int_equal(pol.command_time_stress_ns, 4000000000ull);
	assert_int_equal(pol.client_flow_limit, 7);
	assert_true(pol.overload_drop);
	assert_int_equal(pol.reorder_window, 0);
	assert_int_equal(pol.nports, 3);
	assert_int_equal(pol.ports[0], 25);
	assert_int_equal(pol.ports[1], 587);
	assert_int_equal(pol.ports[2], 2525);
	ctl_conf_destroy(conf);
}

struct pat_bad {
	const char *label;
	const char *text;
	const char *err;
};

static const struct pat_bad pat_bad_cases[] = {
	{ "unsupported table type",
	  "postscreen_forbidden_commands = CONNECT hash:/etc/x\n",
	  "main.cf:1: postscreen_forbidden_commands: unsupported table type \"hash\" (regexp: or pcre:)" },
	{ "inline rule without delimiter",
	  "postscreen_forbidden_commands = regexp:{{abc Bogus}}\n",
	  "main.cf:1: postscreen_forbidden_commands: inline rule 1: regular expression must start with a delimiter such as /" },
	{ "inline rule without result",
	  "postscreen_forbidden_commands = regexp:{{/a/ X}, {/b/}}\n",
	  "main.cf:1: postscreen_forbidden_commands: inline rule 2: no lookup result" },
	{ "inline rule unterminated",
	  "postscreen_forbidden_commands = pcre:{{/a X}}\n",
	  "main.cf:1: postscreen_forbidden_commands: inline rule 1: missing closing delimiter" },
	{ "inline rule bad flag",
	  "postscreen_forbidden_commands = pcre:{{/a/q X}}\n",
	  "main.cf:1: postscreen_forbidden_commands: inline rule 1: unsupported regular expression flag" },
	{ "unbalanced braces",
	  "postscreen_forbidden_commands = regexp:{{/a/ X}\n",
	  "main.cf:1: postscreen_forbidden_commands: unbalanced braces in \"regexp:{{/a/ X}\"" },
	{ "regexp file error names file:line",
	  "postscreen_forbidden_commands = regexp:" DATA "/forbidden-bad.regexp\n",
	  DATA "/forbidden-bad.regexp:2: missing closing delimiter" },
	{ "missing regexp file",
	  "postscreen_forbidden_commands = regexp:/nonexistent/x\n",
	  "/nonexistent/x: cannot open: No such file or directory" },
	{ "helo literal unterminated",
	  "smtpscreen_helo_own_names = [192.0.2.1\n",
	  "main.cf:1: smtpscreen_helo_own_names: bad address literal \"[192.0.2.1\"" },
	{ "signature file error",
	  "smtpscreen_signatures = " DATA "/signatures-bad.txt\n",
	  DATA "/signatures-bad.txt:2: unknown test \"smtp\" (helo or non_smtp_command)" },
	{ "missing signature file",
	  "smtpscreen_signatures = /nonexistent/sigs\n",
	  "main.cf:1: smtpscreen_signatures: /nonexistent/sigs: cannot open: No such file or directory" },
	{ "directory as signature file",
	  "smtpscreen_signatures = " DATA "\n",
	  "main.cf:1: smtpscreen_signatures: " DATA ": not a regular file (a directory)" },
	{ "read error in the signature file",
	  "smtpscreen_signatures = /proc/self/mem\n",
	  "/proc/self/mem:1: read error: Input/output error" },
	{ "directory as regexp table",
	  "postscreen_forbidden_commands = regexp:" DATA "\n",
	  DATA ": not a regular file (a directory)" },
	{ "device as regexp table",
	  "postscreen_forbidden_commands = pcre:/dev/null\n",
	  "/dev/null: not a regular file (a character device)" },
	{ "read error in a regexp table",
	  "postscreen_forbidden_commands = regexp:/proc/self/mem\n",
	  "/proc/self/mem:1: read error: Input/output error" },
};

/* test_patterns_bad - pattern sources with errors */
static void test_patterns_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pat_bad_cases) / sizeof(pat_bad_cases[0]); i++) {
		const struct pat_bad *c = &pat_bad_cases[i];
		char err[512] = "";
		struct scr_scan_pattern *p = (void *)1;
		size_t n = 99;
		struct ctl_conf *conf = ctl_conf_parse(c->text, strlen(c->text),
						       "main.cf", err, sizeof(err));

		if (conf == NULL)
			fail_msg("%s: parse failed: %s", c->label, err);
		if (ctl_conf_patterns(conf, &p, &n, err, sizeof(err)) == 0 ||
		    strcmp(err, c->err) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->label, err, c->err);
		assert_null(p);
		assert_int_equal(n, 0);
		ctl_conf_destroy(conf);
	}
}

struct pat_want {
	const char *name;
	const char *regex;
	unsigned caseless;
	enum scr_pat_kind kind;
	enum scr_test test;
	const char *where;
};

/* check_patterns - compare a pattern list */
static void check_patterns(const char *text, const struct pat_want *w, size_t nw)
{
	char err[512];
	struct scr_scan_pattern *p;
	size_t n;
	struct ctl_conf *conf = ctl_conf_parse(text, strlen(text), "main.cf", err,
					       sizeof(err));

	if (conf == NULL)
		fail_msg("parse: %s", err);
	if (ctl_conf_patterns(conf, &p, &n, err, sizeof(err)) != 0)
		fail_msg("patterns: %s", err);
	if (n != nw)
		fail_msg("%zu patterns, want %zu", n, nw);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(p[i].name, w[i].name) || strcmp(p[i].regex, w[i].regex) ||
		    p[i].caseless != w[i].caseless || p[i].kind != w[i].kind ||
		    p[i].test != w[i].test || strcmp(p[i].where, w[i].where))
			fail_msg("pattern %zu: {%s, %s, %u, %d, %d, %s}, want "
				 "{%s, %s, %u, %d, %d, %s}", i, p[i].name, p[i].regex,
				 p[i].caseless, p[i].kind, p[i].test, p[i].where,
				 w[i].name, w[i].regex, w[i].caseless, w[i].kind,
				 w[i].test, w[i].where);
	}
	ctl_conf_patterns_free(p, n);
	ctl_conf_destroy(conf);
}

/* test_patterns_default - the default forbidden commands and own name */
static void test_patterns_default(void **state)
{
	static const struct pat_want w[] = {
		{ "forbidden_CONNECT", "^CONNECT$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
		{ "forbidden_GET", "^GET$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
		{ "forbidden_POST", "^POST$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default" },
		/* Postfix regexp tables match caselessly unless flag i */
		{ "forbidden_command_3", "^[^A-Z]", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "default (regexp rule 1)" },
		{ "helo_own_mx.example.test", "^(?:HELO|EHLO) [ \\t]*mx\\.example\\.test[ \\t]*\\r?\\n", 1,
		  SCR_PAT_LINE, SCR_TEST_HELO, "default" },
	};

	(void)state;
	check_patterns("myhostname = mx.example.test\n", w, sizeof(w) / sizeof(w[0]));
}

/* test_patterns_sources - literal words, inline tables, files, literals */
static void test_patterns_sources(void **state)
{
	static const struct pat_want w[] = {
		{ "forbidden_X.Y", "^X\\.Y$", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "main.cf:2" },
		{ "forbidden_command_1", "^FOO", 0, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "main.cf:2 (pcre rule 1)" },
		{ "forbidden_command_2", "^B,AR", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, "main.cf:2 (pcre rule 2)" },
		{ "forbidden_command_3", "^USER ", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, DATA "/forbidden.regexp:2" },
		{ "forbidden_command_4", "^PASS ", 0, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, DATA "/forbidden.regexp:3" },
		{ "forbidden_command_5", "^[0-9]", 1, SCR_PAT_COMMAND, SCR_TEST_NON_SMTP, DATA "/forbidden.regexp:5" },
		{ "helo_own_mx.example.test", "^(?:HELO|EHLO) [ \\t]*mx\\.example\\.test[ \\t]*\\r?\\n", 1,
		  SCR_PAT_LINE, SCR_TEST_HELO, "main.cf:4" },
		{ "helo_own_[192.0.2.1]", "^(?:HELO|EHLO) [ \\t]*\\[192\\.0\\.2\\.1\\][ \\t]*\\r?\\n", 1,
		  SCR_PAT_LINE, SCR_TEST_HELO, "main.cf:4" },
		{ "bot_helo", "^EHLO User\\r?\\n", 0, SCR_PAT_LINE, SCR_TEST_HELO, DATA "/signatures.txt:2" },
		{ "xmas", "^XMAS ", 1, SCR_PAT_LINE, SCR_TEST_NON_SMTP, DATA "/signatures.txt:3" },
	};
	const char *t =
		"myhostname = mx.example.test\n"
		"postscreen_forbidden_commands = X.Y pcre:{{/^FOO/i x}, { /^B,AR/ y }},\n"
		"  regexp:" DATA "/forbidden.regexp\n"
		"smtpscreen_helo_own_names = $myhostname, [192.0.2.1]\n"
		"smtpscreen_signatures = " DATA "/signatures.txt\n";

	(void)state;
	check_patterns(t, w, sizeof(w) / sizeof(w[0]));
}

/* test_load_file - ctl_conf_load reads a file and names it in errors */
static void test_load_file(void **state)
{
	char err[512], path[] = "/tmp/ctl_conf_test.XXXXXX";
	int fd = mkstemp(path);
	const char *t = "myhostname = mx.example.test\npostscreen_greet_wait = 2s\n";
	struct ctl_conf *conf;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	conf = ctl_conf_load(path, err, sizeof(err));
	assert_non_null(conf);
	assert_string_equal(ctl_conf_get(conf, "postscreen_greet_wait"), "2s");
	assert_string_equal(ctl_conf_dir(conf), "/tmp");
	ctl_conf_destroy(conf);
	unlink(path);
	assert_null(ctl_conf_load("/nonexistent/main.cf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/main.cf: cannot open: No such file or directory");
}

/* write_file - dir/name with text; the path in out */
static void write_file(const char *dir, const char *name, const char *text,
		       char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "%s/%s", dir, name);
	f = fopen(out, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The errors ctl_conf_check reported, one per line. */
struct reported {
	char text[2048];
	unsigned n;
};

/* collect - ctl_conf_report_fn into a struct reported */
static void collect(const char *msg, void *arg)
{
	struct reported *r = arg;
	size_t l = strlen(r->text);

	snprintf(r->text + l, sizeof(r->text) - l, "%s\n", msg);
	r->n++;
}

/* test_load_list - a ':' list: later file wins, errors and where name the
 * right file, a '?' file may be missing, -o last; check reports all */
static void test_load_list(void **state)
{
	char dir[] = "/tmp/ctl_conf_list.XXXXXX", a[128], b[128], list[512];
	char err[512], w[256];
	struct reported r = { .n = 0 };
	struct ctl_conf *conf;
	unsigned nerr;

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "main.cf", "myhostname = mx.example.test\n"
		   "postscreen_greet_wait = 2s\nsmtpd_banner = $myhostname hi\n",
		   a, sizeof(a));
	write_file(dir, "own.cf", "# ours\n\nsmtpscreen_log_format = json\n"
		   "postscreen_greet_wait = 4s\n", b, sizeof(b));
	snprintf(list, sizeof(list), "%s:%s:?%s/absent.cf", a, b, dir);
	conf = ctl_conf_load(list, err, sizeof(err));
	assert_non_null(conf);
	assert_string_equal(ctl_conf_get(conf, "postscreen_greet_wait"), "4s");
	assert_string_equal(ctl_conf_get(conf, "smtpscreen_log_format"), "json");
	snprintf(list, sizeof(list), "%s:4", b);
	assert_string_equal(ctl_conf_where(conf, "postscreen_greet_wait", w,
					   sizeof(w)), list);
	snprintf(list, sizeof(list), "%s:3", a);
	assert_string_equal(ctl_conf_where(conf, "smtpd_banner", w, sizeof(w)),
			    list);
	assert_string_equal(ctl_conf_file(conf), a);
	ctl_conf_destroy(conf);

	/* a missing file without '?' is an error naming it */
	snprintf(list, sizeof(list), "%s:%s/absent.cf", a, dir);
	assert_null(ctl_conf_load(list, err, sizeof(err)));
	assert_non_null(strstr(err, "/absent.cf: cannot open"));

	/* an error in the second file names that file and line */
	write_file(dir, "bad.cf", "smtpscreen_log_format = json\n"
		   "postscreen_greet_action = maybe\n", b, sizeof(b));
	snprintf(list, sizeof(list), "%s:%s", a, b);
	assert_null(ctl_conf_load(list, err, sizeof(err)));
	snprintf(w, sizeof(w), "%s:2: postscreen_greet_action: bad action "
		 "\"maybe\" (ignore, enforce or drop)", b);
	assert_string_equal(err, w);

	/* check: every error, in file order, each with its file:line */
	write_file(dir, "main.cf", "smtpscreen_bogus = 1\n"
		   "postscreen_dnsbl_threshold = x\n  cont\n", a, sizeof(a));
	snprintf(list, sizeof(list), "%s:%s", a, b);
	assert_null(ctl_conf_check(list, collect, &r, &nerr));
	assert_int_equal(nerr, 3);
	assert_int_equal(r.n, 3);
	snprintf(w, sizeof(w), "%s:1: unknown parameter smtpscreen_bogus", a);
	assert_non_null(strstr(r.text, w));
	snprintf(w, sizeof(w), "%s:2: postscreen_dnsbl_threshold: bad numerical "
		 "value \"x cont\"", a);
	assert_non_null(strstr(r.text, w));
	snprintf(w, sizeof(w), "%s:2: postscreen_greet_action", b);
	assert_non_null(strstr(r.text, w));

	/* -o comes last and wins; its errors are "-o:N" */
	assert_int_equal(ctl_conf_override("noequals"), -EINVAL);
	assert_int_equal(ctl_conf_override("postscreen_greet_wait=9s"), 0);
	write_file(dir, "main.cf", "postscreen_greet_wait = 2s\n", a, sizeof(a));
	conf = ctl_conf_load(a, err, sizeof(err));
	assert_non_null(conf);
	assert_string_equal(ctl_conf_get(conf, "postscreen_greet_wait"), "9s");
	assert_string_equal(ctl_conf_where(conf, "postscreen_greet_wait", w,
					   sizeof(w)), "-o:1");
	ctl_conf_destroy(conf);
	assert_int_equal(ctl_conf_override("postscreen_greet_wait=soon"), 0);
	assert_null(ctl_conf_load(a, err, sizeof(err)));
	assert_string_equal(err, "-o:2: postscreen_greet_wait: bad time value "
			    "\"soon\" (examples: 6s, 2m)");

	unlink(a);
	unlink(b);
	snprintf(a, sizeof(a), "%s/own.cf", dir);
	unlink(a);
	rmdir(dir);
}

/* test_default_path - MAIL_CONFIG and SMTPSCREEN_CONFIG */
static void test_default_path(void **state)
{
	(void)state;
	unsetenv("MAIL_CONFIG");
	unsetenv("SMTPSCREEN_CONFIG");
	assert_string_equal(ctl_conf_default_path(),
			    "/etc/postfix/main.cf:?/etc/smtpscreen/smtpscreen.cf");
	setenv("MAIL_CONFIG", "/srv/pf", 1);
	setenv("SMTPSCREEN_CONFIG", "/srv/s.cf", 1);
	assert_string_equal(ctl_conf_default_path(), "/srv/pf/main.cf:?/srv/s.cf");
	setenv("SMTPSCREEN_CONFIG", "", 1);
	assert_string_equal(ctl_conf_default_path(), "/srv/pf/main.cf");
	unsetenv("MAIL_CONFIG");
	unsetenv("SMTPSCREEN_CONFIG");
}

/* chain - main.cf text: p0 = a leaf of leaf_len 'x's, then levels
 * p<i> = $p<i-1> written fan times, then "use = $p<levels>" */
static char *chain(const char *prefix, unsigned levels, unsigned fan,
		   size_t leaf_len, const char *use)
{
	size_t cap = 256 + leaf_len + levels * (fan * 8 + 16) + strlen(use);
	char *t = malloc(cap);
	size_t o;

	assert_non_null(t);
	o = (size_t)snprintf(t, cap, "%s0 = ", prefix);
	memset(t + o, 'x', leaf_len);
	o += leaf_len;
	t[o++] = '\n';
	for (unsigned i = 1; i <= levels; i++) {
		o += (size_t)snprintf(t + o, cap - o, "%s%u =", prefix, i);
		for (unsigned k = 0; k < fan; k++)
			o += (size_t)snprintf(t + o, cap - o, " $%s%u", prefix, i - 1);
		t[o++] = '\n';
	}
	snprintf(t + o, cap - o, "%s = $%s%u\n", use, prefix, levels);
	return t;
}

/* test_expansion_too_long - $name doubling past 1 MiB is an error naming
 * the parameter and the chain (it built the whole value before) */
static void test_expansion_too_long(void **state)
{
	/* 1 KiB x 16 x 16 x 16 = 4 MiB */
	char *t = chain("p", 3, 16, 1024, "postscreen_greet_banner");
	char err[512] = "";
	struct ctl_conf *conf;

	(void)state;
	conf = ctl_conf_parse(t, strlen(t), "main.cf", err, sizeof(err));
	if (conf != NULL || strcmp(err, "main.cf:5: postscreen_greet_banner: "
				   "parameter expansion longer than 1048576 "
				   "bytes: postscreen_greet_banner -> p3 -> p2 "
				   "-> p1 -> p0") != 0)
		fail_msg("got %s \"%s\"", conf ? "success" : "error", err);
	ctl_conf_destroy(conf);
	free(t);
}

/* test_expansion_too_many - $a = $b$b, $b = $c$c, ... 40 levels down to
 * an empty value: 2^40 references (it ran for hours before), now an
 * error after 65536 */
static void test_expansion_too_many(void **state)
{
	static const char want[] = "main.cf:42: postscreen_greet_banner: "
				   "parameter expansion of more than 65536 "
				   "references: postscreen_greet_banner -> q40 -> q39";
	char *t = chain("q", 40, 2, 0, "postscreen_greet_banner");
	char err[512] = "";
	struct ctl_conf *conf;

	(void)state;
	conf = ctl_conf_parse(t, strlen(t), "main.cf", err, sizeof(err));
	if (conf != NULL || strncmp(err, want, strlen(want)) != 0)
		fail_msg("got %s \"%s\", want \"%s ...\"", conf ? "success" : "error",
			 err, want);
	ctl_conf_destroy(conf);
	free(t);
}

static char scratch[64];

/* files_setup - a directory, a FIFO and a sparse file over 16 MiB */
static int files_setup(void **state)
{
	char p[128];
	int fd;

	(void)state;
	snprintf(scratch, sizeof(scratch), "/tmp/ctl_conf_test.XXXXXX");
	if (mkdtemp(scratch) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/dir", scratch);
	if (mkdir(p, 0700) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo", scratch);
	if (mkfifo(p, 0600) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/big.cf", scratch);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (16 << 20) + 1) != 0)
		return -1;
	close(fd);
	return 0;
}

/* files_teardown - remove what files_setup made */
static int files_teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/fifo", scratch);
	unlink(p);
	snprintf(p, sizeof(p), "%s/big.cf", scratch);
	unlink(p);
	snprintf(p, sizeof(p), "%s/dir", scratch);
	rmdir(p);
	rmdir(scratch);
	return 0;
}

/* test_load_refused - main.cf that is not a regular file, that cannot be
 * read, or that is over 16 MiB: an error naming it (a directory and a
 * device loaded as an empty main.cf before, a FIFO blocked) */
static void test_load_refused(void **state)
{
	static const struct {
		const char *label;
		const char *path;	/* "@" = the scratch directory */
		const char *err;
	} rows[] = {
		{ "directory", "@/dir", "@/dir: not a regular file (a directory)" },
		{ "device", "/dev/null", "/dev/null: not a regular file (a character device)" },
		{ "read error", "/proc/self/mem", "/proc/self/mem: read error: Input/output error" },
		{ "over 16 MiB", "@/big.cf", "@/big.cf: file too large (16777217 bytes; the limit is 16 MiB)" },
		/* last: the code before this test blocked in open(2) here */
		{ "FIFO", "@/fifo", "@/fifo: not a regular file (a FIFO)" },
	};
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char path[128], want[256], err[512] = "";
		struct ctl_conf *conf;
		const char *at;

		at = strchr(rows[i].path, '@');
		snprintf(path, sizeof(path), "%s", rows[i].path);
		if (at != NULL)
			snprintf(path, sizeof(path), "%s%s", scratch, at + 1);
		at = strchr(rows[i].err, '@');
		snprintf(want, sizeof(want), "%s", rows[i].err);
		if (at != NULL)
			snprintf(want, sizeof(want), "%s%s", scratch, at + 1);
		conf = ctl_conf_load(path, err, sizeof(err));
		if (conf != NULL || strcmp(err, want) != 0) {
			print_error("%s: got %s \"%s\", want \"%s\"\n", rows[i].label,
				    conf ? "success" : "error", err, want);
			bad++;
		}
		ctl_conf_destroy(conf);
	}
	if (bad)
		fail_msg("%u of %zu cases wrong", bad, sizeof(rows) / sizeof(rows[0]));
}

/* test_pattern_fifo - a FIFO as a signature file is refused, no hang */
static void test_pattern_fifo(void **state)
{
	char text[256], want[256], err[512] = "";
	struct scr_scan_pattern *p = NULL;
	struct ctl_conf *conf;
	size_t n = 0;

	(void)state;
	snprintf(text, sizeof(text), "smtpscreen_signatures = %s/fifo\n", scratch);
	conf = ctl_conf_parse(text, strlen(text), "main.cf", err, sizeof(err));
	assert_non_null(conf);
	snprintf(want, sizeof(want), "main.cf:1: smtpscreen_signatures: %s/fifo: "
		 "not a regular file (a FIFO)", scratch);
	if (ctl_conf_patterns(conf, &p, &n, err, sizeof(err)) == 0 ||
	    strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
	ctl_conf_patterns_free(p, n);
	ctl_conf_destroy(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_patterns_bad),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_stress),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_defaults_match_postconf),
		cmocka_unit_test(test_typed_parsers),
		cmocka_unit_test(test_reference_doc),
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_policy_settings),
		cmocka_unit_test(test_patterns_default),
		cmocka_unit_test(test_patterns_sources),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_expansion_too_long),
		cmocka_unit_test_setup_teardown(test_load_refused, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_pattern_fifo, files_setup,
						files_teardown),
		cmocka_unit_test(test_default_path),
		/* last but one: sets -o for every later load */
		cmocka_unit_test(test_load_list),
		/* last: the code before it ran for hours */
		cmocka_unit_test(test_expansion_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
