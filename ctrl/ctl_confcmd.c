/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAME
 *	ctl_confcmd - `smtpscreen check` and `smtpscreen config`
 * DESCRIPTION
 *	check: loads the configuration (the default path list of
 *	ctl_conf_default_path, or -c) and everything it names: every
 *	setting's value, the engine policy, the scanner patterns (regexp
 *	tables, the signatures file) compiled by Hyperscan, the access list
 *	and its cidr tables, the DNSBL sites and the metrics address when
 *	built with them. Every main.cf error is printed (file:line), then
 *	the first error of each table; Postfix's `postfix check` for
 *	smtpscreen, made to run as ExecStartPre.
 *	config: postconf for smtpscreen's parameters: "name = value" lines
 *	of every parameter smtpscreen knows (postscreen_*, smtpscreen_* and
 *	the Postfix globals their defaults use), sorted; -n only those set
 *	(in a file or with -o), -d the defaults, -x values expanded; NAME...
 *	only those (any parameter set in the files too).
 *	Both take -c FILE[:FILE...] and -o name=value as the daemons do.
 * CONTRACT
 *	ctl_confcmd_check_main(argc, argv): exit status 0 (no error), 2
 *	  (errors, printed on stderr) or 2 on a usage error.
 *	ctl_confcmd_config_main(argc, argv): 0; 1 when a NAME is unknown
 *	  (warning on stderr) or the configuration does not load; 2 usage.
 * THREADING
 *	Main thread of a short command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cidr.h"
#include "ctl_conf.h"
#include "ctl_confcmd.h"
#include "ctl_envelope.h"
#include "ctl_msg.h"
#include "scr_scan.h"
#ifdef SCR_HAVE_DNSBL
#include "ctl_dnsbl.h"
#endif
#ifdef SCR_HAVE_METRICS
#include "ctl_metrics.h"
#endif

/* Options both commands take. */
struct confcmd_opts {
	const char *path;
	bool nondefault, defaults, expand;
	int first;		/* first NAME in argv */
};

/* confcmd_opts - -c, -o and (config) -n, -d, -x; 0, or the exit status */
static int confcmd_opts(struct confcmd_opts *o, int argc, char **argv,
			bool config, const char *use)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, config ? "c:o:ndxh" : "c:o:h",
				lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->path = optarg; break;
		case 'o':
			if (ctl_conf_override(optarg) != 0) {
				fprintf(stderr, "%s: -o %s: need name=value (at most "
					"%d)\n", argv[0], optarg, CTL_CONF_OVERRIDES);
				return 2;
			}
			break;
		case 'n': o->nondefault = true; break;
		case 'd': o->defaults = true; break;
		case 'x': o->expand = true; break;
		case 'h': printf("%s", use); return -1;
		default: fprintf(stderr, "%s", use); return 2;
		}
	}
	if ((!config && optind != argc) || (o->nondefault && o->defaults)) {
		fprintf(stderr, "%s", use);
		return 2;
	}
	if (o->path == NULL)
		o->path = ctl_conf_default_path();
	o->first = optind;
	return 0;
}

/* report - one error on stderr */
static void report(const char *msg, void *arg)
{
	fprintf(stderr, "smtpscreen check: error: %s\n", msg);
}

/* failed - report err when bad; the number of errors (1 or 0) */
static unsigned failed(bool bad, const char *err)
{
	if (bad)
		report(err, NULL);
	return bad ? 1 : 0;
}

/* check_tables - what the settings name; the number of errors */
static unsigned check_tables(const struct ctl_conf *conf)
{
	struct scr_scan_pattern *pats = NULL;
	struct scr_scan_db *db;
	struct scr_policy pol;
	struct ctl_acl *acl;
	char err[2048];
	size_t npats = 0;
	unsigned n = 0;

	n += failed(ctl_conf_policy(conf, &pol, err, sizeof(err)) != 0, err);
	if (ctl_conf_patterns(conf, &pats, &npats, err, sizeof(err)) != 0) {
		n += failed(true, err);
	} else {
		db = scr_scan_create_needed(pats, npats, err, sizeof(err));
		n += failed(db == NULL, err);
		scr_scan_destroy(db);
	}
	ctl_conf_patterns_free(pats, npats);
	acl = ctl_acl_create(conf, err, sizeof(err));
	n += failed(acl == NULL, err);
	ctl_acl_destroy(acl);
	{
		/* the restriction lists and the access tables they name */
		struct ctl_envelope *v = ctl_envelope_create(conf, false, err,
							     sizeof(err));

		n += failed(v == NULL, err);
		ctl_envelope_destroy(v);
	}
#ifdef SCR_HAVE_DNSBL
	{
		struct ctl_dnsbl *d = NULL;

		n += failed(ctl_dnsbl_for_conf(conf, true, 1, NULL, NULL, &d, err,
					       sizeof(err)) != 0, err);
		ctl_dnsbl_destroy(d);
	}
#endif
#ifdef SCR_HAVE_METRICS
	{
		const char *v = ctl_conf_get(conf, "smtpscreen_metrics_listen");
		char addr[64];
		unsigned port;

		if (v && v[0] &&
		    ctl_metrics_listen_parse(v, addr, sizeof(addr), &port) != 0) {
			snprintf(err, sizeof(err), "%s: smtpscreen_metrics_listen: "
				 "bad value \"%s\" (addr:port)",
				 ctl_conf_where(conf, "smtpscreen_metrics_listen",
						addr, sizeof(addr)), v);
			n += failed(true, err);
		}
	}
#endif
	return n;
}

/* ctl_confcmd_check_main - smtpscreen check [-c FILE] [-o name=value] */
int ctl_confcmd_check_main(int argc, char **argv)
{
	static const char use[] =
		"usage: smtpscreen check [-c FILE[:FILE...]] [-o name=value]...\n"
		"  exit 0: no error; 2: errors (each on stderr, file:line)\n";
	struct confcmd_opts o;
	struct ctl_conf *conf;
	unsigned nerr;
	int rc = confcmd_opts(&o, argc, argv, false, use);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	conf = ctl_conf_check(o.path, report, NULL, &nerr);
	if (conf != NULL)
		nerr += check_tables(conf);
	ctl_conf_destroy(conf);
	if (nerr > 0) {
		fprintf(stderr, "smtpscreen check: %s: %u error%s\n", o.path,
			nerr, nerr == 1 ? "" : "s");
		return 2;
	}
	ctl_msg_debug("%s: ok", o.path);
	return 0;
}

/* cmp_str - qsort of names */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* show - "name = value" of one name; false when unknown */
static bool show(const struct ctl_conf *conf, const struct confcmd_opts *o,
		 const char *name, bool listing)
{
	int set;
	const char *v = ctl_conf_raw(conf, name, &set);

	if (v == NULL)
		return false;
	if (listing && o->nondefault && !set)
		return true;
	if (o->expand)
		v = ctl_conf_get(conf, name);
	printf("%s = %s\n", name, v ? v : "");
	return true;
}

/* ctl_confcmd_config_main - smtpscreen config [-n|-d] [-x] [NAME...] */
int ctl_confcmd_config_main(int argc, char **argv)
{
	static const char use[] =
		"usage: smtpscreen config [-c FILE[:FILE...]] [-o name=value]...\n"
		"                         [-n | -d] [-x] [NAME...]\n"
		"  -n: only the parameters set; -d: the defaults; -x: expanded\n";
	struct confcmd_opts o;
	struct ctl_conf *conf;
	char err[2048];
	const char **names = NULL;
	size_t n = ctl_conf_param_count();
	int rc = confcmd_opts(&o, argc, argv, true, use);

	if (rc != 0)
		return rc < 0 ? 0 : rc;
	conf = o.defaults ? ctl_conf_parse("", 0, "(defaults)", err, sizeof(err))
			  : ctl_conf_load(o.path, err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "smtpscreen config: %s\n", err);
		return 1;
	}
	for (int i = o.first; i < argc; i++) {
		if (!show(conf, &o, argv[i], false)) {
			fprintf(stderr, "smtpscreen config: warning: %s: unknown "
				"parameter\n", argv[i]);
			rc = 1;
		}
	}
	if (o.first < argc)
		goto out;
	names = calloc(n, sizeof(*names));
	if (names == NULL) {
		fprintf(stderr, "smtpscreen config: out of memory\n");
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *def, *type;
		unsigned used;

		(void)ctl_conf_param_info(i, &names[i], &def, &type, &used);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++)
		(void)show(conf, &o, names[i], true);
out:
	free(names);
	ctl_conf_destroy(conf);
	return rc;
}
